"""Every Python example of the documentation pages runs, as written, on the shipped examples.

The ```python blocks of each page of docs/ run in order in one namespace per page (a later block may use what an
earlier one made, as a reader following the page would), in a temporary folder that holds a private copy of the
repository's ``examples/`` (the readers write frame indexes beside the files they read). A block that cannot run
here opts out with an HTML comment on the line before its fence, invisible on the rendered page, that says why:

    <!-- no-run: needs LAMMPS' Python module and runs for minutes -->

and a block that takes long is tagged ``<!-- ci: slow -->`` (the README's convention): its page then runs only in
the whole suite. README.md's blocks are run by tests/test_readme.py (shell commands too); here it is only checked
that that test runs every one of them, so that no block is run twice.

Pages left out: those of :data:`NOT_HERE`, edited elsewhere at the time this test was written; their blocks are
still to be made runnable.
"""
from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.paths import EXAMPLES, ROOT

DOCS = ROOT / "docs"
#: pages whose examples are not run here, and why
NOT_HERE = {
    "anharmonic.md": "edited elsewhere; its example fits Si with fc3 and runs Anharmonic on a 12^3 mesh",
    "polar.md": "edited elsewhere; its example is a fragment (Z, eps, traj and q are the reader's)",
    "scattering.md": "edited elsewhere",
    "benchmarks.md": "edited elsewhere; measurements, no Python blocks",
}
_FENCE = re.compile(r"^```(\w*|\{[\w-]+\}.*)\s*$")      # a code block, or a MyST directive (```{figure} ...)
_TAG = re.compile(r"^<!--\s*(no-run|ci):\s*(.*?)\s*-->\s*$")


@dataclass
class Snippet:
    page: str
    line: int                   # 1-based line of the opening fence
    code: str
    skip: str | None = None     # the reason given by <!-- no-run: ... -->
    slow: bool = False


def snippets(path: Path) -> list[Snippet]:
    """The ```python blocks of a Markdown page with their tags (a tag applies to the next block, blank lines
    between allowed)."""
    lines = path.read_text().splitlines()
    out, tag, i = [], None, 0
    while i < len(lines):
        m = _TAG.match(lines[i].strip())
        if m:
            tag = m.groups()
            i += 1
            continue
        f = _FENCE.match(lines[i])
        if f:
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            if f.group(1) == "python":
                skip = tag[1] if tag and tag[0] == "no-run" else None
                slow = bool(tag and tag[0] == "ci" and tag[1].split()[:1] == ["slow"])
                out.append(Snippet(path.name, i + 1, "\n".join(lines[i + 1:j]) + "\n", skip, slow))
            tag, i = None, j + 1
            continue
        if lines[i].strip():
            tag = None
        i += 1
    return out


def _pages() -> list[Path]:
    return sorted(p for p in DOCS.glob("*.md") if p.name not in NOT_HERE)


def _params():
    out = []
    for page in _pages():
        blocks = snippets(page)
        if any(b.skip is None for b in blocks):
            slow = any(b.slow for b in blocks if b.skip is None)
            out.append(pytest.param(page, id=page.stem, marks=[pytest.mark.slow] if slow else []))
    return out


@pytest.fixture(scope="module")
def examples_copy(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("docs-snippets") / "examples"
    shutil.copytree(EXAMPLES, d, ignore=shutil.ignore_patterns(".*", "__pycache__", "notebooks"))
    return d


@pytest.fixture
def workdir(tmp_path, examples_copy, monkeypatch) -> Path:
    (tmp_path / "examples").symlink_to(examples_copy, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return tmp_path


@pytest.mark.parametrize("page", _params())
def test_page_examples_run(page, workdir):
    namespace = {"__name__": "__docs__"}
    for block in snippets(page):
        if block.skip is not None:
            continue
        t0 = time.perf_counter()
        try:
            exec(compile(block.code, f"docs/{page.name} line {block.line}", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"the example at docs/{page.name} line {block.line} fails: "
                                 f"{type(exc).__name__}: {exc}") from exc
        print(f"docs/{page.name} line {block.line}: {time.perf_counter() - t0:.1f} s")


def test_opt_outs_say_why():
    """``<!-- no-run -->`` is for blocks that cannot run here, with the reason on the page for the next reader."""
    for page in _pages():
        for b in snippets(page):
            if b.skip is not None:
                assert len(b.skip.split()) >= 3, (f"docs/{page.name} line {b.line}: say why the block does not run: "
                                                  "<!-- no-run: reason -->")


def test_every_page_is_run_or_named():
    """A page with Python examples is run here unless it is one of NOT_HERE (which says why)."""
    pages = {p.name for p in DOCS.glob("*.md")}
    assert _params(), "no documentation page has a runnable Python example"
    for name, why in NOT_HERE.items():
        assert why, name
    ran = {p.values[0].name for p in _params()}
    for page in _pages():
        if any(b.skip is None for b in snippets(page)):
            assert page.name in ran
    assert pages - set(NOT_HERE) == {p.name for p in _pages()}


def test_readme_examples_are_run_by_the_readme_test():
    """README.md's Python blocks are tests/test_readme.py's to run, every one of them: not repeated here."""
    from tests.support.readme_blocks import README, blocks
    from tests.test_readme import _params as readme_params
    run = {p.values[0].line for p in readme_params()}
    python = [b for b in blocks(README) if b.lang == "python"]
    assert python, "README.md has no Python example"
    missed = [b.line for b in python if b.line not in run]
    assert not missed, f"tests/test_readme.py does not run the Python blocks of README.md at lines {missed}"
