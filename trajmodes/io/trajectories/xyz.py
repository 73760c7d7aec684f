"""Reader for extended XYZ and plain XYZ trajectories.

The file is indexed once with the compiled ``scan_xyz`` kernel in 64 MB windows
(byte offset of every frame); :meth:`XYZSource.read` then reads each
contiguous run of frames with one ``os.pread`` and parses the atom rows with
the compiled ``parse_rows`` kernel (GIL released).  Gzipped files are
decompressed once into the cache directory (``$TRAJMODES_CACHE``, default
``~/.cache/trajmodes``). The format itself (comment keys, Properties) is
:mod:`trajmodes.io.trajectories.xyz_format`. The reader also holds what the comment lines state besides the cell
(the time unit, the steps and times of every frame, the per-frame energy and pressure: ASE's ``energy=``,
``stress=`` or ``virial=``, in trajmodes' units) and the checks the file gets on opening and on reading: the
time-scale check (a time unit misread by 1000 must not pass silently: velocities against displacements,
:func:`trajmodes.io.trajectories.times.time_scale`) and the species checks (every atom keeps frame 0's species: one
vectorised comparison per run of frames read, then the frame and line that differ).
"""
from __future__ import annotations

import dataclasses
import os
import warnings

import numpy as np

from trajmodes import _fastparse
from trajmodes import units as _units
from trajmodes.errors import TrajectoryFormatError, TruncatedFrameWarning, UnitsWarning
from trajmodes.io.filesystem import (byte_order_mark_error, contiguous_runs, is_gzip, line_number, plain_path,
                                     pread_all)
from trajmodes.io.trajectories.base import (FRAME_FIELDS, FrameSource, empty_frames, nonpositive_masses,
                                            pressure_from_tensor, read_time_scale, refuse_lammps_options,
                                            refuse_several_files, take_frame_fields, wanted_frame_fields)
from trajmodes.io.trajectories.gpumd import GPUMD_TIME_PS, is_bead_dump
from trajmodes.io.trajectories.xyz_format import (ASE_STRESS, CP2K_COMMENT, CP2K_STEP, CP2K_TIME, ENERGY,
                                                  LAMMPS_ENERGY, LAMMPS_PRESSURE, LATTICE, PBC, PLAIN_PROPERTIES,
                                                  PROPERTIES, ROW_STATUS, STEP, STRESS, TIME, TYPES, VIRIAL, WIDTH,
                                                  column_tokens, comment_at, comment_tensor, comment_value,
                                                  committee_size, ipi_ase_output, member_role, parse_comment,
                                                  parse_pbc, parse_properties, stated_time_unit, xyz_frame_index,
                                                  time_unit_factor)
from trajmodes.io.trajectories.xyz_species import SpeciesLines
from trajmodes.lattice.elements import masses_of

#: largest byte range read by one os.pread
RUN_BYTES = 64 << 20


def _number(token: bytes) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


#: the time unit of each LAMMPS unit style, in words
_TIME_UNIT_OF = {"metal": "ps", "real": "fs", "si": "s", "electron": "fs", "lj": "tau"}


class XYZSource(FrameSource):
    """An extended XYZ or plain XYZ trajectory (optionally gzipped).

    Parameters
    ----------
    path : str or os.PathLike
        The file (``.gz`` is decompressed once into the cache directory).
    units : str, optional
        LAMMPS unit style of the numbers in the file; converted to metal on reading. Default: the style the comment
        line states (``units=real``: Å, fs, kcal/mol), else ``"metal"`` (Å, ps, Å/ps, eV/Å); a style given
        here that differs from the file's is refused. ``"<style>:fs"`` (or ``:ps``, ``:ns``) reads ``time=`` and the
        velocities in that time unit, ``"<style>:A/fs"`` the velocities alone. ``momenta`` are taken in ASE units
        (amu Å / t_ASE) whatever the style. Velocities and ``time=`` are checked against each other (the frames'
        displacements over the time between them) whatever the units stated.
    lj_scales : dict, optional
        ``{"sigma": A, "epsilon": eV, "mass": amu}`` for ``units="lj"``.
    md_timestep, frame_interval : float, optional
        In ps, used when comments carry no ``time=`` (:func:`trajmodes.io.trajectories.times.frame_times`): the MD time
        step, when the comments carry steps (``step=``, ``Timestep=``, LAMMPS' ``Timestep: N``), so that
        times = step * md_timestep; or the time between frames.

    Attributes
    ----------
    frame_fields : tuple of str
        ``potential_energy`` from the comment's ``energy=`` (eV after conversion), and ``pressure_tensor`` with
        its ``pressure`` (GPa, positive when compressed) from ASE's ``stress="..."`` (9 values, or 6 in Voigt
        order xx yy zz yz xz xy; energy/length^3 of the unit style, eV/Å³ in metal, positive under tension:
        P = -stress) or else ``virial="..."`` (9 values, energy unit; P = virial / V, with V from the frame's
        Lattice). A key on the first or last frame must be on every frame.
    committee_size : int
        The members of a committee of learned potentials whose forces the atom lines carry
        (:data:`~trajmodes.io.trajectories.xyz_format.COMMITTEE_ARRAYS`, ``forces_0`` ... ``forces_{M-1}``), 0 without.
        :meth:`read` returns them as ``committee_forces`` (frames, members, atoms, 3) eV/Å where ``fields`` is None or
        names them; without a ``forces`` column the frames' ``forces`` are the members' mean.
    extra_shapes : dict
        The per-frame shape of each field beyond :attr:`fields` that :meth:`read` returns when asked for by name:
        ``committee_forces`` (members, atoms, 3) and ``force_std`` (atoms,) or (atoms, 3), the force uncertainty
        sigma in eV/Å (``force_std``, ``forces_std``, ``force_uncertainty``, ...; a variance column, MACE's
        ``forces_var``, is read as its square root).

    Notes
    -----
    Atoms are ordered by the ``id`` column when there is one.  Species are
    checked against frame 0 only for the last frame on opening; call
    :meth:`check_species` to check others.
    """

    format_names = ("xyz", "extxyz")
    needs = 'an (extended) XYZ file needs an atom count as its first line'

    @classmethod
    def can_open(cls, head: bytes, path: str) -> bool:
        """An XYZ file starts with its atom count (a float count too: the reader then names the line)."""
        lines = head.lstrip().split(b"\n", 3)
        first = lines[0].strip()
        return first.isdigit() or _number(first) and len(lines) > 2 and len(lines[2].split()) >= 4

    @classmethod
    def from_options(cls, paths: list[str], fmt: str, format: str | None = None, *, units: str | None = None,
                     lj_scales: dict | None = None, md_timestep: float | None = None,
                     frame_interval: float | None = None, **options) -> XYZSource:
        """One XYZ file; where its format was guessed and the file is a variant this reader refuses, the error says
        that ASE's extended XYZ reader may take it."""
        refuse_lammps_options(paths[0], fmt, options)
        refuse_several_files(paths, fmt)
        if (refused := ipi_ase_output(paths[0])) is not None:
            raise refused
        try:
            return cls(paths[0], units=units, lj_scales=lj_scales, md_timestep=md_timestep,
                       frame_interval=frame_interval)
        except TrajectoryFormatError as exc:
            if format is not None or not getattr(exc, "ase_may_read", True):
                raise
            raise TrajectoryFormatError(exc.path, exc.what, frame=exc.frame, line=exc.line,
                                        fix=(exc.fix + ". " if exc.fix else "") + "ASE's extended XYZ reader may take "
                                            "this variant: format='ase:extxyz' (--format ase:extxyz)") from None

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
        idx = xyz_frame_index(dp)
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
        self.pbc = self._pbc(kv, line0)
        if self.pbc == (False, False, False):
            self.has_cell = False                # a cluster (a molecule in a box): its Lattice is no crystal's cell
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
        self.committee_size = committee_size(self._layout)
        if "forces" in self._layout.first or self.committee_size:
            f.append("forces")                   # a committee alone: its mean
        self.fields = tuple(f)
        self.extra_shapes = {}
        if self.committee_size:
            self.extra_shapes["committee_forces"] = (self.committee_size, self.n_atoms, 3)
        if "force_std" in self._layout.first:
            w = self._layout.widths["force_std"]
            self.extra_shapes["force_std"] = (self.n_atoms,) if w == 1 else (self.n_atoms, 3)
        if "momenta" in self._layout.first and self.masses is None:
            raise TrajectoryFormatError(
                self.path, "momenta need masses, but the species are not elements and there is "
                "no masses column", frame=0, line=line0, fix="add masses:R:1 to Properties")

    def _pbc(self, kv: dict, line: int) -> tuple | None:
        """The periodic directions ``pbc=`` on frame 0's comment line states (None when it states none). trajmodes
        takes a cell periodic along all three (``pbc="T T T"``) or a cluster (``pbc="F F F"``: any Lattice is then
        that of a box, not of a crystal, and the frames are read without a cell); a slab or a wire is refused."""
        said = comment_value(kv, "pbc")
        if said is None:
            return None
        pbc = parse_pbc(said)
        fix = ("write pbc=\"T T T\" for a crystal (a cell periodic along a, b and c) or pbc=\"F F F\" for a cluster "
               "without a periodic cell")
        if pbc is None:
            raise TrajectoryFormatError(self.path, f"cannot read pbc={said!r} as three T or F", frame=0, line=line,
                                        fix=fix)
        if any(pbc) and not all(pbc):
            err = TrajectoryFormatError(self.path, f"pbc={said!r}: the cell is periodic along some axes only (a slab "
                                                   "or a wire), which trajmodes does not take", frame=0, line=line,
                                        fix=fix)
            err.ase_may_read = False
            raise err
        return pbc

    def _check_rows0(self, rows: bytes) -> None:
        """Frame 0's atom lines parse with every column of the Properties: a line with a token too few (a
        missing species, say) is named here, at its own frame and line, before anything is taken from it."""
        roles = [r for r in self._layout.first if (r in WIDTH or r in self._layout.widths) and TYPES.get(r) != "S"]
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
        """The masses (amu, file order): the masses column of frame 0, each checked positive (kept as written in
        ``_masses_file`` for the check of every frame read: :meth:`_check_masses`), else those of the species."""
        self._masses_file = None
        if "masses" in self._layout.first:
            raw = self._column(rows, "masses")
            bad = nonpositive_masses(raw)
            if len(bad):
                i = int(bad[0])
                err = TrajectoryFormatError(
                    self.path, f"{self._atom_words(i)} ({self.species[i]}) has mass {float(raw[i])!r} in the masses "
                               "column: a mass must be a positive number", frame=0,
                    line=line_number(self.data_path, self._rows0) + i,
                    fix="Correct the masses column (amu in metal units), or leave it out for the standard masses "
                        "of the elements")
                err.ase_may_read = False                # not a variant of the format: the data are wrong
                raise err
            self._masses_file = raw
            return raw * self._conv.mass
        uniq, inv = np.unique(self.species, return_inverse=True)
        m = masses_of(uniq)
        return None if m is None else m[inv]

    def _atom_words(self, row: int) -> str:
        """An atom by its line ``row`` (0-based) of a frame in file order: its id where the file has ids."""
        ids = getattr(self, "_ids_file", None)
        return f"atom id {int(ids[row])}" if ids is not None else f"atom {row + 1}"

    def _plan(self, fields=None):
        """The columns parsed for ``fields`` (None: all): a committee's and the uncertainty only where asked for (or
        where the committee's mean stands for the forces)."""
        roles = ["positions"]
        roles += [r for r in ("velocities", "momenta", "forces", "id", "masses") if r in self._layout.first]
        if "momenta" in roles and "velocities" in roles:
            roles.remove("momenta")
        mean = "forces" not in self._layout.first and (fields is None or "forces" in fields)
        if self.committee_size and (fields is None or "committee_forces" in fields or mean):
            roles += [member_role(m) for m in range(self.committee_size)]
        if "force_std" in self._layout.first and (fields is None or "force_std" in fields):
            roles.append("force_std")
        return self._layout.colmap(roles)

    def read(self, frames, fields=None) -> dict:
        """Read frames by index (ascending); see :meth:`FrameSource.read`.

        Returns positions (Å), velocities (Å/ps), forces (eV/Å), cells (Å, rows a, b, c;
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
        cmap, slices, w = self._plan(fields)
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
        if "masses" in slices:
            self._check_masses(raw[..., slices["masses"].start], order, frames)
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
        if member_role(0) in slices:
            members = np.stack([raw[..., slices[member_role(m)]] for m in range(self.committee_size)], axis=1)
            members *= c.force
            out["committee_forces"] = members
            if "forces" not in slices:
                out["forces"][:] = members.mean(axis=1)
        elif "forces" not in slices:
            out.pop("forces", None)                  # a committee's mean, not asked for
        if "force_std" in slices:
            std = raw[..., slices["force_std"]]
            std = np.sqrt(np.maximum(std, 0.0)) if self._layout.variance else std
            out["force_std"] = (std[..., 0] if std.shape[-1] == 1 else std) * c.force

    def _check_masses(self, masses: np.ndarray, order: np.ndarray | None, frames: np.ndarray) -> None:
        """The masses column of the frames read (frames, atoms; atoms in id order, as written) must be frame 0's:
        the masses of an MD run do not change, and only frame 0's are used. Names the first frame, atom and line
        that differ."""
        ref = self._masses_file if self._perm is None else self._masses_file[self._perm]
        same = masses == ref[None]
        if same.all():
            return
        same |= np.isclose(masses, ref[None], rtol=1e-6, atol=0.0)        # the same mass written to fewer digits
        if same.all():
            return
        f, i = (int(x[0]) for x in np.nonzero(~same))
        k = int(frames[f])
        row = int(order[f, i]) if order is not None else i
        who = f"atom id {int(self.ids[i])}" if self._perm is not None else f"atom {i + 1}"
        raise TrajectoryFormatError(
            self.path, f"{who} has mass {float(masses[f, i])!r} in the masses column of this frame, "
                       f"but {float(ref[i])!r} in frame 0: the masses of an MD run do not change", frame=k,
            line=line_number(self.data_path, int(self._offsets[k])) + 2 + row,
            fix="trajmodes follows a fixed set of atoms with fixed masses: correct the masses column, or split the "
                "file where the masses change")

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

    # -- what the comment lines state: time unit, steps and times, energy and stress

    def _stated_units(self, kv: dict, line: int) -> None:
        """The unit style (``units=real``: a LAMMPS unit style), the time unit of ``time=`` and the velocity unit
        where the comment line states them (CP2K's comment: fs; GPUMD's ``dump_beads`` files: fs and Å/fs,
        :func:`~trajmodes.io.trajectories.gpumd.is_bead_dump`), applied to the conversion (times in ps, velocities
        in Å/ps). A velocity unit stated alone (``velocity_unit=A/fs``) says nothing of ``time=``: its unit stays the
        style's, and the velocities are checked against the frames' displacements over those times."""
        self._stated_style(kv, line)
        try:
            t, v, said = stated_time_unit(kv)
        except ValueError as exc:
            raise TrajectoryFormatError(self.path, str(exc), frame=0, line=line,
                                        fix="write time_unit=fs (or ps, ns) on the comment lines") from None
        if t is None and self._cp2k:
            t, v, said = 1e-3, None, "CP2K's 'time =' (fs)"
        elif t is None and v is None and is_bead_dump(self.path, self._comment0):
            t, v, said = GPUMD_TIME_PS, GPUMD_TIME_PS, "GPUMD's dump_beads: Time= in fs, velocities in A/fs"
        given = self._time_unit
        if given is not None and (t, v) != (None, None) and (t or v) != given[0]:
            raise TrajectoryFormatError(self.path, f"the comment line states {said}, but {given[2]}", frame=0,
                                        line=line, fix="drop the time unit from units=: the file's is used")
        if given is None and t is not None:
            self._time_stated = said
        if given is None and (t, v) != (None, None):
            self._time_unit = (t if t is not None else 1.0 * self._conv.time,
                               v if v is not None else self._conv.length / self._conv.velocity, said)
        if self._time_unit is not None:
            tt, tv, _ = self._time_unit
            self._conv = dataclasses.replace(self._conv, time=tt, velocity=self._conv.length / tv)

    def _stated_style(self, kv: dict, line: int) -> None:
        """``units=<LAMMPS unit style>`` on the comment line (``real``: Å, fs, kcal/mol, Å/fs, g/mol): the file's
        numbers are converted from that style; a different style given as ``units=`` is refused."""
        style = comment_value(kv, "units", "unit")
        if not isinstance(style, str) or style.strip().lower() not in _units.STYLES:
            return
        style = style.strip().lower()
        self._style_stated = f"units={style} on the comment lines"
        if self._style_given is not None and self._style_given != style:
            raise TrajectoryFormatError(self.path, f"the comment line states units={style}, but "
                                                   f"units={self._units_given!r} was given", frame=0, line=line,
                                        fix=f"drop units= (the file's units={style} is used) or pass "
                                            f"units={style!r}")
        try:
            self._conv = _units.conversion(style, self.lj_scales)
        except ValueError as exc:
            raise TrajectoryFormatError(self.path, f"the comment line states units={style}: {exc}", frame=0,
                                        line=line, fix="pass lj_scales= with the physical scales of the run") from None
        self.units = style
        if self._time_stated is None:
            self._time_stated = f"units={style}: {_TIME_UNIT_OF.get(style, 'its time unit')}"

    def _metadata(self) -> None:
        """Steps and times (ps) of every frame, from comment keys or ``timestep``; the per-frame energy and
        pressure from ``energy=``, ``stress=`` or ``virial=`` (:meth:`_frame_quantities`)."""
        n = self.n_frames
        c0 = self._comment0
        stamps = (("time", CP2K_TIME), ("step", CP2K_STEP)) if self._cp2k else (("time", TIME), ("step", STEP))
        keys = {name: rx for name, rx in stamps if rx.search(c0)}
        keys.update(self._result_keys())
        values = self._scan_keys(keys)
        times, steps = values.get("time"), values.get("step")
        from trajmodes.io.trajectories.times import frame_times
        self.steps = steps if steps is not None else np.arange(n)
        said = "" if self._time_stated is None else f" ({self._time_stated})"
        try:
            axis = frame_times(self.path, self.steps, None if times is None else times * self._conv.time,
                               what_in_file=("CP2K's 'time ='" if self._cp2k else "time=") + said,
                               md_timestep=self._given_times[0], frame_interval=self._given_times[1],
                               has_steps=steps is not None, stacklevel=6)
        except TrajectoryFormatError as exc:
            exc.ase_may_read = False            # a repeated time: not a variant of the format that ASE reads
            if exc.frame is not None and exc.line is None:
                exc = TrajectoryFormatError(exc.path, exc.what, frame=exc.frame, fix=exc.fix,
                                            line=line_number(self.data_path, int(self._offsets[exc.frame])) + 1)
                exc.ase_may_read = False
            raise exc from None
        self.times, self.md_timestep, self.time_axis = axis.times, axis.md_timestep, axis.source
        self._frame_quantities(values)

    def _result_groups(self) -> tuple:
        """The per-frame quantities the comment lines may carry, each with the keys that give it, in the order they
        are taken: the energy (LAMMPS' ``Potential_energy=`` on a ``dump extxyz`` file, ASE's ``energy=``), and the
        pressure tensor (LAMMPS' ``Stress=``, which is the pressure tensor, on a ``dump extxyz`` file; ASE's
        ``stress=``, else ``virial=``)."""
        if self._lammps_extxyz:
            return ((("energy", LAMMPS_ENERGY), ("energy", ENERGY)),
                    (("pressure", LAMMPS_PRESSURE), ("stress", ASE_STRESS), ("virial", VIRIAL)))
        return ((("energy", ENERGY),), (("stress", STRESS), ("virial", VIRIAL)))

    def _result_keys(self) -> dict:
        """The comment keys of the results (energy, and the stress, pressure or virial) on frame 0 or the last frame:
        a key on either is looked for on every frame (and must be there); of each quantity the first key found
        (:meth:`_result_groups`). A key on neither but on a frame between them is refused by :meth:`_scan_keys`."""
        ends = [self._comment0]
        if self.n_frames > 1:
            with open(self.data_path, "rb") as f:
                ends.append(comment_at(f.fileno(), int(self._offsets[self.n_frames - 1])))
        keys = {}
        for group in self._result_groups():
            found = next(((name, rx) for name, rx in group if any(rx.search(c) for c in ends)), None)
            if found is not None:
                keys[found[0]] = found[1]
        return keys

    def _frame_quantities(self, values: dict) -> None:
        """``potential_energy`` (eV) and the pressure tensor (GPa, P = -stress = virial / V) with its pressure,
        from the comment values in the file's units; sets :attr:`frame_fields`."""
        c = self._conv
        self._frame_data = {}
        if "energy" in values:
            self._frame_data["potential_energy"] = values["energy"] * c.energy
        if "pressure" in values:                # LAMMPS' dump extxyz: the pressure tensor, in the style's unit
            tensor = values["pressure"] * c.pressure
        elif "stress" in values:
            tensor = -values["stress"] * (c.energy / c.length ** 3 * _units.EV_A3_GPA)
        elif "virial" in values:
            volume = np.abs(np.linalg.det(values["cell"])) * c.length ** 3
            tensor = values["virial"] * (c.energy * _units.EV_A3_GPA) / volume[:, None, None]
        else:
            tensor = None
        if tensor is not None:
            self._frame_data["pressure"] = pressure_from_tensor(tensor)
            self._frame_data["pressure_tensor"] = tensor
        self.frame_fields = tuple(f for f in FRAME_FIELDS if f in self._frame_data)

    def _scan_keys(self, keys: dict) -> dict:
        """The values of the comment ``keys`` (name -> regex) of every frame, in the file's units: ``time``,
        ``energy`` (n_frames,), ``step`` (n_frames,) int, ``stress``, ``virial`` (n_frames, 3, 3), and with
        ``virial`` the ``cell`` of every frame (n_frames, 3, 3)."""
        n = self.n_frames
        parse = {"time": float, "step": int, "energy": float, "stress": comment_tensor, "virial": comment_tensor,
                 "pressure": comment_tensor}
        out = {k: [None] * n for k in keys}
        if "virial" in keys:
            out["cell"] = np.empty((n, 3, 3))
        # what every frame must state as frame 0 does (its columns, its periodic directions), and the quantities
        # frame 0 and the last frame lack, which no frame may carry
        same = [(name, rx, m.group(1) if m else None) for name, rx in (("Properties", PROPERTIES), ("pbc", PBC))
                for m in [rx.search(self._comment0)]]
        absent = [group for group in self._result_groups() if not any(name in keys for name, _ in group)]
        with open(self.data_path, "rb") as f:
            fd = f.fileno()
            for k, s in enumerate(self._offsets[:-1].tolist()):
                c = comment_at(fd, s)
                if k:
                    self._check_comment(c, k, s, same, absent)
                for key, rx in keys.items():
                    m = rx.search(c)
                    try:
                        out[key][k] = parse[key](m.group(1))
                    except (AttributeError, ValueError) as exc:
                        why = f" ({exc})" if m is not None else ""
                        raise TrajectoryFormatError(
                            self.path, f"the comment line has no readable {key}= value{why}",
                            frame=k, line=line_number(self.data_path, s) + 1,
                            fix=f"write {key}= on every frame (or on none)") from None
                if "virial" in keys:
                    out["cell"][k] = self._virial_cell(fd, c, k, s)
        return {k: np.array(v, dtype=np.int64 if k == "step" else float) for k, v in out.items()}

    def _check_comment(self, comment: bytes, k: int, start: int, same: list, absent: list) -> None:
        """Frame ``k``'s comment line (the frame starts at byte ``start``) states the Properties and pbc of frame 0
        (``same``: (name, regex, frame 0's value)), and none of the quantities (``absent``: groups of
        :meth:`_result_groups`) that frame 0 and the last frame lack: a column or a value that comes or goes in the
        middle of the file would otherwise be read with frame 0's layout, or dropped without a word."""
        for name, rx, first in same:
            m = rx.search(comment)
            got = m.group(1) if m else None
            if got != first and name == "Properties":
                self._check_members(got, k, start)
            if got != first:
                err = TrajectoryFormatError(
                    self.path, f"the comment line states {self._said(name, got)}, but frame 0 "
                               f"{'has' if first is None else 'states'} {self._said(name, first)}", frame=k,
                    line=line_number(self.data_path, start) + 1,
                    fix=f"write the same {name} on every frame (trajmodes reads every frame with frame 0's): split "
                        "the file where they change")
                err.ase_may_read = False
                raise err
        for group in absent:
            for name, rx in group:
                if rx.search(comment):
                    err = TrajectoryFormatError(
                        self.path, f"the comment line has {name}=, which frame 0 and the last frame have not: it "
                                   "would be dropped", frame=k, line=line_number(self.data_path, start) + 1,
                        fix=f"write {name}= on every frame (or on none), or split the file where it begins or ends")
                    err.ase_may_read = False
                    raise err

    def _check_members(self, properties: bytes | None, k: int, start: int) -> None:
        """Frame ``k``'s Properties (it differs from frame 0's) must give the committee frame 0 gives: a committee that
        gains or loses members is refused as such, with the frame and line."""
        line = line_number(self.data_path, start) + 1
        try:
            layout = parse_properties(self.path, (properties or b"").decode("utf-8", "replace"), line)
        except TrajectoryFormatError:
            return                                            # not a layout at all: said as a change of Properties
        got = committee_size(layout)
        if got != self.committee_size:
            err = TrajectoryFormatError(
                self.path, f"the atom lines carry the forces of a committee of {got} members, but frame 0's carry "
                           f"{self.committee_size}", frame=k, line=line,
                fix="write every member of the committee on every frame (the same members in the same columns), or "
                    "split the file where the committee changes")
            err.ase_may_read = False
            raise err

    @staticmethod
    def _said(name: str, value: bytes | None) -> str:
        return f"no {name}" if value is None else f"{name}={value.decode('utf-8', 'replace')}"

    def _virial_cell(self, fd: int, comment: bytes, k: int, start: int) -> np.ndarray:
        """The cell of frame ``k`` (starting at byte ``start``), which ``virial=`` needs for the volume."""
        if not self.has_cell:
            raise TrajectoryFormatError(self.path, "virial= needs the cell volume, but the comment line has no "
                                                   "Lattice=", frame=k, line=line_number(self.data_path, start) + 1,
                                        fix="write Lattice=\"ax ay az bx by bz cx cy cz\" on every frame, or "
                                            "stress= instead of virial=")
        try:
            return self._cell(comment, k, start)
        except TrajectoryFormatError:                       # again, with the comment's own line
            return self._cell(comment, k, start + pread_all(fd, 1 << 16, start).find(b"\n") + 1)

    # -- the time-scale and species checks

    #: the time-scale check on opening reads this many consecutive frames from the start (the frame interval their
    #: positions and velocities imply: :func:`trajmodes.io.trajectories.times.frame_interval_estimate`), and frames
    #: spread over the file, all in one read (fewer for large frames: about 4 million atom lines in all)
    SCALE_CONSECUTIVE, SCALE_SPREAD, SCALE_ATOM_LINES = 128, 8, 4_000_000

    def _check_time_scale(self) -> None:
        """A time unit misread (fs as ps), or a time step off by any factor, must not pass silently. Velocities and
        frame times are checked against each other (the frame interval that the positions and velocities of the first
        consecutive frames imply: :func:`trajmodes.io.trajectories.times.time_scale`, kept as ``time_step_check``; the
        time axis notes why the frames could not tell, where they could not) whenever the file has both, whatever units
        it or the caller states; the mean vibration frequency of the velocities (or of the finite differences) must
        be a crystal's, else the file is refused, or, where its units are stated (on the comment lines or by
        ``units=``), a :class:`~trajmodes.errors.UnitsWarning` says so."""
        known = not self.time_axis.startswith("ASSUMED")
        stated = self._time_unit is not None or self._style_stated is not None
        got = read_time_scale(self, np.diff(self._offsets), consecutive=self.SCALE_CONSECUTIVE,
                              spread=self.SCALE_SPREAD, atom_lines=self.SCALE_ATOM_LINES)
        if got is None:
            return
        what = got.mismatch()
        if what is None:
            return
        if stated and got.mismatch() != dataclasses.replace(got, thz=None).mismatch():
            # the frequency alone is off, in units that are stated: said, not refused
            said = self._time_unit[2] if self._time_unit is not None else self._style_stated
            warnings.warn(f"{self.path}: {what}, in the units stated ({said}). If they are not the file's, read it "
                          "with the right units= (--units)", UnitsWarning, stacklevel=5)
            return
        err = TrajectoryFormatError(self.path, what, fix=self._time_scale_fix(got, known))
        err.ase_may_read = False                            # not a variant of the format: ASE would misread it too
        raise err

    def _time_scale_fix(self, got, known: bool) -> str:
        """What to do about a time-scale mismatch, from what the file and the caller state."""
        said = self._time_unit[2] if self._time_unit is not None else self._style_stated
        off = got.disagrees
        from_file = self.time_axis.startswith(("time=", "CP2K"))
        lammps = (" (LAMMPS' dump extxyz writes Time= and the velocities in the run's units: units='real' for a run "
                  "in real units)") if self._lammps_extxyz else ""
        if off and not said and got.slope > 1 and _units.time_unit_named(1.0 / got.slope) == _units.ASE_TIME_NAME:
            # about 98: velocities in ASE's own unit (atoms.get_velocities()) read as A/ps
            return (f"If the times are right, the velocities are in A/{_units.ASE_TIME_NAME} (ASE's own velocity unit: "
                    "atoms.get_velocities(), A per sqrt(amu A^2/eV) = 10.18 fs): read the file with "
                    f"units='metal:A/{_units.ASE_TIME_NAME}' (--units metal:A/{_units.ASE_TIME_NAME}) or write "
                    f"velocity_unit=A/{_units.ASE_TIME_NAME} on its comment lines")
        if off and got.given is not None and got.interval is not None and not got.unit_misread:
            # a factor that no unit misread explains (2: a time step set by a variable, a default assumed)
            said_est = f"the frames themselves say {got.interval.ps:.4g} ps between frames"
            if from_file:
                return (f"The frame times are the {self.time_axis}, read in ps; {said_est}: correct the times (or the "
                        "velocities) the file states (a frame_interval= given is not used while the file states "
                        "times)")
            return (f"The frame times come from the {self.time_axis}: give the run's own, md_timestep=<ps per MD step> "
                    f"(--md-timestep) or frame_interval=<ps between frames> (--frame-interval); {said_est}. If the "
                    "velocities are in another unit, read with units= (--units)")
        if off and said:
            unit = {1e-3: "fs", 1.0: "ps", 1e3: "ns"}
            tu = unit.get(self._conv.time, f"{self._conv.time:g} ps")
            vu = unit.get(self._conv.length / self._conv.velocity, "another time unit")
            return (f"The units stated ({said}) do not fit the data: the frame times are read in {tu} and the "
                    f"velocities in A/{vu}. Correct the units stated (time_unit= and velocity_unit= on the comment "
                    "lines, or units='metal:fs', units='metal:A/fs' given)" + lammps)
        if off and got.slope > 1:
            return ("If the velocities are in A/fs and the times in ps, read the file with units='metal:A/fs' (--units "
                    "metal:A/fs) or write velocity_unit=A/fs on its comment lines")
        if off and from_file:
            return (f"The frame times are the {self.time_axis}, read in ps; if they are in fs, write time_unit=fs on "
                    "the comment lines, or read the file with units='metal:fs' (--units metal:fs: times and "
                    "velocities in fs)" + lammps)
        if from_file and self._lammps_extxyz:
            return ("The file is LAMMPS' dump extxyz, which writes Time=, the velocities, forces and energies in the "
                    "run's units: read it with units='real' (--units real) for a run in real units (fs, A/fs, "
                    "kcal/mol); units='metal:ps' reads it as ps (with a warning)")
        if from_file:
            return ("If the file is in fs (time= in fs, velocities in A/fs), read it with units='metal:fs' "
                    "(--units metal:fs) or write time_unit=fs on its comment lines; units='metal:ps' reads it as ps "
                    "(with a warning)")
        if known:
            return (f"The frame times come from the {self.time_axis}: md_timestep= and frame_interval= are in ps "
                    "(10 fs is 0.01); if the velocities are in A/fs, read with units='metal:fs' (--units metal:fs); "
                    "units='metal:ps' reads the file as it is (with a warning)")
        return ("If the velocities are in A/fs, read the file with units='metal:fs' (--units metal:fs); "
                "units='metal:ps' reads it as it is (with a warning)")

    @property
    def velocity_time_unit(self) -> float:
        """ps per time unit of the velocities as read (1: Å/ps; 1e-3: Å/fs, given, stated or the style's)."""
        return self._conv.length / self._conv.velocity

    @property
    def _lammps_extxyz(self) -> bool:
        """Whether frame 0's comment line is LAMMPS' ``dump extxyz`` header (``Timestep=`` and ``Time=`` keys)."""
        c = getattr(self, "_comment0", b"")
        return b"Timestep=" in c and b"Time=" in c

    def _check_run_species(self, buf, offsets: np.ndarray, frames: np.ndarray) -> None:
        """Every atom keeps frame 0's species in the frames read (one vectorised comparison of the first bytes of
        the atom lines per run of frames, :class:`~trajmodes.io.trajectories.xyz_species.SpeciesLines`, where the
        species is the first token of a line; the frame that differs is then named with its line by
        :meth:`check_species`)."""
        if "species" not in self._layout.first or not len(frames):
            return
        if self._layout.first.get("species") != 0:
            self.check_species(frames)                    # not the first token of a line: the general check
            return
        if getattr(self, "_species_lines", None) is None:
            self._species_lines = SpeciesLines(self.species if self._perm is None else
                                               self.species[np.argsort(self._perm)])
        bad = self._species_lines.differ(buf, offsets)
        if bad.any():                    # atoms in another order, other whitespace, or another species: look closer
            self.check_species(frames[bad])

    def check_species(self, frames=None) -> None:
        """Raise :class:`TrajectoryFormatError` if a frame's species differ from frame 0's.

        Parameters
        ----------
        frames : array of int, optional
            Frames to check (default: all).
        """
        frames = np.arange(self.n_frames) if frames is None else np.asarray(frames).ravel()
        if "species" not in self._layout.first:
            return
        with open(self.data_path, "rb") as f:
            for k in frames.tolist():
                lo, hi = int(self._offsets[k]), int(self._offsets[k + 1])
                buf = pread_all(f.fileno(), hi - lo, lo)
                a = buf.find(b"\n", buf.find(b"\n") + 1) + 1
                try:
                    sp = self._species(buf[a:], k, 0)
                except TrajectoryFormatError:   # again, with the exact line (a costly count)
                    sp = self._species(buf[a:], k, line_number(self.data_path, lo + a))
                order = np.arange(self.n_atoms)
                if self._perm is not None:
                    order = np.argsort(self._column(buf[a:], "id", k, lo + a), kind="stable")
                bad = np.flatnonzero(sp[order] != self.species)
                if len(bad):
                    i = int(order[bad[0]])
                    line = line_number(self.data_path, lo + a)
                    who = f"atom id {int(self.ids[bad[0]])}" if self._perm is not None else f"atom {i + 1}"
                    raise TrajectoryFormatError(
                        self.path, f"species changed: {who} (atom line {i + 1} of this frame) is "
                        f"{sp[i]!r}, frame 0 had {self.species[bad[0]]!r} for that atom",
                        frame=k, line=line + i,
                        fix="trajmodes needs the same atoms in every frame")
