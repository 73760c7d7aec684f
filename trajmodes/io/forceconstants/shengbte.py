"""ShengBTE / almaBTE force-constant files: ``FORCE_CONSTANTS_2ND`` and ``FORCE_CONSTANTS_3RD`` (Li, Carrete,
Katcho and Mingo, Comput. Phys. Commun. 185, 1747 (2014); Carrete et al., Comput. Phys. Commun. 220, 351
(2017) for almaBTE), with the ``POSCAR`` (unit cell) and ``SPOSCAR`` (supercell) that phonopy and ShengBTE's
``thirdorder.py`` leave beside them.

``FORCE_CONSTANTS_2ND`` (eV/Å²)
    phonopy's full ``FORCE_CONSTANTS`` text layout: a first line with the number of supercell atoms (twice),
    then for every ordered pair of supercell atoms a line ``i j`` (1-based) and three lines of the 3 x 3 block
    Phi[i, j][x, y]. ShengBTE takes the supercell as ``scell = (na, nb, nc)`` cells of the unit cell, atom
    ``1 + ix + na (iy + nb (iz + nc k))`` being unit-cell atom ``k`` in cell ``(ix, iy, iz)`` (phonopy's order);
    it reads only the full layout (phonopy's compact one, ``n_prim N`` on the first line, is read here too).
``FORCE_CONSTANTS_3RD`` (eV/Å³)
    The number of blocks, then per block: its number, the Cartesian lattice vectors R2 and R3 (Å) of the
    cells of the second and third atoms (the first atom in the cell at the origin), the three unit-cell indices
    (1-based), and 27 lines ``x y z Psi[x, y, z]``. The vectors are whole lattice vectors of the unit cell
    whose atoms sit at the positions of ``POSCAR`` (ShengBTE's CONTROL) as written.

Writing, the supercell atoms of ``SPOSCAR`` and ``FORCE_CONSTANTS_2ND`` follow ShengBTE's order when the
supercell matrix is diagonal; a non-diagonal supercell (which ShengBTE's ``scell`` cannot describe) keeps its own
atom order, with a warning. Third-order constants are written once per supercell triplet, the second and third
atoms at their shortest images from the first and, among equally short ones, closest to each other (the choice of
``thirdorder.py``); hiPhive's reader wants exactly one block per supercell triplet. Reading, blocks that land on
the same supercell triplet add up. The first lines of ``POSCAR`` and ``SPOSCAR`` carry the provenance; the
force-constant files have no place for comments (hiPhive reads the first line as one integer). Units need no
conversion (eV, Å).

``CONTROL``
    ShengBTE's input, a Fortran namelist file: ``&allocations`` (``nelements``, ``natoms``, ``ngrid``), ``&crystal``
    (``lfactor`` in nm, ``lattvecs(:,i)``, ``elements``, ``types``, ``positions(:,i)`` in lattice coordinates,
    ``scell``, and for polar crystals ``epsilon(:,j)`` and ``born(:,j,k)``), ``&parameters`` (``T``) and ``&flags``
    (``nonanalytic``). ShengBTE reads ``born(E, u, k)`` as the derivative of the force on atom k along u with
    respect to the field along E (it contracts q with the first index), phonopy's ``Z[k, E, u]``; the fc2 of
    ``FORCE_CONSTANTS_2ND`` are the full supercell constants, and the non-analytic part is added with the mixed-space
    approach of Wang et al. (J. Phys.: Condens. Matter 22, 202201 (2010)): the constants trajmodes holds, so Born
    charges and the dielectric tensor go both ways. Written always, with ``ngrid`` and ``T`` as given (their
    defaults are a starting point for the run, named so in the file's header); read for the Born charges and the
    dielectric tensor only (when ``nonanalytic`` is not ``.false.``), after checking that its atoms are those of
    ``POSCAR``.
"""
from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np

from trajmodes.errors import DAMAGED, ForceConstantsFormatError, blamed
from trajmodes.io.forceconstants.base import FCFormat
from trajmodes.io.forceconstants.text import (Lines, check_poscar_species, expand_images, image_groups, pair_images,
                                              provenance_line, read_poscar, supercell_fractions, wrapped_frame,
                                              write_poscar, write_text)
from trajmodes.lattice.crystal import Crystal

__all__ = ["FORMAT", "read_shengbte", "write_shengbte", "read_control", "shengbte_order", "SHENGBTE_FILES"]

SHENGBTE_FILES = {"unitcell": "POSCAR", "supercell": "SPOSCAR", "fc2": "FORCE_CONSTANTS_2ND",
                  "fc3": "FORCE_CONSTANTS_3RD", "control": "CONTROL"}


def shengbte_order(fc) -> np.ndarray | None:
    """Supercell atoms in ShengBTE's (phonopy's) order for a diagonal supercell matrix diag(na, nb, nc): our index
    of ShengBTE atom ``1 + ix + na (iy + nb (iz + nc k))``, cells counted from the primitive atoms wrapped into
    the unit cell (:func:`~trajmodes.io.forceconstants.tdep.wrapped_frame`); None for a non-diagonal matrix."""
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
                   tol: float = 1e-5, mesh=None, temperature: float = 300.0) -> None:
    """Write ``POSCAR``, ``SPOSCAR``, ``FORCE_CONSTANTS_2ND``, ``CONTROL`` and, with fc3, ``FORCE_CONSTANTS_3RD``
    into ``folder`` (each atomic).

    ``POSCAR`` is the primitive cell (positions wrapped into it, in the supercell's frame), ``SPOSCAR`` the ideal
    supercell in the atom order of ``FORCE_CONSTANTS_2ND``: ShengBTE's for a diagonal supercell matrix, this
    supercell's own otherwise (with a warning: ShengBTE needs ``scell``). fc2 in the full layout (eV/Å²); fc3
    one block per supercell triplet (eV/Å³; shortest images within ``tol`` Å, see the module notes).
    Values with 17 significant digits, so a round trip is exact. ``CONTROL`` holds the same crystal, the Born
    charges and dielectric tensor when there are any, and ShengBTE's run settings ``ngrid`` = ``mesh`` (default:
    the supercell's ``scell``, the q-points on which the supercell constants are exact) and ``T`` =
    ``temperature`` (K).

    Raises
    ------
    ValueError
        For species that are not elements, masses that are not the elements' standard ones, or a non-default
        factor of the non-analytic correction (CONTROL has no place for it).
    """
    check_poscar_species(fc, "ShengBTE")
    if fc.born is not None and fc.nac_factor is not None:
        from trajmodes.units import NAC_FACTOR
        if abs(fc.nac_factor - NAC_FACTOR) > 5e-7:
            raise ValueError(f"ShengBTE's CONTROL file has no place for the factor {fc.nac_factor:g} eV*A of the "
                             f"non-analytic correction (ShengBTE uses e^2 / (4 pi eps0) = {NAC_FACTOR:g}): keep these "
                             "force constants in netcdf, phonopy or phono3py files")
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
    if fc.fc3_sparse is not None:
        _write_fc3(fc, folder / SHENGBTE_FILES["fc3"], tol)
    _write_control(fc, folder / SHENGBTE_FILES["control"], note, mesh, temperature,
                   diagonal=shengbte_order(fc) is not None)


def _write_control(fc, path: Path, note: str, mesh, temperature: float, diagonal: bool) -> None:
    """ShengBTE's CONTROL namelist for the crystal of ``POSCAR`` (the module notes)."""
    pr, S = fc.primitive, fc.smap.matrix
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"ShengBTE's temperature T must be positive (K), not {temperature!r}")
    elements = list(dict.fromkeys(str(s) for s in pr.species))
    types = [elements.index(str(s)) + 1 for s in pr.species]
    frac = wrapped_frame(fc)[0]

    def num(v) -> str:
        return " ".join(repr(float(x)) for x in np.ravel(v))
    scell = " ".join(str(int(x)) for x in np.diag(S)) if diagonal else None
    ngrid = scell if mesh is None else " ".join(str(int(x)) for x in np.broadcast_to(np.asarray(mesh, int), (3,)))
    head = [f"! ShengBTE CONTROL, {note}",
            "! ngrid (the q-point mesh) and T (K) are settings of the ShengBTE run"
            + (": the defaults, the supercell's scell and 300 K, are a starting point" if mesh is None else "")]
    if not diagonal:
        head.append(f"! the supercell {S.tolist()} is not diagonal: ShengBTE's scell cannot describe it")
    alloc = [f"nelements={len(elements)}", f"natoms={pr.n_atoms}"]
    alloc += [f"ngrid(:)={ngrid}"] if ngrid is not None else []
    alloc += ["norientations=0"]
    crystal = ["lfactor=0.1"]                                  # lattvecs in units of 0.1 nm: Angstrom
    crystal += [f"lattvecs(:,{i + 1})={num(pr.cell[i])}" for i in range(3)]
    crystal += ["elements=" + " ".join(f'"{e}"' for e in elements), f"types={' '.join(map(str, types))}"]
    crystal += [f"positions(:,{k + 1})={num(frac[k])}" for k in range(pr.n_atoms)]
    crystal += [f"scell(:)={scell}"] if diagonal else []
    if fc.born is not None:
        crystal += [f"epsilon(:,{j + 1})={num(fc.epsilon[:, j])}" for j in range(3)]
        crystal += [f"born(:,{u + 1},{k + 1})={num(fc.born[k][:, u])}" for k in range(pr.n_atoms) for u in range(3)]
    body = {"allocations": alloc, "crystal": crystal, "parameters": [f"T={float(temperature)!r}"],
            "flags": [f"nonanalytic={'.TRUE.' if fc.born is not None else '.FALSE.'}"]}
    lines = list(head)
    for group, items in body.items():
        lines += [f"&{group}"] + [f"    {x}," for x in items] + ["&end"]
    write_text(path, lines)


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
        jj, ll, psi = fc.fc3_sparse.row(a)                       # the triplets, never the dense fc3
        t, ij, il = expand_images(start, count, a, jj, ll)
        gap = np.round(np.linalg.norm(vec[ij] - vec[il], axis=1), 8)
        first = np.lexsort((np.arange(len(t)), gap, t))
        pick = first[np.r_[True, t[first][1:] != t[first][:-1]]] if len(t) else first
        R2, R3 = lat[ij[pick]] @ P, lat[il[pick]] @ P
        vals = psi.reshape(len(jj), 27)
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
        ``FORCE_CONSTANTS_3RD`` and ``CONTROL``), or one of the two force-constant files.
    supercell : Crystal, 3 ints or (3, 3) ints, optional
        The supercell instead of ``SPOSCAR`` (a diagonal matrix builds it in ShengBTE's atom order, as ShengBTE's
        ``scell``). Default: ``SPOSCAR``.

    Returns
    -------
    dict, str
        fc2 in the file's layout (eV/Å²) on the supercell, fc3 (eV/Å³) in the compact layout when there is a
        third-order file; ``POSCAR`` is the primitive cell, positions as written; masses the elements'; ``born`` and
        ``epsilon`` from ``CONTROL`` when it holds them (:func:`read_control`).
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
    control = folder / SHENGBTE_FILES["control"]
    nac = read_control(control, pr) if control.exists() else {}
    where = ", ".join(str(f) for f in (uc, ss if supercell is None else None, f2, f3 if fc3 is not None else None,
                                       control if nac else None) if f is not None)
    return dict(fc2=fc2, supercell=sc, primitive=pr, smap=smap, p2s=p2s, fc3=fc3, **nac), where


# -- CONTROL ------------------------------------------------------------------------------------------------------
_GROUP = re.compile(r"&(\w+)(.*?)(?:&end\b|(?<![\w.])/(?![\w.]))", re.S | re.I)
_ASSIGN = re.compile(r"([A-Za-z_]\w*)\s*(?:\(([^)]*)\))?\s*=")
_TOKEN = re.compile(r'"[^"]*"|\'[^\']*\'|[^\s,]+')


def _namelists(path: Path) -> dict[str, list[tuple[str, str | None, list[str], int]]]:
    """The assignments of every group of a Fortran namelist file: group (lower case) -> [(name (lower case), index
    text or None, value tokens with repeat counts expanded, line)]. Comments (``!`` to the end of a line) are left
    out."""
    text = "\n".join(re.sub(r"!.*", "", ln) for ln in path.read_text().splitlines())
    line_of = lambda pos: text.count("\n", 0, pos) + 1
    out: dict[str, list] = {}
    for g in _GROUP.finditer(text):
        body, start = g.group(2), g.start(2)
        marks = list(_ASSIGN.finditer(body))
        items = []
        for a, b in zip(marks, marks[1:] + [None]):
            raw = body[a.end():b.start() if b is not None else len(body)]
            values = []
            for tok in _TOKEN.findall(raw):
                rep, star, val = tok.partition("*")
                if star and rep.isdigit():
                    values += [val] * int(rep)
                else:
                    values.append(tok)
            items.append((a.group(1).lower(), a.group(2), values, line_of(start + a.start())))
        out.setdefault(g.group(1).lower(), []).extend(items)
    return out


def _fill(path: Path, arr: np.ndarray, index: str | None, values: list[str], name: str, line: int) -> None:
    """Fortran array assignment ``name(index) = values`` (1-based indices, ``:`` and ``a:b`` sections, values in
    column-major order) into ``arr``."""
    err = lambda what: ForceConstantsFormatError(path, what, line=line, fix=DAMAGED)
    try:
        nums = np.array(values, dtype=float)
    except ValueError:
        raise err(f"{name} holds something that is not a number: {' '.join(values)[:60]!r}") from None
    if index is None:
        if len(nums) > arr.size:
            raise err(f"{name} takes {arr.size} numbers, not {len(nums)}")
        flat = arr.ravel(order="F")
        flat[:len(nums)] = nums
        arr[...] = flat.reshape(arr.shape, order="F")
        return
    parts = [part.strip() for part in index.split(",")]
    if len(parts) != arr.ndim:
        raise err(f"{name} has {arr.ndim} indices, not {len(parts)}")
    idx = []
    for dim, part in zip(arr.shape, parts):
        m = re.fullmatch(r"(\d*)\s*(:?)\s*(\d*)", part)
        if m is None or not (m.group(1) or m.group(2)) or (m.group(3) and not m.group(2)):
            raise err(f"cannot read the index ({index}) of {name}")
        lo = int(m.group(1)) if m.group(1) else 1
        hi = (int(m.group(3)) if m.group(3) else dim) if m.group(2) else lo
        if not 1 <= lo <= hi <= dim:
            raise err(f"{name}({index}): an index is outside 1..{dim}")
        idx.append(slice(lo - 1, hi) if m.group(2) else lo - 1)
    sub = arr[tuple(idx)]
    if np.size(sub) != len(nums):
        raise err(f"{name}({index}) takes {np.size(sub)} numbers, not {len(nums)}")
    arr[tuple(idx)] = nums.reshape(np.shape(sub), order="F")


def read_control(path: str | os.PathLike, primitive: Crystal) -> dict:
    """The Born charges and dielectric tensor of ShengBTE's CONTROL file (see the module notes): ``born`` (n, 3, 3),
    phonopy's ``[k, E, u]``, and ``epsilon`` (3, 3); an empty dict when it has none or ``nonanalytic`` is false.

    Raises
    ------
    ForceConstantsFormatError
        A CONTROL whose atoms are not those of ``primitive`` (the POSCAR), or whose arrays cannot be read.
    """
    path = Path(path)
    groups = _namelists(path)
    crystal = {name: (index, values, line) for name, index, values, line in groups.get("crystal", [])}
    alloc = {name: (values, line) for name, _, values, line in groups.get("allocations", [])}
    flags = {name: values for name, _, values, _ in groups.get("flags", [])}
    n = primitive.n_atoms
    if "natoms" in alloc and alloc["natoms"][0][:1] != [str(n)]:
        raise ForceConstantsFormatError(path, f"natoms = {' '.join(alloc['natoms'][0])}, but POSCAR has {n} atoms",
                                        line=alloc["natoms"][1], fix=DAMAGED)
    if "elements" in crystal and "types" in crystal:
        names = [v.strip("\"'") for v in crystal["elements"][1]]
        try:
            kinds = [names[int(t) - 1] for t in crystal["types"][1]]
        except (ValueError, IndexError):
            kinds = None
        if kinds != [str(s) for s in primitive.species]:
            raise ForceConstantsFormatError(path, f"its atoms ({' '.join(kinds or ['?'])}) are not those of POSCAR "
                                                  f"({' '.join(map(str, primitive.species))})",
                                            line=crystal["types"][2], fix=DAMAGED)
    off = [v.strip(".").lower() for v in flags.get("nonanalytic", [])][:1] in (["false"], ["f"])
    found = [k for k in crystal if k in ("born", "epsilon")]
    if off or not found:
        return {}
    arrays = {"born": np.full((3, 3, n), np.nan), "epsilon": np.full((3, 3), np.nan)}
    for name, index, values, line in groups["crystal"]:
        if name in arrays:
            _fill(path, arrays[name], index, values, name, line)
    for name, arr in arrays.items():
        if np.isnan(arr).any():
            raise ForceConstantsFormatError(path, f"{name} is not given in full (ShengBTE needs born(3, 3, natoms) and "
                                                  "epsilon(3, 3) for the non-analytic correction)",
                                            line=crystal[name][2] if name in crystal else None, fix=DAMAGED)
    return dict(born=arrays["born"].transpose(2, 0, 1), epsilon=arrays["epsilon"])


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
    rd.expect_end(f"the {rows} x {cols} blocks of 4 lines that the first line announces")
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
    rd.expect_end(f"the {nb} blocks of 31 lines that the first line announces")
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


#: the format, as :mod:`trajmodes.io.forceconstants.registry` lists it
FORMAT = FCFormat("shengbte", "ShengBTE", read_shengbte, write_shengbte,
                  marks=(SHENGBTE_FILES["fc2"], SHENGBTE_FILES["fc3"]), companions=(SHENGBTE_FILES["control"],))
