"""A damaged GPUMD ``compute.out`` names its file, line and what to do: the last row cut short (a run still writing,
or stopped while writing) is dropped and said, instead of numpy's "use usecols" advice; a row cut short before the
last, or a NaN in the heat current, is refused with its line (not the row's index in the series). And a trajectory
asked for its heat current (``Trajectory.field("heat_current")``) says what its frames lack, as the command does.

The files are written as GPUMD writes them (src/measure/compute.cu: every value ``%15.6e``, the row ended by a
newline; the quantities per group in the order temperature, potential, force, virial, jp, jk, momentum, and with
temperature the two thermostat energies last; a NaN printed by C's printf as ``nan``).
"""
from __future__ import annotations

import numpy as np
import pytest

import trajmodes
from tests.support.paths import DATA
from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.heat_current import GPUMD_VELOCITY, read_heat_current


def _gpumd_text(rows) -> str:
    return "".join("".join("%15.6e" % v for v in r) + "\n" for r in rows)


@pytest.fixture()
def run(tmp_path):
    """A GPUMD run's folder: run.in asking for temperature jp jk of one group every 10 x 10 steps, model.xyz, and
    the 20 rows (temperature, jp xyz, jk xyz, two thermostat energies) of its compute.out."""
    (tmp_path / "run.in").write_text("potential nep.txt\nvelocity 300\ntime_step 1\nensemble nve\n"
                                     "compute 0 10 10 temperature jp jk\nrun 2000\n")
    (tmp_path / "model.xyz").write_text('4\npbc="T T T" Lattice="10 0 0 0 11 0 0 0 12" '
                                        'Properties=species:S:1:pos:R:3\n' + "Si 0 0 0\n" * 4)
    rng = np.random.default_rng(3)
    rows = np.concatenate([rng.uniform(290, 310, (20, 1)), rng.normal(size=(20, 6)), np.zeros((20, 2))], axis=1)
    return tmp_path, rows


def test_the_last_row_cut_short_is_dropped_and_said(run):
    folder, rows = run
    text = _gpumd_text(rows)
    (folder / "compute.out").write_text(text[:-50])              # stopped in the middle of row 20
    s = read_heat_current(folder / "compute.out")
    written = np.array([[float("%15.6e" % v) for v in r] for r in rows[:19]])
    np.testing.assert_allclose(s.current, (written[:, 1:4] + written[:, 4:7]) * GPUMD_VELOCITY, rtol=1e-12)
    assert list(s.lines) == list(range(1, 20))
    assert any("line 20" in n and "cut short" in n and "not read" in n for n in s.notes)
    (folder / "compute.out").write_text(text[:-4])               # the last value cut before its newline
    assert len(read_heat_current(folder / "compute.out").current) == 19


def test_a_row_cut_short_before_the_last_is_refused_with_its_line(run):
    folder, rows = run
    lines = _gpumd_text(rows).splitlines(keepends=True)
    lines[6] = lines[6][:70] + "\n"                              # row 7 cut (a file joined after a crash)
    (folder / "compute.out").write_text("".join(lines))
    with pytest.raises(TrajectoryFormatError) as exc:
        read_heat_current(folder / "compute.out")
    msg = str(exc.value)
    assert msg.startswith(f"{folder / 'compute.out'}, line 7: this line") and "not a row of the 9 numbers" in msg
    assert "Repair or remove the line" in msg and "usecols" not in msg


def test_a_nan_in_the_heat_current_is_refused_with_its_line(run):
    folder, rows = run
    rows[11, 5] = np.nan                                         # jk y of row 12
    text = _gpumd_text(rows)
    assert "            nan" in text.splitlines()[11]
    (folder / "compute.out").write_text(text)
    with pytest.raises(TrajectoryFormatError) as exc:
        read_heat_current(folder / "compute.out")
    msg = str(exc.value)
    assert msg.startswith(f"{folder / 'compute.out'}, line 12: jk y of group 0 is nan") and "rows before it" in msg


def test_a_trajectory_without_the_heat_current_says_what_its_frames_lack():
    traj = trajmodes.read(DATA / "cu32_atom.lammpstrj", species=["Cu"], md_timestep=0.001)
    with pytest.raises(ValueError) as exc:
        traj.field("heat_current")
    msg = str(exc.value)
    assert "cu32_atom.lammpstrj has no heat current" in msg
    assert "per-atom potential energies" in msg and "per-atom stresses" in msg and "read_heat_current" in msg
