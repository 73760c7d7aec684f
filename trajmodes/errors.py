"""Errors and warnings raised by trajmodes, each naming what is wrong, where, and what to do."""
from __future__ import annotations

import os


class FileFormatError(ValueError):
    """A file that cannot be read as it stands: what is wrong, where (file, frame, line) and what to do.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    what : str
        What is wrong.
    frame : int, optional
        0-based frame index within the file.
    line : int, optional
        1-based line number within the file.
    fix : str, optional
        What the user can do about it.
    """

    def __init__(self, path, what: str, *, frame: int | None = None, line: int | None = None,
                 fix: str | None = None):
        self.path = os.fspath(path) if path is not None else None
        self.what = what
        self.frame = frame
        self.line = line
        self.fix = fix
        where = [str(self.path)] if self.path else []
        if frame is not None:
            where.append(f"frame {frame}")
        if line is not None:
            where.append(f"line {line}")
        msg = ", ".join(where) + ": " + what if where else what
        if fix:
            msg += ". " + fix
        super().__init__(msg)


class TrajectoryFormatError(FileFormatError):
    """A trajectory or structure file that cannot be read as it stands."""


class ForceConstantsFormatError(FileFormatError):
    """A force-constant file (phonopy, phono3py or trajmodes netCDF) that cannot be read as it stands."""


class ReferenceMismatchError(ValueError):
    """The reference structure does not match the trajectory (atom count, species or box)."""


class TruncatedFrameWarning(UserWarning):
    """The last frame of a file is incomplete and was dropped."""


class UnitsWarning(UserWarning):
    """A unit or time step had to be assumed."""
