"""Force-constant files: phonopy (phonopy_params.yaml, FORCE_CONSTANTS, fc2.hdf5, BORN), and what the files of phonopy,
phono3py (:mod:`trajmodes.io.forceconstants.phono3py`) and trajmodes' own netCDF
(:mod:`trajmodes.io.forceconstants.netcdf`) share. Readers return the keywords of
:class:`~trajmodes.forceconstants.model.ForceConstants` (arrays and :class:`~trajmodes.lattice.crystal.Crystal`
objects) and the file to name if the arrays turn out inconsistent; writers take a ``ForceConstants``. phonopy and
phono3py parse their own formats and are imported only here. Which format a path holds:
:mod:`trajmodes.forceconstants.formats`."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from trajmodes.errors import DAMAGED, ForceConstantsFormatError
from trajmodes.io.forceconstants.base import FCFormat
from trajmodes.io.filesystem import atomic_write
from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.spglib_calls import SYMPREC

__all__ = ["FORMAT", "read_phonopy", "write_phonopy", "phonopy_columns",
           "crystal_from_phonopy", "phonopy_atoms", "supercell_clusters", "need_package", "first_line"]

def need_package(package: str):
    """Import phonopy or phono3py (core dependencies), with the command that installs it if it is missing."""
    import importlib
    try:
        return importlib.import_module(package)
    except ImportError:
        raise ImportError(f"reading and writing {package} files needs {package}: pip install {package}",
                          name=package) from None


PHONOPY_YAMLS = ("phonopy_params.yaml", "phonopy.yaml", "phonopy_disp.yaml")
FC_FILES = ("FORCE_CONSTANTS", "fc2.hdf5", "force_constants.hdf5")


def read_phonopy(path: str | os.PathLike, born: str | os.PathLike | bool | None = None,
                 symprec: float = SYMPREC) -> tuple[dict, str]:
    """Read phonopy force constants with their structure, and the Born charges if there are any: the keywords
    of :class:`~trajmodes.forceconstants.model.ForceConstants` and the file to name if they are inconsistent.

    Parameters
    ----------
    path : str or path
        A folder holding ``phonopy_params.yaml`` / ``phonopy.yaml`` / ``phonopy_disp.yaml`` and
        (unless the yaml holds them) ``FORCE_CONSTANTS`` or ``fc2.hdf5``; or one of those files.
    born : path, bool or None
        Non-analytic correction parameters (Born charges, dielectric tensor, factor). A path: that
        BORN file. None (default): the yaml's ``nac`` section if it has one, else a ``BORN``
        file in the folder if there is one, else none. False: none.
    symprec : float
        Tolerance (Å) with which phonopy finds the symmetry-independent atoms of a BORN
        file (it lists only those; phonopy expands and symmetrises them).

    Notes
    -----
    Parsing is done by phonopy (the yaml's data interpreted by its ``load_phonopy_yaml``, the file loaded once by
    :func:`trajmodes.io.forceconstants.phonopy_yaml.load_yaml_with_vector_blocks`: PyYAML's C loader where PyYAML has
    one, the long blocks of vectors by numpy; ``phonopy.file_IO`` for FORCE_CONSTANTS, fc2.hdf5 and BORN), imported here
    only. The yaml is parsed once: the crystal, the constants or the displacement-force dataset and the ``nac``
    section all come from that one parse. phonopy's symmetry search is made only where phonopy computes
    the constants from the dataset. The current directory is never searched (phonopy's own ``load`` would look
    for FORCE_CONSTANTS, FORCE_SETS and BORN there).
    """
    phonopy = need_package("phonopy")
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    yaml = p if p.is_file() and p.suffix in (".yaml", ".yml") else next(
        (folder / y for y in PHONOPY_YAMLS if (folder / y).exists()), None)
    if yaml is None:
        raise FileNotFoundError(f"no phonopy yaml ({', '.join(PHONOPY_YAMLS)}) in {folder}")
    fcfile = p if p.is_file() and (p.name in FC_FILES or p.suffix == ".hdf5") else next(
        (folder / f for f in FC_FILES if (folder / f).exists()), None)
    parsed = _parse_phonopy_yaml(yaml)
    ph = _phonopy_of(phonopy, parsed, yaml, fcfile)
    sc = crystal_from_phonopy(ph.supercell)
    pr = crystal_from_phonopy(ph.primitive)
    nac = None
    if born is not False:
        bfile = Path(born) if born not in (None, True) else None
        if bfile is None:
            nac = parsed.nac_params
            if nac is None and (folder / "BORN").exists():
                bfile = folder / "BORN"
            elif nac is None and born is True:
                raise FileNotFoundError(f"no nac parameters in {yaml} and no BORN in {folder}")
        if bfile is not None:
            nac = _parse_born(bfile, ph.primitive, symprec)
    kw = {}
    if nac is not None:
        from trajmodes.units import NAC_FACTOR
        factor = nac.get("factor")
        if factor is not None and abs(factor - NAC_FACTOR) < 5e-7:      # the default, as phonopy writes it
            factor = None
        kw = dict(born=nac["born"], epsilon=nac["dielectric"], nac_factor=factor, nac_source=str(bfile or yaml))
    return (dict(fc2=np.asarray(ph.force_constants), supercell=sc, primitive=pr, p2s=np.asarray(ph.primitive.p2s_map),
                 **kw), str(fcfile or yaml))


def _parse_born(path: Path, primitive, symprec: float) -> dict:
    """phonopy's reading of a BORN file for ``primitive`` (a PhonopyAtoms), every failure named by the file with the
    layout phonopy expects: line 1 the factor (or a comment), line 2 the nine components of the dielectric tensor,
    then one line of nine per symmetry-independent atom of the primitive cell."""
    from phonopy.file_IO import parse_BORN
    try:
        return parse_BORN(primitive, symprec=symprec, filename=str(path))
    except OSError:
        raise
    except Exception as exc:          # phonopy's BORNFileParseError, float() and numpy's ValueErrors
        from phonopy.structure.symmetry import Symmetry
        try:
            atoms = [int(i) for i in Symmetry(primitive, symprec=symprec).get_independent_atoms()]
            symbols = list(primitive.symbols)
            which = (f"{len(atoms)} line{'s' * (len(atoms) != 1)} of Born charges, one per symmetry-independent "
                     f"atom of the primitive cell: " + ", ".join(f"{i + 1} ({symbols[i]})" for i in atoms))
        except Exception:             # spglib cannot classify the cell: phonopy's own message says enough
            which = "one line of Born charges per symmetry-independent atom of the primitive cell"
        raise ForceConstantsFormatError(path, f"phonopy cannot read it ({first_line(exc)})",
                                        fix=f"A BORN file holds line 1 the factor e^2 / (4 pi eps0) (or a comment), "
                                            f"line 2 the nine components of the dielectric tensor, then {which}, "
                                            "nine numbers each (phonopy's format)") from None


def write_phonopy(fc, folder: str | os.PathLike, fc_format: str = "text") -> None:
    """Write ``phonopy_params.yaml`` and ``FORCE_CONSTANTS`` (or ``fc2.hdf5``) into ``folder``;
    with Born charges also ``BORN``.

    The unit cell is the primitive cell and the supercell matrix is ``smap.matrix``, so phonopy
    rebuilds the same supercell (atoms in its own order; the constants are reordered to match).
    Born charges, the dielectric tensor and the factor (``nac_factor`` or the default) go into
    the yaml's ``nac`` section as they are, every atom listed; that is what ``phonopy.load``
    and :func:`read_phonopy` read first. ``BORN`` is for phonopy's command line: its format lists
    only the symmetry-independent atoms, so phonopy's writer symmetrises the tensors first.

    Parameters
    ----------
    fc_format : {"text", "hdf5"}
    """
    phonopy = need_package("phonopy")
    from phonopy.file_IO import write_force_constants_to_hdf5, write_FORCE_CONSTANTS
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ph = phonopy.Phonopy(phonopy_atoms(fc.primitive), supercell_matrix=fc.smap.matrix.T,
                         primitive_matrix=np.eye(3))          # phonopy >= 4 reads None as "auto", another basis
    cols, p2s_ph = phonopy_columns(fc, ph.supercell, ph.primitive)
    fc2 = fc.compact()[np.arange(fc.n_prim)[:, None], cols]           # phonopy's compact layout
    ph.force_constants = fc2
    if fc.born is not None:
        from phonopy.file_IO import get_BORN_lines
        from trajmodes.units import NAC_FACTOR
        factor = NAC_FACTOR if fc.nac_factor is None else fc.nac_factor
        ph.nac_params = {"born": fc.born, "dielectric": fc.epsilon, "factor": factor}
        lines = get_BORN_lines(ph.primitive, fc.born, fc.epsilon)
        lines[0] = f"{factor!r}  {lines[0]}" if fc.nac_factor is not None else lines[0]

        def write_born(tmp):
            with open(tmp, "w") as f:
                f.write("\n".join(lines) + "\n")
        atomic_write(folder / "BORN", write_born)
    atomic_write(folder / "phonopy_params.yaml", lambda tmp: ph.save(tmp, settings={"force_constants": False}))
    if fc_format == "hdf5":
        atomic_write(folder / "fc2.hdf5",
                     lambda tmp: write_force_constants_to_hdf5(fc2, filename=tmp, p2s_map=p2s_ph))
    else:
        atomic_write(folder / "FORCE_CONSTANTS",
                     lambda tmp: write_FORCE_CONSTANTS(fc2, filename=tmp, p2s_map=p2s_ph))


def phonopy_columns(fc, supercell, primitive) -> tuple[np.ndarray, np.ndarray]:
    """Compact columns ``cols`` (n_prim, N) taking the compact layout of ``fc`` to phonopy's for the
    supercell phonopy built (atoms in its own order), and phonopy's ``p2s_map``.

    phonopy's compact[k, j'] = ours[k, cols[k, j']]; its primitive atoms are ours, in order
    (unit cell = our primitive cell, primitive matrix the identity)."""
    pr = fc.primitive
    psc = crystal_from_phonopy(supercell)
    pmap = psc.supercell_map(pr)
    ours = fc.smap.index(pmap.atom, pmap.lattice + np.rint(
        (fc.smap.shift - pmap.shift) @ np.linalg.inv(pr.cell)).astype(np.int64))
    p2s_ph = np.asarray(primitive.p2s_map)
    if not np.array_equal(fc.smap.atom[ours[p2s_ph]], np.arange(fc.n_prim)):
        raise RuntimeError("phonopy's primitive atoms are not ours, in order")
    return fc.compact_columns(ours[p2s_ph][:, None], ours[None, :]), p2s_ph


def first_line(exc: BaseException) -> str:
    return " ".join(str(exc).split("\n")[0].split()) or type(exc).__name__


def _fc_text_lines(path: Path) -> None:
    """Check that a phonopy FORCE_CONSTANTS text file holds the blocks its first line promises."""
    with open(path, "rb") as f:
        head = f.readline().split()
        n_lines = 1 + sum(1 for line in f if line.strip())
    try:
        rows, cols = (int(x) for x in head[:2]) if len(head) >= 2 else (int(head[0]), int(head[0]))
    except (ValueError, IndexError):
        raise ForceConstantsFormatError(path, "the first line must give the number of atoms (rows, columns)",
                                        line=1, fix=DAMAGED) from None
    want = 1 + 4 * rows * cols
    if n_lines != want:
        raise ForceConstantsFormatError(path, f"it has {n_lines} non-empty lines but its first line ({rows} x "
                                              f"{cols} atom pairs) promises {want}: it is cut short or damaged",
                                        fix=DAMAGED)


def _parse_phonopy_yaml(yaml: Path):
    """The one parse of a phonopy yaml (:func:`trajmodes.io.forceconstants.phonopy_yaml.parse_phonopy_yaml`), every
    failure named by the file."""
    import yaml as pyyaml
    from trajmodes.io.forceconstants.phonopy_yaml import parse_phonopy_yaml
    try:
        parsed = parse_phonopy_yaml(yaml)
    except (pyyaml.YAMLError, KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ForceConstantsFormatError(yaml, f"not a readable phonopy yaml ({type(exc).__name__}: "
                                              f"{first_line(exc)})", fix=DAMAGED) from None
    if parsed.unitcell is None:
        raise ForceConstantsFormatError(yaml, "no unit cell in it: not a phonopy yaml", fix=DAMAGED)
    return parsed


def _phonopy_of(phonopy, parsed, yaml: Path, fcfile: Path | None):
    """The ``Phonopy`` of a parsed yaml with its force constants, what ``phonopy.load`` builds from the same yaml
    (compact constants; not symmetrised; no NAC), every failure named by file: the yaml, then the force constants.

    The constants come, as in ``phonopy.load``, from the yaml, else from ``fcfile``, else from the yaml's
    displacement-force dataset (phonopy's finite differences, or symfc for a dataset of random displacements).
    Nothing is taken from the current directory."""
    produce = parsed.force_constants is None and fcfile is None
    if produce and not _has_forces(parsed.dataset):
        raise ForceConstantsFormatError(yaml, "no force constants in it, and no FORCE_CONSTANTS or fc2.hdf5 beside "
                                              "it", fix="Put the force-constants file beside the yaml")
    if fcfile is not None and fcfile.name == "FORCE_CONSTANTS":
        _fc_text_lines(fcfile)
    smat = parsed.supercell_matrix if parsed.supercell_matrix is not None else np.eye(3, dtype=np.int64)
    pmat = parsed.primitive_matrix if parsed.primitive_matrix is not None else "auto"
    extra = {}
    if getattr(parsed, "site_mixture_scheme", None) is not None:          # phonopy >= 4
        extra["site_mixture_scheme"] = parsed.site_mixture_scheme
    try:
        # the symmetry search costs as much as a fifth of phonopy.load; it serves only the finite differences
        ph = phonopy.Phonopy(parsed.unitcell, smat, primitive_matrix=pmat, is_symmetry=produce,
                             calculator=parsed.calculator, log_level=0, **extra)
    except Exception as exc:          # phonopy and spglib raise many types
        raise ForceConstantsFormatError(yaml, f"phonopy cannot build its cells ({type(exc).__name__}: "
                                              f"{first_line(exc)})", fix=DAMAGED) from None
    try:
        if parsed.force_constants is not None:
            fc = np.asarray(parsed.force_constants)
        elif fcfile is not None:
            fc = _read_fc_file(fcfile, ph)
        else:
            ph.dataset = parsed.dataset
            random = "first_atoms" not in parsed.dataset         # type 2: every atom displaced in every supercell
            ph.produce_force_constants(fc_calculator="symfc" if random else None)
            fc = ph.force_constants
    except Exception as exc:          # phonopy, numpy and h5py raise many types
        raise ForceConstantsFormatError(fcfile or yaml, f"phonopy cannot read it ({type(exc).__name__}: "
                                                        f"{first_line(exc)})", fix=DAMAGED) from None
    if fc is None:
        raise ForceConstantsFormatError(yaml, "no force constants in it, and no FORCE_CONSTANTS or fc2.hdf5 beside "
                                              "it", fix="Put the force-constants file beside the yaml")
    p2s = np.asarray(ph.primitive.p2s_map)
    if fc.ndim == 4 and fc.shape[0] == fc.shape[1] == len(ph.supercell) != len(p2s):
        fc = fc[p2s]                                        # full -> compact, as phonopy.load makes it
    ph.force_constants = fc
    return ph


def _read_fc_file(fcfile: Path, ph) -> np.ndarray:
    """phonopy's FORCE_CONSTANTS or fc2.hdf5 beside the yaml, in the units ``phonopy.load`` gives them."""
    from phonopy.file_IO import parse_FORCE_CONSTANTS, read_force_constants_hdf5
    p2s = ph.primitive.p2s_map
    if fcfile.suffix != ".hdf5":
        return parse_FORCE_CONSTANTS(filename=str(fcfile), p2s_map=p2s)
    fc, unit = read_force_constants_hdf5(filename=str(fcfile), p2s_map=p2s, return_physical_unit=True)
    if unit is None:
        return fc
    from phonopy.interface.calculator import get_force_constant_conversion_factor
    return fc * get_force_constant_conversion_factor(unit, ph.calculator)


def _has_forces(dataset) -> bool:
    """A phonopy displacement dataset with forces (type 1: per displacement; type 2: arrays)."""
    if not dataset:
        return False
    if "forces" in dataset:
        return dataset["forces"] is not None
    return any(d.get("forces") is not None for d in dataset.get("first_atoms", []))


def crystal_from_phonopy(atoms) -> Crystal:
    """Crystal from a PhonopyAtoms."""
    return Crystal(np.asarray(atoms.cell), np.asarray(atoms.scaled_positions) @ np.asarray(atoms.cell),
                   list(atoms.symbols), np.asarray(atoms.masses))


def phonopy_atoms(c: Crystal):
    from phonopy.structure.atoms import PhonopyAtoms
    return PhonopyAtoms(symbols=list(c.species), cell=c.cell, scaled_positions=c.scaled_positions,
                        masses=c.masses)


def supercell_clusters(fc, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair (``order`` 2) or triplet (3) of supercell atoms with a non-zero block, and the blocks: the
    layout of the formats that list the constants of one supercell atom by atom (GPUMD, hiPhive).

    Returns
    -------
    clusters : ndarray of int (n, order)
        In C order of the atom indices.
    blocks : ndarray (n, 3 ** order)
        eV/Å² or eV/Å³; third-order rows built from the triplets of the constants (``fc3_sparse``, never the dense
        array) by lattice translation, one atom at a time.
    """
    N = fc.n_atoms
    if order == 2:
        full = fc.full().reshape(N, N, 9)
        i, j = np.nonzero(np.abs(full).max(axis=2) > 0)
        return np.stack([i, j], axis=1), full[i, j]
    atoms = np.arange(N)
    rows = [fc.fc3_sparse.row(a) for a in range(fc.n_prim)]            # compact columns and blocks, nonzero
    clusters, blocks = [], []
    back = np.empty(N, dtype=np.int64)
    for i in range(N):
        back[fc.compact_columns(i, atoms)] = atoms                     # supercell atom of each compact column
        c1, c2, psi = rows[fc.smap.atom[i]]
        j, k = back[c1], back[c2]
        order = np.lexsort((k, j))                                      # C order of (j, k)
        clusters.append(np.stack([np.full(len(j), i), j[order], k[order]], axis=1))
        blocks.append(psi[order].reshape(len(j), 27))
    return np.concatenate(clusters), np.concatenate(blocks)


#: the format, as :mod:`trajmodes.io.forceconstants.registry` lists it (``fc2.hdf5`` says phonopy only when given as
#: the file: a phono3py folder holds one too)
FORMAT = FCFormat("phonopy", "phonopy", read_phonopy, write_phonopy, marks=PHONOPY_YAMLS + ("FORCE_CONSTANTS",),
                  file_names=("fc2.hdf5", "force_constants.hdf5"), companions=("BORN",))
