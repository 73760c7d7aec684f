"""Every figure function draws into the caller's axes (``ax=``) or a new figure, returns the Figure, and writes a file
only when given a path: what a notebook needs."""
from __future__ import annotations

import re

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


# -- units and symbols as a physicist writes them (issue 70) ------------------------------------------------------

#: plain-text units and symbols no figure may show: "(A)", "A^2", "kappa", "+-", milli-amperes, "1/THz" slashes, ...
PLAIN = re.compile(r"\(A\)|\bA\^\d|\bAngstrom\b|\bkappa\b|\+-|\bmA\b|/THz/|\b1e-6\b|\bk_B\b|\bg2\b|\bsigma\b|"
                   r"\bDelta\b|\bnu0\b|\bGrueneisen\b|\bomega\b")


def _plain(texts) -> list[str]:
    """The texts that write a unit or symbol in plain text (outside their mathtext)."""
    return [t for t in texts if PLAIN.search(re.sub(r"(?<!\\)\$[^$]*\$", "", t))]


def _texts(fig) -> list[str]:
    """Every text a figure shows: headings, titles, axis labels (colour bars' too), legends, free texts."""
    out = [fig._suptitle.get_text()] if fig._suptitle is not None else []
    for ax in fig.axes:
        out += [ax.get_title(loc) for loc in ("left", "center", "right")] + [ax.get_xlabel(), ax.get_ylabel()]
        out += [t.get_text() for t in ax.texts]
        if ax.get_legend() is not None:
            out += [t.get_text() for t in ax.get_legend().get_texts()]
    for legend in fig.legends:
        out += [t.get_text() for t in legend.get_texts()]
    return [t for t in out if t]


def _rendered(fig):
    """Draw ``fig`` to a PNG in memory (a mathtext error or a glyph missing from the font raises here)."""
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=40)
    return buf.getvalue()


@pytest.mark.parametrize("plain, typeset", [
    ("W/(m K)", "W m$^{-1}$ K$^{-1}$"), ("W/(m K THz)", "W m$^{-1}$ K$^{-1}$ THz$^{-1}$"), ("Angstrom^2", "Å$^{2}$"),
    ("A^3", "Å$^{3}$"), ("1/THz", "THz$^{-1}$"), ("eV/THz", "eV THz$^{-1}$"), ("mA", "mÅ"), ("A", "Å"),
    ("Angstrom^2/ps", "Å$^{2}$ ps$^{-1}$"), ("eV/A^2", "eV Å$^{-2}$"), ("mm^2/s", "mm$^{2}$ s$^{-1}$"),
    ("J/(K mol)", "J K$^{-1}$ mol$^{-1}$"), ("fm^2 ps", "fm$^{2}$ ps"), ("(eV A/ps)^2 ps", "(eV Å/ps)$^{2}$ ps"),
    ("THz", "THz"), ("1", "1")])
def test_units_are_typeset(plain, typeset):
    from trajmodes.plots.figures import unit
    assert unit(plain) == typeset


def test_a_callers_plain_text_title_is_typeset():
    """The command line writes its titles in plain text (the terminal's): the figures typeset their units and symbols,
    leave mathtext alone, and keep a file name's dollar sign a dollar sign."""
    from trajmodes.plots.figures import fit_title, heading, typeset
    assert typeset("fc: Cu x 1, sequential fit, r2 = 5.988 A") == "fc: Cu x 1, sequential fit, $r_2$ = 5.988 Å"
    assert typeset("argon.lammpstrj: 30.5 K, 4019.68 A^3") == "argon.lammpstrj: 30.5 K, 4019.68 Å$^{3}$"
    assert typeset("kappa = 1.0 +- 0.1") == "κ = 1.0 ± 0.1"
    assert typeset("Cu_mishin1.eam.alloy: fcc a = 3.615 A (analytic EAM)").endswith("a = 3.615 Å (analytic EAM)")
    assert typeset("run$1.dump: 2 A") == r"run\$1.dump: 2 Å"
    assert typeset("$\\alpha$ at 3 A") == "$\\alpha$ at 3 A"                    # mathtext already: as it is
    title = fit_title(["Cu", "Cu"], 293.2, "sequential", 5.988)
    assert title == "Cu, effective phonons at 293 K (sequential fit, $r_2$ = 5.99 Å)" and typeset(title) == title
    assert fit_title(["Ne"], 20.0, "sequential", 4.5, n_beads=8) == \
        "Ne, quantum effective phonons at 20 K (8 beads, sequential fit, $r_2$ = 4.5 Å)"
    assert fit_title(["Ne"], 20.0, "sequential", 4.5, n_beads=1) == fit_title(["Ne"], 20.0, "sequential", 4.5)
    fig = Figure(figsize=(6, 3))
    fig.suptitle(heading("phonon dispersion", "fc: Cu x 1, r2 = 5.988 A", fig))
    assert fig._suptitle.get_text() == "phonon dispersion: fc: Cu x 1, $r_2$ = 5.988 Å"
    assert "\n" in heading("phonon dispersion and density of states", "x" * 120, fig)
    assert _rendered(fig)


@pytest.mark.filterwarnings("error::UserWarning")
def test_harmonic_figures_write_units_and_symbols_typeset(cu_eam_phonons):
    """Every text of the dispersion, thermodynamics and shell-constant figures: no plain-text unit or symbol, and
    each renders (a mathtext error or a missing glyph raises)."""
    from trajmodes.plots import plot_bands_dos, plot_bvk, plot_dispersion_comparison, plot_thermal
    from trajmodes.potentials.bvk import shell_constants
    bands, dos = _bands_dos(cu_eam_phonons)
    thermal = cu_eam_phonons.thermal_properties(temperatures=[100.0, 300.0])
    shells = shell_constants(cu_eam_phonons.force_constants, n_shells=3)
    figs = [plot_bands_dos(bands, dos, title="cu_eam: Cu x 1, a = 3.615 A"),
            plot_thermal(thermal, title="cu_eam", n_modes=3),
            plot_dispersion_comparison(bands, reference=bands, title="fc: Cu x 1, sequential fit, r2 = 5.988 A"),
            plot_bvk({"EAM": shells}, units="eV/A^2", title="Cu: fcc a = 3.615 A")]
    for fig in figs:
        texts = _texts(fig)
        assert texts and not _plain(texts), _plain(texts)
        assert _rendered(fig)
    assert figs[0].axes[1].get_xlabel() == "DOS (states THz$^{-1}$ per cell)"
    assert figs[1].axes[1].get_ylabel() == "$S$, $C_V$ (J K$^{-1}$ mol$^{-1}$)"
    assert figs[2].axes[0].get_title() == "fc: Cu x 1, sequential fit, $r_2$ = 5.988 Å"
    assert figs[3].axes[0].get_ylabel() == "Born-von Kármán constant (eV Å$^{-2}$)"


def _routes_input():
    import xarray as xr
    edges = np.linspace(0.0, 3.0, 16)
    centre = 0.5 * (edges[1:] + edges[:-1])
    spec = np.exp(-((centre - 1.2) / 0.4) ** 2)
    spectral = xr.Dataset({"kappa_spectrum": ("frequency_bin", spec)}, coords={"frequency_edge": ("edge", edges)})
    return spectral, float((spec * np.diff(edges)).sum())


@pytest.mark.filterwarnings("error::UserWarning")
def test_the_routes_legend_sits_below_the_panels_not_over_a_curve():
    """Issue 70: the routes figure's legend covered a running sum. It is one legend for both panels, under them, in
    the package's figure and in a caller's constrained one; in a caller's figure without constrained layout it goes
    where it covers least."""
    from trajmodes.plots import plot_conductivity_routes
    spectral, total = _routes_input()
    fig = plot_conductivity_routes(spectral=spectral, kappa=total, kappa_err=0.1 * total, title="ar: 4019.68 A^3")
    assert len(fig.legends) == 1 and not [ax for ax in fig.axes if ax.get_legend() is not None]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "Green-Kubo, by the velocities' frequency",
        f"Green-Kubo, cepstral: $\\kappa$ = {total:.3g} ± {0.1 * total:.2g} W m$^{{-1}}$ K$^{{-1}}$"]
    assert not _plain(_texts(fig)) and _rendered(fig)
    fig.canvas.draw()
    legend = fig.legends[0].get_window_extent()
    assert all(legend.y1 <= ax.get_tightbbox().y0 + 1 for ax in fig.axes)          # under every panel
    mine = Figure()
    axes = mine.subplots(1, 2)                                         # no constrained layout: inside, "best"
    plot_conductivity_routes(spectral=spectral, kappa=total, kappa_err=0.1 * total, ax=axes)
    assert not mine.legends and axes[1].get_legend() is not None and axes[1].get_legend()._loc == 0
