#!/usr/bin/env python
"""Beyond two cores: ``fit``, ``project``, ``run`` and ``sqw`` on one large dump at 1, 2, 4, ... N cores.

    python benchmarks/bench_scaling.py [--cells 30] [--size-gb 1.25] [--cores 1 2 4 16] [--workers]
                                       [--commands fit,project,run,sqw] [--workdir DIR] [--report]

The dump is an fcc Cu supercell of 4 n^3 atoms (``--cells`` n; 30: 108,000 atoms) of about ``--size-gb`` GiB made by
``benchmarks/gen_dump.py`` (reused when it is there). Each command runs as a user runs it, in a fresh process, with
its cores limited by CPU affinity (``taskset``: Dask's threaded scheduler and the BLAS pools size themselves by the
affinity mask, as on a batch node's allocation), and with ``--workers`` also as ``--workers k`` (a local cluster of k
single-threaded worker processes). ``project`` needs the constants: the 1-core ``fit`` writes them first.

Measured from outside with :func:`bench_large.measure`: wall time, peak resident memory of the process tree, bytes
read. Per row: MB/s of dump per core (the dump's bytes over the wall time over the cores), the speed-up over one core
and the parallel efficiency (speed-up / cores). The goal of the project: >= 70 % efficiency at 16 cores. Cores beyond
the machine's are skipped (and said).

Results: ``benchmarks/results/scaling.{json,md}`` (``--report``: the Markdown again from the JSON). ``run_all.py``
collects the Markdown into docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_large import COMMON, PATH, measure  # noqa: E402

RESULTS = HERE / "results"
COMMANDS = ("fit", "project", "run", "sqw")
GOAL = 0.70


def argv_of(name: str, dump: Path, out: Path, fc: Path) -> list:
    """The command line of ``name`` on ``dump`` writing into ``out`` (``fc``: the constants ``project`` takes)."""
    tm = [sys.executable, "-m", "trajmodes"]
    if name == "fit":
        return tm + ["fit", str(dump), "--cutoff2", "2.7", "-o", str(out)] + COMMON
    if name == "project":
        return tm + ["project", str(dump), "--force-constants", str(fc), "--path", PATH, "-o", str(out)] + COMMON
    if name == "run":
        return tm + ["run", str(dump), "--cutoff2", "2.7", "-o", str(out)] + COMMON
    if name == "sqw":
        return tm + ["sqw", str(dump), "--path", "GX", "--window", "20", "-o", str(out)] + COMMON
    raise ValueError(f"unknown command {name!r}: one of {', '.join(COMMANDS)}")


def pinned(argv: list, cores: int) -> list:
    """``argv`` limited to the first ``cores`` CPUs of this process's affinity (``taskset``)."""
    allowed = sorted(os.sched_getaffinity(0))[:cores]
    return ["taskset", "-c", ",".join(map(str, allowed))] + argv


def bench(args) -> dict:
    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    dump = work / f"cu{args.cells}.lammpstrj"
    if not dump.exists():
        import subprocess
        subprocess.run([sys.executable, str(HERE / "gen_dump.py"), "--cells", str(args.cells), str(dump),
                        "--size-gb", str(args.size_gb)], check=True)
    size_mb = dump.stat().st_size / 1e6
    available = len(os.sched_getaffinity(0))
    cores = [c for c in args.cores if c <= available]
    skipped = [c for c in args.cores if c > available]
    if skipped:
        print(f"this machine lends {available} cores: {skipped} skipped", flush=True)
    fc = work / "fc-1" / "fc.nc"
    rows = []
    names = [n for n in args.commands.split(",") if n]
    if "project" in names and "fit" not in names and not fc.exists():
        names = ["fit"] + names                          # the constants project takes
    for name in names:
        for mode in (("threads", "workers") if args.workers else ("threads",)):
            for k in cores:
                out = work / f"{name}-{mode}-{k}"
                shutil.rmtree(out, ignore_errors=True)
                argv = argv_of(name, dump, out, fc)
                if mode == "workers":
                    argv = argv + ["--workers", str(k)]
                m = measure(pinned(argv, k))
                if name == "fit" and mode == "threads" and k == 1 and m["rc"] == 0:
                    shutil.rmtree(fc.parent, ignore_errors=True)
                    shutil.copytree(out, fc.parent)
                row = {"command": name, "mode": mode, "cores": k, "rc": m["rc"], "wall_s": m["wall_s"],
                       "peak_gb": m["peak_gb"], "read_gb": m["read_gb"],
                       "mb_s_per_core": size_mb / m["wall_s"] / k}
                if m["rc"] != 0:
                    row["error"] = m["output_tail"][-400:]
                rows.append(row)
                print(json.dumps(row), flush=True)
    for r in rows:
        base = next((b for b in rows if b["command"] == r["command"] and b["mode"] == r["mode"] and b["cores"] == 1
                     and b["rc"] == 0), None)
        if base is not None and r["rc"] == 0:
            r["speedup"] = base["wall_s"] / r["wall_s"]
            r["efficiency"] = r["speedup"] / r["cores"]
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": platform.processor() or
            platform.machine(), "cores_available": available, "atoms": 4 * args.cells ** 3,
            "dump_mb": size_mb, "load_average": os.getloadavg()[0], "gpu": _gpu(), "rows": rows}


def _gpu() -> str:
    """The accelerator of this machine in words (none where CuPy finds none)."""
    try:
        import cupy
        n = cupy.cuda.runtime.getDeviceCount()
        return f"{n} CUDA device(s): " + ", ".join(cupy.cuda.runtime.getDeviceProperties(i)["name"].decode()
                                                   for i in range(n))
    except Exception:
        return "none (no CuPy, or no device): the GPU headroom of the normal equations and the projection not measured"


def markdown(record: dict) -> str:
    lines = ["# Scaling beyond two cores: fit, project, run and sqw at 1 ... N cores", "",
             f"Measured {record['date']} on {record['cores_available']} cores ({record['machine']}; load average "
             f"{record['load_average']:.1f} at the start), {record['atoms']:,} atoms, a {record['dump_mb']:.0f} MB "
             f"dump; GPU: {record['gpu']}.", "",
             "```", "python benchmarks/bench_scaling.py " + record.get("argv", ""), "```", "",
             "| command | mode | cores | wall (s) | MB/s per core | speed-up | efficiency | peak (GB) | read (GB) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in record["rows"]:
        if r["rc"] != 0:
            lines.append(f"| {r['command']} | {r['mode']} | {r['cores']} | failed (rc {r['rc']}) | | | | | |")
            continue
        eff = r.get("efficiency")
        flag = "" if eff is None or r["cores"] < 16 else (" **pass**" if eff >= GOAL else " **below 70 %**")
        lines.append(f"| {r['command']} | {r['mode']} | {r['cores']} | {r['wall_s']:.2f} | {r['mb_s_per_core']:.1f} | "
                     f"{r.get('speedup', float('nan')):.2f}x | {100 * eff:.0f} %{flag} | {r['peak_gb']:.2f} | "
                     f"{r['read_gb']:.2f} |" if eff is not None else
                     f"| {r['command']} | {r['mode']} | {r['cores']} | {r['wall_s']:.2f} | {r['mb_s_per_core']:.1f} | "
                     f"| | {r['peak_gb']:.2f} | {r['read_gb']:.2f} |")
    if record.get("note"):
        lines += ["", record["note"]]
    lines += ["", f"Goal: >= {100 * GOAL:.0f} % parallel efficiency at 16 cores. Efficiency is the speed-up over the "
                  "same command on one core divided by the cores; MB/s per core is the dump's size over the wall "
                  "time over the cores.", ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", type=int, default=30)
    p.add_argument("--size-gb", type=float, default=1.25)
    p.add_argument("--cores", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    p.add_argument("--workers", action="store_true", help="also as --workers k (processes)")
    p.add_argument("--commands", default=",".join(COMMANDS))
    p.add_argument("--workdir", default=str(HERE / "data" / "scaling"))
    p.add_argument("--report", action="store_true", help="the Markdown again from the saved JSON")
    p.add_argument("--note", default=None, help="a paragraph on what the numbers show, kept with them")
    args = p.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    js = RESULTS / "scaling.json"
    if args.report:
        record = json.loads(js.read_text())
        if args.note is not None:
            record["note"] = args.note
            js.write_text(json.dumps(record, indent=1))
    else:
        record = bench(args)
        record["argv"] = " ".join(sys.argv[1:] if argv is None else argv)
        js.write_text(json.dumps(record, indent=1))
    (RESULTS / "scaling.md").write_text(markdown(record))
    print(markdown(record))


if __name__ == "__main__":
    main()
