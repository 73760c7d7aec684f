"""The layouts of heat-current files other than a table of columns under a line of names, read for
:func:`~trajmodes.io.heat_current.read_heat_current`: the blocks of LAMMPS' ``fix ave/time ... mode vector``
(:func:`vector_tables`) and GPUMD's ``compute.out`` with its ``run.in`` (:func:`gpumd_compute`)."""
from __future__ import annotations

import os
import re

import numpy as np

from trajmodes.errors import TrajectoryFormatError

__all__ = ["vector_tables", "gpumd_compute", "GPUMD_COLUMNS", "LARGEST_CURRENT"]

#: the largest magnitude a heat-current value may have (in the file's units): beyond it no MD run wrote it (a run that
#: blew up, a column that is not the current), and its squares in the spectra would overflow
LARGEST_CURRENT = 1e100

#: the columns of each quantity of GPUMD's ``compute`` per group, in the order compute.out writes them
GPUMD_COLUMNS = {"temperature": 1, "potential": 1, "force": 3, "virial": 3, "jp": 3, "jk": 3, "momentum": 3}


def _numbers(tokens: list) -> list | None:
    """The values of ``tokens``, or None where one is not a number."""
    try:
        return [float(t) for t in tokens]
    except ValueError:
        return None


def vector_tables(path: str, lines: list) -> list | None:
    """The blocks of a ``fix ave/time ... mode vector`` file as one table (a dict as those of the tables of columns
    that :func:`~trajmodes.io.heat_current.read_heat_current` reads: ``header``, ``line``, ``rows``, ``bad``), or None
    for any other file.

    LAMMPS writes, every Nfreq steps, a line ``step nrows`` and then ``nrows`` lines ``row value ...``, under the
    comment headers ``# TimeStep Number-of-rows`` and ``# Row NAME ...``. Row k of the column NAME becomes the column
    ``NAME[k]`` of the block's row (``c_flux`` of a compute heat/flux: ``c_flux[1..6]``, whose first three are the
    current), at the line of its ``step nrows``. A block cut short, a row out of order, a row count that changes, or
    a line that is neither is refused with its line (the last block of a file still being written is dropped and
    said, in the table's ``notes``)."""
    k = next((i for i, ln in enumerate(lines[:20]) if ln.split()[:3] == ["#", "TimeStep", "Number-of-rows"]), None)
    if k is None:
        return None
    names_at = next((i for i in range(k + 1, min(k + 4, len(lines))) if lines[i].split()[:2] == ["#", "Row"]), None)
    if names_at is None or len(lines[names_at].split()) < 3:
        raise TrajectoryFormatError(path, "a fix ave/time file in mode vector (its '# TimeStep Number-of-rows' "
                                          "header) without the line '# Row NAME ...' that names its columns",
                                    line=k + 2, fix="Pass the file as LAMMPS wrote it (without title2/title3 "
                                                    "replacing its headers), or write the current with mode "
                                                    "scalar: fix ID all ave/time 1 1 N c_flux[1] c_flux[2] "
                                                    "c_flux[3] file J.txt")
    names = lines[names_at].split()[2:]
    fix = ("Repair or remove the block, or pass the rows of a stretch that is whole (a block left out would put every "
           "later one an interval early)")
    rows, nrows, header, notes = [], None, None, []
    body = [(i + 1, ln.split()) for i, ln in enumerate(lines) if i > names_at and ln.split()
            and not ln.lstrip().startswith("#")]
    j, last = 0, body[-1][0] if body else 0
    while j < len(body):
        ln, tok = body[j]
        if len(tok) != 2 or _numbers(tok) is None or float(tok[0]) != round(float(tok[0])) or int(float(tok[1])) < 1:
            raise TrajectoryFormatError(path, f"this line, {' '.join(tok)[:80]!r}, is not the 'step nrows' line that "
                                              "begins a block of the fix ave/time file (mode vector)", line=ln, fix=fix)
        step, n = int(float(tok[0])), int(float(tok[1]))
        if nrows is not None and n != nrows:
            raise TrajectoryFormatError(path, f"the block of step {step} has {n} rows, those before it {nrows}",
                                        line=ln, fix=fix)
        nrows = n
        block = body[j + 1:j + 1 + n]
        for r, (bl, bt) in enumerate(block, 1):
            values = _numbers(bt) if len(bt) == len(names) + 1 else None
            if values is None or values[0] != r:
                if bl == last:
                    block = None
                    break
                raise TrajectoryFormatError(path, f"this line, {' '.join(bt)[:80]!r}, is not row {r} of the block of "
                                                  f"step {step} (row number and {len(names)} value(s) of "
                                                  f"{' '.join(names)})", line=bl, fix=fix)
        if block is None or len(block) < n:
            notes.append(f"the last block of the file, step {step} at line {ln}, is cut short (a file still being "
                         "written): not read")
            break
        rows.append((ln, [float(step)] + [float(bt[1 + c]) for c in range(len(names)) for _, bt in block]))
        j += 1 + n
    if not rows:
        return []
    header = ["TimeStep"] + [f"{name}[{r}]" for name in names for r in range(1, nrows + 1)]
    return [{"header": header, "line": names_at + 1, "rows": rows, "bad": [], "notes": notes,
             "vector": f"mode vector: {nrows} rows of {', '.join(names)} per block, row k of {names[0]} read as "
                       f"{names[0]}[k]"}]


#: a value as GPUMD's compute.out writes it (``%15.6e``), whole: a row whose last value falls short of it, without
#: the newline GPUMD ends every row with, was cut while being written
_GPUMD_VALUE = re.compile(r"[-+]?(\d\.\d+e[-+]\d{2,3}|nan|inf)", re.IGNORECASE)


def _compute_rows(path: str) -> tuple:
    """(table (rows, columns), 1-based line of every row, notes) of GPUMD's compute.out: every row as many values as
    the first. The last row cut short (a run still writing, or stopped while writing: fewer values, or a last value
    cut before the newline GPUMD ends every row with) is dropped, said in the notes; any other row that is not a row
    of the table is refused with its line."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError as exc:
        raise TrajectoryFormatError(path, f"cannot be read: {exc.strerror or exc}",
                                    fix="Pass GPUMD's compute.out, with the run.in beside it") from None
    rows = [(i + 1, ln.split()) for i, ln in enumerate(text.split("\n")) if ln.strip()]
    if not rows:
        raise TrajectoryFormatError(path, "holds no rows", fix="Pass the compute.out of a run that wrote its heat "
                                                               "current (run.in's compute line, for as many steps as "
                                                               "its output interval)")
    width, table, lines, notes = len(rows[0][1]), [], [], []
    for k, (ln, tok) in enumerate(rows):
        values = _numbers(tok) if len(tok) == width else None
        last = k == len(rows) - 1
        if last and values is not None and not text.endswith("\n") and not _GPUMD_VALUE.fullmatch(tok[-1]):
            values = None
        if values is None:
            shown = " ".join(tok)
            shown = shown if len(shown) <= 80 else shown[:60] + " ... " + shown[-15:]
            if last and k > 0:
                notes.append(f"the last line of the file, line {ln} ({shown!r}), is a row cut short (a run still "
                             f"writing, or stopped while writing): not read")
                break
            raise TrajectoryFormatError(path, f"this line, {shown!r}, is not a row of the {width} numbers of "
                                              + ("the rows before it" if k else "a GPUMD compute.out row"), line=ln,
                                        fix="Repair or remove the line (a row cut short or damaged, left out, "
                                            "would put every later row one interval early), or pass the rows "
                                            "before it")
        table.append(values)
        lines.append(ln)
    return np.array(table, dtype=float), np.array(lines, np.int64), notes


def _check_finite(path: str, table, lines, quantity: str, start: int, width: int, groups: int) -> None:
    """Refuse the first row where a column of ``quantity`` (``width`` columns from ``start``) is not finite, naming
    its line and the column (component and group) as GPUMD lays them out."""
    with np.errstate(invalid="ignore"):
        bad = np.argwhere(~(np.abs(table[:, start:start + width]) <= LARGEST_CURRENT))
    if not len(bad):
        return
    row, col = (int(x) for x in bad[0])
    name = quantity if GPUMD_COLUMNS[quantity] == 1 else f"{quantity} {'xyz'[col // groups]}"
    v = table[row, start + col]
    raise TrajectoryFormatError(path, f"{name} of group {col % groups} is {v:g} in this row (column {start + col + 1})"
                                      + (f", beyond {LARGEST_CURRENT:g} in magnitude" if np.isfinite(v) else ""),
                                line=int(lines[row]), fix="The run went wrong there (atoms lost, an unstable "
                                                          "integration): pass the rows before it, or rerun")


def gpumd_compute(path: str, md_timestep: float | None) -> dict:
    """GPUMD's compute.out: the heat current jp + jk summed over the groups, as the run.in beside it lays out the
    columns (:mod:`trajmodes.io.heat_current`), as the fields of a
    :class:`~trajmodes.io.heat_current.HeatCurrentSeries`, the current in GPUMD's own unit (eV^(3/2) amu^(-1/2):
    times :data:`~trajmodes.io.heat_current.GPUMD_VELOCITY`, eV Å/ps)."""
    folder = os.path.dirname(path) or "."
    run_in = os.path.join(folder, "run.in")
    if not os.path.isfile(run_in):
        raise TrajectoryFormatError(path, "a GPUMD compute.out is read with its run.in, which says what its columns "
                                          "are and how often they were written", fix="Put the run's run.in beside it")
    time_step, compute, ts_line = 1.0, None, None
    with open(run_in) as f:
        run_text = f.read()
    for i, ln in enumerate(run_text.split("\n")):
        tok = ln.split("#")[0].split()
        if tok[:1] == ["time_step"] and len(tok) > 1:
            time_step, ts_line = float(tok[1]), i + 1
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
    table, row_lines, cut = _compute_rows(path)
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
        if q in ("jp", "jk") or (q == "temperature" and groups == 1):
            _check_finite(path, table, row_lines, q, start, width, groups)
        if q in ("jp", "jk"):
            current += table[:, start:start + width].reshape(len(table), 3, groups).sum(axis=2)
        start += width
    dt = (float(md_timestep) if md_timestep is not None else time_step * 1e-3) * sample * output
    notes = [f"{len(table)} rows of {path} at lines {int(row_lines[0])}-{int(row_lines[-1])}", *cut,
             f"{dt:g} ps between rows: " + (f"md_timestep {md_timestep:g} ps given" if md_timestep is not None else
                                            f"time_step {time_step:g} fs (" + (f"line {ts_line}" if ts_line else
                                                                               "GPUMD's default") + " of run.in)")
             + f" x the compute line's sample {sample} x output {output} intervals (line {line} of run.in)",
             "units: GPUMD's (eV, A, amu), converted to eV A/ps"]
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
    return dict(current=current, steps=None, dt=dt, temperature=temperature, volume=volume,
                units="metal", columns=(f"{which} x", f"{which} y", f"{which} z"), others=None, path=path,
                source=f"GPUMD compute.out, {which} of {groups} group(s)"
                       + ("; the potential part alone (no jk)" if "jk" not in asked else ""),
                lines=row_lines, notes=tuple(notes + ([f"volume {volume:.8g} A^3: the Lattice of {model}"]
                                                 if volume is not None else [])))
