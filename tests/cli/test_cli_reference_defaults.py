"""The default column of docs/cli.md's option tables: every option says its default there (argparse's, or the one its
help states in a parenthesis ``(default: ...)``, moved out of the meaning), and ``--help`` keeps its text."""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from trajmodes.cli.app import build_parser
from trajmodes.cli.reference import _default, _meaning, _stated_default, command_reference, shared_groups

CLI_PAGE = Path(__file__).resolve().parents[2] / "docs" / "cli.md"

#: option rows that may leave the default column empty, with why (none today: positional inputs and -h/--help/--debug
#: stand in no table; an option the program fills in at run time states it in its help as "(default: ...)")
NO_DEFAULT: dict[str, str] = {}


def _option_rows(text: str) -> list[tuple[str, str, str]]:
    """(option, meaning, default) of every row of the page's option tables."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("| `-"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        assert len(cells) == 3, f"an option row of docs/cli.md without three cells: {line}"
        rows.append(tuple(cells))
    return rows


def test_every_option_row_states_its_default():
    rows = _option_rows(CLI_PAGE.read_text())
    assert len(rows) > 150
    empty = [option for option, _, default in rows if not default and option not in NO_DEFAULT]
    assert not empty, (f"{len(empty)} option rows of docs/cli.md have an empty default column: {empty}; give the "
                       "option a default, or end its help with '(default: what is done without it)', and regenerate "
                       "docs/cli.md (python -m trajmodes.cli.reference)")


def _actions():
    """(prog, parser, action) of every option the page tabulates."""
    _, cmds = build_parser()
    for group in shared_groups().values():
        for a in group:
            yield "trajmodes", None, a
    for parser in cmds.values():
        for a in command_reference(parser)["options"]:
            yield parser.prog, parser, a


def test_the_default_stands_in_its_column_not_in_the_meaning():
    """An option the program fills in at run time (argparse default None) has its "(default: ...)" phrase in the
    default column and not in the meaning, so the page says it once."""
    twice = []
    for prog, parser, a in _actions():
        if a.default is None and re.search(r"(\(|; )default:? ", _meaning(a, prog)):
            twice.append(f"{prog} {a.option_strings[-1]}")
    assert not twice, f"options whose meaning still states the default: {twice}"


def test_help_keeps_its_default():
    """The generator moves the phrase on the page only: ``--help`` still says it."""
    _, cmds = build_parser()
    text = " ".join(cmds["run"].format_help().split())
    assert "(default: guessed from the name and content)" in text
    assert "(default: chosen from the data)" in text
    fmt = next(a for prog, p, a in _actions() if prog == "trajmodes" and "--format" in a.option_strings)
    assert _default(fmt) == "guessed from the name and content"


def test_one_of_a_required_set_says_so():
    _, cmds = build_parser()
    sqw = cmds["sqw"]
    path = next(a for a in sqw._actions if "--path" in a.option_strings)
    assert _default(path, sqw.prog, sqw) == "one of `--path`, `--qpoints`, `--powder` required"


@pytest.mark.parametrize("text, meaning, default", [
    ("pair cutoff in A (default: none)", "pair cutoff in A", "none"),
    ("q-points (default: the special points); phonons print them", "q-points; phonons print them",
     "the special points"),
    ("cutoff (default: chosen (5 % family-wise) or max(1 %, 0.03 THz))", "cutoff",
     "chosen (5 % family-wise) or max(1 %, 0.03 THz)"),
    ("starting c in A (hexagonal structures; default ideal)", "starting c in A (hexagonal structures)", "ideal"),
    ("band path, e.g. 'GXU|KGL' (G = Gamma); default: the standard path", "band path, e.g. 'GXU|KGL' (G = Gamma)",
     "the standard path"),
    ("'adaptive' (TDEP's default) (default: the tetrahedron method)", "'adaptive' (TDEP's default)",
     "the tetrahedron method"),
    ("phonopy folder or trajmodes .nc (default: none)", "phonopy folder or trajmodes .nc", "none"),
    ("frames per Dask chunk", "frames per Dask chunk", ""),
])
def test_stated_default(text, meaning, default):
    assert _stated_default(text) == (meaning, default)


def test_flags_are_off_by_default():
    flag = argparse.ArgumentParser().add_argument("--tensor", action="store_true")
    assert _default(flag) == "off"
