#!/usr/bin/env python
"""Symmetry setup of big supercells: primitive cell, space group, ideal sites and supercell map of an n x n x n
conventional fcc Cu supercell (4 n^3 atoms, benchmarks/gen_dump.py's crystal), timed step by step.

    python benchmarks/bench_symmetry.py --cells 12 20 30 60 [--noise 0.03] [--skip-ops]

Timed (wall, one run each): ``Crystal.primitive()`` (the lattice translations and the averaged primitive cell),
``primitive.symmetry()`` (spglib on the primitive cell), ``ideal_crystal`` (the reference made ideal; with
``--noise`` an MD-like snapshot, Gaussian noise of that rms per component in A, which runs the tolerance scan),
``supercell_map`` and ``supercell_operations`` (the space group as atom permutations, the fit's symmetry).
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from benchmarks.gen_dump import A_CU, fcc_positions


def run(cells: int, noise: float, ops: bool) -> dict:
    from trajmodes.lattice.crystal import Crystal
    from trajmodes.lattice.ideal import ideal_crystal
    from trajmodes.lattice.symmetry import supercell_operations
    pos = fcc_positions(cells)
    if noise:
        pos = pos + np.random.default_rng(0).normal(0, noise, pos.shape)
    sc = Crystal(np.eye(3) * cells * A_CU, pos, ["Cu"] * len(pos))
    out = {"atoms": len(pos)}
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ideal, tol = ideal_crystal(sc, averaged=True)
    out["ideal_crystal"] = time.perf_counter() - t
    t = time.perf_counter()
    prim = ideal.primitive(tol)
    out["primitive"] = time.perf_counter() - t
    t = time.perf_counter()
    sg = prim.space_group_symbol
    out["prim_symmetry"] = time.perf_counter() - t
    t = time.perf_counter()
    smap = ideal.supercell_map(prim)
    out["supercell_map"] = time.perf_counter() - t
    if ops:
        t = time.perf_counter()
        so = supercell_operations(prim, smap, tol)
        out["supercell_operations"] = time.perf_counter() - t
        out["n_ops"] = len(so.rotations)
    out["group"] = f"{sg}, {prim.n_atoms}-atom primitive, tol {tol:g}"
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", type=int, nargs="+", default=[12, 20, 30, 60])
    p.add_argument("--noise", type=float, default=0.0, help="rms noise per component, A (0: the ideal crystal)")
    p.add_argument("--skip-ops", action="store_true", help="do not time supercell_operations")
    a = p.parse_args(argv)
    for n in a.cells:
        r = run(n, a.noise, not a.skip_ops)
        steps = [k for k in r if k not in ("atoms", "group", "n_ops")]
        print(f"{r['atoms']:>8} atoms ({r['group']}): " + ", ".join(f"{k} {r[k]:.2f} s" for k in steps)
              + f"; total {sum(r[k] for k in steps):.2f} s", flush=True)


if __name__ == "__main__":
    main()
