"""The emulation of TDEP's ``thermal_conductivity_2023`` (:mod:`trajmodes.phonons.anharmonic.tdep2023`): its widths against
their formulas written out on the modes of a mesh (the clamp, the three widths in quadrature, the 4-sigma cut, the
isotope width of the partner alone), its off-shell occupation factors against the on-shell ones where the Gaussians
are narrow, and the fixed eigenvector basis of TDEP's isotope overlap (a rotation inside degenerate subspaces changes
nothing). The comparison with TDEP itself is tests/tdep/test_thermal_conductivity_2023.py."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trajmodes import ForceConstants
from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
from trajmodes.phonons.anharmonic.spectral import tdep_band_widths
from trajmodes.phonons.harmonic.degeneracy import cartesian_basis, degenerate_average, degenerate_subspaces
from trajmodes.phonons.harmonic.dos import gaussian
from trajmodes.phonons.anharmonic.isotope import isotope_gamma
from trajmodes.phonons.anharmonic.selfenergy import DeltaWeights
from trajmodes.phonons.harmonic.statistics import occupations, pair_occupations
from trajmodes.phonons.anharmonic.tdep2023 import off_shell_scattering_in, tdep2023_isotope_sigmas, tdep2023_sigmas

RUN = Path(__file__).parent.parent / "data" / "tdep_thermal_conductivity" / "tdep_run"
TDEP2023 = dict(smearing="adaptive-tdep2023", isotopes=True, isotope_overlap="tdep", occupation_factors="off-shell")


@pytest.fixture(scope="module")
def mgo():
    """TDEP's fitted MgO constants (polar fc2, fc3 to 3 A)."""
    return ForceConstants.read(RUN, "tdep")


@pytest.fixture(scope="module")
def an(mgo):
    return Anharmonic(mgo, 4, [100.0, 300.0], **TDEP2023)


def test_clamp_on_modes_written_out():
    """sigma = r |v| / sqrt(2) with r = (3 / (4 pi V N))^(1/3), clamped to [d / 4, 4 d]; the isotope width
    sqrt(sum_j (|v| . m_j)^2 / 12) with the same clamp: three modes below, inside and above the band's range."""
    V, N = 18.87, 125
    r = (3 / (4 * np.pi * V * N)) ** (1 / 3)
    d = np.array([0.1, 0.2, 0.4])
    v = np.array([[0.01, 0, 0], [0, 3.0, 3.0], [30.0, 0, 40.0]])                       # A THz, one per band
    raw = r * np.linalg.norm(v, axis=1) / np.sqrt(2)
    assert raw[0] < d[0] / 4 and d[1] / 4 < raw[1] < 4 * d[1] and raw[2] > 4 * d[2]
    np.testing.assert_allclose(tdep2023_sigmas(v, d, V, N), [d[0] / 4, raw[1], 4 * d[2]], rtol=1e-14)
    m = np.array([[0.2, 0.0, 0.04], [0.0, 0.2, 0.0], [-0.06, 0.0, 0.2]])
    raw = np.sqrt(sum((np.abs(v) @ m[j]) ** 2 for j in range(3)) / 12)
    expect = np.clip(raw, d / 4, 4 * d)
    assert raw[0] < d[0] / 4 and raw[2] > 4 * d[2]
    np.testing.assert_allclose(tdep2023_isotope_sigmas(v, m, d), expect, rtol=1e-14)


def test_widths_on_the_mesh(an, mgo):
    """The variances of ``smearing="adaptive-tdep2023"`` are the formulas on every point of the mesh, the isotope
    ones from each point's own velocity (computed there, where the calculator rotates its star's)."""
    g = an.grid
    v = an.transport_velocities(np.arange(g.n_points)).group_velocity
    d = tdep_band_widths(an.frequencies[g.irreducible])
    r = (3 / (4 * np.pi * mgo.primitive.volume * g.n_points)) ** (1 / 3)
    s = np.clip(r * np.linalg.norm(v, axis=-1) / np.sqrt(2), d / 4, 4 * d)
    np.testing.assert_allclose(an.deltas.variances, s ** 2, rtol=1e-9)
    m = g.microzone(mgo.primitive.reciprocal_cell)
    w = np.clip(np.sqrt((np.einsum("qbx,jx->qbj", np.abs(v), m) ** 2).sum(-1) / 12), d / 4, 4 * d)
    np.testing.assert_allclose(an.deltas.isotope_variances, w ** 2, rtol=1e-9)
    assert an.deltas.truncate == 4.0


def test_three_widths_in_quadrature_cut_at_4_sigma(an):
    """Each delta function is a Gaussian of variance sigma^2 + sigma'^2 + sigma''^2, each of the three zero on its
    own from 4 standard deviations on."""
    q = 5
    tr = an.grid.triplets(q)
    f, var = an.frequencies, an.deltas.variances
    got = an.deltas(tr, f[q])                                                  # (3, T, s, s', s'')
    s = np.sqrt(var[q][None, :, None, None] + var[tr.q1][:, None, :, None] + var[tr.q2][:, None, None, :])
    nu, f1, f2 = f[q][None, :, None, None], f[tr.q1][:, None, :, None], f[tr.q2][:, None, None, :]
    for k, x in enumerate((nu - f1 - f2, nu + f1 - f2, nu - f1 + f2)):
        np.testing.assert_allclose(got[k], gaussian(x, s) * (np.abs(x) < 4 * s), rtol=1e-13, atol=0)
    cut = np.abs(nu - f1 - f2) >= 4 * s
    assert cut.any() and (gaussian(nu - f1 - f2, s)[cut] > 0).any()


def test_isotope_sum_written_out(an, mgo):
    """Gamma_iso(q s) = pi / (4 N) nu sum_q's' nu' (n' + 1) / (n + 1) sum_k g2_k O_k g(nu - nu'; w_q's'), O TDEP's
    overlap on the eigenvectors in the fixed basis, w the partner's width alone, cut at 4 w: loops over q', per T,
    then the degenerate average."""
    g, f = an.grid, an.frequencies
    e = cartesian_basis(an.interaction.eigenvectors, f, tol=an.degeneracy_tol)
    w = np.sqrt(an.deltas.isotope_variances)
    g2 = an.mass_variances
    gps = g.irreducible[[1, 4, 7]]
    got = an.isotope_gamma(gps)                                                 # (nt, nq, nb)
    assert got.shape == (2, 3, 6)
    n = occupations(f, an.temperatures)
    ref = np.zeros_like(got)
    for i, q in enumerate(gps):
        for s in range(6):
            for q2 in range(g.n_points):
                for s2 in range(6):
                    if f[q2, s2] <= 1e-4:
                        continue
                    o = (np.abs(e[q, :, s].conj() * e[q2, :, s2]).reshape(2, 3).sum(axis=1)) ** 2
                    x = f[q2, s2] - f[q, s]
                    delta = gaussian(x, w[q2, s2]) * (abs(x) < 4 * w[q2, s2])
                    ref[:, i, s] += g2 @ o * delta * f[q2, s2] * (n[:, q2, s2] + 1)
            ref[:, i, s] *= np.pi / (4 * g.n_points) * f[q, s] / (n[:, q, s] + 1)
    np.testing.assert_allclose(got, degenerate_average(ref, f[gps], an.degeneracy_tol), rtol=1e-12)


def test_off_shell_is_on_shell_for_narrow_gaussians(mgo):
    """Where the Gaussians are narrow against k_B T / h (6.2 THz at 300 K) the off-shell factors are the on-shell
    ones, to first order in sigma h / k_B T (measured at most 1.0e-5 of a width with 0.005 THz, 5.7e-4 with 0.02);
    where they are wide, not (2 THz: up to 21 %, isotope widths 13 %)."""
    def widths(sigma, factors):
        a = Anharmonic(mgo, 4, [300.0], smearing=sigma, isotopes=True, occupation_factors=factors)
        lw = a.linewidths()
        return lw.gamma.values[0, 1:], np.asarray(lw.gamma_isotope.values)
    for sigma, lo, hi in ((0.005, 0.0, 3e-5), (2.0, 0.1, 0.5)):
        (g_on, i_on), (g_off, i_off) = widths(sigma, "on-shell"), widths(sigma, "off-shell")
        assert i_off.shape == (1,) + i_on.shape
        rel = np.abs(g_off / g_on - 1).max()
        assert lo <= rel <= hi, (sigma, rel)
        rel_iso = np.abs(i_off[0, 1:] / i_on[1:] - 1).max()
        assert rel_iso <= hi, (sigma, rel_iso)


def test_off_shell_scattering_in_on_the_shell():
    """On the energy shell the off-shell weight of the scattering-in, W / sqrt(n(n + 1) m(m + 1)), is the on-shell
    sqrt(n3(n3 + 1)) of the third mode, for each of the three delta functions and either partner."""
    T = np.array([50.0, 300.0])
    S = np.ones((1, 1, 1, 1))
    # (delta, nu, nu', nu''): nu = nu' + nu'', nu'' = nu + nu', nu' = nu + nu''
    for k, nu, f1, f2 in ((0, 8.0, 3.0, 5.0), (1, 2.0, 3.0, 5.0), (2, 5.0, 8.0, 3.0)):
        d = np.zeros((3, 1, 1, 1, 1))
        d[k] = 1.0
        a, b = off_shell_scattering_in(S, d, np.array([nu]), np.array([[f1]]), np.array([[f2]]), T, 1e-4)
        np.testing.assert_allclose(a[:, 0, 0, 0], pair_occupations(f2, T), rtol=1e-12)      # partner q', third q''
        np.testing.assert_allclose(b[:, 0, 0, 0], pair_occupations(f1, T), rtol=1e-12)      # partner q'', third q'
    a, b = off_shell_scattering_in(S, d, np.array([5.0]), np.array([[8.0]]), np.array([[3.0]]), np.array([0.0]), 1e-4)
    assert not a.any() and not b.any()                                         # T = 0: nothing scatters in


def test_isotope_overlap_in_a_fixed_basis(mgo):
    """TDEP's overlap depends on the eigenvectors inside degenerate subspaces; the calculator puts them in
    the basis of ``cartesian_basis`` first: a random unitary rotation inside every degenerate subspace of its
    eigenvectors changes no isotope width (1e-12), where it moves the widths of the overlap taken as given."""
    a = Anharmonic(mgo, 4, [300.0], smearing="adaptive", isotopes=True, isotope_overlap="tdep")
    it = a.interaction
    gps = a.grid.irreducible
    before = a.isotope_gamma(gps)
    e = it.eigenvectors.copy()
    rng = np.random.default_rng(7)
    for q, b in degenerate_subspaces(it.frequencies, a.degeneracy_tol):
        z = rng.normal(size=(len(q), b.shape[1], b.shape[1])) + 1j * rng.normal(size=(len(q), b.shape[1], b.shape[1]))
        u, _ = np.linalg.qr(z)                                                  # (m, g, g) unitary
        e[q[:, None], :, b] = np.swapaxes(np.take_along_axis(e[q], b[:, None, :], axis=2) @ u, 1, 2)
    raw = isotope_gamma(it.frequencies, it.eigenvectors, a.mass_variances, a.grid, gps, deltas=a.deltas,
                        overlap="tdep")
    it.eigenvectors = e
    after = a.isotope_gamma(gps)
    np.testing.assert_allclose(after, before, rtol=1e-12, atol=1e-15)
    moved = isotope_gamma(it.frequencies, e, a.mass_variances, a.grid, gps, deltas=a.deltas, overlap="tdep")
    assert np.abs(moved / np.where(raw > 0, raw, 1) - 1).max() > 1e-3


def test_rta_and_lbte_take_the_same_widths(an):
    """With off-shell factors (isotope widths per temperature) the RTA of ``thermal_conductivity`` and the one the
    LBTE gives beside its solution are one."""
    rta = an.thermal_conductivity()
    lbte = an.thermal_conductivity(method="lbte")
    assert rta.gamma_isotope.dims == ("temperature", "q", "branch")
    np.testing.assert_allclose(lbte.kappa_rta.values, rta.kappa.values, rtol=1e-12)
    assert rta.attrs["method"] == "adaptive gaussian (TDEP 2023)" and rta.attrs["occupation_factors"] == "off-shell"


def test_self_energy_at_given_frequencies(an):
    """The self-energy on a frequency axis (each branch with its own width, the off-shell occupation at each
    frequency) is, at the branches' own frequencies, the widths of :meth:`Anharmonic.linewidths`' sums."""
    q = 5
    at = an.self_energy(q, frequencies=an.frequencies[q]).gamma                  # (nt, nb, nw)
    np.testing.assert_allclose(np.diagonal(at, axis1=1, axis2=2), an.self_energy(q).gamma, rtol=1e-12)
    sf = an.spectral_function([q], n_points=21)
    assert np.isfinite(sf.spectral_function.values).all() and float(sf.gamma.isel(frequency=0).max()) == 0.0


def test_refusals(mgo):
    with pytest.raises(ValueError, match="occupation_factors must be one of"):
        Anharmonic(mgo, 2, [300.0], smearing=0.1, occupation_factors="tdep")
    with pytest.raises(ValueError, match="occupation='quantum'"):
        Anharmonic(mgo, 2, [300.0], smearing=0.1, occupation="classical", occupation_factors="off-shell")
    with pytest.raises(ValueError, match="adaptive smearing is available on regular meshes"):
        Anharmonic(mgo, [[-1, 1, 1], [1, -1, 1], [1, 1, -1]], [300.0], smearing="adaptive-tdep2023")
    a = Anharmonic(mgo, 2, [300.0], smearing=0.1)
    with pytest.raises(ValueError, match="truncate cuts Gaussians"):
        DeltaWeights(a.grid, a.frequencies, None, mgo.primitive.reciprocal_cell, truncate=4.0)
    with pytest.raises(ValueError, match="isotope_variances needs"):
        DeltaWeights(a.grid, a.frequencies, 0.1, isotope_variances=np.ones(3))
