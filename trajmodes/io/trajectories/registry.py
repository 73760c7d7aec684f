"""Which reader takes a file: the trajectory readers in the order they are asked, each declaring the names
``format=`` takes for it (:attr:`~trajmodes.io.trajectories.base.FrameSource.format_names`, as MDAnalysis registers
a reader by its ``format``) and whether it can open a file from the file's first bytes
(:meth:`~trajmodes.io.trajectories.base.FrameSource.can_open`, as xarray asks each backend ``guess_can_open``).

A new format is a :class:`~trajmodes.io.trajectories.base.FrameSource` with its ``format_names``, ``can_open`` and
``from_options``, put in :data:`READERS` before the readers whose test would also take its files.
"""
from __future__ import annotations

from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.filesystem import BOM, byte_order_mark_error, compression_of, read_head
from trajmodes.io.trajectories.ase_reader import ASESource
from trajmodes.io.trajectories.base import FrameSource
from trajmodes.io.trajectories.ipi import IPISource
from trajmodes.io.trajectories.lammps import LammpsDumpSource
from trajmodes.io.trajectories.mdanalysis import MDAnalysisSource
from trajmodes.io.trajectories.netcdf import NetCDFSource, is_netcdf
from trajmodes.io.trajectories.xyz import XYZSource

__all__ = ["READERS", "reader_for", "sniff", "refuse_unreadable", "why_not"]

#: the readers, in the order :func:`sniff` asks them (a trajmodes netCDF cache first: its test reads the file's
#: attributes; the text formats by their first line, i-PI's XYZ files by their comment line (``CELL(abcABC):`` and
#: a quantity with its unit in braces) before the formats ASE reads by name or content and before XYZ, whose test is
#: the loosest; MDAnalysis, which takes any file and any other format name, last)
READERS: tuple[type[FrameSource], ...] = (NetCDFSource, LammpsDumpSource, IPISource, ASESource, XYZSource,
                                          MDAnalysisSource)


def reader_for(fmt: str) -> type[FrameSource]:
    """The reader of the format name ``fmt`` (any case): the first of :data:`READERS` that takes it (MDAnalysis
    takes every name the others do not: its own formats, ``"DCD"``, ``"TRR"``, ...)."""
    fmt = fmt.lower()
    return next(reader for reader in READERS if reader.takes(fmt))


def sniff(path: str) -> str:
    """Guess the format of ``path`` from its name and first bytes: the format name of the first of :data:`READERS`
    that can open it (lammps, xyz, netcdf, ``ase:<ASE format>`` (VASP OUTCAR, vasprun.xml and XDATCAR, pw.x output,
    ASE .traj: :func:`~trajmodes.io.trajectories.ase_formats.ase_format_of`) or mdanalysis).

    Raises
    ------
    TrajectoryFormatError
        For files that no reader can take: empty, compressed twice or in a way trajmodes does not read, damaged gzip
        data, a text trajectory with a byte-order mark, a netCDF file trajmodes wrote that holds no trajectory.
    """
    head = read_head(path)
    refuse_unreadable(path, head)
    return next(reader.format_name(head, path) for reader in READERS if reader.can_open(head, path))


def own_text_format(text: bytes) -> bool:
    """Whether ``text`` starts like a LAMMPS dump (an ``ITEM:`` line) or an XYZ file (an atom count line)."""
    text = text.lstrip()
    return text.startswith(b"ITEM") or text.split(b"\n", 1)[0].strip().isdigit()


def refuse_unreadable(path: str, head: bytes) -> None:
    """Refuse, saying what it is, a file compressed in a way trajmodes does not read, or a LAMMPS dump or XYZ file
    that starts with a UTF-8 byte-order mark."""
    packed = compression_of(head)
    if packed is not None:
        raise TrajectoryFormatError(path, f"it is {packed[0]}", fix=packed[1])
    if head.startswith(BOM) and own_text_format(head[3:]):
        raise byte_order_mark_error(path, head[3:])


def why_not(head: bytes) -> list[str]:
    """Why ``head`` is none of trajmodes' own formats, one reason per format."""
    if is_netcdf(head):
        return ["it is a netCDF/HDF5 file without trajmodes' format attribute, so not a trajmodes cache"]
    if head.startswith(BOM):
        return ["the file starts with a UTF-8 byte-order mark (bytes EF BB BF): save it without one (e.g. sed -i "
                "'1s/^\\xEF\\xBB\\xBF//' FILE)"] + why_not(head[3:])
    text = head.lstrip()
    first = text.split(b"\n", 1)[0].strip()[:60].decode("utf-8", "replace")
    printable = sum(32 <= c < 127 or c in (9, 10, 13) for c in head[:512]) / max(len(head[:512]), 1)
    if printable < 0.9:
        return ["it is binary, not text, so not a LAMMPS dump or XYZ file",
                "it has no netCDF/HDF5 header, so not a trajmodes netCDF cache"]
    return [f"its first line {first!r} is not 'ITEM: TIMESTEP' (or another 'ITEM:' line), so not a LAMMPS dump",
            "its first line is not an atom count, so not an XYZ file",
            "it has no netCDF/HDF5 header, so not a trajmodes netCDF cache"]
