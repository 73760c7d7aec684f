"""Runs made once per session (tests/support/session_store.py): the same inputs give the same folder and one run,
other inputs another; a run that failed is made again by the next one to ask."""
from __future__ import annotations

import numpy as np
import pytest

from tests.support.session_store import once_per_session


def test_a_run_is_made_once_for_the_same_inputs(tmp_path_factory):
    made = []

    def make(folder):
        made.append(folder)
        (folder / "out.txt").write_text("x")

    inputs = dict(n_beads=4, positions=np.zeros((2, 3)), seed=7, test="session-store")
    a = once_per_session(tmp_path_factory, "store-test", inputs, make)
    b = once_per_session(tmp_path_factory, "store-test", dict(inputs, positions=[[0.0] * 3] * 2), make)
    assert a == b and made == [a] and (a / "out.txt").read_text() == "x"
    c = once_per_session(tmp_path_factory, "store-test", dict(inputs, seed=8), make)
    assert c != a and made == [a, c]


def test_a_failed_run_is_made_again(tmp_path_factory):
    calls = []

    def fails(folder):
        calls.append(folder)
        raise RuntimeError("i-pi failed")

    inputs = dict(test="session-store-failure")
    with pytest.raises(RuntimeError):
        once_per_session(tmp_path_factory, "store-test", inputs, fails)
    folder = once_per_session(tmp_path_factory, "store-test", inputs, lambda f: calls.append(f))
    assert calls == [folder, folder]
