"""Command-line interface: ``trajmodes info``, ``convert``, ``run``, ``fit``, ``phonons``, ``eam``, ``anharmonic``,
``project``, ``lifetimes``, ``compare``, ``qha``, ``series``, ``sqw``, ``convert-fc``, ``conductivity``,
``lineshapes`` and ``glass``.

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
(conductivity), :mod:`~trajmodes.cli.disorder` (lineshapes, glass).
"""
import sys

from trajmodes.cli import app
from trajmodes.cli.anharmonic import cmd_anharmonic, cmd_compare
from trajmodes.cli.app import build_parser
from trajmodes.cli.convert import cmd_convert_fc
from trajmodes.cli.disorder import cmd_glass, cmd_lineshapes
from trajmodes.cli.lattice_dynamics import cmd_eam, cmd_phonons
from trajmodes.cli.modes import cmd_lifetimes, cmd_project, modes_summary, modes_table
from trajmodes.cli.quasiharmonic import cmd_qha
from trajmodes.cli.runs import cmd_convert, cmd_fit, cmd_info, cmd_run
from trajmodes.cli.scattering import cmd_sqw
from trajmodes.cli.series import cmd_series
from trajmodes.cli.transport import cmd_conductivity

__all__ = ["main", "build_parser", "cmd_info", "cmd_convert", "cmd_run", "cmd_fit", "cmd_phonons", "cmd_eam",
           "cmd_anharmonic", "cmd_compare", "cmd_qha", "cmd_series", "cmd_convert_fc",
           "cmd_project", "cmd_lifetimes", "modes_table", "modes_summary", "cmd_sqw", "cmd_conductivity",
           "cmd_lineshapes", "cmd_glass"]


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
