"""GPUMD force-constant potential files (Fan et al., Comput. Phys. Commun. 218, 10 (2017) for GPUMD; the force
constant potential as hiPhive writes it for GPUMD: Eriksson, Fransson and Erhart, Adv. Theory Simul. 2, 1800184
(2019)). GPUMD runs molecular dynamics with these constants on one supercell, so the files hold the supercell
constants atom by atom; no registry package reads them (hiPhive only writes them), so the reader here follows the
layout GPUMD's own reader takes (``src/force/fcp.cu``: whitespace-separated numbers, blank lines ignored).

``model.xyz``
    The supercell, extended XYZ as GPUMD reads it: the number of atoms; ``pbc="T T T" Lattice="ax ay az bx by bz cx
    cy cz" Properties=species:S:1:pos:R:3:mass:R:1``; one line per atom (Å, amu).
``r0.in``
    The reference (ideal) positions, one atom per line ``x y z`` (Å), in the order of ``model.xyz``.
``clusters_order2.in``, ``fcs_order2.in`` (eV/Å²); ``clusters_order3.in``, ``fcs_order3.in`` (eV/Å³)
    ``fcs_order<n>.in``: the number of distinct blocks, then per block 3^n lines ``x y [z] value`` (components
    0-based, x slowest). ``clusters_order<n>.in``: the number of clusters, then one line per ordered cluster of
    supercell atoms (0-based) and the index of its block: every permutation of every cluster with a non-zero block
    is listed for orders 2 and 3 (GPUMD sums over them with weights 1/2! and 1/3!).
``fcp.txt``
    GPUMD's potential file: ``fcp <number of species> <species...>``, ``<highest order> <heat current order>``,
    and the folder of the files above.

Writing, identical blocks (bit for bit) share one entry of ``fcs_order<n>.in`` and values have 17 significant
digits, so a round trip gives the constants back exactly (GPUMD itself reads them in single precision). The
primitive cell goes into ``POSCAR`` beside (not a GPUMD file: it lets trajmodes read the constants back onto the
same unit cell; without it the primitive cell is found with spglib). A last line of ``fcp.txt``, after what GPUMD
reads, names trajmodes and the source. Reading checks what GPUMD checks (atoms and block indices in range) and,
beyond it, that every permutation of a cluster is listed with the transposed block.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from trajmodes.errors import DAMAGED, ForceConstantsFormatError, TrajectoryFormatError, blamed
from trajmodes.io.forceconstants.base import FCFormat
from trajmodes.io.forceconstants.text import (Lines, provenance_line, read_poscar, refuse_nac, supercell_fractions,
                                              wrapped_frame, write_poscar, write_text)
from trajmodes.io.forceconstants.phonopy import supercell_clusters
from trajmodes.lattice.crystal import Crystal

__all__ = ["FORMAT", "read_gpumd", "write_gpumd", "GPUMD_FILES"]

GPUMD_FILES = {"structure": "model.xyz", "r0": "r0.in", "potential": "fcp.txt", "unitcell": "POSCAR",
               2: ("clusters_order2.in", "fcs_order2.in"), 3: ("clusters_order3.in", "fcs_order3.in")}

#: the names of the files of a GPUMD force-constant folder (a path to one of them reads the folder)
_OWN_FILES = {GPUMD_FILES["structure"], GPUMD_FILES["r0"], GPUMD_FILES["potential"], GPUMD_FILES["unitcell"],
              *GPUMD_FILES[2], *GPUMD_FILES[3]}

#: the Cartesian components of a block of order n, in the order of the files (x slowest)
_COMPONENTS = {n: np.stack(np.unravel_index(np.arange(3 ** n), (3,) * n), axis=1) for n in (2, 3)}


def _fmt(x: np.ndarray) -> list[str]:
    """Shortest strings that give the doubles back exactly."""
    return [repr(float(v)) for v in np.asarray(x, dtype=float).ravel()]


# -- writing ------------------------------------------------------------------------------------------------------
def write_gpumd(fc, folder: str | os.PathLike, source: str | os.PathLike | None = None,
                path: str | os.PathLike | None = None, heat_current_order: int = 2) -> None:
    """Write the GPUMD force-constant potential of ``fc`` into ``folder`` (each file atomic; see the module notes).

    Parameters
    ----------
    fc : ForceConstants
    folder : path
    source : path, optional
        Named in the last line of ``fcp.txt``.
    path : path, optional
        The folder ``fcp.txt`` points GPUMD to (default: ``folder``, absolute).
    heat_current_order : {2, 3}
        GPUMD's order of the heat current (``fcp.txt``).

    Raises
    ------
    ValueError
        For Born charges: GPUMD's force-constant potential has no long-range electrostatics.
    """
    refuse_nac(fc, "GPUMD", "its force-constant potential has no long-range dipole-dipole part")
    if heat_current_order not in (2, 3):
        raise ValueError(f"GPUMD's heat current order is 2 or 3, not {heat_current_order!r}")
    where = os.path.abspath(os.fspath(folder if path is None else path))
    if any(ch.isspace() for ch in where):
        raise ValueError(f"GPUMD reads the folder of fcp.txt as one word, and {where!r} holds a space: write the "
                         "files into a folder without spaces in its path")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sc, pr = fc.supercell, fc.primitive
    species = list(dict.fromkeys(str(s) for s in sc.species))
    frac = supercell_fractions(fc)
    pos = frac @ sc.cell                                             # the ideal sites, in the supercell's frame
    lattice = " ".join(_fmt(sc.cell))
    head = [str(sc.n_atoms), f'pbc="T T T" Lattice="{lattice}" Properties=species:S:1:pos:R:3:mass:R:1']
    vals = np.array(_fmt(np.concatenate([pos, sc.masses[:, None]], axis=1))).reshape(-1, 4)
    write_text(folder / GPUMD_FILES["structure"], head + [f"{s} {' '.join(v)}" for s, v in zip(sc.species, vals)])
    write_text(folder / GPUMD_FILES["r0"], [" ".join(v[:3]) for v in vals])
    note = provenance_line(source)
    write_poscar(folder / GPUMD_FILES["unitcell"], pr.cell, wrapped_frame(fc)[0], pr.species,
                 f"unit cell of the GPUMD force constants beside, {note}")
    order = 2 if fc.fc3_sparse is None else 3
    for n in range(2, order + 1):
        _write_order(folder, n, *supercell_clusters(fc, n))
    write_text(folder / GPUMD_FILES["potential"], [f"fcp {len(species)} {' '.join(species)}",
                                                   f"{order} {heat_current_order}", where, f"# {note}"])


def _write_order(folder: Path, order: int, clusters: np.ndarray, blocks: np.ndarray) -> None:
    """``clusters_order<n>.in`` and ``fcs_order<n>.in``: blocks that are equal bit for bit are written once."""
    lookup, index = np.unique(blocks, axis=0, return_inverse=True)
    index = index.reshape(-1)
    fcl, fcs = GPUMD_FILES[order]
    rows = [f"{len(clusters)}", ""] + [" ".join(map(str, r)) for r in np.concatenate(
        [clusters, index[:, None]], axis=1).tolist()]
    write_text(folder / fcl, rows)
    comp = [" ".join(map(str, c)) for c in _COMPONENTS[order].tolist()]
    text = np.array(_fmt(lookup)).reshape(lookup.shape)
    lines = [f"{len(lookup)}", ""]
    for block in text:
        lines += [f"{c} {v}" for c, v in zip(comp, block)] + [""]
    write_text(folder / fcs, lines)


# -- reading ------------------------------------------------------------------------------------------------------
def read_gpumd(path: str | os.PathLike, primitive: Crystal | str | os.PathLike | None = None) -> tuple[dict, str]:
    """Read GPUMD force-constant files with their supercell: the keywords of
    :class:`~trajmodes.forceconstants.model.ForceConstants` and the files to name if they are inconsistent.

    Parameters
    ----------
    path : path
        The folder with ``model.xyz``, ``clusters_order2.in`` and ``fcs_order2.in`` (and the third order when
        there is one), or a file in it.
    primitive : Crystal or path, optional
        The primitive cell (a Crystal or a POSCAR). Default: ``POSCAR`` beside the files when there is one (as
        trajmodes writes it), else the primitive cell of the supercell (spglib).

    Returns
    -------
    dict, str
        fc2 in the full layout (eV/Å²) on the supercell of ``model.xyz`` (masses from its ``mass`` column, else
        the elements' standard masses), fc3 compact (eV/Å³) when there are third-order files.
    """
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    needs = (f"GPUMD's force constants are a folder holding {GPUMD_FILES['structure']} (the supercell), "
             f"{' and '.join(GPUMD_FILES[2])} (and {' and '.join(GPUMD_FILES[3])} for a third order)")
    if p.exists() and not p.is_dir() and p.name not in _OWN_FILES:
        raise ForceConstantsFormatError(p, f"read as GPUMD force constants, but it is none of GPUMD's files: {needs}",
                                        fix=f"Give that folder (or a file in it), or read {p.name} without "
                                            "format='gpumd' (its format is then found from the file)")
    xyz = folder / GPUMD_FILES["structure"]
    for name in (GPUMD_FILES["structure"], *GPUMD_FILES[2]):
        if not (folder / name).exists():
            raise FileNotFoundError(f"{p}: no {name} in {folder}, read as GPUMD force constants: {needs}; give the "
                                    "folder GPUMD's files are in (ForceConstants.write(folder, 'gpumd') writes them)")
    sc = _read_model_xyz(xyz)
    if primitive is None and (folder / GPUMD_FILES["unitcell"]).exists():
        primitive = folder / GPUMD_FILES["unitcell"]
    where = [xyz]
    if primitive is None:
        pr = sc.primitive()
    elif isinstance(primitive, Crystal):
        pr = primitive
    else:
        where.append(Path(primitive))
        pr = read_poscar(primitive, wrap=True)
    with blamed(", ".join(map(str, where))):
        smap = sc.supercell_map(pr)
        if not isinstance(primitive, Crystal):              # masses: those of the supercell's atoms
            pr = Crystal(pr.cell, pr.positions, pr.species, [sc.masses[np.flatnonzero(smap.atom == k)[0]]
                                                             for k in range(pr.n_atoms)])
    N = sc.n_atoms
    p2s = np.array([np.flatnonzero(smap.atom == k)[0] for k in range(pr.n_atoms)])
    clusters, blocks = _read_order(folder, 2, N)
    fc2 = np.zeros((N, N, 9))
    fc2[clusters[:, 0], clusters[:, 1]] = blocks
    fc2 = fc2.reshape(N, N, 3, 3)
    _check_permutations(folder / GPUMD_FILES[2][0], clusters, fc2[clusters[:, 0], clusters[:, 1]],
                        fc2[clusters[:, 1], clusters[:, 0]].transpose(0, 2, 1))
    where += [folder / n for n in GPUMD_FILES[2]]
    fc3 = None
    if all((folder / n).exists() for n in GPUMD_FILES[3]):
        clusters, blocks = _read_order(folder, 3, N)
        row = np.full(N, -1)
        row[p2s] = np.arange(len(p2s))
        mine = row[clusters[:, 0]] >= 0
        fc3 = np.zeros((len(p2s), N, N, 27))
        fc3[row[clusters[mine, 0]], clusters[mine, 1], clusters[mine, 2]] = blocks[mine]
        fc3 = fc3.reshape(len(p2s), N, N, 3, 3, 3)
        _check_triplets(folder / GPUMD_FILES[3][0], clusters, blocks, row, fc3)
        where += [folder / n for n in GPUMD_FILES[3]]
    return dict(fc2=fc2, supercell=sc, primitive=pr, smap=smap, p2s=p2s, fc3=fc3), ", ".join(map(str, where))


def _read_model_xyz(path: Path) -> Crystal:
    """The supercell of GPUMD's ``model.xyz``."""
    from trajmodes.io.trajectories.xyz_format import comment_value, parse_comment, parse_properties
    rd = Lines(path)
    n = rd.integer("the number of atoms", low=1)
    comment, line = rd.text("the comment line with Lattice and Properties")
    kv = parse_comment(comment)
    lat = comment_value(kv, "lattice")
    try:
        cell = np.array(lat.split(), dtype=float).reshape(3, 3)
    except (AttributeError, ValueError):
        raise rd.error('the comment line needs Lattice="ax ay az bx by bz cx cy cz" (nine numbers)', line=line) \
            from None
    props = comment_value(kv, "properties")
    try:
        layout = parse_properties(str(path), props, line)
    except TrajectoryFormatError as exc:
        raise rd.error(f"{exc.what} ({exc.fix})" if exc.fix else exc.what, line=line) from None
    except AttributeError:
        raise rd.error("the comment line needs Properties=species:S:1:pos:R:3(:mass:R:1)", line=line) from None
    if "species" not in layout.first:
        raise rd.error("Properties has no species column", line=line)
    rows = [rd.text(f"the line of atom {k + 1}") for k in range(n)]
    toks = [r[0].split() for r in rows]
    short = [k for k, t in enumerate(toks) if len(t) < layout.ntok]
    if short:
        raise rd.error(f"expected {layout.ntok} columns (Properties), found {len(toks[short[0]])}",
                       line=rows[short[0]][1])
    s, x = layout.first["species"], layout.first["positions"]
    species = [t[s] for t in toks]
    try:
        pos = np.array([t[x:x + 3] for t in toks], dtype=float)
        masses = (np.array([t[layout.first["masses"]] for t in toks], dtype=float)
                  if "masses" in layout.first else None)
    except ValueError:
        bad = next(k for k, t in enumerate(toks) if not _numbers(t[x:x + 3]))
        raise rd.error(f"a position that is not a number: {rows[bad][0][:60]!r}", line=rows[bad][1]) from None
    try:
        return Crystal(cell, pos, species, masses)
    except ValueError as exc:
        raise rd.error(str(exc), line=line) from None


def _numbers(tokens) -> bool:
    try:
        [float(t) for t in tokens]
        return True
    except ValueError:
        return False


def _read_order(folder: Path, order: int, N: int) -> tuple[np.ndarray, np.ndarray]:
    """The clusters (n, order) and their blocks (n, 3^order) of ``clusters_order<n>.in`` / ``fcs_order<n>.in``."""
    fcl, fcs = (folder / name for name in GPUMD_FILES[order])
    rd = Lines(fcs)
    nfc = rd.integer("the number of force-constant blocks", low=1)
    what = [f"{'x y z'[:2 * order - 1]} and a force constant"] * 3 ** order
    x, chunk = rd.records(nfc, [order + 1] * 3 ** order, what)
    rd.expect_end(f"the {nfc} blocks of {3 ** order} lines that the count on the first line announces")
    x = x.reshape(nfc, 3 ** order, order + 1)
    comp = rd.check_whole(x[:, :, :order].reshape(nfc, -1), chunk, 3 ** order, np.arange(3 ** order * order) // order,
                          "the components", low=0, high=2).reshape(nfc, 3 ** order, order)
    bad = np.flatnonzero((comp != _COMPONENTS[order][None]).any(axis=(1, 2)))
    if len(bad):
        t = int(np.flatnonzero((comp[bad[0]] != _COMPONENTS[order]).any(axis=1))[0])
        raise rd.error(f"the components of a block are not in the order GPUMD reads them ({' '.join(['x'] * order)}"
                       " over 0 1 2, the first slowest)", line=chunk[bad[0] * 3 ** order + t][0])
    lookup = x[:, :, order]
    rc = Lines(fcl)
    ncl = rc.integer("the number of clusters", low=1)
    y, chunk = rc.records(ncl, [order + 1], [f"{order} atoms and the index of their block"])
    rc.expect_end(f"the {ncl} clusters that the count on the first line announces")
    atoms = rc.check_whole(y[:, :order], chunk, 1, 0, "atom indices", low=0, high=N - 1)
    index = rc.check_whole(y[:, order:], chunk, 1, 0, "block indices", low=0, high=nfc - 1)[:, 0]
    return atoms, lookup[index]


def _check_permutations(path: Path, clusters: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    """Every pair (i, j) listed needs (j, i) with the transposed block (GPUMD sums over both)."""
    bad = np.flatnonzero(np.abs(a - b).reshape(len(a), -1).max(axis=1) > 1e-12 * max(np.abs(a).max(), 1e-300))
    if len(bad):
        i, j = clusters[bad[0]]
        raise ForceConstantsFormatError(path, f"the pair ({i}, {j}) is listed without its permutation ({j}, {i}) "
                                              "and the transposed block: GPUMD needs every permutation of a pair",
                                        fix=DAMAGED)


def _check_triplets(path: Path, clusters: np.ndarray, blocks: np.ndarray, row: np.ndarray, fc3: np.ndarray) -> None:
    """Every permutation of a triplet of a primitive row must be listed: the (j, i, k) of a listed (i, j, k) with i
    a row atom is checked where j is a row atom too (the others are checked by translation in GPUMD's sums)."""
    b = blocks.reshape(-1, 3, 3, 3)
    for perm in ((1, 0, 2), (2, 1, 0)):
        c = clusters[:, perm]
        mine = row[c[:, 0]] >= 0
        got = fc3[row[c[mine, 0]], c[mine, 1], c[mine, 2]]
        want = b[mine].transpose(0, *[1 + p for p in perm])
        bad = np.flatnonzero(np.abs(got - want).reshape(len(got), -1).max(axis=1)
                             > 1e-12 * max(np.abs(b).max(), 1e-300)) if len(got) else []
        if len(bad):
            i, j, k = clusters[np.flatnonzero(mine)[bad[0]]]
            raise ForceConstantsFormatError(path, f"the triplet ({i}, {j}, {k}) is listed without all of its "
                                                  "permutations and their transposed blocks: GPUMD needs every "
                                                  "permutation of a triplet", fix=DAMAGED)


#: the format, as :mod:`trajmodes.io.forceconstants.registry` lists it
FORMAT = FCFormat("gpumd", "GPUMD", read_gpumd, write_gpumd,
                  marks=GPUMD_FILES[2][::-1] + GPUMD_FILES[3] + (GPUMD_FILES["potential"],))
