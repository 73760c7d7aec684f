"""Command-line interface: ``trajmodes info``, ``convert``, ``run``, ``fit``, ``phonons``, ``eam``, ``project`` and
``lifetimes``.

Each command reads its options, calls :mod:`trajmodes.workflows` and the library, prints a report, and writes its
files and figures (:mod:`trajmodes.plots`). Files are staged (:class:`trajmodes.io.files.StagedOutputs`) and moved
into place only when the whole command succeeds, so a command that fails or is interrupted leaves no new output
folder and no partial files. Every error is one line on stderr and exit status 2 (``--debug`` shows the
traceback); Ctrl-C gives status 130, SIGTERM 143. Heavy packages are imported when a command runs, never for
``--help``.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import warnings

#: commands whose figures have a format; --plot-format names it everywhere
FIGURE_FORMATS = ("png", "pdf", "svg")


# ----------------------------------------------------------------------------- reading trajectories
def _add_read_options(p: argparse.ArgumentParser, reference: bool = True) -> None:
    p.add_argument("files", nargs="+", help="trajectory file(s): LAMMPS dump(s), XYZ, trajmodes .nc, or any "
                                            "MDAnalysis format")
    p.add_argument("--format", help="trajectory format: lammps, xyz, netcdf, or an MDAnalysis format such as DCD "
                                    "(default: guessed from the content)")
    if reference:
        p.add_argument("--reference", help="reference crystal: a LAMMPS data / structure file (best: the ideal "
                                           "crystal the run started from), 'average' (default: the time average of "
                                           "the run, one extra pass) or 'first' (the first frame)")
    p.add_argument("--units", help="LAMMPS unit style of the data (default: the dump's ITEM: UNITS, or the LAMMPS "
                                   "input beside it, else metal)")
    p.add_argument("--md-timestep", type=_positive, metavar="PS",
                   help="the MD integration time step in ps (LAMMPS' timestep): frame times are MD step x this; "
                        "for dumps without ITEM: TIME (default: the LAMMPS input or log beside the dump)")
    p.add_argument("--frame-interval", type=_positive, metavar="PS",
                   help="the time between two frames in ps, for files without times")
    p.add_argument("--species", help="elements of the LAMMPS types, comma separated (type 1 first), e.g. Cu or Si,Ge")
    p.add_argument("--masses", type=_floats, help="masses of the LAMMPS types in amu, comma separated (type 1 "
                                                  "first), when --species is not given or to override it")
    p.add_argument("--topology", help="topology file for MDAnalysis formats such as DCD or XTC")
    p.add_argument("--chunk-frames", type=_positive_int, metavar="N", help="frames per Dask chunk")


def _read(args, files=None):
    """One trajectory from the command's read options (several files: one run split into restarts)."""
    import trajmodes
    files = args.files if files is None else files
    species = args.species.split(",") if args.species else None
    reference = getattr(args, "reference", None)
    traj = trajmodes.read(files if len(files) > 1 else files[0], format=args.format, reference=reference,
                          units=args.units, md_timestep=args.md_timestep, frame_interval=args.frame_interval,
                          species=species, masses=args.masses, topology=args.topology, chunk_frames=args.chunk_frames)
    if reference is None and getattr(traj.source, "reference", None) is None:
        traj = traj.with_reference("average")        # a thermal snapshot is a poor reference: the run's average
    return traj


def _inputs(traj, args) -> list[str]:
    """The files a result from ``traj`` was computed from: the trajectory's, and a reference structure file."""
    ref = getattr(args, "reference", None)
    return list(traj.source.paths) + ([ref] if ref and os.path.isfile(ref) else [])


def _read_settings(args, traj) -> dict:
    """The read options that shape a result from ``traj`` (for its provenance): reference, units, time step,
    species, masses."""
    reference = getattr(args, "reference", None) or (
        "stored in the cache" if getattr(traj.source, "reference", None) is not None else "average")
    return dict(reference=reference, units=args.units,
                md_timestep=args.md_timestep, frame_interval=args.frame_interval, species=args.species,
                masses=args.masses)


# ----------------------------------------------------------------------------- option types
def _positive(text: str) -> float:
    import math
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive, finite number, not {text!r}")
    return v


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text!r}")
    return v


def _non_negative_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text!r}")
    return v


def _floats(text: str) -> list[float]:
    return [_positive(x) for x in text.split(",") if x.strip()]


def _mesh(text: str) -> list[int]:
    try:
        m = [int(x) for x in text.replace("x", ",").split(",") if x.strip()]
    except ValueError:
        m = []
    if len(m) == 1:
        m *= 3
    if len(m) != 3 or min(m) < 1:
        raise argparse.ArgumentTypeError(f"mesh must be N or N1,N2,N3 (positive), not {text!r}")
    return m


def _temperatures(text: str):
    """'T' or 'Tmin:Tmax:step' (Tmax included, as phonopy) or 'T1,T2,...' in K."""
    import numpy as np
    try:
        if ":" in text:
            lo, hi, step = (float(x) for x in text.split(":"))
            if not step > 0 or hi < lo or lo < 0:
                raise ValueError
            return np.arange(lo, hi + 0.5 * step, step)
        out = np.array([float(x) for x in text.split(",")])
        if not np.all(np.isfinite(out)) or np.any(out < 0):
            raise ValueError
        return out
    except ValueError:
        raise argparse.ArgumentTypeError(f"temperatures must be TMIN:TMAX:STEP or T1,T2,... in K (0 or more), "
                                         f"not {text!r}") from None


# ----------------------------------------------------------------------------- writing
def _stem(path: str) -> str:
    return path[:-3] if path.endswith(".nc") else path


def _write_dataset(ds, target: str, out, attrs: dict) -> str:
    """Write an xarray dataset (staged, atomic) with ``attrs`` added to its own, all made netCDF-safe."""
    from trajmodes.io.files import atomic_write
    from trajmodes.io.provenance import clean_attrs
    ds = ds.copy()
    ds.attrs = clean_attrs({**ds.attrs, **attrs})
    atomic_write(out(target), lambda tmp: ds.to_netcdf(tmp, engine="netcdf4"))
    return target


class _Steps:
    """One line on stderr per step of a command that can take seconds, with its time when it has taken over one."""

    def __init__(self):
        self.t0 = None

    def __call__(self, label: str):
        self.label = label
        return self

    def __enter__(self):
        print(f"{self.label} ...", file=sys.stderr, flush=True)
        self.t0 = time.perf_counter()

    def __exit__(self, exc_type, exc, tb):
        dt = time.perf_counter() - self.t0
        if exc_type is None and dt >= 1.0:
            print(f"{self.label}: done in {dt:.1f} s", file=sys.stderr, flush=True)


step = _Steps()


# ----------------------------------------------------------------------------- info, convert, run
def _fmt_cell(cell) -> list[str]:
    import numpy as np
    lengths = np.linalg.norm(cell, axis=1)
    a, b, c = cell
    ang = [np.degrees(np.arccos(np.dot(x, y) / np.linalg.norm(x) / np.linalg.norm(y))) for x, y in
           ((b, c), (a, c), (a, b))]
    return [f"  a = {lengths[0]:.5f}  b = {lengths[1]:.5f}  c = {lengths[2]:.5f} A;  "
            f"alpha = {ang[0]:.3f}  beta = {ang[1]:.3f}  gamma = {ang[2]:.3f} deg;  "
            f"volume = {abs(np.linalg.det(cell)):.4f} A^3"]


def _report(traj, args):
    """Print the summary of ``traj`` (one streamed pass) and return it as an xarray Dataset."""
    import numpy as np
    from trajmodes.trajectory.summary import summarize
    src = traj.source
    kinds = sorted(set(traj.species.tolist()))
    out = [f"source:     {src.describe()}",
           f"format:     {src.format} (data in {src.units} units, shown in metal units)",
           f"frames:     {traj.n_frames} (steps {traj.steps[0]} .. {traj.steps[-1]}), "
           f"{traj.frame_interval:g} ps between frames, {traj.times[-1] - traj.times[0]:g} ps in all",
           f"time axis:  {traj.time_axis}",
           f"atoms:      {traj.n_atoms}: " + ", ".join(f"{k} x {int((traj.species == k).sum())}" for k in kinds),
           "masses:     " + ("unknown (give --species, --masses, or a reference data file with Masses)"
                             if traj.masses is None else
                             ", ".join(f"{k} {float(traj.masses[traj.species == k][0]):.4f} amu" for k in kinds)),
           "fields:     " + ", ".join(src.fields) + (" (positions unwrapped)" if src.unwrapped else "")]
    ref = traj.reference
    if ref.cell is not None:
        out.append("box (reference):")
        out += _fmt_cell(ref.cell)
    print("\n".join(out), flush=True)
    t0 = time.perf_counter()
    s = summarize(traj)
    ref_name = getattr(args, "reference", None) or ("stored in the cache" if getattr(src, "reference", None)
                                                     is not None else "the time average of the run")
    lines = []
    if "temperature" in s:
        T = s.temperature.values
        lines.append(f"temperature: {T.mean():.2f} +- {T.std():.2f} K (min {T.min():.2f}, max {T.max():.2f}; "
                     "kinetic, 3N-3 degrees of freedom)")
    lines.append(f"displacements from the reference ({ref_name}):")
    for k in s.species.values:
        m = s.msd.sel(species=k).values
        lines.append(f"  {k}: <u^2> x y z = {m[0]:.5f} {m[1]:.5f} {m[2]:.5f} A^2, rms |u| = "
                     f"{float(s.rms_displacement.sel(species=k)):.4f} A")
    lines.append(f"  largest |u| = {float(s.max_displacement):.4f} A; mean-displacement drift over the run = "
                 f"{np.linalg.norm(s.drift.values[-1] - s.drift.values[0]):.4g} A")
    lines.append(f"(statistics streamed in {time.perf_counter() - t0:.2f} s)")
    print("\n".join(lines))
    return s


def cmd_info(args, out) -> int:
    """Frames, atoms, box, time step, temperature and displacement statistics, in one streamed pass."""
    _report(_read(args), args)
    return 0


def cmd_convert(args, out) -> int:
    """Write (part of) a trajectory as trajmodes' chunked netCDF4 cache."""
    traj = _read(args)
    n = traj.n_frames
    if args.start >= n:
        raise ValueError(f"--start {args.start} is beyond the last frame: the trajectory has {n} frames "
                         f"(0 .. {n - 1})")
    if args.stop is not None and args.stop <= args.start:
        raise ValueError(f"--stop {args.stop} must be after --start {args.start}")
    if args.stride > 1 or args.start or args.stop is not None:
        traj = traj[args.start:args.stop:args.stride]
    t0 = time.perf_counter()
    with step(f"writing {args.output}"):
        traj.to_netcdf(out(args.output), displacements=args.displacements,
                       attrs={"setting_start": args.start, "setting_stop": args.stop, "setting_stride": args.stride})
    print(f"wrote {args.output}: {traj.n_frames} frames x {traj.n_atoms} atoms "
          f"({'displacements' if args.displacements else 'positions'}, "
          f"{', '.join(f for f in traj.source.fields if f != 'positions')}) in {time.perf_counter() - t0:.2f} s")
    return 0


def cmd_run(args, out) -> int:
    """The main job: summary, netCDF cache and summary plot; with forces also the effective (TDEP) force
    constants at the simulated temperature and their dispersion (against ``--compare``)."""
    from trajmodes.plots import plot_summary
    from trajmodes.io.provenance import provenance
    from trajmodes.workflows import default_cutoff2
    if os.path.isfile(args.output):
        raise ValueError(f"-o {args.output} is a file; run writes a folder of results")
    traj = _read(args)
    s = _report(traj, args)
    inputs = _inputs(traj, args)
    cache = os.path.join(args.output, "trajectory.nc")
    T = float(s.temperature.values.mean()) if "temperature" in s else None
    prov = provenance(inputs, _read_settings(args, traj), temperature=T)
    with step(f"writing the netCDF cache {cache}"):
        traj.to_netcdf(out(cache), attrs=prov)
    summary = _write_dataset(s, os.path.join(args.output, "summary.nc"), out, prov)
    png = os.path.join(args.output, f"summary.{args.plot_format}")
    plot_summary(s, out(png), title=traj.source.describe())
    print(f"wrote {cache}, {summary}, {png}")
    if traj.forces is None or args.no_fit:
        return 0
    ref = traj.reference
    cutoff2 = args.cutoff2 if args.cutoff2 is not None else default_cutoff2(ref.cell) if ref.cell is not None else 6.0
    print(f"\neffective force constants at the simulated temperature (r2 = {cutoff2:g} A):")
    settings = dict(cutoff2=cutoff2, cutoff3=args.cutoff3, mode="sequential", folds=5, cv="blocks", stride=1,
                    n_frames=None, symprec=1e-3, constraints=())
    _fit_and_write([traj], settings, os.path.join(args.output, "fc"), out, args, compare=args.compare,
                   inputs=inputs)
    return 0


# ----------------------------------------------------------------------------- fit
def _fit_and_write(trajs, settings: dict, stem: str, out, args, compare=None, inputs=()) -> None:
    """Fit, print the scores, write STEM.nc, STEM.scores.nc and the dispersion figure."""
    import numpy as np
    from trajmodes.plots import plot_dispersion_comparison
    from trajmodes.io.provenance import provenance
    from trajmodes.workflows import fit_effective
    with step("fitting the effective force constants"):
        res = fit_effective(trajs, compare=compare, path=getattr(args, "path", None),
                            npoints=getattr(args, "npoints", 51), **settings)
    est, fc = res.estimator, res.force_constants
    pr = fc.primitive
    prov = provenance(inputs, dict(_read_settings(args, trajs[0]), **settings,
                                   frames=int(est.scores_.n_frames), compare=compare),
                      temperature=res.temperature)
    target = stem + ".nc"
    fc.to_netcdf(out(target), attrs=prov)
    scores = _write_dataset(est.scores_, stem + ".scores.nc", out, prov)
    composition = ", ".join(f"{k} x {int((pr.species == k).sum())}" for k in dict.fromkeys(pr.species.tolist()))
    runs = f"{len(trajs)} trajector{'y' if len(trajs) == 1 else 'ies'}"
    lines = [f"fit: {runs}, {fc.n_atoms}-atom supercell {fc.smap.matrix.tolist()}, primitive "
             f"{composition} ({pr.space_group_symbol}); cutoffs r2 = {settings['cutoff2']:g} A"
             + (f", r3 = {settings['cutoff3']:g} A" if settings.get("cutoff3") is not None else "")
             + f"; {settings['mode']} fit", est.scores_table()]
    big = res.largest_difference()
    if big is not None:
        d, branch, q, mean = big
        lines.append(f"against {compare}: largest difference {d:+.4f} THz (branch {branch} at "
                     f"q = {np.round(q, 4).tolist()}), mean {mean:+.4f} THz")
    label = "effective" + ("" if res.temperature is None else f" ({res.temperature:.0f} K)")
    fig = f"{stem}.{args.plot_format}"
    plot_dispersion_comparison(res.bands, out(fig), res.reference_bands,
                               title=f"{os.path.basename(stem)}: {composition}, {settings['mode']} fit, "
                                     f"r2 = {settings['cutoff2']:g} A", label=label,
                               reference_label=os.path.basename(os.path.normpath(str(compare))) if compare
                               else "0 K")
    lines.append(f"wrote {target}, {scores}, {fig}")
    print("\n".join(lines))


def cmd_fit(args, out) -> int:
    """Effective (TDEP) force constants from MD forces: scores, the constants as netCDF, a dispersion plot."""
    trajs = [_read(args, [f]) for f in args.files]
    settings = dict(cutoff2=args.cutoff2, cutoff3=args.cutoff3, mode=args.mode, folds=args.folds, cv=args.cv,
                    stride=args.stride, n_frames=args.n_frames, symprec=args.symprec,
                    constraints=tuple(c for c in (args.constraints or "").split(",") if c))
    inputs = [p for t in trajs for p in _inputs(t, args)]
    _fit_and_write(trajs, settings, _stem(args.output), out, args, compare=args.compare, inputs=inputs)
    return 0


# ----------------------------------------------------------------------------- phonons, eam
def cmd_phonons(args, out) -> int:
    """Band structure, DOS and thermodynamics of force constants: netCDF files and figures."""
    import numpy as np
    from trajmodes.plots import plot_bands_dos, plot_thermal
    from trajmodes.io.provenance import provenance
    from trajmodes.workflows import load_force_constants, phonon_properties
    t0 = time.perf_counter()
    fc = load_force_constants(args.fc)
    with step(f"bands, DOS ({args.dos}, mesh {'x'.join(map(str, args.mesh))}) and thermodynamics"):
        res = phonon_properties(fc, path=args.path, npoints=args.npoints, mesh=args.mesh, dos=args.dos,
                                temperatures=args.temperatures)
    pr = fc.primitive
    prov = provenance([args.fc], dict(path=args.path, npoints=args.npoints, mesh=args.mesh, dos=args.dos))
    written = [_write_dataset(ds, os.path.join(args.output, name), out, prov)
               for name, ds in (("band.nc", res.bands), ("dos.nc", res.dos), ("thermal.nc", res.thermal))]
    composition = ", ".join(f"{k} x {int((pr.species == k).sum())}" for k in dict.fromkeys(pr.species.tolist()))
    title = (f"{os.path.basename(os.path.normpath(args.fc))}: {composition}, {pr.space_group_symbol} "
             f"(No. {pr.space_group_number}), supercell {fc.smap.matrix.tolist()}")
    fig1 = os.path.join(args.output, f"bands_dos.{args.plot_format}")
    fig2 = os.path.join(args.output, f"thermal.{args.plot_format}")
    with step("drawing the figures"):
        plot_bands_dos(res.bands, res.dos, out(fig1), title=title)
        plot_thermal(res.thermal, out(fig2), title=title, n_modes=res.phonons.n_branches)
    written += [fig1, fig2]
    f, fb, thermal = res.mesh_frequencies, res.bands.frequency.values, res.thermal
    n_imag, lowest, worst = res.imaginary(args.imaginary_tol)
    mesh = "x".join(map(str, args.mesh))
    lines = [f"force constants: {args.fc} ({fc.layout} layout, {fc.n_atoms}-atom supercell, matrix "
             f"{fc.smap.matrix.tolist()}, ASR violation {fc.asr_violation():.2e} eV/A^2)",
             f"primitive cell:  {pr.n_atoms} atoms ({composition}), space group {pr.space_group_symbol} "
             f"(No. {pr.space_group_number})",
             f"mesh {mesh} ({len(res.mesh_q)} q): frequencies {f.min():.4f} .. {f.max():.4f} THz; "
             f"band path {' '.join(res.bands.attrs['tick_labels'])}: {fb.min():.4f} .. {fb.max():.4f} THz",
             "acoustic modes at Gamma: " + ", ".join(f"{x:.2e}" for x in res.phonons.frequencies([0, 0, 0])[0][:3])
             + " THz"]
    if n_imag:
        lines.append(f"WARNING: {n_imag} imaginary modes on the mesh (below -{args.imaginary_tol:g} THz), lowest "
                     f"{lowest:.4f} THz at q = {np.round(worst, 4).tolist()}")
    else:
        lines.append(f"no imaginary modes (none below -{args.imaginary_tol:g} THz on the mesh)")
    i300 = int(np.argmin(np.abs(thermal.temperature.values - 300.0)))
    lines.append(f"thermal ({res.dos.attrs['method']} DOS, {mesh} mesh): zero-point energy "
                 f"{float(thermal.zero_point_energy):.4f} kJ/mol; at {thermal.temperature.values[i300]:g} K "
                 f"F = {float(thermal.free_energy[i300]):.4f} kJ/mol, S = {float(thermal.entropy[i300]):.4f}, "
                 f"Cv = {float(thermal.heat_capacity[i300]):.4f} J/(K mol) per primitive cell")
    lines.append(f"wrote {', '.join(written)} in {time.perf_counter() - t0:.2f} s")
    print("\n".join(lines))
    return 0


def cmd_eam(args, out) -> int:
    """Analytic force constants of an EAM potential for a cubic crystal: BvK shell constants with the
    pair / embedding breakdown, force constants netCDF, band structure and a BvK comparison plot."""
    import numpy as np
    from trajmodes.potentials import bvk
    from trajmodes.potentials.eam import EAM
    from trajmodes.phonons.harmonic import Phonons
    from trajmodes.plots import plot_bands_dos, plot_bvk
    from trajmodes.io.provenance import provenance
    from trajmodes.workflows import eam_crystal, load_force_constants
    t0 = time.perf_counter()
    pot = EAM(args.potential)
    structure = args.structure.lower()
    species = args.element.split(",") if args.element else None
    with step(f"analytic force constants of {os.path.basename(args.potential)} ({structure}, a = {args.a:g} A)"):
        res = eam_crystal(pot, structure, args.a, species=species, supercell=args.supercell)
    species = species or (list(pot.elements) if structure == "l12" else pot.elements[:1])
    prov = provenance([args.potential], dict(structure=structure, a=args.a, element=species,
                                             supercell=args.supercell))
    lines = [f"potential: {pot.paths[0]} ({pot.style}, elements {', '.join(pot.elements)}, cutoff {pot.cutoff:g} A)",
             f"crystal:   {structure} {species[0] + '3' + species[1] if structure == 'l12' else species[0]}, "
             f"a = {args.a:g} A, {args.supercell}^3 conventional-cell supercell"]
    written = []
    fc = res.force_constants
    if res.shells is not None:
        ds = res.shells
        total = ds["value"].sel(part="total")
        summed = ds["value"].sel(part="pair") + ds["value"].sel(part="e12") + ds["value"].sel(part="e3")
        lines.append("BvK shell constants (N/m, = -Phi; Riffe et al., Table I), total = pair + e12 + e3 = "
                     f"effective_pair + e3 (max |difference| {float(np.nanmax(np.abs(total - summed))):.1e}):")
        parts = list(ds["part"].values)
        lines.append(f"  {'const':6s}{'symbol':>10s}" + "".join(f"{p:>15s}" for p in parts))
        for k, name in enumerate(ds["constant"].values):
            lines.append(f"  {str(name):6s}{str(ds['paper_symbol'].values[k]):>10s}"
                         + "".join(f"{float(ds['value'].sel(part=p).values[k]):15.4f}" for p in parts))
        lines.append("closed-form one-atom dynamical matrix (Riffe et al., eqs. 44 and 48) vs supercell route: "
                     f"max |dD| {res.closed_form_deviation:.1e} eV/(A^2 amu)")
        written.append(_write_dataset(ds, os.path.join(args.output, "bvk.nc"), out, prov))
        sources = {"EAM (analytic)": ds.sel(part="total")}
        for path in args.compare or []:
            sources[os.path.basename(os.path.normpath(path))] = bvk.shell_constants(load_force_constants(path),
                                                                                    lattice=structure)
        fig = os.path.join(args.output, f"bvk.{args.plot_format}")
        plot_bvk(sources, out(fig), title=f"{os.path.basename(args.potential)}: {structure} a = {args.a:g} A")
        written.append(fig)
        names = [str(c) for c in ds["constant"].values]
        for label, other in list(sources.items())[1:]:
            ov = dict(zip(map(str, other["constant"].values), other["value"].values))
            lines.append(f"  vs {label}: " + ", ".join(f"{c} {ov.get(c, np.nan):.3f}" for c in names[:5]) + " ...")
    else:
        lines.append("BvK shell constants need a one-atom fcc/bcc crystal: skipped for " + structure)
        if args.compare:
            lines.append("--compare ignored (the BvK comparison is for fcc/bcc)")
    target = os.path.join(args.output, "fc.nc")
    fc.to_netcdf(out(target), attrs=prov)
    written.append(target)
    ph = Phonons(fc)
    with step(f"band structure and DOS (mesh {'x'.join(map(str, args.mesh))})"):
        bands = ph.band_structure(args.path, npoints=args.npoints)
        dos = ph.dos(args.mesh)
    fb = bands.frequency.values
    fig = os.path.join(args.output, f"bands_dos.{args.plot_format}")
    with step("drawing the figures"):
        plot_bands_dos(bands, dos, out(fig), title=f"{os.path.basename(args.potential)}: {structure} "
                                                   f"a = {args.a:g} A (analytic EAM)")
    written.append(fig)
    lines.append(f"force constants: ASR violation {fc.asr_violation():.1e} eV/A^2; band path "
                 f"{' '.join(bands.attrs['tick_labels'])}: {fb.min():.4f} .. {fb.max():.4f} THz")
    lines.append(f"wrote {', '.join(written)} in {time.perf_counter() - t0:.2f} s")
    print("\n".join(lines))
    return 0


# ----------------------------------------------------------------------------- project, lifetimes
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
    for iq in range(len(q)):
        for ib in range(H.shape[1]):
            rows.append(f"{iq:>4} {str(np.round(q[iq], 4).tolist()) if ib == 0 else '':>22} "
                        f"{int(star[iq]) if ib == 0 else '':>4} {ib:>2} {H[iq, ib]:8.4f} "
                        f"{g['frequency'][iq, ib]:8.4f} {g['frequency_err'][iq, ib]:6.4f} {g['shift'][iq, ib]:+7.4f} "
                        f"{g['fwhm'][iq, ib]:7.4f} {g['fwhm_err'][iq, ib]:6.4f} {g['lifetime'][iq, ib]:7.3f} "
                        f"{eq[iq, ib]:6.3f}  {g['status'][iq, ib]}")
    return "\n".join(rows + _modes_footer(ds))


def _modes_footer(ds) -> list[str]:
    """The closing lines of the mode table and summary: fits, equipartition, conventions."""
    import numpy as np
    st = ds["peak_status"].values.astype(str)
    eq = ds["equipartition"].values
    ok = st == "ok"
    nt = ~ds["translation"].values
    return [f"{int(ok.sum())} of {ok.size} modes 'ok'; equipartition <E>/(k_B T) over the non-translation "
                f"modes: mean {np.nanmean(eq[nt]):.4f}, min {np.nanmin(eq[nt]):.4f}, max {np.nanmax(eq[nt]):.4f} "
                f"(T = {ds.attrs.get('temperature', float('nan')):.2f} K, {ds.attrs.get('temperature_source', '')}); "
            f"<PE>/<KE> mean {np.nanmean(ds['potential'].values[nt] / ds['kinetic'].values[nt]):.4f}",
            f"FWHM and lifetime convention: {ds.attrs.get('peak_convention', '')}; peaks fitted with the "
            f"{ds.attrs.get('peak_model', '')} model"
            + (", averaged over degenerate branches and the star of q" if ds.attrs.get("star_averaged") else
               ", averaged over degenerate branches")]


#: a Welch estimate resolves a line of FWHM G with segments of 2/G ps; 8 half-overlapping ones take 9/G ps
RUN_PS_PER_INVERSE_FWHM = 9.0


def modes_summary(ds) -> str:
    """Per-branch summary of a ``trajmodes project`` dataset: how many modes were resolved, flagged and why,
    median shift and FWHM, and the run length the measured lines would need."""
    import numpy as np
    st = ds["peak_status"].values.astype(str)
    shift, fwhm = ds["peak_shift"].values, ds["peak_fwhm"].values
    H = ds["frequency_harmonic"].values
    trans = ds["translation"].values if "translation" in ds else np.zeros(st.shape, bool)
    rows = [f"{'branch':>6} {'modes':>5} {'ok':>4} {'narrow':>6} {'aliased':>7} {'other':>5} {'harm (THz)':>14} "
            f"{'shift med':>9} {'FWHM med':>8}  (fit status per branch; narrow: width below resolution; aliased: "
            "above Nyquist; --table for every mode)"]
    for b in range(st.shape[1]):
        keep = ~trans[:, b]
        s = st[keep, b]
        ok = s == "ok"
        narrow = s == "width below resolution"
        aliased = np.char.startswith(s, "above Nyquist")
        h = H[keep, b]
        med_shift = f"{np.nanmedian(shift[keep, b][ok]):+9.4f}" if ok.any() else f"{'-':>9}"
        med_fwhm = f"{np.nanmedian(fwhm[keep, b][ok]):8.4f}" if ok.any() else f"{'-':>8}"
        rows.append(f"{b:>6} {len(s):>5} {int(ok.sum()):>4} {int(narrow.sum()):>6} {int(aliased.sum()):>7} "
                    f"{int((~ok & ~narrow & ~aliased).sum()):>5} {h.min():6.2f}..{h.max():6.2f} {med_shift} {med_fwhm}")
    ok, narrow = st == "ok", st == "width below resolution"
    enbw = float(ds.attrs.get("spectra_enbw_thz", np.nan))
    T = float(ds.attrs.get("spectra_segment_length_ps", np.nan)) * max(int(ds.attrs.get("spectra_n_segments", 1)), 1)
    lines = ["\n".join(rows)]
    if narrow.any():
        lines.append(f"{int(narrow.sum())} modes have lines narrower than this run resolves ({enbw:.4f} THz): their "
                     f"widths are upper bounds. A line of FWHM G needs about {RUN_PS_PER_INVERSE_FWHM:g}/G ps (8 "
                     f"half-overlapping Welch segments of 2/G): at least {RUN_PS_PER_INVERSE_FWHM / enbw:.0f} ps for "
                     f"lines this narrow, or try --full (one periodogram, resolution 1/T).")
    if ok.any():
        g = float(np.nanmin(fwhm[ok]))
        lines.append(f"narrowest measured line: FWHM {g:.4f} THz (needs about {RUN_PS_PER_INVERSE_FWHM / g:.0f} ps; "
                     f"this run's spectra span about {T:.0f} ps).")
    return "\n".join(lines + _modes_footer(ds))


def cmd_project(args, out) -> int:
    """Project a trajectory onto phonon modes: energies, spectra, peak fits in one netCDF, and the table."""
    import trajmodes
    from trajmodes.phonons.harmonic import Phonons
    from trajmodes.io.provenance import provenance
    from trajmodes.workflows import load_force_constants, modes_dataset
    t0 = time.perf_counter()
    traj = _read(args)
    ph = Phonons(load_force_constants(args.force_constants))
    modes = trajmodes.project(traj, ph)
    with step(f"energies, spectra and peak fits of {modes.sizes['q'] * modes.sizes['branch']} modes"):
        ds = modes_dataset(modes, resolution=args.resolution, full=args.full, model=args.model,
                           star=not args.no_star, temperature=args.temperature, keep_q=args.keep_q, phonons=ph)
    ds.attrs.update(source=str(traj.source.describe()), force_constants=str(args.force_constants),
                    time_axis=traj.time_axis)
    prov = provenance(_inputs(traj, args) + [args.force_constants],
                      dict(_read_settings(args, traj), resolution=args.resolution, full=args.full,
                           model=args.model, star=not args.no_star, frames=traj.n_frames),
                      temperature=ds.attrs.get("temperature"))
    _write_dataset(ds, args.output, out, prov)
    print(modes_table(ds) if args.table else modes_summary(ds))
    print(f"{traj.n_frames} frames x {modes.sizes['q']} q x {modes.sizes['branch']} branches; spectra "
          f"{'full resolution' if args.full else 'Welch'} ({ds.attrs['spectra_resolution_thz']:.4f} THz bins, "
          f"{ds.attrs['spectra_n_segments']} segment(s)); time axis: {traj.time_axis}; wrote {args.output} in "
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


def _default_modes(ds, n=6):
    """The highest branch of the first stars with an 'ok' fit, then the lowest: up to n modes."""
    import numpy as np
    st = ds["peak_status"].values.astype(str)
    star = ds["star"].values if "star" in ds.coords else np.arange(st.shape[0])
    picked, seen = [], set()
    for ib in (st.shape[1] - 1, 0):
        for iq in range(st.shape[0]):
            if st[iq, ib] == "ok" and (star[iq], ib) not in seen and len(picked) < n:
                seen.add((star[iq], ib))
                picked.append((iq, ib))
                if len(picked) >= (n // 2 if ib else n):
                    break
    return picked or [(min(1, st.shape[0] - 1), st.shape[1] - 1)]


def cmd_lifetimes(args, out) -> int:
    """Read a ``trajmodes project`` file back: the table and, with --plot, the figures."""
    import xarray as xr
    from trajmodes.plots import plot_linewidth_dispersion, plot_mode_fits, plot_sed
    from trajmodes.workflows import path_bands
    if not os.path.exists(args.modes_file):
        raise FileNotFoundError(f"{args.modes_file}: no such file")
    with xr.open_dataset(args.modes_file) as f:
        ds = f.load()
    if "peak_frequency" not in ds:
        raise ValueError(f"{args.modes_file} is not a 'trajmodes project' file (no peak_frequency)")
    print(modes_table(ds) if args.table else modes_summary(ds))
    if args.plot:
        stem = args.output or _stem(args.modes_file)
        nq, nb = ds["peak_frequency"].shape
        chosen = _parse_modes(args.modes, nq, nb) if args.modes else _default_modes(ds)
        title = os.path.basename(str(ds.attrs.get("source", args.modes_file)))
        figs = [f"{stem}_fits.{args.plot_format}", f"{stem}_dispersion.{args.plot_format}",
                f"{stem}_sed.{args.plot_format}"]
        plot_mode_fits(ds, chosen, out(figs[0]), title=title)
        bands, rotations, note = path_bands(ds, args.force_constants)
        if note:
            print(f"dispersion plot: {note}")
        plot_linewidth_dispersion(ds, out(figs[1]), title=title, bands=bands, rotations=rotations, note=note)
        plot_sed(ds, out(figs[2]), title=title, bands=bands, rotations=rotations, note=note)
        print(f"wrote {', '.join(figs)}")
    return 0


# ----------------------------------------------------------------------------- the parser
def _plot_format(p) -> None:
    p.add_argument("--plot-format", choices=FIGURE_FORMATS, default="png", help="figure format (default png)")


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    """The parser and its subcommand parsers by name."""
    from trajmodes import __version__
    p = argparse.ArgumentParser(prog="trajmodes", description="Phonons at the simulated temperature from MD "
                                                               "trajectories of crystals.")
    p.add_argument("--version", action="version", version=f"trajmodes {__version__}")
    p.add_argument("--debug", action="store_true", help="show the full traceback of an error (also "
                                                        "TRAJMODES_DEBUG=1)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cmds = {}

    def add(name, func, help):
        c = sub.add_parser(name, help=help, description=help)
        c.set_defaults(func=func)
        c.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the full traceback of an error (also TRAJMODES_DEBUG=1)")
        cmds[name] = c
        return c

    pi = add("info", cmd_info, "frames, atoms, box, time step, temperature and displacement statistics")
    _add_read_options(pi)
    pc = add("convert", cmd_convert, "write the trajectory as a chunked netCDF4 cache (fast re-reads)")
    _add_read_options(pc)
    pc.add_argument("-o", "--output", required=True, help="output .nc file")
    pc.add_argument("--displacements", action="store_true", help="store displacements from the reference "
                                                                 "instead of positions")
    pc.add_argument("--start", type=_non_negative_int, default=0, help="first frame (default 0)")
    pc.add_argument("--stop", type=_positive_int, help="frame to stop before")
    pc.add_argument("--stride", type=_positive_int, default=1, help="keep every n-th frame")
    pr = add("run", cmd_run, "the main job: summary, netCDF cache, effective force constants and plots in an "
                             "output folder")
    _add_read_options(pr)
    pr.add_argument("-o", "--output", default="trajmodes-out", help="output folder (default trajmodes-out)")
    pr.add_argument("--cutoff2", type=_positive, help="pair cutoff of the effective fit in A (default: "
                                                      "min(6, 0.49 x the shortest supercell vector))")
    pr.add_argument("--cutoff3", type=_positive, help="triplet cutoff of the effective fit in A (default: none)")
    pr.add_argument("--compare", help="0 K force constants to plot the effective dispersion against "
                                      "(phonopy folder/file or trajmodes .nc)")
    pr.add_argument("--no-fit", action="store_true", help="skip the effective force constants")
    _plot_format(pr)
    pf = add("fit", cmd_fit, "effective (TDEP) 2nd- and 3rd-order force constants from MD forces: scores, "
                             "netCDF and the effective dispersion")
    _add_read_options(pf)
    pf.add_argument("--cutoff2", type=_positive, default=6.0, help="pair cutoff in A (default 6)")
    pf.add_argument("--cutoff3", type=_positive, help="triplet cutoff in A (default: second order only)")
    pf.add_argument("--mode", choices=["sequential", "simultaneous"], default="sequential",
                    help="sequential (TDEP: fc2 alone, then fc3 on the residual; default) or simultaneous")
    pf.add_argument("--folds", type=_positive_int, default=5, help="cross-validation folds (default 5)")
    pf.add_argument("--cv", choices=["blocks", "interleaved"], default="blocks",
                    help="folds as contiguous blocks of frames (default) or frame %% folds")
    pf.add_argument("--stride", type=_positive_int, default=1, help="use every n-th frame")
    pf.add_argument("--n-frames", type=_positive_int, help="use this many evenly spaced frames of each trajectory")
    pf.add_argument("--symprec", type=_positive, default=1e-3, help="symmetry tolerance in A (default 1e-3)")
    pf.add_argument("--constraints", help="extra exact conditions on the 2nd order, comma separated: "
                                          "rotational, huang (default none)")
    pf.add_argument("-o", "--output", default="fc.nc", help="force constants netCDF (default fc.nc); scores go "
                                                            "to STEM.scores.nc, the plot to STEM.png")
    pf.add_argument("--compare", help="0 K force constants to plot against: phonopy folder/file or trajmodes .nc")
    pf.add_argument("--path", help="band path as special-point letters, e.g. 'GXU|KGL' (default: standard)")
    pf.add_argument("--npoints", type=_positive_int, default=51, help="q-points per path segment (default 51)")
    _plot_format(pf)
    pp = add("phonons", cmd_phonons, "band structure, DOS and thermodynamics of force constants: netCDF files "
                                     "and figures")
    pp.add_argument("fc", metavar="FC_PATH", help="force constants: a phonopy folder (phonopy_params.yaml / "
                                                  "phonopy.yaml + FORCE_CONSTANTS or fc2.hdf5), one of those "
                                                  "files, or a trajmodes .nc file")
    pp.add_argument("--path", help="band path as special-point letters, pieces split by '|', e.g. 'GXU|KGL' "
                                   "(G = Gamma); default: the standard path of the Bravais lattice")
    pp.add_argument("--npoints", type=_positive_int, default=51, help="q-points per path segment (default 51)")
    pp.add_argument("--mesh", type=_mesh, default=[20, 20, 20], help="q mesh for DOS and thermodynamics: N or "
                                                                    "N1,N2,N3 (default 20)")
    pp.add_argument("--dos", choices=["tetrahedron", "gaussian"], default="tetrahedron",
                    help="DOS method (default tetrahedron)")
    pp.add_argument("--temperatures", type=_temperatures, default=None,
                    help="TMIN:TMAX:STEP (TMAX included) or T1,T2,... in K (default 0:1000:10)")
    pp.add_argument("--imaginary-tol", type=_positive, default=1e-2, help="modes below -TOL THz are reported as "
                                                                          "imaginary (default 0.01)")
    pp.add_argument("-o", "--output", default="trajmodes-phonons", help="output folder (default trajmodes-phonons)")
    _plot_format(pp)
    pe = add("eam", cmd_eam, "analytic force constants of an EAM potential (LAMMPS eam, eam/alloy, eam/fs) for a "
                             "cubic crystal: BvK shell constants and their pair/embedding split, netCDF and plots")
    pe.add_argument("potential", metavar="POTENTIAL", help="LAMMPS EAM file (*.eam, *.eam.alloy, *.eam.fs)")
    pe.add_argument("--structure", choices=["fcc", "bcc", "l12"], default="fcc", help="crystal (default fcc)")
    pe.add_argument("--a", type=_positive, required=True, help="cubic lattice constant in A")
    pe.add_argument("--element", help="element (fcc/bcc; default the potential's first) or A,B for l12 A3B")
    pe.add_argument("--supercell", type=_positive_int, default=5, help="N x N x N conventional cells (default 5)")
    pe.add_argument("--compare", nargs="+", metavar="FC", help="force constants to compare BvK constants with: "
                                                               "phonopy folders/files or trajmodes .nc")
    pe.add_argument("--path", help="band path as special-point letters (default: standard)")
    pe.add_argument("--npoints", type=_positive_int, default=51, help="q-points per path segment (default 51)")
    pe.add_argument("--mesh", type=_mesh, default=[16, 16, 16], help="q mesh for the DOS (default 16)")
    pe.add_argument("-o", "--output", default="trajmodes-eam", help="output folder (default trajmodes-eam)")
    _plot_format(pe)
    pj = add("project", cmd_project, "project an MD trajectory onto phonon modes: mode energies, spectra, peak "
                                     "frequencies, linewidths and lifetimes in one netCDF")
    _add_read_options(pj)
    pj.add_argument("--force-constants", required=True, help="force constants: phonopy folder/file or trajmodes .nc")
    pj.add_argument("--resolution", type=_positive, default=0.05, help="Welch frequency bin in THz (default 0.05)")
    pj.add_argument("--full", action="store_true", help="one periodogram over the whole run (resolution 1/T)")
    pj.add_argument("--model", choices=["lorentzian", "dho", "lorentzian_windowed", "dho_windowed"],
                    default="lorentzian", help="peak model (default lorentzian); *_windowed: the expected "
                                               "windowed periodogram of the line, for FWHM near the resolution")
    pj.add_argument("--no-star", action="store_true", help="do not average the spectra over the star of q")
    pj.add_argument("--temperature", type=_positive, help="K, for the equipartition ratio (default: kinetic)")
    pj.add_argument("--keep-q", action="store_true", help="also store the Q and Qdot time series (real/imag)")
    pj.add_argument("-o", "--output", default="modes.nc", help="output netCDF (default modes.nc)")
    pj.add_argument("--table", action="store_true", help="print every mode (q, branch), not the per-branch summary")
    pl = add("lifetimes", cmd_lifetimes, "table and plots of a 'trajmodes project' file")
    pl.add_argument("modes_file", metavar="MODES_NC")
    pl.add_argument("--plot", action="store_true", help="spectra with fits, dispersion with FWHM bars, SED map")
    pl.add_argument("--table", action="store_true", help="print every mode (q, branch), not the per-branch summary")
    pl.add_argument("--modes", help="modes to plot with their fit: q:branch,... (q index as in the table)")
    pl.add_argument("-o", "--output", help="figure file prefix (default: the input without .nc)")
    pl.add_argument("--force-constants", help="for files written before 'project' stored the band path: the "
                                              "force constants to draw it from (default: the path in the file)")
    _plot_format(pl)
    return p, cmds


#: options that used to exist or mean something else, with what to use instead
_RENAMED = {"--timestep": "--timestep is ambiguous and no longer accepted: give --md-timestep PS (the MD "
                          "integration step; frame times = MD step x PS) or --frame-interval PS (the time between "
                          "two frames)"}


def _unknown(cmd: argparse.ArgumentParser, name: str, extra: list[str]):
    """Report unknown arguments with the subcommand's usage (argparse would show the top-level one)."""
    for e in extra:
        opt = e.split("=", 1)[0]
        if opt in _RENAMED:
            cmd.error(_RENAMED[opt])
        if opt == "--format" and "--plot-format" in cmd.format_help():
            cmd.error(f"'{name}' reads no trajectory, so it has no --format: give the figure format with "
                      "--plot-format")
    cmd.error(f"unrecognized arguments: {' '.join(extra)}")


class _Terminated(BaseException):
    """SIGTERM, turned into an exception so that staged outputs and temporaries are removed."""


def _on_sigterm(signum, frame):
    raise _Terminated()


def main(argv=None) -> int:
    """Run one command; returns the exit status (0 success, 2 error, 130 Ctrl-C, 143 SIGTERM)."""
    parser, cmds = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        _unknown(cmds[args.command], args.command, extra)
    if getattr(args, "format", None) in FIGURE_FORMATS:
        cmds[args.command].error(f"--format names the trajectory format; give the figure format with "
                                 f"--plot-format {args.format}")
    debug = args.debug or os.environ.get("TRAJMODES_DEBUG", "") not in ("", "0")
    from trajmodes.io.files import StagedOutputs
    fmt = warnings.formatwarning
    warnings.formatwarning = lambda msg, cat, *a, **k: f"warning: {msg}\n"
    old_term = signal.signal(signal.SIGTERM, _on_sigterm) if _main_thread() else None
    out = StagedOutputs()
    try:
        from dask.diagnostics import ProgressBar
        with ProgressBar(minimum=1.0, out=sys.stderr):   # every Dask computation longer than 1 s
            status = args.func(args, out)
        out.commit()
        return status
    except KeyboardInterrupt:
        out.discard()
        print("trajmodes: interrupted; no output written", file=sys.stderr)
        return 130
    except _Terminated:
        out.discard()
        print("trajmodes: terminated; no output written", file=sys.stderr)
        return 143
    except Exception as exc:
        out.discard()
        if debug:
            raise
        print(f"trajmodes: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    finally:
        warnings.formatwarning = fmt
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)


def _main_thread() -> bool:
    import threading
    return threading.current_thread() is threading.main_thread()


#: exception types whose message says it all (raised by trajmodes and the libraries for bad input, files,
#: folders and missing packages)
_PLAIN = (ValueError, OSError, ImportError)
#: other exceptions that input, files or the machine can cause: the message says which kind
_EXPECTED = (KeyError, MemoryError, RuntimeError)


def _one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line; an exception no input can cause (a TypeError, AttributeError, ...)
    is a bug, and the message says so and how to get the traceback for a report."""
    msg = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, ImportError) and "pip install" not in msg:
        name = getattr(exc, "name", None)
        msg += f" (install it: pip install {name})" if name else ""
    if isinstance(exc, MemoryError):
        return f"out of memory ({msg}): use smaller chunks (--chunk-frames), fewer frames or smaller cutoffs"
    if isinstance(exc, KeyError):
        key = str(exc.args[0]) if exc.args else "?"
        return (f"missing entry {key!r}: the input file is incomplete, or not the kind of file it looks like "
                "(--debug shows where it was needed)")
    if isinstance(exc, _PLAIN):
        return msg
    if isinstance(exc, _EXPECTED):
        return f"{msg} ({type(exc).__name__} from {type(exc).__module__.split('.')[0]})"
    return (f"{type(exc).__name__}: {msg}. This is a bug in trajmodes: please report it to its developers with "
            "the command and the traceback that --debug (or TRAJMODES_DEBUG=1) shows")


if __name__ == "__main__":
    sys.exit(main())
