"""Runs in LAMMPS units lj from the command line (issue 67): every command whose reader meets units lj takes the run's
physical scales, ``--lj-scales SIGMA,EPSILON,MASS``; without them the refusal names that option (it used to advise
``lj_scales=``, a keyword of the API that the command line has no spelling for). The files are written here: fcc
argon in reduced units beside the same crystal in metal units."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import trajmodes
from trajmodes.cli import main

#: argon: sigma A, epsilon eV, mass amu
SIGMA, EPSILON, MASS = 3.405, 0.01032, 39.948
SCALES = f"{SIGMA},{EPSILON},{MASS}"
#: fcc lattice parameter in sigma, 3 x 3 x 3 conventional cells (108 atoms, 15.8 A: a 7 A cutoff fits)
A, CELLS = 1.5496, 3


def _positions(seed: int = 1, jitter: float = 0.02) -> np.ndarray:
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    sites = np.array([(np.array([i, j, k]) + b) * A for i in range(CELLS) for j in range(CELLS)
                      for k in range(CELLS) for b in basis])
    return sites + np.random.default_rng(seed).normal(scale=jitter, size=sites.shape)


def _data(path, x, length: float = 1.0, mass: float = 1.0) -> None:
    """A LAMMPS data file of positions ``x`` (sigma) in units of ``length`` A per unit (1: lj; SIGMA: metal)."""
    L = CELLS * A * length
    lines = ["fcc Ar", "", f"{len(x)} atoms", "1 atom types", "", f"0 {L:.12g} xlo xhi", f"0 {L:.12g} ylo yhi",
             f"0 {L:.12g} zlo zhi", "", "Masses", "", f"1 {mass:.12g}", "", "Atoms # atomic", ""]
    lines += [f"{i + 1} 1 {a * length:.12g} {b * length:.12g} {c * length:.12g}" for i, (a, b, c) in enumerate(x)]
    path.write_text("\n".join(lines) + "\n")


def test_glass_in_lj_units_takes_lj_scales(tmp_path, capsys):
    """``glass --units lj`` without scales is refused naming --lj-scales; with them its modes are those of the same
    cell written in metal units."""
    x = _positions()
    _data(tmp_path / "lj.data", x)
    _data(tmp_path / "metal.data", x, length=SIGMA, mass=MASS)
    common = ["--species", "Ar", "--potential", f"lj/cut:{EPSILON},{SIGMA},7.0", "--temperatures", "300"]
    assert main(["glass", str(tmp_path / "lj.data"), "--units", "lj", *common, "-o", str(tmp_path / "no")]) == 2
    err = capsys.readouterr().err
    assert "--lj-scales SIGMA,EPSILON,MASS" in err and "units lj" in err and not (tmp_path / "no").exists()
    assert main(["glass", str(tmp_path / "lj.data"), "--units", "lj", "--lj-scales", SCALES, *common, "-o",
                 str(tmp_path / "lj")]) == 0
    assert main(["glass", str(tmp_path / "metal.data"), *common, "-o", str(tmp_path / "metal")]) == 0
    capsys.readouterr()
    lj, metal = (xr.load_dataset(tmp_path / k / "glass.nc") for k in ("lj", "metal"))
    np.testing.assert_allclose(lj.frequency.values, metal.frequency.values, rtol=1e-8, atol=1e-6)
    assert float(lj.conductivity.values[0]) == pytest.approx(float(metal.conductivity.values[0]), rel=1e-8)
    assert lj.attrs["setting_lj_scales_sigma"] == SIGMA


def test_a_dump_in_lj_units_reads_its_data_file_in_lj_units(tmp_path, capsys):
    """A dump of a run in units lj (the input beside it says so) and its data file as the reference: both are
    converted with the scales (the data file used to be read in metal units: masses of 1 amu, hydrogen, and a cell
    3.4 times too small)."""
    x = _positions()
    _data(tmp_path / "ar.data", x)
    rng = np.random.default_rng(2)
    L = CELLS * A
    frames = []
    for f in range(6):
        p = x + rng.normal(scale=0.01, size=x.shape)
        v = rng.normal(scale=0.5, size=x.shape)
        frames += ["ITEM: TIMESTEP", str(100 * f), "ITEM: NUMBER OF ATOMS", str(len(x)), "ITEM: BOX BOUNDS pp pp pp",
                   *[f"0 {L:.12g}"] * 3, "ITEM: ATOMS id type x y z vx vy vz fx fy fz"]
        frames += [f"{i + 1} 1 {a:.8f} {b:.8f} {c:.8f} {u:.6f} {w:.6f} {z:.6f} 0.1 0.2 0.3"
                   for i, ((a, b, c), (u, w, z)) in enumerate(zip(p, v))]
    dump = tmp_path / "ar.lammpstrj"
    dump.write_text("\n".join(frames) + "\n")
    (tmp_path / "in.ar").write_text("units lj\natom_style atomic\nread_data ar.data\ntimestep 0.005\n"
                                    "dump 1 all custom 100 ar.lammpstrj id type x y z vx vy vz fx fy fz\nrun 500\n")
    assert main(["info", str(dump), "--reference", str(tmp_path / "ar.data"), "--species", "Ar"]) == 2
    assert "--lj-scales SIGMA,EPSILON,MASS" in capsys.readouterr().err
    assert main(["info", str(dump), "--reference", str(tmp_path / "ar.data"), "--species", "Ar", "--lj-scales",
                 SCALES]) == 0
    out = capsys.readouterr().out
    assert "masses:     Ar 39.9480 amu" in out and f"a = {L * SIGMA:.5f}" in out, out
    traj = trajmodes.read(str(dump), reference=str(tmp_path / "ar.data"), species=["Ar"],
                          lj_scales={"sigma": SIGMA, "epsilon": EPSILON, "mass": MASS})
    np.testing.assert_allclose(traj.reference.positions, x * SIGMA, atol=1e-8)
    np.testing.assert_allclose(traj.masses, MASS)
    tau = SIGMA * np.sqrt(MASS / EPSILON) * trajmodes.units.NATURAL_TIME_PS
    assert traj.frame_interval == pytest.approx(100 * 0.005 * tau)


@pytest.mark.parametrize("text, said", [("3.4,0.01", "three numbers"), ("3.4,-0.01,40", "positive"),
                                        ("3.4,nan,40", "positive"), ("a,b,c", "positive")])
def test_lj_scales_that_are_not_three_positive_numbers(text, said, capsys):
    with pytest.raises(SystemExit) as e:
        main(["info", "run.lammpstrj", "--lj-scales", text])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--lj-scales" in err and said in err


def test_the_api_refuses_scales_that_are_not_positive():
    from trajmodes.units import conversion
    with pytest.raises(ValueError, match=r"lj_scales epsilon=-1.*positive"):
        conversion("lj", {"sigma": 3.4, "epsilon": -1, "mass": 40})
