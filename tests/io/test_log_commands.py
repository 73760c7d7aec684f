"""The commands of a LAMMPS log's thermo reading come from the log's trace (:class:`LammpsInput`): a real LAMMPS run
whose time step, thermo interval, thermo columns and run lengths are given through variables, with ``print`` lines
that read like commands."""
from __future__ import annotations

import numpy as np
import pytest

from tests.support.lammps_heat import ARGON_CRYSTAL
from tests.support.lammps_md import lammps_module, run_lammps_in
from trajmodes.io.heat_current import read_heat_current
from trajmodes.io.trajectories.lammps_log import log_runs, read_thermo

#: ARGON_CRYSTAL (its timestep 0.004 replaced by ${dt}), the heat current and the potential energy in the thermo
#: columns of a string variable, two runs of ${n} steps; the print lines write "run 7" and "thermo_modify norm yes"
#: into the log, which are LAMMPS' output, not commands
VARIABLES = ARGON_CRYSTAL + """\
variable        dt equal 0.002
timestep        ${dt}
compute         st all centroid/stress/atom NULL
compute         flux all heat/flux ke pe st
variable        cols string "step temp pe vol c_flux[1] c_flux[2] c_flux[3]"
thermo_style    custom ${cols}
variable        every equal 5
thermo          ${every}
variable        n equal 50
print           "run 7"
print           "thermo_modify norm yes"
run             ${n}
run             ${n}
"""


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    if lammps_module() is None:
        pytest.skip("the lammps Python module is not installed")
    folder = tmp_path_factory.mktemp("variables")
    run_lammps_in(folder, VARIABLES, folder / "log.lammps")
    return folder / "log.lammps"


def test_runs_and_their_settings_come_through_variables(log):
    lines = log.read_text().split("\n")
    runs = log_runs(log, lines)
    assert [r.command for r in runs] == ["run 50", "run 50"]
    words = [ln.split() for ln in lines]
    ts_line = words.index(["timestep", "0.002"]) + 1           # LAMMPS' substituted echo
    for r in runs:
        assert r.timestep == (0.002, ts_line)
        assert r.thermo[0] == 5 and r.norm[0] is None
        assert r.columns == ["Step", "Temp", "PotEng", "Volume", "c_flux[1]", "c_flux[2]", "c_flux[3]"]
        assert len(r.rows) == 11 and r.ended is not None
        assert words[r.line - 1] == ["run", "50"]
    assert [int(r.rows[0][1][0]) for r in runs] == [0, 50]


def test_the_heat_current_reads_the_second_run_by_its_number(log):
    second = read_heat_current(log, run=2)
    np.testing.assert_array_equal(second.steps, np.arange(50, 101, 5))
    assert second.dt == pytest.approx(0.002 * 5, rel=1e-12)
    both = read_heat_current(log)
    assert "2 runs joined" in " ".join(both.notes) and both.steps[0] == 0 and both.steps[-1] == 100


def test_a_printed_command_is_not_a_thermo_setting(log):
    """The printed 'thermo_modify norm yes' is output: the energies stay as printed (metal units: not per atom)."""
    thermo = read_thermo(log)
    assert thermo.units == "metal"
    assert np.all(thermo.norm == -1)
    assert np.array_equal(thermo.steps, np.arange(0, 101, 5))
