#!/usr/bin/env python
"""Polar fit benchmark: the cost of taking the dipole-dipole forces out of every frame (TDEP's ``--polar``; the
Gonze-Lee Ewald sum of X. Gonze and C. Lee, Phys. Rev. B 55, 10355 (1997)) against the cost of reading the frames.

    python benchmarks/bench_polar.py [--cells 3 4] [--frames 200 2000] [--repeats 3] [--out benchmarks/results]

Case: rock-salt MgO (a = 4.212 A, Z* = +-1.98, eps_inf = 3.0), n x n x n conventional cubes (216 and 512 atoms), a
LAMMPS text dump (id type xu yu zu fx fy fz, %.10g) of ``--frames`` frames (one row per cube and frame count) with
Gaussian displacements (0.06 A) and random forces, written once to a temporary folder. Timed in one process, best of
``--repeats``:

* *read*: the frames' positions and forces parsed from the dump (``trajmodes.read(...)``, both arrays computed in one
  pass), each repeat on a fresh copy of the dump (its first reading, as a fit pays it);
* *Ewald, setup*: the supercell's dipole-dipole constants Phi_dd and the kernel that subtracts them
  (:func:`trajmodes.forceconstants.dipole.polar_kernel`), once per supercell;
* *Ewald, per frame*: F_dd = -Phi_dd u for every frame (:meth:`DipoleSubtracted.dipole_forces`: two real FFTs over
  the supercell's translations and one small product per frequency, all frames at once);
* *fit*: ``EffectiveForceConstants(cutoff2=4.5).fit(traj)`` with and without ``born=``/``epsilon=`` (everything: setup,
  reading, the subtraction, the normal equations, the solve), each on a fresh copy.

Target: the subtraction (per frame, and with its setup spread over the run) costs less than reading the frames; each
row says whether it does (``per_frame_below_read``, ``total_below_read``).
TDEP's own ``extract_forceconstants`` is Fortran with MPI and reads its own HDF5 files, so it is not timed here.

Writes ``<out>/polar.json`` and ``<out>/polar.md`` (also printed).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

A_MGO = 4.212
BORN = 1.98
EPS = 3.0


def _write_dump(path: Path, crystal, n_frames: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    N = crystal.n_atoms
    types = np.array([1 if s == "Mg" else 2 for s in crystal.species])
    box = np.diag(crystal.cell)
    with open(path, "w") as out:
        for t in range(n_frames):
            x = crystal.positions + rng.normal(0.0, 0.06, (N, 3))
            f = rng.normal(0.0, 0.5, (N, 3))
            out.write(f"ITEM: TIMESTEP\n{10 * t}\nITEM: NUMBER OF ATOMS\n{N}\nITEM: BOX BOUNDS pp pp pp\n")
            out.write("".join(f"0 {b:.10g}\n" for b in box))
            out.write("ITEM: ATOMS id type xu yu zu fx fy fz\n")
            rows = np.column_stack([np.arange(1, N + 1), types, x, f])
            np.savetxt(out, rows, fmt=["%d", "%d"] + ["%.10g"] * 6)


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _timed(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def run_case(cells: int, n_frames: int, repeats: int, folder: Path) -> dict:
    import trajmodes
    from trajmodes.forceconstants.design import DesignKernel
    from trajmodes.forceconstants.dipole import polar_kernel
    from trajmodes.forceconstants.fit import EffectiveForceConstants
    from trajmodes.lattice.prototypes import prototype
    prim = prototype("rocksalt", ("Mg", "O"), A_MGO)
    conv = prim.supercell(np.full((3, 3), 1) - 2 * np.eye(3, dtype=int))          # the conventional cube
    sc = conv.supercell(np.diag([cells] * 3))
    dump = folder / f"mgo_{cells}_{n_frames}.lammpstrj"
    _write_dump(dump, sc, n_frames)
    zs = np.array([np.eye(3) * (BORN if s == "Mg" else -BORN) for s in sc.species])
    eps = np.eye(3) * EPS
    ref = trajmodes.Crystal(sc.cell, sc.positions, sc.species, sc.masses)

    opts = dict(reference=ref, species={1: "Mg", 2: "O"}, md_timestep=0.001)

    copies = iter(range(10 ** 6))

    def fresh() -> str:
        """A copy of the dump under a new name: nothing of an earlier read (index, cache) is reused."""
        path = folder / f"copy_{cells}_{n_frames}_{next(copies)}.lammpstrj"
        shutil.copyfile(dump, path)
        return str(path)

    def once(fn, *args) -> float:
        """``fn(fresh copy, *args)`` timed, the copy (and what its reading left beside it) removed after."""
        path = fresh()
        try:
            return _timed(fn, path, *args)
        finally:
            for p in folder.glob(Path(path).name + "*"):
                p.unlink()

    def read(path):
        import dask
        traj = trajmodes.read(path, **opts)
        dask.compute(traj.positions, traj.forces)
    t_read = min(once(read) for _ in range(repeats))

    est = EffectiveForceConstants(cutoff2=4.5, folds=1)
    est.prepare(sc)
    kernel = DesignKernel([est.bases_[2]], est.smap_, p2s=est.p2s_)
    out = {}

    def setup():
        out["k"] = polar_kernel(kernel, est.primitive_, est.supercell_, est.smap_, est.p2s_, zs, eps)[-1]
    t_setup = _best(setup, repeats)
    traj = trajmodes.read(str(dump), **opts)
    u = np.asarray(traj.displacements().compute())
    t_frames = _best(lambda: out["k"].dipole_forces(u), repeats)

    def fit(path, polar):
        kw = dict(born=zs, epsilon=eps) if polar else {}
        EffectiveForceConstants(cutoff2=4.5, folds=1, **kw).fit(trajmodes.read(path, **opts))
    t_fit = min(once(fit, False) for _ in range(repeats))
    t_fit_polar = min(once(fit, True) for _ in range(repeats))
    for p in folder.glob(dump.name + "*"):
        p.unlink()
    return dict(atoms=sc.n_atoms, frames=n_frames, read_s=t_read, ewald_setup_s=t_setup, ewald_frames_s=t_frames,
                read_per_frame_ms=1e3 * t_read / n_frames, ewald_per_frame_ms=1e3 * t_frames / n_frames,
                ewald_per_frame_over_read=t_frames / t_read, ewald_total_over_read=(t_setup + t_frames) / t_read,
                per_frame_below_read=bool(t_frames < t_read), total_below_read=bool(t_setup + t_frames < t_read),
                fit_s=t_fit, fit_polar_s=t_fit_polar, polar_overhead=t_fit_polar / t_fit - 1)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, nargs="+", default=[3, 4])
    ap.add_argument("--frames", type=int, nargs="+", default=[200])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="benchmarks/results")
    a = ap.parse_args(argv)
    load_start = list(os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run_case(c, f, a.repeats, Path(tmp)) for f in a.frames for c in a.cells]
    lines = ["| atoms | frames | read (ms/frame) | Ewald F_dd (ms/frame) | Ewald / read, per frame | Ewald setup (s) | "
             "Ewald / read, setup included | fit (s) | polar fit (s) | polar overhead |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['atoms']} | {r['frames']} | {r['read_per_frame_ms']:.3f} | {r['ewald_per_frame_ms']:.3f} | "
                     f"{r['ewald_per_frame_over_read']:.2f} | {r['ewald_setup_s']:.3f} | "
                     f"{r['ewald_total_over_read']:.2f} | {r['fit_s']:.2f} | {r['fit_polar_s']:.2f} | "
                     f"{100 * r['polar_overhead']:+.0f} % |")
    table = "\n".join(lines)
    print(table)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(python=platform.python_version(), machine=platform.machine(), processor=platform.processor(),
               load_average_start=load_start, load_average_end=list(os.getloadavg()))
    (out / "polar.json").write_text(json.dumps(dict(rows=rows, environment=env), indent=1))
    (out / "polar.md").write_text("# Polar fit: the dipole-dipole subtraction against reading the frames\n\n"
                                  + table + "\n")


if __name__ == "__main__":
    main()
