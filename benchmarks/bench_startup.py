#!/usr/bin/env python
"""Start-up benchmark: how long ``import trajmodes`` and ``trajmodes --help`` take, and what they import.

    python benchmarks/bench_startup.py [--repeats 15] [--out benchmarks/results] [--label after]

Every measurement is a fresh Python subprocess (nothing cached in the interpreter; the operating system's
file cache is warm after the first round, which is what a user running commands one after another sees),
run from the repository root so that the repository's ``trajmodes`` is the one imported. Timed, interleaved
round by round so that the machine's load affects every case alike:

* ``python -c pass``: the interpreter alone (the floor);
* ``python -c "import trajmodes"``;
* ``python -m trajmodes --help`` and ``python -m trajmodes run --help`` (argument parsing included).

Reported: the median and the best wall time of each over ``--repeats`` rounds, the load average before and
after (the machine may be shared: medians are the honest number, best-of the quiet-machine estimate), the
heavy third-party packages each case imported (dask, xarray, scipy, matplotlib, MDAnalysis, netCDF4,
spglib, phonopy, pandas), and from one ``python -X importtime`` run of each the modules with the largest
cumulative import time.

Writes ``<out>/startup.json`` (every time, the environment, the import lists) and ``<out>/startup.md``
(the table, also printed); with ``--label L``, ``startup_L.json`` and ``startup_L.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("dask", "xarray", "scipy", "matplotlib", "MDAnalysis", "netCDF4", "spglib", "phonopy", "pandas")
TARGETS = {"import trajmodes": 0.3, "trajmodes --help": 0.5}

CASES = {
    "python -c pass": ["-c", "pass"],
    "import trajmodes": ["-c", "import trajmodes"],
    "trajmodes --help": ["-m", "trajmodes", "--help"],
    "trajmodes run --help": ["-m", "trajmodes", "run", "--help"],
}

# the same commands, reporting which heavy packages ended up in sys.modules
_PROBE = ("import sys, runpy\n"
          "heavy = {heavy!r}\n"
          "sys.argv = {argv!r}\n"
          "try:\n"
          "    {body}\n"
          "except SystemExit:\n"
          "    pass\n"
          "sys.__stdout__.write('\\nHEAVY:' + ','.join(sorted(h for h in heavy if h in sys.modules)) + '\\n')\n")


def _env() -> dict:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


def time_once(args: list[str]) -> float:
    """Wall time in s of one fresh ``python ARGS`` (output discarded)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=ROOT, env=_env(), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def heavy_imports(name: str) -> list[str]:
    """The heavy packages the case leaves in ``sys.modules``."""
    args = CASES[name]
    if args[0] == "-m":
        argv, body = ["trajmodes", *args[2:]], "runpy.run_module('trajmodes', run_name='__main__')"
    elif args[1] == "pass":
        argv, body = ["-c"], "pass"
    else:
        argv, body = ["-c"], args[1]
    code = _PROBE.format(heavy=HEAVY, argv=argv, body=body)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True, text=True,
                         check=True).stdout
    line = [ln for ln in out.splitlines() if ln.startswith("HEAVY:")][-1]
    return [x for x in line[len("HEAVY:"):].split(",") if x]


def import_profile(args: list[str], top: int = 8) -> dict:
    """One ``python -X importtime`` run: self time summed per top-level package, and the ``top`` imports
    with the largest cumulative time one level below the command's own imports (s)."""
    res = subprocess.run([sys.executable, "-X", "importtime", *args], cwd=ROOT, env=_env(), capture_output=True,
                         text=True, check=True)
    rows = []
    for ln in res.stderr.splitlines():
        if not ln.startswith("import time:") or "cumulative" in ln:
            continue
        self_us, cum_us, name = ln[len("import time:"):].split("|")
        rows.append(dict(module=name.strip(), depth=(len(name) - len(name.lstrip()) - 1) // 2,
                         self_s=int(self_us) * 1e-6, cumulative_s=int(cum_us) * 1e-6))
    packages: dict[str, float] = {}
    for r in rows:
        key = r["module"].split(".")[0]
        packages[key] = packages.get(key, 0.0) + r["self_s"]
    by_package = [dict(package=k, self_s=v) for k, v in sorted(packages.items(), key=lambda kv: -kv[1])[:top]]
    largest = sorted((r for r in rows if r["depth"] == 1), key=lambda r: -r["cumulative_s"])[:top]
    return dict(total_s=sum(r["self_s"] for r in rows), by_package=by_package, largest=largest)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=15, help="fresh subprocesses per case (default 15)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"), help="folder for startup.json/.md")
    ap.add_argument("--label", default="", help="a name for this measurement: written to startup_LABEL.json/.md")
    a = ap.parse_args()
    load0 = os.getloadavg()
    for args in CASES.values():                       # warm the file cache once
        time_once(args)
    times = {name: [] for name in CASES}
    for _ in range(a.repeats):
        for name, args in CASES.items():
            times[name].append(time_once(args))
    load1 = os.getloadavg()
    heavy = {name: heavy_imports(name) for name in CASES}
    profile = {name: import_profile(args) for name, args in CASES.items() if name != "python -c pass"}
    summary = {name: dict(median_s=statistics.median(t), best_s=min(t), times_s=t) for name, t in times.items()}
    result = dict(label=a.label, repeats=a.repeats, load_average_before=load0, load_average_after=load1,
                  python=platform.python_version(), cores=os.cpu_count(), cases=summary, heavy_imports=heavy,
                  import_profile=profile, targets_s=TARGETS,
                  command=f"python benchmarks/bench_startup.py --repeats {a.repeats}"
                          + (f" --label {a.label}" if a.label else ""))
    lines = [f"Start-up of trajmodes: {a.repeats} fresh subprocesses per case, interleaved; Python "
             f"{platform.python_version()}, {os.cpu_count()} cores; load average "
             f"{' '.join(f'{x:.2f}' for x in load0)} before, {' '.join(f'{x:.2f}' for x in load1)} after.", "",
             "| case | median (s) | best (s) | target on a quiet machine (s) | heavy packages imported |",
             "|---|---|---|---|---|"]
    for name, s in summary.items():
        tgt = TARGETS.get(name)
        lines.append(f"| `{name}` | {s['median_s']:.3f} | {s['best_s']:.3f} | {'' if tgt is None else f'< {tgt}'} "
                     f"| {', '.join(heavy[name]) or 'none'} |")
    lines += ["", "Import cost by package (`python -X importtime`, one run each: self time summed per top-level "
                  "package, s):", "", "| case | total | largest packages |", "|---|---|---|"]
    for name, prof in profile.items():
        lines.append(f"| `{name}` | {prof['total_s']:.3f} | "
                     + ", ".join(f"{p['package']} {p['self_s']:.3f}" for p in prof["by_package"][:6]) + " |")
    lines += ["", f"Command: `{result['command']}`"]
    text = "\n".join(lines)
    print(text)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "startup" + (f"_{a.label}" if a.label else "")
    (out / f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / f"{stem}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
