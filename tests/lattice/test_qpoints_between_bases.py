"""Reduced q-points of one crystal in two choices of primitive basis (trajmodes.lattice.qpoints.qpoints_in), and
everywhere two sets of constants meet (the fit's ``compare``).

Oracle: the same force constants put on another primitive basis of the same crystal (``ForceConstants.on_primitive``:
a rotated, permuted or sheared choice of the primitive vectors, atoms reordered) have, at the same point of the zone,
the same frequencies to round-off; the same reduced q in the two bases is another point (the test checks that it
differs, so that the mapping is what makes them agree). Crystals that are not cubic: hexagonal with two species and
a free internal coordinate (wurtzite), rhombohedral, monoclinic and triclinic.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import trajmodes
from trajmodes import Crystal, ForceConstants, Phonons
from trajmodes.lattice.prototypes import prototype
from trajmodes.lattice.qpoints import basis_change, qpoints_in

from tests.support.crystals import supercell
from tests.support.morse import morse_fc

MORSE = dict(D0=0.3, alpha=1.5, r0=2.4)

#: unimodular changes of the primitive basis: a 90-degree turn of a hexagonal choice (the basis a fit chose for
#: wurtzite GaN beside phonopy's), a cyclic permutation, a shear, and one with every entry mixed
CHANGES = {
    "turned": [[0, 1, 0], [-1, 0, 0], [0, 0, 1]],
    "permuted": [[0, 1, 0], [0, 0, 1], [1, 0, 0]],
    "sheared": [[1, 1, 0], [0, 1, 0], [0, 0, 1]],
    "mixed": [[1, 1, 1], [0, 1, 1], [-1, 0, 1]],
}


def _crystal(kind: str) -> Crystal:
    if kind == "wurtzite":
        return prototype("wurtzite", ("Ga", "N"), 3.19, 5.19, u=0.38)
    if kind == "rhombohedral":                       # three equal vectors at 70 degrees to each other
        a, cos = 3.4, np.cos(np.radians(70))
        cy = (cos - cos * cos) / np.sqrt(1 - cos ** 2)
        cell = a * np.array([[1, 0, 0], [cos, np.sqrt(1 - cos ** 2), 0], [cos, cy, np.sqrt(1 - cos ** 2 - cy ** 2)]])
    else:
        cell = {"monoclinic": np.array([[3.1, 0, 0], [0, 3.5, 0], [-0.9, 0, 3.3]]),
                "triclinic": np.array([[3.2, 0, 0], [0.7, 3.4, 0], [-0.5, 0.8, 3.6]])}[kind]
    frac = np.array([[0, 0, 0], [0.43, 0.31, 0.52]])
    return Crystal(cell, frac @ cell, ["Zn", "O"])


def _constants(prim: Crystal, S) -> ForceConstants:
    sc = supercell(prim, S)
    return ForceConstants(morse_fc(sc, cutoff=4.5, nimg=2, **MORSE), sc, prim)


def _other_basis(prim: Crystal, change) -> Crystal:
    """``prim`` on the primitive vectors ``change @ prim.cell``, its atoms in reverse order, one moved by a lattice
    vector."""
    cell = np.asarray(change, float) @ prim.cell
    pos = prim.positions[::-1].copy()
    pos[0] += prim.cell[0] - prim.cell[2]
    return Crystal(cell, pos, prim.species[::-1], prim.masses[::-1])


KINDS = {"wurtzite": np.diag([3, 3, 2]), "rhombohedral": np.diag([3, 3, 3]), "monoclinic": np.diag([3, 3, 3]),
         "triclinic": np.diag([3, 3, 3])}


@pytest.fixture(scope="module", params=list(KINDS))
def crystal_constants(request):
    prim = _crystal(request.param)
    return request.param, prim, _constants(prim, KINDS[request.param])


@pytest.mark.parametrize("change", list(CHANGES))
def test_same_point_of_the_zone_in_another_basis(crystal_constants, change):
    kind, prim, fc = crystal_constants
    other = _other_basis(prim, CHANGES[change])
    fc_other = fc.on_primitive(other)
    q = np.array([[0, 0, 0], [0.5, 0, 0], [1 / 3, 1 / 3, 0], [0.25, -0.5, 0.5], [0.1, 0.2, 0.3]])
    mine = Phonons(fc).frequencies(q)
    mapped = qpoints_in(q, prim, other)
    assert np.allclose(Phonons(fc_other).frequencies(mapped), mine, atol=1e-5)
    # the same reduced numbers in the other basis are other points: the mapping is what makes them agree
    assert np.abs(Phonons(fc_other).frequencies(q) - mine).max() > 0.05
    # and back
    assert np.allclose(qpoints_in(mapped, other, prim), q, atol=1e-12)


def test_strained_lattice_keeps_the_point(crystal_constants):
    """A run's lattice 2 % larger than the 0 K one: the same integer basis change, the same point of the zone."""
    _, prim, _ = crystal_constants
    other = _other_basis(prim, CHANGES["turned"])
    hot = Crystal(1.02 * prim.cell, 1.02 * prim.positions, prim.species)
    assert np.array_equal(basis_change(hot.cell, other.cell), np.rint(np.linalg.inv(CHANGES["turned"])))
    q = np.array([[1 / 3, 1 / 3, 0.5]])
    assert np.allclose(qpoints_in(q, hot, other), qpoints_in(q, prim, other), atol=1e-14)


def test_another_crystal_is_refused():
    prim = _crystal("wurtzite")
    longer = Crystal(prim.cell * [[1], [1], [1.3]], prim.positions, prim.species)
    with pytest.raises(ValueError, match=r"not cells of one crystal: their lattices differ: .*angles"):
        qpoints_in([[0, 0, 0]], prim, longer)
    doubled = Crystal(np.diag([1, 1, 2]) @ prim.cell, prim.positions, prim.species)
    with pytest.raises(ValueError, match=r"is a supercell of .*2 of its cells"):
        qpoints_in([[0, 0, 0]], doubled, prim)
    other_atoms = Crystal(prim.cell, prim.positions, ["Ga", "Ga", "N", "Al"])
    with pytest.raises(ValueError, match=r"their primitive cells hold Ga Ga N N and Al Ga Ga N"):
        qpoints_in([[0, 0, 0]], prim, other_atoms)


def test_turned_in_space_is_said():
    """The same lattice in another Cartesian frame: no basis change maps the q-points; the message says what."""
    prim = _crystal("monoclinic")
    t = np.radians(30)
    R = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    turned = Crystal(prim.cell @ R.T, prim.positions @ R.T, prim.species)
    with pytest.raises(ValueError, match=r"one lattice turned in space.*one Cartesian frame"):
        qpoints_in([[0, 0, 0]], prim, turned)


def test_fit_compares_with_constants_in_another_basis():
    """``fit_effective(compare=)`` with the exact constants of a wurtzite run on a turned primitive basis: the largest
    difference is the fit's own (exact harmonic forces: round-off), not that of another point of the zone."""
    prim = _crystal("wurtzite")
    sc = supercell(prim, np.diag([3, 3, 2]))
    Phi = morse_fc(sc, cutoff=3.5, nimg=2, **MORSE)
    rng = np.random.default_rng(1)
    u = rng.normal(0.0, 0.03, (12, sc.n_atoms, 3))
    f = -np.einsum("ijab,tjb->tia", Phi, u)
    traj = trajmodes.from_arrays(sc.positions + u, sc.cell, sc.species, forces=f, frame_interval=0.01,
                                 reference=trajmodes.Structure(sc.positions, sc.cell, sc.species))
    exact = ForceConstants(Phi, sc, prim)
    for change in ("turned", "permuted"):
        other = exact.on_primitive(_other_basis(prim, CHANGES[change]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = trajmodes.workflows.fit_effective(traj, cutoff2=3.6, compare=other, npoints=5)
        big = res.largest_difference()
        assert abs(big.difference) < 2e-3, (change, big)
        assert np.allclose(res.reference_bands.frequency.values, res.bands.frequency.values, atol=2e-3)
