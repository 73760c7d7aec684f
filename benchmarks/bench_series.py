#!/usr/bin/env python
"""Temperature-series benchmark: ``trajmodes.series.fit_series`` over R real LAMMPS runs of F frames (216-atom Si,
fc2 + fc3), its peak memory against R and F, its cost against the sum of the single fits, and the cost of the
bootstrap error bars against the fit.

    python benchmarks/bench_series.py [--runs 1,2,5,10] [--frames 1000] [--frame-counts 1000,2000,5000,10000]
                                      [--frame-runs 1] [--compare-runs 5] [--resamples 200] [--mesh 16]
                                      [--scan-mesh 8] [--repeats 1] [--data ~/.cache/trajmodes-bench/series]
                                      [--out benchmarks/results]

The requirement measured: a series of 10 runs of 20,000 frames each (216 atoms, fc2 + fc3) streams with memory
independent of the number of runs and frames, and costs no more than the sum of the single fits; bootstrap error bars
add no second pass over the data. The full case (``--runs 1,10 --frames 20000 --frame-counts "" --compare-runs 10
--name series_full``: 5.8 GB of dumps, 8 minutes of LAMMPS the first time, then 12 minutes of fitting on a quiet
2-core machine) is reachable; the default is a scaled set (4 minutes quiet, 15-20 minutes when other jobs share the
2 cores) from which the full case's time is extrapolated with the measured cost per frame (said so in the output).

Data: real LAMMPS runs of diamond Si (Stillinger-Weber, 3x3x3 conventional cells = 216 atoms, a = 5.431 A, NVT,
Langevin production thermostat with damping 0.5 ps whose forces are kept out of the dumped ones, a frame every
``--nevery`` = 10 steps of 1 fs) made by ``tests/support/lammps_series.py`` (``generate_run``), run i at
T = 100 (i + 1) K with seed 101 + i. They are written to ``--data`` (default ``~/.cache/trajmodes-bench/series``,
never the repository) and reused while their parameters are unchanged. Each dump has exactly F frames. Before any
measurement every dump is opened once, so its frame index exists and its text is in the page cache.

Model: ``cutoff2 = 5.0`` A (10 irreducible parameters), ``cutoff3 = 4.0`` A (27), sequential fit (the default),
5 folds, 20 time segments per run; ``n_resamples = --resamples`` block-bootstrap resamples per run.

Every configuration runs in a fresh process (``python bench_series.py _child SPEC``), so its peak RSS is its own:
``VmHWM`` of the child (not ``ru_maxrss``, which a child started by ``subprocess`` inherits from a larger parent),
cross-checked by psutil sampling from the parent every 20 ms. The child wraps (for timing and counting only; the
library is not changed) ``EffectiveForceConstants.fit`` and ``.bootstrap``, ``Series._build`` (the post-processing:
frequencies with error bars at the special points and along the band path, the TDEP free energy with error bars on
the ``mesh``), and ``LammpsDumpSource.read``, which counts the frames parsed in each phase: one pass reads R x F
frames during the fits and none during the bootstraps.

Configurations:

(a) ``fit_series`` over the first R runs of F frames, R in ``--runs`` at F = ``--frames``, and over ``--frame-runs``
    runs for F in ``--frame-counts``: peak RSS, wall and CPU time, per-run fit / bootstrap / post-processing times.
    These use ``mesh = --scan-mesh`` (8^3) for the free energy, to keep the default set short; everything else is
    the library's default.
(b) the same R = ``--compare-runs`` runs of F = ``--frames``: the sum of the single fits (``EffectiveForceConstants(
    cutoff2, cutoff3).fit(run).bootstrap(n_resamples)``, one after the other in one process) against ``fit_series``
    with the library's defaults (``mesh = --mesh`` = 16^3), and the (a) row of the same runs at 8^3.
(c) bootstrap against fit, per run, at every F of (a): the bootstrap re-solves the stored per-segment normal
    equations, so its time does not depend on F and no frame is read.

With ``--repeats N`` every configuration runs N times, in rounds over all of them (a change of load hits every
configuration alike); the times are those of the fastest round, the peak RSS the highest of all. The load average
(1 min) is recorded before and after every configuration, and the CPU time that other processes
used during it (``/proc/stat`` busy time minus the child's own CPU time), since the machine may be shared.

Writes ``<out>/<name>.json`` (every number, every round, the environment, the command line) and ``<out>/<name>.md``
(the tables, also printed); ``--name`` defaults to ``series``. ``--report FILE.json`` rewrites the tables of a saved
result.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

CUTOFF2, CUTOFF3 = 5.0, 4.0
#: a row counts as quiet when other processes used at most this many cores during it
QUIET = 0.2
A_SI = 5.431


# -- the child: one configuration in a fresh process -------------------------------------------------------------
def _status(key: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return -1


def _timed_fn(name, fn, records):
    def wrapper(*a, **k):
        w, c = time.perf_counter(), time.process_time()
        try:
            return fn(*a, **k)
        finally:
            records.append(dict(step=name, wall_s=time.perf_counter() - w, cpu_s=time.process_time() - c))
    return wrapper


def child(spec: dict) -> dict:
    """Run one configuration in this process: ``spec["kind"]`` is ``"series"`` (fit_series) or ``"single"`` (each
    run's fit and bootstrap alone, one after the other)."""
    import warnings
    t_start = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    import trajmodes
    from trajmodes import series as series_mod
    from trajmodes.forceconstants.fit import EffectiveForceConstants
    from trajmodes.io.trajectories.lammps import LammpsDumpSource
    out = dict(kind=spec["kind"], rss_after_import=_status("VmRSS"), import_s=time.perf_counter() - t_start)

    phase = ["open"]
    frames_read: dict = {}
    lock = threading.Lock()
    orig_read = LammpsDumpSource.read

    def counting_read(self, frames, fields=None):
        with lock:
            frames_read[phase[0]] = frames_read.get(phase[0], 0) + int(np.size(frames))
        return orig_read(self, frames, fields)

    LammpsDumpSource.read = counting_read
    records: list = []

    def timed(name, fn):
        def wrapper(self, *a, **k):
            phase[0] = name
            w, c = time.perf_counter(), time.process_time()
            try:
                return fn(self, *a, **k)
            finally:
                records.append(dict(step=name, wall_s=time.perf_counter() - w, cpu_s=time.process_time() - c))
                phase[0] = "other"
        return wrapper

    EffectiveForceConstants.fit = timed("fit", EffectiveForceConstants.fit)
    EffectiveForceConstants.bootstrap = timed("bootstrap", EffectiveForceConstants.bootstrap)
    series_mod.Series._build = timed("build", series_mod.Series._build)
    # the two parts of the post-processing (imported by Series._build when it runs)
    import trajmodes.phonons.thermodynamics.free_energy as fe_mod
    import trajmodes.phonons.thermodynamics.uncertainty as unc_mod
    fe_mod.tdep_free_energy = _timed_fn("free_energy", fe_mod.tdep_free_energy, records)
    unc_mod.frequencies_with_errors = _timed_fn("frequency_errors", unc_mod.frequencies_with_errors, records)

    t0 = time.perf_counter()
    trajs = [trajmodes.read(r["dump"], reference=r["data"]) for r in spec["runs"]]
    out["open_s"] = time.perf_counter() - t0
    out["n_frames"] = [int(t.n_frames) for t in trajs]
    out["chunk_frames"] = [int(t.chunk_frames) for t in trajs]
    out["rss_after_open"] = _status("VmRSS")
    phase[0] = "other"
    settings = dict(cutoff2=spec["cutoff2"], cutoff3=spec["cutoff3"])
    w, c = time.perf_counter(), time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if spec["kind"] == "series":
            s = series_mod.fit_series(trajs, n_resamples=spec["resamples"], mesh=tuple(spec["mesh"]), **settings)
            fits = s.fits
            out["has_free_energy"] = "free_energy" in s.dataset
            out["n_tabulated_q"] = int(s.dataset.sizes["q"])
            out["n_path_q"] = int(s.dataset.sizes["path_q"])
        else:
            fits = []
            for i, t in enumerate(trajs):
                est = EffectiveForceConstants(**settings).fit(t)
                est.bootstrap(spec["resamples"], i)
                fits.append(est)
    out["wall_s"] = time.perf_counter() - w
    out["cpu_s"] = time.process_time() - c
    out["warnings"] = sorted({str(x.message)[:160] for x in caught})
    out["steps"] = records
    out["frames_read"] = frames_read
    f0 = fits[0]
    out["n_params"] = {str(o): int(b.n_params) for o, b in f0.bases_.items()}
    out["runs"] = [dict(n_frames=int(f.scores_.n_frames), temperature=float(f.temperature_),
                        r2=[float(x) for x in f.scores_.r2.values], blocking_ratio=float(f.blocking_ratio_),
                        temperature_blocking=float(f.temperature_blocking_)) for f in fits]
    out["peak_rss"] = _status("VmHWM")
    out["rss_end"] = _status("VmRSS")
    out["ru_maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out["total_s"] = time.perf_counter() - t_start
    return out


# -- the parent: data, configurations, measurement ----------------------------------------------------------------
def _busy_jiffies() -> tuple[int, int]:
    with open("/proc/stat") as fh:
        v = [int(x) for x in fh.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v[:8]) - idle, os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_child(spec: dict) -> dict:
    """Run ``spec`` in a fresh interpreter, sampling its RSS with psutil; add load and other processes' CPU."""
    import psutil
    load0 = os.getloadavg()
    busy0, hz = _busy_jiffies()
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "_child", json.dumps(spec)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]
    stop = threading.Event()

    def sample():
        try:
            proc = psutil.Process(p.pid)
            while not stop.is_set():
                peak[0] = max(peak[0], proc.memory_info().rss)
                stop.wait(0.02)
        except psutil.Error:
            pass

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    stdout, stderr = p.communicate()
    stop.set()
    th.join()
    wall = time.perf_counter() - t0
    busy1, _ = _busy_jiffies()
    cpu = _children_cpu() - cpu0
    if p.returncode:
        raise RuntimeError(f"child failed ({spec['kind']}, {len(spec['runs'])} runs):\n{stderr[-4000:]}")
    res = json.loads(stdout.strip().splitlines()[-1])
    res.update(process_wall_s=wall, process_cpu_s=cpu, psutil_peak_rss=peak[0], load_before=load0[0],
               load_after=os.getloadavg()[0], other_cpu_s=max(0.0, (busy1 - busy0) / hz - cpu),
               R=len(spec["runs"]), F=int(spec["F"]), mesh=list(spec["mesh"]), resamples=spec["resamples"])
    res["other_cores_busy"] = res["other_cpu_s"] / wall
    summarise(res)
    return res


def fastest(reps: list) -> dict:
    """The round with the least wall time (its own per-step times), with every round's wall and CPU time and the
    highest peak RSS of all rounds."""
    out = dict(min(reps, key=lambda c: c["wall_s"]))
    out.update(rounds=len(reps), rounds_wall_s=[c["wall_s"] for c in reps], rounds_cpu_s=[c["cpu_s"] for c in reps],
               rounds_peak_rss=[c["peak_rss"] for c in reps], rounds_load=[c["load_before"] for c in reps],
               peak_rss=max(c["peak_rss"] for c in reps), psutil_peak_rss=max(c["psutil_peak_rss"] for c in reps))
    return out


def summarise(res: dict) -> None:
    """Per-step sums and per-run means of the child's timings."""
    st = res["steps"]
    for name in ("fit", "bootstrap", "build", "free_energy", "frequency_errors"):
        rows = [s for s in st if s["step"] == name]
        res[f"{name}_wall_s"] = float(sum(s["wall_s"] for s in rows))
        res[f"{name}_cpu_s"] = float(sum(s["cpu_s"] for s in rows))
        res[f"{name}_count"] = len(rows)
    res["fit_wall_per_run_s"] = res["fit_wall_s"] / max(1, res["fit_count"])
    res["bootstrap_wall_per_run_s"] = res["bootstrap_wall_s"] / max(1, res["bootstrap_count"])
    res["build_wall_per_run_s"] = res["build_wall_s"] / res["R"]
    res["parses_per_frame_fit"] = res["frames_read"].get("fit", 0) / sum(res["n_frames"])
    res["fit_ms_per_frame"] = 1e3 * res["fit_wall_s"] / sum(res["n_frames"])
    res["fit_cpu_ms_per_frame"] = 1e3 * res["fit_cpu_s"] / sum(res["n_frames"])


def make_runs(data: Path, R: int, F: int, nevery: int) -> list:
    """The first ``R`` runs of ``F`` frames each (generated once, then reused)."""
    sys.path.insert(0, str(ROOT))
    from tests.support.lammps_series import generate_run
    runs = []
    for i in range(R):
        T, seed = 100.0 * (i + 1), 101 + i
        name = f"si3_{T:g}K_a{A_SI}_f{F}_n{nevery}_s{seed}"
        t0 = time.perf_counter()
        r = generate_run(data, "si", T, A_SI, seed, cells=3, frames=F - 1, nevery=nevery, thermostat="langevin",
                         prod_damp=0.5, name=name)
        dt = time.perf_counter() - t0
        if dt > 1:
            print(f"  LAMMPS {name}: {dt:.1f} s", flush=True)
        runs.append(dict(dump=str(r["dump"]), data=str(r["data"]), T=T, seed=seed,
                         size_MB=r["dump"].stat().st_size / 1e6, lammps_s=r["info"]["seconds"],
                         mean_temperature=r["info"]["mean_temperature"]))
    return runs


def warm(runs: list) -> None:
    """Open every dump once (its frame index is written beside it) and read its text (page cache)."""
    import trajmodes
    for r in runs:
        trajmodes.read(r["dump"], reference=r["data"])
        with open(r["dump"], "rb") as fh:
            while fh.read(64 << 20):
                pass


def environment() -> dict:
    import dask
    cpu = platform.processor()
    if os.path.exists("/proc/cpuinfo"):
        cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")),
                   cpu)
    sys.path.insert(0, str(ROOT))
    import trajmodes
    return dict(python=platform.python_version(), numpy=np.__version__, dask=dask.__version__,
                trajmodes=getattr(trajmodes, "__version__", None), cpu=cpu, cores=os.cpu_count(),
                ram_GB=os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9,
                loadavg_start=list(os.getloadavg()), date=time.strftime("%Y-%m-%d %H:%M"))


def extrapolate(res: dict, R: int, F: int) -> dict:
    """Time of ``fit_series`` over R runs of F frames from the measured costs: the fit of a run takes a + b F, the
    first fit of a process c more (imports, first Dask graph); least squares over every measured series' per-run
    fit times; bootstrap and post-processing per run are constant (their medians; the post-processing of (b), at
    the library's default mesh, when measured)."""
    scan = list({(c["R"], c["F"], tuple(c["mesh"])): c for c in res["scan"]}.values())   # a shared row once
    quiet = [c for c in scan if c["other_cores_busy"] <= QUIET]
    rows = quiet if len({c["F"] for c in quiet}) >= 2 else scan
    X, y, yc = [], [], []
    for c in rows:
        for k, (s, n) in enumerate(zip([x for x in c["steps"] if x["step"] == "fit"], c["n_frames"])):
            X.append([1.0, float(k == 0), float(n)])
            y.append(s["wall_s"])
            yc.append(s["cpu_s"])
    X = np.array(X)
    if len(set(X[:, 2])) < 2:                                           # one run length: no cost per frame
        return None
    if np.linalg.matrix_rank(X) < 3:                                    # no second run anywhere: no first-fit term
        X = X[:, [0, 2]]
    (a, *rest), (ac, *restc) = (np.linalg.lstsq(X, np.array(v), rcond=None)[0] for v in (y, yc))
    first, b = (rest if len(rest) == 2 else [0.0] + rest)
    firstc, bc = (restc if len(restc) == 2 else [0.0] + restc)
    boot = float(np.median([c["bootstrap_wall_per_run_s"] for c in rows]))
    cmp_ = res.get("compare", {}).get("series")
    build = cmp_["build_wall_per_run_s"] if cmp_ else float(np.median([c["build_wall_per_run_s"] for c in rows]))
    fits = first + R * (a + b * F)
    return dict(R=R, F=F, fit_intercept_s=float(a), fit_first_extra_s=float(first), fit_s_per_frame=float(b),
                fit_cpu_intercept_s=float(ac), fit_cpu_first_extra_s=float(firstc), fit_cpu_s_per_frame=float(bc),
                bootstrap_per_run_s=boot, build_per_run_s=float(build),
                build_mesh=cmp_["mesh"] if cmp_ else scan[0]["mesh"],
                sum_of_single_fits_s=float(fits + R * boot), series_s=float(fits + R * (boot + build)),
                rows_used=[[c["R"], c["F"]] for c in rows], quiet_only=rows is quiet,
                note="extrapolation from the measured per-frame fit cost, not a measurement")


def verdicts(res: dict) -> dict:
    v = {}
    rs = [c for c in res["scan"] if c["tag"] == "R"]
    fs = [c for c in res["scan"] if c["tag"] == "F"]
    if len(rs) > 1:
        v["peak_rss_ratio_R"] = rs[-1]["peak_rss"] / rs[0]["peak_rss"]
        v["peak_rss_growth_per_run_MB"] = (rs[-1]["peak_rss"] - rs[0]["peak_rss"]) / (rs[-1]["R"] - rs[0]["R"]) / 1e6
        v["memory_flat_in_R"] = v["peak_rss_ratio_R"] <= 1.10
    if len(fs) > 1:
        v["peak_rss_ratio_F"] = fs[-1]["peak_rss"] / fs[0]["peak_rss"]
        v["memory_flat_in_F"] = v["peak_rss_ratio_F"] <= 1.10
        cap = [c for c in fs if c["chunk_frames"][0] == fs[-1]["chunk_frames"][0]]
        if len(cap) > 1:
            v["peak_rss_ratio_F_at_chunk_cap"] = cap[-1]["peak_rss"] / cap[0]["peak_rss"]
            v["frames_at_chunk_cap"] = [c["F"] for c in cap]
        v["bootstrap_ratio_Fmax_Fmin"] = fs[-1]["bootstrap_wall_per_run_s"] / fs[0]["bootstrap_wall_per_run_s"]
    every = res["scan"] + [x for x in res.get("compare", {}).values() if isinstance(x, dict)]
    v["one_pass"] = all(c["frames_read"].get("fit", 0) == sum(c["n_frames"]) for c in every)
    v["parses_per_frame_fit"] = max(c["parses_per_frame_fit"] for c in every)
    v["bootstrap_reads_no_frame"] = all(c["frames_read"].get("bootstrap", 0) == 0 for c in every)
    v["build_reads_no_frame"] = all(c["frames_read"].get("build", 0) == 0 for c in every)
    cmp_ = res.get("compare")
    if cmp_:
        s, one = cmp_["series"], cmp_["single"]
        v["series_over_single_wall"] = s["wall_s"] / one["wall_s"]
        v["series_over_single_cpu"] = s["cpu_s"] / one["cpu_s"]
        v["series_fit_bootstrap_over_single_wall"] = (s["fit_wall_s"] + s["bootstrap_wall_s"]) / one["wall_s"]
        v["series_fit_bootstrap_over_single_cpu"] = (s["fit_cpu_s"] + s["bootstrap_cpu_s"]) / one["cpu_s"]
        v["series_no_dearer_than_single_fits"] = v["series_over_single_cpu"] <= 1.10
        if cmp_.get("series_scan_mesh"):
            v["series_scan_mesh_over_single_cpu"] = cmp_["series_scan_mesh"]["cpu_s"] / one["cpu_s"]
    return v


# -- report ----------------------------------------------------------------------------------------------------
def _mb(x) -> str:
    return f"{x / 1e6:.0f}"


def table(res: dict) -> str:
    env, v = res["env"], res["verdicts"]

    def ok(x):
        return "**pass**" if x else "**FAIL**"

    c0 = res["scan"][0]
    L = [f"`{res['command']}`", "",
         f"{env['date']}; {env['cores']} cores ({env['cpu']}), {env['ram_GB']:.0f} GB RAM; Python {env['python']}, "
         f"numpy {env['numpy']}, dask {env['dask']}. Load average (1 min) {env['loadavg_start'][0]:.2f} at the start, "
         f"{env['loadavg_end'][0]:.2f} at the end (other jobs share the machine: see the load columns).", "",
         f"Runs: SW Si, 216 atoms, NVT (Langevin, damping 0.5 ps), a frame every {res['nevery']} fs, run i at "
         f"T = 100 (i + 1) K; {res['runs'][0]['size_MB'] / res['runs'][0]['F']:.3f} MB of dump per frame. Model: "
         f"cutoff2 {CUTOFF2} A, cutoff3 {CUTOFF3} A: {c0['n_params']['2']} + {c0['n_params']['3']} irreducible "
         f"parameters, sequential fit, 5 folds, 20 segments per run, {res['resamples']} bootstrap resamples per run. "
         "Peak RSS = the child's VmHWM (psutil sampling from the parent in brackets). The load average counts the "
         "benchmark's own threads; 'other CPU' is the CPU time other processes used during the row, in cores"
         + (f"; {c0['rounds']} rounds over every configuration: times of the fastest round, the highest peak RSS."
            if c0.get("rounds", 1) > 1 else "."), "",
         f"(a) `fit_series` (free energy on a {'x'.join(map(str, c0['mesh']))} mesh), one fresh process per row:", "",
         "| runs R | frames F per run | frames/task | wall s | CPU s | per run: fit s (ms/frame) | bootstrap s | "
         "post-processing s: frequency errors + free energy | parses per frame: fits / bootstraps | peak RSS MB | "
         "RSS after import, open MB | load before-after; other CPU |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    shown = set()
    for c in res["scan"]:
        if (c["R"], c["F"]) in shown:          # a row shared by the R and the F scan, shown once
            continue
        shown.add((c["R"], c["F"]))
        fr = c["frames_read"]
        L.append(f"| {c['R']} | {c['F']} | {c['chunk_frames'][0]} | {c['wall_s']:.1f} | {c['cpu_s']:.1f} | "
                 f"{c['fit_wall_per_run_s']:.2f} ({c['fit_ms_per_frame']:.2f}) | {c['bootstrap_wall_per_run_s']:.3f} | "
                 f"{c['build_wall_per_run_s']:.1f}: {c['frequency_errors_wall_s'] / c['R']:.1f} + "
                 f"{c['free_energy_wall_s'] / c['R']:.1f} | {c['parses_per_frame_fit']:.2f} / "
                 f"{fr.get('bootstrap', 0) / sum(c['n_frames']):.0f} | "
                 f"{_mb(c['peak_rss'])} ({_mb(c['psutil_peak_rss'])}) | {_mb(c['rss_after_import'])}, "
                 f"{_mb(c['rss_after_open'])} | {c['load_before']:.1f}-{c['load_after']:.1f}; "
                 f"{c['other_cores_busy']:.2f} cores |")
    L += [""]
    if "peak_rss_ratio_R" in v:
        L.append(f"- peak RSS, R = {res['scan_R'][-1]} / R = {res['scan_R'][0]}: {v['peak_rss_ratio_R']:.3f}, "
                 f"{v['peak_rss_growth_per_run_MB']:+.1f} MB per run (flat within 10 %: {ok(v['memory_flat_in_R'])})")
    if "peak_rss_ratio_F" in v:
        L.append(f"- peak RSS, F = {res['scan_F'][-1]} / F = {res['scan_F'][0]}: {v['peak_rss_ratio_F']:.3f} "
                 f"(flat within 10 %: {ok(v['memory_flat_in_F'])})"
                 + (f"; among the F whose chunk is at its 32 MB cap ({', '.join(map(str, v['frames_at_chunk_cap']))})"
                    f": {v['peak_rss_ratio_F_at_chunk_cap']:.3f}" if "peak_rss_ratio_F_at_chunk_cap" in v else ""))
    L.append(f"- the fits parse each frame {v['parses_per_frame_fit']:.2f} times (one parse per frame: "
             f"{ok(v['one_pass'])}); the bootstraps parse none (no second pass: {ok(v['bootstrap_reads_no_frame'])}); "
             f"the post-processing parses none: {ok(v['build_reads_no_frame'])}")
    cmp_ = res.get("compare")
    if cmp_:
        s, one, sm = cmp_["series"], cmp_["single"], cmp_.get("series_scan_mesh")
        L += ["", f"(b) The same {s['R']} runs of {s['F']} frames: the sum of the single fits against `fit_series`:", "",
              "| | wall s | CPU s | fits s | bootstraps s | post-processing s | peak RSS MB | ratio to the single "
              "fits, wall / CPU | load before-after; other CPU |", "|---|---|---|---|---|---|---|---|---|",
              f"| single fits: `fit(run).bootstrap({res['resamples']})` each, one after the other | {one['wall_s']:.1f} "
              f"| {one['cpu_s']:.1f} | {one['fit_wall_s']:.1f} | {one['bootstrap_wall_s']:.2f} | - | "
              f"{_mb(one['peak_rss'])} | 1 | {one['load_before']:.1f}-{one['load_after']:.1f}; "
              f"{one['other_cores_busy']:.2f} cores |"]
        for name, x in ((f"`fit_series`, library defaults (mesh {'x'.join(map(str, s['mesh']))})", s),
                        *(((f"`fit_series`, mesh {'x'.join(map(str, sm['mesh']))} (row of (a))", sm),) if sm else ())):
            L.append(f"| {name} | {x['wall_s']:.1f} | {x['cpu_s']:.1f} | {x['fit_wall_s']:.1f} | "
                     f"{x['bootstrap_wall_s']:.2f} | {x['build_wall_s']:.1f} | {_mb(x['peak_rss'])} | "
                     f"{x['wall_s'] / one['wall_s']:.2f} / {x['cpu_s'] / one['cpu_s']:.2f} | "
                     f"{x['load_before']:.1f}-{x['load_after']:.1f}; {x['other_cores_busy']:.2f} cores |")
        L += ["", f"- `fit_series` / sum of the single fits (CPU): {v['series_over_single_cpu']:.2f} "
              f"(<= 1.1: {ok(v['series_no_dearer_than_single_fits'])}); its fits + bootstraps alone: "
              f"{v['series_fit_bootstrap_over_single_cpu']:.2f} (wall {v['series_fit_bootstrap_over_single_wall']:.2f})"]
    fs = [c for c in res["scan"] if c["tag"] == "F"]
    if fs:
        L += ["", "(c) Bootstrap against fit, per run (rows of (a) at R = "
              f"{fs[0]['R']}):", "", "| frames F | fit s | bootstrap s | bootstrap / fit | frames read by the bootstrap |",
              "|---|---|---|---|---|"]
        for c in fs:
            L.append(f"| {c['F']} | {c['fit_wall_per_run_s']:.2f} | {c['bootstrap_wall_per_run_s']:.3f} | "
                     f"{c['bootstrap_wall_per_run_s'] / c['fit_wall_per_run_s']:.3f} | "
                     f"{c['frames_read'].get('bootstrap', 0)} |")
        L += ["", f"- bootstrap time at F = {fs[-1]['F']} / at F = {fs[0]['F']}: {v['bootstrap_ratio_Fmax_Fmin']:.2f}"]
    e = res["extrapolation"]
    if e is None:
        return "\n".join(L)
    used = ", ".join(f"R={r} F={f}" for r, f in e.get("rows_used", []))
    L += ["", f"Cost per frame (least squares over the per-run fit times of the rows of (a) "
          f"{'where other processes used at most ' + str(QUIET) + ' cores' if e.get('quiet_only') else ''}: {used}): fit = {e['fit_intercept_s']:.2f} s + "
          f"{1e3 * e['fit_s_per_frame']:.2f} ms x F per run, the first fit of a process {e['fit_first_extra_s']:.1f} s "
          f"more (CPU {e['fit_cpu_intercept_s']:.2f} s + {1e3 * e['fit_cpu_s_per_frame']:.2f} ms x F, first "
          f"+{e['fit_cpu_first_extra_s']:.1f} s); bootstrap {e['bootstrap_per_run_s']:.3f} s and "
          f"post-processing (mesh {'x'.join(map(str, e['build_mesh']))}) {e['build_per_run_s']:.1f} s per run, "
          f"independent of F. **Extrapolated, not measured**: {e['R']} runs x {e['F']} frames, sum of the single "
          f"fits {e['sum_of_single_fits_s'] / 60:.1f} min, `fit_series` {e['series_s'] / 60:.1f} min "
          "(at the load of this run)."]
    return "\n".join(L)


# -- main -------------------------------------------------------------------------------------------------------
def _ints(s: str) -> list:
    return [int(x) for x in s.split(",") if x.strip()]


def main(argv=None) -> None:
    if argv is None and len(sys.argv) > 2 and sys.argv[1] == "_child":
        print(json.dumps(child(json.loads(sys.argv[2]))))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default="1,2,5,10", help="numbers of runs R of (a), at --frames (comma separated)")
    ap.add_argument("--frames", type=int, default=1000, help="frames F per run of the R scan and of (b)")
    ap.add_argument("--frame-counts", default="1000,2000,5000,10000",
                    help="frames per run of the F scan ('' for none)")
    ap.add_argument("--frame-runs", type=int, default=1, help="runs R of the F scan")
    ap.add_argument("--compare-runs", type=int, default=5, help="runs of (b) (0: skip (b))")
    ap.add_argument("--resamples", type=int, default=200)
    ap.add_argument("--mesh", type=int, default=16, help="free-energy mesh of (b)'s fit_series (library default)")
    ap.add_argument("--scan-mesh", type=int, default=8, help="free-energy mesh of the (a) scans")
    ap.add_argument("--repeats", type=int, default=1, help="rounds over every configuration: times from the fastest "
                                                           "round, peak RSS the highest")
    ap.add_argument("--nevery", type=int, default=10, help="MD steps (1 fs) per frame")
    ap.add_argument("--data", default=str(Path.home() / ".cache" / "trajmodes-bench" / "series"))
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--name", default="series", help="stem of the output files")
    ap.add_argument("--report", metavar="JSON", help="only rewrite the tables (and the verdicts and extrapolation) of "
                                                   "a saved result")
    args = ap.parse_args(argv)
    if args.report:
        path = Path(args.report)
        res = json.loads(path.read_text())
        res["extrapolation"] = extrapolate(res, 10, 20000)
        res["verdicts"] = verdicts(res)
        path.write_text(json.dumps(res, indent=1, default=float) + "\n")
        md = table(res)
        path.with_suffix(".md").write_text(md + "\n")
        print(md)
        return
    data = Path(args.data).expanduser()
    scan_R, scan_F = _ints(args.runs), _ints(args.frame_counts)
    n_cmp = args.compare_runs
    res = dict(env=environment(), command="python benchmarks/bench_series.py " + " ".join(map(shlex.quote,
                                                                                              sys.argv[1:])),
               nevery=args.nevery, resamples=args.resamples, scan_R=scan_R, scan_F=scan_F, data=str(data))
    print("data ...", flush=True)
    t0 = time.perf_counter()
    runs_R = make_runs(data, max(scan_R + [n_cmp, 1]), args.frames, args.nevery)
    runs_F = {F: make_runs(data, args.frame_runs, F, args.nevery) for F in scan_F}
    warm(runs_R + [r for v in runs_F.values() for r in v])
    res["data_s"] = time.perf_counter() - t0
    res["runs"] = [dict(r, F=args.frames) for r in runs_R] + [dict(r, F=F) for F, v in runs_F.items() for r in v]

    def spec(kind, runs, F, mesh):
        return dict(kind=kind, runs=[dict(dump=r["dump"], data=r["data"]) for r in runs], F=F, mesh=[mesh] * 3,
                    resamples=args.resamples, cutoff2=CUTOFF2, cutoff3=CUTOFF3)

    jobs, rows = {}, []                       # distinct configurations; the rows of (a) that show them
    for tag, R, F, runs in ([("R", R, args.frames, runs_R[:R]) for R in scan_R]
                            + [("F", args.frame_runs, F, runs_F[F]) for F in scan_F]):
        key = ("series", args.scan_mesh) + tuple(r["dump"] for r in runs)
        jobs.setdefault(key, (f"(a) fit_series R={R} F={F} mesh {args.scan_mesh}",
                              spec("series", runs, F, args.scan_mesh)))
        rows.append((tag, key))                # a row shared by both scans is measured once
    if n_cmp:
        runs = runs_R[:n_cmp]
        cmp_keys = {"single": ("single", args.mesh) + tuple(r["dump"] for r in runs),
                    "series": ("series", args.mesh) + tuple(r["dump"] for r in runs)}
        jobs[cmp_keys["single"]] = (f"(b) single fits R={n_cmp} F={args.frames}",
                                    spec("single", runs, args.frames, args.mesh))
        jobs[cmp_keys["series"]] = (f"(b) fit_series R={n_cmp} F={args.frames} mesh {args.mesh}",
                                    spec("series", runs, args.frames, args.mesh))
    measured: dict = {k: [] for k in jobs}
    for rnd in range(args.repeats):           # rounds: a change of load hits every configuration alike
        for key, (label, sp) in jobs.items():
            print(f"{label}" + (f" (round {rnd + 1})" if args.repeats > 1 else "") + " ...", flush=True)
            c = run_child(sp)
            measured[key].append(c)
            print(f"    wall {c['wall_s']:.1f} s (CPU {c['cpu_s']:.1f}), fits {c['fit_wall_s']:.1f} s, bootstraps "
                  f"{c['bootstrap_wall_s']:.2f} s, post {c['build_wall_s']:.1f} s, peak RSS {_mb(c['peak_rss'])} MB, "
                  f"load {c['load_before']:.1f}-{c['load_after']:.1f}, other processes {c['other_cores_busy']:.2f} "
                  "cores", flush=True)
    best = {k: fastest(v) for k, v in measured.items()}
    res["scan"] = [dict(best[k], tag=tag) for tag, k in rows]
    if n_cmp:
        cmp_ = {name: best[k] for name, k in cmp_keys.items()}
        same = [c for c in res["scan"] if c["tag"] == "R" and c["R"] == n_cmp]
        if same and args.scan_mesh != args.mesh:
            cmp_["series_scan_mesh"] = same[0]
        res["compare"] = cmp_
    res["extrapolation"] = extrapolate(res, 10, 20000)
    res["env"]["loadavg_end"] = list(os.getloadavg())
    res["verdicts"] = verdicts(res)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(res, indent=1, default=float) + "\n")
    md = table(res)
    (out / f"{args.name}.md").write_text(md + "\n")
    print(md)


if __name__ == "__main__":
    main()
