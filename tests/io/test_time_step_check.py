"""The time step checked against the trajectory's own positions and velocities, strictly enough to catch a factor of 2.

A LAMMPS input with ``timestep ${dt}`` once left trajmodes with LAMMPS' default step: frames 0.02 ps apart where they
were 0.01 (alpha-quartz, Tersoff, frames every 10 fs, modes up to ~40 THz), every MD frequency halved. The old check
(finite-difference velocities over the velocities written, accepted within 1/3-3) let the factor 2 through. The frame
interval is now *estimated* from the positions and velocities of the first 128 consecutive frames
(:func:`trajmodes.io.trajectories.times.frame_interval_estimate`: the exact relation of their windowed spectra for
motion below half a cycle per frame) and compared with the time axis.

Measured on the runs of ``runs`` (small real LAMMPS runs, tests/support/lammps_timestep.py; wrapped positions and
velocities at LAMMPS' default ``%g``), estimated / true interval over frames 0-127, with the estimate's relative
uncertainty:

- fcc Cu, EAM, frames every 0.01 ps (highest mode 7.5 THz: 0.075 cycles per frame): 1.00076 (0.02%);
- the same under an NPT barostat (box fluctuating): 1.00073 (0.02%);
- diamond Si, Stillinger-Weber, every 0.02 ps (17.8 THz: 0.36 cycles per frame): 0.99957 (0.11%);
- diamond C, Tersoff, every 0.01 ps (about 40 THz: 0.4 cycles per frame, the case of the report): 0.99813 (0.19%);
- Si every 0.07 ps (1.25 cycles per frame: aliased): coherence 0.39, 19% of the velocity power above 0.4 cycles per
  frame: not checked (the estimate would be 0.24), and the time axis says so.

Every wrong factor (2, 1/2, 1.25, 10, 1000, ASE's 98.2 and their inverses) given as ``md_timestep`` or
``frame_interval`` is refused; the right one passes. On the repository's own data the estimate over the time axis is
1.0002 (examples/cu_fcc_300K, 33 frames), 0.9983 / 1.0000 / 0.9950 (examples/md/cu_300K, cu_30K, cu_900K: 0.04 ps
frames, 37 frames: an eighth of the file), 1.0000 within 0.11% (tests/data cu32 dumps and extended XYZ, 20 frames);
examples/md/si_*K (0.04 ps frames, 0.7 cycles per frame of Si's highest mode) are noted as not checked (coherence
0.23-0.30).
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import trajmodes
from trajmodes import TrajectoryFormatError
from trajmodes.io.trajectories.lammps import LammpsDumpSource
from trajmodes.io.trajectories.times import (INTERVAL_ATOMS, INTERVAL_MARGIN, atom_sample, frame_interval_estimate,
                                             time_scale)
from trajmodes.units import NATURAL_TIME_PS

from tests.support.lammps_timestep import small_run

ASE = 1 / NATURAL_TIME_PS          # 98.2: ASE's time unit read as ps

# name -> (system, MD step ps, steps between frames, NPT)
RUNS = {"cu": ("cu", 0.002, 5, False), "cu_npt": ("cu", 0.002, 5, True), "si": ("si", 0.001, 20, False),
        "c": ("c", 0.0005, 20, False), "si_sparse": ("si", 0.001, 70, False)}
MEASURED = {"cu": 1.00076, "cu_npt": 1.00073, "si": 0.99957, "c": 0.99813}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("timestep_runs")
    return {name: small_run(folder, system, dt, every, 160, npt=npt, name=name)
            for name, (system, dt, every, npt) in RUNS.items()}


def _read(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LammpsDumpSource(path, **kw)


# --- the estimator on exact band-limited motion -----------------------------------------------------------------------
def _tones(n_frames, c_max, dt=0.01, seed=1):
    """Independent oscillators at 0.005-``c_max`` cycles per frame (x in A, v in A/ps), frames ``dt`` ps apart."""
    rng = np.random.default_rng(seed)
    c = rng.uniform(0.005, c_max, (64, 3))
    phase = rng.uniform(0, 2 * np.pi, (64, 3))
    arg = 2 * np.pi * c * np.arange(n_frames)[:, None, None] + phase
    amp = dt / (2 * np.pi * c)
    cells = np.repeat(20 * np.eye(3)[None], n_frames, axis=0)
    return 5 + amp * np.cos(arg), -amp * 2 * np.pi * c / dt * np.sin(arg), cells


@pytest.mark.parametrize("n_frames, c_max", [(32, 0.1), (64, 0.3), (128, 0.45), (128, 0.49)])
def test_the_estimate_is_exact_below_half_a_cycle_per_frame(n_frames, c_max):
    """Tones between bins, up to 0.49 cycles per frame: the interval within 1e-3 (measured: 2e-4 at 32 frames, 5e-5
    at 128), the velocities and the windowed derivative of the positions coherent to 0.997."""
    x, v, cells = _tones(n_frames, c_max)
    got = frame_interval_estimate(x, cells, v)
    assert got.why_not is None
    assert got.ps == pytest.approx(0.01, rel=1e-3)
    assert got.coherence > 0.997 and got.rel_sigma < 1e-3


def test_aliased_motion_cannot_tell():
    """Tones up to 0.7 cycles per frame: the estimate is off by about 2 (0.47-0.6), which is why it must say it
    cannot tell: coherence 0.5-0.64, below 0.9."""
    x, v, cells = _tones(128, 0.7)
    got = frame_interval_estimate(x, cells, v)
    assert got.why_not is not None and "aliased" in got.why_not and got.coherence < 0.9


# --- real LAMMPS runs ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(MEASURED))
def test_the_right_time_step_passes_and_the_estimate_is_within_a_percent(runs, name):
    system, dt, every, _ = RUNS[name]
    src = _read(runs[name], md_timestep=dt)
    assert src.time_axis == f"MD steps x md_timestep {dt:g} ps (given)"          # checked: nothing to add
    assert src.time_step_check.slope == pytest.approx(MEASURED[name], abs=3e-3)
    d = src.read(np.arange(128), fields=("positions", "velocities"))
    got = frame_interval_estimate(d["positions"], d["cells"], d["velocities"], src.masses)
    assert got.ps / (dt * every) == pytest.approx(MEASURED[name], abs=3e-3)
    assert got.rel_sigma < 0.003 and got.coherence > 0.99


@pytest.mark.parametrize("given", ["md_timestep", "frame_interval"])
def test_frames_0_01_ps_apart_read_as_0_02_are_refused(runs, given):
    """The report's case: diamond C (Tersoff), frames 0.01 ps apart, read with 0.02 ps between them."""
    value = 0.001 if given == "md_timestep" else 0.02
    with pytest.raises(TrajectoryFormatError) as err:
        _read(runs["c"], **{given: value})
    msg = str(err.value)
    assert "c.lammpstrj" in msg and "the velocities and the frame times disagree" in msg, msg
    assert "frames 0 to 127 are 0.00998" in msg and "puts them 0.02 ps apart" in msg, msg
    assert "--md-timestep" in msg and "--frame-interval" in msg and "0.000499" in msg, msg


@pytest.mark.parametrize("factor", [2, 1 / 2, 1.25, 10, 1 / 10, 1000, 1 / 1000, ASE, 1 / ASE])
@pytest.mark.parametrize("name", ["cu", "c"])
def test_every_wrong_factor_is_refused(runs, name, factor):
    system, dt, every, _ = RUNS[name]
    with pytest.raises(TrajectoryFormatError, match="disagree") as err:
        _read(runs[name], md_timestep=dt * factor)
    msg = str(err.value)
    if factor in (1000, 1 / 1000):
        assert "about 1/1000" in msg if factor > 1 else "about 1000" in msg, msg
        assert "--units" in msg, msg
    if factor == ASE:
        assert "ASE's time unit" in msg and "read as ps" in msg, msg
    assert INTERVAL_MARGIN < abs(factor - 1)


def test_an_assumed_time_axis_the_frames_contradict_is_refused(runs):
    """No time in the dump, no input beside it and none given: LAMMPS' default step (0.001 ps, frames 0.005 ps apart)
    is what would be assumed, but the frames' own velocities say 0.01 ps: refused with the interval they imply, not
    assumed (every MD frequency would be halved). Where the assumption agrees with the frames, it is read."""
    import shutil
    folder = runs["cu"].parent / "alone"
    folder.mkdir(exist_ok=True)
    shutil.copy(runs["cu"], folder / "cu.lammpstrj")                 # without its input beside it
    with pytest.raises(TrajectoryFormatError) as err:
        _read(folder / "cu.lammpstrj")
    msg = str(err.value)
    assert "ASSUMED" in msg and "the frames themselves say 0.01001 ps between frames" in msg and "--md-timestep" in msg
    src = _read(folder / "cu.lammpstrj", md_timestep=0.002)
    assert src.times[1] - src.times[0] == pytest.approx(0.01)


def test_frames_too_sparse_are_noted_not_refused(runs):
    """Si every 0.07 ps (1.25 cycles per frame of its 17.8 THz mode): a wrong time step cannot be told, and the time
    axis says so rather than passing silently."""
    src = _read(runs["si_sparse"], md_timestep=0.002)
    assert "the time step could not be checked against the velocities (frames 0 to 127)" in src.time_axis
    assert "coherence" in src.time_axis and "aliased" in src.time_axis


def test_the_users_input_never_halves_the_frequencies_silently(runs):
    """The dump beside its input, which sets ``timestep ${dt}``: read with the right time (0.01 ps between frames),
    or refused; never 0.02 ps."""
    try:
        src = _read(runs["c"])
    except TrajectoryFormatError as err:
        assert "c.lammpstrj" in str(err), str(err)
        return
    assert np.median(np.diff(src.times)) == pytest.approx(0.01, rel=1e-6), src.time_axis


def test_extended_xyz_with_times_twice_too_far_apart_is_refused(runs, tmp_path):
    """The same frames as extended XYZ with time= 0.02 ps apart: refused (the old check accepted slopes 1/3-3);
    with the right times they pass."""
    src = _read(runs["c"], md_timestep=0.0005)
    d = src.read(np.arange(40), fields=("positions", "velocities"))
    lat = " ".join(repr(float(x)) for x in d["cells"][0].ravel())

    def write(path, interval, key="time"):
        rows = []
        for k in range(40):
            rows.append(f"{src.n_atoms}\nLattice=\"{lat}\" Properties=species:S:1:pos:R:3:vel:R:3 "
                        f"{key}={k * interval!r} pbc=\"T T T\"\n")
            rows += [f"C {' '.join(map(repr, d['positions'][k, i].tolist()))} "
                     f"{' '.join(map(repr, d['velocities'][k, i].tolist()))}\n" for i in range(src.n_atoms)]
        path.write_text("".join(rows))
        return path

    with pytest.raises(TrajectoryFormatError, match="the velocities and the frame times disagree") as err:
        trajmodes.read(write(tmp_path / "twice.xyz", 0.02))
    said = re.search(r"frames 0 to 39 are ([0-9.]+) ps apart", str(err.value))
    assert said and float(said.group(1)) == pytest.approx(0.01, rel=0.005), str(err.value)
    assert "correct the times" in str(err.value), str(err.value)
    untimed = write(tmp_path / "untimed.xyz", 0.01, key="tag")
    with pytest.raises(TrajectoryFormatError, match="frame_interval 0.02 ps") as err:
        trajmodes.read(untimed, frame_interval=0.02)
    assert "--frame-interval" in str(err.value) and "the frames themselves say" in str(err.value), str(err.value)
    assert trajmodes.read(untimed, frame_interval=0.01).frame_interval == pytest.approx(0.01)
    traj = trajmodes.read(write(tmp_path / "right.xyz", 0.01))
    assert traj.source.time_step_check.slope == pytest.approx(1, abs=0.01) and "could not" not in traj.time_axis


def test_few_frames_keep_the_loose_check():
    """Below 16 consecutive frames there is no estimate: the finite-difference slope, loosely (1/3-3)."""
    x, v, cells = _tones(12, 0.1)
    t = np.arange(12) * 0.02                      # twice the true interval: not caught with 12 frames
    got = time_scale(x, cells, t, None, v)
    assert got.interval is None and not got.disagrees and got.note() == ""
    assert time_scale(x, cells, t * 1000, None, v).disagrees


# --- the repository's own data ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["cu32_real.lammpstrj", "cu32_xu.lammpstrj", "cu32_triclinic.lammpstrj",
                                  "cu32_x_image.lammpstrj", "cu32_xsu_perm.lammpstrj", "cu32.extxyz"])
def test_the_test_data_pass(name):
    """20 frames 0.01 ps apart: the estimate over the time axis (file times, or 10 steps x the default 0.001 ps) is
    1.0000 within 0.11%."""
    from tests.support.paths import DATA
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        src = trajmodes.read(DATA / name).source
    got = src.time_step_check
    assert got is not None and got.interval.why_not is None
    assert got.interval.ps == pytest.approx(0.01, rel=2e-3)


@pytest.mark.slow
@pytest.mark.parametrize("name, ratio", [("cu_fcc_300K.lammpstrj.gz", 1.0002), ("md/cu_300K.lammpstrj.gz", 0.9983),
                                         ("md/cu_30K.lammpstrj.gz", 1.0000), ("md/cu_900K.lammpstrj.gz", 0.9950),
                                         ("md/si_300K.lammpstrj.gz", None), ("md/si_1000K.lammpstrj.gz", None)])
def test_the_examples_pass(name, ratio):
    """The examples' dumps (ITEM: TIME): the estimate over the file's interval as measured; Si dumped every 0.04 ps
    (0.7 cycles per frame of its 17.8 THz mode) is noted as not checked (coherence 0.23-0.30). An eighth of each
    file's bytes: 33-40 frames."""
    from tests.support.paths import EXAMPLES
    src = _read(EXAMPLES / name)
    if ratio is None:
        assert "could not be checked" in src.time_axis and src.time_step_check.interval.coherence < 0.5
    else:
        assert src.time_step_check.slope == pytest.approx(ratio, abs=1e-3), src.time_axis


# --- a large system: a sample of its atoms ------------------------------------------------------------------------
def _crystal_tones(n_atoms, n_frames=128, dt=0.01, seed=3):
    """``n_atoms`` independent oscillators (0.005-0.3 cycles per frame, 0.1 A) about the sites of a 20 A cube, two
    species alternating (63.5 and 27 amu), frames ``dt`` ps apart: x (A), v (A/ps), cells, masses."""
    rng = np.random.default_rng(seed)
    c = rng.uniform(0.005, 0.3, (n_atoms, 3))
    phase = rng.uniform(0, 2 * np.pi, (n_atoms, 3))
    arg = 2 * np.pi * c * np.arange(n_frames)[:, None, None] + phase
    sites = rng.uniform(0, 20, (n_atoms, 3))
    cells = np.repeat(20 * np.eye(3)[None], n_frames, axis=0)
    masses = np.where(np.arange(n_atoms) % 2, 27.0, 63.5)
    return sites + 0.1 * np.cos(arg), -0.1 * 2 * np.pi * c / dt * np.sin(arg), cells, masses


def test_a_large_system_is_checked_on_a_sample_of_its_atoms():
    """Beyond INTERVAL_ATOMS atoms the check looks at a fixed random sample of them, spread over the whole system and
    both species (all 5,000 atoms cost about 4 times the CPU time, for the same verdict): the result is exactly that
    of the sample alone."""
    n = 5000
    x, v, cells, masses = _crystal_tones(n)
    take = atom_sample(n)
    assert len(take) == INTERVAL_ATOMS and (np.diff(take) > 0).all() and np.array_equal(take, atom_sample(n))
    assert take[0] < 0.01 * n and take[-1] > 0.99 * n and 0.4 < (take % 2).mean() < 0.6     # spread, both species
    assert np.array_equal(atom_sample(INTERVAL_ATOMS), np.arange(INTERVAL_ATOMS))
    times = 0.01 * np.arange(len(x))
    got = time_scale(x, cells, times, masses, v)
    alone = time_scale(x[:, take], cells, times, masses[take], v[:, take])
    assert got == alone
    assert got.interval.why_not is None and got.interval.ps == pytest.approx(0.01, rel=1e-3)


@pytest.mark.parametrize("factor", [1, 2, 1 / 1.25])
def test_a_large_system_keeps_its_verdicts(factor):
    """The sample of a 5,000-atom system still tells the interval within 1e-3, refuses a time axis 2 or 1/1.25 times
    too long and passes the right one."""
    x, v, cells, masses = _crystal_tones(5000)
    got = time_scale(x, cells, 0.01 * factor * np.arange(len(x)), masses, v)
    assert got.slope == pytest.approx(1 / factor, rel=1e-3)
    assert got.disagrees == (factor != 1)
