"""A committee of one member (an extended XYZ file whose ``forces_committee`` array holds one member's three
columns, as ASE writes a per-atom (N, 1, 3) array) has no spread to give an error bar: ``trajmodes fit`` fits it as
an ordinary fit of the run's forces and says so, instead of fitting and then failing to write ``fc.nc``; asked for
the committee (``--committee yes``) or for its spread as weights, it refuses before fitting, naming the file.

Oracle: the fit of the one member's file equals ``--committee no`` on the same file (the same constants), and the
dataset says no committee (0 members).
"""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from trajmodes import ForceConstants
from trajmodes.cli import main

from tests.forceconstants.committee_data import MEMBERS, committee_run, write_committee_xyz


@pytest.fixture(scope="module")
def xyz(tmp_path_factory):
    u, comm, f = committee_run(n_frames=24, members=MEMBERS[:1])
    assert comm.shape[1] == 1
    path = tmp_path_factory.mktemp("committee1") / "one.xyz"
    write_committee_xyz(path, u, comm, f)
    assert "forces_committee:R:3 " in path.read_text().splitlines()[1]
    return path


def test_a_committee_of_one_member_is_fitted_as_an_ordinary_fit_and_says_so(xyz, tmp_path, capsys):
    assert main(["fit", str(xyz), "--cutoff2", "3.6", "-o", str(tmp_path / "auto")]) == 0
    captured = capsys.readouterr()
    said = captured.out + captured.err
    assert str(xyz) in said and "committee of one member" in said and "ordinary fit" in said
    assert xr.open_dataset(tmp_path / "auto" / "fc.nc").attrs.get("committee_members", 0) == 0
    assert main(["fit", str(xyz), "--cutoff2", "3.6", "--committee", "no",
                 "-o", str(tmp_path / "no")]) == 0
    a, b = (ForceConstants.read(tmp_path / d / "fc.nc") for d in ("auto", "no"))
    np.testing.assert_allclose(a.fc2, b.fc2, rtol=0, atol=1e-12)


@pytest.mark.parametrize("argv", [["--committee", "yes"], ["--force-weights", "uncertainty"]])
def test_a_committee_of_one_member_asked_for_is_refused_before_the_fit(xyz, tmp_path, capsys, argv):
    code = main(["fit", str(xyz), "--cutoff2", "3.6", *argv, "-o", str(tmp_path / "bad")])
    err = capsys.readouterr().err
    assert code != 0
    assert str(xyz) in err and ("one member" in err or "2 or more members" in err)
    assert "done in" not in err and not (tmp_path / "bad" / "fc.nc").exists()
