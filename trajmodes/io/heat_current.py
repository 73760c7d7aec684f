"""The heat current of an MD run as LAMMPS and other codes write it: columns of a table.

What is read:

- a LAMMPS log (``log.lammps``): the thermo blocks that hold the current's columns (``thermo_style custom step temp
  vol c_flux[1] c_flux[2] c_flux[3]``), one block per ``run``, rows of a repeated step once; the ``units`` and
  ``timestep`` commands echoed in the log;
- the file of ``fix ave/time`` (``# TimeStep c_flux[1] c_flux[2] c_flux[3]``) or of ``fix print`` (its ``title``
  line names the columns);
- any table of columns with a header line of names (``#`` comment lines before it are skipped; the last comment line
  is the header when no line of names follows), e.g. SporTran's input files;
- GPUMD's ``compute.out`` with the ``run.in`` beside it, whose ``compute`` line asks for ``jp`` and ``jk`` (the
  potential and kinetic heat currents of each group, in eV^(3/2) amu^(-1/2), summed over the groups here), its
  ``time_step`` (fs) and intervals giving the time between rows, and the ``model.xyz`` beside it the volume.

The current is three columns: ``c_NAME[1..3]`` of a vector compute (the first three of ``compute heat/flux``'s six:
the full current, then its convective part), ``v_Jx v_Jy v_Jz``, or ``Jx Jy Jz``; ``current=`` names it when the
table holds several. It is the volume-integrated current, as LAMMPS writes it (its documentation: the output is
J without the 1/V), in energy x velocity of the run's units, converted here to eV A/ps. Temperature (``Temp``,
``c_..._temp``) and volume (``Volume``, or ``Lx Ly Lz``) columns are read when present.
"""
from __future__ import annotations

import gzip
import os
import re
from dataclasses import dataclass

import numpy as np

from trajmodes.errors import TrajectoryFormatError
from trajmodes.units import AMU_A2_PS2_EV, KCALMOL_EV

__all__ = ["HeatCurrentSeries", "read_heat_current", "CURRENT_UNITS", "GPUMD_VELOCITY"]

#: eV A/ps per unit of the volume-integrated heat current (energy x velocity) of each LAMMPS unit style: metal
#: eV A/ps, real kcal/mol A/fs
CURRENT_UNITS = {"metal": 1.0, "real": KCALMOL_EV * 1e3}
#: the ps of one MD time unit (the ``timestep`` command's unit) of each unit style
TIMESTEP_PS = {"metal": 1.0, "real": 1e-3}
#: A/ps per GPUMD velocity unit, sqrt(eV/amu): its heat currents (eV^(3/2) amu^(-1/2), energy x that velocity) times
#: it are eV A/ps (its heat-current correlations, eV^3/amu, times its square are (eV A/ps)^2)
GPUMD_VELOCITY = float(1.0 / np.sqrt(AMU_A2_PS2_EV))
#: the columns of each quantity of GPUMD's ``compute`` per group, in the order compute.out writes them
GPUMD_COLUMNS = {"temperature": 1, "potential": 1, "force": 3, "virial": 3, "jp": 3, "jk": 3, "momentum": 3}
_NAME = re.compile(r"^[A-Za-z_][\w\[\]:.\-/]*$")
_VECTOR = re.compile(r"^(?P<base>.+)\[(?P<i>\d+)\]$")


@dataclass(frozen=True)
class HeatCurrentSeries:
    """A heat-current time series and what its file says of the run.

    Attributes
    ----------
    current : ndarray (steps, 3)
        The volume-integrated heat current, eV A/ps.
    steps : ndarray of int (steps,) or None
        MD steps of the rows (None where the table has no step column).
    dt : float or None
        ps between rows (the row interval in steps times the MD time step), None where the file does not say.
    temperature : ndarray (steps,) or None
        K, where the table has a temperature column.
    volume : float or None
        A^3: the mean of a volume column (or Lx Ly Lz), else the box the log echoes; None where the file does not say.
    units : str or None
        The LAMMPS unit style the values were in (None: assumed ``metal``).
    columns : tuple of str
        The three columns read as the current.
    others : ndarray (k, steps, 3) or None
        Other currents of the run (``others=``: the mass currents of a multi-component fluid), as written.
    path : str
    source : str
        What kind of file it was, in words.
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


def _floats(tokens: list) -> list | None:
    """The values of ``tokens``, or None where one is not a number (each token parsed once)."""
    try:
        return [float(t) for t in tokens]
    except ValueError:
        return None


def _tables(lines: list) -> list:
    """The tables of ``lines``: (header tokens, [(line index, values)]) for every run of rows of numbers that follows
    a header of names (a ``#`` comment's names count as a header)."""
    tables, header, rows = [], None, None
    for i, ln in enumerate(lines):
        tok = ln.split()
        if not tok:
            continue
        names = tok[1:] if tok[0] == "#" else ([tok[0][1:]] + tok[1:] if tok[0].startswith("#") else tok)
        if names and len(names) > 1 and all(_NAME.match(t) for t in names) and _floats(names) is None:
            header, rows = names, []
            tables.append((header, rows))
            continue
        if tok[0].startswith("#"):
            continue
        values = _floats(tok) if header is not None and len(tok) == len(header) else None
        if values is not None:
            rows.append((i, values))
        elif header is not None and ln.startswith("Loop time"):
            header = None                       # the run ended (a warning inside it is skipped)
    return [(h, r) for h, r in tables if r]


def _current_columns(header: list, current: str | None) -> list | None:
    """Indices of the three current columns in ``header``, or None."""
    def vector(base):
        idx = [header.index(f"{base}[{k}]") if f"{base}[{k}]" in header else None for k in (1, 2, 3)]
        return None if None in idx else idx
    if current is not None:
        names = [c.strip() for c in current.split(",")]
        if len(names) == 3:
            return [header.index(n) for n in names] if all(n in header for n in names) else None
        for base in (current, f"c_{current}", f"v_{current}", f"f_{current}"):
            found = vector(base)
            if found is not None:
                return found
        for base in (current, f"v_{current}"):
            if all(f"{base}{a}" in header for a in "xyz"):
                return [header.index(f"{base}{a}") for a in "xyz"]
        return None
    candidates = []
    for t in header:
        m = _VECTOR.match(t)
        if m and m.group("i") == "1" and vector(m.group("base")) is not None and \
                re.search(r"flux|heat|^c_j|^v_j|^j", m.group("base"), re.I):
            candidates.append(vector(m.group("base")))
    for base in ("J", "Jq", "v_J", "v_Jq", "flux"):
        if all(f"{base}{a}" in header for a in "xyz"):
            candidates.append([header.index(f"{base}{a}") for a in "xyz"])
    return candidates[0] if len(candidates) == 1 else None


def _candidates(header: list) -> str:
    bases = sorted({m.group("base") for m in map(_VECTOR.match, header) if m})
    return ", ".join(bases) if bases else "none"


def read_heat_current(path, *, current: str | None = None, others=(), units: str | None = None,
                      md_timestep: float | None = None) -> HeatCurrentSeries:
    """Read a heat-current series (module docstring).

    Parameters
    ----------
    path : str or path
    current : str, optional
        The current's columns: a vector compute or variable's name (``flux`` for ``c_flux[1..3]``), or three column
        names separated by commas; default the one vector whose name says heat current (``flux``, ``heat``, ``J``).
    others : sequence of str
        Other currents to read the same way (``("vcm[1]",)`` for ``c_vcm[1][1..3]``), in their own units.
    units : {"metal", "real"}, optional
        The LAMMPS unit style of the values; default the log's ``units`` command, else ``metal``.
    md_timestep : float, optional
        The MD time step in ps; default the log's ``timestep`` command (in its unit style's time unit: ps for metal,
        fs for real).

    Returns
    -------
    HeatCurrentSeries

    Raises
    ------
    trajmodes.errors.TrajectoryFormatError
        No table, no current column (the columns found are named), rows of unequal step spacing.
    """
    path = os.fspath(path)
    if os.path.basename(path).startswith("compute.out"):
        return _gpumd_compute(path, md_timestep)
    try:
        with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as f:
            text = f.read().decode("utf-8", "replace")
    except OSError as exc:
        raise TrajectoryFormatError(path, f"cannot be read: {exc.strerror or exc}",
                                    fix="Pass the LAMMPS log, the fix ave/time or fix print file, or a table of the "
                                        "heat current") from None
    lines = text.split("\n")
    is_log = bool(re.search(r"^LAMMPS \(", text, re.M)) or "Loop time of" in text
    tables = _tables(lines)
    picked = [(h, r, _current_columns(h, current)) for h, r in tables]
    picked = [(h, r, c) for h, r, c in picked if c is not None]
    if not picked:
        seen = "; ".join(f"columns {' '.join(h[:12])}{' ...' if len(h) > 12 else ''}" for h, _ in tables[:3]) or \
            "no table of numbers under a line of column names"
        raise TrajectoryFormatError(
            path, f"no heat-current columns{'' if current is None else f' named {current!r}'} ({seen}; vectors: "
                  f"{', '.join(_candidates(h) for h, _ in tables[:3]) or 'none'})",
            fix="Name the current: current='flux' for c_flux[1] c_flux[2] c_flux[3], or three columns "
                "'Jx,Jy,Jz' (LAMMPS: compute flux all heat/flux ke pe stress, then thermo_style custom step temp vol "
                "c_flux[1] c_flux[2] c_flux[3], or fix ave/time)")
    header = picked[0][0]
    picked = [p for p in picked if p[0] == header]          # the blocks of the first block's columns
    cols = picked[0][2]
    other_cols = []
    for name in others:
        found = _current_columns(header, name)
        if found is None:
            raise TrajectoryFormatError(path, f"no columns of the current {name!r} beside the heat current "
                                              f"({', '.join(header)})",
                                        fix="Name a vector among the columns (vcm[1] for c_vcm[1][1..3])")
        other_cols.append(found)
    rows = [r for _, rs, _ in picked for r in rs]
    table = np.array([values for _, values in rows])
    step_col = next((header.index(n) for n in ("Step", "TimeStep", "step", "timestep") if n in header), None)
    steps = None
    if step_col is not None:
        steps = table[:, step_col].astype(np.int64)
        keep = np.r_[True, steps[1:] > np.maximum.accumulate(steps)[:-1]]     # a repeated step once (a new run)
        table, steps = table[keep], steps[keep]
        rows = [r for r, k in zip(rows, keep) if k]
        gaps = np.diff(steps)
        if len(gaps) and np.any(gaps != gaps[0]):
            bad = int(np.flatnonzero(gaps != gaps[0])[0]) + 1
            raise TrajectoryFormatError(path, f"the rows are not evenly spaced: step {steps[bad - 1]} then "
                                              f"{steps[bad]} (every {gaps[0]} steps before)", line=rows[bad][0] + 1,
                                        fix="A Green-Kubo series needs rows at a fixed interval: pass one run, "
                                            "or the rows of the production run only")
    style_m = re.search(r"^\s*units\s+(\w+)", text, re.M)
    style = units or (style_m.group(1) if style_m else None)
    if style is not None and style not in CURRENT_UNITS:
        raise TrajectoryFormatError(path, f"the heat current in LAMMPS units {style!r} is not supported",
                                    fix=f"Use one of {', '.join(CURRENT_UNITS)} units, or convert the current to "
                                        "eV A/ps and pass units='metal'")
    factor = CURRENT_UNITS[style or "metal"]
    dt_m = re.findall(r"^\s*timestep\s+([0-9.eE+-]+)", text, re.M)
    md_dt = float(md_timestep) if md_timestep is not None else \
        (float(dt_m[-1]) * TIMESTEP_PS[style or "metal"] if dt_m else None)
    dt = None
    if md_dt is not None and steps is not None and len(steps) > 1:
        dt = md_dt * float(steps[1] - steps[0])
    temp_col = next((i for i, n in enumerate(header) if n in ("Temp", "temp") or re.match(r"c_\w*temp\w*$", n, re.I)),
                    None)
    volume = None
    if "Volume" in header:
        volume = float(table[:, header.index("Volume")].mean())
    elif all(n in header for n in ("Lx", "Ly", "Lz")):
        volume = float(np.mean(np.prod(table[:, [header.index(n) for n in ("Lx", "Ly", "Lz")]], axis=1)))
    else:
        box = re.findall(r"orthogonal box = \(([^)]*)\) to \(([^)]*)\)", text)
        if box:
            lo, hi = (np.array(s.split(), float) for s in box[-1])
            volume = float(np.prod(hi - lo))
    source = "LAMMPS log" if is_log else ("fix ave/time file" if text.lstrip().startswith("# Time-averaged") else
                                          "table")
    return HeatCurrentSeries(table[:, cols] * factor, steps, dt,
                             table[:, temp_col] if temp_col is not None else None, volume, style,
                             tuple(header[c] for c in cols),
                             np.stack([table[:, c] for c in other_cols]) if other_cols else None, path, source)


def _gpumd_compute(path: str, md_timestep: float | None) -> HeatCurrentSeries:
    """GPUMD's compute.out: the heat current jp + jk summed over the groups, as the run.in beside it lays out the
    columns (module docstring)."""
    folder = os.path.dirname(path) or "."
    run_in = os.path.join(folder, "run.in")
    if not os.path.isfile(run_in):
        raise TrajectoryFormatError(path, "a GPUMD compute.out is read with its run.in, which says what its columns "
                                          "are and how often they were written", fix="Put the run's run.in beside it")
    time_step, compute = 1.0, None
    for i, ln in enumerate(open(run_in).read().split("\n")):
        tok = ln.split("#")[0].split()
        if tok[:1] == ["time_step"] and len(tok) > 1:
            time_step = float(tok[1])
        elif tok[:1] == ["compute"]:
            compute = (i + 1, tok)
    if compute is None or not {"jp", "jk"} & set(compute[1][4:]):
        raise TrajectoryFormatError(run_in, "no compute line with jp or jk: the run wrote no heat current to "
                                            "compute.out", line=None if compute is None else compute[0],
                                    fix="compute 0 1 10 jp jk (grouping method, sample and output intervals, then "
                                        "the quantities) writes the current every 10 steps")
    line, tok = compute
    try:
        sample, output = int(tok[2]), int(tok[3])
    except (IndexError, ValueError):
        raise TrajectoryFormatError(run_in, f"the compute line {' '.join(tok)!r} does not give the sample and output "
                                            "intervals", line=line, fix="compute <grouping method> <sample interval> "
                                                                       "<output interval> jp jk") from None
    asked = [q for q in GPUMD_COLUMNS if q in tok[4:]]
    try:
        table = np.loadtxt(path, ndmin=2)
    except ValueError as exc:
        raise TrajectoryFormatError(path, f"not a table of numbers ({exc})", fix="Pass GPUMD's compute.out") from None
    per_group = sum(GPUMD_COLUMNS[q] for q in asked)
    extra = 2 if "temperature" in asked else 0          # the thermostats' energies of the heat source and sink
    groups = (table.shape[1] - extra) / per_group
    if groups < 1 or groups != int(groups):
        raise TrajectoryFormatError(path, f"{table.shape[1]} columns do not fit the quantities of run.in's compute "
                                          f"line ({' '.join(asked)}: {per_group} per group"
                                          + (" and 2 more" if extra else "") + ")",
                                    fix="Pass the compute.out written by the run of that run.in")
    groups, start, current = int(groups), 0, np.zeros((len(table), 3))
    for q in asked:
        width = GPUMD_COLUMNS[q] * groups
        if q in ("jp", "jk"):
            current += table[:, start:start + width].reshape(len(table), 3, groups).sum(axis=2)
        start += width
    dt = (float(md_timestep) if md_timestep is not None else time_step * 1e-3) * sample * output
    volume = None
    model = os.path.join(folder, "model.xyz")
    if os.path.isfile(model):
        with open(model) as f:
            f.readline()
            lat = re.search(r'[Ll]attice="([^"]+)"', f.readline())
        if lat:
            volume = float(abs(np.linalg.det(np.array(lat.group(1).split(), float).reshape(3, 3))))
    temperature = table[:, 0] if "temperature" in asked and groups == 1 else None
    which = " + ".join(q for q in ("jp", "jk") if q in asked)
    return HeatCurrentSeries(current * GPUMD_VELOCITY, None, dt, temperature, volume, "metal",
                             (f"{which} x", f"{which} y", f"{which} z"), None, path,
                             f"GPUMD compute.out, {which} of {groups} group(s)"
                             + ("; the potential part alone (no jk)" if "jk" not in asked else ""))
