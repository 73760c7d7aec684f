"""Reader for extended XYZ and plain XYZ trajectories.

The file is indexed once with the compiled ``scan_xyz`` kernel in 64 MB windows
(byte offset of every frame); :meth:`XYZSource.read` then reads each
contiguous run of frames with one ``os.pread`` and parses the atom rows with
the compiled ``parse_rows`` kernel (GIL released).  Gzipped files are
decompressed once into the cache directory (``$TRAJMODES_CACHE``, default
``~/.cache/trajmodes``). The format itself (comment keys, Properties) is
:mod:`trajmodes.io.xyz_format`; what the comment lines state (time unit, steps and times, energy and stress) is
:mod:`trajmodes.io.xyz_comments`, and the time-scale and species checks :mod:`trajmodes.io.xyz_checks`.
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from trajmodes import _fastparse
from trajmodes import units as _units
from trajmodes.errors import TrajectoryFormatError, TruncatedFrameWarning
from trajmodes.io.base import FrameSource, empty_frames, take_frame_fields, wanted_frame_fields
from trajmodes.io.files import (byte_order_mark_error, contiguous_runs, is_gzip, line_number, load_index, plain_path,
                                pread_all, save_index)
from trajmodes.io.xyz_checks import XYZChecks
from trajmodes.io.xyz_comments import XYZComments
from trajmodes.io.xyz_format import (CP2K_COMMENT, LATTICE, PLAIN_PROPERTIES, ROW_STATUS, TYPES, WIDTH, column_tokens,
                                     comment_value, parse_comment, parse_properties, scan_xyz_windows,
                                     time_unit_factor)
from trajmodes.lattice.elements import masses_of

#: largest byte range read by one os.pread
RUN_BYTES = 64 << 20


class XYZSource(XYZComments, XYZChecks, FrameSource):
    """An extended XYZ or plain XYZ trajectory (optionally gzipped).

    Parameters
    ----------
    path : str or os.PathLike
        The file (``.gz`` is decompressed once into the cache directory).
    units : str, optional
        LAMMPS unit style of the numbers in the file; converted to metal on reading. Default: the style the comment
        line states (``units=real``: A, fs, kcal/mol), else ``"metal"`` (Angstrom, ps, A/ps, eV/A); a style given
        here that differs from the file's is refused. ``"<style>:fs"`` (or ``:ps``, ``:ns``) reads ``time=`` and the
        velocities in that time unit, ``"<style>:A/fs"`` the velocities alone. ``momenta`` are taken in ASE units
        (amu A / t_ASE) whatever the style. Velocities and ``time=`` are checked against each other (the frames'
        displacements over the time between them) whatever the units stated.
    lj_scales : dict, optional
        ``{"sigma": A, "epsilon": eV, "mass": amu}`` for ``units="lj"``.
    md_timestep, frame_interval : float, optional
        In ps, used when comments carry no ``time=`` (:func:`trajmodes.io.times.frame_times`): the MD time
        step, when the comments carry steps (``step=``, ``Timestep=``, LAMMPS' ``Timestep: N``), so that
        times = step * md_timestep; or the time between frames.

    Attributes
    ----------
    frame_fields : tuple of str
        ``potential_energy`` from the comment's ``energy=`` (eV after conversion), and ``pressure_tensor`` with
        its ``pressure`` (GPa, positive when compressed) from ASE's ``stress="..."`` (9 values, or 6 in Voigt
        order xx yy zz yz xz xy; energy/length^3 of the unit style, eV/A^3 in metal, positive under tension:
        P = -stress) or else ``virial="..."`` (9 values, energy unit; P = virial / V, with V from the frame's
        Lattice). A key on the first or last frame must be on every frame.

    Notes
    -----
    Atoms are ordered by the ``id`` column when there is one.  Species are
    checked against frame 0 only for the last frame on opening; call
    :meth:`check_species` to check others.
    """

    def __init__(self, path, *, units: str | None = None, lj_scales: dict | None = None,
                 md_timestep: float | None = None, frame_interval: float | None = None):
        self.path = os.path.abspath(os.fspath(path))
        self.paths = [self.path]
        if not os.path.isfile(self.path):
            raise TrajectoryFormatError(self.path, "file does not exist",
                                        fix="check the path and the working directory")
        self._units_given = None if units is None else str(units).lower()
        self.units, _, time_unit = (self._units_given or "metal").partition(":")
        self._style_given = None if units is None else self.units
        self._style_stated = None               # units=<LAMMPS style> on the comment lines, in words
        self.lj_scales = dict(lj_scales) if lj_scales else None
        self._conv = _units.conversion(self.units, self.lj_scales)
        self._time_unit = None                  # (ps per unit of time=, ps per time unit of velocities, said)
        if time_unit:
            f = time_unit_factor(time_unit)
            if f is None:
                raise ValueError(f"units={units!r}: {time_unit!r} is not a time unit; give units='<style>:fs' "
                                 "(or :ps, :ns) for a file whose times and velocities are in that time unit")
            # 'metal:fs': times and velocities in fs and A/fs; 'metal:A/fs': the velocities only
            self._time_unit = (self._conv.time if "/" in time_unit else f, f, f"units={units!r} (given)")
        #: what states the unit of time= (the time unit given or on the comment lines, a stated style), in words
        self._time_stated = f"units={units!r} (given)" if time_unit and "/" not in time_unit else \
            f"units={units!r} (given): time in {dict(real='fs', electron='fs', si='s').get(self.units, 'its unit')}" \
            if units is not None and self.units != "metal" else None
        self._given_times = (md_timestep, frame_interval)
        self._gz = is_gzip(self.path)
        self._index()
        self._header()
        if self._unterminated:
            self._check_unterminated()
        self._metadata()
        if self.n_frames > 1:
            self.check_species([self.n_frames - 1])
        self._check_time_scale()

    # ------------------------------------------------------------------ opening
    @property
    def data_path(self) -> str:
        """The plain-text file actually read (the decompressed copy of a gzipped file)."""
        return plain_path(self.path) if self._gz else self.path

    def _index(self) -> None:
        """Frame byte offsets (``self._offsets``, n_frames + 1 values) and atom count."""
        dp = self.data_path
        size = os.path.getsize(dp)
        if size == 0:
            raise TrajectoryFormatError(self.path, "the file is empty", frame=0, line=1,
                                        fix="check that the MD run wrote this file")
        idx = load_index(dp, "xyz")
        if idx is None:
            idx = dict(zip(("starts", "counts", "complete", "bad"), scan_xyz_windows(dp)))
            save_index(dp, "xyz", **idx)
        starts, counts = idx["starts"], idx["counts"]
        complete, bad = int(idx["complete"]), int(idx["bad"])
        with open(dp, "rb") as f:
            f.seek(size - 1)
            last_newline = f.read(1) == b"\n"
        end = size
        changed = np.flatnonzero(counts != counts[0]) if len(counts) else []
        if len(changed):
            k = int(changed[0])
            raise TrajectoryFormatError(
                self.path, f"atom count changed from {counts[0]} to {counts[k]}", frame=k,
                line=line_number(dp, int(starts[k])),
                fix="trajmodes needs a fixed set of atoms; split the file where the count changes")
        if bad >= 0:
            self._bad_count(dp, bad, len(starts))
        if not complete:
            self._scan_starts = starts
            end = self._truncated(dp, len(starts))
        if len(starts) == 0:
            raise TrajectoryFormatError(self.path, "no complete frame", frame=0, line=1,
                                        fix="an XYZ frame is a count line, a comment line and "
                                        "that many atom lines")
        self.n_atoms = int(counts[0])
        self._offsets = np.append(starts, end).astype(np.int64)
        self.n_frames = len(starts)
        # a missing final newline means a cut last line only where the last frame is otherwise complete: a
        # truncated frame was just dropped, and the frame before it ends with its own newline
        self._unterminated = bool(complete) and not last_newline

    def _bad_count(self, dp: str, at: int, k: int) -> None:
        """Refuse the line at byte ``at``, where frame ``k``'s atom count should be, saying what it is: a UTF-8
        byte-order mark, a number that is not a whole number (``256.0``), else not an atom count."""
        with open(dp, "rb") as f:
            f.seek(at)
            said = f.readline(200)
        if at == 0 and said.startswith(b"\xef\xbb\xbf"):
            err = byte_order_mark_error(self.path, said[3:])
        else:
            tok = said.strip().decode("utf-8", "replace")
            line = line_number(dp, at)
            try:
                v = float(tok)
            except ValueError:
                v = None
            if v is None:
                raise TrajectoryFormatError(self.path, "expected an atom count line (one integer)", frame=k,
                                            line=line, fix="check the atom count of the previous frame")
            err = TrajectoryFormatError(
                self.path, f"the atom count {tok!r} is not a whole number", frame=k, line=line,
                fix="An XYZ frame starts with its atom count as a whole number: correct that line"
                    + (f" to {int(v)}" if v.is_integer() else ""))
        err.ase_may_read = False                    # not a variant of the format: ASE's reader refuses it too
        raise err

    def _truncated(self, dp: str, k: int) -> int:
        """Warn about a truncated frame ``k``; return its byte offset (end of the data kept)."""
        # offset of the truncated frame: first non-blank byte after the last complete frame
        starts = self._scan_starts
        pos = int(starts[-1]) if len(starts) else 0
        with open(dp, "rb") as f:
            f.seek(pos)
            tail = f.read()
        at = 0
        if len(starts):
            for _ in range(int(tail[:tail.find(b"\n")].split()[0]) + 2):
                at = tail.find(b"\n", at) + 1
        while at < len(tail) and tail[at:at + 1].isspace():
            at += 1
        pos += at
        warnings.warn(f"{self.path}: frame {k} is incomplete (truncated file) and was dropped",
                      TruncatedFrameWarning, stacklevel=4)
        return pos

    def _check_unterminated(self) -> None:
        """A trajectory not ending in a newline was probably cut inside its last line.

        Its last frame is dropped with a warning (a cut number may still parse, so
        parsing cannot tell); a single-frame file is kept and parsed as it is.
        """
        k = self.n_frames - 1
        if k == 0:
            return
        warnings.warn(f"{self.path}: frame {k} was dropped: the file does not end with a newline, "
                      "so its last line may be cut (truncated file). Add a final newline if the "
                      "frame is complete", TruncatedFrameWarning, stacklevel=4)
        self.n_frames -= 1
        self._offsets = self._offsets[:-1]

    def _frame0(self) -> bytes:
        """Frame 0's text; sets ``_comment0`` and ``_rows0`` (absolute offset of its atom lines)."""
        lo, hi = int(self._offsets[0]), int(self._offsets[1])
        with open(self.data_path, "rb") as f:
            buf = pread_all(f.fileno(), hi - lo, lo)
        nl1 = buf.find(b"\n")
        nl2 = buf.find(b"\n", nl1 + 1)
        nl2 = len(buf) if nl2 < 0 else nl2
        self._comment0 = buf[nl1 + 1:nl2]
        self._rows0 = lo + nl2 + 1
        return buf[nl2 + 1:]

    def _header(self) -> None:
        """Columns, species, masses, ids and the first cell from frame 0."""
        rows = self._frame0()
        line0 = line_number(self.data_path, int(self._offsets[0])) + 1
        kv = parse_comment(self._comment0.decode("utf-8", "replace"))
        props = comment_value(kv, "properties")
        self._cp2k = CP2K_COMMENT.search(self._comment0) is not None
        self._stated_units(kv, line0)
        self.extended = isinstance(props, str)
        self.format = "extxyz" if self.extended else "xyz"
        self._layout = parse_properties(self.path, props if self.extended else PLAIN_PROPERTIES, line0)
        self._lattice0 = None
        self.has_cell = LATTICE.search(self._comment0) is not None
        if self.has_cell:
            m = LATTICE.search(self._comment0)
            self._lattice0 = (m.group(1), self._cell(self._comment0, 0, self._rows0 - 1))
        self._check_rows0(rows)
        self.species = self._species(rows, 0, line0 + 1)
        self._read_ids(rows)
        self.masses = self._masses(rows)
        if self._perm is not None:
            self.species = self.species[self._perm]
            self.masses = None if self.masses is None else self.masses[self._perm]
        f = ["positions"]
        if "velocities" in self._layout.first or "momenta" in self._layout.first:
            f.append("velocities")
        if "forces" in self._layout.first:
            f.append("forces")
        self.fields = tuple(f)
        if "momenta" in self._layout.first and self.masses is None:
            raise TrajectoryFormatError(
                self.path, "momenta need masses, but the species are not elements and there is "
                "no masses column", frame=0, line=line0, fix="add masses:R:1 to Properties")

    def _check_rows0(self, rows: bytes) -> None:
        """Frame 0's atom lines parse with every column of the Properties: a line with a token too few (a
        missing species, say) is named here, at its own frame and line, before anything is taken from it."""
        roles = [r for r in self._layout.first if r in WIDTH and TYPES.get(r) != "S"]
        cmap, _, w = self._layout.colmap(roles)
        out = np.empty((self.n_atoms, max(w, 1)))
        _, st, row, col = _fastparse.parse_rows(rows, 0, self.n_atoms, cmap, out, max(w, 1))
        if st:
            self._raise_rows(0, self._rows0, st, row, col)

    def _species(self, rows: bytes, k: int, line: int) -> np.ndarray:
        tok = self._layout.first.get("species")
        if tok is None:
            return np.full(self.n_atoms, "X")
        sp = column_tokens(rows, self.n_atoms, tok)
        if sp is None:
            raise TrajectoryFormatError(self.path, "an atom line has no species column", frame=k,
                                        line=line, fix="check the Properties of this file")
        return sp.astype(str)

    def _column(self, rows: bytes, role: str, k: int = 0, rows_at: int | None = None
                ) -> np.ndarray:
        """One numeric column of a frame's atom lines (``rows``), in file order."""
        cmap, _, w = self._layout.colmap([role])
        out = np.empty(self.n_atoms)
        _, st, row, col = _fastparse.parse_rows(rows, 0, self.n_atoms, cmap, out, w)
        if st:
            self._raise_rows(k, self._rows0 if rows_at is None else rows_at, st, row, col)
        return out

    def _read_ids(self, rows: bytes) -> None:
        self._perm = None
        self._ids_file = None
        if "id" not in self._layout.first:
            self.ids = np.arange(1, self.n_atoms + 1)
            return
        raw = self._column(rows, "id")
        ids = raw.astype(np.int64)
        line = line_number(self.data_path, self._rows0)
        if not np.array_equal(ids, raw) or len(np.unique(ids)) != len(ids):
            raise TrajectoryFormatError(self.path, "the id column holds repeated or non-integer "
                                        "values", frame=0, line=line,
                                        fix="give every atom a distinct integer id")
        self._ids_file = raw
        self._perm = np.argsort(ids, kind="stable")
        self.ids = ids[self._perm]

    def _masses(self, rows: bytes) -> np.ndarray | None:
        if "masses" in self._layout.first:
            return self._column(rows, "masses") * self._conv.mass
        uniq, inv = np.unique(self.species, return_inverse=True)
        m = masses_of(uniq)
        return None if m is None else m[inv]

    def _plan(self):
        roles = ["positions"]
        roles += [r for r in ("velocities", "momenta", "forces", "id") if r in self._layout.first]
        if "momenta" in roles and "velocities" in roles:
            roles.remove("momenta")
        return self._layout.colmap(roles)

    def read(self, frames, fields=None) -> dict:
        """Read frames by index (ascending); see :meth:`FrameSource.read`.

        Returns positions (A), velocities (A/ps), forces (eV/A), cells (A, rows a, b, c;
        NaN without a Lattice) and origins (zeros), atoms in id order; and the :attr:`frame_fields` asked for.
        """
        frames = np.asarray(frames, dtype=np.int64).ravel()
        if len(frames) and (frames.min() < 0 or frames.max() >= self.n_frames):
            raise IndexError(f"frames must lie in 0..{self.n_frames - 1}")
        per_frame = take_frame_fields(self._frame_data, frames, wanted_frame_fields(self, fields))
        if per_frame and fields is not None and not set(self.fields) & set(fields):
            return per_frame                                 # the comment values only: no atom line is read
        out = empty_frames(len(frames), self.n_atoms, self.fields)
        out.update(per_frame)
        if not len(frames):
            return out
        cmap, slices, w = self._plan()
        raw = np.empty((len(frames), self.n_atoms, w))
        with open(self.data_path, "rb") as f:
            for i0, i1 in contiguous_runs(frames, self._offsets[:-1], self._offsets[1:], max_bytes=RUN_BYTES):
                lo = int(self._offsets[frames[i0]])
                buf = pread_all(f.fileno(), int(self._offsets[frames[i1 - 1] + 1]) - lo, lo)
                for i in range(i0, i1):
                    off = int(self._offsets[frames[i]]) - lo
                    self._parse_frame(buf, off, lo, int(frames[i]), raw[i], out["cells"][i],
                                      cmap, w)
                self._check_run_species(buf, self._offsets[frames[i0:i1]] - lo, frames[i0:i1])
        self._finish(raw, slices, out, frames)
        return out

    def _parse_frame(self, buf: bytes, off: int, lo: int, k: int, raw: np.ndarray,
                     cell: np.ndarray, cmap: bytes, w: int) -> None:
        nl1 = buf.find(b"\n", off)
        nl2 = buf.find(b"\n", nl1 + 1)
        nl2 = len(buf) if nl2 < 0 else nl2
        if self.has_cell:
            cell[:] = self._cell(buf[nl1 + 1:nl2], k, lo + nl1 + 1)
        _, st, row, col = _fastparse.parse_rows(buf, nl2 + 1, self.n_atoms, cmap, raw, w)
        if st:
            self._raise_rows(k, lo + nl2 + 1, st, row, col)

    def _cell(self, comment: bytes, k: int, at: int) -> np.ndarray:
        """Cell (rows a, b, c, file units) from a comment line; cached for repeated Lattice."""
        m = LATTICE.search(comment)
        if m is not None and self._lattice0 is not None and m.group(1) == self._lattice0[0]:
            return self._lattice0[1]
        try:
            cell = np.array(m.group(1).split(), dtype=float)
            if cell.size != 9 or not np.isfinite(cell).all():
                raise ValueError
        except (AttributeError, ValueError):
            raise TrajectoryFormatError(
                self.path, "the comment line has no Lattice=\"ax ay az bx by bz cx cy cz\" "
                "(nine numbers)", frame=k, line=line_number(self.data_path, at),
                fix="write the cell of every frame as nine numbers, rows a, b, c") from None
        cell = cell.reshape(3, 3)
        if not abs(np.linalg.det(cell)) > 1e-12 * max(float(np.abs(cell).max()), 1e-300) ** 3:
            raise TrajectoryFormatError(
                self.path, f"the Lattice vectors {m.group(1).decode('utf-8', 'replace').strip()!r} span no volume "
                "(a zero or flat cell), so positions cannot be placed in it", frame=k,
                line=line_number(self.data_path, at),
                fix="write the periodic cell as Lattice=\"ax ay az bx by bz cx cy cz\" (rows a, b, c, in A), or "
                    "leave Lattice out for a cluster without a cell")
        if self._lattice0 is None:
            self._lattice0 = (m.group(1), cell)
        return cell

    def _raise_rows(self, k: int, rows_at: int, st: int, row: int, col: int):
        line = line_number(self.data_path, rows_at) + row
        with open(self.data_path, "rb") as f:
            f.seek(rows_at)
            text = b""
            for _ in range(row + 1):
                text = f.readline()
        toks = text.split()
        what = ROW_STATUS.get(st, f"parse error {st}")
        if st in (1, 4) and col < len(toks):
            what += f" ({toks[col].decode('utf-8', 'replace')!r}, column {col + 1})"
        if st == 2:
            what += f" ({len(toks)} found, {self._layout.ntok} expected from Properties)"
        raise TrajectoryFormatError(self.path, what, frame=k, line=line,
                                    fix="the file is damaged or its Properties do not match the "
                                    "atom lines; repair or regenerate it")

    def _finish(self, raw: np.ndarray, slices: dict, out: dict, frames: np.ndarray) -> None:
        """Unit conversion and id ordering of parsed rows."""
        c = self._conv
        order = self._order(raw[..., slices["id"].start] if "id" in slices else None, frames)
        raw = raw if order is None else np.take_along_axis(raw, order[..., None], axis=1)
        out["positions"][:] = raw[..., slices["positions"]]
        if c.length != 1.0:
            out["positions"] *= c.length
            out["cells"] *= c.length
        if "velocities" in slices:
            out["velocities"][:] = raw[..., slices["velocities"]]
            if c.velocity != 1.0:
                out["velocities"] *= c.velocity
        elif "momenta" in slices:
            out["velocities"][:] = raw[..., slices["momenta"]] / (
                self.masses[:, None] * _units.NATURAL_TIME_PS)
        if "forces" in slices:
            out["forces"][:] = raw[..., slices["forces"]]
            if c.force != 1.0:
                out["forces"] *= c.force

    def _order(self, ids: np.ndarray | None, frames: np.ndarray) -> np.ndarray | None:
        """Per-frame atom order (n_frames, n_atoms) placing atoms by id, or None."""
        if ids is None:
            return None
        if (ids == self._ids_file).all():
            return np.broadcast_to(self._perm, ids.shape)
        order = np.argsort(ids, axis=1, kind="stable")
        bad = np.flatnonzero((np.take_along_axis(ids, order, 1) != self.ids).any(axis=1))
        if len(bad):
            k = int(frames[bad[0]])
            raise TrajectoryFormatError(self.path, "the atom ids differ from frame 0's", frame=k,
                                        line=line_number(self.data_path, int(self._offsets[k])) + 2,
                                        fix="trajmodes needs the same atoms in every frame")
        return order

    def token(self) -> tuple:
        """(class name, abs path, size, mtime_ns, units, lj_scales)."""
        st = os.stat(self.path)
        lj = None if self.lj_scales is None else tuple(sorted(self.lj_scales.items()))
        return (type(self).__name__, self.path, st.st_size, st.st_mtime_ns, self._units_given, lj)
