"""Band-structure paths: the standard high-symmetry path of every Bravais lattice, sampling, distances.

Convention: W. Setyawan and S. Curtarolo, Comput. Mater. Sci. 49, 299 (2010): their special points, labels and paths
for the 14 Bravais lattices and their parameter-dependent variants (BCT1/2, ORCF1/2/3, RHL1/2, MCLC1-5, TRI1a/1b/2a/2b).

How a crystal gets them:

1. The Bravais lattice follows the crystal's space group (spglib), not its cell metric alone: a tetragonal crystal
   whose c happens to equal a keeps the tetragonal path.
2. spglib's conventional cell (``transformation_matrix``, its idealised ``std_lattice`` for the lattice parameters) is
   renamed into Setyawan and Curtarolo's: a < b < c for oP, oF, oI; the centred face spanned by a < b for oC; the
   rhombohedral cell (a, alpha) for hR; the unique axis as a, with alpha < 90 degrees for mP and mC, b <= c for mP
   (mC keeps b > c where its centring needs it, point 3; the centring on the (a, b) face); the Niggli-reduced
   reciprocal cell with k_gamma the extreme angle for aP (see :func:`_triclinic`; TRI2b cannot come out of a
   Niggli-reduced basis, which gives TRI2a for the same lattices, but its table is there and tested).
3. The special points and paths are tabulated from the paper in :mod:`trajmodes.lattice.setyawan_curtarolo`
   (ASE's ``ase.lattice`` implements the same paper and serves as an independent check in the tests; it refuses
   b > c for MCLC, which base-centred monoclinic crystals such as beta-Ga2O3 need, and where the formulas hold).
4. They are expressed in reduced coordinates of the primitive cell the force constants carry, whatever its basis and
   orientation: the primitive cell of the convention and that cell are two bases of one lattice, related by an
   integer matrix U (q_ours = k U for the points k of the paper's reciprocal basis).

Labels are ASCII inside ('G' for Gamma, 'S' for Sigma in BCT2, 'Z1' for Z_1) and printed with
:func:`pretty_label` (Γ, Σ, Z₁); user path strings take either form.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np

from trajmodes.lattice.setyawan_curtarolo import PRIMITIVE, VARIANT_TOLERANCE, lattice_points, triclinic_points
from trajmodes.lattice.symmetry import reciprocal_rotations
from trajmodes.lattice.spglib_calls import SYMPREC

__all__ = ["BrillouinZonePath", "bravais_lattice", "brillouin_zone_path", "default_path", "special_points",
           "parse_path", "pretty_label", "sample_path", "path_coordinates"]

#: Pearson symbol -> Setyawan-Curtarolo lattice
SC_LATTICES = {"cP": "CUB", "cF": "FCC", "cI": "BCC", "tP": "TET", "tI": "BCT", "oP": "ORC", "oF": "ORCF",
               "oI": "ORCI", "oC": "ORCC", "hP": "HEX", "hR": "RHL", "mP": "MCL", "mC": "MCLC", "aP": "TRI"}

_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_PLAIN = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
#: one label: a capital (or Γ, Σ) and its subscript digits
_LABEL = re.compile(r"[A-ZΓΣ][0-9₀-₉]*")


@dataclass(frozen=True)
class BrillouinZonePath:
    """The Setyawan-Curtarolo description of a crystal's Brillouin zone.

    Attributes
    ----------
    pearson : str
        Pearson symbol of the Bravais lattice ('cF', 'tI', 'mC', ...), from the space group.
    name : str
        Setyawan and Curtarolo's lattice or variant ('FCC', 'BCT2', 'ORCF3', 'RHL1', 'MCLC4', 'TRI1a', ...).
    parameters : dict
        Their conventional lattice parameters: lengths in Å, angles in degrees.
    points : dict of str -> ndarray (3,)
        Special points, ASCII label -> reduced q (the crystal's primitive reciprocal basis, no 2 pi).
    path : tuple of tuple of str
        The default path: connected pieces of labels.
    """

    pearson: str
    name: str
    parameters: dict
    points: dict
    path: tuple

    def pretty(self, label: str) -> str:
        """How ``label`` is printed (:func:`pretty_label`)."""
        return pretty_label(label, self.name)


def pretty_label(label: str, lattice: str = "") -> str:
    """The printed form of an ASCII special-point label: 'G' -> 'Γ', 'S' -> 'Σ' in the BCT2 lattice
    (``lattice``: the Setyawan-Curtarolo name), digits as subscripts ('Z1' -> 'Z₁')."""
    head, tail = label[:1], label[1:]
    head = "Γ" if head == "G" else "Σ" if head == "S" and lattice == "BCT2" else head
    return head + tail.translate(_SUBSCRIPTS)


def bravais_lattice(crystal, symprec: float = SYMPREC) -> str:
    """Pearson symbol of the crystal's Bravais lattice ('cF', 'cI', 'cP', 'hP', 'hR', 'tI', 'oC', 'mP', 'aP', ...),
    from its space group (spglib)."""
    ds = crystal.symmetry(symprec)
    n, centring = int(ds.number), str(ds.international)[0]
    family = ("a" if n <= 2 else "m" if n <= 15 else "o" if n <= 74 else "t" if n <= 142
              else "h" if n <= 194 else "c")
    if centring in "AB":
        centring = "C"
    return family + centring


def _centrings(primitive_rows) -> np.ndarray:
    """The lattice translations inside spglib's conventional cell (centrings: multiples of 1/2 or 1/3), in its
    fractional coordinates, from the crystal's primitive basis vectors in those coordinates (rows)."""
    n = np.array(list(itertools.product(range(4), repeat=3)), float) @ np.asarray(primitive_rows, float)
    f = np.rint(6 * n) / 6
    return np.unique(np.round(f - np.floor(f), 6) % 1.0, axis=0)


def _pick_in_plane(G, u, parity=None):
    """Monoclinic b and c of Setyawan and Curtarolo in spglib's conventional coordinates: the shortest two vectors of
    the net perpendicular to the unique axis ``u`` that span it, b in the coset ``parity`` of twice the net (mC: the
    centred face is (a, b)), alpha < 90 degrees."""
    p, q = [i for i in range(3) if i != u]
    mn = np.array([(m, n) for m in range(-8, 9) for n in range(-8, 9) if (m, n) != (0, 0)])
    v = np.zeros((len(mn), 3))
    v[:, p], v[:, q] = mn[:, 0], mn[:, 1]
    length = np.einsum("ki,ij,kj->k", v, G, v)
    ok_b = np.ones(len(mn), bool) if parity is None else np.all((mn - parity) % 2 == 0, axis=1)
    ib = np.flatnonzero(ok_b)[np.argmin(length[ok_b])]
    det = mn[ib, 0] * mn[:, 1] - mn[ib, 1] * mn[:, 0]
    ok_c = np.abs(det) == 1
    ic = np.flatnonzero(ok_c)[np.argmin(length[ok_c])]
    b, c = v[ib], v[ic]
    if b @ G @ c < 0:
        c = -c
    return b, c


def _conventional_axes(pearson, G, centrings):
    """T: rows of Setyawan and Curtarolo's conventional cell in spglib's conventional fractional coordinates, for
    spglib's conventional metric ``G`` (Å²)."""
    L = np.sqrt(np.diag(G))
    if pearson in ("oP", "oF", "oI"):
        return np.eye(3)[np.argsort(L, kind="stable")]
    if pearson == "oC":
        t = centrings[np.any(centrings > 0, axis=1)][0]
        k = int(np.flatnonzero(np.isclose(t, 0.0))[0])                    # the axis normal to the centred face
        i, j = sorted((i for i in range(3) if i != k), key=lambda i: L[i])
        return np.eye(3)[[i, j, k]]
    if pearson == "hR":                                                    # obverse hexagonal -> rhombohedral
        return np.array([[2, 1, 1], [-1, 1, 1], [-1, -2, 1]]) / 3.0
    if pearson in ("mP", "mC"):
        off = np.abs(G) / np.outer(L, L)
        u = int(np.argmin([off[i, [j for j in range(3) if j != i]].sum() for i in range(3)]))
        parity = None
        if pearson == "mC":
            t = centrings[np.isclose(centrings[:, u], 0.5)][0]
            parity = np.rint(2 * np.delete(t, u)).astype(int)
        b, c = _pick_in_plane(G, u, parity)
        a = np.eye(3)[u]
        T = np.array([a, b, c])
        if np.linalg.det(T) < 0:
            T[0] = -a
        return T
    return np.eye(3)


def _parameters(lattice, G):
    """Setyawan and Curtarolo's parameters (a, b, c in Å, alpha in degrees) from their conventional metric ``G``."""
    L = np.sqrt(np.diag(G))
    angle = float(np.degrees(np.arccos(np.clip(G[1, 2] / (L[1] * L[2]), -1.0, 1.0))))
    if lattice in ("CUB", "FCC", "BCC", "RHL"):
        return dict(a=float(L.mean()), alpha=angle) if lattice == "RHL" else dict(a=float(L.mean()))
    if lattice in ("TET", "BCT", "HEX"):
        return dict(a=float(L[:2].mean()), c=float(L[2]))
    if lattice in ("MCL", "MCLC"):
        return dict(a=float(L[0]), b=float(L[1]), c=float(L[2]), alpha=angle)
    return dict(a=float(L[0]), b=float(L[1]), c=float(L[2]))


def _tokens(text: str) -> list[list[str]]:
    """Pieces of ASCII labels from a path string: pieces split by '|' or ','; a label is a capital (or Γ, Σ) and its
    digits ('GXU|KGL', 'GXMGZPNZ1M,XP', 'ΓΣ₁')."""
    out = []
    for chunk in text.replace(",", "|").split("|"):
        chunk = "".join(chunk.split())
        labels = _LABEL.findall(chunk)
        if "".join(labels) != chunk:
            raise ValueError(f"cannot read the band path {text!r}: {chunk!r} is not a sequence of special-point "
                             "labels (a capital letter and its digits, e.g. 'GXWKGL|UX' or 'GZ1M')")
        out.append([x.translate(_PLAIN) for x in labels])
    return out


def _triclinic(lattice):
    """TRI1a/2a/1b/2b from the Niggli-reduced reciprocal basis.

    All angles obtuse (or right): k_gamma the smallest of them, TRI2a when it is 90 degrees; every point is then half
    a vector of an obtuse superbase, on the zone surface. All acute: k_gamma between the two vectors of smallest
    scalar product, the paper's largest angle where lengths do not reorder them; where they do, the paper's rule
    would put N = (-b1 - b2 + b3)/2 outside the zone, as b3 - b1 - b2 is then not the shortest vector of its class.
    b1 is the shorter of the two (the paper leaves their order open; Niggli's), and the basis right-handed.
    ``lattice``: the crystal's primitive cell (rows, Å). Returns the points' basis (reciprocal rows, 1/Å), the
    reciprocal angles and the variant, points and path."""
    from trajmodes.lattice.geometry import niggli_reduce
    B = niggli_reduce(np.linalg.inv(lattice).T)
    n = np.linalg.norm(B, axis=1)
    dot = B @ B.T
    cos = dot / np.outer(n, n)
    pairs = [(1, 2, 0), (0, 2, 1), (0, 1, 2)]                    # (i, j, k): k_gamma between i and j
    acute = bool(all(cos[i, j] > VARIANT_TOLERANCE for i, j, _ in pairs))
    key = [dot[i, j] for i, j, _ in pairs] if acute else [-cos[i, j] for i, j, _ in pairs]
    i, j, k = pairs[int(np.argmin(key))]
    B = B[[i, j, k]]
    B = B * np.sign(np.linalg.det(B))                            # right-handed (or all three reversed)
    angles = np.degrees(np.arccos(np.clip([cos[j, k], cos[i, k], cos[i, j]], -1.0, 1.0)))
    params = dict(zip(("k_alpha", "k_beta", "k_gamma"), map(float, angles)))
    return B, params, triclinic_points(acute, abs(cos[i, j]) < VARIANT_TOLERANCE)


def brillouin_zone_path(primitive, symprec: float = SYMPREC) -> BrillouinZonePath:
    """The Setyawan-Curtarolo Bravais lattice, special points and default path of ``primitive``'s crystal.

    Parameters
    ----------
    primitive : Crystal
        The cell whose reciprocal basis the points are given in (the force constants' primitive cell; any basis,
        any orientation).
    symprec : float
        spglib tolerance in Å.

    Returns
    -------
    BrillouinZonePath
    """
    pearson = bravais_lattice(primitive, symprec)
    lattice = SC_LATTICES[pearson]
    ds = primitive.symmetry(symprec)
    conv = np.linalg.inv(ds.transformation_matrix).T @ primitive.cell    # spglib's conventional cell, our frame
    if lattice == "TRI":
        basis, params, (name, pts, path) = _triclinic(conv)              # basis: reciprocal rows
    else:
        std = np.asarray(ds.std_lattice, float)                          # the same idealised (and rotated), rows
        centrings = _centrings(np.asarray(ds.primitive_lattice, float) @ np.linalg.inv(conv))
        T = _conventional_axes(pearson, std @ std.T, centrings)
        params = _parameters(lattice, T @ std @ std.T @ T.T)
        name, pts, path = lattice_points(lattice, **params)
        basis = np.linalg.inv(PRIMITIVE[lattice] @ T @ conv).T            # their primitive reciprocal basis
    U = basis @ primitive.cell.T                                          # q_ours = k @ U
    if not np.allclose(U, np.rint(U), atol=1e-6) or abs(np.linalg.det(U)) < 0.5:
        raise RuntimeError(f"the {name} primitive cell of Setyawan and Curtarolo built from spglib's conventional "
                           f"cell is not one of the crystal's lattice ({np.round(primitive.cell, 4).tolist()} A)")
    points = {k: v @ np.rint(U) for k, v in pts.items()}
    return BrillouinZonePath(pearson=pearson, name=name, parameters=params, points=points,
                             path=tuple(tuple(p) for p in _tokens(path)))


def special_points(primitive, symprec: float = SYMPREC) -> dict[str, np.ndarray]:
    """Special points of ``primitive``'s Bravais lattice (Setyawan and Curtarolo): ASCII label ('G' for Gamma, 'Z1'
    for Z_1) -> reduced q in ``primitive``'s reciprocal basis (no 2 pi)."""
    return dict(brillouin_zone_path(primitive, symprec).points)


def parse_path(text: str, primitive, symprec: float = SYMPREC):
    """A path string of special-point labels -> connected pieces of reduced q and their printed labels.

    Parameters
    ----------
    text : str
        Labels of ``primitive``'s lattice (:func:`special_points`), ASCII or printed ('GXWK|GL', 'ΓH|PN',
        'GZ1M'), pieces separated by '|' or ','.

    Returns
    -------
    pieces : list of ndarray (n_nodes, 3)
    labels : list of list of str
    """
    bz = brillouin_zone_path(primitive, symprec)
    names = {bz.pretty(k).translate(_PLAIN): k for k in bz.points}
    names.update({k: k for k in bz.points})
    pieces, labels = [], []
    for piece in _tokens(text):
        unknown = [x for x in piece if x not in names]
        if unknown:
            raise ValueError(f"unknown special points {unknown} for the {bz.name} lattice ({bz.pearson}); known: "
                             + ", ".join(k for k in sorted(bz.points)))
        keys = [names[x] for x in piece]
        pieces.append(np.array([bz.points[k] for k in keys]))
        labels.append([bz.pretty(k) for k in keys])
    return pieces, labels


def default_path(primitive, symprec: float = SYMPREC) -> tuple[list[np.ndarray], list[list[str]]]:
    """Default high-symmetry path (Setyawan and Curtarolo) in reduced coordinates of ``primitive``'s reciprocal
    lattice.

    Parameters
    ----------
    primitive : Crystal
        The primitive cell whose reciprocal basis the q-points are given in.

    Returns
    -------
    pieces : list of ndarray, each (n_points, 3)
        Connected pieces of the path (a break between pieces).
    labels : list of list of str
        The printed label of every point of every piece (Γ for Gamma, Z₁ for Z1).
    """
    bz = brillouin_zone_path(primitive, symprec)
    pieces = [np.array([bz.points[k] for k in piece], dtype=float) for piece in bz.path]
    labels = [[bz.pretty(k) for k in piece] for piece in bz.path]
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
        Rows b1, b2, b3 in 1/Å without 2 pi.

    Returns
    -------
    q : ndarray, (n_seg * npoints, 3)
    distance : ndarray, (n_seg * npoints,)
        Cumulative path length in 1/Å without 2 pi (phonopy's); no jump across breaks.
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
