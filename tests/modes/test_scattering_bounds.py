"""The q of the scattering functions have bounds (trajmodes.modes.scattering_qpoints): a q beyond what a run resolves
is refused, whatever floating point says about its commensurability; the commensurate q of a powder range are built
without the grid around them and, where there are too many to list, drawn uniformly among them; every range is
checked before anything large is allocated.

Oracles: the brute-force list of every lattice point m @ 2 pi inv(cell).T in the box around the sphere (small cells),
and the equal chance of every lattice point of a shell (a chi-square test over many draws)."""
from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pytest
from scipy import stats

import trajmodes.modes.scattering_qpoints as sq
from trajmodes.modes.scattering_qpoints import cartesian_qpoints, max_wavevector, spherical_qpoints

CU = 14.46 * np.eye(3)                                       # the 256-atom fcc Cu cell (4 x 4 x 4 cubes)
CU_PRIM = 3.615 / 2 * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]])  # its primitive cell


def _brute(cell, q_min, q_max):
    B = 2 * np.pi * np.linalg.inv(cell).T
    n = np.floor(q_max * np.linalg.norm(cell, axis=1) / (2 * np.pi)).astype(int)
    m = np.stack(np.meshgrid(*[np.arange(-k, k + 1) for k in n], indexing="ij"), -1).reshape(-1, 3)
    q = m @ B
    norm = np.linalg.norm(q, axis=1)
    return q[(norm > 1e-12) & (norm >= q_min * (1 - 1e-12)) & (norm <= q_max * (1 + 1e-12))]


def _set(q):
    return {tuple(x) for x in np.round(q, 9)}


# -- q without bounds --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("q", [[1e300, 0, 0], [0, 0, 1e16], [2.0 ** 60, 0, 0], [1e308, 1e308, 1e308], [1e6, 1e6, 0]])
@pytest.mark.parametrize("cartesian", [False, True])
def test_q_beyond_what_the_run_resolves_is_refused_not_commensurate(q, cartesian):
    """Each of these is an integer in floating point, so S q is 'integral': the old test let them through and
    S(q, omega) was round-off."""
    cell = 4 * 3.615 * np.eye(3)
    with pytest.raises(ValueError, match=r"beyond the \|q\| a run in this 14.46 x 14.46 x 14.46 Angstrom cell "
                                         r"resolves.*give q with \|q\| <= 2305 rad/Angstrom"):
        cartesian_qpoints(q, cell, None if cartesian else CU_PRIM, cartesian=cartesian)


@pytest.mark.parametrize("cartesian", [False, True])
def test_commensurate_q_up_to_the_bound_are_exact_integers(cartesian):
    """The largest commensurate q below the bound pass, with their exact Cartesian value; one step off the lattice
    (1e-3 of a reciprocal vector) is refused even there."""
    cell = CU
    limit = max_wavevector(cell)
    m = np.array([[int(limit * 14.46 / (2 * np.pi) / np.sqrt(3)) - 1] * 3, [-1500, 7, 3], [1, 0, 0]])
    qc = 2 * np.pi * m @ np.linalg.inv(cell).T
    assert np.linalg.norm(qc, axis=1).max() > 0.99 * limit
    q = qc if cartesian else qc @ CU_PRIM.T / (2 * np.pi)
    np.testing.assert_allclose(cartesian_qpoints(q, cell, None if cartesian else CU_PRIM, cartesian=cartesian), qc,
                               rtol=1e-13, atol=1e-12)
    off = q.copy()
    off[0] += 1e-3 * (2 * np.pi * np.linalg.inv(cell).T[0] if cartesian else np.array([1.0, 0, 0]))
    with pytest.raises(ValueError, match="not commensurate with the MD cell: q-point 0"):
        cartesian_qpoints(off, cell, None if cartesian else CU_PRIM, cartesian=cartesian)


def test_the_bound_is_where_six_digits_of_the_positions_move_the_phase_by_half_a_radian():
    """Independent route: round positions spread over the cell to six significant digits (as %g writes them) and
    measure the largest phase error at q = max_wavevector along the cell diagonal: up to, not beyond, 0.5 rad."""
    cell = np.array([[14.46, 0, 0], [1.0, 13.0, 0], [0.5, 2.0, 12.0]])
    rng = np.random.default_rng(0)
    r = rng.random((200000, 3)) @ cell
    rounded = np.array([float(f"{x:.6g}") for x in r.ravel()]).reshape(r.shape)
    k = max_wavevector(cell)
    for direction in np.eye(3).tolist() + [[1, 1, 1]]:
        q = k * np.asarray(direction, float) / np.linalg.norm(direction)
        err = np.abs((rounded - r) @ q)
        assert err.max() <= 0.5 and err.max() > 0.02


# -- powder ranges -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(8))
def test_powder_q_are_every_commensurate_q_of_the_range(seed):
    """Triclinic cells, q_min > 0 or not: the columns give exactly the brute-force list, in the shells that
    searchsorted gives."""
    rng = np.random.default_rng(seed)
    cell = np.diag(rng.uniform(5, 15, 3)) + rng.uniform(-3, 3, (3, 3))
    q_min = rng.uniform(0, 3) if seed % 2 else 0.0
    q_max = q_min + rng.uniform(0.5, 4)
    q, shell, edges = spherical_qpoints(cell, q_max, n_shells=7, q_min=q_min)
    ref = _brute(cell, q_min, q_max)
    assert len(q) == len(ref) and _set(q) == _set(ref)
    norm = np.linalg.norm(q, axis=1)
    assert np.all(np.diff(norm) >= -1e-12)
    assert np.all((norm > edges[shell]) | (shell == 0)) and np.all(norm <= edges[shell + 1] * (1 + 1e-12))


@pytest.mark.parametrize("kwargs, message", [
    (dict(q_max=np.inf), "need finite 0 <= q_min < q_max"),
    (dict(q_max=np.nan), "need finite 0 <= q_min < q_max"),
    (dict(q_max=1.0, q_min=2.0), "need finite 0 <= q_min < q_max"),
    (dict(q_max=1.0, q_min=-1.0), "need finite 0 <= q_min < q_max"),
    (dict(q_max=1e4), "q_max=10000 rad/Angstrom is beyond the 2305 rad/Angstrom"),
    (dict(q_max=5.0, n_shells=10 ** 11), "most shells would be empty; give at most 6382 shells"),
    (dict(q_max=2000.0, n_shells=10 ** 11, max_per_shell=20), "use fewer shells or fewer q per shell"),
    (dict(q_max=100.0), "too many to list one by one.*give max_per_shell=.*or q_max <= 33.96"),
    (dict(q_max=5.0, n_shells=0), "n_shells must be a whole number, at least 1"),
    (dict(q_max=5.0, n_shells=2.5), "n_shells must be a whole number, at least 1"),
    (dict(q_max=5.0, max_per_shell=0), "max_per_shell must be a whole number, at least 1"),
])
def test_powder_ranges_are_refused_before_anything_large_is_allocated(kwargs, message):
    """The old code built the whole box of candidates (719 TiB for q_max = 1e4) or the edges of 1e11 shells
    (745 GiB) first."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=message):
            spherical_qpoints(CU, **kwargs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50e6


def test_q_far_beyond_the_listable_are_drawn_in_bounded_time_and_memory():
    """|q| <= 2000 rad/A holds 3e11 commensurate q of the Cu cell: 20 shells of 20 are drawn, every one commensurate,
    distinct and in its shell."""
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        q, shell, edges = spherical_qpoints(CU, 2000.0, n_shells=20, max_per_shell=20, seed=3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - t0 < 10 and peak < 100e6
    assert np.bincount(shell, minlength=20).tolist() == [20] * 20 and len(_set(q)) == 400
    m = q @ CU.T / (2 * np.pi)
    assert np.abs(m - np.rint(m)).max() < 1e-9
    norm = np.linalg.norm(q, axis=1)
    assert np.all((norm > edges[shell]) | (shell == 0)) and np.all(norm <= edges[shell + 1])


def test_drawn_q_are_a_uniform_choice_among_the_q_of_their_shell(monkeypatch):
    """With listing switched off (MAX_ENUMERATED = 10), every commensurate q of a shell of a triclinic cell is drawn
    equally often over 400 seeds (chi-square against the brute-force list), in both a shell next to Gamma and an
    outer one; and no q of a shell is missed."""
    monkeypatch.setattr(sq, "MAX_ENUMERATED", 10)
    cell = np.array([[6.0, 0, 0], [1.5, 5.0, 0], [0.7, -1.2, 7.0]])
    q_max, n_shells, per = 4.0, 2, 6
    edges = np.linspace(0, q_max, n_shells + 1)
    ref = _brute(cell, 0.0, q_max)
    norm = np.linalg.norm(ref, axis=1)
    counts = {x: 0 for x in _set(ref)}
    for seed in range(400):
        q, shell, _ = spherical_qpoints(cell, q_max, n_shells=n_shells, max_per_shell=per, seed=seed)
        assert np.bincount(shell, minlength=n_shells).tolist() == [per] * n_shells and len(_set(q)) == len(q)
        for x in _set(q):
            counts[x] += 1
    for s in range(n_shells):
        inside = [tuple(x) for x in np.round(ref[(norm > edges[s]) & (norm <= edges[s + 1])], 9)]
        seen = np.array([counts[x] for x in inside], float)
        assert len(inside) > 3 * per and seen.min() > 0
        assert seen.sum() == 400 * per
        assert stats.chisquare(seen).pvalue > 1e-3, (s, seen)


def test_powder_qpoints_are_the_lattice_points_of_the_range():
    """A simple cubic cell of edge L: the commensurate q up to 1.5 (2 pi / L) are the 6 of |m| = 1 and the 12 of
    |m| = sqrt 2; a range between two shells of points holds none, and is refused with the shortest q."""
    from trajmodes.modes.scattering_qpoints import powder_qpoints
    L = 10.0
    unit = 2 * np.pi / L
    q, shell, edges = powder_qpoints(L * np.eye(3), 0.0, 1.5 * unit, 1, None)
    m = np.rint(q / unit)
    np.testing.assert_allclose(q, m * unit, atol=1e-12)
    assert sorted(np.einsum("ij,ij->i", m, m).astype(int).tolist()) == [1] * 6 + [2] * 12
    assert (shell == 0).all() and np.allclose(edges, [0.0, 1.5 * unit])
    with pytest.raises(ValueError, match="no q commensurate"):
        powder_qpoints(L * np.eye(3), 1.05 * unit, 1.4 * unit, 1, None)
