"""The linear tetrahedron method on a Gamma-centred mesh: the tetrahedra around every mesh point and the
weight a vertex takes in a delta function (or DOS) at a frequency.

phonopy's (Togo's) form of the linear tetrahedron method (Bloechl et al., Phys. Rev. B 49, 16223 (1994),
without the curvature correction): every mesh cell is cut into six tetrahedra along its shortest main
diagonal, each mesh point sits in 24 of them, and the weight of the point at frequency w is the sum over its
24 tetrahedra of I_c(w) g(w) / 6, g the tetrahedron's linear DOS and I_c the share of the vertex c. Used by
the DOS (:mod:`trajmodes.phonons.harmonic.dos`) and the three-phonon integration weights
(:mod:`trajmodes.phonons.anharmonic.selfenergy`).
"""
from __future__ import annotations

import numpy as np

from trajmodes.lattice.qpoints import mesh_addresses, mesh_index, parse_mesh

try:
    from trajmodes import _tetrahedron
except ImportError:              # not built (a source checkout without a compiler): the numpy route below
    _tetrahedron = None

__all__ = ["tetrahedra", "vertex_weights", "point_weights", "sorted_vertices", "pairs_inside"]

_EPS = 1e-10                     # as phonopy's THM_EPSILON
_CUBE = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1]])
_DIAGONALS = {0: (0, 7, ((1, 3), (1, 5), (2, 3), (2, 6), (4, 5), (4, 6))),
              1: (1, 6, ((0, 2), (0, 4), (2, 3), (3, 7), (4, 5), (5, 7))),
              2: (2, 5, ((0, 1), (0, 4), (1, 3), (3, 7), (4, 6), (6, 7))),
              3: (3, 4, ((0, 1), (0, 2), (1, 5), (2, 6), (5, 7), (6, 7)))}


def tetrahedra(mesh, reciprocal_cell, microzone=None, steps=None) -> np.ndarray:
    """Vertex mesh indices of the 24 tetrahedra around every mesh point (phonopy's construction).

    Parameters
    ----------
    mesh : int or (3,) int
        The mesh (one int n is n x n x n), or the address box of a generalised grid (``Grid.mesh`` of
        :class:`trajmodes.lattice.grid.Grid`, with ``microzone`` and ``steps``; a supercell matrix itself is refused).
    reciprocal_cell : (3, 3)
        Rows b1, b2, b3 (1/Å); fixes the shortest main diagonal of the mesh cell.
    microzone : (3, 3), optional
        Cartesian edges (rows) of the grid's cell when it is not b_i / n_i (:meth:`Grid.microzone`).
    steps : (3, 3) int, optional
        Address step of a unit step along each microzone edge (columns; ``Grid.steps``); identity by default.

    Returns
    -------
    vertices : ndarray of int, (N, 24, 4)
    central : ndarray of int, (24,)
        Index (0..3) of the central mesh point among each tetrahedron's vertices.
    """
    n = parse_mesh(mesh, matrix=False)
    a, b, c = (np.asarray(reciprocal_cell, dtype=float) / n[:, None] if microzone is None
               else np.asarray(microzone, dtype=float))
    diag = np.array([a + b + c, -a + b + c, a - b + c, a + b - c])
    length = (diag ** 2).sum(axis=1)
    # equal diagonals (a cubic cell) tie up to round-off: the first of them, as an exact computation would pick
    d0, d1, pairs = _DIAGONALS[int(np.flatnonzero(length <= length.min() * (1 + 1e-9))[0])]
    six = np.sort([[d0, d1, *p] for p in pairs], axis=1)
    rel, central = [], []
    for i in range(8):
        for t in six:
            if i in t:
                rel.append(_CUBE[t] - _CUBE[i])
                central.append(int(np.flatnonzero(t == i)[0]))
    rel = np.array(rel)                                              # (24, 4, 3)
    if steps is not None:
        rel = rel @ np.asarray(steps, dtype=np.int64).T
    return mesh_index(mesh_addresses(n)[:, None, None, :] + rel[None], n), np.array(central)


def _f(w, v, n, m):
    """(w - v_m) / (v_n - v_m), zero where the two vertices coincide."""
    d = v[:, n] - v[:, m]
    ok = np.abs(d) >= _EPS
    return np.where(ok, (w - v[:, m]) / np.where(ok, d, 1.0), 0.0)


def vertex_weights(w, v, cs):
    """I_c g for sorted vertex values v (E, 4), central vertex's sorted position cs (E,), points w (E,)
    with v0 <= w < v3 (phonopy's formulas; a point equal to a vertex goes to the case above it)."""
    out = np.zeros(len(w))
    case = (w >= v[:, 1]).astype(int) + (w >= v[:, 2])
    for k in range(3):
        sel = np.flatnonzero(case == k)
        if not len(sel):
            continue
        x, u, c = w[sel], v[sel], cs[sel]
        span = u[:, 3] - u[:, 0]
        f = lambda n, m: _f(x, u, n, m)                                 # noqa: E731
        if k == 0:                                                     # v0 <= w < v1
            f10, f20, f30 = f(1, 0), f(2, 0), f(3, 0)
            g = 3 * f10 * f20 / span
            I = np.stack([(f(0, 1) + f(0, 2) + f(0, 3)) / 3, f10 / 3, f20 / 3, f30 / 3], axis=-1)
        elif k == 1:                                                   # v1 <= w < v2
            f12, f20, f21, f13 = f(1, 2), f(2, 0), f(2, 1), f(1, 3)
            gd = f12 * f20 + f21 * f13
            ok = gd >= _EPS
            gs = np.where(ok, gd, 1.0)
            g = 3 / span * gd * ok
            I = np.stack([(f(0, 3) + f(0, 2) * f20 * f12 / gs) / 3, (f12 + f13 ** 2 * f21 / gs) / 3,
                          (f21 + f20 ** 2 * f12 / gs) / 3, (f(3, 0) + f(3, 1) * f13 * f21 / gs) / 3], axis=-1)
        else:                                                          # v2 <= w < v3
            f13, f23 = f(1, 3), f(2, 3)
            g = 3 * f13 * f23 / span
            I = np.stack([f(0, 3) / 3, f13 / 3, f23 / 3, (f(3, 0) + f(3, 1) + f(3, 2)) / 3], axis=-1)
        out[sel] = I[np.arange(len(c)), c] * g
    return out


def sorted_vertices(v: np.ndarray, central) -> tuple[np.ndarray, np.ndarray]:
    """The vertex values of each tetrahedron in ascending order, (E, 4), and where the central vertex went, (E,):
    ``central`` is that vertex's position before sorting, one number for every row or one per row."""
    order = np.argsort(v, axis=-1, kind="stable")
    return np.take_along_axis(v, order, axis=-1), np.argmax(order == np.reshape(central, (-1, 1)), axis=-1)


def pairs_inside(v: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (tetrahedron, point) pairs with the point inside the tetrahedron's range [v0, v3): for sorted vertex values
    ``v`` (E, 4) and ascending ``points`` (nw,), the tetrahedron (row of v) and the point (index into ``points``) of
    every pair, found by bisection, so that the work follows the pairs that count, not tetrahedra x points."""
    lo = np.searchsorted(points, v[:, 0], side="left")                  # first point >= v0
    hi = np.searchsorted(points, v[:, 3], side="left")                  # points < v3
    counts = hi - lo
    tet = np.repeat(np.arange(len(v)), counts)
    return tet, lo[tet] + np.arange(len(tet)) - np.repeat(np.cumsum(counts) - counts, counts)


def point_weights(values: np.ndarray, central: np.ndarray, w) -> np.ndarray:
    """Tetrahedron weight of mesh points in a delta function delta(w - f), f linear in each tetrahedron.

    Parameters
    ----------
    values : (..., 24, 4)
        f at the four vertices of each of the 24 tetrahedra around every point (:func:`tetrahedra`).
    central : (24,) int
        Which vertex of each tetrahedron is the point itself.
    w : float or (nw,) array
        Where the delta function is evaluated (units of f).

    Returns
    -------
    ndarray (..., nw)
        sum over the point's 24 tetrahedra of I_c(w) g(w) / 6, in 1/(units of f): summed over the mesh and
        divided by the number of points it is the density of f at w (as a normalised Gaussian of f - w
        would be, point by point).

    Notes
    -----
    A tetrahedron weighs only the points w inside its range [v0, v3): the weights are evaluated for those
    (tetrahedron, w) pairs only (:func:`pairs_inside`), as :func:`~trajmodes.phonons.harmonic.dos.tetrahedron_dos`
    does, in one compiled pass over the tetrahedra that releases the GIL (the numpy route, the same sums to the last
    bit, where the extension is not built).
    """
    values = np.asarray(values, dtype=float)
    w = np.atleast_1d(np.asarray(w, dtype=float))
    if w.ndim != 1:
        raise ValueError(f"w must be one frequency or a 1-D array of them, not of shape {w.shape}")
    if values.shape[-2:] != (24, 4) or np.shape(central) != (24,):
        raise ValueError(f"values must hold the 4 vertex values of the 24 tetrahedra of every point, (..., 24, 4), "
                         f"and central one vertex per tetrahedron, (24,): got {values.shape} and {np.shape(central)}")
    lead = values.shape[:-2]
    by = np.argsort(w, kind="stable")
    n_points = int(np.prod(lead, dtype=np.int64))
    if _tetrahedron is not None:
        out = np.zeros(n_points * len(w))
        _tetrahedron.accumulate(np.ascontiguousarray(values.reshape(-1, 4)), n_points * 24,
                                np.ascontiguousarray(central, dtype=np.int64), 24, np.ascontiguousarray(w[by]),
                                np.ascontiguousarray(by, dtype=np.int64), out)
        return out.reshape(lead + (len(w),)) / 6.0
    v = values.reshape(-1, 4)
    v, cs = sorted_vertices(v, np.tile(np.asarray(central), len(v) // 24))
    tet, k = pairs_inside(v, w[by])
    n = n_points * len(w)
    weights = vertex_weights(w[by][k], v[tet], cs[tet])
    out = np.bincount((tet // 24) * len(w) + by[k], weights=weights, minlength=n)
    return out.reshape(lead + (len(w),)) / 6.0
