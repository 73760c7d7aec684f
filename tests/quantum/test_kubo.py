"""The Kubo-correlator estimators of the effective constants (trajmodes.quantum.kubo; Morresi, Paulatto, Vuilleumier
and Casula, J. Chem. Phys. 154, 224108 (2021)) on exact ring-polymer samples of a harmonic crystal: wurtzite GaN-like
springs, 72 atoms, two species, hexagonal (tests/quantum/exact.py), P = 8 beads at 100 K. Both estimators are exact
for a harmonic crystal; the tests measure that they return its constants within their jackknife error bars, that the
error bars are honest over independent repetitions, that the displacement estimator's inverse leaves no visible bias,
and that the one streamed pass over a centroid trajectory gives what the arrays give."""
from __future__ import annotations

import numpy as np
import pytest

import trajmodes
from trajmodes.phonons.thermodynamics.sampling import supercell_modes
from trajmodes.quantum import KuboDisplacementConstants, KuboForceConstants, ring_polymer_configurations
from trajmodes.trajectory.beads import RingPolymerRun

from tests.quantum.exact import wurtzite

T, P = 100.0, 8


def _nu(fc):
    m = supercell_modes(fc, allow_imaginary=True)
    return m.frequencies[~m.translations]


@pytest.fixture(scope="module")
def samples():
    return ring_polymer_configurations(wurtzite(), T, P, 2000, seed=5)


@pytest.mark.parametrize("kind", ["displacements", "forces"])
def test_kubo_estimators_return_the_constants_within_their_errors(samples, kind):
    fc = wurtzite()
    uc = samples.displacements.values.mean(axis=1)                      # the centroid
    fcen = samples.forces.values.mean(axis=1)                           # the bead-averaged physical force
    est = (KuboDisplacementConstants(T) if kind == "displacements" else KuboForceConstants(T))
    est.fit_arrays(fc.supercell, uc, fcen)
    truth = _nu(fc)
    value, err, bias = est.jackknife(_nu)
    z = (value - truth) / err
    print(f"{kind}: top mode {value[-1]:.3f} +- {err[-1]:.3f} THz (true {truth[-1]:.3f}); |z| max {np.abs(z).max():.2f},"
          f" rms {np.sqrt((z ** 2).mean()):.2f}")
    assert np.abs(z).max() < 4.5                                       # 213 modes
    assert 0.5 < np.sqrt((z ** 2).mean()) < 1.6
    assert np.abs(value / truth - 1).max() < 0.03
    # independent frames: the blocking analysis sees no correlation and leaves the jackknife's errors (nearly) alone
    print(f"  blocking: g {est.blocking_.statistical_inefficiency:.2f} frames, errors x{est.error_inflation_:.3f}")
    assert 1.0 <= est.error_inflation_ < 1.25 and not est.lower_bound_   # measured 1.18 (forces): the curve's noise
    v2, e2, b2 = est.jackknife(lambda f: (_nu(f) ** 2).mean())          # the trace of D: no sorting of modes
    print(f"  <nu^2> {v2:.4f} +- {e2:.4f} THz^2 (true {(truth ** 2).mean():.4f}), jackknife bias {b2:.5f}")
    assert abs(v2 - (truth ** 2).mean()) < 3 * e2 and abs(b2) < 0.5 * e2
    full = est.force_constants_
    assert full.layout == "full" and full.asr_violation() < 1e-10 and full.symmetry_violation() < 1e-8


def test_error_bars_are_honest_and_the_inverse_unbiased_over_repetitions():
    """8 independent runs of 300 ring polymers: the z-scores of the mean square frequency (the trace of D) have unit
    spread and zero mean, for the displacement estimator, whose inverse is where a bias would come from."""
    fc = wurtzite()
    truth = float((_nu(fc) ** 2).mean())
    rng = np.random.default_rng(3)
    z, d = [], []
    for _ in range(8):
        s = ring_polymer_configurations(fc, T, P, 300, seed=rng)
        est = KuboDisplacementConstants(T, blocks=5).fit_arrays(fc.supercell, s.displacements.values.mean(axis=1))
        v, e, b = est.jackknife(lambda f: (_nu(f) ** 2).mean())
        z.append((v - b - truth) / e)                                  # the jackknife's bias-corrected value
        d.append([v / truth - 1, (v - b) / truth - 1, b / truth])
    z, d = np.array(z), np.array(d)
    se = d.std(axis=0, ddof=1) / np.sqrt(len(d))
    print(f"z: mean {z.mean():.2f}, std {z.std(ddof=1):.2f}; relative deviation raw {d[:, 0].mean():.4f}, "
          f"bias-corrected {d[:, 1].mean():.4f} +- {se[1]:.4f}, jackknife bias {d[:, 2].mean():.4f}")
    assert np.abs(z).max() < 3.5
    assert 0.5 < z.std(ddof=1) < 1.7
    assert abs(d[:, 1].mean()) < 3 * se[1]                             # no bias within the statistics of 8 runs
    assert 0 < d[:, 2].mean() < 0.02                                   # the inverse's own: + p / n, under 2 %


def test_the_streamed_pass_over_a_ring_polymer_run_gives_what_the_arrays_give(samples):
    fc = wurtzite()
    sc = fc.supercell
    n = 400
    pos = samples.positions.values[:n]                                   # (frames, beads, atoms, 3)
    forces = samples.forces.values[:n]
    beads = [trajmodes.from_arrays(pos[:, b], sc.cell, sc.species, masses=sc.masses, forces=forces[:, b],
                                   frame_interval=0.01, reference=sc, chunk_frames=37) for b in range(P)]
    run = RingPolymerRun(beads, temperature=T, reference=sc, chunk_frames=37)
    for cls in (KuboDisplacementConstants, KuboForceConstants):
        streamed = cls(blocks=8).fit(run, reference=sc)                  # the temperature from the run
        held = cls(T, blocks=8).fit_arrays(sc, samples.displacements.values[:n].mean(axis=1),
                                            forces[:, :].mean(axis=1), frame_interval=0.01)
        assert streamed.temperature_ == T and streamed.n_frames_ == n
        np.testing.assert_allclose(streamed.sums_.counts, held.sums_.counts)
        scale = np.abs(held.force_constants_.full()).max()
        assert np.abs(streamed.force_constants_.full() - held.force_constants_.full()).max() < 1e-9 * scale
        assert np.abs(streamed.force_constants_err_ - held.force_constants_err_).max() < 1e-8 * scale


def test_bad_inputs_say_what_to_do():
    fc = wurtzite()
    u = np.zeros((10, fc.n_atoms, 3))
    with pytest.raises(ValueError, match="temperature"):
        KuboDisplacementConstants(blocks=2).fit_arrays(fc.supercell, u + np.random.default_rng(0).normal(size=u.shape))
    with pytest.raises(ValueError, match="forces"):
        KuboForceConstants(T, blocks=2).fit_arrays(fc.supercell, u)
    with pytest.raises(ValueError, match="too few"):
        KuboDisplacementConstants(T, blocks=8).fit_arrays(fc.supercell, u)


def test_a_degenerate_set_of_modes_gets_one_basis_whatever_eigh_returns():
    """The blocking analysis looks along the covariance's eigenvectors; inside a degenerate set (a crystal's symmetry)
    eigh may return any orthonormal basis, which round-off turns: the basis used depends on the subspace alone."""
    from trajmodes.quantum.kubo import _canonical_modes
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    lam = np.array([1.0, 2.0, 2.0, 2.0, 3.0, 3.0])
    turn = np.eye(6)
    r, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    turn[1:4, 1:4] = r
    r2, _ = np.linalg.qr(rng.normal(size=(2, 2)))
    turn[4:, 4:] = r2
    a, b = _canonical_modes(lam, q), _canonical_modes(lam, q @ turn)
    np.testing.assert_allclose(np.abs(a), np.abs(b), atol=1e-12)
    np.testing.assert_allclose(a.T @ a, np.eye(6), atol=1e-12)                 # still orthonormal
    np.testing.assert_allclose(a @ np.diag(lam) @ a.T, q @ np.diag(lam) @ q.T, atol=1e-12)   # the same matrix

