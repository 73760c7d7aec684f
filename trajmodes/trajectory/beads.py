"""Path-integral runs: trajectories with a bead axis.

A path-integral MD run samples the quantum canonical ensemble of the nuclei with P classical replicas of the crystal
per frame, the beads of a ring polymer (Ceriotti, Parrinello, Markland and Manolopoulos, J. Chem. Phys. 133, 124104
(2010): the PILE thermostats; Kapil et al., Comput. Phys. Commun. 236, 214 (2019): i-PI 2.0). The codes write one file
per bead: i-PI ``PREFIX.pos_K.xyz`` (with ``PREFIX.for_K.xyz``, ``PREFIX.vel_K.xyz`` and the centroid
``PREFIX.xc.xyz``; :mod:`trajmodes.io.trajectories.ipi`), LAMMPS ``fix pimd/langevin`` one dump per partition
(``dump 1 all custom 10 dump.${ibead} ...`` run as ``mpirun -np P lmp -partition Px1 -in in.pimd``), GPUMD's
``dump_beads`` ``beads_dump_K.xyz`` beside its ``run.in`` (:mod:`trajmodes.io.trajectories.gpumd`).

:func:`~trajmodes.io.trajectories.bead_files.find_beads` finds the bead files of a run from one of them (or the
prefix) and what its input says (:class:`~trajmodes.io.trajectories.bead_files.BeadFiles`; the registry,
:func:`~trajmodes.io.trajectories.registry.identify`, knows a path-integral run from any of its files);
:func:`read_beads` opens them as a :class:`RingPolymerRun`: the P bead trajectories, the pooled bead configurations
(:attr:`RingPolymerRun.pooled`, one trajectory of frames x beads samples, whose every read task parses each bead
file's frames of its chunk once: what a fit of the quantum ensemble reads), the positions with a bead axis (frames,
beads, atoms, 3) and the centroid. Units are metal (Å, eV/Å, Å/ps, ps, K) as everywhere.
"""
from __future__ import annotations

import math
import os

import dask.array as da
import numpy as np

from trajmodes.errors import TrajectoryFormatError
from trajmodes.io import BeadFiles, empty_frames, find_beads, gpumd_model_masses, open_source
from trajmodes.lattice import minimum_image
from trajmodes.trajectory.core import Trajectory, default_chunk_frames

__all__ = ["read_beads", "RingPolymerRun", "BeadSource", "CentroidSource", "centroid_positions"]


# ------------------------------------------------------------------------------------------------- the sources
def centroid_positions(positions: np.ndarray, cells: np.ndarray | None) -> np.ndarray:
    """The centroid of every atom's ring polymer, (frames, atoms, 3) Å, from bead positions (frames, beads, atoms, 3)
    A: each bead taken to its minimum image nearest bead 0 in the cell (frames, 3, 3) (so that a ring polymer across
    the cell's boundary is whole), then averaged. Without a cell (None or NaN) the plain average."""
    x = np.asarray(positions, dtype=float)
    if cells is None:
        return x.mean(axis=1)
    f, p, n, _ = x.shape
    delta = (x - x[:, :1]).reshape(f, p * n, 3)
    return x[:, 0] + minimum_image(delta, np.asarray(cells, dtype=float)).reshape(f, p, n, 3).mean(axis=1)


class BeadSource:
    """The bead configurations of a path-integral run as one source of frames x beads samples: sample ``f P + b``
    is bead ``b`` of frame ``f``. A read parses each bead's file once for the frames of all its samples asked for.
    It fulfils the contract of :class:`~trajmodes.io.trajectories.base.FrameSource` (its attributes and
    :meth:`read`), over the bead sources.

    The samples' times are the frame's time plus b / P of the time between frames (increasing, so that the sources'
    contract holds); they are no time series: :attr:`time_axis` says so.

    The per-frame quantities every bead's source has are the samples' (:attr:`frame_fields`): the potential energy
    of i-PI's beads (each bead's own from ``bead_potentials``, or the bead average ``potential`` of the frame for
    every bead: :func:`~trajmodes.io.trajectories.ipi_files.read_properties_energy`), which a fit sums into its
    ``energies_`` and the TDEP free energy U_0 = <U - 1/2 u Phi u> over the beads takes
    (:mod:`trajmodes.quantum.free_energy`). :attr:`energy_problem` says why the samples have none where a bead lacks
    it.
    """

    format = "ring-polymer"
    masses_from = None
    types = None
    #: the beads' velocities do not measure the run's temperature: the ring polymer's momenta are sampled at P times
    #: it (its Hamiltonian at beta / P; Ceperley, Rev. Mod. Phys. 67, 279 (1995)), so a fit of these samples takes
    #: the temperature the run's input states, not their kinetic temperature
    kinetic_temperature = False

    def __init__(self, sources: list):
        self.sources = list(sources)
        first = self.sources[0]
        self.n_beads = p = len(self.sources)
        for b, s in enumerate(self.sources[1:], 1):
            why = None
            if s.n_atoms != first.n_atoms:
                why = f"{s.n_atoms} atoms, bead 0 {first.n_atoms}"
            elif s.n_frames != first.n_frames:
                why = f"{s.n_frames} frames, bead 0 {first.n_frames}"
            elif not np.array_equal(s.steps, first.steps):
                k = int(np.flatnonzero(s.steps != first.steps)[0])
                why = f"frame {k} is step {int(s.steps[k])}, bead 0's is step {int(first.steps[k])}"
            elif not np.allclose(s.times, first.times, rtol=1e-9, atol=1e-12):
                k = int(np.flatnonzero(~np.isclose(s.times, first.times, rtol=1e-9, atol=1e-12))[0])
                why = f"frame {k} is at {s.times[k]:.8g} ps, bead 0's at {first.times[k]:.8g} ps"
            elif not np.array_equal(s.species, first.species):
                why = "other species than bead 0"
            if why is not None:
                raise TrajectoryFormatError(s.paths[0], f"bead {b} has {why} ({first.paths[0]})" if "frame " not in why
                                            else f"bead {b}: {why} ({first.paths[0]})",
                                            fix="give the files of one run, all beads written to the same step (cut "
                                                "the longer files to the frames every bead has)")
        self.fields = tuple(f for f in first.fields if all(f in s.fields for s in self.sources))
        # the per-frame quantities every bead has (i-PI's potential energy of the bead, or the bead average:
        # :func:`~trajmodes.io.trajectories.ipi_files.read_properties_energy`): sample f P + b carries bead b's of frame f
        self.frame_fields = tuple(f for f in getattr(first, "frame_fields", ())
                                  if all(f in getattr(s, "frame_fields", ()) for s in self.sources))
        lacking = next((s for s in self.sources if "potential_energy" not in getattr(s, "frame_fields", ())), None)
        #: why the samples have no potential energy (a bead's source's reason), or None
        self.energy_problem = None if lacking is None else getattr(lacking, "energy_problem", None)
        #: where the beads' potential energies come from (bead 0's source), or None
        self.energy_from = getattr(first, "energy_from", None) if lacking is None else None
        self.n_atoms, self.species, self.masses, self.ids = first.n_atoms, first.species, first.masses, first.ids
        self.n_frames = first.n_frames * p
        self.steps = np.repeat(first.steps, p)
        t = np.asarray(first.times, dtype=float)
        gap = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
        self.times = (t[:, None] + np.arange(p)[None, :] * gap / p).ravel()
        self.time_axis = (f"the {p} beads of every frame, at the frame's time ({first.time_axis}) plus b / {p} of "
                          "the time between frames: samples of the quantum ensemble, not a time series")
        self.md_timestep = None
        self.has_cell = all(s.has_cell for s in self.sources)
        self.unwrapped = all(s.unwrapped for s in self.sources)
        self.units = first.units
        self.masses_problem = getattr(first, "masses_problem", None)
        self.paths = [q for s in self.sources for q in s.paths]

    def read(self, frames, fields=None) -> dict:
        """Samples ``frames`` (ascending indices f P + b); see :meth:`FrameSource.read`."""
        frames = np.asarray(frames, dtype=np.int64).ravel()
        wanted = tuple(f for f in self.fields + self.frame_fields if fields is None or f in fields)
        out = empty_frames(len(frames), self.n_atoms, wanted)
        f, b = np.divmod(frames, self.n_beads)
        for bead in np.unique(b).tolist():
            rows = np.flatnonzero(b == bead)
            d = self.sources[bead].read(f[rows], wanted)
            for k in wanted + ("cells", "origins"):
                if isinstance(d.get(k), np.ndarray):
                    out[k][rows] = d[k]
        return out

    def frame_boxes(self, frames) -> tuple[np.ndarray, np.ndarray]:
        """Cells (n, 3, 3) and origins (n, 3) of samples ``frames``, A: those of bead 0's frame."""
        f = np.asarray(frames, dtype=np.int64) // self.n_beads
        s = self.sources[0]
        if hasattr(s, "frame_boxes"):
            return s.frame_boxes(f)
        d = s.read(f, ("positions",))
        return d["cells"], d["origins"]

    def token(self) -> tuple:
        return ("beads",) + tuple(s.token() for s in self.sources)

    def describe(self) -> str:
        return f"{self.n_beads} beads of {self.sources[0].describe()} ..."


class CentroidSource:
    """The centroid of a path-integral run, frame by frame: positions the bead average with every bead taken to its
    minimum image nearest bead 0 (:func:`centroid_positions`), forces and velocities the bead averages; the positions
    alone from i-PI's centroid file where there is one (``xc``). A frame source as
    :class:`~trajmodes.io.trajectories.base.FrameSource` says."""

    format = "ring-polymer-centroid"
    masses_from = None
    types = None

    def __init__(self, beads: BeadSource, xc=None):
        self.beads, self.xc = beads, xc
        p = beads.n_beads
        if xc is not None and (xc.n_atoms != beads.n_atoms or not np.array_equal(xc.steps, beads.steps[::p])):
            raise TrajectoryFormatError(xc.paths[0], "the centroid file does not have the beads' atoms and steps",
                                        fix="give the centroid file of the same run, or leave it out")
        self.fields = beads.fields
        self.frame_fields = ()
        self.n_atoms, self.species, self.masses, self.ids = beads.n_atoms, beads.species, beads.masses, beads.ids
        self.n_frames = beads.n_frames // p
        first = beads.sources[0]
        self.steps, self.times = first.steps, first.times
        self.md_timestep, self.time_axis = first.md_timestep, first.time_axis
        self.has_cell, self.units, self.unwrapped = beads.has_cell, "metal", False
        self.masses_problem = beads.masses_problem
        self.paths = list(beads.paths) + ([] if xc is None else list(xc.paths))

    def read(self, frames, fields=None) -> dict:
        frames = np.asarray(frames, dtype=np.int64).ravel()
        wanted = tuple(f for f in self.fields if fields is None or f in fields)
        if self.xc is not None and wanted == ("positions",):
            return self.xc.read(frames, wanted)
        p, n = self.beads.n_beads, len(frames)
        d = self.beads.read((frames[:, None] * p + np.arange(p)[None, :]).ravel(), wanted)
        out = {"cells": d["cells"][::p], "origins": d["origins"][::p]}
        for k in wanted:
            x = d[k].reshape(n, p, self.n_atoms, 3)
            out[k] = centroid_positions(x, out["cells"] if self.has_cell else None) if k == "positions" \
                else x.mean(axis=1)
        return out

    def frame_boxes(self, frames) -> tuple[np.ndarray, np.ndarray]:
        return self.beads.frame_boxes(np.asarray(frames, dtype=np.int64) * self.beads.n_beads)

    def token(self) -> tuple:
        return ("centroid",) + self.beads.token() + (() if self.xc is None else self.xc.token())

    def describe(self) -> str:
        return f"centroid of {self.beads.n_beads} beads of {self.beads.sources[0].describe()}"


# ------------------------------------------------------------------------------------------------- the run
class RingPolymerRun:
    """A path-integral run: P bead trajectories of the same atoms and frames, the run's temperature, the positions
    with a bead axis and the centroid.

    Made by :func:`read_beads`.

    Parameters
    ----------
    beads : sequence of Trajectory
        One per bead, in bead order: the same atoms and frames.
    temperature : float, optional
        The run's temperature, K.
    temperature_from : str, optional
        Where ``temperature`` came from, in words (given, or the run's input file).
    files : BeadFiles, optional
        The bead files and what the run's input says.
    centroid : Trajectory, optional
        The centroid, where the run wrote it; default computed from the beads.
    reference : optional
        The reference crystal of every bead, the pooled samples and the centroid (as :func:`trajmodes.read`'s).
    chunk_frames : int, optional
        Frames per chunk of the lazy reads.

    Attributes
    ----------
    beads : tuple of Trajectory
        One per bead, in bead order.
    n_beads, n_frames, n_atoms : int
        Number of beads P, of frames and of atoms.
    species, masses, times, steps
        As each bead's (masses amu, times ps).
    temperature : float or None
        K: given, or as the run's input states it (:attr:`temperature_from` says which); None when unknown.
    files : BeadFiles or None
        The bead files and what the run's input says (:func:`~trajmodes.io.trajectories.bead_files.find_beads`);
        None for beads given as trajectories.
    pooled : Trajectory
        The bead configurations as frames x beads samples (sample f P + b: bead b of frame f), with their forces:
        samples of the quantum ensemble for a fit. Its read tasks parse each bead file once for the frames of their
        chunk (chunks hold whole frames: a multiple of P samples).
    centroid : Trajectory
        The centroid (:class:`CentroidSource`), lazy like every trajectory.
    """

    def __init__(self, beads, *, temperature: float | None = None, temperature_from: str | None = None,
                 files: BeadFiles | None = None, centroid=None, reference=None,
                 chunk_frames: int | None = None):
        self.beads = tuple(beads)
        if len(self.beads) < 1:
            raise ValueError("a ring-polymer run needs at least one bead")
        self.files = files
        self.temperature = None if temperature is None else float(temperature)
        self.temperature_from = temperature_from
        self._source = BeadSource([t.source for t in self.beads])
        first = self.beads[0]
        self.n_beads, self.n_frames, self.n_atoms = len(self.beads), first.n_frames, first.n_atoms
        self.species, self.masses = first.species, first.masses
        p = self.n_beads
        if chunk_frames is None:
            chunk_frames = max(1, default_chunk_frames(self._source, self._source.n_frames) // p)
        self.chunk_frames = int(chunk_frames)
        self.pooled = Trajectory(self._source, reference=reference, chunk_frames=self.chunk_frames * p)
        self.pooled.species, self.pooled.masses = self.species, self.masses
        self._centroid_source = CentroidSource(self._source, centroid)
        self.centroid = Trajectory(self._centroid_source, reference=reference, chunk_frames=self.chunk_frames)
        self.centroid.species, self.centroid.masses = self.species, self.masses

    @property
    def times(self) -> np.ndarray:
        return self.beads[0].times

    @property
    def steps(self) -> np.ndarray:
        return self.beads[0].steps

    def __len__(self) -> int:
        return self.n_frames

    def __repr__(self) -> str:
        t = "temperature unknown" if self.temperature is None else f"{self.temperature:g} K"
        return (f"<RingPolymerRun {self.n_beads} beads x {self.n_frames} frames x {self.n_atoms} atoms, {t}; "
                f"{self.beads[0].source.describe()}>")

    def describe(self) -> str:
        """One line for messages: the code, the bead count, the temperature and where it came from."""
        if self.files is not None:
            line = self.files.describe()
            if self.temperature is not None and self.temperature_from and "given" in self.temperature_from:
                line = line.split(" at ")[0] + f" at {self.temperature:g} K (given)"
            return line
        t = "an unknown temperature" if self.temperature is None else f"{self.temperature:g} K"
        return f"path-integral run: {self.n_beads} beads at {t}"

    def require_temperature(self, what: str = "this") -> float:
        """The run's temperature, K; refuses, saying what to give, where it is unknown.

        Parameters
        ----------
        what : str
            What needs the temperature, named at the start of the error (e.g. ``"the Kubo estimators"``).
        """
        if self.temperature is None:
            files = self.files
            if files is not None and files.temperature_problem:
                where = f" ({files.temperature_problem})"
            elif files is not None and files.input:
                where = f" ({files.input} states none)"
            else:
                where = " (no input of the run found beside the files)"
            raise ValueError(f"{what} needs the temperature of the path-integral run, which is unknown{where}: give "
                             "temperature=<K> to read_beads (--temperature)")
        return self.temperature

    def field(self, name: str, layer: tuple | None = None) -> da.Array:
        """A per-atom field of every bead, (frames, beads, atoms, 3), lazy, read through ``layer`` of
        :attr:`pooled` (arrays taken through the same layer share one parse of each bead file).

        Parameters
        ----------
        name : str
            ``"positions"``, ``"velocities"`` or ``"forces"``.
        layer : tuple of str, optional
            The fields the read tasks parse.
        """
        x = self.pooled.field(name, layer)
        return x.reshape(self.n_frames, self.n_beads, self.n_atoms, 3)

    @property
    def positions(self) -> da.Array:
        """Bead positions, (frames, beads, atoms, 3) Å, lazy (every field of the beads read together)."""
        return self.field("positions")

    @property
    def forces(self) -> da.Array | None:
        """Bead forces, (frames, beads, atoms, 3) eV/Å, lazy; None where the files hold none."""
        return self.field("forces") if "forces" in self._source.fields else None

    @property
    def velocities(self) -> da.Array | None:
        """Bead velocities, (frames, beads, atoms, 3) Å/ps, lazy; None where the files hold none."""
        return self.field("velocities") if "velocities" in self._source.fields else None

    def centroid_positions(self, layer: tuple | None = None) -> da.Array:
        """The centroid positions, (frames, atoms, 3) Å, lazy, from the beads' positions read through ``layer``
        (:func:`centroid_positions`): computed with other arrays of the same layer, each bead file is parsed once.

        Parameters
        ----------
        layer : tuple of str, optional
            The fields the read tasks parse (as :meth:`field`'s); default every field of the bead files.
        """
        pos = self.field("positions", layer)
        if not self._source.has_cell:
            return pos.mean(axis=1)
        layer = tuple(self._source.fields) if layer is None else tuple(layer)
        cells = self.pooled.field("cells", layer)[:: self.n_beads]
        return da.blockwise(centroid_positions, "fna", pos, "fbna", cells, "fxy", dtype=np.float64, concatenate=True)


def _temperature_of(files: BeadFiles | None, given: float | None) -> tuple[float | None, str | None]:
    if given is not None:
        t = float(given)
        if not (math.isfinite(t) and t > 0):
            raise ValueError(f"temperature={given!r}: give the run's temperature in K, a positive number")
        if files is not None and files.temperature is not None and not math.isclose(t, files.temperature, rel_tol=1e-6):
            raise ValueError(f"temperature={t:g} K was given, but {files.input} states {files.temperature:g} K: leave "
                             "temperature= out, or give the input's")
        return t, "given"
    if files is not None and files.temperature is not None:
        return files.temperature, f"{files.input}"
    return None, None


def read_beads(paths_or_prefix, reference=None, temperature: float | None = None, *, md_timestep: float | None = None,
               frame_interval: float | None = None, chunk_frames: int | None = None, species=None, masses=None,
               units: str | None = None, centroid: bool = True) -> RingPolymerRun:
    """Open a path-integral run (i-PI, LAMMPS ``fix pimd/langevin`` or GPUMD ``ensemble pimd|rpmd|trpmd`` with
    ``dump_beads``) lazily, as a :class:`RingPolymerRun`.

    Parameters
    ----------
    paths_or_prefix : str, path, BeadFiles, or sequence of paths
        One bead's file, i-PI's output prefix or the folder of GPUMD's bead files (the others found by
        :func:`find_beads`), the :class:`BeadFiles` that :func:`find_beads` found (not searched again), or every
        bead's file in bead order.
    reference : optional
        The reference crystal of every bead, the pooled samples and the centroid (as :func:`trajmodes.read`'s).
    temperature : float, optional
        K; default the temperature the run's input states (i-PI's ``<ensemble><temperature>``, LAMMPS' ``fix
        pimd/langevin ... temp T``, GPUMD's ``ensemble pimd P T1 T2 ...`` with T1 = T2, or for ``rpmd``/``trpmd`` T2
        of the ``pimd`` line before). A value that contradicts the input's is refused; where the input states none
        (no run.in, a temperature ramp) the value given is taken.
    md_timestep, frame_interval : float, optional
        ps, for files that do not say (as :func:`trajmodes.read`'s).
    chunk_frames : int, optional
        Frames per read task (each task reads every bead of its frames).
    species, masses, units : optional
        For LAMMPS dumps, as :func:`trajmodes.read`'s (masses in amu; default: the input's ``mass`` commands and
        ``units``). GPUMD's beads take the masses of model.xyz's ``mass`` column where it has one (else the species' standard atomic
        weights, as GPUMD does); their units are fixed (Å, Å/fs, eV/Å, fs: converted to Å/ps and ps).
    centroid : bool
        Read i-PI's centroid file ``PREFIX.xc.xyz`` for the centroid positions where there is one (else they are the
        beads' average).

    Returns
    -------
    RingPolymerRun

    Raises
    ------
    trajmodes.errors.TrajectoryFormatError
        A missing bead; beads with other atom counts, frame counts, steps, times or species; a bead count the input
        states otherwise; GPUMD bead files with more frames than run.in's runs write (files appended to by an earlier
        run).
    """
    from trajmodes.trajectory.reading import read
    given = not isinstance(paths_or_prefix, (str, os.PathLike, BeadFiles))
    if isinstance(paths_or_prefix, BeadFiles):
        files = paths_or_prefix
        paths = list(files.paths)
    elif given:
        paths = [os.fspath(p) for p in paths_or_prefix]
        if not paths:
            raise ValueError("read_beads: no bead files given")
        _check_listed(paths)
        try:
            files = find_beads(paths[0])
            if [os.path.abspath(p) for p in files.paths] != [os.path.abspath(p) for p in paths]:
                files = None
        except (TrajectoryFormatError, FileNotFoundError):
            files = None
    else:
        files = find_beads(paths_or_prefix)
        paths = list(files.paths)
    t, said = _temperature_of(files, temperature)
    options = dict(md_timestep=md_timestep, frame_interval=frame_interval, chunk_frames=chunk_frames,
                   reference=reference)
    if files is not None and files.kind == "lammps":
        # each partition's dump is read as any LAMMPS dump: its time step, units and masses from the same input
        # model (trajmodes.io.trajectories.lammps_input), by the same rules as the run read classically
        options.update(species=species, masses=masses, units=units)
    elif files is not None and files.kind == "gpumd":
        if units is not None:
            raise ValueError(f"{paths[0]}: GPUMD's bead files are in A, A/fs, eV/A and fs (converted on reading); "
                             "units= does not apply")
        options.update(species=species, masses=masses)
    elif species is not None or masses is not None or units is not None:
        options.update(species=species, masses=masses, units=units)
    if files is not None and files.kind == "gpumd":
        beads = _gpumd_read(files, paths, read, options, masses)
    else:
        beads = [read(p, **options) for p in paths]
        if given:
            _check_bead_tags(paths, beads)
    xc = None
    if centroid and files is not None and files.centroid is not None:
        xc = open_source(files.centroid, md_timestep=options["md_timestep"], frame_interval=frame_interval)
    return RingPolymerRun(beads, temperature=t, temperature_from=said, files=files, centroid=xc, reference=reference,
                          chunk_frames=chunk_frames)


def _check_listed(paths: list) -> None:
    """Refuse a file given twice in the list of a run's bead files (a bead counted twice, another left out)."""
    seen: dict[str, int] = {}
    for b, p in enumerate(paths):
        key = os.path.realpath(p)
        if key in seen:
            raise TrajectoryFormatError(p, f"the same file is given as bead {seen[key]} and as bead {b} of the "
                                           f"{len(paths)} files: one bead would count twice and another not at all",
                                        fix="give every bead's file once, in bead order (or one of them, or i-PI's "
                                            "prefix: the others are found)")
        seen[key] = b


def _check_bead_tags(paths: list, beads: list) -> None:
    """Refuse files given out of bead order: the ``Bead:`` i-PI writes in each frame's comment against the file's place
    in the list (files without one are not checked)."""
    for b, (p, t) in enumerate(zip(paths, beads)):
        tag = getattr(t.source, "bead", None)
        if tag is not None and int(tag) != b:
            raise TrajectoryFormatError(p, f"its frames say Bead: {int(tag)}, but it is given as bead {b} of the "
                                           f"{len(paths)} files", frame=0,
                                        fix="give every bead's file once, in bead order (or one of them, or i-PI's "
                                            "prefix: the others are found)")


def _gpumd_read(files: BeadFiles, paths: list, read, options: dict, masses) -> list:
    """GPUMD's bead files read (``Time=`` in fs, velocities in Å/fs: the XYZ reader knows them), with model.xyz's
    masses and the frame count checked against run.in's."""
    beads = []
    for p in paths:
        try:
            beads.append(read(p, **options))
        except TrajectoryFormatError as exc:
            if "have the same time" not in exc.what and "time goes back" not in exc.what:
                raise
            raise TrajectoryFormatError(exc.path, exc.what, frame=exc.frame, line=exc.line,
                                        fix="GPUMD opens beads_dump_K.xyz for appending: a second run in the folder "
                                            "adds its frames to the first's. Keep the frames of one run (remove the "
                                            "bead files before running GPUMD again)") from None
    first = beads[0]
    if files.stated_frames is not None and first.n_frames > files.stated_frames:
        raise TrajectoryFormatError(paths[0], f"{first.n_frames} frames, but the runs with dump_beads of "
                                              f"{files.input} write {files.stated_frames}",
                                    fix="GPUMD opens beads_dump_K.xyz for appending: an earlier run in the folder "
                                        "left its frames in them. Keep the frames of this run (remove the bead files "
                                        "before running GPUMD again)")
    m = None if masses is not None else gpumd_model_masses(os.path.dirname(paths[0]), first.n_atoms, first.species)
    if m is not None:
        for b in beads:
            b.source.masses = b.masses = m
    return beads
