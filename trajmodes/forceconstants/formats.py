"""The file formats of force constants as the model sees them: a registry of name -> format (its reader, its writer and
the files that say it) through which :meth:`ForceConstants.read <trajmodes.forceconstants.model.ForceConstants.read>`
and :meth:`~trajmodes.forceconstants.model.ForceConstants.write` go, and which tells the format a path holds.

This package parses no file and imports no format. The formats come from the package entry-point group
:data:`ENTRY_POINT_GROUP` (``trajmodes.force_constants``, declared in pyproject.toml), loaded with
:mod:`importlib.metadata` the first time a format is looked up, as xarray finds its backends (group
``xarray.backends``): each entry point names one format or a sequence of them. trajmodes' own entry point names
:data:`trajmodes.io.forceconstants.registry.FORMATS`, listed first and in its order; those of other distributions
follow by name. :func:`register_format` adds one by hand. A format is any object with the attributes and methods of
:class:`FileFormat` (trajmodes' own: :class:`trajmodes.io.forceconstants.base.FCFormat`); the keyword parameters of
its reader and writer are the options that ``read`` and ``write`` pass on.
"""
from __future__ import annotations

import inspect
import os
import threading
from importlib import metadata
from typing import Callable, Protocol

from trajmodes.errors import FormatOptionError

__all__ = ["ENTRY_POINT_GROUP", "HEAD_BYTES", "FileFormat", "register_format", "registered_formats", "format_names",
           "fc_format", "detect_fc_format", "format_options", "read_keywords", "format_to_write", "write_options"]

#: the entry-point group whose entry points name the formats (one format or a sequence of formats each)
ENTRY_POINT_GROUP = "trajmodes.force_constants"

#: bytes of a file handed to :meth:`FileFormat.can_open` when no format knows its name (a tar header is 512)
HEAD_BYTES = 512

#: the distribution whose formats come first, in the order its entry point lists them
OWN_DISTRIBUTION = "trajmodes"


class FileFormat(Protocol):
    """What the registry asks of a format (:class:`trajmodes.io.forceconstants.base.FCFormat` documents each)."""

    name: str                          # the name format= and --from / --to take (lower case)
    title: str                         # its name in messages
    read: Callable[..., tuple[dict, str]]   # read(path, **options) -> (keywords of ForceConstants, file(s) to name)
    write: Callable[..., None] | None  # write(fc, target, **options), fc in ``convention``; None: not written
    convention: str                    # "full" or "short-range": the constants ``write`` takes
    marks: tuple[str, ...]             # file names that say it, as the file or in a folder
    file_names: tuple[str, ...]        # file names that say it only given as the file
    suffixes: tuple[str, ...]          # endings of a file given alone that say it
    contains: tuple[str, ...]          # formats whose files a folder of this one may hold as part of it
    written_suffix: str | None         # the ending of the one file ``write`` writes; None: it fills a folder
    files: tuple[str, ...]             # every file name of a folder of this format that its reader takes

    def knows_name(self, name: str) -> bool: ...

    def can_open(self, path: str | os.PathLike, head: bytes = b"") -> bool: ...


_FORMATS: dict[str, FileFormat] = {}       # name -> format, in the order messages list them
_LOADED: list[bool] = []                   # [True] once the entry points are registered
_LOCK = threading.RLock()                  # one thread loads the entry points (Dask tasks may read constants)


def _entry_point_formats() -> list[FileFormat]:
    """The formats the entry points of :data:`ENTRY_POINT_GROUP` name: trajmodes' own first, then by name."""
    def own(ep) -> bool:
        dist = getattr(ep, "dist", None)
        return dist is not None and dist.name == OWN_DISTRIBUTION
    out = []
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: (not own(ep), ep.name)):
        value = ep.load()
        out += list(value) if isinstance(value, (tuple, list)) else [value]
    return out


def _load() -> None:
    """Register the formats of the entry points, once (again after a failure, which then repeats its message)."""
    if _LOADED:
        return
    with _LOCK:
        if _LOADED:
            return
        found = _entry_point_formats()
        if not found:
            raise RuntimeError(f"no force-constant formats are registered: the entry points of group "
                               f"{ENTRY_POINT_GROUP!r} are missing (trajmodes imported from a source tree that was not "
                               "installed, or installed before they were declared): install it again with "
                               "pip install -e . (or pip install trajmodes)")
        for fmt in found:
            _add(fmt, replace=False)
        _LOADED.append(True)


def _add(fmt: FileFormat, replace: bool) -> None:
    name = getattr(fmt, "name", None)
    if not isinstance(name, str) or not name or name != name.lower():
        raise ValueError(f"a force-constant format needs a lower-case name, not {name!r}")
    if name in _FORMATS and not replace and _FORMATS[name] is not fmt:
        raise ValueError(f"a force-constant format named {name!r} is already registered ({_FORMATS[name].title}); "
                         "give replace=True to put the new one in its place")
    _FORMATS[name] = fmt


def register_format(fmt: FileFormat, *, replace: bool = False) -> None:
    """Add a format to the registry (after those of the entry points), or with ``replace`` put it in the place of the
    format of the same name.

    Raises
    ------
    ValueError
        A format of that name is registered already (and ``replace`` is False), or the name is not lower case.
    """
    _load()
    with _LOCK:
        _add(fmt, replace)


def registered_formats() -> tuple[FileFormat, ...]:
    """Every registered format, in the order messages and ``--from`` / ``--to`` list them."""
    _load()
    return tuple(_FORMATS.values())


def format_names() -> tuple[str, ...]:
    """The names of the registered formats (what ``format=`` takes)."""
    return tuple(f.name for f in registered_formats())


def fc_format(name: str) -> FileFormat:
    """The format of the name ``name`` (any case).

    Raises
    ------
    ValueError
        No format of that name, the known ones listed.
    """
    formats = registered_formats()
    found = [f for f in formats if f.name == str(name).lower()]
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


def _file_format(path: str) -> FileFormat:
    formats = registered_formats()
    name = os.path.basename(path)
    found = [f for f in formats if f.knows_name(name)]
    if not found:
        head = _head(path)
        found = [f for f in formats if f.can_open(path, head)]
    if not found:
        known = [m for f in formats for m in (f.marks[:2] + f.file_names[:1])]
        known += [f"*{s}" for f in formats for s in f.suffixes]
        raise ValueError(f"{path}: not a force-constant file trajmodes knows by its name ({', '.join(known)}); "
                         "give --from to trajmodes convert-fc (format= in Python), or name the file as its format "
                         "does")
    return found[0]


def _folder_format(path: str) -> FileFormat:
    formats = registered_formats()
    found = [f for f in formats if f.can_open(path)]
    inside = {name for f in found for name in f.contains}
    found = [f for f in found if f.name not in inside]
    listing = sorted(os.listdir(path))
    if len(found) > 1:
        # the file of each: the command line's commands other than convert-fc take no --from, but every one a file
        marked = [next((m for m in f.marks if m in listing), None) for f in found]
        files = [os.path.join(path, m) for m in marked if m is not None]
        raise ValueError(f"{path} holds files of several formats ({', '.join(f.name for f in found)}): give --from "
                         "to trajmodes convert-fc (format= in Python)"
                         + (f", or the file of the one to read: {' or '.join(files)}" if files else ""))
    if not found:
        marks = [f"{f.title} {f.marks[0]}" for f in formats if f.marks]
        files = [s for f in formats for s in f.suffixes]
        named = [name for name in listing if any(f.suffixes and name.endswith(f.suffixes) for f in formats)]
        held = (f"; it holds {', '.join(named[:4])}{' ...' if len(named) > 4 else ''}, not named as constants: "
                "give the file itself where one holds them") if named else ""
        raise ValueError(f"{path}: no force-constant files in it ({', '.join(marks)}; or give a "
                         f"{', '.join(files[:-1])} or {files[-1]} file{held})")
    return found[0]


def detect_fc_format(path: str | os.PathLike) -> str:
    """The name of the format of force constants at ``path`` (:func:`fc_format` gives the format): of a folder, the one
    format whose files it holds (phono3py where its files come with a phonopy yaml); of a file, the format its name says
    (a folder's file names, ``fc2.hdf5``, ``.nc``, ``.fcp``, ``.fcs``) or, for a name no format knows, its first bytes
    (a hiPhive tar archive).

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


def format_options(name: str, mode: str = "read") -> tuple[str, ...]:
    """The options (keyword parameters) of the reader (``mode="read"``) or the writer (``"write"``) of the format
    ``name``: what ``ForceConstants.read(path, name, **options)`` and ``fc.write(target, name, **options)`` take."""
    fmt = fc_format(name)
    if mode not in ("read", "write"):
        raise ValueError(f"mode must be 'read' or 'write', not {mode!r}")
    func = fmt.read if mode == "read" else fmt.write
    return () if func is None else _parameters(func, 1 if mode == "read" else 2)[0]


def _parameters(func: Callable, skip: int) -> tuple[tuple[str, ...], bool]:
    """The keyword parameters of ``func`` after its first ``skip`` (the path; the constants and the target), and
    whether it takes any keyword (``**options``)."""
    params = list(inspect.signature(func).parameters.values())[skip:]
    names = tuple(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    return names, any(p.kind is p.VAR_KEYWORD for p in params)


def _checked(fmt: FileFormat, func: Callable, skip: int, options: dict, doing: str) -> dict:
    """``options``, refused with a :class:`~trajmodes.errors.FormatOptionError` (a TypeError and a ValueError) that
    names the format and the options it takes where ``func`` has no parameter of one of their names."""
    names, any_keyword = _parameters(func, skip)
    unknown = [k for k in options if k not in names]
    if unknown and not any_keyword:
        takes = f"its options are {', '.join(names)}" if names else "it takes none"
        raise FormatOptionError(f"{doing} {fmt.title} force constants (format {fmt.name!r}) takes no option "
                        f"{', '.join(map(repr, unknown))}: {takes}")
    return options


def read_keywords(path: str | os.PathLike, format: str | None = None, options: dict | None = None) -> tuple[dict, str]:
    """The keywords of :class:`~trajmodes.forceconstants.model.ForceConstants` read from ``path`` by the format
    ``format`` (default: the one :func:`detect_fc_format` finds) with the reader's ``options``, and the file(s) to name
    if they turn out inconsistent.

    Raises
    ------
    FormatOptionError
        A TypeError (and ValueError): an option the format's reader does not take (the message lists those it takes).
    ValueError
        An unknown format, or a path whose format cannot be told (see :func:`fc_format`, :func:`detect_fc_format`).
    """
    fmt = fc_format(format if format is not None else detect_fc_format(path))
    options = _checked(fmt, fmt.read, 1, dict(options or {}), "reading")
    return fmt.read(path, **options)


def format_to_write(target: str | os.PathLike, format: str | None = None) -> FileFormat:
    """The format to write ``target`` in: ``format``, else the one-file format whose written ending the name has
    (``.nc``: netcdf, ``.fcs``: hiphive); the folder formats must be named.

    Raises
    ------
    ValueError
        An unknown format, one trajmodes does not write, or a target whose name says no format.
    """
    if format is None:
        formats = registered_formats()
        name = os.path.basename(os.fspath(target).rstrip("/" + os.sep))
        found = [f for f in formats if f.write is not None and f.written_suffix and name.endswith(f.written_suffix)]
        if not found:
            writers = [f for f in formats if f.write is not None]
            ends = ", ".join(f"*{f.written_suffix} {f.name}" for f in writers if f.written_suffix)
            folders = _either(f.name for f in writers if not f.written_suffix)
            files = _either(f.name for f in writers if f.written_suffix)
            raise ValueError(f"{os.fspath(target)}: its name says no format to write ({ends}); give format= ({folders} "
                             f"write a folder, {files} a file)")
        return found[0]
    fmt = fc_format(format)
    if fmt.write is None:
        raise ValueError(f"trajmodes does not write {fmt.title} force constants")
    return fmt


def _either(names) -> str:
    """``"a, b or c"``."""
    names = list(names)
    return " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def write_options(fmt: FileFormat, options: dict | None = None) -> dict:
    """``options`` for the writer of ``fmt``, refused with a :class:`~trajmodes.errors.FormatOptionError` (a TypeError
    and a ValueError) naming the format and the options it takes where the writer has no parameter of one of their
    names."""
    return _checked(fmt, fmt.write, 2, dict(options or {}), "writing")
