"""Tests of the MDAnalysis frame source."""
from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

MDAnalysis = pytest.importorskip("MDAnalysis")
from MDAnalysis.coordinates.memory import MemoryReader  # noqa: E402

from tests.support.paths import DATA
from trajmodes import units  # noqa: E402
from trajmodes.errors import UnitsWarning  # noqa: E402
from trajmodes.io.trajectories.mdanalysis import MDAnalysisSource  # noqa: E402

N_ATOMS, N_FRAMES = 6, 5
DIMS = np.array([10.0, 11.0, 12.0, 80.0, 95.0, 100.0])


def _data(seed=0):
    rng = np.random.default_rng(seed)
    shape = (N_FRAMES, N_ATOMS, 3)
    return (rng.uniform(0, 9, shape), rng.normal(0, 5, shape), rng.normal(0, 2, shape))


def _memory_universe(ids=None):
    pos, vel, frc = _data()
    u = MDAnalysis.Universe.empty(N_ATOMS, trajectory=False)
    u.add_TopologyAttr("type", ["1", "2"] * (N_ATOMS // 2))
    u.add_TopologyAttr("elements", ["Cu", "Au"] * (N_ATOMS // 2))
    u.add_TopologyAttr("masses", [63.546, 196.97] * (N_ATOMS // 2))
    if ids is not None:
        u.add_TopologyAttr("id", ids)
    u.load_new(pos.astype(np.float32), format=MemoryReader, dt=0.02,
               dimensions=np.tile(DIMS, (N_FRAMES, 1)), velocities=vel.astype(np.float32),
               forces=frc.astype(np.float32))
    return u, pos.astype(np.float32), vel.astype(np.float32), frc.astype(np.float32)


def test_memory_universe():
    u, pos, vel, frc = _memory_universe()
    src = MDAnalysisSource(u)
    assert (src.n_frames, src.n_atoms) == (N_FRAMES, N_ATOMS)
    assert src.fields == ("positions", "velocities", "forces") and src.has_cell
    assert list(src.species[:2]) == ["Cu", "Au"] and src.masses[1] == pytest.approx(196.97)
    assert np.allclose(src.times, 0.02 * np.arange(N_FRAMES))
    out = src.read(np.arange(N_FRAMES))
    assert np.array_equal(out["positions"], pos)
    assert np.array_equal(out["velocities"], vel)
    assert np.allclose(out["forces"], frc.astype(float) * units.KJMOL_EV, rtol=1e-15)
    cell = out["cells"][0]
    assert np.allclose(np.linalg.norm(cell, axis=1), DIMS[:3], rtol=1e-6)
    assert np.degrees(np.arccos(cell[1] @ cell[2] / 11.0 / 12.0)) == pytest.approx(80.0, abs=1e-4)
    assert np.allclose(cell[0, 1:], 0)


def test_id_order_and_timestep():
    ids = [6, 4, 2, 5, 3, 1]
    u, pos, _, _ = _memory_universe(ids=ids)
    src = MDAnalysisSource(u, frame_interval=0.5)
    order = np.argsort(ids)
    assert np.array_equal(src.ids, np.arange(1, 7))
    assert list(src.species) == list(np.array(["Cu", "Au"] * 3)[order])
    assert np.array_equal(src.read([1, 3])["positions"], pos[[1, 3]][:, order])
    assert np.allclose(src.times, 0.5 * np.arange(N_FRAMES))


def test_trr_file(tmp_path):
    u, pos, vel, frc = _memory_universe()
    pdb, trr = tmp_path / "top.pdb", tmp_path / "traj.trr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u.atoms.write(pdb)
        with MDAnalysis.Writer(str(trr), N_ATOMS) as w:
            for _ in u.trajectory:
                w.write(u.atoms)
        src = MDAnalysisSource([pdb, trr])
    assert src.fields == ("positions", "velocities", "forces")
    assert str(trr) in src.paths and src.token()[2][0][0] in src.paths
    out = src.read(np.arange(N_FRAMES))
    assert np.allclose(out["positions"], pos, atol=1e-5)
    assert np.allclose(out["velocities"], vel, atol=1e-5)
    assert np.allclose(out["forces"], frc * units.KJMOL_EV, atol=1e-6)
    again = pickle.loads(pickle.dumps(src))
    assert np.array_equal(again.read([3, 4])["forces"], out["forces"][3:])


def test_dcd_positions_only(tmp_path):
    u, pos, _, _ = _memory_universe()
    dcd = tmp_path / "traj.dcd"
    with MDAnalysis.Writer(str(dcd), N_ATOMS) as w:
        for _ in u.trajectory:
            w.write(u.atoms)
    u2 = MDAnalysis.Universe(u._topology, str(dcd))
    src = MDAnalysisSource(u2)
    assert src.fields == ("positions",)
    assert np.allclose(src.read([0, 4])["positions"], pos[[0, 4]], atol=1e-5)


@pytest.mark.skipif(not (DATA / "cu32_xu.lammpstrj").exists(), reason="LAMMPS data not made")
@pytest.mark.filterwarnings("ignore:Guessed all Masses", "ignore:Reader has no dt")
def test_real_lammps_dump():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MDAnalysis: no dt in a dump, masses guessed
        src = MDAnalysisSource(DATA / "cu32_xu.lammpstrj", format="LAMMPSDUMP",
                               topology_format="LAMMPSDUMP", frame_interval=0.01, units="metal")
        out = src.read(np.arange(src.n_frames))
    assert (src.n_atoms, src.n_frames) == (32, 20) and src.masses is None
    assert np.allclose(src.times, 0.01 * np.arange(20))
    assert np.allclose(out["cells"], 7.23 * np.eye(3), rtol=1e-7)
    lines = (DATA / "cu32_xu.lammpstrj").read_text().splitlines()
    first = np.array([line.split() for line in lines[9:41]], dtype=float)
    assert np.allclose(out["positions"][0], first[:, 2:5], atol=1e-5)
    assert np.allclose(out["velocities"][0], first[:, 5:8], atol=1e-5)
    assert np.allclose(out["forces"][0], first[:, 8:11], atol=1e-6)  # metal dump: eV/A as is
    with pytest.warns(UnitsWarning, match="units="):
        real = MDAnalysisSource(DATA / "cu32_xu.lammpstrj", format="LAMMPSDUMP",
                                topology_format="LAMMPSDUMP", frame_interval=0.01)
    assert real.units == "metal"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        real = MDAnalysisSource(DATA / "cu32_xu.lammpstrj", format="LAMMPSDUMP",
                                topology_format="LAMMPSDUMP", frame_interval=0.01, units="real")
        got = real.read([0])
    assert real.units == "real"
    assert np.allclose(got["velocities"][0], first[:, 5:8] * 1e3, rtol=1e-6)
    assert np.allclose(got["forces"][0], first[:, 8:11] * units.KCALMOL_EV, atol=1e-7)
