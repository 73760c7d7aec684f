"""The species of an XYZ file's atom lines compared with frame 0's, a run of frames at once.

Where the species is the first token of an atom line, one vectorised comparison of the first bytes of every atom line
of the frames read (tabs and line ends as spaces) with frame 0's species tells the frames that may differ
(:class:`SpeciesLines`); the reader looks at those one by one (atoms in another order, other whitespace, another
species) and names the frame and line that differ.
"""
from __future__ import annotations

import numpy as np

__all__ = ["SpeciesLines"]


class SpeciesLines:
    """Frame 0's species as the first bytes of its atom lines: each species token and the space after it.

    Parameters
    ----------
    species : array of str
        Each atom's species in frame 0, in the order of its lines in the file.
    """

    def __init__(self, species):
        sp = np.char.encode(np.asarray(species, dtype=str))
        width = int(max(len(x) for x in sp.tolist())) + 1
        self.n_atoms = len(sp)
        self.expect = np.frombuffer(b"".join(x.ljust(width) for x in sp.tolist()), np.uint8).reshape(-1, width)
        lens = np.array([len(x) for x in sp.tolist()])
        self.mask = np.arange(width)[None, :] <= lens[:, None]

    def differ(self, buf, offsets: np.ndarray) -> np.ndarray:
        """Whether the first bytes of the atom lines of each frame at ``offsets`` in ``buf`` (each frame's first
        byte: its atom count line, then the comment line, then the atom lines) differ from frame 0's species (and
        the space after each)."""
        a = np.frombuffer(buf, np.uint8)
        nl = np.flatnonzero(a == 10)
        j = np.searchsorted(nl, np.asarray(offsets, np.int64))            # the count line's newline
        at = j[:, None] + 1 + np.arange(self.n_atoms)[None, :]             # the newline before each atom line
        if at.max(initial=0) >= len(nl):
            nl = np.append(nl, len(a))
        starts = nl[np.minimum(at, len(nl) - 1)] + 1
        pos = np.minimum(starts[..., None] + np.arange(self.expect.shape[1]), len(a) - 1)
        got = a[pos]
        got = np.where((got == 9) | (got == 10) | (got == 13), 32, got)
        return ((got != self.expect[None]) & self.mask[None]).any(axis=(1, 2))
