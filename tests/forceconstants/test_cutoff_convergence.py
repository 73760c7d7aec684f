"""The pair cutoff chosen from the data (trajmodes.forceconstants.convergence, trajmodes.phonons.harmonic.convergence and the
default of trajmodes.workflows.fit_effective).

Oracles:
- exact harmonic forces of a Morse crystal whose constants reach the 6th neighbour shell (6.26 A, fcc a = 3.615 A):
  the default must hold every shell of the truth and return the constants to round-off (a 6 A cutoff, the former
  default, cannot);
- the nested models: every row of the scan, made from the normal equations of one fit at the longest cutoff, equals
  an independent fit at that row's cutoff (parameters and cross-validation RMSE), and so does ``refit(cutoff2=)``, the
  third order included.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import trajmodes
from trajmodes import Crystal
from trajmodes.forceconstants.clusters import build_basis
from trajmodes.forceconstants.convergence import (embedding, entry_distances, largest_cutoff, nested_map,
                                                  scan_cutoffs, shell_radii)
from trajmodes.forceconstants.fit import EffectiveForceConstants
from trajmodes.phonons.harmonic.convergence import cutoff_convergence
from trajmodes.workflows import default_cutoff2, fit_effective

from tests.support.crystals import CU, supercell
from tests.support.morse import pair_terms
from trajmodes.lattice.geometry import shortest_vectors

A_CU = 3.615
SHELL6 = A_CU * np.sqrt(3.0)              # 6.261 A: (1, 1, 0) a; the 7th shell is at 6.763 A
MORSE = dict(D0=0.3429, alpha=1.3588, r0=2.866)


def morse_fc(sc, cutoff, **morse):
    """Full (N, N, 3, 3) Morse force constants (eV/A^2) within ``cutoff``, below half the supercell (one image)."""
    r = shortest_vectors(sc.positions[None, :, :] - sc.positions[:, None, :], sc.cell)
    ok, dd, u, (d1, d2, _) = pair_terms(r, cutoff, **morse)
    uu = u[..., :, None] * u[..., None, :]
    K = np.where(ok[..., None, None], d2[..., None, None] * uu + (d1 / dd)[..., None, None] * (np.eye(3) - uu), 0.0)
    fc = -K
    fc[np.arange(len(r)), np.arange(len(r))] += K.sum(axis=1)
    return fc


@pytest.fixture(scope="module")
def cu4():
    """The 256-atom 4x4x4 conventional fcc supercell (cube edge 14.46 A: pairs up to 7.23 A) and its primitive."""
    sc = supercell(CU, 4 * np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]]))
    return Crystal(sc.cell, sc.positions, sc.species, masses=np.full(sc.n_atoms, 63.546)), CU


@pytest.fixture(scope="module")
def morse_run(cu4):
    """Exact harmonic forces f = -Phi u of Morse constants within 6.5 A (six shells) on Gaussian displacements."""
    sc, _ = cu4
    Phi = morse_fc(sc, cutoff=6.5, **MORSE)
    rng = np.random.default_rng(3)
    u = rng.normal(0.0, 0.06, (24, sc.n_atoms, 3))
    f = -np.einsum("ijab,tjb->tia", Phi, u)
    traj = trajmodes.from_arrays(sc.positions + u, sc.cell, sc.species, forces=f, frame_interval=0.01,
                                 reference=trajmodes.Structure(sc.positions, sc.cell, sc.species))
    return traj, Phi


def test_the_statistical_test_alone_holds_every_shell_of_the_truth(morse_run):
    """With the tolerance off (rtol = atol = 0) a row agrees only within its error bars, round-off for exact data:
    every shell of the truth is kept and the constants come back to round-off."""
    traj, Phi = morse_run
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = EffectiveForceConstants(cutoff2=default_cutoff2(traj.reference.cell, traj.n_atoms)).fit(traj)
        conv = cutoff_convergence(est, rtol=0.0, atol=0.0)
        est.refit(cutoff2=conv.cutoff2)
    assert conv.cutoff2 >= SHELL6                                    # the 6th shell is in
    full = est.force_constants_.full()
    assert np.abs(full - Phi).max() < 1e-9 * np.abs(Phi).max()      # the constants to round-off
    t = conv.table
    holds = t.shell.values >= SHELL6 - 1e-3
    assert t.agrees.values[holds].all() and not t.agrees.values[~holds].any()
    assert np.abs(t.difference.values[holds]).max() < 1e-8 * np.abs(t.frequency.values).max()
    assert conv.converged and conv.notes == () and t.attrs["decided_by"] == "the statistical test"


def test_default_cutoff_is_converged_to_what_a_user_resolves(morse_run):
    """Error bars that shrink without end (here exact data: round-off) must not push the cutoff to the longest row
    for differences no one resolves (wurtzite GaN, 20 ps: 9.3 A and 479 parameters for 0.01 THz): the default takes
    the shortest row from which every frequency is within the statistical test or within max(RTOL of the frequency,
    ATOL) of the longest row's, says that the tolerance decided, and the shorter rows differ by more than that."""
    from trajmodes.forceconstants.report import format_cutoff_table
    from trajmodes.phonons.harmonic.convergence import ATOL, RTOL
    traj, Phi = morse_run
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_effective(traj)
    conv, t = res.convergence, res.convergence.table
    assert res.estimator.cutoff2 == conv.cutoff2 < SHELL6           # the tolerance, not the round-off, decides
    assert float(t.statistical_cutoff) >= SHELL6 and t.attrs["decided_by"] == "the tolerance"
    assert (t.attrs["rtol"], t.attrs["atol"]) == (RTOL, ATOL) and conv.converged
    tol = np.maximum(RTOL * np.abs(t.frequency.values[-1]), ATOL)
    within = (np.abs(t.difference.values) <= tol).reshape(t.sizes["cutoff"], -1).all(axis=1)
    k = int(np.flatnonzero(t.cutoff.values <= conv.cutoff2 + 1e-3)[-1])
    assert within[k:].all() and not within[k - 1]                  # the change is bounded by the tolerance
    assert t.agrees_within_tolerance.values[k:].all() and not t.agrees_statistically.values[k]
    assert 0 < float(t.largest_difference[k]) <= tol.max()
    text = format_cutoff_table(t)
    assert "decided by the tolerance" in text and "within max(1 %, 0.03 THz)" in text
    row = next(ln for ln in text.splitlines() if ln.startswith("*"))
    assert " tol " in row


def test_scan_rows_are_the_fits_at_their_cutoffs(cu4):
    """One pass at 7.2 A gives the fit at every shell: parameters and CV RMSE of independent fits."""
    sc, _ = cu4
    rng = np.random.default_rng(5)
    Phi = morse_fc(sc, cutoff=7.0, **MORSE)
    u = rng.normal(0.0, 0.08, (30, sc.n_atoms, 3))
    f = -np.einsum("ijab,tjb->tia", Phi, u) + 0.3 * np.einsum("tia,tia->ti", u, u)[..., None] * rng.normal(
        0, 1, u.shape)                                                # forces no harmonic model fits exactly
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        big = EffectiveForceConstants(cutoff2=7.2, segments=10).fit_arrays(sc, u, f)
        scan = scan_cutoffs(big, n_resamples=20)
        for k in (0, 2, 4):
            c = float(scan.cutoff[k])
            one = EffectiveForceConstants(cutoff2=c, segments=10).fit_arrays(sc, u, f)
            fc_row = big.bases_[2].to_compact(scan.params[k])
            assert np.abs(fc_row - one.fc2_).max() < 1e-10 * np.abs(one.fc2_).max()
            assert scan.n_params[k] == one.bases_[2].n_params
            assert scan.cv_rmse[k] == pytest.approx(float(one.scores_.cv_rmse[0]), rel=1e-9)
            assert scan.rmse[k] == pytest.approx(float(one.scores_.rmse[0]), rel=1e-9)
    # paired resamples: the spread of a row's difference from the last is smaller than either's own spread
    d = scan.samples[-2] - scan.samples[-1]
    assert scan.samples.shape == (len(scan.cutoff), 20, big.bases_[2].n_params)
    assert np.isfinite(d).all()


@pytest.mark.parametrize("mode", ["sequential", "simultaneous"])
def test_refit_to_a_shorter_cutoff_is_the_fit_at_it(cu4, mode):
    sc, _ = cu4
    rng = np.random.default_rng(7)
    Phi = morse_fc(sc, cutoff=7.0, **MORSE)
    u = rng.normal(0.0, 0.08, (12, sc.n_atoms, 3))
    f = -np.einsum("ijab,tjb->tia", Phi, u) + 0.5 * rng.normal(0, 0.01, u.shape) + 0.4 * u ** 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        big = EffectiveForceConstants(cutoff2=7.2, cutoff3=3.0, mode=mode).fit_arrays(sc, u, f)
        small = EffectiveForceConstants(cutoff2=4.5, cutoff3=3.0, mode=mode).fit_arrays(sc, u, f)
        big.refit(cutoff2=4.5)
    assert big.cutoff2 == 4.5 and big.bases_[2].n_params == small.bases_[2].n_params
    assert np.abs(big.fc2_ - small.fc2_).max() < 1e-10 * np.abs(small.fc2_).max()
    assert np.abs(big.fc3_ - small.fc3_).max() < 1e-9 * np.abs(small.fc3_).max()
    np.testing.assert_allclose(big.scores_.cv_rmse.values, small.scores_.cv_rmse.values, rtol=1e-9)
    assert np.abs(big.predict_forces(u[:2]) - small.predict_forces(u[:2])).max() < 1e-10
    with pytest.raises(ValueError, match="longer than the fitted"):
        big.refit(cutoff2=6.0)


def test_refit_lets_the_old_kernel_go_before_building_the_new(cu4, monkeypatch):
    """The design kernel of the fitted cutoff is dropped before the shorter cutoff's is built: at 864,000 atoms each
    holds 1.1 GB of partner tables, and the two at once were the peak memory of ``trajmodes run``."""
    from trajmodes.forceconstants import fit as fit_module
    sc, _ = cu4
    rng = np.random.default_rng(8)
    u = rng.normal(0.0, 0.08, (6, sc.n_atoms, 3))
    f = -np.einsum("ijab,tjb->tia", morse_fc(sc, cutoff=7.0, **MORSE), u)
    est = EffectiveForceConstants(cutoff2=7.2).fit_arrays(sc, u, f)
    alive = []
    real = fit_module.DesignKernel
    monkeypatch.setattr(fit_module, "DesignKernel", lambda *a, **k: alive.append(est.kernel_) or real(*a, **k))
    est.refit(cutoff2=4.5)
    assert alive == [None] and est.kernel_ is not None
    assert np.abs(est.predict_forces(u[:1])).max() > 0


def test_nested_models_and_the_sum_rule(cu4):
    """The model of a shorter cutoff is a subspace of the longer one's (the pairs beyond it zero), though not always a
    subset of its free parameters: the acoustic sum rule eliminates other parameters at other cutoffs."""
    sc, prim = cu4
    big = build_basis(sc, 2, 7.2, primitive=prim)
    d = entry_distances(big, sc)
    shells = shell_radii(d)
    np.testing.assert_allclose(shells[:7], A_CU * np.sqrt([0.5, 1, 1.5, 2, 2.5, 3, 3.5]), atol=1e-9)
    subset = []
    for r in (3.0, 4.0, 5.3, 6.4):
        small = build_basis(sc, 2, r, primitive=prim)
        T = embedding(big, small)
        assert np.abs(big.E @ T - (big.E @ nested_map(big, d, r)) @ np.linalg.lstsq(
            big.E @ nested_map(big, d, r), big.E @ T, rcond=None)[0]).max() < 1e-10
        assert nested_map(big, d, r).shape[1] == small.n_params
        subset.append(bool(np.all(np.isin(np.round(T, 12), (0.0, 1.0)))))
    assert not any(subset)                # fcc: the sum rule eliminates other parameters at every cutoff
    assert largest_cutoff(sc.cell) == pytest.approx(0.5 * 4 * A_CU, abs=2e-3)
    assert default_cutoff2(sc.cell) == pytest.approx(largest_cutoff(sc.cell))
    # 300 atoms in the sphere: the cap of large supercells (fcc: 0.5 * 14.46 A is below it here)
    assert default_cutoff2(sc.cell, sc.n_atoms) == pytest.approx(largest_cutoff(sc.cell))
    big_cell = 3 * sc.cell
    cap = default_cutoff2(big_cell, 27 * sc.n_atoms)
    assert 4 / 3 * np.pi * cap ** 3 / (A_CU ** 3 / 4) == pytest.approx(300, rel=1e-9)
    assert default_cutoff2(big_cell, 27 * sc.n_atoms, potential_range=12.0) == 12.0


def test_potential_range_is_the_floor(morse_run):
    """A known range longer than where the frequencies converge sets the cutoff; one the supercell cannot hold is
    said in a note."""
    traj, _ = morse_run
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = EffectiveForceConstants(cutoff2=7.2).fit(traj)
    free = cutoff_convergence(est)
    assert free.cutoff2 < 6.6
    floor = cutoff_convergence(est, minimum=6.9)
    assert floor.cutoff2 >= 6.9 and floor.table.shell.sel(cutoff=floor.cutoff2, method="nearest") > 6.7
    beyond = cutoff_convergence(est, minimum=9.0)
    assert beyond.cutoff2 == pytest.approx(float(beyond.table.cutoff[-1]))
    assert any("larger supercell would hold its range" in n for n in beyond.notes)
    assert float(beyond.table.potential_range) == 9.0 and beyond.table.potential_range.attrs["units"] == "Angstrom"


def test_truncation_is_warned(morse_run):
    traj, _ = morse_run
    with pytest.warns(UserWarning, match=r"cutoff2 = 4 A is shorter than the range of the potential, 6.5 A"):
        res = fit_effective(traj, cutoff2=4.0, potential_range=6.5)
    assert res.estimator.cutoff2 == 4.0                              # given: kept
    assert float(res.convergence.table.cutoff[-1]) == pytest.approx(4.0)


def test_a_cutoff_that_reaches_no_neighbour_is_said_before_the_pass():
    """A 32-atom triclinic Cu cell whose nearest neighbours sit at half its shortest lattice vector (the default
    cutoff, just below it, reaches none: the fit's cutoff scan stopped after the pass with "no pair beyond the atom
    itself") and a short cutoff in a big enough cell: each told before any frame of the pass is read, with what to
    do."""
    from tests.support.dumps import count_parsed_frames
    from tests.support.paths import DATA
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traj = trajmodes.read(str(DATA / "cu32_triclinic.lammpstrj"), species=["Cu"], md_timestep=0.001,
                              reference=str(DATA / "cu32_triclinic.data"))
    frames = count_parsed_frames(traj)
    with pytest.raises(ValueError, match=r"too small .* nearest neighbours sit 2.556 A apart.*above 5.11 A"):
        EffectiveForceConstants(cutoff2=largest_cutoff(traj.reference.cell)).fit(traj)
    assert sum(frames) == 0
    sc = trajmodes.Crystal(np.eye(3) * 3.615, np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]]) * 3.615,
                           ["Cu"] * 4)
    big = sc.supercell(3)
    with pytest.raises(ValueError, match=r"reaches no neighbour: the nearest sits 2.556 A away; give cutoff2 of at"):
        EffectiveForceConstants(cutoff2=2.0).prepare(big)
