"""The documentation site builds, warnings as errors, its API reference covers the public API, its sections and
tutorials are there, and a real browser shows its pages with their figures and nothing cut off at the right edge.

``docs/conf.py`` turns the Markdown pages of docs/ into a Sphinx site (myst-nb, the Furo theme) with the API reference
generated from the numpy docstrings (autodoc + napoleon, ``docs/api.md``) and the notebooks of examples/notebooks
executed and rendered with their figures. A docstring that docutils cannot read, a broken link between pages or a
page left out of the table of contents fails the build here (``-W --keep-going``: every warning is listed, then the
build fails). The few known warnings from files edited elsewhere are filtered one by one in ``docs/conf.py``
(``KNOWN_WARNINGS``). Not nitpicky (``-n``): the numpy type phrases of the docstrings ("ndarray (n, 3)", "array_like,
optional") and their references to internal modules give some 300 unresolved targets.

The build costs about 15 s of CPU time with the executed tutorials in their cache (``docs/_build/tutorials-cache``),
about 60 s more without (the three notebooks run); so every test that needs the site is marked slow. The browser
tests render pages in headless Chromium (Debian: ``apt-get install chromium``), about 2 s a page; without it they skip,
unless ``TRAJMODES_REQUIRE_BROWSER=1`` (set by .ci/run), where they fail.
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


@pytest.mark.slow
def test_equations_are_rendered_as_math(site):
    """The physics is written as equations (MyST's dollar math), rendered by MathJax: the Green-Kubo integral and
    the cepstral sum of the transport page are math blocks, not code, and no underscore of them turns text italic."""
    page = (site[0] / "transport.html").read_text()
    blocks = re.findall(r'<div class="math notranslate nohighlight">(.*?)</div>', page, re.S)
    assert any(r"\kappa_{ab}" in b and r"\int_0^\infty" in b for b in blocks), blocks[:3]
    assert any(r"\log S(0)" in b for b in blocks)
    assert "kappa_ab = 1 / (V k_B" not in page and "<em>k</em>" not in page
    assert 'mathjax' in page.lower()


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
    assert f"```bash\n{run}\n```" in page, f"docs/getting_started.md does not show the README's main job: {run}"
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
  };
  const pre = document.createElement("pre"); pre.id = "trajmodes-browser-probe";
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
});
</script>"""
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


def _chromium(exe: str, *args: str) -> subprocess.CompletedProcess:
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
           "--run-all-compositor-stages-before-draw", "--virtual-time-budget=10000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def browser_problems(exe: str, html: Path, name: str, width: int, least_figures: int) -> list[str]:
    """What is wrong with the page ``name`` of the site ``html`` as Chromium shows it in a window ``width`` pixels wide: a figure that does not
    load (or is not a PNG file of the site), fewer figures than ``least_figures``, a code block wider than its box
    that neither scrolls nor wraps, or a page wider than the window (something cut off at its right edge)."""
    page = html / name
    probe = page.with_name(f"{page.stem}.browser-probe.html")            # beside it: its relative links hold
    probe.write_text(page.read_text().replace("</body>", _PROBE + "</body>"))
    try:
        run = _chromium(exe, f"--window-size={width},900", "--dump-dom", probe.as_uri())
    finally:
        probe.unlink()
    m = re.search(r'<pre id="trajmodes-browser-probe">(.*?)</pre>', run.stdout, re.S)
    if not m:
        return [f"{name}: Chromium did not run the page's check (exit {run.returncode}): {run.stderr[-1500:]}"]
    got = json.loads(htmllib.unescape(m.group(1)))
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
    return out


@pytest.mark.slow
def test_pages_in_a_browser(chromium, site):
    """The front page, the getting-started page, a guide with a figure, a tutorial and the two widest pages (the
    command-line reference's table, the benchmarks' tables), rendered by Chromium at 1280 px and the first two also
    at a phone's 500 px: their figures load and nothing is cut off at the right edge."""
    html = site[0]
    problems, t0 = [], time.perf_counter()
    for name, figures in PAGES.items():
        for width in (1280, 500) if name in NARROW else (1280,):
            problems += browser_problems(chromium, html, name, width, figures)
    print(f"{sum(1 + (n in NARROW) for n in PAGES)} renderings in {time.perf_counter() - t0:.1f} s")
    assert not problems, "\n".join(problems)


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
