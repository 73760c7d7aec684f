"""Streaming reader of LAMMPS text dumps (``custom`` and ``atom`` styles).

Frames are located by a byte-offset index built with a compiled scan of the file, of a window of each frame where the
frames are long (:func:`trajmodes.io.trajectories.lammps_format.scan_sparse`; saved beside it and reused while size and
mtime are unchanged). A read takes runs of frames that lie back to back on disk, a few MB each, into a buffer the thread
reuses, and parses each run with one call of the compiled frame parser (``_fastparse.parse_dump_frames``: headers,
boxes, atom lines straight into the output arrays at the row of their atom id, the GIL released). A frame that parser
does not take as plainly valid is read again by the general Python path, which reads it or reports what is wrong with
file, frame and line. Everything is converted to metal units at this boundary. The reader also holds the atoms of every
frame (their ids, 64-bit ids read exactly, and the order they are put in; their species and masses from the first frame:
element column, ``species=`` by type, mass column; the checks that every frame holds the same atoms, each of the type
and element it has in the first frame), the time of every frame (ITEM: TIME, else the timestep of the LAMMPS input or
log that names the dump, else LAMMPS' default) and the per-frame quantities (potential energy, pressure and its tensor)
from the log's thermo rows at the frames' steps or from the dump's energy and stress columns (:data:`FROM_COLUMNS`).
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from trajmodes import _fastparse
from trajmodes.errors import TrajectoryFormatError, TruncatedFrameWarning
from trajmodes.io.filesystem import byte_order_mark_error, contiguous_runs, line_number, plain_path, pread_reused
from trajmodes.io.trajectories.base import (FRAME_FIELDS, GPA_A3_EV, FrameSource, heat_flux_matrices,
                                            nonpositive_masses, pressure_from_tensor, take_frame_fields,
                                            tensor_from_components, wanted_frame_fields)
from trajmodes.io.trajectories.lammps_format import (ENERGY_COLUMNS, ROW_STATUS, STRESS_COMPUTES, STRESS_NAMES,
                                                     VECTOR_COLUMNS, DumpLayout, element_column, frame_complete,
                                                     index_dump, row_token_counts, timestep_line)
from trajmodes.io.trajectories.lammps_header import (NONSPACE, Header, foreign_item, misspelled_items,
                                                     no_timestep_error, parse_header)
from trajmodes.io.trajectories.restarts import StepLine, order_by_first_step, same_configuration
from trajmodes.io.trajectories.lammps_data import masses_of_run
from trajmodes.io.trajectories.lammps_elements import ElementLines
from trajmodes.lattice.elements import element_from_mass, masses_of
from trajmodes.units import DEFAULT_DT, conversion

__all__ = ["LammpsDumpSource"]

#: bytes of dump text read and parsed per compiled call: a few MB stay in the cache between the read and the parse
RUN_BYTES = 4 << 20


#: the per-frame quantities a dump's per-atom columns give, and the per-atom outputs each is summed from
FROM_COLUMNS = {"potential_energy": ("energy",), "pressure": ("stress",), "pressure_tensor": ("stress",),
                "heat_current": ("energy", "stress", "velocities")}


class LammpsDumpSource(FrameSource):
    """Frames of one or more LAMMPS text dumps (one trajectory, in order).

    Parameters
    ----------
    paths : str or list of str
        Dump files (plain or gzip).  Frames whose timestep is not larger than an
        earlier frame's (restart duplicates) are dropped.
    units : str, optional
        LAMMPS unit style of the data. An ``ITEM: UNITS`` in the file is authoritative (a different value
        given here is an error); without one, the ``units`` of the LAMMPS input or log beside the dump
        (:func:`trajmodes.io.trajectories.lammps_input.lammps_settings_beside`), else ``"metal"``.
    lj_scales : dict, optional
        Physical scales for ``units="lj"``.
    md_timestep, frame_interval : float, optional
        The MD integration step and the time between frames in ps, for dumps without ``ITEM: TIME``
        (:func:`trajmodes.io.trajectories.times.frame_times`); default: the ``timestep`` of the LAMMPS input or log
        beside the dump, else LAMMPS' default for the unit style, with a warning.
    species : dict or sequence, optional
        Element of each LAMMPS type, ``{1: "Cu"}`` or ``["Cu"]`` (type 1 first), when the
        dump has no ``element`` column.
    masses : dict or sequence, optional
        Mass in amu of each type (overrides masses from elements).
    thermo : str or list of str, optional
        The LAMMPS log(s) of the run (several for a restarted run): their thermo rows give every frame's
        potential energy, pressure and pressure tensor, matched by MD step
        (:mod:`trajmodes.io.trajectories.lammps_log`); their ``units`` command is the unit style when the dump has no
        ``ITEM: UNITS`` and ``units`` is not given. The log's potential energy takes precedence over a per-atom energy
        column.
    energy_column : str, optional
        The column holding each atom's potential energy (``compute ID all pe/atom``), when it is not one of
        :data:`~trajmodes.io.trajectories.lammps_format.ENERGY_COLUMNS` (``c_pe``, ``c_peatom``, ``c_pe_atom``,
        ``c_epot``, ``pe``); its sum over the atoms is the frame's potential energy.
    stress_columns : str or sequence of 6 str, optional
        The per-atom stress (``compute ID all stress/atom NULL``), in the order xx yy zz xy xz yz: a compute as
        ``"c_ID"`` (columns ``c_ID[1]`` .. ``c_ID[6]``, what ``c_ID[*]`` dumps) or six column names. Default: the
        first complete set of ``c_ID[1..6]`` with ID one of
        :data:`~trajmodes.io.trajectories.lammps_format.STRESS_COMPUTES` (``stress``, ``s``, ``sa``, ``satom``, ...),
        else ``sxx syy szz sxy sxz syz``. The frame's pressure tensor is P = -sum_i S_i / V (pressure x volume units,
        bar Å³ in ``metal``, over the box volume V; LAMMPS documentation of ``compute stress/atom``), in GPa; it holds
        the kinetic part when the compute does (its default, as the thermo pressure ``pxx`` ...). The log's pressures,
        when ``thermo=`` is given, take precedence.
    lammps_settings : LammpsSettings, optional
        What the run's input or log says about the dump (:attr:`lammps_settings`), where it was found already: a copy
        of the dump's frames elsewhere (``trajmodes watch`` copies those of a growing dump) has no input beside it.
        Default: found from ``thermo`` or beside the dump, when needed.

    Attributes
    ----------
    frame_fields : tuple of str
        ``potential_energy`` (from the log or the energy column), ``pressure`` and ``pressure_tensor`` (from the
        log or the stress columns), where the data have them.
    thermo_paths : tuple of str
        The logs read.
    """

    format = "lammps-dump"
    format_names = ("lammps", "lammps-dump", "lammpsdump", "dump", "lammpstrj")
    needs = "a LAMMPS dump needs an 'ITEM: TIMESTEP' (or another 'ITEM:') first line"

    @classmethod
    def can_open(cls, head: bytes, path: str) -> bool:      # what it needs: an ITEM: line first
        return head.lstrip().startswith(b"ITEM:")

    @classmethod
    def from_options(cls, paths: list[str], fmt: str, format: str | None = None, *, topology=None,
                     **options) -> LammpsDumpSource:
        """The dumps ``paths`` (one run, restarts included) with the keywords of the constructor."""
        return cls(paths, **options)

    def __init__(self, paths, *, units: str | None = None, lj_scales: dict | None = None,
                 md_timestep: float | None = None, frame_interval: float | None = None, species=None, masses=None,
                 thermo=None, energy_column: str | None = None, stress_columns=None, lammps_settings=None):
        self.paths = [os.fspath(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
        self._input, self._input_found = lammps_settings, lammps_settings is not None
        if not self.paths:
            raise ValueError("no dump files given")
        self._plain = [os.path.abspath(plain_path(p)) for p in self.paths]   # workers may run elsewhere
        self._stamps = [(os.stat(p).st_size, os.stat(p).st_mtime_ns) for p in self.paths]
        self._lj_scales = lj_scales
        self._energy_column = energy_column
        self._stress_columns = stress_columns
        self._thermo = None
        if thermo is not None:
            from trajmodes.io.trajectories.lammps_log import read_thermo
            self._thermo = read_thermo(thermo)
        self.thermo_paths = tuple(self._thermo.paths) if self._thermo is not None else ()
        self._index_files()
        self._read_first_frame(units, species, masses)
        self._join_steps()
        self._frame_times(md_timestep, frame_interval)
        self._frame_quantities()
        self._check_time_step()

    # --- indexing ---------------------------------------------------------------------------
    def _index_files(self) -> None:
        files, starts, ends, steps, times = [], [], [], [], []
        for k, (orig, plain) in enumerate(zip(self.paths, self._plain)):
            with open(plain, "rb") as f:
                first = f.read(64)
            if first.startswith(b"\xef\xbb\xbf"):      # frames are found by byte offsets from the file's start
                raise byte_order_mark_error(orig, first[3:])
            idx = index_dump(plain)
            s, st, t = idx["starts"], idx["steps"], idx["times"]
            size = os.path.getsize(plain)
            if len(s) == 0:
                raise no_timestep_error(orig, plain)
            e = np.append(s[1:], size)
            s = s.copy()
            s[0] = 0
            # the truncation check comes first: a file cut right after "ITEM: TIMESTEP" is an
            # incomplete last frame, not a bad timestep
            if not frame_complete(plain, int(s[-1]), int(e[-1])):
                step = st[-1] if st[-1] >= 0 else "unreadable"
                warnings.warn(f"{orig}: the last frame (frame {len(s) - 1}, timestep {step}) is incomplete "
                              "and was dropped", TruncatedFrameWarning, stacklevel=3)
                s, e, st, t = s[:-1], e[:-1], st[:-1], t[:-1]
            bad = np.flatnonzero(st < 0)
            if len(bad):
                f = int(bad[0])
                raise TrajectoryFormatError(orig, "the ITEM: TIMESTEP value is not an integer", frame=f,
                                            line=timestep_line(plain, int(s[f]), int(e[f])) + 1,
                                            fix="Repair or remove this frame")
            files.append(np.full(len(s), k)); starts.append(s); ends.append(e); steps.append(st); times.append(t)
        order = self._file_order([st for st in steps])
        files = [np.full(len(starts[k]), i) for i, k in enumerate(order)]
        starts, ends, steps, times = ([x[k] for k in order] for x in (starts, ends, steps, times))
        self._file = np.concatenate(files)
        self._start = np.concatenate(starts)
        self._end = np.concatenate(ends)
        steps = np.concatenate(steps)
        times = np.concatenate(times)
        self._local = np.concatenate([np.arange(len(s)) for s in starts])
        if len(self._start) == 0:
            raise TrajectoryFormatError(self.paths[0], "no complete frame: the file is cut short inside its "
                                        "first frame", frame=0, line=1,
                                        fix="Rerun the dump or check that the file was copied completely")
        self.steps, self._raw_times, self.n_frames = steps, times, len(steps)   # as written: joined by _join_steps


    def _join_steps(self) -> None:
        """The frames on one time line (:class:`~trajmodes.io.trajectories.restarts.StepLine`): where the steps go back,
        a restart's repeats are dropped, with a warning (one per junction of files is usual), and the frames after a
        ``reset_timestep`` of the run's input (:attr:`lammps_settings`) are a new segment, whose steps continue."""
        steps = self.steps
        back = np.diff(steps) < 0
        self._raw_steps, self._n_segments = steps, int(back.sum()) + 1
        self._segments = np.concatenate([[0], np.cumsum(back)])    # for the log's rows: where the steps go back
        if not (np.diff(steps) <= 0).any():
            return
        found = self.lammps_settings
        line = StepLine(found.step_resets, found.every) if found is not None else StepLine()
        self._frame_data, self.frame_fields = {}, ()         # _parse before the per-frame quantities are known

        def same(j: int, k: int) -> bool:                    # the configuration of frame j again at frame k
            d = self._parse(np.array([j, k]), ("positions",))      # wrapped anew at the next run's start
            return same_configuration(d["positions"][0], d["cells"][0], d["positions"][1], d["cells"][1])
        keep, continued, _ = line.add(steps, same)
        if line.repeats and (len(self.paths) == 1 or line.repeats > len(self.paths) - 1):
            k = line.first_repeat
            warnings.warn(f"{', '.join(self.paths)}: {line.repeats} frame(s) repeat or go back in timestep and were "
                          f"dropped (kept the first of each timestep; the first dropped: frame {int(self._local[k])} "
                          f"of {self.paths[int(self._file[k])]}, timestep {int(steps[k])})", UserWarning,
                          stacklevel=4)
        for name in ("_file", "_start", "_end", "_local", "_raw_times", "_raw_steps", "_segments"):
            setattr(self, name, getattr(self, name)[keep])
        self.steps, self.n_frames = continued[keep], int(keep.sum())

    def _file_order(self, steps: list) -> list[int]:
        """The files in the order of their first MD step (restart files given out of order are put in order,
        with a warning); the file attributes are reordered to match."""
        first = [int(st[0]) if len(st) else np.iinfo(np.int64).max for st in steps]
        order = order_by_first_step(first, self.paths, "dump files", stacklevel=5)
        if order != list(range(len(first))):
            self.paths = [self.paths[k] for k in order]
            self._plain = [self._plain[k] for k in order]
            self._stamps = [self._stamps[k] for k in order]
        return order

    def _read_first_frame(self, units, species, masses) -> None:
        plain, orig = self._plain[0], self.paths[0]
        with open(plain, "rb") as f:
            buf = f.read(int(self._end[0]) - int(self._start[0]))
        try:
            h = parse_header(buf, 0, len(buf))
        except (ValueError, IndexError) as exc:
            raise TrajectoryFormatError(orig, f"cannot read the frame header: {exc}", frame=0,
                                        line=1 + getattr(exc, "line_offset", 0),
                                        fix=getattr(exc, "fix", None) or "Repair the header or remove this frame"
                                        ) from None
        self._header_units = h.units
        if h.units is not None and units not in (None, h.units):
            raise TrajectoryFormatError(orig, f"the file says ITEM: UNITS {h.units} but units={units!r} was given",
                                        fix=f"Drop units= or pass units={h.units!r}")
        log_units = self._thermo.units if self._thermo is not None else None
        if not self._input_found and (h.units is None and units is None and log_units is None
                                      or not np.all(np.isfinite(self._raw_times))):
            self._input, self._input_found = self._lammps_input(orig), True
        self.units = h.units or units or log_units or (
            self._input.units if self._input and self._input.units else "metal")
        if not (h.units or units or log_units) and self._input is not None and self._input.units is None:
            why = self._input.units_problem
            if why is not None and self._lj_scales is None:    # a restart file's, not LAMMPS' default
                raise TrajectoryFormatError(self._input.path, f"the unit style of the run that writes {orig} cannot "
                                            f"be known: {why}", fix="give the units the run used (--units metal, "
                                            "--units real, ...; an lj run: --lj-scales SIGMA,EPSILON,MASS)")
            if self._lj_scales is None:                   # LAMMPS' default unit style
                raise TrajectoryFormatError(self._input.path, f"it runs the dump {orig} without a units command, so "
                                            "in LAMMPS' default, lj (reduced) units", fix="give the scales, "
                                            "--lj-scales SIGMA,EPSILON,MASS, or the units the run used (--units)")
            self.units = "lj"
        if log_units is not None and log_units != self.units:
            said = f"ITEM: UNITS {h.units}" if h.units else f"units={units!r}"
            raise TrajectoryFormatError(self._thermo.paths[0], f"the log's units command says {log_units}, but the "
                                        f"dump {orig} is {said}", fix="Pass the log of the run that wrote the dump")
        self._conv = conversion(self.units, self._lj_scales)
        self._columns = h.columns
        self._atoms_line = h.atoms_line
        self._layout = DumpLayout(h.columns, orig, line_number(plain, h.rows_offset) - 1, self._energy_column,
                                  self._stress_columns)
        if not self._layout.has_id:
            warnings.warn(f"{orig}: no id column: atoms taken in file order; if the dump was not written sorted "
                          "(dump_modify sort id), the order may change between frames", UserWarning, stacklevel=4)
        self.fields = tuple(self._layout.fields)
        self.unwrapped = self._layout.unwrapped
        self.n_atoms = int(h.natoms)
        rows = np.empty((self.n_atoms, self._layout.nslots))
        self._parse_rows(buf, h, rows, 0, plain, orig)
        ids = self._ids(rows, 0, lambda: line_number(plain, h.rows_offset), (buf, h.rows_offset, len(buf)))
        order = np.argsort(ids, kind="stable")
        self.ids = ids[order]
        rep = np.flatnonzero(self.ids[1:] == self.ids[:-1])       # sorted: a repeat is next to its twin
        if len(rep):
            dup = self.ids[rep[:5]]
            row = int(order[rep[0] + 1])
            raise TrajectoryFormatError(orig, f"duplicate atom ids {dup.tolist()}", frame=0,
                                        line=line_number(plain, h.rows_offset) + row,
                                        fix="Each atom must appear once per frame")
        self._id_lo = int(self.ids[0])
        self._contiguous = bool(self.ids[-1] - self.ids[0] == self.n_atoms - 1)
        self._types = None
        if "type" in self._layout.slot:
            self._types = rows[order, self._layout.slot["type"]].astype(np.int64)
        self.types = self._types
        elements = element_column(buf, h, self.n_atoms)
        self.species = self._species(elements, species, order)
        self._mass_column = None
        if "mass" in self._layout.slot:
            # the mass column is parsed with every frame read and compared with the first frame's (_check_masses)
            self._layout.outputs.setdefault("mass", ("mass",))
            self._mass_column = rows[order, self._layout.slot["mass"]].copy()
            bad = nonpositive_masses(self._mass_column)
            if len(bad):
                i = int(bad[0])
                raise TrajectoryFormatError(orig, f"atom id {int(self.ids[i])} has mass "
                                                  f"{float(self._mass_column[i])!r} in the mass column: a mass must "
                                                  "be a positive number", frame=0,
                                            line=line_number(plain, h.rows_offset) + int(order[i]),
                                            fix="Correct the masses of the run (its mass commands or the data file's "
                                                "Masses section)")
        self.masses = self._masses(rows, order, masses)
        # the compiled parser skips the element column: every read compares it (_check_run_elements)
        self._element_lines = None
        if elements is not None and self.n_frames > 1:
            self._check_last_elements()

    @property
    def lj_scales(self) -> dict | None:
        """The physical scales of a run in units lj as given (``{"sigma": A, "epsilon": eV, "mass": amu}``), or None."""
        return self._lj_scales

    @property
    def stress_columns(self) -> tuple | None:
        """The per-atom stress columns read: six (``compute stress/atom``: xx yy zz xy xz yz) or nine (``compute
        centroid/stress/atom``: then yx zx zy), or None."""
        return self._layout.stress

    # --- reading ----------------------------------------------------------------------------
    def token(self) -> tuple:
        logs = tuple((os.path.abspath(p), os.stat(p).st_size, os.stat(p).st_mtime_ns) for p in self.thermo_paths)
        return ("lammps-dump", tuple(os.path.abspath(p) for p in self.paths), tuple(self._stamps),
                self.units, repr(self._lj_scales), logs, self._layout.energy, self._layout.stress)

    def read(self, frames, fields=None) -> dict:
        """The fields of ``frames`` (:meth:`FrameSource.read`): frames the time-step check parsed on opening are given
        from memory, once each (:meth:`_check_time_step`), the others parsed (:meth:`_parse`)."""
        held = self._held(frames, fields)
        return held if held is not None else self._parse(frames, fields)

    def _parse(self, frames, fields=None) -> dict:
        """The fields of ``frames`` parsed from the file."""
        frames = np.asarray(frames, dtype=np.int64)
        lay = self._layout
        want = wanted_frame_fields(self, fields)
        from_log = self._thermo_values(frames, want)
        # each atom's share of the heat current as a matrix on its velocity (heat_flux_matrices), where asked for
        flux = fields is not None and "heat_flux" in fields and self.has_heat_flux
        summed = tuple(dict.fromkeys([o for f in want if f not in from_log for o in FROM_COLUMNS[f]]
                                     + (list(FROM_COLUMNS["heat_current"]) if flux else [])))
        fields = self.fields if fields is None else tuple(f for f in self.fields if f in fields)
        if want and not fields and not summed:
            return from_log                                 # the log's values only: the dump is not read
        outputs = fields + (("images",) if "positions" in fields and lay.images else ()) + \
            tuple(o for o in summed if o not in fields)
        if self._mass_column is not None and fields:
            outputs += ("mass",)                            # every frame read keeps the first frame's masses
        cmap, filled = lay.plan(outputs)
        n = len(frames)
        arrays = {name: np.empty((n, self.n_atoms, width)) for name, width in filled}
        cells, origins = np.empty((n, 3, 3)), np.empty((n, 3))
        targets = tuple(arrays.values())
        types = self._types.tobytes() if self._types is not None else b""
        for a, b in contiguous_runs(frames, self._start, self._end, self._file, max_bytes=RUN_BYTES):
            k = int(self._file[frames[a]])
            lo, hi = int(self._start[frames[a]]), int(self._end[frames[b - 1]])
            fd = os.open(self._plain[k], os.O_RDONLY)
            try:
                buf = pread_reused(fd, hi - lo, lo)
            finally:
                os.close(fd)
            starts, ends = self._start[frames[a:b]] - lo, self._end[frames[a:b]] - lo
            j = 0
            while j < b - a:
                if lay.has_id:                      # the compiled parser places rows by id; without ids: Python
                    j, status = _fastparse.parse_dump_frames(buf, starts, ends, j, self.n_atoms, self._atoms_line,
                                                             cmap, targets, a, self.ids, types, cells, origins)
                    if status == 0:
                        break
                self._general_frame(bytes(buf[int(starts[j]):int(ends[j])]), int(frames[a + j]), lo + int(starts[j]),
                                    a + j, outputs, arrays, cells, origins)
                j += 1
            self._check_run_elements(buf, starts, ends, frames[a:b])     # the parser skips the element column
        if "mass" in arrays:
            self._check_masses(arrays["mass"][..., 0], frames)
        out = self._assemble(arrays, cells, origins, fields)
        c = self._conv
        if "energy" in arrays:
            out["potential_energy"] = arrays["energy"][..., 0].sum(axis=1) * c.energy
        if "stress" in arrays:
            # P = -sum_i S_i / V, S in pressure x volume of the file's units, V from the file's box
            volume = np.abs(np.linalg.det(cells))
            tensor = tensor_from_components(arrays["stress"][..., :6].sum(axis=1)) * (-c.pressure /
                                                                                     volume[:, None, None])
            out.update((f, tensor if f == "pressure_tensor" else pressure_from_tensor(tensor))
                       for f in want if FROM_COLUMNS[f] == ("stress",) and f not in from_log)
        if flux or "heat_current" in want and "heat_current" not in from_log:
            v = out["velocities"] if "velocities" in out else arrays["velocities"] * c.velocity   # A/ps
            g = heat_flux_matrices(arrays["energy"][..., 0] * c.energy, arrays["stress"], v, self.masses,
                                   c.pressure * GPA_A3_EV)
            if flux:
                out["heat_flux"] = g
            if "heat_current" in want and "heat_current" not in from_log:
                out["heat_current"] = np.einsum("faxb,fab->fx", g, v)
        out.update(from_log)
        return out

    @property
    def columns(self) -> tuple:
        """The dump's columns, as its ``ITEM: ATOMS`` line names them."""
        return tuple(self._columns)

    def heat_current_missing(self) -> tuple:
        """What the dump lacks for the heat current sum_i e_i v_i - sum_i S_i v_i, each in words with the columns (or
        options) that would give it: per-atom potential energies, per-atom stresses, velocities, the atoms' masses;
        empty when the frames carry it."""
        lay, out = self._layout, []
        if lay.energy is None:
            out.append(f"per-atom potential energies (a column {', '.join(ENERGY_COLUMNS)}: compute pe all pe/atom "
                       "dumped as c_pe, or --energy-column NAME)")
        if lay.stress is None:
            ids = ", ".join(STRESS_COMPUTES)
            out.append(f"per-atom stresses (the columns c_ID[1] .. c_ID[9] of compute ID all centroid/stress/atom "
                       f"NULL, or c_ID[1] .. c_ID[6] of compute ID all stress/atom NULL, dumped as c_ID[*] with ID "
                       f"one of {ids}; or {' '.join(STRESS_NAMES)}; or --stress-columns c_ID)")
        if "velocities" not in self.fields:
            out.append("velocities (the columns vx vy vz)")
        if self.masses is None:
            out.append("the atoms' masses (" + ("the run's input and data file do not state them all" if
                                                self.masses_problem else "LAMMPS types without elements")
                       + ": --species or --masses)")
        return tuple(out)

    @property
    def has_heat_flux(self) -> bool:
        """Whether :meth:`read` can give ``heat_flux`` (frames, atoms, 3, 3) eV, each atom's share of the heat current
        as a matrix on its velocity (:func:`~trajmodes.io.trajectories.base.heat_flux_matrices`): the dump has per-atom
        energies, stresses and velocities, and the masses are known."""
        return (self._layout.energy is not None and self._layout.stress is not None and "velocities" in self.fields
                and self.masses is not None)

    def frame_boxes(self, frames) -> tuple[np.ndarray, np.ndarray]:
        """The box of each of ``frames`` from its header alone (a few hundred bytes read per frame, not its atoms):
        (cells (n, 3, 3), origins (n, 3)) in Å, as :meth:`read` returns them."""
        frames = np.asarray(frames, dtype=np.int64)
        cells, origins = np.empty((len(frames), 3, 3)), np.empty((len(frames), 3))
        fds = {}
        try:
            for i, fr in enumerate(frames):
                k = int(self._file[fr])
                if k not in fds:
                    fds[k] = os.open(self._plain[k], os.O_RDONLY)
                lo, hi = int(self._start[fr]), int(self._end[fr])
                size = 4096
                while True:                        # the header: up to the end of the ITEM: ATOMS line
                    buf = os.pread(fds[k], min(size, hi - lo), lo)
                    j = buf.find(b"ITEM: ATOMS")
                    if (j >= 0 and buf.find(b"\n", j) >= 0) or size >= hi - lo:
                        break
                    size *= 4
                h = self._header(buf, 0, hi - lo, int(fr))        # the frame's length: its rows are not read
                cells[i], origins[i] = h.cell, h.origin
        finally:
            for fd in fds.values():
                os.close(fd)
        c = self._conv.length
        return cells * c, origins * c

    def _general_frame(self, text: bytes, fr: int, offset: int, i: int, outputs: tuple, arrays: dict, cells, origins):
        """Read frame ``fr`` (its ``text``, at byte ``offset`` of its file) the general way into row ``i`` of the
        outputs: headers in Python, rows by the row parser, ids placed and types checked in numpy. Raises the
        :class:`TrajectoryFormatError` that names what is wrong, where."""
        orig, plain, _ = self._where(fr)
        lay = self._layout
        h = self._header(text, 0, len(text), fr)
        rows = np.empty((self.n_atoms, lay.nslots))
        self._parse_rows(text, h, rows, fr, plain, orig, offset, len(text), lay.colmap_for(outputs))
        self._place(rows, fr, lambda: line_number(plain, offset + h.rows_offset), (text, h.rows_offset, len(text)))
        self._check_types(rows[None], np.array([fr]))
        cells[i], origins[i] = h.cell, h.origin
        for name, arr in arrays.items():
            arr[i] = rows[:, lay.cols(lay.outputs[name])]

    def _where(self, fr) -> tuple[str, str, int]:
        k = int(self._file[fr])
        return self.paths[k], self._plain[k], int(self._local[fr])

    def _header(self, buf, off, end, fr) -> Header:
        try:
            h = parse_header(buf, off, end)
        except (ValueError, IndexError) as exc:
            orig, plain, local = self._where(fr)
            raise TrajectoryFormatError(orig, f"cannot read the frame header: {exc}", frame=local,
                                        line=line_number(plain, int(self._start[fr])) + getattr(exc, "line_offset", 0),
                                        fix=getattr(exc, "fix", None) or "Repair or remove this frame") from None
        if h.natoms != self.n_atoms:
            orig, plain, local = self._where(fr)
            raise TrajectoryFormatError(orig, f"the atom count changed from {self.n_atoms} to {h.natoms}",
                                        frame=local, line=line_number(plain, int(self._start[fr])),
                                        fix="trajmodes needs a fixed set of atoms; split the file where the "
                                            "count changes")
        if h.columns != self._columns:
            orig, plain, local = self._where(fr)
            raise TrajectoryFormatError(orig, f"the columns changed to '{' '.join(h.columns)}'", frame=local,
                                        line=line_number(plain, int(self._start[fr])),
                                        fix="Read the parts with different columns separately")
        return h

    def _parse_rows(self, buf, h, out, fr, plain, orig, base=0, end=None, colmap=None) -> None:
        """Parse the atom rows of one frame (which ends at ``end`` in ``buf``) into ``out``."""
        lay = self._layout
        colmap = lay.colmap if colmap is None else colmap
        end = len(buf) if end is None else end
        view = memoryview(buf)[:end]  # never read on into the next frame
        endoff, status, row, col = _fastparse.parse_rows(view, h.rows_offset, self.n_atoms, colmap,
                                                          out, lay.nslots)
        if status == 0:
            self._check_row_widths(buf, h, endoff, fr, plain, orig, base)
            m = NONSPACE.search(buf, endoff, end)
            if m is not None:
                local = int(self._local[fr]) if hasattr(self, "_local") else 0
                line = line_number(plain, base + m.start())
                tail = buf[m.start():end]
                if not buf.startswith(b"ITEM:", m.start()):
                    raise TrajectoryFormatError(
                        orig, f"more atom lines than ITEM: NUMBER OF ATOMS says ({h.natoms})", frame=local,
                        line=line, fix="Repair the atom count or remove this frame")
                found = misspelled_items(tail)
                if found is not None:
                    k, bad, good = found
                    raise TrajectoryFormatError(
                        orig, f"{bad!r} (after the atom lines of frame {local}) is not an item of a LAMMPS dump: it "
                              f"should read {good!r}" + (". Misspelled, it hides the frame it begins, which is read "
                                                         "as a part of the frame before it"
                                                         if good == "ITEM: TIMESTEP" else ""),
                        line=line + k,
                        fix=f"Correct that line to {good!r} (the frame index matches the ITEM: lines exactly)")
                bad = foreign_item(tail)
                if bad is not None:
                    raise TrajectoryFormatError(
                        orig, f"after its atom lines the frame goes on with {bad!r}, which is no item of a "
                              "LAMMPS dump frame: a damaged ITEM: TIMESTEP line would hide the next frame here",
                        frame=local, line=line + tail[:tail.find(bad.encode())].count(b"\n"),
                        fix="Repair that line (ITEM: TIMESTEP) or remove the frame")
        if status:
            local = int(self._local[fr]) if hasattr(self, "_local") else 0
            line = line_number(plain, base + h.rows_offset) + row
            what = ROW_STATUS[status]
            if status == 1 and bytes(buf[h.rows_offset:end]).split(b"\n", row)[-1].startswith(b"ITEM: TIMESTEP"):
                status, what = 3, f"{ROW_STATUS[3]} ({row} of {h.natoms}, then a frame's ITEM: TIMESTEP line)"
            elif status in (1, 2, 4):
                what += f" (column {col + 1}" + (f", '{self._columns[col]}')" if col < len(self._columns) else ")")
            fix = {3: "The frame is cut short; remove it or rerun the dump",
                   4: "The simulation produced non-finite values; use frames before it"}.get(
                status, "Repair the line or remove this frame")
            raise TrajectoryFormatError(orig, what, frame=local, line=line, fix=fix)

    def _check_row_widths(self, buf, h, endoff: int, fr, plain, orig, base) -> None:
        """Every atom line of the frame holds as many values as ITEM: ATOMS names columns: the row parser reads the
        columns it needs and skips the rest of a line, so a token too many (or too few after the last column read)
        would otherwise pass, and a row split over two lines would shift the rows after it (one vectorised count)."""
        counts = row_token_counts(bytes(buf[h.rows_offset:endoff]))[:h.natoms]
        ncols = len(h.columns)
        bad = np.flatnonzero(counts != ncols)
        if not len(bad):
            return
        row = int(bad[0])
        local = int(self._local[fr]) if hasattr(self, "_local") else 0
        raise TrajectoryFormatError(
            orig, f"an atom line holds {int(counts[row])} values, but the ITEM: ATOMS line names {ncols} columns "
                  f"({' '.join(h.columns)})", frame=local, line=line_number(plain, base + h.rows_offset) + row,
            fix="A row split over two lines or two rows run together: repair the line or remove this frame")

    def _assemble(self, arrays, cells, origins, fields) -> dict:
        """The fields in metal units from the parsed per-atom ``arrays`` (in place: they are this read's own) and
        the boxes of the file (scaled positions made Cartesian, image flags applied)."""
        lay, c = self._layout, self._conv
        out = {}
        if "positions" in fields:
            xyz = arrays["positions"]
            if lay.scaled:
                xyz = origins[:, None, :] + xyz @ cells
            if lay.images:
                xyz += arrays["images"] @ cells
            if c.length != 1.0:
                xyz *= c.length
            out["positions"] = xyz
        for field in VECTOR_COLUMNS:
            if field in fields:
                v, f = arrays[field], (c.velocity if field == "velocities" else c.force)
                if f != 1.0:
                    with np.errstate(over="ignore"):     # out of the float range: refused by the finite check
                        v *= f
                out[field] = v
        out["cells"] = cells * c.length
        out["origins"] = origins * c.length
        return out

    # -- the atoms of every frame: ids, order, species, masses and their checks

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
        frame ``frames[i]`` at ``[starts[i], ends[i])``), whatever the order of the rows
        (:class:`~trajmodes.io.trajectories.lammps_elements.ElementLines`, made once from the first frame); a frame
        that differs, or whose lines do not fit (odd spacing), is looked at by :meth:`_check_last_elements`, which
        names the atom, frame and line."""
        if "element" not in getattr(self, "_columns", ()) or not len(frames):
            return
        if getattr(self, "_element_lines", None) is None:
            plain = self._where(0)[1]
            with open(plain, "rb") as f:
                f.seek(int(self._start[0]))
                first = f.read(int(self._end[0]) - int(self._start[0]))
            self._element_lines = ElementLines(self._columns, self._layout.has_id, self.species, self.ids, first)
        look = ~self._element_lines.agree(buf, starts, ends)
        for fr in np.asarray(frames)[look].tolist():     # the exact check names the atom and line, if it differs
            self._check_last_elements(fr)

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
            bad = [t for t, m in table.items() if len(nonpositive_masses([m]))]
            if bad:
                raise ValueError(f"masses= gives LAMMPS type {bad[0]} the mass {table[bad[0]]!r}: a mass must be a "
                                 "positive number of amu")
            return np.array([float(table[t]) for t in self._types.tolist()])
        if "mass" in self._layout.slot:
            return rows[order, self._layout.slot["mass"]] * self._conv.mass
        known = masses_of(self.species)
        if known is None and masses is None and self._types is not None:
            return self._masses_of_run()
        return known

    def _masses_of_run(self) -> np.ndarray | None:
        """Types without elements: the masses the LAMMPS input or log that wrote the dump states (its ``mass``
        commands, else the ``Masses`` of the data file its ``read_data`` reads:
        :func:`~trajmodes.io.trajectories.lammps_data.masses_of_run`), said in :attr:`masses_from`; species that are
        type numbers become the elements the data file's comments name or the masses give
        (:func:`~trajmodes.lattice.elements.element_from_mass`). None when those files do not state them all; then
        :attr:`masses_problem` names the file that lacks them and what to give."""
        if self.lammps_settings is None:
            return None
        found = masses_of_run(self._input, self._types)
        if found.masses is None:
            self.masses_problem = f"{self.paths[0]}: {found.problem}"
            return None
        amu = {t: m * self._conv.mass for t, m in found.masses.items()}
        self.masses_from = found.source + (f"; {found.overridden}" if found.overridden else "")
        if np.array_equal(self.species, self._types.astype(str)):        # type numbers: name the elements
            named = {t: el for t, el in found.elements.items() if masses_of([el]) is not None}
            names = {t: named.get(t) or element_from_mass(m) or str(t) for t, m in amu.items()}
            self.species = np.array([names[t] for t in self._types.tolist()])
        return np.array([amu[t] for t in self._types.tolist()])

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

    def _check_masses(self, masses: np.ndarray, frames: np.ndarray) -> None:
        """The mass column of the frames read (frames, atoms in id order) must be the first frame's: the masses of an
        MD run do not change, and only the first frame's are used. Names the frame, atom and line that differ."""
        ref = self._mass_column[None]
        same = (masses == ref) | np.isclose(masses, ref, rtol=1e-6, atol=0.0)
        if same.all():
            return
        k, i = (int(x[0]) for x in np.nonzero(~same))
        orig, local, line = self._row_of(int(frames[k]), i)
        raise TrajectoryFormatError(orig, f"atom id {int(self.ids[i])} has mass {float(masses[k, i])!r} in the mass "
                                          f"column of this frame, but {float(self._mass_column[i])!r} in the first "
                                          "frame: the masses of an MD run do not change", frame=local, line=line,
                                    fix="trajmodes follows a fixed set of atoms with fixed masses: split the run where "
                                        "the masses change")

    def _row_of(self, fr: int, i: int) -> tuple[str, int, int]:
        """(file, frame in it, line) of atom ``i`` (id order) in frame ``fr``, as written (dumps need not be
        sorted)."""
        orig, plain, local = self._where(fr)
        with open(plain, "rb") as f:
            f.seek(int(self._start[fr]))
            buf = f.read(int(self._end[fr]) - int(self._start[fr]))
        h = parse_header(buf, 0, len(buf))
        raw = np.empty((self.n_atoms, self._layout.nslots))
        self._parse_rows(buf, h, raw, fr, plain, orig, int(self._start[fr]))
        row = int(np.flatnonzero(self._ids(raw, fr, None, (buf, h.rows_offset, len(buf))) == self.ids[i])[0])
        return orig, local, line_number(plain, int(self._start[fr]) + h.rows_offset) + row

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
        orig, local, line = self._row_of(int(frames[k]), i)
        raise TrajectoryFormatError(orig, f"atom id {int(self.ids[i])} is of type {int(t[k, i])} here but of type "
                                          f"{int(self._types[i])} in the first frame", frame=local, line=line,
                                    fix="trajmodes follows a fixed set of atoms, each of one species: split the "
                                        "run where the types change")

    # -- the frame times and the per-frame quantities of the log or of the energy and stress columns

    @property
    def lammps_settings(self):
        """What the run's LAMMPS input or log says about this dump
        (:class:`~trajmodes.io.trajectories.lammps_settings.LammpsSettings`), found once (:meth:`_lammps_input`) and
        taken by every consumer (masses, the potential's range, the charges); None where none names it."""
        if not self._input_found:
            self._input, self._input_found = self._lammps_input(self.paths[0]), True
        return self._input

    def _lammps_input(self, dump: str):
        """The LAMMPS settings of the run from the logs given as ``thermo=`` when one names the dump, else from an
        input or log beside it (:func:`trajmodes.io.trajectories.lammps_input.lammps_settings_beside`)."""
        from trajmodes.io.trajectories.lammps_input import lammps_settings_beside, lammps_settings_in
        for log in self.thermo_paths:
            found = lammps_settings_in(log, dump)
            if found is not None:
                return found
        return lammps_settings_beside(dump)

    def _frame_quantities(self) -> None:
        """The per-frame quantities of the log's rows at the frames' steps (converted to eV and GPa), kept in
        memory; with those of the energy and stress columns, sets :attr:`frame_fields`."""
        self._frame_data, self._thermo_lines = {}, None
        lay, c = self._layout, self._conv
        if self._thermo is not None:
            log = self._thermo
            got = log.match(self._raw_steps, ", ".join(self.paths), self.n_atoms, self.units,
                            need_energy=lay.energy is None, segments=self._segments,
                            n_segments=self._n_segments)
            rows = got.pop("row")
            self._thermo_lines = (log.paths, log.file[rows], log.line[rows])      # for messages
            scale = {"potential_energy": c.energy, "pressure": c.pressure, "pressure_tensor": c.pressure}
            self._frame_data = {k: v * scale[k] for k, v in got.items()}
            self._thermo = None                      # the rows of the frames are kept, not the whole log
        have = set(self._frame_data) | {f for f, o in FROM_COLUMNS.items() if all(x in lay.outputs for x in o)
                                        and (f != "heat_current" or self.masses is not None)}
        self.frame_fields = tuple(f for f in FRAME_FIELDS if f in have)

    def _thermo_values(self, frames: np.ndarray, want: tuple) -> dict:
        """The log's quantities among ``want`` for ``frames``, checked finite (a NaN row is named in the log)."""
        out = take_frame_fields(self._frame_data, frames, want)
        for name, v in out.items():
            ok = np.isfinite(v.reshape(len(v), -1)).all(axis=1)
            if not ok.all():
                k = int(frames[np.flatnonzero(~ok)[0]])
                paths, file, lines = self._thermo_lines
                path, line = paths[int(file[k])], int(lines[k])
                raise TrajectoryFormatError(path, f"the thermo {name.replace('_', ' ')} at step "
                                                  f"{int(self._raw_steps[k])} (frame {k} of the dump) is NaN or "
                                                  "infinite", line=line,
                                            fix="Use the frames before it (slice the trajectory)")
        return out

    def _frame_times(self, md_timestep, frame_interval) -> None:
        from trajmodes.io.trajectories.times import frame_times
        found = default = None
        inp = self._input
        if inp is not None and inp.timestep_problem is not None:
            if md_timestep is None and frame_interval is None and not np.all(np.isfinite(self._raw_times)):
                from trajmodes.io.trajectories.lammps_input import looks_like_log, read_text
                give = "give md_timestep=<ps per MD step> (--md-timestep) or frame_interval=<ps> (--frame-interval)"
                if not looks_like_log(os.path.basename(inp.path), read_text(inp.path, 4096) or ""):
                    give = ("put the run's log beside the dump (LAMMPS writes every command there as it substituted "
                            "it), or " + give)                # a log itself cannot say more
                raise TrajectoryFormatError(inp.path, f"the time step of the run that writes {self.paths[0]} cannot "
                                                      f"be known: {inp.timestep_problem}", fix=give)
        elif inp is not None:
            unit_dt = DEFAULT_DT.get(inp.units or self.units, 1.0)
            dt = (inp.md_timestep if inp.md_timestep is not None else unit_dt) * self._conv.time
            found = (dt, os.path.basename(inp.path) + (f" ({inp.timestep_where})" if inp.md_timestep is not None
                                                       else f" (it sets none: LAMMPS' default for {self.units} units)"))
        default = (DEFAULT_DT.get(self.units, 1.0) * self._conv.time,
                   f"the dump has no ITEM: TIME and no LAMMPS input or log beside it names it; LAMMPS' default "
                   f"timestep for {self.units} units")
        axis = frame_times(", ".join(self.paths), self.steps, self._raw_times * self._conv.time,
                           what_in_file="ITEM: TIME", md_timestep=md_timestep, frame_interval=frame_interval,
                           found=found, default=default, stacklevel=5)
        self.times, self.md_timestep, self.time_axis = axis.times, axis.md_timestep, axis.source

    #: the frames the time-step check parses on opening are held for the first read of each where their fields take at
    #: most this many bytes (larger frames: positions and velocities only, parsed again when read)
    HOLD_BYTES = 64 << 20

    def _held(self, frames, fields) -> dict | None:
        """A read of ``frames`` from those the time-step check parsed, each once; None where they do not cover it."""
        hold = self.__dict__.get("_hold")
        if hold is None or fields is not None and "heat_flux" in fields:
            return None
        n, data, served = hold
        frames = np.asarray(frames, dtype=np.int64)
        if frames.ndim != 1 or not len(frames) or frames.min() < 0 or frames.max() >= n:
            return None
        sel = self.fields if fields is None else tuple(f for f in self.fields if f in fields)
        keys = sel + ("cells", "origins") + wanted_frame_fields(self, fields)
        if not sel or not all(k in data for k in keys):
            return None
        out = {k: data[k][frames] for k in keys}                # fancy indexing: copies
        served[frames] = True
        if served.all():
            self._hold = None                                   # every frame given once: parsed again when asked
        return out

    def __getstate__(self) -> dict:
        """The source without the frames held from opening (workers parse what they read)."""
        state = dict(self.__dict__)
        state.pop("_hold", None)
        return state

    def _check_time_step(self) -> None:
        """The frame interval the first frames' own positions and velocities imply (``times.time_scale``: up to 128
        consecutive frames, read once) against the time axis, given, read or assumed: a disagreement beyond the
        estimate's uncertainty and margin is refused; the time axis notes why the frames could not tell. Sets
        :attr:`time_step_check` (a :class:`~trajmodes.io.trajectories.times.TimeScale`, or None)."""
        from trajmodes.io.trajectories.times import INTERVAL_MIN_FRAMES, interval_frames, time_scale
        self.time_step_check = None
        n = interval_frames(self._end - self._start, self.n_atoms)
        if not {"positions", "velocities"} <= set(self.fields) or n < INTERVAL_MIN_FRAMES:
            return
        # every field is parsed (and held for the first read of each frame) where that fits in HOLD_BYTES
        hold = n * self.n_atoms * 8 * 3 * (len(self.fields) + 1) <= self.HOLD_BYTES
        try:
            d = self._parse(np.arange(n), None if hold else ("positions", "velocities"))
        except TrajectoryFormatError:
            return                                          # a damaged frame: reading it says what is wrong
        if hold:
            self._hold = (n, d, np.zeros(n, bool))
        got = self.time_step_check = time_scale(d["positions"], d["cells"], self.times[:n], self.masses,
                                                d["velocities"])
        axis, self.time_axis = self.time_axis, self.time_axis + got.note()
        if not got.disagrees:
            return
        stride, est = int(self.steps[1] - self.steps[0]), got.interval
        est = est.ps if est is not None and est.why_not is None else None
        said = "" if est is None else f"; the frames themselves say {est:.4g} ps between frames" + (
            f", {est / stride:.4g} ps per MD step ({stride} steps between frames)" if stride > 0 else "")
        fix = (f"The dump is read in {self.units} units: the run's unit style sets the unit of its times, time step and "
               "velocities; read it with the run's units= (--units)" if got.unit_misread else
               f"The times are ITEM: TIME of the dump, read in {self.units} units: if the run used other units, read "
               "it with units= (--units); if the velocities were written in other units than the times, convert them"
               if axis.startswith("ITEM: TIME") else
               f"The frame times are {axis}: give the run's own, md_timestep=<ps per MD step> (--md-timestep) or "
               f"frame_interval=<ps between frames> (--frame-interval){said}. If the velocities are in other units "
               "than the positions over the times, read the dump with the run's units= (--units)")
        raise TrajectoryFormatError(", ".join(self.paths), got.mismatch(), fix=fix)
