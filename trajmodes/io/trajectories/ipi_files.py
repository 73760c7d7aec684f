"""The files of an i-PI path-integral run around its bead trajectories: their names (``PREFIX.pos_K.xyz`` and its
siblings), i-PI's units, the input XML (temperature, bead count, time step) and the properties file (each bead's
potential energy, the time step), read by name and by their own text. The bead trajectories themselves are read by
:mod:`trajmodes.io.trajectories.ipi`.
"""
from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass

import numpy as np

from trajmodes import units as _units
from trajmodes.errors import TrajectoryFormatError

__all__ = ["IPIInput", "IPIRunFiles", "ipi_input_beside", "ipi_run_files", "ipi_unit_factor", "bead_file_parts",
           "ATOMIC_TIME_PS", "HARTREE_K", "sibling_path", "positions_file_of", "read_ipi_input", "PropertiesEnergy",
           "read_properties_energy", "read_properties_column", "at_steps", "step_times", "PropertiesTimes", "velocities_output", "velocities_hint",
           "velocities_left_out", "coarser_forces", "properties_files", "properties_timestep",
           "UNITS", "PREFIXES", "QUANTITIES", "CELL_ABC", "CELL_H", "STEP", "BEAD", "UNIT_TAG", "BEAD_NAME",
           "SIBLING_KINDS", "POSITION_KINDS", "STALE_SECONDS"]

#: i-PI's atomic unit of time, hbar / Hartree, in ps
ATOMIC_TIME_PS = _units.H_EV_PS / (2.0 * math.pi) / _units.HARTREE_EV
#: K per Hartree (i-PI's temperatures in atomic units are energies k_B T)
HARTREE_K = _units.HARTREE_EV / _units.KB_EV

#: the factor from each unit i-PI writes to metal units (Å, eV/Å, Å/ps, ps, K, eV), per dimension
UNITS = {
    "length": {"atomic_unit": _units.BOHR_A, "angstrom": 1.0, "meter": 1e10, "ase": 1.0},
    "force": {"atomic_unit": _units.HARTREE_EV / _units.BOHR_A, "ev/ang": 1.0, "newton": 1e-10 / _units.EV_J,
              "ase": 1.0},
    "velocity": {"atomic_unit": _units.BOHR_A / ATOMIC_TIME_PS, "m/s": 1e-2, "ase": 1.0 / _units.NATURAL_TIME_PS},
    "time": {"atomic_unit": ATOMIC_TIME_PS, "second": 1e12, "ase": _units.NATURAL_TIME_PS},
    "temperature": {"atomic_unit": HARTREE_K, "kelvin": 1.0, "ase": 1.0 / _units.KB_EV},
    "energy": {"atomic_unit": _units.HARTREE_EV, "electronvolt": 1.0, "ase": 1.0},
}
#: SI prefixes i-PI accepts before a unit (``femtosecond``, ``nanometer``)
PREFIXES = {"yocto": 1e-24, "zepto": 1e-21, "atto": 1e-18, "femto": 1e-15, "pico": 1e-12, "nano": 1e-9,
            "micro": 1e-6, "milli": 1e-3, "centi": 1e-2, "deci": 1e-1, "deca": 1e1, "hecto": 1e2, "kilo": 1e3,
            "mega": 1e6, "giga": 1e9, "tera": 1e12, "peta": 1e15}
#: the quantity in a file's comment braces -> (the field it gives, its dimension)
QUANTITIES = {"positions": ("positions", "length"), "x_centroid": ("positions", "length"),
              "forces": ("forces", "force"), "f_centroid": ("forces", "force"),
              "velocities": ("velocities", "velocity"), "v_centroid": ("velocities", "velocity")}

CELL_ABC = re.compile(rb"CELL[\(\[\{]abcABC[\)\]\}]:\s*((?:[-+0-9.eE]+\s+){5}[-+0-9.eE]+)")
CELL_H = re.compile(rb"CELL[\(\[\{]H[\)\]\}]:\s*((?:[-+0-9.eE]+\s+){8}[-+0-9.eE]+)")
STEP = re.compile(rb"Step:\s*(-?\d+)")
BEAD = re.compile(rb"Bead:\s*(\d+)")
UNIT_TAG = re.compile(rb"([A-Za-z_]\w*)\{([^}]*)\}")
#: ``PREFIX.KIND_K.xyz``: a per-bead file of i-PI (kind: the trajectory's filename, ``pos``, ``for``, ``vel``)
BEAD_NAME = re.compile(r"^(?P<prefix>.+)\.(?P<kind>[A-Za-z][\w-]*?)_(?P<bead>\d+)\.xyz(?P<gz>\.gz)?$")
#: the sibling file names of each field, by the kind in a positions file's name (i-PI's examples and manual)
SIBLING_KINDS = {"forces": ("for", "frc", "forces", "force", "f"), "velocities": ("vel", "velocities", "v"),
                 "centroid": ("xc", "centroid", "x_centroid")}
#: the names of a positions file's kind (``PREFIX.pos_K.xyz``)
POSITION_KINDS = ("pos", "positions", "xx")


def ipi_unit_factor(dimension: str, unit: str) -> float | None:
    """The factor from i-PI's ``unit`` of ``dimension`` (``length``, ``force``, ``velocity``, ``time``,
    ``temperature``, ``energy``) to metal units; an empty unit or ``automatic`` is i-PI's atomic unit, an SI prefix
    is taken (``femtosecond``). None when the unit is not known."""
    table = UNITS[dimension]
    u = unit.strip().lower() or "atomic_unit"
    u = "atomic_unit" if u == "automatic" else u
    if u in table:
        return table[u]
    for p, f in PREFIXES.items():
        if u.startswith(p) and u[len(p):] in table:
            return f * table[u[len(p):]]
    return None


def bead_file_parts(path: str):
    """``(prefix, kind, bead index, padding width)`` of an i-PI per-bead file name (``sim.pos_03.xyz``: ``sim``,
    ``pos``, 3, 2), the prefix with its folder; None for another name."""
    m = BEAD_NAME.match(os.path.basename(os.fspath(path)))
    if m is None:
        return None
    folder = os.path.dirname(os.fspath(path))
    return os.path.join(folder, m["prefix"]), m["kind"], int(m["bead"]), len(m["bead"])


def sibling_path(path: str, field: str) -> str | None:
    """The file beside the i-PI positions file ``path`` that holds ``field`` (``forces``, ``velocities`` of the same
    bead; ``centroid``: the run's centroid positions), or None when there is none.

    Where the i-PI input beside the files writes the positions file (a ``<trajectory>`` of ``positions`` of its kind
    in its ``<output>``), the forces and velocities are those of its own ``<trajectory>`` outputs (whatever their
    ``filename``): a file of the usual names (:data:`SIBLING_KINDS`) that it does not write is an earlier run's, left
    beside a new run's positions (i-PI backs up only the files it opens): it is left out with a warning where the
    input writes the field into another file, and refused where the input writes none. Without such an input, a
    sibling that holds the positions' last step but was last written well before them (:data:`STALE_SECONDS`) is
    warned of.

    Raises
    ------
    trajmodes.errors.TrajectoryFormatError
        A forces or velocities file beside the positions that their input does not write.
    """
    parts = bead_file_parts(path)
    if parts is None:
        return None
    prefix, kind, bead, width = parts
    gz = ".gz" if os.fspath(path).endswith(".gz") else ""

    def name(k: str) -> str:
        return f"{prefix}.{k}.xyz" if field == "centroid" else f"{prefix}.{k}_{bead:0{width}d}.xyz{gz}"

    found = [name(k) for k in SIBLING_KINDS[field] if os.path.isfile(name(k))]
    written = None if field == "centroid" else _written_by_input(path, kind, bead, field)
    if written is None:
        if found:
            _warn_if_stale(os.fspath(path), found[0], field)
        return found[0] if found else None
    inp, kinds = written
    chosen = next((name(k) for k in kinds if os.path.isfile(name(k))), None)
    others = [p for p in found if p not in {name(k) for k in kinds}]
    said = os.path.basename(inp.path)
    if others and chosen is None:
        what = (f"it writes the {field} into {', '.join(os.path.basename(name(k)) for k in kinds)}, which is not there"
                if kinds else f"its <output> writes no {field} (no <trajectory> of {field})")
        raise TrajectoryFormatError(others[0], f"this {field} file is not written by {said}, the input of "
                                               f"{os.path.basename(os.fspath(path))}: {what}; presumably an earlier "
                                               "run's file (i-PI backs up only the files it writes), whose frames "
                                               "have the same steps but are not these positions'",
                                    fix=f"move {os.path.basename(others[0])} out of the folder (and add <trajectory "
                                        f"filename=\"...\"> {field} </trajectory> to the <output> of the input if "
                                        f"the run needs its {field}), or put back the input of the run that wrote it")
    if others:
        warnings.warn(f"{', '.join(others)}: not written by {said}, which writes the {field} of "
                      f"{os.path.basename(os.fspath(path))} into {os.path.basename(chosen)}: an earlier run's file, "
                      "left out (move it out of the folder)", UserWarning, stacklevel=3)
    return chosen


def _written_by_input(path: str, kind: str, bead: int, field: str) -> tuple[IPIInput, list[str]] | None:
    """``(input, filenames)``: the i-PI input beside ``path`` and the ``filename`` of each of its ``<trajectory>``
    outputs of ``field`` that writes bead ``bead``; None where no input beside writes the positions file ``path``
    (its kind as a ``<trajectory>`` of positions), so that its outputs say nothing about these files."""
    inp = ipi_input_beside(os.fspath(path))
    if inp is None:
        return None

    def writes(t) -> bool:
        return t[2] is None or t[2] == bead
    if not any(t[0] == kind and t[1] == "positions" and writes(t) for t in inp.trajectories):
        return None
    return inp, [t[0] for t in inp.trajectories if t[1] == field and writes(t)]


#: a sibling that holds the positions' last step but was last written this long before them is warned of (s): a run
#: writes both at that step, within a fraction of a second (i-PI flushes every frame)
STALE_SECONDS = 2.0


def _warn_if_stale(positions: str, sibling: str, field: str) -> None:
    """Warn where ``sibling`` (the ``field`` file beside the i-PI positions file ``positions``, no input beside to
    say which files the run writes) holds the positions' last step or a later one, yet was last written more than
    :data:`STALE_SECONDS` before them: the run that wrote the positions' last frame did not write it (an earlier
    run's file, left beside a new run's positions)."""
    try:
        t_pos, t_sib = os.stat(positions).st_mtime, os.stat(sibling).st_mtime
    except OSError:
        return
    if t_pos - t_sib <= STALE_SECONDS or positions.endswith(".gz"):
        return
    last_pos, last_sib = _last_step(positions), _last_step(sibling)
    if last_pos is None or last_sib is None or last_sib < last_pos:
        return
    warnings.warn(f"{sibling}: its {field} reach MD step {last_sib}, as far as {os.path.basename(positions)} (step "
                  f"{last_pos}), but it was last written {t_pos - t_sib:.0f} s before it, where one run writes both "
                  f"at that step: it may be an earlier run's file left beside a new run's positions (i-PI backs up "
                  f"only the files it writes). If so, move it out of the folder; put the run's input.xml beside the "
                  f"files to have only the files it writes read (files copied without their times: ignore this)",
                  UserWarning, stacklevel=4)


def _last_step(path: str, limit: int = 64 << 20) -> int | None:
    """The ``Step:`` of the last comment line of the i-PI XYZ file ``path`` (its tail read back until one is found,
    at most ``limit`` bytes); None where none is found."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            n = 1 << 16
            while True:
                lo = max(size - n, 0)
                f.seek(lo)
                hits = list(STEP.finditer(f.read(size - lo)))
                if hits:
                    return int(hits[-1].group(1))
                if lo == 0 or n >= limit:
                    return None
                n *= 4
    except OSError:
        return None


def positions_file_of(path: str) -> str:
    """The positions file of the bead whose forces or velocities file ``path`` is (``sim.for_3.xyz`` ->
    ``sim.pos_3.xyz``), where it exists; ``path`` otherwise."""
    parts = bead_file_parts(path)
    if parts is None or parts[1] not in SIBLING_KINDS["forces"] + SIBLING_KINDS["velocities"]:
        return path
    prefix, _, bead, width = parts
    gz = ".gz" if os.fspath(path).endswith(".gz") else ""
    return next((p for p in (f"{prefix}.{k}_{bead:0{width}d}.xyz{gz}" for k in POSITION_KINDS) if os.path.isfile(p)),
                path)


@dataclass(frozen=True)
class IPIRunFiles:
    """The files of an i-PI path-integral run (:func:`ipi_run_files`).

    Attributes
    ----------
    beads : tuple of str
        The positions file of every bead, in bead order.
    centroid : str or None
        ``PREFIX.xc.xyz``, where there is one.
    input : IPIInput or None
        The run's input beside them.
    """

    beads: tuple
    centroid: str | None
    input: IPIInput | None


def ipi_run_files(path: str) -> IPIRunFiles:
    """The files of the i-PI run that the output ``path`` (a bead's positions, forces or velocities file, or the
    centroid's) belongs to: every bead's positions file ``PREFIX.pos_K.xyz`` (K from 0, as wide as the run writes it),
    the centroid and the input.

    Raises
    ------
    trajmodes.errors.TrajectoryFormatError
        A bead missing between 0 and the last; no positions file of any bead; an input whose ``<nbeads>`` is not
        the number of bead files.
    """
    path = os.path.abspath(os.fspath(path))
    parts = bead_file_parts(path)
    gz = ".gz" if path.endswith(".gz") else ""
    if parts is not None:
        prefix = parts[0]
    else:
        prefix = os.path.join(os.path.dirname(path), os.path.basename(path).split(".")[0])
    found: dict[int, str] = {}
    kind = None
    for kind in POSITION_KINDS:
        rx = re.compile(re.escape(os.path.basename(prefix)) + rf"\.{kind}_(\d+)\.xyz{re.escape(gz)}$")
        for e in sorted(os.listdir(os.path.dirname(prefix))):
            m = rx.match(e)
            if m:
                if int(m.group(1)) in found:
                    raise TrajectoryFormatError(os.path.join(os.path.dirname(prefix), e), f"bead {int(m.group(1))} "
                                                f"has two positions files: {os.path.basename(found[int(m.group(1))])} too",
                                                fix="keep one file per bead (the run's own zero padding)")
                found[int(m.group(1))] = os.path.join(os.path.dirname(prefix), e)
        if found:
            break
    if not found:
        raise TrajectoryFormatError(path, f"no per-bead positions files {os.path.basename(prefix)}.pos_K.xyz beside it",
                                    fix="give a bead's positions file of the i-PI run (<trajectory filename=\"pos\"> "
                                        "positions{angstrom} </trajectory> writes them)")
    last = max(found)
    width = max(len(re.search(r"_(\d+)\.xyz", os.path.basename(p)).group(1)) for p in found.values())
    missing = [k for k in range(last + 1) if k not in found]
    if missing:
        raise TrajectoryFormatError(f"{prefix}.{kind}_{missing[0]:0{width}d}.xyz{gz}",
                                    f"bead {missing[0]} of beads 0..{last} is missing ({len(missing)} missing in all)",
                                    fix="copy every bead's file of the run into the folder: a path-integral run needs "
                                        "all of its beads")
    beads = tuple(found[k] for k in range(last + 1))
    inp = ipi_input_beside(beads[0])
    if inp is not None and inp.n_beads is not None and inp.n_beads != len(beads):
        raise TrajectoryFormatError(inp.path, f"<nbeads> is {inp.n_beads}, but {len(beads)} bead files "
                                              f"{os.path.basename(prefix)}.{kind}_K.xyz are beside it",
                                    fix="copy every bead's file of the run (or the input of this run) into the folder")
    centroid = next((p for p in (f"{prefix}.{k}.xyz" for k in SIBLING_KINDS["centroid"]) if os.path.isfile(p)), None)
    return IPIRunFiles(beads, centroid, inp)


@dataclass(frozen=True)
class IPIInput:
    """What an i-PI input file says about a run (Kapil et al. 2019), in metal units; None where it says nothing.

    Attributes
    ----------
    path : str
    prefix : str
        ``<output prefix=...>`` (i-PI's default ``i-pi``).
    n_beads : int or None
        ``<initialize nbeads=...>``.
    temperature : float or None
        ``<ensemble><temperature>``, K.
    md_timestep : float or None
        ``<dynamics><timestep>``, ps.
    properties : tuple of str
        The ``filename`` of every ``<properties>`` output (i-PI's default ``out``): the files ``PREFIX.FILENAME``.
    total_steps : int or None
        ``<total_steps>``: the step at which the run ends.
    trajectories : tuple of (str, str, int or None)
        Every ``<trajectory>`` output: its ``filename`` (the files ``PREFIX.FILENAME_K.xyz``), the quantity it writes
        (``positions``, ``forces``, ``velocities``, ``x_centroid``, ..., without its unit braces) and its ``bead``
        attribute (None: every bead).
    ensemble : str or None
        ``<motion mode="dynamics"><dynamics mode=...>``: the ensemble i-PI integrates (``nve``, ``nvt``, ``npt``,
        ``nst``, ``sc``, ``scnpt``, ``nvt-cc``; i-PI's default ``nve`` where ``<dynamics>`` states none); None where
        the motion is not dynamics (or no ``<motion>`` is given).
    thermostat : str
        ``<dynamics><thermostat mode=...>`` (``langevin``, ``svr``, ``pile_l``, ``pile_g``, ``gle``, ``nm_gle``,
        ``nm_gle_g``, ``cl``, ``ffl``, ``multi``); empty where there is none (i-PI's default: no thermostat).
    """

    path: str
    prefix: str
    n_beads: int | None
    temperature: float | None
    md_timestep: float | None
    properties: tuple = ()
    total_steps: int | None = None
    trajectories: tuple = ()
    ensemble: str | None = None
    thermostat: str = ""

    @property
    def energy_conserved(self) -> bool | None:
        """Whether the run keeps its total energy, as i-PI defines its ensembles (``ipi/engine/motion/dynamics.py``):
        True under ``nve`` (whose integrator applies no thermostat, even where one is given) and under ``nvt``,
        ``nvt-cc`` and ``sc`` without a thermostat (i-PI's default thermostat does nothing); False under a thermostat
        in any other ensemble; None where the input does not say (no dynamics, or a barostat without a thermostat)."""
        if self.ensemble is None:
            return None
        if self.ensemble == "nve":
            return True
        if self.thermostat:
            return False
        return True if self.ensemble in ("nvt", "nvt-cc", "sc") else None

    def ensemble_said(self) -> str:
        """The ensemble and thermostat in the input's words, with the file (for messages)."""
        said = f'<dynamics mode="{self.ensemble}">'
        if self.thermostat:
            said += f' with <thermostat mode="{self.thermostat}">'
        elif self.ensemble != "nve":
            said += " without a thermostat"
        return f"{said} of the i-PI input {self.path}"


def _xml_value(node, dimension: str, path: str) -> float | None:
    if node is None or not (node.text or "").strip():
        return None
    unit = node.get("units", "atomic_unit")
    f = ipi_unit_factor(dimension, unit)
    if f is None:
        raise TrajectoryFormatError(path, f"<{node.tag} units={unit!r}> is not a unit of {dimension} i-PI knows",
                                    fix="correct the units attribute of the input file")
    return float(node.text.strip()) * f


def read_ipi_input(path: str) -> IPIInput | None:
    """The settings of the i-PI input XML ``path`` (:class:`IPIInput`); None when it is not an i-PI input (its root
    is no ``<simulation>``) or cannot be parsed."""
    import xml.etree.ElementTree as ET
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError, UnicodeDecodeError):
        return None
    if root.tag != "simulation":
        return None
    out = root.find("output")
    prefix = (out.get("prefix") if out is not None else None) or "i-pi"
    init = root.find("./system/initialize")
    nb = None
    if init is not None:
        nb = init.get("nbeads")
        if nb is None and init.find("nbeads") is not None:
            nb = init.find("nbeads").text
    temperature = _xml_value(root.find("./system/ensemble/temperature"), "temperature", path)
    dt = _xml_value(root.find("./system/motion/dynamics/timestep"), "time", path)
    props = tuple((p.get("filename") or "out").strip() for p in (out.findall("properties") if out is not None else []))
    total = root.find("total_steps")
    try:
        total = int(total.text.strip()) if total is not None and total.text else None
    except ValueError:
        total = None
    ensemble, thermostat = None, ""
    motion = root.find("./system/motion")
    if motion is not None and (motion.get("mode") or "").strip().lower() == "dynamics":
        dyn = motion.find("dynamics")
        ensemble = ((dyn.get("mode") if dyn is not None else None) or "nve").strip().lower()
        thermo = dyn.find("thermostat") if dyn is not None else None
        thermostat = ((thermo.get("mode") if thermo is not None else None) or "").strip().lower()
    trajs = []
    for t in (out.findall("trajectory") if out is not None else []):
        quantity = re.split(r"[{(]", (t.text or "").strip(), maxsplit=1)[0].strip()
        bead = (t.get("bead") or "").strip()
        trajs.append(((t.get("filename") or "traj").strip(), quantity, int(bead) if bead.isdigit() else None))
    return IPIInput(os.path.abspath(path), prefix.strip(), None if nb is None else int(str(nb).strip()),
                    temperature, dt, props, total, tuple(trajs), ensemble, thermostat)


def ipi_input_beside(path: str) -> IPIInput | None:
    """The i-PI input in the folder of the output file ``path`` whose ``<output prefix>`` is the file's prefix (the
    ``*.xml`` files of the folder, in name order); None when none is. Where several are, the first is taken if they
    state the same bead count, temperature and time step; inputs that state them otherwise (an old input beside the
    run's own) are refused, naming both."""
    folder = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    try:
        names = sorted(e for e in os.listdir(folder) if e.lower().endswith(".xml"))
    except OSError:
        return None
    found = []
    for e in names:
        p = os.path.join(folder, e)
        if os.path.getsize(p) > 64 << 20:
            continue
        got = read_ipi_input(p)
        if got is not None and base.startswith(got.prefix + "."):
            found.append(got)
    for other in found[1:]:
        said = _input_differs(found[0], other)
        if said:
            raise TrajectoryFormatError(other.path, f"this input and {os.path.basename(found[0].path)} both write the "
                                        f"run's prefix {found[0].prefix!r}, but {said}: which one ran these files is "
                                        "not known",
                                        fix="move the input that did not write these files out of the folder")
    return found[0] if found else None


def _input_differs(a: IPIInput, b: IPIInput) -> str:
    """What two i-PI inputs state otherwise (bead count, temperature, time step), in words; "" where nothing."""
    out = []
    for what, x, y, unit in (("<nbeads>", a.n_beads, b.n_beads, ""), ("the temperature", a.temperature,
                                                                      b.temperature, " K"),
                             ("the time step", None if a.md_timestep is None else a.md_timestep * 1e3,
                              None if b.md_timestep is None else b.md_timestep * 1e3, " fs")):
        if x is None and y is None:
            continue
        if x is None or y is None or not math.isclose(float(x), float(y), rel_tol=1e-9):
            fmt = (lambda v: "none" if v is None else f"{v:g}{unit}")                      # noqa: E731
            out.append(f"{what} is {fmt(y)} here, {fmt(x)} in {os.path.basename(a.path)}")
    return "; ".join(out)


def properties_timestep(path: str) -> tuple[float, str] | None:
    """The MD time step (ps) from i-PI's properties file beside the output ``path`` (``PREFIX.out``: the time
    between two rows over the steps between them, from its ``step`` and ``time{unit}`` columns), with the file in
    words; None without one."""
    parts = bead_file_parts(path)
    prefix = parts[0] if parts else os.path.join(os.path.dirname(path), os.path.basename(path).split(".")[0])
    out = prefix + ".out"
    if not os.path.isfile(out):
        return None
    cols = {}
    rows = []
    with open(out, "r", errors="replace") as f:
        for line in f:
            m = re.match(r"#\s*column\s+(\d+)\s*-->\s*(\S+)", line)
            if m:
                cols[m.group(2)] = int(m.group(1)) - 1
            elif line.strip() and not line.startswith("#"):
                rows.append(line.split())
                if len(rows) >= 2:
                    break
    tcol = next(((k, c) for k, c in cols.items() if k == "time" or k.startswith("time{")), None)
    if "step" not in cols or tcol is None or len(rows) < 2:
        return None
    unit = tcol[0][5:-1] if "{" in tcol[0] else "atomic_unit"
    f = ipi_unit_factor("time", unit)
    try:
        ds = float(rows[1][cols["step"]]) - float(rows[0][cols["step"]])
        dtime = float(rows[1][tcol[1]]) - float(rows[0][tcol[1]])
    except (IndexError, ValueError):
        return None
    if f is None or ds <= 0 or dtime <= 0:
        return None
    return dtime * f / ds, f"the step and time columns of i-PI's properties file {out}"


#: a header line of i-PI's properties file: ``# column   5     --> potential{electronvolt} : help`` (one column) or
#: ``# cols.    6-9   --> bead_potentials{electronvolt} : help`` (an array property, one column per element)
PROPERTY_HEADER = re.compile(r"^#\s*(?:column\s+(\d+)|cols\.\s*(\d+)\s*-\s*(\d+))\s*-->\s*(.*?)\s*(?:\s:\s.*)?$")


def _property_name(name: str) -> tuple[str, str, str]:
    """``(key, unit, arguments)`` of a property as i-PI names it in the header (``potential(bead=1){electronvolt}``:
    ``potential``, ``electronvolt``, ``bead=1``); the unit empty when the braces are absent (atomic units)."""
    m = re.match(r"^([^({\s]+)\s*(?:\(([^)]*)\))?\s*(?:\{([^}]*)\})?", name.strip())
    if m is None:
        return name.strip(), "", ""
    return m.group(1), (m.group(3) or "").strip(), (m.group(2) or "").strip()


def _plain_properties(header: dict) -> dict:
    """The properties of a header (:func:`_properties_table`) without arguments, by key: ``key -> (name as written,
    unit, columns)``, the first of each key."""
    named = {}
    for name, cols in header.items():
        key, unit, args = _property_name(name)
        if not args:
            named.setdefault(key, (name, unit, cols))
    return named


@dataclass(frozen=True)
class PropertiesEnergy:
    """The potential energy of one bead, step by step, from an i-PI properties file (:func:`read_properties_energy`).

    Attributes
    ----------
    path : str
        The properties file.
    steps : ndarray of int (rows,)
        The ``step`` column.
    energy : ndarray (rows,)
        The bead's potential energy at each step, eV.
    lines : ndarray of int (rows,)
        The 1-based line of each row in the file (for messages).
    column : str
        The column it came from, in words.
    bead_average : bool
        True where it is the bead-averaged ``potential`` (the same value for every bead of the step), False where it
        is the bead's own (``bead_potentials``).
    """

    path: str
    steps: np.ndarray
    energy: np.ndarray
    lines: np.ndarray
    column: str
    bead_average: bool


def _properties_table(path: str) -> tuple[dict, np.ndarray, np.ndarray, int]:
    """The header of i-PI's properties file ``path`` (name as written -> 0-based columns) and its rows, parsed as
    floats: ``(header, values (rows, columns), lines (rows,), columns)``. A last row without its newline (a run
    still writing, the row perhaps cut) is dropped; a row of the wrong length or a token that is no number is
    refused."""
    st = os.stat(path)
    key = (path, st.st_size, st.st_mtime_ns)
    if _TABLES.get("key") == key:
        return _TABLES["value"]
    header: dict[str, list] = {}
    rows: list = []
    lines: list = []
    width = None
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        import gzip
        data = gzip.decompress(data)
    text = data.decode("ascii", "replace").split("\n")
    complete = data.endswith(b"\n")
    for ln, line in enumerate(text, 1):
        s = line.strip()
        if not s:
            continue
        if s.startswith("#"):
            m = PROPERTY_HEADER.match(s)
            if m is not None and not rows:
                lo = int(m.group(1) or m.group(2)) - 1
                hi = int(m.group(1) or m.group(3))
                header.setdefault(m.group(4).strip(), list(range(lo, hi)))
            continue
        if ln == len(text) and not complete:
            break                                                 # the last row without its newline: a run writing
        tok = s.split()
        if width is None:
            width = max((c[-1] + 1 for c in header.values()), default=len(tok))
        if len(tok) != width:
            raise TrajectoryFormatError(path, f"a row of {len(tok)} numbers, but the header names {width} columns",
                                        line=ln, fix="the properties file is damaged or two runs were joined: cut it "
                                                     "to the rows of this run")
        try:
            rows.append([float(t) for t in tok])
        except ValueError:
            raise TrajectoryFormatError(path, "a token that is no number in a row", line=ln,
                                        fix="the properties file is damaged: repair or regenerate it") from None
        lines.append(ln)
    values = np.array(rows, dtype=float).reshape(len(rows), width or 0)
    value = (header, values, np.array(lines, dtype=np.int64), width or 0)
    _TABLES.update(key=key, value=value)                          # the beads of a run read the same file in turn
    return value


#: the last properties file parsed (its stat and table): the P beads of a run each read it
_TABLES: dict = {}


def read_properties_energy(path: str, bead: int, n_beads: int | None = None) -> PropertiesEnergy | None:
    """The potential energy of bead ``bead`` at every step of the i-PI properties file ``path``, in eV; None when the
    file has no ``step`` column or no potential energy.

    The columns (i-PI 3's ``engine/properties.py``; each header line ``# column N --> name{unit} : help``, an array
    property ``# cols. N-M --> name{unit}``, one column per element; the unit in braces, atomic units (Hartree)
    without them):

    - ``bead_potentials``: the potential energy of every bead, one column per bead (bead K in the K-th), exact;
    - ``potential`` (no arguments): the bead average (1/P) sum_K U(q_K) of the step. Taken as every bead's energy of
      the step where ``bead_potentials`` is not written. For the TDEP free energy of a fit over the beads this is
      exact: U_0 = <U - 1/2 u Phi u> is linear in U, and the mean of U over the P beads of each step (what the fit
      sums: the frames' energies) is the same whether each bead carries its own U or the bead average. It is not each
      sample's energy: an energy score of single samples (or the spread of U over the samples) is not the beads'.

    ``potential(bead=K)`` and other columns with arguments are not read (a single bead's column with the other beads'
    average in the same fit would bias the mean).

    Parameters
    ----------
    path : str
    bead : int
        0-based.
    n_beads : int, optional
        The run's bead count, where known: a ``bead_potentials`` of another length is refused.

    Raises
    ------
    trajmodes.errors.TrajectoryFormatError
        A damaged row; a unit of energy that is not known; a bead beyond the ``bead_potentials`` columns.
    """
    header, values, lines, width = _properties_table(path)
    named = _plain_properties(header)
    if "step" not in named or not ("bead_potentials" in named or "potential" in named):
        return None
    use = "bead_potentials" if "bead_potentials" in named else "potential"
    name, unit, cols = named[use]
    fix_unit = "write the potential in electronvolt (potential{electronvolt}) or atomic units (no braces)"
    f = ipi_unit_factor("energy", unit)
    head_line = _header_line(path, name)
    if f is None:
        raise TrajectoryFormatError(path, f"{name}: {unit!r} is not a unit of energy trajmodes knows", line=head_line,
                                    fix=fix_unit)
    if use == "bead_potentials":
        if n_beads is not None and len(cols) != n_beads:
            raise TrajectoryFormatError(path, f"{name} has {len(cols)} columns, but the run has {n_beads} beads",
                                        line=head_line, fix="give the properties file of this run")
        if bead >= len(cols):
            raise TrajectoryFormatError(path, f"{name} has {len(cols)} columns (beads 0..{len(cols) - 1}), no column "
                                              f"of bead {bead}", line=head_line,
                                        fix="give the properties file of this run")
        col, what, average = cols[bead], f"{name}, bead {bead} (column {cols[bead] + 1})", False
    else:
        col, what, average = cols[0], f"{name} (column {cols[0] + 1}): the bead average", True
    steps = np.rint(values[:, named["step"][2][0]]).astype(np.int64)
    return PropertiesEnergy(path, steps, values[:, col] * f, lines, what, average)


def read_properties_column(path: str, key: str, dimension: str) -> tuple[np.ndarray, np.ndarray, str] | None:
    """The ``step`` column and the column ``key`` (a property without arguments: ``time``, ``temperature``) of the
    i-PI properties file ``path``, the values in metal units of ``dimension`` (ps, K, ...), with the column's name as
    written; None where the file has no ``step`` column or no such column, or states a unit that is not known.

    Raises
    ------
    trajmodes.errors.TrajectoryFormatError
        A damaged row (:func:`read_properties_energy`).
    """
    header, values, _, _ = _properties_table(path)
    named = _plain_properties(header)
    if "step" not in named or key not in named or not len(values):
        return None
    name, unit, cols = named[key]
    f = ipi_unit_factor(dimension, unit)
    if f is None:
        return None
    return np.rint(values[:, named["step"][2][0]]).astype(np.int64), values[:, cols[0]] * f, name


def at_steps(steps: np.ndarray, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` of the rows whose step is each of ``steps`` (the last row of a step written twice: a restarted
    run), NaN for a step without a row."""
    where = {int(s): i for i, s in enumerate(np.asarray(rows).tolist())}
    return np.array([values[where[s]] if s in where else np.nan for s in np.asarray(steps).tolist()], dtype=float)


def step_times(steps, rows, times) -> np.ndarray:
    """The time (ps) of each MD step of ``steps`` from the ``step`` and ``time`` columns of i-PI's properties file
    (``rows``, ``times``: the last row of a step written twice, a restarted run's): the row's time at a step that has
    one, and between two rows the line through them (i-PI's time grows by the time step at every step, so a step
    between rows written at another stride gets its time exactly, and one between the rows around a restart with
    another ``<timestep>`` to within the rows' stride x the change of the step); NaN before the first row and after
    the last."""
    steps = np.asarray(steps, np.int64)
    rows, times = np.asarray(rows, np.int64), np.asarray(times, float)
    if not len(rows):
        return np.full(len(steps), np.nan)
    order = np.argsort(rows, kind="stable")
    last = np.ones(len(rows), bool)
    last[:-1] = rows[order][1:] != rows[order][:-1]              # the last of a step written twice
    r, t = rows[order][last], times[order][last]
    out = np.interp(steps.astype(float), r.astype(float), t)
    out[(steps < r[0]) | (steps > r[-1])] = np.nan
    return out


class PropertiesTimes:
    """The ``step`` and ``time`` columns of an i-PI properties file read as the run writes it: every :meth:`read`
    parses the complete lines written since the last (each byte once), and :meth:`times` gives the time of MD steps
    from the rows so far (for ``trajmodes watch``, which follows a run while i-PI writes it).

    Parameters
    ----------
    path : str
        The properties file (``PREFIX.out``).

    Attributes
    ----------
    column : str or None
        The time column's name as written (``time{picosecond}``); None while its header is not read, or where the
        file has no ``step`` and ``time`` column.
    bytes_read : int
    """

    def __init__(self, path: str):
        self.path = os.fspath(path)
        self.bytes_read = 0
        self._cols = None                 # (step column, time column, factor to ps) once the header is read
        self._header: dict = {}
        self._steps: list = []
        self._times: list = []

    @property
    def column(self) -> str | None:
        if self._cols == () or "step" not in self._header or "time" not in self._header:
            return None
        name, unit, _ = self._header["time"]
        return name if ipi_unit_factor("time", unit) is not None else None

    def read(self) -> None:
        """Parse the complete lines written since the last call (a row cut at the end is read at the next)."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self.bytes_read)
                data = f.read()
        except OSError:
            return
        end = data.rfind(b"\n") + 1
        self.bytes_read += end
        for line in data[:end].decode("ascii", "replace").splitlines():
            t = line.strip()
            if not t:
                continue
            if t.startswith("#"):
                m = PROPERTY_HEADER.match(t)
                if m is not None and self._cols is None:
                    key, unit, args = _property_name(m.group(4))
                    if not args:
                        self._header.setdefault(key, (m.group(4).strip(), unit, int(m.group(1) or m.group(2)) - 1))
                continue
            if self._cols is None:
                if "step" not in self._header or "time" not in self._header:
                    self._cols = ()
                else:
                    name, unit, col = self._header["time"]
                    f = ipi_unit_factor("time", unit)
                    self._cols = () if f is None else (self._header["step"][2], col, f)
            if not self._cols:
                continue
            tok = t.split()
            try:
                self._steps.append(int(round(float(tok[self._cols[0]]))))
                self._times.append(float(tok[self._cols[1]]) * self._cols[2])
            except (IndexError, ValueError):
                continue                  # a damaged row: its steps get the line through the rows around it

    def times(self, steps) -> np.ndarray:
        """The time (ps) of ``steps`` from the rows read (:func:`step_times`); past the last row, the line through
        the last two rows continued (a row of the step not written yet); NaN without two rows."""
        steps = np.asarray(steps, np.int64)
        if len(self._steps) < 2:
            return np.full(len(steps), np.nan)
        rows, times = np.asarray(self._steps, np.int64), np.asarray(self._times, float)
        out = step_times(steps, rows, times)
        late = steps > rows.max()
        if late.any():
            last = np.flatnonzero(rows == rows.max())[-1]
            prev = np.flatnonzero(rows < rows[last])
            if len(prev):
                j = prev[np.argmax(rows[prev])]
                rate = (times[last] - times[j]) / (rows[last] - rows[j])
                out[late] = times[last] + (steps[late] - rows[last]) * rate
        return out


def velocities_output(stride) -> str:
    """The line of an i-PI input's ``<output>`` that writes the velocities every ``stride`` steps, as i-PI's manual
    spells it."""
    return f'<trajectory filename="vel" stride="{stride}"> velocities </trajectory>'


def velocities_hint(positions_stride, left_out: str | None = None) -> str:
    """What an i-PI run needs for velocities, said where it has none: the ``<output>`` line to add at the positions'
    stride, or, where its velocities were left out (``left_out``: why, :func:`velocities_left_out`), the stride to
    give them."""
    if left_out:
        return (f"{left_out}, and they were left out: give the velocities <trajectory> of the i-PI input the "
                f"positions' stride=\"{positions_stride}\"")
    return f"add {velocities_output(positions_stride)} to the <output> of the i-PI input"


def velocities_left_out(why: str, positions_stride) -> str:
    """The sentence that says i-PI velocities whose steps are not all the positions' (``why``: which steps they lack)
    are left out, the temperature unknown: the one rule of ``trajmodes fit``'s reader and ``trajmodes watch``."""
    return (f"{why}: the temperature is left unknown (the velocities only give the temperature; the constants are "
            "fitted from the positions and forces, as of a run written without velocities); for the temperature, "
            f"give the velocities <trajectory> of the i-PI input the positions' stride=\"{positions_stride}\"")


def coarser_forces(forces: str, positions: str, forces_stride: int, positions_stride: int, aligned: bool,
                   unused: tuple | None = None) -> tuple[bool, str, str]:
    """What is done with i-PI forces that pass some of the positions' steps by: the one rule of ``trajmodes fit``'s
    reader and ``trajmodes watch``, ``(taken, what, fix)`` (said as ``what; fix``). Taken where the forces' stride is
    a multiple of the positions' and their steps are among the positions' (``aligned``): the steps with both are
    fitted, and ``what`` says the share of the positions' frames unused (``unused``: (frames unused, frames) where
    counted, else from the strides); refused otherwise (few or no steps have both), naming both strides, ``fix`` the
    ``stride`` to set.

    Parameters
    ----------
    forces, positions : str
        The files' names, as said.
    forces_stride, positions_stride : int
        MD steps between two frames of each.
    aligned : bool
        Whether the forces' steps are among the positions' steps.
    unused : (int, int), optional
    """
    f, p = int(forces_stride), int(positions_stride)
    if p <= 0 or f % p or not aligned:
        return False, (f"{forces} is written every {f} steps and {positions} every {p}: the forces' stride is not a "
                       "multiple of the positions' (their steps are not among the positions' steps), so few or no "
                       "steps have both to fit"), (
            f"set the stride attribute of the forces <trajectory> in the i-PI input to {p} (the positions' stride) or "
            "a multiple of it, and run it again")
    if unused is not None:
        share = f"{unused[0]} of the positions' {unused[1]} frames ({unused[0] / max(unused[1], 1):.0%})"
    else:
        share = f"{f // p - 1} in {f // p} of the positions' frames ({1 - p / f:.0%})"
    return True, (f"{forces} is written every {f} steps, the positions every {p}: only the steps with forces are "
                  f"fitted, and {share} are unused"), (
        f"give the forces <trajectory> of the i-PI input the positions' stride=\"{p}\" to use them all")


def _header_line(path: str, name: str) -> int | None:
    """The line of the header of property ``name`` in the properties file ``path``."""
    with open(path, "rb") as fh:
        for ln, line in enumerate(fh, 1):
            if not line.startswith(b"#"):
                return None
            if f"--> {name}".encode() in line or f"-->{name}".encode() in line:
                return ln
    return None


def properties_files(path: str, ipi_input: IPIInput | None = None) -> list[str]:
    """The i-PI properties files of the run of the output ``path``: ``PREFIX.FILENAME`` of every ``<properties
    filename=...>`` of its input (``PREFIX.out`` by default), those that exist."""
    parts = bead_file_parts(path)
    prefix = parts[0] if parts else os.path.join(os.path.dirname(path), os.path.basename(path).split(".")[0])
    names = list(ipi_input.properties) if ipi_input is not None and ipi_input.properties else []
    names += [n for n in ("out",) if n not in names]
    found = []
    for n in names:
        p = f"{prefix}.{n}"
        if os.path.isfile(p) and p not in found:
            found.append(p)
    return found
