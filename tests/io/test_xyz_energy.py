"""Per-frame energy and pressure of extended XYZ files: ASE's energy=, stress= (9 or 6 values) and virial=, their
units and signs (a compressed crystal has a positive pressure), the netCDF cache, and the errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import trajmodes
from trajmodes.errors import TrajectoryFormatError
from trajmodes.units import EV_A3_GPA, KCALMOL_EV

CELL = 3.6 * np.eye(3)
FCC = 3.6 * np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])


def _fmt(a) -> str:
    return " ".join(repr(float(x)) for x in np.ravel(a))


def write(path: Path, comments: list[str], scale=None) -> Path:
    """Four Cu atoms per frame, one comment (after Lattice and Properties) per frame; frame k scaled by scale[k]."""
    lines = []
    for k, c in enumerate(comments):
        s = 1.0 if scale is None else scale[k]
        lines += ["4", f'Lattice="{_fmt(CELL * s)}" Properties=species:S:1:pos:R:3 {c}']
        lines += [f"Cu {_fmt(r * s)}" for r in FCC]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_ase_energy_and_stress(tmp_path):
    """ASE's own extxyz (EMT Cu, compressed, ideal, stretched): energy in eV, pressure = -stress in GPa."""
    ase_io = pytest.importorskip("ase.io")
    from ase.build import bulk
    from ase.calculators.emt import EMT
    atoms = []
    for s in (0.98, 1.0, 1.02):
        a = bulk("Cu", "fcc", a=3.6 * s, cubic=True)
        a.calc = EMT()
        a.get_stress()
        atoms.append(a)
    ase_io.write(tmp_path / "cu.extxyz", atoms, format="extxyz")
    traj = trajmodes.read(tmp_path / "cu.extxyz", frame_interval=0.01)
    assert traj.frame_fields == ("potential_energy", "pressure", "pressure_tensor")
    np.testing.assert_allclose(traj.potential_energy.compute(), [a.get_potential_energy() for a in atoms],
                               rtol=1e-15)
    P = traj.pressure_tensor.compute()
    for k, a in enumerate(atoms):
        np.testing.assert_allclose(P[k], -a.get_stress(voigt=False) * 160.2176634, rtol=1e-12, atol=1e-12)
    p = traj.pressure.compute()
    assert p[0] > 1.0 and p[2] < -1.0                          # compressed: positive; stretched: negative
    np.testing.assert_allclose(p, np.trace(P, axis1=1, axis2=2) / 3, rtol=1e-15)


def test_voigt_stress_virial_and_units(tmp_path):
    stress = np.array([-0.01, -0.02, -0.03, 0.001, 0.002, 0.003])           # xx yy zz yz xz xy, eV/A^3
    full = np.array([[-0.01, 0.003, 0.002], [0.003, -0.02, 0.001], [0.002, 0.001, -0.03]])
    voigt = write(tmp_path / "voigt.xyz", [f'energy=-14.0 stress="{_fmt(stress)}"'] * 2)
    nine = write(tmp_path / "nine.xyz", [f'energy=-14.0 stress="{_fmt(full)}"'] * 2)
    vir = write(tmp_path / "virial.xyz", [f'energy=-14.0 virial="{_fmt(-full * 3.6 ** 3 * s ** 3)}"'
                                          for s in (1.0, 1.01)], scale=(1.0, 1.01))
    want = -full * EV_A3_GPA
    for path in (voigt, nine, vir):
        traj = trajmodes.read(path, frame_interval=0.01)
        np.testing.assert_allclose(traj.pressure_tensor.compute(), [want, want], rtol=1e-13)
        np.testing.assert_allclose(traj.pressure.compute(), [0.02 * EV_A3_GPA] * 2, rtol=1e-13)
    real = trajmodes.read(nine, units="real", frame_interval=0.01)           # kcal/mol and kcal/mol/A^3
    np.testing.assert_allclose(real.potential_energy.compute(), [-14.0 * KCALMOL_EV] * 2, rtol=1e-15)
    np.testing.assert_allclose(real.pressure_tensor.compute()[0], want * KCALMOL_EV, rtol=1e-13)


def test_energy_only_and_none(tmp_path):
    traj = trajmodes.read(write(tmp_path / "e.xyz", ["energy=-1.5", "energy=-1.25"]), frame_interval=0.01)
    assert traj.frame_fields == ("potential_energy",) and traj.pressure is None
    np.testing.assert_array_equal(traj.potential_energy.compute(), [-1.5, -1.25])
    # free_energy= is not the potential energy
    none = trajmodes.read(write(tmp_path / "f.xyz", ["free_energy=-1.5"] * 2), frame_interval=0.01)
    assert none.frame_fields == () and none.potential_energy is None


def test_netcdf_cache_and_slices(tmp_path):
    path = write(tmp_path / "t.xyz", [f'energy={-k:.1f} stress="{_fmt(np.eye(3) * -0.01 * k)}"' for k in range(6)])
    traj = trajmodes.read(path, frame_interval=0.01)
    traj[1::2].to_netcdf(tmp_path / "t.nc")
    back = trajmodes.read(tmp_path / "t.nc")
    np.testing.assert_array_equal(back.potential_energy.compute(), [-1.0, -3.0, -5.0])
    np.testing.assert_array_equal(back.pressure_tensor.compute(), traj.pressure_tensor.compute()[1::2])
    np.testing.assert_array_equal(back[1].pressure.compute(), traj.pressure.compute()[3:4])
    assert set(traj.source.read([0, 1], ("potential_energy",))) == {"potential_energy"}   # no atom line parsed


def test_energy_in_some_frames_only(tmp_path):
    path = write(tmp_path / "some.xyz", ["energy=-1.5", "energy=-1.5", "", "energy=-1.5"])
    with pytest.raises(TrajectoryFormatError, match=r"some.xyz, frame 2, line 14: the comment line has no readable "
                                                    r"energy= value. write energy= on every frame \(or on none\)"):
        trajmodes.read(path, frame_interval=0.01)
    # on the last frame only: frame 0 is named
    with pytest.raises(TrajectoryFormatError, match=r"last.xyz, frame 0, line 2: .*no readable energy="):
        trajmodes.read(write(tmp_path / "last.xyz", ["", "energy=-1.5"]), frame_interval=0.01)


def test_bad_stress_and_virial_without_cell(tmp_path):
    with pytest.raises(TrajectoryFormatError, match=r"bad.xyz, frame 1, line 8: .*stress= value \(4 numbers, "
                                                    r"not 9 or 6\)"):
        trajmodes.read(write(tmp_path / "bad.xyz", ['stress="1 2 3 4 5 6"', 'stress="1 2 3 4"']),
                       frame_interval=0.01)
    p = tmp_path / "nocell.xyz"
    p.write_text("1\nvirial=\"1 0 0 0 1 0 0 0 1\"\nCu 0 0 0\n1\nvirial=\"1 0 0 0 1 0 0 0 1\"\nCu 0 0 0\n")
    with pytest.raises(TrajectoryFormatError, match=r"nocell.xyz, frame 0, line 2: virial= needs the cell volume"):
        trajmodes.read(p, frame_interval=0.01)


def test_nan_energy_is_named_with_its_frame(tmp_path):
    traj = trajmodes.read(write(tmp_path / "nan.xyz", ["energy=-1.5", "energy=nan", "energy=-1.5"]),
                          frame_interval=0.01)
    np.testing.assert_array_equal(traj[:1].potential_energy.compute(), [-1.5])
    with pytest.raises(TrajectoryFormatError, match=r"nan.xyz, frame 1: the potential energy of frame 1 is NaN"):
        traj.potential_energy.compute()


def test_sources_without_them():
    traj = trajmodes.from_arrays(np.zeros((2, 1, 3)), 3.0 * np.eye(3), ["Cu"], frame_interval=0.01)
    assert traj.frame_fields == () and traj.potential_energy is None and traj.pressure_tensor is None
    with pytest.raises(ValueError, match="has no potential energy"):
        traj.field("potential_energy")
