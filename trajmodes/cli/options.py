"""Options shared by the commands, the runs and settings they name, and how the commands print steps and frequencies
(reading and writing: :mod:`trajmodes.workflows.reading`, :mod:`trajmodes.workflows.outputs`)."""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time


#: default --mesh of every harmonic sum (DOS, thermodynamics, free energies): N x N x N
HARMONIC_MESH = 20
#: default --mesh of the three-phonon commands (the triplets of an N^3 mesh cost ~N^6): N x N x N
THREE_PHONON_MESH = 12

#: --qpoints of the commands that print frequencies at q-points (phonons, eam)
QPOINTS_HELP = ("reduced q-points (the primitive cell's reciprocal basis, no 2 pi): 'h k l h k l ...' or "
                "'h,k,l;h,k,l' (default: the special points); phonons and eam print their frequencies with that basis, "
                "the special point's label and the conventional (cubic: 2 pi / a) or Cartesian (1/A) coordinates")

#: commands whose figures have a format; --plot-format names it everywhere
FIGURE_FORMATS = ("png", "pdf", "svg")


#: the attribute in which the parser keeps the options given, while it reads a command line
GIVEN = "_options_given"


class _StoreOnce(argparse._StoreAction):
    """An option of one value (or one list) given twice with different values is refused: argparse would keep the
    last without a word (``--temperature 300 --temperature 600``, ``--run-temperatures`` twice)."""

    def __call__(self, parser, namespace, values, option_string=None):
        seen = namespace.__dict__.setdefault(GIVEN, {})
        if self.dest in seen and repr(seen[self.dest][1]) != repr(values):
            first, before = seen[self.dest]
            parser.error(f"{option_string} is given twice ({first} {_words(before)}, then {option_string} "
                         f"{_words(values)}): the last would be used without a word; give it once")
        seen[self.dest] = (option_string, values)
        super().__call__(parser, namespace, values, option_string)


def _words(values) -> str:
    if isinstance(values, (list, tuple)):
        return " ".join(map(str, values))
    if hasattr(values, "tolist"):
        return ",".join(f"{v:g}" for v in values.tolist())
    return str(values)


def refuse_repeated_options(parser: argparse.ArgumentParser) -> None:
    """Make every option of ``parser`` that stores one value (or one list) refuse to be given twice with different
    values (:class:`_StoreOnce`); options meant to repeat (``--other``, ``--run``) append and are left as they are."""
    for action in parser._actions:
        if type(action) is argparse._StoreAction and action.option_strings:
            action.__class__ = _StoreOnce


def add_read_options(p: argparse.ArgumentParser, reference: bool = True, thermo: bool = True) -> None:
    p.add_argument("files", nargs="+", help="trajectory file(s): LAMMPS dump(s), XYZ, trajmodes .nc, VASP OUTCAR / "
                                            "vasprun.xml / XDATCAR, Quantum ESPRESSO output, ASE .traj, or any "
                                            "MDAnalysis or ASE format")
    p.add_argument("--format", help="trajectory format: lammps, xyz, netcdf, an MDAnalysis format such as DCD, or "
                                    "ase / ase:<ASE format> such as ase:vasp-out (default: guessed from the name "
                                    "and content)")
    if reference:
        p.add_argument("--reference", help="reference crystal: a LAMMPS data / structure file (the ideal crystal the "
                                           "run started from: it fixes the lattice, the atoms' order and sites; "
                                           "where the run's mean sites are elsewhere, as a free internal coordinate "
                                           "at temperature, the fit measures from those and says so), 'average' "
                                           "(the time average of the run: run, convert and info sum it in their one "
                                           "pass, info writing displacements to a scratch file in TMPDIR; fit, "
                                           "series and project of a LAMMPS dump sum it in their own pass, sqw needs "
                                           "only its lattice; with other formats these take one extra pass, "
                                           "positions only) or 'first' (the first frame) (default: average)")
    p.add_argument("--units", help="LAMMPS unit style of the data (default: the dump's ITEM: UNITS, or the LAMMPS "
                                   "input beside it, else metal)")
    add_lj_scales(p)
    p.add_argument("--md-timestep", type=positive, metavar="PS",
                   help="the MD integration time step in ps (LAMMPS' timestep): frame times are MD step x this; "
                        "for dumps without ITEM: TIME (default: the LAMMPS input or log beside the dump)")
    p.add_argument("--frame-interval", type=positive, metavar="PS",
                   help="the time between two frames in ps, for files without times (default: from --md-timestep "
                        "or the files)")
    p.add_argument("--species", help="elements of the LAMMPS types, comma separated (type 1 first), e.g. Cu or Si,Ge "
                                   "(default: from the run's files)")
    p.add_argument("--masses", type=floats, help="masses of the LAMMPS types in amu, comma separated (type 1 "
                                                  "first), when --species is not given or to override it (default: "
                                                  "from the species or the run's files)")
    p.add_argument("--topology", help="topology file for MDAnalysis formats such as DCD or XTC (default: none)")
    p.add_argument("--chunk-frames", type=positive_int, metavar="N",
                   help="frames per Dask chunk (default: as many as fit the task memory, at least one task per core)")
    if thermo:
        p.add_argument("--thermo", nargs="+", metavar="LOG", help="LAMMPS log file(s) of the run: the per-frame "
                                                                  "potential energy and pressure of the thermo rows "
                                                                  "at the dump's steps (default: none)")
    p.add_argument("--energy-column", metavar="NAME", help="per-atom potential-energy column of a LAMMPS dump "
                                                           "(default: c_pe, c_peatom, c_pe_atom, c_epot or pe)")
    p.add_argument("--stress-columns", metavar="NAMES", type=_stress_columns,
                   help="per-atom stress of a LAMMPS dump (compute stress/atom, or centroid/stress/atom: nine "
                        "columns): c_ID, or six comma-separated column names xx,yy,zz,xy,xz,yz (nine: then yx,zx,zy) "
                        "(default: c_stress[1..9 or 1..6], c_s[...], ... or sxx ... syz)")
    add_cluster_options(p)


#: --lj-scales, of every command that reads LAMMPS files
LJ_SCALES_HELP = ("the physical scales of a run in LAMMPS units lj (Lennard-Jones reduced units): sigma in A, "
                  "epsilon in eV, mass in amu, e.g. 3.405,0.01032,39.948 for argon; needed with units lj (--units lj, "
                  "or the run's own files saying so) (default: none)")


def add_lj_scales(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lj-scales", type=lj_scales, metavar="SIGMA,EPSILON,MASS", help=LJ_SCALES_HELP)


def lj_scales(text: str) -> dict:
    """``--lj-scales SIGMA,EPSILON,MASS``: the ``lj_scales`` of :func:`trajmodes.units.conversion` (Å, eV, amu)."""
    parts = [t.strip() for t in text.split(",")]
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"give three numbers SIGMA,EPSILON,MASS (A, eV, amu), not {text!r}")
    try:
        values = [positive(t) for t in parts]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"SIGMA,EPSILON,MASS (A, eV, amu) must be three positive numbers, not "
                                         f"{text!r}") from None
    return dict(zip(("sigma", "epsilon", "mass"), values))


def add_cluster_options(p: argparse.ArgumentParser) -> None:
    """Where the command's Dask computations run: threads of this process (default), a running Dask scheduler (a
    SLURM or PBS allocation through dask-jobqueue, or ``dask scheduler`` and ``dask worker`` started by hand), or a
    local cluster of worker processes."""
    g = p.add_mutually_exclusive_group()
    g.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on the Dask scheduler at ADDRESS (tcp://host:8786), or the one described by a scheduler "
                        "file (*.json or any existing file: the JSON that dask scheduler --scheduler-file writes); "
                        "needs the 'distributed' package; waits for the scheduler (and for a scheduler file not there "
                        "yet) as long as dask's distributed.comm.timeouts.connect says (30 s unless set, e.g. "
                        "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=5s) (default: threads of this process)")
    g.add_argument("--workers", type=positive_int, metavar="N",
                   help="start a local cluster of N worker processes (one thread each) for this command (default: "
                        "threads of this process)")


def cluster(args):
    """The Dask client of ``--scheduler`` / ``--workers`` as a context manager (nothing without them): every Dask
    computation of the command runs there, and the client closes when it ends."""
    import contextlib
    address, workers = getattr(args, "scheduler", None), getattr(args, "workers", None)
    if address is None and workers is None:
        return contextlib.nullcontext()
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ValueError("--scheduler and --workers need the 'distributed' package: pip install distributed "
                         "(or pip install 'trajmodes[cluster]')") from None
    stack = contextlib.ExitStack()
    if workers is not None:
        try:
            local = stack.enter_context(LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                     dashboard_address=None))
            client = stack.enter_context(Client(local))
            stack.push(_cancel_on_interrupt(client))
            _allocator_on_workers(client, stack)
        except BaseException:
            stack.close()
            raise
        return stack
    target, where = _scheduler_address(address)
    try:
        client = stack.enter_context(Client(target))     # waits distributed.comm.timeouts.connect (30 s unless set)
        stack.push(_cancel_on_interrupt(client))
        _allocator_on_workers(client, stack)
        if not client.scheduler_info().get("workers"):
            print(f"note: the Dask scheduler at {target} has no workers yet: the computations wait until workers join "
                  f"(dask worker {target})", file=sys.stderr)
    except (OSError, ValueError) as exc:
        from trajmodes.workflows.session import scheduler_connect_timeout
        stack.close()
        _close_unconnected_client()
        wait = scheduler_connect_timeout()
        dead = isinstance(exc, OSError)
        raise ValueError(f"--scheduler {address}{where}: " + (
            f"no Dask scheduler answers at {target} within {wait:g} s ({' '.join(str(exc).split())}); start one "
            "(dask scheduler), check the address, or wait longer (DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=60s)"
            if dead else f"not an address Dask can connect to ({' '.join(str(exc).split())}); give the scheduler's "
            "address, tcp://host:8786, or its scheduler file (dask scheduler --scheduler-file FILE)")) from None
    return stack


def _allocator_on_workers(client, stack) -> None:
    """The program's allocator settings in the cluster's workers
    (:func:`~trajmodes.workflows.session.use_program_allocator_on_workers`): they parse its frames; at the command's
    end the memory their heaps keep is handed back to the system, so that a worker serving the next command starts
    from what it holds. A cluster that refuses the plugin runs the command all the same."""
    from trajmodes.workflows.session import use_program_allocator_on_workers
    try:
        trim_workers = use_program_allocator_on_workers(client)
    except Exception as exc:                    # the computations do not depend on it
        print(f"note: the workers keep their own memory allocator settings ({' '.join(str(exc).split())[:200]})",
              file=sys.stderr)
        return

    def trim(exc_type, exc, tb):
        if exc_type is None:
            trim_workers()
        return False
    stack.push(trim)


def _close_unconnected_client() -> None:
    """Close the client that failed to connect. distributed's Client makes itself the default client (and dask's
    scheduler) before it connects, and one refused an address (``nonsense``: no port) stays both: every later Dask
    computation of the process (a notebook, a test suite, a script calling the CLI) would wait on it for ever."""
    from distributed import default_client
    try:
        client = default_client()
    except ValueError:                          # none left behind
        return
    if client.status != "running":
        with contextlib.suppress(Exception):
            client.close(timeout=1)


def _cancel_on_interrupt(client):
    """The exit callback that cancels every future of ``client`` when the command is interrupted (Ctrl-C, SIGTERM:
    a KeyboardInterrupt), so that a shared scheduler's workers stop computing for it at once; waits at most 1 s."""
    def exit(exc_type, exc, tb):
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            import logging
            from distributed import Future
            for name in ("distributed", "asyncio"):     # the cancelled tasks' tracebacks: the command's line says it
                logging.getLogger(name).setLevel(logging.CRITICAL)
            keys = list(getattr(client, "futures", {}))
            if keys:
                try:
                    client.sync(client._cancel, [Future(k, client) for k in keys], force=True,
                                callback_timeout=1.0)
                except Exception:                # the scheduler gone or slow: closing the client releases them too
                    pass
        return False
    return exit


def _scheduler_address(text) -> tuple[str, str]:
    """The address ``--scheduler`` names: as given (tcp://host:8786), or the ``address`` of a scheduler file
    (``dask scheduler --scheduler-file FILE``: JSON), checked here because distributed would wait forever for a file
    that never appears and fail on a broken one with an AssertionError. A file not there yet is waited for as long as
    a scheduler is (the scheduler of a batch job may still be starting). Returns (address, ' (address ...)' for a
    file, else '')."""
    import json
    from trajmodes.workflows.session import scheduler_connect_timeout
    text = str(text).strip()
    if not text:
        raise ValueError("--scheduler got an empty address: give the Dask scheduler's address (tcp://host:8786) or "
                         "its scheduler file (dask scheduler --scheduler-file FILE)")
    if "://" in text or not (text.endswith(".json") or os.path.exists(text)):
        return text, ""
    folder = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(folder):
        raise ValueError(f"--scheduler {text}: no such scheduler file (the folder {folder} does not exist); give the "
                         "file that dask scheduler --scheduler-file FILE writes, or the address tcp://host:8786")
    wait = scheduler_connect_timeout()
    end = time.monotonic() + wait
    while not os.path.exists(text) and time.monotonic() < end:
        time.sleep(0.1)
    if not os.path.exists(text):
        raise ValueError(f"--scheduler {text}: no such scheduler file (waited {wait:g} s, dask's "
                         "distributed.comm.timeouts.connect): start the scheduler with dask scheduler --scheduler-file "
                         f"{text} first, or give its address tcp://host:8786")
    try:
        with open(text, encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"--scheduler {text}: not a Dask scheduler file, which is JSON with the scheduler's "
                         f"'address' ({' '.join(str(exc).split())}); give the file dask scheduler --scheduler-file "
                         "wrote, or the address tcp://host:8786") from None
    address = info.get("address") if isinstance(info, dict) else None
    if not isinstance(address, str) or not address.strip():
        held = (f"its 'address' is {address!r}" if isinstance(info, dict) and "address" in info else
                f"it holds {sorted(map(str, info)) if isinstance(info, dict) else 'a JSON ' + type(info).__name__}")
        raise ValueError(f"--scheduler {text}: the scheduler file names no scheduler address ({held}); give the file "
                         "dask scheduler --scheduler-file wrote, or the address tcp://host:8786")
    return address.strip(), f" (address {address.strip()})"


def _stress_columns(text: str):
    names = [t.strip() for t in text.split(",") if t.strip()]
    if len(names) not in (1, 6, 9):
        raise argparse.ArgumentTypeError(f"{text!r}: give one compute (c_ID) or six (nine for a centroid stress) "
                                         f"column names, not {len(names)}")
    return names[0] if len(names) == 1 else names


def refuse_repeated_files(paths, label: str = "RUN", why: str = "a series fits each run once (given twice, one run "
                          "counts as two independent runs at one temperature)") -> None:
    """Refuse a file given twice among ``paths``, however spelled (``./A``, ``A``, a symbolic or a hard link): read
    twice, one run would count as two independent ones (``why``, in words; ``label`` names the arguments)."""
    seen: dict = {}
    for i, p in enumerate(paths):
        try:
            st = os.stat(p)
            key = (st.st_dev, st.st_ino)
        except OSError:
            key = os.path.realpath(p)
        if key in seen:
            j = seen[key]
            a, b = os.path.realpath(paths[j]), os.path.realpath(p)
            same = "" if p == paths[j] else f" ({a})" if a == b else f" ({a} and {b} are hard links of one file)"
            raise ValueError(f"{label} {j + 1} ({paths[j]}) and {label} {i + 1} ({p}) are the same file{same}: {why}: "
                             "give each run once")
        seen[key] = i


#: what a command that reads a path-integral run as a trajectory reads of it, and what that approximates
CENTROID_LINE = ("read as its centroid (every atom's bead average): its positions are the quantum crystal's mean sites, "
                 "its spectra approximate Kubo-transformed correlation functions where the run was made for dynamics "
                 "(centroid MD: Cao and Voth, J. Chem. Phys. 1994; thermostatted ring-polymer MD: Rossi, Ceriotti and "
                 "Manolopoulos, J. Chem. Phys. 2014); a plain PIMD run's centroid moves under its thermostat")


def read_trajectory(args, files=None):
    """One trajectory from the command's read options (several files: one run split into restarts), measured from
    its time average without --reference (:func:`~trajmodes.workflows.reading.open_run`); the centroid of a
    path-integral run (one bead's file given), with a line saying so."""
    traj, run = read_run_or_beads(args, files)
    if run is not None:
        print(f"{run.describe()}: {CENTROID_LINE}", flush=True)
    return traj


def read_run_or_beads(args, files=None, *, temperature: float | None = None) -> tuple:
    """``(trajectory, None)`` of a plain run or ``(its centroid, RingPolymerRun)`` of a path-integral one, opened
    once by :func:`~trajmodes.workflows.reading.open_run` with the command's read options; ``temperature`` (K, the
    command's --temperature where it means the run's) is a path-integral run's, None: as its input states."""
    from trajmodes.workflows.reading import open_run
    files = args.files if files is None else files
    species = args.species.split(",") if args.species else None
    run = open_run(files, format=args.format, reference=getattr(args, "reference", None), temperature=temperature,
                   units=args.units, lj_scales=args.lj_scales, md_timestep=args.md_timestep,
                   frame_interval=args.frame_interval, species=species, masses=args.masses, topology=args.topology,
                   chunk_frames=args.chunk_frames, thermo=_thermo(args), energy_column=args.energy_column,
                   stress_columns=args.stress_columns)
    return run.trajectory, run.ring


def _thermo(args):
    logs = getattr(args, "thermo", None)
    return None if not logs else (logs[0] if len(logs) == 1 else list(logs))


def input_files(traj, args) -> list[str]:
    """The files a result from ``traj`` was computed from: the trajectory's, a reference structure file and the
    thermo logs."""
    ref = getattr(args, "reference", None)
    return list(traj.source.paths) + ([ref] if ref and os.path.isfile(ref) else []) + \
        list(getattr(args, "thermo", None) or [])


def read_settings(args, traj) -> dict:
    """The read options that shape a result from ``traj`` (for its provenance): reference, units, time step,
    species, masses."""
    reference = getattr(args, "reference", None) or (
        "stored in the cache" if getattr(traj.source, "reference", None) is not None else "average")
    return dict(reference=reference, units=args.units, lj_scales=getattr(args, "lj_scales", None),
                md_timestep=args.md_timestep, frame_interval=args.frame_interval, species=args.species,
                masses=args.masses)


def positive(text: str) -> float:
    import math
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive, finite number, not {text!r}")
    return v


def width_or_adaptive(text: str) -> float | str:
    """A smearing: a positive width in THz, or ``adaptive`` (widths from the group velocities)."""
    if text.strip().lower() == "adaptive":
        return "adaptive"
    try:
        return positive(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be a positive width in THz or 'adaptive', not {text!r}") from None


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text!r}")
    return v


def non_negative_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text!r}")
    return v


def floats(text: str) -> list[float]:
    return [positive(x) for x in text.split(",") if x.strip()]


def mesh(text: str) -> list[int]:
    """'N' (N x N x N) or 'N1,N2,N3' (or 'N1xN2xN3'), positive: the divisions of a q mesh, read by
    :func:`trajmodes.lattice.qpoints.parse_mesh`."""
    from trajmodes.workflows.qpoints import mesh_divisions
    try:
        return mesh_divisions([int(x) for x in text.replace("x", ",").split(",") if x.strip()])
    except ValueError:
        raise argparse.ArgumentTypeError(f"mesh must be N or N1,N2,N3 (positive), not {text!r}") from None


def temperatures(text: str):
    """'T' or 'Tmin:Tmax:step' (Tmax included, as phonopy) or 'T1,T2,...' in K."""
    import numpy as np
    try:
        if ":" in text:
            lo, hi, step = (float(x) for x in text.split(":"))
            if not step > 0 or hi < lo or lo < 0:
                raise ValueError
            return np.arange(lo, hi + 0.5 * step, step)
        out = np.array([float(x) for x in text.split(",")])
        if not np.all(np.isfinite(out)) or np.any(out < 0):
            raise ValueError
        return out
    except ValueError:
        raise argparse.ArgumentTypeError(f"temperatures must be TMIN:TMAX:STEP or T1,T2,... in K (0 or more), "
                                         f"not {text!r}") from None


def qpoint_tokens(tokens):
    """``--qpoints``: reduced q-points, three numbers each, as ``h k l h k l ...`` or ``'h,k,l;h,k,l'`` (or both);
    an (n, 3) array."""
    import numpy as np
    text = " ".join([tokens] if isinstance(tokens, str) else list(tokens))
    try:
        q = np.array([float(x) for x in text.replace(";", " ").replace(",", " ").split()])
    except ValueError:
        q = np.zeros(0)
    if not q.size or q.size % 3 or not np.isfinite(q).all():
        raise ValueError(f"--qpoints takes reduced q-points, three numbers each ('h k l h k l ...' or "
                         f"'h,k,l;h,k,l'), not {text!r}")
    return q.reshape(-1, 3)


def supercell_dims(text: str) -> list[int]:
    """``--supercell``: N or N1,N2,N3 unit cells (positive whole numbers)."""
    try:
        dims = [int(x) for x in text.replace("x", ",").split(",") if x.strip()]
    except ValueError:
        dims = []
    dims = dims * 3 if len(dims) == 1 else dims
    if len(dims) != 3 or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"the supercell must be N or N1,N2,N3 unit cells (positive), not {text!r}")
    return dims


def stem(path: str) -> str:
    return path[:-3] if path.endswith(".nc") else path


def output_file(args, name: str) -> str:
    """The file ``name`` in the output folder ``-o`` of the command (``-o`` names a folder for every command)."""
    o = str(args.output)
    if o.endswith(".nc"):
        raise ValueError(f"-o {o}: -o names the folder the command writes its files into ({name} inside it), not a "
                         f"netCDF file: give a folder, e.g. -o {stem(o)}")
    if os.path.isfile(o):
        raise ValueError(f"-o {o} is a file: -o names the folder the command writes its files into")
    return os.path.join(o, name)


class Steps:
    """One line on stderr per step of a command that can take seconds, with its time when it has taken over one."""

    def __init__(self):
        self.t0 = None

    def __call__(self, label: str):
        self.label = label
        return self

    def __enter__(self):
        print(f"{self.label} ...", file=sys.stderr, flush=True)
        self.t0 = time.perf_counter()

    def __exit__(self, exc_type, exc, tb):
        dt = time.perf_counter() - self.t0
        if exc_type is None and dt >= 1.0:
            print(f"{self.label}: done in {dt:.1f} s", file=sys.stderr, flush=True)


step = Steps()


def add_plot_format(p) -> None:
    p.add_argument("--plot-format", choices=FIGURE_FORMATS, default="png", help="figure format (default png)")


def frequency_cells(nu, err=None, max_sets: int | None = None) -> str:
    """One q-point's frequencies as printed (THz, 4 decimals, ``+-`` its standard error when given): each degenerate
    set once with its size ("x3"); with ``max_sets``, at most that many sets, the lowest and the highest (a soft mode
    stays visible)."""
    from trajmodes.workflows.qpoints import degenerate_sets
    cells = []
    for g in degenerate_sets(nu, max_sets):
        if g is None:
            cells.append("...")
            continue
        b = g[0]
        text = f"{nu[b] if abs(nu[b]) >= 5e-5 else 0.0:8.4f}" + (f"+-{err[b]:.4f}" if err is not None else "")
        cells.append(text + (f" x{len(g)}" if len(g) > 1 else ""))
    return "  ".join(cells)


def error_model_line(model: str, lower_bound: bool, reason: str) -> str:
    """What the printed error bars are: the error model, calibrated or a LOWER BOUND, and why."""
    return (f"LOWER BOUND ({model}): " if lower_bound else f"{model}, calibrated: ") + reason

