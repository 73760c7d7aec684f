"""A given reference whose free internal coordinate is not the run's (trajmodes.lattice.ideal.mean_sites and the fit).

A 0 K data file of wurtzite puts the N sublattice at u = 3/8 of c; at temperature the run's mean sites sit elsewhere
(u moves with temperature). Displacements measured from the file's sites carry that static offset, and the mean
force vanishes at the run's sites, not the file's: a fit of forces reads the offset as softness of the fully
symmetric optical mode (N_cells times over). Oracle: exact harmonic forces f = -Phi (x - x_run) of known constants
about sites x_run with u = 0.3825; the reference given at u = 3/8. The fit must return Phi's frequencies (it measured
from the run's own mean sites, and said so); a mean displacement that the space group does not allow is said, not
folded into the sites.
"""
from __future__ import annotations

import numpy as np
import pytest

import trajmodes
from trajmodes import ForceConstants, Phonons
from trajmodes.forceconstants.fit import EffectiveForceConstants
from trajmodes.lattice.ideal import mean_sites
from trajmodes.lattice.prototypes import prototype

from tests.support.crystals import supercell
from tests.support.morse import morse_fc

MORSE = dict(D0=0.3, alpha=1.5, r0=2.4)
A, C = 3.19, 5.19


def _run(u_run: float, n_frames: int = 60, amplitude: float = 0.03, seed: int = 2, u_ref: float = 0.375):
    """Frames of a wurtzite supercell vibrating about the sites of ``u_run`` with exact forces of Morse constants,
    and the reference at ``u_ref``; returns (trajectory, exact constants)."""
    run = prototype("wurtzite", ("Ga", "N"), A, C, u=u_run)
    ref = prototype("wurtzite", ("Ga", "N"), A, C, u=u_ref)
    S = np.diag([3, 3, 2])
    sc, sc_ref = supercell(run, S), supercell(ref, S)
    Phi = morse_fc(sc, cutoff=3.5, nimg=2, **MORSE)
    rng = np.random.default_rng(seed)
    u = rng.normal(0.0, amplitude, (n_frames, sc.n_atoms, 3))
    f = -np.einsum("ijab,tjb->tia", Phi, u)
    traj = trajmodes.from_arrays(sc.positions + u, sc.cell, sc.species, forces=f, frame_interval=0.01,
                                 reference=trajmodes.Structure(sc_ref.positions, sc_ref.cell, sc_ref.species))
    return traj, ForceConstants(Phi, sc, run)


def test_sites_moved_by_the_internal_coordinate_are_measured_against_the_noise():
    prim = prototype("wurtzite", ("Ga", "N"), A, C)
    sc = supercell(prim, np.diag([3, 3, 2]))
    atom = sc.supercell_map(prim).atom
    rng = np.random.default_rng(0)
    noise = rng.normal(0.0, 0.002, (sc.n_atoms, 3))
    still = mean_sites(sc, prim, atom, noise)
    assert not still.moved and not still.breaks
    # the N sublattices 0.01 A along c (u larger by 0.0019), the whole crystal moved too: the allowed offset
    shift = np.where((sc.species == "N")[:, None], [0.0, 0.0, 0.01], 0.0) + [0.3, -0.2, 0.1]
    moved = mean_sites(sc, prim, atom, noise + shift)
    assert moved.moved and not moved.breaks
    rel = moved.site_offset - moved.site_offset[0]          # N against Ga, along c
    np.testing.assert_allclose(rel[2:, 2], 0.01, atol=0.002)
    np.testing.assert_allclose(rel[:, :2], 0.0, atol=0.002)
    assert "N sublattice" in moved.words(prim)
    # one N sublattice off along a: not allowed by P6_3mc (no free coordinate in the plane)
    off = np.where((atom == 2)[:, None], [0.02, 0.0, 0.0], 0.0)
    broken = mean_sites(sc, prim, atom, noise + off)
    assert broken.breaks
    assert np.linalg.norm(broken.site_offset[:, :2]) < 0.01


def test_fit_measures_from_the_runs_own_sites():
    traj, exact = _run(u_run=0.3825)
    truth = Phonons(exact).frequencies([[0, 0, 0], [0.5, 0, 0]])
    with pytest.warns(UserWarning, match=r"N sublattice .* free internal coordinates of the crystal are not the run.s .they moved"):
        est = EffectiveForceConstants(cutoff2=3.6).fit(traj)
    assert est.mean_sites_.moved
    got = Phonons(est.force_constants_).frequencies([[0, 0, 0], [0.5, 0, 0]])
    np.testing.assert_allclose(got, truth, atol=0.05)
    # the reference's own sites: no offset, no second pass, the same constants
    same, _ = _run(u_run=0.3825, u_ref=0.3825)
    ok = EffectiveForceConstants(cutoff2=3.6).fit(same)
    assert not ok.mean_sites_.moved
    np.testing.assert_allclose(Phonons(ok.force_constants_).frequencies([[0, 0, 0], [0.5, 0, 0]]), truth, atol=0.05)


def test_the_settled_sites_are_kept_for_later_fits_of_the_run():
    """The fit keeps the sites it settled at (sites_reference_): the error model's fourth-order fit of the same run
    measures from them, so the sublattice offset is measured over the whole run and said once (it was measured again
    from the error model's few frames and said twice, with other numbers: 0.0088 A at 30 standard errors, then 0.0080 A
    at 7, on quartz)."""
    import warnings
    traj, _ = _run(u_run=0.3825)
    with pytest.warns(UserWarning, match="N sublattice"):
        est = EffectiveForceConstants(cutoff2=3.6).fit(traj)
    settled = est.sites_reference_
    assert settled is not None
    c = np.asarray(settled.cell)[2]
    dz = (np.asarray(settled.positions) - np.asarray(traj.reference.positions)) @ c / np.linalg.norm(c)
    n = np.asarray(traj.species) == "N"
    assert np.median(dz[n] - np.median(dz[~n])) == pytest.approx(0.0075 * C, abs=0.004)   # u 0.375 -> 0.3825
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = EffectiveForceConstants(cutoff2=3.6, n_frames=20).fit(traj.with_reference(settled))
    assert not any("sublattice" in str(w.message) for w in caught) and not again.mean_sites_.noticed
    same, _ = _run(u_run=0.3825, u_ref=0.3825)
    assert EffectiveForceConstants(cutoff2=3.6).fit(same).sites_reference_ is None
