"""Third-order force constants held as their triplets.

Psi[i, j, l, a, b, c] = d3U / du_ia du_jb du_lc (eV/Å³) is nonzero only for triplets whose atoms lie within a cutoff of
one another, so the compact array (n_prim, N, N, 3, 3, 3) of phono3py's layout is almost all zeros (4000 atoms: 3.5 GB
for one primitive atom and a few hundred nonzero blocks). The constants are a list of triplets,
``sites[e] = (k, j, l)`` with the primitive atom ``k`` (supercell atom ``p2s[k]``) first, and their Cartesian blocks:
the sibling of :class:`~trajmodes.forceconstants.quartic.QuarticConstants`. The triplets are kept in C order of
``(k, j, l)`` (that of the compact array's nonzero blocks), each once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CubicConstants"]


@dataclass(frozen=True)
class CubicConstants:
    """Third-order force constants of a supercell, as the blocks of its triplets.

    Attributes
    ----------
    sites : ndarray of int, (n_triplets, 3)
        ``(k, j, l)``: primitive atom ``k`` (the row ``p2s[k]`` of the supercell), then two supercell atoms; sorted in
        C order, each triplet once.
    blocks : ndarray, (n_triplets, 3, 3, 3)
        ``Psi[p2s[k], j, l]`` in eV/Å³.
    n_atoms : int
        Atoms of the supercell.
    """

    sites: np.ndarray
    blocks: np.ndarray
    n_atoms: int

    def __post_init__(self):
        sites = np.ascontiguousarray(self.sites, dtype=np.int64).reshape(-1, 3)
        blocks = np.ascontiguousarray(self.blocks, dtype=float).reshape(len(sites), 3, 3, 3)
        n = int(self.n_atoms)
        if not np.isfinite(blocks).all():
            raise ValueError("the fc3 force constants hold NaN or infinite values")
        if len(sites) and (sites.min() < 0 or sites[:, 1:].max() >= n):
            raise ValueError(f"a triplet names an atom outside the supercell's {n} (or a negative primitive atom)")
        key = self._keys(sites, n)
        if len(key) > 1 and not (np.diff(key) > 0).all():
            order = np.argsort(key, kind="stable")
            key, sites, blocks = key[order], sites[order], blocks[order]
            if (np.diff(key) == 0).any():
                twice = sites[np.flatnonzero(np.diff(key) == 0)[0]]
                raise ValueError(f"the triplet {tuple(int(x) for x in twice)} is listed more than once: give each "
                                 "triplet of the third-order constants once, with its whole block")
        object.__setattr__(self, "sites", sites)
        object.__setattr__(self, "blocks", blocks)
        object.__setattr__(self, "n_atoms", n)

    @staticmethod
    def _keys(sites: np.ndarray, n_atoms: int) -> np.ndarray:
        """One int64 per triplet, increasing in C order of ``(k, j, l)``."""
        return (sites[:, 0] * n_atoms + sites[:, 1]) * n_atoms + sites[:, 2]

    @classmethod
    def from_basis(cls, basis, params) -> "CubicConstants":
        """The constants of the parameters ``params`` of a third-order
        :class:`~trajmodes.forceconstants.clusters.IFCBasis` (its triplets and blocks ``E @ params``, without the
        compact array)."""
        params = np.asarray(params, dtype=float)
        if params.shape != (basis.n_params,):
            raise ValueError(f"params has shape {params.shape}; expected ({basis.n_params},)")
        return cls(basis.sites, (basis.E @ params).reshape(len(basis.sites), 3, 3, 3), basis.n_atoms)

    @classmethod
    def from_dense(cls, fc3: np.ndarray) -> "CubicConstants":
        """The triplets of a compact array ``fc3`` (n_prim, N, N, 3, 3, 3) in eV/Å³ with a block that has a bit set
        (-0.0 counts: the dense array comes back bit for bit from :meth:`dense`), found one primitive atom at a time
        (a boolean array of N^2 x 27, not n_prim times that)."""
        fc3 = np.asarray(fc3, dtype=float)
        sites, blocks = [], []
        for p in range(fc3.shape[0]):
            row = np.ascontiguousarray(fc3[p])
            j, l = np.nonzero((row.view(np.uint64) != 0).any(axis=(2, 3, 4)))
            sites.append(np.column_stack([np.full(len(j), p), j, l]))
            blocks.append(row[j, l])
        if not sites:
            return cls(np.zeros((0, 3), np.int64), np.zeros((0, 3, 3, 3)), fc3.shape[1])
        return cls(np.concatenate(sites), np.concatenate(blocks), fc3.shape[1])

    def __len__(self) -> int:
        return len(self.sites)

    def dense(self, n_prim: int) -> np.ndarray:
        """The compact array (n_prim, N, N, 3, 3, 3) in eV/Å³, zero outside the triplets: 216 n_prim N^2 bytes (3.5 GB
        for one primitive atom of a 4000-atom supercell)."""
        if len(self) and self.sites[:, 0].max() >= n_prim:
            raise ValueError(f"a triplet names primitive atom {int(self.sites[:, 0].max())}; the cell has {n_prim}")
        out = np.zeros((n_prim, self.n_atoms, self.n_atoms, 3, 3, 3))
        out[self.sites[:, 0], self.sites[:, 1], self.sites[:, 2]] = self.blocks
        return out

    def at(self, sites) -> np.ndarray:
        """The blocks (T, 3, 3, 3) eV/Å³ of the triplets ``sites`` (T, 3): zero where a triplet is not listed."""
        sites = np.asarray(sites, dtype=np.int64).reshape(-1, 3)
        out = np.zeros((len(sites), 3, 3, 3))
        if not len(self) or not len(sites):
            return out
        mine, want = self._keys(self.sites, self.n_atoms), self._keys(sites, self.n_atoms)
        pos = np.minimum(np.searchsorted(mine, want), len(mine) - 1)
        hit = mine[pos] == want
        out[hit] = self.blocks[pos[hit]]
        return out

    def row(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The triplets of primitive atom ``k`` with a nonzero block (-0.0 is zero here), in C order of ``(j, l)``: the
        supercell atoms ``j``, ``l`` (each (T,)) and their blocks (T, 3, 3, 3) eV/Å³, as ``np.nonzero`` of the dense
        row ``fc3[k]`` finds them."""
        sel = (self.sites[:, 0] == k) & (np.abs(self.blocks).reshape(len(self), 27).max(axis=1, initial=0.0) > 0)
        return self.sites[sel, 1], self.sites[sel, 2], self.blocks[sel]

    def nonzero(self) -> "CubicConstants":
        """These constants without the triplets whose block is all zero bits (-0.0 is kept)."""
        keep = (self.blocks.reshape(len(self), 27).view(np.uint64) != 0).any(axis=1)
        return self if keep.all() else CubicConstants(self.sites[keep], self.blocks[keep], self.n_atoms)

    def renumbered(self, rows, columns) -> "CubicConstants":
        """The constants with primitive atom ``k`` of each triplet replaced by ``rows[k]`` and supercell atom ``j`` of
        the primitive atom's triplets by ``columns[k][j]`` (a permutation of the supercell per primitive atom)."""
        rows = np.asarray(rows, dtype=np.int64)
        columns = np.asarray(columns, dtype=np.int64)
        k = self.sites[:, 0]
        sites = np.column_stack([rows[k], columns[k, self.sites[:, 1]], columns[k, self.sites[:, 2]]])
        return CubicConstants(sites, self.blocks, self.n_atoms)
