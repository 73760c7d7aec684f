"""`trajmodes sqw` end to end on the shipped 300 K Cu run (256 atoms, 300 frames, x and v)."""

import numpy as np
import pytest
import xarray as xr

from tests.support.paths import EXAMPLES
import trajmodes
from trajmodes.cli import main
from trajmodes.modes.structure_factor import dynamic_structure_factor

MD = EXAMPLES / "md"
RUN = [str(MD / "cu_300K.lammpstrj.gz"), "--reference", str(MD / "cu_300K.data")]


def test_path_with_neutron_weights_and_dispersion(tmp_path, capsys):
    out = tmp_path / "path"
    assert main(["sqw", *RUN, "--path", "GXKGL", "--window", "40", "--step", "2", "--weights", "neutron",
                 "--force-constants", str(EXAMPLES / "fc" / "cu_eam"), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "11 commensurate q on GXKGL" in text and "Sears" in text
    ds = xr.open_dataset(out / "sqw.nc").load()
    assert ds.Sqw_coh.dims == ("q", "omega") and ds.sizes["q"] == 11 and "Clqw" in ds and "Sqw_incoh" in ds
    assert ds.Sqw_coh.attrs["units"] == "fm^2 ps" and ds.attrs["path_tick_labels"] == "Γ,X,K,Γ,L"
    assert np.all(np.diff(ds.path_distance.values) > 0)
    for name in ("sqw.png", "currents.png"):
        assert (out / name).stat().st_size > 20_000
    # the file holds what the library computes, b_Cu^2 times the unweighted functions
    traj = trajmodes.read(RUN[0], reference=RUN[2])
    plain = dynamic_structure_factor(traj, ds.qpoint.values, window=40, step=2, currents=False)
    np.testing.assert_allclose(ds.Sqw_coh.values, 7.718 ** 2 * plain.Sqw_coh.values, rtol=1e-10,
                               atol=1e-12 * np.abs(ds.Sqw_coh.values).max())


def test_powder_and_qpoints(tmp_path, capsys):
    assert main(["sqw", *RUN, "--powder", "1:4:6", "--per-shell", "8", "--window", "30", "--step", "5",
                 "--weights", "xray", "--no-currents", "-o", str(tmp_path / "powder")]) == 0
    ds = xr.open_dataset(tmp_path / "powder" / "sqw.nc").load()
    assert ds.Sqw_coh.dims == ("q_norm", "omega") and ds.n_qpoints.max() <= 8 and "Clqw" not in ds
    assert np.all((ds.q_norm.values > 1) & (ds.q_norm.values < 4)) and ds.Sqw_coh.attrs["units"] == "electrons^2 ps"
    assert (tmp_path / "powder" / "sqw_powder.png").stat().st_size > 20_000
    assert main(["sqw", *RUN, "--qpoints", "0,0,0;0.25,0.25,0;0.5,0.5,0.5", "--window", "20", "--step", "10",
                 "-o", str(tmp_path / "q")]) == 0
    ds = xr.open_dataset(tmp_path / "q" / "sqw.nc").load()
    np.testing.assert_allclose(ds.qpoint.values[1], [0.25, 0.25, 0])
    assert ds.Sqw_coh.attrs["units"] == "ps" and ds.attrs["weights"] == "equal (1)"
    capsys.readouterr()


@pytest.mark.parametrize("extra, message", [
    (["--qpoints", "0,0;1,1"], "--qpoints takes reduced q-points, three numbers each"),
    (["--qpoints", "0.3,0,0"], "not commensurate with the MD cell"),
    (["--powder", "4:1:5"], "need 0 <= QMIN < QMAX"),
    (["--powder", "0:0.1:3"], "no q commensurate with the MD cell has"),
    (["--path", "GXQ"], "unknown special points"),
    (["--path", "GX", "--species", "Qq", "--masses", "63.546", "--reference", "average"],
     "species 'Qq' is not in the neutron table"),
])
def test_errors_are_one_line(tmp_path, capsys, extra, message):
    run = RUN[:1] if "--reference" in extra else RUN           # an option given twice is refused before the rest
    args = ["sqw", *run, "--window", "10", "--weights", "neutron", "-o", str(tmp_path / "x"), *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") <= 4, err
    assert not (tmp_path / "x").exists()


def test_window_and_selection_are_required(capsys):
    with pytest.raises(SystemExit):
        main(["sqw", *RUN, "--window", "10"])
    assert "one of the arguments --path --qpoints --powder is required" in capsys.readouterr().err


def test_a_window_longer_than_the_run_is_refused_before_it_is_read(tmp_path, capsys, monkeypatch):
    """A correlation window longer than the run is refused in one line before any frame is read (it was refused
    after the time-average reference's pass: 36 s on an 864,000-atom dump)."""
    from trajmodes.io.trajectories.lammps import LammpsDumpSource
    n = trajmodes.read(RUN[0], species=["Cu"], md_timestep=0.001).n_frames
    reads = []
    real = LammpsDumpSource.read
    monkeypatch.setattr(LammpsDumpSource, "read", lambda self, frames, fields=None: reads.append(frames) or
                        real(self, frames, fields))
    assert main(["sqw", RUN[0], "--reference", "average", "--species", "Cu", "--window", str(n + 1), "--path", "GX",
                 "-o", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert f"window={n + 1} frames is longer than the run ({n} frames)" in err and err.count("\n") <= 2, err
    assert {int(k) for frames in reads for k in np.atleast_1d(frames)} <= {0}, reads     # the first frame at most
    assert not (tmp_path / "x").exists()


def test_force_constants_of_another_crystal_are_refused_before_the_pass(tmp_path, capsys, monkeypatch):
    """Si constants over the map of a Cu run: refused before S(q, omega) is computed, naming what differs (they were
    drawn over it)."""
    import trajmodes.workflows.scattering as scattering
    called = []
    monkeypatch.setattr(scattering, "structure_factor", lambda *a, **k: called.append(1))
    rc = main(["sqw", *RUN, "--path", "GXKGL", "--window", "40", "--force-constants", str(EXAMPLES / "fc" / "si_sw"),
               "-o", str(tmp_path / "other")])
    err = capsys.readouterr().err
    assert rc == 2 and not called
    assert "not cells of one crystal" in err and "si_sw" in err and "their lattices differ" in err
    assert not (tmp_path / "other").exists()
