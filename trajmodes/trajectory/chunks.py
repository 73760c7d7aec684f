"""The read tasks of a trajectory's chunks of frames.

A read task (:func:`read_chunk`) parses its chunk's frames and checks that every value is finite; frames of a text
trajectory parsed before the pass that reads them (a provisional reference's, those read ahead) are taken from the
pass the frames are read in (:class:`~trajmodes.trajectory.passes.Pass`), which holds them.
"""
from __future__ import annotations

import os

import numpy as np

from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.trajectories.base import FRAME_FIELDS, FrameSource, empty_frames

#: frames held at most while reading ahead (:meth:`~trajmodes.trajectory.passes.Pass.reading_ahead`; the provisional
#: reference's frames included), in :data:`~trajmodes.resources.HOLD_BYTES`: at 10^6 atoms 24 frames of positions,
#: velocities and forces, about 7 s of one core's parsing, the serial work before a fit's pass
READ_AHEAD_SHARE = 1.5


def read_chunk(source: FrameSource, frames: np.ndarray, fields: tuple, held=None) -> dict:
    """The read task of a chunk: ``source.read(frames, fields)``, checked finite, with the frames that the pass
    ``held`` (a :class:`~trajmodes.trajectory.passes.Pass`, or None) holds taken from there."""
    if len(frames) == 0:
        return empty_frames(0, source.n_atoms, fields)
    if held is not None:
        data = held.take(source, np.asarray(frames), fields)
        if data is not None:
            return data
    return check_finite(source, frames, source.read(frames, fields))


def boxes_and_positions(data: dict, rows: list) -> dict:
    """The positions, cells and origins of the rows ``rows`` of a read task's chunk (what a provisional reference
    takes from frames a cluster's workers parsed and keep)."""
    return {k: data[k][rows] for k in ("positions", "cells", "origins") if isinstance(data.get(k), np.ndarray)}


def parse_in_threads(source: FrameSource, frames: np.ndarray, fields: tuple | None = None) -> dict:
    """``source.read(frames, fields)`` (default every field), the frames shared by a thread per core (a text parser
    releases the interpreter's lock): the provisional reference's few frames are read before anything else can run
    beside them."""
    from concurrent.futures import ThreadPoolExecutor
    parts = [p for p in np.array_split(np.asarray(frames), min(len(frames), os.cpu_count() or 1)) if len(p)]
    if len(parts) < 2:
        return source.read(frames, fields)
    with ThreadPoolExecutor(len(parts)) as pool:
        reads = list(pool.map(lambda p: source.read(p, fields), parts))
    per_frame = [k for k, v in reads[0].items()                           # arrays over the frames, not the atoms
                 if isinstance(v, np.ndarray) and all(len(r[k]) == len(p) for r, p in zip(reads, parts))]
    return {k: np.concatenate([r[k] for r in reads]) if k in per_frame else v for k, v in reads[0].items()}


def check_finite(source: FrameSource, frames: np.ndarray, data: dict) -> dict:
    """``data`` (what ``source.read(frames)`` returned) after checking that every value is finite.

    One vectorised test per array and chunk; only a failure looks for the frame.

    Raises
    ------
    TrajectoryFormatError
        Naming the source, the field and the first frame with a NaN or infinite value (per-atom fields, the box,
        and the per-frame energy and pressure).
    """
    names = ["positions", "velocities", "forces", "displacements", "origins", *FRAME_FIELDS]
    if source.has_cell:
        names.append("cells")
    for name in names:
        block = data.get(name)
        if block is None or np.isfinite(block).all():
            continue
        bad = ~np.isfinite(block.reshape(len(block), -1)).all(axis=1)
        k = int(np.asarray(frames)[np.flatnonzero(bad)[0]])
        what = "box" if name in ("cells", "origins") else name.replace("_", " ")
        state = "is NaN or infinite" if name in FRAME_FIELDS else "hold NaN or infinite values"
        raise TrajectoryFormatError(", ".join(map(str, source.paths)), f"the {what} of frame {k} {state}", frame=k,
                                    fix="Drop that frame (slice the trajectory) or fix the file that holds it")
    return data


def frame_bytes(source: FrameSource) -> int:
    """Bytes of one frame of ``source``'s per-atom fields in float64, read: what a read task or a held frame costs."""
    return max(1, source.n_atoms) * 3 * 8 * max(1, len(source.fields))


def held_frame_bytes(source: FrameSource) -> int:
    """Bytes one held frame of ``source`` costs (:class:`~trajmodes.trajectory.passes.Pass`): its per-atom fields and its box and
    per-frame values."""
    return frame_bytes(source) + 1024


def frame_sum(x):
    """The sum over the frames (axis 0) of a lazy array chunked over frames: each chunk summed, then the chunks' sums
    added in place up a tree. Dask's ``sum`` concatenates the inputs of every node of its tree first, a new array of
    its fan-in's size (fresh pages of memory at 10^6 atoms): the mean displacement of the 864,000-atom fit's pass took
    1.7 s of a worker's 17 s that way, 0.1 s like this."""
    import dask.array as da
    return da.reduction(x, _chunk_sum, _add_sums, combine=_add_sums, axis=0, concatenate=False, dtype=x.dtype)


def _chunk_sum(x: np.ndarray, axis=None, keepdims: bool = True) -> np.ndarray:
    """The sum of one chunk over its frames, (1, ...): the chunk itself when it has one frame."""
    return x if x.shape[0] == 1 else x.sum(axis=0, keepdims=True)


def _add_sums(parts, axis=None, keepdims: bool = True) -> np.ndarray:
    """The sum of the partial sums ``parts`` (a list of (1, ...) arrays, not changed), (1, ...) or, without
    ``keepdims``, (...)."""
    parts = parts if isinstance(parts, list) else [parts]
    total = parts[0] if len(parts) == 1 else parts[0] + parts[1]
    for p in parts[2:]:
        total += p
    return total if keepdims else total[0]
