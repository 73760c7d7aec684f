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
