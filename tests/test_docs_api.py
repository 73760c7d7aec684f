"""Every parameter of the API reference is described, and its units are typeset.

The API page (docs/api.md) documents objects with autodoc directives; napoleon turns each numpy docstring into the
fields the site shows. This test walks the same objects autodoc does (a function; a class and its public documented
members, or the ``:members:`` listed; a module's ``__all__`` or the names it lists, less ``:exclude-members:``) and
reads each docstring through napoleon, as the site does, then checks that

- every public parameter of the signature (``self``, ``cls`` and names starting with ``_`` aside) has a field with
  a description (a class's parameters in its own docstring, under "Parameters" or, for a record such as a
  dataclass, "Attributes": autodoc shows the class docstring, not ``__init__``'s);
- a parameter whose name says its quantity (a cutoff, a temperature, a time step, a frequency, a volume, a mass:
  :data:`QUANTITIES`) names its unit;
- no docstring writes Angstrom as an ASCII "A" in a unit ("eV/A^2", "1/A", "(A)", "A^3", "in A"), or a unit's power
  with a caret ("Angstrom^2", "mm^2/s"): the pages write Å, Å², Å³, Å⁻¹, eV/Å², mm²/s (plain text, so that
  ``help()`` shows the same as the site). Literals (``...``, quoted words) are what a user types and stay.

No Sphinx build: the docstrings are read in a few seconds.
"""
from __future__ import annotations

import importlib
import inspect
import re

from tests.support.paths import ROOT

API = ROOT / "docs" / "api.md"
_DIRECTIVE = re.compile(r"^\.\. (autofunction|autoclass|autoexception|automodule):: (\S+)[ \t]*\n"
                        r"((?:   :[\w-]+:.*\n(?:[ \t]{5,}\S.*\n)*)*)", re.M)
_OPTION = re.compile(r"^   :([\w-]+):(.*(?:\n[ \t]{5,}\S.*)*)", re.M)

#: an ASCII "A" used as the unit Angstrom: after a slash or "1/", before "^" or a superscript, alone in brackets,
#: or after a unit word ("in A", "eV/A"); never an article, an initial or a matrix or species name ("A x = b", "A'A",
#: "A. Weisse", "(A, B)"). Literals (``...``, "...") are left out: they are what a user types.
ASCII_ANGSTROM = re.compile(r"(?<![\w'])(?:"
                            r"(?<=/)A(?![\w'(])"                      # eV/A, 1/A, eV/A^2
                            r"|A\^-?\d"                               # A^3, A^-1
                            r"|(?<=[(\[])A(?=[)\]]|, (?![A-Z]|rho\b))"  # (A), [A], (A, rows ...), not (A, B)
                            r"|(?<=\bin )A(?=[\s.,;:)]|$)(?!\.\s?[A-Z])"  # in A
                            r"|(?<=, )A(?=[.;)]|$)(?!\.\s?[A-Z])"     # "Rows are the lattice vectors, A."
                            r"|A(?=/(?:ps|fs|THz|eV)\b)"              # A/ps
                            r"|(?<=\bamu )A(?=\^)"                    # amu A^2
                            r"|(?<=, )A(?= \((?![a-z] ))"             # "Pair cutoff, A (None: ...)", not "A (g nu)^2"
                            r"|^\s*A(?=;(?:\s|$)|\.$)"                 # a description "A; default ..." or "A."
                            r")")
#: a unit written with a caret or spelled out in a compound: "Angstrom^2", "eV/Angstrom", "Å^3", "mm^2/s", "eV^2"
#: (a fractional power, "amu^1/2", has no typeset form in plain text and stays)
ASCII_POWER = re.compile(r"Angstrom(?=\^|/)|/Angstrom|(?<![\w^])(?:Å|mm|cm|eV|THz|ps|fs|amu|rad)\^-?\d(?!/\d)")
_LITERAL = re.compile(r"``.*?``|\"[^\"\s]*\"|:math:`[^`]*`")


def ascii_angstrom(line: str) -> bool:
    """Whether ``line`` (outside its literals) writes Angstrom as an ASCII 'A'."""
    return bool(ASCII_ANGSTROM.search(_LITERAL.sub(" ", line)))


def ascii_unit(line: str) -> bool:
    """Whether ``line`` (outside its literals) writes a unit in ASCII: Angstrom as 'A', or a power with a caret."""
    text = _LITERAL.sub(" ", line)
    return bool(ASCII_ANGSTROM.search(text) or ASCII_POWER.search(text))


def _import(dotted: str):
    """The object a directive names: the longest importable module prefix, then attributes."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for part in parts[i:]:
            obj = getattr(obj, part)
        return obj
    raise ImportError(dotted)


def directives(text: str) -> list[tuple[str, str, dict[str, str]]]:
    """(kind, dotted name, options) of every autodoc directive of the API page ``text``."""
    out = []
    for kind, name, block in _DIRECTIVE.findall(text):
        options = {key: " ".join(value.split()) for key, value in _OPTION.findall(block)}
        out.append((kind, name, options))
    return out


def _names(option: str) -> list[str]:
    return [n.strip() for n in option.split(",") if n.strip()]


def _class_members(cls, listed: list[str] | None, inherited: bool) -> list[tuple[str, object, object]]:
    """(name, attribute as the class gives it, raw attribute from the class dict) of the public members autodoc
    documents: those ``listed``, else every public one with a docstring (the class's own, or its bases' but
    ``object``'s with ``inherited``)."""
    out = []
    owners = [c for c in cls.__mro__ if c is not object] if inherited else [cls]
    seen = set()
    for owner in owners:
        for name, raw in vars(owner).items():
            if name in seen or name.startswith("_") or (listed is not None and name not in listed):
                continue
            seen.add(name)
            value = getattr(cls, name, raw)
            if listed is None and not inspect.getdoc(value):
                continue
            out.append((name, value, raw))
    return out


def documented_callables(text: str) -> list[tuple[str, object, bool, bool]]:
    """(dotted name, object, drop the first parameter, is a class) of every function, method and class the API
    page ``text`` shows with a signature."""
    out: list[tuple[str, object, bool, bool]] = []
    seen: set[int] = set()

    def add_class(name, cls, listed=None, inherited=False):
        if id(cls) in seen:
            return
        seen.add(id(cls))
        out.append((name, cls, False, True))
        for member, value, raw in _class_members(cls, listed, inherited):
            where = f"{name}.{member}"
            if inspect.isclass(value):
                add_class(where, value)
            elif isinstance(raw, staticmethod):
                out.append((where, value, False, False))
            elif isinstance(raw, classmethod):
                out.append((where, value, False, False))
            elif inspect.isfunction(raw):
                out.append((where, raw, True, False))
            elif isinstance(raw, property):                 # no parameters; its docstring has units
                out.append((where, raw, False, False))

    def add(name, obj, listed=None, inherited=False):
        if inspect.isclass(obj):
            add_class(name, obj, listed, inherited)
        elif callable(obj) and id(obj) not in seen:
            seen.add(id(obj))
            out.append((name, obj, False, False))

    for kind, dotted, options in directives(text):
        obj = _import(dotted)
        listed = _names(options["members"]) if options.get("members") else None
        inherited = "inherited-members" in options
        if kind != "automodule":
            add(dotted, obj, listed, inherited)
            continue
        names = listed or getattr(obj, "__all__", None) or [
            n for n, v in vars(obj).items() if not n.startswith("_") and getattr(v, "__module__", None) == obj.__name__
            and inspect.getdoc(v)]
        for name in names:
            if name not in _names(options.get("exclude-members", "")):
                add(f"{dotted}.{name}", getattr(obj, name))
    return out


#: parameters whose name says what quantity they are, and the units their description must name (or say it is
#: another function's: "As :func:`...`", "Of ...", "Settings of ...")
QUANTITIES = {
    r"cutoff[234]?|symprec": r"Å|1/Å|rad/Å",
    r"temperatures?": r"\bK\b",
    r"md_timestep|frame_interval|dt|max_time": r"\b(?:ps|fs)\b",
    r"cutoff_frequency|smearing|resolution": r"THz|rad/ps|meV|cm⁻¹",
    r"volume": r"Å³|cm³",
    r"mass|masses": r"\bamu\b",
}
_DELEGATED = re.compile(r"^\s*(?:As|Of|Settings of|See|Passed to)\b")


def fields(doc: str) -> dict[str, tuple[str, str]]:
    """Name -> (description, type) of every parameter, keyword argument and attribute of the numpy docstring
    ``doc``, as napoleon renders them."""
    from sphinx.ext.napoleon import Config
    from sphinx.ext.napoleon.docstring import NumpyDocstring
    rst = str(NumpyDocstring(doc, Config(napoleon_use_param=True, napoleon_use_ivar=True,
                                         napoleon_use_keyword=True)))
    types = {m.group(1).strip(): m.group(2) for m in re.finditer(r"^:(?:type|vartype|kwtype) ([^:]+):(.*)$", rst, re.M)}
    return {m.group(1).strip().replace("\\", "").lstrip("*"): (m.group(2).strip(), types.get(m.group(1).strip(), ""))
            for m in re.finditer(r"^:(?:param|keyword|ivar) ([^:]+):(.*(?:\n[ \t]+\S.*)*)", rst, re.M)}


def missing_unit(name: str, text: str) -> bool:
    """Whether the description ``text`` of a parameter named ``name`` (a quantity of :data:`QUANTITIES`) names
    none of its units and does not hand the parameter on to another function."""
    for pattern, units in QUANTITIES.items():
        if re.fullmatch(pattern, name):
            return not re.search(units + r"|\bno unit\b|dimensionless", text) and not _DELEGATED.match(text)
    return False


def described(doc: str) -> set[str]:
    """The names the numpy docstring ``doc`` describes, as napoleon renders it (parameters, keyword arguments and
    attributes with a non-empty description)."""
    return {name for name, text in fields(doc).items() if text[0]}


def undescribed(name: str, obj, drop_first: bool, is_class: bool) -> list[str]:
    """The public parameters of ``obj`` that its docstring (a class's own) does not describe."""
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):                     # a builtin's: autodoc shows none either
        return []
    params = list(signature.parameters.values())[1 if drop_first else 0:]
    doc = (obj.__doc__ if is_class else inspect.getdoc(obj)) or ""
    names = described(inspect.cleandoc(doc))
    return [p.name for p in params if not p.name.startswith("_") and p.name not in ("self", "cls")
            and p.name not in names]


def test_the_parser_sees_what_napoleon_renders():
    """A parameter without text, one under a shared line and the ``**kwargs`` spelling are read as napoleon does."""
    doc = ("Sum.\n\nParameters\n----------\na : float\n    Length, Å.\nb\nc, d : int\n    Counts.\n"
           "**kwargs\n    Passed on.\n\nAttributes\n----------\ne : float\n    Energy, eV.\n")
    assert described(doc) == {"a", "c", "d", "kwargs", "e"}

    def f(a, b, *, c, _private=1, **kwargs):
        """Sum.

        Parameters
        ----------
        a : float
            Length, Å.
        b : int
        c : int
            Count.
        """
    assert undescribed("f", f, False, False) == ["b", "kwargs"]
    text = (".. autoclass:: trajmodes.quantum.BlockingAnalysis\n   :members: inflation, expected\n"
            ".. automodule:: trajmodes.disorder.kpm\n   :members: kpm_moments,\n             jackson_kernel\n")
    names = {n for n, *_ in documented_callables(text)}
    assert names == {"trajmodes.quantum.BlockingAnalysis", "trajmodes.quantum.BlockingAnalysis.inflation",
                     "trajmodes.quantum.BlockingAnalysis.expected", "trajmodes.disorder.kpm.kpm_moments",
                     "trajmodes.disorder.kpm.jackson_kernel"}


def test_every_parameter_of_the_api_page_is_described():
    """Each function, method and class the API page shows describes every public parameter it takes."""
    missing = []
    for name, obj, drop_first, is_class in documented_callables(API.read_text()):
        names = undescribed(name, obj, drop_first, is_class)
        if names:
            missing.append(f"{name}: {', '.join(names)}")
    assert not missing, ("parameters of the API page (docs/api.md) without a description: write each under the "
                         "docstring's 'Parameters' (a class's in the class docstring), with its unit where the "
                         f"quantity has one ({len(missing)} entries):\n" + "\n".join(missing))


def test_quantities_name_their_units():
    """A cutoff, a temperature, a time step, a frequency, a volume or a mass the API page takes says its unit."""
    assert missing_unit("cutoff2", "Pair cutoff; default the longest.")
    assert not missing_unit("cutoff2", "Pair cutoff, Å; default the longest.")
    assert not missing_unit("temperature", "As :func:`fit_series`.")
    assert not missing_unit("epsilon", "Dielectric tensor.")
    missing = []
    for name, obj, drop_first, is_class in documented_callables(API.read_text()):
        doc = (obj.__doc__ if is_class else inspect.getdoc(obj)) or ""
        missing += [f"{name}: {p}: {text[:80]}" for p, (text, kind) in fields(inspect.cleandoc(doc)).items()
                    if missing_unit(p, f"{text} {kind}")]
    assert not missing, ("parameters of the API page whose description names no unit (write it: Å, K, ps, THz, Å³, "
                         f"amu) ({len(missing)}):\n" + "\n".join(missing))


def test_the_unit_check_tells_a_unit_from_an_article():
    units = ["eV/A^2", "1/A", "in A.", "cell (A)", "A^3 per atom", "A^-1", "velocities, A/ps", "amu A^2",
             "lattice vectors, A.", "eV/A", "Pair cutoff, A (None: every pair)", "        A; the cutoff of every pair"]
    assert all(ascii_angstrom(u) for u in units), [u for u in units if not ascii_angstrom(u)]
    words = ["A trajectory", "the matrix A x = b", "A'A", "A^T A", "a 3 x 3 matrix A,", "Å³", "eV/Å²", "(A B)",
             "Appendix A of Born", "(L. Ercole, A. Marcolongo and S. Baroni", "the pair (A, B) of L1_2 A3B",
             "{(A, B, C): nu}", "(A, rho, C[, cutoff])", 'units "eV/A^2"', "``eV/A^2``",
             "a DHO fitted to the line, A (g nu)^2 / ((nu0^2 - nu^2)^2", "A. Weisse"]
    assert not any(ascii_angstrom(w) for w in words), [w for w in words if ascii_angstrom(w)]
    powers = ["eV/Angstrom^2", "rad/Angstrom", "Angstrom/ps", "Å^3", "mm^2/s", "(q, branch) eV^2"]
    assert all(ascii_unit(p) for p in powers), [p for p in powers if not ascii_unit(p)]
    plain = ["Å²", "eV/(Å² amu)", "(T^2)", "k_B T^2", "x^2", "``eV/Angstrom^2``", '"eV/Angstrom^2"',
             "Units: eV, Angstrom", "eV/Å^order", "amu^1/2 Å"]
    assert not any(ascii_unit(p) for p in plain), [p for p in plain if ascii_unit(p)]


def test_docstrings_of_the_api_page_typeset_their_units():
    """No docstring the API page shows writes Angstrom as an ASCII 'A' or a unit's power with a caret."""
    found = []
    for kind, dotted, options in directives(API.read_text()):
        if kind == "automodule":
            found += [f"{dotted} (module): {line.strip()}" for line in (_import(dotted).__doc__ or "").splitlines()
                      if ascii_unit(line)]
    for name, obj, _, _ in documented_callables(API.read_text()):
        for line in (obj.__doc__ or "").splitlines():
            if ascii_unit(line):
                found.append(f"{name}: {line.strip()}")
    assert not found, ("ASCII units in the API reference: write Å, Å², Å³, Å⁻¹, eV/Å², mm²/s "
                       f"({len(found)} lines):\n" + "\n".join(found))
