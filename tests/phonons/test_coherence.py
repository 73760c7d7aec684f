"""The coherences' conductivity (Wigner transport equation, RTA) and what it is built from: the pair heat capacities,
the velocity operator, the sum over pairs.

Exact checks: the pair heat capacities against phono3py's functions and their limits, the velocity operator against a
finite difference of sqrt(D) (its definition) and against the group velocities on its diagonal, the sum against the
RTA where only populations conduct and against a pair worked by hand, and invariance under rotations inside
degenerate subspaces. Against other codes on phono3py's Si-PBEsol constants: M. Simoncelli's implementation (phono3py
3.19.4, numbers in tests/data/phono3py_wigner_si) and phono3py 4.10's inter-band variants.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from trajmodes.lattice.qpoints import first_zone
from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
from trajmodes.phonons.anharmonic.coherence import kappa_coherence, wigner_conductivity, wigner_kappa
from trajmodes.phonons.anharmonic.conductivity import kappa_rta
from trajmodes.phonons.harmonic.degeneracy import degenerate_labels
from trajmodes.phonons.harmonic.phonons import Phonons
from trajmodes.phonons.harmonic.statistics import heat_capacity_matrix, mode_heat_capacity
from trajmodes.phonons.harmonic.velocities import velocity_operator
from trajmodes.units import KB_EV, THZ, THZ_EV
from tests.support.paths import DATA
from tests.support.phono3py_cases import si_pbesol_constants

T = [300.0, 800.0]
VOIGT = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]


@pytest.fixture(scope="module")
def si_pbesol(tmp_path_factory):
    return si_pbesol_constants(tmp_path_factory.mktemp("si-pbesol-wigner"))


def _voigt(k):
    return np.stack([k[..., a, b] for a, b in VOIGT], axis=-1)


# ----------------------------------------------------------------------------------------------- heat capacities


@pytest.mark.parametrize("kind", ["smm19", "njc23", "ibdb19"])
def test_heat_capacity_matrix_against_phono3py_and_its_diagonal(kind):
    """Each kind equals phono3py's function of the same name to 1e-12 (with phonopy's Boltzmann constant, 5.8e-7
    above trajmodes' CODATA 2018 one, scaled out: same x = h nu / k_B T, values in units of k_B), its diagonal is the
    mode heat capacity, it is symmetric, and a pair with a mode at or below the cutoff gets zero."""
    hcm = pytest.importorskip("phono3py.phonon.heat_capacity_matrix")
    from phonopy.physical_units import get_physical_units
    kb_phonopy = get_physical_units().KB
    f = np.array([0.0, 1.3, 1.3 + 1e-10, 4.0, 7.5, 15.2])                          # THz; a pair 1e-10 apart
    temps = np.array([10.0, 300.0, 2000.0])
    C = heat_capacity_matrix(f, temps, "quantum", cutoff_frequency=1e-3, kind=kind)
    assert C.shape == (3, 6, 6)
    ref = getattr(hcm, f"mode_cv_matrix_{kind}")(temps, f[1:] * THZ_EV * kb_phonopy / KB_EV)
    np.testing.assert_allclose(C[:, 1:, 1:] / KB_EV, ref / kb_phonopy, rtol=1e-12, atol=1e-30)
    np.testing.assert_allclose(np.diagonal(C, axis1=1, axis2=2), mode_heat_capacity(f, temps, "quantum", 1e-3),
                               rtol=1e-12, atol=0)
    np.testing.assert_array_equal(C, np.swapaxes(C, 1, 2))
    assert (C[:, 0] == 0).all() and (C[:, :, 0] == 0).all()
    # the nearly degenerate pair: no cancellation (the value of the exact degenerate limit to 1e-9)
    np.testing.assert_allclose(C[:, 1, 2], C[:, 1, 1], rtol=1e-9)


def test_heat_capacity_matrix_classical_limits():
    """Classically every mode holds k_B: IBDB19 is k_B for every pair, SMM19 and NJC23 are k_B (nu + nu')^2 / (4 nu
    nu') (>= k_B, equal on the diagonal)."""
    f = np.array([0.7, 2.0, 9.0])
    for kind, expect in [("ibdb19", np.full((3, 3), KB_EV)),
                         ("smm19", KB_EV * np.add.outer(f, f) ** 2 / (4 * np.multiply.outer(f, f))),
                         ("njc23", KB_EV * np.add.outer(f, f) ** 2 / (4 * np.multiply.outer(f, f)))]:
        np.testing.assert_allclose(heat_capacity_matrix(f, [300.0], "classical", kind=kind)[0], expect, rtol=1e-13)
    with pytest.raises(ValueError, match="kind must be one of"):
        heat_capacity_matrix(f, [300.0], kind="smm")


# ------------------------------------------------------------------------------------------- velocity operator


def _si_velocity(fc, q, definition, direction=(1.0, 2.0, 3.0), e_basis=None):
    ph = Phonons(fc)
    f, e = ph.frequencies_and_eigenvectors(q)
    if e_basis is not None:
        e = e @ e_basis
    return f, e, velocity_operator(f, e, ph.dynamical_matrix_derivative(q), direction, 1e-4, 1e-4, definition)


def test_velocity_operator_is_the_gradient_of_sqrt_d(si_pbesol):
    """Simoncelli's velocity operator is <e_s| d sqrt(D) / dq |e_s'>: against a central difference of THZ sqrt(D)
    (step 1e-5 1/A along each Cartesian axis) to 1e-6 of its largest element, block by block: the norm of the
    elements between two degenerate sets (single branches where none is degenerate), which does not depend on the
    basis inside them; inside every set the basis is the one that diagonalises V along ``direction``. The
    group-velocity matrix differs off the diagonal by 2 sqrt(nu nu') / (nu + nu') exactly; both are Hermitian and
    their diagonal is the group velocity where no branch is degenerate."""
    _, fc = si_pbesol
    ph = Phonons(fc)
    q = np.array([[0.13, 0.27, -0.08], [0.2, 0.0, 0.0], [0.25, 0.25, 0.0]])
    f, e, V = _si_velocity(fc, q, "simoncelli")
    _, _, Vm = _si_velocity(fc, q, "matrix")
    labels = degenerate_labels(f, 1e-4)
    assert len(np.unique(labels[0])) == 6 and len(np.unique(labels[1])) < 6 and len(np.unique(labels[2])) < 6
    rc = np.asarray(fc.primitive.reciprocal_cell)
    h = 1e-5
    d = np.array([1.0, 2.0, 3.0]) / np.sqrt(14.0)
    for i in range(len(q)):
        sets = [np.flatnonzero(labels[i] == k) for k in np.unique(labels[i])]
        for x in range(3):
            dq = np.linalg.solve(rc.T, np.eye(3)[x]) * h                               # reduced step of h 1/A
            roots = []
            for sgn in (1, -1):
                w, u = np.linalg.eigh(ph.dynamical_matrix(q[i] + sgn * dq)[0])
                roots.append((u * np.sqrt(np.abs(w))) @ u.conj().T * THZ)
            fd = e[i].conj().T @ ((roots[0] - roots[1]) / (2 * h)) @ e[i]
            for A in sets:
                for B in sets:
                    assert abs(np.linalg.norm(fd[np.ix_(A, B)]) - np.linalg.norm(V[i, x][np.ix_(A, B)])) \
                        < 1e-6 * np.abs(V[i]).max()
        Vd = np.einsum("x,xst->st", d, V[i])
        for A in sets:
            block = Vd[np.ix_(A, A)]
            assert np.abs(block - np.diag(np.diag(block))).max() < 1e-10 * np.abs(V[i]).max()
    np.testing.assert_allclose(V, np.conj(np.swapaxes(V, 2, 3)), atol=1e-12)
    ratio = 2 * np.sqrt(f[:, :, None] * f[:, None, :]) / (f[:, :, None] + f[:, None, :])
    np.testing.assert_allclose(V, Vm * ratio[:, None], atol=1e-10)
    np.testing.assert_allclose(np.einsum("xss->sx", V[0]).real, ph.group_velocities(q[:1])[0], atol=1e-9)


def test_velocity_operator_does_not_depend_on_the_eigensolvers_basis(si_pbesol):
    """A random unitary inside every degenerate subspace of the input eigenvectors leaves |V_ss'| unchanged where
    dD/dq along ``direction`` splits the subspace (q on the Lambda line of Si: its two TA and two TO branches). Where
    it does not (the Delta line, whose pairs stay degenerate to first order in every direction) the basis is as
    arbitrary as the input and only the norms of the blocks between sets are fixed (the test above)."""
    _, fc = si_pbesol
    q = np.array([[0.2, 0.0, 0.0]])
    f, e, V = _si_velocity(fc, q, "simoncelli")
    U = np.eye(6, dtype=complex)
    rng = np.random.default_rng(3)
    for s in (0, 4):
        assert abs(f[0, s + 1] - f[0, s]) < 1e-4
        U[s:s + 2, s:s + 2] = np.linalg.qr(rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2)))[0]
    _, _, V2 = _si_velocity(fc, q, "simoncelli", e_basis=U)
    np.testing.assert_allclose(np.abs(V2), np.abs(V), atol=1e-9)
    assert np.abs(np.abs(e @ U) - np.abs(e)).max() > 1e-2


# ------------------------------------------------------------------------------------------------ the pair sum


def _synthetic(seed=0, nq=4, nb=5, nt=2):
    rng = np.random.default_rng(seed)
    f = np.sort(rng.uniform(1.0, 10.0, size=(nq, nb)), axis=1)
    A = rng.normal(size=(nq, 3, nb, nb)) + 1j * rng.normal(size=(nq, 3, nb, nb))
    V = 0.5 * (A + np.conj(np.swapaxes(A, 2, 3)))
    g = rng.uniform(0.05, 0.5, size=(nt, nq, nb))
    C = heat_capacity_matrix(f, [200.0, 600.0][:nt])
    return f, V, C, g, rng.integers(1, 7, size=nq).astype(float)


def test_populations_alone_are_the_rta():
    """With the velocity operator diagonal (no coherences) the populations' term is kappa_rta with C_s, v_s and
    tau = 1 / (4 pi g), mode by mode to 1e-13, and the coherences' term is zero."""
    f, V, C, g, w = _synthetic()
    Vd = V * np.eye(V.shape[-1])
    mp, mc = wigner_kappa(f, Vd, C, g, w, volume=40.0)
    v = np.einsum("qxss->qsx", Vd).real
    mode = kappa_rta(np.diagonal(C, axis1=2, axis2=3), v, 1 / (4 * np.pi * g), w, 40.0).mode_kappa
    np.testing.assert_allclose(mp, mode, rtol=1e-13, atol=1e-15 * np.abs(mode).max())
    assert np.abs(mc).max() == 0


def test_one_pair_by_hand():
    """Two branches at one q: kappa_C^xx = C_12 2 |V^x_12|^2 (g1 + g2) / ((nu1 - nu2)^2 + (g1 + g2)^2) / (2 pi)
    / (V N) in the units of KAPPA_UNIT (both orders of the pair)."""
    from trajmodes.phonons.anharmonic.conductivity import KAPPA_UNIT
    f = np.array([[3.0, 4.5]])
    V = np.zeros((1, 3, 2, 2), dtype=complex)
    V[0, 0] = [[2.0, 1.5 - 0.5j], [1.5 + 0.5j, -1.0]]
    g = np.array([[[0.2, 0.3]]])
    C = heat_capacity_matrix(f, [300.0])
    _, mc = wigner_kappa(f, V, C, g, np.array([2.0]), volume=20.0)
    expect = C[0, 0, 0, 1] * 2 * 2.5 * 0.5 / (1.5 ** 2 + 0.5 ** 2) / (2 * np.pi) * KAPPA_UNIT / (2.0 * 20.0) * 2.0
    assert mc.sum(axis=(1, 2))[0, 0, 0] == pytest.approx(expect, rel=1e-13)
    assert np.abs(mc.sum(axis=(1, 2))[0]).max() == pytest.approx(expect, rel=1e-13)        # only xx


def test_rotations_inside_degenerate_subspaces():
    """A unitary inside a degenerate pair of branches (widths equal there): with ``degenerate_pairs="populations"``
    kappa_P and kappa_C are each unchanged (1e-12), with ``"coherences"`` only their sum is, and the two settings
    give the same sum."""
    f, V, C, g, w = _synthetic(seed=1)
    f[:, 2] = f[:, 1]                                                          # branches 1 and 2 degenerate
    g[:, :, 2] = g[:, :, 1]
    C = heat_capacity_matrix(f, [200.0, 600.0])
    U = np.eye(5, dtype=complex)
    U[1:3, 1:3] = np.linalg.qr(np.array([[1.0, 2.0 + 1j], [0.5j, -1.0]]))[0]
    V2 = np.einsum("st,qxsu,uv->qxtv", U.conj(), V, U)
    out = {}
    for pairs in ("populations", "coherences"):
        for name, Vx in (("a", V), ("b", V2)):
            mp, mc = wigner_kappa(f, Vx, C, g, w, 40.0, degenerate_pairs=pairs)
            out[pairs, name] = (mp.sum(axis=(1, 2)), mc.sum(axis=(1, 2)))
    scale = np.abs(out["populations", "a"][0]).max()
    for i in (0, 1):
        np.testing.assert_allclose(out["populations", "a"][i], out["populations", "b"][i], atol=1e-12 * scale)
    tot = {k: v[0] + v[1] for k, v in out.items()}
    for k in tot:
        np.testing.assert_allclose(tot[k], tot["populations", "a"], atol=1e-12 * scale)
    assert np.abs(out["coherences", "a"][1] - out["coherences", "b"][1]).max() > 1e-6 * scale


def test_bad_input():
    f, V, C, g, w = _synthetic()
    with pytest.raises(ValueError, match="degenerate_pairs"):
        wigner_kappa(f, V, C, g, w, 40.0, degenerate_pairs="both")
    with pytest.raises(ValueError, match="half widths"):
        wigner_kappa(f, V, C, -g, w, 40.0)
    with pytest.raises(ValueError, match="shapes do not match"):
        wigner_kappa(f, V, C, g[:, :2], w, 40.0)


# ---------------------------------------------------------------------------------------------- against phono3py


@pytest.mark.parametrize("mesh", [5, 7])
def test_simoncelli_wigner_matches_phono3py(si_pbesol, mesh):
    """Simoncelli's Wigner RTA as phono3py 3.19.4 computes it (pairs closer than 1e-4 THz are populations), from
    phono3py's own half widths: kappa_P and kappa_C to 1e-5 (measured 1.1e-6: the two codes' physical constants;
    Si-PBEsol 5^3: 65.628 and 0.0651 W/(m K) at 300 K; 7^3: 99.281 and 0.665), and with trajmodes' widths (phono3py's
    to 3e-7) as well."""
    _, fc = si_pbesol
    ref = json.loads((DATA / "phono3py_wigner_si" / "reference.json").read_text())[str(mesh)]
    an = Anharmonic(fc, mesh, T, smearing=0.1)
    lw = an.linewidths(np.asarray(ref["qpoints"]))
    gps = lw["grid_point"].values
    sums = an.three_phonon_sums()
    for gamma in (np.asarray(ref["gamma"]), lw["gamma"].transpose("temperature", "q", "branch").values):
        w = wigner_conductivity(sums, gamma, gps)
        np.testing.assert_allclose(_voigt(w.kappa_p), ref["kappa_P_RTA"], rtol=1e-5, atol=1e-12)
        np.testing.assert_allclose(_voigt(w.kappa_c), ref["kappa_C"], rtol=1e-5, atol=1e-12)
    assert w.mode_kappa_c.shape == (2, len(gps), 6, 3, 3)
    np.testing.assert_allclose(kappa_coherence(sums, gamma, gps), w.kappa_c, rtol=1e-14)
    np.testing.assert_array_equal(an.wigner_conductivity(gamma, gps).kappa_c, w.kappa_c)     # the facade's, the same


@pytest.mark.parametrize("kind", ["SMM19", "NJC23", "IBDB19"])
def test_inter_band_variants_match_phono3py(si_pbesol, kind):
    """phono3py 4.10's ``transport_type`` variants (the group-velocity matrix, only s = s' as populations): its
    inter-band conductivity is kappa_C with ``velocity="matrix", degenerate_pairs="coherences"`` and the same pair heat
    capacity, to 1e-5 from phono3py's widths (measured 1.2e-6, the physical constants; Si-PBEsol 5^3, 300 K: 0.1822,
    0.1822 and 0.1812 W/(m K)); kappa_P + kappa_C is the same with ``degenerate_pairs="populations"``. Its
    intra-band part is its standard RTA (the group velocities symmetrised over the little group of q), which
    kappa_rta reproduces (tests/phonons/test_phono3py_options.py)."""
    import phono3py
    folder, fc = si_pbesol
    ph3 = phono3py.load(str(folder / "phono3py_params.yaml"), fc2_filename=str(folder / "fc2.hdf5"),
                        fc3_filename=str(folder / "fc3.hdf5"), produce_fc=False, symmetrize_fc=False, log_level=0)
    ph3.mesh_numbers = [5] * 3
    ph3.sigmas = [0.1]
    ph3.init_phph_interaction(average_degenerate_weights=True)
    ph3.run_thermal_conductivity(temperatures=T, transport_type=kind, write_kappa=False)
    tc = ph3.thermal_conductivity
    inter = tc.get_extra_kappa_output()["kappa_inter"][0]
    an = Anharmonic(fc, 5, T, smearing=0.1)
    gps = an.linewidths(np.asarray(tc.qpoints))["grid_point"].values
    w = an.wigner_conductivity(np.asarray(tc.gamma)[0], gps, velocity="matrix", heat_capacity=kind.lower(),
                               degenerate_pairs="coherences")
    np.testing.assert_allclose(_voigt(w.kappa_c), inter, rtol=1e-5, atol=1e-12)
    w2 = an.wigner_conductivity(np.asarray(tc.gamma)[0], gps, velocity="matrix", heat_capacity=kind.lower())
    np.testing.assert_allclose(w2.kappa, w.kappa, rtol=1e-12, atol=1e-12)


def test_wigner_conductivity_checks_its_input(si_pbesol):
    _, fc = si_pbesol
    an = Anharmonic(fc, 3, [300.0], smearing=0.1)
    g = np.full((1, len(an.grid.irreducible), 6), 0.1)
    sums = an.three_phonon_sums()
    with pytest.raises(ValueError, match="velocity must be one of"):
        wigner_conductivity(sums, g, velocity="group")
    with pytest.raises(ValueError, match="heat_capacity must be one of"):
        wigner_conductivity(sums, g, heat_capacity="classical")
    with pytest.raises(ValueError, match="one grid point of every star"):
        wigner_conductivity(sums, g[:, 1:], an.grid.irreducible[1:])
    with pytest.raises(ValueError, match="gamma must have shape"):
        an.wigner_conductivity(g[:, :, :3])
    q = first_zone(an.grid.qpoints[an.grid.irreducible], fc.primitive.reciprocal_cell)
    assert len(q) == g.shape[1]
