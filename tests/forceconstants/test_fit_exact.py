"""Exact recovery of known force constants with the real symmetry basis (trajmodes.forceconstants.clusters.build_basis,
the default of EffectiveForceConstants).

Truth: the analytic second (``morse_fc``) and third (``pair_fc3``) derivatives of a Morse pair potential,
restricted to the cutoffs so that they lie in the span of the symmetry-reduced basis (checked first with
``basis.project`` / ``to_compact``). Forces f = -Phi u - 1/2 Psi u u on Gaussian displacements (sigma 0.05-0.1 A),
fitted with ``fit_arrays`` in float64 and, once, through a dump written with repr digits.

Sequential vs simultaneous: with harmonic + cubic forces the harmonic design A2 (linear in u) and the cubic
one A3 (quadratic in u) are not orthogonal on a finite random sample (A2'A3 is a sum of odd moments <u u u>,
zero only on average), so the sequential fit's fc2 = argmin |f - A2 p2|^2 absorbs the projection of the cubic
forces onto A2 and differs from the Taylor coefficient; only the simultaneous (joint) fit returns both
exactly. Sequential exactness is therefore tested on harmonic forces, and on antithetic frame pairs (u, -u),
for which A2'A3 = 0 exactly and the sequential fc2 is exact again.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import trajmodes
from trajmodes import Crystal, ForceConstants
from trajmodes.forceconstants.fit import EffectiveForceConstants

from tests.support.standin import model_forces, open_dump, synthetic_dump
from tests.support.crystals import CU, MORSE_SI
from tests.support.morse import pair_fc3
from tests.support.crystals import NONDIAG, supercell
from tests.support.crystals import diamond_si
from tests.support.morse import morse_fc

SKEW = np.array([[4, 1, 0], [0, 4, 1], [1, 0, 4]])                 # non-diagonal fcc supercell, 65 atoms


def _rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def _full(fc, c2, c3=None):
    """Full-layout Phi (N, N, 3, 3) and Psi (N, N, N, 3, 3, 3) from compact arrays by lattice translation."""
    idx = np.arange(fc.n_atoms)
    cols = fc.compact_columns(idx[:, None], idx[None, :])
    k = fc.smap.atom
    Phi = c2[k[:, None], cols]
    Psi = None if c3 is None else c3[k[:, None, None], cols[:, :, None], cols[:, None, :]]
    return Phi, Psi


CASES = {   # name: (primitive, supercell matrix, morse kwargs, cutoff2, fc2 morse cutoff, cutoff3, fc3 morse cutoff)
    "fcc_cu": (CU, np.diag([4, 4, 4]), {}, 4.8, 4.7, 3.0, 2.9),
    "diamond_si": (diamond_si(), NONDIAG, MORSE_SI, 5.0, 4.8, 4.0, 3.9),
    "fcc_skew": (CU, SKEW, {}, 4.3, 4.0, 3.0, 2.9),
}


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    """(name, supercell, ForceConstants skeleton, bases, compact truth fc2, fc3, full Phi, Psi, u, f, f_harm)."""
    name = request.param
    prim, S, pot, c2, m2, c3, m3 = CASES[name]
    sc = supercell(prim, S, shuffle_seed=3)
    skel = ForceConstants(np.zeros((prim.n_atoms, sc.n_atoms, 3, 3)), sc, prim)
    fc2 = ForceConstants(morse_fc(sc, **pot, cutoff=m2, nimg=1), sc, prim).compact()
    fc3 = pair_fc3(sc, prim, **pot, cutoff=m3, nimg=1)
    Phi, Psi = _full(skel, fc2, fc3)
    rng = np.random.default_rng(len(name))
    sigma = {"fcc_cu": 0.08, "diamond_si": 0.06, "fcc_skew": 0.1}[name]
    u = rng.normal(0.0, sigma, (16, sc.n_atoms, 3))
    u -= u.mean(axis=1, keepdims=True)
    return dict(name=name, sc=sc, prim=prim, c2=c2, c3=c3, fc2=fc2, fc3=fc3, Phi=Phi, Psi=Psi, u=u,
                f=model_forces(u, Phi, Psi), f_harm=model_forces(u, Phi))


def _est(case, **kw):
    kw = dict(cutoff2=case["c2"], cutoff3=case["c3"], folds=4) | kw
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                 # neither under-determined nor ill-conditioned
        return EffectiveForceConstants(**kw)


def test_truth_in_span(case):
    """The restricted Morse constants lie in the span of the basis the fit uses (and are not trivial)."""
    est = _est(case, mode="simultaneous").fit_arrays(case["sc"], case["u"][:2], case["f"][:2])
    b2, b3 = est.bases_[2], est.bases_[3]
    for b, t in ((b2, case["Phi"][est.p2s_]), (b3, case["Psi"][est.p2s_])):
        assert np.abs(t).max() > 0.5
        assert np.abs(b.to_compact(b.project(t)) - t).max() < 1e-10 * np.abs(t).max()
    if case["name"] == "fcc_cu":                                       # 10 raw, 9 after the sum rule
        assert (b2.n_raw, b2.n_params) == (10, 9)


def test_simultaneous_exact(case):
    est = _est(case, mode="simultaneous").fit_arrays(case["sc"], case["u"], case["f"])
    assert _rel(est.fc2_, case["Phi"][est.p2s_]) < 1e-8
    assert _rel(est.fc3_, case["Psi"][est.p2s_]) < 1e-8
    s = est.scores_
    assert abs(float(s.r2.sel(order=3)) - 1) < 1e-12
    assert float(s.r2.sel(order=2)) < 1 - 1e-4                          # the cubic forces are really there
    assert s.n_params.values.tolist() == [est.bases_[2].n_params, est.bases_[3].n_params]
    assert int(s.n_frames) == len(case["u"]) and int(s.n_rows) == case["u"].size
    assert float(s.rmse.sel(order=3)) < 1e-7 * np.sqrt((case["f"] ** 2).mean())
    assert est.force_constants_.asr_violation() < 1e-10
    assert np.abs(est.predict_forces(case["u"][:3]) - case["f"][:3]).max() < 1e-9 * np.abs(case["f"]).max()
    # phonon frequencies of the fit equal those of the truth
    q = [[0, 0, 0], [0.5, 0, 0.5], [0.5, 0.5, 0.5], [0.1, 0.2, 0.3]]
    truth = ForceConstants(case["Phi"][est.p2s_], est.supercell_, est.primitive_, smap=est.smap_, p2s=est.p2s_)
    d = trajmodes.Phonons(est.force_constants_).frequencies(q) - trajmodes.Phonons(truth).frequencies(q)
    assert np.abs(d[1:]).max() < 1e-7
    assert np.abs(d[0]).max() < 1e-5                                   # sqrt of a ~1e-15 acoustic eigenvalue


def test_sequential_exact_on_harmonic_forces(case):
    est = _est(case, cutoff3=None, mode="sequential").fit_arrays(case["sc"], case["u"], case["f_harm"])
    assert _rel(est.fc2_, case["Phi"][est.p2s_]) < 1e-8
    s = est.scores_
    assert abs(float(s.r2[0]) - 1) < 1e-12 and float(s.sigma_a) < 1e-6
    assert s.n_params.values.tolist() == [est.bases_[2].n_params]
    # with a cubic basis too: the cubic parameters fitted to a zero residual are zero
    est3 = _est(case, mode="sequential").fit_arrays(case["sc"], case["u"], case["f_harm"])
    assert _rel(est3.fc2_, case["Phi"][est3.p2s_]) < 1e-8
    assert np.abs(est3.fc3_).max() < 1e-8 * np.abs(case["fc3"]).max()
    assert abs(float(est3.scores_.r2.sel(order=3)) - 1) < 1e-12


def test_sequential_absorbs_cubic_projection(case):
    """Harmonic + cubic forces: sequential fc2 is off the Taylor coefficient by the cubic forces' projection onto
    the harmonic design, exactly the closed form G22^-1 G23 p3; antithetic pairs (u, -u) make G23 vanish."""
    est = _est(case, mode="sequential").fit_arrays(case["sc"], case["u"], case["f"])
    dev = _rel(est.fc2_, case["Phi"][est.p2s_])
    assert dev > 1e-5                                                  # finite sample: <u u u> != 0
    sim = _est(case, mode="simultaneous").fit_arrays(case["sc"], case["u"], case["f"])
    assert float(est.scores_.r2.sel(order=3)) < float(sim.scores_.r2.sel(order=3))
    # the closed form of the bias from the blocks: p2_seq = p2_true + G22^-1 G23 p3_true
    G = est.blocks_.total()[0]
    n2 = est.bases_[2].n_params
    p2, p3 = sim.params_[2], sim.params_[3]
    bias = np.linalg.solve(G[:n2, :n2], G[:n2, n2:] @ p3)
    assert np.abs(est.params_[2] - (p2 + bias)).max() < 1e-8 * np.abs(p2).max()
    # antithetic frames: the odd moments cancel, the sequential fit is exact for both orders
    u2 = np.concatenate([case["u"][:8], -case["u"][:8]])
    f2 = model_forces(u2, case["Phi"], case["Psi"])
    anti = _est(case, mode="sequential", folds=1).fit_arrays(case["sc"], u2, f2)
    assert np.abs(anti.blocks_.total()[0][:n2, n2:]).max() < 1e-10 * np.abs(G).max()
    assert _rel(anti.fc2_, case["Phi"][anti.p2s_]) < 1e-8 and _rel(anti.fc3_, case["Psi"][anti.p2s_]) < 1e-8


def test_refit_from_blocks_is_the_direct_fit(case):
    est = _est(case, mode="sequential").fit_arrays(case["sc"], case["u"], case["f"])
    direct = _est(case, mode="simultaneous").fit_arrays(case["sc"], case["u"], case["f"])
    est.refit("simultaneous")
    assert _rel(est.fc2_, direct.fc2_) < 1e-12 and _rel(est.fc3_, direct.fc3_) < 1e-12
    assert _rel(est.fc3_, case["Psi"][est.p2s_]) < 1e-8
    assert est.scores_.attrs["mode"] == "simultaneous"


def test_exact_through_a_dump_streamed(tmp_path):
    """The streamed path (a dump with repr digits, several Dask chunks) with the real basis, non-diagonal cell."""
    prim, S, pot, c2, m2, c3, m3 = CASES["fcc_skew"]
    sc = supercell(prim, S)
    # rotate into LAMMPS' restricted (lower-triangular) cell, as a dump holds it
    Q, R = np.linalg.qr(sc.cell.T)
    Q = Q * np.sign(np.diag(R))[None, :]
    sc = Crystal(sc.cell @ Q, sc.positions @ Q, sc.species, sc.masses)
    prim = Crystal(prim.cell @ Q, prim.positions @ Q, prim.species, prim.masses)
    assert np.abs(np.triu(sc.cell, 1)).max() < 1e-12
    skel = ForceConstants(np.zeros((1, sc.n_atoms, 3, 3)), sc, prim)
    fc2 = ForceConstants(morse_fc(sc, cutoff=m2, nimg=1), sc, prim).compact()
    fc3 = pair_fc3(sc, prim, cutoff=m3, nimg=1)
    Phi, Psi = _full(skel, fc2, fc3)
    path, u, f = synthetic_dump(tmp_path / "skew.dump", sc, 12, Phi, Psi, sigma=0.08, seed=11)
    est = EffectiveForceConstants(cutoff2=c2, cutoff3=c3, mode="simultaneous", folds=3).fit(open_dump(path, sc, 5))
    assert _rel(est.fc2_, Phi[est.p2s_]) < 1e-8
    assert _rel(est.fc3_, Psi[est.p2s_]) < 1e-8
    assert abs(float(est.scores_.r2.sel(order=3)) - 1) < 1e-12
    assert int(est.scores_.n_frames) == 12
