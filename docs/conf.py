"""Sphinx configuration of trajmodes' documentation site.

The pages are the Markdown files of this folder (MyST), the API reference is generated from the numpy docstrings of
the public API (``api.md``: autodoc + napoleon), and the tutorials are the notebooks of ``examples/notebooks``,
executed when the site is built and rendered with their figures (myst-nb), with a link to download each:

    pip install -e ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html

The physics is written as equations (MyST's ``dollarmath`` and ``amsmath``: ``$...$`` inline, ``$$...$$`` blocks,
rendered by MathJax, which the site carries: sphinx-mathjax-offline copies MathJax 3 into ``_static/mathjax``, so that
the equations are typeset without internet); code keeps its backticks. Every code block has a copy button (sphinx-copybutton); the wide
tables wrap in the text column (``_static/trajmodes.css``); a link whose text is a page's file name shows the page's
title (``_title_file_name_links``); "--option" in prose stays two hyphens (``smartquotes_action``).

The sections (Getting started, Guides, Tutorials, Reference, Validation, Benchmarks, Development) are the captioned
toctrees of ``index.md``; a page of docs/ that none of them names is added under "More" (``_complete_index``). The
theme is Furo: its sidebar lists pages, not their headings (the page's own headings are on its right).

The notebooks are stored without outputs (``tests/test_notebooks.py``). The build runs each one (nbclient, a
``python3`` kernel, in a private copy of ``examples/``, as the tests do; 15-20 s each on two cores) into
``docs/tutorials/`` (generated, not in git), and keeps the executed copy in a cache keyed on the notebook, the package
and the example data (``docs/_build/tutorials-cache``, or ``$TRAJMODES_DOCS_CACHE``): a rebuild with nothing changed
runs none. ``TRAJMODES_DOCS_EXECUTE=0`` renders them without running them (code, no outputs), for quick edits of the
text. A notebook that fails fails the build, naming the cell.

``tests/test_docs_site.py`` builds the site the same way, warnings as errors, and renders pages in a headless browser.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))            # the package itself, also from a checkout that is not installed

project = "trajmodes"
author = "the trajmodes developers"
copyright = "the trajmodes developers"
from trajmodes import __version__ as release        # noqa: E402
version = release

extensions = [
    "myst_nb",                           # MyST Markdown (myst-parser) and the notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",            # MathJax 3 shipped with the site (_static/mathjax), not fetched from a CDN:
                                         # the equations render offline (pip install sphinx-mathjax-offline)
    "sphinx_copybutton",                 # a copy button on every code block (pip install sphinx-copybutton)
]

source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "figures/**/README.md", "**/.ipynb_checkpoints"]

# -- MyST -----------------------------------------------------------------------------------------------------------
myst_heading_anchors = 4                 # the pages link to each other's sections (validation.md#...)
myst_enable_extensions = ["dollarmath",   # $...$ inline and $$...$$ display equations, rendered by MathJax
                          "amsmath"]      # \begin{align} ... \end{align} blocks

# -- Text: an option written in prose ("--cutoff3" outside backticks, in a docstring or a parser's help) stays two
# hyphens that a shell accepts when pasted, not an en dash: docutils' smart quotes do quotes and ellipses only
smartquotes_action = "qe"

# -- sphinx-copybutton: copies a block's commands without their "$ " prompts; in a block that shows a command with its
# output ("$ trajmodes phonons ..." then what it prints) only the prompted lines are copied
copybutton_prompt_text = r"\$ |>>> |\.\.\. "
copybutton_prompt_is_regexp = True
copybutton_only_copy_prompt_lines = True
copybutton_exclude = ".linenos, .gp, .go"

# -- myst-nb: the tutorials, executed by _execute_tutorials below, rendered as they are here -------------------------
nb_execution_mode = "off"
nb_output_stderr = "remove"              # the environment's warnings (tqdm's IProgress): the notebooks print to stdout
nb_merge_streams = True

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
html_theme = "furo"                      # pip install furo (the docs and test extras)
html_title = f"trajmodes {release}"
html_static_path = ["_static"]
html_css_files = ["trajmodes.css"]
html_theme_options = {"navigation_with_keys": True, "top_of_page_buttons": []}
pygments_style = "friendly"
pygments_dark_style = "monokai"

# -- The sections: every page in one ---------------------------------------------------------------------------------
_TOCTREE = re.compile(r"^```\{toctree\}\n(.*?)^```", re.M | re.S)


def pages_outside_the_toctrees(text: str, docs: Path) -> list[str]:
    """The pages of ``docs`` (top-level ``*.md``, as document names) that no toctree of the front page ``text``
    names, in alphabetical order."""
    listed = set()
    for body in _TOCTREE.findall(text):
        for line in body.splitlines():
            line = line.strip()
            if line and not line.startswith(":"):
                m = re.fullmatch(r"(?:.*<)?([^<>]+?)(?:\.md)?>?", line)
                listed.add(m.group(1) if m else line)
    return sorted(p.stem for p in docs.glob("*.md") if p.stem != "index" and p.stem not in listed)


def _complete_index(app, docname, source):
    """Put a page that the sections of index.md do not name yet (one added since) under "More", so that the site
    never leaves one out of its navigation; index.md is where it gets its section."""
    if docname != "index":
        return
    names = pages_outside_the_toctrees(source[0], Path(app.srcdir))
    if names:
        source[0] += "\n".join(["", "```{toctree}", ":caption: More", ":maxdepth: 1", ":titlesonly:", "",
                                *names, "```", ""])


# -- The tutorials: examples/notebooks, executed into docs/tutorials ------------------------------------------------
NOTEBOOKS = ROOT / "examples" / "notebooks"
TUTORIALS = Path(__file__).resolve().parent / "tutorials"        # generated: not in git
CELL_TIMEOUT = 240                                                # s, a cell (two shared cores, a cold cache)
_IGNORE = shutil.ignore_patterns(".*", "__pycache__", "*.ipynb", "*.tmidx.npz", ".ipynb_checkpoints")


def _tree_digest(h, root: Path, suffixes=None, skip=(".ipynb",)) -> None:
    """Feed ``h`` the names and bytes of the files under ``root`` (those ending in ``suffixes`` if given; never the
    readers' frame indexes, caches, hidden files or those ending in ``skip``)."""
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if path.is_file() and not any(part == "__pycache__" or part.startswith(".") for part in parts) \
                and not path.name.endswith((".tmidx.npz", *skip)) and (suffixes is None or path.suffix in suffixes):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())


def _inputs_digest() -> str:
    """What every tutorial's outputs depend on besides its own cells: the package (sources and compiled kernels)
    and the example data (not the notebooks: each one's own bytes are in its key)."""
    h = hashlib.sha256()
    _tree_digest(h, ROOT / "trajmodes", suffixes={".py", ".so", ".csv", ".pyx", ".c"})
    _tree_digest(h, ROOT / "examples", suffixes=None)
    return h.hexdigest()


def _banner(name: str, executed: bool):
    import nbformat
    how = ("executed when this site was built, on the files shipped in `examples/`" if executed else
           "shown without its outputs (this build did not run the notebooks: `TRAJMODES_DOCS_EXECUTE=0`)")
    return nbformat.v4.new_markdown_cell(
        f"*The notebook `examples/notebooks/{name}`, {how}. "
        f"{{download}}`Download it <../../examples/notebooks/{name}>` and run it from `examples/notebooks/` "
        f"(its paths are relative to that folder).*")


def _execute(path: Path):
    """The notebook ``path`` run top to bottom in a python3 kernel, in a private copy of examples/."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from sphinx.errors import ExtensionError

    nb = nbformat.read(path, as_version=4)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}        # the inline backend draws the figures
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    with tempfile.TemporaryDirectory(prefix="trajmodes-docs-") as tmp:
        examples = Path(tmp) / "examples"
        shutil.copytree(ROOT / "examples", examples, ignore=_IGNORE)
        client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                resources={"metadata": {"path": str(examples / "notebooks")}})
        kernel_log = Path(tmp) / "kernel.log"          # the kernel's own stderr: kept off the build's warnings
        try:
            with kernel_log.open("w") as err:
                client.execute(env=env, stderr=err)
        except Exception as exc:
            cell = isinstance(exc, CellExecutionError)          # else the kernel died or did not start
            tail = kernel_log.read_text()[-3000:] if kernel_log.is_file() and not cell else ""
            what = str(exc) if cell else f"{type(exc).__name__}: {exc}"
            raise ExtensionError(f"the tutorial examples/notebooks/{path.name} fails when the site runs it "
                                 f"(python -m pytest tests/test_notebooks.py runs it alone):\n{what}"
                                 + (f"\nthe kernel's stderr:\n{tail}" if tail.strip() else "")) from None
    return nb


def executed_notebook(path: Path, cache: Path, inputs: str | None = None, log=None, meanwhile=()):
    """The notebook ``path`` executed (:func:`_execute`), from ``cache`` where it ran with the same notebook, package
    and example data (:func:`_inputs_digest`), else run now and kept there. An exclusive lock on the notebook's entry
    makes a second process (``tests/test_notebooks.py`` and the site's build, in parallel test workers) wait for the
    first's run and read it, so that each notebook runs once. While it waits, it runs those of the notebooks
    ``meanwhile`` that are neither in the cache nor running elsewhere, into the cache (:func:`_run_if_free`), so that
    two processes that need the same notebooks run them side by side instead of one after the other. ``log(path)``
    is called before a notebook runs."""
    import fcntl
    inputs = _inputs_digest() if inputs is None else inputs
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / f"{path.stem}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:                              # running in another process: help, then wait for it
            for other in meanwhile:
                if other != path:
                    _run_if_free(other, cache, inputs, log)
            fcntl.flock(lock, fcntl.LOCK_EX)
        return _from_cache(path, cache, inputs, log)


def _cached(path: Path, cache: Path, inputs: str) -> Path:
    """The cache's entry for the notebook ``path`` with the package and examples ``inputs`` (a digest)."""
    return cache / f"{path.stem}-{hashlib.sha256(path.read_bytes() + inputs.encode()).hexdigest()[:20]}.ipynb"


def _from_cache(path: Path, cache: Path, inputs: str, log=None):
    """The notebook ``path`` executed, from the cache or run now and kept there (its lock held by the caller)."""
    import nbformat
    cached = _cached(path, cache, inputs)
    if not cached.is_file():
        if log is not None:
            log(path)
        nb = _execute(path)
        for old in cache.glob(f"{path.stem}-*.ipynb"):
            old.unlink()
        tmp = cached.with_suffix(".tmp")
        nbformat.write(nb, tmp)
        tmp.replace(cached)
    return nbformat.read(cached, as_version=4)


def _run_if_free(path: Path, cache: Path, inputs: str, log=None) -> None:
    """Run the notebook ``path`` into the cache unless it is there or another process holds its lock; a failure is
    left for the notebook's own turn to report (nothing is cached)."""
    import fcntl
    if _cached(path, cache, inputs).is_file():
        return
    with open(cache / f"{path.stem}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        try:
            _from_cache(path, cache, inputs, log)
        except Exception:                                   # noqa: BLE001: reported where the notebook is asked for
            pass


def _execute_tutorials(app):
    """Write docs/tutorials/NAME.ipynb for every notebook of examples/notebooks: executed (from the cache when the
    notebook, the package and the example data are unchanged since it last ran), or as stored where
    ``TRAJMODES_DOCS_EXECUTE=0``; a file is rewritten only when its content changes, so Sphinx re-reads only that."""
    import nbformat

    execute = os.environ.get("TRAJMODES_DOCS_EXECUTE", "1").strip().lower() not in {"0", "no", "false", "off"}
    cache = Path(os.environ.get("TRAJMODES_DOCS_CACHE") or Path(app.srcdir) / "_build" / "tutorials-cache")
    TUTORIALS.mkdir(exist_ok=True)
    sources = sorted(NOTEBOOKS.glob("*.ipynb"))
    for stale in set(TUTORIALS.glob("*.ipynb")) - {TUTORIALS / p.name for p in sources}:
        stale.unlink()
    inputs = _inputs_digest() if execute else ""
    from sphinx.util import logging as sphinx_logging
    log = sphinx_logging.getLogger(__name__)
    for path in sources:
        if execute:
            nb = executed_notebook(path, cache, inputs, meanwhile=sources,
                                   log=lambda p: log.info("running the tutorial %s (not in the cache %s)", p.name,
                                                          cache))
        else:
            nb = nbformat.read(path, as_version=4)
        nb.cells.insert(1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0, _banner(path.name, execute))
        text = nbformat.writes(nb)
        target = TUTORIALS / path.name
        if not target.is_file() or target.read_text() != text:
            target.write_text(text)


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


# -- Links that show a file name: the page's title instead ----------------------------------------------------------
#: the text of a link that names a page's file ("fitting.md", "docs/fitting.md", "fitting.md#a-section")
FILE_NAME_TEXT = re.compile(r"(?:docs/)?([\w-]+)\.md(?:#\S*)?")


def titled_link_text(text: str, titles: dict[str, str]) -> str | None:
    """The title a link whose text ``text`` is the file name of a page should show instead (``titles``: document
    name -> title), or None where the text is not a page's file name."""
    m = FILE_NAME_TEXT.fullmatch(text.strip())
    return titles.get(m.group(1)) if m else None


def _title_file_name_links(app, doctree, docname):
    """A link between pages written with the file name as its text ("[fitting.md](fitting.md)", as generated pages
    and older text write them) shows the page's title, as MyST's "[](fitting.md)" does."""
    from docutils import nodes
    titles = {name: title.astext() for name, title in app.env.titles.items()}
    for ref in list(doctree.findall(nodes.reference)):
        if not ref.get("internal"):
            continue
        title = titled_link_text(ref.astext(), titles)
        if title:
            ref.children = [nodes.inline(title, title)]


def setup(app):
    """Complete the API page and the sections, run the tutorials, and title the links that show a file name. No
    warning is filtered: every one fails the -W build."""
    app.connect("source-read", _complete_api_page)
    app.connect("source-read", _complete_index)
    app.connect("builder-inited", _execute_tutorials)
    app.connect("doctree-resolved", _title_file_name_links)
    return {"parallel_read_safe": True}
