"""The Trajectory: lazy, chunked Dask arrays over any frame source, plus the reference crystal."""
from __future__ import annotations

import math
import operator
import os
import warnings
from dataclasses import dataclass, make_dataclass
from typing import TYPE_CHECKING

import dask
import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from trajmodes.io.trajectories.base import FIELD_UNITS, FIELDS, FRAME_SHAPES, FrameSource
from trajmodes.lattice.structure import Structure
from trajmodes.trajectory.chunks import frame_bytes, frame_sum, read_chunk
from trajmodes.trajectory.passes import STORED_FORMATS
from trajmodes.trajectory.displacements import (Displacements, check_drift, check_reference_atoms,
                                                displacements_of_frames, remove_drift)
from trajmodes.trajectory.reference import reference_structure
from trajmodes.units import AMU_A2_PS2_EV, KB_EV

if TYPE_CHECKING:
    from trajmodes.trajectory.passes import HeldFrames, MeanDisplacement, Pass

#: smallest default chunk when a short trajectory is spread over the cores
MIN_CHUNK_FRAMES = 32


def _internal_kinetic_energy(v: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The kinetic energy (frames,) eV of the velocities ``v`` (frames, atoms, 3) Å/ps of atoms of masses ``m``
    (atoms,) amu less that of their centre of mass: sum 1/2 m v^2 - |sum m v|^2 / (2 sum m)."""
    p = np.einsum("tja,j->ta", v, m)
    return 0.5 * (np.einsum("tja,tja,j->t", v, v, m) - (p ** 2).sum(axis=1) / m.sum()) * AMU_A2_PS2_EV


@dataclass(frozen=True)
class Frames:
    """Frames read (:meth:`Trajectory.read`), atoms in id order, None for a field the data lack, in
    :attr:`Trajectory.units`.

    Parameters
    ----------
    positions, velocities, forces : ndarray (frames, atoms, 3) or None
        Å, Å/ps and eV/Å.
    displacements : ndarray (frames, atoms, 3) or None
        From the trajectory's reference crystal, Å.
    cells : ndarray (frames, 3, 3) or None
        Rows a, b, c, Å; None for a non-periodic format.
    origins : ndarray (frames, 3) or None
        The cell's origin in each frame, Å.
    potential_energy, pressure : ndarray (frames,) or None
        eV and GPa (positive when compressed), where the data have them.
    pressure_tensor : ndarray (frames, 3, 3) or None
        GPa, the same sign as ``pressure``.
    """

    positions: np.ndarray | None = None
    velocities: np.ndarray | None = None
    forces: np.ndarray | None = None
    displacements: np.ndarray | None = None
    cells: np.ndarray | None = None
    origins: np.ndarray | None = None
    potential_energy: np.ndarray | None = None
    pressure: np.ndarray | None = None
    pressure_tensor: np.ndarray | None = None


FieldUnits = make_dataclass("FieldUnits", [(k, str) for k in FIELD_UNITS], frozen=True,
                            namespace={"__module__": __name__, "__doc__": "The unit of every field of a Trajectory "
                                       "(FIELD_UNITS)."})


#: arguments of :meth:`Trajectory.map_chunks` written into each task as they are (small values, containers); any other
#: object is scattered to a cluster's workers once (:func:`~trajmodes.resources.on_workers`)
_INLINE = (type(None), bool, int, float, complex, str, bytes, np.generic, tuple, list, dict)


def default_chunk_frames(source: FrameSource, n_frames: int) -> int:
    """Frames per read task by default: as many as hold :func:`trajmodes.resources.task_memory` bytes of the source's
    per-atom fields (at least one frame, whatever the atom count); for short runs at least one task per core (parsed
    in parallel), not below :data:`MIN_CHUNK_FRAMES`; for a source stored in blocks of frames (a cache's chunks), a
    multiple of the block when one fits."""
    from trajmodes.resources import task_memory
    per_frame = frame_bytes(source)
    by_bytes = max(1, task_memory() // per_frame)
    spread = max(MIN_CHUNK_FRAMES, -(-n_frames // (os.cpu_count() or 1)))
    c = min(by_bytes, spread)
    block = int(getattr(source, "frame_block", 1))
    return c // block * block if 1 < block <= c else c


class Trajectory:
    """A molecular-dynamics trajectory as lazy Dask arrays, chunked over frames.

    Created by :func:`trajmodes.read`.  Nothing is read until a computation asks
    for it; every Dask task reads and parses its own block of frames.

    Parameters
    ----------
    source : FrameSource
        The reader of the file(s) (:mod:`trajmodes.io.trajectories`), which :func:`trajmodes.read` opens.
    frames : array_like of int, optional
        The frames of the source to use, in order (default every frame).
    reference : str, Structure or array_like, optional
        The reference crystal, as :func:`trajmodes.read`'s ``reference`` (default: the source's own, a cache's
        stored one, else "first").
    chunk_frames : int, optional
        Frames per Dask chunk (default from the atom count and the memory, :func:`default_chunk_frames`).

    Attributes
    ----------
    n_frames, n_atoms : int
        Number of frames (of the selection) and of atoms.
    species : ndarray of str (n_atoms,)
        Element symbols, or LAMMPS type numbers as strings where the elements are unknown.
    masses : ndarray (n_atoms,) or None
        Atomic masses, amu; None if unknown.
    times : ndarray (n_frames,)
        Time of each frame, ps.
    steps : ndarray (n_frames,)
        MD step of each frame.
    frame_interval : float
        Time between consecutive frames in ps (median spacing).
    md_timestep : float or None
        The MD integration step in ps, when known.
    time_axis : str
        Where the frame times came from (the file, values given, the LAMMPS input beside a dump, or ASSUMED).
    positions, velocities, forces : dask.array.Array or None
        (n_frames, n_atoms, 3) float64 in Å, Å/ps, eV/Å, atoms in id
        order; None when the file lacks them.
    cells : dask.array.Array or None
        (n_frames, 3, 3), rows a, b, c in Å; None for a non-periodic format.
    potential_energy, pressure, pressure_tensor : dask.array.Array or None
        Per frame, where the data have them (:attr:`frame_fields`): (n_frames,) eV, (n_frames,) GPa and
        (n_frames, 3, 3) GPa, pressures positive when compressed (:data:`trajmodes.io.trajectories.base.FRAME_FIELDS`).
    """

    def __init__(self, source: FrameSource, frames=None, *, reference=None, chunk_frames: int | None = None):
        self.source = source
        self._frames = np.arange(source.n_frames) if frames is None else np.asarray(frames, dtype=np.int64)
        if chunk_frames is None:
            chunk_frames = default_chunk_frames(source, len(self._frames))
        self.chunk_frames = int(chunk_frames)
        if self.chunk_frames < 1:
            raise ValueError(f"chunk_frames must be a positive number of frames, not {chunk_frames!r}")
        if reference is None:
            reference = getattr(source, "reference", None)  # a cache stores its reference
        self._reference_spec = "first" if reference is None else reference
        self._reference_given = reference is not None
        self._reference: Structure | None = None
        self.species = source.species
        self.masses = source.masses
        self._layers: dict[tuple, tuple] = {}

    def __getstate__(self) -> dict:
        # the read layers are a cache of graph pieces, rebuilt on demand: not sent along (on a cluster they hold the
        # futures of the scattered reader, which belong to this process's client)
        state = dict(self.__dict__)
        state["_layers"] = {}
        state.pop("_pass", None)                      # the pass these frames are read in stays in this process
        return state

    def read_pass(self) -> "Pass":
        """A new pass over these frames (:class:`~trajmodes.trajectory.passes.Pass`), for the workflow that starts
        the read: it owns the pass and gives it to the work that adds to it and computes it; the trajectory keeps
        nothing of it (``with run.read_pass() as reading:`` lets go of what it holds at the end of the block)."""
        from trajmodes.trajectory.passes import Pass
        return Pass(self)

    def in_pass(self, reading: "Pass") -> "Trajectory":
        """These frames, measured from the same reference, read in the pass ``reading``
        (:class:`~trajmodes.trajectory.passes.Pass`, created by the workflow that starts the read: its
        :attr:`~trajmodes.trajectory.passes.Pass.run` is this view). The read tasks of the view, and of its slices,
        rechunkings and same-pass references (:meth:`with_reference`), take the frames the pass holds; nothing of
        the pass is kept on this trajectory, which is left as it was.

        Parameters
        ----------
        reading : Pass
            The pass that reads the frames.
        """
        if reading.source is not self.source:
            raise ValueError(f"the pass reads {reading.source.describe()}, not {self.source.describe()}: a pass "
                             "holds the frames of one run; create one for this run (run.read_pass())")
        view = Trajectory.__new__(Trajectory)
        view.__dict__.update(self.__getstate__())
        view._pass = reading
        return view

    def _reading(self) -> "Pass":
        """The pass these frames are read in (:meth:`in_pass`), else a pass of their own for this read."""
        reading = self.__dict__.get("_pass")
        return self.read_pass() if reading is None else reading

    # --- metadata ------------------------------------------------------------------------------
    @property
    def reference_spec(self):
        """How the reference was asked for: ``"first"``, ``"average"``, or the structure or file given."""
        return self._reference_spec

    @property
    def reference_given(self) -> bool:
        """Whether the reference was asked for (``reference=`` given, or stored in a cache), not the default."""
        return bool(getattr(self, "_reference_given", True))

    @property
    def reference_known(self) -> bool:
        """Whether the reference is at hand without a pass over the frames: given, stored in a cache, the first
        frame, or already computed (not a time average still to be taken)."""
        spec = self._reference_spec
        return self._reference is not None or not (isinstance(spec, str) and spec == "average")

    @property
    def reference_is_average(self) -> bool:
        """Whether the reference is the run's time average: ``reference="average"``, or the average a cache stores
        (written so by :meth:`to_netcdf`)."""
        spec = self._reference_spec
        if isinstance(spec, str):
            return spec == "average"
        if getattr(self, "_reference_average", False):
            return True
        return spec is getattr(self.source, "reference", None) and bool(getattr(self.source, "reference_is_average",
                                                                                False))

    @property
    def source_frames(self) -> np.ndarray:
        """The frames of the source these are (indices into the file's frames), (n_frames,)."""
        return self._frames

    @property
    def n_frames(self) -> int:
        return len(self._frames)

    @property
    def n_atoms(self) -> int:
        return self.source.n_atoms

    @property
    def times(self) -> np.ndarray:
        return self.source.times[self._frames]

    @property
    def steps(self) -> np.ndarray:
        return self.source.steps[self._frames]

    @property
    def frame_interval(self) -> float:
        """Time between consecutive frames in ps (median spacing; NaN for one frame)."""
        t = self.times
        return float(np.median(np.diff(t))) if len(t) > 1 else math.nan

    @property
    def md_timestep(self) -> float | None:
        """The MD integration step in ps, when the file or the user stated it (None otherwise)."""
        return getattr(self.source, "md_timestep", None)

    @property
    def time_axis(self) -> str:
        """Where the frame times came from, in words; starts with ``ASSUMED`` when nothing stated them."""
        return getattr(self.source, "time_axis", "unknown")

    @property
    def units(self) -> FieldUnits:
        """The unit of every field, :class:`FieldUnits` (``units.forces``: "eV/Angstrom")."""
        return FieldUnits(**FIELD_UNITS)

    def __len__(self) -> int:
        return self.n_frames

    def __repr__(self) -> str:
        fields = ", ".join(self.source.fields + tuple(self.frame_fields))
        return (f"<Trajectory {self.source.describe()}: {self.n_frames} frames x {self.n_atoms} atoms "
                f"({fields}); {self.frame_interval:g} ps between frames; species {sorted(set(self.species.tolist()))}>")

    def __getitem__(self, key) -> "Trajectory":
        if isinstance(key, (int, np.integer)):
            k = int(key)
            if not -self.n_frames <= k < self.n_frames:
                raise IndexError(f"frame {k} is out of range for a trajectory of {self.n_frames} frames")
            k %= self.n_frames
            key = slice(k, k + 1)
        if isinstance(key, slice) and key.step == 0:
            raise ValueError("the frame step of a slice cannot be zero")
        try:
            frames = self._frames[key]
        except IndexError as exc:
            raise IndexError(f"{exc} (this trajectory has {self.n_frames} frames)") from None
        if np.ndim(frames) != 1:
            raise TypeError(f"select frames with an int, a slice or a 1-d array of frame indices, not {key!r}")
        child_selection = (f"[{'' if key.start is None else key.start}:{'' if key.stop is None else key.stop}"
                           f"{'' if key.step is None else f':{key.step}'}]" if isinstance(key, slice)
                           else "the selection") + f" of a {self.n_frames}-frame trajectory"
        child = Trajectory(self.source, frames, reference=self._reference_spec, chunk_frames=self.chunk_frames)
        child._reference_given = self.reference_given
        child._parent = self
        child._pass = self.__dict__.get("_pass")
        child._selection = child_selection
        child.species, child.masses = self.species, self.masses
        return child

    def rechunk(self, chunk_frames: int) -> "Trajectory":
        """The same frames, measured from the same reference, read in chunks of ``chunk_frames`` frames (a time
        average still to be taken is left so: the same frames have the same average).

        Parameters
        ----------
        chunk_frames : int
            Frames per chunk.
        """
        pending = not self.reference_known and getattr(self, "_parent", None) is None
        other = Trajectory(self.source, self._frames, reference=self._reference_spec if pending else self.reference,
                           chunk_frames=chunk_frames)
        other._pass, other._box = self.__dict__.get("_pass"), getattr(self, "_box", None)
        other.species, other.masses = self.species, self.masses
        other._reference_given = self.reference_given
        other._reference_average = self.reference_is_average
        return other

    def with_reference(self, reference, same_pass: bool = False) -> "Trajectory":
        """The same frames measured from another reference (as ``reference=`` of :func:`trajmodes.read`); with
        ``same_pass``, read in the pass this view is read in (:meth:`in_pass`; the work added to it is computed in
        the other's).

        Parameters
        ----------
        reference : None, "first", "average", path, Structure or array
            The new reference, as ``reference=`` of :func:`trajmodes.read`.
        same_pass : bool
            Read in the pass this view is read in.
        """
        other = Trajectory(self.source, self._frames, reference=reference, chunk_frames=self.chunk_frames)
        other.species, other.masses = self.species, self.masses
        if same_pass:
            other._pass = self.__dict__.get("_pass")
        if not (isinstance(reference, str) and reference in ("first", "average")):
            other.reference
        return other

    # --- dask arrays -----------------------------------------------------------------------------
    def read_chunks(self) -> list[np.ndarray]:
        """The frames of the source each read task reads: ``chunk_frames`` at most; where the source stores frames in blocks
        (``frame_block``, a cache's chunk frames) no larger than ``chunk_frames``, split at multiples of the largest
        multiple of the block that fits, so that every task reads whole chunks of the file and only its own."""
        n, c = self.n_frames, self.chunk_frames
        if n == 0:
            return [self._frames[:0]]
        block = int(getattr(self.source, "frame_block", 1))
        fr = self._frames
        if 1 < block <= c and (n == 1 or bool((np.diff(fr) > 0).all())):
            span = c // block * block
            cuts = np.flatnonzero(np.diff(fr // span)) + 1
            return [g for g in np.split(fr, cuts)]
        return [fr[i:i + c] for i in range(0, n, c)]

    def read_layer(self, fields: tuple):
        """One read task per chunk, parsing ``fields`` (every field array of the layer shares it): (the layer's name,
        its graph, the frames of each chunk). Its tasks take the frames held by the pass these frames are read in
        (:meth:`in_pass`), where there is one.

        Parameters
        ----------
        fields : tuple of str
            The fields the read tasks parse.
        """
        from trajmodes.resources import on_workers, scattering_client
        client = scattering_client()
        key = (fields, None if client is None else client.id)
        if key not in self._layers:
            chunks = self.read_chunks()
            name = "trajmodes-read-" + tokenize(self.source.token(), fields, [c.tobytes() for c in chunks])
            held = None
            if client is None:
                # the reader is one node of the graph, which every read task takes, and so is the pass these
                # frames are read in, which may hold some of the frames already (parsed ahead of it)
                source = "trajmodes-source-" + tokenize(self.source.token())
                layer = {source: self.source}
                reading = self.__dict__.get("_pass")
                if self.source.format not in STORED_FORMATS and reading is not None:
                    held = f"trajmodes-held-{id(reading):x}-" + tokenize(self.source.token())
                    layer[held] = reading
            else:
                # scattered to the cluster's workers once (its per-atom tables are 35 MB at 10^6 atoms)
                source, layer = on_workers(self.source), {}
            for i, fr in enumerate(chunks):
                layer[(name, i)] = (read_chunk, source, fr, fields, held)
            self._layers[key] = (name, layer, tuple(len(c) for c in chunks))
        return self._layers[key]

    def _field(self, field: str, tail: tuple, fields: tuple | None = None) -> da.Array:
        """Dask array of one field; ``fields`` picks the read layer (default: all per-atom fields, shared)."""
        fields = tuple(self.source.fields) if fields is None else fields
        name = f"trajmodes-{field}-" + tokenize(self.read_layer(fields)[0])
        return self.map_chunks(operator.getitem, field, layer=fields, shape=tail, dtype=np.float64, name=name)

    def map_chunks(self, func, *args, layer: tuple, shape: tuple, dtype, name: str,
                   per_chunk: bool = False, chunk_args: list | None = None) -> da.Array:
        """A Dask array with one block per chunk of frames: ``func(data, *args)``, one task each.

        ``data`` is the dict a read task returns for the chunk: the per-atom fields of ``layer`` (frames, atoms, 3),
        ``cells`` (frames, 3, 3) when the source has a cell, and ``origins`` (frames, 3); the read is shared with
        every array taken through the same ``layer``. ``func`` returns the block, (chunk frames,) + ``shape`` of
        ``dtype``; ``name`` must be unique to ``func`` and ``args`` (it names the tasks). ``per_chunk``: ``func``
        returns one row per chunk, (1,) + ``shape`` (a sum over the chunk's frames), and the array has a row per chunk.
        ``chunk_args``: one more argument for each chunk, after ``args`` (:meth:`chunk_bounds` gives the chunks'
        frames).

        Parameters
        ----------
        func : callable
            ``func(data, *args)`` returns the block of one chunk.
        *args
            Passed to every call of ``func``.
        layer : tuple of str
            The fields the read tasks parse; arrays taken through the same layer share one parse of each chunk.
        shape : tuple of int
            The shape of one frame's (or, with ``per_chunk``, one chunk's) value.
        dtype : numpy dtype
            The dtype of the blocks.
        name : str
            Unique to ``func`` and ``args``: it names the tasks.
        per_chunk : bool
            ``func`` returns one row per chunk (a sum over its frames).
        chunk_args : list, optional
            One more argument for each chunk, after ``args``.
        """
        read, layer_graph, sizes = self.read_layer(tuple(layer))
        if per_chunk:
            sizes = (1,) * len(sizes)
        more = [()] * len(sizes) if chunk_args is None else [(a,) for a in chunk_args]
        # on a dask.distributed cluster an object (a reference crystal, a projector) is scattered to the workers
        # once, not copied into every task (:func:`~trajmodes.resources.on_workers`)
        from trajmodes.resources import on_workers
        refs = [a if isinstance(a, _INLINE) else on_workers(a) for a in args]
        dsk = {(name, i) + (0,) * len(shape): (func, (read, i)) + tuple(refs) + more[i] for i in range(len(sizes))}
        graph = HighLevelGraph({read: layer_graph, name: dsk}, {read: set(), name: {read}})
        return da.Array(graph, name, chunks=(sizes,) + tuple((s,) for s in shape), dtype=dtype)

    def chunk_bounds(self) -> np.ndarray:
        """The positions in the selection where the read tasks' chunks of frames begin, and its length at the end:
        chunk i holds frames ``bounds[i]:bounds[i + 1]`` of the selection (:meth:`map_chunks`)."""
        return np.concatenate([[0], np.cumsum(self.read_layer(tuple(self.source.fields))[2])]).astype(int)

    def displacements_of_chunks(self, reference: Structure | None = None, drift: str = "kept") -> "Displacements":
        """The displacements of one chunk's read data (for :meth:`map_chunks`), from ``reference`` (default
        :attr:`reference`), as :meth:`displacements` computes them.

        Parameters
        ----------
        reference : Structure, optional
            Measure from this crystal; default :attr:`reference`.
        drift : str
            The crystal's rigid translation in each frame "kept", "removed" or "followed", as :meth:`displacements`.
        """
        ref = self.reference if reference is None else reference
        check_reference_atoms(ref, self.n_atoms)
        stored = bool(getattr(self.source, "stored_displacements", False)) and ref is getattr(self.source,
                                                                                            "reference", None)
        return Displacements(ref, stored, self.source.has_cell, drift, self._drift_weight(ref))

    def _drift_weight(self, ref: Structure) -> np.ndarray | None:
        """The atoms' masses (amu) that weight the crystal's drift: the reference's, else the run's, else None."""
        return ref.masses if ref.masses is not None else self.masses

    @property
    def positions(self) -> da.Array:
        return self._field("positions", (self.n_atoms, 3))

    @property
    def velocities(self) -> da.Array | None:
        return self._field("velocities", (self.n_atoms, 3)) if "velocities" in self.source.fields else None

    @property
    def forces(self) -> da.Array | None:
        return self._field("forces", (self.n_atoms, 3)) if "forces" in self.source.fields else None

    @property
    def cells(self) -> da.Array | None:
        return self._field("cells", (3, 3)) if self.source.has_cell else None

    @property
    def origins(self) -> da.Array:
        return self._field("origins", (3,))

    @property
    def frame_fields(self) -> tuple:
        """The per-frame quantities the data have, of ``potential_energy``, ``pressure``, ``pressure_tensor``."""
        return tuple(getattr(self.source, "frame_fields", ()))

    @property
    def potential_energy(self) -> da.Array | None:
        """Potential energy of the cell in every frame, (n_frames,) eV; None when the data have none.

        Read through its own lean layer (a LAMMPS log's values need no parse of the dump); to share one parse
        with other fields, use ``field("potential_energy", layer)`` with the same ``layer`` for all.
        """
        return self._frame_field("potential_energy")

    @property
    def pressure(self) -> da.Array | None:
        """Pressure in every frame, (n_frames,) GPa, positive when compressed, as the source reports it (LAMMPS'
        thermo ``press`` includes the kinetic term); None when the data have none. Read as
        :attr:`potential_energy`."""
        return self._frame_field("pressure")

    @property
    def pressure_tensor(self) -> da.Array | None:
        """Pressure tensor in every frame, (n_frames, 3, 3) GPa, LAMMPS' sign (minus the stress); None when the
        data have none. Read as :attr:`potential_energy`."""
        return self._frame_field("pressure_tensor")

    def _frame_field(self, name: str) -> da.Array | None:
        return self.field(name) if name in self.frame_fields else None

    def read(self, frames=None) -> Frames:
        """Read frames eagerly into numpy arrays (the whole selection when ``frames`` is None), as :class:`Frames`.

        Parameters
        ----------
        frames : int, slice, array of int or None
            Which frames of the selection to read (indices into it, numbered from 0, as numpy indexes); None reads
            them all.
        """
        sel = self._frames if frames is None else self._frames[frames]
        return Frames(**self.source.read(np.atleast_1d(sel)))

    # --- reference and displacements ---------------------------------------------------------------
    def require_frames(self) -> None:
        """Raise a clear error when this trajectory (a selection) holds no frames."""
        if self.n_frames == 0:
            sel = getattr(self, "_selection", None)
            raise ValueError(f"{sel or 'this trajectory'} selects no frames ({self.source.describe()}): "
                             "there is nothing to compute; frames are numbered from 0")

    @property
    def reference(self) -> Structure:
        """The reference crystal displacements are measured from (computed on first use)."""
        if self._reference is None:
            self.require_frames()
            parent = getattr(self, "_parent", None)
            if parent is not None and isinstance(self._reference_spec, str) and \
                    self._reference_spec in ("first", "average"):
                self._reference = parent.reference
            else:
                self._reference = reference_structure(self, self._reference_spec)
        return self._reference

    @property
    def lattice_reference(self) -> Structure:
        """The reference where only its cell and the lattice sites of its atoms count (which q are commensurate with
        the cell, which site each atom is on): :attr:`reference` when it is at hand; while the run's time average is
        still to be taken, the :meth:`~trajmodes.trajectory.passes.Pass.provisional_reference` of the pass these frames
        are read in (:meth:`in_pass`; else of a pass of their own) where the source allows one (no pass over the
        frames)."""
        if not self.reference_known:
            prov = self._reading().provisional_reference()
            if prov is not None:
                return prov
        return self.reference

    @property
    def lattice_cell(self) -> np.ndarray | None:
        """The cell of :attr:`lattice_reference`, (3, 3) Å, rows a, b, c (None without one), for work that needs only
        the cell (which q are commensurate with it): while the run's time average is still to be taken, the mean of the
        frames' boxes, read from their headers alone (the cell of the average and of the provisional reference):
        no frame is parsed, so the pass that takes the provisional reference later reads its frames itself."""
        if self.provisional_allowed():
            return self.mean_box()[0]
        return self.reference.cell

    def provisional_allowed(self) -> bool:
        """Whether :meth:`~trajmodes.trajectory.passes.Pass.provisional_reference` can stand in for the time average
        (see its Returns)."""
        return not (self.reference_known or getattr(self, "_parent", None) is not None or not self.source.has_cell
                    or not hasattr(self.source, "frame_boxes") or self.n_frames < 2)

    def mean_box(self) -> tuple[np.ndarray, np.ndarray]:
        """The mean cell (3, 3) and origin (3,) of the frames, A, from their headers (read once)."""
        box = getattr(self, "_box", None)
        if box is None:
            cells, origins = self.source.frame_boxes(self._frames)
            box = self._box = (cells.mean(axis=0), origins.mean(axis=0))
        return box

    def mean_displacement(self, reference: Structure) -> "MeanDisplacement":
        """The mean over these frames of the displacements from ``reference``, (atoms, 3) Å, as an accumulator to
        be added to a pass (:class:`~trajmodes.trajectory.passes.MeanDisplacement`; ``reading.add(...)``, which
        returns its result's handle).

        Parameters
        ----------
        reference : Structure
            The crystal the displacements are measured from.
        """
        from trajmodes.trajectory.passes import MeanDisplacement
        return MeanDisplacement(self, reference)

    def holding(self, frames) -> "HeldFrames":
        """Some ``frames`` of these (indices into them) to hold in memory from a pass, as an accumulator to join it
        (:class:`~trajmodes.trajectory.passes.HeldFrames`); :meth:`held` makes its result a trajectory.

        Parameters
        ----------
        frames : array of int
            Indices of the frames to hold, into this trajectory's selection (numbered from 0).
        """
        from trajmodes.trajectory.passes import HeldFrames
        return HeldFrames(self, frames)

    def average_from_mean(self, provisional: Structure, mean_u: np.ndarray) -> Structure:
        """The time average of the run from the mean over its frames of the displacements from
        :meth:`~trajmodes.trajectory.passes.Pass.provisional_reference` (atoms, 3) Å. Returned, not kept: the
        work that took it says so (an estimator's ``time_average_``), and :meth:`with_average` measures the frames
        from it.

        Parameters
        ----------
        provisional : Structure
            The provisional reference the displacements were measured from.
        mean_u : ndarray (atoms, 3)
            Their mean over the frames, Å.
        """
        p = provisional
        return Structure(p.positions + mean_u, p.cell, self.species, self.masses, p.origin)

    def with_average(self, average: Structure) -> "Trajectory":
        """The same frames measured from their time average, taken already: ``average`` (as a pass gave it,
        :meth:`average_from_mean`, or a cache stores it); :attr:`reference_is_average` is true, and no pass takes it
        again.

        Parameters
        ----------
        average : Structure
            The frames' time average.

        Raises
        ------
        ValueError
            Where ``average`` has other atoms than these frames.
        """
        if len(average.positions) != self.n_atoms:
            raise ValueError(f"the time average given has {len(average.positions)} atoms and "
                             f"{self.source.describe()} {self.n_atoms}: give the average of these frames")
        other = Trajectory(self.source, self._frames, reference="average", chunk_frames=self.chunk_frames)
        other.species, other.masses, other._box = self.species, self.masses, getattr(self, "_box", None)
        other._reference_given = self.reference_given
        other._reference = average
        return other

    def frame_structure(self, i: int) -> Structure:
        """Frame ``i`` of the selection as a Structure (positions, cell and origin in Å).

        Parameters
        ----------
        i : int
            Frame index within the selection.
        """
        d = self.source.read(self._frames[[i]])
        cell = d["cells"][0] if self.source.has_cell else None
        return Structure(d["positions"][0], cell, self.species, self.masses, d["origins"][0])

    def average_structure(self) -> Structure:
        """The time average of the run (one streamed pass, positions only): mean cell and origin, and each atom's mean
        fractional position (its displacements from the first frame, in the first frame's cell, averaged) in the mean
        cell."""
        self.require_frames()
        first = self.frame_structure(0)
        terms = self.average_terms(first, ("positions",))
        sums = dask.compute({k: frame_sum(v) for k, v in terms.items()})[0]
        return self.average_from_sums(first, sums)

    def average_terms(self, first: Structure, layer: tuple) -> dict:
        """What :meth:`average_structure` sums over the frames, lazy per frame and read through ``layer`` (to share
        the pass with other work): ``u`` (frames, atoms, 3) the displacements from ``first`` (frame 0) in Å, and
        with a cell ``cells`` (frames, 3, 3) and ``origins`` (frames, 3) in Å (the crystal's drift "followed", as
        :meth:`displacements` says: a crystal a net momentum carries beyond half a cell still averages onto its
        sites). :meth:`average_from_sums` turns their sums over the frames into the average.

        Parameters
        ----------
        first : Structure
            Frame 0, which the displacements are measured from.
        layer : tuple of str
            The fields the read tasks parse; arrays taken through the same layer share one parse of each chunk.
        """
        layer = tuple(layer)
        terms = {"u": self._displacements_from(first, layer, "followed")}
        if self.source.has_cell:
            terms["cells"] = self._field("cells", (3, 3), layer)
            terms["origins"] = self._field("origins", (3,), layer)
        return terms

    def average_from_sums(self, first: Structure, sums: dict) -> Structure:
        """The time average of the run (:meth:`average_structure`) from the sums over the frames of its
        :meth:`average_terms`.

        Parameters
        ----------
        first : Structure
            Frame 0, as :meth:`average_terms` was given it.
        sums : dict
            The sums over the frames of :meth:`average_terms`' arrays.
        """
        n = self.n_frames
        mean_u = sums["u"] / n
        if not self.source.has_cell:
            return Structure(first.positions + mean_u, None, self.species, self.masses, first.origin)
        cell, origin = sums["cells"] / n, sums["origins"] / n
        inv = np.linalg.inv(first.cell)
        s = (first.positions - first.origin) @ inv + mean_u @ inv
        return Structure(s @ cell + origin, cell, self.species, self.masses, origin)

    def _displacements_from(self, ref: Structure, layer: tuple = ("positions",), drift: str = "kept") -> da.Array:
        from trajmodes.resources import on_workers
        lean = tuple(layer)  # by default parse only the position columns (about 3x faster than all)
        pos = self._field("positions", (self.n_atoms, 3), lean)
        origins = self._field("origins", (3,), lean)
        if self.source.has_cell:
            cells = self._field("cells", (3, 3), lean)
        else:
            cells = da.full((self.n_frames, 3, 3), np.nan, chunks=(pos.chunks[0], 3, 3))
        # the reference scattered to a cluster's workers once, not copied into every task; the drift's weights are its
        # masses (None), else the run's
        weight = None if check_drift(drift) == "kept" or ref.masses is not None or self.masses is None else \
            on_workers(self.masses)
        return da.blockwise(displacements_of_frames, "tij", pos, "tij", cells, "tab", origins, "tb", on_workers(ref),
                            None, drift, None, weight, None, dtype=np.float64, concatenate=True)

    def displacements(self, layer: tuple = ("positions",), reference: Structure | None = None,
                      drift: str = "kept") -> da.Array:
        """Displacements u(t) from the reference crystal, (n_frames, n_atoms, 3) in Å (lazy).

        Every frame is mapped onto the reference cell through fractional coordinates
        (:func:`displacements_of_frames`): correct for wrapped, unwrapped and scaled coordinates, image flags, and
        for variable cells (NPT), where a uniformly strained perfect crystal has zero displacement. In a fixed
        cell u is the minimum-image difference r(t) - r0. For NPT runs, use ``reference="average"`` (or the data
        file at the mean volume) so that the reference cell is the mean cell.

        ``layer`` names the fields parsed by the read tasks (default positions only); pass the
        fields of another array computed together, e.g. ``("positions", "velocities")`` with
        :meth:`field`, so that each chunk of the file is parsed once. ``reference``: measure from this
        structure instead of :attr:`reference` (same atoms; e.g. the ideal lattice sites of a fit).

        Parameters
        ----------
        layer : tuple of str
            The fields the read tasks parse; arrays taken through the same layer share one parse of each chunk.
        reference : Structure, optional
            Measure from this crystal instead of the trajectory's reference.
        drift : str
            The crystal's rigid translation in each frame s(t) (its centre of mass's displacement, weighted by the
            masses of the reference or the run, equal without them; :mod:`~trajmodes.trajectory.displacements`):
            "kept" (default) in the minimum images about each atom's site, which wrap once the drift passes half a cell
            width; "removed": u(t) = wrap(r(t) - r0 - s(t)), right however far a run with a net momentum carries the
            crystal, what the fit, the crystal check, the mode projection, the free energy and the Kubo estimators use
            (a uniform translation exerts no force, and moves only the acoustic modes at Gamma, whose amplitude it sets
            to zero); "followed": wrap(r(t) - r0 - s(t)) + s(t), the minimum images while the drift is small and one
            crystal beyond (the time averages).
        """
        ref = self.reference if reference is None else reference
        check_reference_atoms(ref, self.n_atoms)
        if not self.source.has_cell and ref.cell is None:
            warnings.warn("the trajectory has no periodic cell and neither has the reference: displacements "
                          "are plain differences (no minimum image)", UserWarning, stacklevel=2)
        if getattr(self.source, "stored_displacements", False) and ref is getattr(self.source, "reference", None):
            # read through the same layer (the cache reads its displacements for "positions")
            u = self._field("displacements", (self.n_atoms, 3), tuple(dict.fromkeys(("positions", *layer))))
            if check_drift(drift) == "kept":
                return u
            from trajmodes.resources import on_workers
            return da.blockwise(remove_drift, "tij", u, "tij", ref.cell, None, on_workers(self._drift_weight(ref)),
                                None, drift, None, dtype=np.float64, concatenate=True)
        return self._displacements_from(ref, tuple(layer), drift)

    def field(self, name: str, layer: tuple | None = None) -> da.Array:
        """One per-atom field ("positions", "velocities", "forces"; "heat_flux", (atoms, 3, 3) eV, where the source
        has it: :attr:`~trajmodes.io.trajectories.lammps.LammpsDumpSource.has_heat_flux`), per-frame quantity
        ("potential_energy", "pressure", "pressure_tensor", "heat_current") or the box ("cells", "origins": parsed
        with every layer) read through the given layer.

        ``layer`` names the fields its read tasks parse (default: the per-atom fields for a per-atom field, the
        quantity alone for a per-frame one); arrays taken with the same ``layer`` (and :meth:`displacements` with
        it) share one parse of each chunk.

        Parameters
        ----------
        name : str
            The field, the per-frame quantity or ``"cells"`` / ``"origins"``.
        layer : tuple of str, optional
            The fields the read tasks parse; arrays taken through the same layer share one parse of each chunk.
        """
        box = {"cells": (3, 3), "origins": (3,)}             # read with every layer
        if name in box:
            if name == "cells" and not self.source.has_cell:
                raise ValueError(f"{self.source.describe()} has no periodic cell")
            return self._field(name, box[name], tuple(self.source.fields) if layer is None else tuple(layer))
        if name == "heat_flux" and getattr(self.source, "has_heat_flux", False):
            # each atom's share of the heat current as a matrix on its velocity, (atoms, 3, 3) eV
            return self._field(name, (self.n_atoms, 3, 3), ("heat_flux",) if layer is None else tuple(layer))
        if name not in self.source.fields and name not in self.frame_fields:
            missing = (self.source.heat_current_missing() if name == "heat_current" and
                       hasattr(self.source, "heat_current_missing") else ())
            raise ValueError(f"{self.source.describe()} has no {name.replace('_', ' ')}" + (
                f": its frames lack {'; '.join(missing)}; or read the heat current the run wrote "
                "(trajmodes.io.read_heat_current of its LAMMPS log, fix ave/time file or GPUMD compute.out)"
                if missing else ""))
        if layer is None and name in FRAME_SHAPES:
            layer = (name,)
        if layer is not None and name not in layer:
            raise ValueError(f"layer={tuple(layer)} does not read {name!r}: add it to the layer")
        tail = FRAME_SHAPES.get(name, (self.n_atoms, 3))
        return self._field(name, tail, None if layer is None else tuple(layer))

    def require_masses(self) -> np.ndarray:
        """The atoms' masses (amu) for work that needs them (a fit): :attr:`masses`, or the standard ones of the
        species, checked before anything is read or written; else a ValueError that says what to give (the source's
        :attr:`~trajmodes.io.trajectories.base.FrameSource.masses_problem`, why the run's own files did not say them;
        :func:`~trajmodes.lattice.crystal.masses_or_error`)."""
        from trajmodes.lattice.crystal import masses_or_error
        return masses_or_error(self.species, self.masses, getattr(self.source, "masses_problem", None))

    def temperature(self, layer: tuple = ("velocities",)) -> da.Array:
        """Kinetic temperature of every frame in K, from the velocities less the centre of mass's, with 3N-3 degrees of
        freedom (as LAMMPS' ``compute temp/com``): the motion of the crystal as a whole (a net momentum) is no heat.

        Parameters
        ----------
        layer : tuple of str
            The fields the read tasks parse (default velocities only), as in :meth:`displacements`.
        """
        if self.velocities is None:
            raise ValueError(f"{self.source.describe()} has no velocities: the temperature needs vx vy vz")
        if self.masses is None:
            raise ValueError(getattr(self.source, "masses_problem", None) or
                             "the atomic masses are unknown: pass species= (elements of the LAMMPS types) or "
                             "masses= to trajmodes.read, or a reference data file with a Masses section")
        m = np.asarray(self.masses, dtype=float)
        v = self._field("velocities", (self.n_atoms, 3), tuple(layer))
        # one task per chunk: its velocities are freed once used (separate reductions would hold them)
        ke = v.rechunk({1: -1, 2: -1}).map_blocks(_internal_kinetic_energy, m, drop_axis=(1, 2), dtype=np.float64)
        dof = max(3 * self.n_atoms - 3, 1)
        return 2.0 * ke / (dof * KB_EV)

    def held(self, frames, values: dict) -> "Trajectory":
        """The ``frames`` held from a pass (:class:`~trajmodes.trajectory.passes.HeldFrames`) from their ``values``, as a trajectory in memory with
        this one's atoms, times and reference (the run's time average, taken by then where it was to be taken).

        Parameters
        ----------
        frames : array_like of int
            The indices of the frames held.
        values : dict
            Their arrays by field (``positions``, ``cells``, ``origins``; ``velocities``, ``forces`` where held).

        Returns
        -------
        Trajectory
        """
        from trajmodes.io.trajectories.memory import ArraySource
        sel = np.asarray(frames, dtype=np.int64)
        t = self.times[sel]
        src = ArraySource(values["positions"], values["cells"], self.species, masses=self.masses,
                          velocities=values.get("velocities"), forces=values.get("forces"),
                          frame_interval=float(np.median(np.diff(t))) if len(t) > 1 else 1.0,
                          unwrapped=bool(getattr(self.source, "unwrapped", False)), origins=values["origins"])
        src.paths = list(getattr(self.source, "paths", src.paths))
        src.times, src.steps = np.asarray(t, float), self.steps[sel]
        src.md_timestep, src.time_axis = self.md_timestep, self.time_axis
        src.kinetic_temperature = getattr(self.source, "kinetic_temperature", True)   # False: a ring polymer's beads
        held = Trajectory(src, reference=self.reference, chunk_frames=self.chunk_frames)
        held._reference_average = self.reference_is_average
        return held

    # --- output ---------------------------------------------------------------------------------
    def to_netcdf(self, path, *, displacements: bool = False, progress: bool = False, attrs=None,
                  statistics=None, fields: tuple | None = None) -> dict:
        """Write the trajectory as a chunked netCDF4 cache that :func:`trajmodes.read` reads back, in one pass over
        the frames.

        Each chunk of frames is parsed once, for every field written and for ``statistics``. A reference that is the
        run's time average (``reference="average"``, not yet computed) is summed in the same pass and written at the
        end (unless ``displacements``, which need it first): the cache's reference, read back from it
        (``read(path).reference``, or :meth:`with_average` of it); this trajectory is left as it was.

        Parameters
        ----------
        path : str
            Output file; written under a temporary name and renamed when complete.
        displacements : bool
            Store displacements from the reference instead of positions.
        progress : bool
            Show a progress bar.
        attrs : dict or callable, optional
            Global attributes to add to the provenance (:mod:`trajmodes.io.provenance`) every cache carries; a
            callable is given the computed ``statistics`` (attributes known only after the pass, such as the run's
            mean temperature) and returns them.
        statistics : callable, optional
            ``statistics(traj, layer)`` returns a dict name -> lazy array over the frames (frames first) of ``traj``,
            these frames chunked as the cache is written, read through its :meth:`field` ``layer``; they are computed
            in the same pass as the cache. ``traj.reference_known`` says whether its reference may be used (False
            while the time average is summed in this pass).
        fields : tuple of str, optional
            The source's fields to store (default: all it holds; positions always). The pass still reads the
            velocities and per-frame quantities for ``statistics`` (a temperature).

        Returns
        -------
        dict
            The values of ``statistics`` (empty without).
        """
        from trajmodes.io.trajectories.netcdf import CacheContents, cache_chunks, write_cache
        from trajmodes.io.provenance import provenance
        self.require_frames()
        in_pass = not self.reference_known and not displacements and getattr(self, "_parent", None) is None
        ref = None if in_pass else self.reference
        block = cache_chunks(self.n_frames, self.n_atoms)[0]
        step = max(1, self.chunk_frames // block) * block             # whole rows of the cache's chunks per task
        t = Trajectory(self.source, self._frames, reference="average" if in_pass else ref, chunk_frames=step)
        t.species, t.masses, t._reference_given = self.species, self.masses, self.reference_given
        t._reference, t._reference_average = ref, self.reference_is_average
        every = tuple(self.source.fields) + self.frame_fields             # one read task per chunk for all
        if fields is not None:
            stored = ("positions",) + tuple(f for f in fields if f != "positions")
            unknown = [f for f in stored if f not in self.source.fields]
            if unknown:
                raise ValueError(f"fields {unknown} are not in the trajectory (it holds {', '.join(self.source.fields)})")
            every = tuple(f for f in every if f in stored or f == "velocities" or f in self.frame_fields)
        else:
            stored = every
        arrays = {f: t.field(f, every) for f in stored}
        if displacements:
            arrays["displacements"] = t.displacements(layer=every)
            del arrays["positions"]
        if self.source.has_cell:
            arrays["cells"] = t._field("cells", (3, 3), every)
        arrays["origins"] = t._field("origins", (3,), every)
        first = self.frame_structure(0) if in_pass else None
        contents = CacheContents(times=self.times, steps=self.steps, ids=self.source.ids, species=self.species,
                                 masses=self.masses, reference=ref, source=self.source.describe(),
                                 source_units=self.source.units, time_axis=self.time_axis,
                                 md_timestep=self.md_timestep, unwrapped=bool(self.source.unwrapped),
                                 has_cell=bool(self.source.has_cell), reference_is_average=self.reference_is_average)
        inputs = list(self.source.paths) + list(getattr(self.source, "thermo_paths", ()))
        meta = provenance(inputs, {"displacements": displacements, "frames": self.n_frames,
                                   "first_step": int(self.steps[0]), "last_step": int(self.steps[-1])})

        def complete(values: dict, sums: dict) -> dict:
            more = {"attrs": attrs(values) if callable(attrs) else {}}
            if in_pass:
                more["reference"] = self.average_from_sums(first, sums)
            return more

        values, _ = write_cache(path, arrays, contents, attrs={**meta, **({} if callable(attrs) else attrs or {})},
                                progress=progress, per_frame=statistics(t, every) if statistics else None,
                                summed=t.average_terms(first, every) if in_pass else None, complete=complete)
        return values


__all__ = ["Trajectory", "FIELDS", "Frames", "FieldUnits"]
