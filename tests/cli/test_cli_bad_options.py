"""Bad options end in one clear line (what is wrong, which option, what to do), never in silently wrong numbers, a
hang or a huge allocation: the q of ``trajmodes sqw`` (--qpoints, --powder), the Dask scheduler of every command
(--scheduler), and the headline of ``trajmodes compare`` on a run too short to resolve any line."""
from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import threading
import tracemalloc

import numpy as np
import pytest
import xarray as xr

from tests.support.cli_warnings import printed_warnings
from tests.support.paths import DATA, EXAMPLES
from trajmodes.cli import main

MD = EXAMPLES / "md"
SQW = ["sqw", str(MD / "cu_300K.lammpstrj.gz"), "--reference", str(MD / "cu_300K.data"), "--window", "10"]
CU32 = [str(DATA / "cu32_xu.lammpstrj"), "--species", "Cu", "--md-timestep", "0.001", "--reference",
        str(DATA / "cu32.data")]


def _run_bounded(argv, seconds: float, peak_bytes: float | None = 200e6) -> int:
    """main(argv) in a thread that must end within ``seconds`` and, with ``peak_bytes``, allocate at most that much
    (numpy's allocations are traced too)."""
    result = {}
    if peak_bytes is not None:
        tracemalloc.start()
    try:
        t = threading.Thread(target=lambda: result.update(rc=main(argv)), daemon=True)
        t.start()
        t.join(seconds)
        assert not t.is_alive(), f"{argv} still runs after {seconds} s"
        peak = tracemalloc.get_traced_memory()[1] if peak_bytes is not None else 0
    finally:
        if peak_bytes is not None:
            tracemalloc.stop()
    assert peak_bytes is None or peak < peak_bytes, f"{argv} allocated {peak / 1e6:.0f} MB"
    return result["rc"]


# -- S(q, omega): q without bounds -------------------------------------------------------------------------------------

@pytest.mark.parametrize("q, message", [
    (["1e300", "0", "0"], "beyond the |q| a run in this"),          # every float beyond 2^52 passed as an integer
    (["0", "0", "1e16"], "beyond the |q| a run in this"),
    (["1e6", "1e6", "0"], "beyond the |q| a run in this"),           # commensurate, finite, still beyond what rounds
    (["1e308", "1e308", "1e308"], "beyond the |q| a run in this"),   # overflows to inf in Cartesian
    (["0.3", "0", "0"], "not commensurate with the MD cell"),
])
def test_sqw_qpoints_beyond_what_the_run_resolves_are_refused(tmp_path, capsys, q, message):
    rc = _run_bounded([*SQW, "--qpoints", *q, "-o", str(tmp_path / "x")], 60)
    err = capsys.readouterr().err
    assert rc == 2 and "--qpoints" in err and message in err and err.count("\n") == 1, err
    assert "give q with |q| <=" in err or "nearest commensurate q" in err
    assert not (tmp_path / "x").exists()


# -- S(q, omega): powder ranges and what they would allocate -----------------------------------------------------------

@pytest.mark.parametrize("powder, message", [
    ("0:inf:3", "need 0 <= QMIN < QMAX, both finite"),                   # was an infinite range, failing in matplotlib
    ("0:nan:3", "need 0 <= QMIN < QMAX, both finite"),
    ("inf:inf:3", "need 0 <= QMIN < QMAX, both finite"),
    ("5:5:3", "need 0 <= QMIN < QMAX, both finite"),
    ("0:5:0", "must be a whole number, at least 1"),
    ("0:5:2.5", "must be a whole number, at least 1"),
    ("0:5:inf", "must be a whole number, at least 1"),
    ("0:1e4:10", "beyond the 2294 rad/Angstrom a run in this"),    # was the 88.7 TiB grid of candidate q
    ("0:5:1e11", "most shells would be empty; give at most 6472 shells"),
    ("0:5:100000000000", "most shells would be empty; give at most 6472 shells"),   # was a 745 GiB array of shells
    ("0:2000:100000000000", "use fewer shells or fewer q per shell"),
])
def test_sqw_powder_ranges_are_checked_before_anything_large_is_built(tmp_path, capsys, powder, message):
    rc = _run_bounded([*SQW, "--powder", powder, "-o", str(tmp_path / "x")], 60)
    err = capsys.readouterr().err
    assert rc == 2 and f"--powder {powder}" in err and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "x").exists()


def test_sqw_powder_far_beyond_the_listable_q_draws_them(tmp_path, capsys):
    """0 <= |Q| <= 100 rad/A holds 5e7 commensurate q of the 256-atom cell (the old code built a 461^3 grid of them):
    the q of each shell are drawn at random among its commensurate q, in bounded memory."""
    rc = _run_bounded([*SQW, "--powder", "0:100:4", "--per-shell", "3", "--step", "20", "--no-currents",
                       "--no-incoherent", "-o", str(tmp_path / "p")], 60, peak_bytes=None)
    assert rc == 0, capsys.readouterr().err
    capsys.readouterr()
    ds = xr.open_dataset(tmp_path / "p" / "sqw.nc").load()
    assert list(ds.n_qpoints.values) == [3, 3, 3, 3] and np.isfinite(ds.Sqw_coh.values).all()
    np.testing.assert_allclose(ds.q_norm.values, [12.5, 37.5, 62.5, 87.5])


# -- the Dask scheduler ------------------------------------------------------------------------------------------------

def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _scheduler_cases(tmp_path):
    (tmp_path / "garbage.json").write_text("{garbage")
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00")
    (tmp_path / "no_address.json").write_text(json.dumps({"type": "Scheduler", "id": "x"}))
    (tmp_path / "empty_address.json").write_text(json.dumps({"address": ""}))
    (tmp_path / "a_list.json").write_text("[1, 2]")
    dead = f"tcp://127.0.0.1:{_free_port()}"
    (tmp_path / "dead.json").write_text(json.dumps({"address": dead}))
    return dead


@pytest.mark.parametrize("which, message", [
    ("missing.json", "no such scheduler file (waited 1 s"),                      # distributed waited forever
    ("no_folder/missing.json", "no such scheduler file (the folder"),
    ("garbage.json", "not a Dask scheduler file, which is JSON"),               # was 'a bug in trajmodes'
    ("binary.json", "not a Dask scheduler file, which is JSON"),
    ("no_address.json", "names no scheduler address (it holds ['id', 'type'])"),  # was 'a bug in trajmodes'
    ("empty_address.json", "names no scheduler address (its 'address' is '')"),
    ("a_list.json", "names no scheduler address (it holds a JSON list)"),
    ("dead.json", "no Dask scheduler answers at tcp://127.0.0.1:"),
    ("", "--scheduler got an empty address"),                                   # did not name the option
    ("   ", "--scheduler got an empty address"),
    ("nonsense", "not an address Dask can connect to"),
    ("DEAD", "no Dask scheduler answers at tcp://127.0.0.1:"),
])
def test_scheduler_that_cannot_be_reached_is_one_clear_line(tmp_path, capsys, monkeypatch, which, message):
    pytest.importorskip("distributed")
    import dask
    dead = _scheduler_cases(tmp_path)
    monkeypatch.chdir(tmp_path)
    target = dead if which == "DEAD" else which
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        rc = _run_bounded(["run", *CU32, "--scheduler", target, "-o", str(tmp_path / "out")], 30)
    err = capsys.readouterr().err
    assert rc == 2 and message in err and "bug in trajmodes" not in err, err
    assert "--scheduler" in err and ("tcp://host:8786" in err or "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT" in err)
    assert not (tmp_path / "out").exists()
    # no client left behind as the default: a refused address left one, and every later computation of the process
    # waited on it for ever (the rest of this file hung)
    from trajmodes.resources import distributed_client
    assert distributed_client() is None and dask.config.get("scheduler", None) is None


def test_scheduler_file_written_after_the_command_started(tmp_path, capsys, monkeypatch):
    """A batch job starts the scheduler and the command together: the command waits for the scheduler file (as
    long as for a scheduler) and connects to the address in it."""
    pytest.importorskip("distributed")
    import argparse

    import dask
    from distributed import get_client
    from trajmodes.cli.options import cluster
    port = _free_port()
    path = tmp_path / "scheduler.json"
    proc = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
                             str(port), "--dashboard-address", ":0", "--no-show", "--scheduler-file", str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert not path.exists()
        with dask.config.set({"distributed.comm.timeouts.connect": "60s"}), \
                cluster(argparse.Namespace(scheduler=str(path), workers=None)):
            assert get_client().scheduler.address == f"tcp://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert "has no workers yet" in capsys.readouterr().err


# -- trajmodes compare on a run too short to resolve a line -------------------------------------------------------------

@pytest.fixture(scope="module")
def short_comparison(tmp_path_factory):
    """fc2 + fc3 fitted to a 20-frame, 32-atom Cu run (0.2 ps: spectral resolution 5 THz), the run projected on them
    (no line resolved), and their comparison (Gaussian 0.1 THz, without the bulk mesh)."""
    import warnings

    import trajmodes
    from trajmodes.modes.comparison import compare_three_phonon
    d = tmp_path_factory.mktemp("short-compare")
    traj = trajmodes.read(CU32[0], species=["Cu"], md_timestep=0.001, reference=CU32[-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                  # 20 frames: the fit says its error bars are lower bounds
        fc = trajmodes.EffectiveForceConstants(cutoff2=3.6, cutoff3=3.0, folds=1).fit(traj).force_constants_
    fc.write(d / "fc.nc")
    # the default bin of a run shorter than one Welch segment is its own 1/T, chosen without a word
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["project", *CU32, "--force-constants", str(d / "fc.nc"), "-o", str(d / "project")]) == 0
    assert not printed_warnings(err.getvalue()), err.getvalue()
    with xr.open_dataset(d / "project" / "modes.nc") as f:
        modes = f.load()
    return d, compare_three_phonon(modes, fc, smearing=0.1, bulk_points=None)


def _placed_without_widths(ds):
    """Half the modes with an MD peak position (narrower than the resolution: no width)."""
    ds = ds.copy(deep=True)
    live = ds["frequency_harmonic"].values > 1e-3
    half = live & (np.arange(live.size).reshape(live.shape) % 2 == 0)
    ds["md_placed"].values[half] = True
    ds["md_shift"].values[half] = 0.01
    ds["md_peak_status"].values[half] = "width below resolution"
    predicted = ds["pt_shift"].values[half]
    ds.attrs.update(median_shift_md=0.01, n_modes_shift_compared=int(half.sum()),
                    median_pt_shift=float(np.median(predicted)),
                    median_abs_shift_residual=float(np.median(np.abs(0.01 - predicted))))
    return ds


def _without_run(ds):
    ds = ds.copy()
    ds.attrs = {k: v for k, v in ds.attrs.items() if not k.startswith("md_frames") and k not in
                ("md_duration_ps", "md_resolution_thz")}
    return ds


@pytest.mark.parametrize("variant, words", [
    (lambda ds: ds, "no MD peak resolved (run too short: 20 frames, 0.2 ps, spectral resolution 5 THz)"),
    (_without_run, "no MD peak resolved (MD fit statuses: 96 zero-frequency mode)"),
    (_placed_without_widths, "n/a: no MD line of that kind resolved"),
])
# no mode to draw in the lineshape panel gave identical x limits and an empty legend (matplotlib warnings)
@pytest.mark.filterwarnings("error::UserWarning:trajmodes.plots.anharmonic")
def test_compare_headline_says_in_words_what_md_could_not_resolve(short_comparison, tmp_path, capsys, monkeypatch,
                                                                  variant, words):
    """Never 'median MD +nan': where no MD value exists, the headline says why, and the theory's numbers stay."""
    import trajmodes.modes.comparison as comparison
    d, ds = short_comparison
    monkeypatch.setattr(comparison, "compare_three_phonon", lambda *a, **k: variant(ds))
    assert main(["compare", str(d / "project" / "modes.nc"), str(d / "fc.nc"), "--bulk-points", "0",
                 "-o", str(tmp_path / "cmp")]) == 0
    text = capsys.readouterr().out
    assert "nan" not in text.lower(), text
    assert words in text and "theory predicts a median" in text or "median MD peak +0.0100" in text
    assert "MD lifetimes" in text or "no MD lifetime (no clean MD line)" in text
