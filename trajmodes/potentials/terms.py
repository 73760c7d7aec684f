"""Interaction terms of a periodic crystal: the common currency of the pair and three-body potentials.

A short-ranged potential's static energy per cell is a sum of terms, each a translationally and rotationally
invariant function of m atoms (m = 2: pairs, m = 3: triplets), written as a function of the m - 1 relative vectors
d_l = x(atom l) - x(atom 0), l = 1..m-1 (M. B. Taylor, G. D. Barrera, N. L. Allan, T. H. K. Barron and W. C. Mackrodt,
Phys. Rev. B 56, 14380 (1997); M. B. Taylor, N. L. Allan, M. A. Bruno and G. D. Barrera, Phys. Rev. B 59, 353 (1999),
eqs. 14-17). Each term carries its value and its derivatives with respect to those vectors up to third order; every
lattice sum (energy, forces, virial stress, force constants on a supercell, dynamical matrices at any q and their
derivatives with respect to internal and external strain) is a contraction of these arrays with atom labels and
phases, with no loop over terms in Python.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Terms"]


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
        d_l = x[atoms[l]] + cells[l] @ cell - x[atoms[0]], Angstrom, l = 1..m-1.
    energy : ndarray, shape (n,)
        The term's energy, eV; their sum is the static energy per cell.
    gradient, hessian, third : ndarray or None
        Derivatives of ``energy`` with respect to the relative vectors, flattened to k = 3 (m - 1) coordinates
        (vector l, Cartesian a -> 3 l + a): shapes (n, k), (n, k, k), (n, k, k, k), in eV/A, eV/A^2, eV/A^3.
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
    (:meth:`terms`); every lattice sum built from them is shared here.

    Subclasses set ``cutoff`` (Angstrom, the longest interaction range) and implement :meth:`terms`.
    """

    cutoff: float

    def terms(self, crystal, order: int = 3) -> list[Terms]:
        """The potential's terms in ``crystal`` (a :class:`trajmodes.lattice.crystal.Crystal`, periodic),
        with derivatives up to ``order`` (0: energies only, 1: + gradient, 2: + hessian, 3: + third)."""
        raise NotImplementedError(f"{type(self).__name__} does not define its terms")
