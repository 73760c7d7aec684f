"""``trajmodes anharmonic``: three-phonon linewidths, lifetimes, shifts and thermal conductivity of force
constants with a third-order part."""
from __future__ import annotations

import os
import time

from trajmodes.cli.options import step


def add_phono3py_options(parser) -> None:
    """The options of ``trajmodes anharmonic`` named after phono3py's: ``--r0-average/--no-r0-average``
    (``Anharmonic(make_r0_average=)``) and ``--sigma-cutoff`` (``Anharmonic(sigma_cutoff=)``)."""
    import argparse
    from trajmodes.cli.options import positive
    parser.add_argument("--r0-average", dest="r0_average", action=argparse.BooleanOptionalAction, default=True,
                        help="average the Fourier transform of fc3 over the three atoms of each triplet as the origin "
                             "(default; phono3py's make_r0_average); --no-r0-average: the first atom, as phono3py 2")
    parser.add_argument("--sigma-cutoff", dest="sigma_cutoff", type=positive, default=None,
                        help="with --smearing: drop the terms whose delta-function arguments all lie beyond this many "
                             "standard deviations (phono3py's --sigma-cutoff; default: none dropped)")


def add_allow_unstable(parser) -> None:
    """``--allow-unstable`` of ``trajmodes anharmonic`` and ``compare`` (``Anharmonic(allow_unstable=)``)."""
    parser.add_argument("--allow-unstable", dest="allow_unstable", action="store_true",
                        help="go on when the harmonic constants have imaginary modes (dynamically unstable, as the "
                             "0 K constants of a crystal stabilised by anharmonicity), leaving those modes out of the "
                             "sums (default: refuse, saying how many, the lowest and where)")


def add_committee_option(parser) -> None:
    """``--no-committee`` of ``trajmodes anharmonic``: without it, the committee's error bar from the members'
    constants that ``trajmodes fit`` wrote into the file (``three_phonon(members=)``)."""
    parser.add_argument("--no-committee", dest="no_committee", action="store_true",
                        help="the fitted constants alone: without it, where FC_PATH holds the constants of the members "
                             "of a committee of learned potentials (trajmodes fit of a run with one writes them into "
                             "fc.nc), the same calculation for every member (M more) and their standard deviation as "
                             "the committee's error bar of the widths, shifts and kappa")


def _phono3py_settings(args) -> dict:
    """The Anharmonic keywords of :func:`add_phono3py_options` that differ from the defaults (an ``args`` without
    them, from a parser that does not add them, gives none)."""
    out = {}
    if not getattr(args, "r0_average", True):
        out["make_r0_average"] = False
    sc = getattr(args, "sigma_cutoff", None)
    if sc is not None:
        if args.smearing is None:
            raise ValueError("--sigma-cutoff truncates the Gaussian smearing: give --smearing with it")
        out["sigma_cutoff"] = float(sc)
    return out


def cmd_anharmonic(args, out) -> int:
    """Linewidths, shifts and RTA conductivity on a mesh: a netCDF file, a figure and a table."""
    import numpy as np
    from trajmodes.plots import plot_three_phonon
    from trajmodes.workflows.anharmonic import three_phonon
    from trajmodes.workflows.fit import fitted_temperature, load_committee
    from trajmodes.workflows.outputs import provenance, write_dataset
    from trajmodes.workflows.reading import load_force_constants
    t0 = time.perf_counter()
    fc = load_force_constants(args.fc)
    if fc.fc3_sparse is None:
        raise ValueError(f"{args.fc}: these force constants have no third-order part; fit them with --cutoff3 "
                         "(trajmodes fit) or give phono3py's fc3.hdf5 beside fc2.hdf5")
    mesh = "x".join(map(str, args.mesh))
    settings = _phono3py_settings(args)
    if getattr(args, "allow_unstable", False):
        settings["allow_unstable"] = True
    method = "tetrahedron" if args.smearing is None else "adaptive Gaussian smearing" \
        if args.smearing == "adaptive" else f"Gaussian smearing {args.smearing:g} THz"
    if "sigma_cutoff" in settings:
        method += f" cut at {settings['sigma_cutoff']:g} sigma"
    if not settings.get("make_r0_average", True):
        method += ", fc3 transform at the first atom (no r0 average)"
    four = getattr(args, "four_phonon", None)
    if four is not None:
        if fc.fc4 is None:
            raise ValueError(f"{args.fc}: --four-phonon needs fourth-order constants; fit them with --cutoff4 "
                             "(trajmodes fit) or give TDEP's infile.forceconstant_fourthorder")
        sample = getattr(args, "four_phonon_sample", None)
        method += (", four-phonon scattering (adaptive Gaussian" if four == "adaptive" else
                   f", four-phonon scattering (Gaussian {four:g} THz") + \
            (f", Monte Carlo {'x'.join(map(str, sample))} sample)" if sample else ")")
    elif getattr(args, "four_phonon_sample", None):
        raise ValueError("--four-phonon-sample samples the four-phonon sums: give --four-phonon with it")
    import sys
    lbte = args.method == "lbte"
    fitted_at = fitted_temperature(args.fc)
    T, said = anharmonic_temperatures(args.temperatures, fitted_at, args.fc)
    print(said, file=sys.stderr, flush=True)
    what = ("three-phonon collision matrix" if lbte else "three-phonon self-energies")
    members = [] if getattr(args, "no_committee", False) else load_committee(args.fc)
    print(f"{what} on the {mesh} mesh ({method}, {args.occupation} occupations"
          f"{', isotopes' if args.isotopes else ''}, {len(T)} temperature(s)) and the "
          f"{'LBTE' if lbte else 'RTA'} conductivity ...", file=sys.stderr, flush=True)
    if members:
        print(f"{args.fc} holds the constants of a committee of {len(members)} learned potentials' members: the same "
              f"calculation for each, {len(members)} more (about {len(members) + 1} times the time of one; "
              "--no-committee skips them), for the committee's error bar of the widths, shifts and kappa",
              file=sys.stderr, flush=True)
    result = three_phonon(fc, args.mesh, T, args.occupation, args.smearing, kappa=True, method=args.method,
                          isotopes=True if args.isotopes else None, four_phonon=four,
                          four_phonon_sample=getattr(args, "four_phonon_sample", None),
                          four_phonon_seed=getattr(args, "seed", None),
                          coherences=bool(getattr(args, "coherences", False)),
                          static_shift=fitted_at is not None and not lbte, progress=step,
                          members=members or None, **settings)
    an, ds = result.anharmonic, result.dataset
    if fitted_at is not None:
        ds.attrs.update(constants="effective", fitted_temperature=fitted_at)
    prov = provenance([args.fc], dict(mesh=args.mesh, smearing=args.smearing, occupation=args.occupation,
                                      method=args.method, isotopes=bool(args.isotopes),
                                      make_r0_average=an.interaction.make_r0_average, four_phonon=four,
                                      four_phonon_sample=getattr(args, "four_phonon_sample", None),
                                      seed=getattr(args, "seed", None),
                                      sigma_cutoff=an.sigma_cutoff,
                                      coherences=bool(getattr(args, "coherences", False)),
                                      committee_members=len(members)))
    written = [write_dataset(ds, os.path.join(args.output, "anharmonic.nc"), out, prov)]
    fig = os.path.join(args.output, f"anharmonic.{args.plot_format}")
    pr = fc.primitive
    with step("drawing the figure"):
        plot_three_phonon(ds, out(fig), title=f"{os.path.basename(os.path.normpath(args.fc))}: "
                                              f"{pr.space_group_symbol}, {pr.n_atoms}-atom primitive cell")
    written.append(fig)
    lines = [f"force constants: {args.fc} (fc3 on a {fc.n_atoms}-atom supercell); mesh {mesh}: "
             f"{len(an.grid.irreducible)} irreducible q of {an.grid.n_points}; {method}, {args.occupation}"
             + (", isotope scattering" if args.isotopes else ""), said]
    if an.imaginary.unstable:
        lines.append(f"warning: the harmonic constants are unstable, {an.imaginary.summary()}; those modes are left out "
                     "of the sums (--allow-unstable): these are not the crystal's widths, shifts or conductivity")
    f = ds["frequency_harmonic"].values
    ok = f > an.interaction.cutoff_frequency
    lines += _summary_rows(ds, T, ok, lbte)
    if "frequency_shift_dynamic" in ds:
        dyn = ", ".join(f"{np.median(ds['frequency_shift_dynamic'].values[i][ok]):+.5f}" for i in range(len(T)))
        lines.append(f"note: {args.fc} holds effective constants fitted at {fitted_at:.0f} K (trajmodes fit): they "
                     "contain the bubble's static part Delta(0) already, and the shift column (the full bubble "
                     "Delta(nu0)) counts it twice; the shift of their lines is Delta(nu0) - Delta(0), median "
                     f"{dyn} THz (frequency_shift_dynamic; `trajmodes compare` sets it beside an MD run)")
    lines += list(result.warnings)
    if "kappa_coherences" in ds:
        lines.append(f"{'T (K)':>8} {'kappa_P':>10} {'kappa_C':>10}  W/(m K), xx (Wigner transport equation: "
                     f"populations (RTA) and coherences; kappa_C adds to the kappa above)")
        for i, t in enumerate(T):
            lines.append(f"{t:8.1f} {ds['kappa_populations'].values[i][0, 0]:10.3f} "
                         f"{ds['kappa_coherences'].values[i][0, 0]:10.4f}")
    lines.append(f"wrote {', '.join(written)} in {time.perf_counter() - t0:.2f} s")
    print("\n".join(lines))
    return 0


#: the temperature of ``anharmonic`` for constants that carry none (0 K constants, phono3py's), K
DEFAULT_ANHARMONIC_TEMPERATURE = 300.0


def anharmonic_temperatures(given, fitted_at, path):
    """The temperatures (K) of ``trajmodes anharmonic`` and the line that says where they come from: ``given``
    (``--temperatures``), else the temperature effective constants were fitted at (``fitted_at``, fc.nc's
    ``temperature_K``: their widths and kappa belong there), else :data:`DEFAULT_ANHARMONIC_TEMPERATURE`. Given
    temperatures away from the fit's are said to use the constants outside the temperature they describe."""
    import numpy as np
    if given is None:
        if fitted_at is not None:
            return np.array([float(fitted_at)]), (
                f"temperature: {fitted_at:.4g} K, the temperature {path} was fitted at (its temperature_K; "
                "--temperatures for others)")
        return np.array([DEFAULT_ANHARMONIC_TEMPERATURE]), (
            f"temperature: {DEFAULT_ANHARMONIC_TEMPERATURE:g} K (default; {path} states no fit temperature; "
            "--temperatures for others)")
    T = np.atleast_1d(np.asarray(given, float))
    said = f"temperature(s): {', '.join(f'{t:.4g}' for t in T)} K (--temperatures)"
    if fitted_at is not None and np.any(np.abs(T - fitted_at) > 0.5):
        said += (f"; {path} holds effective constants fitted at {fitted_at:.4g} K: at other temperatures they are "
                 "used outside the temperature they describe (fit a run at each temperature, or trajmodes series)")
    return T, said


def _summary_rows(ds, T, ok, lbte: bool) -> list[str]:
    """The table of ``trajmodes anharmonic``: kappa's diagonal and the median FWHM (and shift) of the modes ``ok``
    at every temperature ``T``; where the dataset holds a committee's error bar (``three_phonon(members=)``), each
    value with its ``+-`` and a line that says what it is."""
    import numpy as np
    M = int(ds.attrs.get("committee_members", 0)) if "kappa_committee_err" in ds else 0
    lines = []
    if not M:
        if lbte:
            lines.append(f"{'T (K)':>8} {'kappa_xx':>10} {'kappa_yy':>10} {'kappa_zz':>10}  W/(m K) (LBTE)   "
                         f"RTA kappa_xx   median FWHM (THz)")
        else:
            lines.append(f"{'T (K)':>8} {'kappa_xx':>10} {'kappa_yy':>10} {'kappa_zz':>10}  W/(m K) (RTA)   "
                         f"median FWHM (THz)   median shift (THz)")
        for i, t in enumerate(T):
            k = ds["kappa"].values[i]
            lw = ds["linewidth"].values[i][ok]
            row = f"{t:8.1f} {k[0, 0]:10.3f} {k[1, 1]:10.3f} {k[2, 2]:10.3f}  "
            if lbte:
                lines.append(row + f"{'':16} {ds['kappa_rta'].values[i][0, 0]:12.3f} {np.median(lw):16.5f}")
            else:
                sh = ds["frequency_shift"].values[i][ok]
                lines.append(row + f"{'':15} {np.median(lw):12.5f}{'':8}{np.median(sh):+12.5f}")
        return lines

    def median(name, i):
        return float(np.median(ds[name].values[i][ok]))
    head = f"{'T (K)':>8} " + " ".join(f"{'kappa_' + c + c:>10}{'':11}" for c in "xyz")
    lines.append(head + f"  W/(m K) ({'LBTE' if lbte else 'RTA'}; +- the committee's error bar, {M} members)")
    lines.append((f"{'':8} " + (f"{'RTA kappa_xx':>12}   " if lbte else "")
                  + f"{'median FWHM (THz)':>17}{'':13}" + ("" if lbte else f"{'median shift (THz)':>18}")).rstrip())
    for i, t in enumerate(T):
        k, e = ds["kappa"].values[i], ds["kappa_committee_err"].values[i]
        lines.append((f"{t:8.1f} " + " ".join(f"{k[c, c]:10.3f} +- {e[c, c]:<7.3f}" for c in range(3))).rstrip())
        row = f"{'':8} " + (f"{ds['kappa_rta'].values[i][0, 0]:12.3f}   " if lbte else "")
        row += f"{median('linewidth', i):17.5f} +- {median('linewidth_committee_err', i):<9.5f}"
        if not lbte:
            row += f"{median('frequency_shift', i):+18.5f} +- {median('frequency_shift_committee_err', i):<9.5f}"
        lines.append(row.rstrip())
    lines.append(f"+-: the committee's error bar, the standard deviation (ddof 1) over the {M} members' constants "
                 "fitted to the same frames (the learned potential's own uncertainty, which more MD does not shrink; "
                 "kappa_committee_err, linewidth_committee_err, frequency_shift_committee_err); beside a median, the "
                 "median over the modes of each mode's")
    return lines


def cmd_compare(args, out) -> int:
    """MD linewidths and line positions (``trajmodes project``) beside perturbation theory from the run's fitted
    constants, level by level: a netCDF file, a figure and a table."""
    from trajmodes.plots import plot_comparison
    from trajmodes.workflows.compare import compare_with_theory, comparison_inputs
    from trajmodes.workflows.outputs import provenance, write_dataset
    t0 = time.perf_counter()
    inputs = comparison_inputs(args.modes, args.fc)
    constants = args.constants
    bulk_points = args.bulk_points or None
    allow = bool(getattr(args, "allow_unstable", False))
    import sys
    print(f"three-phonon{' and four-phonon' if inputs.four_phonon else ''} widths, shifts and lineshapes on the "
          f"{inputs.modes.sizes['q']} q-points of the MD cell (classical occupations), bulk widths and shifts at them "
          "on a converged mesh, and both conductivities ...", file=sys.stderr, flush=True)
    ds = compare_with_theory(inputs, temperature=args.temperature, smearing=args.smearing, constants=constants,
                             bulk_points=bulk_points, allow_unstable=allow, progress=step)
    prov = provenance([args.modes, args.fc], dict(smearing=args.smearing, temperature=args.temperature,
                                                  constants=constants, bulk_points=bulk_points,
                                                  allow_unstable=allow))
    written = [write_dataset(ds, os.path.join(args.output, "comparison.nc"), out, prov)]
    lines = _comparison_lines(ds, args.fc)
    import numpy as np
    if ds["md_placed"].values.any() or np.isfinite(ds["fwhm_ratio"].values).any():
        fig = os.path.join(args.output, f"comparison.{args.plot_format}")
        with step("drawing the figure"):
            plot_comparison(ds, out(fig), title=f"{_short(args.modes)} vs {_short(args.fc)}")
        written.append(fig)
    else:
        lines.append(f"no figure: it sets MD lines beside the theory's, and {_no_md_peak(ds)}")
    lines.append(f"wrote {', '.join(written)} in {time.perf_counter() - t0:.2f} s")
    print("\n".join(lines))
    return 0


def _short(path) -> str:
    """A file with the folder it is in (``fit/fc.nc``): ``fc.nc`` alone does not say which."""
    parts = os.path.normpath(str(path)).split(os.sep)
    return os.path.join(*parts[-2:]) if len(parts) > 1 else parts[-1]


def _comparison_lines(ds, fc_path) -> list[str]:
    """The table of ``trajmodes compare``: what was compared, widths, shifts, the levels side by side, kappa."""
    import numpy as np
    a = ds.attrs
    ok = np.isfinite(ds["fwhm_ratio"].values)
    effective = a["constants"] == "effective"
    lines = []
    if a.get("imaginary_modes", 0):
        lines.append(f"warning: {fc_path} is dynamically unstable ({a['imaginary_modes']} imaginary modes, lowest "
                     f"{a['lowest_imaginary_frequency']:.3f} THz; --allow-unstable): the imaginary modes are left out "
                     "and the theory below is not the crystal's")
    if a.get("md_projected_on_other_constants", 0):
        lines.append(f"note: the MD modes were projected onto other constants than {fc_path}: their shifts are "
                     f"measured from the frequencies of {fc_path}")
    lines += [f"T = {a['temperature']:.1f} K, classical; {a['n_qpoints']} q-points of the MD cell; Gaussian smearing "
              f"{a['smearing']:.4g} THz on the MD grid ({a['smearing_rule']}), principal values broadened by "
              f"{a['epsilon']:.4g} THz",
              f"modes compared: widths {int(ok.sum())} of {ok.size} (a clean MD fit and a three-phonon decay on the MD "
              f"grid), shifts {a['n_modes_shift_compared']} (an MD peak with its position: fit ok or narrower than "
              "the resolution)"
              + (f"; {a['n_modes_without_decay']} have no three-phonon decay within the smearing on this grid"
                 if a["n_modes_without_decay"] else "")]
    if ok.any():
        bulk = ""
        if "pt_fwhm_bulk" in ds:
            mesh = "x".join(map(str, a["bulk_mesh"]))
            live = ds["frequency_harmonic"].values > 1e-3
            bulk = (f"{_number(a['median_fwhm_ratio_bulk'], '.3f')}, 16-84 % "
                    f"{_number(a['fwhm_ratio_bulk_p16'], '.3f')}-{_number(a['fwhm_ratio_bulk_p84'], '.3f')} against "
                    f"the bulk {mesh} mesh ({a['bulk_method']}; numerical uncertainty median "
                    f"{_number(np.median(ds['pt_fwhm_bulk_err'].values[live]), '.4f')} THz); ")
        lines.append(f"MD FWHM / three-phonon FWHM: median {bulk}{a['median_fwhm_ratio']:.3f}, 16-84 % "
                     f"{a['fwhm_ratio_p16']:.3f}-{a['fwhm_ratio_p84']:.3f} on the MD grid (depends on the smearing)")
    else:
        run = _run_words(a)
        lines.append("no mode has a clean MD fit: no widths to compare (MD fit statuses: " + _statuses(ds)
                     + (f"; the run: {run}" if run else "") + "; lines narrower than the resolution need a longer run, "
                     "see `trajmodes project --full`)")
    if a["n_modes_no_channel"]:
        lines.append(f"{a['n_modes_no_channel']} modes have no three-phonon channel within 2 sigma on the MD grid: "
                     "their MD widths come from beyond three-phonon scattering in this cell")
    what = ("Delta(nu0) - Delta(0): effective constants hold the static bubble" if effective
            else "Delta(nu0): static constants")
    placed = ds["md_placed"].values.astype(bool)
    if placed.any() and np.isfinite(a["median_shift_md"]):
        lines.append(f"shifts at the harmonic frequency ({what}; on {a['shift_source']}): median MD peak "
                     f"{a['median_shift_md']:+.4f}, predicted {_number(a['median_pt_shift'], '+.4f')} THz; median "
                     f"|MD - predicted| {_number(a['median_abs_shift_residual'], '.4f')} THz"
                     + (f" (MD grid {_number(a['median_abs_shift_residual_grid'], '.4f')})"
                        if a["shift_source"] != "the MD grid" else "")
                     + (f" (with the full bubble {_number(a['median_abs_shift_residual_bubble'], '.4f')})"
                        if effective else ""))
    else:
        live = ds["frequency_harmonic"].values > 1e-3
        predicted = ds["pt_shift"].values[live]
        predicted = predicted[np.isfinite(predicted)]
        lines.append(f"shifts at the harmonic frequency ({what}; on {a['shift_source']}): {_no_md_peak(ds)}; "
                     + (f"theory predicts a median {float(np.median(predicted)):+.4f} THz over the {predicted.size} "
                        "modes" if predicted.size else "no prediction either"))
    lines += _levels_table(ds)
    k = {v: np.trace(ds[v].values) / 3 for v in ("kappa_md", "kappa_md_err", "kappa_pt")}
    md_kappa = (f"MD lifetimes {_number(k['kappa_md'], '.3f')} +- {_number(k['kappa_md_err'], '.3f')}"
                if a["kappa_md_missing_share"] < 1 and np.isfinite(k["kappa_md"]) else "no MD lifetime (no clean MD line)")
    lines.append(f"diagnostic only, not the crystal's conductivity (`trajmodes anharmonic` gives that): RTA sums over "
                 f"the MD cell's {a['n_qpoints']} q-points, {md_kappa} against three-phonon "
                 f"{_number(k['kappa_pt'], '.3f')} W/(m K) (trace/3); modes without an MD lifetime carry "
                 f"{100 * a['kappa_md_missing_share']:.1f} % of sum C v^2, without a three-phonon decay "
                 f"{100 * a['kappa_pt_missing_share']:.1f} %")
    if a["kappa_md_missing_share"] > 0.1:
        lines.append(f"warning: {100 * a['kappa_md_missing_share']:.0f} % of sum C v^2 is in modes without a clean MD "
                     "lifetime: the MD conductivity leaves them out (a lower bound); a longer run resolves more lines")
    return lines


def _number(x, spec: str, width: int = 0, none: str = "n/a") -> str:
    """``x`` formatted by ``spec``, or ``none`` (right-aligned to ``width``) where it is not a finite number: a table
    never prints nan."""
    import math
    x = float(x)
    sign, rest = (spec[0], spec[1:]) if spec[:1] in "+- " else ("", spec)
    return format(x, f">{sign}{width or ''}{rest}") if math.isfinite(x) else none.rjust(width)


def _statuses(ds) -> str:
    """The MD fit statuses and how many modes have each: '90 too short, 6 zero-frequency mode'."""
    import numpy as np
    names, counts = np.unique(ds["md_status"].values, return_counts=True)
    return ", ".join(f"{n} {s}" for s, n in zip(names, counts))


def _run_words(a) -> str:
    """The run the MD spectra were made of, from the comparison's attributes: '20 frames, 0.2 ps, spectral
    resolution 5 THz' ('' where the mode file does not say)."""
    if "md_frames" not in a:
        return ""
    return (f"{int(a['md_frames'])} frames"
            + (f", {float(a['md_duration_ps']):.3g} ps" if "md_duration_ps" in a else "")
            + (f", spectral resolution {float(a['md_resolution_thz']):.3g} THz" if "md_resolution_thz" in a else ""))


def _no_md_peak(ds) -> str:
    """Why there is no MD number to print, in words: 'no MD peak resolved (run too short: 20 frames, ...)' where the
    spectral resolution is coarser than a twentieth of the highest frequency, else with the MD fit statuses."""
    import numpy as np
    a = ds.attrs
    run = _run_words(a)
    coarse = float(a.get("md_resolution_thz", 0.0)) > 0.05 * float(np.nanmax(ds["frequency_harmonic"].values))
    return ("no MD peak resolved (" + (f"run too short: {run}" if run and coarse else f"MD fit statuses: "
                                       f"{_statuses(ds)}" + (f"; {run}" if run else "")) + ")")


def _levels_table(ds) -> list[str]:
    """MD beside every level of theory: median peak shift, centre shift and FWHM over the compared modes, and the
    fraction of the MD's each level explains."""
    import numpy as np
    a = ds.attrs
    f0 = ds["frequency_harmonic"].values
    placed = ds["md_placed"].values.astype(bool)                  # the modes the comparison itself measured over
    centred = ds["md_centre_placed"].values.astype(bool)
    ok = (ds["md_status"].values == "ok") & (f0 > 1e-3)

    def med(x, mask):
        x = np.asarray(x, float)[mask]
        x = x[np.isfinite(x)]
        return float(np.median(x)) if x.size else float("nan")
    names = {"effective": "effective frequency (fc2 of the run)", "static": "static (0 K) frequency",
             "three-phonon": "three-phonon, " + ("Delta(nu) - Delta(0)" if a["constants"] == "effective"
                                                  else "Delta(nu)"),
             "three- and four-phonon": "+ four-phonon widths" + ("" if a["constants"] == "effective" else
                                                                 " and the quartic loop")}
    head = (f"{'medians (THz) over the compared modes':<40} {'peak shift':>10} {'centre shift':>12} {'FWHM':>8}"
            f"   {'explains of MD: peak':>20} {'centre':>6} {'FWHM':>5}")
    base = "effective" if a["constants"] == "effective" else "static (0 K)"
    if not (placed.any() or centred.any() or ok.any()):
        return ["levels of theory side by side with MD: none to compare, no MD line resolved"]
    rows = [f"side by side (peak: maximum of the line; centre: its damped-oscillator fit; both from the {base} "
            f"frequency; MD {a['md_peak_model']} peak, {a['md_centre_model']} centre; n/a: no MD line of that kind "
            "resolved):", head,
            f"{'MD':<40} {_number(med(ds['md_shift'], placed), '+.4f', 10)} "
            f"{_number(med(ds['md_centre_shift'], centred), '+.4f', 12)} {_number(med(ds['md_fwhm'], ok), '.4f', 8)}"]
    for i, lev in enumerate(ds["level"].values):
        rows.append(f"{names.get(str(lev), str(lev)):<40} {_number(med(ds['level_peak'][i] - f0, placed), '+.4f', 10)} "
                    f"{_number(med(ds['level_centre'][i] - f0, centred), '+.4f', 12)} "
                    f"{_number(med(ds['level_fwhm'][i], ok), '.4f', 8)}"
                    f"   {_number(ds['explained_peak_shift'][i], '.2f', 20)} "
                    f"{_number(ds['explained_centre_shift'][i], '.2f', 6)} {_number(ds['explained_fwhm'][i], '.2f', 5)}")
    if "pt_shift_loop" in ds:
        rows.append(f"quartic loop shift: median {_number(med(ds['pt_shift_loop'], placed), '+.4f')} THz ("
                    + ("frequency-independent, in the effective constants already: not added" if a["constants"] ==
                       "effective" else "added in the last level") + f"); four-phonon sums: {a['four_phonon']}")
    last = len(ds["level"]) - 1
    fr = {k: float(ds[f"explained_{k}"][last]) for k in ("peak_shift", "centre_shift", "fwhm")}
    known = [v for v in fr.values() if np.isfinite(v)]
    if known and min(known) < 0.5:
        pct = {k: f"{100 * v:.0f} %" if np.isfinite(v) else "n/a" for k, v in fr.items()}
        rows.append(f"perturbation theory ({names.get(str(ds['level'].values[last]))}) explains "
                    f"{pct['peak_shift']} of the MD peak shifts, {pct['centre_shift']} of the centre shifts and "
                    f"{pct['fwhm']} of the widths: the rest is beyond it (higher orders, the lines' own widths in the "
                    "final states)")
    return rows


def add_anharmonic_parser(add) -> None:
    """The parser of ``trajmodes anharmonic`` (``add``: the command adder of :func:`trajmodes.cli.app.build_parser`)."""
    from trajmodes.cli.options import THREE_PHONON_MESH, add_cluster_options, add_plot_format, mesh, temperatures, width_or_adaptive
    pa = add("anharmonic", cmd_anharmonic, "three-phonon linewidths, lifetimes, frequency shifts and the thermal "
                                           "conductivity (RTA or LBTE) of force constants with a third-order part",
             example="trajmodes anharmonic cu_fc3/fc.nc --mesh 8 --temperatures 300,600 --smearing 0.1 -o cu-anh")
    pa.add_argument("fc", metavar="FC_PATH", help="force constants with fc3: a trajmodes .nc file (trajmodes fit "
                                                  "--cutoff3) or a phono3py folder (fc2.hdf5 + fc3.hdf5)")
    pa.add_argument("--mesh", type=mesh, default=[THREE_PHONON_MESH] * 3,
                    help=f"q mesh: N or N1,N2,N3 (default {THREE_PHONON_MESH}; the triplets cost ~N^6)")
    pa.add_argument("--temperatures", type=temperatures,
                    help="TMIN:TMAX:STEP (TMAX included) or T1,T2,... in K (default: the temperature of effective "
                         "constants, which trajmodes fit writes into fc.nc; 300 for other constants)")
    pa.add_argument("--occupation", choices=["quantum", "classical"], default="quantum",
                    help="phonon occupations: quantum (Bose-Einstein; default) or classical (k_B T / h nu, as in "
                         "classical MD)")
    pa.add_argument("--smearing", type=width_or_adaptive,
                    help="Gaussian smearing of the delta functions in THz, or 'adaptive' (each Gaussian as wide as its "
                         "modes' frequencies change across a cell of the mesh, from their group velocities; TDEP's "
                         "default) (default: the tetrahedron method)")
    pa.add_argument("--method", choices=["rta", "lbte"], default="rta",
                    help="conductivity: rta (relaxation-time approximation; default, with the bubble frequency "
                         "shifts) or lbte (direct solution of the linearised Boltzmann equation, Chaput 2013; "
                         "the RTA comes alongside; no shifts)")
    pa.add_argument("--four-phonon", dest="four_phonon", type=width_or_adaptive, metavar="SIGMA",
                    help="add four-phonon scattering from the constants' fourth order (trajmodes fit --cutoff4), "
                         "Gaussian delta functions of this standard deviation in THz, or 'adaptive' (with "
                         "--smearing adaptive) (with --method lbte: its widths on the diagonal of the collision "
                         "matrix, its scattering-in off it) (default: three-phonon only)")
    pa.add_argument("--four-phonon-sample", dest="four_phonon_sample", type=mesh, metavar="N1,N2,N3",
                    help="with --four-phonon: Monte Carlo sums over two stratified samples of the mesh with this many "
                         "cells per axis, drawn for every q (TDEP's -qg4ph); default: every pair of the mesh")
    pa.add_argument("--seed", type=int, help="with --four-phonon-sample: seed of the random draws (reproducible "
                                             "widths) (default: fresh draws every run)")
    pa.add_argument("--isotopes", action="store_true",
                    help="add isotope (mass-variance) scattering of the natural abundances (Tamura 1983)")
    pa.add_argument("--coherences", action="store_true",
                    help="add the coherences' conductivity of the Wigner transport equation (Simoncelli, Marzari and "
                         "Mauri 2019) from the same widths, beside its populations' (RTA) term")
    add_phono3py_options(pa)
    add_allow_unstable(pa)
    add_committee_option(pa)
    pa.add_argument("-o", "--output", default="trajmodes-anharmonic", help="output folder (default "
                                                                            "trajmodes-anharmonic): anharmonic.nc and "
                                                                            "the figure anharmonic.png")
    add_plot_format(pa)
    add_cluster_options(pa)                    # the q-points of the sums are Dask tasks of Anharmonic


def add_compare_parser(add) -> None:
    """The parser of ``trajmodes compare`` (``add``: the command adder of :func:`trajmodes.cli.app.build_parser`)."""
    from trajmodes.cli.options import add_cluster_options, add_plot_format, non_negative_int, positive
    pm = add("compare", cmd_compare, "MD linewidths, shifts, lineshapes and conductivity (the peak fits of "
                                      "`trajmodes project`) beside three-phonon theory from the run's fitted fc3",
             example="trajmodes compare cu_modes/modes.nc cu_fc3/fc.nc -o cu-compare")
    pm.add_argument("modes", metavar="MODES_NC", help="output of `trajmodes project` on the MD run")
    pm.add_argument("fc", metavar="FC_PATH", help="fc2 + fc3 fitted to the same run (trajmodes fit --cutoff3)")
    pm.add_argument("--smearing", type=positive, help="Gaussian smearing in THz (default: from the theory's own "
                    "widths, the median three-phonon half width on the bulk mesh)")
    pm.add_argument("--temperature", type=positive, help="K (default: the run's kinetic temperature)")
    pm.add_argument("--constants", choices=["effective", "static"], default="effective",
                    help="what FC_PATH holds: effective constants fitted to the run (default; the predicted shift is "
                         "Delta(nu0) - Delta(0), their static bubble being in them already) or 0 K constants "
                         "(Delta(nu0))")
    pm.add_argument("--bulk-points", type=non_negative_int, default=30000,
                    help="q-points of the converged bulk mesh the three-phonon widths are also computed on "
                         "(default 30000, about 32^3; 0: none)")
    add_allow_unstable(pm)
    pm.add_argument("-o", "--output", default="trajmodes-compare", help="output folder (default trajmodes-compare): "
                                                                          "comparison.nc and the figure comparison.png")
    add_plot_format(pm)
    add_cluster_options(pm)
