"""The element column of a LAMMPS dump compared with the first frame's, a run of frames at once.

The compiled dump parser skips the ``element`` column, so each run of frames read is compared with the first frame
here: one vectorised comparison of the first bytes of every atom line (up to the element and id tokens) with the
first frame's, and for frames whose rows are in another order, token by token (the element as a hash of its bytes,
the id as an integer), all lines at once. :class:`ElementLines` says which frames agree; the reader looks at the
others one by one and names the atom, frame and line that differ.
"""
from __future__ import annotations

import numpy as np

from trajmodes.io.trajectories.lammps_format import row_heads

__all__ = ["ElementLines"]


class ElementLines:
    """The first frame's atom lines as the element comparison needs them: the element and id token numbers, the last
    token read, each atom's element (id order) as bytes and their hash, and the first bytes of the first frame's atom
    lines with the mask of those compared (up to the last token read and the space after it).

    Parameters
    ----------
    columns : sequence of str
        The dump's per-atom columns (one is ``element``).
    has_id : bool
        Whether the dump has an ``id`` column (rows are then matched by id, else taken in file order).
    species : array of str
        Each atom's element in the first frame, in id order.
    ids : array of int
        The atom ids, sorted (the order of ``species``).
    first : bytes
        The first frame's text (its header and atom lines).
    """

    def __init__(self, columns, has_id: bool, species, ids, first: bytes):
        columns = list(columns)
        self.ids = np.asarray(ids)
        self.n_atoms = n = len(self.ids)
        self.element = j = columns.index("element")
        self.id = jid = columns.index("id") if has_id else None
        self.need = need = max(j, jid if jid is not None else 0)
        sp = np.char.encode(np.asarray(species, dtype=str))
        lengths = np.char.str_len(sp)
        wide = int(lengths.max()) + 1
        expect = np.frombuffer(sp.astype(f"S{wide}").tobytes(), np.uint8).reshape(n, wide).copy()
        text = np.frombuffer(first, np.uint8)
        g, _ = row_heads(text, np.zeros(1, np.int64), np.array([len(text)]), n, 32 * (need + 1) + wide)
        g = g[0]
        gap = (g == 32) | (g == 9) | (g == 13) | (np.cumsum(g == 10, axis=-1) > 0)
        starts = ~gap & np.concatenate([np.ones((len(g), 1), bool), gap[:, :-1]], axis=-1)
        tok = np.cumsum(starts, axis=-1) - 1
        ends = np.argmax(gap & (tok >= need), axis=-1)           # the byte after the last token read, every line
        self.width = width = int(ends.max()) + 1
        mask = np.arange(width)[None, :] <= ends[:, None]
        self.prefix, self.mask = np.where(mask, g[:, :width], 0)[None], mask[None]
        hashes = np.zeros(n, np.int64)
        for c in range(wide - 1):                                # each atom's element as by_token hashes it
            hashes = np.where(c < lengths, hashes * 257 + expect[:, c] + 1, hashes)
        self.hashes = hashes

    def agree(self, buf, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Whether each frame of ``buf`` (frame ``i`` at ``[starts[i], ends[i])``, parsed already, so that it ends
        with its atom lines) holds every atom with the first frame's element, whatever the order of its rows. False
        also for a frame whose lines do not fit (odd spacing): the reader's exact check looks at it."""
        a = np.frombuffer(buf, np.uint8)
        g, fits = row_heads(a, np.asarray(starts, np.int64), np.asarray(ends, np.int64), self.n_atoms, self.width)
        same = ((g == self.prefix) | ~self.mask).all(axis=(1, 2)) & fits
        other = np.flatnonzero(fits & ~same)                     # rows in another order: token by token
        if len(other):
            same[other] = self.by_token(g[other])
        return same

    def by_token(self, g: np.ndarray) -> np.ndarray:
        """Whether every atom line of each frame (``g``: frames, atoms, first bytes of each line) holds its atom's
        element, the atom found by its id token: the tokens are read along the bytes of the lines, all lines at once
        (the element as a hash of its bytes, the id as an integer)."""
        j, jid, need, n = self.element, self.id, self.need, self.n_atoms
        shape = g.shape[:2]
        tok = np.full(shape, -1, np.int16)
        after_gap, ended, complete, bad = (np.ones(shape, bool), np.zeros(shape, bool), np.zeros(shape, bool),
                                           np.zeros(shape, bool))
        h, ids, digits = np.zeros(shape, np.int64), np.zeros(shape, np.int64), np.zeros(shape, np.int16)
        for c in range(g.shape[2]):                      # the bytes of the lines, a few dozen at most
            col = g[..., c]
            ended |= col == 10
            gap = ended | (col == 32) | (col == 9) | (col == 13)
            tok += ~gap & after_gap
            complete |= gap & (tok >= need)
            el = ~gap & (tok == j)
            h = np.where(el, h * 257 + col + 1, h)
            if jid is not None:
                d = ~gap & (tok == jid)
                ids = np.where(d, ids * 10 + (col.astype(np.int64) - 48), ids)
                digits += d
                bad |= d & ((col < 48) | (col > 57))
            after_gap = gap
        if jid is None:
            idx, known = np.broadcast_to(np.arange(n), shape), True
        else:
            idx = np.searchsorted(self.ids, ids).clip(0, n - 1)
            known = (self.ids[idx] == ids) & (digits <= 18) & ~bad
        return (complete & known & (self.hashes[idx] == h)).all(axis=1)
