"""phono3py on the same force constants as trajmodes, for the comparisons of the three-phonon tests."""
from __future__ import annotations

import numpy as np
import pytest

from trajmodes.forceconstants.model import ForceConstants


def phono3py_on(fc, folder, mesh, sigma, use_grg: bool = False):
    """A phono3py object on ``fc``'s fc2 and fc3 (written by :meth:`ForceConstants.to_phono3py` into ``folder``),
    with ``mesh`` (three numbers, or a 3 x 3 grid matrix with ``use_grg``) and one smearing ``sigma`` (None:
    tetrahedra), its interaction initialised with the tetrahedron weights averaged over degenerate sets as trajmodes
    does (``average_degenerate_weights``; without it phono3py's tetrahedron widths depend on the eigenvector basis).
    Skips the test when phono3py is not installed."""
    phono3py = pytest.importorskip("phono3py")
    fc.to_phono3py(folder)
    ph3 = phono3py.load(str(folder / "phono3py_params.yaml"), fc2_filename=str(folder / "fc2.hdf5"),
                        fc3_filename=str(folder / "fc3.hdf5"), symmetrize_fc=False, produce_fc=False, log_level=0,
                        use_grg=use_grg)
    ph3.mesh_numbers = np.asarray(mesh)
    ph3.sigmas = [sigma]
    ph3.init_phph_interaction(average_degenerate_weights=True)
    return ph3


def with_fc3(fc, fc3):
    """``fc`` with another third-order part."""
    return ForceConstants(fc.fc2, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s, fc3=fc3)
