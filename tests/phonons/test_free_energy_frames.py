"""The TDEP free energy from given force constants and a run's frames (free_energy_from_frames, TDEP's
anharmonic_free_energy), and the potential energy of frames held in memory (from_arrays(..., potential_energy=)).

Oracles: exact synthetic frames whose energies are E0 + 1/2 u Phi u (+ 1/6 Psi u u u) of the very constants given, so
that U_0 = E0 exactly; the fit of the same frames (tdep_free_energy), whose numbers the function must give on the
fit's own constants to round-off, a polar fit included; TDEP's own anharmonic_free_energy output for MgO
(tests/data/tdep_anharmonic_free_energy: <U - U_2 - U_dd> / N = -3744.84683 eV/atom, printed).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import trajmodes
from trajmodes import ForceConstants
from trajmodes.forceconstants.fit import EffectiveForceConstants
from trajmodes.lattice.structure import Structure
from trajmodes.phonons.thermodynamics.free_energy import free_energy_from_frames, frame_energies, tdep_free_energy

from tests.support.crystals import CU, supercell
from tests.support.morse import morse_fc, pair_fc3
from tests.support.standin import model_forces

DATA = Path(__file__).parent.parent / "data"
T, MESH, CUBIC = 300.0, (4, 4, 4), 2


def _full_fc3(fc) -> np.ndarray:
    """Psi (N, N, N, 3, 3, 3) from the compact fc3 by lattice translation."""
    idx = np.arange(fc.n_atoms)
    cols = fc.compact_columns(idx[:, None], idx[None, :])
    k = fc.smap.atom
    return fc.fc3[k[:, None, None], cols[:, :, None], cols[:, None, :]]


@pytest.fixture(scope="module")
def cu():
    """fcc Morse, 3 x 3 x 3 primitive cells: fc2 within 4.7 A, fc3 of the first neighbours; 60 frames with exact
    forces -Phi u - 1/2 Psi u u and energies E0 + 1/2 u Phi u + 1/6 Psi u u u."""
    sc = supercell(CU, np.diag([3, 3, 3]))
    fc = ForceConstants(morse_fc(sc, cutoff=4.7, nimg=1), sc, CU, fc3=pair_fc3(sc, CU, cutoff=2.9, nimg=1))
    Phi, Psi = fc.full(), _full_fc3(fc)
    rng = np.random.default_rng(5)
    u = rng.normal(0.0, 0.08, (60, sc.n_atoms, 3))
    u -= u.mean(axis=1, keepdims=True)
    u2 = 0.5 * np.einsum("tia,ijab,tjb->t", u, Phi, u, optimize=True)
    u3 = np.einsum("ijlabc,tia,tjb,tlc->t", Psi, u, u, u, optimize=True) / 6
    e0 = -3.5 * sc.n_atoms
    return dict(sc=sc, fc=fc, u=u, f=model_forces(u, Phi, Psi), u2=u2, u3=u3, e0=e0)


def _traj(sc, u, energies, forces=None, order=None, shift=np.zeros(3)):
    """A Trajectory of the frames sc + u (atoms in ``order``, the whole crystal moved by ``shift``), wrapped into the
    cell, with their potential energies; the ideal crystal as its reference."""
    order = np.arange(sc.n_atoms) if order is None else order
    r0 = sc.positions[order] + shift
    pos = r0 + u[:, order]
    frac = pos @ np.linalg.inv(sc.cell)
    pos = (frac - np.floor(frac)) @ sc.cell
    species = np.asarray(sc.species)[order]
    return trajmodes.from_arrays(pos, sc.cell, species, frame_interval=0.01, potential_energy=energies,
                                 forces=None if forces is None else forces[:, order], unwrapped=False,
                                 reference=Structure(r0, sc.cell, species))


def test_exact_harmonic_frames_give_e0(cu):
    """Energies E0 + 1/2 u Phi u of the given constants: U_0 = E0 exactly, whatever the atoms' order and origin;
    with the cubic energy added and fc3 given, U_0 - <U_3> = E0, and <U_3> is the frames' own."""
    sc, fc, u = cu["sc"], cu["fc"], cu["u"]
    n_cells = sc.n_atoms
    order = np.random.default_rng(2).permutation(sc.n_atoms)
    harmonic = ForceConstants(fc.fc2, sc, CU)
    traj = _traj(sc, u, cu["e0"] + cu["u2"], order=order, shift=np.array([0.7, -1.3, 2.1]))
    ds = free_energy_from_frames(harmonic, traj, T, mesh=MESH, errors=False)
    assert float(ds.baseline_energy) == pytest.approx(cu["e0"] / n_cells, rel=1e-13)
    assert float(ds.harmonic_energy) == pytest.approx(cu["u2"].mean() / n_cells, rel=1e-11)
    assert float(ds.free_energy) == pytest.approx(float(ds.baseline_energy) + float(ds.harmonic_free_energy),
                                                  rel=1e-14)
    assert "cubic_energy" not in ds and "dipole_energy" not in ds and ds.attrs["n_frames"] == len(u)

    traj3 = _traj(sc, u, cu["e0"] + cu["u2"] + cu["u3"], order=order, shift=np.array([0.7, -1.3, 2.1]))
    ds3 = free_energy_from_frames(fc, traj3, T, mesh=MESH, cubic_mesh=CUBIC)
    assert float(ds3.cubic_energy) == pytest.approx(cu["u3"].mean() / n_cells, rel=1e-11)
    assert abs(cu["u3"].mean()) > 1e-3
    assert float(ds3.baseline_energy - ds3.cubic_energy) == pytest.approx(cu["e0"] / n_cells, rel=1e-13)
    assert float(ds3.free_energy_corrected) == pytest.approx(
        cu["e0"] / n_cells + float(ds3.harmonic_free_energy) + float(ds3.cubic_free_energy), rel=1e-12)
    assert float(ds3.baseline_energy_err) > 0 and float(ds3.free_energy_corrected_err) < 1e-10   # E0 exactly


@pytest.mark.parametrize("cutoff4", [None, 2.7])
def test_the_constants_of_a_fit_give_the_fits_free_energy(cu, cutoff4):
    """On the same run, the function on the fit's own constants gives tdep_free_energy's numbers to round-off (with
    fourth-order constants too)."""
    sc, u = cu["sc"], cu["u"]
    traj = _traj(sc, u, cu["e0"] + cu["u2"] + cu["u3"] + 0.01 * cu["u2"] ** 2, forces=cu["f"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = EffectiveForceConstants(cutoff2=3.7, cutoff3=3.0, cutoff4=cutoff4, folds=4, segments=10).fit(traj)
    ours = free_energy_from_frames(fit.force_constants_, traj, T, mesh=MESH, occupation="classical", errors=False,
                                   cubic_mesh=CUBIC)
    theirs = tdep_free_energy(fit, T, mesh=MESH, occupation="classical", errors=False, cubic_mesh=CUBIC)
    assert set(theirs.data_vars) == set(ours.data_vars)
    assert ("quartic_energy" in ours) == (cutoff4 is not None)
    for name in theirs.data_vars:
        a, b = float(ours[name]), float(theirs[name])
        assert a == pytest.approx(b, rel=1e-10, abs=1e-12), name


def test_polar_constants_take_the_dipole_energy_out_as_tdep(tmp_path):
    """TDEP's anharmonic_free_energy on MgO (polar, short-range constants from its files, 24 frames): U_0 per atom
    = <U - U_2 - U_dd> / N = -3744.84683 (TDEP's printed line; without U_dd it would be -3744.84058); <U_3> per atom
    +7.55e-5 (docs/tdep.md)."""
    src = DATA / "tdep_anharmonic_free_energy"
    fc = ForceConstants.read(src, "tdep")
    ss = fc.supercell
    frac = np.loadtxt(src / "infile.positions").reshape(-1, ss.n_atoms, 3)
    epot = np.loadtxt(src / "infile.stat")[:, 3]
    traj = trajmodes.from_arrays(frac @ ss.cell, ss.cell, ss.species, frame_interval=0.001, potential_energy=epot,
                                 unwrapped=False, reference=Structure(ss.positions, ss.cell, ss.species))
    ds = free_energy_from_frames(fc, traj, T, mesh=MESH, errors=False, cubic_mesh=CUBIC)
    per_atom = 0.5                                                       # 2 atoms per primitive cell
    ref = np.loadtxt(src / "outfile.anharmonic_free_energy")
    assert float(ds.baseline_energy) * per_atom == pytest.approx(ref[0, 0], abs=5e-6)
    assert float(ds.cubic_energy) * per_atom == pytest.approx(7.55e-5, rel=2e-3)
    assert float(ds.dipole_energy) * per_atom == pytest.approx(-3744.84058 - ref[0, 0], rel=2e-3)
    assert "U_dd" in ds.baseline_energy.attrs["long_name"]


def test_a_polar_fit_takes_the_dipole_energy_out_too():
    """A polar fit (TDEP's MgO frames with their energies) reports U_0 = <U - U_2 - U_dd>: the function on its own
    constants gives its numbers, dipole-dipole energy included."""
    from tests.forceconstants.test_polar_fit import MGO, MGO_LAMBDA, mgo_frames
    from trajmodes.io.forceconstants.tdep_polar import TDEP_BOHR_A, TDEP_NAC_FACTOR
    h5py = pytest.importorskip("h5py")
    ss, u, f, zss, eps = mgo_frames()
    with h5py.File(MGO / "infile.sim.hdf5") as h:
        epot = h["potential_energy"][()]
    traj = trajmodes.from_arrays(ss.positions + u, ss.cell, ss.species, frame_interval=0.001, forces=f,
                                 potential_energy=epot, reference=Structure(ss.positions, ss.cell, ss.species))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = EffectiveForceConstants(cutoff2=2.5, folds=1, born=zss, epsilon=eps, nac_factor=TDEP_NAC_FACTOR,
                                      ewald_lambda=MGO_LAMBDA / TDEP_BOHR_A).fit(traj)
    theirs = tdep_free_energy(fit, T, mesh=MESH, errors=False)
    ours = free_energy_from_frames(fit.force_constants_, traj, T, mesh=MESH, errors=False)
    assert float(ours.dipole_energy) > 0.01
    for name in theirs.data_vars:
        assert float(ours[name]) == pytest.approx(float(theirs[name]), rel=1e-10, abs=1e-12), name
    assert fit.energies_["harmonic"] == pytest.approx(np.mean(sum(frame_energies(fit.force_constants_, u).values())),
                                                      rel=1e-10)


def test_what_is_refused(cu):
    """No energies, energies of the wrong length or not finite, constants of another supercell: each a clear
    ValueError."""
    sc, u = cu["sc"], cu["u"]
    traj = trajmodes.from_arrays(sc.positions + u, sc.cell, sc.species, frame_interval=0.01)
    with pytest.raises(ValueError, match="potential energy of every frame.*potential_energy="):
        free_energy_from_frames(cu["fc"], traj, T)
    with pytest.raises(ValueError, match=r"shape \(59,\): one value per frame \(60,\)"):
        trajmodes.from_arrays(sc.positions + u, sc.cell, sc.species, frame_interval=0.01,
                              potential_energy=np.zeros(59))
    e = np.zeros(60)
    e[7] = np.nan
    with pytest.raises(ValueError, match="not finite at 1 frame.*frame 7"):
        trajmodes.from_arrays(sc.positions + u, sc.cell, sc.species, frame_interval=0.01, potential_energy=e)
    big = supercell(CU, np.diag([4, 4, 4]))
    other = ForceConstants(morse_fc(big, cutoff=4.7, nimg=1), big, CU)
    with pytest.raises(ValueError, match="27 atoms and the constants' supercell 64"):
        free_energy_from_frames(other, _traj(sc, u, cu["u2"]), T)
