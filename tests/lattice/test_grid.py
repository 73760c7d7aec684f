"""q-grids: regular meshes and the generalised grids of supercells that are not diagonal multiples of the primitive
cell (the conventional cubic cells of molecular dynamics runs)."""
from __future__ import annotations

import numpy as np
import pytest

from trajmodes.lattice.grid import Grid
from trajmodes.lattice.qpoints import commensurate_qpoints

FCC_CONVENTIONAL = np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]])      # conventional cell on the fcc primitive


def _fcc_rotations():
    from trajmodes.lattice.crystal import Crystal
    a = 3.6
    prim = Crystal(a / 2 * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]]), [[0, 0, 0]], ["Cu"])
    return prim, prim.rotations


def _as_set(q, det):
    return set(map(tuple, np.mod(np.rint(np.asarray(q) * det), det).astype(int).tolist()))


@pytest.mark.parametrize("n", [2, 3, 4])
def test_supercell_grid_is_the_commensurate_set(n):
    prim, rot = _fcc_rotations()
    S = n * FCC_CONVENTIONAL
    g = Grid(S, rot)
    det = round(abs(np.linalg.det(S)))
    assert g.n_points == det == 4 * n ** 3 and not g.is_regular
    assert _as_set(g.qpoints, det) == _as_set(commensurate_qpoints(S, centred=False), det)
    assert ((g.qpoints >= 0) & (g.qpoints < 1)).all()
    assert g.weights.sum() == det
    # every point's address round-trips, and the operations map the grid onto itself as the point group does
    assert np.array_equal(g.index(g.addresses_of(g.qpoints)), np.arange(det))
    for q in g.irreducible:
        tr = g.triplets(q)
        assert tr.weights.sum() == det
        np.testing.assert_allclose(g.qpoints[q] + g.qpoints[tr.q1] + g.qpoints[tr.q2], tr.shift, atol=1e-12)
    # the star of a point is its orbit under the reciprocal rotations
    from trajmodes.lattice.symmetry import reciprocal_rotations
    W = reciprocal_rotations(rot)
    for q in g.irreducible:
        orbit = _as_set(np.einsum("oab,b->oa", W, g.qpoints[q]), det)
        assert len(orbit) == g.weights[g.irreducible_of[q]]
        assert orbit == _as_set(g.qpoints[g.star_of == g.star_of[q]], det)


def test_diagonal_matrix_is_the_regular_mesh():
    _, rot = _fcc_rotations()
    a, b = Grid(np.diag([4, 4, 4]), rot), Grid([4, 4, 4], rot)
    assert a.is_regular and np.array_equal(a.qpoints, b.qpoints) and np.array_equal(a.operations, b.operations)


def test_a_point_off_the_grid_and_a_lower_symmetry_supercell_are_refused():
    _, rot = _fcc_rotations()
    g = Grid(2 * FCC_CONVENTIONAL, rot)
    with pytest.raises(ValueError, match="not on the grid of the supercell"):
        g.addresses_of([[0.1, 0.0, 0.0]])
    with pytest.raises(ValueError, match="breaks the crystal's point group"):
        Grid(np.array([[2, 0, 0], [0, 2, 0], [1, 1, 3]]), rot)
    with pytest.raises(ValueError, match="integral and non-singular"):
        Grid(np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]]), rot)


def test_parse_mesh_is_the_one_reading_of_a_mesh():
    """One int, three ints or a 3 x 3 supercell matrix; everything else refused with what is accepted."""
    import numpy as np
    import pytest
    from trajmodes.lattice.qpoints import parse_mesh
    assert parse_mesh(8).tolist() == [8, 8, 8] and parse_mesh([4, 4, 2]).tolist() == [4, 4, 2]
    assert parse_mesh(np.diag([2, 2, 2])).shape == (3, 3)
    for bad in (0, [4, 4], 2.5, [[1, 0, 0], [0, 1, 0], [0, 0, 0]], np.nan):
        with pytest.raises(ValueError, match="mesh"):
            parse_mesh(bad)
