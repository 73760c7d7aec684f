"""The force-constant formats this package reads and writes, in the order messages and ``--from`` / ``--to`` list
them: :data:`FORMATS`, the object the package's entry point names (group ``trajmodes.force_constants`` in
pyproject.toml), through which the registry of the force-constant model
(:mod:`trajmodes.forceconstants.formats`) finds them the first time a format is looked up, as xarray finds its
backends. That registry tells which format a file or folder holds and finds one by its name; this package does not
import it.

A new format is a module with its ``FORMAT`` (:class:`~trajmodes.io.forceconstants.base.FCFormat`), put in
:data:`FORMATS`.
"""
from __future__ import annotations

from trajmodes.io.forceconstants import gpumd, hiphive, netcdf, phono3py, phonopy, shengbte, tdep
from trajmodes.io.forceconstants.base import FCFormat

__all__ = ["FORMATS"]

#: the formats, in the order messages and ``--from`` / ``--to`` list them (their file names are disjoint, so the
#: order decides no detection)
FORMATS: tuple[FCFormat, ...] = (tdep.FORMAT, shengbte.FORMAT, phonopy.FORMAT, phono3py.FORMAT, netcdf.FORMAT,
                                 gpumd.FORMAT, hiphive.FORMAT)
