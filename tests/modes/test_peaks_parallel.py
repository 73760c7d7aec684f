"""The peak fits on worker processes: the same numbers for every line model, window and likelihood; none started
on one core; a fit that raises on a worker named by its mode; Ctrl-C stops them at once and leaves no worker."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import xarray as xr

import trajmodes
from trajmodes.modes import peaks
from trajmodes.modes.lineshapes import lorentzian

from tests.support.paths import ROOT
from tests.support.spectra import count_pools

#: the spectra's attributes: 8 Welch segments of 240 frames 1/24 ps apart, Hann window (0.1 THz bins)
ATTRS = dict(n_segments=8, enbw_thz=0.15, resolution_thz=0.1, segment_frames=240, frame_interval_ps=1 / 24,
             window="hann")


def _spectra(nq: int, likelihood: str = "gamma", seed: int = 4) -> xr.Dataset:
    """``nq`` noisy Welch spectra of Lorentzian lines (FWHM 0.4 THz) at distinct frequencies from 3 to 9 THz; with
    the "gaussian" likelihood, shifted down so that bins dip below zero (as lag-window estimates do)."""
    f = np.arange(121) * 0.1
    rng = np.random.default_rng(seed)
    nu0 = rng.uniform(3.0, 9.0, size=(nq, 1))
    pi = lorentzian(f[None, None, :], 1.0, nu0[..., None], 0.4, 0.02) * rng.exponential(size=(8, nq, 1, f.size))
    psd = pi.mean(0) - (0.02 if likelihood == "gaussian" else 0.0)
    dims = ("q", "branch", "frequency")
    return xr.Dataset({"psd": (dims, psd), "psd_err": (dims, pi.std(0) / np.sqrt(8))},
                      coords={"frequency": f, "frequency_harmonic": (("q", "branch"), nu0)},
                      attrs=dict(ATTRS, bin_distribution=likelihood))


def _on_workers(monkeypatch) -> None:
    """Every fit after the first on the workers, however fast (the choice itself is tested in test_peaks.py)."""
    monkeypatch.setattr(peaks, "parallel_pays", lambda n_fits, seconds, workers, start: workers > 1)
    monkeypatch.setattr(peaks, "PROBE_SECONDS", 0.0)


@pytest.mark.parametrize("likelihood, model, window", [
    ("gamma", "lorentzian_windowed", None), ("gamma", "dho_windowed", 0.6), ("gamma", "dho", (2.0, 10.0)),
    ("gaussian", "lorentzian", None), ("gaussian", ["lorentzian_windowed", "dho_windowed"], None)])
def test_every_line_model_gives_the_same_numbers_on_workers(monkeypatch, likelihood, model, window):
    """Windowed models (objects sent to the workers), both likelihoods and every kind of window: the numbers, models
    and statuses of the fits on two worker processes are those of the fits in this process, bit for bit."""
    s = _spectra(16, likelihood)
    started = count_pools(monkeypatch)
    _on_workers(monkeypatch)
    serial = trajmodes.fit_peaks(s, model=model, window=window, star=False, workers=1, progress=False)
    parallel = trajmodes.fit_peaks(s, model=model, window=window, star=False, workers=2, progress=False)
    assert started == [2]
    assert (serial.status.values == "ok").sum() >= 4
    for name, v in serial.data_vars.items():
        np.testing.assert_array_equal(parallel[name].values, v.values, err_msg=name)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs os.sched_setaffinity")
def test_one_core_starts_no_worker(monkeypatch):
    """A process allowed one core (taskset -c 0) fits in itself, even fits slow enough to pay for workers on two
    (30 fits of 50 ms: 1.5 s one after another, 0.8 s on two)."""
    real = peaks.fit_spectrum

    def slow(*args, **kwargs):
        time.sleep(0.05)
        return real(*args, **kwargs)
    monkeypatch.setattr(peaks, "fit_spectrum", slow)
    started = count_pools(monkeypatch)
    assert peaks.parallel_pays(29, 0.05, 2, peaks.START_SECONDS["fork"])
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cores)})
    try:
        assert peaks.fit_workers() == 1
        p = trajmodes.fit_peaks(_spectra(30), star=False, progress=False)
    finally:
        os.sched_setaffinity(0, cores)
    assert started == [] and (p.status.values == "ok").sum() > 20


def test_a_fit_that_raises_on_a_worker_is_named_by_its_mode(monkeypatch):
    """A fit that raises on a worker process (a bug, or a spectrum no check foresaw) says which mode it was, its
    harmonic frequency, the error and how to fit that spectrum alone (before: the bare error, from a Dask task of
    fits, with no mode)."""
    s = _spectra(12)
    nu = s["frequency_harmonic"].values[:, 0]
    bad = int(np.argsort(nu)[6])                          # not the first fit: that one runs in this process
    real = peaks.fit_spectrum

    def failing(f, p, e, nu_h, *args, **kwargs):
        if nu_h == nu[bad]:
            raise FloatingPointError("overflow in the likelihood")
        return real(f, p, e, nu_h, *args, **kwargs)
    monkeypatch.setattr(peaks, "fit_spectrum", failing)
    started = count_pools(monkeypatch)
    _on_workers(monkeypatch)
    with pytest.raises(RuntimeError) as err:
        trajmodes.fit_peaks(s, star=False, workers=2, progress=False)
    assert started == [2] and bad != 0
    words = str(err.value)
    assert f"at q index {bad}, branch 0, harmonic frequency {nu[bad]:.4g} THz failed: FloatingPointError: " \
           "overflow in the likelihood" in words
    assert f"spectra.isel(q=[{bad}])" in words


#: a script whose 40 fits of 1 s each run on two worker processes (20 s), every fit after the first; with
#: ``command line``, as a command runs them: supervised in a forked child, under its signal handlers
_SLOW_FITS = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)     # as an interactive run has it
sys.path.insert(0, {root!r})
from tests.modes.test_peaks_parallel import _spectra
from trajmodes.cli.interrupt import exit_now, signals, supervise
from trajmodes.modes import peaks
import trajmodes
real = peaks.fit_spectrum
def slow(*args, **kwargs):
    time.sleep(1.0)
    return real(*args, **kwargs)
peaks.fit_spectrum = slow
peaks.PROBE_SECONDS = 0.0
peaks.parallel_pays = lambda n_fits, seconds, workers, start: workers > 1
def fits():
    trajmodes.fit_peaks(_spectra(40), star=False, workers=2, progress=False)
    return 0
def command():
    with signals():
        try:
            return fits()
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr, flush=True)
            exit_now(130)
sys.exit(supervise(command) if {command_line!r} else fits())
"""


def _processes() -> dict[int, int]:
    """pid -> parent pid of every process not yet reaped (from /proc), zombies left out."""
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[0] != "Z":
                out[int(name)] = int(fields[1])
    return out


def _descendants(pid: int) -> list[int]:
    """The processes started by ``pid``, and by them, and so on."""
    parents, found, todo = _processes(), [], [pid]
    while todo:
        of = todo.pop()
        kids = [p for p, parent in parents.items() if parent == of]
        found += kids
        todo += kids
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("command_line", [False, True], ids=["python", "command line"])
def test_ctrl_c_stops_the_fits_at_once_and_leaves_no_worker(tmp_path, command_line):
    """Ctrl-C while the fits run on workers (SIGINT to the calling process; for a command, to its process group, as
    a terminal sends it): it stops within a few seconds and no worker process is left. Before, the pool went on with
    every fit queued behind the running ones (here about 18 s more); under a command the forked workers inherited its
    signal handler, took the signal for a fit's result and went on, and outlived the command its supervisor killed
    after 1 s."""
    script = tmp_path / "slow_fits.py"
    script.write_text(textwrap.dedent(_SLOW_FITS.format(root=str(ROOT), command_line=command_line)))
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         cwd=str(ROOT), start_new_session=True)
    workers = []
    try:
        deadline = time.monotonic() + 60
        while p.poll() is None and time.monotonic() < deadline:
            workers = _descendants(p.pid)[1 if command_line else 0:]       # past the supervised command itself
            if len(workers) >= 2:
                break
            time.sleep(0.1)
        assert len(workers) >= 2, p.communicate()[1][-2000:] if p.poll() is not None else "no workers in 60 s"
        time.sleep(1.5)                                      # the workers are inside their first fits
        if command_line:
            os.killpg(p.pid, signal.SIGINT)
        else:
            os.kill(p.pid, signal.SIGINT)
        t0 = time.monotonic()
        _, err = p.communicate(timeout=60)
        stopped = time.monotonic() - t0
        deadline = time.monotonic() + 3
        while any(w in _processes() for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [w for w in workers if w in _processes()]
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
        for w in _descendants(p.pid) + workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(w, signal.SIGKILL)
    if command_line:
        assert p.returncode == 130 and "interrupted" in err, err[-2000:]
    else:
        assert p.returncode != 0 and "KeyboardInterrupt" in err, err[-2000:]
    assert stopped < 6.0, f"stopped {stopped:.1f} s after SIGINT"
    assert not left, f"worker processes {left} outlived the fits"


def test_the_fit_workers_end_when_their_caller_is_killed():
    """A caller killed outright (``kill -9``, the out-of-memory killer) runs no code that could end its pool: the
    workers, busy with a long fit, are sent SIGTERM by the kernel (Linux) instead of finishing it for nobody (an idle
    worker ends by itself when its queue closes)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the parent-death signal is Linux's")
    script = textwrap.dedent("""
        import sys, time
        from trajmodes.modes import peaks
        with peaks._worker_pool(2, "fork") as pool:
            busy = [pool.apply_async(time.sleep, (60,)) for _ in range(2)]
            time.sleep(0.5)
            pids = sorted(p.pid for p in pool._pool)
            print(" ".join(map(str, pids)), flush=True)
            time.sleep(60)
    """)
    caller = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(x) for x in caller.stdout.readline().split()]
        assert len(pids) == 2
        os.kill(caller.pid, signal.SIGKILL)
        caller.wait(10)
        deadline = time.monotonic() + 10
        alive = pids
        while alive and time.monotonic() < deadline:
            time.sleep(0.05)
            alive = [p for p in pids if _running(p)]
        assert not alive, f"workers {alive} outlived their killed caller"
    finally:
        caller.kill()


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False
