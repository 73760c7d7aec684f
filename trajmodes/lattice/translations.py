"""The lattice translations of a big cell, without spglib on all of its atoms.

A supercell of 10^5 to 10^6 atoms is a known multiple of a small primitive cell; spglib's search on the whole cell
costs about N^2 (hours at 10^6 atoms). Here the pure translations are found in O(N log N):

1. candidates: the vectors from one atom of the rarest type to the atoms of that type within a ball that doubles
   until it holds the basis (every lattice translation is one of these vectors, shortest image), with the cell's
   own short lattice vectors, sorted by length;
2. each candidate, shortest first, is tested on a random sample of atoms (nearest atom of the same type to the
   translated one, a periodic KD-tree, within ``symprec`` A);
3. the three shortest linearly independent survivors form a basis of the translation lattice (in three dimensions
   the vectors of the successive minima of a lattice are a basis of it: J. W. S. Cassels, *An Introduction to the
   Geometry of Numbers*, Springer 1959, ch. VIII);
4. the basis is checked on every atom: each atom is put on a site of the primitive cell and in a cell of its lattice
   (a KD-tree of the few sites, integer coordinates), the atoms must fill every site once per cell, and each basis
   vector must move every atom within ``symprec`` onto the atom of the same site one cell on; a vector that fails
   (a false survivor of the sample) brings the atoms it fails into the sample and the search goes on. The sites
   are the primitive atoms, numbered in the order of their first atoms;
5. the basis is then the one spglib would choose among these translations (the first triple of its ordered list of
   pure translations, Delaunay-reduced), so that the primitive cell's orientation is spglib's.

This is the test spglib makes (R. W. Grosse-Kunstleve, Acta Cryst. A55, 383 (1999); A. Togo, K. Shinohara and
I. Tanaka, Sci. Technol. Adv. Mater. Meth. 4, 2384822 (2024)), candidates from the rarest type and all atoms within
``symprec``, done with a KD-tree instead of all pairs. spglib then runs on the primitive cell only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Translations", "lattice_translations", "finder_of", "spglib_choice", "first_order"]

#: atoms of the random sample every candidate is tested on before the full check
_SAMPLE = 48
#: candidates tested on the sample per batch (shortest first)
_BATCH = 256


@dataclass(frozen=True)
class Translations:
    """The lattice translations of a cell.

    Attributes
    ----------
    basis : ndarray, (3, 3)
        Rows: a basis of the translation lattice, Cartesian A, exactly commensurate with the cell
        (``cell = matrix @ basis``); the cell itself when it has no translation but its own.
    matrix : ndarray of int, (3, 3)
        ``cell = matrix @ basis``; ``|det|`` = number of primitive cells in the cell.
    orbit : ndarray of int, (n_atoms,)
        The primitive atom of every atom (its orbit under the translations), numbered in the order of their
        first atoms.
    """

    basis: np.ndarray
    matrix: np.ndarray
    orbit: np.ndarray

    @property
    def n_cells(self) -> int:
        return int(round(abs(np.linalg.det(self.matrix))))


class _Finder:
    """Nearest atom of each type to translated positions, periodic, in a Niggli-reduced basis of the cell."""

    def __init__(self, cell, positions, types):
        from scipy.spatial import cKDTree

        from trajmodes.lattice.geometry import niggli_reduce
        self.cell = niggli_reduce(cell)
        self.frac = self._wrap(_mul(positions, np.linalg.inv(self.cell)))
        self.types = types
        # coordinates scaled by the lengths of the reduced vectors: close to Cartesian distances for a reduced cell
        self.lengths = np.linalg.norm(self.cell, axis=1)
        self.trees, self.members = {}, {}
        self.candidates = {}                   # (rare atom, radius) -> the candidates of _candidates: any tolerance
        for t in np.unique(types):
            idx = np.flatnonzero(types == t)
            self.members[t] = idx
            self.trees[t] = cKDTree(self.frac[idx] * self.lengths, boxsize=self.lengths)

    @staticmethod
    def _wrap(f):
        f = f - np.floor(f)
        f[f >= 1.0] = 0.0
        return f

    def image(self, atoms, shift):
        """For every atom of ``atoms`` translated by ``shift`` (fractional in the reduced basis, one (3,) or one per
        atom): the nearest atom of its type and the Cartesian distance (Å) to it."""
        y = self._wrap(self.frac[atoms] + shift)
        near = np.empty(len(atoms), dtype=np.int64)
        types = self.types[atoms]
        for t in np.unique(types):
            sel = np.flatnonzero(types == t)
            _, j = self.trees[t].query(y[sel] * self.lengths, k=1)
            near[sel] = self.members[t][j]
        d = y - self.frac[near]
        d -= np.rint(d)
        return near, np.linalg.norm(_mul(d, self.cell), axis=1)


def finder_of(cell, positions, types) -> _Finder:
    """The KD-trees of the atoms by type that :func:`lattice_translations` searches, to be given to several calls
    on the same cell (candidates are kept too: they do not depend on the tolerance)."""
    return _Finder(np.asarray(cell, dtype=float), np.asarray(positions, dtype=float).reshape(-1, 3),
                   np.asarray(types).reshape(-1))


def _candidates(finder: _Finder, rare, radius: float | None) -> np.ndarray:
    """Candidate translations, Cartesian (n, 3), sorted by length: from the first atom of ``rare`` to those of its
    atoms within ``radius`` (scaled coordinates; all of them for None), shortest image, and the 26 shortest
    combinations of the reduced cell's vectors (always translations)."""
    from trajmodes.lattice.geometry import shortest_images
    key = (int(rare[0]), radius)
    if key in finder.candidates:
        return finder.candidates[key]
    t = finder.types[rare[0]]
    if radius is None:
        near = rare[1:]
    else:
        local = finder.trees[t].query_ball_point(finder.frac[rare[0]] * finder.lengths, radius)
        near = finder.members[t][np.asarray(local, dtype=np.int64)]
        near = near[near != rare[0]]
    d = shortest_images(finder.frac[near] - finder.frac[rare[0]], finder.cell) @ finder.cell
    grid = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1) if (i, j, k) != (0, 0, 0)])
    c = np.concatenate([d, grid @ finder.cell])
    finder.candidates[key] = c = c[np.argsort(np.linalg.norm(c, axis=1), kind="stable")]
    return c


def _shortest_basis(finder: _Finder, cand, own, sample, symprec: float, bad=None, groups=()):
    """The indices (into ``cand``) of the three shortest linearly independent candidates that map the sample atoms
    onto atoms within ``symprec`` and the atoms of each of ``groups`` (arrays of atoms) onto as many different atoms,
    tested in batches, shortest first; None if there are not three. ``bad`` (bool, per candidate): those known to
    fail the sample (skipped; the ones failing now are added): the sample and the groups only grow, so a candidate
    that failed them once fails them again."""
    passed = np.zeros(len(cand), dtype=bool)
    inv = np.linalg.inv(finder.cell)
    rows: list = []
    tested, batch = 0, _BATCH
    while len(rows) < 3 and tested < len(cand):
        block = np.arange(tested, min(len(cand), tested + batch))
        alive = block[~own[block]] if bad is None else block[~own[block] & ~bad[block]]
        passed[block[own[block]]] = True
        for atom in sample:                    # one sample atom at a time: most wrong candidates fail the first
            if len(alive) == 0:
                break
            _, dist = finder.image(np.full(len(alive), atom), cand[alive] @ inv)
            if bad is not None:
                bad[alive[dist >= symprec]] = True
            alive = alive[dist < symprec]
        for group in groups:                   # atoms that a false survivor sent onto one atom
            if len(alive) == 0:
                break
            near = np.stack([finder.image(np.full(len(alive), atom), cand[alive] @ inv)[0] for atom in group])
            near.sort(axis=0)
            onto_one = (near[1:] == near[:-1]).any(axis=0)
            if bad is not None:
                bad[alive[onto_one]] = True
            alive = alive[~onto_one]
        passed[alive] = True
        tested, batch = block[-1] + 1, 2 * batch
        rows = _basis_rows(cand, passed, symprec)
    return np.asarray(rows) if len(rows) == 3 else None


def lattice_translations(cell, positions, types, symprec: float, finder: _Finder | None = None,
                         max_rare: int | None = None) -> Translations:
    """The translations that map a cell onto itself within ``symprec`` (Å), in O(N log N).

    Parameters
    ----------
    cell : (3, 3) rows a, b, c in Å.
    positions : (N, 3) Cartesian A.
    types : (N,) int; only atoms of one type are matched.
    symprec : float
        Largest distance (Å) between a translated atom and the atom it lands on.
    finder : optional
        The KD-trees and candidates of an earlier call on the same cell, positions and types (:func:`finder_of`):
        a scan over tolerances builds them once (:meth:`trajmodes.Crystal.lattice_translations` keeps them).
    max_rare : int, optional
        Look for primitive cells with up to about this many atoms of the rarest type only: the ball of candidates
        stops growing there (a scan of tolerances below the noise of a big cell otherwise tests every atom as a
        candidate, seconds each); the cell counts as having no translation beyond. Default: no limit.

    Returns
    -------
    Translations
        The cell itself (Delaunay-reduced, as spglib reduces it) as its basis (``matrix`` unimodular, every atom
        its own orbit) when no translation shorter
        than the cell's own is found, or when those found do not split the atoms into equal orbits (a reference too
        far from a crystal for ``symprec``). The basis is the one spglib chooses (:func:`_spglib_basis`) when that
        choice is found among the first translations, else the three shortest.
    """
    cell = np.asarray(cell, dtype=float)
    positions = np.asarray(positions, dtype=float).reshape(-1, 3)
    types = np.asarray(types).reshape(-1)
    n = len(positions)
    reduced = _delaunay(cell, symprec)
    trivial = Translations(reduced, np.rint(cell @ np.linalg.inv(reduced)).astype(np.int64), np.arange(n))
    if n <= 1:
        return trivial
    finder = _Finder(cell, positions, types) if finder is None else finder
    values, counts = np.unique(types, return_counts=True)
    rare = np.flatnonzero(types == values[np.argmin(counts)])
    sample = np.sort(np.random.default_rng(0).choice(n, size=min(n, _SAMPLE), replace=False))
    inv = np.linalg.inv(finder.cell)
    # scaled coordinates stretch a Cartesian vector by at most kappa: a ball of radius r holds every vector up to
    # r / kappa long. The first ball holds about 64 atoms of the rare type; it doubles until it holds the basis.
    kappa = np.linalg.norm(inv * finder.lengths[None, :], ord=2)
    radius = 2.5 * (abs(np.linalg.det(cell)) / len(rare)) ** (1 / 3) * kappa
    bad = {}                                   # per ball: the candidates a sample atom ruled out
    groups: list = []                          # atoms a false survivor sent onto one atom: each a test of its own
    while True:
        whole = radius >= 0.5 * finder.lengths.min()
        cand = _candidates(finder, rare, None if whole else radius)
        own = np.abs(cand @ inv - np.rint(cand @ inv)).max(axis=1) < 1e-9
        key = None if whole else radius
        ruled_out = bad.setdefault(key, np.zeros(len(cand), dtype=bool))
        rows = _shortest_basis(finder, cand, own, sample, symprec, ruled_out, groups)
        basis = None if rows is None else cand[rows]
        if basis is None or (not whole and np.linalg.norm(basis, axis=1).max() * kappa > radius):
            if whole or (max_rare is not None and len(cand) >= max_rare):
                return trivial                 # (whole: the cell's own vectors always span space)
            radius *= 2
            continue
        if all(np.abs(b @ inv - np.rint(b @ inv)).max() < 1e-9 for b in basis):
            return trivial                     # only the cell's own vectors: no other translation
        sampled = _on_a_sample(finder, basis, symprec)
        if sampled is _NOISE:
            return trivial
        if sampled is not None:
            # a vector that, made exact, misses atoms of the sample beyond the noise fails the checks on every atom
            # too (the slow one, a KD-tree pass over all atoms, 1.1 s at 10^6 atoms, found the same): a false
            # survivor, its failed atoms join the sample, and the search goes on
            which, failed = sampled
            sample = np.union1d(sample, failed[:_SAMPLE])
            ruled_out[rows[which]] = True
            continue
        found = _sites(finder, positions, basis, symprec)
        if found is _NOISE:
            return trivial                     # the lattice found, its vectors missing atoms by the cell's noise
        if found is None:
            # the slow check, one basis vector at a time on every atom (KD-tree), finds a false survivor
            found, failed, which, collided, noise = _orbits_checked(finder, cell, basis, symprec)
            if noise:
                # even made exact, the vector misses a few atoms, each by less than twice symprec: the cell's noise
                # (a time average, a snapshot) reaches beyond this tolerance, and every lattice translation misses
                # alike (searching them all costs one pass over the atoms each: 12 s at 864,000 atoms)
                return trivial
            if failed is not None:
                # a false survivor of the sample test: the atoms it fails join the sample, two atoms it sent onto one
                # (each passes the distance test) become a test of their own (a defect breaks every translation: one
                # check on all atoms then rules them all out), the vector itself is ruled out, and the search goes
                # on: every turn rules out a candidate, so it ends
                if collided is not None:
                    groups.append(collided)
                sample = np.union1d(sample, failed[:_SAMPLE])
                ruled_out[rows[which]] = True
                continue
            if found is None:
                return trivial                 # translations that do not fit the cell: too far from a crystal
        return spglib_choice(cell, positions, types, found, symprec)


def spglib_choice(cell, positions, types, found: Translations, symprec: float) -> Translations:
    """``found`` (the lattice translations of the cell, its orbits) with the basis spglib chooses among them
    (:func:`_spglib_basis`), made exact on that lattice (a unimodular change of basis); ``found`` itself where that
    choice is not among the first translations. Also for a cell whose lattice is known already (the ideal sites of
    a noisy cell: the same lattice and orbits, the choice made on its own atoms)."""
    cell = np.asarray(cell, dtype=float)
    positions = np.asarray(positions, dtype=float).reshape(-1, 3)
    spg = _spglib_basis(cell, _mul(positions, np.linalg.inv(cell)), np.asarray(types).reshape(-1), found.orbit,
                        found.n_cells, symprec)
    if spg is None:
        return found
    Mf = spg @ np.linalg.inv(found.basis)
    M = np.rint(Mf)
    if np.abs(Mf - M).max() > 0.1 or round(abs(np.linalg.det(M))) != 1:
        return found
    exact = M @ found.basis
    return Translations(exact, np.rint(cell @ np.linalg.inv(exact)).astype(np.int64), found.orbit)


def _refined(finder: _Finder, basis, size: int = 1 << 14):
    """``basis`` (Cartesian rows, each the difference of two noisy atoms) averaged over up to ``size`` atoms: each
    vector plus the mean offset of the atoms it lands on (noise / sqrt(size))."""
    n = len(finder.frac)
    atoms = np.sort(np.random.default_rng(1).choice(n, size=min(n, size), replace=False))
    inv = np.linalg.inv(finder.cell)
    out = []
    for b in basis:
        near, _ = finder.image(atoms, b @ inv)
        d = finder.frac[near] - finder.frac[atoms] - b @ inv
        d -= np.rint(d)
        out.append(b + d.mean(axis=0) @ finder.cell)
    return np.array(out)


def _sites(finder: _Finder, positions, basis, symprec: float):
    """The lattice translations spanned by ``basis`` checked on every atom in O(N log N), without a search per atom
    over the whole cell: every atom is put on a site of the primitive cell (the nearest of the sites found on a
    random subset, a KD-tree of the few sites) and in a cell (integer coordinates); the atoms must fill every site
    once per cell, and each basis vector, made exact (:func:`_refined`: the candidate, a difference of two noisy
    atoms, plus the mean offset of the atoms it lands on), must move every atom within ``symprec`` (Å) of the atom on
    the same site one cell on. :data:`_NOISE` when a vector misses atoms by the cell's noise only
    (:func:`_missed_by_noise`: then :func:`_orbits_checked`, which would find the same, is spared, 0.8 s at 864,000
    atoms); None when the atoms do not fit otherwise (then :func:`_orbits_checked` decides)."""
    from scipy.spatial import cKDTree

    from trajmodes.lattice.geometry import niggli_reduce
    from trajmodes.lattice.supercell import SupercellMap
    cell, types = finder.cell, finder.types
    n = len(positions)
    refined = _refined(finder, basis)
    Sf = cell @ np.linalg.inv(refined)
    S = np.rint(Sf).astype(np.int64)
    det = int(round(abs(np.linalg.det(S))))
    if np.abs(Sf - S).max() > 0.1 or det < 2 or n % det:
        return None
    P = niggli_reduce(np.linalg.solve(S, cell))                # exact primitive lattice, reduced
    S = np.rint(cell @ np.linalg.inv(P)).astype(np.int64)
    n_prim = n // det
    u = _mul(positions, np.linalg.inv(P))
    phi = u - np.floor(u)
    phi[phi >= 1.0] = 0.0
    # the sites: greedy clusters (same type, within symprec) of a random subset that holds every site w.h.p.
    k = min(n, int(n_prim * (np.log(n_prim) + 20)))
    sub = np.random.default_rng(2).choice(n, size=k, replace=False)
    centre, free = [], np.ones(k, dtype=bool)
    while free.any():
        i = int(np.flatnonzero(free)[0])
        d = phi[sub] - phi[sub[i]]
        d -= np.rint(d)
        same = free & (types[sub] == types[sub[i]]) & (np.linalg.norm(d @ P, axis=1) < symprec)
        centre.append(sub[i])
        free &= ~same
        if len(centre) > n_prim:
            return None
    if len(centre) != n_prim:
        return None
    centre = np.array(centre)
    lengths = np.linalg.norm(P, axis=1)
    site = np.empty(n, dtype=np.int64)
    for t in np.unique(types):
        mine = np.flatnonzero(types[centre] == t)
        atoms = np.flatnonzero(types == t)
        if len(mine) == 0:
            return None
        tree = cKDTree(phi[centre[mine]] * lengths, boxsize=lengths)
        _, j = tree.query(phi[atoms] * lengths, k=1)
        site[atoms] = mine[j]
    off = u - u[centre[site]]
    lat = np.rint(off).astype(np.int64)
    if np.linalg.norm(_mul(off - lat, P), axis=1).max() >= symprec:
        return None
    smap = SupercellMap(S, site, lat, np.zeros(n))
    if not smap.one_to_one:
        return None                                           # two atoms on one site of one cell
    for b in refined:          # the lattice vectors, not the candidates' differences of two noisy atoms
        m = np.rint(b @ np.linalg.inv(P)).astype(np.int64)
        j = smap.index(site, lat + m)
        d = _mul(positions[j] - positions - b, np.linalg.inv(finder.cell))
        d -= np.rint(d)
        if np.linalg.norm(_mul(d, finder.cell), axis=1).max() >= symprec:
            return _NOISE if _missed_by_noise(finder, d, symprec) else None
    return Translations(P, S, first_order(site, n_prim))


#: what :func:`_sites` returns for a lattice whose vectors miss atoms by the cell's noise
_NOISE = object()


#: a lattice vector that, made exact (the mean offset of the atoms it lands on added), still misses at most this
#: share of the atoms, each by less than twice the tolerance, misses them by the cell's noise (a wrong vector misses
#: whole sublattices, by interatomic distances)
NOISE_SHARE = 0.01


def _missed_by_noise(finder: _Finder, offsets, symprec: float) -> bool:
    """Whether a translation misses because of the cell's noise, from ``offsets`` (N, 3), fractional in the finder's
    cell: each atom's offset from the atom the translation sends it to. Made exact by their mean (the error of the
    candidate vector itself, the difference of two noisy atoms, removed), it still misses some atoms, at most
    :data:`NOISE_SHARE` of them and each by less than twice ``symprec``. Then every lattice translation misses alike
    at this tolerance."""
    dist = np.linalg.norm(_mul(offsets - offsets.mean(axis=0), finder.cell), axis=1)
    missed = np.count_nonzero(dist >= symprec)
    return 0 < missed <= NOISE_SHARE * len(dist) and dist.max() < 2 * symprec


#: atoms of the random sample a basis is tried on before every atom is (cells of more than 4 times as many)
_NOISE_SAMPLE = 8192


def _on_a_sample(finder: _Finder, basis, symprec: float):
    """``basis`` tried on a random sample of :data:`_NOISE_SAMPLE` atoms, for the checks on every atom
    (:func:`_sites`, :func:`_orbits_checked`: a second and more at 10^6 atoms) to be spared where the sample tells:
    :data:`_NOISE` where a vector misses atoms by the cell's noise (:func:`_missed_by_noise`: no lattice translation
    holds at this tolerance); ``(row, atoms)`` where a vector, made exact (the mean offset of the atoms it lands on
    added), still misses those atoms of the sample beyond the noise (:data:`_EXACT_MARGIN`), which every check
    would find; None for small cells, and where the sample is missed by no vector made exact (the full checks
    decide)."""
    n = len(finder.frac)
    if n <= 4 * _NOISE_SAMPLE:
        return None
    atoms = np.sort(np.random.default_rng(3).choice(n, size=_NOISE_SAMPLE, replace=False))
    inv = np.linalg.inv(finder.cell)
    for r, b in enumerate(basis):
        shift = b @ inv
        near, dist = finder.image(atoms, shift)
        if dist.max() >= symprec:
            d = finder.frac[near] - finder.frac[atoms] - shift
            d -= np.rint(d)
            if _missed_by_noise(finder, d, symprec):
                return _NOISE
            exact = np.linalg.norm(_mul(d - d.mean(axis=0), finder.cell), axis=1)
            far = exact >= symprec * (1.0 + _EXACT_MARGIN)
            if far.any():
                return r, atoms[far]
    return None


#: a vector made exact on the sample differs from the one the full checks make exact on more atoms by the noise over
#: the square root of the sample's size (0.001 A for 0.1 A of noise): a sample atom it misses by this share of the
#: tolerance more is missed by both
_EXACT_MARGIN = 0.02


def _orbits_checked(finder: _Finder, cell, basis, symprec: float):
    """Every basis vector checked on every atom with the KD-tree (a permutation within ``symprec``), then the orbits:
    ``(translations or None, None, None, None, False)``, or, for the first vector that fails, ``(None, the atoms it
    does not map onto an atom, its row in basis, atoms it sends onto one atom or None, noise)``, ``noise`` as
    :func:`_missed_by_noise` (and no two atoms sent onto one)."""
    n = len(finder.frac)
    inv = np.linalg.inv(finder.cell)
    images, mean = [], []
    for r, b in enumerate(basis):
        shift = b @ inv
        near, dist = finder.image(np.arange(n), shift)
        hits = np.bincount(near, minlength=n)
        d = finder.frac[near] - finder.frac - shift                  # each atom's offset from the atom it lands on
        d -= np.rint(d)
        if dist.max() >= symprec or hits.max() != 1:
            # two atoms sent onto one (say an atom pushed next to another, its site left empty) fail every
            # translation alike: they rule out all the others in one test, where the atom sent onto the empty site
            # is another one for every translation
            both = np.flatnonzero(near == np.argmax(hits)) if hits.max() > 1 else None
            failed = np.flatnonzero(dist >= symprec)
            return None, failed, r, both, both is None and _missed_by_noise(finder, d, symprec)
        images.append(near)
        mean.append((shift + d.mean(axis=0)) @ finder.cell)
    Sf = cell @ np.linalg.inv(np.array(mean))
    S = np.rint(Sf).astype(np.int64)
    det = int(round(abs(np.linalg.det(S))))
    if np.abs(Sf - S).max() > 0.1 or det < 2:
        return None, None, None, None, False
    return _orbits(np.linalg.solve(S, cell), S, images, n, det), None, None, None, False


def _delaunay(lattice, symprec: float) -> np.ndarray:
    """spglib's Delaunay reduction of ``lattice`` (rows), as spglib reduces the lattice it returns; ``lattice``
    itself when spglib cannot reduce it."""
    import spglib

    from trajmodes.lattice.spglib_calls import quiet_spglib
    with quiet_spglib():
        red = spglib.delaunay_reduce(np.asarray(lattice, dtype=float), eps=symprec)
    return np.array(lattice, dtype=float) if red is None else np.asarray(red, dtype=float)


def _nint(a):
    """C's rounding, half away from zero (spglib's mat_Nint)."""
    return np.where(a >= 0, np.floor(a + 0.5), np.ceil(a - 0.5))


def _spglib_basis(cell, frac, types, orbit, n_cells: int, symprec: float, pairs: int = 256):
    """The basis of the translation lattice that spglib (2.x) chooses, so that the primitive cell's orientation does
    not depend on the size of the cell: its pure translations in the order of their atoms (the first atom of the
    rarest type, the earliest such type, to each atom of that type in its orbit, reduced into [0, 1)), with the
    cell's own vectors after them; the first triple (i < j < k) whose volume is that of a primitive cell, made
    exact, then Delaunay-reduced (spglib's ``delaunay_reduce``). None when no such triple comes within the first
    ``pairs`` pairs (i, j) (then the three shortest translations are used)."""
    values, first, counts = np.unique(types, return_index=True, return_counts=True)
    order = np.argsort(first)
    kind = values[order][np.argmin(counts[order])]
    m = int(np.flatnonzero(types == kind)[0])
    found = np.flatnonzero((types == kind) & (orbit == orbit[m]))
    d = frac[found] - frac[m]
    d = d - _nint(d)
    d = np.where(d < -1e-10, d + 1.0, d)                       # spglib's mat_Dmod1
    vectors = np.concatenate([d[found != m], np.eye(3)])
    cart = _mul(vectors, cell)
    v0 = abs(np.linalg.det(cell))
    first = _first_triple(cart, v0, n_cells, symprec, pairs)
    if first is None:
        return None
    F = vectors[list(first)]
    inv = _nint(np.linalg.inv(F.T))
    if round(abs(np.linalg.det(inv))) == n_cells:
        F = np.linalg.inv(inv).T
    return _delaunay(F @ cell, symprec)


#: vectors whose volumes with every pair :func:`_first_triple` takes at once (a block of 4096 x 256 products)
_TRIPLE_BLOCK = 4096


def _first_triple(cart, v0: float, n_cells: int, symprec: float, pairs: int):
    """The first triple (i, j, k), i < j < k, of the vectors ``cart`` (n, 3) in the order i, j, then k, whose volume
    is that of a primitive cell (above ``symprec``, v0 / volume rounding to ``n_cells`` as spglib's mat_Nint), among
    the first ``pairs`` pairs (i, j); None if there is none. The volumes of all those pairs with a block of vectors k
    are one matrix product, block after block, the pairs that can still come first only."""
    size = len(cart)
    ij = []
    for i in range(size):
        ij.extend((i, j) for j in range(i + 1, min(size, i + 1 + pairs - len(ij))))
        if len(ij) >= pairs:
            break
    if not ij:
        return None
    ij = np.array(ij)
    cross = np.cross(cart[ij[:, 0]], cart[ij[:, 1]])                   # (pairs, 3)
    # nint(v0 / vol) == n_cells, i.e. n_cells - 1/2 <= v0 / vol < n_cells + 1/2, as bounds on vol
    lo = v0 / (n_cells + 0.5)
    hi = v0 / (n_cells - 0.5) if n_cells > 0.5 else np.inf
    best = None                                                          # (pair, k)
    for s in range(int(ij[0, 1]) + 1, size, _TRIPLE_BLOCK):
        n_live = len(ij) if best is None else best[0]
        if n_live == 0:
            break
        vol = np.abs(cart[s:s + _TRIPLE_BLOCK] @ cross[:n_live].T)       # (block, live pairs)
        ok = (vol > symprec) & (vol > lo) & (vol <= hi)
        ok &= np.arange(s, s + len(vol))[:, None] > ij[:n_live, 1][None, :]
        hit = np.flatnonzero(ok.any(axis=0))
        if len(hit):
            best = (int(hit[0]), s + int(np.argmax(ok[:, hit[0]])))
    if best is None:
        return None
    return int(ij[best[0], 0]), int(ij[best[0], 1]), best[1]


def _basis_rows(cand, passed, symprec: float) -> list:
    """Indices of the three shortest linearly independent passed candidates (fewer if there are not three). The
    candidates are off their lattice vectors by up to about ``symprec``: one counts as independent of those taken
    when it lies more than 2 ``symprec`` off their line or plane (a lattice vector off a lattice plane lies at
    least one interplanar distance off it)."""
    rows: list = []
    for i in np.flatnonzero(passed):
        c = cand[i]
        if len(rows) == 0:
            off = np.linalg.norm(c)
        elif len(rows) == 1:
            u = cand[rows[0]] / np.linalg.norm(cand[rows[0]])
            off = np.linalg.norm(c - (c @ u) * u)
        else:
            normal = np.cross(cand[rows[0]], cand[rows[1]])
            off = abs(c @ normal) / np.linalg.norm(normal)
        if off > 2 * symprec:
            rows.append(int(i))
            if len(rows) == 3:
                break
    return rows


def _orbits(basis, S, images, n: int, det: int) -> Translations | None:
    """The orbits of the atoms under the translations ``images`` (atom -> atom, one array per basis vector); None
    unless every orbit holds ``det`` atoms."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    rows = np.tile(np.arange(n), len(images))
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, np.concatenate(images))), shape=(n, n))
    count, labels = connected_components(graph, directed=True, connection="weak")
    if count * det != n or np.any(np.bincount(labels, minlength=count) != det):
        return None
    return Translations(basis, S, first_order(labels, count))


def first_order(labels, count: int) -> np.ndarray:
    """``labels`` (0 .. count-1) renumbered in the order of their first atoms."""
    by = np.argsort(labels, kind="stable")
    first = by[np.searchsorted(labels[by], np.arange(count))]
    order = np.empty(count, dtype=np.int64)
    order[np.argsort(first)] = np.arange(count)
    return order[labels]


def _mul(x, matrix) -> np.ndarray:
    """``x @ matrix`` for (N, 3) x (3, 3): einsum, which is faster than a BLAS call for this shape."""
    return np.einsum("ij,jk->ik", x, matrix)
