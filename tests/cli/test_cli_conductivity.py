"""``trajmodes conductivity``: the Green-Kubo conductivity of the heat current a LAMMPS run wrote to its log, and of
SporTran's NaCl table (two currents); the files it writes and what it says when the file lacks what it needs."""
import numpy as np
import pytest
import xarray as xr

from tests.support.lammps_heat import argon_heat_run
from tests.support.lammps_md import lammps_module
from tests.support.paths import DATA
from trajmodes.cli import main
from trajmodes.transport.cepstral import cepstral_conductivity


@pytest.fixture(scope="module")
def argon_log(tmp_path_factory):
    if lammps_module() is None:
        pytest.skip("the lammps Python module is not installed")
    return argon_heat_run(tmp_path_factory.mktemp("argon"), 200, 10000)["log"]


def test_a_lammps_log_gives_kappa_the_integral_and_the_tensor(argon_log, tmp_path, capsys):
    """From the log alone (temperature, volume, units and time step read from it): kappa with its error as the
    library computes it on the same series, the running integral, the tensor, the figure."""
    out = tmp_path / "k"
    assert main(["conductivity", str(argon_log), "--tensor", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    ceps = xr.load_dataset(out / "cepstral.nc")
    gk = xr.load_dataset(out / "green_kubo.nc")
    tensor = xr.load_dataset(out / "tensor.nc")
    assert (out / "conductivity.png").stat().st_size > 10_000
    k, e = float(ceps.kappa), float(ceps.kappa_err)
    assert np.isfinite(k) and k > 0 and 0 < e < k
    assert f"kappa = {k:.5g} +- {e:.2g} W/(m K)" in text
    assert "LAMMPS log; units metal" in text and "the mean of the file's column" in text
    assert ceps.attrs["fstar_chosen"] == 1 and tensor.kappa.shape == (3, 3)
    assert gk.kappa.shape[1:] == (3, 3) and gk.time.values[-1] > 0
    from trajmodes.io.heat_current import read_heat_current
    s = read_heat_current(argon_log)
    again = cepstral_conductivity(s.current, s.dt, float(s.temperature.mean()), s.volume)
    assert float(again.kappa) == pytest.approx(k, rel=1e-12)


def test_sportrans_nacl_with_its_settings(tmp_path, capsys):
    """SporTran's NaCl example as its command line runs it (f* = 14 THz, the Na mass current taken out): its kappa,
    0.498310 +- 0.028018 W/(m K), within the 1.2e-6 of the constants."""
    out = tmp_path / "nacl"
    assert main(["conductivity", str(DATA / "sportran" / "NaCl.dat.gz"), "--other", "vcm[1]", "--volume",
                 "65013.301261", "--frame-interval", "0.005", "--fstar", "14", "-o", str(out)]) == 0
    ceps = xr.load_dataset(out / "cepstral.nc")
    assert float(ceps.kappa) == pytest.approx(0.49830975139544453, rel=1.3e-6)
    assert float(ceps.kappa_err) == pytest.approx(0.028018311619340822, rel=1.3e-6)
    assert "1 other current(s) taken out" in capsys.readouterr().out


def test_what_the_file_lacks_is_asked_for(tmp_path, capsys):
    """No volume, no time between rows, a tensor asked for with other currents: one line each, nothing written."""
    table = DATA / "sportran" / "NaCl.dat.gz"
    for extra, says in ((["--frame-interval", "0.005"], "--volume"), (["--volume", "65013.3"], "--frame-interval"),
                        (["--volume", "65013.3", "--frame-interval", "0.005", "--other", "vcm[1]", "--tensor"],
                         "the tensor takes the heat current alone")):
        out = tmp_path / "x"
        assert main(["conductivity", str(table), *extra, "-o", str(out)]) != 0
        assert says in capsys.readouterr().err
        assert not (out / "cepstral.nc").exists()


def test_a_dump_of_per_atom_energies_stresses_and_velocities(tmp_path_factory, tmp_path, capsys):
    """The heat current made from a dump's per-atom columns in one pass (the temperature and volume of the same
    frames): the same kappa as the analysis of LAMMPS' own current from the log at the same steps, to 1e-5 (the
    currents agree to 1e-7); the stress it used is named."""
    if lammps_module() is None:
        pytest.skip("the lammps Python module is not installed")
    from tests.support.lammps_heat import shared_argon_heat_dump
    files = shared_argon_heat_dump(tmp_path_factory, True, steps=4000)
    out = tmp_path / "k"
    assert main(["conductivity", str(files["dump"]), "--species", "Ar", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "centroid stresses (nine columns)" in text and "the run's mean kinetic temperature" in text
    ours = xr.load_dataset(out / "cepstral.nc")
    from trajmodes.io.heat_current import read_heat_current
    log = read_heat_current(files["log"])
    theirs = cepstral_conductivity(log.current, log.dt, float(log.temperature.mean()), log.volume,
                                   fstar=ours.attrs["fstar_asked_THz"])
    assert ours.attrs["cutoff"] == theirs.attrs["cutoff"]
    assert float(ours.kappa) == pytest.approx(float(theirs.kappa), rel=1e-5)


def test_the_integral_split_over_the_modes(tmp_path_factory, tmp_path, capsys):
    """``--force-constants``: the running integral split over the modes of the Lennard-Jones potential's constants
    (Green-Kubo modal analysis): the modes' shares, written to modal.nc and drawn, sum to the running integral
    written beside them, to 1e-10; the command says both numbers."""
    if lammps_module() is None:
        pytest.skip("the lammps Python module is not installed")
    from tests.support.lammps_heat import shared_argon_heat_dump
    from trajmodes.lattice.cubic import cubic_lattice
    from trajmodes.potentials.pair import LennardJones
    files = shared_argon_heat_dump(tmp_path_factory, True, steps=4000)
    sc, prim = cubic_lattice("fcc", 5.30, 2, ["Ar"], masses=[39.948])
    LennardJones(0.0104, 3.40, cutoff=8.5).force_constants(sc, prim).write(tmp_path / "ar.nc")
    out = tmp_path / "k"
    assert main(["conductivity", str(files["dump"]), "--species", "Ar", "--force-constants", str(tmp_path / "ar.nc"),
                 "--max-time", "2", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    modal = xr.load_dataset(out / "modal.nc")
    running = xr.load_dataset(out / "green_kubo.nc")
    total = float(running.kappa_mean[-1])
    assert float(running.time[-1]) == pytest.approx(2.0)
    assert np.trace(modal.kappa.values) / 3 == pytest.approx(total, rel=1e-10)
    assert modal.sizes["qpoint"] == 108 and (out / "modes.png").stat().st_size > 10_000
    assert f"the modes' shares sum to {total:.5g} W/(m K), the running integral's {total:.5g}" in text
    assert "second pass" not in text


def test_the_current_and_its_splits_read_the_dump_once(tmp_path_factory, tmp_path, monkeypatch):
    """The current, its split over the velocities' frequency and its split over the modes from one read of the dump
    (the velocities and heat-flux matrices held from the current's pass); the shares are those of reading the frames
    again for each split, to rounding."""
    if lammps_module() is None:
        pytest.skip("the lammps Python module is not installed")
    from tests.support.lammps_heat import shared_argon_heat_dump
    from trajmodes.io.trajectories.lammps import LammpsDumpSource
    from trajmodes.lattice.cubic import cubic_lattice
    from trajmodes.phonons.harmonic.phonons import Phonons
    from trajmodes.potentials.pair import LennardJones
    from trajmodes.trajectory.reading import read
    from trajmodes.transport.current import heat_current_of_run
    from trajmodes.transport.decomposition import modal_conductivity, spectral_conductivity
    files = shared_argon_heat_dump(tmp_path_factory, True, steps=4000)
    sc, prim = cubic_lattice("fcc", 5.30, 2, ["Ar"], masses=[39.948])
    fc = LennardJones(0.0104, 3.40, cutoff=8.5).force_constants(sc, prim)
    fc.write(tmp_path / "ar.nc")
    parsed = []
    real = LammpsDumpSource.read

    def counting(self, frames, fields=None):
        parsed.extend(int(f) for f in frames)
        return real(self, frames, fields)
    monkeypatch.setattr(LammpsDumpSource, "read", counting)
    assert main(["conductivity", str(files["dump"]), "--species", "Ar", "--force-constants", str(tmp_path / "ar.nc"),
                 "--max-time", "1", "-o", str(tmp_path / "k")]) == 0
    assert sorted(parsed) == list(range(401)), "a frame parsed twice, or not at all"
    modal = xr.load_dataset(tmp_path / "k" / "modal.nc")
    split = xr.load_dataset(tmp_path / "k" / "spectral.nc")
    traj = read(str(files["dump"]), species=["Ar"])
    current = heat_current_of_run(traj)
    again = modal_conductivity(traj, Phonons(fc), current=current, max_time=1.0)
    np.testing.assert_allclose(modal.kappa_mode.values, again.kappa_mode.values, rtol=1e-9, atol=1e-12)
    again = spectral_conductivity(traj, current=current, max_time=1.0)
    np.testing.assert_allclose(split.kappa_band.values, again.kappa_band.values, rtol=1e-9, atol=1e-12)


@pytest.mark.slow
def test_the_routes_side_by_side(tmp_path_factory, tmp_path, capsys):
    """Constants with a third order (the Lennard-Jones potential's, on a 3x3x3 cubic supercell): the Boltzmann
    equation's conductivity with classical occupations at the run's temperature beside the Green-Kubo one, on meshes
    until two agree to 3 % and on the MD supercell's 108 q-points at three broadenings; written, drawn and said. The
    converged classical RTA of LJ argon at 30 K (0.97 W/(m K)) lies within two standard errors of the cepstral kappa
    of an 80 ps run, ten lifetimes of its heat-carrying modes (1.01 +- 0.34): the routes agree for this weakly
    anharmonic crystal. A 16 ps run reads low (0.21 +- 0.06), and the command says why."""
    if lammps_module() is None:
        pytest.skip("the lammps Python module is not installed")
    from tests.support.lammps_heat import shared_argon_heat_dump
    from trajmodes.lattice.cubic import cubic_lattice
    from trajmodes.potentials.pair import LennardJones
    files = shared_argon_heat_dump(tmp_path_factory, True, steps=20000)
    sc, prim = cubic_lattice("fcc", 5.30, 3, ["Ar"], masses=[39.948])
    LennardJones(0.0104, 3.40, cutoff=8.5).force_constants3(sc, prim, layout="compact").write(tmp_path / "ar3.nc")
    out = tmp_path / "k"
    assert main(["conductivity", str(files["dump"]), "--species", "Ar", "--force-constants", str(tmp_path / "ar3.nc"),
                 "-o", str(out)]) == 0
    text = capsys.readouterr().out
    bte = xr.load_dataset(out / "boltzmann.nc")
    grid = xr.load_dataset(out / "boltzmann_md_grid.nc")
    cep = xr.load_dataset(out / "cepstral.nc")
    assert bte.attrs["occupation"] == grid.attrs["occupation"] == "classical"
    n = bte.attrs["mesh"][0]
    assert f"converged mesh {n}x{n}x{n}" in text and "not converged" not in text
    kappa = float(np.trace(bte.kappa.values[0]) / 3)
    assert abs(kappa - float(cep.kappa)) < 2 * float(cep.kappa_err), (kappa, float(cep.kappa), float(cep.kappa_err))
    assert int(grid.weight.sum()) == 108                                  # every q of the MD supercell
    assert float(grid.temperature[0]) == pytest.approx(float(cep.attrs["temperature_K"]))
    assert (out / "routes.png").stat().st_size > 10_000 and "coherences" in text
    assert "the heat is carried by modes that live" in text and "needs a run of at least" not in text
    nma = xr.load_dataset(out / "mode_lifetimes.nc")                     # 80 ps resolve few of the widths
    assert 0.5 < float(nma.missing_share) < 1 and "normal-mode analysis" in text and "% of sum C v^2 has none" in text
    assert "WARNING: the running integral stops at 8 ps" in text           # a tenth of the run, about one lifetime
    short = shared_argon_heat_dump(tmp_path_factory, True, steps=4000)
    assert main(["conductivity", str(short["dump"]), "--species", "Ar", "--force-constants", str(tmp_path / "ar3.nc"),
                 "-o", str(tmp_path / "s")]) == 0
    text = capsys.readouterr().out
    cep = xr.load_dataset(tmp_path / "s" / "cepstral.nc")
    assert float(cep.kappa) + 3 * float(cep.kappa_err) < kappa             # low, far outside its error bar
    assert "WARNING: a Green-Kubo conductivity needs a run of at least 10 such lifetimes" in text
    assert "WARNING: kappa keeps rising past P* (0.36" in text                # 0.21 +- 0.06 with P* = 2
    assert "WARNING: the running integral rose by more than 10 %" in text


@pytest.mark.slow
def test_the_runs_own_constants_with_error_bars(tmp_path_factory, tmp_path, capsys, monkeypatch):
    """``--cutoff3`` (and ``--cutoff4``): the run's own constants fitted to its forces (written to fc.nc, with a third
    and a fourth order) and used for every route; four-phonon scattering lowers the Boltzmann equation's kappa; it
    gets an error bar from the bootstrap resamples of that fit (a spread
    that is not zero, and small beside kappa for a 2,001-frame run). Meshes and resamples are cut here to keep the
    test short. --cutoff3 and --force-constants together are refused."""
    if lammps_module() is None:
        pytest.skip("the lammps Python module is not installed")
    import trajmodes.workflows.transport as wt
    from tests.support.lammps_heat import shared_argon_heat_dump
    from trajmodes.forceconstants.model import ForceConstants
    monkeypatch.setattr(wt, "BTE_MESHES", (4, 6))
    monkeypatch.setattr(wt, "BTE_ERROR_MESH", 4)
    monkeypatch.setattr(wt, "BTE_RESAMPLES", 5)
    files = shared_argon_heat_dump(tmp_path_factory, True, steps=20000, forces=True)
    out = tmp_path / "k"
    assert main(["conductivity", str(files["dump"]), "--species", "Ar", "--cutoff3", "5.5", "--cutoff4", "4.0",
                 "-o", str(out)]) == 0
    text = capsys.readouterr().out
    fc = ForceConstants.read(out / "fc.nc")
    assert fc.fc3 is not None and fc.fc4 is not None and "the run's own constants: r2 =" in text
    # four-phonon scattering shortens the lifetimes: a lower kappa than three phonons alone
    three = float(np.trace(xr.load_dataset(out / "boltzmann.nc").kappa.values[0]) / 3)
    four = float(np.trace(xr.load_dataset(out / "boltzmann_four_phonon.nc").kappa.values[0]) / 3)
    assert 0 < four < three and "with four-phonon scattering" in text
    line = next(x for x in text.splitlines() if "converged mesh" in x or "mesh 6x6x6" in x)
    kappa, err = float(line.split(":")[1].split("+-")[0]), float(line.split("+-")[1].split()[0])
    assert 0 < err < 0.1 * kappa, line
    assert "Boltzmann equation of the run's own constants, fitted here" in text
    assert main(["conductivity", str(files["dump"]), "--species", "Ar", "--cutoff3", "5.5", "--force-constants",
                 str(out / "fc.nc"), "-o", str(tmp_path / "x")]) != 0
    assert "not both" in capsys.readouterr().err
