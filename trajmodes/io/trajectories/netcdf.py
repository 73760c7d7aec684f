"""trajmodes' chunked netCDF4 trajectory cache: written streamed, read back as Dask arrays.

Layout (format ``trajmodes-trajectory`` version 3): dimensions ``time`` (the frames), ``atom``,
``cartesian`` (x, y, z) and ``cell_vector`` (a, b, c), the names every trajmodes result uses; variables
``positions`` or ``displacements``, ``velocities``, ``forces`` (time, atom, cartesian) float64, uncompressed, in
chunks chosen by bytes on both axes (:func:`cache_chunks`): ``chunk_frames`` frames x ``chunk_atoms`` atoms x 3, about
:data:`CHUNK_BYTES` (4 MB) each, where ``chunk_frames`` frames of all atoms of one variable are about
:data:`ROW_BYTES` (16 MB; one frame for 10^6 atoms, 256 frames at most). Both numbers are global attributes
(``chunk_frames``, ``chunk_atoms``). A read of whole rows of chunks (``chunk_frames`` frames of all atoms, the
:attr:`NetCDFSource.frame_block` that the :class:`~trajmodes.trajectory.core.Trajectory` aligns its read tasks to)
reads each chunk once and only its chunks; a time series of an atom block reads ``chunk_atoms``-wide chunks.
``cells`` (time, cell_vector, cartesian), ``origins``, ``time`` (ps, the coordinate of its dimension), ``step``;
per-atom ``atom_id``, ``species``, ``masses``; the reference crystal ``reference_positions``, ``reference_cell``,
``reference_origin``; and, where the source has them, the per-frame ``potential_energy`` (time) eV, ``pressure``
(time) GPa and ``pressure_tensor`` (time, cartesian, cartesian2) GPa
(:data:`trajmodes.io.trajectories.base.FRAME_FIELDS`). Every variable has a ``units`` attribute.

Older caches read the same: version 2 (the same names, chunks of 256 frames x 512 atoms) and version 1 (dimensions
``frame`` and ``spatial``). Their 256-frame chunks are too large to align tasks to, so reads of a few frames read
only the bytes asked for (:func:`chunk_cache_for`: no chunk cache for uncompressed chunks that a read covers in part).

Reading: one netCDF handle per file and process (:func:`open_dataset`), kept open between read tasks: netCDF-C
reads the file's first 4 MiB on every open, which would cost more than the few frames of a small task.
"""
from __future__ import annotations

import atexit
import os
import threading
from dataclasses import dataclass

import numpy as np

from trajmodes.errors import TrajectoryFormatError
from trajmodes.lattice.structure import Structure
from trajmodes.io.filesystem import atomic_write
from trajmodes.resources import distributed_client
from trajmodes.io.trajectories.base import (FIELD_UNITS, FIELDS, FRAME_FIELDS, FRAME_SHAPES, FrameSource, empty_frames,
                                            refuse_lammps_options, refuse_several_files)

FORMAT = "trajmodes-trajectory"
VERSION = 3
#: the frame dimension of each format version
FRAME_DIMENSION = {1: "frame", 2: "time", 3: "time"}
#: bytes of one chunk of a per-atom variable (float64, 3 components), about
CHUNK_BYTES = 4 << 20
#: bytes of one row of chunks (``chunk_frames`` frames of all atoms of one variable), about: the read unit
ROW_BYTES = 16 << 20
#: most frames in a chunk
MAX_CHUNK_FRAMES = 256
#: HDF5 is not thread-safe: every netCDF4 call in this process goes through this lock
LOCK = threading.RLock()
#: open read handles: (pid, path, size, mtime) -> netCDF4.Dataset, at most HANDLES of them, the oldest closed first
_HANDLES: dict = {}
HANDLES = 8


def cache_chunks(n_frames: int, n_atoms: int, *, row_bytes: int = ROW_BYTES,
                 chunk_bytes: int = CHUNK_BYTES) -> tuple[int, int, int]:
    """The chunk shape (frames, atoms, 3) of the per-atom variables of a cache of ``n_frames`` x ``n_atoms``.

    Chosen by bytes on both axes: ``frames`` frames of all atoms of one float64 variable are about ``row_bytes``
    (at least 1 frame, at most :data:`MAX_CHUNK_FRAMES` and the frames there are), so a read task that holds whole
    rows of chunks stays within a few tens of MB whatever the atom count; ``atoms`` makes a chunk about
    ``chunk_bytes`` (at most all atoms), the atoms split into chunks of equal width (the last at most a few atoms
    narrower).

    Returns
    -------
    tuple of int
        (chunk frames, chunk atoms, 3).
    """
    frame = max(1, n_atoms) * 3 * 8
    cf = int(min(MAX_CHUNK_FRAMES, max(1, n_frames), max(1, row_bytes // frame)))
    ca = int(min(max(1, n_atoms), max(1, chunk_bytes // (cf * 3 * 8))))
    ca = -(-max(1, n_atoms) // -(-max(1, n_atoms) // ca))          # the atoms split evenly: no small edge chunk
    return cf, ca, 3


def open_dataset(path: str, stamp: tuple):
    """The open read-only netCDF4 Dataset of ``path`` for this process, kept between calls (call with :data:`LOCK`
    held, and use it under the lock).

    ``stamp`` (size, mtime in ns) names the version of the file: a file written again gets a new handle (the old
    one is closed when :data:`HANDLES` newer ones are open). A process forked from this one opens its own.
    """
    import netCDF4
    key = (os.getpid(), path) + tuple(stamp)
    ds = _HANDLES.pop(key, None)
    if ds is None or not ds.isopen():
        ds = netCDF4.Dataset(path)
        # plain arrays: the masked arrays netCDF4 makes by default compare every value with the fill value (reads of
        # 4 MB chunks at 400 MB/s instead of 1.9 GB/s from the page cache); the cache's values are all written
        ds.set_auto_mask(False)
    _HANDLES[key] = ds                                  # most recently used last
    while len(_HANDLES) > HANDLES:
        old_key = next(iter(_HANDLES))
        old = _HANDLES.pop(old_key)
        if old_key[0] == os.getpid() and old.isopen():
            old.close()
    return ds


def forget_handle(path: str, stamp: tuple) -> None:
    """Close this process' read handle of ``path`` (version ``stamp``), if open (call with :data:`LOCK` held)."""
    ds = _HANDLES.pop((os.getpid(), path) + tuple(stamp), None)
    if ds is not None and ds.isopen():
        ds.close()


def close_handles() -> None:
    """Close every read handle :func:`open_dataset` keeps in this process (at exit, or to release the files)."""
    with LOCK:
        while _HANDLES:
            key, ds = _HANDLES.popitem()
            if key[0] == os.getpid() and ds.isopen():
                ds.close()


atexit.register(close_handles)


def chunk_cache_for(var, lo: int, hi: int) -> tuple[int, int]:
    """The HDF5 chunk cache (bytes, slots) for reading frames ``lo:hi`` of all atoms of the per-atom variable ``var``.

    A read that covers its chunks whole (frames aligned to the chunks: the new layout's tasks) reads them straight
    into the result, and one that covers uncompressed chunks in part reads only the bytes asked for, when the
    chunks do not fit the cache; a cache that holds them instead reads every chunk whole for each of the few
    frames asked (the 35-139x read amplification of version 2 caches read 1-4 frames at a time). So: no cache
    (a one-chunk slot table) for uncompressed chunks, and one row of chunks for compressed ones (decompressed once
    per read).
    """
    chunking = var.chunking()
    if chunking == "contiguous" or not var.filters().get("zlib", False) and not var.filters().get("szip", False):
        return 0, 1
    cf, ca = int(chunking[0]), int(chunking[1])
    n_chunks = -(-var.shape[1] // ca) * (-(-hi // cf) - lo // cf)
    return int(n_chunks * np.prod(chunking) * var.dtype.itemsize), int(max(1, 2 * n_chunks + 1))


def is_netcdf(head: bytes) -> bool:
    """Whether the first bytes ``head`` are those of a netCDF-3 or netCDF-4 (HDF5) file."""
    return head[:3] == b"CDF" or head[:8] == b"\x89HDF\r\n\x1a\n"


def netcdf_kind(path: str) -> str | None:
    """``"trajmodes"`` for a trajmodes cache, ``"other"`` for another netCDF file, None if netCDF cannot open it."""
    import netCDF4
    try:
        with LOCK, netCDF4.Dataset(path) as ds:
            return "trajmodes" if getattr(ds, "trajmodes_format", None) == FORMAT else "other"
    except OSError:
        return None


#: where a trajmodes trajectory cache comes from, for messages about netCDF files that are not one
CACHE_FIX = ("A trajmodes trajectory cache is written by 'trajmodes convert' (or Trajectory.to_netcdf); read force "
             "constants with ForceConstants.read, and an AMBER netCDF trajectory with format='NCDF'")


def describe_netcdf(path: str) -> tuple[bool, str] | None:
    """What a netCDF/HDF5 file that is not a trajmodes trajectory cache holds: (whether trajmodes wrote it, a
    description in words: its ``title`` (e.g. trajmodes' force constants), else its ``title`` / ``Conventions`` and its
    variables and groups); None where netCDF cannot open it."""
    import netCDF4
    try:
        with LOCK, netCDF4.Dataset(path) as ds:
            attrs = {k: ds.getncattr(k) for k in ds.ncattrs()}
            names = list(ds.variables) + [g + "/" for g in ds.groups]
    except OSError:
        return None
    shown = ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "")
    holds = f"its variables: {shown}" if names else "it holds no variables"
    title = str(attrs.get("title", "")).strip()
    if title.lower().startswith("trajmodes") or "trajmodes_version" in attrs:
        return True, f"{title!r} (a trajmodes netCDF file; {holds})" if title else f"a trajmodes file ({holds})"
    said = "; ".join(f"{k} {str(attrs[k])[:60]!r}" for k in ("title", "Conventions") if k in attrs)
    return False, f"a netCDF file ({said + '; ' if said else ''}{holds})"


@dataclass
class CacheContents:
    """What a trajectory cache holds besides its per-frame arrays (all in metal units, atoms in id order)."""

    times: np.ndarray            # (frames,) ps
    steps: np.ndarray            # (frames,)
    ids: np.ndarray              # (atoms,)
    species: np.ndarray          # (atoms,)
    masses: np.ndarray | None    # (atoms,) amu
    reference: Structure | None  # None: known only after the pass over the frames (write_cache's ``complete``)
    source: str                  # one line naming the source
    source_units: str
    time_axis: str
    md_timestep: float | None
    unwrapped: bool
    has_cell: bool
    reference_is_average: bool = False   # the reference is the run's time average



#: descriptions of the per-frame quantities, stored with them
LONG_NAMES = {"potential_energy": "potential energy of the cell",
              "pressure": "pressure, positive when compressed (LAMMPS' sign), as the source reports it",
              "pressure_tensor": "pressure tensor, positive when compressed (LAMMPS' sign: minus the stress)"}


def write_cache(path, arrays: dict, contents: CacheContents, *, attrs: dict | None = None,
                progress: bool = False, per_frame: dict | None = None, summed: dict | None = None,
                complete=None) -> tuple[dict, dict]:
    """Write a trajectory cache to ``path`` (temporary name, then rename), computing other quantities of the frames in
    the same pass.

    Parameters
    ----------
    arrays : dict name -> dask array
        ``positions`` or ``displacements``, optionally ``velocities``, ``forces`` (frames, atoms, 3), ``cells``
        (frames, 3, 3), ``origins`` (frames, 3), and the per-frame ``potential_energy``, ``pressure`` (frames,)
        and ``pressure_tensor`` (frames, 3, 3); computed and written chunk by chunk (parsing in parallel, writing
        serialised), so memory stays bounded by a few chunks whatever the trajectory size.
    contents : CacheContents
    attrs : dict, optional
        Global attributes (the provenance).
    per_frame, summed : dict name -> dask array, optional
        Arrays over the same frames (frames first, chunked as ``arrays``: built through the same read tasks, each chunk
        is parsed once for all): ``per_frame`` computed whole, ``summed`` summed over the frames.
    complete : callable, optional
        ``complete(per_frame_values, summed_values)``, called once the frames are written and before the file is
        closed, returns what the cache still needs, a dict with ``"reference"`` (the reference crystal, where
        ``contents.reference`` is None: the run's time average) and ``"attrs"`` (more global attributes, such as
        the run's mean temperature).

    Returns
    -------
    tuple of dict
        The values of ``per_frame`` and of ``summed``.
    """
    import dask
    import dask.array as da
    import netCDF4
    from trajmodes import __version__
    from trajmodes.io.provenance import clean_attrs
    nf = len(contents.times)
    na = len(contents.ids)
    chunks = cache_chunks(nf, na)
    meta = clean_attrs(attrs or {})
    per_frame, summed = dict(per_frame or {}), dict(summed or {})
    if contents.reference is None and complete is None:
        raise ValueError("write_cache needs the reference crystal: contents.reference, or complete() to give it")
    values: list = [{}, {}]

    def write(tmp):
        with LOCK:
            ds = netCDF4.Dataset(tmp, "w", format="NETCDF4")
        try:
            with LOCK:
                ds.setncatts(meta)
                define_cache(ds, contents, arrays, chunks, __version__)
            if distributed_client() is not None:
                # an open netCDF file cannot travel to a scheduler or workers in other processes: they compute the
                # frames, a batch of chunks at a time, and this process writes them
                values[:] = _store_from_here(arrays, ds, per_frame, summed)
            else:
                targets = [_Locked(ds.variables[k]) for k in arrays]
                stored = da.store(list(arrays.values()), targets, lock=False, compute=False)
                sums = {k: a.sum(axis=0) for k, a in summed.items()}
                if progress:
                    from dask.diagnostics import ProgressBar
                    with ProgressBar(minimum=1.0):
                        values[:] = dask.compute(stored, per_frame, sums)[1:]
                else:
                    values[:] = dask.compute(stored, per_frame, sums)[1:]
            more = complete(*values) if complete is not None else {}
            with LOCK:
                if contents.reference is None:
                    write_reference(ds, more["reference"])
                if more.get("attrs"):
                    ds.setncatts(clean_attrs(more["attrs"]))
        finally:
            with LOCK:
                ds.close()

    atomic_write(path, write)
    return values[0], values[1]


def _store_from_here(arrays: dict, ds, per_frame: dict, summed: dict, batch_chunks: int = 8) -> list:
    """Write ``arrays`` into the open netCDF ``ds`` from this process: ``batch_chunks`` frame chunks per computation
    (memory bounded by that batch), the chunks of a batch computed in parallel wherever Dask runs; ``per_frame`` and
    ``summed`` (as :func:`write_cache`) are computed with each batch. Returns their values."""
    import dask
    first = next(iter(arrays.values()))
    bounds = np.concatenate([[0], np.cumsum(first.chunks[0])]).astype(int)
    arrays = {k: a.rechunk({0: first.chunks[0]}) for k, a in arrays.items()}
    frames, sums = {k: [] for k in per_frame}, {}
    for b in range(0, len(bounds) - 1, batch_chunks):
        lo, hi = int(bounds[b]), int(bounds[min(b + batch_chunks, len(bounds) - 1)])
        values, pf, sm = dask.compute([a[lo:hi] for a in arrays.values()], {k: a[lo:hi] for k, a in per_frame.items()},
                                      {k: a[lo:hi].sum(axis=0) for k, a in summed.items()})
        with LOCK:
            for name, v in zip(arrays, values):
                ds.variables[name][lo:hi] = v
        for k, v in pf.items():
            frames[k].append(v)
        for k, v in sm.items():
            sums[k] = v if k not in sums else sums[k] + v
    return [{k: np.concatenate(v) for k, v in frames.items()}, sums]


class _Locked:
    """A netCDF4 variable whose writes take the global netCDF lock."""

    def __init__(self, var):
        self.var = var

    def __setitem__(self, key, value):
        with LOCK:
            self.var[key] = value


def define_cache(ds, c: CacheContents, arrays, chunks, version) -> None:
    """Define the cache's dimensions, chunked variables, metadata and reference in the open netCDF4 Dataset ``ds``
    (nothing of the frames is written yet, nor the reference where ``c.reference`` is None: :func:`write_reference`)."""
    nf, na = len(c.times), len(c.ids)
    ref = c.reference
    ds.trajmodes_format = FORMAT
    ds.trajmodes_format_version = VERSION
    ds.trajmodes_version = version
    ds.source = c.source
    ds.time_axis = str(c.time_axis)
    if c.md_timestep is not None:
        ds.md_timestep_ps = float(c.md_timestep)
    ds.source_units = c.source_units
    ds.unwrapped = int(c.unwrapped or "displacements" in arrays)
    ds.has_cell = int(c.has_cell)
    ds.chunk_frames, ds.chunk_atoms = int(chunks[0]), int(chunks[1])
    ds.chunk_layout = (f"per-atom variables in chunks of {int(chunks[0])} frames x {int(chunks[1])} atoms x 3 "
                       f"(about {ROW_BYTES >> 20} MB per {int(chunks[0])} frames of all atoms, "
                       f"{CHUNK_BYTES >> 20} MB per chunk)")
    ds.createDimension("time", nf)
    ds.createDimension("atom", na)
    ds.createDimension("cartesian", 3)
    ds.createDimension("cell_vector", 3)
    if "pressure_tensor" in arrays:
        ds.createDimension("cartesian2", 3)
    # the per-frame variables (at most 72 bytes a frame): whole rows of the per-atom chunks, up to ~1000 frames
    small = int(min(max(nf, 1), chunks[0] * max(1, 1024 // chunks[0])))
    for name, arr in arrays.items():
        if name in FRAME_SHAPES:
            dims = ("time",) + ("cartesian", "cartesian2")[:len(FRAME_SHAPES[name])]
            v = ds.createVariable(name, "f8", dims, chunksizes=(small,) + FRAME_SHAPES[name])
        elif name in ("cells",):
            v = ds.createVariable(name, "f8", ("time", "cell_vector", "cartesian"), chunksizes=(small, 3, 3))
        elif name == "origins":
            v = ds.createVariable(name, "f8", ("time", "cartesian"), chunksizes=(small, 3))
        else:
            v = ds.createVariable(name, "f8", ("time", "atom", "cartesian"), chunksizes=chunks)
            v.set_var_chunk_cache(size=0, nelems=1, preemption=1.0)   # whole chunks are written straight to the file
        v.units = FIELD_UNITS[name]
        if name in LONG_NAMES:
            v.long_name = LONG_NAMES[name]
    tv = ds.createVariable("time", "f8", ("time",))
    tv.units = "ps"
    tv[:] = c.times
    sv = ds.createVariable("step", "i8", ("time",))
    sv.units = "1"
    sv[:] = c.steps
    iv = ds.createVariable("atom_id", "i8", ("atom",))
    iv[:] = c.ids
    spv = ds.createVariable("species", str, ("atom",))
    spv[:] = np.asarray(c.species, dtype=object)
    if c.masses is not None:
        mv = ds.createVariable("masses", "f8", ("atom",))
        mv.units = "amu"
        mv[:] = c.masses
    ds.reference_is_time_average = int(c.reference_is_average)
    rp = ds.createVariable("reference_positions", "f8", ("atom", "cartesian"))
    rp.units = "Angstrom"
    ro = ds.createVariable("reference_origin", "f8", ("cartesian",))
    ro.units = "Angstrom"
    if (ref.cell is not None) if ref is not None else c.has_cell:
        rc = ds.createVariable("reference_cell", "f8", ("cell_vector", "cartesian"))
        rc.units = "Angstrom"
    if ref is not None:
        write_reference(ds, ref)


def write_reference(ds, ref: Structure) -> None:
    """Write the reference crystal into the cache's variables (defined by :func:`define_cache`)."""
    ds.variables["reference_positions"][:] = ref.positions
    ds.variables["reference_origin"][:] = ref.origin
    if ref.cell is not None:
        ds.variables["reference_cell"][:] = ref.cell


class NetCDFSource(FrameSource):
    """Frames of a trajmodes netCDF cache.

    Attributes
    ----------
    reference : Structure
        The reference crystal stored with the cache.
    stored_displacements : bool
        True when the cache holds displacements rather than positions.
    """

    format = "trajmodes-netcdf"
    format_names = ("netcdf", "nc", "trajmodes")
    needs = "a trajmodes netCDF cache needs a netCDF/HDF5 header and trajmodes' format attribute"

    @classmethod
    def can_open(cls, head: bytes, path: str) -> bool:
        """A netCDF/HDF5 file that is a trajmodes trajectory cache; another file trajmodes wrote (force constants,
        a series, ...) is refused, saying what it holds."""
        if not is_netcdf(head):
            return False
        kind = netcdf_kind(path)
        if kind is None:
            raise TrajectoryFormatError(path, "netCDF cannot open this netCDF/HDF5 file",
                                        fix="It is truncated or damaged: write or copy it again")
        if kind == "trajmodes":
            return True
        ours, what = describe_netcdf(path) or (False, "")
        if ours:                                    # trajmodes' force constants, series, ...: no trajectory
            raise TrajectoryFormatError(path, f"it is {what}, not a trajectory", fix=CACHE_FIX)
        return False

    @classmethod
    def from_options(cls, paths: list[str], fmt: str, format: str | None = None, *,
                     md_timestep: float | None = None, frame_interval: float | None = None,
                     **options) -> NetCDFSource:
        """One cache, which stores its frame times."""
        refuse_lammps_options(paths[0], fmt, options)
        refuse_several_files(paths, fmt)
        if md_timestep is not None or frame_interval is not None:
            raise ValueError(f"{paths[0]}: a trajmodes netCDF cache stores its frame times; md_timestep= and "
                             "frame_interval= are for files that have none")
        return cls(paths[0])

    def __init__(self, path):
        self.paths = [os.path.abspath(os.fspath(path))]        # workers may run in another folder
        st = os.stat(self.paths[0])
        self._stamp = (st.st_size, st.st_mtime_ns)
        try:
            with LOCK:
                try:
                    self._open(open_dataset(self.paths[0], self._stamp), path)
                except TrajectoryFormatError:
                    forget_handle(self.paths[0], self._stamp)      # not a cache to read: release the file
                    raise
        except OSError as exc:
            raise TrajectoryFormatError(path, f"netCDF cannot open it ({exc})",
                                        fix="The file is incomplete or damaged: write it again with "
                                            "'trajmodes convert'") from None

    def _open(self, ds, path) -> None:
        if getattr(ds, "trajmodes_format", None) != FORMAT:
            title = str(getattr(ds, "title", "")).strip()
            names = list(ds.variables) + [g + "/" for g in ds.groups]
            shown = ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "")
            raise TrajectoryFormatError(path, "not a trajmodes netCDF trajectory cache: it is a netCDF file"
                                              + (f" titled {title!r}" if title else "") + f" with the variables "
                                              f"{shown or '(none)'}", fix=CACHE_FIX)
        v, dims = ds.variables, ds.dimensions
        fix = "The cache is incomplete or was not written by trajmodes: write it again with 'trajmodes convert'"
        frame = FRAME_DIMENSION.get(int(getattr(ds, "trajmodes_format_version", VERSION)), "time")
        for d in (frame, "atom"):
            if d not in dims:
                raise TrajectoryFormatError(path, f"the cache has no dimension {d!r}", fix=fix)
        self.n_frames = len(dims[frame])
        self.n_atoms = len(dims["atom"])
        shapes = {"time": (self.n_frames,), "step": (self.n_frames,), "atom_id": (self.n_atoms,),
                  "species": (self.n_atoms,), "reference_positions": (self.n_atoms, 3), "reference_origin": (3,)}
        if "displacements" not in v:
            shapes["positions"] = (self.n_frames, self.n_atoms, 3)
        for f in ("velocities", "forces", "displacements"):
            if f in v:
                shapes[f] = (self.n_frames, self.n_atoms, 3)
        for name, shape in shapes.items():
            if name not in v:
                raise TrajectoryFormatError(path, f"the cache has no variable {name!r}", fix=fix)
            if tuple(v[name].shape) != shape:
                raise TrajectoryFormatError(path, f"variable {name!r} has shape {tuple(v[name].shape)}, not "
                                                  f"{shape}", fix=fix)
        self.times = np.asarray(v["time"][:], dtype=float)
        self.steps = np.asarray(v["step"][:], dtype=np.int64)
        self.ids = np.asarray(v["atom_id"][:], dtype=np.int64)
        self.species = np.asarray(v["species"][:], dtype=str)
        self.masses = np.asarray(v["masses"][:], dtype=float) if "masses" in v else None
        self.stored_displacements = "displacements" in v
        self.fields = tuple(f for f in FIELDS if f in v or (f == "positions" and self.stored_displacements))
        self.frame_fields = tuple(f for f in FRAME_FIELDS if f in v)
        for f in self.frame_fields:
            if tuple(v[f].shape) != (self.n_frames,) + FRAME_SHAPES[f]:
                raise TrajectoryFormatError(path, f"variable {f!r} has shape {tuple(v[f].shape)}, not "
                                                  f"{(self.n_frames,) + FRAME_SHAPES[f]}", fix=fix)
        self.has_cell = bool(getattr(ds, "has_cell", "cells" in v))
        self.unwrapped = bool(getattr(ds, "unwrapped", 0))
        self.units = "metal"
        self._source_units = getattr(ds, "source_units", "metal")
        axis = getattr(ds, "time_axis", "stored in the cache")
        self.time_axis = axis if axis.startswith("stored in") else f"stored in the cache: {axis}"
        self.md_timestep = float(ds.md_timestep_ps) if "md_timestep_ps" in ds.ncattrs() else None
        cell = np.asarray(v["reference_cell"][:], float) if "reference_cell" in v else None
        ref = np.asarray(v["reference_positions"][:], float)
        for name, arr in (("time", self.times), ("reference_positions", ref), ("reference_cell", cell),
                          ("masses", self.masses)):
            if arr is not None and not np.isfinite(arr).all():
                raise TrajectoryFormatError(path, f"variable {name!r} holds NaN or inf", fix=fix)
        self.reference = Structure(ref, cell, self.species, self.masses,
                                   np.asarray(v["reference_origin"][:], float))
        self.reference_is_average = bool(getattr(ds, "reference_is_time_average", 0))
        chunking = v["displacements" if self.stored_displacements else "positions"].chunking()
        #: frames per chunk of the file: read tasks aligned to it read whole chunks (1: contiguous)
        self.frame_block = 1 if chunking == "contiguous" else int(chunking[0])

    def token(self) -> tuple:
        return ("trajmodes-netcdf", os.path.abspath(self.paths[0]), self._stamp)

    def read(self, frames, fields=None) -> dict:
        frames = np.asarray(frames, dtype=np.int64)
        if len(frames) == 0:
            return empty_frames(0, self.n_atoms, self.fields + self.frame_fields)
        lo, hi = int(frames.min()), int(frames.max()) + 1
        sel = frames - lo
        dense = len(frames) * 2 >= hi - lo
        out = {}
        with LOCK:
            ds = open_dataset(self.paths[0], self._stamp)
            v = ds.variables
            want = set(self.fields + self.frame_fields if fields is None else fields) | {"cells", "origins"}
            if "positions" in want and self.stored_displacements:
                want.add("displacements")
            for name in ("positions", "displacements", "velocities", "forces", "cells", "origins", *FRAME_FIELDS):
                if name in v and name in want:
                    var = v[name]
                    size, slots = chunk_cache_for(var, lo, hi)
                    var.set_var_chunk_cache(size=size, nelems=slots, preemption=1.0)
                    out[name] = _read_frames(var, lo, hi, sel if dense else frames.tolist())
        if "cells" not in out:
            out["cells"] = np.full((len(frames), 3, 3), np.nan)
        if "displacements" in out:
            out["positions"] = self.reference.positions[None] + out["displacements"]
        return out


def _read_frames(var, lo: int, hi: int, which) -> np.ndarray:
    """Frames of the netCDF variable ``var`` as float64: ``var[lo:hi][which]`` for an index array ``which`` (frames
    asked within ``lo:hi``, a dense selection), else ``var[which]`` for a list of frames.

    A per-atom variable is read one column of chunks at a time (frames x one chunk's atoms): each read then covers its
    chunks whole or reads only the bytes asked for, where one read across all columns of chunks read about a quarter
    more (HDF5's sieve buffer around each chunk's part, without a chunk cache).
    """
    rows = slice(lo, hi) if isinstance(which, np.ndarray) else which
    chunking = var.chunking()
    if var.ndim != 3 or chunking == "contiguous" or int(chunking[1]) >= var.shape[1]:
        data = np.asarray(var[rows], float)
    else:
        n = (hi - lo) if isinstance(which, np.ndarray) else len(which)
        data = np.empty((n,) + tuple(var.shape[1:]))
        ca = int(chunking[1])
        for a in range(0, var.shape[1], ca):
            data[:, a:a + ca] = var[rows, a:a + ca]
    return data[which] if isinstance(which, np.ndarray) else data
