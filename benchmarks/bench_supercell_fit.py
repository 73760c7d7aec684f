#!/usr/bin/env python
"""Whole-supercell fit benchmark: trajmodes' fit of every pair and triplet of a finite-displacement dataset against
symfc (A. Seko and A. Togo, Phys. Rev. B 110, 214302 (2024); through phono3py's ``fc_calculator="symfc"``), on the
same data, in interleaved rounds.

    python benchmarks/bench_supercell_fit.py [--rounds 3] [--out benchmarks/results]

Case: phono3py's Si-PBEsol example (tests/data/phono3py_si_pbesol: 111 displaced 64-atom supercells, VASP forces).

Timed (wall, each round: symfc, then trajmodes, so that both see the same machine load):

* symfc: ``phono3py.load(phono3py_disp.yaml, forces_fc3_filename=FORCES_FC3, fc_calculator="symfc",
  produce_fc=True)``: fc2 and fc3 of every pair and triplet of the supercell, from reading the files to the constants;
* trajmodes: ``read_displacement_dataset`` + ``EffectiveForceConstants(cutoff2=None, cutoff3="supercell",
  mode="simultaneous", folds=1, segments=1).fit``: the same, from the same files.

The verdict is the median of the per-round ratios symfc / trajmodes (above 1: trajmodes faster). Checked: the
frequencies of the two fc2 on a 6^3 mesh (printed). Writes ``supercell_fit.json`` and ``supercell_fit.md``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SI = ROOT / "tests" / "data" / "phono3py_si_pbesol"


def run_symfc():
    import phono3py
    t0 = time.perf_counter()
    ph3 = phono3py.load(str(SI / "phono3py_disp.yaml"), forces_fc3_filename=str(SI / "FORCES_FC3"),
                        fc_calculator="symfc", produce_fc=True, log_level=0)
    return time.perf_counter() - t0, ph3


def run_trajmodes():
    import trajmodes
    t0 = time.perf_counter()
    traj = trajmodes.read_displacement_dataset(SI / "phono3py_disp.yaml", SI / "FORCES_FC3")
    fit = trajmodes.EffectiveForceConstants(cutoff2=None, cutoff3="supercell", mode="simultaneous", folds=1,
                                            segments=1).fit(traj)
    return time.perf_counter() - t0, fit


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args(argv)
    import trajmodes
    from phonopy.harmonic.force_constants import compact_fc_to_full_fc
    rounds = []
    for r in range(args.rounds):
        ts, ph3 = run_symfc()
        tt, fit = run_trajmodes()
        rounds.append(dict(symfc_s=ts, trajmodes_s=tt, ratio=ts / tt))
        print(f"round {r + 1}: symfc {ts:.2f} s, trajmodes {tt:.2f} s, ratio {ts / tt:.2f}", flush=True)
    mesh = np.stack(np.meshgrid(*[np.arange(6) / 6] * 3, indexing="ij"), -1).reshape(-1, 3)
    theirs = trajmodes.ForceConstants(compact_fc_to_full_fc(ph3.phonon_primitive, ph3.fc2), fit.supercell_,
                                      fit.primitive_, smap=fit.smap_)
    df = float(np.abs(trajmodes.Phonons(fit.harmonic_force_constants_).frequencies(mesh)
                      - trajmodes.Phonons(theirs).frequencies(mesh)).max())
    ratio = float(np.median([x["ratio"] for x in rounds]))
    res = dict(case="phono3py Si-PBEsol, 111 x 64 atoms, every pair and triplet", rounds=rounds,
               median_ratio=ratio, max_frequency_difference_thz=df,
               date=time.strftime("%Y-%m-%d"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "supercell_fit.json").write_text(json.dumps(res, indent=1) + "\n")
    (out / "supercell_fit.md").write_text(
        "| case | symfc (s) | trajmodes (s) | symfc / trajmodes |\n|---|---|---|---|\n"
        + "".join(f"| round {i + 1} | {x['symfc_s']:.2f} | {x['trajmodes_s']:.2f} | {x['ratio']:.2f} |\n"
                  for i, x in enumerate(rounds))
        + f"| **median** | | | **{ratio:.2f}** |\n\nfc2 frequencies on a 6^3 mesh agree to {df:.1e} THz.\n")
    print(f"median symfc / trajmodes: {ratio:.2f}; frequencies agree to {df:.1e} THz")
    return res


if __name__ == "__main__":
    main()
