"""Exact quantum statistics of a harmonic crystal (trajmodes.quantum.harmonic, .free_energy) and the fit over the beads
of exact ring-polymer samples: a non-cubic crystal of two species (wurtzite GaN-like springs, tests/quantum/exact.py) at
100 K, where h nu / k_B T reaches 9.8 for its highest mode (20.4 THz), sampled exactly with P = 8 beads."""
from __future__ import annotations

import numpy as np
import pytest

from trajmodes.forceconstants import EffectiveForceConstants
from trajmodes.phonons.harmonic import mode_free_energy
from trajmodes.phonons.thermodynamics.sampling import supercell_modes
from trajmodes.quantum import (displacement_covariance, mean_square_displacements, mode_variances,
                               path_integral_free_energy, ring_polymer_configurations, ring_polymer_frequencies,
                               ring_polymer_mode_free_energy)
from trajmodes.quantum.harmonic import HBAR_EV_PS
from trajmodes.units import KB_EV, THZ_EV

from tests.quantum.exact import CUTOFF, wurtzite

T, P = 100.0, 8


@pytest.fixture(scope="module")
def samples():
    return ring_polymer_configurations(wurtzite(), T, P, 1500, seed=11)


def _lams(fc):
    m = supercell_modes(fc)
    return m.eigenvalues[~m.translations]


def test_finite_p_tends_to_the_quantum_value_and_is_classical_at_one_bead():
    lam = _lams(wurtzite())
    quantum = mode_variances(lam, T)
    classical = mode_variances(lam, T, occupation="classical")
    np.testing.assert_allclose(mode_variances(lam, T, n_beads=1), classical, rtol=1e-13)
    errs = [np.abs(mode_variances(lam, T, n_beads=p) / quantum - 1).max() for p in (8, 32, 128, 512)]
    assert errs[0] > 0.1 and errs[-1] < 1e-4                           # 15 % at P = 8, 5e-5 at P = 512 (top mode)
    ratios = np.array(errs[1:-1]) / np.array(errs[2:])
    np.testing.assert_allclose(ratios, 16.0, rtol=0.02)                # the error falls as 1 / P^2 (P >> h nu / k_B T)
    assert (np.diff([mode_variances(lam, T, n_beads=p).sum() for p in (1, 2, 4, 8, 16)]) > 0).all()
    # omega_k of the free ring polymer: 0 for the centroid, the top one 2 P k_B T / hbar at k = P / 2
    w = ring_polymer_frequencies(P, T)
    assert w[0] == 0 and np.isclose(w[P // 2], 2 * P * KB_EV * T / (HBAR_EV_PS))


def test_bead_mean_square_displacements_are_the_exact_finite_p_ones(samples):
    fc = wurtzite()
    u = samples.displacements.values                                   # (sample, bead, atom, 3)
    exact_p = mean_square_displacements(fc, T, n_beads=P)
    classical = mean_square_displacements(fc, T, occupation="classical")
    quantum = mean_square_displacements(fc, T)
    per_sample = (u ** 2).mean(axis=1)                                 # bead average: (sample, atom, 3)
    species = np.asarray(fc.supercell.species)
    for s in ("Ga", "N"):
        for axes in ((0, 1), (2,)):                                    # in plane, along c
            sel = per_sample[:, species == s][..., list(axes)].mean(axis=(1, 2))
            mean, err = sel.mean(), sel.std(ddof=1) / np.sqrt(len(sel))
            want = exact_p[species == s][:, list(axes)].mean()
            cl = classical[species == s][:, list(axes)].mean()
            assert abs(mean - want) < 3.5 * err, (s, axes, mean, want, err)
            assert (mean - cl) / err > 30, (s, axes, mean, cl, err)    # 40-190 sigma
            assert want / cl > 1.5                                     # 1.8 (Ga) to 3.0 (N)
            qm = quantum[species == s][:, list(axes)].mean()
            assert cl < want < qm                                      # P = 8 is not converged: 2-11 % below coth
            if s == "N":                                               # the light atom: the P = 8 value is told apart
                assert (qm - mean) / err > 5, (mean, qm, err)
            print(f"{s} {axes}: beads {mean:.6f} +- {err:.6f}, P=8 {want:.6f}, coth {qm:.6f}, classical {cl:.6f} A^2")
    # the centroid's covariance is the classical one for any P
    uc = u.mean(axis=1).reshape(len(u), -1)
    cov = uc.T @ uc / len(uc)
    ref = displacement_covariance(fc, T, occupation="classical")
    assert abs(np.trace(cov) / np.trace(ref) - 1) < 4 * np.sqrt(2 / len(uc) / 20)


def test_the_fit_over_the_beads_returns_the_constants(samples):
    fc = wurtzite()
    N = fc.n_atoms
    u = samples.displacements.values[:200].reshape(-1, N, 3)            # every bead configuration of 200 samples
    f = samples.forces.values[:200].reshape(-1, N, 3)
    fit = EffectiveForceConstants(cutoff2=CUTOFF + 0.3).fit_arrays(fc.supercell, u, f)
    got = fit.force_constants_.full()
    assert np.abs(got - fc.full()).max() < 1e-9 * np.abs(fc.full()).max()


def test_ring_polymer_free_energy_limits_and_product_formula():
    nu = np.array([0.5, 3.0, 12.0, 20.0])                              # THz
    x = nu * THZ_EV / (KB_EV * T)
    for p in (1, 3, 8):                                                # direct product over the ring's modes
        wk = ring_polymer_frequencies(p, T)
        w = 2 * np.pi * nu
        direct = KB_EV * T * np.log(HBAR_EV_PS / (KB_EV * T) / p * np.sqrt(w[:, None] ** 2 + wk ** 2)).sum(1)
        np.testing.assert_allclose(ring_polymer_mode_free_energy(nu, T, p), direct, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(ring_polymer_mode_free_energy(nu, T, 1), KB_EV * T * np.log(x), rtol=1e-12)
    np.testing.assert_allclose(ring_polymer_mode_free_energy(nu, T, 20000), mode_free_energy(nu, T)[0], rtol=1e-7)
    np.testing.assert_allclose(ring_polymer_mode_free_energy(nu, T), mode_free_energy(nu, T)[0], rtol=1e-12)


def test_path_integral_free_energy_of_the_exact_samples(samples):
    fc = wurtzite()
    N = fc.n_atoms
    u = samples.displacements.values[:100].reshape(-1, N, 3)
    f = samples.forces.values[:100].reshape(-1, N, 3)
    e = samples.potential_energy.values[:100].reshape(-1)
    fit = EffectiveForceConstants(cutoff2=CUTOFF + 0.3).fit_arrays(fc.supercell, u, f, energies=e)
    quantum = path_integral_free_energy(fit, T, mesh=6)
    many = path_integral_free_energy(fit, T, mesh=6, n_beads=20000)
    beads = path_integral_free_energy(fit, T, mesh=6, n_beads=P)
    assert abs(quantum["baseline_energy"]) < 1e-10 and abs(beads["baseline_energy"]) < 1e-10   # U = 1/2 u Phi u
    assert abs(many["free_energy"] - quantum["free_energy"]) < 1e-6
    assert beads["free_energy"] < quantum["free_energy"] - 1e-3         # fewer beads, less zero-point free energy


# --- a real path-integral run of a harmonic crystal with i-PI (tests/quantum/support.py) -------------------------------
RUN = dict(n_beads=8, temperature=30.0, steps=3000, stride=5, timestep_fs=2.0, tau_fs=50.0, seed=2024)


@pytest.fixture(scope="module")
def ipi(tmp_path_factory):
    pytest.importorskip("ipi")
    from tests.quantum.support import cached_ipi_run, harmonic_fcc
    crystal = harmonic_fcc(n=2, a=5.3, k=1.0, species="Ar")            # 32 atoms, top mode 7 THz: h nu / k_B T = 11
    folder = cached_ipi_run(tmp_path_factory, hessian=crystal["hessian"], masses=crystal["masses"],
                            positions=crystal["positions"], cell=crystal["cell"], species=crystal["species"],
                            timeout=600.0, **RUN)
    return crystal, folder


@pytest.mark.slow
def test_a_real_ipi_run_fitted_over_its_beads_and_its_bead_msd(ipi):
    import trajmodes
    from trajmodes import Crystal, ForceConstants
    crystal, folder = ipi
    N = len(crystal["positions"])
    ref = Crystal(crystal["cell"], crystal["positions"], list(crystal["species"]), crystal["masses"])
    run = trajmodes.read_beads(str(folder / "sim.pos_0.xyz"), reference=ref, temperature=RUN["temperature"])
    truth = ForceConstants(crystal["hessian"].reshape(N, 3, N, 3).transpose(0, 2, 1, 3), ref)
    fit = EffectiveForceConstants(cutoff2=4.0).fit(list(run.beads))
    rel = np.abs(fit.force_constants_.full() - truth.full()).max() / np.abs(truth.full()).max()
    print(f"fit over {run.n_beads} x {run.n_frames} bead configurations: largest relative error {rel:.2e}")
    assert rel < 1e-4                                                  # i-PI writes forces with finite digits
    # bead mean-square displacements, each bead's translation taken out (the exact value leaves it out)
    x = np.stack([np.asarray(b.positions) for b in run.beads], axis=1)[10:]     # (frames, beads, atoms, 3)
    u = x - crystal["positions"]
    u -= np.round(u @ np.linalg.inv(crystal["cell"])) @ crystal["cell"]
    u -= u.mean(axis=2, keepdims=True)
    series = (u ** 2).mean(axis=(1, 2, 3))                            # per frame: mean over beads, atoms, directions
    blocks = np.array_split(series, 10)
    mean = series.mean()
    err = np.std([b.mean() for b in blocks], ddof=1) / np.sqrt(len(blocks))
    exact = mean_square_displacements(truth, RUN["temperature"], n_beads=RUN["n_beads"]).mean()
    classical = mean_square_displacements(truth, RUN["temperature"], occupation="classical").mean()
    print(f"bead MSD {mean:.6f} +- {err:.6f} A^2, exact P = 8 {exact:.6f}, classical {classical:.6f}, "
          f"ratio quantum/classical {exact / classical:.2f}")
    assert abs(mean - exact) < 3.5 * err
    assert (mean - classical) / err > 10
