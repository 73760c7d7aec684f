"""The figure of ``trajmodes watch``: the effective dispersion of the last update with its error band, beside the
convergence of every frequency at the special points and of its error bar against the simulated time fitted."""
from __future__ import annotations

import numpy as np

from trajmodes.plots.figures import axes_for, finish, path_axes

__all__ = ["plot_watch"]


def plot_watch(ds, path: str | None = None, *, ax=None):
    """Draw a watch dataset: left the dispersion (THz)
    with its bootstrap error band (+-1 standard error), in the middle each distinct frequency at the special points
    (points of equal frequencies, K and U of fcc, once) against the simulated time read (ps) with its error bar, and
    right the largest error bar against the time fitted and the target (log-log), with the decrease carried to the
    target where a prediction was made (measured, or the t^-1/2 of error bars at their blocking plateau), titled with
    whether the target is reached.

    Parameters
    ----------
    ds : xarray.Dataset
        The watch dataset of a followed run (:func:`trajmodes.workflows.watch_outputs.watch_dataset`, the
        ``watch.nc`` that ``trajmodes watch`` writes).
    path : str, optional
        The file the figure is written to, its format from the extension; None: not written.
    ax : sequence of 3 matplotlib Axes, optional
        The axes drawn on (dispersion, frequencies, largest error bar); default a new figure of three.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter
    fig, axes = axes_for(ax, 1, 3, (12.0, 4.0))
    a, b, c = np.ravel(axes)
    d, seg = ds.distance.values, ds.segment.values
    nu, err = ds.band_frequency.values, ds.band_frequency_err.values
    for s in np.unique(seg):
        sel = seg == s
        for k in range(nu.shape[1]):
            a.fill_between(d[sel], nu[sel, k] - err[sel, k], nu[sel, k] + err[sel, k], color="C0", alpha=0.3, lw=0)
            a.plot(d[sel], nu[sel, k], color="C0", lw=1.0)
    path_axes(a, ds, float(np.nanmin(nu - err)), float(np.nanmax(nu + err)))
    a.set_ylabel("frequency (THz)")
    a.set_title("dispersion, last update (±1 s.e.)", fontsize=9)
    t, run = ds.fitted_time.values, ds.time.values
    freq, ferr = ds.frequency.values, ds.frequency_err.values
    groups = []                   # points with the same frequencies (K and U of fcc): drawn once, named together
    for q, label in enumerate(ds.qlabel.values):
        for g in groups:
            if np.allclose(freq[-1, q], freq[-1, g[0]], atol=1e-4, rtol=0):
                g.append(q)
                break
        else:
            groups.append([q])
    for n, g in enumerate(groups):
        q, last, seen = g[0], freq[-1, g[0]], []
        for k in range(freq.shape[2]):
            if abs(last[k]) < 1e-3 or any(abs(last[k] - x) < 1e-4 for x in seen):
                continue
            seen.append(last[k])
            b.errorbar(run, freq[:, q, k], yerr=ferr[:, q, k], color=f"C{n % 10}", lw=0.8, capsize=2,
                       label="=".join(str(ds.qlabel.values[i]) for i in g) if len(seen) == 1 else None)
    assumed = str(ds.attrs.get("time_axis", "")).startswith("ASSUMED")     # the file gives no times: 1 ps per frame
    b.set_xlabel("simulated time read (ps)" + ("\nASSUMED: 1 ps between frames" if assumed else ""))
    b.set_ylabel("frequency at the special points (THz)")
    b.legend(fontsize=7, frameon=False, ncols=2)
    # the largest error bar against the time fitted (the start moves as the transient is found), with the measured
    # decrease err ~ t^-alpha of the last update carried to the target: where it meets it, the predicted length
    ok = np.isfinite(ds.largest_error.values) & (t > 0)
    c.loglog(t[ok], ds.largest_error.values[ok], "o", color="C3", ms=3, label="largest error bar")
    c.axhline(float(ds.attrs["target"]), color="0.4", ls="--", lw=0.8, label="target")
    alpha, more = (float(ds[name].values[-1]) for name in ("exponent", "more_time"))
    target = float(ds.attrs["target"])
    title = f"target {target:g} THz not reached"
    if int(ds.attrs.get("reached", 0)):       # a replay goes on past it: the update that reached it, not the last
        title = f"target {target:g} THz reached after {float(ds.attrs['reached_fitted_time']):.3g} ps fitted"
    if np.isfinite(alpha) and np.isfinite(more) and more > 0 and t[-1] > 0:
        total = t[-1] + more                  # the fitted err = a t^-alpha meets the target there
        line = np.geomspace(t[-1] * float(ds.attrs.get("prediction_share", 0.25)), total, 20)
        settled = "exponent_settled" in ds and bool(ds.exponent_settled.values[-1])
        c.loglog(line, target * (line / total) ** -alpha, ":", color="C3", lw=1.0,
                 label=(f"t^-1/2 at the plateau: {total:.3g} ps needed" if settled else
                        f"fit t^-{alpha:.2f}: {total:.3g} ps needed"))
    c.set_title(title, fontsize=9)
    for axis, (lo, hi) in ((c.xaxis, c.get_xlim()), (c.yaxis, c.get_ylim())):
        # plain numbers at 1, 2, 5 x 10^n where the axis spans two decades or less (a run's usual span); beyond, at
        # powers of ten only, whose labels do not run into each other
        few = lo > 0 and np.log10(hi / lo) <= 2.0
        axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0) if few else (1.0,)))
        axis.set_major_formatter(FormatStrFormatter("%g"))
        axis.set_minor_formatter(NullFormatter())
    c.set_xlabel("simulated time fitted (ps)" + ("\nASSUMED: 1 ps between frames" if assumed else ""))
    c.set_ylabel("error bar (THz)")
    c.legend(fontsize=7, frameon=False)
    return finish(fig, path)
