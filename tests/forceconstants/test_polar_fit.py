"""The polar fit: dipole-dipole forces taken out before fitting (TDEP's ``extract_forceconstants --polar``).

Oracles: TDEP's own MgO regression test (its frames, its reference fc2; tests/data/tdep_mgo/README.md), and an exact
synthetic crystal whose forces are short-range springs plus the Gonze-Lee dipole-dipole forces.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trajmodes import ForceConstants, Phonons
from trajmodes.forceconstants.dipole import dipole_supercell_constants, tdep_ewald_lambda
from trajmodes.forceconstants.fit import EffectiveForceConstants
from trajmodes.io.forceconstants.tdep_polar import TDEP_BOHR_A, TDEP_NAC_FACTOR, read_lotosplitting
from trajmodes.io.forceconstants.text import read_poscar
from trajmodes.lattice.prototypes import prototype
from trajmodes.units import NAC_FACTOR, THZ

MGO = Path(__file__).parent.parent / "data" / "tdep_mgo"
#: TDEP's Ewald parameter for MgO (1/bohr), as its reference outfile.forceconstant holds it
MGO_LAMBDA = 0.67637716421034555


def mgo_frames():
    h5py = pytest.importorskip("h5py")
    ss = read_poscar(MGO / "infile.ssposcar", wrap=True)
    born, eps = read_lotosplitting(MGO / "infile.lotosplitting", 2)
    with h5py.File(MGO / "infile.sim.hdf5") as h:
        x, f = h["positions"][()], h["forces"][()]
    d = x - ss.scaled_positions
    d -= np.round(d)
    zss = born[[0 if s == "O" else 1 for s in ss.species]]             # unit cell: O, Mg
    return ss, d @ ss.cell, f, zss, eps


def test_polar_fit_reproduces_tdep_mgo_fc2():
    """TDEP's MgO test: our fit of its 24 frames gives its short-range fc2 (its tolerance: rtol 1e-7)."""
    ss, u, f, zss, eps = mgo_frames()
    est = EffectiveForceConstants(cutoff2=2.5, folds=1, born=zss, epsilon=eps, nac_factor=TDEP_NAC_FACTOR,
                                  ewald_lambda=MGO_LAMBDA / TDEP_BOHR_A).fit_arrays(ss, u, f)
    fc = est.force_constants_
    assert fc.short_range and fc.ewald_lambda == pytest.approx(MGO_LAMBDA / TDEP_BOHR_A, rel=1e-15)
    ref = ForceConstants.read(MGO / "outfile.forceconstant", "tdep")
    A, B = fc.full(), ref.full()                                        # same supercell, same atom order
    np.testing.assert_allclose(A, B, rtol=1e-7, atol=1e-12 * np.abs(B).max())
    assert np.abs(A - B).max() < 1e-12                                 # measured 2.3e-14 eV/A^2
    # the full constants are the short-range ones plus the dipole part taken out
    np.testing.assert_allclose(fc.with_convention("full").compact(), fc.compact() + est.dipole_fc2_, atol=1e-13)


def test_polar_fit_reproduces_tdep_mgo_fc3(tmp_path):
    """TDEP's MgO test, third order (``extract_forceconstants -rc2 0 -rc3 0 --polar``: the shortest cutoff, the
    nearest-neighbour triplets): our sequential fit of its 24 frames gives its fc3 to TDEP's tolerance (rtol 1e-7);
    measured 3.2e-14 eV/A^3 of 22.4."""
    import shutil
    ss, u, f, zss, eps = mgo_frames()
    est = EffectiveForceConstants(cutoff2=2.5, cutoff3=2.2, folds=1, born=zss, epsilon=eps, nac_factor=TDEP_NAC_FACTOR,
                                  ewald_lambda=MGO_LAMBDA / TDEP_BOHR_A).fit_arrays(ss, u, f)
    for name in ("infile.ucposcar", "infile.ssposcar", "outfile.forceconstant", "outfile.forceconstant_thirdorder"):
        shutil.copy(MGO / name, tmp_path / name.replace("outfile.", "infile."))
    ref = ForceConstants.read(tmp_path, "tdep")
    A, B = est.force_constants_.fc3, ref.fc3
    np.testing.assert_allclose(A, B, rtol=1e-7, atol=1e-12 * np.abs(B).max())
    assert np.abs(A - B).max() < 1e-12


def test_netcdf_of_short_range_constants_gives_their_phonons(tmp_path):
    """A polar fit written to trajmodes' netCDF file (as full constants) and read back gives the same phonons, LO-TO
    splitting included."""
    ss, u, f, zss, eps = mgo_frames()
    fc = EffectiveForceConstants(cutoff2=2.5, folds=1, born=zss, epsilon=eps).fit_arrays(ss, u, f).force_constants_
    fc.write(tmp_path / "fc.nc")
    back = ForceConstants.read(tmp_path / "fc.nc")
    assert not back.short_range and back.born is not None
    q = [[0, 0, 0], [0.1, 0.2, 0.3]]
    assert np.abs(Phonons(back).frequencies(q, q_direction=[1, 0, 0])
                  - Phonons(fc).frequencies(q, q_direction=[1, 0, 0])).max() < 1e-6


def test_tdep_ewald_parameter_is_tdeps():
    """TDEP's choice of lambda (its strategy 2), solved to round-off; TDEP stops its search at |y| < 1e-11."""
    uc = read_poscar(MGO / "infile.ucposcar", wrap=True)
    _, eps = read_lotosplitting(MGO / "infile.lotosplitting", 2)
    lam = tdep_ewald_lambda(uc, eps, bohr=TDEP_BOHR_A) * TDEP_BOHR_A
    assert lam == pytest.approx(MGO_LAMBDA, rel=5e-8)                  # measured 3.1e-8


def _springs(sc, k1: float, k2: float) -> np.ndarray:
    """Full (N, N, 3, 3) constants of central springs: k1 on nearest, k2 on second neighbours (ASR, symmetric)."""
    N = sc.n_atoms
    d = sc.positions[None] - sc.positions[:, None]
    f = d @ np.linalg.inv(sc.cell)
    d = (f - np.round(f)) @ sc.cell
    r = np.linalg.norm(d, axis=-1)
    nn = np.sort(np.unique(np.round(r[r > 1e-6], 6)))
    phi = np.zeros((N, N, 3, 3))
    for shell, k in zip(nn[:2], (k1, k2)):
        i, j = np.nonzero(np.abs(r - shell) < 1e-5)
        e = d[i, j] / r[i, j, None]
        phi[i, j] = -k * e[:, :, None] * e[:, None, :]
    phi[np.arange(N), np.arange(N)] = -phi.sum(axis=1)
    return phi


def test_polar_fit_is_exact_on_a_harmonic_polar_crystal():
    """Forces -Phi_sr u - Phi_dd u: the fit gives Phi_sr to round-off, and the frequencies (LO-TO at Gamma) are the
    model's."""
    prim = prototype("rocksalt", ("Na", "Cl"), a=5.6)
    sc = prim.supercell(3)
    ref = ForceConstants(np.zeros((sc.n_atoms, sc.n_atoms, 3, 3)), sc)
    Z = np.array([np.eye(3) * 1.1, -np.eye(3) * 1.1])
    Z = Z[[0 if s == "Na" else 1 for s in ref.primitive.species]]
    eps = np.eye(3) * 2.4
    lam = 1.3
    phi_sr = _springs(sc, 1.5, 0.3)
    dd = dipole_supercell_constants(ref.primitive, ref.smap, ref.p2s, Z, eps, lam)
    phi_dd = ForceConstants(dd, sc, ref.primitive, smap=ref.smap, p2s=ref.p2s).full()
    rng = np.random.default_rng(1)
    u = rng.normal(scale=0.05, size=(12, sc.n_atoms, 3))
    f = -np.einsum("ijab,tjb->tia", phi_sr + phi_dd, u)
    zss = Z[ref.smap.atom]
    est = EffectiveForceConstants(cutoff2=4.5, folds=1, born=zss, epsilon=eps, ewald_lambda=lam).fit_arrays(sc, u, f)
    fc = est.force_constants_
    assert np.abs(fc.full() - phi_sr).max() < 1e-11
    assert np.abs(est.predict_forces(u) - f).max() < 1e-11
    # frequencies: the model's full constants with phonopy's NAC, and the analytic LO-TO splitting at Gamma
    model = ForceConstants(phi_sr + phi_dd, sc, ref.primitive, smap=ref.smap, p2s=ref.p2s, born=Z, epsilon=eps)
    ph, pm = Phonons(fc), Phonons(model)
    from trajmodes.lattice.qpoints import commensurate_qpoints, first_zone
    qc = first_zone(commensurate_qpoints(ref.smap.matrix, centred=False), ref.primitive.reciprocal_cell)[1:]
    assert np.abs(ph.frequencies(qc) - pm.frequencies(qc)).max() < 1e-9
    nu = ph.frequencies([[0, 0, 0]], q_direction=[1, 0, 0])[0]
    to, lo = nu[3], nu[5]
    m = ref.primitive.masses
    mu = m[0] * m[1] / (m[0] + m[1])
    split = 4 * np.pi * NAC_FACTOR * 1.1 ** 2 / (ref.primitive.volume * 2.4 * mu)    # eV/(A^2 amu)
    assert (lo / THZ) ** 2 - (to / THZ) ** 2 == pytest.approx(split, rel=1e-10)
    assert nu[4] == pytest.approx(to, rel=1e-12)


def test_polar_fit_refuses_bad_born_charges():
    prim = prototype("rocksalt", ("Na", "Cl"), a=5.6)
    sc = prim.supercell(2)
    u = np.zeros((2, sc.n_atoms, 3))
    ok = np.array([np.eye(3), -np.eye(3)])
    with pytest.raises(ValueError, match="charge-neutrality sum rule"):
        EffectiveForceConstants(cutoff2=3.0, folds=1, born=ok * [[[1.0]], [[0.7]]], epsilon=np.eye(3)).fit_arrays(
            sc, u, u)
    with pytest.raises(ValueError, match="born has shape"):
        EffectiveForceConstants(cutoff2=3.0, folds=1, born=np.zeros((3, 3, 3)), epsilon=np.eye(3)).fit_arrays(
            sc, u, u)
    with pytest.raises(ValueError, match="both born"):
        EffectiveForceConstants(cutoff2=3.0, folds=1, born=ok).fit_arrays(sc, u, u)
    with pytest.raises(ValueError, match="positive definite"):
        EffectiveForceConstants(cutoff2=3.0, folds=1, born=ok, epsilon=-np.eye(3)).fit_arrays(sc, u, u)


@pytest.mark.parametrize("matrix", [np.diag([3, 3, 3]), [[2, 1, 0], [0, 2, 1], [1, 0, 3]]])
def test_dipole_forces_by_fft_are_the_dense_products(matrix):
    """The dipole-dipole forces of every frame, by FFT over the supercell's translations (its Smith normal form), are
    -Phi_dd u of the dense (3N, 3N) matrix, for a diagonal and a non-diagonal supercell."""
    from trajmodes.forceconstants.dipole import SupercellConvolution, dipole_force_matrix, dipole_supercell_constants
    prim = prototype("rocksalt", ("Mg", "O"), 4.212)
    sc = prim.supercell(matrix)
    smap = sc.supercell_map(prim)
    p2s = np.array([np.flatnonzero(smap.atom == k)[0] for k in range(2)])
    z = np.array([np.eye(3) * (2.0 if s == "Mg" else -2.0) for s in prim.species])
    compact = dipole_supercell_constants(prim, smap, p2s, z, np.eye(3) * 3.0, 1.0)
    u = np.random.default_rng(0).normal(size=(4, sc.n_atoms, 3))
    dense = -(u.reshape(4, -1) @ dipole_force_matrix(compact, smap, p2s).T).reshape(u.shape)
    fft = SupercellConvolution(compact, smap, p2s).forces(u)
    assert np.abs(fft - dense).max() < 1e-13 * np.abs(dense).max()


def test_dipole_forces_in_blocks_of_frames(monkeypatch):
    """The frames go through the FFT a block at a time (two frames here): the same forces as one frame at a time,
    and none for no frames."""
    from trajmodes.forceconstants import dipole
    prim = prototype("rocksalt", ("Mg", "O"), 4.212)
    sc = prim.supercell([[2, 1, 0], [0, 2, 1], [1, 0, 3]])
    smap = sc.supercell_map(prim)
    p2s = np.array([np.flatnonzero(smap.atom == k)[0] for k in range(2)])
    z = np.array([np.eye(3) * (2.0 if s == "Mg" else -2.0) for s in prim.species])
    conv = dipole.SupercellConvolution(dipole.dipole_supercell_constants(prim, smap, p2s, z, np.eye(3) * 3.0, 1.0),
                                       smap, p2s, workers=2)
    u = np.random.default_rng(1).normal(size=(5, sc.n_atoms, 3))
    one = np.concatenate([conv.forces(u[t:t + 1]) for t in range(len(u))])
    monkeypatch.setattr(dipole, "_FRAMES", 2 * u[0].size)
    assert np.abs(conv.forces(u) - one).max() < 1e-14 * np.abs(one).max()
    assert conv.forces(u[:0]).shape == (0, sc.n_atoms, 3)


@pytest.mark.parametrize("matrix", [np.diag([2, 3, 2]), [[2, 1, 0], [0, 2, 1], [1, 0, 3]]])
def test_dipole_ewald_blocks_pairs_and_fft_are_the_direct_sums(matrix):
    """The Ewald sum of Gonze and Lee (Phys. Rev. B 55, 10355 (1997)) by packed blocks equals the term-by-term sum
    over G (with the limit along a direction at K = 0), and the supercell constants by the pairing C(-q) = conj C(q)
    and one FFT over the Smith-normal-form grid equal the direct inverse lattice Fourier transform over the
    commensurate q, with a symmetric G-set (pairs used) and one that is not (every q summed)."""
    from trajmodes.forceconstants.dipole import DipoleEwald
    from trajmodes.lattice.qpoints import commensurate_qpoints, first_zone
    prim = prototype("wurtzite", ("Ga", "N"), 3.19, 5.19)
    sc = prim.supercell(matrix)
    smap = sc.supercell_map(prim)
    p2s = np.array([np.flatnonzero(smap.atom == k)[0] for k in range(prim.n_atoms)])
    rng = np.random.default_rng(3)
    Z = rng.normal(size=(prim.n_atoms, 3, 3)) + 2 * np.eye(3)
    Z -= Z.mean(axis=0)
    eps = np.array([[5.0, 0.3, 0.1], [0.3, 4.6, -0.2], [0.1, -0.2, 5.4]])
    full = DipoleEwald.converged(prim, Z, eps, 0.25)
    lopsided = DipoleEwald(prim, Z, eps, 0.25, full.G[1:])               # G -> -G broken: no pairs
    rec, pf = prim.reciprocal_cell, prim.scaled_positions
    q = np.vstack([np.zeros(3), rng.uniform(-0.6, 0.6, size=(5, 3)) @ rec])
    for ew in (full, lopsided):
        K = q[:, None] + ew.G[None]
        KeK = np.einsum("qga,ab,qgb->qg", K, eps, K)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(np.linalg.norm(K, axis=-1) < 1e-5, 0.0, np.exp(-KeK / (4 * ew.Lambda ** 2)) / KeK)
        KK = K[..., :, None] * K[..., None, :] * w[..., None, None]
        d = np.array([1.0, 0.2, -0.3])
        KK[np.nonzero(np.linalg.norm(K, axis=-1) < 1e-5)] = np.outer(d, d) / (d @ eps @ d)
        phase = np.exp(2j * np.pi * np.einsum("gx,klx->gkl", ew.G, prim.positions[:, None] - prim.positions[None]))
        ref = np.einsum("kca,qgcd,gkl,ldb->qkalb", Z, KK, phase, Z)
        got = ew.sum(q, d)
        assert np.abs(got - ref).max() < 1e-12 * np.abs(ref).max()
        qc = first_zone(commensurate_qpoints(smap.matrix, centred=False), rec)
        C = ew.matrix(qc @ rec)
        s = pf[smap.atom] + smap.lattice
        ph = np.exp(-2j * np.pi * np.einsum("cx,kjx->ckj", qc, s[None] - s[p2s][:, None]))
        direct = np.einsum("ckajb,ckj->kjab", C[:, :, :, smap.atom], ph).real / len(qc)
        fft = ew.supercell_constants(smap, p2s, prim)
        assert np.abs(fft - direct).max() < 1e-12 * np.abs(direct).max()


def test_polar_fit_mends_only_round_off_of_the_charge_sum_rule():
    """The charges of a polar fit decide which dipole forces are taken out of the data: an exact rocksalt model whose
    Na charge is given 5 % too large is refused (its correction would fit another crystal: 0.08 THz off), while
    0.5 % (a calculation's round-off) is corrected with a warning and the modes stay within 0.01 THz of the model's."""
    prim = prototype("rocksalt", ("Na", "Cl"), a=5.6)
    sc = prim.supercell(3)
    ref = ForceConstants(np.zeros((sc.n_atoms, sc.n_atoms, 3, 3)), sc)
    Z = np.array([np.eye(3) * 1.1, -np.eye(3) * 1.1])[[0 if s == "Na" else 1 for s in ref.primitive.species]]
    eps, lam = np.eye(3) * 2.4, 1.3
    phi_sr = _springs(sc, 1.5, 0.3)
    dd = dipole_supercell_constants(ref.primitive, ref.smap, ref.p2s, Z, eps, lam)
    phi_dd = ForceConstants(dd, sc, ref.primitive, smap=ref.smap, p2s=ref.p2s).full()
    u = np.random.default_rng(1).normal(scale=0.05, size=(12, sc.n_atoms, 3))
    f = -np.einsum("ijab,tjb->tia", phi_sr + phi_dd, u)
    na = [k for k, s in enumerate(ref.primitive.species) if s == "Na"][0]

    def given(x):
        Zb = Z.copy()
        Zb[na] *= 1 + x
        return EffectiveForceConstants(cutoff2=4.5, folds=1, born=Zb, epsilon=eps, ewald_lambda=lam)
    with pytest.raises(ValueError, match=r"charge-neutrality sum rule.*more than the 1% .*another crystal"):
        given(0.05).fit_arrays(sc, u, f)
    with pytest.warns(UserWarning, match="the mean, up to 0.00275 e per component, was subtracted"):
        est = given(0.005).fit_arrays(sc, u, f)
    model = ForceConstants(phi_sr + phi_dd, sc, ref.primitive, smap=ref.smap, p2s=ref.p2s, born=Z, epsilon=eps)
    q = np.array([[0, 0, 0], [0.1, 0.2, 0.3], [0.5, 0, 0], [0.5, 0.5, 0.5]])
    off = Phonons(est.force_constants_).frequencies(q, q_direction=[1, 0, 0]) - Phonons(model).frequencies(
        q, q_direction=[1, 0, 0])
    assert np.abs(off).max() < 0.01
