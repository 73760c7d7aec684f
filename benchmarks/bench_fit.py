#!/usr/bin/env python
"""Fitting benchmark: trajmodes' streamed normal equations vs hiPhive's StructureContainer,
per frame, on the same real MD frames, in one run.

    python benchmarks/bench_fit.py [--run si_300K] [--frames 50] [--r2 6] [--r3 5] [--big-frames 10000]
                                   [--rounds 7] [--load 1] [--out benchmarks/results] [--no-memory] [--no-scaling]

Case: diamond Si, Stillinger-Weber, 216 atoms (3x3x3 conventional), real
LAMMPS NVT frames from ``examples/md/`` (``examples/make_md.py``), r2 = 6 A, r3 = 5 A, the first
``--frames`` frames.

Timed, same process, same frames (``benchmarks/hiphive_reference.py`` for hiPhive):

* hiPhive: ``StructureContainer.add_structure`` per frame (median of the warm frames: the first frame
  pays numba's compilation and the force-constant model of the supercell, reported apart), the
  ClusterSpace, and the least-squares solve (``trainstation.Optimizer``, train_size 1).
* trajmodes, building the normal equations (best of ``--repeats``):
  - *kernel*: ``DesignKernel.accumulate`` on the in-memory arrays (what hiPhive's container does: rows
    from displacements already in memory), mean force removed first;
  - *streamed*: ``normal_equations(traj, kernel, folds=5)``: parse the real ``.lammpstrj.gz``
    (decompressed to the trajmodes cache by an untimed first pass), minimum-image displacements, rows,
    A'A per fold, as Dask tasks on the local threads;
  - *fit_arrays*, *fit*: the whole estimator (basis, kernel, normal equations, solve, scores);
  - setup (symmetry bases + kernel, once per supercell and cutoffs) apart.
* solve: ``EffectiveForceConstants.refit`` from the summed blocks (solve + 5-fold cross-validation +
  scores), and ``solve_normal`` alone; hiPhive's solve for comparison.
* memory: ``--big-frames`` frames (default 10^4) streamed through ``trajmodes.read`` +
  ``EffectiveForceConstants.fit`` in a fresh subprocess; peak RSS = the child's ``VmHWM``. The dump
  is made from the 300 real frames cycled, each cycle with fresh Gaussian noise (1e-3 A on the
  positions, 1e-3 eV/A on the forces) so no two frames are equal; written once to
  ``benchmarks/data/`` (gitignored) and reused. The same child on the 300 real frames gives the
  baseline: the peak must not grow with the number of frames.
* scaling: kernel time per frame against atoms (ideal diamond supercells 2x2x2, 3x3x3, 4x4x4
  conventional = 64, 216, 512 atoms, Gaussian displacements of 0.1 A, random forces: the cost does
  not depend on the values) at r2 = 5, r3 = 4 and at r2 = 6, r3 = 5 (not for 64 atoms:
  the box is 10.9 A, half of it 5.4 A < 6), and against r3 = 4, 5, 6 A (216 atoms, real frames, r2 = 6).

Checks: parameter counts (trajmodes n_raw / n_params per order vs hiPhive's dofs without / with the
sum rule) and frequencies at Gamma, X, L of both simultaneous fits (target: 1e-4 THz), fc2 / fc3
max |difference|.

* interleaved rounds: hiPhive's container and trajmodes' kernel alternate (``--rounds``), on a quiet machine and
  again with ``--load`` other processes each keeping a core busy; the median of the per-round ratios.
* the floating-point floor: rows x P^2 flops per frame (the update of A'A) at this machine's one-thread dsyrk rate,
  measured on a block of the kernel's own shape in rounds that alternate with the kernel; the median of the
  per-round ratios.

Targets: normal equations >= 40x faster per frame than hiPhive's container (median of interleaved rounds, quiet and
with one other busy process), and within 3x of the floating-point floor; solve < 1 s; peak memory < 1 GB for 10^4
frames.

Writes ``<out>/fit.json`` (every number and the environment) and ``<out>/fit.md`` (the tables, also
printed).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from hiphive_reference import MD, hiphive_fit  # noqa: E402

import trajmodes  # noqa: E402
from trajmodes import Crystal, EffectiveForceConstants  # noqa: E402
from trajmodes.forceconstants.design import NormalBlocks  # noqa: E402
from trajmodes.forceconstants.normal import normal_equations  # noqa: E402
from trajmodes.forceconstants.solve import solve_normal  # noqa: E402

DATA = HERE / "data"


def environment() -> dict:
    import threadpoolctl
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")),
               platform.processor()) if os.path.exists("/proc/cpuinfo") else platform.processor()
    pools = [dict(api=p["internal_api"], threads=p["num_threads"]) for p in threadpoolctl.threadpool_info()]
    vers = {}
    for mod in ("hiphive", "numba", "scipy", "dask"):
        try:
            vers[mod] = __import__(mod).__version__
        except Exception:  # pragma: no cover
            vers[mod] = None
    return dict(python=platform.python_version(), numpy=np.__version__, cpu=cpu, cores=os.cpu_count(),
                threadpools=pools, loadavg_start=os.getloadavg(), **vers)


def _quiet():
    return contextlib.redirect_stdout(io.StringIO())


# -- the main case: hiPhive vs trajmodes on the same frames ----------------------------------------
def load(run: str, frames: int):
    tr = trajmodes.read(MD / f"{run}.lammpstrj.gz", reference=MD / f"{run}.data")[:frames]
    ref = Crystal.from_structure(tr.reference)
    return tr, ref, tr.displacements().compute(), tr.forces.compute()


def run_hiphive(ref, u, f, cutoffs) -> tuple[dict, object]:
    import logging
    logging.getLogger("hiphive").setLevel(logging.WARNING)     # its cluster-space report
    t0 = time.perf_counter()
    with _quiet(), contextlib.redirect_stderr(io.StringIO()):   # hiPhive prints its cluster space
        res = hiphive_fit(ref, u, f, cutoffs)
    warm = np.array(res.extra["times"][1:])
    return dict(time_per_frame_s=float(np.median(warm)), time_per_frame_mean_s=float(warm.mean()),
                time_per_frame_min_s=float(warm.min()), time_first_frame_s=res.time_first_frame,
                time_cluster_space_s=res.time_cluster_space, time_solve_s=res.time_fit,
                time_force_constants_s=res.extra["time_force_constants"],
                wall_s=time.perf_counter() - t0, n_dofs=res.n_dofs,
                n_dofs_by_order=res.n_dofs_by_order, n_dofs_without_asr=res.n_dofs_no_asr_by_order), res


def _best(fn, repeats):
    times = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), times, out


def run_trajmodes(tr, ref, u, f, cutoffs, repeats: int) -> tuple[dict, EffectiveForceConstants]:
    r2, r3 = cutoffs
    n = len(u)
    est = EffectiveForceConstants(r2, r3, mode="simultaneous", folds=5)
    t0 = time.perf_counter()
    est.prepare(ref)                                       # bases + kernel, as fit() does first
    t_setup = time.perf_counter() - t0
    kern = est.kernel_
    P = kern.n_params

    def kernel_only():
        blk = NormalBlocks.zeros(1, P)
        kern.accumulate(u, f - f.mean(axis=1, keepdims=True), blk, 0)
        return blk

    normal_equations(tr, kern, folds=5)                     # untimed: gz -> cache, frame index
    t_kernel, kernel_times, blk1 = _best(kernel_only, repeats)
    t_stream, stream_times, blocks = _best(lambda: normal_equations(tr, kern, folds=5), repeats)
    G, b, _, _ = blocks.total()
    G1 = blk1.G[0]
    blocks_same = float(np.abs(G - G1).max() / np.abs(G1).max())
    est.blocks_ = blocks
    t_refit, refit_times, _ = _best(lambda: est.refit("simultaneous"), repeats)
    t_refit_seq, _, _ = _best(lambda: est.refit("sequential"), repeats)
    est.refit("simultaneous")
    t_solve, _, _ = _best(lambda: solve_normal(G, b), repeats)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_fit_arrays, _, _ = _best(lambda: EffectiveForceConstants(r2, r3, mode="simultaneous", folds=5)
                                   .fit_arrays(ref, u, f), repeats)
        t_fit, _, _ = _best(lambda: EffectiveForceConstants(r2, r3, mode="simultaneous", folds=5).fit(tr), repeats)
    out = dict(n_params=P, n_params_by_order={o: int(bs.n_params) for o, bs in est.bases_.items()},
               n_raw_by_order={o: int(bs.n_raw) for o, bs in est.bases_.items()},
               block_frames=int(kern.block_frames), chunk_frames=int(tr.chunk_frames) if hasattr(tr, "chunk_frames")
               else None,
               time_setup_s=t_setup,
               time_per_frame_kernel_s=t_kernel / n, kernel_repeats_s=kernel_times,
               time_per_frame_streamed_s=t_stream / n, streamed_repeats_s=stream_times,
               streamed_vs_kernel_blocks_rel_diff=blocks_same,
               time_fit_arrays_s=t_fit_arrays, time_fit_s=t_fit,
               time_refit_simultaneous_s=t_refit, refit_repeats_s=refit_times,
               time_refit_sequential_s=t_refit_seq, time_solve_normal_s=t_solve,
               condition_number=float(est.scores_.condition_number[-1]), r2=[float(x) for x in est.scores_.r2])
    return out, est


def compare(est, hh) -> dict:
    from trajmodes.lattice.paths import special_points
    from trajmodes.phonons.harmonic.phonons import Phonons
    pts = special_points(est.force_constants_.primitive)
    q = np.array([pts["G"], pts["X"], pts["L"]], float)
    w_tm = Phonons(est.force_constants_).frequencies(q)
    w_hh = Phonons(hh.force_constants).frequencies(q)
    return dict(qpoints=dict(G=pts["G"].tolist(), X=pts["X"].tolist(), L=pts["L"].tolist()),
                frequencies_trajmodes_THz=w_tm.round(6).tolist(),
                max_abs_freq_diff_THz=float(np.abs(w_tm - w_hh).max()),
                max_abs_fc2_diff=float(np.abs(est.fc2_ - hh.fc2).max()), max_abs_fc2=float(np.abs(hh.fc2).max()),
                max_abs_fc3_diff=float(np.abs(est.fc3_ - hh.fc3).max()), max_abs_fc3=float(np.abs(hh.fc3).max()),
                counts_agree=bool(all(est.bases_[o].n_params == hh.n_dofs_by_order[o]
                                      and est.bases_[o].n_raw == hh.n_dofs_no_asr_by_order[o] for o in (2, 3))))


BUSY = "import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"


@contextlib.contextmanager
def competing(n: int, seconds: float = 900.0):
    """``n`` other processes, each keeping one core busy (a pure-Python loop), for the duration of the block."""
    procs = [subprocess.Popen([sys.executable, "-c", BUSY.format(seconds=seconds)]) for _ in range(n)]
    try:
        if n:
            time.sleep(2.0)                                  # let them start and the load average rise
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def interleaved(hh, est, u, f, rounds: int, hh_frames: int = 5, load: int = 0) -> dict:
    """hiPhive's ``add_structure`` (warm container) and trajmodes' kernel timed in alternating rounds,
    so that a change of machine load hits both: the ratio per round, and its median. ``load``: that many other
    processes keep a core busy each during the rounds (the machine shared, as it often is)."""
    with competing(load):
        out = _interleaved(hh, est, u, f, rounds, hh_frames, seed=2 + load)
        out["loadavg_after"] = os.getloadavg()[0]
    out["competing_processes"] = load
    return out


def _interleaved(hh, est, u, f, rounds: int, hh_frames: int, seed: int) -> dict:
    container, ideal = hh.extra["container"], hh.extra["ideal"]
    kern = est.kernel_
    fm = f - f.mean(axis=1, keepdims=True)
    hh_t, tm_t = [], []
    rng = np.random.default_rng(seed)                   # other frames in every call: hiPhive refuses a frame it holds
    for _ in range(rounds):
        shifted = [u[k] + rng.normal(0, 1e-6, u[k].shape) for k in range(hh_frames)]   # hiPhive refuses
        t0 = time.perf_counter()                                                    # a frame it holds
        for k in range(hh_frames):
            atoms = ideal.copy()
            atoms.new_array("displacements", shifted[k])
            atoms.new_array("forces", f[k])
            container.add_structure(atoms)
        hh_t.append((time.perf_counter() - t0) / hh_frames)
        blk = NormalBlocks.zeros(1, kern.n_params)
        t0 = time.perf_counter()
        kern.accumulate(u, fm, blk, 0)
        tm_t.append((time.perf_counter() - t0) / len(u))
    ratios = np.array(hh_t) / np.array(tm_t)
    return dict(rounds=rounds, hiphive_frames_per_round=hh_frames, trajmodes_frames_per_round=len(u),
                hiphive_s_per_frame=hh_t, trajmodes_s_per_frame=tm_t, ratios=ratios.tolist(),
                median_ratio=float(np.median(ratios)), best_vs_best_ratio=float(min(hh_t) / min(tm_t)))


def flop_floor(est, u, f, rounds: int, repeats: int = 3) -> dict:
    """The floating-point work the normal equations need per frame, how fast this machine does it, and how close the
    kernel comes.

    Each frame adds rows = 3 N force components, each a row of P parameters, to A'A: rows x P^2 floating-point
    operations (a symmetric rank-k update: rows x P (P + 1) / 2 multiply-adds). The rate is that of exactly such an
    update (BLAS dsyrk through numpy, one thread, the kernel's own block of rows); the floor is the time the work
    takes at that rate: what the whole kernel (rows built from the displacements included) is compared with. The
    kernel (``DesignKernel.accumulate`` on ``u``, ``f``) and the update alternate for ``rounds`` rounds, each timed
    best of ``repeats`` per round; the verdict is the median of the per-round ratios (the machine's speed drifts
    between rounds, not within one)."""
    from trajmodes.resources import one_blas_thread
    kern = est.kernel_
    P = kern.n_params
    rows = 3 * kern.n_atoms
    n = rows * kern.block_frames // max(1, len(kern.p2s))             # one class and one block of frames
    B = np.random.default_rng(0).normal(size=(P, n))
    G = np.zeros((P, P))
    fm = f - f.mean(axis=1, keepdims=True)
    work = rows * P * P                                               # flops per frame, counted as rows x P^2

    def kernel():
        kern.accumulate(u, fm, NormalBlocks.zeros(1, P), 0)

    kernel()                                                          # warm
    floors, kernels = [], []
    for _ in range(rounds):
        with one_blas_thread():
            t, _, _ = _best(lambda: np.add(G, B @ B.T, out=G), repeats)
        floors.append(work / (P * P * n / t))
        t, _, _ = _best(kernel, repeats)
        kernels.append(t / len(u))
    ratios = np.array(kernels) / np.array(floors)
    k = int(np.argsort(ratios)[len(ratios) // 2])                     # the median round
    return dict(rows_per_frame=rows, n_params=P, flops_per_frame=work, syrk_rate_gflops=work / floors[k] / 1e9,
                floor_s_per_frame=floors[k], rounds=rounds, floor_s_per_frame_rounds=floors,
                kernel_s_per_frame_rounds=kernels, ratios=ratios.tolist(), median_ratio=float(np.median(ratios)))


# -- memory: 10^4 frames streamed in a subprocess --------------------------------------------------
def make_big_dump(run: str, n_frames: int, seed: int = 0) -> Path:
    """``n_frames`` frames: the real ones cycled, every cycle with its own noise; reused when present."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"{run}_x{n_frames}.lammpstrj"
    meta = dict(run=run, n_frames=n_frames, seed=seed, noise_u=1e-3, noise_f=1e-3, version=1)
    tag = path.with_suffix(".gen.json")
    if path.exists() and tag.exists() and json.loads(tag.read_text()) == meta:
        return path
    tr = trajmodes.read(MD / f"{run}.lammpstrj.gz")
    n_atoms, real = tr.n_atoms, tr.n_frames
    box = tr.cells.compute()[0]
    if not np.allclose(box, np.diag(np.diag(box))):
        raise ValueError("an orthogonal box is expected")
    types = np.unique(tr.species, return_inverse=True)[1] + 1
    cols = np.concatenate([np.arange(1, n_atoms + 1)[None, :, None].repeat(real, 0),
                           types[None, :, None].repeat(real, 0), tr.positions.compute(),
                           tr.velocities.compute(), tr.forces.compute()], axis=2)         # (real, N, 11)
    bounds = "ITEM: BOX BOUNDS pp pp pp\n" + "".join(f"{0.0:.16e} {L:.16e}\n" for L in np.diag(box))
    rng = np.random.default_rng(seed)
    row = "%d %d " + " ".join(["%.10g"] * 9) + "\n"
    fmt = row * n_atoms
    t0 = time.perf_counter()
    with open(path, "w") as out:
        for t in range(n_frames):
            a = cols[t % real].copy()
            if t >= real:
                a[:, 2:5] += rng.normal(0, 1e-3, (n_atoms, 3))
                a[:, 8:11] += rng.normal(0, 1e-3, (n_atoms, 3))
            a[:, 8:11] -= a[:, 8:11].mean(axis=0)
            vals = a.tolist()
            for r in vals:
                r[0], r[1] = int(r[0]), int(r[1])
            out.write(("ITEM: UNITS\nmetal\n" if t == 0 else "") + f"ITEM: TIME\n{t * 0.04:.10g}\n"
                      f"ITEM: TIMESTEP\n{40 * t}\nITEM: NUMBER OF ATOMS\n{n_atoms}\n" + bounds
                      + "ITEM: ATOMS id type xu yu zu vx vy vz fx fy fz\n")
            out.write(fmt % tuple(x for r in vals for x in r))
    shutil.copy2(MD / f"{run}.data", DATA / f"{run}_x{n_frames}.data")
    tag.write_text(json.dumps(meta))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s", flush=True)
    return path


CHILD = r"""
import json, sys, time, warnings
t0 = time.perf_counter()
def status():
    with open("/proc/self/status") as fh:
        return {ln.split(":")[0]: int(ln.split()[1]) * 1024 for ln in fh if ln.startswith(("VmRSS", "VmHWM"))}
sys.path.insert(0, ROOT)
import trajmodes
res = dict(rss_after_import=status()["VmRSS"])
tr = trajmodes.read(DUMP, reference=DATA)
res["n_frames"], res["n_atoms"], res["chunk_frames"] = tr.n_frames, tr.n_atoms, tr.chunk_frames
res["open_s"] = time.perf_counter() - t0
t1 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    est = trajmodes.EffectiveForceConstants(R2, R3, folds=5).fit(tr)
res["fit_s"] = time.perf_counter() - t1
res["r2"] = [float(x) for x in est.scores_.r2]
res["cv_rmse"] = [float(x) for x in est.scores_.cv_rmse]
res["n_params"] = int(est.kernel_.n_params)
res["fitted_frames"] = int(est.scores_.n_frames)
st = status()
res["peak_rss"], res["rss_end"] = st["VmHWM"], st["VmRSS"]
print("RESULT" + json.dumps(res))
"""


def memory_run(dump: Path, data: Path, cutoffs) -> dict:
    code = (f"ROOT={str(ROOT)!r}; DUMP={str(dump)!r}; DATA={str(data)!r}; R2={cutoffs[0]}; R3={cutoffs[1]}\n"
            + CHILD)
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(p.stderr[-3000:])
    res = json.loads(next(ln for ln in p.stdout.splitlines() if ln.startswith("RESULT"))[6:])
    res["wall_s"] = time.perf_counter() - t0
    res["file"] = str(dump.relative_to(ROOT)) if dump.is_relative_to(ROOT) else str(dump)
    res["file_MB"] = dump.stat().st_size / 1e6
    res["time_per_frame_s"] = res["fit_s"] / res["fitted_frames"]
    return res


# -- scaling ---------------------------------------------------------------------------------------
def diamond_supercell(n: int, a: float = 5.431) -> Crystal:
    base = np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]])
    conv = np.concatenate([base, base + 0.25])
    cells = np.array([[i, j, k] for i in range(n) for j in range(n) for k in range(n)])
    frac = (conv[None, :, :] + cells[:, None, :]).reshape(-1, 3) / n
    return Crystal(np.eye(3) * a * n, frac * a * n, ["Si"] * len(frac))


def kernel_time(ref: Crystal, u, f, cutoffs, repeats: int) -> dict:
    est = EffectiveForceConstants(cutoffs[0], cutoffs[1], mode="simultaneous")
    t0 = time.perf_counter()
    est.prepare(ref)
    t_setup = time.perf_counter() - t0
    kern = est.kernel_

    def run():
        blk = NormalBlocks.zeros(1, kern.n_params)
        kern.accumulate(u, f, blk, 0)

    t, _, _ = _best(run, repeats)
    return dict(n_atoms=ref.n_atoms, cutoffs=list(cutoffs), n_frames=len(u), n_params=int(kern.n_params),
                n_params_by_order={o: int(b.n_params) for o, b in est.bases_.items()},
                time_setup_s=t_setup, time_per_frame_s=t / len(u),
                time_per_frame_per_atom_us=1e6 * t / len(u) / ref.n_atoms)


def scaling(u_real, f_real, repeats: int) -> dict:
    rng = np.random.default_rng(1)
    atoms = []
    for n, cuts in [(2, [(5.0, 4.0)]), (3, [(5.0, 4.0), (6.0, 5.0)]), (4, [(5.0, 4.0), (6.0, 5.0)])]:
        ref = diamond_supercell(n)
        frames = 20 if ref.n_atoms <= 216 else 10
        u = rng.normal(0, 0.1, (frames, ref.n_atoms, 3))
        f = rng.normal(0, 0.5, (frames, ref.n_atoms, 3))
        f -= f.mean(axis=1, keepdims=True)
        for c in cuts:
            atoms.append(kernel_time(ref, u, f, c, repeats))
            print(f"  atoms {ref.n_atoms:4d} r2 {c[0]} r3 {c[1]}: {atoms[-1]['time_per_frame_s'] * 1e3:.2f} ms/frame",
                  flush=True)
    cut = []
    ref216 = diamond_supercell(3, 5.4377)
    for r3 in (4.0, 5.0, 6.0):
        cut.append(kernel_time(ref216, u_real, f_real - f_real.mean(axis=1, keepdims=True), (6.0, r3), repeats))
        print(f"  216 atoms r2 6 r3 {r3}: {cut[-1]['n_params']} params, "
              f"{cut[-1]['time_per_frame_s'] * 1e3:.2f} ms/frame", flush=True)
    return dict(atoms=atoms, cutoffs=cut)


# -- report ----------------------------------------------------------------------------------------
def verdicts(res) -> dict:
    hh, tm = res["hiphive"], res["trajmodes"]
    v = dict(speedup_kernel=hh["time_per_frame_s"] / tm["time_per_frame_kernel_s"],
             speedup_streamed=hh["time_per_frame_s"] / tm["time_per_frame_streamed_s"])
    if res.get("interleaved"):
        v["speedup_interleaved_median"] = res["interleaved"]["median_ratio"]
        v["speedup_interleaved_best"] = res["interleaved"]["best_vs_best_ratio"]
        v["speed_bar_40x_interleaved"] = v["speedup_interleaved_median"] >= 40
    if res.get("interleaved_loaded"):
        v["speedup_loaded_median"] = res["interleaved_loaded"]["median_ratio"]
        v["speed_bar_40x_loaded"] = v["speedup_loaded_median"] >= 40
    if res.get("flops"):
        v["flop_ratio"] = res["flops"]["median_ratio"]
        v["flop_bar_3x"] = v["flop_ratio"] <= 3
    v["speed_bar_40x_kernel"] = v["speedup_kernel"] >= 40
    v["speed_bar_40x_streamed"] = v["speedup_streamed"] >= 40
    v["solve_bar_1s"] = tm["time_refit_simultaneous_s"] < 1.0
    v["freq_bar_1e-4_THz"] = res["comparison"]["max_abs_freq_diff_THz"] < 1e-4
    if res.get("memory"):
        v["memory_bar_1GB"] = res["memory"]["big"]["peak_rss"] < 1e9
    return v


def table(res) -> str:
    hh, tm, cmp, v = res["hiphive"], res["trajmodes"], res["comparison"], res["verdicts"]
    c = res["case"]
    iv = res.get("interleaved")

    def ok(x):
        return "**pass**" if x else "**FAIL**"

    L = [f"Case: {c['run']}, {c['n_atoms']} atoms, first {c['n_frames']} real MD frames, r2 = {c['cutoffs'][0]} A, "
         f"r3 = {c['cutoffs'][1]} A, simultaneous least squares; {res['env']['cores']} cores "
         f"({res['env']['cpu']}), load average at start {res['env']['loadavg_start'][0]:.2f}.", "",
         "| | hiPhive | trajmodes | ratio | target |", "|---|---|---|---|---|",
         f"| normal equations / container, s per frame (in memory) | {hh['time_per_frame_s']:.4f} "
         f"| {tm['time_per_frame_kernel_s']:.4f} | {v['speedup_kernel']:.1f}x | >= 40x {ok(v['speed_bar_40x_kernel'])} |",
         f"| same, trajmodes streamed from the .lammpstrj.gz (parse + u + rows + A'A per fold) | "
         f"{hh['time_per_frame_s']:.4f} | {tm['time_per_frame_streamed_s']:.4f} | {v['speedup_streamed']:.1f}x "
         f"| >= 40x {ok(v['speed_bar_40x_streamed'])} |",
         *([f"| same, interleaved rounds (hiPhive {iv['hiphive_frames_per_round']} frames / trajmodes "
             f"{iv['trajmodes_frames_per_round']} frames per round, {iv['rounds']} rounds): "
             f"median per-round ratio; best vs best | {min(iv['hiphive_s_per_frame']):.4f} | "
             f"{min(iv['trajmodes_s_per_frame']):.4f} | {v['speedup_interleaved_median']:.1f}x; "
             f"{v['speedup_interleaved_best']:.1f}x | >= 40x {ok(v['speed_bar_40x_interleaved'])} |"]
           if res.get("interleaved") else []),
         *([f"| same, with {il['competing_processes']} other process keeping a core busy (load average "
             f"{il['loadavg_after']:.2f}): median per-round ratio; best vs best | {min(il['hiphive_s_per_frame']):.4f}"
             f" | {min(il['trajmodes_s_per_frame']):.4f} | {il['median_ratio']:.1f}x; "
             f"{il['best_vs_best_ratio']:.1f}x | >= 40x {ok(v['speed_bar_40x_loaded'])} |"]
           if (il := res.get("interleaved_loaded")) else []),
         *([f"| floating-point work of A'A: {fl['rows_per_frame']} rows x {fl['n_params']}^2 = "
             f"{fl['flops_per_frame'] / 1e6:.1f} Mflop per frame, at this machine's one-thread dsyrk rate "
             f"({fl['syrk_rate_gflops']:.1f} Gflop/s): floor, s per frame; kernel / floor, median of "
             f"{fl['rounds']} interleaved rounds (range {min(fl['ratios']):.2f}-{max(fl['ratios']):.2f}x) | | "
             f"{fl['floor_s_per_frame']:.4f} | {v['flop_ratio']:.2f}x | <= 3x {ok(v['flop_bar_3x'])} |"]
           if (fl := res.get("flops")) else []),
         f"| first frame (hiPhive: numba compile + supercell model) / setup (trajmodes: bases + kernel), s | "
         f"{hh['time_first_frame_s']:.2f} | {tm['time_setup_s']:.2f} | | |",
         f"| cluster space, s | {hh['time_cluster_space_s']:.2f} | (in setup) | | |",
         f"| solve, s (trajmodes: refit = solve + 5-fold CV + scores; solve_normal alone "
         f"{tm['time_solve_normal_s'] * 1e3:.1f} ms) | {hh['time_solve_s']:.3f} | "
         f"{tm['time_refit_simultaneous_s']:.3f} | | < 1 s {ok(v['solve_bar_1s'])} |",
         f"| whole fit of {c['n_frames']} frames, s (trajmodes: fit(traj) / fit_arrays) | {hh['wall_s']:.1f} | "
         f"{tm['time_fit_s']:.2f} / {tm['time_fit_arrays_s']:.2f} | {hh['wall_s'] / tm['time_fit_s']:.0f}x | |",
         f"| parameters order 2 / 3 (with ASR; symmetry only) | {hh['n_dofs_by_order'][2]} / {hh['n_dofs_by_order'][3]} "
         f"({hh['n_dofs_without_asr'][2]} / {hh['n_dofs_without_asr'][3]}) | {tm['n_params_by_order'][2]} / "
         f"{tm['n_params_by_order'][3]} ({tm['n_raw_by_order'][2]} / {tm['n_raw_by_order'][3]}) | | "
         f"{ok(cmp['counts_agree'])} |",
         f"| max \\|nu_tm - nu_hiPhive\\| at G, X, L (THz) | | {cmp['max_abs_freq_diff_THz']:.1e} | | < 1e-4 "
         f"{ok(v['freq_bar_1e-4_THz'])} |",
         f"| max \\|fc2\\| diff / max \\|fc2\\| (eV/A^2); fc3 (eV/A^3) | | {cmp['max_abs_fc2_diff']:.1e} / "
         f"{cmp['max_abs_fc2']:.1f}; {cmp['max_abs_fc3_diff']:.1e} / {cmp['max_abs_fc3']:.1f} | | |"]
    if res.get("memory"):
        m, b = res["memory"]["big"], res["memory"]["base"]
        L += ["", "Memory, `trajmodes.read(dump) -> EffectiveForceConstants(6, 5, folds=5).fit(traj)` in a fresh "
              "process (peak RSS = VmHWM):", "",
              "| frames | dump | peak RSS | fit time | per frame | target |", "|---|---|---|---|---|---|",
              f"| {b['fitted_frames']} (real, .gz) | {b['file_MB']:.1f} MB | {b['peak_rss'] / 1e6:.0f} MB | "
              f"{b['fit_s']:.1f} s | {b['time_per_frame_s'] * 1e3:.1f} ms | |",
              f"| {m['fitted_frames']} (real cycled + noise, text) | {m['file_MB']:.0f} MB | "
              f"{m['peak_rss'] / 1e6:.0f} MB | {m['fit_s']:.1f} s | {m['time_per_frame_s'] * 1e3:.1f} ms | "
              f"< 1 GB {ok(v['memory_bar_1GB'])} |"]
    if res.get("scaling"):
        s = res["scaling"]
        L += ["", "Kernel time per frame (in memory, best of repeats) against atoms and cutoffs:", "",
              "| atoms | r2 | r3 | parameters (2 + 3) | setup (s) | ms per frame | us per atom-frame |",
              "|---|---|---|---|---|---|---|"]
        for r in s["atoms"] + s["cutoffs"]:
            pb = r["n_params_by_order"]
            L.append(f"| {r['n_atoms']} | {r['cutoffs'][0]} | {r['cutoffs'][1]} | {pb[2]} + {pb[3]} | "
                     f"{r['time_setup_s']:.2f} | {r['time_per_frame_s'] * 1e3:.2f} | "
                     f"{r['time_per_frame_per_atom_us']:.1f} |")
    return "\n".join(L)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", default="si_300K")
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--r2", type=float, default=6.0)
    ap.add_argument("--r3", type=float, default=5.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=7, help="interleaved rounds of hiPhive and trajmodes")
    ap.add_argument("--load", type=int, default=1,
                    help="other busy processes during a second set of interleaved rounds (0: none)")
    ap.add_argument("--big-frames", type=int, default=10000)
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--no-scaling", action="store_true")
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    cutoffs = [args.r2, args.r3]
    res = dict(env=environment())
    tr, ref, u, f = load(args.run, args.frames)
    res["case"] = dict(run=args.run, n_atoms=ref.n_atoms, n_frames=len(u), cutoffs=cutoffs,
                       max_abs_mean_force=float(np.abs(f.mean(axis=1)).max()))
    print("hiPhive ...", flush=True)
    res["hiphive"], hh = run_hiphive(ref, u, f, cutoffs)
    print("trajmodes ...", flush=True)
    res["trajmodes"], est = run_trajmodes(tr, ref, u, f, cutoffs, args.repeats)
    res["comparison"] = compare(est, hh)
    res["flops"] = flop_floor(est, u, f, args.rounds)
    print("interleaved ...", flush=True)
    res["interleaved"] = interleaved(hh, est, u, f, args.rounds)
    if args.load:
        print(f"interleaved, {args.load} other busy process(es) ...", flush=True)
        res["interleaved_loaded"] = interleaved(hh, est, u, f, args.rounds, load=args.load)
    if not args.no_scaling:
        print("scaling ...", flush=True)
        res["scaling"] = scaling(u, f, args.repeats)
    if not args.no_memory:
        print("memory ...", flush=True)
        big = make_big_dump(args.run, args.big_frames)
        res["memory"] = dict(base=memory_run(MD / f"{args.run}.lammpstrj.gz", MD / f"{args.run}.data", cutoffs),
                             big=memory_run(big, big.with_suffix(".data"), cutoffs))
    res["env"]["loadavg_end"] = os.getloadavg()
    res["verdicts"] = verdicts(res)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "fit.json").write_text(json.dumps(res, indent=1, default=float) + "\n")
    md = table(res)
    (out / "fit.md").write_text(md + "\n")
    print(md)


if __name__ == "__main__":
    main()
