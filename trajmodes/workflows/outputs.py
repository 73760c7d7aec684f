"""The outputs of every command: staged until the command succeeds, written atomically, and stamped with what made
them.

A command's files go through one :func:`staged_outputs` (``out(target)`` is the path to write ``target`` to; they
are moved into place when the whole command has succeeded, :class:`~trajmodes.io.filesystem.StagedOutputs`); its
datasets are written by :func:`write_dataset` with the :func:`provenance` attributes, and an output kept between
commands (the cache of ``trajmodes run``) is known by its inputs'
:func:`~trajmodes.io.filesystem.source_fingerprint`.
"""
from __future__ import annotations

import os

from trajmodes.io.filesystem import StagedOutputs, atomic_write
from trajmodes.io.provenance import clean_attrs

__all__ = ["staged_outputs", "direct_outputs", "provenance", "write_dataset"]


def staged_outputs(notify=None) -> StagedOutputs:
    """The outputs of one command: every file staged beside its target and moved into place when the command has
    succeeded (``commit``), or removed when it fails or is interrupted (``discard``); ``notify(what, path)`` is told
    of every staging folder made and every file kept early (the supervisor of the command line removes the folders of
    a command it must kill)."""
    return StagedOutputs(notify=notify)


class DirectOutputs:
    """Outputs written straight to their targets (a result's ``write(folder)`` called from Python): ``out(target)``
    makes the target's folder and returns the target; :meth:`keep` has nothing to move. The command line stages its
    files instead (:func:`staged_outputs`), with the same two methods."""

    def __call__(self, target) -> str:
        target = os.fspath(target)
        os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
        return target

    def keep(self, target) -> str:
        return os.fspath(target)


def direct_outputs(out=None):
    """``out``, the outputs a command stages (:func:`staged_outputs`), or where it is None the files written straight
    to their targets (:class:`DirectOutputs`)."""
    return DirectOutputs() if out is None else out


def provenance(inputs=(), settings=None, temperature: float | None = None) -> dict:
    """The attributes every output of a command carries: the program and its version, when, the input files
    ``inputs`` (with their sizes and times), the command's ``settings`` and the run's ``temperature`` (K) where known
    (:func:`trajmodes.io.provenance.provenance`)."""
    from trajmodes.io.provenance import provenance as attributes
    return attributes(inputs, settings, temperature=temperature)


def write_dataset(ds, target: str, out, attrs: dict) -> str:
    """Write the dataset ``ds`` to ``target`` through the command's outputs ``out`` (staged, :func:`staged_outputs`;
    atomic) with ``attrs`` (its :func:`provenance`) added to its own, all made netCDF-safe
    (:func:`~trajmodes.io.provenance.clean_attrs`). Returns ``target``."""
    ds = ds.copy()
    ds.attrs = clean_attrs({**ds.attrs, **attrs})
    atomic_write(out(target), lambda tmp: ds.to_netcdf(tmp, engine="netcdf4"))
    return target
