"""Wave vectors: the q-points commensurate with a supercell, Gamma-centred meshes, the first Brillouin zone.

q-points are reduced coordinates of the primitive cell's reciprocal lattice, without 2 pi (as phonopy).
"""
from __future__ import annotations

import numpy as np

from trajmodes.lattice.geometry import shortest_images

__all__ = ["parse_mesh", "commensurate_qpoints", "commensurate_mask", "mesh_addresses", "mesh_index", "mesh_qpoints",
           "is_gamma", "first_zone"]

#: what a regular mesh may be, as the errors say it
_REGULAR = "one positive integer n (n x n x n) or three (n1, n2, n3)"


def parse_mesh(mesh, matrix: bool = True, name: str = "mesh") -> np.ndarray:
    """A q-mesh as every class and function of trajmodes takes it (the one reading of a mesh): one positive integer n (n x n x n), three, or a 3 x 3 integer
    supercell matrix S (``supercell.cell = S @ primitive.cell``: the q-points commensurate with that supercell).

    Parameters
    ----------
    mesh : int, (3,) int or (3, 3) int
        Divisions along the primitive reciprocal vectors b1, b2, b3 (dimensionless counts), or S.
    matrix : bool
        Whether the caller takes a supercell matrix. False (a regular Gamma-centred mesh only): a diagonal matrix
        is read as its diagonal, any other refused with what is accepted.
    name : str
        The argument's name in the errors (``"cubic_mesh"``).

    Returns
    -------
    ndarray of int, (3,) or (3, 3)
        (3, 3) only with ``matrix``.

    Raises
    ------
    ValueError
        For anything else (zero or negative divisions, non-integers, a singular matrix; a non-diagonal matrix where
        ``matrix`` is False).
    """
    m = np.atleast_1d(np.asarray(mesh, dtype=float))
    if m.shape == (3, 3):
        if not np.isfinite(m).all() or (m != np.rint(m)).any() or abs(np.linalg.det(m)) < 0.5:
            raise ValueError(f"a supercell matrix as {name} must be integral and non-singular, not {mesh!r}")
        if matrix:
            return m.astype(int)
        if (m != np.diag(np.diag(m))).any():
            raise ValueError(f"{name} must be {_REGULAR} here, not a 3 x 3 supercell matrix "
                             f"({m.astype(int).tolist()}): the q-points of a supercell are taken by Grid, Anharmonic, "
                             "cubic_free_energy, FourPhonon and QuasiHarmonic")
        m = np.diag(m).copy()
    if m.size not in (1, 3) or not np.isfinite(m).all() or (m != np.rint(m)).any() or (m < 1).any():
        accepted = "one positive integer n (n x n x n), three, or a 3 x 3 supercell matrix" if matrix else _REGULAR
        raise ValueError(f"{name} must be {accepted}, not {mesh!r}")
    return np.broadcast_to(m.astype(int), (3,)).copy()


def commensurate_qpoints(matrix, centred: bool = True) -> np.ndarray:
    """All q-points commensurate with the supercell ``matrix`` S (``supercell.cell = S @ primitive.cell``).

    They are q = S^-1 m (m integer: e^{i 2 pi q.T} = 1 for every supercell lattice vector T), |det S| of
    them, in reduced coordinates of the primitive reciprocal lattice, brought into [-0.5, 0.5)
    (``centred``) or [0, 1), sorted; the Gamma point comes first.
    """
    S = np.asarray(matrix, dtype=float)
    det = int(round(abs(np.linalg.det(S))))
    inv = np.linalg.inv(S)
    # smallest D with D * S^-1 integer: m in [0, D)^3 then covers every class
    D = next(d for d in range(1, det + 1) if np.allclose(inv * d, np.rint(inv * d), atol=1e-8))
    m = np.stack(np.meshgrid(*(np.arange(D),) * 3, indexing="ij"), -1).reshape(-1, 3)
    q = m @ inv.T
    q = q - np.floor(q + 0.5 + 1e-9) if centred else q - np.floor(q + 1e-9)
    key = np.rint(q * D).astype(np.int64)                # each in [-D, D]: one integer per row for np.unique
    code = ((key[:, 0] + D) * (2 * D + 1) + key[:, 1] + D) * (2 * D + 1) + key[:, 2] + D
    _, first = np.unique(code, return_index=True)
    q = key[np.sort(first)] / D                     # q D is integral: the correctly rounded q
    q[q == 0] = 0.0
    if len(q) != det:
        raise RuntimeError(f"found {len(q)} commensurate q-points, expected |det S| = {det}")
    order = np.lexsort((q[:, 2], q[:, 1], q[:, 0], (np.abs(q) > 1e-12).any(axis=1)))
    return q[order]


def commensurate_mask(qpoints, matrix, tol: float = 1e-6) -> np.ndarray:
    """Which of the reduced ``qpoints`` (n, 3) are commensurate with the supercell ``matrix`` S
    (``supercell.cell = S @ primitive.cell``): S q integral, (n,) bool."""
    x = np.atleast_2d(np.asarray(qpoints, dtype=float)) @ np.asarray(matrix, dtype=float).T
    return np.all(np.abs(x - np.rint(x)) < tol, axis=-1)


def mesh_addresses(mesh) -> np.ndarray:
    """Integer addresses (n1 n2 n3, 3) of a Gamma-centred mesh (``mesh``: n or (n1, n2, n3), :func:`parse_mesh`),
    first index fastest (phonopy's order): point ``i0 + n0 (i1 + n1 i2)`` is q = (i0, i1, i2) / mesh."""
    n = parse_mesh(mesh, matrix=False)
    k, j, i = np.meshgrid(*(np.arange(m) for m in n[::-1]), indexing="ij")
    return np.stack([i.ravel(), j.ravel(), k.ravel()], axis=1)


def mesh_index(addresses, mesh) -> np.ndarray:
    """Mesh index of integer addresses (..., 3), taken modulo the mesh (n or (n1, n2, n3); the order of
    :func:`mesh_addresses`)."""
    n = parse_mesh(mesh, matrix=False).astype(np.int64)
    a = np.mod(np.asarray(addresses, dtype=np.int64), n)
    return a[..., 0] + n[0] * (a[..., 1] + n[1] * a[..., 2])


def mesh_qpoints(mesh) -> np.ndarray:
    """Gamma-centred mesh (n or (n1, n2, n3), :func:`parse_mesh`; a 3 x 3 supercell matrix is refused, its q-points
    are :func:`commensurate_qpoints`), reduced q (n1 n2 n3, 3) in [0, 1), first index fastest (phonopy's order)."""
    n = parse_mesh(mesh, matrix=False)
    return mesh_addresses(n) / n


def is_gamma(q, tol: float = 1e-12) -> np.ndarray:
    """Whether each reduced q (..., 3) is Gamma (or a reciprocal lattice vector)."""
    q = np.asarray(q, dtype=float)
    return (np.abs(q - np.rint(q)) < tol).all(axis=-1)


def first_zone(q, reciprocal_cell) -> np.ndarray:
    """Each reduced q moved by a reciprocal lattice vector to its shortest image (the first Brillouin zone)."""
    return shortest_images(q, reciprocal_cell)
