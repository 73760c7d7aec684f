"""Figures of projected phonon modes: fitted spectra, linewidths over the dispersion, spectral energy density."""
from __future__ import annotations

import numpy as np

from trajmodes.lattice.paths import path_coordinates
from trajmodes.plots.figures import axes_for, axis_label, finish, heading, path_axes, plot_path, typeset

__all__ = ["plot_mode_fits", "plot_linewidth_dispersion", "plot_sed", "sed_columns", "reference_name"]


def reference_name(ds) -> str:
    """What the projection's reference frequencies are, for labels: "effective (T K)" for constants fitted to a run
    (``constants`` and ``fitted_temperature`` in the attributes ``trajmodes project`` writes), else "harmonic"."""
    if ds.attrs.get("constants") == "effective":
        T = ds.attrs.get("fitted_temperature")
        return f"effective ({float(T):.0f} K)" if T is not None and np.isfinite(float(T)) else "effective"
    return "harmonic"


def _peak_model(ds, iq: int, ib: int):
    """The line shape fitted to mode (iq, ib) of a ``project`` dataset (``peak_line_model``, else the dataset's
    ``peak_model``; the windowed ones from its spectra_* attributes)."""
    from trajmodes.modes.lineshapes import peak_model
    attrs = {k[len("spectra_"):]: v for k, v in ds.attrs.items() if k.startswith("spectra_")}
    name = str(ds["peak_line_model"].values[iq, ib]) if "peak_line_model" in ds else ""
    return peak_model(name or str(ds.attrs.get("peak_model", "lorentzian")), attrs)


def plot_mode_fits(ds, modes, path: str | None = None, title: str = "", *, ax=None):
    """Spectrum (what the fit saw: star- and degeneracy-summed psd) with the fitted peak, one panel per mode.

    ``ds`` is the dataset written by ``trajmodes project``; ``modes`` a list of (q index, branch). A mode without a
    fitted line (NaN frequency: "collapsed", "unconstrained", "no peak", ...) gets no curve, only a dotted line at
    the smoothed spectrum's maximum when there is one.

    Parameters
    ----------
    ds : xarray.Dataset
        The mode spectra and their Lorentzian fits (``modes.nc``: :func:`trajmodes.mode_spectra`,
        :func:`trajmodes.fit_peaks`).
    modes : sequence of (int, int)
        The (q-point index, branch index) pairs whose spectra are drawn, one panel each.
    path : str, optional
        Image file to write, format from its extension (.png, .pdf, .svg); default none: the figure is only returned.
    title : str
        Heading over the figure (the command line's: the run, its temperature, the fit); empty: none.
    ax : matplotlib.axes.Axes, optional
        Draw into this panel of a figure of your own instead of a new figure.
    """
    n = max(1, len(modes))
    ncols = min(n, 3)
    nrows = (n + ncols - 1) // ncols
    new = ax is None                                  # a figure of its own: it gets a heading
    fig, axes = axes_for(ax, nrows, ncols, (4.3 * ncols, 3.3 * nrows))
    axes = np.atleast_1d(axes).ravel()
    f = ds.frequency.values
    for ax, (iq, ib) in zip(axes, modes):
        y = ds["psd_fitted"].values[iq, ib]
        st = str(ds["peak_status"].values[iq, ib])
        nu, fw = float(ds["peak_frequency"].values[iq, ib]), float(ds["peak_fwhm"].values[iq, ib])
        nu_h = float(ds["frequency_harmonic"].values[iq, ib])
        lo, hi = float(ds["peak_window_lo"].values[iq, ib]), float(ds["peak_window_hi"].values[iq, ib])
        centre = nu if np.isfinite(nu) else nu_h if np.isfinite(nu_h) and nu_h > 0 else float(f[np.argmax(y[1:]) + 1])
        span = max(3 * (hi - lo) if np.isfinite(hi - lo) else 0, 2.0)
        m = (f > centre - span / 2) & (f < centre + span / 2)
        ax.step(f[m], y[m], where="mid", color="0.3", lw=1, label="spectrum")
        if np.isfinite(nu):
            xx = np.linspace(max(lo, f[1]), hi, 400)
            func = _peak_model(ds, iq, ib)
            ax.plot(xx, func(xx, float(ds["peak_amplitude"].values[iq, ib]), nu, fw,
                             float(ds["peak_background"].values[iq, ib])), color="C3", lw=1.5,
                    label=f"fit: {nu:.3f} THz, FWHM {fw:.3f} THz"
                    + (f" ({ds['peak_line_model'].values[iq, ib]})" if "peak_line_model" in ds else ""))
            ax.axvspan(lo, hi, color="C3", alpha=0.06)
        elif "peak_estimate_frequency" in ds and np.isfinite(float(ds["peak_estimate_frequency"].values[iq, ib])):
            # no fitted line (collapsed, unconstrained, ...): where the smoothed spectrum puts the peak, no curve
            est = float(ds["peak_estimate_frequency"].values[iq, ib])
            ax.axvline(est, color="C3", ls=":", lw=1.0, label=f"no fit; smoothed peak {est:.3f} THz")
        ax.axvline(nu_h, color="C0", ls="--", lw=0.9, label=f"{reference_name(ds)} {nu_h:.3f} THz")
        q = ", ".join(f"{x:.3g}" for x in np.asarray(ds.qpoint.values[iq], float) + 0.0)
        ax.set_title(f"q = ({q}) (#{iq}), branch {ib}: {st}", fontsize=8)
        units = ds["psd"].attrs.get("units", "eV/THz")
        what = "kinetic-energy spectrum" if units == "eV/THz" else "spectral density"
        ax.set(xlabel="frequency (THz)", ylabel=axis_label(what, units))
        top = max(float(np.nanmax(y[m])) if m.any() else 0.0, float(np.nanmax(ax.get_ylim())))
        ax.set_ylim(top=1.45 * top)               # headroom: the legend above the peak, not over it
        ax.legend(fontsize=7, loc="upper center", framealpha=0.9, edgecolor="none")   # over the vertical lines
    for ax in axes[len(modes):]:
        ax.set_visible(False)
    head = "mode spectra and their fitted lines"
    if title or new:
        fig.suptitle(heading(head, title, fig, 9), fontsize=9)
    return finish(fig, path)


def _q_order(ds) -> np.ndarray:
    """Commensurate q-points sorted by ``|q|``, ties by the sum of the absolute harmonic frequencies."""
    H = ds["frequency_harmonic"].values
    return np.lexsort((np.abs(H).sum(axis=1), np.linalg.norm(ds.qpoint.values, axis=1)))


def plot_linewidth_dispersion(ds, path: str | None = None, title: str = "", bands=None, rotations=None, note: str = "", *, ax=None):
    """Fitted peak frequencies with FWHM bars over the harmonic dispersion.

    With ``bands`` (a :meth:`trajmodes.Phonons.band_structure` path of the force constants the modes were
    projected on) and ``rotations`` (the primitive cell's, fractional): the harmonic dispersion as lines and
    every commensurate q at the path coordinates of its star (:func:`path_coordinates`); q with no image on
    the path are not drawn and counted in the title. Otherwise (files from before the path was stored):
    fitted frequency against q index (q sorted by ``|q|``) over the harmonic frequencies, with ``note`` saying so.
    Bars are the full FWHM (peak ± FWHM/2); "ok" fits red, flagged ones orange.

    Parameters
    ----------
    ds : xarray.Dataset
        The modes fitted by :func:`trajmodes.fit_peaks` (``modes.nc``): peak frequency and FWHM in THz per q-point
        and branch.
    path : str, optional
        Image file to write, format from its extension (.png, .pdf, .svg); default none: the figure is only returned.
    title : str
        Heading over the figure (the command line's: the run, its temperature, the fit); empty: none.
    bands : xarray.Dataset, optional
        The harmonic band path (:meth:`trajmodes.Phonons.band_structure`; :func:`trajmodes.workflows.path_bands`
        makes it from ``modes.nc``), frequencies in THz, drawn with the data.
    rotations : array_like, optional
        The point-group rotations of the primitive cell (fractional), with ``bands``: each q is placed at the path
        coordinates of its star.
    note : str
        A line printed under the figure (why q is sorted by ``|q|`` where the path is not stored).
    ax : matplotlib.axes.Axes, optional
        Draw into this panel of a figure of your own instead of a new figure.
    """
    H = ds["frequency_harmonic"].values
    F = ds["peak_frequency"].values
    W = ds["peak_fwhm"].values
    S = ds["peak_status"].values.astype(str)
    if bands is None or rotations is None:
        return _linewidth_by_index(ds, path, title, note, ax=ax)
    fig, ax = axes_for(ax, 1, 1, (8.5, 4.8))
    f = bands.frequency.values
    plot_path(ax, bands, color="0.45", lw=1.0).set_label(reference_name(ds))
    hits = path_coordinates(ds.qpoint.values, bands, rotations)
    xs, ys, es, oks = [], [], [], []
    for iq, dq in enumerate(hits):
        for x in dq:
            for ib in range(H.shape[1]):
                if np.isfinite(F[iq, ib]):
                    xs.append(x), ys.append(F[iq, ib]), es.append(0.5 * W[iq, ib]), oks.append(S[iq, ib] == "ok")
    xs, ys, es, oks = map(np.asarray, (xs, ys, es, oks))
    if xs.size:
        ok = oks.astype(bool)
        ax.errorbar(xs[ok], ys[ok], yerr=es[ok], fmt="o", ms=3, lw=0.8, capsize=1.5, color="C3",
                    label="MD peak (bar: FWHM)", zorder=3)
        ax.errorbar(xs[~ok], ys[~ok], yerr=es[~ok], fmt="o", ms=3, lw=0.6, capsize=1.5, color="C1", alpha=0.6,
                    label="MD peak, flagged", zorder=3)
    lo = min(0.0, float(np.nanmin(f)))
    hi = max(float(np.nanmax(f)), float(np.nanmax(ys + es)) if xs.size else 0.0)
    path_axes(ax, bands, lo, hi)
    ax.set(ylabel="frequency (THz)", xlabel="wave vector")
    ax.tick_params(axis="x", length=0)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    off = sum(1 for h in hits if h.size == 0)
    head = f"{len(hits) - off} of {len(hits)} commensurate q on the path (star images)"
    head += f"; {off} off the path, not drawn" if off else ""
    ax.set_title((f"MD peak frequencies and linewidths on the dispersion: {typeset(title)}\n" if title else "")
                 + head + (f"; {typeset(note)}" if note else ""), fontsize=9)
    return finish(fig, path)


def _linewidth_by_index(ds, path: str | None = None, title: str = "", note: str = "", *, ax=None):
    """Fitted frequency against q index (q sorted by ``|q|``) with FWHM bars, over the harmonic reference."""
    fig, ax = axes_for(ax, 1, 1, (10, 4.2))
    H = ds["frequency_harmonic"].values
    F = ds["peak_frequency"].values
    W = ds["peak_fwhm"].values
    S = ds["peak_status"].values.astype(str)
    order = _q_order(ds)
    x = np.arange(len(order))
    for ib in range(H.shape[1]):
        ax.plot(x, H[order, ib], "_", color="0.5", ms=7, label=reference_name(ds) if ib == 0 else None)
        ok = S[order, ib] == "ok"
        ax.errorbar(x[ok], F[order, ib][ok], yerr=0.5 * W[order, ib][ok], fmt="o", ms=2.5, lw=0.7, color="C3",
                    label="fit (bars: FWHM)" if ib == 0 else None)
        bad = ~ok & np.isfinite(F[order, ib])
        ax.errorbar(x[bad], F[order, ib][bad], yerr=0.5 * W[order, ib][bad], fmt="o", ms=2.5, lw=0.5,
                    color="C1", alpha=0.6, label="fit, flagged" if ib == 0 else None)
    ax.set(xlabel="commensurate q (sorted by $|q|$)", ylabel="frequency (THz)")
    ax.legend(frameon=False, fontsize=8, ncol=3)
    if title or note:
        ax.set_title(typeset(title) + ("\n" + typeset(note) if title and note else typeset(note)), fontsize=9)
    return finish(fig, path)


def sed_columns(sed: np.ndarray, hits) -> tuple[np.ndarray, np.ndarray]:
    """The SED as columns along a band path.

    Parameters
    ----------
    sed : ndarray (q, frequency)
        The spectral energy density of each q-point on the frequency grid (eV/THz, or amu Å²/THz, as ``modes.nc``
        stores it).
    hits : list of ndarray
        :func:`path_coordinates` of the q-points.

    Returns
    -------
    distances : ndarray (n_columns,)
        Sorted path coordinates where some q lies.
    columns : ndarray (n_columns, frequency)
        The mean SED of the q-points at each coordinate.
    """
    cols: dict[float, list[int]] = {}
    for iq, dq in enumerate(hits):
        for x in dq:
            cols.setdefault(round(float(x), 9), []).append(iq)
    xs = np.array(sorted(cols))
    return xs, np.array([sed[cols[x]].mean(axis=0) for x in xs]).reshape(len(xs), sed.shape[1])


def column_edges(xs: np.ndarray, columns: np.ndarray, distance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges of the SED columns at path coordinates ``xs`` for a flat pcolormesh, and the columns with empty (NaN)
    ones where no commensurate q lies.

    A column reaches halfway to its neighbours but no further than the typical spacing of the commensurate q along
    the path (the median gap between columns) on either side: a q alone on a segment (one q near L of a
    rhombohedral cell, nothing on L-W-X) stays a narrow column instead of filling the segment, which is left empty
    as the dispersion figure leaves it.

    Returns
    -------
    edges : ndarray (n + 1,)
    columns : ndarray (n, frequency), NaN in the empty ones
    """
    nf = columns.shape[1] if columns.ndim == 2 else 0
    if xs.size == 0:
        return np.array([distance[0], distance[-1]]), np.full((1, nf), np.nan)
    reach = float(np.median(np.diff(xs))) if xs.size > 1 else float(distance[-1] - distance[0])
    mid = 0.5 * (xs[1:] + xs[:-1])
    left = np.maximum(np.concatenate([[distance[0]], mid]), xs - reach)
    right = np.minimum(np.concatenate([mid, [distance[-1]]]), xs + reach)
    edges, cols = [left[0]], []
    for i in range(len(xs)):
        if left[i] > edges[-1] + 1e-12:                     # a gap before this column: an empty one
            cols.append(np.full(nf, np.nan))
            edges.append(left[i])
        cols.append(columns[i])
        edges.append(right[i])
    if distance[-1] > edges[-1] + 1e-12:
        cols.append(np.full(nf, np.nan))
        edges.append(distance[-1])
    if distance[0] < edges[0] - 1e-12:
        cols.insert(0, np.full(nf, np.nan))
        edges.insert(0, distance[0])
    return np.array(edges), np.array(cols)


def plot_sed(ds, path: str | None = None, title: str = "", bands=None, rotations=None, note: str = "", *, ax=None):
    """Spectral energy density S(q, nu) as a heat map along the band path, log colour scale.

    With ``bands`` and ``rotations`` (as :func:`plot_linewidth_dispersion`): every commensurate q whose star
    touches the path is a column at its path coordinate(s) (q-points at the same coordinate averaged), each
    column as wide as the gaps to its neighbours, with the harmonic dispersion drawn over it, the way
    S(q, omega) is read along high-symmetry lines. Without them (files from before the path was stored): q
    sorted by ``|q|`` on the horizontal axis, harmonic frequencies as dots, with ``note`` saying so.

    Parameters
    ----------
    ds : xarray.Dataset
        The spectral energy density of :func:`trajmodes.mode_spectra` (``modes.nc``): ``sed`` on (q-point, frequency
        THz) and ``frequency_harmonic``.
    path : str, optional
        Image file to write, format from its extension (.png, .pdf, .svg); default none: the figure is only returned.
    title : str
        Heading over the figure (the command line's: the run, its temperature, the fit); empty: none.
    bands : xarray.Dataset, optional
        The harmonic band path (:meth:`trajmodes.Phonons.band_structure`; :func:`trajmodes.workflows.path_bands`
        makes it from ``modes.nc``), frequencies in THz, drawn with the data.
    rotations : array_like, optional
        The point-group rotations of the primitive cell (fractional), with ``bands``: each q is placed at the path
        coordinates of its star.
    note : str
        A line printed under the figure (why q is sorted by ``|q|`` where the path is not stored).
    ax : matplotlib.axes.Axes, optional
        Draw into this panel of a figure of your own instead of a new figure.
    """
    from matplotlib.colors import LogNorm
    sed = ds["sed"].values
    H = ds["frequency_harmonic"].values
    f = ds.frequency.values
    df = f[1] - f[0]
    fig, ax = axes_for(ax, 1, 1, (10, 4.6))
    if bands is not None and rotations is not None:
        hits = path_coordinates(ds.qpoint.values, bands, rotations)
        xs, img = sed_columns(sed, hits)
        edges, img = column_edges(xs, img, bands.distance.values)
        img = img.T
        hi_f = max(float(np.nanmax(bands.frequency.values)), float(np.nanmax(np.abs(H))))
    else:
        order = _q_order(ds)
        img = sed[order].T
        edges = np.arange(len(order) + 1) - 0.5
        hi_f = float(np.abs(H).max())
    pos = img[np.isfinite(img) & (img > 0)]
    vmin = max(float(np.percentile(pos, 5)), float(pos.max()) * 1e-6) if pos.size else 1e-12
    vmax = float(pos.max()) if pos.size else 1.0
    if img.size:
        im = ax.pcolormesh(edges, np.append(f, f[-1] + df) - 0.5 * df, np.ma.masked_invalid(np.maximum(img, vmin)),
                           norm=LogNorm(vmin=vmin, vmax=vmax), shading="flat", cmap="magma")
        fig.colorbar(im, ax=ax, label=axis_label("spectral energy density", ds["sed"].attrs.get("units", "eV/THz")))
    top = min(f[-1], 1.15 * hi_f)
    if bands is not None and rotations is not None:
        plot_path(ax, bands, color="c", lw=0.6, alpha=0.8)
        path_axes(ax, bands, 0.0, top, line_color="0.85")
        ax.set(ylabel="frequency (THz)", xlabel="wave vector")
        ax.tick_params(axis="x", length=0)
        off = sum(1 for h in hits if h.size == 0)
        head = (f"{len(hits) - off} of {len(hits)} commensurate q on the path (star images); lines: "
                + reference_name(ds))
    else:
        for ib in range(H.shape[1]):
            ax.plot(np.arange(len(order)), np.abs(H[order, ib]), ".", color="c", ms=1.5)
        ax.set(xlabel="commensurate q (sorted by $|q|$)", ylabel="frequency (THz)")
        head = "dots: " + reference_name(ds)
    ax.set_ylim(0, top)
    ax.set_title((f"spectral energy density: {typeset(title)}\n" if title else "")
                 + head + (f"; {typeset(note)}" if note else ""), fontsize=9)
    return finish(fig, path)
