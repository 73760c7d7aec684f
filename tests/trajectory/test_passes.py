"""One pass over a run as an object: accumulators joined to a run's next pass are computed in the pass that reads it,
each chunk parsed once, and what a pass holds belongs to the run and its views, not to the module."""
import warnings

import numpy as np
import pytest

import trajmodes
from tests.conftest import EXAMPLES
from tests.support.dumps import count_parsed_frames
from trajmodes.trajectory import ChunkSum, MeanDisplacement, Terms

DUMP = EXAMPLES / "cu_fcc_300K.lammpstrj.gz"


def _read(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return trajmodes.read(str(DUMP), species=["Cu"], chunk_frames=25, **kw)


class KineticSum(ChunkSum):
    """sum over the frames of sum_i m_i |v_i|^2, amu A^2/ps^2: a user's own accumulator."""

    shape = ()

    def add(self, chunk, masses):
        return np.einsum("fia,fia,i->", chunk["velocities"], chunk["velocities"], masses)

    def arguments(self):
        return (np.asarray(self.run.masses, float),)


def test_accumulators_added_to_a_pass_are_computed_in_it_each_chunk_parsed_once():
    """A custom ChunkSum, the mean displacement and lazy terms joined to the run's next pass: one parse of every
    frame for them and the pass's own work, the values those of separate computations, and nothing left joined."""
    import dask
    traj = _read()
    ref = traj.frame_structure(0)
    expected_ke = float(((traj.velocities.compute() ** 2).sum(axis=2) @ np.asarray(traj.masses)).sum())
    expected_u = traj.displacements(reference=ref).mean(axis=0).compute()
    expected_t = traj.temperature().compute()
    frames = count_parsed_frames(traj)
    layer = ("positions", "velocities")
    p = traj.next_pass
    ke = p.add(KineticSum(traj))
    u = p.add(MeanDisplacement(traj, ref))
    terms = p.add(Terms(traj, lambda run, lay: {"t": run.temperature(lay)}))
    with pytest.raises(RuntimeError, match="has not been computed yet"):
        ke.value                                                    # before its pass: said, not a KeyError
    fmax = p.compute(dask.array.abs(traj.field("velocities", layer)).max(), layer)
    assert sum(frames) == traj.n_frames and len(frames) == 8, frames
    assert fmax > 0 and not p.added and ke.ready
    assert ke.value == pytest.approx(expected_ke, rel=1e-12)
    np.testing.assert_allclose(u.value, expected_u, rtol=0, atol=1e-12)
    np.testing.assert_allclose(terms.value["t"], expected_t, rtol=1e-12)


def test_what_a_pass_holds_belongs_to_its_run_and_the_views_of_its_frames():
    """Frames held for the next pass of one read of a file are the next pass of its slices and rechunked copies,
    not those of a view from another reference (whose pass reads for other work) nor of another read of the same
    file; releasing lets go of them. A view asked to average the run has a provisional reference of its own."""
    one, two = _read(reference="average"), _read(reference="average")
    prov = one.next_pass.provisional_reference()
    assert prov is not None and one.next_pass.frames
    for view in (one[::2], one.rechunk(10)):
        assert view.next_pass is one.next_pass
    assert one.with_reference(prov).next_pass is not one.next_pass
    assert two.next_pass is not one.next_pass and not two.next_pass.frames
    first = _read()
    assert first.next_pass.provisional_reference() is None                # its reference is frame 0: known
    assert first.with_reference("average").next_pass.provisional_reference() is not None
    one.next_pass.release()
    assert not one.next_pass.frames and one.next_pass._provisional is None


def test_only_accumulators_join_a_pass():
    traj = _read()
    with pytest.raises(TypeError, match="takes an Accumulator"):
        traj.next_pass.add(traj.positions)
