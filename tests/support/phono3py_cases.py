"""phono3py on the same force constants as trajmodes, for the comparisons of the three-phonon tests."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from trajmodes.forceconstants.model import ForceConstants
from tests.support.paths import DATA


#: phono3py objects loaded in this process, by the content of the constants and ``use_grg``: a load costs seconds
#: (phonopy's symmetry of the supercell), and the tests ask for the same constants on many meshes and smearings
_LOADED: dict = {}


def _content_key(fc, use_grg: bool) -> str:
    h = hashlib.sha256()
    for a in (fc.fc2, fc.fc3, fc.supercell.cell, fc.supercell.positions, fc.supercell.masses, fc.p2s):
        h.update(np.ascontiguousarray(a).tobytes())
    h.update(str(bool(use_grg)).encode())
    return h.hexdigest()


def loaded_phono3py(fc, folder, use_grg: bool = False):
    """phono3py loaded on ``fc``'s fc2 (and fc3 where it has one), written by :meth:`ForceConstants.write` (phono3py)
    into ``folder`` on the first call for these constants in this process and kept (:data:`_LOADED`): the object itself,
    shared by its callers. Skips the test when phono3py is not installed."""
    phono3py = pytest.importorskip("phono3py")
    key = _content_key(fc, use_grg)
    if key not in _LOADED:
        fc.write(folder, "phono3py")
        fc3 = {"fc3_filename": str(folder / "fc3.hdf5")} if fc.fc3 is not None else {}
        _LOADED[key] = phono3py.load(str(folder / "phono3py_params.yaml"), fc2_filename=str(folder / "fc2.hdf5"),
                                     symmetrize_fc=False, produce_fc=False, log_level=0, use_grg=use_grg, **fc3)
    return _LOADED[key]


def phono3py_on(fc, folder, mesh, sigma, use_grg: bool = False):
    """A phono3py object on ``fc``'s fc2 and fc3 (written by :meth:`ForceConstants.write` (phono3py) into ``folder``,
    loaded once per process for the same constants: :data:`_LOADED`), with ``mesh`` (three numbers, or a 3 x 3 grid
    matrix with ``use_grg``) and one smearing ``sigma`` (None: tetrahedra), its interaction initialised with the
    tetrahedron weights averaged over degenerate sets as trajmodes does (``average_degenerate_weights``; without it
    phono3py's tetrahedron widths depend on the eigenvector basis). Skips the test when phono3py is not installed."""
    ph3 = loaded_phono3py(fc, folder, use_grg)
    ph3.mesh_numbers = np.asarray(mesh)
    ph3.sigmas = [sigma]
    ph3.init_phph_interaction(average_degenerate_weights=True)
    return ph3


def with_fc3(fc, fc3):
    """``fc`` with another third-order part."""
    return ForceConstants(fc.fc2, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s, fc3=fc3)


def si_pbesol_constants(folder):
    """phono3py's fc2 and fc3 of its Si-PBEsol example (tests/data/phono3py_si_pbesol; phono3py's default fc
    calculator), written as phono3py files (``phono3py_params.yaml``, ``fc2.hdf5``, ``fc3.hdf5``) into ``folder``:
    (folder, ForceConstants read from it). Skips the test when phono3py is not installed."""
    phono3py = pytest.importorskip("phono3py")
    from phono3py.file_IO import write_fc2_to_hdf5, write_fc3_to_hdf5
    si = DATA / "phono3py_si_pbesol"
    ph3 = phono3py.load(str(si / "phono3py_disp.yaml"), forces_fc3_filename=str(si / "FORCES_FC3"), produce_fc=True,
                        log_level=0)
    ph3.save(str(folder / "phono3py_params.yaml"))
    write_fc3_to_hdf5(ph3.fc3, filename=str(folder / "fc3.hdf5"), p2s_map=ph3.primitive.p2s_map)
    write_fc2_to_hdf5(ph3.fc2, filename=str(folder / "fc2.hdf5"), p2s_map=ph3.primitive.p2s_map)
    return folder, ForceConstants.read(folder, "phono3py")
