"""Band-structure paths: default high-symmetry paths from the Bravais lattice, sampling, distances.

Special points are tabulated in reduced coordinates of the *conventional* reciprocal lattice of
spglib's standardised cell (Setyawan-Curtarolo labels) and transformed into the reduced coordinates
of the primitive cell the force constants carry: with spglib's ``transformation_matrix`` P
(x_conv = P x + p), a q-point goes as q_prim = q_conv @ P (rows), which keeps q . x invariant.
"""
from __future__ import annotations

import warnings

import numpy as np

from trajmodes.lattice.symmetry import reciprocal_rotations
from trajmodes.lattice.symmetry import SYMPREC

__all__ = ["bravais_lattice", "default_path", "sample_path", "special_points", "path_coordinates"]

_G = (0.0, 0.0, 0.0)

#: Bravais lattice -> (special points, reduced in the conventional reciprocal basis; path as
#: connected pieces of labels).
_TABLE = {
    "cF": (dict(G=_G, X=(0, 1, 0), L=(.5, .5, .5), W=(.5, 1, 0), K=(.75, .75, 0), U=(.25, 1, .25)),
           [["G", "X", "U"], ["K", "G", "L", "W", "X"]]),
    "cI": (dict(G=_G, H=(0, 0, 1), N=(.5, .5, 0), P=(.5, .5, .5)),
           [["G", "H", "N", "G", "P", "H"], ["P", "N"]]),
    "cP": (dict(G=_G, X=(0, .5, 0), M=(.5, .5, 0), R=(.5, .5, .5)),
           [["G", "X", "M", "G", "R", "X"], ["M", "R"]]),
    "hP": (dict(G=_G, M=(.5, 0, 0), K=(1 / 3, 1 / 3, 0), A=(0, 0, .5), L=(.5, 0, .5),
                H=(1 / 3, 1 / 3, .5)),
           [["G", "M", "K", "G", "A", "L", "H", "A"], ["L", "M"], ["K", "H"]]),
    "tP": (dict(G=_G, X=(0, .5, 0), M=(.5, .5, 0), Z=(0, 0, .5), R=(0, .5, .5), A=(.5, .5, .5)),
           [["G", "X", "M", "G", "Z", "R", "A", "Z"], ["X", "R"], ["M", "A"]]),
    "oP": (dict(G=_G, X=(.5, 0, 0), Y=(0, .5, 0), Z=(0, 0, .5), S=(.5, .5, 0), U=(.5, 0, .5),
                T=(0, .5, .5), R=(.5, .5, .5)),
           [["G", "X", "S", "Y", "G", "Z", "U", "R", "T", "Z"], ["Y", "T"], ["U", "X"], ["S", "R"]]),
}
_FALLBACK = (dict(G=_G, X=(.5, 0, 0), Y=(0, .5, 0), Z=(0, 0, .5)), [["X", "G", "Y"], ["G", "Z"]])
#: how special-point letters are printed (G is Gamma)
PRETTY_LABELS = {"G": "Γ"}


def bravais_lattice(crystal, symprec: float = SYMPREC) -> str:
    """Pearson-style Bravais lattice symbol ('cF', 'cI', 'cP', 'hP', 'hR', 'tI', 'oC', 'mP', 'aP', ...)."""
    ds = crystal.symmetry(symprec)
    n, centring = int(ds.number), str(ds.international)[0]
    family = ("a" if n <= 2 else "m" if n <= 15 else "o" if n <= 74 else "t" if n <= 142
              else "h" if n <= 194 else "c")
    if centring in "AB":
        centring = "C"
    return family + centring


def _table(primitive, symprec):
    lattice = bravais_lattice(primitive, symprec)
    if lattice in _TABLE:
        points, path = _TABLE[lattice]
        return lattice, points, path, np.asarray(primitive.symmetry(symprec).transformation_matrix, float)
    return lattice, _FALLBACK[0], _FALLBACK[1], np.eye(3)


def special_points(primitive, symprec: float = SYMPREC) -> dict[str, np.ndarray]:
    """Special points of ``primitive``'s lattice, label -> reduced q in its primitive reciprocal basis.

    Labels are ASCII ('G' for Gamma); lattices without a table get G, X, Y, Z = the primitive
    zone-face centres.
    """
    _, points, _, P = _table(primitive, symprec)
    return {k: np.asarray(v, dtype=float) @ P for k, v in points.items()}


def default_path(primitive, symprec: float = SYMPREC) -> tuple[list[np.ndarray], list[list[str]]]:
    """Default high-symmetry path in reduced coordinates of ``primitive``'s reciprocal lattice.

    Parameters
    ----------
    primitive : Crystal
        The primitive cell whose reciprocal basis the q-points are given in.

    Returns
    -------
    pieces : list of ndarray, each (n_points, 3)
        Connected pieces of the path (a break between pieces).
    labels : list of list of str
        The label of every point of every piece (Γ for Gamma).
    """
    lattice, points, path, P = _table(primitive, symprec)
    if lattice not in _TABLE:
        warnings.warn(f"no tabulated high-symmetry path for the {lattice} lattice: straight lines from Gamma "
                      "to the zone-face centres (1/2, 0, 0), (0, 1/2, 0), (0, 0, 1/2) of the primitive "
                      "reciprocal cell", stacklevel=3)
    pieces = [np.array([points[k] for k in piece], dtype=float) @ P for piece in path]
    labels = [[PRETTY_LABELS.get(k, k) for k in piece] for piece in path]
    return pieces, labels


def sample_path(pieces, npoints: int, reciprocal_cell: np.ndarray):
    """Sample every segment of every piece with ``npoints`` points including both ends (as phonopy).

    Parameters
    ----------
    pieces : list of array_like, each (n_nodes, 3)
        Reduced q of the nodes of every connected piece.
    npoints : int
        Points per segment, end points included (ends are repeated at joints, like phonopy).
    reciprocal_cell : ndarray, shape (3, 3)
        Rows b1, b2, b3 in 1/A without 2 pi.

    Returns
    -------
    q : ndarray, (n_seg * npoints, 3)
    distance : ndarray, (n_seg * npoints,)
        Cumulative path length in 1/A without 2 pi (phonopy's); no jump across breaks.
    segment : ndarray of int, (n_seg * npoints,)
    node : list of (index, piece, position in piece): the samples that are path nodes (a joint
        inside a piece appears twice: end of one segment, start of the next)
    """
    if npoints < 2:
        raise ValueError("npoints must be at least 2 (the two ends of a segment)")
    t = np.linspace(0.0, 1.0, npoints)[:, None]
    qs, seg, nodes, k = [], [], [], 0
    for p, piece in enumerate(pieces):
        piece = np.asarray(piece, dtype=float).reshape(-1, 3)
        if len(piece) < 2:
            raise ValueError("every piece of a path needs at least two points")
        for i in range(len(piece) - 1):
            if i:
                nodes.append((k * npoints - 1, p, i))
            qs.append(piece[i] + t * (piece[i + 1] - piece[i]))
            nodes.append((k * npoints, p, i))
            seg.append(np.full(npoints, k))
            k += 1
        nodes.append((k * npoints - 1, p, len(piece) - 1))
    q = np.concatenate(qs)
    step = np.linalg.norm(np.diff(q, axis=0) @ reciprocal_cell, axis=1)
    step[np.diff(np.concatenate(seg)) != 0] = 0.0                 # joints and breaks: no length
    distance = np.concatenate([[0.0], np.cumsum(step)])
    return q, distance, np.concatenate(seg), nodes


def path_coordinates(qpoints, bands, rotations, time_reversal: bool = True, tol: float = 1e-6):
    """Where commensurate q-points, or a point-group image of them, lie on a band path.

    Parameters
    ----------
    qpoints : array_like, (nq, 3)
        Reduced q (primitive reciprocal basis, no 2 pi).
    bands : xarray.Dataset
        A path from :meth:`trajmodes.Phonons.band_structure` (``qpoint``, ``distance``, ``segment``):
        every segment is the straight line between its first and last sample.
    rotations : array_like, (n_ops, 3, 3)
        Rotations of the primitive cell in its fractional coordinates (spglib's, x' = R x). A reduced q goes
        as q' = R^-T q (keeps q . x invariant), and q' + G for any reciprocal lattice vector G (integer
        in these coordinates) is the same wave vector.
    time_reversal : bool
        Also map -q (the same frequencies; needed for groups without inversion).
    tol : float
        Distance in reduced coordinates below which an image counts as on a segment.

    Returns
    -------
    list of ndarray
        For every q the sorted path distances (``bands.distance`` units) where an image lies; empty when
        none does. A q at a joint of two segments appears once.
    """
    q = np.asarray(qpoints, float).reshape(-1, 3)
    mats = reciprocal_rotations(rotations, time_reversal)              # q' = R^-T q (and -q)
    seg = bands.segment.values
    bq = bands.qpoint.values
    dist = bands.distance.values
    starts = np.array([np.flatnonzero(seg == s)[0] for s in np.unique(seg)])
    ends = np.array([np.flatnonzero(seg == s)[-1] for s in np.unique(seg)])
    a, v = bq[starts], bq[ends] - bq[starts]                              # (ns, 3)
    vv = np.einsum("sk,sk->s", v, v)
    d0, d1 = dist[starts], dist[ends]
    # reciprocal lattice vectors that can bring an image (|q'| <= ~1.5) onto a segment (|a|, |b| <= ~1.5)
    rng = np.arange(-3, 4)
    G = np.stack(np.meshgrid(rng, rng, rng, indexing="ij"), -1).reshape(-1, 3).astype(float)
    out = []
    for qi in q:
        img = np.einsum("oij,j->oi", mats, qi)
        img = np.unique(np.round(img - np.rint(img), 9), axis=0)        # images reduced to (-1/2, 1/2]
        w = img[:, None, None, :] - G[None, :, None, :] - a[None, None, :, :]          # (ni, nG, ns, 3)
        t = np.einsum("igsk,sk->igs", w, v) / np.where(vv > 0, vv, 1.0)
        r = np.linalg.norm(w - t[..., None] * v, axis=-1)
        hit = (r < tol) & (t > -tol) & (t < 1 + tol) & (vv > 0)
        _, _, s_idx = np.nonzero(hit)
        tt = np.clip(t[hit], 0.0, 1.0)
        d = d0[s_idx] + tt * (d1[s_idx] - d0[s_idx])
        out.append(np.unique(np.round(d, 9)))
    return out
