"""The i-PI reader shared by ``trajmodes fit`` and ``trajmodes watch`` against what the red-team of i-PI runs found:
an earlier run's forces or velocities file beside a new run's positions (joined silently), positions not in Å with a
reference file, a bead of a path-integral run written alone taken as a classical run, a restart with another time
step, and ``--masses`` given per type. Small i-PI files written by hand (fcc argon, 32 atoms), as i-PI 3 writes them.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

import trajmodes
from trajmodes.errors import TrajectoryFormatError
from trajmodes.io import open_source
from trajmodes.units import BOHR_A, KB_EV, NATURAL_TIME_PS

A = 5.3                                            # fcc lattice constant, A
CELL = 2 * A
MASS = 39.948


def _sites() -> np.ndarray:
    basis = np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]])
    cells = np.array([[i, j, k] for i in range(2) for j in range(2) for k in range(2)])
    return ((cells[:, None, :] + basis[None]).reshape(-1, 3)) * A


def _write(path: Path, frames, steps, quantity: str, unit: str, *, cell_unit: str = "angstrom", bead: int = 0,
           cell_factor: float = 1.0) -> Path:
    out = []
    for x, step in zip(np.asarray(frames, float), steps):
        out.append(f"{len(x)}")
        out.append(f"# CELL(abcABC): {CELL * cell_factor:.8f} {CELL * cell_factor:.8f} {CELL * cell_factor:.8f} "
                   f"90.00000 90.00000 90.00000  Step: {step:10d}  Bead: {bead:5d} {quantity}{{{unit}}}  "
                   f"cell{{{cell_unit}}}")
        out += [f"      Ar {p[0]:16.9e} {p[1]:16.9e} {p[2]:16.9e}" for p in x]
    path.write_text("\n".join(out) + "\n")
    return path


def _run(folder: Path, *, n_frames: int = 12, stride: int = 5, seed: int = 0, temperature: float = 50.0,
         vel_temperature: float | None = None, prefix: str = "sim", forces_kind: str = "for",
         velocities: bool = True) -> dict:
    """A classical i-PI run written by hand: positions (A), forces (eV/A: -u, a spring of 1 eV/A^2 to each site)
    and velocities (m/s, drawn at ``vel_temperature``, default ``temperature``) every ``stride`` steps."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    sites = _sites()
    u = rng.normal(0.0, 0.05, (n_frames,) + sites.shape)
    t = temperature if vel_temperature is None else vel_temperature
    v = rng.normal(0.0, np.sqrt(KB_EV * t / MASS) / NATURAL_TIME_PS, (n_frames,) + sites.shape)   # A/ps
    steps = [stride * k for k in range(n_frames)]
    files = {"positions": _write(folder / f"{prefix}.pos_0.xyz", sites + u, steps, "positions", "angstrom"),
             "forces": _write(folder / f"{prefix}.{forces_kind}_0.xyz", -u, steps, "forces", "ev/ang")}
    if velocities:
        files["velocities"] = _write(folder / f"{prefix}.vel_0.xyz", v * 100.0, steps, "velocities", "m/s")
    return {"files": files, "u": u, "v": v, "steps": steps}


def _input(folder: Path, outputs: str, *, nbeads: int = 1, timestep_fs: float = 1.0, prefix: str = "sim") -> Path:
    p = folder / "input.xml"
    p.write_text(f"""<simulation verbosity="low">
  <output prefix="{prefix}"> {outputs} </output>
  <total_steps> 400 </total_steps>
  <system>
    <initialize nbeads="{nbeads}"> <file mode="xyz"> init.xyz </file> </initialize>
    <motion mode="dynamics"> <dynamics mode="nvt"> <timestep units="femtosecond"> {timestep_fs} </timestep>
    </dynamics> </motion>
    <ensemble> <temperature units="kelvin"> 50 </temperature> </ensemble>
  </system>
</simulation>
""")
    return p


def _properties(path: Path, steps, times_ps, temperatures) -> Path:
    rows = "\n".join(f"{s:16.8e} {t:16.8e} {T:16.8e}" for s, t, T in zip(steps, times_ps, temperatures))
    path.write_text("# column   1     --> step : The current simulation time step.\n"
                    "# column   2     --> time{picosecond} : The elapsed simulation time.\n"
                    "# column   3     --> temperature{kelvin} : The current temperature.\n" + rows + "\n")
    return path


def _open(path, **options):
    """The i-PI source of ``path``, 1 fs a step (the files without an input or properties state none)."""
    return open_source(str(path), md_timestep=options.pop("md_timestep", 1e-3), **options)


POS = '<trajectory filename="pos" stride="5"> positions{angstrom} </trajectory>'


# ----------------------------------------------------------------------------- I1: an earlier run's files beside
def test_forces_file_the_input_does_not_write_is_refused_naming_it(tmp_path):
    """A new run whose input writes positions only, beside an earlier run's forces and velocities files of the same
    steps (i-PI backs up only the files it opens): refused, naming the forces file, in fit's reader and the watch's
    follower alike (before: joined silently, garbage constants and the old run's temperature)."""
    _run(tmp_path)
    _input(tmp_path, POS)
    with pytest.raises(TrajectoryFormatError, match=r"sim\.for_0\.xyz: this forces file is not written by input\.xml"):
        _open(tmp_path / "sim.pos_0.xyz")
    from trajmodes.workflows.watch_frames import IPIRun
    with pytest.raises(TrajectoryFormatError, match=r"sim\.for_0\.xyz.*not written by input\.xml.*move sim\.for_0"):
        IPIRun(str(tmp_path / "sim.pos_0.xyz"))


def test_velocities_file_the_input_does_not_write_is_refused(tmp_path):
    _run(tmp_path)
    _input(tmp_path, POS + ' <trajectory filename="for" stride="5"> forces </trajectory>')
    with pytest.raises(TrajectoryFormatError, match=r"sim\.vel_0\.xyz: this velocities file is not written by "):
        _open(tmp_path / "sim.pos_0.xyz")


def test_forces_taken_from_the_file_the_input_names(tmp_path):
    """The input writes its forces as filename="frc"; an earlier run's sim.for_0.xyz (other forces) beside it is
    left out with a warning naming it (before: "for" was tried first and taken)."""
    run = _run(tmp_path, forces_kind="frc")
    old = _run(tmp_path / "old", seed=7)
    os.replace(old["files"]["forces"], tmp_path / "sim.for_0.xyz")
    _input(tmp_path, POS + ' <trajectory filename="frc" stride="5"> forces{ev/ang} </trajectory>'
                           ' <trajectory filename="vel" stride="5"> velocities </trajectory>')
    with pytest.warns(UserWarning, match=r"sim\.for_0\.xyz: not written by input\.xml, which writes the forces of "
                                         r"sim\.pos_0\.xyz into sim\.frc_0\.xyz"):
        src = _open(tmp_path / "sim.pos_0.xyz")
    assert os.path.basename(src._files["forces"].path) == "sim.frc_0.xyz"
    from trajmodes.workflows.watch_frames import IPIRun
    with pytest.warns(UserWarning, match=r"sim\.for_0\.xyz: not written by input\.xml"):
        followed = IPIRun(str(tmp_path / "sim.pos_0.xyz"))
    assert os.path.basename(followed.paths["forces"]) == "sim.frc_0.xyz"
    followed.close()
    np.testing.assert_allclose(src.read([3], ("forces",))["forces"][0], -run["u"][3], atol=1e-8)


def test_forces_file_of_any_name_the_input_writes_is_joined(tmp_path):
    """A forces trajectory of a name none of the usual ones (filename="myforces") is followed where the input says
    so (before: no forces)."""
    run = _run(tmp_path, forces_kind="myforces")
    _input(tmp_path, POS + ' <trajectory filename="myforces" stride="5"> forces{ev/ang} </trajectory>'
                           ' <trajectory filename="vel" stride="5"> velocities{m/s} </trajectory>')
    src = _open(tmp_path / "sim.pos_0.xyz")
    assert "forces" in src.fields
    np.testing.assert_allclose(src.read([2], ("forces",))["forces"][0], -run["u"][2], atol=1e-8)


def test_an_input_that_writes_other_files_says_nothing(tmp_path):
    """An input whose <output> writes no trajectory of these positions (a minimal input, another prefix's files)
    does not decide which siblings are joined: forces and velocities as before."""
    _run(tmp_path)
    _input(tmp_path, "")
    src = _open(tmp_path / "sim.pos_0.xyz")
    assert set(src.fields) == {"positions", "forces", "velocities"}


def test_sibling_last_written_before_the_positions_is_warned_of_without_input(tmp_path):
    """No input beside: a forces file holding the positions' last step but last written a minute before them
    (the earlier run's) is warned of; the same files written together are not."""
    run = _run(tmp_path)
    _open(tmp_path / "sim.pos_0.xyz")                 # written together: no warning (errors in the suite)
    t = os.stat(run["files"]["positions"]).st_mtime
    os.utime(run["files"]["forces"], (t - 60.0, t - 60.0))
    with pytest.warns(UserWarning, match=r"sim\.for_0\.xyz: its forces reach MD step 55, as far as sim\.pos_0\.xyz "
                                         r"\(step 55\), but it was last written 60 s before it"):
        _open(tmp_path / "sim.pos_0.xyz")


def test_sibling_behind_the_positions_is_not_warned_of(tmp_path):
    """A forces file that stops before the positions' last step (a coarser stride, a file still being written) is
    not the earlier run's sign, however old."""
    run = _run(tmp_path)
    text = run["files"]["forces"].read_text().split("\n")
    run["files"]["forces"].write_text("\n".join(text[:-(32 + 2) - 1]) + "\n")      # its last frame cut off
    t = os.stat(run["files"]["positions"]).st_mtime
    os.utime(run["files"]["forces"], (t - 60.0, t - 60.0))
    from trajmodes.io import sibling_path
    assert os.path.basename(sibling_path(str(run["files"]["positions"]), "forces")) == "sim.for_0.xyz"


# ----------------------------------------------------------------------------- I4: positions not in A, a reference
@pytest.mark.parametrize("unit,factor", [("atomic_unit", 1 / BOHR_A), ("nanometer", 0.1)])
def test_reference_file_in_angstrom_for_positions_in_other_units(tmp_path, unit, factor):
    """Positions and cell in bohr (i-PI's default) or nm: the frames are read in A, and so is the run's LAMMPS data
    file or XYZ file given as the reference (before: read as bohr, "the reference cell differs ... by 89 %")."""
    sites = _sites()
    rng = np.random.default_rng(3)
    u = rng.normal(0.0, 0.03, (6,) + sites.shape)
    steps = [5 * k for k in range(6)]
    _write(tmp_path / "sim.pos_0.xyz", (sites + u) * factor, steps, "positions", unit, cell_unit=unit,
           cell_factor=factor)
    _write(tmp_path / "sim.for_0.xyz", -u, steps, "forces", "ev/ang")
    data = tmp_path / "data.lmp"
    data.write_text(f"LAMMPS data file\n\n{len(sites)} atoms\n1 atom types\n\n0 {CELL} xlo xhi\n0 {CELL} ylo yhi\n"
                    f"0 {CELL} zlo zhi\n\nMasses\n\n1 {MASS}\n\nAtoms # atomic\n\n"
                    + "\n".join(f"{i + 1} 1 {x:.8f} {y:.8f} {z:.8f}" for i, (x, y, z) in enumerate(sites)) + "\n")
    xyz = tmp_path / "init.xyz"
    xyz.write_text(f"{len(sites)}\nLattice=\"{CELL} 0 0 0 {CELL} 0 0 0 {CELL}\" Properties=species:S:1:pos:R:3\n"
                   + "\n".join(f"Ar {x:.8f} {y:.8f} {z:.8f}" for x, y, z in sites) + "\n")
    for ref in (data, xyz):
        traj = trajmodes.read(str(tmp_path / "sim.pos_0.xyz"), reference=str(ref), md_timestep=1e-3)
        np.testing.assert_allclose(np.asarray(traj.reference.cell), np.eye(3) * CELL, atol=1e-6)
        np.testing.assert_allclose(traj.reference.positions, sites, atol=1e-6)
        np.testing.assert_allclose(traj.source.read([2], ("positions",))["positions"][0], sites + u[2], atol=1e-6)


# ----------------------------------------------------------------------------- I3: a bead written alone
def test_bead_written_alone_without_input_is_refused_as_path_integral(tmp_path):
    """Bead 0 of a 4-bead run written alone (bead="0"), no input beside: its velocities are at 4 x the properties'
    temperature (i-PI samples each bead's momenta at P T): refused, naming the bead count (before: read as a
    classical run at 4 x T)."""
    run = _run(tmp_path, n_frames=20, temperature=50.0, vel_temperature=200.0)
    _properties(tmp_path / "sim.out", run["steps"], [s * 1e-3 for s in run["steps"]], [50.0] * len(run["steps"]))
    with pytest.raises(TrajectoryFormatError, match=r"a bead of a path-integral run of about 4 beads written alone"):
        _open(tmp_path / "sim.pos_0.xyz")
    from trajmodes.workflows.watch_frames import IPIRun          # the watch reads copies: it checks the run's files
    with pytest.raises(TrajectoryFormatError, match=r"is [34]\.\d\d times the 50\.0 K of the temperature\{kelvin\} "
                                                    r"column of .*sim\.out"):
        IPIRun(str(tmp_path / "sim.pos_0.xyz"))


def test_bead_count_checked_or_said_unchecked(tmp_path):
    run = _run(tmp_path, n_frames=20)
    assert _open(tmp_path / "sim.pos_0.xyz").bead_count.startswith("not checked (no properties file")
    _properties(tmp_path / "sim.out", run["steps"], [s * 1e-3 for s in run["steps"]], [50.0] * len(run["steps"]))
    src = _open(tmp_path / "sim.pos_0.xyz")
    assert src.bead_count.startswith("one bead: the kinetic temperature of sim.vel_0.xyz"), src.bead_count
    (tmp_path / "sim.out").unlink()
    _input(tmp_path, POS + ' <trajectory filename="for"> forces </trajectory>'
                           ' <trajectory filename="vel"> velocities </trajectory>')
    assert _open(tmp_path / "sim.pos_0.xyz").bead_count.startswith("1 bead(s): the <nbeads> of ")


def test_bead_files_of_every_bead_are_not_refused(tmp_path):
    """Beads 0 and 1 of a 2-bead run, no input: each bead's velocities are at 2 T, and the bead files beside say the
    run has 2 beads (fitted over both by ``trajmodes fit``): not refused."""
    run = _run(tmp_path, n_frames=20, temperature=50.0, vel_temperature=100.0)
    _properties(tmp_path / "sim.out", run["steps"], [s * 1e-3 for s in run["steps"]], [50.0] * len(run["steps"]))
    for field, f in run["files"].items():
        other = Path(str(f).replace("_0.xyz", "_1.xyz"))
        other.write_text(f.read_text().replace("Bead:     0", "Bead:     1"))
    assert _open(tmp_path / "sim.pos_0.xyz").bead_count.startswith("2 beads: the bead files beside it")


def test_velocities_of_another_temperature_refused(tmp_path):
    """Velocities at half the properties' temperature (an earlier, colder run's file): refused, naming the file."""
    run = _run(tmp_path, n_frames=20, vel_temperature=25.0)
    _properties(tmp_path / "sim.out", run["steps"], [s * 1e-3 for s in run["steps"]], [50.0] * len(run["steps"]))
    with pytest.raises(TrajectoryFormatError, match=r"sim\.vel_0\.xyz: the kinetic temperature .* velocities of "
                                                    r"another run"):
        _open(tmp_path / "sim.pos_0.xyz")


# ----------------------------------------------------------------------------- I6: a restart with another step
def test_times_from_the_properties_file_after_a_restart_with_another_step(tmp_path):
    """Steps 0..100 at 1 fs, then restarted at 2 fs to step 200 (i-PI's time column goes on with the new step): the
    frames' times are the properties file's, with a warning naming the change (before: steps x the input's 1 fs,
    silently: 0.2 ps instead of 0.3 ps)."""
    run = _run(tmp_path, n_frames=41, velocities=False)
    _input(tmp_path, POS + ' <trajectory filename="for"> forces </trajectory> <properties filename="out"> [ step, '
                           'time{picosecond}, temperature{kelvin} ] </properties>')
    steps = np.array(run["steps"])
    times = np.where(steps <= 100, steps * 1e-3, 0.1 + (steps - 100) * 2e-3)
    _properties(tmp_path / "sim.out", steps, times, [50.0] * len(steps))
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        src = open_source(str(tmp_path / "sim.pos_0.xyz"))
    said = [str(w.message) for w in said]
    assert any("says 0.01 ps between the frames of MD steps 100 and 105, not their steps x the time step 0.001 ps"
               in w for w in said), said
    assert any("the frames are not evenly spaced in time" in w for w in said), said      # the spectra's warning
    np.testing.assert_allclose(src.times, times, rtol=1e-9)
    assert src.times[-1] == pytest.approx(0.3)


def test_restart_checkpoint_with_another_step_warned_of_without_a_time_column(tmp_path):
    """No time column to take the times from, but i-PI's RESTART beside, newer than the input, states 2 fs against
    the input's 1 fs: warned of (before: the steps x 1 fs, silently)."""
    _run(tmp_path, velocities=False)
    inp = _input(tmp_path, POS + ' <trajectory filename="for"> forces </trajectory>')
    restart = tmp_path / "RESTART"
    restart.write_text(inp.read_text().replace('<timestep units="femtosecond"> 1.0 </timestep>',
                                               "<timestep> 8.26827460e+01 </timestep>"))       # 2 fs, atomic units
    t = os.stat(inp).st_mtime
    os.utime(restart, (t + 10.0, t + 10.0))
    with pytest.warns(UserWarning, match=r"RESTART states a time step of 2 fs, .*input\.xml 1 fs: the run was "
                                         r"restarted with another time step"):
        open_source(str(tmp_path / "sim.pos_0.xyz"))
    from trajmodes.workflows.watch_frames import ipi_timestep                   # the watch counts the steps too
    with pytest.warns(UserWarning, match=r"restarted with another time step.*the times, --every and the predicted "
                                         r"lengths of this watch count the steps with the input's step"):
        assert ipi_timestep(str(tmp_path / "sim.pos_0.xyz")) == pytest.approx(1e-3)
    os.utime(restart, (t - 10.0, t - 10.0))                   # older than the input: the input's run came after
    open_source(str(tmp_path / "sim.pos_0.xyz"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ipi_timestep(str(tmp_path / "sim.pos_0.xyz")) == pytest.approx(1e-3)


def test_times_unchanged_where_the_properties_agree_with_the_input(tmp_path):
    run = _run(tmp_path, n_frames=12, velocities=False)
    _input(tmp_path, POS + ' <trajectory filename="for"> forces </trajectory>')
    _properties(tmp_path / "sim.out", run["steps"], [s * 1e-3 for s in run["steps"]], [50.0] * 12)
    src = open_source(str(tmp_path / "sim.pos_0.xyz"))
    assert src.time_axis.startswith("MD steps x timestep 0.001 ps from the <timestep> of the i-PI input")


# ----------------------------------------------------------------------------- I13: --masses per type
def test_masses_per_type_map_onto_the_species(tmp_path):
    """``--masses 63.546`` (the CLI's per-type list) on an argon i-PI run: one mass for its one species (before: the
    one-element list taken as the per-atom masses, a crash further on)."""
    _run(tmp_path, velocities=False)
    src = _open(tmp_path / "sim.pos_0.xyz", masses=[63.546])
    assert src.masses.shape == (32,)
    np.testing.assert_allclose(src.masses, 63.546)
    with pytest.raises(ValueError, match=r"2 masses given, but the file names 1 species \(Ar\) of 32 atoms"):
        _open(tmp_path / "sim.pos_0.xyz", masses=[63.546, 1.0])
    with pytest.raises(ValueError, match=r"no mass given for Ar"):
        _open(tmp_path / "sim.pos_0.xyz", masses={"Cu": 63.546})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(_open(tmp_path / "sim.pos_0.xyz", masses={"Ar": 40.0}).masses, 40.0)


# ----------------------------------------------------------------------------- files written at other strides
def _keep(path: Path, keep) -> None:
    """The i-PI file ``path`` rewritten with only its frames ``keep`` (indices)."""
    lines = path.read_text().splitlines()
    n = int(lines[0]) + 2
    path.write_text("".join("\n".join(lines[k * n:(k + 1) * n]) + "\n" for k in keep))


def test_forces_at_a_multiple_of_the_positions_stride_are_read_on_their_common_steps(tmp_path):
    """Forces every 10 steps, positions and velocities every 5: the frames with forces are read (6 of 12), the unused
    share said as the watch says it (before: refused, "it has no frame of step 5"; the watch fitted them)."""
    run = _run(tmp_path)
    _keep(run["files"]["forces"], range(0, 12, 2))
    with pytest.warns(UserWarning, match=r"sim.for_0.xyz is written every 10 steps, the positions every 5: only the "
                                         r"steps with forces are fitted, and 6 of the positions' 12 frames \(50%\) "
                                         r"are unused; give the forces <trajectory> of the i-PI input the positions' "
                                         r"stride=\"5\""):
        src = _open(tmp_path / "sim.pos_0.xyz")
    assert src.n_frames == 6 and src.steps.tolist() == list(range(0, 60, 10))
    got = src.read(np.arange(6))
    np.testing.assert_allclose(got["positions"], _sites() + run["u"][::2], atol=1e-8)
    np.testing.assert_allclose(got["forces"], -run["u"][::2], atol=1e-8)
    np.testing.assert_allclose(got["velocities"], run["v"][::2], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(src.times, np.arange(6) * 10e-3, atol=1e-12)
    assert src.read([4, 1])["forces"][0] == pytest.approx(-run["u"][8])


def test_forces_at_another_stride_are_refused_naming_both(tmp_path):
    """Positions every 10 steps, forces every 15: refused naming both strides and the stride to set, as the watch
    refuses them."""
    run = _run(tmp_path, n_frames=12, stride=5)
    _keep(run["files"]["positions"], range(0, 12, 2))
    _keep(run["files"]["forces"], range(0, 12, 3))
    with pytest.raises(TrajectoryFormatError, match=r"sim.for_0.xyz is written every 15 steps and sim.pos_0.xyz every "
                                                    r"10: the forces' stride is not a multiple .* set the stride "
                                                    r"attribute of the forces <trajectory> in the i-PI input to 10"):
        _open(tmp_path / "sim.pos_0.xyz")


def test_velocities_of_another_stride_are_left_out_forces_of_a_multiple_kept(tmp_path):
    """Positions every 2 steps, velocities every 4, forces every 6 (the red-team's run): the steps with forces are read
    (every 6), the velocities, which lack step 6, left out with the temperature unknown, as the watch does (before:
    refused)."""
    run = _run(tmp_path, n_frames=24, stride=2)
    _keep(run["files"]["velocities"], range(0, 24, 2))
    _keep(run["files"]["forces"], range(0, 24, 3))
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        src = _open(tmp_path / "sim.pos_0.xyz")
    said = [str(w.message) for w in said]
    assert any("sim.for_0.xyz is written every 6 steps, the positions every 2: only the steps with forces are fitted, "
               "and 16 of the positions' 24 frames (67%) are unused" in w for w in said), said
    assert any("sim.vel_0.xyz is written every 4 steps, the positions every 2: the temperature is left unknown" in w
               and 'stride="2"' in w for w in said), said
    assert src.fields == ("positions", "forces") and src.steps.tolist() == list(range(0, 48, 6))
    np.testing.assert_allclose(src.read(np.arange(8))["forces"], -run["u"][::3], atol=1e-8)


def test_times_between_properties_rows_of_another_stride_after_a_restart(tmp_path):
    """The properties written every 10 steps, the positions every 5, the run restarted at step 100 with 2 fs instead
    of 1 fs: every frame's time is the properties' (between two rows on the line through them), as where the rows
    are every frame's (before: no row at step 5, so the steps x 1 fs throughout: 0.2 ps instead of 0.3 ps)."""
    run = _run(tmp_path, n_frames=41, velocities=False)
    _input(tmp_path, POS + ' <trajectory filename="for"> forces </trajectory> <properties filename="out"> [ step, '
                           'time{picosecond}, temperature{kelvin} ] </properties>')
    steps = np.array(run["steps"])
    times = np.where(steps <= 100, steps * 1e-3, 0.1 + (steps - 100) * 2e-3)
    _properties(tmp_path / "sim.out", steps[::2], times[::2], [50.0] * len(steps[::2]))
    with pytest.warns(UserWarning, match=r"the run changed its time step"):
        src = open_source(str(tmp_path / "sim.pos_0.xyz"))
    np.testing.assert_allclose(src.times, times, rtol=1e-9)


def test_the_ensemble_and_thermostat_of_the_input_as_ipi_defines_them(tmp_path):
    """Whether the run keeps its energy, from <dynamics mode> and <thermostat mode> as i-PI's integrators apply them
    (an NVE integrator ignores a thermostat; i-PI's default thermostat does nothing)."""
    from trajmodes.io.trajectories.ipi_files import read_ipi_input
    inp = _input(tmp_path, POS)
    text = inp.read_text()

    def said(dynamics: str):
        inp.write_text(text.replace('<dynamics mode="nvt">', dynamics))
        got = read_ipi_input(str(inp))
        return got.ensemble, got.thermostat, got.energy_conserved
    assert said('<dynamics mode="nvt">') == ("nvt", "", True)
    assert said('<dynamics mode="nvt"> <thermostat mode="langevin"> <tau> 100 </tau> </thermostat>') == (
        "nvt", "langevin", False)
    assert said('<dynamics mode="nve"> <thermostat mode="svr"> </thermostat>') == ("nve", "svr", True)
    assert said("<dynamics>") == ("nve", "", True)
    assert said('<dynamics mode="npt">') == ("npt", "", None)
    assert said('<dynamics mode="npt"> <thermostat mode="pile_l"> </thermostat>')[2] is False
    inp.write_text(text.replace('<motion mode="dynamics">', '<motion mode="replay">'))
    assert read_ipi_input(str(inp)).energy_conserved is None


def test_times_of_a_run_whose_time_step_is_not_the_inputs(tmp_path):
    """The properties' time goes 2 fs a step throughout while the input beside states 1 fs (an input edited after the
    run): the frames' times are the properties file's, said, as ``trajmodes watch`` takes them (before: the steps x
    the input's 1 fs, silently)."""
    run = _run(tmp_path, n_frames=12, velocities=False)
    _input(tmp_path, POS + ' <trajectory filename="for"> forces </trajectory>')
    steps = np.array(run["steps"])
    _properties(tmp_path / "sim.out", steps, steps * 2e-3, [50.0] * 12)
    with pytest.warns(UserWarning, match=r"not their steps x the time step 0.001 ps of the <timestep> of the i-PI "
                                         r"input .*: the run's time step throughout is not that one"):
        src = open_source(str(tmp_path / "sim.pos_0.xyz"))
    np.testing.assert_allclose(src.times, steps * 2e-3, rtol=1e-9)
