"""``trajmodes qha``: the quasiharmonic minimisation from the command line, files, figure and table."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from tests.support.paths import EXAMPLES
from trajmodes.cli import main

SW = str(EXAMPLES / "potentials" / "Si_SW1985.sw")


def test_qha_command_writes_dataset_figure_and_table(tmp_path, capsys):
    from trajmodes.lattice.prototypes import prototype
    from trajmodes.phonons.quasiharmonic import QuasiHarmonic
    from trajmodes.potentials.threebody import StillingerWeber
    out = tmp_path / "qha"
    assert main(["qha", SW, "--structure", "diamond", "--a", "5.431", "--temperatures", "0,300,600", "--mesh", "4",
                 "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "alpha_V" in text and "B_T (GPa)" in text
    ref = QuasiHarmonic(StillingerWeber.from_lammps(SW), prototype("diamond", "Si", 5.431), mesh=4).minimize(
        [0.0, 300.0, 600.0])
    with xr.open_dataset(out / "qha.nc") as ds:
        np.testing.assert_allclose(ds["volume"].values, ref["volume"].values, rtol=1e-12)
        np.testing.assert_allclose(ds["bulk_modulus_t"].values, ref["bulk_modulus_t"].values, rtol=1e-8)
        assert ds["thermal_expansion"].attrs["units"] == "1/K" and "trajmodes_version" in ds.attrs
        assert "primitive cell" in ds["lattice_parameters"].attrs["long_name"]       # not the cube edge
    a600 = float(text.splitlines()[4].split()[1])
    assert a600 == pytest.approx(np.sqrt(2) * ref["lattice_parameters"].values[2, 0], abs=1e-5)
    assert (out / "qha.png").stat().st_size > 10_000
    # at 0 K with quantum statistics gamma = V alpha B / C_V is 0/0: no 'nan' in the table, a line that says so
    assert "nan" not in text.lower()
    assert "0/0 where C_V = 0" in text and "at 0 K" in text
    row0 = text.splitlines()[2].split()
    assert float(row0[0]) == 0.0 and row0[-2] == "-"


def test_qha_command_with_a_pair_potential_stops_where_the_lattice_does(tmp_path, capsys):
    """Classical Lennard-Jones argon: the quasiharmonic minimum disappears on heating before melting; the command
    says where and keeps the temperatures below."""
    out = tmp_path / "ar"
    assert main(["qha", "lj/cut:0.0104,3.40,9.0", "--species", "Ar", "--structure", "fcc", "--a", "5.3",
                 "--temperatures", "0,40,200", "--occupation", "classical", "--mesh", "4", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "warning: no minimum at 200 K" in text and "results stop at 40 K" in text
    with xr.open_dataset(out / "qha.nc") as ds:
        assert ds["temperature"].values.tolist() == [0.0, 40.0]


@pytest.mark.parametrize("spec, message", [
    ("morse:1.0,2.0", "morse takes D0, alpha, r0, cutoff"),
    ("nonexistent.sw", "no such potential file"),
    ("empty.sw", "no Stillinger-Weber entry in it"),                       # was: zero-size array to reduction
    ("lj/cut:0.0104,3.4,2.0", "no atoms of this crystal lie within the cutoff of the potential (2 A; the nearest "
                              "neighbours are 2.546 A apart)"),            # was: cannot reshape array of size 0
])
def test_qha_command_refuses_bad_potentials(tmp_path, capsys, spec, message):
    if spec == "empty.sw":
        (tmp_path / spec).write_text("# Stillinger-Weber parameters\n\n")
        spec = str(tmp_path / spec)
    rc = main(["qha", spec, "--species", "Cu", "--structure", "fcc", "--a", "3.6", "-o", str(tmp_path / "x")])
    assert rc == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
