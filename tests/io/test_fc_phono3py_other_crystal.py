"""A phono3py fc3.hdf5 of another crystal beside a yaml and fc2 (rock-salt NaCl's third order in the folder of
zincblende GaAs, whose arrays have the same shape and p2s_map) was read as GaAs' constants: the file holds no
structure, so the symmetry of the yaml's crystal, which must leave its constants unchanged, refuses it, naming the
fc3 file and what differs. The crystal's own files read as before."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from tests.forceconstants.test_fc3_io import pair_fc23
from tests.io.test_fc_formats import zincblende
from tests.support.crystals import FCC, NONDIAG, supercell
from trajmodes import Crystal, ForceConstants
from trajmodes.errors import ForceConstantsFormatError

pytest.importorskip("phono3py")


def _written(prim: Crystal, folder, **morse) -> ForceConstants:
    sc = supercell(prim, NONDIAG)
    fc2, fc3 = pair_fc23(sc, **morse)
    fc = ForceConstants(fc2, sc, prim, fc3=fc3)
    fc.write(folder, "phono3py")
    return fc


def test_another_crystals_fc3_is_refused(tmp_path):
    a = 5.64
    nacl = Crystal(FCC / 3.615 * a, np.array([[0, 0, 0], [.5, .5, .5]]) * a, ["Na", "Cl"])
    _written(nacl, tmp_path / "nacl", D0=0.3, alpha=1.3, r0=2.82, cutoff=3.5)
    own = _written(zincblende(), tmp_path / "gaas", D0=0.3, alpha=1.3, r0=2.45, cutoff=3.0)
    back = ForceConstants.read(tmp_path / "gaas", "phono3py")                      # its own constants: read
    assert np.abs(back.fc3).max() > 1.0 and back.fc3_symmetry_violation()[0] < 1e-10 * np.abs(own.fc3).max()
    shutil.copy(tmp_path / "nacl" / "fc3.hdf5", tmp_path / "gaas" / "fc3.hdf5")
    with pytest.raises(ForceConstantsFormatError, match=r"gaas/fc3.hdf5: these third-order constants are not those of "
                                                        r"the crystal beside them \(2-atom primitive cell Ga, As, "
                                                        r"64-atom supercell\).* 100 % of the largest constant"):
        ForceConstants.read(tmp_path / "gaas")
