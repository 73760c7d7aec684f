"""Effective force constants (TDEP fit): exact recovery from synthetic forces, the streamed normal equations
against explicit design matrices, chunk-size independence, folds and cross-validation, modes, warnings,
pooling, temperature series and the ``fit`` command.

The symmetry basis is the "no symmetry" stand-in of ``ifc_standin.py`` (same interface as
``trajmodes.forceconstants.clusters.IFCBasis``); forces come from the exact second and third derivatives of a Morse pair
potential (so they satisfy every symmetry and sum rule) on Gaussian displacements, written with repr digits.
"""
from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

from tests.support.paths import EXAMPLES
import trajmodes
from trajmodes.forceconstants.design import NormalBlocks
from trajmodes.forceconstants.fit import EffectiveForceConstants
from trajmodes.forceconstants.normal import fold_ids, normal_equations
from trajmodes.series import fit_series

from tests.support.standin import (build_standin, diamond, fcc, model_forces, open_dump, pair_constants,
                         synthetic_dump)


def _rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def _full3(fc, c3):
    """Full (N, N, N, 3, 3, 3) third order from the compact layout by lattice translation."""
    idx = np.arange(fc.n_atoms)
    cols = fc.compact_columns(idx[:, None], idx[None, :])             # (N, N)
    k = fc.smap.atom
    return c3[k[:, None, None], cols[:, :, None], cols[:, None, :]]


@pytest.fixture(scope="module")
def cu(tmp_path_factory):
    sc = fcc()
    Phi, Psi = pair_constants(sc, 3.0, 3.0)
    path, u, f = synthetic_dump(tmp_path_factory.mktemp("cu") / "cu.dump", sc, 40, Phi, Psi, seed=1)
    return sc, Phi, Psi, path, u, f


@pytest.fixture(scope="module")
def si(tmp_path_factory):
    sc = diamond()
    Phi, Psi = pair_constants(sc, 4.0, 2.5, r0=2.35)
    path, u, f = synthetic_dump(tmp_path_factory.mktemp("si") / "si.dump", sc, 30, Phi, Psi, sigma=0.06, seed=2)
    return sc, Phi, Psi, path, u, f


@pytest.fixture(scope="module")
def si_harmonic(tmp_path_factory):
    sc = diamond()
    Phi, _ = pair_constants(sc, 4.0, None, r0=2.35)
    path, u, f = synthetic_dump(tmp_path_factory.mktemp("sih") / "sih.dump", sc, 12, Phi, None, sigma=0.1, seed=3)
    return sc, Phi, path, u, f


def _fit(path, sc, chunk_frames=None, **kw):
    kw.setdefault("build_basis", build_standin)
    return EffectiveForceConstants(**kw).fit(open_dump(path, sc, chunk_frames))


# --- exact recovery ----------------------------------------------------------------------------------
def test_exact_fcc_cubic_simultaneous(cu):
    sc, Phi, Psi, path, u, f = cu
    est = _fit(path, sc, chunk_frames=7, cutoff2=3.0, cutoff3=3.0, mode="simultaneous")
    p2s = est.force_constants_.p2s
    assert est.primitive_.n_atoms == 1 and not np.array_equal(est.smap_.matrix, np.diag(np.diag(est.smap_.matrix)))
    assert _rel(est.fc2_, Phi[p2s]) < 1e-8
    assert _rel(est.fc3_, Psi[p2s]) < 1e-8
    s = est.scores_
    assert list(s.order.values) == [2, 3]
    assert abs(float(s.r2.sel(order=3)) - 1) < 1e-12
    # r'r = f'f - 2 p'A'f + p'A'A p resolves residuals down to ~sqrt(eps) of the force scale
    assert float(s.cv_rmse.sel(order=3)) < 1e-7 * np.sqrt((f ** 2).mean())
    assert float(s.r2.sel(order=2)) < 0.999                    # the cubic forces are there
    assert int(s.n_frames) == 40 and int(s.n_rows) == 40 * 32 * 3
    assert s.n_params.values.tolist() == [est.bases_[2].n_params, est.bases_[3].n_params]
    fc = est.force_constants_
    assert np.array_equal(fc.fc3, est.fc3_) and fc.compact().shape == (1, 32, 3, 3)
    assert fc.asr_violation() < 1e-10


def test_exact_diamond_cubic_simultaneous(si):
    sc, Phi, Psi, path, u, f = si
    est = _fit(path, sc, cutoff2=4.0, cutoff3=2.5, mode="simultaneous", folds=3)
    p2s = est.force_constants_.p2s
    assert est.primitive_.n_atoms == 2
    assert _rel(est.fc2_, Phi[p2s]) < 1e-8 and _rel(est.fc3_, Psi[p2s]) < 1e-8
    assert abs(float(est.scores_.r2.sel(order=3)) - 1) < 1e-12
    # the model forces reproduce the data
    assert _rel(est.predict_forces(u), f) < 1e-9


def test_exact_diamond_harmonic_sequential(si_harmonic):
    sc, Phi, path, u, f = si_harmonic
    est = _fit(path, sc, cutoff2=4.0, folds=4)
    assert _rel(est.fc2_, Phi[est.force_constants_.p2s]) < 1e-8
    s = est.scores_
    assert list(s.order.values) == [2] and est.fc3_ is None
    assert abs(float(s.r2[0]) - 1) < 1e-12 and float(s.sigma_a) < 1e-6
    assert float(s.cv_rmse[0]) < 1e-7 * np.sqrt((f ** 2).mean())
    # effective frequencies of the fit equal those of the truth
    ph = trajmodes.Phonons(est.force_constants_)
    truth = trajmodes.Phonons(trajmodes.ForceConstants(Phi, est.supercell_, est.primitive_, smap=est.smap_))
    q = [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0, 0.5]]
    # compared as signed squares (the eigenvalues): the zero modes at Gamma are the square roots of round-off, 1e-7 THz
    # one way or the other depending on the order of the sums
    a, b = ph.frequencies(q), truth.frequencies(q)
    assert np.abs(np.sign(a) * a ** 2 - np.sign(b) * b ** 2).max() < 1e-6        # THz^2: 1e-7 THz at 5 THz


# --- the kernel against explicit design matrices --------------------------------------------------------
def test_design_rows_match_full_layout(cu):
    sc, Phi, Psi, path, u, f = cu
    est = _fit(path, sc, cutoff2=3.0, cutoff3=3.0, mode="simultaneous", folds=2)
    kern, fc = est.kernel_, est.force_constants_
    A = kern.design(u[:5])
    rng = np.random.default_rng(0)
    for _ in range(2):
        p2, p3 = rng.normal(size=kern.sizes[0]), rng.normal(size=kern.sizes[1])
        c2, c3 = est.bases_[2].to_compact(p2), est.bases_[3].to_compact(p3)
        want = model_forces(u[:5], fc.full_from_compact(c2), _full3(fc, c3))
        assert _rel(A @ np.concatenate([p2, p3]), want.reshape(-1)) < 1e-12
    # streamed blocks equal A'A, A'f, f'f of the explicit design (mean force per frame removed)
    fm = f - f.mean(axis=1, keepdims=True)
    Aall = kern.design(u)
    G, b, ff, n = est.blocks_.total()
    assert _rel(G, Aall.T @ Aall) < 1e-12
    assert _rel(b, Aall.T @ fm.reshape(-1)) < 1e-12
    assert abs(ff - (fm ** 2).sum()) < 1e-12 * ff and n == Aall.shape[0]


def _assert_compiled_equals_numpy(kern, u, fm, monkeypatch):
    """The compiled kernel's design rows and normal equations equal the numpy path's (``_design`` unset)."""
    from trajmodes.forceconstants import design
    compiled = kern.design(u[:4])
    blk_c = NormalBlocks.zeros(1, kern.n_params)
    kern.accumulate(u, fm, blk_c, 0)
    monkeypatch.setattr(design, "_design", None)
    assert np.abs(kern.design(u[:4]) - compiled).max() < 1e-14 * np.abs(compiled).max()
    blk_n = NormalBlocks.zeros(1, kern.n_params)
    kern.accumulate(u, fm, blk_n, 0)
    assert _rel(blk_c.G, blk_n.G) < 1e-13 and _rel(blk_c.b, blk_n.b) < 1e-13
    monkeypatch.undo()


def test_compiled_rows_equal_the_numpy_products(cu, monkeypatch):
    """The compiled kernel (gather fused into the sparse product) builds the same rows and normal equations as the
    numpy gather and sparse product, in the factored basis (symmetry basis times the sum rule's map) that both use;
    bad tables are refused, not read out of bounds."""
    from trajmodes.forceconstants import design
    if design._design is None:
        pytest.skip("the compiled kernel is not built")
    sc, Phi, Psi, path, u, f = cu
    est = EffectiveForceConstants(cutoff2=3.0, cutoff3=3.0, mode="simultaneous", folds=2).fit_arrays(sc, u, f)
    kern, fc = est.kernel_, est.force_constants_
    assert kern.n_cols > kern.n_params                  # rows built before the sum rule, then mapped
    p2, p3 = (np.random.default_rng(1).normal(size=n) for n in kern.sizes)
    want = model_forces(u[:4], fc.full_from_compact(est.bases_[2].to_compact(p2)),
                        _full3(fc, est.bases_[3].to_compact(p3)))
    assert _rel(kern.design(u[:4]) @ np.concatenate([p2, p3]), want.reshape(-1)) < 1e-12
    fm = f - f.mean(axis=1, keepdims=True)
    _assert_compiled_equals_numpy(kern, u, fm, monkeypatch)
    # partner tables of 4 bytes a partner (the pair tables of a 300-partner cutoff at 10^6 atoms: 1.2 GB, not 2.4)
    assert all(t[0].dtype == np.int32 for t in kern.tables) and kern.orders[0].kernels[0]["table"].dtype == np.int32
    assert np.shares_memory(kern.orders[0].kernels[0]["table"], kern.orders[0].classes[0][1][0])     # not a copy
    o = kern.orders[1]
    k = dict(o.kernels[0], table=o.kernels[0]["table"].copy())
    k["table"][0, 0] = sc.n_atoms                        # an atom that does not exist
    n_c = len(o.classes[0][0])
    u3 = np.ascontiguousarray(u[:2].transpose(2, 1, 0))
    out = np.zeros((kern.n_out, 3, n_c * 2))

    def rows(table, spread, i0=0, n_i=n_c):
        design._design.rows_into(u3, sc.n_atoms, 2, table, n_c, i0, n_i, k["col_j"], k["col_b"], k["col_l"],
                                 k["col_c"], k["col_m"], k["col_d"], k["colptr"], k["rowidx"], k["vals"], k["outrow"],
                                 *spread, out)

    with pytest.raises(ValueError, match="out of range"):
        rows(k["table"], o.spread)
    dst, ptr, src, w = o.spread                          # target by target
    assert len(src) > 0                                  # Cu's third order has columns spread onto the parameters
    bad = dst.copy()
    bad[0] = 3 * kern.n_out                              # a spread onto a row past the block
    with pytest.raises(ValueError, match="out of range"):
        rows(o.kernels[0]["table"], (bad, ptr, src, w))
    bad = src.copy()
    bad[0] = dst[0]                                      # a source that is a target: read while it is written
    with pytest.raises(ValueError, match="scratch rows past every parameter"):
        rows(o.kernels[0]["table"], (dst, ptr, bad, w))
    with pytest.raises(ValueError, match="not all in the class"):
        rows(o.kernels[0]["table"], o.spread, i0=1)
    # the tiled normal equations refuse the same bad tables, and atoms that do not exist
    tables = list(kern.tables[0])
    tables[0] = k["table"]
    f3 = np.ascontiguousarray(fm[:2].transpose(2, 1, 0))
    S = np.zeros((kern.n_params + 2,) * 2)
    atoms = np.ascontiguousarray(o.classes[0][0], dtype=np.int64)
    with pytest.raises(ValueError, match="out of range"):
        design._design.normal_into(u3, sc.n_atoms, 2, *tables, f3, atoms, kern.n_params + 2, 4, S, design._DSYRK)
    with pytest.raises(ValueError, match="atom of the class"):
        design._design.normal_into(u3, sc.n_atoms, 2, *kern.tables[0], f3, atoms + sc.n_atoms, kern.n_params + 2,
                                   4, S, design._DSYRK)
    assert not S.any()


def test_compiled_fourth_order_rows_equal_the_numpy_products(cu, monkeypatch):
    """With a fourth order the compiled kernel builds every order's rows (the triple products u_jb u_lc u_md fused
    into the sparse product): rows and normal equations equal the numpy path's; a fourth-order partner table index
    out of range is refused."""
    from trajmodes.forceconstants import design
    if design._design is None:
        pytest.skip("the compiled kernel is not built")
    sc, Phi, Psi, path, u, f = cu
    est = EffectiveForceConstants(cutoff2=3.0, cutoff3=3.0, cutoff4=3.0, mode="simultaneous", folds=2)
    kern = est.fit_arrays(sc, u, f).kernel_
    assert kern.orders[2].order == 4 and all(t is not None for t in kern.tables)
    fm = f - f.mean(axis=1, keepdims=True)
    _assert_compiled_equals_numpy(kern, u, fm, monkeypatch)
    tables = list(kern.tables[0])
    col_m = tables[6].copy()
    col_m[col_m >= 0] = len(tables[0])                  # a partner-table row past the table
    tables[6] = col_m
    u3 = np.ascontiguousarray(u[:2].transpose(2, 1, 0))
    f3 = np.ascontiguousarray(fm[:2].transpose(2, 1, 0))
    S = np.zeros((kern.n_params + 2,) * 2)
    atoms = np.ascontiguousarray(kern.orders[0].classes[0][0], dtype=np.int64)
    with pytest.raises(ValueError, match="out of range"):
        design._design.normal_into(u3, sc.n_atoms, 2, *tables, f3, atoms, kern.n_params + 2, 4, S, design._DSYRK)
    assert not S.any()


def test_modes_against_lstsq(si):
    """Sequential = lstsq on A2, then on the residual with A3; simultaneous = lstsq on [A2 A3]."""
    sc, Phi, Psi, path, u, f = si
    noisy = f + np.random.default_rng(5).normal(0, 0.01, f.shape)
    est = EffectiveForceConstants(cutoff2=4.0, cutoff3=2.5, build_basis=build_standin, folds=3)
    traj = open_dump(path, sc)
    est.fit(traj)
    kern = est.kernel_
    A = kern.design(u)
    y = (noisy - noisy.mean(axis=1, keepdims=True)).reshape(-1)
    P2 = kern.sizes[0]
    # refit from blocks of the noisy forces (same design): swap the force blocks only
    blk = NormalBlocks.zeros(1, kern.n_params)
    kern.accumulate(u, noisy - noisy.mean(axis=1, keepdims=True), blk, 0)
    est.blocks_ = blk
    est.refit("sequential")
    p2 = np.linalg.lstsq(A[:, :P2], y, rcond=None)[0]
    p3 = np.linalg.lstsq(A[:, P2:], y - A[:, :P2] @ p2, rcond=None)[0]
    assert _rel(est.params_[2], p2) < 1e-9 and _rel(est.params_[3], p3) < 1e-9
    r = y - A[:, :P2] @ p2 - A[:, P2:] @ p3
    assert abs(float(est.scores_.rmse.sel(order=3)) - np.sqrt((r ** 2).mean())) < 1e-10
    assert abs(float(est.scores_.r2.sel(order=3)) - (1 - (r ** 2).sum() / (y ** 2).sum())) < 1e-10
    r2 = y - A[:, :P2] @ p2
    assert abs(float(est.scores_.sigma_a) - np.sqrt((r2 ** 2).sum() / (y ** 2).sum())) < 1e-10
    est.refit("simultaneous")
    p = np.linalg.lstsq(A, y, rcond=None)[0]
    assert _rel(np.concatenate([est.params_[2], est.params_[3]]), p) < 1e-9
    assert not np.allclose(est.params_[2], p2, rtol=1e-6)      # the two definitions differ on noisy data


# --- streaming: chunks, folds, pooling, selection ---------------------------------------------------
def test_chunk_size_independence(si_harmonic):
    sc, Phi, path, u, f = si_harmonic
    est = _fit(path, sc, chunk_frames=50, cutoff2=4.0, folds=3)
    kern = est.kernel_
    a = normal_equations(open_dump(path, sc, 3), kern, folds=3)
    b = est.blocks_
    for x, y in ((a.G, b.G), (a.b, b.b), (a.ff, b.ff)):
        assert _rel(x, y) < 1e-12
    assert np.array_equal(a.n_rows, b.n_rows) and np.array_equal(a.n_frames, b.n_frames)
    # the kernel travels to distributed workers by pickle
    k2 = pickle.loads(pickle.dumps(kern))
    c = normal_equations(open_dump(path, sc, 5), k2, folds=3)
    assert _rel(c.G, b.G) < 1e-12


def test_fold_assignment():
    assert fold_ids(10, 3).tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert fold_ids(7, 3, "interleaved").tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert fold_ids(4, 1).tolist() == [0, 0, 0, 0]
    with pytest.raises(ValueError):
        fold_ids(4, 2, "random")


def test_cross_validation_brute_force(si_harmonic, tmp_path):
    """Fold blocks hold their own frames; the CV RMSE equals refitting without each fold explicitly."""
    sc, Phi, _, u, f = si_harmonic
    noisy = f + np.random.default_rng(7).normal(0, 0.02, f.shape)
    path = tmp_path / "noisy.dump"
    _write_forces(path, sc, u, noisy)
    for cv in ("blocks", "interleaved"):
        est = _fit(path, sc, chunk_frames=5, cutoff2=4.0, folds=4, cv=cv)
        blk = est.blocks_
        fid = fold_ids(len(u), 4, cv)
        assert blk.n_frames.tolist() == np.bincount(fid).tolist()
        A = est.kernel_.design(u).reshape(len(u), -1, est.kernel_.n_params)
        y = (noisy - noisy.mean(axis=1, keepdims=True)).reshape(len(u), -1)
        rss = 0.0
        for h in range(4):
            tr = fid != h
            p = np.linalg.lstsq(A[tr].reshape(-1, A.shape[-1]), y[tr].reshape(-1), rcond=None)[0]
            rss += ((y[~tr].reshape(-1) - A[~tr].reshape(-1, A.shape[-1]) @ p) ** 2).sum()
        want = np.sqrt(rss / y.size)
        assert abs(float(est.scores_.cv_rmse[0]) - want) < 1e-9 * want
        assert float(est.scores_.cv_rmse[0]) > float(est.scores_.rmse[0])


def _write_forces(path, sc, u, forces):
    from tests.support.dumps import Truth, write_dump
    n, N = u.shape[:2]
    pos = sc.positions[None] + u
    frac = pos @ np.linalg.inv(sc.cell)
    images = np.floor(frac).astype(int)
    t = Truth(ids=np.arange(1, N + 1), types=np.ones(N, dtype=int), frac=frac - images, images=images,
              cells=np.repeat(sc.cell[None], n, axis=0), origins=np.zeros((n, 3)), velocities=np.zeros_like(u),
              forces=forces, steps=np.arange(n))
    write_dump(path, t, ["id", "type", "xu", "yu", "zu", "fx", "fy", "fz"])


def test_pooling_and_selection(si_harmonic):
    sc, Phi, path, u, f = si_harmonic
    traj = open_dump(path, sc, 4)
    a = EffectiveForceConstants(cutoff2=4.0, folds=2, build_basis=build_standin).fit([traj[:5], traj[5:]])
    b = EffectiveForceConstants(cutoff2=4.0, folds=2, build_basis=build_standin).fit(traj)
    assert _rel(a.blocks_.G.sum(0), b.blocks_.G.sum(0)) < 1e-12          # pooled = one run, other folds
    assert a.blocks_.n_frames.tolist() == [7, 5]                          # each run split on its own: 3+2, 4+3
    s = EffectiveForceConstants(cutoff2=4.0, folds=2, stride=3, build_basis=build_standin).fit(traj)
    assert int(s.scores_.n_frames) == 4
    m = EffectiveForceConstants(cutoff2=4.0, folds=2, n_frames=5, stride=2, build_basis=build_standin).fit(traj)
    assert int(m.scores_.n_frames) == 5
    assert _rel(m.fc2_, Phi[m.force_constants_.p2s]) < 1e-8
    with pytest.raises(ValueError, match="mode"):
        EffectiveForceConstants(mode="both", build_basis=build_standin).fit(traj)
    # in-memory arrays: the same blocks as the streamed trajectory
    arr = EffectiveForceConstants(cutoff2=4.0, folds=2, build_basis=build_standin).fit_arrays(sc, u, f)
    assert _rel(arr.blocks_.G, b.blocks_.G) < 1e-12 and _rel(arr.blocks_.b, b.blocks_.b) < 1e-12
    assert _rel(arr.fc2_, b.fc2_) < 1e-12


def test_underdetermined_warns(si):
    sc, Phi, Psi, path, u, f = si
    traj = open_dump(path, sc)[:2]
    kw = dict(cutoff2=4.0, cutoff3=2.5, folds=1, build_basis=build_standin)
    with pytest.warns(UserWarning) as rec:
        est = EffectiveForceConstants(mode="simultaneous", **kw).fit(traj)
    msgs = [str(w.message) for w in rec]
    assert any("under-determined fit: 384 force components (2 frames) for 432 parameters" in m for m in msgs)
    assert any("ill-conditioned fit: the simultaneous system" in m and "rank 384 of 432" in m for m in msgs)
    assert np.isnan(float(est.scores_.cv_rmse[0]))
    assert not float(est.scores_.condition_number.sel(order=3)) < 1e12
    with warnings.catch_warnings():          # sequential: each order's system is determined by 384 rows
        warnings.simplefilter("error")
        EffectiveForceConstants(mode="sequential", **kw).fit(traj)
    with pytest.warns(UserWarning) as rec:
        EffectiveForceConstants(mode="sequential", **kw).fit(traj[:1])
    assert any("192 force components (1 frames) for 288 parameters (order-2" in str(w.message) for w in rec)


def test_temperature_series(si_harmonic, tmp_path):
    sc, Phi, path, u, f = si_harmonic
    hot = tmp_path / "hot.dump"
    _write_forces(hot, sc, u, model_forces(u, 1.2 * Phi))
    series = fit_series({900: open_dump(hot, sc), 300: open_dump(path, sc)}, n_resamples=0, cutoff2=4.0, folds=2,
                        build_basis=build_standin)
    assert series.temperatures.tolist() == [300.0, 900.0]
    fr = series.frequencies
    assert fr.frequency.dims == ("temperature", "q", "branch") and fr.frequency.shape[0] == 2
    assert "G" in fr.qlabel.values.tolist()
    hi = fr.frequency.sel(temperature=900).values
    lo = fr.frequency.sel(temperature=300).values
    assert np.allclose(hi, np.sqrt(1.2) * lo, atol=1e-6)
    mid = series.force_constants(600.0)
    assert _rel(mid.compact(), 1.1 * Phi[mid.p2s]) < 1e-8
    assert np.array_equal(series.force_constants(50.0, clamp=True).compact(), series.fit_at(300.0).force_constants_.compact())


def test_cli_fit(si_harmonic, tmp_path, monkeypatch, capsys):
    from trajmodes import cli
    from trajmodes.forceconstants import fit as fitting
    monkeypatch.setattr(fitting, "default_build_basis", build_standin)
    sc, Phi, path, u, f = si_harmonic
    ref = tmp_path / "ref.xyz"
    ref.write_text(f"{sc.n_atoms}\nLattice=\"{' '.join(map(repr, sc.cell.reshape(-1).tolist()))}\" "
                   "Properties=species:S:1:pos:R:3 pbc=\"T T T\"\n"
                   + "".join(f"Si {x!r} {y!r} {z!r}\n" for x, y, z in sc.positions.tolist()))
    truth = tmp_path / "truth.nc"
    est = _fit(path, sc, cutoff2=4.0)
    est.force_constants_.write(truth, "netcdf")
    out = tmp_path / "fit"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = cli.main(["fit", str(path), "--reference", str(ref), "--species", "Si", "--cutoff2", "4",
                       "--folds", "3", "-o", str(out), "--compare", str(truth), "--npoints", "5"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "R^2" in text and "sigma_A" in text and "largest difference" in text
    fc = trajmodes.ForceConstants.read(out / "fc.nc")
    assert _rel(fc.compact(), Phi[fc.p2s]) < 1e-8
    assert (out / "fc.png").exists() and (out / "fc.scores.nc").exists()


def test_distributed_client_identical(si_harmonic, tmp_path):
    """The same graph on a dask.distributed cluster (worker processes: everything pickles) gives the same blocks."""
    distributed = pytest.importorskip("distributed")
    sc, Phi, path, u, f = si_harmonic
    est = _fit(path, sc, chunk_frames=4, cutoff2=4.0, folds=3)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=":0",
                                  local_directory=str(tmp_path)) as cluster, distributed.Client(cluster):
        blk = normal_equations(open_dump(path, sc, 4), est.kernel_, folds=3, segments=6)
    local = normal_equations(open_dump(path, sc, 4), est.kernel_, folds=3, segments=6)
    assert np.array_equal(blk.ids, local.ids) and len(blk.ids) == 6
    for name in ("G", "b", "ff", "bu", "n_rows", "n_frames"):
        assert np.array_equal(getattr(blk, name), getattr(local, name)), name


def test_noisy_reference_is_replaced_by_the_ideal_lattice():
    """A snapshot reference (thermal noise) gives the same symmetry and nearly the same fit as the data file."""
    import trajmodes
    md = EXAMPLES / "md"
    ideal = trajmodes.read(md / "si_300K.lammpstrj.gz", reference=md / "si_300K.data")[::6]
    snap = trajmodes.read(md / "si_300K.lammpstrj.gz", species=["Si"], reference="first")[::6]   # asked for
    a = trajmodes.EffectiveForceConstants(cutoff2=5.0).fit(ideal)
    with pytest.warns(UserWarning, match="not an ideal crystal"):
        b = trajmodes.EffectiveForceConstants(cutoff2=5.0).fit(snap)
    assert b.force_constants_.primitive.n_atoms == 2
    assert int(a.scores_.n_params.sel(order=2)) == int(b.scores_.n_params.sel(order=2))
    q = [[0, 0, 0], [0.5, 0, 0.5], [0.5, 0.5, 0.5]]
    fa = trajmodes.Phonons(a.force_constants_).frequencies(q)
    fb = trajmodes.Phonons(b.force_constants_).frequencies(q)
    assert np.abs(fa - fb).max() < 0.01


def test_the_default_reference_is_the_time_average_and_an_asked_for_first_frame_is_kept():
    """No reference given: the fit measures from the run's time average and says so once (the average's own noise is
    no reason for a second warning). reference="first" asked for: the first frame, rebuilt on its ideal sites with
    a warning that names the snapshot's distance from them (it was replaced by the average, the warning saying that
    no reference had been given)."""
    import warnings
    import trajmodes
    path = EXAMPLES / "md" / "si_300K.lammpstrj.gz"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trajmodes.EffectiveForceConstants(cutoff2=5.0).fit(trajmodes.read(path, species=["Si"])[::6])
    text = [str(w.message) for w in caught]
    assert any("no reference crystal was given" in t for t in text)
    assert not any("not an ideal crystal" in t for t in text)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trajmodes.EffectiveForceConstants(cutoff2=5.0).fit(trajmodes.read(path, species=["Si"], reference="first")[::6])
    text = [str(w.message) for w in caught]
    assert not any("no reference crystal was given" in t for t in text)
    assert any("not an ideal crystal" in t for t in text)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trajmodes.EffectiveForceConstants(cutoff2=5.0).fit(trajmodes.read(path, species=["Si"],
                                                                          reference="average")[::6])
    assert not any("ideal crystal" in str(w.message) or "no reference" in str(w.message) for w in caught)
