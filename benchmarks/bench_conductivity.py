#!/usr/bin/env python
"""Green-Kubo conductivity by cepstral analysis: trajmodes against SporTran on the same series and settings.

    python benchmarks/bench_conductivity.py [--repeats 5] [--steps 10000000] [--out benchmarks/results]

Series: SporTran's two examples (molten NaCl, 20,000 steps of two currents, f* = 14 THz; amorphous silica, 100,000
steps, f* = 28 THz; tests/data/sportran) and a synthetic heat current of ``--steps`` steps (three Ornstein-Uhlenbeck
components, 1 fs apart, f* = 25 THz: the 10^7-step series of the target). Each code resamples the series, computes
the periodogram and runs its cepstral analysis with the Akaike choice; the times are the medians of ``--repeats``
interleaved rounds (the series already in memory; reading the files is not timed), on one thread each (BLAS and
FFTs are single-threaded here). The results must agree: kappa and its error to 1e-12 once SporTran's 2006 CODATA
constants are taken out, the same number of cepstral coefficients.

SporTran (``pip install sportran``; 1.0.0rc4) still calls ``numpy.trapz`` and ``numpy.NaN``, removed in numpy 2;
they are restored to ``numpy.trapezoid`` and ``numpy.nan`` before it is imported.

Writes ``<out>/conductivity.json`` and ``<out>/conductivity.md`` (the table, also printed).
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "sportran"


def _series(steps: int) -> dict:
    """name -> (currents (M, N, 3), dt ps, T K, V A^3, f* THz)."""
    with gzip.open(DATA / "NaCl.dat.gz", "rt") as f:
        d = np.loadtxt(f, skiprows=1)
    out = {"NaCl (SporTran's example, 2 currents)": (np.stack([d[:, 1:4], d[:, 4:7]]), 0.005, float(d[:, 0].mean()),
                                                     40.21 ** 3, 14.0)}
    with gzip.open(DATA / "Silica.dat.gz", "rt") as f:
        d = np.loadtxt(f, comments="#", skiprows=6)
    out["silica (SporTran's example)"] = (d[None, :-1], 0.001, 1065.705630, 3130.431110818, 28.0)
    rng = np.random.default_rng(0)
    a = np.exp(-0.001 / np.array([0.02, 0.05, 0.1]))
    from scipy.signal import lfilter
    noise = rng.normal(0, 1, (steps, 3)) * np.sqrt(1 - a * a)
    x = np.stack([lfilter([1.0], [1.0, -a[k]], noise[:, k]) for k in range(3)], axis=1)
    out[f"synthetic, {steps:,} steps"] = (x[None], 0.001, 300.0, 5000.0, 25.0)
    return out


def _version(package: str) -> str:
    """The installed distribution's version (SporTran's own ``__version__`` lags its releases)."""
    from importlib.metadata import version
    return version(package)


def _sportran():
    np.trapz = getattr(np, "trapz", None) or np.trapezoid
    np.NaN = np.nan
    import sportran
    return sportran


def _run_sportran(st, currents, dt, T, V, fstar):
    j = st.HeatCurrent(list(currents) if len(currents) > 1 else currents[0], DT_FS=dt * 1000.0, UNITS="metal",
                       TEMPERATURE=T, VOLUME=V)
    jf = j.resample(fstar_THz=fstar, plot=False, freq_units="thz", verbose=False)
    jf.cepstral_analysis()
    return float(jf.kappa), float(jf.kappa_std), int(jf.cepf.cutoffK), float(j.KAPPA_SCALE)


def _run_trajmodes(currents, dt, T, V, fstar):
    from trajmodes.transport.cepstral import cepstral_conductivity
    ds = cepstral_conductivity(currents, dt, T, V, fstar=fstar)
    return float(ds.kappa), float(ds.kappa_err), int(ds.attrs["cutoff"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10_000_000)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from threadpoolctl import threadpool_limits
    from trajmodes.transport.cepstral import green_kubo_scale
    load = os.getloadavg()[0]
    st = _sportran()
    rows, results = [], {}
    with threadpool_limits(1), warnings.catch_warnings(), open(os.devnull, "w") as null:
        warnings.simplefilter("ignore")
        import contextlib
        for name, (cur, dt, T, V, fstar) in _series(args.steps).items():
            ts, tt = [], []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                with contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
                    theirs = _run_sportran(st, cur, dt, T, V, fstar)
                ts.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                ours = _run_trajmodes(cur, dt, T, V, fstar)
                tt.append(time.perf_counter() - t0)
            constants = theirs[3] / (green_kubo_scale(V, T) / 1000.0)       # SporTran per fs, trajmodes per ps
            dk = abs(ours[0] * constants / theirs[0] - 1)
            de = abs(ours[1] * constants / theirs[1] - 1)
            r = dict(sportran_s=statistics.median(ts), trajmodes_s=statistics.median(tt), kappa=ours[0],
                     kappa_err=ours[1], sportran_kappa=theirs[0], sportran_kappa_err=theirs[1], cutoff=ours[2],
                     sportran_cutoff=theirs[2], kappa_rel_diff_same_constants=dk, err_rel_diff_same_constants=de,
                     constants_ratio=constants, steps=int(cur.shape[1]), currents=int(cur.shape[0]), fstar_THz=fstar)
            results[name] = r
            rows.append((name, r))
            print(f"{name}: SporTran {r['sportran_s']:.3f} s, trajmodes {r['trajmodes_s']:.3f} s "
                  f"({r['sportran_s'] / r['trajmodes_s']:.1f}x); kappa {ours[0]:.6g} +- {ours[1]:.3g} W/(m K), "
                  f"same constants: {dk:.1e}, {de:.1e}; P* {ours[2] + 1} vs {theirs[2] + 1}", flush=True)
    env = dict(date=time.strftime("%Y-%m-%d %H:%M"), cores=os.cpu_count(), python=platform.python_version(),
               numpy=np.__version__, load_before=load, load_after=os.getloadavg()[0], sportran=_version("sportran"),
               repeats=args.repeats)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "conductivity.json").write_text(json.dumps(dict(env=env, results=results), indent=1))
    lines = [f"Cepstral analysis, trajmodes against SporTran {env['sportran']} on the same series and f* (medians of "
             f"{args.repeats} interleaved rounds, one thread each, the series in memory); {env['date']}, "
             f"{env['cores']} cores, load average {load:.2f} at the start.", "",
             "| series | steps | SporTran (s) | trajmodes (s) | ratio | kappa (W/(m K)) | P* (both) | kappa, error: "
             "relative difference with SporTran's constants | target |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in rows:
        same = r["cutoff"] == r["sportran_cutoff"] and max(r["kappa_rel_diff_same_constants"],
                                                          r["err_rel_diff_same_constants"]) < 1e-10
        lines.append(f"| {name} | {r['steps']:,} | {r['sportran_s']:.3f} | {r['trajmodes_s']:.3f} | "
                     f"{r['sportran_s'] / r['trajmodes_s']:.1f}x | {r['kappa']:.6g} +- {r['kappa_err']:.3g} | "
                     f"{r['cutoff'] + 1}, {r['sportran_cutoff'] + 1} | {r['kappa_rel_diff_same_constants']:.1e}, "
                     f"{r['err_rel_diff_same_constants']:.1e} | same result: **{'pass' if same else 'FAIL'}**; "
                     f">= 1x: **{'pass' if r['sportran_s'] >= r['trajmodes_s'] else 'FAIL'}** |")
    big = max(rows, key=lambda nr: nr[1]["steps"])[1]
    lines.append("")
    lines.append(f"The {big['steps']:,}-step series in {big['trajmodes_s']:.2f} s (target: seconds). The constants: "
                 f"SporTran's CODATA 2006 k_B and e put its kappa {abs(big['constants_ratio'] - 1):.2e} relative "
                 "from trajmodes' CODATA 2018 one.")
    (out / "conductivity.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    main()
