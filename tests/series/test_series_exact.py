"""Series of runs (trajmodes.series) on exact synthetic data: harmonic crystals of known Morse force constants.

Interpolation between two exact models is exact at both; a harmonic crystal has no intrinsic shift at any
temperature, and its whole shift is the volume's; the free energy of each run is the harmonic one; the dataset
round-trips through netCDF."""
from __future__ import annotations

import numpy as np
import pytest

from trajmodes.forceconstants.fit import EffectiveForceConstants
from trajmodes.phonons.harmonic.phonons import Phonons
from trajmodes.phonons.harmonic.thermal import mesh_thermodynamics
from trajmodes.series import Series, load_series
from trajmodes.units import KB_EV

from tests.support.crystals import CU, FCC, supercell
from tests.support.harmonic import HarmonicSampler
from tests.support.morse import morse_fc

Q = np.array([[0.5, 0.5, 0.0], [0.25, 0.0, 0.25]])
E0 = -3.54


def _crystal(scale=1.0):
    sc = supercell(CU, np.diag([4, 4, 4]))
    return type(sc)(sc.cell * scale, sc.positions * scale, sc.species, sc.masses)


def _fit(sc, T, seed, D0=0.3429, noise=0.0, n=120):
    x = (abs(np.linalg.det(sc.cell)) / (16 * 3.615 ** 3)) ** (1 / 3)       # length scale against a = 3.615 A
    Phi = morse_fc(sc, cutoff=4.7 * x, D0=D0)
    u, f, e = HarmonicSampler(sc, Phi, e0=E0 * sc.n_atoms, seed=seed).frames(n, T)
    if noise:
        f = f + np.random.default_rng(seed).normal(0, noise, f.shape)
    est = EffectiveForceConstants(cutoff2=4.8 * x, segments=20).fit_arrays(sc, u, f, e)
    return est.bootstrap(100, seed)


@pytest.fixture(scope="module")
def two_models():
    """Two exact harmonic models at one volume: D0 differs, as if fitted at 100 and 300 K."""
    sc = _crystal()
    return [_fit(sc, 100.0, 1), _fit(sc, 300.0, 2, D0=0.30)]


def test_interpolation_is_exact_at_the_runs(two_models, tmp_path):
    s = Series(two_models, [100.0, 300.0], ["a", "b"], qpoints=Q, mesh=(6, 6, 6))
    for T, f in zip((100.0, 300.0), two_models):
        fc = s.force_constants(T)
        assert np.abs(fc.compact() - f.fc2_).max() < 1e-13
    mid = s.force_constants(250.0).compact()
    assert np.abs(mid - (0.25 * two_models[0].fc2_ + 0.75 * two_models[1].fc2_)).max() < 1e-13
    with pytest.raises(ValueError, match="outside the runs"):
        s.force_constants(400.0)
    # saved and read back: the same dataset and the same interpolation (bases rebuilt from the stored reference)
    path = tmp_path / "series.nc"
    s.to_netcdf(path)
    r = load_series(path)
    assert np.array_equal(r.dataset.fc2.values, s.dataset.fc2.values)
    assert np.allclose(r.dataset.frequency_err.values, s.dataset.frequency_err.values, rtol=0, atol=0)
    assert np.abs(r.force_constants(250.0).compact() - mid).max() < 1e-13
    nu = Phonons(r.force_constants(300.0)).frequencies(Q)
    assert np.allclose(nu, s.dataset.frequency.values[1], rtol=1e-12, atol=1e-12)


@pytest.mark.slow
def test_harmonic_crystal_has_no_intrinsic_shift():
    """A harmonic crystal (one potential) run at two temperatures and two volumes: the split puts the whole shift
    into the volume part and none into the intrinsic part, with both routes; F of every run is harmonic."""
    runs, T = [], []
    for temp in (100.0, 600.0):
        for scale in (1.0, 1.01):
            runs.append(_fit(_crystal(scale), temp, int(temp + 1000 * scale)))
            T.append(temp)
    s = Series(runs, T, [f"{t:g} K x{c}" for t in (100, 600) for c in (1.0, 1.01)], qpoints=Q, mesh=(6, 6, 6))
    split = s.shift_split()
    assert np.abs(split.intrinsic.values).max() < 1e-9
    assert np.allclose(split.quasiharmonic.values, split.total.values, atol=1e-9)
    assert np.abs(split.total.values[1]).max() > 0.05                        # the volume does move the modes
    # harmonic constants of each volume from the potential itself: the same split
    pot = s.shift_split(harmonic=lambda c: _fit(c, 10.0, 7, n=40).force_constants_)
    assert np.abs(pot.intrinsic.values).max() < 1e-9
    assert np.allclose(pot.quasiharmonic.values, split.quasiharmonic.values, atol=1e-9)
    for i, f in enumerate(runs):
        harm = mesh_thermodynamics(Phonons(f.force_constants_).dm, [T[i]], (6, 6, 6)).free_energy[0]
        assert abs(float(s.dataset.free_energy[i]) - (E0 + float(harm))) < 1e-11
    assert float(s.dataset.free_energy_err.max()) < 1e-11


def test_entropy_and_heat_capacity_of_a_harmonic_crystal():
    """Three temperatures of one harmonic crystal: S = -dF/dT and C = -T d2F/dT2 from the runs' free energies are
    the harmonic ones at every temperature (a parabola through F itself would give C proportional to T), and so are
    the entropy and heat capacity of the effective phonons."""
    sc = _crystal()
    T = [100.0, 300.0, 600.0]
    runs = [_fit(sc, t, 50 + k) for k, t in enumerate(T)]
    ds = Series(runs, T, [f"{t:g} K" for t in T], qpoints=Q, mesh=(6, 6, 6)).dataset
    th = mesh_thermodynamics(Phonons(runs[0].force_constants_).dm, T, (6, 6, 6))
    for name, ref in (("entropy", th.entropy), ("heat_capacity", th.heat_capacity)):
        assert np.allclose(ds[name].values, ref, rtol=1e-9, atol=0), name
        assert np.allclose(ds["harmonic_" + name].values, ref, rtol=1e-9, atol=0), name
    assert set(ds.thermodynamic_path.values) == {"constant volume"}
    assert 2.0 < ds.heat_capacity.values[-1] / KB_EV < 3.0                       # quantum Cv < 3 k_B per atom


def test_derivative_weights_are_exact_for_parabolas():
    from trajmodes.series import derivative_weights
    x = np.array([100.0, 250.0, 300.0, 700.0, 1000.0])
    y = 2.0 - 3e-3 * x + 4e-6 * x ** 2
    assert np.allclose(derivative_weights(x, 1) @ y, -3e-3 + 8e-6 * x, rtol=1e-10)
    assert np.allclose(derivative_weights(x, 2) @ y, 8e-6, rtol=1e-10)
    assert np.allclose(derivative_weights(x[:2], 1) @ (1 + 2 * x[:2]), 2.0)
    assert np.isnan(derivative_weights(x[:2], 2)).all()


def test_runs_of_different_crystals_are_named_before_any_fit():
    import trajmodes
    """Runs of two crystals used to fail deep in the fit with '(3 vs 3 parameters)' naming neither run; they are
    refused before any fit, naming both runs and what differs."""
    import time
    from tests.support.paths import EXAMPLES, TESTS
    from trajmodes.series import fit_series
    cu = trajmodes.read(TESTS / "data" / "cu32_xs.lammpstrj", species=["Cu"], md_timestep=0.001)
    si = trajmodes.read(EXAMPLES / "md" / "si_300K.lammpstrj.gz", reference=EXAMPLES / "md" / "si_300K.data")
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=r"si_300K.*\(run 2: 216 atoms, Si216\) and .*cu32_xs.*\(run 1: 32 atoms, "
                                         r"Cu32\) are different crystals"):
        fit_series([cu, si], cutoff2=3.0, n_resamples=0)
    assert time.perf_counter() - t0 < 5.0


def test_the_series_by_temperature(two_models):
    """The series by temperature: its frequencies over temperature (runs in order of temperature whatever their
    order), the fit of a temperature, and the interpolation clamped to the runs on request."""
    s = Series(two_models[::-1], [300.0, 100.0], ["b", "a"], qpoints=Q, mesh=(6, 6, 6))
    fr = s.frequencies
    assert fr.frequency.dims == ("temperature", "q", "branch") and fr.temperature.values.tolist() == [100.0, 300.0]
    assert np.array_equal(fr.frequency.values, s.dataset.frequency.values[::-1])
    assert s.fit_at(100.0) is two_models[0] and s.fit_at(300) is two_models[1]
    with pytest.raises(ValueError, match="0 runs at 200 K"):
        s.fit_at(200.0)
    assert np.array_equal(s.force_constants(50.0, clamp=True).compact(), s.force_constants(100.0).compact())
    with pytest.raises(ValueError, match="outside the runs"):
        s.force_constants(50.0)
    twice = Series.from_dataset(s.dataset.assign(temperature=("run", [300.0, 300.0])))
    with pytest.raises(ValueError, match="several runs at one temperature"):
        twice.frequencies
    with pytest.raises(ValueError, match="holds no fits"):
        twice.fit_at(300.0)


def test_runs_by_temperature_take_no_second_temperatures():
    from trajmodes.series import fit_series
    with pytest.raises(ValueError, match="leave temperatures= out"):
        fit_series({300: None, 900: None}, temperatures=[300.0, 900.0])
    with pytest.raises(ValueError, match="one run per temperature"):
        fit_series({300: None, "300.0": None})          # keys that are one temperature


def test_a_later_run_takes_the_first_runs_kernel_before_building_one(monkeypatch):
    """A series fits its later runs in the first run's bases on the same supercell: the later fit takes the first's
    design kernel at its preparation (one kernel held, none built beside it) and gives the numbers of a fit that
    builds its own; a fit in bases of its own builds its own."""
    from trajmodes.forceconstants import fit as fit_module
    from trajmodes.series.model import shared_basis
    sc = _crystal()
    Phi = morse_fc(sc, cutoff=4.7, D0=0.3429)
    u, f, e = HarmonicSampler(sc, Phi, e0=E0 * sc.n_atoms, seed=5).frames(60, 200.0)
    first = EffectiveForceConstants(cutoff2=4.8, segments=10).fit_arrays(sc, u[:30], f[:30], e[:30])
    built, real = [], fit_module.DesignKernel
    monkeypatch.setattr(fit_module, "DesignKernel", lambda *a, **k: built.append(1) or real(*a, **k))
    later = EffectiveForceConstants(cutoff2=4.8, segments=10, build_basis=shared_basis(first))
    later.share_kernel(first)
    later.fit_arrays(sc, u[30:], f[30:], e[30:])
    assert not built and later.kernel_ is first.kernel_
    own = EffectiveForceConstants(cutoff2=4.8, segments=10, build_basis=shared_basis(first))
    own.fit_arrays(sc, u[30:], f[30:], e[30:])
    assert built == [1] and own.kernel_ is not first.kernel_
    np.testing.assert_array_equal(later.fc2_, own.fc2_)
    apart = EffectiveForceConstants(cutoff2=4.8, segments=10)                   # bases of its own
    apart.share_kernel(first)
    apart.fit_arrays(sc, u[30:], f[30:], e[30:])
    assert built == [1, 1] and apart.kernel_ is not first.kernel_


def test_runs_in_different_primitive_bases_are_compared_at_the_same_points():
    """Two exact harmonic runs of one fcc supercell (3x3x3) whose fits hold two different primitive bases of the
    lattice (the second with c + a in place of c: not related to the first by a symmetry of the crystal, so the
    same reduced q is another point of the zone there, as a search on another supercell of a low-symmetry crystal
    can choose): the series gives both runs' frequencies at the same points of the zone (q given in the
    first run's basis, mapped into the second's through Cartesian coordinates), equal to the exact constants'
    there; read at the same reduced q in the second basis, the points would be other ones."""
    sc = supercell(CU, np.diag([3, 3, 3]))
    other = type(CU)(FCC + np.array([0, 0, 1])[:, None] * FCC[0], [[0.0, 0.0, 0.0]], ["Cu"])
    fits = []
    for k in range(2):
        u, f, e = HarmonicSampler(sc, morse_fc(sc, cutoff=2.7), e0=E0 * sc.n_atoms, seed=k).frames(40, 300.0)
        est = EffectiveForceConstants(cutoff2=2.8, segments=10)
        if k:
            est._primitive_of = (sc, other)                # the state a search that chose the other basis leaves
        fits.append(est.fit_arrays(sc, u, f, e).bootstrap(50, 1))
    assert not np.allclose(fits[0].primitive_.cell, fits[1].primitive_.cell)    # two bases of one lattice
    q = np.array([[0.5, 0.0, 0.5], [0.1, 0.23, 0.37], [1 / 3, 0.0, 1 / 3]])
    exact = Phonons(fits[0].harmonic_force_constants_).frequencies(q)
    nu = Series(fits, [300.0, 300.0], ["a", "b"], qpoints=q, mesh=(4, 4, 4)).dataset.frequency.values
    assert np.allclose(nu[0], exact, atol=1e-6) and np.allclose(nu[1], exact, atol=1e-6)
    same_reduced = Phonons(fits[1].harmonic_force_constants_).frequencies(q)
    assert np.abs(same_reduced - exact).max() > 0.1           # what reading q in the second basis as given would be
