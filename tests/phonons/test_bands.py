"""Band structures: default high-symmetry paths and frequencies along them against phonopy."""
import warnings

import numpy as np
import pytest

from trajmodes import Crystal, Phonons
from trajmodes.lattice.paths import bravais_lattice, default_path, special_points
from tests.support.phonopy_cases import CASES, phonopy_case

phonopy = pytest.importorskip("phonopy")


@pytest.mark.parametrize("name", list(CASES))
def test_against_phonopy(name):
    prim, S, pot = CASES[name]
    fc, ph = phonopy_case(prim, S, **pot)
    bs = Phonons(fc).band_structure(npoints=21)
    seg = bs.segment.values
    pieces = [bs.qpoint.values[seg == k] for k in np.unique(seg)]
    ph.run_band_structure(pieces)
    band = ph.band_structure
    fp, dp = np.concatenate(band.frequencies), np.concatenate(band.distances)
    f = bs.frequency.values
    tol = np.where(np.abs(fp) < 1e-3, 1e-6, 1e-9)          # acoustic zeros at Gamma: sqrt(round-off)
    assert (np.abs(f - fp) < tol).all()
    assert np.abs(bs.distance.values - dp).max() < 1e-12
    assert bs.frequency.attrs["units"] == "THz" and bs.distance.attrs["units"] == "1/Angstrom"
    assert bs.attrs["tick_labels"] == ["Γ", "X", "W", "K", "Γ", "L", "U", "W", "L", "K|U", "X"]   # Setyawan-Curtarolo
    # fcc: two-fold degeneracies at X and L (transverse; diamond: all three pairs at X); K = U
    lab = bs.label.values
    at = {k: f[np.flatnonzero(lab == k)[0]] for k in ["Γ", "X", "L", "K", "U", "W"]}
    expected = {"X": 3, "L": 2} if name.startswith("Si") else {"X": 1, "L": 1}
    for k, npairs in expected.items():
        assert (np.abs(np.diff(at[k])) < 1e-6).sum() == npairs
    assert np.abs(at["K"] - at["U"]).max() < 1e-8
    assert np.abs(at["Γ"][:3]).max() < 1e-5


def test_special_points_cartesian():
    a = 3.0
    rec = lambda c: c.reciprocal_cell                      # noqa: E731
    fcc = Crystal(np.array([[0, .5, .5], [.5, 0, .5], [.5, .5, 0]]) * a, [[0, 0, 0]], ["Cu"])
    sp = special_points(fcc)
    assert bravais_lattice(fcc) == "cF"
    assert np.allclose(sp["X"] @ rec(fcc), [0, 1 / a, 0]) and np.allclose(sp["L"] @ rec(fcc), [.5 / a] * 3)
    assert np.allclose(sp["W"] @ rec(fcc), [.5 / a, 1 / a, 0])
    bcc = Crystal(np.array([[-.5, .5, .5], [.5, -.5, .5], [.5, .5, -.5]]) * a, [[0, 0, 0]], ["Fe"])
    assert bravais_lattice(bcc) == "cI"
    assert np.allclose(special_points(bcc)["H"] @ rec(bcc), [0, 1 / a, 0])          # next to N = (1/2, 1/2, 0) / a
    assert np.allclose(special_points(bcc)["N"] @ rec(bcc), [.5 / a, .5 / a, 0])
    sc = Crystal(np.eye(3) * a, [[0, 0, 0]], ["Po"])
    assert np.allclose(special_points(sc)["R"] @ rec(sc), [.5 / a] * 3)
    c = 1.6 * a
    hcp = Crystal([[a, 0, 0], [-a / 2, a * 3 ** .5 / 2, 0], [0, 0, c]],
                  np.array([[1 / 3, 2 / 3, .25], [2 / 3, 1 / 3, .75]]) @ [[a, 0, 0], [-a / 2, a * 3 ** .5 / 2, 0],
                                                                         [0, 0, c]], ["Mg", "Mg"])
    sp = special_points(hcp)
    assert bravais_lattice(hcp) == "hP"
    assert np.isclose(np.linalg.norm(sp["K"] @ rec(hcp)), 2 / (3 * a))
    assert np.isclose(np.linalg.norm(sp["M"] @ rec(hcp)), 1 / (3 ** .5 * a))
    assert np.isclose(np.linalg.norm(sp["A"] @ rec(hcp)), 1 / (2 * c))
    tri = Crystal([[3, 0, 0], [0, 4, 0], [1, 0, 5]], [[0, 0, 0], [1.1, 1.3, 0.7]], ["Cu", "Ag"])     # P1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pieces, labels = default_path(tri)
    assert bravais_lattice(tri) == "aP"
    assert labels == [["X", "Γ", "Y"], ["L", "Γ", "Z"], ["N", "Γ", "M"], ["R", "Γ"]]
    assert np.allclose(np.abs(2 * pieces[0][0]), np.rint(np.abs(2 * pieces[0][0])))     # half a reciprocal vector


def test_user_paths_and_labels():
    prim, S, pot = CASES["Cu-444"]
    fc, _ = phonopy_case(prim, S, **pot)
    p = Phonons(fc)
    bs = p.band_structure("GX|KL", npoints=3)
    assert list(bs.label.values) == ["Γ", "", "X", "K", "", "L"]
    assert list(p.band_structure("GXL", npoints=3).label.values) == ["Γ", "", "X", "X", "", "L"]
    assert bs.attrs["tick_labels"] == ["Γ", "X|K", "L"]
    q = [[0, 0, 0], [0.5, 0, 0.5], [0.5, 0.5, 0.5]]
    bs = p.band_structure(q, npoints=5, labels=["A", "B", "C"], with_group_velocities=True)
    assert bs.frequency.shape == (10, 3) and bs.group_velocity.shape == (10, 3, 3)
    assert np.allclose(bs.frequency.values, p.frequencies(bs.qpoint.values))
    assert list(bs.label.values[[0, 4, 5, 9]]) == ["A", "B", "B", "C"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p.band_structure([[[0, 0, 0], [0.5, 0, 0]], [[0, 0.5, 0], [0, 0, 0]]], npoints=2)
    with pytest.raises(ValueError):
        p.band_structure("GQ")
