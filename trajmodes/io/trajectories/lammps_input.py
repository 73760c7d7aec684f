"""A LAMMPS input script or log, read as LAMMPS reads it: one model of what a run's commands said.

LAMMPS reads its input line by line: a ``#`` outside quotes starts a comment, a line ending in ``&`` goes on in the
next, quotes (``"``, ``'``, ``\"\"\"``) make one word, and every ``$name``, ``${name}`` and ``$(formula)`` outside
quotes is replaced by the variable's value before the command runs. Variables are defined by the ``variable`` command
(``index``, ``loop``, ``string``, ``equal``, ``world``, ``uloop``, ``format``, ``internal``, ...) or on LAMMPS' command
line (``-var dt 0.0005``); ``index``-like variables defined again are ignored, so that ``-var`` wins over the input's
default; ``label``, ``jump``, ``next``, ``include`` and ``if`` steer the reading (loops).

A log written with LAMMPS' default ``echo log`` is a trace of the commands as executed, loops unrolled: each command
as written, and, where a variable was substituted, the same command once more as substituted (``timestep ${dt}``,
then ``timestep 0.0005``). The substituted echo is taken: it holds the values given with ``-var``, which the input
alone cannot know. LAMMPS' output between the echoes is not a command even where it reads like one: what ``print``
wrote (matched line by line against its text; nothing with ``screen no``), and a run's output up to its ``Loop time
of`` (thermo rows, ``fix print`` lines). A ``log`` command's file is followed (the log goes on there). A log is read
to its end (past :data:`LAMMPS_INPUT_BYTES`, only the lines that may be commands). What a log cannot show is said,
not assumed: an ``ERROR`` ends it (:attr:`LammpsInput.problem`); commands LAMMPS did not echo (``echo none`` or
``echo screen``, or ``-echo none`` on its command line, seen as a run's output without its command) and a log that
goes on from another (no ``LAMMPS (`` header) leave the time step, masses and commands before the run unknown.
Where an input and its log disagree, the log wins (:func:`lammps_settings_beside`): it is what LAMMPS ran.

An input script is executed here instead (its loops run, its ``if`` conditions evaluated), and a
value that depends on something not in it (an undefined variable, ``getenv``, a thermo keyword, a random number) is
*unknown*: the command is kept with the reason and the line, and whoever needs its value refuses naming them. An
``if`` whose condition is unknown makes every command of every branch from it on unknown (and the variables they
define); ``run N every M "c1" ...`` executes its commands after each M steps; a loop that comes back to a ``jump``
with every variable as it was is endless (found on its second pass, with the unknown ``if`` that may have been its
way out).

:class:`LammpsInput` holds the commands in the order LAMMPS ran them (the language itself, words, formulas and variables,
is :mod:`trajmodes.io.trajectories.lammps_script`); :meth:`LammpsInput.settings` gives what they say about one dump
(:class:`~trajmodes.io.trajectories.lammps_settings.LammpsSettings`: units, the time step in force at the first ``run`` that writes it, the
dump interval, the masses, the data and restart files, and the commands before that run, from which the potential's
range (:mod:`trajmodes.io.potentials.pair_style`), the charges and the path-integral fix are read). The file on disk
is the last one written (a later ``dump`` of the same name replaces it), and a time step that is not one value over
it (changed between its runs, by ``run ... every``, ``fix dt/reset``) is unknown. Every consumer takes this one model;
:func:`lammps_settings_beside` finds the input or log beside a dump once.
"""
from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import replace

from trajmodes.io.trajectories.lammps_settings import LammpsSettings, dump_settings
from trajmodes.io.trajectories.lammps_script import (DEFAULT_TIMESTEP, KEEP_FIRST, Command, UnknownValue, Variable,
                                                     Variables, closing_paren, evaluate_formula, has_substitution,
                                                     join_lines, split_words, strip_comment)

__all__ = ["LammpsInput", "lammps_settings_beside", "lammps_settings_in", "LAMMPS_INPUT_PATTERNS", "LAMMPS_INPUT_BYTES", "UNITS_COMMAND", "LAMMPS_COMMANDS",
           "looks_like_log", "read_text"]

#: names of LAMMPS inputs and logs looked for in the dump's folder, in this order (logs first: their substituted echo
#: holds the values given on LAMMPS' command line)
LAMMPS_INPUT_PATTERNS = ("log.lammps", "log*.lammps", "*.log", "in.*", "*.in", "*.lmp", "*.lammps")
#: only this much of each candidate is read (inputs and the echoed input at the top of a log are short)
LAMMPS_INPUT_BYTES = 4 << 20
#: a LAMMPS ``units`` command (also echoed in a log), for a first look at a file's unit style
UNITS_COMMAND = re.compile(r"^\s*units\s+(\w+)", re.M)
#: a log is read to its end up to this size: beyond :data:`LAMMPS_INPUT_BYTES` only the lines that may be commands are
#: kept (a long run's thermo output is skipped while reading)
LOG_MAX_BYTES = 8 << 30
#: the lines of a log past its first :data:`LAMMPS_INPUT_BYTES` that are kept (commands start with a lower-case word;
#: thermo rows with a number)
_LOG_KEEP = re.compile(rb'^[ \t]*(?:[a-z_"]|Loop time of|Per MPI rank memory|ERROR|LAMMPS \().*$', re.M)
#: the most commands an input's loops may execute here before it is taken as endless
MAX_EXECUTED = 200_000

#: the commands of LAMMPS (those a log echoes and this model may meet); a log's other lines are LAMMPS' output
LAMMPS_COMMANDS = frozenset("""
angle_coeff angle_style angle_write atom_modify atom_style balance bond_coeff bond_style bond_write boundary box
change_box clear comm_modify comm_style compute compute_modify create_atoms create_bonds create_box delete_atoms
delete_bonds dielectric dihedral_coeff dihedral_style dimension displace_atoms dump dump_modify dynamical_matrix echo
fix fix_modify group group2ndx hyper if improper_coeff improper_style include info jump kim kim_init kim_interactions
kspace_modify kspace_style label labelmap lattice log mass message min_modify min_style minimize molecule neb
neb/spin neigh_modify neighbor newton next package pair_coeff pair_modify pair_style pair_write partition plugin
prd print processors python quit read_data read_dump read_restart region replicate rerun reset_atoms reset_timestep
restart run run_style server set shell special_bonds suffix tad temper temper/grem temper/npt thermo thermo_modify
thermo_style third_order timer timestep uncompute undump unfix units variable velocity write_coeff write_data
write_dump write_restart
""".split())


# ----------------------------------------------------------------------------- the model
class LammpsInput:
    """The commands of a LAMMPS input script or log in the order LAMMPS ran them (loops unrolled, ``include`` files
    inlined, variables substituted).

    Attributes
    ----------
    path : str
    is_log : bool
        Whether the file is a log (a trace: its substituted echoes are taken, its ``jump`` and ``if`` not re-run).
    commands : tuple of Command
    world_variables : dict
        name -> (style, values) of the ``world``, ``uloop`` and ``universe`` variables (one value per partition; a
        path-integral run's bead count).
    problem : str or None
        Why reading stopped early (an endless loop, a missing ``include`` file, LAMMPS' ERROR in a log, a log whose
        ``log`` command goes on in a file that is not there, an input cut at :data:`LAMMPS_INPUT_BYTES`), with the line.
        The commands after it are not known: a dump whose run comes after it gets a time step and masses that cannot
        be known (:class:`LammpsSettings`).
    before : str or None
        Why the commands before the file's first are not known (a log that goes on from another one); None where the
        file starts at LAMMPS' start.
    given : dict
        The variables it was read with as given on LAMMPS' command line (``-var``; :meth:`read`'s ``variables``).
    from_disk : bool
        Whether it was read from its path (not from a text given), so that it can be executed again with other
        ``-var`` values (:meth:`settings`).
    """

    def __init__(self, path: str, is_log: bool, commands: tuple, world_variables: dict, problem: str | None):
        self.path, self.is_log, self.commands = path, is_log, commands
        self.world_variables, self.problem = world_variables, problem
        self.before = None
        self.given: dict = {}                   # the variables given as LAMMPS' -var (read's variables=)
        self.from_disk = False                  # whether it was read from its path (it can be read again)

    def __repr__(self) -> str:
        return f"LammpsInput({self.path!r}, {'log' if self.is_log else 'input'}, {len(self.commands)} commands)"

    @classmethod
    def read(cls, path, *, variables: dict | None = None, max_bytes: int = LAMMPS_INPUT_BYTES,
             text: str | None = None, is_log: bool | None = None) -> "LammpsInput | None":
        """The model of the input or log ``path``; None for a file that is not LAMMPS text (binary, unreadable).

        Parameters
        ----------
        path : str or os.PathLike
        variables : dict, optional
            name -> value of the variables given on LAMMPS' command line (``-var dt 0.0005`` is ``{"dt": "0.0005"}``;
            a list of values for several).
        max_bytes : int
            How much of the file is read (a log: past it, only the lines that may be commands).
        text : str, optional
            The file's text, already read (a compressed log): ``path`` is then only its name.
        is_log : bool, optional
            Whether it is a log; by default told from its name and first lines (:func:`looks_like_log`).
        """
        path = os.fspath(path)
        if text is not None:
            got = (list(enumerate(_lines(text), 1)), looks_like_log(os.path.basename(path), text), None)
        else:
            got = _read_rows(path, max_bytes)
        if got is None:
            return None
        rows, found_log, cut = got
        is_log = found_log if is_log is None else bool(is_log)
        state: dict = {"timestep": None}
        table = Variables(state)
        given = variables
        for name, value in (variables or {}).items():
            values = [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
            table.vars[name] = Variable("index", values, "LAMMPS' command line (-var)", kind="index")
        variables = table
        before = None
        if is_log:
            commands, problem = _trace(path, rows, variables, state)
            if rows and not rows[0][1].startswith("LAMMPS ("):
                before = (f"{os.path.basename(path)} does not begin with LAMMPS' header ('LAMMPS (...)'): it goes on "
                          "from another log (LAMMPS' log command), which holds the commands before it")
        else:
            commands, problem = _execute(path, [t for _, t in rows], variables, state)
        model = cls(path, is_log, tuple(commands), variables.world_values(), problem or cut)
        model.before = before
        model.given = {k: v for k, v in (given or {}).items()}
        model.from_disk = text is None
        return model

    # -- what the commands say about one dump
    def settings(self, dump_stem: str | None = None):
        """What the commands say about the run that writes the dump ``dump_stem``
        (:func:`~trajmodes.io.trajectories.lammps_settings.dump_settings`: a
        :class:`~trajmodes.io.trajectories.lammps_settings.LammpsSettings`, or None when no ``dump`` command writes a
        file of that name).

        An input script whose ``dump`` command names the file through variables that LAMMPS' ``-var`` gives (an
        ``index`` or ``loop`` variable, or one the input does not define) but whose own values name another file
        (``dump.${T}.lammpstrj`` with ``variable T index 300`` for ``dump.150.lammpstrj``) was run with ``-var``:
        it is executed again with the values the dump's name gives (``-var T 150``), as LAMMPS ran it, so that
        what depends on them (a time step chosen by temperature) is the run's; :attr:`LammpsSettings.timestep_where`
        says so."""
        if dump_stem is not None and not self.is_log and self.from_disk and not self.given:
            given = _given_by_name(self, dump_stem)
            again = LammpsInput.read(self.path, variables=given) if given else None
            found = None if again is None else dump_settings(again, dump_stem)
            if found is not None:
                said = " ".join(f"-var {k} {v}" for k, v in given.items())
                return replace(found, timestep_where=f"{found.timestep_where}; the input run with {said}, as the "
                                                     "dump's name says (its own values name another file)")
        return dump_settings(self, dump_stem)


def _given_by_name(model: LammpsInput, dump_stem: str) -> dict:
    """name -> value of the variables LAMMPS' ``-var`` gave where a ``dump`` command of ``model`` names the file
    ``dump_stem`` through them but not with the input's own values (:meth:`LammpsInput.settings`); empty where a dump
    command's own name is the file's, or no variable a ``-var`` can give makes it."""
    dumps = [c for c in model.commands if c.name == "dump" and len(c.args) >= 5]
    for c in dumps:
        if c.unknown is None and fnmatch.fnmatch(dump_stem, _stem(c.args[4]).replace("%", "*")):
            return {}                                         # the input's own values name the file
    styles: dict = {}                                         # each variable's style when the dump command ran
    for c in model.commands:
        if c.name == "variable" and len(c.args) >= 2 and c.unknown is None:
            if c.args[1] == "delete":
                styles.pop(c.args[0], None)
            elif not (c.args[0] in styles and styles[c.args[0]] in KEEP_FIRST):
                styles[c.args[0]] = c.args[1]
        if c.name != "dump" or len(c.args) < 5:
            continue
        written = c.written[4] if len(c.written) >= 5 else c.args[4] if c.unknown is not None else ""
        parts = re.split(r"(\$\{[^}]*\}|\$\(.*?\)|\$\w)", _stem(written))
        pattern, names = [], []
        for part in parts:
            name = part[2:-1] if part.startswith("${") else part[1:] if part.startswith("$") and part[1:2] != "(" \
                else None
            if name is None:
                pattern.append(".+?" if part.startswith("$(") else             # * the step, % the processor
                               re.escape(part).replace(r"\*", ".*?").replace("%", ".*?"))
            elif name in names:
                pattern.append(f"(?P={_group(name)})")
            else:
                names.append(name)
                pattern.append(f"(?P<{_group(name)}>.+?)")
        if not names or any(styles.get(n, "index") not in ("index", "loop") for n in names):
            continue                                          # a -var cannot give it (LAMMPS would stop there)
        m = re.fullmatch("".join(pattern), dump_stem)
        if m is not None:
            return {n: m.group(_group(n)) for n in names}
    return {}


def _stem(name: str) -> str:
    """The file name of a dump's path, ``.gz`` dropped."""
    name = os.path.basename(name)
    return name[:-3] if name.endswith(".gz") else name


def _group(name: str) -> str:
    """A regular expression's group name for the LAMMPS variable ``name``."""
    return "v_" + "".join(ch if ch.isalnum() or ch == "_" else f"_{ord(ch)}_" for ch in name)


def read_text(path: str, max_bytes: int) -> str | None:
    try:
        with open(path, "rb") as f:
            raw = f.read(max_bytes)
    except OSError:
        return None
    if b"\0" in raw[:4096]:
        return None
    return raw.decode("utf-8", "replace")


def _lines(text: str) -> list:
    """The lines of ``text`` as LAMMPS reads them: split at ``\n`` only (a ``\r`` before it dropped), so that line
    numbers are LAMMPS' and an editor's."""
    out = text.split("\n")
    if out and out[-1] == "":
        out.pop()
    return [x[:-1] if x.endswith("\r") else x for x in out]


#: lines only a log has
_LOG_MARK = re.compile(r"^(?:Loop time of |Total wall time: |Per MPI rank memory allocation)", re.M)


def looks_like_log(name: str, text: str) -> bool:
    """Whether a file called ``name`` that begins with ``text`` is a LAMMPS log (LAMMPS' header, a log's name, or
    lines only a log has: one a ``log`` command opened has no header)."""
    return (text.startswith("LAMMPS (") or name.startswith("log") or name.endswith(".log")
            or _LOG_MARK.search(text) is not None)


def _read_rows(path: str, max_bytes: int):
    """(rows, is_log, cut) of the file ``path``: rows are (1-based line, text); a log is read to its end (past
    ``max_bytes``, only the lines that may be commands, up to :data:`LOG_MAX_BYTES`), an input script up to
    ``max_bytes``; ``cut`` says where and why reading stopped short (None when the whole file was read). None for a
    file that cannot be read or is not text."""
    try:
        f = open(path, "rb")
    except OSError:
        return None
    with f:
        try:
            raw = f.read(max_bytes)
            more = f.read(1)
        except OSError:
            return None
        if b"\0" in raw[:4096]:
            return None
        text = raw.decode("utf-8", "replace")
        name = os.path.basename(path)
        is_log = looks_like_log(name, text)
        if not more:
            return list(enumerate(_lines(text), 1)), is_log, None
        cut = raw.rfind(b"\n") + 1
        rows = list(enumerate(_lines(raw[:cut].decode("utf-8", "replace")), 1))
        if not is_log:
            return rows, False, (f"{name} is longer than {max_bytes} bytes: only its first {len(rows)} lines are read "
                                 "(an input script that long is not one LAMMPS input)")
        line, buf, total, note = raw[:cut].count(b"\n"), raw[cut:] + more, len(raw) + 1, None
        while True:
            chunk = f.read(max(max_bytes, 1 << 22))
            total += len(chunk)
            buf += chunk
            end = buf.rfind(b"\n") + 1 if chunk else len(buf)
            pos = 0
            for m in _LOG_KEEP.finditer(buf, 0, end):
                line += buf.count(b"\n", pos, m.start())
                pos = m.start()
                rows.append((line + 1, m.group().decode("utf-8", "replace").rstrip("\r")))
            line += buf.count(b"\n", pos, end)
            buf = buf[end:]
            if not chunk:
                break
            if total > LOG_MAX_BYTES:
                note = (f"{name} is longer than {LOG_MAX_BYTES} bytes: it is read up to line {line} only, and what "
                        "LAMMPS did after is not known")
                break
        return rows, True, note


def _make(path: str, line: int, text: str, variables: Variables, state: dict, track: bool = True) -> Command | None:
    """The command of ``text`` (comment removed), its variables substituted; None for a blank line."""
    body = strip_comment(text).strip()
    if not body:
        return None
    unknown = None
    variables.used_index = []
    try:
        body_sub = variables.substitute(body) if has_substitution(body) else body
    except UnknownValue as exc:
        body_sub, unknown = body, str(exc)
    words = split_words(body_sub)
    if not words:
        return None
    cmd = Command(words[0], tuple(words[1:]), path, line, unknown, tuple(split_words(body)[1:]) if body_sub != body else (),
                  tuple(dict.fromkeys(variables.used_index)))
    if track:
        _track(cmd, variables, state)
    return cmd


def _track(cmd: Command, variables: Variables, state: dict) -> None:
    """What the variable table needs to follow: definitions, and the time step for the thermo keyword dt."""
    if cmd.unknown is not None:
        if cmd.name == "timestep":
            state["timestep"] = None
        return
    if cmd.name == "variable":
        error = variables.define(list(cmd.args), cmd.where())
        if error:
            state["error"] = error
    elif cmd.name == "timestep" and cmd.args:
        try:
            state["timestep"] = (float(cmd.args[0]), cmd.line)
        except ValueError:
            state["timestep"] = None
    elif cmd.name == "units" and cmd.args:
        state["timestep"] = (DEFAULT_TIMESTEP.get(cmd.args[0]), None)


#: the commands whose output (thermo rows, ``fix print`` lines) a log holds until its ``Loop time of`` line
_RUN_COMMANDS = ("run", "rerun", "minimize")
#: the commands after whose echo a log shows a run's output
_RUN_LIKE = set(_RUN_COMMANDS) | {"temper", "temper/npt", "temper/grem", "prd", "tad", "neb", "neb/spin", "hyper"}


def _template(text: str):
    """A regular expression for what ``print`` writes of ``text``: its words as written, each ``$x``, ``${name}`` and
    ``$(formula)`` any value."""
    parts, i, n = [], 0, len(text)
    while i < n:
        j = text.find("$", i)
        if j < 0 or j + 1 >= n:
            parts.append(re.escape(text[i:]))
            break
        parts.append(re.escape(text[i:j]))
        if text[j + 1] == "{":
            end = text.find("}", j + 2)
            i = n if end < 0 else end + 1
        elif text[j + 1] == "(":
            i = closing_paren(text, j + 1) + 1
        else:
            i = j + 2
        parts.append(".*")
    return re.compile("".join(parts).rstrip())


def _skip_printed(rows: list, i: int, args: tuple) -> int:
    """The index of the row after what ``print`` wrote to the log after its echo (the row before ``i``): its text, line
    by line (none with ``screen no``; twice with ``universe yes``, once for the screen's log and once for the
    universe's). Rows are matched by their line numbers (a long log's rows skip the lines that cannot be commands)."""
    words = list(args[1:])
    if any(words[k:k + 2] == ["screen", "no"] for k in range(len(words))) or i == 0:
        return i
    times = 2 if any(words[k:k + 2] == ["universe", "yes"] for k in range(len(words))) else 1
    pats = [_template(t.rstrip()) for t in args[0].split("\n")]
    last = rows[i - 1][0]                                     # the echo's last line
    for _ in range(times):
        j = i
        while j < len(rows) and rows[j][0] <= last + len(pats):
            if not pats[rows[j][0] - last - 1].fullmatch(rows[j][1].rstrip()):
                return i
            j += 1
        i, last = j, last + len(pats)
    return i


def _every_commands(args: tuple):
    """(segments, commands) of ``run N ... every M c1 c2 ...``; None without ``every``."""
    if "every" not in args:
        return None
    k = args.index("every")
    try:
        n, m = int(args[0]), int(args[k + 1])
    except (ValueError, IndexError):
        return None
    cmds = list(args[k + 2:])
    if cmds[:1] == ["NULL"]:
        cmds = cmds[1:]                                       # c1 = NULL: no command (LAMMPS takes one more as one)
    return (n // m if m > 0 else 0), cmds


def _trace(path: str, rows: list, variables: Variables, state: dict, depth: int = 0):
    """The commands of a log (rows of (line, text)): its echoed commands in order, each replaced by LAMMPS' substituted
    echo where one follows; what ``print`` wrote and a run's output (thermo rows, ``fix print`` lines, up to its
    ``Loop time of``) skipped; the log that a ``log`` command goes on in followed."""
    out: list = []
    i, n = 0, len(rows)
    in_output = False                 # inside a run's output: no commands until its Loop time of
    every = None                      # [segments left, commands per segment] of a run ... every
    embedded = 0                      # the commands of run ... every still to come after the last segment's output
    base = os.path.basename(path)
    last = None                       # the last command echoed
    ended = None                      # the line where LAMMPS said it ended (Total wall time)
    while i < n:
        line, text = rows[i]
        i += 1
        stripped = text.strip()
        if stripped.startswith("ERROR"):
            return out, f"LAMMPS stopped with an error at {base}, line {line}: {stripped[:300]}"
        if in_output:
            if stripped.startswith("Loop time of"):
                in_output = False
                if every is not None:
                    every[0] -= 1
                    embedded = every[1]
                    if every[0] <= 0:
                        every = None
            continue
        if stripped.startswith("Total wall time:"):
            ended = line                                      # LAMMPS ended: what follows is another run's (append)
            continue
        if stripped.startswith("Per MPI rank memory allocation"):
            in_output = True                                  # the next segment of a run ... every
            if every is None and last not in _RUN_LIKE:
                # a run whose command the log does not show: LAMMPS was not echoing to it (-echo none or screen)
                out.append(Command("echo", ("none",), path, line, (
                    f"the log shows the output of a run at {base}, line {line} but not its command: LAMMPS did not "
                    "echo every command to it (-echo none or -echo screen on its command line, or echo none or "
                    "echo screen in the input), so what they set is not known (the input script would say)"),
                    ("unechoed",)))
            continue
        body = strip_comment(text).strip()
        words = body.split(None, 1)
        if not words or words[0] not in LAMMPS_COMMANDS or words[1:] and words[1].startswith("CPU ="):
            continue                                          # LAMMPS' output ("read_data CPU = 0.01 seconds")
        if strip_comment(text).count('"""') % 2 == 1:       # a triple-quoted text goes on in the next lines
            while i < n:
                text = text + "\n" + rows[i][1]
                i += 1
                if '"""' in rows[i - 1][1]:
                    break
            body = strip_comment(text).strip()
        if has_substitution(body):
            # LAMMPS echoes the command once more after each substitution it makes: the last echo is the command run
            j, echo = i, None
            while j < n:
                nxt = rows[j][1].split(None, 1)
                if not nxt or nxt[0] != words[0]:
                    break
                echo = j
                if not has_substitution(strip_comment(rows[j][1])):
                    break
                j += 1
            if echo is not None and not has_substitution(strip_comment(rows[echo][1])):
                line, text = rows[echo]
                i = echo + 1
        if ended is not None:
            # another LAMMPS run appended to this log (log ... append): it starts with no variables and no settings
            variables.vars.clear()
            state["timestep"] = None
            out.append(Command("clear", (), path, line, None, (f"LAMMPS ended at {base}, line {ended}",)))
            ended = None
        cmd = _make(path, line, text, variables, state)
        if cmd is None:
            continue
        if has_substitution(body) and not cmd.written:
            cmd = replace(cmd, written=tuple(split_words(body)[1:]))
        if embedded > 0:
            embedded -= 1
            cmd = replace(cmd, in_run=True)
        last = cmd.name
        if cmd.name == "print" and cmd.args:
            i = _skip_printed(rows, i, cmd.args)
        if cmd.name == "log" and cmd.args and cmd.unknown is None:
            target = cmd.args[0]
            if target == "none":
                return out, f"the log stops at {cmd.where()} (log none): what LAMMPS did after is not known"
            p = target if os.path.isabs(target) else os.path.join(os.path.dirname(os.path.abspath(path)), target)
            if os.path.abspath(p) == os.path.abspath(path):
                out.append(cmd)
                continue                                      # log log.lammps append: it goes on here
            got = _read_rows(p, LAMMPS_INPUT_BYTES) if depth < 16 else None
            if got is None:
                return out + [cmd], (f"the log goes on in {target} (log, {cmd.where()}), which is not there: what "
                                     "LAMMPS did after is not known")
            more, problem = _trace(p, got[0], variables, state, depth + 1)
            return out + [cmd] + more, problem or got[2]
        if cmd.name in ("jump", "label", "next", "if", "include"):
            if cmd.name == "next" and cmd.unknown is None:
                variables.advance(list(cmd.args))
            continue                                          # the trace already holds what they did
        out.append(cmd)
        if cmd.name == "quit":
            return out, None                                  # LAMMPS ends here
        if cmd.name in _RUN_COMMANDS and cmd.unknown is None:
            in_output = True
            if cmd.name == "run":
                got = _every_commands(cmd.args)
                if got is not None and got[0] > 0 and got[1]:
                    every = [got[0], len(got[1])]
    return out, None


def _execute(path: str, lines: list, variables: Variables, state: dict):
    """The commands of an input script as LAMMPS runs them: ``label``/``jump``/``next`` loops, ``include`` files and
    ``if`` branches followed. Returns (commands, the problem that stopped the reading or None)."""
    return _Executor(path, lines, variables, state).run()


class _Executor:
    """An input script run as LAMMPS runs it (:func:`_execute`): the files read, where the reading is, and what its
    loops have seen."""

    def __init__(self, path: str, lines: list, variables: Variables, state: dict):
        self.path, self.variables, self.state = path, variables, state
        self.out: list = []
        self.files = {path: join_lines(lines)}
        self.stack = [(path, 0)]                # (file, index of the next logical line)
        self.jump_skip = False
        self.seen: dict = {}                    # the state at each jump taken -> where (an endless loop comes back)
        self.unknown_if: list = []              # where an if's condition was not known (a loop's way out, perhaps)

    def run(self):
        """Execute the script from its first line: (commands, problem or None)."""
        executed = 0
        stack = self.stack
        while stack:
            name, k = stack[-1]
            rows = self.files[name]
            if k >= len(rows):
                stack.pop()
                continue
            stack[-1] = (name, k + 1)
            line, text = rows[k]
            cmd = _make(name, line, text, self.variables, self.state)
            if cmd is None:
                continue
            executed += 1
            if executed > MAX_EXECUTED:
                return self.out, f"its loops run more than {MAX_EXECUTED} commands (stopped at {cmd.where()})"
            problem = self.run_one(cmd)
            if problem:
                return self.out, problem
        return self.out, None

    def load(self, name: str) -> str | None:
        """The path of the file ``name`` (relative to the script's folder), read into :attr:`files`; None where it
        cannot be read."""
        p = name if os.path.isabs(name) else os.path.join(os.path.dirname(os.path.abspath(self.path)), name)
        if p not in self.files:
            raw = read_text(p, LAMMPS_INPUT_BYTES)
            if raw is None:
                return None
            self.files[p] = join_lines(_lines(raw))
        return p

    def run_one(self, cmd: Command) -> str | None:
        """Follows a control command, keeps any other; returns a problem, or None."""
        error = self.state.pop("error", None)
        if error:
            self.out.append(cmd)                              # LAMMPS echoed it, then stopped
            return error
        if cmd.unknown is not None:
            if cmd.name in ("jump", "include", "next", "if"):
                return f"{cmd.name} at {cmd.where()} depends on {cmd.unknown}"
            self.out.append(cmd)
            return None
        if cmd.name == "label":
            return None
        if cmd.name == "next":
            return self._next(cmd)
        if cmd.name == "jump" and cmd.args:
            return self._jump(cmd)
        if cmd.name == "include" and cmd.args:
            target = self.load(cmd.args[0])
            if target is None:
                return f"the file {cmd.args[0]} of include at {cmd.where()} is not there"
            self.stack.append((target, 0))
            return None
        if cmd.name == "if":
            return self._run_if(cmd)
        if cmd.name == "quit":
            self.out.append(cmd)
            self.stack.clear()
            return None
        self.out.append(cmd)
        every = _every_commands(cmd.args) if cmd.name == "run" else None
        if every is not None:
            # run N every M "c1" "c2": LAMMPS runs M steps, then executes the commands, N/M times
            for _ in range(every[0]):
                for text in every[1]:
                    c = _make(cmd.path, cmd.line, text, self.variables, self.state)
                    if c is not None:
                        problem = self.run_one(replace(c, in_run=True))
                        if problem:
                            return problem
        return None

    def _next(self, cmd: Command) -> str | None:
        """``next``: the variables advanced; the next ``jump`` skipped where one of them is exhausted."""
        variables = self.variables
        styles = {variables.vars[v].style for v in cmd.args if v in variables.vars}
        if len(styles) > 1:
            return (f"LAMMPS stops at {cmd.where()}: ERROR: All variables in next command must have same style "
                    f"({', '.join(sorted(styles))})")
        if variables.advance(list(cmd.args)):
            self.jump_skip = True
        return None

    def _jump(self, cmd: Command) -> str | None:
        """``jump``: the reading goes on at the file's start or after its label; a jump that comes back to where it
        was with every variable as it was is an endless loop."""
        if self.jump_skip:
            self.jump_skip = False
            return None
        stack, files = self.stack, self.files
        target = stack[-1][0] if cmd.args[0] == "SELF" else self.load(cmd.args[0])
        if target is None:
            return f"the file {cmd.args[0]} of jump at {cmd.where()} is not there"
        start = 0
        if len(cmd.args) > 1:
            found = [k for k, (_, t) in enumerate(files[target]) if split_words(strip_comment(t))[:2] ==
                     ["label", cmd.args[1]]]
            if not found:
                return f"the label {cmd.args[1]} of jump at {cmd.where()} is not in {os.path.basename(target)}"
            start = found[0] + 1
        state_now = (target, start, tuple(stack), self.state.get("timestep"),
                     tuple(sorted((k, v.style, tuple(v.values), v.at, v.pad) for k, v in self.variables.vars.items())))
        if state_now in self.seen:
            why = (f"an endless loop: jump at {cmd.where()} comes back to where it was with every variable as it "
                   f"was (at {self.seen[state_now]})")
            if self.unknown_if:
                why += (f"; its way out may be the if at {self.unknown_if[-1]}, whose condition is known only while "
                        "LAMMPS runs, so what ran after it is not known")
            return why
        self.seen[state_now] = cmd.where()
        stack[-1] = (target, start)
        return None

    def _run_if(self, cmd: Command) -> str | None:
        """``if``: the branch whose condition holds is run; from a condition that is not known on, every command of
        every branch is kept as unknown."""
        branches = _if_branches(list(cmd.args))
        for at, (cond, body) in enumerate(branches):
            if cond is not None:
                try:
                    taken = _boolean(self.variables.substitute(cond), self.variables)
                except UnknownValue as exc:
                    self.unknown_if.append(cmd.where())
                    self._unknown_branches(cmd, branches[at:], f"inside an if whose condition {cond!r} is unknown "
                                                               f"({exc})")
                    return None
                if not taken:
                    continue
            for text in body:
                c = _make(cmd.path, cmd.line, text, self.variables, self.state)
                if c is not None:
                    problem = self.run_one(replace(c, in_run=cmd.in_run))
                    if problem:
                        return problem
            return None
        return None

    def _unknown_branches(self, cmd: Command, branches: list, why: str) -> None:
        """Any of ``branches`` (an unknown condition's and the ones after it: elif, else) may have run: each command is
        kept unknown, with ``why``, and so are the variables and the time step they set."""
        variables = self.variables
        for _, rest in branches:
            for text in rest:
                c = _make(cmd.path, cmd.line, text, variables, self.state, track=False)
                if c is None:
                    continue
                self.out.append(Command(c.name, c.args, c.path, c.line, why, in_run=cmd.in_run))
                if c.name == "variable" and len(c.args) >= 2 and c.args[1] != "delete" and not (
                        c.args[1] in KEEP_FIRST and c.args[0] in variables.vars):
                    variables.vars[c.args[0]] = Variable("unknown", [f"set {why}"], c.where())
                elif c.name in ("timestep", "units"):
                    self.state["timestep"] = None


def _if_branches(args: list) -> list:
    """(condition, commands) of each branch of ``if cond then c1 c2 elif cond2 c3 else c4``; the else's condition is
    None."""
    branches, k = [], 0
    cond = args[0] if args else ""
    k = 1
    if k < len(args) and args[k] == "then":
        k += 1
    body = []
    while k < len(args) and args[k] not in ("elif", "else"):
        body.append(args[k])
        k += 1
    branches.append((cond, body))
    while k < len(args):
        if args[k] == "elif" and k + 1 < len(args):
            cond, k, body = args[k + 1], k + 2, []
            while k < len(args) and args[k] not in ("elif", "else"):
                body.append(args[k])
                k += 1
            branches.append((cond, body))
        elif args[k] == "else":
            branches.append((None, args[k + 1:]))
            break
        else:
            k += 1
    return branches


def _boolean(text: str, variables: Variables) -> bool:
    """An ``if`` condition: a formula, or a comparison of two words as strings (LAMMPS compares strings with == and
    !=)."""
    m = re.fullmatch(r"\s*(\S+)\s*(==|!=)\s*(\S+)\s*", text)
    if m:
        a, op, b = m.groups()
        try:
            float(a), float(b)
        except ValueError:
            return (a == b) == (op == "==")
    return evaluate_formula(text, variables.lookup) != 0


# ----------------------------------------------------------------------------- found beside a dump
def lammps_settings_beside(dump_path: str) -> LammpsSettings | None:
    """What the LAMMPS input or log in the dump's folder that writes it says (:meth:`LammpsInput.settings`).

    Looks at the files named by :data:`LAMMPS_INPUT_PATTERNS`, logs first (text files only), for a ``dump`` command
    writing a file of this name (LAMMPS' ``*`` and ``%`` wildcards allowed, ``.gz`` ignored on either side). None when
    none does. Where a log and an input both name the dump, the log wins: it is what LAMMPS ran, with the values given
    on its command line (``-var``) that the input alone cannot know; where the log cannot say (a stretch it did not
    echo), its settings say so rather than taking the input's. A file that another input beside it includes (or
    jumps to) is a part of that input, not a run's input: it is read as part of the one that includes it."""
    folder = os.path.dirname(os.path.abspath(dump_path))
    base = os.path.basename(dump_path)
    try:
        entries = sorted(os.listdir(folder))
    except OSError:
        return None
    seen, order = set(), []
    for pattern in LAMMPS_INPUT_PATTERNS:
        for e in entries:
            p = os.path.join(folder, e)
            if e in seen or e == base or not fnmatch.fnmatch(e, pattern) or not os.path.isfile(p):
                continue
            seen.add(e)
            order.append(p)
    for p in order:
        found = lammps_settings_in(p, dump_path)
        if found is not None and not (not _is_log_path(p) and _included_by(p, order)):
            return found
    return None


def _is_log_path(path: str) -> bool:
    text = read_text(path, 1 << 16)
    return text is not None and looks_like_log(os.path.basename(path), text)


def _included_by(path: str, candidates: list) -> str | None:
    """Another of ``candidates`` (an input script, not a log) that includes ``path`` or jumps to it, or None."""
    name = re.escape(os.path.basename(path))
    pattern = re.compile(rf"^[ \t]*(?:include|jump)[ \t]+[\"']?(?:\S*/)?{name}[\"']?(?:[ \t#]|$)", re.M)
    for q in candidates:
        if q == path or _is_log_path(q):
            continue
        text = read_text(q, LAMMPS_INPUT_BYTES)
        if text is not None and pattern.search(text):
            return q
    return None


def lammps_settings_in(path: str, dump_path: str) -> LammpsSettings | None:
    """What the LAMMPS input or log ``path`` says about the dump ``dump_path`` (:meth:`LammpsInput.settings`), or
    None when it has no ``dump`` command writing a file of that name."""
    base = os.path.basename(dump_path)
    stem = base[:-3] if base.endswith(".gz") else base
    raw = read_text(path, 1 << 16)
    if raw is None or not re.search(r"dump|include|jump", raw) and os.path.getsize(path) <= 1 << 16:
        return None                                           # no dump command here nor in a file it reads
    model = LammpsInput.read(path)
    return None if model is None else model.settings(stem)
