"""Displacements from a reference crystal, the only place they are computed: :meth:`DisplacementMap.of_frames` (how a
block of frames maps onto the reference cell, fractional coordinates and the minimum image, NVT and NPT),
:func:`scatter_displacements` (the compiled pass of trajmodes/_projection.c that applies it, writing into any layout),
:func:`displacements_of_frames` (a block of frames' displacements), and :class:`Displacements` (those of one chunk of a
:class:`~trajmodes.trajectory.core.Trajectory`, from what its read task returns). The projection applies the same
map in its own pass (:func:`displacement_inputs`).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from trajmodes.lattice.structure import Structure


class DisplacementMap(NamedTuple):
    """How positions map to minimum-image displacements from a reference (:meth:`of_frames`), in the compiled
    scatter's terms: s = (r - p - o) A - s0, s -= round(s), u = s H0 (Angstrom)."""

    A: np.ndarray       #: (3, 3) for every frame, or (frames, 3, 3): inverse cells, 1/Angstrom
    o: np.ndarray       #: (3,) or (frames, 3): origins, Angstrom
    p: np.ndarray       #: (atoms, 3) reference positions subtracted first, Angstrom, or empty (zero)
    s0: np.ndarray      #: (atoms, 3) reference fractional positions, or empty (zero)
    H0: np.ndarray      #: (3, 3) the reference cell, rows a, b, c, Angstrom

    def frames(self, sl: slice) -> "DisplacementMap":
        """The map of the frames ``sl`` of the block."""
        return self._replace(A=self.A[sl] if self.A.ndim == 3 else self.A, o=self.o[sl] if self.o.ndim == 2 else self.o)

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
        Positions (Angstrom) when ``dmap`` is given; any per-atom vector otherwise.
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


def displacements_of_frames(positions: np.ndarray, cells: np.ndarray, origins: np.ndarray, reference) -> np.ndarray:
    """Displacements of a block of frames from a reference crystal, through fractional coordinates.

    Each frame is mapped onto the reference cell: s(t) = (r(t) - o(t)) H(t)^-1 with the frame's own cell H(t)
    (rows a, b, c) and origin o(t); s0 likewise for the reference; u = [s(t) - s0 wrapped to the nearest image]
    H_ref. A uniformly strained perfect crystal (an NPT box that breathes) therefore has zero displacement, and
    in a fixed cell (NVT, NVE) u is the plain minimum-image difference r(t) - r0 (:meth:`DisplacementMap.of_frames`). Frames
    without a cell (NaN) use the reference cell; without any cell u = r(t) - r0.

    Parameters
    ----------
    positions : ndarray (frames, atoms, 3)
        Angstrom.
    cells : ndarray (frames, 3, 3)
        Angstrom, rows a, b, c (NaN for frames without a cell).
    origins : ndarray (frames, 3)
        Angstrom, the cell origin of every frame (LAMMPS' xlo ylo zlo).
    reference : Structure
        The reference crystal: ``positions`` (atoms, 3), ``cell`` (3, 3) or None, ``origin`` (3,).

    Returns
    -------
    ndarray (frames, atoms, 3)
        Angstrom, in the reference cell's frame.
    """
    return apply_displacement_map(*displacement_inputs(positions, cells, origins, reference))


def apply_displacement_map(x: np.ndarray, dmap: DisplacementMap | None) -> np.ndarray:
    """The displacements (frames, atoms, 3) from what :func:`displacement_inputs` returns: ``x`` itself without a
    map, else the map applied to the positions ``x`` in one compiled pass."""
    x = np.asarray(x, dtype=float)
    return x if dmap is None else scatter_displacements(x, np.empty(x.shape), 3 * np.arange(x.shape[1]), 1, dmap=dmap)


def displacement_inputs(positions: np.ndarray, cells: np.ndarray, origins: np.ndarray, reference,
                        s0: np.ndarray | None = None) -> tuple[np.ndarray, DisplacementMap | None]:
    """What :func:`displacements_of_frames` applies, for a consumer that applies it in its own pass over the frames
    (:func:`scatter_displacements`): (positions, their :class:`DisplacementMap`), or (r(t) - r0, None) when the reference
    has no cell. ``s0`` as in :meth:`DisplacementMap.of_frames`."""
    pos = np.asarray(positions, dtype=float)
    dmap = DisplacementMap.of_frames(cells, origins, reference, s0)
    return (pos - reference.positions[None], None) if dmap is None else (pos, dmap)


class Displacements:
    """Displacements of one chunk from the dict its read task returns (:meth:`Trajectory.map_chunks`): the
    displacements the source stores (a cache written with them), else :func:`displacements_of_frames` of its positions,
    cells and origins. Picklable, so tasks that hold it run on any Dask scheduler."""

    def __init__(self, reference: Structure, stored: bool, has_cell: bool):
        self.reference, self.stored, self.has_cell = reference, stored, has_cell
        self._s0 = None                    # the reference's fractional positions, once a chunk needs them

    def __call__(self, data: dict) -> np.ndarray:
        return apply_displacement_map(*self.inputs(data))

    def inputs(self, data: dict) -> tuple[np.ndarray, DisplacementMap | None]:
        """:func:`displacement_inputs` of the chunk: (positions, map), or (displacements, None) where the source
        stores them or there is no cell."""
        if self.stored:
            return data["displacements"], None
        pos = data["positions"]
        cells = data["cells"] if self.has_cell else np.full((len(pos), 3, 3), np.nan)
        if self._s0 is None and self.reference.cell is not None:
            self._s0 = self.reference.scaled_positions
        return displacement_inputs(pos, cells, data["origins"], self.reference, self._s0)


__all__ = ["displacements_of_frames", "apply_displacement_map", "displacement_inputs",
           "DisplacementMap", "scatter_displacements", "Displacements"]
