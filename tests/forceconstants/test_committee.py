"""A committee of learned potentials through the fit, and the weighted (generalised least squares) fit.

Crystal: tetragonal CsCl-type NaCl-like (two species, c/a = 1.13, not cubic), 3 x 3 x 3 supercell of 54 atoms.
Committee: member m's forces are exactly -(Phi + dPhi_m) u with Phi and Phi + dPhi_m the force constants of Morse pair
potentials of different depths and stiffnesses (symmetric, sum-rule obeying, in the span of the basis): each member's
fit must return its own constants, and the spread of the members' frequencies, taken by the route of the bootstrap's
resamples (``frequency_samples`` of :func:`committee_view`), that of the exact frequencies. GLS: one species' forces
10x noisier; the weighted fit must be closer to the truth than the unweighted one over seeds, with error bars that
cover it. One pass: every frame of an extended XYZ file with a 3-member committee is parsed once.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import trajmodes
from trajmodes import Crystal, ForceConstants
from trajmodes.forceconstants.committee import committee_view
from trajmodes.forceconstants.fit import EffectiveForceConstants
from trajmodes.phonons.harmonic.phonons import Phonons
from trajmodes.phonons.thermodynamics.uncertainty import frequency_samples

from tests.support.crystals import supercell
from tests.support.dumps import count_parsed_frames
from tests.support.morse import morse_fc

PRIM = Crystal(np.diag([3.0, 3.0, 3.4]), [[0, 0, 0], [1.5, 1.5, 1.7]], ["Na", "Cl"])
SC = supercell(PRIM, np.diag([3, 3, 3]))
CUTOFF = 3.6                                     # shells at 2.73 (Na-Cl), 3.0 (a) and 3.4 (c) A
#: (D0 eV, alpha 1/A) of the truth and of each member; r0 2.9 A
TRUTH = (0.6, 1.4)
MEMBERS = [(0.6, 1.4), (0.66, 1.35), (0.55, 1.5), (0.63, 1.45)]
K_CART = np.array([[0, 0, 0], [0, 0, 0.5 / 3.4], [0.5 / 3.0, 0.5 / 3.0, 0], [0.5 / 3.0, 0, 0.5 / 3.4]])


def _fc(D0, alpha):
    return morse_fc(SC, D0=D0, alpha=alpha, r0=2.9, cutoff=3.5, nimg=1)


def _forces(Phi, u):
    return -np.einsum("ijab,tjb->tia", Phi, u, optimize=True)


def _est(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return EffectiveForceConstants(**(dict(cutoff2=CUTOFF, folds=2, segments=8) | kw))


def _freqs(Phi, q_red):
    return Phonons(ForceConstants(Phi, SC, PRIM)).frequencies(q_red)


@pytest.fixture(scope="module")
def committee():
    rng = np.random.default_rng(5)
    u = rng.normal(0.0, 0.04, (40, SC.n_atoms, 3))
    phis = [_fc(*m) for m in MEMBERS]
    members = np.stack([_forces(P, u) for P in phis], axis=1)             # (frames, M, atoms, 3)
    est = _est().fit_arrays(SC, u, members.mean(axis=1), committee_forces=members)
    return est, phis, members, u


def test_members_fitted_exactly(committee):
    est, phis, members, _ = committee
    fcs = est.committee_force_constants_
    assert len(fcs) == len(MEMBERS) and est.committee_params_[2].shape[0] == len(MEMBERS)
    for fc, Phi in zip(fcs, phis):
        err = np.abs(fc.full() - Phi).max() / np.abs(Phi).max()
        assert err < 1e-9, err
    spread = max(np.abs(a.full() - b.full()).max() for a, b in zip(fcs, fcs[1:]))
    assert spread > 0.01                                                  # the members really differ
    # the fit itself is the fit to the mean force: the mean of the members' constants (the same A'A)
    mean = np.mean([fc.full() for fc in fcs], axis=0)
    assert np.abs(est.force_constants_.full() - mean).max() < 1e-10 * np.abs(mean).max()


def test_committee_spread_of_frequencies_is_exact(committee):
    est, phis, _, _ = committee
    q_est, q_truth = K_CART @ est.primitive_.cell.T, K_CART @ PRIM.cell.T
    exact = np.array([_freqs(P, q_truth) for P in phis])                  # (M, nq, 6) THz
    got = frequency_samples(committee_view(est), q_est)                    # the bootstrap's route, members as samples
    assert got.shape == exact.shape
    # to round-off: 1e-6 THz is the square root of round-off in the acoustic eigenvalues at Gamma
    np.testing.assert_allclose(got, exact, atol=1e-6, rtol=1e-9)
    spread = got.std(axis=0, ddof=1)
    print(f"committee spread of the frequencies: up to {spread.max():.4f} THz; "
          f"off the exact spread by {np.abs(spread - exact.std(axis=0, ddof=1)).max():.1e} THz")
    np.testing.assert_allclose(spread, exact.std(axis=0, ddof=1), atol=1e-6)
    assert spread[1:].max() > 0.05                                        # THz: a committee error bar worth the name
    # the sampling error bar is reported apart: the bootstrap of exact forces scatters by round-off only
    est.bootstrap(40, seed=1)
    sampling = frequency_samples(est, q_est).std(axis=0, ddof=1)
    print(f"sampling (bootstrap) error bar: up to {sampling.max():.1e} THz")
    assert sampling.max() < 1e-5 < spread[1:].max()
    assert list(committee_view(est).resampled_force_constants())[2].full() is not None
    assert not hasattr(est, "committee_params_") or est.params_samples_[2].shape[0] == 40      # est untouched


def test_refusals():
    with pytest.raises(ValueError, match="weights must be None"):
        _est(weights="inverse").fit_arrays(SC, np.zeros((2, SC.n_atoms, 3)), np.zeros((2, SC.n_atoms, 3)))
    with pytest.raises(ValueError, match="committee must be"):
        _est(committee="yes").fit_arrays(SC, np.zeros((2, SC.n_atoms, 3)), np.zeros((2, SC.n_atoms, 3)))
    sigma = np.ones(SC.n_atoms)
    sigma[7] = 0.0
    u = np.random.default_rng(0).normal(0, 0.04, (4, SC.n_atoms, 3))
    with pytest.raises(ValueError, match="atom 8 is 0.0"):
        _est(weights=sigma).fit_arrays(SC, u, _forces(_fc(*TRUTH), u))
    with pytest.raises(ValueError, match="needs force_std= or committee_forces="):
        _est(weights="uncertainty").fit_arrays(SC, u, _forces(_fc(*TRUTH), u))


def test_weighted_fit_beats_unweighted_and_covers_the_truth():
    """Cl forces 10x noisier than Na's (sigma 0.01 and 0.1 eV/A per component). The Na-Cl constants are the ones both
    species' forces inform (Na-Na and Cl-Cl pairs appear in their own species' rows only, where weighting changes
    nothing but the sum-rule terms): over 6 seeds the weighted fit's error of the Na-Cl block is smaller than the
    unweighted one's, and its bootstrap error bars cover the truth."""
    Phi = _fc(*TRUTH)
    sigma = np.where(SC.species == "Cl", 0.1, 0.01)
    na, cl = SC.species == "Na", SC.species == "Cl"
    errs = {"weighted": [], "unweighted": []}
    z = []
    for seed in range(6):
        rng = np.random.default_rng(100 + seed)
        u = rng.normal(0.0, 0.04, (60, SC.n_atoms, 3))
        f = _forces(Phi, u) + rng.normal(size=u.shape) * sigma[None, :, None]
        for name, kw in (("weighted", dict(weights="uncertainty")), ("unweighted", {})):
            est = _est(segments=10, **kw).fit_arrays(SC, u, f, force_std=np.broadcast_to(sigma, u.shape[:2]))
            d = (est.force_constants_.full() - Phi)[np.ix_(na, cl)]
            errs[name].append(np.linalg.norm(d) / np.linalg.norm(Phi[np.ix_(na, cl)]))
            if name == "weighted":
                est.bootstrap(100, seed=seed)
                truth = est.bases_[2].project(Phi[est.p2s_])
                z.append((est.params_[2] - truth) / est.params_err_[2])
    w, uw = np.array(errs["weighted"]), np.array(errs["unweighted"])
    print(f"relative error of the Na-Cl constants: weighted {w.mean():.3e}, unweighted {uw.mean():.3e} "
          f"(weighted smaller in {int((w < uw).sum())} of 6 seeds)")
    assert (w < uw).sum() >= 5 and w.mean() < 0.7 * uw.mean()
    z = np.concatenate(z)
    print(f"weighted: {np.mean(np.abs(z) < 2):.2f} of the parameters within 2 error bars; rms z {np.sqrt(np.mean(z**2)):.2f}")
    assert np.mean(np.abs(z) < 2) > 0.8 and 0.5 < np.sqrt(np.mean(z ** 2)) < 1.6


def _write_xyz(path, u, members, std):
    cell = " ".join(f"{x:.10f}" for x in SC.cell.ravel())
    M = members.shape[1]
    props = f"species:S:1:pos:R:3:forces_committee:R:{3 * M}:force_std:R:1"
    lines = []
    for t in range(len(u)):
        lines += [str(SC.n_atoms), f'Lattice="{cell}" Properties={props} pbc="T T T" time={0.01 * t:.4f}']
        body = np.concatenate([SC.positions + u[t], members[t].transpose(1, 0, 2).reshape(SC.n_atoms, -1),
                               std[:, None]], axis=1)
        lines += [f"{s} " + " ".join(repr(float(x)) for x in row) for s, row in zip(SC.species, body)]
    path.write_text("\n".join(lines) + "\n")


def test_one_pass_reads_every_frame_once_for_the_whole_committee(tmp_path, committee):
    _, phis, members, u = committee
    p = tmp_path / "committee.xyz"
    _write_xyz(p, u[:24], members[:24], np.where(SC.species == "Cl", 0.1, 0.01))
    traj = trajmodes.read(str(p), reference=SC)
    assert traj.source.committee_size == len(MEMBERS)
    frames = count_parsed_frames(traj)
    est = _est(weights="uncertainty").fit(traj)
    assert sum(frames) == traj.n_frames, frames                           # each frame parsed once for M + 1 fits
    for fc, Phi in zip(est.committee_force_constants_, phis):
        assert np.abs(fc.full() - Phi).max() < 1e-9 * np.abs(Phi).max()
