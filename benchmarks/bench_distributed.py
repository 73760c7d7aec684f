#!/usr/bin/env python
"""The same calls on the default threaded scheduler and on a ``dask.distributed`` LocalCluster of processes: the
numbers must be identical, and the times are reported side by side.

    python benchmarks/bench_distributed.py [--workers 2] [--out benchmarks/results]

Stages, on the shipped examples (every one a Dask graph over chunks of frames or of q-points):

* read: the mean squared displacement of examples/md/cu_300K (256 atoms, 300 frames), streamed;
* fit: ``EffectiveForceConstants(cutoff2=5, cutoff3=4).fit`` of examples/md/si_300K (216 atoms, 200 frames): the
  normal equations per chunk, summed as a tree;
* project: ``trajmodes.project`` of cu_300K onto the EAM phonons, then ``mode_energies``;
* three-phonon: ``Anharmonic(..., mesh=6).linewidths()`` from the fitted Si constants (Dask tasks over q-points).

The cluster has ``--workers`` single-threaded worker processes (``LocalCluster(processes=True)``); its start-up is
timed apart. Each stage is computed once on the threads (first, which also warms the frame index and caches) and
then on the cluster; the results are compared element by element: identical means ``numpy.array_equal``, and the
largest difference relative to the largest value is reported otherwise.

Writes ``<out>/distributed.json`` and ``<out>/distributed.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
MD = ROOT / "examples" / "md"


def _read():
    import trajmodes
    traj = trajmodes.read(MD / "cu_300K.lammpstrj.gz", reference=MD / "cu_300K.data")
    return (traj.displacements() ** 2).mean(axis=0).compute()


def _fit():
    import trajmodes
    traj = trajmodes.read(MD / "si_300K.lammpstrj.gz", reference=MD / "si_300K.data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = trajmodes.EffectiveForceConstants(cutoff2=5.0, cutoff3=4.0).fit(traj)
    return np.concatenate([est.params_[2], est.params_[3], est.blocks_.G.ravel()])


def _project():
    import trajmodes
    traj = trajmodes.read(MD / "cu_300K.lammpstrj.gz", reference=MD / "cu_300K.data")
    ph = trajmodes.Phonons(trajmodes.ForceConstants.read(ROOT / "examples" / "fc" / "cu_eam", "phonopy"))
    modes = trajmodes.project(traj, ph)
    e = trajmodes.mode_energies(modes)
    return np.concatenate([np.abs(modes.Q.values).ravel(), e["potential"].values.ravel()])


def _three_phonon():
    import trajmodes
    traj = trajmodes.read(MD / "si_300K.lammpstrj.gz", reference=MD / "si_300K.data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = trajmodes.EffectiveForceConstants(cutoff2=5.0, cutoff3=3.0).fit(traj).force_constants_
    an = trajmodes.Anharmonic(fc, mesh=6, temperatures=[300.0], smearing=0.1)
    return an.linewidths()["linewidth"].values.ravel()


STAGES = {"read (mean u^2, cu_300K)": _read, "fit (Si, r2 5, r3 4)": _fit,
          "project + mode energies (cu_300K)": _project, "three-phonon linewidths (Si, 6^3)": _three_phonon}


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    from dask.distributed import Client, LocalCluster
    res = dict(env=dict(python=platform.python_version(), numpy=np.__version__, cores=os.cpu_count(),
                        loadavg_start=os.getloadavg()[0]),
               command="python benchmarks/bench_distributed.py" + "".join(f" {a}" for a in (argv or sys.argv[1:])),
               stages={})
    threads = {}
    for name, fn in STAGES.items():
        print(f"threads: {name} ...", flush=True)
        threads[name] = _timed(fn)
    t0 = time.perf_counter()
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
            Client(cl):
        res["cluster_start_s"] = time.perf_counter() - t0
        for name, fn in STAGES.items():
            print(f"cluster: {name} ...", flush=True)
            out, t = _timed(fn)
            ref, t_ref = threads[name]
            same = bool(np.array_equal(out, ref))
            scale = float(np.abs(ref).max()) or 1.0
            res["stages"][name] = dict(threads_s=t_ref, cluster_s=t, identical=same,
                                       max_rel_diff=float(np.abs(out - ref).max() / scale), n_values=int(ref.size))
    res["env"]["loadavg_end"] = os.getloadavg()[0]
    res["all_identical"] = all(s["identical"] for s in res["stages"].values())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "distributed.json").write_text(json.dumps(res, indent=1) + "\n")
    md = table(res, args.workers)
    (out / "distributed.md").write_text(md + "\n")
    print(md)
    return res


def table(res, workers: int) -> str:
    L = [f"Default threaded scheduler against a LocalCluster of {workers} single-threaded worker processes (start-up "
         f"{res['cluster_start_s']:.1f} s, not counted); {res['env']['cores']} cores, load average "
         f"{res['env']['loadavg_start']:.2f} at start, {res['env']['loadavg_end']:.2f} at end. "
         f"`{res['command']}`", "",
         "| stage | values | threads (s) | cluster (s) | identical | max rel diff |", "|---|---|---|---|---|---|"]
    for name, s in res["stages"].items():
        L.append(f"| {name} | {s['n_values']} | {s['threads_s']:.2f} | {s['cluster_s']:.2f} | "
                 f"{'yes' if s['identical'] else '**no**'} | {s['max_rel_diff']:.1e} |")
    return "\n".join(L)


if __name__ == "__main__":
    main()
