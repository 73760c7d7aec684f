"""Trajectories: the lazy, chunked frames of any reader, their reference crystal and displacements."""
from trajmodes.lattice.geometry import minimum_image
from trajmodes.trajectory.core import Trajectory
from trajmodes.trajectory.displacements import displacements_of_frames
from trajmodes.trajectory.reading import from_arrays, read

__all__ = ["Trajectory", "displacements_of_frames", "minimum_image", "read", "from_arrays"]
