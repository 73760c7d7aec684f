"""``trajmodes anharmonic`` at the temperature the constants describe: effective constants fitted at 100 K (fc.nc's
``temperature_K``, which ``trajmodes fit`` writes) give kappa at 100 K unless asked otherwise, and say so; 300 K is
the default only for constants that state no fit temperature."""
from __future__ import annotations

import xarray as xr

from trajmodes.cli import main

ARGS = ["--mesh", "4", "--smearing", "0.2"]


def test_the_fit_temperature_is_the_default_and_said(cu_fc3, tmp_path, capsys):
    fitted = tmp_path / "fc.nc"
    cu_fc3.write(fitted, "netcdf", attrs={"temperature_K": 100.0, "setting_cutoff2": 5.0, "setting_cutoff3": 3.0})
    assert main(["anharmonic", str(fitted), *ARGS, "-o", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert f"temperature: 100 K, the temperature {fitted} was fitted at" in out
    with xr.open_dataset(tmp_path / "a" / "anharmonic.nc") as ds:
        assert list(ds.temperature.values) == [100.0]
    assert main(["anharmonic", str(fitted), *ARGS, "--temperatures", "300", "-o", str(tmp_path / "b")]) == 0
    assert "fitted at 100 K: at other temperatures they are used outside" in capsys.readouterr().out


def test_constants_without_a_fit_temperature_default_to_300_k(cu_fc3, tmp_path, capsys):
    plain = tmp_path / "plain.nc"
    cu_fc3.write(plain, "netcdf")
    assert main(["anharmonic", str(plain), *ARGS, "-o", str(tmp_path / "c")]) == 0
    assert "temperature: 300 K (default;" in capsys.readouterr().out
    with xr.open_dataset(tmp_path / "c" / "anharmonic.nc") as ds:
        assert list(ds.temperature.values) == [300.0]
