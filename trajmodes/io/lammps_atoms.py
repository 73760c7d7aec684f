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
