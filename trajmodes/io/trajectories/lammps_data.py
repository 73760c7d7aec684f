"""Reader of LAMMPS data files (``write_data`` output), used as reference structures."""
from __future__ import annotations

import gzip
import re

import numpy as np

from trajmodes.lattice.elements import element_from_mass
from trajmodes.errors import TrajectoryFormatError
from trajmodes.lattice.structure import Structure
from trajmodes.units import conversion
from trajmodes.io.filesystem import is_gzip

_SECTIONS = ("Atoms", "Velocities", "Masses", "Bonds", "Angles", "Dihedrals", "Impropers",
             "Pair Coeffs", "PairIJ Coeffs", "Bond Coeffs", "Angle Coeffs", "Dihedral Coeffs",
             "Improper Coeffs", "Ellipsoids", "Lines", "Triangles", "Bodies")
# column of x in the Atoms section, by atom style
_X_COLUMN = {"atomic": 2, "charge": 3, "full": 4, "molecular": 3, "bond": 3, "angle": 3, "sphere": 4}


def read_data(path: str, *, units: str = "metal", lj_scales: dict | None = None,
              species=None) -> Structure:
    """Read a LAMMPS data file as a :class:`Structure`.

    Parameters
    ----------
    path : str
        Data file (plain or gzip).  Atom styles atomic, charge, full, molecular, bond,
        angle, sphere (from the ``Atoms # style`` comment; atomic if absent).
    units : str
        LAMMPS unit style of the file; converted to metal.
    species : dict or sequence, optional
        Element of each type; by default taken from the comment after each mass in the
        ``Masses`` section (``1 63.546 # Cu``), else from the mass itself.

    Returns
    -------
    Structure
        Atoms sorted by id, positions unwrapped with image flags when present.
    """
    opener = gzip.open if is_gzip(path) else open
    with opener(path, "rt") as f:
        lines = f.read().split("\n")
    conv = conversion(units, lj_scales)
    head: dict = {}
    i = 1
    while i < len(lines):
        body = lines[i].split("#")[0].strip()
        name = body
        if name in _SECTIONS:
            break
        m = re.match(r"^(\S+)\s+atoms$", body)
        if m:
            head["natoms"] = int(m.group(1))
        for ax in "xyz":
            m = re.match(rf"^(\S+)\s+(\S+)\s+{ax}lo\s+{ax}hi$", body)
            if m:
                head[ax] = (float(m.group(1)), float(m.group(2)))
        m = re.match(r"^(\S+)\s+(\S+)\s+(\S+)\s+xy\s+xz\s+yz$", body)
        if m:
            head["tilt"] = tuple(float(g) for g in m.groups())
        for v in ("avec", "bvec", "cvec"):
            m = re.match(rf"^(\S+)\s+(\S+)\s+(\S+)\s+{v}$", body)
            if m:
                head[v] = [float(g) for g in m.groups()]
        m = re.match(r"^(\S+)\s+(\S+)\s+(\S+)\s+abc\s+origin$", body)
        if m:
            head["abc_origin"] = [float(g) for g in m.groups()]
        i += 1
    if "natoms" not in head:
        raise TrajectoryFormatError(path, "no 'N atoms' line in the header", fix="Is this a LAMMPS data file?")
    if head["natoms"] <= 0:
        raise TrajectoryFormatError(path, f"the header says {head['natoms']} atoms: a reference crystal needs atoms",
                                    fix="Pass the data file the run started from")
    if "avec" in head:
        cell = np.array([head["avec"], head["bvec"], head["cvec"]])
        origin = np.array(head.get("abc_origin", [0.0, 0.0, 0.0]))
    else:
        try:
            lo = np.array([head[a][0] for a in "xyz"])
            hi = np.array([head[a][1] for a in "xyz"])
        except KeyError:
            raise TrajectoryFormatError(path, "the header has no complete xlo xhi / ylo yhi / zlo zhi box",
                                        fix="Write the file with write_data") from None
        xy, xz, yz = head.get("tilt", (0.0, 0.0, 0.0))
        if not (np.isfinite(lo).all() and np.isfinite(hi).all() and np.isfinite([xy, xz, yz]).all()):
            raise TrajectoryFormatError(path, f"the box bounds hold NaN or infinite values (lo {lo.tolist()}, hi "
                                              f"{hi.tolist()}, tilt {[xy, xz, yz]})", fix="Repair the header")
        if not np.all(hi > lo):
            ax = "xyz"[int(np.flatnonzero(~(hi > lo))[0])]
            raise TrajectoryFormatError(path, f"{ax}hi is not above {ax}lo in the box bounds",
                                        fix="Repair the header")
        cell = np.array([[hi[0] - lo[0], 0, 0], [xy, hi[1] - lo[1], 0], [xz, yz, hi[2] - lo[2]]])
        origin = lo
    if not np.isfinite(cell).all() or abs(np.linalg.det(cell)) <= 1e-12:
        raise TrajectoryFormatError(path, f"the box is not a finite cell of non-zero volume (rows "
                                          f"{np.round(cell, 6).tolist()})", fix="Repair the header")
    sections = _sections(lines, i)
    if "Atoms" not in sections:
        raise TrajectoryFormatError(path, "no Atoms section", fix="Write the file with write_data")
    style, first, rows = sections["Atoms"]
    n = head["natoms"]
    if len(rows) < n:
        raise TrajectoryFormatError(path, f"the Atoms section has {len(rows)} lines, the header says {n} atoms",
                                    line=first, fix="The file is cut short")
    xcol = _X_COLUMN.get(style or "atomic")
    if xcol is None:
        raise TrajectoryFormatError(path, f"atom style '{style}' is not supported", line=first - 1,
                                    fix=f"Use one of {', '.join(_X_COLUMN)}")
    ids, types, xyz, img = (np.empty(n, np.int64), np.empty(n, np.int64), np.empty((n, 3)),
                            np.zeros((n, 3), np.int64))
    tcol = 2 if style == "full" else 1
    for k, r in enumerate(rows[:n]):
        t = r.split("#")[0].split()
        try:
            ids[k], types[k] = int(t[0]), int(t[tcol])
            xyz[k] = [float(v) for v in t[xcol:xcol + 3]]
            if len(t) >= xcol + 6:
                img[k] = [int(v) for v in t[xcol + 3:xcol + 6]]
        except (ValueError, IndexError):
            raise TrajectoryFormatError(path, f"cannot read this line of the Atoms section as atom style '{style or 'atomic'}': "
                                              f"{r.strip()!r}", line=first + k,
                                        fix="Repair the line, or check the atom style comment after 'Atoms'") from None
        if not np.isfinite(xyz[k]).all():
            raise TrajectoryFormatError(path, f"atom {ids[k]} has a NaN or infinite position", line=first + k,
                                        fix="Repair the line")
    if len(np.unique(ids)) != n:
        dup = np.unique(ids[np.flatnonzero(np.bincount(np.unique(ids, return_inverse=True)[1]) > 1)])
        raise TrajectoryFormatError(path, f"atom ids {dup[:5].tolist()} appear more than once in the Atoms "
                                          "section", line=first, fix="Each atom may appear once")
    order = np.argsort(ids)
    xyz = (xyz + img @ cell)[order]
    types = types[order]
    mass_by_type, elem_by_type = {}, {}
    if "Masses" in sections:
        for r in sections["Masses"][2]:
            parts = r.split("#")
            t, m = parts[0].split()[:2]
            mass_by_type[int(t)] = float(m) * conv.mass
            if len(parts) > 1 and parts[1].split():
                elem_by_type[int(t)] = parts[1].split()[0]
    if species is not None:
        elem_by_type = dict(species) if isinstance(species, dict) else {k + 1: s for k, s in enumerate(species)}
    for t, m in mass_by_type.items():
        if t not in elem_by_type:
            guess = element_from_mass(m)
            if guess:
                elem_by_type[t] = guess
    spec = np.array([elem_by_type.get(t, str(t)) for t in types.tolist()])
    masses = np.array([mass_by_type[t] for t in types.tolist()]) if mass_by_type else None
    return Structure(positions=xyz * conv.length, cell=cell * conv.length, species=spec, masses=masses,
                     origin=origin * conv.length, types=types)


def _sections(lines, i) -> dict:
    """Map section name -> (style comment, first data line number, data lines)."""
    out = {}
    while i < len(lines):
        raw = lines[i]
        name = raw.split("#")[0].strip()
        if name in _SECTIONS:
            style = raw.split("#")[1].strip() if "#" in raw else None
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            first = j + 1
            data = []
            while j < len(lines) and lines[j].strip() and lines[j].split("#")[0].strip() not in _SECTIONS:
                data.append(lines[j])
                j += 1
            out[name] = (style, first, data)
            i = j
        else:
            i += 1
    return out
