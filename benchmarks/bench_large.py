#!/usr/bin/env python
"""Out of core, measured: every trajmodes command on a 10^5- or 10^6-atom LAMMPS dump and on its netCDF cache.

    python benchmarks/bench_large.py [--cells 30 60] [--size-gb 5] [--commands info,convert,run,...]
                                     [--workdir DIR] [--cluster N] [--report]

For each crystal size (``--cells`` n: an fcc Cu supercell of 4 n^3 atoms; 30 gives 108,000 atoms, 60 gives 864,000)
the script writes a thermal dump of about ``--size-gb`` GiB with ``benchmarks/gen_dump.py`` (reused when the same one
is already there), then runs each command as a user would, in a fresh process, first on the dump and then on the cache
that ``convert`` wrote:

=========  =================================================================================================
index      the frame index of both dumps, which the first read of a dump builds (kept next to it), on its own
convert    the netCDF cache (dump only), which the rows "on the cache" read
info       the summary of the run (frames, box, temperature, displacements)
run        summary, cache and effective force constants in one folder (dump only; its input is the dump and the
           cache it writes and reads back once)
fit        effective force constants (pair cutoff 2.7 A: the first shell, so the fit is the same work at any size)
project    the mode spectra at the commensurate q of the band path Gamma-X-K-Gamma-L, with the fitted constants;
           ``project --full`` the periodograms
sqw        S(q, omega) on the path Gamma-X of the supercell's commensurate q
series     two runs (the dump and a second one at another temperature) in one dataset
=========  =================================================================================================

Each command is measured from outside: wall time, the peak resident memory of its process tree (the larger of the
largest sum of the processes' RSS sampled every 50 ms and the kernel's high-water mark of its largest process,
``ru_maxrss`` of the reaped tree: samples miss the short peaks of a big temporary array), and the bytes it read (``rchar`` of
``/proc/PID/io`` of a small parent process once it has reaped the command: Linux adds a reaped child's reads to its
parent's, so that holds the whole tree's, each byte once; less what a fresh process reads to import trajmodes and
its libraries, measured once the same way). The read amplification is the bytes read over the bytes of input the command
needs (the dump or the cache file; ``series`` both dumps). Throughput is MB of dump-equivalent per second per core.

With ``--cluster N`` the commands that take ``--scheduler`` run again on a Dask cluster of processes started by the
script on this machine (``dask scheduler`` and N ``dask worker --nthreads 1`` processes); the workers' memory and reads
count in the totals.

Results: ``benchmarks/results/large.json`` (the rows of every run, a later run's row replacing the same atoms,
command, input and setting) and the table between the
``<!-- bench_large:begin -->`` and ``<!-- bench_large:end -->`` markers of ``docs/benchmarks.md``; ``--report``
rewrites the table from the JSON and runs nothing.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "large.json"
DOCS = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench_large:begin -->", "<!-- bench_large:end -->"
COMMANDS = ("index", "convert", "info", "run", "fit", "project", "project_full", "sqw", "series")
#: the bars of the out-of-core work: peak memory (GB), read amplification, MB/s of dump per core for fit and project
PEAK_GB, AMPLIFICATION, MB_S_PER_CORE = 4.0, 1.2, 100.0
#: the speed bar holds for the 10^6-atom dump (864,000 atoms here): a run of 10^5 atoms spreads the costs of a
#: command that grow with the cell, not with the frames (symmetry, bases, startup), over ten times fewer bytes
SPEED_ATOMS = 500_000
COMMON = ["--species", "Cu", "--md-timestep", "0.001"]
#: the band path whose commensurate q ``project`` takes (a user of a huge cell would: the spectra of all its 2.6
#: million modes at 10^6 atoms are gigabytes before anything is read)
PATH = "GXKGL"
#: builds the frame index of the dumps given (what the first read of a dump does before anything else)
INDEX = "import sys, trajmodes; [trajmodes.read(p, species=['Cu'], md_timestep=0.001) for p in sys.argv[1:]]"
#: what every command reads before it reads data (Python, numpy, dask, netCDF4, matplotlib ...): subtracted from its
#: bytes read, measured once per size in a fresh process
STARTUP = ("import trajmodes.workflows, trajmodes.cli.app, trajmodes.plots, dask.array, netCDF4, scipy.optimize, "
           "matplotlib.pyplot, xarray")


def _tree(pid: int) -> list:
    import psutil
    try:
        p = psutil.Process(pid)
        return [p] + p.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


#: runs the command as its child and, once it has reaped it, writes its own ``/proc/self/io``: Linux adds the I/O of
#: a reaped child (and of everything that child reaped) to its parent's, so that file holds the whole tree's reads,
#: each counted once; sampling every process's counters would count a forked child twice (in it, and in its
#: parent once reaped) and miss what a short-lived process read between two samples
_WRAP = ("import resource, subprocess, sys\n"
         "rc = subprocess.call(sys.argv[2:])\n"
         "maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
         "open(sys.argv[1], 'w').write(open('/proc/self/io').read() + f'maxrss_kb: {maxrss}\\n')\n"
         "sys.exit(rc)\n")


def _processes(pids) -> list:
    """The processes ``pids`` and all their descendants (a ``dask worker`` nanny and its worker)."""
    out = []
    for pid in pids:
        out.extend(_tree(pid))
    return out


def _read_chars(p) -> int:
    try:
        return p.io_counters().read_chars
    except Exception:
        return 0


def measure(argv: list, extra_pids=(), env=None) -> dict:
    """Run ``argv``; sample the memory of its process tree (and of ``extra_pids`` with their descendants, e.g. the
    Dask workers) until it exits; its bytes read from the tree's own account (``_WRAP``), the extra processes' as the
    growth of their counters over the run."""
    import psutil
    import tempfile
    import threading
    t0 = time.perf_counter()
    extra = _processes(extra_pids)
    base = {p.pid: _read_chars(p) for p in extra}
    with tempfile.NamedTemporaryFile("r", suffix=".io") as account:
        proc = subprocess.Popen([sys.executable, "-c", _WRAP, account.name] + list(argv), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=env, text=True)
        hwm, peak_sum, extra_read = {}, 0, dict(base)
        out = []
        reader = threading.Thread(target=lambda: out.extend(proc.stdout), daemon=True)
        reader.start()
        while proc.poll() is None:
            total = 0
            for p in _tree(proc.pid) + extra:
                try:
                    with p.oneshot():
                        rss = p.memory_info().rss
                        if p.pid in base:
                            extra_read[p.pid] = p.io_counters().read_chars
                    hwm[p.pid] = max(hwm.get(p.pid, 0), rss)
                    total += rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
            peak_sum = max(peak_sum, total)
            time.sleep(0.05)
        reader.join(timeout=5)
        for p in extra:
            extra_read[p.pid] = max(extra_read[p.pid], _read_chars(p))
        fields = dict(line.split(":") for line in account.read().splitlines() if ":" in line)
    read = int(fields.get("rchar", 0)) + sum(extra_read[pid] - base[pid] for pid in base)
    # the kernel's high-water mark of the largest process of the tree (exact: samples 50 ms apart miss the short
    # peaks of a big temporary array), and the largest sampled sum over the tree (a cluster's workers)
    largest = max(max(hwm.values(), default=0), 1024 * int(fields.get("maxrss_kb", 0)))
    return {"argv": argv, "rc": proc.returncode, "wall_s": time.perf_counter() - t0,
            "peak_gb": max(peak_sum, largest) / 1e9, "largest_process_gb": largest / 1e9, "read_gb": read / 1e9,
            "output_tail": "".join(out)[-2000:]}


class Cluster:
    """A ``dask scheduler`` and ``n`` single-threaded ``dask worker`` processes on this machine."""

    def __init__(self, n: int, workdir: Path):
        port = 8786 + os.getpid() % 1000
        self.address = f"tcp://127.0.0.1:{port}"
        bindir = Path(sys.executable).parent
        self.procs = [subprocess.Popen([str(bindir / "dask"), "scheduler", "--port", str(port), "--no-dashboard"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir)]
        time.sleep(3)
        for i in range(n):
            self.procs.append(subprocess.Popen(
                [str(bindir / "dask"), "worker", self.address, "--nthreads", "1", "--nworkers", "1",
                 "--no-dashboard", "--local-directory", str(workdir / f"worker-{i}")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir))
        time.sleep(5)
        # the workers import the libraries at their first command (2-3 s: `fit` of the 864,000-atom dump on 2 fresh
        # workers 23.5 s, then 20.7 and 21.5 s): one small fit first, as a cluster that serves more than one command
        warm = workdir / "warm-up"
        subprocess.run([sys.executable, "-m", "trajmodes", "fit", str(ROOT / "examples" / "cu_fcc_300K.lammpstrj.gz"),
                        "--cutoff2", "2.7", "-o", str(warm), "--scheduler", self.address] + COMMON,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, cwd=workdir)
        shutil.rmtree(warm, ignore_errors=True)

    @property
    def pids(self) -> list:
        return [p.pid for p in self.procs]

    def close(self) -> None:
        for p in reversed(self.procs):
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def dumps(cells: int, size_gb: float, workdir: Path) -> tuple[Path, Path]:
    """The dump of this size and a second one at another temperature (for ``series``), made once."""
    first = workdir / f"cu{cells}.lammpstrj"
    second = workdir / f"cu{cells}_600K.lammpstrj"
    gen = [sys.executable, str(HERE / "gen_dump.py"), "--cells", str(cells)]
    subprocess.run(gen + [str(first), "--size-gb", str(size_gb)], check=True)
    subprocess.run(gen + [str(second), "--size-gb", str(size_gb / 2), "--temperature", "600", "--seed", "1"],
                   check=True)
    return first, second


def commands(name: str, src: Path, cache: Path, second: Path, out: Path) -> list:
    """The (label, argv, input files) of ``name`` on the dump and, where it applies, on the cache."""
    tm = [sys.executable, "-m", "trajmodes"]
    fc = out / "fit-dump" / "fc.nc"
    runs = []
    for where, path in (("dump", src), ("cache", cache)):
        o = out / f"{name}-{where}"
        # a cache stores its species, masses and frame times; a dump of LAMMPS types needs them
        common = COMMON if where == "dump" else []
        if name == "index" and where == "dump":
            # the frame index every first read of a dump builds (a scan for its frames, kept next to it in
            # .NAME.tmidx.npz): measured on its own, so that the rows below are the commands' own reads
            runs.append((where, [sys.executable, "-c", INDEX, str(path), str(second)], [path, second]))
        elif name == "info":
            runs.append((where, tm + ["info", str(path)] + common, [path]))
        elif name == "convert" and where == "dump":
            runs.append((where, tm + ["convert", str(path), "-o", str(cache.parent)] + common, [path]))
        elif name == "run" and where == "dump":
            # it parses the dump into its cache and reads that back (the fit's displacements from the time
            # average need the average first): its input is both
            runs.append((where, tm + ["run", str(path), "-o", str(o)] + common, [path, o / "trajectory.nc"]))
        elif name == "fit":
            runs.append((where, tm + ["fit", str(path), "--cutoff2", "2.7", "-o", str(o)] + common, [path]))
        elif name == "project":
            runs.append((where, tm + ["project", str(path), "--force-constants", str(fc), "--path", PATH, "-o",
                                      str(o)] + common, [path]))
        elif name == "project_full":
            runs.append((where, tm + ["project", str(path), "--force-constants", str(fc), "--path", PATH, "--full",
                                      "-o", str(o)] + common, [path]))
        elif name == "sqw":
            runs.append((where, tm + ["sqw", str(path), "--path", "GX", "--window", "20", "-o", str(o)] + common,
                         [path]))
        elif name == "series" and where == "dump":
            runs.append((where, tm + ["series", str(path), str(second), "--run-temperatures", "300", "600",
                                      "--cutoff2", "2.7", "-o", str(o)] + common, [path, second]))
    return runs


def verdicts(row: dict) -> dict:
    if row["rc"] != 0:
        return {"memory": False, "reads": False, "speed": False if row["command"] in ("fit", "project") else None}
    ok_mem = row["peak_gb"] < PEAK_GB
    ok_read = row["amplification"] <= AMPLIFICATION
    ok_speed = (row["mb_s_per_core"] >= MB_S_PER_CORE) if row["command"] in ("fit", "project") and \
        row["atoms"] >= SPEED_ATOMS else None
    return {"memory": ok_mem, "reads": ok_read, "speed": ok_speed}


def cache_verdict(row: dict, rows: list) -> bool | None:
    """A row on the cache: whether it took no longer than the same command on the dump (same atoms and setting);
    None for a dump row or one without its dump row."""
    if row["on"] != "cache":
        return None
    dump = [r for r in rows if r["on"] == "dump" and all(r[k] == row[k] for k in ("atoms", "command", "setting"))]
    return row["rc"] == 0 and row["wall_s"] <= dump[0]["wall_s"] if dump else None


def bench(args, on_row=None) -> list:
    """Run the commands of ``args``; every row, as it is measured, is also given to ``on_row`` (which saves it, so
    that a bench stopped in a long row keeps the rows before it)."""
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    names = [c for c in args.commands.split(",") if c]
    unknown = sorted(set(names) - set(COMMANDS))
    if unknown:
        sys.exit(f"bench_large: unknown command(s) {unknown}: choose from {', '.join(COMMANDS)}")
    rows = []
    cores = os.cpu_count() or 1
    for cells in args.cells:
        src, second = dumps(cells, args.size_gb, workdir)
        out = workdir / f"out{cells}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        cache = out / "convert-dump" / "trajectory.nc"
        startup = measure([sys.executable, "-c", STARTUP])["read_gb"]
        need = [n for n in COMMANDS if n in names or (n in ("convert", "fit") and n not in names
                                                     and any(m in names for m in ("project", "project_full")))]
        settings = [("local", None)] + ([(f"cluster of {args.cluster}", args.cluster)] if args.cluster else [])
        for label, n_workers in settings:
            cluster = Cluster(n_workers, workdir) if n_workers else None
            try:
                for name in need:
                    for where, argv, inputs in commands(name, src, cache, second, out):
                        if where == "cache" and not cache.exists():
                            continue
                        if cluster is None and getattr(args, "cluster_only", False) and args.cluster \
                                and name != "convert":
                            continue
                        if cluster is not None:
                            if name in ("index", "convert", "run"):
                                continue
                            argv = argv + ["--scheduler", cluster.address]
                        if name == "index":                  # built here, whatever an earlier run left
                            for p in (src, second):
                                (p.parent / f".{p.name}.tmidx.npz").unlink(missing_ok=True)
                        print(f"== {4 * cells ** 3} atoms, {label}: {name} on the {where}", flush=True)
                        r = measure(argv, extra_pids=cluster.pids if cluster else ())
                        r["read_gb"] = max(r["read_gb"] - startup, 0.0)
                        size = sum(p.stat().st_size for p in inputs)
                        dump_size = sum(p.stat().st_size for p in ([src, second] if name in ("series", "index") else [src]))
                        row = {"atoms": 4 * cells ** 3, "frames": _frames(src), "command": name, "on": where,
                               "setting": label, "input_gb": size / 1e9, **r,
                               "amplification": r["read_gb"] * 1e9 / size if size else float("nan"),
                               "mb_s_per_core": dump_size / 1e6 / r["wall_s"] / cores}
                        row["pass"] = verdicts(row)
                        rows.append(row)
                        if on_row is not None:
                            on_row(row)
                        print(f"   rc {r['rc']}, {r['wall_s']:.1f} s, peak {r['peak_gb']:.2f} GB, read "
                              f"{r['read_gb']:.2f} GB ({row['amplification']:.2f}x), "
                              f"{row['mb_s_per_core']:.0f} MB/s per core", flush=True)
                        if r["rc"] != 0:
                            print(r["output_tail"], flush=True)
            finally:
                if cluster is not None:
                    cluster.close()
    return rows


def _frames(dump: Path) -> int:
    meta = Path(str(dump) + ".gen.json")
    return int(json.loads(meta.read_text()).get("n_frames", 0)) if meta.exists() else 0


def environment() -> dict:
    load = os.getloadavg()[0]
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "cores": os.cpu_count(), "python": platform.python_version(), "load_average": round(load, 2),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1)}


def _key(row: dict) -> tuple:
    return row["atoms"], row["command"], row["on"], row["setting"]


def _load(path: Path) -> dict:
    """The saved rows (each with the environment and command of its run)."""
    if not path.exists():
        return {"rows": []}
    record = json.loads(path.read_text())
    for r in record["rows"]:                    # a file of one run: its environment on every row
        r.setdefault("environment", record.get("environment", {}))
        r.setdefault("bench_command", record.get("command", ""))
    return {"rows": record["rows"]}


def _merged(record: dict, rows: list) -> dict:
    """The saved rows with those of this run in place of the same (atoms, command, on, setting), sorted by size,
    setting and the order of COMMANDS."""
    new = {_key(r) for r in rows}
    kept = [r for r in record["rows"] if _key(r) not in new] + rows
    order = {c: i for i, c in enumerate(COMMANDS)}
    kept.sort(key=lambda r: (r["atoms"], r["setting"] != "local", r["setting"], order.get(r["command"], 99),
                             r["on"] != "dump"))
    return {"rows": kept}


def table(record: dict) -> str:
    runs = sorted({(r["environment"].get("date", "?"), r["environment"].get("cores", "?"),
                    r["environment"].get("memory_gb", "?"), r["environment"].get("load_average", "?"),
                    r["bench_command"]) for r in record["rows"]})
    lines = [f"Bars: peak memory < {PEAK_GB:g} GB, read amplification <= {AMPLIFICATION:g}x, fit and project >= "
             f"{MB_S_PER_CORE:g} MB/s of dump per core at 10^6 atoms (speed), every command on the cache no slower "
             "than on the dump (cache). Runs:", ""]
    lines += [f"- {date}: {cores} cores, {mem} GB RAM, load average {load} at the start; `{cmd}`"
              for date, cores, mem, load, cmd in runs]
    lines += ["",
              "| atoms x frames | command | on | setting | wall (s) | peak memory (GB) | read (GB) | amplification "
              "| MB/s per core | rc | memory | reads | speed | cache |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    word = {True: "pass", False: "**fail**", None: ""}
    for r in record["rows"]:
        v = verdicts(r)
        lines.append(f"| {r['atoms']:,} x {r['frames']} | {r['command'].replace('_', ' --')} | {r['on']} | "
                     f"{r['setting']} | {r['wall_s']:.1f} | {r['peak_gb']:.2f} | {r['read_gb']:.2f} | "
                     f"{r['amplification']:.2f}x | {r['mb_s_per_core']:.0f} | {r['rc']} | {word[v['memory']]} | "
                     f"{word[v['reads']]} | {word[v['speed']]} | {word[cache_verdict(r, record['rows'])]} |")
    return "\n".join(lines)


def write_docs(text: str) -> None:
    doc = DOCS.read_text()
    if BEGIN not in doc:
        doc += ("\n## Out of core: 10^5 and 10^6 atoms, every command\n\n```\npython benchmarks/bench_large.py\n```\n\n"
                f"{BEGIN}\n{END}\n")
    head, rest = doc.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    DOCS.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, nargs="+", default=[30, 60],
                    help="fcc cells per edge: 4 n^3 atoms (30: 108,000; 60: 864,000)")
    ap.add_argument("--size-gb", type=float, default=5.0, help="size of the dump, GiB")
    ap.add_argument("--commands", default=",".join(COMMANDS))
    ap.add_argument("--workdir", default=str(HERE / "data" / "large"))
    ap.add_argument("--cluster", type=int, default=0, help="also on a Dask cluster of this many worker processes")
    ap.add_argument("--cluster-only", action="store_true",
                    help="with --cluster: the commands on the cluster alone (on this process only convert, for the "
                         "cache)")
    ap.add_argument("--report", action="store_true", help="rewrite the docs table from the saved JSON, run nothing")
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args(argv)
    record = _load(RESULTS)
    if not args.report:
        env = environment()
        command = "python benchmarks/bench_large.py " + " ".join(argv or sys.argv[1:])
        RESULTS.parent.mkdir(exist_ok=True)

        def save(row):
            nonlocal record
            record = _merged(record, [dict(row, environment=env, bench_command=command)])
            RESULTS.write_text(json.dumps(record, indent=1))
        bench(args, on_row=save)
    text = table(record)
    print(text)
    if not args.no_docs:
        write_docs(text)


if __name__ == "__main__":
    main()
