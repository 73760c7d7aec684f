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

    python benchmarks/bench_scaling.py --serial-share [--cells 10] [--size-gb 0.25] [--workdir DIR]
                                       [--share-stages fit,project,sqw,anharmonic]

``--serial-share``: where no more cores are lent, the share of each streaming stage that more cores cannot shorten.
``fit`` (with a triplet cutoff, so that ``anharmonic`` has third-order constants), ``project``, ``sqw`` and
``anharmonic`` (on the fitted constants, its default mesh) each run once as a user runs them, in a fresh process
pinned to one core, with a Dask callback that records when tasks run: the *parallel part* is the time during which a
task of Dask's threaded or process scheduler runs (the work the cores share: read and parse chunks, build
rows, project, sum phases, the q-points' self-energies), with the CPU time of the thread that parses a pass's first
chunks while the command does its serial work before the pass (``Pass.reading_ahead``: the pass's own reading, which
its tasks then skip; on one core it was counted as serial before), the *serial share* s the rest of the wall time
from before the imports to the exit of the process the user waits for (imports, the frame index, symmetry and tables,
solves, writing the outputs), and the tasks of Dask's synchronous scheduler, which run one after another in the
caller at any number of cores (the peak fits of ``project`` that ``trajmodes.modes.peaks.parallel_pays`` keeps in
the caller: they were counted as parallel before).
``trajmodes`` runs its command in a forked child (``trajmodes.cli.interrupt.supervise``): the child reports the
tasks, the parent the wall time (:func:`combined`). Amdahl's law predicts the
speed-up at n cores 1 / (s + (1 - s) / n) and the efficiency that over n; an upper bound, since tasks are counted as
parallel even where one waits for another. Results: ``benchmarks/results/serial_share.{json,md}``.
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
#: the stages ``--serial-share`` times, in order (``--share-stages``)
SHARE_STAGES = ("fit", "project", "sqw", "anharmonic")
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


#: run in the pinned process: the command, with a Dask callback timing the union of the tasks' intervals
_TIMED = r"""
import json, runpy, sys, threading, time
t0 = time.perf_counter()
from dask.callbacks import Callback
class Busy(Callback):
    def __init__(self):
        super().__init__()
        self.lock, self.active, self.since, self.busy, self.tasks = threading.Lock(), 0, 0.0, 0.0, 0
        self.started, self.inline, self.inline_tasks = {}, 0.0, 0
    def _pretask(self, key, dsk, state):
        with self.lock:
            now = time.perf_counter()
            if self.active == 0:
                self.since = now
            self.active += 1
            self.started[key] = now
    def _posttask(self, key, result, dsk, state, id):
        with self.lock:
            now = time.perf_counter()
            self.active -= 1
            self.tasks += 1
            if self.active == 0:
                self.busy += now - self.since
            took = now - self.started.pop(key, now)
            if id is None:            # the synchronous scheduler: the task ran in the caller, one after another
                self.inline += took
                self.inline_tasks += 1
busy = Busy()
busy.register()
# the thread of trajmodes.trajectory.passes.Pass.reading_ahead parses the pass's first chunks while the caller does its
# serial work (the symmetry search): the pass's own reading, which its tasks then skip; its CPU time is counted
ahead = [0.0]
run_thread = threading.Thread.run
def run_counted(self):
    if self.name != "trajmodes-read-ahead":
        return run_thread(self)
    c0 = time.thread_time()
    try:
        run_thread(self)
    finally:
        with busy.lock:
            ahead[0] += time.thread_time() - c0
threading.Thread.run = run_counted
module = sys.argv[1]
sys.argv = [module] + sys.argv[2:]
code = 0
try:
    runpy.run_module(module, run_name="__main__")
except SystemExit as e:
    code = e.code or 0
print("SERIAL-SHARE " + json.dumps(dict(wall_s=time.perf_counter() - t0, task_s=busy.busy - busy.inline,
                                        tasks=busy.tasks - busy.inline_tasks, inline_s=busy.inline,
                                        inline_tasks=busy.inline_tasks, ahead_s=ahead[0], rc=code)), flush=True)
"""


def combined(stdout: str) -> dict:
    """The one record of a run of :data:`_TIMED` from the ``SERIAL-SHARE`` lines in its ``stdout``.

    ``trajmodes`` runs its command in a forked child (:func:`trajmodes.cli.interrupt.supervise`): the child, which
    inherits the callback and the start time, prints a line with the command's tasks when its command returns, and
    the parent, which ran no task, one when it has waited for the child's exit. The wall time is the longest (the
    parent's: what the user waits for, the child's interpreter shutdown included), the tasks and their time the sum,
    the status the last line's (the parent's). Reading only the first line (as before) took the child's wall time,
    which leaves out its shutdown (0.9 s of 12.5 s for ``anharmonic`` on 4,000 atoms). ``ahead_s`` is the CPU time of
    the thread that parses a pass's first chunks while the command does its serial work before the pass
    (``Pass.reading_ahead``, the thread named ``trajmodes-read-ahead``): the pass's own reading, which its tasks then
    skip, so counted with them (on one core it shares the core with the serial work; with more it runs beside it).

    Parameters
    ----------
    stdout : str
        The captured standard output of the timed process.

    Returns
    -------
    dict
        ``wall_s`` (s), ``task_s`` (s, the tasks of the schedulers that spread them over the cores), ``tasks``,
        ``inline_s`` (s) and ``inline_tasks`` (the tasks of Dask's synchronous scheduler: serial), ``ahead_s`` (s, CPU
        of the read-ahead thread: the pass's reading), ``rc`` and ``processes`` (the lines found).
    """
    lines = [json.loads(ln.split(" ", 1)[1]) for ln in stdout.splitlines() if ln.startswith("SERIAL-SHARE ")]
    if not lines:
        raise ValueError("no SERIAL-SHARE line in the timed process's output: it did not reach its end")
    return dict(wall_s=max(r["wall_s"] for r in lines), task_s=sum(r["task_s"] for r in lines),
                tasks=sum(r["tasks"] for r in lines), inline_s=sum(r.get("inline_s", 0.0) for r in lines),
                inline_tasks=sum(r.get("inline_tasks", 0) for r in lines),
                ahead_s=sum(r.get("ahead_s", 0.0) for r in lines), rc=lines[-1]["rc"], processes=len(lines))


def timed(argv: list, name: str, env: dict | None = None) -> dict:
    """Run ``python -m argv[0] argv[1:]`` as :data:`_TIMED` times it, pinned to one core: :func:`combined`'s record.

    Parameters
    ----------
    argv : list of str
        The module run as ``__main__`` (``"trajmodes"``) and its arguments.
    name : str
        The stage, for the error of a run that fails.
    env : dict, optional
        The environment of the process (default this one's).

    Raises
    ------
    RuntimeError
        The command failed or printed no record: its status and the end of its output.
    """
    import subprocess
    out = subprocess.run(pinned([sys.executable, "-c", _TIMED] + list(argv), 1), capture_output=True, text=True,
                         env=env)
    if out.returncode or "SERIAL-SHARE " not in out.stdout:
        raise RuntimeError(f"{name} failed (rc {out.returncode}):\n{out.stdout[-1500:]}\n{out.stderr[-1500:]}")
    return combined(out.stdout)


def serial_of(record: dict) -> float:
    """The serial share of a :func:`combined` record: the share of its wall time in neither the tasks that a scheduler
    spreads over the cores nor the reading ahead of a pass (both the pass's work).

    Parameters
    ----------
    record : dict
        :func:`combined`'s record (``wall_s``, ``task_s``, ``ahead_s``: s).
    """
    return 1.0 - (record["task_s"] + record.get("ahead_s", 0.0)) / record["wall_s"]


def amdahl(s: float, n: int) -> float:
    """Parallel efficiency at ``n`` cores of a run whose share ``s`` is serial (Amdahl's law)."""
    return 1.0 / (s + (1.0 - s) / n) / n


def serial_share(args) -> dict:
    import subprocess
    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    dump = work / f"cu{args.cells}_{args.size_gb:g}.lammpstrj"
    subprocess.run([sys.executable, str(HERE / "gen_dump.py"), "--cells", str(args.cells), str(dump),
                    "--size-gb", str(args.size_gb)], check=True)
    fc = work / "share-fit" / "fc.nc"
    stages = [n for n in args.share_stages.split(",") if n]
    unknown = sorted(set(stages) - set(SHARE_STAGES))
    if unknown:
        raise SystemExit(f"--share-stages: unknown stage(s) {', '.join(unknown)}; give some of "
                         f"{','.join(SHARE_STAGES)}")
    if ("project" in stages or "anharmonic" in stages) and "fit" not in stages and not fc.exists():
        raise SystemExit(f"--share-stages: project and anharmonic take the fit's constants, {fc}: add fit")
    # third-order constants only for anharmonic: the model holds them dense, (N, N, 27) per primitive atom
    third = ["--cutoff3", "2.7"] if "anharmonic" in stages else []
    commands = [("fit", ["fit", str(dump), "--cutoff2", "2.7"] + third + ["-o", str(work / "share-fit")]
                 + COMMON),
                ("project", ["project", str(dump), "--force-constants", str(fc), "--path", PATH, "-o",
                             str(work / "share-project")] + COMMON),
                ("sqw", ["sqw", str(dump), "--path", "GX", "--window", "20", "-o", str(work / "share-sqw")] + COMMON),
                ("anharmonic", ["anharmonic", str(fc), "-o", str(work / "share-anharmonic")])]
    commands = [(name, cmd) for name, cmd in commands if name in stages]
    rows = []
    for name, cmd in commands:
        shutil.rmtree(work / f"share-{name}", ignore_errors=True)
        load = os.getloadavg()
        r = timed(["trajmodes"] + cmd, name)
        s = serial_of(r)
        row = dict(command=name, argv="trajmodes " + " ".join(cmd), load_average=load, serial_share=s,
                   efficiency_16=amdahl(s, 16), speedup_16=16 * amdahl(s, 16), **r)
        rows.append(row)
        print(f"{name}: {r['wall_s']:.1f} s on one core, {r['task_s']:.1f} s in {r['tasks']} tasks "
              f"({r['inline_s']:.1f} s in {r['inline_tasks']} synchronous ones, serial), {r['ahead_s']:.1f} s read "
              f"ahead: serial share "
              f"{100 * s:.1f} %, Amdahl at 16 cores {16 * amdahl(s, 16):.1f}x ({100 * amdahl(s, 16):.0f} %) "
              f"(load {load[0]:.1f})", flush=True)
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cores_available": len(os.sched_getaffinity(0)),
            "atoms": 4 * args.cells ** 3, "dump_mb": dump.stat().st_size / 1e6, "rows": rows}


def serial_markdown(record: dict) -> str:
    lines = ["# Serial share of the streaming stages (one core) and the 16-core efficiency it predicts", "",
             f"Measured {record['date']}, {record['atoms']:,} fcc Cu atoms, a {record['dump_mb']:.0f} MB dump "
             "(benchmarks/gen_dump.py), each command in a fresh process pinned to one core (taskset) on a 2-core "
             "machine shared with other work (load average before each below).", "",
             "```", "python benchmarks/bench_scaling.py " + record.get("argv", ""), "```", "",
             "| stage | wall, one core (s) | in Dask tasks (s) | tasks | in synchronous tasks (s) | read ahead (s) | "
             "serial share | Amdahl: speed-up at 16 | efficiency at 16 | load |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in record["rows"]:
        ok = "" if r["efficiency_16"] >= GOAL else " (below 70 %)"
        lines.append(f"| {r['command']} | {r['wall_s']:.1f} | {r['task_s']:.1f} | {r['tasks']} | "
                     f"{r.get('inline_s', 0.0):.1f} ({r.get('inline_tasks', 0)}) | {r.get('ahead_s', 0.0):.1f} | "
                     f"{100 * r['serial_share']:.1f} % | {r['speedup_16']:.1f}x | "
                     f"{100 * r['efficiency_16']:.0f} %{ok} | "
                     f"{r['load_average'][0]:.1f} |")
    lines += ["", "Commands: " + "; ".join(f"`{r['argv']}`" for r in record["rows"]), "",
              "Serial share: the wall time from before the imports to the exit of the command's process outside "
              "any Dask task that a scheduler spreads over the cores (Python's own start-up not counted); the tasks "
              "of Dask's synchronous scheduler run one after another in the caller at any number of cores and count "
              "as serial (in synchronous tasks); the CPU time of the thread that parses a pass's first chunks while "
              "the command does its serial work (read ahead) is the pass's reading and counts with the tasks; 70 % "
              "efficiency at 16 cores needs a serial share of at most "
              f"{100 * (1 / GOAL - 1) / 15:.1f} %. The prediction is an upper bound: a task waiting for another "
              "counts as parallel, and memory bandwidth is taken to grow with the cores.", ""]
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
    p.add_argument("--serial-share", action="store_true",
                   help="one run of each stage on one core: its serial share and Amdahl's 16-core efficiency")
    p.add_argument("--share-stages", default=",".join(SHARE_STAGES),
                   help="with --serial-share: the stages timed, comma-separated (default all); without anharmonic "
                        "the fit has no third order (its dense array grows as the atoms squared)")
    args = p.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    if args.serial_share:
        record = serial_share(args)
        record["argv"] = " ".join(sys.argv[1:] if argv is None else argv)
        (RESULTS / "serial_share.json").write_text(json.dumps(record, indent=1))
        (RESULTS / "serial_share.md").write_text(serial_markdown(record))
        print(serial_markdown(record))
        return
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
