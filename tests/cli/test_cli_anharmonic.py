"""``trajmodes anharmonic``: linewidths, shifts and conductivity of fitted fc2 + fc3, files and figure."""
from __future__ import annotations

import numpy as np
import xarray as xr

from trajmodes.cli import main
from trajmodes.phonons.anharmonic import Anharmonic


def test_anharmonic_command_writes_dataset_and_figure(cu_fc3, tmp_path, capsys):
    fc_path = tmp_path / "cu_fc3.nc"
    cu_fc3.to_netcdf(fc_path)
    out = tmp_path / "anh"
    assert main(["anharmonic", str(fc_path), "--mesh", "6", "--temperatures", "300,600", "--smearing", "0.1",
                 "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "kappa_xx" in text and "irreducible q" in text
    with xr.open_dataset(out / "anharmonic.nc") as ds:
        assert ds["kappa"].shape == (2, 3, 3)
        ref = Anharmonic(cu_fc3, 6, [300.0, 600.0], smearing=0.1).thermal_conductivity()
        np.testing.assert_allclose(ds["kappa"].values, ref["kappa"].values, rtol=1e-12)
        np.testing.assert_allclose(ds["linewidth"].values, ref["linewidth"].values, rtol=1e-12)
        assert ds["kappa"].attrs["units"] == "W/(m K)" and "trajmodes_version" in ds.attrs
    assert (out / "anharmonic.png").stat().st_size > 10_000


def test_anharmonic_command_refuses_harmonic_constants(tmp_path, capsys):
    from tests.support.paths import EXAMPLES
    rc = main(["anharmonic", str(EXAMPLES / "fc" / "cu_eam"), "--mesh", "4", "-o", str(tmp_path / "x")])
    assert rc == 2
    assert "no third-order part" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
