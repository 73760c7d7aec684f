"""What puts the conductivity of :func:`trajmodes.workflows.three_phonon` in doubt is on its result
(``ThreePhonon.warnings``), the lines ``trajmodes anharmonic`` prints: a kappa above any crystal's (constants whose
third order scatters almost nothing, fitted from a harmonic run, gave an RTA kappa of 2e16 W/(m K) in silence), a
third order that scatters nothing at all (kappa 0 W/(m K), every mode left out of the sum), and a kappa carried by a
few modes."""
import numpy as np
import xarray as xr

from trajmodes.forceconstants import ForceConstants
from trajmodes.workflows.anharmonic import (IMPLAUSIBLE_KAPPA, implausible_kappa_lines, kappa_concentration_lines,
                                            three_phonon)


def _result(kappa_xx: float, fwhm: float) -> xr.Dataset:
    kappa = np.zeros((2, 3, 3))
    kappa[:, [0, 1, 2], [0, 1, 2]] = [[148.0] * 3, [kappa_xx, 148.0, 148.0]]
    return xr.Dataset({"kappa": (("temperature", "cartesian", "cartesian2"), kappa),
                       "linewidth": (("temperature", "q", "branch"), np.full((2, 4, 3), fwhm))},
                      coords={"temperature": [100.0, 300.0]})


def test_a_conductivity_above_any_crystals_is_said_with_its_widths():
    lines = implausible_kappa_lines(_result(2.18e16, 6.9e-18))
    assert len(lines) == 1 and lines[0].startswith("warning: at 300 K kappa reaches 2.18e+16 W/(m K)")
    assert "median FWHM 6.9e-18 THz" in lines[0] and "harmonic run" in lines[0]


def test_nothing_is_said_of_a_crystals_conductivity():
    assert implausible_kappa_lines(_result(2200.0, 0.01)) == []
    assert implausible_kappa_lines(_result(0.999 * IMPLAUSIBLE_KAPPA, 1e-5)) == []


def _scaled(fc, factor: float) -> ForceConstants:
    """``fc`` with its third order times ``factor``."""
    return ForceConstants(fc.fc2, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s, fc3=fc.fc3 * factor)


def test_the_workflow_result_carries_the_warnings_of_its_conductivity(cu_fc3):
    """Cu (EAM, fitted at 300 K; 4^3 mesh, Gaussian 0.2 THz): kappa 24 W/(m K), nothing said. The same fc2 with
    the third order times 1e-9 (what a fit of a harmonic run gives): kappa 2.4e19 W/(m K), said with its widths;
    times 0: every width zero and kappa 0 W/(m K), said as such (before: silent)."""
    honest = three_phonon(cu_fc3, 4, [300.0], smearing=0.2)
    assert 5.0 < honest.dataset["kappa"].values[0, 0, 0] < 200.0                        # measured 24.2
    assert honest.warnings == ()
    weak = three_phonon(_scaled(cu_fc3, 1e-9), 4, [300.0], smearing=0.2)
    assert len(weak.warnings) == 1 and weak.warnings[0].startswith("warning: at 300 K kappa reaches 2.4")
    ds = weak.dataset
    assert weak.warnings == tuple(kappa_concentration_lines(ds) + implausible_kappa_lines(ds))
    zero = three_phonon(_scaled(cu_fc3, 0.0), 4, [300.0], smearing=0.2)
    assert np.all(zero.dataset["kappa"].values == 0.0)
    assert len(zero.warnings) == 1 and zero.warnings[0].startswith(
        "warning: at 300 K every mode's width (FWHM) is zero") and "kappa (0 W/(m K))" in zero.warnings[0]


def test_without_the_conductivity_there_is_nothing_to_warn_of(cu_fc3):
    assert three_phonon(_scaled(cu_fc3, 1e-9), 4, [300.0], smearing=0.2, kappa=False).warnings == ()
