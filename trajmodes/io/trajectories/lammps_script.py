"""The LAMMPS input language, as LAMMPS reads it: a command's words, its comments and quotes, ``&`` continuations,
equal-style formulas, and variables with their substitution (``$x``, ``${name}``, ``$(formula)``).

A ``#`` outside quotes starts a comment, a line ending in ``&`` goes on in the next, quotes (``"``, ``'``,
``\"\"\"``) make one word, and every ``$name``, ``${name}`` and ``$(formula)`` outside quotes is replaced by the
variable's value before the command runs. Variables are defined by the ``variable`` command (``index``, ``loop``,
``string``, ``equal``, ``world``, ``uloop``, ``format``, ``internal``, ...) or on LAMMPS' command line (``-var dt
0.0005``); ``index``-like variables defined again are ignored, so that ``-var`` wins over the input's default. A value
that depends on what only a running LAMMPS knows (a thermo keyword, a compute, a random number, ``getenv``) is
:class:`UnknownValue`, with the reason.

:class:`Command` is one command as LAMMPS ran it; the model of a whole input or log is
:class:`~trajmodes.io.trajectories.lammps_input.LammpsInput`.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

__all__ = ["Command", "UnknownValue", "Variable", "Variables", "evaluate_formula", "strip_comment", "split_words",
           "closing_paren",
           "has_substitution", "join_lines", "DEFAULT_TIMESTEP", "KEEP_FIRST"]

#: the time step each unit style starts with (LAMMPS' ``units`` command sets it), in the style's time unit
DEFAULT_TIMESTEP = {"lj": 0.005, "real": 1.0, "metal": 0.001, "si": 1e-8, "cgs": 1e-8, "electron": 0.001,
                    "micro": 2.0, "nano": 0.00045}
#: variable styles that a second definition leaves as they are (so ``-var`` on the command line wins)
KEEP_FIRST = {"index", "loop", "world", "universe", "uloop"}
#: thermo keywords, group functions, computes, fixes and random numbers: known only while LAMMPS runs
_RUNTIME = {"random", "normal", "ramp", "stagger", "logfreq", "logfreq2", "logfreq3", "stride", "stride2", "vdisplace",
            "swiggle", "cwiggle", "count", "mass", "charge", "xcm", "vcm", "fcm", "bound", "gyration", "ke", "angmom",
            "torque", "inertia", "omega", "sum", "min", "max", "ave", "trap", "slope", "gmask", "rmask", "grmask",
            "next", "is_active", "is_defined", "is_available", "is_file", "is_os", "extract_setting", "label2type",
            "is_typelabel", "is_timeout", "time", "elapsed", "elaplong", "step", "atoms", "temp", "press", "pe", "ke",
            "etotal", "enthalpy", "evdwl", "ecoul", "epair", "ebond", "eangle", "edihed", "eimp", "emol", "elong",
            "etail", "vol", "density", "lx", "ly", "lz", "xlo", "xhi", "ylo", "yhi", "zlo", "zhi", "xy", "xz", "yz",
            "cella", "cellb", "cellc", "cellalpha", "cellbeta", "cellgamma", "pxx", "pyy", "pzz", "pxy", "pxz", "pyz",
            "fmax", "fnorm", "nbuild", "ndanger", "cpu", "tpcpu", "spcpu", "cpuremain", "part", "timeremain"}


class UnknownValue(Exception):
    """A value that cannot be known from the file: ``str(exc)`` says why."""


@dataclass(frozen=True)
class Command:
    """One command as LAMMPS ran it.

    Attributes
    ----------
    name : str
        The command (``timestep``).
    args : tuple of str
        Its arguments after variable substitution, quotes removed (as written where :attr:`unknown`).
    path : str
        The file it was read from.
    line : int
        1-based line of that file (of the echo LAMMPS wrote, in a log).
    unknown : str or None
        Why its variables could not be substituted (an undefined variable, one set by LAMMPS at run time ...); None
        where the command is known.
    written : tuple of str
        Its arguments as written, before substitution (a per-partition file name ``dump.${ibead}``); empty where
        nothing was substituted.
    overridable : tuple of str
        The ``index``-style variables of an input script its values came from (a ``-var`` replaces them).
    in_run : bool
        Whether LAMMPS ran it during a run: one of the commands of ``run N every M "command" ...``, executed after each
        M steps.
    """

    name: str
    args: tuple
    path: str
    line: int
    unknown: str | None = None
    written: tuple = ()
    overridable: tuple = ()
    in_run: bool = False


    def note(self) -> str:
        """Where a value of the command came from an ``index``-style variable of an input script: a ``-var`` on
        LAMMPS' command line would have replaced it (its log says which), in words; '' otherwise."""
        if not self.overridable:
            return ""
        return ("; from " + ", ".join(self.overridable) + ", which a -var on LAMMPS' command line replaces (the run's "
                "log beside the dump would say)")

    def where(self) -> str:
        """``in.quartz, line 12``."""
        return f"{os.path.basename(self.path)}, line {self.line}"

    def text(self) -> str:
        return " ".join((self.name,) + tuple(self.args))


# ----------------------------------------------------------------------------- words, quotes and comments
def _outside_quotes(text: str):
    """(index, character) of every character of ``text`` outside quotes (``"``, ``'``, ``\"\"\"``)."""
    quote, i = None, 0
    while i < len(text):
        if quote is None:
            if text.startswith('"""', i):
                quote, i = '"""', i + 3
                continue
            if text[i] in "\"'":
                quote = text[i]
            else:
                yield i, text[i]
        elif text.startswith(quote, i):
            i += len(quote)
            quote = None
            continue
        i += 1


def closing_paren(text: str, start: int) -> int:
    """The index of the ``)`` that closes the ``(`` at ``start``; ``len(text)`` where none does."""
    depth = 0
    for k in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[k], 0)
        if depth == 0:
            return k
    return len(text)


def strip_comment(text: str) -> str:
    """``text`` up to a ``#`` outside quotes."""
    return next((text[:i] for i, c in _outside_quotes(text) if c == "#"), text)


def split_words(text: str) -> list:
    """The words of a command: whitespace-separated, a quoted string one word without its quotes."""
    out, i, n = [], 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        for q in ('"""', '"', "'"):
            if text.startswith(q, i):
                end = text.find(q, i + len(q))
                end = n if end < 0 else end
                out.append(text[i + len(q):end])
                i = end + len(q)
                break
        else:
            j = i
            while j < n and not text[j].isspace():
                j += 1
            out.append(text[i:j])
            i = j
    return out


def has_substitution(text: str) -> bool:
    """Whether ``text`` has a ``$`` outside quotes (a substitution LAMMPS makes before the command runs)."""
    return any(c == "$" for _, c in _outside_quotes(text))


def join_lines(raw: list) -> list:
    """(1-based line, command text) of a file's lines: ``&`` continuations and triple-quoted strings joined, as LAMMPS
    reads them."""
    out, i = [], 0
    while i < len(raw):
        start, text = i + 1, raw[i]
        i += 1
        while True:
            body = text.rstrip()
            if body.endswith("&") and i < len(raw):
                text = body[:-1] + " " + raw[i]
                i += 1
            elif strip_comment(text).count('"""') % 2 == 1 and i < len(raw):
                text = text + "\n" + raw[i]
                i += 1
            else:
                break
        out.append((start, text))
    return out


# ----------------------------------------------------------------------------- equal-style formulas
_TOKEN = re.compile(r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|(?P<name>[A-Za-z_][\w\[\]]*)"
                    r"|(?P<op>\|\^|&&|\|\||<=|>=|==|!=|[-+*/%^()<>!,]))")
_FUNCTIONS = {"sqrt": math.sqrt, "exp": math.exp, "ln": math.log, "log": math.log10, "abs": abs, "sin": math.sin,
              "cos": math.cos, "tan": math.tan, "asin": math.asin, "acos": math.acos, "atan": math.atan,
              "atan2": math.atan2, "ceil": math.ceil, "floor": math.floor,
              "round": lambda x: float(math.floor(x + 0.5)),       # LAMMPS' round: 2.5 -> 3, -2.5 -> -2
              "ternary": lambda c, a, b: a if c != 0 else b}
_CONSTANTS = {"PI": math.pi, "version": None, "on": 1.0, "off": 0.0, "true": 1.0, "false": 0.0, "yes": 1.0,
              "no": 0.0}


def evaluate_formula(formula: str, lookup) -> float:
    """The value of a LAMMPS equal-style formula (``100*3``, ``v_T/2``, ``sqrt(2)*${a}`` already substituted).

    Parameters
    ----------
    formula : str
    lookup : callable
        ``lookup(name)`` -> float for a ``v_name`` reference or a thermo keyword (``dt``); raises
        :class:`UnknownValue` where it is not known.

    Raises
    ------
    UnknownValue
        Where the formula refers to what only a running LAMMPS knows, or cannot be read.
    """
    tokens, pos = [], 0
    formula = formula.strip()
    while pos < len(formula):
        m = _TOKEN.match(formula, pos)
        if m is None or m.end() == pos:
            if formula[pos:].strip() == "":
                break
            raise UnknownValue(f"the formula {formula!r} could not be read at {formula[pos:]!r}")
        pos = m.end()
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
    at = [0]

    def peek():
        return tokens[at[0]] if at[0] < len(tokens) else (None, None)

    def take(value=None):
        tok = peek()
        if tok[0] is None or value is not None and tok[1] != value:
            raise UnknownValue(f"the formula {formula!r} could not be read")
        at[0] += 1
        return tok

    binary = [("|^",), ("||",), ("&&",), ("==", "!="), ("<", "<=", ">", ">="), ("+", "-"), ("*", "/", "%")]

    def level(k):
        if k == len(binary):
            return power()
        left = level(k + 1)
        while peek()[0] == "op" and peek()[1] in binary[k]:
            op = take()[1]
            right = level(k + 1)
            left = _apply(op, left, right)
        return left

    def power():
        value = unary()
        while peek() == ("op", "^"):                         # left to right, as LAMMPS: 2^3^2 is 64
            take()
            value = value ** unary()
        return value

    def unary():
        tok = peek()
        if tok == ("op", "-"):
            take()
            return -unary()
        if tok == ("op", "!"):
            take()
            return float(unary() == 0)
        if tok == ("op", "+"):
            take()
            return unary()
        return atom()

    def atom():
        kind, value = take()
        if kind == "num":
            return float(value)
        if kind == "op" and value == "(":
            v = level(0)
            take(")")
            return v
        if kind == "name":
            if peek() == ("op", "("):
                take()
                args = [] if peek() == ("op", ")") else [level(0)]
                while peek() == ("op", ","):
                    take()
                    args.append(level(0))
                take(")")
                if value in _FUNCTIONS:
                    try:
                        return float(_FUNCTIONS[value](*args))
                    except (TypeError, ValueError, OverflowError) as exc:
                        raise UnknownValue(f"{value}() in {formula!r}: {exc}") from None
                raise UnknownValue(f"{value}() in {formula!r} is known only while LAMMPS runs")
            if value in _CONSTANTS and _CONSTANTS[value] is not None:
                return _CONSTANTS[value]
            if value.startswith(("c_", "f_", "C_", "F_")):
                raise UnknownValue(f"{value} in {formula!r} is a compute's or fix's value, known only while LAMMPS runs")
            return float(lookup(value))
        raise UnknownValue(f"the formula {formula!r} could not be read")

    if not tokens:
        raise UnknownValue("an empty formula")
    value = level(0)
    if at[0] != len(tokens):
        raise UnknownValue(f"the formula {formula!r} could not be read")
    return value


def _apply(op, a, b):
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        if b == 0:
            raise UnknownValue("a division by zero")
        return a / b
    if op == "%":
        if b == 0:
            raise UnknownValue("a modulo by zero")
        return math.fmod(a, b)
    return float({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b,
                  "&&": a != 0 and b != 0, "||": a != 0 or b != 0, "|^": (a != 0) != (b != 0)}[op])


def _format_g(value: float, digits: int) -> str:
    return f"{value:.{digits}g}"


# ----------------------------------------------------------------------------- variables
@dataclass
class Variable:
    style: str
    values: list            # index, loop, world, ...: the values; string, internal: one; equal: the formula
    line: str               # where it was defined ("in.x, line 3")
    at: int = 0             # the current value's index
    pad: int = 0            # loop ... pad: digits
    kind: str = ""          # the style as defined (vector, getenv, ...); "" where not known


class Variables:
    """The variables defined so far, and their substitution into a command's text (LAMMPS' ``Input::substitute``)."""

    def __init__(self, state):
        self.vars: dict = {}
        self.state = state            # for the thermo keyword dt
        self.used_index: list = []    # the index-style variables the last substitution used

    def define(self, args: list, where: str) -> str | None:
        """The ``variable`` command ``args``; returns LAMMPS' error where it stops there (a variable defined again
        with another style), else None."""
        if len(args) < 2:
            return None
        name, style, rest = args[0], args[1], list(args[2:])
        if style == "delete":
            self.vars.pop(name, None)
            return None
        old = self.vars.get(name)
        if old is not None and old.kind and old.kind != style:
            return (f"LAMMPS stops at {where}: the variable {name} is defined again with another style ({style}; it "
                    f"is {old.kind}, {old.line}): ERROR: Cannot redefine variable {name} with a different style")
        self._define(name, style, rest, where)
        if name in self.vars:
            self.vars[name].kind = style
        return None

    def _define(self, name: str, style: str, rest: list, where: str) -> None:
        if style in KEEP_FIRST and name in self.vars:
            return                                           # a second definition is ignored (-var wins)
        if style == "loop":
            pad = 0
            if rest and rest[-1] == "pad":
                rest = rest[:-1]
                pad = len(rest[-1]) if rest else 0
            try:
                lo, hi = (1, int(rest[0])) if len(rest) == 1 else (int(rest[0]), int(rest[1]))
            except (ValueError, IndexError):
                self.vars[name] = Variable("unknown", [f"its loop bounds {' '.join(rest)} are not numbers"], where)
                return
            self.vars[name] = Variable("loop", [str(k) for k in range(lo, hi + 1)], where, 0, pad)
        elif style in ("index", "world", "universe", "uloop"):
            values = rest if style != "uloop" else [str(k) for k in range(1, int(rest[0]) + 1)] \
                if rest and rest[0].isdigit() else rest
            self.vars[name] = Variable(style, values, where)
        elif style in ("string", "internal"):
            self.vars[name] = Variable(style, [rest[0] if rest else ""], where)
        elif style in ("equal", "vector"):
            self.vars[name] = Variable("equal", [" ".join(rest)], where)
        elif style == "format" and len(rest) >= 2:
            self.vars[name] = Variable("format", rest[:2], where)
        else:                                                # getenv, file, atomfile, python, timer, atom ...
            self.vars[name] = Variable("unknown", [f"a {style}-style variable, whose value is known only while "
                                                    "LAMMPS runs"], where)

    def advance(self, names: list) -> bool:
        """``next``: each variable to its next value; True when one ran out (they are then deleted, and the next
        ``jump`` is skipped)."""
        done = False
        for name in names:
            var = self.vars.get(name)
            if var is None:
                continue
            var.at += 1
            if var.at >= len(var.values) or var.style not in ("index", "loop", "universe", "uloop"):
                done = True
        if done:
            for name in names:
                self.vars.pop(name, None)
        return done

    def world_values(self) -> dict:
        """name -> values of the ``world`` and ``uloop`` variables (one per partition)."""
        return {k: (v.style, list(v.values)) for k, v in self.vars.items() if v.style in ("world", "uloop", "universe")}

    def value(self, name: str) -> str:
        var = self.vars.get(name)
        if var is None:
            raise UnknownValue(f"the variable {name} is not defined in the file (given with -var on LAMMPS' command "
                               "line?)")
        if var.style == "unknown":
            raise UnknownValue(f"{name} is {var.values[0]} ({var.line})")
        if var.style == "equal":
            return _format_g(self.number(name), 15)
        if var.style == "format":
            inner, fmt = var.values
            try:
                return fmt % self.number(inner[2:] if inner.startswith("v_") else inner)
            except (TypeError, ValueError):
                raise UnknownValue(f"the format {fmt!r} of {name}") from None
        if var.at >= len(var.values):
            raise UnknownValue(f"the variable {name} has run out of values ({var.line})")
        if var.style == "index" and len(var.values) == 1 and not var.line.startswith("LAMMPS' command line"):
            self.used_index.append(f"the index variable {name} ({var.line})")
        v = var.values[var.at]
        return v.zfill(var.pad) if var.pad else v

    def number(self, name: str) -> float:
        var = self.vars.get(name)
        if var is not None and var.style == "equal":
            return evaluate_formula(self.substitute(var.values[0]), self.lookup)
        text = self.value(name)
        try:
            return float(text)
        except ValueError:
            raise UnknownValue(f"the variable {name} is {text!r}, not a number") from None

    def lookup(self, name: str) -> float:
        if name.startswith("v_"):
            var = self.vars.get(name[2:])
            if var is not None and var.style == "equal":
                # LAMMPS reads an equal-style variable in a formula as its text, "%.15g" (Variable::retrieve)
                return float(_format_g(self.number(name[2:]), 15))
            return self.number(name[2:])
        if name == "dt":
            dt = self.state.get("timestep")
            if dt is not None and dt[0] is not None:
                return dt[0]
        raise UnknownValue(f"{name} is known only while LAMMPS runs")

    def substitute(self, text: str) -> str:
        """``text`` with every ``$x``, ``${name}`` and ``$(formula)`` outside quotes replaced by its value."""
        out, quote, i, n = [], None, 0, len(text)
        while i < n:
            if quote is None and text.startswith('"""', i):
                quote = '"""'
                out.append(quote)
                i += 3
                continue
            c = text[i]
            if quote is not None:
                if text.startswith(quote, i):
                    out.append(quote)
                    i += len(quote)
                    quote = None
                    continue
                out.append(c)
                i += 1
                continue
            if c in "\"'":
                quote = c
                out.append(c)
                i += 1
                continue
            if c != "$" or i + 1 >= n:
                out.append(c)
                i += 1
                continue
            nxt = text[i + 1]
            if nxt == "{":
                end = text.find("}", i + 2)
                if end < 0:
                    raise UnknownValue(f"an unclosed ${{ in {text.strip()!r}")
                out.append(self.value(text[i + 2:end]))
                i = end + 1
            elif nxt == "(":
                j = closing_paren(text, i + 1)
                if j >= n:
                    raise UnknownValue(f"an unclosed $( in {text.strip()!r}")
                inner = text[i + 2:j]
                fmt = None
                m = re.search(r":(%[-+ #0-9.]*[efgEG])$", inner)
                if m:
                    inner, fmt = inner[:m.start()], m.group(1)
                value = evaluate_formula(self.substitute(inner), self.lookup)
                out.append(fmt % value if fmt else _format_g(value, 20))
                i = j + 1
            else:
                out.append(self.value(nxt))
                i += 2
        return "".join(out)
