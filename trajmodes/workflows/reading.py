"""What the commands read: a run from its files, measured from its time average unless told otherwise, and force
constants of any format."""
from __future__ import annotations

import os

__all__ = ["read_run", "read_path_integral_run", "load_force_constants"]


def read_run(files, *, reference=None, **options):
    """The run of ``files`` (a file, or several: one run split into restarts) as a
    :class:`~trajmodes.trajectory.core.Trajectory` (:func:`trajmodes.read` with ``reference`` and the read
    ``options``). Without a ``reference``, and where the file stores none (a netCDF cache), the displacements are
    measured from the run's time average: a thermal snapshot such as the first frame is a poor reference."""
    from trajmodes.trajectory.reading import read
    files = [files] if isinstance(files, (str, os.PathLike)) else list(files)
    traj = read(files if len(files) > 1 else files[0], reference=reference, **options)
    if reference is None and getattr(traj.source, "reference", None) is None:
        traj = traj.with_reference("average")
    return traj


def read_path_integral_run(file, *, reference=None, temperature=None, **options):
    """The path-integral run that ``file`` belongs to (one bead's file of an i-PI, LAMMPS ``fix pimd`` or GPUMD run,
    or the folder of GPUMD's bead files: :func:`~trajmodes.trajectory.beads.path_integral_files`) as a
    :class:`~trajmodes.trajectory.beads.RingPolymerRun` (:func:`~trajmodes.trajectory.beads.read_beads` of the bead
    files found, not searched again, with ``reference``, ``temperature`` K and the read ``options``:
    ``md_timestep``, ``frame_interval``, ``chunk_frames``, ``species``, ``masses``, ``units``), measured from the
    run's time average without a ``reference``; None where ``file`` is the file of an ordinary run or of a run of one
    bead (classical: its velocities measure its temperature)."""
    from trajmodes.trajectory.beads import path_integral_files, read_beads
    if isinstance(file, (list, tuple)):
        if len(file) != 1:
            return None
        file = file[0]
    files = path_integral_files(file)
    if files is None or files.n_beads == 1:           # one bead: a classical run (i-PI's nbeads 1), read as any
        return None
    keep = ("md_timestep", "frame_interval", "chunk_frames", "species", "masses", "units")
    return read_beads(files, reference="average" if reference is None else reference, temperature=temperature,
                      **{k: v for k, v in options.items() if k in keep and v is not None})


def load_force_constants(path: str | os.PathLike):
    """:class:`~trajmodes.ForceConstants` of any format, from the file names: :meth:`ForceConstants.read`."""
    from trajmodes.forceconstants.model import ForceConstants
    return ForceConstants.read(path)
