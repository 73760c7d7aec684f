"""Every file format, in and out; the way in for trajectories and structures: :func:`open_source`, :func:`sniff` and
:func:`read_structure` read LAMMPS dumps, (extended) XYZ, trajmodes' netCDF cache, every MDAnalysis format, and every
ASE format (VASP, Quantum ESPRESSO, ASE .traj, ...), the reader of each chosen by the registry
(:mod:`trajmodes.io.trajectories.registry`).

Subpackages: :mod:`trajmodes.io.trajectories` (the trajectory readers), :mod:`trajmodes.io.forceconstants` (the
force-constant formats), :mod:`trajmodes.io.potentials` (interatomic potential files); shared:
:mod:`trajmodes.io.filesystem`, :mod:`trajmodes.io.provenance`, :mod:`trajmodes.io.forceconstants.phonopy`.

:data:`__all__` holds the package's public names: those other packages of trajmodes import (from here or from their
modules). The names imported below are loaded with it; the others (:data:`_LAZY`) are imported from their modules
on first use (PEP 562), so that importing one module of the package does not import them.
"""
from __future__ import annotations

from trajmodes._lazy import lazy_names

import glob
import os

from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.filesystem import BOM, read_head, require_regular
from trajmodes.io.provenance import provenance      # the function: trajmodes.io.provenance is it, not its module
from trajmodes.io.trajectories.ase_formats import ase_format_of
from trajmodes.io.trajectories.base import FrameSource, refuse_bad_masses, refuse_lammps_options
from trajmodes.io.trajectories.registry import reader_for, refuse_unreadable, sniff, why_not
from trajmodes.lattice.structure import Structure


def _expand(source) -> list[str]:
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    out = []
    for it in items:
        it = os.fspath(it)
        hits = sorted(glob.glob(it)) if any(ch in it for ch in "*?[") else [it]
        if not hits:
            raise FileNotFoundError(f"{it}: no file matches")
        out += hits
    for p in out:
        if not os.path.exists(p):
            raise FileNotFoundError(f"{p}: no such file")
        require_regular(p)
    return out


def open_source(source, *, format: str | None = None, units: str | None = None, lj_scales=None,
                md_timestep: float | None = None, frame_interval: float | None = None, species=None,
                masses=None, topology=None, thermo=None, energy_column: str | None = None,
                stress_columns=None) -> FrameSource:
    """A frame source for ``source`` (path, list or glob of paths, or MDAnalysis Universe).

    The format is ``format`` (any name of a reader's
    :attr:`~trajmodes.io.trajectories.base.FrameSource.format_names`, ``"ase:<ASE format>"`` or an MDAnalysis
    format), else the one :func:`sniff` finds; the reader is the registry's
    (:mod:`trajmodes.io.trajectories.registry`). ``md_timestep`` and ``frame_interval`` (ps) are described in
    :mod:`trajmodes.io.trajectories.times`; ``thermo`` (LAMMPS log files), ``energy_column`` and ``stress_columns``
    in :class:`~trajmodes.io.trajectories.lammps.LammpsDumpSource` (LAMMPS dumps only).
    """
    try:
        import MDAnalysis as mda
        if isinstance(source, mda.Universe):
            from trajmodes.io.trajectories.mdanalysis import MDAnalysisSource, mda_units
            refuse_lammps_options("an MDAnalysis Universe", "mdanalysis", dict(
                thermo=thermo, energy_column=energy_column, stress_columns=stress_columns))
            return MDAnalysisSource(source, frame_interval=frame_interval, md_timestep=md_timestep,
                                    units=mda_units(units), lj_scales=lj_scales)
    except ImportError:  # pragma: no cover
        pass
    paths = _expand(source)
    fmt = (format or sniff(paths[0])).lower()
    try:
        src = reader_for(fmt).from_options(paths, fmt, format, units=units, lj_scales=lj_scales,
                                           md_timestep=md_timestep, frame_interval=frame_interval,
                                           species=species, masses=masses, topology=topology, thermo=thermo,
                                           energy_column=energy_column, stress_columns=stress_columns)
    except TrajectoryFormatError as exc:
        if not getattr(exc, "format_guessed", False):
            raise
        raise TrajectoryFormatError(paths[0], "; ".join(why_not(read_head(paths[0]))) + "; and " + exc.what,
                                    fix=exc.fix) from None
    refuse_bad_masses(src)
    return src


def looks_like_poscar(head: bytes) -> bool:
    """Whether ``head`` has VASP's POSCAR layout, whatever the file's name (TDEP's ``infile.ucposcar`` and
    ``infile.ssposcar``, ``*.POSCAR``, ...): a comment line, the scale (one number or three), three lattice lines of
    three numbers, the species names (VASP 5; absent in VASP 4) and the atom counts, an optional ``Selective
    dynamics`` line, then ``Direct`` or ``Cartesian``."""
    lines = (head[3:] if head.startswith(BOM) else head).split(b"\n", 10)
    if len(lines) < 8:
        return False

    def numbers(line: bytes, n: int, kind=float) -> bool:
        toks = line.split()
        try:
            return len(toks) >= n and all(kind(t) is not None for t in toks[:n])
        except ValueError:
            return False
    if not (numbers(lines[1], 1) and all(numbers(ln, 3) for ln in lines[2:5])):
        return False
    k = 5
    names = lines[k].split()
    if names and all(t[:1].isalpha() for t in names):
        k += 1                                      # VASP 5: the species line
    counts = lines[k].split()
    if not counts or not numbers(lines[k], len(counts), int):
        return False
    k += 1
    if lines[k].strip()[:1] in (b"S", b"s"):        # Selective dynamics
        k += 1
    return k < len(lines) and lines[k].strip()[:1] in (b"D", b"d", b"C", b"c", b"K", b"k")


def read_structure(path, *, units: str | None = None, species=None, lj_scales: dict | None = None) -> Structure:
    """Read one structure (a LAMMPS data file, a VASP POSCAR / CONTCAR, or the first frame of any trajectory format
    trajmodes reads, ASE's included); ``units`` and ``lj_scales`` (``units="lj"``) as :func:`trajmodes.read`'s."""
    path = os.fspath(path)
    head = read_head(path)
    refuse_unreadable(path, head)
    base = os.path.basename(path)
    ase_fmt = None if head.lstrip().startswith(b"ITEM:") else ase_format_of(path, head)
    if ase_fmt is None and (base.startswith(("POSCAR", "CONTCAR")) or base.endswith(".vasp") or
                            looks_like_poscar(head)):
        ase_fmt = "vasp"
    if ase_fmt is not None:
        import warnings
        from trajmodes.errors import UnitsWarning
        with warnings.catch_warnings():                     # one structure: the frame times do not matter
            warnings.simplefilter("ignore", UnitsWarning)
            src = reader_for("ase").from_options([path], f"ase:{ase_fmt}", units=units)
        d = src.read([0])
        masses = src.masses if src.masses_stated else None   # a POSCAR's are not those of the run (VASP's POMASS)
        return Structure(d["positions"][0], d["cells"][0] if src.has_cell else None, src.species, masses,
                         d["origins"][0])
    if head.lstrip().startswith(b"ITEM:") or head.lstrip().split(b"\n", 1)[0].strip().isdigit() or \
            head[:3] == b"CDF" or head[:4] == b"\x89HDF":
        src = open_source(path, units=units, species=species, lj_scales=lj_scales)
        d = src.read([0])
        return Structure(d["positions"][0], d["cells"][0] if src.has_cell else None, src.species, src.masses,
                         d["origins"][0])
    if b"atoms" in head and (b"xlo xhi" in head or b"avec" in head):
        from trajmodes.io.trajectories.lammps_data import read_data
        return read_data(path, units=units or "metal", species=species, lj_scales=lj_scales)
    raise TrajectoryFormatError(path, "not a structure format trajmodes knows (LAMMPS data file, LAMMPS dump, "
                                "XYZ, trajmodes netCDF, VASP POSCAR/OUTCAR/vasprun.xml/XDATCAR, pw.x output, ASE "
                                ".traj)", fix="Pass a Structure or an array of positions")


#: public name -> the module of the package that defines it, for the public names not imported above
_LAZY = {
    # the filesystem: staged and atomic outputs, a file's fingerprint; the provenance of every output
    "StagedOutputs": "filesystem", "atomic_write": "filesystem", "source_fingerprint": "filesystem",
    "clean_attrs": "provenance",
    # the contract of a frame source, the trajectory cache, frames in memory, the time axis and a LAMMPS run's
    # settings and charges
    "FIELDS": "trajectories.base", "FIELD_UNITS": "trajectories.base", "FRAME_FIELDS": "trajectories.base",
    "FRAME_SHAPES": "trajectories.base", "empty_frames": "trajectories.base", "CacheContents": "trajectories.netcdf",
    "cache_chunks": "trajectories.netcdf", "write_cache": "trajectories.netcdf", "ArraySource": "trajectories.memory",
    "displacement_source": "trajectories.memory", "reject_timestep": "trajectories.times",
    "lammps_settings_in": "trajectories.lammps_input", "lammps_settings_beside": "trajectories.lammps_input",
    "LAMMPS_INPUT_BYTES": "trajectories.lammps_input", "LammpsInput": "trajectories.lammps_input",
    "DEFAULT_TIMESTEP": "trajectories.lammps_script", "data_file_charges": "trajectories.lammps_data",
    # displacement datasets, heat currents, potential files, a LAMMPS run's potential
    "parse_displacement_dataset": "forceconstants.displacement_sets", "read_heat_current": "heat_current",
    "read_funcfl": "potentials.eam", "read_setfl": "potentials.eam", "read_sw": "potentials.sw",
    "potential_range_of": "potentials.pair_style",
    # the files of path-integral runs: i-PI's, GPUMD's dump_beads with its run.in and model.xyz
    "ipi_run_files": "trajectories.ipi_files", "GPUMD_BEAD_DUMP": "trajectories.gpumd",
    "is_gpumd_beads": "trajectories.gpumd", "read_gpumd_run_in": "trajectories.gpumd",
    "gpumd_model_masses": "trajectories.gpumd",
}

__all__ = ["open_source", "read_structure", "sniff", "ase_format_of", "looks_like_poscar", "FrameSource",
           "provenance", *_LAZY]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
