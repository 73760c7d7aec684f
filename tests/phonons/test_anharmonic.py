"""Three-phonon linewidths, shifts, lineshapes and RTA conductivity: exact structure of the sums, and
agreement with phono3py on the same fc2 and fc3 (effective constants fitted to real LAMMPS runs)."""
from __future__ import annotations

import numpy as np
import pytest

import trajmodes
from trajmodes.lattice.grid import Grid
from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
from trajmodes.phonons.harmonic.degeneracy import degenerate_average
from trajmodes.phonons.harmonic.dos import tetrahedron_dos
from trajmodes.phonons.harmonic.tetrahedron import point_weights, tetrahedra

from tests.support.phono3py_cases import phono3py_on, with_fc3


# -- the mesh and its triplets -----------------------------------------------------------------------
@pytest.mark.parametrize("mesh", [(6, 6, 6), (5, 5, 5), (4, 4, 4)])
def test_triplet_weights_cover_the_mesh(si_fc3, mesh):
    grid = Grid(mesh, si_fc3.primitive.rotations)
    assert grid.weights.sum() == grid.n_points
    for q in grid.irreducible:
        tr = grid.triplets(q)
        assert tr.weights.sum() == grid.n_points
        a = grid.addresses
        assert (((a[q] + a[tr.q1] + a[tr.q2]) % grid.mesh) == 0).all()
        assert np.array_equal(tr.shift * grid.mesh, a[q] + a[tr.q1] + a[tr.q2])


def test_mesh_that_breaks_symmetry_is_refused(si_fc3):
    with pytest.raises(ValueError, match="breaks the crystal's point group"):
        Grid((4, 4, 5), si_fc3.primitive.rotations)


def test_symmetry_reduction_changes_nothing(si_fc3):
    """Reduced triplets (little group of q and the exchange q' <-> q'') give the full sum over the mesh."""
    an = Anharmonic(si_fc3, 5, [300.0], smearing=0.2)
    q = int(an.grid.irreducible[7])
    full = an.grid.triplets(q, reduce=False)
    red = an.grid.triplets(q)
    assert len(red) < len(full) / 3
    S_red = an.interaction.strength(q, red.q1, red.q2)
    S_full = an.interaction.strength(q, full.q1, full.q2)
    from trajmodes.phonons.anharmonic.selfenergy import imaginary_part, occupations
    f = an.frequencies

    def gamma(tr, S):
        n1, n2 = occupations(f[tr.q1], [300.0]), occupations(f[tr.q2], [300.0])
        g = imaginary_part(S, an.deltas(tr, f[q]), n1, n2, tr.weights, an.grid.n_points)[0]   # (branch, nu)
        # the little group mixes degenerate modes: only their set's average is invariant
        return degenerate_average(g.T[None], f[q][None])[0]
    np.testing.assert_allclose(gamma(red, S_red), gamma(full, S_full), rtol=1e-10, atol=1e-14)


def test_tetrahedron_point_weights_are_the_dos(cu_eam_phonons):
    """Summed over the mesh, the per-point tetrahedron weights of delta(w - nu) are the DOS."""
    mesh = (8, 8, 8)
    m = cu_eam_phonons.mesh_frequencies(mesh)
    q, f = m.qpoints, m.frequencies
    vert, central = tetrahedra(mesh, cu_eam_phonons.force_constants.primitive.reciprocal_cell)
    w = np.linspace(0.5, 7.5, 15)
    vals = f[vert].transpose(0, 3, 1, 2)                                     # (N, nb, 24, 4)
    mine = point_weights(vals, central, w).sum(axis=(0, 1)) / len(q)
    ref, _ = tetrahedron_dos(f, vert, central, w)
    np.testing.assert_allclose(mine, ref, rtol=1e-12, atol=1e-14)


# -- exact structure --------------------------------------------------------------------------------
def test_zero_fc3_gives_zero_width_and_shift(si_fc3):
    an = Anharmonic(with_fc3(si_fc3, np.zeros_like(si_fc3.fc3)), 4, [300.0], smearing=0.1)
    ds = an.shifts()
    assert np.all(ds["gamma"].values == 0) and np.all(ds["frequency_shift"].values == 0)
    assert np.isinf(ds["lifetime"].values).all()


def test_scaling_fc3_scales_widths_and_shifts_quadratically(si_fc3):
    a = Anharmonic(si_fc3, 4, [300.0, 700.0], smearing=0.1).shifts()
    b = Anharmonic(with_fc3(si_fc3, 1.7 * si_fc3.fc3), 4, [300.0, 700.0], smearing=0.1).shifts()
    for v in ("gamma", "frequency_shift"):
        np.testing.assert_allclose(b[v].values, 1.7 ** 2 * a[v].values, rtol=1e-12, atol=1e-15)
    assert a["gamma"].values.max() > 1e-3


def test_classical_widths_and_shifts_are_linear_in_temperature(cu_fc3):
    ds = Anharmonic(cu_fc3, 6, [100.0, 300.0, 900.0], occupation="classical", smearing=0.15).shifts()
    g, d = ds["gamma"].values, ds["frequency_shift"].values
    np.testing.assert_allclose(g[1], 3 * g[0], rtol=1e-12)
    np.testing.assert_allclose(g[2], 9 * g[0], rtol=1e-12)
    np.testing.assert_allclose(d[2], 9 * d[0], rtol=1e-12, atol=1e-15)
    q = Anharmonic(cu_fc3, 6, [100.0, 300.0, 900.0], occupation="quantum", smearing=0.15).linewidths()
    # the quantum widths approach the classical ones from above at high temperature
    rel = q["gamma"].values / np.where(g > 0, g, np.nan)
    assert np.nanmax(np.abs(rel[2] - 1)) < np.nanmax(np.abs(rel[0] - 1))


def test_lineshape_integrates_to_one(cu_fc3):
    """A(nu) integrates to one up to the frequency dependence of the self-energy across the line (a few per cent
    for Cu at 300 K on an 8^3 mesh); the normalisation is exact for a self-energy constant in nu."""
    an = Anharmonic(cu_fc3, 8, [300.0], smearing=0.1)
    nu = np.linspace(0.0, 12.0, 4801)
    sf = an.spectral_function([[0.25, 0.0, 0.25], [0.5, 0.5, 0.0]], nu)
    A = sf["spectral_function"].values[0]                                  # (q, branch, frequency)
    area = np.trapezoid(A, nu, axis=-1)
    np.testing.assert_allclose(area, 1.0, atol=0.08)
    # the peak sits at the harmonic frequency plus the shift, its half width is Gamma there
    f0 = sf["frequency_harmonic"].values
    peak = nu[A.argmax(axis=-1)]
    assert np.abs(peak - f0).max() < 0.1


class _RotatedBasis(trajmodes.Phonons):
    """Harmonic phonons whose eigenvectors are turned by a random unitary inside every degenerate subspace: an
    equally valid basis that another eigensolver could have returned."""

    def __init__(self, fc, seed: int, tol: float = 1e-4):
        super().__init__(fc)
        self._rng, self._tol = np.random.default_rng(seed), tol

    def frequencies_and_eigenvectors(self, qpoints, q_direction=None):
        from trajmodes.phonons.harmonic.degeneracy import degenerate_groups
        f, e = super().frequencies_and_eigenvectors(qpoints, q_direction)
        for iq in range(len(f)):
            for g in degenerate_groups(f[iq], self._tol):
                if len(g) > 1:
                    z = self._rng.normal(size=(len(g), len(g))) + 1j * self._rng.normal(size=(len(g), len(g)))
                    u, _ = np.linalg.qr(z)
                    e[iq][:, g] = e[iq][:, g] @ u
        return f, e


def test_self_energy_at_any_frequency_is_independent_of_the_degenerate_basis(cu_fc3):
    """Gamma(nu), Delta(nu) and the lineshapes of degenerate branches (the transverse pair along Sigma and
    Delta of fcc Cu) are the same in any eigenvector basis of the degenerate subspace and at every q of one
    star: each branch of a degenerate set carries the set's mean (the trace of the self-energy matrix there)."""
    nu = np.linspace(0.0, 9.0, 181)
    q = np.array([[0.25, 0.25, 0.0], [0.75, 0.75, 0.0], [0.125, 0.0, 0.125], [0.875, 0.0, 0.875]])
    results = []
    for phonons in (trajmodes.Phonons(cu_fc3), _RotatedBasis(cu_fc3, seed=1), _RotatedBasis(cu_fc3, seed=2)):
        an = Anharmonic(cu_fc3, 8, [300.0], occupation="classical", smearing=0.1, phonons=phonons)
        gps = an.grid_points(q)
        assert an.grid.star_of[gps[0]] == an.grid.star_of[gps[1]]          # equivalent points
        assert an.grid.star_of[gps[2]] == an.grid.star_of[gps[3]]
        sf = an.spectral_function(gps, nu)
        own = an.linewidths(gps, shifts=True)
        results.append((sf, own))
    f0 = results[0][0]["frequency_harmonic"].values
    degenerate = np.diff(f0, axis=1).min(axis=1) < 1e-4
    assert degenerate.all()                                   # every q here has a degenerate transverse pair
    ref_sf, ref_own = results[0]
    for name in ("gamma", "frequency_shift", "spectral_function"):
        a = ref_sf[name].values[0]                            # (q, branch, frequency)
        scale = np.abs(a).max()
        np.testing.assert_allclose(a[1], a[0], atol=1e-10 * scale, err_msg=f"{name}: equivalent q")
        np.testing.assert_allclose(a[3], a[2], atol=1e-10 * scale, err_msg=f"{name}: equivalent q")
        for sf, _ in results[1:]:
            np.testing.assert_allclose(sf[name].values[0], a, atol=1e-10 * scale, err_msg=f"{name}: basis")
    for name in ("gamma", "frequency_shift"):
        a = ref_own[name].values[0]
        np.testing.assert_allclose(a[1], a[0], atol=1e-12)
        for _, own in results[1:]:
            np.testing.assert_allclose(own[name].values[0], a, atol=1e-12)
    # at its own frequency the per-frequency self-energy is the same number as the own-frequency one
    an = Anharmonic(cu_fc3, 8, [300.0], occupation="classical", smearing=0.1)
    at = an.self_energy(int(an.grid_points(q[:1])[0]), frequencies=f0[0]).gamma[0]      # (branch, nw)
    np.testing.assert_allclose(np.diagonal(at), ref_own["gamma"].values[0, 0], rtol=1e-12)


def test_q_off_the_mesh_is_refused(cu_fc3):
    an = Anharmonic(cu_fc3, 4, 300.0, smearing=0.1)
    with pytest.raises(ValueError, match="not on the"):
        an.linewidths([[0.1, 0.0, 0.0]])


@pytest.mark.parametrize("mesh", [2.5, (4, 4), 0, (4, -4, 4)])
def test_bad_mesh_is_a_clear_error(cu_fc3, mesh):
    with pytest.raises(ValueError, match="mesh must be one positive integer"):
        Anharmonic(cu_fc3, mesh, 300.0, smearing=0.1)


def test_missing_fc3_is_a_clear_error(cu_eam_phonons):
    with pytest.raises(ValueError, match="no third-order part"):
        Anharmonic(cu_eam_phonons.force_constants, 4, 300.0)


# -- against phono3py --------------------------------------------------------------------------------
_slow = pytest.mark.slow


@pytest.mark.parametrize("system,mesh,sigma", [("si", 6, 0.1), pytest.param("si", 7, 0.1, marks=_slow),
                                               ("cu", 6, 0.1),
                                               ("si", 5, None), pytest.param("si", 6, None, marks=_slow),
                                               pytest.param("cu", 6, None, marks=_slow),
                                               pytest.param("cu", 8, None, marks=_slow)])
@pytest.mark.slow
def test_linewidths_and_rta_kappa_match_phono3py(request, tmp_path, system, mesh, sigma):
    """Gaussian smearing (sigma 0.1 THz) and tetrahedra: widths to 1e-6 relative, kappa to 1e-4, two temperatures,
    two meshes each, on effective constants fitted to real Stillinger-Weber Si and EAM Cu runs."""
    fc = request.getfixturevalue(f"{system}_fc3")
    T = [300.0, 800.0]
    ph3 = phono3py_on(fc, tmp_path, [mesh] * 3, sigma)
    ph3.run_thermal_conductivity(temperatures=T, write_kappa=False)
    tc = ph3.thermal_conductivity
    an = Anharmonic(fc, mesh, T, smearing=sigma)
    ds = an.thermal_conductivity(linewidths=an.linewidths(np.asarray(tc.qpoints)))
    g3 = np.asarray(tc.gamma)[0]
    g = ds["gamma"].values
    big = g3 > 1e-6
    assert big.sum() > 20
    assert (np.abs(g - g3)[big] / g3[big]).max() < 1e-6
    assert np.abs(g - g3)[~big].max() < 1e-12
    np.testing.assert_allclose(ds["linewidth"].values, 2 * g3, rtol=1e-6, atol=1e-12)
    k = ds["kappa"].values
    k3 = np.asarray(tc.kappa)[0]
    np.testing.assert_allclose(k[:, [0, 1, 2], [0, 1, 2]], k3[:, :3], rtol=1e-4)
    np.testing.assert_allclose(k[:, [1, 0, 0], [2, 2, 1]], k3[:, 3:], atol=1e-4 * np.abs(k3).max())


@pytest.mark.slow
@pytest.mark.parametrize("system,mesh", [("si", 6), ("cu", 8)])
def test_bubble_shifts_match_phono3py(request, tmp_path, system, mesh):
    fc = request.getfixturevalue(f"{system}_fc3")
    T, eps = [300.0, 800.0], 0.1
    ph3 = phono3py_on(fc, tmp_path, [mesh] * 3, eps)
    q = np.array([[0, 0, 0], [1, 0, 0], [2, 1, 0], [mesh // 2, mesh // 2, 0], [2, 3, 1]]) / mesh
    gps = [int(ph3.grid.get_indices_from_addresses(np.rint(x * mesh).astype(int))) for x in q]
    _, deltas = ph3.run_real_self_energy(gps, T, frequency_points_at_bands=True, epsilons=[eps])
    d3 = np.asarray(deltas)[0]
    ds = Anharmonic(fc, mesh, T, smearing=eps).shifts(q)
    d = ds["frequency_shift"].values
    assert np.abs(d3).max() > 1e-3
    np.testing.assert_allclose(d, d3, rtol=1e-6, atol=1e-6 * np.abs(d3).max())


@pytest.mark.slow
def test_symmetrized_velocities_match_phonopy(si_fc3, tmp_path):
    """Little-group averaged velocities are phonopy's (GroupVelocity with the crystal's symmetry), degenerate
    modes on the zone boundary included; unsymmetrised ones differ there."""
    from phonopy.phonon.group_velocity import GroupVelocity
    ph3 = phono3py_on(si_fc3, tmp_path, [4, 4, 4], 0.1)
    q = np.array([[-1 / 3, 1 / 3, 1 / 6], [0.5, 0.25, 0.75], [0.1, 0.2, 0.3], [0.0, 0.5, 0.5], [-1 / 3, -0.5, 1 / 6]])
    gv = GroupVelocity(ph3.dynamical_matrix, symmetry=ph3.primitive_symmetry)
    gv.run(q)
    ref = gv.group_velocities
    ph = trajmodes.Phonons(si_fc3)
    np.testing.assert_allclose(ph.group_velocities(q, symmetrize=True), ref, atol=1e-9 * np.abs(ref).max())
    assert np.abs(ph.group_velocities(q) - ref).max() > 1.0


@pytest.mark.slow
def test_distributed_cluster_gives_identical_numbers(cu_fc3):
    """The loop over q is a Dask graph: worker processes of a LocalCluster give the threaded result bit for bit."""
    distributed = pytest.importorskip("distributed")
    local = Anharmonic(cu_fc3, 6, [300.0], smearing=0.1).shifts()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cl, \
            distributed.Client(cl) as client:
        remote = Anharmonic(cu_fc3, 6, [300.0], smearing=0.1, scheduler=client).shifts()
    for v in ("gamma", "frequency_shift"):
        assert np.array_equal(local[v].values, remote[v].values)


# -- the q-grid of a molecular dynamics supercell --------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("system,n", [("cu", 4), ("si", 3)])
def test_supercell_grid_matches_phono3py(request, tmp_path, system, n):
    """The grid of the MD cell itself (conventional cubic cells: not diagonal on the primitive cell) against
    phono3py's generalised regular grid with the same grid matrix: Gaussian widths to 1e-6, RTA kappa to 1e-4."""
    fc = request.getfixturevalue(f"{system}_fc3")
    S = np.asarray(fc.smap.matrix)
    assert not np.array_equal(S, np.diag(np.diag(S)))
    ph3 = phono3py_on(fc, tmp_path, S, 0.1, use_grg=True)
    T = [300.0, 800.0]
    ph3.run_thermal_conductivity(temperatures=T, write_kappa=False)
    tc = ph3.thermal_conductivity
    an = Anharmonic(fc, S, T, smearing=0.1, occupation="quantum")
    assert an.grid.n_points == round(abs(np.linalg.det(S)))
    lw = an.linewidths(np.asarray(tc.qpoints))                  # phono3py's representatives of the stars
    g, g3 = lw["gamma"].values, np.asarray(tc.gamma)[0]
    big = g3 > 1e-6
    assert big.sum() > 20
    assert (np.abs(g - g3)[big] / g3[big]).max() < 1e-6
    k = an.thermal_conductivity(linewidths=lw)["kappa"].values
    np.testing.assert_allclose(k[:, [0, 1, 2], [0, 1, 2]], np.asarray(tc.kappa)[0][:, :3], rtol=1e-4)
    # on our own representatives the velocities of degenerate modes at zone-boundary points are averaged over a
    # different little group (phonopy's convention, without reciprocal lattice vectors): 0.2 % at most here
    own = an.thermal_conductivity()["kappa"].values
    np.testing.assert_allclose(own, k, rtol=3e-3)


def test_supercell_grid_of_a_sheared_mesh_is_the_mesh(cu_fc3):
    """n U with U unimodular has the regular n-mesh's q-points: the same widths and shifts to round-off."""
    U = np.array([[1, 1, 0], [0, 1, 0], [0, 1, 1]])
    a = Anharmonic(cu_fc3, 4, [300.0], smearing=0.1).shifts()
    b = Anharmonic(cu_fc3, 4 * U, [300.0], smearing=0.1).shifts(a["qpoint"].values)
    for v in ("gamma", "frequency_shift"):
        np.testing.assert_allclose(b[v].values, a[v].values, rtol=1e-11, atol=1e-14)
    with pytest.raises(ValueError, match="regular meshes only"):
        Anharmonic(cu_fc3, 4 * U, [300.0])


@pytest.mark.slow
@pytest.mark.parametrize("system,mesh", [("si", 6), pytest.param("cu", 6, marks=_slow)])
def test_isotope_scattering_in_widths_and_kappa_matches_phono3py(request, tmp_path, system, mesh):
    """Natural isotope mass variances added to the three-phonon widths: RTA kappa against phono3py's
    ``is_isotope`` with the same mass variances (Gaussian smearing): widths to 1e-6, kappa to 1e-4."""
    fc = request.getfixturevalue(f"{system}_fc3")
    an = Anharmonic(fc, mesh, [300.0], smearing=0.1, isotopes=True)
    g2 = an.mass_variances
    assert 1e-4 < g2.min() and g2.max() < 3e-4
    ph3 = phono3py_on(fc, tmp_path, [mesh] * 3, 0.1)
    ph3.run_thermal_conductivity(temperatures=[300.0], is_isotope=True, mass_variances=list(g2), write_kappa=False)
    tc = ph3.thermal_conductivity
    lw = an.linewidths(np.asarray(tc.qpoints))
    g3 = np.asarray(tc.gamma)[0] + np.asarray(tc.gamma_isotope)[0][None]
    big = g3 > 1e-6
    np.testing.assert_allclose(lw["gamma"].values[big], g3[big], rtol=1e-6)
    np.testing.assert_allclose(lw["gamma_isotope"].values, np.asarray(tc.gamma_isotope)[0], rtol=1e-6, atol=1e-12)
    k = an.thermal_conductivity(linewidths=lw)["kappa"].values
    np.testing.assert_allclose(k[:, [0, 1, 2], [0, 1, 2]], np.asarray(tc.kappa)[0][:, :3], rtol=1e-4)
    assert k[0, 0, 0] < Anharmonic(fc, mesh, [300.0], smearing=0.1).thermal_conductivity()["kappa"].values[0, 0, 0]


def test_a_mesh_too_large_for_memory_is_refused_before_anything_is_allocated(cu_fc3):
    """A mesh of 1e15 points (a typo for 100) used to try to allocate petabytes; the estimate refuses it at once,
    with the size, what needs it and what to do, in the anharmonic, harmonic-mesh and quasiharmonic paths."""
    import time
    from trajmodes.lattice.prototypes import prototype
    from trajmodes.phonons.thermodynamics.quasiharmonic import QuasiHarmonic
    from trajmodes.potentials.pair import LennardJones
    t0 = time.perf_counter()
    with pytest.raises(MemoryError, match=r"1e\+15 q-points of the mesh .* PB, more than 50% .* use a smaller mesh"):
        Anharmonic(cu_fc3, 100000, 300.0)
    with pytest.raises(MemoryError, match="use a smaller mesh"):
        trajmodes.Phonons(cu_fc3).dos(mesh=(100000, 100000, 100000))
    with pytest.raises(MemoryError, match="use a smaller mesh"):
        QuasiHarmonic(LennardJones(0.0104, 3.4, 8.5), prototype("fcc", "Ar", 5.3), mesh=100000)
    assert time.perf_counter() - t0 < 5.0


def test_self_energy_result(cu_fc3):
    """Anharmonic.self_energy returns SelfEnergy (gamma, delta)."""
    from trajmodes.phonons.anharmonic.anharmonic import SelfEnergy
    an = Anharmonic(cu_fc3, 4, [300.0], smearing=0.2)
    r = an.self_energy(1, real=True)
    assert isinstance(r, SelfEnergy) and r.gamma.shape == r.delta.shape == (1, 3)
    assert an.self_energy(1).delta is None
