"""The atoms of every frame of a LAMMPS text dump, as a base class of :class:`~trajmodes.io.lammps.LammpsDumpSource`:
their ids (64-bit ids read exactly) and the order they are put in, their species and masses from the first frame
(element column, ``species=`` by type, mass column), and the checks that every frame holds the same atoms, each of
the type and element it has in the first frame.
"""
from __future__ import annotations

import numpy as np

from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.files import line_number
from trajmodes.io.lammps_format import element_column
from trajmodes.io.lammps_header import parse_header
from trajmodes.lattice.elements import masses_of


def _row_heads(a: np.ndarray, starts: np.ndarray, ends: np.ndarray, n: int, width: int) -> tuple[np.ndarray, np.ndarray]:
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


class DumpAtoms:
    """The atoms of :class:`~trajmodes.io.lammps.LammpsDumpSource` (on its attributes: the layout, the frame byte
    ranges, the ids and types of the first frame)."""

    def _check_last_elements(self, fr: int | None = None) -> None:
        """The element column of frame ``fr`` (default: the last) must match the first (a changed set of atoms would
        otherwise keep the first frame's species and masses); the per-frame type check covers dumps with a type
        column, and :meth:`read` calls this for every frame of a dump with elements but no types."""
        fr = self.n_frames - 1 if fr is None else int(fr)
        orig, plain, local = self._where(fr)
        with open(plain, "rb") as f:
            f.seek(int(self._start[fr]))
            buf = f.read(int(self._end[fr]) - int(self._start[fr]))
        h = self._header(buf, 0, len(buf), fr)
        rows = np.empty((self.n_atoms, self._layout.nslots))
        self._parse_rows(buf, h, rows, fr, plain, orig, int(self._start[fr]))
        ids = self._ids(rows, fr, None, (buf, h.rows_offset, len(buf)))
        elements = np.asarray(element_column(buf, h, self.n_atoms))
        order = np.argsort(ids, kind="stable")
        if np.array_equal(ids[order], self.ids) and not np.array_equal(elements[order], self.species):
            i = int(np.flatnonzero(elements[order] != self.species)[0])
            raise TrajectoryFormatError(orig, f"atom id {int(self.ids[i])} is {elements[order][i]} in this frame but "
                                              f"{self.species[i]} in the first frame", frame=local,
                                        line=line_number(plain, int(self._start[fr]) + h.rows_offset) + int(order[i]),
                                        fix="trajmodes follows a fixed set of atoms, each of one species: split the "
                                            "run where the elements change")

    def _check_run_elements(self, buf, starts: np.ndarray, ends: np.ndarray, frames: np.ndarray) -> None:
        """Every atom keeps the element of the first frame in the frames of one run read (``buf``: the run's text,
        frame ``frames[i]`` at ``[starts[i], ends[i])``), whatever the order of the rows: one vectorised comparison of
        the first bytes of every atom line (up to the element and id tokens) with the first frame's, made after the
        run was parsed (so every frame ends with its ``n_atoms`` rows). Frames whose rows are in another order are
        compared token by token (element and id, vectorised); a frame that differs, or whose lines do not fit (odd
        spacing), is looked at by :meth:`_check_last_elements`, which names the atom, frame and line."""
        plan = self._element_plan()
        if plan is None or not len(frames):
            return
        width, prefix, mask = plan[3], plan[6], plan[7]
        a = np.frombuffer(buf, np.uint8)
        g, fits = _row_heads(a, np.asarray(starts, np.int64), np.asarray(ends, np.int64), self.n_atoms, width)
        same = ((g == prefix) | ~mask).all(axis=(1, 2)) & fits
        if same.all():
            return
        look = ~same
        other = np.flatnonzero(fits & ~same)            # rows in another order: token by token
        if len(other):
            look[other] = ~self._elements_by_token(g[other])
        for fr in np.asarray(frames)[look].tolist():     # the exact check names the atom and line, if it differs
            self._check_last_elements(fr)

    def _elements_by_token(self, g: np.ndarray) -> np.ndarray:
        """Whether every atom line of each frame (``g``: frames, atoms, first bytes of each line) holds its atom's
        element, the atom found by its id token: the tokens are read along the bytes of the lines, all lines at once
        (the element as a hash of its bytes, the id as an integer)."""
        j, jid, need, width, expect, lengths, _, _, hashes = self._element_plan()
        n = self.n_atoms
        shape = g.shape[:2]
        tok = np.full(shape, -1, np.int16)
        after_gap, ended, complete, bad = (np.ones(shape, bool), np.zeros(shape, bool), np.zeros(shape, bool),
                                           np.zeros(shape, bool))
        h, ids, digits = np.zeros(shape, np.int64), np.zeros(shape, np.int64), np.zeros(shape, np.int16)
        for c in range(g.shape[2]):                      # the bytes of the lines, a few dozen at most
            col = g[..., c]
            ended |= col == 10
            gap = ended | (col == 32) | (col == 9) | (col == 13)
            tok += ~gap & after_gap
            complete |= gap & (tok >= need)
            el = ~gap & (tok == j)
            h = np.where(el, h * 257 + col + 1, h)
            if jid is not None:
                d = ~gap & (tok == jid)
                ids = np.where(d, ids * 10 + (col.astype(np.int64) - 48), ids)
                digits += d
                bad |= d & ((col < 48) | (col > 57))
            after_gap = gap
        if jid is None:
            idx, known = np.broadcast_to(np.arange(n), shape), True
        else:
            idx = np.searchsorted(self.ids, ids).clip(0, n - 1)
            known = (self.ids[idx] == ids) & (digits <= 18) & ~bad
        return (complete & known & (hashes[idx] == h)).all(axis=1)

    def _element_plan(self):
        """What :meth:`_check_run_elements` needs, made once from the first frame: the element and id token numbers,
        the last token read, the bytes of every line looked at, each atom's element (id order) as bytes, zero padded,
        and its length, and the first bytes of the first frame's atom lines with the mask of those compared (up to
        the last token read and the space after it); None for a dump without an element column."""
        if "element" not in getattr(self, "_columns", ()):
            return None
        if getattr(self, "_elements_bytes", None) is None:
            j = self._columns.index("element")
            jid = self._columns.index("id") if self._layout.has_id else None
            need = max(j, jid if jid is not None else 0)
            sp = np.char.encode(np.asarray(self.species, dtype=str))
            lengths = np.char.str_len(sp)
            wide = int(lengths.max()) + 1
            expect = np.frombuffer(sp.astype(f"S{wide}").tobytes(), np.uint8).reshape(self.n_atoms, wide).copy()
            plain = self._where(0)[1]
            with open(plain, "rb") as f:
                f.seek(int(self._start[0]))
                text = np.frombuffer(f.read(int(self._end[0]) - int(self._start[0])), np.uint8)
            g, _ = _row_heads(text, np.zeros(1, np.int64), np.array([len(text)]), self.n_atoms, 32 * (need + 1) + wide)
            g = g[0]
            gap = (g == 32) | (g == 9) | (g == 13) | (np.cumsum(g == 10, axis=-1) > 0)
            first = ~gap & np.concatenate([np.ones((len(g), 1), bool), gap[:, :-1]], axis=-1)
            tok = np.cumsum(first, axis=-1) - 1
            ends = np.argmax(gap & (tok >= need), axis=-1)       # the byte after the last token read, every line
            width = int(ends.max()) + 1
            mask = np.arange(width)[None, :] <= ends[:, None]
            prefix = np.where(mask, g[:, :width], 0)
            hashes = np.zeros(self.n_atoms, np.int64)
            for c in range(wide - 1):                    # each atom's element as _elements_by_token hashes it
                hashes = np.where(c < lengths, hashes * 257 + expect[:, c] + 1, hashes)
            self._elements_bytes = (j, jid, need, width, expect, lengths, prefix[None], mask[None], hashes)
        return self._elements_bytes

    def _species(self, elements, species, order) -> np.ndarray:
        if elements is not None:
            return np.asarray(elements)[order]
        if species is not None and self._types is not None:
            table = dict(species) if isinstance(species, dict) else {i + 1: s for i, s in enumerate(species)}
            missing = sorted(set(self._types.tolist()) - set(table))
            if missing:
                raise ValueError(f"species= names no element for LAMMPS type(s) {missing}")
            return np.array([table[t] for t in self._types.tolist()])
        if self._types is not None:
            return self._types.astype(str)
        return np.full(self.n_atoms, "X")

    def _masses(self, rows, order, masses) -> np.ndarray | None:
        if masses is not None and self._types is not None:
            table = dict(masses) if isinstance(masses, dict) else {i + 1: m for i, m in enumerate(masses)}
            return np.array([float(table[t]) for t in self._types.tolist()])
        if "mass" in self._layout.slot:
            return rows[order, self._layout.slot["mass"]] * self._conv.mass
        known = masses_of(self.species)
        if known is None and masses is None and self._types is not None:
            # types without elements: the mass commands of the LAMMPS input or log that wrote the dump
            if self._input is None:
                self._input = self._lammps_input(self.paths[0])
            table = self._input.masses(self._types) if self._input is not None else None
            if table is not None:
                self.masses_from = self._input.path
                return np.array([table[t] for t in self._types.tolist()]) * self._conv.mass
        return known

    def _ids(self, rows: np.ndarray, fr, row_line, text=None) -> np.ndarray:
        """The id column of one frame as integers; ``row_line()`` is the line of its first row.

        Ids are parsed with the other columns as floats, exact up to 2^53; larger ids (LAMMPS allows 64-bit
        ids) are read again from the frame's ``text`` = (buffer, offset of the first row, end) as integers."""
        if not self._layout.has_id:                     # atoms in file order
            return np.arange(1, len(rows) + 1, dtype=np.int64)
        idcol = rows[:, self._layout.slot["id"]]
        if text is not None and len(idcol) and float(np.abs(idcol).max()) >= 2.0 ** 53:
            buf, start, end = text
            lines = [ln for ln in bytes(buf[start:end]).split(b"\n") if ln.strip()][:len(idcol)]
            k = self._columns.index("id")
            return np.array([int(ln.split()[k]) for ln in lines], dtype=np.int64)
        ids = idcol.astype(np.int64)
        if not (ids == idcol).all():
            orig, _, local = self._where(fr) if hasattr(self, "_local") else (self.paths[0], None, 0)
            row = int(np.flatnonzero(ids != idcol)[0])
            raise TrajectoryFormatError(orig, f"atom id {float(idcol[row])!r} is not an integer", frame=local,
                                        line=row_line() + row if row_line is not None else None,
                                        fix="Repair the line or remove this frame")
        return ids

    def _place(self, rows: np.ndarray, fr, row_line=None, text=None) -> None:
        """Reorder one frame's rows into id order, in place, checking the id set and the atom types.

        ``row_line()`` gives the line number of the frame's first atom row, for messages; ``text`` as in
        :meth:`_ids`.
        """
        ids = self._ids(rows, fr, row_line, text)
        if (ids == self.ids).all():
            return
        if self._contiguous:
            pos = ids - self._id_lo
            ok = (pos >= 0) & (pos < self.n_atoms)
        else:
            pos = np.searchsorted(self.ids, ids)
            ok = (pos < self.n_atoms) & (self.ids[np.minimum(pos, self.n_atoms - 1)] == ids)
        counts = np.bincount(pos[ok], minlength=self.n_atoms) if ok.all() else None
        if counts is None or (counts != 1).any():
            orig, _, local = self._where(fr)
            unknown = ids[~ok][:5].tolist()
            if unknown:
                what = f"atom ids {unknown} are not in the first frame"
                row = int(np.flatnonzero(~ok)[0])
            else:
                what = (f"atom ids {self.ids[counts == 0][:5].tolist()} are missing and "
                        f"{self.ids[counts > 1][:5].tolist()} repeated")
                srt = np.argsort(pos, kind="stable")
                row = int(srt[np.flatnonzero(np.diff(pos[srt]) == 0)[0] + 1])  # second occurrence
            line = row_line() + row if row_line is not None else None
            raise TrajectoryFormatError(orig, what, frame=local, line=line,
                                        fix="Each frame must hold the same atoms once")
        placed = np.empty_like(rows)
        placed[pos] = rows
        rows[:] = placed

    def _check_types(self, rows: np.ndarray, frames: np.ndarray) -> None:
        """Every atom keeps the LAMMPS type (so the species and mass) it has in the first frame: one vectorised
        test for a block of frames (``rows`` in id order); only a failure looks for the frame and line."""
        if self._types is None:
            return
        t = rows[:, :, self._layout.slot["type"]]
        bad = t != self._types[None, :]
        if not bad.any():
            return
        k, i = (int(x[0]) for x in np.nonzero(bad))
        fr = int(frames[k])
        orig, plain, local = self._where(fr)
        with open(plain, "rb") as f:                     # the atom's row as written (dumps need not be sorted)
            f.seek(int(self._start[fr]))
            buf = f.read(int(self._end[fr]) - int(self._start[fr]))
        h = parse_header(buf, 0, len(buf))
        raw = np.empty((self.n_atoms, self._layout.nslots))
        self._parse_rows(buf, h, raw, fr, plain, orig, int(self._start[fr]))
        row = int(np.flatnonzero(self._ids(raw, fr, None, (buf, h.rows_offset, len(buf))) == self.ids[i])[0])
        raise TrajectoryFormatError(orig, f"atom id {int(self.ids[i])} is of type {int(t[k, i])} here but of type "
                                          f"{int(self._types[i])} in the first frame", frame=local,
                                    line=line_number(plain, int(self._start[fr]) + h.rows_offset) + row,
                                    fix="trajmodes follows a fixed set of atoms, each of one species: split the "
                                        "run where the types change")
