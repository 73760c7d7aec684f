"""Symmetry-reduced parameter basis of second-, third- and fourth-order force constants (clusters and orbits).

The unknowns of a force-constant fit (TDEP, hiPhive) are not the blocks ``fc[i, j]`` or
``fc[i, j, l]`` themselves but a much smaller set of free parameters: clusters of atoms (pairs,
triplets) within a cutoff fall into orbits under the space group, and the tensor of an orbit's
representative is restricted by the operations that leave the cluster in place. This module builds
the linear map ``E`` from those parameters to every Cartesian block of the compact layout.

Construction (as hiPhive's ``ClusterSpace`` and TDEP):

1. **Clusters.** Every atom ``i = p2s[k]`` of the compact layout's rows with the atoms ``j`` (and
   ``l``) whose minimum-image vectors from ``i`` are within ``cutoff``; for triplets every pair of
   the cluster, in real space (``|r_l - r_j|`` too), is within it. Degenerate clusters (``i i``,
   ``i i j``, ``i j j``, ``i i i``, and their fourth-order kin) are included. Quartets are built the same way:
   every atom of the quartet within the cutoff of every other. Each *ordered* tuple is an entry of :attr:`IFCBasis.sites`.
2. **Orbits.** The space group of the crystal (rotations ``R`` with their atom maps, from
   :func:`trajmodes.forceconstants.model.supercell_operations`, lattice translations implicit) acts on
   the real-space cluster; together with the permutations ``s`` of the cluster's atoms it maps an
   entry ``c`` to entries ``e`` with ``fc[e] = R^{(x)n} P_s fc[c]`` (``P_s`` transposes the
   Cartesian indices the way ``s`` reorders the atoms). All entries reached from one representative
   form its orbit.
3. **Site symmetry.** The pairs ``(R, s)`` that map the representative onto itself form a group;
   the mean of their matrices is the orthogonal projector onto the admissible tensors, and its
   range (brought to reduced row-echelon form, so that every parameter is one Cartesian component
   of the representative's block) is the orbit's basis. This contains the intrinsic permutation
   symmetry ``Phi_ab^ij = Phi_ba^ji`` and the full symmetry of ``Psi``.
4. **Acoustic sum rule.** ``sum_j fc[k, j] = 0`` (second order), ``sum_l fc[k, j, l] = 0`` (third
   order), ``sum_m fc[k, j, l, m] = 0`` (fourth order) are linear conditions ``C p = 0`` on the raw parameters; a pivoted QR of ``C`` picks
   ``rank C`` of them to eliminate, ``p_raw = Z p``, and ``E = E_raw Z``.

The cluster images use the space group of the *crystal* (hiPhive's convention), not only the
operations that map the supercell lattice onto itself: with the cutoff below half the shortest
supercell lattice vector, every cluster is a unique real-space object, so the basis is exact for
any supercell shape and every constant it produces is invariant under the supercell's own
operations as well.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from trajmodes.forceconstants.cluster_constants import cluster_keys
from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.geometry import neighbours, shortest_lattice_vector
from trajmodes.lattice.supercell import SupercellMap
from trajmodes.lattice.spglib_calls import SYMPREC

__all__ = ["IFCBasis", "build_basis", "perm_matrices", "kron_power", "rref_basis", "CUT_TOL", "ZERO"]

#: Angstrom added to the cutoff (shells exactly at the cutoff are in)
CUT_TOL = 1e-5
#: entries of E below this are round-off
ZERO = 1e-14


@dataclass
class IFCBasis:
    """Linear map from symmetry-irreducible parameters to force-constant blocks.

    Attributes
    ----------
    order : int
        2, 3 or 4.
    cutoff : float or None
        Cluster cutoff in Å; None: every cluster of the supercell.
    n_prim, n_atoms : int
        Atoms in the primitive cell and in the supercell (N).
    p2s : ndarray of int, (n_prim,)
        Supercell atom of each row of the compact layout (as :attr:`ForceConstants.p2s`).
    sites : ndarray of int, (n_entries, order)
        Column 0: primitive atom ``k``; then supercell atoms ``j`` (and ``l``, ``m``). Every block
        ``fc[k, j(, l(, m))]`` that symmetry allows to be nonzero, every order of ``j, l(, m)`` and the
        self terms included, sorted lexicographically.
    E : scipy.sparse.csr_matrix, (n_entries * 3**order, n_params)
        ``(E @ params).reshape(n_entries, 3, 3[, 3])[e]`` is the Cartesian block of entry ``e``
        in eV/Å^order.
    n_raw : int
        Symmetry-irreducible parameters before the acoustic sum rule.
    n_params : int
        Free parameters (columns of ``E``), the sum rule included.
    E_raw : scipy.sparse.csr_matrix, (n_entries * 3**order, n_raw)
        The map before the sum rule (``E = E_raw @ asr_map``).
    asr_map : scipy.sparse.csr_matrix, (n_raw, n_params)
        Raw parameters from free ones. Free parameters are raw ones kept as they are (the
        eliminated ones are combinations of them), so each is one Cartesian component of an orbit
        representative's block.
    orbit : ndarray of int, (n_entries,)
        Orbit of every entry (orbits numbered in the order of their raw parameters).
    raw_orbit : ndarray of int, (n_raw,)
        Orbit of every raw parameter.
    representatives : ndarray of int, (n_orbits, order)
        ``sites`` row of each orbit's representative.
    """

    order: int
    cutoff: float | None
    n_prim: int
    n_atoms: int
    p2s: np.ndarray
    sites: np.ndarray
    E: sp.csr_matrix
    n_raw: int
    n_params: int
    E_raw: sp.csr_matrix = field(default=None, repr=False)
    asr_map: sp.csr_matrix = field(default=None, repr=False)
    orbit: np.ndarray = field(default=None, repr=False)
    raw_orbit: np.ndarray = field(default=None, repr=False)
    representatives: np.ndarray = field(default=None, repr=False)

    @property
    def n_entries(self) -> int:
        return len(self.sites)

    @property
    def n_orbits(self) -> int:
        return 0 if self.representatives is None else len(self.representatives)

    def _index(self):
        """Index tuple of the entries into the compact array."""
        return tuple(self.sites.T)

    def compact_shape(self) -> tuple:
        return (self.n_prim,) + (self.n_atoms,) * (self.order - 1) + (3,) * self.order

    def blocks(self, params) -> np.ndarray:
        """Cartesian blocks of the entries, (n_entries, 3, ..., 3), eV/Å^order."""
        params = np.asarray(params, dtype=float)
        if params.shape != (self.n_params,):
            raise ValueError(f"params has shape {params.shape}; expected ({self.n_params},)")
        return (self.E @ params).reshape((self.n_entries,) + (3,) * self.order)

    def to_compact(self, params) -> np.ndarray:
        """Force constants in the compact layout, (n_prim, N, 3, 3) or (n_prim, N, N, 3, 3, 3),
        eV/Å^order; zero outside :attr:`sites`. Fourth order is kept as its clusters instead
        (:meth:`blocks` with :attr:`sites`, :class:`~trajmodes.forceconstants.cluster_constants.ClusterConstants`): its
        compact array would hold N^3 81 numbers per primitive atom."""
        if self.order > 3:
            raise ValueError("fourth-order constants have no compact array here; use blocks() with sites "
                             "(ClusterConstants)")
        out = np.zeros(self.compact_shape())
        out[self._index()] = self.blocks(params)
        return out

    def compact_columns(self, params) -> tuple[np.ndarray, np.ndarray]:
        """Second order: the compact constants of several parameter vectors on the supercell atoms the basis reaches
        only, for a big supercell whose compact array (n_prim, N, 3, 3) is mostly zeros (62 MB per vector at 10^6
        atoms, where the constants within a cutoff reach a few hundred atoms).

        Parameters
        ----------
        params : array_like (m, n_params)

        Returns
        -------
        constants : ndarray (m, n_prim, C, 3, 3)
            eV/Å²: ``to_compact(params[i])[:, columns]``.
        columns : ndarray of int (C,)
            The supercell atoms of :attr:`sites`, ascending; zero elsewhere.
        """
        if self.order != 2:
            raise ValueError("compact_columns is for second-order constants")
        params = np.atleast_2d(np.asarray(params, dtype=float))
        if params.shape[1] != self.n_params:
            raise ValueError(f"params has shape {params.shape}; expected (m, {self.n_params})")
        columns, where = np.unique(self.sites[:, 1], return_inverse=True)
        values = np.asarray(self.E @ params.T).reshape(self.n_entries, 3, 3, len(params))
        out = np.zeros((len(params), self.n_prim, len(columns), 3, 3))
        out[:, self.sites[:, 0], where.reshape(-1)] = values.transpose(3, 0, 1, 2)
        return out, columns

    def project(self, fc_compact) -> np.ndarray:
        """Least-squares parameters whose :meth:`to_compact` is closest to ``fc_compact``.

        Parameters
        ----------
        fc_compact : array_like
            Compact layout (or the full one, (N, N, ...), whose rows ``p2s`` are taken). Blocks
            outside :attr:`sites` are ignored (they are zero in every tensor of the basis).
        """
        fc = np.asarray(fc_compact, dtype=float)
        if fc.shape[0] == self.n_atoms and fc.shape[0] != self.n_prim:
            fc = fc[self.p2s]
        if fc.shape != self.compact_shape():
            raise ValueError(f"fc has shape {fc.shape}; expected {self.compact_shape()}")
        b = fc[self._index()].reshape(-1)
        G = (self.E.T @ self.E).toarray()
        return np.linalg.lstsq(G, self.E.T @ b, rcond=None)[0]


def perm_matrices(order: int, perms) -> np.ndarray:
    """P_s with vec(transpose(T, s)) = P_s vec(T), C order: (n_perms, 3^n, 3^n)."""
    eye = np.eye(3 ** order).reshape((3 ** order,) + (3,) * order)
    return np.stack([np.transpose(eye, (0,) + tuple(p + 1 for p in s)).reshape(3 ** order, -1).T
                     for s in perms])


def kron_power(R: np.ndarray, order: int) -> np.ndarray:
    """R (x) ... (x) R for a stack of rotations (nops, 3, 3) -> (nops, 3^n, 3^n)."""
    out = R
    for _ in range(order - 1):
        out = np.einsum("oab,ocd->oacbd", out, R).reshape(len(R), out.shape[1] * 3, -1)
    return out


def rref_basis(P: np.ndarray) -> np.ndarray:
    """Basis of the range of the projector P in reduced column-echelon form: (dim, m)."""
    w, V = np.linalg.eigh(0.5 * (P + P.T))
    B = V[:, w > 0.5]
    m = B.shape[1]
    if m == 0:
        return B
    _, _, piv = scipy.linalg.qr(B.T, pivoting=True)
    piv = np.sort(piv[:m])
    B = B @ np.linalg.inv(B[piv])
    B[np.abs(B) < ZERO] = 0.0
    B[piv] = np.eye(m)
    return B


def build_basis(fc_or_supercell, order: int, cutoff: float | None, *, primitive: Crystal | None = None,
                symprec: float = SYMPREC, asr: bool = True) -> IFCBasis:
    """Symmetry-reduced parameter basis of the order-``order`` force constants within ``cutoff``.

    Parameters
    ----------
    fc_or_supercell : ForceConstants or Crystal
        A :class:`~trajmodes.ForceConstants` (its supercell, primitive cell, map and ``p2s`` are
        used), or the supercell (MD reference; ideal positions are used) with ``primitive``.
    order : {2, 3, 4}
    cutoff : float or None
        Å. Pairs within it; triplets (quartets) whose pairs all are within it. Must be below
        half the shortest lattice vector of the supercell, so that no two images of an atom lie
        within the cutoff of one cluster. None (or infinity): every pair (every triplet) of the supercell, the
        model of phonopy, phono3py, symfc and ALAMODE's finite-displacement fits; see below.
    primitive : Crystal, optional
        Primitive cell for a Crystal first argument (found with spglib if not given).
    symprec : float
        spglib tolerance in Å.
    asr : bool
        Impose the acoustic sum rule (default).

    Returns
    -------
    IFCBasis

    Raises
    ------
    ValueError
        If the cutoff is too long for the supercell, or the order is not 2, 3 or 4 (fourth order needs a
        cutoff).

    Notes
    -----
    With ``cutoff=None`` the unknowns are the *supercell* force constants ``fc[k, j(, l)]`` for every atom
    of the supercell: each is the sum of the constants of all periodic images of the cluster, as the
    forces of a periodic supercell see them and as phonopy (Togo and Tanaka, Scr. Mater. 108, 1 (2015)) and
    phono3py (Togo, Chaput and Tanaka, Phys. Rev. B 91, 094306 (2015)) hold them; the dynamical matrix and
    the interaction share each one over its equally short (Wigner-Seitz) images with weight 1/multiplicity
    (:func:`trajmodes.lattice.geometry.all_shortest_images`). The clusters are then defined modulo the
    supercell lattice, so their orbits are taken under the operations that are symmetries of the
    supercell (:func:`trajmodes.lattice.symmetry.supercell_operations`), and a cluster whose shortest
    vector has several equally short images is restricted by every operation that maps it onto one of them.
    """
    from trajmodes.lattice.symmetry import supercell_operations
    supercell, primitive, smap, p2s, full, cutoff = _basis_cells(fc_or_supercell, order, cutoff, primitive, symprec)
    n, N = primitive.n_atoms, supercell.n_atoms
    X = supercell.ideal_positions(primitive, smap)

    # -- 1. entries: ordered clusters anchored on the rows p2s, with real-space vectors ----------
    sites, vecs = _anchored_clusters(X, supercell.cell, p2s, order, cutoff, full)
    sites, vecs, keys, types = sorted_clusters(sites, vecs, smap, p2s, N)

    # -- 2. the crystal's space group: rotations and primitive-atom maps ----------------------
    unit = SupercellMap(np.eye(3, dtype=np.int64), np.arange(n), np.zeros((n, 3), dtype=np.int64), np.zeros(n))
    ops = supercell_operations(primitive, smap if full else unit, symprec)   # full: the supercell's own group
    Rot, kp = ops.rotations, ops.prim_perm
    perms = list(itertools.permutations(range(order)))
    dim = 3 ** order
    M = np.einsum("oab,sbc->osac", kron_power(Rot, order), perm_matrices(order, perms))
    images = symmetry_images(primitive, smap, p2s, keys, types, vecs, Rot, kp, perms, N, symprec)

    # -- 3. orbits, site symmetry, expansion --------------------------------------------------
    sites, orbit, raw_orbit, representatives, E_raw = _orbit_expansion(sites, images, M, dim)
    n_raw = E_raw.shape[1]

    # -- 4. acoustic sum rule ------------------------------------------------------------------
    if asr and n_raw:
        Z = _asr_map(E_raw, sites, N, dim)
    else:
        Z = sp.identity(n_raw, format="csr")
    E = (E_raw @ Z).tocsr()
    E.data[np.abs(E.data) < ZERO] = 0.0
    E.eliminate_zeros()
    return IFCBasis(order=order, cutoff=None if full else cutoff, n_prim=n, n_atoms=N, p2s=p2s, sites=sites, E=E,
                    n_raw=n_raw, n_params=E.shape[1], E_raw=E_raw, asr_map=Z.tocsr(),
                    orbit=orbit, raw_orbit=raw_orbit, representatives=representatives)


def _basis_cells(fc_or_supercell, order: int, cutoff, primitive, symprec: float) -> tuple:
    """The cells of :func:`build_basis`'s arguments and its cutoff: (supercell, primitive, smap, p2s, full, cutoff),
    ``full`` for every cluster of the supercell (cutoff None or infinite, then ``cutoff`` = inf; A). Refuses an order
    other than 2, 3 or 4, a fourth order without a cutoff and a cutoff not below half the shortest supercell vector."""
    from trajmodes.forceconstants.model import ForceConstants
    if order not in (2, 3, 4):
        raise ValueError(f"order must be 2, 3 or 4, not {order}")
    if isinstance(fc_or_supercell, ForceConstants):
        fc = fc_or_supercell
        supercell, primitive, smap, p2s = fc.supercell, fc.primitive, fc.smap, fc.p2s
    else:
        supercell = fc_or_supercell
        if primitive is None:
            primitive = supercell.primitive(symprec)
        smap = supercell.supercell_map(primitive)
        p2s = np.array([np.flatnonzero(smap.atom == k)[0] for k in range(primitive.n_atoms)])
    p2s = np.asarray(p2s, dtype=np.int64)
    full = cutoff is None or float(cutoff) == np.inf
    cutoff = np.inf if full else float(cutoff)
    if full and order == 4:
        raise ValueError("fourth-order constants need a cutoff (Angstrom): every quartet of the supercell would be "
                         "N^3 81 numbers per atom")
    lmin = shortest_lattice_vector(supercell.cell)
    if not full and cutoff + CUT_TOL >= 0.5 * lmin:
        raise ValueError(
            f"cutoff {cutoff:g} A is not below half the shortest supercell lattice vector "
            f"({0.5 * lmin:.4g} A): two images of an atom would fall within one cluster; "
            f"use a larger supercell or a shorter cutoff")
    return supercell, primitive, smap, p2s, full, cutoff


def _anchored_clusters(X, cell, p2s, order: int, cutoff: float, full: bool) -> tuple:
    """The ordered clusters of order ``order`` anchored on each primitive representative ``p2s[k]``, among the ideal
    supercell positions ``X`` (Å) in ``cell``: every pair within ``cutoff`` (Å), every triplet (quartet) whose pairs all
    are within it (``full``: every pair and triplet of the supercell). Lists per primitive atom of (m, order) site
    indices, the first the primitive atom k, and of (m, order, 3) positions relative to the anchor (Å)."""
    sites, vecs = [], []
    for k in range(len(p2s)):
        nb, r = neighbours(X, cell, p2s[k], cutoff, tol=CUT_TOL)
        if order == 2:
            sites.append(np.stack([np.full(len(nb), k), nb], axis=1))
            vecs.append(np.stack([np.zeros_like(r), r], axis=1))
        elif order == 3:
            if full:                                                    # every (j, l) of the supercell
                a, b = (x.ravel() for x in np.meshgrid(np.arange(len(nb)), np.arange(len(nb)), indexing="ij"))
            else:
                a, b = np.nonzero(np.linalg.norm(r[None, :, :] - r[:, None, :], axis=-1) <= cutoff + CUT_TOL)
            sites.append(np.stack([np.full(len(a), k), nb[a], nb[b]], axis=1))
            vecs.append(np.stack([np.zeros((len(a), 3)), r[a], r[b]], axis=1))
        else:                                                           # (j, l, m): every pair within the cutoff
            near = np.linalg.norm(r[None, :, :] - r[:, None, :], axis=-1) <= cutoff + CUT_TOL
            a, b = np.nonzero(near)
            both = near[a] & near[b]                                    # (pairs, n_nb): m near j and l
            pi, c = np.nonzero(both)
            a, b = a[pi], b[pi]
            sites.append(np.stack([np.full(len(a), k), nb[a], nb[b], nb[c]], axis=1))
            vecs.append(np.stack([np.zeros((len(a), 3)), r[a], r[b], r[c]], axis=1))
    return sites, vecs


def _orbit_expansion(sites, images, M, dim: int) -> tuple:
    """The orbits of the sorted clusters ``sites`` under the operations (``images(e)``: the image of cluster e under
    every operation and permutation; ``M``: those operations on the cluster's 3^order components, ``dim`` of them),
    each orbit's free components (the null space of its site symmetry, :func:`rref_basis`) expanded onto its members.
    Returns (sites, orbit, raw_orbit, representatives, E_raw) with the clusters of orbits without free components
    dropped: the clusters' orbits, the orbit of each raw parameter, each orbit's representative cluster and the
    sparse (clusters * dim, raw parameters) expansion."""
    orbit = np.full(len(sites), -1)
    rows, cols, vals, reps, raw_orbit = [], [], [], [], []
    ncol = 0
    for e in range(len(sites)):
        if orbit[e] >= 0:
            continue
        img = images(e)                                                 # (nops, ns)
        o, s = np.nonzero(img == e)
        B = rref_basis(M[o, s].mean(axis=0))                           # (dim, m)
        members, first = np.unique(img.ravel(), return_index=True)
        oi, si = np.unravel_index(first, img.shape)
        orbit[members] = len(reps)
        reps.append(e)
        m = B.shape[1]
        raw_orbit.extend([len(reps) - 1] * m)
        if m == 0:
            continue
        blk = np.einsum("mab,bp->map", M[oi, si], B)                   # (n_members, dim, m)
        blk[np.abs(blk) < ZERO] = 0.0
        mm, q, p = np.nonzero(blk)
        rows.append(members[mm] * dim + q)
        cols.append(ncol + p)
        vals.append(blk[mm, q, p])
        ncol += m
    n_raw = ncol
    raw_orbit = np.asarray(raw_orbit, dtype=np.int64)
    rows = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    cols = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    vals = np.concatenate(vals) if vals else np.zeros(0)
    # keep the entries that can be nonzero; number the orbits that have parameters
    free_orbits = np.bincount(raw_orbit, minlength=len(reps)) > 0
    renum = np.cumsum(free_orbits) - 1
    representatives = sites[np.asarray(reps, dtype=np.int64)[free_orbits]]
    raw_orbit = renum[raw_orbit]
    keep = free_orbits[orbit]
    new = np.cumsum(keep) - 1
    rows = new[rows // dim] * dim + rows % dim
    sites, orbit = sites[keep], renum[orbit[keep]]
    ne = len(sites)
    E_raw = sp.csr_matrix((vals, (rows, cols)), shape=(ne * dim, n_raw))
    E_raw.sum_duplicates()
    return sites, orbit, raw_orbit, representatives, E_raw


def sorted_clusters(sites: list, vecs: list, smap, p2s, N: int) -> tuple:
    """The clusters found per primitive atom (lists of (m, order) site indices, the first a primitive atom, and of
    (m, order, 3) positions relative to it, Å) as arrays sorted by :func:`cluster_keys`, with their keys and the
    primitive atom of each site: (sites, vecs, keys, types)."""
    sites = np.concatenate(sites).astype(np.int64)
    vecs = np.concatenate(vecs)
    keys = cluster_keys(sites, N)
    srt = np.argsort(keys)
    sites, vecs, keys = sites[srt], vecs[srt], keys[srt]
    atoms = sites.copy()
    atoms[:, 0] = p2s[sites[:, 0]]
    return sites, vecs, keys, smap.atom[atoms]


def symmetry_images(primitive: Crystal, smap, p2s, keys, types, vecs, rotations, prim_perm, perms, N: int,
                    symprec: float, what: str = "cluster"):
    """The map from a cluster to its images under the crystal's operations and the permutations of its atoms.

    Parameters
    ----------
    primitive, smap, p2s
        The primitive cell, the supercell map and the supercell index of each primitive atom.
    keys : ndarray (n_entries,)
        Sorted :func:`cluster_keys` of the clusters (first atom in the primitive cell, the others in the supercell).
    types, vecs : ndarray (n_entries, order), (n_entries, order, 3)
        The primitive atom of each site of each cluster, and its position relative to the first (Å).
    rotations, prim_perm : ndarray
        The operations' Cartesian rotations (nops, 3, 3) and their maps of the primitive atoms (nops, n).
    perms : list of tuple
        The permutations of the cluster's sites.
    N : int
        Atoms in the supercell.
    symprec : float
        Å; images off the lattice by more than max(10 symprec, 1e-3) are refused.
    what : str
        What a cluster is called in the error ("cluster", "bond").

    Returns
    -------
    callable
        ``images(e)``: the entries that (op, perm) map entry ``e`` onto, (nops, nperms).
    """
    inv_cell = np.linalg.inv(primitive.cell)
    L0 = smap.lattice[p2s]
    P = primitive.positions
    tol = max(10 * symprec, 1e-3)
    order = len(perms[0])
    pa = np.array(perms)

    def images(e):
        t = types[e][pa]                                                # (ns, n)
        v = vecs[e][pa] - vecs[e][pa[:, :1]]                            # (ns, n, 3)
        nt = prim_perm[:, t]                                            # (nops, ns, n)
        nv = np.einsum("oab,snb->osna", rotations, v)
        a0 = nt[..., :1]
        frac = (nv + P[a0] - P[nt]) @ inv_cell
        L = np.rint(frac)
        if np.abs((frac - L) @ primitive.cell).max() > tol:
            raise ValueError(f"a symmetry image of a {what} is off the lattice (symprec?)")
        idx = smap.index(nt, L0[a0] + L.astype(np.int64))
        idx[..., 0] = nt[..., 0]
        ik = cluster_keys(idx.reshape(-1, order), N)
        pos = np.clip(np.searchsorted(keys, ik), 0, len(keys) - 1)
        if not np.array_equal(keys[pos], ik):
            raise ValueError(f"a symmetry image of a {what} is not within the cutoff (symprec?)")
        return pos.reshape(idx.shape[:2])
    return images


#: above this many elements (rows times raw parameters) the sum-rule conditions are not factored as one dense matrix:
#: their repeated rows are merged first (:func:`_gram_factor`). The fourth order of 576-atom wurtzite GaN within 3.2 A
#: has 38,500 conditions on 1252 raw parameters, 7,963 distinct: its pivoted QR took 36-73 s, the merged rows' QR and
#: the pivoted QR of its triangle 3-17 s (the same null space to 1e-13). The orders 2 and 3 of every crystal the tests
#: fit, and the fourth orders of the error model's calibration (32-atom Cu, 64-atom Si: 3.6e6), stay below it.
ASR_DENSE_LIMIT = 10_000_000


def _gram_factor(Cs: sp.csr_matrix) -> np.ndarray | None:
    """R0 (upper triangular, at most n x n) with R0'R0 = C'C, for the sparse sum-rule conditions ``Cs`` (rows, n):
    rows equal to round-off merged into one weighted by the square root of their count (the same Gram matrix), then
    a QR of what is left (rows that only share a hash with others are kept as they are). None when no row is
    nonzero (C itself is then looked at)."""
    scale = float(np.abs(Cs.data).max()) if Cs.nnz else 0.0
    rows = np.flatnonzero(abs(Cs).max(axis=1).toarray().ravel() > 1e-12) if scale > 0 else np.zeros(0, int)
    if rows.size == 0:
        return None
    Cs = Cs[rows]
    h = Cs @ np.random.default_rng(20240601).standard_normal((Cs.shape[1], 2))
    _, first, inverse, count = np.unique(np.round(h / scale, 9), axis=0, return_index=True, return_inverse=True,
                                         return_counts=True)
    inverse = inverse.reshape(-1)
    U = Cs[first]
    off = np.asarray(abs(U[inverse] - Cs).max(axis=1).toarray()).ravel() > 1e-12 * scale
    keep = np.ones(len(first), bool)
    keep[inverse[off]] = False                      # a hash shared by different rows: those rows stay as they are
    alone = np.flatnonzero(~keep[inverse])
    W = sp.vstack([U[keep].multiply(np.sqrt(count[keep])[:, None]), Cs[alone]]).toarray()
    return scipy.linalg.qr(W, mode="r", overwrite_a=True, check_finite=False)[0][:Cs.shape[1]]


def _asr_map(E_raw: sp.csr_matrix, sites: np.ndarray, N: int, dim: int) -> sp.csr_matrix:
    """Z with E_raw @ Z obeying the acoustic sum rule over the last atom index.

    The sums ``sum_last fc[entry]`` grouped by the other indices are ``C p_raw``; a QR of C with
    column pivoting names rank(C) raw parameters to eliminate (x_dep = -R11^-1 R12 x_free); the
    others are the free parameters, in their raw order.
    """
    _, group = np.unique(cluster_keys(sites[:, :-1], N), return_inverse=True)
    group = group.reshape(-1)
    ne = len(sites)
    q = np.arange(dim)
    S = sp.csr_matrix((np.ones(ne * dim), ((group[:, None] * dim + q).ravel(), np.arange(ne * dim))),
                      shape=((group.max() + 1) * dim, ne * dim))
    Cs = (S @ E_raw).tocsr()
    n_raw = E_raw.shape[1]
    if Cs.shape[0] * n_raw > ASR_DENSE_LIMIT and (R0 := _gram_factor(Cs)) is not None:
        # the same Gram matrix C'C from far fewer rows: a pivoted QR of R0 makes the same choice as one of C, up to
        # the order of columns of equal norm
        _, R, piv = scipy.linalg.qr(R0, mode="economic", pivoting=True, check_finite=False)
    else:
        C = Cs.toarray()
        C = C[np.abs(C).max(axis=1) > 1e-12]
        if len(C) == 0:
            return sp.identity(n_raw, format="csr")
        _, R, piv = scipy.linalg.qr(C, mode="economic", pivoting=True)
    d = np.abs(np.diag(R))
    rank = int(np.sum(d > 1e-9 * d[0]))
    dep, free = piv[:rank], np.sort(piv[rank:])
    R11, R12 = R[:rank, :rank], R[:rank][:, np.argsort(piv)[free]]
    Z = np.zeros((n_raw, len(free)))
    Z[free, np.arange(len(free))] = 1.0
    Z[dep] = -scipy.linalg.solve_triangular(R11, R12)
    Z[np.abs(Z) < ZERO] = 0.0
    return sp.csr_matrix(Z)
