"""The chunked netCDF4 cache: exact round trip, reference carried, atomic writes."""

import netCDF4
import numpy as np
import pytest

import trajmodes
from tests.support.paths import EXAMPLES

EX = EXAMPLES
CU = EX / "cu_fcc_300K.lammpstrj.gz"
CU_DATA = EX / "cu_fcc_4x4x4.data"


@pytest.fixture(scope="module")
def cu():
    return trajmodes.read(CU, reference=CU_DATA)


def test_round_trip_is_exact(cu, tmp_path):
    out = tmp_path / "cu.nc"
    cu.to_netcdf(out)
    back = trajmodes.read(out)
    assert back.n_frames == 200 and back.n_atoms == 256
    for f in ("positions", "velocities", "forces", "cells"):
        assert np.array_equal(getattr(back, f).compute(), getattr(cu, f).compute()), f
    assert np.array_equal(back.times, cu.times) and np.array_equal(back.steps, cu.steps)
    assert np.array_equal(back.reference.positions, cu.reference.positions)
    assert list(back.species) == ["Cu"] * 256 and np.allclose(back.masses, 63.55)
    assert np.array_equal(back.displacements().compute(), cu.displacements().compute())


def test_dimensions_named_as_every_result(cu, tmp_path):
    """Frames are the time axis (with its coordinate in ps), the Cartesian axis is "cartesian", as in every
    trajmodes dataset; xarray reads the cache as such."""
    import xarray as xr
    out = tmp_path / "cu.nc"
    cu[:10].to_netcdf(out)
    with xr.open_dataset(out) as ds:
        assert ds["positions"].dims == ("time", "atom", "cartesian")
        assert ds["cells"].dims == ("time", "cell_vector", "cartesian")
        np.testing.assert_array_equal(ds["time"].values, cu.times[:10])
        assert ds.attrs["trajmodes_format_version"] == 3


def test_version_1_cache_reads_the_same(cu, tmp_path):
    """A cache written before the dimensions were renamed (frame, spatial) reads back unchanged."""
    out = tmp_path / "cu.nc"
    cu[:20].to_netcdf(out)
    with netCDF4.Dataset(out, "a") as ds:
        ds.renameDimension("time", "frame")
        ds.renameDimension("cartesian", "spatial")
        ds.trajmodes_format_version = 1
    with netCDF4.Dataset(out) as ds:
        assert set(ds.dimensions) >= {"frame", "spatial"} and "time" not in ds.dimensions
    back = trajmodes.read(out)
    assert back.n_frames == 20
    for f in ("positions", "velocities", "forces", "cells"):
        assert np.array_equal(getattr(back, f).compute(), getattr(cu[:20], f).compute()), f
    assert np.array_equal(back.times, cu.times[:20])


def test_layout_chunks_and_units(cu, tmp_path):
    out = tmp_path / "cu.nc"
    cu.to_netcdf(out)
    with netCDF4.Dataset(out) as ds:
        assert ds.variables["positions"].chunking() == [200, 256, 3]
        assert ds.variables["forces"].units == "eV/Angstrom"
        assert ds.variables["velocities"].units == "Angstrom/ps"
        assert ds.variables["time"].units == "ps"
        assert ds.trajmodes_format == "trajmodes-trajectory"


def test_displacements_stored_exactly(cu, tmp_path):
    out = tmp_path / "u.nc"
    cu[::3].to_netcdf(out, displacements=True)
    back = trajmodes.read(out)
    assert np.array_equal(back.displacements().compute(), cu.displacements().compute()[::3])
    with netCDF4.Dataset(out) as ds:
        assert "displacements" in ds.variables and "positions" not in ds.variables


def test_failed_write_leaves_no_file(cu, tmp_path, monkeypatch):
    out = tmp_path / "bad.nc"

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr("trajmodes.io.trajectories.netcdf.define_cache", boom)
    with pytest.raises(RuntimeError):
        cu.to_netcdf(out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_outputs_get_the_usual_file_mode(cu, tmp_path):
    import os
    out = tmp_path / "mode.nc"
    old = os.umask(0o022)
    try:
        cu[:5].to_netcdf(out)
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o644
