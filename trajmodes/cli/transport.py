"""``trajmodes conductivity``: the Green-Kubo thermal conductivity of the heat current an MD run wrote."""
from __future__ import annotations

import os
import time

from trajmodes.cli.options import read_trajectory, step


def conductivity_settings(args):
    """The settings of ``trajmodes conductivity`` (:class:`~trajmodes.workflows.transport.ConductivitySettings`) from
    its options."""
    from trajmodes.workflows.transport import ConductivitySettings
    return ConductivitySettings(files=tuple(args.files), current=args.current, others=tuple(args.other or ()),
                                run=None if getattr(args, "run", None) is None else tuple(args.run),
                                temperature=args.temperature, volume=args.volume, fstar=args.fstar,
                                coefficients=args.coefficients, tensor=args.tensor, max_time=args.max_time,
                                force_constants=args.force_constants, cutoff3=args.cutoff3, cutoff4=args.cutoff4,
                                md_timestep=args.md_timestep, frame_interval=args.frame_interval, units=args.units,
                                lj_scales=args.lj_scales, plot_format=args.plot_format)


def cmd_conductivity(args, out) -> int:
    """Green-Kubo conductivity by cepstral analysis, with the running integral and, asked for, the tensor: netCDF
    files and a figure."""
    import numpy as np
    from trajmodes.workflows.transport import conductivity, is_current_file, lifetime_checks
    t0 = time.perf_counter()
    settings = conductivity_settings(args)
    source = args.files[0] if is_current_file(args.files) else read_trajectory(args)
    result = conductivity(source, settings, steps=step)
    if result.own is not None:
        _print_own_constants(result, args)
    written = [p for p in result.write(args.output, out, steps=step) if os.path.basename(p) != "fc.nc"]
    res, nma, resolution = result.heat, result.lifetimes, result.resolution
    c, rows = res.cepstral, len(res.current)
    n_cur = c.attrs["n_currents"]
    lines = [f"heat current: {res.source}, {rows} rows every {res.dt:g} ps, {rows * res.dt:g} ps"
             + (f"; {n_cur - 1} other current(s) taken out (Bertossa et al., Phys. Rev. Lett. 122, 255901 (2019))"
                if n_cur > 1 else "")]
    lines += [f"  {note}" for note in res.notes]
    lines.append(f"cepstral analysis (Ercole, Marcolongo and Baroni, Sci. Rep. 7, 15835 (2017)): f* = "
                 f"{c.attrs['fstar_THz']:.4g} THz ("
                 + ("the band of 90 % of the current's power; --fstar to set it" if c.attrs["fstar_chosen"] else
                    "given" if abs(c.attrs["fstar_THz"] - c.attrs["fstar_asked_THz"]) <= 1e-6 * c.attrs["fstar_THz"]
                    else f"{c.attrs['fstar_asked_THz']:g} THz given: one row in {c.attrs['tskip']} kept, whose "
                         "Nyquist frequency it is")
                 + f"), {c.sizes['frequency']} frequencies, P* = {c.attrs['cutoff'] + 1} cepstral "
                 f"coefficients ({'given' if c.attrs['cutoff_given'] else 'Akaike criterion'})")
    lines.append(f"kappa = {float(c.kappa):.5g} +- {float(c.kappa_err):.2g} W/(m K)")
    tail = res.integral.kappa_mean.values
    lines.append(f"running Green-Kubo integral{' of the heat current alone' if n_cur > 1 else ''} at "
                 f"{res.integral.time.values[-1]:g} ps: {tail[-1]:.5g} W/(m K) (no error bar: its noise grows as the "
                 "square root of the integration time)")
    k2, e2, rising = res.past_cutoff()
    if rising:
        lines.append(f"WARNING: kappa keeps rising past P* ({k2:.4g} +- {e2:.2g} W/(m K) with {2 * (c.attrs['cutoff'] + 1)} "
                     "coefficients): the current's zero-frequency peak is sharper than the Akaike choice resolves "
                     "(long-lived phonons); --coefficients or a lower --fstar, checked against the running integral")
    if res.integral_still_rising():
        lines.append(f"WARNING: the running integral rose by more than 10 % over the second half of its window "
                     f"({res.integral.time.values[-1]:g} ps): the correlation has not decayed by then (a longer "
                     "--max-time), or the integral's noise, which grows with the window, is that large")
    if res.tensor is not None:
        k, e = res.tensor.kappa.values, res.tensor.kappa_err.values
        lines.append("tensor (W/(m K), rows x y z):")
        lines += ["  " + "  ".join(f"{k[a, b]:10.4g} +- {e[a, b]:<8.2g}" for b in range(3)) for a in range(3)]
    if res.spectral is not None:
        sp = res.spectral
        lo, hi = res.heat_band(0.8)
        lines.append(f"by the velocities' frequency (Fan et al., Phys. Rev. B 99, 064308 (2019)), {sp.sizes['frequency_bin']}"
                     f" bands: they sum to {np.trace(sp.kappa.values) / 3:.5g} W/(m K) at tau = {sp.attrs['tau_ps']:g} "
                     f"ps; 80 % of it between {lo:.3g} and {hi:.3g} THz")
    if res.modal is not None:
        m = res.modal
        fc_name = os.path.basename(args.force_constants) if args.force_constants else "the run's own constants"
        branch = np.einsum("saa->s", m.kappa_branch.values) / 3
        lines.append(f"Green-Kubo modal analysis (Lv and Henry, New J. Phys. 18, 013028 (2016)), {m.frequency.size} "
                     f"modes of {fc_name} at tau = {m.attrs['tau_ps']:g} ps: the modes' "
                     f"shares sum to {np.trace(m.kappa.values) / 3:.5g} W/(m K), the running integral's "
                     f"{np.trace(m.kappa_green_kubo.values) / 3:.5g}")
        lines.append("  by branch (W/(m K)): " + ", ".join(f"{k:.4g}" for k in branch))
    if res.boltzmann is not None:
        lines += _boltzmann_lines(res.boltzmann, res.temperature, "the run's own constants, fitted here" if
                                  args.cutoff3 is not None else "the same constants")
        k_nma, e_nma = float(np.trace(nma.kappa.values) / 3), float(np.trace(nma.kappa_err.values) / 3)
        missing = float(nma.missing_share)
        head = ("normal-mode analysis (the run's own lifetimes, classical; McGaughey and Kaviany, Phys. Rev. B 69, "
                "094303 (2004)): ")
        if missing > 0.99:
            lines.append(head + f"no width resolved at {resolution:.2g} THz: it needs a longer run")
        else:
            lines.append(head + f"{k_nma:.4g} +- {e_nma:.2g} W/(m K) from the modes whose widths the run resolves at "
                         f"{resolution:.2g} THz" + (f"; {100 * missing:.0f} % of sum C v^2 has none (widths below the "
                                                   "resolution, or fits refused: a longer run)" if missing > 0.01
                                                   else ""))
        tau, run, reach = res.boltzmann.heat_lifetime, rows * res.dt, float(res.integral.time.values[-1])
        lines.append(f"  the heat is carried by modes that live {tau:.3g} ps (the Boltzmann lifetimes weighted by their "
                     f"share of kappa); the run is {run / tau:.3g} of them, the running integral reaches {reach / tau:.3g}")
        lines += [f"WARNING: {w}" for w in lifetime_checks(tau, run, reach)]
    if not np.isfinite(float(c.kappa)):
        lines.append("WARNING: the conductivity is not finite: check the units and the series")
    lines.append(f"wrote {', '.join(written)} in {time.perf_counter() - t0:.2f} s")
    print("\n".join(lines))
    return 0


def _print_own_constants(result, args) -> None:
    """What the run's own effective constants are (second order from the data, third to ``--cutoff3``), where they
    were written, and where the run carries a committee of learned potentials, what its members add."""
    from trajmodes.workflows.transport import BTE_ERROR_MESH
    own = result.own
    est = own.fit.estimator
    print(f"the run's own constants: r2 = {float(est.cutoff2):.4g} A (from the data), r3 = {args.cutoff3:g} A, "
          f"{int(est.scores_.n_frames)} frames; written to {os.path.join(args.output, 'fc.nc')}")
    if own.members is not None:
        n = BTE_ERROR_MESH
        print(f"a committee of {len(own.members)} learned potentials: each member's constants fitted to the same "
              f"frames; their spread of the Boltzmann equation's kappa is a second error bar (one three-phonon "
              f"calculation per member on the {n}x{n}x{n} mesh: {len(own.members)} more)")


def _boltzmann_lines(bte, temperature: float, whose: str) -> list:
    """The Boltzmann equation's conductivities beside the Green-Kubo one, with what separates them."""
    import numpy as np

    def mean(ds, name="kappa"):
        return float(np.trace(ds[name].values[0]) / 3)
    n = bte.converged.attrs["mesh"][0]
    tried = ", ".join(f"{m}^3: {k:.4g}" for m, k in bte.meshes)
    err = "" if bte.kappa_err is None else f" +- {bte.kappa_err:.2g} (the constants' bootstrap)"
    if bte.kappa_committee_err is not None:
        err += f" +- {bte.kappa_committee_err:.2g} (committee of {bte.committee_members} members)"
    lines = [f"Boltzmann equation of {whose}, three-phonon RTA, classical occupations at {temperature:.5g} K "
             f"(W/(m K), mean of the diagonal):",
             f"  converged mesh {n}x{n}x{n}: {mean(bte.converged):.4g}{err} (meshes {tried}"
             + (")" if bte.converged_at is not None else "; not converged to 3 % at the largest)"),
             f"  + coherences (Wigner transport equation, Simoncelli, Marzari and Mauri 2019): "
             f"{mean(bte.converged, 'kappa_coherences'):.3g}"]
    if bte.kappa_committee_err is not None:
        m = bte.error_mesh
        lines.insert(2, f"  two error bars: the bootstrap's is the run's finite sampling of the constants; the "
                        f"committee's the standard deviation of the {bte.committee_members} members' kappas "
                        f"({', '.join(f'{k:.4g}' for k in bte.kappa_members)} on the {m}x{m}x{m} mesh), scaled to "
                        "the converged mesh: the learned potential's own uncertainty")
    if bte.four_phonon is not None:
        lines.append(f"  with four-phonon scattering (the constants' fourth order; sums sampled over "
                     f"{'x'.join(str(k) for k in bte.four_phonon.attrs['four_phonon_sample'])} cells, Gaussians of "
                     f"{bte.four_phonon.attrs['four_phonon_width_THz']:.2g} THz): {mean(bte.four_phonon):.4g}")
    lines += [
             f"  the MD supercell's q-points: {mean(bte.md_grid):.4g} at sigma {bte.sigma:.3g} THz (three times the mean "
             f"linewidth, as a Gaussian's FWHM); "
             + ", ".join(f"{k:.3g} at {s:.3g} THz" for s, k in bte.md_grid_range if abs(s - bte.sigma) > 1e-12)
             + ": on so few q-points energy is conserved only within the broadening",
             "  the MD run holds every order of anharmonicity and the finite cell's modes only; the Boltzmann equation "
             "three phonons and the infinite crystal; both are classical"]
    return lines


def add_conductivity_parser(add) -> None:
    """The parser of ``trajmodes conductivity`` (``add``: the command adder of
    :func:`trajmodes.cli.app.build_parser`)."""
    from trajmodes.cli.options import add_plot_format, add_read_options, positive, positive_int
    pk = add("conductivity", cmd_conductivity, "Green-Kubo thermal conductivity of a run's heat current (cepstral "
                                               "analysis with its error bar, the running integral): netCDF files "
                                               "and a figure",
             example="trajmodes conductivity examples/md/ar_30K_heat.log.gz -o ar-kappa")
    add_read_options(pk, reference=False, thermo=False)
    pk.add_argument("--current", help="the current's columns in a table or log: a vector's name (flux for "
                                      "c_flux[1..3]) or three names 'Jx,Jy,Jz' (default: the one vector named flux, "
                                      "heat or J)")
    pk.add_argument("--other", action="append", metavar="NAME", help="another current of the run to take out (a "
                                                                      "mass current of a multi-component fluid, "
                                                                      "e.g. vcm[1]); repeat for more (default: none)")
    pk.add_argument("--run", type=positive_int, action="append", metavar="K", help="the run of a LAMMPS log (or "
                                                                                  "stretch of a table whose steps "
                                                                                  "restart) to read, from 1, where "
                                                                                  "its runs do not continue each "
                                                                                  "other; repeat for several that do "
                                                                                  "(default: the log's runs that "
                                                                                  "continue each other)")
    pk.add_argument("--temperature", type=positive, help="mean temperature in K (default: the run's)")
    pk.add_argument("--volume", type=positive, help="cell volume in A^3 (default: the run's)")
    pk.add_argument("--fstar", type=positive, help="cut-off frequency f* in THz (default: the band of 90 %% of the "
                                                   "current's power)")
    pk.add_argument("--coefficients", type=positive_int, help="cepstral coefficients P* kept (default: the "
                                                              "Akaike information criterion)")
    pk.add_argument("--tensor", action="store_true", help="the 3x3 tensor too (anisotropic crystals)")
    pk.add_argument("--max-time", type=positive, help="ps of the running integral (default a tenth of the run)")
    pk.add_argument("--force-constants", help="force constants: phonopy folder/file or trajmodes .nc (conductivity: "
                                              "the integral split over their modes, from a dump with per-atom "
                                              "energies, stresses and velocities) (default: none)")
    pk.add_argument("--cutoff3", type=positive, help="triplet cutoff in A: fit the run's own constants to its forces "
                                                     "(second order from the data, third to this) and use them as "
                                                     "--force-constants, the Boltzmann equation with error bars from "
                                                     "the fit's bootstrap (default: none)")
    pk.add_argument("--cutoff4", type=positive, help="quartet cutoff in A, with --cutoff3: the fourth order too "
                                                     "(default: none)")
    pk.add_argument("-o", "--output", default="trajmodes-conductivity", help="output folder (default "
                                                                              "trajmodes-conductivity): cepstral.nc, "
                                                                              "green_kubo.nc and conductivity.png; "
                                                                              "tensor.nc with --tensor; modal.nc, "
                                                                              "spectral.nc, modes.png and routes.png "
                                                                              "with --force-constants; fc.nc, "
                                                                              "boltzmann.nc, boltzmann_md_grid.nc and "
                                                                              "mode_lifetimes.nc with --cutoff3")
    add_plot_format(pk)
