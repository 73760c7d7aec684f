#!/usr/bin/env python
"""Reader benchmarks of trajmodes: every reader target, measured in one run.

    python benchmarks/bench_readers.py [--size-gb 1] [--big-gb 5] [--out benchmarks/results]

Writes ``<out>/readers.json`` (every number, plus the environment) and ``<out>/readers.md``
(the table, also printed).  Dumps are generated under ``benchmarks/data/`` by
``benchmarks/gen_dump.py`` (reused on later runs while their parameters match).

What is measured (MB = 10^6 bytes, GB = 10^9 bytes of dump text; "GiB" sizes on the command line
are 2^30 bytes, so a "1 GiB" dump is 1.07 GB):

a. single-thread parse of positions + velocities + forces of the ``--size-gb`` dump (file in the page
   cache, frame index already built): a direct loop over ``LammpsDumpSource.read`` in the default
   chunks, and the Dask graph with ``scheduler="single-threaded"``; against MDAnalysis'
   ``LAMMPS.DumpReader`` iterating every frame and touching ``ts.positions/velocities/forces``, on
   a prefix of whole frames (``--mda-prefix-mb``, default 256 MB) or the whole file (``--mda-full``).
   trajmodes is also timed on that same prefix, and the ratio uses the same-file numbers. The same
   (read loop and MDAnalysis) again on a dump of small frames (``--small-cells``, default 256 atoms), where
   per-frame costs show; ratios and MB/s per core from each program's own CPU time (``summary_rows``).
b. Dask threaded scheduler, ``num_workers=2`` vs ``1`` (same graph, file in page cache).
c. building the frame index from scratch (index file deleted first, file in page cache).
d. ``trajmodes.read(path).displacements().mean(axis=0).compute()`` over the big and the small dump,
   each in a fresh subprocess: peak RSS (the child's ``VmHWM``; ``ru_maxrss`` is also stored but on Linux it
   inherits the parent's pre-exec peak; cross-checked by psutil sampling), with the index present, and once
   more with the index deleted (a first open).
e. the same reduction on a ``dask.distributed.LocalCluster(n_workers=2, threads_per_worker=1,
   processes=True)``: compared with ``np.array_equal`` to the threaded default's result; timings of both.
"""
from __future__ import annotations

import importlib
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import gen_dump  # noqa: E402

TIMESTEP = 0.01  # ps between frames (the generated dumps have no ITEM: TIME)
TARGETS = {
    "speedup_vs_mdanalysis": 20.0,
    "single_thread_MBps": 600.0,
    "two_thread_speedup": 1.6,
    "index_GBps": 1.0,
    "reduction_peak_rss_GB": 1.0,
}


# ----------------------------------------------------------------------------- helpers
def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def environment() -> dict:
    import dask
    import MDAnalysis
    env = {"python": sys.version.split()[0], "platform": platform.platform(), "numpy": np.__version__,
           "dask": dask.__version__, "MDAnalysis": MDAnalysis.__version__,
           "cpu_count": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0))}
    try:
        import distributed
        env["distributed"] = distributed.__version__
    except ImportError:
        env["distributed"] = None
    try:
        import psutil
        env["psutil"] = psutil.__version__
        env["ram_GB"] = round(psutil.virtual_memory().total / 1e9, 1)
    except ImportError:
        env["psutil"] = None
    try:
        with open("/proc/cpuinfo") as fh:
            info = fh.read()
        for key in ("model name", "cpu MHz", "cache size", "flags"):
            for ln in info.splitlines():
                if ln.startswith(key):
                    val = ln.split(":", 1)[1].strip()
                    if key == "flags":
                        val = " ".join(f for f in val.split() if f in ("avx2", "avx512f", "sse4_2", "bmi2"))
                    env[key.replace(" ", "_")] = val
                    break
    except OSError:
        pass
    import trajmodes
    env["trajmodes"] = getattr(trajmodes, "__version__", "?")
    env["trajmodes_path"] = os.path.dirname(trajmodes.__file__)
    try:
        env["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                           text=True).stdout.strip() or None
    except OSError:
        env["git_commit"] = None
    return env


def warm(path: str) -> float:
    """Read the file once (page cache); return GB/s of that read."""
    t = time.perf_counter()
    with open(path, "rb", buffering=0) as fh:
        while fh.read(64 << 20):
            pass
    return os.path.getsize(path) / 1e9 / (time.perf_counter() - t)


def remove_index(path: str) -> None:
    from trajmodes.io.filesystem import index_locations
    for ip in index_locations(path):
        if os.path.exists(ip):
            os.unlink(ip)


def _busy_jiffies() -> int:
    with open("/proc/stat") as fh:
        v = [int(x) for x in fh.readline().split()[1:]]
    return sum(v) - v[3] - v[4]  # everything but idle and iowait


def timed(fn, repeats: int) -> dict:
    return timed_many({"x": fn}, repeats)["x"]


def timed_many(fns: dict, repeats: int) -> dict:
    """Time each function ``repeats`` times, interleaved (a, b, a, b, ...).

    Besides wall seconds, records ``foreign_cpu_s``: CPU seconds the whole machine spent outside
    this process during the timing (/proc/stat minus os.times), i.e. other programs competing
    for the cores -- on a 2-core machine that is what makes timings noisy.
    """
    tick = os.sysconf("SC_CLK_TCK")
    out = {k: {"seconds": [], "foreign_cpu_s": [], "own_cpu_s": []} for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            b0, c0 = _busy_jiffies(), os.times()
            t = time.perf_counter()
            fn()
            dt = time.perf_counter() - t
            b1, c1 = _busy_jiffies(), os.times()
            own = (c1.user - c0.user) + (c1.system - c0.system)
            out[k]["seconds"].append(dt)
            out[k]["own_cpu_s"].append(round(own, 3))
            out[k]["foreign_cpu_s"].append(round(max(0.0, (b1 - b0) / tick - own), 3))
    for r in out.values():
        r["median_s"], r["best_s"] = statistics.median(r["seconds"]), min(r["seconds"])
    return out


def rates(t: dict, nbytes: int, unit: float = 1e6) -> dict:
    """Rates from the wall times and, as ``cpu_rate``, from the median CPU time of this process (what one core
    does, whatever else the machine runs)."""
    t["median_rate"] = nbytes / unit / t["median_s"]
    t["best_rate"] = nbytes / unit / t["best_s"]
    t["cpu_rate"] = nbytes / unit / max(statistics.median(t["own_cpu_s"]), 1e-9)
    return t


def default_chunks(src) -> list[np.ndarray]:
    from trajmodes.trajectory.core import CHUNK_BYTES
    cf = max(1, CHUNK_BYTES // (src.n_atoms * 3 * 8 * max(1, len(src.fields))))
    return [np.arange(i, min(i + cf, src.n_frames)) for i in range(0, src.n_frames, cf)]


def open_source(path: str):
    from trajmodes.io.trajectories.lammps import LammpsDumpSource
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LammpsDumpSource(path, md_timestep=TIMESTEP)


def _touch(block):
    """A 1x1x1 block holding the block's byte count: forces the parse, moves no data."""
    return np.full((1, 1, 1), block.nbytes, dtype=np.int64)


def touch_graph(traj):
    arrays = [traj.positions, traj.velocities, traj.forces]
    return [x.map_blocks(_touch, chunks=((1,) * x.numblocks[0], (1,), (1,)), dtype=np.int64).sum()
            for x in arrays]


# ----------------------------------------------------------------------------- a, b, c
def bench_index(path: str, repeats: int) -> dict:
    import mmap

    from trajmodes import _fastparse
    from trajmodes.io.trajectories.lammps_format import index_dump
    size = os.path.getsize(path)
    warm(path)

    def fresh():
        remove_index(path)
        index_dump(path)

    def scan_only():
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            _fastparse.scan_lammps(mm)

    out = {"index_dump_fresh": rates(timed(fresh, repeats), size, 1e9),
           "scan_lammps_only": rates(timed(scan_only, repeats), size, 1e9)}
    t = time.perf_counter()
    open_source(path)
    out["open_with_index_s"] = time.perf_counter() - t
    return out


def bench_direct(path: str, repeats: int) -> dict:
    """trajmodes on one thread, no Dask: LammpsDumpSource.read over the default chunks."""
    src = open_source(path)
    chunks = default_chunks(src)
    size = os.path.getsize(path)

    def run():
        n = 0
        for fr in chunks:
            d = src.read(fr)
            n += d["positions"].shape[0] + d["velocities"].shape[0] + d["forces"].shape[0]
        assert n == 3 * src.n_frames

    res = rates(timed(run, repeats), size)
    res.update(n_frames=src.n_frames, n_atoms=src.n_atoms, chunk_frames=len(chunks[0]), n_chunks=len(chunks))
    return res


def bench_dask(path: str, repeats: int, workers: list) -> dict:
    import dask

    import trajmodes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traj = trajmodes.read(path, md_timestep=TIMESTEP)
    graph = touch_graph(traj)
    size = os.path.getsize(path)
    expect = traj.n_frames * traj.n_atoms * 3 * 8
    fns = {}
    for w in workers:
        kw = {"scheduler": "single-threaded"} if w == "single" else {"scheduler": "threads", "num_workers": int(w)}

        def run(kw=kw):
            got = dask.compute(*graph, **kw)
            assert all(int(g) == expect for g in got), (got, expect)

        fns[str(w)] = run
    return {k: rates(v, size) for k, v in timed_many(fns, repeats).items()}


def bench_mdanalysis(path: str, data_dir: str, prefix_mb: float, full: bool, repeats: int) -> dict:
    """MDAnalysis' DumpReader over every frame (x, v, f touched), then trajmodes on the same file; ``speedup``
    from wall times, ``cpu_speedup`` from each one's own CPU time."""
    import MDAnalysis as mda
    if full:
        target = path
        info = {"file": path, "bytes": os.path.getsize(path), "prefix": False}
    else:
        stem = os.path.splitext(os.path.basename(path))[0]
        target = os.path.join(data_dir, f"mda_prefix_{int(prefix_mb)}MB_of_{stem}.dump")
        meta = gen_dump.write_prefix(path, target, int(prefix_mb * 1e6))
        info = {"file": target, "bytes": meta["bytes"], "n_frames": meta["n_frames"], "prefix": True}
    warm(target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        u = mda.Universe(target, format="LAMMPSDUMP")
        nf = len(u.trajectory)
        info["open_s"] = time.perf_counter() - t
        info["n_frames"] = nf
        t, c = time.perf_counter(), time.process_time()
        seen = 0
        for ts in u.trajectory:
            p, v, f = ts.positions, ts.velocities, ts.forces
            seen += (p.shape[0] + v.shape[0] + f.shape[0]) > 0
        info["iterate_s"] = time.perf_counter() - t
        info["iterate_cpu_s"] = time.process_time() - c
    assert seen == nf
    info["MBps"] = info["bytes"] / 1e6 / info["iterate_s"]
    info["MBps_incl_open"] = info["bytes"] / 1e6 / (info["iterate_s"] + info["open_s"])
    # trajmodes on the very same file, for a like-for-like ratio
    remove_index(target)
    t = time.perf_counter()
    open_source(target)
    info["trajmodes_open_fresh_s"] = time.perf_counter() - t
    tm = bench_direct(target, repeats)
    info["trajmodes_MBps"] = tm["median_rate"]
    info["trajmodes_MBps_incl_open"] = info["bytes"] / 1e6 / (tm["median_s"] + info["trajmodes_open_fresh_s"])
    info["speedup"] = info["trajmodes_MBps"] / info["MBps"]
    info["MBps_cpu"] = info["bytes"] / 1e6 / info["iterate_cpu_s"]
    info["trajmodes_MBps_cpu"] = tm["cpu_rate"]
    info["cpu_speedup"] = tm["cpu_rate"] / info["MBps_cpu"]
    info["speedup_incl_open"] = info["trajmodes_MBps_incl_open"] / info["MBps_incl_open"]
    return info


def profile_direct(path: str, out_dir: str, max_frames: int = 400) -> dict:
    """cProfile of the single-thread direct loop (first frames), top entries saved to profile_read.txt."""
    import cProfile
    import io
    import pstats
    src = open_source(path)
    chunks = [c for c in default_chunks(src) if c[0] < max_frames]
    pr = cProfile.Profile()
    pr.enable()
    for fr in chunks:
        src.read(fr)
    pr.disable()
    s = io.StringIO()
    st = pstats.Stats(pr, stream=s)
    st.sort_stats("tottime").print_stats(15)
    text = s.getvalue()
    with open(os.path.join(out_dir, "profile_read.txt"), "w") as fh:
        fh.write(text)
    total = sum(v[2] for v in st.stats.values())
    top = sorted(((v[2], f"{k[0].split('/')[-1]}:{k[1]}({k[2]})") for k, v in st.stats.items()), reverse=True)[:8]
    return {"total_tottime_s": total, "top_tottime": [{"where": w, "s": round(t, 4), "share": round(t / total, 3)}
                                                      for t, w in top]}


# ----------------------------------------------------------------------------- d, e (subprocesses)
def child_reduce(path: str, scheduler: str, out_npy: str, fresh_index: bool) -> None:
    """Runs in a fresh interpreter: the streamed reduction, printing one JSON line."""
    t0 = time.perf_counter()
    importlib.import_module("dask")     # imported first, as in the timed run

    import trajmodes

    def rss_now():
        with open("/proc/self/status") as fh:
            return {ln.split(":")[0]: int(ln.split()[1]) * 1024 for ln in fh
                    if ln.startswith(("VmRSS", "VmHWM", "RssAnon", "RssFile"))}

    res = {"path": path, "scheduler": scheduler, "fresh_index": fresh_index, "rss_after_import": rss_now()["VmRSS"]}
    if fresh_index:
        remove_index(path)
    client = cluster = None
    if scheduler == "distributed":
        from dask.distributed import Client, LocalCluster
        t = time.perf_counter()
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
        res["cluster_start_s"] = time.perf_counter() - t
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        traj = trajmodes.read(path, md_timestep=TIMESTEP)
        u = traj.displacements()
        res["open_s"] = time.perf_counter() - t
        res["peak_rss_after_open"] = rss_now()["VmHWM"]
        res["n_frames"], res["n_atoms"], res["chunk_frames"] = traj.n_frames, traj.n_atoms, traj.chunk_frames
        t = time.perf_counter()
        mean = u.mean(axis=0).compute()
        res["compute_s"] = time.perf_counter() - t
    res["status_end"] = rss_now()
    # VmHWM: this process's peak RSS.  ru_maxrss is not used: on Linux it keeps the high-water mark of
    # the memory the process had before exec, so a child of a big parent inherits the parent's peak.
    res["peak_rss"] = res["status_end"]["VmHWM"]
    res["ru_maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if client is not None:
        def worker_peak():
            import resource as r
            return r.getrusage(r.RUSAGE_SELF).ru_maxrss * 1024
        res["worker_peak_rss"] = sorted(client.run(worker_peak).values())
        client.close()
        cluster.close()
    np.save(out_npy, mean)
    res["mean_abs_displacement"] = float(np.abs(mean).mean())
    res["total_s"] = time.perf_counter() - t0
    print("RESULT " + json.dumps(res), flush=True)


def run_child(path: str, scheduler: str, out_npy: str, fresh_index: bool = False) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child-reduce", path, "--child-scheduler", scheduler,
           "--child-out", out_npy] + (["--child-fresh-index"] if fresh_index else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampled = 0
    try:
        import psutil
        ps = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:  # this process only (the distributed workers are reported by the child itself)
                sampled = max(sampled, ps.memory_info().rss)
            except psutil.Error:
                pass
            time.sleep(0.05)
    except ImportError:
        pass
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"child failed ({proc.returncode}):\n{err[-3000:]}")
    line = [ln for ln in out.splitlines() if ln.startswith("RESULT ")][-1]
    res = json.loads(line[7:])
    res["psutil_sampled_peak_rss"] = sampled or None
    res["bytes"] = os.path.getsize(path)
    res["GBps"] = res["bytes"] / 1e9 / res["compute_s"]
    return res


# ----------------------------------------------------------------------------- report
def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def build_table(R: dict) -> list[dict]:
    rows = []
    a, mda = R["a_single_thread"], R["a_mdanalysis"]
    small_gb = R["files"]["small"]["bytes"] / 1e9
    big_gb = R["files"]["big"]["bytes"] / 1e9 if "big" in R["files"] else None
    where = "whole file" if not mda["prefix"] else f"{mda['bytes'] / 1e6:.0f} MB prefix"
    rows.append(dict(check="a", what=f"trajmodes / MDAnalysis DumpReader, 1 thread ({where}, same file)",
                     value=f"{mda['speedup']:.1f}x ({mda['trajmodes_MBps']:.0f} vs {mda['MBps']:.1f} MB/s)",
                     target=">= 20x", ok=mda["speedup"] >= TARGETS["speedup_vs_mdanalysis"]))
    rows.append(dict(check="a", what="  same, including opening (index build / Universe)",
                     value=f"{mda['speedup_incl_open']:.1f}x", target="(info)", ok=None))
    rows.append(dict(check="a", what=f"trajmodes 1 thread, direct read loop ({small_gb:.2f} GB dump)",
                     value=f"{a['direct']['median_rate']:.0f} MB/s (best {a['direct']['best_rate']:.0f})",
                     target=">= 600 MB/s", ok=a["direct"]["median_rate"] >= TARGETS["single_thread_MBps"]))
    rows.append(dict(check="a", what="trajmodes 1 thread, Dask scheduler=single-threaded",
                     value=f"{a['dask']['single']['median_rate']:.0f} MB/s (best {a['dask']['single']['best_rate']:.0f})",
                     target=">= 600 MB/s", ok=a["dask"]["single"]["median_rate"] >= TARGETS["single_thread_MBps"]))
    b = R["b_threads"]
    rows.append(dict(check="b", what=f"Dask threads, num_workers=2 vs 1 (best of {len(b['1']['seconds'])}, interleaved)",
                     value=f"{b['speedup']:.2f}x ({b['1']['best_rate']:.0f} -> {b['2']['best_rate']:.0f} MB/s)",
                     target=">= 1.6x", ok=b["speedup"] >= TARGETS["two_thread_speedup"]))
    fc = max(b["2"]["foreign_cpu_s"]) if b["2"]["foreign_cpu_s"] else 0
    rows.append(dict(check="b", what="  same, medians (other programs used up to "
                                   f"{fc:.1f} CPU-s during a 2-thread run)",
                     value=f"{b['speedup_median']:.2f}x ({b['1']['median_rate']:.0f} -> {b['2']['median_rate']:.0f} MB/s)",
                     target="(info)", ok=None))
    c = R["c_index"]
    rows.append(dict(check="c", what="index build, fresh (index_dump incl. save)",
                     value=f"{c['index_dump_fresh']['median_rate']:.2f} GB/s", target=">= 1 GB/s",
                     ok=c["index_dump_fresh"]["median_rate"] >= TARGETS["index_GBps"]))
    rows.append(dict(check="c", what="  scan_lammps kernel alone (mmap)",
                     value=f"{c['scan_lammps_only']['median_rate']:.2f} GB/s", target="(info)", ok=None))
    d = R["d_memory"]
    for key, label in (("big", f"{big_gb:.2f} GB" if big_gb else None), ("small", f"{small_gb:.2f} GB")):
        if key not in d:
            continue
        for mode, note in (("indexed", "index present"), ("fresh_index", "index deleted first")):
            r = d[key].get(mode)
            if r is None:
                continue
            peak = r["peak_rss"] / 1e9
            rows.append(dict(check="d", what=f"mean displacement, {label} dump, {note}: peak RSS",
                             value=f"{peak:.2f} GB (peak after open {r['peak_rss_after_open'] / 1e9:.2f}; "
                                   f"{r['compute_s']:.1f} s, {r['GBps']:.2f} GB/s)",
                             target="< 1 GB", ok=peak < TARGETS["reduction_peak_rss_GB"]))
    if "big" in d and "small" in d:
        ratio = d["big"]["indexed"]["peak_rss"] / d["small"]["indexed"]["peak_rss"]
        rows.append(dict(check="d", what="peak RSS big / small (index present)", value=f"{ratio:.2f}",
                         target="about 1", ok=0.8 <= ratio <= 1.25))
    e = R.get("e_distributed")
    if e:
        rows.append(dict(check="e", what="LocalCluster 2x1 (processes) == threaded default, np.array_equal",
                         value=f"{e['array_equal']} (max abs diff {e['max_abs_diff']:.1e})", target="True",
                         ok=bool(e["array_equal"])))
        rows.append(dict(check="e", what="  reduction time: threaded default vs LocalCluster",
                         value=f"{e['threaded_s']:.1f} s vs {e['distributed_s']:.1f} s "
                               f"(+{e['cluster_start_s']:.1f} s cluster start)",
                         target="(info)", ok=None))
    return rows


def summary_rows(R: dict) -> list[dict]:
    """The rows of benchmarks/run_all.py's table: per frame size, the ratio to MDAnalysis and the rate per core,
    both from CPU time (one core each, whatever else runs)."""
    out = []
    for key in ("small_atoms", "main"):
        s = R.get("sizes", {}).get(key)
        if s is None:
            continue
        m, n = s["mdanalysis"], s["n_atoms"]
        out.append(dict(peer="MDAnalysis", what=f"x, v, f of {n}-atom frames, one core, same file "
                                                f"({m['bytes'] / 1e6:.0f} MB)",
                        measured=f"{m['cpu_speedup']:.0f}x ({m['trajmodes_MBps_cpu']:.0f} vs {m['MBps_cpu']:.1f} MB/s)",
                        target=">= 20x", **{"pass": m["cpu_speedup"] >= TARGETS["speedup_vs_mdanalysis"]}))
        d = s["direct"]
        out.append(dict(peer="(hardware)", what=f"MB/s per core, {n}-atom frames, {s['bytes'] / 1e9:.2f} GB dump "
                                                "(CPU time of the read loop)",
                        measured=f"{d['cpu_rate']:.0f} MB/s", target=">= 600 MB/s",
                        **{"pass": d["cpu_rate"] >= TARGETS["single_thread_MBps"]}))
    return out


def markdown(R: dict, rows: list[dict]) -> str:
    env = R["environment"]
    lines = ["| check | measurement | result | target | verdict |", "|---|---|---|---|---|"]
    for r in rows:
        v = "" if r["ok"] is None else verdict(r["ok"])
        lines.append(f"| {r['check']} | {r['what'].strip()} | {r['value']} | {r['target']} | {v} |")
    f = R["files"]["small"]
    head = (f"Machine: {env.get('model_name', '?')}, {env['cpus_usable']} cores, "
            f"{env.get('ram_GB', '?')} GB RAM; Python {env['python']}, numpy {env['numpy']}, dask {env['dask']}, "
            f"distributed {env['distributed']}, MDAnalysis {env['MDAnalysis']}.  "
            f"Dump: {f['n_atoms']} atoms, {f['bytes_per_frame'] / 1e6:.2f} MB/frame, "
            f"'id type xu yu zu vx vy vz fx fy fz', %.{f['params']['precision']}g.  MB = 1e6 bytes, GB = 1e9 bytes.")
    return head + "\n\n" + "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- main
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="trajmodes reader benchmarks (see the module docstring)")
    p.add_argument("--size-gb", type=float, default=1.0, help="size of the main dump in GiB (default 1)")
    p.add_argument("--big-gb", type=float, default=5.0, help="size of the dump for the memory test, GiB (default 5; "
                                                              "0 skips it)")
    p.add_argument("--out", default=os.path.join(HERE, "results"), help="folder for readers.json / readers.md")
    p.add_argument("--data", default=os.path.join(HERE, "data"), help="folder for generated dumps")
    p.add_argument("--cells", type=int, default=12, help="fcc supercell n (4 n^3 atoms; default 12: 6912 atoms)")
    p.add_argument("--small-cells", type=int, default=4, help="fcc supercell of the small-frame dump (default 4: "
                                                              "256 atoms; 0 skips it)")
    p.add_argument("--order", choices=("sorted", "shuffled"), default="sorted", help="atom row order in the dump")
    p.add_argument("--repeats", type=int, default=3, help="repetitions of each timing (median reported)")
    p.add_argument("--thread-repeats", type=int, default=5, help="repetitions of the 1- vs 2-thread timings")
    p.add_argument("--mda-prefix-mb", type=float, default=256.0, help="MDAnalysis is timed on this prefix (MB)")
    p.add_argument("--mda-full", action="store_true", help="time MDAnalysis on the whole dump instead")
    p.add_argument("--no-distributed", action="store_true", help="skip check e")
    p.add_argument("--no-profile", action="store_true", help="skip the cProfile of the single-thread read")
    p.add_argument("--cleanup", action="store_true", help="delete generated dumps larger than 1 GB at the end")
    p.add_argument("--child-reduce", help=argparse.SUPPRESS)
    p.add_argument("--child-scheduler", default="threads", help=argparse.SUPPRESS)
    p.add_argument("--child-out", help=argparse.SUPPRESS)
    p.add_argument("--child-fresh-index", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child_reduce:
        child_reduce(a.child_reduce, a.child_scheduler, a.child_out, a.child_fresh_index)
        return 0

    os.makedirs(a.out, exist_ok=True)
    os.makedirs(a.data, exist_ok=True)
    t_start = time.perf_counter()
    R = {"command": " ".join(["python"] + sys.argv),
         "date": time.strftime("%Y-%m-%d %H:%M:%S"), "environment": environment(), "targets": TARGETS, "files": {}}
    log(f"environment: {R['environment'].get('model_name')}, {R['environment']['cpus_usable']} cores")
    b0 = _busy_jiffies()
    time.sleep(2.0)
    R["environment"]["background_cpus_busy_at_start"] = round((_busy_jiffies() - b0) / os.sysconf("SC_CLK_TCK") / 2.0, 2)
    log(f"background load at start: {R['environment']['background_cpus_busy_at_start']} CPUs busy")

    tag = f"fcc{a.cells}_{a.order}"
    small = os.path.join(a.data, f"{tag}_{a.size_gb:g}GiB.dump")
    gen_kw = dict(cells=a.cells, order=a.order)
    R["files"]["small"] = gen_dump.generate(small, a.size_gb, **gen_kw)
    big = None
    if a.big_gb > 0:
        big = os.path.join(a.data, f"{tag}_{a.big_gb:g}GiB.dump")
        R["files"]["big"] = gen_dump.generate(big, a.big_gb, **gen_kw)
    # a freshly written dump is still being flushed to disk by kernel threads, which steal CPU from the
    # timings on a small machine: flush everything first
    t = time.perf_counter()
    os.sync()
    log(f"sync: {time.perf_counter() - t:.1f} s")

    log("c: index build (fresh)")
    R["c_index"] = bench_index(small, a.repeats)
    log(f"   {R['c_index']['index_dump_fresh']['median_rate']:.2f} GB/s")

    log("a: single-thread parse, direct loop")
    warm(small)
    R["a_single_thread"] = {"direct": bench_direct(small, a.repeats)}
    log(f"   {R['a_single_thread']['direct']['median_rate']:.0f} MB/s")
    log("a/b: Dask single-threaded, threads x1, threads x2")
    dk = bench_dask(small, a.repeats, ["single"])
    R["a_single_thread"]["dask"] = {"single": dk["single"]}
    dk = bench_dask(small, a.thread_repeats, [1, 2])
    R["b_threads"] = {"1": dk["1"], "2": dk["2"], "speedup": dk["1"]["best_s"] / dk["2"]["best_s"],
                      "speedup_median": dk["1"]["median_s"] / dk["2"]["median_s"]}
    log(f"   single {R['a_single_thread']['dask']['single']['median_rate']:.0f}, x1 {dk['1']['median_rate']:.0f}, "
        f"x2 {dk['2']['median_rate']:.0f} MB/s (median); speedup best/median "
        f"{R['b_threads']['speedup']:.2f}/{R['b_threads']['speedup_median']:.2f}")

    log("a: MDAnalysis DumpReader")
    R["a_mdanalysis"] = bench_mdanalysis(small, a.data, a.mda_prefix_mb, a.mda_full, a.repeats)
    log(f"   MDAnalysis {R['a_mdanalysis']['MBps']:.1f} MB/s; trajmodes {R['a_mdanalysis']['trajmodes_MBps']:.0f} "
        f"MB/s on the same file: {R['a_mdanalysis']['speedup']:.1f}x")

    main_size = R["files"]["small"]
    R["sizes"] = {"main": dict(n_atoms=main_size["n_atoms"], bytes=main_size["bytes"],
                               direct=R["a_single_thread"]["direct"], mdanalysis=R["a_mdanalysis"])}
    if a.small_cells:
        log(f"a: frames of {4 * a.small_cells ** 3} atoms (per-frame costs)")
        few = os.path.join(a.data, f"fcc{a.small_cells}_{a.order}_{a.size_gb:g}GiB.dump")
        info = gen_dump.generate(few, a.size_gb, cells=a.small_cells, order=a.order)
        os.sync()
        warm(few)
        open_source(few)
        R["sizes"]["small_atoms"] = dict(n_atoms=info["n_atoms"], bytes=info["bytes"],
                                         direct=bench_direct(few, a.repeats),
                                         mdanalysis=bench_mdanalysis(few, a.data, a.mda_prefix_mb, a.mda_full,
                                                                     a.repeats))
        s = R["sizes"]["small_atoms"]
        log(f"   {s['direct']['cpu_rate']:.0f} MB/s per core; MDAnalysis {s['mdanalysis']['MBps_cpu']:.1f} MB/s: "
            f"{s['mdanalysis']['cpu_speedup']:.1f}x")

    if not a.no_profile:
        log("profile of the single-thread read")
        R["profile_read"] = profile_direct(small, a.out)

    log("d: streamed reduction, peak RSS in fresh subprocesses")
    R["d_memory"] = {}
    tmpdir = tempfile.mkdtemp(prefix="bench_readers_")
    targets = ([("big", big)] if big else []) + [("small", small)]
    for key, path in targets:
        warm(path)
        open_source(path)  # make sure the index exists for the "indexed" runs
        R["d_memory"][key] = {"indexed": run_child(path, "threads", os.path.join(tmpdir, f"{key}_threads.npy"))}
        r = R["d_memory"][key]["indexed"]
        log(f"   {key}: peak RSS {r['peak_rss'] / 1e9:.2f} GB, {r['compute_s']:.1f} s")
        R["d_memory"][key]["fresh_index"] = run_child(path, "threads", os.path.join(tmpdir, f"{key}_fresh.npy"),
                                                      fresh_index=True)
        r = R["d_memory"][key]["fresh_index"]
        log(f"   {key} (index deleted first): peak RSS {r['peak_rss'] / 1e9:.2f} GB, open {r['open_s']:.1f} s")

    if not a.no_distributed:
        log("e: LocalCluster(2 workers x 1 thread, processes) vs threaded default")
        rd = run_child(small, "distributed", os.path.join(tmpdir, "small_dist.npy"))
        m_thr = np.load(os.path.join(tmpdir, "small_threads.npy"))
        m_dst = np.load(os.path.join(tmpdir, "small_dist.npy"))
        R["e_distributed"] = {"array_equal": bool(np.array_equal(m_thr, m_dst)),
                              "max_abs_diff": float(np.abs(m_thr - m_dst).max()),
                              "threaded_s": R["d_memory"]["small"]["indexed"]["compute_s"],
                              "distributed_s": rd["compute_s"], "cluster_start_s": rd["cluster_start_s"],
                              "client_peak_rss": rd["peak_rss"], "worker_peak_rss": rd.get("worker_peak_rss"),
                              "detail": rd}
        log(f"   equal: {R['e_distributed']['array_equal']}, {rd['compute_s']:.1f} s")
    for fn in os.listdir(tmpdir):
        os.unlink(os.path.join(tmpdir, fn))
    os.rmdir(tmpdir)

    rows = build_table(R)
    R["table"] = rows
    R["summary_rows"] = summary_rows(R)
    R["elapsed_s"] = time.perf_counter() - t_start
    md = markdown(R, rows)
    with open(os.path.join(a.out, "readers.json"), "w") as fh:
        json.dump(R, fh, indent=1, default=str)
    with open(os.path.join(a.out, "readers.md"), "w") as fh:
        fh.write(md)
    print()
    print(md)
    log(f"done in {R['elapsed_s']:.0f} s; wrote {a.out}/readers.json and readers.md")

    if a.cleanup:
        for fn in os.listdir(a.data):
            fp = os.path.join(a.data, fn)
            if os.path.isfile(fp) and os.path.getsize(fp) > 1e9:
                os.unlink(fp)
                remove_index(fp)
                log(f"removed {fp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
