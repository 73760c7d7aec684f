"""Errors and warnings raised by trajmodes, each naming what is wrong, where, and what to do."""
from __future__ import annotations

import os
from typing import ClassVar

import numpy as np


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


class DeprecatedUnpacking:
    """A result that was a tuple: ``a, b, c = result`` still works for one release, with a DeprecationWarning; the
    attributes are the way. A mixin of the frozen dataclasses that replaced the tuples (its fields in the tuple's
    order; a class whose former tuple was shorter in some cases overrides ``_unpacked_fields``)."""

    def _unpacked_fields(self) -> list[str]:
        """The names of the fields that made the former tuple, in its order: all of them."""
        import dataclasses
        return [f.name for f in dataclasses.fields(self)]

    def __iter__(self):
        import warnings
        names = self._unpacked_fields()
        warnings.warn(f"unpacking {type(self).__name__} as a tuple is deprecated and will be removed in the next "
                      f"release: use its attributes {', '.join('.' + n for n in names)}", DeprecationWarning,
                      stacklevel=2)
        return iter([getattr(self, n) for n in names])

    def __getitem__(self, index):
        """``result[i]`` of the former tuple: one release, with a DeprecationWarning."""
        import warnings
        names = self._unpacked_fields()
        warnings.warn(f"indexing {type(self).__name__} as a tuple is deprecated and will be removed in the next "
                      f"release: use its attributes {', '.join('.' + n for n in names)}", DeprecationWarning,
                      stacklevel=2)
        return tuple(getattr(self, n) for n in names)[index]


class DeprecatedItemAccess:
    """A result that was a dict: ``result["name"]`` still works for one release, with a DeprecationWarning; the
    attribute ``result.name`` is the way. A mixin of the frozen dataclasses that replaced the dicts.

    The dict's keys are the field names, unless the class maps them in ``_former_keys`` (a class attribute,
    {former key: field name}, in the former dict's order): then ``result[former key]`` answers that field, and
    ``keys()``, iteration, ``values()`` and ``items()`` are the former dict's."""

    _former_keys: ClassVar[dict[str, str]] = {}

    def _field_of(self, key) -> str:
        """The field that answers ``result[key]``."""
        return self._former_keys.get(key, key) if isinstance(key, str) else key

    def __getitem__(self, key):
        import warnings
        name = self._field_of(key)
        warnings.warn(f"{type(self).__name__}[{key!r}] is deprecated and will be removed in the next release: use "
                      f"the attribute .{name}", DeprecationWarning, stacklevel=2)
        if not isinstance(name, str):
            raise KeyError(key)
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(key) from None

    def keys(self) -> list[str]:
        """The former dict's keys: the names of the fields, or the keys of ``_former_keys``."""
        import dataclasses
        return list(self._former_keys) if self._former_keys else [f.name for f in dataclasses.fields(self)]

    def _warn_dict(self, what: str) -> None:
        import warnings
        names = ", ".join("." + self._field_of(k) for k in self.keys())
        warnings.warn(f"{what} {type(self).__name__} as a dict is deprecated and will be removed in the next release: "
                      f"use its attributes {names}", DeprecationWarning, stacklevel=3)

    def __iter__(self):
        """The former dict's keys (``for k in result``): one release, with a DeprecationWarning."""
        self._warn_dict("iterating over")
        return iter(self.keys())

    def values(self) -> list:
        """The former dict's values: one release, with a DeprecationWarning."""
        self._warn_dict("values() of")
        return [getattr(self, self._field_of(k)) for k in self.keys()]

    def items(self) -> list:
        """The former dict's items: one release, with a DeprecationWarning."""
        self._warn_dict("items() of")
        return [(k, getattr(self, self._field_of(k))) for k in self.keys()]


def renamed_attribute(old: str, new: str) -> property:
    """A read-only property ``old`` that returns attribute ``new``: an attribute that was renamed still answers for
    one release, with a DeprecationWarning naming the new spelling. Assigned in the class body:
    ``fc = renamed_attribute("fc", "force_constants")``."""

    def get(self):
        import warnings
        warnings.warn(f"{type(self).__name__}.{old} is deprecated and will be removed in the next release: use "
                      f".{new}", DeprecationWarning, stacklevel=2)
        return getattr(self, new)

    return property(get, doc=f"Deprecated: :attr:`{new}` (``.{old}`` warns, one release).")


class CalledProperty(np.ndarray):
    """An array that was a method's result and is now a property's: ``obj.name()`` still works for one release, with a
    DeprecationWarning; ``obj.name`` is the way. Arithmetic on it gives plain arrays."""

    def __call__(self):
        import warnings
        warnings.warn("calling this property is deprecated and will be removed in the next release: drop the ()",
                      DeprecationWarning, stacklevel=2)
        return self.view(np.ndarray)

    def __array_wrap__(self, array, context=None, return_scalar=False):
        out = np.asarray(array).view(np.ndarray)
        return out[()] if return_scalar else out


def renamed_keywords(**renamed):
    """Decorator: keyword arguments that were renamed (``old="new"``) still work for one release, with a
    DeprecationWarning naming the new spelling."""
    import functools
    import warnings

    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            for old, new in renamed.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{fn.__name__}() got both {old}= and {new}=; give {new}= only")
                    warnings.warn(f"{fn.__name__}({old}=) is deprecated and will be removed in the next release: "
                                  f"pass {new}=", DeprecationWarning, stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)
        return inner
    return wrap
