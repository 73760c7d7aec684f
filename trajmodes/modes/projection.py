"""Projection of a trajectory onto phonon normal modes: Q(q,s,t) and Q'(q,s,t), lazy and chunked.

Convention (the same phase as :class:`trajmodes.Phonons`' dynamical matrix, with atom positions)::

    Q(q,s,t) = N_c^{-1/2} sum_j sqrt(m_j) e^{-i 2 pi q.r0_j} e*(q,s,k_j) . u_j(t)

with r0_j = p_k + R_j the ideal position of atom j in primitive fractional coordinates (q reduced in the
primitive reciprocal lattice, without 2 pi), N_c the number of primitive cells of the MD supercell and
e(q,s,k) the eigenvector of D(q) (row 3k+a, column s).  Q' is the same projection of the velocities.
The inverse (:func:`back_project`) is u_j = N_c^{-1/2} m_j^{-1/2} sum_{q,s} e^{i 2 pi q.r0_j} e(q,s,k_j) Q(q,s).

Cost: for every primitive atom k, the atoms of class k sit on the n_cells lattice vectors R_j, so
S_k(q) = sum_{j in k} e^{-i 2 pi q.(R_j + p_k)} sqrt(m_j) u_j is one real matrix product
(2 nq x n_cells) @ (n_cells x 3 frames); then Q(q,s) = N_c^{-1/2} sum_{k,a} e*(q)[3k+a, s] S_{k,a}(q) is a
batched (nq) product.  O(nq N) per frame, memory bounded by the chunk (frames x N) and the phase
tables (nq x N); never a (3N x 3N) projector.

When every q is commensurate with the supercell (the default: all of them), S_k(q) for all q at once is
a real-input FFT over the supercell's cell grid instead (:class:`_GridProjector`; the grid of any
supercell, diagonal or not, comes from the Smith normal form, :func:`trajmodes.lattice.supercell.smith_normal_form`): O(N log n_cells)
per frame and no table larger than the eigenvectors, so a 10^5-atom supercell projects in memory set
by the chunk.  The phase-matrix path serves a few q, or q off the commensurate grid.
"""
from __future__ import annotations

import hashlib
import threading
import uuid
import warnings
import weakref
from collections import OrderedDict

import dask.array as da
import numpy as np
import scipy.fft as sp_fft

from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.qpoints import commensurate_qpoints
from trajmodes.errors import ReferenceMismatchError
from trajmodes.lattice.supercell import SupercellMap, smith_normal_form
from trajmodes.trajectory.displacements import DisplacementMap, apply_displacement_map, scatter_displacements

__all__ = ["project", "back_project", "trajectory_map", "clear_projectors", "mode_qpoints", "run_projector"]

#: bytes of the per-block temporaries of the FFT projector: the frames of a chunk go through in blocks this size, so
#: each of its three compiled passes is one long call without the GIL for a chunk of an ordinary run, and the
#: temporaries stay bounded for a large supercell
BLOCK_BYTES = 1 << 22

#: largest relative difference between the MD supercell and an integer multiple of the phonons' primitive cell
LATTICE_TOL = 0.05


def trajectory_map(traj, phonons, reference=None) -> tuple[SupercellMap, Crystal, np.ndarray]:
    """Map the atoms of ``reference`` (default ``traj.reference``) onto the primitive cell of ``phonons``.

    The MD supercell may differ from the force constants' supercell; only the primitive cell must
    match (the same lattice and orientation up to ``LATTICE_TOL``: thermal expansion is allowed).

    Returns
    -------
    smap : SupercellMap
        The MD supercell on the (strained) primitive cell.
    primitive : Crystal
        The phonons' primitive cell scaled onto the MD lattice (same fractional positions).
    masses : ndarray (N,)
        Atomic masses in amu used in the projection.

    Raises
    ------
    ReferenceMismatchError
        If the MD supercell is not a supercell of the phonons' primitive cell, or the atoms do not map.
    """
    prim = phonons.force_constants.primitive
    ref = traj.reference if reference is None else reference
    cell = np.asarray(ref.cell, dtype=float)
    S, strained = _md_lattice(traj, phonons)
    masses = traj.masses if traj.masses is not None else ref.masses
    species = np.asarray(ref.species if ref.species is not None else traj.species, dtype=str)
    own = set(prim.species.tolist())
    # a virtual crystal's site holds a group of species, named "A-B" (forceconstants.alloy.virtual_sites): the atoms of
    # an alloy run, read with their own species and masses, sit on it
    virtual = {part: name for name in own if "-" in name for part in name.split("-")}
    if not set(species.tolist()) <= own and set(species.tolist()) - own <= virtual.keys():
        species = np.array([x if x in own else virtual[x] for x in species.tolist()])
    if not set(species.tolist()) <= own:
        if masses is None:
            raise ReferenceMismatchError(
                f"the trajectory's species {sorted(set(species.tolist()))} are not those of the force constants "
                f"{sorted(set(prim.species.tolist()))}, and its masses are unknown")
        near = np.abs(np.asarray(masses)[:, None] - prim.masses[None, :])
        k = np.argmin(near, axis=1)
        if near[np.arange(len(k)), k].max() > 0.1:
            raise ReferenceMismatchError("the trajectory's atoms (species, masses) are not those of the force constants")
        species = prim.species[k]
    try:
        sc = Crystal(cell, np.asarray(ref.positions) - np.asarray(ref.origin), species, masses)
        smap = sc.supercell_map(strained)
    except ValueError as err:
        raise ReferenceMismatchError(f"cannot place the trajectory's atoms on the phonons' primitive cell: {err}") \
            from err
    if masses is None:
        masses = prim.masses[smap.atom]
    masses = np.asarray(masses, dtype=float)
    if np.abs(masses - prim.masses[smap.atom]).max() > 1e-3 * prim.masses.max():
        warnings.warn("the trajectory's masses differ from those of the force constants: the eigenvectors are "
                      "not normal modes of this trajectory", UserWarning, stacklevel=3)
    return smap, strained, masses


def _md_lattice(traj, phonons) -> tuple[np.ndarray, Crystal]:
    """The supercell matrix S (float, integral) of the MD cell on the phonons' primitive cell, and that primitive cell
    strained onto the MD lattice (the same fractional positions); checked as :func:`trajectory_map` says."""
    prim = phonons.force_constants.primitive
    cell = traj.lattice_cell                         # no frame parsed for it
    if cell is None:
        raise ReferenceMismatchError("the trajectory's reference has no periodic cell: projection needs a crystal")
    cell = np.asarray(cell, dtype=float)
    Sf = cell @ np.linalg.inv(prim.cell)
    S = np.rint(Sf)
    dev = np.linalg.norm(cell - S @ prim.cell) / np.linalg.norm(cell)
    if round(abs(np.linalg.det(S))) == 0 or dev > LATTICE_TOL:
        raise ReferenceMismatchError(
            "the MD supercell is not a supercell of the phonons' primitive cell: cell @ inv(primitive.cell) = "
            f"{np.round(Sf, 4).tolist()} (relative misfit {dev:.3g} > {LATTICE_TOL}); the force constants must "
            "describe the same crystal in the same orientation")
    det = int(round(abs(np.linalg.det(S))))
    if traj.n_atoms != det * prim.n_atoms:
        raise ReferenceMismatchError(
            f"the MD supercell holds {traj.n_atoms} atoms but |det S| x n_prim = {det} x {prim.n_atoms}: "
            "not the crystal of the force constants")
    plat = np.linalg.solve(S, cell)                  # the primitive lattice of the MD crystal
    return S, Crystal(plat, prim.scaled_positions @ plat, prim.species, prim.masses)


def _check_commensurate(qpoints, S) -> None:
    """Refuse q-points that are not commensurate with the supercell S (``S q`` not integral): naming the first and
    the nearest commensurate q."""
    h = np.asarray(qpoints, float) @ np.asarray(S, float).T
    m = np.rint(h)
    bad = np.abs(h - m).max(axis=1) >= 1e-6
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        near = m[i] @ np.linalg.inv(np.asarray(S, float)).T
        raise ValueError(
            f"{int(bad.sum())} of {len(h)} q-points are not commensurate with the MD supercell: q-point {i}, "
            f"{np.round(qpoints[i], 6).tolist()} (reduced, primitive reciprocal lattice); the nearest commensurate q "
            f"is {np.round(near, 6).tolist()}. Only q = S^-1 m (m integer, S = {S.astype(int).tolist()} the MD cell "
            "on the primitive cell) are normal modes of the run: give those, or a band path (path=, --path)")


def _shortest_lengths(q, plat) -> np.ndarray:
    """|q + G| of the shortest image of every reduced q (rad/Å, 2 pi included): the smallest over the 27
    nearest reciprocal lattice vectors G of the primitive lattice ``plat`` (rows, Å)."""
    rec = 2 * np.pi * np.linalg.inv(plat).T                # rows: the primitive reciprocal vectors, rad/Angstrom
    base = (q - np.rint(q)) @ rec
    best = np.full(len(q), np.inf)
    for g in np.stack(np.meshgrid(*(np.arange(-1, 2),) * 3, indexing="ij"), -1).reshape(-1, 3):
        best = np.minimum(best, np.linalg.norm(base + g @ rec, axis=1))
    return best


def mode_qpoints(traj, phonons, *, path=None, qpoints=None, q_max: float | None = None,
                 count: int | None = None) -> np.ndarray:
    """The q-points commensurate with the MD supercell of ``traj`` to project onto: at most one of

    - ``path``: special-point letters (pieces split by ``|``, as :meth:`Phonons.band_structure`), every commensurate
      q on the band path, in path order (:func:`trajmodes.modes.scattering_qpoints.path_qpoints`);
    - ``qpoints``: (n, 3) reduced q of the phonons' primitive reciprocal lattice, checked commensurate;
    - ``q_max``: every commensurate q with ``|q|`` <= q_max, rad/Å (2 pi included, as ``trajmodes sqw --powder``;
      ``|q|`` of the shortest image q + G), by increasing ``|q|``;
    - ``count``: the whole ``|q|`` shells of smallest ``|q|`` until they hold at least ``count`` q (complete shells, so
      that the star averages of :func:`trajmodes.modes.averaging.star_average` see every member), by increasing |q|;

    none: every commensurate q (:func:`trajmodes.lattice.qpoints.commensurate_qpoints`, as :func:`project`).

    Returns
    -------
    ndarray (nq, 3), reduced q of the phonons' primitive reciprocal lattice (no 2 pi).

    Raises
    ------
    ValueError
        More than one choice; a q that is not commensurate (naming the nearest that is); a path that holds no
        commensurate q.
    """
    given = [n for n, v in (("path", path), ("qpoints", qpoints), ("q_max", q_max), ("count", count)) if v is not None]
    if len(given) > 1:
        raise ValueError(f"choose the q-points one way: {' and '.join(given)} were both given")
    S, strained = _md_lattice(traj, phonons)
    cell = np.asarray(traj.lattice_cell, float)
    if qpoints is not None:
        q = np.atleast_2d(np.asarray(qpoints, dtype=float))
        if q.ndim != 2 or q.shape[1] != 3 or not len(q) or not np.isfinite(q).all():
            raise ValueError(f"qpoints must be an (nq, 3) array of finite reduced q, not of shape {q.shape}")
        _check_commensurate(q, S)
        return q
    if path is not None:
        from trajmodes.modes.scattering_qpoints import path_qpoints
        from trajmodes.phonons.harmonic.bands import path_pieces
        pieces, labels = path_pieces(strained, path)
        q = path_qpoints(strained, cell, pieces, labels)[0]
        if not len(q):
            raise ValueError(f"the band path {path!r} holds no q commensurate with the MD supercell "
                             f"(S = {S.astype(int).tolist()}): choose another path, or q_max / count")
        return q
    q = commensurate_qpoints(S)
    if q_max is None and count is None:
        return q
    length = _shortest_lengths(q, strained.cell)
    key = np.round(length, 6)                          # one |q| shell: equal lengths to 1e-6 rad/Angstrom
    order = np.lexsort((np.arange(len(q)), key))
    if q_max is not None:
        if not (np.isfinite(q_max) and q_max >= 0):
            raise ValueError(f"q_max must be a finite |q| >= 0 in rad/Angstrom, not {q_max}")
        return q[order[key[order] <= round(float(q_max), 6)]]             # Gamma at least
    if int(count) < 1:
        raise ValueError(f"count must be at least 1, not {count}")
    last = key[order[min(int(count), len(q)) - 1]]
    return q[order[key[order] <= last]]


class _Projector:
    """Phase tables per primitive atom and the conjugate eigenvectors; called on chunks of frames."""

    def __init__(self, smap: SupercellMap, primitive: Crystal, masses, qpoints, eigvecs):
        n, nc = primitive.n_atoms, smap.n_cells
        self.n, self.nq = n, len(qpoints)
        pf = primitive.scaled_positions
        self.index, self.phase = [], []
        for k in range(n):
            idx = np.flatnonzero(smap.atom == k)
            if len(idx) != nc:
                raise ReferenceMismatchError(f"primitive atom {k} has {len(idx)} images, expected {nc}")
            r0 = smap.lattice[idx] + pf[k]                         # (nc, 3) primitive fractional
            ph = np.exp(-2j * np.pi * (qpoints @ r0.T)) * (np.sqrt(masses[idx]) / np.sqrt(nc))[None, :]
            # interleaved real / imaginary rows: one real product gives both parts
            self.index.append(idx)
            self.phase.append(np.ascontiguousarray(np.concatenate([ph.real, ph.imag], axis=0)))
        self.ec = np.ascontiguousarray(np.conj(eigvecs))          # (nq, 3n, 3n)

    def __call__(self, x: np.ndarray, dmap: DisplacementMap | None = None) -> np.ndarray:
        """(frames, N, 3) real -> (frames, nq, 3n) complex; ``x`` are positions mapped to displacements by ``dmap``
        when it is given (:func:`trajmodes.trajectory.displacements.displacement_inputs`)."""
        x = apply_displacement_map(x, dmap)
        f = x.shape[0]
        nq, n = self.nq, self.n
        S = np.empty((nq, f, n, 3), dtype=complex)
        for k in range(n):
            xk = np.ascontiguousarray(x[:, self.index[k], :].transpose(1, 0, 2)).reshape(-1, f * 3)
            P = self.phase[k] @ xk                                 # (2 nq, f*3)
            S[:, :, k, :] = (P[:nq] + 1j * P[nq:]).reshape(nq, f, 3)
        Q = np.matmul(S.reshape(nq, f, 3 * n), self.ec)            # sum_{ka} S[q,f,ka] e*[q,ka,s]
        return Q.transpose(1, 0, 2)

    def inverse(self, Q: np.ndarray, eigvecs, N: int) -> np.ndarray:
        """(frames, nq, 3n) complex -> (frames, N, 3) complex: the back projection."""
        f = Q.shape[0]
        A = np.matmul(eigvecs[None], Q[..., None])[..., 0]           # (f, nq, 3n): sum_s e[q,ka,s] Q[q,s]
        A = A.reshape(f, self.nq, self.n, 3)
        u = np.empty((f, N, 3), dtype=complex)
        for k in range(self.n):
            ph = self.phase[k][:self.nq] + 1j * self.phase[k][self.nq:]   # (nq, nc) = sqrt(m)/sqrt(nc) e^{-i..}
            mass = np.abs(ph[0]) ** 2 * len(self.index[k])                # m_j
            u[:, self.index[k], :] = np.einsum("qj,fqa->fja", np.conj(ph), A[:, :, k, :]) / mass[None, :, None]
        return u


class _GridProjector:
    """Projection at commensurate q by an FFT over the supercell's cell grid (Smith normal form).

    The atoms of primitive class k sit on the n_cells lattice vectors n of the supercell; their grid
    index ``m = (n @ R) mod d`` (:func:`trajmodes.lattice.supercell.smith_normal_form`) turns
    ``sum_n e^{-i 2 pi q.n} x_n`` into a real-input FFT over the grid d1 x d2 x d3 for every q
    commensurate with the supercell at once.  Cost O(N log n_cells) per frame, memory O(N) per frame
    plus the eigenvectors (nq x 3n x 3n): no table grows as nq x N.  Same result as :class:`_Projector`.
    """

    def __init__(self, smap: SupercellMap, primitive: Crystal, masses, qpoints, eigvecs):
        L, D, R = smith_normal_form(smap.matrix)
        d = np.diag(D).astype(np.int64)
        n, nc = primitive.n_atoms, smap.n_cells
        self.n, self.nq, self.d = n, len(qpoints), tuple(int(x) for x in d)
        grid = np.mod(smap.lattice @ R, d)
        flat = np.ravel_multi_index(grid.T, self.d)
        self.nc = nc
        self.dest = np.empty(len(smap.atom), dtype=np.int64)     # atom j of class k in cell m: row 3k, column m
        for k in range(n):
            idx = np.flatnonzero(smap.atom == k)
            if len(idx) != nc or len(np.unique(flat[idx])) != nc:
                raise ReferenceMismatchError(f"primitive atom {k} does not fill the {nc} cells of the supercell")
            self.dest[idx] = 3 * k * nc + flat[idx]
        self.weight = np.sqrt(np.asarray(masses, float)) / np.sqrt(nc)
        h = np.asarray(qpoints, float) @ np.asarray(smap.matrix, float).T       # S q, integer when commensurate
        g = np.mod(np.rint(h).astype(np.int64) @ L.T, d)                         # (nq, 3)
        half = d[2] // 2 + 1
        conj = g[:, 2] >= half                                                  # read F(-g)* from the rfft half
        g = np.where(conj[:, None], np.mod(-g, d), g)
        self.conj = conj.astype(np.uint8)
        self.gflat = np.ravel_multi_index(g.T, (self.d[0], self.d[1], half)).astype(np.int64)
        self.n_half = int(self.d[0] * self.d[1] * half)
        pk = np.exp(-2j * np.pi * (np.asarray(qpoints, float) @ primitive.scaled_positions.T))   # (nq, n)
        # the phase of primitive atom k folded into the rows 3k + a of the conjugate eigenvectors
        self.ec = np.ascontiguousarray(np.repeat(pk, 3, axis=1)[:, :, None] * np.conj(eigvecs))

    @staticmethod
    def applies(smap: SupercellMap, qpoints) -> bool:
        """True when every q is commensurate with the supercell (``S q`` integer) and there are enough of them."""
        h = np.asarray(qpoints, float) @ np.asarray(smap.matrix, float).T
        return len(h) >= 8 and bool(np.allclose(h, np.rint(h), atol=1e-6))

    def __call__(self, x: np.ndarray, dmap: DisplacementMap | None = None) -> np.ndarray:
        """(frames, N, 3) real -> (frames, nq, 3n) complex, in blocks of frames whose temporaries stay in cache;
        ``x`` are positions mapped to displacements by ``dmap`` when it is given.

        Per block, three passes that release the GIL: the compiled scatter of the mass-weighted vectors (or
        minimum-image displacements) onto the rows (class k, component a) of the cell grid
        (:func:`trajmodes.trajectory.displacements.scatter_displacements`), the real-input FFT of every row, and the compiled
        contraction with the conjugate eigenvectors times the phases of the primitive atoms
        (``_projection.contract``).
        """
        from trajmodes import _projection
        f, n, nq = x.shape[0], self.n, self.nq
        x = np.ascontiguousarray(x, dtype=float)
        out = np.empty((f, nq, 3 * n), dtype=np.complex128)
        per_frame = 8 * x[0].size + 16 * 3 * n * self.n_half + 16 * nq * 3 * n
        step = max(1, BLOCK_BYTES // per_frame)
        buf = np.empty((min(step, f), 3 * n) + self.d)
        for s in range(0, f, step):
            b = buf[:min(step, f - s)]
            scatter_displacements(x[s:s + step], b, self.dest, self.nc, self.weight,
                           None if dmap is None else dmap.frames(slice(s, s + step)))
            F = sp_fft.rfftn(b, axes=(2, 3, 4), overwrite_x=False, workers=1)
            _projection.contract(F, len(b), 3 * n, self.n_half, self.gflat, self.conj, self.ec,
                                 out[s:s + step])
        return out


def _projector(smap: SupercellMap, primitive: Crystal, masses, qpoints, eigvecs):
    """The FFT projector when every q is commensurate, else the phase-matrix one."""
    cls = _GridProjector if _GridProjector.applies(smap, qpoints) else _Projector
    return cls(smap, primitive, masses, qpoints, eigvecs)


#: projectors kept per Phonons object (the last few trajectories' crystals and q-sets), as a projector built once
#: and applied to many runs; entries whose eigenvectors exceed ``SETUP_CACHE_BYTES`` are not kept
SETUP_CACHE_ENTRIES = 4
SETUP_CACHE_BYTES = 64 << 20
_SETUPS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_SETUPS_LOCK = threading.Lock()


def clear_projectors() -> None:
    """Forget the projectors kept by :func:`project` (each is also dropped with its Phonons object)."""
    with _SETUPS_LOCK:
        _SETUPS.clear()


def _setup_key(traj, ref, qpoints) -> str:
    """What the projector of ``traj`` depends on besides the phonons: its reference crystal ``ref``, species,
    masses, and the q asked for."""
    h = hashlib.blake2b(digest_size=16)
    for a in (ref.positions, ref.cell, ref.origin, ref.masses, traj.masses, qpoints):
        h.update(b"-" if a is None else np.ascontiguousarray(a, dtype=float).tobytes())
    for a in (ref.species, traj.species):
        h.update(b"-" if a is None else "\0".join(map(str, a)).encode())
    return h.hexdigest()


def _check_memory(traj, phonons, qpoints, chunk_frames) -> None:
    """Refuse, before the eigenvectors are built, a projection whose projector (the eigenvectors at every q) and
    per-chunk results (Q and Q' of a chunk of frames, the chunk's positions and velocities) would not fit in memory,
    with two tasks at a time."""
    from trajmodes.resources import require_memory
    nb = 3 * phonons.force_constants.n_prim
    n_cells = traj.n_atoms / max(phonons.force_constants.n_prim, 1)
    nq = n_cells if qpoints is None else len(qpoints)
    frames = int(chunk_frames or getattr(traj, "chunk_frames", 1) or 1)
    need = 16.0 * nq * nb * nb + 2 * frames * (2 * 16.0 * nq * nb + 2 * 24.0 * traj.n_atoms)
    require_memory(need, f"the projection of {traj.n_atoms} atoms onto {nq:.3g} q-points x {nb} branches "
                         f"(eigenvectors, and Q and Q' of {frames} frames per chunk, two chunks at a time)",
                   "project fewer q-points at a time (qpoints=, mode_qpoints; trajmodes project --path, --qpoints, "
                   "--q-max or --q-count) or fewer frames per chunk (chunk_frames=, --chunk-frames)")


def run_projector(traj, phonons):
    """What projects per-atom vectors of ``traj`` (velocities, forces, any (frames, atoms, 3) array) onto the modes of
    ``phonons`` at every q commensurate with its supercell, as :func:`project` projects them; the lattice is that of
    ``traj.lattice_reference`` (no pass over the run where its time average is still to be taken).

    Returns
    -------
    supercell_matrix : ndarray (3, 3)
        The MD supercell in primitive cells.
    qpoints : ndarray (nq, 3)
        Reduced q of the primitive reciprocal lattice.
    frequencies : ndarray (nq, 3n)
        Harmonic frequency of every branch at each q, THz (imaginary ones negative).
    projector : callable
        (frames, N, 3) real -> (frames, nq, 3n) complex: ``sum_i sqrt(m_i / n_cells) e^{-i q.R_i} e*_{q s}(i) . x_i``.
    masses : ndarray (N,)
        amu, the atoms' masses it weights with.
    """
    ref = traj.lattice_reference
    smap, q, freqs, projector = _setup(traj, phonons, None, ref)
    return np.asarray(smap.matrix), q, freqs, projector, trajectory_map(traj, phonons, ref)[2]


def _setup(traj, phonons, qpoints, ref):
    """(supercell map, q, harmonic frequencies, projector) of ``traj`` measured from ``ref`` on ``phonons``; built
    once per crystal, q-set and Phonons object, then reused (the eigenvectors and the atom map are most of a short
    run's cost)."""
    key = _setup_key(traj, ref, qpoints)
    with _SETUPS_LOCK:
        try:
            kept = _SETUPS.get(phonons)
        except TypeError:                   # an object that cannot be weakly referenced: nothing kept
            kept = None
        if kept is not None and key in kept:
            kept.move_to_end(key)
            return kept[key]
    smap, prim, masses = trajectory_map(traj, phonons, ref)
    q = commensurate_qpoints(smap.matrix) if qpoints is None else qpoints
    freqs, vecs = phonons.frequencies_and_eigenvectors(q)
    value = (smap, q, freqs, _projector(smap, prim, masses, q, vecs))
    if vecs.nbytes <= SETUP_CACHE_BYTES:
        with _SETUPS_LOCK:
            try:
                kept = _SETUPS.setdefault(phonons, OrderedDict())
            except TypeError:
                return value
            kept[key] = value
            while len(kept) > SETUP_CACHE_ENTRIES:
                kept.popitem(last=False)
    return value


def _one_pass_reference(traj, phonons, qpoints, layer: tuple, reading):
    """The provisional reference (:meth:`~trajmodes.trajectory.passes.Pass.provisional_reference`) from which
    ``traj`` is projected when its reference, the run's time average, is still to be taken and the modes of every
    frame (Q and Q') may be held through the pass (:func:`~trajmodes.resources.may_hold`): the average is then summed
    in the projection's own pass (:func:`_from_time_average`), and the run read once. None otherwise (the average is
    taken first, in a pass of its own). ``layer``: the fields the projection reads (on a cluster its workers parse
    the provisional frames' chunks as the pass's read tasks and keep them for it); ``reading``: the projection's
    pass (:class:`~trajmodes.trajectory.passes.Pass`), which holds them."""
    from trajmodes.resources import may_hold
    if traj.reference_known:
        return None
    n_cells = traj.n_atoms / max(phonons.force_constants.n_prim, 1)
    nq = n_cells if qpoints is None else len(qpoints)
    if not may_hold(2 * 16.0 * traj.n_frames * nq * 3 * phonons.force_constants.n_prim, where="workers"):
        return None
    return reading.provisional_reference(layer=layer)


def _from_time_average(Q, traj, phonons, prov, smap, layer, token, reading):
    """Q measured from the run's time average, from Q measured from the provisional reference ``prov`` in the
    same pass: the displacements from the average are those from ``prov`` less their time mean (the same for
    every frame), so Q is less its time mean (the projection is linear). The mean displacement, summed in the
    same pass, gives the time average, in which the atoms must sit on the same lattice sites as in ``prov``; the
    trajectory asked for is left as it was. ``traj``: the run read in the projection's pass ``reading``, which lets
    go of the frames it held once the average is known.

    Q and Q' of every frame are held until the pass ends (:func:`_one_pass_reference` checked that they fit)."""
    from trajmodes.resources import on_workers
    from trajmodes.trajectory.passes import MeanDisplacement
    mean_u = MeanDisplacement(traj, prov).start(layer)
    # one task; the arguments that are no arrays are not hashed (the task is named), and are scattered to a
    # cluster's workers rather than sent inside the graph (a run of 10^6 atoms: its crystals and maps, 200 MB)
    mean = da.blockwise(_settled_mean, "qb", Q.mean(axis=0).rechunk(-1), "qb", mean_u, "ac", on_workers(traj),
                        None, on_workers(phonons), None, on_workers(prov), None, on_workers(smap), None,
                        on_workers(reading), None, concatenate=True, dtype=Q.dtype, name="trajmodes-Qmean-" + token)
    return Q - mean[None]


def _settled_mean(mean_Q, mean_u, traj, phonons, prov, smap, reading) -> np.ndarray:
    """``mean_Q`` once the time average (``prov`` plus ``mean_u``) is checked to put every atom on the site it has in
    ``prov``; the pass ``reading`` lets go of the frames it held (the provisional reference's)."""
    avg = traj.average_from_mean(prov, mean_u)
    reading.release()
    try:
        other = trajectory_map(traj, phonons, avg)[0]
    except ReferenceMismatchError as err:
        raise ReferenceMismatchError(f"the time average of {traj.source.describe()} does not map onto the "
                                     f"phonons' crystal: {err}") from None
    inv = np.linalg.inv(np.asarray(smap.matrix, float))
    turn = (np.asarray(other.lattice, float) - smap.lattice) @ inv
    moved = (other.atom != smap.atom) | (np.abs(turn - np.rint(turn)) > 1e-6).any(axis=1)
    if moved.any():
        i = int(np.flatnonzero(moved)[0])
        raise ReferenceMismatchError(
            f"{int(moved.sum())} atoms of {traj.source.describe()} sit on other lattice sites in the run's time "
            f"average than in a few of its frames spread over the run (atom {i} first): atoms left their sites during "
            "the run, so it is not one crystal vibrating about its average. Project a part of the run where they stay, "
            "or give the ideal reference (--reference, reference=)")
    return mean_Q


def _project_displacements(data: dict, displacements, projector) -> np.ndarray:
    """Q of one chunk (the dict of its read task): the displacements taken in the projector's own pass."""
    return projector(*displacements.inputs(data))


def _project_field(data: dict, field: str, projector) -> np.ndarray:
    """Q' of one chunk: the projection of the velocities."""
    return projector(data[field])


def project(traj, phonons, qpoints=None, chunk_frames: int | None = None):
    """Mode amplitudes Q(q,s,t) and velocities Q'(q,s,t) of a trajectory, lazy (dask-backed).

    Parameters
    ----------
    traj : trajmodes.Trajectory
        With a periodic reference crystal (``traj.reference``).
    phonons : trajmodes.Phonons
        Their primitive cell must be that of the MD crystal (the supercells may differ; a lattice
        strain up to ``LATTICE_TOL`` is allowed, e.g. 0 K force constants for a 300 K run).
    qpoints : array_like (nq, 3), optional
        Reduced coordinates of the primitive reciprocal lattice, each commensurate with the MD supercell (only those
        are normal modes of the run; :func:`mode_qpoints` picks them along a band path, up to a ``|q|`` or by count).
        Default: all q commensurate with the MD supercell (:func:`commensurate_qpoints`). Memory and time of
        :func:`trajmodes.mode_spectra` and the peak fits scale with the number of q.
    chunk_frames : int, optional
        Frames per task (default: the trajectory's chunks).

    Notes
    -----
    The projector (the eigenvectors at the q and the map of the atoms onto the primitive cell) is built once per
    ``phonons`` object, reference crystal and q-set and kept with ``phonons`` (the last ``SETUP_CACHE_ENTRIES``;
    none whose eigenvectors exceed ``SETUP_CACHE_BYTES``): projecting more runs or slices of the same crystal
    costs only the reading and the projection itself. One task per chunk of frames computes Q, one Q'; both share
    the chunk's read.

    Returns
    -------
    xarray.Dataset
        ``Q`` (time, q, branch) complex128 amu^1/2 Å; ``Qdot`` (time, q, branch) complex128
        amu^1/2 Å/ps (from the velocities; a centred difference of Q with a UserWarning when the
        trajectory has none); coords ``time`` (ps), ``qpoint`` (q, reduced), ``frequency_harmonic``
        (q, branch) THz; attrs ``units``, ``n_cells``, ``n_atoms``, ``convention``, ``lattice_matrix``
        (S, flattened), ``time_axis`` (where the frame times came from: every frequency scales with them) and
        ``temperature_hint`` (K) when the trajectory's source carries one.
    """
    import xarray as xr
    reading = traj.read_pass()      # the projection's read: the trajectory given is left as it was
    traj = reading.run
    if qpoints is not None:
        qpoints = mode_qpoints(traj, phonons, qpoints=qpoints)
    _check_memory(traj, phonons, qpoints, chunk_frames)
    if chunk_frames is not None:
        traj = traj.rechunk(int(chunk_frames))
    # one read per chunk for positions and velocities, and one task for each of Q and Q' per chunk
    layer = ("positions", "velocities") if "velocities" in traj.source.fields else ("positions",)
    prov = _one_pass_reference(traj, phonons, qpoints, layer, reading)
    try:
        smap, q, freqs, proj = _setup(traj, phonons, qpoints, traj.reference if prov is None else prov)
    except ReferenceMismatchError:
        if prov is None:
            raise
        prov = None          # the few frames of the provisional reference too noisy to place the atoms: the average
        smap, q, freqs, proj = _setup(traj, phonons, qpoints, traj.reference)
    ref = traj.reference if prov is None else prov
    nq, nb = freqs.shape
    token = uuid.uuid4().hex            # names the tasks: the projector need not be hashed
    # the crystal's drift as a whole taken out of every frame: it moves only the acoustic modes at Gamma (zero amplitude
    # then), and a drift beyond half a cell would wrap the displacements of every mode
    Q = traj.map_chunks(_project_displacements, traj.displacements_of_chunks(ref, drift="removed"), proj, layer=layer,
                        shape=(nq, nb), dtype=np.complex128, name="trajmodes-Q-" + token)
    if prov is not None:
        Q = _from_time_average(Q, traj, phonons, prov, smap, layer, token, reading)
    if "velocities" in layer:
        Qdot = traj.map_chunks(_project_field, "velocities", proj, layer=layer, shape=(nq, nb),
                               dtype=np.complex128, name="trajmodes-Qdot-" + token)
    else:
        warnings.warn(f"{traj.source.describe()} has no velocities: Qdot is a centred difference of Q "
                      "(biased at high frequency; write vx vy vz for exact mode velocities)", UserWarning,
                      stacklevel=2)
        if traj.n_frames < 2:
            raise ValueError("a centred difference needs at least two frames")
        Qdot = da.gradient(Q, traj.frame_interval, axis=0) if min(Q.chunks[0]) >= 2 else \
            da.from_array(np.gradient(Q.compute(), traj.frame_interval, axis=0), chunks=Q.chunks)
    attrs = {"units": "Q: amu^1/2 Angstrom; Qdot: amu^1/2 Angstrom/ps; time: ps; frequency: THz; "
                      "qpoint: reduced (primitive reciprocal lattice, no 2 pi)",
             "n_cells": smap.n_cells, "n_atoms": int(traj.n_atoms),
             "lattice_matrix": smap.matrix.astype(np.int64).reshape(-1),
             # the primitive cell whose reduced coordinates qpoint holds: constants in another basis map onto it
             "primitive_cell": np.asarray(phonons.force_constants.primitive.cell, float).reshape(-1),
             "primitive_positions": np.asarray(phonons.force_constants.primitive.positions, float).reshape(-1),
             "primitive_species": " ".join(map(str, phonons.force_constants.primitive.species)),
             "convention": "Q(q,s,t) = N_c^-1/2 sum_j sqrt(m_j) exp(-i 2 pi q.r0_j) e*(q,s,k_j).u_j(t)",
             "time_axis": traj.time_axis}
    if traj.n_frames > 1:
        from trajmodes.modes.spectra import aliased_modes
        mask, nyquist, message = aliased_modes(freqs, traj.frame_interval)
        attrs["nyquist_thz"] = nyquist
        if message:
            warnings.warn(message, UserWarning, stacklevel=2)
            attrs["aliasing_warned"] = 1
    hint = getattr(traj, "temperature_hint", None) or getattr(traj.source, "temperature_hint", None)
    if hint is not None:
        attrs["temperature_hint"] = float(hint)
    ds = xr.Dataset(
        {"Q": (("time", "q", "branch"), Q, {"units": "amu^1/2 Angstrom"}),
         "Qdot": (("time", "q", "branch"), Qdot, {"units": "amu^1/2 Angstrom/ps"})},
        coords={"time": ("time", np.asarray(traj.times, float), {"units": "ps"}),
                "qpoint": (("q", "reduced"), q.copy(), {"units": "reduced"}),          # the kept setup's own: copies
                "frequency_harmonic": (("q", "branch"), freqs.copy(), {"units": "THz"})},
        attrs=attrs)
    return ds


def back_project(modes, phonons, smap: SupercellMap, primitive: Crystal | None = None, masses=None,
                 variable: str = "Q") -> np.ndarray:
    """Atomic displacements (or velocities, ``variable="Qdot"``) from mode amplitudes: the inverse of :func:`project`.

    Parameters
    ----------
    modes : xarray.Dataset
        From :func:`project` (all commensurate q for an exact inverse).
    phonons : Phonons
        Those used in the projection.
    smap : SupercellMap
        The MD supercell on ``primitive`` (see :func:`trajectory_map`).
    primitive : Crystal, optional
        Default ``phonons.force_constants.primitive`` (only its fractional positions enter).
    masses : ndarray (N,), optional
        Default the primitive masses of every atom's class.

    Returns
    -------
    ndarray (time, N, 3) float, Å (or Å/ps); the imaginary part, zero for a q-set closed
    under -q, is dropped.
    """
    prim = phonons.force_constants.primitive if primitive is None else primitive
    masses = prim.masses[smap.atom] if masses is None else np.asarray(masses, float)
    q = np.asarray(modes["qpoint"].values)
    _, vecs = phonons.frequencies_and_eigenvectors(q)
    proj = _Projector(smap, prim, masses, q, vecs)
    u = proj.inverse(np.asarray(modes[variable].values), vecs, len(smap.atom))
    return u.real
