"""The time axis: the MD time step and the time between frames have separate names, and every trajectory says
where its frame times came from (the file, the user, the LAMMPS input beside a dump, or an assumption)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.support.paths import EXAMPLES
import trajmodes
from trajmodes.cli import main
from trajmodes.errors import UnitsWarning

from tests.support.dumps import default_columns, frame_text, random_truth, write_dump



@pytest.fixture
def dump(tmp_path):
    """A dump without ITEM: TIME: 5 frames, evenly 40 steps apart."""
    truth = random_truth(np.random.default_rng(3), n_frames=5, n_atoms=4)
    truth.steps = 1000 + 40 * np.arange(5)
    return write_dump(tmp_path / "run.lammpstrj", truth, default_columns("xu")), truth


def test_timestep_keyword_is_refused_with_both_names(dump):
    with pytest.raises(TypeError) as err:
        trajmodes.read(dump[0], timestep=0.001)
    assert "md_timestep" in str(err.value) and "frame_interval" in str(err.value)
    with pytest.raises(TypeError, match="frame_interval"):
        trajmodes.from_arrays(np.zeros((2, 1, 3)), np.eye(3) * 5, ["Cu"], timestep=0.01)


def test_assumed_time_step_is_announced(dump):
    with pytest.warns(UnitsWarning, match="ASSUMED 0.001 ps per MD step"):
        t = trajmodes.read(dump[0])
    assert t.time_axis.startswith("ASSUMED") and "metal" in t.time_axis
    assert np.allclose(t.times, dump[1].steps * 0.001) and t.frame_interval == pytest.approx(0.04)


@pytest.mark.parametrize("name", ["in.run", "log.lammps"])
def test_time_step_from_the_lammps_input_beside_the_dump(tmp_path, dump, name):
    (tmp_path / name).write_text("units metal\ntimestep 0.002\nfix 1 all nve\n"
                                 "dump traj all custom 40 run.lammpstrj id type xu yu zu vx vy vz fx fy fz\n"
                                 "run 1000\ntimestep 0.5\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnitsWarning)
        t = trajmodes.read(dump[0])
    assert np.allclose(t.times, dump[1].steps * 0.002) and t.md_timestep == pytest.approx(0.002)
    assert name in t.time_axis and "0.002" in t.time_axis and not t.time_axis.startswith("ASSUMED")


def test_input_naming_another_dump_is_not_used(tmp_path, dump):
    (tmp_path / "in.other").write_text("timestep 0.005\ndump d all custom 10 other.lammpstrj id x y z\nrun 10\n")
    with pytest.warns(UnitsWarning, match="ASSUMED"):
        t = trajmodes.read(dump[0])
    assert t.time_axis.startswith("ASSUMED")


def test_a_time_step_set_through_a_variable_is_evaluated(tmp_path, dump):
    """``timestep ${dt}`` with ``variable dt equal 0.001*3``: the value LAMMPS used, with the line it was set on."""
    (tmp_path / "in.var").write_text("units metal\nvariable dt equal 0.001*3\ntimestep ${dt}\n"
                                     "dump d all custom 40 run.lammpstrj id x y z\nrun 10\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnitsWarning)
        t = trajmodes.read(dump[0])
    assert np.allclose(t.times, dump[1].steps * 0.003) and "in.var (in.var, line 3)" in t.time_axis


def test_a_time_step_that_cannot_be_known_is_refused_naming_its_line(tmp_path, dump):
    """``timestep ${dt}`` where dt was given on LAMMPS' command line (-var) and no log is beside the dump: refused,
    naming the line, instead of assuming LAMMPS' default (half the real step in a user's run)."""
    (tmp_path / "in.var").write_text("units metal\n\ntimestep ${dt}\n"
                                     "dump d all custom 40 run.lammpstrj id x y z\nrun 10\n")
    with pytest.raises(trajmodes.errors.TrajectoryFormatError) as err:
        trajmodes.read(dump[0])
    msg = str(err.value)
    assert "in.var, line 3" in msg and "the variable dt is not defined" in msg and "--md-timestep" in msg
    t = trajmodes.read(dump[0], md_timestep=0.0005)                   # the way out the message names
    assert np.allclose(t.times, dump[1].steps * 0.0005)


def test_given_values(dump):
    path, truth = dump
    t = trajmodes.read(path, md_timestep=0.0025)
    assert np.allclose(t.times, truth.steps * 0.0025) and "md_timestep 0.0025 ps (given)" in t.time_axis
    t = trajmodes.read(path, frame_interval=0.1)
    assert t.frame_interval == pytest.approx(0.1) and t.md_timestep == pytest.approx(0.1 / 40)
    t = trajmodes.read(path, md_timestep=0.0025, frame_interval=0.1)       # consistent: 40 steps
    with pytest.raises(ValueError, match="disagree"):
        trajmodes.read(path, md_timestep=0.001, frame_interval=0.1)
    for bad in (0.0, -0.001, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="positive, finite"):
            trajmodes.read(path, md_timestep=bad)


def test_file_times_win_over_a_disagreeing_value(tmp_path):
    truth = random_truth(np.random.default_rng(1), n_frames=4, n_atoms=3, with_time=True)
    path = write_dump(tmp_path / "t.lammpstrj", truth, default_columns("xu"))
    with pytest.warns(UnitsWarning, match="disagrees with ITEM: TIME"):
        t = trajmodes.read(path, md_timestep=0.01)
    assert np.array_equal(t.times, truth.times) and t.time_axis == "ITEM: TIME in the file"


def test_time_missing_in_some_frames(tmp_path):
    import dataclasses
    truth = random_truth(np.random.default_rng(2), n_frames=5, n_atoms=3, with_time=True)
    untimed = dataclasses.replace(truth, times=None)
    cols = default_columns("xu")
    text = "".join(frame_text(untimed if k == 3 else truth, k, cols) for k in range(5))
    path = tmp_path / "t.lammpstrj"
    path.write_text(text)
    with pytest.warns(UnitsWarning, match="1 frame.* lack ITEM: TIME .*frame 3"):
        t = trajmodes.read(path)
    assert np.allclose(t.times, truth.times) and "filled in" in t.time_axis


def test_frequency_outputs_carry_the_time_axis(examples_dir):
    ph = trajmodes.Phonons(trajmodes.ForceConstants.read(EXAMPLES / "fc" / "cu_eam", "phonopy"))
    traj = trajmodes.read(examples_dir / "cu_fcc_300K.lammpstrj.gz", reference=examples_dir / "cu_fcc_4x4x4.data")
    modes = trajmodes.project(traj[:40], ph, qpoints=[[0.5, 0, 0.5]])
    with pytest.warns(UserWarning, match=r"segment of 50 frames is longer than the trajectory \(40\)"):
        spectra = trajmodes.mode_spectra(modes, resolution=2.0)
    peaks = trajmodes.fit_peaks(spectra)
    for ds in (modes, spectra, peaks):
        assert ds.attrs["time_axis"] == "ITEM: TIME in the file"


def test_cli_time_step_options(dump, capsys):
    path = str(dump[0])
    assert main(["info", path, "--md-timestep", "0.002", "--species", "Cu,Cu,Cu"]) == 0
    assert "time axis:  MD steps x md_timestep 0.002 ps (given)" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        main(["info", path, "--timestep", "0.001"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "usage: trajmodes info" in err and "--md-timestep" in err and "--frame-interval" in err
    for bad in ("0", "-1", "nan"):
        with pytest.raises(SystemExit):
            main(["info", path, "--frame-interval", bad])
        assert "positive, finite" in capsys.readouterr().err


def _uneven_warning(times, steps=None) -> str:
    """The message of check_frame_times' warning for frames at ``times`` (ps)."""
    from trajmodes.io.trajectories.times import check_frame_times
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        check_frame_times("run.lammpstrj", np.asarray(times, float), "ITEM: TIME in the file",
                          steps=None if steps is None else np.asarray(steps))
    assert len(said) == 1
    return str(said[0].message)


def test_a_time_step_changed_between_two_runs_is_said_so():
    """A second run with another time step (1 fs, then 2 fs from step 40; a frame every 10 steps): the warning says
    that the time step changed, where and from what to what, and which frames are evenly spaced, not that an extra
    frame sits where the spacing changes; a change between two frames (at step 45) is said to lie between them."""
    steps = np.arange(0, 110, 10)
    times = np.where(steps <= 40, steps * 0.001, 0.04 + (steps - 40) * 0.002)
    msg = _uneven_warning(times, steps)
    assert "the MD time step changed at MD step 40, from 1 fs to 2 fs" in msg and "extra frame" not in msg
    assert "0.01 ps apart and those after 0.02 ps" in msg and "traj[:5] or traj[4:]" in msg
    assert "ITEM: TIME in the file, each frame's as it is" in msg
    times = np.where(steps <= 45, steps * 0.001, 0.045 + (steps - 45) * 0.002)
    msg = _uneven_warning(times, steps)
    assert "changed between MD steps 40 and 50, from 1 fs to 2 fs" in msg and "traj[:5] or traj[5:]" in msg


def test_a_dump_interval_changed_is_said_so_and_a_lone_gap_is_a_missing_frame():
    """The same time step, frames every 5 steps, then every 10 from step 20 (dump_modify every): the interval in MD
    steps changed. One frame missing among evenly spaced ones, or one extra at the start (dump_modify first yes),
    is not a change: said as before."""
    steps = np.array([0, 5, 10, 15, 20, 30, 40, 50, 60])
    msg = _uneven_warning(steps * 0.002, steps)
    assert "the interval between frames changed at MD step 20, from 5 to 10 MD steps" in msg
    assert "extra frame" not in msg and "traj[:5] or traj[4:]" in msg
    steps = np.array([0, 10, 20, 40, 50, 60])
    assert "frames are missing there" in _uneven_warning(steps * 0.002, steps)
    steps = np.array([0, 3, 10, 20, 30, 40])
    assert "an extra frame sits there" in _uneven_warning(steps * 0.002, steps)
    msg = _uneven_warning([0.0, 1.0, 2.0, 3.0, 5.0, 7.0, 9.0])               # no MD steps: the spacing itself
    assert "the time between frames changed at frame 3, from 1 ps to 2 ps" in msg
