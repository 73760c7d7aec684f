#!/usr/bin/env python
"""The first command on a fresh dump: the bytes it reads and its time, with the frame index found by a scan of
every byte (before) and by the sparse scan that reads a window of each frame (now), in the same run.

    python benchmarks/bench_first_read.py [--cells 20] [--size-gb 0.3] [--rounds 3] [--workdir DIR] [--cleanup]

It writes a thermal fcc Cu dump with ``benchmarks/gen_dump.py`` (``--cells`` n: 4 n^3 atoms; reused when the same
one is there) and runs ``trajmodes convert`` of it as a user would, in a fresh process, each time with no frame index
saved (the dump as LAMMPS left it) and no cache: once with the index of
:func:`trajmodes.io.trajectories.lammps_format.scan_windows` (every byte, what the first read did before) and once
with that of :func:`~trajmodes.io.trajectories.lammps_format.scan_sparse` (now), interleaved for ``--rounds`` rounds.
The bytes read are ``rchar`` of the process tree (``benchmarks/bench_large.py``'s :func:`measure`: what the kernel
handed to ``read`` calls, page cache or disk), less what a fresh process reads to import trajmodes and its libraries;
the read amplification is that over the dump's size (the bar: <= 1.2x). It also checks that the two scans give the
same index (starts, steps, times) and times each scan on its own.

Results: ``benchmarks/results/first_read.json`` and ``first_read.md`` (a row of ``python benchmarks/run_all.py``).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from bench_large import STARTUP, measure  # noqa: E402
from gen_dump import generate  # noqa: E402

RESULTS = HERE / "results"
#: the bar of the first read: bytes read over the dump's size
AMPLIFICATION = 1.2
#: the program ``trajmodes`` with the frame index of the given scan (``python -m trajmodes`` otherwise)
PROGRAM = ("import sys\n"
           "import trajmodes.io.trajectories.lammps_format as F\n"
           "if sys.argv[1] == 'before':\n"
           "    F.scan_sparse = lambda path, **kw: F.scan_windows(path)\n"
           "sys.argv = ['trajmodes'] + sys.argv[2:]\n"
           "from trajmodes.cli import main\n"
           "sys.exit(main())\n")
COMMON = ["--species", "Cu", "--md-timestep", "0.001"]


def fresh(dump: Path, out: Path) -> None:
    """The dump as LAMMPS left it: no saved frame index (beside it or in the cache folder), no converted cache."""
    from trajmodes.io.filesystem import index_locations
    for ip in index_locations(str(dump)):
        Path(ip).unlink(missing_ok=True)
    shutil.rmtree(out, ignore_errors=True)


def scans(dump: Path, repeats: int) -> dict:
    """Each scan on its own, in this process: the same index, its bytes read and its time (median)."""
    import numpy as np
    from trajmodes.io.trajectories.lammps_format import scan_sparse, scan_windows
    whole = scan_windows(str(dump))
    stats = {}
    sparse = scan_sparse(str(dump), stats=stats)
    same = all(np.array_equal(a, b, equal_nan=True) for a, b in zip(whole, sparse))

    def timed(fn):
        ts = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn(str(dump))
            ts.append(time.perf_counter() - t)
        return statistics.median(ts)
    return {"same_index": bool(same), "frames": int(len(whole[0])), "whole_bytes": dump.stat().st_size,
            "sparse_bytes": stats["bytes_read"], "whole_s": timed(scan_windows), "sparse_s": timed(scan_sparse)}


def bench(args) -> dict:
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    dump = workdir / f"cu{args.cells}.lammpstrj"
    meta = generate(str(dump), args.size_gb, cells=args.cells, seed=args.seed)
    size = dump.stat().st_size
    out = workdir / f"out{args.cells}"
    startup = measure([sys.executable, "-c", STARTUP])["read_gb"] * 1e9
    runs = {"before": [], "now": []}
    for k in range(args.rounds):
        for mode in ("before", "now") if k % 2 == 0 else ("now", "before"):
            fresh(dump, out)
            r = measure([sys.executable, "-c", PROGRAM, mode, "convert", str(dump), "-o", str(out)] + COMMON)
            read = max(r["read_gb"] * 1e9 - startup, 0.0)
            runs[mode].append({"rc": r["rc"], "wall_s": r["wall_s"], "read_bytes": read, "peak_gb": r["peak_gb"],
                               "amplification": read / size})
            print(f"round {k + 1} {mode:6s}: rc {r['rc']}, {r['wall_s']:.2f} s, read {read / 1e9:.3f} GB "
                  f"({read / size:.3f}x)", flush=True)
            if r["rc"]:
                print(r["output_tail"], flush=True)
    fresh(dump, out)
    med = {m: {key: statistics.median(x[key] for x in rs) for key in ("wall_s", "read_bytes", "amplification")}
           for m, rs in runs.items()}
    return {"dump": {"path": str(dump), "bytes": size, "atoms": meta["n_atoms"], "frames": meta["n_frames"],
                     "command": f"python benchmarks/gen_dump.py {dump.name} --cells {args.cells} --size-gb "
                                f"{args.size_gb:g} --seed {args.seed}"},
            "command": "trajmodes convert DUMP -o OUT " + " ".join(COMMON), "rounds": args.rounds,
            "startup_bytes": startup, "runs": runs, "median": med, "scans": scans(dump, 3),
            "ok": all(r["rc"] == 0 for rs in runs.values() for r in rs)
            and med["now"]["amplification"] <= AMPLIFICATION}


def table(r: dict) -> str:
    d, m, s = r["dump"], r["median"], r["scans"]
    L = ["# The first read of a fresh dump: bytes read and time", "",
         f"`{r['command']}` on a dump no command had read ({d['atoms']:,} atoms x {d['frames']} frames, "
         f"{d['bytes'] / 1e9:.2f} GB, `{d['command']}`), in a fresh process, median of {r['rounds']} interleaved "
         "rounds; bytes read: `rchar` of the process tree less a fresh process's imports "
         f"({r['startup_bytes'] / 1e6:.0f} MB). Before: the frame index by a scan of every byte "
         "(`scan_windows`); now: by `scan_sparse` (a window of each frame). "
         f"`{r.get('bench_command', 'python benchmarks/bench_first_read.py')}`, {r.get('date', '')}, "
         f"{r.get('cores', '')} cores, load average {r.get('load_average', float('nan')):.2f} at the start.", "",
         "| frame index | wall (s) | read (GB) | read / dump size | target |", "|---|---|---|---|---|"]
    for mode, label in (("before", "scan of every byte (before)"), ("now", "sparse scan (now)")):
        x = m[mode]
        target = f"<= {AMPLIFICATION:g}x" if mode == "now" else ""
        L.append(f"| {label} | {x['wall_s']:.2f} | {x['read_bytes'] / 1e9:.3f} | {x['amplification']:.3f}x | "
                 f"{target} |")
    L += ["", f"The scans alone (median of 3, page cache warm): every byte {s['whole_s'] * 1e3:.0f} ms reading "
          f"{s['whole_bytes'] / 1e6:.0f} MB; sparse {s['sparse_s'] * 1e3:.1f} ms reading {s['sparse_bytes'] / 1e6:.1f} "
          f"MB ({100 * s['sparse_bytes'] / s['whole_bytes']:.1f} % of the dump); the same index (starts, steps, "
          f"times of all {s['frames']} frames): {'yes' if s['same_index'] else '**no**'}."]
    return "\n".join(L) + "\n"


def summary_rows(r: dict) -> list:
    """The rows of ``python benchmarks/run_all.py``'s summary."""
    d, m = r["dump"], r["median"]
    what = (f"`trajmodes convert` of a fresh {d['atoms']:,}-atom x {d['frames']}-frame dump ({d['bytes'] / 1e9:.2f} "
            f"GB): bytes read / dump size (before: {m['before']['amplification']:.2f}x, "
            f"{m['before']['wall_s']:.1f} s; now {m['now']['wall_s']:.1f} s)")
    return [{"peer": "the index scan of every byte (before)", "what": what,
             "measured": f"{m['now']['amplification']:.2f}x", "target": f"<= {AMPLIFICATION:g}x",
             "pass": bool(r["ok"] and r["scans"]["same_index"])}]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cells", type=int, default=20, help="fcc cells per edge: 4 n^3 atoms (20: 32,000)")
    ap.add_argument("--size-gb", type=float, default=0.3, help="size of the dump, GiB")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workdir", default=str(HERE / "data" / "first_read"))
    ap.add_argument("--cleanup", action="store_true", help="delete the dump afterwards")
    args = ap.parse_args(argv)
    load = os.getloadavg()[0]
    r = bench(args)
    shown = [a for a in (sys.argv[1:] if argv is None else argv)]
    if "--workdir" in shown:                           # a folder of this machine: not part of the command
        k = shown.index("--workdir")
        del shown[k:k + 2]
    r.update(date=time.strftime("%Y-%m-%d %H:%M"), cores=os.cpu_count(), load_average=load,
             bench_command=" ".join(["python benchmarks/bench_first_read.py"] + shown))
    r["summary_rows"] = summary_rows(r)
    if args.cleanup:
        for p in (Path(r["dump"]["path"]), Path(r["dump"]["path"] + ".gen.json")):
            p.unlink(missing_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "first_read.json").write_text(json.dumps(r, indent=1) + "\n")
    text = table(r)
    (RESULTS / "first_read.md").write_text(text)
    print(text)
    return 0 if r["ok"] and r["scans"]["same_index"] else 1


if __name__ == "__main__":
    sys.exit(main())
