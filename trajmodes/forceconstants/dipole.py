"""The long-range dipole-dipole interaction of polar crystals: one reciprocal-space Ewald sum (Gonze and Lee).

Atoms carry Born effective charges Z*_k (3 x 3, units of e; ``Z[k, E, u]``: field direction E, displacement u,
phonopy's BORN convention) in a medium of high-frequency dielectric tensor eps. The reciprocal-space part of the
Ewald sum of their dipole-dipole interaction (X. Gonze and C. Lee, Phys. Rev. B 55, 10355 (1997), eqs. 71-73) is,
as a dynamical matrix (not mass-weighted, eV/Å²),

    C_kk'(q) = f sum_{G, K = G + q != 0} (K.Z_k)^T (K.Z_k') / (K.eps.K) exp(-K.eps.K / 4 Lambda^2) e^{i 2 pi G.(r_k - r_k')}
               - delta_kk' sum_k'' (the same at q = 0),      f = k_e 4 pi / V,

K in 1/Å without 2 pi, V the primitive volume, k_e = e^2 / (4 pi eps0) in eV Å. Its real-space remainder (the erfc
part) is short-ranged. The same sum serves two conventions of force constants:

full (phonopy's)
    The supercell constants hold the whole interaction. phonopy (and :mod:`trajmodes.phonons.harmonic.nac`) removes
    C on the commensurate grid of q (:meth:`DipoleEwald.supercell_constants`), interpolates the rest and adds C(q)
    back at every q. phonopy's Lambda and G-sphere are its own (:meth:`DipoleEwald.phonopy`).
short-range (TDEP's)
    The dipole-dipole forces F_dd = -Phi_dd u are taken out of the forces before fitting (TDEP,
    ``extract_forceconstants --polar``; F. Knoop et al., J. Open Source Softw. 9, 6150 (2024)), so the fitted
    constants are Phi_sr = Phi - Phi_dd, and C(q) is added back at every q with the Lambda that made Phi_dd.
    Phi_dd on the supercell is the inverse lattice Fourier transform of C over the commensurate q, the same as
    the sum over the supercell's reciprocal vectors G_ss != 0 (TDEP's form):
    Phi_dd_ij = (k_e 4 pi / V_ss) sum (K.Z_i)^T (K.Z_j) / (K.eps.K) exp(-K.eps.K / 4 Lambda^2) cos(2 pi K.(r_j - r_i)),
    then Phi_dd_ii -= sum_j Phi_dd_ij. TDEP's Ewald parameter lambda (1/bohr, with 2 pi) is Lambda = lambda / (2 pi a_0).

Full = short-range + Phi_dd on the same supercell, both ways (:func:`dipole_supercell_constants`). The polar fit
takes F_dd out of every frame's forces with :class:`DipoleSubtracted` (built by :func:`polar_kernel`). Cost: the
Ewald sum runs over blocks of q (:meth:`DipoleEwald.sum`), Phi_dd comes from C(q) at the commensurate q by one FFT
over the supercell's translation grid, and F_dd of a frame is two real FFTs over that grid
(:class:`SupercellConvolution`).
"""
from __future__ import annotations

import numpy as np
from scipy.fft import fftn, irfftn, rfftn
from scipy.special import erfc

from trajmodes.forceconstants.design import DesignKernel
from trajmodes.units import BOHR_A, NAC_FACTOR

__all__ = ["DipoleEwald", "check_born", "tdep_ewald_lambda", "dipole_supercell_constants", "dipole_force_matrix",
           "DipoleSubtracted", "SupercellConvolution", "polar_kernel", "Q_ZERO", "GAUSSIAN_FLOOR", "CHARGE_SUM_TOL",
           "CHARGE_SUM_CORRECTED", "CHARGE_SUM_FIT", "EPSILON_ASYMMETRY_TOL", "EPSILON_ASYMMETRY_CORRECTED"]

#: |K| below this (1/A, no 2 pi) counts as q = 0 (phonopy's Q_DIRECTION_TOLERANCE)
Q_ZERO = 1e-5
#: the G-sum of the short-range convention runs over every K whose Gaussian exp(-K.eps.K / 4 Lambda^2) is above this
GAUSSIAN_FLOOR = 1e-30
#: largest |sum_k Z_k| (e, any component) taken as the charge-neutrality (acoustic) sum rule of the Born charges
CHARGE_SUM_TOL = 1e-5
#: largest correction of a broken charge sum rule (the mean charge subtracted from every atom's tensor, e, any
#: component) made with a warning, as a fraction of the largest charge (at least 1 e); a larger one is refused
CHARGE_SUM_CORRECTED = 0.1
#: the same for the charges of a polar fit, whose dipole forces are taken out of the data before the short-range
#: constants are fitted: a correction there changes the fitted crystal itself (an exact rocksalt model whose Na
#: charge was given 10 % too large: modes up to 0.16 THz of 8.8 off after the correction, 1 %: 0.016 THz), so only
#: the round-off of a calculation, 1 % of the largest charge, is mended
CHARGE_SUM_FIT = 0.01
#: largest |eps - eps^T| taken as the round-off of a symmetric dielectric tensor, relative to its largest component
EPSILON_ASYMMETRY_TOL = 1e-6
#: largest |eps - eps^T| (relative) symmetrised with a warning, as a calculation's noise; a larger one is refused
EPSILON_ASYMMETRY_CORRECTED = 1e-2
#: K-vectors (times 3n + 4) per block of the Ewald sum: its temporaries stay a few MB
_BLOCK = 1 << 18
#: displacement components (frames times 3N) per block of :meth:`SupercellConvolution.forces`: a block stays in cache
_FRAMES = 1 << 16


def check_born(born, epsilon, n_atoms: int, tol: float = CHARGE_SUM_TOL, *, where: str | None = None,
               correct: bool = True, species=None, limit: float = CHARGE_SUM_CORRECTED,
               why: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Born charges (n_atoms, 3, 3) and dielectric tensor (3, 3) as float arrays, checked: the one check of the
    non-analytic correction's parameters, whatever route attaches them (``ForceConstants(born=, epsilon=)``, every
    force-constant file, the polar fit).

    The charge-neutrality (acoustic) sum rule sum_k Z_k = 0 (Gonze and Lee, Phys. Rev. B 55, 10355 (1997), eq. 42)
    is broken by every calculation a little: a sum beyond ``tol`` whose correction (the mean charge, subtracted from
    every atom's tensor, as phonopy does) is at most :data:`CHARGE_SUM_CORRECTED` of the largest charge (at least
    1 e) is corrected with a warning that says by how much; a larger one is refused (tensors of the wrong atoms, in
    the wrong order or of a broken calculation). The dielectric tensor enters only as the quadratic form K.eps.K
    (and its eigenvalues and inverse, which assume it symmetric): one symmetric to :data:`EPSILON_ASYMMETRY_TOL`
    (relative: printed digits) is symmetrised silently, up to :data:`EPSILON_ASYMMETRY_CORRECTED` with a warning;
    a more asymmetric one is refused.

    Parameters
    ----------
    born : array_like (n_atoms, 3, 3)
        Z[k, E, u] in units of e.
    epsilon : array_like (3, 3)
        High-frequency dielectric tensor (dimensionless): symmetric, positive definite.
    n_atoms : int
        Atoms of the primitive cell.
    tol : float
        Largest |sum_k Z_k| (e, any component) taken as zero.
    where : str, optional
        What gave them (an argument, a file), the first words of every message.
    correct : bool
        Correct a small violation of the sum rule (default); False refuses any beyond ``tol`` (short-range constants
        were fitted with the charges as they are, so changing them would not give back the constants' crystal).
    species : sequence of str, optional
        The primitive atoms' species, named in the message of a wrong shape.
    limit : float
        Largest correction made, as a fraction of the largest charge (at least 1 e).
    why : str
        Why that limit, for the message of a larger breach.

    Returns
    -------
    born : ndarray (n_atoms, 3, 3)
        The charges, e, the mean charge subtracted where the sum rule was corrected.
    epsilon : ndarray (3, 3)
        The symmetric dielectric tensor.

    Raises
    ------
    ValueError
        Wrong shapes, NaN or infinite values, an epsilon that is not symmetric positive definite, or charges that do
        not add up to zero by more than a correction can mend.
    """
    import warnings
    at = f"{where}: " if where else ""
    Z = np.asarray(born, dtype=float)
    eps = np.asarray(epsilon, dtype=float)
    if Z.shape != (n_atoms, 3, 3):
        names = f" ({', '.join(map(str, species))})" if species is not None else ""
        given = (f"{Z.shape[0]} tensor{'s' * (Z.shape[0] != 1)}" if Z.ndim == 3 and Z.shape[1:] == (3, 3)
                 else f"an array of shape {Z.shape}")
        raise ValueError(f"{at}the Born charges are {given}, but the primitive cell has {n_atoms} atoms{names}: give "
                         f"one 3 x 3 tensor Z[E, u] per atom, shape ({n_atoms}, 3, 3), in the primitive cell's atom "
                         "order")
    if eps.shape != (3, 3):
        raise ValueError(f"{at}the dielectric tensor has shape {eps.shape}; give the 3 x 3 tensor eps[a, b]")
    if not np.isfinite(Z).all():
        bad = sorted(set(np.nonzero(~np.isfinite(Z))[0].tolist()))
        raise ValueError(f"{at}the Born charges of atom(s) {bad} (0-based) hold NaN or infinite values: give finite "
                         "numbers (the calculation that gave them failed, or they were not copied whole)")
    if not np.isfinite(eps).all():
        raise ValueError(f"{at}the dielectric tensor holds NaN or infinite values ({eps.tolist()}): give finite "
                         "numbers")
    scale = max(np.abs(eps).max(), np.finfo(float).tiny)
    asym = np.abs(eps - eps.T)
    if asym.max() > EPSILON_ASYMMETRY_TOL * scale:
        a, b = np.unravel_index(np.argmax(asym), asym.shape)
        what = (f"the dielectric tensor is not symmetric: eps[{a}, {b}] = {eps[a, b]:.6g} but eps[{b}, {a}] = "
                f"{eps[b, a]:.6g}, a difference of {asym.max() / scale:.2g} of its largest component")
        if asym.max() > EPSILON_ASYMMETRY_CORRECTED * scale:
            raise ValueError(f"{at}{what}, more than the {EPSILON_ASYMMETRY_CORRECTED:g} that trajmodes symmetrises "
                             "as a calculation's noise; a crystal's dielectric tensor is symmetric: check that the "
                             "nine components are those of eps_inf, in order (row by row)")
        warnings.warn(f"{at}{what}; its symmetric part (eps + eps.T) / 2 is used", UserWarning, stacklevel=3)
    eps = 0.5 * (eps + eps.T)
    values = np.linalg.eigvalsh(eps)
    if values.min() <= 0:
        raise ValueError(f"{at}the dielectric tensor is not positive definite: its eigenvalues are "
                         f"{np.round(values, 6).tolist()}; the high-frequency dielectric tensor eps_inf has eigenvalues "
                         f"of 1 or more: check its sign and that it is eps_inf itself (not its inverse or a "
                         "difference)")
    total = Z.sum(axis=0)
    if np.abs(total).max() > tol:
        shift = total / n_atoms
        size = np.abs(shift).max()
        rule = (f"the Born charges add up to {(np.round(total, 6) + 0.0).tolist()} e over the {n_atoms} atoms, not "
                "zero (the charge-neutrality sum rule, Gonze and Lee, Phys. Rev. B 55, 10355 (1997))")
        largest = limit * max(np.abs(Z).max(), 1.0)
        if not correct:
            raise ValueError(f"{at}{rule}, beyond {tol:g} e; short-range constants were fitted with their charges as "
                             "they are, so they are not corrected here: give the charges of the fit, or refit with "
                             "charges that obey the rule (born - born.mean(axis=0), phonopy's correction)")
        if size > largest:
            raise ValueError(f"{at}{rule}: making them neutral would change every atom's charge by up to "
                             f"{size:.3g} e, more than the {limit:.0%} of the largest charge that trajmodes corrects "
                             f"as a calculation's round-off{why}; check that the tensors belong to these "
                             f"{n_atoms} atoms, in the primitive cell's atom order, or fix the calculation that gave "
                             "them (or make them neutral yourself, born - born.mean(axis=0), if that is what you "
                             "mean)")
        warnings.warn(f"{at}{rule}; the mean, up to {size:.3g} e per component, was subtracted from every atom's "
                      "tensor (phonopy's correction)", UserWarning, stacklevel=3)
        Z = Z - shift
    return Z, eps


class DipoleEwald:
    """Reciprocal-space Ewald sum of the dipole-dipole dynamical matrix (Gonze and Lee 1997), for one primitive cell.

    Parameters
    ----------
    primitive : Crystal
    born : (n, 3, 3) array
        Z[k, E, u], e.
    epsilon : (3, 3) array
    Lambda : float
        Ewald parameter in 1/Å without 2 pi (the Gaussian is exp(-K.eps.K / 4 Lambda^2), K without 2 pi).
    G : (nG, 3) array
        Reciprocal lattice vectors summed over, Cartesian, 1/Å without 2 pi (G = 0 included).
    factor : float
        k_e = e^2 / (4 pi eps0) in eV Å.
    """

    def __init__(self, primitive, born, epsilon, Lambda: float, G: np.ndarray, factor: float = NAC_FACTOR):
        self.born = np.asarray(born, dtype=float)
        self.epsilon = np.asarray(epsilon, dtype=float)
        self.Lambda = float(Lambda)
        self.G = np.asarray(G, dtype=float).reshape(-1, 3)
        self.factor = float(factor)
        self.rec = primitive.reciprocal_cell                             # rows, 1/A, no 2 pi
        self.pos = primitive.positions
        self.prefactor = self.factor * 4 * np.pi / primitive.volume
        arg = 2 * np.pi * (self.G @ self.pos.T)                           # (nG, n): 2 pi G.r_k
        self._cs = np.zeros((2, len(self.pos), len(self.G) + 1))          # (2, n, nG + 1): cos, sin; pad 0
        self._cs[0, :, :-1], self._cs[1, :, :-1] = np.cos(arg).T, np.sin(arg).T
        self._Gt = np.zeros((3, len(self.G) + 1))                         # (3, nG + 1): G^T; pad 0
        self._Gt[:, :-1] = self.G.T
        self._eps_max = float(np.linalg.eigvalsh(self.epsilon).max())
        self._geg = np.einsum("ga,ab,gb->g", self.G, self.epsilon, self.G)
        self._zm = self.born.transpose(1, 0, 2).reshape(3, -1)           # (3, 3n): K @ zm = (K.Z_k)_u, columns (k, u)
        self._symmetric = bool(np.array_equal(self.G[np.lexsort(self.G.T)], -self.G[np.lexsort(-self.G.T)]))
        q0 = self.sum(np.zeros((1, 3)), None)[0]                         # (n, 3, n, 3)
        dd0 = q0.sum(axis=2)                                             # (n, 3, 3): sum over k'
        self.dd_q0 = 0.5 * (dd0 + dd0.transpose(0, 2, 1).conj())

    # -- constructors ---------------------------------------------------------------------------
    @classmethod
    def phonopy(cls, primitive, born, epsilon, factor: float = NAC_FACTOR, num_G_points: int = 300) -> "DipoleEwald":
        """phonopy's choice (4.x): the G-sphere |G| < (3 num_G_points / (4 pi V))^(1/3), and Lambda such that the
        Gaussian at its edge (with tr(eps) / 3 for eps) is 1e-10."""
        V = primitive.volume
        G_cutoff = (3 * num_G_points / (4 * np.pi) / V) ** (1.0 / 3)
        G = _g_sphere(primitive, G_cutoff)
        GeG = G_cutoff ** 2 * np.trace(np.asarray(epsilon, float)) / 3
        Lambda = np.sqrt(-GeG / 4 / np.log(1e-10))
        out = cls(primitive, born, epsilon, Lambda, G, factor)
        out.G_cutoff = G_cutoff
        return out

    @classmethod
    def converged(cls, primitive, born, epsilon, Lambda: float, factor: float = NAC_FACTOR,
                  floor: float = GAUSSIAN_FLOOR) -> "DipoleEwald":
        """The sum for a given ``Lambda`` (1/Å, no 2 pi) over every G (plus the first zone) whose Gaussian is above
        ``floor``: converged to round-off, as the short-range convention needs (its constants were made with it)."""
        eps_min = float(np.linalg.eigvalsh(np.asarray(epsilon, float)).min())
        kmax = 2 * Lambda * np.sqrt(-np.log(floor) / eps_min)            # K.eps.K / 4 Lambda^2 = -ln(floor)
        zone = 0.5 * np.linalg.norm(primitive.reciprocal_cell, axis=1).sum()   # a q in the first zone, bounded
        return cls(primitive, born, epsilon, Lambda, _g_sphere(primitive, kmax + zone), factor)

    # -- the sum ------------------------------------------------------------------------------------
    def sum(self, q_cart: np.ndarray, q_dir_cart) -> np.ndarray:
        """sum_G (K.Z_k)^T (K.Z_k') w(K) e^{i 2 pi G.(r_k - r_k')}, (nq, n, 3, n, 3), without prefactor or onsite term.

        w(K) = exp(-K.eps.K / 4 Lambda^2) / (K.eps.K) (K = G + q, 1/Å without 2 pi); K = 0 is left out, or, with
        ``q_dir_cart`` ((3,) or (nq, 3), Cartesian), replaced by the limit along that direction, d d^T / (d.eps.d)
        (the non-analytic term). Terms whose Gaussian is below :data:`GAUSSIAN_FLOOR` are left out (below round-off).

        The phase factorises, e^{i 2 pi G.(r_k - r_k')} = e_k conj(e_k'), so with B_(k u) = (K.Z_k)_u e_k the sum is
        the Hermitian product B^T diag(w) conj(B) over the kept K of each q: one batched matrix product per block of q,
        never an (nq, nG, 3, 3) array.
        """
        q_cart = np.asarray(q_cart, dtype=float).reshape(-1, 3)
        nq, n = len(q_cart), len(self.pos)
        d = None if q_dir_cart is None else np.broadcast_to(np.asarray(q_dir_cart, dtype=float), q_cart.shape)
        out = np.empty((nq, 3 * n, 3 * n), dtype=complex)
        step = max(1, _BLOCK // (len(self.G) * (3 * n + 4)))
        for s in range(0, nq, step):
            out[s:s + step] = self._block(q_cart[s:s + step], None if d is None else d[s:s + step])
        return out.reshape(nq, n, 3, n, 3)

    def _block(self, q: np.ndarray, d) -> np.ndarray:
        """:meth:`sum` for a few q, (nb, 3n, 3n). The G that pass a cheap bound on K.eps.K are listed per q (padded
        with the index nG, weight 0), P = sqrt(w) [(K.Z_k)_u cos 2 pi G.r_k; (K.Z_k)_u sin 2 pi G.r_k] (6n rows) is
        built on that list, and sum_G w B conj(B)^T = [P_c P_c^T + P_s P_s^T] + i [P_s P_c^T - P_c P_s^T]: one real
        batched product."""
        n, nG = len(self.pos), len(self.G)
        qeps = q @ self.epsilon                                           # K.eps.K = q.eps.q + 2 q.eps.G + G.eps.G
        bound = 4 * self.Lambda ** 2 * -np.log(GAUSSIAN_FLOOR) * (1 + 1e-9) + 1e-9
        keep = (np.einsum("qa,qa->q", qeps, q)[:, None] + 2 * qeps @ self._Gt[:, :nG] + self._geg) < bound
        flat, count = np.flatnonzero(keep), keep.sum(axis=1)             # K = 0 passes
        qi = np.repeat(np.arange(len(q)), count)
        g = np.full((len(q), max(int(count.max()), 1)), nG)
        g.reshape(-1)[qi * g.shape[1] + np.arange(len(flat)) - np.repeat(np.cumsum(count) - count, count)] = \
            flat - qi * nG
        K = self._Gt.take(g, axis=1) + q.T[:, :, None]                    # (3, nb, width): exactly q + G
        KeK = np.einsum("ab,aqg,bqg->qg", self.epsilon, K, K)
        zero = (KeK < self._eps_max * Q_ZERO ** 2) & (g < nG)              # candidates; then |K| < Q_ZERO exactly
        zero[zero] = np.sqrt((K[:, zero] ** 2).sum(axis=0)) < Q_ZERO
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            w = np.where(zero | (g == nG) | (KeK >= bound), 0.0, np.exp(-KeK / (4 * self.Lambda ** 2)) / KeK)
        if d is not None:                                                # the limit along d where K = 0
            qz = np.nonzero(zero)[0]
            K[:, zero] = d[qz].T
            w[zero] = 1 / np.einsum("qa,ab,qb->q", d, self.epsilon, d)[qz]
        V = (self._zm.T @ (K * np.sqrt(w)).reshape(3, -1)).reshape(1, n, 3, -1)    # sqrt(w) (K.Z_k)_u
        P = (self._cs.take(g.reshape(-1), axis=2)[:, :, None] * V).reshape(6 * n, len(q), -1).transpose(1, 0, 2)
        Q = np.matmul(P, P.transpose(0, 2, 1)).reshape(len(q), 2, 3 * n, 2, 3 * n)
        return (Q[:, 0, :, 0] + Q[:, 1, :, 1]) + 1j * (Q[:, 1, :, 0] - Q[:, 0, :, 1])

    def matrix(self, q_cart: np.ndarray, q_dir_cart=None) -> np.ndarray:
        """C(q), shape (nq, n, 3, n, 3), eV/Å² (not mass-weighted), phases with atom positions (phonopy's gauge).

        ``q_cart`` (nq, 3) Cartesian, 1/Å without 2 pi; ``q_dir_cart`` the direction of approach where G + q = 0.
        """
        C = self.sum(np.atleast_2d(q_cart), q_dir_cart)
        n = len(self.pos)
        C[:, np.arange(n), :, np.arange(n), :] -= self.dd_q0[:, None]
        return C * self.prefactor

    def supercell_constants(self, smap, p2s, primitive) -> np.ndarray:
        """Phi_dd on a supercell, compact layout (n, N, 3, 3), eV/Å²: the inverse lattice Fourier transform of C(q)
        over the supercell's commensurate q (taken in the first Brillouin zone). It obeys the acoustic sum rule.

        C(-q) = conj C(q) when the G-set is symmetric and -q is itself a first-zone representative (to round-off),
        so only one of each such pair is summed. The commensurate q are the dual of the supercell's translation grid (its Smith
        normal form), so the transform is one FFT over that grid.

        Parameters
        ----------
        smap : SupercellMap
            The supercell's map onto ``primitive`` (``atom``, ``lattice``, ``matrix``).
        p2s : (n,) int
            Supercell index of every primitive atom (rows of the compact layout).
        primitive : Crystal
        """
        from trajmodes.lattice.qpoints import commensurate_qpoints, first_zone
        qc = first_zone(commensurate_qpoints(smap.matrix, centred=False), primitive.reciprocal_cell)
        C = np.empty((len(qc), len(self.pos), 3, len(self.pos), 3), dtype=complex)
        key = np.rint(qc * smap.n_cells).astype(np.int64)                # q |det S| is integral
        index = {row.tobytes(): i for i, row in enumerate(key)}
        partner = np.array([index.get(row.tobytes(), -1) if self._symmetric else -1 for row in -key], dtype=int)
        own = (partner < 0) | (partner >= np.arange(len(qc)))
        C[own] = self.matrix(qc[own] @ primitive.reciprocal_cell)        # (Nc, n, 3, n, 3)
        C[~own] = C[partner[~own]].conj()
        p2s = np.asarray(p2s)
        f = primitive.scaled_positions[smap.atom[p2s]]                   # (n, 3)
        C *= np.exp(-2j * np.pi * np.einsum("cx,klx->ckl", qc, f[None, :] - f[:, None]))[:, :, None, :, None]
        d, R, grid = _translation_grid(smap)
        m = np.mod(np.rint(qc @ np.linalg.inv(R).T * d), d).astype(np.int64)   # q.l = sum_i m_i (l R)_i / d_i
        Cg = np.zeros(tuple(d) + C.shape[1:], dtype=complex)
        Cg[tuple(m.T)] = C
        phi = fftn(Cg, axes=(0, 1, 2), workers=1).real.reshape((-1,) + C.shape[1:]) / len(qc)
        off = np.ravel_multi_index(tuple(np.mod(grid[None] - grid[p2s][:, None], d).transpose(2, 0, 1)), tuple(d))
        return phi[off, np.arange(len(p2s))[:, None], :, smap.atom[None, :], :]


def _translation_grid(smap) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The supercell's translations Z^3 / Z^3 S as a d1 x d2 x d3 grid (Smith normal form L S R = D): ``d`` (3,),
    ``R`` (3, 3) and every supercell atom's cell on the grid, (N, 3) = lattice R mod d."""
    from trajmodes.lattice.supercell import smith_normal_form
    _, D, R = smith_normal_form(smap.matrix)
    d = np.abs(np.diag(D)).astype(np.int64)
    return d, R, np.mod(np.asarray(smap.lattice, dtype=np.int64) @ R, d)


def _g_sphere(primitive, radius: float) -> np.ndarray:
    """Reciprocal lattice vectors (Cartesian, 1/Å, no 2 pi) of ``primitive`` with |G| < ``radius``."""
    nmax = np.ceil(radius * np.linalg.norm(primitive.cell, axis=1)).astype(int)
    grid = np.stack(np.meshgrid(*[np.arange(-m, m + 1) for m in nmax], indexing="ij"), -1).reshape(-1, 3)
    G = grid @ primitive.reciprocal_cell
    return G[np.linalg.norm(G, axis=1) < radius]


# -- the Ewald parameter ------------------------------------------------------------------------------------
def _fibonacci_sphere(n: int) -> np.ndarray:
    """n nearly uniform unit vectors (a Fibonacci spiral: z from -1 + 1/n to 1 - 1/n, golden-angle steps in phi,
    the i-th at phi = (i mod n) * pi (3 - sqrt 5), i = 1..n), (n, 3) with the spiral's axis as the second component."""
    i = np.arange(1, n + 1)
    off = 2.0 / n
    y = (i - 1) * off - 1 + 0.5 * off
    rad = np.sqrt(np.maximum(1 - y * y, 0.0))
    phi = np.mod(i, n) * np.pi * (3 - np.sqrt(5.0))
    v = np.stack([np.cos(phi) * rad, y, np.sin(phi) * rad], axis=1)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _real_space_kernel(x: np.ndarray, y: np.ndarray, inveps: np.ndarray) -> np.ndarray:
    """The real-space dipole kernel of the Ewald sum (Gonze and Lee 1997, eq. 73, with the Gaussian width scaled
    out): H = x x^T f0(y) - eps^-1 f1(y), f0 = y^-2 [3 erfc(y) / y^3 + (2 / sqrt pi) e^{-y^2} (3 / y^2 + 2)],
    f1 = erfc(y) / y^3 + (2 / sqrt pi) e^{-y^2} / y^2; (m, 3, 3) for x (m, 3), y (m,)."""
    c = 2 / np.sqrt(np.pi)
    e, ec = np.exp(-y * y), erfc(y)
    f0 = (3 * ec / y ** 3 + c * e * (3 / y ** 2 + 2)) / y ** 2
    f1 = ec / y ** 3 + c * e / y ** 2
    return x[:, :, None] * x[:, None, :] * f0[:, None, None] - inveps[None] * f1[:, None, None]


def _nn_distance(crystal) -> float:
    """Shortest distance (Å) between two different sites of the periodic crystal."""
    cell, f = crystal.cell, crystal.scaled_positions
    r = np.arange(-2, 3)
    R = np.stack(np.meshgrid(r, r, r, indexing="ij"), -1).reshape(-1, 3)
    d = (f[None, :, None, :] - f[:, None, None, :] + R[None, None, :, :]) @ cell
    dist = np.linalg.norm(d, axis=-1)
    return float(dist[dist > 1e-8].min())


def tdep_ewald_lambda(primitive, epsilon, bohr: float = BOHR_A, damping: float = 1e-5, n_points: int = 40) -> float:
    """TDEP's choice of the Ewald parameter (its "strategy 2"), in 1/Å *with* 2 pi (Lambda = result / 2 pi).

    The real-space part of the Ewald sum must be negligible at twice the nearest-neighbour distance d: lambda is the
    root, by Brent's method on [1e-8, 10] 1/bohr, of

        (1 / n) sum_p lambda^3 sum_ab |H_ab(lambda Delta_p, lambda D_p)| / sqrt(det eps) = damping,

    over ``n_points`` directions p of a Fibonacci sphere, Delta_p = eps^-1 (2 d p), D_p = sqrt(Delta_p . 2 d p), in
    bohr (H: the real-space kernel of Gonze and Lee 1997, eq. 73). Lengths are in bohr there, so the criterion
    depends on the unit: ``bohr`` is the bohr radius in Å (TDEP's own is 0.52917721067).

    Returns
    -------
    float
        lambda / bohr: the Ewald parameter in 1/Å with 2 pi (the Gaussian is exp(-K.eps.K / 4 lambda^2), K with 2 pi).
    """
    eps = np.asarray(epsilon, float)
    inveps = np.linalg.inv(eps)
    p = _fibonacci_sphere(n_points) * (2 * _nn_distance(primitive) / bohr)
    delta = p @ inveps.T
    D = np.sqrt(np.einsum("pa,pa->p", delta, p))
    s = 1 / np.sqrt(np.linalg.det(eps))

    def y(lam):
        return lam ** 3 * np.abs(_real_space_kernel(delta * lam, D * lam, inveps)).sum() * s / n_points - damping
    from scipy.optimize import brentq                # here: scipy.optimize is 23 MB of every process that imports this
    lam = brentq(y, 1e-8, 10.0, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=1000)
    return lam / bohr


# -- supercell constants and forces ---------------------------------------------------------------------------
def dipole_supercell_constants(primitive, smap, p2s, born, epsilon, ewald_lambda: float,
                               factor: float = NAC_FACTOR) -> np.ndarray:
    """Phi_dd of a supercell (compact, (n, N, 3, 3), eV/Å²) for the short-range convention: TDEP's Ewald
    parameter ``ewald_lambda`` (1/Å, with 2 pi; see :func:`tdep_ewald_lambda`), the G-sum converged.

    Full supercell constants = short-range ones + this."""
    ew = DipoleEwald.converged(primitive, born, epsilon, ewald_lambda / (2 * np.pi), factor)
    return ew.supercell_constants(smap, p2s, primitive)


def dipole_force_matrix(compact: np.ndarray, smap, p2s) -> np.ndarray:
    """The full (3N, 3N) matrix M of compact supercell constants (n, N, 3, 3): F_dd = -M u for u flattened (N * 3,).

    Built by lattice translation: Phi[i, j] = compact[atom(i), column of j seen from p2s[atom(i)]]."""
    n, N = compact.shape[:2]
    L0 = smap.lattice[p2s]
    i = np.arange(N)
    ci = smap.atom[i]
    cols = smap.index(smap.atom[None, :], smap.lattice[None, :, :] - smap.lattice[:, None, :] + L0[ci][:, None, :])
    full = compact[ci[:, None], cols]                                    # (N, N, 3, 3)
    return np.ascontiguousarray(full.transpose(0, 2, 1, 3).reshape(3 * N, 3 * N))


# -- the polar fit: the dipole-dipole forces taken out of every frame ---------------------------------------------
class SupercellConvolution:
    """F = -M u for the lattice-periodic operator M of compact supercell constants, by FFT over the supercell's
    translations: O(N log N) per frame instead of the dense (3N, 3N) product.

    The translations of a supercell S (``supercell.cell = S @ primitive.cell``) form the finite group Z^3 / Z^3 S; with
    the Smith normal form L S R = D a cell's lattice vector l maps to l R mod diag(D), a point of a d1 x d2 x d3 grid
    on which M is a convolution (one 3 x 3 block per pair of primitive atoms and grid offset). The displacements are
    gathered once (one precomputed permutation) into the layout (d1, d2, d3, 3n, T): real FFT over the leading grid
    axes (scipy.fft), one (3n, 3n) product per frequency for a block of T frames at once, inverse FFT, one gather back.

    Parameters
    ----------
    compact : ndarray (n, N, 3, 3)
        Constants in eV/Å² (row a: supercell atom ``p2s[a]``).
    smap : SupercellMap
    p2s : ndarray of int (n,)
    workers : int
        Threads of each FFT (default 1: the frames' chunks already run in parallel).
    """

    def __init__(self, compact: np.ndarray, smap, p2s, workers: int = 1):
        d, _, grid = _translation_grid(smap)
        self.shape = tuple(int(x) for x in d)
        self.workers = int(workers)
        n, N = len(p2s), len(smap.atom)
        atom = np.asarray(smap.atom, dtype=np.int64)
        cell = np.ravel_multi_index(tuple(grid.T), self.shape)
        off = np.ravel_multi_index(tuple(np.mod(grid[None] - grid[np.asarray(p2s)][:, None], d).transpose(2, 0, 1)),
                                   self.shape)                                            # (n, N)
        K = np.zeros((len(atom) // n, n, 3, n, 3))                                        # (cell, a, x, b, y)
        K[off, np.arange(n)[:, None], :, atom[None, :], :] = compact
        Kf = fftn(K.reshape(self.shape + (3 * n, 3 * n)), axes=(0, 1, 2), workers=self.workers)
        self.half = self.shape[:2] + (self.shape[2] // 2 + 1,)                   # real FFT: the last axis halved
        # -conj: the minus sign of F = -M u, and the convolution's sign of the grid offset
        self.kernel = np.ascontiguousarray(-Kf.conj()[:, :, :self.half[2]].reshape(-1, 3 * n, 3 * n))
        site = np.empty((n, len(atom) // n), dtype=np.int64)
        site[atom, cell] = np.arange(N)
        self.perm = (3 * site.T[:, :, None] + np.arange(3)).reshape(-1)                   # (cell, b, y) -> 3 j + y
        self.inverse = np.empty_like(self.perm)
        self.inverse[self.perm] = np.arange(len(self.perm))
        self.n = n

    def forces(self, u: np.ndarray) -> np.ndarray:
        """-M u, (T, N, 3) in eV/Å for u (T, N, 3) in Å (a few frames at a time: their arrays stay in cache)."""
        u = np.asarray(u, dtype=float)
        out = np.empty(u.shape)
        step = max(1, _FRAMES // u[0].size) if len(u) else 1
        for s in range(0, len(u), step):
            out[s:s + step] = self._forces(u[s:s + step])
        return out

    def _forces(self, u: np.ndarray) -> np.ndarray:
        """:meth:`forces` of one block of frames, (T, N, 3) eV/Å (a view)."""
        T, N = u.shape[:2]
        x = np.ascontiguousarray(u.reshape(T, 3 * N).T).take(self.perm, axis=0)          # (cell, (b, y), t)
        U = rfftn(x.reshape(self.shape + (-1,)), axes=(0, 1, 2), workers=self.workers, overwrite_x=True)
        F = np.matmul(self.kernel, U.reshape(len(self.kernel), 3 * self.n, T))            # (g, (a, x), t)
        f = irfftn(F.reshape(self.half + (-1,)), s=self.shape, axes=(0, 1, 2), workers=self.workers,
                   overwrite_x=True)
        return f.reshape(3 * N, T).take(self.inverse, axis=0).T.reshape(T, N, 3)


class DipoleSubtracted(DesignKernel):
    """A :class:`DesignKernel` that takes the dipole-dipole forces F_dd = -Phi_dd u out of every frame's forces before
    adding its rows: the normal equations of the short-range model (TDEP's polar fit).

    Built from a kernel (its tables shared, not copied) and the supercell's Phi_dd as a
    :class:`SupercellConvolution`. Phi_dd obeys the acoustic sum rule, so F_dd of a frame sums to zero and the mean
    force removed before stays removed.
    """

    def __init__(self, kernel: DesignKernel, dipole: SupercellConvolution):   # noqa: D107 - no DesignKernel.__init__
        self.__dict__.update(kernel.__dict__)
        self.dipole = dipole

    def dipole_forces(self, u: np.ndarray) -> np.ndarray:
        """F_dd = -Phi_dd u, (T, N, 3) eV/Å for u (T, N, 3) Å."""
        return self.dipole.forces(u)

    def accumulate(self, u: np.ndarray, f: np.ndarray, out, fold: int) -> None:
        """:meth:`DesignKernel.accumulate` of the short-range forces f - F_dd, and the sum of the frames'
        dipole-dipole energies 1/2 u Phi_dd u = -1/2 u . F_dd into ``out.dipole_energy`` (TDEP's U_dd, which the free
        energy takes out of U_MD with the short-range 1/2 u Phi u)."""
        f_dd = self.dipole_forces(u)
        super().accumulate(u, np.asarray(f, float) - f_dd, out, fold)
        out.dipole_energy[fold] += -0.5 * float(np.sum(np.asarray(u, float) * f_dd))


def polar_kernel(kernel: DesignKernel, primitive, supercell, smap, p2s, born, epsilon, ewald_lambda=None,
                 nac_factor=None) -> tuple:
    """The dipole-dipole constants of the supercell and the kernel that takes their forces out of every frame, from
    the settings ``born=``, ``epsilon=``, ``ewald_lambda=`` and ``nac_factor=`` of
    :class:`~trajmodes.forceconstants.fit.EffectiveForceConstants` (checked here).

    Returns
    -------
    born : ndarray (n_prim, 3, 3)
        One tensor per primitive atom, e (``born`` may give one per supercell atom, equal on equivalent atoms).
    epsilon : ndarray (3, 3)
    ewald_lambda : float
        1/Å with 2 pi (default :func:`tdep_ewald_lambda`).
    dipole_fc2 : ndarray (n_prim, N, 3, 3)
        Phi_dd, compact, eV/Å².
    kernel : DipoleSubtracted
        ``kernel`` with the forces -Phi_dd u taken out of every frame.
    """
    from trajmodes.resources import require_memory
    n, N = primitive.n_atoms, supercell.n_atoms
    Z = np.asarray(born, dtype=float)
    if Z.shape == (N, 3, 3) and N != n:
        per_prim = Z[p2s]
        off = np.abs(Z - per_prim[smap.atom]).max()
        if off > 1e-6 * max(np.abs(Z).max(), 1.0):
            raise ValueError(f"the Born charges of equivalent supercell atoms differ (by up to {off:.3g} e): give "
                             f"one tensor per primitive atom, shape ({n}, 3, 3), or equal ones on every copy")
        Z = per_prim
    elif Z.shape != (n, 3, 3):
        raise ValueError(f"born has shape {Z.shape}; expected ({n}, 3, 3) (one tensor Z[E, u] per atom of the "
                         f"{n}-atom primitive cell, in the order of primitive_) or ({N}, 3, 3) (one per supercell "
                         "atom)")
    Z, eps = check_born(Z, epsilon, n, where="EffectiveForceConstants(born=, epsilon=)", species=primitive.species,
                        limit=CHARGE_SUM_FIT, why=" (in a fit the charges decide which dipole forces are taken out "
                        "of the data, so a larger correction would fit another crystal than the one given)")
    lam = float(ewald_lambda) if ewald_lambda is not None else tdep_ewald_lambda(primitive, eps)
    factor = NAC_FACTOR if nac_factor is None else float(nac_factor)
    require_memory(8.0 * N * n * 9 * 4, f"the dipole-dipole constants of the {N}-atom supercell",
                   "fit a smaller supercell, or without born=")
    dipole_fc2 = dipole_supercell_constants(primitive, smap, p2s, Z, eps, lam, factor)
    return Z, eps, lam, dipole_fc2, DipoleSubtracted(kernel, SupercellConvolution(dipole_fc2, smap, p2s))
