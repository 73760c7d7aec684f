"""Wave vectors: the q-points commensurate with a supercell, Gamma-centred meshes, the first Brillouin zone.

q-points are reduced coordinates of the primitive cell's reciprocal lattice, without 2 pi (as phonopy).
"""
from __future__ import annotations

import numpy as np

from trajmodes.lattice.geometry import shortest_images

__all__ = ["parse_mesh", "commensurate_qpoints", "commensurate_mask", "mesh_addresses", "mesh_index", "mesh_qpoints",
           "is_gamma", "first_zone", "STRAIN_TOL", "basis_change", "qpoints_in"]

#: largest relative strain between two cells taken as one crystal's (thermal expansion, a run's own lattice beside the
#: 0 K one): reduced q-points are mapped between them by the integer basis change, the same point of the zone
STRAIN_TOL = 0.05

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


def _lattice_words(cell) -> str:
    """a, b, c (Å) and alpha, beta, gamma (degrees) of the rows of ``cell``, for a message."""
    a = np.linalg.norm(cell, axis=1)
    cos = [np.dot(cell[1], cell[2]) / (a[1] * a[2]), np.dot(cell[0], cell[2]) / (a[0] * a[2]),
           np.dot(cell[0], cell[1]) / (a[0] * a[1])]
    ang = np.degrees(np.arccos(np.clip(cos, -1, 1)))
    return f"a, b, c = {', '.join(f'{x:.4f}' for x in a)} A, angles {', '.join(f'{x:.2f}' for x in ang)} deg"


def basis_change(cell, other, strain_tol: float = STRAIN_TOL, names=("the first cell", "the second")) -> np.ndarray:
    """The integer matrix M, of determinant +-1, with ``cell = M @ other`` up to a strain: the lattice vectors of
    ``cell`` (rows, Å) in the basis of ``other``'s, when both are bases of one lattice in one Cartesian frame.

    Parameters
    ----------
    cell, other : array_like (3, 3)
        Primitive lattice vectors as rows, Å, in the same Cartesian frame.
    strain_tol : float
        Largest relative misfit ``|cell - M other| / |cell|`` taken as the same lattice, strained (thermal expansion).
    names : (str, str)
        What the two cells are, for the message of a refusal.

    Raises
    ------
    ValueError
        When ``cell`` is no basis of ``other``'s lattice within ``strain_tol``: another crystal, another cell (a
        supercell), or the same lattice turned in space; the message says which.
    """
    cell = np.asarray(cell, float)
    other = np.asarray(other, float)
    mf = cell @ np.linalg.inv(other)
    m = np.rint(mf)
    misfit = np.linalg.norm(cell - m @ other) / np.linalg.norm(cell)
    det = round(abs(float(np.linalg.det(m))))
    if misfit <= strain_tol and det == 1:
        return m.astype(np.int64)
    first, second = names
    ratio = abs(np.linalg.det(cell) / np.linalg.det(other))
    if misfit <= strain_tol and det > 1:
        why = (f"{first} is a supercell of {second} ({det} of its cells: lattice vectors "
               f"{m.astype(int).tolist()} in its basis), not a primitive cell of the same crystal")
    elif abs(ratio - 1) <= 3 * strain_tol and _same_metric(cell, other, strain_tol):
        why = (f"the two are one lattice turned in space ({_lattice_words(cell)}): give both in one Cartesian "
               "frame (the run's, as LAMMPS wrote it)")
    else:
        why = (f"their lattices differ: {first} {_lattice_words(cell)}; {second} {_lattice_words(other)} (in its "
               f"basis the first's vectors are {np.round(mf, 3).tolist()}, not integers of determinant +-1 within a "
               f"strain of {strain_tol:g})")
    raise ValueError(f"{first} and {second} are not cells of one crystal: {why}")


def _same_metric(cell, other, strain_tol: float) -> bool:
    """Whether the Niggli-reduced cells of ``cell`` and ``other`` have the same lengths and angles within
    ``strain_tol``: one lattice, perhaps turned in space."""
    from trajmodes.lattice.geometry import niggli_reduce
    a, b = niggli_reduce(cell), niggli_reduce(other)
    ga, gb = a @ a.T, b @ b.T
    return bool(np.linalg.norm(ga - gb) <= 2 * strain_tol * np.linalg.norm(ga))


def qpoints_in(qpoints, crystal, other, strain_tol: float = STRAIN_TOL, names=("the first cell", "the second")):
    """Reduced q-points of ``crystal``'s primitive cell as reduced q-points of ``other``'s: the same points of the
    Brillouin zone of one crystal given in two bases (a rotated, permuted or sheared choice of primitive vectors;
    the lattices may differ by a strain up to ``strain_tol``, as a run's lattice beside its 0 K one).

    With ``crystal.cell = M @ other.cell`` (:func:`basis_change`), a reduced q of ``crystal`` is ``q @ inv(M).T`` in
    ``other``'s basis; exact in reduced coordinates, so the point of the zone (K, M, ...) is kept under a strain.

    Parameters
    ----------
    qpoints : array_like (..., 3)
        Reduced coordinates of ``crystal``'s reciprocal lattice, without 2 pi.
    crystal, other : Crystal
        The two primitive cells (anything with ``cell`` and ``species``), in one Cartesian frame.

    Returns
    -------
    ndarray (..., 3)
        The same q in ``other``'s reduced coordinates (the input array's values where the bases are equal).

    Raises
    ------
    ValueError
        When the two are not cells of one crystal: another lattice (:func:`basis_change`), or other atoms per cell.
    """
    from trajmodes.lattice.elements import mass_of
    m = basis_change(crystal.cell, other.cell, strain_tol, names)
    mine, theirs = (sorted(map(str, c.species)) for c in (crystal, other))
    # a name that is no element (a BvK model's "X", a LAMMPS type number) stands for any species: counted only
    named = all(mass_of(x) is not None for x in mine + theirs)
    if (mine != theirs) if named else (len(mine) != len(theirs)):
        raise ValueError(f"{names[0]} and {names[1]} are not cells of one crystal: their primitive cells hold "
                         f"{' '.join(mine)} and {' '.join(theirs)}")
    q = np.asarray(qpoints, float)
    if np.array_equal(m, np.eye(3, dtype=np.int64)):
        return q
    return q @ np.rint(np.linalg.inv(m)).T
