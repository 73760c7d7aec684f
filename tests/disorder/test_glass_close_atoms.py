"""A glass whose file puts two atoms on one site (a line written twice) or 0.3 A apart used to give its modes without
a word (issue 67): the pair on one site left out, the pair 0.3 A apart 10^7 THz. Both are refused naming the atoms.
The files are written here."""
from __future__ import annotations

import pytest

from tests.cli.test_cli_lj_scales import MASS, SIGMA, _data, _positions
from trajmodes.cli import main
from trajmodes.workflows import glass_transport

POTENTIAL = "lj/cut:0.01032,3.405,7.0"


@pytest.mark.parametrize("shift, said", [(0.0, r"atoms 1 and 2 \(in the order of their ids\) sit on one site"),
                                         (0.3, r"atoms 1 and 2 \(in the order of their ids\) are 0.3 A apart")])
def test_atoms_on_one_site_or_too_close_are_refused(tmp_path, capsys, shift, said):
    x = _positions() * SIGMA
    x[1] = x[0] + [shift, 0.0, 0.0]
    path = tmp_path / "broken.data"
    _data(path, x / SIGMA, length=SIGMA, mass=MASS)
    with pytest.raises(ValueError, match=rf"broken.data: {said}"):
        glass_transport(str(path), potential=POTENTIAL, species=["Ar"])
    out = tmp_path / "out"
    assert main(["glass", str(path), "--species", "Ar", "--potential", POTENTIAL, "-o", str(out)]) == 2
    assert "broken.data: atoms 1 and 2" in capsys.readouterr().err and not out.exists()
    x[1] = x[0] + [2.0 * SIGMA * 1.5496 * 3, 0.0, 0.0]          # two lattice vectors away: the same site
    _data(path, x / SIGMA, length=SIGMA, mass=MASS)
    with pytest.raises(ValueError, match=r"sit on one site"):
        glass_transport(str(path), potential=POTENTIAL, species=["Ar"])
