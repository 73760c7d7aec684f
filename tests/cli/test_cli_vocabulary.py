"""One command-line vocabulary: every option name has one form and meaning in every command that takes it, -o names
an output folder everywhere, old spellings still work with a warning, and docs/cli.md is the generated table."""
from __future__ import annotations

import pytest

from tests.support.paths import ROOT
from trajmodes.cli.reference import ALLOWED_DIFFERENCES, option_rows, options_table


def _form(action):
    return (getattr(action.type, "__name__", action.type), action.nargs, tuple(action.choices or ()),
            type(action).__name__.replace("OldSpelling", "_StoreAction"))


def test_one_form_per_option_name():
    bad = {}
    for opt, uses in option_rows().items():
        forms = {_form(a) for _, a in uses}
        if len(forms) > 1 and opt not in ALLOWED_DIFFERENCES:
            bad[opt] = sorted({(name, _form(a)) for name, a in uses}, key=str)
    assert not bad, bad


def test_output_is_a_folder_everywhere():
    from trajmodes.cli.app import build_parser
    _, cmds = build_parser()
    for name, parser in cmds.items():
        for a in parser._actions:
            if "-o" in a.option_strings:
                assert a.help.startswith("output folder"), (name, a.help)


def test_the_documented_table_is_the_generated_one():
    text = (ROOT / "docs" / "cli.md").read_text()
    start = text.index("<!-- options table: generated -->\n") + len("<!-- options table: generated -->\n")
    end = text.index("<!-- end of the generated table -->")
    assert text[start:end] == options_table(), "regenerate docs/cli.md from trajmodes.cli.reference.options_table()"


@pytest.mark.parametrize("argv, new", [
    (["series", "run.lammpstrj", "--references", "a.data"], "--reference"),
    (["series", "run.lammpstrj", "--temperatures", "300"], "--run-temperatures"),
    (["eam", "x.eam", "--a", "3.6", "--element", "Cu"], "--species"),
])
def test_old_spellings_parse_with_a_warning(argv, new):
    from trajmodes.cli.app import build_parser
    parser, _ = build_parser()
    with pytest.warns(FutureWarning, match=f"is now {new}; the old spelling is accepted in this release only"):
        args = parser.parse_args(argv)
    assert args.command == argv[0]
