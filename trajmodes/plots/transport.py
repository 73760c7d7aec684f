"""Figures of the Green-Kubo conductivity from an MD run's heat current."""
from __future__ import annotations

import numpy as np

from trajmodes.plots.figures import KAPPA, KAPPA_OMEGA, KAPPA_UNIT, axes_for, finish, heading, legend_below

__all__ = ["plot_green_kubo", "plot_modal_conductivity", "plot_conductivity_routes"]


def plot_green_kubo(cepstral, integral=None, path: str | None = None, title: str = "", *, ax=None):
    """The periodogram of the heat current with its cepstral fit, kappa against the number of cepstral coefficients
    kept, and the running Green-Kubo integral beside the cepstral kappa.

    Parameters
    ----------
    cepstral : xarray.Dataset
        Of :func:`trajmodes.transport.cepstral.cepstral_conductivity`.
    integral : xarray.Dataset, optional
        Of :func:`trajmodes.transport.cepstral.green_kubo_integral`.
    path : str, optional
        PNG or PDF file to write.
    title : str
        The run and its settings (the command line's: species, temperature, fit), added to the figure's heading after
        what it shows; empty: the heading alone.
    ax : matplotlib.axes.Axes, optional
        Draw into this panel of a figure of your own instead of a new figure.
    """
    n = 3 if integral is not None else 2
    new = ax is None                                  # a figure of its own: it gets a heading
    fig, axes = axes_for(ax, 1, n, (4.3 * n, 3.6))
    k, err, cut = float(cepstral.kappa), float(cepstral.kappa_err), int(cepstral.attrs["cutoff"])
    f = cepstral.frequency.values
    a = axes[0]
    a.semilogy(f, cepstral.psd.values, lw=0.5, color="0.6", label="periodogram (resampled)")
    a.semilogy(f, cepstral.psd_filtered.values, lw=1.5, color="C3", label=f"cepstral fit ($P^*$ = {cut + 1})")
    a.set(xlabel="frequency (THz)", ylabel=r"heat-current spectrum $S(f)$ ((eV Å ps$^{-1}$)$^2$ ps)", xlim=(0, f[-1]))
    a.legend(fontsize=8, frameon=False)
    a.set_title(f"$f^*$ = {cepstral.attrs['fstar_THz']:.3g} THz"
                + (" (chosen: 90 % of the power)" if cepstral.attrs.get("fstar_chosen") else ""), fontsize=9)
    b = axes[1]
    top = min(len(cepstral.coefficient), max(4 * (cut + 1), 20))
    P = np.arange(1, top + 1)
    kc = cepstral.kappa_cutoff.values[:top]
    ke = kc * cepstral.log_s0_err.values[:top]
    b.fill_between(P, kc - ke, kc + ke, color="C0", alpha=0.25, lw=0)
    b.plot(P, kc, color="C0", lw=1.2)
    b.errorbar([cut + 1], [k], yerr=[err], fmt="o", color="C3", ms=4, capsize=3,
               label=f"{KAPPA} = {k:.4g} ± {err:.2g} {KAPPA_UNIT}")
    b.set(xlabel="cepstral coefficients kept, $P$", ylabel=f"{KAPPA} ({KAPPA_UNIT})")
    b.legend(fontsize=8, frameon=False)
    b.set_title("Akaike's choice " + ("overridden" if cepstral.attrs.get("cutoff_given") else
                                      f"$P^*$ = {int(cepstral.attrs['aic_minimum']) + 1}"), fontsize=9)
    if integral is not None:
        c = axes[2]
        t = integral.time.values
        alone = " of the heat current alone" if cepstral.attrs.get("n_currents", 1) > 1 else ""
        c.plot(t, integral.kappa_mean.values, color="C0", lw=1, label=f"running integral{alone} (mean of the diagonal)")
        c.axhspan(k - err, k + err, color="C3", alpha=0.2, lw=0)
        c.axhline(k, color="C3", lw=1, label="cepstral")
        c.set(xlabel="integration time (ps)", ylabel=f"{KAPPA} ({KAPPA_UNIT})", xlim=(0, t[-1]))
        c.legend(fontsize=8, frameon=False)
    if title or new:
        fig.suptitle(heading("Green-Kubo thermal conductivity from the heat current (cepstral analysis)", title, fig),
                     fontsize=9)
    return finish(fig, path, dpi=120)


def plot_modal_conductivity(modal, path: str | None = None, title: str = "", *, ax=None):
    """The Green-Kubo modal analysis of a run: each mode's share of the conductivity against its frequency, by branch,
    and the spectrum kappa(omega) with its running sum, which ends at the total.

    Parameters
    ----------
    modal : xarray.Dataset
        Of :func:`trajmodes.transport.decomposition.modal_conductivity`.
    path : str, optional
        PNG or PDF file to write.
    title : str
        The run and its settings (the command line's: species, temperature, fit), added to the figure's heading after
        what it shows; empty: the heading alone.
    ax : matplotlib.axes.Axes, optional
        Draw into this panel of a figure of your own instead of a new figure.
    """
    new = ax is None                                  # a figure of its own: it gets a heading
    fig, axes = axes_for(ax, 1, 2, (9.0, 3.6))
    mean = np.einsum("qsaa->qs", modal.kappa_mode.values) / 3.0
    freq = modal.frequency.values
    a = axes[0]
    for s in range(freq.shape[1]):
        a.plot(freq[:, s], mean[:, s], "o", ms=3, alpha=0.7, label=f"branch {s + 1}" if freq.shape[1] <= 6 else None)
    a.axhline(0, color="0.5", lw=0.5)
    a.set(xlabel="frequency (THz)", ylabel=f"{KAPPA} of the mode ({KAPPA_UNIT})")
    a.set_title(f"{freq.size} modes, their shares sum to {np.trace(modal.kappa.values) / 3:.4g} {KAPPA_UNIT}",
                fontsize=9)
    if freq.shape[1] <= 6:
        a.legend(fontsize=8, frameon=False)
    b = axes[1]
    centre, spec = modal.frequency_bin.values, modal.kappa_spectrum.values
    width = float(centre[1] - centre[0]) if len(centre) > 1 else 1.0
    b.bar(centre, spec, width=0.9 * width, color="C0", alpha=0.6, label=KAPPA_OMEGA)
    b.set(xlabel="frequency (THz)", ylabel=f"{KAPPA_OMEGA} ({KAPPA_UNIT} THz$^{{-1}}$)")
    c = b.twinx()
    c.plot(centre + width / 2, np.cumsum(spec) * width, color="C3", lw=1.5, label="running sum")
    c.axhline(np.trace(modal.kappa_green_kubo.values) / 3, color="C3", lw=0.8, ls="--",
              label="Green-Kubo integral of the total")
    c.set_ylabel(f"running sum ({KAPPA_UNIT})", color="C3")
    lines = b.get_legend_handles_labels()
    more = c.get_legend_handles_labels()
    legend_below(fig, b, lines[0] + more[0], lines[1] + more[1], fontsize=8)
    b.set_title(rf"$\tau$ = {modal.attrs['tau_ps']:g} ps (Lv and Henry, New J. Phys. 18, 013028 (2016))", fontsize=9)
    if title or new:
        fig.suptitle(heading("Green-Kubo modal analysis: the conductivity by mode and by frequency", title, fig),
                     fontsize=9)
    return finish(fig, path, dpi=120)


def plot_conductivity_routes(modal=None, converged=None, md_grid=None, kappa: float | None = None,
                             kappa_err: float | None = None, path: str | None = None, title: str = "", *, ax=None,
                             lifetimes=None, spectral=None, four_phonon=None):
    """The conductivity of one run by its routes, side by side: kappa(omega) and its running sum from the Green-Kubo
    modal analysis, the spectral decomposition by the velocities' frequency, the Boltzmann equation of the same
    constants (converged mesh; the MD supercell's grid) and the run's own mode lifetimes, each where given, with the
    cepstral Green-Kubo kappa and its error bar.

    Parameters
    ----------
    modal : xarray.Dataset, optional
        Of :func:`trajmodes.transport.decomposition.modal_conductivity`.
    converged, md_grid : xarray.Dataset, optional
        Of :meth:`trajmodes.phonons.anharmonic.anharmonic.Anharmonic.thermal_conductivity` (one temperature), on the
        converged mesh and on the MD grid.
    kappa, kappa_err : float, optional
        W/(m K): the cepstral Green-Kubo conductivity and its standard error.
    path : str, optional
        PNG or PDF file to write.
    lifetimes : xarray.Dataset, optional
        Of :func:`trajmodes.modes.conductivity.conductivity_from_lifetimes`: the run's own mode lifetimes.
    spectral : xarray.Dataset, optional
        Of :func:`trajmodes.transport.decomposition.spectral_conductivity`.
    four_phonon : xarray.Dataset, optional
        The converged mesh's conductivity with four-phonon scattering (as ``converged``).
    title : str
        The run and its settings (the command line's: species, temperature, fit), added to the figure's heading after
        what it shows; empty: the heading alone.
    ax : matplotlib.axes.Axes, optional
        Draw into this panel of a figure of your own instead of a new figure.
    """
    from trajmodes.transport.decomposition import frequency_spectrum
    new = ax is None                                  # a figure of its own: it gets a heading
    fig, axes = axes_for(ax, 1, 2, (9.5, 4.6))
    by_mode = []                                      # (label, mode frequencies, shares, colour)
    if modal is not None:
        by_mode.append(("Green-Kubo, modal analysis", modal.frequency.values,
                        np.einsum("qsaa->qs", modal.kappa_mode.values) / 3.0, "C0"))
    for label, ds, colour in (("Boltzmann (RTA), converged mesh", converged, "C3"),
                              ("Boltzmann (RTA), + four-phonon", four_phonon, "C5"),
                              ("Boltzmann (RTA), the MD grid", md_grid, "C2")):
        if ds is not None:
            by_mode.append((label, ds["frequency_harmonic"].values,
                            np.einsum("qsaa->qs", ds["mode_kappa"].values[0]) / 3.0, colour))
    if lifetimes is not None:
        by_mode.append((f"mode lifetimes of the run ({100 * float(lifetimes.missing_share):.0f} % without)",
                        lifetimes["frequency_harmonic"].values,
                        np.nan_to_num(np.einsum("qsaa->qs", lifetimes["mode_kappa"].values) / 3.0), "C1"))
    curves = []                                       # (label, edges, kappa(omega), colour)
    if by_mode:
        top = max(float(np.max(f)) for _, f, _, _ in by_mode) * (1 + 1e-9)
        edges = modal.frequency_edge.values if modal is not None else np.linspace(0.0, top, 31)
        if top > edges[-1]:
            edges = np.append(edges[edges < top], top)
        curves += [(label, edges, frequency_spectrum(f, k, edges), colour) for label, f, k, colour in by_mode]
    if spectral is not None:
        curves.append(("Green-Kubo, by the velocities' frequency", spectral.frequency_edge.values,
                       spectral.kappa_spectrum.values, "C4"))
    shown = max(e[-2] if label.startswith("Green-Kubo, by") else e[-1] for label, e, _, _ in curves)
    a, b = axes
    for label, edges, spec, colour in curves:
        a.step(edges, np.append(spec, spec[-1]), where="post", color=colour, lw=1.2, label=label)
        b.plot(edges, np.concatenate([[0.0], np.cumsum(spec * np.diff(edges))]), color=colour, lw=1.5, label=label)
    if kappa is not None and np.isfinite(kappa):
        err = 0.0 if kappa_err is None else float(kappa_err)
        b.axhspan(kappa - err, kappa + err, color="0.5", alpha=0.25, lw=0)
        b.axhline(kappa, color="0.3", lw=1, ls="--",
                  label=f"Green-Kubo, cepstral: {KAPPA} = {kappa:.3g} ± {err:.2g} {KAPPA_UNIT}")
    a.axhline(0, color="0.5", lw=0.5)
    a.set(xlabel="frequency (THz)", ylabel=f"{KAPPA_OMEGA} ({KAPPA_UNIT} THz$^{{-1}}$)", xlim=(0, shown))
    b.set(xlabel="frequency (THz)", ylabel=f"running sum of {KAPPA_OMEGA} ({KAPPA_UNIT})", xlim=(0, shown))
    a.set_title(f"spectrum {KAPPA_OMEGA}: where the heat goes, by route", fontsize=9)
    b.set_title("its running sum (classical occupations, as in the MD run)", fontsize=9)
    legend_below(fig, b)             # one legend for both panels (the same routes, the same colours), below them
    if title or new:
        fig.suptitle(heading(f"thermal conductivity of the run by route: {KAPPA_OMEGA} and its running sum", title,
                             fig), fontsize=9)
    return finish(fig, path, dpi=120)
