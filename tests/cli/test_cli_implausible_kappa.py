"""`trajmodes anharmonic` says so where kappa exceeds any crystal's: constants whose third order scatters almost
nothing (fitted from a harmonic run) gave an RTA kappa of 2e16 W/(m K) in silence."""
import numpy as np
import xarray as xr

from trajmodes.cli.anharmonic import IMPLAUSIBLE_KAPPA, implausible_kappa_lines


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
