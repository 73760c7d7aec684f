"""The guides read as guides: each opens with what to do, and no paragraph is a wall of text.

Every page of the "Guides" section of docs/index.md shows its first code block (a command or a few lines of Python)
on the first screen, before the details: within its first :data:`FIRST_SCREEN_LINES` lines and
:data:`FIRST_SCREEN_WORDS` words of prose. No paragraph of a guide (a list item counts as one) is longer than
:data:`MOST_WORDS` words: longer ones are split under their own headings, and the measurements that justify a
choice live on the validation and defaults pages. No section (the prose between two headings) is longer than
:data:`MOST_SECTION_WORDS` words: a guide reads as phonopy's pages do, the details each under its own heading. The
front page says how to install the package. Text only: no Sphinx build, a fraction of a second.
"""
from __future__ import annotations

import re

import pytest

from tests.support.paths import ROOT

DOCS = ROOT / "docs"
FIRST_SCREEN_LINES = 40
FIRST_SCREEN_WORDS = 250
MOST_WORDS = 150
MOST_SECTION_WORDS = 800

_FENCE = re.compile(r"^\s*(```|~~~)")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+\.)\s")


def guides() -> list[str]:
    """The pages the "Guides" toctree of docs/index.md lists, in its order."""
    text = (DOCS / "index.md").read_text()
    body = re.search(r"^```\{toctree\}\n:caption: Guides\n(.*?)^```", text, re.M | re.S)
    assert body, "docs/index.md has no toctree captioned 'Guides'"
    return [line.strip() for line in body.group(1).splitlines() if line.strip() and not line.startswith(":")]


def paragraphs(text: str) -> list[tuple[int, str]]:
    """The prose paragraphs of a Markdown page as (first line, text): runs of lines outside code blocks, directives,
    tables, headings and HTML comments; a list item starts a paragraph of its own."""
    out: list[tuple[int, list[str]]] = []
    current: list[str] | None = None
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if _FENCE.match(line):
            fenced, current = not fenced, None
            continue
        if fenced or not stripped or stripped.startswith(("#", "|", "<!--")):
            current = None
            continue
        if current is None or _ITEM.match(line):
            current = []
            out.append((number, current))
        current.append(stripped)
    return [(number, " ".join(lines)) for number, lines in out]


def sections(text: str) -> list[tuple[int, str, int]]:
    """(line, heading, words of prose) of every section of a Markdown page: the text before the first heading, then
    each heading (outside code blocks) with the prose up to the next heading of any level."""
    lines = text.splitlines()
    starts: list[tuple[int, str]] = [(0, "")]
    fenced = False
    for number, line in enumerate(lines, 1):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and re.match(r"^#{1,6} ", line):
            starts.append((number, line.strip()))
    ends = [number - 1 for number, _ in starts[1:]] + [len(lines)]
    return [(number, heading, sum(len(p.split()) for _, p in paragraphs("\n".join(lines[number:end]))))
            for (number, heading), end in zip(starts, ends)]


def first_code_block(text: str) -> tuple[int, int] | None:
    """(line, words of prose before it) of the first code block of a page (a fence with a language or none, not a
    directive such as ```{figure}), or None."""
    lines = text.splitlines()
    fenced = False
    for number, line in enumerate(lines, 1):
        m = re.match(r"^\s*(?:```|~~~)(\S*)", line)
        if not m:
            continue
        if not fenced and not m.group(1).startswith("{"):
            before = "\n".join(lines[:number - 1])
            return number, sum(len(p.split()) for _, p in paragraphs(before))
        fenced = not fenced
    return None


def test_the_checks_can_fail():
    """A wall of text, a list item and a late code block are measured as a reader would see them."""
    wall = "# Title\n\n" + "word " * 200 + "\n\n- item one\n- " + "w " * 20 + "\n"
    assert [len(p.split()) for _, p in paragraphs(wall)] == [200, 3, 21]
    assert first_code_block(wall) is None
    late = wall + "\n```{figure} a.png\ncaption\n```\n\n```bash\ntrajmodes fit run.lammpstrj\n```\n"
    assert first_code_block(late) == (12, 224)      # the figure's fences are not code
    assert paragraphs("a\n```python\nx = 1\n\n# comment\n```\nb c\n") == [(1, "a"), (7, "b c")]
    page = "# Title\n\nw w\n\n## One\n\nx\n\n```python\n# not a heading\n```\n\n### Two\n\ny y y\n"
    assert sections(page) == [(0, "", 0), (1, "# Title", 2), (5, "## One", 1), (13, "### Two", 3)]


def test_the_guides_section_lists_the_guides():
    names = guides()
    assert len(names) >= 10 and "fitting" in names and "series" in names, names
    assert all((DOCS / f"{name}.md").is_file() for name in names), names


@pytest.mark.parametrize("name", guides())
def test_guide_opens_with_a_command_or_code(name):
    text = (DOCS / f"{name}.md").read_text()
    first = first_code_block(text)
    assert first is not None, f"docs/{name}.md has no code block: open it with the command or the Python that does its job"
    line, words = first
    assert line <= FIRST_SCREEN_LINES and words <= FIRST_SCREEN_WORDS, (
        f"docs/{name}.md shows its first code block on line {line}, after {words} words: put what the page is for and "
        f"a command or a few lines of Python within the first {FIRST_SCREEN_LINES} lines and {FIRST_SCREEN_WORDS} words")


@pytest.mark.parametrize("name", guides())
def test_guide_paragraphs_are_short(name):
    long = [f"docs/{name}.md:{line}: {len(p.split())} words ({p[:60]}...)"
            for line, p in paragraphs((DOCS / f"{name}.md").read_text()) if len(p.split()) > MOST_WORDS]
    assert not long, (f"paragraphs over {MOST_WORDS} words (split them under headings; move the measurements behind a "
                      f"choice to validation.md or defaults.md):\n" + "\n".join(long))


@pytest.mark.parametrize("name", guides())
def test_guide_sections_are_short(name):
    long = [f"docs/{name}.md:{line}: {words} words under {heading!r}"
            for line, heading, words in sections((DOCS / f"{name}.md").read_text()) if words > MOST_SECTION_WORDS]
    assert not long, (f"sections over {MOST_SECTION_WORDS} words (put the details each under its own heading: "
                      f"what it is for, the command, its output, then the details):\n" + "\n".join(long))


def test_front_page_says_how_to_install():
    text = (DOCS / "index.md").read_text()
    assert re.search(r"^## Install", text, re.M), "docs/index.md has no Install section"
    assert "`trajmodes`" in text and re.search(r"^pip install [^\n]*\.", text, re.M), (
        "docs/index.md does not name the package and the pip command that installs it")
