"""The third-order free energy: F_3ph (trajmodes.phonons.thermodynamics.anharmonic_free_energy) against independent routes on
small crystals with analytic constants, <U_3> of the fit's blocks against the frames, and the variables of
tdep_free_energy.

Oracles:

- classical: on the q-points commensurate with a supercell, the bubble is the second cumulant of U_3 = 1/6 Psi u u u
  in the classical harmonic ensemble of that supercell, F_3ph = -(beta / 2) <U_3^2>_h, and <U_3^2>_h follows from
  Wick's theorem in Cartesian space with the covariance <u u^T> = k_B T Phi^+ (no q-points, eigenvectors or
  occupations): 6 full pairings of the two U_3, and 9 that close a pair inside each (the q = 0 loop, which must
  vanish here by symmetry);
- quantum: the same supercell's normal modes and the imaginary-time integral -1/2 int_0^beta <H_3(tau) H_3(0)> d tau,
  done by Gauss-Legendre quadrature of the product of three phonon propagators (no closed form of the occupation
  factors), and at T = 0 second-order perturbation theory of the ground state.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from trajmodes import Crystal, ForceConstants
from trajmodes.forceconstants.fit import EffectiveForceConstants
from trajmodes.phonons.thermodynamics.anharmonic_free_energy import cubic_free_energy, free_internal_coordinates, quantum_bracket
from trajmodes.phonons.thermodynamics.free_energy import tdep_free_energy
from trajmodes.phonons.harmonic.phonons import Phonons
from trajmodes.phonons.anharmonic.interaction import HBAR_EV_PS
from trajmodes.phonons.harmonic.thermal import mesh_thermodynamics
from trajmodes.potentials.pair import Morse
from trajmodes.potentials.threebody import StillingerWeber
from trajmodes.units import AMU_A2_PS2_EV, KB_EV, THZ

from tests.support.crystals import CU, diamond_si, supercell
from tests.support.morse import morse_fc, pair_fc3
from tests.support.standin import model_forces

SW_SI = StillingerWeber({("Si", "Si", "Si"): [2.1683, 2.0951, 1.80, 21.0, 1.20, -1 / 3, 7.049556277, 0.6022245584,
                                              4.0, 0.0, 0.0]})
MORSE_CU = Morse(D0=0.3429, alpha=1.3588, r0=2.866, cutoff=5.5)
#: The strengths take their frequencies from phonopy's conversion factor (units.THZ), 1.2e-7 below the CODATA value
#: 1 / (2 pi sqrt(amu A^2 / eV ps^2)) that the mass weighting uses: the classical F_3ph, proportional to nu^-6,
#: carries (CODATA / THZ)^6 - 1 = 7.4e-7 of that inconsistency, which the comparisons take out
THZ_CODATA = 1 / (2 * np.pi * np.sqrt(AMU_A2_PS2_EV))

CASES = {     # name: (primitive, supercell matrix, potential)
    "fcc_morse_333": (CU, np.diag([3, 3, 3]), MORSE_CU),
    "si_sw_222": (diamond_si(), np.diag([2, 2, 2]), SW_SI),
    "si_sw_cubic": (diamond_si(), np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]]), SW_SI),    # a generalised grid
}


@pytest.fixture(scope="module", params=list(CASES))
def crystal(request):
    prim, S, pot = CASES[request.param]
    sc = supercell(prim, S)
    fc = pot.force_constants3(sc, prim, layout="full")
    return request.param, fc, S


def _full_fc3(fc) -> np.ndarray:
    """Psi (3N, 3N, 3N) in eV/A^3 from the compact fc3 by lattice translation."""
    idx = np.arange(fc.n_atoms)
    cols = fc.compact_columns(idx[:, None], idx[None, :])
    k = fc.smap.atom
    psi = fc.fc3[k[:, None, None], cols[:, :, None], cols[:, None, :]]           # (N, N, N, 3, 3, 3)
    n = 3 * fc.n_atoms
    return psi.transpose(0, 3, 1, 4, 2, 5).reshape(n, n, n)


def _fc2_matrix(fc) -> np.ndarray:
    n = 3 * fc.n_atoms
    return fc.full().transpose(0, 2, 1, 3).reshape(n, n)


def _wick_u3_squared(fc, T):
    """(<U_3^2> from the 6 cross pairings, the 9 with a pair closed inside each U_3), eV^2, classical harmonic
    ensemble of the supercell at T."""
    C = KB_EV * T * np.linalg.pinv(_fc2_matrix(fc), rcond=1e-10, hermitian=True)
    psi = _full_fc3(fc)
    X = np.einsum("ijk,kn->ijn", psi, C, optimize=True)
    X = np.einsum("ijn,jm->imn", X, C, optimize=True)
    X = np.einsum("imn,il->lmn", X, C, optimize=True)
    v = np.einsum("ijk,jk->i", psi, C)
    return 6 * np.sum(X * psi) / 36, 9 * (v @ C @ v) / 36


@pytest.mark.parametrize("T", [300.0, 1000.0])
def test_classical_bubble_is_the_second_cumulant_of_u3(crystal, T):
    """F_3ph (classical) on the supercell's commensurate grid = -(beta / 2) <U_3^2>_h per primitive cell, with
    <U_3^2>_h from Wick's theorem in Cartesian space (no q-space), to round-off; the q = 0 loop vanishes."""
    name, fc, S = crystal
    cross, loop = _wick_u3_squared(fc, T)
    n_cells = fc.n_atoms / fc.n_prim
    exact = -(cross + loop) / (2 * KB_EV * T) / n_cells
    got = float(cubic_free_energy(fc, T, S, "classical")[0]) * (THZ / THZ_CODATA) ** 6
    assert abs(loop) < 1e-12 * abs(cross)
    assert exact < 0
    assert got == pytest.approx(exact, rel=1e-10), name


def _supercell_modes(fc):
    """Frequencies omega (1/ps, phonopy's conversion, as the strengths use) and mass-weighted fc3 in the normal
    modes of the whole supercell, eV/(A^3 amu^3/2); the three translations left out."""
    m = np.repeat(fc.supercell.masses, 3)
    lam, e = np.linalg.eigh(_fc2_matrix(fc) / np.sqrt(m[:, None] * m[None, :]))
    keep = lam > 1e-6 * lam.max()
    omega = 2 * np.pi * THZ * np.sqrt(lam[keep])
    w = e[:, keep] / np.sqrt(m)[:, None]
    psi = np.einsum("ijk,ia,jb,kc->abc", _full_fc3(fc), w, w, w, optimize=True)
    return omega, psi


def _imaginary_time_bubble(fc, T, n_nodes=64):
    """-1/2 int_0^beta <H_3(tau) H_3(0)> d tau per primitive cell (eV): the six pairings of two H_3 = 1/6 psi Q Q Q
    with <Q(tau) Q(0)> = hbar / (2 omega) [(n + 1) e^{-E tau} + n e^{E tau}] (amu A^2), by Gauss-Legendre quadrature
    over tau in [0, beta] (1/eV); at T = 0 the ground state's second-order energy, the matrix elements
    <abc|H_3|0> = psi_abc sqrt(prod hbar / 2 omega) of three distinct modes."""
    omega, psi = _supercell_modes(fc)
    E = HBAR_EV_PS * omega
    amp = HBAR_EV_PS / (2 * omega) / AMU_A2_PS2_EV                                 # hbar / 2 omega in amu A^2
    p2 = psi ** 2
    if T == 0:                      # Rayleigh-Schroedinger: -sum_{a<b<c} |<abc|H_3|0>|^2 / (E_a + E_b + E_c)
        return -np.einsum("abc,a,b,c->", p2 / (E[:, None, None] + E[None, :, None] + E[None, None, :]),
                          amp, amp, amp) / 6 / (fc.n_atoms / fc.n_prim)
    else:
        beta = 1 / (KB_EV * T)
        n = 1 / np.expm1(beta * E)
        x, wx = np.polynomial.legendre.leggauss(n_nodes)
        tau, wt = beta * (x + 1) / 2, wx * beta / 2
        D = amp[None, :] * ((n + 1)[None, :] * np.exp(-np.outer(tau, E)) + n[None, :] * np.exp(np.outer(tau, E)))
        total = sum(w * np.einsum("abc,a,b,c->", p2, d, d, d, optimize=True) for w, d in zip(wt, D))
    return -total / 12 / (fc.n_atoms / fc.n_prim)


@pytest.mark.parametrize("T", [0.0, 150.0, 600.0])
def test_quantum_bubble_is_the_imaginary_time_integral(T):
    """F_3ph (quantum) of Si SW on the grid of its 8-atom cube = the imaginary-time integral over the cube's own
    normal modes (quadrature of the propagators, no occupation algebra), and at T = 0 the second-order ground-state
    energy -(1/6) sum psi^2 prod(hbar / 2 omega) / (E + E' + E'') (every ordered triple of modes)."""
    prim, S, pot = CASES["si_sw_cubic"]
    fc = pot.force_constants3(supercell(prim, S), prim, layout="full")
    got = float(cubic_free_energy(fc, T, S, "quantum")[0])
    assert got == pytest.approx(_imaginary_time_bubble(fc, T), rel=1e-10)


def test_quantum_approaches_classical_when_hot():
    """Quantum / classical - 1 shrinks towards 0 as T grows (faster than 1/T), and the classical F_3ph is T^2."""
    prim, S, pot = CASES["si_sw_222"]
    fc = pot.force_constants3(supercell(prim, S), prim, layout="full")
    T = np.array([300.0, 1000.0, 3000.0, 1e4, 1e5])
    q = cubic_free_energy(fc, T, S, "quantum").values
    c = cubic_free_energy(fc, T, S, "classical").values
    rel = q / c - 1
    assert np.all(np.diff(np.abs(rel)) < 0) and np.all(rel[1:] * T[1:] < rel[:-1] * T[:-1])
    assert abs(rel[-1]) < 1e-8
    np.testing.assert_allclose(c / T ** 2, c[0] / T[0] ** 2, rtol=1e-12)
    assert float(cubic_free_energy(fc, 0.0, S, "classical")[0]) == 0.0


def test_bracket_has_no_pole_where_energies_match():
    """The difference terms vanish with their denominators: B is smooth through E'' = E + E' (no broadening)."""
    e1, e2, kT = 0.011, 0.017, 0.025
    n = lambda e: 1 / np.expm1(e / kT)                                              # noqa: E731
    e3 = e1 + e2 + np.array([-1e-3, -1e-7, -1e-12, 0.0, 1e-12, 1e-7, 1e-3])
    B = quantum_bracket(e1, e2, e3, n(e1), n(e2), n(e3), kT)
    assert np.isfinite(B).all()
    np.testing.assert_allclose(B[1:-1], B[3], rtol=1e-5)
    assert abs(B[0] - B[3]) < 0.2 * abs(B[3]) and abs(B[-1] - B[3]) < 0.2 * abs(B[3])


def test_free_internal_coordinates_are_named():
    """The q = 0 loop left out vanishes by symmetry in fcc and diamond; wurtzite's atoms (site symmetry 3m) have a
    free coordinate along c, and F_3ph warns about it."""
    assert len(free_internal_coordinates(CU)) == 0 and len(free_internal_coordinates(diamond_si())) == 0
    a, c, u = 3.25, 5.2, 0.38
    cell = np.array([[a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, c]])
    frac = np.array([[1 / 3, 2 / 3, 0], [2 / 3, 1 / 3, 0.5], [1 / 3, 2 / 3, u], [2 / 3, 1 / 3, 0.5 + u]])
    assert free_internal_coordinates(Crystal(cell, frac @ cell, ["Zn", "Zn", "O", "O"])).tolist() == [0, 1, 2, 3]


def test_refuses_constants_without_fc3():
    prim, S, pot = CASES["si_sw_cubic"]
    fc = pot.force_constants(supercell(prim, S), prim)
    with pytest.raises(ValueError, match="third-order"):
        cubic_free_energy(fc, 300.0, S)
    with pytest.raises(ValueError, match="occupation"):
        cubic_free_energy(pot.force_constants3(supercell(prim, S), prim), 300.0, S, "boltzmann")


# -- <U_3> from the fit's blocks, and the variables of tdep_free_energy -------------------------------------------

@pytest.fixture(scope="module")
def cubic_crystal():
    """fcc Morse, 4 x 4 x 4 primitive cells: fc2 within 4.7 A, fc3 of the first neighbours; frames with exact forces
    f = -Phi u - 1/2 Psi u u and energies E0 + 1/2 u Phi u + 1/6 Psi u u u."""
    sc = supercell(CU, np.diag([4, 4, 4]))
    Phi = morse_fc(sc, cutoff=4.7, nimg=1)
    fc = ForceConstants(Phi, sc, CU, fc3=pair_fc3(sc, CU, cutoff=2.9, nimg=1))
    Psi = _full_fc3(fc).reshape(sc.n_atoms, 3, sc.n_atoms, 3, sc.n_atoms, 3).transpose(0, 2, 4, 1, 3, 5)
    rng = np.random.default_rng(11)
    u = rng.normal(0.0, 0.08, (120, sc.n_atoms, 3))
    u -= u.mean(axis=1, keepdims=True)
    f = model_forces(u, Phi, Psi)
    e0 = -3.5 * sc.n_atoms
    u3 = np.einsum("ijlabc,tia,tjb,tlc->t", Psi, u, u, u, optimize=True) / 6
    e = e0 + 0.5 * np.einsum("tia,ijab,tjb->t", u, Phi, u, optimize=True) + u3
    return dict(sc=sc, u=u, f=f, e=e)


def _fit(c, **kw):
    kw = dict(dict(cutoff2=4.8, cutoff3=3.0, folds=4, segments=20), **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EffectiveForceConstants(**kw).fit_arrays(c["sc"], c["u"], c["f"], energies=c["e"])


@pytest.mark.parametrize("mode", ["sequential", "simultaneous"])
def test_cubic_energy_from_the_blocks(cubic_crystal, mode):
    """energies_["cubic"] (from A'u of the fit's own pass) = the mean over the frames of 1/6 Psi u u u with the
    fitted Psi summed directly on the frames; every bootstrap resample has one, with an error bar."""
    c = cubic_crystal
    est = _fit(c, mode=mode)
    psi = _full_fc3(est.force_constants_)
    u = c["u"].reshape(len(c["u"]), -1)
    direct = np.mean(np.einsum("ijk,ti,tj,tk->t", psi, u, u, u, optimize=True)) / 6
    assert est.energies_["cubic"] == pytest.approx(direct, rel=1e-10)
    assert abs(direct) > 1e-3
    est.bootstrap(n_resamples=24)
    s = est.energies_samples_["cubic"]
    assert s.shape == (24,) and np.isfinite(s).all() and est.energies_err_["cubic"] > 0
    assert "cubic" not in _fit(c, cutoff3=None).energies_


def test_tdep_free_energy_carries_the_correction(cubic_crystal):
    """With fc3: free_energy_corrected = U_0 + F_harm - <U_3> + F_3ph with F_3ph that of cubic_free_energy, every
    old variable as before, quantum_correction = F_harm(quantum) - F_harm(classical); without fc3 the correction is
    absent and the attributes say why."""
    c = cubic_crystal
    est = _fit(c, mode="simultaneous")
    n_cells = c["sc"].n_atoms
    T, mesh = 300.0, (6, 6, 6)
    for occupation in ("classical", "quantum"):
        ds = tdep_free_energy(est, T, mesh=mesh, occupation=occupation, cubic_mesh=4, cubic_resamples=6)
        f3 = float(cubic_free_energy(est.force_constants_, T, 4, occupation)[0])
        ph = Phonons(est.harmonic_force_constants_)
        fq, fc_ = (float(mesh_thermodynamics(ph.dm, [T], mesh, occ).free_energy[0]) for occ in ("quantum", "classical"))
        assert float(ds.cubic_free_energy) == pytest.approx(f3, rel=1e-12)
        assert float(ds.cubic_energy) == pytest.approx(est.energies_["cubic"] / n_cells, rel=1e-12)
        assert float(ds.anharmonic_correction) == pytest.approx(f3 - float(ds.cubic_energy), rel=1e-12)
        assert float(ds.free_energy_corrected) == pytest.approx(
            float(ds.baseline_energy) + float(ds.harmonic_free_energy) - float(ds.cubic_energy) + f3, rel=1e-12)
        assert float(ds.free_energy) == pytest.approx(float(ds.baseline_energy) + float(ds.harmonic_free_energy),
                                                      rel=1e-14)
        assert float(ds.quantum_correction) == pytest.approx(fq - fc_, rel=1e-12) and fq > fc_
        for k in ("cubic_energy", "cubic_free_energy", "anharmonic_correction", "free_energy_corrected",
                  "quantum_correction", "free_energy"):
            assert np.isfinite(float(ds[k + "_err"])) and float(ds[k + "_err"]) > 0, k
        assert "lower bound" in ds.free_energy.attrs["long_name"]
        assert ds.attrs["occupation"] == occupation
        assert ("renormalised by classical MD" in ds.attrs["statistics"]) == (occupation == "quantum")
    plain = tdep_free_energy(_fit(c, cutoff3=None), T, mesh=mesh, occupation="classical", errors=False)
    assert "free_energy_corrected" not in plain and "cubic_energy" not in plain
    assert "third-order" in plain.attrs["anharmonic_correction"]
    assert "quantum_correction" in plain
