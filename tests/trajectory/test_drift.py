"""Displacements of a crystal that moves as a whole (trajmodes.trajectory.displacements, drift="removed" and
"followed"; trajmodes/_projection.c ``drift``).

Oracle: exact synthetic frames: a crystal of atoms of unequal masses whose displacements u have no centre-of-mass part,
carried by a random walk s(t) of several cell widths and wrapped into the box. The displacements with the drift
removed must be u to round-off, whatever path computes them (the compiled map in a fixed cell, a breathing cell with a
moving origin, a cache that stores displacements, no cell) and however the frames are chunked (nothing carried from
chunk to chunk); with the drift "followed" they are the minimum images while the drift is small, and a crystal carried
across cells still averages onto its sites. The projection on modes of the drifting crystal is that of the crystal
standing still. Before, there was no drift to remove: every minimum image wrapped once the drift passed half a cell.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import trajmodes
from trajmodes import units
from trajmodes.lattice.structure import Structure
from trajmodes.trajectory.displacements import displacement_drift, displacements_of_frames, remove_drift
from trajmodes.trajectory.summary import summarize

from tests.support.paths import EXAMPLES

CELL = np.array([[10.0, 0.0, 0.0], [2.0, 9.0, 0.0], [0.0, 1.0, 11.0]])


def _frames(n_frames=40, n_atoms=30, step=1.5, seed=1):
    """(reference Structure, true displacements (frames, atoms, 3) without a centre-of-mass part, masses, drift
    (frames, 3) A, wrapped positions)."""
    rng = np.random.default_rng(seed)
    r0 = rng.uniform(0.0, 1.0, (n_atoms, 3)) @ CELL
    masses = rng.uniform(1.0, 60.0, n_atoms)
    u = rng.normal(0.0, 0.2, (n_frames, n_atoms, 3))
    u -= (masses[:, None] * u).sum(axis=1, keepdims=True) / masses.sum()
    # carried along a direction, stepping to and fro about it
    drift = np.arange(n_frames)[:, None] * step * np.array([0.7, -0.5, 0.5]) + \
        np.cumsum(rng.normal(0.0, 0.5 * step, (n_frames, 3)), axis=0)
    frac = (r0 + u + drift[:, None]) @ np.linalg.inv(CELL)
    pos = (frac - np.floor(frac)) @ CELL
    return Structure(r0, CELL, ["X"] * n_atoms, masses), u, masses, drift, pos


def test_the_drift_is_removed_exactly_however_far_it_went():
    ref, u, masses, drift, pos = _frames()
    assert np.abs(drift).max() > 2 * 11.0                       # carried across more than two cells
    n = len(pos)
    fixed = displacements_of_frames(pos, np.repeat(CELL[None], n, 0), np.zeros((n, 3)), ref, drift="removed")
    np.testing.assert_allclose(fixed, u, rtol=0, atol=1e-12)
    kept = displacements_of_frames(pos, np.repeat(CELL[None], n, 0), np.zeros((n, 3)), ref)
    assert np.abs(kept - u).max() > 4.0                          # the minimum images wrapped: what came before
    # a breathing cell with a moving origin: the same fractional displacements
    rng = np.random.default_rng(3)
    cells = CELL[None] * (1.0 + 0.02 * rng.standard_normal((n, 1, 1)))
    origins = rng.normal(0.0, 3.0, (n, 3))
    moved = np.einsum("tja,tab->tjb", pos @ np.linalg.inv(CELL), cells) + origins[:, None]
    npt = displacements_of_frames(moved, cells, origins, ref, drift="removed")
    np.testing.assert_allclose(npt, u, rtol=0, atol=1e-12)
    # displacements held or stored (numpy), and no cell at all (the plain mass-weighted mean)
    np.testing.assert_allclose(remove_drift(kept, CELL, masses), u, rtol=0, atol=1e-12)
    loose = Structure(ref.positions, None, ref.species, masses)
    plain = displacements_of_frames(ref.positions + u + drift[:, None], np.full((n, 3, 3), np.nan), np.zeros((n, 3)),
                                    loose, drift="removed")
    np.testing.assert_allclose(plain, u, rtol=0, atol=1e-12)
    # the drift found is the true one, up to a lattice vector
    s = displacement_drift(kept, CELL, masses) - drift
    f = s @ np.linalg.inv(CELL)
    np.testing.assert_allclose(f, np.rint(f), rtol=0, atol=1e-12)


def test_the_drift_is_removed_chunk_by_chunk_in_a_trajectory():
    """Chunks of 7 frames (nothing carried across them) give what one block gives; the masses are the run's."""
    ref, u, masses, _, pos = _frames()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traj = trajmodes.from_arrays(pos, CELL, ref.species, masses=masses, frame_interval=0.01, unwrapped=False,
                                     reference=Structure(ref.positions, CELL, ref.species), chunk_frames=7)
    np.testing.assert_allclose(traj.displacements(drift="removed").compute(), u, rtol=0, atol=1e-12)
    data = {"positions": pos, "cells": np.repeat(CELL[None], len(pos), 0), "origins": np.zeros((len(pos), 3))}
    np.testing.assert_allclose(traj.displacements_of_chunks(drift="removed")(data), u, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match=r"drift='gone': give one of 'kept', 'removed', 'followed'"):
        traj.displacements(drift="gone")


def test_a_followed_drift_is_the_minimum_image_while_small_and_averages_onto_the_sites_beyond():
    ref, u, masses, drift, pos = _frames(step=0.01)
    n = len(pos)
    cells, origins = np.repeat(CELL[None], n, 0), np.zeros((n, 3))
    assert np.abs(drift).max() < 1.0
    np.testing.assert_allclose(displacements_of_frames(pos, cells, origins, ref, drift="followed"),
                               displacements_of_frames(pos, cells, origins, ref), rtol=0, atol=1e-12)
    # carried across cells: the time average is the reference's sites, all moved by one vector (the mean drift
    # up to lattice vectors); before, the atoms' minimum images wrapped and the average fell between sites
    ref, u, masses, drift, pos = _frames(step=1.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traj = trajmodes.from_arrays(pos, CELL, ref.species, masses=masses, frame_interval=0.01, unwrapped=False,
                                     chunk_frames=7)
    average = traj.average_structure()
    off = (average.positions - ref.positions - u.mean(axis=0)) @ np.linalg.inv(CELL)
    off -= np.rint(off - off[0])
    np.testing.assert_allclose(off, np.broadcast_to(off[0], off.shape), rtol=0, atol=1e-10)


def test_the_modes_of_a_drifting_crystal_are_those_of_the_crystal_standing_still():
    """Cu (examples/fc/cu_eam, 4x4x4 fcc) vibrating without a centre-of-mass motion, standing or carried 30 A along
    (wrapped): the same amplitudes at every q and branch; those of the acoustic modes at Gamma zero (the drift is
    their only motion, taken out)."""
    fc = trajmodes.ForceConstants.read(EXAMPLES / "fc" / "cu_eam", "phonopy")
    ph = trajmodes.Phonons(fc)
    sc = fc.supercell
    rng = np.random.default_rng(5)
    n = 12
    u = rng.normal(0.0, 0.05, (n, sc.n_atoms, 3))
    u -= u.mean(axis=1, keepdims=True)
    drift = np.linspace(0.0, 30.0, n)[:, None] * np.array([0.8, 0.5, 0.33])
    frac = (sc.positions + u + drift[:, None]) @ np.linalg.inv(sc.cell)
    ref = Structure(sc.positions, sc.cell, sc.species, sc.masses)
    runs = []
    for pos in (sc.positions + u, (frac - np.floor(frac)) @ sc.cell):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traj = trajmodes.from_arrays(pos, sc.cell, sc.species, masses=sc.masses, frame_interval=0.01,
                                         unwrapped=False, reference=ref, chunk_frames=5)
            runs.append(trajmodes.project(traj, ph)["Q"].values)
    still, moving = runs
    np.testing.assert_allclose(moving, still, rtol=0, atol=1e-10)
    assert np.abs(moving[:, 0, :3]).max() < 1e-10 and np.abs(moving).max() > 0.1


#: A/ps: the velocity of a net momentum, added to every atom's
PUSH = np.array([5.0, -2.5, 1.25])


def _thermal(seed=2, n_frames=40, n_atoms=30):
    """The drifting frames of :func:`_frames` with velocities and harmonic forces: (reference, positions of the crystal
    standing still, positions carried away and wrapped, true drift (frames, 3) A, velocities without a centre-of-mass
    part (frames, atoms, 3) A/ps, masses, forces)."""
    ref, u, masses, drift, pos = _frames(n_frames, n_atoms, seed=seed)
    rng = np.random.default_rng(seed + 100)
    v = rng.normal(0.0, 1.0, u.shape) * np.sqrt(units.KB_EV * 300.0 / units.AMU_A2_PS2_EV / masses)[None, :, None]
    v -= (masses[:, None] * v).sum(axis=1, keepdims=True) / masses.sum()
    return ref, ref.positions + u, pos, drift, v, masses, -3.0 * u        # springs of 3 eV/A^2 to each site


def test_the_kinetic_temperature_leaves_out_the_motion_of_the_crystal_as_a_whole():
    """A net momentum (every atom moving 2 A/ps more along one direction) is no heat: the temperature is that of the
    velocities relative to the centre of mass, as LAMMPS' compute temp/com measures it, with 3N - 3 degrees of freedom.
    Before, the drift's kinetic energy counted: the crystal at 300 K moving reported about 690 K, and so did the fit
    (``temperature_``) and the run's summary."""
    ref, still, _, _, v, masses, _ = _thermal()
    T = {}
    for name, vel in (("still", v), ("moving", v + PUSH)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traj = trajmodes.from_arrays(still, CELL, ref.species, masses=masses, velocities=vel, frame_interval=0.01,
                                         reference=ref, chunk_frames=7)
        T[name] = traj.temperature().compute()
    ke = 0.5 * np.einsum("j,tja,tja->t", masses, v, v) * units.AMU_A2_PS2_EV
    np.testing.assert_allclose(T["still"], 2 * ke / ((3 * len(masses) - 3) * units.KB_EV), rtol=1e-12)
    np.testing.assert_allclose(T["moving"], T["still"], rtol=1e-12)
    assert T["still"].mean() > 100.0


def test_the_summary_of_a_drifting_crystal_is_that_of_the_crystal_standing_still():
    """The run's summary (its mean-square displacements, largest displacement, rms per frame, configurational and
    kinetic temperatures) of a crystal carried across more than two cells (a random walk, wrapped, moving at 2 A/ps
    besides) is that of the same crystal standing still, whether the reference is given or is the time average (the
    summary's scratch file); its drift is the crystal's path, up to where it started. Before, the minimum images
    wrapped: mean-square displacements of several A^2, a largest displacement of half a cell, and no configurational
    temperature (its check skipped for displacements of a liquid)."""
    ref, still, moving, drift, v, masses, f = _thermal()
    assert np.abs(drift).max() > 2 * 11.0
    for given in (True, False):
        out = {}
        for name, pos, vel in (("still", still, v), ("moving", moving, v + PUSH)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                traj = trajmodes.from_arrays(pos, CELL, ref.species, masses=masses, velocities=vel, forces=f,
                                             frame_interval=0.01, unwrapped=False, reference=ref if given else None,
                                             chunk_frames=7)
                out[name] = summarize(traj)
        a, b = out["still"], out["moving"]
        for name in ("msd", "max_displacement", "rms_time", "temperature", "configurational_temperature"):
            np.testing.assert_allclose(b[name].values, a[name].values, rtol=1e-6, atol=1e-9, err_msg=name)
        assert float(a["configurational_temperature"]) > 0
        # the same in every frame: a lattice vector from the reference given, the two runs' mean drifts apart from
        # their time averages
        path = b["drift"].values - a["drift"].values - drift
        np.testing.assert_allclose(path, np.broadcast_to(path[0], path.shape), rtol=0, atol=1e-5)
        if given:
            f0 = path[0] @ np.linalg.inv(CELL)
            np.testing.assert_allclose(f0, np.rint(f0), rtol=0, atol=1e-6)


def test_weights_and_references_that_cannot_be_the_crystals_are_refused_with_what_to_give():
    """Masses of the wrong length, negative, NaN or all zero, and a reference of other atoms, are refused naming what
    is wrong; before, a longer weight was read in part, zero masses gave NaN displacements, and a reference of other
    atoms a message of bytes from the compiled pass ("drift: weight holds 80 bytes, needs 160")."""
    ref, u, masses, _, pos = _frames(n_frames=5)
    n = len(pos)
    cells, origins = np.repeat(CELL[None], n, 0), np.zeros((n, 3))
    for weight, said in ((np.ones(len(masses) + 5), r"shape \(35,\) for 30 atoms: give one mass \(amu\) per atom"),
                         (np.ones(3), r"shape \(3,\) for 30 atoms"),
                         (np.zeros(len(masses)), r"not all zero: all are zero"),
                         (np.r_[masses[:-1], -1.0], r"atom 29 has -1.0"),
                         (np.r_[np.nan, masses[1:]], "atom 0 has nan")):
        with pytest.raises(ValueError, match=said):
            displacements_of_frames(pos, cells, origins, ref, drift="removed", weight=weight)
        with pytest.raises(ValueError, match=said):
            remove_drift(u, CELL, weight)
    other = Structure(ref.positions[:10], CELL, ref.species[:10], masses[:10])
    with pytest.raises(ValueError, match="the reference crystal has 10 atoms and the frames 30"):
        displacements_of_frames(pos, cells, origins, other, drift="removed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traj = trajmodes.from_arrays(pos, CELL, ref.species, masses=masses, frame_interval=0.01, unwrapped=False,
                                     reference=ref)
    for drift in ("kept", "removed"):
        with pytest.raises(ValueError, match="the reference crystal has 10 atoms and the frames 30"):
            traj.displacements(reference=other, drift=drift)
        with pytest.raises(ValueError, match="the reference crystal has 10 atoms and the frames 30"):
            traj.displacements_of_chunks(other, drift=drift)
