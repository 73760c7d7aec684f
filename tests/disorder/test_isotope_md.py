"""A LAMMPS crystal with a 30 % mass contrast at 5 K (fcc Cu EAM, 256 atoms, half the atoms 15 % lighter, half 15 %
heavier): its lines, projected on the virtual crystal's modes and fitted by fit_peaks, have the widths and shifts of
the exact harmonic lineshapes of the same sample (its own dynamical matrix, drawn through the same window and fitted
the same way) within their errors; Tamura's lowest order departs from both at the top of the band."""
import warnings

import numpy as np
import pytest

import trajmodes
from tests.support.lammps_isotopes import generate
from tests.support.lammps_md import find_potential, lammps_module
from trajmodes.disorder.mass_disorder import exact_lineshapes, expected_spectra, site_masses
from trajmodes.modes.projection import trajectory_map

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    if lammps_module() is None or find_potential("Cu_mishin1.eam.alloy") is None:
        pytest.skip("needs the lammps module and its Cu_mishin1.eam.alloy")
    return generate(tmp_path_factory.mktemp("isotopes"), temperature=5.0, ps=100.0)


def test_md_lines_are_the_exact_harmonic_lineshapes_of_the_sample(run):
    from trajmodes.lattice.grid import Grid
    from trajmodes.phonons.anharmonic.isotope import isotope_gamma
    from trajmodes.workflows import eam_crystal
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traj = trajmodes.read(str(run["dump"]), species={1: "Cu", 2: "Cu"}, masses=run["masses"],
                              reference="average")
        fc = eam_crystal(find_potential("Cu_mishin1.eam.alloy"), "fcc", 3.615, supercell=4).force_constants
        ph = trajmodes.Phonons(fc)
        smap, _, masses = trajectory_map(traj, ph)
        mbar, g2 = site_masses(masses, smap)
        assert mbar == pytest.approx([63.55], rel=1e-12) and g2 == pytest.approx([0.0225], rel=1e-12)
        spectra = trajmodes.mode_spectra(trajmodes.project(traj, ph), resolution=0.05)
        md = trajmodes.fit_peaks(spectra)
        # the sample's masses on the constants' supercell (the same lattice: a translation at most)
        m_fc = np.empty(len(masses))
        m_fc[fc.smap.index(smap.atom, smap.lattice)] = masses
        exact = trajmodes.fit_peaks(expected_spectra(exact_lineshapes(fc, m_fc), spectra, run["temperature"]))
    nu = spectra.frequency_harmonic.values
    fitted = np.isfinite(md.fwhm.values) & np.isfinite(exact.fwhm.values) & (md.fwhm_err.values < md.fwhm.values)
    broad = fitted & (exact.fwhm.values > 0.1)                      # twice the resolution: lines the run resolves
    assert broad.sum() > 100, broad.sum()
    z = (md.fwhm.values - exact.fwhm.values)[broad] / md.fwhm_err.values[broad]
    assert np.mean(np.abs(z) < 2) > 0.9 and np.abs(z).max() < 4, np.sort(np.abs(z))[-5:]
    dz = (md["shift"].values - exact["shift"].values)[broad] / md.frequency_err.values[broad]
    assert np.mean(np.abs(dz) < 3) > 0.9, np.sort(np.abs(dz))[-5:]
    # the disorder moves the band top up by about 0.2 THz (both), which the virtual crystal does not have
    top = broad & (nu > 7.0)
    assert np.all(exact["shift"].values[top] > 0.1) and np.all(md["shift"].values[top] > 0.1)
    # Tamura's lowest order (tetrahedra on a 24-mesh of the virtual crystal) holds in the middle of the band and not
    # at its top
    grid = Grid(24)
    f, e = ph.dm.frequencies_and_eigenvectors(grid.qpoints)
    gps = grid.index(np.rint(spectra.qpoint.values * 24).astype(int) % 24)
    tamura = 2 * isotope_gamma(f, e, g2, grid, gps, smearing=None, reciprocal_cell=fc.primitive.reciprocal_cell)
    middle = broad & (nu > 3.0) & (nu < 4.7)
    ratio = tamura[middle] / exact.fwhm.values[middle]
    assert 0.8 < np.median(ratio) < 1.25, np.median(ratio)
    upper = broad & (nu > 6.5)
    assert np.median(np.abs(tamura[upper] / exact.fwhm.values[upper] - 1)) > 0.3
