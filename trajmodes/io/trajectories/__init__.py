"""Trajectory readers: every frame source (:class:`~trajmodes.io.trajectories.base.FrameSource`, the contract) and
the formats they parse: LAMMPS text dumps, data files and logs, (extended) XYZ, i-PI's per-bead XYZ files of path-integral runs,
GPUMD's dump_beads files with what its run.in says of the run, the formats ASE reads (VASP, Quantum
ESPRESSO, ASE .traj), every MDAnalysis format, trajmodes' netCDF cache, frames in memory and runs split over
restarts; the time axis of a run; the files of path-integral runs (:mod:`~trajmodes.io.trajectories.bead_files`) and
single structures (:mod:`~trajmodes.io.trajectories.structures`); and the one registry that says what a path is: a
plain trajectory and its reader, a path-integral run or a structure (:mod:`~trajmodes.io.trajectories.registry`).
:func:`trajmodes.io.identify` and :func:`trajmodes.io.open_source` are the way in."""
