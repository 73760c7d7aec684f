"""The polar fit on a real LAMMPS run of a polar crystal: rigid-ion MgO (Buckingham plus Coulomb with PPPM; the
Buckingham parameters of G. V. Lewis and C. R. A. Catlow, J. Phys. C 18, 1149 (1985), formal charges +-2, so
Z* = +-2 and eps_inf = 1).

The reference is the potential's own harmonic crystal: central differences of LAMMPS' forces on the same supercell
(trajmodes.potentials.finite_difference with the LAMMPS engine), with the dipole-dipole term of Gonze and Lee added at
q -> 0. At 30 K the effective constants are close to it. Fitted with the dipole-dipole forces taken out (TDEP's
``--polar``), the short-range constants decay within the cutoff and the phonons, LO-TO splitting included, are the
reference's; fitted without, the optical modes at Gamma stay degenerate.
"""
import numpy as np
import pytest

import trajmodes
from tests.support.lammps_md import lammps_module
from trajmodes import EffectiveForceConstants, ForceConstants, Phonons
from trajmodes.lattice.geometry import shortest_vectors
from trajmodes.lattice.prototypes import prototype

pytestmark = pytest.mark.slow

A_MGO = 4.212
PAIRS = ["1 1 0.0 1.0 0.0", "1 2 821.6 0.3242 0.0", "2 2 22764.0 0.149 27.88"]
COMMANDS = ["set type 1 charge 2.0", "set type 2 charge -2.0", "kspace_style pppm 1.0e-5"]
QPOINTS = [[0, 0, 0], [0.5, 0, 0.5], [0.5, 0.5, 0.5], [0.25, 0, 0.25]]


def _charges(species):
    return np.array([np.eye(3) * (2.0 if s == "Mg" else -2.0) for s in species])


@pytest.fixture(scope="module")
def mgo(tmp_path_factory):
    if lammps_module() is None:
        pytest.skip("the LAMMPS Python module is not installed")
    from trajmodes.potentials.finite_difference import finite_difference_force_constants
    from trajmodes.potentials.lammps_engine import LammpsEngine
    prim = prototype("rocksalt", ("Mg", "O"), A_MGO)
    sc = prim.supercell(np.full((3, 3), 1) - 2 * np.eye(3, dtype=int)).supercell(np.diag([2, 2, 2]))   # 64 atoms
    engine = LammpsEngine(sc, "buck/coul/long 4.0", PAIRS, types=["Mg", "O"], commands=COMMANDS,
                          atom_style="charge")
    fd = finite_difference_force_constants(engine, prim, step=0.01)
    reference = ForceConstants(fd.fc2, sc, fd.primitive, smap=fd.smap, p2s=fd.p2s,
                               born=_charges(fd.primitive.species), epsilon=np.eye(3))
    folder = tmp_path_factory.mktemp("mgo_md")
    lmp = engine.open()
    try:
        lmp.commands_list(["velocity all create 60.0 4928 mom yes rot no dist gaussian",
                           "fix 1 all nvt temp 30.0 30.0 0.1", "timestep 0.001", "run 1000",
                           f"dump 1 all custom 20 {folder}/mgo.lammpstrj id type xu yu zu fx fy fz",
                           "dump_modify 1 sort id format float %.10g", "run 4000"])
    finally:
        lmp.close()
        engine.close()
    traj = trajmodes.read(str(folder / "mgo.lammpstrj"), reference=sc, species={1: "Mg", 2: "O"}, md_timestep=0.001)
    return sc, reference, traj


def test_rigid_ion_reference_has_the_analytic_lo_to_splitting(mgo):
    """The reference itself: nu_LO^2 - nu_TO^2 at Gamma is 4 pi e^2 Z^2 / (4 pi eps0 V eps mu) for rigid ions."""
    from trajmodes.units import NAC_FACTOR, THZ
    _, reference, _ = mgo
    nu = Phonons(reference).frequencies([[0, 0, 0]], q_direction=[1, 0, 0])[0]
    prim = reference.primitive
    mu = 1.0 / (1.0 / prim.masses[0] + 1.0 / prim.masses[1])
    split = 4 * np.pi * NAC_FACTOR * 4.0 / (prim.volume * mu) * THZ ** 2
    assert nu[5] ** 2 - nu[3] ** 2 == pytest.approx(split, rel=1e-6)
    assert nu[3] == pytest.approx(nu[4], abs=1e-9)


def test_polar_fit_of_the_md_run_gives_the_potentials_phonons(mgo):
    """With the dipole-dipole forces taken out, the fitted short-range constants give the reference's phonons, LO-TO
    splitting included (within 0.5 % at 30 K); without, the optical modes at Gamma do not split and the phonons are
    off by several per cent."""
    sc, reference, traj = mgo
    polar = EffectiveForceConstants(cutoff2=4.1, folds=2, born=_charges(sc.species), epsilon=np.eye(3)).fit(traj)
    plain = EffectiveForceConstants(cutoff2=4.1, folds=2).fit(traj)
    ref = Phonons(reference).frequencies(QPOINTS, q_direction=[1, 0, 0])
    got = Phonons(polar.force_constants_).frequencies(QPOINTS, q_direction=[1, 0, 0])
    bare = Phonons(plain.force_constants_).frequencies(QPOINTS, q_direction=[1, 0, 0])
    optical = np.s_[:, 3:]
    assert np.abs(got[1:] - ref[1:]).max() < 0.005 * ref.max()
    assert np.abs(got[optical] - ref[optical]).max() / ref[0, 5] < 0.005
    assert ref[0, 5] > 3 * ref[0, 3]                                  # the LO-TO splitting of rigid ions
    assert bare[0, 5] - bare[0, 3] < 0.01 * ref[0, 5]                  # none without the dipole-dipole forces
    assert np.abs(bare - ref).max() > 0.1 * ref[0, 5]
    assert polar.scores_.r2.sel(order=2) > plain.scores_.r2.sel(order=2)


def test_short_range_constants_decay_within_the_cutoff(mgo):
    """The fitted short-range constants fall by three orders of magnitude from the first to the fourth shell; the full
    constants of the same crystal (Coulomb included) do not fall at all."""
    sc, reference, traj = mgo
    polar = EffectiveForceConstants(cutoff2=4.1, folds=2, born=_charges(sc.species), epsilon=np.eye(3)).fit(traj)
    fc = polar.force_constants_
    r = np.linalg.norm(shortest_vectors(sc.positions - sc.positions[fc.p2s[0]], sc.cell), axis=1)
    shells = np.unique(np.round(r, 2))[1:5]                            # 2.11, 2.98, 3.65, 4.21 A
    short = [np.abs(fc.compact()[0][np.isclose(r, s, atol=0.01)]).max() for s in shells]
    full = [np.abs(reference.compact()[0][np.isclose(r, s, atol=0.01)]).max() for s in shells]
    assert short[3] < 1e-3 * short[0]
    assert full[3] > 0.2 * full[0]
