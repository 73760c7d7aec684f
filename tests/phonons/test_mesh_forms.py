"""One reading of a q mesh (trajmodes.lattice.qpoints.parse_mesh) at every entry point, and one vocabulary:
``force_constants`` for the constants, ``temperature(s)`` for temperatures."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

from trajmodes.forceconstants.model import ForceConstants
from trajmodes.lattice.grid import Grid
from trajmodes.lattice.qpoints import parse_mesh
from trajmodes.lattice.qpoints import mesh_qpoints
from trajmodes.phonons.harmonic.phonons import Phonons

from tests.support.paths import EXAMPLES

#: the q-points of the conventional cubic cell of fcc: a supercell matrix that is not diagonal
FCC_CUBE = [[-1, 1, 1], [1, -1, 1], [1, 1, -1]]


@pytest.fixture(scope="module")
def fc():
    return ForceConstants.read(EXAMPLES / "fc" / "cu_eam", "phonopy")


@pytest.fixture(scope="module")
def ph(fc):
    return Phonons(fc)


@pytest.mark.parametrize("form", [4, [4], (4, 4, 4), np.array([4, 4, 4]), np.diag([4, 4, 4]), 4.0])
def test_mesh_of_one_int_is_n_n_n(ph, form):
    ref = ph.mesh_frequencies((4, 4, 4))
    m = ph.mesh_frequencies(form)
    assert np.array_equal(m.qpoints, ref.qpoints) and np.array_equal(m.frequencies, ref.frequencies)
    assert np.array_equal(mesh_qpoints(form), mesh_qpoints((4, 4, 4)))


def test_thermal_properties_of_one_int_is_n_n_n(ph):
    a = ph.thermal_properties([300.0], 4)
    b = ph.thermal_properties([300.0], (4, 4, 4))
    assert a.identical(b) and a.attrs["mesh"] == [4, 4, 4]
    assert ph.thermal_properties([300.0], mesh=[3, 3, 2]).attrs["mesh"] == [3, 3, 2]


def test_a_supercell_matrix_is_a_clear_error_where_a_regular_mesh_is_needed(ph):
    for call in (lambda: ph.mesh_frequencies(FCC_CUBE), lambda: ph.thermal_properties([300.0], FCC_CUBE),
                 lambda: mesh_qpoints(FCC_CUBE)):
        with pytest.raises(ValueError, match=r"one positive integer n \(n x n x n\) or three .* not a 3 x 3 "
                                             r"supercell matrix"):
            call()
    for bad in (0, (4, 4), 2.5, (4, -4, 4)):
        with pytest.raises(ValueError, match="mesh must be one positive integer"):
            ph.mesh_frequencies(bad)


def test_parse_mesh_forms():
    assert parse_mesh(FCC_CUBE).shape == (3, 3)
    assert parse_mesh(np.diag([2, 3, 4]), matrix=False).tolist() == [2, 3, 4]
    with pytest.raises(ValueError, match="cubic_mesh must be"):
        parse_mesh(0, matrix=False, name="cubic_mesh")


def test_grid_and_tetrahedra_take_one_int(ph):
    from trajmodes.phonons.harmonic.tetrahedron import tetrahedra
    rot = ph.force_constants.primitive.rotations
    a, b = Grid(4, rot), Grid((4, 4, 4), rot)
    assert np.array_equal(a.irreducible, b.irreducible) and np.array_equal(a.qpoints, b.qpoints)
    rc = ph.force_constants.primitive.reciprocal_cell
    assert all(np.array_equal(x, y) for x, y in zip(tetrahedra(4, rc), tetrahedra((4, 4, 4), rc)))
    with pytest.raises(ValueError, match="not a 3 x 3 supercell matrix"):
        tetrahedra(FCC_CUBE, rc)
    assert Grid(FCC_CUBE, rot).n_points == 4


def test_cli_mesh_option_reads_through_parse_mesh():
    import argparse
    from trajmodes.cli.options import mesh
    assert mesh("4") == [4, 4, 4] and mesh("4,4,2") == [4, 4, 2] and mesh("3x3x3") == [3, 3, 3]
    for bad in ("0", "4,4", "a", "1,2,3,4"):
        with pytest.raises(argparse.ArgumentTypeError, match="mesh must be"):
            mesh(bad)


def test_workflow_entry_points_take_one_int(fc):
    from trajmodes.workflows import phonon_properties
    a = phonon_properties(fc, mesh=4, temperatures=[300.0], npoints=3)
    b = phonon_properties(fc, mesh=(4, 4, 4), temperatures=[300.0], npoints=3)
    assert a.thermal.identical(b.thermal) and np.array_equal(a.mesh_frequencies, b.mesh_frequencies)


# -- force_constants, not fc ---------------------------------------------------------------------------------------
def test_phonons_take_force_constants(fc, ph):
    assert ph.force_constants is fc
    assert np.array_equal(Phonons(force_constants=fc).frequencies([[0.1, 0.2, 0.3]]), ph.frequencies([[0.1, 0.2, 0.3]]))


def test_anharmonic_takes_force_constants(fc):
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    fc3 = np.zeros((fc.n_prim, fc.n_atoms, fc.n_atoms, 3, 3, 3))
    with3 = ForceConstants(fc.fc2, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s, fc3=fc3)
    an = Anharmonic(with3, 2, [300.0], smearing=0.1)
    assert an.force_constants is with3


def test_three_phonon_and_elastic_take_force_constants(fc):
    from trajmodes.phonons.harmonic.elastic import elastic_constants, huang_residual
    from trajmodes.workflows import three_phonon
    with pytest.raises(ValueError, match="leave kappa=True"):
        three_phonon(force_constants=fc, mesh=2, temperatures=[300.0], kappa=False, coherences=True)
    C = elastic_constants(fc)
    assert np.array_equal(elastic_constants(force_constants=fc), C)
    assert huang_residual(force_constants=fc) == huang_residual(fc)


# -- temperature(s), not T -----------------------------------------------------------------------------------------
def test_series_functions_take_temperatures():
    from trajmodes.series import Series
    from trajmodes.series.thermodynamics import temperature_slopes, thermodynamics
    T, V = np.array([100.0, 200.0, 300.0]), np.ones(3)
    nu = np.array([[5.0, 6.0], [4.9, 5.9], [4.7, 5.8]])
    ref = temperature_slopes(T, V, nu)
    assert np.array_equal(temperature_slopes(temperatures=T, V=V, nu=nu), ref)
    F, F_err = np.array([-0.01, -0.03, -0.06]), np.zeros(3)

    def reference(i):
        return np.zeros(3), np.zeros(3), np.zeros(3)
    a = thermodynamics(T, V, F, F_err, reference)
    b = thermodynamics(temperatures=T, V=V, F=F, F_err=F_err, reference=reference)
    assert all(np.array_equal(getattr(a, k), getattr(b, k), equal_nan=k != "thermodynamic_path")
               for k in ("entropy", "entropy_err", "heat_capacity", "heat_capacity_err", "thermodynamic_path"))
    assert list(inspect.signature(Series.force_constants).parameters)[:2] == ["self", "temperature"]
    assert list(inspect.signature(Series.fit_at).parameters) == ["self", "temperature"]
