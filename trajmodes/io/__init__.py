"""Every file format, in and out; the way in for trajectories and structures: :func:`identify` says what a path is (a
plain trajectory and its reader, a path-integral run and its bead files, or a structure), :func:`open_source` and
:func:`read_structure` read LAMMPS dumps, (extended) XYZ, trajmodes' netCDF cache, every MDAnalysis format, every ASE
format (VASP, Quantum ESPRESSO, ASE .traj, ...), POSCARs and LAMMPS data files, the reader of each chosen by the one
registry (:mod:`trajmodes.io.trajectories.registry`).

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
import sys
from typing import TYPE_CHECKING

from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.filesystem import read_head, require_regular
from trajmodes.io.provenance import provenance      # the function: trajmodes.io.provenance is it, not its module
from trajmodes.lattice.structure import Structure

if TYPE_CHECKING:
    from trajmodes.io.trajectories.base import FrameSource
# the trajectory readers are imported on first use (below and :data:`_LAZY`): reading force constants or a
# potential file does not import them (0.17 s and 6 MB)


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
                stress_columns=None, lammps_settings=None) -> FrameSource:
    """A frame source for ``source`` (path, list or glob of paths, or MDAnalysis Universe).

    The format is ``format`` (any name of a reader's
    :attr:`~trajmodes.io.trajectories.base.FrameSource.format_names`, ``"ase:<ASE format>"`` or an MDAnalysis
    format), else the trajectory reader's that :func:`identify` finds; the reader is the registry's
    (:mod:`trajmodes.io.trajectories.registry`). ``md_timestep`` and ``frame_interval`` (ps) are described in
    :mod:`trajmodes.io.trajectories.times`; ``thermo`` (LAMMPS log files), ``energy_column``, ``stress_columns`` and
    ``lammps_settings`` (the run's input found already) in :class:`~trajmodes.io.trajectories.lammps.LammpsDumpSource`
    (LAMMPS dumps only).
    """
    # a Universe exists only where MDAnalysis was imported: importing it to ask would cost every read of a file
    # about a second of serial start-up
    mda = sys.modules.get("MDAnalysis")
    if mda is not None and isinstance(source, mda.Universe):
        from trajmodes.io.trajectories.base import refuse_lammps_options
        from trajmodes.io.trajectories.mdanalysis import MDAnalysisSource, mda_units
        refuse_lammps_options("an MDAnalysis Universe", "mdanalysis", dict(
            thermo=thermo, energy_column=energy_column, stress_columns=stress_columns,
            lammps_settings=lammps_settings))
        return MDAnalysisSource(source, frame_interval=frame_interval, md_timestep=md_timestep,
                                units=mda_units(units), lj_scales=lj_scales)
    from trajmodes.io.trajectories.base import refuse_bad_masses
    from trajmodes.io.trajectories.registry import identify, reader_for, why_not
    paths = _expand(source)
    species = species_list(species)
    fmt = (format or identify(paths[0], kinds=("trajectory",)).format).lower()
    try:
        src = reader_for(fmt).from_options(paths, fmt, format, units=units, lj_scales=lj_scales,
                                           md_timestep=md_timestep, frame_interval=frame_interval,
                                           species=species, masses=masses, topology=topology, thermo=thermo,
                                           energy_column=energy_column, stress_columns=stress_columns,
                                           **({} if lammps_settings is None else dict(lammps_settings=lammps_settings)))
    except TrajectoryFormatError as exc:
        if not getattr(exc, "format_guessed", False):
            raise
        raise TrajectoryFormatError(paths[0], "; ".join(why_not(read_head(paths[0]))) + "; and " + exc.what,
                                    fix=exc.fix) from None
    refuse_bad_masses(src)
    return src


def species_list(species):
    """``species`` as the readers take it: a string is the elements of the types in order, separated by commas or
    spaces (``"Si,O"``, ``"Cu"``), as ``--species`` writes them, never its letters one by one; a dict or sequence
    is returned as it is."""
    if isinstance(species, str):
        return [s for s in species.replace(",", " ").split()]
    return species


def read_structure(path, *, units: str | None = None, species=None, lj_scales: dict | None = None) -> Structure:
    """Read one structure (a LAMMPS data file, a VASP POSCAR / CONTCAR, or the first frame of any trajectory format
    trajmodes reads, ASE's included); ``units`` and ``lj_scales`` (``units="lj"``) as :func:`trajmodes.read`'s."""
    from trajmodes.io.trajectories.netcdf import is_netcdf
    from trajmodes.io.trajectories.registry import identify, why_not
    from trajmodes.io.trajectories.structures import ase_structure
    path = os.fspath(path)
    found = identify(path, kinds=("structure", "trajectory"))
    if found.kind == "structure":
        return found.entry.read_structure(path, units=units, species=species_list(species), lj_scales=lj_scales)
    if found.format.startswith("ase:"):
        return ase_structure(path, found.format.partition(":")[2], units=units)
    if found.format == "mdanalysis" and not is_netcdf(read_head(path)):    # a netCDF file: its reader says what it is
        raise TrajectoryFormatError(path, "not a structure format trajmodes knows (LAMMPS data file, LAMMPS dump, "
                                    "XYZ, trajmodes netCDF, VASP POSCAR/OUTCAR/vasprun.xml/XDATCAR, pw.x output, ASE "
                                    ".traj): " + "; ".join(why_not(read_head(path), ("structure", "trajectory"))),
                                    fix="Pass a Structure or an array of positions")
    src = open_source(path, units=units, species=species, lj_scales=lj_scales)
    d = src.read([0])
    return Structure(d["positions"][0], d["cells"][0] if src.has_cell else None, src.species, src.masses,
                     d["origins"][0])


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
    # the files of path-integral runs (i-PI's, LAMMPS' partitions, GPUMD's dump_beads with its run.in and model.xyz)
    "BeadFiles": "trajectories.bead_files", "find_beads": "trajectories.bead_files",
    "gpumd_model_masses": "trajectories.gpumd", "ipi_input_beside": "trajectories.ipi_files",
    "positions_file_of": "trajectories.ipi_files", "properties_timestep": "trajectories.ipi_files",
    "sibling_path": "trajectories.ipi_files", "ipi_bead_count": "trajectories.ipi",
    "restart_timestep_change": "trajectories.ipi", "PropertiesTimes": "trajectories.ipi_files",
    "coarser_forces": "trajectories.ipi_files", "velocities_left_out": "trajectories.ipi_files",
    "properties_files": "trajectories.ipi_files", "velocities_hint": "trajectories.ipi_files",
    # one time line of a dump's MD steps (restarts, reset_timestep), the same configuration in two frames
    "StepLine": "trajectories.restarts", "same_configuration": "trajectories.restarts",
    # what a path is
    "Identified": "trajectories.registry", "identify": "trajectories.registry", "reader_for": "trajectories.registry",
    "ase_format_of": "trajectories.ase_formats", "FrameSource": "trajectories.base",
}

__all__ = ["open_source", "read_structure", "provenance", *_LAZY]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
