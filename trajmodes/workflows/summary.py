"""``trajmodes info`` (and the summary of ``trajmodes run``): a run's frames, box, temperature, volume, pressure,
energy and displacement statistics (:mod:`trajmodes.trajectory.summary`)."""
from __future__ import annotations

__all__ = ["run_summary", "summary_of_sums", "check_velocity_unit"]


def run_summary(trajectory):
    """The summary of ``trajectory`` (``trajmodes info``) in one streamed pass over its frames, the time-average
    reference summed in it where that is still to be taken: :func:`~trajmodes.trajectory.summary.summarize`, an
    xarray Dataset (``temperature``, ``volume``, ``pressure``, ``potential_energy`` per frame where the run has them;
    ``msd``, ``rms_displacement``, ``max_displacement``, ``drift`` of the displacements)."""
    from trajmodes.trajectory.summary import summarize
    return summarize(trajectory)


def summary_of_sums(trajectory, values: dict):
    """The summary of ``trajectory`` (as :func:`run_summary`) from the sums of a pass it joined (``values``: those of
    :func:`~trajmodes.trajectory.summary.summary_terms`, computed: ``trajmodes run`` sums them while it writes the
    run's cache, :func:`~trajmodes.workflows.run.read_once`)."""
    from trajmodes.trajectory.summary import summary_dataset
    return summary_dataset(trajectory, values)


def check_velocity_unit(trajectory, values: dict):
    """The kinetic temperature of ``trajectory`` against the configurational one of its displacements and forces,
    from the computed sums of a pass it joined (``values``, as :func:`summary_of_sums`; their frame terms suffice, so
    ``trajmodes run`` asks before its fit): :func:`~trajmodes.trajectory.summary.check_temperatures`, which refuses
    velocities in another unit than the one read (ASE's own, A/fs) with a
    :class:`~trajmodes.errors.TrajectoryFormatError` naming the unit to state."""
    from trajmodes.trajectory.summary import check_temperatures
    return check_temperatures(trajectory, values)
