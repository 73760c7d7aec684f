"""Welch mode spectra: Parseval normalisation, chunk-independence, bounded memory."""
from __future__ import annotations

import numpy as np
import pytest

import trajmodes
from tests.support.paths import EXAMPLES
from tests.support.spectra import modes_dataset
from trajmodes.units import AMU_A2_PS2_EV


def noise(nt, nq=2, nb=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(nt, nq, nb)) + 1j * rng.normal(size=(nt, nq, nb))


def test_parseval_boxcar_exact():
    x = noise(4000)
    ds = modes_dataset(x, 0.005, chunk=700)
    s = trajmodes.mode_spectra(ds, resolution=0.5, window="boxcar", overlap=0.0)
    n_seg = s.attrs["segment_frames"]
    assert n_seg == 400 and s.attrs["n_segments"] == 10
    df = float(s.frequency[1] - s.frequency[0])
    integral = s["psd"].sum("frequency").values * df
    expect = 0.5 * AMU_A2_PS2_EV * np.mean(np.abs(x[:4000]) ** 2, axis=0)
    np.testing.assert_allclose(integral, expect, rtol=1e-10)
    assert s["psd"].attrs["units"] == "eV/THz"
    np.testing.assert_allclose(float(s["vdos"].sum()) * df, 1.0, rtol=1e-12)
    np.testing.assert_allclose(s["sed"].values, s["psd"].sum("branch").values)


def test_parseval_hann_in_expectation():
    x = noise(20000, seed=1)
    s = trajmodes.mode_spectra(modes_dataset(x, 0.005, chunk=3000), resolution=1.0)
    df = float(s.frequency[1] - s.frequency[0])
    ratio = s["psd"].sum("frequency").values * df / (0.5 * AMU_A2_PS2_EV * np.mean(np.abs(x) ** 2, axis=0))
    np.testing.assert_allclose(ratio, 1.0, atol=0.02)
    # white noise: flat two-sided density 2 sigma^2 dt, folded x2 except the 0 and Nyquist bins
    inner = s["psd"].isel(frequency=slice(1, -1)).mean().item()
    np.testing.assert_allclose(inner, 0.5 * AMU_A2_PS2_EV * 2 * 2 * 0.005, rtol=0.02)


def test_running_wave_power_at_one_sign():
    dt, nt = 0.005, 8000
    t = np.arange(nt) * dt
    x = np.exp(-2j * np.pi * 10.0 * t)[:, None, None] * np.ones((1, 1, 1))
    s = trajmodes.mode_spectra(modes_dataset(x, dt), resolution=0.1)
    peak = float(s.frequency[int(np.argmax(s["psd"].values[0, 0]))])
    assert abs(peak - 10.0) < 0.1


def test_chunking_independent_and_bounded():
    x = noise(9000, seed=2)
    results = []
    for chunk in (1000, 2345, 9000):
        s = trajmodes.mode_spectra(modes_dataset(x, 0.005, chunk=chunk), resolution=0.5)
        results.append(s)
        # the per-task time chunk is set by the input chunk and the segment only (at least one segment)
        assert s.attrs["time_chunk_frames"] == max(chunk, s.attrs["segment_frames"])
    for s in results[1:]:
        np.testing.assert_allclose(s["psd"].values, results[0]["psd"].values, rtol=1e-10, atol=0)
        np.testing.assert_allclose(s["psd_segments_std"].values, results[0]["psd_segments_std"].values,
                                   rtol=1e-8)
    # same input chunk, 4x longer trajectory: same per-task chunk, more segments
    long = trajmodes.mode_spectra(modes_dataset(noise(36000, seed=3), 0.005, chunk=1000), resolution=0.5)
    assert long.attrs["time_chunk_frames"] == results[0].attrs["time_chunk_frames"]
    assert long.attrs["n_segments"] > 3 * results[0].attrs["n_segments"]


def test_numpy_backed_matches_dask():
    x = noise(3000, seed=4)
    ds = modes_dataset(x, 0.005, chunk=500)
    a = trajmodes.mode_spectra(ds, resolution=1.0)
    b = trajmodes.mode_spectra(ds.compute(), resolution=1.0)
    np.testing.assert_allclose(a["psd"].values, b["psd"].values, rtol=1e-12)


def test_full_resolution_parseval():
    x = noise(3000, seed=5)
    s = trajmodes.mode_spectra(modes_dataset(x, 0.005, chunk=500), full=True, window="boxcar")
    assert s.attrs["n_segments"] == 1 and s.sizes["frequency"] == 1501
    df = float(s.frequency[1])
    np.testing.assert_allclose(s["psd"].sum("frequency").values * df,
                               0.5 * AMU_A2_PS2_EV * np.mean(np.abs(x) ** 2, axis=0), rtol=1e-10)


@pytest.mark.parametrize("full", [True, False])
def test_lazy_spectra_in_blocks_of_q(full):
    """A lazy input is computed a block of q-points at a time (``memory``: here one or two q per block) and gives the
    in-memory answer, whatever the block."""
    x = noise(2001, nq=6, seed=6)
    ds = modes_dataset(x, 0.005, chunk=333)
    b = trajmodes.mode_spectra(ds.compute(), full=full, resolution=0.5)
    for memory in (1.0, 16 * 3 * 2001 * 3.0, None):
        a = trajmodes.mode_spectra(ds, full=full, memory=memory, resolution=0.5)
        np.testing.assert_allclose(a["psd"].values, b["psd"].values, rtol=1e-12)
        np.testing.assert_allclose(a["psd_segments_std"].values, b["psd_segments_std"].values, rtol=1e-12)
        assert a.attrs["q_blocks"] == {1.0: ds.sizes["q"], None: 1}.get(memory, a.attrs["q_blocks"])
        assert (a.attrs["q_blocks"] > 1) == (memory is not None)


def test_result_too_large_for_memory_is_refused(monkeypatch):
    """The result (q, branch, frequency) is estimated before the first pass: one line naming what to choose."""
    import trajmodes.resources as resources
    monkeypatch.setattr(resources, "available_memory", lambda: 10_000)
    ds = modes_dataset(noise(400, seed=2), 0.005, chunk=100)
    with pytest.raises(MemoryError, match="fewer q-points .*--path, --qpoints, --q-max or --q-count.* Welch"):
        trajmodes.mode_spectra(ds, full=True)
    from trajmodes.workflows import modes_dataset as merged
    with pytest.raises(MemoryError, match=r"spectra of 6 modes x 201 frequency bins .* coarser resolution"):
        merged(ds, resolution=0.01)


def test_full_resolution_of_a_netcdf_trajectory(tmp_path, cu_eam_phonons):
    """Blocks of q of a netCDF trajectory: each a pass over the file, nothing written beside it."""
    md = EXAMPLES
    traj = trajmodes.read(str(md / "md" / "cu_300K.lammpstrj.gz"), reference=str(md / "md" / "cu_300K.data"))
    traj[:120].to_netcdf(tmp_path / "run.nc")
    ph = cu_eam_phonons
    modes = trajmodes.project(trajmodes.read(str(tmp_path / "run.nc"), chunk_frames=17), ph)
    a = trajmodes.mode_spectra(modes, full=True, memory=4e5)
    b = trajmodes.mode_spectra(modes.compute(), full=True)
    assert a.attrs["q_blocks"] > 1
    np.testing.assert_allclose(a["psd"].values, b["psd"].values, rtol=1e-12, atol=1e-30)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.nc"]


def test_rejects_nonuniform_time():
    ds = modes_dataset(noise(100), 0.005)
    t = ds.time.values.copy()
    t[50:] += 0.001
    with pytest.raises(ValueError, match="uniform"):
        trajmodes.mode_spectra(ds.assign_coords(time=t), resolution=1.0)
