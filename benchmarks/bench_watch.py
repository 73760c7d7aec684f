#!/usr/bin/env python
"""``trajmodes watch``: the cost of one update against the length of the run already followed (it should be flat:
an update reads and adds only its new frames, and solves from normal equations whose size does not grow).

    python benchmarks/bench_watch.py [--frames 3000] [--step 200] [--out benchmarks/results]

A real LAMMPS run (fcc argon, 108 atoms, Lennard-Jones, 40 K, a frame every 5 steps with positions, velocities and
forces: 26 kB per frame) is written first (seconds), then followed as if it grew by ``--step`` frames per update: for
every update the bytes read from the dump, the wall time of reading and adding the new frames
(:meth:`~trajmodes.workflows.watch.Watch.read_new`) and of the refit (:meth:`~trajmodes.workflows.watch.Watch.refit`:
the solve, the cutoff scan and the block bootstrap) are recorded. Reported: those against the frames already held, and
the ratio of the last updates' median to the first ones' (1 when flat).

Writes ``<out>/watch.json`` and ``<out>/watch.md`` (the table, also printed).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=3000)
    ap.add_argument("--step", type=int, default=200)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    a = ap.parse_args()
    from tests.workflows.test_watch import lammps_command
    from trajmodes.workflows.watch import Watch, WatchSettings
    with tempfile.TemporaryDirectory() as tmp:
        loops = max(1, a.frames * 5 // 1000)
        subprocess.run(lammps_command(tmp, 40, 40, loops, 1000, 0), check=True,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
        dump = os.path.join(tmp, "ar.lammpstrj")
        w = Watch(WatchSettings(dump, reference=os.path.join(tmp, "ar.data"), cutoff2=5.0, n_resamples=100))
        rows = []
        while True:
            b0, t0 = w.follower.bytes_read, time.perf_counter()
            got = w.read_new(a.step)
            t1 = time.perf_counter()
            if not got:
                break
            held = w.growing.n_frames
            u = w.refit()
            rows.append(dict(frames=held, new=got, bytes=w.follower.bytes_read - b0, read_add_s=t1 - t0,
                             refit_s=time.perf_counter() - t1, error=u.worst_error()))
        size = os.path.getsize(dump)
    body = rows[1:]                                 # the first update includes the symmetry search and the imports
    k = max(len(body) // 4, 1)
    ratio_read = statistics.median(r["read_add_s"] for r in body[-k:]) / statistics.median(
        r["read_add_s"] for r in body[:k])
    ratio_fit = statistics.median(r["refit_s"] for r in body[-k:]) / statistics.median(r["refit_s"] for r in body[:k])
    lines = ["| frames held | new frames | bytes read | read + add (s) | refit (s) | largest error bar (THz) |",
             "|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['frames']} | {r['new']} | {r['bytes']} | {r['read_add_s']:.3f} | {r['refit_s']:.3f} | "
              f"{r['error']:.4f} |" for r in rows]
    lines += ["", f"dump {size} bytes, read {sum(r['bytes'] for r in rows)} bytes in all; last/first quarter of the "
                  f"updates (the first left out): read + add x{ratio_read:.2f}, refit x{ratio_fit:.2f}; load average "
                  f"{os.getloadavg()[0]:.1f}"]
    text = "\n".join(lines)
    print(text)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "watch.json").write_text(json.dumps(dict(rows=rows, dump_bytes=size, ratio_read_add=ratio_read,
                                                    ratio_refit=ratio_fit, command=" ".join(sys.argv)), indent=1))
    (out / "watch.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
