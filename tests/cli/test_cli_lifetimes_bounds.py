"""``trajmodes lifetimes`` on a run too short for its lines (examples/md/cu_300K, 10 ps, 0.2 THz asked): the modes
narrower than the run resolves get the bounds the resolution gives (FWHM < W THz, lifetime > 1/(2 pi W) ps) where a
"-" stood, and the fits figure shows a representative grid of modes (it showed one), saying which."""
from __future__ import annotations

import numpy as np
import pytest

import trajmodes
from tests.support.paths import EXAMPLES
from trajmodes.cli import main
from trajmodes.lattice.qpoints import commensurate_qpoints
from trajmodes.workflows import modes_dataset

MD = EXAMPLES / "md"


@pytest.fixture(scope="module")
def short_modes(tmp_path_factory, cu_eam_phonons):
    traj = trajmodes.read(str(MD / "cu_300K.lammpstrj.gz"), reference=str(MD / "cu_300K.data"))
    q = commensurate_qpoints(np.diag([4, 4, 4]) @ np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]]))[:12]
    modes = trajmodes.project(traj, cu_eam_phonons, qpoints=q).compute()
    path = tmp_path_factory.mktemp("lifetimes") / "m.nc"
    ds = modes_dataset(modes, resolution=0.2, full=False, phonons=cu_eam_phonons)
    ds.to_netcdf(path, engine="netcdf4")
    return path, ds


def test_narrow_lines_get_their_bounds_not_a_dash(short_modes, capsys):
    path, ds = short_modes
    w = float(ds.attrs["spectra_enbw_thz"])
    st = ds.peak_status.values.astype(str)
    assert (st == "width below resolution").sum() > 20 and (st == "ok").sum() == 0
    assert main(["lifetimes", str(path)]) == 0
    out = capsys.readouterr().out
    rows = [x for x in out.splitlines() if x.startswith("     ") and x.split()[:1] in (["0"], ["1"], ["2"])]
    assert len(rows) == 3
    for row in rows:                                      # FWHM med and tau med: the bounds
        assert f"<{w:.4f}" in row and f">{1 / (2 * np.pi * w):.3g}" in row and " - " not in row
    assert f"FWHM <{w:.4f} THz, lifetime >{1 / (2 * np.pi * w):.3g} ps" in out
    assert main(["lifetimes", str(path), "--table"]) == 0
    narrow = [x for x in capsys.readouterr().out.splitlines() if x.endswith("width below resolution")]
    assert narrow and all(f"<{w:.4f}" in x and f">{1 / (2 * np.pi * w):.3g}" in x for x in narrow)


def test_the_fits_figure_shows_a_grid_of_modes_and_says_which(short_modes, tmp_path, capsys):
    path, ds = short_modes
    assert main(["lifetimes", str(path), "--plot", "-o", str(tmp_path)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("fits figure:"))
    assert "9 of 36 modes" in line and "highest, middle, lowest branch" in line and "--modes to choose" in line
    assert (tmp_path / "m_fits.png").stat().st_size > 50_000
