"""The contract every trajectory reader fulfils.

A *frame source* is a small, picklable object describing one trajectory on
disk (or in an MDAnalysis Universe).  It knows the number of frames, the
atoms, and the time of each frame without holding any coordinates, and it
reads any set of frames on demand.  :class:`trajmodes.Trajectory` turns a
source into Dask arrays whose tasks call :meth:`FrameSource.read` on blocks of
frames, so a source must be safe to call from several threads at once and
must survive pickling to a ``dask.distributed`` worker (open files inside
:meth:`read`, never in ``__init__``-held handles that cannot pickle).
"""
from __future__ import annotations

import numpy as np

#: per-atom vector fields a source may provide, in metal units
FIELDS = ("positions", "velocities", "forces")
FIELD_UNITS = {"positions": "Angstrom", "velocities": "Angstrom/ps", "forces": "eV/Angstrom",
               "displacements": "Angstrom", "cells": "Angstrom", "origins": "Angstrom",
               "times": "ps", "masses": "amu"}


class FrameSource:
    """Base class of the readers.

    Attributes every subclass sets
    ------------------------------
    paths : list[str]
        Files read (for messages and the cache's provenance).
    n_frames : int
        Number of frames (after dropping restart duplicates and a truncated last frame).
    n_atoms : int
    species : ndarray of str, shape (n_atoms,)
        Element symbols, or LAMMPS type numbers as strings when the file has no elements.
    masses : ndarray (n_atoms,) in amu, or None when unknown.
    ids : ndarray of int (n_atoms,)
        Atom ids in the order of the atom axis (ascending).
    steps : ndarray of int (n_frames,)
        MD step of every frame (the frame index when the format has none).
    times : ndarray of float (n_frames,)
        Time of every frame in ps.
    fields : tuple[str, ...]
        Which of ``FIELDS`` the file provides.
    has_cell : bool
        Whether frames carry a periodic cell.
    unwrapped : bool
        Whether ``positions`` are continuous in time (unwrapped coordinates or
        image flags applied) rather than wrapped into the box.
    units : str
        The unit style the file was written in (data are converted to metal).
    md_timestep : float or None
        The MD integration step in ps, when known (:mod:`trajmodes.io.times`).
    time_axis : str
        Where the frame times came from, in words (starts with ``ASSUMED`` when nothing stated them).
    """

    paths: list
    n_frames: int
    n_atoms: int
    species: np.ndarray
    masses: np.ndarray | None
    ids: np.ndarray
    steps: np.ndarray
    times: np.ndarray
    fields: tuple
    has_cell: bool = True
    unwrapped: bool = False
    units: str = "metal"
    format: str = ""
    md_timestep: float | None = None
    time_axis: str = "unknown"
    #: LAMMPS atom types in id order, where the format has them (checked against a data-file reference)
    types: np.ndarray | None = None

    def read(self, frames: np.ndarray, fields=None) -> dict:
        """Read frames by their index (0 .. n_frames-1, ascending).

        ``fields`` (a subset of :attr:`fields`; None for all) lets a source skip the work
        for fields nobody asked for; a source may return more than asked.

        Returns
        -------
        dict
            ``"positions"``, ``"velocities"``, ``"forces"``: float64 arrays of shape
            (len(frames), n_atoms, 3) in metal units, atoms in id order, present
            for the fields the source provides; ``"cells"``: (len(frames), 3, 3),
            rows a, b, c in Angstrom (NaN when the format has no cell);
            ``"origins"``: (len(frames), 3) cell origins in Angstrom.
        """
        raise NotImplementedError

    def token(self) -> tuple:
        """A value that identifies the data read (paths, sizes, mtimes), for Dask task names."""
        raise NotImplementedError

    def describe(self) -> str:
        """One line naming the source, for messages."""
        return f"{self.format} {', '.join(map(str, self.paths))}"


def empty_frames(n: int, n_atoms: int, fields) -> dict:
    """Uninitialised output arrays for ``n`` frames."""
    out = {f: np.empty((n, n_atoms, 3)) for f in fields}
    out["cells"] = np.full((n, 3, 3), np.nan)
    out["origins"] = np.zeros((n, 3))
    return out
