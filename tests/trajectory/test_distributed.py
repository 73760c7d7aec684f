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
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
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
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  local_directory=str(tmp_path / "workers")) as cluster, distributed.Client(cluster):
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)           # no second pass
            clustered = summary.summarize(read_quiet(str(dump), reference="average"))
    assert len(used) == 1 and used[0].startswith(str(tmp_path)), used
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".trajmodes-summary-")]
    for name in threaded.data_vars:
        np.testing.assert_allclose(clustered[name].values, threaded[name].values, rtol=1e-12, atol=1e-14,
                                   err_msg=name)


def test_the_reference_and_the_projector_go_to_each_worker_once(tmp_path, cu_eam_phonons):
    """On a cluster the objects every chunk's task takes (the reference crystal of the displacements, the projector
    of the modes) are scattered to the workers once instead of written into every task: the scheduler sends each
    task with what it embeds, and a worker holds that copy while the task waits (at 10^6 atoms a reference is 20 MB
    a task; a projection of 864,000 atoms x 41 frames held 4.75 GB on its one worker, 0.86 GB once scattered). Every
    task of those arrays pickles to less than a tenth of the reference crystal, and the numbers are the threaded
    ones."""
    import cloudpickle
    md = EXAMPLES / "md"
    traj = trajmodes.read(str(md / "cu_300K.lammpstrj.gz"), reference=str(md / "cu_300K.data"), chunk_frames=8)
    assert traj.n_frames > 5 * 8
    threaded_u = traj.displacements().sum(axis=0).compute(scheduler="threads")
    threaded = trajmodes.project(traj, cu_eam_phonons).compute(scheduler="threads")
    reference = len(cloudpickle.dumps(traj.reference))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  local_directory=str(tmp_path)) as cluster, distributed.Client(cluster) as client:
        u = traj.displacements()
        modes = trajmodes.project(traj, cu_eam_phonons)
        for arr in (u, modes["Q"].data, modes["Qdot"].data):
            tasks = {k: v for k, v in dict(arr.__dask_graph__()).items() if isinstance(k, tuple) and k[0] == arr.name}
            assert len(tasks) == len(arr.chunks[0])
            largest = max(len(cloudpickle.dumps(v)) for v in tasks.values())
            assert largest < 0.1 * reference, (arr.name, largest, reference)
        clustered_u = client.compute(u.sum(axis=0)).result()
        clustered = client.compute(modes).result()
    np.testing.assert_array_equal(clustered_u, threaded_u)
    for name in ("Q", "Qdot"):
        np.testing.assert_array_equal(clustered[name].values, threaded[name].values)
