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
    from trajmodes.phonons.thermodynamics.quasiharmonic import QuasiHarmonic
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


@pytest.mark.slow
def test_qha_points_near_the_instability_are_marked_and_off_the_scales(tmp_path, capsys, monkeypatch):
    """Argon (Lennard-Jones), quantum, 8x8x8: B_T falls from 2.47 GPa to 0.30 at 70 K before the minimum vanishes at
    75 K, where alpha_V is 11,300e-6/K. That point is flagged (the table marks it, the dataset holds
    ``near_instability``), drawn as a red cross, and the expansion panel's scale is that of the other points; C_P
    and the volume are per atom in both the table and the figure."""
    from trajmodes.plots import figures as qha_plots
    figs = []
    monkeypatch.setattr(qha_plots, "save", lambda fig, path, **kw: figs.append(fig))
    out = tmp_path / "ar"
    assert main(["qha", "lj/cut:0.0104,3.40,8.5", "--species", "Ar", "--structure", "fcc", "--a", "5.25",
                 "--temperatures", "50:90:5", "--mesh", "8", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    rows = {float(r.split()[0]): r for r in text.splitlines() if r.strip()[:1].isdigit() and len(r.split()) >= 8}
    assert rows[70.0].endswith("*") and not rows[65.0].endswith("*")
    assert "C_P (kB/atom)" in text and "V (A^3/atom)" in text and "* near the instability" in text
    assert float(rows[70.0].split()[2]) == pytest.approx(43.76, abs=0.01)        # A^3 per atom (one-atom cell)
    with xr.open_dataset(out / "qha.nc") as ds:
        assert ds["near_instability"].values.tolist() == [False] * 4 + [True]
        alpha70 = float(ds["volumetric_expansion"].sel(temperature=70.0)) * 1e6
    assert alpha70 > 5000
    fig, = figs
    expansion = fig.axes[1]
    assert expansion.get_ylim()[1] < alpha70
    crosses = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_marker() == "x" and len(ln.get_xdata())]
    assert crosses and all(list(ln.get_xdata()) == [70.0] for ln in crosses)
    assert r"$k_\mathrm{B}$ per atom" in fig.axes[4].get_ylabel() and "per atom" in fig.axes[5].get_ylabel()


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
