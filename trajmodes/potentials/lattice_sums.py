"""Lattice sums of short-ranged m-body terms: energy, forces, virial stress, supercell force constants, static
strain derivatives and dynamical matrices (with their strain derivatives) at any q.

Every function takes a list of :class:`trajmodes.potentials.terms.Terms` (pairs, triplets, ... of any order m, each
a function of its m - 1 relative vectors d_l = x(atom l) + n_l . cell - x(atom 0)) and the crystal data it needs. The
derivatives with respect to the relative vectors map onto the m atoms ("slots") of a term by the constant matrix
C (m, m - 1): dd_l / dx_s = C[s, l] 1, C[0, l] = -1 and C[s, l] = delta_{s, l+1} for s >= 1 (atom 0 takes minus the
sum over l, atom l its own vector's derivative). This is the Delta notation of M. B. Taylor, N. L. Allan,
J. A. O. Bruno and G. D. Barrera, Phys. Rev. B 59, 353 (1999), eqs. 30 and 40, for any m; their eqs. 31-45 (static
derivatives and the dynamical matrix with its strain derivatives) are the contractions below, done for all terms at
once (no Python loop over terms; loops run over the m, m^2 or m^3 slot tuples only).

Strain. The external strain is the symmetric tensor eps of the deformation F = 1 + eps (Taylor et al. eq. 2), in
Voigt form e = (e_xx, e_yy, e_zz, 2 e_yz, 2 e_xz, 2 e_xy) (engineering shears, the order of
:data:`trajmodes.phonons.harmonic.elastic.VOIGT`); it moves cell rows and positions alike: x_k = F (X_k + u_k), so a relative
vector becomes d_l = F (d_l^0 + u_{atom l} - u_{atom 0}) and d d_l / d e_I = E_I d_l with E_I = d eps / d e_I
(:data:`STRAIN_BASIS`). d is linear in eps, so its second strain derivative vanishes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trajmodes.lattice.strain import STRAIN_BASIS

__all__ = ["STRAIN_BASIS", "slot_matrix", "slot_gradients", "slot_hessians", "slot_thirds", "total_energy",
           "atom_gradients", "virial", "hessian_rows", "third_rows", "static_derivatives", "StaticDerivatives",
           "DynamicalBlocks"]


# ----------------------------------------------------------------------------------- slots

def slot_matrix(m: int) -> np.ndarray:
    """C (m, m - 1): d d_l / d x_s = C[s, l] (atom 0: -1 for every l; atom s >= 1: 1 for l = s - 1)."""
    return np.vstack([-np.ones((1, m - 1)), np.eye(m - 1)])


def _split(t, which: str) -> np.ndarray:
    arr = getattr(t, which)
    if arr is None:
        raise ValueError(f"the {t.order}-body terms carry no {which}: ask terms() for a higher order")
    return arr


def slot_gradients(t) -> np.ndarray:
    """dE_term / dx_s for every slot s: (n, m, 3), eV/Å."""
    m = t.order
    g = _split(t, "gradient").reshape(len(t), m - 1, 3)
    return np.einsum("sl,nla->nsa", slot_matrix(m), g)


def slot_hessians(t) -> np.ndarray:
    """d2E_term / dx_s dx_s': (n, m, m, 3, 3), eV/Å²."""
    m, C = t.order, slot_matrix(t.order)
    H = _split(t, "hessian").reshape(len(t), m - 1, 3, m - 1, 3)
    return np.einsum("sl,tk,nlakb->nstab", C, C, H, optimize=True)


def slot_thirds(t) -> np.ndarray:
    """d3E_term / dx_s dx_s' dx_s'': (n, m, m, m, 3, 3, 3), eV/Å³."""
    m, C = t.order, slot_matrix(t.order)
    T = _split(t, "third").reshape(len(t), m - 1, 3, m - 1, 3, m - 1, 3)
    return np.einsum("sl,tk,uj,nlakbjc->nstuabc", C, C, C, T, optimize=True)


def _strained_vectors(t) -> np.ndarray:
    """E_I d_l flattened like the derivatives: (n, 6, 3 (m - 1)), A: d d / d e_I."""
    Ed = np.einsum("Iab,nlb->nIla", STRAIN_BASIS, t.vectors)
    return Ed.reshape(len(t), 6, 3 * (t.order - 1))


def _bincount(index: np.ndarray, weights: np.ndarray, size: int) -> np.ndarray:
    """Sum ``weights`` (n, c) into ``size`` bins of c components at ``index`` (n,): (size, c)."""
    c = int(np.prod(weights.shape[1:]))
    weights = weights.reshape(len(index), c)
    flat = (index[:, None] * c + np.arange(c)).reshape(-1)
    return np.bincount(flat, weights=weights.reshape(-1), minlength=size * c).reshape(size, c)


# ----------------------------------------------------------------------------------- static sums

def total_energy(terms) -> float:
    """Sum of the terms' energies: the static energy per cell, eV."""
    return float(sum(t.energy.sum() for t in terms))


def atom_gradients(terms, n_atoms: int) -> np.ndarray:
    """dE/du_k (n_atoms, 3) in eV/Å: the derivative with respect to a displacement u_k of atom k in every cell
    (minus the force on atom k)."""
    out = np.zeros((n_atoms, 3))
    for t in terms:
        G = slot_gradients(t)
        for s in range(t.order):
            out += _bincount(t.atoms[:, s], G[:, s], n_atoms)
    return out


def virial(terms) -> np.ndarray:
    """dE/d eps_ab = sum over terms of sum_l g_l,a d_l,b (3, 3) in eV: the strain derivative of the energy per
    cell (symmetric for rotationally invariant terms); divided by the volume it is the stress."""
    out = np.zeros((3, 3))
    for t in terms:
        g = _split(t, "gradient").reshape(len(t), t.order - 1, 3)
        out += np.einsum("nla,nlb->ab", g, t.vectors)
    return out


def hessian_rows(terms, n_atoms: int, rows=None) -> np.ndarray:
    """Force constants d2E / dx_i dx_j of a periodic supercell (every image summed by atom index), rows ``rows``
    (default all atoms): (len(rows), n_atoms, 3, 3) in eV/Å²."""
    row_of, n_rows = _row_map(rows, n_atoms)
    out = np.zeros((n_rows * n_atoms, 9))
    for t in terms:
        H = slot_hessians(t)
        for s in range(t.order):
            r = row_of[t.atoms[:, s]]
            keep = r >= 0
            for s2 in range(t.order):
                idx = r[keep] * n_atoms + t.atoms[keep, s2]
                out += _bincount(idx, H[keep, s, s2], n_rows * n_atoms)
    return out.reshape(n_rows, n_atoms, 3, 3)


def sparse_hessian(terms, n_atoms: int, masses=None):
    """Force constants d2E / dx_i dx_j of a periodic cell (every image summed by atom index) as a sparse matrix,
    assembled from the terms' slot Hessians without any array of N x N: memory and time linear in the number of terms.

    Parameters
    ----------
    terms : list of Terms
        With hessians.
    n_atoms : int
    masses : array_like, shape (n_atoms,), optional
        amu; when given, the mass-weighted matrix Phi_ij / sqrt(m_i m_j) (the dynamical matrix at q = 0).

    Returns
    -------
    scipy.sparse.csr_matrix, shape (3 n_atoms, 3 n_atoms)
        Rows and columns 3 i + a (atom i, Cartesian a), eV/Å² (eV/(Å² amu) with ``masses``); duplicate
        contributions summed, symmetric.
    """
    from scipy import sparse
    rows, cols, vals = [], [], []
    ab_r = np.repeat(np.arange(3), 3)
    ab_c = np.tile(np.arange(3), 3)
    for t in terms:
        H = slot_hessians(t)
        for s in range(t.order):
            for s2 in range(t.order):
                rows.append((3 * t.atoms[:, s, None] + ab_r).reshape(-1))
                cols.append((3 * t.atoms[:, s2, None] + ab_c).reshape(-1))
                vals.append(H[:, s, s2].reshape(-1))
    n3 = 3 * n_atoms
    if rows:
        r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    else:
        r = c = np.zeros(0, dtype=np.int64)
        v = np.zeros(0)
    if masses is not None:
        inv = np.repeat(1.0 / np.sqrt(np.asarray(masses, dtype=float).reshape(-1)), 3)
        v = v * inv[r] * inv[c]
    out = sparse.coo_matrix((v, (r, c)), shape=(n3, n3)).tocsr()
    out.sum_duplicates()
    return out


def third_rows(terms, n_atoms: int, rows=None) -> np.ndarray:
    """Third-order constants d3E / dx_i dx_j dx_k of a periodic supercell, rows i in ``rows`` (default all):
    (len(rows), n_atoms, n_atoms, 3, 3, 3) in eV/Å³ (phono3py's compact layout for rows = p2s)."""
    row_of, n_rows = _row_map(rows, n_atoms)
    size = n_rows * n_atoms * n_atoms
    out = np.zeros((size, 27))
    for t in terms:
        T = slot_thirds(t)
        m = t.order
        for s in range(m):
            r = row_of[t.atoms[:, s]]
            keep = r >= 0
            a = t.atoms[keep]
            for s2 in range(m):
                for s3 in range(m):
                    idx = (r[keep] * n_atoms + a[:, s2]) * n_atoms + a[:, s3]
                    out += _bincount(idx, T[keep, s, s2, s3], size)
    return out.reshape(n_rows, n_atoms, n_atoms, 3, 3, 3)


def _row_map(rows, n_atoms: int):
    if rows is None:
        return np.arange(n_atoms), n_atoms
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    row_of = np.full(n_atoms, -1, dtype=np.int64)
    row_of[rows] = np.arange(len(rows))
    return row_of, len(rows)


@dataclass(frozen=True)
class StaticDerivatives:
    """The static energy per cell and its derivatives with respect to the Voigt strains e (6) and the internal
    displacements u (3 n, atom-major), at e = 0, u = 0 (:func:`static_derivatives`,
    :meth:`ShortRangePotential.static_derivatives <trajmodes.potentials.terms.ShortRangePotential.static_derivatives>`).

    Attributes
    ----------
    energy : float
        eV per cell.
    gradient : ndarray, shape (6 + 3 n,)
        dE/de (eV; = V sigma in Voigt order) then dE/du (eV/Å; = minus the forces).
    hessian : ndarray, shape (6 + 3 n, 6 + 3 n), or None
        d2E/de de (eV), d2E/de du (eV/Å), d2E/du du (eV/Å²; the q = 0 force constants summed over
        images); None with ``order=1``.
    """

    energy: float
    gradient: np.ndarray
    hessian: np.ndarray | None = None


def static_derivatives(terms, n_atoms: int, order: int = 2) -> StaticDerivatives:
    """Energy per cell and its derivatives with respect to the Voigt strains e (6) and the internal displacements u
    (3 n_atoms, atom-major), at e = 0, u = 0 (Taylor et al. 1999, eqs. 31-39, for m-body terms).

    Returns
    -------
    StaticDerivatives
        ``energy`` (eV per cell); ``gradient`` (6 + 3 n_atoms,): (dE/de, dE/du) in eV and eV/Å; ``hessian``
        (6 + 3 n_atoms, 6 + 3 n_atoms), only for ``order=2`` (None otherwise): blocks ee (eV), eu (eV/Å),
        uu (eV/Å²). With d linear in the strain, d2E/de_I de_J = sum (E_I d) H (E_J d) and
        d2E/de_I du = sum [(E_I d) H C^T + E_I g_slot].
    """
    n = n_atoms
    grad = np.zeros(6 + 3 * n)
    grad[:6] = np.einsum("Iab,ab->I", STRAIN_BASIS, virial(terms))
    grad[6:] = atom_gradients(terms, n).reshape(-1)
    energy = total_energy(terms)
    if order < 2:
        return StaticDerivatives(energy=energy, gradient=grad)
    hess = np.zeros((6 + 3 * n, 6 + 3 * n))
    eu = np.zeros((6, n, 3))
    uu = np.zeros((n * n, 9))
    for t in terms:
        m = t.order
        H = _split(t, "hessian")                                           # (nt, K, K)
        Ed = _strained_vectors(t)                                          # (nt, 6, K)
        hess[:6, :6] += np.einsum("nIk,nkj,nJj->IJ", Ed, H, Ed, optimize=True)
        # d2E / de_I dx_s = (E_I d) . H . C_s^T + E_I g_s
        HEd = np.einsum("nIk,nkj->nIj", Ed, H).reshape(len(t), 6, m - 1, 3)
        mixed = np.einsum("sl,nIlc->nsIc", slot_matrix(m), HEd)
        mixed += np.einsum("Iac,nsa->nsIc", STRAIN_BASIS, slot_gradients(t))
        Hs = slot_hessians(t)
        for s in range(m):
            eu += _bincount(t.atoms[:, s], mixed[:, s], n).reshape(n, 6, 3).transpose(1, 0, 2)
            for s2 in range(m):
                uu += _bincount(t.atoms[:, s] * n + t.atoms[:, s2], Hs[:, s, s2], n * n)
    hess[:6, 6:] = eu.reshape(6, 3 * n)
    hess[6:, :6] = hess[:6, 6:].T
    hess[6:, 6:] = uu.reshape(n, n, 3, 3).transpose(0, 2, 1, 3).reshape(3 * n, 3 * n)
    return StaticDerivatives(energy=energy, gradient=grad, hessian=hess)


# ----------------------------------------------------------------------------------- dynamical matrices

class DynamicalBlocks:
    """The lattice sum of the dynamical matrix grouped by lattice translation, and its strain derivatives.

    D_kk'(q) = sum_T e^{i 2 pi q.T} M_T[k, k'],  M_T[k, k'] = sum over the terms' slot pairs (s, s') with atoms
    (k, k') and translation T = n_s' - n_s of d2E/dx_s dx_s' / sqrt(m_k m_k')

    (Taylor et al. 1999 eqs. 41-43: lattice translations only in the phase). The derivative blocks follow from the
    third derivatives: under the strain d -> F d, d(d2E/dx_s dx_s')/de_I = C_s (T . E_I d) C_s'^T (eqs. 44);
    under an internal displacement u_k'' of atom k'' in every cell, the sum over the slots s'' holding k'' of
    d3E/dx_s dx_s' dx_s'' (eq. 45). Phases hold reduced q and integer translations, so they do not change with
    either strain.

    Parameters
    ----------
    terms : list of Terms
        With hessians, and third derivatives when ``derivatives``.
    masses : array_like, shape (n,)
        Mass of each atom of the primitive cell, amu.
    derivatives : bool
        Also build the 6 strain and 3 n internal-displacement derivative blocks.

    Attributes
    ----------
    translations : ndarray of int, shape (nT, 3)
        The distinct lattice translations T.
    blocks : ndarray, shape (nT, n_comp, 3 n, 3 n)
        M_T for D (component 0), then dD/de_I (1..6) and dD/du_(k, c) (7 + 3 k + c) with ``derivatives``;
        eV/(Å² amu), per unit strain, per Å.
    """

    def __init__(self, terms, masses, derivatives: bool = False):
        masses = np.asarray(masses, dtype=float).reshape(-1)
        n = len(masses)
        nb = 3 * n
        ncomp = 1 + (6 + 3 * n if derivatives else 0)
        inv = 1.0 / np.sqrt(masses)
        # one entry per (term, slot pair, component group): translation key, k, k', component, (3, 3) values
        keys, rows, cols, comps, vals = [], [], [], [], []

        def add(key, k, k2, comp, v):
            keys.append(key)
            rows.append(k)
            cols.append(k2)
            comps.append(comp)
            vals.append(v.reshape(len(k), comp.shape[1], 9))

        for t in terms:
            m, nt = t.order, len(t)
            Hs = slot_hessians(t)
            if derivatives:
                C = slot_matrix(m)
                TE = np.einsum("nijk,nIk->nIij", _split(t, "third"), _strained_vectors(t), optimize=True)
                dHe = np.einsum("sl,tj,nIlajb->nstIab", C, C, TE.reshape(nt, 6, m - 1, 3, m - 1, 3), optimize=True)
                Ts = slot_thirds(t)
            for s in range(m):
                for s2 in range(m):
                    k, k2 = t.atoms[:, s], t.atoms[:, s2]
                    key = _encode(t.cells[:, s2] - t.cells[:, s])
                    w = (inv[k] * inv[k2])[:, None, None, None]
                    add(key, k, k2, np.zeros((nt, 1), np.int64), Hs[:, s, s2][:, None] * w)
                    if derivatives:
                        add(key, k, k2, np.broadcast_to(np.arange(1, 7), (nt, 6)), dHe[:, s, s2] * w)
                        # dD/du_(k'', c): every slot s3 holding atom k'' contributes its third derivative
                        for s3 in range(m):
                            comp = 7 + 3 * t.atoms[:, s3, None] + np.arange(3)
                            add(key, k, k2, comp, Ts[:, s, s2, s3].transpose(0, 3, 1, 2) * w)
        if not keys:                                      # no terms at all: D = 0
            add(np.zeros(0, np.int64), *(np.zeros(0, np.int64),) * 2, np.zeros((0, 1), np.int64), np.zeros((0, 9)))
        keys = np.concatenate(keys)
        ukeys, tidx = np.unique(keys, return_inverse=True)
        tidx = tidx.reshape(-1)
        self.translations = _decode(ukeys)
        nT = len(ukeys)
        # target M[t, comp, 3 k + a, 3 k' + b], one bincount over every entry
        ab = (nb * np.arange(3)[:, None] + np.arange(3)).reshape(9)          # (a, b) -> a nb + b
        index, weight, pos = [], [], 0
        for k, k2, comp, v in zip(rows, cols, comps, vals):
            ti = tidx[pos:pos + len(k)]
            pos += len(k)
            base = ((ti[:, None] * ncomp + comp) * nb + 3 * k[:, None]) * nb + 3 * k2[:, None]
            index.append((base[:, :, None] + ab).reshape(-1))
            weight.append(v.reshape(-1))
        self.blocks = np.bincount(np.concatenate(index), weights=np.concatenate(weight),
                                  minlength=nT * ncomp * nb * nb).reshape(nT, ncomp, nb, nb)
        self.n_components = ncomp
        self.n_branches = nb
        self._pack()

    def _pack(self) -> None:
        """Pair every translation T with -T (Hermiticity): D = sum over T >= 0 (lexicographically) of
        cos(2 pi q.T) (M_T + M_-T) + i sin(2 pi q.T) (M_T - M_-T), with M_0 counted once; real and imaginary
        parts interleaved in the columns, so that one real product per component fills the complex output."""
        T, nb, nc = self.translations, self.n_branches, self.n_components
        keys = _encode(T)
        lead = np.where(T[:, 0] != 0, T[:, 0] > 0, np.where(T[:, 1] != 0, T[:, 1] > 0, T[:, 2] >= 0))
        rep = np.flatnonzero(lead)
        neg = np.searchsorted(keys, _encode(-T[rep])).clip(max=len(keys) - 1)
        has = keys[neg] == _encode(-T[rep])
        B = self.blocks.reshape(len(T), nc, nb * nb)
        Mn = np.where(has[:, None, None], B[neg], 0.0)
        self_pair = rep == neg                                            # T = 0
        Ms = np.where(self_pair[:, None, None], B[rep], B[rep] + Mn)
        Ma = np.where(self_pair[:, None, None], 0.0, B[rep] - Mn)
        nH = len(rep)
        W = np.zeros((nc, 2 * nH, nb * nb, 2))
        W[:, :nH, :, 0] = Ms.transpose(1, 0, 2)
        W[:, nH:, :, 1] = Ma.transpose(1, 0, 2)
        self._half = T[rep]
        self._W = np.ascontiguousarray(W.reshape(nc, 2 * nH, 2 * nb * nb).transpose(1, 0, 2)).reshape(2 * nH, -1)

    def at(self, qpoints) -> np.ndarray:
        """sum_T e^{i 2 pi q.T} M_T for every q: (n_comp, nq, 3 n, 3 n) complex (D first, then its derivatives), a
        view of a q-major array (nq, n_comp, 3 n, 3 n): one matrix product fills it."""
        q = np.asarray(qpoints, dtype=float).reshape(-1, 3)
        nq, nb, nc = len(q), self.n_branches, self.n_components
        arg = 2.0 * np.pi * (q @ self._half.T)                               # (nq, nH)
        cs = np.concatenate([np.cos(arg), np.sin(arg)], axis=1)              # (nq, 2 nH)
        out = np.empty((nq, nc, nb, nb), dtype=complex)
        np.matmul(cs, self._W, out=out.view(float).reshape(nq, 2 * nc * nb * nb))     # one product for all
        return out.transpose(1, 0, 2, 3)


_OFFSET = 1 << 20


def _encode(n: np.ndarray) -> np.ndarray:
    n = np.asarray(n, dtype=np.int64) + _OFFSET // 2
    return (n[:, 0] * _OFFSET + n[:, 1]) * _OFFSET + n[:, 2]


def _decode(key: np.ndarray) -> np.ndarray:
    key = np.asarray(key, dtype=np.int64)
    out = np.empty((len(key), 3), dtype=np.int64)
    out[:, 2] = key % _OFFSET
    key = key // _OFFSET
    out[:, 1] = key % _OFFSET
    out[:, 0] = key // _OFFSET
    return out - _OFFSET // 2
