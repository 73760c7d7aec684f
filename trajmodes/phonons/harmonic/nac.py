"""Non-analytic (dipole-dipole) correction of the dynamical matrix of polar crystals.

Atoms carry Born effective charges Z*_k (3x3, units of e; ``Z[k, E, u]``: field direction E, displacement
u, phonopy's BORN convention) in a medium of high-frequency dielectric tensor eps_inf. Their dipoles add a
long-range part to the force constants whose q -> 0 limit depends on the direction of q: the LO-TO
splitting. Two schemes, both as phonopy (4.x) computes them so that the frequencies agree to round-off:

``"gonze"`` (Gonze & Lee, PRB 55, 10355 (1997); phonopy's default)
    The dipole-dipole dynamical matrix as an Ewald sum over reciprocal vectors K = G + q only,

        C_kk'(q) = f [ sum_G Z_k^T K K^T Z_k' / (K.eps.K) exp(-K.eps.K / 4 Lambda^2) e^{i 2pi G.(r_k - r_k')}
                       - delta_kk' sum_k'' (same at q = 0, G != 0) ],   f = (e^2 / 4 pi eps0) 4 pi / V,

    (K without 2 pi, 1/Å; the K = 0 term is left out, or replaced by the q -> 0 limit q^ q^T / (q^.eps.q^)
    along a given direction). The supercell constants already hold the dipole part on the commensurate
    grid: it is removed there (short-range constants Phi_sr = Phi - F^-1[C(q_c)]), the short-range part
    interpolated with the Wigner-Seitz images, and C(q) added back at any q. G-sphere and Lambda as
    phonopy: |G| < (3 * 300 / (4 pi V))^(1/3), exp(-G_c^2 tr(eps)/3 / 4 Lambda^2) = 1e-10.

``"wang"`` (Wang et al., J. Phys.: Condens. Matter 22, 202201 (2010))
    A constant added to every supercell constant, Phi_kj += f (q.Z_k)(q.Z_k')^T / (q.eps.q) / N_c, then
    the usual interpolation: exact LO-TO at Gamma, smooth in between.

At q = 0 without a direction both give the analytic (TO-only) matrix, as phonopy.

Short-range constants (``ForceConstants.short_range``: TDEP's convention, the dipole-dipole forces taken out of the
forces before the fit; see :mod:`trajmodes.forceconstants.dipole` and docs/polar.md) hold no dipole part: "gonze"
then removes nothing on the grid and adds C(q), with the Ewald parameter the constants were made with and the G-sum
converged for it, to their interpolation at every q. The Ewald sum itself is
:class:`trajmodes.forceconstants.dipole.DipoleEwald`, shared with the fit.

Each scheme is a strategy of :class:`trajmodes.phonons.harmonic.dynamical.DynamicalMatrix`: ``supercell_constants(fc)``
(the dipole part to remove from the supercell constants, or None), ``prepare(dm)`` (tables from the lattice sum)
and ``term(dm, q, dirs)`` (the correction at a block of q, not mass-weighted).
"""
from __future__ import annotations

import numpy as np

from trajmodes.units import NAC_FACTOR

__all__ = ["GonzeLee", "WangNAC", "nac_strategy", "charge_term"]



def charge_term(q_cart: np.ndarray, born: np.ndarray, epsilon: np.ndarray, factor: float) -> np.ndarray:
    """f (q.Z_k)_a (q.Z_k')_b / (q.eps.q), shape (nq, n, 3, n, 3) in eV/Å² (``factor`` = f in eV/Å² * Å²).

    Rows with q = 0 are zero.
    """
    qz = np.einsum("qc,kca->qka", q_cart, born)                          # (nq, n, 3)
    den = np.einsum("qa,ab,qb->q", q_cart, epsilon, q_cart)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(den > 0, factor / den, 0.0)
    return s[:, None, None, None, None] * qz[:, :, :, None, None] * qz[:, None, None, :, :]


class GonzeLee:
    """Reciprocal-space Ewald sum of the dipole-dipole dynamical matrix (phonopy's default NAC), on the one Ewald sum
    of :class:`trajmodes.forceconstants.dipole.DipoleEwald`.

    Parameters
    ----------
    primitive : Crystal
    born : (n, 3, 3) array, e
    epsilon : (3, 3) array
    factor : float
        e^2 / (4 pi eps0) in eV Å (:data:`NAC_FACTOR`).
    num_G_points : int
        Sets the G-sphere radius (phonopy's 300).
    ewald_lambda : float, optional
        For short-range constants (TDEP's convention, :attr:`ForceConstants.short_range`): the Ewald parameter they
        were made with, 1/Å with 2 pi (TDEP's lambda / bohr). The G-sum is then converged for it
        (:meth:`~trajmodes.forceconstants.dipole.DipoleEwald.converged`) and the supercell constants are taken as
        they are (nothing removed on the commensurate grid): C(q) is added to their interpolation at every q.
    """

    def __init__(self, primitive, born, epsilon, factor: float = NAC_FACTOR, num_G_points: int = 300,
                 ewald_lambda: float | None = None):
        # here, not at the top: the Ewald sum imports scipy.special, scipy.fft and the fit's row kernel (scipy.linalg,
        # scipy.sparse; 20 MB), which the phonons of constants without Born charges never use
        from trajmodes.forceconstants.dipole import DipoleEwald
        self.short_range = ewald_lambda is not None
        if self.short_range:
            self.ewald = DipoleEwald.converged(primitive, born, epsilon, ewald_lambda / (2 * np.pi), factor)
        else:
            self.ewald = DipoleEwald.phonopy(primitive, born, epsilon, factor, num_G_points)
            self.G_cutoff = self.ewald.G_cutoff
        self.born, self.epsilon = self.ewald.born, self.ewald.epsilon
        self.rec = primitive.reciprocal_cell                             # rows, 1/A, no 2 pi
        self.pos = primitive.positions
        self.prefactor = self.ewald.prefactor
        self.G, self.Lambda, self.dd_q0 = self.ewald.G, self.ewald.Lambda, self.ewald.dd_q0

    def matrix(self, q_cart: np.ndarray, q_dir_cart=None) -> np.ndarray:
        """Dipole-dipole term C(q), shape (nq, n, 3, n, 3), eV/Å² (not mass-weighted).

        ``q_dir_cart`` (3,) or (nq, 3): the direction of approach used where G + q = 0.
        """
        return self.ewald.matrix(q_cart, q_dir_cart)

    def prepare(self, dm) -> None:
        """Nothing to tabulate: the Ewald sum needs only the primitive cell."""

    def term(self, dm, qs: np.ndarray, dirs) -> np.ndarray:
        """C(q) for a block of reduced ``qs`` (``dirs``: Cartesian directions of approach, or None)."""
        return self.matrix(qs @ self.rec, dirs)

    def supercell_constants(self, fc) -> np.ndarray | None:
        """The dipole part on the supercell, compact layout (n, N, 3, 3), eV/Å²: the inverse lattice
        Fourier transform of C(q) over the commensurate q (taken in the first Brillouin zone); None for
        short-range constants (nothing to remove)."""
        if self.short_range:
            return None
        return self.ewald.supercell_constants(fc.smap, fc.p2s, fc.primitive)


class WangNAC:
    """The constant-shift correction of Wang et al. (J. Phys.: Condens. Matter 22, 202201 (2010)), as phonopy.

    Parameters as :class:`GonzeLee` (without the G-sphere).
    """

    def __init__(self, primitive, born, epsilon, factor: float = NAC_FACTOR):
        self.born = np.asarray(born, dtype=float)
        self.epsilon = np.asarray(epsilon, dtype=float)
        self.rec = primitive.reciprocal_cell
        self.prefactor = factor * 4 * np.pi / primitive.volume
        self._countT = None

    def supercell_constants(self, fc) -> None:
        """None: the supercell constants are used as they are."""
        return None

    def prepare(self, dm) -> None:
        """The Wigner-Seitz weights per lattice vector and pair of primitive atoms, (n*n, nR)."""
        ridx, kk, _, kp, _, nR = dm.pairs
        n = dm.force_constants.n_prim
        count = np.zeros((nR, n, n))
        np.add.at(count, (ridx, kk, kp), dm.weights)
        self._countT = np.ascontiguousarray(count.reshape(nR, n * n).T)
        self.n_cells = dm.force_constants.smap.n_cells

    def term(self, dm, qs: np.ndarray, dirs) -> np.ndarray:
        """f (q.Z_k)(q.Z_k')^T / (q.eps.q) / N_c interpolated as the supercell constants are, (nq, n, 3, n, 3)."""
        from trajmodes.forceconstants.dipole import Q_ZERO
        n = len(self.born)
        qc = qs @ self.rec
        at_gamma = np.linalg.norm(qc, axis=1) < Q_ZERO
        qv = qc.copy()
        if dirs is not None:
            qv[at_gamma] = dirs[at_gamma]
        else:
            qv[at_gamma] = 0.0
        C = charge_term(qv, self.born, self.epsilon, self.prefactor) / self.n_cells
        W = dm.lattice_sum(self._countT, dm.phase(qs)).reshape(len(qs), n, n)
        W *= np.exp(2j * np.pi * np.einsum("qx,klx->qkl", qs, dm.dpos))
        return C * W[:, :, None, :, None]


def nac_strategy(name, fc, factor: float):
    """The correction ``name`` ("gonze", "wang" or None) for the Born charges and dielectric tensor of ``fc``.

    Short-range constants (``fc.short_range``, TDEP's convention) take "gonze" with their own Ewald parameter and
    nothing removed from them; "wang" needs full constants (:meth:`ForceConstants.with_convention`)."""
    if not name:
        return None
    if getattr(fc, "short_range", False):
        if name != "gonze":
            raise ValueError("short-range force constants (the dipole-dipole part taken out, TDEP's convention) add "
                             "it back with the Gonze-Lee sum: use nac='gonze', or convert them to full constants "
                             "first (fc.with_convention('full'))")
        return GonzeLee(fc.primitive, fc.born, fc.epsilon, factor, ewald_lambda=fc.ewald_lambda)
    cls = GonzeLee if name == "gonze" else WangNAC
    return cls(fc.primitive, fc.born, fc.epsilon, factor)
