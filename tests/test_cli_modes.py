"""`trajmodes project` and `trajmodes lifetimes` end to end on a short slice of cu_300K (issue 5)."""
from pathlib import Path

import numpy as np
import xarray as xr

import trajmodes
from trajmodes.projection import commensurate_qpoints
from trajmodes.cli import cmd_lifetimes, main, modes_dataset

ROOT = Path(__file__).resolve().parents[1]
MD = ROOT / "examples" / "md"


def test_modes_dataset_and_lifetimes(tmp_path, capsys):
    traj = trajmodes.read(str(MD / "cu_300K.lammpstrj.gz"), reference=str(MD / "cu_300K.data"))
    ph = trajmodes.Phonons(trajmodes.ForceConstants.from_phonopy(str(ROOT / "examples" / "fc" / "cu_eam")))
    q = commensurate_qpoints(np.diag([4, 4, 4]) @ np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]]))[:12]
    modes = trajmodes.project(traj, ph, qpoints=q).compute()
    ds = modes_dataset(modes, resolution=0.2)
    for n in ("psd", "psd_fitted", "sed", "vdos", "equipartition", "peak_frequency", "peak_fwhm",
              "peak_lifetime", "peak_status", "star"):
        assert n in ds
    assert "Q" not in ds and "Q_real" not in ds
    path = tmp_path / "m.nc"
    ds.to_netcdf(path, engine="netcdf4")
    back = xr.open_dataset(path).load()
    np.testing.assert_allclose(back.peak_frequency.values, ds.peak_frequency.values)
    assert main(["lifetimes", str(path), "--plot", "--modes", "1:2,2:0", "-o", str(tmp_path / "fig")]) == 0
    out = capsys.readouterr().out
    assert "status" in out and "equipartition" in out and "lifetime = 1/(2 pi FWHM)" in out
    for k in ("fits", "dispersion", "sed"):
        assert (tmp_path / f"fig_{k}.png").stat().st_size > 10_000
    assert main(["lifetimes", str(path), "--plot", "--modes", "99:0"]) == 2      # out of range: clear error


def test_project_cli_errors(tmp_path, capsys):
    rc = main(["project", str(MD / "cu_300K.lammpstrj.gz"), "--force-constants", str(tmp_path / "nope"),
               "-o", str(tmp_path / "m.nc")])
    assert rc == 2 and "no such file" in capsys.readouterr().err
    assert not (tmp_path / "m.nc").exists()
