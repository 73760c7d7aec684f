"""Force constants of Morse crystals held by both trajmodes and phonopy (phonopy's supercell), for comparisons."""
import numpy as np
import pytest

from tests.support.crystals import FCC, NONDIAG, diamond_si
from tests.support.morse import morse_fc
from trajmodes import Crystal, ForceConstants


def phonopy_case(prim: Crystal, S, **pot):
    """Our ForceConstants and a phonopy object holding the same constants (phonopy's supercell)."""
    phonopy = pytest.importorskip("phonopy")
    from phonopy.structure.atoms import PhonopyAtoms
    from trajmodes.io.forceconstants.phonopy import crystal_from_phonopy
    ph = phonopy.Phonopy(PhonopyAtoms(symbols=list(prim.species), cell=prim.cell,
                                      scaled_positions=prim.scaled_positions, masses=prim.masses),
                         supercell_matrix=np.asarray(S).T, primitive_matrix=None)
    sc = crystal_from_phonopy(ph.supercell)
    fc = morse_fc(sc, **pot)
    ph.force_constants = fc
    # the same primitive basis as phonopy's, so that reduced q means the same Cartesian q
    return ForceConstants(fc, sc, prim), ph


CASES = {
    "Cu-444": (Crystal(FCC, [[0, 0, 0]], ["Cu"]), np.diag([4, 4, 4]), {}),
    "Cu-nondiag": (Crystal(FCC, [[0, 0, 0]], ["Cu"]), NONDIAG, {}),
    "Si-333": (diamond_si(), np.diag([3, 3, 3]), dict(D0=2.0, alpha=1.5, r0=2.35, cutoff=9.0)),
}
