"""Public results are xarray Datasets or small frozen dataclasses read by attribute; units are spelled one way
(Angstrom) and never sit in a variable's name; dimensions are the names of docs/architecture.md.
"""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

import trajmodes
from trajmodes.lattice.cubic import cubic_lattice
from trajmodes.phonons.anharmonic.fourphonon import QuartetStrengths
from trajmodes.phonons.thermodynamics.quasiharmonic import ModeGruneisen
from trajmodes.phonons.harmonic.thermal import HarmonicThermodynamics, harmonic_thermodynamics, mesh_thermodynamics
from trajmodes.phonons.thermodynamics.uncertainty import FrequenciesWithErrors
from trajmodes.potentials import bvk
from trajmodes.potentials.eam import EnergyForces, ForceConstantParts
from trajmodes.potentials.engines import EnergiesForces, HarmonicEngine, LangevinSamples, PotentialEngine
from trajmodes.potentials.pair import Morse
from trajmodes.trajectory.core import FieldUnits, Frames
from trajmodes.units import EV_KJMOL

NU = np.array([[0.0, 0.0, 0.0, 2.5, 4.0, 6.5], [1.0, 1.5, 3.0, 4.5, 5.0, 7.0]])


@pytest.fixture(scope="module")
def morse():
    """fcc Morse "Cu", 2x2x2 conventional cells (32 atoms), its force constants and static energy."""
    sc, prim = cubic_lattice("fcc", 3.61, 2, ["Cu"], masses=[63.55])
    pot = Morse(D0=0.3429, alpha=1.3588, r0=2.866, cutoff=6.0)
    return sc, pot, pot.force_constants(sc, prim), float(pot.energy(sc))


def _quiet(fn, *args, **kw):
    """``fn(...)`` with every warning an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kw)


@pytest.mark.parametrize("cls, values", [
    (ModeGruneisen, (NU, -NU)), (FrequenciesWithErrors, (NU, 0.1 * NU, NU[None])),
    (QuartetStrengths, (NU, np.arange(2))), (EnergiesForces, (NU[:, 0], NU)), (EnergyForces, (1.5, NU))])
def test_small_results_are_frozen_dataclasses(cls, values):
    res = cls(*values)
    assert dataclasses.is_dataclass(res)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(res, dataclasses.fields(res)[0].name, None)
    assert all(getattr(res, f.name) is v for f, v in zip(dataclasses.fields(res), values))


def test_harmonic_thermodynamics_by_attribute(cu_eam_phonons):
    th = _quiet(harmonic_thermodynamics, NU, [0.0, 300.0])
    assert isinstance(th, HarmonicThermodynamics) and th.entropy.shape == (2,)
    # thermal_properties: the numbers of mesh_thermodynamics in phonopy's per-mole units, no variable named by a unit
    T = [100.0, 400.0]
    for occ in ("quantum", "classical"):
        ds = _quiet(cu_eam_phonons.thermal_properties, T, (4, 4, 4), occupation=occ)
        ev = _quiet(mesh_thermodynamics, cu_eam_phonons.dm, T, (4, 4, 4), occ)
        for name in ("free_energy", "internal_energy", "entropy", "heat_capacity"):
            per_mol = getattr(ev, name) * EV_KJMOL * (1000 if name in ("entropy", "heat_capacity") else 1)
            assert np.array_equal(ds[name].values, per_mol)
        assert set(ds.data_vars) == {"free_energy", "internal_energy", "entropy", "heat_capacity", "zero_point_energy"}
        assert ds.attrs["occupation"] == occ


def test_engines_return_dataclasses(morse):
    sc, pot, fc, e0 = morse
    rng = np.random.default_rng(1)
    x = sc.positions + 0.02 * rng.standard_normal((3, sc.n_atoms, 3))
    for eng in (HarmonicEngine(fc, e0), PotentialEngine(pot, sc)):
        r = _quiet(eng.evaluate, x)
        assert isinstance(r, EnergiesForces) and r.energies.shape == (3,) and r.forces.shape == (3, sc.n_atoms, 3)
        called = _quiet(eng, x)
        assert np.array_equal(called.energies, r.energies) and np.array_equal(called.forces, r.forces)
        assert _quiet(eng.reference_energy) == pytest.approx(e0, abs=1e-10)
    s = _quiet(HarmonicEngine(fc, e0).sample_langevin, 300.0, 20, every=5, frames=True, replicas=2)
    assert isinstance(s, LangevinSamples) and s.potential.shape == (4, 2) and s.positions.shape == (4, 2, 32, 3)
    assert s.forces.shape == (4, 2, 32, 3) and s.temperature.shape == (4, 2) and s.time.shape == (4,)
    bare = _quiet(HarmonicEngine(fc, e0).sample_langevin, 300.0, 10, every=5)
    assert bare.positions is None and bare.forces is None and bare.potential.shape == (2, 1)


def test_eam_parts():
    a = np.eye(2)[:, :1] * np.ones((2, 2))
    parts = ForceConstantParts(pair=a, e1=2 * a, e2=3 * a, e3=4 * a)
    assert np.array_equal(parts.total, 10 * a) and list(parts.as_dict()) == ["pair", "e1", "e2", "e3"]
    assert all(v is getattr(parts, k) for k, v in parts.as_dict().items())


def test_trajectory_read_and_units():
    rng = np.random.default_rng(0)
    x = rng.random((5, 4, 3))
    traj = trajmodes.from_arrays(x, 4.0 * np.eye(3), ["Cu"] * 4, frame_interval=0.01,
                                 velocities=rng.random((5, 4, 3)))
    frames = _quiet(traj.read, [1, 3])
    assert isinstance(frames, Frames) and np.array_equal(frames.positions, x[[1, 3]]) and frames.forces is None
    assert frames.velocities.shape == (2, 4, 3) and frames.cells.shape == (2, 3, 3) and frames.origins.shape == (2, 3)
    units = _quiet(getattr, traj, "units")
    assert isinstance(units, FieldUnits) and units.forces == "eV/Angstrom" and units.pressure_tensor == "GPa"
    assert units.positions == "Angstrom"


def test_bvk_constants_in_one_unit_name():
    fc = bvk.force_constants_from_bvk({"1XX": 1.0}, "fcc", a=4.0, mass=1.0, units="eV/Angstrom^2")
    same = bvk.force_constants_from_bvk({"1XX": 1.0}, "fcc", a=4.0, mass=1.0, units="eV/A^2")
    assert np.array_equal(fc.fc2, same.fc2)
    ds = bvk.shell_constants(fc, "fcc", n_shells=1)
    assert ds["value"].attrs["units"] == "N/m" and not [v for v in ds.data_vars if v.lower().endswith("_ev")]


def test_quasiharmonic_dimensions_and_mode_gruneisen():
    from trajmodes.lattice.prototypes import prototype
    from trajmodes.phonons.thermodynamics.quasiharmonic import QuasiHarmonic
    qh = QuasiHarmonic(Morse(D0=0.3429, alpha=1.3588, r0=2.866, cutoff=6.0), prototype("fcc", "Cu", 3.61), mesh=4,
                       occupation="classical")
    ds = _quiet(qh.minimize, [0.0, 100.0], properties=False)
    assert ds["cell"].dims == ("temperature", "cell_vector", "cartesian") and ds["cell"].attrs["units"] == "Angstrom"
    assert ds["lattice_parameters"].dims == ("temperature", "cell_vector")
    assert list(ds["cell_vector"].values) == ["a", "b", "c"] and ds["volume"].attrs["units"] == "Angstrom^3 per cell"
    g = _quiet(qh.mode_gruneisen)
    assert isinstance(g, ModeGruneisen) and g.frequencies.shape == g.gruneisen.shape
