"""Trajectories: the lazy, chunked frames of any reader, their reference crystal and displacements."""
from trajmodes.lattice.geometry import minimum_image
from trajmodes.trajectory.core import Trajectory
from trajmodes.trajectory.displacements import chunk_displacements
from trajmodes.trajectory.reading import from_arrays, read

__all__ = ["Trajectory", "chunk_displacements", "minimum_image", "read", "from_arrays"]
