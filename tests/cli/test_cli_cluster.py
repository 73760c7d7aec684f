"""Heavy commands on a Dask cluster from the command line: ``--scheduler ADDRESS`` (a real ``dask scheduler`` with two
``dask worker`` processes, as a SLURM or PBS user starts them) and ``--workers N`` give the numbers of the threaded
run."""
from __future__ import annotations

import socket
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from tests.support.paths import DATA
from trajmodes.cli import main
from tests.support.cli_warnings import assert_warned

pytest.importorskip("distributed")
RUN = ["run", str(DATA / "cu32_xu.lammpstrj"), "--species", "Cu", "--md-timestep", "0.001", "--chunk-frames", "4"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fc(folder):
    with xr.open_dataset(folder / "fc.nc") as ds:
        return ds["fc2"].values.copy()


# the 32-atom run is short for its correlation time: the fit's error bars say they are lower bounds, on every route
SHORT_RUN = "the error of the fit still grows at the longest blocks"


@pytest.mark.slow
def test_scheduler_and_workers_give_the_threaded_numbers(tmp_path, capsys, monkeypatch):
    """The dump named relative to this process's folder; the workers run in another folder."""
    assert main([*RUN, "-o", str(tmp_path / "threads")]) == 0
    assert_warned(capsys.readouterr().err, SHORT_RUN)
    monkeypatch.chdir(DATA)
    relative = ["run", "cu32_xu.lammpstrj", *RUN[2:]]
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--dashboard-address", ":0", "--no-show"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for k in range(2):
            procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                           "--nthreads", "1", "--name", f"w{k}", "--no-dashboard"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path))
        from distributed import Client
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        assert main([*relative, "--scheduler", address, "-o", str(tmp_path / "cluster")]) == 0
        assert_warned(capsys.readouterr().err, SHORT_RUN)
        # the scheduler and its workers end in about 3 s, where SIGTERM to each, workers first, took 8 s; not this
        # process's default client (dask's scheduler setting stays as it was for the tests that follow)
        with Client(address, timeout="60s", set_as_default=False) as client:
            client.shutdown()
    finally:
        for p in procs[::-1]:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            p.wait(timeout=30)
    np.testing.assert_allclose(_fc(tmp_path / "cluster"), _fc(tmp_path / "threads"), rtol=0, atol=1e-12)
    assert main([*RUN, "--workers", "2", "-o", str(tmp_path / "local")]) == 0
    assert_warned(capsys.readouterr().err, SHORT_RUN)
    np.testing.assert_allclose(_fc(tmp_path / "local"), _fc(tmp_path / "threads"), rtol=0, atol=1e-12)


def test_no_scheduler_at_the_address_is_a_clear_error(tmp_path, capsys):
    import dask
    port = _free_port()
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):      # dask's own setting, 30 s by default
        assert main([*RUN, "--scheduler", f"tcp://127.0.0.1:{port}", "-o", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert f"no Dask scheduler answers at tcp://127.0.0.1:{port}" in err and not (tmp_path / "x").exists()


def test_scheduler_and_workers_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        main([*RUN, "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"])
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.slow
def test_anharmonic_on_local_workers_gives_the_threaded_numbers(cu_fc3, tmp_path, capsys):
    """``anharmonic --workers 2``: the q-points' self-energies as tasks on two worker processes, the same widths,
    shifts and conductivity as the threads of this process."""
    fc_path = tmp_path / "cu_fc3.nc"
    cu_fc3.write(fc_path, "netcdf")
    common = ["anharmonic", str(fc_path), "--mesh", "4", "--temperatures", "300,600", "--smearing", "0.2"]
    assert main([*common, "-o", str(tmp_path / "threads")]) == 0
    assert main([*common, "--workers", "2", "-o", str(tmp_path / "local")]) == 0
    with xr.open_dataset(tmp_path / "threads" / "anharmonic.nc") as a, \
            xr.open_dataset(tmp_path / "local" / "anharmonic.nc") as b:
        for name in ("linewidth", "frequency_shift", "kappa"):
            assert np.abs(a[name].values).max() > 0
            np.testing.assert_allclose(b[name].values, a[name].values, rtol=1e-12, atol=0)
