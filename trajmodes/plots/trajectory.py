"""Figures of a trajectory's summary: temperature, displacements, mean square displacements."""
from __future__ import annotations

import numpy as np

from trajmodes.plots.figures import axes_for, finish, heading

__all__ = ["plot_summary"]


def plot_summary(summary, path: str | None = None, title: str = "", *, ax=None):
    """Temperature and rms displacement per species versus time, and the mean square displacement <u_a^2> per species
    and axis (Å, Å²).

    The mean displacement of all atoms (centre-of-mass drift) is drawn only where it is visible beside the
    rms displacement (above 1% of it): in a run with the momentum removed it is round-off.

    Parameters
    ----------
    summary : xarray.Dataset
        From :func:`trajmodes.trajectory.summary.summarize`.
    path : str
        PNG or PDF file to write.
    title : str
        The run and its settings (the command line's: species, temperature, fit), added to the figure's heading after
        what it shows; empty: the heading alone.
    ax : matplotlib.axes.Axes, optional
        Draw into this panel of a figure of your own instead of a new figure.
    """
    new = ax is None                                  # a figure of its own: it gets a heading
    fig, axes = axes_for(ax, 1, 3, (13, 3.8))
    t = summary.time.values
    # a time axis nothing stated (the summary's time_axis starts with ASSUMED) is said so under the axis
    assumed = str(summary.time.attrs.get("time_axis", "")).startswith("ASSUMED")
    xlabel = "time (ps), ASSUMED: nothing states it" if assumed else "time (ps)"
    if "temperature" in summary:
        T = summary.temperature.values
        axes[0].plot(t, T, lw=1)
        axes[0].axhline(T.mean(), color="k", ls="--", lw=0.8)
        axes[0].set_title(f"mean {T.mean():.1f} K (dashed)", fontsize=9)     # a legend would cover the trace
    else:
        axes[0].text(0.5, 0.5, "no velocities or masses", ha="center", transform=axes[0].transAxes)
    axes[0].set(xlabel=xlabel, ylabel="kinetic temperature (K)")
    sp = summary.species.values
    rms = summary.rms_time.values if "rms_time" in summary else None
    if rms is not None:
        for k, name in enumerate(sp):
            axes[1].plot(t, rms[:, k], lw=1, label=f"{name}, rms $|u|$")
    drift = np.linalg.norm(summary.drift.values, axis=1)
    scale = float(np.nanmax(rms)) if rms is not None and rms.size else float(drift.max())
    if drift.max() > 0.01 * scale:
        axes[1].plot(t, drift, lw=1, color="k", ls=":", label=r"$|\langle u \rangle|$ (drift of all atoms)")
    axes[1].set(xlabel=xlabel, ylabel="displacement (Å)")
    axes[1].set_ylim(0, None)
    above = dict(frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=8, borderaxespad=0.2)
    axes[1].legend(ncols=min(3, len(axes[1].get_lines())), **above)      # above the panel: clear of the curves
    msd = summary.msd.values
    x = np.arange(len(sp))
    for k, lab in enumerate("xyz"):
        axes[2].bar(x + (k - 1) * 0.25, msd[:, k], width=0.25, label=f"${lab}$")
    axes[2].set_xticks(x, sp)
    axes[2].set(ylabel=r"mean square displacement $\langle u_\alpha^2 \rangle$ (Å$^2$)")
    axes[2].set_ylim(0, None)
    axes[2].legend(ncols=3, **above)
    head = "kinetic temperature and atomic displacements of the run"
    if title or new:
        fig.suptitle(heading(head, title, fig, 9), fontsize=9)
    return finish(fig, path, dpi=120)
