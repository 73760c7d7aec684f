"""TDEP's ``thermal_conductivity_2023`` test (tests/data/tdep_thermal_conductivity_2023/README.md): polar MgO,
``extract_forceconstants -rc2 0 -rc3 3 --polar`` then ``thermal_conductivity_2023 -qg 5 5 5`` (its defaults:
adaptive Gaussians, natural isotopes, the iterative solution, 100 to 300 K in 5 steps).

TDEP compares its table with ``assert_allclose(reference, new, atol=20, rtol=5)`` and the phonon DOS of
``outfile.cumulative_kappa.hdf5`` with ``atol=1, rtol=0.01``: the first accepts any conductivity above about
5 W/(m K), the second any DOS (it is below 1 state/THz everywhere). Both pass here, and beyond them the table is
reproduced setting for setting (:mod:`trajmodes.phonons.anharmonic.tdep2023`): on TDEP's fitted constants, the LBTE with the 2023
program's adaptive widths (``smearing="adaptive-tdep2023"``), its occupation factors off the energy shell
(``occupation_factors="off-shell"``, in the widths and in the scattering-in), TDEP's isotope overlap in a fixed
eigenvector basis and no rule of equal frequencies gives kxx within 0.26 % of TDEP's at every temperature (measured:
94.88, 77.83, 65.52, 56.26, 49.10 W/(m K) against 94.84, 77.66, 65.35, 56.12, 49.00). docs/tdep.md has the ladder of
settings and what each moves.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
from trajmodes.phonons.anharmonic.spectral import tdep_band_widths
from trajmodes.phonons.harmonic.phonons import Phonons

DATA = Path(__file__).parent.parent / "data" / "tdep_thermal_conductivity_2023"
TEMPERATURES = [100.0, 150.0, 200.0, 250.0, 300.0]
#: TDEP's kxx kyy kzz kxy kxz kyz kyx kzx kzy after T in its table
PAIRS = [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2), (1, 0), (2, 0), (2, 1)]


@pytest.fixture(scope="module")
def run(mgo):
    """Our LBTE on TDEP's constants with the settings of ``thermal_conductivity_2023``: its adaptive widths and
    isotope widths, its off-shell occupation factors, its isotope overlap, every three-phonon term (its 2023 program
    has no rule of equal frequencies). The mesh's Gamma takes the analytic modes, where TDEP's the LO-TO limit along
    (1, 0, 0) (measured < 0.1 % of kappa)."""
    an = Anharmonic(mgo, 5, TEMPERATURES, smearing="adaptive-tdep2023", occupation_factors="off-shell", isotopes=True,
                    isotope_overlap="tdep", equal_frequencies="keep")
    return an.thermal_conductivity(method="lbte")


def test_conductivity_table(run):
    """The table TDEP writes (T, then kxx kyy kzz kxy kxz kyz kyx kzx kzy in W/(m K)) from our LBTE with TDEP's
    settings, under TDEP's own assert and within 1 % (measured: 0.26 % at most, at 200 K; this TDEP rebuilt from the
    pinned commit prints 94.36 to 49.06, within 0.55 % of ours); TDEP's iterative correction over its RTA, 2.80 to 1.93
    W/(m K), is ours to 4 % (2.91 to 1.88)."""
    ref = np.loadtxt(DATA / "outfile.thermal_conductivity")
    assert ref.shape == (5, 10) and np.allclose(ref[:, 0], TEMPERATURES)
    k = run["kappa"].values
    ours = np.column_stack([TEMPERATURES] + [k[:, a, b] for a, b in PAIRS])
    np.testing.assert_allclose(ref, ours, atol=20, rtol=5)                             # TDEP's test
    kxx = ours[:, 1]
    np.testing.assert_allclose(kxx, ref[:, 1], rtol=0.01)
    np.testing.assert_allclose(kxx, [94.882, 77.832, 65.524, 56.256, 49.104], rtol=1e-3)
    np.testing.assert_allclose(ours[:, 2:4], np.column_stack([kxx, kxx]), rtol=1e-9)   # cubic: isotropic
    np.testing.assert_allclose(ours[:, 4:], 0.0, atol=1e-8 * kxx.max())
    rta = run["kappa_rta"].values[:, 0, 0]                      # TDEP (rebuilt): 91.56 74.66 62.74 53.92 47.13
    np.testing.assert_allclose(rta, [91.963, 74.832, 62.877, 54.033, 47.226], rtol=1e-3)
    np.testing.assert_allclose(kxx - rta, [2.80, 2.98, 2.65, 2.26, 1.93], rtol=0.06)


def test_band_shares_of_the_cumulative_kappa(run):
    """The per-band conductivity of ``outfile.cumulative_kappa.hdf5`` (``spectral_kappa_vs_frequency_per_mode``
    integrated over its axis), as shares of the total: ours within 0.015 of TDEP's at every temperature (measured
    6.3e-3 at most, the lowest band at 150 K). The totals of that file are not its table's (84.0 against 94.8 W/(m K)
    at 100 K, 48.3 against 49.0 at 300 K: the reference's two files do not come from one run; TDEP rebuilt writes both
    alike), so only the shares are compared."""
    h5py = pytest.importorskip("h5py")
    ours = run["mode_kappa"].values[:, :, :, 0, 0].sum(axis=1)                          # (T, band) kxx
    with h5py.File(DATA / "outfile.cumulative_kappa.hdf5") as h:
        axis = h["frequencies"][()]
        ref = np.array([np.trapezoid(h[f"temperature_{i + 1}/spectral_kappa_vs_frequency_per_mode"][()], axis)
                        for i in range(len(TEMPERATURES))])
    share, share_ref = ours / ours.sum(axis=1, keepdims=True), ref / ref.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(share, share_ref, atol=0.015)
    assert ref.sum(axis=1)[0] == pytest.approx(84.03, rel=1e-3)


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
