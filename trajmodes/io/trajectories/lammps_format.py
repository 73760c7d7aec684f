"""The LAMMPS text dump format: the column layout of the atom lines and the byte-offset index of the frames (a
compiled scan of the file, of a window of each frame where the frames are long: :func:`scan_sparse`); the frame
headers are :mod:`trajmodes.io.trajectories.lammps_header`.

Per-atom columns besides positions, velocities and forces: a potential energy (``compute ID all pe/atom``) and a
per-atom stress (``compute ID all stress/atom NULL``, six columns xx yy zz xy xz yz in pressure x volume units, bar Å³
in ``metal``; LAMMPS documentation of ``compute stress/atom``), whose sum over the atoms divided by the volume is minus
the pressure tensor."""
from __future__ import annotations

import os
import re

import numpy as np

from trajmodes import _fastparse
from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.filesystem import line_number, load_index, pread_all, save_index


ROW_STATUS = {1: "a token that is not a number", 2: "fewer columns than the ITEM: ATOMS line names",
              3: "fewer atom lines than ITEM: NUMBER OF ATOMS says", 4: "a NaN or infinite value"}

# position column families, best first: (names, scaled, unwrapped)
POSITION_KINDS = [(("xu", "yu", "zu"), False, True), (("xsu", "ysu", "zsu"), True, True),
                   (("x", "y", "z"), False, False), (("xs", "ys", "zs"), True, False)]
VECTOR_COLUMNS = {"velocities": ("vx", "vy", "vz"), "forces": ("fx", "fy", "fz")}
#: names of a per-atom potential-energy column (``compute ID all pe/atom`` dumped as ``c_ID``), best first
ENERGY_COLUMNS = ("c_pe", "c_peatom", "c_pe_atom", "c_epot", "pe")
#: compute IDs whose six columns ``c_ID[1]`` .. ``c_ID[6]`` are taken for a per-atom stress (``compute ID all
#: stress/atom NULL`` dumped as ``c_ID[*]``), best first
STRESS_COMPUTES = ("stress", "s", "sa", "satom", "stress_atom", "stressatom", "peratom", "st", "sigma")
#: names of the six stress columns when ``dump_modify colname`` renamed them
STRESS_NAMES = ("sxx", "syy", "szz", "sxy", "sxz", "syz")
IMAGE_COLUMNS = ("ix", "iy", "iz")
class DumpLayout:
    """Where each quantity sits among the columns of a dump.

    ``energy``: the per-atom potential-energy column (``energy_column``, else the first of :data:`ENERGY_COLUMNS`
    present), or None; its slot is ``slot["energy"]``. ``stress``: the per-atom stress columns in the order xx yy
    zz xy xz yz, then yx zx zy for the nine of a centroid stress (``stress_columns``, else ``c_ID[1]`` .. ``c_ID[9]``
    or ``c_ID[6]`` of the first of :data:`STRESS_COMPUTES` present, else :data:`STRESS_NAMES`), or None. :attr:`outputs` maps each per-atom array a read can fill (``positions``,
    ``images``, ``velocities``, ``forces``, ``energy``, ``stress``) to its columns.
    """

    def __init__(self, columns: list[str], path: str, line: int | None = None, energy_column: str | None = None,
                 stress_columns=None):
        self.columns = columns
        dup = sorted({c for c in columns if columns.count(c) > 1})
        if dup:
            raise TrajectoryFormatError(path, f"column(s) {', '.join(dup)} appear more than once in the ITEM: ATOMS "
                                              "line", frame=0, line=line,
                                        fix="Each column may appear once; check the dump command's column list")
        pos = {c: i for i, c in enumerate(columns)}
        #: whether the dump has an ``id`` column; without one the atoms are taken in file order (ids 1..N), and
        #: every frame is read by the Python path (the compiled frame parser places rows by id)
        self.has_id = "id" in pos
        wanted = ["id"] if self.has_id else []
        self.kind = None
        for names, scaled, unwrapped in POSITION_KINDS:
            if all(n in pos for n in names):
                self.kind, self.scaled, self.unwrapped = names, scaled, unwrapped
                wanted += list(names)
                break
        if self.kind is None:
            raise TrajectoryFormatError(
                path, f"no complete set of position columns among {' '.join(columns)}", frame=0, line=line,
                fix="Dump x y z, xu yu zu, xs ys zs or xsu ysu zsu")
        self.images = all(n in pos for n in IMAGE_COLUMNS) and not self.unwrapped
        if self.images:
            wanted += list(IMAGE_COLUMNS)
            self.unwrapped = True
        self.fields = ["positions"]
        self.outputs = {"positions": self.kind}
        if self.images:
            self.outputs["images"] = IMAGE_COLUMNS
        for field, names in VECTOR_COLUMNS.items():
            present = [n in pos for n in names]
            if all(present):
                self.fields.append(field)
                self.outputs[field] = names
                wanted += list(names)
            elif any(present):
                raise TrajectoryFormatError(
                    path, f"only some of the {field} columns {' '.join(names)} are present", frame=0, line=line,
                    fix=f"Dump all three of {' '.join(names)}")
        for extra in ("type", "mass"):
            if extra in pos:
                wanted.append(extra)
        self.energy = self._energy_column(pos, energy_column, path, line)
        if self.energy is not None:
            self.outputs["energy"] = (self.energy,)
        self.stress = self._stress_columns(pos, stress_columns, path, line)
        if self.stress is not None:
            self.outputs["stress"] = self.stress
        for name in (() if self.energy is None else (self.energy,)) + (self.stress or ()):
            if name not in wanted:
                wanted.append(name)
        self.slot = {name: s for s, name in enumerate(wanted)}
        if self.energy is not None:
            self.slot["energy"] = self.slot[self.energy]
        self.nslots = len(wanted)
        self._pos = pos
        self.colmap = self._colmap(wanted)
        self._colmaps: dict[tuple, bytes] = {}
        self._plans: dict[tuple, tuple] = {}

    @staticmethod
    def _energy_column(pos: dict, name: str | None, path: str, line: int | None) -> str | None:
        """The per-atom potential-energy column: ``name`` (which must be present), else a known name, else None."""
        if name is None:
            return next((c for c in ENERGY_COLUMNS if c in pos), None)
        if name not in pos:
            raise TrajectoryFormatError(path, f"energy_column={name!r} is not a column of the dump (its columns: "
                                              f"{' '.join(pos)})", frame=0, line=line,
                                        fix="Pass the name of the dumped per-atom energy, e.g. c_pe for "
                                            "compute pe all pe/atom")
        return name

    @staticmethod
    def _stress_columns(pos: dict, given, path: str, line: int | None) -> tuple | None:
        """The per-atom stress columns: nine of a centroid stress (``compute centroid/stress/atom``: xx yy zz xy xz
        yz yx zx zy) where the compute has them, else six (xx yy zz xy xz yz); ``given`` as a compute (``"c_s"`` for
        ``c_s[1]`` ..) or six or nine names, all present; else the first complete set of a known compute, else
        None."""
        def of(cid, n):
            return tuple(f"{cid}[{k}]" for k in range(1, n + 1))

        def widest(cid):
            ks = sorted(int(m.group(1)) for m in (re.match(rf"^{re.escape(cid)}\[(\d+)\]$", c) for c in pos) if m)
            if set(range(1, 7)) <= set(ks) and ks not in (list(range(1, 7)), list(range(1, 10))):
                raise TrajectoryFormatError(
                    path, f"the per-atom stress {cid} has the {len(ks)} columns {', '.join(f'{cid}[{k}]' for k in ks)}"
                          ": a per-atom stress has six (compute stress/atom: xx yy zz xy xz yz) or nine (compute "
                          "centroid/stress/atom: xx yy zz xy xz yz yx zx zy), and which of these is which is not known",
                    frame=0, line=line, fix=f"Dump the compute's columns as written, {cid}[*] (all six or all nine), "
                                            "or name six or nine with stress_columns=")
            return next((of(cid, n) for n in (9, 6) if all(c in pos for c in of(cid, n))), None)
        if given is None:
            for cols in [widest(f"c_{c}") for c in STRESS_COMPUTES] + [STRESS_NAMES]:
                if cols is not None and all(c in pos for c in cols):
                    return cols
            return None
        cols = (widest(given) or of(given, 6)) if isinstance(given, str) else tuple(given)
        if len(cols) not in (6, 9) or not all(isinstance(c, str) for c in cols):
            raise ValueError(f"stress_columns={given!r}: give a compute as 'c_ID' (its columns c_ID[1] .. c_ID[6], "
                             "or .. c_ID[9] of a centroid stress) or six column names in the order xx yy zz xy xz yz "
                             "(nine: then yx zx zy)")
        missing = [c for c in cols if c not in pos]
        if missing:
            raise TrajectoryFormatError(path, f"stress_columns={given!r}: {' '.join(missing)} "
                                              f"{'is' if len(missing) == 1 else 'are'} not a column of the dump (its "
                                              f"columns: {' '.join(pos)})", frame=0, line=line,
                                        fix="Name the dumped per-atom stress, e.g. stress_columns='c_s' for compute "
                                            "s all stress/atom NULL dumped as c_s[*]")
        return cols

    def _colmap(self, names) -> bytes:
        cmap = np.full(len(self.columns), -1, np.int32)
        for name in names:
            cmap[self._pos[name]] = self.slot[name]
        return cmap.tobytes()

    def colmap_for(self, outputs: tuple) -> bytes:
        """Column map parsing only the id (and type: each frame's types are checked) and the columns of the
        per-atom ``outputs`` (names of :attr:`outputs`; others are skipped unparsed), into the slots."""
        if outputs not in self._colmaps:
            names = (["id"] if self.has_id else []) + (["type"] if "type" in self.slot else [])
            for o in outputs:
                names += list(self.outputs.get(o, ()))
            self._colmaps[outputs] = self._colmap(names)
        return self._colmaps[outputs]

    def plan(self, outputs: tuple) -> tuple[bytes, tuple]:
        """The column map of the compiled frame parser (``_fastparse.parse_dump_frames``) for the per-atom
        ``outputs`` (names of :attr:`outputs`): two int32 per column, (output index, component), (-2, 0) for the
        id, (-3, 0) for the type, (-1, 0) to skip; and the outputs filled, as (name, width) pairs."""
        if outputs not in self._plans:
            cmap = np.full((len(self.columns), 2), (-1, 0), np.int32)
            if self.has_id:
                cmap[self._pos["id"]] = (-2, 0)
            if "type" in self._pos:
                cmap[self._pos["type"]] = (-3, 0)
            filled = []
            for o in outputs:
                if o in self.outputs:
                    for comp, name in enumerate(self.outputs[o]):
                        cmap[self._pos[name]] = (len(filled), comp)
                    filled.append((o, len(self.outputs[o])))
            self._plans[outputs] = (cmap.tobytes(), tuple(filled))
        return self._plans[outputs]

    def cols(self, names) -> list[int]:
        return [self.slot[n] for n in names]


#: bytes of text :func:`row_token_counts` looks at in one vectorised step (its temporaries are ~20 times as many)
TOKEN_COUNT_BYTES = 4 << 20


def row_token_counts(block: bytes) -> np.ndarray:
    """The number of whitespace-separated tokens on each line of ``block`` (vectorised, in pieces of whole lines of
    about :data:`TOKEN_COUNT_BYTES`, so that a frame of 10^6 atoms does not take 2 GB of temporaries; a last line
    without a newline counts)."""
    a = np.frombuffer(block, np.uint8)
    if not len(a):
        return np.zeros(0, np.int64)
    parts, lo = [], 0
    while lo < len(a):
        hi = lo + TOKEN_COUNT_BYTES
        if hi < len(a):
            nl = block.find(b"\n", hi)                             # end the piece after a newline
            hi = len(a) if nl < 0 else nl + 1
        parts.append(_token_counts(a[lo:min(hi, len(a))]))
        lo = hi
    return np.concatenate(parts)


def _token_counts(a: np.ndarray) -> np.ndarray:
    """:func:`row_token_counts` of one piece of text (uint8), all of its lines (the last one ends the piece)."""
    nl = a == 10
    ws = nl | (a == 32) | (a == 9) | (a == 13)
    start = ~ws & np.concatenate(([True], ws[:-1]))
    line = np.cumsum(nl, dtype=np.int32) - nl
    return np.bincount(line[start], minlength=int(line[-1]) + 1)


def element_column(buf, h, natoms) -> list[str] | None:
    if "element" not in h.columns:
        return None
    j = h.columns.index("element")
    lines = buf[h.rows_offset:].split(b"\n", natoms)[:natoms]
    return [ln.split()[j].decode() for ln in lines]


def index_dump(path: str) -> dict:
    """Byte offsets, timesteps and times (NaN if absent) of every frame of a plain-text dump: the saved index, else
    :func:`scan_sparse` (1 to 5 % of a dump of frames of 128 KB or more read; all of one of smaller frames)."""
    idx = load_index(path, "lammps-dump")
    if idx is not None:
        return idx
    starts, steps, times = scan_sparse(path)
    save_index(path, "lammps-dump", starts=starts, steps=steps, times=times)
    return {"starts": starts, "steps": steps, "times": times}


def scan_windows(path: str, window: int = 64 << 20,
                 margin: int = 4096) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the compiled frame scan over ``path`` in fixed windows, so memory stays bounded.

    A window of ``window`` bytes reports only the ``ITEM: TIMESTEP`` lines that start inside
    it, but sees ``margin`` bytes either side, for the preceding ``ITEM: TIME`` item and the
    value line.
    """
    size = os.path.getsize(path)
    buf = bytearray(min(size, window) + 2 * margin)
    view = memoryview(buf)
    parts = []
    with open(path, "rb", buffering=0) as f:
        for a in range(0, max(size, 1), window):
            b = min(a + window, size)
            lo = max(a - margin, 0)
            f.seek(lo)
            n = f.readinto(view[:min(b + margin, size) - lo])
            got = _fastparse.scan_lammps(view[:n], a - lo, b - lo)
            st, ts, tm = np.frombuffer(got[0], np.int64), np.frombuffer(got[1], np.int64), np.frombuffer(got[2])
            parts.append((st + lo, ts, tm))
    view.release()
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return tuple(np.concatenate(x) for x in zip(*parts))


#: frames at least this long (about 1,000 atoms) are found by :func:`scan_sparse` reading a window of each, not all
#: of its bytes
SPARSE_MIN_FRAME = 128 << 10
#: the bytes one call of the compiled scan of :func:`scan_sparse` looks at where it scans all, twice as many after a
#: call that found two frames or more, up to the 64 MB of :func:`scan_windows`
SPARSE_CHUNK = 1 << 20
#: the bounds of the half width ``w`` of the window :func:`scan_sparse` looks in (1/256 of a frame's length)
SPARSE_WINDOW = (4096, 65536)


def scan_sparse(path: str, min_frame: int | None = None, margin: int = 1024, chunk: int | None = None,
                window: tuple[int, int] | None = None, stats: dict | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The frame index of :func:`scan_windows` (the same starts, steps and times), reading 1 to 5 % of a dump whose
    frames are long, so that the first read of a dump reads it about once (not the index, then the frames).

    The dump is scanned whole until the last two frames found are at least ``min_frame`` bytes apart. From there the
    next frame is sought where the last one's length puts it (the guess ``g``): with ``w`` 1/256 of that length (within
    ``window``, 4 KB to 64 KB), the first ``w`` bytes of the last frame are scanned, then the bytes [g - w, g + w). The
    guess is taken when these hold exactly one ``ITEM: TIMESTEP`` line and the frame it begins, the frame before and
    the one before that say the same ``NUMBER OF ATOMS``, or when the file ends there and no frame begins (the last
    frame). Otherwise (a frame of another length or atom count, several frames in the window, a file that ends before
    the window) the bytes from the last one scanned on are scanned whole up to the next frame, as :func:`scan_windows`
    scans all. A frame cut short after its first ``w`` bytes and followed by others moves every frame after it by more
    than ``w``: the window holds none, and the bytes are scanned whole.

    A guess taken gives the whole scan's index unless the bytes left unread inside a frame hold a line that starts
    with ``ITEM: TIMESTEP``; a frame that holds such a line is no valid frame either way, and both frame parsers refuse
    it when it is read (an atom line that is not numbers, or text after the atom lines).

    ``min_frame``, ``chunk``, ``window``: default :data:`SPARSE_MIN_FRAME`, :data:`SPARSE_CHUNK`,
    :data:`SPARSE_WINDOW`; ``margin``: the bytes seen either side of what is scanned (the ``ITEM: TIME`` line and its
    value before an ``ITEM: TIMESTEP`` line, the step after it). ``stats``, when given, gets ``bytes_read``.
    """
    min_frame = SPARSE_MIN_FRAME if min_frame is None else min_frame
    chunk = SPARSE_CHUNK if chunk is None else chunk
    window = SPARSE_WINDOW if window is None else window
    size = os.path.getsize(path)
    parts = []                                   # (starts, steps, times) arrays found so far, in file order
    last2: list[int] = []                        # the last two frame starts found
    natoms: dict[int, int | None] = {}
    last = [0, b""]                              # the last bytes read and their offset
    nread = 0
    with open(path, "rb", buffering=0) as f:
        fd = f.fileno()

        def read(lo: int, n: int) -> bytes:
            nonlocal nread
            buf = pread_all(fd, n, lo)
            nread += len(buf)
            last[:] = lo, buf
            return buf

        def scan(lo: int, hi: int) -> tuple:
            """Every frame whose ``ITEM: TIMESTEP`` line starts in [lo, hi), ``margin`` bytes seen either side."""
            x = max(lo - margin, 0)
            st, ts, tm = _fastparse.scan_lammps(read(x, min(hi + margin, size) - x), lo - x, hi - x)
            return np.frombuffer(st, np.int64) + x, np.frombuffer(ts, np.int64), np.frombuffer(tm)

        def atoms_of(start: int) -> int | None:
            """The ``NUMBER OF ATOMS`` of the frame at ``start``, or None where its first 4 KB do not say."""
            if start not in natoms:
                at, buf = last
                m = NATOMS_LINE.match(buf, start - at, start - at + 4096) if at <= start < at + len(buf) else None
                for n in (512, 4096):
                    if m is None:
                        m = NATOMS_LINE.match(read(start, n))
                natoms[start] = int(m.group(1)) if m else None
            return natoms[start]

        def keep(got: tuple) -> bool:
            if len(got[0]):
                parts.append(got)
                last2[:] = (last2 + got[0][-2:].tolist())[-2:]
            return bool(len(got[0]))

        pos, step = 0, chunk                     # every TIMESTEP line that starts before pos is found
        while pos < size:
            length = last2[1] - last2[0] if len(last2) == 2 else 0
            hi = min(pos + step, size)
            if length >= min_frame:
                prev, s = last2
                w = min(max(length >> 8, window[0]), window[1])
                if pos < s + w:                  # the frame's first bytes
                    got, pos = scan(pos, min(s + w, size)), min(s + w, size)
                    if keep(got):
                        continue
                lo, hi = s + length - w, min(s + length + w, size)
                if pos < lo < hi and atoms_of(prev) is not None and atoms_of(prev) == atoms_of(s):
                    got = scan(lo, hi)
                    # one frame starts there, or the file ends there with none (the last frame)
                    if len(got[0]) == 1 and atoms_of(int(got[0][0])) == atoms_of(s) or not len(got[0]) and hi == size:
                        keep(got)
                        pos, step = hi, chunk
                        continue
                # from pos on, whole, to just past the guess (at most 64 MB at a time)
                hi = min(max(s + length + w, pos + step), pos + (64 << 20), size)
            got = scan(pos, hi)
            keep(got)
            # frames short beside the step: scan in larger steps (up to scan_windows' 64 MB); long ones: stop soon
            # after the next frame's start
            pos, step = hi, min(2 * step, 64 << 20) if len(got[0]) >= 2 else step
    if stats is not None:
        stats["bytes_read"] = nread
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return tuple(np.concatenate(x) for x in zip(*parts))


def timestep_line(path: str, start: int, end: int) -> int:
    """1-based line number of the ``ITEM: TIMESTEP`` line of the frame at ``start``."""
    with open(path, "rb") as f:
        f.seek(start)
        head = f.read(min(end - start, 1 << 16))
    k = head.find(b"ITEM: TIMESTEP")
    return line_number(path, start) + (head.count(b"\n", 0, k) if k > 0 else 0)


NATOMS_ITEM = re.compile(rb"ITEM: NUMBER OF ATOMS[^\n]*\n[ \t\r]*(\S*)")
#: the atom count of a frame's header, from the frame's first byte on: its whole line
NATOMS_LINE = re.compile(rb"(?s).*?ITEM: NUMBER OF ATOMS[^\n]*\n[ \t\r]*(\d+)[ \t\r]*\n")


def frame_complete(path: str, start: int, end: int) -> bool:
    """Whether the frame at [start, end) holds all its atom lines.

    Only a frame cut short (no terminated ``ITEM: ATOMS`` line, or fewer atom lines than it
    announces) is incomplete; a complete frame with a malformed header counts as complete, so
    that reading it reports what is wrong rather than silently dropping it.
    """
    with open(path, "rb") as f:
        f.seek(start)
        buf = f.read(end - start)
    j = buf.find(b"ITEM: ATOMS")
    if j < 0:
        return False
    k = buf.find(b"\n", j)
    if k < 0:
        return False
    m = NATOMS_ITEM.search(buf, 0, j)
    if m is None:
        return True
    try:
        natoms = int(m.group(1))
    except ValueError:
        return True
    if natoms <= 0:
        return True
    ncols = len(buf[j + 11:k].split())
    rest = buf[k + 1:]
    nl = rest.count(b"\n") + (1 if rest and not rest.endswith(b"\n") else 0)
    return nl >= natoms and (rest.endswith(b"\n") or nl > natoms or len(rest.rsplit(b"\n", 1)[-1].split())
                             >= ncols)


def restricted_triclinic(cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LAMMPS' restricted triclinic form of a right-handed cell, and the rotation into it.

    Parameters
    ----------
    cell : (3, 3)
        Rows a, b, c in Å.

    Returns
    -------
    L : (3, 3)
        The same lattice with a along x and b in the xy plane (rows; LAMMPS' lx, xy, xz, ly, yz, lz), Å.
    Q : (3, 3)
        The rotation with ``cell @ Q = L``: Cartesian vectors rotate as ``v @ Q``.

    Raises
    ------
    ValueError
        If the cell is left-handed (LAMMPS cannot represent it without a reflection).
    """
    cell = np.asarray(cell, float)
    a, b, c = cell
    ax = np.linalg.norm(a)
    bx = b @ a / ax
    by = np.sqrt(b @ b - bx ** 2)
    cx = c @ a / ax
    cy = (b @ c - bx * cx) / by
    cz = np.sqrt(c @ c - cx ** 2 - cy ** 2)
    L = np.array([[ax, 0, 0], [bx, by, 0], [cx, cy, cz]])
    L[np.abs(L) < 1e-12 * ax] = 0.0                     # orthogonal cells stay orthogonal
    Q = np.linalg.solve(cell, L)
    if not np.allclose(Q @ Q.T, np.eye(3), atol=1e-10):
        raise ValueError("the cell is left-handed: swap two of its vectors for LAMMPS' restricted triclinic form")
    return L, Q


def row_heads(a: np.ndarray, starts: np.ndarray, ends: np.ndarray, n: int,
               width: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``width`` bytes of the last ``n`` lines (the atom rows) of every frame ``[starts, ends)`` of the text
    ``a`` (frames, n, width; bytes past the text's end are newlines), and whether each frame has that many lines
    after its start."""
    nl = np.flatnonzero(a == 10)
    if len(a) and a[-1] != 10:
        nl = np.append(nl, len(a))                       # a last line without its newline
    last = np.searchsorted(nl, ends, side="right") - 1   # each frame's last row's newline
    before = last[:, None] - n + np.arange(n)[None, :]   # the newline before each row
    fits = before.min(axis=1) >= 0
    rows = nl[np.maximum(before, 0)] + 1
    fits &= rows[:, 0] > starts
    if rows.max(initial=0) + width > len(a):             # lines near the text's end: pad it with newlines
        a = np.concatenate([a, np.full(width, 10, np.uint8)])
    return np.lib.stride_tricks.sliding_window_view(a, width)[rows], fits
