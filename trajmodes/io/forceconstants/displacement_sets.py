"""Finite- and random-displacement datasets of phonopy and phono3py, read as displacement-force trajectories.

phonopy (Togo and Tanaka, Scr. Mater. 108, 1 (2015)) and phono3py (Togo, Chaput and Tanaka, Phys. Rev. B 91,
094306 (2015); Togo, J. Phys. Soc. Jpn. 92, 012001 (2023)) keep the supercells they displaced and the forces
computed in them as a *dataset*:

- phonopy: ``FORCE_SETS`` (type 1: one displaced atom per supercell, the atom number and its displacement
  before the forces; type 2: six columns, displacement and force of every atom) with the structure of
  ``phonopy_disp.yaml`` / ``phonopy.yaml`` (or a ``POSCAR`` and the supercell matrix);
- phono3py: ``phono3py_disp.yaml`` (the structure, the supercell matrices and, for type 1, the displaced atoms
  and pairs) with ``FORCES_FC3`` (and ``FORCES_FC2`` for the separate harmonic supercell of ``--dim-fc2``);
  type 1: the forces only (three columns), the supercells of the single displacements first, then those of
  the pairs in the yaml's order; type 2: six columns.

The forces are checked against the structure, never reshaped by their row count alone: a type-1 file's
``# File: k`` blocks (phono3py writes one per supercell, with its displaced atoms) must be as many as the yaml's
supercells, hold one row per atom and displace the atoms of the yaml's supercell k; a six-column file's displacements
must be those the yaml lists (all its supercells, or the first ones); ``FORCE_SETS`` must be for the supercell's atom
count and hold the supercells its second line announces. A six-column file beside a yaml (or POSCAR) that lists no
displacements can only be checked for whole supercells.

Each displaced supercell becomes one frame: positions = ideal supercell + displacement (Å), the forces
(eV/Å), the ideal supercell as the reference. The files read are exactly the ones named (or found in the
folder named): never the current directory.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trajmodes.errors import DAMAGED, TrajectoryFormatError
from trajmodes.lattice.crystal import Crystal

__all__ = ["DisplacementDataset", "parse_displacement_dataset"]

PHONO3PY_YAMLS = ("phono3py_disp.yaml", "phono3py.yaml", "phono3py_params.yaml")
PHONOPY_YAMLS = ("phonopy_disp.yaml", "phonopy.yaml", "phonopy_params.yaml")


@dataclass
class DisplacementDataset:
    """Displaced supercells and their forces.

    Attributes
    ----------
    supercell : Crystal
        The ideal supercell (Å, amu), atoms in the dataset's order.
    displacements : ndarray (n_sets, N, 3)
        Å.
    forces : ndarray (n_sets, N, 3)
        eV/Å.
    supercell_matrix : ndarray of int (3, 3)
        Supercell = ``supercell_matrix`` applied to the unit cell (phonopy's convention: rows of the cell).
    paths : list of str
        The files read.
    """

    supercell: Crystal
    displacements: np.ndarray
    forces: np.ndarray
    supercell_matrix: np.ndarray
    paths: list


def _open_text(path: Path):
    """Text handle of a file, plain or compressed (.xz, .lzma, .gz, .bz2)."""
    import bz2
    import gzip
    import lzma
    opener = {".xz": lzma.open, ".lzma": lzma.open, ".gz": gzip.open, ".bz2": bz2.open}.get(path.suffix, open)
    return opener(path, "rt")


#: what to do when the forces do not belong to the structure and displacements they are read with
_OTHER_DATASET = ("Give the forces file computed for this dataset's displacements (phono3py --cf3 / --cf2, phonopy -f "
                  "with the same yaml), or the yaml of the displacements the forces were computed for")
_FILE_HEADER = re.compile(r"#\s*File\s*:\s*(\d+)")


@dataclass
class _ForcesText:
    """The rows of numbers of a forces file with their line numbers, and phono3py's per-supercell headers.

    ``rows``: the tokens of every row that holds numbers (a ``#`` starts a comment); ``lines``: their 1-based line
    numbers; ``blocks``: one per ``# File: k`` header, (its line, k, the index of its first row, the displaced atoms
    of the ``# atom dx dy dz`` lines after it as (atom (1-based), displacement (3,)))."""

    path: Path
    rows: list
    lines: list
    blocks: list

    def error(self, what: str, line: int | None = None, fix: str | None = None) -> TrajectoryFormatError:
        return TrajectoryFormatError(self.path, what, line=line, fix=fix or DAMAGED)

    def numbers(self, lo: int, hi: int, width: int, what: str) -> np.ndarray:
        """Rows ``lo:hi``, each of ``width`` numbers, as an (hi - lo, width) array; else an error naming the line."""
        sel = self.rows[lo:hi]
        if all(len(r) == width for r in sel):
            try:
                out = np.array(sel, dtype=float).reshape(hi - lo, width)
                if np.isfinite(out).all():
                    return out
            except ValueError:
                pass
        for r, line in zip(sel, self.lines[lo:hi]):
            try:
                v = [float(t) for t in r]
            except ValueError:
                raise self.error(f"expected {width} numbers ({what}), found {' '.join(r)[:70]!r}", line=line) from None
            if len(v) != width:
                raise self.error(f"expected {width} numbers ({what}), found {len(v)}: {' '.join(r)[:70]!r}", line=line)
            if not np.isfinite(v).all():
                raise self.error(f"{what} holds NaN or infinite values", line=line)
        raise self.error(f"cannot read {what}")                         # pragma: no cover - the loop finds the line


def _forces_text(path: Path) -> _ForcesText:
    rows, lines, blocks = [], [], []
    try:
        with _open_text(path) as f:
            for num, line in enumerate(f, start=1):
                body, _, comment = line.partition("#")
                tok = body.split()
                if tok:
                    rows.append(tok)
                    lines.append(num)
                    continue
                m = _FILE_HEADER.match(line.strip())
                if m:
                    blocks.append((num, int(m.group(1)), len(rows), []))
                elif blocks and blocks[-1][2] == len(rows):                # "# atom dx dy dz" of the open block
                    t = comment.split()
                    try:
                        blocks[-1][3].append((int(t[0]), np.array([float(x) for x in t[1:4]])))
                    except (IndexError, ValueError):
                        pass
    except (UnicodeDecodeError, EOFError, OSError) as exc:
        raise TrajectoryFormatError(path, f"not a readable text file ({type(exc).__name__}: {exc})",
                                    fix=DAMAGED) from None
    out = _ForcesText(path, rows, lines, [b for b in blocks if len(b[3]) in (1, 2)])
    if not rows:
        raise out.error("no numbers in it: not a forces file, or an empty one")
    return out


def _find(folder: Path, names) -> Path | None:
    for name in names:
        for suffix in ("", ".xz", ".gz", ".lzma", ".bz2"):
            p = folder / (name + suffix)
            if p.is_file():
                return p
    return None


def _crystal(atoms, distance: float = 1.0) -> Crystal:
    cell = np.asarray(atoms.cell, float) * distance
    return Crystal(cell, np.asarray(atoms.scaled_positions, float) @ cell, list(atoms.symbols),
                   np.asarray(atoms.masses, float))


def _type1_sets(dataset: dict, natom: int, pairs: bool) -> list[np.ndarray]:
    """Displacements (n_sets, N, 3) of a type-1 dataset, the order of its forces files: single displacements,
    then (phono3py) the pairs, and for each set whether it is part of the data (``included``)."""
    first = dataset.get("first_atoms") or []
    u, keep = [], []
    for d1 in first:
        v = np.zeros((natom, 3))
        v[int(d1["number"])] = d1["displacement"]
        u.append(v)
        keep.append(True)
    if pairs:
        for d1 in first:
            for d2 in d1.get("second_atoms", []):
                v = np.zeros((natom, 3))
                v[int(d1["number"])] = d1["displacement"]
                v[int(d2["number"])] += np.asarray(d2["displacement"], float)
                u.append(v)
                keep.append(bool(d2.get("included", True)))
    return (np.array(u).reshape(-1, natom, 3), np.array(keep, bool))


def _yaml_sets(dataset: dict | None, natom: int, pairs: bool) -> np.ndarray | None:
    """The displacements (n_sets, N, 3) a dataset lists (type 1: its single displacements and pairs; type 2: its
    ``displacements``), None when it lists none."""
    if not dataset:
        return None
    if dataset.get("first_atoms"):
        return _type1_sets(dataset, natom, pairs)[0]
    if dataset.get("displacements") is not None:
        u = np.asarray(dataset["displacements"], float)
        return u.reshape(-1, natom, 3) if u.size % (3 * natom) == 0 else None
    return None


def _check_displacements(text: _ForcesText, u: np.ndarray, ref: np.ndarray | None, row_of, yaml: Path,
                         natom: int, prefix: bool) -> None:
    """The displacements of a forces file (n_sets, N, 3) against those of the yaml (``ref``): the same number of
    supercells (or, ``prefix``, the first ones of the yaml: forces of only some supercells) and the same
    displacements (to 1e-6 in the file's units, phonopy's tolerance), else an error naming the supercell and the line
    (``row_of(k, i)``: the row of the displacement of atom i in supercell k)."""
    if ref is None:
        return
    if len(u) > len(ref) or (not prefix and len(u) != len(ref)):
        raise text.error(f"{len(u) * natom} rows ({len(u)} displaced supercells of {natom} atoms), but {yaml.name} "
                         f"lists {len(ref)} displaced supercells ({len(ref) * natom} rows): the forces file does not "
                         "belong to that yaml", fix=_OTHER_DATASET)
    bad = np.flatnonzero(np.abs(u - ref[:len(u)]).max(axis=(1, 2)) > 1e-6)
    if len(bad):
        k = int(bad[0])
        i = int(np.argmax(np.abs(u[k] - ref[k]).max(axis=1)))
        later = np.flatnonzero(np.abs(ref[k + 1:] - u[k]).max(axis=(1, 2)) <= 1e-6)
        if len(later) and len(u) < len(ref):             # the rows of supercell k + 1 are those of a later one
            j = k + 1 + int(later[0])
            gone = f"{k + 1}" if j == k + 1 else f"{k + 1} to {j}"
            raise text.error(f"the forces of supercell{'s' * (j > k + 1)} {gone} of the {len(ref)} that {yaml.name} "
                             f"lists are missing: the rows from here hold the displacements of its supercell {j + 1}",
                             line=text.lines[row_of(k, 0)],
                             fix=f"Add the forces of supercell{'s' * (j > k + 1)} {gone} (phono3py --cf3 / --cf2 with "
                                 "the output of every displaced supercell's calculation), or give the forces file "
                                 "computed for this dataset")
        raise text.error(f"supercell {k + 1} of {len(u)}: atom {i + 1} is displaced by "
                         f"{np.round(u[k, i], 6).tolist()}, but by {np.round(ref[k, i], 6).tolist()} in supercell "
                         f"{k + 1} of {yaml.name}: the forces file does not belong to that yaml",
                         line=text.lines[row_of(k, i)], fix=_OTHER_DATASET)


def _from_forces_file(path: Path, dataset: dict | None, natom: int, pairs: bool, yaml: Path):
    """(displacements, forces, keep) in the file's units from a forces file: phono3py's ``FORCES_FC3`` /
    ``FORCES_FC2`` (type 1: three columns, per supercell a ``# File: k`` header, the displaced atoms and natom
    forces; type 2: six columns) or phonopy's ``FORCE_SETS`` (type 1: the number of atoms, of supercells, then per
    supercell the displaced atom, its displacement and natom forces; type 2: six columns), checked against the
    supercell (``natom`` atoms) and the displacements of the yaml's ``dataset`` where it lists them."""
    text = _forces_text(path)
    width = len(text.rows[0])
    ref = _yaml_sets(dataset, natom, pairs)
    if width == 6:                                                      # type 2: displacement and force
        x = text.numbers(0, len(text.rows), 6, "a displacement and a force")
        if len(x) % natom:
            raise text.error(f"{len(x)} rows are not a whole number of supercells of {natom} atoms (the supercell of "
                             f"{yaml.name}): the forces are of another supercell, or the file is cut short",
                             line=text.lines[-1], fix=_OTHER_DATASET)
        x = x.reshape(-1, natom, 6)
        _check_displacements(text, x[..., :3], ref, lambda k, i: k * natom + i, yaml, natom,
                             prefix="first_atoms" not in (dataset or {}))
        return x[..., :3], x[..., 3:], np.ones(len(x), bool)
    if width == 1:
        return _force_sets(text, natom, ref, yaml)
    if width != 3:
        raise text.error(f"the first row has {width} numbers: a forces file has rows of 3 (phono3py's FORCES_FC3 and "
                         "FORCES_FC2), of 6 (type 2: displacement and force), or starts with the number of atoms "
                         "(phonopy's FORCE_SETS)", line=text.lines[0])
    if not dataset or not dataset.get("first_atoms"):
        raise text.error(f"a type-1 forces file (three columns: the forces only) needs the displaced atoms of its "
                         f"yaml, and {yaml.name} lists none", fix="Give the yaml written with the displacements "
                         "(phono3py_disp.yaml), or a type-2 forces file (six columns)")
    u, keep = _type1_sets(dataset, natom, pairs)
    if text.blocks:                                                     # phono3py's '# File: k' headers
        _check_blocks(text, u, natom, yaml)
    if len(text.rows) != len(u) * natom:
        raise text.error(f"{len(text.rows)} force rows, but the {len(u)} displaced supercells of {natom} atoms of "
                         f"{yaml.name} need {len(u) * natom}: the forces file does not belong to that yaml, or it is "
                         "cut short",
                         line=text.lines[-1], fix=_OTHER_DATASET)
    return u, text.numbers(0, len(text.rows), 3, "a force").reshape(-1, natom, 3), keep


def _check_blocks(text: _ForcesText, u: np.ndarray, natom: int, yaml: Path) -> None:
    """phono3py's ``# File: k`` blocks: as many as the yaml's supercells, ``natom`` rows each, and the displaced atoms
    of their headers those of the yaml's supercell k."""
    blocks = text.blocks
    numbers = [b[1] for b in blocks]
    missing = sorted(set(range(1, len(u) + 1)) - set(numbers))
    if len(blocks) < len(u) and missing and numbers == sorted(numbers) and set(numbers) <= set(range(1, len(u) + 1)):
        k = missing[0]
        after = next((b for b in reversed(blocks) if b[1] < k), None)
        listed = ", ".join(str(i) for i in missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10
                                                            else "")
        raise text.error(f"the forces of supercell{'s' * (len(missing) > 1)} {listed} of the {len(u)} that "
                         f"{yaml.name} lists are missing: no '# File: {k}' block"
                         + (f" (the block '# File: {after[1]}' at line {after[0]} is followed by "
                            + (f"'# File: {blocks[blocks.index(after) + 1][1]}')" if blocks.index(after) + 1 <
                               len(blocks) else "the end of the file)") if after else ""),
                         line=after[0] if after else blocks[0][0] if blocks else None,
                         fix=f"Add the forces of supercell{'s' * (len(missing) > 1)} {listed} (phono3py --cf3 / --cf2 "
                             f"with the output of every displaced supercell's calculation, disp-{k:05d} among them), "
                             "or give the forces file computed for this dataset")
    if len(blocks) != len(u):
        raise text.error(f"{len(blocks)} blocks ('# File:' lines), but {yaml.name} lists {len(u)} displaced "
                         "supercells: the forces file does not belong to that yaml, or it is cut short",
                         line=blocks[min(len(blocks), len(u)) - 1][0], fix=_OTHER_DATASET)
    ends = [b[2] for b in blocks[1:]] + [len(text.rows)]
    for k, ((line, number, first, heads), end) in enumerate(zip(blocks, ends)):
        if end - first != natom:
            raise text.error(f"supercell {k + 1} ('# File: {number}') holds {end - first} force rows, but the "
                             f"supercell of {yaml.name} has {natom} atoms: the forces are of another supercell, or "
                             "the file is damaged", line=line, fix=_OTHER_DATASET)
        if not heads:
            continue
        uh = np.zeros((natom, 3))
        inside = all(1 <= a <= natom for a, _ in heads)
        for a, d in heads:
            if 1 <= a <= natom:
                uh[a - 1] += d
        if not inside or np.abs(uh - u[k]).max() > 1e-6:
            got = sorted({a for a, _ in heads})
            want = [int(i) + 1 for i in np.flatnonzero(np.abs(u[k]).max(axis=1) > 0)]
            raise text.error(f"supercell {k + 1} ('# File: {number}') displaces atom(s) {got} by "
                             f"{[np.round(d, 6).tolist() for _, d in heads]}, but supercell {k + 1} of {yaml.name} "
                             f"atom(s) {want} by {[np.round(u[k, i - 1], 6).tolist() for i in want]}: the forces file "
                             "does not belong to that yaml", line=line, fix=_OTHER_DATASET)


def _force_sets(text: _ForcesText, natom: int, ref: np.ndarray | None, yaml: Path):
    """phonopy's type-1 FORCE_SETS: ``natom``, the number of supercells, then per supercell the displaced atom
    (1-based), its displacement and ``natom`` rows of forces."""
    head = text.numbers(0, min(2, len(text.rows)), 1, "the number of atoms and of displaced supercells")
    if len(head) < 2:
        raise text.error("the file ends after the number of atoms, before the number of displaced supercells",
                         line=text.lines[0] + 1)
    n_file, n_sets = int(head[0, 0]), int(head[1, 0])
    if n_file != natom:
        raise text.error(f"FORCE_SETS of supercells of {n_file} atoms, but the supercell of {yaml.name} has {natom}: "
                         "the forces are of another supercell", line=text.lines[0], fix=_OTHER_DATASET)
    rec = natom + 2
    have = len(text.rows) - 2
    if have != n_sets * rec:
        k = min(have // rec, n_sets)
        raise text.error(f"line {text.lines[1]} announces {n_sets} displaced supercells of {rec} rows each (the atom, "
                         f"its displacement, {natom} forces), but {have} rows follow ({have / rec:.4g} supercells): "
                         + ("the file is cut short, or the count disagrees" if have < n_sets * rec else
                            "rows are left over, or the count disagrees"),
                         line=text.lines[min(2 + k * rec, len(text.lines) - 1)])
    u = np.zeros((n_sets, natom, 3))
    f = np.empty((n_sets, natom, 3))
    for k in range(n_sets):
        r = 2 + k * rec
        atom = text.numbers(r, r + 1, 1, "the displaced atom")[0, 0]
        if atom != int(atom) or not 1 <= atom <= natom:
            raise text.error(f"supercell {k + 1}: the displaced atom must be a whole number from 1 to {natom}, not "
                             f"{' '.join(text.rows[r])!r}", line=text.lines[r])
        u[k, int(atom) - 1] = text.numbers(r + 1, r + 2, 3, "the displacement")[0]
        f[k] = text.numbers(r + 2, r + rec, 3, "a force")
    _check_displacements(text, u, ref, lambda k, i: 3 + k * rec, yaml, natom, prefix=False)
    return u, f, np.ones(n_sets, bool)


class _MissingForces(TrajectoryFormatError):
    """Some supercells of a yaml's dataset have forces, others none: the forces file beside it is read instead
    (phono3py's and phonopy's rule), or, without one, this error names them."""


def _from_dataset(dataset: dict | None, natom: int, pairs: bool, yaml: Path):
    """(displacements, forces, keep) of a yaml whose dataset holds its forces; None when it holds none (the forces
    are in a file beside it). A dataset where some supercells have forces and others not is refused, naming them."""
    if not dataset:
        return None
    if dataset.get("displacements") is not None:                        # type 2
        if dataset.get("forces") is None:
            return None
        u = np.asarray(dataset["displacements"], float).reshape(-1, natom, 3)
        f = np.asarray(dataset["forces"], float)
        if f.ndim == 3 and f.shape[1:] == u.shape[1:] and len(f) < len(u):
            _missing_type2_forces(yaml, dataset, len(u), len(f))
        if f.shape != u.shape:
            raise TrajectoryFormatError(yaml, f"the dataset holds forces of shape {f.shape} for displacements of shape "
                                              f"{u.shape}", fix=DAMAGED)
        _finite(f, yaml, np.arange(len(u)))
        return u, f, np.ones(len(u), bool)
    first = dataset.get("first_atoms") or []
    u, keep = _type1_sets(dataset, natom, pairs)
    sets = list(first) + ([d2 for d1 in first for d2 in d1.get("second_atoms", [])] if pairs else [])
    has = np.array([d.get("forces") is not None for d in sets], bool)
    if not has.any():
        return None
    missing = np.flatnonzero(~has & keep)
    if len(missing):
        ids = [int(sets[i].get("id", i + 1)) for i in missing]
        listed = ", ".join(str(i) for i in ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
        raise _MissingForces(yaml, f"{int(has.sum())} of the {len(sets)} displaced supercells have forces, but "
                                          f"supercell{'s' if len(ids) > 1 else ''} {listed} (phono3py's ids, the "
                                          "'# File:' numbers) ha" + ("ve" if len(ids) > 1 else "s") + " none",
                                    fix="Add their forces to the yaml (phono3py --cf3 with every calculation), or "
                                        "give a forces file with all of them (forces=)")
    f = np.stack([np.asarray(d["forces"], float) if ok else np.zeros((natom, 3)) for d, ok in zip(sets, has)])
    if f.shape != u.shape:
        raise TrajectoryFormatError(yaml, f"the forces of the dataset have shape {f.shape[1:]} per supercell, but "
                                          f"its supercell has {natom} atoms", fix=DAMAGED)
    _finite(f, yaml, np.arange(len(sets)))
    return u, f, keep


def _missing_type2_forces(yaml: Path, dataset: dict, n_sets: int, n_forces: int) -> None:
    """Refuse a type-2 dataset (random displacements: ``displacements`` and ``forces`` of every supercell) that holds
    the forces of fewer supercells than it displaces, naming them: phono3py writes ``- # k`` before supercell k's
    forces, so the supercells whose number is not there are those missing (else the count alone)."""
    sections = {}
    for sec, k, ln in _forces_numbers(yaml):
        sections.setdefault(sec, []).append((k, ln))
    fits = [v for v in sections.values() if len({k for k, _ in v}) == len(v) == n_forces
            and max(k for k, _ in v) <= n_sets]
    numbers = fits[0] if len(fits) == 1 else []           # the section of this dataset, where one fits it alone
    missing = sorted(set(range(1, n_sets + 1)) - {k for k, _ in numbers}) if numbers else []
    if missing:
        listed = ", ".join(str(i) for i in missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10
                                                            else "")
        before = max(((ln, k) for k, ln in numbers if k < missing[0]), default=None)
        what = (f"the forces of supercell{'s' * (len(missing) > 1)} {listed} of its {n_sets} displaced supercells "
                f"are missing: no '- # {missing[0]}' in its forces"
                + (f" (after '- # {before[1]}' at line {before[0]})" if before else ""))
        line = before[0] if before else None
    else:
        what = (f"its dataset displaces {n_sets} supercells but holds the forces of {n_forces}: the forces of "
                f"{n_sets - n_forces} supercell(s) are missing")
        line, listed = None, f"the {n_sets - n_forces} missing"
    raise TrajectoryFormatError(yaml, what, line=line,
                                fix=f"Add the forces of supercell{'s' * (len(missing) > 1)} {listed} (phono3py "
                                    "--cf3 / --cf2 with the output of every displaced supercell's calculation, then "
                                    "--sp writes phono3py_params.yaml with them), or give a forces file with all of "
                                    "them (forces=)")


def _forces_numbers(yaml: Path) -> list:
    """(section, k, line) of every ``- # k`` comment under a ``forces:`` key of a phono3py yaml, section the top-level
    key it is in (``dataset``, ``phonon_dataset``)."""
    out, section, inside = [], None, False
    marker = re.compile(r"^\s*-\s*#\s*(\d+)\s*$")
    try:
        with _open_text(yaml) as f:
            for num, line in enumerate(f, start=1):
                if line[:1].isalpha():
                    section, inside = line.split(":")[0].strip(), False
                elif line.strip() == "forces:":
                    inside = True
                elif inside and line.startswith("  ") and not line.startswith("   ") and \
                        not line.lstrip().startswith("-"):
                    inside = False                      # another key of the section
                elif inside:
                    m = marker.match(line)
                    if m:
                        out.append((section, int(m.group(1)), num))
    except (OSError, UnicodeDecodeError, EOFError):
        return []
    return out


def _yaml_forces(dataset, natom: int, pairs: bool, yaml: Path):
    """:func:`_from_dataset`, and the error of a dataset where only some supercells have forces (else None)."""
    try:
        return _from_dataset(dataset, natom, pairs, yaml), None
    except _MissingForces as exc:
        return None, exc


def _finite(f: np.ndarray, yaml: Path, ids) -> None:
    bad = np.argwhere(~np.isfinite(f).all(axis=2))
    if len(bad):
        k, i = bad[0]
        raise TrajectoryFormatError(yaml, f"the force on atom {i + 1} of displaced supercell {ids[k] + 1} is NaN or "
                                          "infinite", fix=DAMAGED)


def parse_displacement_dataset(path, forces=None, *, harmonic: bool = False, supercell_matrix=None
                               ) -> DisplacementDataset:
    """Displaced supercells and forces of a phonopy or phono3py dataset.

    Parameters
    ----------
    path : str or path-like
        A phono3py yaml (``phono3py_disp.yaml``, ``phono3py.yaml``, ``phono3py_params.yaml``), a phonopy yaml
        (``phonopy_disp.yaml``, ``phonopy.yaml``, ``phonopy_params.yaml``), a VASP ``POSCAR`` of the unit cell
        (with ``supercell_matrix``; phonopy's atom order of the supercell), or a folder holding one of these
        (looked for in that order).
    forces : str or path-like, optional
        ``FORCES_FC3``, ``FORCES_FC2`` or ``FORCE_SETS`` (plain or .xz/.gz/.lzma/.bz2). A relative name is taken
        in the folder of ``path``. Default: the yaml's own forces when it holds them, else ``FORCES_FC3``
        (``FORCES_FC2`` with ``harmonic=True``) beside a phono3py yaml, ``FORCE_SETS`` beside a phonopy yaml
        or POSCAR.
    harmonic : bool
        phono3py only: the dataset of the harmonic supercell (``--dim-fc2``, ``FORCES_FC2``) instead of the
        third-order one. Without a separate harmonic supercell in the yaml, the single displacements of the
        third-order dataset (phono3py's fc2 data).
    supercell_matrix : array_like of int (3, 3) or (3,), optional
        For a POSCAR; ignored for a yaml (its own matrix is used).

    Returns
    -------
    DisplacementDataset

    Raises
    ------
    FileNotFoundError
        If no structure or forces file is found (the message lists the names looked for).
    TrajectoryFormatError
        A file that cannot be read, or forces that do not belong to the structure and displacements (the module
        notes), naming the file, the line or supercell, and what to do; a yaml where only some supercells have
        forces (and no forces file beside it), naming them.
    """
    path = Path(os.fspath(path))
    if path.is_dir():
        found = _find(path, PHONO3PY_YAMLS + PHONOPY_YAMLS + ("POSCAR",))
        if found is None:
            raise FileNotFoundError(f"{path}: no {', '.join(PHONO3PY_YAMLS + PHONOPY_YAMLS)} or POSCAR in it")
        path = found
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    folder = path.parent
    if forces is not None:
        forces = Path(os.fspath(forces))
        if not forces.is_absolute() and (folder / forces).is_file():
            forces = folder / forces                    # a bare name: beside the structure file
        if not forces.is_file():
            raise FileNotFoundError(f"{forces}: no such forces file")
    name = path.name.lower()
    if name.startswith(("disp_fc3.yaml", "disp_fc2.yaml")):
        raise TrajectoryFormatError(path, f"phono3py 1's displacement file {path.name}: it holds the displaced atoms "
                                          "but not the unit cell and supercell matrix, and phono3py 2 and later no "
                                          "longer read it", fix="Give the phono3py_disp.yaml of the same "
                                          "displacements (phono3py -d with the run's unit cell, --dim and --amplitude "
                                          "writes it; the '# File:' headers of FORCES_FC3 are checked against it)")
    kind = "phono3py" if "phono3py" in name else ("phonopy" if name.endswith((".yaml", ".yml")) or ".yaml" in name
                                                  else "poscar")
    if kind == "phono3py":
        return _phono3py(path, forces, harmonic)
    if harmonic:
        raise ValueError("harmonic=True selects the fc2 dataset of a phono3py yaml; a phonopy dataset is harmonic")
    return _phonopy(path, forces, kind, supercell_matrix)


def _read_yaml(cls, path: Path):
    """phonopy's or phono3py's yaml reader on ``path``; its errors (yaml syntax, missing keys) as a
    TrajectoryFormatError naming the file."""
    y = cls()
    try:
        y.read(str(path))
    except Exception as exc:                            # yaml and phonopy raise many types
        from trajmodes.io.forceconstants.phonopy import first_line
        raise TrajectoryFormatError(path, f"{cls.__module__.split('.')[0]} cannot read it ({type(exc).__name__}: "
                                          f"{first_line(exc)})", fix=DAMAGED) from None
    return y


def _phono3py(path: Path, forces: Path | None, harmonic: bool) -> DisplacementDataset:
    from phono3py.interface.phono3py_yaml import Phono3pyYaml
    from phonopy.interface.calculator import get_calculator_physical_units
    y = _read_yaml(Phono3pyYaml, path)
    units = get_calculator_physical_units(y.calculator)
    separate = harmonic and y.phonon_supercell is not None
    atoms = y.phonon_supercell if separate else y.supercell
    smat = y.phonon_supercell_matrix if separate else y.supercell_matrix
    if atoms is None:
        raise TrajectoryFormatError(path, "the yaml holds no supercell", fix="Give the phono3py_disp.yaml (or "
                                    "phono3py.yaml) written with the displacements")
    dataset = y.phonon_dataset if separate else y.dataset
    natom = len(atoms)
    pairs = not separate                                # the fc2 data of one supercell: the third-order file
    forces_path = forces
    got, partial = _yaml_forces(dataset, natom, pairs, path) if forces is None else (None, None)
    if got is None and forces_path is None:
        name = "FORCES_FC2" if separate else "FORCES_FC3"
        forces_path = _find(path.parent, (name,))
        if forces_path is None and partial is not None:
            raise partial
        if forces_path is None:
            raise FileNotFoundError(f"{path}: its dataset holds no forces and there is no {name} (or {name}.xz, .gz, "
                                    f".lzma, .bz2) beside it: give the forces file (forces=)")
    if forces_path is not None:
        got = _from_forces_file(forces_path, dataset, natom, pairs, path)
    u, f, keep = got
    if harmonic and not separate and dataset and dataset.get("first_atoms"):
        n1 = len(dataset["first_atoms"])                # phono3py's fc2 data: the single displacements
        u, f, keep = u[:n1], f[:n1], keep[:n1]
    paths = [str(path)] + ([str(forces_path)] if forces_path is not None else [])
    return _dataset(atoms, units, u[keep], f[keep], smat, paths)


def _phonopy(path: Path, forces: Path | None, kind: str, supercell_matrix) -> DisplacementDataset:
    from phonopy.interface.calculator import get_calculator_physical_units
    if kind == "poscar":
        from phonopy.interface.vasp import read_vasp
        from phonopy.structure.cells import get_supercell
        if supercell_matrix is None:
            raise ValueError(f"{path}: a POSCAR needs supercell_matrix= (the matrix the displacements were made in)")
        smat = np.asarray(supercell_matrix)
        if smat.shape == (3,):
            smat = np.diag(smat)
        if smat.shape != (3, 3) or not np.allclose(smat, np.rint(smat)) or round(abs(np.linalg.det(smat))) < 1:
            raise ValueError(f"supercell_matrix must be a non-singular integer (3, 3) or (3,) matrix, not {smat}")
        smat = np.rint(smat).astype(np.int64)
        try:
            atoms = get_supercell(read_vasp(str(path)), smat)
        except Exception as exc:                        # phonopy raises several types on a damaged POSCAR
            from trajmodes.io.forceconstants.phonopy import first_line
            raise TrajectoryFormatError(path, f"phonopy cannot read it as a POSCAR ({type(exc).__name__}: "
                                              f"{first_line(exc)})", fix=DAMAGED) from None
        units = get_calculator_physical_units("vasp")
        dataset = None
    else:
        from phonopy.interface.phonopy_yaml import PhonopyYaml
        y = _read_yaml(PhonopyYaml, path)
        if y.supercell is None:
            raise TrajectoryFormatError(path, "the yaml holds no supercell", fix="Give the phonopy_disp.yaml (or "
                                        "phonopy.yaml) written with the displacements")
        atoms, smat, dataset = y.supercell, y.supercell_matrix, y.dataset
        units = get_calculator_physical_units(y.calculator)
    natom = len(atoms)
    got, partial = _yaml_forces(dataset, natom, False, path) if forces is None else (None, None)
    paths = [str(path)]
    if got is None:
        forces = forces if forces is not None else _find(path.parent, ("FORCE_SETS",))
        if forces is None and partial is not None:
            raise partial
        if forces is None:
            raise FileNotFoundError(f"{path}: no forces in it and no FORCE_SETS (or FORCE_SETS.xz, .gz, .lzma, .bz2) "
                                    "beside it: give the forces file (forces=)")
        got = _from_forces_file(forces, dataset, natom, False, path)
        paths.append(str(forces))
    u, f, keep = got
    return _dataset(atoms, units, u[keep], f[keep], smat, paths)


def _dataset(atoms, units, u, f, smat, paths) -> DisplacementDataset:
    if len(u) == 0:
        raise ValueError(f"{paths[0]}: the dataset holds no displaced supercell with forces")
    crystal = _crystal(atoms, units.distance_to_A)
    return DisplacementDataset(crystal, np.ascontiguousarray(u * units.distance_to_A),
                               np.ascontiguousarray(f * units.force_to_eVperA),
                               np.asarray(smat if smat is not None else np.eye(3), dtype=np.int64), paths)
