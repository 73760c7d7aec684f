"""What the commands read: a run from its files, measured from its time average unless told otherwise, and force
constants of any format."""
from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["OpenedRun", "open_run", "load_force_constants"]

#: the read options a path-integral run's bead files take (:func:`~trajmodes.trajectory.beads.read_beads`)
BEAD_OPTIONS = ("md_timestep", "frame_interval", "chunk_frames", "species", "masses", "units")


@dataclass(frozen=True)
class OpenedRun:
    """A run as :func:`open_run` opened it.

    Parameters
    ----------
    trajectory : Trajectory
        The run's frames: of a path-integral run, its centroid (every atom's bead average).
    ring : RingPolymerRun or None
        The ring polymer of a path-integral run (its beads, pooled samples and centroid); None for a plain run.
    """

    trajectory: object
    ring: object = None


def open_run(files, *, reference=None, temperature=None, **options) -> OpenedRun:
    """The run of ``files``, whatever its kind: the registry
    (:func:`~trajmodes.io.trajectories.registry.identify`) says what one file is, the commands do not ask again.

    A plain run (a file, or several: one run split into restarts) is a
    :class:`~trajmodes.trajectory.core.Trajectory` (:func:`trajmodes.read` with ``reference`` and the read
    ``options``). One file of a path-integral run (one bead's file of an i-PI, LAMMPS ``fix pimd`` or GPUMD run, or
    the folder of GPUMD's bead files) is a :class:`~trajmodes.trajectory.beads.RingPolymerRun`
    (:func:`~trajmodes.trajectory.beads.read_beads` of the bead files the registry found, not searched again, with
    ``temperature`` K and the options that apply to bead files: ``md_timestep``, ``frame_interval``,
    ``chunk_frames``, ``species``, ``masses``, ``units``), with its centroid as the trajectory; a run of one bead
    is classical (its velocities measure its temperature) and read as a plain run.

    Without a ``reference``, and where the file stores none (a netCDF cache), the displacements are measured from
    the run's time average: a thermal snapshot such as the first frame is a poor reference. ``temperature`` is that
    of a path-integral run (that of a plain run is measured from its velocities); None: the one its input states.

    Parameters
    ----------
    files : str, os.PathLike or sequence of them
        The run's file(s), a glob, or a path-integral run's bead file or folder.
    reference : str, os.PathLike or Structure, optional
        The reference crystal (:func:`trajmodes.read`'s ``reference``); default the run's time average.
    temperature : float, optional
        K, of a path-integral run.
    **options
        The read options of :func:`trajmodes.read` (``md_timestep`` ps, ``units``, ``species``, ...).
    """
    from trajmodes.io import identify
    from trajmodes.trajectory.beads import read_beads
    from trajmodes.trajectory.reading import read
    files = [files] if isinstance(files, (str, os.PathLike)) else list(files)
    # one path that is there (several files, or a glob open_source expands, are one plain run)
    found = identify(files[0]) if len(files) == 1 and os.path.exists(files[0]) else None
    if found is not None and found.kind == "path-integral":
        ring = read_beads(found.beads, reference="average" if reference is None else reference,
                          temperature=temperature,
                          **{k: v for k, v in options.items() if k in BEAD_OPTIONS and v is not None})
        return OpenedRun(ring.centroid, ring)
    traj = read(files if len(files) > 1 else files[0], reference=reference, **options)
    if reference is None and getattr(traj.source, "reference", None) is None:
        traj = traj.with_reference("average")
    return OpenedRun(traj)


def load_force_constants(path: str | os.PathLike):
    """:class:`~trajmodes.ForceConstants` of any format, from the file names: :meth:`ForceConstants.read`.

    Parameters
    ----------
    path : str or os.PathLike
        A force-constant file or folder (phonopy, phono3py, trajmodes .nc, ...).
    """
    from trajmodes.forceconstants.model import ForceConstants
    return ForceConstants.read(path)
