"""Frame source for any trajectory MDAnalysis reads (DCD, XTC, TRR, NetCDF, H5MD, ...).

MDAnalysis' base units are Angstrom, ps and kJ/mol: positions and cells are
used as they are, velocities (A/ps) too, forces are converted from
kJ/(mol A) to eV/A.
"""
from __future__ import annotations

import os
import threading
import uuid
import warnings

import numpy as np

from trajmodes import units as _units
from trajmodes.errors import TrajectoryFormatError, TruncatedFrameWarning, UnitsWarning
from trajmodes.io.base import FrameSource, empty_frames


def _universe(universe_or_paths, format, kwargs):
    """An MDAnalysis Universe from a Universe or (topology, trajectory...) paths."""
    import MDAnalysis as mda

    if isinstance(universe_or_paths, mda.Universe):
        return universe_or_paths
    paths = universe_or_paths
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    for p in paths:
        if not os.path.exists(p):
            raise TrajectoryFormatError(p, "file does not exist",
                                        fix="check the path and the working directory")
    if format is not None:
        kwargs = dict(kwargs, format=format)
    return mda.Universe(*paths, **kwargs)


def _files(u) -> list[str]:
    """Existing files behind a Universe (topology and trajectory)."""
    names = [getattr(u, "filename", None)]
    tf = getattr(u.trajectory, "filename", None)
    names += list(tf) if isinstance(tf, (list, tuple)) else [tf]
    names += list(getattr(u.trajectory, "filenames", []) or [])
    out = []
    for n in names:
        if isinstance(n, (str, os.PathLike)) and os.path.isfile(n):
            a = os.path.abspath(os.fspath(n))
            if a not in out:
                out.append(a)
    return out


class MDAnalysisSource(FrameSource):
    """Frames of an MDAnalysis Universe, in trajmodes' units and id order.

    Parameters
    ----------
    universe_or_paths : MDAnalysis.Universe, str or sequence of str
        A Universe, or the topology and trajectory file(s) to open one from.
    format : str, optional
        Trajectory format passed to ``MDAnalysis.Universe`` (e.g. ``"LAMMPSDUMP"``).
    frame_interval : float, optional
        Time between frames in ps; overrides the trajectory's ``dt`` (times become ``frame * frame_interval``).
    md_timestep : float, optional
        Refused: MDAnalysis gives no MD step numbers (use ``frame_interval``).
    units, lj_scales : optional
        LAMMPS unit style of the numbers when the MDAnalysis reader does not
        convert them itself (its ``units`` declare no force unit), e.g. a LAMMPS
        dump read by MDAnalysis (assumed ``"metal"`` with a warning if not given).
    **universe_kwargs
        Passed to ``MDAnalysis.Universe`` when paths are given.

    Notes
    -----
    Positions and cells in Angstrom, velocities in A/ps, forces converted from
    MDAnalysis' kJ/(mol A) to eV/A (for readers that convert to MDAnalysis base
    units, and for in-memory data, which MDAnalysis holds in base units).
    Species are ``atoms.elements`` when present, else
    ``atoms.types``; masses are ``atoms.masses`` (None when all zero, or all 1.0
    without elements: MDAnalysis' guess for LAMMPS types).
    ``read`` is serialised by a lock (MDAnalysis readers keep one file position).
    """

    unwrapped = False
    units = "metal"

    def __init__(self, universe_or_paths, *, format: str | None = None,
                 frame_interval: float | None = None, md_timestep: float | None = None, units: str | None = None,
                 lj_scales: dict | None = None, **universe_kwargs):
        self.universe = _universe(universe_or_paths, format, universe_kwargs)
        self._lock = threading.Lock()
        u, traj = self.universe, self.universe.trajectory
        self._factors = self._unit_factors(units, lj_scales)
        self.paths = _files(u) or [f"<{type(traj).__name__}>"]
        self.format = f"MDAnalysis {getattr(traj, 'format', type(traj).__name__)}"
        self._uid = uuid.uuid4().hex  # identifies in-memory trajectories
        self.n_frames = len(traj)
        self.n_atoms = len(u.atoms)
        self._atoms()
        with self._lock:
            self._check_last_xdr()
            ts = traj[0]
            t0 = float(ts.time)
            self.has_cell = ts.dimensions is not None and bool(np.all(ts.dimensions[:3] > 0))
            self.fields = ("positions",) + (("velocities",) if ts.has_velocities else ()) \
                + (("forces",) if ts.has_forces else ())
        self.steps = np.arange(self.n_frames)
        self._times(t0, frame_interval, md_timestep)

    def _check_last_xdr(self) -> None:
        """Drop a GROMACS .trr/.xtc frame the run was killed while writing, with a :class:`TruncatedFrameWarning`.

        MDAnalysis indexes such a file by its frame headers: a frame cut inside its data is counted (and raises a
        bare ``OSError`` only when read), one cut inside its header is left out silently. So the last frame is read
        once on opening (one seek, not a pass over the file): if it cannot be, it is the cut one; if it can, the
        file must end where it ends, or the bytes after it are the start of a cut frame.
        """
        from MDAnalysis.coordinates.XDR import XDRBaseReader
        traj = self.universe.trajectory
        if not isinstance(traj, XDRBaseReader) or self.n_frames == 0:
            return
        path = os.path.abspath(traj.filename)
        xdr = getattr(traj, "_xdr", None)   # MDAnalysis' XDR file: no public way to the byte where a frame ends
        if xdr is None:
            return
        k = self.n_frames - 1
        try:
            xdr.seek(k)
            xdr.read()
        except (OSError, StopIteration) as exc:
            if k == 0:
                raise TrajectoryFormatError(path, f"its only frame cannot be read ({exc})", frame=0,
                                            fix="the file is truncated or damaged: write it again") from None
            warnings.warn(f"{path}: frame {k} cannot be read ({exc}) and was dropped: the file is probably truncated "
                          "(a run killed while writing it)", TruncatedFrameWarning, stacklevel=4)
            self.n_frames = k
            return
        tell = getattr(xdr, "_bytes_tell", None)
        extra = 0 if tell is None else os.path.getsize(path) - tell()
        if extra > 0:
            warnings.warn(f"{path}: frame {k + 1} is incomplete (truncated file: it ends {extra} bytes into that "
                          "frame) and was dropped", TruncatedFrameWarning, stacklevel=4)

    def _atoms(self) -> None:
        """Species, masses and ids (sorted) of the Universe's atoms."""
        atoms = self.universe.atoms
        species = None
        if hasattr(atoms, "elements"):
            el = np.asarray(atoms.elements, dtype=str)
            if len(el) and np.all(np.char.str_len(el) > 0):
                species = el
        has_elements = species is not None
        if species is None:
            species = np.asarray(atoms.types, dtype=str) if hasattr(atoms, "types") \
                else np.full(self.n_atoms, "X")
        masses = np.asarray(atoms.masses, dtype=float) if hasattr(atoms, "masses") else None
        guessed = masses is not None and not has_elements and np.all(masses == 1.0)
        masses = None if masses is None or not np.any(masses) or guessed else masses
        ids = np.asarray(atoms.ids, dtype=np.int64) if hasattr(atoms, "ids") \
            else np.arange(1, self.n_atoms + 1)
        self._order = np.argsort(ids, kind="stable")
        if np.all(self._order == np.arange(self.n_atoms)):
            self._order = None
        o = slice(None) if self._order is None else self._order
        self.ids, self.species = ids[o], species[o]
        self.masses = None if masses is None else masses[o]

    def _unit_factors(self, style: str | None, lj_scales: dict | None) -> tuple:
        """Factors (length, velocity, force) from the reader's numbers to metal units."""
        traj = self.universe.trajectory
        declared = (getattr(traj, "units", None) or {}).get("force") is not None
        if style is None and not declared and type(traj).__name__ == "DumpReader":
            warnings.warn("a LAMMPS dump read through MDAnalysis carries no units; assuming "
                          "'metal'. Pass units=<LAMMPS unit style>", UnitsWarning, stacklevel=4)
            style = "metal"
        if style is None or declared:
            self.units = "metal"
            return 1.0, 1.0, _units.KJMOL_EV
        c = _units.conversion(style, lj_scales)
        self.units = c.style
        return c.length, c.velocity, c.force

    def _times(self, t0: float, frame_interval: float | None, md_timestep: float | None) -> None:
        """Time of every frame in ps, the MD time step (unknown) and where the times came from."""
        from trajmodes.io.times import frame_times
        frames = np.arange(self.n_frames)
        if frame_interval is not None or md_timestep is not None:
            axis = frame_times(self.describe(), frames, md_timestep=md_timestep, frame_interval=frame_interval,
                               has_steps=False)
            self.times, self.md_timestep, self.time_axis = axis.times, None, axis.source
            return
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            dt = float(self.universe.trajectory.dt)
        assumed = any("dt" in str(w.message) or "time" in str(w.message).lower() for w in caught)
        if assumed and self.n_frames > 1:
            warnings.warn(f"{self.describe()}: the trajectory gives no time step; MDAnalysis ASSUMED dt={dt} ps. "
                          "Give frame_interval=<ps between frames> (--frame-interval): every frequency scales with "
                          "it", UnitsWarning, stacklevel=4)
        self.times = t0 + frames * dt
        self.md_timestep = None
        self.time_axis = (f"ASSUMED: MDAnalysis' default dt {dt:g} ps between frames" if assumed else
                          f"the trajectory's time step ({dt:g} ps between frames, read by MDAnalysis)")

    def read(self, frames, fields=None) -> dict:
        """Read frames by index; see :meth:`FrameSource.read`.

        Returns positions (A), velocities (A/ps), forces (eV/A), cells (A, rows a,
        b, c; NaN without a box) and origins (zeros), atoms in id order.
        """
        frames = np.asarray(frames, dtype=np.int64).ravel()
        out = empty_frames(len(frames), self.n_atoms, self.fields)
        o = slice(None) if self._order is None else self._order
        traj = self.universe.trajectory
        with self._lock:
            for i, k in enumerate(frames.tolist()):
                ts = traj[k]
                out["positions"][i] = ts.positions[o]
                if "velocities" in self.fields:
                    out["velocities"][i] = ts.velocities[o]
                if "forces" in self.fields:
                    out["forces"][i] = ts.forces[o]
                if self.has_cell and ts.dimensions is not None:
                    out["cells"][i] = ts.triclinic_dimensions
        length, velocity, force = self._factors
        for name, f in (("positions", length), ("cells", length), ("velocities", velocity),
                        ("forces", force)):
            if f != 1.0 and name in out:
                out[name] *= f
        return out

    def token(self) -> tuple:
        """(class name, files with size and mtime_ns) or a per-source id for in-memory data."""
        files = tuple((p, os.stat(p).st_size, os.stat(p).st_mtime_ns) for p in self.paths
                      if os.path.isfile(p))
        return (type(self).__name__, self.format, files or self._uid, self.n_frames,
                self.n_atoms)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
