"""Trajectories: the lazy, chunked frames of any reader, their reference crystal and displacements, one pass
over a run with the accumulators that join it, and path-integral runs (a bead axis and the centroid).

:data:`__all__` holds the package's public names: those other packages of trajmodes import (from here or from their
modules), and those :mod:`trajmodes` re-exports. The names imported below are loaded with it; the others
(:data:`_LAZY`) are imported from their modules on first use (PEP 562), so that importing one module of the package
does not import them.
"""

from trajmodes._lazy import lazy_names
from trajmodes.trajectory.core import Trajectory
from trajmodes.trajectory.displacements import displacements_of_frames
from trajmodes.trajectory.passes import Accumulator, ChunkSum, HeldFrames, MeanDisplacement, Pass, PassResult, Terms
from trajmodes.trajectory.reading import from_arrays, read

#: public name -> the module of the package that defines it, for the public names not imported above
_LAZY = {
    # the displacement map the projection applies in its own pass; displacement datasets read as frames
    "DisplacementMap": "displacements", "apply_displacement_map": "displacements",
    "scatter_displacements": "displacements", "read_displacement_dataset": "reading",
    # the crystal's rigid drift taken out of displacements held in memory
    "remove_drift": "displacements",
    # a run's summary: its accumulators in a pass, and its dataset
    "summary_terms": "summary", "summarize": "summary", "summarize_with_average": "summary",
    "summary_dataset": "summary", "check_temperatures": "summary",
    # path-integral runs: the beads of a ring polymer, pooled, and their centroid
    "read_beads": "beads", "RingPolymerRun": "beads",
    # the sum of a chunk's per-frame terms over its frames (an accumulator's reduction)
    "frame_sum": "chunks",
}

__all__ = ["Trajectory", "displacements_of_frames", "read", "from_arrays", "Pass", "PassResult", "Accumulator",
           "ChunkSum", "Terms", "MeanDisplacement", "HeldFrames", *_LAZY]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
