"""A LAMMPS input and log read as LAMMPS reads them (trajmodes.io.trajectories.lammps_input), with LAMMPS itself as the
oracle: the commands the model executes from an input driven by variables (``index``, ``equal``, ``string``,
``loop``, immediate ``$()``, ``-var`` on the command line, ``include``, ``if``, ``label``/``jump``/``next`` loops) are
the commands LAMMPS echoed to its log, word for word; and a dump of that run gets its time step, masses and potential
range from the log as LAMMPS used them, or is refused naming the line where they cannot be known."""
from __future__ import annotations

import math
import shutil
import warnings

import numpy as np
import pytest

import trajmodes
from trajmodes.errors import TrajectoryFormatError, UnitsWarning
from trajmodes.io.potentials.pair_style import potential_range
from trajmodes.io.trajectories.lammps_input import LammpsInput
from trajmodes.io.trajectories.lammps_script import UnknownValue, evaluate_formula
from tests.support.dumps import default_columns, random_truth, write_dump
from tests.support.lammps_md import lammps_module, run_lammps_file

#: an input as users write them: the time step given on the command line (-var dt 0.0005), the others as index,
#: equal and string variables, immediate formulas, an included file, a loop of two runs whose second is steered by if
INPUT = """\
# LJ argon, 2x2x2 fcc cells
variable T index 40
variable a equal 5.26
variable every equal 2*5
variable name string argon
units metal
lattice fcc ${a}
region box block 0 2 0 2 0 2
create_box 1 box
create_atoms 1 box
mass * $(39.948)
pair_style lj/cut $(2.5*3.4)
pair_coeff 1 1 0.0104 3.4
timestep ${dt}   # set on the command line
velocity all create $(2*v_T) 4928459 mom yes rot yes dist gaussian
fix 1 all nve
include in.dumps
thermo_style custom step temp pe &
    press
thermo ${every}
variable k loop 2
label again
if "${k} == 2" then "timestep $(v_dt*1)" "thermo 5"
run 40
next k
jump SELF again
"""
DUMPS = "dump 1 all custom ${every} dump.${name}.${T}K.lammpstrj id type x y z vx vy vz fx fy fz\n"
DUMP = "dump.argon.40K.lammpstrj"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The input run by LAMMPS with ``-var dt 0.0005``: its folder (in.run, in.dumps, log.lammps, the dump)."""
    mod = lammps_module()
    if mod is None:
        pytest.fail("the 'lammps' Python module of the test extra is not installed")
    folder = tmp_path_factory.mktemp("lammps_input")
    (folder / "in.run").write_text(INPUT)
    (folder / "in.dumps").write_text(DUMPS)
    run_lammps_file(folder, "in.run", ("-var", "dt", "0.0005"))
    return folder


def _words(model):
    return [(c.name, c.args) for c in model.commands]


def test_the_input_executed_is_what_lammps_echoed(run):
    """The model of the input, given the -var LAMMPS was given, executes the very commands LAMMPS echoed to its log,
    with the same substituted words (the loop unrolled, the include inlined, the if's branch taken on the second
    pass only)."""
    log = LammpsInput.read(run / "log.lammps")
    inp = LammpsInput.read(run / "in.run", variables={"dt": "0.0005"})
    assert log.is_log and not inp.is_log and log.problem is None and inp.problem is None
    assert _words(inp) == _words(log)
    names = [c.name for c in log.commands]
    assert names.count("run") == 2 and names.count("timestep") == 2 and names.count("thermo") == 2
    echoed = {}
    for c in log.commands:
        echoed.setdefault(c.name, c.args)
    assert echoed["timestep"] == ("0.0005",) and echoed["thermo"] == ("10",)
    assert echoed["pair_style"] == ("lj/cut", "8.5") and float(echoed["mass"][1]) == 39.948
    assert echoed["lattice"] == ("fcc", "5.26") and echoed["dump"][3:5] == ("10", DUMP)


def test_what_the_log_says_about_the_dump(run):
    s = LammpsInput.read(run / "log.lammps").settings(DUMP)
    assert s.units == "metal" and s.md_timestep == 0.0005 and s.every == 10 and s.timestep_problem is None
    assert s.mass_of(1) == pytest.approx(39.948) and s.dump_line.startswith("log.lammps, line ")
    assert [c.name for c in s.commands][-1] == "run"


def test_the_input_alone_names_the_line_it_cannot_know(run):
    """Without the log, ``timestep ${dt}`` is unknown: the variable was given on LAMMPS' command line."""
    s = LammpsInput.read(run / "in.run").settings(DUMP)
    assert s.md_timestep is None and "in.run, line 14" in s.timestep_problem
    assert "the variable dt is not defined" in s.timestep_problem
    assert s.every == 10 and s.mass_of(1) == pytest.approx(39.948)


def test_the_dump_reads_the_time_step_masses_and_range_from_the_log(run, tmp_path):
    """The user's run: the dump without ITEM: TIME, the log and the input beside it: the frames are 10 x 0.0005 ps
    apart (LAMMPS' default for metal units would be twice that), the masses are the mass command's, the potential's
    range the pair style's 8.5 A, all from the log."""
    for name in ("in.run", "in.dumps", "log.lammps", DUMP):
        shutil.copy(run / name, tmp_path / name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnitsWarning)
        t = trajmodes.read(tmp_path / DUMP)
    assert t.frame_interval == pytest.approx(0.005) and t.md_timestep == pytest.approx(0.0005)
    assert "log.lammps" in t.time_axis and not t.time_axis.startswith("ASSUMED")
    assert np.allclose(t.masses, 39.948)
    assert potential_range(tmp_path / DUMP).cutoff == pytest.approx(8.5)
    (tmp_path / "log.lammps").unlink()
    with pytest.raises(TrajectoryFormatError) as err:
        trajmodes.read(tmp_path / DUMP)
    msg = str(err.value)
    assert "in.run, line 14" in msg and "-var" in msg and "log" in msg and "--md-timestep" in msg


def test_a_path_integral_run_gets_the_same_rules():
    """The same input rules for a dump read classically and as one partition of a path-integral run: the time step
    in force at the run (not the first one written), ``timestep 0.0005  # ps`` with a comment, ``mass * 39.948``."""
    import tempfile
    from pathlib import Path
    from trajmodes.io import find_beads
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        text = ("variable ibead world 0 1\nunits metal\nmass * 39.948\ntimestep 0.002\n"
                "fix 1 all pimd/langevin method nmpimd ensemble nvt temp 50.0 thermostat PILE_L 1 tau 1.0\n"
                "timestep 0.0005  # ps\n"
                "dump 1 all custom 10 dump.pimd.${ibead} id type x y z vx vy vz fx fy fz\nrun 200\n")
        (d / "in.pimd").write_text(text)
        truth = random_truth(np.random.default_rng(0), n_frames=2, n_atoms=4)
        for k in (0, 1):
            write_dump(d / f"dump.pimd.{k}", truth, default_columns("xu"))
        files = find_beads(d / "dump.pimd.1")
        classical = LammpsInput.read(d / "in.pimd").settings("dump.pimd.1")
        assert files.md_timestep == classical.md_timestep == 0.0005 and files.temperature == 50.0
        assert files.stated_beads == 2 and classical.mass_of(1) == 39.948


def test_formulas():
    look = {"v_T": 300.0, "dt": 0.001}.__getitem__
    assert evaluate_formula("100*3", look) == 300
    assert evaluate_formula("-2^2", look) == 4 and evaluate_formula("2^3^2", look) == 64      # LAMMPS: left to right
    assert evaluate_formula("round(2.5)", look) == 3 and evaluate_formula("round(-2.5)", look) == -2  # floor(x+0.5)
    assert evaluate_formula("v_T/2+1", look) == 151 and evaluate_formula("sqrt(4)*PI", look) == 2 * math.pi
    assert evaluate_formula("ternary(v_T > 100, 1, 2)", look) == 1 and evaluate_formula("dt*10", look) == 0.01
    assert evaluate_formula("(1+2)*3 % 4", look) == 1 and evaluate_formula("1 && 0 || 1", look) == 1
    for bad, why in (("c_thermo_temp", "compute"), ("random(1,2,3)", "while LAMMPS runs"), ("1/0", "division"),
                     ("2 +", "could not be read")):
        with pytest.raises(UnknownValue, match=why):
            evaluate_formula(bad, look)


def test_an_index_variable_of_the_input_is_said_to_be_overridable(tmp_path):
    """``variable dt index 0.001`` then ``timestep ${dt}``: LAMMPS' -var replaces an index variable, so the value
    taken from the input alone says so (the log would say which was used)."""
    (tmp_path / "in.x").write_text("units metal\nvariable dt index 0.001\ntimestep ${dt}\n"
                                   "dump 1 all atom 10 d.lammpstrj\nrun 10\n")
    s = LammpsInput.read(tmp_path / "in.x").settings("d.lammpstrj")
    assert s.md_timestep == 0.001 and "index variable dt" in s.timestep_where and "-var" in s.timestep_where
    s = LammpsInput.read(tmp_path / "in.x", variables={"dt": "0.0005"}).settings("d.lammpstrj")
    assert s.md_timestep == 0.0005 and "-var" not in s.timestep_where


def test_endless_loops_and_missing_includes_stop_with_the_line(tmp_path):
    (tmp_path / "in.loop").write_text("label a\ntimestep 0.001\njump SELF a\n")
    m = LammpsInput.read(tmp_path / "in.loop")
    assert "endless loop" in m.problem and "in.loop, line 3" in m.problem
    (tmp_path / "in.inc").write_text("units metal\ninclude missing.in\ntimestep 0.002\n")
    m = LammpsInput.read(tmp_path / "in.inc")
    assert "missing.in" in m.problem and "line 2" in m.problem


def test_an_input_without_units_ran_in_lj_units(tmp_path):
    """LAMMPS' default unit style is lj: a dump whose input has no units command is not read as metal."""
    truth = random_truth(np.random.default_rng(2), n_frames=3, n_atoms=4)
    write_dump(tmp_path / "run.lammpstrj", truth, default_columns("xu"))
    (tmp_path / "in.lj").write_text("timestep 0.005\ndump d all custom 10 run.lammpstrj id type xu yu zu\nrun 20\n")
    with pytest.raises(TrajectoryFormatError) as err:
        trajmodes.read(tmp_path / "run.lammpstrj")
    assert "in.lj" in str(err.value) and "lj (reduced) units" in str(err.value) and "--lj-scales" in str(err.value)
    t = trajmodes.read(tmp_path / "run.lammpstrj", lj_scales={"sigma": 3.405, "epsilon": 0.01032, "mass": 39.948})
    assert t.source.units == "lj"
