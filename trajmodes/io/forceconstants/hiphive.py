"""hiPhive force-constant potentials (``.fcp``) and force-constant files (``.fcs``), read and written by hiPhive
itself (Eriksson, Fransson and Erhart, Adv. Theory Simul. 2, 1800184 (2019)).

hiPhive is optional (``pip install hiphive``) and imported only here, when such a file is read or written.

``.fcp`` (``hiphive.ForceConstantPotential.write``)
    The fitted model: the primitive cell (cell, positions, atomic numbers; no masses) and the force constants of
    every orbit of clusters. It holds no supercell: hiPhive's ``get_force_constants`` puts the constants onto the
    supercell asked for, which must be large enough that no two clusters of the model fall onto the same supercell
    cluster (hiPhive refuses it otherwise).
``.fcs`` (``hiphive.ForceConstants.write``)
    Force constants on one supercell, which the file holds (as ASE atoms), cluster by cluster: each cluster once
    (sorted atom indices, with the label symmetry Psi[P(ijk)] = P(Psi[ijk])) or every ordered cluster.

trajmodes holds the second and third orders; higher orders of a potential are left out with a warning. Masses are
the elements' standard masses for ``.fcp`` files (the file holds none) and those of the ASE atoms for ``.fcs``.
Units need no conversion (eV, Å).
"""
from __future__ import annotations

import itertools
import os
import tarfile
import warnings
from pathlib import Path

import numpy as np

from trajmodes.errors import DAMAGED, ForceConstantsFormatError
from trajmodes.io.forceconstants.base import FCFormat
from trajmodes.io.forceconstants.text import refuse_nac
from trajmodes.io.forceconstants.phonopy import first_line, supercell_clusters
from trajmodes.io.filesystem import atomic_write
from trajmodes.lattice.crystal import Crystal

__all__ = ["FORMAT", "read_hiphive", "write_hiphive", "HIPHIVE_SUFFIXES", "is_tar"]

HIPHIVE_SUFFIXES = (".fcp", ".fcs")


def _hiphive():
    try:
        import hiphive
    except ImportError:
        raise ImportError("reading and writing hiPhive files needs hiPhive: pip install hiphive", name="hiphive") \
            from None
    return hiphive


def _ase_atoms(c: Crystal):
    from ase import Atoms
    return Atoms(symbols=list(c.species), positions=c.positions, cell=c.cell, pbc=True, masses=c.masses)


def _kind(path: Path) -> str:
    """``"fcp"`` or ``"fcs"``, from the members of the tar archive both are (a ``.fcp`` that is no tar archive may be
    a potential of hiPhive before 1.0, a pickle: hiPhive's reader tries it)."""
    try:
        with tarfile.open(path, "r") as tar:
            names = set(tar.getnames())
    except (tarfile.TarError, OSError) as exc:
        if path.suffix == ".fcp":
            return "fcp"
        raise ForceConstantsFormatError(path, f"not a hiPhive file (hiPhive writes tar archives: {first_line(exc)})",
                                        fix=DAMAGED) from None
    if "_prim" in names and "attributes" in names:
        return "fcp"
    if {"fc_dict", "supercell"} <= names:
        return "fcs"
    raise ForceConstantsFormatError(path, "a tar archive, but neither a hiPhive ForceConstantPotential (.fcp) nor "
                                          "ForceConstants (.fcs) file", fix=DAMAGED)


def read_hiphive(path: str | os.PathLike, supercell=None) -> tuple[dict, str]:
    """Read a hiPhive ``.fcp`` potential onto a supercell, or a ``.fcs`` file with its own supercell: the keywords of
    :class:`~trajmodes.forceconstants.model.ForceConstants` and the file to name if they are inconsistent.

    Parameters
    ----------
    path : path
    supercell : Crystal, int, 3 ints or (3, 3) ints
        For ``.fcp`` (required): the supercell, or the matrix S of ``S @ primitive.cell`` (atoms cell by cell).
        ``.fcs`` files hold theirs.

    Returns
    -------
    dict, str
        fc2 in the full layout (eV/Å²), fc3 compact (eV/Å³) when the file has a third order.

    Raises
    ------
    ImportError
        hiPhive is not installed.
    ValueError
        An ``.fcp`` without a supercell, or one too small for the potential's cutoffs.
    """
    hiphive = _hiphive()
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{os.fspath(p)}: no such file")
    kind = _kind(p)
    if kind == "fcp":
        if supercell is None:
            raise ValueError(f"{p}: a hiPhive force-constant potential holds no supercell: give the supercell to put "
                             "it onto (supercell=N or N1,N2,N3 unit cells, or --supercell)")
        try:
            fcp = hiphive.ForceConstantPotential.read(str(p))
            prim = fcp.primitive_structure
        except Exception as exc:                            # hiPhive's unpickling raises many types
            raise ForceConstantsFormatError(p, f"hiPhive cannot read it ({type(exc).__name__}: {first_line(exc)})",
                                            fix=DAMAGED) from None
        pr = Crystal(np.asarray(prim.cell), prim.positions, prim.get_chemical_symbols())
        sc = supercell if isinstance(supercell, Crystal) else pr.supercell(supercell)
        try:
            fcs = fcp.get_force_constants(_ase_atoms(sc))
        except Exception as exc:                            # hiPhive raises a bare Exception for small cells
            raise ValueError(f"{p}: hiPhive cannot put the potential onto the {sc.n_atoms}-atom supercell "
                             f"({first_line(exc)}): give a larger supercell") from None
        primitive = pr
    else:
        if supercell is not None:
            raise ValueError(f"{p}: a hiPhive ForceConstants file holds its own supercell; give no supercell")
        try:
            fcs = hiphive.ForceConstants.read(str(p))
        except Exception as exc:
            raise ForceConstantsFormatError(p, f"hiPhive cannot read it ({type(exc).__name__}: {first_line(exc)})",
                                            fix=DAMAGED) from None
        at = fcs.supercell
        sc = Crystal(np.asarray(at.cell), at.positions, at.get_chemical_symbols(), at.get_masses())
        primitive = None
    orders = sorted(fcs.orders)
    if 2 not in orders:
        raise ForceConstantsFormatError(p, f"it has no second-order constants (orders {orders}): trajmodes needs "
                                           "them", fix="Write the file with the second order")
    higher = [o for o in orders if o > 3]
    if higher:
        warnings.warn(f"{p} holds orders {orders}; trajmodes holds the second and third orders, so order "
                      f"{', '.join(map(str, higher))} is left out", stacklevel=3)
    if primitive is None:
        primitive = sc.primitive()
    smap = sc.supercell_map(primitive)
    p2s = np.array([np.flatnonzero(smap.atom == k)[0] for k in range(primitive.n_atoms)])
    sort = type(fcs).__name__ == "SortedForceConstants"
    fc2 = _scatter(fcs.get_fc_dict(2), 2, sc.n_atoms, np.arange(sc.n_atoms), sort)
    fc3 = _scatter(fcs.get_fc_dict(3), 3, sc.n_atoms, p2s, sort) if 3 in orders else None
    return dict(fc2=fc2, supercell=sc, primitive=primitive, smap=smap, p2s=p2s, fc3=fc3), str(p)


def _scatter(fc_dict: dict, order: int, N: int, rows: np.ndarray, sort: bool) -> np.ndarray:
    """Rows ``rows`` of the (N,)*order + (3,)*order array of hiPhive's cluster dictionary: clusters listed sorted
    (``sort``) stand for each of their permutations, with the block transposed as hiPhive's own
    ``SortedForceConstants[cluster]`` gives it."""
    keys = list(fc_dict)
    out = np.zeros((len(rows),) + (N,) * (order - 1) + (3 ** order,))
    if not keys:
        return out.reshape(out.shape[:-1] + (3,) * order)
    C = np.array(keys, dtype=np.int64).reshape(len(keys), order)
    V = np.array([fc_dict[c] for c in keys], dtype=float).reshape((len(keys),) + (3,) * order)
    row = np.full(N, -1)
    row[rows] = np.arange(len(rows))
    perms = list(itertools.permutations(range(order))) if sort else [tuple(range(order))]
    for p in perms:
        c = C[:, p]
        mine = row[c[:, 0]] >= 0
        if not mine.any():
            continue
        c, v = c[mine], V[mine]
        # the block of cluster c: as listed, or (sorted clusters) transposed as hiPhive's own __getitem__ does
        inv = (np.argsort(np.argsort(c, axis=1, kind="stable"), axis=1, kind="stable") if sort
               else np.broadcast_to(np.arange(order), c.shape))
        for q in np.unique(inv, axis=0):
            sel = (inv == q).all(axis=1)
            block = v[sel].transpose(0, *(1 + q)).reshape(int(sel.sum()), -1)
            out[(row[c[sel, 0]],) + tuple(c[sel, 1:].T)] = block
    return out.reshape(out.shape[:-1] + (3,) * order)


def write_hiphive(fc, path: str | os.PathLike) -> None:
    """Write ``fc`` as a hiPhive ForceConstants file (``.fcs``, atomic) with hiPhive's own writer: the supercell (ASE
    atoms, masses included) and every ordered cluster with a non-zero block, as given (hiPhive's
    ``RawForceConstants``: ``ForceConstants.from_dense_dict`` would keep one cluster per permutation set whenever the
    blocks agree to ``numpy.allclose``'s tolerance, dropping differences up to 1e-5 relative). Read it with
    ``hiphive.ForceConstants.read``.

    Raises
    ------
    ValueError
        For Born charges (hiPhive's files hold none).
    """
    _hiphive()
    from hiphive.force_constants import RawForceConstants
    refuse_nac(fc, "hiPhive", "hiPhive's force-constant files hold no long-range electrostatics")
    fc_dict = {}
    for order in (2,) if fc.fc3_sparse is None else (2, 3):
        clusters, blocks = supercell_clusters(fc, order)
        fc_dict.update(zip(map(tuple, clusters.tolist()), blocks.reshape((-1,) + (3,) * order)))
    fcs = RawForceConstants(fc_dict, _ase_atoms(fc.supercell))
    atomic_write(path, lambda tmp: fcs.write(str(tmp)))


def is_tar(head: bytes) -> bool:
    """Whether the first bytes ``head`` are those of a POSIX tar archive (``ustar`` at byte 257), as hiPhive writes
    both its ``.fcp`` and ``.fcs`` files."""
    return head[257:262] == b"ustar"


#: the format, as :mod:`trajmodes.io.forceconstants.registry` lists it: by the suffix, or a tar archive of another name
FORMAT = FCFormat("hiphive", "hiPhive", read_hiphive, write_hiphive, suffixes=HIPHIVE_SUFFIXES, head_test=is_tar,
                  written_suffix=".fcs")
