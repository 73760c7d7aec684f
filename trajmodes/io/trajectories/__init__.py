"""Trajectory readers: every frame source (:class:`~trajmodes.io.trajectories.base.FrameSource`, the contract) and
the formats they parse: LAMMPS text dumps, data files and logs, (extended) XYZ, i-PI's per-bead XYZ files of path-integral runs,
GPUMD's dump_beads files with what its run.in says of the run, the formats ASE reads (VASP, Quantum
ESPRESSO, ASE .traj), every MDAnalysis format, trajmodes' netCDF cache, frames in memory and runs split over
restarts; the time axis of a run; and the registry that says which reader takes a file
(:mod:`~trajmodes.io.trajectories.registry`). :func:`trajmodes.io.open_source` is the way in."""
