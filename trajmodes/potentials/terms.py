"""Interaction terms of a periodic crystal: the common currency of the pair and three-body potentials.

A short-ranged potential's static energy per cell is a sum of terms, each a translationally and rotationally
invariant function of m atoms (m = 2: pairs, m = 3: triplets), written as a function of the m - 1 relative vectors
d_l = x(atom l) - x(atom 0), l = 1..m-1 (M. B. Taylor, G. D. Barrera, N. L. Allan, T. H. K. Barron and W. C. Mackrodt,
Phys. Rev. B 56, 14380 (1997); M. B. Taylor, N. L. Allan, J. A. O. Bruno and G. D. Barrera, Phys. Rev. B 59, 353 (1999),
eqs. 14-17). Each term carries its value and its derivatives with respect to those vectors up to third order; every
lattice sum (energy, forces, virial stress, force constants on a supercell, dynamical matrices at any q and their
derivatives with respect to internal and external strain) is a contraction of these arrays with atom labels and
phases, with no loop over terms in Python.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trajmodes.potentials import lattice_sums as ls
from trajmodes.potentials.lattice_sums import StaticDerivatives
from trajmodes.lattice.spglib_calls import SYMPREC

__all__ = ["Terms", "ShortRangePotential", "EnergyForces", "DynamicalMatrices", "StaticDerivatives"]


@dataclass(frozen=True)
class EnergyForces:
    """The static energy and the forces of one configuration: what every potential's ``energy_forces`` returns
    (:meth:`ShortRangePotential.energy_forces`, :meth:`trajmodes.potentials.eam.EAM.energy_forces`).

    Attributes
    ----------
    energy : float
        eV per cell (per supercell for a supercell).
    forces : ndarray, shape (N, 3)
        eV/Å, atoms in the order of the configuration.
    """

    energy: float
    forces: np.ndarray


@dataclass(frozen=True)
class DynamicalMatrices:
    """Dynamical matrices at a set of q with their derivatives with respect to the external (Voigt strain) and
    internal coordinates (:meth:`ShortRangePotential.dynamical_matrices` with ``derivatives=True``). The three are
    views of one q-major array (nq, 1 + 6 + 3 n, 3 n, 3 n).

    Attributes
    ----------
    matrices : ndarray, complex, shape (nq, 3 n, 3 n)
        D(q), eV/(Å² amu); rows and columns 3 k + a (atom k of the cell, Cartesian a).
    strain_derivatives : ndarray, complex, shape (6, nq, 3 n, 3 n)
        dD/de for the 6 Voigt strains e = (e_xx, e_yy, e_zz, 2 e_yz, 2 e_xz, 2 e_xy) at fixed reduced q,
        eV/(Å² amu) per unit strain.
    internal_derivatives : ndarray, complex, shape (3 n, nq, 3 n, 3 n)
        dD/du for the internal displacement of atom k along Cartesian c (index 3 k + c), eV/(Å³ amu).
    """

    matrices: np.ndarray
    strain_derivatives: np.ndarray
    internal_derivatives: np.ndarray


@dataclass
class Terms:
    """The m-body terms of one potential in one crystal (all terms whose first atom lies in the home cell).

    Attributes
    ----------
    atoms : ndarray of int, shape (n, m)
        Index of every atom of each term in the crystal's cell.
    cells : ndarray of int, shape (n, m, 3)
        Lattice translation (in units of the cell's rows) of every atom; ``cells[:, 0] == 0``.
    vectors : ndarray, shape (n, m - 1, 3)
        d_l = x[atoms[l]] + cells[l] @ cell - x[atoms[0]], Å, l = 1..m-1.
    energy : ndarray, shape (n,)
        The term's energy, eV; their sum is the static energy per cell.
    gradient, hessian, third : ndarray or None
        Derivatives of ``energy`` with respect to the relative vectors, flattened to k = 3 (m - 1) coordinates
        (vector l, Cartesian a -> 3 l + a): shapes (n, k), (n, k, k), (n, k, k, k), in eV/Å, eV/Å², eV/Å³.
        None where not asked for.
    """

    atoms: np.ndarray
    cells: np.ndarray
    vectors: np.ndarray
    energy: np.ndarray
    gradient: np.ndarray | None = None
    hessian: np.ndarray | None = None
    third: np.ndarray | None = None

    @property
    def order(self) -> int:
        """Atoms per term, m."""
        return self.atoms.shape[1]

    def __len__(self) -> int:
        return len(self.atoms)


class ShortRangePotential:
    """Base of the pair and three-body potentials: a subclass says which terms a crystal holds
    (:meth:`terms`); every lattice sum built from them is shared here (the assembly lives in
    :mod:`trajmodes.potentials.lattice_sums`).

    Subclasses set ``cutoff`` (Å, the longest interaction range) and implement :meth:`terms`.
    Every method takes a periodic :class:`trajmodes.lattice.crystal.Crystal` (its cell's rows are the
    lattice vectors); metal units throughout (eV, Å, amu).
    """

    cutoff: float

    #: refuse cutoffs whose sphere would hold more than this many pairs of a crystal (memory guard) ...
    max_pairs: int = 10_000_000
    #: ... or reach over more than this many periodic images of its cell (time guard)
    max_images: int = 30_000

    def terms(self, crystal, order: int = 3) -> list[Terms]:
        """The potential's terms in ``crystal`` (a :class:`trajmodes.lattice.crystal.Crystal`, periodic),
        with derivatives up to ``order`` (0: energies only, 1: + gradient, 2: + hessian, 3: + third)."""
        raise NotImplementedError(f"{type(self).__name__} does not define its terms")

    # -- checks ------------------------------------------------------------------------------
    def check_crystal(self, crystal) -> None:
        """Raise ValueError for a crystal the lattice sums cannot handle: NaN or infinite positions or cell, or a
        cutoff so long for the cell that its neighbour sphere would hold more than ``max_pairs`` pairs or reach over
        more than ``max_images`` periodic images of the cell."""
        cell, x = np.asarray(crystal.cell, float), np.asarray(crystal.positions, float)
        if not (np.isfinite(cell).all() and np.isfinite(x).all()):
            raise ValueError("the crystal's positions or cell hold NaN or infinite values")
        rc = float(self.cutoff)
        if not np.isfinite(rc) or rc <= 0.0:
            raise ValueError(f"the cutoff must be a positive length in Angstrom, not {rc!r}")
        n = len(x)
        pairs = n * n / crystal.volume * 4.0 / 3.0 * np.pi * rc ** 3
        spacing = 1.0 / np.linalg.norm(np.linalg.inv(cell), axis=0)          # interplanar spacings
        images = np.prod(2 * (np.floor(rc / spacing + 0.5) + 1) + 1)
        if pairs > self.max_pairs or images > self.max_images:
            raise ValueError(f"a cutoff of {rc:g} A gives about {pairs:.3g} pairs over {images:.3g} periodic images "
                             f"of this {n}-atom cell (limits {self.max_pairs:g} and {self.max_images:g}): use a "
                             "shorter cutoff (a short-ranged potential reaches a few neighbour shells)")

    def _terms(self, crystal, order: int) -> list[Terms]:
        """The terms, remembered for the last few geometries: the quasiharmonic minimiser asks for the static
        derivatives and the dynamical matrices of one geometry in turn. A cached entry of a higher order serves a
        lower one."""
        key = (np.asarray(crystal.cell, float).tobytes(), np.asarray(crystal.positions, float).tobytes(),
               tuple(crystal.species))
        cache = self.__dict__.setdefault("_terms_cache", {})
        hit = cache.get(key)
        if hit is not None and hit[0] >= order:
            return hit[1]
        self.check_crystal(crystal)
        terms = list(self.terms(crystal, order))
        if sum(len(t) for t in terms) == 0:
            from trajmodes.lattice.geometry import nearest_neighbour_distance
            d = nearest_neighbour_distance(crystal.cell, crystal.positions)
            raise ValueError(f"no atoms of this crystal lie within the cutoff of the potential ({float(self.cutoff):g} "
                             f"A; the nearest neighbours are {d:.4g} A apart): nothing binds it. Use a cutoff "
                             "beyond the first neighbour shells, or check the lattice parameter")
        if len(cache) >= 4:
            cache.pop(next(iter(cache)))
        cache[key] = (order, terms)
        return terms

    # -- static lattice sums -----------------------------------------------------------------
    def energy_forces(self, crystal) -> EnergyForces:
        """Static energy and forces of the periodic ``crystal``: :class:`EnergyForces` with ``energy`` (eV per cell)
        and ``forces`` (n_atoms, 3) in eV/Å."""
        terms = self._terms(crystal, 1)
        return EnergyForces(energy=ls.total_energy(terms), forces=-ls.atom_gradients(terms, crystal.n_atoms))

    def energy(self, crystal) -> float:
        """Static energy per cell, eV."""
        return ls.total_energy(self._terms(crystal, 0))

    def stress(self, crystal) -> np.ndarray:
        """Static stress sigma = (1/V) dE/d eps (3, 3) in eV/Å³, eps the symmetric strain of F = 1 + eps:
        (1/V) sum over terms of sum_l g_l (x) d_l (symmetric for rotationally invariant terms; positive under
        tension).

        For a static configuration it equals minus LAMMPS's pressure tensor (``pxx pyy pzz pxy pxz pyz``,
        ``units metal``) converted from bar: sigma = -P / nktv2p. LAMMPS's metal factor nktv2p is 1.6021765e6 bar
        per eV/Å³; CODATA's 1.602176634e6 (:data:`trajmodes.units.EV_A3_BAR`) is 8e-8 relative larger.
        """
        return ls.virial(self._terms(crystal, 1)) / crystal.volume

    def static_derivatives(self, crystal, order: int = 2) -> StaticDerivatives:
        """Static energy per cell and its derivatives with respect to the external and internal strains
        (M. B. Taylor, N. L. Allan, J. A. O. Bruno and G. D. Barrera, Phys. Rev. B 59, 353 (1999), eqs. 31-39).

        Coordinates: the 6 Voigt strains e = (e_xx, e_yy, e_zz, 2 e_yz, 2 e_xz, 2 e_xy) (engineering shears) of
        the deformation F = 1 + eps, and the 3 n internal displacements u (atom-major, Å), with cell rows and
        positions x_k = F (X_k + u_k); everything at e = 0, u = 0.

        Parameters
        ----------
        crystal : Crystal
        order : {1, 2}
            1: energy and gradient; 2: also the Hessian.

        Returns
        -------
        StaticDerivatives
            :class:`~trajmodes.potentials.lattice_sums.StaticDerivatives`: ``energy`` (eV per cell); ``gradient``
            (6 + 3 n,): dE/de (eV; = V sigma in Voigt order) then dE/du (eV/Å; = minus the forces); ``hessian``
            (6 + 3 n, 6 + 3 n), with ``order=2`` (None with ``order=1``): d2E/de de (eV), d2E/de du (eV/Å),
            d2E/du du (eV/Å²; the q = 0 force constants summed over images).
        """
        if order not in (1, 2):
            raise ValueError(f"order must be 1 or 2, not {order!r}")
        return ls.static_derivatives(self._terms(crystal, order), crystal.n_atoms, order)

    # -- force constants on a supercell ------------------------------------------------------
    def force_constants(self, supercell, primitive=None, layout: str = "full", **kwargs):
        """Analytic second-order force constants of the periodic ``supercell`` (a Crystal), every periodic image
        summed (what finite displacements of that supercell measure), as a
        :class:`trajmodes.forceconstants.model.ForceConstants` in the ``full`` (N, N, 3, 3) or ``compact``
        (n_prim, N, 3, 3) layout, eV/Å². ``primitive`` (found with spglib when not given) and ``kwargs``
        (``smap``, ``p2s``, ``symprec``, ``born``, ...) go to ForceConstants."""
        return self._force_constants(supercell, primitive, layout, kwargs, third=False)

    def sparse_force_constants(self, crystal, masses=None):
        """Analytic second-order force constants of the periodic ``crystal`` (any cell, a glass of 10^4 atoms
        included) as a sparse matrix, every periodic image summed, built without any array of N x N
        (:func:`~trajmodes.potentials.lattice_sums.sparse_hessian`).

        Parameters
        ----------
        crystal : Crystal
        masses : array_like, shape (n_atoms,), or True, optional
            amu; True takes the crystal's masses. When given, the mass-weighted matrix (the dynamical matrix at
            q = 0, eV/(Å² amu)).

        Returns
        -------
        scipy.sparse.csr_matrix, shape (3 N, 3 N)
            Rows and columns 3 i + a, eV/Å² (eV/(Å² amu) mass-weighted).
        """
        if masses is True:
            masses = crystal.masses
        return ls.sparse_hessian(self._terms(crystal, 2), crystal.n_atoms, masses)

    def force_constants3(self, supercell, primitive=None, layout: str = "full", **kwargs):
        """Like :meth:`force_constants`, with the third-order constants Psi[i, j, k, a, b, c] =
        d3U / du_ia du_jb du_kc (eV/Å³) in the compact layout (n_prim, N, N, 3, 3, 3) as ``fc3``."""
        return self._force_constants(supercell, primitive, layout, kwargs, third=True)

    def _force_constants(self, supercell, primitive, layout, kwargs, third: bool):
        from trajmodes.forceconstants.model import ForceConstants
        if layout not in ("full", "compact"):
            raise ValueError(f"layout must be 'full' or 'compact', not {layout!r}")
        kwargs = dict(kwargs)
        kwargs.pop("fc3", None)
        N = supercell.n_atoms
        if primitive is None:
            primitive = supercell.primitive(kwargs.get("symprec", SYMPREC))
        # an empty compact array settles the supercell map and p2s with ForceConstants' own defaults
        probe = ForceConstants(np.zeros((primitive.n_atoms, N, 3, 3)), supercell, primitive, **kwargs)
        terms = self._terms(supercell, 3 if third else 2)
        rows = probe.p2s if layout == "compact" else None
        fc2 = ls.hessian_rows(terms, N, rows)
        fc3 = ls.third_rows(terms, N, probe.p2s) if third else None
        kwargs.update(smap=probe.smap, p2s=probe.p2s)
        return ForceConstants(fc2, supercell, probe.primitive, fc3=fc3, **kwargs)

    # -- dynamical matrices at any q -----------------------------------------------------------
    def dynamical_matrices(self, crystal, qpoints, derivatives: bool = False) -> np.ndarray | DynamicalMatrices:
        """Dynamical matrices of the crystal by exact lattice sums (no supercell), at any q.

        D_kk'(q) = sum over the terms' atom pairs (k in slot s, k' in slot s') of d2E/dx_s dx_s'
        e^{i 2 pi q.(n_s' - n_s)} / sqrt(m_k m_k') (Taylor et al. 1999, eqs. 41-43), the phase carrying the
        lattice translations n only. :class:`trajmodes.phonons.harmonic.dynamical.DynamicalMatrix` (and so
        :class:`~trajmodes.Phonons`) puts the atom positions in the phase instead (phonopy's convention, which its
        eigenvectors carry into the three-phonon sums and the projection); the two are D_atoms = U^H D U with
        U = diag(e^{i 2 pi q.p_k}) (p_k the fractional positions of the cell's atoms): the same eigenvalues
        (frequencies), eigenvectors e' = U^H e, and the same <e|dD|e> under either strain (U depends on neither e
        nor, through d(U U^H) = 0, on u to first order in the eigenvalue). The lattice-translation phase is kept here
        because the strain and internal derivatives of the quasiharmonic free energy act on the atom positions, which
        would otherwise enter the phase too.

        Parameters
        ----------
        crystal : Crystal
            The cell whose atoms label the 3 n branches.
        qpoints : array_like, shape (nq, 3) or (3,)
            Reduced coordinates of the crystal's reciprocal lattice, without 2 pi.
        derivatives : bool
            Also return the derivatives with respect to the Voigt strains e (at fixed reduced q; the strain moves
            every relative vector d -> F d) and to the internal displacements u (atom k, Cartesian c: index
            3 k + c), as in :meth:`static_derivatives`.

        Returns
        -------
        ndarray, complex, shape (nq, 3 n, 3 n), or DynamicalMatrices
            Without ``derivatives``: D(q) in eV/(Å² amu), rows 3 k + a. With ``derivatives``:
            :class:`DynamicalMatrices`, ``matrices`` D (nq, 3 n, 3 n), ``strain_derivatives`` dD/de
            (6, nq, 3 n, 3 n) per unit strain and ``internal_derivatives`` dD/du (3 n, nq, 3 n, 3 n) per Å.

        With ``derivatives`` the three are views of one q-major array (nq, 1 + 6 + 3 n, 3 n, 3 n), which a single
        matrix product of the phases exp(i 2 pi q.T) over the distinct translations T with the summed blocks fills
        (about 10 ms for 4096 q of a two-atom cell).
        """
        q = np.asarray(qpoints, dtype=float)
        if q.shape[-1:] != (3,) or not np.isfinite(q).all():
            raise ValueError(f"qpoints must be finite reduced coordinates of shape (nq, 3), not shape {q.shape}")
        blocks = ls.DynamicalBlocks(self._terms(crystal, 3 if derivatives else 2), crystal.masses, derivatives)
        out = blocks.at(q.reshape(-1, 3))
        if not derivatives:
            return out[0]
        return DynamicalMatrices(matrices=out[0], strain_derivatives=out[1:7], internal_derivatives=out[7:])
