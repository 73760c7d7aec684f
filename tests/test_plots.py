"""Every figure function draws into the caller's axes (``ax=``) or a new figure, returns the Figure, and writes a file
only when given a path: what a notebook needs."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from trajmodes.plots.figures import axes_for


def _bands_dos(cu_eam_phonons):
    ph = cu_eam_phonons
    return ph.band_structure(npoints=11), ph.dos(6)


def test_bands_dos_into_given_axes_and_into_a_new_figure(cu_eam_phonons, tmp_path):
    from trajmodes.plots import plot_bands_dos
    bands, dos = _bands_dos(cu_eam_phonons)
    mine = Figure()
    axes = mine.subplots(1, 2)
    assert plot_bands_dos(bands, dos, ax=axes) is mine
    assert len(axes[0].get_lines()) >= 3 and len(axes[1].get_lines()) >= 1
    fig = plot_bands_dos(bands, dos)                                   # no path: nothing written
    assert isinstance(fig, Figure) and list(tmp_path.iterdir()) == []
    out = tmp_path / "b.png"
    assert isinstance(plot_bands_dos(bands, dos, str(out)), Figure) and out.stat().st_size > 5000


def test_one_panel_figure_takes_one_axes(cu_eam_phonons):
    from trajmodes.plots import plot_dispersion_comparison
    bands, _ = _bands_dos(cu_eam_phonons)
    fig = Figure()
    ax = fig.subplots()
    assert plot_dispersion_comparison(bands, reference=bands, ax=ax) is fig
    assert len(ax.get_lines()) >= 6


def test_wrong_number_of_axes_is_refused():
    fig = Figure()
    with pytest.raises(ValueError, match=r"2 panel\(s\) \(1 x 2\): give ax= that many matplotlib Axes, not 3"):
        axes_for(fig.subplots(1, 3), 1, 2, (4, 3))
    f, a = axes_for(np.array(fig.subplots(2, 2)), 2, 2, (4, 3))
    assert f is fig and a.shape == (2, 2)
    f, a = axes_for(fig.subplots(1, 4), 1, 4, (4, 3), squeeze=False)
    assert a.shape == (1, 4)


@pytest.mark.filterwarnings("error::UserWarning")
def test_thermal_plot_of_a_single_temperature(cu_eam_phonons, tmp_path):
    """`trajmodes phonons` at one temperature set identical x limits (a singular axis, matplotlib's warning) and
    drew one-point lines, which show nothing: now the points are marked and the axis spans 10 % either side."""
    from trajmodes.plots.phonons import plot_thermal
    thermal = cu_eam_phonons.thermal_properties(temperatures=[300.0])
    fig = plot_thermal(thermal, str(tmp_path / "thermal.png"))
    assert (tmp_path / "thermal.png").stat().st_size > 0
    assert len(fig.axes) == 2
    for ax in fig.axes:
        lo, hi = ax.get_xlim()
        assert lo < 300.0 < hi and hi - lo > 10.0
        drawn = [line for line in ax.get_lines() if len(line.get_xdata()) == 1]
        assert len(drawn) == 2 and all(line.get_marker() == "o" for line in drawn)
