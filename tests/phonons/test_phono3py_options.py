"""Two phono3py settings that change the three-phonon widths and kappa: the r0-averaged Fourier transform of fc3
(``make_r0_average``) and the Gaussian cutoff (``sigma_cutoff``), each against phono3py with the matching setting.

Constants: phono3py's own fc2 and fc3 of its Si-PBEsol example (tests/data/phono3py_si_pbesol: 2x2x2 conventional
supercell, every triplet of the supercell, from 111 finite-displacement sets), which reach the Wigner-Seitz boundary
of the supercell: there the origin of the transform matters (fitted constants within half the supercell give
bitwise the same widths with and without the average, also tested).
"""
from __future__ import annotations

import numpy as np
import pytest

from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
from tests.support.phono3py_cases import si_pbesol_constants

T = [300.0, 800.0]


@pytest.fixture(scope="module")
def si_pbesol(tmp_path_factory):
    """phono3py's fc2 and fc3 of Si-PBEsol (its default fc calculator), written as phono3py files into a folder:
    (folder, ForceConstants read from it)."""
    return si_pbesol_constants(tmp_path_factory.mktemp("si-pbesol-fc"))


def _phono3py(folder, mesh: int, sigma, make_r0_average: bool, sigma_cutoff=None):
    """phono3py on the constants of ``folder`` with its interaction initialised as trajmodes computes
    (``average_degenerate_weights``, see tests/support/phono3py_cases.py)."""
    import phono3py
    ph3 = phono3py.load(str(folder / "phono3py_params.yaml"), fc2_filename=str(folder / "fc2.hdf5"),
                        fc3_filename=str(folder / "fc3.hdf5"), produce_fc=False, symmetrize_fc=False, log_level=0,
                        make_r0_average=make_r0_average)
    ph3.mesh_numbers = [mesh] * 3
    ph3.sigmas = [sigma]
    ph3.sigma_cutoff = sigma_cutoff
    ph3.init_phph_interaction(average_degenerate_weights=True)
    return ph3


def _agree(ds, tc) -> None:
    """Widths to 1e-6 relative and RTA kappa to 1e-4 (the tolerances of tests/phonons/test_anharmonic.py)."""
    g3 = np.asarray(tc.gamma)[0]
    g = ds["gamma"].values
    big = g3 > 1e-6
    assert big.sum() > 20
    assert (np.abs(g - g3)[big] / g3[big]).max() < 1e-6                   # measured 2.9e-7 (physical constants)
    assert np.abs(g - g3)[~big].max() < 1e-12
    k, k3 = ds["kappa"].values, np.asarray(tc.kappa)[0]
    np.testing.assert_allclose(k[:, [0, 1, 2], [0, 1, 2]], k3[:, :3], rtol=1e-4)   # measured 1.0e-6


@pytest.mark.slow
@pytest.mark.parametrize("sigma,mesh", [(0.1, 6), (None, 5)])
def test_r0_average_on_and_off_match_phono3py(si_pbesol, sigma, mesh):
    """make_r0_average True and False each equal phono3py with the same setting (Gaussian 0.1 THz and tetrahedra),
    and differ from each other (Si-PBEsol 6^3 Gaussian: kappa 97.76 against 96.55 W/(m K) at 300 K, +1.25 %)."""
    folder, fc = si_pbesol
    out = {}
    for r0 in (True, False):
        tc = _phono3py(folder, mesh, sigma, r0)
        tc.run_thermal_conductivity(temperatures=T, write_kappa=False)
        tc = tc.thermal_conductivity
        an = Anharmonic(fc, mesh, T, smearing=sigma, make_r0_average=r0)
        assert an.interaction.make_r0_average is r0
        out[r0] = an.thermal_conductivity(linewidths=an.linewidths(np.asarray(tc.qpoints)))
        _agree(out[r0], tc)
        assert out[r0].attrs["make_r0_average"] == int(r0)
    k_on, k_off = (out[r]["kappa"].values[:, 0, 0] for r in (True, False))
    assert (np.abs(k_on / k_off - 1) > 1e-3).all()                         # measured 0.22-1.25 %
    g_on, g_off = out[True]["gamma"].values, out[False]["gamma"].values
    assert np.nanmax(np.abs(g_on - g_off) / np.maximum(g_off, 1e-9)) > 1e-2
    assert Anharmonic(fc, 4, T, smearing=0.1).interaction.make_r0_average            # the default, as phono3py's


def test_r0_average_shifts_match_phono3py(si_pbesol):
    """The real part (bubble shifts) with the r0-averaged transform, against phono3py's real self-energy."""
    folder, fc = si_pbesol
    mesh, eps = 6, 0.1
    ph3 = _phono3py(folder, mesh, eps, True)
    q = np.array([[1, 0, 0], [2, 1, 0], [3, 3, 0], [2, 3, 1]]) / mesh
    gps = [int(ph3.grid.get_indices_from_addresses(np.rint(x * mesh).astype(int))) for x in q]
    _, deltas = ph3.run_real_self_energy(gps, T, frequency_points_at_bands=True, epsilons=[eps])
    d3 = np.asarray(deltas)[0]
    d = Anharmonic(fc, mesh, T, smearing=eps).shifts(q)["frequency_shift"].values
    assert np.abs(d3).max() > 1e-3
    np.testing.assert_allclose(d, d3, rtol=1e-6, atol=1e-6 * np.abs(d3).max())
    d0 = Anharmonic(fc, mesh, T, smearing=eps, make_r0_average=False).shifts(q)["frequency_shift"].values
    assert np.abs(d0 - d).max() > 1e-3 * np.abs(d3).max()


def test_all_shortest_is_phono3py_s(si_pbesol):
    """The triplets whose atoms are each other's unique shortest images: the same set as phono3py's."""
    folder, fc = si_pbesol
    ph3 = _phono3py(folder, 4, 0.1, True)
    theirs = np.asarray(ph3.phph_interaction.all_shortest, dtype=bool)
    ours = Anharmonic(fc, 4, T, smearing=0.1).interaction.all_shortest()
    assert ours.shape == theirs.shape == (2, 64, 64)
    assert 0 < ours.sum() < ours.size
    assert np.array_equal(ours, theirs)


def test_r0_average_changes_nothing_for_constants_within_half_the_supercell(si_fc3):
    """Fitted constants (cutoff 4 A in a 3x3x3 conventional cell): every triplet is all-shortest, the three origins
    give the same sum, and the widths are bitwise those without the average."""
    it = Anharmonic(si_fc3, 4, T, smearing=0.1).interaction
    nz = np.abs(si_fc3.fc3).reshape(si_fc3.n_prim, si_fc3.n_atoms, si_fc3.n_atoms, -1).max(axis=-1) > 0
    assert it.all_shortest()[nz].all()
    a = Anharmonic(si_fc3, 4, T, smearing=0.1).linewidths()["gamma"].values
    b = Anharmonic(si_fc3, 4, T, smearing=0.1, make_r0_average=False).linewidths()["gamma"].values
    assert np.array_equal(a, b)


@pytest.mark.slow
def test_sigma_cutoff_matches_phono3py(si_pbesol):
    """sigma_cutoff=3 equals phono3py's sigma_cutoff_width=3 (RTA), and differs from untruncated Gaussians
    (Si-PBEsol 6^3, 0.1 THz: kappa +0.36 % at 300 K)."""
    folder, fc = si_pbesol
    mesh, sigma = 6, 0.1
    out = {}
    for sc in (3.0, None):
        tc = _phono3py(folder, mesh, sigma, True, sc)
        tc.run_thermal_conductivity(temperatures=T, write_kappa=False)
        tc = tc.thermal_conductivity
        an = Anharmonic(fc, mesh, T, smearing=sigma, sigma_cutoff=sc)
        out[sc] = an.thermal_conductivity(linewidths=an.linewidths(np.asarray(tc.qpoints)))
        _agree(out[sc], tc)
    assert out[3.0].attrs["sigma_cutoff"] == 3.0 and np.isnan(out[None].attrs["sigma_cutoff"])
    k_cut, k_full = (out[s]["kappa"].values[:, 0, 0] for s in (3.0, None))
    assert (k_cut / k_full - 1 > 1e-3).all()                               # measured +0.36 % (300 K)
    # the dropped terms are the Gaussians' tails: the widths move by little, every one of them down or unchanged
    g_cut, g_full = out[3.0]["gamma"].values, out[None]["gamma"].values
    assert (g_cut <= g_full * (1 + 1e-12) + 1e-15).all() and (g_cut < g_full * (1 - 1e-4)).any()


def test_sigma_cutoff_lbte_matches_phono3py(si_pbesol):
    """The direct solution of the LBTE with sigma_cutoff=3 against phono3py's (5^3, 0.1 THz): kappa to 1e-4."""
    folder, fc = si_pbesol
    mesh, sigma = 5, 0.1
    ph3 = _phono3py(folder, mesh, sigma, True, 3.0)
    ph3.run_thermal_conductivity(temperatures=T, is_LBTE=True, write_kappa=False)
    k3 = np.asarray(ph3.thermal_conductivity.kappa)[0]
    k = Anharmonic(fc, mesh, T, smearing=sigma, sigma_cutoff=3.0).thermal_conductivity(method="lbte")["kappa"].values
    np.testing.assert_allclose(k[:, [0, 1, 2], [0, 1, 2]], k3[:, :3], rtol=1e-4)   # measured 1.0e-6
    k_full = Anharmonic(fc, mesh, T, smearing=sigma).thermal_conductivity(method="lbte")["kappa"].values
    assert (k[:, 0, 0] / k_full[:, 0, 0] - 1 > 1e-3).all()


def test_sigma_cutoff_needs_a_gaussian_smearing(si_fc3):
    with pytest.raises(ValueError, match="sigma_cutoff"):
        Anharmonic(si_fc3, 4, T, smearing=None, sigma_cutoff=3.0)
    with pytest.raises(ValueError, match="positive"):
        Anharmonic(si_fc3, 4, T, smearing=0.1, sigma_cutoff=0.0)


def test_command_line_options():
    """``--r0-average/--no-r0-average`` and ``--sigma-cutoff`` of ``trajmodes anharmonic`` give the keywords of
    Anharmonic that differ from its defaults."""
    import argparse
    from trajmodes.cli.anharmonic import _phono3py_settings, add_phono3py_options
    p = argparse.ArgumentParser()
    p.add_argument("--smearing", type=float)
    add_phono3py_options(p)
    assert _phono3py_settings(p.parse_args([])) == {}
    assert _phono3py_settings(p.parse_args(["--r0-average"])) == {}
    assert _phono3py_settings(p.parse_args(["--no-r0-average", "--smearing", "0.1", "--sigma-cutoff", "3"])) == \
        dict(make_r0_average=False, sigma_cutoff=3.0)
    with pytest.raises(ValueError, match="--smearing"):
        _phono3py_settings(p.parse_args(["--sigma-cutoff", "3"]))
    with pytest.raises(SystemExit):
        p.parse_args(["--sigma-cutoff", "0"])
    assert _phono3py_settings(argparse.Namespace(smearing=None)) == {}          # a parser without them
