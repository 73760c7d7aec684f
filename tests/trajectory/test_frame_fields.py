"""The per-frame quantities (potential energy, pressure, pressure tensor) of a Trajectory, through any source that
declares them: lazy arrays chunked like the frames, slices, empty selections, shared read layers, the finite check."""
from __future__ import annotations

import numpy as np
import pytest

from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.trajectories.base import FRAME_SHAPES, take_frame_fields, tensor_from_components, wanted_frame_fields
from trajmodes.io.trajectories.memory import ArraySource
from trajmodes.trajectory import Trajectory
from trajmodes.units import conversion

N_FRAMES = 10


class EnergySource(ArraySource):
    """Frames in memory with a potential energy and a pressure tensor per frame."""

    def __init__(self, energy, tensor):
        rng = np.random.default_rng(1)
        super().__init__(rng.normal(0, 0.01, (N_FRAMES, 2, 3)), 4.0 * np.eye(3), ["Cu", "Cu"],
                         forces=rng.normal(0, 1, (N_FRAMES, 2, 3)), frame_interval=0.01)
        self._frame_data = {"potential_energy": np.asarray(energy, float), "pressure_tensor": tensor,
                            "pressure": np.trace(tensor, axis1=1, axis2=2) / 3}
        self.frame_fields = ("potential_energy", "pressure", "pressure_tensor")
        self.reads = []

    def read(self, frames, fields=None):
        self.reads.append(None if fields is None else tuple(fields))
        out = super().read(frames, fields)
        out.update(take_frame_fields(self._frame_data, frames, wanted_frame_fields(self, fields)))
        return out


@pytest.fixture
def source():
    tensor = tensor_from_components(np.arange(N_FRAMES * 6, dtype=float).reshape(N_FRAMES, 6))
    return EnergySource(-np.arange(N_FRAMES, dtype=float), tensor)


def test_arrays_chunked_like_the_frames(source):
    traj = Trajectory(source, chunk_frames=4)
    assert traj.frame_fields == ("potential_energy", "pressure", "pressure_tensor")
    e, P = traj.potential_energy, traj.pressure_tensor
    assert e.chunks == ((4, 4, 2),) and P.chunks == ((4, 4, 2), (3,), (3,))
    np.testing.assert_array_equal(e.compute(), -np.arange(N_FRAMES))
    np.testing.assert_array_equal(P.compute()[:, 0, 1], np.arange(N_FRAMES) * 6 + 3)     # xy, LAMMPS' 4th
    np.testing.assert_array_equal(P.compute()[:, 2, 1], np.arange(N_FRAMES) * 6 + 5)     # yz, symmetric
    assert traj.units.pressure_tensor == "GPa" and traj.units.potential_energy == "eV"


def test_slices_and_empty_selection(source):
    traj = Trajectory(source, chunk_frames=3)
    np.testing.assert_array_equal(traj[::3].potential_energy.compute(), [0.0, -3.0, -6.0, -9.0])
    np.testing.assert_array_equal(traj[[2, 5]].pressure.compute(), traj.pressure.compute()[[2, 5]])
    empty = traj[4:4]
    assert empty.potential_energy.compute().shape == (0,)
    assert empty.pressure_tensor.compute().shape == (0, 3, 3)


def test_one_read_task_per_chunk_for_a_shared_layer(source):
    import dask
    traj = Trajectory(source, chunk_frames=5)
    layer = ("forces", "potential_energy")
    dask.compute(traj.field("forces", layer), traj.field("potential_energy", layer), scheduler="sync")
    assert source.reads == [layer, layer]
    source.reads.clear()
    traj.potential_energy.compute(scheduler="sync")                 # its own lean layer
    assert source.reads == [("potential_energy",)] * 2
    np.testing.assert_array_equal(traj.field("pressure").compute(), traj.pressure.compute())


def test_nan_energy_names_the_frame(source):
    source._frame_data["potential_energy"][6] = np.nan
    traj = Trajectory(source, chunk_frames=4)
    traj[:6].potential_energy.compute()
    with pytest.raises(TrajectoryFormatError, match=r"frame 6: the potential energy of frame 6 is NaN or infinite"):
        traj.potential_energy.compute()
    source._frame_data["pressure_tensor"][1, 0, 0] = np.inf
    with pytest.raises(TrajectoryFormatError, match="the pressure tensor of frame 1 is NaN or infinite"):
        traj.pressure_tensor.compute()


def test_shapes_and_pressure_units():
    assert FRAME_SHAPES == {"potential_energy": (), "pressure": (), "pressure_tensor": (3, 3), "heat_current": (3,)}
    assert conversion("metal").pressure == 1e-4                    # bar
    assert conversion("real").pressure == pytest.approx(1.01325e-4, rel=1e-15)    # atm
    assert conversion("si").pressure == conversion("electron").pressure == 1e-9      # Pa
    lj = conversion("lj", {"sigma": 3.4, "epsilon": 0.0104, "mass": 39.948})
    assert lj.pressure == pytest.approx(0.0104 / 3.4 ** 3 * 160.2176634, rel=1e-12)  # eps/sigma^3 in GPa
