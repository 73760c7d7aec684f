"""Anharmonic quantum crystals of Lennard-Jones (tests/quantum/lj_pimd.py: 32 atoms of fcc Ne or Ar at the static
lattice parameter), path-integral MD with i-PI evaluating trajmodes' own potential (the driver's forces are the
engine's to round-off), against the self-consistent sampling of the same potential through trajmodes' engine.

The fit over all beads (the TDEP of path-integral samples: A. Castellano, J. P. Batista and M. J. Verstraete,
arXiv:2303.10621; O. Hellman et al., Phys. Rev. B 84, 180301 (2011)) and the stochastic self-consistent sampling
(Shulumba, Hellman and Minnich, Phys. Rev. B 95, 014302 (2017)) answer different questions in a strongly anharmonic
crystal: the sampling's fixed point is that of the self-consistent harmonic approximation, the fit over the beads is
the least-squares harmonic model of the true ensemble. In fcc Ne at 20 K a harmonic-only fit sits 4-9 % below the
sampling, in the classical crystal as in the quantum one (the method's gap, not the path integral's): measured by
benchmarks/bench_quantum_neon.py, with the zero-point stiffening of both routes (it re-measured those numbers with
one seed as two tests of this file, about 80 s of CPU a session). Here: fcc Ar at 10 K, where the fit with its
nearest-neighbour cubic terms and the sampling of the same ring polymer agree.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.quantum.lj_pimd import CUTOFF, EPSILON, SIGMA, driver, neon

#: q-points: X and L in the primitive cell's reduced coordinates (both commensurate with 2 x 2 x 2 cubic cells)
Q = np.array([[0.5, 0.0, 0.5], [0.5, 0.5, 0.5]])
SKIP = 50                                                                # frames of equilibration (2 ps)


def test_the_driver_is_the_engine_to_round_off():
    """The i-PI driver's energies and forces (fast pair list, and through i-PI's atomic units) are those of
    PotentialEngine with the same LennardJones, up to displacements where atoms cross the cutoff shells; a
    configuration beyond the pair list's skin goes to the engine itself."""
    pytest.importorskip("ipi")
    from trajmodes.potentials.engines import PotentialEngine
    D = driver()
    sc, _, lj = neon()
    eng = PotentialEngine(lj, sc)
    drv = D.TrajmodesLJ(EPSILON, SIGMA, CUTOFF, "Ne")
    rng = np.random.default_rng(4)
    cell = np.asarray(sc.cell)
    for amp in (0.05, 0.25, 1.2):                                        # the last beyond skin / 2: the engine
        x = sc.positions + amp * rng.standard_normal((6, sc.n_atoms, 3))
        E, F = drv.energies_forces(cell, x)
        ref = eng.evaluate(x)
        np.testing.assert_allclose(E, ref.energies, rtol=1e-12, atol=1e-12 * np.abs(ref.energies).max())
        np.testing.assert_allclose(F, ref.forces, rtol=0, atol=1e-12 * max(1.0, np.abs(ref.forces).max()))
    x = sc.positions + 0.1 * rng.standard_normal((3, sc.n_atoms, 3))
    out = drv.compute([cell.T / D.BOHR_A] * 3, list(x / D.BOHR_A))       # i-PI: bohr, lattice vectors as columns
    ref = eng.evaluate(x)
    for k in range(3):
        assert abs(out[k][0] * D.HARTREE_EV - ref.energies[k]) < 1e-12
        np.testing.assert_allclose(np.reshape(out[k][1], (-1, 3)) * D.HARTREE_EV / D.BOHR_A, ref.forces[k],
                                   atol=1e-13)
    from ipi.utils.units import unit_to_user                             # i-PI's own: 1e-7 apart at most
    assert abs(unit_to_user("length", "angstrom", 1.0) / D.BOHR_A - 1) < 1e-7
    assert abs(unit_to_user("energy", "electronvolt", 1.0) / D.HARTREE_EV - 1) < 2e-7


def _branches(r):
    """X (T, L) and L (T, L): the two distinct frequencies at each point, with errors."""
    idx = [(0, 0), (0, 2), (1, 0), (1, 2)]
    return np.array([r["nu"][i, s] for i, s in idx]), np.array([r["err"][i, s] for i, s in idx])


NAMES = ("X TA", "X LA", "L TA", "L LA")


# ---------------------------------------------------------------------------------------------------------------------
# fcc Ar at 10 K: where the two routes agree
#
# Ar is the same Lennard-Jones crystal in reduced units (tests/quantum/lj_pimd.py) with a third of Ne's de Boer
# parameter; at 10 K (T* = 0.083) it is weakly anharmonic but zero-point dominated (h nu / k_B T = 5-10 at X and L).
# The harmonic-only (sequential) fit of the true ensemble absorbs the cubic forces' correlation with u (the
# ensemble is skewed by the cubic terms), which the Gaussian sampling never sees: that is the gap in Ne
# (benchmarks/bench_quantum_neon.py), and it scales with T in the classical crystal (measured, classical MD against
# the classical sampling, harmonic-only fits, 8000 steps: Ne 5 K -2.6 to -2.0 %, 10 K -5.3 to -3.6 %, 20 K -10 to
# -7 %; Ar 10 K -1.6 to -1.1 %). A simultaneous fit with nearest-neighbour cubic terms takes that correlation into
# the cubic constants, and its harmonic part is then the Gaussian average of the Hessian to leading order, as the
# sampling's (in whose Gaussian ensemble the cubic columns are orthogonal to the harmonic ones, so the cubic terms only
# cut its noise).
# ---------------------------------------------------------------------------------------------------------------------
T_AR = 10.0
PIMD_AR = dict(system="Ar", n_beads=16, temperature=T_AR, steps=3000, stride=10, timestep_fs=4.0, tau_fs=100.0,
               seed=31415)
CLASSICAL_AR = dict(PIMD_AR, n_beads=1, steps=6000)
FIT_AR = dict(cutoff2=None, cutoff3=4.0, mode="simultaneous")       # nearest neighbours (3.73 A) in the cubic terms
#: the difference of the methods allowed beside 4 combined standard errors, PIMD against the quantum sampling and
#: classical MD against the classical sampling (the fit over the true, skewed ensemble against the self-consistent
#: harmonic one): measured over independent draws (benchmarks/bench_quantum_argon.py; the test's docstring)
GAP_AR = 0.003


def _fit_ar(folder, **options):
    import trajmodes
    from trajmodes.forceconstants import EffectiveForceConstants
    from trajmodes.phonons.thermodynamics.uncertainty import frequencies_with_errors
    from tests.quantum.lj_pimd import crystal
    sc, _, _ = crystal("Ar")
    run = trajmodes.read_beads(str(folder / "sim"), reference=sc, temperature=T_AR)
    beads = [b[SKIP:] for b in run.beads]
    res = frequencies_with_errors(EffectiveForceConstants(**options).fit(beads), Q, n_resamples=200)
    return dict(nu=res.frequency, err=res.frequency_err)


def _sampling_ar(occupation, n_beads=None, seed=3):
    from trajmodes.phonons.harmonic import Phonons
    from trajmodes.phonons.thermodynamics.self_consistent import SelfConsistentPhonons
    from trajmodes.potentials.engines import PotentialEngine
    from tests.quantum.lj_pimd import crystal
    sc, prim, lj = crystal("Ar")
    fc0 = lj.force_constants(sc, prim)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="self-consistent phonons .* not converged", category=RuntimeWarning)
        scp = SelfConsistentPhonons(T_AR, occupation=occupation, n_beads=n_beads, cutoff2=None, n_samples=1024,
                                    max_samples=1024, max_iter=5, n_average=3, tol=0.01, seed=seed,
                                    fit_options=dict(cutoff3=4.0, mode="simultaneous")).fit(PotentialEngine(lj, sc), fc0)
    res = scp.frequencies_with_errors(Q, n_resamples=200)              # iterations 3-5 pooled, with their scatter
    return dict(nu=res.frequency, err=res.frequency_err, nu0=Phonons(fc0).frequencies(Q))


@pytest.mark.slow
def test_argon_pimd_agrees_with_the_quantum_sampling(tmp_path_factory):
    """fcc Ar at 10 K, 32 atoms: the fit over the beads of a PIMD run (P = 16, 3000 steps of 4 fs) with
    nearest-neighbour cubic terms fitted simultaneously agrees within 4 combined standard errors plus the methods'
    difference GAP_AR = 0.3 % (measured over independent draws, below) with the self-consistent sampling of the same
    potential's 16-bead ring polymer (like for like: the Trotter error of P = 16 is on both sides), and classical MD
    (6000 steps) with the classical sampling, while both quantum routes sit 5 % above the classical ones and 7-8 % above
    the 0 K harmonic frequencies. Each sampling runs 5 iterations of 1024 configurations and fits the last 3 together,
    its error bar the larger of that fit's bootstrap and the iterations' scatter (``n_average``).

    Measured (2026-11-28, X TA, X LA, L TA, L LA in THz): 0 K 1.3654, 1.9959, 0.9081, 1.9931. The Trotter error: the
    sampling at P = 16 sits 0.1-0.3 % below P = infinity (1.4684, 2.1585, 0.9749, 2.1596, mean of 8 seeds, against
    1.4703-1.4715, 2.1614-2.1645, 0.9757-0.9774, 2.1610-2.1619; a 2.2 THz mode's zero-point variance is 5 % short at
    P = 16), which was most of the 0.4-0.7 % by which PIMD fell below the P = infinity sampling. The error bars:
    over 8 seeds of the sampling the z-scores between seeds have a standard deviation of 0.93 (per branch 0.69-0.99).
    PIMD P = 16, three seeds (31415, 27182, 16180): 1.4668 / 1.4684 / 1.4680, 2.1519 / 2.1574 / 2.1539, 0.9718 /
    0.9724 / 0.9727, 2.1559 / 2.1591 / 2.1584 (+- 0.0009-0.0023, consistent with their scatter); against this test's
    sampling (1.4684, 2.1591, 0.9752, 2.1583 +- 0.0012-0.0030) z = -0.8, -2.1, -2.2, -0.9 / 0.0, -0.5, -1.7, +0.3 /
    -0.2, -1.4, -1.5, +0.0. What remains, 0.05-0.3 % below (X LA and L TA), is the method's gap (self-consistent
    harmonic against the least-squares fit over the true, skewed ensemble): the classical crystal at 28 K, where the
    classical sampling's <|u|^2> (0.0258 A^2) matches the 16-bead sampling's at 10 K (0.0268 A^2), shows it of the same
    sign and size (classical MD 1.4437, 2.1212, 0.9595, 2.1248 against the classical sampling 1.4523, 2.1291, 0.9631,
    2.1293: -0.6 to -0.2 %), and at 10 K it is 0.05-0.2 % (classical MD below the classical sampling, -1.8 to -0.7
    sigma here). Quantum shifts 34-85 sigma, PIMD/sampling shift ratios 0.94-1.02. 112 s on two busy cores (45-55 s of
    i-PI, 15-20 s of classical MD, 25-35 s of sampling).

    The bound, measured (2026-11-28, ``python benchmarks/bench_quantum_argon.py``, results in
    benchmarks/results/quantum_argon.jsonl and docs/validation.md: 30 draws, every seed changed together: i-PI's of both
    runs and the samplings'; the MD is chaotic, so a run on another machine, BLAS or CPU is such a draw): this test
    asserted |z| < 2.5 with no allowance, and that failed on 20 of the 30 draws (on a fresh clone: L TA at -3.3, X LA at
    -2.8). Over the draws PIMD - quantum sampling has z -2.0, -1.6, -2.1, -1.5 on average (X TA, X LA, L TA, L LA;
    spread about 1), down to -5.3, and PIMD / sampling - 1 from -0.54 to +0.16 % (mean -0.20 %; below on average over
    the branches on 29 draws): the methods' difference described above, not the noise; classical MD - classical sampling
    has z -0.6, -0.8, -0.8, -0.6, down to -3.4. The scatter of the fitted frequencies over the draws is 1.0-1.4 times
    their bootstrap error bars (PIMD; classical MD 1.0-1.3). With GAP_AR = 0.3 % beside 4 standard errors (0.6-1 % of
    these frequencies in all, against a zero-point stiffening of 5 %) the worst draw reached 0.72 of the bound,
    classical 0.40. Every other bound held with room on every draw: quantum shifts at least 28 sigma (bound 15), the
    shift ratios within 0.11 of 1 (bound 0.2), PIMD at least 46 sigma above 0 K (bound 20).
    """
    pytest.importorskip("ipi")
    from tests.quantum.lj_pimd import cached_lj_run
    pimd = _fit_ar(cached_lj_run(tmp_path_factory, timeout=600.0, **PIMD_AR), **FIT_AR)
    md = _fit_ar(cached_lj_run(tmp_path_factory, timeout=600.0, **CLASSICAL_AR), **FIT_AR)
    sq, scl = _sampling_ar("quantum", n_beads=PIMD_AR["n_beads"]), _sampling_ar("classical")
    (q, eq), (c, ec) = _branches(pimd), _branches(md)
    (s, es), (sc, esc) = _branches(sq), _branches(scl)
    nu0 = sq["nu0"][[0, 0, 1, 1], [0, 2, 0, 2]]
    zq, zc = (q - s) / np.hypot(eq, es), (c - sc) / np.hypot(ec, esc)
    shift_q, shift_s = (q - c) / np.hypot(eq, ec), (s - sc) / np.hypot(es, esc)
    for k, name in enumerate(NAMES):
        print(f"{name}: 0 K {nu0[k]:.4f} | PIMD {q[k]:.4f} +- {eq[k]:.4f}, quantum sampling {s[k]:.4f} +- {es[k]:.4f}"
              f" ({zq[k]:+.1f} sigma, {q[k] / s[k] - 1:+.2%}) | classical MD {c[k]:.4f} +- {ec[k]:.4f}, classical "
              f"sampling {sc[k]:.4f} +- {esc[k]:.4f} ({zc[k]:+.1f} sigma) | quantum shift PIMD {q[k] - c[k]:+.4f} "
              f"({shift_q[k]:.0f} sigma), sampling {s[k] - sc[k]:+.4f} ({shift_s[k]:.0f} sigma) THz")
    # measured over 30 draws: at most 0.72 of the bound (quantum), 0.40 (classical)
    assert (np.abs(q - s) < 4 * np.hypot(eq, es) + GAP_AR * s).all(), zq
    assert (np.abs(c - sc) < 4 * np.hypot(ec, esc) + GAP_AR * sc).all(), zc
    assert (shift_q > 15).all() and (shift_s > 15).all()                  # zero-point motion: +5 %, > 20 sigma
    assert ((q - nu0) / eq > 20).all() and ((q / c - 1) > 0.03).all()
    assert (np.abs((q - c) / (s - sc) - 1) < 0.2).all()                   # the shifts agree: ratios 0.88-0.98
