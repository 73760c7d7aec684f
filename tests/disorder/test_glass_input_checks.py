"""`trajmodes glass` refuses a cell it would treat wrongly, in one line with nothing written: an extended XYZ of a
cluster (pbc="F F F", whose Lattice is a box, not a periodic cell) used to be taken as periodic, and a potential whose
cutoff (5 A) reaches beyond half the cell (7.23 A) gave constants through several images of a pair without a word,
where the fit of force constants refuses such a cutoff."""
from __future__ import annotations

import pytest

from tests.support.paths import DATA
from trajmodes.cli import main
from trajmodes.workflows import glass_transport


def _extxyz_frame(tmp_path, pbc: str):
    """Frame 0 of tests/data/cu32.extxyz (the 32-atom Cu cell, 7.23 A) with ``pbc``."""
    lines = (DATA / "cu32.extxyz").read_text().splitlines()[:34]
    lines[1] = lines[1].replace('pbc="T T T"', f'pbc="{pbc}"')
    path = tmp_path / "cell.extxyz"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_glass_refuses_a_cluster(tmp_path, capsys):
    path = _extxyz_frame(tmp_path, "F F F")
    out = tmp_path / "out"
    assert main(["glass", str(path), "--potential", "lj/cut:0.4,2.3,3.0", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "cell.extxyz: the structure has no periodic cell" in err and 'pbc="F F F"' in err
    assert not out.exists()
    assert main(["glass", str(_extxyz_frame(tmp_path, "T T T")), "--potential", "lj/cut:0.4,2.3,3.0",
                 "--temperatures", "300", "-o", str(out)]) == 0            # the same cell, periodic
    assert "96 modes" in capsys.readouterr().out


def test_glass_refuses_a_cutoff_beyond_half_the_cell(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["glass", str(DATA / "cu32.data"), "--potential", "lj/cut:0.4,2.3,5.0", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert ("cu32.data: the potential's cutoff (5 A) is not below half the cell's shortest lattice vector (3.615 A)"
            in err and "longer than 10 A" in err)
    assert not out.exists()
    with pytest.raises(ValueError, match="is not below half the cell's shortest lattice vector"):
        glass_transport(str(DATA / "cu32.data"), potential="lj/cut:0.4,2.3,3.615")
