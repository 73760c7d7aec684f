"""One-phonon S(Q, omega) per branch (trajmodes.modes.one_phonon).

Oracles: the linearised density i sum_j b_j exp(i Q.r0_j) Q.u_j(t) computed atom by atom from the displacements of an
exact harmonic run (the sum over branches with its cross terms equals its spectrum to round-off, for Q in and out of
the first zone and a two-atom primitive cell, where the phases exp(i 2 pi G.p_k) matter); <u u^T> from the same
displacements; dynamic_structure_factor (dynasor's numbers) at vanishing amplitude, where S_coh is one-phonon; and
real LAMMPS MD of fcc Cu (Mishin EAM, 108 atoms) at 30, 300 and 900 K, where the remainder S_coh - sum_s S_s grows
with T.
"""
from __future__ import annotations

import numpy as np
import pytest

import trajmodes
from tests.support.harmonic_md import harmonic_run
from tests.support.lammps_md import lammps_module
from tests.support.paths import EXAMPLES
from trajmodes.lattice.structure import Structure
from trajmodes.modes.density_correlations import coherent_sums, lag_counts
from trajmodes.modes.one_phonon import debye_waller_msd, one_phonon_structure_factor, projection_eigenvectors
from trajmodes.modes.structure_factor import dynamic_structure_factor

#: the NPT lattice parameters of examples/md/runs.json (A) of the Cu runs
CU_A = {30: 3.6166, 300: 3.6319, 900: 3.6726}
#: scattering vectors of fcc Cu in Cartesian units of 2 pi / a: along [100] in the first three zones, [110], [111],
#: and general ones
CU_Q = [[1 / 3, 0, 0], [2 / 3, 0, 0], [1, 0, 0], [4 / 3, 0, 0], [5 / 3, 0, 0], [7 / 3, 0, 0], [1 / 3, 1 / 3, 0],
        [2 / 3, 2 / 3, 0], [1 / 3, 1 / 3, 1 / 3], [2 / 3, 1 / 3, 0], [1, 2 / 3, 1 / 3], [4 / 3, 2 / 3, 1 / 3]]


def cu_run(tmp_path_factory, T: int, frames: int = 1500):
    """A real LAMMPS NVE run of fcc Cu (3x3x3 conventional cells, 108 atoms) at T after 5 ps of Langevin, a frame
    every 0.02 ps (tests/support/lammps_series.py; cached for the session, shared with test_current_peaks)."""
    if lammps_module() is None:
        pytest.skip("the lammps Python module is not installed")
    from tests.support.lammps_series import generate_run
    run = generate_run(tmp_path_factory.getbasetemp() / "cu3-nve", "cu", T, CU_A[T], 11, cells=3, frames=frames,
                       nevery=10, equil_ps=5.0, thermostat="nve")
    return trajmodes.read(str(run["dump"]), reference=str(run["data"]))


def cartesian_to_reduced(xyz, primitive, a: float = 3.615) -> np.ndarray:
    """Reduced q (primitive reciprocal lattice, no 2 pi) of Cartesian q in units of 2 pi / a."""
    return np.asarray(xyz, float) @ (np.asarray(primitive.cell) / a).T


class FrozenPhonons:
    """Phonons whose eigenvectors are computed once per set of q-points, so that the projection and the one-phonon
    coefficients pair every Q(q, s) with the same eigenvector. (The phase of an eigenvector and the basis of a
    degenerate subspace follow the round-off of D(q), which changes with the number of BLAS threads: measured on
    the 125 q of Si, 6 eigenvectors differ between one and two BLAS threads. Dask tasks under one_blas_thread can
    leave that number changed, so two calls of the same Phonons need not agree.)"""

    def __init__(self, phonons):
        self.phonons, self.force_constants, self._kept = phonons, phonons.force_constants, {}

    def frequencies_and_eigenvectors(self, q):
        q = np.atleast_2d(np.asarray(q, float))
        key = q.tobytes()
        if key not in self._kept:
            self._kept[key] = self.phonons.frequencies_and_eigenvectors(q)
        return tuple(a.copy() for a in self._kept[key])

    def frequencies(self, q):
        return self.frequencies_and_eigenvectors(q)[0]


def _harmonic(name: str, T: float, n: int, seed: int = 3):
    fc = trajmodes.ForceConstants.read(EXAMPLES / "fc" / name, "phonopy")
    ph = FrozenPhonons(trajmodes.Phonons(fc))
    sc = fc.supercell
    run = harmonic_run(sc, fc.full(), sc.masses, T=T, dt=0.01, n=n, seed=seed)
    ref = Structure(sc.positions, sc.cell, sc.species, sc.masses)
    traj = trajmodes.from_arrays(sc.positions[None] + run["displacements"], sc.cell, sc.species, masses=sc.masses,
                                 velocities=run["velocities"], frame_interval=0.01, reference=ref, chunk_frames=64)
    return fc, ph, traj, run["displacements"]


@pytest.fixture(scope="module")
def si():
    """Exact harmonic MD of Stillinger-Weber Si (5x5x5 primitive cells, 250 atoms, 300 frames at 10 K)."""
    return _harmonic("si_sw", 10.0, 300)


def _linearised(positions, u, qc, window, step, b=None):
    """F(Q, t) of i sum_j b_j exp(i Q.r0_j) Q.u_j(t), atom by atom, with dynamic_structure_factor's estimator."""
    b = np.ones(len(positions)) if b is None else b
    lin = 1j * np.einsum("j,jq,tjq->tq", b, np.exp(1j * positions @ qc.T), np.einsum("tja,qa->tjq", u, qc))
    s = coherent_sums(np.zeros((0, 1, len(qc)), complex), lin[:, None, :], 0, window, step)[:, 0, 0]
    return (s / (len(positions) * lag_counts(len(u), window, step))[:, None]).T


def test_branches_sum_to_the_linearised_density_exactly(si):
    """Sum over branches with the cross terms = the linearised density's F(Q, t), to round-off (measured 1e-14), for
    Q in the first zone, shifted by G (exp(i 2 pi G.p_k) with p_k = (1/4, 1/4, 1/4): a wrong phase fails) and matched
    to the projected q or to -q; lazy and computed modes alike."""
    fc, ph, traj, u = si
    modes = trajmodes.project(traj, ph)
    q = np.array([[0.2, 0, 0], [0.2, 0.4, -0.2], [1.2, 0.0, 0.0], [-0.4, 1.2, 0.6], [0.6, 0.2, 1.4]])
    op = one_phonon_structure_factor(modes, ph, q, window=40, step=3, wave=2)
    want = _linearised(fc.supercell.positions, u, op.q_cartesian.values, 40, 3)
    got = op.Fqt_one_phonon.values
    assert np.abs(got - want).max() < 1e-10 * np.abs(want).max()
    F = op.Fqt_branch.sum("branch") + (op.Fqt_one_phonon - op.Fqt_branch.sum("branch"))
    np.testing.assert_allclose(F.values, got, rtol=1e-12)
    np.testing.assert_allclose(op.Sqw_branch.sum("branch") + op.Sqw_interference, op.Sqw_one_phonon, atol=1e-12)
    assert op.Sqw_branch.dims == ("q", "branch", "omega") and op.Sqw_branch.attrs["units"] == "ps"
    # q = (0.2, 0, 0) of this primitive cell is along Gamma-L (Cartesian [-1 1 1]): the transverse branches have no
    # weight there
    w = op.weight.values[0]
    assert np.sum(w > 1e-20) == 2, w                       # LA and LO (longitudinal) only
    again = one_phonon_structure_factor(modes.compute(), ph, q, window=40, step=3)
    np.testing.assert_allclose(again.Sqw_branch.values, op.Sqw_branch.values, rtol=1e-10, atol=1e-16)
    heavy = one_phonon_structure_factor(modes, ph, q[:2], window=40, step=3, weights={"Si": 4.1491})   # b_coh, fm
    np.testing.assert_allclose(heavy.Sqw_branch.values, 4.1491 ** 2 * op.Sqw_branch.values[:2], rtol=1e-10,
                               atol=1e-12 * np.abs(heavy.Sqw_branch.values).max())
    assert heavy.Sqw_branch.attrs["units"] == "weight^2 ps"
    neutron = one_phonon_structure_factor(modes, ph, q[:2], window=40, step=3, weights="neutron")
    np.testing.assert_allclose(neutron.Sqw_branch.values, heavy.Sqw_branch.values, rtol=1e-3)   # b_coh(Si) 4.1491 fm
    assert neutron.Sqw_branch.attrs["units"] == "fm^2 ps"


def test_cross_terms_vanish_where_one_branch_couples():
    """fcc Cu (one atom per cell) along [100] and [110] inside and beyond the first zone: only the longitudinal branch
    has Q.e != 0, so S_one_phonon = S_LA exactly; at a general Q the cross terms of a finite run do not vanish.
    Degenerate branches (TA1 = TA2 of q on Delta, seen from Q = q + (1, 1, 1) 2 pi / a, not along q): the split
    between them is the projection's choice of basis; "sum" puts their sum on both, the total is unchanged."""
    fc, ph, traj, u = _harmonic("cu_eam", 30.0, 200)
    modes = trajmodes.project(traj, ph).compute()
    q = cartesian_to_reduced([[1 / 3, 0, 0], [4 / 3, 0, 0], [2 / 3, 2 / 3, 0], [1, 2 / 3, 1 / 3], [4 / 3, 1, 1]],
                             fc.primitive)
    op = one_phonon_structure_factor(modes, ph, q, window=30)
    scale = np.abs(op.Sqw_one_phonon.values).max()
    assert np.abs(op.Sqw_interference.values[:3]).max() < 1e-12 * scale
    assert np.abs(op.Sqw_interference.values[3]).max() > 1e-4 * scale
    w = op.weight.values
    assert np.all((w[:3] > 1e-12 * w.max()).sum(axis=1) == 1)       # the longitudinal one (LA above TA on Sigma?
    assert list(w[:3].argmax(axis=1)) == [2, 2, 1]                   # no: at (2/3, 2/3, 0) TA2 lies above LA)
    summed = one_phonon_structure_factor(modes, ph, q, window=30, degenerate="sum")
    np.testing.assert_allclose(summed.Sqw_one_phonon, op.Sqw_one_phonon)
    nu = op.frequency_harmonic.values[4]
    assert nu[0] == pytest.approx(nu[1], abs=1e-6) and w[4, :2].sum() > 0.1 * w[4].sum()
    np.testing.assert_allclose(summed.Sqw_branch.values[4, 0], summed.Sqw_branch.values[4, 1])
    # another basis of the degenerate pair (modes["eigenvectors"] rotated, Q rotated back): the same atoms move,
    # "basis" splits them otherwise, "sum" does not change
    iq = int(np.flatnonzero(np.abs(modes.qpoint.values - op.mode_qpoint.values[4]).max(axis=1) < 1e-9)[0])
    e = projection_eigenvectors(modes, ph)
    c, sn = np.cos(0.7), np.sin(0.7) * np.exp(0.3j)
    R = np.array([[c, -np.conj(sn)], [sn, c]])                                    # unitary
    e2, Q2 = e.copy(), modes.Q.values.copy()
    e2[iq][:, :2] = e[iq][:, :2] @ R
    Q2[:, iq, :2] = Q2[:, iq, :2] @ R.conj()
    rotated = modes.copy()
    rotated["Q"] = (modes.Q.dims, Q2)
    rotated["eigenvectors"] = (("q", "component", "branch"), e2)
    for how, same in (("basis", False), ("sum", True)):
        a = one_phonon_structure_factor(modes, ph, q[4:], window=30, degenerate=how).Sqw_branch.values
        b = one_phonon_structure_factor(rotated, ph, q[4:], window=30, degenerate=how).Sqw_branch.values
        assert np.allclose(a, b, rtol=1e-10, atol=1e-12 * np.abs(a).max()) == same, how
        np.testing.assert_allclose(a[0, 2], b[0, 2], rtol=1e-10)                 # LA is untouched


def test_debye_waller_msd_is_that_of_the_displacements(si):
    fc, ph, traj, u = si
    modes = trajmodes.project(traj, ph)
    U = debye_waller_msd(modes, ph)
    atom = fc.smap.atom
    want = np.stack([np.einsum("tja,tjb->ab", u[:, atom == k], u[:, atom == k]) / (len(u) * np.sum(atom == k))
                     for k in range(2)])
    np.testing.assert_allclose(U, want, rtol=1e-10, atol=1e-14)
    with pytest.raises(ValueError, match="needs all 125 q-points"):
        debye_waller_msd(modes.isel(q=slice(0, 10)), ph)


def test_at_vanishing_amplitude_the_coherent_structure_factor_is_one_phonon():
    """Harmonic Si at 1e-6 K against dynamic_structure_factor of the same frames (dynasor's normalisation per atom,
    two atoms per primitive cell): S_coh is the linearised density's spectrum, multiphonon below 1e-4 of it (measured
    3e-6) with and without the Debye-Waller factor; the remainder S_coh - sum_s S_s is then the cross terms between
    branches, noise of a short run (1 to 23 % at a general Q, 120 frames, depending on the draw).

    The multiphonon part of a short run is dominated by 2 Re(rho_1* rho_2), first order in Q.u (it vanishes on
    average, not in 120 frames): 3e-4 at 0.01 K, 3e-6 at 1e-6 K."""
    fc, ph, traj, u = _harmonic("si_sw", 1e-6, 120, seed=5)
    modes = trajmodes.project(traj, ph).compute()
    q = np.array([[0.2, 0.4, -0.2], [1.2, 0.0, 0.0], [0.6, 0.2, 1.4]])
    sf = dynamic_structure_factor(traj, q, window=20, step=2, primitive=fc.primitive, currents=False,
                                  incoherent=False)
    ref = np.abs(sf.Sqw_coh.values).max()
    for dw in (None, "modes"):
        op = one_phonon_structure_factor(modes, ph, structure_factor=sf, debye_waller=dw)
        assert op.sizes["q"] == 3 and op.attrs["window"] == 20 and op.attrs["step"] == 2
        assert np.abs(op.multiphonon_fraction.values).max() < 1e-4, op.multiphonon_fraction.values
        assert np.abs(op.multiphonon.values).max() < 1e-4 * ref
        np.testing.assert_allclose(op.remainder, op.Sqw_coh - op.Sqw_branch.sum("branch"))
        np.testing.assert_allclose(op.remainder, op.multiphonon + op.Sqw_interference, atol=1e-12 * ref)
    # the remainder is the branches' cross terms, not multiphonon: hundreds of times larger (how large depends on the
    # draw, which depends on the basis LAPACK picks in degenerate subspaces of the supercell: 1-23 % measured)
    assert np.abs(op.remainder_fraction.values).max() > 100 * np.abs(op.multiphonon_fraction.values).max()


def test_bad_input_is_explained(si):
    fc, ph, traj, u = si
    modes = trajmodes.project(traj, ph).isel(q=slice(0, 5))
    with pytest.raises(ValueError, match="not a q of the projection"):
        one_phonon_structure_factor(modes, ph, [[0.3, 0.1, 0.0]], window=10)
    with pytest.raises(ValueError, match="give window="):
        one_phonon_structure_factor(modes, ph)
    sf = dynamic_structure_factor(traj, [[0.2, 0, 0]], window=10, primitive=fc.primitive, currents=False,
                                  incoherent=False)
    with pytest.raises(ValueError, match="same frames, window and step"):
        one_phonon_structure_factor(modes, ph, structure_factor=sf, window=12)
    other = dynamic_structure_factor(traj, [[0.2, 0, 0]], window=10, primitive=fc.primitive.cell[[1, 0, 2]],
                                     currents=False, incoherent=False)          # the same lattice, another basis
    with pytest.raises(ValueError, match="primitive=phonons.force_constants.primitive"):
        one_phonon_structure_factor(modes, ph, structure_factor=other)
    with pytest.raises(ValueError, match="debye_waller must be"):
        one_phonon_structure_factor(modes, ph, modes.qpoint.values[1:2], window=10, debye_waller=np.ones(3))


@pytest.mark.slow
def test_remainder_grows_with_temperature_in_cu_md(tmp_path_factory):
    """Real LAMMPS MD of Cu at 30, 300 and 900 K (1501 frames each, windows of 200 frames), 12 Q up to 2.9 1/A.

    With the Debye-Waller factor the remainder is the multiphonon (and anharmonic) part, positive and about W =
    Q.U.Q / 2: measured 0.006, 0.041, 0.103 of the integrated S_coh. Without it (the linearised density) it is second
    order in u, -(2W)^2 / 2: measured 0.0004, -0.016, -0.10. Per Q the 30 K remainders are within +-0.013."""
    fc = trajmodes.ForceConstants.read(EXAMPLES / "fc" / "cu_eam", "phonopy")
    ph = FrozenPhonons(trajmodes.Phonons(fc))
    q = cartesian_to_reduced(CU_Q, fc.primitive)
    frac, frac_dw = {}, {}
    for T in (30, 300, 900):
        traj = cu_run(tmp_path_factory, T)
        modes = trajmodes.project(traj, ph).compute()
        sf = dynamic_structure_factor(traj, q, window=200, step=2, primitive=fc.primitive, currents=False,
                                      incoherent=False)
        f0 = sf.Fqt_coh.values[:, 0].sum()
        for dw, out in ((None, frac), ("modes", frac_dw)):
            op = one_phonon_structure_factor(modes, ph, structure_factor=sf, debye_waller=dw)
            out[T] = float((op.remainder_fraction.values * sf.Fqt_coh.values[:, 0]).sum() / f0)
            if T == 30:
                assert np.abs(op.remainder_fraction.values).max() < 0.03, op.remainder_fraction.values
    assert 0 < frac_dw[30] < 0.015 < frac_dw[300] < frac_dw[900], frac_dw
    assert abs(frac[30]) < 0.005 < abs(frac[300]) < abs(frac[900]), frac
    assert frac[900] < 0 < frac_dw[900]
