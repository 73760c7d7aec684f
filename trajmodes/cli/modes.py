"""``trajmodes project`` and ``trajmodes lifetimes``: the phonon modes of an MD run, as tables and figures."""
from __future__ import annotations

import os
import time

from trajmodes.cli.options import (input_files, output_file, positive, positive_int, qpoint_tokens, read_settings,
                                   read_trajectory, stem, step)


def add_project_qpoints(parser) -> None:
    """The options of ``trajmodes project`` that choose its q-points (at most one; default every q commensurate with
    the MD cell): spelled as ``trajmodes sqw``'s --path and --qpoints, |q| in rad/Å as its --powder."""
    qsel = parser.add_mutually_exclusive_group()
    qsel.add_argument("--path", help="band path as special-point letters, pieces split by '|', e.g. GXKGL: every q on "
                                     "it commensurate with the MD cell (default: every commensurate q)")
    qsel.add_argument("--qpoints", nargs="+", metavar="Q",
                      help="reduced q-points of the primitive cell, commensurate with the MD cell: 'h k l h k l ...' "
                           "or 'h,k,l;h,k,l' (default: every commensurate q)")
    qsel.add_argument("--q-max", type=positive, metavar="QMAX",
                      help="every commensurate q with |q| <= QMAX rad/A (2 pi included, as sqw --powder) "
                           "(default: every commensurate q)")
    qsel.add_argument("--q-count", type=positive_int, metavar="N",
                      help="the commensurate q of smallest |q|, whole |q| shells until at least N (default: every "
                           "commensurate q)")



def modes_table(ds) -> str:
    """Per-q/branch table of a ``trajmodes project`` dataset."""
    import numpy as np
    H = ds["frequency_harmonic"].values
    q = ds.qpoint.values
    g = {k: ds[f"peak_{k}"].values for k in ("frequency", "frequency_err", "shift", "fwhm", "fwhm_err",
                                            "lifetime", "status")}
    eq = ds["equipartition"].values
    star = ds["star"].values if "star" in ds.coords else np.arange(len(q))
    rows = [f"{'q':>4} {'q (reduced)':>22} {'star':>4} {'br':>2} {'harm':>8} {'nu':>8} {'+-':>6} {'shift':>7} "
            f"{'FWHM':>7} {'+-':>6} {'tau ps':>7} {'E/kT':>6}  status"]
    bound = resolution_bounds(ds)
    for iq in range(len(q)):
        for ib in range(H.shape[1]):
            if str(g["status"][iq, ib]) == NARROW and bound is not None:
                # a line narrower than the run resolves: its bounds, not the fit's ill-determined width
                width = f"{bound[0]:>7} {'':>6} {bound[1]:>7}"
            else:
                width = (f"{g['fwhm'][iq, ib]:7.4f} {g['fwhm_err'][iq, ib]:6.4f} "
                         f"{g['lifetime'][iq, ib]:7.3f}")
            rows.append(f"{iq:>4} {str(np.round(q[iq], 4).tolist()) if ib == 0 else '':>22} "
                        f"{int(star[iq]) if ib == 0 else '':>4} {ib:>2} {H[iq, ib]:8.4f} "
                        f"{g['frequency'][iq, ib]:8.4f} {g['frequency_err'][iq, ib]:6.4f} {g['shift'][iq, ib]:+7.4f} "
                        f"{width} {eq[iq, ib]:6.3f}  {g['status'][iq, ib]}")
    return "\n".join(rows + _modes_footer(ds))


#: the fit status of a line narrower than the run's spectra resolve (:func:`trajmodes.fit_peaks`)
NARROW = "width below resolution"


def resolution_bounds(ds):
    """What a line narrower than the run resolves is known to be, as printed: ("<W", ">X") with W the spectra's
    resolution (their equivalent noise bandwidth, THz) and X = 1 / (2 pi W) ps; None where the dataset does not say
    its resolution."""
    import math
    w = float(ds.attrs.get("spectra_enbw_thz", float("nan")))
    if not (math.isfinite(w) and w > 0):
        return None
    return f"<{w:.4f}", f">{1.0 / (2.0 * math.pi * w):.3g}"


def _modes_footer(ds) -> list[str]:
    """The closing lines of the mode table and summary: fits, equipartition, conventions."""
    import numpy as np
    st = ds["peak_status"].values.astype(str)
    eq = ds["equipartition"].values
    ok = st == "ok"
    nt = ~ds["translation"].values
    real = nt & np.isfinite(eq)
    T = f"(T = {ds.attrs.get('temperature', float('nan')):.2f} K, {ds.attrs.get('temperature_source', '')})"
    energy = (f"equipartition <E>/(k_B T) over the non-translation modes with real harmonic frequencies: mean "
              f"{np.mean(eq[real]):.4f}, min {np.min(eq[real]):.4f}, max {np.max(eq[real]):.4f} {T}; <PE>/<KE> mean "
              f"{np.mean(ds['potential'].values[real] / ds['kinetic'].values[real]):.4f}" if real.any() else
              f"no equipartition ratio: no mode with a real harmonic frequency {T}")
    return _unstable_lines(ds) + [f"{int(ok.sum())} of {ok.size} modes 'ok'; {energy}",
            f"FWHM and lifetime convention: {ds.attrs.get('peak_convention', '')}; peaks fitted with the "
            + _models_used(ds)
            + (", averaged over degenerate branches and the star of q" if ds.attrs.get("star_averaged") else
               ", averaged over degenerate branches")]


def _models_used(ds) -> str:
    """Which line shapes the fits used: the model, or for a comparison of models how many modes each won."""
    import collections
    name = str(ds.attrs.get("peak_model", ""))
    if "peak_line_model" not in ds or ("," not in name and name != "auto"):
        return f"{name} model"
    used = collections.Counter(str(m) for m in ds["peak_line_model"].values.ravel() if str(m))
    counts = ", ".join(f"{m} {n}" for m, n in sorted(used.items()))
    return f"more likely line shape per mode ({name}: {counts} modes; peak_line_model)"


def _unstable_lines(ds) -> list[str]:
    """What the summary says about modes whose harmonic frequency is imaginary (unstable force constants): how many,
    where, and what to do; [] when there are none."""
    import numpy as np
    from trajmodes.workflows.modes import peak_statuses
    status = peak_statuses()
    st = ds["peak_status"].values.astype(str)
    bad = st == status.unstable
    if not bad.any():
        return []
    H = ds["frequency_harmonic"].values
    q = ds.qpoint.values
    star = ds["star"].values if "star" in ds.coords else np.arange(len(q))
    where, seen = [], set()
    for iq, ib in zip(*np.nonzero(bad)):
        if (star[iq], ib) not in seen:
            seen.add((star[iq], ib))
            where.append(f"q {np.round(q[iq], 3).tolist()} branch {ib} ({H[iq, ib]:.2f} THz)")
    shown = "; ".join(where[:4]) + (f"; and {len(where) - 4} more stars" if len(where) > 4 else "")
    fc = ds.attrs.get("force_constants", "these force constants")
    return [f"UNSTABLE: {int(bad.sum())} modes ({len(seen)} stars of q and branches; branches "
            f"{', '.join(map(str, sorted({int(b) for b in np.nonzero(bad)[1]})))}) have imaginary harmonic frequencies "
            f"in {fc}, down to {float(np.min(H[bad])):.2f} THz: {shown}. Their projected spectra are the run's, but a "
            f"shift from an imaginary frequency and the energy 1/2 w^2 |Q|^2 mean nothing: shift, potential and "
            f"total energy and equipartition are NaN, status '{status.unstable}'. Where the run's crystal is stable "
            "(bcc Zr or Ti at high temperature: stabilised by anharmonicity), project onto the run's own effective "
            "constants "
            "instead: trajmodes fit RUN --reference REF -o fit, then trajmodes project ... --force-constants "
            "fit/fc.nc."]


#: a Welch estimate resolves a line of FWHM G with segments of 2/G ps; 8 half-overlapping ones take 9/G ps
RUN_PS_PER_INVERSE_FWHM = 9.0


def spectra_span_ps(attrs) -> float:
    """The stretch of the run (ps) the spectra of a ``trajmodes project`` dataset cover: one segment plus a hop per
    further segment (Welch segments overlap; a full-resolution spectrum is one segment of the whole run)."""
    seg = float(attrs.get("spectra_segment_length_ps", float("nan")))
    n = max(int(attrs.get("spectra_n_segments", 1)), 1)
    hop = float(attrs.get("spectra_hop_ps", seg))
    return seg + (n - 1) * hop


def modes_summary(ds) -> str:
    """Per-branch summary of a ``trajmodes project`` dataset: how many modes were resolved, flagged and why,
    median shift and FWHM, and the run length the measured lines would need."""
    import numpy as np
    from trajmodes.workflows.modes import peak_statuses
    status = peak_statuses()
    st = ds["peak_status"].values.astype(str)
    shift, fwhm = ds["peak_shift"].values, ds["peak_fwhm"].values
    H = ds["frequency_harmonic"].values
    trans = ds["translation"].values if "translation" in ds else np.zeros(st.shape, bool)
    bound = resolution_bounds(ds)
    rows = [f"{'branch':>6} {'modes':>5} {'ok':>4} {'narrow':>6} {'aliased':>7} {'unstable':>8} {'failed':>6} "
            f"{'other':>5} {'harm (THz)':>14} {'shift med':>9} {'FWHM med':>8} {'tau med':>8}  (fit status per branch; "
            "narrow: width below resolution, its FWHM and lifetime bounds from the resolution where no line is "
            "measured; unstable: imaginary harmonic frequency; failed: collapsed or unconstrained, no values; "
            "--table for every mode)"]
    for b in range(st.shape[1]):
        keep = ~trans[:, b]
        s = st[keep, b]
        ok = s == "ok"
        narrow = s == "width below resolution"
        aliased = np.char.startswith(s, "above Nyquist")
        unstable = s == status.unstable
        failed = np.isin(s, [status.collapsed, status.unconstrained])
        h = H[keep, b]
        # a narrow line's position is measured (its width is not): its shift counts
        placed = ok | narrow
        med_shift = f"{np.nanmedian(shift[keep, b][placed]):+9.4f}" if placed.any() else f"{'-':>9}"
        if ok.any():
            g_med = float(np.nanmedian(fwhm[keep, b][ok]))
            med_fwhm, med_tau = f"{g_med:8.4f}", f"{1.0 / (2 * np.pi * g_med):8.3g}"
        elif narrow.any() and bound is not None:          # every line narrower than the run resolves: the bounds
            med_fwhm, med_tau = f"{bound[0]:>8}", f"{bound[1]:>8}"
        else:
            med_fwhm, med_tau = f"{'-':>8}", f"{'-':>8}"
        rows.append(f"{b:>6} {len(s):>5} {int(ok.sum()):>4} {int(narrow.sum()):>6} {int(aliased.sum()):>7} "
                    f"{int(unstable.sum()):>8} {int(failed.sum()):>6} "
                    f"{int((~ok & ~narrow & ~aliased & ~unstable & ~failed).sum()):>5} {h.min():6.2f}..{h.max():6.2f} "
                    f"{med_shift} {med_fwhm} {med_tau}")
    ok, narrow = st == "ok", st == "width below resolution"
    enbw = float(ds.attrs.get("spectra_enbw_thz", np.nan))
    T = spectra_span_ps(ds.attrs)
    lines = ["\n".join(rows)]
    if narrow.any():
        full = bool(int(ds.attrs.get("spectra_full", 0)))
        advice = (f"already one periodogram of the whole run (--full): only a longer run, about "
                  f"{RUN_PS_PER_INVERSE_FWHM / enbw:.0f} ps for lines this narrow, resolves them" if full else
                  f"at least {RUN_PS_PER_INVERSE_FWHM / enbw:.0f} ps for lines this narrow, or try --full (one "
                  "periodogram, resolution 1/T)")
        lines.append(f"{int(narrow.sum())} modes have lines narrower than this run resolves ({enbw:.4f} THz): FWHM "
                     f"{bound[0] if bound else '< resolution'} THz, lifetime {bound[1] if bound else '> 1/(2 pi FWHM)'} "
                     f"ps (printed so; their fitted widths are upper bounds). A line of FWHM G needs about {RUN_PS_PER_INVERSE_FWHM:g}/G ps (8 "
                     f"half-overlapping Welch segments of 2/G; this run's spectra span about {T:.0f} ps): {advice}.")
    failed = np.isin(st, [status.collapsed, status.unconstrained])
    if failed.any():
        lines.append(f"{int(failed.sum())} modes have no fitted line: the fit fell onto a noise spike "
                     f"('{status.collapsed}') or its error bars were wider than its window ('{status.unconstrained}'), "
                     "from every start and again over a wider window; their smoothed-spectrum estimate is in "
                     "peak_estimate_frequency and peak_estimate_fwhm. A longer run, or Welch spectra (without --full), "
                     "give less noisy spectra.")
    if ok.any():
        g = float(np.nanmin(fwhm[ok]))
        lines.append(f"narrowest measured line: FWHM {g:.4f} THz (needs about {RUN_PS_PER_INVERSE_FWHM / g:.0f} ps; "
                     f"this run's spectra span about {T:.0f} ps).")
    return "\n".join(lines + _modes_footer(ds))


def cmd_project(args, out) -> int:
    """Project a trajectory onto phonon modes: energies, spectra, peak fits in one netCDF, and the table."""
    from trajmodes.workflows.fit import fitted_temperature
    from trajmodes.workflows.modes import modes_dataset, project_modes
    from trajmodes.workflows.outputs import provenance, write_dataset
    t0 = time.perf_counter()
    traj = read_trajectory(args)
    if args.qpoints:
        try:
            qpoints = qpoint_tokens(args.qpoints)
        except ValueError as exc:
            raise ValueError(f"--qpoints: {exc}") from None
    else:
        qpoints = None
    ph, modes = project_modes(traj, args.force_constants, path=args.path, qpoints=qpoints, q_max=args.q_max,
                              count=args.q_count)
    with step(f"energies, spectra and peak fits of {modes.sizes['q'] * modes.sizes['branch']} modes"):
        ds = modes_dataset(modes, resolution=args.resolution, full=args.full, model=args.model,
                           star=not args.no_star, temperature=args.temperature, keep_q=args.keep_q, phonons=ph)
    ds.attrs.update(source=str(traj.source.describe()), force_constants=str(args.force_constants),
                    time_axis=traj.time_axis)
    fitted_at = fitted_temperature(args.force_constants)      # constants of `trajmodes fit`: effective frequencies
    ds.attrs.update(constants="harmonic" if fitted_at is None else "effective",
                    **({} if fitted_at is None else {"fitted_temperature": fitted_at}))
    prov = provenance(input_files(traj, args) + [args.force_constants],
                      dict(read_settings(args, traj), resolution=args.resolution, full=args.full,
                           model=args.model, star=not args.no_star, frames=traj.n_frames, path=args.path,
                           qpoints=args.qpoints, q_max=args.q_max, q_count=args.q_count),
                      temperature=ds.attrs.get("temperature"))
    target = output_file(args, "modes.nc")
    write_dataset(ds, target, out, prov)
    print(modes_table(ds) if args.table else modes_summary(ds))
    print(f"{traj.n_frames} frames x {modes.sizes['q']} q x {modes.sizes['branch']} branches; spectra "
          f"{'full resolution' if args.full else 'Welch'} ({ds.attrs['spectra_resolution_thz']:.4f} THz bins, "
          f"{ds.attrs['spectra_n_segments']} segment(s)); time axis: {traj.time_axis}; wrote {target} in "
          f"{time.perf_counter() - t0:.2f} s")
    return 0


def _parse_modes(text, nq, nb):
    out = []
    for item in text.split(","):
        try:
            a, b = item.split(":")
            iq, ib = int(a), int(b)
        except ValueError:
            raise ValueError(f"--modes takes q:branch pairs (q index, branch index) separated by commas, "
                             f"not {item!r}") from None
        if not (0 <= iq < nq and 0 <= ib < nb):
            raise ValueError(f"mode {item!r} out of range: q index 0..{nq - 1}, branch 0..{nb - 1}")
        out.append((iq, ib))
    return out


def _default_modes(ds):
    """A representative grid of up to 9 modes for the fits figure, and the line that says which: the lowest, a middle
    and the highest branch, each at a soft, a middle and a stiff q (the stars ordered by their lowest branch's
    frequency, Gamma left out, in three tiers), a fitted mode of each tier where there is one, else the tier's middle
    mode whatever its fit (drawn with its status); a mode degenerate with one already drawn at its q is passed over. It was the first stars' highest branch with a fitted line, and
    one mode where none had one: 1 of 1,944 modes."""
    import numpy as np
    st = ds["peak_status"].values.astype(str)
    nu = ds["frequency_harmonic"].values
    nq, nb = st.shape
    star = ds["star"].values if "star" in ds.coords else np.arange(nq)
    _, first = np.unique(star, return_index=True)
    first = np.sort(first)
    moving = [int(i) for i in first if np.isfinite(nu[i, 0]) and nu[i, 0] > 1e-3] or [int(i) for i in first]
    order = sorted(moving, key=lambda i: float(np.nan_to_num(nu[i, 0])))
    tiers = [t for t in np.array_split(np.asarray(order), min(3, len(order))) if len(t)]
    branches = list(dict.fromkeys([nb - 1, nb // 2, 0]))
    picked, fitted = [], 0
    for ib in branches:
        for tier in tiers:
            mid = sorted((int(i) for i in tier), key=lambda i: abs(list(tier).index(i) - len(tier) // 2))
            # a fitted mode first, the tier's middle first; never one degenerate with a mode already drawn at its q
            for iq in sorted(mid, key=lambda i: st[i, ib] != "ok"):
                if not any(j == iq and abs(nu[j, b] - nu[iq, ib]) < 1e-4 for j, b in picked):
                    picked.append((iq, ib))
                    fitted += st[iq, ib] == "ok"
                    break
    names = {nb - 1: "highest", nb // 2: "middle", 0: "lowest"}
    line = (f"fits figure: {len(picked)} of {nq * nb} modes, the {', '.join(names[b] for b in branches)} branch at "
            f"{len(tiers)} q-points from soft to stiff ({fitted} with a fitted line; the others drawn with their "
            f"status): " + ", ".join(f"{iq}:{ib}" for iq, ib in picked) + " (q index:branch; --modes to choose)")
    return picked, line


def cmd_lifetimes(args, out) -> int:
    """Read a ``trajmodes project`` file back: the table and, with --plot, the figures."""
    from trajmodes.plots import plot_linewidth_dispersion, plot_mode_fits, plot_sed
    from trajmodes.workflows.modes import lifetimes_dataset, path_bands
    ds = lifetimes_dataset(args.modes_file)
    print(modes_table(ds) if args.table else modes_summary(ds))
    if args.plot:
        folder = args.output or os.path.dirname(os.path.abspath(args.modes_file))
        if os.path.isfile(folder):
            raise ValueError(f"-o {folder} is a file: -o names the folder the figures go into")
        prefix = os.path.join(folder, os.path.basename(stem(args.modes_file)))
        nq, nb = ds["peak_frequency"].shape
        if args.modes:
            chosen = _parse_modes(args.modes, nq, nb)
        else:
            chosen, line = _default_modes(ds)
            print(line)
        title = os.path.basename(str(ds.attrs.get("source", args.modes_file)))
        figs = [f"{prefix}_fits.{args.plot_format}", f"{prefix}_dispersion.{args.plot_format}",
                f"{prefix}_sed.{args.plot_format}"]
        plot_mode_fits(ds, chosen, out(figs[0]), title=title)
        path = path_bands(ds, args.force_constants)
        if path.note:
            print(f"dispersion plot: {path.note}")
        plot_linewidth_dispersion(ds, out(figs[1]), title=title, bands=path.bands, rotations=path.rotations,
                                  note=path.note)
        plot_sed(ds, out(figs[2]), title=title, bands=path.bands, rotations=path.rotations, note=path.note)
        print(f"wrote {', '.join(figs)}")
    return 0


def add_project_parser(add) -> None:
    """The parser of ``trajmodes project`` (``add``: the command adder of :func:`trajmodes.cli.app.build_parser`)."""
    from trajmodes.cli.options import add_read_options
    pj = add("project", cmd_project, "project an MD trajectory onto phonon modes: mode energies, spectra, peak "
                                     "frequencies, linewidths and lifetimes in one netCDF",
             example="trajmodes project examples/md/cu_300K.lammpstrj.gz --reference examples/md/cu_300K.data "
                     "--force-constants cu_fc3/fc.nc --full -o cu_modes")
    add_read_options(pj)
    pj.add_argument("--force-constants", required=True, help="force constants: phonopy folder/file or trajmodes .nc")
    add_project_qpoints(pj)
    from trajmodes.workflows.modes import DEFAULT_PEAK_MODEL, DEFAULT_RESOLUTION, PEAK_MODELS
    pj.add_argument("--resolution", type=positive,
                    help=f"Welch frequency bin in THz (default {DEFAULT_RESOLUTION:g}, as mode_spectra, or the run's "
                         f"own 1/T where it is shorter than 1/{DEFAULT_RESOLUTION:g} ps)")
    pj.add_argument("--full", action="store_true", help="one periodogram over the whole run (resolution 1/T)")
    pj.add_argument("--model", choices=PEAK_MODELS, default=DEFAULT_PEAK_MODEL,
                    help=f"peak model (default {DEFAULT_PEAK_MODEL}: Lorentzian and damped oscillator, the more likely "
                         "per mode); *_windowed: the expected windowed periodogram of the line, for FWHM near the "
                         "resolution")
    pj.add_argument("--no-star", action="store_true", help="do not average the spectra over the star of q")
    pj.add_argument("--temperature", type=positive, help="K, for the equipartition ratio (default: kinetic)")
    pj.add_argument("--keep-q", action="store_true", help="also store the Q and Qdot time series (real/imag)")
    pj.add_argument("-o", "--output", default="trajmodes-project", help="output folder (default trajmodes-project): "
                                                                        "modes.nc")
    pj.add_argument("--table", action="store_true", help="print every mode (q, branch), not the per-branch summary")


def add_lifetimes_parser(add) -> None:
    """The parser of ``trajmodes lifetimes`` (``add``: the command adder of :func:`trajmodes.cli.app.build_parser`)."""
    from trajmodes.cli.options import add_plot_format
    pl = add("lifetimes", cmd_lifetimes, "table and plots of a 'trajmodes project' file",
             example="trajmodes lifetimes cu_modes/modes.nc --plot")
    pl.add_argument("modes_file", metavar="MODES_NC", help="the modes.nc that trajmodes project wrote")
    pl.add_argument("--plot", action="store_true", help="spectra with fits, dispersion with FWHM bars, SED map")
    pl.add_argument("--table", action="store_true", help="print every mode (q, branch), not the per-branch summary")
    pl.add_argument("--modes", help="modes to plot with their fit: q:branch,... (q index as in the table) "
                                    "(default: none)")
    pl.add_argument("-o", "--output", help="output folder of the figures (default: the folder of MODES_NC): "
                                           "with --plot STEM_fits.png, STEM_dispersion.png and "
                                           "STEM_sed.png, STEM the name of MODES_NC")
    pl.add_argument("--force-constants", help="for a file without its band path (written by modes_dataset without "
                                              "phonons): the force constants to draw it from (default: the path in "
                                              "the file)")
    add_plot_format(pl)
