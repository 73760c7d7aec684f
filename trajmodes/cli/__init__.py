"""Command-line interface: ``trajmodes info``, ``convert``, ``run``, ``fit``, ``phonons``, ``eam``, ``anharmonic``,
``project``, ``lifetimes``, ``compare``, ``qha``, ``series``, ``sqw``, ``convert-fc``, ``conductivity``,
``lineshapes``, ``glass`` and ``watch``.

Each command reads its options, calls the module of :mod:`trajmodes.workflows` that holds its work (its one way to
the library), prints a report, and draws its figures (:mod:`trajmodes.plots`). Files are staged
(:func:`~trajmodes.workflows.outputs.staged_outputs`) and moved into place only when the whole command succeeds, so
a command that fails or is interrupted leaves no new output folder and no partial files. Every error is one line on
stderr and exit status 2 (``--debug`` shows the traceback); Ctrl-C gives status 130, SIGTERM 143. Every warning is one
``warning: ...`` line on stderr, each message once, whatever the caller's warnings filter, and never changes the exit
status (:func:`~trajmodes.cli.app.printed_warnings`). Heavy packages are
imported when a command runs, never for ``--help``.

Modules: :mod:`~trajmodes.cli.app` (the parser and ``main``), :mod:`~trajmodes.cli.options` (shared options,
the runs and settings they name, step lines), :mod:`~trajmodes.cli.runs` (info, convert, run, fit), :mod:`~trajmodes.cli.lattice_dynamics`
(phonons, eam), :mod:`~trajmodes.cli.anharmonic` (anharmonic, compare), :mod:`~trajmodes.cli.modes` (project,
lifetimes), :mod:`~trajmodes.cli.quasiharmonic` (qha), :mod:`~trajmodes.cli.series` (series),
:mod:`~trajmodes.cli.convert` (convert-fc), :mod:`~trajmodes.cli.scattering` (sqw), :mod:`~trajmodes.cli.transport`
(conductivity), :mod:`~trajmodes.cli.disorder` (lineshapes, glass), :mod:`~trajmodes.cli.watch` (watch).
"""
import importlib
import sys

from trajmodes.cli import app
from trajmodes.cli.app import build_parser
from trajmodes.cli.modes import modes_summary, modes_table

__all__ = ["main", "build_parser", "modes_table", "modes_summary"]


def __getattr__(name: str):
    """A command's function (``cmd_info``, ...), as the module of this package that defines it holds it now (the
    parsers of :data:`trajmodes.cli.app.PARSERS` name them): ``main`` runs the one found here, so that a function
    replaced on this package (a test's monkeypatch) is the one that runs."""
    if name.startswith("cmd_"):
        for parser in build_parser()[1].values():
            func = parser.get_default("func")
            if func.__name__ == name:
                return getattr(importlib.import_module(func.__module__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv=None) -> int:
    """Run one command (:func:`trajmodes.cli.app.main`), its function (``cmd_info``, ...) looked up on this package
    when it runs, so that one replaced here is the one that runs; returns the exit status (0 success, 2 error,
    130 Ctrl-C, 143 SIGTERM).

    Parameters
    ----------
    argv : list of str, optional
        The command line without the program's name. None: ``sys.argv[1:]``, run as the program: in a child process
        that :func:`trajmodes.cli.interrupt.supervise` stops within about a second of SIGINT or SIGTERM even inside
        a C call that holds the interpreter.
    """
    if argv is None:                   # the program itself: supervised, so that a signal stops it within a second
        from trajmodes.cli.interrupt import supervise
        return supervise(_program)
    return app.main(argv, commands=sys.modules[__name__])


def _program() -> int:
    """The command line of the program ``trajmodes``, with glibc's allocator told to give freed memory back."""
    from trajmodes.workflows.session import use_program_allocator
    use_program_allocator()
    return app.main(None, commands=sys.modules[__name__])
