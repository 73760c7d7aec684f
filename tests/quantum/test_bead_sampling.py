"""Sampling one bead of the P-bead ring polymer (``n_beads`` of canonical_configurations and SelfConsistentPhonons):
its mode variances are exactly those of trajmodes.quantum.harmonic, classical at P = 1, quantum as P grows; and the
averaging of the last self-consistent iterations (``n_average``)."""
from __future__ import annotations

import numpy as np
import pytest

from trajmodes.lattice.cubic import cubic_lattice
from trajmodes.phonons.thermodynamics.sampling import canonical_configurations, supercell_modes
from trajmodes.phonons.thermodynamics.self_consistent import SelfConsistentPhonons
from trajmodes.potentials.engines import HarmonicEngine
from trajmodes.potentials.pair import LennardJones
from trajmodes.quantum.harmonic import displacement_covariance, mode_variances

T = 10.0                                                                  # K: Ar deep in its zero-point regime


def _argon():
    sc, prim = cubic_lattice("fcc", 5.2687, 2, ["Ar"], masses=[39.948])
    return LennardJones(0.0104, 3.40, cutoff=8.7).force_constants(sc, prim)


def _mode_coordinates(fc, u):
    """x_s = e_s^T M^1/2 u of every sample (A amu^1/2), the translations left out."""
    m = supercell_modes(fc)
    keep = ~m.translations
    x = (u.reshape(len(u), -1) * np.sqrt(np.repeat(m.masses, 3))) @ m.eigenvectors[:, keep]
    return x, m.eigenvalues[keep]


@pytest.mark.parametrize("P", [2, 16, 32])
def test_bead_mode_variances_are_the_ring_polymers_exactly(P):
    """The same random numbers drawn classically and for one bead of P: every mode's amplitude is scaled by
    sqrt(<x_s^2>_P / <x_s^2>_classical), with <x_s^2>_P = mode_variances(..., n_beads=P), to round-off."""
    fc = _argon()
    u_c = canonical_configurations(fc, T, 8, occupation="classical", seed=5)["displacements"].values
    u_p = canonical_configurations(fc, T, 8, occupation="quantum", seed=5, n_beads=P)["displacements"].values
    x_c, lam = _mode_coordinates(fc, u_c)
    x_p, _ = _mode_coordinates(fc, u_p)
    from trajmodes.units import KB_EV
    ratio = (x_p / x_c) ** 2 * (KB_EV * T / lam)                          # A^2 amu: the bead's <x_s^2>
    np.testing.assert_allclose(ratio, np.broadcast_to(mode_variances(lam, T, n_beads=P), ratio.shape), rtol=1e-9)


def test_one_bead_is_the_classical_sampling_and_many_the_quantum():
    fc = _argon()
    classical = canonical_configurations(fc, T, 4, occupation="classical", seed=1)
    one = canonical_configurations(fc, T, 4, occupation="quantum", seed=1, n_beads=1)
    np.testing.assert_allclose(one["displacements"].values, classical["displacements"].values, rtol=0, atol=1e-15)
    assert one.attrs["n_beads"] == 1 and classical.attrs["n_beads"] == 0
    many = canonical_configurations(fc, T, 4, occupation="quantum", seed=1, n_beads=4096)
    quantum = canonical_configurations(fc, T, 4, occupation="quantum", seed=1)
    uq = quantum["displacements"].values                                  # Trotter error ~ (h nu / k_B T P)^2 / 12
    np.testing.assert_allclose(many["displacements"].values, uq, rtol=0, atol=1e-5 * np.abs(uq).max())


def test_sampled_covariance_is_the_beads():
    """4000 samples at P = 8: the mean square displacement of every atom and direction that of
    displacement_covariance(..., n_beads=8) within 4 standard errors (Gaussian: var(u^2) = 2 <u^2>^2), and well
    below the P = infinity value (the Trotter error of 8 beads, 10 % here)."""
    fc = _argon()
    u = canonical_configurations(fc, T, 4000, occupation="quantum", seed=2, n_beads=8)["displacements"].values
    exact = np.diag(displacement_covariance(fc, T, n_beads=8)).reshape(-1, 3)
    msd = (u ** 2).mean(axis=0)
    assert (np.abs(msd / exact - 1) < 4 * np.sqrt(2 / 4000)).all()
    quantum = np.diag(displacement_covariance(fc, T)).reshape(-1, 3)
    assert exact.mean() < 0.95 * quantum.mean()


def test_bad_bead_settings():
    fc = _argon()
    with pytest.raises(ValueError, match="occupation must be 'quantum'"):
        canonical_configurations(fc, T, 2, occupation="classical", n_beads=4)
    for bad in (0, 2.5, -3):
        with pytest.raises(ValueError, match="positive whole number"):
            canonical_configurations(fc, T, 2, occupation="quantum", n_beads=bad)
    with pytest.raises(ValueError, match="positive temperature"):
        SelfConsistentPhonons(0.0, occupation="quantum", n_beads=4)
    with pytest.raises(ValueError, match="n_average"):
        SelfConsistentPhonons(T, n_average=0)


def test_self_consistent_beads_and_averaged_iterations():
    """One bead is the classical sampling (same seed: the same iterations); on a harmonic crystal the P-bead and
    averaged fits return its constants, and the averaged run holds n_average fits."""
    phi = _argon()
    start = phi._with(0.8 * phi.fc2)
    kw = dict(n_samples=8, max_iter=3, tol=1e-6, seed=4)
    one = SelfConsistentPhonons(T, occupation="quantum", n_beads=1, **kw).fit(HarmonicEngine(phi), start)
    classical = SelfConsistentPhonons(T, occupation="classical", **kw).fit(HarmonicEngine(phi), start)
    np.testing.assert_allclose(one.history_["frequency"].values, classical.history_["frequency"].values, atol=1e-12)
    scp = SelfConsistentPhonons(T, occupation="quantum", n_beads=16, n_average=3, **kw).fit(HarmonicEngine(phi), start)
    assert scp.converged_ and len(scp.history_.iteration) == 4 and len(scp.iteration_estimators_) == 3
    assert scp.history_.attrs["n_average"] == 3 and scp.history_.attrs["n_beads"] == 16
    np.testing.assert_allclose(supercell_modes(scp.force_constants_).frequencies, supercell_modes(phi).frequencies,
                               atol=1e-8)
    res = scp.frequencies_with_errors([[0.5, 0.0, 0.5]], n_resamples=20)
    assert res.frequency.shape == (1, 3) and (res.frequency_err >= res.bootstrap_err).all()
