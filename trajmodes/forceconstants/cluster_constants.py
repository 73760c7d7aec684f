"""Anharmonic force constants of any order held as their clusters.

The constants of order k, Phi[i1, ..., ik, a1, ..., ak] = d^k U / du_{i1 a1} ... du_{ik ak} (eV/Å^k), are nonzero only
for clusters of k atoms that lie within a cutoff of one another, so the compact array (n_prim, N, ..., N, 3, ..., 3) of
phono3py's layout is almost all zeros (third order, 4000 atoms: 3.5 GB for one primitive atom and a few hundred nonzero
blocks; fourth order, 256 atoms: 10 GB per primitive atom). The constants are a list of clusters, ``sites[e] = (k, j,
..., m)`` with the primitive atom ``k`` (supercell atom ``p2s[k]``) first and k - 1 supercell atoms after it, and their
Cartesian blocks (TDEP: F. Knoop et al., J. Open Source Softw. 9, 6150 (2024); hiPhive: F. Eriksson, E. Fransson and
P. Erhart, Adv. Theory Simul. 2, 1800184 (2019)). Every order of the supercell atoms is a cluster of its own, as
:class:`~trajmodes.forceconstants.clusters.IFCBasis` lists them. The clusters are kept in C order of their sites (that
of the compact array's nonzero blocks), each once.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["ClusterConstants", "DENSE_WARN_BYTES", "cluster_keys"]

#: a dense compact array of more bytes than this is built with a warning that says its size
#: (:meth:`ClusterConstants.dense`); one that needs more than half the memory available is refused
DENSE_WARN_BYTES = 1 << 30

_NAMES = {2: "pair", 3: "triplet", 4: "quartet"}


@dataclass(frozen=True, eq=False, repr=False)
class ClusterConstants:
    """Force constants of order k >= 2 of a supercell, as the Cartesian blocks of their clusters of k atoms.

    Attributes
    ----------
    sites : ndarray of int, (n_clusters, k)
        ``(k, j, ..., m)``: primitive atom ``k`` (the row ``p2s[k]`` of the supercell), then k - 1 supercell atoms;
        sorted in C order, each cluster once.
    blocks : ndarray, (n_clusters, 3, ..., 3)
        ``Phi[p2s[k], j, ..., m]`` in eV/Å^k, k Cartesian axes.
    n_atoms : int
        Atoms of the supercell.

    Both are the arrays given where they are int64 and float64 in C order and already sorted (not copied: change them
    in place, and the constants change with them; a dense array already built from them does not).
    Clusters given out of order are sorted; a cluster given twice is refused (add the blocks of the images that fold
    onto the same atoms first: :meth:`summed`). Equal constants (``==``) have the same sites, blocks (bit for bit) and
    supercell.
    """

    sites: np.ndarray
    blocks: np.ndarray
    n_atoms: int

    def __post_init__(self):
        sites, blocks, n = _checked(self.sites, self.blocks, self.n_atoms)
        key = _keys(sites, n)
        if len(key) > 1 and not (np.diff(key) > 0).all():
            order = np.argsort(key, kind="stable")
            key, sites, blocks = key[order], sites[order], blocks[order]
            if (np.diff(key) == 0).any():
                twice = sites[np.flatnonzero(np.diff(key) == 0)[0]]
                name = _NAMES.get(sites.shape[1], "cluster")
                raise ValueError(f"the {name} {tuple(int(x) for x in twice)} is listed more than once: give each "
                                 f"{name} of the order-{sites.shape[1]} constants once, with its whole block "
                                 "(ClusterConstants.summed adds the blocks of repeated ones)")
        object.__setattr__(self, "sites", sites)
        object.__setattr__(self, "blocks", blocks)
        object.__setattr__(self, "n_atoms", n)

    @property
    def order(self) -> int:
        """k: the atoms of a cluster, the Cartesian axes of a block."""
        return self.sites.shape[1]

    @classmethod
    def summed(cls, sites, blocks, n_atoms: int) -> "ClusterConstants":
        """The constants of clusters ``sites`` (T, k) with their blocks (T, 3, ..., 3) in eV/Å^k, the blocks of a
        cluster listed more than once added (the images of a cluster that fold onto the same supercell atoms: their
        forces add), each cluster then once."""
        sites, blocks, n = _checked(sites, blocks, n_atoms)
        keys, first, group = np.unique(_keys(sites, n), return_index=True, return_inverse=True)
        if len(keys) == len(sites):
            return cls(sites, blocks, n)
        out = np.zeros((len(keys),) + blocks.shape[1:])
        np.add.at(out, group.reshape(-1), blocks)
        return cls(sites[first], out, n)

    @classmethod
    def from_basis(cls, basis, params) -> "ClusterConstants":
        """The constants of the parameters ``params`` of an
        :class:`~trajmodes.forceconstants.clusters.IFCBasis` (its clusters and blocks ``E @ params``, without the
        compact array)."""
        params = np.asarray(params, dtype=float)
        if params.shape != (basis.n_params,):
            raise ValueError(f"params has shape {params.shape}; expected ({basis.n_params},)")
        sites = np.asarray(basis.sites)
        return cls(sites, (basis.E @ params).reshape((len(sites),) + (3,) * sites.shape[1]), basis.n_atoms)

    @classmethod
    def from_dense(cls, dense: np.ndarray) -> "ClusterConstants":
        """The clusters of a compact array ``dense`` (n_prim, N, ..., N, 3, ..., 3) in eV/Å^k (k - 1 supercell axes,
        k Cartesian ones) with a block that has a bit set (-0.0 counts: the dense array comes back bit for bit from
        :meth:`dense`), found one primitive atom at a time (a boolean array of N^(k-1) x 3^k, not n_prim times that)."""
        dense = np.asarray(dense, dtype=float)
        k = dense.ndim // 2
        if k < 2 or dense.ndim != 2 * k or dense.shape[k:] != (3,) * k or len(set(dense.shape[1:k])) != 1:
            raise ValueError(f"a compact array of order-k constants has shape (n_prim, N, ..., N, 3, ..., 3) (k - 1 "
                             f"supercell axes, k Cartesian ones), not {dense.shape}")
        sites, blocks = [], []
        for p in range(dense.shape[0]):
            row = np.ascontiguousarray(dense[p])
            at = np.nonzero((row.view(np.uint64) != 0).any(axis=tuple(range(k - 1, 2 * k - 1))))
            sites.append(np.column_stack([np.full(len(at[0]), p), *at]))
            blocks.append(row[at])
        n = dense.shape[1]
        if not sites:
            return cls(np.zeros((0, k), np.int64), np.zeros((0,) + (3,) * k), n)
        return cls(np.concatenate(sites), np.concatenate(blocks), n)

    def __len__(self) -> int:
        return len(self.sites)

    def __eq__(self, other) -> bool:
        if not isinstance(other, ClusterConstants):
            return NotImplemented
        return (self.n_atoms == other.n_atoms and np.array_equal(self.sites, other.sites)
                and self.blocks.shape == other.blocks.shape and self.blocks.tobytes() == other.blocks.tobytes())

    __hash__ = None

    def __reduce__(self):
        """Pickled and copied through the constructor: the copy is checked as these constants were."""
        return type(self), (self.sites, self.blocks, self.n_atoms)

    def __repr__(self) -> str:
        return (f"ClusterConstants(order {self.order}, {len(self)} {_NAMES.get(self.order, 'cluster')}s on a "
                f"{self.n_atoms}-atom supercell, eV/A^{self.order})")

    def dense_shape(self, n_prim: int) -> tuple:
        """The shape (n_prim, N, ..., N, 3, ..., 3) of :meth:`dense`."""
        return (n_prim,) + (self.n_atoms,) * (self.order - 1) + (3,) * self.order

    def dense(self, n_prim: int, what: str | None = None) -> np.ndarray:
        """The compact array (n_prim, N, ..., N, 3, ..., 3) in eV/Å^k, zero outside the clusters: 8 n_prim N^(k-1)
        3^k bytes (third order: 3.5 GB for one primitive atom of a 4000-atom supercell).

        Above :data:`DENSE_WARN_BYTES` it is built with a warning that says its size; a MemoryError that says it
        refuses one that needs more than half the memory available (``what`` names the array in both, default
        "the dense order-k constants").
        """
        from trajmodes.resources import require_memory
        if len(self) and self.sites[:, 0].max() >= n_prim:
            raise ValueError(f"a {_NAMES.get(self.order, 'cluster')} names primitive atom "
                             f"{int(self.sites[:, 0].max())}; the cell has {n_prim}")
        shape = self.dense_shape(n_prim)
        nbytes = 8 * math.prod(shape)
        what = what or f"the dense order-{self.order} constants"
        fix = (f"use their {len(self)} {_NAMES.get(self.order, 'cluster')}s (sites and blocks, "
               f"{_gigabytes(self.sites.nbytes + self.blocks.nbytes)}) instead of the dense array")
        require_memory(nbytes, f"{what} {shape}", fix)
        if nbytes > DENSE_WARN_BYTES:
            import warnings
            warnings.warn(f"building {what} {shape}: {_gigabytes(nbytes)} ({fix})", UserWarning, stacklevel=3)
        out = np.zeros(shape)
        out[tuple(self.sites.T)] = self.blocks
        return out

    def at(self, sites) -> np.ndarray:
        """The blocks (T, 3, ..., 3) eV/Å^k of the clusters ``sites`` (T, k): zero where a cluster is not listed."""
        sites = np.asarray(sites, dtype=np.int64).reshape(-1, self.order)
        out = np.zeros((len(sites),) + (3,) * self.order)
        if not len(self) or not len(sites):
            return out
        mine, want = _keys(self.sites, self.n_atoms), _keys(sites, self.n_atoms)
        pos = np.minimum(np.searchsorted(mine, want), len(mine) - 1)
        hit = mine[pos] == want
        out[hit] = self.blocks[pos[hit]]
        return out

    def row(self, k: int) -> tuple[np.ndarray, ...]:
        """The clusters of primitive atom ``k`` with a nonzero block (-0.0 is zero here), in C order of their supercell
        atoms: those atoms (k - 1 arrays (T,); third order ``j, l``) and their blocks (T, 3, ..., 3) eV/Å^k, as
        ``np.nonzero`` of the dense row finds them."""
        size = 3 ** self.order
        sel = (self.sites[:, 0] == k) & (np.abs(self.blocks).reshape(len(self), size).max(axis=1, initial=0.0) > 0)
        return (*(self.sites[sel, c] for c in range(1, self.order)), self.blocks[sel])

    def nonzero(self) -> "ClusterConstants":
        """These constants without the clusters whose block is all zero bits (-0.0 is kept)."""
        keep = (self.blocks.reshape(len(self), 3 ** self.order).view(np.uint64) != 0).any(axis=1)
        return self if keep.all() else ClusterConstants(self.sites[keep], self.blocks[keep], self.n_atoms)

    def renumbered(self, rows, columns) -> "ClusterConstants":
        """The constants with primitive atom ``k`` of each cluster replaced by ``rows[k]`` and every supercell atom
        ``j`` of the primitive atom's clusters by ``columns[k][j]`` (a permutation of the supercell per primitive
        atom)."""
        rows = np.asarray(rows, dtype=np.int64)
        columns = np.asarray(columns, dtype=np.int64)
        k = self.sites[:, 0]
        sites = np.column_stack([rows[k]] + [columns[k, self.sites[:, c]] for c in range(1, self.order)])
        return ClusterConstants(sites, self.blocks, self.n_atoms)

    def energy(self, u: np.ndarray, p2s, smap) -> np.ndarray:
        """1/k! sum Phi u ... u per frame (eV) for displacements ``u`` (T, N, 3) in Å, every atom of the supercell
        taken as the first of its clusters (translations of the listed ones, ``smap`` the supercell map)."""
        return np.einsum("tia,tia->t", u, -self.forces(u, p2s, smap)) / self.order

    def forces(self, u: np.ndarray, p2s, smap) -> np.ndarray:
        """-1/(k-1)! sum_{j..m} Phi[i, j, ..., m] u_j ... u_m for every atom i, (T, N, 3) in eV/Å, from ``u`` (T, N,
        3) in Å.

        Straight from the clusters (each translated onto every atom of its primitive atom's class), without the
        fit's design kernel: the reference the kernel is tested against."""
        from trajmodes.forceconstants.design import partner_indices
        u = np.asarray(u, dtype=float).reshape(-1, self.n_atoms, 3)
        f = np.zeros_like(u)
        axes = "bcdefgh"[:self.order - 1]
        spec = "ea" + axes + "," + ",".join(f"tei{x}" for x in axes) + "->tia"
        for k in range(len(p2s)):
            sel = self.sites[:, 0] == k
            if not sel.any():
                continue
            atoms = np.flatnonzero(smap.atom == k)
            partners = [u[:, partner_indices(smap, p2s, k, self.sites[sel, c], atoms)] for c in range(1, self.order)]
            f[:, atoms] -= np.einsum(spec, self.blocks[sel], *partners, optimize=True) / math.factorial(self.order - 1)
        return f

    def sum_rule_violation(self) -> float:
        """Largest |sum_m Phi[k, j, ..., m]| over the other sites, eV/Å^k (zero for constants that obey the acoustic
        sum rule)."""
        _, group = np.unique(_keys(self.sites[:, :-1], self.n_atoms), return_inverse=True)
        size = 3 ** self.order
        sums = np.zeros((group.max() + 1 if len(group) else 0, size))
        np.add.at(sums, group.reshape(-1), self.blocks.reshape(-1, size))
        return float(np.abs(sums).max()) if len(sums) else 0.0


def _checked(sites, blocks, n_atoms) -> tuple[np.ndarray, np.ndarray, int]:
    """``sites`` (T, k) as int64 and ``blocks`` (T, 3, ..., 3) as float, C-contiguous (the arrays given where they are
    such arrays), and ``n_atoms`` as int, or a ValueError that says which argument is wrong and what to give."""
    if isinstance(n_atoms, (bool, np.bool_)) or not isinstance(n_atoms, (int, np.integer)) or n_atoms < 1:
        raise ValueError(f"n_atoms must be the number of atoms of the supercell (a positive int), not {n_atoms!r}")
    n = int(n_atoms)
    sites = np.asarray(sites)
    blocks_in = np.asarray(blocks)
    k = sites.shape[1] if sites.ndim == 2 else blocks_in.ndim - 1
    if sites.size == 0 and blocks_in.size == 0 and k >= 2:
        sites = sites.reshape(0, k)
    if sites.ndim != 2 or sites.shape[1] < 2:
        raise ValueError(f"sites must be an array (n_clusters, k) of k >= 2 atom indices per cluster (the primitive "
                         f"atom, then supercell atoms), not of shape {sites.shape}")
    if sites.dtype.kind not in "iu":
        if sites.dtype.kind != "f" or not (np.isfinite(sites).all() and (sites == np.rint(sites)).all()):
            raise ValueError(f"sites must hold atom indices (integers), not {sites.dtype} values such as "
                             f"{_first_bad(sites)!r}")
    want = (len(sites),) + (3,) * k
    if blocks_in.shape == (len(sites), 3 ** k):                      # each block flattened in C order
        blocks_in = blocks_in.reshape(want)
    if blocks_in.shape != want:
        raise ValueError(f"blocks has shape {blocks_in.shape}; {len(sites)} clusters of {k} atoms (sites "
                         f"{sites.shape}) take blocks of shape {want}, eV/A^{k}")
    sites = np.ascontiguousarray(sites, dtype=np.int64)
    blocks = np.ascontiguousarray(blocks_in, dtype=float)
    if not np.isfinite(blocks).all():
        bad = np.argwhere(~np.isfinite(blocks))[0]
        raise ValueError(f"the order-{k} force constants hold NaN or infinite values (the block of the "
                         f"{_NAMES.get(k, 'cluster')} {tuple(int(x) for x in sites[bad[0]])}): give finite constants")
    if len(sites):
        if sites.min() < 0 or sites[:, 1:].max() >= n:
            e = int(np.flatnonzero((sites < 0).any(axis=1) | (sites[:, 1:] >= n).any(axis=1))[0])
            raise ValueError(f"the {_NAMES.get(k, 'cluster')} {tuple(int(x) for x in sites[e])} (row {e} of sites) "
                             f"names an atom outside the supercell: give the primitive atom (0 to n_prim - 1) first, "
                             f"then supercell atoms 0 to {n - 1}")
    return sites, blocks, n


def _first_bad(sites: np.ndarray):
    flat = sites.reshape(-1)
    try:
        bad = np.flatnonzero(~np.isfinite(flat) | (flat != np.rint(flat)))
    except TypeError:
        return flat[0] if flat.size else None
    return flat[bad[0]].item() if len(bad) else None


def _keys(sites: np.ndarray, n_atoms: int) -> np.ndarray:
    """One int64 per cluster, increasing in C order of its sites (the primitive atom, then supercell atoms)."""
    k = sites.shape[1]
    if len(sites) and (int(sites[:, 0].max()) + 1) * float(n_atoms) ** (k - 1) >= 2.0 ** 63:
        raise ValueError(f"clusters of {k} atoms in a {n_atoms}-atom supercell cannot be indexed by one int64 each: "
                         "use a smaller supercell")
    return cluster_keys(sites, n_atoms)


def cluster_keys(idx: np.ndarray, N: int) -> np.ndarray:
    """Integer key of index tuples (rows), ordered as the tuples are lexicographically."""
    idx = np.asarray(idx, dtype=np.int64)
    key = idx[:, 0].copy()
    for c in range(1, idx.shape[1]):
        key = key * N + idx[:, c]
    return key


def _gigabytes(nbytes: float) -> str:
    return f"{nbytes / 1e9:.3g} GB"
