"""Conductivity from MD lifetimes and the MD-vs-three-phonon comparison, on exact data: three-phonon lifetimes
on the MD cell's own q-grid, handed over as if the MD had measured them, must give back the three-phonon
conductivity and a width ratio of one."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import trajmodes
from trajmodes.lattice.qpoints import commensurate_qpoints
from trajmodes.modes.comparison import compare_three_phonon
from trajmodes.phonons.anharmonic.anharmonic import Anharmonic

T = 300.0


@pytest.fixture(scope="module")
def cu_exact(cu_fc3):
    """Three-phonon widths and shifts (classical) on every q of the 256-atom MD cell, dressed as peak fits."""
    S = cu_fc3.smap.matrix
    an = Anharmonic(cu_fc3, S, [T], occupation="classical", smearing=0.1)
    q = commensurate_qpoints(S)
    pt = an.shifts(q)
    fwhm = pt["linewidth"].values[0]
    f = pt["frequency_harmonic"].values
    status = np.where(f > 1e-3, "ok", "zero-frequency mode")
    with np.errstate(divide="ignore"):
        tau = np.where(fwhm > 0, 1 / (2 * np.pi * fwhm), np.nan)
    dims = ("q", "branch")
    ds = xr.Dataset(dict(fwhm=(dims, fwhm), fwhm_err=(dims, 0.1 * fwhm), lifetime=(dims, tau),
                         lifetime_err=(dims, 0.1 * tau), status=(dims, status),
                         frequency=(dims, f + pt["frequency_shift"].values[0]),
                         shift=(dims, pt["frequency_shift"].values[0])),
                    coords=dict(qpoint=(("q", "reduced"), q), frequency_harmonic=(dims, f)),
                    attrs=dict(temperature=T))
    return an, ds


def test_md_lifetimes_give_the_three_phonon_kappa(cu_fc3, cu_exact):
    an, ds = cu_exact
    k = trajmodes.conductivity_from_lifetimes(trajmodes.Phonons(cu_fc3), ds)
    ref = an.thermal_conductivity()["kappa"].values[0]
    np.testing.assert_allclose(k["kappa"].values, ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max())
    assert float(k["missing_share"]) == 0.0
    # 10 % lifetime errors: correlated within a fit (star, degenerate set), independent between fits
    kx, ex = float(k["kappa"][0, 0]), float(k["kappa_err"][0, 0])
    n_fits = len(np.unique(np.round(ds["lifetime"].values[ds["status"].values == "ok"], 12)))
    assert 0.1 * kx / np.sqrt(n_fits) < ex < 0.1 * kx
    # modes without an accepted fit contribute nothing, and their share is reported
    cut = ds.copy()
    st = cut["status"].values.copy()
    low = (cut["frequency_harmonic"].values < 2.0) & (st == "ok")
    st[low] = "width below resolution"
    cut["status"] = (("q", "branch"), st)
    kc = trajmodes.conductivity_from_lifetimes(trajmodes.Phonons(cu_fc3), cut)
    assert 0 < float(kc["missing_share"]) < 1
    assert float(kc["kappa"][0, 0]) < kx


@pytest.fixture(scope="module")
def compared(cu_fc3, cu_exact):
    """The comparison of the exact data, principal values broadened as in the data (epsilon = smearing), with the
    bulk widths (32^3 and 24^3 tetrahedron meshes)."""
    _, ds = cu_exact
    return compare_three_phonon(ds, cu_fc3, smearing=0.1, epsilon=0.1)


@pytest.mark.slow
def test_comparison_of_exact_data_is_one(cu_fc3, cu_exact, compared):
    an, ds = cu_exact
    c = compared
    ok = np.isfinite(c["fwhm_ratio"].values)
    assert ok.sum() > 700
    np.testing.assert_allclose(c["fwhm_ratio"].values[ok], 1.0, rtol=1e-9)
    # the data's shift is the full bubble Delta(nu0) on the MD grid; effective constants predict Delta(nu0) - Delta(0)
    # (pt_shift: on the bulk mesh, pt_shift_grid: on the MD grid)
    np.testing.assert_allclose(c["pt_shift_bubble_grid"].values, ds["shift"].values, atol=1e-12)
    np.testing.assert_allclose(c["pt_shift_grid"].values,
                               c["pt_shift_bubble_grid"].values - c["pt_shift_static_grid"].values, atol=1e-12)
    np.testing.assert_allclose(c["pt_shift"].values, c["pt_shift_bubble"].values - c["pt_shift_static"].values,
                               atol=1e-12)
    np.testing.assert_allclose(c["kappa_md"].values, c["kappa_pt"].values, rtol=1e-9, atol=1e-9)
    assert c.attrs["median_fwhm_ratio"] == pytest.approx(1.0)


def test_bad_inputs_are_refused(cu_fc3, cu_exact):
    _, ds = cu_exact
    with pytest.raises(ValueError, match="temperature"):
        trajmodes.conductivity_from_lifetimes(trajmodes.Phonons(cu_fc3), ds.assign_attrs(temperature=None))
    off = ds.assign_coords(qpoint=(("q", "reduced"), ds["qpoint"].values + 0.01))
    with pytest.raises(ValueError, match="not on the grid of the supercell"):
        compare_three_phonon(off, cu_fc3, smearing=0.1)
    with pytest.raises(ValueError, match="no 'fwhm'"):
        compare_three_phonon(ds.drop_vars("fwhm"), cu_fc3, smearing=0.1)


# -- the static limit of the bubble, the decay channels of the MD grid, the bulk widths ---------------------------

def _star_points(an, ds):
    """One grid point of every star of the MD q-points, and where each MD q finds its star's point."""
    gps = an.grid_points(ds["qpoint"].values)
    reps, back = np.unique(an.grid.star_of[gps], return_inverse=True)
    return reps, back.reshape(-1)


@pytest.mark.slow
def test_static_bubble_from_its_definition(cu_fc3, cu_exact, compared):
    """Delta(0) of every branch against the bubble's real part written out at nu = 0 over every q' of the grid
    (no symmetry reduction): (n' + n'') [P/(-nu' - nu'') - P/(nu' + nu'')] + (n' - n'') [P/(nu' - nu'') -
    P/(nu'' - nu')] = -2 (n' + n'') P/(nu' + nu'') + 2 (n' - n'') P/(nu' - nu''); and Delta is even in nu."""
    from trajmodes.phonons.harmonic.degeneracy import degenerate_average
    from trajmodes.phonons.anharmonic.selfenergy import GAMMA_FACTOR, occupations
    an, ds = cu_exact
    reps, back = _star_points(an, ds)
    eps, N = 0.1, an.grid.n_points

    def pv(x):
        return x / (x * x + eps * eps)
    got = compared["pt_shift_static_grid"].values                                    # on the MD grid
    for i in (1, 4, 9, len(reps) - 1):
        g = int(reps[i])
        tr = an.grid.triplets(g, reduce=False)
        strength = an.interaction.strength(g, tr.q1, tr.q2)                        # (N, s, s', s'')
        f1, f2 = an.frequencies[tr.q1][:, :, None], an.frequencies[tr.q2][:, None, :]
        n1, n2 = (occupations(f, [T], "classical")[0] for f in (f1, f2))
        term = -2 * (n1 + n2) * pv(f1 + f2) + 2 * (n1 - n2) * pv(f1 - f2)
        d0 = GAMMA_FACTOR / np.pi / N * np.einsum("tsxy,txy->s", strength, term)
        d0 = degenerate_average(d0[None], an.frequencies[g][None])[0]
        np.testing.assert_allclose(got[np.flatnonzero(back == i)], np.broadcast_to(d0, (np.sum(back == i), 3)),
                                   rtol=1e-9, atol=1e-13)
        d = an.self_energy(g, frequencies=[-1e-3, 0.0, 1e-3], imag=False, real=True, epsilon=eps).delta[0]
        np.testing.assert_allclose(d[:, 0], d[:, 2], rtol=1e-12, atol=1e-15)        # even in nu
        assert np.abs(d[:, 2] - d[:, 1]).max() < 1e-6                                 # smooth through nu = 0
    assert np.median(np.abs(got)) > 0.01                                              # and not a trivial zero


def _channels_brute_force(grid, f, g, window, cut=1e-4):
    """Count |nu - nu' - nu''| <= window and |nu + nu' - nu''| <= window over every q' of the grid and every
    branch pair, q'' found from its reduced coordinates -q - q'."""
    out = np.zeros(f.shape[1], dtype=int)
    q = grid.qpoints[g]
    for j, q1 in enumerate(grid.qpoints):
        k = int(grid.index(grid.addresses_of(np.mod(-q - q1, 1.0)))[0])
        for s in range(f.shape[1]):
            if f[g, s] <= cut:
                continue
            for a in range(f.shape[1]):
                for b in range(f.shape[1]):
                    if f[j, a] <= cut or f[k, b] <= cut:
                        continue
                    out[s] += abs(f[g, s] - f[j, a] - f[k, b]) <= window
                    out[s] += abs(f[g, s] + f[j, a] - f[k, b]) <= window
    return out


@pytest.mark.slow
def test_channel_count_and_the_no_channel_flag(cu_fc3, cu_exact, compared):
    """pt_channels against a brute-force count on the MD grid; a flagged mode has no three-phonon width with a
    smearing a quarter as wide (its nearest channel is then beyond 8 sigma), while the crystal (bulk mesh) has."""
    an, ds = cu_exact
    reps, back = _star_points(an, ds)
    for i in range(len(reps)):
        np.testing.assert_array_equal(compared["pt_channels"].values[back == i][0],
                                      _channels_brute_force(an.grid, an.frequencies, int(reps[i]), 0.2))
    narrow = compare_three_phonon(ds, cu_fc3, smearing=0.02, bulk_points=None)
    flag = narrow["pt_no_channel"].values
    ch = narrow["pt_channels"].values
    assert flag.any() and (ch[flag] == 0).all() and (ch[~flag & (narrow["frequency_harmonic"].values > 1)] > 0).all()
    for i in np.unique(back[flag.any(axis=1)]):                                         # brute force at 2 sigma
        assert (_channels_brute_force(an.grid, an.frequencies, int(reps[i]), 0.04)[flag[back == i][0]] == 0).all()
    finer = compare_three_phonon(ds, cu_fc3, smearing=0.005, bulk_points=None)
    assert finer["pt_fwhm"].values[flag].max() < 1e-9
    assert compared["pt_fwhm_bulk"].values[flag].min() > 0.01


@pytest.mark.slow
def test_bulk_widths_converge_on_meshes_that_hold_the_md_qpoints(cu_fc3, cu_exact, compared):
    """The 4x4x4 conventional cell's q lie on every 8n mesh: bulk widths at them on 32^3, uncertainty |32^3 -
    24^3|, and the 16^3 value further off than that; ratios and z-scores from their definitions."""
    from trajmodes.modes.comparison import bulk_mesh
    an, ds = cu_exact
    S = cu_fc3.smap.matrix
    assert bulk_mesh(S, 30000) == (32, 24) and bulk_mesh(S, 100) == (8, 16)
    c = compared
    assert c.attrs["bulk_mesh"] == [32, 32, 32] and c.attrs["bulk_method"] == "tetrahedron"
    live = c["frequency_harmonic"].values > 1e-3
    w32, err = c["pt_fwhm_bulk"].values, c["pt_fwhm_bulk_err"].values
    assert (w32[live] > 0).all() and (err[~live] == 0).all()
    a16 = Anharmonic(cu_fc3, 16, [T], occupation="classical")
    reps, back = _star_points(a16, ds)
    w16 = a16.linewidths(reps)["linewidth"].values[0][back]
    d16 = np.abs(w16 - w32)[live]
    print(f"\nbulk FWHM at the MD q: median {np.median(w32[live]):.4f} THz; median |16^3 - 32^3| {np.median(d16):.4f}, "
          f"median |24^3 - 32^3| {np.median(err[live]):.4f} THz (max {err[live].max():.4f})")
    assert np.median(err[live]) < 0.5 * np.median(d16)
    ok = ds["status"].values == "ok"
    np.testing.assert_allclose(c["fwhm_ratio_bulk"].values[ok], ds["fwhm"].values[ok] / w32[ok], rtol=1e-12)
    with np.errstate(invalid="ignore"):
        z = (ds["fwhm"].values - w32) / np.sqrt(ds["fwhm_err"].values ** 2 + err ** 2)
    np.testing.assert_allclose(c["fwhm_z_bulk"].values[ok], z[ok], rtol=1e-12)
    r = c["fwhm_ratio_bulk"].values
    r = r[np.isfinite(r)]
    assert c.attrs["median_fwhm_ratio_bulk"] == pytest.approx(np.median(r))
    assert c.attrs["fwhm_ratio_bulk_p16"] == pytest.approx(np.quantile(r, 0.16))
    assert c.attrs["fwhm_ratio_bulk_p84"] == pytest.approx(np.quantile(r, 0.84))


def test_static_constants_and_shift_z_scores(cu_fc3, cu_exact):
    _, ds = cu_exact
    with_err = ds.assign(frequency_err=(("q", "branch"), np.full(ds["shift"].shape, 0.01)))
    c = compare_three_phonon(with_err, cu_fc3, smearing=0.1, constants="static", bulk_points=None)
    np.testing.assert_array_equal(c["pt_shift"].values, c["pt_shift_bubble"].values)
    np.testing.assert_allclose(c["md_shift_err"].values, 0.01)
    # the MD shift is the peak less the harmonic frequency, as the dataset's own shift to round-off (1e-13 THz)
    np.testing.assert_allclose(c["shift_z"].values, (ds["shift"].values - c["pt_shift"].values) / 0.01, rtol=1e-12,
                               atol=1e-10)
    assert c.attrs["constants"] == "static" and c.attrs["epsilon"] == pytest.approx(0.2)
    assert "pt_fwhm_bulk" not in c and "shift_z" not in compare_three_phonon(ds, cu_fc3, smearing=0.1,
                                                                             bulk_points=None)
    with pytest.raises(ValueError, match="constants must be 'effective'"):
        compare_three_phonon(ds, cu_fc3, smearing=0.1, constants="0K")
    with pytest.raises(ValueError, match="bulk_points"):
        compare_three_phonon(ds, cu_fc3, smearing=0.1, bulk_points=0)


# -- the normalisation of the three-phonon spectral function (the lineshapes of the comparison) --------------------

def _spectral_areas(an, window: float = 0.3, step: float = 0.003) -> np.ndarray:
    """The area of A(nu) over nu >= 0 of every branch at the irreducible q but Gamma, (nq, 3n): a grid fine
    within ``window`` THz of each harmonic frequency (``step`` THz, a third of the narrowest half width here) and
    0.02 THz elsewhere up to 2.2 x the highest frequency (beyond 2 x, Gamma(nu) = 0 and the line has no weight)."""
    from scipy.integrate import trapezoid
    coarse = np.linspace(0.0, 2.2 * an.frequencies.max(), 851)
    out = []
    for g in an.grid.irreducible[1:]:
        w = np.unique(np.concatenate([coarse] + [np.arange(f - window, f + window, step)
                                                 for f in an.frequencies[g]]))
        w = w[w >= 0]
        out.append(trapezoid(an.spectral_function([g], w)["spectral_function"].values[0, 0], w, axis=-1))
    return np.array(out)


@pytest.mark.slow
def test_spectral_function_area_gaussian(cu_fc3):
    """Cu at 300 K (quantum occupations) on an 8^3 mesh, Gaussian smearing 0.1 THz: every line's area within 10 %
    of one (measured 0.98-1.08, median 1.02): Gamma(nu) and Delta(nu) change across the line."""
    a = _spectral_areas(Anharmonic(cu_fc3, 8, [T], smearing=0.1, chunk=64))
    print(f"\nspectral-function areas, Gaussian 0.1 THz: {a.min():.3f}-{a.max():.3f}, median {np.median(a):.3f}")
    assert 0.9 < a.min() and a.max() < 1.1 and abs(np.median(a) - 1) < 0.04


@pytest.mark.slow
def test_spectral_function_area_tetrahedron(cu_fc3):
    """The same with the tetrahedron method (15 s here): measured 0.86-1.31, median 1.01."""
    a = _spectral_areas(Anharmonic(cu_fc3, 8, [T], chunk=64))
    print(f"\nspectral-function areas, tetrahedron: {a.min():.3f}-{a.max():.3f}, median {np.median(a):.3f}")
    assert 0.8 < a.min() and a.max() < 1.4 and abs(np.median(a) - 1) < 0.04


def test_constants_of_another_crystal_are_named_as_such(cu_fc3, si_fc3, cu_exact):
    """compare with another crystal's constants used to fail on the q-grid or the branch count; it says they are
    different crystals (branch count, q-points off the constants' cell, or harmonic frequencies far apart)."""
    _, ds = cu_exact
    with pytest.raises(ValueError, match="these are different crystals: the MD modes have 3 branches per q, the "
                                         "force constants 6"):
        compare_three_phonon(ds, si_fc3, smearing=0.1)
    stiff = trajmodes.ForceConstants(4.0 * cu_fc3.fc2, cu_fc3.supercell, cu_fc3.primitive, smap=cu_fc3.smap,
                                     p2s=cu_fc3.p2s, fc3=cu_fc3.fc3)
    with pytest.raises(ValueError, match="these look like different crystals: the highest harmonic frequency"):
        compare_three_phonon(ds, stiff, smearing=0.1)
