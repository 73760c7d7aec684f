"""The blocking analysis of the Kubo estimators' error bars (trajmodes.quantum.kubo; H. Flyvbjerg and H. G. Petersen,
J. Chem. Phys. 91, 461 (1989)) on exact ring-polymer centroids of a harmonic crystal (fcc springs, 32 atoms) made
correlated in time by an AR(1) process x_t = a x_{t-1} + sqrt(1 - a^2) xi_t (xi_t independent exact samples): the
marginal distribution is exact, the mode variances x_k^2 have the autocorrelation a^(2t), so their statistical
inefficiency is g = (1 + a^2) / (1 - a^2) frames, longer than the jackknife's blocks. The plain jackknife over those
blocks gives error bars that are too small; the blocking analysis must find g and give z-scores of unit spread."""
from __future__ import annotations

import numpy as np
import pytest

from trajmodes.forceconstants import ForceConstants
from trajmodes.lattice import Crystal
from trajmodes.quantum import KuboDisplacementConstants, KuboForceConstants, ring_polymer_configurations
from trajmodes.quantum.kubo import MIN_INDEPENDENT, BlockingAnalysis, BlockSums

from tests.quantum.support import harmonic_fcc

T, P = 30.0, 2
#: frames of each run, the correlation time of x (frames), repetitions
N_FRAMES, TAU_X, REPEATS = 1200, 80.0, 12


@pytest.fixture(scope="module")
def crystal():
    c = harmonic_fcc()
    n = len(c["positions"])
    sc = Crystal(c["cell"], c["positions"], c["species"], masses=c["masses"])
    return ForceConstants(c["hessian"].reshape(n, 3, n, 3).transpose(0, 2, 1, 3), sc)


def _correlated_centroids(fc, a: float, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """(n, N, 3) centroid displacements (A) and forces (eV/A): exact ring-polymer centroids joined by the AR(1)
    process of ``a`` (the forces, linear in the displacements, by the same)."""
    s = ring_polymer_configurations(fc, T, P, n, seed=rng)
    xi = np.stack([s.displacements.values.mean(axis=1), s.forces.values.mean(axis=1)])
    x = np.empty_like(xi)
    x[:, 0] = xi[:, 0]
    c = np.sqrt(1 - a * a)
    for t in range(1, n):
        x[:, t] = a * x[:, t - 1] + c * xi[:, t]
    return x[0], x[1]


def _mode_sets(fc):
    """The supercell's mass-weighted eigenvectors (3N, 3N - 3) without the translations, their eigenvalues (eV/(A^2
    amu)) and the slices of their degenerate sets."""
    N = fc.supercell.n_atoms
    w = 1 / np.sqrt(np.repeat(np.asarray(fc.supercell.masses, float), 3))
    lam, vec = np.linalg.eigh(w[:, None] * fc.full().transpose(0, 2, 1, 3).reshape(3 * N, 3 * N) * w[None, :])
    lam, vec = lam[3:], vec[:, 3:]
    edges = np.r_[0, np.flatnonzero(np.diff(lam) > 1e-6 * lam.max()) + 1, len(lam)]
    return w, vec, lam, [slice(i, j) for i, j in zip(edges[:-1], edges[1:])]


def test_blocking_makes_the_error_bars_of_a_correlated_run_honest(crystal):
    """12 runs of 1200 frames whose mode variances have g = 80 frames (75 frames a block of 16): the z-scores of the
    force estimator's mean eigenvalue of D over each of the 4 degenerate sets (independent modes) with the blocking
    analysis have unit spread (48 values: the std is known to ~10 %; t with 15 degrees of freedom has std 1.07), the
    plain jackknife's are ~1.4 times too wide (20 runs: 1.13 and 1.46). The force estimator: linear in the sums, no
    bias of an inverse."""
    a = -float(np.exp(-1.0 / TAU_X))                           # x alternates (as a mode oscillates), x^2 does not
    g_true = (1 + a * a) / (1 - a * a)
    w, vec, lam, sets = _mode_sets(crystal)
    truth = np.array([lam[s].mean() for s in sets])
    N = crystal.supercell.n_atoms

    def means(fc):
        """The mean of e_k . D e_k over each degenerate set (the exact e_k): linear in the constants, no sorting."""
        D = w[:, None] * fc.full().transpose(0, 2, 1, 3).reshape(3 * N, 3 * N) * w[None, :]
        d = np.einsum("ik,ij,jk->k", vec, D, vec)
        return np.array([d[s].mean() for s in sets])

    rng = np.random.default_rng(11)
    z, z_plain, g = [], [], []
    for _ in range(REPEATS):
        u, f = _correlated_centroids(crystal, a, N_FRAMES, rng)
        est = KuboForceConstants(T).fit_arrays(crystal.supercell, u, f)
        value, err, bias = est.jackknife(means)
        z.append((value - bias - truth) / err)
        z_plain.append((value - bias - truth) / (err / est.error_inflation_))
        g.append(est.blocking_.statistical_inefficiency)
        assert not est.lower_bound_ and est.dof_ == 15 and est.sums_.n_blocks == 128
    z, z_plain = np.concatenate(z), np.concatenate(z_plain)
    print(f"g true {g_true:.1f}, found {np.mean(g):.1f} +- {np.std(g):.1f}; z std {z.std():.2f} (plain jackknife "
          f"{z_plain.std():.2f}), mean {z.mean():.2f}, max |z| {np.abs(z).max():.2f}")
    assert 0.75 < z.std() < 1.3 and abs(z.mean()) < 0.35
    assert z_plain.std() > 1.3                                 # what the blocks alone gave: too confident


def test_independent_frames_need_no_widening():
    """Independent frames: g_B = 1 at every B (the white part alone), the factor 1 within the noise."""
    rng = np.random.default_rng(2)
    n, B0 = 2000, 128
    y = rng.normal(size=(n, 4, 3)) * np.array([1.0, 0.5, 2.0])
    sums = BlockSums.of_frames(y, None, B0)
    basis = np.linalg.eigh(sums.covariances("displacements"))[1][:, 3:]
    bl = sums.blocking("displacements", basis)
    assert list(bl.levels) == [128, 64, 32, 16, 8, 4, 2]
    assert np.all(np.abs(bl.inefficiency[:5] - 1) < 0.35), bl.inefficiency
    assert 1.0 <= bl.inflation(16) < 1.15 and bl.statistical_inefficiency < 1.4 and not bl.lower_bound


def test_the_model_gives_back_an_exponential_correlation_and_marks_short_runs():
    """E[g_B] of the model itself is fitted back exactly; a run of fewer than MIN_INDEPENDENT independent samples is
    a lower bound."""
    n, levels = 4096, np.array([256, 128, 64, 32, 16, 8, 4, 2])
    truth = BlockingAnalysis(n, [2, 4, 8], [1.0, 1.0, 1.0])
    truth._w, truth._a, truth._r = 0.2, 0.8, float(np.exp(-1 / 30.0))
    g = np.array([truth.expected(B) for B in levels])
    fit = BlockingAnalysis(n, levels, g)
    g_inf = 0.2 + 0.8 * truth._pairs(n, truth._r) / n
    assert fit.statistical_inefficiency == pytest.approx(g_inf, rel=0.03)
    assert fit.correlation_frames == pytest.approx(30.0, rel=0.1)
    assert fit.inflation(16) == pytest.approx(np.sqrt(g_inf / g[4]), rel=0.03)
    assert not fit.lower_bound
    n_short, few = 200, np.array([16, 8, 4, 2])                       # 200 frames: ~4 independent samples
    model = BlockingAnalysis(n_short, [2, 4, 8], [1.0, 1.0, 1.0])
    model._w, model._a, model._r = truth._w, truth._a, truth._r
    short = BlockingAnalysis(n_short, few, [model.expected(B) for B in few])
    assert short.independent_samples < MIN_INDEPENDENT and short.lower_bound
    assert BlockingAnalysis(100, [4, 2], [3.0, 4.0]).lower_bound      # two levels: no fit


def test_blocks_must_divide_the_sums_and_the_memory_sets_the_base(crystal):
    from trajmodes.quantum.kubo import base_block_count
    assert base_block_count(16, 10_000, 32, True) == 128
    assert base_block_count(16, 100, 32, True) == 48                # at least 2 frames a base block
    assert base_block_count(16, 10_000, 32, True, base_blocks=32) == 32
    with pytest.raises(ValueError, match="multiple"):
        base_block_count(16, 10_000, 32, True, base_blocks=40)
    sums = BlockSums.of_frames(np.random.default_rng(0).normal(size=(64, 32, 3)) * 0.05, None, 24)
    with pytest.raises(ValueError, match="divide"):
        KuboDisplacementConstants(T, blocks=16).fit_sums(sums, crystal.supercell)
