"""Runs made once per test session, shared by every module and every pytest-xdist worker that asks for the same inputs.

A run is kept in a folder of the session's temporary folder (:func:`tests.support.long_md.session_folder`, the one
above every worker's own) named by its kind and a hash of its inputs; a lock on the folder makes a second worker that
asks for the same run wait for the first one's and read it, instead of making it again; a run that failed leaves no
mark, so the next one to ask makes it again. tests/quantum/lj_pimd.py (i-PI runs of Lennard-Jones crystals) and
tests/quantum/support.py (i-PI runs of harmonic crystals) keep their runs here; the long LAMMPS runs have their own
(tests/support/long_md.py).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
from pathlib import Path
from typing import Callable

from tests.support.long_md import session_folder

#: the file that marks a finished run in its folder (its inputs, as JSON)
DONE = ".inputs.json"


def key_of(inputs: dict) -> str:
    """The inputs as canonical JSON (sorted keys; arrays and tuples as lists)."""
    import numpy as np

    def plain(v):
        if isinstance(v, (np.ndarray, list, tuple)):
            return np.asarray(v).tolist()
        if isinstance(v, np.generic):
            return v.item()
        return v
    return json.dumps({k: plain(v) for k, v in inputs.items()}, sort_keys=True)


def once_per_session(tmp_path_factory, kind: str, inputs: dict, make: Callable[[Path], Path]) -> Path:
    """The folder of the run ``make(folder)`` for ``inputs``, made by the first process of the session that asks for it.

    Parameters
    ----------
    kind : str
        A name for the kind of run (part of the folder's name).
    inputs : dict
        Everything the run depends on (JSON-able, arrays allowed); equal inputs are the same run.
    make : callable
        ``make(folder)``: makes the run in the folder (empty, or what a failed attempt left), raises when it fails.
    """
    key = key_of(inputs)
    folder = session_folder(tmp_path_factory) / f"{kind}-{hashlib.sha1(key.encode()).hexdigest()[:16]}"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = folder / DONE
        if done.exists() and done.read_text() == key:
            return folder
        done.unlink(missing_ok=True)
        make(folder)
        done.write_text(key)
    return folder
