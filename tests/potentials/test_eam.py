"""EAM potentials (trajmodes.potentials.eam): LAMMPS file readers and splines, the reference calculator against
the real LAMMPS engine, and analytic force constants (Riffe, Christensen and Wilson, J. Phys.: Condens. Matter 30 (2018), eqs. 25,
31-34) against the sum rule, finite differences and phonopy finite displacements with LAMMPS forces."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.lammps_calc import lammps_energy_forces
from tests.support.paths import EXAMPLES
from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.geometry import pairs_within
from trajmodes.potentials.eam import EAM, interpolate



def _potentials() -> Path | None:
    try:
        import lammps
    except Exception:
        return None
    p = Path(lammps.__file__).parent / "share" / "lammps" / "potentials"
    return p if p.is_dir() else None


POT = _potentials()
needs_pot = pytest.mark.skipif(POT is None, reason="LAMMPS potential files (lammps package) not installed")


def fcc(a, n, species="Cu"):
    basis = np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]])
    g = np.array([[i, j, k] for i in range(n) for j in range(n) for k in range(n)])
    frac = (g[:, None, :] + basis[None]).reshape(-1, 3)
    sp = [species] * len(frac) if isinstance(species, str) else list(species) * len(g)
    return a * n * np.eye(3), frac * a, sp


# ------------------------------------------------------------------ splines and readers

def test_interpolate_reproduces_cubic_and_knots():
    x = np.linspace(0, 2, 41)
    y = 0.3 * x ** 3 - x ** 2 + 2 * x + 1
    s = interpolate(y, x[1] - x[0])
    np.testing.assert_allclose(s[:, 6], y)
    # interior knots: 4th-order slopes are exact for a cubic, so the spline is the cubic
    from trajmodes.potentials.eam import evaluate_spline
    xs = np.linspace(0.3, 1.6, 17)
    v, d1, d2 = evaluate_spline(s, 1 / (x[1] - x[0]), xs)
    np.testing.assert_allclose(v, 0.3 * xs ** 3 - xs ** 2 + 2 * xs + 1, rtol=1e-12)
    np.testing.assert_allclose(d1, 0.9 * xs ** 2 - 2 * xs + 2, rtol=1e-11)
    np.testing.assert_allclose(d2, 1.8 * xs - 2, rtol=1e-9, atol=1e-10)


def test_pairs_within_small_cell_counts_images():
    a = 3.615
    cell = a * np.array([[0, .5, .5], [.5, 0, .5], [.5, .5, 0]])
    i, j, d = pairs_within(cell, np.zeros((1, 3)), 1.01 * a / np.sqrt(2))
    assert len(i) == 12                               # 12 nearest neighbours, all images of atom 0
    i, j, d = pairs_within(cell, np.zeros((1, 3)), 1.01 * a)
    assert len(i) == 18


@needs_pot
@pytest.mark.parametrize("name,style", [("Cu_mishin1.eam.alloy", "eam/alloy"), ("Cu_u3.eam", "eam"),
                                        ("CuZr_mm.eam.fs", "eam/fs"), ("CuNi.eam.alloy", "eam/alloy")])
def test_readers(name, style):
    p = EAM(POT / name)
    assert p.style == style
    assert "Cu" in p.elements or p.style == "eam"
    assert p.cutoff > 3.0 and len(p.frho) == len(p.elements)


# ------------------------------------------------------------------ calculator vs LAMMPS

CASES = {
    # name: (style, files, elements, structure builder)
    "cu_mishin": ("eam/alloy", ["Cu_mishin1.eam.alloy"], ["Cu"], lambda: fcc(3.615, 3)),
    "cu_u3_funcfl": ("eam", ["Cu_u3.eam"], ["Cu"], lambda: fcc(3.615, 3)),
    "cuni_funcfl2": ("eam", ["Cu_u3.eam", "Ni_u3.eam"], ["Cu", "Ni"],
                     lambda: fcc(3.56, 3, ["Ni", "Cu", "Cu", "Cu"])),
    "ni3cu_L12_setfl": ("eam/alloy", ["CuNi.eam.alloy"], ["Ni", "Cu"],
                        lambda: fcc(3.56, 3, ["Cu", "Ni", "Ni", "Ni"])),
    "cuzr_fs": ("eam/fs", ["CuZr_mm.eam.fs"], ["Cu", "Zr"],
                lambda: fcc(3.8, 2, ["Zr", "Cu", "Cu", "Cu"])),
    # rho_NiAl != rho_AlNi in this file: checks which fs density goes to which atom
    "ni3al_fs_3elements": ("eam/fs", ["NiAlH_jea.eam.fs"], ["Ni", "Al"],
                           lambda: fcc(3.57, 3, ["Al", "Ni", "Ni", "Ni"])),
}


def _potential(style, files, elements):
    if style == "eam":
        return EAM([POT / f for f in files], species=elements)
    return EAM(POT / files[0])


@needs_pot
@pytest.mark.parametrize("case", list(CASES))
def test_energy_forces_match_lammps(case):
    style, files, elements, build = CASES[case]
    cell, x, sp = build()
    rng = np.random.default_rng(7)
    x = x + rng.uniform(-0.05, 0.05, x.shape)
    pot = _potential(style, files, elements)
    ef = pot.energy_forces(cell, x, sp)
    e, f = ef.energy, ef.forces
    el, fl = lammps_energy_forces(style, [str(POT / f) for f in files], elements, cell, x, sp)
    assert abs(e - el) <= 1e-8 * abs(el), (e, el)
    assert np.abs(f - fl).max() <= 1e-8 * np.abs(fl).max(), np.abs(f - fl).max()


@needs_pot
def test_fs_cross_densities_are_distinct():
    """NiAlH_jea.eam.fs has rho_NiAl != rho_AlNi, so the LAMMPS comparison above checks the index order."""
    pot = EAM(POT / "NiAlH_jea.eam.fs")
    assert np.abs(pot.rhor[0][1][:, 6] - pot.rhor[1][0][:, 6]).max() > 1e-3


# ------------------------------------------------------------------ force constants

def slab():
    """Ni3Cu L1_2 (001) slab, 2x2 conventional cells in-plane, 4 cells thick, 10 A of vacuum."""
    cell, x, sp = fcc(3.56, 1, ["Cu", "Ni", "Ni", "Ni"])
    g = np.array([[i, j, k] for i in range(2) for j in range(2) for k in range(4)])
    pos = (g[:, None, :] * 3.56 + x[None]).reshape(-1, 3)
    return np.diag([7.12, 7.12, 4 * 3.56 + 10.0]), pos, sp * len(g)


FC_CASES = {
    "cu_mishin_displaced": ("Cu_mishin1.eam.alloy", lambda: fcc(3.615, 2)),
    "ni3cu_L12": ("CuNi.eam.alloy", lambda: fcc(3.56, 2, ["Cu", "Ni", "Ni", "Ni"])),
    "ni3cu_slab": ("CuNi.eam.alloy", slab),
    "cuzr_fs": ("CuZr_mm.eam.fs", lambda: fcc(3.8, 2, ["Zr", "Cu", "Cu", "Cu"])),
    "ni3al_fs": ("NiAlH_jea.eam.fs", lambda: fcc(3.57, 2, ["Al", "Ni", "Ni", "Ni"])),
    "cuni_funcfl": (["Cu_u3.eam", "Ni_u3.eam"], lambda: fcc(3.56, 2, ["Ni", "Cu", "Cu", "Cu"])),
}


def _pot(files):
    if isinstance(files, list):
        return EAM([POT / f for f in files], species=[f.split("_")[0] for f in files])
    return EAM(POT / files)


def _fd_error(total, forces, x, atoms, steps=(1e-4, 1e-6, 1e-7)):
    """Smallest max |analytic - central difference| over the steps. The tabulated functions are C1
    cubic splines (second derivatives jump at knots, grids down to 7.6e-4 A), so a difference that
    straddles a knot sees the average second derivative; it converges as the step shrinks below the
    knot-crossing scale (Cu-Zr fs: 3e-2 at 1e-3 A, 2e-8 at 1e-7 A)."""
    return min(np.abs(total[atoms] - _fd_hessian(forces, x, h, atoms)).max() for h in steps)


def _fd_hessian(forces, x, h=1e-3, atoms=None):
    """-dF/dx by central differences, rows of ``atoms`` (default: all): (n_sel, N, 3, 3)."""
    atoms = range(len(x)) if atoms is None else atoms
    out = []
    for a in atoms:
        rows = []
        for c in range(3):
            xp, xm = x.copy(), x.copy()
            xp[a, c] += h
            xm[a, c] -= h
            rows.append(-(forces(xp) - forces(xm)) / (2 * h))   # d F_j / d x_ac -> (N, 3)
        out.append(np.array(rows).transpose(1, 0, 2))           # (N, 3a, 3b)
    return np.array(out)


@needs_pot
@pytest.mark.parametrize("case", list(FC_CASES))
def test_force_constants_sum_rule_symmetry_and_finite_differences(case):
    files, build = FC_CASES[case]
    pot = _pot(files)
    cell, x, sp = build()
    x = x + np.random.default_rng(3).uniform(-0.05, 0.05, x.shape)   # off equilibrium: F' terms matter
    parts = pot.force_constant_parts(cell, x, sp)
    total = parts.total
    scale = np.abs(total).max()
    for name, p in parts.as_dict().items():           # each part obeys the sum rule on its own
        assert np.abs(p.sum(axis=1)).max() <= 1e-12 * scale, name
        assert np.abs(p - p.transpose(1, 0, 3, 2)).max() <= 1e-12 * scale, name
    assert np.abs(parts.e3).max() > 1e-3 and np.abs(parts.e1).max() > 1e-3
    assert _fd_error(total, lambda y: pot.energy_forces(cell, y, sp).forces, x, [0, 1, 5]) < 1e-5


@needs_pot
@pytest.mark.parametrize("case", ["cu_mishin_displaced", "ni3cu_L12", "ni3cu_slab"])
def test_force_constants_match_lammps_finite_differences(case):
    files, build = FC_CASES[case]
    pot = _pot(files)
    cell, x, sp = build()
    x = x + np.random.default_rng(4).uniform(-0.05, 0.05, x.shape)
    elements = pot.elements
    total = pot.hessian(cell, x, sp)
    lam = lambda y: lammps_energy_forces(pot.style, [str(POT / files)], elements, cell, y, sp)[1]
    assert _fd_error(total, lam, x, [0, 2], steps=(1e-4, 1e-6)) < 1e-5


@needs_pot
def test_force_constants_object_layouts():
    pot = EAM(POT / "CuNi.eam.alloy")
    cell, x, sp = fcc(3.56, 2, ["Cu", "Ni", "Ni", "Ni"])
    sc = Crystal(cell, x, sp)
    full = pot.force_constants(sc)
    comp = pot.force_constants(sc, layout="compact")
    assert full.fc2.shape == (32, 32, 3, 3) and comp.fc2.shape == (4, 32, 3, 3)
    np.testing.assert_allclose(comp.full(), full.fc2, atol=1e-12)
    parts = pot.force_constant_contributions(sc, layout="compact")
    np.testing.assert_allclose(sum(parts[k].values for k in ("pair", "e1", "e2", "e3")), comp.fc2, atol=1e-12)
    assert full.asr_violation() < 1e-10


PHONOPY_CU = EXAMPLES / "fc" / "cu_eam"


@pytest.mark.slow
@needs_pot
@pytest.mark.skipif(not (PHONOPY_CU / "phonopy_params.yaml").exists(), reason="examples/fc/cu_eam missing")
def test_frequencies_vs_phonopy_finite_displacements():
    phonopy = pytest.importorskip("phonopy")
    from trajmodes.phonons.harmonic.phonons import Phonons
    ph = phonopy.load(PHONOPY_CU / "phonopy_params.yaml", produce_fc=True, log_level=0)
    s = ph.supercell
    sc = Crystal(s.cell, s.positions, s.symbols, masses=s.masses)
    prim = Crystal(ph.primitive.cell, ph.primitive.positions, ph.primitive.symbols, masses=ph.primitive.masses)
    fc = EAM(POT / "Cu_mishin1.eam.alloy").force_constants(sc, prim)
    q = np.array([[0, 0, 0], [0.5, 0, 0.5], [0.5, 0.5, 0.5], [0.1, 0.2, 0.3], [0.25, 0, 0.25]])
    ph.run_qpoints(q)
    ref = ph.qpoints.frequencies
    ours = Phonons(fc).frequencies(q)
    # phonopy's constants: +-0.01 A finite displacements -> O(h^2) anharmonic error of ~6e-4 THz
    err = np.abs(ours - ref).max()
    assert err < 1e-3, err
    # the same analytic constants through phonopy give the same frequencies as trajmodes
    ph.force_constants = fc.full()
    ph.run_qpoints(q)
    np.testing.assert_allclose(ours, ph.qpoints.frequencies, atol=1e-6)
    # phonopy's finite-displacement procedure with forces from our calculator: at 0.01 A it
    # reproduces the LAMMPS-made file (same forces), at 0.001 A it converges onto the analytic constants
    pot = EAM(POT / "Cu_mishin1.eam.alloy")
    for h, against, tol in [(0.01, ref, 1e-6), (0.001, ours, 2e-5)]:
        p2 = phonopy.Phonopy(ph.unitcell, supercell_matrix=ph.supercell_matrix, primitive_matrix=None)
        p2.generate_displacements(distance=h, is_plusminus=True)
        p2.forces = np.array([pot.energy_forces(c.cell, c.positions, c.symbols).forces
                              for c in p2.supercells_with_displacements])
        p2.produce_force_constants(calculate_full_force_constants=False, show_drift=False)
        p2.symmetrize_force_constants()
        p2.run_qpoints(q)
        assert np.abs(p2.qpoints.frequencies - against).max() < tol, h


# ------------------------------------------------------------------ normalisation and the one-atom cubic form

@needs_pot
@pytest.mark.parametrize("name,structure,species", [("Cu_mishin1.eam.alloy", "fcc", ["Cu"]),
                                                    ("CuNi.eam.alloy", "l12", ["Cu", "Ni"])])
def test_gauge_invariance_and_normalisation(name, structure, species):
    """Riffe et al. eqs. 35-40: F -> F + lam rho, phi -> phi - lam_a f - lam_b f leaves energy, forces and the
    total force constants unchanged; pair, e1, e2 move, e3 does not. Normalised: e1 = e2 = 0 and the
    effective pair part equals pair + e1 + e2 of any gauge."""
    from trajmodes.lattice.cubic import cubic_lattice
    pot = EAM(POT / name)
    a = 3.615 if structure == "fcc" else 3.55
    sc, _ = cubic_lattice(structure, a, 2, species, masses=[1.0] * len(species))
    x = sc.positions + np.random.default_rng(1).normal(scale=0.05, size=sc.positions.shape)
    lam = {el: 0.4 + 0.3 * k for k, el in enumerate(pot.elements)}
    g = pot.gauge_transformed(lam)
    ef = pot.energy_forces(sc.cell, x, sc.species)
    e0, f0 = ef.energy, ef.forces
    ef = g.energy_forces(sc.cell, x, sc.species)
    e1, f1 = ef.energy, ef.forces
    assert abs(e1 - e0) < 1e-10 * abs(e0) and np.abs(f1 - f0).max() < 1e-12
    p0, p1 = pot.force_constant_parts(sc.cell, x, sc.species), g.force_constant_parts(sc.cell, x, sc.species)
    assert np.abs(p1.total - p0.total).max() < 1e-12
    for k in ("pair", "e1", "e2"):
        assert np.abs(getattr(p1, k) - getattr(p0, k)).max() > 1e-2            # the split moves with the gauge
    assert np.abs(p1.e3 - p0.e3).max() < 1e-13         # the three-body part does not
    assert np.abs((p1.pair + p1.e1 + p1.e2) - (p0.pair + p0.e1 + p0.e2)).max() < 1e-12
    # normalised at the ideal crystal: F' = 0, so everything pair-like is in the effective pair potential
    nz = g.normalized(sc.cell, sc.positions, sc.species)
    assert np.abs(nz.local_terms(sc.cell, sc.positions, sc.species)[-1][1]).max() < 1e-14
    pn = nz.force_constant_parts(sc.cell, sc.positions, sc.species)
    pr = pot.force_constant_parts(sc.cell, sc.positions, sc.species)
    assert np.abs(pn.e1).max() < 1e-13 and np.abs(pn.e2).max() < 1e-13
    assert np.abs(pn.pair - (pr.pair + pr.e1 + pr.e2)).max() < 1e-12
    assert np.abs(pn.e3 - pr.e3).max() < 1e-13
    with pytest.raises(ValueError, match="different F'"):
        pot.normalized(sc.cell, x, sc.species)


@needs_pot
def test_effective_pair_potential_eq43():
    pot = EAM(POT / "Cu_mishin1.eam.alloy").gauge_transformed(0.3)
    r = np.linspace(2.2, 5.4, 9)
    from trajmodes.potentials.eam import evaluate_spline
    z = np.array(evaluate_spline(pot.z2r[0][0], pot.rdr, r))
    f = np.array(evaluate_spline(pot.rhor[0][0], pot.rdr, r))
    phi = z[0] / r - 2 * 0.3 * f[0]
    np.testing.assert_allclose(pot.effective_pair_potential(r, "Cu", "Cu", 0.7, 0.7)[0], phi + 2 * 0.7 * f[0],
                               rtol=1e-13, atol=1e-15)


@needs_pot
@pytest.mark.parametrize("lattice,a,n", [("fcc", 3.615, 4), ("bcc", 2.87, 5)])
def test_cubic_dynamical_matrix_equals_general_route(lattice, a, n):
    """Riffe et al. eqs. 44 + 48 (two lattice sums) against Phonons of the supercell force constants at q
    commensurate with the supercell (where the supercell sum over images is the exact lattice sum)."""
    from trajmodes.lattice.cubic import cubic_lattice
    from trajmodes.potentials.eam_cubic import cubic_dynamical_matrix
    from trajmodes.phonons.harmonic.phonons import Phonons
    pot = EAM(POT / "Cu_mishin1.eam.alloy")
    sc, prim = cubic_lattice(lattice, a, n, "Cu", masses=pot.masses)
    fc = pot.force_constants(sc, prim)
    q = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [1, 1, 0], [1 / n, 0, 0], [2 / n, 1 / n, 0], [3 / n, 2 / n, 1 / n]])
    D, Dep, De3 = cubic_dynamical_matrix(pot, lattice, a, q, parts=True)
    Dg = Phonons(fc).dynamical_matrix((q / a) @ prim.cell.T)
    assert np.abs(D - Dg).max() < 1e-10
    assert np.abs(D).max() > 0.1 and np.abs(De3).max() > 1e-4          # e3 is not negligible
    # the e3 part alone is the Fourier sum of the e3 force constants
    from trajmodes.forceconstants.model import ForceConstants
    e3 = pot.force_constant_contributions(sc, prim)["e3"].values
    fc3 = ForceConstants(e3, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s)
    assert np.abs(De3 - Phonons(fc3).dynamical_matrix((q / a) @ prim.cell.T)).max() < 1e-10
