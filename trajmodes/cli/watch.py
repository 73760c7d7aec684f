"""``trajmodes watch``: a run followed while the MD program writes it (or replayed), its effective phonons refitted
from the new frames at every update, and the run length its error bars need
(:mod:`trajmodes.workflows.watch`)."""
from __future__ import annotations

import argparse
import os

from trajmodes.workflows.watch import WATCH_DEFAULTS, parse_time

#: the names of the files an MD program writes that a folder given as RUN is searched for
_RUN_NAMES = (".lammpstrj", ".dump", ".xyz", ".extxyz", "OUTCAR", "vasprun.xml")


def _time(text: str) -> float:
    """``--every``: :func:`~trajmodes.workflows.watch.parse_time`, its message shown by argparse."""
    try:
        return parse_time(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_watch_parser(add) -> None:
    """The parser of ``trajmodes watch`` (``add``: the command adder of :func:`trajmodes.cli.app.build_parser`)."""
    from trajmodes.cli.options import add_lj_scales, floats, positive
    p = add("watch", cmd_watch, "follow an MD run while it is written (LAMMPS dump, extended XYZ, VASP OUTCAR or "
                                "vasprun.xml): effective phonons refitted from the new frames at every update, error "
                                "bars, the starting transient left out, and when the error bars will reach the target",
            example="trajmodes watch cu.lammpstrj --reference cu.data --target 0.05 --every 2ps -o cu-watch "
                    "--then \"touch STOP\"")
    p.add_argument("run", metavar="RUN", help="the LAMMPS text dump, (extended) XYZ file, VASP OUTCAR or "
                                              "vasprun.xml the MD program writes, or a classical i-PI run's "
                                              "positions file (PREFIX.pos_0.xyz)")
    p.add_argument("--reference", help="reference crystal: a LAMMPS data / structure file (default: the mean of the "
                                       "first frames, made ideal by symmetry)")
    p.add_argument("--format", help="trajectory format: lammps, xyz, vasp-out (OUTCAR), vasp-xml (vasprun.xml) or "
                                    "ipi (default: from the file's name and first bytes)")
    p.add_argument("--units", help="LAMMPS unit style of the data (default: the dump's ITEM: UNITS, or the LAMMPS "
                                   "input beside it, else metal)")
    p.add_argument("--md-timestep", type=positive, metavar="PS",
                   help="the MD integration time step in ps (LAMMPS' timestep): frame times are MD step x this; "
                        "for dumps without ITEM: TIME (default: the LAMMPS input or log beside the dump)")
    p.add_argument("--frame-interval", type=positive, metavar="PS",
                   help="the time between two frames in ps, for files without times (default: from "
                        "--md-timestep or the files)")
    p.add_argument("--species", help="elements of the LAMMPS types, comma separated (type 1 first), e.g. Cu or Si,Ge "
                                   "(default: from the run's files)")
    p.add_argument("--masses", type=floats, help="masses of the LAMMPS types in amu, comma separated (type 1 "
                                                  "first), when --species is not given or to override it (default: "
                                                  "from the species or the run's files)")
    add_lj_scales(p)
    p.add_argument("--cutoff2", type=positive, help="pair cutoff in A; every update says the shortest the data "
                                                    "support (default: the longest the supercell holds)")
    p.add_argument("--target", type=positive, default=WATCH_DEFAULTS["target"],
                   help=f"THz: enough when every frequency at the special points has an error bar below this "
                        f"(default {WATCH_DEFAULTS['target']:g})")
    p.add_argument("--every", type=_time, metavar="TIME",
                   help="simulated time between updates: 2ps, 500fs, 1ns; a bare number is ps (default: whenever new "
                        "frames came)")
    p.add_argument("--poll", type=positive, default=WATCH_DEFAULTS["poll"], metavar="S",
                   help=f"seconds between two looks at the file (default {WATCH_DEFAULTS['poll']:g})")
    p.add_argument("--idle", type=positive, metavar="S",
                   help="stop after the file has not grown for this many seconds (default: follow until the "
                        "target is reached, or Ctrl-C)")
    p.add_argument("--then", metavar="CMD", help="shell command run once when the target is reached (e.g. "
                                                 "`scancel $SLURM_JOB_ID`, or touch a file a LAMMPS fix halt reads) "
                                                 "(default: none)")
    p.add_argument("--replay", action="store_true", help="follow a finished run as if it were growing: the run "
                                                         "length the target needed")
    p.add_argument("-o", "--output", default="trajmodes-watch",
                   help="output folder (default trajmodes-watch): watch.nc and watch.png after every update, "
                        "fc.nc once the target is reached")


def cmd_watch(args, out) -> int:
    """Follow the run, print every update's table, write the outputs after each."""
    from trajmodes.plots import plot_watch
    from trajmodes.workflows.watch import MIN_BLOCKS, WatchSettings, followed_format_name, watch
    if os.path.isdir(args.run):
        found = sorted(n for n in os.listdir(args.run) if n.endswith(_RUN_NAMES))[:3]
        raise ValueError(f"{args.run} is a folder: give the file the MD program writes (a LAMMPS text dump, an "
                         "extended XYZ file, an OUTCAR or a vasprun.xml)"
                         + (f", e.g. {os.path.join(args.run, found[0])} (in it: {', '.join(found)})" if found else ""))
    options = {k: v for k, v in (("units", args.units), ("md_timestep", args.md_timestep),
                                 ("frame_interval", args.frame_interval), ("masses", args.masses),
                                 ("lj_scales", args.lj_scales),
                                 ("species", args.species.split(",") if args.species else None)) if v is not None}
    fmt = followed_format_name(args.format) if args.format else None
    settings = WatchSettings(path=args.run, reference=args.reference, cutoff2=args.cutoff2, target=args.target,
                             every=args.every, poll=args.poll, idle=args.idle, replay=args.replay, then=args.then,
                             format=fmt, options=options)
    folder = os.path.abspath(args.output)
    there = folder                                # checked before the first update: its fit is not lost on a wrong -o
    while not os.path.exists(there):
        there = os.path.dirname(there)
    if not os.path.isdir(there) or not os.access(there, os.W_OK):
        raise ValueError(f"-o {args.output}: the output folder cannot be made ({there} is "
                         f"{'not a folder' if not os.path.isdir(there) else 'not writable'}); give a folder you can "
                         "write to")

    def printer(text: str) -> None:
        print(text, flush=True)

    def kept(*names):
        """Say the files of the last update are kept: each is replaced whole, an interrupt leaves them."""
        from trajmodes.cli.interrupt import report
        for name in names:
            done = os.path.join(folder, name)
            if os.path.exists(done) and done not in out.kept:
                out.kept.append(done)
                report("kept", done)              # to the supervising parent, should it have to kill this process

    def draw(ds, path):
        kept("watch.nc", "fc.nc")                 # written before the figure: an interrupt while drawing keeps them
        plot_watch(ds, path)
        kept("watch.png")
    if not os.path.exists(args.run) and not args.replay:
        print(f"{args.run} does not exist yet: waiting for the MD program to write it (Ctrl-C to stop)", flush=True)
    w = watch(settings, printer, folder, draw)
    if w.last is None and not os.path.exists(args.run):
        print(f"no update: {args.run} was not written within --idle {args.idle:g} s")
        return 1
    if w.last is None:
        print(f"no update: {args.run} holds {0 if w.growing is None else w.growing.n_frames} complete frames, "
              f"fewer than the {MIN_BLOCKS * settings.block_frames} an update needs")
        return 1
    if w.reached_at is None:                      # the last table said the prediction: say why the watch stopped
        why = (f"end of the replay of {args.run}" if args.replay else f"stopped: {w.finished}" if w.finished else
               f"stopped: {args.run} has not grown for --idle {args.idle:g} s")
        print(f"{why}; {w.last.frames_read} frames taken ({w.last.time:.3g} ps); the target +-{settings.target:g} THz "
              f"is not reached (largest error bar {w.last.worst_error():.3g} THz)")
    return 1 if w.then_status else 0
