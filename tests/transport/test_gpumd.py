"""GPUMD's heat current: its unit, checked against GPUMD's own running conductivity, and its compute.out read with
the run.in and model.xyz beside it."""
import numpy as np
import pytest

from tests.support.paths import DATA
from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.heat_current import GPUMD_VELOCITY, read_heat_current
from trajmodes.transport.cepstral import green_kubo_scale


def test_gpumds_current_unit_gives_its_own_running_conductivity():
    """GPUMD's heat-current correlations (eV^3/amu, its graphene test: 300 K, the cell's 77,966 A^3), times the square
    of its velocity unit in A/ps (98.227: eV^3/amu to (eV A/ps)^2) and integrated with the Green-Kubo scale used here,
    give the running conductivity GPUMD wrote beside them: to 3 % in the median over the rows after 1 ps and 7 % in
    every one (its rows are means over 10 lags, integrated here to their midpoints, its own sum runs over each lag)."""
    d = np.loadtxt(DATA / "gpumd" / "graphene_hac.out")
    t, hac, rtc = d[:, 0], d[:, 1:5], d[:, 6:10]            # x in, x out, y in, y out
    assert GPUMD_VELOCITY == pytest.approx(98.2269, abs=1e-4)
    scale = green_kubo_scale(149.649 * 155.52 * 3.35, 300.0) * GPUMD_VELOCITY ** 2
    dt = t[1] - t[0]
    ours = scale * (np.cumsum(hac, axis=0) - 0.5 * hac) * dt
    ratio = ours[t > 1.0] / rtc[t > 1.0]
    assert np.all(np.abs(np.median(ratio, axis=0) - 1) < 0.03), np.median(ratio, axis=0)
    assert np.all(np.abs(ratio - 1) < 0.07), np.abs(ratio - 1).max()


def _gpumd_run(folder, compute="compute 0 10 5 temperature jp jk", groups=2, rows=6, seed=1):
    rng = np.random.default_rng(seed)
    (folder / "run.in").write_text(f"potential nep.txt\ntime_step 2   # fs\nensemble nve\n{compute}\nrun 100000\n")
    (folder / "model.xyz").write_text('4\npbc="T T T" Lattice="10 0 0 0 11 0 0 0 12" Properties=species:S:1:pos:R:3\n'
                                      + "Si 0 0 0\n" * 4)
    asked = compute.split()[4:]
    temps = rng.uniform(290, 310, (rows, groups))
    jp, jk = rng.normal(size=(rows, 3 * groups)), rng.normal(size=(rows, 3 * groups))
    parts = [temps] + [rng.normal(size=(rows, groups)) for q in asked if q == "potential"] + \
        [jp for q in asked if q == "jp"] + [jk for q in asked if q == "jk"] + [rng.normal(size=(rows, 2))]
    table = np.concatenate(parts, axis=1)
    np.savetxt(folder / "compute.out", table)
    return jp, jk


def test_compute_out_with_its_run_in(tmp_path):
    """jp + jk of every group summed, in eV A/ps; the rows every time_step x sample x output interval (2 fs x 10 x 5
    = 0.1 ps); the volume of model.xyz's lattice; no temperature for two groups (their sizes are not in the file)."""
    jp, jk = _gpumd_run(tmp_path)
    s = read_heat_current(tmp_path / "compute.out")
    want = (jp + jk).reshape(len(jp), 3, 2).sum(axis=2) * GPUMD_VELOCITY
    np.testing.assert_allclose(s.current, want, rtol=1e-12)
    assert s.dt == pytest.approx(0.1) and s.volume == pytest.approx(1320.0) and s.temperature is None
    assert "GPUMD compute.out, jp + jk of 2 group(s)" in s.source
    one = tmp_path / "one"
    one.mkdir()
    jp1, _ = _gpumd_run(one, compute="compute 0 10 5 temperature jp", groups=1)
    s1 = read_heat_current(one / "compute.out")
    np.testing.assert_allclose(s1.current, jp1 * GPUMD_VELOCITY, rtol=1e-12)
    assert s1.temperature is not None and "the potential part alone" in s1.source


def test_compute_out_refused_with_a_reason(tmp_path):
    lone = tmp_path / "lone"
    lone.mkdir()
    (lone / "compute.out").write_text("1 2 3\n")
    with pytest.raises(TrajectoryFormatError, match="with its run.in"):
        read_heat_current(lone / "compute.out")
    nojp = tmp_path / "nojp"
    nojp.mkdir()
    _gpumd_run(nojp, compute="compute 0 10 5 temperature potential")
    with pytest.raises(TrajectoryFormatError, match="no compute line with jp or jk"):
        read_heat_current(nojp / "compute.out")
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    _gpumd_run(wrong)
    np.savetxt(wrong / "compute.out", np.zeros((4, 7)))
    with pytest.raises(TrajectoryFormatError, match="7 columns do not fit the quantities"):
        read_heat_current(wrong / "compute.out")
