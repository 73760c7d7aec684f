"""The kernel-polynomial diffusivity (trajmodes.disorder.kpm) against the dense route: the Chebyshev moments of the
exact trace equal those summed over the eigenmodes, and the stochastic estimate approaches them and the dense
Allen-Feldman diffusivities."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from trajmodes.disorder import GlassHarmonic, allen_feldman, gamma_modes, kpm_diffusivity
from trajmodes.disorder.allen_feldman import EV_A2_AMU_PS2
from trajmodes.disorder.kpm import jackson_kernel, kpm_moments, kpm_partial_dos, spectral_bounds, spectrum_top


def test_exact_trace_moments_equal_the_eigenmode_sums(sw, asi64):
    """mu_nm^a = sum_ij |s^a_ij|^2 T_n(x_i) T_m(x_j) and mu_n = sum_i T_n(x_i) from the dense modes."""
    model = GlassHarmonic.from_potential(sw, asi64)
    D = model.dynamical * EV_A2_AMU_PS2
    b, a = spectral_bounds(D)
    K = D.shape[0]
    H = ((D - b * sparse.identity(K)) / a).tocsr()
    S = [s * EV_A2_AMU_PS2 for s in model.position_weighted()]
    M = 24
    mu, mu2 = kpm_moments(H, S, np.eye(K), M)
    lam, E = np.linalg.eigh(H.toarray())
    assert lam.min() > -1 and lam.max() < 1
    T = np.cos(np.outer(np.arange(M), np.arccos(lam)))                    # T_n(x_i)
    np.testing.assert_allclose(mu, T.sum(axis=1), atol=1e-9 * K)
    for q in range(3):
        s2 = (E.T @ S[q].toarray() @ E) ** 2
        want = T @ s2 @ T.T
        np.testing.assert_allclose(mu2[q], want, atol=1e-9 * np.abs(want).max())


def test_jackson_kernel():
    g = jackson_kernel(64)
    assert g[0] == pytest.approx(1.0) and np.all(np.diff(g) < 0) and g[-1] > 0


@pytest.mark.slow
def test_stochastic_diffusivity_approaches_the_exact_trace_and_the_dense_route(sw, asi64):
    model = GlassHarmonic.from_potential(sw, asi64)
    nu = np.linspace(3.0, 14.0, 12)
    exact = kpm_diffusivity(model, nu, n_moments=32, exact_trace=True).diffusivity.values
    err = [np.mean(np.abs(kpm_diffusivity(model, nu, n_moments=32, n_vectors=R, seed=1).diffusivity.values / exact
                          - 1)) for R in (2, 48)]
    assert err[1] < 0.5 * err[0] and err[1] < 0.06                      # measured 0.16 and 0.031
    # the dense route with a Gaussian as wide as the kernel's resolution, averaged over the same frequencies
    modes = gamma_modes(model)
    af = allen_feldman(model, modes, 0.7, "gaussian")
    f, d, ok = af.frequency.values, af.diffusivity.values, af.physical.values
    w = np.exp(-0.5 * ((f[ok][None, :] - nu[:, None]) / 0.7) ** 2)
    dense = (w * d[ok]).sum(axis=1) / w.sum(axis=1)
    assert np.mean(np.abs(exact / dense - 1)) < 0.1                      # measured 0.034


def test_dos_integrates_to_the_mode_count(sw, asi64):
    model = GlassHarmonic.from_potential(sw, asi64)
    nu = np.linspace(0.01, 20.0, 4000)
    ds = kpm_diffusivity(model, nu, n_moments=64, n_vectors=4)          # Rademacher: mu_0 = 3N exactly
    assert np.trapezoid(ds.dos.values, nu) == pytest.approx(3 * asi64.n_atoms, rel=0.02)
    assert ds.diffusivity.attrs["units"] == "mm^2/s" and ds.dos.attrs["units"] == "1/THz"


def test_default_axes_end_at_the_top_of_the_spectrum_and_repeat_exactly(sw, asi64):
    """The default frequency axes end at the highest mode (Lanczos), inside the Chebyshev interval, not at its end,
    where the kernel's 1/sqrt(1 - x^2) is singular (the last density there was 7,214 /THz for this cell and changed
    by 87 % between runs); the bounds come from Lanczos with a fixed start vector, so two runs agree exactly."""
    model = GlassHarmonic.from_potential(sw, asi64)
    top = float(gamma_modes(model).frequencies.max())
    assert spectrum_top(model.dynamical) == pytest.approx(top, rel=1e-8)
    one, two = kpm_diffusivity(model, n_moments=64, n_vectors=2), kpm_diffusivity(model, n_moments=64, n_vectors=2)
    assert one.frequency.values[-1] == pytest.approx(top, rel=1e-8)
    assert np.array_equal(one.dos.values, two.dos.values)
    assert np.array_equal(one.diffusivity.values, two.diffusivity.values, equal_nan=True)
    pd = kpm_partial_dos(model.dynamical, {"all": np.arange(asi64.n_atoms)}, n_moments=64, n_vectors=2)
    assert pd.frequency.values[-1] == pytest.approx(top, rel=1e-8)
    assert pd.partial_dos.values[0, -1] < 0.5 * pd.partial_dos.values[0].max()    # no spike at the end
