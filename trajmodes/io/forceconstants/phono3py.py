"""phono3py's force-constant files (``phono3py_params.yaml`` with ``fc2.hdf5`` and ``fc3.hdf5``, an fc2 of its own
supercell with ``--dim-fc2``), read into the keywords of :class:`~trajmodes.forceconstants.model.ForceConstants` and
written from them; phono3py parses and writes its own files (imported only here).

What reading checks, and what it cannot: the yaml gives the supercell (N atoms) and the primitive cell (n atoms,
their supercell indices ``p2s_map``); ``fc2.hdf5`` and ``fc3.hdf5`` must hold arrays of its shapes (compact (n, N, ...)
or full (N, N, ...)), with the yaml's ``p2s_map`` where the file stores one (phono3py writes it), and finite values.
Constants of another supercell or primitive cell, or rows of other primitive atoms, are refused, naming the file.
The files hold no structure of their own, so the third order of another crystal whose array has the shape of this
one's (rock-salt NaCl's beside a zincblende yaml) is refused by the symmetry of the yaml's crystal, which must leave the
constants unchanged (:meth:`~trajmodes.forceconstants.model.ForceConstants.fc3_symmetry_violation`, naming the fc3
file). Constants of another crystal of the same structure and atom order (Si's fc3 beside Ge's yaml, or those of
another temperature or functional) cannot be told apart: any symmetric array of those shapes is a valid set of
constants."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from trajmodes.errors import DAMAGED, ForceConstantsFormatError
from trajmodes.io.forceconstants.base import FCFormat
from trajmodes.io.forceconstants.phonopy import (crystal_from_phonopy, first_line, need_package, phonopy_atoms,
                                  phonopy_columns)
from trajmodes.io.filesystem import atomic_write

__all__ = ["FORMAT", "read_phono3py", "write_phono3py", "PHONO3PY_FC_YAMLS"]

#: the yamls that hold the structure of phono3py's force constants, looked for in this order
PHONO3PY_FC_YAMLS = ("phono3py_params.yaml", "phono3py.yaml", "phono3py_disp.yaml")


def read_phono3py(path: str | os.PathLike, fc2_filename: str | os.PathLike | None = None,
                  fc3_filename: str | os.PathLike | None = None) -> tuple[dict, str]:
    """Read phono3py's fc2 (and fc3 when there is one) with the structure of its yaml: the keywords of
    :class:`~trajmodes.forceconstants.model.ForceConstants` and the files to name if they are inconsistent.

    Parameters
    ----------
    path : str or path
        A folder holding ``phono3py_params.yaml`` / ``phono3py.yaml`` / ``phono3py_disp.yaml``
        and ``fc2.hdf5`` (and ``fc3.hdf5``), or the yaml itself.
    fc2_filename, fc3_filename : path, optional
        The hdf5 files; default ``fc2.hdf5`` / ``fc3.hdf5`` beside the yaml.

    A yaml with its own phonon (fc2) supercell (``--dim-fc2``) gives the fc3 supercell's keywords with ``fc2=None``
    and the fc2 constants under ``phonon`` (the keywords of their own :class:`ForceConstants`), which
    ``ForceConstants.read(path, "phono3py")`` folds onto the fc3 supercell and keeps as ``phonon_fc2``. The constants
    come in phono3py's supercell order; Born charges are read from the yaml.
    """
    phono3py = need_package("phono3py")
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    yaml = p if p.is_file() else next((folder / y for y in PHONO3PY_FC_YAMLS if (folder / y).exists()), None)
    if yaml is None:
        raise FileNotFoundError(f"no phono3py yaml in {folder}: phono3py's force constants are read with the structure "
                                f"of {', '.join(PHONO3PY_FC_YAMLS)} (looked for in this order); give the yaml itself "
                                "or the folder that holds it")
    f2 = Path(fc2_filename) if fc2_filename is not None else folder / "fc2.hdf5"
    f3 = Path(fc3_filename) if fc3_filename is not None else folder / "fc3.hdf5"
    if not f2.exists():
        raise FileNotFoundError(f"{f2}: no such file: phono3py's second-order constants are read from fc2.hdf5 beside "
                                f"the yaml ({yaml}) unless fc2_filename= names another file")
    if fc3_filename is not None and not f3.exists():
        raise FileNotFoundError(f"{f3}: no such file (fc3_filename=)")
    try:
        ph3 = _phono3py_from_files(phono3py, yaml, f2, f3 if f3.exists() else None)
    except ForceConstantsFormatError:
        raise
    except Exception as exc:      # phono3py, h5py and yaml raise many types
        raise ForceConstantsFormatError(f"{yaml}, {f2}" + (f", {f3}" if f3.exists() else ""),
                                        f"phono3py cannot read them ({type(exc).__name__}: {first_line(exc)})",
                                        fix=DAMAGED) from None
    _check_finite(f2, np.asarray(ph3.fc2))
    if ph3.fc3 is not None:
        _check_finite(f3, np.asarray(ph3.fc3))
    kw = {}
    if ph3.nac_params is not None:
        nac = ph3.nac_params
        kw = dict(born=nac["born"], epsilon=nac["dielectric"], nac_factor=nac.get("factor"), nac_source=str(yaml))
    fc3 = None if ph3.fc3 is None else np.asarray(ph3.fc3)
    where = f"{f2}" + (f", {f3}" if f3.exists() else "")
    own = dict(supercell=crystal_from_phonopy(ph3.supercell), primitive=crystal_from_phonopy(ph3.primitive),
               p2s=np.asarray(ph3.primitive.p2s_map), fc3=fc3, **kw)
    if fc3 is not None:
        # the file holds no structure of its own: the constants are checked against the symmetry of the yaml's
        # crystal once they are on its supercell (ForceConstants._refuse_foreign_fc3), and refused naming this file
        own["fc3_source"] = str(f3)
    if ph3.phonon_supercell_matrix is not None and not np.array_equal(ph3.phonon_supercell_matrix,
                                                                       ph3.supercell_matrix):
        phonon = dict(fc2=np.asarray(ph3.fc2), supercell=crystal_from_phonopy(ph3.phonon_supercell),
                      primitive=crystal_from_phonopy(ph3.phonon_primitive),
                      p2s=np.asarray(ph3.phonon_primitive.p2s_map), **kw)
        return dict(fc2=None, phonon=phonon, **own), where
    return dict(fc2=np.asarray(ph3.fc2), **own), where


def _phono3py_from_files(phono3py, yaml: Path, f2: Path, f3: Path | None):
    """A ``Phono3py`` object with the structure and NAC parameters of ``yaml`` and the constants of exactly the
    files named. ``phono3py.load`` also takes ``fc3.hdf5``, ``FORCES_FC3``, ``FORCES_FC2`` and ``BORN`` from the
    current directory when they are not named, which would attach another crystal's files: nothing is read here
    but the three paths given."""
    from phono3py.file_IO import read_fc2_from_hdf5, read_fc3_from_hdf5
    from phono3py.interface.phono3py_yaml import Phono3pyYaml
    from phonopy.interface.calculator import get_calculator_physical_units
    y = Phono3pyYaml()
    y.read(str(yaml))
    if y.unitcell is None:
        raise ValueError("the yaml holds no unit cell")
    units = get_calculator_physical_units(y.calculator)
    cell = y.unitcell.copy()
    cell.cell = cell.cell * units.distance_to_A
    smat = np.eye(3, dtype="int64") if y.supercell_matrix is None else y.supercell_matrix
    ph3 = phono3py.Phono3py(cell, smat, primitive_matrix="auto" if y.primitive_matrix is None else y.primitive_matrix,
                            phonon_supercell_matrix=y.phonon_supercell_matrix, calculator=y.calculator,
                            log_level=0)
    if y.nac_params is not None:
        nac = dict(y.nac_params)
        nac.setdefault("factor", units.nac_factor)
        ph3.nac_params = nac
    _check_constants_file(f2, ("force_constants", "fc2"), 2, len(ph3.phonon_supercell), ph3.phonon_primitive.p2s_map, yaml)
    if f3 is not None:
        _check_constants_file(f3, ("fc3",), 3, len(ph3.supercell), ph3.primitive.p2s_map, yaml)
    ph3.fc2 = read_fc2_from_hdf5(filename=str(f2), p2s_map=ph3.phonon_primitive.p2s_map)
    if f3 is not None:
        fc3 = read_fc3_from_hdf5(filename=str(f3), p2s_map=ph3.primitive.p2s_map)
        ph3.fc3 = fc3["fc3"] if isinstance(fc3, dict) else fc3
    return ph3


_OTHER = ("Give the constants computed with this yaml, or the yaml they were computed with: these are of another "
          "supercell or crystal")


def _check_constants_file(path: Path, keys: tuple, order: int, N: int, p2s, yaml: Path) -> None:
    """phono3py's ``fc2.hdf5`` (``force_constants``, or ``fc2`` as phono3py and hiPhive also write it) or ``fc3.hdf5``
    (``fc3``) against the supercell of ``yaml``: the array's shape (compact (n, N, ...) or full (N, N, ...)) and its
    ``p2s_map`` where the file holds one (compact layout: in the full one every row is there, whatever primitive cell
    wrote it). Constants of another crystal with the same supercell size and primitive atoms pass here: the fc3 is then
    checked against the yaml crystal's symmetry (module notes)."""
    import h5py
    n = len(p2s)
    want = [(n,) + (N,) * (order - 1) + (3,) * order, (N,) * order + (3,) * order]
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ForceConstantsFormatError(path, f"not an HDF5 file h5py can open ({first_line(exc)})",
                                        fix=DAMAGED) from None
    with f:
        key = next((k for k in keys if k in f), None)
        if key is None:
            held = ", ".join(sorted(f)) or "nothing"
            raise ForceConstantsFormatError(path, f"no {' or '.join(repr(k) for k in keys)} dataset (it holds: {held}):"
                                                  f" not phono3py's {'fc2' if order == 2 else 'fc3'}.hdf5", fix=DAMAGED)
        shape = tuple(f[key].shape)
        if shape not in want:
            raise ForceConstantsFormatError(path, f"constants of shape {shape}, but the supercell of {yaml.name} has "
                                                  f"{N} atoms and its primitive cell {n}: expected {want[0]} (compact) "
                                                  f"or {want[1]} (full)", fix=_OTHER)
        if "p2s_map" in f and shape[0] == n:
            theirs = np.asarray(f["p2s_map"][:]).ravel()
            if not np.array_equal(theirs, np.asarray(p2s).ravel()):
                raise ForceConstantsFormatError(path, f"its p2s_map {theirs.tolist()} (the supercell atoms of the "
                                                      f"primitive ones) is not {np.asarray(p2s).tolist()}, that of "
                                                      f"the supercell of {yaml.name}: the rows are of another "
                                                      "supercell or crystal", fix=_OTHER)


def _check_finite(path: Path, x: np.ndarray) -> None:
    bad = np.argwhere(~np.isfinite(x))
    if len(bad):
        raise ForceConstantsFormatError(path, f"the constants hold NaN or infinite values (the first at index "
                                              f"{bad[0].tolist()})", fix=DAMAGED)


def write_phono3py(fc, folder: str | os.PathLike, compression: str | None = "gzip") -> None:
    """Write ``phono3py_params.yaml``, ``fc2.hdf5`` and (when ``fc3`` is set) ``fc3.hdf5`` into
    ``folder``, in phono3py's compact layouts and its own supercell atom order.

    The yaml holds the unit cell (our primitive cell), the supercell matrix (``smap.matrix``;
    the same one for fc2 and fc3) and the identity primitive matrix, so that::

        ph3 = phono3py.load(folder / "phono3py_params.yaml", fc2_filename=folder / "fc2.hdf5",
                            fc3_filename=folder / "fc3.hdf5", symmetrize_fc=False)

    rebuilds the same supercell and takes the constants as they are (phono3py looks for
    ``fc2.hdf5`` / ``fc3.hdf5`` in the current directory unless told the file names). Born
    charges and the dielectric tensor go into the yaml. fc2 in eV/Å², fc3 in eV/Å³; the files
    carry ``p2s_map``. Written with phono3py's own writers (needs ``phono3py``).
    """
    phono3py = need_package("phono3py")
    from phono3py.file_IO import write_fc2_to_hdf5, write_fc3_to_hdf5
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    phonon = getattr(fc, "phonon_fc2", None)
    ph3 = phono3py.Phono3py(phonopy_atoms(fc.primitive), supercell_matrix=fc.smap.matrix.T,
                            primitive_matrix=np.eye(3), log_level=0,
                            phonon_supercell_matrix=None if phonon is None else phonon.smap.matrix.T)
    cols, p2s = phonopy_columns(fc, ph3.supercell, ph3.primitive)
    k = np.arange(fc.n_prim)[:, None]
    if phonon is None:
        fc2, p2s2 = np.ascontiguousarray(fc.compact()[k, cols]), p2s
    else:                                     # --dim-fc2: fc2 of the phonon supercell, in phono3py's order of it
        cols2, p2s2 = phonopy_columns(phonon, ph3.phonon_supercell, ph3.phonon_primitive)
        fc2 = np.ascontiguousarray(phonon.compact()[k, cols2])
    if fc.born is not None:
        from trajmodes.units import NAC_FACTOR
        factor = NAC_FACTOR if fc.nac_factor is None else fc.nac_factor
        ph3.nac_params = {"born": fc.born, "dielectric": fc.epsilon, "factor": factor}
    atomic_write(folder / "phono3py_params.yaml", lambda tmp: ph3.save(tmp))
    atomic_write(folder / "fc2.hdf5", lambda tmp: write_fc2_to_hdf5(
        fc2, filename=tmp, p2s_map=p2s2, physical_unit="eV/angstrom^2", compression=compression))
    if fc.fc3_sparse is not None:
        fc3 = np.ascontiguousarray(fc.fc3[k[:, :, None], cols[:, :, None], cols[:, None, :]])
        atomic_write(folder / "fc3.hdf5", lambda tmp: write_fc3_to_hdf5(
            fc3, filename=tmp, p2s_map=p2s, compression=compression))


#: the format, as :mod:`trajmodes.io.forceconstants.registry` lists it (a phono3py folder may hold a phonopy yaml too)
FORMAT = FCFormat("phono3py", "phono3py", read_phono3py, write_phono3py, marks=PHONO3PY_FC_YAMLS + ("fc3.hdf5",),
                  companions=("fc2.hdf5", "BORN"), contains=("phonopy",))
