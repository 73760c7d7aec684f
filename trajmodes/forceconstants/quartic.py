"""Fourth-order force constants held as their clusters.

Chi[i, j, l, m, a, b, c, d] = d4U / du_ia du_jb du_lc du_md (eV/Å⁴) is nonzero only for quartets whose atoms lie within
a cutoff of one another (TDEP: F. Knoop et al., J. Open Source Softw. 9, 6150 (2024); hiPhive: F. Eriksson, E. Fransson
and P. Erhart, Adv. Theory Simul. 2, 1800184 (2019)). A compact array (n_prim, N, N, N, 81) would be almost all zeros
(256 atoms: 10 GB per primitive atom), so the constants are a list of quartets, ``sites[e] = (k, j, l, m)`` with the
primitive atom ``k`` (supercell atom ``p2s[k]``) first, and their Cartesian blocks. Every order of ``j, l, m`` is
listed, as :class:`~trajmodes.forceconstants.clusters.IFCBasis` builds them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["QuarticConstants"]


@dataclass(frozen=True)
class QuarticConstants:
    """Fourth-order force constants of a supercell, as the blocks of its quartets.

    Attributes
    ----------
    sites : ndarray of int, (n_quartets, 4)
        ``(k, j, l, m)``: primitive atom ``k`` (the row ``p2s[k]`` of the supercell), then supercell atoms.
    blocks : ndarray, (n_quartets, 3, 3, 3, 3)
        ``Chi[p2s[k], j, l, m]`` in eV/Å⁴.
    n_atoms : int
        Atoms of the supercell.
    """

    sites: np.ndarray
    blocks: np.ndarray
    n_atoms: int

    def __post_init__(self):
        sites = np.ascontiguousarray(self.sites, dtype=np.int64).reshape(-1, 4)
        blocks = np.ascontiguousarray(self.blocks, dtype=float).reshape(len(sites), 3, 3, 3, 3)
        if not np.isfinite(blocks).all():
            raise ValueError("the fourth-order force constants hold NaN or infinite values")
        if len(sites) and (sites[:, 1:].min() < 0 or sites[:, 1:].max() >= self.n_atoms):
            raise ValueError(f"a quartet names an atom outside the supercell's {self.n_atoms}")
        object.__setattr__(self, "sites", sites)
        object.__setattr__(self, "blocks", blocks)

    @classmethod
    def from_basis(cls, basis, params) -> "QuarticConstants":
        """The constants of the parameters ``params`` of a fourth-order
        :class:`~trajmodes.forceconstants.clusters.IFCBasis`."""
        return cls(basis.sites, basis.blocks(params), basis.n_atoms)

    def __len__(self) -> int:
        return len(self.sites)

    def energy(self, u: np.ndarray, p2s, smap) -> np.ndarray:
        """1/24 sum Chi u u u u per frame (eV) for displacements ``u`` (T, N, 3) in Å, every atom of the supercell
        taken as the first of its quartets (translations of the listed ones, ``smap`` the supercell map)."""
        return np.einsum("tia,tia->t", u, -self.forces(u, p2s, smap)) / 4.0

    def forces(self, u: np.ndarray, p2s, smap) -> np.ndarray:
        """-1/6 sum_jlm Chi[i, j, l, m] u_j u_l u_m for every atom i, (T, N, 3) in eV/Å, from ``u`` (T, N, 3) in Å.

        Straight from the quartets (each translated onto every atom of its primitive atom's class), without the
        fit's design kernel: the reference the kernel is tested against."""
        from trajmodes.forceconstants.design import partner_indices
        u = np.asarray(u, dtype=float).reshape(-1, self.n_atoms, 3)
        f = np.zeros_like(u)
        for k in range(len(p2s)):
            sel = self.sites[:, 0] == k
            if not sel.any():
                continue
            atoms = np.flatnonzero(smap.atom == k)
            j, l, m = (partner_indices(smap, p2s, k, self.sites[sel, c], atoms) for c in (1, 2, 3))
            f[:, atoms] -= np.einsum("eabcd,teib,teic,teid->tia", self.blocks[sel], u[:, j], u[:, l], u[:, m],
                                     optimize=True) / 6.0
        return f

    def sum_rule_violation(self) -> float:
        """Largest |sum_m Chi[k, j, l, m]| over (k, j, l), eV/Å⁴ (zero for constants that obey the acoustic sum
        rule)."""
        key = (self.sites[:, 0] * self.n_atoms + self.sites[:, 1]) * self.n_atoms + self.sites[:, 2]
        _, group = np.unique(key, return_inverse=True)
        sums = np.zeros((group.max() + 1 if len(group) else 0, 81))
        np.add.at(sums, group.reshape(-1), self.blocks.reshape(-1, 81))
        return float(np.abs(sums).max()) if len(sums) else 0.0
