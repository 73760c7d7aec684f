"""Bytes read, peak memory and wall time of ``trajmodes info``, ``convert``, ``fit`` and ``project`` on a LAMMPS dump
and on its netCDF cache, each command in a fresh process.

Bytes read are the process' ``rchar`` (/proc/self/io: every byte read() or pread() returned, page cache or not) after
it imported the libraries every command needs (dask, netCDF4, numpy, scipy, xarray, trajmodes.workflows); peak
memory its ``VmHWM`` (/proc/self/status); both read at exit. Read amplification is the bytes read divided by the size of
the data the command needs: the whole dump for a dump (text holds every column), and for a cache the variables the
command reads (``info``: positions and velocities; ``fit``: positions and forces; ``project``: positions and
velocities; ``convert``: the dump).

Usage::

    python benchmarks/gen_dump.py /tmp/cu32k.dump --size-gb 0.45 --cells 20      # 32,000 atoms x 123 frames
    python benchmarks/bench_cache_io.py /tmp/cu32k.dump --work /tmp/bench --code /work/main --label before
    python benchmarks/bench_cache_io.py /tmp/cu32k.dump --work /tmp/bench --code . --label after

``--code`` is the folder put first on PYTHONPATH (a checkout of trajmodes), so the same script measures two versions.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

#: run inside the measured process: the CLI, then its counters as one JSON line on stderr
WRAPPER = r"""
import json, sys, time
t0 = time.perf_counter()
# the libraries every command imports, before counting: their files are not data read
import dask.array, netCDF4, numpy, scipy.linalg, xarray, trajmodes.workflows
r0 = int(dict(l.split(": ") for l in open("/proc/self/io").read().splitlines())["rchar"])
def report(code):
    io = dict(l.split(": ") for l in open("/proc/self/io").read().splitlines())
    io["rchar"] = int(io["rchar"]) - r0
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
    sys.stderr.write("BENCH " + json.dumps({"rchar": int(io["rchar"]), "read_bytes": int(io["read_bytes"]),
                     "peak_rss": int(hwm) * 1024, "wall": time.perf_counter() - t0, "rc": code}) + "\n")
from trajmodes.cli.app import main
try:
    code = main(sys.argv[1:])
except SystemExit as e:
    code = e.code
report(code)
sys.exit(code or 0)
"""

#: the cache variables each command reads (for the amplification)
NEEDS = {"info": ("positions", "velocities"), "fit": ("positions", "forces"), "project": ("positions", "velocities"),
         "fit-pass": ("positions", "forces"), "project-pass": ("positions", "velocities")}

#: the read passes of ``fit`` and ``project`` through the library (the whole commands fit force constants and
#: project on modes, minutes of CPU beyond the reading): the same read layers, the arrays reduced
PASSES = {
    "fit-pass": "from trajmodes.forceconstants.normal import fit_layer\n"
                "lean = fit_layer(t, temperature=False)\n"
                "dask.compute((t.displacements(layer=lean) * t.field('forces', lean)).sum())",
    "project-pass": "lay = ('positions', 'velocities')\n"
                    "dask.compute(t.displacements(layer=lay).sum(), (t.field('velocities', lay) ** 2).sum())",
}
PASS_WRAPPER = r"""
import json, sys, time
t0 = time.perf_counter()
import dask, dask.array, netCDF4, numpy, scipy.linalg, xarray, trajmodes, trajmodes.workflows
r0 = int(dict(l.split(": ") for l in open("/proc/self/io").read().splitlines())["rchar"])
opts = dict(species=["Cu"], md_timestep=0.001) if sys.argv[1] == "dump" else {}
t = trajmodes.read(sys.argv[2], reference="first", **opts)
exec(sys.argv[3])
io = dict(l.split(": ") for l in open("/proc/self/io").read().splitlines())
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
sys.stderr.write("BENCH " + json.dumps({"rchar": int(io["rchar"]) - r0, "read_bytes": int(io["read_bytes"]),
                 "peak_rss": int(hwm) * 1024, "wall": time.perf_counter() - t0, "rc": 0}) + "\n")
"""


def run(code: str, args: list[str], wrapper: str = WRAPPER) -> dict:
    """One CLI command (or ``wrapper`` with ``args``) in a fresh process with ``code`` first on PYTHONPATH: its
    counters."""
    env = dict(os.environ, PYTHONPATH=os.path.abspath(code), MPLBACKEND="Agg")
    p = subprocess.run([sys.executable, "-c", wrapper, *args], env=env, capture_output=True, text=True)
    lines = [line for line in p.stderr.splitlines() if line.startswith("BENCH ")]
    if not lines or p.returncode:
        raise RuntimeError(f"{' '.join(args)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return json.loads(lines[-1][6:])


def needed_bytes(cache: str, names) -> int:
    """Bytes of the variables ``names`` of the cache (float64)."""
    import netCDF4
    with netCDF4.Dataset(cache) as ds:
        return sum(ds.variables[n].size * 8 for n in names if n in ds.variables)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dump")
    p.add_argument("--work", required=True, help="folder for the cache and outputs")
    p.add_argument("--code", default=".", help="trajmodes checkout first on PYTHONPATH")
    p.add_argument("--label", default="")
    p.add_argument("--commands", default="convert,info,fit-pass,project-pass",
                   help="of convert, info, fit, project (the whole commands) and fit-pass, project-pass (their reads)")
    p.add_argument("--cutoff2", default="2.7", help="fit's pair cutoff, A (first shell of fcc Cu)")
    p.add_argument("--json", help="append the results to this JSON-lines file")
    a = p.parse_args(argv)
    os.makedirs(a.work, exist_ok=True)
    cache = os.path.join(a.work, "convert", "trajectory.nc")
    fc = os.path.join(a.work, "fit_cache")
    commands = a.commands.split(",")
    rows = []
    dump_size = os.path.getsize(a.dump)

    dump_opts = ["--species", "Cu", "--md-timestep", "0.001"]       # gen_dump.py writes fcc Cu every 10 steps

    def measure(cmd, src, args, need):
        t = time.perf_counter()
        if cmd in PASSES:
            r = run(a.code, args, PASS_WRAPPER)
        else:
            r = run(a.code, args + (dump_opts if src == "dump" else []))
        r.update(command=cmd, on=src, label=a.label, need=need, amplification=r["rchar"] / need,
                 outer_wall=time.perf_counter() - t)
        rows.append(r)
        print(f"{a.label:8s} {cmd:12s} {src:6s} wall {r['wall']:7.1f} s  peak {r['peak_rss'] / 1e9:6.2f} GB  "
              f"read {r['rchar'] / 1e9:7.2f} GB  amplification {r['amplification']:6.2f}x", flush=True)

    if "convert" in commands or not os.path.exists(cache):
        subprocess.run(["rm", "-rf", os.path.dirname(cache)])
        measure("convert", "dump", ["convert", a.dump, "-o", os.path.dirname(cache), "--reference", "first"],
                dump_size)
    for cmd in ("info", "fit", "project", "fit-pass", "project-pass"):
        if cmd not in commands:
            continue
        for src in ("dump", "cache"):
            path = a.dump if src == "dump" else cache
            need = dump_size if src == "dump" else needed_bytes(cache, NEEDS[cmd])
            if cmd in PASSES:
                args = [src, path, PASSES[cmd]]
            elif cmd == "info":
                args = ["info", path, "--reference", "first"]
            elif cmd == "fit":
                args = ["fit", path, "--reference", "first", "--cutoff2", a.cutoff2, "-o",
                        os.path.join(a.work, f"fit_{src}")]
            else:
                if not os.path.isdir(fc):
                    run(a.code, ["fit", cache, "--reference", "first", "--cutoff2", a.cutoff2, "-o", fc])
                fcfile = os.path.join(fc, sorted(f for f in os.listdir(fc) if f.startswith("force_constants")
                                                 and f.endswith(".nc"))[0])
                args = ["project", path, "--reference", "first", "--force-constants", fcfile, "-o",
                        os.path.join(a.work, f"project_{src}")]
            for out in (os.path.join(a.work, f"fit_{src}"), os.path.join(a.work, f"project_{src}")):
                subprocess.run(["rm", "-rf", out])
            measure(cmd, src, args, need)
    if a.json:
        with open(a.json, "a") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
