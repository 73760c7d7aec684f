"""DOS against phonopy on the same force constants: Gaussian and tetrahedron, total and projected."""
import numpy as np
import pytest

from trajmodes import Phonons
from trajmodes.lattice.qpoints import mesh_qpoints
from trajmodes.phonons.harmonic.dos import tetrahedra, tetrahedron_dos
from tests.support.phonopy_cases import CASES, phonopy_case

phonopy = pytest.importorskip("phonopy")
MESH = (8, 8, 8)


def _phonopy_dos(ph, tetra):
    ph.run_mesh(MESH, with_eigenvectors=True, is_mesh_symmetry=False, is_gamma_center=True)
    ph.run_total_dos(use_tetrahedron_method=tetra)
    ph.run_projected_dos(use_tetrahedron_method=tetra)
    return ph.total_dos, ph.projected_dos


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("method", ["gaussian", "tetrahedron"])
def test_against_phonopy(name, method):
    prim, S, pot = CASES[name]
    fc, ph = phonopy_case(prim, S, **pot)
    tot, pro = _phonopy_dos(ph, method == "tetrahedron")
    p = Phonons(fc)
    sigma = None if method == "tetrahedron" else ph.total_dos._sigma
    d = p.dos(MESH, method=method, sigma=sigma, frequencies=tot.frequency_points)
    scale = tot.dos.max()
    # measured: 1e-9 .. 5e-11 of the peak (round-off of the mesh frequencies)
    assert np.abs(d.total.values - tot.dos).max() < 1e-6 * scale
    assert np.allclose(d.projected.sum("atom").values, d.total.values, rtol=0, atol=1e-12 * scale)
    assert d.total.attrs["units"] == "1/THz" and d.frequency.attrs["units"] == "THz"
    if method == "gaussian" or fc.n_prim == 1:
        assert np.abs(d.projected.values - pro.projected_dos).max() < 1e-6 * scale
    # default frequency points are phonopy's (up to the round-off of the acoustic zeros at Gamma)
    assert np.abs(p.dos(MESH, method=method).frequency.values - tot.frequency_points).max() < 1e-6


def test_tetrahedron_projected_with_phonopy_eigenvectors():
    """Projected tetrahedron DOS of a degenerate crystal depends on the (arbitrary) eigenvectors chosen
    inside degenerate subspaces; with phonopy's own eigenvectors it is phonopy's to round-off."""
    prim, S, pot = CASES["Si-333"]
    fc, ph = phonopy_case(prim, S, **pot)
    tot, pro = _phonopy_dos(ph, True)
    mesh = ph.mesh
    dq = mesh.qpoints - mesh_qpoints(MESH)                   # the same mesh in the same order
    assert np.abs(dq - np.rint(dq)).max() < 1e-12
    e = mesh.eigenvectors
    proj = (np.abs(e) ** 2).reshape(len(e), 2, 3, 6).sum(axis=2).transpose(0, 2, 1)
    vert, central = tetrahedra(MESH, fc.primitive.reciprocal_cell)
    total, projected = tetrahedron_dos(mesh.frequencies, vert, central, tot.frequency_points, proj)
    assert np.abs(total - tot.dos).max() < 1e-12 * tot.dos.max()
    assert np.abs(projected - pro.projected_dos).max() < 1e-12 * tot.dos.max()


def test_normalisation_and_moments():
    prim, S, pot = CASES["Cu-nondiag"]
    fc, _ = phonopy_case(prim, S, **pot)
    p = Phonons(fc)
    w = np.linspace(-0.5, 12, 1251)
    tet = p.dos((12, 12, 12), frequencies=w, projected=False)
    gau = p.dos((12, 12, 12), method="gaussian", sigma=0.05, frequencies=w, projected=False)
    f = p.mesh_frequencies((12, 12, 12)).frequencies
    for d in (tet, gau):
        g = d.total.values
        assert abs(np.trapezoid(g, w) - 3) < 2e-3
        # first and second moments equal the mesh averages (tetrahedra interpolate linearly)
        assert abs(np.trapezoid(g * w, w) / 3 - f.mean()) < 2e-2
        assert abs(np.trapezoid(g * w ** 2, w) / 3 - (f ** 2).mean()) / (f ** 2).mean() < 1e-2
    with pytest.raises(ValueError):
        p.dos(method="lorentz")


def test_mesh_result():
    """Phonons.mesh_frequencies returns MeshFrequencies: q-points, frequencies and the projections on the primitive atoms."""
    from trajmodes.phonons.harmonic.dynamical import MeshFrequencies
    prim, S, pot = CASES["Cu-nondiag"]
    p = Phonons(phonopy_case(prim, S, **pot)[0])
    m = p.mesh_frequencies((4, 4, 4), projections=True)
    assert isinstance(m, MeshFrequencies) and m.frequencies.shape == (64, 3) and m.projections.shape == (64, 3, 1)
