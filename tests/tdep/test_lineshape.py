"""TDEP's ``lineshape`` test (tests/data/tdep_lineshape/README.md): the self-energy and spectral functions of the
modes at Gamma of polar MgO (its fc2 with Born charges and its fc3), TDEP's defaults (26^3 mesh, 300 K, 1200
energies, adaptive Gaussians, isotopes, LO-TO limit along Cartesian x).

TDEP's own test reads the reference with ``xr.load_dataset`` and no group, so it compares only the HDF5 root group
(``q-point`` and ``incident_wavevector``); it is run here as it is. Beyond it: the harmonic data and the energy axis
(to round-off, in TDEP's own THz factor), the deterministic last steps (Kramers-Kronig, spectral functions, site
projections) applied to the reference's own arrays (to round-off), and the whole calculation at the level TDEP
reaches against its own 2023 reference (its per-band clamped widths and isotope overlaps depend on the eigenvectors
LAPACK picks inside degenerate subspaces: TDEP rebuilt today differs from the reference by up to 1.7e-3 of the peak
pointwise, integrals by 6e-8)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from trajmodes import ForceConstants
from trajmodes.lattice.grid import Grid
from trajmodes.phonons.harmonic.degeneracy import cartesian_basis
from trajmodes.phonons.anharmonic.lineshape import FREQUENCY_TOL, tdep_irreducible_points, tdep_lineshape
from trajmodes.phonons.anharmonic.spectral import kramers_kronig, site_weights, spectral_functions, windowed_gaussians
from trajmodes.units import THZ
from tests.io.test_tdep_polar import TDEP_MASS, with_masses

DATA = Path(__file__).parent.parent / "data"
REFERENCE = DATA / "tdep_lineshape" / "outfile.phonon_self_energy.hdf5"
#: TDEP's input files of this test are byte for byte those of its anharmonic_free_energy test
INPUTS = DATA / "tdep_anharmonic_free_energy"
#: TDEP's THz factor from its own constants (Hartree 27.21138602 eV, bohr 0.52917721067 A, amu / m_e =
#: 1.660539040e-27 / 9.10938356e-31, hbar 6.582119514e-16 eV s): sqrt(eV / (A^2 amu)) as an ordinary frequency,
#: 15.633304303662 THz, 1.3e-7 above phonopy's (trajmodes.units.THZ). The 15.6333043 of tests/io/test_tdep_polar.py
#: is it rounded (2.3e-10 off).
_HA, _BOHR, _AMU, _HBAR = 27.21138602, 0.52917721067, 1.660539040e-27 / 9.10938356e-31, 6.582119514e-16
TDEP_THZ = np.sqrt(_BOHR ** 2 / (_HA * _AMU)) * 1e-12 * _HA / (2 * np.pi * _HBAR)
#: ours x TO_TDEP = TDEP's, for every frequency (the same dynamical matrix, another unit)
TO_TDEP = TDEP_THZ / THZ
ANHARMONIC = ("imaginary_threephonon_selfenergy", "imaginary_isotope_selfenergy", "real_threephonon_selfenergy",
              "spectralfunction_per_mode", "spectralfunction_per_site", "spectralfunction_per_unique_atom")


def reference(group: str) -> xr.Dataset:
    return xr.load_dataset(REFERENCE, group=group)


@pytest.fixture(scope="module")
def mgo() -> ForceConstants:
    """TDEP's MgO constants with TDEP's masses (its own table: its frequencies are those of these masses)."""
    fc = ForceConstants.read(INPUTS, "tdep")
    out = with_masses(fc, TDEP_MASS)
    out.fc3_sparse = fc.fc3_sparse                    # with_masses keeps the second order only
    return out


@pytest.fixture(scope="module")
def ours(mgo) -> xr.Dataset:
    return tdep_lineshape(mgo)                        # TDEP's defaults; 2.5 s on 2 cores


def test_tdeps_own_test(ours, tmp_path):
    """TDEP's tests/lineshape/test_lineshape.py, as it is, on our output written under TDEP's names."""
    new = tmp_path / "outfile.phonon_self_energy.hdf5"
    ours.rename(q_point="q-point").to_netcdf(new)
    ds_ref = xr.load_dataset(REFERENCE)
    ds_new = xr.load_dataset(new)
    for var in ds_ref.data_vars:
        x = ds_ref[var]
        y = ds_new[var]
        np.testing.assert_allclose(x, y, err_msg=var)
    # what that test compares: the root group only, no self-energy
    assert set(ds_ref.data_vars) == {"q-point", "incident_wavevector"}
    assert ds_ref.attrs["temperature"] == ours.attrs["temperature"] == 300.0


def test_harmonic_data_and_energy_axis(ours):
    """Frequencies at Gamma (LO-TO along x: 14.5306 THz TO pair, 22.5329 THz LO), the dynamical matrix and the energy
    axis to round-off in TDEP's THz factor (measured 8.2e-15, 3e-14 and 9.2e-15 relative); our optical modes are
    TDEP's (TO along y and z), each up to a phase."""
    h, an = reference("harmonic"), reference("anharmonic")
    nu = ours.harmonic_frequencies.values * TO_TDEP
    ref = h.harmonic_frequencies.values
    np.testing.assert_array_equal(nu[:3], 0.0)
    np.testing.assert_allclose(nu, ref, rtol=1e-13, atol=0)
    D = ours.dynamical_matrix_re.values * TO_TDEP ** 2                       # THz^2
    np.testing.assert_allclose(D, h.dynamical_matrix_re.values.T, rtol=0, atol=1e-13 * np.abs(D).max())
    assert np.abs(ours.dynamical_matrix_im.values).max() < 1e-12 and np.abs(h.dynamical_matrix_im.values).max() == 0
    e = ours.eigenvectors_re.values + 1j * ours.eigenvectors_im.values
    E = (h.eigenvectors_re.values + 1j * h.eigenvectors_im.values).T         # TDEP writes (mode, component)
    overlap = np.abs(E.conj().T @ e)
    np.testing.assert_allclose(overlap[:, 3:].max(axis=0), 1.0, atol=1e-12)  # each optical mode one of TDEP's
    P, Pr = e[:, :3] @ e[:, :3].conj().T, E[:, :3] @ E[:, :3].conj().T      # the acoustic subspace
    assert np.abs(P - Pr).max() < 1e-12
    x, xr_ = ours.frequency.values * TO_TDEP, an.frequency.values
    np.testing.assert_allclose(x, xr_, rtol=0, atol=3e-14 * xr_[-1])
    # the top of the axis takes TDEP's single-precision 1.1: a double 1.1 is 1.9e-8 off
    s = ours.default_smearing.values.max()
    double = 2 * (ours.harmonic_frequencies.values.max() * 1.1 + 3 * s) * TO_TDEP
    assert abs(double / xr_[-1] - 1) > 1e-8 and abs(x[-1] / xr_[-1] - 1) < 3e-14


def test_last_steps_on_the_reference_arrays():
    """Applied to the reference's own Im Sigma and frequencies: the Kramers-Kronig real part (measured 1.4e-12 pointwise
    relative, 1.2e-13 of the peak), the spectral functions (4.8e-14 pointwise), per site (5.0e-16) and per unique atom
    (the same: one site per class)."""
    h, an = reference("harmonic"), reference("anharmonic")
    x = an.frequency.values
    im3, iso = an.imaginary_threephonon_selfenergy.values, an.imaginary_isotope_selfenergy.values
    re3 = an.real_threephonon_selfenergy.values
    np.testing.assert_allclose(kramers_kronig(x, im3), re3, rtol=1e-11, atol=1e-15)
    A = spectral_functions(x, im3 + iso, re3, h.harmonic_frequencies.values)
    np.testing.assert_allclose(A, an.spectralfunction_per_mode.values, rtol=1e-12, atol=0)
    E = (h.eigenvectors_re.values + 1j * h.eigenvectors_im.values).T
    site = site_weights(E) @ an.spectralfunction_per_mode.values
    np.testing.assert_allclose(site, an.spectralfunction_per_site.values, rtol=1e-14, atol=0)
    np.testing.assert_array_equal(an.spectralfunction_per_unique_atom.values, an.spectralfunction_per_site.values)
    # TDEP's regulariser (1e-8 of the step in Hartree) is there: it matters next to zero energy (here 2.2e-7)
    im = np.where(np.arange(len(x)) == 2, 1.0, 0.0)[None]
    plain = 2 / np.pi * (x[1] - x[0]) * x[2] / (x[1] ** 2 - x[2] ** 2)
    assert 1e-7 < abs(kramers_kronig(x, im)[0, 1] / plain - 1) < 1e-6


def test_self_energies_at_tdeps_own_level(ours):
    """The whole calculation against the reference, at the level TDEP itself reaches against it (TDEP HEAD, built
    with the reference BLAS/LAPACK: Im Sigma_3ph to 4.8e-4 (TO) and 1.7e-3 (LO) of the peak pointwise, isotopes 6.2e-4,
    Re Sigma 1.6e-3, spectral functions 7.1e-5; integrals of the self-energies to 6e-8, of the spectral functions to
    4.1e-6). Measured here: Im Sigma_3ph 2.9e-4 and 1.0e-3, isotopes 1.2e-4 and 2.0e-4, Re Sigma 3.0e-4 and 7.9e-4,
    spectral functions 1.2e-5 and 2.9e-5 (per mode, site and unique atom); integrals of Im and Re Sigma_3ph within
    8.4e-7 (TDEP's constants: its THz factor and k_B, see the module docstring), of the isotope part 1.8e-7, of the
    spectral functions 5.7e-6 (TO) and 3.6e-7 (LO). The acoustic rows are zero in both."""
    an = reference("anharmonic")
    x = an.frequency.values
    pointwise = dict(imaginary_threephonon_selfenergy=2e-3, imaginary_isotope_selfenergy=1e-3,
                     real_threephonon_selfenergy=2e-3)
    for name in ANHARMONIC:
        a, b = ours[name].values, an[name].values
        assert a.shape == b.shape, name
        live = np.abs(b).max(axis=1) > 0
        np.testing.assert_array_equal(live, np.abs(a).max(axis=1) > 0, err_msg=name)
        peak = np.abs(b[live]).max(axis=1)
        err = np.abs(a[live] - b[live]).max(axis=1) / peak
        assert err.max() < pointwise.get(name, 1e-4), (name, err)
        ia, ib = np.trapezoid(a[live], x), np.trapezoid(b[live], x)           # on TDEP's axis (ours scaled)
        limit = 2e-6 if name.startswith(("imaginary", "real")) else 2e-5
        assert np.abs(ia / ib - 1).max() < limit, (name, ia / ib - 1)
    assert (ours.imaginary_threephonon_selfenergy.values >= 0).all()
    for name in ("imaginary_threephonon_selfenergy", "imaginary_isotope_selfenergy"):
        np.testing.assert_array_equal(ours[name].values[:, [0, -1]], 0.0)
    # the TO pair and the LO mode peak where TDEP's do, on the same grid point
    peaks = np.argmax(ours.spectralfunction_per_mode.values[3:], axis=1)
    np.testing.assert_array_equal(peaks, np.argmax(an.spectralfunction_per_mode.values[3:], axis=1))


def test_basis_inside_degenerate_subspaces(mgo):
    """A random unitary rotation of the degenerate modes at Gamma (acoustic triple, TO pair) leaves the three-phonon
    self-energy as it was (the average over the pair is a trace: measured 5e-16 of the peak), and moves the isotope
    part by 10-25 % (its overlap sums absolute values per Cartesian component: the basis dependence TDEP has)."""
    a = tdep_lineshape(mgo, mesh=8)
    e = a.eigenvectors_re.values + 1j * a.eigenvectors_im.values
    rng = np.random.default_rng(3)
    R = np.eye(6, dtype=complex)
    for g in ([0, 1, 2], [3, 4]):
        Q, _ = np.linalg.qr(rng.normal(size=(len(g), len(g))) + 1j * rng.normal(size=(len(g), len(g))))
        R[np.ix_(g, g)] = Q
    b = tdep_lineshape(mgo, mesh=8, eigenvectors=e @ R)
    for name in ("imaginary_threephonon_selfenergy", "real_threephonon_selfenergy"):
        x, y = a[name].values, b[name].values
        assert np.abs(x - y).max() < 1e-13 * np.abs(x).max(), name
    x, y = a.imaginary_isotope_selfenergy.values[3:5], b.imaginary_isotope_selfenergy.values[3:5]
    assert np.abs(x - y).max() > 0.05 * np.abs(x).max()
    # cartesian_basis depends on the subspace only: the rotated modes give back the same basis
    np.testing.assert_allclose(cartesian_basis(e @ R, a.harmonic_frequencies.values, tol=FREQUENCY_TOL), e, atol=1e-12)


def test_tdeps_irreducible_points(mgo):
    """511 stars on the 26^3 mesh, each by its point of smallest index with the third address fastest: the Gamma-L
    line is (0, 0, k/26) there (the three points where the TO pair straddles bands of different widths are k = 11,
    12, 13), not (k/26, 0, 0) as Grid's own first-index-fastest representatives have it."""
    grid = Grid([26] * 3, mgo.primitive.symmetry().rotations)
    points, weights = tdep_irreducible_points(grid)
    assert len(points) == 511 and points[0] == 0 and weights[0] == 1 / 26 ** 3
    assert abs(weights.sum() - 1) < 1e-14
    q = np.rint(grid.qpoints[points] * 26).astype(int)
    reps = {tuple(a) for a in q}
    assert {(0, 0, 11), (0, 0, 12), (0, 0, 13)} <= reps and (11, 0, 0) not in reps
    assert (11, 0, 0) in {tuple(a) for a in np.rint(grid.qpoints[grid.irreducible] * 26).astype(int)}
    np.testing.assert_array_equal(np.sort(grid.star_of[points]), grid.irreducible)   # the same stars


def test_three_phonon_normalisation():
    """C = hbar / (32 (2 pi)^4) is the normalisation of trajmodes.phonons.anharmonic.selfenergy (phono3py's, 18 pi / hbar^2 |Phi|^2
    with |Phi|^2 = (hbar / 2)^3 / 36 |X|^2 / (omega omega' omega'')) in ordinary frequency: TDEP's pi / 16."""
    from trajmodes.phonons.anharmonic.interaction import HBAR_EV_PS
    from trajmodes.phonons.anharmonic.lineshape import THREE_PHONON_FACTOR
    from trajmodes.phonons.anharmonic.selfenergy import GAMMA_FACTOR
    from trajmodes.units import AMU_A2_PS2_EV
    phono3py = GAMMA_FACTOR * (HBAR_EV_PS / 2) ** 3 / 36 / AMU_A2_PS2_EV ** 3 / (2 * np.pi) ** 3
    assert THREE_PHONON_FACTOR == pytest.approx(phono3py, rel=1e-14)


def test_windowed_gaussians():
    """TDEP's window: 1-based indices from floor((c - 4 s) n / W_max) to ceil((c + 4 s) n / W_max), with n (not
    n - 1) points over W_max; 11 points on [0, 10], c = 5, s = 1: nonzero from 0 to 9 (a window of (n - 1) / W_max
    would end at 8), zero at 10 although that is within 5 s."""
    x = np.linspace(0.0, 10.0, 11)
    g = windowed_gaussians(x, [5.0], [1.0], [2.0])[0]
    np.testing.assert_array_equal(np.flatnonzero(g), np.arange(10))
    np.testing.assert_allclose(g[3], 2 * np.exp(-2.0) / np.sqrt(2 * np.pi), rtol=1e-15)
    # a negative centre: the window starts at the first point (TDEP's mirrored terms act near zero)
    assert windowed_gaussians(x, [-1.0], [1.0])[0, 0] > 0


def test_refusals(mgo):
    with pytest.raises(ValueError, match="only the lineshape at Gamma"):
        tdep_lineshape(mgo, qpoint=(0.5, 0.0, 0.0), mesh=4)
    with pytest.raises(ValueError, match="non-zero Cartesian vector"):
        tdep_lineshape(mgo, q_direction=(0, 0, 0), mesh=4)
    with pytest.raises(ValueError, match="not orthonormal eigenvectors"):
        tdep_lineshape(mgo, mesh=4, eigenvectors=np.eye(6))
    with pytest.raises(ValueError, match="no fc3"):
        tdep_lineshape(with_masses(mgo, TDEP_MASS), mesh=4)
