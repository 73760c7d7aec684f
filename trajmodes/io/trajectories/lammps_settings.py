"""What a LAMMPS input or log says about one of its dumps (:class:`LammpsSettings`), and the input or log beside a
dump that writes it (:func:`~trajmodes.io.trajectories.lammps_input.lammps_settings_beside`).

:func:`dump_settings` follows the commands of a :class:`~trajmodes.io.trajectories.lammps_input.LammpsInput` in the
order LAMMPS ran them to the first ``run`` that writes the dump: units, the time step in force (unknown where it is
not one value over the file), the dump interval, the masses, the data and restart files, and the commands before
that run, from which the potential's range (:mod:`trajmodes.io.potentials.pair_style`), the charges and the
path-integral fix are read. Every consumer takes this one model, found once by the reader
(``LammpsDumpSource.lammps_settings``).
"""
from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field, replace

from trajmodes.io.trajectories.lammps_script import Command

__all__ = ["LammpsSettings", "dump_settings"]


def dump_settings(model, dump_stem: str | None = None) -> "LammpsSettings | None":
    """What the commands say about the run that writes the dump ``dump_stem`` (its file name, ``.gz`` dropped;
    LAMMPS' ``*`` and ``%`` wildcards in the ``dump`` command match): the state when the first ``run`` after that
    ``dump`` begins. None when no ``dump`` command writes a file of that name. Without ``dump_stem``: the state at
    the first ``run`` (or the end of the file).

    The file on disk is the last one written: a later ``dump`` command writing the same name (without ``dump_modify
    append yes``) replaces the frames of an earlier one, so its run is the one described. A ``run 0`` passes no
    time: its frame is the next run's first, and its time step does not count (nor its settings, where a run
    follows). LAMMPS stops at a ``reset_timestep`` while a dump that has written one file is defined (``ERROR:
    Cannot reset timestep with active dump``): what comes after is not what it ran. The time step is *unknown*
    (:attr:`LammpsSettings.timestep_problem`, naming the lines) where it is not one value for the whole file: a
    ``timestep`` command between two runs that write it (or among the commands of ``run N every M``), appended
    writers with different time steps, ``fix dt/reset``; and where the commands before the run are not all known:
    reading stopped early (:attr:`~trajmodes.io.trajectories.lammps_input.LammpsInput.problem`), a log that goes on
    from another one (:attr:`~trajmodes.io.trajectories.lammps_input.LammpsInput.before`), commands LAMMPS did not
    echo to its log (``echo none`` or ``echo screen``)."""
    st = _State(model.is_log)
    if dump_stem is None:
        for k, c in enumerate(model.commands):
            if c.name in ("run", "rerun"):
                return _checked(model, st.settings(model.path, None, None, model.commands[:k + 1], c), True)
            st.apply(c)
        return _checked(model, st.settings(model.path, None, None, model.commands, None), False)
    world = tuple(model.world_variables)
    writers: list = []
    resets: list = []                                     # (index, step or None where not known) of reset_timestep
    names: dict = {}                                      # dump id -> its file name
    wrote: set = set()                                    # the dumps that have written since their dump command
    for k, c in enumerate(model.commands):
        if c.name == "dump" and len(c.args) >= 5 and _writes(c, dump_stem, world):
            writers.append(_Writer(k, c))
        if c.name == "reset_timestep" and c.args:
            if any("*" not in names[i] for i in wrote):
                break                                     # LAMMPS: ERROR: Cannot reset timestep with active dump
            resets.append((k, _integer(c)))
        st.apply(c)
        if c.name == "dump" and len(c.args) >= 5:
            names[c.args[0]] = c.args[4]
            wrote.discard(c.args[0])
        elif c.name == "undump" and c.args:
            wrote.discard(c.args[0])
        elif c.name == "clear":
            wrote.clear()
        elif c.name in ("run", "rerun", "minimize"):
            wrote.update(i for i in st.dumps if i in names)
        if c.name == "minimize":
            for w in writers:
                if st.dumps.get(w.id, [None] * 4)[3] == w.k and w.minimize is None:
                    w.minimize = c.where()
        if c.name not in ("run", "rerun") and not (c.in_run and c.name == "timestep"):
            continue
        still = c.name == "run" and _integer(c) == 0      # run 0: no time passes, whatever the time step
        for n, w in enumerate(writers):
            if st.dumps.get(w.id, [None] * 4)[3] != w.k:
                continue                                  # undumped, or not yet defined
            if w.settings is None:
                if c.name == "timestep":
                    continue
                found = st.settings(model.path, w.id, w.cmd, model.commands[:k + 1], c)
                if not w.opened:
                    w.opened = True
                    if not st.dumps[w.id][2] and "*" not in w.name:
                        for prev in writers[:n]:
                            prev.replaced = True          # the file is written anew: its earlier frames are gone
                if still:
                    w.still = w.still or found            # its frame is at the next run's first step
                    continue
                w.settings = found
                w.rerun = c.where() if c.name == "rerun" else None
            if still:
                continue
            w.steps.append(st.timestep_at(c))
            w.runs.append(k)
            w.everys.add(st.dumps[w.id][0])
            if st.dt_reset:
                fid, style, where = next(iter(st.dt_reset.values()))
                w.varying = (f"fix {fid} {style} ({where}) changes the time step during the run at {c.where()}, so "
                             "the dump's frames are not equally spaced in time")
    for w in writers:
        w.settings = w.settings or w.still                # only a run 0 wrote it: one frame
    live = [w for w in writers if not w.replaced and w.settings is not None]
    if not live:
        if not writers:
            return None
        w = writers[-1]
        return _checked(model, st.settings(model.path, w.id, w.cmd, model.commands, None), False)
    found = live[0].settings
    runs = [k for w in live for k in w.runs]
    between = tuple(r for k, r in resets if runs and min(runs) < k < max(runs))
    if between:
        found = replace(found, step_resets=between)
    steps = [x for w in live for x in w.steps]
    unknown = [x[2] for x in steps if x[2] is not None]
    values = list(dict.fromkeys(x[0] for x in steps))
    varying = next((w.varying for w in live if w.varying), None)
    why = None
    if unknown and found.timestep_problem is None:
        why = f"the time step changes to one not known while the dump is written: {unknown[0]}"
    elif len(values) > 1:
        said = "; ".join(dict.fromkeys(f"{x[0] if x[0] is not None else 'the default'} ({x[1]})" for x in steps))
        why = (f"the time step changes while the dump is written, so its frames are not equally spaced in time: "
               f"{said}")
    elif varying:
        why = varying
    elif any(w.minimize for w in live):
        where = next(w.minimize for w in live if w.minimize)
        why = (f"the dump also holds the frames written during minimize ({where}): their steps are the "
               "minimizer's iterations, not MD steps of one time step (dump after the minimization, or undump "
               "before it)")
    elif live[0].rerun and found.timestep_where.endswith("default"):
        why = (f"the dump is written by rerun ({live[0].rerun}): its frames keep the steps of the dump it reads, "
               "whose run's time step this input does not set (no timestep command)")
    if why is not None and found.timestep_problem is None:
        found = replace(found, md_timestep=None, timestep_problem=why)
    if len({e for w in live for e in w.everys}) > 1:
        found = replace(found, every=0)                   # dump_modify every between its runs
    return _checked(model, found, True)

def _checked(model, found: "LammpsSettings", ran: bool) -> "LammpsSettings":
    """``found`` with its time step, masses and commands unknown where the commands before its run are not all
    known: reading stopped before the run; or a log that goes on from another one (LAMMPS' ``log`` command), for
    what this log does not set itself (no ``units`` or ``timestep``, no box made or read, no ``pair_style``)."""
    ts, unknown, commands = found.timestep_problem, found.unknown_masses, found.commands_problem
    if not ran and model.problem:
        why = f"the commands up to the run are not all known: {model.problem}"
        ts = ts or why
        unknown += ((1, None, why, len(found.mass_commands)),)
        commands = commands or why
    elif model.before:
        why, names = model.before, {c.name for c in found.commands}
        if ts is None and not names & {"units", "timestep"}:
            ts = why
        if not names & {"create_box", "read_data", "read_restart"}:
            unknown += ((1, None, why, 0),)               # a mass command of this log still says
        if "pair_style" not in names:
            commands = commands or why
    else:
        return found
    return replace(found, md_timestep=None if ts else found.md_timestep, timestep_problem=ts,
                   mass_problem=found.mass_problem or (why if unknown != found.unknown_masses else None),
                   commands_problem=commands, unknown_masses=unknown)


class _Writer:
    """A ``dump`` command that writes the dump asked about: the settings at its first run, and the time step of each
    run (and ``timestep`` command during a run) while it is defined."""

    def __init__(self, k: int, c: Command):
        self.k, self.cmd, self.id, self.name = k, c, c.args[0], c.args[4]
        self.settings = None
        self.opened = False                   # whether a run has opened the file (written anew unless appended)
        self.still = None                     # the settings at its first run 0, where that came first
        self.steps: list = []
        self.replaced = False
        self.varying = None
        self.minimize = None                  # where a minimize wrote frames of it (not MD frames)
        self.rerun = None                     # where its first run is a rerun (the steps are another run's)
        self.everys: set = set()
        self.runs: list = []                  # the index of each run (and in-run timestep command) while defined


def _integer(c: Command) -> int | None:
    """The first argument of ``c`` as an integer (the step a ``reset_timestep`` command sets, the steps of a ``run``),
    None where it is not known (a value not known, not an integer)."""
    if c.unknown is not None or not c.args:
        return None
    try:
        return int(c.args[0])
    except ValueError:
        return None


def _writes(c: Command, dump_stem: str, world: tuple = ()) -> bool:
    """Whether the ``dump`` command ``c`` writes the file ``dump_stem``: its file name as substituted, or as written
    with each variable a wildcard where the name is not one value: one per partition (a ``world``, ``universe`` or
    ``uloop`` variable: the dumps of every partition), one a ``-var`` replaces (an ``index`` variable of an input
    script) or one not known. A name set by a ``string``, ``equal`` or ``loop`` variable is the one substituted (a dump
    of another run beside it, named by another value, is not this one's)."""
    names = [c.args[4]] if len(c.args) >= 5 else []
    written = c.written[4] if len(c.written) >= 5 else ""
    refs = {a or b for a, b in re.findall(r"\$\{([^}]*)\}|\$(\w)", written)}
    if written and (c.unknown is not None or c.overridable or refs & set(world)):
        names.append(re.sub(r"\$\{[^}]*\}|\$\(.*?\)|\$\w", "*", written))
    for name in names:
        target = os.path.basename(name).replace("%", "*")        # % is the processor (dump_modify nfile, ...)
        target = target[:-3] if target.endswith(".gz") else target
        if fnmatch.fnmatch(dump_stem, target):
            return True
    return False


# ----------------------------------------------------------------------------- what the commands say about a dump
@dataclass(frozen=True)
class LammpsSettings:
    """What a LAMMPS input or log says about one of its dumps: the state when the first ``run`` that writes it began.

    Attributes
    ----------
    path : str
        The input or log.
    units : str or None
        The ``units`` style (None: no ``units`` command, LAMMPS' default ``lj``... or a reader's own default; or the
        style of a binary restart file: :attr:`units_problem`).
    md_timestep : float or None
        The time step in force, in the input's own time unit; None where the input sets none (the unit style's
        default applies) or where it cannot be known (:attr:`timestep_problem`).
    every : int
        The dump interval in MD steps; 0 where it is not one number of steps (``dump_modify every v_name`` or
        ``every/time``, changed between the runs that write the dump, or not known).
    mass_commands : tuple
        (first type, last type or None for no upper bound, mass in the input's own mass unit) of every ``mass``
        command before the run that still holds there (one a later command covers whole, known or not, is left out),
        later ones overriding earlier ones.
    data_files, restart_files : tuple of str
        The files its ``read_data`` and ``read_restart`` commands read, as named (relative to the folder LAMMPS ran
        in, taken to be the input's: :meth:`data_paths`).
    timestep_where : str
        Where :attr:`md_timestep` was set (``in.x, line 12``), or why none is (``units metal's default``).
    timestep_problem : str or None
        Why the time step in force cannot be known, naming the line; None where it is known.
    mass_problem : str or None
        Why a ``mass`` command's value cannot be known, naming the line.
    commands_problem : str or None
        Why :attr:`commands` may not be every command LAMMPS ran before the run (a stretch the log did not echo, a
        log that goes on from another, reading stopped early), naming the line: a ``pair_style`` or ``set`` there is
        not known; None where they are all known.
    unknown_masses : tuple
        (first type, last type or None, why, position) of every ``mass`` command whose value is not known, and of
        every stretch of commands not known (``1, None``: any type), ``position`` the number of :attr:`mass_commands`
        before it: a known command after it gives the type its mass again (:meth:`mass_unknown`).
    commands : tuple of Command
        The commands up to and including the run, from the last ``clear`` (or the start of the LAMMPS run appended
        to a log) on (the potential's range, the charges, the path-integral fix are read from them).
    dump_line : str
        Where the ``dump`` command is.
    step_resets : tuple of int or None
        The steps ``reset_timestep`` commands set between the first and the last run that write the dump (an
        equilibration and a production in one file: its steps go back there, and the frames after are a new segment
        of the run, not a restart's repeats: :class:`~trajmodes.io.trajectories.restarts.StepLine`); None for one whose
        value is not known.
    units_problem : str or None
        Why the unit style is not known, naming the line: the run starts from a binary restart file
        (``read_restart``), whose unit style LAMMPS takes and which is not read here, and no ``units`` command came
        before it; None otherwise.
    """

    path: str
    units: str | None
    md_timestep: float | None
    every: int
    mass_commands: tuple = ()
    data_files: tuple = ()
    restart_files: tuple = ()
    timestep_where: str = ""
    timestep_problem: str | None = None
    mass_problem: str | None = None
    commands: tuple = field(default=(), repr=False)
    dump_line: str = ""
    unknown_masses: tuple = ()
    commands_problem: str | None = None
    step_resets: tuple = ()
    units_problem: str | None = None

    def mass_of(self, t: int) -> float | None:
        """The mass the ``mass`` commands give LAMMPS type ``t`` (the input's mass unit; the last command for it),
        or None (none does, or the last that may is not known: :meth:`mass_unknown`)."""
        if self.mass_unknown(t) is not None:
            return None
        found = [m for lo, hi, m in self.mass_commands if lo <= t and (hi is None or t <= hi)]
        return found[-1] if found else None

    def mass_unknown(self, t: int) -> str | None:
        """Why the mass of LAMMPS type ``t`` cannot be known from the commands (a ``mass`` command for it with a value
        that is not known, or commands not known after the last one that gives it), naming the line; None otherwise.
        A data file's mass of the type does not stand for it (LAMMPS' mass command came after the data file)."""
        known = max((k for k, (lo, hi, _) in enumerate(self.mass_commands) if lo <= t and (hi is None or t <= hi)),
                    default=-1)
        for lo, hi, why, pos in reversed(self.unknown_masses):
            if pos > known and lo <= t and (hi is None or t <= hi):
                return why
        return None

    def steps_problem(self, steps) -> str | None:
        """Why a dump whose frames are at MD steps ``steps`` cannot have been written by this dump command (LAMMPS
        writes on the steps that are multiples of its interval: frames off them are another run's, whose input or
        log this is not), in words naming the line; None where they can. The first frame (``dump_modify first yes``)
        and the last (a minimization's end) are not judged."""
        if self.every <= 0 or len(steps) < 3:
            return None
        inner = [int(x) for x in list(steps[1:-1])[:4096]]
        off = [x for x in inner if x % self.every]
        if not off:
            return None
        shown = ", ".join(str(int(x)) for x in list(steps[:3]))
        return (f"the dump's frames are at steps {shown}, ... (step {off[0]} among them), but the dump command that "
                f"writes it ({self.dump_line}) writes every {self.every} steps: {os.path.basename(self.path)} is not "
                "the input or log of the run that wrote this dump")

    def data_paths(self) -> tuple:
        """The files of :attr:`data_files` as paths: relative names taken from the input's folder (where a user's
        LAMMPS run reads them from)."""
        folder = os.path.dirname(os.path.abspath(self.path))
        return tuple(name if os.path.isabs(name) else os.path.join(folder, name) for name in self.data_files)

    def before_run(self, name: str) -> list:
        """The commands called ``name`` before the run, in order."""
        return [c for c in self.commands if c.name == name]


class _State:
    """The settings a sequence of commands has made so far."""

    def __init__(self, is_log: bool = False):
        self.is_log = is_log
        self.units = None
        self.units_problem = None            # why the unit style is a restart file's, not known here
        self.timestep = None                 # (value or None, where, problem)
        self.dumps: dict = {}                # id -> [every, line, append, index of the dump command]
        self.mass_entries: list = []         # (first type, last or None, mass or None where not known, why)
        self.mass_problem = None
        self.data: list = []
        self.restarts: list = []
        self.dt_reset: dict = {}             # id -> the args of an active fix dt/reset
        self.unseen = None                   # where a log stopped echoing the commands (echo none, echo screen)
        self.count = 0                       # the commands applied
        self.timestep_count = 0              # self.count when the time step was last set (timestep, units)
        self.unseen_count = 0                # self.count of the first command the log shows after a stretch it
        self.gap_open = False                # does not (a time step set before it is not known)

    def timestep_at(self, c: Command) -> tuple:
        """(value or None for the unit style's default, where, problem) of the time step in force at ``c``."""
        if self.timestep is None:
            return None, f"units {self.units}'s default" if self.units else "LAMMPS' default", None
        return self.timestep

    def apply(self, c: Command) -> None:
        a = c.args
        self.count += 1
        if self.gap_open:
            self.gap_open, self.unseen_count = False, self.count      # the first command the log shows again
        if c.name == "clear":
            keep = self.unseen, self.count, self.unseen_count
            self.__init__(self.is_log)
            self.unseen, self.count, self.unseen_count = keep
            self.timestep_count = self.count         # a clear sets the time step back to the unit style's
        elif c.name == "echo" and a and self.is_log and c.written == ("unechoed",):
            self.mass_entries.append((1, None, None, ""))
            self.unseen = self.unseen or c.unknown
            self.gap_open = True
        elif c.name == "echo" and a and self.is_log and c.unknown is None:
            if a[0] in ("none", "screen") and self.unseen is None:
                self.mass_entries.append((1, None, None, ""))
                self.gap_open = True
                self.unseen = (f"the log does not show the commands LAMMPS ran after echo {a[0]} ({c.where()}): "
                               "LAMMPS did not echo them to it, so what they set is not known (the input script "
                               "would say)")
        elif c.name == "fix" and len(a) >= 3 and a[2].startswith("dt/reset"):
            self.dt_reset[a[0]] = (a[0], a[2], c.where())
        elif c.name == "unfix" and a:
            self.dt_reset.pop(a[0], None)
        elif c.name == "units" and a:
            self.timestep_count = self.count
            self.units_problem = None
            if c.unknown is not None:
                self.units = None
            else:
                self.units = a[0]
                self.timestep = None
        elif c.name == "timestep" and a:
            self.timestep_count = self.count
            if c.unknown is not None:
                self.timestep = (None, c.where(), f"timestep {' '.join(a)} ({c.where()}): {c.unknown}")
            else:
                try:
                    value = float(a[0])
                    self.timestep = (value, c.where() + c.note(), None if value > 0 else
                                     f"timestep {a[0]} ({c.where()}) is not a positive number")
                except ValueError:
                    self.timestep = (None, c.where(), f"timestep {a[0]} ({c.where()}) is not a number")
        elif c.name == "read_restart" and a:
            self.restarts.append(a[0])
            if self.units is None:                    # LAMMPS takes the restart file's units
                self.units_problem = (f"the unit style comes from the binary restart file {a[0]} (read_restart, "
                                      f"{c.where()}), which is not read here")
            self.timestep = (None, c.where(), f"the time step comes from the binary restart file {a[0]} "
                                              f"(read_restart, {c.where()}), which is not read here")
        elif c.name == "read_data" and a:
            self.data.append(a[0])
        elif c.name == "dump" and len(a) >= 5:
            try:
                self.dumps[a[0]] = [int(a[3]), c.where(), False, self.count - 1]
            except ValueError:
                self.dumps[a[0]] = [None, c.where(), False, self.count - 1]
        elif c.name == "undump" and a:
            self.dumps.pop(a[0], None)
        elif c.name == "dump_modify" and a and a[0] in self.dumps:
            for k in range(1, len(a) - 1):
                if a[k] == "append":
                    self.dumps[a[0]][2] = a[k + 1] in ("yes", "1", "true", "on")
                if a[k] == "every":
                    try:
                        self.dumps[a[0]][0] = int(a[k + 1])
                    except ValueError:
                        self.dumps[a[0]][0] = None            # every v_name: steps a variable gives
                elif a[k] == "every/time":
                    self.dumps[a[0]][0] = None                # by simulated time: not a step interval
        elif c.name == "mass" and len(a) >= 2:
            lo, star, hi = a[0].partition("*")
            try:
                first = int(lo) if lo else 1
                last = (int(hi) if hi else None) if star else first
                types_read = True
            except ValueError:
                first, last, types_read = 1, None, False      # the types are not known: any may be set
            why = None
            if c.unknown is not None:
                why = f"mass {' '.join(a)} ({c.where()}): {c.unknown}"
            else:
                try:
                    value = float(a[1])
                except ValueError:
                    why = f"mass {' '.join(a)} ({c.where()}) is not a type and a number"
                else:
                    if not types_read:
                        why = f"mass {' '.join(a)} ({c.where()}): its types {a[0]!r} are not a type or range"
                    else:
                        self.mass_entries.append((first, last, value, None))
            if why is not None:
                self.mass_problem = why
                self.mass_entries.append((first, last, None, why))

    def _mass_tables(self) -> tuple:
        """(mass_commands, unknown_masses) of :class:`LammpsSettings`: a mass command that a later one covers whole
        (known or not) is left out, as it no longer holds; each unknown one placed after the known ones before it."""
        entries = self.mass_entries

        def covers(u, e):
            return u[0] <= e[0] and (u[1] is None or e[1] is not None and e[1] <= u[1])
        known, unknown = [], []
        for k, (lo, hi, m, why) in enumerate(entries):
            if m is None:
                unknown.append((lo, hi, why or self.unseen, len(known)))
            elif not any(covers(u, entries[k]) for u in entries[k + 1:]):
                known.append((lo, hi, m))
        return tuple(known), tuple(unknown)

    def settings(self, path, dump_id, dump_cmd, commands, run) -> LammpsSettings:
        value, where, problem = self.timestep_at(run)
        if self.unseen is not None and (self.gap_open or self.timestep_count < self.unseen_count):
            problem = problem or self.unseen
            value = None if problem else value
        every = self.dumps.get(dump_id, [1])[0] if dump_id is not None else 1
        if dump_cmd is not None and dump_cmd.unknown is not None:
            every = None
        masses, unknown = self._mass_tables()
        commands = list(commands)
        cleared = max((k for k, c in enumerate(commands) if c.name == "clear"), default=-1)
        commands = commands[cleared + 1:]                     # clear (or a new LAMMPS run) voids what came before
        return LammpsSettings(path, self.units, value, every if every is not None else 0, masses,
                              tuple(self.data), tuple(self.restarts), where, problem,
                              self.mass_problem or self.unseen,
                              tuple(commands), dump_cmd.where() if dump_cmd is not None else "", unknown,
                              self.unseen, units_problem=self.units_problem)
