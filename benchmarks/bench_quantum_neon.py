#!/usr/bin/env python
"""Zero-point motion of an anharmonic quantum crystal and the gap between the fit over the beads and the
self-consistent sampling: fcc Ne with Lennard-Jones at 20 K (tests/quantum/lj_pimd.py: 32 atoms at the static lattice
parameter, cutoff 7 A), path-integral MD with i-PI (P = 8 beads, PILE_L) evaluating trajmodes' own potential, against
the self-consistent sampling of the same potential through trajmodes' engine.

    python benchmarks/bench_quantum_neon.py [--seeds 31415] [--out benchmarks/results/quantum_neon.jsonl]

A measurement of the methods, not a check of the code (which tests/quantum/test_quantum_anharmonic.py makes on fcc Ar
at 10 K, where the two routes agree, and tests/quantum/test_quantum_harmonic.py on a harmonic crystal, where the fit
over the beads is exact): it was two tests of the suite (``test_zero_point_motion_stiffens_the_modes_on_both_sides``
and ``test_pimd_and_the_quantum_sampling_differ_as_md_and_the_classical_sampling_do``, about 80 s of CPU a session)
that re-measured, with the same seed every time, the numbers below. Their bounds are the ``checks`` printed (and
written) per seed.

The fit over all beads (the TDEP of path-integral samples: A. Castellano, J. P. Batista and M. J. Verstraete,
arXiv:2303.10621; O. Hellman et al., Phys. Rev. B 84, 180301 (2011)) and the stochastic self-consistent sampling
(Shulumba, Hellman and Minnich, Phys. Rev. B 95, 014302 (2017)) answer different questions in a strongly anharmonic
crystal: the sampling's fixed point is that of the self-consistent harmonic approximation (a fit of forces to
displacements over a Gaussian ensemble is the Gaussian average of the Hessian), the fit over the beads is the
least-squares harmonic model of the true ensemble. Measured (seed 31415, 2026-11-28):

- zero-point motion: the bead MSD 0.0595 +- 0.0007 A^2 against 0.0433 +- 0.0009 A^2 of the classical run at the same
  20 K (+37 %); the effective frequencies at X and L 10-13 % above the classical run's (10-23 sigma); the
  self-consistent quantum sampling sits 9-10 % above its classical one.
- the two methods differ by 4-9 % at these points (PIMD below the sampling, 6-10 combined sigma), and they differ
  by as much in the CLASSICAL crystal at the same temperature (classical MD below the classical sampling by 6-9 %):
  the gap is the method's (SCHA vs TDEP, the non-Gaussian part of the ensemble of LJ Ne at T* = 0.55), not the path
  integral's. It does not close with P (16 beads move the frequencies by +0.01-0.03 THz, 1-2 sigma) nor with the run
  length (4000 vs 6000 steps within the error bars).
- the gap shrinks with the temperature in the classical crystal, as the skewness of the ensemble does (harmonic-only
  fits of classical MD, 8000 steps, against the classical sampling, 2026-11-28, X and L: 5 K -2.6 to -2.0 %, 10 K
  -5.3 to -3.6 %, 20 K -10 to -7 %), and a simultaneous fit with nearest-neighbour cubic terms (``cutoff3=3.3,
  mode="simultaneous"``), which takes the cubic forces' correlation with u out of the harmonic part, closes most of
  it (against the sampling with the same cubic terms, 2048 configurations: 20 K -1.5 to -0.6 %; 5 K -0.3 to
  -0.05 %): tests/quantum/test_quantum_anharmonic.py's Ar test, where the two routes agree.
- the quantum-classical shift of each method agrees within 30 % at every point (PIMD +0.09-0.26 THz, sampling
  +0.10-0.22 THz; ratios 0.92-1.29).

Rerun 2026-11-29 (``benchmarks/results/quantum_neon.jsonl``, seed 31415): every bound of the two former tests held and
the numbers above came back (bead MSD 0.05946 +- 0.00072 A^2, classical 0.04332 +- 0.00087; PIMD 10-23 sigma above
classical MD; PIMD / quantum sampling 0.912-0.955, classical MD / classical sampling 0.912-0.942; shift ratios
0.91-1.13). About 40 s of i-PI for the PIMD run, 15 s for the classical run and 25 s for the two samplings a seed, on
two cores.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

T = 20.0
PIMD = dict(n_beads=8, temperature=T, steps=6000, stride=10, timestep_fs=4.0, tau_fs=100.0, seed=31415)
CLASSICAL = dict(PIMD, n_beads=1, steps=8000)


def fit_run(folder: Path) -> dict:
    """The fit over the beads of an i-PI run of Ne (equilibration frames dropped): frequencies at X and L with their
    bootstrap errors (THz), and the beads' mean-square displacement with its error from 10 blocks (A^2)."""
    import trajmodes
    from tests.quantum.lj_pimd import neon
    from tests.quantum.test_quantum_anharmonic import Q, SKIP
    from trajmodes.forceconstants import EffectiveForceConstants
    from trajmodes.phonons.thermodynamics.uncertainty import frequencies_with_errors
    sc, _, _ = neon()
    run = trajmodes.read_beads(str(folder / "sim"), reference=sc, temperature=T)
    beads = [b[SKIP:] for b in run.beads]
    fit = EffectiveForceConstants(cutoff2=None).fit(beads)
    res = frequencies_with_errors(fit, Q, n_resamples=200)
    x = np.stack([np.asarray(b.positions) for b in beads], axis=1)      # (frames, beads, atoms, 3)
    u = x - sc.positions
    cell = np.asarray(sc.cell)
    u -= np.round(u @ np.linalg.inv(cell)) @ cell
    u -= u.mean(axis=2, keepdims=True)                                   # each bead's translation out
    series = (u ** 2).sum(-1).mean(axis=(1, 2))                          # <|u|^2> per frame, A^2
    blocks = [b.mean() for b in np.array_split(series, 10)]
    return dict(nu=res.frequency, err=res.frequency_err, msd=series.mean(),
                msd_err=np.std(blocks, ddof=1) / np.sqrt(len(blocks)))


def sampling(occupation: str, seed: int = 3) -> dict:
    """The self-consistent sampling of Ne's potential at T (``occupation`` "quantum" or "classical")."""
    from tests.quantum.lj_pimd import neon
    from tests.quantum.test_quantum_anharmonic import Q
    from trajmodes.phonons.thermodynamics.self_consistent import SelfConsistentPhonons
    from trajmodes.phonons.thermodynamics.uncertainty import frequencies_with_errors
    from trajmodes.potentials.engines import PotentialEngine
    sc, prim, lj = neon()
    fc0 = lj.force_constants(sc, prim)
    with warnings.catch_warnings():                                      # tol 0.03 THz: noise may outlast it
        warnings.filterwarnings("ignore", message="self-consistent phonons .* not converged", category=RuntimeWarning)
        scp = SelfConsistentPhonons(T, occupation=occupation, cutoff2=None, n_samples=32, max_samples=512,
                                    max_iter=10, tol=0.03, seed=seed).fit(PotentialEngine(lj, sc), fc0)
    res = frequencies_with_errors(scp.estimator_, Q, n_resamples=200)   # the last iteration's 512 configurations
    h = scp.history_["mean_square_displacement"].values
    return dict(nu=res.frequency, err=res.frequency_err, msd=h[-1], fc0=fc0)


def measure(seed: int, folder: Path) -> dict:
    """One seed (i-PI's of both runs; the samplings keep theirs): prints the table and returns the numbers and the
    bounds the suite's tests asserted (``checks``: name -> held)."""
    from tests.quantum.lj_pimd import SYSTEMS, crystal, driver
    from tests.quantum.test_quantum_anharmonic import NAMES, Q, _branches
    from trajmodes.phonons.harmonic import Phonons
    sc, _, _ = crystal("Ne")
    p = SYSTEMS["Ne"]
    t0 = time.perf_counter()
    runs = {}
    for name, spec in (("pimd", PIMD), ("md", CLASSICAL)):
        runs[name] = fit_run(driver().ipi_lj_run(folder / f"{name}_{seed}", positions=sc.positions, cell=sc.cell,
                                                 species=sc.species, masses=sc.masses, epsilon=p["epsilon"],
                                                 sigma=p["sigma"], cutoff=p["cutoff"], timeout=1200.0,
                                                 **dict(spec, seed=seed)))
    scp_q, scp_c = sampling("quantum"), sampling("classical")
    nu0 = Phonons(scp_q["fc0"]).frequencies(Q)[[0, 0, 1, 1], [0, 2, 0, 2]]
    (q, eq), (c, ec) = _branches(runs["pimd"]), _branches(runs["md"])
    (sq, esq), (scl, escl) = _branches(scp_q), _branches(scp_c)
    z = (q - c) / np.hypot(eq, ec)
    zq, zc = (q - sq) / np.hypot(eq, esq), (c - scl) / np.hypot(ec, escl)
    rq, rc = q / sq, c / scl
    shift_ratio = (q - c) / (sq - scl)
    for k, name in enumerate(NAMES):
        print(f"{name}: 0 K {nu0[k]:.4f} | PIMD P=8 {q[k]:.4f} +- {eq[k]:.4f} | classical MD {c[k]:.4f} +- {ec[k]:.4f}"
              f" ({z[k]:.1f} sigma) | sampling quantum {sq[k]:.4f} +- {esq[k]:.4f}, classical {scl[k]:.4f} +- "
              f"{escl[k]:.4f} THz | PIMD / quantum sampling {rq[k]:.3f} ({zq[k]:.1f} sigma); classical MD / classical "
              f"sampling {rc[k]:.3f} ({zc[k]:.1f} sigma); shift ratio {shift_ratio[k]:.2f}")
    pm, mm = runs["pimd"], runs["md"]
    print(f"<|u|^2>: beads {pm['msd']:.5f} +- {pm['msd_err']:.5f}, classical MD {mm['msd']:.5f} +- "
          f"{mm['msd_err']:.5f}, sampling quantum {scp_q['msd']:.5f}, classical {scp_c['msd']:.5f} A^2")
    checks = {
        "PIMD above classical MD by > 6 sigma": bool((z > 6).all()),
        "PIMD / classical MD - 1 > 4 %": bool(((q / c - 1) > 0.04).all()),
        "quantum sampling above classical by > 4 % and 6 sigma":
            bool(((sq / scl - 1) > 0.04).all() and ((sq - scl) / np.hypot(esq, escl) > 6).all()),
        "bead MSD above classical by > 10 sigma":
            bool((pm["msd"] - mm["msd"]) / np.hypot(pm["msd_err"], mm["msd_err"]) > 10),
        "quantum sampling MSD > 1.3 x classical": bool(scp_q["msd"] > 1.3 * scp_c["msd"]),
        "the method's gap, z < -3 in both ensembles": bool((zq < -3).all() and (zc < -3).all()),
        "the gap of the same size (ratios within 0.05)": bool((np.abs(rq - rc) < 0.05).all()),
        "shift ratios 0.75-1.5": bool(((shift_ratio > 0.75) & (shift_ratio < 1.5)).all()),
    }
    for name, held in checks.items():
        print(f"  {'held' if held else 'FAILED'}: {name}")
    return dict(seed=seed, pimd=q.tolist(), pimd_err=eq.tolist(), md=c.tolist(), md_err=ec.tolist(),
                sampling=sq.tolist(), sampling_err=esq.tolist(), classical_sampling=scl.tolist(),
                classical_sampling_err=escl.tolist(), msd_beads=float(pm["msd"]), msd_md=float(mm["msd"]),
                msd_sampling=float(scp_q["msd"]), msd_classical_sampling=float(scp_c["msd"]), checks=checks,
                seconds=time.perf_counter() - t0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[PIMD["seed"]], help="i-PI seeds, one measurement each")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "quantum_neon.jsonl"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="quantum_neon_") as tmp:
        for seed in args.seeds:
            print(f"seed {seed}:", flush=True)
            row = measure(seed, Path(tmp))
            failed += not all(row["checks"].values())
            with open(out, "a") as f:
                f.write(json.dumps(row) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
