"""Errors and warnings raised by trajmodes, each naming what is wrong, where, and what to do; and :func:`blamed`, which
names the file in the error of what was read from it."""
from __future__ import annotations

import os
from contextlib import contextmanager

#: the public names: every error and warning, and what names a file in them
__all__ = ["FileFormatError", "TrajectoryFormatError", "ForceConstantsFormatError", "FormatOptionError",
           "ReferenceMismatchError", "TruncatedFrameWarning", "UnitsWarning", "DAMAGED", "blamed"]


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
    """A trajectory or structure file that cannot be read as it stands.

    Parameters
    ----------
    path, what, frame, line, fix
        As :class:`FileFormatError`'s: the file, what is wrong, the 0-based frame and the 1-based line where it is,
        and what the user can do about it (the message joins them in that order).
    """


class ForceConstantsFormatError(FileFormatError):
    """A force-constant file (phonopy, phono3py or trajmodes netCDF) that cannot be read as it stands.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    what : str
        What is wrong.
    frame : int, optional
        0-based frame (or block) index within the file.
    line : int, optional
        1-based line number within the file.
    fix : str, optional
        What the user can do about it.
    """


class FormatOptionError(TypeError, ValueError):
    """An option that a file format's reader or writer does not take: a TypeError, as any unexpected keyword is, and a
    ValueError of the input (the format may be the one a path turned out to hold; the command line says it in one
    line)."""


class ReferenceMismatchError(ValueError):
    """The reference structure does not match the trajectory (atom count, species or box)."""


class TruncatedFrameWarning(UserWarning):
    """The last frame of a file is incomplete and was dropped."""


class UnitsWarning(UserWarning):
    """A unit or time step had to be assumed."""


#: what to do about a force-constant file that cannot be read
DAMAGED = "The file is incomplete, damaged or not what its name says: write or copy it again"


@contextmanager
def blamed(path, fix: str | None = DAMAGED):
    """Turn a ValueError of the arrays read from ``path`` into a :class:`ForceConstantsFormatError` naming the file,
    with ``fix`` (default :data:`DAMAGED`: the file is damaged; None where the error says what to do itself); a
    ForceConstantsFormatError passes as it is.

    Parameters
    ----------
    path : str or os.PathLike
        The file the arrays were read from.
    fix : str or None
        What the user can do about it.
    """
    try:
        yield
    except ForceConstantsFormatError:
        raise
    except ValueError as exc:
        raise ForceConstantsFormatError(path, str(exc), fix=fix) from None
