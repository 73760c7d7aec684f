"""LAMMPS thermo output: the per-frame potential energy and pressure of a run, from its log file.

A log holds one thermo block per ``run``: a header line of column names, one of them ``Step``, in any place
(``thermo_style custom step ...``, ``custom time step ...`` or ``one``), then one row every ``thermo N`` steps until
``Loop time of ...``. Lines inside a block that are not rows (``WARNING: ...``) are skipped; one that is mostly
numbers but not a row (cut short, two rows run together, a damaged step) is named, with its line, when a frame's step
has no row. Recognised columns (whatever else the block holds):

- potential energy: ``PotEng`` (keyword ``pe``), ``c_thermo_pe``, or ``E_pair`` + ``E_mol`` (``thermo_style one``;
  equal to ``pe`` unless a fix adds energy);
- pressure: ``Press`` (keyword ``press``; LAMMPS includes the kinetic term), ``c_thermo_press``, or one third of
  the trace of the tensor;
- pressure tensor: ``Pxx Pyy Pzz Pxy Pxz Pyz`` (or ``c_thermo_press[1]`` .. ``[6]``).

Rows are matched to dump frames by MD step and by run (:meth:`ThermoLog.match`). A row whose step repeats the
previous block's last step is dropped, keeping the first: the last row of one run and the first of the next repeat a
step, and LAMMPS writes a dump frame at that step once, at the end of the earlier run (the dump reader likewise keeps
the first frame of a repeated step). A block whose first step is below the previous block's last (``reset_timestep``
between the runs) starts a new *segment* of the log: the same step may then stand for two different moments, so the
dump's frames are matched to one segment, not to the first row of their step. The runs that wrote a dump are known
from the ``dump`` and ``undump`` commands the log echoes (LAMMPS echoes its input into the log by default); without
them the frames must fit one segment only (in order, when the dump's own steps restart too). Several logs (a restarted run) are read in the order of their first step. Values
stay in the log's unit style (its ``units`` command, when it has one); the dump reader converts them. A potential
energy printed per atom (``thermo_modify norm yes``, the default of ``lj`` units) is multiplied by the atom count.
"""
from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field

import numpy as np

from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.trajectories.base import FRAME_FIELDS, tensor_from_components
from trajmodes.io.trajectories.lammps_input import LammpsInput
from trajmodes.io.trajectories.lammps_script import DEFAULT_TIMESTEP

__all__ = ["ThermoLog", "read_thermo", "thermo_paths"]

#: a thermo column name (``Step``, ``PotEng``, ``c_thermo_press[1]``, ``v_etotal``, ``f_ave[2]``): a header line is
#: made of these alone, one of them ``Step``, in any order
THERMO_NAME = re.compile(r"^[A-Za-z_][\w\[\]/.\-]*$")
#: columns of ``thermo_style one`` and the usual custom keywords, to recognise a header without ``Step``
THERMO_COLUMNS = ("Time", "Temp", "PotEng", "KinEng", "TotEng", "Press", "E_pair", "E_mol", "Volume", "Elapsed")
#: columns holding the potential energy, best first
ENERGY_COLUMNS = ("PotEng", "c_thermo_pe")
#: columns holding the scalar pressure, best first
PRESSURE_COLUMNS = ("Press", "c_thermo_press")
#: the six pressure-tensor columns, in LAMMPS' order xx yy zz xy xz yz (either spelling)
TENSOR_COLUMNS = (("Pxx", "Pyy", "Pzz", "Pxy", "Pxz", "Pyz"),
                  tuple(f"c_thermo_press[{k}]" for k in range(1, 7)))
FIX_STYLE = ("Use thermo_style custom step pe press pxx pyy pzz pxy pxz pyz (or add pe to the thermo_style "
             "custom keywords)")


@dataclass
class ThermoLog:
    """The thermo rows of one run's log(s), one per MD step, in the log's own units.

    Attributes
    ----------
    paths : list of str
        The logs, in the order of their first step.
    units : str or None
        The ``units`` command of the logs (None when they have none: a run started from a restart file).
    steps : ndarray of int (rows,)
        Increasing MD steps.
    values : dict
        ``potential_energy`` (rows,) energy unit, ``pressure`` (rows,) and ``pressure_tensor`` (rows, 3, 3) pressure
        unit of the style; NaN in rows of a block without that column.
    present : dict
        Name -> bool (rows,): whether the row's block has that column.
    norm : ndarray of int8 (rows,)
        Whether the row's extensive values are per atom: 1 (``thermo_modify norm yes``), 0 (``norm no``), -1 (the
        style's default: per atom in ``lj`` units only).
    file, line : ndarray of int (rows,)
        Index into ``paths`` and 1-based line number of every row.
    segment : ndarray of int (rows,)
        The segment of every row: it goes up by one where the steps restart (``reset_timestep`` between two runs);
        steps increase within a segment.
    block : ndarray of int (rows,)
        The thermo block (run) of every row, counted over the logs.
    block_dumps : list of tuple of str
        The files the dumps active during each block write (from the ``dump`` and ``undump`` commands echoed in the
        log before it); None for every block when the log echoes no ``dump`` command.
    damaged : list of tuple
        Lines inside thermo blocks that look like damaged rows: (index into ``paths``, line, text, columns).
    """

    paths: list
    units: str | None
    steps: np.ndarray
    values: dict
    present: dict
    norm: np.ndarray
    file: np.ndarray
    line: np.ndarray
    segment: np.ndarray = None
    block: np.ndarray = None
    block_dumps: list = field(default_factory=list)
    #: lines inside thermo blocks that look like damaged rows (mostly numbers, but the wrong count or no integer
    #: step): (index into ``paths``, 1-based line, text, the block's column names); named when a frame's step has
    #: no row
    damaged: list = field(default_factory=list)

    def __post_init__(self):
        n = len(self.steps)
        if self.segment is None:
            self.segment = np.zeros(n, np.int64)
        if self.block is None:
            self.block = np.zeros(n, np.int64)

    def where(self, row: int) -> tuple[str, int]:
        """The log and line of ``row``."""
        return self.paths[int(self.file[row])], int(self.line[row])

    def match(self, steps: np.ndarray, dump: str, n_atoms: int, units: str, need_energy: bool = True,
              segments: np.ndarray | None = None, n_segments: int | None = None) -> dict:
        """The quantities of the rows at the MD ``steps`` of a dump's frames.

        Parameters
        ----------
        steps : ndarray of int (n_frames,)
            The dump's frame steps (increasing).
        dump : str
            The dump, for messages.
        n_atoms : int
            The number of atoms (a per-atom energy, ``thermo_modify norm yes``, is multiplied by it).
        units : str
            The unit style of the run (``lj`` normalises by default).
        need_energy : bool
            Whether rows without a potential energy are an error (False when the dump has a per-atom energy).
        segments : ndarray of int (n_frames,), optional
            The dump's own segments: where its steps restart (``reset_timestep`` within the dump), the number goes up
            (frames of one segment come from one run segment of the log, in order).
        n_segments : int, optional
            The number of the dump's segments, those whose frames were all dropped (their steps repeat earlier ones)
            included: each was written by a run segment of its own.

        Returns
        -------
        dict
            Name -> (n_frames,) or (n_frames, 3, 3) in the log's units (the energy of the whole cell), for the
            quantities every matched row has, and ``"row"``: the row of every frame.

        Raises
        ------
        TrajectoryFormatError
            When a frame has no row at its step, when no frame has one, when the rows have no potential energy, when
            only some of the matched rows have a quantity, or when the frames fit several segments of the log (runs
            after ``reset_timestep``) and the log does not say which wrote the dump.
        """
        steps = np.asarray(steps, dtype=np.int64)
        pos = self._rows_of(steps, dump, segments, n_segments)
        if pos is not None:
            hit = np.ones(len(steps), bool)
        elif self.segment.max(initial=0) == 0:
            pos = np.minimum(np.searchsorted(self.steps, steps), max(len(self.steps) - 1, 0))
            hit = self.steps[pos] == steps if len(self.steps) else np.zeros(len(steps), bool)
        else:
            pos, hit = np.zeros(len(steps), np.int64), np.isin(steps, self.steps)
        if not hit.any():
            raise TrajectoryFormatError(
                self._name(), f"no thermo row is at the step of a frame of {dump}: the dump's frames are at "
                f"{_span(steps)}, the log's rows at {_span(self.steps)}",
                fix="Pass the log of the run that wrote this dump")
        if not hit.all():
            k = int(np.flatnonzero(~hit)[0])
            self._damaged_row(int(steps[k]), k, dump)
            raise TrajectoryFormatError(
                self._name(), f"no thermo row at step {int(steps[k])}, the step of frame {k} of {dump} (the log's "
                f"rows are at {_span(self.steps)}, the dump's frames at {_span(steps)})",
                fix="Run with a thermo interval that divides the dump interval (thermo N, with N a divisor of the "
                    "dump's N), or read without thermo=")
        out = {"row": pos}
        for name in FRAME_FIELDS:
            have = self.present[name][pos]
            if have.all():
                out[name] = self.values[name][pos]
                if name == "potential_energy":
                    norm = self.norm[pos]
                    per_atom = (norm == 1) | ((norm == -1) & (units == "lj"))
                    out[name] = np.where(per_atom, out[name] * n_atoms, out[name])
            elif have.any():
                k = int(np.flatnonzero(~have)[0])
                path, line = self.where(int(pos[k]))
                raise TrajectoryFormatError(
                    path, f"the thermo block holding step {int(steps[k])} (frame {k} of {dump}) has no "
                    f"{name.replace('_', ' ')}, while earlier blocks have it", line=line,
                    fix="Use the same thermo_style in every run, or read the runs separately")
        if need_energy and "potential_energy" not in out:
            path, line = self.where(int(pos[0]))
            raise TrajectoryFormatError(path, "the thermo output has no potential energy (no PotEng column)",
                                        line=line, fix=FIX_STYLE + ", or dump the per-atom energy (compute pe all "
                                        "pe/atom, column c_pe)")
        return out

    def _name(self) -> str:
        return ", ".join(self.paths)

    def _damaged_row(self, step: int, k: int, dump: str) -> None:
        """Name the damaged line that stands where the row of ``step`` (frame ``k`` of ``dump``) should be, if there
        is one: a line of its block that is mostly numbers but not a row (cut short, two rows run together, a
        damaged step), whose step reads as ``step`` or that lies between the rows before and after it."""
        if not self.damaged:
            return
        where = np.stack([self.file, self.line], axis=1) if len(self.steps) else np.zeros((0, 2), np.int64)
        before = np.flatnonzero(self.steps < step)
        after = np.flatnonzero(self.steps > step)
        lo = tuple(where[before[-1]]) if len(before) else (-1, -1)
        hi = tuple(where[after[0]]) if len(after) else (len(self.paths), 0)
        near = [d for d in self.damaged if lo < (d[0], d[1]) < hi]
        said = [d for d in self.damaged if d[2].split()[:1] == [str(step)]]
        for f, line, text, columns in said or near:
            path = self.paths[f]
            raise TrajectoryFormatError(
                path, f"the thermo row of step {step} (frame {k} of {dump}) is damaged: the line reads "
                f"{text.strip()[:200]!r}, where a row of the block holds {len(columns)} numbers "
                f"({' '.join(columns)})", line=line,
                fix="Repair the line (or remove it and the frame at that step), or read without thermo=" +
                    ("" if said or len(text.split()) == len(columns) else "; if that line is no thermo row (the output of fix print), the log has no row "
                     "at this step: run with a thermo interval that divides the dump interval"))

    def _dumped_rows(self, dump: str) -> np.ndarray | None:
        """Whether each row's block ran with a dump writing ``dump`` active (by the echoed ``dump`` commands, LAMMPS'
        ``*`` wildcard and ``.gz`` allowed), or None when the log does not tell (no dump command names it)."""
        if not self.block_dumps or all(d is None for d in self.block_dumps):
            return None
        names = {os.path.basename(p)[:-3] if p.endswith(".gz") else os.path.basename(p) for p in dump.split(", ")}
        def writes(files) -> bool:
            return any(fnmatch.fnmatch(n, os.path.basename(f[:-3] if f.endswith(".gz") else f))
                       for f in files for n in names)
        named = np.array([d is not None and writes(d) for d in self.block_dumps], bool)
        unknown = np.array([d is None for d in self.block_dumps], bool)    # a log that echoes no dump command
        return (named | unknown)[self.block] if named.any() else None

    def _rows_of(self, steps: np.ndarray, dump: str, segments: np.ndarray | None,
                 n_segments: int | None = None) -> np.ndarray | None:
        """The row of every frame when the log has several segments (steps restarted between runs), matched by run;
        None when it has one (plain matching by step applies)."""
        if len(self.steps) == 0 or self.segment.max(initial=0) == 0:
            return None
        dumped = self._dumped_rows(dump)
        seg = self.segment if dumped is None else np.where(dumped, self.segment, -1)
        log_segments = [int(g) for g in np.unique(seg) if g >= 0]
        segments = np.zeros(len(steps), np.int64) if segments is None else np.asarray(segments, np.int64)
        numbers = np.unique(segments)
        groups = [np.flatnonzero(segments == g) for g in numbers]
        total = int(numbers.max(initial=-1)) + 1 if n_segments is None else int(n_segments)
        # the dump's segments without frames kept each took a run segment of the log: the gaps to leave
        gaps = np.diff(np.r_[-1, numbers, total]) - 1

        def rows_in(g: int, frames: np.ndarray) -> np.ndarray | None:
            rows = np.flatnonzero(seg == g)
            at = np.searchsorted(self.steps[rows], steps[frames])
            at = np.minimum(at, len(rows) - 1)
            return rows[at] if np.array_equal(self.steps[rows[at]], steps[frames]) else None

        fits = [[(g, rows_in(g, f)) for g in log_segments] for f in groups]
        found = []

        def assign(j: int, after: int, chosen: list) -> None:
            if len(found) > 1:
                return
            if j == len(groups):
                if sum(g > after for g in log_segments) >= gaps[j]:
                    found.append(list(chosen))
                return
            for g, rows in fits[j]:
                skipped = sum(after < h < g for h in log_segments)
                if g > after and rows is not None and skipped >= gaps[j]:
                    assign(j + 1, g, chosen + [(g, rows)])

        assign(0, -1, [])
        if len(found) == 1:
            pos = np.empty(len(steps), np.int64)
            for f, (_, rows) in zip(groups, found[0]):
                pos[f] = rows
            return pos
        if not found:
            hit = np.isin(steps, self.steps)
            if not hit.all():
                return None                                 # a frame without a row anywhere: named by the caller
            raise TrajectoryFormatError(
                self._name(), f"every frame of {dump} has a thermo row at its step, but no sequence of the log's runs "
                f"(its steps restart between them: reset_timestep) holds the frames in their order ({_span(steps)})",
                fix="Pass the log of the run that wrote this dump")
        firsts = sorted({g for chosen in found for g, _ in chosen} |
                        {g for j in range(len(groups)) for g, rows in fits[j] if rows is not None})
        where = "; ".join(f"{self.paths[int(self.file[r])]} line {int(self.line[r])}"
                          for r in (int(np.flatnonzero(self.segment == g)[0]) for g in firsts))
        raise TrajectoryFormatError(
            self._name(), f"the steps of {dump} ({_span(steps)}) are in {len(firsts)} runs of the log, whose steps "
            f"restart between them (reset_timestep): the runs starting at {where}; nothing in the log says which "
            "run wrote the dump", fix="Pass the log of the run that wrote the dump alone (cut the log at its 'run' "
            "command), or a log that echoes the input, whose dump command tells (LAMMPS' default)")


def _span(steps: np.ndarray) -> str:
    """Steps in words: 'steps 0 to 50 every 5'."""
    if len(steps) == 0:
        return "no steps"
    back = int((np.diff(steps) < 0).sum())
    if back:
        return f"steps {int(steps.min())} to {int(steps.max())} in {back + 1} runs (the steps restart)"
    d = np.unique(np.diff(steps))
    every = f" every {int(d[0])}" if len(d) == 1 else (f" every {int(d.min())} or more" if len(d) else "")
    return f"steps {int(steps[0])} to {int(steps[-1])}{every}"


def thermo_paths(thermo) -> list[str]:
    """The log file(s) given as ``thermo=``: a path or a sequence of paths."""
    items = [thermo] if isinstance(thermo, (str, os.PathLike)) else list(thermo)
    if not items:
        raise ValueError("thermo= names no log file")
    out = [os.fspath(p) for p in items]
    for p in out:
        if not os.path.isfile(p):
            raise FileNotFoundError(f"{p}: no such file (thermo=)")
    return out


def read_thermo(thermo) -> ThermoLog:
    """Parse every thermo block of one or more LAMMPS logs.

    Parameters
    ----------
    thermo : str, path, or sequence of them
        The log(s) (several: a restarted run, read in the order of their first step).

    Raises
    ------
    TrajectoryFormatError
        For a log without a thermo block, one in ``thermo_style multi`` or ``yaml`` format, a row that is not
        numbers, and logs whose ``units`` differ.
    """
    parts = [_read_one(p) for p in thermo_paths(thermo)]
    parts.sort(key=lambda t: int(t.steps[0]) if len(t.steps) else 0)
    units = {t.units for t in parts if t.units}
    if len(units) > 1:
        raise TrajectoryFormatError(", ".join(t.paths[0] for t in parts), f"the logs name different units "
                                    f"({', '.join(sorted(units))})", fix="Pass the logs of one run")
    steps = np.concatenate([t.steps for t in parts])
    offsets = np.cumsum([0] + [len(t.block_dumps) for t in parts])
    block = np.concatenate([t.block + o for t, o in zip(parts, offsets)])
    block_dumps = [d for t in parts for d in t.block_dumps]
    # a block starting below the previous block's last step: the steps were reset, a new segment begins
    first = np.r_[True, block[1:] != block[:-1]]
    back = first & (steps < np.r_[np.iinfo(np.int64).min, steps[:-1]])
    segment = np.cumsum(back)
    keep = steps > _segment_max(steps, segment)             # the first row of a repeated step wins

    def cat(arrays) -> np.ndarray:
        return np.concatenate(list(arrays))[keep]

    return ThermoLog([t.paths[0] for t in parts], units.pop() if units else None, steps[keep],
                     {n: cat(t.values[n] for t in parts) for n in FRAME_FIELDS},
                     {n: cat(t.present[n] for t in parts) for n in FRAME_FIELDS},
                     cat(t.norm for t in parts), cat(np.full(len(t.steps), i) for i, t in enumerate(parts)),
                     cat(t.line for t in parts), segment[keep], block[keep], block_dumps,
                     [(i,) + d[1:] for i, t in enumerate(parts) for d in t.damaged])


def _segment_max(steps: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """For every row, the largest step of the earlier rows of its segment (the smallest integer for a segment's
    first row): a running maximum restarted at every segment."""
    lowest = np.iinfo(np.int64).min
    out = np.full(len(steps), lowest)
    for g in np.unique(segment):                            # a few segments: one per reset_timestep
        rows = np.flatnonzero(segment == g)
        out[rows[1:]] = np.maximum.accumulate(steps[rows[:-1]])
    return out


def _read_one(path: str) -> ThermoLog:
    """The thermo blocks of one log, in the order written (repeated steps kept)."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    lines = text.split("\n")
    model = LammpsInput.read(path, is_log=True)           # past its first MB, only the lines that may be commands
    commands = _echoed_commands(model, path) if model is not None else {}
    blocks = []                              # (columns, [row line indices], norm, files of the active dumps)
    current, norm = None, -1
    dumps, echoed = {}, False                # dump ID -> file, from the dump and undump commands of the log's trace
    damaged = []
    for i, ln in enumerate(lines):
        tok = ln.split()
        if not tok:
            continue
        cmd = commands.get(i + 1)
        if "Step" in tok and all(THERMO_NAME.match(t) for t in tok):
            current = (tok, [], norm, tuple(dumps.values()))
            blocks.append(current)
        elif cmd is not None:
            args = cmd.args
            if cmd.name == "dump" and len(args) >= 5:
                dumps[args[0]], echoed = args[4], True
            elif cmd.name == "undump" and args:
                dumps.pop(args[0], None)
            elif cmd.name == "thermo_style":
                norm = -1                                        # thermo_style resets thermo_modify
            elif cmd.name == "thermo_modify" and "norm" in args[:-1]:
                norm = int(args[args.index("norm") + 1] == "yes")
        elif current is not None:
            step_at = current[0].index("Step")
            if len(tok) == len(current[0]) and _is_int(tok[step_at]):
                current[1].append(i)
            elif ln.startswith("Loop time"):
                current = None
            elif _numbers(tok) * 2 >= len(tok):                  # mostly numbers, not a row: a damaged row
                damaged.append((0, i + 1, ln, current[0]))
        elif tok[0].startswith("-----") and tok[1:2] == ["Step"] or tok[0] == "keywords:" and "Step" in ln:
            style = "multi" if tok[0].startswith("-") else "yaml"
            raise TrajectoryFormatError(path, f"the thermo output is in thermo_style {style} format", line=i + 1,
                                        fix=FIX_STYLE.replace("Use", "Rerun with"))
    if not blocks:
        header = next(((i, ln) for i, ln in enumerate(lines) if len(ln.split()) > 1 and
                       all(THERMO_NAME.match(t) for t in ln.split()) and set(ln.split()) & set(THERMO_COLUMNS)), None)
        if header is not None:
            raise TrajectoryFormatError(path, f"the thermo header {header[1].strip()!r} has no Step column: rows are "
                                              "matched to the dump's frames by MD step", line=header[0] + 1,
                                        fix="Rerun with step among the thermo_style custom keywords (thermo_style "
                                            "custom step pe press ...), in any place")
        raise TrajectoryFormatError(path, "no thermo output: no line holds the column names of a thermo block with "
                                          "a Step column", fix="Pass the LAMMPS log of the run (log.lammps), written "
                                          "with thermo_style custom step pe ...")
    units = next((c.args[0] for c in (model.commands if model is not None else ()) if c.name == "units" and c.args
                  and c.unknown is None), None)
    parsed = [_block(path, columns, rows, [lines[i] for i in rows]) for columns, rows, _, _ in blocks]
    steps, values, present, rows = zip(*parsed)
    return ThermoLog([path], units, np.concatenate(steps),
                     {n: np.concatenate([v[n] for v in values]) for n in FRAME_FIELDS},
                     {n: np.concatenate([p[n] for p in present]) for n in FRAME_FIELDS},
                     np.concatenate([np.full(len(b[1]), b[2], np.int8) for b in blocks]),
                     np.zeros(sum(len(s) for s in steps), np.int64), np.concatenate(rows),
                     block=np.concatenate([np.full(len(b[1]), k, np.int64) for k, b in enumerate(blocks)]),
                     block_dumps=[b[3] if echoed else None for b in blocks], damaged=damaged)


def _is_int(token: str) -> bool:
    return token.isdigit() or (token[:1] in "+-" and token[1:].isdigit())


def _numbers(tokens: list) -> int:
    """How many of ``tokens`` read as numbers."""
    count = 0
    for t in tokens:
        try:
            float(t)
            count += 1
        except ValueError:
            pass
    return count


def _block(path: str, columns: list, rows: list, text: list):
    """Steps, values, presence and 1-based lines of one thermo block (``text``: its rows, at line indices
    ``rows``)."""
    n = len(rows)
    lines = np.asarray(rows, dtype=np.int64) + 1
    try:
        table = np.loadtxt(text, dtype=float, ndmin=2).reshape(n, len(columns)) if n else np.zeros((0, len(columns)))
    except ValueError as exc:                      # numpy names the row: "... at row 3, column 2."
        at = re.search(r"row (\d+)", str(exc))
        r = int(at.group(1)) if at else 0
        raise TrajectoryFormatError(path, f"a thermo row holds {text[r].strip()!r}, which is not numbers",
                                    line=int(lines[r]) if at else None, fix="Repair or remove the line") from None
    steps = table[:, columns.index("Step")].astype(np.int64)
    col = {c: table[:, k] for k, c in enumerate(columns)}
    values, present = {}, {}
    energy = next((col[c] for c in ENERGY_COLUMNS if c in col), None)
    if energy is None and "E_pair" in col:
        energy = col["E_pair"] + col.get("E_mol", 0.0)
    tensor = next((np.stack([col[c] for c in names], axis=1) for names in TENSOR_COLUMNS
                   if all(c in col for c in names)), None)
    press = next((col[c] for c in PRESSURE_COLUMNS if c in col), None)
    if press is None and tensor is not None:
        press = tensor[:, :3].mean(axis=1)
    for name, v, shape in (("potential_energy", energy, ()), ("pressure", press, ()),
                           ("pressure_tensor", None if tensor is None else tensor_from_components(tensor), (3, 3)),
                           ("heat_current", None, (3,))):      # a log's heat current: trajmodes.io.heat_current
        present[name] = np.full(n, v is not None)
        values[name] = v if v is not None else np.full((n,) + shape, np.nan)
    return steps, values, present, lines


#: the commands whose settings a run's thermo output depends on, as a log echoes them
_RUN_COMMANDS = ("run", "minimize", "rerun")
_BOX = re.compile(r"(orthogonal|triclinic) box = \(([^)]*)\) to \(([^)]*)\)")
_ATOMS = re.compile(r"^\s*(?:Created\s+)?(\d+)\s+atoms\s*$")
_LOOP_ATOMS = re.compile(r"with\s+(\d+)\s+atoms")


@dataclass
class LogRun:
    """One ``run`` (or ``minimize``) of a LAMMPS log or input, the settings in force when it began, and its thermo
    block (:func:`log_runs`). Each setting is ``(value, line)``, the 1-based line of the command that set it (None:
    a default, or not echoed).

    Attributes
    ----------
    number : int
        1-based, among the runs of the file (those whose command the file echoes, and blocks without one).
    command : str
        The command as echoed (``run 50000``), or ``''`` where the file echoes none before the block.
    line : int or None
        Of the command.
    units, timestep, thermo, norm : tuple
        ``units`` style (None: no ``units`` command); ``timestep`` in the style's time unit, None where unknown (a
        ``read_restart`` after the last ``timestep``, or neither a ``units`` nor a ``timestep`` command), its line
        None where it is the default of the ``units`` command; ``thermo`` interval in steps (None: a variable, or no
        ``thermo`` command); ``norm`` True/False from ``thermo_modify norm``, None: the style's default (line: the
        ``thermo_style`` that reset it, or None).
    reset : int or None
        Line of a ``reset_timestep`` since the previous run.
    dt_reset : int or None
        Line of a ``fix dt/reset`` in force: the time step varies within the run.
    computes, fixes : dict
        ID -> (tokens of the command, line), those defined when the run began.
    box : tuple or None
        (volume in the style's length unit cubed, line) of the last box the file echoed before the run.
    atoms : tuple or None
        (count, line): the run's ``Loop time ... with N atoms``, else the last count echoed before it.
    columns : list or None
        The thermo header; ``header_line`` its line.
    rows : list
        (line, tokens) of every full row of the block.
    damaged : list
        (line, text) of lines inside the block that are mostly numbers but not a row (cut short, run together, or
        another command's output such as ``fix print`` to the screen).
    ended : int or None
        Line of ``Loop time``; None where the file ends inside the run.
    style : tuple or None
        (``multi`` or ``yaml``, line) where the thermo output is not in columns.
    """

    number: int
    command: str
    line: int | None
    units: tuple
    timestep: tuple
    thermo: tuple
    norm: tuple
    reset: int | None
    dt_reset: int | None
    computes: dict
    fixes: dict
    box: tuple | None
    atoms: tuple | None
    style: tuple | None = None
    columns: list | None = None
    header_line: int | None = None
    rows: list = field(default_factory=list)
    damaged: list = field(default_factory=list)
    ended: int | None = None

    @property
    def time_unit_ps(self) -> float | None:
        """ps per time unit of the run's unit style (metal: ps, real: fs); None for other styles."""
        return {"metal": 1.0, "real": 1e-3, None: None}.get(self.units[0])

    def describe(self) -> str:
        """'run 2 (run 50000, line 276)'."""
        what = f"{self.command}, line {self.line}" if self.line is not None else "its command not in the file"
        return f"run {self.number} ({what})"


def _float(token: str) -> float | None:
    try:
        return float(token)
    except ValueError:
        return None


def log_runs(path: str, lines: list) -> list:
    """The runs of a LAMMPS log (or input) as a sequence: each ``run``/``minimize`` command with the settings in force
    when it began (``units``, ``timestep``, ``thermo``, ``thermo_style``, ``thermo_modify norm``, ``reset_timestep``,
    the computes and fixes defined) and the thermo block it wrote (:class:`LogRun`). ``path``: the file, ``lines``: its
    lines (read by the caller: a log may be compressed).

    The commands are those of the file's :class:`~trajmodes.io.trajectories.lammps_input.LammpsInput`: a log's trace
    (its substituted echoes, what ``print`` wrote and a run's output not taken for commands), an input script's
    commands as LAMMPS runs them (loops unrolled, ``include`` files inlined); a command whose value is not known
    (an undefined variable) leaves its setting unknown (None) from its line on. A thermo header is a line of column
    names with ``Step`` among them, or after LAMMPS' ``Per MPI rank memory`` line; its block runs to ``Loop time of``.
    A block without an echoed command before it (a log written with ``echo none``, or the sub-runs of ``run N every
    M``) is a run of its own with the settings of the one before."""
    path = os.fspath(path)
    model = LammpsInput.read(path, text="\n".join(lines))
    walk = _RunWalk()
    if model is None or not model.is_log:
        for cmd in () if model is None else model.commands:
            walk.command(cmd)
        return walk.runs
    echoed = _echoed_commands(model, path)
    current = None                                  # the run whose block is being read
    previous = ""
    for i, ln in enumerate(lines):
        tok = ln.split()
        if not tok:
            continue
        if current is not None and current.ended is None:
            if len(tok) == len(current.columns) and all(_float(t) is not None for t in tok):
                current.rows.append((i + 1, tok))
                continue
            if ln.startswith("Loop time"):
                current.ended = i + 1
                m = _LOOP_ATOMS.search(ln)
                if m:
                    current.atoms = walk.state["atoms"] = (int(m.group(1)), i + 1)
                current = None
            elif not tok[0].startswith(("WARNING", "ERROR")) and _numbers(tok) * 2 >= len(tok):
                current.damaged.append((i + 1, ln.strip()))
            continue
        word = tok[0]
        header = (len(tok) > 1 and all(THERMO_NAME.match(t) for t in tok) and all(_float(t) is None for t in tok)
                  and ("Step" in tok or previous.startswith(("Per MPI rank memory", "Memory usage per processor")))
                  and word not in _RUN_COMMANDS)
        if header:
            run = walk.block()
            run.columns, run.header_line, current = tok, i + 1, run
        elif word.startswith("-----") and "Step" in ln or word == "keywords:" and "Step" in ln:
            walk.block().style = ("multi" if word.startswith("-") else "yaml", i + 1)
        elif i + 1 in echoed:
            walk.command(echoed[i + 1])
        else:
            box = _BOX.search(ln)
            if box:
                lo, hi = (np.array(s.split(), float) for s in box.groups()[1:])
                walk.state["box"] = (float(np.prod(hi - lo)), i + 1)
            atoms = _ATOMS.match(ln)
            if atoms:
                walk.state["atoms"] = (int(atoms.group(1)), i + 1)
        previous = ln.lstrip()
    return walk.runs


def _echoed_commands(model: LammpsInput, path: str) -> dict:
    """1-based line -> :class:`~trajmodes.io.trajectories.lammps_script.Command` of the commands of the log ``model``
    that LAMMPS echoed into the file ``path`` itself (not those of a file a ``log`` command goes on in)."""
    here = os.path.abspath(path)
    return {c.line: c for c in model.commands if os.path.abspath(c.path) == here}


class _RunWalk:
    """The runs of :func:`log_runs` as the commands come: the settings in force, and each run started with them."""

    def __init__(self):
        self.runs: list = []
        self.state = dict(units=(None, None), timestep=(None, None), thermo=(None, None), norm=(None, None),
                          reset=None, dt_reset=None, computes={}, fixes={}, box=None, atoms=None, style=None)
        self.pending = None                         # the last run command, its block not yet begun

    def start(self, command: str, line: int | None) -> LogRun:
        state = self.state
        run = LogRun(len(self.runs) + 1, command, line, state["units"], state["timestep"], state["thermo"],
                     state["norm"], state["reset"], state["dt_reset"], dict(state["computes"]), dict(state["fixes"]),
                     state["box"], state["atoms"], state["style"])
        self.runs.append(run)
        state["reset"] = None
        return run

    def block(self) -> LogRun:
        """The run a thermo block (or its multi or yaml output) belongs to: the pending run command's, else a run of
        its own."""
        run = self.pending if self.pending is not None else self.start("", None)
        self.pending = None
        return run

    def command(self, cmd) -> None:
        """Take one command (its values substituted; a value not known sets its setting to None)."""
        state, word, args, line = self.state, cmd.name, cmd.args, cmd.line
        known = cmd.unknown is None
        tok = [word, *args]
        if word == "units" and args:
            state["units"] = (args[0] if known else None, line)
            state["timestep"] = (DEFAULT_TIMESTEP.get(args[0]) if known else None, None)
        elif word == "timestep" and args:
            state["timestep"] = (_float(args[0]) if known else None, line)
        elif word == "read_restart":
            state["timestep"] = (None, line)                # the restart file's, not in the log
        elif word == "thermo" and args:
            state["thermo"] = (int(args[0]) if known and _is_int(args[0]) else None, line)
        elif word == "thermo_style" and args:
            state["norm"] = (None, line)                    # thermo_style resets thermo_modify
            state["style"] = (args[0], line) if args[0] in ("multi", "yaml") else None
        elif word == "thermo_modify":
            for k in range(len(args) - 1):
                if args[k] == "norm":
                    state["norm"] = (args[k + 1] == "yes" if known else None, line)
                elif args[k] == "line" and args[k + 1] in ("multi", "yaml"):
                    state["style"] = (args[k + 1], line)
        elif word == "reset_timestep":
            state["reset"] = line
        elif word == "compute" and len(args) > 2:
            state["computes"][args[0]] = (tok, line)
        elif word == "uncompute" and args:
            state["computes"].pop(args[0], None)
        elif word == "fix" and len(args) > 2:
            state["fixes"][args[0]] = (tok, line)
            if args[2] == "dt/reset":
                state["dt_reset"] = line
        elif word == "unfix" and args:
            gone = state["fixes"].pop(args[0], None)
            if gone is not None and gone[0][3] == "dt/reset":
                state["dt_reset"] = None
        elif word in _RUN_COMMANDS and args:
            self.pending = self.start(" ".join(tok), line)
