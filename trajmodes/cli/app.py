"""The ``trajmodes`` program: the parser of every command, and ``main`` with its error handling."""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import warnings

from trajmodes.cli.options import FIGURE_FORMATS, GIVEN, refuse_repeated_options


#: seconds between two progress lines of a command whose stderr is a file or a pipe (a batch job's log)
PROGRESS_INTERVAL = 2.0


#: every command in the order ``trajmodes --help`` lists them: the module of :mod:`trajmodes.cli` that defines it, and
#: the function there that adds its parser (``add(name, function, help, example=...)``, then its options); a new
#: command is one line here and its module
PARSERS = (("runs", "add_info_parser"), ("runs", "add_convert_parser"), ("runs", "add_run_parser"),
           ("runs", "add_fit_parser"), ("transport", "add_conductivity_parser"),
           ("lattice_dynamics", "add_phonons_parser"), ("anharmonic", "add_anharmonic_parser"),
           ("anharmonic", "add_compare_parser"), ("quasiharmonic", "add_qha_parser"), ("series", "add_series_parser"),
           ("lattice_dynamics", "add_eam_parser"), ("modes", "add_project_parser"), ("scattering", "add_sqw_parser"),
           ("modes", "add_lifetimes_parser"), ("convert", "add_convert_fc_parser"),
           ("disorder", "add_lineshapes_parser"), ("watch", "add_watch_parser"), ("disorder", "add_glass_parser"))


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    """The parser and its subcommand parsers by name (each with its ``example``, a command line, for the reference
    :mod:`trajmodes.cli.reference` generates), in the order of :data:`PARSERS`."""
    import importlib
    from trajmodes import __version__
    p = argparse.ArgumentParser(prog="trajmodes", description="Phonons at the simulated temperature from MD "
                                                               "trajectories of crystals.")
    p.add_argument("--version", action="version", version=f"trajmodes {__version__}")
    p.add_argument("--debug", action="store_true", help="show the full traceback of an error (also "
                                                        "TRAJMODES_DEBUG=1)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cmds = {}

    def add(name, func, help, example=None):
        c = sub.add_parser(name, help=help, description=help)
        c.set_defaults(func=func)     # trajmodes.cli.main runs the function of this name on trajmodes.cli
        c.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the full traceback of an error (also TRAJMODES_DEBUG=1)")
        c.example = example           # one command line of it: the example of the generated reference
        cmds[name] = c
        return c

    for module, adder in PARSERS:
        getattr(importlib.import_module(f"trajmodes.cli.{module}"), adder)(add)
    for c in cmds.values():
        refuse_repeated_options(c)
    return p, cmds


#: options that would be ambiguous, with what to use instead
_AMBIGUOUS = {"--timestep": "--timestep is ambiguous: give --md-timestep PS (the MD integration step; frame times = "
                            "MD step x PS) or --frame-interval PS (the time between two frames)"}


def _unknown(cmd: argparse.ArgumentParser, name: str, extra: list[str]):
    """Report unknown arguments with the subcommand's usage (argparse would show the top-level one), and the
    command's option closest to an unknown one ("did you mean --species?")."""
    import difflib
    known = [o for action in cmd._actions for o in action.option_strings if o.startswith("--")]
    hints = []
    for e in extra:
        opt = e.split("=", 1)[0]
        if opt in _AMBIGUOUS:
            cmd.error(_AMBIGUOUS[opt])
        if opt == "--format" and "--plot-format" in cmd.format_help():
            cmd.error(f"'{name}' reads no trajectory, so it has no --format: give the figure format with "
                      "--plot-format")
        close = difflib.get_close_matches(opt, known, n=1, cutoff=0.75) if opt.startswith("--") else []
        if close:
            hints.append(f"{opt}: did you mean {close[0]}?")
    cmd.error(f"unrecognized arguments: {' '.join(extra)}" + (f" ({'; '.join(hints)})" if hints else ""))


def main(argv=None, commands=None) -> int:
    """Run one command; returns the exit status (0 success, 2 error, 130 Ctrl-C, 143 SIGTERM).

    Parameters
    ----------
    argv : list of str, optional
        The command line without the program's name (``sys.argv[1:]`` when None).
    commands : object, optional
        Where the command's function is looked up by its name (``cmd_info``, ...) when it runs:
        :func:`trajmodes.cli.main` passes the package ``trajmodes.cli``, so that a function replaced there (a test's
        monkeypatch) is the one that runs. None: the function the parser was built with.
    """
    parser, cmds = build_parser()
    args, extra = parser.parse_known_args(argv)
    vars(args).pop(GIVEN, None)
    if extra:
        _unknown(cmds[args.command], args.command, extra)
    if getattr(args, "format", None) in FIGURE_FORMATS:
        cmds[args.command].error(f"--format names the trajectory format; give the figure format with "
                                 f"--plot-format {args.format}")
    debug = args.debug or os.environ.get("TRAJMODES_DEBUG", "") not in ("", "0")
    from trajmodes.workflows.outputs import staged_outputs
    from trajmodes.cli.interrupt import exit_now, message, report, signals
    out = staged_outputs(notify=report)
    with signals() as received, printed_warnings():
        try:
            from trajmodes.cli.options import cluster
            from trajmodes.cli.progress import progress
            # every Dask computation longer than 1 s, a line at most every PROGRESS_INTERVAL s in a log
            with cluster(args), progress(minimum=1.0, out=sys.stderr, interval=PROGRESS_INTERVAL):
                run = args.func if commands is None else getattr(commands, args.func.__name__)
                status = run(args, out)
            out.commit()
            return status
        except KeyboardInterrupt as exc:             # Ctrl-C, or Interrupted (SIGINT, SIGTERM) from signals()
            out.discard()
            signum = getattr(exc, "signum", signal.SIGINT)
            print(message(signum, out.kept), file=sys.stderr, flush=True)
            if received:        # a real signal: Dask's threads may be in the middle of a chunk; do not wait for them
                exit_now(128 + signum)
            return 128 + signum
        except Exception as exc:
            out.discard()
            if received or isinstance(exc.__context__, KeyboardInterrupt):
                # the signal surfaced as another error (a C extension's import it cut short says "initialization
                # failed"): the user interrupted, and that is what is said
                signum = received[0] if received else getattr(exc.__context__, "signum", signal.SIGINT)
                print(message(signum, out.kept), file=sys.stderr, flush=True)
                if received:
                    exit_now(128 + signum)
                return 128 + signum
            if debug:
                raise
            print(f"trajmodes: error: {_one_line(exc)}", file=sys.stderr)
            return 2


#: warnings no user of the command line acts on (Python's default filters leave them out too); trajmodes' own
#: deprecations are still printed
_QUIET = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


@contextlib.contextmanager
def printed_warnings():
    """While a command runs, every warning (of trajmodes or of a library it calls, in any thread) is printed on stderr
    as one ``warning: MESSAGE`` line, each message once, whatever warnings filter the caller set (``python -W error``,
    ``PYTHONWARNINGS``, a test's ``warnings.simplefilter("error")``): a warning the command may print is never
    raised as an exception, so it never becomes the exit status. Deprecations of other packages are left out, as
    Python's default filters leave them out. The caller's filters and ``warnings.showwarning`` are restored after.

    Yields the set of the messages printed so far.
    """
    printed: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None):
        text = str(message).rstrip()
        if text in printed:
            return
        printed.add(text)
        print(f"warning: {text}", file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.resetwarnings()
        warnings.simplefilter("always")              # every one reaches show(), which prints each message once
        for category in _QUIET:
            warnings.filterwarnings("ignore", category=category)
        warnings.filterwarnings("always", category=DeprecationWarning, module=r"trajmodes(\.|$)")
        warnings.showwarning = show
        yield printed


#: exception types whose message says it all (raised by trajmodes and the libraries for bad input, files,
#: folders and missing packages)
_PLAIN = (ValueError, OSError, ImportError)


#: other exceptions that input, files or the machine can cause: the message says which kind
_EXPECTED = (KeyError, MemoryError, RuntimeError)


def _one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line; an exception no input can cause (a TypeError, AttributeError, ...)
    is a bug, and the message says so and how to get the traceback for a report."""
    msg = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, ImportError) and "pip install" not in msg:
        name = getattr(exc, "name", None)
        msg += f" (install it: pip install {name})" if name else ""
    if isinstance(exc, MemoryError):
        return f"out of memory ({msg}): use smaller chunks (--chunk-frames), fewer frames or smaller cutoffs"
    if isinstance(exc, KeyError):
        key = str(exc.args[0]) if exc.args else "?"
        return (f"missing entry {key!r}: the input file is incomplete, or not the kind of file it looks like "
                "(--debug shows where it was needed)")
    if isinstance(exc, _PLAIN):
        return msg
    if isinstance(exc, _EXPECTED):
        return f"{msg} ({type(exc).__name__} from {type(exc).__module__.split('.')[0]})"
    return (f"{type(exc).__name__}: {msg}. This is a bug in trajmodes: please report it to its developers with "
            "the command and the traceback that --debug (or TRAJMODES_DEBUG=1) shows")
