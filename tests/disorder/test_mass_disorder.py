"""Exact harmonic lineshapes of a mass-disordered sample on its virtual crystal's modes: the weights are a
partition of each mode (sum to one), their first and second moments in lambda = (nu / THZ)^2 are those of the
sample's dynamical matrix on the mode vector (exact identities, not the diagonalisation's), the ordered crystal gives
each mode back as one line, and the kernel polynomial route gives the diagonalisation's spectra."""
import numpy as np
import pytest

from tests.support.crystals import diamond_si
from tests.support.morse import morse_fc
from trajmodes import Crystal, ForceConstants
from trajmodes.disorder.mass_disorder import (exact_lineshapes, kpm_lineshapes, sample_dynamical_matrix, site_masses,
                                              virtual_crystal_modes)
from trajmodes.lattice.qpoints import commensurate_qpoints
from trajmodes.phonons.harmonic.dynamical import DynamicalMatrix
from trajmodes.potentials.bvk import force_constants_from_bvk
from trajmodes.units import THZ


def _fcc(cells=3):
    return force_constants_from_bvk({"1XX": 13.3, "1ZZ": -1.3, "1XY": 14.7}, "fcc", a=3.615, mass=63.55,
                                    supercell=(cells,) * 3)


def _si():
    prim = diamond_si()
    prim = Crystal(prim.cell, prim.positions, prim.species, [28.0855, 28.0855])
    sc = prim.supercell(np.diag([3, 3, 3]))
    return ForceConstants(morse_fc(sc, D0=2.0, alpha=1.5, r0=2.35, cutoff=9.0), sc, prim)


def _masses(fc, contrast, seed):
    """Two isotopes, half and half at random, ``contrast`` apart relative to their mean."""
    rng = np.random.default_rng(seed)
    m0 = fc.primitive.masses[fc.smap.atom]
    heavy = rng.permutation(len(m0)) < len(m0) // 2
    return m0 * np.where(heavy, 1 + contrast / 2, 1 - contrast / 2)


def test_site_masses_are_the_mean_and_tamuras_variance():
    fc = _si()
    m = _masses(fc, 0.3, 1)
    mbar, g2 = site_masses(m, fc.smap)
    for k in range(2):
        mk = m[fc.smap.atom == k]
        assert mbar[k] == pytest.approx(mk.mean(), rel=1e-14)
        assert g2[k] == pytest.approx(np.mean((1 - mk / mk.mean()) ** 2), rel=1e-12)
    with pytest.raises(ValueError, match="one mass per atom"):
        site_masses(m[:-1], fc.smap)


@pytest.mark.parametrize("case", ["fcc", "si"])
def test_the_sample_matrix_of_the_ordered_crystal_has_the_virtual_crystals_modes(case):
    """Equal masses: the sample's D on each virtual-crystal mode vector is nu^2 times it (an eigenvector at the
    supercell's Gamma point), for every commensurate q and branch; the vectors are orthonormal."""
    fc = _fcc() if case == "fcc" else _si()
    m = fc.primitive.masses[fc.smap.atom]
    D = sample_dynamical_matrix(fc, m)
    assert abs(D - D.T).max() == 0
    q = commensurate_qpoints(fc.smap.matrix)
    f, v = virtual_crystal_modes(fc, fc.primitive.masses, q)
    np.testing.assert_allclose(f, DynamicalMatrix(fc).frequencies(q), atol=1e-6)
    lam = np.sign(f) * (f / THZ) ** 2
    for b in range(len(q)):
        Dv = D @ v[b]
        assert np.abs(Dv - v[b] * lam[b][None, :]).max() < 1e-9 * np.abs(lam).max()
    V = v.transpose(1, 0, 2).reshape(v.shape[1], -1)
    np.testing.assert_allclose(V.conj().T @ V, np.eye(V.shape[1]), atol=1e-10)


def test_ordered_crystal_gives_each_mode_back_as_one_line():
    fc = _fcc()
    ds = exact_lineshapes(fc, fc.primitive.masses[fc.smap.atom])
    np.testing.assert_allclose(ds.frequency_shift.values, 0, atol=1e-6)
    np.testing.assert_allclose(ds.rms_width.values, 0, atol=2e-6)
    assert float(ds.attrs["g2"][0]) < 1e-28


@pytest.mark.parametrize("case", ["fcc", "si"])
def test_weights_partition_each_mode_and_keep_the_exact_moments(case):
    fc = _fcc() if case == "fcc" else _si()
    m = _masses(fc, 0.3, 2)
    ds = exact_lineshapes(fc, m)
    W = ds.weight.values
    np.testing.assert_allclose(W.sum(axis=-1), 1.0, atol=1e-10)
    # sum_s W lambda_s = v^dag D v and sum_s W lambda_s^2 = |D v|^2, from the sparse matrix itself
    D = sample_dynamical_matrix(fc, m)
    mbar, _ = site_masses(m, fc.smap)
    _, v = virtual_crystal_modes(fc, mbar, ds.qpoint.values)
    lam_s = np.sign(ds.mode_frequency.values) * (ds.mode_frequency.values / THZ) ** 2
    for b in range(len(v)):
        Dv = D @ v[b]
        np.testing.assert_allclose(W[b] @ lam_s, np.einsum("ib,ib->b", v[b].conj(), Dv).real, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(W[b] @ lam_s ** 2, (np.abs(Dv) ** 2).sum(axis=0), rtol=1e-9, atol=1e-9)
    # each broadened line integrates to one; the disorder spreads it (a 30 % contrast)
    dnu = np.gradient(ds.frequency.values)
    inside = ds.frequency_vca.values > 1.0
    area = (ds.spectral_function.values * dnu).sum(axis=-1)
    assert np.all(np.abs(area[inside] - 1) < 0.05), area[inside].min()
    assert ds.rms_width.values[inside].mean() > 0.05


def test_kernel_polynomial_spectra_equal_the_diagonalisations():
    """The same sample by both routes: the Chebyshev moments of the sparse products equal sum_s W_s T_n(x_s) of the
    diagonalisation's modes and weights (an identity), and the resummed lines sit where the diagonalisation's do."""
    fc = _fcc(4)
    m = _masses(fc, 0.3, 3)
    q = commensurate_qpoints(fc.smap.matrix)[:6]
    kpm = kpm_lineshapes(fc, m, q, n_moments=256, frequencies=np.linspace(0, 9, 3000))   # the band edge's 1/sqrt
    ex = exact_lineshapes(fc, m, q)
    np.testing.assert_allclose(kpm.frequency_vca.values, ex.frequency_vca.values)
    nu = ex.mode_frequency.values
    x = (np.sign(nu) * (nu / THZ) ** 2 - kpm.attrs["b"]) / kpm.attrs["a"]
    T = np.cos(np.outer(np.arange(256), np.arccos(np.clip(x, -1, 1))))             # (moment, mode)
    mu = np.einsum("qbs,ns->qbn", ex.weight.values, T)
    assert np.abs(kpm.chebyshev_moments.values - mu).max() < 1e-9
    sel = ex.frequency_vca.values > 1.0
    dnu = np.gradient(kpm.frequency.values)
    np.testing.assert_allclose((kpm.spectral_function.values * dnu).sum(axis=-1)[sel], 1.0, atol=0.02)
    np.testing.assert_allclose(kpm.mean_frequency.values[sel], ex.mean_frequency.values[sel], atol=0.05)


def test_partial_dos_of_groups_by_the_kernel_polynomial_method():
    """The density of states on groups of atoms (the light and the heavy isotopes, one site) from sparse products:
    exact traces give the moments of the diagonalisation's modes, each group's density integrates to 3 per atom, and
    the light atoms carry the top of the band (their weight there exceeds the heavy atoms')."""
    from trajmodes.disorder.kpm import kpm_partial_dos
    fc = _fcc(3)
    m = _masses(fc, 0.3, 4)
    D = sample_dynamical_matrix(fc, m)
    light, heavy = np.flatnonzero(m < 63.55), np.flatnonzero(m > 63.55)
    axis = np.linspace(0, 9.5, 4000)
    ds = kpm_partial_dos(D, {"light": light, "heavy": heavy, "atom 0": [0]}, axis, n_moments=128, n_vectors=64)
    dnu = np.gradient(axis)
    np.testing.assert_allclose((ds.partial_dos.values * dnu).sum(axis=1), 3.0, rtol=0.01)
    assert ds.exact.sel(group="atom 0") and not ds.exact.sel(group="light")
    top = axis > 7.0
    assert (ds.partial_dos.sel(group="light").values[top] * dnu[top]).sum() > \
        2 * (ds.partial_dos.sel(group="heavy").values[top] * dnu[top]).sum()
    # atom 0, exact traces: its moments are sum_s abs(eps_s(0))^2 T_n(x_s) of the diagonalisation
    lam, eps = np.linalg.eigh(D.toarray())
    b, a = ds.attrs["lambda_centre"], ds.attrs["lambda_half_width"]
    w = (eps[:3] ** 2).sum(axis=0)
    from trajmodes.disorder.kpm import kpm_density
    mu = np.cos(np.outer(np.arange(128), np.arccos(np.clip((lam - b) / a, -1, 1)))) @ w
    ref = kpm_density(mu, b, a, (axis / THZ) ** 2) * 2 * axis / THZ ** 2
    np.testing.assert_allclose(ds.partial_dos.sel(group="atom 0").values, ref, rtol=1e-8, atol=1e-10)


def test_kernel_polynomial_lines_of_imaginary_modes_are_not_given_a_mean_on_the_real_axis():
    """Constants unstable at this supercell (Morse diamond to the second shell: imaginary modes down to -3.2 THz): the
    diagonalisation puts those lines at negative frequency; the kernel polynomial lines cover nu >= 0 only, so their
    mean is NaN with a warning, not a positive number, and the stable lines keep the diagonalisation's."""
    prim = diamond_si()
    prim = Crystal(prim.cell, prim.positions, prim.species, [28.0855, 28.0855])
    sc = prim.supercell(np.diag([2, 2, 2]))
    fc = ForceConstants(morse_fc(sc, D0=2.0, alpha=1.5, r0=2.35, cutoff=4.0, nimg=1), sc, prim)
    m = _masses(fc, 0.3, 5)
    ex = exact_lineshapes(fc, m)
    with pytest.warns(UserWarning, match="modes are imaginary"):
        kpm = kpm_lineshapes(fc, m, n_moments=512)
    imaginary = ex.frequency_vca.values < -1.0
    assert imaginary.any() and np.all(ex.mean_frequency.values[imaginary] < 0)
    assert np.all(np.isnan(kpm.mean_frequency.values[imaginary]))
    stable = ex.frequency_vca.values > 2.0
    np.testing.assert_allclose(kpm.mean_frequency.values[stable], ex.mean_frequency.values[stable], atol=0.1)
