"""First-order quartic anharmonicity (trajmodes.phonons.anharmonic.quartic), checked by independent routes:

- the covariance summed over the supercell's q-points is the periodic supercell's own, from its Gamma-point modes;
- the renormalised second order 1/2 Chi:<uu> is what a TDEP fit finds on canonical configurations of the harmonic
  crystal with quartic forces added (exact in expectation by Wick's theorem, Monte Carlo here);
- the quartic free energy 1/8 Chi <uu><uu> is the sampled mean of V4;
- quantum and classical agree at high temperature.

The crystal: nearest-neighbour Morse fcc Cu (108 atoms), its analytic fourth derivatives (tests.support.morse).
"""
import numpy as np
import pytest

from tests.support.morse import pair_fc4
from trajmodes.forceconstants.fit import EffectiveForceConstants
from trajmodes.forceconstants.model import ForceConstants
from trajmodes.lattice.cubic import cubic_lattice
from trajmodes.phonons.harmonic.phonons import Phonons
from trajmodes.phonons.anharmonic.quartic import displacement_covariance, loop_shift, quartic_free_energy, quartic_renormalisation
from trajmodes.phonons.thermodynamics.sampling import canonical_configurations, supercell_modes
from trajmodes.phonons.harmonic.statistics import mode_energy
from trajmodes.potentials.pair import Morse

T = 600.0
QPOINTS = [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [1 / 3, 0, 1 / 3]]


@pytest.fixture(scope="module")
def crystal():
    sc, prim = cubic_lattice("fcc", 3.61, 3, ["Cu"], [63.546])
    harmonic = Morse(D0=0.3429, alpha=1.3588, r0=2.866, cutoff=3.0).force_constants(sc, prim, layout="compact")
    fc = ForceConstants(harmonic.fc2, sc, harmonic.primitive, smap=harmonic.smap, p2s=harmonic.p2s,
                        fc4=pair_fc4(sc, prim, cutoff=3.0))
    return sc, fc


@pytest.fixture(scope="module")
def samples(crystal):
    """Canonical configurations of the harmonic crystal at T, with their harmonic plus quartic forces."""
    sc, fc = crystal
    u = canonical_configurations(fc, T, 400, "classical", seed=1).displacements.values
    f = -np.einsum("ijab,tjb->tia", fc.full(), u) + fc.fc4.forces(u, fc.p2s, fc.smap)
    return u, f


@pytest.mark.parametrize("occupation", ["classical", "quantum"])
def test_covariance_on_the_supercell_qpoints_is_the_supercells(crystal, occupation):
    sc, fc = crystal
    N = sc.n_atoms
    modes = supercell_modes(fc)
    ok = ~modes.translations
    energy = np.zeros(3 * N)
    energy[ok] = np.asarray(mode_energy(modes.frequencies[ok], T, occupation)).ravel()
    amp = np.where(ok, energy / np.where(ok, modes.eigenvalues, 1.0), 0.0)
    V = modes.eigenvectors
    w = 1 / np.sqrt(np.repeat(modes.masses, 3))
    ref = ((V * amp) @ V.T * w[:, None] * w[None, :]).reshape(N, 3, N, 3)
    rng = np.random.default_rng(0)
    first, second = np.r_[0, 0, rng.integers(0, N, 30)], np.r_[0, 1, rng.integers(0, N, 30)]
    C = displacement_covariance(fc, T, first, second, None, occupation)
    assert np.abs(C - ref[first, :, second, :]).max() < 1e-12 * np.abs(ref).max()


def test_renormalised_constants_are_what_a_fit_to_sampled_quartic_forces_finds(crystal, samples):
    """A TDEP fit to canonical configurations of the harmonic crystal, with the quartic forces added, finds
    Phi + 1/2 Chi:<uu>; at T = 600 K the correction is 1.9 % of Phi and the fit finds it to 1.5 % of itself."""
    sc, fc = crystal
    u, f = samples
    dphi = quartic_renormalisation(fc, T, None, "classical")
    fit = EffectiveForceConstants(cutoff2=2.6, folds=2, segments=4).fit_arrays(sc, u, f)
    assert np.abs(dphi).max() > 0.015 * np.abs(fc.fc2).max()
    assert np.abs(fit.fc2_ - (fc.fc2 + dphi)).max() < 0.02 * np.abs(dphi).max()
    shifts = loop_shift(fc, QPOINTS, [T], mesh=None, occupation="classical")
    fitted = Phonons(fit.force_constants_).frequencies(QPOINTS)
    moved = shifts.renormalised.values[0] - shifts.frequency.values
    assert moved[1:].min() > 0.05
    assert np.abs(fitted - shifts.renormalised.values[0]).max() < 0.03 * moved.max()
    # first order in Chi: the shift is the change of nu^2 over 2 nu, within a few per cent of the exact change
    first = shifts.quartic_shift.values[0]
    assert np.allclose(first[1:], moved[1:], rtol=0.03)
    assert np.abs(first[0]).max() == 0.0                      # the translations at Gamma


def test_quartic_free_energy_is_the_sampled_mean_quartic_energy(crystal, samples):
    sc, fc = crystal
    u, _ = samples
    v4 = fc.fc4.energy(u, fc.p2s, fc.smap) / sc.n_atoms
    f4 = float(quartic_free_energy(fc, T, None, "classical").values[0])
    assert f4 > 0
    assert abs(f4 - v4.mean()) < 3.5 * v4.std(ddof=1) / np.sqrt(len(v4))


def test_quantum_and_classical_meet_at_high_temperature(crystal):
    _, fc = crystal
    """The quantum covariance exceeds the classical one by (h nu / k_B T)^2 / 12 at high T: the two free energies meet
    as 1/T^2; at low T the zero-point motion dominates."""
    temps = [20.0, 3000.0, 6000.0]
    quantum = quartic_free_energy(fc, temps, None, "quantum").values
    classical = quartic_free_energy(fc, temps, None, "classical").values
    excess = quantum / classical - 1
    assert 0 < excess[1] < 5e-3 and excess[2] == pytest.approx(excess[1] / 4, rel=0.02)
    assert quantum[0] > 50 * classical[0]
    q = loop_shift(fc, QPOINTS[1:], [6000.0], mesh=None, occupation="quantum").quartic_shift.values
    c = loop_shift(fc, QPOINTS[1:], [6000.0], mesh=None, occupation="classical").quartic_shift.values
    assert np.allclose(q, c, rtol=1e-3)


def test_a_mesh_converges_to_the_bulk_covariance(crystal):
    """On Gamma-centred meshes the shift converges (the bulk crystal's covariance), away from the supercell's."""
    _, fc = crystal
    shifts = [loop_shift(fc, [[0.5, 0.5, 0.0]], [T], mesh=m, occupation="classical").quartic_shift.values[0, 0]
              for m in (8, 12, 16)]
    assert np.abs(shifts[2] - shifts[1]).max() < 0.3 * np.abs(shifts[1] - shifts[0]).max() + 1e-6
    assert np.abs(shifts[2] - shifts[1]).max() < 1e-3 * np.abs(shifts[2]).max()


def test_constants_without_a_fourth_order_are_refused(crystal):
    sc, fc = crystal
    bare = ForceConstants(fc.fc2, sc, fc.primitive, smap=fc.smap, p2s=fc.p2s)
    with pytest.raises(ValueError, match="no fourth-order part"):
        loop_shift(bare, QPOINTS, [T])


@pytest.mark.slow
def test_tdep_free_energy_takes_the_quartic_term(crystal, samples):
    """With fc4 the TDEP free energy takes <U_4> out of the baseline and adds F_4ph (TDEP's anharmonic_free_energy
    --fourthorder): quartic_energy is the fit's <1/24 Chi u u u u>, quartic_free_energy that of quartic_free_energy on
    the fitted constants, and the corrected free energy sums the orders; every term has an error bar."""
    from trajmodes.phonons.thermodynamics.free_energy import tdep_free_energy
    sc, fc = crystal
    u, f = samples
    energies = (0.5 * np.einsum("tia,ijab,tjb->t", u, fc.full(), u, optimize=True)
                + fc.fc4.energy(u, fc.p2s, fc.smap) - 3.5 * sc.n_atoms)
    fit = EffectiveForceConstants(cutoff2=2.6, cutoff3=2.6, cutoff4=2.6, folds=2, segments=8).fit_arrays(
        sc, u, f, energies=energies)
    ds = tdep_free_energy(fit, T, mesh=(6, 6, 6), occupation="classical", cubic_mesh=4, cubic_resamples=4)
    n_cells = sc.n_atoms
    assert float(ds.quartic_energy) == pytest.approx(fit.energies_["quartic"] / n_cells, rel=1e-12)
    f4 = float(quartic_free_energy(fit.force_constants_, T, 4, "classical").values[0])
    assert float(ds.quartic_free_energy) == pytest.approx(f4, rel=1e-12) and f4 > 0
    assert float(ds.free_energy_corrected) == pytest.approx(
        float(ds.free_energy) - float(ds.cubic_energy) + float(ds.cubic_free_energy) - float(ds.quartic_energy)
        + f4, rel=1e-12)
    for k in ("quartic_energy", "quartic_free_energy", "quartic_correction", "free_energy_corrected"):
        assert np.isfinite(float(ds[k + "_err"])) and float(ds[k + "_err"]) > 0, k
    assert "F_4ph" in ds.attrs["anharmonic_correction"]


def test_shifts_by_mode_sum_to_the_supercell_loop_shift(crystal):
    """Summed over every mode of the supercell, the shifts caused by single modes are the loop shift of the
    supercell's classical covariance."""
    from trajmodes.phonons.harmonic.degeneracy import degenerate_average
    from trajmodes.phonons.anharmonic.quartic import loop_shift_by_mode
    _, fc = crystal
    S = loop_shift_by_mode(fc, QPOINTS, T)
    ref = loop_shift(fc, QPOINTS, [T], mesh=None, occupation="classical")
    total = degenerate_average(S.sum(axis=(0, 1)), ref["frequency"].values)
    assert np.abs(total - ref["quartic_shift"].values[0]).max() < 1e-12 * np.abs(total).max()


def test_shifts_by_mode_are_those_of_the_supercells_real_modes(crystal):
    """Independent route: the supercell's own real normal modes (Gamma-point eigenvectors of the 108-atom cell), each
    at k_B T, and the quartic forces themselves. For a mode pattern v (amplitude^2 c = k_B T / omega^2) and a target
    pattern x, x.Delta Phi.x = 1/2 c Chi x x v v is minus c times the coefficient of s^2 t in x.F4(s v + t x), read
    exactly off three force evaluations of the cubic polynomial. Summed over the modes of two degenerate sets (a
    quantity that does not depend on the basis chosen within a set), the frequency shifts agree with the q-resolved
    ones of loop_shift_by_mode to 1e-10."""
    from trajmodes.lattice.qpoints import commensurate_qpoints
    from trajmodes.phonons.harmonic.degeneracy import degenerate_labels
    from trajmodes.phonons.anharmonic.quartic import loop_shift_by_mode
    from trajmodes.units import KB_EV, THZ
    sc, fc = crystal
    q = commensurate_qpoints(fc.smap.matrix)
    S = loop_shift_by_mode(fc, q, T).reshape(len(q) * 3, len(q) * 3)        # (source mode, target mode)
    nu_q = Phonons(fc).frequencies(q).reshape(-1)
    modes = supercell_modes(fc)
    nu_r, lam, V = modes.frequencies, modes.eigenvalues, modes.eigenvectors
    w = 1 / np.sqrt(np.repeat(modes.masses, 3))
    lab_q = degenerate_labels(nu_q[None], 1e-6)[0]
    lab_r = degenerate_labels(nu_r[None], 1e-6)[0]
    sizes = np.bincount(lab_r)
    small = [g for g in range(1, lab_r.max() + 1) if sizes[g] <= 8]            # the translations are set 0
    checked = 0
    for source, target in [(small[0], small[-1]), (small[-1], small[0]), (small[len(small) // 2], small[1])]:
        ks, ts = np.flatnonzero(lab_r == source), np.flatnonzero(lab_r == target)
        v = (V[:, ks] * w[:, None]).T.reshape(len(ks), 1, -1, 3)
        x = (V[:, ts] * w[:, None]).T.reshape(1, len(ts), -1, 3)
        v, x = np.broadcast_arrays(v, x)

        def P(s, t):
            u = (s * v + t * x).reshape(-1, sc.n_atoms, 3)
            return np.einsum("fia,fia->f", x.reshape(-1, sc.n_atoms, 3), fc.fc4.forces(u, fc.p2s, fc.smap))
        B = (P(1, 1) - P(1, -1)) / 2 - P(0, 1)
        c = np.repeat(KB_EV * T / lam[ks], len(ts))
        dnu2 = -(c * B) * THZ ** 2
        brute = (dnu2 / (2 * np.tile(nu_r[ts], len(ks)))).sum()
        i = np.flatnonzero(lab_q == lab_q[np.argmin(np.abs(nu_q - nu_r[ks[0]]))])
        j = np.flatnonzero(lab_q == lab_q[np.argmin(np.abs(nu_q - nu_r[ts[0]]))])
        assert len(i) == len(ks) and len(j) == len(ts)
        ours = S[np.ix_(i, j)].sum()
        assert abs(ours - brute) < 1e-10 * max(abs(brute), 1e-3), (source, target, ours, brute)
        checked += abs(brute) > 1e-5
    assert checked >= 2


def test_partition_error_weighs_the_modes_by_their_frozen_fraction(crystal):
    """partition_err is sqrt(sum_k f_k (S_k - mean S)^2) of the single-mode shifts S_k: zero when no mode kept its
    energy, a quarter of the variance when each kept a quarter, and blind to a shift common to every mode (a change
    of temperature, whose error is counted apart)."""
    import xarray as xr
    from trajmodes.lattice.qpoints import commensurate_qpoints
    from trajmodes.phonons.harmonic.degeneracy import degenerate_average
    from trajmodes.phonons.anharmonic.quartic import loop_shift_by_mode
    from trajmodes.phonons.thermodynamics.uncertainty import partition_err
    _, fc = crystal
    q = commensurate_qpoints(fc.smap.matrix)
    nu = Phonons(fc).frequencies(q)

    def frozen(f):
        return xr.Dataset({"frozen_fraction": (("q", "branch"), np.where(np.abs(nu) < 1e-3, 0.0, f))},
                          coords={"qpoint": (("q", "reduced"), q), "frequency_harmonic": (("q", "branch"), nu)},
                          attrs={"temperature": T})
    full = partition_err(fc, frozen(1.0), QPOINTS)
    S = loop_shift_by_mode(fc, QPOINTS, T).reshape(-1, len(QPOINTS), 3)[np.abs(nu).reshape(-1) >= 1e-3]
    ref = np.sqrt(degenerate_average(((S - S.mean(0)) ** 2).sum(0), Phonons(fc).frequencies(QPOINTS)))
    assert np.allclose(full, ref, rtol=1e-12, atol=0) and full[1:].min() > 1e-4
    assert np.allclose(partition_err(fc, frozen(0.25), QPOINTS), full / 2, rtol=1e-12)
    assert np.all(partition_err(fc, frozen(0.0), QPOINTS) == 0.0)
    with pytest.raises(ValueError, match="frozen fractions hold"):
        partition_err(fc, frozen(1.0).isel(q=slice(0, 10)), QPOINTS)
