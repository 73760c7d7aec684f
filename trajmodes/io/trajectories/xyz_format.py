"""The extended XYZ format: comment-line keys, the Properties column layout, and the frame scan.

Extended XYZ comment lines are ``key=value`` pairs (values may be quoted):
``Lattice="ax ay az bx by bz cx cy cz"`` (rows a, b, c),
``Properties=species:S:1:pos:R:3:...``, ``time=`` (in the unit style's time
unit) and ``step=`` (also LAMMPS' plain ``Timestep: N``); per-frame ``energy=``,
``stress="..."`` and ``virial="..."`` as ASE writes them (:func:`comment_tensor`).
A comment without ``Properties`` means plain XYZ columns ``symbol x y z``.

Time unit: times and velocities are in the unit style's time unit (ps in ``metal``) unless the comment line states
another (:func:`stated_time_unit`: ``time_unit=fs``, ``units=fs``, ``velocity_unit=A/fs``, ...). CP2K's
``-pos-1.xyz`` comment ``i = 0, time = 0.000, E = -34.12`` is recognised (:data:`CP2K_COMMENT`): its ``time`` is in
fs and ``i`` is the MD step.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import numpy as np

from trajmodes import _fastparse
from trajmodes import units as _units
from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.filesystem import load_index, pread_all, read_head, save_index

__all__ = ["ROLES", "WIDTH", "TYPES", "PLAIN_PROPERTIES", "LATTICE", "TIME", "STEP", "ENERGY", "STRESS", "VIRIAL",
           "LAMMPS_ENERGY", "LAMMPS_PRESSURE", "ASE_STRESS", "PROPERTIES", "PBC", "ROW_STATUS", "Layout",
           "parse_comment", "parse_pbc", "comment_value", "parse_properties", "column_tokens", "comment_at",
           "comment_tensor", "scan_xyz_windows", "TIME_UNITS", "CP2K_COMMENT", "stated_time_unit",
           "time_unit_factor", "COMMITTEE_ARRAYS", "MEMBER_COLUMN", "FORCE_STD", "FORCE_VAR", "committee_columns",
           "member_role", "committee_size", "ipi_ase_output"]

#: Properties names understood, mapped to their role
ROLES = {"species": "species", "element": "species", "elements": "species", "symbols": "species",
          "symbol": "species", "pos": "positions", "positions": "positions",
          "forces": "forces", "force": "forces", "vel": "velocities", "velo": "velocities",
          "velocities": "velocities", "momenta": "momenta", "masses": "masses", "mass": "masses",
          "id": "id"}
WIDTH = {"species": 1, "positions": 3, "forces": 3, "velocities": 3, "momenta": 3, "masses": 1,
          "id": 1}
TYPES = {"species": "S", "id": "I"}  # the others are R
PLAIN_PROPERTIES = "species:S:1:pos:R:3"

KEY_VALUE = re.compile(r'([A-Za-z_][\w.\-]*)\s*(?:=\s*("[^"]*"|\{[^}]*\}|[^\s"]+))?')
LATTICE = re.compile(rb'(?<![\w])[Ll]attice\s*=\s*"([^"]*)"')
TIME = re.compile(rb'(?<![\w])[Tt]ime\s*=\s*"?([^\s"]+)')
STEP = re.compile(rb'(?<![\w])(?:[Ss]tep|[Tt]ime[Ss]tep)\s*[=:]\s*"?([^\s"]+)')
#: ASE's per-frame results: potential energy (not ``free_energy``), stress (9 or 6 values), virial (9 values)
ENERGY = re.compile(rb'(?<![\w.-])[Ee]nergy\s*=\s*"?([^\s"]+)')
STRESS = re.compile(rb'(?<![\w.-])[Ss]tress\s*=\s*"([^"]*)"')
VIRIAL = re.compile(rb'(?<![\w.-])[Vv]irial\s*=\s*"([^"]*)"')
#: LAMMPS' dump extxyz (its header: ``Timestep=``, ``Time=``, ``Potential_energy=``, ``Temperature=``, ``Stress=``):
#: the potential energy in the run's energy unit, and as ``Stress`` the pressure tensor of its thermo output (positive
#: when compressed; bar in metal units, atm in real units), not ASE's stress
LAMMPS_ENERGY = re.compile(rb'(?<![\w.-])Potential_energy\s*=\s*"?([^\s"]+)')
LAMMPS_PRESSURE = re.compile(rb'(?<![\w.-])Stress\s*=\s*"([^"]*)"')
#: ASE's stress as a LAMMPS ``dump extxyz`` file may carry it beside LAMMPS' own ``Stress`` (the pressure tensor)
ASE_STRESS = re.compile(rb'(?<![\w.-])stress\s*=\s*"([^"]*)"')
#: the column layout and the periodic directions, which every frame must state as frame 0 does
PROPERTIES = re.compile(rb'(?<![\w])[Pp]roperties\s*=\s*"?([^\s"]*)')
PBC = re.compile(rb'(?<![\w])pbc\s*=\s*("[^"]*"|[^\s"]+)', re.IGNORECASE)
#: ASE's Voigt order of a 6-value stress: xx yy zz yz xz xy
VOIGT = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))

#: time units a comment line (or ``units="metal:fs"``) may name, in ps
TIME_UNITS = {"fs": 1e-3, "femtosecond": 1e-3, "femtoseconds": 1e-3, "ps": 1.0, "picosecond": 1.0,
              "picoseconds": 1.0, "ns": 1e3, "nanosecond": 1e3, "nanoseconds": 1e3,
              # ASE's time unit sqrt(amu A^2/eV), 10.18 fs: the unit of atoms.get_velocities() (A/ase)
              _units.ASE_TIME_NAME: _units.NATURAL_TIME_PS}
#: comment keys that state the time unit (of ``time=`` and of velocities), or the velocity unit alone
TIME_UNIT_KEYS = ("time_unit", "time_units", "timeunit", "timeunits", "units", "unit")
VELOCITY_UNIT_KEYS = ("velocity_unit", "velocity_units", "vel_unit", "vel_units", "velocityunit", "velunit")
#: CP2K's MD position file (``-pos-1.xyz``): ``i =  N, time =  T, E =  E`` (T in fs, E in Hartree)
CP2K_COMMENT = re.compile(rb'^\s*i\s*=\s*(\d+)\s*,\s*time\s*=\s*([-+0-9.eEdD]+)\s*,\s*E\s*=')
CP2K_TIME = re.compile(rb'(?<![\w])time\s*=\s*([-+0-9.eEdD]+)\s*,')
CP2K_STEP = re.compile(rb'^\s*i\s*=\s*(\d+)\s*,')

ROW_STATUS = {1: "a token that is not a number", 2: "too few columns",
           3: "the file ends before the frame's last atom line", 4: "a NaN or infinite value"}


def parse_pbc(value) -> tuple | None:
    """The periodic directions of a ``pbc=`` value (``"T T T"``, ``"F F F"``, ``"True False True"``, ``"1 1 0"``, or one
    value for all three) as three bools; None when it is not one of those."""
    words = str(value).strip().strip('"').split()
    truth = {"t": True, "true": True, "1": True, "f": False, "false": False, "0": False}
    got = [truth.get(w.lower()) for w in words]
    if len(got) == 1:
        got *= 3
    return tuple(got) if len(got) == 3 and None not in got else None


def parse_comment(comment: str) -> dict:
    """Key/value pairs of an extended XYZ comment line (quotes removed, keys as written)."""
    out = {}
    for m in KEY_VALUE.finditer(comment):
        v = m.group(2)
        out[m.group(1)] = True if v is None else v.strip('"')
    return out


def comment_value(kv: dict, *names):
    """The value of the first of ``names`` (lower case) among the comment keys, whatever their case; None if absent."""
    low = {k.lower(): v for k, v in kv.items()}
    for n in names:
        if n in low:
            return low[n]
    return None


def time_unit_factor(text: str) -> float | None:
    """ps per time unit of a unit string: ``fs``, ``ps``, ``ns``, or a velocity such as ``A/fs``,
    ``Angstrom/fs``, ``Ang/ps`` (its time unit); None when it names no time unit (a LAMMPS style, say)."""
    t = str(text).strip().strip('"').lower()
    if t in TIME_UNITS:
        return TIME_UNITS[t]
    if "/" in t:
        return TIME_UNITS.get(t.rsplit("/", 1)[1].strip())
    return None


def stated_time_unit(kv: dict) -> tuple[float | None, float | None, str]:
    """The time unit (ps per unit) of ``time=`` and of the velocity columns that the comment keys ``kv`` state, and
    the keys in words: ``(time, velocity, said)``, None where they state none. A time unit key (``time_unit=fs``,
    ``units=fs``) sets both; a velocity unit key (``velocity_unit=A/fs``) sets the velocities'.

    Raises
    ------
    ValueError
        For a time or velocity unit key whose value is no unit understood (it names the key).
    """
    low = {k.lower(): v for k, v in kv.items()}
    time = vel = None
    said = []
    for key in TIME_UNIT_KEYS:
        if key in low and isinstance(low[key], str):
            f = time_unit_factor(low[key])
            if f is None and key not in ("units", "unit"):       # units= may name a LAMMPS style: not a time
                raise ValueError(f"{key}={low[key]!r} is not a time unit (fs, ps or ns)")
            if f is not None:
                time = vel = f
                said.append(f"{key}={low[key]}")
                break
    for key in VELOCITY_UNIT_KEYS:
        if key in low and isinstance(low[key], str):
            f = time_unit_factor(low[key])
            if f is None:
                raise ValueError(f"{key}={low[key]!r} is not a velocity unit (A/fs, A/ps)")
            vel = f
            said.append(f"{key}={low[key]}")
            break
    return time, vel, ", ".join(said)


#: a committee of learned potentials (Musil et al., J. Chem. Theory Comput. 15, 906 (2019); Imbalzano et al.,
#: J. Chem. Phys. 154, 074102 (2021)) on one frame: every member's forces in one array of 3 M columns per atom,
#: member by member (member 0's x y z, then member 1's, ...: an (M, N, 3) array such as MACE's ``forces_comm``
#: transposed to (N, M, 3) and flattened, the layout ASE writes for a per-atom array of shape (N, M, 3)), under one of
#: these names; or one array of 3 columns per member, :data:`MEMBER_COLUMN` (``forces_0`` ... ``forces_{M-1}``)
COMMITTEE_ARRAYS = ("forces_committee", "committee_forces", "forces_comm", "committee_force", "force_committee")
MEMBER_COLUMN = re.compile(r"^(?:forces?|committee_forces?|forces?_committee|forces_comm)_?(\d+)$", re.IGNORECASE)
#: a force uncertainty sigma per atom (1 column) or per component (3 columns), eV/Å in metal units; or its variance
#: (MACE's ``forces_var``), whose square root is taken
FORCE_STD = ("force_std", "forces_std", "force_uncertainty", "forces_uncertainty", "force_sigma", "forces_sigma")
FORCE_VAR = ("forces_var", "force_var", "forces_variance", "force_variance")


def member_role(m: int) -> str:
    """The layout role of committee member ``m``'s three force columns."""
    return f"committee:{m}"


def committee_size(layout: "Layout") -> int:
    """The number of committee members whose forces the atom lines carry (0 without a committee)."""
    return sum(1 for r in layout.first if r.startswith("committee:"))


def committee_columns(path: str, parts: list, line: int, frame: int = 0) -> tuple[dict, dict, bool]:
    """The committee's force columns and the force uncertainty of a Properties list (``parts``: its name, type,
    count triples flattened): ``(first, widths, variance)``: role -> first token, role -> width, and whether the
    uncertainty column holds variances.

    Raises
    ------
    TrajectoryFormatError
        For a committee array whose width is not a multiple of 3, members numbered with a gap or given twice,
        both layouts at once, or an uncertainty of other than 1 or 3 columns (the file, frame and line).
    """
    first, widths, variance, numbered, tok = {}, {}, False, {}, 0
    fix = ("write the committee as forces_0:R:3 ... forces_{M-1}:R:3, or as one array forces_committee:R:3M "
           "(member by member), and force_std:R:1 (per atom) or force_std:R:3 (per component)")
    for name, n in zip(parts[::3], map(int, parts[2::3])):
        low = name.lower()
        m = MEMBER_COLUMN.match(low)
        if low in COMMITTEE_ARRAYS:
            if n % 3 or n < 3 or numbered or any(r.startswith("committee:") for r in first):
                raise TrajectoryFormatError(path, f"the committee array {name}:R:{n} " + (
                    "is not 3 columns per member" if n % 3 or n < 3 else "comes with other member columns"),
                    frame=frame, line=line, fix=fix)
            for k in range(n // 3):
                first[member_role(k)], widths[member_role(k)] = tok + 3 * k, 3
        elif m is not None and n == 3:
            k = int(m.group(1))
            if k in numbered or any(r.startswith("committee:") for r in first):
                raise TrajectoryFormatError(path, f"committee member {k}'s forces are given twice ({name})",
                                            frame=frame, line=line, fix=fix)
            numbered[k] = tok
        elif low in FORCE_STD or low in FORCE_VAR:
            if n not in (1, 3) or "force_std" in first:
                raise TrajectoryFormatError(path, f"the force uncertainty {name}:R:{n} " + (
                    "must have 1 column (per atom) or 3 (per component)" if n not in (1, 3) else "is given twice"),
                    frame=frame, line=line, fix=fix)
            first["force_std"], widths["force_std"], variance = tok, n, low in FORCE_VAR
        tok += n
    if numbered:
        if sorted(numbered) != list(range(len(numbered))):
            raise TrajectoryFormatError(path, f"the committee members are numbered {sorted(numbered)}, not 0 .. "
                                              f"{len(numbered) - 1}", frame=frame, line=line, fix=fix)
        for k, at in numbered.items():
            first[member_role(k)], widths[member_role(k)] = at, 3
    return first, widths, variance


@dataclass(frozen=True)
class Layout:
    """Which input token of an atom line holds which quantity (``widths``: the widths of the roles not in
    :data:`WIDTH`: the committee's members and the force uncertainty)."""

    ntok: int
    first: dict        # role -> index of its first token
    widths: dict = field(default_factory=dict)
    #: whether the force uncertainty column holds variances
    variance: bool = False

    def colmap(self, roles) -> tuple[bytes, dict, int]:
        """Column map for ``parse_rows``, output slices per role and output width."""
        cmap = np.full(self.ntok, -1, np.int32)
        slices, col = {}, 0
        for r in roles:
            w = self.widths.get(r) or WIDTH[r]
            cmap[self.first[r]:self.first[r] + w] = np.arange(col, col + w)
            slices[r] = slice(col, col + w)
            col += w
        return cmap.tobytes(), slices, col


def parse_properties(path: str, properties: str, line: int) -> Layout:
    """Parse a ``Properties=name:type:ncols:...`` string."""
    parts = properties.split(":")
    bad = len(parts) % 3 != 0 or not all(p.isdigit() for p in parts[2::3])
    fix = "write Properties as name:type:ncols triples, e.g. Properties=species:S:1:pos:R:3"
    if bad:
        raise TrajectoryFormatError(path, f"cannot read Properties={properties!r}", frame=0,
                                    line=line, fix=fix)
    first, tok = {}, 0
    for name, typ, n in zip(parts[::3], parts[1::3], map(int, parts[2::3])):
        role = ROLES.get(name.lower())
        if role is not None and role not in first:
            want = TYPES.get(role, "R")
            if n != WIDTH[role] or typ.upper() not in (want, "R" if want == "I" else want):
                raise TrajectoryFormatError(
                    path, f"Properties column {name}:{typ}:{n} should be "
                    f"{name}:{want}:{WIDTH[role]}", frame=0, line=line, fix=fix)
            first[role] = tok
        tok += n
    if "positions" not in first:
        raise TrajectoryFormatError(path, f"Properties={properties!r} has no pos column", frame=0,
                                    line=line, fix="add pos:R:3 (atom positions) to Properties")
    more, widths, variance = committee_columns(path, parts, line)
    return Layout(tok, {**first, **more}, widths, variance)


def column_tokens(block: bytes, nrows: int, tok: int) -> np.ndarray | None:
    """Token ``tok`` of each of the first ``nrows`` lines of ``block`` as bytes (vectorised).

    Returns None when a line has fewer than ``tok + 1`` tokens.
    """
    a = np.frombuffer(block, np.uint8)
    nl = a == 10
    ws = nl | (a == 32) | (a == 9) | (a == 13)
    starts = np.flatnonzero(~ws & np.concatenate(([True], ws[:-1])))
    ends = np.flatnonzero(~ws & np.concatenate((ws[1:], [True]))) + 1
    line = np.searchsorted(np.flatnonzero(nl), starts)
    idx = np.arange(len(starts)) - np.searchsorted(line, line)
    sel = np.flatnonzero((idx == tok) & (line < nrows))
    if len(sel) != nrows or not np.array_equal(line[sel], np.arange(nrows)):
        return None
    s, e = starts[sel], ends[sel]
    width = int((e - s).max()) if nrows else 1
    pos = s[:, None] + np.arange(width)
    chars = np.where(pos < e[:, None], a[np.minimum(pos, len(a) - 1)], 0).astype(np.uint8)
    return np.ascontiguousarray(chars).view(f"S{width}").ravel()


def comment_tensor(text: bytes) -> np.ndarray:
    """A symmetric (3, 3) tensor from a comment value: 9 numbers (a 3 x 3 matrix) or 6 in ASE's Voigt order
    xx yy zz yz xz xy.

    Raises
    ------
    ValueError
        For another count of numbers, or a token that is not one.
    """
    v = np.array(text.split(), dtype=float)
    if v.size == 9:
        return v.reshape(3, 3)
    if v.size != 6:
        raise ValueError(f"{v.size} numbers, not 9 or 6")
    out = np.empty((3, 3))
    for x, (i, j) in zip(v, VOIGT):
        out[i, j] = out[j, i] = x
    return out


def comment_at(fd: int, start: int, size: int = 4096) -> bytes:
    """The comment line (second line) of the frame starting at byte ``start``, by small preads."""
    while True:
        head = pread_all(fd, size, start)
        a = head.find(b"\n") + 1
        b = head.find(b"\n", a)
        if (a and b >= 0) or len(head) < size:
            return head[a:b if b >= 0 else len(head)]
        size *= 4


#: bytes read per window by the frame scan (grown when one frame is larger)
SCAN_WINDOW = 64 << 20


def xyz_frame_index(data_path: str) -> dict:
    """The frame index of the (uncompressed) XYZ file ``data_path``: ``starts``, ``counts``, ``complete``, ``bad``
    (:func:`scan_xyz_windows`), read from the index stored beside the file where it is current, else scanned and
    stored."""
    idx = load_index(data_path, "xyz")
    if idx is None:
        idx = dict(zip(("starts", "counts", "complete", "bad"), scan_xyz_windows(data_path)))
        save_index(data_path, "xyz", **idx)
    return idx


def scan_xyz_windows(path: str, window: int | None = None):
    """Frame starts and atom counts of an XYZ file, scanned in bounded windows.

    Returns ``(starts, counts, complete, bad)`` like the compiled ``scan_xyz`` over the
    whole file, but reads at most a window (or two frames, if larger) at a time, so memory
    does not grow with the file.  Each window's last frame is re-scanned by the next.
    """
    window = window or SCAN_WINDOW
    size = os.path.getsize(path)
    starts, counts = [], []
    pos, complete, bad = 0, 1, -1
    buf = bytearray(min(window, max(size, 1)))
    with open(path, "rb", buffering=0) as f:
        while pos < size:
            want = min(window, size - pos)
            if len(buf) < want:
                buf = bytearray(want)
            f.seek(pos)
            view = memoryview(buf)[:f.readinto(memoryview(buf)[:want])]
            sb, cb, comp, b = _fastparse.scan_xyz(view)
            view.release()
            st, ct = np.frombuffer(sb, np.int64) + pos, np.frombuffer(cb, np.int64)
            if pos + want >= size or b >= 0:
                starts.append(st)
                counts.append(ct)
                complete, bad = comp, (b + pos if b >= 0 else -1)
                break
            if len(st) < 2:        # fewer than two frames fit: widen the window
                window *= 2
                continue
            starts.append(st[:-1])
            counts.append(ct[:-1])
            pos = int(st[-1])
    cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.int64))
    return cat(starts), cat(counts), complete, bad


#: i-PI's ``format="ase"`` output: an extended XYZ comment line with i-PI's own comment, naming one quantity and its
#: unit
IPI_ASE_COMMENT = re.compile(rb'ipi_comment="[^"\n]*?(\w+)\{ase\}')


def ipi_ase_output(path: str) -> TrajectoryFormatError | None:
    """The error for a file of an i-PI run written with ``format="ase"`` (one quantity per file, ``sim.pos_0.extxyz``,
    ``sim.for_0.extxyz``, ...: read alone, its positions have neither forces nor times); None for any other file."""
    head = read_head(path)
    m = IPI_ASE_COMMENT.search(head.split(b"\n", 2)[1]) if head.count(b"\n") > 1 else None
    if m is None:
        return None
    return TrajectoryFormatError(
        path, "a file of an i-PI run written with format=\"ase\" (its ipi_comment names "
              f"{m.group(1).decode()}{{ase}}): "
              "i-PI writes the positions, forces and velocities of such a run to separate files, and their steps and "
              "time step to its comment and input, which an extended XYZ file read alone does not join",
        fix="Write the trajectories with i-PI's default format=\"xyz\" (<trajectory filename=\"pos\"> "
            "positions{angstrom} </trajectory>, and forces, velocities likewise): trajmodes reads the positions file "
            "with its forces and velocities files beside it")
