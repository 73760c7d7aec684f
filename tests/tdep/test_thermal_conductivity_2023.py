"""TDEP's ``thermal_conductivity_2023`` test (tests/data/tdep_thermal_conductivity_2023/README.md): polar MgO,
``extract_forceconstants -rc2 0 -rc3 3 --polar`` then ``thermal_conductivity_2023 -qg 5 5 5`` (its defaults:
adaptive Gaussians, natural isotopes, the iterative solution, 100 to 300 K in 5 steps).

TDEP compares its table with ``assert_allclose(reference, new, atol=20, rtol=5)`` and the phonon DOS of
``outfile.cumulative_kappa.hdf5`` with ``atol=1, rtol=0.01``. Both pass here, but the first accepts any conductivity
above about 5 W/(m K) and the second any DOS (it is below 1 state/THz everywhere): they check the DOS axis and little
else. What is measured beside them: our LBTE conductivity (TDEP's fitted constants, its rule of equal frequencies,
adaptive Gaussians, isotopes) is 78.4 W/(m K) at 300 K where TDEP 2023 prints 49.0, and 114.9 against 94.8 at 100 K;
the DOS has TDEP's axis and its mean and root-mean-square frequency to 0.8 %.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trajmodes.phonons.anharmonic import Anharmonic
from trajmodes.phonons.anharmonic_free_energy import tdep_band_widths
from trajmodes.phonons.harmonic import Phonons

DATA = Path(__file__).parent.parent / "data" / "tdep_thermal_conductivity_2023"
TEMPERATURES = [100.0, 150.0, 200.0, 250.0, 300.0]


def test_conductivity_table(mgo):
    """The table TDEP writes (T, then kxx kyy kzz kxy kxz kyz kyx kzx kzy... in W/(m K)) from the LBTE with TDEP's
    settings, under TDEP's own assert; and what we measure: ours above TDEP 2023's by 21 % at 100 K and 60 % at 300 K
    (its newer ``thermal_conductivity`` is the program whose three-phonon widths ours reproduce,
    tests/tdep/test_thermal_conductivity.py)."""
    ref = np.loadtxt(DATA / "outfile.thermal_conductivity")
    assert ref.shape == (5, 10) and np.allclose(ref[:, 0], TEMPERATURES)
    an = Anharmonic(mgo, 5, TEMPERATURES, smearing="adaptive", isotopes=True, equal_frequencies="drop")
    k = an.thermal_conductivity(method="lbte")["kappa"].values
    ours = np.column_stack([TEMPERATURES] + [k[:, a, b] for a, b in
                                             [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2), (1, 0), (2, 0), (2, 1)]])
    np.testing.assert_allclose(ref, ours, atol=20, rtol=5)                             # TDEP's test
    kxx = ours[:, 1]
    np.testing.assert_allclose(kxx, [114.93, 101.26, 92.52, 85.07, 78.41], rtol=1e-3)
    assert (kxx > ref[:, 1]).all() and (np.diff(kxx) < 0).all()
    np.testing.assert_allclose(ours[:, 4:], 0.0, atol=1e-8 * kxx.max())               # cubic: isotropic


def test_dos(mgo):
    """The phonon DOS of ``outfile.cumulative_kappa.hdf5``: TDEP's axis runs from 0 to nu_max + 4.01 times the
    largest of its per-band widths, 400 points, nu_max being the LO mode at Gamma (along (1, 0, 0)): 51.756 THz,
    ours to 1.2e-7; our Gaussian DOS (0.3 THz) on TDEP's axis passes TDEP's assert and has its mean frequency (11.94
    against 11.99 THz), its root-mean-square frequency (12.42 against 12.51) and the oxygen site's mean (13.24 against
    13.19) to 0.8 %."""
    xr = pytest.importorskip("xarray")
    ref = xr.load_dataset(DATA / "outfile.cumulative_kappa.hdf5")
    axis = ref["frequencies"].values
    an = Anharmonic(mgo, 5, [300.0], smearing="adaptive")
    nu = an.frequencies
    lo = Phonons(mgo).frequencies([[0.0, 0.0, 0.0]], q_direction=(1.0, 0.0, 0.0)).max()    # 20.918 THz
    ours_end = max(nu.max(), lo) + 4.01 * tdep_band_widths(nu[an.grid.irreducible]).max()
    assert len(axis) == 400 and axis[0] == 0 and ours_end == pytest.approx(axis[-1], rel=1e-6)
    dos = Phonons(mgo).dos(mesh=(5, 5, 5), method="gaussian", sigma=0.3, frequencies=axis)
    g, site = dos["total"].values, dos["projected"].values
    np.testing.assert_allclose(ref["dos"].values, g, atol=1, rtol=0.01)                 # TDEP's test
    np.testing.assert_allclose(ref["frequencies"].values, axis, atol=1, rtol=0.01)

    def moment(y, p):
        return (np.trapezoid(y * axis ** p, axis) / np.trapezoid(y, axis)) ** (1 / p)

    for p in (1, 2):
        assert moment(g, p) == pytest.approx(moment(ref["dos"].values, p), rel=8e-3)
    assert moment(site[0], 1) == pytest.approx(moment(ref["dos_per_site"].values[0], 1), rel=8e-3)
