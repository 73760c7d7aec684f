"""Reader of LAMMPS data files (``write_data`` output), used as reference structures."""
from __future__ import annotations

import gzip
import re
from dataclasses import dataclass

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


def _species_beside_masses(path, elements: dict, masses: dict) -> None:
    """Warn where a given element is not the one the data file's ``Masses`` section weighs: the file's masses are
    used (they are the run's), and the name given would be read as if it were right (``--species Cu`` for a type of
    39.948 amu: the modes of argon, labelled copper)."""
    import warnings
    from trajmodes.lattice.elements import mass_of
    for t, el in elements.items():
        m, standard = masses.get(t), mass_of(str(el))
        if m is None or standard is None:
            continue
        if abs(m - standard) > max(0.5, 0.01 * standard):
            warnings.warn(f"{path}: type {t} is given as {el} ({standard:.4g} amu), but the file's Masses section "
                          f"gives it {m:.6g} amu: the file's mass is used (the run's); give the element the file "
                          "weighs, or correct its Masses", UserWarning, stacklevel=3)


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
        _, first_mass, mass_rows = sections["Masses"]
        for k, r in enumerate(mass_rows):
            parts = r.split("#")
            try:
                t, m = int(parts[0].split()[0]), float(parts[0].split()[1])
            except (ValueError, IndexError):
                raise TrajectoryFormatError(path, f"cannot read this line of the Masses section as 'type mass': "
                                                  f"{r.strip()!r}", line=first_mass + k,
                                            fix="Repair the line, or write the file with write_data") from None
            refuse_mass(path, t, m, first_mass + k)
            mass_by_type[t] = m * conv.mass
            if len(parts) > 1 and parts[1].split():
                elem_by_type[t] = parts[1].split()[0]
    if species is not None:
        elem_by_type = dict(species) if isinstance(species, dict) else {k + 1: s for k, s in enumerate(species)}
        _species_beside_masses(path, elem_by_type, mass_by_type)
    for t, m in mass_by_type.items():
        if t not in elem_by_type:
            guess = element_from_mass(m)
            if guess:
                elem_by_type[t] = guess
    spec = np.array([elem_by_type.get(t, str(t)) for t in types.tolist()])
    masses = np.array([mass_by_type[t] for t in types.tolist()]) if mass_by_type else None
    return Structure(positions=xyz * conv.length, cell=cell * conv.length, species=spec, masses=masses,
                     origin=origin * conv.length, types=types)


def refuse_mass(path: str, t: int, m: float, line: int) -> None:
    """Refuse the mass ``m`` of LAMMPS type ``t`` on line ``line`` of the ``Masses`` section of ``path`` unless it is
    a positive number: a mass of 0 (or below, or NaN) would pass into every mass-weighted quantity as NaN."""
    if not (np.isfinite(m) and m > 0):
        raise TrajectoryFormatError(path, f"LAMMPS type {t} has mass {m!r} in the Masses section: a mass must be a "
                                          "positive number", line=line,
                                    fix=f"Correct the mass of type {t} on that line (in the file's unit style: amu "
                                        "in metal units, e.g. '1 63.546 # Cu')")


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


def data_file_masses(path: str) -> dict:
    """The ``Masses`` section of a LAMMPS data file: {type: (mass, element or None)}, the mass in the file's own unit
    style, the element the comment after it names (``1 69.723 # Ga``) where it names one. The file is read a line at
    a time up to the end of that section (not the whole of a data file of 10^6 atoms, whose Masses come first); an
    empty dict when it has none.

    Raises
    ------
    OSError
        When the file cannot be opened.
    TrajectoryFormatError
        For a line of the section that is not ``type mass``, naming the line.
    """
    out = {}
    rows = _section(path, "Masses")
    next(rows, None)                                   # its header
    for number, line, body in rows:
        words, comment = body.split(), line.partition("#")[2].split()
        try:
            t, m = int(words[0]), float(words[1])
        except (ValueError, IndexError):
            raise TrajectoryFormatError(path, f"cannot read this line of the Masses section as 'type mass': "
                                              f"{line.strip()!r}", line=number,
                                        fix="Repair the line, or write the file with write_data") from None
        refuse_mass(path, t, m, number)
        out[t] = (m, comment[0] if comment else None)
    return out


def _section(path, name: str):
    """The section ``name`` of a LAMMPS data file, read a line at a time up to the next section: its header line,
    then its non-empty lines, each as (1-based line number, line, line without its comment); nothing when the file
    has no such section."""
    opener = gzip.open if is_gzip(path) else open
    inside = False
    with opener(path, "rt", errors="replace") as f:
        next(f, None)                                  # the first line is a title
        for number, line in enumerate(f, start=2):
            body = line.split("#")[0].strip()
            if body in _SECTIONS:
                if inside:
                    return
                inside = body == name
                if inside:
                    yield number, line, body
            elif inside and body:
                yield number, line, body


#: the column of the charge q in the Atoms section, by atom style (those that have one)
_Q_COLUMN = {"charge": 2, "full": 3}
#: elementary charge in C: the charge unit of LAMMPS' si style (metal, real and electron give charges in e)
_E_COULOMB = 1.602176634e-19


@dataclass(frozen=True)
class DataCharges:
    """The per-atom charges of a LAMMPS data file (:func:`data_file_charges`).

    Attributes
    ----------
    ids, types : ndarray of int (N,)
        Sorted by id.
    charges : ndarray (N,)
        In e.
    style : str
        The atom style of the ``Atoms`` section.
    path : str
    """

    ids: np.ndarray
    types: np.ndarray
    charges: np.ndarray
    style: str
    path: str


def data_file_charges(path: str, units: str = "metal") -> DataCharges | None:
    """The charge column of the ``Atoms`` section of a LAMMPS data file (atom styles ``charge`` and ``full``, named
    by the comment after ``Atoms``), in e; None for a file whose atom style has no charges (or states none), or for
    ``lj`` units (reduced charges).

    Raises
    ------
    OSError
        When the file cannot be opened.
    TrajectoryFormatError
        For a line of the section that cannot be read in its style, naming the line.
    """
    if units == "lj":
        return None
    scale = 1.0 / _E_COULOMB if units == "si" else 1.0
    ids, types, q = [], [], []
    rows = _section(path, "Atoms")
    header = next(rows, None)
    style = (header[1].partition("#")[2].strip() or None) if header is not None else None
    if style not in _Q_COLUMN:
        return None
    for number, line, body in rows:
        words = body.split()
        try:
            ids.append(int(words[0]))
            types.append(int(words[2 if style == "full" else 1]))
            q.append(float(words[_Q_COLUMN[style]]) * scale)
        except (ValueError, IndexError):
            raise TrajectoryFormatError(path, f"cannot read this line of the Atoms section as atom style "
                                              f"'{style}': {line.strip()!r}", line=number,
                                        fix="Repair the line, or check the atom style comment after "
                                            "'Atoms'") from None
    if not ids:
        return None
    ids_a = np.asarray(ids, np.int64)
    order = np.argsort(ids_a)
    return DataCharges(ids_a[order], np.asarray(types, np.int64)[order], np.asarray(q, float)[order], style,
                       str(path))


@dataclass(frozen=True)
class RunMasses:
    """The masses of a LAMMPS run's atom types as its input and the data file it reads state them
    (:func:`masses_of_run`).

    Attributes
    ----------
    masses : dict or None
        {type: mass} in the input's mass unit for every type asked for; None when one of them has none.
    elements : dict
        {type: element} the comments of the data file's ``Masses`` name (``1 69.723 # Ga``), for the types whose
        mass comes from it.
    source : str
        Where the masses came from, in words (files named); empty when ``masses`` is None.
    problem : str or None
        Why ``masses`` is None: which file lacks what, and what to give instead.
    overridden : str or None
        Types whose ``mass`` command replaces a different mass of the data file (as in LAMMPS, the later command
        wins), in words; None when they agree.
    """

    masses: dict | None
    elements: dict
    source: str
    problem: str | None = None
    overridden: str | None = None


def _types_phrase(types) -> str:
    return f"LAMMPS type{'s' if len(types) > 1 else ''} {', '.join(map(str, types))}"


#: what to give when the run's own files do not state the masses
GIVE_MASSES = ("give the element of each type, type 1 first (--species Ga,N; species=['Ga', 'N'] to trajmodes.read), "
               "or their masses in amu (--masses 69.723,14.007; masses=)")


def masses_of_run(settings, types) -> RunMasses:
    """The mass of every LAMMPS type in ``types`` as a run's own files state it: the ``mass`` commands of its input
    or log ``settings`` (:class:`~trajmodes.io.trajectories.lammps_settings.LammpsSettings`), else the ``Masses`` section of the
    data file(s) its ``read_data`` commands read (:meth:`~trajmodes.io.trajectories.lammps_settings.LammpsSettings.data_paths`:
    relative to the input's folder; a later file's mass of a type replaces an earlier one's). A ``mass`` command
    comes after the ``read_data`` that creates the box (LAMMPS refuses one before), so it replaces the data file's mass
    of its types, as in LAMMPS.

    Masses are in the input's mass unit (its ``units``); the caller converts them.
    """
    types = sorted({int(t) for t in types})
    inp = settings.path
    commands = {t: m for t in types if (m := settings.mass_of(t)) is not None}
    unknown = [t for t in types if settings.mass_unknown(t)]       # a mass command LAMMPS ran, its value not known
    if unknown:
        return RunMasses(None, {}, "", f"the masses of {_types_phrase(unknown)} are unknown: {inp}: "
                                       f"{settings.mass_unknown(unknown[0])}. To read the run: {GIVE_MASSES}")
    data, faults, absent = {}, [], False
    if settings.mass_problem is not None:
        faults.append(f"{inp}: {settings.mass_problem}")
    for name, path in zip(settings.data_files, settings.data_paths()):
        if "$" in name:
            faults.append(f"{inp} reads its data file through a variable (read_data {name}), which is not evaluated "
                          "here")
            continue
        try:
            table = data_file_masses(path)
        except FileNotFoundError:
            faults.append(f"{inp} reads them from the data file {name} (read_data), which is not at {path}")
            absent = True
            continue
        except (OSError, TrajectoryFormatError) as exc:
            faults.append(f"the data file {path}, which {inp} reads (read_data), cannot be read ({exc})")
            continue
        if not table:
            faults.append(f"the data file {path}, which {inp} reads (read_data), has no Masses section")
        data.update({t: (m, el, path) for t, (m, el) in table.items()})
    faults += [f"{inp} starts from the binary restart file {name} (read_restart), whose masses are not read here"
               for name in settings.restart_files]
    missing = [t for t in types if t not in commands and t not in data]
    if missing:
        stated = [f"the mass commands of {inp}"] + sorted({f"the Masses section of {p}" for _, _, p in data.values()})
        none = (f"{'they have' if len(missing) > 1 else 'it has'} no mass in " + " nor in ".join(stated)
                + ("" if settings.data_files or settings.restart_files else " (it reads no data file)"))
        todo = ("put the data file where the input names it, or " if absent else "") + GIVE_MASSES
        return RunMasses(None, {}, "", f"the masses of {_types_phrase(missing)} are unknown: "
                                       + "; ".join(faults + [none]) + f". To read the run: {todo}")
    from_data = [t for t in types if t not in commands]
    files = sorted({data[t][2] for t in from_data})
    parts = [f"the Masses section of {', '.join(files)} (read_data in {inp})"] if from_data else []
    if commands:
        parts.append(f"the mass commands of {inp}" + (f" ({_types_phrase(sorted(commands))})" if from_data else ""))
    differ = [t for t in commands if t in data and not np.isclose(commands[t], data[t][0], rtol=1e-6, atol=0)]
    overridden = None
    if differ:
        overridden = (f"the mass commands of {inp} give {_types_phrase(differ)} "
                      + ", ".join(f"{commands[t]:g}" for t in differ) + f", the Masses section of {data[differ[0]][2]} "
                      + ", ".join(f"{data[t][0]:g}" for t in differ) + ": the mass commands are used, as LAMMPS did "
                      "(they come after read_data)")
    masses = {t: commands[t] if t in commands else data[t][0] for t in types}
    bad = [t for t in commands if not (np.isfinite(commands[t]) and commands[t] > 0)]
    if bad:
        return RunMasses(None, {}, "", f"the mass commands of {inp} give {_types_phrase(bad)} the mass "
                                       + ", ".join(f"{commands[t]!r}" for t in bad) + ": a mass must be a positive "
                                       f"number. Correct the mass command, or {GIVE_MASSES}")
    elements = {t: data[t][1] for t in from_data if data[t][1]}
    return RunMasses(masses, elements, " and ".join(parts), None, overridden)
