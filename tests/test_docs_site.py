"""The documentation site builds, warnings as errors, its API reference covers the public API, its sections and
tutorials are there, and a real browser shows its pages with their figures and nothing cut off at the right edge.

``docs/conf.py`` turns the Markdown pages of docs/ into a Sphinx site (myst-nb, the Furo theme) with the API reference
generated from the numpy docstrings (autodoc + napoleon, ``docs/api.md``) and the notebooks of examples/notebooks
executed and rendered with their figures. A docstring that docutils cannot read, a broken link between pages or a
page left out of the table of contents fails the build here (``-W --keep-going``: every warning is listed, then the
build fails); none is filtered. Not nitpicky (``-n``): the numpy type phrases of the docstrings ("ndarray (n, 3)", "array_like,
optional") and their references to internal modules give some 300 unresolved targets.

The build costs about 15 s of CPU time with the executed tutorials in their cache (``docs/_build/tutorials-cache``),
about 60 s more without (the three notebooks run); so every test that needs the site is marked slow. The browser tests
render pages in headless Chromium (Debian: ``apt-get install chromium``), one Chromium process for all the pages of a
test, each in a frame of its window's width (about 1 s a page; a process of its own took 2-3 s); without it they skip,
unless ``TRAJMODES_REQUIRE_BROWSER=1`` (set by .ci/run), where they fail. They test what a reader sees: every table of
every page within the text column at 1400 and 1280 px, none that needs scrolling sideways inside its own box (whose
scrollbar sits below the table, often screens down), every code block with a copy button, the figures loaded.
"""
from __future__ import annotations

import html as htmllib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

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


def test_api_summary_lists_every_public_name():
    """The summary table at the top of docs/api.md lists every public name of ``trajmodes`` (the public submodules
    aside: they have their sections at the end), in the order of their sections on the page, and nothing else."""
    import inspect

    import trajmodes
    found = re.search(r"\.\. autosummary::\n\n((?:   \S+\n)+)", API.read_text())
    assert found, "docs/api.md has lost its summary table (the autosummary at its top)"
    summary = found.group(1).split()
    names = [n for n in trajmodes.__all__ if n != "__version__" and not inspect.ismodule(getattr(trajmodes, n))]
    missing = [n for n in names if n not in summary]
    assert not missing, f"docs/api.md's summary table lacks {missing}: add them to its autosummary"
    extra = [n for n in summary if n not in names]
    assert not extra, f"docs/api.md's summary table lists {extra}, which are not public names of trajmodes"
    sections = [n.split(".", 1)[1] for n in _documented() if n.count(".") == 1 and n.split(".", 1)[1] in names]
    no_section = [n for n in summary if n not in sections]
    assert not no_section, f"docs/api.md summarizes {no_section} without a section (an autodoc directive) for them"
    assert summary == sections, ("docs/api.md's summary table is not in the order of the sections: "
                                 f"{summary} against {sections}")


NUMBERS = ["no", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten", "Eleven", "Twelve"]


def test_index_lists_the_tutorials():
    """The front page links every notebook and says how many there are: the number its list holds."""
    text = (DOCS / "index.md").read_text()
    notebooks = sorted(p.name for p in (ROOT / "examples" / "notebooks").glob("*.ipynb"))
    assert notebooks, "examples/notebooks has no notebook"
    for name in notebooks:
        assert f"<../examples/notebooks/{name}>" in text, f"docs/index.md does not link the tutorial {name}"
    section = text[text.index("## Tutorials"):]
    listed = re.findall(r"^- \{download\}`", section, re.M)
    assert len(listed) == len(notebooks), f"docs/index.md lists {len(listed)} tutorials, examples has {len(notebooks)}"
    said = re.search(r"^(\w+) Jupyter notebooks", section, re.M)
    assert said and said.group(1) == NUMBERS[len(listed)], (
        f"docs/index.md says {said.group(1) if said else 'no number of'} Jupyter notebooks and lists {len(listed)}")


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


#: pages whose physics must be equations, and an equation (LaTeX, as MathJax receives it) each must show as a block
EQUATION_PAGES = {
    "transport": r"\kappa_{ab}",                  # the Green-Kubo integral
    "phonons": r"D_{kk'}(\mathbf{q})",            # the dynamical matrix
    "polar": r"C_{k\alpha, k'\beta}(\mathbf{q})",  # the Gonze-Lee Ewald sum
    "free_energy": r"\int_0^1",                   # the thermodynamic integration
    "anharmonic": r"\Gamma_\lambda",              # the three-phonon width
}
_MATH = re.compile(r'<(span|div) class="math notranslate nohighlight">(.*?)</\1>', re.S)


def rendered_text(page_html: str) -> str:
    """What a page's article says in prose: its text without code, scripts and math."""
    body = page_html[page_html.find("<article"):page_html.rfind("</article>")]
    body = re.sub(r"<(script|style|pre|code)\b.*?</\1>", " ", body, flags=re.S)
    body = _MATH.sub(" ", body)
    return htmllib.unescape(re.sub(r"<[^>]+>", "", body))


def test_rendered_text_leaves_out_code_and_math():
    page = ('<article>a <code>$HOME</code> and <span class="math notranslate nohighlight">\\(x_k\\)</span>'
            '<pre>$ ls</pre> b $5</article>')
    assert rendered_text(page).split() == ["a", "and", "b", "$5"]


@pytest.mark.slow
def test_equations_are_rendered_as_math(site):
    """The physics is written as equations (MyST's dollar math), rendered by MathJax: the Green-Kubo integral and
    the cepstral sum of the transport page, the dynamical matrix, the Gonze-Lee sum, the thermodynamic integration
    and the three-phonon width are math blocks, not code or plain text. No page shows a literal dollar sign (a formula
    MyST did not read as math) or has underscores of a formula turned into italics."""
    page = (site[0] / "transport.html").read_text()
    blocks = re.findall(r'<div class="math notranslate nohighlight">(.*?)</div>', page, re.S)
    assert any(r"\kappa_{ab}" in b and r"\int_0^\infty" in b for b in blocks), blocks[:3]
    assert any(r"\log S(0)" in b for b in blocks)
    assert "kappa_ab = 1 / (V k_B" not in page and "<em>k</em>" not in page
    assert 'mathjax' in page.lower()
    for name, latex in EQUATION_PAGES.items():
        page = (site[0] / f"{name}.html").read_text()
        maths = [m.group(2) for m in _MATH.finditer(page)]
        shown = [m.group(2) for m in _MATH.finditer(page) if m.group(1) == "div"]
        assert len(maths) >= 20 and any(latex in b for b in shown), (
            f"{name}.html: {len(maths)} formulas, {len(shown)} displayed; none shows {latex}")
    for md in sorted(DOCS.glob("*.md")):
        text = rendered_text((site[0] / f"{md.stem}.html").read_text())
        dollars = [text[max(0, m.start() - 40):m.end() + 40] for m in re.finditer(r"\$", text)]
        assert not dollars, f"{md.stem}.html shows a literal $ (a formula not read as math): {dollars[:3]}"


def _markdown_tokens(text: str):
    """The inline tokens of a page as MyST parses it with the site's extensions (dollar math: $...$ is a math token,
    not text)."""
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser
    md = create_md_parser(MdParserConfig(enable_extensions=set(_conf().myst_enable_extensions)), RendererHTML)
    stack = list(md.parse(text))
    while stack:
        token = stack.pop(0)
        yield token
        stack[:0] = token.children or []


def test_no_formula_turns_text_italic_or_shows_a_dollar():
    """In the Markdown of every page, no underscore makes emphasis (the pages write italics with asterisks; an
    underscore pair in prose was a formula's subscripts turning two lines italic) and no dollar sign is left as text
    (a formula MyST does not read as math)."""
    assert [t.markup for t in _markdown_tokens("a _b_ and $x_k$ and *c*") if t.type == "em_open"] == ["_", "*"]
    problems = []
    for page in sorted(DOCS.glob("*.md")):
        for token in _markdown_tokens(page.read_text()):
            if token.type in ("em_open", "strong_open") and "_" in token.markup:
                problems.append(f"docs/{page.name}: an underscore makes emphasis")
            if token.type == "text" and "$" in token.content:
                problems.append(f"docs/{page.name}: a literal $ in {token.content[:80]!r}")
    assert not problems, "\n".join(problems)


def test_links_name_pages_by_title():
    """A link whose text is a page's file name ("fitting.md") shows the page's title (docs/conf.py does it for the
    generated pages); the pages themselves write "[](fitting.md)", which MyST titles."""
    conf = _conf()
    titles = {"fitting": "Effective force constants from MD (TDEP)"}
    assert conf.titled_link_text("fitting.md", titles) == titles["fitting"]
    assert conf.titled_link_text("docs/fitting.md#a-section", titles) == titles["fitting"]
    assert conf.titled_link_text("the fitting guide", titles) is None
    pattern = re.compile(r"\[(?:docs/)?[\w-]+\.md\]\(")
    named = [f"docs/{p.name}" for p in sorted(DOCS.glob("*.md")) if pattern.search(p.read_text())
             and p.name not in GENERATED_PAGES]
    assert not named, f"links that show a file name instead of the page's title ([](page.md) shows it): {named}"


def test_table_cells_keep_their_code():
    """A "|" inside inline code in a table row ends the cell there (GFM tables): the Defaults page showed
    `--path "GHNGPH` and lost the rest of its "override" cell. Such a bar is written "\\|"."""
    cut = []
    for page in sorted(DOCS.glob("*.md")):
        for number, line in enumerate(page.read_text().splitlines(), 1):
            if line.startswith("|"):
                cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
                cut += [f"docs/{page.name}:{number}: {c.strip()[:60]}" for c in cells if c.count("`") % 2]
    assert not cut, "table cells whose code a bare | cuts off:\n" + "\n".join(cut)


#: pages written by a program (their links are titled by docs/conf.py when the site is built)
GENERATED_PAGES = {"cli.md": "trajmodes.cli.reference", "benchmarks.md": "benchmarks/run_all.py"}


@pytest.mark.slow
def test_links_show_titles_on_the_site(site):
    """On the built site no link between pages shows a file name as its text."""
    bad = []
    for md in sorted(DOCS.glob("*.md")):
        page = (site[0] / f"{md.stem}.html").read_text()
        body = page[page.find("<article"):page.rfind("</article>")]
        for text in re.findall(r'<a class="reference internal"[^>]*>(.*?)</a>', body, re.S):
            text = htmllib.unescape(re.sub(r"<[^>]+>", "", text)).strip()
            if re.fullmatch(r"(?:docs/)?[\w-]+\.md(?:#\S*)?", text):
                bad.append(f"{md.stem}.html: {text}")
    assert not bad, bad


# -- Citing and the changelog -----------------------------------------------------------------------------------------
#: a paper docs/citing.md names for each method (its journal reference as the page writes it)
CITED = {
    "TDEP": "Phys. Rev. B **84**, 180301", "TDEP free energy": "Phys. Rev. B **87**, 104111",
    "cepstral analysis": "Sci. Rep. **7**, 15835", "Green-Kubo modal analysis": "New J. Phys. **18**, 013028",
    "spectral decomposition": "Phys. Rev. B **99**, 064308", "normal-mode analysis": "Phys. Rev. B **69**, 094303",
    "dynamic structure factor (dynasor)": "Adv. Theory Simul. **4**, 2000240",
    "Wigner transport": "Nat. Phys. **15**, 809", "Allen-Feldman": "Phys. Rev. B **48**, 12581",
    "block averaging": "J. Chem. Phys. **91**, 461", "Gonze-Lee dipole-dipole": "Phys. Rev. B **55**, 10355",
}


def test_citing_page_names_the_methods_papers():
    text = (DOCS / "citing.md").read_text()
    missing = [method for method, ref in CITED.items() if ref not in text]
    assert not missing, f"docs/citing.md does not cite the paper of {missing}"


def test_changelog_page_includes_the_changelog():
    """docs/changelog.md includes CHANGELOG.md (MyST's include directive), so the two cannot differ."""
    text = (DOCS / "changelog.md").read_text()
    assert re.search(r"^```\{include\} \.\./CHANGELOG\.md$", text, re.M), text


@pytest.mark.slow
def test_changelog_is_on_the_site(site):
    html = (site[0] / "changelog.html").read_text()
    page = htmllib.unescape(re.sub(r"<[^>]+>", "", html)).replace("\u2019", "'")
    headings = re.findall(r"^#{2,3} (.+)$", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert headings and all(h.replace("`", "") in page for h in headings[:3]), headings[:3]


@pytest.mark.slow
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


@pytest.mark.slow
def test_tutorials_are_downloadable_from_the_site(site):
    got = {p.name for p in (site[0] / "_downloads").rglob("*.ipynb")}
    want = {p.name for p in (ROOT / "examples" / "notebooks").glob("*.ipynb")}
    assert want <= got, f"the site does not offer {sorted(want - got)}"


# -- Sections, the getting-started page and its figures (no build) ----------------------------------------------------
#: the captions of the front page's toctrees: the sections of the site's navigation, in order
SECTIONS = ["Getting started", "Guides", "Tutorials", "Reference", "Validation", "Benchmarks", "Development"]
PNG = b"\x89PNG\r\n\x1a\n"


def _conf():
    import importlib.util
    spec = importlib.util.spec_from_file_location("trajmodes_docs_conf", DOCS / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return conf


def test_every_page_is_in_a_section():
    text = (DOCS / "index.md").read_text()
    captions = re.findall(r"^```\{toctree\}\n(?:.*\n)*?:caption: (.+)$", text, re.M)
    assert captions == SECTIONS, f"docs/index.md: the sections (toctree captions) are {captions}, not {SECTIONS}"
    outside = _conf().pages_outside_the_toctrees(text, DOCS)
    assert not outside, (f"docs/index.md names no section for {outside}: add each to the toctree of its section "
                         f"(until then the site lists it under 'More')")
    for body in re.findall(r"^```\{toctree\}\n(.*?)^```", text, re.M | re.S):
        assert ":titlesonly:" in body and ":maxdepth: 1" in body, (
            "every section of docs/index.md lists pages, not their headings (:maxdepth: 1, :titlesonly:)")


def test_pages_outside_the_toctrees_are_found(tmp_path):
    """The check above can fail: a page that no toctree names is reported."""
    for name in ("index", "a", "b", "c"):
        (tmp_path / f"{name}.md").write_text(f"# {name}\n")
    text = "```{toctree}\n:caption: X\n:maxdepth: 1\n\na\nB page <b>\n```\n"
    assert _conf().pages_outside_the_toctrees(text, tmp_path) == ["c"]


def titles(text: str) -> list[str]:
    """The level-one headings of a Markdown page, outside its code blocks."""
    out, fenced = [], False
    for line in text.splitlines():
        fenced ^= line.lstrip().startswith(("```", "~~~"))
        if not fenced and line.startswith("# "):
            out.append(line[2:].strip())
    return out


def test_every_page_has_one_title():
    """A second level-one heading is a second top-level section of its page, which the navigation lists beside the
    page (as the tables' titles of benchmarks.md were, before benchmarks/run_all.py wrote them three levels down)."""
    assert titles("# A\n```bash\n# a comment\n```\n## b\n# C\n") == ["A", "C"]
    many = {p.name: t for p in sorted(DOCS.glob("*.md")) if len(t := titles(p.read_text())) != 1}
    assert not many, f"pages without exactly one level-one heading (# title): {many}"


def test_getting_started_shows_the_readme_main_job_and_its_figure():
    """docs/getting_started.md runs the README's main job as written (less its install step), and its figures are
    the ones that command writes, made by docs/figures/getting_started/make.sh with that same command."""
    from tests.support.readme_blocks import commands, tagged
    main_job = " ".join(commands(tagged("main-job")))
    run = main_job.split("&&")[-1].strip()
    assert run.startswith("trajmodes run "), main_job
    page = (DOCS / "getting_started.md").read_text()
    make = (DOCS / "figures" / "getting_started" / "make.sh").read_text()
    # the page breaks the command over lines (" \\" at their ends) so that it does not scroll sideways
    shown_commands = [re.sub(r"\\\n\s*", "", block)
                      for block in re.findall(r"^```bash\n(.*?)^```", page, re.M | re.S)]
    assert f"{run}\n" in shown_commands, f"docs/getting_started.md does not show the README's main job: {run}"
    assert f"\n{run}\n" in make, f"docs/figures/getting_started/make.sh does not run the README's main job: {run}"
    shown = re.findall(r"^```\{figure\} (\S+)$", page, re.M)
    front = re.findall(r"^```\{figure\} (\S+)$", (DOCS / "index.md").read_text(), re.M)
    assert len(shown) >= 2 and front, "docs/getting_started.md and docs/index.md show the figures it makes"
    for figure in {*shown, *front}:
        path = DOCS / figure
        assert path.is_file() and path.read_bytes()[:8] == PNG, f"docs/{figure} is not a PNG file"
        assert path.name in make, f"docs/figures/getting_started/make.sh does not make {figure}"


# -- The built site: navigation and tutorials ------------------------------------------------------------------------
def _images(page_html: str) -> list[str]:
    return re.findall(r'<img[^>]*\ssrc="([^"]+)"', page_html)


@pytest.mark.slow
def test_navigation_lists_the_sections_and_their_pages(site):
    """The sidebar: the sections in order, every page once, and no page's headings (benchmarks.md alone has some 40)."""
    html = (site[0] / "index.html").read_text()
    tree = html[html.index('class="sidebar-tree"'):]
    tree = tree[:tree.index('<div class="main">')]                     # Furo: the sidebar, then the page
    captions = [htmllib.unescape(c) for c in re.findall(r'<span class="caption-text">(.*?)</span>', tree)]
    assert captions == SECTIONS, captions
    links = re.findall(r'<a class="reference internal[^"]*" href="([^"]*)"', tree)
    assert not [x for x in links if "#" in x], f"the navigation lists headings: {[x for x in links if '#' in x]}"
    pages = [p for p in DOCS.glob("*.md") if p.stem != "index"] + list((ROOT / "examples/notebooks").glob("*.ipynb"))
    assert len(links) == len(set(links)) == len(pages), (len(links), len(set(links)), len(pages))


@pytest.mark.slow
def test_tutorials_are_rendered_with_their_figures(site):
    """Each notebook of examples/notebooks is a page of the site, executed: its figures are PNG files of the site,
    and it links its own download."""
    for nb in sorted((ROOT / "examples" / "notebooks").glob("*.ipynb")):
        page = site[0] / "tutorials" / f"{nb.stem}.html"
        assert page.is_file(), f"the site has no page for the tutorial {nb.name}"
        text = page.read_text()
        images = _images(text)
        assert len(images) >= 2, f"{page.name}: {len(images)} figure(s); the notebook draws at least two"
        for src in images:
            assert (page.parent / src).read_bytes()[:8] == PNG, f"{page.name}: {src} is not a PNG of the site"
        assert f"{nb.name}" in text and "_downloads/" in text, f"{page.name} does not offer {nb.name} for download"


# -- The built site in a browser --------------------------------------------------------------------------------------
_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: run in the page after it loaded: its figures, its code blocks and its width, written into the DOM as JSON
_PROBE = """<script>
window.addEventListener("load", () => {
  const scrolls = (el) => { for (; el && el !== document.body; el = el.parentElement) {
      const o = getComputedStyle(el).overflowX; if (o === "auto" || o === "scroll") return true; } return false; };
  const out = {
    window: window.innerWidth, page: document.documentElement.scrollWidth,
    images: [...document.images].map(i => ({src: i.getAttribute("src"), width: i.naturalWidth,
                                             shown: i.getBoundingClientRect().width})),
    code: [...document.querySelectorAll("pre")].map(p => ({text: p.textContent.slice(0, 50), content: p.scrollWidth,
            box: p.clientWidth, scrolls: scrolls(p), wraps: getComputedStyle(p).whiteSpace.startsWith("pre-wrap")})),
    // the text column (Furo's article) and every table in it: its right edge, and whether its box scrolls sideways
    column: (document.querySelector("article[role=main]") || document.body).getBoundingClientRect().right,
    tables: [...document.querySelectorAll("article table")].filter(t => !t.closest(".highlight")).map(t => {
      const box = t.closest(".table-wrapper") || t.parentElement;
      return {head: (t.querySelector("tr") || t).textContent.replace(/\\s+/g, " ").trim().slice(0, 60),
              right: t.getBoundingClientRect().right, content: box.scrollWidth, box: box.clientWidth}; }),
    // the copy buttons (sphinx-copybutton) beside the highlighted code blocks
    blocks: document.querySelectorAll("div.highlight pre").length,
    buttons: document.querySelectorAll("div.highlight button.copybtn").length,
  };
  window.parent.postMessage(JSON.stringify(out), "*");       // to the batch page that loaded it in a frame
});
</script>"""
#: the batch page: loads each page's probe in turn in a frame of its window's width (its viewport: the page's media
#: queries and layout as in a window that wide) and 900 px high, collects what each probe reports, then writes the list
_BATCH = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0">
<script>
const jobs = JOBS;
const results = [];
let k = 0, frame = null;
const next = () => {
  if (frame) frame.remove();
  if (k >= jobs.length) {
    const pre = document.createElement("pre"); pre.id = "trajmodes-browser-probe";
    pre.textContent = JSON.stringify(results); document.body.appendChild(pre); return;
  }
  frame = document.createElement("iframe");
  frame.style.cssText = `border:0;display:block;width:${jobs[k].width}px;height:900px`;
  frame.src = jobs[k].src;
  document.body.appendChild(frame);
};
window.addEventListener("message", (e) => {
  if (!frame || e.source !== frame.contentWindow) return;
  results.push(JSON.parse(e.data)); k++; next();
});
next();
</script></body></html>"""
#: pages rendered (page, least figures it shows) at a desktop width and a phone's
PAGES = {"index.html": 1, "getting_started.html": 2, "quasiharmonic.html": 1, "tutorials/01_md_to_phonons.html": 2,
         "cli.html": 0, "benchmarks.html": 0}
NARROW = ("index.html", "getting_started.html")


@pytest.fixture(scope="module")
def chromium() -> str:
    exe = next(filter(None, map(shutil.which, _BROWSERS)), None)
    if exe is None:
        why = (f"no headless browser to render the documentation site in (none of {', '.join(_BROWSERS)} on PATH; "
               f"Debian/Ubuntu: apt-get install chromium)")
        if os.environ.get("TRAJMODES_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{why}, and TRAJMODES_REQUIRE_BROWSER=1")
        pytest.skip(why)
    return exe


def _chromium(exe: str, *args: str, pages: int = 1) -> subprocess.CompletedProcess:
    """Headless Chromium with ``args``, given 10 s of virtual time (the page's own clock: it runs ahead when the page
    is idle) for each of its ``pages`` to load and settle."""
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
           "--run-all-compositor-stages-before-draw", f"--virtual-time-budget={10000 * pages}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120 + 10 * (pages - 1))


def browser_reports(exe: str, html: Path, jobs: list[tuple[str, int]]) -> tuple[list[dict | None], str]:
    """What the probe (:data:`_PROBE`) reports for each page ``name`` of the site ``html`` as Chromium shows it in a
    window ``width`` pixels wide, for ``jobs`` = [(name, width), ...], in order (None for a page whose report did not
    come), and Chromium's stderr. One Chromium process renders them all, one after the other, each in a frame of its
    width (:data:`_BATCH`): starting Chromium is most of the 2-3 s a page took in a process of its own."""
    probes, names = [], {}
    for name, _ in jobs:
        if name not in names:
            page = html / name
            probe = page.with_name(f"{page.stem}.browser-probe.html")      # beside it: its relative links hold
            probe.write_text(page.read_text().replace("</body>", _PROBE + "</body>"))
            probes.append(probe)
            names[name] = probe.relative_to(html).as_posix()
    batch = html / "browser-probe-batch.html"
    batch.write_text(_BATCH.replace("JOBS", json.dumps([{"src": names[n], "width": w} for n, w in jobs])))
    try:
        run = _chromium(exe, f"--window-size={max(w for _, w in jobs)},900", "--dump-dom", batch.as_uri(),
                        pages=len(jobs))
    finally:
        for probe in [*probes, batch]:
            probe.unlink()
    m = re.search(r'<pre id="trajmodes-browser-probe">(.*?)</pre>', run.stdout, re.S)
    got = json.loads(htmllib.unescape(m.group(1))) if m else []
    return got + [None] * (len(jobs) - len(got)), f"(exit {run.returncode}): {run.stderr[-1500:]}"


def browser_problems(exe: str, html: Path, jobs: list[tuple[str, int, int, bool]]) -> list[str]:
    """What is wrong with each page ``name`` of the site ``html`` as Chromium shows it in a window ``width`` pixels
    wide, for ``jobs`` = [(name, width, least_figures, tables), ...] (rendered in one Chromium process:
    :func:`browser_reports`): a figure that does not load (or is not a PNG file of the site), fewer figures than
    ``least_figures``, a code block wider than its box that neither scrolls nor wraps, a highlighted code block without
    a copy button, a page wider than the window (something cut off at its right edge) and, with ``tables``, a table
    whose right edge is past the text column or the window, or that is wider than its box (it scrolls sideways, its
    scrollbar below its last row, out of view: the reader sees a column cut off)."""
    reports, stderr = browser_reports(exe, html, [(name, width) for name, width, _, _ in jobs])
    out = []
    for (name, width, least_figures, tables), got in zip(jobs, reports):
        if got is None:
            out.append(f"{name} at {width} px: Chromium did not run the page's check {stderr}")
            continue
        out += _page_problems(got, html / name, name, least_figures, tables)
    return out


def _page_problems(got: dict, page: Path, name: str, least_figures: int, tables: bool) -> list[str]:
    """The problems of one page's probe report ``got`` (:func:`browser_problems`)."""
    where = f"{name} at {got['window']} px"
    out = []
    if got["page"] > got["window"]:
        out.append(f"{where}: the page is {got['page']} px wide, wider than the window: its right edge is cut off")
    images = got["images"]
    if len(images) < least_figures:
        out.append(f"{where}: {len(images)} figure(s), not at least {least_figures}")
    for img in images:
        file = (page.parent / img["src"]).resolve()
        if img["width"] == 0:
            out.append(f"{where}: the figure {img['src']} does not load")
        elif not file.is_file() or file.read_bytes()[:8] != PNG:
            out.append(f"{where}: the figure {img['src']} is not a PNG file of the site")
        elif img["shown"] < min(200, img["width"]):
            out.append(f"{where}: the figure {img['src']} is shown {img['shown']:.0f} px wide")
    for block in got["code"]:
        if block["content"] > block["box"] + 1 and not (block["scrolls"] or block["wraps"]):
            out.append(f"{where}: a code block is cut off ({block['content']} px in a {block['box']} px box, neither "
                       f"scrolls nor wraps): {block['text']!r}")
    if got["buttons"] < got["blocks"]:
        out.append(f"{where}: {got['blocks'] - got['buttons']} of {got['blocks']} code blocks have no copy button")
    edge = min(got["column"], got["window"]) + 1
    for table in got["tables"] if tables else []:
        if table["right"] > edge:
            out.append(f"{where}: a table ends at {table['right']:.0f} px, past the text column's edge at "
                       f"{edge - 1:.0f} px: {table['head']!r}")
        elif table["content"] > table["box"] + 1:
            out.append(f"{where}: a table is {table['content']} px wide in a {table['box']} px box: its right columns "
                       f"are out of view until it is scrolled sideways: {table['head']!r}")
    return out


@pytest.mark.slow
def test_pages_in_a_browser(chromium, site):
    """The front page, the getting-started page, a guide with a figure, a tutorial and the two widest pages (the
    command-line reference's table, the benchmarks' tables), rendered by Chromium at 1280 px and the first two also
    at a phone's 500 px: their figures load and nothing is cut off at the right edge."""
    html = site[0]
    jobs = [(name, width, figures, width >= TABLE_WIDTHS[-1])
            for name, figures in PAGES.items() for width in ((1280, 500) if name in NARROW else (1280,))]
    t0 = time.perf_counter()
    problems = browser_problems(chromium, html, jobs)
    print(f"{len(jobs)} renderings in {time.perf_counter() - t0:.1f} s")
    assert not problems, "\n".join(problems)


#: the window widths at which every table of the site must fit its text column: a desktop reader's, and a laptop's
TABLE_WIDTHS = (1400, 1280)


def pages_with_tables(html: Path) -> list[str]:
    """The pages of the site (docs/*.md and the tutorials) that hold a table."""
    pages = [f"{p.stem}.html" for p in sorted(DOCS.glob("*.md"))]
    pages += [f"tutorials/{p.stem}.html" for p in sorted((ROOT / "examples" / "notebooks").glob("*.ipynb"))]
    return [name for name in pages if "<table" in (html / name).read_text()]


@pytest.mark.slow
def test_tables_fit_the_text_column(chromium, site):
    """Every table of every page, as Chromium shows it at 1400 and 1280 px: its right edge within the text column
    and the window, and no table wider than its box (one that scrolls sideways inside its box counts as cut: its
    scrollbar is below its last row, screens down, and the columns past the edge are out of view). The cells wrap
    (docs/_static/trajmodes.css); the Defaults page's "why (measured)" and "override" columns and the command-line
    reference's "default" column were cut at the right edge before it."""
    html = site[0]
    names = pages_with_tables(html)
    assert {"defaults.html", "cli.html", "benchmarks.html"} <= set(names), names
    jobs = [(name, width, 0, True) for width in TABLE_WIDTHS for name in names]
    t0 = time.perf_counter()
    problems = browser_problems(chromium, html, jobs)
    print(f"{len(jobs)} renderings in {time.perf_counter() - t0:.1f} s")
    assert not problems, "\n".join(problems)


#: a page laid out as the site's (a text column, Furo's article), with one table of the given width
_TABLE_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0">
<article role="main" style="width:600px"><p>text</p><div class="table-wrapper"><table style="width:WIDTHpx">
<tr><th>head WIDTH</th></tr><tr><td>cell</td></tr></table></div></article></body></html>"""


@pytest.mark.slow
def test_the_browser_check_finds_a_table_wider_than_the_column(chromium, tmp_path):
    """The check of the tables catches a table wider than the text column, in a batch of pages that Chromium renders
    in one process, each at its own width, and names that page alone: a 900 px table in a 600 px column fails at
    1000 px, and a 500 px one passes at 1000 px and 700 px (the same pages, one after the other, in one batch)."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "narrow.html").write_text(_TABLE_PAGE.replace("WIDTH", "500"))
    (tmp_path / "sub" / "wide.html").write_text(_TABLE_PAGE.replace("WIDTH", "900"))
    jobs = [("narrow.html", 1000, 0, True), ("sub/wide.html", 1000, 0, True), ("narrow.html", 700, 0, True)]
    problems = browser_problems(chromium, tmp_path, jobs)
    assert len(problems) == 1 and problems[0].startswith("sub/wide.html at 1000 px: a table ends at"), problems
    assert "past the text column's edge at 600 px: 'head 900'" in problems[0], problems
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["narrow.html", "sub", "wide.html"], "probes left behind"
    reports, _ = browser_reports(chromium, tmp_path, [(name, width) for name, width, _, _ in jobs])
    assert [r["window"] for r in reports] == [1000, 1000, 700]
    assert [[t["head"] for t in r["tables"]] for r in reports] == [["head 500"], ["head 900"], ["head 500"]]


@pytest.mark.slow
def test_screenshots_of_the_front_page_and_a_guide(chromium, site, tmp_path):
    """Screenshots for a person to look at (the paths are printed; into the folder $TRAJMODES_SCREENSHOTS where set):
    real images of the page, not a blank window."""
    from PIL import Image
    folder = Path(os.environ.get("TRAJMODES_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("index.html", "getting_started.html"):
        shot = folder / name.replace(".html", ".png")
        run = _chromium(chromium, "--hide-scrollbars", "--window-size=1280,1400", f"--screenshot={shot}",
                        (site[0] / name).as_uri())
        assert shot.is_file(), f"Chromium wrote no screenshot of {name} (exit {run.returncode}): {run.stderr[-1500:]}"
        print(f"screenshot of {name}: {shot}")
        with Image.open(shot) as im:
            assert im.size == (1280, 1400), im.size
            colours = im.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colours is None or len(colours) > 200, f"the screenshot of {name} is nearly blank ({len(colours)} colours)"


#: run in a page with equations once MathJax has typeset it (its startup promise; at once where MathJax never
#: loaded): the formulas Sphinx marked up, the MathJax output elements, and the formulas left as raw LaTeX
_MATH_PROBE = """<script>
window.addEventListener("load", () => {
  const report = () => {
    const marked = [...document.querySelectorAll("span.math, div.math")];
    const out = {marked: marked.length, typeset: document.querySelectorAll("mjx-container").length,
                 mathjax: !!(window.MathJax && window.MathJax.version), version: (window.MathJax || {}).version,
                 raw: marked.filter(e => !e.querySelector("mjx-container")).map(e => e.textContent.slice(0, 60))};
    const pre = document.createElement("pre"); pre.id = "trajmodes-math-probe";
    pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
  };
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) mj.startup.promise.then(report, report); else report();
});
</script>"""
#: pages whose equations must be typeset in the browser, offline
MATH_PAGES = ("transport.html", "phonons.html")


@pytest.mark.slow
def test_equations_are_typeset_offline(chromium, site):
    """The site carries MathJax (sphinx-mathjax-offline: ``_static/mathjax``), so that its equations are typeset
    without internet: every page with math loads it from the site itself, and Chromium with no network (every http(s)
    request sent to a closed port) turns every formula of the Green-Kubo and dynamical-matrix pages into MathJax's
    output (``mjx-container``), none left as raw LaTeX. Before, MathJax came from a CDN and offline every formula
    showed as its LaTeX source."""
    html = site[0]
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file(), "the site does not carry MathJax"
    problems = []
    for name in MATH_PAGES:
        page = html / name
        text = page.read_text()
        remote = re.findall(r'<script[^>]*src="((?:https?:)?//[^"]*)"', text)
        if remote:
            problems.append(f"{name}: scripts from the network: {remote}")
        probe = page.with_name(f"{page.stem}.math-probe.html")
        probe.write_text(text.replace("</body>", _MATH_PROBE + "</body>"))
        try:
            run = _chromium(chromium, "--window-size=1280,900", "--proxy-server=http://127.0.0.1:9",
                            "--proxy-bypass-list=<-loopback>", "--dump-dom", probe.as_uri())
        finally:
            probe.unlink()
        m = re.search(r'<pre id="trajmodes-math-probe">(.*?)</pre>', run.stdout, re.S)
        if not m:
            problems.append(f"{name}: Chromium did not run the page's check (exit {run.returncode}): "
                            f"{run.stderr[-1500:]}")
            continue
        got = json.loads(htmllib.unescape(m.group(1)))
        print(f"{name}: MathJax {got['version']}, {got['typeset']} typeset of {got['marked']} formulas")
        if not got["mathjax"]:
            problems.append(f"{name}: MathJax did not load offline")
        if got["marked"] < 20 or got["typeset"] < got["marked"] or got["raw"]:
            problems.append(f"{name}: {got['typeset']} of {got['marked']} formulas typeset (mjx-container); left as "
                            f"LaTeX: {got['raw'][:3]}")
    assert not problems, "\n".join(problems)
