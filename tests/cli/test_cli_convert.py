"""``trajmodes convert-fc``: a chain of conversions through every format gives the constants back; one line says
what was read and written; what a format cannot hold is refused in one line, and nothing is left on disk."""
from __future__ import annotations

import numpy as np
import pytest

from tests.io.test_fc_formats import _case, _with_born, differences
from tests.support.cli_warnings import assert_warned
from tests.support.paths import EXAMPLES
from trajmodes import ForceConstants
from trajmodes.cli import main

CU = EXAMPLES / "fc" / "cu_eam"


def _run(capsys, *argv) -> tuple[int, str, str]:
    rc = main(["convert-fc", *map(str, argv)])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.startswith(".trajmodes") or p.name.endswith(".part"))


@pytest.mark.slow
def test_chain_through_every_format(tmp_path, capsys):
    """phonopy -> tdep -> shengbte -> phono3py -> netcdf -> phonopy: the real Cu EAM constants (108-atom
    non-diagonal supercell) come back to round-off, and every step prints one line."""
    pytest.importorskip("phono3py")
    steps = [(CU, "tdep", tmp_path / "tdep"), (tmp_path / "tdep", "shengbte", tmp_path / "sheng"),
             (tmp_path / "sheng", "phono3py", tmp_path / "p3"), (tmp_path / "p3", "netcdf", tmp_path / "fc.nc"),
             (tmp_path / "fc.nc", "phonopy", tmp_path / "back")]
    read_as = ["phonopy", "tdep", "shengbte", "phono3py", "netcdf"]
    for (src, to, dst), fmt in zip(steps, read_as):
        # a non-diagonal supercell: ShengBTE's scell cannot hold it, which the conversion to ShengBTE says
        rc, out, err = _run(capsys, src, "-o", dst, "--to", to)
        assert rc == 0, err
        if to == "shengbte":
            assert_warned(err, "is not diagonal: ShengBTE's scell cannot describe it")
        lines = out.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"read {fmt} {src}: fc2") and f"wrote {to} {dst}: " in lines[0]
        assert "108-atom supercell [[-3, 3, 3], [3, -3, 3], [3, 3, -3]]" in lines[0]
    a, b = ForceConstants.read(CU, "phonopy"), ForceConstants.read(tmp_path / "back", "phonopy")
    d2, _ = differences(a, b)
    assert d2 < 1e-13 * np.abs(a.fc2).max(), d2
    assert "written by trajmodes" in (tmp_path / "tdep" / "infile.ucposcar").read_text().splitlines()[0]
    assert str(CU) in (tmp_path / "tdep" / "infile.forceconstant").read_text().splitlines()[0]
    assert not _leftovers(tmp_path)


def test_third_order_and_refusals(tmp_path, capsys):
    """fc3 goes through tdep and shengbte; into phonopy only with --fc2-only; Born charges into TDEP or ShengBTE
    only with --no-nac; each refusal is one line, status 2, and leaves nothing."""
    fc = _case("gaas_diag")
    fc.write(tmp_path / "fc.nc")
    rc, out, err = _run(capsys, tmp_path / "fc.nc", "-o", tmp_path / "t", "--to", "tdep")
    assert rc == 0 and "fc2 (full) + fc3" in out and "infile.forceconstant_thirdorder" in out
    rc, out, err = _run(capsys, tmp_path / "t", "-o", tmp_path / "s", "--to", "shengbte")
    assert rc == 0 and "FORCE_CONSTANTS_3RD" in out
    d2, d3 = differences(fc, ForceConstants.read(tmp_path / "s", "shengbte"))
    assert d2 < 1e-14 * np.abs(fc.fc2).max() and d3 < 1e-14 * np.abs(fc.fc3).max()

    rc, out, err = _run(capsys, tmp_path / "s", "-o", tmp_path / "ph", "--to", "phonopy")
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "phonopy files hold no third-order constants" in err and "--fc2-only" in err
    assert not (tmp_path / "ph").exists()
    rc, out, err = _run(capsys, tmp_path / "s", "-o", tmp_path / "ph", "--to", "phonopy", "--fc2-only")
    assert rc == 0 and "(left out: fc3)" in out and (tmp_path / "ph" / "FORCE_CONSTANTS").exists()

    _with_born(fc).write(tmp_path / "polar.nc")
    rc, out, err = _run(capsys, tmp_path / "polar.nc", "-o", tmp_path / "polar_tdep", "--to", "tdep")  # polar file
    assert rc == 0, err
    assert np.allclose(ForceConstants.read(tmp_path / "polar_tdep", "tdep").born, _with_born(fc).born)
    rc, out, err = _run(capsys, tmp_path / "polar.nc", "-o", tmp_path / "polar_s", "--to", "shengbte")   # CONTROL
    assert rc == 0 and "CONTROL" in out and ForceConstants.read(tmp_path / "polar_s", "shengbte").born is not None
    rc, out, err = _run(capsys, tmp_path / "polar.nc", "-o", tmp_path / "polar_t", "--to", "tdep", "--no-nac")
    assert rc == 0 and "Born charges" in out and "left out: Born charges" in out
    assert not _leftovers(tmp_path)


def test_detection_and_wrong_outputs(tmp_path, capsys):
    _case("cu_nondiag").write(tmp_path / "mixed", "tdep")
    (tmp_path / "mixed" / "FORCE_CONSTANTS_2ND").write_text("1\n")
    rc, _, err = _run(capsys, tmp_path / "mixed", "-o", tmp_path / "x", "--to", "netcdf")
    assert rc == 2 and "several formats (tdep, shengbte): give --from" in err
    rc, out, err = _run(capsys, tmp_path / "mixed", "-o", tmp_path / "x.nc", "--to", "netcdf", "--from", "tdep")
    assert rc == 0 and out.startswith("read tdep")
    (tmp_path / "empty").mkdir()
    rc, _, err = _run(capsys, tmp_path / "empty", "-o", tmp_path / "y", "--to", "tdep")
    assert rc == 2 and "no force-constant files in it" in err
    rc, _, err = _run(capsys, tmp_path / "x.nc", "-o", tmp_path / "x.nc", "--to", "tdep")
    assert rc == 2 and "is a file; tdep force constants go into a folder" in err
    rc, _, err = _run(capsys, tmp_path / "x.nc", "-o", tmp_path / "mixed", "--to", "netcdf")   # -o: a folder
    assert rc == 0 and (tmp_path / "mixed" / "fc.nc").is_file()
    rc, _, err = _run(capsys, tmp_path / "nothing", "-o", tmp_path / "z", "--to", "tdep")
    assert rc == 2 and "no such file or folder" in err
    assert not _leftovers(tmp_path)


def test_supercell_option_and_single_file(tmp_path, capsys):
    """A TDEP file given by name, without infile.ssposcar: --supercell puts it on N1 x N2 x N3 unit cells."""
    fc = _case("gaas_diag")
    fc.write(tmp_path / "t", "tdep")
    (tmp_path / "t" / "infile.ssposcar").unlink()
    rc, _, err = _run(capsys, tmp_path / "t" / "infile.forceconstant", "-o", tmp_path / "a.nc", "--to", "netcdf")
    assert rc == 2 and "no infile.ssposcar" in err
    rc, out, err = _run(capsys, tmp_path / "t" / "infile.forceconstant", "-o", tmp_path / "a.nc", "--to", "netcdf",
                        "--supercell", "3")
    assert rc == 0 and "54-atom supercell [[3, 0, 0], [0, 3, 0], [0, 0, 3]]" in out
    d2, d3 = differences(fc, ForceConstants.read(tmp_path / "a.nc"))
    assert d2 < 1e-14 * np.abs(fc.fc2).max() and d3 < 1e-14 * np.abs(fc.fc3).max()
    import netCDF4
    with netCDF4.Dataset(tmp_path / "a.nc") as ds:
        assert ds.setting_source_format == "tdep" and "infile.forceconstant" in ds.inputs


def test_supercell_of_a_format_that_holds_its_own_is_refused(tmp_path, capsys):
    """--supercell of phonopy input (whose files hold their supercell) is refused in one line that names the format
    and what it takes, and nothing is written (it used to be ignored)."""
    pytest.importorskip("phonopy")
    rc, out, err = _run(capsys, CU, "-o", tmp_path / "a.nc", "--to", "netcdf", "--supercell", "3")
    assert rc == 2 and not out and err.count("\n") == 1
    assert "reading phonopy force constants (format 'phonopy') takes no option 'supercell'" in err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("to, third", [("tdep", "infile.forceconstant_thirdorder"), ("shengbte", "FORCE_CONSTANTS_3RD"),
                                       ("phono3py", "fc3.hdf5")])
def test_writing_over_another_crystals_folder_leaves_no_stale_file(tmp_path, capsys, to, third):
    """Converting fc2-only constants into a folder that holds another crystal's third order left that file beside
    the new ones, and the folder no longer read back; the stale file is removed, and the line says so."""
    other, own = _case("gaas_diag"), _case("cu_nondiag")
    other.write(tmp_path / "other.nc")
    ForceConstants(own.fc2, own.supercell, own.primitive).write(tmp_path / "own.nc")
    rc, out, err = _run(capsys, tmp_path / "other.nc", "-o", tmp_path / "f", "--to", to)
    assert rc == 0 and (tmp_path / "f" / third).exists()
    # the Cu case's supercell is not diagonal: ShengBTE's scell cannot hold it, which the writer says
    rc, out, err = _run(capsys, tmp_path / "own.nc", "-o", tmp_path / "f", "--to", to)
    assert rc == 0, err
    if to == "shengbte":
        assert_warned(err, "is not diagonal: ShengBTE's scell cannot describe it")
    assert f"removed {third}" in out and not (tmp_path / "f" / third).exists()
    back = ForceConstants.read(tmp_path / "f", to)
    assert back.fc3 is None and back.n_atoms == own.n_atoms
    assert not _leftovers(tmp_path)
