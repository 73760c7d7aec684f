"""ABINIT derivative databases (DDB) of dynamical matrices: the second derivatives of the energy at a list of q,
written as ABINIT's ``anaddb`` and TDEP's ``dump_dynamical_matrices`` (``outfile.many_dynamical_matrices_DDB``) lay
them out, and read back.

What a block holds (X. Gonze and C. Lee, Phys. Rev. B 55, 10355 (1997), the convention of ABINIT's DDB): for each q
(reduced coordinates of the reciprocal lattice, no 2 pi) the lines ``idir1 ipert1 idir2 ipert2 Re Im`` of

    E2(i a, j b; q) = a_i . Phi_ab(q) . a_j ,      Phi_ab(q) = sum_R Phi(0 a, R b) e^{+i 2 pi q . R},

in Hartree: ``ipert`` 1..n an atom, ``idir`` a *reduced* direction (the displacement along the lattice vector a_i,
so that the Å² of the constants and the Å² of the lattice vectors cancel), Phi_ab(q) the force constants (not
mass-weighted) with phases from the lattice vectors R of the cells only. trajmodes' dynamical matrix carries the atom
positions in its phase (D_ab(q) = sum_R Phi e^{i 2 pi q.(x_b + R - x_a)} / sqrt(m_a m_b), docs/architecture.md's
convention), so Phi_ab(q) = sqrt(m_a m_b) D_ab(q) e^{-i 2 pi q.(x_b - x_a)}, x fractional. Entries are written for
every pair in the order ABINIT loops over them (b, j outer; a, i inner).

Polar crystals at q = 0 (``born`` and ``epsilon`` given): the dynamical matrix there is the analytic part (no
non-analytic term: ``anaddb`` adds it from the Born charges along the direction it is asked for), and two more
kinds of lines follow, perturbation n + 2 being the electric field:

- ``(x, n+2, y, a)`` and its partner ``(y, a, x, n+2)``: 2 pi a_x . (Z_a - z_ion(a) 1) . b_y, the electronic part of
  the Born charge of atom a (``born[a, E, u]``, E along a_x, u along b_y, b the reciprocal vectors without 2 pi);
  ``anaddb`` adds the ionic charge z_ion of the header back;
- ``(x, n+2, y, n+2)``: pi V b_x . (1 - eps) . b_y, V in bohr³ and b in 1/bohr.

These are the transformations TDEP's writer applies; they were checked on TDEP's MgO file, where Z and eps are
isotropic (for anisotropic charges the order of the two indices is TDEP's, not checked against ABINIT itself).
Values of magnitude below ``chop`` (Hartree) are written as exactly zero, as TDEP writes them.

The header is ABINIT's (DDB version 100401): the crystal (``rprim`` in bohr with ``acell`` 1, ``xred``, ``typat``,
``znucl``, ``zion``, ``amu``), its symmetry operations from spglib (``symrel`` in reduced coordinates, ``tnons``) and
placeholders for the electronic variables that a DDB of given force constants does not have.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from trajmodes.io.filesystem import atomic_write
from trajmodes.units import BOHR_A, HARTREE_EV
from trajmodes.lattice.spglib_calls import SYMPREC

__all__ = ["ddb_blocks", "write_ddb", "read_ddb", "DDB_VERSION", "DDB_CHOP", "DDB_MAGIC"]

#: the DDB version ABINIT's header format (and TDEP's file) names
DDB_VERSION = 100401
#: magnitude (Hartree) below which an entry is written as zero
DDB_CHOP = 1e-10


def _lattice_phase_constants(q, positions, masses, dynamical_matrix) -> np.ndarray:
    """Phi_ab(q) (n, 3, n, 3), eV/Å², from trajmodes' mass-weighted D(q) with atom-position phases."""
    n = len(masses)
    d = np.asarray(dynamical_matrix, dtype=complex).reshape(n, 3, n, 3)
    x = np.asarray(positions, dtype=float)
    phase = np.exp(-2j * np.pi * ((x[None, :, :] - x[:, None, :]) @ np.asarray(q, dtype=float)))   # (a, b)
    sm = np.sqrt(np.asarray(masses, dtype=float))
    return d * (sm[:, None, None, None] * sm[None, None, :, None]) * phase[:, None, :, None]


def ddb_blocks(cell, positions, masses, qpoints, dynamical_matrices, born=None, epsilon=None, zion=None,
               hartree_ev: float = HARTREE_EV, bohr_a: float = BOHR_A, chop: float = DDB_CHOP) -> list[dict]:
    """The second-derivative blocks of a DDB (module docstring), one per q.

    Parameters
    ----------
    cell : (3, 3)
        Lattice vectors (rows), Å.
    positions : (n, 3)
        Fractional coordinates of the atoms.
    masses : (n,)
        amu: the masses ``dynamical_matrices`` were weighted with.
    qpoints : (nq, 3)
        Reduced coordinates (no 2 pi).
    dynamical_matrices : (nq, 3n, 3n) complex
        eV/(Å² amu), trajmodes' convention (:meth:`trajmodes.Phonons.dynamical_matrix`; at q = 0 without the
        non-analytic term).
    born : (n, 3, 3), optional
        Born charges ``born[a, E, u]`` (e); with ``epsilon`` (3, 3) and ``zion`` (n,) (valence charges of the
        pseudopotentials, e) the Born-charge and dielectric lines are added to the block at q = 0.
    hartree_ev, bohr_a : float
        The constants to convert with (TDEP's own: 27.21138602 and 0.52917721067).
    chop : float
        Hartree; smaller magnitudes are set to zero.

    Returns
    -------
    list of dict
        ``q`` (3,), ``keys`` (m, 4) int (idir1, ipert1, idir2, ipert2; 1-based), ``values`` (m,) complex, Hartree.
    """
    A = np.asarray(cell, dtype=float).reshape(3, 3)
    x = np.asarray(positions, dtype=float).reshape(-1, 3)
    n = len(x)
    q_all = np.asarray(qpoints, dtype=float).reshape(-1, 3)
    dms = np.asarray(dynamical_matrices, dtype=complex).reshape(len(q_all), 3 * n, 3 * n)
    if (born is None) != (epsilon is None) or (born is not None and zion is None):
        raise ValueError("give born, epsilon and zion together (or none of them)")
    B = np.linalg.inv(A).T                                              # reciprocal vectors (rows), 1/A, no 2 pi
    idx = np.array([(i + 1, a + 1, j + 1, b + 1) for b in range(n) for j in range(3)
                    for a in range(n) for i in range(3)])
    out = []
    for q, d in zip(q_all, dms):
        phi = _lattice_phase_constants(q, x, masses, d)
        red = np.einsum("ix,axby,jy->aibj", A, phi, A) / hartree_ev      # (a, i, b, j), Hartree
        keys = [idx]
        vals = [red[idx[:, 1] - 1, idx[:, 0] - 1, idx[:, 3] - 1, idx[:, 2] - 1]]
        if born is not None and np.allclose(q, 0.0):
            Z = np.asarray(born, dtype=float).reshape(n, 3, 3)
            zi = np.asarray(zion, dtype=float).reshape(n)
            field = n + 2
            k_b, v_b = [], []
            for a in range(n):
                m0 = 2 * np.pi * A @ (Z[a] - zi[a] * np.eye(3)) @ B.T                  # (E reduced, u reduced)
                for y in range(3):
                    for xx in range(3):
                        k_b += [(xx + 1, field, y + 1, a + 1), (y + 1, a + 1, xx + 1, field)]
                        v_b += [m0[xx, y], m0[xx, y]]
            vol = abs(np.linalg.det(A)) / bohr_a ** 3
            Bb = B * bohr_a                                                 # 1/bohr
            m0 = np.pi * vol * Bb @ (np.eye(3) - np.asarray(epsilon, dtype=float).reshape(3, 3)) @ Bb.T
            k_e = [(xx + 1, field, y + 1, field) for y in range(3) for xx in range(3)]
            v_e = [m0[xx, y] for y in range(3) for xx in range(3)]
            keys += [np.array(k_b), np.array(k_e)]
            vals += [np.array(v_b, dtype=complex), np.array(v_e, dtype=complex)]
        v = np.concatenate(vals)
        v = np.where(np.abs(v.real) < chop, 0.0, v.real) + 1j * np.where(np.abs(v.imag) < chop, 0.0, v.imag)
        out.append(dict(q=q, keys=np.concatenate(keys), values=v))
    return out


def _d(values, width: int = 22) -> str:
    """Fortran D-exponent numbers, as ABINIT's header writes them."""
    return "".join(f"{v:{width}.14E}".replace("E", "D") for v in np.atleast_1d(values))


def _i(values, width: int = 5) -> str:
    return "".join(f"{int(v):{width}d}" for v in np.atleast_1d(values))


def _header(cell, positions, species, masses, zion, symprec: float, bohr_a: float, comment: str) -> list[str]:
    from ase.data import atomic_numbers

    from trajmodes.lattice.crystal import Crystal
    A = np.asarray(cell, dtype=float)
    x = np.asarray(positions, dtype=float)
    species = [str(s) for s in species]
    kinds = list(dict.fromkeys(species))
    typat = [kinds.index(s) + 1 for s in species]
    znucl = [atomic_numbers.get(k, 0) for k in kinds]
    amu = [float(np.asarray(masses)[species.index(k)]) for k in kinds]
    zi = np.asarray(zion if zion is not None else np.zeros(len(species)), dtype=float)
    zk = [float(zi[species.index(k)]) for k in kinds]
    ds = Crystal(A, x @ A, species, masses).symmetry(symprec)
    rot, tr = np.asarray(ds.rotations), np.asarray(ds.translations)
    nsym = len(rot)

    def rows(key, lines, width=10):
        return [f"{key:>{width}}{lines[0]}"] + [" " * width + line for line in lines[1:]]

    h = [" **** DERIVATIVE DATABASE ****    ", f"+DDB, Version number {DDB_VERSION:9d}", "", f" {comment}", ""]
    h += rows("usepaw", [_i(0, 10)]) + rows("natom", [_i(len(x), 10)]) + rows("nkpt", [_i(1, 10)])
    h += rows("nsppol", [_i(1, 10)]) + rows("nsym", [_i(nsym, 10)]) + rows("ntypat", [_i(len(kinds), 10)])
    h += rows("occopt", [_i(1, 10)]) + rows("nband", [_i(1, 10)]) + rows("acell", [_d([1.0, 1.0, 1.0])])
    h += rows("amu", [_d(amu[i:i + 3]) for i in range(0, len(amu), 3)])
    h += rows("dilatmx", [_d(1.0)]) + rows("ecut", [_d(1.0)]) + rows("ecutsm", [_d(0.0)])
    h += rows("intxc", [_i(1, 10)]) + rows("iscf", [_i(7, 10)]) + rows("ixc", [_i(1, 10)])
    h += rows("kpt", [_d([0.0, 0.0, 0.0])]) + rows("kptnrm", [_d(1.0)]) + rows("ngfft", [_i([10, 10, 10])])
    h += rows("nspden", [_i(1, 10)]) + rows("nspinor", [_i(1, 10)]) + rows("occ", [_d(2.0)])
    h += rows("rprim", [_d(a / bohr_a) for a in A])
    h += rows("dfpt_sciss", [_d(0.0)], 12)
    h += rows("spinat", [_d([0.0, 0.0, 0.0]) for _ in x])
    h += rows("symafm", [_i(np.ones(min(12, nsym - i)))
                         for i in range(0, nsym, 12)])
    h += rows("symrel", [_i(r.T.reshape(-1)) for r in rot])             # Fortran (column-major) order
    h += rows("tnons", [_d(t) for t in tr])
    h += rows("tolwfr", [_d(1e-20)]) + rows("tphysel", [_d(0.0)]) + rows("tsmear", [_d(1e-3)])
    h += rows("typat", [_i(typat[i:i + 12]) for i in range(0, len(typat), 12)])
    h += rows("wtk", [_d(0.0)]) + rows("xred", [_d(p) for p in x])
    h += rows("znucl", [_d(znucl[i:i + 3]) for i in range(0, len(znucl), 3)])
    h += rows("zion", [_d(zk[i:i + 3]) for i in range(0, len(zk), 3)])
    return h


def write_ddb(path: str | os.PathLike, cell, positions, species, masses, qpoints, dynamical_matrices, born=None,
              epsilon=None, zion=None, hartree_ev: float = HARTREE_EV, bohr_a: float = BOHR_A,
              chop: float = DDB_CHOP, symprec: float = SYMPREC, comment: str = "written by trajmodes") -> None:
    """Write dynamical matrices as an ABINIT DDB (module docstring; the arguments of :func:`ddb_blocks`, with the
    ``species`` (element symbols) of the atoms for the header)."""
    blocks = ddb_blocks(cell, positions, masses, qpoints, dynamical_matrices, born, epsilon, zion, hartree_ev,
                        bohr_a, chop)
    lines = _header(cell, positions, species, masses, zion, symprec, bohr_a, comment)
    lines += ["", " No information on the potentials yet", "", " **** Database of total energy derivatives ****",
              f"Number of data blocks={len(blocks):6d}"]
    for b in blocks:
        lines += ["", f" 2nd derivatives (non-stat.)  - # elements :{len(b['values']):8d}",
                  " qpt" + "".join(f"{v:16.8E}" for v in b["q"]) + f"{1.0:6.1f}"]
        lines += [f"{k[0]:4d}{k[1]:4d}{k[2]:4d}{k[3]:4d}{v.real:23.15E}{v.imag:23.15E}"
                  for k, v in zip(b["keys"], b["values"])]
    text = "\n".join(lines) + "\n"
    atomic_write(Path(path), lambda tmp: Path(tmp).write_text(text))


#: the first line of every DDB
DDB_MAGIC = "DERIVATIVE DATABASE"
#: a block's first line: its kind, then the number of its elements (ABINIT: ``- # elements :  81``; TDEP: ``-  81``)
_BLOCK = re.compile(r"^\s*(\w*[A-Za-z][^#=]*?)\s+-\s*(?:#\s*elements\s*:)?\s*(\d+)\s*$")
#: whole numbers (directions and perturbations) before the real and imaginary parts of an element, per kind
_INDICES = {"total energy": 0, "1st derivatives": 2, "2nd derivatives": 4, "3rd derivatives": 6}
#: ABINIT's perturbations beyond the atoms (ddk, electric field, strains, ...): ipert <= natom + MPERT_MAX
_MPERT_MAX = 8
_NOT_A_DDB_FIX = ("Give a DDB file as ABINIT, mrgddb or TDEP's dump_dynamical_matrices write it (it starts with "
                  "'**** DERIVATIVE DATABASE ****')")


def _real(tok: str) -> float:
    """A Fortran real (D or E exponent)."""
    return float(tok.replace("D", "E").replace("d", "e"))


def read_ddb(path: str | os.PathLike) -> list[dict]:
    """The second-derivative blocks of a DDB file: ``q`` (3,) reduced coordinates (the ``qpt`` line divided by the
    normalisation factor it ends with), ``keys`` (m, 4) int (idir1, ipert1, idir2, ipert2; 1-based), ``values``
    (m,) complex (Hartree), in the file's order. Blocks of other kinds (total energy, first and third
    derivatives) are checked and left out.

    Raises
    ------
    ForceConstantsFormatError
        Naming the file and the line: an empty file or one that is not a DDB, a header without ``natom`` or
        without the number of blocks (a file cut in its header), a block count or a block's number of elements
        that disagrees with the blocks that follow (a file cut inside a block among them), an element without
        its six values, a value that is not a finite number, a direction outside 1..3 or a perturbation outside
        1..natom + 8 (ABINIT's perturbations beyond the atoms: ddk, electric field, strains, ...).
    """
    from trajmodes.io.forceconstants.text import Lines
    rd = Lines(path)
    rows = rd.rows
    if not rows:
        raise rd.error("the file is empty, not an ABINIT derivative database (DDB)", fix=_NOT_A_DDB_FIX)
    if DDB_MAGIC not in rows[0][1].upper():
        raise rd.error(f"not an ABINIT derivative database (DDB): it starts with {rows[0][1].strip()[:60]!r}",
                       line=rows[0][0], fix=_NOT_A_DDB_FIX)
    natom, head = None, None
    for i, (num, ln) in enumerate(rows):
        tok = ln.split()
        if natom is None and tok[0] == "natom":
            try:
                natom = int(tok[1])
            except (IndexError, ValueError):
                natom = 0
            if natom < 1:
                raise rd.error(f"the header's natom is not a positive whole number: {ln.strip()[:60]!r}", line=num)
        if ln.strip().startswith("Number of data blocks"):
            head = i
            break
    if head is None:
        raise rd.error(f"the file ends in its header (line {rows[-1][0]}), before the line 'Number of data blocks=': "
                       "it is cut short", line=rows[-1][0])
    if natom is None:
        raise rd.error("the header has no natom line (the number of atoms)")
    try:
        nblok = int(rows[head][1].split("=", 1)[1].split()[0])
    except (IndexError, ValueError):
        nblok = -1
    if nblok < 0:
        raise rd.error(f"expected 'Number of data blocks=' and a whole number, found {rows[head][1].strip()[:60]!r}",
                       line=rows[head][0])
    out, p, n_blocks = [], head + 1, 0
    while p < len(rows):
        num, ln = rows[p]
        m = _BLOCK.match(ln)
        if m is None:
            raise rd.error(f"expected the first line of a block (its kind and number of elements, as "
                           f"'2nd derivatives (non-stat.)  - # elements : 36'), found {ln.strip()[:60]!r}", line=num)
        if n_blocks == nblok:
            raise rd.error(f"a block {nblok + 1} starts here, but the header says {nblok} blocks (line "
                           f"{rows[head][0]}): the count disagrees with the blocks", line=num,
                           fix="Correct the number of blocks, or write the file again")
        n_blocks += 1
        block = _read_block(rd, p, m.group(1), int(m.group(2)), natom, n_blocks)
        p = block.pop("next")
        if block.get("keys") is not None:
            out.append(block)
    if n_blocks < nblok:
        raise rd.error(f"the header says {nblok} blocks (line {rows[head][0]}), but the file ends after {n_blocks} "
                       f"(line {rows[-1][0]}): it is cut short, or the count disagrees with the blocks",
                       line=rows[head][0])
    return out


def _read_block(rd, p: int, kind: str, count: int, natom: int, k: int) -> dict:
    """Block ``k`` (1-based) of a DDB, its first line row ``p`` of ``rd``: ``q``, ``keys`` and ``values`` for second
    derivatives (``keys`` None for the other kinds), and ``next``, the row after it."""
    rows = rd.rows
    head = rows[p][0]
    name = kind.lower()
    n_idx = next((v for key, v in _INDICES.items() if name.startswith(key)), None)
    where = f"block {k} ({kind}, line {head})"
    p += 1
    q = None
    while p < len(rows) and rows[p][1].split()[0].lower() == "qpt":       # one q-point a line (three: 3rd order)
        num, ln = rows[p]
        try:
            v = [_real(t) for t in ln.split()[1:5]]
        except ValueError:
            v = []
        if len(v) < 3 or not np.isfinite(v).all() or (len(v) == 4 and v[3] == 0):
            raise rd.error(f"expected 'qpt', three finite numbers and the normalisation (not zero), found "
                           f"{ln.strip()[:60]!r}", line=num)
        q = np.array(v[:3]) / (v[3] if len(v) == 4 else 1.0) if q is None else q
        p += 1
        while p < len(rows) and len(rows[p][1].split()) == 4 and not _whole(rows[p][1].split()[0]):
            p += 1                                                       # the other q-points of a 3rd-order block
    if name.startswith("2nd derivatives") and q is None:
        raise rd.error(f"{where} has no 'qpt' line after its first line", line=rows[p][0] if p < len(rows) else head)
    lines = rows[p:p + count]
    for e, (num, ln) in enumerate(lines):
        if _BLOCK.match(ln):
            raise rd.error(f"{where} announces {count} elements, but {e} follow before the next block (line {num}): "
                           "the count disagrees with the elements", line=head,
                           fix="Correct the number of elements, or write the file again")
    if len(lines) < count:
        raise rd.error(f"the file ends in {where} after {len(lines)} of its {count} elements (line {rows[-1][0]}): it "
                       "is cut short, or the count disagrees with the elements", line=rows[-1][0] + 1)
    tokens = [ln.split() for _, ln in lines]
    width = n_idx + 2 if n_idx is not None else (len(tokens[0]) if tokens else 2)
    labels = "idir1 ipert1 idir2 ipert2 Re Im" if n_idx == 4 else f"{width - 2} indices and Re Im"
    for (num, ln), t in zip(lines, tokens):
        if len(t) != width or not all(_whole(x) for x in t[:width - 2]):
            raise rd.error(f"{where}: expected {width} values ({labels}), found {ln.strip()[:70]!r}", line=num)
    try:
        vals = np.array([[_real(x) for x in t[width - 2:]] for t in tokens]).reshape(-1, 2)
    except ValueError:
        num, ln = next((n, ln) for (n, ln), t in zip(lines, tokens) if not _reals(t[width - 2:]))
        raise rd.error(f"{where}: expected two numbers (Re Im) after the indices, found {ln.strip()[:70]!r}",
                       line=num) from None
    bad = np.flatnonzero(~np.isfinite(vals).all(axis=1))
    if len(bad):
        raise rd.error(f"{where}: an element is NaN or infinite", line=lines[bad[0]][0])
    p += count
    if p < len(rows) and not _BLOCK.match(rows[p][1]) and len(rows[p][1].split()) == width \
            and all(_whole(x) for x in rows[p][1].split()[:width - 2]):
        raise rd.error(f"{where} announces {count} elements, but more follow (the first beyond the count at line "
                       f"{rows[p][0]}): the count disagrees with the elements", line=head,
                       fix="Correct the number of elements, or write the file again")
    if not name.startswith("2nd derivatives"):
        return dict(next=p, keys=None)
    keys = np.array([[int(x) for x in t[:4]] for t in tokens], dtype=int).reshape(-1, 4)
    bad = np.flatnonzero(((keys[:, [0, 2]] < 1) | (keys[:, [0, 2]] > 3)).any(axis=1)
                         | ((keys[:, [1, 3]] < 1) | (keys[:, [1, 3]] > natom + _MPERT_MAX)).any(axis=1))
    if len(bad):
        num, ln = lines[bad[0]]
        raise rd.error(f"{where}: a direction outside 1..3 or a perturbation outside 1..{natom + _MPERT_MAX} (the "
                       f"header's natom {natom} and ABINIT's {_MPERT_MAX} others): {ln.strip()[:70]!r}", line=num)
    return dict(next=p, q=q, keys=keys, values=vals[:, 0] + 1j * vals[:, 1])


def _whole(tok: str) -> bool:
    return tok.lstrip("+-").isdigit()


def _reals(toks) -> bool:
    try:
        [_real(t) for t in toks]
        return True
    except ValueError:
        return False
