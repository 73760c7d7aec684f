"""The Green-Kubo integral of a real LAMMPS run split over the crystal's modes (Lv and Henry, New J. Phys. 18, 013028
(2016)) and over the frequency of the velocities (Fan et al., Phys. Rev. B 99, 064308 (2019)): LJ argon dumped with
its per-atom energies, centroid stresses and velocities; the modes are the Lennard-Jones potential's own."""
import numpy as np
import pytest

import trajmodes
from tests.support.lammps_heat import argon_heat_dump
from tests.support.lammps_md import lammps_module
from trajmodes.transport.cepstral import green_kubo_integral
from trajmodes.transport.decomposition import modal_conductivity


@pytest.fixture(scope="module")
def argon(tmp_path_factory):
    if lammps_module() is None:
        pytest.skip("the lammps Python module is not installed")
    files = argon_heat_dump(tmp_path_factory.mktemp("gkma"), True, steps=2000)
    traj = trajmodes.read(files["dump"], species=["Ar"])
    from trajmodes.lattice.cubic import cubic_lattice
    from trajmodes.potentials.pair import LennardJones
    sc, prim = cubic_lattice("fcc", 5.30, 2, ["Ar"], masses=[39.948])
    phonons = trajmodes.Phonons(LennardJones(0.0104, 3.40, cutoff=8.5).force_constants(sc, prim))
    return traj, phonons


def test_the_modes_shares_sum_to_the_green_kubo_integral(argon):
    """Every mode's current adds up to the run's current (to rounding), and the modes' shares of the conductivity,
    by mode, by branch and per unit frequency, to the running Green-Kubo integral of the total at the same tau, to
    1e-10 of it: the decomposition is exact, whatever the run's noise."""
    traj, phonons = argon
    ds = modal_conductivity(traj, phonons, max_time=2.0)
    assert ds.attrs["current_residual"] < 1e-10
    assert ds["kappa_mode"].shape == (108, 1 * 3, 3, 3)                   # 108 q of the 3x3x3 cubic cell, 3 branches
    total = ds["kappa_green_kubo"].values
    scale = np.abs(np.diag(total)).max()
    assert scale > 0
    np.testing.assert_allclose(ds["kappa"].values, total, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(ds["kappa_branch"].values.sum(axis=0), total, rtol=0, atol=1e-10 * scale)
    width = np.diff(ds["frequency_bin"].values)[0]
    np.testing.assert_allclose(ds["kappa_spectrum"].values.sum() * width, np.trace(total) / 3, rtol=1e-10)
    # the same integral as the conductivity command's, from LAMMPS' own current in the log
    j, t, v = trajmodes.transport.current.heat_current_of_run(traj)
    gk = green_kubo_integral(j, ds.attrs["dt_ps"], t, v, max_time=2.0)
    np.testing.assert_allclose(gk["kappa"].values[-1], total, rtol=1e-12)
    # every frequency is a real mode of the crystal, the acoustic ones at Gamma near zero
    assert ds["frequency"].values.min() > -1e-3 and ds["frequency"].values.max() < 3.0


def test_a_run_without_per_atom_stresses_is_told_what_to_dump(tmp_path):
    from tests.support.dumps import small_dump
    dump, _ = small_dump(tmp_path / "run.lammpstrj", n_frames=6, n_atoms=4)
    traj = trajmodes.read(dump, species=["Ar"] * 5, md_timestep=0.001)
    with pytest.raises(ValueError, match="per-atom potential energies"):
        modal_conductivity(traj, None)


def test_the_velocities_frequency_bands_sum_to_the_green_kubo_integral(argon, monkeypatch):
    """The spectral decomposition (the velocities' frequency bands, Fan et al. 2019): the bands' currents add up to
    the run's current to rounding, their shares to the running integral to 1e-10 of it, the bands' kinetic energy to
    all of it; the heat sits in the band of the crystal's modes (below the Lennard-Jones potential's top frequency,
    1.9 THz, less than 5 % of it in the bands wholly above). Where the frames may not be held, a clear error."""
    from trajmodes import resources
    from trajmodes.transport.decomposition import spectral_conductivity
    traj, phonons = argon
    ds = spectral_conductivity(traj, max_time=2.0)
    assert ds.attrs["current_residual"] < 1e-10
    total = ds["kappa_green_kubo"].values
    scale = np.abs(np.diag(total)).max()
    np.testing.assert_allclose(ds["kappa"].values, total, rtol=0, atol=1e-10 * scale)
    assert float(ds["velocity_power"].sum()) == pytest.approx(1.0, abs=1e-12)
    mean = np.einsum("baa->b", ds["kappa_band"].values) / 3
    top = float(phonons.frequencies([[0.5, 0.5, 0.5], [0.5, 0.0, 0.5]]).max())
    above = ds["frequency_edge"].values[:-1] > top
    assert abs(mean[above].sum()) < 0.05 * abs(mean.sum()), (mean[above].sum(), mean.sum())
    monkeypatch.setattr(resources, "HOLD_BYTES", 0)
    with pytest.raises(MemoryError, match="the spectral decomposition holds every atom's velocities"):
        spectral_conductivity(traj)
