"""Displacements from a reference crystal, the only place they are computed: :meth:`DisplacementMap.of_frames` (how a
block of frames maps onto the reference cell, fractional coordinates and the minimum image, NVT and NPT),
:func:`scatter_displacements` (the compiled pass of trajmodes/_projection.c that applies it, writing into any layout),
:func:`displacements_of_frames` (a block of frames' displacements), and :class:`Displacements` (those of one chunk of a
:class:`~trajmodes.trajectory.core.Trajectory`, from what its read task returns). The projection applies the same
map in its own pass (:func:`displacement_inputs`).

A crystal that moves as a whole (a run whose total momentum is not zero: LAMMPS' ``velocity create`` without ``mom
yes``, a Langevin thermostat without ``zero yes``) is carried away from the reference's sites, and past half a cell
width its minimum-image displacements wrap. With ``drift="removed"`` its rigid translation is taken out frame by frame
(:meth:`DisplacementMap.drift`, :func:`remove_drift`): the mass-weighted mean of the minimum images about one atom's,
folded into the map's origins so that the same compiled pass writes u(t) = wrap(r(t) - r0 - s(t)), centred on the
crystal's own position. Chunk-local (no state across chunks) and exact while every atom stays within half a cell width
of its site less the drift; a uniform translation exerts no force (the acoustic sum rule), so the constants fitted from
such displacements are those of the crystal standing still.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from trajmodes.lattice.structure import Structure


class DisplacementMap(NamedTuple):
    """How positions map to minimum-image displacements from a reference (:meth:`of_frames`), in the compiled
    scatter's terms: s = (r - p - o) A - s0, s -= round(s), u = s H0 (Å)."""

    A: np.ndarray       #: (3, 3) for every frame, or (frames, 3, 3): inverse cells, 1/Angstrom
    o: np.ndarray       #: (3,) or (frames, 3): origins, Angstrom
    p: np.ndarray       #: (atoms, 3) reference positions subtracted first, Angstrom, or empty (zero)
    s0: np.ndarray      #: (atoms, 3) reference fractional positions, or empty (zero)
    H0: np.ndarray      #: (3, 3) the reference cell, rows a, b, c, Angstrom

    def frames(self, sl: slice) -> "DisplacementMap":
        """The map of the frames ``sl`` of the block."""
        return self._replace(A=self.A[sl] if self.A.ndim == 3 else self.A, o=self.o[sl] if self.o.ndim == 2 else self.o)

    def drift(self, x: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
        """The rigid translation of the crystal in each frame of the positions ``x`` (frames, atoms, 3) Å, in the
        fractional coordinates of the frame's cell, (frames, 3): the ``weight``-weighted (masses, amu; None: equal)
        mean of the atoms' minimum-image fractional displacements about atom 0's, one compiled pass over the block
        (trajmodes/_projection.c ``drift``). Exact while every atom stays within half a cell width of its site less
        the drift (a crystal, not a liquid)."""
        from trajmodes import _projection
        x = np.ascontiguousarray(x, dtype=float)
        out = np.zeros((x.shape[0], 3))
        w = check_weight(weight, x.shape[1])
        if x.shape[0] == 0:
            return out
        w = np.empty(0) if w is None else np.ascontiguousarray(w)
        _projection.drift(x, x.shape[0], x.shape[1], self.A, self.o, self.p, self.s0, w, out)
        return out

    def shifted(self, drift: np.ndarray) -> "DisplacementMap":
        """This map with the fractional ``drift`` (frames, 3) of :meth:`drift` taken out of every frame: the origins
        moved by drift H(t), so that the compiled pass writes u = wrap(s - drift) H_ref."""
        drift = np.asarray(drift, dtype=float)
        cells = np.linalg.inv(self.A)
        move = drift @ cells if self.A.ndim == 2 else np.einsum("ta,tab->tb", drift, cells)
        return self._replace(o=np.ascontiguousarray(self.o + move))

    @classmethod
    def of_frames(cls, cells: np.ndarray, origins: np.ndarray, reference,
                  s0: np.ndarray | None = None) -> "DisplacementMap | None":
        """How :func:`displacements_of_frames` maps a block of frames onto the reference cell (``s0``: the reference's
        fractional positions where the caller keeps them, computed otherwise: 15 ms at 10^6 atoms).

        s(t) = (r(t) - p - o(t)) A(t) - s0 is the fractional position relative to the reference site, wrapped to the
        nearest image, and u = s H_ref. In the reference cell (NVT, NVE): A = H_ref^-1, o = 0, p = r0, s0 = 0 (the
        plain difference r(t) - r0 first, for precision); otherwise A(t) = H(t)^-1 with the frame's own cell (rows a,
        b, c; frames without a cell take the reference cell), o(t) the frame's origin, p = 0 and s0 the reference's
        fractional positions.

        Returns
        -------
        DisplacementMap, or None when the reference has no cell (u = r(t) - r0, no minimum image).
        """
        H0 = reference.cell
        if H0 is None:
            return None
        H0 = np.ascontiguousarray(H0, dtype=float)
        cells = np.array(cells, dtype=float)
        origins = np.ascontiguousarray(origins, dtype=float)
        bad = ~np.isfinite(cells).all(axis=(1, 2))
        if bad.any():
            cells[bad] = H0
        inv0 = np.linalg.inv(H0)
        none = np.empty(0)
        if np.all(cells == H0) and np.all(origins == reference.origin):
            return cls(inv0, np.zeros(3), np.ascontiguousarray(reference.positions, dtype=float), none, H0)
        s0 = np.ascontiguousarray((reference.positions - reference.origin) @ inv0 if s0 is None else s0)
        if np.all(cells == cells[0]):
            return cls(np.linalg.inv(cells[0]), origins, none, s0, H0)
        return cls(np.ascontiguousarray(np.linalg.inv(cells)), origins, none, s0, H0)


def scatter_displacements(x: np.ndarray, out: np.ndarray, dest: np.ndarray, astride: int,
                          weight: np.ndarray | None = None, dmap: DisplacementMap | None = None) -> np.ndarray:
    """Write the per-atom vectors of a block of frames (times ``weight``) into ``out`` in any atom order and layout.

    ``out.reshape(frames, -1)[t, dest[j] + a * astride] = weight[j] * y[t, j, a]`` where y is ``x`` itself, or its
    minimum-image displacement when ``dmap`` (:meth:`DisplacementMap.of_frames` of these frames) is given; one
    compiled pass over the block that releases the GIL.

    Parameters
    ----------
    x : ndarray (frames, atoms, 3)
        Positions (Å) when ``dmap`` is given; any per-atom vector otherwise.
    out : ndarray, C-contiguous float64, ``frames`` rows of equal size
        Written where ``dest`` says (the rest untouched).
    dest, astride : int64 (atoms,), int
        Offset of atom j's first component within a frame's row, and the step between its components.
    weight : ndarray (atoms,), optional
    """
    from trajmodes import _projection
    x = np.ascontiguousarray(x, dtype=float)
    f, n = x.shape[0], x.shape[1]
    if f == 0:
        return out
    if not (out.flags.c_contiguous and out.dtype == np.float64):
        raise ValueError("scatter_displacements writes into a C-contiguous float64 array")
    A, o, p, s0, H0 = dmap if dmap is not None else (np.empty(0),) * 5
    w = np.empty(0) if weight is None else np.ascontiguousarray(weight, dtype=float)
    _projection.scatter(x, f, n, A, o, p, s0, H0, np.ascontiguousarray(dest, dtype=np.int64), int(astride),
                        out.size // f, w, out)
    return out


#: how displacements treat the crystal's rigid drift (:func:`displacements_of_frames`)
DRIFT_MODES = ("kept", "removed", "followed")


def check_drift(drift: str) -> str:
    """``drift`` if it is one of :data:`DRIFT_MODES`, else a ValueError saying which are."""
    if drift not in DRIFT_MODES:
        raise ValueError(f"drift={drift!r}: give one of {', '.join(map(repr, DRIFT_MODES))} (keep the crystal's drift "
                         "as a whole in the minimum images, take it out of every frame, or keep it with the atoms "
                         "wrapped about the crystal's own position)")
    return drift


def check_weight(weight, n_atoms: int) -> np.ndarray | None:
    """The weights of the crystal's drift (``weight`` (atoms,) amu: the atoms' masses) as a float array, None for equal
    weights; a ValueError where they are not one finite, non-negative value per atom with a positive sum."""
    if weight is None:
        return None
    w = np.asarray(weight, dtype=float)
    if w.shape != (n_atoms,):
        raise ValueError(f"the weights of the crystal's drift have shape {w.shape} for {n_atoms} atoms: give one mass "
                         "(amu) per atom, in the atoms' order (None: equal weights)")
    if not np.isfinite(w).all() or (w < 0).any() or not w.sum() > 0:
        bad = int(np.flatnonzero(~np.isfinite(w) | (w < 0))[0]) if (~np.isfinite(w) | (w < 0)).any() else None
        raise ValueError("the weights of the crystal's drift (the atoms' masses, amu) must be finite, non-negative and "
                         "not all zero" + (f": atom {bad} has {w[bad]}" if bad is not None else ": all are zero") +
                         "; give the masses (trajmodes.read(..., masses=), a reference with its Masses section)")
    return w


def check_reference_atoms(reference, n_atoms: int) -> None:
    """A ValueError where the ``reference`` crystal has not the ``n_atoms`` atoms of the frames measured from it."""
    n = len(reference.positions)
    if n != n_atoms:
        raise ValueError(f"the reference crystal has {n} atoms and the frames {n_atoms}: displacements are measured "
                         "atom by atom, from a reference of the same atoms in the same order (the run's data file, "
                         "its first frame, or its time average)")


def displacement_drift(u: np.ndarray, cell: np.ndarray | None, weight: np.ndarray | None = None) -> np.ndarray:
    """The crystal's rigid translation in each frame of the displacements ``u`` (frames, atoms, 3) Å, (frames, 3) Å, as
    :meth:`DisplacementMap.drift` finds it from positions: in the periodic ``cell`` (3, 3) Å (rows a, b, c) the
    ``weight``-weighted (masses, amu; None: equal) mean of the atoms' minimum images about atom 0's; without a cell
    (None) the plain weighted mean. For displacements stored or held in memory (numpy; the positions' pass is
    compiled)."""
    u = np.asarray(u, dtype=float)
    w = check_weight(weight, u.shape[1])
    w = np.full(u.shape[1], 1.0 / max(u.shape[1], 1)) if w is None else w / w.sum()
    if cell is None:
        return np.einsum("j,tja->ta", w, u)
    cell = np.asarray(cell, dtype=float)
    s = u @ np.linalg.inv(cell)
    c = s[:, :1] - np.rint(s[:, :1])
    d = s - c
    d -= np.rint(d)
    return (c[:, 0] + np.einsum("j,tja->ta", w, d)) @ cell


def remove_drift(u: np.ndarray, cell: np.ndarray | None, weight: np.ndarray | None = None,
                 drift: str = "removed") -> np.ndarray:
    """Displacements ``u`` (frames, atoms, 3) A with the crystal's rigid translation in each frame
    (:func:`displacement_drift`, same ``cell`` and ``weight``) taken out and every displacement wrapped again about it
    (``drift="removed"``), or that translation added back to them (``"followed"``; ``"kept"``: ``u`` itself)."""
    u = np.asarray(u, dtype=float)
    if check_drift(drift) == "kept":
        return u
    s = displacement_drift(u, cell, weight)
    d = u - s[:, None]
    if cell is not None:
        cell = np.asarray(cell, dtype=float)
        f = d @ np.linalg.inv(cell)
        d = (f - np.rint(f)) @ cell
    return d if drift == "removed" else d + s[:, None]


def displacements_of_frames(positions: np.ndarray, cells: np.ndarray, origins: np.ndarray, reference,
                            drift: str = "kept", weight: np.ndarray | None = None) -> np.ndarray:
    """Displacements of a block of frames from a reference crystal, through fractional coordinates.

    Each frame is mapped onto the reference cell: s(t) = (r(t) - o(t)) H(t)^-1 with the frame's own cell H(t)
    (rows a, b, c) and origin o(t); s0 likewise for the reference; u = [s(t) - s0 wrapped to the nearest image]
    H_ref. A uniformly strained perfect crystal (an NPT box that breathes) therefore has zero displacement, and
    in a fixed cell (NVT, NVE) u is the plain minimum-image difference r(t) - r0 (:meth:`DisplacementMap.of_frames`). Frames
    without a cell (NaN) use the reference cell; without any cell u = r(t) - r0.

    Parameters
    ----------
    positions : ndarray (frames, atoms, 3)
        Å.
    cells : ndarray (frames, 3, 3)
        Å, rows a, b, c (NaN for frames without a cell).
    origins : ndarray (frames, 3)
        Å, the cell origin of every frame (LAMMPS' xlo ylo zlo).
    reference : Structure
        The reference crystal: ``positions`` (atoms, 3), ``cell`` (3, 3) or None, ``origin`` (3,).
    drift : str
        The crystal's rigid translation in each frame (module docstring; weighted by ``weight`` (atoms,) amu, None:
        the reference's masses, equal where it has none): "kept" in the minimum images about each atom's site (they
        wrap once it passes half a cell width less the atom's own excursion), "removed" (u = wrap(r - r0 - s) with
        s the drift), or "followed" (wrap(r - r0 - s) + s: the minimum images while the drift is small, one crystal
        beyond; for averages).

    Returns
    -------
    ndarray (frames, atoms, 3)
        Å, in the reference cell's frame.
    """
    if check_drift(drift) != "kept" and weight is None:
        weight = reference.masses
    return _with_drift(*displacement_inputs(positions, cells, origins, reference), drift, weight)


def _with_drift(x: np.ndarray, dmap: DisplacementMap | None, drift: str, weight: np.ndarray | None) -> np.ndarray:
    """The displacements of what :func:`displacement_inputs` returns (with the drift kept), the drift as ``drift``
    says (weights ``weight``, None: equal)."""
    if dmap is None:
        return remove_drift(x, None, weight, drift)
    if drift == "kept":
        return apply_displacement_map(x, dmap)
    shift = dmap.drift(x, weight)
    u = apply_displacement_map(x, dmap.shifted(shift))
    return u if drift == "removed" else u + (shift @ dmap.H0)[:, None]


def apply_displacement_map(x: np.ndarray, dmap: DisplacementMap | None) -> np.ndarray:
    """The displacements (frames, atoms, 3) from what :func:`displacement_inputs` returns: ``x`` itself without a
    map, else the map applied to the positions ``x`` in one compiled pass."""
    x = np.asarray(x, dtype=float)
    return x if dmap is None else scatter_displacements(x, np.empty(x.shape), 3 * np.arange(x.shape[1]), 1, dmap=dmap)


def displacement_inputs(positions: np.ndarray, cells: np.ndarray, origins: np.ndarray, reference,
                        s0: np.ndarray | None = None, drift_weight=False) -> tuple[np.ndarray, DisplacementMap | None]:
    """What :func:`displacements_of_frames` applies, for a consumer that applies it in its own pass over the frames
    (:func:`scatter_displacements`): (positions, their :class:`DisplacementMap`), or (r(t) - r0, None) when the reference
    has no cell. ``s0`` as in :meth:`DisplacementMap.of_frames`; ``drift_weight``: False to keep the crystal's rigid
    drift, else the atoms' weights (amu; None: equal) with which it is taken out (:meth:`DisplacementMap.drift`, folded
    into the map; without a cell the weighted mean of r(t) - r0)."""
    pos = np.asarray(positions, dtype=float)
    check_reference_atoms(reference, pos.shape[1])
    dmap = DisplacementMap.of_frames(cells, origins, reference, s0)
    if dmap is None:
        u = pos - reference.positions[None]
        return (u if drift_weight is False else remove_drift(u, None, drift_weight)), None
    if drift_weight is not False:
        dmap = dmap.shifted(dmap.drift(pos, drift_weight))
    return pos, dmap


class Displacements:
    """Displacements of one chunk from the dict its read task returns (:meth:`Trajectory.map_chunks`): the
    displacements the source stores (a cache written with them), else :func:`displacements_of_frames` of its positions,
    cells and origins, the crystal's drift treated as ``drift`` says (weighted by ``weight`` (atoms,) amu, None:
    equal). Picklable, so tasks that hold it run on any Dask scheduler."""

    def __init__(self, reference: Structure, stored: bool, has_cell: bool, drift: str = "kept",
                 weight: np.ndarray | None = None):
        self.reference, self.stored, self.has_cell = reference, stored, has_cell
        self.drift, self.weight = check_drift(drift), check_weight(weight, len(reference.positions))
        self._s0 = None                    # the reference's fractional positions, once a chunk needs them

    def __call__(self, data: dict) -> np.ndarray:
        if self.stored:
            return remove_drift(data["displacements"], self.reference.cell, self.weight, self.drift)
        pos, cells = self._frames(data)
        return _with_drift(*displacement_inputs(pos, cells, data["origins"], self.reference, self._s0), self.drift,
                           self.weight)

    def inputs(self, data: dict) -> tuple[np.ndarray, DisplacementMap | None]:
        """:func:`displacement_inputs` of the chunk: (positions, map), or (displacements, None) where the source
        stores them or there is no cell; the drift "kept" or "removed" (folded into the map)."""
        if self.drift == "followed":
            raise ValueError("Displacements.inputs gives the drift kept or removed; call the object for 'followed'")
        if self.stored:
            return remove_drift(data["displacements"], self.reference.cell, self.weight, self.drift), None
        pos, cells = self._frames(data)
        return displacement_inputs(pos, cells, data["origins"], self.reference, self._s0,
                                   False if self.drift == "kept" else self.weight)

    def _frames(self, data: dict) -> tuple[np.ndarray, np.ndarray]:
        pos = data["positions"]
        cells = data["cells"] if self.has_cell else np.full((len(pos), 3, 3), np.nan)
        if self._s0 is None and self.reference.cell is not None:
            self._s0 = self.reference.scaled_positions
        return pos, cells


__all__ = ["displacements_of_frames", "apply_displacement_map", "displacement_inputs", "remove_drift",
           "displacement_drift", "check_drift", "check_weight", "check_reference_atoms", "DRIFT_MODES",
           "DisplacementMap", "scatter_displacements", "Displacements"]
