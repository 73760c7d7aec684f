"""Adaptive Gaussian smearing (the width of each delta function from the group velocities of its modes, TDEP's
``thermal_conductivity`` integration type 2): the variances by their formula, and the adaptive sums against the
fixed-width ones where every mode is given the same variance (then the two are the same sums)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from trajmodes import ForceConstants
from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
from trajmodes.phonons.anharmonic.selfenergy import DeltaWeights, adaptive_variances

MGO = Path(__file__).parent.parent / "data" / "tdep_mgo"


@pytest.fixture(scope="module")
def mgo(tmp_path_factory):
    """TDEP's MgO constants (its extract_forceconstants reference: polar fc2, nearest-neighbour fc3)."""
    d = tmp_path_factory.mktemp("mgo")
    for name in ("infile.ucposcar", "infile.ssposcar", "outfile.forceconstant", "outfile.forceconstant_thirdorder"):
        shutil.copy(MGO / name, d / name.replace("outfile.", "infile."))
    return ForceConstants.read(d, "tdep")


def test_variances_formula():
    """sigma^2 = max_j 1/2 (|v|.m_j / 2 pi)^2 + 1e-4 x the largest mesh mean, by hand for two modes."""
    m = np.diag([0.1, 0.2, 0.4])
    v = np.array([[[10.0, -20.0, 0.0], [0.0, 0.0, 0.0]]])                   # one star, two branches, A/ps
    var = adaptive_variances(v, m, [1], cutoff_mask=np.array([[False, True]]))
    own = 0.5 * (np.array([1.0, 4.0, 0.0]) / (2 * np.pi)) ** 2              # |v_j| m_jj per edge
    assert var[0, 0] == pytest.approx(own.max() * (1 + 1e-4), rel=1e-14)
    assert var[0, 1] == pytest.approx(own.max() * 1e-4, rel=1e-14)          # left out: the baseline only


def test_adaptive_with_equal_variances_is_fixed_smearing(mgo):
    """Every mode given sigma^2 / 3 (three-phonon) or sigma^2 / 2 (isotopes): the adaptive widths, the
    off-shell self-energy and LBTE collision matrix are those of the fixed Gaussian sigma, to round-off."""
    sigma = 0.7
    fixed = Anharmonic(mgo, 4, [300.0], smearing=sigma)
    an = Anharmonic(mgo, 4, [300.0], smearing="adaptive")
    assert an.deltas.variances.shape == an.frequencies.shape and (an.deltas.variances > 0).all()
    an.deltas.variances = np.full_like(an.deltas.variances, sigma ** 2 / 3)
    a, b = an.linewidths().gamma.values, fixed.linewidths().gamma.values
    assert np.abs(a - b).max() < 1e-12 * b.max()
    nu = np.linspace(1.0, 25.0, 7)
    sa, sb = an.self_energy(5, frequencies=nu), fixed.self_energy(5, frequencies=nu)
    assert np.abs(sa.gamma - sb.gamma).max() < 1e-12 * np.abs(sb.gamma).max()
    ka, kb = an.thermal_conductivity("lbte"), fixed.thermal_conductivity("lbte")
    np.testing.assert_allclose(ka.kappa, kb.kappa, rtol=1e-10)
    fixed = Anharmonic(mgo, 4, [300.0], smearing=sigma, isotopes=True)
    an = Anharmonic(mgo, 4, [300.0], smearing="adaptive", isotopes=True)
    an.deltas.variances = np.full_like(an.deltas.variances, sigma ** 2 / 2)
    np.testing.assert_allclose(an.isotope_gamma(an.grid.irreducible), fixed.isotope_gamma(fixed.grid.irreducible),
                               rtol=1e-12, atol=1e-15)


def test_adaptive_widths_follow_the_velocities(mgo):
    """The variances on the mesh are one per star (the representative's), zero-velocity modes keep the baseline,
    and the widths are finite, positive and symmetric (degenerate branches equal)."""
    an = Anharmonic(mgo, 4, [300.0], smearing="adaptive")
    var = an.deltas.variances
    g = an.grid
    np.testing.assert_array_equal(var, var[g.star_of])
    assert var[0, :3].max() == pytest.approx(var.min())                    # acoustic at Gamma: the baseline
    lw = an.linewidths()
    assert np.isfinite(lw.gamma).all() and float(lw.gamma.isel(q=slice(1, None)).min()) > 0
    assert lw.attrs["method"] == "adaptive gaussian"


def test_adaptive_refusals(mgo):
    with pytest.raises(ValueError, match="adaptive smearing is available on regular meshes"):
        Anharmonic(mgo, [[-1, 1, 1], [1, -1, 1], [1, 1, -1]], [300.0], smearing="adaptive")
    with pytest.raises(ValueError, match="smearing must be a width in THz"):
        Anharmonic(mgo, 4, [300.0], smearing="wide")
    an = Anharmonic(mgo, 2, [300.0], smearing="adaptive")
    with pytest.raises(ValueError, match="needs the variance"):
        DeltaWeights(an.grid, an.frequencies, "adaptive")
