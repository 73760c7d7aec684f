"""Projection onto phonon modes (trajmodes.project, back_project) and mode energies (trajmodes.mode_energies)."""
from __future__ import annotations


import numpy as np
import pytest

from tests.support.paths import EXAMPLES
import trajmodes
from trajmodes.lattice.qpoints import commensurate_qpoints
from trajmodes.modes.projection import back_project, trajectory_map
from trajmodes.lattice.structure import Structure
from trajmodes.trajectory.displacements import displacement_inputs
from trajmodes.units import KB_EV

FC = EXAMPLES / "fc"
MD = EXAMPLES / "md"


def _trajectory(fc, u, v=None, dt=0.01, chunk_frames=7):
    sc = fc.supercell
    ref = Structure(sc.positions, sc.cell, sc.species, sc.masses)
    return trajmodes.from_arrays(sc.positions[None] + u, sc.cell, sc.species, masses=sc.masses, velocities=v,
                                 frame_interval=dt, reference=ref, chunk_frames=chunk_frames)


@pytest.fixture(scope="module")
def cu():
    fc = trajmodes.ForceConstants.read(FC / "cu_eam", "phonopy")
    return fc, trajmodes.Phonons(fc)


@pytest.fixture(scope="module")
def si():
    fc = trajmodes.ForceConstants.read(FC / "si_sw", "phonopy")
    return fc, trajmodes.Phonons(fc)


def test_commensurate_qpoints():
    S = 4 * np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]])     # fcc 4x4x4 conventional on the primitive cell
    q = commensurate_qpoints(S)
    assert len(q) == 256 and np.all(q[0] == 0)
    assert np.all(q >= -0.5) and np.all(q < 0.5)
    assert np.allclose(S @ q.T, np.rint(S @ q.T), atol=1e-10)     # e^{i 2pi q.T} = 1 for supercell T
    assert len(np.unique(np.round(q % 1.0, 8) % 1.0, axis=0)) == 256
    assert len(commensurate_qpoints(np.diag([2, 3, 1]))) == 6


def test_exact_harmonic_modes(cu):
    """An analytic normal-mode solution projects onto its modes only, |Q| constant, exact frequency."""
    fc, ph = cu
    smap = fc.smap
    qs = commensurate_qpoints(smap.matrix)
    f_all, e_all = ph.frequencies_and_eigenvectors(qs)
    # two excited modes: a generic q (LA, branch 2) and another q (TA, branch 0), each real field (+ its -q part)
    picks = [(5, 2, 0.3, 0.7), (17, 0, 0.2, -1.1)]
    dt, nt = 0.01, 40
    t = np.arange(nt) * dt
    pf = fc.primitive.scaled_positions
    r0 = pf[smap.atom] + smap.lattice                          # primitive fractional
    m = fc.supercell.masses
    u = np.zeros((nt, fc.supercell.n_atoms, 3))
    v = np.zeros_like(u)
    for iq, s, amp, phi in picks:
        w = 2 * np.pi * f_all[iq, s]
        ek = e_all[iq].reshape(fc.n_prim, 3, -1)[smap.atom, :, s]             # (N, 3)
        X = amp * ek[None] * np.exp(1j * (2 * np.pi * (r0 @ qs[iq]))[None, :, None]
                                    - 1j * (w * t)[:, None, None] + 1j * phi)
        u += X.real / np.sqrt(m)[None, :, None]
        v += (-1j * w * X).real / np.sqrt(m)[None, :, None]
    modes = trajmodes.project(_trajectory(fc, u, v, dt), ph)
    Q, Qd = modes.Q.values, modes.Qdot.values
    assert Q.shape == (nt, len(qs), 3) and Q.dtype == np.complex128
    assert np.allclose(modes.frequency_harmonic.values, f_all)
    A = np.abs(Q)
    big = A.max()
    excited = np.zeros(A.shape[1:], bool)
    for iq, s, amp, phi in picks:
        minus = np.flatnonzero(np.all(np.isclose((qs + qs[iq] + 0.5) % 1 - 0.5, 0, atol=1e-9), axis=1))[0]
        excited[iq, s] = True
        excited[minus, np.isclose(f_all[minus], f_all[iq, s], atol=1e-6)] = True
        # |Q| is constant (zero width) and the phase advances by exactly -w dt per frame
        z = Q[:, iq, s]
        assert np.ptp(np.abs(z)) < 1e-10 * np.abs(z).mean()
        assert np.abs(z).mean() == pytest.approx(amp * np.sqrt(smap.n_cells) / 2, rel=1e-10)
        nu_fit = -np.angle(z[1:] / z[:-1]).mean() / (2 * np.pi * dt)
        assert nu_fit == pytest.approx(f_all[iq, s], abs=1e-9)
        # velocities: Qdot = -i w Q exactly
        assert np.allclose(Qd[:, iq, s], -2j * np.pi * f_all[iq, s] * z, atol=1e-9 * big * f_all[iq, s])
    assert A[:, ~excited].max() < 1e-10 * big
    # energies: harmonic modes carry constant energy, kinetic = potential on average over whole periods
    en = trajmodes.mode_energies(modes, temperature=300.0)
    tot = en.total.values
    assert tot[~excited].max() < 1e-18 * tot.max() + 1e-30


def test_round_trip_identity(cu, si):
    """u -> Q -> u is the identity (all commensurate q), for 1- and 2-atom primitive cells, on displacements without
    a centre-of-mass part (the crystal's drift, which the projection takes out: tests/trajectory/test_drift.py)."""
    rng = np.random.default_rng(1)
    for fc, ph in (cu, si):
        u = 0.05 * rng.standard_normal((5, fc.supercell.n_atoms, 3))
        m = fc.supercell.masses
        u -= (m[:, None] * u).sum(axis=1, keepdims=True) / m.sum()
        v = rng.standard_normal((5, fc.supercell.n_atoms, 3))
        traj = _trajectory(fc, u, v, chunk_frames=2)
        modes = trajmodes.project(traj, ph)
        smap, prim, masses = trajectory_map(traj, ph)
        ub = back_project(modes, ph, smap, prim, masses)
        vb = back_project(modes, ph, smap, prim, masses, variable="Qdot")
        assert np.abs(ub - u).max() < 1e-10
        assert np.abs(vb - v).max() < 1e-10
        # Parseval: sum_j m_j |u_j|^2 = sum_{q,s} |Q|^2
        Q = modes.Q.values
        assert np.allclose((np.abs(Q) ** 2).sum(axis=(1, 2)), (masses[None, :, None] * u ** 2).sum(axis=(1, 2)))


def test_chunking_and_centred_difference(cu):
    fc, ph = cu
    rng = np.random.default_rng(2)
    u = 0.05 * rng.standard_normal((9, fc.supercell.n_atoms, 3))
    with pytest.warns(UserWarning, match="no velocities"):
        a = trajmodes.project(_trajectory(fc, u, chunk_frames=9), ph, chunk_frames=4)
    with pytest.warns(UserWarning, match="no velocities"):
        b = trajmodes.project(_trajectory(fc, u, chunk_frames=9), ph)
    assert np.allclose(a.Q.values, b.Q.values, atol=1e-13)
    assert np.allclose(a.Qdot.values, np.gradient(b.Q.values, 0.01, axis=0), atol=1e-10)
    with pytest.warns(UserWarning, match="no velocities"):
        sub = trajmodes.project(_trajectory(fc, u, chunk_frames=9), ph, qpoints=b.qpoint.values[3:5])
    assert np.allclose(sub.Q.values, b.Q.values[:, 3:5], atol=1e-13)


def _supercell_of(prim, S, rng):
    """Atoms of the supercell ``S @ prim.cell`` (any integer S), in a shuffled order."""
    S = np.asarray(S)
    span = np.abs(S).sum(axis=0)
    grid = np.stack(np.meshgrid(*[np.arange(-s, s + 1) for s in span], indexing="ij"), -1).reshape(-1, 3)
    frac = grid @ np.linalg.inv(S)
    n = grid[np.all((frac > -1e-9) & (frac < 1 - 1e-9), axis=1)]
    assert len(n) == round(abs(np.linalg.det(S)))
    pos = ((n[:, None, :] + prim.scaled_positions[None]) @ prim.cell).reshape(-1, 3)
    species = np.tile(prim.species, len(n))
    order = rng.permutation(len(pos))
    return pos[order], S @ prim.cell, species[order]


@pytest.mark.parametrize("S", [[[2, 0, 0], [0, 3, 0], [0, 0, 2]], [[-2, 2, 2], [2, -2, 2], [2, 2, -2]],
                               [[1, 2, 0], [-2, 1, 1], [0, 1, 3]], [[3, 0, 0], [1, 2, 0], [0, 0, 1]]])
def test_grid_projector_equals_phase_matrix(si, S):
    """The FFT over the Smith-normal-form cell grid equals the explicit phase-matrix projection for
    diagonal and non-diagonal supercells, shuffled atom order, centred or not, and any q subset."""
    from trajmodes.modes.projection import _GridProjector, _Projector
    from trajmodes.lattice.supercell import smith_normal_form
    fc, ph = si
    prim = fc.primitive
    rng = np.random.default_rng(7)
    pos, cell, species = _supercell_of(prim, S, rng)
    L, D, R = smith_normal_form(S)
    assert np.array_equal(L @ np.asarray(S) @ R, D) and abs(round(np.linalg.det(L))) == 1
    u = 0.05 * rng.standard_normal((3, len(pos), 3))
    m = np.full(len(pos), 28.0855)
    traj = trajmodes.from_arrays(pos[None] + u, cell, species, masses=m, frame_interval=0.01,
                                 reference=Structure(pos, cell, species, m))
    smap, sprim, masses = trajectory_map(traj, ph)
    q = commensurate_qpoints(smap.matrix, centred=bool(rng.integers(2)))
    q = np.vstack([q, q[rng.permutation(len(q))[:5]] + 1])             # q and q + G both commensurate
    _, vecs = ph.frequencies_and_eigenvectors(q)
    uu = traj.displacements().compute()
    assert _GridProjector.applies(smap, q)
    a = _Projector(smap, sprim, masses, q, vecs)(uu)
    b = _GridProjector(smap, sprim, masses, q, vecs)(uu)
    assert np.abs(a - b).max() < 1e-12 * np.abs(a).max()
    assert not _GridProjector.applies(smap, q + 0.013)                    # off the grid: phase matrix
    # positions with the displacement map applied in the projectors' own pass (wrapped atoms included)
    wrapped = pos[None] + u + rng.integers(-1, 2, u.shape) @ cell
    x, dmap = displacement_inputs(wrapped, np.repeat(cell[None], len(u), 0), np.zeros((len(u), 3)), traj.reference)
    assert dmap is not None
    for proj in (_Projector, _GridProjector):
        c = proj(smap, sprim, masses, q, vecs)(x, dmap)
        assert np.abs(a - c).max() < 1e-12 * np.abs(a).max()


def test_compiled_kernels_equal_numpy_and_refuse_bad_indices():
    """The scatter and the contraction of the FFT projector against their numpy definitions (one atom per
    primitive cell, R = 3, and a larger R), and the index checks that keep them in bounds."""
    from trajmodes import _projection
    from trajmodes.trajectory.displacements import scatter_displacements
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 5, 3))
    dest = np.array([0, 7, 2, 9, 4], dtype=np.int64)
    w = rng.uniform(1, 2, 5)
    out = np.zeros((4, 24))
    scatter_displacements(x, out, dest, 6, w)
    expect = np.zeros((4, 24))
    for j in range(5):
        for a in range(3):
            expect[:, dest[j] + 6 * a] = w[j] * x[:, j, a]
    np.testing.assert_array_equal(out, expect)
    with pytest.raises(ValueError, match="dest"):
        scatter_displacements(x, np.zeros((4, 20)), dest, 6, w)                 # 9 + 2 * 6 is outside a row of 20
    for R in (3, 6):
        nq, G, T = 7, 5, 3
        F = rng.standard_normal((T, R, G)) + 1j * rng.standard_normal((T, R, G))
        g = rng.integers(0, G, nq)
        conj = rng.integers(0, 2, nq).astype(np.uint8)
        ec = rng.standard_normal((nq, R, R)) + 1j * rng.standard_normal((nq, R, R))
        got = np.empty((T, nq, R), dtype=complex)
        _projection.contract(F, T, R, G, g, conj, ec, got)
        Fg = F[:, :, g]                                                   # (T, R, nq)
        Fg = np.where(conj[None, None, :] == 1, np.conj(Fg), Fg)
        np.testing.assert_allclose(got, np.einsum("trq,qrs->tqs", Fg, ec), rtol=1e-13, atol=1e-13)
        with pytest.raises(ValueError, match="not on the grid"):
            _projection.contract(F, T, R, G, np.where(g == g[0], G, g), conj, ec, got)
        with pytest.raises(ValueError, match="out holds"):
            _projection.contract(F, T, R, G, g, conj, ec, got[:-1])


def test_setup_is_built_once_per_crystal_and_phonons(cu):
    """The projector (eigenvectors at the q, atom map) is kept per Phonons object and crystal, and reused; another
    q-set or reference builds another; the returned coordinates are the caller's own."""
    from trajmodes.modes import projection
    fc, ph = cu
    rng = np.random.default_rng(5)
    traj = _trajectory(fc, 0.02 * rng.standard_normal((6, fc.supercell.n_atoms, 3)))
    first = projection._setup(traj, ph, None, traj.reference)
    assert projection._setup(traj, ph, None, traj.reference) is first
    with pytest.warns(UserWarning, match="has no velocities: Qdot is a centred difference"):   # positions only
        a = trajmodes.project(traj, ph)
    a.frequency_harmonic.values[:] = 0.0                                  # the caller's copy
    with pytest.warns(UserWarning, match="has no velocities: Qdot is a centred difference"):
        b = trajmodes.project(traj, ph)
    assert np.all(b.frequency_harmonic.values[1:] > 0)
    np.testing.assert_array_equal(a.Q.values, b.Q.values)
    assert projection._setup(traj, ph, first[1][:3], traj.reference) is not first
    moved = traj.with_reference(Structure(traj.reference.positions + 0.01, traj.reference.cell,
                                          traj.reference.species, traj.reference.masses))
    assert projection._setup(moved, ph, None, moved.reference) is not first
    other = trajmodes.Phonons(fc)
    assert projection._setup(traj, other, None, traj.reference) is not first
    n = len(projection._SETUPS)
    del other
    import gc
    gc.collect()
    assert len(projection._SETUPS) == n - 1                               # dropped with its Phonons


def test_one_read_and_one_task_per_chunk_for_each_of_q_and_qdot(cu):
    """Positions and velocities are parsed by one read task per chunk, shared by the Q and Q' tasks."""
    fc, ph = cu
    rng = np.random.default_rng(6)
    n = fc.supercell.n_atoms
    traj = _trajectory(fc, 0.02 * rng.standard_normal((10, n, 3)), v=rng.standard_normal((10, n, 3)), chunk_frames=4)
    modes = trajmodes.project(traj, ph)
    graph = dict(modes.__dask_graph__())
    names = [k[0] if isinstance(k, tuple) else k for k in graph]
    kinds = {}
    for name in names:
        kind = name.rsplit("-", 1)[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    assert kinds == {"trajmodes-source": 1, "trajmodes-read": 3, "trajmodes-Q": 3, "trajmodes-Qdot": 3}, kinds
    # the primitive cell whose reduced coordinates the q-points are, for constants in another basis to map onto
    prim = fc.primitive
    np.testing.assert_array_equal(np.reshape(modes.attrs["primitive_cell"], (3, 3)), prim.cell)
    np.testing.assert_array_equal(np.reshape(modes.attrs["primitive_positions"], (-1, 3)), prim.positions)
    assert modes.attrs["primitive_species"].split() == list(prim.species)


def test_wrong_crystal_is_refused(cu):
    traj = trajmodes.read(MD / "si_300K.lammpstrj.gz", reference=MD / "si_300K.data")
    with pytest.raises(trajmodes.ReferenceMismatchError, match="primitive|supercell|crystal"):
        trajmodes.project(traj, cu[1])


@pytest.fixture(scope="module")
def si_md():
    return trajmodes.read(MD / "si_300K.lammpstrj.gz", reference=MD / "si_300K.data")


def test_equipartition_real_md(si, si_md):
    """Real LAMMPS Si (SW) at 300 K on a 3x3x3 conventional cell, 0 K constants from a 5x5x5 primitive cell,
    and effective constants fitted to the same run."""
    traj = si_md
    T = float(traj.temperature().mean().compute())
    nyquist = r"339 of 648 modes .* lie at or above 0.9 x the Nyquist frequency 12.50 THz"   # optical Si, 0.04 ps
    with pytest.warns(UserWarning, match=nyquist):
        modes = trajmodes.project(traj, si[1])
    assert modes.sizes["q"] == 108 and modes.attrs["n_cells"] == 108
    en = trajmodes.mode_energies(modes, temperature=T, time_series=True, decimate=10)
    ok = ~en.translation.values
    assert en.translation.values.sum() == 3
    ke = en.kinetic.values[ok] / (0.5 * KB_EV * T)
    assert abs(ke.mean() - 1) < 0.03                      # per-mode kinetic energy = k_B T / 2 on average
    # single modes scatter (12 ps, slow acoustic modes: few independent samples); branch means do not
    kb = (en.kinetic / (0.5 * KB_EV * T)).where(~en.translation).mean("q").values
    assert np.all(np.abs(kb - 1) < 0.25), kb
    r0 = en.potential.values[ok].mean() / en.kinetic.values[ok].mean()
    assert abs(r0 - 1) < 0.10                             # 0 K constants: anharmonic softening ~2%
    assert en.kinetic_t.shape == (30, 108, 6)
    assert abs(trajmodes.mode_energies(modes).attrs["temperature"] - T) < 0.5
    eff = trajmodes.EffectiveForceConstants(cutoff2=4.0, folds=1).fit(traj)
    with pytest.warns(UserWarning, match=nyquist):
        en2 = trajmodes.mode_energies(trajmodes.project(traj, trajmodes.Phonons(eff.force_constants_)), temperature=T)
    r = en2.potential.values[ok].mean() / en2.kinetic.values[ok].mean()
    assert abs(r - 1) < 0.05                              # effective constants: <PE> = <KE>
    assert abs(en2.equipartition.values[ok].mean() - 1) < 0.05


def test_a_projection_too_large_for_memory_is_refused_before_the_eigenvectors(monkeypatch, cu_eam_phonons):
    """The projector and a chunk's Q, Q' are estimated against the memory available before anything is built."""
    import trajmodes.resources as resources
    traj = trajmodes.read(str(EXAMPLES / "md" / "cu_300K.lammpstrj.gz"), reference=str(EXAMPLES / "md" / "cu_300K.data"))
    monkeypatch.setattr(resources, "available_memory", lambda: 2_000_000)         # 2 MB left
    with pytest.raises(MemoryError, match=r"projection of 256 atoms onto 256 q-points x 3 branches .* fewer q-points"):
        trajmodes.project(traj, cu_eam_phonons)
    monkeypatch.setattr(resources, "available_memory", lambda: 20_000_000_000)
    assert trajmodes.project(traj, cu_eam_phonons, qpoints=[[0.5, 0.5, 0.0]])["Q"].shape[1] == 1


def _same_q(a, b) -> np.ndarray:
    """Index in ``b`` of every q of ``a`` (equal up to a reciprocal lattice vector)."""
    d = a[:, None, :] - b[None, :, :]
    match = np.all(np.abs(d - np.rint(d)) < 1e-8, axis=2)
    assert match.any(axis=1).all()
    return np.argmax(match, axis=1)


def test_chosen_qpoints_project_as_the_full_projection(cu_eam_phonons):
    """A band path, a list, a |q| bound and a count choose commensurate q (whole |q| shells for a count) and give the
    numbers of the projection onto every q at those q."""
    from trajmodes.modes.projection import mode_qpoints
    from trajmodes.phonons.harmonic.degeneracy import degenerate_groups
    traj = trajmodes.read(str(EXAMPLES / "md" / "cu_300K.lammpstrj.gz"),
                          reference=str(EXAMPLES / "md" / "cu_300K.data"))[:24]
    ph = cu_eam_phonons
    full = trajmodes.project(traj, ph).compute()
    qall = full.qpoint.values
    choices = {"path": dict(path="GXKGL"), "qpoints": dict(qpoints=[[0.25, 0, 0.25], [0.5, 0.5, 0.5]]),
               "q_max": dict(q_max=0.7), "count": dict(count=10)}
    sizes = {}
    for name, kw in choices.items():
        q = mode_qpoints(traj, ph, **kw)
        sizes[name] = len(q)
        sub = trajmodes.project(traj, ph, qpoints=q).compute()
        i = _same_q(sub.qpoint.values, qall)
        H = full.frequency_harmonic.values[i]
        np.testing.assert_allclose(sub.frequency_harmonic.values, H, atol=1e-9)
        for v in ("Q", "Qdot"):                  # |Q|^2 summed over degenerate branches: free of the eigenvectors' gauge
            a, b = np.abs(sub[v].values) ** 2, np.abs(full[v].values[:, i]) ** 2
            for iq in range(len(i)):
                for g in degenerate_groups(H[iq], 1e-6):
                    np.testing.assert_allclose(a[:, iq, g].sum(-1), b[:, iq, g].sum(-1), rtol=1e-9, atol=1e-12)
    # 4 x 4 x 4 conventional fcc cells: |q| shells of 1 (Gamma), 6, 12, 8, ... q; 0.7 rad/A takes the first three
    assert sizes == {"path": 11, "qpoints": 2, "q_max": 19, "count": 19}
    assert len(mode_qpoints(traj, ph, count=7)) == 7
    assert len(mode_qpoints(traj, ph)) == 256


def test_chosen_qpoints_that_are_not_commensurate_are_refused(cu_eam_phonons):
    from trajmodes.modes.projection import mode_qpoints
    traj = trajmodes.read(str(EXAMPLES / "md" / "cu_300K.lammpstrj.gz"),
                          reference=str(EXAMPLES / "md" / "cu_300K.data"))[:10]
    with pytest.raises(ValueError, match=r"not commensurate .*q-point 1, \[0.3, 0.0, 0.0\].* nearest commensurate q "
                                         r"is \[0.25, 0.0, 0.0\]"):
        trajmodes.project(traj, cu_eam_phonons, qpoints=[[0, 0, 0], [0.3, 0, 0]])
    with pytest.raises(ValueError, match="one way: path and count"):
        mode_qpoints(traj, cu_eam_phonons, path="GX", count=3)
    assert mode_qpoints(traj, cu_eam_phonons, q_max=0.1).tolist() == [[0, 0, 0]]     # Gamma only
