"""TDEP's third-order force-constant file ``infile.forceconstant_thirdorder`` (the layout in
:mod:`trajmodes.io.forceconstants.tdep`), read onto a supercell and written from one.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from trajmodes.io.forceconstants.text import Lines, expand_images, image_groups, pair_images, write_text

__all__ = ["read_tdep_fc3", "write_tdep_fc3"]


def read_tdep_fc3(path: Path, n: int, N: int, smap, L0) -> np.ndarray:
    """``infile.forceconstant_thirdorder`` folded onto the supercell of ``smap``: compact (n, N, N, 3, 3, 3), eV/Å³
    (``L0``: the cells of the primitive representatives, ``smap.lattice[p2s]``)."""
    rd = Lines(path)
    na = rd.integer("the number of atoms per unit cell", low=1)
    if na != n:
        raise rd.error(f"it is for {na} atoms per unit cell, but the unit cell has {n}", line=rd.rows[0][0])
    rd.numbers(1, 1, "the cutoff")
    fc3 = np.zeros((n, N, N, 3, 3, 3))
    what = ["the first atom of a triplet", "the second atom of a triplet", "the third atom of a triplet"] + \
        ["a lattice vector (fractional)"] * 3 + ["a 3 x 3 x 3 force constant"] * 9
    for a in range(n):
        at = rd.line
        nt = rd.integer(f"the number of triplets of atom {a + 1}", low=0)
        x, chunk = rd.counted_records(nt, at, [1] * 3 + [3] * 12, what,  # 15 lines per triplet
                                      f"the triplet count of atom {a + 1}", "triplet", later=n - 1 - a)
        idx = np.stack([rd.check_whole(x[:, s:s + 1], chunk, 15, s, what[s], low=1, high=n)[:, 0] - 1
                        for s in range(3)], axis=1)
        bad = np.flatnonzero(idx[:, 0] != a)
        if len(bad):
            raise rd.error(f"a triplet of atom {a + 1} starts with atom {idx[bad[0], 0] + 1}",
                           line=chunk[15 * bad[0]][0])
        lv = [rd.check_whole(x[:, 3 + 3 * s:6 + 3 * s], chunk, 15, 3 + s, what[3]) for s in range(3)]
        j = smap.index(idx[:, 1], L0[a] + lv[1] - lv[0])
        l = smap.index(idx[:, 2], L0[a] + lv[2] - lv[0])
        np.add.at(fc3[a], (j, l), x[:, 12:].reshape(-1, 3, 3, 3))
    rd.expect_end(f"the triplets of the {n} atoms that the counts announce")
    return fc3


def write_tdep_fc3(fc, path: Path, note: str, tol: float) -> None:
    """Write ``infile.forceconstant_thirdorder`` of ``fc`` (once per pair of shortest images of the second and third
    atoms, weight 1/(m2 m3); images within ``tol`` A count as equally short), ``note`` on its first line."""
    k, j, lat, w, vec = pair_images(fc, tol)
    n, N = fc.n_prim, fc.n_atoms
    start, count = image_groups(k, j, n, N)
    atom = fc.smap.atom
    lines = [f"{n:11d}               How many atoms per unit cell ({note})", None]
    cutoff = 0.0
    block = ("{:11d}                atom 1 in triplet {}\n{:11d}                atom 2 in triplet {}\n"
             "{:11d}                atom 3 in triplet {}\n" + "\n".join([" ".join(["{:21.16f}"] * 3)] * 3) + "\n"
             + "\n".join([" ".join(["{: .16e}"] * 3)] * 9))
    for a in range(n):
        jj, ll, psi = fc.fc3_sparse.row(a)                       # the triplets, never the dense fc3
        t, ij, il = expand_images(start, count, a, jj, ll)
        lines.append(f"{len(t):11d}               How many triplets are atom {a + 1:3d} part of")
        if len(t):
            sides = np.linalg.norm(np.stack([vec[ij], vec[il], vec[ij] - vec[il]]), axis=-1)
            cutoff = max(cutoff, float(sides.max()))
        vals = psi[t] * (w[ij] * w[il])[:, None, None, None]
        zero = np.zeros(3)
        for i in range(len(t)):
            lines.append(block.format(a + 1, i + 1, atom[jj[t[i]]] + 1, i + 1, atom[ll[t[i]]] + 1, i + 1,
                                      *zero, *lat[ij[i]].astype(float), *lat[il[i]].astype(float),
                                      *vals[i].ravel()))
    lines[1] = f"{cutoff + 1e-5:21.15f}     Realspace cutoff (A)"
    write_text(path, lines)
