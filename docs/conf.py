"""Sphinx configuration of trajmodes' documentation site.

The pages are the Markdown files of this folder (MyST), the API reference is generated from the numpy docstrings of
the public API (``api.md``: autodoc + napoleon), and the tutorials are the notebooks of ``examples/notebooks``, linked
for download (they are executed by ``tests/test_notebooks.py``, not by the docs build).

    pip install -e ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html

``tests/test_docs_site.py`` builds the site the same way, warnings as errors.
"""
from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))            # the package itself, also from a checkout that is not installed

project = "trajmodes"
author = "the trajmodes developers"
copyright = "the trajmodes developers"
from trajmodes import __version__ as release        # noqa: E402
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "figures/**/README.md", "**/.ipynb_checkpoints"]

# -- MyST -----------------------------------------------------------------------------------------------------------
myst_heading_anchors = 4                 # the pages link to each other's sections (validation.md#...)

# -- autodoc / napoleon ---------------------------------------------------------------------------------------------
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
napoleon_use_ivar = True                 # "Attributes" as a field list: properties keep their own entries
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
autosummary_generate = False             # api.md holds its own directives; nothing is written into docs/

# -- HTML -----------------------------------------------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"trajmodes {release}"
html_static_path: list[str] = []

# -- Known warnings, each suppressed alone ----------------------------------------------------------------------------
# Warnings from files that are being edited elsewhere, kept out of the -W build one by one (where: the file and object
# or page; what: the message), so that any new warning still fails it. Remove an entry once its source is fixed.
KNOWN_WARNINGS = [
    # docstrings: reStructuredText that docutils reads as substitutions (|x|) or a broken field list
    (r"forceconstants/fit\.py:docstring of trajmodes\.forceconstants\.fit\.EffectiveForceConstants:",
     r"Unknown target name: \"force_constants\"|Field list ends without a blank line|Unexpected indentation|"
     r"Block quote ends without a blank line"),
    (r"forceconstants/model\.py:docstring of trajmodes\.forceconstants\.model\.ForceConstants\."
     r"(asr_violation|symmetrize|symmetry_violation):", r"Undefined substitution referenced"),
    (r"modes/structure_factor\.py:docstring of trajmodes\.modes\.structure_factor\.dynamic_structure_factor:",
     r"Undefined substitution referenced: \"q\""),
    (r"phonons/harmonic\.py:docstring of trajmodes\.phonons\.harmonic\.Phonons\."
     r"(dos|group_velocities|sound_velocities):",
     r"Inline substitution_reference start-string without end-string|Undefined substitution referenced: \"q\""),
    (r"plots/__init__\.py:docstring of trajmodes\.plots\.",            # |q|, |Q| in the figures' docstrings
     r"Undefined substitution referenced: \"[qQ]\""),
    # pages: heading levels in benchmarks.md (H1 to H3)
    (r"benchmarks(\.md)?:\d+", r"Non-consecutive header level increase; H1 to H3"),
]


def _where(location) -> str:
    if isinstance(location, tuple):
        return ":".join(str(x) for x in location if x is not None)
    if location is not None and not isinstance(location, str):       # a docutils node
        return f"{getattr(location, 'source', '')}:{getattr(location, 'line', '')}"
    return location or ""


class _KnownWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        where, what = _where(getattr(record, "location", None)), record.getMessage()
        return not any(re.search(w, where) and re.search(m, what) for w, m in KNOWN_WARNINGS)


# -- The API page: every public name ----------------------------------------------------------------------------------
_AUTODOC = re.compile(r"^\.\. (?:autofunction|autoclass|autoexception|automodule):: (\S+)\s*$", re.M)


def unlisted_public_names(text: str) -> list[str]:
    """The names of ``trajmodes.__all__`` that the API page ``text`` has no autodoc directive for (modules: under
    their own name or the module they stand for)."""
    import trajmodes
    documented = set(_AUTODOC.findall(text))
    out = []
    for name in trajmodes.__all__:
        if name == "__version__":
            continue
        obj = getattr(trajmodes, name)
        if f"trajmodes.{name}" not in documented and getattr(obj, "__name__", None) not in documented:
            out.append(name)
    return out


def _complete_api_page(app, docname, source):
    """Append the public names that docs/api.md does not list yet (added to ``trajmodes.__all__`` since), so that
    the reference is never short of one; docs/api.md is where they get their section."""
    if docname != "api":
        return
    import inspect

    import trajmodes
    names = unlisted_public_names(source[0])
    if not names:
        return
    blocks = ["", "## Other public names", "", "Not yet given a section of their own.", ""]
    for name in names:
        obj = getattr(trajmodes, name)
        if inspect.ismodule(obj):
            kind, target = "automodule", obj.__name__
        elif inspect.isclass(obj):
            kind = "autoexception" if issubclass(obj, BaseException) else "autoclass"
            target = f"trajmodes.{name}"
        else:
            kind, target = "autofunction", f"trajmodes.{name}"
        blocks += ["```{eval-rst}", f".. {kind}:: {target}", "```", ""]
    source[0] += "\n".join(blocks)


def setup(app):
    """Put the filter of the known warnings in front of Sphinx's warning handlers (before -W counts them), and
    complete the API page."""
    for handler in logging.getLogger("sphinx").handlers:
        if type(handler).__name__ == "WarningStreamHandler":
            handler.filters.insert(0, _KnownWarnings())
    app.connect("source-read", _complete_api_page)
    return {"parallel_read_safe": True}
