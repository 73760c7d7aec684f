#!/usr/bin/env python
"""Peak-fit benchmark: the README's chain read -> project -> mode_energies -> mode_spectra -> fit_peaks on the
shipped examples, every step timed, and ``fit_peaks`` on all modes with its defaults (each star of q and each set
of degenerate branches fitted once) and with ``star=False`` (every q-point's own spectra).

    python benchmarks/bench_peaks.py [--repeats 5] [--out benchmarks/results]

Systems: fcc Cu (EAM, 256 atoms: 256 q x 3 branches = 768 modes; examples/md/cu_300K) and diamond Si (SW, 216
atoms: 108 q x 6 branches = 648 modes; examples/md/si_300K). Each step is the median of ``--repeats`` rounds
(the projection is computed once per round, as the chain computes it); the load average is recorded before and
after, since the machine may be shared.

Writes ``<out>/peaks.json`` and ``<out>/peaks.md`` (the table, also printed).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = {"Cu (EAM, 768 modes)": ("cu_300K", "cu_eam"), "Si (SW, 648 modes)": ("si_300K", "si_sw")}


def _chain(md: str, fc: str) -> dict:
    import trajmodes
    t = {}
    t0 = time.perf_counter()
    traj = trajmodes.read(ROOT / "examples" / "md" / f"{md}.lammpstrj.gz",
                          reference=ROOT / "examples" / "md" / f"{md}.data")
    ph = trajmodes.Phonons(trajmodes.ForceConstants.read(ROOT / "examples" / "fc" / fc, "phonopy"))
    t["read + phonons"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    modes = trajmodes.project(traj, ph).compute()
    t["project (computed)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    trajmodes.mode_energies(modes)
    t["mode_energies"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    spectra = trajmodes.mode_spectra(modes, resolution=0.05)
    t["mode_spectra"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    peaks = trajmodes.fit_peaks(spectra, progress=False)
    t["fit_peaks (default: stars once)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    trajmodes.fit_peaks(spectra, star=False, progress=False)
    t["fit_peaks (star=False)"] = time.perf_counter() - t0
    t["modes"] = int(peaks["frequency"].size)
    t["modes ok"] = int((peaks["status"].values == "ok").sum())
    return t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    load0 = os.getloadavg()
    results = {}
    for name, (md, fc) in SYSTEMS.items():
        rounds = [_chain(md, fc) for _ in range(args.repeats)]
        results[name] = {k: (statistics.median(r[k] for r in rounds) if isinstance(rounds[0][k], float)
                             else rounds[0][k]) for k in rounds[0]}
    load1 = os.getloadavg()
    env = dict(python=platform.python_version(), machine=platform.machine(), cpus=os.cpu_count(),
               load_before=load0, load_after=load1, repeats=args.repeats,
               command="python benchmarks/bench_peaks.py --repeats %d" % args.repeats)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "peaks.json").write_text(json.dumps(dict(environment=env, results=results), indent=1) + "\n")
    steps = [k for k in next(iter(results.values())) if k not in ("modes", "modes ok")]
    lines = [f"# Peak fits: the README chain on the shipped examples (median of {args.repeats}, seconds)", "",
             f"`{env['command']}`; {env['cpus']} cores, load average {load0[0]:.2f} before, {load1[0]:.2f} after.",
             "", "| step | " + " | ".join(results) + " |", "|---|" + "---|" * len(results)]
    for s in steps:
        lines.append(f"| {s} | " + " | ".join(f"{results[n][s]:.3f}" for n in results) + " |")
    lines.append("| modes (fitted ok) | " + " | ".join(f"{results[n]['modes']} ({results[n]['modes ok']})"
                                                        for n in results) + " |")
    text = "\n".join(lines) + "\n"
    (out / "peaks.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
