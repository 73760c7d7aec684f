"""Sound velocities, elastic constants (long-wave method) and Debye temperatures."""
import numpy as np
import pytest

from trajmodes import ForceConstants, Phonons
from trajmodes.phonons.harmonic.debye import debye_velocity, fibonacci_sphere, theta_elastic, theta_from_dos, theta_moments
from trajmodes.units import H_EV_PS
from trajmodes.phonons.harmonic.elastic import (bracket_tensor, christoffel_velocities, density, elastic_constants,
                               huang_residual)
from trajmodes.units import KB_EV
from tests.support.crystals import supercell
from tests.support.crystals import diamond_si
from tests.support.morse import morse_fc
from tests.support.phonopy_cases import CASES, phonopy_case

DIRS = np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1], [1, 2, 3]], dtype=float)


@pytest.fixture(scope="module")
def cu():
    prim, S, pot = CASES["Cu-444"]
    return phonopy_case(prim, S, **pot)[0]


@pytest.fixture(scope="module")
def si():
    """Diamond with stretched nearest-neighbour Morse bonds only: stable, with internal relaxation."""
    prim = diamond_si()
    sc = supercell(prim, np.diag([3, 3, 3]))
    return ForceConstants(morse_fc(sc, D0=2.0, alpha=1.5, r0=2.2, cutoff=3.0, nimg=1), sc, prim)


def test_cu_sound_equals_christoffel(cu):
    p = Phonons(cu)
    f0 = p.frequencies([0, 0, 0])[0]
    assert np.abs(f0).max() < 1e-5                      # three zero modes at Gamma (one-atom basis)
    v = p.sound_velocities(DIRS)
    C = elastic_constants(cu)
    # cubic: C11, C12, C44 only; pair potential, (near) stress-free: Huang's conditions hold
    assert np.allclose(C, C.T) and abs(C[0, 3]) < 1e-9 and np.allclose(np.diag(C)[:3], C[0, 0])
    assert huang_residual(cu) < 1e-10
    vc = christoffel_velocities(C, density(cu.primitive), DIRS)
    assert np.abs(v / vc - 1).max() < 1e-5
    # [100]: longitudinal sqrt(C11/rho), transverse sqrt(C44/rho); [110] TA1 sqrt((C11-C12)/2rho)
    rho = density(cu.primitive) * 1.66053906660e-27 * 1e30          # kg/m^3
    assert abs(v[0, 2] - np.sqrt(C[0, 0] * 1e9 / rho)) < 1e-4 * v[0, 2]
    assert abs(v[0, 0] - np.sqrt(C[3, 3] * 1e9 / rho)) < 1e-4 * v[0, 0]
    assert abs(v[1, 0] - np.sqrt((C[0, 0] - C[0, 1]) / 2 * 1e9 / rho)) < 1e-4 * v[1, 0]
    # Euler: n . v_group = phase velocity for the linear branches (degeneracy lifted along n)
    n = DIRS / np.linalg.norm(DIRS, axis=1)[:, None]
    for k in range(len(n)):
        gv = p.group_velocities(1e-4 * n[k] @ cu.primitive.cell.T, direction=n[k])[0, :3] @ n[k] * 100
        assert np.abs(np.sort(gv) / v[k] - 1).max() < 1e-5


def test_si_internal_relaxation(si):
    p = Phonons(si)
    f0 = p.frequencies([0, 0, 0])[0]
    assert np.abs(f0[:3]).max() < 1e-5 and f0[3:].min() > 1
    C, C0 = elastic_constants(si), elastic_constants(si, relaxed=False)
    assert C[3, 3] < C0[3, 3] - 1.0                      # relaxation softens C44 ...
    assert np.allclose(C[:3, :3], C0[:3, :3])            # ... but not C11, C12 (no internal strain)
    assert np.all(np.linalg.eigvalsh(C) > 0)             # mechanically stable
    v = p.sound_velocities(DIRS)
    assert np.abs(v / christoffel_velocities(C, density(si.primitive), DIRS) - 1).max() < 1e-5
    # the clamped-ion constants overestimate the transverse [100] velocity
    assert christoffel_velocities(C0, density(si.primitive), DIRS)[0, 0] > v[0, 0] * 1.05
    A = bracket_tensor(si)
    assert np.allclose(A, A.transpose(0, 1, 3, 2))


def test_debye_temperatures(cu):
    p = Phonons(cu)
    th, vd = theta_elastic(p, 1000)
    v = p.sound_velocities(fibonacci_sphere(1000))
    assert abs(debye_velocity(v) - vd) < 1e-9 * vd
    assert v.min() < vd < v.max() and 300 < th < 450
    # the DOS's low-frequency limit gives the same theta_D within the tetrahedron method's error (2 %)
    f = np.linspace(0.05, 2.5, 60)
    d = p.dos(mesh=(20, 20, 20), frequencies=f, projected=False)
    th_dos = theta_from_dos(f, d.total.values, 1, nu_max=2.5)
    assert abs(th_dos / th - 1) < 0.02
    # moment temperatures: a Debye spectrum gives theta_D for every k ...
    nu_d = 7.0
    nu = nu_d * ((np.arange(300000) + 0.5) / 300000) ** (1 / 3)
    t = theta_moments(nu[:, None], [-1, 1, 2, 4])
    assert np.allclose(t, H_EV_PS * nu_d / KB_EV, rtol=1e-4)
    # ... and Cu's approach the elastic value as k -> -3 (5 % at k = -2 on a 16^3 mesh: the mesh
    # undersamples the nu^-2-weighted low end), theta_D(2) above it (dispersion softens the top)
    fm = p.mesh_frequencies((16, 16, 16)).frequencies
    tk = theta_moments(fm, [-2, 2])
    assert abs(tk[0] / th - 1) < 0.05 and tk[1] > tk[0]
    with pytest.raises(ValueError):
        theta_moments(fm, -3)
