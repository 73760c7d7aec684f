"""``trajmodes sqw``'s q-points: the symmetry search of the run's primitive cell runs while a thread parses the pass's
first chunks (as the fit's does), and S(q, omega) comes out the same, bit for bit."""
from __future__ import annotations

import contextlib
import time

import numpy as np

import trajmodes
from tests.support.paths import EXAMPLES
from trajmodes.trajectory.passes import Pass
from trajmodes.workflows.scattering import scattering_qpoints, structure_factor

RUN = str(EXAMPLES / "md" / "cu_300K.lammpstrj.gz")
OPTIONS = dict(window=20, step=5, currents=True, incoherent=True, weights=None)


def sqw(monkeypatch, read_ahead: bool):
    """S(q, omega) along GX as ``trajmodes sqw`` computes it, and the frames its pass held while the primitive cell
    was searched for (waited for up to 20 s, so that the thread's start does not race the search)."""
    import trajmodes.modes.scattering_qpoints as sq
    if not read_ahead:
        monkeypatch.setattr(Pass, "reading_ahead", lambda self, layer=None: contextlib.nullcontext())
    search, held = sq.run_primitive, []

    def searching(traj, symprec=sq.SYMPREC, reading=None):
        end = time.monotonic() + (20.0 if read_ahead else 0.5)
        while not reading.frames and time.monotonic() < end:
            time.sleep(0.01)
        held.append(len(reading.frames))
        return search(traj, symprec, reading=reading)
    monkeypatch.setattr(sq, "run_primitive", searching)
    traj = trajmodes.read(RUN, chunk_frames=40)
    reading = traj.read_pass()
    q = scattering_qpoints(traj, path="GX", reading=reading)
    return structure_factor(traj, q, reading=reading, **OPTIONS), held


def test_the_symmetry_search_reads_ahead_and_the_numbers_stay(monkeypatch):
    ahead, held = sqw(monkeypatch, True)
    assert len(held) == 1 and held[0] >= 1            # the pass's first frames parsed while the search ran
    monkeypatch.undo()
    plain, held_plain = sqw(monkeypatch, False)
    assert held_plain == [0]
    assert set(ahead.data_vars) == set(plain.data_vars) and "Clqw" in ahead
    for name in plain.data_vars:
        assert np.array_equal(ahead[name].values, plain[name].values, equal_nan=True), name
    assert np.array_equal(ahead.qpoint.values, plain.qpoint.values)
