"""Crystal: masses, symmetry, primitive cell and supercell map (noise-tolerant)."""
import numpy as np
import pytest

from tests.support.crystals import A_CU, FCC, NONDIAG, supercell
from trajmodes import Crystal, Structure

def test_masses_and_symmetry():
    c = Crystal(FCC, [[0, 0, 0]], ["Cu"])
    assert c.masses[0] == pytest.approx(63.546, abs=1e-3)
    assert c.space_group_number == 225 and c.space_group_symbol == "Fm-3m"
    assert c.rotations.shape == (48, 3, 3) and c.translations.shape == (48, 3)
    assert Crystal(FCC, [[0, 0, 0]], ["X"], masses=[10.0]).masses[0] == 10.0
    with pytest.raises(ValueError, match="masses"):
        Crystal(FCC, [[0, 0, 0]], ["X"])


def test_from_structure_uses_origin():
    s = Structure(positions=[[1.0, 1.0, 1.0]], cell=FCC, species=["Cu"], origin=[1.0, 1.0, 1.0])
    c = Crystal.from_structure(s)
    assert np.allclose(c.positions, 0)


@pytest.mark.parametrize("S", [np.diag([4, 4, 4]), NONDIAG])
def test_fcc_supercell_map(S):
    prim = Crystal(FCC, [[0, 0, 0]], ["Cu"])
    sc = supercell(prim, S, shuffle_seed=3)
    p = sc.primitive()
    assert p.n_atoms == 1 and p.volume == pytest.approx(prim.volume)
    m = sc.supercell_map(prim)
    assert np.array_equal(m.matrix, S) and m.n_cells == sc.n_atoms
    assert np.allclose(sc.ideal_positions(prim, m), sc.positions)
    # every (atom, lattice vector mod S) exactly once; index() inverts the map, modulo S
    assert np.array_equal(m.index(m.atom, m.lattice + S[1] - 2 * S[2]), np.arange(sc.n_atoms))


def test_diamond_primitive_and_noise():
    a = 5.431
    prim = Crystal(FCC / A_CU * a, np.array([[0, 0, 0], [.25, .25, .25]]) * a, ["Si", "Si"])
    sc = supercell(prim, np.diag([3, 3, 3]), shuffle_seed=1)
    rng = np.random.default_rng(0)
    small = Crystal(sc.cell, sc.positions + rng.normal(0, 1e-3, sc.positions.shape), sc.species)
    p = small.primitive(symprec=1e-2)
    assert p.n_atoms == 2 and p.volume == pytest.approx(prim.volume, rel=1e-9)
    assert small.symmetry(1e-2).number == 227
    m0 = sc.supercell_map(p)
    assert np.abs(sc.ideal_positions(p, m0) - sc.positions).max() < 5e-3   # averaged: noise / sqrt(27)
    # thermal noise of 0.1 A per component: the map is unchanged
    hot = Crystal(sc.cell, sc.positions + rng.normal(0, 0.1, sc.positions.shape), sc.species)
    m = hot.supercell_map(p)
    assert np.array_equal(m.atom, m0.atom) and np.array_equal(m.lattice, m0.lattice)
    assert m.distance.max() < 0.6


def test_shifted_primitive_and_errors():
    prim = Crystal(FCC, [[0, 0, 0]], ["Cu"])
    sc = supercell(prim, np.diag([2, 2, 2]))
    shifted = Crystal(FCC, [[0.3, 0.1, 0.2]], ["Cu"])
    m = sc.supercell_map(shifted)
    assert np.allclose(m.shift, [-0.3, -0.1, -0.2])
    assert np.allclose(sc.ideal_positions(shifted, m), sc.positions)
    with pytest.raises(ValueError, match="integer supercell"):
        sc.supercell_map(Crystal(FCC * 1.1, [[0, 0, 0]], ["Cu"]))
    with pytest.raises(ValueError, match="atoms"):
        Crystal(sc.cell, sc.positions[:-1], sc.species[:-1]).supercell_map(prim)


def test_differences_name_what_makes_another_cell():
    """Two descriptions of one unit cell are the same cell only with the same lattice vectors, atoms and positions
    (modulo the lattice): reduced q-points and eigenvectors of constants on them are then interchangeable."""
    from trajmodes.lattice.prototypes import prototype
    a = prototype("rocksalt", ("Mg", "O"), 4.2)
    same = Crystal(a.cell, a.positions + a.cell[0], a.species)                 # a lattice vector away: the same
    assert a.differences(same) is None
    assert "lattice vectors" in a.differences(Crystal(a.cell[[1, 0, 2]], a.positions, a.species))
    assert "atoms (O Mg" in a.differences(Crystal(a.cell, a.positions[::-1], a.species[::-1]))
    assert "other positions" in a.differences(Crystal(a.cell, a.positions + 0.01, a.species))


def test_scaled_positions_is_a_property_of_both_classes():
    """Structure.scaled_positions is a property, as Crystal's, a plain array."""
    s = Structure(positions=[[1.0, 1.0, 1.0], [2.0, 2.5, 1.5]], cell=FCC, species=["Cu", "Cu"], origin=[0.5, 0, 0])
    c = Crystal.from_structure(s)
    assert np.allclose(s.scaled_positions, c.scaled_positions)
    assert type(s.scaled_positions) is np.ndarray and type(s.scaled_positions + 1) is np.ndarray


@pytest.mark.parametrize("block", [1, 37, 1 << 15])
def test_all_shortest_images_in_blocks(monkeypatch, block):
    """The Wigner-Seitz images of every vector (phonopy's shared constants) are compared a block of vectors at a time
    (all at once held 125 images of each: 10 GB for an 864,000-atom supercell): the same images, in the same order,
    multiplicities and indices as every image of a vector compared directly, for boundary vectors with ties."""
    from trajmodes.lattice import geometry
    rng = np.random.default_rng(0)
    basis = np.array([[3.0, 0, 0], [1.5, 2.6, 0], [0.3, 0.2, 3.0]])
    frac = rng.integers(-4, 5, (7, 30, 3)) / 4.0                   # on the cell's boundaries: equal images
    monkeypatch.setattr(geometry, "IMAGE_BLOCK", block)
    index, images, mult = geometry.all_shortest_images(frac, basis)
    shifts = np.array([[i, j, k] for i in range(-3, 4) for j in range(-3, 4) for k in range(-3, 4)])
    want_index, want_images = [], []
    for a in range(7):
        for b in range(30):
            cand = frac[a, b] - np.rint(frac[a, b]) + shifts
            length = np.linalg.norm(cand @ basis, axis=1)
            best = cand[length <= length.min() + 1e-5]
            assert mult[a, b] == len(best)
            want_index += [(a, b)] * len(best)
            want_images.append(best[np.lexsort(best.T[::-1])])
    assert list(zip(*index)) == want_index
    # the shortest image of each (shortest_images, by blocks too): one of those images, of the shortest length
    one = geometry.shortest_images(frac, basis)
    np.testing.assert_allclose(np.linalg.norm(one @ basis, axis=-1),
                               np.linalg.norm(geometry.shortest_images(frac.reshape(-1, 3), basis) @ basis,
                                              axis=-1).reshape(7, 30), atol=1e-12)
    first = np.array([np.linalg.norm(w[0] @ basis) for w in want_images]).reshape(7, 30)
    np.testing.assert_allclose(np.linalg.norm(one @ basis, axis=-1), first, atol=1e-9)
    # images of a vector side by side, vectors in C order (each vector's images sorted here to compare)
    got = np.concatenate([g[np.lexsort(g.T[::-1])] for g in np.split(images, np.cumsum(mult.reshape(-1))[:-1])])
    np.testing.assert_allclose(got, np.concatenate(want_images), atol=1e-12)


def test_neighbours_compare_image_by_image_only_atoms_that_can_be_near():
    """The neighbours of an atom within a cutoff are those every atom's shortest image gives (all compared), for
    skewed cells, cutoffs beyond half the cell and atoms on the cell's boundaries, in the same order with the same
    vectors; in a big cell only the atoms that can be near are compared image by image (the rest are ruled out by
    the cell's smallest singular value)."""
    from trajmodes.lattice import geometry
    rng = np.random.default_rng(3)
    for trial in range(60):
        cell = rng.normal(size=(3, 3)) * rng.uniform(2, 8) + np.eye(3) * rng.uniform(0, 10)
        cell[0] *= np.sign(np.linalg.det(cell))
        frac = rng.uniform(0, 1, (int(rng.integers(5, 300)), 3))
        frac[:5] = rng.integers(0, 3, (5, 3)) / 2.0                   # on the boundaries: ties between images
        x = frac @ cell
        centre, cutoff = int(rng.integers(len(x))), float(rng.uniform(0.5, 12))
        r = geometry.shortest_vectors(x - x[centre], cell)
        want = np.flatnonzero(np.linalg.norm(r, axis=1) <= cutoff + 1e-3)
        got, vectors = geometry.neighbours(x, cell, centre, cutoff, tol=1e-3)
        assert np.array_equal(got, want) and np.array_equal(vectors, r[want])
    big = (np.stack(np.meshgrid(*[np.arange(40)] * 3, indexing="ij"), -1).reshape(-1, 3) + 0.5) * 2.55
    compared = []
    real = geometry.shortest_images
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(geometry, "shortest_images", lambda f, b: compared.append(len(f)) or real(f, b))
        got, _ = geometry.neighbours(big, np.eye(3) * 102.0, 0, 2.7)
    assert len(got) == 7 and compared == [7]                       # itself and its 6 neighbours of the cubic lattice


def test_the_types_are_kept_for_the_species_and_masses_they_were_made_of():
    """``Crystal.types`` (asked a dozen times by a fit's symmetry search, 36 ms each at 10^6 atoms) is made once for
    the crystal's species and masses, read-only, and made again where either is replaced."""
    c = Crystal(4.0 * np.eye(3), [[0, 0, 0], [2, 2, 2], [1, 1, 1]], ["Cu", "Au", "Cu"])
    t = c.types
    assert c.types is t and not t.flags.writeable and list(t) == [2, 1, 2]
    c.masses = np.array([63.5, 197.0, 65.0])                    # an isotope of its own: a type of its own
    assert list(c.types) == [2, 1, 3]
    c.species = np.array(["Ag", "Au", "Cu"])
    assert list(c.types) == [1, 2, 3]


@pytest.mark.parametrize("matrix", [np.diag([2, 3, 4]), 2 * np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]]),
                                    np.array([[2, 1, 0], [0, 3, 1], [1, 0, 2]]),
                                    np.array([[0, 3, 0], [2, 0, 0], [1, 1, 4]])])
def test_the_supercell_map_finds_the_atom_on_a_site_as_the_definition_says(matrix):
    """``SupercellMap.index`` (a table read on the grid of the Smith normal form) against its definition, on
    diagonal, fcc-conventional, skewed and negative-determinant supercells: the atom of that primitive atom whose
    lattice vector differs from the one asked by a supercell vector (n' - n) S^-1 integer; a site no atom holds is a
    KeyError, and where two atoms hold one site the first is the one."""
    from trajmodes.lattice.supercell import SupercellMap
    rng = np.random.default_rng(5)
    inv = np.linalg.inv(matrix)
    det = round(abs(np.linalg.det(matrix)))
    box = np.array([[i, j, k] for i in range(-6, 7) for j in range(-6, 7) for k in range(-6, 7)])
    reps = []
    for n in box:                              # one lattice vector of every class, found by the definition
        if not any(np.allclose((n - r) @ inv, np.rint((n - r) @ inv), atol=1e-9) for r in reps):
            reps.append(n)
    assert len(reps) == det
    atom = np.repeat([0, 1], det)
    lattice = np.concatenate([reps, reps]) + rng.integers(-3, 4, size=(2 * det, 1)) * matrix[rng.integers(0, 3)]
    order = rng.permutation(2 * det)
    smap = SupercellMap(matrix, atom[order], lattice[order], np.zeros(2 * det))
    assert smap.one_to_one
    a, n = rng.integers(0, 2, size=50), rng.integers(-20, 21, size=(50, 3))
    got = smap.index(a, n)
    for k in range(50):
        same = [j for j in range(2 * det) if smap.atom[j] == a[k]
                and np.allclose((smap.lattice[j] - n[k]) @ inv, np.rint((smap.lattice[j] - n[k]) @ inv), atol=1e-9)]
        assert same == [got[k]]
    with pytest.raises(KeyError):
        smap.index(np.array([2]), np.zeros((1, 3), dtype=int))          # no such primitive atom
    gone = SupercellMap(matrix, smap.atom[1:], smap.lattice[1:], np.zeros(2 * det - 1))
    with pytest.raises(KeyError):
        gone.index(smap.atom[:1], smap.lattice[:1])
    twice = SupercellMap(matrix, np.append(smap.atom, smap.atom[3]), np.vstack([smap.lattice, smap.lattice[3] +
                                                                                 matrix[0]]), np.zeros(2 * det + 1))
    assert not twice.one_to_one and twice.index(smap.atom[3:4], smap.lattice[3:4])[0] == 3
