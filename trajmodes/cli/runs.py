"""``trajmodes info``, ``convert``, ``run`` and ``fit``: a run's summary, its cache, and its effective force constants."""
from __future__ import annotations

import os
import sys
import time

from trajmodes.cli.options import (CENTROID_LINE, error_model_line, frequency_cells, input_files, output_file,
                                   read_run_or_beads, read_settings, read_trajectory, refuse_repeated_files, step)
from trajmodes.workflows.fit import FIT_DEFAULTS

#: the help of --cutoff2 of run, fit and series
CUTOFF2_HELP = ("pair cutoff in A; without it, the shortest neighbour shell from which the frequencies at the "
                "special points agree within their error bars (5 %% family-wise) or within max(1 %%, 0.03 THz) with "
                "those of the longest cutoff the supercell holds (its sphere at most 300 atoms), never shorter than "
                "the potential's range that the run's LAMMPS input or log states (series: from its first run; the "
                "table is printed) (default: chosen from the data)")


#: the help of --keep-reference of run and fit
KEEP_REFERENCE_HELP = ("fit the crystal of --reference even where the run left it (by default a run whose mean sites, "
                       "made symmetric within 7 standard errors, hold another space group or lattice than the "
                       "reference is fitted on its own crystal, as without --reference, and said so in one line)")

#: the help of --charges of run and fit
CHARGES_HELP = ("Born charges of a rigid-ion run: auto (default) reads the charges of the LAMMPS data file (--reference, "
                "else the one the input beside the dump reads) and, where the input's Coulomb is long-ranged "
                "(kspace_style, coul/long, coul/msm), fits polar with Born charges = ionic charges and eps_inf = 1 "
                "(the dipole-dipole forces taken out first, a line says so); none fits without")


#: --temperature of fit and run: a path-integral run's, where its input does not say
PI_TEMPERATURE_HELP = ("K: the temperature of a path-integral run whose input (i-PI XML, LAMMPS input, GPUMD run.in) "
                       "is not beside its bead files (default: the input's; its beads' velocities sample P times it)")


def _fmt_cell(cell) -> list[str]:
    import numpy as np
    lengths = np.linalg.norm(cell, axis=1)
    a, b, c = cell
    ang = [np.degrees(np.arccos(np.dot(x, y) / np.linalg.norm(x) / np.linalg.norm(y))) for x, y in
           ((b, c), (a, c), (a, b))]
    return [f"  a = {lengths[0]:.5f}  b = {lengths[1]:.5f}  c = {lengths[2]:.5f} A;  "
            f"alpha = {ang[0]:.3f}  beta = {ang[1]:.3f}  gamma = {ang[2]:.3f} deg;  "
            f"volume = {abs(np.linalg.det(cell)):.4f} A^3"]


def _header(traj, box: bool = True) -> None:
    """Print what the trajectory is (source, frames, atoms, masses, fields) and, with ``box``, the reference's box."""
    src = traj.source
    kinds = sorted(set(traj.species.tolist()))
    out = [f"source:     {src.describe()}",
           f"format:     {src.format} (data in {src.units} units, shown in metal units)",
           f"frames:     {traj.n_frames} (steps {traj.steps[0]} .. {traj.steps[-1]}), "
           f"{traj.frame_interval:g} ps between frames, {traj.times[-1] - traj.times[0]:g} ps in all",
           f"time axis:  {traj.time_axis}",
           f"atoms:      {traj.n_atoms}: " + ", ".join(f"{k} x {int((traj.species == k).sum())}" for k in kinds),
           "masses:     " + masses_line(traj),
           "fields:     " + ", ".join(src.fields) + (" (positions unwrapped)" if src.unwrapped else ""),
           "per frame:  " + (", ".join(traj.frame_fields) or "no potential energy or pressure (a LAMMPS log: "
                                                            "--thermo; a per-atom energy column: --energy-column)")]
    if box:
        out += _box(traj)
    print("\n".join(out), flush=True)


def masses_line(traj) -> str:
    """The masses of ``traj`` by species in one line, with where they came from when the run's own files stated them
    (a LAMMPS input's mass commands, the data file its read_data names), or why they are unknown."""
    src = traj.source
    if traj.masses is None:
        return "unknown (" + (getattr(src, "masses_problem", None) or
                              "give --species, --masses, or a reference data file with Masses") + ")"
    kinds = sorted(set(traj.species.tolist()))
    line = ", ".join(f"{k} {float(traj.masses[traj.species == k][0]):.4f} amu" for k in kinds)
    return line + (f" (from {src.masses_from})" if getattr(src, "masses_from", None) else "")


def _box(traj) -> list[str]:
    """The lines of the reference's box (none without a cell)."""
    ref = traj.reference
    return ["box (reference):"] + _fmt_cell(ref.cell) if ref.cell is not None else []


def _summary_lines(s, traj, args, note: str, beads=None) -> str:
    """The summary ``s`` (:func:`~trajmodes.trajectory.summary.summarize`) of ``traj`` in words; ``beads``: the
    summary of a path-integral run's beads from the same sites, whose <u^2> are printed beside the centroid's
    (``traj``)."""
    import numpy as np
    src = traj.source
    ref_name = getattr(args, "reference", None) or ("stored in the cache" if getattr(src, "reference", None)
                                                     is not None else "the time average of the run")
    lines = []
    if "temperature" in s:
        T = s.temperature.values
        lines.append(f"temperature: {T.mean():.2f} +- {T.std():.2f} K (min {T.min():.2f}, max {T.max():.2f}; "
                     "kinetic, 3N-3 degrees of freedom)")
    if "configurational_temperature" in s:
        lines.append(f"             {float(s.configurational_temperature):.2f} K configurational (-<sum u.F>/((3N-3) "
                     "k_B) of the displacements and forces: a check of the velocities' unit)")
    if "volume" in s:
        V = s.volume.values
        lines.append(f"volume:      {V.mean():.4f} +- {V.std():.4f} A^3 (min {V.min():.4f}, max {V.max():.4f}; "
                     f"{V.mean() / traj.n_atoms:.4f} A^3 per atom)" + ("" if V.std() > 1e-9 * V.mean()
                                                                       else ": fixed box"))
    if "pressure" in s:
        P = s.pressure.values
        lines.append(f"pressure:    {P.mean():.4f} +- {P.std():.4f} GPa (min {P.min():.4f}, max {P.max():.4f})")
    if "potential_energy" in s:
        E = s.potential_energy.values
        lines.append(f"potential energy: {E.mean() / traj.n_atoms:.6f} +- {E.std() / traj.n_atoms:.6f} eV per atom")
    if beads is None:
        lines.append(f"displacements from the reference ({ref_name}):")
    else:
        lines.append(f"displacements from the reference ({ref_name}) of the centroid (every atom's bead average: for a "
                     "harmonic crystal its classical value, no zero-point motion) and of the beads (the quantum "
                     "mean-square displacement, zero-point motion included):")
    for k in s.species.values:
        m = s.msd.sel(species=k).values
        lines.append(f"  {k}: <u^2> x y z = {m[0]:.5f} {m[1]:.5f} {m[2]:.5f} A^2, rms |u| = "
                     f"{float(s.rms_displacement.sel(species=k)):.4f} A" + ("" if beads is None else " (centroid)"))
        if beads is not None:
            b = beads.msd.sel(species=k).values
            lines.append(f"  {k}: <u^2> x y z = {b[0]:.5f} {b[1]:.5f} {b[2]:.5f} A^2, rms |u| = "
                         f"{float(beads.rms_displacement.sel(species=k)):.4f} A (beads)")
    lines.append(f"  largest |u| = {float(s.max_displacement):.4f} A; mean-displacement drift over the run = "
                 f"{np.linalg.norm(s.drift.values[-1] - s.drift.values[0]):.4g} A")
    lines.append(f"({note})")
    return "\n".join(lines)


def _report(traj, args):
    """Print the summary of ``traj`` (one streamed pass) and return it as an xarray Dataset."""
    from trajmodes.workflows.summary import run_summary
    known = traj.reference_known                        # else the time average, summed in the summary's pass
    _header(traj, box=known)
    t0 = time.perf_counter()
    s, measured = run_summary(traj)
    if not known:
        print("\n".join(_box(measured)))
    print(_summary_lines(s, traj, args, f"statistics streamed in {time.perf_counter() - t0:.2f} s"))
    return s


def cmd_info(args, out) -> int:
    """Frames, atoms, box, time step, temperature and displacement statistics, in one streamed pass; of a
    path-integral run the centroid's, with the beads' <u^2> (a second pass, over the beads) beside the centroid's."""
    traj, run = read_run_or_beads(args)
    if run is None:
        _report(traj, args)
        return 0
    from trajmodes.workflows.summary import run_summary
    print(f"{run.describe()}: {CENTROID_LINE}", flush=True)
    centroid = run.centroid
    _header(centroid, box=centroid.reference_known)
    t0 = time.perf_counter()
    s, measured = run_summary(centroid)
    if not centroid.reference_known:
        print("\n".join(_box(measured)))
    # the beads from the same sites (the centroid's reference): each bead's configuration a sample of the quantum
    # ensemble, so their <u^2> is the quantum crystal's (Ceperley, Rev. Mod. Phys. 67, 279 (1995))
    beads = run_summary(run.pooled.with_reference(measured.reference))[0]
    print(_summary_lines(s, centroid, args, f"statistics streamed in {time.perf_counter() - t0:.2f} s, the beads' in "
                                            "a second pass", beads=beads))
    return 0


def cmd_convert(args, out) -> int:
    """Write (part of) a trajectory as trajmodes' chunked netCDF cache."""
    from trajmodes.workflows.convert import select_frames, write_cache
    traj = select_frames(read_trajectory(args), args.start, args.stop, args.stride)
    t0 = time.perf_counter()
    target = output_file(args, "trajectory.nc")
    with step(f"writing {target}"):
        write_cache(traj, out(target), displacements=args.displacements,
                    attrs={"setting_start": args.start, "setting_stop": args.stop, "setting_stride": args.stride})
    print(f"wrote {target}: {traj.n_frames} frames x {traj.n_atoms} atoms "
          f"({'displacements' if args.displacements else 'positions'}, "
          f"{', '.join(f for f in traj.source.fields if f != 'positions')}) in {time.perf_counter() - t0:.2f} s")
    return 0


def run_settings(args, traj):
    """The settings of ``trajmodes run`` (:class:`~trajmodes.workflows.run.RunSettings`) from its options, for the run
    ``traj`` (the read options' provenance names its reference)."""
    from trajmodes.workflows.run import RunSettings
    fit = None if args.no_fit else fit_settings(args, traj)
    return RunSettings(output=args.output, fit=fit, read=read_settings(args, traj),
                       reference=getattr(args, "reference", None), thermo=tuple(getattr(args, "thermo", None) or ()),
                       chunk_frames=args.chunk_frames, plot_format=args.plot_format)


def cmd_run(args, out) -> int:
    """The main job: summary, netCDF cache and summary plot; with forces also the effective (TDEP) force
    constants at the simulated temperature and their dispersion (against ``--compare``).

    The run is parsed once (:func:`~trajmodes.workflows.run.read_once`): the cache is written and the summary summed
    in the same pass (where the reference is the run's time average, that is summed too, and the displacements from
    it are summed in the fit's read of the cache); everything after reads the cache. The steps of
    :func:`~trajmodes.workflows.run.run` one by one, so that the summary's files are in place before the fit starts.
    """
    from trajmodes.workflows.fit import fit_runs
    from trajmodes.workflows.run import read_once, summary_of_run
    if os.path.isfile(args.output):
        raise ValueError(f"-o {args.output} is a file; run writes a folder of results")
    traj, ring = read_run_or_beads(args, temperature=args.temperature)
    if ring is not None:
        # the centroid summarised and cached; the constants fitted over the beads (the quantum ensemble), read again
        print(f"{ring.describe()}: the summary and the cache are its centroid's (every atom's bead average); the "
              "effective constants are fitted over the beads (the quantum ensemble), a second read of the bead files",
              flush=True)
    settings = run_settings(args, traj)
    fit = traj.forces is not None and settings.fit is not None
    if fit:
        traj.require_masses()                   # before writing
        if ring is not None:           # a path-integral run's temperature (a GPUMD ramp states none): before writing
            ring.require_temperature("the fit of a path-integral run")
    reference_fc = _load_compare(args.compare) if fit else None
    known = traj.reference_known                                # else the time average, summed in the one pass
    _header(traj, box=known)
    cache = settings.cache
    reuse = settings.reusable(traj)
    if reuse:
        print(f"reusing the netCDF cache {cache}: complete, {traj.n_frames} frames, written from these inputs "
              "(same size, modification time and first MiB) with these reading options", flush=True)
    with step(f"the summary from the cache {cache}" if reuse else
              f"reading the run once: the netCDF cache {cache} and the summary"):
        # the cache, once complete, kept in -o whatever happens later, and reused by the next run
        run = read_once(traj, settings, out, fit=fit and ring is None, reuse=reuse)
    traj = run.traj
    if not known:
        print("\n".join(_box(traj)))                           # the mean box, now known
    if run.pending is None:
        _write_summary(summary_of_run(run, settings), traj, args, out, cache, run.note)
    if fit:
        print("\neffective force constants at the simulated temperature "
              + ("(pair cutoff from the data):" if args.cutoff2 is None else f"(r2 = {args.cutoff2:g} A):"))
        inputs = settings.inputs(traj)
        with step("fitting the effective force constants"):
            if ring is not None:
                fitting = fit_runs([ring.pooled], settings.fit, compare_constants=reference_fc, inputs=inputs,
                                   temperature=ring.require_temperature("the fit of a path-integral run"))
            else:
                fitting = fit_runs([traj], settings.fit, fitted=[run.cached], temperature=run.temperature,
                                   compare_constants=reference_fc, inputs=inputs, reading=run.reading)
        if run.pending is not None:                             # the summary, complete now
            _write_summary(summary_of_run(run, settings), traj, args, out, cache, run.note)
        _write_fit(fitting, args.output, out)
    return 0


def _write_summary(summary, traj, args, out, cache, note) -> None:
    """Print the run's summary (:class:`~trajmodes.workflows.run.RunSummary`), write summary.nc and its figure, in
    place at once (complete: not when the fit after them ends)."""
    print(_summary_lines(summary.dataset, traj, args, note))
    written = summary.write(args.output, out)
    for done in written:
        out.keep(done)
    print(f"wrote {cache}, {', '.join(written)}")


def print_cutoff_table(convergence, given: bool) -> None:
    """Print the convergence of the frequencies with the pair cutoff and its notes."""
    print(convergence.report(given))


def report_potential_range(trajs, args):
    """The range of the potential of the runs, from the LAMMPS input or log that names their dumps (the --thermo logs
    first), printed in one line; None when no input names them."""
    from trajmodes.workflows.fit import potential_range_of_runs
    found = potential_range_of_runs(trajs, logs=getattr(args, "thermo", None) or ())
    if found is not None:
        print(f"potential range: {found.describe()}")
    return found


def _load_compare(compare):
    """The force constants of ``--compare`` (None without), read with their own progress line: a large phonopy yaml
    takes minutes, and a missing file should fail before anything is computed or written."""
    if compare is None:
        return None
    from trajmodes.workflows.reading import load_force_constants
    with step(f"reading the force constants to compare with, {compare}"):
        return load_force_constants(compare)


def _write_fit(fitting, folder, out) -> None:
    """Print what the fit (:class:`~trajmodes.workflows.fit.FitOutputs`) read beside the runs, its cutoff table and
    scores, write its files into ``folder`` and print the frequencies with their error bars."""
    import numpy as np
    from trajmodes.workflows.fit import stability_line
    res, settings, compare = fitting.result, fitting.resolved(), fitting.settings.compare
    est, fc = res.estimator, res.force_constants
    pr = fc.primitive
    if fitting.notes:
        print("\n".join(fitting.notes), flush=True)
    if res.convergence is not None:
        print_cutoff_table(res.convergence, fitting.settings.cutoff2 is not None)
    written = fitting.write(folder, out)
    composition = ", ".join(f"{k} x {int((pr.species == k).sum())}" for k in dict.fromkeys(pr.species.tolist()))
    runs = f"{len(fitting.runs)} trajector{'y' if len(fitting.runs) == 1 else 'ies'}"
    lines = [f"fit: {runs}, {fc.n_atoms}-atom supercell {fc.smap.matrix.tolist()}, primitive "
             f"{composition} ({pr.space_group_symbol}); cutoffs r2 = {settings['cutoff2']:g} A"
             + (f", r3 = {settings['cutoff3']:g} A" if settings.get("cutoff3") is not None else "")
             + (f", r4 = {settings['cutoff4']:g} A" if settings.get("cutoff4") is not None else "")
             + f"; {settings['mode']} fit" + ("" if getattr(est, "born_", None) is None
                                              else ", polar (dipole-dipole forces taken out)"),
             est.scores_table()]
    if stability_line(res):
        lines.append(stability_line(res))             # the fitted constants' own imaginary modes, where and how much
    big = res.largest_difference()
    unstable = res.reference_imaginary is not None and res.reference_imaginary.unstable
    if res.compare_refused is not None:
        # the fit is written above; the comparison it could not make is said, with what to give instead
        lines.append(f"against {compare}: not compared ({res.compare_refused}); {written[0]} is written: compare it "
                     "with constants of the same crystal (trajmodes fit --compare, or trajmodes phonons)")
    folded = None if res.reference_bands is None else res.reference_bands.attrs.get("folded_note")
    if folded:
        lines.append(f"against {compare}: {folded}")
    if big is not None:
        im = res.reference_imaginary
        lines.append(f"against {compare}: largest difference {big.difference:+.4f} THz (branch {big.branch} at "
                     f"q = {np.round(big.qpoint, 4).tolist()}), mean {big.mean:+.4f} THz"
                     + (f"; reference unstable: {im.count} imaginary modes, lowest {im.lowest:.2f} THz at "
                        f"{im.where()} (the differences are from a crystal without a harmonic ground state)"
                        if unstable else "; reference stable (no imaginary modes)"))
    lines.append(f"wrote {', '.join(written)}")
    members = est.committee_force_constants_
    if members is not None:
        lines.append(f"{written[0]} holds every committee member's constants too ({len(members)} members; "
                     + ("fc2, fc3" + (", fc4" if fc.fc4 is not None else "") + "): `trajmodes anharmonic` gives their "
                        "spread of the widths, shifts and kappa" if fc.fc3_sparse is not None else "fc2)"))
    print("\n".join(lines))
    _print_frequency_errors(fitting)


def _print_frequency_errors(fitting) -> None:
    """The frequencies at the special points with the error bars calibrated for the run, and which error model they
    are (or that they are lower bounds, and why): :meth:`trajmodes.workflows.fit.FitOutputs.frequency_error_bars`
    (the ``--compare`` constants give a lone run its d nu / dT where they are the static crystal at the run's
    volume)."""
    from trajmodes.workflows.qpoints import qpoint_names
    try:
        with step("error bars of the frequencies"):
            ds = fitting.frequency_error_bars(progress=lambda line: print(line, file=sys.stderr, flush=True))
    except ValueError as exc:
        print(f"no error bars of the frequencies: {exc}")
        return
    nu, err = ds.frequency.values, ds.frequency_err.values
    names = qpoint_names(ds.qlabel.values, ds.qpoint.values)
    model = error_model_line(ds.attrs["error_model"], bool(ds.attrs["error_is_lower_bound"]),
                             ds.attrs["error_model_reason"])
    if "frequency_committee_err" in ds:
        print("\n".join(_committee_table(nu, err, ds.frequency_committee_err.values, names,
                                         int(ds.attrs["committee_members"]), model)))
        return
    lines = ["frequencies at the special points (THz +- standard error; a degenerate set once, xN its size):"]
    lines += [f"  {name:<3} " + frequency_cells(nu[k], err[k]) for k, name in enumerate(names)]
    lines.append("error bars: " + model)
    print("\n".join(lines))


def _committee_table(nu, sampling, committee, names, members: int, model: str) -> list:
    """The frequencies at the special points with two error bars, one row per degenerate set: the run's sampling
    (``model``: the error model's line) and the committee's spread over its ``members``."""
    from trajmodes.workflows.qpoints import degenerate_sets
    head = f"committee ({members} members)"
    lines = ["frequencies at the special points (THz; a degenerate set once, xN its size), with two error bars:",
             f"  {'q':<4}{'frequency':>10}  {'sampling':>9}  {head:>22}"]
    for k, name in enumerate(names):
        for i, g in enumerate(degenerate_sets(nu[k])):
            b = g[0]
            value = nu[k, b] if abs(nu[k, b]) >= 5e-5 else 0.0
            lines.append(f"  {name if i == 0 else '':<4}{value:10.4f}  {sampling[k, b]:9.4f}  {committee[k, b]:22.4f}"
                         + (f"  x{len(g)}" if len(g) > 1 else ""))
    lines.append(f"sampling: the standard error of the run's finite sampling ({model}); committee: the standard "
                 f"deviation over the {members} members' fits to the same frames (the learned potential's own "
                 "uncertainty, which more MD does not shrink)")
    return lines


def fit_settings(args, traj):
    """The settings of the fit of ``trajmodes fit`` and ``trajmodes run``
    (:class:`~trajmodes.workflows.fit.FitSettings`) from the options ``args`` has (``run`` offers the pair and
    triplet cutoffs; :data:`~trajmodes.workflows.fit.FIT_DEFAULTS` for the others), ``traj`` the (first) run read:
    its read options' provenance names its reference."""
    from trajmodes.workflows.fit import FitSettings
    return FitSettings(cutoff2=args.cutoff2, cutoff3=args.cutoff3, cutoff4=getattr(args, "cutoff4", None),
                       **{k: getattr(args, k, v) for k, v in FIT_DEFAULTS.items() if k != "constraints"},
                       constraints=tuple(c for c in (getattr(args, "constraints", None) or "").split(",") if c),
                       compare=args.compare, path=getattr(args, "path", None), npoints=getattr(args, "npoints", 51),
                       charges=getattr(args, "charges", "auto"), reference=getattr(args, "reference", None),
                       thermo=tuple(getattr(args, "thermo", None) or ()), units=getattr(args, "units", None),
                       read=read_settings(args, traj), plot_format=args.plot_format)


def cmd_fit(args, out) -> int:
    """Effective (TDEP) force constants from MD forces: scores, the constants as netCDF, a dispersion plot."""
    from trajmodes.workflows.fit import fit_runs
    refuse_repeated_files(args.files, "FILE", "a fit pools each run once (given twice, its frames count twice and "
                          "the error bars come out too small)")
    trajs, temperatures, rings = [], [], []
    for f in args.files:
        traj, run = read_run_or_beads(args, [f], temperature=args.temperature)
        if run is None:
            trajs.append(traj)
            continue
        # each bead's configuration with its forces is a sample of the quantum ensemble (Castellano, Batista and
        # Verstraete 2023): the fit of the pooled beads gives the quantum ensemble's effective constants
        print(f"{run.describe()}: the fit pools its {run.n_beads} beads ({run.n_frames} frames each), each bead's "
              "configuration with its forces a sample of the quantum ensemble: the effective constants of the "
              "quantum crystal (zero-point motion included)", flush=True)
        trajs.append(run.pooled)
        temperatures.append(run.require_temperature("the fit of a path-integral run"))
        rings.append(run)
    settings = fit_settings(args, trajs[0])          # --cutoff4 without --cutoff3 refused here, before any work
    for t in trajs:
        t.require_masses()                      # before the fit
        if getattr(t.source, "masses_from", None):
            print(f"masses of {os.path.basename(t.source.paths[0])}: {masses_line(t)}")
    inputs = [p for t in trajs for p in input_files(t, args)]
    if temperatures and len(temperatures) != len(trajs):
        raise ValueError("fit pools runs of one ensemble: give path-integral runs or classical runs, not both (the "
                         "classical and the quantum effective constants differ; fit each on its own)")
    folder = os.path.dirname(output_file(args, "fc.nc"))
    reference_fc = _load_compare(args.compare)
    with step("fitting the effective force constants"):
        fitting = fit_runs(trajs, settings, compare_constants=reference_fc, inputs=inputs,
                           temperature=sum(temperatures) / len(temperatures) if temperatures else None)
    _write_fit(fitting, folder, out)
    est = fitting.result.estimator
    if len(rings) == 1:                  # the fit needs forces: the centroid has them too
        from trajmodes.workflows.quantum import kubo_beside_fit, kubo_frames_problem
        why = kubo_frames_problem(rings[0], est)
        if why is not None:
            print(why)
        else:
            with step("the Kubo estimators from the centroid (one pass)"):
                kubo = kubo_beside_fit(rings[0], est)
            print(kubo.table())
    return 0


def add_info_parser(add) -> None:
    """The parser of ``trajmodes info`` (``add``: the command adder of :func:`trajmodes.cli.app.build_parser`)."""
    from trajmodes.cli.options import add_read_options
    pi = add("info", cmd_info, "frames, atoms, box, time step, temperature and displacement statistics",
             example="trajmodes info examples/md/cu_300K.lammpstrj.gz --species Cu --reference "
                     "examples/md/cu_300K.data")
    add_read_options(pi)


def add_convert_parser(add) -> None:
    """The parser of ``trajmodes convert`` (``add``: the command adder of :func:`trajmodes.cli.app.build_parser`)."""
    from trajmodes.cli.options import add_read_options, non_negative_int, positive_int
    pc = add("convert", cmd_convert, "write the trajectory as a chunked netCDF-4 cache (fast re-reads)",
             example="trajmodes convert examples/md/cu_300K.lammpstrj.gz -o cu_300K")
    add_read_options(pc)
    pc.add_argument("-o", "--output", default="trajmodes-convert", help="output folder (default trajmodes-convert): "
                                                                        "trajectory.nc")
    pc.add_argument("--displacements", action="store_true", help="store displacements from the reference "
                                                                 "instead of positions")
    pc.add_argument("--start", type=non_negative_int, default=0, help="first frame (default 0)")
    pc.add_argument("--stop", type=positive_int, help="frame to stop before (default: the end)")
    pc.add_argument("--stride", type=positive_int, default=1, help="keep every n-th frame")


def add_run_parser(add) -> None:
    """The parser of ``trajmodes run`` (``add``: the command adder of :func:`trajmodes.cli.app.build_parser`)."""
    from trajmodes.cli.options import add_plot_format, add_read_options
    pr = add("run", cmd_run, "the main job: summary, netCDF cache, effective force constants and plots in an "
                             "output folder",
             example="trajmodes run examples/cu_fcc_300K.lammpstrj.gz --reference examples/cu_fcc_4x4x4.data "
                     "--compare examples/fc/cu_eam -o trajmodes-out")
    add_read_options(pr)
    pr.add_argument("-o", "--output", default="trajmodes-out", help="output folder (default trajmodes-out): "
                                                                  "trajectory.nc (the netCDF cache), summary.nc and "
                                                                  "summary.png; with the fit fc.nc, fc.scores.nc, "
                                                                  "fc.cutoffs.nc and the dispersion fc.png")
    _add_fit_inputs(pr, "triplet cutoff of the effective fit in A (default: none)")
    pr.add_argument("--compare", help="0 K force constants to plot the effective dispersion against "
                                      "(phonopy folder/file or trajmodes .nc) (default: none)")
    pr.add_argument("--no-fit", action="store_true", help="skip the effective force constants")
    add_plot_format(pr)


def _add_fit_inputs(parser, cutoff3_help: str) -> None:
    """The options ``run`` and ``fit`` share: the cutoffs, the reference kept as given, the path-integral temperature
    and the charges."""
    from trajmodes.cli.options import positive
    from trajmodes.workflows.charges import CHARGE_CHOICES
    parser.add_argument("--cutoff2", type=positive, help=CUTOFF2_HELP)
    parser.add_argument("--cutoff3", type=positive, help=cutoff3_help)
    parser.add_argument("--keep-reference", action="store_true", help=KEEP_REFERENCE_HELP)
    parser.add_argument("--temperature", type=positive, help=PI_TEMPERATURE_HELP)
    parser.add_argument("--charges", choices=CHARGE_CHOICES, default="auto", help=CHARGES_HELP)


def add_fit_parser(add) -> None:
    """The parser of ``trajmodes fit`` (``add``: the command adder of :func:`trajmodes.cli.app.build_parser`)."""
    from trajmodes.cli.options import add_plot_format, add_read_options, positive, positive_int
    from trajmodes.workflows.fit import COMMITTEE_WORDS, WEIGHT_WORDS
    pf = add("fit", cmd_fit, "effective (TDEP) 2nd- and 3rd-order force constants from MD forces: scores, "
                             "netCDF and the effective dispersion",
             example="trajmodes fit examples/md/cu_300K.lammpstrj.gz --reference examples/md/cu_300K.data --cutoff2 5 "
                     "--cutoff3 3 -o cu_fc3")
    add_read_options(pf)
    _add_fit_inputs(pf, "triplet cutoff in A (default: second order only)")
    pf.add_argument("--cutoff4", type=positive, help="quartet cutoff in A, with --cutoff3: the fourth order too "
                                                      "(default: none)")
    pf.add_argument("--mode", choices=["sequential", "simultaneous"], default=FIT_DEFAULTS["mode"],
                    help="sequential (TDEP: fc2 alone, then fc3 on the residual; default) or simultaneous")
    pf.add_argument("--folds", type=positive_int, default=FIT_DEFAULTS["folds"],
                    help=f"cross-validation folds (default {FIT_DEFAULTS['folds']})")
    pf.add_argument("--cv", choices=["blocks", "interleaved"], default=FIT_DEFAULTS["cv"],
                    help="folds as contiguous blocks of frames (default) or frame %% folds")
    pf.add_argument("--stride", type=positive_int, default=FIT_DEFAULTS["stride"], help="use every n-th frame")
    pf.add_argument("--n-frames", type=positive_int, help="use this many evenly spaced frames of each trajectory "
                                                               "(default: every frame)")
    pf.add_argument("--symprec", type=positive, default=FIT_DEFAULTS["symprec"],
                    help=f"symmetry tolerance in A (default {FIT_DEFAULTS['symprec']:g})")
    pf.add_argument("--constraints", help="extra exact conditions on the 2nd order, comma separated: "
                                          "rotational, huang (default none)")
    pf.add_argument("--force-weights", dest="weights", choices=list(WEIGHT_WORDS), default=FIT_DEFAULTS["weights"],
                    help="none (default): the unweighted fit, TDEP's effective constants (their residual is mostly "
                         "the anharmonicity the fitted orders cannot hold, not noise, and weighting by the "
                         "potential's uncertainty would count its least certain, often most anharmonic, "
                         "configurations less); uncertainty: generalised least squares, each force weighted by "
                         "1/sigma^2, sigma the file's force_std column or else its committee's spread (for noisy "
                         "forces about a model that holds)")
    pf.add_argument("--committee", choices=list(COMMITTEE_WORDS), default=FIT_DEFAULTS["committee"],
                    help="a committee of learned potentials (extended XYZ forces_committee or forces_0, forces_1, "
                         "... columns): auto (default) fits every member in the same pass where the files carry one "
                         "and prints the members' spread of the frequencies as a second error bar beside the "
                         "sampling one, and writes every member's constants into fc.nc (trajmodes anharmonic gives "
                         "their spread of the widths, shifts and kappa); yes requires one; no fits the forces alone")
    pf.add_argument("-o", "--output", default="trajmodes-fit", help="output folder (default trajmodes-fit): fc.nc, "
                                                                    "fc.scores.nc and the dispersion fc.png")
    pf.add_argument("--compare", help="0 K force constants to plot against: phonopy folder/file or trajmodes .nc "
                                      "(default: none)")
    pf.add_argument("--path", help="band path as special-point letters, e.g. 'GXU|KGL' (default: standard)")
    pf.add_argument("--npoints", type=positive_int, default=51, help="q-points per path segment (default 51)")
    add_plot_format(pf)
