"""A heat current of 1e300 (a run that blew up, or a column that is not the current) is refused cleanly, naming the
file and the line, before any spectrum is taken: no numpy overflow warnings first (they came from the squares of the
periodogram, and the refusal that followed was about too few frequencies). The log is written as LAMMPS writes its
thermo rows (tests/transport/test_heat_current_faults.py), the compute.out as GPUMD does (``%15.6e``)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.transport.test_heat_current_faults import _log, _run, _series
from trajmodes.errors import TrajectoryFormatError
from trajmodes.transport.cepstral import cepstral_conductivity
from trajmodes.workflows import heat_current_conductivity


def test_a_log_with_a_current_of_1e300_is_refused_without_overflow_warnings(tmp_path):
    j = _series(2001)
    j[700] = [1e300, -2e299, 3e298]
    lines = _log(tmp_path / "log.lammps", ["timestep        0.001", "thermo          10"], _run(20000, 0, 10, j))
    row = next(i + 1 for i, ln in enumerate(lines) if "1e+300" in ln)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # an overflow warning would be raised here
        with pytest.raises(TrajectoryFormatError) as info:
            heat_current_conductivity(str(tmp_path / "log.lammps"))
    msg = str(info.value)
    assert msg.startswith(f"{tmp_path / 'log.lammps'}, line {row}: c_flux[1] is 1e+300 in this row, beyond 1e+100")


def test_a_gpumd_compute_out_with_a_current_of_1e300_is_refused(tmp_path):
    (tmp_path / "run.in").write_text("potential nep.txt\ntime_step 1\nensemble nve\ncompute 0 10 10 jp jk\n"
                                     "run 10000\n")
    rows = np.random.default_rng(1).normal(size=(50, 6))
    rows[30, 4] = -1e300
    (tmp_path / "compute.out").write_text("".join("".join("%15.6e" % v for v in r) + "\n" for r in rows))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TrajectoryFormatError) as info:
            heat_current_conductivity(str(tmp_path / "compute.out"), temperature=300.0, volume=1000.0)
    assert str(info.value).startswith(f"{tmp_path / 'compute.out'}, line 31: jk y of group 0 is -1e+300")


def test_an_array_of_1e300_is_refused_by_the_analysis_itself():
    j = _series(1000) * 1e300
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"the current is .*e\+299 at step 1 .*beyond 1e\+100"):
            cepstral_conductivity(j, 0.01, 300.0, 1000.0)
