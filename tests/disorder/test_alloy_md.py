"""A LAMMPS alloy with force-constant disorder (tests/support/lammps_alloy.py: fcc Cu-Ni at random, Lennard-Jones
bonds of three stiffnesses, 256 atoms, NVE at 5 K and at 1.25 K): the fit finds the virtual crystal, fits both the
virtual-crystal and the species-resolved constants with error bars; the species pairs' constants differ by thousands
of error bars, shift linearly with temperature (the anharmonic renormalisation of the effective constants) and
extrapolate to the potential's analytic phi''(r0) at T = 0 within their errors; and the MD lines, projected on the
virtual crystal's modes, have the widths of the exact lineshapes of the sample's fitted constants, which mass disorder
alone does not give."""
import warnings

import numpy as np
import pytest

import trajmodes
from tests.support.lammps_alloy import SPECIES, bond_stiffness, generate
from tests.support.lammps_md import lammps_module
from trajmodes.disorder.mass_disorder import exact_lineshapes, expected_spectra
from trajmodes.forceconstants.fit import EffectiveForceConstants
from trajmodes.modes.projection import trajectory_map

pytestmark = pytest.mark.slow

TEMPERATURES = (5.0, 1.25)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    if lammps_module() is None:
        pytest.skip("needs the lammps module")
    base = tmp_path_factory.mktemp("alloy")
    return {T: generate(base / f"T{T}", temperature=T, ps=100.0) for T in TEMPERATURES}


def read(run, species=None):
    return trajmodes.read(str(run["dump"]), species=species or run["species"], masses=run["masses"],
                          reference=str(run["data"]) if species is None else "average")


@pytest.fixture(scope="module")
def fits(runs):
    out = {}
    for T, run in runs.items():
        traj = read(run)
        with pytest.warns(UserWarning, match="disordered on the sites of a lattice"):
            vca = EffectiveForceConstants(cutoff2=4.0).fit(traj)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")              # the blocking analysis' notes on these short runs
            vca.bootstrap(100)
            res = EffectiveForceConstants(cutoff2=4.0, species_resolved=True).fit(traj).bootstrap(100)
        out[T] = (vca, res)
    return out


def test_species_pair_constants_are_the_potentials_with_their_anharmonic_shift(fits):
    vca, res = fits[5.0]
    assert vca.primitive_.n_atoms == 1 and np.all(np.isfinite(vca.params_err_[2]))
    assert res.scores_.r2.values[0] > 0.995 > 0.95 > vca.scores_.r2.values[0]
    k = np.array([[bond_stiffness(a, b) for b in SPECIES] for a in SPECIES])
    table = {}
    for T, (_, r) in fits.items():
        tab = r.species_constants_.sel(species_i=list(SPECIES), species_j=list(SPECIES))
        nn = int(np.argmin(tab.distance.values))
        table[T] = (-tab.radial.values[nn], tab.radial_err.values[nn])
        far = int(np.argmax(tab.distance.values))                       # beyond the potential's cutoff
        assert np.all(np.abs(tab.block.values[far]) < 5 * tab.block_err.values[far] + 1e-4)
    k5, e5 = table[5.0]
    k1, e1 = table[1.25]
    # Cu-Cu, Ni-Ni and Cu-Ni differ by thousands of error bars
    assert abs(k5[0, 0] - k5[1, 1]) > 1000 * max(e5[0, 0], e5[1, 1])
    assert abs(k5[0, 1] - k5[1, 1]) > 1000 * max(e5[0, 1], e5[1, 1])
    # at each temperature the effective constants sit above phi''(r0) by many error bars, by about four times as
    # much at 5 K as at 1.25 K (linear in T)
    assert np.all((k5 - k) / e5 > 5) and np.all((k1 - k) / e1 > 3)
    assert np.all(np.abs((k5 - k) / (k1 - k) - 4.0) < 1.5)
    # extrapolated to T = 0 they are the potential's analytic constants within their errors
    k0 = (4 * k1 - k5) / 3
    e0 = np.sqrt((4 * e1) ** 2 + e5 ** 2) / 3
    assert np.all(np.abs(k0 - k) < 3 * e0), (k0 - k) / e0


def test_md_lines_are_the_exact_lineshapes_with_force_constant_disorder(runs, fits):
    run = runs[5.0]
    _, res = fits[5.0]
    fc = res.force_constants_
    ph = trajmodes.Phonons(fc)
    virtual = str(fc.primitive.species[0])
    assert virtual == "Cu-Ni"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the run read as it is (Cu and Ni, their own masses): its atoms sit on the virtual crystal's Cu-Ni sites
        traj = read(run)
        smap, _, masses = trajectory_map(traj, ph)
        spectra = trajmodes.mode_spectra(trajmodes.project(traj, ph), resolution=0.05)
        md = trajmodes.fit_peaks(spectra)
        m_fc = np.empty(len(masses))
        m_fc[fc.smap.index(smap.atom, smap.lattice)] = masses
        assert np.allclose(m_fc, res.sample_masses_)
        exact = trajmodes.fit_peaks(expected_spectra(
            exact_lineshapes(fc, m_fc, sample_constants=res.sample_force_constants_), spectra, run["temperature"]))
        mass_only = trajmodes.fit_peaks(expected_spectra(exact_lineshapes(fc, m_fc), spectra, run["temperature"]))
    fitted = np.isfinite(md.fwhm.values) & np.isfinite(exact.fwhm.values) & (md.fwhm_err.values < md.fwhm.values)
    broad = fitted & (exact.fwhm.values > 0.1)
    assert broad.sum() > 500, broad.sum()
    z = (md.fwhm.values - exact.fwhm.values)[broad] / md.fwhm_err.values[broad]
    assert np.mean(np.abs(z) < 2) > 0.85 and np.median(np.abs(z)) < 1.0, np.sort(np.abs(z))[-5:]
    dz = (md["shift"].values - exact["shift"].values)[broad] / md.frequency_err.values[broad]
    assert np.mean(np.abs(dz) < 3) > 0.85, np.sort(np.abs(dz))[-5:]
    # mass disorder alone (Cu and Ni masses, 8 % apart) leaves the lines a hundred times narrower
    zm = (md.fwhm.values - mass_only.fwhm.values)[broad] / md.fwhm_err.values[broad]
    assert np.mean(np.abs(zm) < 2) < 0.2
    assert np.nanmedian(mass_only.fwhm.values[broad]) < 0.05 * np.median(md.fwhm.values[broad])
