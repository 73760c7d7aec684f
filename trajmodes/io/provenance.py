"""Provenance of the files trajmodes writes: which version made them, when, from what, and with which settings.

Every netCDF file written by trajmodes carries these as real netCDF attributes (numbers, strings and arrays of
numbers, never the printed form of a Python object), so that any netCDF tool reads them:

``trajmodes_version``, ``created`` (ISO 8601, UTC), ``inputs`` (the input files as absolute paths,
``"; "``-separated), ``temperature_K`` where one applies, and one ``setting_<name>`` attribute per setting.
"""
from __future__ import annotations

import datetime
import math
import os
from collections.abc import Mapping

import numpy as np


def netcdf_value(value):
    """``value`` as a netCDF attribute value: str, int, float or a 1-d array of numbers.

    Booleans become 0/1, paths their text, sequences of numbers arrays, sequences of text lists of strings
    (a netCDF string array). Returns None for None and for empty sequences (such attributes are left out).

    Raises
    ------
    TypeError
        For anything else (a mapping, an arbitrary object): its printed form is no attribute value.
    """
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, (str, os.PathLike)):
        return os.fspath(value)
    if isinstance(value, Mapping):
        raise TypeError("nested settings are flattened by provenance(); pass a flat mapping")
    if not isinstance(value, (list, tuple, np.ndarray)):
        raise TypeError(f"a {type(value).__name__} cannot be a netCDF attribute: give numbers, text, or "
                        "sequences of them")
    arr = np.asarray(value)
    if arr.size == 0:
        return None
    if arr.dtype.kind in "biuf":
        arr = arr.astype(float if arr.dtype.kind == "f" else np.int64).ravel()
        return arr if arr.size != 1 else arr[0].item()
    items = [netcdf_value(v) for v in (arr.ravel().tolist() if arr.dtype.kind != "O" else list(value))]
    if any(isinstance(v, (list, np.ndarray)) for v in items):
        raise TypeError("nested sequences cannot be a netCDF attribute: flatten them")
    return [str(v) for v in items if v is not None]


def provenance(inputs=(), settings: Mapping | None = None, temperature: float | None = None) -> dict:
    """The provenance attributes of one output file.

    Parameters
    ----------
    inputs : sequence of str or path
        The files the output was computed from.
    settings : mapping, optional
        Name -> value of every setting that made it (cutoffs, fit mode, frames used, resolution, ...); nested
        mappings are flattened as ``outer_inner``. None values are left out.
    temperature : float, optional
        The temperature of the data in K (stored as ``temperature_K`` when finite).

    Returns
    -------
    dict
        netCDF-ready attributes.
    """
    from trajmodes import __version__
    out = {"trajmodes_version": __version__,
           "created": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
           "inputs": "; ".join(os.path.abspath(os.fspath(p))
                               for p in ([inputs] if isinstance(inputs, (str, os.PathLike)) else inputs))}
    if temperature is not None and math.isfinite(float(temperature)):
        out["temperature_K"] = float(temperature)
    for k, v in _flat(settings or {}):
        v = netcdf_value(v)
        if v is not None:
            out[f"setting_{k}"] = v
    return out


def _flat(settings: Mapping, prefix: str = ""):
    for k, v in settings.items():
        if isinstance(v, Mapping):
            yield from _flat(v, f"{prefix}{k}_")
        else:
            yield f"{prefix}{k}", v


def clean_attrs(attrs: Mapping) -> dict:
    """A dataset's attributes made netCDF-safe with :func:`netcdf_value` (None values dropped)."""
    out = {}
    for k, v in attrs.items():
        v = netcdf_value(v) if not isinstance(v, Mapping) else None
        if v is not None:
            out[str(k)] = v
    return out
