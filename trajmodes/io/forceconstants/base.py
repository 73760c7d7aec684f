"""The contract every force-constant format of this package fulfils: its name, the files that say it, and its reader
and writer.

Each format module declares one :class:`FCFormat` (``FORMAT``); :data:`trajmodes.io.forceconstants.registry.FORMATS`
lists them, and the package's entry point (group ``trajmodes.force_constants`` in pyproject.toml) hands that list to
the registry of the force-constant model (:mod:`trajmodes.forceconstants.formats`), which tells which one a file or
folder holds (:meth:`FCFormat.can_open`, as xarray asks each backend ``guess_can_open``), finds one by its name (as
MDAnalysis registers a reader by its ``format``) and reads and writes through it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

__all__ = ["FCFormat"]


@dataclass(frozen=True)
class FCFormat:
    """One force-constant format.

    Attributes
    ----------
    name : str
        The name ``format=`` and ``--from`` / ``--to`` take (lower case).
    title : str
        The name in messages (``"TDEP"``, ``"ShengBTE"``).
    read : callable
        ``read(path, **options) -> (keywords, where)``: the keywords of
        :class:`~trajmodes.forceconstants.model.ForceConstants` and the file(s) to name if they turn out inconsistent.
        Its keyword parameters are the options ``ForceConstants.read(path, format, **options)`` takes.
    write : callable or None
        ``write(fc, target, **options)``, ``fc`` in this format's convention; None where trajmodes does not write it.
        Its keyword parameters are the options ``fc.write(target, format, **options)`` takes.
    convention : {"full", "short-range"}
        The convention of the constants ``ForceConstants.write`` hands to ``write`` (TDEP keeps polar constants
        short-range).
    marks : tuple of str
        File names that say the format, given as the file or found in a folder (the first named in messages).
    file_names : tuple of str
        File names that say the format only when given as the file (a folder of another format may hold them too:
        phonopy's ``fc2.hdf5`` beside phono3py's ``fc3.hdf5``).
    suffixes : tuple of str
        File-name endings that say the format of a file given alone (``.nc``).
    companions : tuple of str
        Other files its reader takes from the folder of the marks (Born charges, the fc2 of another name): with the
        marks, the files of earlier constants that writing new ones into a folder must not leave behind.
    contains : tuple of str
        Formats whose marks a folder of this one may hold as part of it (phono3py's folder, phonopy's yaml).
    head_test : callable or None
        ``head_test(head) -> bool``: whether a file whose name no format knows is of this format, from its first bytes.
    written_suffix : str or None
        The ending of the one file ``write`` writes (``".nc"``), by which a target of that name says the format; None
        for the formats whose writer fills a folder.
    """

    name: str
    title: str
    read: Callable
    write: Callable | None = None
    convention: str = "full"
    marks: tuple[str, ...] = ()
    file_names: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    companions: tuple[str, ...] = ()
    contains: tuple[str, ...] = ()
    head_test: Callable[[bytes], bool] | None = None
    written_suffix: str | None = None

    def knows_name(self, name: str) -> bool:
        """Whether the file name ``name`` (no folder) says this format."""
        return name in self.marks or name in self.file_names or (bool(self.suffixes) and name.endswith(self.suffixes))

    def can_open(self, path: str | os.PathLike, head: bytes = b"") -> bool:
        """Whether ``path`` holds this format: a folder with one of its :attr:`marks`; a file whose name says it or,
        where no format knows the name (the caller asks :meth:`knows_name` of all first), whose first bytes ``head``
        pass :attr:`head_test`."""
        path = os.fspath(path)
        if os.path.isdir(path):
            return not set(os.listdir(path)).isdisjoint(self.marks)
        return self.knows_name(os.path.basename(path)) or (self.head_test is not None and self.head_test(head))

    @property
    def files(self) -> tuple[str, ...]:
        """Every file name of a folder of this format that its reader takes: the marks and the companions."""
        return self.marks + self.file_names + self.companions
