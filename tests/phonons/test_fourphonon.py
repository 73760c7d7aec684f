"""Four-phonon widths (trajmodes.phonons.anharmonic.fourphonon) against an independent route: Fermi's golden rule over the normal
modes of the supercell itself, in real space (no Fourier transform, no q-conservation: the supercell taken as one
large molecule, its vertices summed atom by atom). On the q-points commensurate with the supercell the two are the
same sum. The same brute-force code with three legs reproduces trajmodes' three-phonon widths (which match phono3py,
tests/phonons/test_phono3py_options.py), so the golden-rule machinery it shares with four legs, the counting
n^2 (n - 1)! of the vertex and the occupation factors of each sign pattern, is checked where an established code
agrees.

Crystal: nearest-neighbour Morse fcc Cu, 3 x 3 x 3 primitive cells (27 atoms), its analytic third and fourth
derivatives (tests.support.morse).
"""
import itertools
import math

import numpy as np
import pytest

from tests.support.morse import pair_fc3, pair_fc4
from trajmodes.forceconstants.design import partner_indices
from trajmodes.forceconstants.model import ForceConstants
from trajmodes.lattice.cubic import cubic_lattice
from trajmodes.phonons.anharmonic.fourphonon import FourPhonon
from trajmodes.phonons.thermodynamics.sampling import supercell_modes
from trajmodes.phonons.harmonic.statistics import occupations
from trajmodes.potentials.pair import Morse
from trajmodes.phonons.anharmonic.interaction import HBAR_EV_PS as HBAR
from trajmodes.units import AMU_A2_PS2_EV

SIGMA = 0.4                      # THz: the Gaussian of the delta functions, wide enough for a 27-point grid
T = 600.0


@pytest.fixture(scope="module")
def crystal():
    prim = cubic_lattice("fcc", 3.61, 1, ["Cu"], [63.546])[1]
    sc = prim.supercell(3 * np.eye(3, dtype=int))                      # 27 atoms: 3 x 3 x 3 primitive cells
    harmonic = Morse(D0=0.3429, alpha=1.3588, r0=2.866, cutoff=3.0).force_constants(sc, prim, layout="compact")
    fc = ForceConstants(harmonic.fc2, sc, harmonic.primitive, smap=harmonic.smap, p2s=harmonic.p2s,
                        fc3=pair_fc3(sc, harmonic.primitive, cutoff=3.0, nimg=1), fc4=pair_fc4(sc, prim, cutoff=3.0))
    return sc, fc


def _entries(fc, order):
    """The supercell's order-n constants over every atom i (the compact rows translated): atoms (n_e, n) and blocks
    (n_e, 3, ..., 3)."""
    if order == 3:
        k_, j_, l_ = np.nonzero(np.abs(fc.fc3).reshape(fc.n_prim, fc.n_atoms, fc.n_atoms, -1).max(axis=-1) > 0)
        sites, blocks = np.stack([k_, j_, l_], axis=1), fc.fc3[k_, j_, l_]
    else:
        sites, blocks = fc.fc4.sites, fc.fc4.blocks
    atoms, out = [], []
    for k in range(fc.n_prim):
        sel = sites[:, 0] == k
        rows = np.flatnonzero(fc.smap.atom == k)
        cols = [partner_indices(fc.smap, fc.p2s, k, sites[sel, c], rows) for c in range(1, order)]   # (e, i)
        for c, i in enumerate(rows):
            atoms.append(np.stack([np.full(sel.sum(), i)] + [col[:, c] for col in cols], axis=1))
            out.append(blocks[sel])
    return np.concatenate(atoms), np.concatenate(out)


def _brute_gamma(fc, order, temperature, sigma, occupation="quantum"):
    """Gamma (THz) of every supercell mode by the golden rule over the supercell's own modes (module docstring)."""
    modes = supercell_modes(fc)
    keep = ~modes.translations
    nu = modes.frequencies[keep]
    w = 1 / np.sqrt(np.repeat(modes.masses, 3))
    A = (modes.eigenvectors[:, keep] * w[:, None]).T / np.sqrt(2 * np.pi * nu)[:, None]    # (M, 3N), amu^-1/2 ps^1/2
    M, N3 = A.shape
    atoms, blocks = _entries(fc, order)
    comps = np.array(list(itertools.product(range(3), repeat=order - 1)))                   # the other legs' b, c, ...
    flat = np.zeros((len(atoms), len(comps)), dtype=np.int64)
    for leg in range(1, order):
        flat = flat * N3 + 3 * atoms[:, leg][:, None] + comps[None, :, leg - 1]
    scale = (HBAR / 2) ** (order / 2) / math.factorial(order) / AMU_A2_PS2_EV ** (order / 2)
    n = occupations(nu, [temperature], occupation)[0]
    gauss = lambda x: np.exp(-0.5 * (x / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))   # noqa: E731
    others = order - 1
    grids = np.meshgrid(*([nu] * others), indexing="ij")
    occ = np.meshgrid(*([n] * others), indexing="ij")
    patterns = []
    for signs in itertools.product((1, -1), repeat=others):
        if all(s < 0 for s in signs):
            continue
        total = sum(s * g for s, g in zip(signs, grids))
        if occupation == "classical":                        # the terms of the highest order in n that survive
            wgt = sum(np.prod([occ[i] for i in c], axis=0) * np.prod([signs[j] for j in range(others) if j not in c])
                      for c in itertools.combinations(range(others), others - 1))
        else:
            wgt = np.prod([1 + o if s > 0 else o for o, s in zip(occ, signs)], axis=0) \
                - np.prod([o if s > 0 else 1 + o for o, s in zip(occ, signs)], axis=0)
        patterns.append((total, wgt))
    out = np.zeros(M)
    for a in range(M):
        first = np.einsum("ea...,ea->e...", blocks, A[a].reshape(-1, 3)[atoms[:, 0]]).reshape(len(atoms), -1)
        V = np.bincount(flat.ravel(), weights=first.ravel(), minlength=N3 ** others).reshape((N3,) * others)
        for _ in range(others):
            V = np.tensordot(V, A, axes=([0], [1]))          # each contraction moves a mode axis to the back
        V2 = (V * scale) ** 2
        out[a] = sum(np.sum(V2 * wgt * gauss(nu[a] - total)) for total, wgt in patterns)
    factor = order ** 2 * math.factorial(order - 1) * np.pi / HBAR ** 2 / (2 * np.pi) ** 2
    return nu, factor * out


def _by_frequency(nu, gamma, tol=1e-6):
    """Mean Gamma over the modes of each distinct frequency (degenerate sets: the basis inside is arbitrary)."""
    order = np.argsort(nu)
    nu, gamma = nu[order], gamma[order]
    labels = np.concatenate([[0], np.cumsum(np.diff(nu) > tol)])
    return np.array([nu[labels == g].mean() for g in np.unique(labels)]), \
        np.array([gamma[labels == g].mean() for g in np.unique(labels)])


def test_three_legs_brute_force_is_trajmodes_three_phonon(crystal):
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    sc, fc = crystal
    nu_b, g_b = _by_frequency(*_brute_gamma(fc, 3, T, SIGMA))
    an = Anharmonic(fc, fc.smap.matrix, [T], smearing=SIGMA)
    ds = an.linewidths(np.arange(an.grid.n_points))
    f = an.frequencies.ravel()
    live = f > 1e-3
    nu_q, g_q = _by_frequency(f[live], ds.gamma.values[0].ravel()[live])
    assert np.allclose(nu_q, nu_b, atol=1e-6) and g_b.max() > 0.01
    assert np.abs(g_q - g_b).max() < 1e-8 * g_b.max()


@pytest.mark.slow
@pytest.mark.parametrize("occupation", ["quantum", "classical"])
def test_four_phonon_widths_are_the_golden_rule_over_the_supercell_modes(crystal, occupation):
    sc, fc = crystal
    nu_b, g_b = _by_frequency(*_brute_gamma(fc, 4, T, SIGMA, occupation))
    fp = FourPhonon(fc, fc.smap.matrix)
    g = fp.gamma(np.arange(fp.grid.n_points), [T], SIGMA, occupation)[0]
    f = fp.frequencies.ravel()
    live = f > 1e-3
    nu_q, g_q = _by_frequency(f[live], g.ravel()[live])
    assert np.allclose(nu_q, nu_b, atol=1e-6) and g_b.max() > 1e-4
    assert np.abs(g_q - g_b).max() < 1e-8 * g_b.max()


def test_classical_four_phonon_widths_grow_as_the_square_of_temperature(crystal):
    sc, fc = crystal
    fp = FourPhonon(fc, 4)
    g = fp.gamma([1, 2], [300.0, 600.0], SIGMA, "classical")
    assert np.allclose(g[1], 4 * g[0], rtol=1e-12) and g.max() > 0
    quantum = fp.gamma([1, 2], [6000.0], SIGMA, "quantum")[0]
    assert np.allclose(quantum, 400 * g[0], rtol=0.05)                # the classical limit at high T


@pytest.mark.slow
def test_linewidths_and_conductivity_with_four_phonon_scattering(crystal):
    """Anharmonic.linewidths(four_phonon=sigma) adds the four-phonon widths (reported apart) to the three-phonon
    ones, and the conductivity from those widths is lower than from the three-phonon ones alone. At 600 K the
    four-phonon Gamma of the modes above 0.5 THz are 0.002-0.007 THz, the three-phonon ones up to 0.18 THz."""
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    sc, fc = crystal
    an = Anharmonic(fc, 4, [T], smearing=SIGMA)
    three = an.linewidths()
    both = an.linewidths(four_phonon=SIGMA)
    four = FourPhonon(fc, 4).gamma(both.grid_point.values, [T], SIGMA)
    from trajmodes.phonons.harmonic.degeneracy import degenerate_average
    four = degenerate_average(four, an.frequencies[both.grid_point.values])
    assert np.allclose(both.gamma_four_phonon.values, four, rtol=1e-12, atol=0)
    assert np.allclose(both.gamma.values, three.gamma.values + four, rtol=1e-12, atol=0)
    moving = an.frequencies[both.grid_point.values] > 0.5
    g3, g4 = three.gamma.values[0][moving], both.gamma_four_phonon.values[0][moving]
    assert 0.0015 < g4.min() and g4.max() < 0.008                   # measured 0.0020-0.0070 THz (docs/quartic.md)
    assert g3.max() > 0.15 and g4.max() < 0.05 * g3.max()           # measured three-phonon 0.0025-0.178 THz
    k3 = an.thermal_conductivity(linewidths=three).kappa.values[0, 0, 0]
    k34 = an.thermal_conductivity(linewidths=both).kappa.values[0, 0, 0]
    assert 0.5 * k3 < k34 < 0.99 * k3


@pytest.mark.slow
def test_four_phonon_scattering_in_is_each_term_of_the_width_on_its_other_modes(crystal):
    """FourPhonon.collision: its Gamma is gamma()'s; the entries of the row, each divided by the occupation ratio
    sqrt(n(n+1)) / sqrt(n'(n'+1)) (classically n / n'), sum to three times Gamma (every term of Gamma's sum couples
    the mode to its three other phonons); a sample as fine as the mesh gives the full row. Detailed balance, which no
    row is built to satisfy (each row sums over its own mode's processes): the matrix of every point's row is
    symmetric but for the energy the Gaussian delta functions do not conserve, the asymmetry falling as the width
    squared. Measured (|M - M^T| / |M|, 3^3 mesh, 300 K): 0.0087 at 0.2 THz, 0.0015 at 0.1 THz (quantum); 0.0079,
    0.0014 (classical)."""
    from trajmodes.phonons.harmonic.statistics import pair_occupations
    sc, fc = crystal
    fp = FourPhonon(fc, 3)
    N = fp.grid.n_points
    for occupation in ("quantum", "classical"):
        asym = []
        for sigma in (0.2, 0.1):
            rows = []
            for q in range(N):
                found = fp.collision(q, [300.0], sigma, occupation)
                gamma, row = found.gamma, found.row
                rows.append(row[0])
                if q in (1, 5) and sigma == 0.2:
                    np.testing.assert_allclose(gamma, fp.gamma(q, [300.0], sigma, occupation)[:, 0], rtol=1e-12,
                                               atol=1e-16)
                    p = pair_occupations(fp.frequencies, [300.0], occupation, fp.cutoff_frequency)[0]
                    back = row[0] * np.where(p > 0, p, 0.0)[None] / p[q][:, None, None]
                    np.testing.assert_allclose(back.sum(axis=(1, 2)), 3 * gamma[0], rtol=1e-12)
                    same = fp.collision(q, [300.0], sigma, occupation, sample=(3, 3, 3), seed=1)
                    np.testing.assert_allclose(same.row, row, rtol=1e-12, atol=1e-14 * row.max())
            M = np.reshape(rows, (3 * N, 3 * N))
            asym.append(np.linalg.norm(M - M.T) / np.linalg.norm(M))
        assert asym[1] < 0.003 and asym[1] < asym[0] / 3, asym


@pytest.mark.slow
def test_four_phonon_scattering_in_the_collision_matrix(crystal):
    """method="lbte" with four_phonon=sigma: the four-phonon widths on the diagonal of the collision matrix are those
    of linewidths(four_phonon=), the RTA alongside is the RTA from those widths, the scattering-in of the other three
    phonons of every process lies off it, and the reducible and irreducible forms agree. Measured (kappa_xx, W/mK):
    RTA 20.08 < four-phonon Gamma on the diagonal only 20.15 < with its scattering-in 21.15 < three-phonon LBTE
    35.27."""
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    sc, fc = crystal
    an = Anharmonic(fc, 4, [T], smearing=SIGMA)
    lw = an.linewidths(four_phonon=SIGMA)
    rta = an.thermal_conductivity(linewidths=lw).kappa.values
    both = an.thermal_conductivity(method="lbte", four_phonon=SIGMA)
    three = an.thermal_conductivity(method="lbte")
    np.testing.assert_allclose(both.gamma_four_phonon.values, lw.gamma_four_phonon.values, rtol=1e-12, atol=0)
    np.testing.assert_allclose(both.gamma.values, lw.gamma.values, rtol=1e-10, atol=0)
    np.testing.assert_allclose(both.kappa_rta.values, rta, rtol=1e-10, atol=0)
    cm = an.lbte_conductivity(four_phonon=SIGMA)
    np.testing.assert_allclose(cm.kappa, both.kappa.values, rtol=1e-12, atol=0)
    red = an.thermal_conductivity(method="lbte", four_phonon=SIGMA, reducible=True).kappa.values
    np.testing.assert_allclose(red, both.kappa.values, rtol=1e-8, atol=1e-10)
    diagonal = an.lbte_conductivity(four_phonon=SIGMA, four_phonon_scattering_in=False)
    np.testing.assert_allclose(diagonal.gamma, cm.gamma, rtol=1e-12, atol=0)
    k_diag, k34, k3 = diagonal.kappa[0, 0, 0], both.kappa.values[0, 0, 0], three.kappa.values[0, 0, 0]
    assert rta[0, 0, 0] < k_diag < 0.97 * k34 and k34 < 0.99 * k3
    with pytest.raises(ValueError, match="linewidths=an.linewidths"):
        an.thermal_conductivity(four_phonon=SIGMA)


def test_adaptive_four_phonon_widths(crystal):
    """four_phonon="adaptive" takes the adaptive variances of the three-phonon smearing, four modes' summed: with every
    mode given SIGMA^2 / 4 the widths are those of the fixed Gaussian SIGMA; with the velocities' own variances they
    are finite and positive; a width in THz with adaptive three-phonon smearing, or "adaptive" without it, is
    accepted, respectively refused."""
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    sc, fc = crystal
    an = Anharmonic(fc, 3, [T], smearing="adaptive")
    own = an.linewidths(four_phonon="adaptive")
    moving = an.frequencies[own.grid_point.values] > 0.5
    assert (own.gamma_four_phonon.values[0][moving] > 0).all()
    assert own.gamma_four_phonon.attrs["smearing"] == "adaptive"
    an.deltas.variances = np.full_like(an.deltas.variances, SIGMA ** 2 / 4)
    gps = own.grid_point.values
    fixed = FourPhonon(fc, 3).gamma(gps, [T], SIGMA)
    adaptive = FourPhonon(fc, 3).gamma(gps, [T], None, variances=an.deltas.variances)
    np.testing.assert_allclose(adaptive, fixed, rtol=1e-12, atol=0)
    assert an.linewidths(four_phonon=SIGMA).gamma_four_phonon.attrs["smearing"] == SIGMA
    with pytest.raises(ValueError, match="four_phonon must be a width in THz, or 'adaptive'"):
        Anharmonic(fc, 3, [T], smearing=SIGMA).linewidths(four_phonon="adaptive")


def test_monte_carlo_sampling_of_the_four_phonon_sums(crystal):
    """A stratified sample as fine as the mesh is the mesh (the same sum in another order); coarser samples are
    unbiased (their mean over seeds approaches the full sum as the number of draws grows), reproducible for a seed
    whichever points are computed, and every sampled point lies in its own cell."""
    sc, fc = crystal
    fp = FourPhonon(fc, 4)
    gps = np.array([1, 5])
    full = fp.gamma(gps, [T], SIGMA)
    same = fp.gamma(gps, [T], SIGMA, sample=(4, 4, 4), seed=3)
    np.testing.assert_allclose(same, full, rtol=1e-12, atol=0)
    one = fp.gamma(gps, [T], SIGMA, sample=(2, 2, 2), seed=7)
    np.testing.assert_array_equal(fp.gamma(gps[1:], [T], SIGMA, sample=(2, 2, 2), seed=7), one[:, 1:])
    draws = np.array([fp.gamma(gps, [T], SIGMA, sample=(2, 2, 2), seed=s)[0] for s in range(12)])
    live = full[0] > 1e-4 * full.max()
    spread = draws.std(axis=0)[live] / full[0][live]
    bias = np.abs(draws.mean(axis=0)[live] / full[0][live] - 1)
    assert spread.max() > 1e-3                                 # a sample of 8 of 64 points does not see everything
    assert (bias < 4 * spread / np.sqrt(len(draws)) + 1e-12).all()   # the mean within 4 standard errors
    pts = fp.sample((2, 2, 2), np.random.default_rng(0))
    cells = fp.grid.addresses[pts] // 2                        # 4 / 2 = 2 points per cell and axis
    assert sorted(map(tuple, cells)) == sorted(itertools.product(range(2), repeat=3))
    with pytest.raises(ValueError, match="sample must be three positive integers"):
        fp.gamma(gps, [T], SIGMA, sample=(2, 2))


def test_four_phonon_sums_take_the_three_phonon_sums(crystal):
    """The four-phonon worker takes the lower-level objects, not the Anharmonic facade: fc4 and the three-phonon sums
    (ThreePhononSums: mesh, phonons, cutoff, temperatures, occupation, delta functions, degeneracy). So fc4 may come
    with other constants of the same crystal than those of the three-phonon sums (here: sums of constants without fc4),
    and the widths are bit for bit those the facade reports and those of FourPhonon itself."""
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    from trajmodes.phonons.anharmonic.fourphonon import four_phonon_gamma, four_phonon_sums
    from trajmodes.phonons.harmonic.degeneracy import degenerate_average
    sc, fc = crystal
    no_fc4 = ForceConstants(fc.fc2, sc, fc.primitive, smap=fc.smap, p2s=fc.p2s, fc3=fc.fc3)
    three = Anharmonic(no_fc4, 3, [T], smearing=SIGMA).three_phonon_sums()
    an = Anharmonic(fc, 3, [T], smearing=SIGMA)
    gps = an.grid.irreducible
    worker = four_phonon_gamma(fc, three, gps, SIGMA)
    np.testing.assert_array_equal(worker, an.linewidths(four_phonon=SIGMA).gamma_four_phonon.values)
    np.testing.assert_array_equal(worker, an.four_phonon_gamma(gps, SIGMA))
    own = degenerate_average(FourPhonon(fc, 3).gamma(gps, [T], SIGMA), an.frequencies[gps])
    np.testing.assert_array_equal(worker, own)
    sums = four_phonon_sums(fc, three, SIGMA)
    assert sums.calculator.phonons is three.interaction.phonons and sums.keywords["smearing"] == SIGMA
    np.testing.assert_array_equal(sums.calculator.grid.mesh, three.grid.mesh)
    with pytest.raises(ValueError, match="four_phonon must be a width in THz, or 'adaptive'"):
        four_phonon_sums(fc, three, "adaptive")                    # the three-phonon deltas are not adaptive
