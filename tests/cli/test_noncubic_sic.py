"""A second wurtzite from LAMMPS, in the README's form and with the defaults only: 2H-SiC (Erhart and Albe's Tersoff
potential, Phys. Rev. B 71, 035211 (2005)), hexagonal P6_3mc, two species (Si 28.09, C 12.01 amu), four atoms per
primitive cell and a free internal coordinate u, run by the test itself (tests/support/lammps_wurtzite.py: 192 atoms,
NVT at 300 K at the 0 K lattice, 8 ps; at higher temperatures this potential's Si-Si cutoff, 0.12 A short of the second
neighbours, makes its own anharmonicity: see that module).

Oracles, each independent of the fit's own approximation:
- the run's full time average given as the reference (``trajmodes fit DUMP`` without ``--reference``): the same
  constants at Gamma as from the 0 K data file (``--reference DATA``) within 0.02 THz;
- the run's own MD lines (``trajmodes project``'s peaks of the kinetic-energy spectra): every mode at every
  commensurate q (the translations aside) within 3 % of the effective frequency;
- 0 K constants of the same potential from phonopy's finite displacements with LAMMPS' forces
  (tests/support/phonopy_lammps.py), on other primitive vectors (at 60 degrees), the atoms in another order and
  another origin (``--compare``): the largest difference the fit reports is the one phonopy's own frequencies give at
  the same Cartesian q (not at the same reduced coordinates, which differ there by THz), of physical size at 300 K
  (under 4 % of the frequency).
"""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import trajmodes
from trajmodes import Phonons

from tests.support import lammps_wurtzite, phonopy_lammps
from tests.support.lammps_md import lammps_module, require_potential
from tests.support.phonopy_lammps import run_cli

pytestmark = pytest.mark.slow

CELLS = (4, 4, 3)
#: the special points of the hexagonal cell the generator writes (a1 = a x, a2 at 120 degrees, a3 = c z)
HEX = {"G": (0, 0, 0), "M": (0.5, 0, 0), "K": (1 / 3, 1 / 3, 0), "A": (0, 0, 0.5), "L": (0.5, 0, 0.5),
       "H": (1 / 3, 1 / 3, 0.5)}
PATH = ["GMKGALHA", "LM", "KH"]


@pytest.fixture(scope="module")
def sic(tmp_path_factory):
    if lammps_module() is None:
        pytest.skip("the lammps Python module is not installed")
    pytest.importorskip("phonopy")
    work = tmp_path_factory.mktemp("sic")
    files = lammps_wurtzite.generate(work, "SiC", T=300.0, ps=8.0, cells=CELLS, neq_ps=3.0)
    # 0 K constants from phonopy on another basis: b1 = a1, b2 = a1 + a2 (at 60 degrees: every two bases at 120 degrees
    # are related by a symmetry of the frequencies, 6/mmm), C first, a C atom at the origin
    prim, frac, types = phonopy_lammps.primitive_of_data(files["data"], CELLS, 4)
    w = lammps_wurtzite.MATERIALS["SiC"]
    labels = [w.species[t - 1] for t in types]
    cell, f, symbols = phonopy_lammps.another_basis(prim, frac, labels, [[1, 0, 0], [1, 1, 0], [0, 0, 1]],
                                                    [2, 3, 0, 1])
    masses = [dict(zip(w.species, w.masses))[s] for s in symbols]
    setup = [f"mass 1 {w.masses[0]}", f"mass 2 {w.masses[1]}", "pair_style tersoff",
             f"pair_coeff * * {require_potential(w.potential)} Si C"]
    ph = phonopy_lammps.zero_kelvin_phonopy(cell, f, symbols, masses, np.diag(CELLS), setup, {"Si": 1, "C": 2},
                                            folder=work / "phonopy_0K")
    # the README's fit from the 0 K data file, compared with those constants
    out, seen = run_cli(["fit", files["dump"], "--reference", files["data"], "--compare", work / "phonopy_0K", "-o",
                         work / "fit"])
    return dict(files, work=work, prim=prim, ph=ph, fit=work / "fit", out=out, warnings=seen)


def _gamma(fc_path) -> np.ndarray:
    return Phonons(trajmodes.ForceConstants.read(fc_path, "netcdf")).frequencies([[0, 0, 0]])[0]


def test_fit_from_the_0K_data_file_is_the_fit_from_the_runs_average(sic):
    assert not sic["warnings"], sic["warnings"]
    assert (sic["fit"] / "fc.png").stat().st_size > 10_000
    nu = _gamma(sic["fit"] / "fc.nc")
    seen = run_cli(["fit", sic["dump"], "-o", sic["work"] / "fit_average"])[1]     # reference: the run's average
    assert not seen, seen
    np.testing.assert_allclose(_gamma(sic["work"] / "fit_average" / "fc.nc"), nu, atol=0.02,
                               err_msg="the fit from the 0 K data file and from the run's average differ at Gamma")


def test_the_runs_own_lines_sit_on_the_effective_frequencies(sic):
    """Every mode of every commensurate q projected from the run (the translations aside): its MD line within 3 % of
    the effective frequency (the fit's; at Gamma those of the fit's file, to round-off)."""
    modes = sic["work"] / "modes"
    _, seen = run_cli(["project", sic["dump"], "--reference", sic["data"], "--force-constants", sic["fit"] / "fc.nc",
                       "-o", modes])
    assert not seen, seen
    nu = np.sort(_gamma(sic["fit"] / "fc.nc"))
    with xr.open_dataset(modes / "modes.nc") as ds:
        g = int(np.flatnonzero(np.abs(ds.qpoint.values).sum(axis=1) < 1e-9)[0])
        harmonic = ds["frequency_harmonic"].values
        peaks = ds["peak_frequency"].values
    np.testing.assert_allclose(harmonic[g], nu, atol=1e-6)
    live = harmonic > 1.0                      # all but the three translations at Gamma
    assert live.sum() == harmonic.size - 3
    rel = peaks[live] / harmonic[live] - 1
    assert np.all(np.isfinite(rel)) and np.all(np.abs(rel) < 0.03), (np.nanmax(np.abs(rel)), harmonic[live])


def test_compare_with_phonopy_on_another_primitive_basis(sic):
    """The largest difference the fit reports against phonopy's 0 K constants on another basis: the same as phonopy's
    frequencies give at the same Cartesian q, at the q it names and along the whole band path, a few per cent at
    300 K; the same reduced coordinates in phonopy's basis would differ by THz."""
    diff, branch, q, line = phonopy_lammps.largest_difference_line(sic["out"])
    fc = trajmodes.ForceConstants.read(sic["fit"] / "fc.nc")
    fit_cell = fc.primitive.cell
    ph = sic["ph"]
    # at the q the line names (reduced coordinates of the fit's basis)
    nu = Phonons(fc).frequencies([q])[0]
    nu0 = phonopy_lammps.phonopy_frequencies(ph, [q @ np.linalg.inv(fit_cell).T])[0]
    assert abs((nu - nu0)[branch] - diff) < 2e-3, (line, nu - nu0)
    assert abs(diff) < 0.04 * nu[branch], line
    # along the band path, in Cartesian coordinates of the generator's hexagonal cell
    qc = phonopy_lammps.reduced_path(HEX, PATH) @ np.linalg.inv(sic["prim"]).T
    eff = Phonons(fc).frequencies(qc @ fit_cell.T)
    zero = phonopy_lammps.phonopy_frequencies(ph, qc)
    largest = np.abs(eff - zero).max()
    assert abs(abs(diff) - largest) < 0.03, (line, largest)
    assert 0.05 < largest, largest                 # 300 K is not 0 K
    # the bases differ: the same reduced coordinates are other points of the zone
    naive = phonopy_lammps.phonopy_frequencies(ph, (qc @ fit_cell.T) @ np.linalg.inv(ph.primitive.cell).T)
    assert np.abs(eff - naive).max() > 1.0, np.abs(eff - naive).max()
