"""SIGINT and SIGTERM stop a real ``trajmodes`` process within about a second, in every step, C calls that hold the
interpreter included; a finished cache is kept and reused; nothing half written is left."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.support.paths import DATA, ROOT

#: seconds from the signal to the end of the process that the tests allow (the supervisor's grace is 1 s)
LIMIT = 2.5


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")


def _start(argv: list[str], cwd: Path, code: str | None = None) -> subprocess.Popen:
    """The program as a user starts it (``python -m trajmodes``; or ``code``, which runs ``cli.main()`` itself),
    with SIGINT handled as at a terminal (a shell without job control would start it ignored), stdout and stderr
    merged into a file (a pipe left unread could fill and block the command)."""
    log = open(cwd / "log.txt", "w")
    cmd = [sys.executable, "-m", "trajmodes", *argv] if code is None else [sys.executable, "-c", code, *argv]
    p = subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=_env(),
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    p.log = cwd / "log.txt"
    return p


def _wait_for(p: subprocess.Popen, text: str, timeout: float = 240.0) -> None:
    t0 = time.monotonic()
    while text not in p.log.read_text():
        assert p.poll() is None, f"the command ended before {text!r}:\n{p.log.read_text()}"
        assert time.monotonic() - t0 < timeout, f"no {text!r} after {timeout} s:\n{p.log.read_text()}"
        time.sleep(0.05)


def _signal(p: subprocess.Popen, sig: int) -> tuple[float, str]:
    """Send ``sig``; the seconds until the process ended, and its output."""
    t0 = time.monotonic()
    p.send_signal(sig)
    try:
        p.wait(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    return time.monotonic() - t0, p.log.read_text()


def _line(log: str, prefix: str) -> str:
    lines = [ln for ln in log.splitlines() if ln.startswith(prefix)]
    assert len(lines) == 1, log
    return lines[0]


@pytest.fixture(scope="module")
def dump(tmp_path_factory) -> Path:
    """A 6912-atom fcc dump of 64 frames (50 MB): its cache takes a second, its fit's symmetry search (spglib, a C
    call that holds the interpreter) over a minute."""
    path = tmp_path_factory.mktemp("dump") / "cu6912.dump"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gen_dump.py"), str(path), "--size-gb", "0.05",
                    "--cells", "12"], check=True, capture_output=True, env=_env())
    return path


@pytest.mark.slow
def test_run_stops_within_a_second_keeps_its_cache_and_the_next_run_reuses_it(dump, tmp_path):
    """SIGINT during the fit (its symmetry search was a minute-long spglib call on this cell before the lattice
    translations were found directly; the C-call case is also covered by the convert test below): the command ends
    within the grace, status 130, one line saying the cache was kept; -o holds the complete cache only. The next run with the
    same dump and -o reuses it (says so, does not rewrite it) and SIGTERM stops it too, status 143."""
    argv = ["run", str(dump), "--species", "Cu", "--md-timestep", "0.001", "-o", "out"]
    p = _start(argv, tmp_path)
    _wait_for(p, "fitting the effective force constants ...")
    time.sleep(0.5)
    took, log = _signal(p, signal.SIGINT)
    assert p.returncode == 130, log
    assert took < LIMIT, f"{took:.1f} s after SIGINT:\n{log}"
    said = _line(log, "trajmodes: ")
    assert said.startswith("trajmodes: interrupted by SIGINT") and "kept out/trajectory.nc" in said, log
    assert "Traceback" not in log
    assert _listing(tmp_path) == ["log.txt", "out", "out/trajectory.nc"]         # no staging folder, no temporary
    cache = tmp_path / "out" / "trajectory.nc"
    stamp = cache.stat().st_mtime_ns
    import netCDF4
    with netCDF4.Dataset(cache) as ds:
        assert len(ds.dimensions["time"]) == 64 and "source_fingerprint" in ds.ncattrs()

    p = _start(argv, tmp_path)
    _wait_for(p, "fitting the effective force constants ...")
    time.sleep(0.5)
    took, log = _signal(p, signal.SIGTERM)
    assert p.returncode == 143, log
    assert took < LIMIT, f"{took:.1f} s after SIGTERM:\n{log}"
    assert "reusing the netCDF cache out/trajectory.nc: complete, 64 frames" in log
    assert "reading the run once" not in log
    assert _line(log, "trajmodes: ").startswith("trajmodes: interrupted by SIGTERM (terminated)"), log
    assert cache.stat().st_mtime_ns == stamp
    assert _listing(tmp_path) == ["log.txt", "out", "out/trajectory.nc"]


def _in_process(argv: list[str], cwd: Path, monkeypatch, capsys) -> str:
    """``trajmodes ARGV`` run in this process from the folder ``cwd`` (no signal involved: the cache's reuse is what
    is checked, and a fresh interpreter for each run cost 3 s); its stdout and stderr."""
    from trajmodes.cli import main
    capsys.readouterr()
    with monkeypatch.context() as m:
        m.chdir(cwd)
        code = main(argv)
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    return out.out + out.err


def test_the_next_run_reuses_the_cache_of_the_same_dump_only(tmp_path, monkeypatch, capsys):
    """A second run with the same dump and -o reuses the cache (one line says so; it is not rewritten, the summary
    is the same); a dump changed in place (same size and modification time, one digit of the first frame other)
    gets its cache written anew."""
    import shutil
    mine = tmp_path / "cu.dump"
    shutil.copy(DATA / "cu32_xu.lammpstrj", mine)
    argv = ["run", str(mine), "--species", "Cu", "--md-timestep", "0.001", "--no-fit", "-o", "out"]

    def run() -> str:
        return _in_process(argv, tmp_path, monkeypatch, capsys)
    first = run()
    assert "reusing" not in first and "reading the run once" in first
    cache = tmp_path / "out" / "trajectory.nc"
    stamp = cache.stat().st_mtime_ns
    second = run()
    assert "reusing the netCDF cache out/trajectory.nc: complete, 20 frames" in second
    assert "reading the run once" not in second and cache.stat().st_mtime_ns == stamp

    def summary(log: str) -> list[str]:
        return [ln for ln in log.splitlines() if ln.startswith(("temperature:", "  Cu:", "  largest"))]
    assert summary(second) == summary(first) and len(summary(first)) == 3
    st = mine.stat()
    data = bytearray(mine.read_bytes())
    k = data.index(b"\n1 1 -0.0") + len(b"\n1 1 -0.0")
    data[k:k + 1] = b"1" if data[k:k + 1] != b"1" else b"2"
    mine.write_bytes(bytes(data))
    os.utime(mine, ns=(st.st_atime_ns, st.st_mtime_ns))
    third = run()
    assert "reusing" not in third and "reading the run once" in third
    assert cache.stat().st_mtime_ns != stamp



def test_a_cache_is_written_again_when_the_input_beside_the_dump_changes(tmp_path, monkeypatch, capsys):
    """The frame times of a dump without ITEM: TIME come from the LAMMPS input beside it: a second run after its
    ``timestep`` was edited (0.001 -> 0.00105 ps: within the 10% that the check against the dump's velocities leaves,
    which refuses 0.002) writes the cache again with the new times instead of reusing the
    old ones (the reader's decisions are part of the cache's fingerprint, not only the dump's own bytes)."""
    import shutil
    import netCDF4
    mine = tmp_path / "cu.dump"
    shutil.copy(DATA / "cu32_xu.lammpstrj", mine)
    inp = tmp_path / "in.cu"
    text = "units metal\ntimestep {dt}\ndump d all custom 10 cu.dump id type xu yu zu vx vy vz fx fy fz\nrun 190\n"
    argv = ["run", str(mine), "--species", "Cu", "--no-fit", "-o", "out"]

    def run(dt: float) -> tuple[str, float]:
        inp.write_text(text.format(dt=dt))
        log = _in_process(argv, tmp_path, monkeypatch, capsys)
        with netCDF4.Dataset(tmp_path / "out" / "trajectory.nc") as ds:
            t = ds.variables["time"][:]
        return log, float(t[1] - t[0])
    first, dt1 = run(0.001)
    assert "reading the run once" in first and dt1 == pytest.approx(0.01)
    again, _ = run(0.001)
    assert "reusing the netCDF cache" in again
    second, dt2 = run(0.00105)
    assert "reusing" not in second and "reading the run once" in second
    assert dt2 == pytest.approx(0.0105)

#: a command whose cache write is followed by a C call that holds the interpreter and never checks for signals
_HELD = textwrap.dedent("""
    import sys
    import trajmodes.io.trajectories.netcdf as n
    real = n.define_cache
    def define(*a, **k):
        real(*a, **k)
        open("ready", "w").close()
        sum(range(10 ** 12))                     # minutes in one C loop, the interpreter held (as spglib holds it)
    n.define_cache = define
    from trajmodes import cli
    sys.argv[0] = "trajmodes"
    sys.exit(cli.main())
""")


#: a command that a signal interrupts inside an import, which turns it into another error (as a C extension's
#: initialisation does: "ImportError: initialization failed")
_IMPORT_CUT = textwrap.dedent("""
    import os, signal, sys
    from trajmodes import cli
    from trajmodes.cli.interrupt import Interrupted
    def cmd_info(args, out):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            signal.pause()
        except Interrupted:
            raise ImportError("initialization failed")
    cli.cmd_info = cmd_info
    sys.argv[0] = "trajmodes"
    sys.exit(cli.main())
""")


def test_a_signal_that_surfaces_as_another_error_is_still_an_interrupt(tmp_path):
    """Ctrl-C during an import that turns it into an ImportError ("initialization failed") ends with the interrupt's
    line and status 130, not "trajmodes: error: initialization failed" and status 2."""
    p = _start(["info", str(DATA / "cu32_xu.lammpstrj"), "--md-timestep", "0.001"], tmp_path, code=_IMPORT_CUT)
    p.wait(timeout=120)
    log = p.log.read_text()
    assert p.returncode == 130, log
    assert "initialization failed" not in log and _line(log, "trajmodes: ").startswith("trajmodes: interrupted by "
                                                                                         "SIGINT"), log

@pytest.mark.parametrize("sig, status, word", [(signal.SIGINT, 130, "interrupted by SIGINT"),
                                               (signal.SIGTERM, 143, "interrupted by SIGTERM")])
def test_convert_stopped_inside_a_c_call_leaves_no_file(tmp_path, sig, status, word):
    """A signal while the cache is half written and the process is inside a C call: the command still ends within
    the grace, with its status and one line, and leaves neither the file nor its staging folder."""
    p = _start(["convert", str(DATA / "cu32_xu.lammpstrj"), "--md-timestep", "0.001", "-o", "out"], tmp_path,
               code=_HELD)
    t0 = time.monotonic()
    while not (tmp_path / "ready").exists():
        assert p.poll() is None, p.log.read_text()
        assert time.monotonic() - t0 < 120
        time.sleep(0.05)
    time.sleep(0.2)
    took, log = _signal(p, sig)
    assert p.returncode == status, log
    assert took < LIMIT, f"{took:.1f} s after the signal:\n{log}"
    said = _line(log, "trajmodes: ")
    assert said.startswith(f"trajmodes: {word}") and "kept nothing" in said, log
    assert _listing(tmp_path) == ["log.txt", "ready"]


def test_a_signal_to_a_python_step_is_handled_by_the_command_itself(tmp_path):
    """Where the command runs Python (here: waiting for Dask's threads, each in a 300 s task), it stops itself at
    once: its own cleanup and line, not the supervisor's, and without waiting for the tasks to end. The signal is
    sent once a task has started (the task writes a marker), and the supervisor's grace is raised to 300 s in this
    program, so that the verdict does not depend on how loaded the machine is: a command that could not stop itself
    would be stopped by nobody within the test's 30 s, and one that waited for its tasks would take about 300 s."""
    code = textwrap.dedent("""
        import sys, time
        import dask.array as da
        from trajmodes import cli
        from trajmodes.cli import interrupt
        interrupt.GRACE = 300.0
        def task(b):
            open("started", "w").close()
            time.sleep(300.0)
            return b
        def slow(args, out):
            da.ones((8, 4), chunks=(1, 4)).map_blocks(task).sum().compute(scheduler="threads")
            return 0
        cli.cmd_phonons = slow
        sys.argv[0] = "trajmodes"
        sys.exit(cli.main())
    """)
    p = _start(["phonons", "fc", "-o", "out"], tmp_path, code=code)
    t0 = time.monotonic()
    while not (tmp_path / "started").exists():
        assert p.poll() is None, p.log.read_text()
        assert time.monotonic() - t0 < 120, f"no task started after 120 s:\n{p.log.read_text()}"
        time.sleep(0.05)
    took, log = _signal(p, signal.SIGTERM)
    assert p.returncode == 143, log
    assert took < 30.0, f"{took:.1f} s after SIGTERM (the tasks take 300 s):\n{log}"
    said = _line(log, "trajmodes: ")
    assert said.startswith("trajmodes: interrupted by SIGTERM (terminated): kept nothing"), log
    assert "could not stop itself" not in said
