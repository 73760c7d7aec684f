"""What the commands read: a run from its files, measured from its time average unless told otherwise, and force
constants of any format."""
from __future__ import annotations

import os

__all__ = ["read_run", "load_force_constants"]


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


def load_force_constants(path: str | os.PathLike):
    """:class:`~trajmodes.ForceConstants` of any format, from the file names: :meth:`ForceConstants.read`."""
    from trajmodes.forceconstants.model import ForceConstants
    return ForceConstants.read(path)
