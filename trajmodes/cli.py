"""Command-line interface: ``trajmodes info`` and ``trajmodes convert``."""
from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np


def _add_read_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", help="trajectory file(s): LAMMPS dump(s), XYZ, trajmodes .nc, or any "
                                            "MDAnalysis format")
    p.add_argument("--format", help="lammps, xyz, netcdf, or an MDAnalysis format (default: guessed)")
    p.add_argument("--reference", help="reference crystal: 'first' (default), 'average', or a LAMMPS data / "
                                       "structure file")
    p.add_argument("--units", default="metal", help="LAMMPS unit style of the data (default metal)")
    p.add_argument("--timestep", type=float, help="MD time step in ps (dumps without ITEM: TIME)")
    p.add_argument("--species", help="elements of the LAMMPS types, comma separated (type 1 first), e.g. Cu or Si,Ge")
    p.add_argument("--topology", help="topology file for MDAnalysis formats such as DCD or XTC")
    p.add_argument("--chunk-frames", type=int, help="frames per Dask chunk")


def _open(args):
    import trajmodes
    species = args.species.split(",") if args.species else None
    src = args.files if len(args.files) > 1 else args.files[0]
    return trajmodes.read(src, format=args.format, reference=args.reference, units=args.units,
                          timestep=args.timestep, species=species, topology=args.topology,
                          chunk_frames=args.chunk_frames)


def _fmt_cell(cell) -> list[str]:
    lengths = np.linalg.norm(cell, axis=1)
    a, b, c = cell
    ang = [np.degrees(np.arccos(np.dot(x, y) / np.linalg.norm(x) / np.linalg.norm(y))) for x, y in
           ((b, c), (a, c), (a, b))]
    return [f"  a = {lengths[0]:.5f}  b = {lengths[1]:.5f}  c = {lengths[2]:.5f} A;  "
            f"alpha = {ang[0]:.3f}  beta = {ang[1]:.3f}  gamma = {ang[2]:.3f} deg;  "
            f"volume = {abs(np.linalg.det(cell)):.4f} A^3"]


def cmd_info(args) -> int:
    from .summary import summarize
    traj = _open(args)
    src = traj.source
    out = [f"source:     {src.describe()}",
           f"format:     {src.format} (data in {src.units} units, shown in metal units)",
           f"frames:     {traj.n_frames} (steps {traj.steps[0]} .. {traj.steps[-1]}), "
           f"{traj.timestep:g} ps between frames, {traj.times[-1] - traj.times[0]:g} ps in all",
           f"atoms:      {traj.n_atoms}: " + ", ".join(f"{k} x {int((traj.species == k).sum())}"
                                                      for k in sorted(set(traj.species.tolist()))),
           "masses:     " + ("unknown (pass --species or a reference data file with Masses)"
                             if traj.masses is None else
                             ", ".join(f"{k} {traj.masses[traj.species == k][0]:.4f} amu"
                                       for k in sorted(set(traj.species.tolist())))),
           "fields:     " + ", ".join(src.fields) + (" (positions unwrapped)" if src.unwrapped else "")]
    ref = traj.reference
    if ref.cell is not None:
        out.append("box (reference):")
        out += _fmt_cell(ref.cell)
    print("\n".join(out), flush=True)
    t0 = time.perf_counter()
    s = summarize(traj, progress=True)
    ref_name = args.reference or ("stored in the cache" if getattr(src, "reference", None) is not None else "first frame")
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
    return 0


def cmd_convert(args) -> int:
    traj = _open(args)
    if args.stride > 1 or args.start or args.stop is not None:
        traj = traj[args.start:args.stop:args.stride]
    t0 = time.perf_counter()
    traj.to_netcdf(args.output, displacements=args.displacements, progress=True)
    print(f"wrote {args.output}: {traj.n_frames} frames x {traj.n_atoms} atoms "
          f"({'displacements' if args.displacements else 'positions'}, "
          f"{', '.join(f for f in traj.source.fields if f != 'positions')}) in {time.perf_counter() - t0:.2f} s")
    return 0


def cmd_run(args) -> int:
    """The main job: summary, netCDF cache, summary plot (later stages extend this)."""
    import os
    from .plots import plot_summary
    from .summary import summarize
    os.makedirs(args.output, exist_ok=True)
    rc = cmd_info(args)
    traj = _open(args)
    cache = os.path.join(args.output, "trajectory.nc")
    traj.to_netcdf(cache, progress=True)
    s = summarize(traj)
    from .io._files import atomic_write
    atomic_write(os.path.join(args.output, "summary.nc"), lambda tmp: s.to_netcdf(tmp))
    png = os.path.join(args.output, "summary.png")
    plot_summary(s, png, title=traj.source.describe())
    print(f"wrote {cache}, {os.path.join(args.output, 'summary.nc')}, {png}")
    return rc


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    p = argparse.ArgumentParser(prog="trajmodes", description="Phonons at the simulated temperature from MD "
                                                               "trajectories of crystals.")
    p.add_argument("--version", action="version", version=f"trajmodes {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    pi = sub.add_parser("info", help="frames, atoms, box, time step, temperature and displacement statistics")
    _add_read_options(pi)
    pi.set_defaults(func=cmd_info)
    pc = sub.add_parser("convert", help="write the trajectory as a chunked netCDF4 cache (fast re-reads)")
    _add_read_options(pc)
    pc.add_argument("-o", "--output", required=True, help="output .nc file")
    pc.add_argument("--displacements", action="store_true", help="store displacements from the reference "
                                                                 "instead of positions")
    pc.add_argument("--start", type=int, default=0, help="first frame")
    pc.add_argument("--stop", type=int, help="frame to stop before")
    pc.add_argument("--stride", type=int, default=1, help="keep every n-th frame")
    pc.set_defaults(func=cmd_convert)
    pr = sub.add_parser("run", help="the main job: summary, netCDF cache and plots in an output folder")
    _add_read_options(pr)
    pr.add_argument("-o", "--output", default="trajmodes-out", help="output folder (default trajmodes-out)")
    pr.set_defaults(func=cmd_run)
    return p


def main(argv=None) -> int:
    from .errors import ReferenceMismatchError, TrajectoryFormatError
    args = build_parser().parse_args(argv)
    fmt = warnings.formatwarning
    warnings.formatwarning = lambda msg, cat, *a, **k: f"warning: {msg}\n"
    try:
        return args.func(args)
    except (TrajectoryFormatError, ReferenceMismatchError, FileNotFoundError, ValueError) as exc:
        print(f"trajmodes: error: {exc}", file=sys.stderr)
        return 2
    finally:
        warnings.formatwarning = fmt


if __name__ == "__main__":
    sys.exit(main())
