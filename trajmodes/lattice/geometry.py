"""Geometry of periodic cells: lattice reduction, minimum images, neighbour pairs.

The one home of the minimum image: every distance or image vector in trajmodes goes through these functions.
Cells are rows (a, b, c) in Å, positions Cartesian; fractional coordinates are rows in the cell's basis.
"""
from __future__ import annotations

import itertools

import numpy as np

__all__ = ["niggli_reduce", "minimum_image", "shortest_images", "all_shortest_images", "wigner_seitz_pairs",
           "shortest_vectors", "shortest_lattice_vector", "pairs_within", "neighbours", "comes_after"]

#: the 27 lattice shifts around the origin, fractional
_SHIFTS = np.array(list(itertools.product((-1, 0, 1), repeat=3)), dtype=float)
#: the 125 lattice shifts within two cells of the origin, fractional (every shortest image, for a reduced basis)
_SHIFTS2 = np.array(list(itertools.product(range(-2, 3), repeat=3)), dtype=float)


def niggli_reduce(cell) -> np.ndarray:
    """The Niggli-reduced basis of the lattice spanned by the rows of ``cell`` (spglib); ``cell`` itself when
    spglib cannot reduce it."""
    import spglib
    from trajmodes.lattice.spglib_calls import quiet_spglib
    cell = np.asarray(cell, dtype=float)
    with quiet_spglib():
        red = spglib.niggli_reduce(cell, eps=1e-5)
    return cell if red is None else np.asarray(red, dtype=float)


def minimum_image(delta: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Minimum-image vectors of ``delta`` (frames, atoms, 3) in the cells (frames, 3, 3), by rounding the
    fractional coordinates (exact for displacements below half the cell's widths).

    Frames whose cell is NaN (non-periodic) are returned unchanged.
    """
    out = np.array(delta, dtype=float, copy=True)
    ok = np.isfinite(cells).all(axis=(1, 2))
    if ok.all() and len(cells) and np.all(cells == cells[0]):
        # one cell for the whole block (NVT, NVE): two plain matrix products
        flat = out.reshape(-1, 3)
        frac = flat @ np.linalg.inv(cells[0])
        frac -= np.round(frac)
        np.matmul(frac, cells[0], out=flat)
    elif ok.any():
        c = cells[ok]
        frac = np.matmul(out[ok], np.linalg.inv(c))
        frac -= np.round(frac)
        out[ok] = np.matmul(frac, c)
    return out


#: vectors :func:`shortest_images` and :func:`all_shortest_images` compare at a time (their 27 or 125 images each)
IMAGE_BLOCK = 1 << 15


def shortest_images(frac: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """The image of every fractional vector ``frac`` (..., 3) (rows in the basis ``basis``) with the shortest
    Cartesian length: rounded into [-1/2, 1/2], then the best of its 27 neighbouring images (exact for a reduced
    basis; first of equals in a fixed order). Works in reciprocal space too (``basis`` = reciprocal cell)."""
    f = np.asarray(frac, dtype=float)
    shape = f.shape
    flat = f.reshape(-1, 3)
    basis = np.asarray(basis, float)
    out = np.empty_like(flat)
    for s in range(0, len(flat), IMAGE_BLOCK):                 # (block, 27, 3) at a time, not N x 27 x 3
        g = flat[s:s + IMAGE_BLOCK]
        cand = (g - np.rint(g))[:, None, :] + _SHIFTS
        length = np.linalg.norm(cand @ basis, axis=-1) + 1e-9 * np.arange(27)
        out[s:s + IMAGE_BLOCK] = cand[np.arange(len(g)), np.argmin(length, axis=-1)]
    return out.reshape(shape)


def all_shortest_images(frac: np.ndarray, basis: np.ndarray, tol: float = 1e-5):
    """Every periodic image of equal, shortest length of each fractional vector ``frac`` (..., 3): the Wigner-Seitz
    images of phonopy, phono3py and :class:`trajmodes.Phonons`, over which a constant between two atoms of a
    supercell is shared (weight 1 / multiplicity).

    Each vector is rounded into [-1/2, 1/2], and of its images shifted by up to two lattice vectors along each axis
    those within ``tol`` of the shortest are kept (exact for a Niggli-reduced ``basis``, :func:`niggli_reduce`), in
    blocks of :data:`IMAGE_BLOCK` vectors.

    Parameters
    ----------
    frac : array_like (..., 3)
        Fractional coordinates in ``basis``.
    basis : array_like (3, 3)
        Lattice vectors as rows, Å (Niggli-reduced).
    tol : float
        Images within ``tol`` Å of the shortest count as equally short (phonopy's tolerance).

    Returns
    -------
    index : tuple of ndarray of int
        For every image, the index of its vector in the leading dimensions of ``frac`` (as :func:`numpy.nonzero`),
        images of a vector side by side, vectors in C order.
    images : ndarray (n_images, 3)
        The images' fractional coordinates in ``basis``.
    multiplicity : ndarray of int (...)
        The number of images of every vector.
    """
    f = np.asarray(frac, dtype=float)
    shape = f.shape[:-1]
    flat = f.reshape(-1, 3)
    basis = np.asarray(basis, dtype=float)
    where, images = [], []
    mult = np.empty(len(flat), dtype=np.int64)
    for s in range(0, len(flat), IMAGE_BLOCK):               # (block, 125, 3) at a time: ~100 MB, not N x 9 kB
        g = flat[s:s + IMAGE_BLOCK]
        cand = (g - np.rint(g))[:, None, :] + _SHIFTS2
        length = np.linalg.norm(cand @ basis, axis=-1)
        keep = length <= length.min(axis=-1, keepdims=True) + tol
        i, c = np.nonzero(keep)
        where.append(i + s)
        images.append(cand[i, c])
        mult[s:s + IMAGE_BLOCK] = keep.sum(axis=-1)
    index = np.unravel_index(np.concatenate(where), shape) if shape else ()
    return tuple(index), np.concatenate(images).reshape(-1, 3), mult.reshape(shape)


def wigner_seitz_pairs(basis, atom, cells, centres, cell, matrix, tol: float = 1e-5):
    """Every pair (primitive atom k, supercell atom j) of a periodic supercell with each of its equally short
    periodic images, and its weight: the Wigner-Seitz treatment of phonopy, phono3py and :class:`trajmodes.Phonons`,
    in which a constant between two atoms is shared by the m shortest images of the pair (weight 1/m).

    The images are those of :func:`all_shortest_images` in the Niggli-reduced supercell lattice, found one
    primitive atom at a time (memory N x 125, not n N x 125).

    Parameters
    ----------
    basis : array_like (n, 3)
        Fractional coordinates (rows in ``cell``) of the primitive atoms.
    atom, cells : array_like of int (N,), (N, 3)
        Supercell atom ``j`` sits at ``basis[atom[j]] + cells[j]`` (fractional, in ``cell``).
    centres : array_like of int (n,)
        The supercell atom of every primitive atom k (``atom[centres[k]] == k``): the pairs start there.
    cell : array_like (3, 3)
        Primitive lattice vectors as rows, Å.
    matrix : array_like of int (3, 3)
        The supercell lattice is ``matrix @ cell``.
    tol : float
        Images within ``tol`` Å of the shortest count as equally short (phonopy's tolerance).

    Returns
    -------
    k, j : ndarray of int (n_images,)
        Primitive atom and supercell atom of every image, sorted by k, then j.
    lattice : ndarray of int (n_images, 3)
        The image's primitive lattice vector: image vector = ``(basis[atom[j]] + lattice - basis[k]) @ cell``.
    weight : ndarray (n_images,)
        1 / (number of equally short images of the pair).
    vector : ndarray (n_images, 3)
        The image vector, Å.
    multiplicity : ndarray of int (n, N)
        The number of equally short images of every pair.
    """
    basis, cell = np.asarray(basis, dtype=float), np.asarray(cell, dtype=float)
    atom, centres = np.asarray(atom), np.asarray(centres)
    site = basis[atom] + cells                                        # (N, 3) primitive fractional
    red = niggli_reduce(np.asarray(matrix) @ cell)                    # reduced supercell basis, Cartesian rows
    to_red = cell @ np.linalg.inv(red)                                # primitive fractional -> reduced fractional
    to_frac = np.linalg.inv(cell)
    out, mults = [], []
    for k in range(len(centres)):
        (j,), images, mult = all_shortest_images((site - site[centres[k]]) @ to_red, red, tol)
        vector = images @ red
        lattice = np.rint(vector @ to_frac - (basis[atom[j]] - basis[k])).astype(np.int64)
        out.append((np.full(len(j), k), j, lattice, 1.0 / mult[j], vector))
        mults.append(mult)
    return (*(np.concatenate(parts) for parts in zip(*out)), np.array(mults).reshape(len(centres), len(atom)))


def shortest_vectors(delta: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """The shortest periodic images of Cartesian vectors ``delta`` (..., 3) in ``cell``, Cartesian."""
    cell = np.asarray(cell, dtype=float)
    return shortest_images(np.asarray(delta, float) @ np.linalg.inv(cell), cell) @ cell


def shortest_lattice_vector(cell: np.ndarray) -> float:
    """Length (Å) of the shortest non-zero vector of the lattice spanned by ``cell``."""
    red = niggli_reduce(cell)
    g = np.array([v for v in itertools.product(range(-2, 3), repeat=3) if any(v)])
    return float(np.linalg.norm(g @ red, axis=1).min())


#: above this many atoms, :func:`nearest_neighbour_distance` searches a k-d tree instead of comparing every pair
PAIRWISE_ATOMS = 512


def nearest_neighbour_distance(cell: np.ndarray, positions: np.ndarray) -> float:
    """Shortest distance (Å) between two atoms of a periodic crystal, an atom and its own images included.

    Up to :data:`PAIRWISE_ATOMS` atoms every pair is compared; a larger cell (a supercell of 10^4 atoms would need
    10^8 pairs and gigabytes) is searched in O(N log N): the atoms wrapped into the cell and their periodic images
    within a skin as thick as an upper bound of the answer (atom 0's nearest neighbour) go into a k-d tree, and each
    atom's nearest other point in it is found."""
    x = np.asarray(positions, dtype=float)
    cell = np.asarray(cell, dtype=float)
    d = shortest_lattice_vector(cell)
    if len(x) < 2:
        return d
    if len(x) <= PAIRWISE_ATOMS:
        r = np.linalg.norm(shortest_vectors(x[None, :, :] - x[:, None, :], cell), axis=-1)
        r[np.diag_indices(len(x))] = np.inf
        return min(d, float(r.min()))
    f = x @ np.linalg.inv(cell)
    first = np.linalg.norm(shortest_images(f[1:] - f[0], cell) @ cell, axis=1).min()     # an upper bound
    bound = min(d, float(first))
    widths = abs(np.linalg.det(cell)) / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
    skin = bound / widths * (1 + 1e-9) + 1e-12                                             # fractional, per axis
    if np.any(skin >= 0.5):                                    # a cell thinner than two neighbour distances: pairs
        r = np.linalg.norm(shortest_vectors(x[None, :, :] - x[:, None, :], cell), axis=-1)
        r[np.diag_indices(len(x))] = np.inf
        return min(d, float(r.min()))
    from scipy.spatial import cKDTree
    f -= np.floor(f)
    points = [f]
    for shift in _SHIFTS[np.any(_SHIFTS != 0, axis=1)]:
        g = f + shift
        inside = np.all((g >= -skin) & (g <= 1 + skin), axis=1)
        points.append(g[inside])
    tree = cKDTree(np.concatenate(points) @ cell)
    dist, _ = tree.query(f @ cell, k=2)
    return min(d, float(dist[:, 1].min()))


def neighbours(positions: np.ndarray, cell: np.ndarray, centre: int, cutoff: float, tol: float = 0.0):
    """Atoms within ``cutoff`` (+ ``tol``) of atom ``centre`` (itself included) and their shortest image vectors.

    Only atoms that can be that close are compared image by image (:func:`shortest_images`): every image of a
    fractional vector rounded into [-1/2, 1/2] is at least the smallest singular value of ``cell`` times its length
    (each component of ``f + n`` is at least that of ``f``), which rules out all but a few atoms of a big supercell
    (864,000 atoms: 0.8 s -> 0.05 s a centre).

    Returns (indices, vectors (n, 3) Å)."""
    x = np.asarray(positions, float)
    cell = np.asarray(cell, dtype=float)
    f = (x - x[centre]) @ np.linalg.inv(cell)
    f -= np.rint(f)
    reach = cutoff + tol
    near = np.flatnonzero(np.sqrt(np.einsum("ij,ij->i", f, f)) * np.linalg.svd(cell, compute_uv=False).min()
                          <= reach * (1 + 1e-9) + 1e-12)
    r = shortest_images(f[near], cell) @ cell
    d = np.linalg.norm(r, axis=1)
    keep = d <= reach
    return near[keep], r[keep]


#: cells of up to this many atoms find their pairs by one broadcast over all atom pairs (fastest there); larger ones
#: with a k-d tree over the atoms and their periodic ghosts, in time and memory linear in the atoms
DENSE_PAIRS_ATOMS = 1000


def pairs_within(cell, positions, cutoff: float, return_cells: bool = False):
    """All ordered pairs (i, j, image) with 0 < |x_j + R - x_i| < cutoff in a periodic cell.

    Returns i, j (int arrays) and d = x_j + R - x_i (n_pairs, 3). Periodic images of the same j are
    separate pairs, so small cells (cutoff > half the cell) are handled exactly. With ``return_cells``
    also the integer lattice translation n of each image (n_pairs, 3), R = n @ cell.

    Up to :data:`DENSE_PAIRS_ATOMS` atoms every pair of atoms is tried at every image within reach (arrays of
    N x N); beyond, a k-d tree (:class:`scipy.spatial.cKDTree`) over the atoms and the periodic images of those within
    ``cutoff`` of a face of the cell (any cell shape) finds them with memory and time linear in N (10^4 atoms of
    amorphous Si with a 3.8 Å cutoff: 0.2 s). Both give the same pairs (in another order).
    """
    cell = np.asarray(cell, dtype=float)
    x = np.asarray(positions, dtype=float)
    if len(x) > DENSE_PAIRS_ATOMS:
        return _pairs_within_tree(cell, x, float(cutoff), return_cells)
    inv = np.linalg.inv(cell)
    frac = x @ inv
    df = frac[None, :, :] - frac[:, None, :]
    wrap = np.rint(df)
    df -= wrap                                               # in [-0.5, 0.5]
    dist = 1.0 / np.linalg.norm(inv, axis=0)                 # interplanar spacings
    # |f_a + n_a| < cutoff / spacing_a with |f_a| <= 1/2: the images within reach along each axis
    nmax = np.floor(cutoff / dist + 0.5 + 1e-9).astype(int)
    base = df @ cell                                         # (N, N, 3)
    ii, jj, dd, nn = [], [], [], []
    rc2 = cutoff * cutoff
    for s0 in range(-nmax[0], nmax[0] + 1):
        for s1 in range(-nmax[1], nmax[1] + 1):
            for s2 in range(-nmax[2], nmax[2] + 1):
                s = np.array([s0, s1, s2], dtype=float)
                d = base + s @ cell
                r2 = np.einsum("ijk,ijk->ij", d, d)
                ok = (r2 < rc2) & (r2 > 1e-20)
                i, j = np.nonzero(ok)
                ii.append(i)
                jj.append(j)
                dd.append(d[i, j])
                if return_cells:
                    nn.append((s - wrap[i, j]).astype(np.int64))
    out = np.concatenate(ii), np.concatenate(jj), np.concatenate(dd)
    return (*out, np.concatenate(nn)) if return_cells else out


def _pairs_within_tree(cell: np.ndarray, x: np.ndarray, cutoff: float, return_cells: bool):
    """:func:`pairs_within` by a k-d tree: the atoms (wrapped into the cell) and every periodic image of them that
    lies within ``cutoff`` of the cell (in fractional coordinates, within cutoff / spacing of [0, 1) along each
    axis) are the tree's points; the pairs are those of the wrapped atoms with the tree's points."""
    from scipy.spatial import cKDTree
    inv = np.linalg.inv(cell)
    frac = x @ inv
    home = np.floor(frac)                                    # x = (f - home) @ cell + home @ cell
    f0 = frac - home
    reach = cutoff / (1.0 / np.linalg.norm(inv, axis=0))     # the cutoff in fractional units along each axis
    nmax = np.ceil(reach).astype(int)
    shifts = np.array([(a, b, c) for a in range(-nmax[0], nmax[0] + 1) for b in range(-nmax[1], nmax[1] + 1)
                       for c in range(-nmax[2], nmax[2] + 1)], dtype=float)
    idx, shift = [], []
    for s in shifts:
        g = f0 + s
        near = np.all((g > -reach) & (g < 1.0 + reach), axis=1)
        idx.append(np.flatnonzero(near))
        shift.append(np.broadcast_to(s, (int(near.sum()), 3)))
    idx, shift = np.concatenate(idx), np.concatenate(shift)
    ghosts = (f0[idx] + shift) @ cell
    pairs = cKDTree(f0 @ cell).sparse_distance_matrix(cKDTree(ghosts), cutoff, output_type="ndarray")
    i, k = pairs["i"].astype(np.int64), pairs["j"].astype(np.int64)
    j = idx[k]
    d = ghosts[k] - f0[i] @ cell
    r2 = np.einsum("na,na->n", d, d)
    keep = (r2 < cutoff * cutoff) & (r2 > 1e-20)
    i, j, d, k = i[keep], j[keep], d[keep], k[keep]
    if not return_cells:
        return i, j, d
    n = (shift[k] - home[j] + home[i]).astype(np.int64)      # x_j + n @ cell - x_i = d
    return i, j, d, n


def comes_after(i, j, n) -> np.ndarray:
    """Whether (atom j, cell n) comes after (atom i, cell 0): j > i, or j == i and n > 0 lexicographically. Ordering
    the members of a cluster this way is translation invariant, so it picks each pair or triplet once."""
    n = np.asarray(n)
    pos = (n[:, 0] > 0) | ((n[:, 0] == 0) & ((n[:, 1] > 0) | ((n[:, 1] == 0) & (n[:, 2] > 0))))
    return (j > i) | ((j == i) & pos)
