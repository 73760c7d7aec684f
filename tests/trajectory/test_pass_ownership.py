"""A read is owned by the workflow that starts it: it creates the pass (``Pass(run)``) and gives it to the work that
adds to it and to the work that computes it. Nothing of a pass, nor what the work learns of the run (its time
average), is written into the trajectory given; a result asked for before its pass is computed says what to compute;
two workflows on one run do not see each other's accumulators."""
import warnings

import numpy as np
import pytest

from tests.conftest import EXAMPLES
from tests.support.dumps import count_parsed_frames, read_average
from trajmodes.forceconstants.fit import EffectiveForceConstants
from trajmodes.modes.projection import project
from trajmodes.trajectory import MeanDisplacement, Pass

DUMP = EXAMPLES / "cu_fcc_300K.lammpstrj.gz"


def _state(traj) -> dict:
    """What a user sees of a trajectory: every attribute (by identity; the read layers' cache of graph pieces and
    the frames' mean box read from their headers aside), and its reference's state."""
    attrs = {k: id(v) for k, v in vars(traj).items() if k not in ("_layers", "_box")}
    return dict(attrs=attrs, known=traj.reference_known, average=traj.reference_is_average, spec=traj.reference_spec)


def test_the_fit_the_projection_and_the_cache_leave_the_run_as_it_was(cu_eam_phonons, tmp_path):
    """A run whose reference is its time average still to be taken: the fit, the projection and the cache each take
    the average in their own pass (the fit gives it as ``time_average_``, the cache stores it) and write nothing into
    the run, which still has no pass of its own."""
    traj = read_average(DUMP)
    before = _state(traj)
    fit = EffectiveForceConstants(cutoff2=5.0, mode="simultaneous").fit(traj)
    assert _state(traj) == before and "_pass" not in vars(traj)
    assert fit.time_average_ is not None and len(fit.time_average_.positions) == traj.n_atoms
    modes = project(traj, cu_eam_phonons, qpoints=np.zeros((1, 3)))
    modes.Q.values
    assert _state(traj) == before and "_pass" not in vars(traj)
    traj.to_netcdf(str(tmp_path / "run.nc"))
    assert _state(traj) == before and "_pass" not in vars(traj)
    # the caller decides: the run measured from the fit's average, with no pass to take it again
    frames = count_parsed_frames(traj)
    measured = traj.with_average(fit.time_average_)
    assert measured.reference is fit.time_average_ and measured.reference_is_average and sum(frames) == 0
    with pytest.raises(ValueError, match="give the average of these frames"):
        traj.with_average(fit.time_average_.__class__(fit.time_average_.positions[:3], fit.time_average_.cell))


def test_the_summary_returns_the_average_it_took_and_leaves_the_run_as_it_was(tmp_path):
    """``trajmodes info``'s summary of a run whose reference is its time average still to be taken: the one parse
    (through the scratch file) and the fallback of two reads without room for it both return the average they took,
    the same one, and write nothing into the run; the workflow gives the run measured from it, whose box and sites
    need no pass of their own."""
    from trajmodes.trajectory.summary import summarize_with_average
    from trajmodes.workflows.summary import run_summary
    traj = read_average(DUMP)
    before = _state(traj)
    one, average = summarize_with_average(traj, scratch=str(tmp_path))
    assert _state(traj) == before and not traj.reference_known and "_pass" not in vars(traj)
    with pytest.MonkeyPatch.context() as mp:              # no room for the scratch file: the trajectory read twice
        mp.setattr("trajmodes.trajectory.summary._scratch_folder", lambda traj, scratch: None)
        two, again = summarize_with_average(traj)
    assert _state(traj) == before and not traj.reference_known
    np.testing.assert_allclose(again.positions, average.positions, rtol=0, atol=1e-9)
    np.testing.assert_allclose(two.msd.values, one.msd.values, rtol=1e-5)
    summary, measured = run_summary(traj)
    assert _state(traj) == before and not traj.reference_known
    frames = count_parsed_frames(measured)
    np.testing.assert_allclose(measured.reference.positions, average.positions, rtol=0, atol=1e-9)
    assert measured.reference_is_average and measured.reference.cell is not None and sum(frames) == 0
    np.testing.assert_allclose(summary.msd.values, one.msd.values, rtol=0, atol=0)


def test_a_result_of_a_pass_never_computed_says_what_to_compute_and_workflows_keep_their_own():
    """Two workflows on one run create two passes: the fit given one computes its accumulators and not the other's,
    whose handle, asked before its own pass is computed, raises an error naming the accumulator, the run and what to
    compute (not a KeyError); that pass computed later gives the same value."""
    traj = read_average(DUMP)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = traj.frame_structure(0)
    mine, theirs = Pass(traj), Pass(traj)
    waiting = theirs.add(MeanDisplacement(traj, ref))
    computed = mine.add(MeanDisplacement(traj, ref))
    EffectiveForceConstants(cutoff2=5.0, mode="simultaneous").fit(traj, reading=mine)
    assert computed.ready and not waiting.ready and theirs.added
    with pytest.raises(RuntimeError, match=r"MeanDisplacement over .*has not been computed yet.*Pass\.compute"):
        waiting.value
    theirs.compute(traj.field("positions", ("positions",)).sum(), ("positions",))
    np.testing.assert_allclose(waiting.value, computed.value, rtol=0, atol=1e-12)


def test_a_pass_reads_one_run():
    """A pass holds the frames of one run's file: an accumulator over another run, or a view of another file, is
    refused with what to do."""
    one, other = read_average(DUMP), read_average(DUMP)
    reading = Pass(one)
    with pytest.raises(ValueError, match="add it to a pass of its own run"):
        reading.add(MeanDisplacement(other, other.frame_structure(0)))
    with pytest.raises(ValueError, match=r"create one for this run \(run\.read_pass\(\)\)"):
        other.in_pass(reading)


def test_the_scattering_command_reads_each_frame_once_through_its_pass():
    """``trajmodes sqw`` of a run whose reference is its time average still to be taken: the q-points' primitive cell
    comes from a provisional reference whose frames the command's pass holds, and the structure factor's read takes
    them: every frame parsed once (given no pass, the provisional frames are parsed twice)."""
    from trajmodes.trajectory.passes import provisional_frames
    from trajmodes.workflows.scattering import scattering_qpoints, structure_factor
    runs = {}
    for shared in (True, False):
        traj = read_average(DUMP)
        frames = count_parsed_frames(traj)
        reading = traj.read_pass() if shared else None
        sq = scattering_qpoints(traj, path="GX", reading=reading)
        structure_factor(traj, sq, reading=reading, window=8, currents=False, incoherent=False)
        runs[shared] = sum(frames)
    # frame 0 once more for the MD cell (:func:`~trajmodes.modes.structure_factor._frame_cell`), with or without
    assert runs[True] == traj.n_frames + 1 and runs[False] - runs[True] == len(provisional_frames(traj.n_frames)), runs
