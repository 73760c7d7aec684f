"""Detailed balance, instrument resolution and powder averages (trajmodes.modes.scattering_corrections).

Oracles: closed forms. A classical (even) spectrum made to obey detailed balance has S(-w) / S(w) = exp(-beta hbar w)
whatever the factor; the harmonic factor restores the f-sum rule from the classical second moment, the "standard" one
keeps the zeroth moment; a Gaussian line convolved with a Gaussian resolution is a Gaussian of the summed variances,
with its integral kept.
"""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import trajmodes
from trajmodes.modes.scattering_corrections import (HBAR_EV_PS, detailed_balance, detailed_balance_factor,
                                                     gaussian_resolution, instrument_resolution,
                                                     powder_structure_factor)
from trajmodes.modes.scattering_qpoints import shell_average, spherical_qpoints
from trajmodes.modes.structure_factor import dynamic_structure_factor
from trajmodes.units import KB_EV

MEV = 1e3 * HBAR_EV_PS                                  # meV per rad/ps


def _gauss(x, x0, fwhm, area=1.0):
    s = fwhm / (2 * np.sqrt(2 * np.log(2)))
    return area * np.exp(-0.5 * ((x - x0) / s) ** 2) / (np.sqrt(2 * np.pi) * s)


def _classical(w0: float = 30.0, width: float = 15.0, n: int = 801, wmax: float = 120.0) -> xr.DataArray:
    """An even classical spectrum on omega >= 0 (rad/ps): lines at +-w0, as dynamic_structure_factor stores it."""
    w = np.linspace(0, wmax, n)
    s = _gauss(w, w0, width) + _gauss(w, -w0, width)
    return xr.DataArray(np.stack([s, 2 * s]), dims=("q", "omega"),
                        coords={"omega": ("omega", w, {"units": "rad/ps"}),
                                "frequency": ("omega", w / (2 * np.pi), {"units": "THz"})}, attrs={"units": "ps"})


@pytest.mark.parametrize("method", ["harmonic", "schofield", "standard"])
def test_detailed_balance_of_a_symmetric_spectrum(method):
    T = 150.0
    s = detailed_balance(_classical(), T, method=method)
    w = s.omega.values
    assert w[0] == -w[-1] and np.all(np.diff(w) > 0) and s.sizes["omega"] == 2 * 801 - 1
    np.testing.assert_allclose(s.frequency.values, w / (2 * np.pi))
    pos = w > 0
    ratio = s.values[:, w < 0][:, ::-1] / s.values[:, pos]              # S(-w) / S(w), w > 0 ascending
    want = np.exp(-HBAR_EV_PS * w[pos] / (KB_EV * T))
    np.testing.assert_allclose(ratio, np.broadcast_to(want, ratio.shape), rtol=1e-12)
    assert detailed_balance_factor(0.0, T, method) == 1.0
    assert "detailed_balance" in s.attrs and s.attrs["units"] == "ps"


def test_moments_each_factor_keeps():
    """harmonic: int w S_q dw = (beta hbar / 2) int w^2 S_cl dw (the f-sum rule from the classical second moment);
    standard: int S_q = int S_cl; Schofield keeps neither."""
    T = 80.0
    cl = _two_sided(_classical())
    w = cl.omega.values
    dw = w[1] - w[0]
    beta_hbar = HBAR_EV_PS / (KB_EV * T)
    harm = detailed_balance(_classical(), T, "harmonic")
    np.testing.assert_allclose((w * harm).sum("omega") * dw, 0.5 * beta_hbar * (w ** 2 * cl).sum("omega") * dw,
                               rtol=1e-10)
    std = detailed_balance(_classical(), T, "standard")
    np.testing.assert_allclose(std.sum("omega"), cl.sum("omega"), rtol=1e-10)
    scho = detailed_balance(_classical(), T, "schofield")
    assert float(scho.sum("omega")[0] / cl.sum("omega")[0]) > 1.01
    with pytest.raises(ValueError, match="method must be one of"):
        detailed_balance(_classical(), T, "quantum")


def _two_sided(da):
    w = da.omega.values
    full = np.concatenate([da.values[:, :0:-1], da.values], axis=1)
    ww = np.concatenate([-w[:0:-1], w])
    return xr.DataArray(full, dims=da.dims, coords={"omega": ww})


def test_gaussian_convolved_with_gaussian_is_gaussian():
    """A line of FWHM 2 meV through a resolution of FWHM 3 meV: a Gaussian of FWHM sqrt(13) meV, area kept."""
    w = np.linspace(-150, 150, 3001)                                   # rad/ps, 0.1 rad/ps = 0.066 meV
    E = w * MEV
    line = xr.DataArray(_gauss(E, 12.0, 2.0), dims=("omega",), coords={"omega": w})
    out = instrument_resolution(line, 3.0)
    np.testing.assert_allclose(out.values, _gauss(E, 12.0, np.sqrt(13.0)), atol=1e-6 * out.values.max())
    assert out.integrate("omega") == pytest.approx(float(line.integrate("omega")), rel=1e-9)
    # the same in THz units on a Dataset: only variables over omega change
    ds = xr.Dataset({"S": line, "other": ("q", np.ones(2))})
    thz = gaussian_resolution(ds, "omega", 3.0 / (1e3 * trajmodes.units.THZ_EV), unit="THz")
    np.testing.assert_allclose(thz.S.values, out.values, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(thz.other.values, 1.0)


def test_energy_dependent_resolution_and_even_half_axis():
    """FWHM(E) = 1 + 0.1 |E| meV on two narrow lines: each comes out as wide as the resolution at its energy; an even
    spectrum on omega >= 0 is convolved as the two-sided one and returned on the half axis."""
    w = np.linspace(-200, 200, 4001)
    E = w * MEV
    fwhm = 1.0 + 0.1 * np.abs(E)
    lines = _gauss(E, 10.0, 0.3) + _gauss(E, 80.0, 0.3)
    out = gaussian_resolution(xr.DataArray(lines, dims=("omega",), coords={"omega": w}), "omega",
                              lambda e: 1.0 + 0.1 * np.abs(e))
    # every output point is the line seen through the Gaussian of that point's own width
    want = _gauss(E, 10.0, np.hypot(fwhm, 0.3)) + _gauss(E, 80.0, np.hypot(fwhm, 0.3))
    np.testing.assert_allclose(out.values, want, atol=1e-6 * want.max())
    half = _classical(w0=20.0, width=3.0)
    a = gaussian_resolution(half, "omega", 2.0)
    b = gaussian_resolution(_two_sided(half), "omega", 2.0).sel(omega=slice(0, None))
    assert a.omega.values[0] == 0 and a.sizes["omega"] == half.sizes["omega"]
    np.testing.assert_allclose(a.values, b.values, atol=1e-12)


def test_powder_average_and_q_resolution():
    rng = np.random.default_rng(4)
    a = 4.0
    base = a * np.array([[i, j, k] for i in range(3) for j in range(3) for k in range(3)], float)
    x = base + 0.1 * rng.standard_normal((40, 27, 3))
    traj = trajmodes.from_arrays(x, 3 * a * np.eye(3), ["Ar"] * 27, frame_interval=0.01)
    powder = powder_structure_factor(traj, 2.5, window=8, n_shells=5, currents=False, incoherent=False)
    q, shell, edges = spherical_qpoints(3 * a * np.eye(3), 2.5, n_shells=5)
    want = shell_average(dynamic_structure_factor(traj, q, window=8, cartesian=True, currents=False,
                                                  incoherent=False), shell, edges)
    np.testing.assert_allclose(powder.Sqw_coh.values, want.Sqw_coh.values)
    res = instrument_resolution(powder, 1.0, q_fwhm=0.3)
    assert res.Sqw_coh.dims == powder.Sqw_coh.dims and "q_resolution" in res.attrs
    assert np.isfinite(res.Sqw_coh.values).all()
    with pytest.raises(ValueError, match="powder average over q_norm"):
        instrument_resolution(want.isel(q_norm=0), 1.0, q_fwhm=0.3)
