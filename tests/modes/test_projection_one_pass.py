"""The projection of a LAMMPS dump from the run's time average reads the dump once: it measures the displacements from
a provisional reference (the exact mean cell from the frames' headers, the atoms averaged over a few frames) and
subtracts their time mean, summed in the same pass; the numbers are those of the two passes (the average first)."""
import warnings

import dask
import numpy as np
import pytest

import trajmodes
from trajmodes.errors import ReferenceMismatchError
from trajmodes.modes.projection import mode_qpoints, project
from tests.conftest import EXAMPLES
from tests.support.dumps import count_parsed_frames, read_average, write_frames
from trajmodes.trajectory.passes import provisional_frames

DUMP = EXAMPLES / "cu_fcc_300K.lammpstrj.gz"


def _modes(traj, ph, q):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = project(traj, ph, qpoints=q)
        return dask.compute(ds.Q.data, ds.Qdot.data)


def test_a_dump_is_read_once_and_gives_the_two_pass_numbers(cu_eam_phonons):
    one = read_average(DUMP)
    frames = count_parsed_frames(one)
    q = mode_qpoints(one, cu_eam_phonons, path="GXKGL")     # the cell from the frames' headers: no frame parsed
    n = one.n_frames
    assert sum(frames) == 0, frames
    Q1, V1 = _modes(one, cu_eam_phonons, q)
    # every frame once: those of the provisional reference (10 % at most) are held for the pass
    assert sum(frames) == n, frames
    assert not one.reference_known              # the average came out of the same pass, not written into the run
    two = read_average(DUMP)
    two.reference                                                  # the average first, in a pass of its own
    Q2, V2 = _modes(two, cu_eam_phonons, q)
    scale = np.abs(Q2).max()
    assert np.abs(Q1 - Q2).max() < 1e-11 * scale
    assert np.array_equal(V1, V2)
    # the mean of every mode over the run is zero, as measured from the average
    assert np.abs(Q1.mean(axis=0)).max() < 1e-12 * scale


def test_atoms_on_other_sites_in_the_provisional_frames_are_refused(tmp_path, cu_eam_phonons):
    """Two atoms swapped in the frames of the provisional reference only: it puts them on each other's sites, the time
    average on their own; the projection says so instead of measuring from the wrong sites."""
    src = read_average(DUMP)
    fr = src.read()
    pos = fr.positions.copy()
    ahead = provisional_frames(src.n_frames)
    pos[ahead[:, None], [0, 1]] = pos[ahead[:, None], [1, 0]]
    path = write_frames(tmp_path / "swapped.lammpstrj", fr, pos, velocities=fr.velocities)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traj = trajmodes.read(str(path), reference="average", species=["Cu"], md_timestep=0.001)
    with pytest.raises(ReferenceMismatchError, match="other lattice sites in the run's time average"):
        _modes(traj, cu_eam_phonons, None)


def test_the_headers_alone_give_the_boxes_of_the_frames(tmp_path):
    """A triclinic box in every frame (the test dumps' boxes tilt and breathe), read from the headers alone, is the
    box the full read gives."""
    from tests.support.dumps import read_quiet, small_dump
    dump, truth = small_dump(tmp_path / "tilted.lammpstrj", n_frames=7, n_atoms=20, seed=5)
    traj = read_quiet(str(dump))
    cells, origins = traj.source.frame_boxes(np.arange(traj.n_frames))
    fr = traj.source.read(np.arange(traj.n_frames), ("positions",))
    assert np.array_equal(cells, fr["cells"]) and np.array_equal(origins, fr["origins"])
    np.testing.assert_allclose(cells, truth.cells, rtol=0, atol=1e-8)


def test_a_provisional_reference_too_noisy_to_place_the_atoms_takes_the_average_first(tmp_path, cu_eam_phonons):
    """The frames of the provisional reference shaken by 1 A: its atoms are no crystal, the run's average still is."""
    src = read_average(DUMP)
    fr = src.read()
    pos = fr.positions.copy()
    ahead = provisional_frames(src.n_frames)
    pos[ahead] += 1.0 * np.random.default_rng(1).standard_normal((len(ahead),) + pos.shape[1:])
    path = write_frames(tmp_path / "shaken.lammpstrj", fr, pos, velocities=fr.velocities)
    one = read_average(path)
    frames = count_parsed_frames(one)
    Q1, _ = _modes(one, cu_eam_phonons, None)
    n = one.n_frames
    # the provisional frames (held), frame 0, then the average's pass and Q's, each without the held frames
    k = len(provisional_frames(n))
    assert sum(frames) == k + 1 + 2 * (n - k), frames
    two = read_average(path)
    two.reference
    Q2, _ = _modes(two, cu_eam_phonons, None)
    np.testing.assert_array_equal(Q1, Q2)


def test_modes_beyond_the_budget_take_the_average_first(monkeypatch, cu_eam_phonons):
    """The modes of every frame are held until the one pass ends: beyond HOLD_BYTES the average takes a pass of
    its own, and the chunks bound the memory."""
    from trajmodes import resources
    monkeypatch.setattr(resources, "HOLD_BYTES", 16 * 200 * 3)                 # below Q and Q' of any q
    traj = read_average(DUMP)
    frames = count_parsed_frames(traj)
    _modes(traj, cu_eam_phonons, np.zeros((1, 3)))
    n = traj.n_frames       # frame 0, the average, Q (the q checked on the cell of the frames' headers)
    assert sum(frames) == 2 * n + 1, frames


def test_on_a_cluster_of_processes_the_average_comes_out_of_the_projections_pass(cu_eam_phonons, tmp_path):
    """On a ``dask.distributed`` cluster of processes the modes of every frame wait on the workers for the pass's
    mean (their memory, as the scheduler states it, holds them: ``may_hold(where="workers")``), so the run is read
    once there too; the modes are those of the average taken first."""
    distributed = pytest.importorskip("distributed")
    from trajmodes import modes
    from trajmodes.resources import may_hold
    two = read_average(DUMP)
    two.reference
    q = mode_qpoints(two, cu_eam_phonons, path="GXKGL")
    Q2, V2 = _modes(two, cu_eam_phonons, q)
    taken = []
    real = modes.projection._one_pass_reference

    def recording(*args):
        taken.append(real(*args))
        return taken[-1]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  local_directory=str(tmp_path)) as cluster, distributed.Client(cluster):
        assert may_hold(1e6, where="workers") and not may_hold(1e6) and not may_hold(1e18, where="workers")
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(modes.projection, "_one_pass_reference", recording)
            Q1, V1 = _modes(read_average(DUMP), cu_eam_phonons, q)
    assert len(taken) == 1 and taken[0] is not None              # the one-pass route, on the workers
    scale = np.abs(Q2).max()
    assert np.abs(Q1 - Q2).max() < 1e-11 * scale
    assert np.array_equal(V1, V2)


def test_on_a_cluster_the_workers_parse_the_provisional_frames_once_for_the_projection(cu_eam_phonons):
    """On a ``dask.distributed`` cluster the provisional reference's frames are parsed by the workers as the
    projection's read tasks and kept there for its pass: every frame is parsed once (their positions were parsed in
    this process and the frames again by the workers), and the modes are those of the average taken first."""
    distributed = pytest.importorskip("distributed")
    two = read_average(DUMP)
    two.reference
    Q2, V2 = _modes(two, cu_eam_phonons, None)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cl, \
            distributed.Client(cl):
        one = read_average(DUMP)
        frames = count_parsed_frames(one)
        Q1, V1 = _modes(one, cu_eam_phonons, None)
        assert not one.reference_known            # the run given is left as it was: its average not written in
    assert sum(frames) == one.n_frames, frames
    assert np.abs(Q1 - Q2).max() < 1e-11 * np.abs(Q2).max()
    assert np.array_equal(V1, V2)
