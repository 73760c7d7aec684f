"""Wave vectors: the q-points commensurate with a supercell, Gamma-centred meshes, the first Brillouin zone.

q-points are reduced coordinates of the primitive cell's reciprocal lattice, without 2 pi (as phonopy).
"""
from __future__ import annotations

import numpy as np

from trajmodes.lattice.geometry import shortest_images

__all__ = ["commensurate_qpoints", "commensurate_mask", "mesh_addresses", "mesh_index", "mesh_qpoints", "is_gamma", "first_zone"]


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
    key = np.rint(q * D).astype(np.int64)
    _, first = np.unique(key, axis=0, return_index=True)
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
    """Integer addresses (n1 n2 n3, 3) of a Gamma-centred mesh, first index fastest (phonopy's order): point
    ``i0 + n0 (i1 + n1 i2)`` is q = (i0, i1, i2) / mesh."""
    n = np.asarray(mesh, dtype=int).reshape(3)
    k, j, i = np.meshgrid(*(np.arange(m) for m in n[::-1]), indexing="ij")
    return np.stack([i.ravel(), j.ravel(), k.ravel()], axis=1)


def mesh_index(addresses, mesh) -> np.ndarray:
    """Mesh index of integer addresses (..., 3), taken modulo the mesh (the order of :func:`mesh_addresses`)."""
    n = np.asarray(mesh, dtype=np.int64).reshape(3)
    a = np.mod(np.asarray(addresses, dtype=np.int64), n)
    return a[..., 0] + n[0] * (a[..., 1] + n[1] * a[..., 2])


def mesh_qpoints(mesh) -> np.ndarray:
    """Gamma-centred mesh, reduced q (n1 n2 n3, 3) in [0, 1), first index fastest (phonopy's order)."""
    return mesh_addresses(mesh) / np.asarray(mesh, dtype=int).reshape(3)


def is_gamma(q, tol: float = 1e-12) -> np.ndarray:
    """Whether each reduced q (..., 3) is Gamma (or a reciprocal lattice vector)."""
    q = np.asarray(q, dtype=float)
    return (np.abs(q - np.rint(q)) < tol).all(axis=-1)


def first_zone(q, reciprocal_cell) -> np.ndarray:
    """Each reduced q moved by a reciprocal lattice vector to its shortest image (the first Brillouin zone)."""
    return shortest_images(q, reciprocal_cell)
