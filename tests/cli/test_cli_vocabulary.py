"""One command-line vocabulary: every option name has one form and meaning in every command that takes it, -o names
an output folder everywhere, an unknown option is refused by name, and docs/cli.md is the reference generated from
the parsers: one section per command with its synopsis, what it reads and writes, its options and an example that the
command accepts."""
from __future__ import annotations

import re
import shlex

import pytest

from tests.support.paths import ROOT
from trajmodes.cli.reference import (ALLOWED_DIFFERENCES, BEGIN, END, EXAMPLES, command_reference, command_sections,
                                     option_rows, shared_groups)

CLI_PAGE = ROOT / "docs" / "cli.md"
REGENERATE = "regenerate docs/cli.md: python -m trajmodes.cli.reference"


def _parsers():
    from trajmodes.cli.app import build_parser
    return build_parser()


def _sections() -> dict[str, str]:
    """The page's generated text by command: the text of each "## trajmodes COMMAND" section."""
    text = CLI_PAGE.read_text()
    generated = text[text.index(BEGIN) + len(BEGIN):text.index(END)]
    parts = re.split(r"^## trajmodes (\S+)\n", generated, flags=re.M)
    return {parts[i]: re.split(r"^## ", parts[i + 1], flags=re.M)[0] for i in range(1, len(parts), 2)}


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


def test_the_documented_reference_is_the_generated_one():
    text = CLI_PAGE.read_text()
    assert BEGIN in text and END in text, f"docs/cli.md has lost its generated markers; {REGENERATE}"
    documented = text[text.index(BEGIN) + len(BEGIN):text.index(END)]
    assert documented == command_sections(), f"docs/cli.md is not the reference the parsers give: {REGENERATE}"


def test_every_command_has_its_section():
    """In the order ``trajmodes --help`` lists them, each with its synopsis (the usage of the parser), what it reads
    and writes, its options (a table, or the shared groups it takes) and one example."""
    parser, cmds = _parsers()
    sections = _sections()
    assert list(sections) == list(cmds), "the sections are not the commands in the order of trajmodes --help"
    for name, text in sections.items():
        assert f"(cli-{name})=" in CLI_PAGE.read_text(), f"{name}: no anchor label"
        synopsis = re.search(r"```text\n(.*?)```", text, re.S)
        assert synopsis and synopsis.group(1).startswith(f"trajmodes {name} "), f"{name}: no synopsis"
        assert re.search(r"^\*\*Reads\*\* \S", text, re.M), f"{name}: does not say what it reads"
        assert re.search(r"^\*\*Writes\*\* \S", text, re.M), f"{name}: does not say what it writes"
        assert re.search(r"^\*\*Options\*\*", text, re.M), f"{name}: no options"
        ref = command_reference(cmds[name])
        assert ref["options"] or ref["groups"], f"{name}: neither options of its own nor shared ones"
        assert re.search(r"^\*\*Example\*\*\n\n```shell\ntrajmodes " + re.escape(name) + " ", text, re.M), \
            f"{name}: no example"
    # the reading options are listed once, not in every command's table
    reading = {a.option_strings[0] for a in shared_groups()["reading"]}
    for name, text in sections.items():
        if "cli-reading-options" in text:
            listed = set(re.findall(r"^\| `(--[\w-]+)", text, re.M))
            assert not listed & {"--format", "--chunk-frames", "--masses", "--md-timestep"}, (name, listed & reading)


def test_every_command_says_what_it_writes():
    """What a command writes comes from its -o's help: the folder's files, named (a command without -o writes no
    file)."""
    _, cmds = _parsers()
    for name, parser in cmds.items():
        out = next((a for a in parser._actions if "-o" in a.option_strings), None)
        if out is not None:
            assert re.search(r"\w\.(nc|png|fcs)\b|STEM_", out.help), f"{name}: -o's help names no file it writes"


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_every_example_parses(name):
    """Each example (EXAMPLES, and as the page shows it, continued over lines) is a command line that its command
    accepts: the real parser takes it, without unknown arguments."""
    parser, cmds = _parsers()
    assert name in cmds
    shown = re.search(r"```shell\n(.*?)```", _sections()[name], re.S).group(1)
    for example in (EXAMPLES[name], shown.replace("\\\n", " ")):
        argv = shlex.split(example)
        assert argv[:2] == ["trajmodes", name], example
        args, extra = parser.parse_known_args(argv[1:])
        assert not extra and args.command == name, (example, extra)
        parser.parse_args(argv[1:])


def test_no_option_is_documented_under_a_command_that_does_not_take_it():
    """Every option a command's section names in its table or synopsis is one its parser takes; every option it
    takes is in its table or in a shared group it refers to."""
    _, cmds = _parsers()
    shared = {g: {o for a in members for o in a.option_strings} for g, members in shared_groups().items()}
    for name, text in _sections().items():
        takes = {o for a in cmds[name]._actions for o in a.option_strings}
        rows = set(re.findall(r"^\| `(-[\w-]+)", text, re.M)) | set(re.findall(r"^\| `-o`, `(--[\w-]+)", text, re.M))
        synopsis = re.search(r"```text\n(.*?)```", text, re.S).group(1)
        named = rows | set(re.findall(r"\[(--?[\w-]+)", synopsis))
        assert named <= takes, f"{name}: documented but not taken: {sorted(named - takes)}"
        refers = {g for g, label in (("reading", "cli-reading-options"), ("cluster", "cli-cluster-options"))
                  if f"(#{label})" in text}
        except_ = set(re.findall(r"except ((?:`--[\w-]+`(?: and )?)+)", text))
        excepted = {o for e in except_ for o in re.findall(r"`(--[\w-]+)`", e)}
        for g in refers:
            assert (shared[g] - excepted) - {"--no-" + o[2:] for o in shared[g]} <= takes | rows, (name, g)
        covered = rows | {o for g in refers for o in shared[g] - excepted} | {"-h", "--help", "--debug", "-o"}
        boolean = {o for a in cmds[name]._actions if len(a.option_strings) == 2 and a.option_strings[1].startswith(
            "--no-") for o in a.option_strings}
        assert takes - covered - boolean == set(), f"{name}: takes but does not document {sorted(takes - covered)}"


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
