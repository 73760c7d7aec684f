"""Allen-Feldman diffusivities and conductivity (trajmodes.disorder.allen_feldman): the blocked computation against
the formula written out with full matrices, the broadening shapes, the conductivity's limits, and kALDo's
diffusivities on the same constants (tests/data/kaldo, made by tests/support/kaldo_reference.py)."""
from __future__ import annotations

import numpy as np
import pytest

from tests.support.kaldo_reference import CASES, REFERENCE
from trajmodes.disorder import (GlassHarmonic, allen_feldman, allen_feldman_conductivity, broadening_kernel,
                                gamma_modes, kaldo_broadening)
from trajmodes.disorder.allen_feldman import A2_PS_MM2_S, EV_A2_AMU_PS2
from trajmodes.units import EV_J, KB_EV


@pytest.fixture(scope="module")
def glass64(sw, asi64):
    model = GlassHarmonic.from_potential(sw, asi64)
    return model, gamma_modes(model)


def _formula(model, modes, width, shape):
    """D_i = (pi/3) sum_a sum_j |s^a_ij|^2 L(omega_i - omega_j) / (4 omega_i omega_j), every matrix in full."""
    lam = np.linalg.eigvalsh(model.dynamical.toarray()) * EV_A2_AMU_PS2
    omega = np.sqrt(np.abs(lam))
    E = modes.eigenvectors
    ok = np.arange(len(omega)) >= 3
    L = broadening_kernel((omega[:, None] - omega[None, :]) / (2 * np.pi), width, shape) / (2 * np.pi)
    w = np.where(ok, omega, 1.0)
    K = np.pi * L / (4 * np.outer(w, w)) * np.outer(ok, ok)
    D = sum(((E.T @ (S.toarray() * EV_A2_AMU_PS2) @ E) ** 2 * K).sum(axis=1) for S in model.position_weighted())
    return np.where(ok, D / 3 * A2_PS_MM2_S, np.nan)


@pytest.mark.parametrize("shape", ["lorentzian", "gaussian"])
def test_blocks_equal_the_formula_in_full(glass64, shape):
    model, modes = glass64
    want = _formula(model, modes, 0.4, shape)
    for block in (None, 7):
        got = allen_feldman(model, modes, 0.4, shape, block=block)
        np.testing.assert_allclose(got.diffusivity.values, want, rtol=1e-10)
    assert np.isnan(got.diffusivity.values[:3]).all() and got.physical.values[3:].all()


def test_broadening_kernels_integrate_to_one_and_truncate():
    x = np.linspace(-400, 400, 2_000_001)
    for shape in ("lorentzian", "gaussian"):
        k = broadening_kernel(x, 0.3, shape)
        assert np.trapezoid(k, x) == pytest.approx(1.0, abs=2e-3 if shape == "lorentzian" else 1e-9)
    np.testing.assert_allclose(broadening_kernel(0.0, 0.3), 1 / (np.pi * 0.3))
    assert broadening_kernel(1.0, 0.3, truncate=1.0) == 0.0 and broadening_kernel(0.99, 0.3, truncate=1.0) > 0
    with pytest.raises(ValueError, match="shape must be"):
        broadening_kernel(0.0, 0.3, "triangle")
    with pytest.raises(ValueError, match="positive frequency"):
        broadening_kernel(0.0, -1.0)
    with pytest.raises(ValueError, match="no counterpart"):
        kaldo_broadening(0.5, "triangle")


def test_conductivity_limits(glass64):
    model, modes = glass64
    af = allen_feldman(model, modes, 0.4)
    k = allen_feldman_conductivity(af, [10.0, 300.0, 1e5])
    classical = allen_feldman_conductivity(af, [300.0], "classical")
    ok = af.physical.values
    want = KB_EV * EV_J * np.nansum(af.diffusivity.values[ok]) * 1e-6 / (model.volume * 1e-30)
    assert classical.conductivity.values[0] == pytest.approx(want, rel=1e-12)     # k_B sum D_i / V
    q = k.conductivity.values
    assert q[0] < q[1] < q[2] and q[2] == pytest.approx(want, rel=1e-3)       # the quantum one rises to it
    assert k.conductivity.attrs["units"] == "W/(m K)"


@pytest.fixture(scope="module")
def glass216(asi216):
    crystal, phi = asi216
    model = GlassHarmonic.from_force_constants(phi, crystal)
    return model, gamma_modes(model)


def test_modes_and_participation_ratios_equal_kaldo(glass216):
    model, modes = glass216
    ref = np.load(REFERENCE)
    # kALDo converts with CODATA 2014 (ASE's units), the package's THz is phonopy's: 1.28e-7 relative apart
    np.testing.assert_allclose(modes.frequencies[3:], ref["frequency"][3:], rtol=2e-7)
    np.testing.assert_allclose(modes.participation_ratios()[3:], ref["participation_ratio"][3:], rtol=1e-9)


@pytest.mark.parametrize("name, bandwidth, shape, threshold", CASES)
def test_diffusivities_equal_kaldo(glass216, name, bandwidth, shape, threshold):
    model, modes = glass216
    ref = np.load(REFERENCE)
    af = allen_feldman(model, modes, **kaldo_broadening(bandwidth, shape, threshold))
    ok = af.physical.values
    assert np.array_equal(ok, ref["physical"].astype(bool))
    # kALDo stores its diffusivities in float32 (6e-8 relative): 1.5e-7 measured
    np.testing.assert_allclose(af.diffusivity.values[ok], ref[f"diffusivity_{name}"][ok], rtol=1e-6)


def test_window_of_modes_gives_the_dense_diffusivities_inside_it(glass216):
    """Pairs cut at |nu_i - nu_j| < 0.5 THz: modes more than 0.5 THz inside a window miss no partner."""
    model, modes = glass216
    window = gamma_modes(model, window=(7.0, 10.0))
    a = allen_feldman(model, window, 0.1, truncate=0.5)
    b = allen_feldman(model, modes, 0.1, truncate=0.5)
    inner = (window.frequencies > 7.5) & (window.frequencies < 9.5)
    assert len(window.frequencies) == ((modes.frequencies >= 7) & (modes.frequencies <= 10)).sum()
    assert a.physical.values.all() and inner.sum() > 40
    match = np.abs(modes.frequencies[:, None] - window.frequencies[inner][None, :]).argmin(axis=0)
    want = b.diffusivity.values[match]
    np.testing.assert_allclose(a.diffusivity.values[inner], want, rtol=1e-7)
