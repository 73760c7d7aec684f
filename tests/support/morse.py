"""The Morse pair potential V(d) = D0 (1 - e^{-alpha (d - r0)})^2 - D0, shared by the analytic test oracles."""
import itertools

import numpy as np

from trajmodes import Crystal, ForceConstants


def morse_derivatives(d, D0, alpha, r0):
    """V'(d), V''(d), V'''(d) in eV/A, eV/A^2, eV/A^3."""
    e = np.exp(-alpha * (d - r0))
    return (2 * D0 * alpha * (e - e * e),
            2 * D0 * alpha ** 2 * (2 * e * e - e),
            2 * D0 * alpha ** 3 * (e - 4 * e * e))


def lattice_images(cell, nimg):
    """Cartesian lattice vectors n . cell for n in [-nimg, nimg]^3, shape ((2 nimg + 1)^3, 3)."""
    return np.array(list(itertools.product(range(-nimg, nimg + 1), repeat=3))) @ cell


def pair_terms(r, cutoff, D0, alpha, r0):
    """The pieces every Morse oracle needs from separation vectors ``r`` (..., 3) in A: the mask of pairs
    within (0, cutoff), their lengths (1 where masked, so divisions stay finite), unit vectors, and the
    first three derivatives of V at those lengths."""
    d = np.linalg.norm(r, axis=-1)
    ok = (d > 1e-8) & (d < cutoff)
    dd = np.where(ok, d, 1.0)
    return ok, dd, r / dd[..., None], morse_derivatives(dd, D0, alpha, r0)


def morse_fc(crystal: Crystal, D0=0.3429, alpha=1.3588, r0=2.866, cutoff=7.0, nimg=3) -> np.ndarray:
    """Full (N, N, 3, 3) force constants (eV/A^2) of a Morse pair potential summed over all images.

    The cutoff may exceed half the supercell, so Wigner-Seitz boundary pairs carry constants.
    The acoustic sum rule and permutation symmetry hold by construction.
    """
    pos, A = crystal.positions, crystal.cell
    N = len(pos)
    T = lattice_images(A, nimg)
    r = pos[None, :, None, :] + T[None, None] - pos[:, None, None, :]
    ok, dd, u, (d1, d2, _) = pair_terms(r, cutoff, D0, alpha, r0)
    uu = u[..., :, None] * u[..., None, :]
    K = d2[..., None, None] * uu + (d1 / dd)[..., None, None] * (np.eye(3) - uu)
    K = np.where(ok[..., None, None], K, 0.0).sum(axis=2)
    fc = -K
    fc[np.arange(N), np.arange(N)] += K.sum(axis=1)
    return fc


def pair_fc3(crystal: Crystal, prim: Crystal, D0=0.3429, alpha=1.3588, r0=2.866, cutoff=4.7, nimg=2) -> np.ndarray:
    """Compact (n_prim, N, N, 3, 3, 3) third derivatives (eV/A^3) of a Morse pair potential.

    U = sum over pairs {i, m} (all images within ``cutoff``) of V(|r|), r = x_m + T - x_i. With
    w = u_m - u_i, d3V/dw_a dw_b dw_c = J_abc(r) = (V''' - 3V''/r + 3V'/r^2) rh_a rh_b rh_c
    + (V''/r - V'/r^2) (d_ab rh_c + d_ac rh_b + d_bc rh_a); an index on atom i carries a factor -1,
    one on m a factor +1, so row i gets Psi_iii -= J, Psi_iim = Psi_imi += J, Psi_imm -= J.
    Only two distinct atoms ever meet in one term (a pair potential).
    """
    fc = ForceConstants(np.zeros((prim.n_atoms, crystal.n_atoms, 3, 3)), crystal, prim)
    pos, A, N = crystal.positions, crystal.cell, crystal.n_atoms
    T = lattice_images(A, nimg)
    out = np.zeros((prim.n_atoms, N, N, 3, 3, 3))
    for k, i in enumerate(fc.p2s):                                     # loop over primitive atoms only
        r = pos[:, None, :] + T[None] - pos[i]                         # (N, nT, 3)
        ok, dd, h, (v1, v2, v3) = pair_terms(r, cutoff, D0, alpha, r0)
        I = np.eye(3)
        a = v3 - 3 * v2 / dd + 3 * v1 / dd ** 2
        b = v2 / dd - v1 / dd ** 2
        J = (a[..., None, None, None] * np.einsum("...a,...b,...c->...abc", h, h, h)
             + b[..., None, None, None] * (np.einsum("ab,...c->...abc", I, h) + np.einsum("ac,...b->...abc", I, h)
                                           + np.einsum("bc,...a->...abc", I, h)))
        J = np.where(ok[..., None, None, None], J, 0.0).sum(axis=1)    # (N, 3, 3, 3), per partner m
        m = np.arange(N)
        out[k, i, i] -= J.sum(axis=0)
        out[k, i, m] += J
        out[k, m, i] += J
        out[k, m, m] -= J
    return out


def pair_fc4(crystal: Crystal, prim: Crystal, D0=0.3429, alpha=1.3588, r0=2.866, cutoff=3.0, nimg=1):
    """Fourth derivatives (eV/A^4) of a Morse pair potential as ClusterConstants of order 4 (their quartets, every
    order).

    With s = |w|^2 / 2 and V(|w|) = F(s): d4V/dw_a dw_b dw_c dw_d = F'''' w_a w_b w_c w_d + F''' (the six
    d_ab w_c w_d terms) + F'' (d_ab d_cd + d_ac d_bd + d_ad d_bc), where F'' = V''/r^2 - V'/r^3,
    F''' = V'''/r^3 - 3 V''/r^4 + 3 V'/r^5 and F'''' = V''''/r^4 - 6 V'''/r^5 + 15 V''/r^6 - 15 V'/r^7. An index on atom
    i carries -1, one on its partner m +1: a quartet of the row i is (-1)^(number of i's) J.
    """
    from trajmodes.forceconstants.cluster_constants import ClusterConstants
    fc = ForceConstants(np.zeros((prim.n_atoms, crystal.n_atoms, 3, 3)), crystal, prim)
    pos, A, N = crystal.positions, crystal.cell, crystal.n_atoms
    T = lattice_images(A, nimg)
    I = np.eye(3)
    sites, blocks = [], []
    for k, i in enumerate(fc.p2s):
        r = pos[:, None, :] + T[None] - pos[i]                         # (N, nT, 3)
        ok, d, _, (v1, v2, v3) = pair_terms(r, cutoff, D0, alpha, r0)
        e = np.exp(-alpha * (d - r0))
        v4 = 2 * D0 * alpha ** 4 * (8 * e * e - e)
        f2 = v2 / d ** 2 - v1 / d ** 3
        f3 = v3 / d ** 3 - 3 * v2 / d ** 4 + 3 * v1 / d ** 5
        f4 = v4 / d ** 4 - 6 * v3 / d ** 5 + 15 * v2 / d ** 6 - 15 * v1 / d ** 7
        w = r
        ww = np.einsum("...a,...b->...ab", w, w)
        six = sum(np.einsum(spec, I, ww) for spec in ("ab,...cd->...abcd", "ac,...bd->...abcd", "ad,...bc->...abcd",
                                                       "bc,...ad->...abcd", "bd,...ac->...abcd", "cd,...ab->...abcd"))
        three = (np.einsum("ab,cd->abcd", I, I) + np.einsum("ac,bd->abcd", I, I) + np.einsum("ad,bc->abcd", I, I))
        J = (f4[..., None, None, None, None] * np.einsum("...ab,...cd->...abcd", ww, ww)
             + f3[..., None, None, None, None] * six + f2[..., None, None, None, None] * three)
        J = np.where(ok[..., None, None, None, None], J, 0.0).sum(axis=1)         # (N, 3, 3, 3, 3) per partner m
        partners = np.flatnonzero(np.abs(J).reshape(N, -1).max(axis=1) > 0)
        sites.append([k, i, i, i])
        blocks.append(J.sum(axis=0))
        for m in partners:
            for slots in itertools.product((i, m), repeat=3):
                n_i = 1 + sum(x == i for x in slots)
                if n_i == 4:
                    continue
                sites.append([k, *slots])
                blocks.append((-1) ** n_i * J[m])
    return ClusterConstants(np.array(sites), np.array(blocks), N)
