"""Shared pieces of every figure: a new figure without pyplot, atomic saving, band-path axes.

Figures are made with :class:`matplotlib.figure.Figure` directly, never through ``pyplot``: writing one never
switches the user's matplotlib backend (a notebook keeps its own) and leaves no figure open.
"""
from __future__ import annotations

import numpy as np

__all__ = ["figure", "axes_for", "finish", "save", "plot_path", "path_axes"]


def figure(nrows: int, ncols: int, size, **kw):
    """A new figure and its axes (``Figure.subplots`` keywords in ``kw``), constrained layout."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.subplots(nrows, ncols, **kw)


def axes_for(ax, nrows: int, ncols: int, size, **kw):
    """The figure and axes a plot draws into: the caller's ``ax`` (one Axes for a one-panel figure, else a sequence of
    ``nrows * ncols`` Axes, in reading order), or a new figure (:func:`figure`). The axes come shaped as
    ``Figure.subplots`` would return them (``squeeze`` in ``kw``); the other ``kw`` apply to new figures only."""
    if ax is None:
        return figure(nrows, ncols, size, **kw)
    flat = np.ravel(np.asarray(ax, dtype=object))
    if flat.size != nrows * ncols:
        raise ValueError(f"this figure has {nrows * ncols} panel(s) ({nrows} x {ncols}): give ax= that many "
                         f"matplotlib Axes, not {flat.size}")
    if not kw.get("squeeze", True):
        return flat[0].figure, flat.reshape(nrows, ncols)
    if flat.size == 1:
        return flat[0].figure, flat[0]
    return flat[0].figure, (flat if nrows == 1 or ncols == 1 else flat.reshape(nrows, ncols))


def finish(fig, path=None, dpi: int = 130):
    """Save ``fig`` to ``path`` when one is given (:func:`save`), and return it."""
    if path is not None:
        save(fig, str(path), dpi=dpi)
    return fig


def save(fig, path: str, dpi: int = 130) -> None:
    """Write ``fig`` atomically (format from the file's extension)."""
    from trajmodes.io.filesystem import atomic_write
    fmt = str(path).rsplit(".", 1)[-1]
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format=fmt))


def plot_path(ax, bands, **style):
    """Draw the frequencies of a band path segment by segment (no line across a jump); the first line drawn."""
    d, f, seg = bands.distance.values, bands.frequency.values, bands.segment.values
    first = None
    for s in np.unique(seg):
        sel = seg == s
        lines = ax.plot(d[sel], f[sel], **style)
        first = lines[0] if first is None else first
    return first


def path_axes(ax, bands, lo: float, hi: float, line_color: str = "0.7") -> None:
    """Band-path x axis (high-symmetry labels and separators, first to last point) and y limits [lo, hi] THz
    with margins."""
    ticks = [float(x) for x in np.atleast_1d(bands.attrs.get("tick_distance", []))]
    labels = [str(x) for x in np.atleast_1d(bands.attrs.get("tick_labels", []))]
    for x in ticks:
        ax.axvline(x, color=line_color, lw=0.6)
    ax.set_xticks(ticks, labels)
    d = bands.distance.values
    ax.set_xlim(d[0], d[-1])
    ax.set_ylim(lo - 0.03 * (hi - lo), hi + 0.05 * (hi - lo))
