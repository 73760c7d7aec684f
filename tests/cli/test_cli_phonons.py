"""``trajmodes phonons``: netCDF results, figures and the printed summary, on the real Cu EAM constants."""

import numpy as np
import pytest
import xarray as xr

from tests.support.paths import EXAMPLES
import trajmodes
from trajmodes.cli import main

pytest.importorskip("phonopy")
CU = EXAMPLES / "fc" / "cu_eam"
FAST = ["--mesh", "8", "--npoints", "11", "--temperatures", "0:800:100"]


@pytest.fixture(scope="module")
def cu_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ph")
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["phonons", str(CU), "-o", str(out), *FAST])
    return rc, out, buf.getvalue()


def test_writes_files(cu_run):
    rc, out, _ = cu_run
    assert rc == 0
    for name in ("band.nc", "dos.nc", "thermal.nc", "bands_dos.png", "thermal.png"):
        assert (out / name).stat().st_size > 1000
    assert not list(out.glob("*.part"))


def test_numbers_in_files(cu_run):
    _, out, _ = cu_run
    ph = trajmodes.Phonons(trajmodes.ForceConstants.read(CU, "phonopy"))
    with xr.open_dataset(out / "band.nc") as b:
        assert b.frequency.attrs["units"] == "THz"
        assert np.abs(b.frequency.values - ph.frequencies(b.qpoint.values)).max() < 1e-10
        assert list(b.attrs["tick_labels"])[:2] == ["Γ", "X"]
        assert 7.8 < float(b.frequency.max()) < 7.83                       # LA at X, Mishin EAM
    with xr.open_dataset(out / "dos.nc") as d:
        assert d.attrs["method"] == "tetrahedron"
        assert np.isclose(np.trapezoid(d.total.values, d.frequency.values), 3.0, rtol=1e-2)
    with xr.open_dataset(out / "thermal.nc") as t:
        assert t.temperature.values.tolist() == list(range(0, 801, 100))
        R = 8.314462618
        assert 0.97 * 3 * R < float(t.heat_capacity.sel(temperature=800)) < 3 * R
        assert float(t.heat_capacity.sel(temperature=0)) == 0.0


def test_summary(cu_run):
    _, _, text = cu_run
    assert "space group Fm-3m (No. 225)" in text
    assert "1 atoms (Cu x 1)" in text and "108-atom supercell" in text
    assert "no imaginary modes" in text
    assert ".. 7.8171 THz" in text


def test_netcdf_input_pdf_user_path_and_imaginary_flag(tmp_path, capsys):
    fc = trajmodes.ForceConstants.read(CU, "phonopy")
    fc.write(tmp_path / "cu.nc")
    assert main(["phonons", str(tmp_path / "cu.nc"), "-o", str(tmp_path / "a"), "--path", "GX|LG",
                 "--dos", "gaussian", "--plot-format", "pdf", *FAST]) == 0
    assert (tmp_path / "a" / "bands_dos.pdf").read_bytes()[:4] == b"%PDF"
    with xr.open_dataset(tmp_path / "a" / "band.nc") as b:
        assert list(b.attrs["tick_labels"]) == ["Γ", "X|L", "Γ"]
    capsys.readouterr()
    unstable = trajmodes.ForceConstants(-fc.fc2, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s)
    unstable.write(tmp_path / "bad.nc")
    assert main(["phonons", str(tmp_path / "bad.nc"), "-o", str(tmp_path / "b"), *FAST]) == 0
    text = capsys.readouterr().out
    assert "WARNING:" in text and "imaginary modes on the mesh" in text


def test_missing_path_is_one_line_error(tmp_path, capsys):
    assert main(["phonons", str(tmp_path / "nothing")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_bad_options_rejected(capsys):
    for bad in (["--mesh", "0"], ["--temperatures", "10:0:5"], ["--dos", "foo"]):
        with pytest.raises(SystemExit):
            main(["phonons", str(CU), *bad])
