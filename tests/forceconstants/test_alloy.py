"""Fits of a chemically disordered crystal: the virtual crystal found and fitted by default (with a warning), ordered
crystals of several species as before, and species-resolved pair constants recovered exactly from the forces of a
harmonic alloy with known constants (Lennard-Jones pairs of three well depths on fcc sites, cut between the first and
second shells, at the pair minimum: tests/support/lammps_alloy.py's potential)."""
import warnings

import numpy as np
import pytest

from tests.support.lammps_alloy import A0, POTENTIAL, bond_stiffness
from trajmodes.forceconstants.alloy import virtual_sites
from trajmodes.forceconstants.fit import EffectiveForceConstants
from trajmodes.forceconstants.settings import check_settings
from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.prototypes import prototype

FCC = np.array([[0.0, 0.5, 0.5], [0.5, 0.0, 0.5], [0.5, 0.5, 0.0]])


def alloy(n=6, seed=1, x=0.5):
    """fcc Cu(1-x)Ni(x) at random on an n x n x n primitive supercell."""
    sc = Crystal(FCC * A0, [[0.0, 0.0, 0.0]], ["Cu"]).supercell(n)
    species = np.where(np.random.default_rng(seed).random(sc.n_atoms) < x, "Ni", "Cu")
    return Crystal(sc.cell, sc.positions, species)


def harmonic_frames(crystal, phi, n_frames, seed=2, amplitude=0.03):
    rng = np.random.default_rng(seed)
    u = amplitude * rng.standard_normal((n_frames, crystal.n_atoms, 3))
    f = -(phi @ u.reshape(n_frames, -1).T).T.reshape(u.shape)
    return u, f


@pytest.fixture(scope="module")
def sample():
    c = alloy()
    phi = POTENTIAL.sparse_force_constants(c)
    u, f = harmonic_frames(c, phi, 400)
    return c, phi, u, f


def test_a_random_alloy_is_fitted_as_its_virtual_crystal_with_a_warning(sample):
    c, phi, u, f = sample
    with pytest.warns(UserWarning, match=r"species of the 216 atoms are disordered on the sites of a lattice with 1 "
                                         r"site\(s\) per primitive cell \(groups \(Cu Ni\)\): fitting the virtual"):
        est = EffectiveForceConstants(cutoff2=4.0).fit_arrays(c, u, f)
    assert est.primitive_.n_atoms == 1 and list(est.primitive_.species) == ["Cu-Ni"]
    assert est.primitive_.masses == pytest.approx([c.masses.mean()], rel=1e-12)
    assert est.virtual_sites_ is not None and list(est.sample_species_) == list(c.species)
    assert est.bases_[2].n_params < 10                       # the fcc shells, not 216 independent atoms
    # the configuration-averaged nearest-neighbour spring: the pair probabilities of the sample times phi''(r0)
    assert est.scores_.r2.values[0] > 0.9


def test_an_isotope_mixture_is_disordered_in_its_masses():
    sc = Crystal(FCC * A0, [[0.0, 0.0, 0.0]], ["Cu"]).supercell(4)
    m = np.where(np.random.default_rng(3).random(sc.n_atoms) < 0.5, 60.0, 66.0)
    vs = virtual_sites(Crystal(sc.cell, sc.positions, sc.species, m))
    assert vs is not None and vs.message.startswith("the masses of the 64 atoms are disordered")
    assert np.allclose(vs.supercell.masses, m.mean()) and set(vs.supercell.species) == {"Cu"}


def test_ordered_crystals_of_several_species_are_fitted_as_before():
    rock = prototype("rocksalt", ("Na", "Cl"), a=5.6).supercell(3)
    assert virtual_sites(rock) is None
    phi = POTENTIAL.sparse_force_constants(Crystal(rock.cell, rock.positions, ["Cu"] * rock.n_atoms)) * 0.1
    u, f = harmonic_frames(rock, phi, 40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                       # no word about disorder
        est = EffectiveForceConstants(cutoff2=4.5).fit_arrays(rock, u, f)
    assert est.primitive_.n_atoms == 2 and est.virtual_sites_ is None
    assert sorted(est.primitive_.species) == ["Cl", "Na"]


def test_a_disordered_sublattice_beside_an_ordered_one_keeps_the_ordered_one():
    """(Cu,Ni) at random on the cation sites of rocksalt with Cl on the anion sites: the cations share sites, the
    anions keep theirs (two sites per primitive cell, not one simple cubic lattice of everything)."""
    rock = prototype("rocksalt", ("Na", "Cl"), a=5.6).supercell(3)
    cation = rock.species == "Na"
    species = rock.species.copy().astype("<U2")
    species[cation] = np.where(np.random.default_rng(4).random(cation.sum()) < 0.5, "Cu", "Ni")
    vs = virtual_sites(Crystal(rock.cell, rock.positions, species))
    assert vs is not None and sorted(map(tuple, vs.groups)) == [("Cl",), ("Cu", "Ni")]
    assert vs.supercell.primitive().n_atoms == 2


def test_species_resolved_constants_of_a_harmonic_alloy_are_recovered_exactly(sample):
    c, phi, u, f = sample
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = EffectiveForceConstants(cutoff2=4.0, species_resolved=True).fit_arrays(c, u, f)
    P = est.sample_force_constants_
    assert abs(P - phi).max() < 1e-10 * abs(phi).max()
    # the sum rule atom by atom, the index symmetry
    assert np.abs(np.asarray(P.sum(axis=1)).reshape(-1, 3)).max() < 1e-10
    assert abs(P - P.T).max() < 1e-10
    tab = est.species_constants_
    nn = int(np.argmin(tab.distance.values))
    for a in ("Cu", "Ni"):
        for b in ("Cu", "Ni"):
            assert -float(tab.radial.sel(species_i=a, species_j=b)[nn]) == pytest.approx(bond_stiffness(a, b),
                                                                                      rel=1e-10)
    second = int(np.argmax(tab.distance.values))                      # beyond the potential's cutoff
    assert np.nanmax(np.abs(tab.block.values[second])) < 1e-10
    # each species pair's block has the bond's symmetry: a nearest-neighbour bond along (0, a/2, a/2) keeps
    # x -> -x and y <-> z (both ends in place), so its blocks are [[p, 0, 0], [0, q, r], [0, r, q]], three numbers
    # for each of Cu-Cu, Ni-Ni and Cu-Ni (Ni-Cu is its transpose); the second shell, (a, 0, 0), two
    x0 = int(np.argmin(np.abs(tab.bond.values[nn])))
    y, z = [i for i in range(3) if i != x0]
    X = tab.block.values[nn].reshape(4, 3, 3)
    assert np.abs(X[:, x0, [y, z]]).max() < 1e-10 and np.abs(X[:, [y, z], x0]).max() < 1e-10
    assert np.allclose(X[:, y, y], X[:, z, z], atol=1e-10) and np.allclose(X[:, y, z], X[:, z, y], atol=1e-10)
    assert est.bases_[2].n_params == 3 * 3 + 3 * 2
    assert est.scores_.rmse.values[0] < 1e-7 * np.sqrt(np.mean(f ** 2))


def test_virtual_crystal_average_of_the_species_resolved_constants_is_the_virtual_crystal_fit():
    c = alloy(seed=5)
    phi = POTENTIAL.sparse_force_constants(c)
    u, f = harmonic_frames(c, phi, 1200, seed=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vca = EffectiveForceConstants(cutoff2=4.0).fit_arrays(c, u, f).bootstrap(100)
        res = EffectiveForceConstants(cutoff2=4.0, species_resolved=True).fit_arrays(c, u, f)
    p_avg = vca.bases_[2].project(res.fc2_)
    z = (vca.params_[2] - p_avg) / vca.params_err_[2]
    # white displacements: the least-squares virtual crystal is the projection of the sample's matrix on the
    # symmetric translation-invariant matrices, i.e. its average with the pair probabilities of each orbit; the two
    # differ by the sampling noise of the finite run only
    assert np.abs(z).max() < 4.0, z
    assert np.abs(vca.fc2_ - res.fc2_).max() < 0.01 * np.abs(res.fc2_).max()
    # the average is not the constants of any one species pair
    k = [bond_stiffness(*p) for p in (("Cu", "Cu"), ("Ni", "Ni"), ("Cu", "Ni"))]
    nn = np.abs(vca.fc2_[0]).max()
    assert not any(np.isclose(nn, 2 * kk, rtol=0.02) for kk in k)


def test_species_resolved_settings_are_checked():
    with pytest.raises(ValueError, match="second-order constants per species pair only: drop cutoff3"):
        check_settings(EffectiveForceConstants(cutoff2=4.0, cutoff3=3.0, species_resolved=True))
    with pytest.raises(ValueError, match="needs a pair cutoff in A"):
        check_settings(EffectiveForceConstants(cutoff2="supercell", species_resolved=True))
    with pytest.raises(ValueError, match="needs a species-resolved fit"):
        EffectiveForceConstants().sample_force_constants_


def test_species_resolved_constants_carry_to_another_arrangement_and_supercell(sample):
    """Fitted on one random arrangement of 216 atoms, the constants give the exact matrix of another arrangement on a
    7 x 7 x 7 supercell (343 atoms, another concentration)."""
    from trajmodes.forceconstants.alloy import species_pair_basis
    c, phi, u, f = sample
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = EffectiveForceConstants(cutoff2=4.0, species_resolved=True).fit_arrays(c, u, f)
    other = alloy(n=7, seed=9, x=0.3)
    prim = est.primitive_
    sc = Crystal(other.cell, other.positions, ["Cu-Ni"] * other.n_atoms, [prim.masses[0]] * other.n_atoms)
    smap = sc.supercell_map(prim)
    basis = species_pair_basis(sc, prim, smap, [int(np.flatnonzero(smap.atom == 0)[0])], 4.0, other.species)
    p = est.bases_[2].transfer(est.params_[2], basis)
    exact = POTENTIAL.sparse_force_constants(other)
    assert abs(basis.sample_matrix(p) - exact).max() < 1e-10 * abs(exact).max()
    with pytest.raises(ValueError, match="not within this fit's cutoff"):
        big = species_pair_basis(sc, prim, smap, [int(np.flatnonzero(smap.atom == 0)[0])], 6.0, other.species)
        est.bases_[2].transfer(est.params_[2], big)


def test_a_species_resolved_fit_does_not_say_it_fits_the_virtual_crystal(sample):
    """The warning that a disordered sample is fitted as its virtual crystal belongs to the default fit only: a
    species-resolved fit fits what it was asked to."""
    c, phi, u, f = sample
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        EffectiveForceConstants(cutoff2=4.0, species_resolved=True).fit_arrays(c, u, f)
    assert not [w for w in said if "disordered on the sites of a lattice" in str(w.message)]
    with pytest.warns(UserWarning, match="disordered on the sites of a lattice"):
        EffectiveForceConstants(cutoff2=4.0).fit_arrays(c, u, f)
