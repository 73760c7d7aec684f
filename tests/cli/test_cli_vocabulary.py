"""One command-line vocabulary: every option name has one form and meaning in every command that takes it, -o names
an output folder everywhere, an unknown option is refused by name, and docs/cli.md is the generated table."""
from __future__ import annotations

import pytest

from tests.support.paths import ROOT
from trajmodes.cli.reference import ALLOWED_DIFFERENCES, option_rows, options_table


def _form(action):
    return (getattr(action.type, "__name__", action.type), action.nargs, tuple(action.choices or ()),
            type(action).__name__)


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


@pytest.mark.parametrize("argv, unknown, hint", [
    (["series", "run.lammpstrj", "--references", "a.data"], "--references", "did you mean --reference?"),
    (["series", "run.lammpstrj", "--temperatures", "300"], "--temperatures", "did you mean --run-temperatures?"),
    (["eam", "x.eam", "--a", "3.6", "--element", "Cu"], "--element", None),
    (["fit", "run.lammpstrj", "--cutof2", "5"], "--cutof2", "did you mean --cutoff2?"),
])
def test_an_unknown_option_is_refused_by_name(argv, unknown, hint, capsys):
    """An option a command does not take (a misspelling, or a spelling of an unreleased version) is refused before
    anything runs, with the command's usage, naming the option and the closest one the command has."""
    from trajmodes.cli import main
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"usage: trajmodes {argv[0]}" in err and f"unrecognized arguments: {unknown}" in err
    assert (hint in err) if hint else "did you mean" not in err


def test_output_ending_in_nc_is_refused(tmp_path, capsys):
    """-o names a folder: a name ending in .nc is refused with what to give instead, and nothing is written."""
    from trajmodes.cli import main
    from tests.support.paths import DATA
    target = tmp_path / "cu.nc"
    assert main(["convert", str(DATA / "cu32_xu.lammpstrj"), "--md-timestep", "0.001", "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert "-o names the folder" in err and f"-o {tmp_path / 'cu'}" in err and not target.exists()
