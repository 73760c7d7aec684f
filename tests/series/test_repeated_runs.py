"""One run given twice to a series (issue 67): ``trajmodes series A A`` (or ``A ./A``, a symbolic or a hard link) used
to fit the dump twice without a word, one run counted as two independent ones. The command line refuses it naming
both arguments before anything is read; :func:`trajmodes.fit_series` refuses the same frames of the same file (or
the same trajectory) twice and warns where two runs share frames. Each file is made here."""
from __future__ import annotations

import os

import pytest

from tests.support.dumps import read_quiet, small_dump
from trajmodes.cli import main
from trajmodes.series.fitting import refuse_repeated_runs
from trajmodes.series.fitting import fit_series


@pytest.fixture
def dump(tmp_path):
    path, _ = small_dump(tmp_path / "A.lammpstrj", n_frames=6)
    return path


@pytest.mark.parametrize("spelling", ["same", "dot", "symlink", "hardlink"])
def test_the_command_line_refuses_a_run_given_twice(dump, tmp_path, capsys, spelling, monkeypatch):
    monkeypatch.chdir(tmp_path)
    other = {"same": "A.lammpstrj", "dot": "./A.lammpstrj", "symlink": "B.lammpstrj", "hardlink": "C.lammpstrj"}
    if spelling == "symlink":
        os.symlink("A.lammpstrj", "B.lammpstrj")
    if spelling == "hardlink":
        os.link("A.lammpstrj", "C.lammpstrj")
    out = tmp_path / "out"
    assert main(["series", "A.lammpstrj", other[spelling], "--md-timestep", "0.001", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"RUN 1 (A.lammpstrj) and RUN 2 ({other[spelling]}) are the same file" in err, err
    assert "give each run once" in err and not out.exists()
    if spelling != "same":
        assert str(tmp_path / "A.lammpstrj") in err or os.path.realpath(tmp_path / "A.lammpstrj") in err


def test_fit_series_refuses_the_same_data_twice(dump, tmp_path):
    t = read_quiet(str(dump), md_timestep=0.001)
    again = read_quiet(os.path.join(str(tmp_path), ".", "A.lammpstrj"), md_timestep=0.001)
    for runs in ([t, t], [t, again], [[t, again]]):
        with pytest.raises(ValueError, match=r"the same frames of the same data .*A.lammpstrj.* given twice"):
            fit_series(runs, temperatures=[300.0, 400.0][:len(runs)], names=["a", "b"][:len(runs)], cutoff2=3.0)
    # halves of one run are two runs; overlapping ones are said
    refuse_repeated_runs([t[:3], t[3:]], ["first", "second"])
    with pytest.warns(UserWarning, match=r"first \(run 1\) and second \(run 2\) share 2 frames \(MD steps\)"):
        refuse_repeated_runs([t[:4], t[2:]], ["first", "second"])


def test_fit_refuses_a_dump_given_twice(tmp_path, capsys):
    """``trajmodes fit A ./A`` pooled one run as two (its frames counted twice, its error bars too small): refused
    before anything is read, naming both arguments."""
    import shutil
    from trajmodes.cli import main
    from tests.support.paths import DATA
    dump = tmp_path / "a.lammpstrj"
    shutil.copy(DATA / "cu32_xu.lammpstrj", dump)
    rc = main(["fit", str(dump), str(tmp_path / "." / "a.lammpstrj"), "--species", "Cu", "--md-timestep", "0.001",
               "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2 and "FILE 1" in err and "FILE 2" in err and "are the same file" in err and "give each run once" in err
    assert not (tmp_path / "out").exists()
