"""Quasiharmonic free energy of a crystal with a short-ranged potential, its analytic derivatives with respect to
external (strain) and internal coordinates, and its minimisation at given temperature and pressure.

Following M. B. Taylor, G. D. Barrera, N. L. Allan, T. H. K. Barron and W. C. Mackrodt, Phys. Rev. B 56, 14380 (1997)
and M. B. Taylor, N. L. Allan, J. A. O. Bruno and G. D. Barrera, Phys. Rev. B 59, 353 (1999):

    F(e, u; T) = Phi_stat(e, u) + F_vib(e, u; T),      G = F + p V

    F_vib = (1/N) sum_{q,s} [h nu/2 + k T ln(1 - exp(-h nu / k T))]     (quantum)
          = (1/N) sum_{q,s} k T ln(h nu / k T)                             (classical, as classical MD samples)

per cell, on a Gamma-centred N-point mesh of reduced q held fixed under strain. The frequency derivatives come from
first-order perturbation theory (Taylor et al. 1999, eq. 9): d(nu^2)/dx = (THZ^2) <e_s| dD/dx |e_s>, with dD/dx the
exact lattice sums of the potential's third derivatives (no finite differences); within a degenerate set only the
trace matters for F, and the mode Grueneisen tensors diagonalise dD/dx inside the set.

Coordinates: six Voigt strains e = (e_xx, e_yy, e_zz, 2 e_yz, 2 e_xz, 2 e_xy) (F = 1 + eps deforms cell and
positions) and the 3n Cartesian internal displacements u of the cell's atoms (x_k = F (X_k + u_k)). The minimiser is
the paper's quasi-Newton scheme: the static Hessian as the first approximation to the free-energy Hessian, improved
by BFGS updates from the analytic gradients; every step re-expands around the current geometry. At the minimum the
free-energy Hessian (central differences of the analytic gradient) gives the isothermal elastic constants with the
internal strains relaxed, and d(gradient)/dT (analytic) the thermal-expansion tensor.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.grid import Grid
from trajmodes.lattice.qpoints import is_gamma, parse_mesh
from trajmodes.lattice.symmetry import cartesian_rotations, site_images
from trajmodes.lattice.strain import STRAIN_BASIS, deformed, strain_matrix, tensor_voigt, voigt_tensor
from trajmodes.phonons.harmonic import statistics
from trajmodes.phonons.harmonic.statistics import check_occupation
from trajmodes.units import EV_A3_GPA, KB_EV, THZ, THZ_EV
from trajmodes.lattice.spglib_calls import SYMPREC

__all__ = ["QuasiHarmonic", "FreeEnergyPoint", "FreeEnergyDerivatives", "ModeGruneisen", "NEAR_SPINODAL"]

#: a minimum whose isothermal bulk modulus has fallen below this fraction of its value at the lowest temperature is
#: flagged ``near_instability``: approaching the quasiharmonic spinodal, alpha ~ 1/B_T diverges
NEAR_SPINODAL = 0.25


def _voigt_volume_gradient(volume: float) -> np.ndarray:
    """dV/de for the Voigt strains at e = 0: V (1, 1, 1, 0, 0, 0)."""
    return volume * np.array([1.0, 1, 1, 0, 0, 0])


def stepped(crystal: Crystal, dx: np.ndarray) -> Crystal:
    """``crystal`` moved by the step ``dx`` (6 + 3n): Voigt strains, then Cartesian internal displacements (Å)."""
    n = crystal.n_atoms
    return deformed(crystal, dx[:6], dx[6:].reshape(n, 3))


def rigid_translations(n: int) -> np.ndarray:
    """Orthonormal basis (6 + 3n, 3) of the rigid translations of the internal coordinates of n atoms."""
    t = np.zeros((6 + 3 * n, 3))
    for a in range(3):
        t[6 + a::3, a][:n] = 1.0 / np.sqrt(n)
    return t


def without_translations(g: np.ndarray, n: int) -> np.ndarray:
    """A gradient or step (6 + 3n) with its rigid translation of the n atoms projected out."""
    t = rigid_translations(n)
    return g - t @ (t.T @ g)


def invertible_static_hessian(H: np.ndarray, n: int) -> np.ndarray:
    """The static Hessian (6 + 3n)^2 with the rigid translations given unit stiffness (so it is invertible)."""
    t = rigid_translations(n)
    P = np.eye(len(H)) - t @ t.T
    return P @ H @ P + t @ t.T


@dataclass(frozen=True)
class FreeEnergyPoint:
    """The quasiharmonic free energy and its parts at one geometry and temperature, per cell.

    Attributes
    ----------
    static : float
        Phi_stat, eV.
    vibrational : float
        F_vib, eV.
    free_energy : float
        F = Phi_stat + F_vib, eV.
    gibbs : float
        G = F + p V, eV.
    volume : float
        The volume that minimises G, Å³ (of the cell of the free-energy table).
    entropy, heat_capacity : float
        S and C_V, eV/K.
    internal_energy : float
        U = Phi_stat + U_vib, eV.
    """

    static: float
    vibrational: float
    free_energy: float
    gibbs: float
    volume: float
    entropy: float
    heat_capacity: float
    internal_energy: float


@dataclass(frozen=True)
class FreeEnergyDerivatives:
    """Analytic derivatives per cell with respect to the Voigt strains (6) and the internal displacements (3n): arrays
    (6 + 3n,) of dF/dx (eV, eV/Å), dF_vib/dx, dS/dx and dC_V/dx (eV/K, eV/(K Å))."""

    free_energy: np.ndarray
    vibrational_free_energy: np.ndarray
    entropy: np.ndarray
    heat_capacity: np.ndarray


@dataclass(frozen=True)
class ModeGruneisen:
    """Mode Grueneisen parameters on the mesh of a :class:`QuasiHarmonic` (:meth:`QuasiHarmonic.mode_gruneisen`).

    Parameters
    ----------
    frequencies : ndarray (nq, 3n)
        THz, ascending at every q (negative: imaginary).
    gruneisen : ndarray (nq, 3n)
        gamma = -d ln nu / d ln V, dimensionless; NaN at and below the cutoff frequency.
    """

    frequencies: np.ndarray
    gruneisen: np.ndarray


class QuasiHarmonic:
    """Quasiharmonic free energy, its analytic gradient and its minimum, for a crystal with a short-ranged potential.

    The minimisation (:meth:`minimize`, :meth:`free_energy_hessian`) is the quasi-Newton scheme of Taylor et al.
    (1999) (module docstring); at the minimum come the elastic constants, the thermal expansion, C_P and the
    Grueneisen parameter.

    Parameters
    ----------
    potential : trajmodes.potentials.terms.ShortRangePotential
        Pair or three-body potential (analytic static derivatives and dynamical-matrix derivatives).
    crystal : Crystal
        The reference cell (primitive or not) at which strains and internal displacements are zero.
    mesh : int, (3,) int or (3, 3) int
        Gamma-centred q mesh of the cell's reciprocal lattice, or a supercell matrix S (the q commensurate with the
        supercell S @ cell: an MD cell's own q, for a like-for-like comparison with that MD run). Only the
        irreducible q are computed (symmetry and time reversal).
    occupation : {"quantum", "classical"}
        Bose-Einstein statistics with zero-point energy, or classical oscillators (the limit classical MD samples).
    cutoff_frequency : float
        THz; modes at or below it (the acoustic modes at Gamma) are left out of F_vib. A mode at a general q below
        it, or an imaginary one, is an instability: the calculation stops with its q.
    symprec : float
        Distance tolerance of spglib for the crystal's symmetry (the irreducible q and the strains' permutations),
        Å (default 0.001).
    """

    def __init__(self, potential, crystal: Crystal, mesh=16, occupation: str = "quantum",
                 cutoff_frequency: float = 1e-3, symprec: float = SYMPREC):
        check_occupation(occupation)
        self.potential = potential
        self.crystal = crystal
        self.mesh = parse_mesh(mesh)
        self.occupation = occupation
        self.cutoff_frequency = float(cutoff_frequency)
        # time reversal only: nu(-q) = nu(q), one of each pair (mode_gruneisen's points)
        from trajmodes.resources import require_memory
        n_points = abs(round(np.linalg.det(self.mesh))) if self.mesh.ndim == 2 else float(np.prod(self.mesh, dtype=float))
        nb = 3 * crystal.n_atoms
        # at least the dynamical matrices and eigenvectors of every point (the derivatives come in blocks)
        require_memory(n_points * 32.0 * nb * nb, f"the dynamical matrices on the {n_points:.3g} q-points of the mesh "
                       f"{self.mesh.tolist()}", "use a smaller mesh")
        grid = Grid(self.mesh)
        self.qpoints = grid.qpoints[grid.irreducible]
        self.n_points = grid.n_points
        # the reference's space group: fractional rotations, translations and the atoms they permute; at every
        # geometry the operations it still obeys reduce the mesh to its irreducible points and symmetrise gradients
        ds = crystal.symmetry(symprec)
        self._W = np.asarray(ds.rotations, dtype=np.int64)
        self._t = np.asarray(ds.translations, dtype=float)
        self._perm = self._permutations(crystal, self._W, self._t, tol=10 * symprec)
        self._grids: dict[bytes, tuple] = {}

    @staticmethod
    def _permutations(crystal: Crystal, W, t, tol: float):
        """The atom each operation moves every atom onto, (n_ops, n); -1 where none lies within ``tol`` (Å)."""
        perm, _, dist = site_images(crystal, W, t)
        return np.where(dist < tol, perm, -1)

    def _symmetry(self, crystal: Crystal):
        """The reference's operations this geometry still obeys (to 1e-9 Å and 1e-10 in the metric): Cartesian
        rotations (m, 3, 3), atom permutations (m, n), the irreducible q, their weights (star sizes over N) and
        whether each is Gamma."""
        R = cartesian_rotations(self._W, crystal.cell)
        orth = np.abs(np.einsum("oab,ocb->oac", R, R) - np.eye(3)).max(axis=(1, 2)) < 1e-10
        perm = self._permutations(crystal, self._W, self._t, tol=1e-9)
        keep = orth & (perm >= 0).all(axis=1)
        key = keep.tobytes()
        if key not in self._grids:
            grid = Grid(self.mesh, rotations=self._W[keep])
            q = grid.qpoints[grid.irreducible]
            self._grids[key] = (q, grid.weights / self.n_points, is_gamma(q))
        q, w, gamma = self._grids[key]
        return R[keep], perm[keep], q, w, gamma

    def _symmetrised(self, g: np.ndarray, R: np.ndarray, perm: np.ndarray, step: bool = False) -> np.ndarray:
        """Group average of a gradient (6 + 3n): strain part as the tensor R sigma R^T (sigma_ij = dG/de_I), internal
        part g_{P k} = R g_k. ``step``: a displacement (e, u) instead, its strain part the tensor eps (e_I / 2 off the
        diagonal)."""
        n = perm.shape[1]
        shear = 0.5 if step else 1.0
        sig = np.einsum("oab,bc,odc->ad", R, voigt_tensor(g[:6], shear), R) / len(R)
        out = np.empty_like(g)
        out[:6] = tensor_voigt(sig, shear)
        gu = g[6:].reshape(n, 3)
        acc = np.zeros((n, 3))
        for o in range(len(R)):
            acc[perm[o]] += gu @ R[o].T
        out[6:] = (acc / len(R)).reshape(-1)
        return out

    # -- phonons at one geometry --------------------------------------------------------------------------------
    def _phonons(self, crystal: Crystal, derivatives: bool, qpoints=None, gamma=None):
        """Frequencies (nq, nb) THz and, with ``derivatives``, d(nu^2)/dx (nx, nq, nb) THz² for the 6 strains and
        3n internal coordinates at this geometry (degenerate sets: diagonal elements, whose sums are exact), at
        ``qpoints`` (default: every point of the mesh up to time reversal)."""
        pot = self.potential
        if qpoints is None:
            qpoints, gamma = self.qpoints, is_gamma(self.qpoints)
        if derivatives:
            dm = pot.dynamical_matrices(crystal, qpoints, derivatives=True)
            D, dDe, dDu = dm.matrices, dm.strain_derivatives, dm.internal_derivatives
        else:
            D = pot.dynamical_matrices(crystal, qpoints)
        lam, vec = np.linalg.eigh(D)
        nu = np.sign(lam) * np.sqrt(np.abs(lam)) * THZ
        soft = (nu <= self.cutoff_frequency) & ~gamma[:, None]
        soft |= gamma[:, None] & (np.arange(nu.shape[1]) >= 3) & (nu <= self.cutoff_frequency)
        if soft.any():
            iq, ib = np.argwhere(soft)[0]
            raise ValueError(f"unstable lattice: mode {ib} at q = {np.round(qpoints[iq], 4).tolist()} has "
                             f"frequency {nu[iq, ib]:.4g} THz (imaginary if negative); the quasiharmonic free energy "
                             "does not exist at this geometry (temperature too high, or a wrong structure)")
        if not derivatives:
            return nu, None
        # <e|dD|e> for every coordinate: one matrix product per coordinate block, no (nx, nq, nb, nb) temporary
        nx = dDe.shape[0] + dDu.shape[0]
        dlam = np.empty((nx,) + nu.shape)
        vc = vec.conj()
        for x, dD in enumerate(list(dDe) + list(dDu)):
            dlam[x] = np.einsum("qis,qis->qs", vc, dD @ vec).real
        return nu, dlam * THZ ** 2

    def _mode_mask(self, nu):
        return nu > self.cutoff_frequency

    def _vib_weights(self, nu, T, weights):
        """dF_vib/dnu per mode (eV/THz) and its temperature derivative (eV/(THz K)), times the q weights."""
        ok = self._mode_mask(nu)
        w = weights[:, None]
        nus = np.where(ok, nu, 1.0)
        if self.occupation == "classical":
            d = np.where(ok, KB_EV * T / nus, 0.0)
            dT = np.where(ok, KB_EV / nus, 0.0)
        elif T > 0:
            x = nus * THZ_EV / (KB_EV * T)
            n = statistics.occupations(nus, T)[0]
            d = np.where(ok, THZ_EV * (n + 0.5), 0.0)
            dT = np.where(ok, THZ_EV * (x / T) * n * (n + 1.0), 0.0)        # h dn/dT
        else:
            d = np.where(ok, 0.5 * THZ_EV, 0.0)
            dT = np.zeros_like(nu)
        return d * w, dT * w

    def _heat_capacity_slope(self, nu, T, weights):
        """dC_V/dnu per mode (eV/(K THz)), times the q weights: k (h/kT) n(n+1) [2x - x^2 (2n+1)], x = h nu/kT
        (zero for classical oscillators and at 0 K)."""
        ok = self._mode_mask(nu)
        if self.occupation == "classical" or T <= 0:
            return np.zeros_like(nu)
        nus = np.where(ok, nu, 1.0)
        x = nus * THZ_EV / (KB_EV * T)
        n = statistics.occupations(nus, T)[0]
        return np.where(ok, (THZ_EV / T) * n * (n + 1.0) * (2.0 * x - x * x * (2.0 * n + 1.0)), 0.0) * weights[:, None]

    def _vib_thermo(self, nu, T, weights) -> dict:
        """F_vib, S, C_V, U per cell (eV, eV/K) on the mesh at one temperature (``weights``: per q, summing to 1),
        from the modes' statistics (:mod:`trajmodes.phonons.harmonic.statistics`)."""
        ok = self._mode_mask(nu)
        w = weights[:, None] * ok
        if self.occupation == "classical" and T <= 0:
            # the limit T -> 0+ of classical oscillators: C_V = k_B per mode
            return dict(free_energy=0.0, entropy=0.0, heat_capacity=float(KB_EV * w.sum()), internal_energy=0.0)
        args = (nu, T, self.occupation, self.cutoff_frequency)
        return dict(free_energy=float((w * statistics.mode_free_energy(*args)[0]).sum()),
                    entropy=float((w * statistics.mode_entropy(*args)[0]).sum()),
                    heat_capacity=float((w * statistics.mode_heat_capacity(*args)[0]).sum()),
                    internal_energy=float((w * statistics.mode_energy(*args)[0]).sum()))

    # -- local quantities (derivatives at the given geometry, e = 0, u = 0 there) ---------------------------------
    def _local(self, crystal: Crystal, T: float, pressure: float, hessian: bool = True):
        """G, its gradient (6 + 3n), the static Hessian, d(gradient)/dT and the vibrational thermodynamics at the
        geometry ``crystal``, in its own local coordinates."""
        static = self.potential.static_derivatives(crystal, order=2 if hessian else 1)
        E, gs, Hs = static.energy, static.gradient, static.hessian
        R, perm, q, w, gamma = self._symmetry(crystal)
        nu, dlam = self._phonons(crystal, True, q, gamma)
        d, dT = self._vib_weights(nu, T, w)
        nus = np.where(nu > self.cutoff_frequency, nu, 1.0)
        dnu = dlam / (2.0 * nus)                                    # (nx, nq, nb) THz per unit coordinate
        gv = self._symmetrised(np.einsum("xqs,qs->x", dnu, d), R, perm)
        gT = self._symmetrised(np.einsum("xqs,qs->x", dnu, dT), R, perm)
        gC = self._symmetrised(np.einsum("xqs,qs->x", dnu, self._heat_capacity_slope(nu, T, w)), R, perm)
        th = self._vib_thermo(nu, T, w)
        V = abs(np.linalg.det(crystal.cell))
        g = gs + gv
        g[:6] += pressure * _voigt_volume_gradient(V)
        G = E + th["free_energy"] + pressure * V
        return dict(G=G, F=E + th["free_energy"], static=E, gradient=g, static_gradient=gs, vib_gradient=gv,
                    hessian=Hs, dgradient_dT=gT, heat_capacity_gradient=gC, volume=V, frequencies=nu,
                    **{f"vib_{k}": v for k, v in th.items()})

    def _to_global(self, g_local: np.ndarray, strain, internal) -> np.ndarray:
        """The gradient with respect to the reference's (e, u) from the local one at the deformed geometry.

        x = F (X + u): a change (de, du) moves x by d(eps) (X + u) + F du = [d(eps) F^-1] x + F du, i.e. local
        strain d(eps) F^-1 (its antisymmetric part a rotation, which leaves F unchanged) and local internal F du."""
        Fm = np.eye(3) + strain_matrix(strain)
        Finv = np.linalg.inv(Fm)
        n = (len(g_local) - 6) // 3
        sigma = voigt_tensor(g_local[:6])                  # local dG/d(eps_ij), a symmetric tensor
        # dG = sum_ij sigma_ij sym(d eps F^-1)_ij = sum sigma_ij (d eps F^-1)_ij (sigma symmetric)
        out = np.empty_like(g_local)
        out[:6] = np.einsum("ab,Iac,cb->I", sigma, STRAIN_BASIS, Finv)
        gu = g_local[6:].reshape(n, 3)
        out[6:] = (gu @ Fm).reshape(-1)                   # dG/du_k = F^T dG/dx_local
        return out

    # -- public: at a given geometry -------------------------------------------------------------------------------
    def free_energy(self, temperature: float, strain=None, internal=None, pressure: float = 0.0) -> FreeEnergyPoint:
        """Static, vibrational and total free energy per cell (eV) at the reference deformed by ``strain`` (Voigt, 6)
        and ``internal`` (n, 3) Å, with S (eV/K), C_V (eV/K), U and G = F + p V (``pressure`` in eV/Å³), as a
        :class:`FreeEnergyPoint`.

        Parameters
        ----------
        temperature : float
            Temperature of the phonon occupations, K.
        strain : array_like (6,), optional
            Voigt strains of the reference cell (engineering shears); default none.
        internal : array_like (n, 3), optional
            Cartesian displacements of the reference's atoms, Å; default none.
        pressure : float
            The external pressure p of G = F + p V, eV/Å³ (default 0).
        """
        cr = deformed(self.crystal, strain, internal)
        E = self.potential.energy(cr)
        _, _, q, w, gamma = self._symmetry(cr)
        nu, _ = self._phonons(cr, False, q, gamma)
        th = self._vib_thermo(nu, float(temperature), w)
        V = abs(np.linalg.det(cr.cell))
        return FreeEnergyPoint(static=E, vibrational=th["free_energy"], free_energy=E + th["free_energy"],
                               gibbs=E + th["free_energy"] + pressure * V, volume=V, entropy=th["entropy"],
                               heat_capacity=th["heat_capacity"], internal_energy=E + th["internal_energy"])

    def gradient(self, temperature: float, strain=None, internal=None, pressure: float = 0.0) -> np.ndarray:
        """Analytic gradient of G (eV per cell) with respect to the reference's Voigt strains (6) and internal
        Cartesian displacements (3n, eV/Å), at the geometry ``strain``, ``internal``.

        Parameters
        ----------
        temperature : float
            Temperature of the phonon occupations, K.
        strain : array_like (6,), optional
            Voigt strains of the reference cell (engineering shears); default none.
        internal : array_like (n, 3), optional
            Cartesian displacements of the reference's atoms, Å; default none.
        pressure : float
            The external pressure p of G = F + p V, eV/Å³ (default 0).
        """
        strain = np.zeros(6) if strain is None else np.asarray(strain, float)
        cr = deformed(self.crystal, strain, internal)
        loc = self._local(cr, float(temperature), pressure, hessian=False)
        return self._to_global(loc["gradient"], strain, internal)

    def derivatives(self, temperature: float, strain=None, internal=None) -> FreeEnergyDerivatives:
        """Analytic derivatives per cell with respect to the reference's Voigt strains (6) and internal displacements
        (3n) at the geometry ``strain``, ``internal``: ``free_energy`` (dF/dx, eV and eV/Å),
        ``vibrational_free_energy``,
        ``entropy`` (dS/dx = -d/dT dF_vib/dx, eV/K) and ``heat_capacity`` (dC_V/dx = sum dC/dnu dnu/dx, eV/K).

        Parameters
        ----------
        temperature : float
            The temperature, K.
        strain : array_like (6,), optional
            Voigt strains of the reference cell; default none.
        internal : array_like (3n,), optional
            Internal displacements, Å; default none.
        """
        strain = np.zeros(6) if strain is None else np.asarray(strain, float)
        loc = self._local(deformed(self.crystal, strain, internal), float(temperature), 0.0, hessian=False)
        glob = lambda g: self._to_global(g, strain, internal)           # noqa: E731
        return FreeEnergyDerivatives(free_energy=glob(loc["gradient"]),
                                     vibrational_free_energy=glob(loc["vib_gradient"]),
                                     entropy=-glob(loc["dgradient_dT"]),
                                     heat_capacity=glob(loc["heat_capacity_gradient"]))

    def mode_gruneisen(self, strain=None, internal=None, degeneracy_tol: float = 1e-4) -> ModeGruneisen:
        """Mode Grueneisen parameters gamma = -d ln nu / d ln V (hydrostatic strain, internal coordinates fixed) on
        the mesh (the q of :attr:`qpoints`), from eq. 9 of Taylor et al. (1999), degenerate sets diagonalised.

        Parameters
        ----------
        strain : array_like (6,), optional
            Voigt strains of the reference cell; default none.
        internal : array_like (3n,), optional
            Internal displacements, Å; default none.
        degeneracy_tol : float
            Frequencies closer than this (THz) form a degenerate set.

        Returns
        -------
        ModeGruneisen
            ``frequencies`` (THz) and ``gruneisen`` (dimensionless) of every mode, (nq, 3n).
        """
        cr = deformed(self.crystal, strain, internal)
        dm = self.potential.dynamical_matrices(cr, self.qpoints, derivatives=True)
        D, dDe = dm.matrices, dm.strain_derivatives
        lam, vec = np.linalg.eigh(D)
        dV = (dDe[0] + dDe[1] + dDe[2]) / 3.0                       # d D / d ln V, hydrostatic
        M = np.einsum("qis,qij,qjt->qst", vec.conj(), dV, vec, optimize=True)
        nu = np.sign(lam) * np.sqrt(np.abs(lam)) * THZ
        from trajmodes.phonons.harmonic.degeneracy import diagonalize_degenerate
        dl = diagonalize_degenerate(M, nu, degeneracy_tol)
        with np.errstate(divide="ignore", invalid="ignore"):
            gam = np.where(nu > self.cutoff_frequency, -dl / (2.0 * lam), np.nan)
        return ModeGruneisen(frequencies=nu, gruneisen=gam)

    # -- the minimum of the free energy ----------------------------------------------------------------------
    def _relax(self, crystal: Crystal, T: float, pressure: float, internal: str, tol: float, max_iter: int):
        """Quasi-Newton minimisation from ``crystal``: (crystal, local quantities at the minimum, iterations)."""
        n = crystal.n_atoms
        loc = self._local(crystal, T, pressure)
        H = None
        for it in range(1, max_iter + 1):
            g = without_translations(loc["gradient"], n)
            if internal == "fixed":
                g[6:] = 0.0
            if H is None:
                H = invertible_static_hessian(loc["hessian"], n)
            if internal == "zsisa":
                # internal coordinates at zero static internal stress; the strains minimise G along that path
                Hs = loc["hessian"]
                inv = np.linalg.pinv(Hs[6:, 6:], rcond=1e-10)
                du_de = -inv @ Hs[6:, :6]
                ge = loc["gradient"][:6] + du_de.T @ loc["gradient"][6:]
                He = Hs[:6, :6] + Hs[:6, 6:] @ du_de
                de = -np.linalg.solve(He + 1e-12 * np.eye(6), ge)
                du = -inv @ (loc["static_gradient"][6:]) + du_de @ de
                dx = np.concatenate([de, du])
            else:
                dx = -np.linalg.pinv(H, rcond=1e-12) @ g
                if internal == "fixed":
                    dx[6:] = 0.0
            R, perm = self._symmetry(crystal)[:2]
            dx = self._symmetrised(dx, R, perm, step=True)           # round-off must not break the symmetry
            big = np.abs(dx[:6]).max() / 0.02
            if big > 1:
                dx /= big                                   # no strain step above 2 %
            new = stepped(crystal, dx)
            new_loc = self._local(new, T, pressure)
            # BFGS update of the Hessian in local coordinates (the frames differ by O(dx^2))
            y = without_translations(new_loc["gradient"], n) - g
            if internal == "fixed":
                y[6:] = 0.0
            sy = dx @ y
            if internal != "zsisa" and sy > 1e-16:
                Hs_ = H @ dx
                H = H + np.outer(y, y) / sy - np.outer(Hs_, Hs_) / (dx @ Hs_)
            crystal, loc = new, new_loc
            if np.abs(dx[:6]).max() < tol and np.abs(dx[6:]).max(initial=0.0) < tol * 10:
                return crystal, loc, it
        raise RuntimeError(f"the free-energy minimisation at {T:g} K did not converge in {max_iter} steps "
                           f"(last step {np.abs(dx).max():.3g}); the structure may be unstable at this temperature")

    def _operation_matrices(self, R: np.ndarray, perm: np.ndarray, step: bool) -> np.ndarray:
        """Each operation as a matrix (m, 6 + 3n, 6 + 3n) on steps (``step``) or on gradients."""
        nx = 6 + 3 * perm.shape[1]
        out = np.empty((len(R), nx, nx))
        for o in range(len(R)):
            for i in range(nx):
                v = np.zeros(nx)
                v[i] = 1.0
                out[o, :, i] = self._symmetrised(v, R[o:o + 1], perm[o:o + 1], step=step)
        return out

    def free_energy_hessian(self, crystal: Crystal, temperature: float, pressure: float = 0.0,
                            step: float = 1e-5) -> np.ndarray:
        """The Hessian of G (6 + 3n)^2 at ``crystal`` in its local coordinates: central differences of the analytic
        gradient (step in strain and in Å), one column per orbit of coordinates under the crystal's symmetry
        (H S v = S' H v for every operation), symmetrised.

        Parameters
        ----------
        crystal : Crystal
            The geometry at which the Hessian is taken (a minimum of G: :meth:`minimize`).
        temperature : float
            Temperature of the phonon occupations, K.
        pressure : float
            The external pressure p of G = F + p V, eV/Å³ (default 0).
        step : float
            Step of the central differences, in strain and in Å (default 1e-5).
        """
        T = float(temperature)
        n = crystal.n_atoms
        nx = 6 + 3 * n
        R, perm = self._symmetry(crystal)[:2]
        Sx, Sg = self._operation_matrices(R, perm, True), self._operation_matrices(R, perm, False)
        V, HV = np.zeros((0, nx)), np.zeros((0, nx))
        for i in range(nx):
            e = np.zeros(nx)
            e[i] = 1.0
            if len(V) and np.linalg.norm(e - V.T @ np.linalg.lstsq(V.T, e, rcond=None)[0]) < 1e-8:
                continue                                          # already spanned by the images of earlier columns
            dx = step * e
            gp = self._to_global(self._local(stepped(crystal, dx), T, pressure, hessian=False)["gradient"],
                                 dx[:6], dx[6:])
            gm = self._to_global(self._local(stepped(crystal, -dx), T, pressure, hessian=False)["gradient"],
                                 -dx[:6], -dx[6:])
            col = (gp - gm) / (2 * step)
            V = np.concatenate([V, Sx[:, :, i]])
            HV = np.concatenate([HV, Sg @ col])
        H = np.linalg.lstsq(V, HV, rcond=None)[0].T             # H V^T = HV^T
        return 0.5 * (H + H.T)

    def minimize(self, temperatures, pressure: float = 0.0, internal: str = "relax", tol: float = 1e-9,
                 max_iter: int = 60, properties: bool = True):
        """Minimise G = Phi_stat + F_vib + p V over the strains and internal coordinates at each temperature.

        Parameters
        ----------
        temperatures : sequence of float
            K; solved in increasing order, each from the previous minimum.
        pressure : float
            The external pressure p of G = F + p V, GPa.
        internal : {"relax", "zsisa", "fixed"}
            ``relax``: full minimisation over internal coordinates; ``zsisa``: internal coordinates at zero static
            internal stress (the zero-static-internal-stress approximation, Allan et al., Phys. Rev. B 54 (1996);
            Taylor et al. 1999, Sec. V); ``fixed``: internal coordinates held at the reference's fractions.
        tol : float
            Convergence: largest strain step (internal steps 10 tol in Å).
        max_iter : int
            Most quasi-Newton steps per temperature; more is a RuntimeError naming the temperature.
        properties : bool
            Also the free-energy Hessian at each minimum (central differences of the analytic gradient): elastic
            constants, bulk moduli, thermal expansion, C_P and the Grueneisen parameter.

        Returns
        -------
        xarray.Dataset over ``temperature``: ``cell`` (cell_vector, cartesian) Å, ``scaled_positions`` (atom,
        reduced), ``volume`` Å³, ``lattice_parameters`` (cell_vector: a, b, c) Å, ``free_energy`` F and
        ``gibbs_energy`` G eV per cell, ``static_energy``, ``entropy``, ``heat_capacity_v`` (eV/K per cell); with
        ``properties``: ``thermal_expansion`` (Voigt, 1/K),
        ``volumetric_expansion`` 1/K, ``elastic_constants_t``/``_s`` (6, 6) GPa (isothermal, adiabatic, internal
        strains relaxed), ``bulk_modulus_t``/``_s`` GPa (Reuss), ``heat_capacity_p`` eV/K, ``gruneisen``
        (V alpha_V B_T / C_V); ``iterations``. Where the lattice has no minimum (an imaginary mode: the
        quasiharmonic free energy stops existing on heating), a RuntimeWarning says so and the results stop at the
        last temperature with one (attribute ``unstable``); at the first temperature it is a ValueError.
        """
        if internal not in ("relax", "zsisa", "fixed"):
            raise ValueError(f"internal must be 'relax', 'zsisa' or 'fixed', not {internal!r}")
        T = np.sort(np.atleast_1d(np.asarray(temperatures, dtype=float)))
        if (T < 0).any():
            raise ValueError("temperatures must be >= 0 K")
        p = float(pressure) / EV_A3_GPA
        from trajmodes.resources import one_blas_thread
        with one_blas_thread():                     # 3n x 3n matrices: BLAS threads only cost here
            return self._minimize(T, p, float(pressure), internal, tol, max_iter, properties)

    def _minimize(self, T, p, pressure, internal, tol, max_iter, properties):
        import xarray as xr
        crystal = self.crystal
        n = crystal.n_atoms
        rows = []
        unstable = ""
        for t in T:
            try:
                crystal, loc, it = self._relax(crystal, t, p, internal, tol, max_iter)
            except (ValueError, RuntimeError) as exc:
                if not rows:
                    raise ValueError(f"at {t:g} K: {exc}") from None
                unstable = f"no minimum at {t:g} K ({exc}); the results stop at {T[len(rows) - 1]:g} K"
                warnings.warn(f"quasiharmonic minimisation: {unstable}", RuntimeWarning, stacklevel=2)
                T = T[:len(rows)]
                break
            row = dict(cell=crystal.cell.copy(), scaled_positions=crystal.scaled_positions.copy(),
                       volume=loc["volume"], free_energy=loc["F"], gibbs_energy=loc["G"], static_energy=loc["static"],
                       entropy=loc["vib_entropy"], heat_capacity_v=loc["vib_heat_capacity"], iterations=it)
            if properties:
                row.update(self._properties(crystal, loc, t, p, internal))
            rows.append(row)
        V0 = rows[0]["volume"]
        ds = xr.Dataset(
            dict(cell=(("temperature", "cell_vector", "cartesian"), np.array([r["cell"] for r in rows]),
                       {"units": "Angstrom"}),
                 scaled_positions=(("temperature", "atom", "reduced"), np.array([r["scaled_positions"] for r in rows])),
                 lattice_parameters=(("temperature", "cell_vector"),
                                     np.linalg.norm([r["cell"] for r in rows], axis=-1),
                                     {"units": "Angstrom", "long_name": "lengths of the vectors of the cell minimised "
                                      "(the crystal given: for the prototypes, the primitive cell, e.g. a / sqrt(2) of "
                                      "a cubic fcc or diamond crystal), not the cube edge"}),
                 volume=("temperature", np.array([r["volume"] for r in rows]), {"units": "Angstrom^3 per cell"}),
                 free_energy=("temperature", np.array([r["free_energy"] for r in rows]), {"units": "eV per cell"}),
                 gibbs_energy=("temperature", np.array([r["gibbs_energy"] for r in rows]), {"units": "eV per cell"}),
                 static_energy=("temperature", np.array([r["static_energy"] for r in rows]), {"units": "eV per cell"}),
                 entropy=("temperature", np.array([r["entropy"] for r in rows]), {"units": "eV/K per cell"}),
                 heat_capacity_v=("temperature", np.array([r["heat_capacity_v"] for r in rows]),
                                  {"units": "eV/K per cell"}),
                 iterations=("temperature", np.array([r["iterations"] for r in rows]))),
            coords=dict(temperature=("temperature", T, {"units": "K"}), cell_vector=["a", "b", "c"],
                        voigt=["xx", "yy", "zz", "yz", "xz", "xy"], species=("atom", list(self.crystal.species))),
            attrs=dict(mesh=self.mesh.reshape(-1).tolist(), occupation=self.occupation, pressure_GPa=float(pressure),
                       internal=internal, n_atoms=n, volume_T0=V0, unstable=unstable,
                       method="quasiharmonic free-energy minimisation (Taylor et al., Phys. Rev. B 59, 353 (1999))"))
        if properties:
            for name, dims, unit in (("thermal_expansion", ("voigt",), "1/K"), ("volumetric_expansion", (), "1/K"),
                                     ("elastic_constants_t", ("voigt", "voigt2"), "GPa"),
                                     ("elastic_constants_s", ("voigt", "voigt2"), "GPa"),
                                     ("bulk_modulus_t", (), "GPa"), ("bulk_modulus_s", (), "GPa"),
                                     ("heat_capacity_p", (), "eV/K per cell"), ("gruneisen", (), "")):
                ds[name] = (("temperature",) + dims, np.array([r[name] for r in rows]), {"units": unit})
            ds["gruneisen"].attrs["long_name"] = ("thermodynamic Grueneisen parameter V alpha_V B_T / C_V; NaN where "
                                                  "C_V = 0 (0 K with quantum occupations: 0/0)")
            ds = ds.assign_coords(voigt2=["xx", "yy", "zz", "yz", "xz", "xy"])
            bt = ds["bulk_modulus_t"].values
            ds["near_instability"] = ("temperature", bt < NEAR_SPINODAL * bt[0], {
                "long_name": f"B_T below {NEAR_SPINODAL:g} of its value at the lowest temperature: the free-energy "
                             "minimum is about to vanish on heating (B_T -> 0, alpha and C_P diverge), where the "
                             "quasiharmonic approximation no longer describes the crystal"})
        return ds

    def _properties(self, crystal: Crystal, loc: dict, T: float, p: float, internal: str) -> dict:
        """Elastic constants, expansion, C_P and the Grueneisen parameter at a minimum."""
        n = crystal.n_atoms
        H = self.free_energy_hessian(crystal, T, p)
        P = np.eye(len(H)) - rigid_translations(n) @ rigid_translations(n).T
        V = loc["volume"]
        Hee, Heu, Huu = H[:6, :6], H[:6, 6:], H[6:, 6:]
        Huu_inv = np.linalg.pinv(P[6:, 6:] @ Huu @ P[6:, 6:], rcond=1e-10)
        if internal == "fixed":
            Ct = Hee / V
        else:
            Ct = (Hee - Heu @ Huu_inv @ Heu.T) / V                     # eV/A^3, internal strains relaxed
        gT = loc["dgradient_dT"]
        if internal == "fixed":
            alpha = -np.linalg.solve(Hee, gT[:6])
        else:
            full = np.linalg.pinv(P @ H @ P, rcond=1e-10)
            alpha = -(full @ (P @ gT))[:6]
        aV = alpha[:3].sum()
        S = np.linalg.inv(Ct)
        BT = 1.0 / S[:3, :3].sum()
        Cv = loc["vib_heat_capacity"]
        b = Ct @ alpha                                                   # eV/(A^3 K)
        Cp = Cv + V * T * alpha @ b
        Cs = Ct + (V * T / Cv) * np.outer(b, b) if Cv > 0 else Ct.copy()
        BS = 1.0 / np.linalg.inv(Cs)[:3, :3].sum()
        gam = V * aV * BT / Cv if Cv > 0 else np.nan
        return dict(thermal_expansion=alpha, volumetric_expansion=aV, elastic_constants_t=Ct * EV_A3_GPA,
                    elastic_constants_s=Cs * EV_A3_GPA, bulk_modulus_t=BT * EV_A3_GPA, bulk_modulus_s=BS * EV_A3_GPA,
                    heat_capacity_p=Cp, gruneisen=gam)
