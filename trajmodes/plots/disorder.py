"""Figures of disordered solids: a mass-disordered run's linewidths beside the exact and lowest-order ones, and a
glass's diffusivities, participation ratios and conductivity."""
from __future__ import annotations

import numpy as np

from trajmodes.plots.figures import KAPPA, KAPPA_UNIT, axes_for, axis_label, finish, heading, typeset

__all__ = ["plot_lineshape_widths", "plot_glass"]


def plot_lineshape_widths(ds, path: str | None = None, title: str = "", *, ax=None):
    """Linewidths (FWHM) against the virtual crystal's frequency: the run's with their error bars, the sample's exact
    harmonic lines fitted the same way, and Tamura's lowest order; beside them the partial densities of states.

    Parameters
    ----------
    ds : xarray.Dataset
        Of :func:`trajmodes.workflows.mass_disorder_lineshapes` (``frequency_vca``, ``md_fwhm``, ``md_fwhm_err``,
        ``exact_fwhm``, ``lineshape_rms_width``, ``tamura_fwhm``, ``partial_dos``).
    path : str, optional
        PNG or PDF file to write.
    title : str
        The run and its settings (the command line's: species, temperature, fit), added to the figure's heading after
        what it shows; empty: the heading alone.
    ax : matplotlib.axes.Axes, optional
        Draw into this panel of a figure of your own instead of a new figure.
    """
    new = ax is None                                  # a figure of its own: it gets a heading
    fig, axes = axes_for(ax, 1, 2, (10.5, 4.0))
    nu = ds.frequency_vca.values.ravel()
    moving = nu > 1e-3
    a = axes[0]
    md, err = ds.md_fwhm.values.ravel(), ds.md_fwhm_err.values.ravel()
    ok = moving & np.isfinite(md)
    a.errorbar(nu[ok], md[ok], yerr=err[ok], fmt="o", ms=3.5, color="C0", ecolor="C0", elinewidth=0.6, alpha=0.8,
               label="MD run (fitted)")
    exact = ds.exact_fwhm.values.ravel()
    if np.isfinite(exact[moving]).any():
        a.plot(nu[moving], exact[moving], "s", ms=5, mfc="none", color="C3",
               label="exact harmonic lines (same window, fitted)")
    else:
        rms = ds.lineshape_rms_width.values.ravel()
        a.plot(nu[moving], 2.3548 * rms[moving], "s", ms=5, mfc="none", color="C3",
               label="kernel polynomial lines (2.355 × rms width)")
    a.plot(nu[moving], ds.tamura_fwhm.values.ravel()[moving], "x", ms=6, color="k", label="Tamura (lowest order)")
    a.set(xlabel="virtual-crystal frequency (THz)", ylabel="FWHM (THz)", ylim=(0, None))
    a.axhline(float(ds.attrs.get("resolution", 0.0)), color="0.6", lw=0.8, ls=":", label="spectral resolution")
    a.legend(fontsize=8, frameon=False)
    a.set_title(f"linewidths: {ds.attrs.get('n_atoms', '')} atoms, {float(ds.attrs.get('temperature', np.nan)):.3g} K, "
                f"$g_2$ = {', '.join(f'{g:.3g}' for g in np.atleast_1d(ds.site_g2.values))}", fontsize=9)
    b = axes[1]
    f = ds.dos_frequency.values
    for i, g in enumerate(ds.group.values):
        b.plot(f, ds.partial_dos.values[i], lw=1.2, label=f"{g} ({int(ds.group_atoms.values[i])} atoms)")
    b.set(xlabel="frequency (THz)", ylabel="partial DOS (THz$^{-1}$ per atom)", xlim=(0, f[-1]), ylim=(0, None))
    b.legend(fontsize=8, frameon=False)
    b.set_title("partial densities of states (kernel polynomial method)", fontsize=9)
    head = "mass disorder: the run's linewidths beside the exact and lowest-order ones"
    if title or new:
        fig.suptitle(typeset(title) if title else head, fontsize=10)
    return finish(fig, path)


def plot_glass(ds, path: str | None = None, title: str = "", *, ax=None):
    """A glass's Allen-Feldman diffusivity and participation ratio against frequency and its conductivity against
    temperature (dense route), or the kernel polynomial D(nu) and density of states (with a window's modes on them).

    Parameters
    ----------
    ds : xarray.Dataset
        Of :func:`trajmodes.workflows.glass_transport`.
    path : str, optional
        PNG or PDF file to write.
    title : str
        The run and its settings (the command line's: species, temperature, fit), added to the figure's heading after
        what it shows; empty: the heading alone.
    ax : matplotlib.axes.Axes, optional
        Draw into this panel of a figure of your own instead of a new figure.
    """
    new = ax is None                                  # a figure of its own: it gets a heading
    fig, axes = axes_for(ax, 1, 3, (13.5, 3.9))
    a, b, c = axes
    have_modes = "diffusivity" in ds
    if "kpm_diffusivity" in ds:
        f = ds.kpm_frequency.values
        a.plot(f, ds.kpm_diffusivity.values, color="C1", lw=1.3,
               label=rf"kernel polynomial $D(\nu)$ ({ds.attrs.get('kpm_moments', '')} moments)")
    if have_modes:
        ok = ds.physical.values
        a.plot(ds.frequency.values[ok], ds.diffusivity.values[ok], "o", ms=2.5, color="C0", alpha=0.7,
               label="Allen-Feldman, per mode")
        b.plot(ds.frequency.values[ok], ds.participation_ratio.values[ok], "o", ms=2.5, color="C2", alpha=0.7)
    a.set(xlabel="frequency (THz)", ylabel=axis_label("diffusivity $D$", "mm^2/s"), ylim=(0, None))
    a.legend(fontsize=8, frameon=False)
    width = ds.attrs.get("width")
    a.set_title(f"{ds.attrs.get('n_atoms', '')} atoms, route {ds.attrs.get('route', '')}"
                + (f", {ds.attrs.get('shape', '')} {float(width):.3g} THz" if width is not None else ""), fontsize=9)
    b.set(xlabel="frequency (THz)", ylabel="participation ratio", ylim=(0, 1.05))
    if not have_modes:
        b.text(0.5, 0.5, "no modes on the kernel polynomial route\n(give a frequency window)", ha="center",
               va="center", transform=b.transAxes, fontsize=9, color="0.4")
    if "conductivity" in ds:
        c.plot(ds.temperature.values, ds.conductivity.values, "o-" if ds.sizes["temperature"] < 20 else "-",
               color="C3", lw=1.5, ms=4)
        c.set(xlabel="temperature (K)", ylabel=f"{KAPPA} ({KAPPA_UNIT})", ylim=(0, None))
        c.set_title(f"Allen-Feldman, {ds.attrs.get('occupation', '')} heat capacities", fontsize=9)
    elif "kpm_dos" in ds:
        c.plot(ds.kpm_frequency.values, ds.kpm_dos.values, color="0.3", lw=1.2)
        top = np.nanpercentile(ds.kpm_dos.values, 98)
        c.set(xlabel="frequency (THz)", ylabel="density of states (THz$^{-1}$)", ylim=(0, 1.2 * top))
        c.set_title("kernel polynomial density of states", fontsize=9)
    head = "heat transport in a glass: Allen-Feldman diffusivities"
    if title or new:
        fig.suptitle(heading(head, title, fig, 10), fontsize=10)
    return finish(fig, path)
