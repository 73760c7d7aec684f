"""The normal equations of a growing run (:class:`~trajmodes.forceconstants.GrowingNormal`): frames added in uneven
batches, blocks merged as they grow past their bound, the fit solved from a later start, and each time the same
constants and bootstrap as ``fit_arrays`` of the same frames.

Crystal: tetragonal CsCl-type, 3 x 3 x 3 supercell of 54 atoms; forces exactly -Phi u of a Morse pair potential's
constants plus a cubic term (so that the fits are not exact and the error bars are not zero)."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from trajmodes import Crystal
from trajmodes.forceconstants import GrowingNormal
from trajmodes.forceconstants.fit import EffectiveForceConstants

from tests.support.crystals import supercell
from tests.support.morse import morse_fc

PRIM = Crystal(np.diag([3.0, 3.0, 3.4]), [[0, 0, 0], [1.5, 1.5, 1.7]], ["Na", "Cl"])
SC = supercell(PRIM, np.diag([3, 3, 3]))


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(11)
    u = rng.normal(0.0, 0.04, (160, SC.n_atoms, 3))
    Phi = morse_fc(SC, D0=0.6, alpha=1.4, r0=2.9, cutoff=3.5, nimg=1)
    f = -np.einsum("ijab,tjb->tia", Phi, u) + 0.3 * u ** 2 - 0.3 * (u ** 2).mean(axis=1, keepdims=True)
    return u, f


def test_growing_normal_equations_solve_as_fit_arrays_of_the_same_frames(frames):
    u, f = frames
    est = EffectiveForceConstants(cutoff2=3.6, segments=5, folds=5).prepare(SC)
    g = GrowingNormal(est, block_frames=2, max_blocks=20)
    for a, b in ((0, 3), (3, 50), (50, 51), (51, 160)):          # uneven batches, across block edges
        g.add(u[a:b], f[a:b])
    assert g.n_frames == 160 and g.block_frames == 8 and g.blocks.n_blocks == 20   # merged twice
    for first in (0, 40):                                         # the whole run, and a start left out
        mine = g.solve(first, estimator=copy.copy(est)).bootstrap(30, seed=2)
        ref = EffectiveForceConstants(cutoff2=3.6, segments=5, folds=5).fit_arrays(SC, u[first:], f[first:])
        ref.bootstrap(30, seed=2)
        np.testing.assert_allclose(mine.params_[2], ref.params_[2], rtol=1e-10, atol=1e-14)
        # 160 - first frames in whole blocks, as many per segment: the same segments, the same bootstrap
        np.testing.assert_allclose(mine.params_err_[2], ref.params_err_[2], rtol=1e-8, atol=1e-14)
        assert mine.params_err_[2].max() > 0
    assert g.first_frame_of(41) == 48 and g.held_frames(41) == 112
    with pytest.raises(ValueError, match="call its prepare"):
        GrowingNormal(EffectiveForceConstants(cutoff2=3.6))
