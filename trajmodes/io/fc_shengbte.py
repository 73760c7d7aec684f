"""ShengBTE / almaBTE force-constant files: ``FORCE_CONSTANTS_2ND`` and ``FORCE_CONSTANTS_3RD`` (Li, Carrete,
Katcho and Mingo, Comput. Phys. Commun. 185, 1747 (2014); Carrete et al., Comput. Phys. Commun. 220, 351
(2017) for almaBTE), with the ``POSCAR`` (unit cell) and ``SPOSCAR`` (supercell) that phonopy and ShengBTE's
``thirdorder.py`` leave beside them.

``FORCE_CONSTANTS_2ND`` (eV/A^2)
    phonopy's full ``FORCE_CONSTANTS`` text layout: a first line with the number of supercell atoms (twice),
    then for every ordered pair of supercell atoms a line ``i j`` (1-based) and three lines of the 3 x 3 block
    Phi[i, j][x, y]. ShengBTE takes the supercell as ``scell = (na, nb, nc)`` cells of the unit cell, atom
    ``1 + ix + na (iy + nb (iz + nc k))`` being unit-cell atom ``k`` in cell ``(ix, iy, iz)`` (phonopy's order);
    it reads only the full layout (phonopy's compact one, ``n_prim N`` on the first line, is read here too).
``FORCE_CONSTANTS_3RD`` (eV/A^3)
    The number of blocks, then per block: its number, the Cartesian lattice vectors R2 and R3 (Angstrom) of the
    cells of the second and third atoms (the first atom in the cell at the origin), the three unit-cell indices
    (1-based), and 27 lines ``x y z Psi[x, y, z]``. The vectors are whole lattice vectors of the unit cell
    whose atoms sit at the positions of ``POSCAR`` (ShengBTE's CONTROL) as written.

Writing, the supercell atoms of ``SPOSCAR`` and ``FORCE_CONSTANTS_2ND`` follow ShengBTE's order when the
supercell matrix is diagonal; a non-diagonal supercell (which ShengBTE's ``scell`` cannot describe) keeps its own
atom order, with a warning. Third-order constants are written once per supercell triplet, the second and third
atoms at their shortest images from the first and, among equally short ones, closest to each other (the choice of
``thirdorder.py``); hiPhive's reader wants exactly one block per supercell triplet. Reading, blocks that land on
the same supercell triplet add up. The first lines of ``POSCAR`` and ``SPOSCAR`` carry the provenance; the
force-constant files have no place for comments (hiPhive reads the first line as one integer). Born charges and
the dielectric tensor belong in ShengBTE's CONTROL file, which is not written: force constants with them are
refused. Units need no conversion (eV, Angstrom).
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from trajmodes.io.fc_tdep import (Lines, check_poscar_species, expand_images, image_groups, pair_images,
                                  provenance_line, read_poscar, refuse_nac, supercell_fractions, wrapped_frame,
                                  write_poscar, write_text)
from trajmodes.io.fcfiles import blamed
from trajmodes.lattice.crystal import Crystal

__all__ = ["read_shengbte", "write_shengbte", "shengbte_order", "SHENGBTE_FILES"]

SHENGBTE_FILES = {"unitcell": "POSCAR", "supercell": "SPOSCAR", "fc2": "FORCE_CONSTANTS_2ND",
                  "fc3": "FORCE_CONSTANTS_3RD"}


def shengbte_order(fc) -> np.ndarray | None:
    """Supercell atoms in ShengBTE's (phonopy's) order for a diagonal supercell matrix diag(na, nb, nc): our index
    of ShengBTE atom ``1 + ix + na (iy + nb (iz + nc k))``, cells counted from the primitive atoms wrapped into
    the unit cell (:func:`~trajmodes.io.fc_tdep.wrapped_frame`); None for a non-diagonal matrix."""
    S = fc.smap.matrix
    if np.count_nonzero(S - np.diag(np.diag(S))) or (np.diag(S) <= 0).any():
        return None
    na, nb, nc = np.diag(S)
    k, iz, iy, ix = np.meshgrid(np.arange(fc.n_prim), np.arange(nc), np.arange(nb), np.arange(na), indexing="ij")
    _, cells = wrapped_frame(fc)
    shift = (cells - fc.smap.lattice)[fc.p2s]         # the wrapped cell (0, 0, 0) of every primitive atom, ours
    return fc.smap.index(k.ravel(), np.stack([ix, iy, iz], axis=-1).reshape(-1, 3) - shift[k.ravel()])


def _block_lines(i: np.ndarray, j: np.ndarray, values: np.ndarray) -> list[str]:
    """``i j`` (1-based) and three rows of each 3 x 3 block."""
    fmt = "{:d} {:d}\n" + "\n".join([" ".join(["{: .16e}"] * 3)] * 3)
    return [fmt.format(a, b, *v) for a, b, v in zip(i, j, values.reshape(len(values), 9))]


def write_shengbte(fc, folder: str | os.PathLike, source: str | os.PathLike | None = None,
                   tol: float = 1e-5) -> None:
    """Write ``POSCAR``, ``SPOSCAR``, ``FORCE_CONSTANTS_2ND`` and, with fc3, ``FORCE_CONSTANTS_3RD`` into
    ``folder`` (each atomic).

    ``POSCAR`` is the primitive cell (positions wrapped into it, in the supercell's frame), ``SPOSCAR`` the ideal
    supercell in the atom order of ``FORCE_CONSTANTS_2ND``: ShengBTE's for a diagonal supercell matrix, this
    supercell's own otherwise (with a warning: ShengBTE needs ``scell``). fc2 in the full layout (eV/A^2); fc3
    one block per supercell triplet (eV/A^3; shortest images within ``tol`` Angstrom, see the module notes).
    Values with 17 significant digits, so a round trip is exact.

    Raises
    ------
    ValueError
        For Born charges, species that are not elements, or masses that are not the elements' standard ones.
    """
    refuse_nac(fc, "ShengBTE", "ShengBTE reads them from its CONTROL file, which is not written")
    check_poscar_species(fc, "ShengBTE")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    order = shengbte_order(fc)
    if order is None:
        warnings.warn(f"the supercell matrix {fc.smap.matrix.tolist()} is not diagonal: ShengBTE's scell cannot "
                      "describe it, so its FORCE_CONSTANTS_2ND is for phonopy and trajmodes (SPOSCAR gives the atom "
                      "order); FORCE_CONSTANTS_3RD is usable as it is", stacklevel=3)
        order = np.arange(fc.n_atoms)
    note = provenance_line(source)
    pr, m = fc.primitive, fc.smap
    write_poscar(folder / SHENGBTE_FILES["unitcell"], pr.cell, wrapped_frame(fc)[0], pr.species, f"unit cell, {note}")
    write_poscar(folder / SHENGBTE_FILES["supercell"], m.matrix @ pr.cell, supercell_fractions(fc, order),
                 fc.supercell.species[order],
                 f"supercell {m.matrix.tolist()}, {note}")
    full = fc.full()[np.ix_(order, order)]
    N = fc.n_atoms
    ii, jj = np.meshgrid(np.arange(1, N + 1), np.arange(1, N + 1), indexing="ij")
    lines = [f"{N:4d} {N:4d}"] + _block_lines(ii.ravel(), jj.ravel(), full.reshape(N * N, 3, 3))
    write_text(folder / SHENGBTE_FILES["fc2"], lines)
    if fc.fc3 is not None:
        _write_fc3(fc, folder / SHENGBTE_FILES["fc3"], tol)


def _write_fc3(fc, path: Path, tol: float) -> None:
    """One block per non-zero supercell triplet (k, j, l): j and l at their shortest images from k, the pair
    of images closest to each other (first of equals)."""
    k, j, lat, w, vec = pair_images(fc, tol)
    n, N = fc.n_prim, fc.n_atoms
    start, count = image_groups(k, j, n, N)
    atom, P = fc.smap.atom, fc.primitive.cell
    head = "{:d}\n" + "\n".join([" ".join(["{: .16e}"] * 3)] * 2) + "\n{:6d} {:6d} {:6d}\n"
    rows = "\n".join(f"{a + 1} {b + 1} {c + 1} {{: .16e}}" for a in range(3) for b in range(3) for c in range(3))
    blocks = []
    for a in range(n):
        jj, ll = np.nonzero(np.abs(fc.fc3[a]).reshape(N, N, 27).max(axis=2) > 0)
        t, ij, il = expand_images(start, count, a, jj, ll)
        gap = np.round(np.linalg.norm(vec[ij] - vec[il], axis=1), 8)
        first = np.lexsort((np.arange(len(t)), gap, t))
        pick = first[np.r_[True, t[first][1:] != t[first][:-1]]] if len(t) else first
        R2, R3 = lat[ij[pick]] @ P, lat[il[pick]] @ P
        vals = fc.fc3[a][jj, ll].reshape(len(jj), 27)
        for s in range(len(jj)):
            blocks.append(head.format(len(blocks) + 1, *R2[s], *R3[s], a + 1, atom[jj[s]] + 1, atom[ll[s]] + 1)
                          + rows.format(*vals[s]))
    write_text(path, [f"{len(blocks)}", ""] + [b + "\n" for b in blocks])


def read_shengbte(path: str | os.PathLike, supercell=None) -> tuple[dict, str]:
    """Read ShengBTE force constants with their structure: the keywords of
    :class:`~trajmodes.forceconstants.model.ForceConstants` and the files to name if they are inconsistent.

    Parameters
    ----------
    path : path
        A folder with ``FORCE_CONSTANTS_2ND``, ``POSCAR`` and ``SPOSCAR`` (and optionally
        ``FORCE_CONSTANTS_3RD``), or one of the two force-constant files.
    supercell : Crystal, 3 ints or (3, 3) ints, optional
        The supercell instead of ``SPOSCAR`` (a diagonal matrix builds it in ShengBTE's atom order, as ShengBTE's
        ``scell``). Default: ``SPOSCAR``.

    Returns
    -------
    dict, str
        fc2 in the file's layout (eV/A^2) on the supercell, fc3 (eV/A^3) in the compact layout when there is a
        third-order file; ``POSCAR`` is the primitive cell, positions as written; masses the elements'.
    """
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    f2, f3, uc, ss = (folder / SHENGBTE_FILES[key] for key in ("fc2", "fc3", "unitcell", "supercell"))
    if not f2.exists():
        raise FileNotFoundError(f"no FORCE_CONSTANTS_2ND in {folder}: the third order alone makes no phonons")
    if not uc.exists():
        raise FileNotFoundError(f"no POSCAR (the unit cell) in {folder}: ShengBTE's force constants need it")
    pr = read_poscar(uc)
    if supercell is None:
        if not ss.exists():
            raise FileNotFoundError(f"no SPOSCAR in {folder}: give the supercell (supercell=na,nb,nc)")
        sc = read_poscar(ss)
        with blamed(ss):
            smap = sc.supercell_map(pr)
    elif isinstance(supercell, Crystal):
        sc = supercell
        with blamed(uc):
            smap = sc.supercell_map(pr)
    else:
        sc, smap = _sheng_supercell(pr, supercell)
    n, N = pr.n_atoms, sc.n_atoms
    fc2, p2s = _read_fc2(f2, n, N, smap)
    L0 = smap.lattice[p2s]
    fc3 = _read_fc3(f3, pr, n, N, smap, L0) if f3.exists() else None
    where = ", ".join(str(f) for f in (uc, ss if supercell is None else None, f2, f3 if fc3 is not None else None)
                      if f is not None)
    return dict(fc2=fc2, supercell=sc, primitive=pr, smap=smap, p2s=p2s, fc3=fc3), where


def _sheng_supercell(pr: Crystal, matrix):
    """The supercell ``matrix`` of ``pr`` in ShengBTE's atom order (diagonal) or cell by cell (otherwise)."""
    S = np.asarray(matrix)
    S = np.diag(np.broadcast_to(S, (3,))) if S.ndim <= 1 else S
    sc = pr.supercell(S)
    smap = sc.supercell_map(pr)
    if np.count_nonzero(S - np.diag(np.diag(S))) == 0:
        na, nb, nc = np.diag(S).astype(int)
        k, iz, iy, ix = np.meshgrid(np.arange(pr.n_atoms), np.arange(nc), np.arange(nb), np.arange(na), indexing="ij")
        order = smap.index(k.ravel(), np.stack([ix, iy, iz], axis=-1).reshape(-1, 3))
        sc = Crystal(sc.cell, sc.positions[order], sc.species[order], sc.masses[order])
        smap = sc.supercell_map(pr)
    return sc, smap


def _read_fc2(path: Path, n: int, N: int, smap) -> tuple[np.ndarray, np.ndarray]:
    rd = Lines(path)
    head, line = rd.text("the number of atoms")
    try:
        dims = [int(t) for t in head.split()[:2]]
    except ValueError:
        dims = []
    if not dims:
        raise rd.error(f"the first line must give the number of supercell atoms, found {head[:40]!r}", line=line)
    rows, cols = (dims[0], dims[0]) if len(dims) == 1 else dims
    if cols != N or rows not in (n, N):
        raise rd.error(f"it is for {rows} x {cols} atoms, but the supercell (SPOSCAR) has {N} atoms and the unit "
                       f"cell {n}", line=line)
    what = ["the atom pair i j"] + ["a 3 x 3 force constant"] * 3
    x, chunk = rd.records(rows * cols, [2, 3, 3, 3], what)
    ij = rd.check_whole(x[:, :2], chunk, 4, 0, what[0], low=1, high=N) - 1
    i, j = ij[:, 0].reshape(rows, cols), ij[:, 1].reshape(rows, cols)
    if not (j == j[:1]).all() or not (i == i[:, :1]).all() or len(np.unique(j[0])) != N \
            or len(np.unique(i[:, 0])) != rows:
        raise rd.error("the atom pairs are not every row atom with every supercell atom, row by row",
                       line=chunk[0][0])
    fc = np.empty((rows, N, 3, 3))
    fc[:, j[0]] = x[:, 2:].reshape(rows, cols, 3, 3)
    fc = fc[np.argsort(i[:, 0])] if rows == N else fc
    if rows == N:
        p2s = np.array([np.flatnonzero(smap.atom == a)[0] for a in range(n)])
        return fc, p2s
    p2s = i[:, 0]
    order = np.argsort(smap.atom[p2s])
    if not np.array_equal(smap.atom[p2s[order]], np.arange(n)):
        raise rd.error("the rows of the compact layout are not one atom of each unit-cell atom", line=chunk[0][0])
    return fc[order], p2s[order]


def _read_fc3(path: Path, pr: Crystal, n: int, N: int, smap, L0) -> np.ndarray:
    rd = Lines(path)
    nb = rd.integer("the number of blocks", low=0)
    what = ["the block number", "R2 (Angstrom)", "R3 (Angstrom)", "the three atoms i j k"] + ["x y z Psi"] * 27
    x, chunk = rd.records(nb, [1, 3, 3, 3] + [4] * 27, what)             # 31 non-empty lines per block
    idx = rd.check_whole(x[:, 7:10], chunk, 31, 3, what[3], low=1, high=n) - 1
    psi = x[:, 10:].reshape(nb, 27, 4)                                 # x y z Psi
    xyz = rd.check_whole(psi[:, :, :3].reshape(nb, 81), chunk, 31, 4 + np.arange(81) // 3, "x y z",
                         low=1, high=3).reshape(nb, 27, 3) - 1
    code = np.sort(xyz @ np.array([9, 3, 1]), axis=1)
    bad = np.flatnonzero((code != np.arange(27)).any(axis=1))
    if len(bad):
        raise rd.error("the 27 lines x y z Psi of a block do not hold every x, y, z once",
                       line=chunk[31 * bad[0] + 4][0])
    inv = np.linalg.inv(pr.cell)
    lat = []
    for s, col in ((1, 1), (2, 4)):
        f = x[:, col:col + 3] @ inv
        r = np.rint(f)
        bad = np.flatnonzero(np.abs(f - r).max(axis=1) > 1e-4)
        if len(bad):
            raise rd.error(f"{what[s]} = {x[bad[0], col:col + 3].tolist()} is not a lattice vector of the POSCAR "
                           "cell", line=chunk[31 * bad[0] + s][0])
        lat.append(r.astype(np.int64))
    vals = np.zeros((nb, 3, 3, 3))
    xs, ys, zs = xyz.reshape(-1, 3).T
    vals[np.repeat(np.arange(nb), 27), xs, ys, zs] = psi[:, :, 3].ravel()
    fc3 = np.zeros((n, N, N, 3, 3, 3))
    j = smap.index(idx[:, 1], L0[idx[:, 0]] + lat[0])
    l = smap.index(idx[:, 2], L0[idx[:, 0]] + lat[1])
    np.add.at(fc3, (idx[:, 0], j, l), vals)
    return fc3
