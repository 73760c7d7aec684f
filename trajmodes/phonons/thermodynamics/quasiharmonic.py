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

from dataclasses import dataclass

import numpy as np

from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.grid import Grid, parse_mesh
from trajmodes.lattice.qpoints import is_gamma
from trajmodes.lattice.symmetry import cartesian_rotations, site_images
from trajmodes.lattice.strain import STRAIN_BASIS, deformed, strain_matrix, tensor_voigt, voigt_tensor
from trajmodes.phonons.harmonic import statistics
from trajmodes.phonons.thermodynamics.equilibrium import FreeEnergyMinimum
from trajmodes.phonons.harmonic.statistics import check_occupation
from trajmodes.units import KB_EV, THZ, THZ_EV
from trajmodes.lattice.spglib_calls import SYMPREC

__all__ = ["QuasiHarmonic", "FreeEnergyPoint", "FreeEnergyDerivatives", "ModeGruneisen"]


def _voigt_volume_gradient(volume: float) -> np.ndarray:
    """dV/de for the Voigt strains at e = 0: V (1, 1, 1, 0, 0, 0)."""
    return volume * np.array([1.0, 1, 1, 0, 0, 0])


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
        A^3.
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
    (6 + 3n,) of dF/dx (eV, eV/A), dF_vib/dx, dS/dx and dC_V/dx (eV/K, eV/(K A))."""

    free_energy: np.ndarray
    vibrational_free_energy: np.ndarray
    entropy: np.ndarray
    heat_capacity: np.ndarray


@dataclass(frozen=True)
class ModeGruneisen:
    """Mode Grueneisen parameters on the mesh of a :class:`QuasiHarmonic` (:meth:`QuasiHarmonic.mode_gruneisen`).

    Attributes
    ----------
    frequencies : ndarray (nq, 3n)
        THz, ascending at every q (negative: imaginary).
    gruneisen : ndarray (nq, 3n)
        gamma = -d ln nu / d ln V, dimensionless; NaN at and below the cutoff frequency.
    """

    frequencies: np.ndarray
    gruneisen: np.ndarray


class QuasiHarmonic(FreeEnergyMinimum):
    """Quasiharmonic free energy, its analytic gradient and its minimum, for a crystal with a short-ranged potential.

    The minimisation (:meth:`minimize`, :meth:`free_energy_hessian`) is :mod:`trajmodes.phonons.thermodynamics.equilibrium`.

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
        """The atom each operation moves every atom onto, (n_ops, n); -1 where none lies within ``tol`` (A)."""
        perm, _, dist = site_images(crystal, W, t)
        return np.where(dist < tol, perm, -1)

    def _symmetry(self, crystal: Crystal):
        """The reference's operations this geometry still obeys (to 1e-9 A and 1e-10 in the metric): Cartesian
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
        """Frequencies (nq, nb) THz and, with ``derivatives``, d(nu^2)/dx (nx, nq, nb) THz^2 for the 6 strains and
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
        and ``internal`` (n, 3) A, with S (eV/K), C_V (eV/K), U and G = F + p V (``pressure`` in eV/A^3), as a
        :class:`FreeEnergyPoint`."""
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
        Cartesian displacements (3n, eV/A), at the geometry ``strain``, ``internal``."""
        strain = np.zeros(6) if strain is None else np.asarray(strain, float)
        cr = deformed(self.crystal, strain, internal)
        loc = self._local(cr, float(temperature), pressure, hessian=False)
        return self._to_global(loc["gradient"], strain, internal)

    def derivatives(self, temperature: float, strain=None, internal=None) -> FreeEnergyDerivatives:
        """Analytic derivatives per cell with respect to the reference's Voigt strains (6) and internal displacements
        (3n) at the geometry ``strain``, ``internal``: ``free_energy`` (dF/dx, eV and eV/A), ``vibrational_free_energy``,
        ``entropy`` (dS/dx = -d/dT dF_vib/dx, eV/K) and ``heat_capacity`` (dC_V/dx = sum dC/dnu dnu/dx, eV/K)."""
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
