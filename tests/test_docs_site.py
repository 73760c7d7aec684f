"""The documentation site builds, warnings as errors, and its API reference covers the public API.

``docs/conf.py`` turns the Markdown pages of docs/ into a Sphinx site (myst-parser) with the API reference generated
from the numpy docstrings (autodoc + napoleon, ``docs/api.md``). A docstring that docutils cannot read, a broken link
between pages or a page left out of the table of contents fails the build here (``-W --keep-going``: every warning
is listed, then the build fails). The few known warnings from files edited elsewhere are filtered one by one in
``docs/conf.py`` (``KNOWN_WARNINGS``). Not nitpicky (``-n``): the numpy type phrases of the docstrings ("ndarray (n,
3)", "array_like, optional") and their references to internal modules give some 300 unresolved targets.
"""
from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest

from tests.support.paths import ROOT

DOCS = ROOT / "docs"
API = DOCS / "api.md"
#: the public submodules (trajmodes.__all__ names that are modules) and the module each is documented under
SUBMODULES = {"bvk": "trajmodes.potentials.bvk", "workflows": "trajmodes.workflows", "plots": "trajmodes.plots",
              "units": "trajmodes.units", "errors": "trajmodes.errors"}
_DIRECTIVE = re.compile(r"^\.\. (autofunction|autoclass|autoexception|automodule):: (\S+)\s*$", re.M)


def _documented() -> dict[str, str]:
    """Object -> autodoc directive, as docs/api.md documents them."""
    return {name: kind for kind, name in _DIRECTIVE.findall(API.read_text())}


def test_api_page_lists_only_public_names():
    """Every object docs/api.md documents by name exists and is public; a public name the page does not list yet is
    appended to the site by docs/conf.py (``_complete_api_page``), so the reference is never short of one."""
    import trajmodes
    documented = _documented()
    stale = [n for n in documented if n.count(".") == 1 and n.split(".")[1] not in trajmodes.__all__
             and n != "trajmodes.series"]
    assert not stale, f"docs/api.md documents {stale}, which trajmodes.__all__ no longer has"
    assert "trajmodes.series" in documented
    unlisted = [n for n in trajmodes.__all__ if n != "__version__"
                and f"trajmodes.{n}" not in documented and SUBMODULES.get(n) not in documented]
    if unlisted:
        print(f"docs/api.md has no section for {unlisted} yet: the site lists them under 'Other public names'")


def test_index_lists_the_tutorials():
    text = (DOCS / "index.md").read_text()
    notebooks = sorted(p.name for p in (ROOT / "examples" / "notebooks").glob("*.ipynb"))
    assert notebooks, "examples/notebooks has no notebook"
    for name in notebooks:
        assert f"<../examples/notebooks/{name}>" in text, f"docs/index.md does not link the tutorial {name}"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site, built once into a temporary folder: (html folder, seconds, warnings)."""
    out = tmp_path_factory.mktemp("docs-site")
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q",
           "-d", str(out / "doctrees"), str(DOCS), str(out / "html")]
    t0 = time.perf_counter()
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - t0
    assert run.returncode == 0, (f"the documentation site does not build without warnings ({seconds:.0f} s):\n"
                                 f"{run.stderr[-8000:]}\n{run.stdout[-2000:]}")
    return out / "html", seconds, run.stderr


@pytest.mark.slow
def test_site_builds_without_warnings(site):
    html, seconds, warnings = site
    print(f"documentation site built in {seconds:.1f} s")
    assert not warnings.strip(), warnings
    for page in DOCS.glob("*.md"):
        assert (html / f"{page.stem}.html").is_file(), f"the site has no page for docs/{page.name}"


def test_api_reference_is_generated_from_the_docstrings(site):
    import trajmodes
    html = (site[0] / "api.html").read_text()
    for name in trajmodes.__all__:
        if name == "__version__" or name in SUBMODULES:
            continue
        assert f'id="trajmodes.{name}"' in html, f"api.html has no entry for trajmodes.{name}"
    # the docstrings themselves, not only the signatures: a numpy "Parameters" section rendered by napoleon
    entry = html[html.index('id="trajmodes.read"'):]
    assert "Parameters" in entry[:20000] and "reference" in entry[:20000]
    for module in [*SUBMODULES.values(), "trajmodes.series"]:
        assert f'id="module-{module}"' in html, f"api.html does not document the module {module}"


def test_tutorials_are_downloadable_from_the_site(site):
    got = {p.name for p in (site[0] / "_downloads").rglob("*.ipynb")}
    want = {p.name for p in (ROOT / "examples" / "notebooks").glob("*.ipynb")}
    assert want <= got, f"the site does not offer {sorted(want - got)}"
