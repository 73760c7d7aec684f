#!/usr/bin/env python
"""The margin of tests/quantum/test_quantum_anharmonic.py::test_argon_pimd_agrees_with_the_quantum_sampling, measured
over independent draws: fcc Ar at 10 K (32 atoms, Lennard-Jones), path-integral MD with i-PI (P = 16, 3000 steps of
4 fs) and classical MD (6000 steps) fitted over their beads with nearest-neighbour cubic terms, against the
self-consistent sampling of the same potential (16-bead ring polymer and classical), exactly as the test does, with
the seeds of every generator changed together per draw: i-PI's ``<prng>`` seed (initial velocities and the PILE_L
thermostat) of both runs, and the sampling's seed. A draw on another machine is a draw like these: the MD is chaotic,
so the last bits of another BLAS, CPU or numpy change the trajectory as a new seed does.

    python benchmarks/bench_quantum_argon.py [--draws 8] [--first-seed 1] [--out benchmarks/results/quantum_argon.jsonl]
    python benchmarks/bench_quantum_argon.py --test series --out benchmarks/results/quantum_series.jsonl

Prints, per draw, the z-scores (PIMD - quantum sampling) / combined error and (classical MD - classical sampling) /
combined error at X TA, X LA, L TA, L LA, and at the end their mean, standard deviation and extremes per branch. Each
draw appends one JSON line to ``--out`` (so an interrupted measurement keeps what it made). About 100-120 s per draw
on two cores.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def draw(seed: int, folder: Path) -> dict:
    from tests.quantum import test_quantum_anharmonic as t
    from tests.quantum.lj_pimd import SYSTEMS, crystal, driver
    sc, _, _ = crystal("Ar")
    p = SYSTEMS["Ar"]
    runs = {}
    t0 = time.perf_counter()
    for name, spec in (("pimd", t.PIMD_AR), ("md", t.CLASSICAL_AR)):
        kw = {k: v for k, v in dict(spec, seed=seed).items() if k != "system"}
        runs[name] = driver().ipi_lj_run(folder / f"{name}_{seed}", positions=sc.positions, cell=sc.cell,
                                         species=sc.species, masses=sc.masses, epsilon=p["epsilon"],
                                         sigma=p["sigma"], cutoff=p["cutoff"], timeout=1200.0, **kw)
    t1 = time.perf_counter()
    pimd, md = t._fit_ar(runs["pimd"], **t.FIT_AR), t._fit_ar(runs["md"], **t.FIT_AR)
    sq = t._sampling_ar("quantum", n_beads=t.PIMD_AR["n_beads"], seed=seed)
    scl = t._sampling_ar("classical", seed=seed)
    (q, eq), (c, ec) = t._branches(pimd), t._branches(md)
    (s, es), (sc_, esc) = t._branches(sq), t._branches(scl)
    return dict(seed=seed, zq=((q - s) / np.hypot(eq, es)).tolist(), zc=((c - sc_) / np.hypot(ec, esc)).tolist(),
                pimd=q.tolist(), pimd_err=eq.tolist(), sampling=s.tolist(), sampling_err=es.tolist(),
                md=c.tolist(), md_err=ec.tolist(), classical_sampling=sc_.tolist(), classical_sampling_err=esc.tolist(),
                seconds_md=t1 - t0, seconds=time.perf_counter() - t0)


def series_draw(seed: int, folder: Path) -> dict:
    """tests/quantum/test_series_sampling.py's command with the i-PI seed of both runs set to ``seed``: what the test
    asserts, as margins (a ratio below 1 passes)."""
    import contextlib
    import io
    import xarray as xr
    from tests.quantum import test_series_sampling as t
    from tests.quantum.lj_pimd import SYSTEMS, crystal, driver
    from trajmodes.cli import main as cli
    sc, _, _ = crystal("Ar")
    p = SYSTEMS["Ar"]
    runs = []
    t0 = time.perf_counter()
    for name, spec in (("classical", t.CLASSICAL), ("quantum", t.QUANTUM)):
        runs.append(driver().ipi_lj_run(folder / f"series_{name}_{seed}", positions=sc.positions, cell=sc.cell,
                                        species=sc.species, masses=sc.masses, epsilon=p["epsilon"], sigma=p["sigma"],
                                        cutoff=p["cutoff"], timeout=1200.0, **dict(spec, seed=seed)))
    out = folder / f"series_{seed}"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        rc = cli(["series", str(runs[0] / "sim.pos_0.xyz"), str(runs[1] / "sim.pos_0.xyz"), "--cutoff2", "4",
                  "--run-temperatures", "10", "10", "--resamples", "50", "--sampling", t.LJ, "--sampling-samples",
                  "128", "-o", str(out)])
    assert rc == 0, rc
    with xr.open_dataset(out / "series.nc") as ds:
        ds = ds.load()
    nu, err = ds.frequency.values, ds.frequency_err.values
    s, se = ds.sampling_frequency.values, ds.sampling_frequency_err.values
    ok = nu > 0.5                                                        # not the acoustic modes at Gamma
    sigma = np.hypot(err, se)
    nu, s, sigma, s0, s1 = nu[ok], s[ok], sigma[ok], s[0][ok[1]], s[1][ok[1]]
    se0, se1 = se[0][ok[1]], se[1][ok[1]]
    up = s1 / s0 - 1
    return dict(seed=seed, bound_ratio=float((np.abs(nu - s) / (4 * sigma + t.GAP * s)).max()),
                sign_ratio=float(((nu - s) / (2 * sigma)).max()), gap_min=float((nu / s - 1).min()),
                gap_max=float((nu / s - 1).max()), z_min=float(((nu - s) / sigma).min()),
                up_min=float(up.min()), up_max=float(up.max()), up_z_min=float(((s1 - s0) / np.hypot(se1, se0)).min()),
                seconds=time.perf_counter() - t0)


def series_summary(rows: list[dict]) -> str:
    r = {k: np.array([row[k] for row in rows]) for k in rows[0] if k != "seed"}
    return "\n".join([
        f"{len(rows)} draws of test_series_sampling (i-PI seeds {', '.join(str(row['seed']) for row in rows)}):",
        f"  |run - sampling| / (4 sigma + {0.03} sampling): worst {r['bound_ratio'].max():.2f} (passes below 1)",
        f"  (run - sampling) / (2 sigma): worst {r['sign_ratio'].max():.2f} (passes below 1)",
        f"  run / sampling - 1: {r['gap_min'].min():+.4f} to {r['gap_max'].max():+.4f}; z down to {r['z_min'].min():.1f}",
        f"  quantum / classical sampling - 1: {r['up_min'].min():.4f} to {r['up_max'].max():.4f} (passes in 0.02-0.05),"
        f" at least {r['up_z_min'].min():.0f} sigma (passes above 10)"])


def summary(rows: list[dict]) -> str:
    """Every quantity the test asserts, over the draws: the z-scores per branch (mean, standard deviation, extremes)
    and the worst draw of each of the test's other bounds."""
    from tests.quantum.test_quantum_anharmonic import NAMES, Q
    from tests.quantum.lj_pimd import crystal
    from trajmodes.phonons.harmonic import Phonons
    sc, prim, lj = crystal("Ar")
    nu0 = Phonons(lj.force_constants(sc, prim)).frequencies(Q)[[0, 0, 1, 1], [0, 2, 0, 2]]
    out = [f"{len(rows)} draws (seeds {', '.join(str(r['seed']) for r in rows)})"]
    for key, what in (("zq", "PIMD - quantum sampling"), ("zc", "classical MD - classical sampling")):
        z = np.array([r[key] for r in rows])
        out.append(f"z of {what}:")
        for k, name in enumerate(NAMES):
            out.append(f"  {name}: mean {z[:, k].mean():+.2f}, std {z[:, k].std(ddof=1) if len(z) > 1 else 0:.2f}, "
                       f"min {z[:, k].min():+.2f}, max {z[:, k].max():+.2f}")
        out.append(f"  all: worst |z| {np.abs(z).max():.2f}; std of z about its branch's mean "
                   f"{(z - z.mean(0)).std(ddof=1) if len(z) > 1 else 0:.2f}")
    r = {k: np.array([row[k] for row in rows]) for k in rows[0] if k not in ("seed", "zq", "zc")}
    q, eq, c, ec = r["pimd"], r["pimd_err"], r["md"], r["md_err"]
    s_, es, sc_, esc = r["sampling"], r["sampling_err"], r["classical_sampling"], r["classical_sampling_err"]
    out.append("scatter over the draws / mean error bar, per branch: " + "; ".join(
        f"{name} {np.round(r[name].std(0, ddof=1) / r[name + '_err'].mean(0), 2).tolist()}"
        for name in ("pimd", "sampling", "md", "classical_sampling")) if len(rows) > 1 else "")
    out.append(f"relative gap PIMD / quantum sampling - 1: {(q / s_ - 1).min():+.4f} to {(q / s_ - 1).max():+.4f}; "
               f"classical MD / classical sampling - 1: {(c / sc_ - 1).min():+.4f} to {(c / sc_ - 1).max():+.4f}")
    out.append(f"worst draw of the other bounds: quantum shift PIMD {((q - c) / np.hypot(eq, ec)).min():.0f} sigma, "
               f"sampling {((s_ - sc_) / np.hypot(es, esc)).min():.0f} sigma (test: > 15); PIMD above 0 K "
               f"{((q - nu0) / eq).min():.0f} sigma (> 20) and {(q / c - 1).min():.4f} above MD (> 0.03); shift "
               f"ratio PIMD / sampling - 1 up to {np.abs((q - c) / (s_ - sc_) - 1).max():.3f} (< 0.2)")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=8)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "quantum_argon.jsonl"))
    ap.add_argument("--test", choices=["argon", "series"], default="argon",
                    help="argon: test_argon_pimd_agrees_with_the_quantum_sampling (default); series: "
                         "test_series_sampling's command, only the i-PI seeds changed (the command fixes the "
                         "sampling's seed)")
    ap.add_argument("--report", action="store_true", help="print the summary of --out, run nothing")
    args = ap.parse_args(argv)
    out = Path(args.out)
    one, report = (draw, summary) if args.test == "argon" else (series_draw, series_summary)
    if not args.report:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="quantum_argon_") as tmp:
            for seed in range(args.first_seed, args.first_seed + args.draws):
                row = one(seed, Path(tmp))
                with open(out, "a") as f:
                    f.write(json.dumps(row) + "\n")
                print(f"seed {seed}: " + ", ".join(f"{k} {np.round(v, 2)}" for k, v in row.items() if k != "seed"),
                      flush=True)
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    print(report(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
