#!/usr/bin/env python
"""``trajmodes watch``'s prediction of the run length checked against the truth: the error bars a run reaches at the
predicted length, and the spread of independent runs of that length.

    python benchmarks/bench_watch_prediction.py [--system argon] [--target 0.008] [--predict-at 8] [--long 60]
                                                [--runs 40] [--mains 8] [--every 2] [--early-runs 0]
                                                [--out benchmarks/results]
    python benchmarks/bench_watch_prediction.py --system si --early-runs 32
                                          (the defaults of si: --target 0.005 --predict-at 6 --long 50 --runs 32
                                           --mains 4)

Two crystals (``--system``), a frame every 0.02 ps with positions, velocities and forces in both:

``argon``  the fcc argon of tests/workflows/test_watch.py: 108 atoms, Lennard-Jones, Nose-Hoover at 40 K. Its modes
           keep part of their starting energies (sigma_A 0.37, above the 0.3 the error model is calibrated to):
           outside the calibrated range, every run's error bars are a lower bound.
``si``     the 64-atom Stillinger-Weber Si of the error bars' calibration (benchmarks/bench_errorbar_calibration.py,
           stage ``langevin``): 300 K at a = 5.43731 A, 10 ps of Langevin thermalisation, then production under
           ``fix langevin ... zero yes`` (damping 0.5 ps) + ``fix nve``, the interatomic forces dumped
           (tests/support/lammps_series.py). Inside the calibrated range: the live error bars say "calibrated" once
           the modes have exchanged their energies.

1. One real LAMMPS run, ``--long`` ps, is replayed with
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
   same frames (the frozen share of the mean-square displacement, sigma_A, calibrated or a lower bound), against what
   the watch's own error model said at the run's last update (its held frames projected on the update's modes: the
   share, the verdict and its line, the frames projected); the spread / the live error bars with its standard
   error, and the standard deviation of the z-scores as the calibration measures it (each run's frequencies against
   the mean of the other runs, in units of the run's own error bar combined with the error of that mean), over all
   runs and over those whose live error bars said "calibrated". Each main run's prediction against the truth: where
   the power law through its own updates meets the target, and how far its error bars times sqrt(t) grew from the
   prediction's update to its last (constant if they shrink as t^-1/2, as the prediction takes them to).
5. ``--early-runs`` independent runs (seeds from the first + 1000) of the prediction's own fitted time: whether the
   error bars the prediction was made from were calibrated (their spread / their own error bars), how far the main
   run's error bars there were from the runs' root mean square, and how the spread and the error bars shrank from
   there to L against t^-1/2.

On 2 cores shared with other jobs: argon with its defaults 12 min (load average 12.6 to 6.9), Si with
``--early-runs 32`` 8.4 min (10.5 to 5.2), Si without them 10.6 min at a load average of 20 to 11 (a 45 ps Si run
takes LAMMPS about 10 s there, its replay and the error model of ``trajmodes fit`` about 5 s).

Writes ``<out>/watch_prediction.json`` and ``<out>/watch_prediction.md`` for argon, ``watch_prediction_si.json`` and
``watch_prediction_si.md`` for Si (the tables, also printed).
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

DT_PS = 0.004          # the time step of the test's argon input (ps)
FRAME_PS = 0.02        # ps between frames, both crystals
A_SI_300 = 5.43731     # the 0 bar NPT lattice parameter of SW Si at 300 K (64 atoms), as the calibration's


def run_argon(folder, seed: int, ps: float) -> tuple:
    """A LAMMPS run of the test's argon input at 40 K with velocity seed ``seed``, at least ``ps`` ps; the paths of
    the dump and of the data file."""
    from tests.workflows.test_watch import ARGON
    steps = int(np.ceil(ps / DT_PS / 5.0)) * 5
    text = ARGON.replace("4928459", "${SEED}")
    assert "${SEED}" in text, "the argon input of tests/workflows/test_watch.py no longer has the seed it had"
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / "in.ar").write_text(text)
    args = ["-var", "T0", "40", "-var", "T", "40", "-var", "LOOPS", "1", "-var", "STEPS", str(steps),
            "-var", "PAUSE", "0", "-var", "SEED", str(seed)]
    code = ("import sys; sys.path.insert(0, %r); from tests.support.lammps_md import run_lammps_file; "
            "run_lammps_file(%r, 'in.ar', args=%r)" % (str(ROOT), str(folder), args))
    subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    return os.path.join(folder, "ar.lammpstrj"), os.path.join(folder, "ar.data")


def run_si(folder, seed: int, ps: float) -> tuple:
    """A LAMMPS run of the calibration's 64-atom SW Si at 300 K (:func:`tests.support.lammps_series.generate_run`:
    10 ps of Langevin thermalisation from 600 K, then at least ``ps`` ps under ``fix langevin 300 300 0.5 ... zero
    yes`` + ``fix nve``, a frame every 20 steps of 1 fs) with velocity seed ``seed``; the paths of the dump and of
    the data file."""
    from tests.support.lammps_series import generate_run
    run = generate_run(folder, "si", 300.0, A_SI_300, seed, cells=2, frames=int(np.ceil(ps / FRAME_PS)), nevery=20,
                       thermostat="langevin", prod_damp=0.5, name="si")
    return str(run["dump"]), str(run["data"])


#: per crystal: the runner, the velocity seed of the main run and the first of the independent runs', the defaults
#: of the command line, the results' file name and how the runs are made (for the tables)
SYSTEMS = {
    "argon": dict(run=run_argon, main_seed=4928459, first_seed=1001, name="watch_prediction",
                  defaults=dict(target=0.008, predict_at=8.0, long=60.0, runs=40, mains=8),
                  what="108-atom fcc argon, Lennard-Jones, Nose-Hoover at 40 K"),
    "si": dict(run=run_si, main_seed=5001, first_seed=3001, name="watch_prediction_si",
               defaults=dict(target=0.005, predict_at=6.0, long=50.0, runs=32, mains=4),
               what="64-atom Stillinger-Weber Si at 300 K, Langevin (damping 0.5 ps, zero yes) + NVE"),
}


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
    """Run the crystal ``a.system`` for ``a.long`` ps with ``seed`` and replay it with the watch (an update every
    ``a.every`` ps, target ``a.target``): every update's fitted time, largest error bar, exponent, predicted total
    fitted time (None before a prediction; the fitted time itself once the target is reached), frequencies, error
    bars, the live error model's verdict, and the blocking ratio of the fit's mean kinetic temperature (above 1.3:
    the crystal's energy relaxes more slowly than a time segment, which the fit warns of)."""
    from trajmodes.workflows.watch import Watch, WatchSettings
    dump, data = SYSTEMS[a.system]["run"](folder, seed, a.long)
    w = Watch(WatchSettings(dump, reference=data, target=a.target, every=a.every, replay=True))
    history = []
    for u in w.follow():
        p = u.prediction
        history.append(dict(fitted_time=u.fitted_time, first_frame=u.first_frame, time=u.time,
                            worst_error=u.worst_error(), exponent=p.exponent, more_time=p.more_time,
                            predicted_total=u.fitted_time + p.more_time if np.isfinite(p.more_time) else None,
                            settled=p.settled, low_total=u.fitted_time + p.low if p.settled else None,
                            high_total=u.fitted_time + p.high if p.settled else None,
                            provisional=p.provisional, segments=p.segments,
                            labels=u.labels, frequency=u.frequency.tolist(), error=u.frequency_err.tolist(),
                            lower_bound=u.errors.lower_bound, share=u.errors.share,
                            temperature_blocking=float(u.estimator.temperature_blocking_)))
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
    (the watch's own rule) reaches the target, the update nearest the predicted length, and how far the error bars
    times sqrt(fitted time) (constant where they shrink as t^-1/2, as the prediction takes them to) grew from the
    prediction's update to the last one (the median over the frequencies at the special points, Gamma's zeros left
    out)."""
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
    e_at, e_end = np.array(at["error"]), np.array(history[-1]["error"])
    moving = np.abs(np.array(at["frequency"])) > 1e-3
    growth = float(np.median(e_end[moving] * np.sqrt(history[-1]["fitted_time"])
                             / (e_at[moving] * np.sqrt(at["fitted_time"]))))
    return dict(at=at, predict_at=at["fitted_time"], alpha=at["exponent"], predicted_length=L,
                low_length=at["low_total"], high_length=at["high_total"], settled=at["settled"],
                provisional=at["provisional"], segments=at["segments"],
                crossing=next((h["fitted_time"] for h in history if h["worst_error"] <= a.target), None),
                smooth_alpha=-float(slope), smooth_crossing=float(np.exp((intercept - np.log(a.target)) / -slope)),
                reached=reached, continued_at=reached["fitted_time"], continued_worst=reached["worst_error"],
                amplitude_growth=growth, temperature_blocking=at["temperature_blocking"])


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
                block_ps=float(g.block_frames * FRAME_PS), levels=nb.tolist(),
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


def z_std(x, e) -> float:
    """The standard deviation of the z-scores of every run's values ``x`` (run, frequency) against the mean of the
    other runs, in units of the run's error ``e`` combined with the error of that mean (as
    benchmarks/bench_errorbar_calibration.py measures its calibration); NaN with fewer than 3 runs."""
    n = len(x)
    if n < 3:
        return float("nan")
    z = [(x[i] - np.delete(x, i, 0).mean(0)) / np.sqrt(e[i] ** 2 + np.delete(x, i, 0).var(0, ddof=1) / (n - 1))
         for i in range(n)]
    return float(np.std(np.array(z).ravel()))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--system", choices=sorted(SYSTEMS), default="argon",
                    help="the crystal: argon (Nose-Hoover, outside the error model's calibrated range) or si "
                         "(Langevin, inside it)")
    ap.add_argument("--target", type=float, help="THz (argon 0.008, si 0.005)")
    ap.add_argument("--predict-at", type=float,
                    help="ps fitted: the update whose prediction is checked (argon 8, si 6)")
    ap.add_argument("--long", type=float, help="ps: the main run, continued past the prediction (argon 60, si 50)")
    ap.add_argument("--runs", type=int, help="independent runs of the predicted length (argon 40, si 32)")
    ap.add_argument("--mains", type=int, help="main runs (seeds) whose predictions are judged (argon 8, si 4)")
    ap.add_argument("--every", type=float, default=2.0, help="ps between updates")
    ap.add_argument("--early-runs", type=int, default=0,
                    help="independent runs (seeds from the first + 1000) of the prediction's own fitted time: were the "
                         "error bars the prediction was made from calibrated, and how did the spread shrink from there "
                         "to L (0: none)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    a = ap.parse_args()
    system = SYSTEMS[a.system]
    for key, value in system["defaults"].items():
        if getattr(a, key) is None:
            setattr(a, key, value)
    MAIN_SEED, FIRST_SEED = system["main_seed"], system["first_seed"]
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
        run_ps = L + t_start
        runs = []
        for i in range(a.runs):
            t0 = time.perf_counter()
            d, data = system["run"](os.path.join(tmp, f"run{i}"), FIRST_SEED + i, run_ps)
            wi = Watch(WatchSettings(d, reference=data, target=a.target, every=1e6, replay=True))
            last = list(wi.follow())[-1]
            runs.append(dict(seed=FIRST_SEED + i, fitted_time=last.fitted_time, first_frame=last.first_frame,
                             frequency=last.frequency.tolist(), error=last.frequency_err.tolist(),
                             worst_error=last.worst_error(), temperature=last.temperature,
                             within=within_run(wi, last, keys),
                             fit_model=fit_error_model(d, data, last.first_frame),
                             live_model=dict(share=last.errors.share, model=last.errors.errors.model,
                                             lower_bound=last.errors.lower_bound, frames=last.errors.frames,
                                             reason=last.errors.errors.reason, line=last.errors.sentence()),
                             seconds=time.perf_counter() - t0))
            print(f"run {i} (seed {FIRST_SEED + i}): {last.fitted_time:.2f} ps fitted from frame {last.first_frame}, "
                  f"largest error bar {last.worst_error():.4f} THz, {last.errors.sentence()}, "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)
        # 5. independent runs of the prediction's own length: its error bars against their spread
        early = []
        for i in range(a.early_runs):
            t0 = time.perf_counter()
            d, data = system["run"](os.path.join(tmp, f"early{i}"), FIRST_SEED + 1000 + i, tp + t_start)
            wi = Watch(WatchSettings(d, reference=data, target=a.target, every=1e6, replay=True))
            last = list(wi.follow())[-1]
            early.append(dict(seed=FIRST_SEED + 1000 + i, fitted_time=last.fitted_time, first_frame=last.first_frame,
                              frequency=last.frequency.tolist(), error=last.frequency_err.tolist(),
                              lower_bound=last.errors.lower_bound, share=last.errors.share,
                              seconds=time.perf_counter() - t0))
            print(f"early run {i} (seed {FIRST_SEED + 1000 + i}): {last.fitted_time:.2f} ps fitted, "
                  f"{last.errors.sentence()[:22]}, {time.perf_counter() - t0:.0f} s", flush=True)
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
    ne = len(early)
    early_rows, early_summary = [], {}
    if ne >= 3:
        rel_e = 1.0 / np.sqrt(2.0 * (ne - 1))
        Fe = np.array([r["frequency"] for r in early])
        Ee = np.array([r["error"] for r in early])
        for row, (label, k, b) in zip(rows, keys):
            sd_e = float(np.std(Fe[:, k, b], ddof=1))
            own_e = float(np.sqrt(np.mean(Ee[:, k, b] ** 2)))
            early_rows.append(dict(point=label, branch=b, spread=sd_e, own_error=own_e, ratio=sd_e / own_e,
                                   main_factor=float(err_p[k, b]) / own_e, spread_decay=row["spread"] / sd_e,
                                   error_decay=row["own_error"] / own_e))
        cols_e = [(k, b) for _, k, b in keys]
        rms_e = np.sqrt(np.mean(np.array([[e[k][b] for k, b in cols_e] for e in Ee]) ** 2, axis=0))
        factors = [float(np.exp(np.mean(np.log(np.array([e[k][b] for k, b in cols_e]) / rms_e)))) for e in Ee]
        decay = float(np.median([r["spread_decay"] for r in early_rows]))
        early_summary = dict(
            runs=ne, fitted_time=early[0]["fitted_time"], lower_bound=sum(r["lower_bound"] for r in early),
            pooled_ratio=float(np.sqrt(np.mean([r["ratio"] ** 2 for r in early_rows]))), rel=rel_e,
            run_factors=[min(factors), max(factors)],
            main_factor=float(np.exp(np.mean(np.log([r["main_factor"] for r in early_rows])))),
            spread_decay=decay, error_decay=float(np.median([r["error_decay"] for r in early_rows])),
            half_decay=float((L / tp) ** -0.5), exponent=float(-np.log(decay) / np.log(L / tp)))
    pooled_own = float(np.sqrt(np.mean([r["own_ratio"] ** 2 for r in rows])))
    # the calibration's own measure: z-scores against the mean of the other runs, all runs and the "calibrated" ones
    cols = [(k, b) for _, k, b in keys]
    Fd = np.array([[f[k][b] for k, b in cols] for f in F])
    Ed = np.array([[e[k][b] for k, b in cols] for e in E])
    calibrated = np.array([not r["live_model"]["lower_bound"] for r in runs])
    nc = int(calibrated.sum())
    rel_c = 1.0 / np.sqrt(2.0 * (nc - 1)) if nc > 1 else float("nan")
    pooled_cal = (float(np.sqrt(np.mean((np.std(Fd[calibrated], axis=0, ddof=1)
                                         / np.sqrt(np.mean(Ed[calibrated] ** 2, axis=0))) ** 2)))
                  if nc >= 3 else float("nan"))
    worst_sd = max(r["spread"] for r in rows)
    worst_pred = max(r["predicted"] for r in rows)
    temps = np.array([r["temperature"] for r in runs])
    summary = dict(target=a.target, predict_at=tp, alpha=alpha, predicted_length=L, crossing=main["crossing"],
                   smooth_crossing=main["smooth_crossing"], smooth_alpha=main["smooth_alpha"],
                   continued_at=reached["fitted_time"], continued_worst=reached["worst_error"],
                   predicted_worst=worst_pred, spread_worst=worst_sd, spread_worst_err=worst_sd * rel, runs=n,
                   system=a.system, crystal=system["what"], run_ps=run_ps,
                   agree=sum(r["agree"] for r in rows), compared=len(rows),
                   pooled_ratio=pooled, pooled_own_ratio=pooled_own, calibration_tolerance=CAL,
                   temperature_mean=float(temps.mean()), temperature_sd=float(temps.std(ddof=1)),
                   blocking_ratio_max=max(r["within"]["blocking_ratio"] for r in runs),
                   blocking_converged=sum(r["within"]["blocking_converged"] for r in runs),
                   frozen_share=[min(r["fit_model"]["share"] for r in runs),
                                 max(r["fit_model"]["share"] for r in runs)],
                   sigma_a=[min(r["fit_model"]["sigma_a"] for r in runs), max(r["fit_model"]["sigma_a"] for r in runs)],
                   fit_lower_bound=sum(r["fit_model"]["lower_bound"] for r in runs),
                   live_lower_bound=sum(r["live_model"]["lower_bound"] for r in runs),
                   live_models=sorted({r["live_model"]["model"] for r in runs}),
                   live_share=[min(r["live_model"]["share"] for r in runs),
                               max(r["live_model"]["share"] for r in runs)],
                   live_share_median=float(np.median([r["live_model"]["share"] for r in runs])),
                   live_vs_fit_share=float(np.max(np.abs([r["live_model"]["share"] - r["fit_model"]["share"]
                                                          for r in runs]))),
                   same_verdict=sum(r["live_model"]["lower_bound"] == r["fit_model"]["lower_bound"] for r in runs),
                   pooled_own_ratio_err=pooled_own * rel,
                   z_std=z_std(Fd, Ed), calibrated_runs=nc, z_std_calibrated=z_std(Fd[calibrated], Ed[calibrated]),
                   pooled_calibrated_ratio=pooled_cal, pooled_calibrated_ratio_err=pooled_cal * rel_c,
                   fit_models=sorted({r["fit_model"]["model"] for r in runs}), early=early_summary)
    crossing = main["crossing"]
    lines = [f"{system['what']}, a frame every {FRAME_PS:g} ps. "
             f"Main run (seed {MAIN_SEED}), replayed with an update every {a.every:g} ps, target {a.target:g} THz: "
             f"the update at {tp:.2f} ps fitted took the error bars to shrink as t^-{alpha:.2f} ("
             + ("1/2: at their blocking plateau" if main["settled"] else "measured") + ") and predicted "
             f"every special frequency within the target at **L = {L:.1f} ps** fitted"
             + (f" (90 % range {main['low_length']:.1f} to {main['high_length']:.1f} ps: the sampling error of "
                f"error bars from about {main['segments']:.3g} independent time segments and each update it was "
                f"fitted to" + ("; provisional, the temperature's blocking ratio above 1.3" if main["provisional"]
                                else "") + ")"
                if main["settled"] else "") + ". Continued: its largest error "
             "bar first fell below the target at " + (f"{crossing:.1f} ps" if crossing is not None else "no update")
             + f"; the power law through the updates of the last three quarters of the whole {history[-1]['fitted_time']:.0f}"
             f" ps (t^-{main['smooth_alpha']:.2f}) reaches it at {main['smooth_crossing']:.1f} ps; at "
             f"{reached['fitted_time']:.1f} ps (the update nearest L) it was {reached['worst_error']:.4f} THz. "
             f"{n} independent runs (seeds {FIRST_SEED}-{FIRST_SEED + n - 1}) of {run_ps:.2f} ps (about L fitted "
             f"after the main run's {t_start:.2f} ps "
             f"transient; mean temperature {temps.mean():.2f} K, spread {temps.std(ddof=1):.2f} K): the largest "
             f"spread of a special frequency {worst_sd:.4f} +- {worst_sd * rel:.4f} THz; the spread / the predicted "
             f"error bar, root mean square over the {len(rows)} distinct frequencies, {pooled:.2f} (the spread / the "
             f"runs' own error bars: {pooled_own:.2f}). Agreement: the ratio's interval of 2 standard errors from "
             f"{n} runs (+-{2 * rel:.0%}) overlaps the error bars' calibration tolerance {CAL[0]}-{CAL[1]} "
             f"(benchmarks/bench_errorbar_calibration.py).", "",
             f"What the runs' own error bars and the spread are made of: the fit's blocking ratio was at most "
             f"{summary['blocking_ratio_max']:.2f} (its plateau reached in {summary['blocking_converged']} of {n} "
             "runs); "
             "the linearised error of each frequency from the watch's held blocks merged to 0.32 ps and to about 5 ps "
             "(4 blocks) is below; the runs' mean temperatures explain r^2 of the spread. `trajmodes fit`'s error "
             f"model on the same frames: frozen share of the mean-square displacement (whose modes kept their "
             f"energies over the run) {summary['frozen_share'][0]:.2f}-{summary['frozen_share'][1]:.2f} (above 0.2: "
             f"kept), sigma_A "
             f"{summary['sigma_a'][0]:.2f}-{summary['sigma_a'][1]:.2f}; its error bars: "
             f"{', '.join(summary['fit_models'])}, a lower bound in {summary['fit_lower_bound']} of {n} runs.", "",
             f"The watch's own error model at each run's last update (its held frames projected on the update's "
             f"modes): frozen share {summary['live_share'][0]:.2f}-{summary['live_share'][1]:.2f} (median "
             f"{summary['live_share_median']:.2f}; at most {summary['live_vs_fit_share']:.3f} from `trajmodes fit`'s "
             f"on the same frames); its error bars {', '.join(summary['live_models'])}, a lower bound in "
             f"{summary['live_lower_bound']} of {n} runs (the same verdict as `trajmodes fit` in "
             f"{summary['same_verdict']}). Spread / the live error bars, root mean square over the {len(rows)} "
             f"distinct frequencies: {pooled_own:.2f} +- {pooled_own * rel:.2f} (one standard error of a spread of "
             f"{n} runs, {rel:.0%}). The standard deviation of the z-scores (each run's frequencies against the mean "
             f"of the other runs, in its own error bar combined with the error of that mean, as "
             f"benchmarks/bench_errorbar_calibration.py): {summary['z_std']:.2f} over all {n} runs"
             + (f"; over the {nc} whose live error bars said calibrated {summary['z_std_calibrated']:.2f}, their "
                f"spread / their live error bars {pooled_cal:.2f} +- {pooled_cal * rel_c:.2f} in root mean square"
                if nc >= 3 else f"; {nc} runs said calibrated") + ".", "",
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
    if early_summary:
        es = early_summary
        lines += ["", f"{ne} independent runs (seeds {FIRST_SEED + 1000}-{FIRST_SEED + 999 + ne}) of the prediction's "
                  f"own {es['fitted_time']:.2f} ps fitted (their live error bars said calibrated in "
                  f"{ne - es['lower_bound']} of {ne}): their spread / their own error bars "
                  f"{es['pooled_ratio']:.2f} +- {es['pooled_ratio'] * es['rel']:.2f} in root mean square. Each run's "
                  f"error bars against the runs' root mean square (geometric mean over the frequencies): "
                  f"{es['run_factors'][0]:.2f} to {es['run_factors'][1]:.2f}; the main run's, from which L was "
                  f"predicted, {es['main_factor']:.2f}. From {tp:.2f} to {L:.1f} ps the spread shrank to "
                  f"{es['spread_decay']:.3f} of itself and the runs' error bars to {es['error_decay']:.3f} (medians over "
                  f"the frequencies), where t^-1/2 gives {es['half_decay']:.3f}: t^-{es['exponent']:.2f}.", "",
                  f"| point | branch | spread at {tp:.2f} ps | own error bars (rms) | spread / own | the main run's "
                  f"error bar / the runs' rms | spread at L / spread at {tp:.2f} ps | own error bars at L / at "
                  f"{tp:.2f} ps |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        lines += [f"| {r['point']} | {r['branch']} | {r['spread']:.4f} +- {r['spread'] * es['rel']:.4f} | "
                  f"{r['own_error']:.4f} | {r['ratio']:.2f} | {r['main_factor']:.2f} | {r['spread_decay']:.3f} | "
                  f"{r['error_decay']:.3f} |" for r in early_rows]
    lines += ["", "Each run's last update, the line of its live error bars and `trajmodes fit`'s on the same frames:", "",
              "| seed | fitted (ps) | T (K) | frames projected | frozen share | live error bars | `trajmodes fit`: "
              "share, sigma_A, verdict |", "|---:|---:|---:|---:|---:|---|---|"]
    lines += [f"| {r['seed']} | {r['fitted_time']:.2f} | {r['temperature']:.1f} | {r['live_model']['frames']} | "
              f"{r['live_model']['share']:.2f} | {r['live_model']['line']} | {r['fit_model']['share']:.2f}, "
              f"{r['fit_model']['sigma_a']:.2f}, {'lower bound' if r['fit_model']['lower_bound'] else 'calibrated'} |"
              for r in runs]
    lines += ["", f"The prediction of every main run (other velocity seeds, the same settings; the update nearest "
                  f"{a.predict_at:g} ps fitted):", "",
              "| seed | predicted at (ps) | alpha | predicted L (ps) | its 90 % range (ps) | first below target (ps) | "
              "power law of the whole run reaches it (ps) | largest error bar at L (THz) | L / power-law crossing | "
              "error bar x sqrt(t), last update / the prediction's (median) | the temperature's blocking ratio at "
              "the prediction |", "|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {m['seed']} | {m['predict_at']:.2f} | {m['alpha']:.2f} | {m['predicted_length']:.1f} | "
              + (f"{m['low_length']:.1f}-{m['high_length']:.1f}" + (" (provisional)" if m["provisional"] else "")
                 if m["settled"] else "-") + " | "
              + (f"{m['crossing']:.1f}" if m["crossing"] is not None else "-")
              + f" | {m['smooth_crossing']:.1f} | {m['continued_worst']:.4f} | "
              f"{m['predicted_length'] / m['smooth_crossing']:.2f} | {m['amplitude_growth']:.2f} | "
              f"{m['temperature_blocking']:.2f} |" for m in mains]
    lines += ["", f"Predictions of the total fitted time at every update of the main run (seed {MAIN_SEED}):", "",
              "| fitted (ps) | largest error bar (THz) | alpha | predicted total (ps) | the temperature's blocking ratio |",
              "|---:|---:|---:|---:|---:|"]
    lines += [f"| {h['fitted_time']:.2f} | {h['worst_error']:.4f} | "
              + (f"{h['exponent']:.2f}" if h["more_time"] > 0 and np.isfinite(h["exponent"]) else "-") + " | "
              + (f"{h['predicted_total']:.1f}" if h["predicted_total"] is not None and h["more_time"] > 0 else
                 ("-" if h["predicted_total"] is None else "below the target" if h["worst_error"] <= a.target else
                  "now (the line is below the target; the error bar is not)"))
              + f" | {h['temperature_blocking']:.2f} |" for h in history]
    load1 = os.getloadavg()
    when = datetime.datetime.fromtimestamp(started, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines += ["", f"{when}, {platform.node()} ({os.cpu_count()} cores), load average {load0[0]:.1f} at the start, "
                  f"{load1[0]:.1f} at the end; {time.time() - started:.0f} s in all (the main runs {md_main:.0f} s); "
                  f"command: python benchmarks/bench_watch_prediction.py " + " ".join(sys.argv[1:])]
    name = system["name"]
    text = "\n".join(lines)
    print(text)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(plain(dict(
        summary=summary, rows=rows, early_rows=early_rows, early=early, history=history,
        mains=[dict({k: v for k, v in m.items() if k not in ("at", "reached", "history")},
                    history=[{k: h[k] for k in ("fitted_time", "worst_error", "exponent", "predicted_total",
                                                 "low_total", "high_total", "provisional", "temperature_blocking")}
                             for h in m["history"]]) for m in mains],
        runs=runs, date=when, load_average=[load0[0], load1[0]],
        command="python benchmarks/bench_watch_prediction.py " + " ".join(sys.argv[1:]))), indent=1, allow_nan=False))
    (out / f"{name}.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
