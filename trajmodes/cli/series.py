"""``trajmodes series``: many MD runs (temperatures, volumes) fitted into one dataset with error bars, the free
energy, the split of every shift into its volume and intrinsic parts, and the figures."""
from __future__ import annotations

import os
import time

from trajmodes.cli.options import (error_model_line, frequency_cells, output_file, qpoint_tokens,
                                   refuse_repeated_files, step)


def _per_run(values, n: int, what: str, one_for_all: bool = True) -> list:
    """One value per run: ``values`` of length n, or one value for all (where ``one_for_all``), or None."""
    if not values:
        return [None] * n
    if len(values) == 1 and one_for_all:
        return list(values) * n
    if len(values) != n:
        raise ValueError(f"give one {what} per run ({n} runs)" + (" or one for all" if one_for_all else "")
                         + f", not {len(values)}" + ("" if one_for_all else f": {' '.join(map(str, values))}"))
    return list(values)


def _beside(path: str) -> str | None:
    """A LAMMPS data file beside a dump with the dump's stem (``run.lammpstrj.gz`` -> ``run.data``)."""
    base = os.path.basename(path)
    for ext in (".gz", ".lammpstrj", ".dump", ".xyz", ".extxyz"):
        if base.endswith(ext):
            base = base[: -len(ext)]
    cand = os.path.join(os.path.dirname(path), base + ".data")
    return cand if os.path.isfile(cand) else None


def distinct_names(paths) -> list[str]:
    """The shortest tails of ``paths`` that tell the runs apart: ``nvt/zr.lammpstrj`` and ``nve/zr.lammpstrj`` for
    two runs of one file name, the file names alone when they differ; a run given twice is numbered."""
    parts = [os.path.normpath(os.path.abspath(str(p))).split(os.sep) for p in paths]
    longest = max(len(x) for x in parts)
    for k in range(1, longest + 1):
        names = ["/".join(x[-k:]) for x in parts]
        if len(set(names)) == len(names):
            return names
    seen: dict[str, int] = {}
    out = []
    for n in (str(p) for p in paths):
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n} (#{seen[n]})")
    return out


def cmd_series(args, out) -> int:
    """Fit every run, gather one dataset, write it with its figures and print a table."""
    from trajmodes.plots.series import plot_series, plot_shift_split
    from trajmodes.workflows.outputs import provenance, write_dataset
    from trajmodes.workflows.reading import open_run
    from trajmodes.workflows.series import series_of_runs
    t0 = time.perf_counter()
    runs = list(args.files)
    refuse_repeated_files(runs)
    refs = _per_run(args.references, len(runs), "reference")
    # runs of one series are of different temperatures or volumes: one temperature for all would label them alike
    temps = _per_run(args.temperatures, len(runs), "temperature (--run-temperatures)", one_for_all=False)
    thermo = _per_run(args.thermo, len(runs), "thermo log")
    species = args.species.split(",") if args.species else None
    trajs, temps, beads = [], list(temps), {}
    for i, (path, ref, log) in enumerate(zip(runs, refs, thermo)):
        ref = ref or _beside(path)
        kw = dict(thermo=log) if log else {}
        opened = open_run(path, reference=ref, temperature=temps[i], format=args.format, units=args.units,
                          lj_scales=args.lj_scales, species=species, masses=args.masses, chunk_frames=args.chunk_frames,
                          energy_column=args.energy_column, stress_columns=args.stress_columns,
                          md_timestep=args.md_timestep, frame_interval=args.frame_interval, topology=args.topology,
                          **kw)
        pi = opened.ring
        if pi is not None:
            # the quantum ensemble's effective constants beside the classical runs' (the same potential both ways)
            print(f"{os.path.basename(path)}: {pi.describe()}: fitted over its {pi.n_beads} beads (the quantum "
                  "ensemble)", flush=True)
            trajs.append(pi.pooled)
            temps[i] = pi.require_temperature(f"the series' run {path}")
            beads[i] = pi.n_beads
            continue
        trajs.append(opened.trajectory)
    potential = None
    if getattr(args, "sampling", None):      # the potential against the runs' species before any fit
        from trajmodes.workflows.series import sampling_potential
        potential = sampling_potential(args.sampling, sorted({str(x) for t in trajs for x in t.species}))
    qpoints = qpoint_tokens(args.qpoints) if args.qpoints else None
    from trajmodes.cli.runs import print_cutoff_table, report_potential_range
    reach = report_potential_range(trajs[:1], args)
    if args.cutoff2 is None:             # one basis for every run: the cutoff the first run's data choose
        from trajmodes.workflows.fit import fit_effective
        with step(f"choosing the pair cutoff from the first run, {os.path.basename(runs[0])}"):
            first = fit_effective(trajs[0], mode=args.mode, symprec=args.symprec, potential_range=reach)
        print_cutoff_table(first.convergence, given=False)
        args.cutoff2 = float(first.estimator.cutoff2)
    else:
        from trajmodes.workflows.fit import warn_truncation
        warn_truncation(args.cutoff2, reach)
    fits = dict(cutoff2=args.cutoff2, cutoff3=args.cutoff3, mode=args.mode, segments=args.segments,
                symprec=args.symprec)
    static = None
    if getattr(args, "static", None):
        from trajmodes.workflows.reading import load_force_constants
        static = load_force_constants(args.static)
    with step(f"fitting {len(runs)} runs (cutoff2 {args.cutoff2:g} A"
              + (f", cutoff3 {args.cutoff3} A" if args.cutoff3 else "") + f"), {args.resamples} bootstrap "
              "resamples each"):
        res = series_of_runs(trajs, temperatures=None if all(t is None for t in temps) else
                             [None if t is None else float(t) for t in temps],
                             names=[f"{n} ({beads[i]} beads)" if i in beads else n
                                    for i, n in enumerate(distinct_names(runs))], qpoints=qpoints, path=args.path,
                             mesh=args.mesh, cubic_mesh=args.cubic_mesh, occupation=args.occupation,
                             n_resamples=args.resamples, error_model=getattr(args, "error_model", "calibrated"),
                             static=static,
                             target_error=args.target_error, progress=lambda m: print("  " + m, flush=True),
                             sampling=potential, sampling_label=getattr(args, "sampling", None), n_beads=[beads.get(i) for i in range(len(runs))],
                             sampling_options=dict(n_samples=getattr(args, "sampling_samples", 256)), **fits)
    ds, split, have_split = res.dataset, res.split, res.has_split
    prov = provenance([p for t in trajs for p in t.source.paths],
                      dict(runs=runs, references=[str(r) for r in refs], temperatures=[str(t) for t in temps],
                           **{k: str(v) for k, v in fits.items()}, mesh=args.mesh, occupation=args.occupation,
                           resamples=args.resamples, error_model=getattr(args, "error_model", "calibrated"),
                           static=str(getattr(args, "static", None)), sampling=str(getattr(args, "sampling", None)),
                           sampling_samples=str(getattr(args, "sampling_samples", None))))
    target = output_file(args, "series.nc")
    written = [write_dataset(ds, target, out, prov)]
    stem = target[:-3]
    with step("drawing the figures"):
        fig = f"{stem}.{args.plot_format}"
        plot_series(ds, out(fig), title=f"{len(runs)} runs: effective phonons over temperature and volume")
        written.append(fig)
        if have_split:
            fig = f"{stem}.split.{args.plot_format}"
            plot_shift_split(split, out(fig), title="frequency shifts from the lowest temperature: volume + "
                                                    "intrinsic")
            written.append(fig)
    print(_table(ds, beads))
    print(_frequency_table(ds))
    if "sampling_frequency" in ds:
        print(_sampling_table(ds))
    print(f"wrote {', '.join(written)} in {time.perf_counter() - t0:.1f} s")
    return 0


def _table(ds, beads=None) -> str:
    """Per run: T, V, frames, R^2, sigma_A, the free energies and the frames for the target error; then a line on what
    the free energies are (the frequencies: :func:`_frequency_table`); ``beads``: run index -> bead count of the
    path-integral runs."""
    beads = beads or {}
    width = max(28, max(len(str(n)) for n in ds["name"].values))
    head = f"{'run':<{width}} {'T (K)':>7} {'V (A^3)':>8} {'frames':>6} {'R^2':>7} {'sig_A':>6}"
    corrected = "free_energy_corrected" in ds
    if "free_energy" in ds:
        head += f" {'U_0 + F_h (eV/cell)':>20}"
        if corrected:
            head += f" {'correction (meV/cell)':>21} {'F_3 (eV/cell)':>20}"
    if "required_frames" in ds:
        head += f" {'frames needed':>13}"
    lines = [head]

    def e(name, r):
        return float(ds[name + "_err"].values[r]) if name + "_err" in ds else 0.0
    for r in range(ds.sizes["run"]):
        s = (f"{str(ds['name'].values[r]):<{width}} {ds.temperature.values[r]:7.1f} {ds.volume.values[r]:8.4f} "
             f"{int(ds.n_frames.values[r]):6d} {ds.r2.values[r, 0]:7.4f} {ds.sigma_a.values[r]:6.3f}")
        if "free_energy" in ds:
            s += f" {ds.free_energy.values[r]:11.5f}+-{e('free_energy', r):7.5f}"
            if corrected:
                s += (f" {1e3 * ds.anharmonic_correction.values[r]:12.4f}+-{1e3 * e('anharmonic_correction', r):7.4f}"
                      f" {ds.free_energy_corrected.values[r]:11.5f}+-{e('free_energy_corrected', r):7.5f}")
        if "required_frames" in ds:
            s += f" {int(ds.required_frames.values[r]):13d}"
        lines.append(s)
    if "free_energy" in ds:
        occupation = ds.attrs.get("occupation", "quantum")
        text = (f"free energies per primitive cell with {occupation} oscillators: U_0 + F_h is a lower bound of the "
                "classical free energy (with classical oscillators) and leaves out the lowest-order anharmonic term")
        if beads:
            runs = ", ".join(str(ds["name"].values[r]) for r in sorted(beads))
            text += (f"; of a path-integral run ({runs}) with quantum oscillators a lower bound of the quantum free "
                     "energy (U_0 the bead average), with oscillators of infinitely many beads: the like-for-like "
                     "value of P beads is trajmodes.quantum.path_integral_free_energy(..., n_beads=P)")
        if corrected:
            text += "; correction = -<U_3> + F_3ph (TDEP's third order); F_3 = U_0 + F_h + correction"
        else:
            text += "; fit with --cutoff3 for its third-order correction"
        if "quantum_correction" in ds:
            qc = ds.quantum_correction.values
            text += (f". F_h(quantum) - F_h(classical) of the same constants: {1e3 * qc.min():.3f} to "
                     f"{1e3 * qc.max():.3f} meV/cell"
                     + ((" (included above" + (": the constants come from classical MD)" if not beads else
                                                 "; the path-integral runs' constants are quantum already)"))
                        if occupation == "quantum" else " (not included)"))
        lines.append(text)
    if ds.attrs.get("notes"):
        lines.append("note: " + ds.attrs["notes"])
    return "\n".join(lines)


def _frequency_table(ds, max_sets: int = 8) -> str:
    """Every branch at each tabulated q of every run, nu +- its error (THz), a degenerate set once with its size
    ("x3"; at most ``max_sets`` sets: the lowest and the highest, so that a soft mode shows); then one line per run on
    its error model, and for a lower bound why."""
    names = [str(n) for n in ds["name"].values]
    width = max(12, max(len(n) for n in names))
    from trajmodes.workflows.qpoints import qpoint_names
    q = qpoint_names(ds.qlabel.values, ds.qpoint.values)
    qw = max(2, max(len(x) for x in q))
    err = ds.frequency_err.values if "frequency_err" in ds else None
    lines = ["frequencies (THz" + (" +- standard error" if err is not None else "") + "; a degenerate set once, "
             "xN its size):"]
    for r, name in enumerate(names):
        for k, label in enumerate(q):
            cells = frequency_cells(ds.frequency.values[r, k], None if err is None else err[r, k], max_sets)
            lines.append(f"{name if k == 0 else '':<{width}} {label:<{qw}} " + cells)
    if "error_model" in ds:
        lines.append("error bars:")
        for r, name in enumerate(names):
            lines.append(f"  {name}: " + error_model_line(str(ds.error_model.values[r]),
                                                          bool(ds.error_is_lower_bound.values[r]),
                                                          str(ds.error_model_reason.values[r])))
    elif err is not None:
        lines.append("error bars: the block bootstrap of each run's time segments")
    return "\n".join(lines)


def _sampling_table(ds, max_sets: int = 8) -> str:
    """Per run and tabulated q: the run's frequencies (nu +- error, THz) and beneath them those of the self-consistent
    sampling of the potential beside it (``sampling_frequency``), its kind, and whether it converged; then what the
    comparison means."""
    from trajmodes.workflows.qpoints import degenerate_sets, qpoint_names
    from trajmodes.workflows.series import SAMPLING_MEANING
    names = [str(n) for n in ds["name"].values]
    q = qpoint_names(ds.qlabel.values, ds.qpoint.values)
    qw = max(2, max(len(x) for x in q))
    beads = ds.sampling_n_beads.values
    kinds = [f"sampling, {int(b)} beads" if b else "sampling, classical" for b in beads]
    width = max(12, max(len(n) for n in names))
    kw = max(len("run"), max(len(k) for k in kinds))
    err = ds.frequency_err.values if "frequency_err" in ds else None
    lines = [f"self-consistent sampling of {ds.attrs['sampling_potential']} beside each run (THz +- standard error; "
             "a degenerate set once, xN its size):"]
    for r, name in enumerate(names):
        for k, label in enumerate(q):
            nu, sam = ds.frequency.values[r, k], ds.sampling_frequency.values[r, k]
            run_cells, sam_cells = [], []
            for g in degenerate_sets(nu, max_sets):        # the run's sets for both rows: columns aligned
                if g is None:
                    run_cells.append(f"{'...':<22}")
                    sam_cells.append(f"{'...':<22}")
                    continue
                size = f" x{len(g)}" if len(g) > 1 else ""
                e = float(err[r, k, g].max()) if err is not None else float("nan")
                se = float(ds.sampling_frequency_err.values[r, k, g].max())
                run_cells.append(f"{_shown(nu[g].mean()):8.4f}+-{e:.4f}{size:<4}")
                sam_cells.append(f"{_shown(sam[g].mean()):8.4f}+-{se:.4f}{size:<4}")
            lines.append((f"{name if k == 0 else '':<{width}} {label:<{qw}} {'run':<{kw}} "
                          + "  ".join(run_cells)).rstrip())
            lines.append((f"{'':<{width}} {'':<{qw}} {kinds[r]:<{kw}} " + "  ".join(sam_cells)).rstrip())
    for r, name in enumerate(names):
        if not ds.sampling_converged.values[r]:
            lines.append(f"  {name}: the sampling did NOT converge within its iterations (its error bars cover the "
                         "pooled iterations' scatter); more with --sampling-samples")
    lines.append(SAMPLING_MEANING)
    return "\n".join(lines)


def _shown(nu) -> float:
    """A frequency as printed: 0 for the acoustic ones at Gamma (no "-0.0000")."""
    return float(nu) if abs(float(nu)) >= 5e-5 else 0.0


def add_series_parser(add) -> None:
    """The parser of ``trajmodes series`` (``add``: the command adder of :func:`trajmodes.cli.app.build_parser`)."""
    from trajmodes.cli.options import HARMONIC_MESH, add_plot_format, add_read_options, mesh, non_negative_int, positive, positive_int
    from trajmodes.cli.runs import CUTOFF2_HELP
    from trajmodes.workflows.fit import FIT_DEFAULTS
    ps = add("series", cmd_series, "many MD runs (temperatures, volumes, NPT) in one dataset: effective force "
                                   "constants and frequencies with error bars, free energy, the split of every shift "
                                   "into volume and intrinsic parts, figures",
             example="trajmodes series examples/md/si_300K.lammpstrj.gz examples/md/si_1000K.lammpstrj.gz --cutoff2 5 "
                     "--target-error 0.02 -o si_series")
    add_read_options(ps, reference=False, thermo=False)
    ps.add_argument("--reference", dest="references", nargs="+", metavar="REF",
                    help="reference crystal of each run (or one for all): LAMMPS data files "
                                                "(default: RUN's stem + .data beside it, else the run's time "
                                                "average)")
    ps.add_argument("--run-temperatures", dest="temperatures", nargs="+", type=positive, metavar="K",
                    help="temperature of each run, one per RUN (default: the mean kinetic temperature of its "
                         "frames)")
    ps.add_argument("--thermo", nargs="+", metavar="LOG", help="LAMMPS log of each run (or one for all), for "
                                                               "the potential energy and so the free energy "
                                                               "(default: none)")
    ps.add_argument("--cutoff2", type=positive, help=CUTOFF2_HELP)
    ps.add_argument("--cutoff3", type=positive, help="triplet cutoff in A (default: second order only)")
    ps.add_argument("--mode", choices=["sequential", "simultaneous"], default=FIT_DEFAULTS["mode"],
                    help="sequential (TDEP; default) or simultaneous")
    ps.add_argument("--segments", type=positive_int, default=20,
                    help="time segments per run for the block bootstrap (default 20)")
    ps.add_argument("--resamples", type=non_negative_int, default=200,
                    help="bootstrap resamples per run (default 200; 0: no error bars)")
    ps.add_argument("--error-model", choices=["calibrated", "bootstrap"], default="calibrated",
                    help="calibrated (default): each run projected on its modes and, where they kept their energies, "
                         "a fourth order fitted for the error bars, which are then those calibrated for the run, or "
                         "marked as lower bounds with the reason; bootstrap: the block bootstrap alone (a lower bound)")
    ps.add_argument("--static", metavar="FC", help="force constants of the static (0 K) crystal at the runs' volume: "
                                                   "d nu / dT of runs without neighbours in temperature, for their "
                                                   "error bars (default: none)")
    ps.add_argument("--target-error", type=positive, metavar="THZ",
                    help="report the frames each run needs for this error on every tabulated frequency "
                         "(default: none)")
    ps.add_argument("--qpoints", nargs="+", metavar="Q",
                    help="reduced q-points for the tables and the split: 'h k l h k l ...' or 'h,k,l;h,k,l' "
                         "(default: special points)")
    ps.add_argument("--path", help="band path as special-point letters, e.g. 'GXU|KGL' (default: standard)")
    ps.add_argument("--mesh", type=mesh, default=[HARMONIC_MESH] * 3,
                    help=f"q mesh of the free energy: N or N1,N2,N3 (default {HARMONIC_MESH})")
    ps.add_argument("--cubic-mesh", type=mesh, help="q mesh of the second-order cubic free energy, with --cutoff3 "
                                                    "(default 10)")
    ps.add_argument("--occupation", choices=["quantum", "classical"], default="quantum",
                    help="statistics of the harmonic free energy (default quantum)")
    ps.add_argument("--symprec", type=positive, default=FIT_DEFAULTS["symprec"],
                    help=f"symmetry tolerance in A (default {FIT_DEFAULTS['symprec']:g})")
    from trajmodes.workflows.series import SAMPLING_FORMS
    ps.add_argument("--sampling", metavar="POTENTIAL",
                    help="beside every run the self-consistent sampling of this potential at the run's temperature "
                         "on its reference supercell, from its fitted constants, with the same cutoffs: classical "
                         "for classical MD, the P-bead ring polymer for a path-integral run of P beads (like for "
                         f"like); POTENTIAL {SAMPLING_FORMS} (an ASE calculator through the Python API, "
                         "trajmodes.workflows.series_of_runs) (default: none)")
    ps.add_argument("--sampling-samples", type=positive_int, default=256, metavar="N",
                    help="configurations of the sampling's first iteration, doubled each iteration up to 4N "
                         "(default 256); the last 3 iterations are pooled for the frequencies and their errors")
    ps.add_argument("-o", "--output", default="trajmodes-series", help="output folder (default trajmodes-series): "
                                                                       "series.nc and the figures series.png, "
                                                                       "series.split.png")
    add_plot_format(ps)
