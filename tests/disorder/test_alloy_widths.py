"""The lowest-order disorder widths (trajmodes.disorder.perturbative) on fcc Lennard-Jones samples: the mass term is
Tamura's isotope width on the same cell, the force-constant term's matrix elements are the variance of the exact
lineshapes, and the exact lineshapes take the sample's own constants (force-constant disorder)."""
import numpy as np
import pytest

from tests.support.lammps_alloy import A0, POTENTIAL, SIGMA
from trajmodes.disorder.mass_disorder import exact_lineshapes, sample_dynamical_matrix, site_masses
from trajmodes.disorder.perturbative import disorder_widths
from trajmodes.lattice.crystal import Crystal
from trajmodes.potentials.pair import LennardJones
from trajmodes.units import THZ

FCC = np.array([[0.0, 0.5, 0.5], [0.5, 0.0, 0.5], [0.5, 0.5, 0.0]])
N_CELL = 6


def lattice(mass=63.55):
    prim = Crystal(FCC * A0, [[0.0, 0.0, 0.0]], ["Cu"], [mass])
    return prim, prim.supercell(N_CELL)


def test_mass_term_is_tamuras_isotope_width_on_the_same_cell():
    """Half the atoms 15 % lighter, half 15 % heavier (g2 = 0.0225) on 216 sites, Gaussian delta functions of the
    same width: over the modes above 1 THz the sample's widths are Tamura's (disorder-averaged, first order in the
    mass differences) within a few percent, and the constants add nothing."""
    import trajmodes
    from trajmodes.lattice.grid import Grid
    from trajmodes.phonons.anharmonic.isotope import isotope_gamma
    prim, sc = lattice()
    masses = 63.55 * (1 + 0.15 * np.where(np.random.default_rng(0).random(sc.n_atoms) < 0.5, -1, 1))
    lj = LennardJones(0.15, SIGMA, cutoff=0.85 * A0)
    fc = lj.force_constants(sc, prim, layout="compact")
    w = disorder_widths(fc, masses, sigma=0.25)
    assert np.abs(w.gamma_fc.values).max() == 0.0 and np.abs(w.gamma_cross.values).max() == 0.0
    mbar, g2 = site_masses(masses, fc.smap)
    vca = lj.force_constants(sc, Crystal(prim.cell, prim.positions, prim.species, mbar), layout="compact")
    grid = Grid(N_CELL)
    f, e = trajmodes.Phonons(vca).dm.frequencies_and_eigenvectors(grid.qpoints)
    gps = grid.index(np.rint(w.qpoint.values * N_CELL).astype(int) % N_CELL)
    tamura = isotope_gamma(f, e, g2, grid, gps, smearing=0.25)
    ok = w.frequency.values > 1.0
    ratio = w.gamma_mass.values[ok] / tamura[ok]
    assert np.median(ratio) == pytest.approx(1.0, abs=0.05), np.median(ratio)
    assert w.gamma_mass.values[ok].sum() / tamura[ok].sum() == pytest.approx(1.0, abs=0.05)
    assert np.allclose(w.gamma.values, w.gamma_mass.values)


@pytest.fixture(scope="module")
def alloy():
    prim, sc = lattice()
    species = np.where(np.random.default_rng(1).random(sc.n_atoms) < 0.5, "Ni", "Cu")
    sample = Crystal(sc.cell, sc.positions, species)
    phi = POTENTIAL.sparse_force_constants(sample)
    # the virtual crystal: the sample's constants averaged over its translations and orbits (a fit's fc2_)
    from trajmodes.forceconstants.alloy import species_pair_basis
    smap = sc.supercell_map(prim)
    basis = species_pair_basis(sc, prim, smap, [0], 4.0, species)
    from trajmodes.forceconstants.model import ForceConstants
    fc = ForceConstants(basis.to_compact(basis.project_sample(phi)), sc, prim, smap=smap, p2s=[0])
    return fc, phi, sample


def test_force_constant_term_matrix_elements_are_the_variance_of_the_exact_lineshapes(alloy):
    """Equal masses: Delta is the constants' alone, and with delta functions far broader than the band the sum over
    k of |<k|Delta|q nu>|^2 is the variance of lambda = (nu / THZ)^2 over the exact lineshape of (q nu)."""
    fc, phi, sample = alloy
    m = np.full(sample.n_atoms, 63.55)
    sigma = 1e4
    w = disorder_widths(fc, m, phi, sigma=sigma)
    top = np.abs(w.gamma_fc.values).max()
    assert np.abs(w.gamma_mass.values).max() < 1e-12 * top and np.abs(w.gamma_cross.values).max() < 1e-12 * top
    nu = w.frequency.values
    ok = nu > 1e-3
    summed = (w.gamma_fc.values * 4 * nu ** 2 / (np.pi * THZ ** 4) * np.sqrt(2 * np.pi) * sigma)[ok]
    ex = exact_lineshapes(fc, m, qpoints=w.qpoint.values, sample_constants=phi)
    lam = np.sign(ex.mode_frequency.values) * (ex.mode_frequency.values / THZ) ** 2
    W = ex.weight.values
    var = W @ lam ** 2 - (W @ lam) ** 2
    from trajmodes.disorder.perturbative import _degenerate_mean
    var = _degenerate_mean(var, nu, 1e-4)
    assert summed == pytest.approx(var[ok], rel=1e-6)
    # the exact first moment of each line: lambda_vca + <q nu|Delta|q nu>, the first-order shift
    D = sample_dynamical_matrix(fc, m, phi)
    first = (nu / THZ) ** 2 + 2 * nu * w.first_order_shift.values / THZ ** 2
    assert np.allclose(W @ lam, first, atol=1e-8 * lam.max())
    assert D.shape == (3 * sample.n_atoms,) * 2


def test_terms_scale_as_the_disorder(alloy):
    """Constants Phi_v + t (Phi - Phi_v): the force-constant term goes as t^2, the cross term as t, the mass term
    stays; with the masses disordered too, the three add to the width of the whole Delta."""
    fc, phi, sample = alloy
    m = sample.masses
    phi_v = sample_dynamical_matrix(fc, np.ones(sample.n_atoms))
    w1 = disorder_widths(fc, m, phi, sigma=0.2)
    w2 = disorder_widths(fc, m, phi_v + 0.5 * (phi - phi_v), sigma=0.2)
    assert np.allclose(w2.gamma_fc.values, 0.25 * w1.gamma_fc.values, rtol=1e-9, atol=1e-14)
    assert np.allclose(w2.gamma_cross.values, 0.5 * w1.gamma_cross.values, rtol=1e-9, atol=1e-14)
    assert np.allclose(w2.gamma_mass.values, w1.gamma_mass.values, rtol=1e-12)
    assert float(w1.gamma_fc.mean()) > 10 * float(w1.gamma_mass.mean()) > 0     # Cu/Ni masses, 2.5x stiffer bonds


def test_exact_lineshapes_take_the_sample_constants(alloy):
    """The sample's own matrix in the exact lineshapes: its moments are those of D with the disordered constants, and
    they differ from the virtual crystal's constants repeated over the lattice."""
    fc, phi, sample = alloy
    m = sample.masses
    q = [[0.5, 0.0, 0.0], [1 / 3, 1 / 3, 0.0]]
    ex = exact_lineshapes(fc, m, qpoints=q, sample_constants=phi)
    plain = exact_lineshapes(fc, m, qpoints=q)
    D = sample_dynamical_matrix(fc, m, phi).toarray()
    from trajmodes.disorder.mass_disorder import virtual_crystal_modes
    _, v = virtual_crystal_modes(fc, site_masses(m, fc.smap)[0], q)
    lam = (ex.mode_frequency.values / THZ) ** 2 * np.sign(ex.mode_frequency.values)
    first = np.einsum("qib,ij,qjb->qb", v.conj(), D, v).real
    assert np.allclose(ex.weight.values @ lam, first, atol=1e-9 * lam.max())
    assert float(ex.rms_width.mean()) > 5 * float(plain.rms_width.mean())
    with pytest.raises(ValueError, match="sample_constants has shape"):
        sample_dynamical_matrix(fc, m, phi[:9, :9])
