"""Frame source for any trajectory MDAnalysis reads (DCD, XTC, TRR, NetCDF, H5MD, ...).

MDAnalysis' base units are Å, ps and kJ/mol: positions and cells are
used as they are, velocities (Å/ps) too, forces are converted from
kJ/(mol Å) to eV/Å.
"""
from __future__ import annotations

import os
import threading
import uuid
import warnings

import numpy as np

from trajmodes import units as _units
from trajmodes.errors import TrajectoryFormatError, TruncatedFrameWarning, UnitsWarning
from trajmodes.io.filesystem import read_head
from trajmodes.io.trajectories.base import FrameSource, empty_frames, refuse_lammps_options, refuse_several_files
from trajmodes.io.trajectories.netcdf import CACHE_FIX, describe_netcdf, is_netcdf


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
    try:
        return mda.Universe(*paths, **kwargs)
    except Exception:                       # MDAnalysis raises many types
        err = universe_error(paths[0], paths[1:]) if len(paths) > 1 else None
        if err is not None:
            raise err from None
        raise


def mda_units(units: str | None) -> str | None:
    """MDAnalysis readers that declare units convert themselves; None or 'metal' means 'as declared'."""
    return None if units in (None, "metal") else units


def universe_error(topology, trajectories) -> TrajectoryFormatError | None:
    """The error to raise when MDAnalysis cannot open a topology with its trajectory files for a reason it names
    poorly: a DCD cut inside its only frame ("opened empty file"), or a topology and trajectory files that hold
    different numbers of atoms (a message that names neither count nor file); None otherwise, or when the counts
    cannot be read on their own.

    Parameters
    ----------
    topology : str
        The topology file (PDB, GRO, TPR, PSF, a LAMMPS data file, ...).
    trajectories : sequence of str
        The trajectory files (TRR, XTC, DCD, ...).
    """
    import MDAnalysis as mda
    from MDAnalysis.coordinates.core import reader as mda_reader
    for t in trajectories:
        cut = _dcd_cut(os.fspath(t))
        if cut is not None:
            return TrajectoryFormatError(os.path.abspath(os.fspath(t)), f"its only frame is incomplete: the file ends "
                                                                        f"{cut[0]} bytes into it (a frame has {cut[1]})",
                                         frame=0, fix="the file is truncated (a run killed while writing it): write it "
                                                      "again")
    try:
        with warnings.catch_warnings():
            # a PDB without element columns: MDAnalysis said so when the run was opened, not again here
            warnings.filterwarnings("ignore", message="Element information is missing", category=UserWarning)
            n_top = len(mda.Universe(os.fspath(topology)).atoms)
    except Exception:
        return None
    for t in trajectories:
        try:
            with warnings.catch_warnings():
                # MDAnalysis' DCD reader announces its 3.0 change on every open; this one only counts the atoms
                warnings.filterwarnings("ignore", message="DCDReader currently makes independent timesteps",
                                        category=DeprecationWarning)
                r = mda_reader(os.fspath(t))
                n = int(r.n_atoms)
                r.close()
        except Exception:
            continue
        if n != n_top:
            return TrajectoryFormatError(
                os.path.abspath(os.fspath(t)), f"the trajectory holds {n} atoms per frame, but the topology "
                f"{os.path.abspath(os.fspath(topology))} has {n_top}: they do not describe the same system",
                fix="Give the topology written with this run (its atoms, in the order of the trajectory: the .tpr, "
                    ".gro or .pdb of the run) as topology= (--topology); for a trajectory of part of the system "
                    "(gmx trjconv of a group), the topology of that part")
    return None


def _dcd_cut(path: str) -> tuple[int, int] | None:
    """(bytes there are, bytes a frame has) of a DCD cut inside its first frame; None for any other file."""
    if not path.lower().endswith(".dcd"):
        return None
    from MDAnalysis.lib.formats.libdcd import DCDFile
    try:
        f = DCDFile(path)
        header, first, frames = int(f._header_size), int(f._firstframesize), int(f.n_frames)
        f.close()
        extra = os.path.getsize(path) - header
    except (AttributeError, OSError, TypeError, ValueError):
        return None
    return (extra, first) if frames == 0 and 0 < extra < first else None


def _files(u) -> list[str]:
    """Existing files behind a Universe (topology and trajectory)."""
    names = [getattr(u, "filename", None)]
    tf = getattr(u.trajectory, "filename", None)
    names += list(tf) if isinstance(tf, (list, tuple)) else [tf]
    chained = getattr(u.trajectory, "filenames", None)          # a ChainReader's files (a numpy array)
    names += list(chained) if chained is not None else []
    out = []
    for n in names:
        if isinstance(n, (str, os.PathLike)) and os.path.isfile(n):
            a = os.path.abspath(os.fspath(n))
            if a not in out:
                out.append(a)
    return out


#: MDAnalysis readers of formats that hold the time of every frame
HELD_TIMES = frozenset({"TRRReader", "XTCReader", "NCDFReader", "H5MDReader", "TNGReader", "TRZReader", "TRCReader"})
#: readers of formats that hold every frame's MD step, not its time (MDAnalysis multiplies it by its dt)
STEPS_ONLY = frozenset({"DumpReader"})
#: GROMACS' magic numbers of a .trr and a .xtc frame header
TRR_MAGIC, XTC_MAGIC = 1993, 1995


def _xdr_headers(reader, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Time (ps) and MD step of the first ``n`` frames of a .trr or .xtc, read from each frame's header at the byte
    offsets MDAnalysis indexed (a few bytes per frame, gathered by numpy, not a read of the frames); None for another
    reader, or a header that does not read as one.

    An .xtc frame header is four big-endian 32-bit words: magic (1995), atoms, step, time (float). A .trr header is
    the magic (1993), the version string ``GMX_trn_file`` (24 bytes with its two lengths), 13 integers (the sizes of
    ir, e, box, vir, pres, top, sym, x, v, f; atoms, step, nre), then time and lambda as floats of the frame's
    precision (doubles when the box or coordinate blocks hold 8-byte reals).
    """
    xdr = getattr(reader, "_xdr", None)             # MDAnalysis' XDR file: its frame offsets
    name = type(reader).__name__
    if xdr is None or name not in ("TRRReader", "XTCReader") or n == 0:
        return None
    try:
        offsets = np.asarray(xdr.offsets, np.int64)[:n]
        data = np.memmap(reader.filename, np.uint8, mode="r")
    except (AttributeError, OSError, ValueError):
        return None
    width = 16 if name == "XTCReader" else 88
    if len(offsets) < n or offsets.max() + width > len(data):
        return None
    times, steps = np.empty(n), np.empty(n, np.int64)
    block = 1 << 16
    for a in range(0, n, block):                     # frames in blocks: bounded memory for any count
        head = np.ascontiguousarray(data[offsets[a:a + block, None] + np.arange(width)])
        words = head.view(">i4")
        if name == "XTCReader":
            if (words[:, 0] != XTC_MAGIC).any():
                return None
            steps[a:a + block] = words[:, 2]
            times[a:a + block] = head[:, 12:16].copy().view(">f4")[:, 0]
            continue
        if (words[:, 0] != TRR_MAGIC).any():
            return None
        box, x, v, f, natoms = words[:, 8], words[:, 13], words[:, 14], words[:, 15], words[:, 16]
        real = np.where(box > 0, box // 9, np.where(x > 0, x, np.where(v > 0, v, f)) // np.maximum(3 * natoms, 1))
        if not np.isin(real, (4, 8)).all():
            return None
        steps[a:a + block] = words[:, 17]
        single = head[:, 76:80].copy().view(">f4")[:, 0].astype(float)
        double = head[:, 76:84].copy().view(">f8")[:, 0]
        times[a:a + block] = np.where(real == 8, double, single)
    return times, steps


def _evened(times: np.ndarray, steps: np.ndarray | None, what: str) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Frame times as a file holds them, rounded to single precision (.xtc, most .trr, AMBER NetCDF), put back on the
    line t0 + step x dt (else t0 + frame x dt) they were written from, where every time lies within its rounding of
    that line: 0.02 ps frames of a 1 ns run are otherwise uneven by 1e-3 of a step, which spectra refuse. dt and t0
    are the shortest decimals that fit (GROMACS writes tinit + step x delta_t, rounded), so that any stretch of the
    frames gets the same times. Times off every such line (a missing frame, a repeated one) stay as read, for
    :func:`trajmodes.io.trajectories.times.check_frame_times`.

    Returns the times (ps), the steps and what the times are, in words."""
    n = len(times)
    if n < 3:
        return times, steps, what
    tol = 2 * float(np.spacing(np.float32(np.abs(times).max()))) + 1e-12      # ps: the rounding of the largest
    for x, on in ((steps, "step"), (np.arange(n), "frame")):
        if x is None:
            continue
        x = np.asarray(x, float)
        if x[-1] == x[0]:
            continue
        estimate = (times[-1] - times[0]) / (x[-1] - x[0])
        for dt in _decimals(estimate):
            rest = times - x * dt
            if not np.ptp(rest) <= 2 * tol:
                continue
            t0 = next(v for v in (0.0, *_decimals(float(np.median(rest)))) if np.abs(rest - v).max() <= tol)
            if dt > 0:
                return t0 + x * dt, steps, f"{what} (single precision: on t0 + {on} x dt, dt = {dt:g} ps)"
            break
    return times, steps, what


def _decimals(x: float):
    """``x`` as the decimals of 1 to 17 significant digits, shortest first (the last is ``x`` itself)."""
    for d in range(1, 18):
        yield float(f"{x:.{d}g}")
    yield x


class MDAnalysisSource(FrameSource):
    """Frames of an MDAnalysis Universe, in trajmodes' units and id order.

    Parameters
    ----------
    universe_or_paths : MDAnalysis.Universe, str or sequence of str
        A Universe, or the topology and trajectory file(s) to open one from.
    format : str, optional
        Trajectory format passed to ``MDAnalysis.Universe`` (e.g. ``"LAMMPSDUMP"``).
    frame_interval : float, optional
        Time between frames in ps, for a trajectory that holds no time of its own for each frame (DCD: its one
        ``dt``; in-memory data); times become ``frame * frame_interval``. The times a .trr, .xtc, AMBER NetCDF or
        H5MD file holds for each frame win over it (a value that disagrees is ignored with a warning).
    md_timestep : float, optional
        The MD time step in ps, for files that hold each frame's MD step (.trr, .xtc, a LAMMPS dump): times = step x
        md_timestep where the file holds no times; refused for the others (use ``frame_interval``).
    units, lj_scales : optional
        LAMMPS unit style of the numbers when the MDAnalysis reader does not
        convert them itself (its ``units`` declare no force unit), e.g. a LAMMPS
        dump read by MDAnalysis (assumed ``"metal"`` with a warning if not given).
    **universe_kwargs
        Passed to ``MDAnalysis.Universe`` when paths are given.

    Notes
    -----
    Positions and cells in Å, velocities in Å/ps, forces converted from
    MDAnalysis' kJ/(mol Å) to eV/Å (for readers that convert to MDAnalysis base
    units, and for in-memory data, which MDAnalysis holds in base units).
    Frame times are the file's own where it holds one for each frame (.trr and .xtc frame headers, read without
    reading the frames; other formats as MDAnalysis reads them), checked as every reader's
    (:func:`trajmodes.io.trajectories.times.frame_times`: two frames at one time are refused, uneven steps named);
    single-precision times that lie on t0 + step x dt to their rounding are put on it. A frame cut short at the end of a
    .trr, .xtc or .dcd is dropped with a :class:`~trajmodes.errors.TruncatedFrameWarning`.
    Species are ``atoms.elements`` when present, else
    ``atoms.types``; masses are ``atoms.masses`` (None when all zero, or all 1.0
    without elements: MDAnalysis' guess for LAMMPS types).
    ``read`` is serialised by a lock (MDAnalysis readers keep one file position).
    """

    unwrapped = False
    units = "metal"
    #: ``format="mdanalysis"`` (MDAnalysis guesses from the names), or any format name MDAnalysis knows
    #: (``"DCD"``, ``"TRR"``, ``"LAMMPSDUMP"``, ...): the reader asked last
    format_names = ("mdanalysis",)
    needs = ("an MDAnalysis format needs a file name whose extension MDAnalysis knows (.dcd, .trr, .xtc, .nc, ...) "
             "or --format")

    @classmethod
    def takes(cls, fmt: str) -> bool:
        return True

    @classmethod
    def can_open(cls, head: bytes, path: str) -> bool:
        """Every file the other readers do not take: MDAnalysis guesses its format from its name."""
        return True

    @classmethod
    def from_options(cls, paths: list[str], fmt: str, format: str | None = None, *, units: str | None = None,
                     lj_scales: dict | None = None, md_timestep: float | None = None,
                     frame_interval: float | None = None, topology=None, species=None, masses=None,
                     **options) -> MDAnalysisSource:
        """A Universe of ``topology`` (when given) and ``paths``. Where MDAnalysis cannot open it, the error says
        why; its attribute ``format_guessed`` is True when the format was guessed, for the caller to add why the
        other readers refused the file."""
        refuse_lammps_options(paths[0], fmt, options)
        if fmt != "mdanalysis":                     # a format named: one file (several: format="mdanalysis")
            refuse_several_files(paths, fmt)
        import MDAnalysis as mda
        kw = {} if fmt == "mdanalysis" else {"format": format}
        try:
            u = mda.Universe(topology, *paths, **kw) if topology is not None else mda.Universe(*paths, **kw)
        except Exception as exc:  # MDAnalysis raises many types
            mismatch = universe_error(topology, paths) if topology is not None else \
                universe_error(paths[0], paths[1:]) if len(paths) > 1 else None
            if mismatch is not None:
                raise mismatch from None
            said = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            if is_netcdf(read_head(paths[0])):
                described = describe_netcdf(paths[0])
                if described is not None:
                    raise TrajectoryFormatError(paths[0], f"it is {described[1]}, not a trajectory trajmodes or "
                                                          f"MDAnalysis reads ({said})", fix=CACHE_FIX) from None
            err = TrajectoryFormatError(paths[0], f"MDAnalysis cannot read it either ({said})",
                                        fix="Check that the file is complete and of a trajectory format; pass "
                                            "format= (--format: 'lammps', 'xyz', an MDAnalysis format such as "
                                            "'DCD', or 'ase:<ASE format>' such as 'ase:vasp-out') and topology= "
                                            "(--topology) for formats without atom information")
            err.format_guessed = format is None
            raise err from None
        return cls(u, frame_interval=frame_interval, md_timestep=md_timestep, units=mda_units(units),
                   lj_scales=lj_scales)

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
            self._check_last_dcd()
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

    def _check_last_dcd(self) -> None:
        """Drop a DCD frame the run was killed while writing, with a :class:`TruncatedFrameWarning`, as for .trr/.xtc.

        MDAnalysis counts a DCD's frames from its size (every frame after the first has the same size), so a frame cut
        short is left out silently: the bytes past the last whole frame are that frame's start."""
        from MDAnalysis.coordinates.DCD import DCDReader
        traj = self.universe.trajectory
        f = getattr(traj, "_file", None)            # MDAnalysis' DCD file: its header and frame sizes
        if not isinstance(traj, DCDReader) or f is None:
            return
        try:
            whole = int(f._header_size) + (int(f._firstframesize) + (int(f.n_frames) - 1) * int(f._framesize)
                                           if f.n_frames else 0)
            extra = os.path.getsize(traj.filename) - whole
            size = int(f._firstframesize if f.n_frames == 0 else f._framesize)
        except (AttributeError, OSError, TypeError):
            return
        if 0 < extra < size:
            path = os.path.abspath(traj.filename)
            if self.n_frames == 0:
                raise TrajectoryFormatError(path, f"its only frame is incomplete: the file ends {extra} bytes into it "
                                                  f"(a frame has {size})", frame=0,
                                            fix="the file is truncated: write it again")
            warnings.warn(f"{path}: frame {self.n_frames} is incomplete (truncated file: it ends {extra} bytes into "
                          f"that frame, of {size}) and was dropped", TruncatedFrameWarning, stacklevel=4)

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
        """Time of every frame in ps, the MD time step and where the times came from.

        The times each frame holds (.trr, .xtc, AMBER NetCDF, H5MD, TNG, ...) are read and checked as every reader's
        (:func:`trajmodes.io.trajectories.times.frame_times`: a repeated time is refused, uneven steps named); a file
        that holds one time step only (DCD) gives t0 + frame x dt."""
        from trajmodes.io.trajectories.times import frame_times
        frames = np.arange(self.n_frames)
        held, steps, what = self._held_times()
        if held is not None or steps is not None:
            found = default = None
            if held is None:                    # steps only (a LAMMPS dump read by MDAnalysis): times = steps x dt
                dt, assumed = self._mda_dt()
                per_step = "MDAnalysis' dt (it reads no time step from this file)"
                default, found = ((dt, per_step), None) if assumed else (None, (dt, "the dt given to MDAnalysis"))
            try:
                axis = frame_times(self.describe(), frames if steps is None else steps, held, what_in_file=what,
                                   md_timestep=md_timestep, frame_interval=frame_interval, found=found,
                                   default=default, has_steps=steps is not None, stacklevel=6)
            except TrajectoryFormatError as exc:
                if len(getattr(self.universe.trajectory, "readers", ())) < 2:
                    raise
                raise TrajectoryFormatError(exc.path, exc.what, frame=exc.frame, fix=exc.fix + "; for the parts of "
                                            "one run that overlap, MDAnalysis.Universe(topology, parts, "
                                            "continuous=True) keeps one frame of each time") from None
            self.steps = frames if steps is None else steps
            self.times, self.md_timestep, self.time_axis = axis.times, axis.md_timestep, axis.source
            return
        if frame_interval is not None or md_timestep is not None:
            axis = frame_times(self.describe(), frames, md_timestep=md_timestep, frame_interval=frame_interval,
                               has_steps=False)
            self.times, self.md_timestep, self.time_axis = axis.times, None, axis.source
            return
        dt, assumed = self._mda_dt()
        if assumed and self.n_frames > 1:
            warnings.warn(f"{self.describe()}: the trajectory gives no time step; MDAnalysis ASSUMED dt={dt} ps. "
                          "Give frame_interval=<ps between frames> (--frame-interval): every frequency scales with "
                          "it", UnitsWarning, stacklevel=4)
        self.times = t0 + frames * dt
        self.md_timestep = None
        self.time_axis = (f"ASSUMED: MDAnalysis' default dt {dt:g} ps between frames" if assumed else
                          f"the trajectory's time step ({dt:g} ps between frames, read by MDAnalysis)")

    def _mda_dt(self) -> tuple[float, bool]:
        """MDAnalysis' dt (ps) of the trajectory, and whether it assumed it (it warns then)."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            dt = float(self.universe.trajectory.dt)
        return dt, any("dt" in str(w.message) or "time" in str(w.message).lower() for w in caught)

    def _held_times(self) -> tuple[np.ndarray | None, np.ndarray | None, str]:
        """The time (ps) and MD step of every frame as the file holds them, each None where it holds none, and what
        the times are called."""
        traj = self.universe.trajectory
        readers = list(getattr(traj, "readers", None) or [traj])
        kinds = {type(r).__name__ for r in readers}
        if not kinds <= HELD_TIMES | STEPS_ONLY or kinds & HELD_TIMES and kinds & STEPS_ONLY:
            return None, None, ""
        if kinds <= STEPS_ONLY:
            steps = self._loop_times(traj)[1]
            return None, steps, ""
        what = "the frames' own times"
        if len(readers) == 1:
            parts = [_xdr_headers(traj, self.n_frames)]
        elif len(traj) == sum(len(r) for r in readers):          # a ChainReader of every frame of every file
            parts = [_xdr_headers(r, len(r)) for r in readers]
        else:                                                     # continuous=True: frames chosen by MDAnalysis
            parts = [None]
        if all(p is not None for p in parts):
            times, steps = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
            times, steps = times[:self.n_frames], steps[:self.n_frames]
            if self._agrees(times):
                return _evened(times, steps, "the frame headers' times")
        times, steps = self._loop_times(traj)
        return _evened(times, steps, what)

    def _agrees(self, times: np.ndarray) -> bool:
        """Whether MDAnalysis gives the first and last frames the times read from the headers (not when it was given
        dt= or time_offset=, which replace the file's times)."""
        traj = self.universe.trajectory
        for k in {0, self.n_frames - 1}:
            if not np.isclose(float(traj[k].time), float(times[k]), rtol=1e-6, atol=1e-9):
                return False
        return True

    def _loop_times(self, traj) -> tuple[np.ndarray, np.ndarray | None]:
        """The time and step (None when a frame has none) of every frame, as MDAnalysis reads them (one pass)."""
        times = np.empty(self.n_frames)
        steps = np.empty(self.n_frames, np.int64)
        have_steps = True
        with warnings.catch_warnings():
            # a dump holds steps, not times: MDAnalysis warns of its assumed dt per frame; _times says which dt it took
            warnings.filterwarnings("ignore", message="Reader has no dt information", category=UserWarning)
            for k in range(self.n_frames):
                ts = traj[k]
                times[k] = float(ts.time)
                step = ts.data.get("step")
                have_steps = have_steps and step is not None
                steps[k] = int(step) if step is not None else -1
        return times, (steps if have_steps else None)

    def read(self, frames, fields=None) -> dict:
        """Read frames by index; see :meth:`FrameSource.read`.

        Returns positions (Å), velocities (Å/ps), forces (eV/Å), cells (Å, rows a,
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
