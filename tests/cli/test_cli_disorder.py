"""`trajmodes lineshapes` and `trajmodes glass` end to end on small inputs: an exact harmonic run of a mass-disordered
fcc crystal (32 atoms, two masses 30 % apart) and the 64-atom amorphous Si of tests/data/glass. Every number the
commands write is that of the library's own calls (to 1e-12), the route follows the memory, and bad input is refused
in one line with nothing written."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import trajmodes
from tests.support.harmonic_md import harmonic_run
from tests.support.paths import DATA, EXAMPLES
from trajmodes import Crystal, ForceConstants
from trajmodes.cli import main
from tests.support.cli_warnings import assert_warned

SW = EXAMPLES / "potentials" / "Si_SW1985.sw"
MASSES = (54.0, 73.1)
READ = ["--species", "Cu,Cu", "--masses", ",".join(map(str, MASSES))]


def _bvk_cu(cells: int) -> ForceConstants:
    """Born-von Karman fcc Cu (three first-shell constants) on cells^3 conventional cells, species Cu."""
    from trajmodes.potentials.bvk import force_constants_from_bvk
    bvk = force_constants_from_bvk({"1XX": 13.3, "1ZZ": -1.3, "1XY": 14.7}, "fcc", a=3.615, mass=63.55,
                                   supercell=(cells,) * 3)
    p, s = bvk.primitive, bvk.supercell
    return ForceConstants(bvk.fc2, Crystal(s.cell, s.positions, ["Cu"] * s.n_atoms, s.masses),
                          Crystal(p.cell, p.positions, ["Cu"], p.masses))


def _write_dump(path, fc, types, n: int = 800, dt: float = 0.02, T: float = 10.0, seed: int = 1):
    """An exact classical harmonic run (tests/support/harmonic_md.py) of ``fc`` with the masses of ``types`` as a
    LAMMPS dump (id type xu yu zu vx vy vz fx fy fz, ITEM: TIME in ps)."""
    sc = fc.supercell
    run = harmonic_run(sc, fc.full(), np.asarray(MASSES)[types - 1], T=T, dt=dt, n=n, seed=seed)
    x = sc.positions[None] + run["displacements"]
    box = "".join(f"0.0 {float(v)!r}\n" for v in np.diag(sc.cell))
    with open(path, "w") as f:
        for k in range(n):
            f.write(f"ITEM: TIME\n{k * dt!r}\nITEM: TIMESTEP\n{k}\nITEM: NUMBER OF ATOMS\n{sc.n_atoms}\n"
                    f"ITEM: BOX BOUNDS pp pp pp\n{box}ITEM: ATOMS id type xu yu zu vx vy vz fx fy fz\n")
            rows = np.concatenate([x[k], run["velocities"][k], run["forces"][k]], axis=1)
            f.write("".join(f"{i + 1} {types[i]} " + " ".join(f"{v:.12g}" for v in r) + "\n"
                            for i, r in enumerate(rows)))
    return path


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """(dump, constants file, constants) of the disordered run; half the atoms of each mass, at random."""
    d = tmp_path_factory.mktemp("isotopes")
    fc = _bvk_cu(2)
    types = 1 + (np.random.default_rng(1).permutation(fc.n_atoms) < fc.n_atoms // 2)
    fc.write(d / "fc.nc")
    return _write_dump(d / "run.lammpstrj", fc, types), d / "fc.nc", fc


def _library_lineshapes(dump, fc, resolution, route, dos_frequency=None):
    """What `trajmodes lineshapes` computes, by the library's calls themselves."""
    from trajmodes.disorder.kpm import kpm_partial_dos
    from trajmodes.disorder.mass_disorder import (exact_lineshapes, expected_spectra, kpm_lineshapes,
                                                  sample_dynamical_matrix, site_masses)
    from trajmodes.lattice.grid import Grid
    from trajmodes.modes.energies import energy_series, mode_energies
    from trajmodes.modes.projection import trajectory_map
    from trajmodes.phonons.anharmonic.isotope import isotope_gamma
    traj = trajmodes.read(str(dump), species=["Cu", "Cu"], masses=list(MASSES))
    with pytest.warns(UserWarning, match="masses differ"):
        smap, _, masses = trajectory_map(traj, trajmodes.Phonons(fc))
    m = np.empty(len(masses))
    m[fc.smap.index(smap.atom, smap.lattice)] = masses
    mbar, g2 = site_masses(m, fc.smap)
    p = fc.primitive
    vca = ForceConstants(fc.compact(), fc.supercell, Crystal(p.cell, p.positions, p.species, mbar), smap=fc.smap,
                         p2s=fc.p2s)
    ph = trajmodes.Phonons(vca)
    with pytest.warns(UserWarning, match="masses differ"):
        modes = trajmodes.project(traj, ph)
    spectra = trajmodes.mode_spectra(modes, resolution=resolution, time_means=energy_series(modes))
    T = mode_energies(modes, means=(spectra.mean_kinetic.values, spectra.mean_potential.values)).attrs["temperature"]
    spectra = spectra.drop_vars(["mean_kinetic", "mean_potential"])
    md = trajmodes.fit_peaks(spectra)
    q = spectra.qpoint.values
    if route == "dense":
        lines = exact_lineshapes(fc, m, qpoints=q)
        exact = trajmodes.fit_peaks(expected_spectra(lines, spectra, T))
    else:
        axis = np.linspace(0, 1.25 * np.nanmax(spectra.frequency_harmonic.values), 600)
        lines, exact = kpm_lineshapes(fc, m, qpoints=q, frequencies=axis, n_moments=512), None
    grid = Grid(24)
    f, e = ph.dm.frequencies_and_eigenvectors(grid.qpoints)
    tamura = 2 * isotope_gamma(f, e, g2, grid, grid.index(np.rint(q * 24).astype(int)), smearing=None,
                               reciprocal_cell=vca.primitive.reciprocal_cell)
    heavy = np.flatnonzero(m > 63.55)
    light = np.flatnonzero(m < 63.55)
    pdos = kpm_partial_dos(sample_dynamical_matrix(fc, m), {"Cu": np.arange(len(m)), "Cu 54 amu": light,
                                                            "Cu 73.1 amu": heavy}, frequencies=dos_frequency,
                           n_moments=512)
    return dict(md=md, exact=exact, lines=lines, tamura=tamura, pdos=pdos, g2=g2, T=T)


def test_lineshapes_writes_the_librarys_numbers(sample, tmp_path, capsys):
    """The run's fitted widths, the exact lines drawn through its window and fitted, their rms widths, Tamura's widths
    and the partial densities of states: each equal to the library's calls to 1e-12; the figure and the table."""
    dump, fc_file, fc = sample
    out = tmp_path / "ls"
    assert main(["lineshapes", str(dump), *READ, "--force-constants", str(fc_file), "--resolution", "0.1",
                 "-o", str(out)]) == 0
    text = capsys.readouterr()
    ds = xr.load_dataset(out / "lineshapes.nc")
    ref = _library_lineshapes(dump, fc, 0.1, "dense", ds.dos_frequency.values)
    close = dict(rtol=1e-12, atol=1e-14, equal_nan=True)
    np.testing.assert_allclose(ds.md_fwhm.values, ref["md"].fwhm.values, **close)
    np.testing.assert_allclose(ds.md_fwhm_err.values, ref["md"].fwhm_err.values, **close)
    np.testing.assert_allclose(ds.md_shift.values, ref["md"]["shift"].values, **close)
    np.testing.assert_allclose(ds.exact_fwhm.values, ref["exact"].fwhm.values, **close)
    np.testing.assert_allclose(ds.exact_shift.values, ref["exact"]["shift"].values, **close)
    np.testing.assert_allclose(ds.lineshape_rms_width.values, ref["lines"].rms_width.values, **close)
    np.testing.assert_allclose(ds.tamura_fwhm.values, ref["tamura"], **close)
    # (the kernel polynomial method's spectral bounds come from Lanczos with a fixed start vector: reproducible)
    pd = ref["pdos"].partial_dos.values
    np.testing.assert_allclose(ds.partial_dos.values, pd, rtol=0, atol=1e-12 * pd.max())
    np.testing.assert_allclose(ds.site_g2.values, ref["g2"], rtol=1e-12)
    assert ds.attrs["temperature"] == pytest.approx(ref["T"], rel=1e-12) and ds.attrs["route"] == "dense"
    assert list(ds.group.values) == ["Cu", "Cu 54 amu", "Cu 73.1 amu"]
    assert ds.md_fwhm.attrs["units"] == "THz" and ds.partial_dos.attrs["units"] == "1/THz"
    moving = ds.frequency_vca.values > 1e-3
    assert np.isfinite(ds.exact_fwhm.values[moving]).all() and (ds.exact_fwhm.values[moving] > 0).all()
    assert "dynamical matrix diagonalised" in text.out and "within two standard errors" in text.out
    # the comparison counts the measured widths only (errors smaller than the widths)
    nu, md, err = ds.frequency_vca.values, ds.md_fwhm.values, ds.md_fwhm_err.values
    measured = (nu > 1e-3) & np.isfinite(md) & np.isfinite(ds.exact_fwhm.values) & (err > 0) & (err < md)
    assert f" of {int(measured.sum())} measured widths within two standard errors" in text.out
    for line in ("projecting the run on the virtual crystal's modes", "the sample's exact lineshapes",
                 "Tamura's lowest-order widths", "partial densities of states"):
        assert line in text.err
    assert (out / "lineshapes.png").stat().st_size > 20_000


def test_lineshapes_kpm_route_when_the_dense_one_does_not_fit(sample, tmp_path, capsys, monkeypatch):
    """With too little memory for the diagonalisation, the kernel polynomial lines (the library's, 1e-12), said in one
    line before the work; the exact widths, which need the sample's modes, are NaN."""
    import trajmodes.workflows.disorder
    dump, fc_file, fc = sample
    monkeypatch.setattr(trajmodes.workflows.disorder, "available_memory", lambda: 400_000)  # dense 332 kB > half
    out = tmp_path / "kpm"
    assert main(["lineshapes", str(dump), *READ, "--force-constants", str(fc_file), "--resolution", "0.1",
                 "-o", str(out)]) == 0
    text = capsys.readouterr()
    assert "kernel polynomial method (512 moments; the diagonalisation would take about 332 kB, more than 50% of the " \
           "400 kB available)" in text.out
    ds = xr.load_dataset(out / "lineshapes.nc")
    ref = _library_lineshapes(dump, fc, 0.1, "kpm")
    np.testing.assert_allclose(ds.lineshape_rms_width.values, ref["lines"].rms_width.values, rtol=1e-12,
                               equal_nan=True)
    A = ref["lines"].unfolded.values
    np.testing.assert_allclose(ds.unfolded.values, A, rtol=0, atol=1e-12 * A.max())
    assert ds.attrs["route"] == "kpm" and np.isnan(ds.exact_fwhm.values).all()


def test_lineshapes_fits_the_runs_own_constants_without_force_constants(sample, tmp_path, capsys):
    """Without --force-constants the run's own harmonic constants are fitted (workflows.fit_effective) and used: the
    virtual crystal's frequencies are theirs, and close to those of the constants that made the run."""
    from trajmodes.workflows import fit_effective
    dump, _, fc = sample
    out = tmp_path / "own"
    # the fit says it fits the virtual crystal of the disordered masses
    assert main(["lineshapes", str(dump), *READ, "--resolution", "0.1", "-o", str(out)]) == 0
    text = capsys.readouterr()
    assert_warned(text.err, "disordered on the sites of a lattice")
    assert "force constants: fitted to the run (32-atom supercell)" in text.out
    assert "fitting the run's own harmonic constants" in text.err
    ds = xr.load_dataset(out / "lineshapes.nc")
    traj = trajmodes.read(str(dump), species=["Cu", "Cu"], masses=list(MASSES))
    with pytest.warns(UserWarning, match="disordered on the sites of a lattice"), \
            pytest.warns(UserWarning, match="no reference crystal was given"):
        own = fit_effective(traj).force_constants
    p = own.primitive
    vca = ForceConstants(own.compact(), own.supercell, Crystal(p.cell, p.positions, p.species, ds.site_mass.values),
                         smap=own.smap, p2s=own.p2s)
    np.testing.assert_allclose(ds.frequency_vca.values, trajmodes.Phonons(vca).frequencies(ds.qpoint.values),
                               rtol=1e-10, atol=1e-6)          # (the zero modes at Gamma: round-off)
    true = trajmodes.Phonons(fc).frequencies(ds.qpoint.values)
    assert np.abs(ds.frequency_vca.values - true).max() < 0.05 * true.max()


def test_lineshapes_refuses_a_run_without_mass_disorder_and_constants_of_another_cell(sample, tmp_path, capsys):
    dump, fc_file, fc = sample
    out = tmp_path / "none"
    assert main(["lineshapes", str(dump), "--species", "Cu,Cu", "--masses", "63.55,63.55", "--force-constants",
                 str(fc_file), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("trajmodes: error: no mass disorder in the run") and "trajmodes project" in err
    assert not out.exists()
    _bvk_cu(3).write(tmp_path / "fc3.nc")
    assert main(["lineshapes", str(dump), *READ, "--force-constants", str(tmp_path / "fc3.nc"), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "is not the force constants' (108 atoms" in err and "leave out --force-constants" in err
    assert not out.exists()
    assert main(["lineshapes", str(dump), *READ, "--force-constants", str(fc_file), "--mesh", "10",
                 "-o", str(out)]) == 2
    assert "does not hold the run's q-points" in capsys.readouterr().err and not out.exists()


# ----------------------------------------------------------------------------- glass
@pytest.fixture(scope="module")
def glass(tmp_path_factory):
    """(LAMMPS data file, its Crystal) of the 64-atom amorphous Si."""
    z = np.load(DATA / "glass" / "asi64.npz")
    cell, pos = z["cell"], z["positions"]
    path = tmp_path_factory.mktemp("glass") / "asi64.data"
    lines = ["a-Si 64", "", f"{len(pos)} atoms", "1 atom types", ""]
    lines += [f"0.0 {float(cell[a, a])!r} {n}lo {n}hi" for a, n in enumerate("xyz")]
    lines += ["", "Masses", "", "1 28.0855", "", "Atoms # atomic", ""]
    lines += [f"{i + 1} 1 " + " ".join(repr(float(v)) for v in p) for i, p in enumerate(pos)]
    path.write_text("\n".join(lines) + "\n")
    return path, Crystal(cell, pos, ["Si"] * len(pos), [28.0855] * len(pos))


def _model(crystal):
    from trajmodes.disorder import GlassHarmonic
    from trajmodes.potentials.threebody import StillingerWeber
    return GlassHarmonic.from_potential(StillingerWeber.from_lammps(str(SW), ["Si"]), crystal)


def test_glass_dense_route_is_the_librarys(glass, tmp_path, capsys):
    """Every mode: participation ratios, Allen-Feldman diffusivities (width three times the mean spacing of the modes)
    and kappa(T), equal to the library's calls; the same from a file of the cell's constants."""
    from trajmodes.disorder import allen_feldman, allen_feldman_conductivity, gamma_modes
    data, crystal = glass
    out = tmp_path / "g"
    assert main(["glass", str(data), "--potential", str(SW), "--species", "Si", "--temperatures", "100,300",
                 "-o", str(out)]) == 0
    text = capsys.readouterr()
    ds = xr.load_dataset(out / "glass.nc")
    model = _model(crystal)
    modes = gamma_modes(model)
    width = 3 * modes.frequencies.max() / len(modes.frequencies)
    af = allen_feldman(model, modes, width=width)
    kappa = allen_feldman_conductivity(af, [100.0, 300.0])
    np.testing.assert_allclose(ds.frequency.values, modes.frequencies, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ds.participation_ratio.values, modes.participation_ratios(), rtol=1e-12)
    np.testing.assert_allclose(ds.diffusivity.values, af.diffusivity.values, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(ds.conductivity.values, kappa.conductivity.values, rtol=1e-12)
    assert ds.attrs["route"] == "dense" and ds.attrs["width"] == pytest.approx(width, rel=1e-12)
    assert ds.conductivity.attrs["units"] == "W/(m K)" and ds.diffusivity.attrs["units"] == "mm^2/s"
    assert "192 x 192 dynamical matrix diagonalised (about 1.18 MB" in text.out
    assert "Allen-Feldman diffusivities of 192 modes" in text.err
    assert (out / "glass.png").stat().st_size > 20_000
    # the cell's constants from a file: the same numbers
    phi = _model(crystal).dynamical.toarray() * 28.0855
    fc = ForceConstants(phi.reshape(64, 3, 64, 3).transpose(0, 2, 1, 3), crystal, crystal)
    fc.write(tmp_path / "glass_fc.nc")
    assert main(["glass", str(data), "--force-constants", str(tmp_path / "glass_fc.nc"), "--temperatures", "100,300",
                 "-o", str(tmp_path / "f")]) == 0
    back = xr.load_dataset(tmp_path / "f" / "glass.nc")
    np.testing.assert_allclose(back.conductivity.values, ds.conductivity.values, rtol=1e-9)


def test_glass_kpm_route_with_a_window(glass, tmp_path, capsys):
    """--route kpm: D(nu) of the kernel polynomial method and the window's modes by shift-invert Lanczos, with their
    participation ratios and diffusivities, equal to the library's calls."""
    from trajmodes.disorder import allen_feldman, gamma_modes, kpm_diffusivity
    data, crystal = glass
    out = tmp_path / "k"
    assert main(["glass", str(data), "--potential", str(SW), "--species", "Si", "--route", "kpm",
                 "--frequency-window", "8:10", "--moments", "128", "--vectors", "4", "--seed", "3",
                 "-o", str(out)]) == 0
    text = capsys.readouterr()
    ds = xr.load_dataset(out / "glass.nc")
    model = _model(crystal)
    kd = kpm_diffusivity(model, ds.kpm_frequency.values, n_moments=128, n_vectors=4, seed=3)
    d = kd.diffusivity.values
    np.testing.assert_allclose(ds.kpm_diffusivity.values, d, rtol=0, atol=1e-12 * np.nanmax(np.abs(d)))
    np.testing.assert_allclose(ds.kpm_dos.values, kd.dos.values, rtol=0, atol=1e-12 * kd.dos.values.max())
    modes = gamma_modes(model, window=(8.0, 10.0))
    nu = np.sort(modes.frequencies)
    af = allen_feldman(model, modes, width=3 * (nu[-1] - nu[0]) / (len(nu) - 1))
    np.testing.assert_allclose(ds.frequency.values, modes.frequencies, rtol=1e-10)
    np.testing.assert_allclose(np.sort(ds.diffusivity.values), np.sort(af.diffusivity.values), rtol=1e-8)
    assert ds.attrs["route"] == "kpm+window" and "conductivity" not in ds
    assert "kernel polynomial diffusivity D(nu) of the 64-atom cell (128 moments, 4 random vectors" in text.out
    assert "asked for" in text.out and "no conductivity" in text.out


def test_glass_route_follows_the_memory_and_refuses_what_fits_nowhere(glass, tmp_path, capsys, monkeypatch):
    """auto: the dense modes where they fit in half the memory, else the kernel polynomial method, said in one line
    with both estimates; a cell too big for both is refused in one line, nothing written."""
    import trajmodes.workflows.disorder
    _, crystal = glass
    big = crystal.supercell(np.diag([2, 2, 2]))                     # 512 atoms: dense 75.5 MB, KPM 16 moments ~10 MB
    data = tmp_path / "asi512.data"
    lines = ["a-Si 512", "", f"{big.n_atoms} atoms", "1 atom types", ""]
    lines += [f"0.0 {float(big.cell[a, a])!r} {n}lo {n}hi" for a, n in enumerate("xyz")]
    lines += ["", "Masses", "", "1 28.0855", "", "Atoms # atomic", ""]
    lines += [f"{i + 1} 1 " + " ".join(repr(float(v)) for v in p) for i, p in enumerate(big.positions)]
    data.write_text("\n".join(lines) + "\n")
    run = ["glass", str(data), "--potential", str(SW), "--species", "Si", "--moments", "16", "--vectors", "2"]
    monkeypatch.setattr(trajmodes.workflows.disorder, "available_memory", lambda: 40_000_000)
    assert main([*run, "-o", str(tmp_path / "auto")]) == 0
    out = capsys.readouterr().out
    assert "the dense modes would take about 75.5 MB, more than 50% of the 40 MB available" in out
    ds = xr.load_dataset(tmp_path / "auto" / "glass.nc")
    assert ds.attrs["route"] == "kpm" and "kpm_diffusivity" in ds and "diffusivity" not in ds
    monkeypatch.setattr(trajmodes.workflows.disorder, "available_memory", lambda: 2_000_000)
    assert main([*run, "-o", str(tmp_path / "no")]) == 2
    err = capsys.readouterr().err.strip()
    assert "too big for the dense modes (about 75.5 MB) and for the kernel polynomial method with 16 moments" in err
    assert "\n" not in err.split("trajmodes: error:")[-1] and not (tmp_path / "no").exists()
    assert main([*run, "--route", "dense", "-o", str(tmp_path / "dense")]) == 2
    err = capsys.readouterr().err.strip()
    assert "route dense: the dense modes of the 512-atom cell need about 75.5 MB, more than 50% of the 2 MB" in err
    assert not (tmp_path / "dense").exists()


def test_glass_refuses_bad_input(glass, sample, tmp_path, capsys):
    data, _ = glass
    _, fc_file, _ = sample
    assert main(["glass", str(data), "--force-constants", str(fc_file), "-o", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "the force constants are of a 32-atom supercell" in err and "64 atoms" in err
    with pytest.raises(SystemExit):
        main(["glass", str(data), "-o", str(tmp_path / "b")])
    assert "one of the arguments --potential --force-constants is required" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["glass", str(data), "--potential", str(SW), "--frequency-window", "10:8"])
    assert "NU_MIN:NU_MAX" in capsys.readouterr().err
    assert main(["glass", str(data), "--potential", "morse:1,1", "-o", str(tmp_path / "c")]) == 2
    assert "morse takes" in capsys.readouterr().err and not (tmp_path / "a").exists()


def test_lineshapes_of_a_run_too_short_for_its_lines_compares_nothing(tmp_path, capsys):
    """A run of 40 frames cannot measure lines a fraction of its resolution wide: their fitted errors exceed their
    widths, and the comparison with the exact lines says so instead of counting them as agreeing."""
    fc = _bvk_cu(2)
    types = 1 + (np.random.default_rng(1).permutation(fc.n_atoms) < fc.n_atoms // 2)
    fc.write(tmp_path / "fc.nc")
    dump = _write_dump(tmp_path / "short.lammpstrj", fc, types, n=40)
    assert main(["lineshapes", str(dump), *READ, "--force-constants", str(tmp_path / "fc.nc"), "-o",
                 str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert_warned(captured.err, "longer than the trajectory")
    text = captured.out
    assert "the run is too short to resolve these lines" in text and "within two standard errors" not in text
