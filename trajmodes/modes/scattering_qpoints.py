"""Wave vectors of scattering functions: reduced q of the primitive cell or Cartesian q (rad/Å, 2 pi included),
their commensurability with the MD cell, the commensurate q along a band path, and spherical |q| shells for powder
averages.

A wave vector q is commensurate with the MD cell (rows a_i) when q.a_i / (2 pi) is an integer for every i: only then
is rho(q) of a periodic run a property of the crystal rather than of where the atoms were wrapped. In reduced
coordinates of the primitive cell that is ``S q`` integral, with S the MD cell on the primitive cell
(``cell = S @ primitive.cell``), as :func:`trajmodes.lattice.qpoints.commensurate_mask` tests.

A run resolves only so large a q: the phase q.r of an atom must not move by much within the rounding of its position
in the file (:func:`max_wavevector`). Larger q are refused before anything is computed (in floating point every
number beyond 2^52 is an integer, so q = 1e300 would pass as commensurate and give round-off as S(q, omega)).
"""
from __future__ import annotations

import numpy as np

from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.spglib_calls import SYMPREC

__all__ = ["run_primitive", "primitive_of", "supercell_matrix", "max_wavevector", "cartesian_qpoints", "path_qpoints",
           "powder_qpoints", "spherical_qpoints", "shell_average"]

TWO_PI = 2 * np.pi
#: largest relative misfit between the MD cell and an integer supercell of the primitive cell (as the projection's)
LATTICE_TOL = 0.05
#: relative spacing of the positions a trajectory file holds: six significant digits (LAMMPS' text dumps write %g;
#: float32 caches hold seven), so a coordinate near |r| is known to 0.5e-5 |r|
POSITION_PRECISION = 1e-5
#: the largest phase error q.dr (rad) that rounding of the positions may cause at the largest q let through
MAX_PHASE_ERROR = 0.5
#: commensurate q enumerated one by one at most (about 100 B each while they are sorted into shells); beyond, the
#: powder shells are filled by drawing q at random (:func:`spherical_qpoints`)
MAX_ENUMERATED = 2_000_000


def max_wavevector(cell) -> float:
    """The largest |q| (rad/Å) whose phases exp(i q.r) a run in ``cell`` (rows, Å) resolves.

    A position near |r| <= |a| + |b| + |c| is stored to about ``POSITION_PRECISION / 2 * |r|`` (six significant
    digits); q.r then moves by up to ``MAX_PHASE_ERROR`` (0.5 rad) at |q| = MAX_PHASE_ERROR / (POSITION_PRECISION / 2
    * (|a| + |b| + |c|)): 2300 rad/Å for a 14.5 Å cube, far beyond the 10-100 rad/Å of X-ray
    and neutron experiments (where thermal motion has long washed out the coherent signal), but a bound below which
    the integers of the commensurability test are exact in floating point.
    """
    extent = float(np.linalg.norm(np.asarray(cell, float), axis=1).sum())
    return MAX_PHASE_ERROR / (0.5 * POSITION_PRECISION * extent)


def _cell_words(cell) -> str:
    return " x ".join(f"{x:.4g}" for x in np.linalg.norm(np.asarray(cell, float), axis=1)) + " Angstrom"


def _check_resolvable(qc, q, cell, what: str) -> None:
    """Refuse the q whose Cartesian |q| (rad/Å) is beyond :func:`max_wavevector` (non-finite ones too)."""
    norm = np.hypot.reduce(np.asarray(qc, float), axis=1)        # no overflow of the squares (q = 1e300)
    limit = max_wavevector(cell)
    bad = ~(norm <= limit)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{int(bad.sum())} of {len(q)} q-points are beyond the |q| a run in this "
                         f"{_cell_words(cell)} cell resolves: q-point {i}, {_fmt(q[i])} ({what}), has |q| = "
                         f"{norm[i]:.4g} rad/Angstrom, more than {limit:.4g} (there the phase q.r of an atom moves by "
                         f"over {MAX_PHASE_ERROR} rad within the rounding of its position to six significant digits, "
                         "and S(q, omega) would be round-off): give q with |q| <= "
                         f"{limit:.4g} rad/Angstrom")


def run_primitive(traj, symprec: float = SYMPREC, reading=None) -> Crystal:
    """:func:`primitive_of` the run ``traj``'s reference: of its :attr:`~trajmodes.trajectory.core.Trajectory.
    lattice_reference` (no pass over the run while its time average is still to be taken), else, where the few frames
    of that one are too noisy to show the lattice, of the denser provisional reference (about twice the frames; from a
    text trajectory they are held for the pass after it: ``reading``, the pass of ``traj`` the caller created,
    :class:`~trajmodes.trajectory.passes.Pass`; default one of its own), else of the time average itself."""
    reading = traj.read_pass() if reading is None else reading
    traj = traj.in_pass(reading)
    pending = not traj.reference_known
    lattice = traj.lattice_reference
    try:
        return primitive_of(lattice, traj.masses, symprec, averaged=pending or traj.reference_is_average)
    except ValueError:
        if not pending:
            raise
    denser = reading.provisional_reference(denser=True)
    if denser is not None:
        try:
            return primitive_of(denser, traj.masses, symprec, averaged=True)
        except ValueError:
            pass
    return primitive_of(traj.reference, traj.masses, symprec, averaged=True)


def primitive_of(reference, masses=None, symprec: float = SYMPREC, averaged: bool = False) -> Crystal:
    """The primitive cell (spglib) of a reference structure (:class:`trajmodes.Structure`), in its frame.

    A reference that is an MD snapshot (thermal noise) is searched at the tolerance that shows its lattice
    (:func:`trajmodes.lattice.ideal.ideal_crystal`; ``averaged``: a time average of frames, as it treats one); only
    the primitive lattice matters for the q-points. ``masses`` (amu) are only labels for the symmetry search; default
    the structure's, else ones.
    """
    import warnings
    from trajmodes.lattice.ideal import ideal_crystal
    m = masses if masses is not None else reference.masses
    if m is None:
        m = np.ones(reference.n_atoms)
    crystal = Crystal.from_structure(reference, masses=m)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)      # its warning is about fits on the ideal sites
            ideal, tol = ideal_crystal(crystal, symprec, allow_p1=True, averaged=averaged)
        primitive = ideal.primitive(tol)
    except ValueError:
        primitive = crystal
    if primitive.n_atoms == crystal.n_atoms and crystal.n_atoms > 1:
        raise ValueError(f"found no primitive cell smaller than the reference's {crystal.n_atoms} atoms (too far from "
                         "an ideal crystal?), so reduced q-points have nothing to refer to: read the run with the "
                         "ideal reference (reference= the LAMMPS data file it started from, or 'average'), give "
                         "primitive= (a Crystal or its 3x3 cell in Angstrom), or give Cartesian q with cartesian=True")
    return primitive


def supercell_matrix(cell, primitive_cell) -> np.ndarray:
    """The integer matrix S with ``cell = S @ primitive_cell`` (rows are lattice vectors, Å), allowing a strain
    of the MD cell up to ``LATTICE_TOL`` (thermal expansion from a 0 K primitive cell).

    Raises
    ------
    ValueError
        When ``cell`` is not an integer supercell of ``primitive_cell``.
    """
    cell = np.asarray(cell, float)
    Sf = cell @ np.linalg.inv(np.asarray(primitive_cell, float))
    S = np.rint(Sf)
    misfit = np.linalg.norm(cell - S @ np.asarray(primitive_cell, float)) / np.linalg.norm(cell)
    if misfit > LATTICE_TOL or round(abs(np.linalg.det(S))) == 0:
        raise ValueError(f"the MD cell is not a supercell of the primitive cell: cell @ inv(primitive) = "
                         f"{np.round(Sf, 4).tolist()}; give primitive= (the primitive cell of this crystal, in the "
                         "frame of the MD cell) or Cartesian q with cartesian=True")
    return S.astype(np.int64)


def _fmt(q) -> str:
    return "(" + ", ".join(f"{x:.6g}" for x in np.asarray(q, float)) + ")"


def cartesian_qpoints(qpoints, cell, primitive_cell=None, cartesian: bool = False) -> np.ndarray:
    """Cartesian wave vectors (rad/Å, 2 pi included) of ``qpoints``, checked commensurate with the MD cell.

    Parameters
    ----------
    qpoints : array_like (nq, 3)
        Reduced coordinates of the primitive reciprocal lattice without 2 pi (``cartesian=False``), or Cartesian
        rad/Å.
    cell : array_like (3, 3)
        The MD cell, rows in Å.
    primitive_cell : array_like (3, 3), optional
        Rows of the primitive cell, Å; required for reduced q, which refer to the primitive lattice of the MD
        cell itself (``inv(S) @ cell``: the primitive cell strained onto the MD cell).
    cartesian : bool
        Whether ``qpoints`` are Cartesian.

    Raises
    ------
    ValueError
        Naming the first q that is not commensurate with the MD cell and the nearest commensurate q, in the
        coordinates it was given in; or the first q beyond the |q| the run resolves (:func:`max_wavevector`).
    """
    q = np.asarray(qpoints, dtype=float)
    if q.ndim == 1 and q.size == 3:
        q = q[None]
    if q.ndim != 2 or q.shape[1] != 3 or len(q) == 0:
        raise ValueError(f"qpoints must be an (nq, 3) array of at least one q-point, not of shape {q.shape}")
    if not np.isfinite(q).all():
        raise ValueError("qpoints hold NaN or infinite values")
    cell = np.asarray(cell, float)
    if cartesian:
        what, how = "Cartesian, rad/Angstrom", "the commensurate q are 2 pi m @ inv(cell).T for integer m"
        _check_resolvable(q, q, cell, what)
        h = q / TWO_PI @ cell.T                              # q.a_i / 2 pi
        back = TWO_PI * np.linalg.inv(cell).T
    else:
        if primitive_cell is None:
            raise ValueError("reduced q-points need the primitive cell (primitive=), or give Cartesian q with "
                             "cartesian=True")
        S = supercell_matrix(cell, primitive_cell)
        plat = np.linalg.solve(S.astype(float), cell)      # the primitive lattice of the MD cell (strained)
        what = "reduced, primitive reciprocal lattice"
        how = f"the commensurate q are S^-1 m for integer m, with S = {S.tolist()} the MD cell on the primitive cell"
        with np.errstate(over="ignore", invalid="ignore"):
            _check_resolvable(TWO_PI * q @ np.linalg.inv(plat).T, q, cell, what)
        h = q @ S.T
        back = np.linalg.inv(S).T
    # |h| <= |q| |a_i| / 2 pi is below 2^31 now: the nearest integers are exact and the test is one in integers
    m = np.rint(h).astype(np.int64)
    bad = np.abs(h - m).max(axis=1) >= 1e-6
    near = m @ back
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{int(bad.sum())} of {len(q)} q-points are not commensurate with the MD cell: q-point {i}, "
                         f"{_fmt(q[i])} ({what}); the nearest commensurate q is {_fmt(near[i])}. Rho(q) of a periodic "
                         f"run is defined only there: {how} (path_qpoints and spherical_qpoints give them)")
    if cartesian:
        return q.copy()
    return TWO_PI * q @ np.linalg.inv(plat).T


def _segment_points(a, b, S) -> np.ndarray:
    """The parameters t in [0, 1] (sorted) where a + t (b - a) is commensurate (``S q`` integral)."""
    ha, d = S @ a, S @ (b - a)
    i = int(np.argmax(np.abs(d)))
    if abs(d[i]) < 1e-12:
        return np.zeros(1) if np.allclose(ha, np.rint(ha), atol=1e-6) else np.zeros(0)
    lo, hi = sorted((ha[i], ha[i] + d[i]))
    m = np.arange(np.ceil(lo - 1e-9), np.floor(hi + 1e-9) + 1)
    t = np.clip((m - ha[i]) / d[i], 0.0, 1.0)
    h = ha[None] + t[:, None] * d[None]
    return np.sort(t[np.all(np.abs(h - np.rint(h)) < 1e-6, axis=1)])


def path_qpoints(primitive: Crystal, cell, pieces=None, labels=None, symprec: float = SYMPREC):
    """The q-points of a band path that are commensurate with the MD cell, in path order.

    Parameters
    ----------
    primitive : Crystal
        The primitive cell, in the frame of the MD cell.
    cell : array_like (3, 3)
        The MD cell, rows in Å.
    pieces, labels : optional
        Connected pieces of the path (list of (n_nodes, 3) reduced q) and their node labels; default the
        high-symmetry path of :func:`trajmodes.lattice.paths.default_path`.

    Returns
    -------
    qpoints : ndarray (n, 3)
        Reduced q (primitive reciprocal lattice, no 2 pi); a node shared by two segments appears once.
    distance : ndarray (n,)
        Path length in 1/Å without 2 pi (as the band structures'), no jump across breaks.
    ticks : list of (float, str)
        The path distance and label of every node.
    """
    from trajmodes.lattice.paths import default_path
    if pieces is None:
        pieces, labels = default_path(primitive, symprec)
    if labels is None:
        labels = [[""] * len(p) for p in pieces]
    S = supercell_matrix(cell, primitive.cell).astype(float)
    rec = primitive.reciprocal_cell
    qs, dist, ticks, x = [], [], [], 0.0
    for piece, names in zip(pieces, labels):
        piece = np.asarray(piece, float).reshape(-1, 3)
        for i in range(len(piece) - 1):
            a, b = piece[i], piece[i + 1]
            seg = float(np.linalg.norm((b - a) @ rec))
            ticks.append((x, names[i]))
            t = _segment_points(a, b, S)
            if i and len(t) and t[0] < 1e-9:
                t = t[1:]                                 # the joint was the previous segment's end
            qs.append(a[None] + t[:, None] * (b - a)[None])
            dist.append(x + t * seg)
            x += seg
        ticks.append((x, names[-1]))
    return np.concatenate(qs), np.concatenate(dist), ticks


def _require(nbytes: float, what: str, fix: str) -> None:
    """:func:`trajmodes.resources.require_memory` as a ValueError: the arguments ask too much, not the machine."""
    from trajmodes.resources import require_memory
    try:
        require_memory(nbytes, what, fix)
    except MemoryError as exc:
        raise ValueError(str(exc)) from None


def _powder_range(cell, q_min: float, q_max: float, n_shells, max_per_shell) -> float:
    """Check the arguments of :func:`spherical_qpoints`; the expected number of commensurate q with q_min <= |q| <=
    q_max (the volume of the shell over that of a reciprocal cell)."""
    for name, v in (("n_shells", n_shells), ("max_per_shell", max_per_shell)):
        if v is None and name == "max_per_shell":
            continue
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a whole number, at least 1, not {v!r}")
    try:
        q_min, q_max = float(q_min), float(q_max)
    except (TypeError, ValueError):
        raise ValueError(f"q_min and q_max must be numbers (rad/Angstrom), not {q_min!r} and {q_max!r}") from None
    if not (np.isfinite(q_min) and np.isfinite(q_max) and 0 <= q_min < q_max):
        raise ValueError(f"need finite 0 <= q_min < q_max (rad/Angstrom), not q_min={q_min:g}, q_max={q_max:g}")
    limit = max_wavevector(cell)
    if q_max > limit:
        raise ValueError(f"q_max={q_max:g} rad/Angstrom is beyond the {limit:.4g} rad/Angstrom a run in this "
                         f"{_cell_words(cell)} cell resolves (there the phase q.r of an atom moves by over "
                         f"{MAX_PHASE_ERROR} rad within the rounding of its position to six significant digits): give "
                         f"q_max <= {limit:.4g}")
    density = abs(np.linalg.det(cell)) / TWO_PI ** 3                # commensurate q per (rad/Angstrom)^3
    expected = density * 4 * np.pi / 3 * (q_max ** 3 - q_min ** 3)
    width_q = (q_max - q_min) / max(expected, 1.0)
    if n_shells > max(expected, 100):
        raise ValueError(f"{n_shells} shells for about {expected:.3g} commensurate q with {q_min:g} <= |q| <= "
                         f"{q_max:g} rad/Angstrom in this {_cell_words(cell)} cell: most shells would be empty; give "
                         f"at most {int(max(expected, 100))} shells (each at least {width_q:.3g} rad/Angstrom wide)")
    _require(n_shells * (200.0 + 100.0 * (max_per_shell or 0)), f"{n_shells} shells"
             + (f" of up to {max_per_shell} q" if max_per_shell else ""), "use fewer shells or fewer q per shell")
    return expected


def _columns(B, q_min: float, q_max: float):
    """The integer columns (m1, m2) of the commensurate q = m @ B with q_min <= |q| <= q_max and the ranges of m3
    (one or two per column, widened by one at both ends), as (m1, m2, start, length) arrays."""
    b1, b2, b3 = B
    n = np.floor(q_max * np.linalg.norm(np.linalg.inv(B), axis=0)).astype(np.int64)   # |m_i| <= |q| |a_i| / 2 pi
    m1, m2 = (x.ravel() for x in np.meshgrid(np.arange(-n[0], n[0] + 1), np.arange(-n[1], n[1] + 1), indexing="ij"))
    p = m1[:, None] * b1 + m2[:, None] * b2
    bb, c, pp = b3 @ b3, p @ b3, np.einsum("ij,ij->i", p, p)

    def roots(r):
        disc = c * c - bb * (pp - r * r)
        root = np.sqrt(np.clip(disc, 0.0, None))
        return disc >= 0, (-c - root) / bb, (-c + root) / bb
    out_ok, lo, hi = roots(q_max)
    in_ok, ilo, ihi = roots(q_min) if q_min > 0 else (np.zeros(len(c), bool), c, c)
    a0, a1 = np.ceil(lo) - 1, np.floor(hi) + 1
    split = out_ok & in_ok & (np.floor(ilo) + 1 < np.ceil(ihi) - 1)  # a stretch of the column inside |q| < q_min
    e0 = np.where(split, np.floor(ilo) + 1, a1)                       # first range [a0, e0], second [s1, a1]
    s1 = np.ceil(ihi) - 1
    starts = np.concatenate([a0, s1[split]]).astype(np.int64)
    lengths = np.concatenate([np.where(out_ok, e0 - a0 + 1, 0), (a1 - s1 + 1)[split]]).astype(np.int64)
    cols = np.concatenate([np.arange(len(c)), np.flatnonzero(split)])
    keep = lengths > 0
    return m1[cols[keep]], m2[cols[keep]], starts[keep], lengths[keep]


def _enumerate(B, q_min: float, q_max: float):
    """Every commensurate q (Cartesian, rad/Å) with 0 < |q|, q_min <= |q| <= q_max, built column by column
    (never the box around the sphere); with |q|."""
    m1, m2, start, length = _columns(B, q_min, q_max)
    col = np.repeat(np.arange(len(length)), length)
    m3 = start[col] + np.arange(len(col)) - np.repeat(np.cumsum(length) - length, length)
    q = np.stack([m1[col], m2[col], m3], axis=1).astype(float) @ B
    norm = np.linalg.norm(q, axis=1)
    keep = (norm > 1e-12) & (norm >= q_min * (1 - 1e-12)) & (norm <= q_max * (1 + 1e-12))
    return q[keep], norm[keep]


def _shells(norm, edges) -> np.ndarray:
    """The shell of every |q|: s with edges[s] < |q| <= edges[s + 1], the first one edges[0] too."""
    return np.clip(np.searchsorted(edges, norm, side="left") - 1, 0, len(edges) - 2)


def _pick(shell, per_shell, rng) -> np.ndarray:
    """The indices (sorted) of at most ``per_shell`` entries of every shell, a uniformly random choice."""
    order = np.lexsort((rng.random(len(shell)), shell))                 # random order within each shell
    rank = np.arange(len(shell)) - np.searchsorted(shell[order], shell[order])
    return np.sort(order[rank < per_shell])


def _draw(B, edges, which, per_shell: int, rng, rounds: int = 60):
    """At most ``per_shell`` distinct commensurate q (rad/Å) of each shell s in ``which`` (edges[s] < |q| <=
    edges[s + 1]), a uniformly random choice among the q of the shell: q drawn uniformly in the shell widened by the
    half diagonal of a reciprocal cell, rounded to the lattice (every lattice point of the shell then has the same
    chance: the whole cell of points that round to it lies in the widened shell), kept when they fall in the shell,
    the first ``per_shell`` distinct ones in the order drawn; with their shells. A shell with fewer q than
    ``per_shell`` keeps those drawn in ``rounds`` rounds of at least twice its deficit (all of them, but for a chance of
    about exp(-2 rounds deficit / its q))."""
    n_shells = len(edges) - 1
    inv = np.linalg.inv(B)
    signs = np.array([[1, 1, 1], [1, 1, -1], [1, -1, 1], [-1, 1, 1]], float)
    pad = 0.5 * np.linalg.norm(signs @ B, axis=1).max()
    lo, hi = np.maximum(edges[:-1] - pad, 0.0), edges[1:] + pad
    accept = (edges[1:] ** 3 - edges[:-1] ** 3) / (hi ** 3 - lo ** 3)          # expected fraction that lands inside
    draws = float(np.sum(2 * per_shell / accept[which] + 4))
    _require(draws * 200.0 + len(which) * per_shell * 100.0,
             f"{len(which)} shells of {per_shell} q drawn at random ({draws:.3g} draws)",
             "use fewer or wider shells, or fewer q per shell")
    kept = np.zeros((0, 4), np.int64)                                          # (shell, m1, m2, m3) in draw order
    count = np.full(n_shells, per_shell, np.int64)
    count[which] = 0
    for _ in range(rounds):
        need = np.flatnonzero(count < per_shell)
        if not len(need):
            break
        k = np.ceil(2 * (per_shell - count[need]) / accept[need]).astype(np.int64) + 4
        shell = np.repeat(need, k)
        r = np.cbrt(lo[shell] ** 3 + rng.random(len(shell)) * (hi[shell] ** 3 - lo[shell] ** 3))
        u = rng.standard_normal((len(shell), 3))
        x = u * (r / np.linalg.norm(u, axis=1))[:, None]
        m = np.rint(x @ inv).astype(np.int64)
        norm = np.linalg.norm(m @ B, axis=1)
        above = (norm > edges[shell]) | ((shell == 0) & (norm >= edges[0]))    # the first shell holds q_min too
        inside = above & (norm <= edges[shell + 1]) & (norm > 1e-12)
        kept = np.concatenate([kept, np.column_stack([shell, m])[inside]])
        _, first = np.unique(kept, axis=0, return_index=True)
        kept = kept[np.sort(first)]                                            # distinct, in the order drawn
        order = np.argsort(kept[:, 0], kind="stable")
        rank = np.arange(len(kept)) - np.searchsorted(kept[order, 0], kept[order, 0])
        kept = kept[np.sort(order[rank < per_shell])]
        count[which] = np.bincount(kept[:, 0], minlength=n_shells)[which]
    return kept[:, 1:].astype(float) @ B, kept[:, 0]


def spherical_qpoints(cell, q_max: float, n_shells: int = 20, max_per_shell: int | None = None, seed: int = 0,
                      q_min: float = 0.0):
    """Every Cartesian q commensurate with the MD cell with 0 < |q|, q_min <= |q| <= ``q_max``, sorted into |q|
    shells; with ``max_per_shell``, at most that many of each, drawn at random.

    Parameters
    ----------
    cell : array_like (3, 3)
        The MD cell, rows in Å.
    q_max : float
        rad/Å, at most :func:`max_wavevector` of the cell.
    n_shells : int
        Shells of equal width in |q| between ``q_min`` and ``q_max``; at most about as many as there are commensurate
        q in the range (more would be empty).
    max_per_shell : int, optional
        Keep at most this many q of a shell, drawn at random (``seed``) when it holds more. Required when the range
        holds more than ``MAX_ENUMERATED`` (2 million) commensurate q: those are not listed one by one, the q of each
        shell are drawn uniformly among its commensurate q instead.
    seed : int
        Of the random choice.
    q_min : float
        rad/Å, the lower end of the first shell.

    Returns
    -------
    qpoints : ndarray (n, 3)
        Cartesian, rad/Å (for ``cartesian=True``), sorted by |q|.
    shell : ndarray of int (n,)
        The shell of every q, 0 .. n_shells - 1 (shell s holds edges[s] < |q| <= edges[s + 1]; the first one
        q_min too).
    edges : ndarray (n_shells + 1,)
        Shell edges in |q|, rad/Å.

    Raises
    ------
    ValueError
        For a range that is not finite, beyond what the run resolves, or with more shells than q; and, without
        ``max_per_shell``, for a range of more than ``MAX_ENUMERATED`` q, with the q_max that holds fewer.
    """
    cell = np.asarray(cell, float)
    expected = _powder_range(cell, q_min, q_max, n_shells, max_per_shell)
    q_min, q_max = float(q_min), float(q_max)
    B = TWO_PI * np.linalg.inv(cell).T                                 # rows: the reciprocal vectors, rad/Angstrom
    edges = np.linspace(q_min, q_max, n_shells + 1)
    rng = np.random.default_rng(seed)
    density = abs(np.linalg.det(cell)) / TWO_PI ** 3
    columns = np.prod(np.floor(q_max * np.linalg.norm(cell[:2], axis=1) / TWO_PI) * 2 + 1)
    if expected <= MAX_ENUMERATED and columns <= MAX_ENUMERATED:
        q, norm = _enumerate(B, q_min, q_max)
        shell = _shells(norm, edges)
        if max_per_shell is not None:
            sel = _pick(shell, max_per_shell, rng)
            q, shell = q[sel], shell[sel]
    elif max_per_shell is None:
        cap = (MAX_ENUMERATED / (density * 4 * np.pi / 3) + q_min ** 3) ** (1 / 3)
        raise ValueError(f"{q_min:g} <= |q| <= {q_max:g} rad/Angstrom holds about {expected:.3g} commensurate q in "
                         f"this {_cell_words(cell)} cell, too many to list one by one (more than "
                         f"{MAX_ENUMERATED:.0e}): give max_per_shell= (the q of each shell are then drawn at random) "
                         f"or q_max <= {min(cap, q_max):.4g} rad/Angstrom")
    else:
        # the shells up to the radius that holds a quarter of MAX_ENUMERATED q listed one by one (the small shells
        # near q_min among them), the others drawn at random
        r = (MAX_ENUMERATED / 4 / (density * 4 * np.pi / 3) + q_min ** 3) ** (1 / 3)
        listed = int(np.searchsorted(edges[1:], r, side="right"))
        parts = []
        if listed and np.prod(np.floor(edges[listed] * np.linalg.norm(cell[:2], axis=1) / TWO_PI) * 2 + 1) \
                <= MAX_ENUMERATED:
            q, norm = _enumerate(B, q_min, edges[listed])
            shell = _shells(norm, edges[:listed + 1])
            sel = _pick(shell, max_per_shell, rng)
            parts.append((q[sel], shell[sel]))
        else:
            listed = 0
        parts.append(_draw(B, edges, np.arange(listed, n_shells), max_per_shell, rng))
        q = np.concatenate([p[0] for p in parts])
        shell = np.concatenate([p[1] for p in parts])
    norm = np.linalg.norm(q, axis=1)
    order = np.lexsort((q[:, 2], q[:, 1], q[:, 0], norm))
    return q[order], shell[order], edges


def powder_qpoints(cell, q_min: float, q_max: float, n_shells: int, per_shell: int | None, seed: int = 0):
    """The commensurate Cartesian q of a powder average over ``n_shells`` |q| shells of equal width from ``q_min`` to
    ``q_max`` (rad/Å), at most ``per_shell`` of each (drawn at random, ``seed``): :func:`spherical_qpoints`,
    refusing a range that holds no commensurate q (with the shortest the MD cell has).

    Returns
    -------
    (qpoints, shell, edges) of :func:`spherical_qpoints`: Cartesian q in rad/Å, the shell of each, the shell
    edges in rad/Å.

    Raises
    ------
    ValueError
        As :func:`spherical_qpoints` (a range the run cannot resolve, or more q than memory holds), before anything
        large is allocated; and for a range without a commensurate q.
    """
    cell = np.asarray(cell, float)
    q, shell, edges = spherical_qpoints(cell, q_max, n_shells=n_shells, max_per_shell=per_shell, seed=seed,
                                        q_min=q_min)
    if not len(q):
        raise ValueError(f"no q commensurate with the MD cell has {q_min:g} <= |q| <= {q_max:g} rad/Angstrom: the "
                         f"shortest is {TWO_PI / np.linalg.norm(cell, axis=1).max():.4g} rad/Angstrom; widen the range")
    return q, shell, edges


def shell_average(ds, shell, edges):
    """The average over the q of each |q| shell of every variable of ``ds`` with a ``q`` dimension.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`trajmodes.modes.structure_factor.dynamic_structure_factor` on the q of
        :func:`spherical_qpoints`.
    shell, edges
        From :func:`spherical_qpoints`.

    Returns
    -------
    xarray.Dataset
        The variables over ``q_norm`` (shell centres, rad/Å) instead of ``q``; ``n_qpoints`` the q per shell;
        empty shells are left out.
    """
    shell = np.asarray(shell, int)
    if len(shell) != ds.sizes["q"]:
        raise ValueError(f"{len(shell)} shell labels for {ds.sizes['q']} q-points")
    centres = 0.5 * (np.asarray(edges)[1:] + np.asarray(edges)[:-1])
    used = np.unique(shell)
    out = ds.drop_vars([c for c in ds.coords if "q" in ds[c].dims])
    out = out.assign_coords(shell=("q", shell)).groupby("shell").mean("q")
    out = out.rename({"shell": "q_norm"}).assign_coords(
        q_norm=("q_norm", centres[used], {"units": "rad/Angstrom", "long_name": "|q| shell centre"}),
        n_qpoints=("q_norm", np.bincount(shell)[used]))
    for name in ds.data_vars:
        if name in out:
            out[name].attrs = dict(ds[name].attrs)
    return out
