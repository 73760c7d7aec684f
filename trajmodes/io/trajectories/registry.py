"""What a path is: the one registry of every kind of file trajmodes reads. Given a path it answers, in
:func:`identify`, whether it is a plain trajectory (and which reader reads it), a path-integral run (LAMMPS
partitions, i-PI beads, GPUMD's ``dump_beads``: its bead files found) or a single structure (a POSCAR, a LAMMPS data
file), as MDAnalysis' ``get_reader_for`` answers from the readers its ``_Readermeta`` registers.

Each kind is one entry of :data:`KINDS`, in the order they are asked, defined in its own module: a trajectory reader
(a :class:`~trajmodes.io.trajectories.base.FrameSource`), a path-integral run
(:mod:`trajmodes.io.trajectories.bead_files`) or a structure (:mod:`trajmodes.io.trajectories.structures`). An entry
declares:

- ``kind``: ``"trajectory"``, ``"path-integral"`` or ``"structure"``;
- ``format_names``: the names it is known by (for a reader, those ``format=`` takes, as MDAnalysis registers a reader
  by its ``format``); the first is the one :func:`identify` names;
- ``needs``: what a file needs to be of this kind, in words (the message on a file none takes lists them all);
- ``takes_folders``: whether a folder may be of this kind;
- a trajectory reader or structure: ``can_open(head, path)`` from the file's first bytes (as xarray asks each
  backend ``guess_can_open``) and ``format_name(head, path)``; a structure also ``read_structure(path, ...)``;
  a path-integral run: ``bead_files(head, path)``, its :class:`~trajmodes.io.trajectories.bead_files.BeadFiles`
  or None.

A new format is such a class in its own module, put in :data:`KINDS` before the entries whose test would also take its
files.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.filesystem import BOM, read_head, refuse_unreadable, require_regular
from trajmodes.io.trajectories.ase_reader import ASESource
from trajmodes.io.trajectories.bead_files import BeadFiles, GPUMDBeads, IPIBeads, LammpsPartitions
from trajmodes.io.trajectories.base import FrameSource
from trajmodes.io.trajectories.ipi import IPISource
from trajmodes.io.trajectories.lammps import LammpsDumpSource
from trajmodes.io.trajectories.mdanalysis import MDAnalysisSource
from trajmodes.io.trajectories.netcdf import NetCDFSource, is_netcdf
from trajmodes.io.trajectories.structures import LammpsDataStructure, VaspStructure
from trajmodes.io.trajectories.xyz import XYZSource

__all__ = ["KINDS", "Identified", "identify", "reader_for", "why_not"]

#: every kind of path, in the order :func:`identify` asks them: a trajmodes netCDF cache first (its test reads the
#: file's attributes); GPUMD's bead files (XYZ files named beads_dump_K.xyz) before any reader of XYZ; a LAMMPS dump of
#: partitions of a path-integral run before the LAMMPS dump, the i-PI run of several beads before one i-PI file; the
#: text formats by their first line, i-PI's XYZ files by their comment line (``CELL(abcABC):`` and a quantity with its
#: unit in braces) before the formats ASE reads by name or content; a POSCAR (by its name or layout) before XYZ, whose
#: test is the loosest, a LAMMPS data file (by its header; its first line is a comment) after it; MDAnalysis, which
#: takes any file and any other format name, last
KINDS: tuple = (NetCDFSource, GPUMDBeads, LammpsPartitions, LammpsDumpSource, IPIBeads, IPISource, ASESource,
                VaspStructure, XYZSource, LammpsDataStructure, MDAnalysisSource)

#: the kinds of path, as :attr:`Identified.kind` names them
KIND_NAMES = ("trajectory", "path-integral", "structure")


@dataclass(frozen=True)
class Identified:
    """What a path is, as :func:`identify` found it.

    Parameters
    ----------
    path : str
        The path as given.
    kind : {"trajectory", "path-integral", "structure"}
        What it holds: frames of one run, the beads of a path-integral run, or one structure.
    format : str
        The format name: a reader's (``"lammps"``, ``"xyz"``, ``"netcdf"``, ``"ipi"``, ``"ase:<ASE format>"``,
        ``"mdanalysis"``: :func:`reader_for` gives the reader), a path-integral run's (``"lammps-pimd"``,
        ``"ipi-beads"``, ``"gpumd-beads"``) or a structure's (``"ase:vasp"``, ``"lammps-data"``).
    entry : type
        The entry of :data:`KINDS` that took the path.
    beads : BeadFiles or None
        A path-integral run's bead files and what its input says (more than one bead: a run of one bead is a plain
        trajectory).
    """

    path: str
    kind: str
    format: str
    entry: type
    beads: BeadFiles | None = None

    @property
    def reader(self) -> type[FrameSource] | None:
        """The reader of a plain trajectory's frames (None for the other kinds)."""
        return self.entry if self.kind == "trajectory" else None

    def describe(self) -> str:
        """One line: ``LAMMPS fix pimd path-integral run: 4 beads at 300 K (in.pimd)``, ``trajectory (lammps)``."""
        return self.beads.describe() if self.beads is not None else f"{self.kind} ({self.format})"


def reader_for(fmt: str) -> type[FrameSource]:
    """The reader of the format name ``fmt`` (any case): the first trajectory reader of :data:`KINDS` that takes it
    (MDAnalysis takes every name the others do not: its own formats, ``"DCD"``, ``"TRR"``, ...)."""
    fmt = fmt.lower()
    return next(entry for entry in KINDS if entry.kind == "trajectory" and entry.takes(fmt))


def identify(path, *, kinds: tuple = KIND_NAMES) -> Identified:
    """What ``path`` is, from its name and first bytes: the first entry of :data:`KINDS` of one of ``kinds`` that
    takes it. A path-integral run's bead files are found (no frame parsed); a run of one bead is the plain
    trajectory of its file.

    Parameters
    ----------
    path : str or os.PathLike
        A file, or a folder (GPUMD's bead files).
    kinds : tuple of str
        The kinds asked (default all): a reader of frames asks ``("trajectory",)``, a reader of one structure
        ``("structure", "trajectory")``.

    Raises
    ------
    FileNotFoundError
        No file or folder at ``path``.
    trajmodes.errors.TrajectoryFormatError
        For files that no entry can take: empty, compressed twice or in a way trajmodes does not read, damaged gzip
        data, a text trajectory with a byte-order mark, a netCDF file trajmodes wrote that holds no trajectory; a
        folder none of the kinds asked is (what each kind needs, :func:`why_not`); a path-integral run with a bead
        missing or a bead count its input states otherwise.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    folder = os.path.isdir(path)
    head = None
    if not folder:
        head = read_head(path)
        refuse_unreadable(path, head)
    for entry in KINDS:
        if entry.kind not in kinds or (folder and not entry.takes_folders):
            continue
        if entry.kind == "path-integral":
            beads = entry.bead_files(head, path)
            if beads is not None and beads.n_beads > 1:
                return Identified(path, entry.kind, entry.format_names[0], entry, beads)
        elif entry.can_open(head, path):
            return Identified(path, entry.kind, entry.format_name(head, path), entry)
    if folder:
        wanted = [e.needs for e in KINDS if e.kind in kinds and e.takes_folders]
        if not wanted:
            require_regular(path)       # says what it is and why a file is needed
        raise TrajectoryFormatError(path, "it is a folder, and " + "; ".join(wanted),
                                    fix="give one file of the run (or the folder of GPUMD's bead files)")
    raise TrajectoryFormatError(path, "; ".join(why_not(head, kinds)),
                                fix="give a file of one of these kinds, or name its format (format=, --format)")


def why_not(head: bytes, kinds: tuple = KIND_NAMES) -> list[str]:
    """Why ``head`` is of none of the ``kinds`` of :data:`KINDS`, one reason per entry: for trajmodes' own formats
    (the LAMMPS dump, XYZ, the netCDF cache) what the file's first bytes are instead, for the others what they need
    (their ``needs``); MDAnalysis, which takes any file, says its own reason when it cannot read it."""
    own = {LammpsDumpSource, XYZSource, NetCDFSource, MDAnalysisSource}
    return _why_not_own(head) + [e.needs for e in KINDS if e.kind in kinds and e not in own]


def _why_not_own(head: bytes) -> list[str]:
    """Why ``head`` is none of trajmodes' own formats, one reason per format."""
    if is_netcdf(head):
        return ["it is a netCDF/HDF5 file without trajmodes' format attribute, so not a trajmodes cache"]
    if head.startswith(BOM):
        return ["the file starts with a UTF-8 byte-order mark (bytes EF BB BF): save it without one (e.g. sed -i "
                "'1s/^\\xEF\\xBB\\xBF//' FILE)"] + _why_not_own(head[3:])
    text = head.lstrip()
    first = text.split(b"\n", 1)[0].strip()[:60].decode("utf-8", "replace")
    printable = sum(32 <= c < 127 or c in (9, 10, 13) for c in head[:512]) / max(len(head[:512]), 1)
    if printable < 0.9:
        return ["it is binary, not text, so not a LAMMPS dump or XYZ file",
                "it has no netCDF/HDF5 header, so not a trajmodes netCDF cache"]
    return [f"its first line {first!r} is not 'ITEM: TIMESTEP' (or another 'ITEM:' line), so not a LAMMPS dump",
            "its first line is not an atom count, so not an XYZ file",
            "it has no netCDF/HDF5 header, so not a trajmodes netCDF cache"]
