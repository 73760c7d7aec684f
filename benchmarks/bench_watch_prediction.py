#!/usr/bin/env python
"""``trajmodes watch``'s prediction of the run length checked against the truth: the error bars a run reaches at the
predicted length, and the spread of independent runs of that length.

    python benchmarks/bench_watch_prediction.py [--target 0.008] [--predict-at 8] [--long 60] [--runs 40]
                                                [--mains 8] [--every 2] [--out benchmarks/results]

1. One real LAMMPS run (the fcc argon of tests/workflows/test_watch.py: 108 atoms, Lennard-Jones, Nose-Hoover at
   40 K, a frame every 0.02 ps with positions, velocities and forces), ``--long`` ps, is replayed with
   :class:`~trajmodes.workflows.watch.Watch` (an update every ``--every`` ps, target ``--target`` THz). Every update's
   predicted fitted time (fitted time + the time still needed, and its range where the error bars are at their
   blocking plateau) is recorded; the predicted length L is the one of the update whose fitted time is nearest
   ``--predict-at`` ps, with that update's exponent alpha.
2. The same replay goes on past L (the run is the run continued): the error bars of the update nearest L are those
   the run actually reached at the predicted length.
3. ``--runs`` independent runs (other velocity seeds) long enough for L ps to be fitted after the main run's
   starting transient, each fitted by the watch's final update (the same fit, transient and error model); the
   standard deviation over runs of every distinct special-point frequency is compared with the error bar predicted
   for L: that frequency's error bar at the prediction's update carried to L as t^-alpha. The standard deviation of
   N samples has a relative standard error of about 1/sqrt(2(N-1)): they agree when they differ by less than two of
   those.
4. Why the runs' own error bars differ from that spread: each run's blocking ratio, the linearised error of every
   distinct frequency from the watch's held blocks merged to 0.32 ps and to the longest length leaving 4 blocks, the
   share of the variance the runs' mean temperatures explain, and what ``trajmodes fit``'s error model says of the
   same frames (the frozen share of the mean-square displacement, sigma_A, calibrated or a lower bound).

About 8 minutes with the defaults on 2 cores shared with other jobs (load average 13-17; LAMMPS takes about a
second per run, the error model of ``trajmodes fit`` about two).

Writes ``<out>/watch_prediction.json`` and ``<out>/watch_prediction.md`` (the tables, also printed).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: the velocity seed of the main run (the test's) and the first of the independent runs'
MAIN_SEED = 4928459
FIRST_SEED = 1001
DT_PS = 0.004          # the time step of the test's argon input (ps)


def run_argon(folder, seed: int, steps: int) -> str:
    """A LAMMPS run of the test's argon input at 40 K with velocity seed ``seed``, ``steps`` steps; the dump's path."""
    from tests.workflows.test_watch import ARGON
    text = ARGON.replace("4928459", "${SEED}")
    assert "${SEED}" in text, "the argon input of tests/workflows/test_watch.py no longer has the seed it had"
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / "in.ar").write_text(text)
    args = ["-var", "T0", "40", "-var", "T", "40", "-var", "LOOPS", "1", "-var", "STEPS", str(steps),
            "-var", "PAUSE", "0", "-var", "SEED", str(seed)]
    code = ("import sys; sys.path.insert(0, %r); from tests.support.lammps_md import run_lammps_file; "
            "run_lammps_file(%r, 'in.ar', args=%r)" % (str(ROOT), str(folder), args))
    subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    return os.path.join(folder, "ar.lammpstrj")


def distinct(labels, frequency, tol=1e-4):
    """(label, branch index, frequency) of every distinct frequency at the special points (degenerate branches once,
    points with the same frequencies, K and U of fcc, once; Gamma's zeros left out)."""
    out, seen = [], []
    for k, label in enumerate(labels):
        for b, nu in enumerate(frequency[k]):
            if abs(nu) <= 1e-3 or any(abs(nu - s) <= tol * max(1.0, abs(nu)) for s in seen):
                continue
            seen.append(float(nu))
            out.append((label, k, b))
    return out


def replay(folder, seed: int, a, verbose: bool = False) -> list:
    """Run the argon for ``a.long`` ps with ``seed`` and replay it with the watch (an update every ``a.every`` ps,
    target ``a.target``): every update's fitted time, largest error bar, exponent, predicted total fitted time (None
    before a prediction; the fitted time itself once the target is reached), frequencies and error bars."""
    from trajmodes.workflows.watch import Watch, WatchSettings
    dump = run_argon(folder, seed, int(round(a.long / DT_PS)))
    w = Watch(WatchSettings(dump, reference=os.path.join(folder, "ar.data"), target=a.target, every=a.every,
                            replay=True))
    history = []
    for u in w.follow():
        p = u.prediction
        history.append(dict(fitted_time=u.fitted_time, first_frame=u.first_frame, time=u.time,
                            worst_error=u.worst_error(), exponent=p.exponent, more_time=p.more_time,
                            predicted_total=u.fitted_time + p.more_time if np.isfinite(p.more_time) else None,
                            settled=p.settled, low_total=u.fitted_time + p.low if p.settled else None,
                            high_total=u.fitted_time + p.high if p.settled else None,
                            labels=u.labels, frequency=u.frequency.tolist(), error=u.frequency_err.tolist()))
        if verbose:
            print(f"update {u.index}: {u.fitted_time:6.2f} ps fitted (from frame {u.first_frame}), largest error "
                  f"{u.worst_error():.4f} THz, " + (f"alpha {p.exponent:.2f}, predicted total "
                                                    f"{u.fitted_time + p.more_time:.1f} ps" if p.more_time > 0 and
                                                    np.isfinite(p.more_time) else p.reason or "below the target"),
                  flush=True)
    return history


def judge(history: list, a) -> dict:
    """The prediction of the update nearest ``a.predict_at`` ps fitted against what the run did after it: the first
    update below the target, where the power law through the updates of the last three quarters of the whole run
    (the watch's own rule) reaches the target, and the update nearest the predicted length."""
    with_pred = [h for h in history if h["predicted_total"] is not None and h["more_time"] > 0]
    if not with_pred:
        raise SystemExit("no update made a prediction: lower --target or lengthen --long")
    at = min(with_pred, key=lambda h: abs(h["fitted_time"] - a.predict_at))
    L = at["predicted_total"]
    t = np.array([h["fitted_time"] for h in history])
    e = np.array([h["worst_error"] for h in history])
    keep = t >= 0.25 * t[-1]
    slope, intercept = np.polyfit(np.log(t[keep]), np.log(e[keep]), 1)
    reached = min(history, key=lambda h: abs(h["fitted_time"] - L))
    return dict(at=at, predict_at=at["fitted_time"], alpha=at["exponent"], predicted_length=L,
                low_length=at["low_total"], high_length=at["high_total"], settled=at["settled"],
                crossing=next((h["fitted_time"] for h in history if h["worst_error"] <= a.target), None),
                smooth_alpha=-float(slope), smooth_crossing=float(np.exp((intercept - np.log(a.target)) / -slope)),
                reached=reached, continued_at=reached["fitted_time"], continued_worst=reached["worst_error"])


def within_run(w, update, keys) -> dict:
    """Why a run's error bars are what they are: the fit's blocking ratio and whether its plateau was reached, and per
    distinct frequency (``keys``) the linearised error of the mean from the watch's held blocks of frames merged into
    blocks of 2 (0.32 ps) and of the longest length that leaves 4 blocks (about 5 ps): a correlation longer than the
    fit's segments would make the second larger (H. Flyvbjerg and H. G. Petersen, J. Chem. Phys. 91, 461 (1989))."""
    from trajmodes.forceconstants.uncertainty import blocking_curve, segment_influence
    from trajmodes.phonons.thermodynamics.uncertainty import eigenvalue_response
    est, g = update.estimator, w.growing
    lo = g.first_frame_of(update.first_frame) // g.block_frames
    blk = g.blocks.select(np.flatnonzero(g.blocks.ids >= lo))
    sizes = est.kernel_.sizes
    p_all = np.concatenate([est.params_[o] for o in sorted(est.params_)])
    x = segment_influence(blk, p_all, sizes, est.mode)[:, :sizes[0]]
    _, dlam = eigenvalue_response(est, update.qpoints)
    nu = update.frequency
    with np.errstate(divide="ignore", invalid="ignore"):       # d nu / d lambda = 15.633302^2 / (2 nu)
        dnu = np.where(np.abs(nu)[..., None] > 1e-3, 15.633302 ** 2 / (2.0 * nu[..., None]) * dlam, 0.0)
    nb, err = blocking_curve(np.einsum("bk,qsk->bqs", x, dnu))
    pick = [(k, b) for _, k, b in keys]
    return dict(blocking_ratio=float(est.blocking_ratio_), blocking_converged=bool(est.blocking_converged_),
                block_ps=float(g.block_frames * DT_PS * 5), levels=nb.tolist(),
                short=[float(err[min(1, len(nb) - 1)][k, b]) for k, b in pick],
                long=[float(err[-1][k, b]) for k, b in pick])


def fit_error_model(dump, data, first_frame: int) -> dict:
    """What ``trajmodes fit``'s error model says of the same frames: the share of the mean-square displacement whose
    modes kept their energies over the run (the run projected on its modes), the anharmonicity sigma_A, and whether
    its error bars are calibrated or a lower bound (:func:`~trajmodes.series.errorbars.run_frequency_errors`; no
    fourth order: the label and the share need none)."""
    import warnings

    from trajmodes.forceconstants import EffectiveForceConstants
    from trajmodes.lattice import special_points
    from trajmodes.series.errorbars import error_model_inputs, run_frequency_errors
    from trajmodes.trajectory import read
    from trajmodes.workflows.fit import default_cutoff2
    traj = read(dump, reference=data)[first_frame:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = EffectiveForceConstants(cutoff2=default_cutoff2(traj.reference.cell, traj.n_atoms)).fit(traj)
        est.bootstrap(200, 0)
        found = error_model_inputs(est, traj, fourth_order=False)
        pts = special_points(est.primitive_)
        r = run_frequency_errors(est, np.array(list(pts.values()), float), found)
    return dict(share=float(found.share), sigma_a=float(found.sigma_a), model=r.model, lower_bound=bool(r.lower_bound),
                reason=r.reason)


def plain(x):
    """``x`` with numpy scalars as Python numbers and NaN as None (strict JSON)."""
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if np.isfinite(x) else None
    return x


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", type=float, default=0.008, help="THz")
    ap.add_argument("--predict-at", type=float, default=8.0, help="ps fitted: the update whose prediction is checked")
    ap.add_argument("--long", type=float, default=60.0, help="ps: the main run, continued past the prediction")
    ap.add_argument("--runs", type=int, default=40, help="independent runs of the predicted length")
    ap.add_argument("--mains", type=int, default=8, help="main runs (seeds) whose predictions are judged")
    ap.add_argument("--every", type=float, default=2.0, help="ps between updates")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    a = ap.parse_args()
    from trajmodes.workflows.watch import Watch, WatchSettings
    CAL = (0.8, 1.25)
    started = time.time()
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        # 1. the main runs replayed: the prediction at every update
        t0 = time.perf_counter()
        mains = []
        for m in range(a.mains):
            history = replay(os.path.join(tmp, f"main{m}"), MAIN_SEED + m, a, verbose=m == 0)
            mains.append(dict(seed=MAIN_SEED + m, history=history, **judge(history, a)))
            s = mains[-1]
            print(f"main run {m} (seed {MAIN_SEED + m}): predicted {s['predicted_length']:.1f} ps at "
                  f"{s['predict_at']:.2f} ps (alpha {s['alpha']:.2f}); largest error bar below the target first at "
                  f"{s['crossing']} ps, the power law through all updates reaches it at {s['smooth_crossing']:.1f} ps; "
                  f"at {s['continued_at']:.1f} ps it was {s['continued_worst']:.4f} THz", flush=True)
        md_main = time.perf_counter() - t0
        history = mains[0]["history"]
        main = mains[0]
        at = main["at"]
        L, alpha, tp = main["predicted_length"], main["alpha"], main["predict_at"]
        if L > history[-1]["fitted_time"]:
            raise SystemExit(f"the predicted length {L:.1f} ps is past the main run's {history[-1]['fitted_time']:.1f} "
                             "ps fitted: lengthen --long")
        # 2. the continued run at the predicted length
        reached = main["reached"]
        labels = at["labels"]
        err_p = np.array(at["error"])
        keys = distinct(labels, np.array(reached["frequency"]))
        predicted = {key: float(err_p[key[1], key[2]] * (L / tp) ** -alpha) for key in keys}
        # 3. independent runs long enough for L ps fitted after the main run's transient
        t_start = history[-1]["time"] - history[-1]["fitted_time"]
        steps = int(np.ceil((L + t_start) / DT_PS / 5.0)) * 5
        runs = []
        for i in range(a.runs):
            t0 = time.perf_counter()
            d = run_argon(os.path.join(tmp, f"run{i}"), FIRST_SEED + i, steps)
            wi = Watch(WatchSettings(d, reference=os.path.join(tmp, f"run{i}", "ar.data"), target=a.target,
                                     every=1e6, replay=True))
            last = list(wi.follow())[-1]
            runs.append(dict(seed=FIRST_SEED + i, fitted_time=last.fitted_time, first_frame=last.first_frame,
                             frequency=last.frequency.tolist(), error=last.frequency_err.tolist(),
                             worst_error=last.worst_error(), temperature=last.temperature,
                             within=within_run(wi, last, keys),
                             fit_model=fit_error_model(d, os.path.join(tmp, f"run{i}", "ar.data"), last.first_frame),
                             seconds=time.perf_counter() - t0))
            print(f"run {i} (seed {FIRST_SEED + i}): {last.fitted_time:.2f} ps fitted from frame {last.first_frame}, "
                  f"largest error bar {last.worst_error():.4f} THz, {time.perf_counter() - t0:.0f} s", flush=True)
    n = len(runs)
    rel = 1.0 / np.sqrt(2.0 * (n - 1))
    F = np.array([r["frequency"] for r in runs])
    E = np.array([r["error"] for r in runs])
    short = np.array([r["within"]["short"] for r in runs])
    long_ = np.array([r["within"]["long"] for r in runs])
    T_runs = np.array([r["temperature"] for r in runs])
    rows = []
    for j, key in enumerate(keys):
        label, k, b = key
        sd = float(np.std(F[:, k, b], ddof=1))
        pred = predicted[key]
        ratio = sd / pred
        rows.append(dict(point=label, branch=b, frequency=float(np.mean(F[:, k, b])), predicted=pred,
                         continued=float(np.array(reached["error"])[k, b]), spread=sd, spread_err=sd * rel,
                         own_error=float(np.sqrt(np.mean(E[:, k, b] ** 2))), ratio=ratio,
                         own_ratio=sd / float(np.sqrt(np.mean(E[:, k, b] ** 2))),
                         short_ratio=sd / float(np.sqrt(np.mean(short[:, j] ** 2))),
                         long_ratio=sd / float(np.sqrt(np.mean(long_[:, j] ** 2))),
                         temperature_r2=float(np.corrcoef(T_runs, F[:, k, b])[0, 1] ** 2),
                         agree=bool(ratio * (1 - 2 * rel) <= CAL[1] and ratio * (1 + 2 * rel) >= CAL[0])))
    pooled = float(np.sqrt(np.mean([r["ratio"] ** 2 for r in rows])))
    pooled_own = float(np.sqrt(np.mean([r["own_ratio"] ** 2 for r in rows])))
    worst_sd = max(r["spread"] for r in rows)
    worst_pred = max(r["predicted"] for r in rows)
    temps = np.array([r["temperature"] for r in runs])
    summary = dict(target=a.target, predict_at=tp, alpha=alpha, predicted_length=L, crossing=main["crossing"],
                   smooth_crossing=main["smooth_crossing"], smooth_alpha=main["smooth_alpha"],
                   continued_at=reached["fitted_time"], continued_worst=reached["worst_error"],
                   predicted_worst=worst_pred, spread_worst=worst_sd, spread_worst_err=worst_sd * rel, runs=n,
                   run_steps=steps, agree=sum(r["agree"] for r in rows), compared=len(rows),
                   pooled_ratio=pooled, pooled_own_ratio=pooled_own, calibration_tolerance=CAL,
                   temperature_mean=float(temps.mean()), temperature_sd=float(temps.std(ddof=1)),
                   blocking_ratio_max=max(r["within"]["blocking_ratio"] for r in runs),
                   blocking_converged=sum(r["within"]["blocking_converged"] for r in runs),
                   frozen_share=[min(r["fit_model"]["share"] for r in runs),
                                 max(r["fit_model"]["share"] for r in runs)],
                   sigma_a=[min(r["fit_model"]["sigma_a"] for r in runs), max(r["fit_model"]["sigma_a"] for r in runs)],
                   fit_lower_bound=sum(r["fit_model"]["lower_bound"] for r in runs),
                   fit_models=sorted({r["fit_model"]["model"] for r in runs}))
    crossing = main["crossing"]
    lines = [f"Main run (seed {MAIN_SEED}), replayed with an update every {a.every:g} ps, target {a.target:g} THz: "
             f"the update at {tp:.2f} ps fitted took the error bars to shrink as t^-{alpha:.2f} ("
             + ("1/2: at their blocking plateau" if main["settled"] else "measured") + ") and predicted "
             f"every special frequency within the target at **L = {L:.1f} ps** fitted"
             + (f" ({main['low_length']:.1f} to {main['high_length']:.1f} ps by each update it was fitted to)"
                if main["settled"] else "") + ". Continued: its largest error "
             "bar first fell below the target at " + (f"{crossing:.1f} ps" if crossing is not None else "no update")
             + f"; the power law through the updates of the last three quarters of the whole {history[-1]['fitted_time']:.0f}"
             f" ps (t^-{main['smooth_alpha']:.2f}) reaches it at {main['smooth_crossing']:.1f} ps; at "
             f"{reached['fitted_time']:.1f} ps (the update nearest L) it was {reached['worst_error']:.4f} THz. "
             f"{n} independent runs of {steps * DT_PS:.2f} ps (about L fitted after the main run's {t_start:.2f} ps "
             f"transient; mean temperature {temps.mean():.2f} K, spread {temps.std(ddof=1):.2f} K): the largest "
             f"spread of a special frequency {worst_sd:.4f} +- {worst_sd * rel:.4f} THz; the spread / the predicted "
             f"error bar, root mean square over the {len(rows)} distinct frequencies, {pooled:.2f} (the spread / the "
             f"runs' own error bars: {pooled_own:.2f}). Agreement: the ratio's interval of 2 standard errors from "
             f"{n} runs (+-{2 * rel:.0%}) overlaps the error bars' calibration tolerance {CAL[0]}-{CAL[1]} "
             f"(benchmarks/bench_errorbar_calibration.py).", "",
             f"Why the runs' own error bars are smaller than the spread: the fit's blocking ratio was at most "
             f"{summary['blocking_ratio_max']:.2f} (its plateau reached in {summary['blocking_converged']} of {n} "
             "runs); "
             "the linearised error of each frequency from the watch's held blocks merged to 0.32 ps and to about 5 ps "
             "(4 blocks) is below; the runs' mean temperatures explain r^2 of the spread. `trajmodes fit`'s error "
             f"model on the same frames: frozen share of the mean-square displacement (whose modes kept their "
             f"energies over the run) {summary['frozen_share'][0]:.2f}-{summary['frozen_share'][1]:.2f} (above 0.2: "
             f"kept), sigma_A "
             f"{summary['sigma_a'][0]:.2f}-{summary['sigma_a'][1]:.2f}; its error bars: "
             f"{', '.join(summary['fit_models'])}, a lower bound in {summary['fit_lower_bound']} of {n} runs.", "",
             "| point | branch | spread / own | spread / within-run error, 0.32 ps blocks | spread / within-run error, "
             "about 5 ps blocks | r^2 with the runs' temperature |", "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['point']} | {r['branch']} | {r['own_ratio']:.2f} | {r['short_ratio']:.2f} | {r['long_ratio']:.2f} "
              f"| {r['temperature_r2']:.2f} |" for r in rows]
    lines += ["",
              "| point | branch | frequency (THz) | predicted error bar at L | continued run's error bar at L | "
              "spread of the runs (SD) | runs' own error bars (rms) | spread / predicted | spread / own | agree |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    lines += [f"| {r['point']} | {r['branch']} | {r['frequency']:.4f} | {r['predicted']:.4f} | {r['continued']:.4f} | "
              f"{r['spread']:.4f} +- {r['spread_err']:.4f} | {r['own_error']:.4f} | {r['ratio']:.2f} | "
              f"{r['own_ratio']:.2f} | {'yes' if r['agree'] else 'no'} |" for r in rows]
    lines += ["", f"The prediction of every main run (other velocity seeds, the same settings; the update nearest "
                  f"{a.predict_at:g} ps fitted):", "",
              "| seed | predicted at (ps) | alpha | predicted L (ps) | its range (ps) | first below target (ps) | "
              "power law of the whole run reaches it (ps) | largest error bar at L (THz) | L / power-law crossing |",
              "|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
    lines += [f"| {m['seed']} | {m['predict_at']:.2f} | {m['alpha']:.2f} | {m['predicted_length']:.1f} | "
              + (f"{m['low_length']:.1f}-{m['high_length']:.1f}" if m["settled"] else "-") + " | "
              + (f"{m['crossing']:.1f}" if m["crossing"] is not None else "-")
              + f" | {m['smooth_crossing']:.1f} | {m['continued_worst']:.4f} | "
              f"{m['predicted_length'] / m['smooth_crossing']:.2f} |" for m in mains]
    lines += ["", f"Predictions of the total fitted time at every update of the main run (seed {MAIN_SEED}):", "",
              "| fitted (ps) | largest error bar (THz) | alpha | predicted total (ps) |", "|---:|---:|---:|---:|"]
    lines += [f"| {h['fitted_time']:.2f} | {h['worst_error']:.4f} | "
              + (f"{h['exponent']:.2f}" if h["more_time"] > 0 and np.isfinite(h["exponent"]) else "-") + " | "
              + (f"{h['predicted_total']:.1f}" if h["predicted_total"] is not None and h["more_time"] > 0 else
                 ("-" if h["predicted_total"] is None else "below the target" if h["worst_error"] <= a.target else
                  "now (the line is below the target; the error bar is not)")) + " |" for h in history]
    load1 = os.getloadavg()
    when = datetime.datetime.fromtimestamp(started, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines += ["", f"{when}, {platform.node()} ({os.cpu_count()} cores), load average {load0[0]:.1f} at the start, "
                  f"{load1[0]:.1f} at the end; {time.time() - started:.0f} s in all (the main runs {md_main:.0f} s); "
                  f"command: python benchmarks/bench_watch_prediction.py " + " ".join(sys.argv[1:])]
    text = "\n".join(lines)
    print(text)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "watch_prediction.json").write_text(json.dumps(plain(dict(
        summary=summary, rows=rows, history=history,
        mains=[dict({k: v for k, v in m.items() if k not in ("at", "reached", "history")},
                    history=[{k: h[k] for k in ("fitted_time", "worst_error", "exponent", "predicted_total")}
                             for h in m["history"]]) for m in mains],
        runs=runs, date=when, load_average=[load0[0], load1[0]],
        command="python benchmarks/bench_watch_prediction.py " + " ".join(sys.argv[1:]))), indent=1, allow_nan=False))
    (out / "watch_prediction.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
