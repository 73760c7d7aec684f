#!/usr/bin/env python
"""The cost of taking the crystal's drift out of the displacements (trajmodes.trajectory.displacements,
``drift="removed"``: trajmodes/_projection.c ``drift`` then the same compiled map) against the displacements with
the drift kept (the minimum images alone).

    python benchmarks/bench_displacements.py [--atoms 32000] [--frames 64] [--rounds 5]
                                             [--dump examples/md/si_300K.lammpstrj.gz] [--fit-frames 0]

* pass: ``displacements_of_frames`` on a block of frames in memory (fcc-like random sites in a 50 A cube, 0.1 A
  Gaussian displacements, the crystal carried 30 A), in the fixed cell (NVT) and in a breathing cell with a moving
  origin (NPT); best of ``--rounds``, one thread.
* fit: ``EffectiveForceConstants(cutoff2=4.0).fit`` on the first ``--fit-frames`` frames (0: all) of ``--dump`` (the
  real LAMMPS run of 216 atoms of Si of ``examples/md``, its ``.data`` beside it the reference) with the fit's
  displacements as they are (drift removed) and with the drift kept (``Trajectory.displacements`` patched), best of
  four each, the read cached by a first untimed fit.
"""
from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np


def _best(fn, rounds: int) -> float:
    best = np.inf
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def bench_pass(n_atoms: int, n_frames: int, rounds: int) -> None:
    from trajmodes.lattice.structure import Structure
    from trajmodes.trajectory.displacements import displacements_of_frames
    rng = np.random.default_rng(0)
    cell = np.eye(3) * 50.0
    r0 = rng.uniform(0.0, 50.0, (n_atoms, 3))
    ref = Structure(r0, cell, None, np.full(n_atoms, 63.55))
    drift = np.linspace(0.0, 30.0, n_frames)[:, None] * np.array([0.8, 0.5, 0.33])
    x = r0 + rng.normal(0.0, 0.1, (n_frames, n_atoms, 3)) + drift[:, None]
    fixed = (np.repeat(cell[None], n_frames, 0), np.zeros((n_frames, 3)))
    cells = cell[None] * (1.0 + 0.01 * rng.standard_normal((n_frames, 1, 1)))
    origins = rng.normal(0.0, 1.0, (n_frames, 3))
    moved = np.einsum("tja,tab->tjb", x @ np.linalg.inv(cell), cells) + origins[:, None]
    mb = x.nbytes / 1e6
    for name, pos, (c, o) in (("NVT", x, fixed), ("NPT", moved, (cells, origins))):
        kept = _best(lambda: displacements_of_frames(pos, c, o, ref), rounds)
        removed = _best(lambda: displacements_of_frames(pos, c, o, ref, drift="removed"), rounds)
        print(f"pass {name} {n_atoms} atoms x {n_frames} frames ({mb:.0f} MB): drift kept {kept * 1e3:.1f} ms, "
              f"removed {removed * 1e3:.1f} ms ({removed / kept:.2f}x)")


def bench_fit(dump: Path, n_frames: int) -> None:
    import trajmodes
    from trajmodes.forceconstants.fit import EffectiveForceConstants
    from trajmodes.trajectory.core import Trajectory
    if not dump.exists():
        print(f"fit: {dump} missing; skipped")
        return
    original = Trajectory.displacements

    def kept(self, layer=("positions",), reference=None, drift="kept"):
        return original(self, layer, reference, "kept")

    data = dump.parent / (dump.name.split(".")[0] + ".data")
    reference = str(data) if data.exists() else "first"

    def fit():
        traj = trajmodes.read(str(dump), reference=reference)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            EffectiveForceConstants(cutoff2=4.0).fit(traj[:n_frames] if n_frames else traj)

    fit()                                                  # the index and the decompressed cache, untimed
    removed = _best(fit, 4)
    Trajectory.displacements = kept
    try:
        before = _best(fit, 4)
    finally:
        Trajectory.displacements = original
    print(f"fit {dump.name} ({n_frames or 'all'} frames): drift kept {before:.2f} s, removed {removed:.2f} s "
          f"({removed / before:.3f}x)")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--atoms", type=int, default=32000)
    p.add_argument("--frames", type=int, default=64)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--dump", type=Path, default=Path(__file__).parents[1] / "examples" / "md" / "si_300K.lammpstrj.gz")
    p.add_argument("--fit-frames", type=int, default=0)
    a = p.parse_args(argv)
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1):
        bench_pass(a.atoms, a.frames, a.rounds)
    bench_fit(a.dump, a.fit_frames)


if __name__ == "__main__":
    main()
