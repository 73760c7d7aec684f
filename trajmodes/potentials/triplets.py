"""The triplets of three-body potentials and their geometry: every triplet (vertex i, neighbours j and k) of a
periodic crystal within a cutoff (:func:`triplets`), and the coordinates z = (r1, r2, cos theta) of its two bond
vectors d1 = x_1 - x_0, d2 = x_2 - x_0 with their derivatives to third order (:func:`triplet_coordinates`; M. B.
Taylor, N. L. Allan, J. A. O. Bruno and G. D. Barrera, Phys. Rev. B 59, 353 (1999), eqs. 46-51), through which a
form zeta(r1, r2, cos theta) gets its derivatives in (d1, d2) (:func:`zeta_derivatives`, the chain rule of
:func:`trajmodes.potentials.jets.compose`); and (theta - theta0)^2 with its derivatives in cos theta
(:func:`angle_square`), for the forms in theta. The forms are :mod:`trajmodes.potentials.threebody`.
"""
from __future__ import annotations

import itertools
from math import comb
from typing import Callable, Sequence

import numpy as np

from trajmodes.lattice.geometry import pairs_within
from trajmodes.potentials.jets import Jet, compose, distance
from trajmodes.potentials.terms import Terms

__all__ = ["triplet_coordinates", "zeta_derivatives", "triplets", "angle_square"]


def _embed(jet: Jet, slot: int, nslots: int = 2) -> Jet:
    """A jet over the 3 components of one vector, as a jet over the 3 * nslots components of all vectors."""
    k = 3 * nslots
    s = slice(3 * slot, 3 * slot + 3)
    n = len(jet.value)
    out = [jet.value]
    for q, p in enumerate(jet.parts()[1:], start=1):
        full = np.zeros((n,) + (k,) * q)
        full[(slice(None),) + (s,) * q] = p
        out.append(full)
    return Jet(*out)


def _cosine(d1: np.ndarray, d2: np.ndarray, order: int) -> Jet:
    """cos theta = e1.e2 (e_l = d_l / r_l) and its derivatives in the six coordinates (d1, d2), block by block.

    With P_l = 1 - e_l e_l and A_l = (e_m - c e_l)/r_l (m the other bond; Taylor et al. 1999, eq. 47), each line
    from the one before by de_l/dd_l = P_l/r_l, dr_l/dd_l = e_l, dc/dd_l = A_l::

        dc/dd_l = A_l
        H_ll = d2c/dd_l dd_l = -(e_l A_l + A_l e_l)/r_l - c P_l/r_l^2
        H_lm = d2c/dd_l dd_m = (P_m/r_m - e_l A_m)/r_l                                    (eq. 51)
        d3c/dd_l dd_l dd_l [abc] = -(P_ac A_b + A_a P_bc)/r^2 - (e_a H_bc + H_ac e_b)/r + (e_a A_b + A_a e_b) e_c/r^2
                                   - P_ab A_c/r^2 + c (P_ac e_b + e_a P_bc + 2 P_ab e_c)/r^3     (all of bond l)
        d3c/dd_l dd_l dd_m [abc] = -(e_la H_lm,bc + H_lm,ac e_lb)/r_l - P_l,ab A_mc/r_l^2

    the other mixed blocks being permutations of the last (third derivatives are symmetric).
    """
    n = len(d1)
    r = [np.sqrt(np.einsum("na,na->n", d, d)) for d in (d1, d2)]
    e = [d / rr[:, None] for d, rr in zip((d1, d2), r)]
    c = np.einsum("na,na->n", e[0], e[1])
    parts = [c]
    if order >= 1:
        A = [(e[1 - l] - c[:, None] * e[l]) / r[l][:, None] for l in (0, 1)]
        parts.append(np.concatenate(A, axis=1))
    if order >= 2:
        P = [np.eye(3) - np.einsum("na,nb->nab", el, el) for el in e]
        inv = [1.0 / rr[:, None, None] for rr in r]
        H = {}
        for l in (0, 1):
            m = 1 - l
            eA = np.einsum("na,nb->nab", e[l], A[l])
            H[l, l] = -(eA + eA.transpose(0, 2, 1)) * inv[l] - c[:, None, None] * P[l] * inv[l] ** 2
            H[l, m] = (P[m] * inv[m] - np.einsum("na,nb->nab", e[l], A[m])) * inv[l]
        hess = np.empty((n, 6, 6))
        for l, m in itertools.product((0, 1), repeat=2):
            hess[:, 3 * l:3 * l + 3, 3 * m:3 * m + 3] = H[l, m]
        parts.append(hess)
    if order >= 3:
        third = np.empty((n, 6, 6, 6))
        cc = c[:, None, None, None]
        for l in (0, 1):
            m = 1 - l
            el, Al, Pl, i1 = e[l], A[l], P[l], inv[l][..., None]
            swap = (0, 2, 1, 3)                                             # a <-> b
            PA = np.einsum("nac,nb->nabc", Pl, Al)                          # P_ac A_b
            eH = np.einsum("na,nbc->nabc", el, H[l, l])                     # e_a H_bc
            eAe = np.einsum("na,nb,nc->nabc", el, Al, el)                   # e_a A_b e_c
            Pe = np.einsum("nac,nb->nabc", Pl, el)                          # P_ac e_b
            lll = (-(PA + PA.transpose(swap)) * i1 ** 2 - (eH + eH.transpose(swap)) * i1
                   + (eAe + eAe.transpose(swap)) * i1 ** 2 - np.einsum("nab,nc->nabc", Pl, Al) * i1 ** 2
                   + cc * (Pe + Pe.transpose(swap) + 2.0 * np.einsum("nab,nc->nabc", Pl, el)) * i1 ** 3)
            eH = np.einsum("na,nbc->nabc", el, H[l, m])                     # e_la H_lm,bc
            llm = -(eH + eH.transpose(swap)) * i1 - np.einsum("nab,nc->nabc", Pl, A[m]) * i1 ** 2
            L, M = slice(3 * l, 3 * l + 3), slice(3 * m, 3 * m + 3)
            third[:, L, L, L] = lll
            third[:, L, L, M] = llm
            third[:, L, M, L] = llm.transpose(0, 1, 3, 2)
            third[:, M, L, L] = llm.transpose(0, 3, 1, 2)
        parts.append(third)
    return Jet(*parts)


def triplet_coordinates(d1, d2, order: int = 3) -> list[Jet]:
    """z = (r1, r2, cos theta) of triplets with bond vectors d1, d2 (n, 3) (Å) from the vertex, as jets over the six
    coordinates (d1, d2) (flattened: vector l, Cartesian a -> 3 l + a), up to ``order``.

    r_l = |d_l| (:func:`trajmodes.potentials.jets.distance`: e, (1 - e e)/r, ...), cos theta by :func:`_cosine`. These are the geometric
    derivatives dz/dd, d2z/dd2, d3z/dd3 of Taylor et al. 1999 (eqs. 46-51), in Cartesian form and to third order.
    """
    d1 = np.asarray(d1, dtype=float)
    d2 = np.asarray(d2, dtype=float)
    return [_embed(distance(d1, order), 0), _embed(distance(d2, order), 1), _cosine(d1, d2, order)]


def zeta_derivatives(zeta: Callable[[Jet, Jet, Jet], Jet], d1, d2, order: int = 3) -> Jet:
    """Value and derivatives in (d1, d2) of a three-body term zeta(r1, r2, cos theta).

    Parameters
    ----------
    zeta : callable
        ``zeta(r1, r2, c)`` evaluated on jets of the three variables (over those 3 variables): returns the jet of
        zeta, i.e. its Z functions (Taylor et al. 1999, eq. 19). Parameters may be per-triplet arrays (n,).
    d1, d2 : ndarray, shape (n, 3)
        Bond vectors from the vertex, Å.
    order : int
        Highest derivative wanted (0..3).

    Returns
    -------
    Jet over the six coordinates (d1, d2): value (n,) eV, gradient (n, 6) eV/Å, Hessian (n, 6, 6) eV/Å², third
    derivatives (n, 6, 6, 6) eV/Å³.
    """
    z = triplet_coordinates(d1, d2, order)
    return compose(zeta(*Jet.variables(np.stack([q.value for q in z], axis=1), order)), z)


def angle_square(c: np.ndarray, theta0: float, order: int) -> list[np.ndarray]:
    """g(c) = (arccos c - theta0)^2 and its first ``order`` derivatives in c (theta0 in radians).

    Away from |c| = 1: Taylor et al. 1999, eqs. 61-63 (per unit prefactor): g' = -2 (theta - theta0)/sin theta,
    g'' = (2 + c g')/sin^2 theta, g''' = (g' + 3 c g'')/sin^2 theta. When theta0 is 0 or pi, g is analytic in c at
    the collinear end: g = sum_n 2^(n+1) t^n / (n^2 C(2n, n)), t = 1 -+ c, used for t < 0.1. A collinear triplet
    with any other theta0 is a cusp of the energy: ValueError.
    """
    c = np.asarray(c, dtype=float)
    theta = np.arccos(np.clip(c, -1.0, 1.0))
    out = [(theta - theta0) ** 2]
    end = -1.0 if abs(theta0 - np.pi) < 1e-12 else 1.0 if abs(theta0) < 1e-12 else 0.0
    cusp = (1.0 - np.abs(c) < 1e-10) & (c * end <= 0)      # collinear, and not at the smooth end
    if cusp.any():
        raise ValueError(f"{int(cusp.sum())} collinear triplet(s) (theta = 0 or 180 deg): a term in "
                         f"(theta - theta0)^2 with theta0 = {np.degrees(theta0):.6g} deg has a cusp there, its "
                         "derivatives do not exist; use a form in cos theta (e.g. Stillinger-Weber) for such bonds")
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        s2 = 1.0 - c * c
        g1 = -2.0 * (theta - theta0) / np.sqrt(s2)
        g2 = (2.0 + c * g1) / s2
        g3 = (g1 + 3.0 * c * g2) / s2
    if end != 0.0:
        t = 1.0 - end * c                                  # distance from the smooth end, >= 0
        near = t < 0.1
        if near.any():
            tn = t[near]
            ser = np.zeros((4, len(tn)))
            for n in range(1, 25):
                a = 2.0 ** (n + 1) / (n * n * comb(2 * n, n))
                for q in range(4):
                    if n >= q:
                        ser[q] += a * np.prod(np.arange(n - q + 1, n + 1)) * tn ** (n - q)
            sign = -end                                    # dt/dc = -end: d^q g/dc^q = (-end)^q d^q g/dt^q
            out[0][near] = ser[0]
            g1[near], g2[near], g3[near] = sign * ser[1], ser[2], sign * ser[3]
    return out + [g1, g2, g3][:order]



def species_index(species, elements: Sequence[str], what: str) -> np.ndarray:
    lookup = {e: a for a, e in enumerate(elements)}
    missing = sorted({str(s) for s in species} - set(lookup))
    if missing:
        raise ValueError(f"species {', '.join(missing)} not in the {what} (it has {', '.join(elements)})")
    return np.array([lookup[str(s)] for s in species], dtype=int)


def neighbours(crystal, cutsq, species=None):
    """Ordered neighbour pairs (i, j, d, n) with |d|^2 < cutsq (a scalar, or (S, S) by species of i and j, Å²)."""
    cutsq = np.asarray(cutsq, dtype=float)
    rmax = float(np.sqrt(cutsq.max()))
    if rmax <= 0:
        z = np.zeros(0, dtype=int)
        return z, z, np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    i, j, d, n = pairs_within(crystal.cell, crystal.positions, rmax * (1 + 1e-12), return_cells=True)
    r2 = np.einsum("na,na->n", d, d)
    ok = r2 < (cutsq if cutsq.ndim == 0 else cutsq[species[i], species[j]])
    return i[ok], j[ok], d[ok], n[ok]


def triplets_from_pairs(i, j, d, n, n_atoms: int) -> Terms:
    """All unordered pairs of neighbours {(j, n_j), (k, n_k)} of every vertex i, from its ordered pairs."""
    order = np.argsort(i, kind="stable")
    i, j, d, n = i[order], j[order], d[order], n[order]
    counts = np.bincount(i, minlength=n_atoms)
    end = np.cumsum(counts)[i]                                  # one past the last pair of this pair's vertex
    partners = end - np.arange(len(i)) - 1
    first = np.repeat(np.arange(len(i)), partners)
    offset = np.arange(len(first)) - np.repeat(np.cumsum(partners) - partners, partners)
    second = first + 1 + offset
    atoms = np.stack([i[first], j[first], j[second]], axis=1)
    cells = np.stack([np.zeros_like(n[first]), n[first], n[second]], axis=1).astype(np.int64)
    vectors = np.stack([d[first], d[second]], axis=1)
    return Terms(atoms=atoms, cells=cells, vectors=vectors, energy=np.zeros(len(atoms)))


def triplets(crystal, cutoff, species=None) -> Terms:
    """Every triplet (vertex i, neighbours j and k) of a periodic crystal, each unordered pair {j, k} once.

    Parameters
    ----------
    crystal : Crystal
    cutoff : float or ndarray (S, S)
        Neighbours j of i are those with |x_j + n_j @ cell - x_i| < cutoff, Å; a matrix gives the cutoff by the
        species indices of i (row) and j (column).
    species : ndarray of int, shape (n_atoms,), optional
        Species index of every atom (needed with a cutoff matrix).

    Returns
    -------
    Terms
        atoms (i, j, k), cells (0, n_j, n_k), vectors (d_j, d_k) (n, 2, 3) Å; energies zero and no derivatives
        (for a form to fill in). Periodic images of one atom are distinct neighbours.
    """
    i, j, d, n = neighbours(crystal, np.square(np.asarray(cutoff, dtype=float)), species)
    return triplets_from_pairs(i, j, d, n, crystal.n_atoms)


def select(terms: Terms, mask) -> Terms:
    return Terms(atoms=terms.atoms[mask], cells=terms.cells[mask], vectors=terms.vectors[mask],
                 energy=terms.energy[mask])
