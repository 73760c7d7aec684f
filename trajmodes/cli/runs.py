"""``trajmodes info``, ``convert``, ``run`` and ``fit``: a run's summary, its cache, and its effective force constants."""
from __future__ import annotations

import os
import sys
import time

from trajmodes.cli.options import (CENTROID_LINE, error_model_line, frequency_cells, input_files, output_file,
                                   read_run_or_beads, read_settings, read_trajectory, refuse_repeated_files, stem, step)
from trajmodes.workflows.fit import FIT_DEFAULTS

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
    s = run_summary(traj)
    if not known:
        print("\n".join(_box(traj)))
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
    s = run_summary(centroid)
    if not centroid.reference_known:
        print("\n".join(_box(centroid)))
    # the beads from the same sites (the centroid's reference): each bead's configuration a sample of the quantum
    # ensemble, so their <u^2> is the quantum crystal's (Ceperley, Rev. Mod. Phys. 67, 279 (1995))
    beads = run_summary(run.pooled.with_reference(centroid.reference))
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


def cmd_run(args, out) -> int:
    """The main job: summary, netCDF cache and summary plot; with forces also the effective (TDEP) force
    constants at the simulated temperature and their dispersion (against ``--compare``).

    The run is parsed once (:func:`~trajmodes.workflows.run.read_once`): the cache is written and the summary summed
    in the same pass (where the reference is the run's time average, that is summed too, and the displacements from
    it are summed in the fit's read of the cache); everything after reads the cache.
    """
    from trajmodes.workflows.fit import require_masses as masses_or_error
    from trajmodes.workflows.outputs import provenance, source_fingerprint
    from trajmodes.workflows.run import decided, read_once, reusable_cache
    if os.path.isfile(args.output):
        raise ValueError(f"-o {args.output} is a file; run writes a folder of results")
    traj, ring = read_run_or_beads(args)
    if ring is not None:
        # the centroid summarised and cached; the constants fitted over the beads (the quantum ensemble), read again
        print(f"{ring.describe()}: the summary and the cache are its centroid's (every atom's bead average); the "
              "effective constants are fitted over the beads (the quantum ensemble), a second read of the bead files",
              flush=True)
    traj = traj if ring is None else ring.centroid
    fit = traj.forces is not None and not args.no_fit
    if fit:
        masses_or_error(traj.species, traj.masses, getattr(traj.source, "masses_problem", None))  # before writing
        if ring is not None:           # a path-integral run's temperature (a GPUMD ramp states none): before writing
            ring.require_temperature("the fit of a path-integral run")
    reference_fc = _load_compare(args.compare) if fit else None
    known = traj.reference_known                                # else the time average, summed in the one pass
    _header(traj, box=known)
    inputs = input_files(traj, args)
    settings = read_settings(args, traj)
    cache = os.path.join(args.output, "trajectory.nc")
    fingerprint = source_fingerprint(inputs, settings=repr(sorted((k, str(v)) for k, v in settings.items()))
                                     + "; " + decided(traj))

    def attrs(values):
        T = float(values["temperature"].mean()) if "temperature" in values else None
        return provenance(inputs, settings, temperature=T)
    reuse = reusable_cache(cache, fingerprint, traj.n_frames)
    if reuse:
        print(f"reusing the netCDF cache {cache}: complete, {traj.n_frames} frames, written from these inputs "
              "(same size, modification time and first MiB) with these reading options", flush=True)
    with step(f"the summary from the cache {cache}" if reuse else
              f"reading the run once: the netCDF cache {cache} and the summary"):
        # the cache, once complete, kept in -o whatever happens later, and reused by the next run
        run = read_once(traj, cache, out(cache), fingerprint=fingerprint, attrs=attrs,
                        chunk_frames=args.chunk_frames, fit=fit and ring is None, keep=lambda: out.keep(cache),
                        reuse=reuse)
    traj = run.traj
    from trajmodes.workflows.summary import check_velocity_unit
    check_velocity_unit(traj, run.values)                     # the velocities' unit, before any fit
    if not known:
        print("\n".join(_box(traj)))                           # the mean box, now known
    prov = provenance(inputs, settings, temperature=run.temperature)
    if run.pending is None:
        _write_summary(traj, run.summary_values(), args, out, prov, cache, run.note)
    if fit:
        print("\neffective force constants at the simulated temperature "
              + ("(pair cutoff from the data):" if args.cutoff2 is None else f"(r2 = {args.cutoff2:g} A):"))
        settings_fit = fit_settings(args)
        if ring is not None:
            fitted, T = [ring.pooled], ring.require_temperature("the fit of a path-integral run")
        else:
            fitted, T = [run.cached], run.temperature
        fitting = _fit(fitted if ring is not None else [traj], settings_fit, args, reference_fc,
                       fitted=None if ring is not None else fitted, temperature=T)
        if run.pending is not None:                             # the summary, complete now
            _write_summary(traj, run.summary_values(), args, out, prov, cache, run.note)
        _write_fit(fitting, fitted if ring is not None else [traj], settings_fit, os.path.join(args.output, "fc"),
                   out, args, compare=args.compare, inputs=inputs, reference_fc=reference_fc, fitted=fitted)
    return 0


def _write_summary(traj, values, args, out, prov, cache, note) -> None:
    """Print the run's summary from its computed terms, write summary.nc and its figure."""
    from trajmodes.plots import plot_summary
    from trajmodes.workflows.outputs import write_dataset
    from trajmodes.workflows.summary import summary_of_sums
    s = summary_of_sums(traj, values)
    print(_summary_lines(s, traj, args, note))
    summary = write_dataset(s, os.path.join(args.output, "summary.nc"), out, prov)
    png = os.path.join(args.output, f"summary.{args.plot_format}")
    plot_summary(s, out(png), title=traj.source.describe())
    for done in (summary, png):        # complete: in place now, not when the fit after it ends
        out.keep(done)
    print(f"wrote {cache}, {summary}, {png}")


def print_cutoff_table(convergence, given: bool) -> None:
    """Print the convergence of the frequencies with the pair cutoff and its notes."""
    from trajmodes.workflows.fit import cutoff_report
    print(cutoff_report(convergence, given))


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


def _fit_and_write(trajs, settings: dict, stem: str, out, args, compare=None, inputs=(), reference_fc=None,
                   temperature=None):
    """Fit, print the scores, write STEM.nc, STEM.scores.nc and the dispersion figure (``temperature`` K: the
    runs' where their frames do not measure it, as a path-integral run's beads); the fitted estimator."""
    if reference_fc is None:
        reference_fc = _load_compare(compare)
    res = _fit(trajs, settings, args, reference_fc, temperature=temperature)
    _write_fit(res, trajs, settings, stem, out, args, compare=compare, inputs=inputs, reference_fc=reference_fc)
    return res[0].estimator


def _fit(trajs, settings: dict, args, reference_fc=None, fitted=None, temperature=None):
    """:func:`~trajmodes.workflows.fit.fit_effective` of the runs ``trajs`` (the potential's range from their LAMMPS
    input), read from ``fitted`` (their caches) where given, with the runs' mean ``temperature`` where known."""
    from trajmodes.workflows.fit import fit_effective
    reach = report_potential_range(trajs, args)
    polar = charges_of(trajs, args, reach)
    with step("fitting the effective force constants"):
        res = fit_effective(fitted or trajs, compare=reference_fc, path=getattr(args, "path", None),
                            npoints=getattr(args, "npoints", 51), potential_range=reach, temperature=temperature,
                            born=polar.born, epsilon=polar.epsilon, **settings)
    return res, reach


def charges_of(trajs, args, reach):
    """The Born charges of the fit (``--charges``): those of a rigid-ion run
    (:func:`~trajmodes.workflows.charges.rigid_ion_charges`, the same for every run: they share one crystal) with ``auto``,
    none with ``none``; what was decided printed in one line."""
    from trajmodes.workflows.charges import RigidIonCharges, rigid_ion_charges
    if getattr(args, "charges", "auto") == "none":
        return RigidIonCharges(None, None, "")
    found = rigid_ion_charges(trajs[0], reference=getattr(args, "reference", None), potential_range=reach,
                              logs=getattr(args, "thermo", None) or (), units=getattr(args, "units", None))
    if found.line:
        print(found.line, flush=True)
    return found


def _write_fit(fitted_result, trajs, settings: dict, stem: str, out, args, compare=None, inputs=(), reference_fc=None,
               fitted=None) -> None:
    """Print the scores of a fit (:func:`_fit`), write STEM.nc, STEM.scores.nc and the dispersion figure, and print
    the frequencies with their error bars (the error model reads ``fitted``, else ``trajs``)."""
    import numpy as np
    from trajmodes.plots import plot_dispersion_comparison
    from trajmodes.plots import fit_title
    from trajmodes.workflows.outputs import provenance, write_dataset
    res, reach = fitted_result
    given = settings.get("cutoff2") is not None
    est, fc = res.estimator, res.force_constants
    pr = fc.primitive
    settings = dict(settings, cutoff2=float(est.cutoff2), cutoff2_from="given" if given else "data")
    if reach is not None and reach.cutoff is not None:
        settings["potential_range"] = float(reach.cutoff)
    born = getattr(est, "born_", None)
    settings["charges"] = getattr(args, "charges", "auto") + (
        "" if born is None else " (rigid-ion: Born charges " + " ".join(f"{z:+.4g}" for z in born[:, 0, 0]) + ")")
    prov = provenance(inputs, dict(read_settings(args, trajs[0]), **settings,
                                   frames=int(est.scores_.n_frames), compare=compare),
                      temperature=res.temperature)
    target = stem + ".nc"
    members = est.committee_force_constants_       # a committee's members beside the constants (trajmodes anharmonic)
    fc.write(out(target), format="netcdf", attrs=prov, members=members)
    scores = write_dataset(est.scores_, stem + ".scores.nc", out, prov)
    cutoffs = None
    if res.convergence is not None:
        cutoffs = write_dataset(res.convergence.table, stem + ".cutoffs.nc", out, prov)
        print_cutoff_table(res.convergence, given)
    composition = ", ".join(f"{k} x {int((pr.species == k).sum())}" for k in dict.fromkeys(pr.species.tolist()))
    runs = f"{len(trajs)} trajector{'y' if len(trajs) == 1 else 'ies'}"
    lines = [f"fit: {runs}, {fc.n_atoms}-atom supercell {fc.smap.matrix.tolist()}, primitive "
             f"{composition} ({pr.space_group_symbol}); cutoffs r2 = {settings['cutoff2']:g} A"
             + (f", r3 = {settings['cutoff3']:g} A" if settings.get("cutoff3") is not None else "")
             + (f", r4 = {settings['cutoff4']:g} A" if settings.get("cutoff4") is not None else "")
             + f"; {settings['mode']} fit" + ("" if born is None else ", polar (dipole-dipole forces taken out)"),
             est.scores_table()]
    from trajmodes.workflows.fit import stability_line
    if stability_line(res):
        lines.append(stability_line(res))             # the fitted constants' own imaginary modes, where and how much
    big = res.largest_difference()
    unstable = res.reference_imaginary is not None and res.reference_imaginary.unstable
    if res.compare_refused is not None:
        # the fit is written above; the comparison it could not make is said, with what to give instead
        lines.append(f"against {compare}: not compared ({res.compare_refused}); {target} is written: compare it with "
                     "constants of the same crystal (trajmodes fit --compare, or trajmodes phonons)")
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
    # constants fitted over a path-integral run's beads are the quantum ensemble's: the figure says so
    beads = getattr(trajs[0].source, "n_beads", None)
    quantum = beads is not None and beads > 1
    label = ("quantum effective" if quantum else "effective") + (
        "" if res.temperature is None else f" ({res.temperature:.0f} K)")
    fig = f"{stem}.{args.plot_format}"
    plot_dispersion_comparison(res.bands, out(fig), res.reference_bands,
                               title=fit_title(pr.species, res.temperature, settings["mode"], settings["cutoff2"],
                                               settings.get("cutoff3"), n_beads=beads), label=label,
                               reference_label=_reference_label(compare, res.reference_imaginary)
                               + (f" ({res.reference_bands.attrs['folded']} cells of the other: folded)"
                                  if folded else ""))
    lines.append(f"wrote {target}, {scores}, " + (f"{cutoffs}, " if cutoffs else "") + fig)
    if members is not None:
        lines.append(f"{target} holds every committee member's constants too ({len(members)} members; "
                     + ("fc2, fc3" + (", fc4" if fc.fc4 is not None else "") + "): `trajmodes anharmonic` gives their "
                        "spread of the widths, shifts and kappa" if fc.fc3 is not None else "fc2)"))
    print("\n".join(lines))
    _print_frequency_errors(res, fitted or trajs, static=reference_fc)


def _print_frequency_errors(res, trajs, static=None) -> None:
    """The frequencies at the special points with the error bars calibrated for the run, and which error model they
    are (or that they are lower bounds, and why): :func:`trajmodes.workflows.fit.frequency_error_bars`; ``static``, the
    ``--compare`` constants, gives a lone run its d nu / dT where they are the static crystal at the run's volume."""
    from trajmodes.workflows.fit import frequency_error_bars
    from trajmodes.workflows.qpoints import qpoint_names
    try:
        with step("error bars of the frequencies"):
            ds = frequency_error_bars(res, trajs, static=static,
                                      progress=lambda line: print(line, file=sys.stderr, flush=True))
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


def _reference_label(compare, imaginary) -> str:
    """The legend of the ``--compare`` curve: its file with the folder above it (``eam0/fc.nc``, not ``fc.nc``),
    and whether it is unstable."""
    import numpy as np
    if not compare:
        return "0 K"
    parts = os.path.normpath(str(compare)).split(os.sep)
    name = os.path.join(*parts[-2:]) if len(parts) > 1 else parts[-1]
    if imaginary is not None and imaginary.unstable:
        where = imaginary.label or f"q = {np.round(imaginary.qpoint, 3).tolist()}"
        name += f" (unstable: lowest {imaginary.lowest:.2f} THz at {where})"
    return name


def fit_settings(args) -> dict:
    """The settings of the fit of ``trajmodes fit`` and ``trajmodes run`` (the keywords of
    :func:`~trajmodes.workflows.fit.fit_effective`, written to the provenance): the options ``args`` has (the cutoffs;
    ``cutoff4`` where the command offers it), :data:`~trajmodes.workflows.fit.FIT_DEFAULTS` for those it has not (``run`` offers the cutoffs
    only)."""
    settings = dict(cutoff2=args.cutoff2, cutoff3=args.cutoff3)
    if hasattr(args, "cutoff4"):
        settings["cutoff4"] = args.cutoff4
    settings.update({k: getattr(args, k, v) for k, v in FIT_DEFAULTS.items()})
    settings["constraints"] = tuple(c for c in (settings["constraints"] or "").split(",") if c)
    return settings


def cmd_fit(args, out) -> int:
    """Effective (TDEP) force constants from MD forces: scores, the constants as netCDF, a dispersion plot."""
    from trajmodes.workflows.fit import require_masses
    refuse_repeated_files(args.files, "FILE", "a fit pools each run once (given twice, its frames count twice and "
                          "the error bars come out too small)")
    trajs, temperatures, rings = [], [], []
    for f in args.files:
        traj, run = read_run_or_beads(args, [f])
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
    if args.cutoff4 is not None and args.cutoff3 is None:
        raise ValueError("--cutoff4 fits the fourth order after the third: give --cutoff3 with it")
    for t in trajs:
        require_masses(t.species, t.masses, getattr(t.source, "masses_problem", None))  # before the fit
        if getattr(t.source, "masses_from", None):
            print(f"masses of {os.path.basename(t.source.paths[0])}: {masses_line(t)}")
    settings = fit_settings(args)
    inputs = [p for t in trajs for p in input_files(t, args)]
    if temperatures and len(temperatures) != len(trajs):
        raise ValueError("fit pools runs of one ensemble: give path-integral runs or classical runs, not both (the "
                         "classical and the quantum effective constants differ; fit each on its own)")
    est = _fit_and_write(trajs, settings, stem(output_file(args, "fc.nc")), out, args, compare=args.compare,
                         inputs=inputs, temperature=sum(temperatures) / len(temperatures) if temperatures else None)
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
