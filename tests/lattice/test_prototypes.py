"""Primitive cells of common structures (trajmodes.lattice.prototypes) and supercells (Crystal.supercell)."""
from __future__ import annotations

import numpy as np
import pytest

from trajmodes.lattice.geometry import pairs_within
from trajmodes.lattice.prototypes import prototype


@pytest.mark.parametrize("name, species, a, kw, group, nn, n_nn", [
    ("fcc", "Cu", 3.615, {}, "Fm-3m", 3.615 / np.sqrt(2), 12),
    ("bcc", "Fe", 2.87, {}, "Im-3m", 2.87 * np.sqrt(3) / 2, 8),
    ("sc", "Po", 3.35, {}, "Pm-3m", 3.35, 6),
    ("diamond", "Si", 5.431, {}, "Fd-3m", 5.431 * np.sqrt(3) / 4, 4),
    ("zincblende", ("Ga", "As"), 5.65, {}, "F-43m", 5.65 * np.sqrt(3) / 4, 4),
    ("rocksalt", ("Na", "Cl"), 5.64, {}, "Fm-3m", 5.64 / 2, 6),
    ("hcp", "Mg", 3.21, {}, "P6_3/mmc", 3.21, 12),
    ("lonsdaleite", "Si", 3.84, {}, "P6_3/mmc", 3.84 * np.sqrt(3 / 8), 4),
    ("wurtzite", ("Ga", "N"), 3.19, dict(c=5.19, u=0.377), "P6_3mc", None, 4),
])
def test_prototypes_have_their_space_group_and_coordination(name, species, a, kw, group, nn, n_nn):
    cr = prototype(name, species, a, **kw)
    assert cr.space_group_symbol == group
    i, j, d = pairs_within(cr.cell, cr.positions, 1.2 * (nn or 2.0))
    r = np.linalg.norm(d, axis=1)
    rmin = r.min()
    if nn is not None:
        assert rmin == pytest.approx(nn, rel=1e-12)
    assert np.all(np.bincount(i[r < rmin * 1.02] if name != "wurtzite" else i[r < rmin * 1.05],
                              minlength=cr.n_atoms) == n_nn)


def test_prototype_refuses_bad_input():
    with pytest.raises(ValueError, match="unknown structure"):
        prototype("perovskite", "Ba", 4.0)
    with pytest.raises(ValueError, match="two species"):
        prototype("rocksalt", "Na", 5.6)
    with pytest.raises(ValueError, match="cubic"):
        prototype("diamond", "Si", 5.4, c=3.0)
    with pytest.raises(ValueError, match="positive"):
        prototype("fcc", "Cu", -1.0)


@pytest.mark.parametrize("matrix", [2, (1, 2, 3), [[-1, 1, 1], [1, -1, 1], [1, 1, -1]], [[2, 1, 0], [0, 1, 0], [0, 0, 2]]])
def test_supercell_is_the_commensurate_lattice(matrix):
    prim = prototype("diamond", "Si", 5.431)
    sc = prim.supercell(matrix)
    M = np.diag(np.broadcast_to(np.asarray(matrix), (3,))) if np.ndim(matrix) <= 1 else np.asarray(matrix)
    n = round(abs(np.linalg.det(M)))
    assert sc.n_atoms == 2 * n
    np.testing.assert_allclose(sc.cell, M @ prim.cell, atol=1e-12)
    smap = sc.supercell_map(prim)
    assert np.bincount(smap.atom).tolist() == [n, n]
    # no two atoms coincide, all inside the cell
    fr = sc.scaled_positions
    assert fr.min() >= -1e-12 and fr.max() < 1
    i, j, d = pairs_within(sc.cell, sc.positions, 2.0)
    assert len(i) == 0
    assert sc.space_group_symbol == "Fd-3m"


def test_supercell_refuses_a_singular_matrix():
    with pytest.raises(ValueError, match="positive determinant"):
        prototype("fcc", "Cu", 3.6).supercell([[1, 0, 0], [1, 0, 0], [0, 0, 1]])


def test_default_species_takes_as_many_elements_as_the_structure_has_species():
    """The species of a crystal the user names none of: the potential's first element, its first two for the
    structures of two species (zincblende, rocksalt, wurtzite, L1_2)."""
    from trajmodes.lattice.prototypes import default_species
    assert default_species("fcc", ["Cu", "Ni"]) == ["Cu"]
    assert default_species("zincblende", ["Ga", "As", "In"]) == ["Ga", "As"]
    assert default_species("L12", ["Ni", "Al"]) == ["Ni", "Al"]
    with pytest.raises(ValueError, match="needs two species"):
        default_species("rocksalt", ["Na"])
    with pytest.raises(ValueError, match="names no element"):
        default_species("diamond", [])
