"""The same streamed reduction on a dask.distributed LocalCluster equals the threaded default."""

import numpy as np
import pytest

from tests.support.paths import EXAMPLES
import trajmodes

distributed = pytest.importorskip("distributed")
EX = EXAMPLES


def test_local_cluster_identical(tmp_path):
    traj = trajmodes.read(EX / "cu_fcc_300K.lammpstrj.gz", reference=EX / "cu_fcc_4x4x4.data", chunk_frames=16)
    threaded = traj.displacements().mean(axis=0).compute(scheduler="threads")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  local_directory=str(tmp_path)) as cluster, distributed.Client(cluster) as client:
        clustered = client.compute(traj.displacements().mean(axis=0)).result()
        forces_sum = client.compute(traj.forces.sum(axis=(0, 1))).result()
    assert np.array_equal(threaded, clustered)
    assert np.array_equal(forces_sum, traj.forces.sum(axis=(0, 1)).compute(scheduler="threads"))


@pytest.mark.slow
def test_a_dump_summarised_on_a_cluster_is_parsed_once(tmp_path, monkeypatch):
    """On a cluster of processes the one-parse summary of a dump (its displacements from the first frame written to
    a scratch file) puts that file beside the dump, where the workers see it, instead of this machine's temporary
    folder: the summary equals the threaded one and the folder is gone afterwards."""
    import warnings

    from tests.support.dumps import read_quiet, small_dump
    from trajmodes.trajectory import summary
    dump, _ = small_dump(tmp_path / "run.lammpstrj", n_frames=24, n_atoms=500, seed=4)
    threaded = summary.summarize(read_quiet(str(dump), reference="average"))
    used, real = [], summary._summarize_through_scratch

    def recording(traj, progress, folder):
        used.append(folder)
        return real(traj, progress, folder)
    monkeypatch.setattr(summary, "_summarize_through_scratch", recording)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  local_directory=str(tmp_path / "workers")) as cluster, distributed.Client(cluster):
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)           # no second pass
            clustered = summary.summarize(read_quiet(str(dump), reference="average"))
    assert len(used) == 1 and used[0].startswith(str(tmp_path)), used
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".trajmodes-summary-")]
    for name in threaded.data_vars:
        np.testing.assert_allclose(clustered[name].values, threaded[name].values, rtol=1e-12, atol=1e-14,
                                   err_msg=name)
