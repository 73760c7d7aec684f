"""TDEP's fourth-order force-constant file ``infile.forceconstant_fourthorder`` (F. Knoop et al., J. Open Source Softw.
9, 6150 (2024)), read onto a supercell as its quartets and written from them.

Layout, as TDEP's ``lo_forceconstant_fourthorder`` reads and writes it: the number of atoms of the unit cell, the
cutoff (Å), then for each unit-cell atom the number of its quartets and, for every quartet, 35 lines: the four
unit-cell atoms (1-based, the first the atom itself), the four lattice vectors of their cells (fractional, in unit-cell
vectors; the first zero), and the 3 x 3 x 3 x 3 block in eV/Å⁴, 27 lines of three numbers (the first three indices on
the line number, the first slowest).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from trajmodes.io.forceconstants.text import Lines, write_text
from trajmodes.lattice.geometry import shortest_vectors

__all__ = ["read_tdep_fc4", "write_tdep_fc4"]

_LINES = 35                               # lines of one quartet


def read_tdep_fc4(path: Path, n: int, N: int, smap, L0):
    """``infile.forceconstant_fourthorder`` on the supercell of ``smap`` (``L0``: the cells of the primitive
    representatives, ``smap.lattice[p2s]``): the quartets (n_quartets, 4), primitive atom first, and their blocks
    (n_quartets, 3, 3, 3, 3) in eV/Å⁴, as :class:`~trajmodes.forceconstants.cluster_constants.ClusterConstants` holds
    them. Quartets that fold onto the same supercell atoms (images of one another in a small supercell) keep their own
    rows here; :meth:`~trajmodes.forceconstants.model.ForceConstants.read` adds their blocks, as their forces add."""
    rd = Lines(path)
    na = rd.integer("the number of atoms per unit cell", low=1)
    if na != n:
        raise rd.error(f"it is for {na} atoms per unit cell, but the unit cell has {n}", line=rd.rows[0][0])
    rd.numbers(1, 1, "the cutoff")
    what = [f"atom {s + 1} of a quartet" for s in range(4)] + ["a lattice vector (fractional)"] * 4 + \
        ["a 3 x 3 x 3 x 3 force constant"] * 27
    sites, blocks = [], []
    for a in range(n):
        at = rd.line
        nq = rd.integer(f"the number of quartets of atom {a + 1}", low=0)
        x, chunk = rd.counted_records(nq, at, [1] * 4 + [3] * 31, what, f"the quartet count of atom {a + 1}",
                                      "quartet", later=n - 1 - a)
        idx = np.stack([rd.check_whole(x[:, s:s + 1], chunk, _LINES, s, what[s], low=1, high=n)[:, 0] - 1
                        for s in range(4)], axis=1)
        bad = np.flatnonzero(idx[:, 0] != a)
        if len(bad):
            raise rd.error(f"a quartet of atom {a + 1} starts with atom {idx[bad[0], 0] + 1}",
                           line=chunk[_LINES * bad[0]][0])
        lv = [rd.check_whole(x[:, 4 + 3 * s:7 + 3 * s], chunk, _LINES, 4 + s, what[4]) for s in range(4)]
        cols = [smap.index(idx[:, s], L0[a] + lv[s] - lv[0]) for s in (1, 2, 3)]
        sites.append(np.stack([np.full(nq, a)] + cols, axis=1))
        blocks.append(x[:, 16:].reshape(-1, 3, 3, 3, 3))
    rd.expect_end(f"the quartets of the {n} atoms that the counts announce")
    if not sites:
        return np.zeros((0, 4), dtype=np.int64), np.zeros((0, 3, 3, 3, 3))
    return np.concatenate(sites).astype(np.int64), np.concatenate(blocks)


def write_tdep_fc4(fc, path: Path, note: str) -> None:
    """Write ``infile.forceconstant_fourthorder`` of ``fc.fc4`` (each quartet with the shortest images of its atoms
    from the first, which are unique for constants within half the supercell), ``note`` on its first line."""
    q = fc.fc4
    n = fc.n_prim
    prim, sc = fc.primitive, fc.supercell
    X = sc.ideal_positions(prim, fc.smap)
    atom = fc.smap.atom
    inv = np.linalg.inv(prim.cell)
    lines = [f"{n:11d}               How many atoms per unit cell ({note})", None]
    cutoff = 0.0
    vec = "{:21.16f} {:21.16f} {:21.16f}"
    for a in range(n):
        mine = np.flatnonzero(q.sites[:, 0] == a)
        lines.append(f"{len(mine):11d}               How many quartets are atom {a + 1:3d} part of")
        centre = X[fc.p2s[a]]
        r = shortest_vectors(X[q.sites[mine, 1:]].reshape(-1, 3) - centre, sc.cell).reshape(-1, 3, 3)   # (nq, 3, 3)
        if len(mine):
            sides = np.concatenate([r, r[:, [0, 0, 1]] - r[:, [1, 2, 2]]], axis=1)
            cutoff = max(cutoff, float(np.linalg.norm(sides, axis=-1).max()))
        kinds = atom[q.sites[mine, 1:]]                                                     # (nq, 3)
        lat = np.rint((prim.positions[a] + r - prim.positions[kinds]) @ inv).astype(int)
        for i, e in enumerate(mine):
            lines += [f"{a + 1:11d}                atom 1 in quartet {i + 1}"]
            lines += [f"{kinds[i, s] + 1:11d}                atom {s + 2} in quartet {i + 1}" for s in range(3)]
            lines.append(vec.format(0.0, 0.0, 0.0))
            lines += [vec.format(*lat[i, s].astype(float)) for s in range(3)]
            lines += [" ".join(f"{v: .16e}" for v in row) for row in q.blocks[e].reshape(27, 3)]
    lines[1] = f"{cutoff + 1e-5:21.15f}     Realspace cutoff (A)"
    write_text(path, lines)
