"""Which force-constant format a file or folder holds, and the format of a name: the formats in the order they are
listed, each declaring its names, the files that say it and its reader and writer
(:class:`~trajmodes.io.forceconstants.base.FCFormat`, as MDAnalysis registers a reader by its ``format`` and xarray
asks each backend ``guess_can_open``).

A new format is a module with its ``FORMAT``, put in :data:`FORMATS`.
"""
from __future__ import annotations

import os

from trajmodes.io.forceconstants import gpumd, hiphive, netcdf, phono3py, phonopy, shengbte, tdep
from trajmodes.io.forceconstants.base import FCFormat

__all__ = ["FORMATS", "format_names", "fc_format", "detect_fc_format"]

#: the formats, in the order messages and ``--from`` / ``--to`` list them (their file names are disjoint, so the
#: order decides no detection)
FORMATS: tuple[FCFormat, ...] = (tdep.FORMAT, shengbte.FORMAT, phonopy.FORMAT, phono3py.FORMAT, netcdf.FORMAT,
                                 gpumd.FORMAT, hiphive.FORMAT)

#: bytes of a file read for :attr:`~trajmodes.io.forceconstants.base.FCFormat.head_test` (a tar header is 512)
HEAD_BYTES = 512


def format_names() -> tuple[str, ...]:
    """The names of :data:`FORMATS` (what ``format=`` takes)."""
    return tuple(f.name for f in FORMATS)


def fc_format(name: str) -> FCFormat:
    """The format of the name ``name`` (any case).

    Raises
    ------
    ValueError
        No format of that name, the known ones listed.
    """
    found = [f for f in FORMATS if f.name == str(name).lower()]
    if not found:
        raise ValueError(f"format must be one of {', '.join(format_names())}, not {name!r}")
    return found[0]


def _head(path: str) -> bytes:
    """The first :data:`HEAD_BYTES` of a file (none of one that cannot be read: its reader says why)."""
    try:
        with open(path, "rb") as f:
            return f.read(HEAD_BYTES)
    except OSError:
        return b""


def _file_format(path: str) -> FCFormat:
    name = os.path.basename(path)
    found = [f for f in FORMATS if f.knows_name(name)]
    if not found:
        head = _head(path)
        found = [f for f in FORMATS if f.can_open(path, head)]
    if not found:
        known = [m for f in FORMATS for m in (f.marks[:2] + f.file_names[:1])]
        known += [f"*{s}" for f in FORMATS for s in f.suffixes]
        raise ValueError(f"{path}: not a force-constant file trajmodes knows by its name ({', '.join(known)}); "
                         "give --from (format= in Python)")
    return found[0]


def _folder_format(path: str) -> FCFormat:
    found = [f for f in FORMATS if f.can_open(path)]
    inside = {name for f in found for name in f.contains}
    found = [f for f in found if f.name not in inside]
    if len(found) > 1:
        raise ValueError(f"{path} holds files of several formats ({', '.join(f.name for f in found)}): give --from "
                         "(format= in Python)")
    if not found:
        marks = [f"{f.title} {f.marks[0]}" for f in FORMATS if f.marks]
        files = [s for f in FORMATS if not f.marks for s in f.suffixes]
        raise ValueError(f"{path}: no force-constant files in it ({', '.join(marks)}; or give a "
                         f"{', '.join(files[:-1])} or {files[-1]} file)")
    return found[0]


def detect_fc_format(path: str | os.PathLike) -> str:
    """The name of the format of force constants at ``path`` (:func:`fc_format` gives the format): of a folder, the one format whose files it holds (phono3py where
    its files come with a phonopy yaml); of a file, the format its name says (a folder's file names, ``fc2.hdf5``,
    ``.nc``, ``.fcp``, ``.fcs``) or, for a name no format knows, its first bytes (a hiPhive tar archive).

    Raises
    ------
    FileNotFoundError
        Nothing there.
    ValueError
        No known file, or files of several formats in one folder.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file or folder")
    return (_file_format(path) if os.path.isfile(path) else _folder_format(path)).name
