"""Trajectory over LAMMPS dumps: slicing, chunking, references, displacements, parse-once graphs."""
from __future__ import annotations

import dask
import numpy as np
import pytest

from trajmodes.io.trajectories.lammps import LammpsDumpSource

from tests.support.dumps import random_truth, read_quiet, write_dump


@pytest.fixture(scope="module")
def cu(data_dir):
    return read_quiet(data_dir / "cu32_xu.lammpstrj")


@pytest.fixture(scope="module")
def full(cu):
    return {f: getattr(cu, f).compute() for f in ("positions", "velocities", "forces", "cells", "origins")}


# --- displacements -------------------------------------------------------------------------------
def test_displacements_first_frame_reference(cu, full):
    u = cu.displacements().compute()
    assert u.shape == (20, 32, 3)
    assert np.array_equal(u[0], np.zeros((32, 3)))
    np.testing.assert_allclose(u, full["positions"] - full["positions"][0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("wrapped", ["cu32_xs", "cu32_atom", "cu32_x_image", "cu32_xsu_perm"])
def test_displacements_minimum_image_for_wrapped_input(data_dir, wrapped):
    ref = data_dir / "cu32.data"
    a = read_quiet(data_dir / "cu32_xu.lammpstrj", reference=ref).displacements().compute()
    b = read_quiet(data_dir / f"{wrapped}.lammpstrj", reference=ref).displacements().compute()
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-10)
    assert np.sqrt((a ** 2).sum(-1).mean()) < 0.3 and np.abs(a).max() < 0.3


def test_displacements_wrapped_triclinic_synthetic(tmp_path):
    """Wrapped x (no image flags) in a strongly tilted box: displacements equal those of xu."""
    rng = np.random.default_rng(7)
    t = random_truth(rng, 6, 9, triclinic=True)
    t.cells[:] = [[8.0, 0, 0], [3.9, 7.0, 0], [-3.5, 3.2, 6.0]]
    # small thermal motion around fixed sites, crossing the boundaries through the images
    sites = rng.uniform(0, 1, (9, 3))
    frac_u = sites + rng.normal(0, 0.02, (6, 9, 3)) + rng.integers(-2, 3, (6, 9, 3))
    t.images = np.floor(frac_u).astype(int)
    t.frac = frac_u - t.images
    cols_u = ["id", "xu", "yu", "zu"]
    cols_w = ["id", "x", "y", "z"]
    a = read_quiet(write_dump(tmp_path / "u.lammpstrj", t, cols_u)).displacements().compute()
    tw = read_quiet(write_dump(tmp_path / "w.lammpstrj", t, cols_w))
    assert not tw.source.unwrapped
    b = tw.displacements().compute()
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-10)
    # and both equal the known displacement, minimum-imaged
    exact = (frac_u - frac_u[0]) - np.round(frac_u - frac_u[0])
    np.testing.assert_allclose(a, exact @ t.cells[0], rtol=0, atol=1e-10)


def test_reference_average_independent(data_dir, full):
    t = read_quiet(data_dir / "cu32_xs.lammpstrj", reference="average")
    p = t.positions.compute()
    cell = np.diag([7.2300000000000004] * 3)
    d = p - p[0]
    d -= np.round(d / 7.2300000000000004) * 7.2300000000000004
    expect = p[0] + d.mean(axis=0)
    ref = t.reference
    np.testing.assert_allclose(ref.positions, expect, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ref.cell, cell, atol=1e-12)
    u = t.displacements().compute()
    np.testing.assert_allclose(u.mean(axis=0), 0, atol=1e-12)  # the average makes the mean displacement 0
    # the unwrapped file gives the same average (mod the box)
    ru = read_quiet(data_dir / "cu32_xu.lammpstrj", reference="average").reference.positions
    dd = (ru - ref.positions) / 7.2300000000000004
    np.testing.assert_allclose(dd - np.round(dd), 0, atol=1e-12)


def test_reference_from_data_file_and_array(data_dir, full):
    ref = data_dir / "cu32.data"
    t = read_quiet(data_dir / "cu32_xu.lammpstrj", reference=ref)
    r = t.reference
    assert r.n_atoms == 32 and t.species.tolist() == ["Cu"] * 32  # species learnt from the data file
    np.testing.assert_allclose(t.masses, 63.55)
    u = t.displacements().compute()
    assert np.sqrt((u ** 2).sum(-1).mean()) < 0.3
    np.testing.assert_allclose(u, full["positions"] - r.positions, rtol=0, atol=1e-12)  # no wrap needed here
    t2 = read_quiet(data_dir / "cu32_xu.lammpstrj", reference=r.positions)
    assert np.array_equal(t2.displacements().compute(), u)


def test_temperature_cu32(data_dir):
    t = read_quiet(data_dir / "cu32_xu.lammpstrj", masses=[63.55])
    T = t.temperature().compute()
    assert T.mean() == pytest.approx(303, abs=1.0)  # README: mean 303 K, frames 221..363 K
    assert T.min() == pytest.approx(221, abs=1.0) and T.max() == pytest.approx(363, abs=1.0)


# --- one parse per chunk -------------------------------------------------------------------------
def test_positions_and_forces_parse_each_chunk_once(data_dir, monkeypatch):
    calls = []
    real = LammpsDumpSource.read

    def counting(self, frames, fields=None):
        calls.append(tuple(np.asarray(frames).tolist()))
        return real(self, frames, fields)

    monkeypatch.setattr(LammpsDumpSource, "read", counting)
    t = read_quiet(data_dir / "cu32_xu.lammpstrj", chunk_frames=4)
    pos, frc, vel = dask.compute(t.positions, t.forces, t.velocities, scheduler="threads")
    assert pos.shape == frc.shape == vel.shape == (20, 32, 3)
    assert sorted(calls) == [tuple(range(i, i + 4)) for i in range(0, 20, 4)]
    calls.clear()
    dask.compute(t.positions.sum(), t.cells.mean(axis=0), scheduler="sync")
    assert len(calls) == 5


def test_displacements_parse_only_positions(data_dir, monkeypatch):
    asked = []
    real = LammpsDumpSource.read

    def recording(self, frames, fields=None):
        asked.append(fields)
        out = real(self, frames, fields)
        asked.append(tuple(sorted(k for k in out if k not in ("cells", "origins"))))
        return out

    t = read_quiet(data_dir / "cu32_xu.lammpstrj", chunk_frames=5, species=["Cu"])
    full = t.positions.compute()
    ref = t.reference.positions                   # one-frame read of the reference, before recording
    monkeypatch.setattr(LammpsDumpSource, "read", recording)
    u = t.displacements().compute()
    assert set(asked) == {("positions",)}
    np.testing.assert_allclose(u, full - ref[None], rtol=0, atol=1e-12)   # unwrapped input
    asked.clear()
    T = t.temperature().compute()
    assert set(asked) == {("velocities",)} and T.shape == (20,)


def test_int_index_out_of_range(cu):
    with pytest.raises(IndexError):
        cu[20]
    with pytest.raises(IndexError):
        cu[-21]
    assert np.array_equal(cu[-1].positions.compute()[0], cu.positions.compute()[-1])


def test_empty_selection_gives_empty_arrays(cu):
    empty = cu[5:5]
    assert empty.n_frames == 0
    assert empty.positions.compute().shape == (0, 32, 3)


def test_summary_parses_each_chunk_once(data_dir, monkeypatch):
    """Displacement statistics and the temperature of one summary share a single read per chunk."""
    from trajmodes.trajectory.summary import summarize
    calls = []
    real = LammpsDumpSource.read

    def counting(self, frames, fields=None):
        calls.append(fields)
        return real(self, frames, fields)

    t = read_quiet(data_dir / "cu32_xu.lammpstrj", chunk_frames=5, species=["Cu"])
    t.reference                                       # the one-frame reference read, before counting
    monkeypatch.setattr(LammpsDumpSource, "read", counting)
    s = summarize(t)
    # with the forces: the configurational temperature that checks the kinetic one, in the same read
    assert len(calls) == 4 and set(calls) == {("positions", "velocities", "forces")}
    assert s.temperature.shape == (20,)
