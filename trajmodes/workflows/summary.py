"""``trajmodes info`` (and the summary of ``trajmodes run``): a run's frames, box, temperature, volume, pressure,
energy and displacement statistics (:mod:`trajmodes.trajectory.summary`)."""
from __future__ import annotations

__all__ = ["run_summary"]


def run_summary(trajectory) -> tuple:
    """The summary of ``trajectory`` (``trajmodes info``) in one streamed pass over its frames, the time-average
    reference summed in it where that is still to be taken (:func:`~trajmodes.trajectory.summary.
    summarize_with_average`), and the run measured from the reference the summary used.

    Parameters
    ----------
    trajectory : Trajectory
        The run, read lazily; its reference may still be the time average to take.

    Returns
    -------
    summary : xarray.Dataset
        ``temperature``, ``volume``, ``pressure``, ``potential_energy`` per frame where the run has them; ``msd``,
        ``rms_displacement``, ``max_displacement``, ``drift`` of the displacements (Å, Å²).
    measured : Trajectory
        ``trajectory`` measured from the time average the pass took (its box, its sites for a second summary), with
        no pass to take it again; ``trajectory`` itself where its reference was known. ``trajectory`` is left as it
        was.
    """
    from trajmodes.trajectory.summary import summarize_with_average
    summary, average = summarize_with_average(trajectory)
    return summary, (trajectory if average is None else trajectory.with_average(average))
