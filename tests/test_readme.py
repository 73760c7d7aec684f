"""Every command and Python example of README.md runs, as written, on the shipped examples.

The fenced blocks are read from README.md itself (``readme_blocks.py``, which .ci/run uses too), so an
example that stops working, or a new one that does not work, fails here. Each block runs in its own
temporary folder that holds the repository's ``examples/`` (a private copy, so the frame indexes the
readers write do not land in the repository): Python blocks in a fresh namespace, shell commands through
``trajmodes.cli.main`` in-process (what ``trajmodes ...`` and ``python -m trajmodes ...`` run). ``pip
install`` and ``python -m pytest`` are what .ci/run proves on a fresh virtual environment; here they are
only checked for what can be checked without running them.
"""
from __future__ import annotations

import re
import shlex
import shutil
import sys
from pathlib import Path

import pytest

from tests.support.paths import EXAMPLES
from tests.support.readme_blocks import README, blocks, commands, output_folder, tagged

ROOT = README.parent
RUNNABLE = ("bash", "python")
LISTINGS = ("text",)                    # program output shown in the README: not run


def _params():
    out = []
    for b in blocks():
        if b.lang not in RUNNABLE or b.tag == "test-command":
            continue
        if b.lang == "bash" and not any(_trajmodes_argv(part) for cmd in commands(b) for part in _parts(cmd)):
            continue                    # only pip / pytest lines: see test_install_and_test_commands
        slow = b.tag in ("slow", "main-job")
        out.append(pytest.param(b, id=f"{b.lang}-line{b.line}", marks=[pytest.mark.slow] if slow else []))
    return out


def _parts(command: str) -> list[str]:
    return [p.strip() for p in command.split("&&") if p.strip()]


def _skipped(words: list[str]) -> bool:
    """``pip install ...`` and ``python -m pytest ...``: run by .ci/run, not here."""
    return words[:2] == ["pip", "install"] or words[:3] == ["python", "-m", "pytest"]


def _trajmodes_argv(part: str) -> list[str] | None:
    words = shlex.split(part)
    if words[:1] == ["trajmodes"]:
        return words[1:]
    if words[:3] == ["python", "-m", "trajmodes"]:
        return words[3:]
    return None


@pytest.fixture(scope="module")
def examples_copy(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("readme") / "examples"
    shutil.copytree(EXAMPLES, d, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    return d


@pytest.fixture
def workdir(tmp_path, examples_copy, monkeypatch) -> Path:
    (tmp_path / "examples").symlink_to(examples_copy, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_readme_has_the_blocks_ci_runs():
    langs = {b.lang for b in blocks()}
    assert langs <= set(RUNNABLE + LISTINGS), (
        f"README.md has code blocks in {sorted(langs - set(RUNNABLE + LISTINGS))}: tag them bash or python so "
        "that this test runs them, or text for program output")
    assert "pip install -e ." in tagged("main-job").code
    assert "pip install" in tagged("test-command").code
    assert len(_params()) >= 5


@pytest.mark.parametrize("block", _params())
def test_readme_block_runs(block, workdir, capsys):
    where = f"README.md line {block.line}"
    if block.lang == "python":
        code = compile(block.code, where, "exec")
        exec(code, {"__name__": "__readme__"})
        return
    from trajmodes.cli import main
    for cmd in commands(block):
        for part in _parts(cmd):
            words = shlex.split(part)
            if _skipped(words):
                continue
            argv = _trajmodes_argv(part)
            assert argv is not None, (f"{where}: '{part}' is not a trajmodes command; the README test runs only "
                                      "trajmodes commands (and leaves pip and pytest to .ci/run)")
            try:
                rc = main(argv)
            except SystemExit as exc:         # argparse: a misspelled or removed option
                rc = exc.code
            err = capsys.readouterr().err
            assert rc == 0, f"{where}: '{part}' exited with status {rc}:\n{err}"
    if block.tag == "main-job":
        folder = workdir / output_folder(" ".join(commands(block)))
        for name in block.options["outputs"].split(","):
            f = folder / name
            assert f.is_file() and f.stat().st_size > 0, f"{where}: the main job did not write {f.name}"


def test_install_and_test_commands():
    """What can be checked of the commands .ci/run runs without running them here."""
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    markers = {m.split(":")[0].strip() for m in project["tool"]["pytest"]["ini_options"]["markers"]}
    extras = project["project"]["optional-dependencies"]
    for b in blocks():
        if b.lang != "bash":
            continue
        for cmd in commands(b):
            for part in _parts(cmd):
                words = shlex.split(part)
                if words[:2] == ["pip", "install"]:
                    for spec in words[2:]:
                        m = re.fullmatch(r"-e|\.(\[([\w,]+)\])?", spec)
                        assert m, f"README.md line {b.line}: unexpected install argument {spec!r}"
                        for extra in (m.group(2) or "").split(","):
                            assert not extra or extra in extras, (
                                f"README.md line {b.line}: extra [{extra}] is not in pyproject.toml")
                if words[:3] == ["python", "-m", "pytest"] and "-m" in words[3:]:
                    expr = words[3:][words[3:].index("-m") + 1]
                    names = set(re.findall(r"\w+", expr)) - {"not", "and", "or"}
                    assert names <= markers, (f"README.md line {b.line}: marker(s) {sorted(names - markers)} "
                                              f"are not registered in pyproject.toml ({sorted(markers)})")


if sys.version_info < (3, 11):          # tomllib
    test_install_and_test_commands = pytest.mark.skip(reason="needs Python >= 3.11")(test_install_and_test_commands)
