"""Trajectories: the lazy, chunked frames of any reader, their reference crystal and displacements, and one pass
over a run with the accumulators that join it."""
from trajmodes.trajectory.core import Trajectory
from trajmodes.trajectory.displacements import displacements_of_frames
from trajmodes.trajectory.passes import Accumulator, ChunkSum, HeldFrames, MeanDisplacement, Pass, Terms
from trajmodes.trajectory.reading import from_arrays, read

__all__ = ["Trajectory", "displacements_of_frames", "read", "from_arrays", "Pass", "Accumulator", "ChunkSum", "Terms",
           "MeanDisplacement", "HeldFrames"]
