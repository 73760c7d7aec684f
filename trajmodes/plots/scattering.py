"""Figures of the dynamic structure factor: S(q, omega) and the current correlations along a band path as intensity
maps (log scale) with the dispersion drawn over them, and the powder average ``S(|Q|, omega)``."""
from __future__ import annotations

import numpy as np

from trajmodes.lattice.paths import path_coordinates
from trajmodes.plots.figures import axes_for, axis_label, finish, heading, path_axes, plot_path, typeset
from trajmodes.plots.modes import column_edges, sed_columns

__all__ = ["plot_sqw_path", "plot_currents_path", "plot_sqw_powder"]

_NAMES = {"Sqw_coh": r"coherent $S(\mathbf{q}, \omega)$", "Sqw_incoh": r"incoherent $S(\mathbf{q}, \omega)$",
          "Clqw": r"longitudinal current correlation $C_L(\mathbf{q}, \omega)$",
          "Ctqw": r"transverse current correlation $C_T(\mathbf{q}, \omega)$"}
#: the same, short, for colour bars
_SHORT = {"Sqw_coh": r"$S(\mathbf{q}, \omega)$", "Sqw_incoh": r"$S_\mathrm{inc}(\mathbf{q}, \omega)$",
          "Clqw": r"$C_L(\mathbf{q}, \omega)$", "Ctqw": r"$C_T(\mathbf{q}, \omega)$"}
_POWDER = {"Sqw_coh": r"$S(|\mathbf{Q}|, \omega)$", "Sqw_incoh": r"$S_\mathrm{inc}(|\mathbf{Q}|, \omega)$",
           "Clqw": r"$C_L(|\mathbf{Q}|, \omega)$", "Ctqw": r"$C_T(|\mathbf{Q}|, \omega)$"}


def _own_path(ds):
    """A band-path stand-in (distance, ticks) from the ``path_distance`` the q-points of ``ds`` were taken at."""
    import xarray as xr
    d = np.asarray(ds["path_distance"].values, float)
    return xr.Dataset(coords={"distance": ("q", d)},
                      attrs={"tick_distance": np.atleast_1d(ds.attrs.get("path_tick_distance", [d[0], d[-1]])),
                             "tick_labels": str(ds.attrs.get("path_tick_labels", ",")).split(",")})


def _log_limits(img):
    pos = img[np.isfinite(img) & (img > 0)]
    if not pos.size:
        return 1e-12, 1.0
    vmax = float(pos.max())
    return max(float(np.percentile(pos, 5)), vmax * 1e-5), vmax


def _map(ax, ds, variable: str, bands, rotations, fig, max_frequency=None) -> str:
    """One intensity map of ``variable`` (q, omega) along the path on ``ax``; returns the title's note."""
    from matplotlib.colors import LogNorm
    values = np.asarray(ds[variable].values, float)
    f = np.asarray(ds["frequency"].values, float)
    df = f[1] - f[0]
    if bands is not None and rotations is not None:
        hits = path_coordinates(ds["qpoint"].values, bands, rotations)
        axis, note = bands, "lines: dispersion of the force constants"
    else:
        hits = [np.array([x]) for x in ds["path_distance"].values]
        axis, note = _own_path(ds), ""
    xs, cols = sed_columns(values, hits)
    edges, img = column_edges(xs, cols, axis.distance.values)
    img = img.T
    top = f[-1] if max_frequency is None else min(f[-1], max_frequency)
    bragg = np.asarray(ds["q_norm"].values) < 1e-9                  # Gamma: the Bragg peak, N times the rest
    shown = values[~bragg] if (~bragg).any() else values
    vmin, vmax = _log_limits(shown[:, (f > 0.02 * top) & (f <= top)] if shown.shape[1] > 2 else shown)
    im = ax.pcolormesh(edges, np.append(f, f[-1] + df) - 0.5 * df, np.ma.masked_invalid(np.clip(img, vmin, vmax)),
                       norm=LogNorm(vmin=vmin, vmax=vmax), shading="flat", cmap="magma")
    fig.colorbar(im, ax=ax, label=axis_label(_SHORT.get(variable, variable), ds[variable].attrs.get("units", "")))
    if axis is bands:
        plot_path(ax, bands, color="c", lw=0.7, alpha=0.85)
    path_axes(ax, axis, 0.0, top, line_color="0.85")
    ax.set_ylim(0, top)
    ax.set(ylabel="frequency (THz)", xlabel="wave vector")
    ax.tick_params(axis="x", length=0)
    off = sum(1 for h in hits if h.size == 0)
    note += ("; " if note else "") + r"colour scale without Γ (Bragg peak) and $\omega$ = 0" if bragg.any() else ""
    return note + (f"; {off} q off the path, not drawn" if off else "")


def _top(ds, bands, factor: float = 1.3):
    """The highest frequency worth showing: above the dispersion, or where the inelastic S (above the elastic
    bins, where Bragg peaks sit) has fallen below 1e-3 of its largest value."""
    if bands is not None:
        return factor * float(np.nanmax(bands.frequency.values))
    f = ds["frequency"].values
    if "Sqw_coh" not in ds:
        return float(f[-1])
    inelastic = f > 0.03 * f[-1]
    s = np.abs(np.asarray(ds["Sqw_coh"].values))[:, inelastic].max(axis=0)
    if not np.any(s > 0):
        return float(f[-1])
    above = np.flatnonzero(s > 1e-3 * s.max())
    return float(min(f[-1], factor * f[inelastic][above[-1]]))


def plot_sqw_path(ds, path: str | None = None, title: str = "", variable: str = "Sqw_coh", bands=None,
                  rotations=None, *, ax=None):
    """S(q, omega) along a band path as an intensity map (log colour scale), frequency in THz.

    ``ds`` is a :func:`trajmodes.dynamic_structure_factor` dataset on the q of
    :func:`trajmodes.modes.scattering_qpoints.path_qpoints`, with their ``path_distance`` (q) coordinate and
    ``path_tick_distance`` / ``path_tick_labels`` attributes. With ``bands`` (a
    :meth:`trajmodes.Phonons.band_structure` path) and ``rotations`` (the primitive cell's, fractional), every q is a
    column at the path coordinates of its star (:func:`trajmodes.lattice.paths.path_coordinates`) and the dispersion
    is drawn over the map, as :func:`trajmodes.plots.plot_sed` does; otherwise the q sit at their own path distance.

    Parameters
    ----------
    ds : xarray.Dataset
        S(q, omega) on q-points (:func:`trajmodes.dynamic_structure_factor`), frequency in THz.
    path : str, optional
        Image file to write, format from its extension (.png, .pdf, .svg); default none: the figure is only returned.
    title : str
        Heading over the figure (the command line's: the run, its temperature, the fit); empty: none.
    variable : str
        The variable of ``ds`` drawn: ``"Sqw_coh"`` (coherent S(q, omega), default), ``"Sqw_incoh"`` (incoherent) or
        another of the same dimensions (``"Clqw"``, ``"Ctqw"``: the current spectra).
    bands : xarray.Dataset, optional
        The harmonic band path (:meth:`trajmodes.Phonons.band_structure`; :func:`trajmodes.workflows.path_bands`
        makes it from ``modes.nc``), frequencies in THz, drawn with the data.
    rotations : array_like, optional
        The point-group rotations of the primitive cell (fractional), with ``bands``: each q is placed at the path
        coordinates of its star.
    ax : matplotlib.axes.Axes, optional
        Draw into this panel of a figure of your own instead of a new figure.
    """
    fig, ax = axes_for(ax, 1, 1, (9.5, 4.6))
    note = _map(ax, ds, variable, bands, rotations, fig, _top(ds, bands))
    ax.set_title((typeset(title) + "\n" if title else "") + _NAMES.get(variable, variable) + " along the path"
                 + (f"; {note}" if note else ""), fontsize=9)
    return finish(fig, path)


def plot_currents_path(ds, path: str | None = None, title: str = "", bands=None, rotations=None, *, ax=None):
    """The longitudinal and transverse current correlations C_L(q, omega), C_T(q, omega) along the path, two maps
    (as :func:`plot_sqw_path`).

    Parameters
    ----------
    ds : xarray.Dataset
        The current correlation spectra (longitudinal and transverse) on q-points of
        :func:`trajmodes.dynamic_structure_factor`, frequency in THz.
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
    ax : matplotlib.axes.Axes, optional
        Draw into this panel of a figure of your own instead of a new figure.
    """
    new = ax is None                                  # a figure of its own: it gets a heading
    fig, axes = axes_for(ax, 2, 1, (9.5, 8.0))
    top = _top(ds, bands)
    for a, name in zip(axes, ("Clqw", "Ctqw")):
        note = _map(a, ds, name, bands, rotations, fig, top)
        a.set_title(_NAMES[name] + (f"; {note}" if note else ""), fontsize=9)
    head = "current correlations along the path"
    if title or new:
        fig.suptitle(heading(head, title, fig, 9), fontsize=9)
    return finish(fig, path)


def plot_sqw_powder(ds, path: str | None = None, title: str = "", variable: str = "Sqw_coh", *, ax=None):
    """The powder (``|Q|`` shell) average ``S(|Q|, omega)`` as an intensity map (log colour scale), ``|Q|`` in Å⁻¹
    (rad/Å).

    ``ds`` is the output of :func:`trajmodes.modes.scattering_qpoints.shell_average` (variables over ``q_norm``,
    the shell centres, with ``n_qpoints`` per shell).

    Parameters
    ----------
    ds : xarray.Dataset
        The shell average of :func:`trajmodes.modes.scattering_qpoints.shell_average` (``|Q|`` in Å⁻¹).
    path : str, optional
        Image file to write, format from its extension (.png, .pdf, .svg); default none: the figure is only returned.
    title : str
        Heading over the figure (the command line's: the run, its temperature, the fit); empty: none.
    variable : str
        The variable of ``ds`` drawn: ``"Sqw_coh"`` (coherent S(q, omega), default), ``"Sqw_incoh"`` (incoherent) or
        another of the same dimensions (``"Clqw"``, ``"Ctqw"``: the current spectra).
    ax : matplotlib.axes.Axes, optional
        Draw into this panel of a figure of your own instead of a new figure.
    """
    from matplotlib.colors import LogNorm
    fig, ax = axes_for(ax, 1, 1, (8.0, 4.8))
    qn = np.asarray(ds["q_norm"].values, float)
    f = np.asarray(ds["frequency"].values, float)
    df = f[1] - f[0]
    values = np.asarray(ds[variable].values, float)
    img = values.T
    top = _top(ds, None)
    edges = np.concatenate([[qn[0] - 0.5 * (qn[1] - qn[0]) if len(qn) > 1 else qn[0] - 0.5],
                            0.5 * (qn[1:] + qn[:-1]),
                            [qn[-1] + 0.5 * (qn[-1] - qn[-2]) if len(qn) > 1 else qn[0] + 0.5]])
    vmin, vmax = _log_limits(values[:, (f > 0.02 * top) & (f <= top)])      # without the elastic (Bragg) bins
    im = ax.pcolormesh(edges, np.append(f, f[-1] + df) - 0.5 * df, np.ma.masked_invalid(np.clip(img, vmin, vmax)),
                       norm=LogNorm(vmin=vmin, vmax=vmax), shading="flat", cmap="magma")
    fig.colorbar(im, ax=ax, label=axis_label(_POWDER.get(variable, variable), ds[variable].attrs.get("units", "")))
    ax.set_ylim(0, top)
    ax.set(xlabel=r"$|\mathbf{Q}|$ (Å$^{-1}$)", ylabel="frequency (THz)")
    n = np.asarray(ds["n_qpoints"].values) if "n_qpoints" in ds.coords else None
    head = "powder average " + _POWDER.get(variable, variable)
    if n is not None:
        each = f"{int(n.min())}" if n.min() == n.max() else f"{int(n.min())}–{int(n.max())}"
        head += rf" over {len(qn)} $|\mathbf{{Q}}|$ shells ({each} q each); colour scale without $\omega$ = 0"
    ax.set_title((typeset(title) + "\n" if title else "") + head, fontsize=9)
    return finish(fig, path)
