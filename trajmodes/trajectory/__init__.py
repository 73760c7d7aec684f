"""Trajectories: the lazy, chunked frames of any reader, their reference crystal and displacements."""
from trajmodes.trajectory.core import Trajectory
from trajmodes.trajectory.displacements import displacements_of_frames
from trajmodes.trajectory.reading import from_arrays, read

__all__ = ["Trajectory", "displacements_of_frames", "read", "from_arrays"]
