#!/usr/bin/env python3
"""hiPhive as the reference for trajmodes' force-constant fitting: same snapshots, same
cutoffs, simultaneous least squares.

Needs hiphive (the ``bench`` and ``test`` extras: ``pip install -e '.[bench]'``; it brings ase,
numba, scikit-learn and trainstation).

Library use::

    from hiphive_reference import hiphive_fit
    ref = hiphive_fit(reference, displacements, forces, cutoffs=[6.0, 5.0])
    ref.fc2, ref.fc3            # compact (n_prim, N, 3, 3) eV/A^2, (n_prim, N, N, 3, 3, 3) eV/A^3
    ref.force_constants         # the same as a trajmodes.ForceConstants (fc2 and fc3)
    ref.n_dofs, ref.n_dofs_by_order, ref.n_dofs_no_asr_by_order
    ref.time_per_frame          # s per frame to build hiPhive's StructureContainer (warm)

Command line (real MD from examples/md/, made by examples/make_md.py)::

    python benchmarks/hiphive_reference.py counts            # parameter counts for the benchmark's cases
    python benchmarks/hiphive_reference.py time --frames 20  # 216-atom Si, r2 = 6, r3 = 5: s/frame

What is timed: ``StructureContainer.add_structure`` per frame (hiPhive builds that frame's rows of
the sensitivity matrix there), after one untimed warm-up frame that pays numba's compilation. The
ClusterSpace construction and the solve are timed separately.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trajmodes import Crystal, ForceConstants  # noqa: E402


@dataclass
class HiphiveResult:
    """hiPhive's fit in trajmodes' (= phonopy's compact) layouts."""

    fc2: np.ndarray
    fc3: np.ndarray | None
    p2s: np.ndarray
    force_constants: ForceConstants
    n_dofs: int
    n_dofs_by_order: dict
    n_dofs_no_asr_by_order: dict
    n_frames: int
    time_per_frame: float
    time_cluster_space: float
    time_fit: float
    time_first_frame: float
    rmse_train: float | None = None
    extra: dict = field(default_factory=dict)


def _ase_atoms(c: Crystal):
    from ase import Atoms
    return Atoms(symbols=list(c.species), positions=c.positions, cell=c.cell, pbc=True,
                 masses=c.masses)


def _crystal(reference) -> Crystal:
    if isinstance(reference, Crystal):
        return reference
    if hasattr(reference, "get_positions"):       # ase.Atoms
        return Crystal(np.asarray(reference.cell), reference.get_positions(),
                       reference.get_chemical_symbols(), reference.get_masses())
    return Crystal.from_structure(reference)        # trajmodes Structure


def cluster_space(primitive: Crystal, cutoffs, acoustic_sum_rules: bool = True):
    """hiPhive ClusterSpace of ``primitive`` (a trajmodes Crystal) for ``cutoffs`` [r2, r3, ...]."""
    from hiphive import ClusterSpace
    return ClusterSpace(_ase_atoms(primitive), list(cutoffs), acoustic_sum_rules=acoustic_sum_rules)


def dof_counts(primitive: Crystal, cutoffs) -> dict:
    """Parameters per order hiPhive finds, with and without the acoustic sum rule."""
    out = {}
    for asr in (False, True):
        cs = cluster_space(primitive, cutoffs, acoustic_sum_rules=asr)
        out["with_asr" if asr else "without_asr"] = {
            o: int(cs.get_n_dofs_by_order(o)) for o in range(2, 2 + len(cutoffs))}
        out["with_asr" if asr else "without_asr"]["total"] = int(cs.n_dofs)
    return out


def _compact(fcs, order: int, p2s: np.ndarray, N: int) -> np.ndarray:
    """Compact array (n_prim, N, ..., 3, ...) from hiPhive's SortedForceConstants, vectorised over
    its stored (sorted) clusters and their index permutations (no loop over N^order clusters)."""
    from itertools import permutations
    d = fcs.get_fc_dict(order)
    out = np.zeros((len(p2s),) + (N,) * (order - 1) + (3,) * order)
    if not d:
        return out
    C = np.array(list(d.keys()), dtype=np.int64)                  # (M, order), sorted clusters
    F = np.array(list(d.values()))                                # (M, 3, ..., 3)
    row = np.full(N, -1)
    row[p2s] = np.arange(len(p2s))
    for perm in permutations(range(order)):
        idx = C[:, perm]
        val = F.transpose((0,) + tuple(1 + p for p in perm))
        keep = row[idx[:, 0]] >= 0
        out[(row[idx[keep, 0]],) + tuple(idx[keep, k] for k in range(1, order))] = val[keep]
    return out


def hiphive_fit(reference, displacements, forces, cutoffs, primitive: Crystal | None = None,
                symprec: float = 1e-3) -> HiphiveResult:
    """Simultaneous least-squares fit with hiPhive of all orders up to ``len(cutoffs) + 1``.

    Parameters
    ----------
    reference : trajmodes Crystal, ase.Atoms or trajmodes Structure
        The ideal supercell (the MD reference), N atoms.
    displacements, forces : array_like, (n_frames, N, 3)
        u in A (from the reference) and forces in eV/A, atoms in the reference's order.
    cutoffs : sequence of float
        hiPhive cutoffs [r2, r3, ...] in A.
    primitive : Crystal, optional
        Primitive cell; spglib's (``Crystal.primitive``) by default.

    Returns
    -------
    HiphiveResult
        fc2 (n_prim, N, 3, 3) and fc3 (n_prim, N, N, 3, 3, 3) in phonopy's compact layout on the
        reference's atom order, rows at ``p2s`` (the first supercell atom of each primitive atom,
        trajmodes' default), and hiPhive's parameter counts and timings.
    """
    from hiphive import ForceConstantPotential, StructureContainer
    from trainstation import Optimizer

    sc_cr = _crystal(reference)
    prim = primitive if primitive is not None else sc_cr.primitive(symprec)
    u = np.asarray(displacements, dtype=float)
    f = np.asarray(forces, dtype=float)
    if u.shape != f.shape or u.ndim != 3 or u.shape[1] != sc_cr.n_atoms:
        raise ValueError(f"displacements {u.shape} and forces {f.shape} must be (n_frames, {sc_cr.n_atoms}, 3)")
    t0 = time.perf_counter()
    cs = cluster_space(prim, cutoffs)
    t_cs = time.perf_counter() - t0
    counts = {o: int(cs.get_n_dofs_by_order(o)) for o in range(2, 2 + len(cutoffs))}
    cs0 = cluster_space(prim, cutoffs, acoustic_sum_rules=False)
    counts0 = {o: int(cs0.get_n_dofs_by_order(o)) for o in range(2, 2 + len(cutoffs))}

    ideal = _ase_atoms(sc_cr)
    container = StructureContainer(cs)
    times = []
    for k in range(len(u)):
        atoms = ideal.copy()
        atoms.new_array("displacements", u[k])
        atoms.new_array("forces", f[k])
        t0 = time.perf_counter()
        container.add_structure(atoms)
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    A, y = container.get_fit_data()
    opt = Optimizer((A, y), fit_method="least-squares", train_size=1.0)
    opt.train()
    t_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    fcm = getattr(container, "_previous_fcm", None)   # the model add_structure built for this supercell
    if fcm is not None and len(fcm.atoms) == len(ideal):
        fcm.parameters = opt.parameters                # what ForceConstantPotential.get_force_constants
        fcs = fcm.get_force_constants()                # does, without building the model a second time
    else:
        fcs = ForceConstantPotential(cs, opt.parameters).get_force_constants(ideal)
    t_fcs = time.perf_counter() - t0

    smap = sc_cr.supercell_map(prim)
    p2s = np.array([np.flatnonzero(smap.atom == k)[0] for k in range(prim.n_atoms)])
    N = sc_cr.n_atoms
    fc2 = _compact(fcs, 2, p2s, N)
    fc3 = _compact(fcs, 3, p2s, N) if len(cutoffs) >= 2 else None
    fc = ForceConstants(fc2, sc_cr, prim, smap=smap, p2s=p2s, fc3=fc3)
    warm = times[1:] if len(times) > 1 else times
    rmse = opt.summary.get("rmse_train") if hasattr(opt, "summary") else None
    return HiphiveResult(fc2=fc2, fc3=fc3, p2s=p2s, force_constants=fc, n_dofs=int(cs.n_dofs),
                         n_dofs_by_order=counts, n_dofs_no_asr_by_order=counts0, n_frames=len(u),
                         time_per_frame=float(np.mean(warm)), time_cluster_space=t_cs, time_fit=t_fit,
                         time_first_frame=times[0], rmse_train=None if rmse is None else float(rmse),
                         extra=dict(time_force_constants=t_fcs, times=times, container=container, ideal=ideal))


# -- command line --------------------------------------------------------------------------------

MD = ROOT / "examples" / "md"


def _load_md(name: str, frames: int | None):
    import trajmodes
    tr = trajmodes.read(MD / f"{name}.lammpstrj.gz", reference=MD / f"{name}.data")
    if frames is not None:
        tr = tr[:frames]
    ref = Crystal.from_structure(tr.reference)
    return ref, tr.displacements().compute(), tr.forces.compute()


def _fcc(a):
    return Crystal(np.array([[0, .5, .5], [.5, 0, .5], [.5, .5, 0]]) * a, [[0, 0, 0]], ["Cu"])


def _diamond(a):
    return Crystal(np.array([[0, .5, .5], [.5, 0, .5], [.5, .5, 0]]) * a,
                   np.array([[0, 0, 0], [.25, .25, .25]]) * a, ["Si", "Si"])


def cmd_counts(args):
    cases = {
        "fcc Cu, order 2, r2 = 4.8 A (between the 3rd (4.43) and 4th (5.11) shell), a = 3.615":
            (_fcc(3.615), [4.8]),
        "diamond Si, order 3, r2 = 5.0, r3 = 5.0 A, a = 5.431": (_diamond(5.431), [5.0, 5.0]),
        "diamond Si, r2 = 6.0, r3 = 5.0 A, a = 5.431": (_diamond(5.431), [6.0, 5.0]),
    }
    out = {}
    for title, (prim, cut) in cases.items():
        out[title] = dof_counts(prim, cut)
        print(title, json.dumps(out[title]))
    return out


def cmd_time(args):
    ref, u, f = _load_md(args.run, args.frames)
    res = hiphive_fit(ref, u, f, [args.r2, args.r3])
    summary = dict(run=args.run, n_atoms=ref.n_atoms, n_frames=res.n_frames, cutoffs=[args.r2, args.r3],
                   n_dofs=res.n_dofs, n_dofs_by_order=res.n_dofs_by_order,
                   n_dofs_without_asr=res.n_dofs_no_asr_by_order,
                   time_cluster_space_s=round(res.time_cluster_space, 3),
                   time_first_frame_s=round(res.time_first_frame, 3),
                   time_per_frame_s=round(res.time_per_frame, 4), time_fit_s=round(res.time_fit, 3),
                   rmse_train=res.rmse_train)
    print(json.dumps(summary, indent=1))
    if args.save:
        np.savez_compressed(args.save, fc2=res.fc2, fc3=res.fc3, p2s=res.p2s)
    return summary


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("counts", help="hiPhive's parameter counts for the benchmark's cases")
    t = sub.add_parser("time", help="time hiPhive's StructureContainer on real MD frames")
    t.add_argument("--run", default="si_300K", help="examples/md run (default si_300K: 216-atom Si)")
    t.add_argument("--frames", type=int, default=20)
    t.add_argument("--r2", type=float, default=6.0)
    t.add_argument("--r3", type=float, default=5.0)
    t.add_argument("--save", help="write fc2, fc3, p2s to this .npz")
    args = ap.parse_args(argv)
    {"counts": cmd_counts, "time": cmd_time}[args.cmd](args)


if __name__ == "__main__":
    main()
