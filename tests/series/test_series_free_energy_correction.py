"""The third-order correction of the free energy in a series (trajmodes.series, trajmodes.cli.series): runs fitted
with fc3 carry tdep_free_energy's variables per run, the entropy and heat capacity of the corrected free energy, and
what the numbers are in the attributes; the table prints U_0 + F_h, the correction and the corrected value."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from trajmodes import ForceConstants
from trajmodes.cli.series import _table
from trajmodes.forceconstants.fit import EffectiveForceConstants
from trajmodes.phonons.thermodynamics.free_energy import tdep_free_energy
from trajmodes.series import Series, load_series

from tests.support.crystals import CU, supercell
from tests.support.morse import morse_fc, pair_fc3
from tests.support.standin import model_forces

Q = np.array([[0.5, 0.5, 0.0]])
MESH, CUBIC = (4, 4, 4), (4, 4, 4)


def _run(sc, Phi, Psi, sigma, seed, n=100):
    """A fit with fc3 to frames of exact harmonic + cubic forces and energies (Gaussian displacements of width
    ``sigma``), bootstrapped."""
    rng = np.random.default_rng(seed)
    u = rng.normal(0.0, sigma, (n, sc.n_atoms, 3))
    u -= u.mean(axis=1, keepdims=True)
    e = (-3.5 * sc.n_atoms + 0.5 * np.einsum("tia,ijab,tjb->t", u, Phi, u, optimize=True)
         + np.einsum("ijlabc,tia,tjb,tlc->t", Psi, u, u, u, optimize=True) / 6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = EffectiveForceConstants(cutoff2=4.8, cutoff3=3.0, segments=20).fit_arrays(
            sc, u, model_forces(u, Phi, Psi), energies=e)
        return est.bootstrap(40, seed)


@pytest.fixture(scope="module")
def runs():
    sc = supercell(CU, np.diag([4, 4, 4]))
    Phi = morse_fc(sc, cutoff=4.7, nimg=1)
    fc = ForceConstants(Phi, sc, CU, fc3=pair_fc3(sc, CU, cutoff=2.9, nimg=1))
    idx = np.arange(sc.n_atoms)
    cols = fc.compact_columns(idx[:, None], idx[None, :])
    k = fc.smap.atom
    Psi = fc.fc3[k[:, None, None], cols[:, :, None], cols[:, None, :]]
    return [_run(sc, Phi, Psi, s, seed) for s, seed in ((0.05, 1), (0.07, 2), (0.09, 3))]


@pytest.mark.parametrize("occupation", ["classical", "quantum"])
def test_series_carries_the_corrected_free_energy(runs, occupation, tmp_path):
    T = [100.0, 200.0, 300.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = Series(runs, T, ["a", "b", "c"], qpoints=Q, mesh=MESH, occupation=occupation, cubic_mesh=CUBIC)
    ds = s.dataset
    for i, (f, t) in enumerate(zip(runs, T)):
        one = tdep_free_energy(f, t, mesh=MESH, occupation=occupation, cubic_mesh=CUBIC)
        for name in ("free_energy", "free_energy_corrected", "anharmonic_correction", "cubic_energy",
                     "cubic_free_energy", "quantum_correction", "free_energy_corrected_err", "cubic_energy_err"):
            assert float(ds[name][i]) == pytest.approx(float(one[name]), rel=1e-12, abs=1e-15), name
    assert np.isfinite(ds.entropy_corrected.values).all() and np.isfinite(ds.heat_capacity_corrected.values).all()
    assert "lower bound" in ds.attrs["free_energy_free_energy"]
    assert ds.attrs["free_energy_cubic_mesh"] == list(CUBIC)
    assert ("renormalised by classical MD" in ds.attrs["free_energy_statistics"]) == (occupation == "quantum")
    path = tmp_path / "series.nc"
    s.to_netcdf(path)
    back = load_series(path).dataset
    assert np.array_equal(back.free_energy_corrected.values, ds.free_energy_corrected.values)
    text = _table(ds)
    assert "U_0 + F_h (eV/cell)" in text and "correction (meV/cell)" in text and "F_3 (eV/cell)" in text
    assert f"with {occupation} oscillators" in text and "lower bound" in text
    row = text.splitlines()[1]
    assert f"{ds.free_energy_corrected.values[0]:11.5f}" in row and f"{ds.free_energy.values[0]:11.5f}" in row


def test_series_without_fc3_says_so(runs):
    """Runs without fc3: no correction variables; the table says how to get it."""
    sc = runs[0].supercell_
    Phi = morse_fc(sc, cutoff=4.7, nimg=1)
    rng = np.random.default_rng(5)
    u = rng.normal(0.0, 0.05, (80, sc.n_atoms, 3))
    e = 0.5 * np.einsum("tia,ijab,tjb->t", u, Phi, u, optimize=True)
    fits = [EffectiveForceConstants(cutoff2=4.8, segments=20).fit_arrays(sc, u, model_forces(u, Phi), energies=e)]
    ds = Series(fits, [300.0], ["a"], qpoints=Q, mesh=MESH).dataset
    assert "free_energy_corrected" not in ds and "quantum_correction" in ds
    assert "third-order" in ds.attrs["free_energy_anharmonic_correction"]
    assert "--cutoff3" in _table(ds)
