"""Normal equations of a run that is still growing: frames added as they come, kept per block of a fixed number of
frames, and the fit solved again from them at any time without reading a frame twice.

A fit of a finished run (:func:`~trajmodes.forceconstants.normal.normal_equations`) cuts the run into time segments
of equal length; a growing run's length is not known ahead, so :class:`GrowingNormal` keeps blocks of ``block_frames``
frames (frame ``i`` in block ``i // block_frames``), and groups whole blocks into the estimator's segments and
cross-validation folds when it solves. Memory is O(blocks * P^2): the blocks are merged pairwise when there are more
than ``max_blocks`` of them (their length doubles), so it stays bounded however long the run.
"""
from __future__ import annotations

import numpy as np

from trajmodes.forceconstants.averages import cell_statistics
from trajmodes.forceconstants.normal import block_layout, chunk_blocks, n_segments

__all__ = ["GrowingNormal"]


class GrowingNormal:
    """The normal equations of a growing run for a prepared :class:`~trajmodes.EffectiveForceConstants`.

    Parameters
    ----------
    estimator : EffectiveForceConstants
        Set up with :meth:`~trajmodes.EffectiveForceConstants.prepare` (its design kernel, bases, settings
        ``segments``, ``folds``; ``cv="blocks"``).
    block_frames : int
        Frames per stored block (the finest unit the start of the fit and its segments are placed on).
    max_blocks : int
        Above this many stored blocks, neighbouring blocks are merged (``block_frames`` doubles).
    """

    def __init__(self, estimator, block_frames: int = 8, max_blocks: int = 512):
        if getattr(estimator, "kernel_", None) is None:
            raise ValueError("the estimator has no design kernel: call its prepare(supercell) first")
        if estimator.cv != "blocks":
            raise ValueError(f"a growing run's folds are contiguous blocks: cv='blocks', not {estimator.cv!r}")
        if int(block_frames) < 1 or int(max_blocks) < 4:
            raise ValueError(f"block_frames must be >= 1 and max_blocks >= 4, not {block_frames} and {max_blocks}")
        self.estimator = estimator
        self.block_frames = int(block_frames)
        self.max_blocks = int(max_blocks)
        self.n_frames = 0
        self.blocks = None                  # NormalBlocks, ids = block index

    def add(self, displacements, forces, energy=None, temperature=None, cells=None, reference_cell=None) -> int:
        """Add the next frames (displacements Å and forces eV/Å, (frames, N, 3); per frame the potential energy eV,
        the kinetic temperature K and the cell Å where known). Returns the frames held after."""
        u = np.asarray(displacements, float)
        if not len(u):
            return self.n_frames
        ids = (self.n_frames + np.arange(len(u))) // self.block_frames
        part = chunk_blocks(self.estimator.kernel_, u, forces, ids, energy, temperature, cells,
                            reference_cell if cells is not None else None)
        self.blocks = part if self.blocks is None else self.blocks + part
        self.n_frames += len(u)
        while self.blocks.n_blocks > self.max_blocks:
            self.blocks = self.blocks.grouped(self.blocks.ids // 2)
            self.block_frames *= 2
        return self.n_frames

    def first_frame_of(self, frame: int) -> int:
        """The first frame of the first whole block at or after ``frame``: where a fit that leaves out the frames
        before ``frame`` starts."""
        return -(-int(frame) // self.block_frames) * self.block_frames

    def solve(self, first_frame: int = 0, last_frame: int | None = None, estimator=None):
        """Solve the estimator from the blocks of frames [``first_frame``, ``last_frame``) (both rounded to whole
        blocks: up for the first, down for the last unless it is the end), grouped into its time segments (whole
        blocks, as equal in number as they divide) and folds; returns the fitted estimator.

        ``estimator``: another estimator to solve (a copy of this one's, ``copy.copy``: the same kernel), so that
        narrowing its cutoff after (``refit(cutoff2=)``) leaves this one's basis as it is.

        Where every segment holds the same number of whole blocks, the segments are those of a fit of the same frames
        (:meth:`~trajmodes.EffectiveForceConstants.fit`), so its constants and bootstrap are the same to round-off."""
        est = self.estimator if estimator is None else estimator
        if self.blocks is None:
            raise ValueError("no frames added yet")
        lo = self.first_frame_of(first_frame) // self.block_frames
        hi = self.blocks.ids.max() + 1 if last_frame is None or last_frame >= self.n_frames else \
            int(last_frame) // self.block_frames
        keep = np.flatnonzero((self.blocks.ids >= lo) & (self.blocks.ids < hi))
        if not len(keep):
            raise ValueError(f"no whole block of {self.block_frames} frames from frame {first_frame} on")
        blk = self.blocks.select(keep)
        pos = blk.ids - lo
        S = n_segments(int(est.segments), int(est.folds))
        segment = (pos * S) // max(int(hi - lo), 1)
        fold, segment = block_layout(segment, int(est.segments), int(est.folds), "blocks")
        est.committee_blocks_ = None
        est.blocks_ = blk.grouped(fold)
        est.segments_ = blk.grouped(segment)
        est.cell_strain_, _, est.cell_strain_cov_, est.cell_dofs_ = cell_statistics(est.segments_)
        return est.refit()

    def held_frames(self, first_frame: int = 0) -> int:
        """Frames in the blocks :meth:`solve` fits from ``first_frame`` on."""
        if self.blocks is None:
            return 0
        lo = self.first_frame_of(first_frame) // self.block_frames
        return int(self.blocks.n_frames[self.blocks.ids >= lo].sum())
