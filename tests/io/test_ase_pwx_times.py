"""The time axis of pw.x MD output (Quantum ESPRESSO), as pw.x prints it (PW/src/dynamics_module.f90, QE 7):

- a run from scratch, once: ``Time step = 20.00 a.u.,  0.9676 femto-seconds`` (F8.2 in Rydberg atomic units of time,
  2 hbar / E_h = 4.8378e-5 ps, and F8.4 fs);
- every MD step: ``Entering Dynamics:    iteration =     1`` (I5, counting from the start of the run, restarts
  included) and ``time      =   0.0010 pico-seconds`` (F8.4: 0.1 fs), then the positions moved to.

With the usual dt = 20 a.u. (0.9676 fs) the printed times are 0.0010, 0.0019, 0.0029, ...: differences of printed
times are 3% off the step, so frame times are iteration x the time step (from the Time step line, or, for a
restart, which prints none, the step that reproduces every printed time). The expected lines below are those of
pw.x 7.5 for a run with dt = 20 (a published output: "Time step = 20.00 a.u., 0.9676 femto-seconds", "iteration =
1", "time = 0.0010 pico-seconds").
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

pytest.importorskip("ase")

import trajmodes  # noqa: E402
from tests.support import dft_outputs  # noqa: E402
from trajmodes.errors import TrajectoryFormatError, UnitsWarning  # noqa: E402
from trajmodes.io.trajectories.espresso_format import PW_TIME_UNIT_PS  # noqa: E402

DT_AU = 20.0
DT = DT_AU * PW_TIME_UNIT_PS                    # ps: 0.96755373 fs


def test_writer_prints_pwx_lines(tmp_path):
    """The test writer's lines are pw.x's (its Fortran formats), with the values of a real dt = 20 a.u. run."""
    text = dft_outputs.write_espresso_out(tmp_path / "md.pwo", dft_outputs.random_frames(3), dt_ps=DT).read_text()
    lines = text.split("\n")
    assert "     Time step             =    20.00 a.u.,  0.9676 femto-seconds" in lines
    assert "     mass Si               =    28.09" in lines
    i = lines.index("     Entering Dynamics:    iteration =     1")
    assert lines[i + 1] == "                           time      =   0.0010 pico-seconds"
    assert lines[i + 4] == "ATOMIC_POSITIONS (angstrom)" and re.fullmatch(r"Si {7}(\s+-?\d+\.\d{10}){3}", lines[i + 5])
    assert text.count("Molecular Dynamics Calculation") == 1          # md_init: once, before the first step
    assert "     The maximum number of steps has been reached." in lines


def test_times_are_steps_times_the_time_step(tmp_path):
    """Frame times are iteration x 20 a.u. exactly, not the printed times (whose differences are 0.0009 or 0.0010
    ps); the time step is stated as pw.x's Time step line."""
    n = 40
    p = dft_outputs.write_espresso_out(tmp_path / "md.pwo", dft_outputs.random_frames(n), dt_ps=DT)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = trajmodes.read(p)
    assert np.array_equal(t.steps, np.arange(n)) and t.md_timestep == DT
    assert np.allclose(t.times, np.arange(n) * DT, rtol=1e-15, atol=0)
    assert "'Time step = 20.00 a.u., 0.9676 femto-seconds'" in t.time_axis
    printed = np.array([float(x) for x in re.findall(r"time\s+=\s+([\d.]+) pico-seconds", p.read_text())])
    assert set(np.round(np.diff(printed), 4)) == {0.0009, 0.0010}    # what differences of printed times give
    assert len(printed) == n and np.abs(printed - np.arange(1, n + 1) * DT).max() <= 5e-5 + 1e-12   # + the last,
    # unevaluated step


@pytest.mark.parametrize("dt_au, first, exact", [(20.0, 500, True), (17.5, 40, True), (41.3414, 3, False)])
def test_restart_time_step_from_printed_times(tmp_path, dt_au, first, exact):
    """A restart prints no Time step line: the time step is the one that reproduces every printed time, the input's
    (two decimals in a.u.) where one does; known only roughly (a few steps of an odd dt), it is used with a
    UnitsWarning asking for md_timestep=, which silences it."""
    p = dft_outputs.write_espresso_out(tmp_path / "md.pwo", dft_outputs.random_frames(30),
                                       dt_ps=dt_au * PW_TIME_UNIT_PS, first_step=first)
    assert "Time step" not in p.read_text()
    if exact:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            t = trajmodes.read(p)
        assert t.md_timestep == pytest.approx(dt_au * PW_TIME_UNIT_PS, rel=1e-14)
        assert f"a restart: {dt_au:.2f} a.u." in t.time_axis
    else:
        with pytest.warns(UnitsWarning, match=r"md.pwo: the MD time step comes from .*known to .*Give md_timestep="):
            t = trajmodes.read(p)
        assert t.md_timestep == pytest.approx(dt_au * PW_TIME_UNIT_PS, rel=1e-3)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert trajmodes.read(p, md_timestep=dt_au * PW_TIME_UNIT_PS).time_axis.endswith("(given)")
    assert np.array_equal(t.steps, np.arange(first, first + 30))


def test_inconsistent_times_are_errors(tmp_path):
    """Printed times no time step reproduces, and a Time step that changes within the file, are errors naming the
    frame or the line."""
    frames = dft_outputs.random_frames(6)
    text = dft_outputs.write_espresso_out(tmp_path / "a.pwo", frames, dt_ps=DT).read_text()
    bad = tmp_path / "bad.pwo"
    bad.write_text(text.replace("time      =   0.0039 pico-seconds", "time      =   0.0050 pico-seconds"))
    with pytest.raises(TrajectoryFormatError, match=r"bad.pwo, frame 4: pw.x's time 0.005 ps at iteration 4 is not "
                                                    r"4 x its time step"):
        trajmodes.read(bad)
    other = dft_outputs.write_espresso_out(tmp_path / "b.pwo", frames, dt_ps=2 * DT).read_text()
    both = tmp_path / "both.pwo"
    both.write_text(text + other)                              # two runs of different dt in one file
    with pytest.raises(TrajectoryFormatError, match=r"both.pwo, line \d+: pw.x's time step changes within the file "
                                                    r"\(20.00 a.u., then 40.00 a.u.\)"):
        trajmodes.read(both)
