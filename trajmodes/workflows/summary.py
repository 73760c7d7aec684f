"""``trajmodes info`` (and the summary of ``trajmodes run``): a run's frames, box, temperature, volume, pressure,
energy and displacement statistics (:mod:`trajmodes.trajectory.summary`)."""
from __future__ import annotations

__all__ = ["run_summary"]


def run_summary(trajectory):
    """The summary of ``trajectory`` (``trajmodes info``) in one streamed pass over its frames, the time-average
    reference summed in it where that is still to be taken: :func:`~trajmodes.trajectory.summary.summarize`, an
    xarray Dataset (``temperature``, ``volume``, ``pressure``, ``potential_energy`` per frame where the run has them;
    ``msd``, ``rms_displacement``, ``max_displacement``, ``drift`` of the displacements)."""
    from trajmodes.trajectory.summary import summarize
    return summarize(trajectory)
