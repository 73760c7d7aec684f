"""``trajmodes fit --compare`` with constants whose primitive cell is not the fit's: the fit is written first
(fc.nc and its files) whatever the comparison says; a reference whose cell is a supercell of the fit's (or the other
way round) is compared at the same Cartesian q, the smaller cell's frequencies folded into the larger cell's zone; a
reference of another crystal is said not to compare, after the fit is written, with status 0."""
from __future__ import annotations

import numpy as np
import pytest

from trajmodes import Crystal, Phonons
from trajmodes.cli import main
from trajmodes.lattice.cubic import cubic_lattice
from trajmodes.potentials.pair import Morse

pytestmark = pytest.mark.filterwarnings("ignore:the error of the fit still grows at the longest blocks:UserWarning")

A = 3.615
MORSE = Morse(0.3429, 1.3588, 2.866, cutoff=5.0)


def _conventional_and_primitive():
    """Morse Cu on the 32-atom cube, once with the 1-atom fcc primitive cell, once with the 4-atom cube as its cell."""
    sc, prim = cubic_lattice("fcc", A, 2, ["Cu"], masses=[63.546])
    cube = Crystal(np.eye(3) * A, A * np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]]), ["Cu"] * 4,
                   [63.546] * 4)
    return MORSE.force_constants(sc, prim), MORSE.force_constants(sc, cube)


def test_folded_spectra_of_one_crystal_in_two_cells_agree():
    """The same constants with a 1-atom and a 4-atom cell: at the same Cartesian q the 4-atom cell's 12 frequencies
    are the 1-atom cell's at q and its three folding vectors, both ways round."""
    from trajmodes.workflows.fit import _compare_with
    prim, cube = _conventional_and_primitive()
    for mine, theirs, larger in ((prim, cube, "compared"), (cube, prim, "fitted")):
        ph = Phonons(mine)
        bands = ph.band_structure(None, npoints=5)
        ref, _ = _compare_with(theirs, ph, bands, mine.primitive)
        assert ref.attrs["folded"] == 4 and ref.attrs["folded_larger"] == larger
        assert ref.folded_fitted.shape == (bands.sizes["q"], 12)
        np.testing.assert_allclose(ref.folded_fitted.values, ref.folded_compared.values, atol=1e-6)


def test_fit_is_written_and_compared_with_a_supercell_or_said_not_to_compare(tmp_path, capsys, data_dir):
    prim, cube = _conventional_and_primitive()
    cube.write(tmp_path / "cube.nc", "netcdf")
    run = [str(data_dir / "cu32_xu.lammpstrj"), "--species", "Cu", "--md-timestep", "0.001", "--cutoff2", "3.0"]
    assert main(["fit", *run, "--compare", str(tmp_path / "cube.nc"), "-o", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "is a cell of 4 primitive cells of the fitted constants" in out and "largest difference" in out
    assert (tmp_path / "a" / "fc.nc").is_file() and (tmp_path / "a" / "fc.png").is_file()
    # another crystal (bcc): the fit is written, the comparison is said not to be made, and why
    sc, bprim = cubic_lattice("bcc", 2.87, 2, ["Cu"], masses=[63.546])
    MORSE.force_constants(sc, bprim).write(tmp_path / "bcc.nc", "netcdf")
    assert main(["fit", *run, "--compare", str(tmp_path / "bcc.nc"), "-o", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("against "))
    assert "not compared (" in line and "not cells of one crystal" in line and "fc.nc is written" in line
    for name in ("fc.nc", "fc.scores.nc", "fc.png"):
        assert (tmp_path / "b" / name).is_file()
