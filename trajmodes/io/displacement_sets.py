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

Each displaced supercell becomes one frame: positions = ideal supercell + displacement (Angstrom), the forces
(eV/Angstrom), the ideal supercell as the reference. The files read are exactly the ones named (or found in the
folder named): never the current directory.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
        The ideal supercell (Angstrom, amu), atoms in the dataset's order.
    displacements : ndarray (n_sets, N, 3)
        Angstrom.
    forces : ndarray (n_sets, N, 3)
        eV/Angstrom.
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


def _numeric_rows(path: Path) -> np.ndarray:
    """Every non-comment row of a forces file, (n_rows, n_columns) floats."""
    rows = []
    with _open_text(path) as f:
        for line in f:
            s = line.split("#", 1)[0].split()
            if s:
                rows.append(s)
    if not rows:
        raise ValueError(f"{path}: no numbers in it")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise ValueError(f"{path}: rows of {sorted(widths)} columns; a forces file has rows of 3 (type 1) or 6 "
                         "(type 2: displacement and force)")
    try:
        return np.array(rows, dtype=float)
    except ValueError:
        raise ValueError(f"{path}: a row that is not numbers") from None


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


def _from_forces_file(path: Path, dataset: dict | None, natom: int, pairs: bool):
    """(displacements, forces, keep) in the file's units from a FORCES_FC3 / FORCES_FC2 file (type 1 or 2)."""
    rows = _numeric_rows(path)
    if rows.shape[1] == 6:                                              # type 2
        if len(rows) % natom:
            raise ValueError(f"{path}: {len(rows)} rows are not a whole number of supercells of {natom} atoms")
        rows = rows.reshape(-1, natom, 6)
        return rows[..., :3], rows[..., 3:], np.ones(len(rows), bool)
    if rows.shape[1] != 3:
        raise ValueError(f"{path}: rows of {rows.shape[1]} columns; expected 3 (type 1) or 6 (type 2)")
    if not dataset or "first_atoms" not in dataset:
        raise ValueError(f"{path}: a type-1 forces file (three columns) needs the displacements of its yaml, "
                         "and the yaml lists none")
    u, keep = _type1_sets(dataset, natom, pairs)
    if len(rows) != len(u) * natom:
        raise ValueError(f"{path}: {len(rows)} force rows, but the yaml's {len(u)} displaced supercells of "
                         f"{natom} atoms need {len(u) * natom}: the forces file does not belong to that yaml")
    return u, rows.reshape(-1, natom, 3), keep


def _from_dataset(dataset: dict, natom: int, pairs: bool):
    """(displacements, forces, keep) of a dataset that holds its forces (a yaml or a parsed FORCE_SETS)."""
    if not dataset:
        raise ValueError("the dataset has no forces")
    if dataset.get("displacements") is not None and dataset.get("forces") is not None:     # type 2
        u = np.asarray(dataset["displacements"], float).reshape(-1, natom, 3)
        return u, np.asarray(dataset["forces"], float).reshape(u.shape), np.ones(len(u), bool)
    first = dataset.get("first_atoms") or []
    if not first or any(d.get("forces") is None for d in first):
        raise ValueError("the dataset has no forces")
    u, keep = _type1_sets(dataset, natom, pairs)
    f = [d["forces"] for d in first]
    if pairs:
        for d1 in first:
            for d2 in d1.get("second_atoms", []):
                f.append(d2["forces"] if d2.get("forces") is not None else np.zeros((natom, 3)))
                if d2.get("forces") is None and d2.get("included", True):
                    raise ValueError("a displaced pair of the dataset has no forces")
    return u, np.asarray(f, float).reshape(u.shape), keep


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
        If no structure or forces file is found.
    ValueError
        If the forces file does not match the structure's displacements.
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
    kind = "phono3py" if "phono3py" in name else ("phonopy" if name.endswith((".yaml", ".yml")) or ".yaml" in name
                                                  else "poscar")
    if kind == "phono3py":
        return _phono3py(path, forces, harmonic)
    if harmonic:
        raise ValueError("harmonic=True selects the fc2 dataset of a phono3py yaml; a phonopy dataset is harmonic")
    return _phonopy(path, forces, kind, supercell_matrix)


def _phono3py(path: Path, forces: Path | None, harmonic: bool) -> DisplacementDataset:
    from phono3py.interface.phono3py_yaml import Phono3pyYaml
    from phonopy.interface.calculator import get_calculator_physical_units
    y = Phono3pyYaml()
    y.read(str(path))
    units = get_calculator_physical_units(y.calculator)
    separate = harmonic and y.phonon_supercell is not None
    atoms = y.phonon_supercell if separate else y.supercell
    smat = y.phonon_supercell_matrix if separate else y.supercell_matrix
    if atoms is None:
        raise ValueError(f"{path}: the yaml holds no supercell")
    dataset = y.phonon_dataset if separate else y.dataset
    natom = len(atoms)
    pairs = not separate                                # the fc2 data of one supercell: the third-order file
    forces_path = forces
    if forces is None:
        try:
            u, f, keep = _from_dataset(dataset, natom, pairs)
        except ValueError:
            forces_path = _find(path.parent, ("FORCES_FC2",) if separate else ("FORCES_FC3",))
            if forces_path is None:
                raise FileNotFoundError(f"{path}: its dataset has no forces and there is no "
                                        f"{'FORCES_FC2' if separate else 'FORCES_FC3'} beside it")
    if forces_path is not None:
        u, f, keep = _from_forces_file(forces_path, dataset, natom, pairs)
    if harmonic and not separate:                       # phono3py's fc2 data: the single displacements
        n1 = len(dataset["first_atoms"])
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
        atoms = get_supercell(read_vasp(str(path)), smat)
        units = get_calculator_physical_units("vasp")
        dataset = None
    else:
        from phonopy.interface.phonopy_yaml import PhonopyYaml
        y = PhonopyYaml()
        y.read(str(path))
        if y.supercell is None:
            raise ValueError(f"{path}: the yaml holds no supercell")
        atoms, smat, dataset = y.supercell, y.supercell_matrix, y.dataset
        units = get_calculator_physical_units(y.calculator)
    natom = len(atoms)
    u = None
    if forces is None:
        try:
            u, f, keep = _from_dataset(dataset, natom, False)
            paths = [str(path)]
        except ValueError:
            pass
    if u is None:
        from phonopy.file_IO import parse_FORCE_SETS
        forces = forces if forces is not None else _find(path.parent, ("FORCE_SETS",))
        if forces is None:
            raise FileNotFoundError(f"{path}: no forces in it and no FORCE_SETS beside it")
        try:
            parsed = parse_FORCE_SETS(filename=str(forces), natom=natom)
        except Exception as exc:                        # phonopy raises several types on a damaged file
            raise ValueError(f"{forces}: not a readable FORCE_SETS ({type(exc).__name__}: {exc})") from None
        if not parsed:
            raise ValueError(f"{forces}: not a FORCE_SETS of a supercell of {natom} atoms")
        u, f, keep = _from_dataset(parsed, natom, False)
        paths = [str(path), str(forces)]
    return _dataset(atoms, units, u[keep], f[keep], smat, paths)


def _dataset(atoms, units, u, f, smat, paths) -> DisplacementDataset:
    if len(u) == 0:
        raise ValueError(f"{paths[0]}: the dataset holds no displaced supercell with forces")
    crystal = _crystal(atoms, units.distance_to_A)
    return DisplacementDataset(crystal, np.ascontiguousarray(u * units.distance_to_A),
                               np.ascontiguousarray(f * units.force_to_eVperA),
                               np.asarray(smat if smat is not None else np.eye(3), dtype=np.int64), paths)
