#!/usr/bin/env python
"""The calibration of the error bars of fitted frequencies over independent real LAMMPS runs: for each group of runs
that differ only in their seeds, the standard deviation of the z-scores (each run's frequencies against the mean of
the other runs, in units of the run's own error bar combined with the error of that mean) at Gamma, X, L and
(1/4, 0, 1/4), the acoustic modes at Gamma left out. A calibrated error bar gives a standard deviation near 1.

These measurements were slow tests of tests/series/test_series_md.py (23 % of the suite's time on 2026-11-28); they
re-measure the calibration rather than check the code, so they run here and their results are in docs/validation.md
("Error bars of fitted frequencies") and docs/series.md. The code the calibration measures (each term of the
estimate recomputed from its definition, which model a run gets, what is marked as a lower bound) is checked by the
fast tests of tests/series/test_series_errorbars.py.

    python benchmarks/bench_errorbar_calibration.py [--only langevin,terms,defaults,quarters] [--data DIR]

Stages (seeds as the tests had them; the runs, made by tests/support/lammps_series.py, are kept in ``--data``,
default ``~/.cache/trajmodes-bench/calibration``, and reused while their parameters are unchanged):

``langevin``  16 runs of 64-atom Stillinger-Weber Si at 300 K, 50 ps under Langevin (damping 0.5 ps, seeds
              3001-3016), fc2 (r2 4.5 A) with 20 segments: z-score std of the frequencies within 0.7-1.4 and of the
              mean kinetic temperature within 0.6-1.6; the blocking ratio below 1.3.
``terms``     Cu EAM (32 atoms, r2 = r3 = r4 = 3 A) and Si SW (64 atoms, 4.5 A), Nose-Hoover (0.5 ps) and NVE, 5 and 50
              ps, 12 runs per group (seeds 101-112): the z-score std of each term of the error bar (segments,
              blocking, + temperature, + frozen modes, partition mode by mode); the last within 0.8-1.25 in every
              group.
``defaults``  ``fit_series`` with its defaults on 12 runs of 5 ps (Cu NVE, Cu Langevin, Si Nose-Hoover): no run marked
              as a lower bound, z-score std within 0.8-1.25, and the bootstrap alone above it.
``quarters``  200 ps of NVE fcc Cu (256 atoms, seed 4244) cut into four 50 ps quarters, ``fit_series`` defaults at X
              and L: z-score std within 0.8-1.25.

Prints one line per group with the measured numbers and the range it is expected in (``ok`` or ``OUTSIDE``); exits
1 if any is outside. 6 min 33 s on one core of a 2-core machine with the runs made on the way (2026-11-28: langevin
111 s, terms 193 s, defaults 49 s, quarters 38 s).
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

Q = np.array([[0, 0, 0], [0.5, 0, 0.5], [0.5, 0.5, 0.5], [0.25, 0, 0.25]])
A_SI_300 = 5.43731                 # the 0 bar NPT lattice parameter of SW Si at 300 K (64 atoms)
CALIBRATION_CUTOFF = {"cu": 3.0, "si": 4.5}          # below half the 2x2x2 conventional cells (7.26 and 10.87 A)
CALIBRATION_RUNS = 12


def _read(run):
    import trajmodes
    return trajmodes.read(run["dump"], reference=run["data"])


def basis_once():
    """A ``build_basis`` for many runs on one ideal supercell (same data file geometry, same cutoffs): the symmetry
    basis is built for the first run and kept, keyed by the supercell's positions and cell, the order and cutoff (the
    fitted frequencies and their error bars do not depend on which basis of the same space a fit uses)."""
    from trajmodes.forceconstants.fit import default_build_basis
    built = {}

    def build(fc, order, cutoff, primitive=None, **kw):
        sc = fc.supercell
        key = (order, cutoff, sc.positions.tobytes(), np.asarray(sc.cell).tobytes())
        if key not in built:
            built[key] = default_build_basis(fc, order, cutoff, primitive=primitive, **kw)
        return built[key]
    return build


def z_std(x, e):
    """z-scores of every run's values ``x`` (run, ...) against the mean of the other runs, in units of the run's error
    ``e`` combined with the error of that mean: (run, entries)."""
    n = len(x)
    z = [(x[i] - np.delete(x, i, 0).mean(0)) / np.sqrt(e[i] ** 2 + np.delete(x, i, 0).var(0, ddof=1) / (n - 1))
         for i in range(n)]
    return np.array(z).reshape(n, -1)


def _moving(nus):
    return np.abs(nus).reshape(len(nus), -1).max(0) > 0.1            # not the acoustic modes at Gamma


def _line(results, name, value, lo, hi, extra=""):
    ok = lo < value < hi
    results.append(ok)
    print(f"{name}: {value:.2f} (expected {lo}-{hi}: {'ok' if ok else 'OUTSIDE'}){extra}", flush=True)


def static_frequencies(system, fit, q):
    """Frequencies of the potential's 0 K force constants at the run's lattice, in the fit's own model (its basis and
    cutoff: the analytic constants fitted to the exact harmonic forces of random displacements), THz."""
    from tests.series.test_series_md import _potential
    from tests.support.harmonic import HarmonicSampler
    from trajmodes.forceconstants.fit import EffectiveForceConstants
    from trajmodes.phonons.harmonic.phonons import Phonons
    pot, _ = _potential(system)
    fc0 = pot.force_constants(fit.supercell_, fit.primitive_)
    u, f, _ = HarmonicSampler(fit.supercell_, fc0.full(), seed=1).frames(60, 300.0)
    model = EffectiveForceConstants(cutoff2=fit.cutoff2).fit_arrays(fit.supercell_, u, f)
    return Phonons(model.harmonic_force_constants_).frequencies(q)


def stage_langevin(data, results):
    from tests.support.lammps_series import generate_run
    from trajmodes.forceconstants.fit import EffectiveForceConstants
    from trajmodes.phonons.thermodynamics.uncertainty import frequencies_with_errors
    nus, errs, temps, ratios = [], [], [], []
    build = basis_once()
    for seed in range(16):
        run = generate_run(data, "si", 300.0, A_SI_300, 3001 + seed, cells=2, frames=2500, nevery=20,
                           thermostat="langevin", prod_damp=0.5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = EffectiveForceConstants(cutoff2=4.5, segments=20, build_basis=build).fit(_read(run))
            est.bootstrap(200, seed=seed)
        found = frequencies_with_errors(est, Q, n_resamples=200, seed=seed)
        nus.append(found.frequency)
        errs.append(found.frequency_err)
        temps.append((est.temperature_, est.temperature_err_))
        ratios.append((est.blocking_ratio_, est.temperature_blocking_))
    nus, errs, t, ratios = np.array(nus), np.array(errs), np.array(temps), np.array(ratios)
    _line(results, "Si 64 atoms, Langevin, 16 x 50 ps: frequencies' z-score std",
          z_std(nus, errs)[:, _moving(nus)].std(), 0.7, 1.4)
    _line(results, "  the mean kinetic temperature's z-score std", z_std(t[:, 0], t[:, 1]).std(), 0.6, 1.6,
          f"; mean {t[:, 0].mean():.1f} K")
    _line(results, "  the largest blocking ratio", ratios[:, 0].max(), 0.0, 1.3,
          f"; temperature blocking at most {ratios[:, 1].max():.2f} (expected < 1.5)")


def stage_terms(data, results):
    import trajmodes
    from tests.support.lammps_series import calibration_run
    from trajmodes.forceconstants.fit import EffectiveForceConstants
    from trajmodes.modes.energies import frozen_energy_fraction
    from trajmodes.phonons.harmonic.phonons import Phonons
    from trajmodes.phonons.thermodynamics.uncertainty import classical_dnu_dT, frequencies_with_errors
    for system in ("cu", "si"):
        cutoff = CALIBRATION_CUTOFF[system]
        nu0 = None
        build = basis_once()
        for thermostat in ("nose-hoover", "nve"):
            for ps in (5.0, 50.0):
                nus, errs = [], {k: [] for k in ("segments", "blocking", "temperature", "frozen modes", "partition")}
                for k in range(CALIBRATION_RUNS):
                    run = calibration_run(data, system, thermostat, ps, 101 + k)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        traj = _read(run)
                        est = EffectiveForceConstants(cutoff2=cutoff, cutoff3=cutoff, cutoff4=cutoff,
                                                      build_basis=build).fit(traj)
                        est.bootstrap(200, seed=k)
                        nu0 = static_frequencies(system, est, Q) if nu0 is None else nu0
                        found = frequencies_with_errors(est, Q)
                        nu, err = found.frequency, found.frequency_err
                        d = classical_dnu_dT(nu, nu0, est.temperature_)
                        errs["temperature"].append(frequencies_with_errors(est, Q, dnu_dT=d).frequency_err)
                        errs["frozen modes"].append(frequencies_with_errors(est, Q, dnu_dT=d,
                                                                            frozen_modes=True).frequency_err)
                        frozen = frozen_energy_fraction(trajmodes.project(traj, Phonons(est.force_constants_)),
                                                        temperature=est.temperature_)
                        errs["partition"].append(frequencies_with_errors(est, Q, dnu_dT=d,
                                                                         partition=frozen).frequency_err)
                    assert est.energy_conserved_ == (thermostat == "nve")
                    nus.append(nu)
                    errs["segments"].append(err / est.blocking_ratio_)
                    errs["blocking"].append(err)
                nus = np.array(nus)
                z = {k: z_std(nus, np.array(v))[:, _moving(nus)].std() for k, v in errs.items()}
                _line(results, f"{system} {thermostat} {ps:.0f} ps, 12 runs: partition z-score std", z["partition"],
                      0.8, 1.25, "; " + ", ".join(f"{k} {v:.2f}" for k, v in z.items()))


def stage_defaults(data, results):
    from tests.support.lammps_series import calibration_run
    from trajmodes.series import fit_series
    for system, thermostat in (("cu", "nve"), ("cu", "langevin"), ("si", "nose-hoover")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runs = [_read(calibration_run(data, system, thermostat, 5.0, 101 + k)) for k in range(CALIBRATION_RUNS)]
            ds = fit_series(runs, qpoints=Q, cutoff2=CALIBRATION_CUTOFF[system], mesh=(4, 4, 4)).dataset
        lower = int(ds.error_is_lower_bound.values.sum())
        results.append(lower == 0)
        nu = ds.frequency.values
        z = z_std(nu, ds.frequency_err.values)[:, _moving(nu)].std()
        z_boot = z_std(nu, ds.frequency_bootstrap_err.values)[:, _moving(nu)].std()
        results.append(z_boot > z)
        _line(results, f"{system} {thermostat} 5 ps, fit_series defaults, 12 runs: z-score std", z, 0.8, 1.25,
              f"; the bootstrap alone {z_boot:.2f} (expected above); runs marked as a lower bound: {lower} "
              "(expected 0)")


def stage_quarters(data, results):
    from tests.support.lammps_series import generate_run
    from trajmodes.series import fit_series
    run = generate_run(data, "cu", 300.0, 3.615, 4244, frames=4000, nevery=25, thermostat="nve", cells=4,
                       equil_ps=10.0)
    traj = _read(run)
    quarters = [traj[k * 1000:(k + 1) * 1000] for k in range(4)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = fit_series(quarters, qpoints=[[0.5, 0.0, 0.5], [0.5, 0.5, 0.5]]).dataset
    _line(results, "Cu 256 atoms, four 50 ps quarters of one NVE run: z-score std",
          z_std(ds.frequency.values, ds.frequency_err.values).std(), 0.8, 1.25,
          f"; models {list(ds.error_model.values)}")


STAGES = {"langevin": stage_langevin, "terms": stage_terms, "defaults": stage_defaults, "quarters": stage_quarters}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(STAGES), help="comma-separated stages: " + ", ".join(STAGES))
    ap.add_argument("--data", default=str(Path.home() / ".cache" / "trajmodes-bench" / "calibration"))
    args = ap.parse_args(argv)
    data = Path(args.data)
    data.mkdir(parents=True, exist_ok=True)
    results: list[bool] = []
    for name in args.only.split(","):
        t0 = time.perf_counter()
        STAGES[name.strip()](data, results)
        print(f"[{name}: {time.perf_counter() - t0:.0f} s]", flush=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
