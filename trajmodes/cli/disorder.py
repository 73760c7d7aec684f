"""``trajmodes lineshapes`` and ``trajmodes glass``: disordered solids from the command line (a mass-disordered
crystal's run beside its exact harmonic lineshapes and Tamura's lowest order; a glass's modes and Allen-Feldman heat
transport)."""
from __future__ import annotations

import argparse
import os
import time

from trajmodes.cli.options import (add_lj_scales, add_plot_format, add_read_options, input_files, mesh, positive,
                                   positive_int, read_settings, read_trajectory, step, temperatures)


def _route_options(p, moments: int) -> None:
    """--route and --moments, which both commands take."""
    from trajmodes.workflows.disorder import DISORDER_ROUTES
    p.add_argument("--route", choices=DISORDER_ROUTES, default="auto",
                   help="auto (default: the dense diagonalisation where it fits in half the available memory, else "
                        "the kernel polynomial method), dense or kpm (sparse products only)")
    p.add_argument("--moments", type=positive_int, default=moments,
                   help=f"Chebyshev moments of the kernel polynomial method (default {moments})")


def frequency_window(text: str) -> tuple[float, float]:
    """``--frequency-window``: NU_MIN:NU_MAX in THz, 0 <= NU_MIN < NU_MAX."""
    try:
        lo, hi = (float(x) for x in text.split(":"))
    except ValueError:
        lo = hi = float("nan")
    if not (0 <= lo < hi < float("inf")):
        raise argparse.ArgumentTypeError(f"the window must be NU_MIN:NU_MAX in THz with 0 <= NU_MIN < NU_MAX, not "
                                         f"{text!r}")
    return lo, hi


def add_lineshapes_parser(add) -> None:
    """The parser of ``trajmodes lineshapes`` (``add``: the subcommand factory of :func:`trajmodes.cli.app.
    build_parser`)."""
    from trajmodes.workflows.modes import DEFAULT_PEAK_MODEL, DEFAULT_RESOLUTION, PEAK_MODELS
    p = add("lineshapes", cmd_lineshapes, "a mass-disordered crystal's run (isotopes, an alloy on one lattice) on its "
                                          "virtual crystal's modes: the run's linewidths beside the sample's exact "
                                          "harmonic lineshapes and Tamura's lowest order, partial DOS: netCDF and a "
                                          "figure",
            example="trajmodes lineshapes cu108.lammpstrj --species Cu,Cu --masses 54,73.1 --force-constants "
                    "fc108.nc -o ls108")
    add_read_options(p)
    p.add_argument("--force-constants", help="force constants on the run's supercell: phonopy folder/file or "
                                             "trajmodes .nc (default: fitted to the run's forces)")
    p.add_argument("--resolution", type=positive, default=DEFAULT_RESOLUTION,
                   help=f"Welch frequency bin in THz (default {DEFAULT_RESOLUTION:g}, as mode_spectra)")
    p.add_argument("--model", choices=PEAK_MODELS, default=DEFAULT_PEAK_MODEL,
                   help=f"peak model (default {DEFAULT_PEAK_MODEL}: Lorentzian and damped oscillator, the more likely "
                        "per mode); *_windowed: the expected windowed periodogram of the line, for FWHM near the "
                        "resolution")
    p.add_argument("--temperature", type=positive, help="K, of the exact lines' k_B T per mode (default: kinetic)")
    p.add_argument("--mesh", type=mesh, help="q mesh of Tamura's widths: N or N1,N2,N3, a multiple of the run's q grid "
                                             "(default: the smallest with at least 24 per axis)")
    _route_options(p, moments=512)
    p.add_argument("-o", "--output", default="trajmodes-lineshapes", help="output folder (default "
                                                                          "trajmodes-lineshapes): lineshapes.nc and "
                                                                          "the figure lineshapes.png")
    add_plot_format(p)


def add_glass_parser(add) -> None:
    """The parser of ``trajmodes glass``."""
    p = add("glass", cmd_glass, "a glass (any cell without long-range order) at its Gamma point: modes, participation "
                                "ratios, Allen-Feldman diffusivities and conductivity, or the kernel polynomial D(nu) "
                                "for large cells: netCDF and a figure",
            example="trajmodes glass asi216.data --potential examples/potentials/Si_SW1985.sw --width 0.159155 "
                    "--temperatures 100,300,1000 -o g216")
    p.add_argument("structure", metavar="DATA", help="the glass: a LAMMPS data file (or any structure file)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--potential", help="its potential, for analytic sparse constants: a LAMMPS Stillinger-Weber file "
                                         "(*.sw) or a pair potential lj/cut:epsilon,sigma,cutoff / "
                                         "morse:D0,alpha,r0,cutoff / buck:A,rho,C,cutoff (metal units)")
    src.add_argument("--force-constants", help="force constants of the cell itself: trajmodes .nc or any format "
                                               "trajmodes reads")
    p.add_argument("--species", help="elements of the LAMMPS types, comma separated (type 1 first), e.g. Cu or Si,Ge "
                                   "(default: from the data file's masses)")
    p.add_argument("--units", help="LAMMPS unit style of the data (default: metal)")
    add_lj_scales(p)
    p.add_argument("--width", type=positive, help="THz, the broadening of Allen-Feldman's delta function (half width "
                                                  "of the Lorentzian, standard deviation of the Gaussian; default "
                                                  "three times the mean spacing of the modes)")
    p.add_argument("--shape", choices=["lorentzian", "gaussian"], default="lorentzian",
                   help="shape of the broadened delta function (default lorentzian)")
    p.add_argument("--temperatures", type=temperatures, default=None,
                   help="TMIN:TMAX:STEP (TMAX included) or T1,T2,... in K (default 0:1000:10)")
    p.add_argument("--occupation", choices=["quantum", "classical"], default="quantum",
                   help="the modes' heat capacities: quantum (default) or classical (as classical MD)")
    p.add_argument("--frequency-window", type=frequency_window, metavar="NU_MIN:NU_MAX",
                   help="THz: on the kernel polynomial route also the modes of this window (shift-invert Lanczos), "
                        "their participation ratios and diffusivities (default: none)")
    _route_options(p, moments=256)
    p.add_argument("--vectors", type=positive_int, default=8, help="random vectors of the kernel polynomial method's "
                                                                   "stochastic trace (default 8)")
    p.add_argument("--seed", type=int, help="seed of the random vectors (default 0)")
    p.add_argument("-o", "--output", default="trajmodes-glass", help="output folder (default trajmodes-glass): "
                                                                     "glass.nc and the figure glass.png")
    add_plot_format(p)


def cmd_lineshapes(args, out) -> int:
    """A mass-disordered run's lines beside its exact harmonic lineshapes and Tamura's: lineshapes.nc, a figure, a
    table."""
    import numpy as np
    from trajmodes.plots.disorder import plot_lineshape_widths
    from trajmodes.workflows.disorder import mass_disorder_lineshapes, own_harmonic_constants
    from trajmodes.workflows.outputs import provenance, write_dataset
    t0 = time.perf_counter()
    traj = read_trajectory(args)
    fc = args.force_constants
    if fc is None:
        # the masses disordered on the sites: the fit finds the lattice of sites and fits its virtual crystal
        with step("fitting the run's own harmonic constants (pair cutoff from the data; a pass over its forces)"):
            fc = own_harmonic_constants(traj)
        print(f"force constants: fitted to the run ({fc.n_atoms}-atom supercell)")
    res = mass_disorder_lineshapes(traj, fc, resolution=args.resolution, temperature=args.temperature,
                                   model=args.model, route=args.route, mesh=args.mesh, n_moments=args.moments,
                                   progress=step)
    ds = res.dataset
    settings = dict(read_settings(args, traj), force_constants=args.force_constants or "fitted to the run",
                    resolution=args.resolution, model=args.model, route=args.route, moments=args.moments)
    prov = provenance(input_files(traj, args) + ([args.force_constants] if args.force_constants else []), settings,
                      temperature=float(ds.attrs["temperature"]))
    written = [write_dataset(ds, os.path.join(args.output, "lineshapes.nc"), out, prov)]
    fig = os.path.join(args.output, f"lineshapes.{args.plot_format}")
    name = os.path.basename(args.files[0])
    with step("drawing the figure"):
        plot_lineshape_widths(ds, out(fig), title=f"{name}: linewidths of the virtual crystal's modes")
    written.append(fig)
    lines = [f"{name}: {int(ds.attrs['n_atoms'])} atoms, {ds.sizes['q']} q x {ds.sizes['branch']} branches of the "
             f"virtual crystal (site masses {', '.join(f'{m:.6g}' for m in ds.site_mass.values)} amu, g2 "
             f"{', '.join(f'{g:.4g}' for g in ds.site_g2.values)}), T = {float(ds.attrs['temperature']):.4g} K "
             f"({ds.attrs['temperature_source']})"]
    lines += list(res.notes)
    lines += _width_table(ds)
    lines += _unmeasured(ds)
    nu = ds.frequency_vca.values
    md, err, exact = ds.md_fwhm.values, ds.md_fwhm_err.values, ds.exact_fwhm.values
    both = (nu > 1e-3) & np.isfinite(md) & np.isfinite(exact) & (err > 0)
    # a width whose error exceeds it is not measured (a run too short for the line): agreeing with it says nothing
    measured = both & (err < md)
    unmeasured = int(both.sum() - measured.sum())
    if measured.any():
        z = np.abs(md - exact)[measured] / err[measured]
        lines.append(f"the run against the exact harmonic lines: {int((z < 2).sum())} of {int(measured.sum())} "
                     f"measured widths within two standard errors (median |MD - exact| / error {np.median(z):.2g})"
                     + (f"; {unmeasured} more fitted modes have errors larger than their widths and are not compared"
                        if unmeasured else ""))
    elif both.any():
        lines.append(f"the run against the exact harmonic lines: none of its {unmeasured} fitted widths is measured "
                     f"(every error is larger than its width; the exact widths reach "
                     f"{float(np.nanmax(exact[both])):.3g} THz): the run is too short to resolve these lines")
    lines += _tamura_ratio(ds)
    lines.append("partial DOS (kernel polynomial method): " + ", ".join(
        f"{g} ({int(n)} atoms)" for g, n in zip(ds.group.values, ds.group_atoms.values)))
    lines.append(f"wrote {', '.join(written)} in {time.perf_counter() - t0:.2f} s")
    print("\n".join(lines))
    return 0


def _tamura_ratio(ds) -> list[str]:
    """The line comparing Tamura's widths with the exact lines, over the modes where both are finite numbers, and saying
    which exact width it takes: the fitted FWHM through the run's window (dense route), or, on the kernel polynomial
    route (no fitted widths there), the Gaussian-equivalent FWHM of the lines' rms width (2.3548 x rms). Where no mode
    has both, one line says so: never a ratio made from NaN."""
    import numpy as np
    nu, tam = ds.frequency_vca.values, ds.tamura_fwhm.values
    kpm = ds.attrs.get("route") == "kpm"
    ref = 2.3548 * ds.lineshape_rms_width.values if kpm else ds.exact_fwhm.values
    ok = (nu > 1e-3) & np.isfinite(ref) & (ref > 0) & np.isfinite(tam)
    what = "the exact lines' rms width x 2.3548 (kernel polynomial route: no fitted widths)" if kpm else \
        "the exact lines' FWHM (drawn through the run's window and fitted)"
    if not ok.any():
        return [f"Tamura's lowest order / {what}: no ratio, no mode has both as a number (the exact widths are NaN "
                f"where the run's spectra cannot resolve the lines)"]
    ratio = tam[ok] / ref[ok]
    n, moving = int(ok.sum()), int((nu > 1e-3).sum())
    return [f"Tamura's lowest order / {what}: median {np.median(ratio):.3g}, from {ratio.min():.3g} to "
            f"{ratio.max():.3g} over {n}" + (f" of {moving}" if n < moving else "")
            + f" modes (mesh {'x'.join(map(str, ds.attrs['tamura_mesh']))}, tetrahedra)"]


#: the MD fit statuses of a line without a width that a longer run measures (the spectra's bins too coarse for its
#: frequency, or too noisy for a line): :func:`trajmodes.fit_peaks`
SHORT_RUN_STATUSES = ("zero-frequency mode", "no peak", "collapsed", "unconstrained", "too few points in window",
                      "fit did not converge", "amplitude ill-determined")


def _unmeasured(ds) -> list[str]:
    """One line naming the modes whose run's width is NaN (their virtual-crystal frequencies and MD fit statuses) and,
    where a longer run would measure them, that the run is too short for them: its spectra's segments and bins, and
    the run the lines need (about 9/FWHM ps for a width FWHM, Tamura's as the estimate); none when every mode has a
    width."""
    import numpy as np
    from trajmodes.cli.modes import RUN_PS_PER_INVERSE_FWHM
    nu = ds.frequency_vca.values
    st = ds.md_status.values.astype(str)
    moving = nu > 1e-3
    missing = moving & ~np.isfinite(ds.md_fwhm.values)
    if not missing.any():
        return []
    freqs = np.unique(np.round(nu[missing], 4))
    which = ", ".join(f"{x:.4g}" for x in freqs[:8]) + (f" and {len(freqs) - 8} more" if len(freqs) > 8 else "")
    names, counts = np.unique(st[missing], return_counts=True)
    text = (f"the run measures no width for {int(missing.sum())} of its {int(moving.sum())} modes (the virtual "
            f"crystal's lines at {which} THz; MD fit status: " + ", ".join(f"{n} {s}" for s, n in zip(names, counts))
            + ")")
    short = missing & np.isin(st, SHORT_RUN_STATUSES)
    if short.any():
        seg = float(ds.attrs.get("spectra_segment_length_ps", np.nan))
        n_seg = int(ds.attrs.get("spectra_n_segments", 1))
        tam = ds.tamura_fwhm.values[short]
        tam = tam[np.isfinite(tam) & (tam > 0)]
        need = max(3.0 / float(nu[short].min()), RUN_PS_PER_INVERSE_FWHM / float(np.median(tam)) if tam.size else 0.0)
        them = "them" if (short == missing).all() else \
            f"the {int(short.sum())} of status {', '.join(sorted(set(st[short].tolist())))}"
        text += (f": the run is too short for {them}: its spectra are "
                 f"{n_seg} segment{'s' if n_seg > 1 else ''} of {seg:.3g} ps, frequency bins of {1.0 / seg:.3g} THz "
                 f"(--resolution asked {float(ds.attrs['resolution']):g} THz), and a line is fitted three bins above "
                 f"zero and measured in about {RUN_PS_PER_INVERSE_FWHM:g}/FWHM ps"
                 + (f" (Tamura's widths of these lines, median {float(np.median(tam)):.3g} THz)" if tam.size else "")
                 + f": run at least about {need:.3g} ps")
    return [text]


def _width_table(ds) -> list[str]:
    """One row per distinct line (modes equal by symmetry once, with their number): frequency, the run's FWHM, the
    exact and Tamura's (their mean over the equivalent modes), the shifts."""
    import numpy as np
    nu = ds.frequency_vca.values.ravel()
    cols = [ds[n].values.ravel() for n in ("md_fwhm", "md_fwhm_err", "exact_fwhm", "tamura_fwhm", "md_shift",
                                           "exact_shift")]
    keys = np.round(np.c_[nu, cols[2], cols[0]], 4)
    keys = np.where(np.isfinite(keys), keys, -1.0)
    _, first, inverse, counts = np.unique(keys, axis=0, return_index=True, return_inverse=True, return_counts=True)
    order = first[np.argsort(nu[first])]
    count = dict(zip(first, counts))
    # Tamura's widths of equivalent modes differ by the tetrahedra's round-off: their mean
    cols[3] = (np.bincount(inverse.ravel(), weights=cols[3]) / counts)[inverse.ravel()]
    rows = [f"{'nu VCA (THz)':>12} {'modes':>5} {'MD FWHM':>8} {'+-':>6} {'exact FWHM':>10} {'Tamura FWHM':>11} "
            f"{'MD shift':>8} {'exact shift':>11}"]
    for i in order:
        if nu[i] <= 1e-3:
            continue
        c = [x[i] for x in cols]
        rows.append(f"{nu[i]:12.4f} {count[i]:5d} {c[0]:8.4f} {c[1]:6.3f} {c[2]:10.4f} {c[3]:11.4f} {c[4]:+8.4f} "
                    f"{c[5]:+11.4f}")
    return rows


def cmd_glass(args, out) -> int:
    """A glass's modes and Allen-Feldman transport (or the kernel polynomial D(nu)): glass.nc, a figure, a summary."""
    import numpy as np
    from trajmodes.plots.disorder import plot_glass
    from trajmodes.workflows.disorder import glass_transport
    from trajmodes.workflows.outputs import provenance, write_dataset
    t0 = time.perf_counter()
    res = glass_transport(args.structure, potential=args.potential, force_constants=args.force_constants,
                          species=args.species.split(",") if args.species else None, units=args.units,
                          lj_scales=args.lj_scales,
                          width=args.width, shape=args.shape, temperatures=args.temperatures,
                          occupation=args.occupation, window=args.frequency_window, route=args.route,
                          n_moments=args.moments, n_vectors=args.vectors, seed=0 if args.seed is None else args.seed,
                          progress=step)
    ds = res.dataset
    inputs = [args.structure] + [p for p in (args.potential, args.force_constants) if p and os.path.exists(p)]
    settings = dict(potential=args.potential, force_constants=args.force_constants, units=args.units,
                    lj_scales=args.lj_scales, width=args.width,
                    shape=args.shape, occupation=args.occupation, route=args.route, moments=args.moments,
                    vectors=args.vectors, seed=args.seed,
                    frequency_window=None if args.frequency_window is None else list(args.frequency_window))
    written = [write_dataset(ds, os.path.join(args.output, "glass.nc"), out, provenance(inputs, settings))]
    fig = os.path.join(args.output, f"glass.{args.plot_format}")
    name = os.path.basename(args.structure)
    with step("drawing the figure"):
        source = f"the potential {os.path.basename(args.potential)}" if args.potential else "its force constants"
        plot_glass(ds, out(fig), title=f"{name}: {int(ds.attrs['n_atoms'])} atoms, {source}")
    written.append(fig)
    lines = [f"{name}: {int(ds.attrs['n_atoms'])} atoms, {float(ds.attrs['volume']):.6g} A^3"]
    lines += list(res.notes)
    if "diffusivity" in ds:
        ok = ds.physical.values
        nu = ds.frequency.values
        lines.append(f"{len(nu)} modes from {nu.min():.4g} to {nu.max():.4g} THz; participation ratio mean "
                     f"{np.mean(ds.participation_ratio.values):.3f}; Allen-Feldman diffusivity ({ds.attrs['shape']}, "
                     f"{float(ds.attrs['width']):.3g} THz) mean {np.nanmean(ds.diffusivity.values[ok]):.4g} mm^2/s "
                     f"over the {int(ok.sum())} modes that carry heat (Allen and Feldman, Phys. Rev. B 48, 12581 "
                     "(1993))")
    if "conductivity" in ds:
        T = ds.temperature.values
        pick = [i for i, t in enumerate(T) if t in (100.0, 300.0, 1000.0)] or [len(T) - 1]
        lines.append(f"conductivity ({ds.attrs['occupation']} heat capacities, W/(m K)): " + ", ".join(
            f"{ds.conductivity.values[i]:.4g} at {T[i]:g} K" for i in pick))
    if "kpm_diffusivity" in ds:
        d = ds.kpm_diffusivity.values
        f = ds.kpm_frequency.values
        mid = (f > 0.1 * f.max()) & (f < 0.9 * f.max()) & np.isfinite(d)
        lines.append(f"kernel polynomial D(nu): {len(f)} frequencies up to {f.max():.4g} THz, resolution about "
                     f"{float(ds.attrs.get('kpm_resolution_thz_at_top', np.nan)):.2g} THz at the top (coarser below); "
                     f"mean {np.mean(d[mid]):.4g} mm^2/s over 10-90 % of the band")
    lines.append(f"wrote {', '.join(written)} in {time.perf_counter() - t0:.2f} s")
    print("\n".join(lines))
    return 0
