"""``ForceConstants(..., phonon_fc2=)`` with the fc2 of a supercell built on another primitive cell of the same crystal
(phono3py's ``--dim-fc2`` pair made from two unit cells: other lattice vectors, the atoms in another order and origin):
the fc2 is put on the fc3's primitive cell (``ForceConstants.on_primitive``) instead of being refused.

Oracle: the same Morse constants built directly on the fc3's primitive cell (the unmapped case): frequencies at
several q (reduced in the fc3's basis) agree to 1e-10 THz, LO-TO splitting of Born charges included; constants of
another crystal (another lattice constant, species or internal position) are still refused, saying what differs.
"""
from __future__ import annotations

import numpy as np
import pytest

from trajmodes import Crystal, ForceConstants, Phonons

from tests.support.crystals import CU, diamond_si, supercell
from tests.support.morse import morse_fc
from trajmodes.potentials.pair import Morse

#: the Morse parameters of tests.support.morse.morse_fc's defaults (Cu)
MORSE_CU = dict(D0=0.3429, alpha=1.3588, r0=2.866)

#: another basis of the fcc lattice (integer, determinant -1) and a global translation of the crystal, A
U = np.array([[1, 0, 0], [1, 1, 1], [0, -1, 0]])
SHIFT = np.array([0.31, -0.17, 0.42])
Q = np.array([[0.0, 0.0, 0.0], [0.5, 0.0, 0.5], [0.5, 0.5, 0.5], [0.1, 0.2, 0.3], [0.25, -0.125, 0.375],
              [0.05, 0.0, 0.0]])
SI = dict(D0=2.0, alpha=1.5, r0=2.35, cutoff=4.0, nimg=1)


def _other_cell(prim: Crystal, order) -> Crystal:
    """The same crystal on the cell U @ prim.cell, its atoms in ``order`` and moved by SHIFT."""
    return Crystal(U @ prim.cell, prim.positions[order] + SHIFT, np.asarray(prim.species)[order],
                   np.asarray(prim.masses)[order])


def _pair(prim: Crystal, other: Crystal, pot: dict, born=None, eps=None):
    """(fc3 constants (cubic Morse terms of the first neighbours) on 3x3x3 of ``prim`` with phonon_fc2 on 4x4x4 of ``other``, that fc2 as it was given, the
    unmapped fc2 on 4x4x4 of ``prim``)."""
    small = supercell(prim, 3 * np.eye(3, dtype=int))
    big_other = supercell(other, 4 * np.eye(3, dtype=int))
    big = supercell(prim, 4 * np.eye(3, dtype=int))
    kw = {} if born is None else dict(born=born, epsilon=eps)
    kw_other = {} if born is None else dict(born=born[_order_of(prim, other)], epsilon=eps)
    phonon = ForceConstants(morse_fc(big_other, **pot), big_other, other, **kw_other)
    fc3 = Morse(**{k: pot.get(k, v) for k, v in MORSE_CU.items()}, cutoff=3.0).force_constants3(small, prim).fc3
    fc = ForceConstants(morse_fc(small, **pot), small, prim, fc3=fc3, phonon_fc2=phonon, **kw)
    return fc, phonon, ForceConstants(morse_fc(big, **pot), big, prim, **kw)


def _order_of(prim, other):
    """The atom of ``prim`` that every atom of ``other`` is."""
    d = (other.positions[:, None] - SHIFT - prim.positions[None]) @ np.linalg.inv(prim.cell)
    return np.argmin(np.abs(d - np.rint(d)).sum(axis=-1), axis=1)


@pytest.mark.parametrize("case", ["fcc", "diamond", "diamond_polar"])
def test_fc2_of_another_cell_is_mapped(case):
    if case == "fcc":
        prim, order, pot, born, eps = CU, [0], dict(cutoff=4.7, nimg=1), None, None
    else:
        prim, order, pot = diamond_si(), [1, 0], SI
        born = np.array([np.eye(3) * 1.5, -np.eye(3) * 1.5]) if case == "diamond_polar" else None
        eps = np.eye(3) * 11.0 if born is not None else None
    other = _other_cell(prim, order)
    assert prim.differences(other) is not None
    fc, given, direct = _pair(prim, other, pot, born, eps)
    mapped = fc.phonon_fc2
    assert mapped.primitive is prim and mapped.supercell.n_atoms == direct.supercell.n_atoms
    nu, ref = (Phonons(f).frequencies(Q, q_direction=[1, 0, 0]) for f in (mapped, direct))
    assert np.abs(nu[1:] - ref[1:]).max() < 1e-10 and ref.max() > 1.0
    assert np.abs(nu[0, 3:] - ref[0, 3:]).max(initial=0) < 1e-10            # Gamma: the optical modes
    assert np.abs(nu[0, :3]).max() < 1e-6 and np.abs(ref[0, :3]).max() < 1e-6   # (acoustic: sqrt of round-off)
    if born is not None:                       # the Born charges follow their atoms: the LO-TO splitting stays
        np.testing.assert_array_equal(mapped.born, born)
        assert np.ptp(ref[0, 3:]) > 0.1
    # the fc2 as given, at the same q in its own cell's reduced coordinates (q' = q U^T): the same frequencies (with
    # Born charges to 1e-7 only: the Ewald sums of the dipole-dipole part are cut off on each cell's own G lattice)
    own = Phonons(given).frequencies(Q[1:] @ U.T, q_direction=[1, 0, 0])
    assert np.abs(own - ref[1:]).max() < (1e-10 if born is None else 1e-7)
    if case == "fcc":                          # the three-phonon widths of the pair are those of the unmapped pair
        from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
        unmapped = ForceConstants(fc.fc2, fc.supercell, prim, fc3=fc.fc3, phonon_fc2=direct)
        widths = [Anharmonic(f, 4, 300.0).linewidths().linewidth.values for f in (fc, unmapped)]
        assert np.abs(widths[0] - widths[1]).max() < 1e-8 * np.nanmax(widths[1]) and np.nanmax(widths[1]) > 0.1


def test_another_crystal_is_still_refused():
    """Another lattice constant, other species, another internal position: refused, naming what differs."""
    prim = diamond_si()
    small = supercell(prim, 2 * np.eye(3, dtype=int))
    fc2 = morse_fc(small, **SI)

    def with_phonon(other):
        big = supercell(other, 3 * np.eye(3, dtype=int))
        return ForceConstants(fc2, small, prim, phonon_fc2=ForceConstants(morse_fc(big, **SI), big, other))
    with pytest.raises(ValueError, match="another crystal.*not a basis of the lattice"):
        with_phonon(Crystal(prim.cell * 1.01, prim.positions * 1.01, prim.species))
    with pytest.raises(ValueError, match="another crystal.*holds Ge Si, not Si Si"):
        with_phonon(Crystal(prim.cell, prim.positions, ["Ge", "Si"]))
    with pytest.raises(ValueError, match="another crystal.*do not sit on the sites"):
        with_phonon(Crystal(prim.cell, prim.positions + [[0, 0, 0], [0.05, 0, 0]], prim.species))
