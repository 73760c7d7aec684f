"""Normal equations of the force-constant fit, streamed as Dask tasks over the frame chunks of trajectories.

Each task parses one frame chunk (positions and forces in one pass), builds its rows of the design matrix
(:mod:`trajmodes.forceconstants.design`) and returns only the normal equations A'A, A'f, f'f and the row and frame
counts, separately per cross-validation fold; the tasks are summed as a tree. Memory is O(folds * P^2) whatever the
number of frames, and a ``dask.distributed`` Client runs the same graph.
"""
from __future__ import annotations

import numpy as np

from trajmodes.forceconstants.design import DesignKernel, NormalBlocks
from trajmodes.lattice.structure import Structure

__all__ = ["normal_equations", "fold_ids", "chunk_blocks"]


def fold_ids(n_frames: int, folds: int, cv: str = "blocks") -> np.ndarray:
    """Cross-validation fold of each of ``n_frames`` selected frames of one trajectory.

    ``"blocks"``: ``folds`` contiguous blocks of (nearly) equal length, ``(position * folds) // n_frames``
    (held-out frames are not the time neighbours of training frames, except at block edges: the honest
    choice for correlated MD frames). ``"interleaved"``: ``position % folds``.
    """
    pos = np.arange(n_frames)
    if folds < 1:
        raise ValueError(f"folds must be >= 1, not {folds}")
    if cv == "blocks":
        return (pos * folds) // max(n_frames, 1)
    if cv == "interleaved":
        return pos % folds
    raise ValueError(f"cv must be 'blocks' or 'interleaved', not {cv!r}")


def chunk_blocks(kernel: DesignKernel, u, forces, folds_of, n_folds) -> NormalBlocks:
    """One task: normal equations of one frame chunk (displacements ``u`` and forces, A and eV/A), per fold."""
    u = np.asarray(u, float)
    f = np.asarray(forces, float)
    f = f - f.mean(axis=1, keepdims=True)
    out = NormalBlocks.zeros(n_folds, kernel.n_params)
    for h in np.unique(folds_of):
        sel = folds_of == h
        kernel.accumulate(u[sel], f[sel], out, int(h))
    return out


def _add(*parts):
    """Sum of normal blocks (one node of the tree sum)."""
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    return total


def normal_equations(trajectories, kernel: DesignKernel, folds: int = 5, cv: str = "blocks",
                     split_every: int = 8, compute: bool = True, r0: np.ndarray | None = None,
                     reference: Structure | None = None):
    """Normal equations of a pool of trajectories, streamed as Dask tasks over their frame chunks.

    Parameters
    ----------
    trajectories : Trajectory or list of Trajectory
        With forces; the same supercell (atoms in the same order). Every trajectory is split into
        folds on its own (:func:`fold_ids`), so each fold holds a part of every run.
    kernel : DesignKernel
    folds : int
    cv : {"blocks", "interleaved"}
    reference : Structure, optional
        The (ideal) crystal the displacements are measured from; default each trajectory's reference.
        Displacements are :meth:`Trajectory.displacements` (each frame mapped onto the reference cell, so NPT
        runs are handled).
    r0 : ndarray (N, 3), optional
        Ideal positions (A) in the cell of each trajectory's reference (instead of ``reference``).
    split_every : int
        Fan-in of the tree sum.
    compute : bool
        False: return the Dask Delayed of the result instead.

    Returns
    -------
    NormalBlocks
    """
    import dask

    trajs = [trajectories] if not isinstance(trajectories, (list, tuple)) else list(trajectories)
    kern = dask.delayed(kernel, pure=True)
    task = dask.delayed(chunk_blocks, pure=True)
    parts = []
    for traj in trajs:
        if "forces" not in traj.source.fields:
            raise ValueError(f"{traj.source.describe()} has no forces (fx fy fz): the fit needs them")
        ref = traj.reference if reference is None else reference
        if r0 is not None:
            ref = Structure(np.asarray(r0, float), ref.cell, ref.species, ref.masses, ref.origin)
        lean = ("positions", "forces")
        u = traj.displacements(layer=lean, reference=ref)
        frc = traj.field("forces", lean)
        fid = fold_ids(traj.n_frames, folds, cv)
        starts = np.concatenate([[0], np.cumsum(u.chunks[0])])
        ud, fd = u.to_delayed().ravel(), frc.to_delayed().ravel()
        for c in range(len(ud)):
            if starts[c + 1] == starts[c]:
                continue
            parts.append(task(kern, ud[c], fd[c], fid[starts[c]:starts[c + 1]], folds))
    if not parts:
        raise ValueError("no frames to fit")
    while len(parts) > 1:
        parts = [dask.delayed(_add, pure=True)(*parts[i:i + split_every]) for i in range(0, len(parts), split_every)]
    return parts[0].compute() if compute else parts[0]
