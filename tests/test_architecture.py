"""The rules of docs/architecture.md between layers, read from the source with ``ast``.

Every import of every module of ``trajmodes/`` (at module level, inside functions, under ``if TYPE_CHECKING:``,
and ``trajmodes.name`` attribute chains after ``import trajmodes``) is mapped to its package and checked against
:data:`LAYERS`, the one table of which package may import which. The table is exactly the import graph: an edge
the code no longer uses is an error as well, and the block "The rule between layers" of docs/architecture.md is
the table's rendering (:func:`render_layers`; ``python -m tests.test_architecture`` prints it). No module uses
another module's private (``_name``) objects: ``from x import _y``, ``x._y`` on an imported trajmodes module, and
``obj._y`` where ``_y`` is defined only in other modules of trajmodes. A name one package imports from another is
one of that package's public names (the ``__all__`` of its ``__init__``: :func:`public_names`), from the package or
from the module that defines it (:func:`not_public`; ``python -m tests.test_architecture names`` lists the names that
cross).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest

from tests.support.paths import ROOT

SOURCE = ROOT / "trajmodes"
DOC = ROOT / "docs" / "architecture.md"
HEADING = "## The rule between layers"

#: package -> {package it may import: why}, the top layer first; every edge points to a later (lower) package.
#: An empty reason: an edge of the layering as first drawn; otherwise the one line that says why it is legitimate.
LAYERS: dict[str, dict[str, str]] = {
    "cli": {
        "plots": "",
        "units": "the unit of a column a command prints (kB per cell)",
        "workflows": "the one way from the command line to the library: one module per command, each defining what "
                     "the command calls",
    },
    "workflows": {
        "disorder": "the mass-disordered run's lineshapes and the glass's modes and transport of `trajmodes lineshapes` "
                    "and `trajmodes glass`",
        "forceconstants": "",
        "io": "the provenance and staged outputs of every command (workflows.outputs), a trajectory file's format and "
              "a run's potential",
        "lattice": "", "modes": "", "phonons.anharmonic": "", "phonons.harmonic": "",
        "phonons.thermodynamics": "the quasiharmonic minimum of `trajmodes qha`",
        "plots": "a command's result draws its figures beside its files (RunSummary, FitOutputs and "
                 "ConductivityResult write them)",
        "potentials": "",
        "quantum": "the Kubo estimators beside the fit of a path-integral run's beads (workflows.quantum)",
        "resources": "the allocator settings of the program and its cluster's workers (workflows.session)",
        "series": "a run's frequency error bars from the error model of a series (series.errorbars), fit_series",
        "trajectory": "a run read (workflows.reading), its cache and summary (workflows.run, workflows.summary)",
        "transport": "the Green-Kubo conductivity of `trajmodes conductivity`",
    },
    "plots": {
        "io": "", "lattice": "", "modes": "",
        "series": "plots.series draws a Series",
        "transport": "kappa(omega) of each route in the same bins (transport.decomposition.frequency_spectrum)",
        "units": "",
    },
    "transport": {
        "modes": "the Green-Kubo modal analysis projects the velocities and heat fluxes on the modes (run_projector)",
        "resources": "whether the spectral decomposition may hold the run's velocities (may_hold)",
        "units": "k_B and the W/(m K) of the Green-Kubo integral",
    },
    "series": {
        "forceconstants": "the fit of every run and its block bootstrap",
        "io": "the dataset written atomically (io.filesystem)",
        "lattice": "the crystal of a run, the band path",
        "modes": "each run projected on its modes for its error model (modes.energies.frozen_energy_fraction)",
        "phonons.harmonic": "frequencies and harmonic thermodynamics of the fits",
        "phonons.thermodynamics": "free energies and frequency error bars of the fits",
        "resources": "whether the error model's frames may be held through the fit's pass (may_hold)",
    },
    "quantum": {
        "forceconstants": "the Kubo estimators' constants (ForceConstants, symmetrised with the sum rules)",
        "lattice": "the supercell's crystal and its symmetry",
        "phonons.harmonic": "the modes of the effective constants, the quantum occupations",
        "phonons.thermodynamics": "the supercell's modes (sampling) and the TDEP free energy in the quantum ensemble",
        "resources": "the memory of the centroid's covariance before it is summed",
        "trajectory": "the centroid's sums joined to one read of a path-integral run (an Accumulator)",
        "units": "k_B, h and the amu A^2/ps^2 of the quantum mean-square displacements",
    },
    "disorder": {
        "forceconstants": "the virtual crystal's constants (ForceConstants with the sites' mean masses)",
        "lattice": "the commensurate q of a sample's supercell, the virtual crystal's primitive cell; the minimum "
                   "image of the heat-flux operator's pair vectors (lattice.geometry)",
        "modes": "the window of a run's spectra, through which the exact lineshapes are drawn (modes.windows)",
        "phonons.harmonic": "the virtual crystal's modes (DynamicalMatrix); the heat capacity of each mode in the "
                            "Allen-Feldman conductivity (statistics)",
        "resources": "the memory of the dense modes and eigenvectors, the velocity-matrix blocks and the Chebyshev "
                     "sequences",
        "units": "THz, and the mm^2/s and W/(m K) of the diffusivities and conductivity",
    },
    "modes": {
        "errors": "", "lattice": "",
        "phonons.anharmonic": "the three- and four-phonon widths and shifts modes.comparison compares",
        "phonons.harmonic": "the modes are those of Phonons: degenerate branches, heat capacities",
        "resources": "the projection's memory estimate before the projector is built",
        "trajectory": "project runs one task per chunk of a Trajectory, on its displacement map",
        "units": "",
    },
    "phonons.thermodynamics": {
        "forceconstants": "", "lattice": "",
        "phonons.anharmonic": "the cubic and quartic corrections of the free energy",
        "phonons.harmonic": "",
        "potentials": "free_energy_bounds samples with a force engine of potentials.engines (lazily)",
        "resources": "memory estimates, one BLAS thread in a Dask task",
        "units": "",
    },
    "phonons.anharmonic": {
        "forceconstants": "", "lattice": "",
        "phonons.harmonic": "the three- and four-phonon sums run over the modes of Phonons",
        "resources": "memory estimates, one BLAS thread in a Dask task",
        "units": "",
    },
    "phonons.harmonic": {
        "forceconstants": "", "lattice": "",
        "resources": "memory estimates, one BLAS thread in a Dask task",
        "units": "",
    },
    "potentials": {
        "forceconstants": "", "io": "", "lattice": "",
        "resources": "one BLAS thread in a Dask task of the force engines",
        "units": "",
    },
    "forceconstants": {
        "errors": "a run whose atoms left their sites is refused as a mismatch of its reference; a file named in the "
                  "errors of what was read from it (blamed), an option its format does not take",
        "lattice": "", "resources": "",
        "units": "k_B: whether a fitted run conserved its energy, and the spread of its temperature",
    },
    "trajectory": {"errors": "", "io": "", "lattice": "",
                   "resources": "the default read task by bytes of the memory available (task_memory)", "units": ""},
    "io": {"errors": "", "lattice": "", "units": "",
           "resources": "whether a dask.distributed client computes the cache's frames (distributed_client)"},
    "lattice": {},
    "resources": {},
    "errors": {},
    "units": {},
}

#: packages whose subpackages are layers of the table of their own (``phonons.harmonic`` <- ``phonons.anharmonic``
#: <- ``phonons.thermodynamics``); their ``__init__`` holds only a docstring
LAYERED = {"phonons"}

#: the compiled kernels: private modules of the package itself, imported where they run; they import nothing
KERNELS = {"trajmodes._fastparse", "trajmodes._projection", "trajmodes._design", "trajmodes._tetrahedron"}
#: the package's own machinery below every layer, which every package's ``__init__`` may import and which imports
#: nothing of trajmodes (``_lazy``, the PEP 562 loader of a package's public names); with the kernels, in no package
PRIVATE_MODULES = KERNELS | {"trajmodes._lazy"}
#: modules that are not in a package of their own: ``python -m trajmodes`` is the command line
ALIASES = {"trajmodes.__main__": "cli"}

#: what breaks a rule today in files that are being edited elsewhere, each with its fix. Each is an xfail(strict)
#: test of its own: once it is fixed, that test fails and says to take it out of here.
KNOWN: dict[tuple[str, str], str] = {}


def render_layers(layers: dict[str, dict[str, str]] = LAYERS) -> str:
    """The block "The rule between layers" of docs/architecture.md: one line per package, top layer first, with
    the reason of every edge that has one below its package."""
    width = max(map(len, layers)) + 1
    lines = []
    for package, allowed in layers.items():
        lines.append(f"{package:<{width}}-> " + (", ".join(sorted(allowed)) or "(nothing of trajmodes)"))
        lines += [f"{'':<{width}}   {target}: {why}" for target, why in sorted(allowed.items()) if why]
    return "\n".join(lines) + "\n"


# -- reading the source


@dataclass(frozen=True)
class Use:
    """One module's use of another: ``target`` (a module), and ``name`` when the use names a private object."""

    module: str
    line: int
    target: str
    name: str | None = None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    if name in KERNELS:
        return True
    p = ROOT.joinpath(*name.split("."))
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


def package_of(module: str) -> str | None:
    """The package of the table a module belongs to (None for the root ``trajmodes/__init__.py``)."""
    if module in ALIASES:
        return ALIASES[module]
    parts = module.split(".")
    if len(parts) > 2 and parts[1] in LAYERED:
        return f"{parts[1]}.{parts[2]}"
    if len(parts) == 2 and parts[1] in LAYERED:
        return None                                 # the package's __init__: its docstring, no code
    return parts[1] if len(parts) > 1 else None


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@lru_cache(maxsize=None)
def modules() -> dict[str, ast.Module]:
    return {module_name(p): ast.parse(p.read_text(), filename=str(p)) for p in sorted(SOURCE.rglob("*.py"))}


@lru_cache(maxsize=None)
def lazy_names() -> dict[str, str]:
    """The names ``trajmodes`` imports on first use (its ``__init__``'s tables), name -> module."""
    out = {}
    for node in modules()["trajmodes"].body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Dict):
            try:
                table = ast.literal_eval(node.value)
            except ValueError:                          # not a table of names
                continue
            out.update({k: v for k, v in table.items() if isinstance(k, str) and isinstance(v, str)})
    return out


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = ROOT.joinpath(*module.split("."), "__init__.py").is_file()
    base = module.split(".") if package else module.split(".")[:-1]
    base = base[:len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _from_root(module: str, line: int, name: str) -> Use | None:
    """``trajmodes.name``: a submodule, a name imported on first use, or the root's own (``__version__``)."""
    if is_module(f"trajmodes.{name}"):
        return Use(module, line, f"trajmodes.{name}")
    if name in lazy_names():
        return Use(module, line, lazy_names()[name])
    return None


def uses_of(module: str, tree: ast.Module) -> list[Use]:
    """Every module of trajmodes that ``module`` imports, and every private name of another module it uses."""
    out: list[Use] = []
    bound: dict[str, str] = {}                      # a local name -> the trajmodes module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "trajmodes":
                    if a.name != "trajmodes":
                        out.append(Use(module, node.lineno, a.name))
                    bound[a.asname or "trajmodes"] = a.name if a.asname else "trajmodes"
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            if source.split(".")[0] != "trajmodes":
                continue
            for a in node.names:
                full = f"{source}.{a.name}"
                if is_module(full):
                    bound[a.asname or a.name] = full
                    hidden = private(a.name) and full not in KERNELS
                    out.append(Use(module, node.lineno, full, a.name if hidden else None))
                elif source == "trajmodes":
                    use = _from_root(module, node.lineno, a.name)
                    out += [use] if use else []
                else:
                    out.append(Use(module, node.lineno, source, a.name if private(a.name) else None))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        chain, value = [], node
        while isinstance(value, ast.Attribute):
            chain.append(value.attr)
            value = value.value
        if not (isinstance(value, ast.Name) and value.id in bound) or not isinstance(node.ctx, ast.Load):
            continue
        target, chain = bound[value.id], chain[::-1]
        while chain and is_module(f"{target}.{chain[0]}"):
            target = f"{target}.{chain.pop(0)}"
        if target == "trajmodes" and chain:
            use = _from_root(module, node.lineno, chain[0])
            out += [use] if use else []
        elif chain and private(chain[0]) and target != module:
            out.append(Use(module, node.lineno, target, chain[0]))
    return out


@lru_cache(maxsize=None)
def all_uses() -> tuple[Use, ...]:
    return tuple(u for m, tree in modules().items() for u in uses_of(m, tree))


def defined_private_names(tree: ast.Module) -> set[str]:
    """The private names a module defines: functions, classes, names and attributes it assigns, and the
    private identifiers it spells as strings (``getattr(self, "_x", None)``, ``__slots__``)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
            out.add(node.value)
        elif isinstance(node, ast.arg):
            out.add(node.arg)
    return {n for n in out if private(n)}


@lru_cache(maxsize=None)
def object_private_uses() -> tuple[Use, ...]:
    """``obj._y`` (obj neither ``self`` nor ``cls`` nor a module) where ``_y`` is defined in other modules of
    trajmodes and not in the module that uses it: another module's private method or attribute."""
    defined = {m: defined_private_names(tree) for m, tree in modules().items()}
    out = []
    for m, tree in modules().items():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and private(node.attr)
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
                    and node.attr not in defined[m]):
                owners = sorted(o for o, names in defined.items() if node.attr in names)
                if owners:
                    out.append(Use(m, node.lineno, " or ".join(owners), node.attr))
    return tuple(out)


def package_edges(uses=None) -> dict[tuple[str, str], list[Use]]:
    """(package, package it imports) -> the uses that make the edge."""
    edges: dict[tuple[str, str], list[Use]] = {}
    for u in all_uses() if uses is None else uses:
        a, b = package_of(u.module), package_of(u.target)
        if u.target not in PRIVATE_MODULES and a != b and a is not None and b is not None:
            edges.setdefault((a, b), []).append(u)
    return edges


def key(use: Use) -> tuple[str, str]:
    """How :data:`KNOWN` names a use that breaks a rule."""
    if use.name is not None:
        return use.module, f"uses {use.name}"
    return use.module, f"imports {package_of(use.target)}"


def layer_violations() -> list[Use]:
    return [u for (a, b), us in package_edges().items() if b not in LAYERS.get(a, {}) for u in us]


def private_uses() -> list[Use]:
    return [u for u in (*all_uses(), *object_private_uses()) if u.name is not None]


def where(uses) -> str:
    return "\n".join(f"  {u.module}:{u.line} -> {u.target}" + (f" ({u.name})" if u.name else "") for u in uses)


# -- the tests


def test_the_source_is_read():
    """The reader sees the imports it must see: a lazy one, one under TYPE_CHECKING, a name imported on first use."""
    uses = {(u.module, u.target) for u in all_uses()}
    assert ("trajmodes.phonons.thermodynamics.free_energy_bounds", "trajmodes.potentials.engines") in uses      # in a function
    assert ("trajmodes.lattice.symmetry", "trajmodes.lattice.crystal") in uses                     # TYPE_CHECKING
    chain = ast.parse("import trajmodes\n\ndef f(traj, phonons):\n    return trajmodes.project(traj, phonons)\n")
    assert ("trajmodes.modes.projection", ) == tuple(u.target for u in uses_of("trajmodes.cli.x", chain))  # attribute
    assert len(modules()) > 100


def test_every_module_has_a_package_of_the_table():
    assert {p for layer in LAYERS.values() for p in layer} <= set(LAYERS)
    unknown = sorted(m for m in modules() if m not in ("trajmodes", *(f"trajmodes.{p}" for p in LAYERED))
                     and m not in PRIVATE_MODULES and package_of(m) not in LAYERS)
    assert not unknown, f"modules of no package of the table (add the package to LAYERS): {unknown}"


def test_the_root_imports_nothing():
    """``import trajmodes`` loads nothing but the package's own ``__init__``."""
    assert not [u for u in all_uses() if u.module == "trajmodes"]


def test_imports_follow_the_table():
    bad = [u for u in layer_violations() if key(u) not in KNOWN]
    assert not bad, "imports the table of layers (tests/test_architecture.py, LAYERS) does not allow:\n" + where(bad)


def test_force_constants_import_no_file_format():
    """``forceconstants`` imports nothing of ``io``: ``ForceConstants.read`` and ``write`` find the formats through the
    registry of ``forceconstants.formats``, which the package's entry point fills (pyproject.toml)."""
    assert "io" not in LAYERS["forceconstants"]
    assert not [u for u in all_uses() if package_of(u.module) == "forceconstants" and package_of(u.target) == "io"]


def test_the_table_is_the_import_graph():
    edges = package_edges()
    unused = sorted((a, b) for a, allowed in LAYERS.items() for b in allowed if (a, b) not in edges)
    assert not unused, f"edges of LAYERS no module uses any more (take them out, and render the doc): {unused}"


def test_every_edge_points_down():
    order = list(LAYERS)
    up = [(a, b) for a, allowed in LAYERS.items() for b in allowed if order.index(b) <= order.index(a)]
    assert not up, f"edges of LAYERS that point to the same or a higher layer: {up}"


def test_no_cycle_between_packages():
    known = {key(u) for u in layer_violations()} & set(KNOWN)
    graph: dict[str, set[str]] = {}
    for (a, b), us in package_edges().items():
        if any(key(u) not in known for u in us):
            graph.setdefault(a, set()).add(b)

    def cycle_from(start, path):
        for nxt in sorted(graph.get(path[-1], ())):
            if nxt == start:
                return path + [nxt]
            if nxt not in path:
                found = cycle_from(start, path + [nxt])
                if found:
                    return found
        return None

    cycles = [c for p in sorted(graph) if (c := cycle_from(p, [p]))]
    assert not cycles, f"import cycles between packages: {cycles[0]}"


def module_graph(uses=None) -> dict[str, dict[str, list[Use]]]:
    """module -> {module it imports: the uses that make the edge}, from :func:`all_uses` (the compiled kernels,
    which import nothing, and a module's uses of itself left out)."""
    graph: dict[str, dict[str, list[Use]]] = {}
    for u in all_uses() if uses is None else uses:
        if u.target not in PRIVATE_MODULES and u.target != u.module:
            graph.setdefault(u.module, {}).setdefault(u.target, []).append(u)
    return graph


def module_cycles(graph: dict[str, dict[str, list[Use]]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or through others (the strongly connected components
    of more than one module), each sorted, in the order of their first module."""
    def reach(start):
        seen, todo = set(), [start]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    reached = {m: reach(m) for m in graph}
    groups = {tuple(sorted(m2 for m2 in reached[m] | {m} if m in reached.get(m2, ()) or m2 == m))
              for m in graph if m in reached[m]}
    return sorted(list(g) for g in groups if len(g) > 1)


def shortest_cycle(graph: dict[str, dict[str, list[Use]]], group: list[str]) -> str:
    """One shortest cycle through the first module of ``group``, each step with the line of its first import:
    ``a:9 -> b:13 -> a``."""
    start, inside = group[0], set(group)
    came = {start: None}
    todo = [start]
    while todo:
        nxt_todo = []
        for m in todo:
            for t in sorted(graph.get(m, ())):
                if t == start:
                    path = [m]
                    while came[path[-1]] is not None:
                        path.append(came[path[-1]])
                    path = path[::-1] + [start]
                    return " -> ".join(f"{a}:{min(u.line for u in graph[a][b])}"
                                       for a, b in zip(path, path[1:])) + f" -> {start}"
                if t in inside and t not in came:
                    came[t] = m
                    nxt_todo.append(t)
        todo = nxt_todo
    raise AssertionError(f"no cycle through {start}")      # a group of module_cycles always has one


def test_no_cycle_between_modules():
    """No module imports itself through others, type-checking imports included.

    Every use :func:`all_uses` reads is an edge: an import at module level, inside a function (it runs when the
    function is first called, and then needs the other module whole), under ``if TYPE_CHECKING:`` (the type checker
    and the documentation read it as an import; a cycle there is the same design knot), and a name of the root
    ``trajmodes`` imported on first use, which leads to the module that defines it (the root's ``__init__`` only
    re-exports lazily, so it is no node of the graph). ``from trajmodes.io import name``, where ``name`` is defined or
    re-exported by ``trajmodes/io/__init__.py``, and ``import trajmodes.cli`` are edges to that package's
    ``__init__``: the module needs the package's namespace whole, and a module of the package doing so while the
    ``__init__`` imports it is a cycle. The parent packages Python runs before a submodule
    (``import trajmodes.io.filesystem`` runs ``trajmodes/io/__init__.py`` first) are not edges: every module of a
    package whose ``__init__`` re-exports its modules would otherwise close a cycle with it, and the order is Python's
    own. A fix puts the shared piece in a lower module, annotates with a base class or a ``typing.Protocol`` of a lower
    module instead of importing the higher class, or passes the objects in.
    """
    graph = module_graph()
    cycles = module_cycles(graph)
    lines = []
    for group in cycles:
        lines.append(f"  {', '.join(group)}: {shortest_cycle(graph, group)}")
        lines += [f"      {a}:{','.join(str(n) for n in sorted({u.line for u in graph[a][b]}))} -> {b}"
                  for a in group for b in sorted(graph.get(a, ())) if b in group]
    assert not cycles, "modules that import each other (every edge of each group below it):\n" + "\n".join(lines)


def test_module_cycles_are_found():
    """The cycle finder names a cycle through a TYPE_CHECKING import and one through a package's ``__init__``."""
    uses = [Use("p.a", 3, "p.b"), Use("p.b", 13, "p.a"), Use("p.b", 20, "p.c"),
            Use("p", 1, "p.d"), Use("p.d", 118, "p"), Use("p.c", 5, "p.e")]
    graph = module_graph(uses)
    assert module_cycles(graph) == [["p", "p.d"], ["p.a", "p.b"]]
    assert shortest_cycle(graph, ["p.a", "p.b"]) == "p.a:3 -> p.b:13 -> p.a"
    assert shortest_cycle(graph, ["p", "p.d"]) == "p:1 -> p.d:118 -> p"


def test_no_private_names_of_other_modules():
    bad = [u for u in private_uses() if key(u) not in KNOWN]
    assert not bad, "private (_name) objects of other modules used (make them public where they are defined):\n" \
        + where(bad)


@pytest.mark.parametrize("known", [pytest.param(k, marks=pytest.mark.xfail(strict=True, reason=fix), id=" ".join(k))
                                   for k, fix in KNOWN.items()])
def test_known_breaks_are_fixed(known):
    """Each entry of KNOWN, until it is fixed; then take it out of KNOWN."""
    assert known not in {key(u) for u in (*layer_violations(), *private_uses())}


def test_the_doc_shows_the_table():
    text = DOC.read_text()
    assert HEADING in text
    block = text.split(HEADING, 1)[1].split("```\n", 2)[1]
    assert block == render_layers(), \
        f"docs/architecture.md's block under {HEADING!r} is not the table; it should read:\n{render_layers()}"


# -- the public names of each package

#: packages that declare no public names: the command line, and ``workflows``, its one way to the library (what the
#: command line imports from it is checked where the names come from: ``workflows`` imports public names only)
UNDECLARED = {"workflows", "cli"}


def top_level_names(tree: ast.Module) -> set[str]:
    """The names a module binds at its top level (under ``if``, ``try`` and ``with`` as well), the names it imports
    included: what ``getattr`` finds on it once it is imported."""
    out: set[str] = set()
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                out |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out |= {a.asname or a.name.split(".")[0] for a in node.names if a.name != "*"}
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            todo += [*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", []),
                     *(s for h in getattr(node, "handlers", []) for s in h.body)]
    return out


@lru_cache(maxsize=None)
def bound_names(module: str) -> frozenset[str]:
    """:func:`top_level_names` of a module of trajmodes."""
    return frozenset(top_level_names(modules()[module]))


def public_table(package: str) -> dict[str, str]:
    """The public names of a package of the table, each with the module that defines it: the ``__all__`` of its
    ``__init__`` (of the module itself for ``units``, ``errors``, ``resources``), whose names are imported by the
    ``__init__`` (``from trajmodes.lattice.crystal import Crystal``), named in a table of names imported on first use
    (``_LAZY``: name -> module, relative to the package) and starred into ``__all__``, or defined by the ``__init__``.
    A name with none of these is mapped to ``None``."""
    module = f"trajmodes.{package}"
    tree = modules()[module]
    is_package = ROOT.joinpath(*module.split("."), "__init__.py").is_file()
    literals, imported = {}, {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                literals[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
        elif isinstance(node, ast.ImportFrom) and _absolute(module, node).startswith("trajmodes."):
            imported.update({a.asname or a.name: _absolute(module, node) for a in node.names})
    declared = next((n.value for n in tree.body if isinstance(n, ast.Assign)
                     and any(isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets)), None)
    assert isinstance(declared, (ast.List, ast.Tuple)), f"{module} declares no __all__ as a list of its public names"
    out: dict[str, str | None] = {}
    own = top_level_names(tree)
    for item in declared.elts:
        if isinstance(item, ast.Constant):
            out[item.value] = imported.get(item.value) or (module if item.value in own else None)
        elif isinstance(item, ast.Starred) and isinstance(item.value, ast.Name) and isinstance(
                literals.get(item.value.id), dict) and is_package:
            out.update({name: f"{module}.{home}" for name, home in literals[item.value.id].items()})
        else:
            raise AssertionError(f"{module}.__all__: {ast.unparse(item)} is neither a name nor *a table of names "
                                 "(name -> module)")
    return out


@lru_cache(maxsize=None)
def public_names() -> dict[str, dict[str, str]]:
    """package -> {public name: the module that defines it}, for every package of the table but :data:`UNDECLARED`."""
    return {p: public_table(p) for p in LAYERS if p not in UNDECLARED}


def name_uses(module: str, tree: ast.Module) -> list[Use]:
    """Every name of another module of trajmodes that ``module`` imports (``from trajmodes.x.y import name``), or
    reads from a module it imported (``y.name``, ``trajmodes.name``), as a :class:`Use` of ``target`` (the module it
    is taken from) and ``name``. An attribute of an imported module counts only where that module binds the name (a
    local variable may reuse the name of an imported module: ``peaks.attrs`` of a Dataset ``peaks``)."""
    out: list[Use] = []
    bound: dict[str, str] = {}
    root_modules = {n: m for n, m in lazy_names().items() if m.rsplit(".", 1)[-1] == n and is_module(m)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "trajmodes":
                    bound[a.asname or "trajmodes"] = a.name if a.asname else "trajmodes"
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            if source.split(".")[0] != "trajmodes":
                continue
            for a in node.names:
                if is_module(f"{source}.{a.name}"):
                    bound[a.asname or a.name] = f"{source}.{a.name}"
                elif source == "trajmodes" and a.name in root_modules:
                    bound[a.asname or a.name] = root_modules[a.name]
                elif source == "trajmodes" and a.name in lazy_names():
                    out.append(Use(module, node.lineno, lazy_names()[a.name], a.name))
                elif source != "trajmodes":
                    out.append(Use(module, node.lineno, source, a.name))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load)):
            continue
        chain, value = [], node
        while isinstance(value, ast.Attribute):
            chain.append(value.attr)
            value = value.value
        if not (isinstance(value, ast.Name) and value.id in bound):
            continue
        target, chain = bound[value.id], chain[::-1]
        while chain and (is_module(f"{target}.{chain[0]}") or (target == "trajmodes" and chain[0] in root_modules)):
            target = f"{target}.{chain[0]}" if is_module(f"{target}.{chain[0]}") else root_modules[chain[0]]
            chain.pop(0)
        if not chain:
            continue
        if target == "trajmodes":
            if chain[0] in lazy_names():
                out.append(Use(module, node.lineno, lazy_names()[chain[0]], chain[0]))
        elif target in modules() and chain[0] in bound_names(target):
            out.append(Use(module, node.lineno, target, chain[0]))
    return sorted(set(out), key=lambda u: (u.line, u.target, u.name))


@lru_cache(maxsize=None)
def cross_package_names() -> tuple[Use, ...]:
    """The uses of :func:`name_uses` that cross from one package of the table to another."""
    return tuple(u for m, tree in modules().items() for u in name_uses(m, tree)
                 if u.target not in PRIVATE_MODULES and package_of(u.module) is not None
                 and package_of(u.target) in LAYERS and package_of(u.module) != package_of(u.target))


def not_public(uses=None) -> list[str]:
    """``module:line -> package.name`` for each use across packages of a name outside the package's public names, or
    taken from a module that is neither the package nor the name's home."""
    bad = []
    for u in cross_package_names() if uses is None else uses:
        package = package_of(u.target)
        if package in UNDECLARED:
            continue
        home = public_names()[package].get(u.name)
        if u.name not in public_names()[package]:
            bad.append(f"  {u.module}:{u.line} -> {package}.{u.name}")
        elif u.target not in (f"trajmodes.{package}", home):
            bad.append(f"  {u.module}:{u.line} -> {package}.{u.name} (from {u.target}: import it from "
                       f"trajmodes.{package} or {home})")
    return bad


def test_the_names_across_packages_are_read():
    """The reader sees a name imported from a module, one read from an imported module, one of the root, and not the
    attribute of a local variable that shares the name of a module."""
    tree = ast.parse("import trajmodes\nfrom trajmodes.lattice import paths\nfrom trajmodes.units import KB_EV\n"
                     "def f(peaks):\n    return paths.special_points, trajmodes.Phonons, trajmodes.bvk.shell_constants,"
                     " peaks.attrs\n")
    assert {(u.target, u.name) for u in name_uses("trajmodes.plots.x", tree)} == {
        ("trajmodes.units", "KB_EV"), ("trajmodes.lattice.paths", "special_points"),
        ("trajmodes.phonons.harmonic.phonons", "Phonons"), ("trajmodes.potentials.bvk", "shell_constants")}
    assert ("trajmodes.series.core", "trajmodes.forceconstants.fit", "EffectiveForceConstants") in {
        (u.module, u.target, u.name) for u in cross_package_names()}
    assert not_public([Use("trajmodes.series.core", 7, "trajmodes.lattice.geometry", "not_a_public_name"),
                       Use("trajmodes.series.core", 8, "trajmodes.lattice.crystal", "Structure")]) == [
        "  trajmodes.series.core:7 -> lattice.not_a_public_name",
        "  trajmodes.series.core:8 -> lattice.Structure (from trajmodes.lattice.crystal: import it from "
        "trajmodes.lattice or trajmodes.lattice.structure)"]


def test_every_package_declares_its_public_names():
    """Every package of the table but the command line's declares ``__all__``, each name found where it says: the
    module that defines it binds it (what ``from trajmodes.lattice import SYMPREC`` imports on first use)."""
    bad = []
    for package, table in public_names().items():
        for name, home in table.items():
            if home is None or home not in modules():
                bad.append(f"  {package}.{name}: no module of the package defines it ({home})")
            elif name not in bound_names(home):
                bad.append(f"  {package}.{name}: {home} does not define it")
    assert not bad, "public names (__all__) not found where their package says:\n" + "\n".join(bad)


def test_imports_across_packages_name_public_names():
    """A name one package imports from another (from the package, or from a module inside it) is in that package's
    public names (``__all__`` of its ``__init__``), and comes from the package or from the module that defines it.
    Within a package anything goes; ``workflows`` and ``cli`` declare none (what they import is checked)."""
    bad = not_public()
    assert not bad, ("names imported across packages that are not in the package's public names (add each to "
                     "__all__ of the package's __init__, with its module, or use a public name):\n" + "\n".join(bad))


def test_the_root_re_exports_public_names():
    """Every name ``trajmodes`` imports on first use is a public name of its package, from the same module."""
    bad = [f"  trajmodes.{name} -> {home}" for name, home in lazy_names().items()
           if not (is_module(home) and home.endswith(f".{name}"))
           and public_names().get(package_of(home), {}).get(name) != home]
    assert not bad, "names of trajmodes that are not public names of their package (its __all__):\n" + "\n".join(bad)


def test_public_names_import():
    """Every public name is what its package gives (on first use for the names of a table), and the object of its
    module: ``trajmodes.lattice.SYMPREC is trajmodes.lattice.spglib_calls.SYMPREC``."""
    import importlib
    bad = []
    for package, table in public_names().items():
        namespace = importlib.import_module(f"trajmodes.{package}")
        for name, home in table.items():
            if getattr(namespace, name, None) is not getattr(importlib.import_module(home), name):
                bad.append(f"  trajmodes.{package}.{name}")
        assert set(table) <= set(dir(namespace)), f"trajmodes.{package}: dir() lacks public names"
    assert not bad, "public names their package does not give:\n" + "\n".join(bad)


def crossing_names() -> dict[str, set[str]]:
    """package -> the names other packages import from it (``python -m tests.test_architecture names``)."""
    out: dict[str, set[str]] = {}
    for u in cross_package_names():
        out.setdefault(package_of(u.target), set()).add(u.name)
    return out


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["names"]:
        names = crossing_names()
        declared = {p: used for p, used in names.items() if p not in UNDECLARED}
        print(f"{sum(map(len, declared.values()))} names cross package lines into the packages that declare public "
              f"names ({sum(len(names[p]) for p in names if p in UNDECLARED)} more into {', '.join(sorted(UNDECLARED))})")
        for package, used in sorted(names.items()):
            print(f"{package} ({len(used)}): {', '.join(sorted(used))}")
    else:
        print(render_layers(), end="")


#: a module longer than this holds more than one subject: one subject may take up to about 1000 lines (size alone is
#: no reason to split a class across files; move functions out instead)
MAX_MODULE_LINES = 1000


def test_no_module_over_the_line_limit():
    long = {str(p.relative_to(ROOT)): n for p in sorted(SOURCE.rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


#: packages whose classes are whole: none is split into bases that only hold some of its methods
WHOLE_CLASSES = ("forceconstants", "series", "trajectory")


def test_no_class_split_into_mixins():
    """A class of these packages is one class in one module: a base class of trajmodes' own that has no constructor
    holds part of another class (a mixin), which the size of a module once asked for; move functions out instead."""
    classes = {}                                               # name -> (module, has __init__)
    for p in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                own = any(isinstance(b, ast.FunctionDef) and b.name == "__init__" for b in node.body)
                classes.setdefault(node.name, (str(p.relative_to(ROOT)), own))
    split = []
    for package in WHOLE_CLASSES:
        for p in sorted((SOURCE / package).rglob("*.py")):
            for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ClassDef):
                    for b in node.bases:
                        name = b.id if isinstance(b, ast.Name) else None
                        if name in classes and not classes[name][1] and classes[name][0] != str(p.relative_to(ROOT)):
                            split.append(f"{p.relative_to(ROOT)}: {node.name}({name}, from {classes[name][0]})")
    assert not split, f"classes split into mixins across modules: {split}"


#: what the command line leaves to workflows: reading netCDF files, and computing Dask graphs (its progress display,
#: cli/progress.py, watches them)
CLI_LEAVES_TO_WORKFLOWS = ("netCDF4", "dask.compute", "open_dataset", ".compute()")


def defined_names(tree: ast.Module) -> set[str]:
    """The names a module defines at its top level: functions, classes and names it assigns (not those it imports,
    which :func:`top_level_names` counts as well)."""
    out = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                out |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return out


def test_the_command_line_imports_from_workflows_what_workflows_defines():
    """Every name the command line imports from ``trajmodes.workflows`` is defined (a function, a class, or a setting
    assigned) in the module of workflows it is imported from: workflows holds each command's work, and passes no name
    of the library through (``from trajmodes.workflows.fit import fit_effective``, never ``from trajmodes.workflows
    import provenance`` re-exported from io)."""
    mods = modules()
    imported, passed = [], []
    for module, tree in mods.items():
        if package_of(module) != "cli":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and _absolute(module, node).startswith("trajmodes.workflows"):
                source = _absolute(module, node)
                for a in node.names:
                    imported.append(a.name)
                    if is_module(f"{source}.{a.name}") or a.name not in defined_names(mods.get(source, ast.Module(
                            body=[], type_ignores=[]))):
                        passed.append(f"{module}:{node.lineno} from {source} import {a.name}")
    assert len(imported) > 40                                   # the reader sees the command line's imports
    assert not passed, "names the command line imports from workflows that are not defined there:\n  " + \
        "\n  ".join(passed)


def test_the_command_line_leaves_files_and_graphs_to_workflows():
    """No netCDF file is opened and no Dask graph computed in cli/: each command's workflow reads and computes, the
    command line parses, calls it, prints and draws."""
    found = [f"{p.relative_to(ROOT)}:{n}: {word}" for p in sorted((SOURCE / "cli").glob("*.py"))
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             for word in CLI_LEAVES_TO_WORKFLOWS if word in line]
    assert not found, "cli/ reads netCDF files or computes Dask graphs itself:\n  " + "\n  ".join(found)

