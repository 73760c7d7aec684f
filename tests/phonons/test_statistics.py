"""Harmonic-oscillator statistics (trajmodes.phonons.harmonic.statistics): the thermodynamic identities, the classical limit of
the quantum functions, the limits T -> 0, the one ``occupation`` switch, and phonopy on the same frequencies."""
import warnings

import numpy as np
import pytest

from trajmodes.phonons.harmonic import statistics as st
from trajmodes.units import AMU_KG, AVOGADRO, EV_J, KB_EV, THZ_EV

NU = np.array([[0.05, 0.7, 3.0], [5.0, 11.0, 21.0]])                  # THz
TS = np.array([5.0, 30.0, 300.0, 3000.0])                             # K
FUNCS = (st.mode_energy, st.mode_free_energy, st.mode_entropy, st.mode_heat_capacity)


@pytest.mark.parametrize("occupation", st.OCCUPATIONS)
def test_free_energy_is_energy_minus_temperature_times_entropy(occupation):
    U, F, S, C = (f(NU, TS, occupation) for f in FUNCS)
    assert U.shape == F.shape == S.shape == C.shape == (len(TS),) + NU.shape
    T = TS[:, None, None]
    assert np.allclose(F, U - T * S, rtol=1e-12, atol=1e-15)
    # S = -dF/dT and C = dU/dT = T dS/dT, by central differences
    h = 1e-4
    dU, dF, dS = ((f(NU, TS + h, occupation) - f(NU, TS - h, occupation)) / (2 * h) for f in FUNCS[:3])
    tol = dict(rtol=1e-6, atol=1e-8 * KB_EV)                            # round-off of the differences
    assert np.allclose(-dF, S, **tol)
    assert np.allclose(dU, C, **tol)
    assert np.allclose(T * dS, C, **tol)


def test_classical_functions():
    x = NU * THZ_EV / (KB_EV * TS[:, None, None])
    kT = KB_EV * TS[:, None, None]
    assert np.allclose(st.occupations(NU, TS, "classical"), 1 / x, rtol=1e-15)
    assert np.array_equal(st.mode_energy(NU, TS, "classical"), np.broadcast_to(kT, x.shape))
    assert np.allclose(st.mode_free_energy(NU, TS, "classical"), kT * np.log(x), rtol=1e-15)
    assert np.allclose(st.mode_entropy(NU, TS, "classical"), KB_EV * (1 - np.log(x)), rtol=1e-15)
    assert np.all(st.mode_heat_capacity(NU, TS, "classical") == KB_EV)
    assert np.array_equal(st.pair_occupations(NU, TS, "classical"), st.occupations(NU, TS, "classical"))


def test_quantum_functions_tend_to_the_classical_ones():
    """At x = h nu / k T << 1: n = 1/x - 1/2 + x/12, U = kT (1 + x^2/12), F = F_cl + kT x^2/24, S = S_cl - k x^2/24,
    C = k (1 - x^2/12), sqrt(n (n + 1)) = 1/x - x/24, each to O(x^4) relative to its leading term."""
    nu = np.array([1e-3, 1e-2, 0.1])
    T = 1e4
    x = nu * THZ_EV / (KB_EV * T)
    kT = KB_EV * T
    q = {f: f(nu, T)[0] for f in FUNCS}
    c = {f: f(nu, T, "classical")[0] for f in FUNCS}
    rel = x ** 4 + 1e-13
    assert np.all(np.abs(st.occupations(nu, T)[0] - (1 / x - 0.5 + x / 12)) <= rel / x)
    assert np.all(np.abs(q[st.mode_energy] - kT * (1 + x * x / 12)) <= rel * kT)
    assert np.all(np.abs(q[st.mode_free_energy] - (c[st.mode_free_energy] + kT * x * x / 24)) <= rel * kT)
    assert np.all(np.abs(q[st.mode_entropy] - (c[st.mode_entropy] + KB_EV * x * x / 24)) <= rel * KB_EV
                  * np.abs(np.log(x)))
    assert np.all(np.abs(q[st.mode_heat_capacity] - KB_EV * (1 - x * x / 12)) <= rel * KB_EV)
    assert np.all(np.abs(st.pair_occupations(nu, T)[0] - (1 / x - x / 24)) <= rel / x)
    # and the quantum ones are sqrt(n (n + 1)), h nu (n + 1/2), k x^2 n (n + 1) everywhere
    n = st.occupations(NU, TS)
    xs = NU * THZ_EV / (KB_EV * TS[:, None, None])
    assert np.allclose(st.pair_occupations(NU, TS), np.sqrt(n * (n + 1)), rtol=1e-13)
    assert np.allclose(st.mode_energy(NU, TS), NU * THZ_EV * (n + 0.5), rtol=1e-13)
    assert np.allclose(st.mode_heat_capacity(NU, TS), KB_EV * xs * xs * n * (n + 1), rtol=1e-12)


def test_zero_temperature_and_cutoff():
    nu = np.array([-2.0, 0.0, 1e-5, 4.0])
    T = [0.0, 100.0]
    e = 4.0 * THZ_EV
    for occ in st.OCCUPATIONS:
        for f in FUNCS + (st.occupations, st.pair_occupations):
            v = f(nu, T, occ)
            assert v.shape == (2, 4) and np.all(v[:, :2] == 0)        # imaginary and zero modes carry nothing
        assert np.all(st.mode_heat_capacity(nu, T, occ, cutoff_frequency=1e-4)[:, 2] == 0)
        assert np.all(st.mode_entropy(nu, 0.0, occ) == 0) and np.all(st.mode_heat_capacity(nu, 0.0, occ) == 0)
        assert np.all(st.occupations(nu, 0.0, occ) == 0)
    ground = {"quantum": e / 2, "classical": 0.0}
    for occ, g in ground.items():
        assert st.mode_energy(nu, 0.0, occ)[0, 3] == g and st.mode_free_energy(nu, 0.0, occ)[0, 3] == g
    # deep in the quantum regime: nothing overflows, n and C vanish, F = U = h nu / 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        big = [f(np.array([20.0]), 1e-3) for f in FUNCS + (st.occupations, st.pair_occupations)]
    assert big[0][0, 0] == big[1][0, 0] == 20.0 * THZ_EV / 2 and big[2][0, 0] == big[3][0, 0] == 0
    assert big[4][0, 0] == big[5][0, 0] == 0


def test_occupation_switch():
    from trajmodes.phonons.harmonic.thermal import harmonic_thermodynamics, mode_heat_capacities
    with pytest.raises(ValueError, match="occupation"):
        st.mode_entropy(NU, TS, "boltzmann")
    with pytest.raises(ValueError, match="occupation"):
        st.occupations(NU, TS, "Quantum")
    assert st.check_occupation("classical") == "classical"
    with pytest.raises(ValueError, match="occupation must be 'quantum' or 'classical', not True"):
        harmonic_thermodynamics(NU, TS, True)                           # a flag is not a statistics
    with pytest.raises(TypeError, match="classical"):
        harmonic_thermodynamics(NU, TS, classical=True)                 # occupation= is the one keyword
    for occ in st.OCCUPATIONS:
        assert np.array_equal(mode_heat_capacities(NU, TS, occ, 0.0), st.mode_heat_capacity(NU, TS, occ))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        harmonic_thermodynamics(NU, TS, "classical")


@pytest.mark.parametrize("occupation", st.OCCUPATIONS)
def test_against_phonopy(occupation):
    """Mesh sums of the functions on phonopy's own frequencies equal its thermal properties (same constants), and
    the occupations its Bose-Einstein distribution."""
    pytest.importorskip("phonopy")
    from phonopy.phonon.thermal_properties import bose_einstein_dist
    from phonopy.physical_units import set_physical_units
    from tests.support.phonopy_cases import CASES, phonopy_case
    prim, S, pot = CASES["Si-333"]
    _, ph = phonopy_case(prim, S, **pot)
    mesh, T = (6, 6, 6), np.array([10.0, 100.0, 300.0, 1000.0])
    ph.run_mesh(mesh, is_mesh_symmetry=False, is_gamma_center=True)
    nu = ph.mesh.frequencies.copy()
    gamma = np.flatnonzero(np.abs(ph.mesh.qpoints).sum(axis=1) == 0)[0]
    nu[gamma, :3] = 0.0                                                 # phonopy's exclude_gamma_acoustic
    set_physical_units(KB_J=KB_EV * EV_J, PlanckConstant=6.62607015e-34 / EV_J, Avogadro=AVOGADRO,
                       AMU=AMU_KG, EV=EV_J)                             # CODATA 2018, as trajmodes
    try:
        tp = ph.run_thermal_properties(temperatures=T, classical=occupation == "classical",
                                       exclude_gamma_acoustic=True)
        be = bose_einstein_dist(np.where(nu > 0, nu, 1.0)[None], T[:, None, None])   # (its n at 0 is nan)
    finally:
        set_physical_units()
    per_mol = EV_J * AVOGADRO / len(nu)                                 # eV per mesh -> J/mol per cell
    F = st.mode_free_energy(nu, T, occupation).sum(axis=(1, 2)) * per_mol / 1000
    S = st.mode_entropy(nu, T, occupation).sum(axis=(1, 2)) * per_mol
    C = st.mode_heat_capacity(nu, T, occupation).sum(axis=(1, 2)) * per_mol
    assert np.allclose(F, tp.free_energy, rtol=1e-9, atol=0)
    assert np.allclose(S, tp.entropy, rtol=1e-9, atol=0)
    assert np.allclose(C, tp.heat_capacity, rtol=1e-9, atol=0)
    if occupation == "quantum":
        ok = nu > 0
        assert np.allclose(st.occupations(nu, T)[:, ok], be[:, ok], rtol=1e-12, atol=0)
