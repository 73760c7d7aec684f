"""Wave vectors of scattering functions: reduced q of the primitive cell or Cartesian q (rad/Angstrom, 2 pi included),
their commensurability with the MD cell, the commensurate q along a band path, and spherical |q| shells for powder
averages.

A wave vector q is commensurate with the MD cell (rows a_i) when q.a_i / (2 pi) is an integer for every i: only then
is rho(q) of a periodic run a property of the crystal rather than of where the atoms were wrapped. In reduced
coordinates of the primitive cell that is ``S q`` integral, with S the MD cell on the primitive cell
(``cell = S @ primitive.cell``), as :func:`trajmodes.lattice.qpoints.commensurate_mask` tests.
"""
from __future__ import annotations

import numpy as np

from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.qpoints import commensurate_mask
from trajmodes.lattice.spglib_calls import SYMPREC

__all__ = ["primitive_of", "supercell_matrix", "cartesian_qpoints", "path_qpoints", "spherical_qpoints",
           "shell_average"]

TWO_PI = 2 * np.pi
#: largest relative misfit between the MD cell and an integer supercell of the primitive cell (as the projection's)
LATTICE_TOL = 0.05


def primitive_of(reference, masses=None, symprec: float = SYMPREC) -> Crystal:
    """The primitive cell (spglib) of a reference structure (:class:`trajmodes.Structure`), in its frame.

    A reference that is an MD snapshot (thermal noise) is searched at the tolerance that shows its lattice
    (:func:`trajmodes.lattice.ideal.ideal_crystal`); only the primitive lattice matters for the q-points. ``masses``
    (amu) are only labels for the symmetry search; default the structure's, else ones.
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
            ideal, tol = ideal_crystal(crystal, symprec, allow_p1=True)
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
    """The integer matrix S with ``cell = S @ primitive_cell`` (rows are lattice vectors, Angstrom), allowing a strain
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
    """Cartesian wave vectors (rad/Angstrom, 2 pi included) of ``qpoints``, checked commensurate with the MD cell.

    Parameters
    ----------
    qpoints : array_like (nq, 3)
        Reduced coordinates of the primitive reciprocal lattice without 2 pi (``cartesian=False``), or Cartesian
        rad/Angstrom.
    cell : array_like (3, 3)
        The MD cell, rows in Angstrom.
    primitive_cell : array_like (3, 3), optional
        Rows of the primitive cell, Angstrom; required for reduced q, which refer to the primitive lattice of the MD
        cell itself (``inv(S) @ cell``: the primitive cell strained onto the MD cell).
    cartesian : bool
        Whether ``qpoints`` are Cartesian.

    Raises
    ------
    ValueError
        Naming the first q that is not commensurate with the MD cell and the nearest commensurate q, in the
        coordinates it was given in.
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
        bad = ~commensurate_mask(q / TWO_PI, cell)
        near = TWO_PI * np.rint(q / TWO_PI @ cell.T) @ np.linalg.inv(cell).T
        what, how = "Cartesian, rad/Angstrom", "the commensurate q are 2 pi m @ inv(cell).T for integer m"
    else:
        if primitive_cell is None:
            raise ValueError("reduced q-points need the primitive cell (primitive=), or give Cartesian q with "
                             "cartesian=True")
        S = supercell_matrix(cell, primitive_cell)
        bad = ~commensurate_mask(q, S)
        near = np.rint(q @ S.T) @ np.linalg.inv(S).T
        what = "reduced, primitive reciprocal lattice"
        how = f"the commensurate q are S^-1 m for integer m, with S = {S.tolist()} the MD cell on the primitive cell"
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{int(bad.sum())} of {len(q)} q-points are not commensurate with the MD cell: q-point {i}, "
                         f"{_fmt(q[i])} ({what}); the nearest commensurate q is {_fmt(near[i])}. Rho(q) of a periodic "
                         f"run is defined only there: {how} (path_qpoints and spherical_qpoints give them)")
    if cartesian:
        return q.copy()
    plat = np.linalg.solve(S.astype(float), cell)          # the primitive lattice of the MD cell (strained)
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
        The MD cell, rows in Angstrom.
    pieces, labels : optional
        Connected pieces of the path (list of (n_nodes, 3) reduced q) and their node labels; default the
        high-symmetry path of :func:`trajmodes.lattice.paths.default_path`.

    Returns
    -------
    qpoints : ndarray (n, 3)
        Reduced q (primitive reciprocal lattice, no 2 pi); a node shared by two segments appears once.
    distance : ndarray (n,)
        Path length in 1/Angstrom without 2 pi (as the band structures'), no jump across breaks.
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


def spherical_qpoints(cell, q_max: float, n_shells: int = 20, max_per_shell: int | None = None, seed: int = 0):
    """Every Cartesian q commensurate with the MD cell with 0 < |q| <= ``q_max``, sorted into |q| shells.

    Parameters
    ----------
    cell : array_like (3, 3)
        The MD cell, rows in Angstrom.
    q_max : float
        rad/Angstrom.
    n_shells : int
        Shells of equal width in |q| between 0 and ``q_max``.
    max_per_shell : int, optional
        Keep at most this many q of a shell, drawn at random (``seed``) when it holds more.

    Returns
    -------
    qpoints : ndarray (n, 3)
        Cartesian, rad/Angstrom (for ``cartesian=True``), sorted by |q|.
    shell : ndarray of int (n,)
        The shell of every q, 0 .. n_shells - 1.
    edges : ndarray (n_shells + 1,)
        Shell edges in |q|, rad/Angstrom.
    """
    cell = np.asarray(cell, float)
    if not q_max > 0 or n_shells < 1:
        raise ValueError(f"q_max must be positive and n_shells at least 1 (got {q_max}, {n_shells})")
    bound = np.floor(q_max * np.linalg.norm(cell, axis=1) / TWO_PI).astype(int)   # |m_i| <= |q| |a_i| / 2 pi
    axes = [np.arange(-n, n + 1) for n in bound]
    m = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    q = TWO_PI * m @ np.linalg.inv(cell).T
    norm = np.linalg.norm(q, axis=1)
    keep = (norm > 1e-12) & (norm <= q_max * (1 + 1e-12))
    q, norm = q[keep], norm[keep]
    edges = np.linspace(0.0, q_max, n_shells + 1)
    shell = np.clip(np.searchsorted(edges, norm, side="left") - 1, 0, n_shells - 1)
    if max_per_shell is not None:
        rng = np.random.default_rng(seed)
        pick = []
        for s in range(n_shells):
            idx = np.flatnonzero(shell == s)
            pick.append(idx if len(idx) <= max_per_shell else rng.choice(idx, max_per_shell, replace=False))
        sel = np.concatenate(pick)
        q, norm, shell = q[sel], norm[sel], shell[sel]
    order = np.lexsort((q[:, 2], q[:, 1], q[:, 0], norm))
    return q[order], shell[order], edges


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
        The variables over ``q_norm`` (shell centres, rad/Angstrom) instead of ``q``; ``n_qpoints`` the q per shell;
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
