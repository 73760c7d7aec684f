"""Three-body potentials (trajmodes.potentials.threebody): the chain rule of M. B. Taylor, N. L. Allan,
J. A. O. Bruno and G. D. Barrera, Phys. Rev. B 59, 353 (1999) (eqs. 14-21, Z functions of eqs. 59-65) against central
finite differences, Stillinger-Weber and Axilrod-Teller-Muto against the real LAMMPS engine (``pair_style sw``,
``atm``), and the lattice sums built on their terms (force constants, dynamical matrices, strain derivatives)."""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from tests.support.crystals import diamond_si, supercell
from tests.support.lammps_calc import lammps_static
from tests.support.lammps_md import find_potential
from trajmodes.io.potentials.sw import read_sw
from trajmodes.lattice.crystal import Crystal
from trajmodes.potentials.jets import Jet
from trajmodes.potentials.threebody import AxilrodTellerMuto, ExponentialAngle, HarmonicAngle, StillingerWeber
from trajmodes.potentials.triplets import angle_square as _angle_square, triplets, zeta_derivatives


_SI_SW = find_potential("Si.sw")                  # the lammps package's share/lammps/potentials
POT = None if _SI_SW is None else _SI_SW.parent
needs_pot = pytest.mark.skipif(POT is None, reason="LAMMPS potential files (lammps package) not installed")

# a two-element file exercising every branch of LAMMPS' parameter handling: q != 0, tol > 0 with gamma >= 1 (Si-Si)
# and gamma < 1 (Si-Ge, tol clamped to 0.01), distinct lambda epsilon and cos theta0 for every vertex/end triplet
SIGE_SW = """\
# DATE: 2025-01-01 UNITS: metal CONTRIBUTOR: trajmodes tests (made-up parameters)
# eps sigma a lambda gamma costheta0 A B p q tol
Si Si Si 2.1683 2.0951 1.80 21.0 1.20 -0.333333333333
         7.049556277 0.6022245584 4.0 0.0 0.005
Ge Ge Ge 1.93 2.181 1.80 31.0 1.20 -0.3 7.049556277 0.6022245584 4.0 0.0 0.0
Si Ge Ge 2.05 2.138 1.80 25.0 0.9 -0.31 6.8 0.63 4.0 1.0 0.02
Ge Si Si 2.05 2.138 1.80 27.0 0.9 -0.35 6.8 0.63 4.0 1.0 0.02
Si Si Ge 2.10 0.0 0.0 23.0 0.0 -0.32 0.0 0.0 0.0 0.0 0.0
Si Ge Si 2.10 0.0 0.0 23.0 0.0 -0.32 0.0 0.0 0.0 0.0 0.0
Ge Ge Si 1.99 0.0 0.0 29.0 0.0 -0.34 0.0 0.0 0.0 0.0 0.0
Ge Si Ge 1.99 0.0 0.0 29.0 0.0 -0.34 0.0 0.0 0.0 0.0 0.0
"""


@pytest.fixture(scope="module")
def sige_file(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("sw") / "SiGe.sw"
    p.write_text(SIGE_SW)
    return p


def _sw_si():
    return StillingerWeber.from_lammps(POT / "Si.sw") if POT is not None else StillingerWeber(
        {("Si", "Si", "Si"): [2.1683, 2.0951, 1.80, 21.0, 1.20, -1 / 3, 7.049556277, 0.6022245584, 4.0, 0.0, 0.0]})


# ------------------------------------------------------------------ structures

def _strained(crystal: Crystal, seed: int, strain=0.02, shake=0.08) -> Crystal:
    """A copy under a random (non-symmetric) deformation, every atom displaced at random: no symmetry left."""
    rng = np.random.default_rng(seed)
    F = np.eye(3) + rng.uniform(-strain, strain, (3, 3))
    x = crystal.positions @ F.T + rng.uniform(-shake, shake, crystal.positions.shape)
    return Crystal(crystal.cell @ F.T, x, crystal.species, crystal.masses)


def zincblende(a=5.6, species=("Si", "Ge")) -> Crystal:
    fcc = np.array([[0, .5, .5], [.5, 0, .5], [.5, .5, 0]]) * a
    return Crystal(fcc, np.array([[0, 0, 0], [.25, .25, .25]]) * a, list(species))


def _alloy() -> Crystal:
    """A random Si-Ge alloy on a compressed diamond lattice (a = 5.0 A, 16 atoms): its second neighbours (3.54 A)
    lie between the Si-Si and Si-Ge cutoffs that tol shortens and a sigma, so LAMMPS' tol rule decides them."""
    c = supercell(zincblende(5.0), 2 * np.eye(3, dtype=int))
    species = np.random.default_rng(21).permutation(["Si"] * 8 + ["Ge"] * 8)
    return _strained(Crystal(c.cell, c.positions, species), seed=7, strain=0.01, shake=0.05)


def wurtzite(a=3.19, c=5.19, u=0.377, species=("Ga", "N")) -> Crystal:
    cell = np.array([[a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, c]])
    frac = np.array([[1 / 3, 2 / 3, 0], [2 / 3, 1 / 3, .5], [1 / 3, 2 / 3, u], [2 / 3, 1 / 3, .5 + u]])
    return Crystal(cell, frac @ cell, [species[0]] * 2 + [species[1]] * 2)


def _cluster(species, seed, box=40.0) -> Crystal:
    """Atoms in a large empty box, grown one at a time 2.2-2.7 A from an atom already placed. Every distance is in
    [2.2, 3.2] A or beyond 4.1 A (clear of all the cutoffs of the forms tested, 3.3-4.0 A) and no three atoms are
    near a line: the terms of a finite cluster, whose atoms can be moved one at a time."""
    rng = np.random.default_rng(seed)
    x = [np.zeros(3)]
    while len(x) < len(species):
        u = rng.normal(size=3)
        new = x[rng.integers(len(x))] + u / np.linalg.norm(u) * rng.uniform(2.2, 2.7)
        d = np.linalg.norm(np.array(x) - new, axis=1)
        if np.any((d < 2.2) | ((d > 3.2) & (d < 4.1))):
            continue
        y = np.array(x + [new])
        cos = [abs((y[j] - y[i]) @ (y[k] - y[i])) / np.linalg.norm(y[j] - y[i]) / np.linalg.norm(y[k] - y[i])
               for i, j, k in itertools.permutations(range(len(y)), 3)]
        if max(cos, default=0.0) < 0.97:
            x.append(new)
    return Crystal(np.eye(3) * box, np.array(x) + box / 2, species, [28.0] * len(species))


def _moved(crystal: Crystal, atom: int, axis: int, step: float) -> Crystal:
    """A copy with one coordinate of one atom moved by ``step`` (A)."""
    x = crystal.positions.copy()
    x[atom, axis] += step
    return Crystal(crystal.cell, x, crystal.species, crystal.masses)


def _fd_fc2(pot, crystal: Crystal, h=1e-5) -> np.ndarray:
    """Force constants (N, N, 3, 3) from central differences of the potential's forces, eV/A^2."""
    fd = np.zeros((crystal.n_atoms, crystal.n_atoms, 3, 3))
    for p, a in itertools.product(range(crystal.n_atoms), range(3)):
        fs = [pot.energy_forces(_moved(crystal, p, a, s)).forces for s in (h, -h)]
        fd[p, :, a, :] = -(fs[0] - fs[1]) / (2 * h)
    return fd


# ------------------------------------------------------------------ the chain rule against finite differences

def _fd_errors(pot, crystal, h=1e-5):
    """Largest relative difference between each derivative order of every term and the central difference of the
    order below, moving one end atom of the term at a time (the vertex stays, so one relative vector moves)."""
    base = pot.terms(crystal, 3)
    fds = [[np.full_like(getattr(t, q), np.nan) for q in ("gradient", "hessian", "third")] for t in base]
    for p in range(crystal.n_atoms):
        for a in range(3):
            shifted = [pot.terms(_moved(crystal, p, a, s), 3) for s in (h, -h)]
            for t, (b, plus, minus) in enumerate(zip(base, *shifted)):
                assert np.array_equal(plus.atoms, b.atoms) and np.array_equal(minus.atoms, b.atoms)
                for slot in range(1, b.order):
                    rows = (b.atoms[:, slot] == p) & (np.sum(b.atoms == p, axis=1) == 1)
                    col = 3 * (slot - 1) + a
                    for q, (lo, fd) in enumerate(zip(("energy", "gradient", "hessian"), fds[t])):
                        fd[rows, ..., col] = (getattr(plus, lo)[rows] - getattr(minus, lo)[rows]) / (2 * h)
    errors = []
    for b, fd in zip(base, fds):
        assert len(b) > 0
        for q, name in enumerate(("gradient", "hessian", "third")):
            an = getattr(b, name)
            assert not np.isnan(fd[q]).any()
            errors.append(np.abs(fd[q] - an).max() / np.abs(an).max())
    return errors


FORMS = {
    "sw_si": (lambda: _sw_si(), ["Si"] * 5),
    "sw_sige": (None, ["Si", "Ge", "Si", "Ge", "Ge"]),
    "atm": (lambda: AxilrodTellerMuto(3.5, 3.3, 1.7), ["Si"] * 5),
    "atm_two_species": (lambda: AxilrodTellerMuto(3.5, 3.3, {("Si", "Si", "Si"): 1.1, ("Si", "Si", "Ge"): -0.7,
                                                             ("Ge", "Si", "Ge"): 2.3, ("Ge", "Ge", "Ge"): 0.4}),
                        ["Si", "Ge", "Si", "Ge", "Ge"]),
    "harmonic": (lambda: HarmonicAngle("Si", "O", k_theta=2.09724, theta0=109.47, cutoff=3.5),
                 ["Si", "O", "O", "O", "Si"]),
    "harmonic_two_ends": (lambda: HarmonicAngle("Si", ("O", "N"), k_theta=1.3, theta0=100.0, cutoff=(3.5, 3.4)),
                          ["Si", "N", "O", "O", "N", "Si", "O"]),
    "harmonic_180": (lambda: HarmonicAngle("Si", "O", k_theta=2.0, theta0=180.0, cutoff=3.5),
                     ["Si", "O", "O", "O", "Si"]),
    "exponential": (lambda: ExponentialAngle("Si", "O", k=4.0, theta0=109.47, decay=0.9, cutoff=3.5),
                    ["Si", "O", "O", "O", "Si"]),
    "exponential_two_ends": (lambda: ExponentialAngle("Si", ("N", "O"), k=4.0, theta0=115.0, decay=(0.8, 1.2),
                                                      cutoff=(3.4, 3.5)),
                             ["Si", "N", "O", "O", "N", "Si", "O"]),
}


@pytest.mark.parametrize("form", list(FORMS))
def test_derivatives_match_central_differences(form, sige_file):
    make, species = FORMS[form]
    pot = StillingerWeber.from_lammps(sige_file) if make is None else make()
    cluster = _cluster(species, seed=len(form))
    errors = _fd_errors(pot, cluster)
    assert max(errors) < 1e-7, errors
    if isinstance(pot, (HarmonicAngle, ExponentialAngle)):
        t = pot.terms(cluster, 0)[0]
        sp = cluster.species[t.atoms]
        assert np.all(sp[:, 0] == pot.vertex) and np.all(sp[:, 1] == pot.ends[0]) and np.all(sp[:, 2] == pot.ends[1])


def test_angle_terms_brute_force():
    """Every O-Si-N angle of a cluster once, oriented (r1 to O, r2 to N), against a loop over atoms."""
    cluster = _cluster(["Si", "N", "O", "O", "N", "Si", "O"], seed=17)
    pot = ExponentialAngle("Si", ("O", "N"), k=4.0, theta0=115.0, decay=(0.8, 1.2), cutoff=(3.4, 3.3))
    x, sp = cluster.positions, cluster.species
    want = 0.0
    for i, j, k in itertools.permutations(range(len(x)), 3):
        d1, d2 = x[j] - x[i], x[k] - x[i]
        r1, r2 = np.linalg.norm(d1), np.linalg.norm(d2)
        if (sp[i], sp[j], sp[k]) == ("Si", "O", "N") and r1 < 3.4 and r2 < 3.3:
            th = np.arccos(d1 @ d2 / (r1 * r2))
            want += 4.0 * np.exp(-r1 / 0.8 - r2 / 1.2) * (th - np.radians(115.0)) ** 2
    assert want > 0
    np.testing.assert_allclose(pot.energy(cluster), want, rtol=1e-13)


def test_chain_rule_on_random_triplets():
    """The bare chain rule (zeta_derivatives) on random triplets of a non-separable zeta (r1 r2 c couplings) and on
    the harmonic angle near, not at, 180 deg (the series branch of (theta - pi)^2)."""
    rng = np.random.default_rng(5)
    n = 50
    d1, d2 = (v / np.linalg.norm(v, axis=1)[:, None] * rng.uniform(1.5, 3.0, (n, 1))
              for v in rng.normal(size=(2, n, 3)))

    def mixed(r1, r2, c):
        return (r1 * r2 * c + 0.3 * r1 * r1 * r2 ** -1.5).exp() * (c * c + 2.0) + r1 * c ** 3.0 * r2

    def near_pi(r1, r2, c):
        return c.apply(*_angle_square(c.value, np.pi, c.order)) * (r1 + r2)

    cases = [(mixed, d1, d2), (near_pi, d1, -1.3 * d1 + 0.2 * rng.normal(size=(n, 3)))]
    for zeta, a, b in cases:
        x0 = np.concatenate([a, b], axis=1)

        def at(x):
            return zeta_derivatives(zeta, x[:, :3], x[:, 3:], 3)

        jet, h = at(x0), 1e-5
        for lo, hi in (("value", "d1"), ("d1", "d2"), ("d2", "d3")):
            fd = np.zeros_like(getattr(jet, hi))
            for col in range(6):
                xp, xm = x0.copy(), x0.copy()
                xp[:, col] += h
                xm[:, col] -= h
                fd[..., col] = (getattr(at(xp), lo) - getattr(at(xm), lo)) / (2 * h)
            an = getattr(jet, hi)
            assert np.abs(fd - an).max() < 1e-7 * np.abs(an).max(), (zeta.__name__, hi)


def test_z_functions_of_the_exponential_angle_paper_eqs_60_64():
    """The Z functions of k exp(-r1/R1) exp(-r2/R2) (theta - theta0)^2, Taylor et al. 1999 eqs. 60-64, written out."""
    pot = ExponentialAngle("Si", ("N", "O"), k=4.0, theta0=115.0, decay=(0.8, 1.2), cutoff=3.0)
    r1, r2, c = np.array([1.7, 2.1]), np.array([1.9, 1.6]), np.array([-0.2, 0.6])
    Z = pot._zeta(*Jet.variables(np.stack([r1, r2, c], axis=1), 3))
    th, th0, R1, R2 = np.arccos(c), np.radians(115.0), 0.8, 1.2
    f = 4.0 * np.exp(-r1 / R1 - r2 / R2)
    z0 = f * (th - th0) ** 2                                               # eq. 60
    z3 = -2.0 / np.sin(th) * f * (th - th0)                                # eq. 61
    z33 = (2.0 * f + c * z3) / np.sin(th) ** 2                             # eq. 62
    z333 = (z3 + 3.0 * c * z33) / np.sin(th) ** 2                          # eq. 63
    np.testing.assert_allclose(Z.value, z0, rtol=1e-13)
    np.testing.assert_allclose(Z.d1[:, 2], z3, rtol=1e-13)
    np.testing.assert_allclose(Z.d2[:, 2, 2], z33, rtol=1e-13)
    np.testing.assert_allclose(Z.d3[:, 2, 2, 2], z333, rtol=1e-12)
    # eq. 64: each superscript L = 1, 2 multiplies by -1/R_L
    np.testing.assert_allclose(Z.d2[:, 0, 1], z0 / (R1 * R2), rtol=1e-13)
    np.testing.assert_allclose(Z.d3[:, 2, 2, 0], -z33 / R1, rtol=1e-13)
    np.testing.assert_allclose(Z.d3[:, 1, 2, 1], z3 / R2 ** 2, rtol=1e-13)
    np.testing.assert_allclose(Z.d3[:, 0, 0, 0], -z0 / R1 ** 3, rtol=1e-13)


# ------------------------------------------------------------------ collinear triplets

def _chain(xs=(0.0, 2.1, 3.9), length=6.0) -> Crystal:
    """A straight periodic chain along x (cell 6 x 20 x 20 A): every triplet with the vertex in the middle is
    exactly collinear."""
    x = np.zeros((len(xs), 3))
    x[:, 0] = xs
    x[:, 1:] = 10.0
    return Crystal(np.diag([length, 20.0, 20.0]), x, ["Si"] * len(xs))


def test_collinear_cusp_is_an_error_and_180_is_smooth():
    chain = _chain()
    with pytest.raises(ValueError, match="collinear"):
        HarmonicAngle("Si", "Si", k_theta=1.0, theta0=120.0, cutoff=2.5).terms(chain)
    pot = HarmonicAngle("Si", "Si", k_theta=1.7, theta0=180.0, cutoff=2.5)
    ef = pot.energy_forces(chain)
    e, f = ef.energy, ef.forces
    assert e == 0.0 and np.abs(f).max() < 1e-14
    # force constants at the collinear geometry against central differences of the forces (transverse
    # displacements bend the chain: the series branch of (theta - pi)^2 at and near cos theta = -1)
    fc = pot.force_constants(chain, primitive=chain).fc2
    assert np.abs(_fd_fc2(pot, chain) - fc).max() < 1e-7 * np.abs(fc).max()
    assert np.abs(fc[:, :, 1, 1]).max() > 0.1                             # the chain resists bending
    t = pot.terms(chain, 3)[0]
    assert len(t) == 3 and t.third is not None and np.isfinite(t.third).all()


def test_theta_form_rejects_other_collinear_end():
    """theta0 = 180 deg is smooth at theta = 180 but has a cusp at theta = 0 (two neighbours on one side)."""
    with pytest.raises(ValueError, match="collinear"):
        _angle_square(np.array([1.0]), np.pi, 3)


# ------------------------------------------------------------------ triplet enumeration

def test_triplets_match_brute_force_with_images():
    """A small oblique cell whose cutoff exceeds half the cell: periodic images are distinct neighbours, each
    unordered pair {j, k} of a vertex appears once."""
    rng = np.random.default_rng(11)
    cell = np.array([[3.1, 0.2, 0.1], [0.4, 2.9, -0.3], [0.2, 0.5, 3.3]])
    x = rng.uniform(0, 1, (3, 3)) @ cell
    crystal = Crystal(cell, x, ["Si"] * 3)
    rc = 3.6
    t = triplets(crystal, rc)
    ends = [((int(a[1]), tuple(map(int, c[1]))), (int(a[2]), tuple(map(int, c[2])))) for a, c in zip(t.atoms, t.cells)]
    got = [(int(a[0]), *min(e, e[::-1])) for a, e in zip(t.atoms, ends)]
    # brute force over images
    nb = []
    for i in range(3):
        for j in range(3):
            for n in itertools.product(range(-3, 4), repeat=3):
                d = x[j] + np.array(n) @ cell - x[i]
                if 1e-9 < np.linalg.norm(d) < rc:
                    nb.append((i, j, n))
    want = []
    for i in range(3):
        mine = [(j, n) for (ii, j, n) in nb if ii == i]
        for e in itertools.combinations(mine, 2):
            want.append((i, *min(e, e[::-1])))
    assert len(t) == len(want) == len(set(want))
    assert sorted(got) == sorted(want)
    np.testing.assert_allclose(t.vectors[:, 0], x[t.atoms[:, 1]] + t.cells[:, 1] @ cell - x[t.atoms[:, 0]],
                               atol=1e-12)
    np.testing.assert_allclose(t.vectors[:, 1], x[t.atoms[:, 2]] + t.cells[:, 2] @ cell - x[t.atoms[:, 0]],
                               atol=1e-12)
    assert np.all(t.cells[:, 0] == 0)


def test_diamond_counts():
    """Diamond: 4 neighbours within 2.6 A, so 6 tetrahedral angles per atom; per primitive cell of two atoms, SW has
    4 pair terms (each bond once) and 12 angle terms."""
    si = diamond_si()
    t = triplets(si, 2.6)
    assert len(t) == 12
    np.testing.assert_allclose(np.einsum("na,na->n", t.vectors[:, 0], t.vectors[:, 1])
                               / np.linalg.norm(t.vectors[:, 0], axis=1) / np.linalg.norm(t.vectors[:, 1], axis=1),
                               -1 / 3, atol=1e-12)
    pairs, angles = _sw_si().terms(si, 0)
    assert len(pairs) == 4 and len(angles) == 12


def test_atm_counts_each_triplet_once():
    """The energy of every triplet seen from every vertex, divided by three, is the ATM energy (which counts each
    triplet once from one vertex)."""
    si = _strained(supercell(diamond_si(), np.eye(3, dtype=int)), seed=2)
    pot = AxilrodTellerMuto(4.0, 4.0, 2.5)
    t = triplets(si, 4.0)
    d1, d2 = t.vectors[:, 0], t.vectors[:, 1]
    r1, r2, r3 = (np.linalg.norm(v, axis=1) for v in (d1, d2, d2 - d1))
    c1 = np.einsum("na,na->n", d1, d2) / (r1 * r2)
    c2 = np.einsum("na,na->n", -d1, d2 - d1) / (r1 * r3)
    c3 = np.einsum("na,na->n", -d2, d1 - d2) / (r2 * r3)
    keep = r3 < 4.0
    e = 2.5 * (1 + 3 * c1 * c2 * c3) / (r1 * r2 * r3) ** 3
    np.testing.assert_allclose(pot.energy(si), e[keep].sum() / 3, rtol=1e-13)


# ------------------------------------------------------------------ against LAMMPS

def _compare(pot, commands, elements, crystal):
    ef = pot.energy_forces(crystal)
    e, f = ef.energy, ef.forces
    s = pot.stress(crystal)
    el, fl, pl = lammps_static(commands, elements, crystal.cell, crystal.positions, crystal.species)
    return (abs(e - el) / abs(el), np.abs(f - fl).max() / np.abs(fl).max(), np.abs(s + pl).max() / np.abs(pl).max())


def _sw_cases(sige_file):
    si = diamond_si()
    return {
        "si_primitive": (POT / "Si.sw", ["Si"], _strained(si, seed=1, shake=0.05)),
        "si_222_triclinic": (POT / "Si.sw", ["Si"], _strained(supercell(si, 2 * np.eye(3, dtype=int)), seed=3)),
        "si_nondiagonal": (POT / "Si.sw", ["Si"],
                           _strained(supercell(si, np.array([[1, 1, 0], [0, 1, 1], [1, 0, 2]])), seed=4)),
        "gan_wurtzite": (POT / "GaN.sw", ["Ga", "N"], _strained(supercell(wurtzite(), np.diag([2, 2, 1])), seed=5)),
        "cdte_zincblende": (POT / "CdTe.sw", ["Cd", "Te"],
                            _strained(supercell(zincblende(6.48, ("Cd", "Te")), 2 * np.eye(3, dtype=int)), seed=6)),
        "sige_tol_q": (sige_file, ["Si", "Ge"], _alloy()),
    }


@needs_pot
@pytest.mark.parametrize("case", ["si_primitive", "si_222_triclinic", "si_nondiagonal", "gan_wurtzite",
                                  "cdte_zincblende", "sige_tol_q"])
def test_stillinger_weber_matches_lammps(case, sige_file):
    path, elements, crystal = _sw_cases(sige_file)[case]
    pot = StillingerWeber.from_lammps(path, elements)
    errors = _compare(pot, ["pair_style sw", f"pair_coeff * * {path} {' '.join(elements)}"], elements, crystal)
    assert max(errors) < 1e-10, errors
    if case == "sige_tol_q":                    # the tol rule matters here: without it, other pairs interact
        no_tol = {k: {**v, "tol": 0.0} for k, v in pot.parameters.items()}
        assert abs(StillingerWeber(no_tol).energy(crystal) - pot.energy(crystal)) > 1e-3 * abs(pot.energy(crystal))


ATM_CASES = {
    # cutoff_triple below cutoff: the product rule removes triplets the distance rule keeps
    "si_222": (["Si"], "pair_coeff * * * 1.3", 1.3, 4.5, 3.9,
               lambda: _strained(supercell(diamond_si(), 2 * np.eye(3, dtype=int)), seed=8)),
    "si_primitive": (["Si"], "pair_coeff * * * 0.8", 0.8, 4.2, 4.2,
                     lambda: _strained(diamond_si(), seed=9, shake=0.05)),
    "sige_species": (["Si", "Ge"], ["pair_coeff 1 1 1 1.1", "pair_coeff 1 1 2 -0.7", "pair_coeff 1 2 2 2.3",
                                    "pair_coeff 2 2 2 0.0"],
                     {("Si", "Si", "Si"): 1.1, ("Ge", "Si", "Si"): -0.7, ("Si", "Ge", "Ge"): 2.3},
                     4.6, 4.1, lambda: _strained(supercell(zincblende(5.55), 2 * np.eye(3, dtype=int)), seed=10)),
}


@pytest.mark.parametrize("case", list(ATM_CASES))
def test_axilrod_teller_muto_matches_lammps(case):
    elements, coeff, nu, rc, rt, build = ATM_CASES[case]
    crystal = build()
    pot = AxilrodTellerMuto(rc, rt, nu)
    coeff = [coeff] if isinstance(coeff, str) else coeff
    errors = _compare(pot, [f"pair_style atm {rc!r} {rt!r}", *coeff], elements, crystal)
    assert max(errors) < 1e-10, errors
    if case == "si_222":
        loose = AxilrodTellerMuto(rc, rc, nu)
        assert len(loose.terms(crystal, 0)[0]) > len(pot.terms(crystal, 0)[0])


# ------------------------------------------------------------------ lattice sums of the three-body terms

@pytest.fixture(scope="module")
def si_displaced():
    """2x2x2 primitive cells of diamond Si (16 atoms), strained and shaken: SW force constants off equilibrium."""
    return _strained(supercell(diamond_si(), 2 * np.eye(3, dtype=int)), seed=12, strain=0.01, shake=0.05)


def test_sw_fc2_fc3_against_finite_differences(si_displaced):
    pot, sc = _sw_si(), si_displaced
    fc = pot.force_constants3(sc, primitive=sc)
    fc2, fc3 = fc.fc2, fc.fc3[np.argsort(fc.p2s)]                     # compact rows in supercell order
    assert fc3.shape == (16, 16, 16, 3, 3, 3)
    # acoustic sum rules
    assert np.abs(fc2.sum(axis=1)).max() < 1e-11 * np.abs(fc2).max()
    assert np.abs(fc3.sum(axis=2)).max() < 1e-11 * np.abs(fc3).max()
    assert np.abs(_fd_fc2(pot, sc) - fc2).max() < 1e-7 * np.abs(fc2).max()
    h = 1e-4
    for p, a in [(0, 0), (5, 1), (11, 2)]:
        f2 = [pot.force_constants(_moved(sc, p, a, s), primitive=sc).fc2 for s in (h, -h)]
        fd3 = (f2[0] - f2[1]) / (2 * h)
        assert np.abs(fd3 - fc3[p, :, :, a]).max() < 1e-7 * np.abs(fc3).max(), (p, a)


def test_sw_dynamical_matrices_and_strain_derivatives():
    """Exact lattice sums at q on the primitive cell against the supercell constants (eigenvalues at commensurate
    q), and the strain and internal derivatives of D(q) and of the static energy against central differences."""
    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.phonons.harmonic.phonons import Phonons
    from trajmodes.potentials.lattice_sums import STRAIN_BASIS
    from trajmodes.units import THZ
    pot, si = _sw_si(), diamond_si()
    sc = supercell(si, 2 * np.eye(3, dtype=int))
    fc = pot.force_constants(sc, primitive=si)
    q = np.array([[0, 0, 0], [0.5, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0]])
    lam = np.linalg.eigvalsh(pot.dynamical_matrices(si, q))
    nu = THZ * np.sign(lam) * np.sqrt(np.abs(lam))
    ref = Phonons(ForceConstants(fc.fc2, sc, si)).frequencies(q)
    np.testing.assert_allclose(np.sort(nu, axis=1)[1:], np.sort(ref, axis=1)[1:], rtol=1e-10)
    np.testing.assert_allclose(nu[0, 3:], np.sort(ref[0])[3:], rtol=1e-10)
    assert np.abs(nu[0, :3]).max() < 1e-6 and np.abs(ref[0, :3]).max() < 1e-6     # THz: sqrt of round-off
    # derivatives of D(q) at a general q of a strained, shaken cell
    base = _strained(si, seed=13, strain=0.01, shake=0.05)
    qq = np.array([[0.13, -0.27, 0.31]])
    dm = pot.dynamical_matrices(base, qq, derivatives=True)
    dDe, dDu = dm.strain_derivatives, dm.internal_derivatives
    h = 1e-5
    for I in range(6):
        Ds = []
        for s in (h, -h):
            F = np.eye(3) + s * STRAIN_BASIS[I]
            Ds.append(pot.dynamical_matrices(Crystal(base.cell @ F.T, base.positions @ F.T, base.species), qq))
        fd = (Ds[0] - Ds[1]) / (2 * h)
        assert np.abs(fd - dDe[I]).max() < 1e-7 * np.abs(dDe).max(), I
    for k in range(6):
        Ds = [pot.dynamical_matrices(_moved(base, k // 3, k % 3, s), qq) for s in (h, -h)]
        fd = (Ds[0] - Ds[1]) / (2 * h)
        assert np.abs(fd - dDu[k]).max() < 1e-7 * np.abs(dDu).max(), k
    # the static Hessian (x = F (X + u)) against central differences: displacement columns from the gradient of
    # the displaced cell (the same parametrisation shifted), the strain block from second differences of the energy
    H = pot.static_derivatives(base, order=2).hessian
    for col in range(6, 6 + 3 * base.n_atoms):
        gs = [pot.static_derivatives(_moved(base, (col - 6) // 3, (col - 6) % 3, s), order=1).gradient for s in (h, -h)]
        fd = (gs[0] - gs[1]) / (2 * h)
        assert np.abs(fd - H[:, col]).max() < 1e-7 * np.abs(H).max(), col

    def energy(e):
        F = np.eye(3) + np.einsum("i,iab->ab", e, STRAIN_BASIS)
        return pot.energy(Crystal(base.cell @ F.T, base.positions @ F.T, base.species))

    h = 1e-4
    for I, J in itertools.combinations_with_replacement(range(6), 2):
        E = [[energy(h * (a * np.eye(6)[I] + b * np.eye(6)[J])) for b in (1, -1)] for a in (1, -1)]
        fd = (E[0][0] - E[0][1] - E[1][0] + E[1][1]) / (4 * h * h)
        assert abs(fd - H[I, J]) < 1e-6 * np.abs(H[:6, :6]).max(), (I, J)


@needs_pot
def test_sw_fc2_against_phonopy_with_lammps_forces():
    """phonopy's finite displacements (+-0.01 A) with LAMMPS forces against the analytic constants: the same up to
    the O(h^2) anharmonic error of the displacement method."""
    phonopy = pytest.importorskip("phonopy")
    from phonopy.structure.atoms import PhonopyAtoms
    from trajmodes.io.forceconstants.phonopy import crystal_from_phonopy
    si = diamond_si()
    ph = phonopy.Phonopy(PhonopyAtoms(symbols=list(si.species), cell=si.cell, scaled_positions=si.scaled_positions,
                                      masses=si.masses), supercell_matrix=2 * np.eye(3, dtype=int),
                         primitive_matrix=None)
    ph.generate_displacements(distance=0.01, is_plusminus=True)
    forces = []
    for c in ph.supercells_with_displacements:
        forces.append(lammps_static(["pair_style sw", f"pair_coeff * * {POT / 'Si.sw'} Si"], ["Si"], c.cell,
                                    c.positions, c.symbols)[1])
    ph.forces = np.array(forces)
    ph.produce_force_constants(show_drift=False)
    sc = crystal_from_phonopy(ph.supercell)
    fc = _sw_si().force_constants(sc, primitive=si).fc2
    err = np.abs(ph.force_constants - fc).max() / np.abs(fc).max()
    assert err < 2e-4, err


# ------------------------------------------------------------------ files, parameters, errors

@needs_pot
def test_read_sw_files():
    si = read_sw(POT / "Si.sw")
    assert len(si) == 1 and si[0]["elements"] == ("Si", "Si", "Si") and si[0]["line"] == 17
    assert si[0]["A"] == 7.049556277 and si[0]["costheta0"] == -0.333333333333
    gan = read_sw(POT / "GaN.sw")
    assert len(gan) == 8
    pot = StillingerWeber.from_lammps(POT / "GaN.sw")
    assert pot.elements == ["Ga", "N"]
    assert pot.cutoff == pytest.approx(2.1 * 1.6)


#: (text in SIGE_SW, its replacement, the error's message) of the malformed potentials from_lammps refuses
SW_FILE_ERRORS = [
    ("Ge Ge Si 1.99", "Ge Ge Ge 1.99", r"line 10: duplicate entry Ge Ge Ge \(first on line 5\)"),
    ("Ge Ge Si 1.99 0.0 0.0 29.0 0.0 -0.34 0.0 0.0 0.0 0.0 0.0\n", "", r"missing for element triplet\(s\) Ge Ge Si"),
    ("Ge Ge Si 1.99 0.0 0.0 29.0", "Ge Ge Si 1.99 0.0 0.0 28.0", r"differ between entries Ge Si Ge and Ge Ge Si"),
    ("Ge Si Si 2.05 2.138", "Ge Si Si 2.05 2.139", r"two-body parameters of Si-Ge differ"),
    ("Ge Ge Ge 1.93 2.181", "Ge Ge Ge -1.93 2.181", r"illegal Stillinger-Weber parameters"),
]


def test_sw_file_errors(tmp_path):
    bad = tmp_path / "bad.sw"
    bad.write_text("# c\nSi Si Si 2.1683 2.0951 1.80 21.0 1.20 -0.3333\n 7.05 0.60 4.0 0.0 x\n")
    with pytest.raises(ValueError, match=r"bad.sw: line 2: 'x' is not a number"):
        read_sw(bad)
    bad.write_text("Si Si Si 2.1683 2.0951 1.80 21.0 1.20 -0.3333\n 7.05 0.60 4.0 0.0\n")
    with pytest.raises(ValueError, match=r"bad.sw: line 1: the file ends inside an entry"):
        read_sw(bad)
    bad.write_text("Si Si Si 2.1683 2.0951 1.80 21.0 1.20 -0.3333 7.05 0.60\nGe Ge Ge 1 2 3 4 5 6 7 8 9 10 11\n")
    with pytest.raises(ValueError, match=r"bad.sw: line 2: entry starting on line 1 has 25 words"):
        read_sw(bad)
    for old, new, message in SW_FILE_ERRORS:
        bad.write_text(SIGE_SW.replace(old, new))
        with pytest.raises(ValueError, match=message):
            StillingerWeber.from_lammps(bad)
    bad.write_text(SIGE_SW)
    with pytest.raises(ValueError, match=r"no Stillinger-Weber entries for C"):
        StillingerWeber.from_lammps(bad, ["Si", "C"])
    only_si = StillingerWeber.from_lammps(bad, ["Si"])
    with pytest.raises(ValueError, match=r"species Ge not in the Stillinger-Weber potential"):
        only_si.terms(zincblende())
    bad.write_text("# UNITS: real\nSi Si Si 50.0 2.0951 1.80 21.0 1.20 -0.3333 7.05 0.60 4.0 0.0 0.0\n")
    assert read_sw(bad)[0]["epsilon"] == pytest.approx(50.0 / 23.060549, rel=1e-15)


def test_parameter_errors():
    with pytest.raises(ValueError, match="11 parameters|expected 11"):
        StillingerWeber({("Si", "Si", "Si"): [1.0, 2.0]})
    with pytest.raises(ValueError, match="conflicts"):
        AxilrodTellerMuto(4.0, 4.0, {("Si", "Si", "Ge"): 1.0, ("Ge", "Si", "Si"): 2.0})
    with pytest.raises(ValueError, match="positive"):
        AxilrodTellerMuto(-4.0, 4.0, 1.0)
    with pytest.raises(ValueError, match="species Ge not in the Axilrod-Teller-Muto"):
        AxilrodTellerMuto(4.0, 4.0, {("Si", "Si", "Si"): 1.0}).terms(zincblende())
    with pytest.raises(ValueError, match="theta0"):
        HarmonicAngle("Si", "O", k_theta=1.0, theta0=200.0, cutoff=2.0)
    with pytest.raises(ValueError, match="one cutoff"):
        HarmonicAngle("Si", "O", k_theta=1.0, theta0=100.0, cutoff=(2.0, 2.1))
    with pytest.raises(ValueError, match="one decay length"):
        ExponentialAngle("Si", "O", k=1.0, theta0=100.0, decay=(0.5, 0.6), cutoff=2.0)
    with pytest.raises(ValueError, match="decay lengths positive"):
        ExponentialAngle("Si", "O", k=1.0, theta0=100.0, decay=-0.5, cutoff=2.0)
    with pytest.raises(ValueError, match="species O of the angle term"):
        HarmonicAngle("Si", "O", k_theta=1.0, theta0=100.0, cutoff=2.0).terms(diamond_si())
    with pytest.raises(ValueError, match="order"):
        _sw_si().terms(diamond_si(), order=4)


def test_public_names():
    import trajmodes
    for name in ("StillingerWeber", "AxilrodTellerMuto", "HarmonicAngle", "ExponentialAngle"):
        assert getattr(trajmodes, name) is globals()[name]

