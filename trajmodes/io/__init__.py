"""Readers: LAMMPS dumps, (extended) XYZ, trajmodes' netCDF cache, and every MDAnalysis format."""
from __future__ import annotations

import glob
import gzip
import os

from ..errors import TrajectoryFormatError
from ..structure import Structure
from .base import FrameSource

_LAMMPS = ("lammps", "lammps-dump", "lammpsdump", "dump", "lammpstrj")
_XYZ = ("xyz", "extxyz")
_NETCDF = ("nc", "netcdf", "trajmodes")


def _head(path: str, n: int = 4096) -> bytes:
    with open(path, "rb") as f:
        head = f.read(n)
    if head[:2] == b"\x1f\x8b":
        with gzip.open(path, "rb") as f:
            head = f.read(n)
    return head


def sniff(path: str) -> str:
    """Guess the format of ``path`` from its first bytes: lammps, xyz, netcdf or mdanalysis."""
    head = _head(path)
    if head[:3] == b"CDF" or head[:8] == b"\x89HDF\r\n\x1a\n":
        from .netcdf import is_trajmodes_netcdf
        return "netcdf" if is_trajmodes_netcdf(path) else "mdanalysis"
    text = head.lstrip()
    if text.startswith(b"ITEM:"):
        return "lammps"
    first = text.split(b"\n", 1)[0].strip()
    if first.isdigit():
        return "xyz"
    return "mdanalysis"


def _mda_units(units: str) -> str | None:
    """MDAnalysis readers that declare units convert themselves; 'metal' (the default) means 'as declared'."""
    return None if units == "metal" else units


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
    return out


def open_source(source, *, format: str | None = None, units: str = "metal", lj_scales=None,
                timestep: float | None = None, species=None, masses=None, topology=None) -> FrameSource:
    """A frame source for ``source`` (path, list or glob of paths, or MDAnalysis Universe)."""
    try:
        import MDAnalysis as mda
        if isinstance(source, mda.Universe):
            from .mdanalysis import MDAnalysisSource
            return MDAnalysisSource(source, timestep=timestep, units=_mda_units(units), lj_scales=lj_scales)
    except ImportError:  # pragma: no cover
        pass
    paths = _expand(source)
    fmt = (format or sniff(paths[0])).lower()
    if fmt in _LAMMPS:
        from .lammps import LammpsDumpSource
        return LammpsDumpSource(paths, units=units, lj_scales=lj_scales, timestep=timestep, species=species,
                                masses=masses)
    if len(paths) > 1 and fmt not in ("mdanalysis",):
        raise ValueError(f"several files are supported for LAMMPS dumps and MDAnalysis formats, not {fmt}")
    if fmt in _XYZ:
        from .xyz import XYZSource
        return XYZSource(paths[0], units=units, lj_scales=lj_scales, timestep=timestep)
    if fmt in _NETCDF:
        from .netcdf import NetCDFSource
        return NetCDFSource(paths[0])
    from .mdanalysis import MDAnalysisSource
    import MDAnalysis as mda
    kw = {} if fmt == "mdanalysis" else {"format": format}
    try:
        u = mda.Universe(topology, *paths, **kw) if topology is not None else mda.Universe(*paths, **kw)
    except Exception as exc:  # MDAnalysis raises many types
        raise TrajectoryFormatError(paths[0], f"MDAnalysis cannot read it ({type(exc).__name__}: {exc})",
                                    fix="Pass format= (e.g. 'lammps', 'xyz', or an MDAnalysis format such as "
                                        "'DCD') and topology= for formats without atom information") from None
    return MDAnalysisSource(u, timestep=timestep, units=_mda_units(units), lj_scales=lj_scales)


def read_structure(path, *, units: str = "metal", species=None) -> Structure:
    """Read one structure (a LAMMPS data file, or the first frame of any trajectory format)."""
    path = os.fspath(path)
    head = _head(path)
    if head.lstrip().startswith(b"ITEM:") or head.lstrip().split(b"\n", 1)[0].strip().isdigit() or \
            head[:3] == b"CDF" or head[:4] == b"\x89HDF":
        src = open_source(path, units=units, species=species)
        d = src.read([0])
        return Structure(d["positions"][0], d["cells"][0] if src.has_cell else None, src.species, src.masses,
                         d["origins"][0])
    if b"atoms" in head and (b"xlo xhi" in head or b"avec" in head):
        from .lammps_data import read_data
        return read_data(path, units=units, species=species)
    raise TrajectoryFormatError(path, "not a structure format trajmodes knows (LAMMPS data file, LAMMPS dump, "
                                "XYZ, trajmodes netCDF)", fix="Pass a Structure or an array of positions")


__all__ = ["open_source", "read_structure", "sniff", "FrameSource"]
