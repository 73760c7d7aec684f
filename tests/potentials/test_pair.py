"""Pair potentials (trajmodes.potentials.pair): energies, forces and stress against the real LAMMPS engine
(``pair_style lj/cut``, ``morse``, ``buck``), and every lattice sum (force constants, static strain derivatives,
dynamical matrices and their derivatives) against finite differences and trajmodes.Phonons."""
from __future__ import annotations

import numpy as np
import pytest

import trajmodes
from tests.support import lattice_checks as lc
from tests.support.crystals import FCC, supercell
from tests.support.lammps_calc import lammps_static
from trajmodes import Crystal, Phonons
from trajmodes.potentials.pair import Buckingham, LennardJones, Morse

CONV = np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]])         # fcc primitive -> conventional cube
SHEAR = [0.012, -0.015, 0.02, 0.025, -0.01, 0.018]             # a generic Voigt strain (engineering shears)


def fcc(a, species):
    return Crystal(FCC / 3.615 * a, [[0, 0, 0]], [species])


def rocksalt(a=5.64):
    return Crystal(FCC / 3.615 * a, [[0, 0, 0], [a / 2, 0, 0]], ["Na", "Cl"])


def diamond(a=5.431):
    return Crystal(FCC / 3.615 * a, np.array([[0, 0, 0], [.25, .25, .25]]) * a, ["Si", "Si"])


LJ_AR = LennardJones(0.0104, 3.40, cutoff=8.5)
MORSE_CU = Morse(0.3429, 1.3588, 2.866, cutoff=6.0)
MORSE_SI = Morse(2.0, 1.5, 2.35, cutoff=4.0)
# Born-Mayer-Huggins-like NaCl without the Coulomb part; a different cutoff for every pair
BUCK_NACL = Buckingham({("Na", "Na"): (7895.4, 0.1709, 0.0, 5.5), ("Na", "Cl"): (1170.4, 0.3, 0.0, 7.0),
                        ("Cl", "Cl"): dict(A=1227.2, rho=0.3214, C=29.06, cutoff=8.0)})

# name: (potential, LAMMPS type order, crystal builder)
LAMMPS_CASES = {
    "lj_fcc_ar": (LJ_AR, ["Ar"], lambda: supercell(fcc(5.26, "Ar"), 2 * CONV)),
    "morse_fcc_cu": (MORSE_CU, ["Cu"], lambda: supercell(fcc(3.615, "Cu"), 2 * CONV)),
    "buck_rocksalt": (BUCK_NACL, ["Na", "Cl"], lambda: supercell(rocksalt(), 2 * CONV)),
}


@pytest.mark.parametrize("case", list(LAMMPS_CASES))
@pytest.mark.parametrize("strain", [False, True], ids=["displaced", "displaced_strained"])
def test_energy_forces_stress_match_lammps(case, strain):
    pot, elements, build = LAMMPS_CASES[case]
    crystal = lc.displaced(build(), 0.06, seed=3)
    if strain:
        crystal = lc.strained(crystal, SHEAR)
    ef = pot.energy_forces(crystal)
    e, f = ef.energy, ef.forces
    s = pot.stress(crystal)
    el, fl, pl = lammps_static(pot.lammps_commands(elements), elements, crystal.cell, crystal.positions,
                               crystal.species)
    assert abs(e - el) <= 1e-10 * abs(el), (e, el)
    assert lc.rel(f, fl) <= 1e-10, lc.rel(f, fl)
    assert lc.rel(s, -pl) <= 1e-10, lc.rel(s, -pl)
    np.testing.assert_allclose(s, s.T, atol=1e-14)
    assert e == pytest.approx(pot.energy(crystal), rel=1e-14)


def test_lammps_commands():
    assert BUCK_NACL.lammps_commands(["Na", "Cl"]) == [
        "pair_style buck 8.0", "pair_coeff 1 1 7895.4 0.1709 0.0 5.5", "pair_coeff 1 2 1170.4 0.3 0.0 7.0",
        "pair_coeff 2 2 1227.2 0.3214 29.06 8.0"]
    assert LJ_AR.lammps_commands(["Ar"])[0] == "pair_style lj/cut 8.5"


# ------------------------------------------------------------------ analytic functions

@pytest.mark.parametrize("pot,pair", [(LJ_AR, ("Ar", "Ar")), (MORSE_CU, ("Cu", "Cu")),
                                      (BUCK_NACL, ("Na", "Cl")), (BUCK_NACL, ("Cl", "Cl"))])
def test_radial_derivatives(pot, pair):
    r = np.linspace(2.2, 7.5, 23)
    h = 1e-5
    v = pot.pair_energy(r, *pair, order=3)
    for k in range(3):
        up, down = pot.pair_energy(r + h, *pair, order=k), pot.pair_energy(r - h, *pair, order=k)
        fd = (up if k == 0 else up[k]) - (down if k == 0 else down[k])
        assert lc.rel(v[k + 1], fd / (2 * h)) < 1e-8


def test_lennard_jones_minimum_and_morse_well():
    r = 2 ** (1 / 6) * 3.4
    phi, d1 = LJ_AR.pair_energy(r, "Ar", "Ar", order=1)
    assert phi == pytest.approx(-0.0104, rel=1e-14) and abs(d1) < 1e-15
    assert MORSE_CU.pair_energy(2.866, "Cu", "Cu") == pytest.approx(-0.3429, rel=1e-15)


# ------------------------------------------------------------------ derivatives against finite differences

FD_CASES = {
    "lj_fcc_ar": (LJ_AR, lambda: supercell(fcc(5.26, "Ar"), CONV)),           # 4 atoms, cutoff > the cell
    "morse_fcc_cu": (MORSE_CU, lambda: supercell(fcc(3.615, "Cu"), CONV)),
    "buck_rocksalt": (BUCK_NACL, lambda: supercell(rocksalt(), CONV)),        # 8 atoms, two species
}


@pytest.mark.parametrize("case", list(FD_CASES))
def test_forces_stress_fc2_fc3_against_finite_differences(case):
    pot, build = FD_CASES[case]
    crystal = lc.strained(lc.displaced(build(), 0.05, seed=5), SHEAR)
    assert lc.forces_error(pot, crystal) < 1e-8
    assert lc.stress_error(pot, crystal) < 1e-7
    assert lc.fc2_error(pot, crystal, atoms=[0, 3]) < 1e-7
    assert lc.fc3_error(pot, crystal, atoms=[0, 3]) < 1e-7


@pytest.mark.parametrize("case", list(FD_CASES))
def test_sum_rules(case):
    pot, build = FD_CASES[case]
    crystal = lc.displaced(build(), 0.05, seed=6)
    fc = pot.force_constants3(crystal, primitive=crystal)
    assert np.abs(fc.fc2.sum(axis=1)).max() < 1e-12 * np.abs(fc.fc2).max()
    assert np.abs(fc.fc3.sum(axis=2)).max() < 1e-12 * np.abs(fc.fc3).max()
    assert np.abs(fc.fc3.sum(axis=1)).max() < 1e-12 * np.abs(fc.fc3).max()
    np.testing.assert_allclose(fc.fc2, fc.fc2.transpose(1, 0, 3, 2), atol=1e-13 * np.abs(fc.fc2).max())
    np.testing.assert_allclose(fc.fc3, fc.fc3.transpose(0, 2, 1, 3, 5, 4), atol=1e-13 * np.abs(fc.fc3).max())
    # forces sum to zero, D(0) has three zero eigenvalues (translations), even away from equilibrium
    assert np.abs(pot.energy_forces(crystal).forces.sum(axis=0)).max() < 1e-12
    w = np.linalg.eigvalsh(pot.dynamical_matrices(crystal, [0, 0, 0]))[0]
    assert np.sort(np.abs(w))[:3].max() < 1e-12 * np.abs(w).max()


def test_layouts_and_ideal_supercell():
    prim = rocksalt()
    sc = supercell(prim, CONV)
    full = BUCK_NACL.force_constants3(sc, prim)
    comp = BUCK_NACL.force_constants3(sc, prim, layout="compact")
    assert full.fc2.shape == (8, 8, 3, 3) and comp.fc2.shape == (2, 8, 3, 3)
    assert comp.fc3.shape == full.fc3.shape == (2, 8, 8, 3, 3, 3)
    np.testing.assert_allclose(comp.full(), full.fc2, atol=1e-13)
    np.testing.assert_allclose(comp.fc3, full.fc3, atol=0)
    # compact fc3 rows are the p2s atoms of the whole third-order array
    whole = BUCK_NACL.force_constants3(sc, sc)
    np.testing.assert_allclose(full.fc3, whole.fc3[full.p2s], atol=1e-13)
    # static Hessian (u, u) block = the q = 0 force constants of the primitive cell summed over images
    H = BUCK_NACL.static_derivatives(prim).hessian[6:, 6:]
    D0 = BUCK_NACL.dynamical_matrices(prim, [0, 0, 0])[0]
    m = np.repeat(np.sqrt(prim.masses), 3)
    np.testing.assert_allclose(H, (D0 * np.outer(m, m)).real, atol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["buck_rocksalt", "morse_diamond", "lj_fcc_ar"])
def test_static_derivatives_against_finite_differences(case):
    pot, prim = {"buck_rocksalt": (BUCK_NACL, rocksalt()), "morse_diamond": (MORSE_SI, diamond()),
                 "lj_fcc_ar": (LJ_AR, fcc(5.26, "Ar"))}[case]
    crystal = lc.displaced(lc.strained(prim, SHEAR), 0.05, seed=7)
    g_err, h_err = lc.static_errors(pot, crystal)
    assert g_err < 1e-8 and h_err < 1e-6, (g_err, h_err)
    sd = pot.static_derivatives(crystal)
    E, g, H = sd.energy, sd.gradient, sd.hessian
    s = pot.stress(crystal) * crystal.volume
    np.testing.assert_allclose(g[:6], [s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]], atol=1e-14)
    np.testing.assert_allclose(g[6:], -pot.energy_forces(crystal).forces.reshape(-1), atol=1e-14)
    np.testing.assert_allclose(H, H.T, atol=1e-12 * np.abs(H).max())
    sd = pot.static_derivatives(crystal, order=1)
    E1, g1 = sd.energy, sd.gradient
    assert E1 == E and np.array_equal(g1, g)


Q_GENERAL = np.array([[0.123, 0.377, -0.31], [0.5, 0.25, 0.0], [0.0, 0.0, 0.0], [-0.21, 0.07, 0.44]])


@pytest.mark.parametrize("case", ["buck_rocksalt", "morse_diamond", "lj_fcc_ar"])
def test_dynamical_matrix_derivatives_against_finite_differences(case):
    pot, prim = {"buck_rocksalt": (BUCK_NACL, rocksalt()), "morse_diamond": (MORSE_SI, diamond()),
                 "lj_fcc_ar": (LJ_AR, fcc(5.26, "Ar"))}[case]
    crystal = lc.displaced(lc.strained(prim, SHEAR), 0.05, seed=8)
    e_err, u_err = lc.dynamical_errors(pot, crystal, Q_GENERAL)
    assert e_err < 1e-7 and u_err < 1e-7, (e_err, u_err)
    dm = pot.dynamical_matrices(crystal, Q_GENERAL, derivatives=True)
    D, De, Du = dm.matrices, dm.strain_derivatives, dm.internal_derivatives
    assert D.shape == (4, 3 * crystal.n_atoms, 3 * crystal.n_atoms)
    assert De.shape == (6, *D.shape) and Du.shape == (3 * crystal.n_atoms, *D.shape)
    np.testing.assert_allclose(D, D.conj().transpose(0, 2, 1), atol=1e-14 * np.abs(D).max())
    # the same D with or without derivatives (to round-off: the two paths sum in different orders)
    np.testing.assert_allclose(D, pot.dynamical_matrices(crystal, Q_GENERAL), rtol=0, atol=1e-14 * np.abs(D).max())


@pytest.mark.parametrize("case", ["morse_fcc_cu", "morse_diamond", "buck_rocksalt"])
def test_dynamical_matrices_match_phonons_of_supercell_constants(case):
    """Exact lattice sums against Phonons of the supercell constants, on a supercell whose Wigner-Seitz cell holds
    every interaction once: equal at every q (commensurate or not), up to the phase convention."""
    pot, prim, n = {"morse_fcc_cu": (Morse(0.3429, 1.3588, 2.866, cutoff=5.5), fcc(3.615, "Cu"), 5),
                    "morse_diamond": (MORSE_SI, diamond(), 4),
                    "buck_rocksalt": (Buckingham(1170.4, 0.3, 5.0, cutoff=5.0), rocksalt(), 4)}[case]
    sc = supercell(prim, n * np.eye(3, dtype=int))
    commensurate = np.array([[1, 2, 0], [2, 3, 1], [0, 0, 0], [n // 2, n // 2, n // 2]]) / n
    for q in (commensurate, Q_GENERAL):
        d_err, w_err = lc.phonons_error(pot, prim, sc, q)
        assert d_err < 1e-12 and w_err < 1e-12, (d_err, w_err)


def test_frequencies_at_commensurate_q_on_a_small_supercell():
    """On a supercell smaller than the cutoff, Phonons of the supercell constants (images summed) still agree with
    the exact lattice sum at the supercell's commensurate q."""
    prim = fcc(5.26, "Ar")
    sc = supercell(prim, 2 * np.eye(3, dtype=int))
    q = np.array([[0.5, 0, 0], [0.5, 0.5, 0], [0, 0.5, 0.5], [0.5, 0.5, 0.5]])
    w = np.linalg.eigvalsh(LJ_AR.dynamical_matrices(prim, q))
    wp = np.linalg.eigvalsh(Phonons(LJ_AR.force_constants(sc, prim), nac=False).dynamical_matrix(q))
    assert lc.rel(w, wp) < 1e-12


# ------------------------------------------------------------------ input checks and exports

def test_bad_input():
    with pytest.raises(ValueError, match="no parameters for the species pair"):
        BUCK_NACL.energy(Crystal(np.eye(3) * 5, [[0, 0, 0], [2.5, 0, 0]], ["Na", "K"]))
    x = np.array([[0, 0, 0], [np.nan, 0, 0]])
    with pytest.raises(ValueError, match="NaN"):
        MORSE_CU.energy_forces(Crystal(np.eye(3) * 5, x, ["Cu", "Cu"]))
    with pytest.raises(ValueError, match="pairs"):
        LennardJones(0.01, 3.4, cutoff=400.0).energy(fcc(5.26, "Ar"))
    with pytest.raises(ValueError, match="positive length"):
        Morse(1.0, 1.0, 2.0, cutoff=-1.0)
    with pytest.raises(ValueError, match="no cutoff"):
        Morse(1.0, 1.0, 2.0)
    with pytest.raises(ValueError, match="sigma"):
        LennardJones(0.01, 0.0, cutoff=5.0)
    with pytest.raises(ValueError, match="lacks"):
        LennardJones({("Ar", "Ar"): {"epsilon": 0.01}}, cutoff=5.0)
    with pytest.raises(ValueError, match="not both"):
        LennardJones({("Ar", "Ar"): (0.01, 3.4)}, 3.4, cutoff=5.0)
    with pytest.raises(ValueError, match="qpoints"):
        MORSE_CU.dynamical_matrices(fcc(3.615, "Cu"), [0.1, 0.2])
    with pytest.raises(ValueError, match="layout"):
        MORSE_CU.force_constants(fcc(3.615, "Cu"), layout="dense")


def test_exports():
    assert trajmodes.LennardJones is LennardJones and trajmodes.Morse is Morse and trajmodes.Buckingham is Buckingham
    assert "Morse" in dir(trajmodes)
