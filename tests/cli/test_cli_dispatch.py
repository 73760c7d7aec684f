"""How ``main`` finds the function of a command: ``trajmodes.cli.main`` on the package ``trajmodes.cli`` (a function
replaced there runs), ``trajmodes.cli.app.main`` on the object it is given, else the function the parser was built
with (``cli.app`` does not import its own package's ``__init__``)."""
from __future__ import annotations

from types import SimpleNamespace

import trajmodes.cli as cli
from trajmodes.cli import app, runs


def test_the_package_main_runs_the_function_replaced_on_the_package(monkeypatch):
    monkeypatch.setattr(cli, "cmd_info", lambda args, out: 7)
    assert cli.main(["info", "no-such-file.lammpstrj"]) == 7


def test_app_main_runs_the_function_of_the_object_given():
    seen = []
    commands = SimpleNamespace(cmd_info=lambda args, out: seen.append(args.files) or 5)
    assert app.main(["info", "a.lammpstrj", "b.lammpstrj"], commands=commands) == 5
    assert seen == [["a.lammpstrj", "b.lammpstrj"]]


def test_app_main_alone_runs_the_function_the_parser_was_built_with(monkeypatch):
    monkeypatch.setattr(runs, "cmd_info", lambda args, out: 3)          # build_parser imports it when it runs
    assert app.main(["info", "no-such-file.lammpstrj"]) == 3
