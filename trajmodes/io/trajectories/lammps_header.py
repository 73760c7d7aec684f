"""The header of a LAMMPS text dump frame: its ``ITEM:`` lines (timestep, time, units, atom count, box bounds, the
column names of the atom lines), the box as a cell and origin, and the errors of a header that cannot be read,
misspelled items named at their own line."""
from __future__ import annotations

import math
import re

import numpy as np

from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.filesystem import compression_of

NONSPACE = re.compile(rb"\S")


class Header:
    """One parsed frame header: atoms, box, time, and where the atom rows start."""

    __slots__ = ("natoms", "cell", "origin", "time", "units", "columns", "rows_offset", "step", "atoms_line")


class HeaderError(ValueError):
    """A frame header that cannot be read; ``line_offset``: its line counted from the frame's first line; ``fix``:
    what to do, where the reason says more than "repair the frame"."""

    def __init__(self, what: str, line_offset: int = 0, fix: str | None = None):
        super().__init__(what)
        self.line_offset = line_offset
        self.fix = fix


#: the items of a LAMMPS dump frame, as ``ITEM:`` lines name them (``BOX BOUNDS`` and ``ATOMS`` go on with the box
#: flags and the column names)
DUMP_ITEMS = ("TIMESTEP", "TIME", "UNITS", "NUMBER OF ATOMS", "BOX BOUNDS", "ATOMS")
#: items of LAMMPS' other dump styles (``dump local``, ``dump grid``): not misspellings of an atom dump's items
OTHER_ITEMS = ("NUMBER OF ENTRIES", "ENTRIES", "DIMENSION", "GRID SIZE", "GRID CELLS")
#: items followed on their line by more words (box flags, column names)
_ITEMS_WITH_WORDS = {"BOX BOUNDS": 2, "ATOMS": 1, "ENTRIES": 1, "GRID CELLS": 2}
ITEM_LINE = re.compile(rb"(?m)^[ \t]*ITEM[^\n]*")


def misspelled_item(line: bytes) -> str | None:
    """What an ``ITEM:`` line should read when it is none of LAMMPS' items but close to one of
    :data:`DUMP_ITEMS` (``ITEM: TIMESTP``, ``ITEM: ATOM id type x y z``, ``ITEM:TIMESTEP``, ``ITEM: time step``),
    else None. The frame index and the parsers match the items exactly, so a misspelled one would otherwise hide its
    frame or be skipped."""
    import difflib
    s = line.strip()
    if not s[:4].upper() == b"ITEM":
        return None
    words = s[4:].lstrip(b":").decode("utf-8", "replace").split()
    if s.startswith(b"ITEM: ") and not s[6:7].isspace():
        text = " ".join(words)
        for name in DUMP_ITEMS + OTHER_ITEMS:
            n = _ITEMS_WITH_WORDS.get(name)
            if (text == name) if n is None else " ".join(words[:n]) == name:
                return None
    best, score = None, 0.0
    for name in DUMP_ITEMS:
        n = _ITEMS_WITH_WORDS.get(name)
        said = " ".join(words if n is None else words[:n]).upper()
        r = difflib.SequenceMatcher(None, said, name).ratio()
        if r > score:
            best, score = " ".join([name] + (words[n:] if n is not None else [])), r
    return f"ITEM: {best}" if score >= 0.75 else None


def misspelled_items(buf: bytes, off: int = 0, end: int | None = None) -> tuple[int, str, str] | None:
    """The first misspelled ``ITEM:`` line of ``buf[off:end]`` (:func:`misspelled_item`) as (its line counted from
    the first, the line, what it should read), or None. Error paths only: it looks at every line that starts with
    ``ITEM``."""
    end = len(buf) if end is None else end
    for m in ITEM_LINE.finditer(buf, off, end):
        good = misspelled_item(m.group())
        if good is not None:
            return buf.count(b"\n", off, m.start()), m.group().strip().decode("utf-8", "replace"), good
    return None


def no_timestep_error(orig: str, plain: str) -> "TrajectoryFormatError":
    """Refuse a file in which the frame index found no ``ITEM: TIMESTEP`` line, saying why where the start of the
    file tells: a misspelled item, a compression trajmodes does not read, else not a LAMMPS text dump."""
    with open(plain, "rb") as f:
        head = f.read(1 << 16)
    found = misspelled_items(head)
    if found is not None:
        k, bad, good = found
        return TrajectoryFormatError(orig, f"no 'ITEM: TIMESTEP' line found; {bad!r} is not an item of a LAMMPS "
                                          f"dump: it should read {good!r}", line=k + 1,
                                    fix=f"Correct that line to {good!r} (the frame index matches the ITEM: lines "
                                        "exactly)")
    packed = compression_of(head)
    if packed is not None:
        return TrajectoryFormatError(orig, f"it is {packed[0]}-compressed", fix=packed[1])
    return TrajectoryFormatError(orig, "no 'ITEM: TIMESTEP' found: this is not a LAMMPS text dump",
                                fix="Pass format= to read it as another format")



def misspelling_error(found: tuple[int, str, str], line_offset: int = 0) -> HeaderError:
    """The :class:`HeaderError` naming a misspelled item ``found`` by :func:`misspelled_items`."""
    k, bad, good = found
    return HeaderError(f"{bad!r} is not an item of a LAMMPS dump: it should read {good!r}", line_offset + k,
                       fix=f"Correct that line to {good!r} (the reader matches the ITEM: lines exactly)")


def _header_int(lines: list, i: int, item: str, what: str) -> int:
    """The whole number on line ``i + 1`` after the item on line ``i``; a :class:`HeaderError` naming that line
    otherwise (``256.0``, a word, a missing line)."""
    tok = lines[i + 1].strip() if i + 1 < len(lines) else b""
    try:
        return int(tok)
    except ValueError:
        said = tok.decode("utf-8", "replace")
        try:
            v = float(said)
            hint = f" to {int(v)}" if v.is_integer() else ""
        except (ValueError, OverflowError):
            hint = ""
        raise HeaderError(f"the {what} {said!r} after ITEM: {item} is not a whole number", i + 1,
                          fix=f"The {what} must be a whole number: correct that line{hint}") from None


def parse_box(kind: bytes, lines: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Cell (rows a, b, c) and origin from a LAMMPS ``ITEM: BOX BOUNDS`` item.

    Raises :class:`HeaderError` (its ``line_offset`` the bad line, counted from the item's) for values that are
    not finite numbers, bounds whose upper value is not above the lower one, and a cell of zero volume. Plain
    Python on nine numbers: it runs for every frame.
    """
    rows = []
    for j, ln in enumerate(lines):
        try:
            r = [float(t) for t in ln.split()]
        except ValueError:
            raise HeaderError(f"the box bounds line {ln.decode('utf-8', 'replace').strip()!r} is not numbers",
                              j + 1) from None
        if len(r) < 2:
            raise HeaderError("a box bounds line needs at least two numbers", j + 1)
        if not math.isfinite(sum(r)):                   # NaN and inf propagate through the sum
            raise HeaderError(f"the box bounds {r} hold NaN or infinite values", j + 1)
        rows.append(r)
    if len(rows) != 3 or len({len(r) for r in rows}) != 1:
        raise HeaderError("the BOX BOUNDS item needs three lines of the same numbers", 0)
    words = kind.split()
    if b"abc" in words:  # general triclinic: "ax ay az ox" per line
        (a1, a2, a3), (b1, b2, b3), (c1, c2, c3) = (r[:3] for r in rows)
        vol = a1 * (b2 * c3 - b3 * c2) - a2 * (b1 * c3 - b3 * c1) + a3 * (b1 * c2 - b2 * c1)
        if not abs(vol) > 0.0:
            raise HeaderError("the box vectors span zero volume", 1)
        return np.array([r[:3] for r in rows]), np.array([r[3] for r in rows])
    for j, (ax, r) in enumerate(zip("xyz", rows)):
        if not r[1] > r[0]:
            raise HeaderError(f"{ax}hi = {r[1]!r} is not above {ax}lo = {r[0]!r} in the box bounds", j + 1)
    if b"xy" in words:  # restricted triclinic, bounding box given
        xy, xz, yz = rows[0][2], rows[1][2], rows[2][2]
        xlo = rows[0][0] - min(0.0, xy, xz, xy + xz)
        xhi = rows[0][1] - max(0.0, xy, xz, xy + xz)
        ylo = rows[1][0] - min(0.0, yz)
        yhi = rows[1][1] - max(0.0, yz)
        zlo, zhi = rows[2][0], rows[2][1]
        if not (xhi > xlo and yhi > ylo):
            raise HeaderError("the tilts leave a box of zero or negative width", 1)
        return (np.array([[xhi - xlo, 0.0, 0.0], [xy, yhi - ylo, 0.0], [xz, yz, zhi - zlo]]),
                np.array([xlo, ylo, zlo]))
    return (np.array([[rows[0][1] - rows[0][0], 0.0, 0.0], [0.0, rows[1][1] - rows[1][0], 0.0],
                      [0.0, 0.0, rows[2][1] - rows[2][0]]]), np.array([rows[0][0], rows[1][0], rows[2][0]]))


def parse_header(buf: bytes, off: int, end: int) -> Header:
    """Parse the header items of the frame starting at ``off`` in ``buf``.

    Raises ValueError with a short reason; callers add file, frame and line.
    """
    j = buf.find(b"ITEM: ATOMS", off, end)
    if j < 0:
        found = misspelled_items(buf, off, end)
        if found is not None:
            raise misspelling_error(found)
        raise ValueError("no ITEM: ATOMS line")
    lines = buf[off:j].split(b"\n")
    h = Header()
    h.natoms, h.cell, h.origin, h.time, h.units, h.step = None, None, None, None, None, None
    i = 0
    while i < len(lines):
        ln = lines[i].strip()
        if ln[:4].upper() == b"ITEM" and misspelled_item(ln) is not None:
            raise misspelling_error((0, ln.decode("utf-8", "replace"), misspelled_item(ln)), i)
        if ln.startswith(b"ITEM: TIMESTEP"):
            h.step = _header_int(lines, i, "TIMESTEP", "timestep"); i += 2
        elif ln.startswith(b"ITEM: NUMBER OF ATOMS"):
            h.natoms = _header_int(lines, i, "NUMBER OF ATOMS", "atom count"); i += 2
        elif ln.startswith(b"ITEM: BOX BOUNDS"):
            try:
                h.cell, h.origin = parse_box(ln[16:], lines[i + 1:i + 4])
            except HeaderError as exc:
                raise HeaderError(str(exc), i + exc.line_offset) from None
            except (ValueError, IndexError) as exc:
                raise HeaderError(str(exc), i) from None
            i += 4
        elif ln.startswith(b"ITEM: TIME"):
            h.time = float(lines[i + 1]); i += 2
        elif ln.startswith(b"ITEM: UNITS"):
            h.units = lines[i + 1].strip().decode(); i += 2
        elif ln.startswith(b"ITEM:"):
            i += 1  # an item we do not use
        else:
            i += 1
    if h.natoms is None:
        raise ValueError("no ITEM: NUMBER OF ATOMS item")
    if h.natoms <= 0:
        raise ValueError(f"ITEM: NUMBER OF ATOMS is {h.natoms}; a trajectory needs at least one atom")
    if h.cell is None:
        raise ValueError("no ITEM: BOX BOUNDS item")
    k = buf.find(b"\n", j, end)
    if k < 0:
        raise ValueError("the ITEM: ATOMS line is not terminated")
    h.atoms_line = bytes(buf[j + 11:k])
    h.columns = h.atoms_line.decode().split()
    h.rows_offset = k + 1
    room = (end - h.rows_offset) // (2 * max(len(h.columns), 1))     # a row takes >= 2 bytes per column
    if h.natoms > max(room, 1):
        raise ValueError(f"ITEM: NUMBER OF ATOMS says {h.natoms}, but the {end - h.rows_offset} bytes of atom "
                         f"lines that follow hold at most {room} rows of {len(h.columns)} columns")
    return h


#: items that may follow a frame's atom lines before the next ``ITEM: TIMESTEP``: LAMMPS writes the next
#: frame's ``ITEM: UNITS`` / ``ITEM: TIME`` (``dump_modify units yes time yes``) before it
LEADING_ITEMS = (b"ITEM: UNITS", b"ITEM: TIME")


def foreign_item(tail: bytes) -> str | None:
    """The first ``ITEM:`` line of ``tail`` that is not one that may precede the next frame's TIMESTEP."""
    for line in tail.split(b"\n"):
        s = line.strip()
        if s.startswith(b"ITEM:") and not any(s == it or s.startswith(it + b" ") for it in LEADING_ITEMS):
            return s.decode("utf-8", "replace")
    return None
