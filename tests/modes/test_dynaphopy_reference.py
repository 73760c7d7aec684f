"""The long runs' DynaPhoPy reference (tests/support/long_md.py) builds DynaPhoPy's phonopy object of a structure once
(``one_phonopy_per_structure``) and gets from it the eigenvectors and frequencies DynaPhoPy gets from its own, bit for
bit."""
from __future__ import annotations

import numpy as np
import pytest

from tests.support.long_md import one_phonopy_per_structure


def _structure():
    """DynaPhoPy's structure of fcc Cu on 2 x 2 x 2 conventional cells with the committed EAM constants, built as
    benchmarks/dynaphopy_reference.py builds the long runs' one."""
    pytest.importorskip("dynaphopy")
    from benchmarks import dynaphopy_reference as dref
    from dynaphopy.atoms import Structure
    from dynaphopy.interface.phonopy_link import ForceConstants
    spec, n, a = dref.SYSTEMS["cu"], 2, 3.6319
    ph = dref.md_supercell_phonopy(dict(spec=spec, n=n, name="cu", conv_cell=np.eye(3) * a))
    return Structure(cell=np.eye(3) * a, scaled_positions=spec["basis"], atomic_elements=["Cu"] * len(spec["basis"]),
                     primitive_matrix=dref.FCC_PRIM,
                     force_constants=ForceConstants(ph.force_constants, supercell=np.diag([n, n, n])))


def test_one_phonopy_object_per_structure_gives_dynaphopys_own_eigenvectors(monkeypatch):
    structure = _structure()
    from dynaphopy.interface import phonopy_link as link
    builds = []
    build = link.get_phonon

    def counted(*args, **kwargs):
        builds.append(args[0])
        return build(*args, **kwargs)
    monkeypatch.setattr(link, "get_phonon", counted)
    qs = [(0.0, 0.5, 0.5), (0.5, 0.5, 0.5), (0.0, 0.5, 0.5)]
    theirs = [link.obtain_eigenvectors_and_frequencies(structure, q, print_data=False) for q in qs]
    assert len(builds) == 3                                            # DynaPhoPy's own: one object per call
    builds.clear()
    eigenvectors = link.obtain_eigenvectors_and_frequencies
    with one_phonopy_per_structure():
        ours = [link.obtain_eigenvectors_and_frequencies(structure, q, print_data=False) for q in qs]
        other = _structure()                                           # another structure: its own object
        link.obtain_eigenvectors_and_frequencies(other, qs[0], print_data=False)
        assert builds == [structure, other]
    for (e0, f0), (e1, f1) in zip(theirs, ours):
        assert np.array_equal(e0, e1) and np.array_equal(f0, f1)
    assert link.obtain_eigenvectors_and_frequencies is eigenvectors and link.get_phonon is counted
