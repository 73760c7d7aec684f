"""Every estimator of force constants follows one protocol (trajmodes.forceconstants.estimator): settings in the
constructor, fit returns the estimator, ``force_constants_`` and ``temperature_`` set by the fit, nothing fitted
before it. Checked on the harmonic Morse copper crystal (32 atoms), whose canonical samples every estimator takes."""
from __future__ import annotations

import numpy as np
import pytest

from trajmodes.forceconstants import EffectiveForceConstants, ForceConstants, ForceConstantsEstimator
from trajmodes.lattice.cubic import cubic_lattice
from trajmodes.phonons.thermodynamics.sampling import canonical_configurations
from trajmodes.phonons.thermodynamics.self_consistent import SelfConsistentPhonons
from trajmodes.potentials.engines import HarmonicEngine
from trajmodes.potentials.pair import Morse
from trajmodes.quantum import KuboDisplacementConstants, KuboForceConstants

T = 300.0


@pytest.fixture(scope="module")
def crystal():
    sc, prim = cubic_lattice("fcc", 3.615, 2, ["Cu"], masses=[63.546])
    phi = Morse(0.3429, 1.3588, 2.866, cutoff=6.0).force_constants(sc, prim)
    s = canonical_configurations(phi, T, 256, seed=1)
    u = s.displacements.values
    f = -np.einsum("iajb,sjb->sia", phi.full().transpose(0, 2, 1, 3), u)       # the harmonic forces -Phi u
    return phi, u, f


def _fits(crystal):
    phi, u, f = crystal
    sc = phi.supercell
    return [
        (EffectiveForceConstants(cutoff2=3.0), lambda e: e.fit_arrays(sc, u, f, temperatures=np.full(len(u), T))),
        (SelfConsistentPhonons(T, n_samples=8, tol=1e-6), lambda e: e.fit(HarmonicEngine(phi), phi)),
        (KuboDisplacementConstants(T, blocks=4), lambda e: e.fit_arrays(sc, u)),
        (KuboForceConstants(T, blocks=4), lambda e: e.fit_arrays(sc, u, f)),
    ]


def test_every_estimator_follows_the_protocol(crystal):
    for est, fit in _fits(crystal):
        name = type(est).__name__
        assert callable(est.fit), name
        assert not isinstance(est, ForceConstantsEstimator), f"{name}: results before fit"
        assert fit(est) is est, f"{name}: fit returns the estimator"
        assert isinstance(est, ForceConstantsEstimator), f"{name}: force_constants_ and temperature_ after fit"
        assert isinstance(est.force_constants_, ForceConstants), name
        assert isinstance(est.temperature_, float) and est.temperature_ == pytest.approx(T, rel=1e-12), name
