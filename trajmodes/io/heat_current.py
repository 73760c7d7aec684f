"""The heat current of an MD run as LAMMPS and other codes write it: columns of a table.

What is read:

- a LAMMPS log (``log.lammps``), as a sequence of runs (:func:`~trajmodes.io.trajectories.lammps_log.log_runs`):
  each ``run`` with the ``units``, ``timestep``, ``thermo`` interval, ``thermo_style`` columns and ``thermo_modify
  norm`` in force when it began, and the thermo block it wrote (``thermo_style custom step temp vol c_flux[1]
  c_flux[2] c_flux[3]``). The runs whose columns hold the current are joined only where they continue each other
  (the same time step, thermo interval and units; the next starts at the step the last ended, no ``reset_timestep``
  between; the step they share is read once); otherwise the log is refused naming the runs, and ``run=`` picks one.
  Within a run the rows must be every ``thermo`` steps: a missing, repeated or backward step is refused with its
  line (a first or last row off that grid, at a run's own first or last step, is dropped and said). A current
  printed per atom (``thermo_modify norm yes``, the default of ``lj`` units) is multiplied back by the run's atom
  count where LAMMPS divided it (a ``compute heat/flux``; never a variable), and refused where that is not known;
- the file of ``fix ave/time`` (``# TimeStep c_flux[1] c_flux[2] c_flux[3]``) or of ``fix print`` (its ``title``
  line names the columns); where the LAMMPS input or log that wrote it lies beside it (or is given), the fix's
  ``Nevery Nrepeat Nfreq`` (or ``print N``) give the interval between rows, and the run's ``timestep`` and ``units``
  the time step and unit style;
- any table of columns with a header line of names (``#`` comment lines before it are skipped; the last comment line
  is the header when no line of names follows), e.g. SporTran's input files. A line inside the table that is not a
  full row (cut short, damaged) is refused with its line (the last line of a file still being written is dropped and
  said); a step column must go up by one interval each row;
- GPUMD's ``compute.out`` with the ``run.in`` beside it, whose ``compute`` line asks for ``jp`` and ``jk`` (the
  potential and kinetic heat currents of each group, in eV^(3/2) amu^(-1/2), summed over the groups here), its
  ``time_step`` (fs) and intervals giving the time between rows, and the ``model.xyz`` beside it the volume.

The current is three columns: ``c_NAME[1..3]`` of a vector compute (the first three of ``compute heat/flux``'s six:
the full current, then its convective part), ``v_Jx v_Jy v_Jz``, or ``Jx Jy Jz``; ``current=`` names it when the
table holds several. It is the volume-integrated current, as LAMMPS writes it (its documentation: the output is
J without the 1/V), in energy x velocity of the run's units (metal, real, or lj with the run's scales:
``lj_scales=``), converted here to eV Å/ps. Temperature (``Temp``,
``c_..._temp``) and volume (``Volume``, or ``Lx Ly Lz``) columns are read when present. Every value the reader
decides (the runs and rows read, the units, the time step and interval, the atom count of a per-atom current, the
volume) is said in :attr:`HeatCurrentSeries.notes` with where it came from. The layouts other than a table of columns
(mode vector, GPUMD) are read in :mod:`trajmodes.io.heat_current_layouts`.
"""
from __future__ import annotations

import gzip
import os
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.heat_current_layouts import GPUMD_COLUMNS, LARGEST_CURRENT, gpumd_compute, vector_tables
from trajmodes.io.trajectories.lammps_log import log_runs
from trajmodes.units import AMU_A2_PS2_EV, KB_EV, KCALMOL_EV, conversion

__all__ = ["HeatCurrentSeries", "read_heat_current", "CURRENT_UNITS", "GPUMD_VELOCITY", "GPUMD_COLUMNS",
           "EXTENSIVE_COMPUTES"]

#: eV A/ps per unit of the volume-integrated heat current (energy x velocity) of each LAMMPS unit style: metal
#: eV A/ps, real kcal/mol A/fs
CURRENT_UNITS = {"metal": 1.0, "real": KCALMOL_EV * 1e3}
#: the ps of one MD time unit (the ``timestep`` command's unit) of each unit style
TIMESTEP_PS = {"metal": 1.0, "real": 1e-3}
#: the LAMMPS unit styles whose heat current is read (lj with its physical scales, ``lj_scales=``)
STYLES_READ = ("metal", "real", "lj")


@dataclass(frozen=True)
class _Scales:
    """What multiplies a heat-current file's values in a LAMMPS unit style into trajmodes' units."""

    style: str | None
    current: float = 1.0          # energy x velocity -> eV A/ps
    time: float = 1.0             # the style's time unit (the timestep command's) -> ps
    volume: float = 1.0           # length^3 -> A^3
    temperature: float = 1.0      # the Temp column -> K (lj: reduced temperature k_B T / epsilon)


def _scales(path: str, style: str | None, lj_scales, line=None, given: bool = False) -> _Scales:
    """The :class:`_Scales` of ``style`` (None: metal), or a refusal naming the file and where the style was said."""
    if style is None or style == "metal":
        return _Scales(style)
    if style == "real":
        return _Scales(style, CURRENT_UNITS["real"], TIMESTEP_PS["real"])
    said = "given" if given else ("its units command" if line else "the LAMMPS input")
    if style == "lj":
        if not lj_scales:
            raise TrajectoryFormatError(path, f"the heat current is in LAMMPS units lj ({said}): reduced units, whose "
                                              "physical size the file does not say", line=None if given else line,
                                        fix="Give the run's scales: --lj-scales SIGMA,EPSILON,MASS (A, eV, amu; "
                                            "argon: 3.405,0.01032,39.948), lj_scales={'sigma': ..., 'epsilon': ..., "
                                            "'mass': ...} in Python")
        c = conversion("lj", lj_scales)
        return _Scales("lj", c.energy * c.velocity, c.time, c.length ** 3, c.energy / KB_EV)
    raise TrajectoryFormatError(path, f"the heat current in LAMMPS units {style!r} ({said}) is not supported",
                                line=None if given else line,
                                fix=f"Use one of {', '.join(STYLES_READ)} units, or convert the current to eV A/ps "
                                    "and pass --units metal (units='metal')")
#: computes whose global vector LAMMPS' thermo output divides by the atom count under ``thermo_modify norm yes``
#: (extensive); a thermo variable is never divided
EXTENSIVE_COMPUTES = ("heat/flux",)
#: A/ps per GPUMD velocity unit, sqrt(eV/amu): its heat currents (eV^(3/2) amu^(-1/2), energy x that velocity) times
#: it are eV A/ps (its heat-current correlations, eV^3/amu, times its square are (eV A/ps)^2)
GPUMD_VELOCITY = float(1.0 / np.sqrt(AMU_A2_PS2_EV))
_NAME = re.compile(r"^[A-Za-z_][\w\[\]:.\-/]*$")
_VECTOR = re.compile(r"^(?P<base>.+)\[(?P<i>\d+)\]$")
_STEP_COLUMNS = ("Step", "TimeStep", "step", "timestep")
#: a step written twice (the end of one run, the start of the next) is read once where its values agree to this
#: share of the column's largest value
_REPEAT_RTOL = 1e-6
#: files beside a table that may be the LAMMPS input or log that wrote it
_WRITER_NAMES = re.compile(r"^(log.*|in\..*|.*\.in|.*\.lmp|.*\.lammps|.*\.inp)$")
_WRITER_BYTES = 50 << 20


@dataclass(frozen=True)
class HeatCurrentSeries:
    """A heat-current time series and what its file says of the run.

    Parameters
    ----------
    current : ndarray (steps, 3)
        The volume-integrated heat current, eV Å/ps.
    steps : ndarray of int (steps,) or None
        MD steps of the rows (None where the table has no step column).
    dt : float or None
        ps between rows (the row interval in steps times the MD time step), None where the file does not say.
    temperature : ndarray (steps,) or None
        K, where the table has a temperature column.
    volume : float or None
        Å³: the mean of a volume column (or Lx Ly Lz), else the box the log echoes; None where the file does not say.
    units : str or None
        The LAMMPS unit style the values were in (None: assumed ``metal``).
    columns : tuple of str
        The three columns read as the current.
    others : ndarray (k, steps, 3) or None
        Other currents of the run (``others=``: the mass currents of a multi-component fluid), as written.
    path : str
        The file read.
    source : str
        What kind of file it was, in words.
    lines : ndarray of int (steps,) or None
        The 1-based line of every row in the file.
    notes : tuple of str
        What was read and decided, each with where it came from: the runs and rows, the units, the time step and
        the interval between rows, a per-atom current multiplied back, the volume, rows dropped.
    """

    current: np.ndarray
    steps: np.ndarray | None
    dt: float | None
    temperature: np.ndarray | None
    volume: float | None
    units: str | None
    columns: tuple
    others: np.ndarray | None
    path: str
    source: str
    lines: np.ndarray | None = None
    notes: tuple = ()

    def where(self) -> str:
        """The file and its rows, in words: 'log.lammps, 61 rows at lines 49-87'."""
        rows = f"{len(self.current)} rows" + (f" at {_span_lines(self.lines)}" if self.lines is not None and
                                              len(self.lines) else "")
        return f"{self.path}, {rows}"


def _span_lines(lines) -> str:
    return f"line {int(lines[0])}" if len(lines) == 1 else f"lines {int(lines[0])}-{int(lines[-1])}"


def _span_steps(steps, every=None) -> str:
    if steps is None or not len(steps):
        return "no step column"
    return f"steps {int(steps[0])} to {int(steps[-1])}" + (f" every {every}" if every else "")


def _floats(tokens: list) -> list | None:
    """The values of ``tokens``, or None where one is not a number (each token parsed once)."""
    try:
        return [float(t) for t in tokens]
    except ValueError:
        return None


def _is_header(tok: list) -> list | None:
    """The column names of a header line (``#`` comment's names count), or None."""
    names = tok[1:] if tok[0] == "#" else ([tok[0][1:]] + tok[1:] if tok[0].startswith("#") else tok)
    if names and len(names) > 1 and all(_NAME.match(t) for t in names) and _floats(names) is None:
        return names
    return None


def _tables(lines: list) -> list:
    """The tables of ``lines``: dicts of ``header`` (names), ``line`` (the header's, 1-based), ``rows`` [(line,
    values)] and ``bad`` [(line, text)], the lines inside the table that are not full rows of numbers (comments,
    ``WARNING``/``ERROR`` lines and blank lines apart), for every header of names followed by rows."""
    tables, cur = [], None
    for i, ln in enumerate(lines):
        tok = ln.split()
        if not tok:
            continue
        names = _is_header(tok)
        if names is not None:
            cur = {"header": names, "line": i + 1, "rows": [], "bad": []}
            tables.append(cur)
            continue
        if tok[0].startswith("#") or cur is None:
            continue
        values = _floats(tok) if len(tok) == len(cur["header"]) else None
        if values is not None:
            cur["rows"].append((i + 1, values))
        elif ln.startswith("Loop time"):
            cur = None                                  # the run ended
        elif not tok[0].startswith(("WARNING", "ERROR")):
            cur["bad"].append((i + 1, ln.strip()))
    return [t for t in tables if t["rows"]]


def _current_columns(header: list, current: str | None, path: str = "", line: int | None = None) -> list | None:
    """Indices of the three current columns in ``header``, or None; a name given twice, or a chosen column the header
    holds twice, is refused."""
    def vector(base):
        idx = [header.index(f"{base}[{k}]") if f"{base}[{k}]" in header else None for k in (1, 2, 3)]
        return None if None in idx else idx
    found = None
    if current is not None and "," in current:
        names = [c.strip() for c in current.split(",")]
        twice = sorted({n for n in names if names.count(n) > 1})
        if len(names) != 3 or twice:
            raise TrajectoryFormatError(
                path, f"current={current!r} " + (f"names {', '.join(twice)} more than once: the three components of "
                                                 "the current are three different columns" if twice else
                                                 f"names {len(names)} columns, not the three components x, y, z"),
                fix="Name the x, y and z columns once each, e.g. 'c_flux[1],c_flux[2],c_flux[3]'")
        found = [header.index(n) for n in names] if all(n in header for n in names) else None
    elif current is not None:
        for base in (current, f"c_{current}", f"v_{current}", f"f_{current}"):
            found = vector(base)
            if found is not None:
                break
        else:
            for base in (current, f"v_{current}"):
                if all(f"{base}{a}" in header for a in "xyz"):
                    found = [header.index(f"{base}{a}") for a in "xyz"]
                    break
    else:
        candidates = []
        for t in header:
            m = _VECTOR.match(t)
            if m and m.group("i") == "1" and vector(m.group("base")) is not None and \
                    re.search(r"flux|heat|^c_j|^v_j|^j", m.group("base"), re.I):
                candidates.append(vector(m.group("base")))
        for base in ("J", "Jq", "v_J", "v_Jq", "flux"):
            if all(f"{base}{a}" in header for a in "xyz"):
                candidates.append([header.index(f"{base}{a}") for a in "xyz"])
        found = candidates[0] if len(candidates) == 1 else None
    if found is not None:
        twice = sorted({header[c] for c in found if header.count(header[c]) > 1})
        if twice:
            raise TrajectoryFormatError(path, f"the column(s) {', '.join(twice)} of the current appear more than once "
                                              f"in the header ({' '.join(header)})", line=line,
                                        fix="Write each component of the current once (thermo_style custom step "
                                            "temp vol c_flux[1] c_flux[2] c_flux[3])")
    return found


def _candidates(header: list) -> str:
    bases = sorted({m.group("base") for m in map(_VECTOR.match, header) if m})
    return ", ".join(bases) if bases else "none"


def _no_current(path: str, current, headers: list):
    seen = "; ".join(f"columns {' '.join(h[:12])}{' ...' if len(h) > 12 else ''}" for h in headers[:3]) or \
        "no table of numbers under a line of column names"
    raise TrajectoryFormatError(
        path, f"no heat-current columns{'' if current is None else f' named {current!r}'} ({seen}; vectors: "
              f"{', '.join(_candidates(h) for h in headers[:3]) or 'none'})",
        fix="Name the current: --current flux (current='flux') for c_flux[1] c_flux[2] c_flux[3], or three "
            "columns --current Jx,Jy,Jz (LAMMPS: compute flux all heat/flux ke pe stress, then thermo_style custom "
            "step temp vol c_flux[1] c_flux[2] c_flux[3], or fix ave/time)")


def _positive(value, name: str):
    """``value`` as a float, refused unless a finite positive number (as the command line's options)."""
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name}={value!r}: must be a positive number")
    return v


def read_heat_current(path, *, current: str | None = None, others=(), units: str | None = None,
                      md_timestep: float | None = None, run=None, lammps_input=None,
                      lj_scales: dict | None = None) -> HeatCurrentSeries:
    """Read a heat-current series (module docstring).

    Parameters
    ----------
    path : str or path
        The file: a LAMMPS ``fix print`` / ``fix ave/time`` output, a log, or GPUMD's ``compute.out`` (module
        docstring).
    current : str, optional
        The current's columns: a vector compute or variable's name (``flux`` for ``c_flux[1..3]``), or three column
        names separated by commas; default the one vector whose name says heat current (``flux``, ``heat``, ``J``).
    others : sequence of str
        Other currents to read the same way (``("vcm[1]",)`` for ``c_vcm[1][1..3]``), in their own units.
    units : {"metal", "real", "lj"}, optional
        The LAMMPS unit style of the values; default the log's ``units`` command, else ``metal``.
    md_timestep : float, optional
        The MD time step in ps; default the ``timestep`` in force for the run that wrote the rows (in its unit
        style's time unit: ps for metal, fs for real).
    run : int or sequence of int, optional
        The run(s) to read, numbered from 1: of a log, as its ``run`` commands come (the refusal of runs that do not
        continue each other names them); of a table whose steps restart, each stretch of increasing steps.
    lammps_input : str or path, optional
        Of a ``fix ave/time`` or ``fix print`` file: the LAMMPS input or log that wrote it (default: one beside it
        that names the file), for the interval between rows, the time step and the units.
    lj_scales : dict, optional
        ``{"sigma": A, "epsilon": eV, "mass": amu}`` of a run in units lj (its current, time step, volume and
        reduced temperature are converted with them).

    Returns
    -------
    HeatCurrentSeries

    Raises
    ------
    trajmodes.errors.TrajectoryFormatError
        No table, no current column (the columns found are named), a current column named twice, a row cut short
        or missing, steps that repeat, go back or skip, runs that do not continue each other, a per-atom current
        whose atom count is unknown, a zero time step or volume, a value that is not finite: each with its line.
    """
    path = os.fspath(path)
    md_timestep = _positive(md_timestep, "md_timestep")
    if os.path.basename(path).startswith("compute.out"):
        fields = gpumd_compute(path, md_timestep)
        return HeatCurrentSeries(**dict(fields, current=fields["current"] * GPUMD_VELOCITY))
    text = _read_text(path)
    lines = text.split("\n")
    runs = None if run is None else ([int(run)] if np.ndim(run) == 0 else [int(r) for r in run])
    if bool(re.search(r"^LAMMPS \(", text, re.M)) or "Loop time of" in text:
        return _from_log(path, lines, current, others, units, md_timestep, runs, lj_scales)
    return _from_table(path, lines, text, current, others, units, md_timestep, runs, lammps_input, lj_scales)


def _read_text(path: str) -> str:
    try:
        with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as f:
            return f.read().decode("utf-8", "replace")
    except OSError as exc:
        raise TrajectoryFormatError(path, f"cannot be read: {exc.strerror or exc}",
                                    fix="Pass the LAMMPS log, the fix ave/time or fix print file, or a table of the "
                                        "heat current") from None


def _last_line(lines: list) -> int:
    """1-based line of the last line that is not blank."""
    return next((i + 1 for i in range(len(lines) - 1, -1, -1) if lines[i].strip()), 0)


def _check_sequence(path: str, steps, lines, every: int, every_from: str, damaged=(), what: str = "") -> None:
    """Refuse, naming the line, the first row whose step is not one interval (``every`` steps) after the last: a
    missing row (and the damaged line in its place, where there is one), a repeated step, steps that go back or
    leave the grid."""
    d = np.diff(steps)
    bad = np.flatnonzero(d != every)
    if not len(bad):
        return
    k = int(bad[0])
    a, b, la, lb = int(steps[k]), int(steps[k + 1]), int(lines[k]), int(lines[k + 1])
    between = [(ln, t) for ln, t in damaged if la < ln < lb]
    if b == a:
        msg = f"step {a} is written twice (lines {la} and {lb}){what}"
    elif b < a:
        msg = f"the steps go back: step {a} (line {la}) then step {b} (line {lb}){what}"
    elif (b - a) % every == 0:
        n = (b - a) // every - 1
        msg = (f"{n} row{'s' if n > 1 else ''} missing: step {a} (line {la}) then step {b} (line {lb}), where the rows "
               f"are every {every} steps ({every_from}){what}")
    else:
        msg = (f"the rows are not evenly spaced: step {a} then {b} (line {lb}), off the grid of every {every} steps "
               f"({every_from}){what}")
    if between:
        msg += f"; line {between[0][0]} holds {between[0][1][:80]!r}, a row cut short or damaged"
    raise TrajectoryFormatError(path, msg, line=between[0][0] if between else lb,
                                fix="A Green-Kubo series needs one row every interval, each at its own time: repair "
                                    "or remove the line, or pass the rows of a stretch that is whole (a row left out "
                                    "would put every later row one interval early)")


def _check_finite(path: str, table, lines, cols, header, largest: float | None = None) -> None:
    """Refuse the first row where a column of ``cols`` is not finite (or, ``largest`` given, larger in magnitude: a
    current no MD run writes, whose squares would overflow), naming its line."""
    for c in cols:
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(table[:, c]) if largest is None else np.abs(table[:, c]) <= largest
        bad = np.flatnonzero(~ok)
        if len(bad):
            v = table[bad[0], c]
            raise TrajectoryFormatError(path, f"{header[c]} is {v:g} in this row" + (
                f", beyond {largest:g} in magnitude: no MD run's heat current" if np.isfinite(v) else ""),
                line=int(lines[bad[0]]), fix="The run went wrong there (atoms lost, an unstable integration), or the "
                                             "column is not the current: pass the rows before it, or rerun")


def _temperature_volume(path, header, table, lines, box, notes, scales: _Scales | None = None) -> tuple:
    """The temperature column and the volume (a Volume or Lx Ly Lz column's mean, else ``box`` (volume, line, where))
    of a table, converted with ``scales`` (K, Å³), with notes; a volume that is not positive is refused with its
    line."""
    scales = scales or _Scales(None)
    units = f", converted from units {scales.style}" if scales.style not in (None, "metal", "real") else ""
    temp_col = next((i for i, n in enumerate(header) if n in ("Temp", "temp") or re.match(r"c_\w*temp\w*$", n, re.I)),
                    None)
    if temp_col is not None:
        _check_finite(path, table, lines, [temp_col], header)
        notes.append(f"temperature: the {header[temp_col]} column{units}")
    volume = None
    if "Volume" in header or all(n in header for n in ("Lx", "Ly", "Lz")):
        names = ["Volume"] if "Volume" in header else ["Lx", "Ly", "Lz"]
        cols = [header.index(n) for n in names]
        _check_finite(path, table, lines, cols, header)
        v = np.prod(table[:, cols], axis=1)
        bad = np.flatnonzero(v <= 0)
        if len(bad):
            raise TrajectoryFormatError(path, f"the volume ({' x '.join(names)}) is {v[bad[0]]:g} in this row",
                                        line=int(lines[bad[0]]), fix="Pass the run's volume (volume=, --volume A^3)")
        volume = float(v.mean()) * scales.volume
        notes.append(f"volume {volume:.8g} A^3: the mean of the {' x '.join(names)} column{'s' * (len(names) > 1)}"
                     f"{units}")
    elif box is not None:
        volume, line, where = box
        volume *= scales.volume
        if not volume > 0:
            raise TrajectoryFormatError(where, f"the box echoed here has volume {volume:g}", line=line,
                                        fix="Pass the run's volume (volume=, --volume A^3)")
        notes.append(f"volume {volume:.8g} A^3: the box echoed at line {line} of {where} (before the run; a run that "
                     f"changes its box needs vol among the thermo columns){units}")
    return (None if temp_col is None else table[:, temp_col] * scales.temperature), volume


def _time_column(path, header, table, lines, dt, scales: _Scales, given: bool, notes: list):
    """The time between rows of a table with a ``Time`` column (LAMMPS' thermo keyword time: the elapsed time in the
    style's time unit), checked against ``dt`` (ps) where the step column and a time step give one: used where none
    does; a disagreement with the time step of the run's input is refused with the rows, with one given
    (``given``) said."""
    if "Time" not in header or len(table) < 2:
        return dt
    t = table[:, header.index("Time")]
    _check_finite(path, table, lines, [header.index("Time")], header)
    step = float(t[-1] - t[0]) / (len(t) - 1) * scales.time
    said = (f"the Time column: {t[0]:g} (line {int(lines[0])}) to {t[-1]:g} (line {int(lines[-1])}) over "
            f"{len(t) - 1} intervals, {step:g} ps between rows")
    if not step > 0:
        raise TrajectoryFormatError(path, f"{said}: the time does not go forward", line=int(lines[-1]),
                                    fix="Pass the rows of one run (--run K), or the time between rows "
                                        "(--frame-interval PS)")
    if dt is None:
        notes.append(f"{step:g} ps between rows: {said}")
        return step
    if abs(step - dt) > 0.01 * dt:
        if given:
            notes.append(f"{dt:g} ps between rows from the time step given; {said}")
        else:
            raise TrajectoryFormatError(path, f"{said}, but the steps and the run's time step give {dt:g} ps",
                                        line=int(lines[-1]),
                                        fix="Give the time step the run used (--md-timestep PS) or the time between "
                                            "rows (--frame-interval PS)")
    return dt


def _run_summary(p: dict) -> str:
    r = p["run"]
    ts = "timestep unknown" if p["md_dt"] is None else f"timestep {p['md_dt']:g} ps" + (
        f" (line {r.timestep[1]})" if r.timestep[1] is not None else " (the units' default)")
    return (f"{r.describe()}: {_span_steps(p['steps'], p['every'])}, {len(p['steps'])} rows at "
            f"{_span_lines(p['lines'])}, {ts}")


def _norm_factors(path: str, run, names: list, style: str | None) -> tuple:
    """Per column, what multiplies the value a run printed back to the whole system's (``thermo_modify norm yes``:
    LAMMPS divides an extensive compute's value by the atom count, never a variable's), and the note that says so."""
    norm, line = run.norm
    default = norm is None
    if default:
        norm = style == "lj"
    if not norm:
        return np.ones(len(names)), None
    said = (f"the default of units lj (line {run.units[1]})" if default else f"thermo_modify norm yes, line {line}")
    factors, divided = [], []
    for name in names:
        m = re.match(r"^c_([^\[\]]+)\[\d+\]$", name)
        compute = run.computes.get(m.group(1)) if m else None
        if name.startswith("v_"):
            factors.append(1.0)
        elif compute is not None and compute[0][3] in EXTENSIVE_COMPUTES:
            factors.append(None)
            divided.append(name)
        else:
            kind = (f"compute {compute[0][3]} (line {compute[1]})" if compute is not None else
                    "a compute the log does not define" if m else "a fix's or keyword's value")
            raise TrajectoryFormatError(
                path, f"the thermo values of {run.describe()} are printed per atom ({said}), and whether LAMMPS "
                      f"divided {name} ({kind}) by the atom count is not known here", line=line or run.header_line,
                fix="Rerun with thermo_modify norm no, or print the current through equal-style variables (variable "
                    "Jx equal c_flux[1] ..., thermo_style custom ... v_Jx v_Jy v_Jz), which LAMMPS never divides")
    if divided:
        if run.atoms is None:
            raise TrajectoryFormatError(path, f"{', '.join(divided)} of {run.describe()} are printed per atom "
                                              f"({said}), and the log does not say how many atoms the run has",
                                        line=line,
                                        fix="Rerun with thermo_modify norm no, or pass the log of the whole run (its "
                                            "'Loop time ... with N atoms' line)")
        n, at = run.atoms
        factors = [float(n) if f is None else f for f in factors]
        return np.array(factors), (f"{', '.join(divided)} printed per atom ({said}) by {run.describe()}: multiplied "
                                   f"by its {n} atoms (line {at})")
    return np.array(factors), f"{said} for {run.describe()}: the variables {', '.join(names)} are not divided"


def _log_piece(path: str, run, cols: list, others: tuple, units: str | None, md_timestep, last_line: int,
               lj_scales=None) -> dict:
    """The rows of one run of a log that hold the current, checked: a Step column, one row every ``thermo`` steps
    (the rows at the run's own first and last steps excepted where off that grid, dropped and said), finite
    values; the unit style, time step and per-atom factors in force."""
    header = run.columns
    if "Step" not in header:
        raise TrajectoryFormatError(path, f"the thermo columns of {run.describe()} hold no Step: its rows cannot be "
                                          "placed in time", line=run.header_line,
                                    fix="Add step to the thermo_style custom keywords")
    other_cols = []
    for name in others:
        found = _current_columns(header, name, path, run.header_line)
        if found is None:
            raise TrajectoryFormatError(path, f"no columns of the current {name!r} beside the heat current in "
                                              f"{run.describe()} ({' '.join(header)})", line=run.header_line,
                                        fix="Name a vector among the columns (vcm[1] for c_vcm[1][1..3])")
        other_cols.append(found)
    notes = []
    table = np.array([tok for _, tok in run.rows], dtype=float)
    lines = np.array([ln for ln, _ in run.rows], np.int64)
    raw = table[:, header.index("Step")]
    off = np.flatnonzero(raw != np.round(raw))
    if len(off):
        raise TrajectoryFormatError(path, f"the step {raw[off[0]]} is not a whole number", line=int(lines[off[0]]),
                                    fix="Repair or remove the line")
    steps = raw.astype(np.int64)
    first, last = int(steps[0]), int(steps[-1])
    every, at = run.thermo
    if every is not None and every > 0:
        every_from = f"thermo {every}, line {at}"
    else:
        gaps = Counter(np.diff(steps).tolist()).most_common(1)
        every = int(gaps[0][0]) if gaps and gaps[0][0] > 0 else 1
        every_from = "the rows' most common step spacing" + ("" if at is None else f"; thermo at line {at} is a "
                                                                                  "variable or 0")
    keep = np.ones(len(steps), bool)
    if len(steps) > 1 and steps[0] % every:
        keep[0] = False
        notes.append(f"{run.describe()}: its first row, step {first} (line {lines[0]}), is off the grid of every "
                     f"{every} steps: not read")
    if run.ended is not None and len(steps) > 1 and steps[-1] % every:
        keep[-1] = False
        notes.append(f"{run.describe()}: its last row, step {last} (line {lines[-1]}: the run's last step), is off "
                     f"the grid of every {every} steps: not read")
    table, lines, steps = table[keep], lines[keep], steps[keep]
    _check_sequence(path, steps, lines, every, every_from, run.damaged, f" within {run.describe()}")
    if run.ended is None and run.damaged and run.damaged[-1][0] == last_line and last_line > lines[-1]:
        notes.append(f"the log ends inside {run.describe()}, still being written: its last line, line {last_line} "
                     f"({run.damaged[-1][1][:60]!r}), is a row cut short, not read")
    all_cols = cols + [c for oc in other_cols for c in oc]
    _check_finite(path, table, lines, all_cols, header, LARGEST_CURRENT)
    style = units or run.units[0]
    scales = _scales(path, style, lj_scales, None if units else run.units[1], given=units is not None)
    if run.dt_reset is not None:
        raise TrajectoryFormatError(path, f"fix dt/reset (line {run.dt_reset}) changes the time step during "
                                          f"{run.describe()}: rows an equal number of steps apart are not equally "
                                          "far apart in time", line=run.dt_reset,
                                    fix="Run the production at a fixed timestep")
    ts, ts_line = run.timestep
    if ts is not None and not ts > 0:
        raise TrajectoryFormatError(path, f"the time step in force for {run.describe()} is {ts:g}", line=ts_line,
                                    fix="Pass the run's time step (--md-timestep PS; md_timestep= in Python)")
    log_dt = None if ts is None else ts * scales.time
    factors, norm_note = _norm_factors(path, run, [header[c] for c in all_cols], style)
    if norm_note:
        notes.append(norm_note)
    return dict(run=run, header=header, cols=cols, other_cols=other_cols, table=table, lines=lines, steps=steps,
                every=every, every_from=every_from, first=first, last=last, style=style, scales=scales,
                log_dt=log_dt,
                md_dt=md_timestep if md_timestep is not None else log_dt, factors=factors, notes=notes)


#: an equal-style variable that is the volume-integrated current itself: a compute's component, or a sum of them
_PLAIN_CURRENT = re.compile(r"^[+-]?c_[A-Za-z0-9_]+\[\d+\]([+-]c_[A-Za-z0-9_]+\[\d+\])*$")
_VARIABLE = re.compile(r"^\s*variable\s+(\S+)\s+equal\s+(.+?)\s*(?:#.*)?$")


def _check_variables(path: str, lines: list, names: list, before: int | None) -> None:
    """Refuse current columns ``v_NAME`` whose ``variable NAME equal ...`` (the last one echoed in the log before
    line ``before``) is not the volume-integrated current J itself: ``c_flux[1]/vol`` (the pattern of LAMMPS' own
    compute heat/flux example) is a current density, and any other expression a scaled current, which would be read
    as J and give kappa wrong by V^2 or the scale squared."""
    limit = len(lines) if before is None else before - 1
    for name in names:
        if not name.startswith("v_"):
            continue
        found = None
        for k in range(min(limit, len(lines))):
            m = _VARIABLE.match(lines[k])
            if m and m.group(1) == name[2:]:
                found = (m.group(2).strip().strip('"').strip("'"), k + 1)
        if found is None:
            continue                       # the log does not echo it: taken as the current (the module docstring)
        expr, line = found
        if not _PLAIN_CURRENT.match(expr.replace(" ", "")):
            raise TrajectoryFormatError(
                path, f"the current's column {name} is the variable {name[2:]} = {expr}, not the volume-integrated "
                      "heat current J (eV A/ps in metal units) that trajmodes reads: a current divided by vol is a "
                      "density, and any other expression a scaled current (kappa would be off by the factor squared)",
                line=line, fix=f"Print the compute's components themselves (thermo_style custom ... c_flux[1] "
                               f"c_flux[2] c_flux[3]), or define {name[2:]} equal to c_flux[k] alone")


def _from_log(path, lines, current, others, units, md_timestep, wanted, lj_scales=None) -> HeatCurrentSeries:
    """A LAMMPS log as a sequence of runs (module docstring)."""
    runs = log_runs(path, lines)
    styled = next((r for r in runs if r.style is not None and r.columns is None), None)
    if styled is not None:
        raise TrajectoryFormatError(path, f"the thermo output of {styled.describe()} is in thermo_style "
                                          f"{styled.style[0]} format, not columns", line=styled.style[1],
                                    fix="Rerun with thermo_style custom step temp vol c_flux[1] c_flux[2] c_flux[3]")
    tabled = [r for r in runs if r.columns]
    found = [(r, _current_columns(r.columns, current, path, r.header_line)) for r in tabled]
    found = [(r, c) for r, c in found if c is not None and r.rows]
    if not found:
        _no_current(path, current, [r.columns for r in tabled])
    listed = ", ".join(f"{r.describe()}" for r, _ in found)
    if wanted is not None:
        by_number = {r.number: (r, c) for r, c in found}
        missing = [k for k in wanted if k not in by_number]
        if missing:
            raise TrajectoryFormatError(path, f"run={wanted if len(wanted) > 1 else wanted[0]}: the log has no run "
                                              f"{', '.join(map(str, missing))} that writes the current (the runs that "
                                              f"do: {listed})", fix="Pick one of those runs")
        found = [by_number[k] for k in wanted]
    last_line = _last_line(lines)
    for r, c in found:
        _check_variables(path, lines, [r.columns[k] for k in c], r.header_line)
    pieces = [_log_piece(path, r, c, others, units, md_timestep, last_line, lj_scales) for r, c in found]
    for a, b in zip(pieces, pieces[1:]):
        why = []
        ra, rb = a["run"], b["run"]
        if a["style"] != b["style"]:
            why.append(f"units {a['style']} then {b['style']}")
        if a["log_dt"] != b["log_dt"]:
            why.append(f"timestep {a['log_dt']:g} ps then {b['log_dt']:g} ps (line {rb.timestep[1]})" if None not in
                       (a["log_dt"], b["log_dt"]) else "a time step the log does not state")
        if a["every"] != b["every"]:
            why.append(f"a row every {a['every']} steps then every {b['every']} ({b['every_from']})")
        if [a["header"][c] for c in a["cols"]] != [b["header"][c] for c in b["cols"]]:
            why.append("the current in other columns")
        for r in (ra, rb):
            if r.command.split()[:1] in (["minimize"], ["rerun"]):
                why.append(f"{r.describe()} is not dynamics")
        if rb.reset is not None:
            why.append(f"reset_timestep at line {rb.reset} before {rb.describe()}")
        elif b["first"] != a["last"] or not (b["steps"][0] - a["steps"][-1]) in (0, a["every"]):
            why.append(f"{ra.describe()} ends at step {a['last']}, {rb.describe()} starts at step {b['first']}")
        if why:
            raise TrajectoryFormatError(
                path, f"{len(pieces)} runs write the current, and {rb.describe()} does not continue {ra.describe()} "
                      f"({'; '.join(why)}): " + "; ".join(_run_summary(p) for p in pieces),
                line=rb.line, fix="A Green-Kubo series is one run at one time step: pass run=K (trajmodes "
                                  "conductivity --run K) to read one of them")
        if b["steps"][0] == a["steps"][-1]:                 # the step two runs share, read once (the earlier)
            for key in ("table", "lines", "steps"):
                b[key] = b[key][1:]
            b["notes"].append(f"step {a['last']}, the last of {ra.describe()} and the first of {rb.describe()}, read "
                              f"once (line {a['lines'][-1]})")
    notes = []
    p0 = pieces[0]
    style = p0["style"]
    if len(pieces) > 1:
        joined = ", ".join(p["run"].describe() for p in pieces)
        notes.append(f"{len(pieces)} runs joined: they continue each other ({joined}"
                     f"; same units, time step and thermo interval, each starting where the last ended)")
    else:
        notes.append(f"{p0['run'].describe()}" + (" (run=)" if wanted is not None else
                                                   " (the only run whose columns hold the current)"))
    if wanted is not None or len(found) < len(tabled):
        others_runs = [r.describe() for r in tabled if r not in [p["run"] for p in pieces]]
        if others_runs:
            notes.append(f"not read: {', '.join(others_runs)}")
    for p in pieces:
        notes += p["notes"]
    table = np.concatenate([p["table"][:, p["cols"]] * p["factors"][:3] for p in pieces])
    others_arr = None
    if p0["other_cols"]:
        others_arr = np.stack([np.concatenate([p["table"][:, oc] * p["factors"][3 + 3 * k: 6 + 3 * k]
                                               for p in pieces]) for k, oc in enumerate(p0["other_cols"])])
    steps = np.concatenate([p["steps"] for p in pieces])
    row_lines = np.concatenate([p["lines"] for p in pieces])
    every = p0["every"]
    notes.append(f"{len(steps)} rows at {_span_lines(row_lines)}, {_span_steps(steps, every)} ({p0['every_from']})")
    notes.append(f"units {style}: " + ("given" if units else f"line {p0['run'].units[1]}" if style else
                                       "assumed metal (the log has no units command)"))
    ts, ts_line = p0["run"].timestep
    if md_timestep is not None:
        notes.append(f"timestep {md_timestep:g} ps: given (md_timestep)" + (
            f"; the log's is {p0['log_dt']:g} ps (line {ts_line})" if p0["log_dt"] not in (None, md_timestep) else ""))
    elif p0["log_dt"] is not None:
        notes.append(f"timestep {p0['log_dt']:g} ps: " + (f"line {ts_line}" if ts_line is not None else
                                                           f"the default of units {style}, no timestep command")
                     + f", in force for {p0['run'].describe()}")
    else:
        notes.append("the log does not state the time step" + (f" (read_restart at line {ts_line})" if ts_line else
                                                                 " (no units or timestep command)"))
    md_dt = p0["md_dt"]
    dt = None if md_dt is None or len(steps) < 2 else md_dt * every
    if dt is not None:
        notes.append(f"{dt:g} ps between rows: {every} steps x {md_dt:g} ps")
    header = [n for n in p0["header"] if all(n in p["header"] for p in pieces)]
    full = np.concatenate([p["table"][:, [p["header"].index(n) for n in header]] for p in pieces])
    box = None if p0["run"].box is None else (p0["run"].box[0], p0["run"].box[1], path)
    temperature, volume = _temperature_volume(path, header, full, row_lines, box, notes, p0["scales"])
    if style == "lj":
        notes.append(_lj_note(p0["scales"], lj_scales))
    return HeatCurrentSeries(table * p0["scales"].current, steps, dt, temperature, volume, style,
                             tuple(p0["header"][c] for c in p0["cols"]),
                             None if others_arr is None else others_arr, path, "LAMMPS log", row_lines, tuple(notes))


def _lj_note(scales: _Scales, lj_scales: dict) -> str:
    return (f"units lj: sigma {float(lj_scales['sigma']):g} A, epsilon {float(lj_scales['epsilon']):g} eV, mass "
            f"{float(lj_scales['mass']):g} amu given (tau = {scales.time:.6g} ps; the current x {scales.current:.6g} "
            f"to eV A/ps, the reduced temperature x {scales.temperature:.6g} to K)")


def _writer_of(path: str, lammps_input) -> dict | None:
    """The fix of a LAMMPS input or log that wrote the table ``path`` (``lammps_input``, else a file beside it whose
    ``fix ... file NAME`` names it): the file, the fix's tokens and line, and the runs during which it was defined."""
    name = os.path.basename(path)
    if lammps_input is not None:
        candidates = [os.fspath(lammps_input)]
    else:
        folder = os.path.dirname(path) or "."
        try:
            entries = sorted(os.listdir(folder))
        except OSError:
            return None
        candidates = [os.path.join(folder, e) for e in entries if _WRITER_NAMES.match(e) and e != name
                      and os.path.isfile(os.path.join(folder, e))
                      and os.path.getsize(os.path.join(folder, e)) < _WRITER_BYTES]
    for cand in candidates:
        text = _read_text(cand)
        if name not in text:
            if lammps_input is not None:
                raise TrajectoryFormatError(cand, f"no fix of this input writes {name}",
                                            fix="Pass the input or log whose fix ave/time or fix print wrote it")
            continue
        lines = text.split("\n")
        for i, ln in enumerate(lines):
            tok = ln.split()
            if tok[:1] == ["fix"] and len(tok) > 4 and "file" in tok and tok.index("file") + 1 < len(tok) and \
                    os.path.basename(tok[tok.index("file") + 1]) == name:
                runs = [r for r in log_runs(cand, lines) if r.fixes.get(tok[1], (None, None))[1] == i + 1]
                return dict(path=cand, tokens=tok, line=i + 1, runs=runs)
    return None


def _writer_interval(w: dict, vector: bool = False) -> tuple:
    """(steps between the rows a fix ave/time or fix print writes, or None; what it says) of :func:`_writer_of`;
    ``vector``: the file was read as the blocks of mode vector (:func:`_vector_tables`)."""
    tok, where = w["tokens"], f"line {w['line']} of {w['path']}"
    kind = tok[3]
    if kind == "ave/time":
        if "ave" in tok and tok.index("ave") + 1 < len(tok) and tok[tok.index("ave") + 1] != "one":
            raise TrajectoryFormatError(w["path"], f"fix {tok[1]} writes a {tok[tok.index('ave') + 1]} average "
                                                   "(ave running or window): each row is a mean over many earlier "
                                                   "rows, not the current at its step", line=w["line"],
                                        fix="Write the current with ave one (the default) and Nrepeat 1")
        if "mode" in tok and tok[tok.index("mode") + 1:][:1] == ["vector"] and not vector:
            raise TrajectoryFormatError(w["path"], f"fix {tok[1]} writes in mode vector, and its file does not have "
                                                   "the blocks of mode vector under their '# TimeStep Number-of-rows' "
                                                   "and '# Row NAME ...' headers", line=w["line"],
                                        fix="Pass the file as LAMMPS wrote it, or write the current with mode scalar: "
                                            f"fix {tok[1]} all ave/time 1 1 N c_flux[1] c_flux[2] c_flux[3] file "
                                            "J.txt")
        try:
            nevery, nrepeat, nfreq = (int(t) for t in tok[4:7])
        except ValueError:
            return None, f"fix {tok[1]} ave/time ({where}): its Nevery Nrepeat Nfreq are not numbers"
        said = f"fix {tok[1]} ave/time {nevery} {nrepeat} {nfreq} ({where}): a row every {nfreq} steps"
        if nrepeat > 1:
            said += (f", each the mean of {nrepeat} values {nevery} steps apart (a running mean of "
                     f"{nrepeat * nevery} steps: it damps the spectrum above {1 / (nrepeat * nevery):.3g} per step)")
        return nfreq, said
    if kind == "print":
        try:
            n = int(tok[4])
        except ValueError:
            return None, f"fix {tok[1]} print ({where}): its interval is not a number"
        return n, f"fix {tok[1]} print {n} ({where}): a row every {n} steps"
    return None, f"fix {tok[1]} {kind} ({where})"


def _table_steps(path, table, row_lines, header, step_col, cols, wanted, every, every_from, notes):
    """The step column of a table (:func:`_from_table`): whole numbers; one stretch of increasing steps (``wanted``,
    run=, picks one where they restart); a step two runs share read once where its values agree; the interval between
    rows (the writer's ``every``, else the most common step difference) checked. Returns (table, row_lines, steps,
    every, every_from) of the rows read; ``notes`` gets what was decided."""
    off = np.flatnonzero(table[:, step_col] != np.round(table[:, step_col]))
    if len(off):
        raise TrajectoryFormatError(path, f"the step {table[off[0], step_col]:g} ({header[step_col]}) is not a "
                                          "whole number", line=int(row_lines[off[0]]),
                                    fix="Repair or remove the line (an MD step is a whole number)")
    steps = table[:, step_col].astype(np.int64)
    back, start = [], 0                 # where the steps restart: at or below the first step of the stretch
    for k in np.flatnonzero(np.diff(steps) < 0) + 1:
        if steps[k] <= steps[start]:
            back.append(int(k))
            start = int(k)
    back = np.array(back, np.int64)
    if len(back) or wanted is not None:
        bounds = np.r_[0, back, len(steps)]
        stretches = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
        said = "; ".join(f"run {k + 1}: {_span_steps(steps[a:b])}, {b - a} rows at "
                         f"{_span_lines(row_lines[a:b])}" for k, (a, b) in enumerate(stretches))
        if wanted is None or len(wanted) != 1 or not 1 <= wanted[0] <= len(stretches):
            raise TrajectoryFormatError(
                path, (f"the steps restart at line {row_lines[back[0]]} (step {steps[back[0]]} after "
                       f"{steps[back[0] - 1]}): rows of {len(stretches)} runs (reset_timestep between them, "
                       f"or files joined), which do not continue each other: {said}") if wanted is None else
                      f"run={wanted if len(wanted) > 1 else wanted[0]}: the table has {len(stretches)} run(s) of "
                      f"increasing steps, one may be read: {said}",
                line=int(row_lines[back[0]]) if len(back) else None,
                fix="A Green-Kubo series is one run: pass run=K (trajmodes conductivity --run K) to read one")
        a, b = stretches[wanted[0] - 1]
        table, row_lines, steps = table[a:b], row_lines[a:b], steps[a:b]
        notes.append(f"run {wanted[0]} of {len(stretches)} (run=): {said}")
    same = np.flatnonzero(np.diff(steps) == 0)
    if len(same):                                        # the step two runs share, where its values agree
        scale = np.abs(table[:, cols]).max() or 1.0
        for k in same:
            if np.abs(table[k + 1, cols] - table[k, cols]).max() > _REPEAT_RTOL * scale:
                raise TrajectoryFormatError(path, f"step {steps[k]} is written twice (lines {row_lines[k]} and "
                                                  f"{row_lines[k + 1]}), with different values",
                                            line=int(row_lines[k + 1]),
                                            fix="Remove the rows that do not belong to the run")
        keep = np.ones(len(steps), bool)
        keep[same + 1] = False
        notes.append(f"step{'s' * (len(same) > 1)} {', '.join(str(steps[k]) for k in same[:5])} written twice "
                     f"(the end of one run and the start of the next; lines "
                     f"{', '.join(str(row_lines[k + 1]) for k in same[:5])}): read once")
        table, row_lines, steps = table[keep], row_lines[keep], steps[keep]
    if every is None:
        gaps = Counter(np.diff(steps).tolist()).most_common(1)
        every = int(gaps[0][0]) if gaps and gaps[0][0] > 0 else None
        every_from = "the step column" + ("" if every_from is None else f"; {every_from}")
    if every is not None:
        _check_sequence(path, steps, row_lines, every, every_from)
    return table, row_lines, steps, every, every_from


def _table_run_settings(path, header, table, row_lines, notes, units, md_timestep, lj_scales, writer, step_col,
                        every, every_from):
    """The unit style, its scales, the MD time step (ps), the temperature and the volume of a table's rows
    (:func:`_from_table`): given, else from the LAMMPS input or log whose fix wrote the table (``writer`` of
    :func:`_writer_of`), else from the table's columns. ``notes`` gets where each came from."""
    style, md_dt = units, md_timestep
    scales = _scales(path, style, lj_scales, given=True)
    if writer is None:
        temperature, volume = _temperature_volume(path, header, table, row_lines, None, notes, scales)
        if step_col is not None and every is not None:
            notes.append(f"rows every {every} steps (the step column; no LAMMPS input or log beside the file names "
                         "it)")
    else:
        notes.append(every_from if step_col is None else f"rows every {every} steps ({every_from})")
        wruns = writer["runs"]
        styles = {r.units for r in wruns}
        if style is None and len(styles) == 1 and next(iter(styles))[0] is not None:
            style = next(iter(styles))[0]
            notes.append(f"units {style}: line {next(iter(styles))[1]} of {writer['path']}")
            scales = _scales(writer["path"], style, lj_scales, next(iter(styles))[1])
        temperature, volume = _temperature_volume(path, header, table, row_lines, None, notes, scales)
        steps_dt = {(r.timestep[0], r.timestep[1]) for r in wruns if r.timestep[0] is not None}
        if md_dt is None and len(steps_dt) == 1 and style is not None:
            ts, ts_line = steps_dt.pop()
            if not ts > 0:
                raise TrajectoryFormatError(writer["path"], f"the time step is {ts:g}", line=ts_line,
                                            fix="Pass the run's time step (--md-timestep PS; md_timestep= in Python)")
            md_dt = ts * scales.time
            notes.append(f"timestep {md_dt:g} ps: " + (f"line {ts_line}" if ts_line else f"the default of units "
                                                       f"{style}") + f" of {writer['path']}, in force for the "
                                                                     f"run{'s' * (len(wruns) > 1)} of fix "
                                                                     f"{writer['tokens'][1]}")
        elif md_dt is None and len(steps_dt) > 1:
            raise TrajectoryFormatError(path, f"fix {writer['tokens'][1]} wrote during runs at different time steps "
                                              f"({', '.join(f'{t:g} (line {ln})' for t, ln in sorted(steps_dt))} of "
                                              f"{writer['path']})",
                                        fix="Pass the rows of one run and its time step (md_timestep=, "
                                            "--md-timestep ps)")
        if volume is None:
            box = next((r.box for r in wruns if r.box is not None), None)
            if box is not None:
                temperature, volume = _temperature_volume(path, header, table, row_lines,
                                                          (box[0], box[1], writer["path"]), [], scales)
                notes.append(f"volume {volume:.8g} A^3: the box echoed at line {box[1]} of {writer['path']} (before "
                             "the run)")
    return style, scales, md_dt, temperature, volume


def _from_table(path, lines, text, current, others, units, md_timestep, wanted, lammps_input,
                lj_scales=None) -> HeatCurrentSeries:
    """A table of columns: a fix ave/time or fix print file, SporTran's tables (module docstring)."""
    tables = vector_tables(path, lines)
    vector = tables is not None
    tables = _tables(lines) if tables is None else tables
    picked = [t for t in tables if _current_columns(t["header"], current, path, t["line"]) is not None]
    if not picked:
        _no_current(path, current, [t["header"] for t in tables])
    header = picked[0]["header"]
    picked = [t for t in picked if t["header"] == header]      # the tables of the first one's columns
    cols = _current_columns(header, current, path, picked[0]["line"])
    other_cols = []
    for name in others:
        found = _current_columns(header, name, path, picked[0]["line"])
        if found is None:
            raise TrajectoryFormatError(path, f"no columns of the current {name!r} beside the heat current "
                                              f"({', '.join(header)})", line=picked[0]["line"],
                                        fix="Name a vector among the columns (vcm[1] for c_vcm[1][1..3])")
        other_cols.append(found)
    notes = [n for t in picked for n in ([t["vector"]] if "vector" in t else []) + t.get("notes", [])]
    last_line = _last_line(lines)
    rows = [r for t in picked for r in t["rows"]]
    for t in picked:
        for ln, txt in t["bad"]:
            if ln == last_line and ln > rows[-1][0]:
                notes.append(f"the last line of the file, line {ln} ({txt[:60]!r}), is a row cut short (a file still "
                             "being written): not read")
                continue
            raise TrajectoryFormatError(path, f"this line, {txt[:80]!r}, is not a row of the {len(header)} columns "
                                              f"{' '.join(header[:8])}{' ...' if len(header) > 8 else ''}", line=ln,
                                        fix="Repair or remove it: a row cut short or damaged, left out, would put "
                                            "every later row one interval early")
    table = np.array([values for _, values in rows])
    row_lines = np.array([ln for ln, _ in rows], np.int64)
    _check_finite(path, table, row_lines, cols + [c for oc in other_cols for c in oc], header, LARGEST_CURRENT)
    writer = _writer_of(path, lammps_input)
    every, every_from = (None, None) if writer is None else _writer_interval(writer, vector)
    step_col = next((header.index(n) for n in _STEP_COLUMNS if n in header), None)
    steps = None
    if step_col is not None:
        table, row_lines, steps, every, every_from = _table_steps(path, table, row_lines, header, step_col, cols,
                                                                  wanted, every, every_from, notes)
    style, scales, md_dt, temperature, volume = _table_run_settings(
        path, header, table, row_lines, notes, units, md_timestep, lj_scales, writer, step_col, every, every_from)
    if md_timestep is not None:
        notes.append(f"timestep {md_timestep:g} ps: given (md_timestep)")
    if style == "lj":
        notes.append(_lj_note(scales, lj_scales))
    if units is not None:
        notes.append(f"units {units}: given")
    elif style is None:
        notes.append("units metal: assumed (the table does not say; units= to set them)")
    dt = None
    if md_dt is not None and every is not None and (steps is None or len(steps) > 1):
        dt = md_dt * every
        notes.append(f"{dt:g} ps between rows: {every} steps x {md_dt:g} ps")
    dt = _time_column(path, header, table, row_lines, dt, scales, given=md_timestep is not None, notes=notes)
    notes.insert(0, f"{len(table)} rows at {_span_lines(row_lines)}, "
                    + (_span_steps(steps, every) if steps is not None else "no step column"))
    source = "fix ave/time file (mode vector)" if vector else "fix ave/time file" if text.lstrip().startswith(
        "# Time-averaged") else (
        f"fix {writer['tokens'][3]} file" if writer is not None else "table")
    return HeatCurrentSeries(table[:, cols] * scales.current, steps, dt, temperature, volume, style,
                             tuple(header[c] for c in cols),
                             np.stack([table[:, c] for c in other_cols]) if other_cols else None, path, source,
                             row_lines, tuple(notes))
