"""A temperature stated for a run of a series that is not the run's kinetic temperature is said, in one warning line
naming the run and both temperatures (fit_series and `trajmodes series --run-temperatures`); one within the run's
statistics is not.

Synthetic runs: exact harmonic frames of Morse Cu (tests/support/harmonic.py) with Maxwell-Boltzmann velocities drawn
at a known temperature, so the kinetic temperature is known independently of the fit; and the 20 frames of a real
LAMMPS run of 32 Cu atoms at about 300 K (tests/data/cu32_xu.lammpstrj) through the command line.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import trajmodes
from trajmodes.series import fit_series
from trajmodes.series.fitting import TEMPERATURE_MARGIN, TEMPERATURE_SIGMAS, temperature_disagreement
from trajmodes.units import AMU_A2_PS2_EV, KB_EV

from tests.support.crystals import CU, supercell
from tests.support.harmonic import HarmonicSampler
from tests.support.morse import morse_fc
from tests.support.cli_warnings import printed_warnings

DATA = Path(__file__).resolve().parents[1] / "data"
T_RUN = 600.0
Q = np.array([[0.5, 0.5, 0.0]])


@pytest.fixture(scope="module")
def run():
    """A 27-atom harmonic Cu run at 600 K: 200 independent frames, displacements and velocities canonical."""
    sc = supercell(CU, np.diag([3, 3, 3]))
    u, f, e = HarmonicSampler(sc, morse_fc(sc, cutoff=3.0), seed=4).frames(200, T_RUN)
    rng = np.random.default_rng(5)
    v = rng.normal(size=u.shape) * np.sqrt(KB_EV * T_RUN / (sc.masses * AMU_A2_PS2_EV))[None, :, None]
    m = sc.masses[None, :, None]
    v -= (m * v).sum(axis=1, keepdims=True) / sc.masses.sum()          # centre of mass at rest: 3N - 3 dof
    return trajmodes.from_arrays(sc.positions + u, sc.cell, sc.species, frame_interval=0.05, velocities=v,
                                 forces=f, potential_energy=e, reference=sc)


def _fit(run, stated):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        s = fit_series([run], temperatures=[stated], names=["hot.lammpstrj"], qpoints=Q, path="GX", npoints=2,
                       mesh=(2, 2, 2), cutoff2=3.0, n_resamples=20, error_model="bootstrap")
    return s, [str(w.message) for w in seen if "kinetic temperature" in str(w.message)]


@pytest.mark.parametrize("stated, said", [(300.0, True), (1200.0, True), (450.0, True), (600.0, False),
                                          (570.0, False), (640.0, False)])
def test_a_stated_temperature_off_the_kinetic_one_is_said(run, stated, said):
    """Stated 300, 450 or 1200 K for a 600 K run: one warning naming the run, the stated and the measured temperature
    (old: nothing); 570-640 K (within 10 % and the run's scatter): nothing. The stated temperature is kept."""
    s, lines = _fit(run, stated)
    assert len(lines) == int(said), lines
    assert float(s.dataset.temperature.values[0]) == stated
    kinetic = float(s.dataset.kinetic_temperature.values[0])
    assert abs(kinetic - T_RUN) < 0.05 * T_RUN
    if said:
        assert "hot.lammpstrj (run 1)" in lines[0] and f"{stated:g} K" in lines[0] and f"{kinetic:.1f}" in lines[0]


@pytest.mark.parametrize("stated, kinetic, err, said", [
    (300.0, 600.0, 5.0, True),                 # far off, well measured
    (600.0 * (1 - TEMPERATURE_MARGIN) - 1, 600.0, 5.0, True),      # just beyond the margin, 12 standard errors
    (600.0 * (1 - TEMPERATURE_MARGIN) + 1, 600.0, 0.1, False),     # within the margin, however many errors
    (400.0, 600.0, 200.0 / TEMPERATURE_SIGMAS + 1, False),         # beyond the margin but within 5 errors
    (400.0, 600.0, None, True),                # no error known: the margin alone
    (300.0, float("nan"), None, False),        # no velocities: nothing to compare with
])
def test_the_rule_is_a_margin_and_the_runs_statistics(stated, kinetic, err, said):
    line = temperature_disagreement(stated, kinetic, err, name="r")
    assert (line is not None) == said, line
    if said:
        assert line.startswith("r: ") and f"{stated:g} K" in line


def test_the_command_line_says_it_in_one_line(tmp_path, capsys):
    """`trajmodes series cu32_xu.lammpstrj --run-temperatures 600` for a run at about 300 K: one warning (the command
    prints each as one line, "warning: ...") with the run, 600 K and the measured temperature (old: nothing)."""
    from trajmodes.cli.app import main
    assert main(["series", str(DATA / "cu32_xu.lammpstrj"), "--species", "Cu", "--md-timestep", "0.001",
                 "--cutoff2", "3.0", "--resamples", "10", "--error-model", "bootstrap", "--mesh", "2",
                 "--qpoints", "0.5 0.5 0", "--run-temperatures", "600", "-o", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    said = [w for w in printed_warnings(err) if "kinetic temperature" in w]
    assert len(said) == 1 and [line for line in err.splitlines() if "kinetic temperature" in line] == \
        ["warning: " + said[0]], err
    assert said[0].startswith("cu32_xu.lammpstrj (run 1): ") and "600 K" in said[0], said
    assert "is not the run's mean kinetic temperature, 30" in said[0], said
