"""The compiled design kernel's tables: one partner-table row per column atom, the columns of a cluster side by side
(each table row gathered once per run of columns), and the rows they give equal to the numpy path's."""
from __future__ import annotations

import numpy as np
import pytest

from tests.support.standin import diamond
from trajmodes.forceconstants import design
from trajmodes.forceconstants.fit import EffectiveForceConstants


@pytest.fixture(scope="module")
def kernel():
    if design._design is None:
        pytest.skip("the compiled kernel is not built")
    # 64-atom Si, triplets to 3.9 A: off-diagonal and diagonal (j = l) clusters, columns spread by the sum rule
    return EffectiveForceConstants(4.0, 3.9, mode="simultaneous").prepare(diamond()).kernel_


def test_third_order_table_has_one_row_per_column_atom(kernel):
    o3 = kernel.orders[1]
    assert o3.order == 3
    for (atoms, partners, _), kt in zip(o3.classes, o3.kernels):
        table = kt["table"]
        # the triplets share their atoms: every partner row is a row of the table, and no table row repeats
        assert len(np.unique(table, axis=0)) == len(table) < sum(len(p) for p in partners)
        assert len(table) <= kernel.n_atoms
        for p in partners:
            rows = {r.tobytes() for r in table}
            assert all(r.tobytes() in rows for r in p)


def test_columns_of_a_cluster_are_side_by_side(kernel):
    for o in kernel.orders:
        for kt in o.kernels:
            n = len(kt["table"]) + 1
            cluster = (kt["col_j"] * n + kt["col_l"] + 1) * n + kt["col_m"] + 1
            # the partner-table rows a column reads change once per cluster, not once per column
            assert 1 + np.count_nonzero(np.diff(cluster)) == len(np.unique(cluster)) < len(cluster)


def test_compiled_rows_and_normal_equations_equal_numpy(kernel, monkeypatch):
    rng = np.random.default_rng(4)
    u = rng.normal(0, 0.05, (3, kernel.n_atoms, 3))
    f = rng.normal(0, 0.5, u.shape)
    f -= f.mean(axis=1, keepdims=True)
    A = kernel.design(u)
    blk = design.NormalBlocks.zeros(1, kernel.n_params)
    kernel.accumulate(u, f, blk, 0)
    monkeypatch.setattr(design, "_design", None)
    An = kernel.design(u)
    blk_n = design.NormalBlocks.zeros(1, kernel.n_params)
    kernel.accumulate(u, f, blk_n, 0)
    assert np.abs(A - An).max() < 1e-14 * np.abs(An).max()
    assert np.abs(blk.G - blk_n.G).max() < 1e-13 * np.abs(blk_n.G).max()
    assert np.abs(blk.b - blk_n.b).max() < 1e-13 * np.abs(blk_n.b).max()
    assert np.abs(blk.G[0] - An.T @ An).max() < 1e-12 * np.abs(blk_n.G).max()
