"""A run that left the crystal of its reference (trajmodes.forceconstants.phase, trajmodes.lattice.ideal.run_crystal)
and fitted constants that are themselves unstable (trajmodes.workflows.fit.stability_line).

Oracle: exact harmonic forces f = -Phi (x - x_run) of known Morse constants about the sites x_run of wurtzite (P6_3mc,
4 atoms); the reference given is another crystal: the Ga atoms of alternate layers of cells moved by +-0.15 A along a
(c doubled, lower symmetry), as a 0 K data file of a phase the run left. The fit must say so before its pass, fit the
run's own crystal (4 atoms, P6_3mc) and return Phi's frequencies. A free internal coordinate that moved (u of the run
0.3825 against 3/8 of the reference) keeps the crystal: no alarm, the sites settled as before. Real runs of the
examples (Cu, Si at 30-1000 K) give no alarm. The other way round (the run's sites distorted, c doubled; the reference
the plain wurtzite) is the case of quartz, whose real LAMMPS run is tests/cli/test_quartz_phase_change.py.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import trajmodes
from trajmodes import ForceConstants, Phonons
from trajmodes.forceconstants import fit as fit_module
from trajmodes.forceconstants.fit import EffectiveForceConstants
from trajmodes.forceconstants.phase import left_crystal
from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.ideal import ideal_crystal
from trajmodes.lattice.prototypes import prototype
from trajmodes.lattice.structure import Structure

from tests.support.crystals import CU, supercell
from tests.support.morse import morse_fc

MORSE = dict(D0=0.3, alpha=1.5, r0=2.4)
A, C = 3.19, 5.19
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _wurtzite_run(u_run=0.375, u_ref=0.375, tilt=0.0, n_frames=60, amplitude=0.03, seed=2, tilted_run=False):
    """Frames of a 3x3x2 wurtzite supercell vibrating about the sites of ``u_run`` with exact forces of Morse constants;
    the reference at ``u_ref`` with the Ga atoms of the second layer of cells along c moved by ``tilt`` A along a and
    those of the first by -``tilt`` (c doubled); ``tilted_run``: the run's sites so moved, the reference's not.
    Returns (trajectory, exact constants)."""
    run = prototype("wurtzite", ("Ga", "N"), A, C, u=u_run)
    S = np.diag([3, 3, 2])
    sc = supercell(run, S)
    sc_ref = supercell(prototype("wurtzite", ("Ga", "N"), A, C, u=u_ref), S)
    layer = np.floor(sc_ref.positions @ np.linalg.inv(sc_ref.cell)[:, 2] * 2 + 1e-6).astype(int) % 2
    shift = np.where((sc_ref.species == "Ga")[:, None], [tilt, 0.0, 0.0], 0.0) * (2 * layer - 1)[:, None]
    ref = sc_ref.positions + (0.0 if tilted_run else shift)
    if tilted_run:
        sc = Crystal(sc.cell, sc.positions + shift, sc.species, sc.masses)
        run = sc.primitive()
    Phi = morse_fc(sc, cutoff=3.5, nimg=2, **MORSE)
    u = np.random.default_rng(seed).normal(0.0, amplitude, (n_frames, sc.n_atoms, 3))
    f = -np.einsum("ijab,tjb->tia", Phi, u)
    traj = trajmodes.from_arrays(sc.positions + u, sc.cell, sc.species, forces=f, frame_interval=0.01,
                                 reference=trajmodes.Structure(ref, sc_ref.cell, sc_ref.species))
    return traj, ForceConstants(Phi, sc, run)


Q = [[0, 0, 0], [0.5, 0, 0], [1 / 3, 1 / 3, 0]]


@pytest.mark.slow                 # three fits (7 s); the fast tier has the doubled cell below
def test_a_run_that_left_the_crystal_is_said_before_the_fit_and_fitted_on_its_own_crystal(monkeypatch):
    traj, exact = _wurtzite_run(tilt=0.15)
    passes = []
    normal = fit_module.normal_equations

    def counted(*args, **kwargs):
        passes.append([str(w.message) for w in seen])
        return normal(*args, **kwargs)
    monkeypatch.setattr(fit_module, "normal_equations", counted)
    with pytest.warns(UserWarning, match=r"the run left the crystal of the reference") as seen:
        est = EffectiveForceConstants(cutoff2=3.6).fit(traj)
    line = next(str(w.message) for w in seen if "left the crystal" in str(w.message))
    # said before any pass of the fit, with the evidence: the space groups and cells, the sites apart in A and errors
    assert passes and any("left the crystal" in m for m in passes[0])
    assert "P6_3mc (186), 4-atom primitive cell" in line and "8-atom primitive cell" in line
    assert "--keep-reference" in line
    found = est.run_crystal_
    assert found.left and found.run[:3] == ("P6_3mc", 186, 4) and found.reference[2] == 8
    # sites the reference holds apart (the two layers of cells), equal in the run: 0.15 A from the reference's
    assert abs(found.moved - 0.15) < 0.01 and found.moved_errors > 20 and found.tolerance < 0.05
    assert not [w for w in seen if "free internal coordinates" in str(w.message) or "break the symmetry" in str(w.message)]
    # the run's crystal fitted: its 4-atom cell, the exact constants' frequencies
    assert est.primitive_.n_atoms == 4 and est.primitive_.space_group_symbol == "P6_3mc"
    np.testing.assert_allclose(Phonons(est.force_constants_).frequencies(Q), Phonons(exact).frequencies(Q), atol=0.05)
    # insisted on: the reference's cell, as before, and no alarm
    with warnings.catch_warnings(record=True) as kept:
        warnings.simplefilter("always")
        insist = EffectiveForceConstants(cutoff2=2.5, keep_reference=True).fit(_wurtzite_run(tilt=0.15)[0])
    assert insist.primitive_.n_atoms == 8 and insist.run_crystal_ is None
    assert not [w for w in kept if "left the crystal" in str(w.message)]


def test_a_run_whose_cell_doubled_is_fitted_on_its_own_cell():
    """The quartz case in exact form: the run's sites are the distorted ones (c doubled, 8 atoms), the reference the
    undistorted wurtzite: today's code fitted the 4-atom cell, averaging sites 0.3 A apart into one."""
    traj, exact = _wurtzite_run(tilt=0.15, tilted_run=True)
    with pytest.warns(UserWarning, match=r"the run left the crystal of the reference") as seen:
        est = EffectiveForceConstants(cutoff2=3.6).fit(traj)
    found = est.run_crystal_
    assert found.run[2] == 8 and found.reference[:3] == ("P6_3mc", 186, 4)
    # the Ga atoms of one reference site sit 0.30 A apart in the two layers of cells
    assert abs(found.spread - 0.15) < 0.01 and found.spread_errors > 20 and found.spread_rms > 10
    assert not [w for w in seen if "free internal coordinates" in str(w.message)]
    assert est.primitive_.n_atoms == 8
    # every mode of the supercell (the q-points it holds: the same whatever primitive basis each cell chose)
    from trajmodes.lattice.qpoints import commensurate_qpoints
    got, want = (np.sort(Phonons(fc).frequencies(commensurate_qpoints(fc.smap.matrix)).ravel())
                 for fc in (est.force_constants_, exact))
    np.testing.assert_allclose(got, want, atol=0.05)


def test_a_free_internal_coordinate_that_moved_keeps_the_crystal():
    traj, exact = _wurtzite_run(u_run=0.3825)
    with pytest.warns(UserWarning, match=r"free internal coordinates of the crystal are not the run.s") as seen:
        est = EffectiveForceConstants(cutoff2=3.6).fit(traj)
    assert not [w for w in seen if "left the crystal" in str(w.message)]
    assert not est.run_crystal_.left and est.run_crystal_.run[:3] == est.run_crystal_.reference[:3]
    assert est.run_reference_ is None and est.primitive_.n_atoms == 4
    np.testing.assert_allclose(Phonons(est.force_constants_).frequencies(Q), Phonons(exact).frequencies(Q), atol=0.05)


@pytest.mark.parametrize("run", ["md/cu_30K", "md/cu_300K", "md/cu_900K", "md/si_300K", "md/si_1000K",
                                 "cu_fcc_300K:cu_fcc_4x4x4", "si_diamond_300K:si_diamond_3x3x3"])
def test_real_runs_that_kept_their_crystal_raise_no_alarm(run):
    dump, data = (run.split(":") + [run])[:2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                     # a dump without its time step: not what is tested
        traj = trajmodes.read(EXAMPLES / f"{dump}.lammpstrj.gz", reference=EXAMPLES / f"{data}.data")
        ref = traj.reference
        sc, tol = ideal_crystal(Crystal.from_structure(ref, masses=traj.masses))
    prim = sc.primitive(tol)
    found, sites = left_crystal(traj, sc, prim, sc.supercell_map(prim).atom,
                                Structure(sc.positions + ref.origin, ref.cell, ref.species, ref.masses, ref.origin),
                                tol, 1e-3)
    assert not found.left and sites is None
    assert found.reference[:2] == (("Fm-3m", 225) if "cu" in dump else ("Fd-3m", 227))


def _unstable_cu(scale: float):
    """fcc Cu 3x3x3 with Morse first neighbours and ``scale`` times its second neighbours (whose curvature at 3.615 A
    is negative: from 6 on, the crystal has imaginary modes), with frames of exact harmonic forces."""
    sc = supercell(CU, np.diag([3, 3, 3]))
    first = morse_fc(sc, cutoff=3.0, nimg=1, D0=0.3, alpha=1.5, r0=2.556)
    Phi = first + scale * (morse_fc(sc, cutoff=4.0, nimg=1, D0=0.3, alpha=1.5, r0=2.556) - first)
    u = np.random.default_rng(1).normal(0.0, 0.03, (40, sc.n_atoms, 3))
    traj = trajmodes.from_arrays(sc.positions + u, sc.cell, sc.species, forces=-np.einsum("ijab,tjb->tia", Phi, u),
                                 frame_interval=0.01, reference=trajmodes.Structure(sc.positions, sc.cell, sc.species))
    return traj, ForceConstants(Phi, sc, CU)


def test_unstable_fitted_constants_are_named_where_and_how_much():
    from trajmodes.phonons.harmonic.stability import imaginary_modes
    from trajmodes.workflows.fit import fit_effective, stability_line
    traj, exact = _unstable_cu(6.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_effective(traj, cutoff2=3.7)
    truth = imaginary_modes(Phonons(exact), res.bands.qpoint.values)         # the same q-points: mesh and path
    assert truth.unstable and truth.lowest < -1.0
    im = res.imaginary
    np.testing.assert_allclose(im.qpoint, truth.qpoint, atol=1e-9)
    assert im.branch == truth.branch
    assert im.unstable and im.count >= truth.count
    assert abs(im.lowest - truth.lowest) < 0.05
    line = stability_line(res)
    assert line.startswith("fitted constants UNSTABLE: ") and f"lowest {im.lowest:.3f} THz at " in line
    assert f"(branch {im.branch})" in line and "commensurate q-points" in line
    # a stable crystal is said stable, on the same q-points
    traj, exact = _unstable_cu(1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stable = fit_effective(traj, cutoff2=3.7)
    assert not stable.imaginary.unstable
    assert stability_line(stable).startswith("fitted constants stable: no imaginary modes at the ")


def _drifting_wurtzite(drift):
    """60 frames of the 3x3x2 wurtzite supercell (widths 8.3 and 10.4 A) with exact Morse forces, the whole crystal
    moved by ``drift`` (60, 3) A, positions wrapped into the box; (trajectory, exact constants)."""
    run = prototype("wurtzite", ("Ga", "N"), A, C, u=0.375)
    sc = supercell(run, np.diag([3, 3, 2]))
    Phi = morse_fc(sc, cutoff=3.5, nimg=2, **MORSE)
    u = np.random.default_rng(2).normal(0.0, 0.03, (len(drift), sc.n_atoms, 3))
    f = -np.einsum("ijab,tjb->tia", Phi, u)
    frac = (sc.positions + u + drift[:, None, :]) @ np.linalg.inv(sc.cell)
    traj = trajmodes.from_arrays((frac - np.floor(frac)) @ sc.cell, sc.cell, sc.species, forces=f,
                                 frame_interval=0.01, unwrapped=False,
                                 reference=trajmodes.Structure(sc.positions, sc.cell, sc.species))
    return traj, ForceConstants(Phi, sc, run)


DIRECTION = np.array([0.6, 0.3, 0.74]) / np.linalg.norm([0.6, 0.3, 0.74])


def test_a_crystal_that_drifts_as_a_whole_is_the_same_crystal():
    """A run whose centre of mass wanders (a Langevin thermostat without ``fix momentum``): the whole crystal 2.5 A
    one way, then the other, block after block of frames. The first frame is the reference's crystal moved rigidly,
    and the mean sites spread by the drift, not by the crystal: before, the first frame was refused as "2.50 A (rms)
    away from the reference" and, past that check, the crystal check searched the symmetry with a tolerance of
    several A and failed ("spglib found no symmetry"). The fit is the exact constants'."""
    side = np.where((np.arange(60) * 8 // 60) % 2, 1.0, -1.0)[:, None]
    traj, exact = _drifting_wurtzite(2.5 * side * DIRECTION)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # no alarm: not "left the crystal", not a symmetry warning
        est = EffectiveForceConstants(cutoff2=3.6).fit(traj)
    assert not est.run_crystal_.left and est.primitive_.n_atoms == 4
    np.testing.assert_allclose(Phonons(est.force_constants_).frequencies(Q), Phonons(exact).frequencies(Q),
                               atol=1e-4)


@pytest.mark.parametrize("far", [6.0, 25.0])
def test_a_drift_beyond_the_cell_is_fitted_as_if_the_crystal_stood(far):
    """The crystal carried ``far`` A along by a net momentum (6 A: more than half the cell's 8.3 A width; 25 A: across
    three cells): the minimum-image displacements from the reference wrap around the cell, and before the run was
    refused ("moves as a whole ... the run's total momentum is not zero"). The drift taken out of every frame
    (trajmodes.trajectory.displacements, drift="removed"), the crystal check and the fit see the crystal standing:
    no alarm, and the exact constants."""
    traj, exact = _drifting_wurtzite(np.linspace(0.0, far, 60)[:, None] * DIRECTION)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = EffectiveForceConstants(cutoff2=3.6).fit(traj)
    assert not est.run_crystal_.left and est.primitive_.n_atoms == 4
    np.testing.assert_allclose(Phonons(est.force_constants_).frequencies(Q), Phonons(exact).frequencies(Q),
                               atol=1e-4)


def test_a_drifting_crystal_whose_atoms_left_their_sites_is_refused():
    """Where the atoms left their sites (a liquid: 30% of them moved by half a cell in the second half of the run),
    the crystal's drift cannot be told from the atoms' own motion nor sites fitted: refused, saying how many atoms are
    how far from their sites, from which frame, and what to do; before, the drift's own refusal named only the
    momentum."""
    drift = np.linspace(0.0, 6.0, 60)[:, None] * DIRECTION
    traj, _ = _drifting_wurtzite(drift)
    n = traj.n_atoms
    pos = np.asarray(traj.positions.compute())
    moved = np.random.default_rng(4).permutation(n)[: int(0.3 * n)]
    pos[30:, moved] += np.array([4.1, 0.0, 0.0])
    f = np.asarray(traj.forces.compute())
    liquid = trajmodes.from_arrays(pos, traj.reference.cell, traj.species, forces=f, frame_interval=0.01,
                                   unwrapped=False, reference=traj.reference)
    with pytest.raises(ValueError, match=r"by frame \d+, \d+ of 72 atoms are farther than half the nearest-neighbour "
                                         r"distance .* from their sites, the crystal's drift as a whole taken out: "
                                         r"the crystal melted.*trajmodes convert RUN --stop N"):
        EffectiveForceConstants(cutoff2=3.6).fit(liquid)
