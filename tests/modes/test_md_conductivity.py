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
from trajmodes.phonons.anharmonic import Anharmonic

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
    k = trajmodes.thermal_conductivity(trajmodes.Phonons(cu_fc3), ds)
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
    kc = trajmodes.thermal_conductivity(trajmodes.Phonons(cu_fc3), cut)
    assert 0 < float(kc["missing_share"]) < 1
    assert float(kc["kappa"][0, 0]) < kx


def test_comparison_of_exact_data_is_one(cu_fc3, cu_exact):
    an, ds = cu_exact
    c = compare_three_phonon(ds, cu_fc3, smearing=0.1)
    ok = np.isfinite(c["fwhm_ratio"].values)
    assert ok.sum() > 700
    np.testing.assert_allclose(c["fwhm_ratio"].values[ok], 1.0, rtol=1e-9)
    np.testing.assert_allclose(c["pt_shift"].values, ds["shift"].values, atol=1e-12)
    np.testing.assert_allclose(c["kappa_md"].values, c["kappa_pt"].values, rtol=1e-9, atol=1e-9)
    assert c.attrs["median_fwhm_ratio"] == pytest.approx(1.0)


def test_bad_inputs_are_refused(cu_fc3, cu_exact):
    _, ds = cu_exact
    with pytest.raises(ValueError, match="temperature"):
        trajmodes.thermal_conductivity(trajmodes.Phonons(cu_fc3), ds.assign_attrs(temperature=None))
    off = ds.assign_coords(qpoint=(("q", "reduced"), ds["qpoint"].values + 0.01))
    with pytest.raises(ValueError, match="not on the grid of the supercell"):
        compare_three_phonon(off, cu_fc3, smearing=0.1)
    with pytest.raises(ValueError, match="no 'fwhm'"):
        compare_three_phonon(ds.drop_vars("fwhm"), cu_fc3, smearing=0.1)
