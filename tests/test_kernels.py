"""The compiled kernels check every size and index once per call: a bad argument is a ValueError naming it, never
a write out of bounds (the Python callers never pass one; these are the guards for the day one does)."""
from __future__ import annotations

import numpy as np
import pytest

from trajmodes import _design, _fastparse, _tetrahedron
from trajmodes.phonons.harmonic import tetrahedron

ROWS = b"1 2.5 3.5\n2 4.5 5.5\n"


def _parse(colmap, ncols_out, nrows=2, out_size=None):
    out = np.zeros(out_size if out_size is not None else max(nrows * max(ncols_out, 0), 1))
    return _fastparse.parse_rows(ROWS, 0, nrows, np.asarray(colmap, dtype=np.int32).tobytes(), out, ncols_out), out


def test_parse_rows_reads_within_its_output():
    (end, status, row, col), out = _parse([-1, 0, 1], 2)
    assert (end, status, row, col) == (len(ROWS), 0, -1, -1)
    np.testing.assert_array_equal(out.reshape(2, 2), [[2.5, 3.5], [4.5, 5.5]])


@pytest.mark.parametrize("colmap, ncols_out, nrows", [
    ([-1, 0, 2], 2, 2),          # a destination column past the end of the output row
    ([-1, 0, 1], -2, 2),         # a negative row width
    ([-1, 0, 1], 2, -1),         # a negative number of rows
])
def test_parse_rows_refuses_sizes_and_columns_out_of_range(colmap, ncols_out, nrows):
    with pytest.raises(ValueError, match="parse_rows"):
        _parse(colmap, ncols_out, nrows, out_size=8)


def _empty_tables(n_atoms, T, n_c):
    i64 = lambda n: np.zeros(n, dtype=np.int64)   # noqa: E731
    u3 = np.zeros(3 * max(n_atoms, 0) * max(T, 0) + 1)
    return [u3, n_atoms, T, i64(max(n_c, 0)), n_c]


@pytest.mark.parametrize("n_atoms, T, n_c", [(-1, 2, 1), (2, -3, 1), (2, 2, -1)])
def test_design_rows_refuse_negative_sizes(n_atoms, T, n_c):
    i64 = lambda n: np.zeros(n, dtype=np.int64)   # noqa: E731
    args = _empty_tables(n_atoms, T, n_c) + [0, 0, i64(0), i64(0), i64(0), i64(0), i64(0), i64(0), i64(1), i64(0),
                                             np.zeros(0), i64(0), i64(0), i64(1), i64(0), np.zeros(0), np.zeros(8)]
    with pytest.raises(ValueError, match="negative"):
        _design.rows_into(*args)


def _tetrahedra(n_points=3, nw=5):
    rng = np.random.default_rng(0)
    return [rng.normal(size=(n_points * 24, 4)), n_points * 24, np.zeros(24, dtype=np.int64), 24,
            np.sort(rng.normal(size=nw)), np.arange(nw, dtype=np.int64), np.zeros(n_points * nw)]


@pytest.mark.parametrize("change", [
    {1: 25},                                             # rows not a whole number of groups
    {1: 4 * 24},                                         # more rows than values holds
    {2: np.full(24, 4, dtype=np.int64)},                 # a central vertex that is not 0..3
    {5: np.array([0, 1, 2, 3, 5], dtype=np.int64)},      # an output column past the end
    {6: np.zeros(14)},                                   # an output too short
])
def test_tetrahedron_weights_refuse_sizes_and_indices_out_of_range(change):
    args = _tetrahedra()
    for k, v in change.items():
        args[k] = v
    with pytest.raises(ValueError, match="accumulate"):
        _tetrahedron.accumulate(*args)


def test_tetrahedron_weights_are_the_numpy_routes_to_the_last_bit(monkeypatch):
    """The compiled point weights against the numpy route (sorted_vertices, pairs_inside, vertex_weights) on random
    tetrahedra, with tied and coincident vertex values and points on vertices: the same sums, bit for bit."""
    rng = np.random.default_rng(1)
    cases = []
    for trial in range(24):
        vals = rng.normal(size=(int(rng.integers(1, 30)), 24, 4)) * 3
        if trial % 3 == 0:
            vals = np.round(vals, 1)                              # ties
        if trial % 4 == 0:
            vals[..., 1] = vals[..., 0]                           # coincident vertices
        w = rng.normal(size=int(rng.integers(1, 200))) * 3
        if trial % 2 == 0:
            w = np.concatenate([w, vals.ravel()[:40]])            # points on vertices, unsorted
        cases.append((vals, rng.integers(0, 4, 24), w))
    compiled = [tetrahedron.point_weights(*c) for c in cases]
    monkeypatch.setattr(tetrahedron, "_tetrahedron", None)
    for c, mine in zip(cases, compiled):
        ref = tetrahedron.point_weights(*c)
        assert ref.shape == mine.shape and np.count_nonzero(ref) > 0
        np.testing.assert_array_equal(mine, ref)
