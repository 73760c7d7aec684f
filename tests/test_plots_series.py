"""The figure of a temperature series (:func:`trajmodes.plots.series.plot_series`) with the two runs a first study
has: each run a point with its error bar at its temperature, a dashed line between them only as a guide, and no panel
of text only: the shift of every mode per kelvin takes the place a heat capacity of two runs cannot fill."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure

from trajmodes.plots.series import plot_series
from trajmodes.series import mode_slopes


def _two_runs(free_energy: bool = True) -> xr.Dataset:
    """A series dataset of diamond-like runs at 300 K and 1000 K, each at its own volume (one group, as NPT gives):
    Gamma (three acoustic zeros, a triply degenerate optical mode) and X (three distinct branches), a two-segment
    band path; with ``free_energy`` the free energy and entropy of two runs (no heat capacity: it needs three)."""
    T = np.array([300.0, 1000.0])
    gamma = np.array([[0, 0, 0, 15.6, 15.6, 15.6], [0, 0, 0, 15.1, 15.1, 15.1]])
    x = np.array([[4.2, 4.2, 12.0, 12.0, 13.9, 13.9], [4.1, 4.1, 11.7, 11.7, 13.5, 13.5]])
    nu = np.stack([gamma, x], axis=1)                                   # (run, q, branch)
    err = np.full(nu.shape, 0.01)
    err[1] = 0.02
    dist = np.linspace(0, 2, 11)
    path = np.abs(np.sin(dist[None, :, None] + np.arange(6)[None, None, :])) * 15 * np.array([1.0, 0.98])[:, None, None]
    data = dict(temperature=("run", T), volume=("run", [20.1, 20.3]),
                frequency=(("run", "q", "branch"), nu), frequency_err=(("run", "q", "branch"), err),
                error_is_lower_bound=("run", [False, False]), error_model=("run", ["partition", "partition"]),
                path_frequency=(("run", "path_q", "branch"), path))
    if free_energy:
        data.update(free_energy=("run", [-8.60, -9.05]), free_energy_err=("run", [0.001, 0.002]),
                    entropy=("run", [2.8e-4, 9.0e-4]), entropy_err=("run", [1e-5, 1e-5]),
                    harmonic_entropy=("run", [2.7e-4, 9.1e-4]),
                    heat_capacity=("run", [np.nan, np.nan]), harmonic_heat_capacity=("run", [4e-4, 4.1e-4]),
                    reference_harmonic_free_energy=("run", [-8.60, -9.06]))
    return xr.Dataset(data, coords=dict(
        run=[0, 1], qpoint=(("q", "reduced"), [[0, 0, 0], [0.5, 0, 0.5]]), qlabel=("q", ["G", "X"]),
        path_distance=("path_q", dist), path_segment=("path_q", (dist > 1).astype(int))),
        attrs=dict(occupation="classical", path_tick_distance=[0.0, 1.0, 2.0], path_tick_labels="G,X,L"))


def _drawn(a) -> bool:
    return bool(a.lines or a.collections or a.images or a.patches)


@pytest.mark.parametrize("free_energy", [True, False])
def test_two_runs_are_points_with_error_bars_and_no_panel_is_text_only(free_energy):
    ds = _two_runs(free_energy)
    fig = Figure(figsize=(14, 6.5), layout="constrained")
    axes = fig.subplots(2, 4)
    assert plot_series(ds, ax=axes) is fig
    T = ds.temperature.values
    for a in axes[0, :2]:                                              # Gamma and X
        bars = [c for c in a.containers if isinstance(c, ErrorbarContainer)]
        assert bars, f"no error bars in panel {a.get_title()!r}"
        for c in bars:
            line, _, (vertical,) = c.lines
            np.testing.assert_allclose(line.get_xdata(), T)             # one point at each run's temperature
            assert line.get_marker() not in ("", "None", None)
            assert line.get_linestyle() == "--"                         # the line between them a guide
            segments = vertical.get_segments()                          # and an error bar at each point
            assert len(segments) == 2
            np.testing.assert_allclose([s[0][0] for s in segments], T)
            assert all(s[1][1] > s[0][1] for s in segments)
    for a in fig.axes:
        if a.texts:
            assert _drawn(a), f"a panel of text only: {[t.get_text() for t in a.texts]}"
    # the shift per kelvin of every distinct mode, with its error bar, in a panel of its own
    slope = [a for a in fig.axes if "d}T" in a.get_ylabel()]
    assert len(slope) == 1 and slope[0].axison
    bars = [c for c in slope[0].containers if isinstance(c, ErrorbarContainer)]
    y = np.concatenate([c.lines[0].get_ydata() for c in bars])
    np.testing.assert_allclose(np.sort(y), np.sort([-0.5 / 0.7, -0.1 / 0.7, -0.3 / 0.7, -0.4 / 0.7]), rtol=1e-9)
    assert all(c.has_yerr for c in bars)
    title = fig.get_suptitle()
    assert ("no heat capacity (it needs free energies at three or more temperatures" in title) == free_energy
    assert ("no free energy" in title) != free_energy


def test_mode_slopes_are_the_weighted_line_and_its_error():
    T = np.array([300.0, 600.0, 900.0])
    nu = np.array([[10.0], [9.7], [9.4]]) + np.array([[0.0], [0.01], [0.0]])
    err = np.array([[0.01], [0.02], [0.01]])
    slope, slope_err = mode_slopes(T, nu, err, np.arange(3))
    w = 1 / err[:, 0] ** 2
    ref = np.polyfit(T, nu[:, 0], 1, w=np.sqrt(w))[0]                  # numpy weights by 1/sigma
    np.testing.assert_allclose(slope, [ref], rtol=1e-12)
    tm = (w * T).sum() / w.sum()
    np.testing.assert_allclose(slope_err, [1 / np.sqrt((w * (T - tm) ** 2).sum())], rtol=1e-12)
    two = mode_slopes(T[:2], nu[:2], err[:2], [0, 1])
    np.testing.assert_allclose(two, [[-0.29 / 300], [np.hypot(0.01, 0.02) / 300]], rtol=1e-12)
    assert np.isnan(mode_slopes(T, nu, np.zeros_like(nu), np.arange(3))[1]).all()
