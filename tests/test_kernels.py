"""The compiled kernels check every size and index once per call: a bad argument is a ValueError naming it, never
a write out of bounds (the Python callers never pass one; these are the guards for the day one does)."""
from __future__ import annotations

import numpy as np
import pytest

from trajmodes import _design, _fastparse

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
