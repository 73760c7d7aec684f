"""Thermal properties against phonopy on the same mesh, with phonopy set to the same constants."""
import numpy as np
import pytest

from trajmodes import Phonons
from trajmodes.phonons.harmonic.thermal import mesh_thermodynamics
from trajmodes.units import AMU_KG, AVOGADRO, EV_J, KB_EV
from tests.support.phonopy_cases import CASES, phonopy_case

phonopy = pytest.importorskip("phonopy")
MESH = (8, 8, 8)
T = np.array([0.0, 1.0, 10.0, 50.0, 100.0, 300.0, 1000.0, 3000.0])


def _phonopy_tp(ph, classical):
    from phonopy.physical_units import set_physical_units
    ph.run_mesh(MESH, is_mesh_symmetry=False, is_gamma_center=True)
    set_physical_units(KB_J=KB_EV * EV_J, PlanckConstant=6.62607015e-34 / EV_J, Avogadro=AVOGADRO,
                       AMU=AMU_KG, EV=EV_J)                            # CODATA 2018, as trajmodes
    try:
        tp = ph.run_thermal_properties(temperatures=T, classical=classical, exclude_gamma_acoustic=True)
        return (tp.free_energy, tp.entropy, tp.heat_capacity, tp.zero_point_energy)
    finally:
        set_physical_units()                                           # phonopy's defaults back


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("classical", [False, True])
def test_against_phonopy(name, classical):
    prim, S, pot = CASES[name]
    fc, ph = phonopy_case(prim, S, **pot)
    F, Sp, Cv, zpe = _phonopy_tp(ph, classical)
    occupation = "classical" if classical else "quantum"
    d = Phonons(fc).thermal_properties(T, MESH, occupation)
    pos = T > 0
    rel = lambda a, b: np.abs(a - b) / np.maximum(np.abs(b), 1e-30)    # noqa: E731
    # measured: < 1e-10 relative (quantum and classical)
    at = pos if classical else slice(None)                              # quantum F(0) is the ZPE
    assert rel(d.free_energy.values[at], F[at]).max() < 1e-6
    assert rel(d.entropy.values[pos], Sp[pos]).max() < 1e-6
    assert rel(d.heat_capacity.values[pos], Cv[pos]).max() < 1e-6
    assert abs(float(d.zero_point_energy) - zpe) <= 1e-6 * max(abs(zpe), 1e-12)
    U = d.internal_energy.values
    assert rel(U[pos], F[pos] + T[pos] * Sp[pos] / 1000).max() < 1e-6
    assert np.allclose(mesh_thermodynamics(Phonons(fc).dm, T, MESH, occupation).free_energy * 96.48533212331,
                       d.free_energy, rtol=1e-9)


def test_limits():
    prim, S, pot = CASES["Cu-nondiag"]
    fc, _ = phonopy_case(prim, S, **pot)
    p = Phonons(fc)
    kb = KB_EV * EV_J * AVOGADRO                                        # J/(K mol)
    q = p.thermal_properties([0.0, 1e5], MESH)
    c = p.thermal_properties([300.0, 1e5], MESH, occupation="classical")
    nmodes = (3 * np.prod(MESH) - 3) / np.prod(MESH)                    # Gamma acoustic left out
    assert np.isclose(q.heat_capacity[1], nmodes * kb, rtol=1e-6)       # Dulong-Petit
    assert np.allclose(c.heat_capacity, nmodes * kb, rtol=1e-12)
    assert q.entropy[0] == 0 and q.heat_capacity[0] == 0
    assert np.isclose(q.free_energy[0], q.zero_point_energy) and float(c.zero_point_energy) == 0
    assert np.isclose(q.internal_energy[1], c.internal_energy[1], rtol=1e-6)
    assert q.heat_capacity.attrs["units"] == "J/(K mol)" and q.free_energy.attrs["units"] == "kJ/mol"
