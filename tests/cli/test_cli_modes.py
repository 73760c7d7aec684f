"""`trajmodes project` and `trajmodes lifetimes` end to end on a short slice of cu_300K."""

import pytest
import numpy as np
import xarray as xr

from tests.support.paths import EXAMPLES
import trajmodes
from trajmodes.lattice.qpoints import commensurate_qpoints
from trajmodes.cli import main
from trajmodes.workflows import modes_dataset, path_bands
from trajmodes.lattice.paths import path_coordinates

MD = EXAMPLES / "md"


@pytest.mark.slow
def test_modes_dataset_and_lifetimes(tmp_path, capsys, cu_eam_phonons):
    traj = trajmodes.read(str(MD / "cu_300K.lammpstrj.gz"), reference=str(MD / "cu_300K.data"))
    ph = cu_eam_phonons
    q = commensurate_qpoints(np.diag([4, 4, 4]) @ np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]]))[:12]
    modes = trajmodes.project(traj, ph, qpoints=q).compute()
    ds = modes_dataset(modes, resolution=0.2, phonons=ph)
    for n in ("psd", "psd_fitted", "sed", "vdos", "equipartition", "peak_frequency", "peak_fwhm",
              "peak_lifetime", "peak_status", "star", "path_frequency", "rotations"):
        assert n in ds
    assert "Q" not in ds and "Q_real" not in ds
    path = tmp_path / "m.nc"
    ds.to_netcdf(path, engine="netcdf4")
    back = xr.open_dataset(path).load()
    np.testing.assert_allclose(back.peak_frequency.values, ds.peak_frequency.values)
    assert main(["lifetimes", str(path), "--plot", "--modes", "1:2,2:0", "-o", str(tmp_path / "fig")]) == 0
    out = capsys.readouterr().out
    assert "status" in out and "equipartition" in out and "lifetime = 1/(2 pi FWHM)" in out
    for k in ("fits", "dispersion", "sed"):                       # -o: the folder of the figures
        assert (tmp_path / "fig" / f"m_{k}.png").stat().st_size > 10_000
    assert "dispersion plot" not in out                           # the path came from the file
    bands, rot, note = path_bands(back)
    assert note == "" and bands.attrs["tick_labels"][:2] == ["Γ", "X"] and rot.shape == (48, 3, 3)
    np.testing.assert_allclose(bands.frequency.values, ph.band_structure().frequency.values)
    # a file from before the path was stored, its force constants gone: q-index plot with a note
    old = back.drop_vars([n for n in back.variables if n.startswith("path_") or n == "rotations"])
    old.attrs = {k: v for k, v in back.attrs.items() if not k.startswith("path_")}
    old.attrs["force_constants"] = str(tmp_path / "gone")
    old.to_netcdf(tmp_path / "old.nc", engine="netcdf4")
    assert main(["lifetimes", str(tmp_path / "old.nc"), "--plot", "-o", str(tmp_path / "old")]) == 0
    assert "q by index" in capsys.readouterr().out
    assert (tmp_path / "old" / "old_dispersion.png").stat().st_size > 10_000
    # ... and with its force constants given: the path is recomputed
    assert main(["lifetimes", str(tmp_path / "old.nc"), "--plot", "-o", str(tmp_path / "old2"),
                 "--force-constants", str(EXAMPLES / "fc" / "cu_eam")]) == 0
    assert "path from" in capsys.readouterr().out
    assert (tmp_path / "old2" / "old_dispersion.png").stat().st_size > 10_000
    assert main(["lifetimes", str(path), "--plot", "--modes", "99:0"]) == 2      # out of range: clear error


def test_project_cli_errors(tmp_path, capsys):
    rc = main(["project", str(MD / "cu_300K.lammpstrj.gz"), "--force-constants", str(tmp_path / "nope"),
               "-o", str(tmp_path / "m.nc")])
    assert rc == 2 and "no such file" in capsys.readouterr().err
    assert not (tmp_path / "m.nc").exists()


def test_path_coordinates_fcc_cu(cu_eam_phonons):
    """X, L, Delta_1/2 of fcc Cu and their star images land where they belong on Gamma-X-W-K-Gamma-L-U-W-L-K|U-X;
    every hit has the harmonic frequencies of the path at that point (checks q' = R^-T q)."""
    ph = cu_eam_phonons
    bands = ph.band_structure()
    ticks = list(zip(bands.attrs["tick_labels"], bands.attrs["tick_distance"]))            # Γ X W K Γ L U W L K|U X
    d_x, d_x2 = [d for k, d in ticks if k == "X"]                                             # X twice, L twice
    assert bands.attrs["tick_labels"][-1] == "X"
    rot = ph.force_constants.primitive.rotations
    cases = {  # reduced q (primitive reciprocal basis) -> expected distances
        "X": ([(0, .5, .5), (.5, 0, .5), (.5, .5, 0), (0, -.5, -.5), (-.5, .5, 0)], [d_x, d_x2]),
        "L": ([(.5, .5, .5), (.5, 0, 0), (0, .5, 0), (0, 0, -.5)], [d for k, d in ticks if k == "L"]),
        "Delta_1/2": ([(0, .25, .25), (.25, 0, .25), (-.25, -.25, 0), (0, -.25, -.25)], [0.5 * d_x]),
    }
    for label, (qs, expected) in cases.items():
        for q, d in zip(qs, path_coordinates(qs, bands, rot)):
            np.testing.assert_allclose(d, expected, atol=1e-9, err_msg=f"{label} {q}")
    # a general commensurate q: off the path
    assert path_coordinates([(0.125, 0.25, 0.375)], bands, rot)[0].size == 0
    # every commensurate q of the 4x4x4 fcc supercell that lands on the path has the path's frequencies there
    q = commensurate_qpoints(np.diag([4, 4, 4]) @ np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]]))
    seg, dist, bq = bands.segment.values, bands.distance.values, bands.qpoint.values
    n_on = 0
    for qi, ds in zip(q, path_coordinates(q, bands, rot)):
        for d in ds:
            s = seg[np.flatnonzero(dist <= d + 1e-12)[-1]]
            i0, i1 = np.flatnonzero(seg == s)[[0, -1]]
            t = (d - dist[i0]) / (dist[i1] - dist[i0])
            qp = bq[i0] + t * (bq[i1] - bq[i0])
            np.testing.assert_allclose(np.sort(ph.frequencies([qp])[0]), np.sort(ph.frequencies([qi])[0]),
                                       atol=1e-6)
            n_on += 1
    assert n_on > 10


def test_lifetimes_after_full_spectra_do_not_advise_full(tmp_path, capsys, cu_eam_phonons):
    """A 12 ps run leaves lines below resolution; after --full (one periodogram) the advice is a longer run, not
    --full again."""
    traj = trajmodes.read(str(MD / "cu_300K.lammpstrj.gz"), reference=str(MD / "cu_300K.data"))
    q = commensurate_qpoints(np.diag([4, 4, 4]) @ np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]]))[:12]
    modes = trajmodes.project(traj, cu_eam_phonons, qpoints=q).compute()
    texts = {}
    for full in (False, True):
        path = tmp_path / f"m{int(full)}.nc"
        modes_dataset(modes, resolution=0.2, full=full, phonons=cu_eam_phonons).to_netcdf(path, engine="netcdf4")
        assert main(["lifetimes", str(path)]) == 0
        texts[full] = capsys.readouterr().out
    assert "narrower than this run resolves" in texts[False] and "or try --full" in texts[False]
    assert "narrower than this run resolves" in texts[True] and "try --full" not in texts[True]
    assert "already one periodogram of the whole run (--full)" in texts[True]
