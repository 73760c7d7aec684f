"""Runs made with ASE as users of machine-learned potentials make them: the time axis of ASE's own ``.traj`` and the
unit of velocities ASE writes.

The runs (module fixture): fcc Cu (2x2x2 conventional cells, 32 atoms) with ASE's EMT as the stand-in potential,
thermalised with Langevin at 300 K, then VelocityVerlet at 2 fs, a frame every 5 steps, written by the dynamics' own
``trajectory=... , loginterval=5`` (whose header ASE fills with ``{'type': 'molecular-dynamics', 'md-type':
'VelocityVerlet', 'timestep': 0.19645 (ASE time units), 'interval': 5}``) and, the same frames, by
``dyn.attach(Trajectory(...).write, interval=5)`` (no description). Langevin and NVTBerendsen runs write their own
``.traj`` the first way. An extended XYZ file holds the same frames with ``atoms.get_velocities()`` (A per ASE time
unit, 98.2 times smaller than A/ps) as its velocity column and the forces, as a user converting by hand writes it.

What each test checks: the description gives the frames' times (10 fs apart; ``--md-timestep`` works with its
interval); a file with no times keeps the announced assumption, refuses ``--md-timestep`` and says so under
summary.png's time axis; a time axis given for a ``.traj`` is checked against its velocities (``--frame-interval
0.001`` refused, as for the same frames in extended XYZ); ASE's velocity unit has a name (``--units metal:A/ase``)
that the time-scale check advises; and without a time axis the kinetic temperature is checked against the
configurational one of the displacements and forces (a unit error refused, the real runs within a few per cent).
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

ase = pytest.importorskip("ase")
from ase import units as ase_units  # noqa: E402

import trajmodes  # noqa: E402
from trajmodes.cli import main  # noqa: E402
from trajmodes.errors import TrajectoryFormatError  # noqa: E402
from trajmodes.trajectory.summary import TEMPERATURE_RATIO, summarize  # noqa: E402
from trajmodes.units import NATURAL_TIME_PS  # noqa: E402

DT_FS, EVERY, STEPS = 2.0, 5, 200          # frames 10 fs apart, 41 frames
FRAME_PS = DT_FS * EVERY * 1e-3


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """name -> path of the ASE runs and the extended XYZ file written from them."""
    import ase.io
    from ase import Atoms
    from ase.build import bulk
    from ase.calculators.emt import EMT
    from ase.io.trajectory import Trajectory
    from ase.md.langevin import Langevin
    from ase.md.nvtberendsen import NVTBerendsen
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
    from ase.md.verlet import VelocityVerlet
    d = tmp_path_factory.mktemp("ase_md_times")
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((2, 2, 2))
    atoms.calc = EMT()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # ASE's own deprecations (fixcm of Langevin), not ours
        MaxwellBoltzmannDistribution(atoms, temperature_K=600, rng=np.random.default_rng(7))
        Stationary(atoms)
        files = {"langevin": d / "langevin.traj", "berendsen": d / "berendsen.traj", "md": d / "md.traj",
                 "attach": d / "attach.traj", "xyz": d / "ase_velocities.xyz"}
        with Langevin(atoms, timestep=DT_FS * ase_units.fs, temperature_K=300, friction=0.02,
                      rng=np.random.default_rng(8), trajectory=str(files["langevin"]), loginterval=EVERY) as dyn:
            dyn.run(200)
        with NVTBerendsen(atoms, timestep=DT_FS * ase_units.fs, temperature_K=300, taut=100 * ase_units.fs,
                          trajectory=str(files["berendsen"]), loginterval=EVERY) as dyn:
            dyn.run(30)
        with VelocityVerlet(atoms, timestep=DT_FS * ase_units.fs, trajectory=str(files["md"]),
                            loginterval=EVERY) as dyn, Trajectory(str(files["attach"]), "w", atoms) as traj:
            dyn.attach(traj.write, interval=EVERY)
            dyn.run(STEPS)
        images = ase.io.read(files["md"], ":")
    out = []
    for im in images:                         # the velocity ASE gives, written as a velocity column
        b = Atoms(im.symbols, positions=im.positions, cell=im.cell, pbc=True)
        b.new_array("vel", im.get_velocities())
        b.new_array("frc", im.get_forces())
        out.append(b)
    ase.io.write(files["xyz"], out, format="extxyz")
    text = files["xyz"].read_text().replace(":vel:R:3", ":velocities:R:3").replace(":frc:R:3", ":forces:R:3")
    files["xyz"].write_text(text)
    return {k: str(v) for k, v in files.items()}


def _error(capsys, *must) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("trajmodes: error: ")]
    assert len(lines) == 1 and all(m in lines[0] for m in must), err
    return lines[0]


# ---------------------------------------------------------------- 1. the description's time step and interval
def test_ase_writes_its_time_step_and_interval(runs):
    """What current ASE writes (the fixture's runs): the MD's time step in ASE units and the interval."""
    from ase.io.trajectory import TrajectoryReader
    with TrajectoryReader(runs["md"]) as r:
        assert r.description["md-type"] == "VelocityVerlet" and r.description["interval"] == EVERY
        assert r.description["timestep"] == pytest.approx(DT_FS * ase_units.fs, rel=1e-12)
    with TrajectoryReader(runs["attach"]) as r:
        assert not r.description                    # dyn.attach(traj.write): no description


@pytest.mark.parametrize("name, md_type", [("md", "VelocityVerlet"), ("langevin", "Langevin"),
                                           ("berendsen", "NVTBerendsen")])
def test_description_gives_the_frame_times(runs, name, md_type):
    traj = trajmodes.read(runs[name])              # no warning: nothing assumed
    # ASE's time unit from its CODATA 2014 constants, trajmodes' from CODATA 2018: 3.9e-9 apart
    assert traj.frame_interval == pytest.approx(FRAME_PS, rel=1e-8)
    assert traj.md_timestep == pytest.approx(DT_FS * 1e-3, rel=1e-8)
    assert traj.steps[1] - traj.steps[0] == EVERY
    assert "description" in traj.time_axis and md_type in traj.time_axis and not traj.time_axis.startswith("ASSUMED")


def test_cli_md_timestep_works_with_the_description_interval(runs, capsys):
    assert main(["info", runs["md"], "--md-timestep", str(DT_FS * 1e-3)]) == 0
    out = capsys.readouterr().out
    assert "0.01 ps between frames" in out and "md_timestep 0.002 ps (given)" in out
    assert main(["info", runs["md"]]) == 0
    assert "0.01 ps between frames" in capsys.readouterr().out


def test_file_without_times_is_announced_not_hidden(runs, capsys, tmp_path):
    """dyn.attach(traj.write): the file has no times. The assumption is announced (as for an extended XYZ file
    without time=), --md-timestep is refused (no step numbers), --frame-interval works, and summary.nc says the time
    axis is assumed (summary.png writes it under the axis)."""
    assert main(["run", runs["attach"], "--no-fit", "-o", str(tmp_path / "out")]) == 0
    assert "gives no times; ASSUMED 1 ps between frames" in capsys.readouterr().err      # the CLI says its warnings
    import xarray as xr
    with xr.open_dataset(tmp_path / "out" / "summary.nc") as s:
        assert s.time.attrs["time_axis"].startswith("ASSUMED")
    assert main(["info", runs["attach"], "--md-timestep", "0.002"]) == 2
    _error(capsys, "attach.traj", "md_timestep", "frame_interval")
    assert main(["info", runs["attach"], "--frame-interval", str(FRAME_PS)]) == 0
    assert "frame_interval 0.01 ps (given)" in capsys.readouterr().out


def test_description_without_interval_says_what_is_missing(runs, tmp_path):
    """A description with the time step but no interval (frames written by an observer of one's own beside a
    described header): the step is not taken for the frame interval; the warning names the time step and asks for
    the interval."""
    from ase.io.trajectory import Trajectory, TrajectoryReader
    path = tmp_path / "no_interval.traj"
    with TrajectoryReader(runs["attach"]) as r, Trajectory(str(path), "w") as w:
        w.set_description({"type": "molecular-dynamics", "md-type": "VelocityVerlet",
                           "timestep": DT_FS * ase_units.fs})
        for k in range(len(r)):
            w.write(r[k])
    with pytest.warns(UserWarning) as said:
        traj = trajmodes.read(path)
    assert traj.time_axis.startswith("ASSUMED")
    assert any("2 fs, but not how many steps lie between frames" in str(w.message) for w in said)
    assert trajmodes.read(path, frame_interval=FRAME_PS).frame_interval == pytest.approx(FRAME_PS)


# ---------------------------------------------------------------- 2. a time axis given is checked
@pytest.mark.parametrize("name", ["md", "attach"])
def test_wrong_frame_interval_for_traj_is_refused(runs, capsys, tmp_path, name):
    """--frame-interval 0.001 for frames 10 fs apart gave peaks 10 times too high; the same frames in extended XYZ
    were refused: the .traj is now too, by the same check, before any projection."""
    assert main(["project", runs[name], "--frame-interval", "0.001", "--force-constants",
                 str(tmp_path / "fc.nc"), "-o", str(tmp_path / "p")]) == 2
    _error(capsys, f"{name}.traj", "velocities and the frame times disagree", "frame_interval")
    with pytest.raises(TrajectoryFormatError, match="disagree"):
        trajmodes.read(runs[name], md_timestep=0.0002) if name == "md" else \
            trajmodes.read(runs[name], frame_interval=0.001)


def test_right_frame_interval_passes_the_check(runs):
    traj = trajmodes.read(runs["attach"], frame_interval=FRAME_PS)
    assert traj.frame_interval == pytest.approx(FRAME_PS)


# ---------------------------------------------------------------- 3. ASE's velocity unit
def test_time_scale_check_advises_ase_velocity_unit(runs, capsys):
    """Velocities in A per ASE time unit with the right frame interval: the ratio (about 98) points to ASE's unit,
    and the unit advised reads the file right."""
    assert main(["info", runs["xyz"], "--frame-interval", str(FRAME_PS)]) == 2
    line = _error(capsys, "ase_velocities.xyz", "velocities and the frame times disagree", "--units metal:A/ase")
    assert any(0.5 / NATURAL_TIME_PS < float(x) < 2 / NATURAL_TIME_PS for x in re.findall(r"([\d.]+) times", line))
    assert main(["info", runs["xyz"], "--frame-interval", str(FRAME_PS), "--units", "metal:A/ase"]) == 0
    xyz = trajmodes.read(runs["xyz"], frame_interval=FRAME_PS, units="metal:A/ase")
    traj = trajmodes.read(runs["md"])
    np.testing.assert_allclose(xyz.velocities[:3].compute(), traj.velocities[:3].compute(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("units, ratio", [(None, NATURAL_TIME_PS ** 2), ("metal:A/fs", (NATURAL_TIME_PS / 1e-3) ** 2)])
def test_kinetic_against_configurational_temperature_without_times(runs, capsys, tmp_path, units, ratio):
    """No time axis: the time-scale check cannot see the velocities' unit (with 1 ps assumed per frame, both errors
    cancel), so the run said 0.03 K, titled its phonons 0 K and calibrated its error bars on it. The kinetic
    temperature is checked against the configurational one of the displacements and forces, which needs no time:
    refused, naming both temperatures and the unit to state."""
    args = ["info", runs["xyz"]] + (["--units", units] if units else [])
    assert main(args) == 2
    line = _error(capsys, "ase_velocities.xyz", "configurational temperature", "--units metal:A/ase")
    got = float(line.split(" K, is ")[1].split(" times")[0])
    assert got == pytest.approx(ratio, rel=0.15)
    assert not TEMPERATURE_RATIO[0] <= got <= TEMPERATURE_RATIO[1]
    if units is None:                          # run: refused before its fit (no fc.png titled 0 K, no error bars)
        assert main(["run", runs["xyz"], "-o", str(tmp_path / "r")]) == 2
        _error(capsys, "configurational temperature", "--units metal:A/ase")
        assert not list((tmp_path / "r").glob("fc*"))
    assert main(["info", runs["xyz"], "--units", "metal:A/ase"]) == 0
    out = capsys.readouterr().out
    kinetic = float(out.split("temperature: ")[1].split(" ")[0])
    conf = float(out.split("K configurational")[0].split()[-1])
    assert 0.8 < kinetic / conf < 1.25


@pytest.mark.parametrize("name", ["md", "langevin"])
def test_configurational_temperature_of_real_runs(runs, name):
    """The measured ratio on ASE's runs, against which TEMPERATURE_RATIO is chosen (a unit error gives 104 to 1e6)."""
    s = summarize(trajmodes.read(runs[name]))
    ratio = float(s.temperature.mean()) / float(s.configurational_temperature)
    assert 0.8 < ratio < 1.25, ratio
    assert s.configurational_temperature.attrs["correlation"] < -0.3
