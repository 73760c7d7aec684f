"""Figures whose legends or curves hid data: fc.png's legend lay over the bands (now below the panel), and
anharmonic.png drew kappa_xx under kappa_yy (now each component its own line style and marker, and the legend says
which are equal)."""
from __future__ import annotations

import numpy as np
import xarray as xr


def test_the_dispersion_comparisons_legend_is_below_the_bands(cu_eam_phonons, tmp_path):
    from trajmodes.plots import plot_dispersion_comparison
    bands = cu_eam_phonons.band_structure(None, npoints=11)
    ref = bands.copy()
    ref["frequency"] = 0.95 * bands.frequency
    fig = plot_dispersion_comparison(bands, tmp_path / "fc.png", reference=ref, title="fc", label="effective (300 K)",
                                     reference_label="cu_eam")
    assert len(fig.legends) == 1 and fig.axes[0].get_legend() is None
    fig.canvas.draw()
    legend = fig.legends[0].get_window_extent()
    assert legend.y1 <= fig.axes[0].get_window_extent().y0 + 1                    # under the bands' panel
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["cu_eam", "effective (300 K)"]


def _kappa_dataset(kappa):
    T = np.array([100.0, 200.0, 300.0])
    f = np.linspace(0.5, 7.0, 12).reshape(4, 3)
    lw = np.broadcast_to(0.05 * f, (3, 4, 3)).copy()
    return xr.Dataset({"frequency_harmonic": (("q", "branch"), f),
                       "linewidth": (("temperature", "q", "branch"), lw),
                       "lifetime": (("temperature", "q", "branch"), 1 / (2 * np.pi * lw)),
                       "kappa": (("temperature", "cartesian", "cartesian2"), kappa)},
                      coords={"temperature": T}, attrs={"mesh": [4, 4, 4], "method": "tetrahedron"})


def test_equal_kappa_components_all_show_and_are_said_equal(tmp_path):
    from trajmodes.plots import plot_three_phonon
    k = np.zeros((3, 3, 3))
    for i, v in enumerate((30.0, 20.0, 15.0)):
        k[i] = np.diag([v, v, 0.8 * v])                      # a hexagonal crystal: xx = yy, zz apart
    fig = plot_three_phonon(_kappa_dataset(k), tmp_path / "anharmonic.png")
    ax = fig.axes[2]
    lines = ax.get_lines()[:3]
    styles = {(ln.get_linestyle(), ln.get_marker(), ln.get_markersize(), str(ln.get_markerfacecolor())) for ln in lines}
    assert len(styles) == 3                                  # each its own style: the one under the other still shows
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [r"$\kappa_{xx}$", r"$\kappa_{yy}$ (= $\kappa_{xx}$)", r"$\kappa_{zz}$"]
