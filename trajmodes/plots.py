"""Matplotlib figures written by the CLI."""
from __future__ import annotations

import numpy as np


def _figure(nrows: int, ncols: int, size):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt.subplots(nrows, ncols, figsize=size, constrained_layout=True)


def plot_summary(summary, path: str, title: str = "") -> None:
    """Temperature and displacement drift versus time, and <u^2> per species and axis.

    Parameters
    ----------
    summary : xarray.Dataset
        From :func:`trajmodes.summary.summarize`.
    path : str
        PNG or PDF file to write.
    """
    import matplotlib.pyplot as plt
    fig, axes = _figure(1, 3, (13, 3.8))
    t = summary.time.values
    if "temperature" in summary:
        T = summary.temperature.values
        axes[0].plot(t, T, lw=1)
        axes[0].axhline(T.mean(), color="k", ls="--", lw=0.8, label=f"mean {T.mean():.1f} K")
        axes[0].legend(frameon=False)
    else:
        axes[0].text(0.5, 0.5, "no velocities or masses", ha="center", transform=axes[0].transAxes)
    axes[0].set(xlabel="time (ps)", ylabel="kinetic temperature (K)")
    drift = summary.drift.values
    for k, lab in enumerate("xyz"):
        axes[1].plot(t, drift[:, k], lw=1, label=lab)
    axes[1].set(xlabel="time (ps)", ylabel="mean displacement (A)")
    axes[1].legend(frameon=False)
    sp = summary.species.values
    msd = summary.msd.values
    x = np.arange(len(sp))
    for k, lab in enumerate("xyz"):
        axes[2].bar(x + (k - 1) * 0.25, msd[:, k], width=0.25, label=lab)
    axes[2].set_xticks(x, sp)
    axes[2].set(ylabel="<u^2> (A^2)")
    axes[2].legend(frameon=False)
    if title:
        fig.suptitle(title, fontsize=9)
    from .io._files import atomic_write
    fmt = path.rsplit(".", 1)[-1]
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120, format=fmt))
    plt.close(fig)
