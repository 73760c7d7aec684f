"""The normal equations of the force-constant fit per block of frames (:class:`NormalBlocks`): A'A, A'f, f'f and the
per-frame sums the fit reports (energies, temperatures, cell strains), the unit that cross-validation folds and the
time segments of the block bootstrap are made of.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NormalBlocks"]


@dataclass
class NormalBlocks:
    """Normal equations per block of frames, summed over the frames of each block.

    A block is the unit of the reductions: cross-validation folds and the time segments of the block
    bootstrap (:mod:`trajmodes.forceconstants.uncertainty`) are both unions of blocks (:meth:`grouped`). Only
    blocks that hold frames are stored; ``ids`` labels them.

    Attributes
    ----------
    G : ndarray (n_blocks, P, P)
        A'A, parameters of all orders side by side (order 2 first).
    b : ndarray (n_blocks, P)
        A'f.
    ff : ndarray (n_blocks,)
        f'f in (eV/Å)².
    n_rows : ndarray (n_blocks,)
        Number of force components (rows of A).
    n_frames : ndarray (n_blocks,)
        Number of frames.
    bu : ndarray (n_blocks, P), optional
        A'u in eV: ``-1/2 p2 . bu`` is the sum over the frames of the harmonic energy 1/2 u Phi u of the
        order-2 parameters ``p2`` (the first columns); zeros when not accumulated.
    energy : ndarray (n_blocks,), optional
        Sum of the MD potential energy of the frames that have one (eV).
    n_energy : ndarray (n_blocks,), optional
        Number of frames with a potential energy.
    temperature : ndarray (n_blocks,), optional
        Sum of the kinetic temperatures (K) of the frames that have velocities.
    n_temperature : ndarray (n_blocks,), optional
        Number of frames with velocities.
    strain : ndarray (n_blocks, 6), optional
        Sum of the Voigt strains of the frames' cells from the reference cell
        (:func:`trajmodes.lattice.strain.cell_strains`).
    strain2 : ndarray (n_blocks, 6, 6), optional
        Sum of their outer products e e^T.
    n_strain : ndarray (n_blocks,), optional
        Number of frames with a cell.
    dipole_energy : ndarray (n_blocks,), optional
        Sum over the frames of the dipole-dipole energy 1/2 u Phi_dd u (eV) of a polar fit, whose forces the fit takes
        out (:class:`~trajmodes.forceconstants.dipole.DipoleSubtracted`); zeros otherwise.
    ids : ndarray (n_blocks,) of int, optional
        Block labels, ascending (default 0 .. n_blocks-1).

    Forces are those with the mean force of every frame (over the atoms) removed.
    """

    G: np.ndarray
    b: np.ndarray
    ff: np.ndarray
    n_rows: np.ndarray
    n_frames: np.ndarray
    bu: np.ndarray | None = None
    energy: np.ndarray | None = None
    n_energy: np.ndarray | None = None
    temperature: np.ndarray | None = None
    n_temperature: np.ndarray | None = None
    strain: np.ndarray | None = None
    strain2: np.ndarray | None = None
    n_strain: np.ndarray | None = None
    dipole_energy: np.ndarray | None = None
    ids: np.ndarray | None = None

    def __post_init__(self):
        n, P = len(self.ff), self.b.shape[-1]
        if self.bu is None:
            self.bu = np.zeros((n, P))
        if self.energy is None:
            self.energy = np.zeros(n)
        if self.n_energy is None:
            self.n_energy = np.zeros(n, dtype=np.int64)
        if self.temperature is None:
            self.temperature = np.zeros(n)
        if self.n_temperature is None:
            self.n_temperature = np.zeros(n, dtype=np.int64)
        if self.strain is None:
            self.strain = np.zeros((n, 6))
        if self.strain2 is None:
            self.strain2 = np.zeros((n, 6, 6))
        if self.n_strain is None:
            self.n_strain = np.zeros(n, dtype=np.int64)
        if self.dipole_energy is None:
            self.dipole_energy = np.zeros(n)
        self.ids = np.arange(n, dtype=np.int64) if self.ids is None else np.asarray(self.ids, dtype=np.int64)

    #: the per-block arrays, in the constructor's order
    ARRAYS = ("G", "b", "ff", "n_rows", "n_frames", "bu", "energy", "n_energy", "temperature", "n_temperature",
               "strain", "strain2", "n_strain", "dipole_energy")
    #: the counts among :attr:`ARRAYS` (integers)
    COUNTS = ("n_rows", "n_frames", "n_energy", "n_temperature", "n_strain")

    @classmethod
    def zeros(cls, n_blocks: int, n_params: int, ids=None) -> "NormalBlocks":
        """Empty blocks: ``n_blocks`` of them, labelled ``ids`` (default 0 .. n_blocks-1)."""
        return cls(np.zeros((n_blocks, n_params, n_params)), np.zeros((n_blocks, n_params)), np.zeros(n_blocks),
                   np.zeros(n_blocks, dtype=np.int64), np.zeros(n_blocks, dtype=np.int64), ids=ids)

    def __add__(self, other: "NormalBlocks") -> "NormalBlocks":
        """Blockwise sum; blocks present in one operand only are kept as they are."""
        if np.array_equal(self.ids, other.ids):
            return NormalBlocks(*(getattr(self, a) + getattr(other, a) for a in self.ARRAYS), ids=self.ids)
        ids = np.union1d(self.ids, other.ids)
        out = NormalBlocks.zeros(len(ids), self.b.shape[-1], ids=ids)
        for part in (self, other):
            at = np.searchsorted(ids, part.ids)
            for a in self.ARRAYS:
                getattr(out, a)[at] += getattr(part, a)
        return out

    def add_per_frame(self, name: str, at, values) -> None:
        """Add per-frame ``values`` of ``name`` ("energy", "temperature", or "strain": Voigt strains (frames, 6),
        whose outer products go to ``strain2``) to the sums of the blocks at positions ``at`` (one per frame),
        counting them in ``n_<name>``."""
        sums = getattr(self, name)
        v = np.asarray(values, float).reshape((len(np.atleast_1d(at)),) + sums.shape[1:])
        np.add.at(sums, at, v)
        if name == "strain":
            np.add.at(self.strain2, at, v[:, :, None] * v[:, None, :])
        np.add.at(getattr(self, "n_" + name), at, 1)

    def per_frame_mean(self, name: str) -> np.ndarray:
        """Mean over its frames of the per-frame quantity ``name`` in every block (NaN where it has none)."""
        n = getattr(self, "n_" + name)
        x = getattr(self, name)
        n = n.reshape(n.shape + (1,) * (x.ndim - 1))
        return np.where(n > 0, x / np.maximum(n, 1), np.nan)

    @property
    def n_blocks(self) -> int:
        return len(self.ff)

    n_folds = n_blocks

    def select(self, positions) -> "NormalBlocks":
        """The blocks at ``positions`` (indices into the stored blocks)."""
        pos = np.atleast_1d(np.asarray(positions, dtype=np.int64))
        return NormalBlocks(*(getattr(self, a)[pos] for a in self.ARRAYS), ids=self.ids[pos])

    def grouped(self, labels) -> "NormalBlocks":
        """Blocks summed by ``labels`` (one per stored block): the result's ids are the distinct labels."""
        labels = np.asarray(labels, dtype=np.int64)
        ids, inv = np.unique(labels, return_inverse=True)
        out = NormalBlocks.zeros(len(ids), self.b.shape[-1], ids=ids)
        for a in self.ARRAYS:
            np.add.at(getattr(out, a), inv, getattr(self, a))
        return out

    def total(self) -> tuple[np.ndarray, np.ndarray, float, int]:
        """(G, b, ff, n_rows) summed over the blocks."""
        return self.G.sum(axis=0), self.b.sum(axis=0), float(self.ff.sum()), int(self.n_rows.sum())
