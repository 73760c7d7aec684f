"""One pass over a run as an object: the workflow that starts a read creates its pass (``Pass(run)``), accumulators
added to it are computed in the pass that reads it, each chunk parsed once, and what a pass holds belongs to the pass
and the views read in it, not to the run nor to the module."""
import warnings

import numpy as np
import pytest

import trajmodes
from tests.conftest import EXAMPLES
from tests.support.dumps import count_parsed_frames
from trajmodes.trajectory import ChunkSum, MeanDisplacement, Pass, Terms

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
    """A custom ChunkSum, the mean displacement and lazy terms added to a pass of the run: one parse of every
    frame for them and the pass's own work, the values those of separate computations, and nothing left added."""
    import dask
    traj = _read()
    ref = traj.frame_structure(0)
    expected_ke = float(((traj.velocities.compute() ** 2).sum(axis=2) @ np.asarray(traj.masses)).sum())
    expected_u = traj.displacements(reference=ref).mean(axis=0).compute()
    expected_t = traj.temperature().compute()
    frames = count_parsed_frames(traj)
    layer = ("positions", "velocities")
    p = Pass(traj)
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


def _passes_of(view):
    """The passes whose held frames the read tasks of ``view`` take (nodes of its read layer)."""
    return [v for v in view.read_layer(("positions",))[1].values() if isinstance(v, Pass)]


def test_what_a_pass_holds_belongs_to_the_pass_and_the_views_read_in_it():
    """Frames held for a pass of one read of a file are taken by the read tasks of the views read in it (its run,
    slices and rechunked copies of it, a reference given with ``same_pass``), not by the run given, a view from
    another reference nor another pass of the same run; releasing lets go of them. A view asked to average the run
    has a provisional reference of its own."""
    one = _read(reference="average")
    p = Pass(one)
    prov = p.provisional_reference()
    assert prov is not None and p.frames
    for view in (p.run, p.run[::2], p.run.rechunk(10), p.run.with_reference(prov, same_pass=True)):
        assert _passes_of(view) == [p]
    assert _passes_of(one) == [] and "_pass" not in one.__dict__                 # nothing of it on the run
    assert _passes_of(p.run.with_reference(prov)) == []
    other = Pass(one)
    assert _passes_of(other.run) == [other] and not other.frames
    first = _read()
    assert Pass(first).provisional_reference() is None                # its reference is frame 0: known
    assert Pass(first.with_reference("average")).provisional_reference() is not None
    with p:
        pass
    assert not p.frames and p._provisional is None                    # let go of at the end of its block


def test_only_accumulators_join_a_pass():
    traj = _read()
    with pytest.raises(TypeError, match="takes an Accumulator"):
        Pass(traj).add(traj.positions)
