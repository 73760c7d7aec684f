"""``trajmodes watch`` on i-PI runs, taking from the i-PI input and properties file what ``trajmodes fit`` takes: the
ensemble (a thermostatted run whose first frames' kinetic energy barely varies is not called NVE), what the input's
``<output>`` needs for velocities, and the times of a run restarted with another time step. Small i-PI runs written
by hand (fcc argon, 32 atoms, tests/io/test_ipi_redteam.py)."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from tests.io.test_ipi_redteam import MASS, POS, _input, _properties, _run, _sites, _write
from trajmodes.units import KB_EV, NATURAL_TIME_PS
from trajmodes.workflows.watch import Watch, WatchSettings

FOR = '<trajectory filename="for" stride="5"> forces </trajectory>'
VEL = '<trajectory filename="vel" stride="5"> velocities </trajectory>'
LANGEVIN = '<dynamics mode="nvt"> <thermostat mode="langevin"> <tau units="femtosecond"> 100 </tau> </thermostat>'


def _independent_frames(folder: Path, *, constant_kinetic: bool, n_frames: int = 64) -> None:
    """Independent canonical frames at 50 K of 32 argon atoms on springs of 1 eV/A^2 (forces -u: the modes exchange
    their energies from frame to frame), every 5 steps; ``constant_kinetic``: each frame's velocities rescaled to the
    same kinetic energy (its variance as low as NVE's, lower)."""
    rng = np.random.default_rng(3)
    sites = _sites()
    u = rng.normal(0.0, np.sqrt(KB_EV * 50.0), (n_frames,) + sites.shape)
    v = rng.normal(0.0, np.sqrt(KB_EV * 50.0 / MASS) / NATURAL_TIME_PS, (n_frames,) + sites.shape)   # A/ps
    if constant_kinetic:
        v *= np.sqrt(3 * len(sites) * KB_EV * 50.0 / (MASS * NATURAL_TIME_PS ** 2)
                     / np.sum(v ** 2, axis=(1, 2)))[:, None, None]
    steps = [5 * k for k in range(n_frames)]
    _write(folder / "sim.pos_0.xyz", sites + u, steps, "positions", "angstrom")
    _write(folder / "sim.for_0.xyz", -u, steps, "forces", "ev/ang")
    _write(folder / "sim.vel_0.xyz", v * 100.0, steps, "velocities", "m/s")


def _watched(folder: Path):
    w = Watch(WatchSettings(str(folder / "sim.pos_0.xyz"), cutoff2=4.0, block_frames=8, segments=5, n_resamples=20,
                            replay=True, options={"md_timestep": 1e-3}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return w, list(w.follow())


def test_a_thermostatted_run_is_not_called_nve_by_its_kinetic_energy(tmp_path):
    """A run whose kinetic energy does not vary, which its variance calls NVE, under the input's Langevin thermostat:
    thermostatted, as i-PI's input defines its ensemble, in the watch's error model and ``trajmodes fit``'s (before:
    NVE by the variance, and where the modes exchanged their energies the error line said "the run is NVE (as the
    variance of its kinetic energy shows)")."""
    from trajmodes.forceconstants import EffectiveForceConstants
    from trajmodes.series import error_model_inputs
    from trajmodes.workflows.reading import open_run
    _independent_frames(tmp_path, constant_kinetic=True)
    _, updates = _watched(tmp_path)                          # no input: the variance says NVE
    assert updates[-1].errors.inputs.energy_conserved is True
    inp = _input(tmp_path, f"{POS} {FOR} {VEL}")
    inp.write_text(inp.read_text().replace('<dynamics mode="nvt">', LANGEVIN))
    _, updates = _watched(tmp_path)
    got = updates[-1].errors.inputs
    assert got.energy_conserved is False and 'with <thermostat mode="langevin"> of the i-PI input' in got.ensemble_from
    run = open_run(str(tmp_path / "sim.pos_0.xyz")).trajectory
    fit = EffectiveForceConstants(cutoff2=4.0, segments=5).fit(run)
    got = error_model_inputs(fit, run, fourth_order=False)
    assert got.energy_conserved is False and 'thermostat mode="langevin"' in got.ensemble_from


@pytest.mark.parametrize("dynamics", ["nve", "langevin"])
def test_the_error_line_says_the_ensemble_of_the_input(tmp_path, dynamics):
    """Independent frames (the modes exchanged their energies; the kinetic energy's variance canonical): under
    <dynamics mode="nve"> the error line says NVE as the input says it (before: thermostatted, by the variance, and
    the bootstrap called calibrated); under Langevin the blocking bootstrap is calibrated."""
    _independent_frames(tmp_path, constant_kinetic=False)
    inp = _input(tmp_path, f"{POS} {FOR} {VEL}")
    inp.write_text(inp.read_text().replace('<dynamics mode="nvt">', '<dynamics mode="nve">' if dynamics == "nve"
                                           else LANGEVIN))
    _, updates = _watched(tmp_path)
    line = updates[-1].errors.sentence()
    assert updates[-1].errors.share < 0.2, line
    if dynamics == "nve":
        assert line.startswith("error bars lower bound") and \
            f'the run is NVE (as <dynamics mode="nve"> of the i-PI input {inp} says)' in line, line
    else:
        assert "NVE" not in line and line.startswith("error bars calibrated") and \
            "the blocking bootstrap is calibrated" in line, line


def test_an_ipi_run_without_velocities_is_told_the_output_line_to_add(tmp_path):
    """No velocities file: the error line says what to add to the i-PI input's <output>, at the positions' stride, in
    the watch and in ``trajmodes fit``'s error model (before: "(write vx vy vz)", LAMMPS' words)."""
    from trajmodes.forceconstants import EffectiveForceConstants
    from trajmodes.series import error_model_inputs
    from trajmodes.workflows.reading import open_run
    _run(tmp_path, n_frames=40, velocities=False)
    _input(tmp_path, f"{POS} {FOR}")
    _, updates = _watched(tmp_path)
    said = ('add <trajectory filename="vel" stride="5"> velocities </trajectory> to the <output> of the i-PI input')
    line = updates[-1].errors.sentence()
    assert said in line and "vx vy vz" not in line, line
    run = open_run(str(tmp_path / "sim.pos_0.xyz")).trajectory
    fit = EffectiveForceConstants(cutoff2=4.0, segments=5).fit(run)
    notes = " ".join(error_model_inputs(fit, run, fourth_order=False).notes)
    assert said in notes and "vx vy vz" not in notes, notes


def test_the_watch_times_a_run_restarted_with_another_step_as_fit_does(tmp_path):
    """Steps 0..100 at 1 fs, then restarted at 2 fs (the properties file's time goes on with the new step): the
    watch's times are the properties file's, as ``trajmodes fit``'s reader takes them, with one warning naming the
    change (before: the steps x the input's 1 fs, 0.2 ps instead of 0.3 ps at the end)."""
    from trajmodes.workflows.reading import open_run
    run = _run(tmp_path, n_frames=41, velocities=False)
    _input(tmp_path, f'{POS} {FOR} <properties filename="out"> [ step, time{{picosecond}}, temperature{{kelvin}} ] '
                     '</properties>')
    steps = np.array(run["steps"])
    times = np.where(steps <= 100, steps * 1e-3, 0.1 + (steps - 100) * 2e-3)
    _properties(tmp_path / "sim.out", steps[::2], times[::2], [50.0] * 21)     # rows every 10 steps
    w = Watch(WatchSettings(str(tmp_path / "sim.pos_0.xyz"), cutoff2=4.0, block_frames=4, segments=5,
                            n_resamples=10, replay=True))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        updates = list(w.follow())
    said = [str(c.message) for c in caught if "the run's time step was not the input's" in str(c.message)]
    assert len(said) == 1 and "says 0.11 ps at MD step 105, not its step x the input's time step (0.105 ps)" in \
        said[0], said
    np.testing.assert_allclose(w._series["time"], times, rtol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(w._series["time"], open_run(str(tmp_path / "sim.pos_0.xyz")).trajectory.times,
                                   rtol=1e-9)
    assert updates[-1].time == pytest.approx(0.3)


def test_times_past_the_last_properties_row_continue_its_line(tmp_path):
    """A frame whose properties row is not written yet (i-PI writes its outputs one after the other): its time is the
    line through the last two rows continued; between rows of another stride, the line through them."""
    from trajmodes.io import PropertiesTimes
    p = _properties(tmp_path / "sim.out", [0, 10, 20, 30], [0.0, 0.01, 0.02, 0.04], [50.0] * 4)
    text = p.read_text()
    p.write_text(text[:text.rindex("\n", 0, len(text) - 1) + 10])      # the last row cut: not read yet
    got = PropertiesTimes(str(p))
    got.read()
    np.testing.assert_allclose(got.times([5, 20, 25]), [0.005, 0.02, 0.025])
    p.write_text(text)
    got.read()
    np.testing.assert_allclose(got.times([25, 30, 35]), [0.03, 0.04, 0.05])
    assert got.column == "time{picosecond}" and got.bytes_read == len(text)


def test_velocities_whose_stride_changes_at_a_restart_are_left_out_from_there(tmp_path):
    """Velocities every 5 steps to step 100, then every 10 (a restart with another stride), the positions and forces
    every 5, followed a few frames at a time: the velocities are left out from step 105 on with one warning, every
    frame is fitted, as ``trajmodes fit`` fits the run (the velocities left out of every frame: the same constants,
    the temperature unknown) (before: the watch stopped, "i-PI wrote the velocities with another stride")."""
    from tests.io.test_ipi_redteam import _keep
    from trajmodes.forceconstants import EffectiveForceConstants
    from trajmodes.workflows.reading import open_run
    run = _run(tmp_path, n_frames=41)
    _keep(run["files"]["velocities"], list(range(21)) + list(range(22, 41, 2)))
    _input(tmp_path, f"{POS} {FOR} {VEL}")
    w = Watch(WatchSettings(str(tmp_path / "sim.pos_0.xyz"), cutoff2=4.0, block_frames=4, segments=5, n_resamples=10,
                            replay=True, every=0.05))
    with pytest.warns(UserWarning, match=r"sim.vel_0.xyz is written every 10 steps, the positions every 5: the "
                                         r"velocities are left out from step 105 on") as caught:
        updates = list(w.follow())
    assert sum("left out from step" in str(c.message) for c in caught) == 1
    assert len(updates) > 2 and updates[0].frames_read < 21 and np.isfinite(updates[0].temperature)
    last = updates[-1]
    assert last.frames_read == 41 and np.isnan(last.temperature)
    with pytest.warns(UserWarning, match=r"sim.vel_0.xyz is written every 10 steps, the positions every 5: the "
                                         r"temperature is left unknown"):
        whole = open_run(str(tmp_path / "sim.pos_0.xyz")).trajectory
    fit = EffectiveForceConstants(cutoff2=4.0, segments=5, folds=last.estimator.folds).fit(whole[last.first_frame:])
    np.testing.assert_allclose(last.estimator.params_[2], fit.params_[2], rtol=1e-9, atol=1e-12)
    assert np.isnan(fit.temperature_)


def test_the_first_frames_warnings_name_the_runs_files_not_the_watchs_copy(tmp_path):
    """A run whose positions stride doubles at a restart (frames 5, then 10 steps apart): the reader's warning on the
    first frames taken names the run's positions file, not the watch's private copy of them, which is removed when the
    watch ends (before: /tmp/trajmodes-watch-.../1/sim.pos_0.xyz)."""
    from tests.io.test_ipi_redteam import _keep
    run = _run(tmp_path, n_frames=41)
    for f in run["files"].values():
        _keep(f, list(range(21)) + list(range(22, 41, 2)))
    _input(tmp_path, f"{POS} {FOR} {VEL}")
    w = Watch(WatchSettings(str(tmp_path / "sim.pos_0.xyz"), cutoff2=4.0, block_frames=4, segments=5, n_resamples=10,
                            replay=True))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        updates = list(w.follow())
    said = [str(c.message) for c in caught]
    assert updates[-1].frames_read == 31
    assert any(m.startswith(f"{tmp_path / 'sim.pos_0.xyz'}: the frames are not evenly spaced in time") for m in said), \
        said
    assert not any("trajmodes-watch-" in m for m in said), said
