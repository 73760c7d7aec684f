#!/usr/bin/env python
"""Fourth-order fitting benchmark: the normal equations of an fc2 + fc3 + fc4 fit, trajmodes' compiled design kernel
against its numpy path and against hiPhive's StructureContainer, per frame, on the same real MD frames, in one run.

    python benchmarks/bench_fourth_order.py [--run si_300K] [--frames 20] [--r2 5] [--r3 4] [--r4 3]
                                            [--repeats 3] [--out benchmarks/results]

Case: diamond Si, Stillinger-Weber, 216 atoms, real LAMMPS NVT frames from ``examples/md/`` (``examples/make_md.py``),
the first ``--frames`` frames, cutoffs r2, r3, r4 (A).

Timed, same process, same frames:

* trajmodes: ``DesignKernel.accumulate`` (the rows of every order and their A'A, from displacements in memory, mean
  force removed), best of ``--repeats``: with the compiled kernel (``trajmodes._design``), and with the numpy path
  (the same kernel with the compiled module switched off); the symmetry bases and kernel set-up apart.
* hiPhive: ``StructureContainer.add_structure`` per frame (median of the warm frames; the first frame pays numba's
  compilation and the force-constant model, reported apart), with the same cutoffs
  (``benchmarks/hiphive_reference.py``).

Checks: the compiled and numpy normal equations agree (max relative difference), parameter counts per order against
hiPhive's (with and without its acoustic sum rules), and the frequencies at Gamma, X and L of both simultaneous fits.

Writes ``<out>/fourth_order.json`` (every number and the environment) and ``<out>/fourth_order.md`` (the table, also
printed).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from hiphive_reference import MD, hiphive_fit  # noqa: E402

import trajmodes  # noqa: E402
from trajmodes import Crystal, EffectiveForceConstants  # noqa: E402
from trajmodes.forceconstants import design  # noqa: E402
from trajmodes.forceconstants.design import NormalBlocks  # noqa: E402


def _kernel_time(kern, u, f, repeats: int) -> tuple[float, np.ndarray]:
    """Best wall time of ``kern.accumulate`` over all frames (s), and the A'A it built."""
    best, G = np.inf, None
    for _ in range(repeats):
        blk = NormalBlocks.zeros(1, kern.n_params)
        t0 = time.perf_counter()
        kern.accumulate(u, f - f.mean(axis=1, keepdims=True), blk, 0)
        best = min(best, time.perf_counter() - t0)
        G = blk.G[0]
    return best, G


def run(args) -> dict:
    tr = trajmodes.read(MD / f"{args.run}.lammpstrj.gz", reference=MD / f"{args.run}.data")[:args.frames]
    ref = Crystal.from_structure(tr.reference)
    u, f = tr.displacements().compute(), tr.forces.compute()
    n = len(u)
    cutoffs = (args.r2, args.r3, args.r4)
    est = EffectiveForceConstants(args.r2, args.r3, cutoff4=args.r4, mode="simultaneous", folds=5)
    t0 = time.perf_counter()
    est.prepare(ref)                                       # bases + kernel, as fit() does first
    t_setup = time.perf_counter() - t0
    kern = est.kernel_
    compiled_available = design._design is not None
    t_compiled, G_compiled = _kernel_time(kern, u, f, args.repeats)
    saved = design._design
    design._design = None                                   # the numpy path of the same kernel
    try:
        t_numpy, G_numpy = _kernel_time(kern, u, f, args.repeats)
    finally:
        design._design = saved
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit_arrays(ref, u, f)
    import logging
    logging.getLogger("hiphive").setLevel(logging.WARNING)
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        hh = hiphive_fit(ref, u, f, list(cutoffs))
    t_hh_wall = time.perf_counter() - t0
    hh_frame = float(np.median(hh.extra["times"][1:]))
    from trajmodes.lattice.paths import special_points
    from trajmodes.phonons.harmonic.phonons import Phonons
    pts = special_points(est.force_constants_.primitive)
    q = np.array([pts["G"], pts["X"], pts["L"]], float)
    w_tm = Phonons(est.force_constants_).frequencies(q)
    w_hh = Phonons(hh.force_constants).frequencies(q)
    counts = {o: dict(trajmodes=int(est.bases_[o].n_params), trajmodes_raw=int(est.bases_[o].n_raw),
                      hiphive=int(hh.n_dofs_by_order[o]), hiphive_without_asr=int(hh.n_dofs_no_asr_by_order[o]))
              for o in (2, 3, 4)}
    return dict(
        case=dict(run=args.run, frames=n, atoms=int(u.shape[1]), cutoffs_A=list(cutoffs), n_params=int(kern.n_params)),
        compiled_kernel_available=compiled_available,
        time_setup_s=t_setup,
        time_per_frame_compiled_s=t_compiled / n, time_per_frame_numpy_s=t_numpy / n,
        time_per_frame_hiphive_s=hh_frame, time_first_frame_hiphive_s=hh.time_first_frame,
        time_cluster_space_hiphive_s=hh.time_cluster_space, wall_hiphive_s=t_hh_wall,
        numpy_over_compiled=t_numpy / t_compiled, hiphive_over_compiled=hh_frame / (t_compiled / n),
        normal_equations_rel_diff=float(np.abs(G_compiled - G_numpy).max() / np.abs(G_numpy).max()),
        parameter_counts=counts,
        max_abs_freq_diff_THz=float(np.abs(w_tm - w_hh).max()),
        frequencies_trajmodes_THz=w_tm.round(6).tolist(),
        environment=dict(python=sys.version.split()[0], numpy=np.__version__, cpus=os.cpu_count(),
                         loadavg=os.getloadavg(), date=time.strftime("%Y-%m-%d %H:%M")),
    )


def table(res: dict) -> str:
    c = res["case"]
    lines = [f"Fourth-order fit, {c['atoms']}-atom {c['run']}, {c['frames']} frames, cutoffs "
             f"{'/'.join(f'{x:g}' for x in c['cutoffs_A'])} A, {c['n_params']} parameters "
             f"({res['environment']['date']})", "",
             "| normal equations, s per frame | trajmodes compiled | trajmodes numpy | hiPhive container |",
             "|---|---|---|---|",
             f"| per frame | {res['time_per_frame_compiled_s']:.4f} | {res['time_per_frame_numpy_s']:.4f} | "
             f"{res['time_per_frame_hiphive_s']:.4f} |",
             f"| ratio to compiled | 1 | {res['numpy_over_compiled']:.1f}x | {res['hiphive_over_compiled']:.1f}x |", "",
             f"compiled against numpy normal equations: max relative difference "
             f"{res['normal_equations_rel_diff']:.1e}; frequencies at Gamma, X, L against hiPhive's fit: "
             f"{res['max_abs_freq_diff_THz']:.1e} THz", "",
             "| order | trajmodes parameters (without sum rules) | hiPhive (without sum rules) |", "|---|---|---|"]
    for o, d in res["parameter_counts"].items():
        lines.append(f"| {o} | {d['trajmodes']} ({d['trajmodes_raw']}) | {d['hiphive']} ({d['hiphive_without_asr']}) |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", default="si_300K")
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--r2", type=float, default=5.0)
    ap.add_argument("--r3", type=float, default=4.0)
    ap.add_argument("--r4", type=float, default=3.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    res = run(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in (("fourth_order.json", json.dumps(res, indent=1)), ("fourth_order.md", table(res))):
        tmp = out / (name + ".tmp")
        tmp.write_text(text)
        tmp.replace(out / name)
    print(table(res))


if __name__ == "__main__":
    main()
