"""Normal equations of the force-constant fit, streamed as Dask tasks over the frame chunks of trajectories.

Each task parses one frame chunk (positions, forces and, where the data has it, the potential energy, in one pass),
builds its rows of the design matrix (:mod:`trajmodes.forceconstants.design`) and returns only the normal equations
A'A, A'f, f'f, A'u and the row, frame and energy sums, separately per block of frames (the blocks its frames
belong to); the tasks are summed as a tree. A block is one time segment of a run (and, for interleaved
cross-validation, one fold of that segment): cross-validation folds and the block bootstrap's resampling units are
unions of blocks (:func:`block_layout`). Memory is O(blocks * P^2) whatever the number of frames, and a
``dask.distributed`` Client runs the same graph.
"""
from __future__ import annotations

import numpy as np

from trajmodes.forceconstants.design import DesignKernel, NormalBlocks
from trajmodes.lattice.strain import cell_strains
from trajmodes.lattice.structure import Structure
from trajmodes.resources import on_workers, one_blas_thread, scattering_client

__all__ = ["normal_equations", "fit_layer", "fold_ids", "block_ids", "block_layout", "chunk_blocks"]


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


def n_segments(segments: int, folds: int) -> int:
    """The number of time segments per run: ``segments`` rounded up to a multiple of ``folds`` (so that a
    contiguous cross-validation fold is a union of whole segments)."""
    segments, folds = max(int(segments), 1), max(int(folds), 1)
    return -(-segments // folds) * folds


def block_ids(n_frames: int, segments: int, folds: int, cv: str = "blocks") -> np.ndarray:
    """Block of each of ``n_frames`` selected frames of one run.

    The run is cut into ``n_segments(segments, folds)`` contiguous time segments of (nearly) equal length. With
    ``cv="blocks"`` a block is a segment; with ``"interleaved"`` it is one fold (frame ``% folds``) of a segment,
    ``segment * folds + fold``. :func:`block_layout` gives the fold and the segment of every block.
    """
    S = n_segments(segments, folds)
    pos = np.arange(n_frames)
    seg = (pos * S) // max(n_frames, 1)
    if cv == "blocks":
        return seg
    return seg * folds + fold_ids(n_frames, folds, cv)


def block_layout(ids, segments: int, folds: int, cv: str = "blocks") -> tuple[np.ndarray, np.ndarray]:
    """(fold, segment) of every block id of :func:`block_ids`."""
    ids = np.asarray(ids, dtype=np.int64)
    S = n_segments(segments, folds)
    if cv == "blocks":
        return (ids * folds) // S, ids
    return ids % folds, ids // folds


def chunk_blocks(kernel: DesignKernel, u, forces, ids_of, energy=None, temperature=None, cells=None,
                 reference_cell=None, members=None, sigma=None):
    """One task: normal equations of one frame chunk (displacements ``u`` and forces, Å and eV/Å), per block
    (``ids_of``: the block of every frame), with the sums of the potential energies ``energy`` (eV, per frame), of
    the kinetic temperatures ``temperature`` (K, per frame) and of the strains of the frames' ``cells`` (Å, rows
    a, b, c) from ``reference_cell``.

    ``members`` (frames, M, atoms, 3), eV/Å: a committee's forces, whose right-hand sides are accumulated beside
    (the result is then a :class:`~trajmodes.forceconstants.committee.CommitteeNormal`). ``sigma``: the force
    uncertainty of every row (eV/Å; :func:`~trajmodes.forceconstants.committee.inverse_sigma` takes its shapes), each
    row weighted by 1/sigma^2."""
    u = np.asarray(u, float)
    f = np.asarray(forces, float)
    f = f - (np.ones(f.shape[1]) @ f)[:, None] / max(f.shape[1], 1)  # less the mean force (BLAS: 15x np.mean)
    ids, at = np.unique(ids_of, return_inverse=True)
    out = NormalBlocks.zeros(len(ids), kernel.n_params, ids=ids)
    mem = w = extra = None
    if members is not None or sigma is not None:
        from trajmodes.forceconstants.committee import CommitteeNormal, MemberBlocks, inverse_sigma
        w = None if sigma is None else inverse_sigma(sigma, f.shape)
        if members is not None:
            m = np.asarray(members, float).transpose(1, 0, 2, 3)                      # (M, frames, atoms, 3)
            mem = m - (np.ones(m.shape[2]) @ m)[:, :, None] / max(m.shape[2], 1)
            extra = MemberBlocks.zeros(ids, len(mem), kernel.n_params)
    for pos in range(len(ids)):
        sel = at == pos
        if mem is None and w is None:
            kernel.accumulate(u[sel], f[sel], out, pos)
            continue
        got = kernel.accumulate(u[sel], f[sel], out, pos, weights=None if w is None else w[sel],
                                members=None if mem is None else mem[:, sel])
        if got is not None:
            extra.b[pos] += got[0]
            extra.ff[pos] += got[1]
    strain = None if cells is None or reference_cell is None else cell_strains(cells, reference_cell)
    for name, values in (("energy", energy), ("temperature", temperature), ("strain", strain)):
        if values is not None:
            out.add_per_frame(name, at, values)
    return out if extra is None else CommitteeNormal(out, extra)


def _add(*parts):
    """Sum of normal blocks (one node of the tree sum)."""
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    return total


def fit_layer(traj, energy: bool = True, temperature: bool = True, extra: tuple = ()) -> tuple:
    """The fields :func:`normal_equations` reads from ``traj`` in its one pass (its read layer,
    :meth:`~trajmodes.trajectory.core.Trajectory.field`): positions and forces, the potential energy where the data
    have it (``energy``), the velocities where the temperature can be had (``temperature``), and ``extra``: a
    committee's forces and the force uncertainty (:func:`~trajmodes.forceconstants.committee.fit_fields`). The
    accumulators added to the pass it computes are read through it too (:meth:`~trajmodes.trajectory.passes.Pass.
    compute`)."""
    with_energy = energy and "potential_energy" in getattr(traj, "frame_fields", ())
    with_t = temperature and traj.velocities is not None and traj.masses is not None and \
        getattr(traj.source, "kinetic_temperature", True)        # not a ring polymer's beads (P times the run's)
    return ("positions", "forces") + (("potential_energy",) if with_energy else ()) + \
        (("velocities",) if with_t else ()) + tuple(extra)


def _extra_field(traj, name: str, layer: tuple):
    """The source's field ``name`` beyond its per-atom ones (``extra_shapes``: a committee's forces, the force
    uncertainty) as a lazy array over the frames, read through ``layer``."""
    import operator

    from dask.base import tokenize
    shape = tuple(traj.source.extra_shapes[name])
    return traj.map_chunks(operator.getitem, name, layer=layer, shape=shape, dtype=np.float64,
                           name=f"trajmodes-{name}-" + tokenize(traj.read_layer(layer)[0]))


def normal_equations(trajectories, kernel: DesignKernel, folds: int = 5, cv: str = "blocks",
                     split_every: int = 8, compute: bool = True, r0: np.ndarray | None = None,
                     reference: Structure | None = None, segments: int | None = None, energy: bool = True,
                     temperature: bool = True, weights=None, extra: tuple = (), members: bool = False,
                     reading=None):
    """Normal equations of a pool of trajectories, streamed as Dask tasks over their frame chunks, in one pass with
    the accumulators added to ``reading`` (:class:`~trajmodes.trajectory.passes.Pass`).

    Parameters
    ----------
    trajectories : Trajectory or list of Trajectory
        With forces; the same supercell (atoms in the same order). Every trajectory is split into
        segments and folds on its own (:func:`block_ids`), so each fold and each segment holds a part of every run.
    kernel : DesignKernel
    folds : int
    cv : {"blocks", "interleaved"}
    segments : int, optional
        Time segments per run (rounded up to a multiple of ``folds``); default ``folds``.
    energy : bool
        Sum the potential energy of the frames of runs that have one (:attr:`NormalBlocks.energy`).
    temperature : bool
        Sum the kinetic temperature of the frames of runs with velocities (:attr:`NormalBlocks.temperature`), read
        in the same pass. The strains of the frames' cells from the reference cell are summed too (with their outer
        products: the mean cell and the box's fluctuations of variable-cell runs).
    reference : Structure, optional
        The (ideal) crystal the displacements are measured from; default each trajectory's reference.
        Displacements are :meth:`Trajectory.displacements` (each frame mapped onto the reference cell, so NPT
        runs are handled).
    r0 : ndarray (N, 3), optional
        Ideal positions (Å) in the cell of each trajectory's reference (instead of ``reference``).
    weights : None, "uncertainty" or array_like
        None: unweighted. ``"uncertainty"``: every force row weighted by 1/sigma^2, sigma the runs' ``force_std``
        where they carry it, else their committee's spread
        (:func:`~trajmodes.forceconstants.committee.committee_sigma`). An array: sigma (eV/Å) per atom (N,) or per
        component (N, 3).
    extra : tuple
        The fields beyond the plain fit's that the pass reads
        (:func:`~trajmodes.forceconstants.committee.fit_fields`): with ``"committee_forces"`` every member's
        right-hand side is accumulated too where ``members``, and the result is then a
        :class:`~trajmodes.forceconstants.committee.CommitteeNormal`.
    members : bool
        Accumulate the committee's right-hand sides (``"committee_forces"`` in ``extra``).
    split_every : int
        Fan-in of the tree sum.
    compute : bool
        False: return the Dask Delayed of the result instead.
    reading : Pass, optional
        The pass of the first run, created by the caller: its accumulators are computed with the equations, and the
        frames it holds are taken. Default: a pass of its own.

    Returns
    -------
    NormalBlocks
    """
    import dask

    trajs = [trajectories] if not isinstance(trajectories, (list, tuple)) else list(trajectories)
    if compute:
        reading = trajs[0].read_pass() if reading is None else reading
        trajs[0] = trajs[0].in_pass(reading)        # its read tasks take the frames the pass holds
    # on a cluster scattered to the workers, not sent inside the graph through the scheduler (52 MB at 10^6 atoms)
    kern = dask.delayed(kernel, pure=True) if scattering_client() is None else on_workers(kernel)
    task = dask.delayed(chunk_blocks, pure=True)
    parts = []
    for traj in trajs:
        if "forces" not in traj.source.fields:
            raise ValueError(f"{traj.source.describe()} has no forces (fx fy fz): the fit needs them")
        ref = traj.reference if reference is None else reference
        if r0 is not None:
            ref = Structure(np.asarray(r0, float), ref.cell, ref.species, ref.masses, ref.origin)
        lean = fit_layer(traj, energy, temperature, extra)
        with_energy, with_t = "potential_energy" in lean, "velocities" in lean
        u = traj.displacements(layer=lean, reference=ref, drift="removed")     # a drift exerts no force
        md = sd = None
        if "committee_forces" in extra:
            md = _extra_field(traj, "committee_forces", lean).to_delayed(optimize_graph=False).ravel()
        if isinstance(weights, str) and "force_std" in extra:
            sd = _extra_field(traj, "force_std", lean).to_delayed(optimize_graph=False).ravel()
        elif isinstance(weights, str):                   # the committee's own spread
            from trajmodes.forceconstants.committee import committee_sigma
            sd = [dask.delayed(committee_sigma, pure=True)(m) for m in md]
        elif weights is not None:
            sd = [np.asarray(weights, float)] * len(u.chunks[0])
        frc = traj.field("forces", lean)
        ed = traj.field("potential_energy", lean).to_delayed(optimize_graph=False).ravel() if with_energy else None
        td = traj.temperature(layer=lean).to_delayed(optimize_graph=False).ravel() if with_t else None
        with_cell = traj.source.has_cell and ref.cell is not None
        cd = traj.field("cells", lean).to_delayed(optimize_graph=False).ravel() if with_cell else None
        bid = block_ids(traj.n_frames, folds if segments is None else segments, folds, cv)
        starts = np.concatenate([[0], np.cumsum(u.chunks[0])])
        ud, fd = u.to_delayed(optimize_graph=False).ravel(), frc.to_delayed(optimize_graph=False).ravel()
        for c in range(len(ud)):
            if starts[c + 1] == starts[c]:
                continue
            parts.append(task(kern, ud[c], fd[c], bid[starts[c]:starts[c + 1]], None if ed is None else ed[c],
                              None if td is None else td[c], None if cd is None else cd[c],
                              ref.cell if with_cell else None, md[c] if md is not None and members else None,
                              None if sd is None else sd[c]))
    if not parts:
        raise ValueError("no frames to fit")
    while len(parts) > 1:
        parts = [dask.delayed(_add, pure=True)(*parts[i:i + split_every]) for i in range(0, len(parts), split_every)]
    if not compute:
        return parts[0]
    with one_blas_thread():               # the chunks run side by side on the cores
        return reading.compute(parts[0], fit_layer(trajs[0], energy, temperature, extra))
