"""The comparison of MD with perturbation theory, level by level (trajmodes.modes.comparison_levels and the level
variables of compare_three_phonon): where a line is (peak maximum, damped-oscillator centre) measured alike on MD
spectra and on the lines of theory, how much of the MD a level explains, and why the shift of effective constants is
Delta(nu) - Delta(0).

Exact checks: the kinetic-energy lineshape nu A(nu) of a line with Ohmic damping, Gamma(nu) = g nu / (2 nu0) and no
shift, is the velocity spectrum of a damped oscillator, whose maximum is at nu0 exactly and whose FWHM is g exactly;
the DHO fitted to exact DHO spectra gives nu0 back. Physics: the spectral function of effective constants with
Delta(nu) - Delta(0) keeps their static response, int_0^inf A(nu) / nu dnu = 1 / nu0 (Kramers-Kronig: G(0) = 1 /
nu0^2, the equipartition of the effective constants), while the full bubble moves it to nu0 / (nu0^2 + 2 nu0
Delta(0)).
"""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy.integrate import trapezoid

from trajmodes.modes.comparison_levels import (explained_fraction, kinetic_lineshape, line_positions,
                                               md_line_positions)
from trajmodes.modes.lineshapes import dho
from trajmodes.phonons.anharmonic.spectral import spectral_functions


def test_ohmic_line_is_a_damped_oscillator_measured_at_its_centre():
    w = np.linspace(0.0, 12.0, 24001)
    nu0 = np.array([1.0, 2.5, 4.0])
    g = np.array([0.2, 1.0, 2.0])
    gamma = g[:, None] * w[None, :] / (2 * nu0[:, None])
    lines = kinetic_lineshape(w, spectral_functions(w, gamma, np.zeros_like(gamma), nu0))
    np.testing.assert_allclose(trapezoid(lines, w, axis=-1), 1.0, rtol=1e-12)
    exact = dho(w[None, :], 1.0, nu0[:, None], g[:, None], 0.0)
    np.testing.assert_allclose(lines / lines.max(axis=1, keepdims=True), exact, atol=1e-9)
    peak, centre, width = line_positions(w, lines)
    np.testing.assert_allclose(peak, nu0, atol=1e-6)
    np.testing.assert_allclose(centre, nu0, atol=1e-6)
    np.testing.assert_allclose(width, g, atol=1e-3)


def test_a_line_wider_on_its_high_side_peaks_above_its_centre():
    """A self-energy that grows across the line (the bubble of a strongly anharmonic crystal) makes the line
    asymmetric: its maximum and its DHO centre part, the maximum on the narrow side."""
    w = np.linspace(0.0, 10.0, 10001)
    nu0 = np.array([2.0])
    gamma = (0.05 + 0.25 * w ** 2 / 4)[None, :]
    lines = kinetic_lineshape(w, spectral_functions(w, gamma, np.zeros_like(gamma), nu0))
    peak, centre, width = line_positions(w, lines)
    assert peak[0] < centre[0] and width[0] > 0.2


def test_explained_fraction_is_the_slope_through_the_origin():
    md = np.array([0.1, 0.5, 1.0, -0.2])
    assert explained_fraction(0.3 * md, md, np.ones(4, bool)) == pytest.approx(0.3)
    assert explained_fraction(np.zeros(4), md, np.ones(4, bool)) == 0.0
    assert explained_fraction(md, md, [True, False, True, np.nan] == np.array([1, 0, 1, 0])) == pytest.approx(1.0)
    assert np.isnan(explained_fraction(md, md, np.zeros(4, bool)))


def _project_like(nu0, g, model="lorentzian"):
    """A ``trajmodes project``-shaped dataset whose spectra are exact DHO lines (q, branch) = nu0, g, THz."""
    nu = np.arange(0.0, 10.0, 0.01)
    psd = dho(nu[None, None, :], 1.0, nu0[..., None], g[..., None], 0.0)
    dims = ("q", "branch", "frequency")
    return xr.Dataset(dict(psd=(dims, psd), psd_err=(dims, 0.01 * psd + 1e-9)),
                      coords=dict(frequency=("frequency", nu), frequency_harmonic=(("q", "branch"), 0.9 * nu0)),
                      attrs=dict(resolution_thz=0.01, enbw_thz=0.015, n_segments=10, peak_model=model,
                                 star_averaged=0))


def test_md_centres_fitted_to_the_projects_spectra():
    """The project fitted Lorentzians (peak maxima); the damped-oscillator centres come from the same spectra. On
    exact DHO lines the centres are the nu0, the Lorentzian maxima of these asymmetric lines lie above them."""
    from trajmodes.modes.peaks import fit_peaks
    nu0 = np.array([[1.0, 2.0, 3.0], [1.5, 2.5, 4.0]])
    g = np.array([[0.3, 0.8, 1.2], [0.2, 0.5, 1.5]])
    ds = _project_like(nu0, g)
    lor = fit_peaks(ds, model="lorentzian", star=False, progress=False)
    got = md_line_positions(ds, lor["frequency"].values, lor["frequency_err"].values, lor["status"].values)
    assert got["peak_model"] == "lorentzian" and got["centre_model"] == "dho"
    np.testing.assert_allclose(got["centre"], nu0, atol=1e-4)
    assert (got["centre_status"] == "ok").all() and (got["peak"] > nu0 + 0.005).all()
    # a project fitted with the DHO: its frequencies are the centres, the maxima are fitted
    dh = fit_peaks(ds, model="dho", star=False, progress=False)
    again = md_line_positions(ds.assign_attrs(peak_model="dho"), dh["frequency"].values, dh["frequency_err"].values,
                              dh["status"].values)
    np.testing.assert_allclose(again["peak"], got["peak"], atol=1e-6)
    np.testing.assert_allclose(again["centre"], nu0, atol=1e-4)


def test_effective_lineshape_keeps_the_static_response(cu_fc3):
    """int A(nu) / nu dnu = 1 / nu0 with Delta(nu) - Delta(0) (the effective constants' own static response: their
    <|Q|^2> = k_B T / nu0^2 is what they were fitted to), not with the full bubble Delta(nu), whose static limit moves
    it by Delta(0). Cu at 900 K (classical) on its MD cell's grid, Gaussian 0.1 THz, principal values 0.2 THz: Gamma
    and Delta are not an exact Kramers-Kronig pair at finite broadening, so the modes scatter by a few per cent; the
    median is within 3 % of one, the full bubble's near its own static limit, more than 10 % off."""
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    an = Anharmonic(cu_fc3, cu_fc3.smap.matrix, [900.0], occupation="classical", smearing=0.1)
    reps = an.grid.irreducible[:8]
    w = np.linspace(0.0, 3 * an.frequencies.max(), 3001)
    sf = an.spectral_function(reps, w, epsilon=0.2)
    g, d = sf["gamma"].values[0], sf["frequency_shift"].values[0]
    f0 = an.frequencies[reps]
    live = f0 > 1e-3

    def static(delta):
        A = spectral_functions(w, g, delta, f0)
        inv = np.where(w > 0, 1 / np.where(w > 0, w, 1), 0.0)
        return (trapezoid(A * inv, w, axis=-1) * f0)[live]
    effective, full = static(d - d[..., :1]), static(d)
    expected_full = (f0 / (f0 + 2 * d[..., 0]))[live]
    assert abs(np.median(effective) - 1) < 0.03
    assert np.median(full) > 1.1 and abs(np.median(full / expected_full) - 1) < 0.05


@pytest.fixture(scope="module")
def cu_lines(cu_fc3):
    """Three-phonon widths (Gaussian 0.1 THz) and the effective constants' predicted shifts Delta(nu0) - Delta(0)
    (principal values 0.1 THz) on every q of Cu's 256-atom MD cell, dressed as the peak fits of a run (classical,
    300 K)."""
    from trajmodes.lattice.qpoints import commensurate_qpoints
    from trajmodes.modes.comparison import _real_parts
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    S = cu_fc3.smap.matrix
    an = Anharmonic(cu_fc3, S, [300.0], occupation="classical", smearing=0.1)
    q = commensurate_qpoints(S)
    gps = an.grid_points(q)
    reps, back = np.unique(an.grid.star_of[gps], return_inverse=True)
    back = back.reshape(-1)
    fwhm = an.linewidths(reps)["linewidth"].values[0][back]
    bubble, static = (x[back] for x in _real_parts(an, reps, 0.1))
    f = an.frequencies[gps]
    shift = bubble - static
    dims = ("q", "branch")
    status = np.where(f > 1e-3, "ok", "zero-frequency mode")
    ds = xr.Dataset(dict(fwhm=(dims, fwhm), fwhm_err=(dims, 0.1 * fwhm), status=(dims, status),
                         lifetime=(dims, 1 / (2 * np.pi * np.where(fwhm > 0, fwhm, np.nan))),
                         lifetime_err=(dims, 0.1 / (2 * np.pi * np.where(fwhm > 0, fwhm, np.nan))),
                         frequency=(dims, f + shift), shift=(dims, shift)),
                    coords=dict(qpoint=(("q", "reduced"), q), frequency_harmonic=(dims, f)),
                    attrs=dict(temperature=300.0))
    return ds


def test_levels_side_by_side_on_exact_lines(cu_fc3, cu_lines):
    """MD = three-phonon theory on its own grid: the three-phonon level explains all of the MD widths and its
    shifts at nu0; the effective level none; every level variable carries its units."""
    from trajmodes.modes.comparison import compare_three_phonon
    c = compare_three_phonon(cu_lines, cu_fc3, smearing=0.1, epsilon=0.1, bulk_points=None)
    assert list(c["level"].values) == ["effective", "three-phonon"]
    np.testing.assert_allclose(c["explained_fwhm"].values, [0.0, 1.0], atol=1e-9)
    np.testing.assert_allclose(c["pt_shift"].values, cu_lines["shift"].values, atol=1e-12)
    np.testing.assert_array_equal(c["level_peak"].values[0], c["frequency_harmonic"].values)
    # the maximum of a line is its frequency plus its shift at that frequency, to first order
    assert c["explained_peak_shift"].values[0] == 0 and 0.8 < c["explained_peak_shift"].values[1] < 1.2
    for v in ("level_peak", "level_centre", "level_fwhm", "md_centre", "md_centre_shift", "pt_shift_grid"):
        assert c[v].attrs["units"] == "THz", v
    for v in ("explained_peak_shift", "explained_centre_shift", "explained_fwhm"):
        assert c[v].attrs["units"] == "1" and c[v].dims == ("level",)
    assert (c["md_centre_status"].values == "no spectra").all()          # peak fits only: no second position
    assert c.attrs["n_modes_shift_compared"] == int((cu_lines["frequency_harmonic"].values > 1e-3).sum())


@pytest.mark.slow
def test_default_broadening_follows_the_theory_not_the_md_spectra(cu_fc3, cu_lines):
    """Without a smearing the Gaussian of the MD grid and the principal values come from the theory's own widths
    (here, without a bulk mesh, the self-consistent median half width on the MD grid): MD widths three times as wide
    (a coarser spectrum) change neither them nor the predicted shifts."""
    from trajmodes.modes.comparison import compare_three_phonon
    a = compare_three_phonon(cu_lines, cu_fc3, bulk_points=None)
    wide = cu_lines.assign(fwhm=3 * cu_lines["fwhm"])
    b = compare_three_phonon(wide, cu_fc3, bulk_points=None)
    assert a.attrs["smearing_rule"].startswith("the self-consistent median")
    assert a.attrs["smearing"] == b.attrs["smearing"] and a.attrs["epsilon"] == 2 * a.attrs["smearing"]
    np.testing.assert_array_equal(a["pt_shift"].values, b["pt_shift"].values)
    # the fixed point: the median three-phonon half width on the grid at that smearing is the smearing
    live = a["frequency_harmonic"].values > 1e-3
    assert np.median(a["pt_fwhm"].values[live]) / 2 == pytest.approx(a.attrs["smearing"], rel=0.1)


def test_comparison_figure_spans_the_lines_it_draws(cu_fc3, cu_lines):
    """Lines a THz wide, their maxima well above the harmonic frequencies (as in bcc Zr): the lineshape panel reaches
    past 1.1 x the highest harmonic frequency drawn (where it stopped, cutting them) to 4 FWHM above each maximum,
    and the frequency axes of effective constants say so."""
    import matplotlib
    matplotlib.use("Agg")
    from trajmodes.modes.comparison import compare_three_phonon
    from trajmodes.plots import plot_comparison
    nu = np.arange(0.0, 16.0, 0.02)
    f = cu_lines["frequency_harmonic"].values
    top = f + 0.6
    qb, dims = ("q", "branch"), ("q", "branch", "frequency")
    wide = xr.Dataset(dict(peak_frequency=(qb, top), peak_shift=(qb, top - f), peak_fwhm=(qb, np.ones(f.shape)),
                           peak_fwhm_err=(qb, np.full(f.shape, 0.1)), peak_status=cu_lines["status"],
                           peak_lifetime=(qb, np.full(f.shape, 1 / (2 * np.pi))),
                           peak_lifetime_err=(qb, np.full(f.shape, 0.01)),
                           psd=(dims, dho(nu[None, None, :], 1.0, top[..., None], 1.0, 0.0))),
                      coords=dict(qpoint=cu_lines["qpoint"], frequency_harmonic=(qb, f), frequency=nu),
                      attrs=dict(temperature=300.0))
    c = compare_three_phonon(wide, cu_fc3, smearing=0.1, epsilon=0.1, bulk_points=None)
    fig = plot_comparison(c)
    shown = fig.axes[3].get_xlim()
    picked = [ln.get_label() for ln in fig.axes[3].get_lines() if ln.get_label().startswith("q = ")]
    f_drawn = max(float(lab.split(", ")[-1].split()[0]) for lab in picked)
    assert shown[1] > 1.1 * f_drawn + 2.0
    assert fig.axes[1].get_xlabel() == "effective frequency (THz)"


def test_md_positions_of_a_project_that_chose_the_line_shape_mode_by_mode():
    """``trajmodes project`` fits the more likely of the Lorentzian and the damped oscillator per mode (``peak_model``
    "auto", ``peak_line_model``): its frequency is the maximum where it chose the Lorentzian and the centre where it
    chose the DHO, and the other position is fitted to the spectra. On exact DHO lines: every centre is nu0 and every
    maximum the Lorentzian's, whichever shape the project chose."""
    from trajmodes.modes.peaks import fit_peaks
    nu0 = np.array([[1.0, 2.0, 3.0], [1.5, 2.5, 4.0]])
    g = np.array([[0.3, 0.8, 1.2], [0.2, 0.5, 1.5]])
    ds = _project_like(nu0, g, model="auto")
    lor = fit_peaks(ds, model="lorentzian", star=False, progress=False)
    dh = fit_peaks(ds, model="dho", star=False, progress=False)
    chose = np.array([["lorentzian", "dho", "lorentzian"], ["dho", "dho", "lorentzian"]])
    ds = ds.assign(peak_line_model=(("q", "branch"), chose))
    pick = chose == "lorentzian"
    freq = np.where(pick, lor["frequency"].values, dh["frequency"].values)
    err = np.where(pick, lor["frequency_err"].values, dh["frequency_err"].values)
    got = md_line_positions(ds, freq, err, np.full(freq.shape, "ok"))
    assert got["peak_model"] == "lorentzian" and got["centre_model"] == "dho"
    np.testing.assert_allclose(got["centre"], nu0, atol=1e-4)
    np.testing.assert_allclose(got["peak"], lor["frequency"].values, atol=1e-6)
    assert (got["peak"] > nu0 + 0.005).all()


def test_compare_reports_peak_maxima_whichever_shape_the_project_fitted(cu_fc3, cu_lines):
    """A project fitted with the damped oscillator gives centres: ``compare`` must still report the MD peak maxima as
    ``md_frequency`` / ``md_shift`` (fitted to the same spectra with a Lorentzian) and the project's own fits as the
    centres, not the centres under the maxima's name. Exact DHO lines (FWHM 0.8 THz) at the cu_lines frequencies:
    the centres are the project's, the maxima lie above them, the shifts are the maxima less the harmonic
    frequencies."""
    from trajmodes.modes.comparison import compare_three_phonon
    nu0 = cu_lines["frequency"].values
    live = cu_lines["frequency_harmonic"].values > 1e-3
    nu = np.arange(0.0, 12.0, 0.01)
    psd = dho(nu[None, None, :], 1.0, np.where(live, nu0, 5.0)[..., None], 0.8, 0.0)
    dims = ("q", "branch", "frequency")
    peaks = cu_lines.rename({v: f"peak_{v}" for v in cu_lines.data_vars})      # as `trajmodes project` names them
    ds = peaks.assign_coords(frequency=nu).assign(psd=(dims, psd), psd_err=(dims, 0.01 * psd + 1e-9))
    ds.attrs.update(resolution_thz=0.01, enbw_thz=0.015, n_segments=10, peak_model="dho", star_averaged=0)
    c = compare_three_phonon(ds, cu_fc3, smearing=0.1, epsilon=0.1, bulk_points=None)
    assert "lorentzian" in c["md_frequency"].attrs["long_name"]
    np.testing.assert_allclose(c["md_centre"].values[live], nu0[live], atol=1e-12)       # the project's own fits
    assert (c["md_frequency"].values[live] > nu0[live] + 0.005).all()                      # the maxima, above them
    np.testing.assert_allclose(c["md_shift"].values[live],
                               (c["md_frequency"] - c["frequency_harmonic"]).values[live], atol=1e-12)
    assert c["md_placed"].values[live].all() and c.attrs["n_modes_shift_compared"] == int(live.sum())


def test_constants_in_another_primitive_basis_compare_the_same_modes(cu_fc3, cu_lines):
    """The modes record the primitive cell their q-points are reduced in (``trajmodes project`` writes it); constants
    of the same crystal on a sheared choice of primitive vectors are evaluated at the same points of the zone: the
    same three-phonon widths, mode by mode, as on the cell the modes were projected on."""
    from trajmodes import Crystal
    from trajmodes.modes.comparison import compare_three_phonon
    prim = cu_fc3.primitive
    modes = cu_lines.assign_attrs(primitive_cell=prim.cell.reshape(-1), primitive_positions=prim.positions.reshape(-1),
                                  primitive_species=" ".join(prim.species))
    sheared = cu_fc3.on_primitive(Crystal(np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]]) @ prim.cell, prim.positions,
                                          prim.species, prim.masses))
    same = compare_three_phonon(modes, cu_fc3, smearing=0.1, epsilon=0.1, bulk_points=None)
    other = compare_three_phonon(modes, sheared, smearing=0.1, epsilon=0.1, bulk_points=None)
    np.testing.assert_allclose(other["pt_fwhm"].values, same["pt_fwhm"].values, rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(other["qpoint"].values, cu_lines["qpoint"].values)
    # without the record, the same reduced numbers are other points of the zone, half of them off the grid
    with pytest.raises(ValueError, match="not on the grid of the supercell"):
        compare_three_phonon(cu_lines, sheared, smearing=0.1, epsilon=0.1, bulk_points=None)


def test_lines_narrower_than_the_lineshape_axis_are_placed_at_their_narrow_line_limit(cu_fc3, cu_lines):
    """On an axis whose step is wider than a line the line is not resolved (its samples miss it and a fit chases the
    background): such lines are placed at nu0 + Delta(nu0) - Delta(0), where the maximum and the
    damped-oscillator centre of a narrow line meet, and counted; the lines the axis resolves are measured as before.
    Every step of the comparison is announced to ``progress``."""
    from contextlib import contextmanager
    from trajmodes.modes.comparison import compare_three_phonon
    said = []

    @contextmanager
    def progress(label):
        said.append(label)
        yield
    fine = compare_three_phonon(cu_lines, cu_fc3, smearing=0.1, epsilon=0.1, bulk_points=None)
    coarse = compare_three_phonon(cu_lines, cu_fc3, smearing=0.1, epsilon=0.1, bulk_points=None,
                                  lineshape_points=41, progress=progress)
    assert any("MD grid" in s for s in said) and any("lineshapes" in s for s in said)
    step = coarse.attrs["lineshape_step"]
    f0 = coarse["frequency_harmonic"].values
    narrow = (f0 > 1e-3) & (coarse["pt_fwhm"].values < step)
    assert narrow.any() and coarse.attrs["n_lines_narrow"] == [int(narrow.sum())]
    limit = f0 + coarse["pt_shift_grid"].values
    np.testing.assert_allclose(coarse["level_peak"].values[1][narrow], limit[narrow], atol=1e-12)
    np.testing.assert_allclose(coarse["level_centre"].values[1][narrow], limit[narrow], atol=1e-12)
    # where the fine axis resolves those lines, its measured maxima are their narrow-line limits to first order
    both = narrow & (fine["pt_fwhm"].values >= 2 * fine.attrs["lineshape_step"])
    assert both.any()
    err = np.abs(fine["level_peak"].values[1][both] - limit[both])
    assert np.median(err) < 0.1 * np.median(fine["pt_fwhm"].values[both])


def test_comparison_figure_keeps_far_line_maxima_from_squashing_the_shift_panel(cu_fc3, cu_lines):
    """Constants fitted to a run that changed phase (alpha-quartz with the Tersoff potential of Munetoh et al., Comput.
    Mater. Sci. 39, 334 (2007), at 300 K) have static bubbles Delta(0) of several THz, and their three-phonon lines
    peak that far from the modes, as phono3py's self-energies of the same constants say
    (tests/phonons/test_quartz_lineshape_phono3py.py): drawn as they are, they set the shift panel's scale and the MD
    shifts of a few hundredths of a THz lie on one line. The panel spans the shifts compared; a line maximum 40 THz
    off is drawn at its edge and stated in its title."""
    import matplotlib
    matplotlib.use("Agg")
    from trajmodes.modes.comparison import compare_three_phonon
    from trajmodes.plots import plot_comparison
    c = compare_three_phonon(cu_lines, cu_fc3, smearing=0.1, epsilon=0.1, bulk_points=None)
    placed = c["md_placed"].values
    iq, ib = np.argwhere(placed)[0]
    i3 = list(c["level"].values).index("three-phonon")
    c["level_peak"].values[i3, iq, ib] = c["frequency_harmonic"].values[iq, ib] + 40.0
    fig = plot_comparison(c)
    lo, hi = fig.axes[2].get_ylim()
    compared = np.concatenate([c["md_shift"].values[placed], c["pt_shift"].values[placed]])
    assert hi < 10.0 and lo <= np.nanmin(compared) and hi >= np.nanmax(compared)
    assert "1 of the three-phonon line maxima beyond the panel (red, at its edge): +40 THz" in fig.axes[2].get_title()
