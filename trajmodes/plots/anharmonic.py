"""Figures of three-phonon results: linewidths and lifetimes against frequency, conductivity against
temperature."""
from __future__ import annotations

import numpy as np

from trajmodes.plots.figures import KAPPA, KAPPA_UNIT, axes_for, finish, heading, mesh_text, typeset

__all__ = ["plot_three_phonon", "plot_comparison"]


def plot_three_phonon(ds, path: str | None = None, title: str = "", *, ax=None):
    """Linewidth (FWHM) and lifetime of every mode of the irreducible q against its harmonic frequency, one
    colour per temperature, and, with ``kappa`` in ``ds``, the conductivity (diagonal) against temperature.

    Parameters
    ----------
    ds : xarray.Dataset
        The dataset of ``trajmodes anharmonic`` (``anharmonic.nc``, :func:`trajmodes.workflows.three_phonon`):
        frequencies and linewidths in THz over temperature (K), ``kappa`` in W/(m K) where it was computed.
    path : str, optional
        Image file to write, format from its extension (.png, .pdf, .svg); default none: the figure is only returned.
    title : str
        Heading over the figure (the command line's: the run, its temperature, the fit); empty: none.
    ax : matplotlib.axes.Axes, optional
        Draw into this panel of a figure of your own instead of a new figure.
    """
    has_kappa = "kappa" in ds
    new = ax is None                                  # a figure of its own: it gets a heading
    fig, axes = axes_for(ax, 1, 3 if has_kappa else 2, (13.5 if has_kappa else 9.5, 4.0))
    f = ds["frequency_harmonic"].values.ravel()
    T = ds["temperature"].values
    colors = [f"C{i % 10}" for i in range(len(T))]
    for i, t in enumerate(T):
        lw = ds["linewidth"].values[i].ravel()
        tau = ds["lifetime"].values[i].ravel()
        ok = (lw > 0) & (f > 1e-3)
        axes[0].scatter(f[ok], lw[ok], s=7, color=colors[i], label=f"{t:.4g} K")
        axes[1].scatter(f[ok], tau[ok], s=7, color=colors[i], label=f"{t:.4g} K")
        if "gamma_four_phonon" in ds:                      # its part of the width, open markers
            lw4 = 2 * ds["gamma_four_phonon"].values[i].ravel()
            k4 = ok & (lw4 > 0)
            axes[0].scatter(f[k4], lw4[k4], s=12, facecolors="none", edgecolors=colors[i],
                            label=f"{t:.4g} K, four-phonon part")
    xlabel = _frequency_label(ds.attrs.get("constants", ""))
    for ax, name in ((axes[0], "linewidth, FWHM (THz)"),
                     (axes[1], r"lifetime $\tau = 1 / (2\pi\,\mathrm{FWHM})$ (ps)")):
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(name)
        ax.legend(fontsize=8, loc="best")
    mesh = mesh_text(ds.attrs.get("mesh"))
    orders = "three- and four-phonon" if "gamma_four_phonon" in ds else "three-phonon"
    axes[0].set_title(f"{orders} linewidths ({ds.attrs.get('method', '')}, {ds.attrs.get('occupation', '')} "
                      f"occupations, {mesh} mesh)", fontsize=9)
    if has_kappa:
        k = ds["kappa"].values
        ax = axes[2]
        rta = ds["kappa_rta"].values if "kappa_rta" in ds else None
        for a, lab in enumerate(("xx", "yy", "zz")):
            # each component its own line style and marker (filled large, open middle, small), so that equal
            # components (kappa_xx = kappa_yy of a tetragonal or hexagonal crystal, all three of a cubic one) all show
            style = KAPPA_STYLES[a]
            marker = style["marker"] if len(T) < 30 else None
            same = [b for b in equal_components(k, a) if b < a]
            name = rf"$\kappa_{{{lab}}}$" + (rf" (= $\kappa_{{{('xx', 'yy', 'zz')[same[0]]}}}$)" if same else "")
            ax.plot(T, k[:, a, a], ls=style["ls"], marker=marker, ms=style["ms"], mfc=style["mfc"] or f"C{a}",
                    mec=f"C{a}", color=f"C{a}", lw=1.4, label=name)
            if rta is not None:
                ax.plot(T, rta[:, a, a], ls=":", marker=marker, ms=style["ms"] - 1, mfc="none", mec=f"C{a}",
                        color=f"C{a}", alpha=0.6, label=rf"$\kappa_{{{lab}}}$ (RTA)")
        ax.set_xlabel("temperature (K)")
        ax.set_ylabel(f"{KAPPA}, {ds.attrs.get('kappa_method', 'rta').upper()} ({KAPPA_UNIT})")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
    head = f"{orders} scattering of the harmonic modes"
    if title or new:
        fig.suptitle(heading(head, title, fig, 10), fontsize=10)
    return finish(fig, path)


#: the diagonal components' styles in the conductivity panel: line style, marker, its size and face (None: filled)
KAPPA_STYLES = (dict(ls="-", marker="o", ms=7, mfc=None), dict(ls="--", marker="s", ms=5, mfc="none"),
                dict(ls="-.", marker="^", ms=3.5, mfc=None))


def equal_components(kappa, a: int, rtol: float = 1e-6) -> tuple:
    """The other diagonal components of ``kappa`` (temperature, 3, 3) equal to component ``a`` at every temperature
    (within ``rtol``), for the legend: "(= kappa_xx)" says why one line lies on another."""
    k = np.asarray(kappa, float)
    d = k[:, a, a]
    atol = 1e-12 * max(1.0, float(np.abs(d).max()))
    return tuple(b for b in range(3) if b != a and np.allclose(k[:, b, b], d, rtol=rtol, atol=atol))


def _frequency_label(constants: str) -> str:
    """The frequency axis of a figure of these constants: effective (fitted at T), static (0 K) or plain harmonic."""
    return {"effective": "effective frequency (THz)", "static": "0 K harmonic frequency (THz)"}.get(
        str(constants), "harmonic frequency (THz)")


def _lineshape_range(ds, picked) -> tuple[float, float]:
    """The frequency range (THz) of the lineshape panel: every drawn MD line 4 FWHM either side of its peak maximum,
    the three-phonon lines to where they have fallen to 2 % of their maximum, within the frequencies computed."""
    w = ds["pt_frequency"].values
    lo, top = np.inf, 0.0
    for iq, ib in picked:
        f0 = float(ds["frequency_harmonic"].values[iq, ib])
        peak, fwhm = float(ds["md_frequency"].values[iq, ib]), float(ds["md_fwhm"].values[iq, ib])
        lo, top = min(lo, 0.9 * f0), max(top, 1.1 * f0)
        if np.isfinite(peak) and np.isfinite(fwhm):
            lo, top = min(lo, peak - 4 * fwhm), max(top, peak + 4 * fwhm)
        ptl = ds["pt_lineshape"].values[iq, ib]
        if np.nanmax(ptl) > 0:
            seen = w[np.flatnonzero(ptl > 0.02 * np.nanmax(ptl))]
            lo, top = min(lo, float(seen.min())), max(top, float(seen.max()))
    if "frequency" in ds.coords:
        top = min(top, float(ds["frequency"].values.max()))
    return max(0.0, lo if np.isfinite(lo) else 0.0), min(top, float(w.max()))


def _shift_range(*compared) -> tuple[float, float]:
    """The shift panel's range (THz): the shifts compared (MD peaks and centres, the prediction) and zero, with a
    margin of 15 % of their span (at least 0.05 THz)."""
    x = np.concatenate([np.ravel(c) for c in compared] + [np.zeros(1)])
    x = x[np.isfinite(x)]
    lo, hi = float(x.min()), float(x.max())
    pad = max(0.15 * (hi - lo), 0.05)
    return lo - pad, hi + pad


def _plot_within(ax, f, y, lo, hi, marker, color, label, what) -> str:
    """Draw the shifts ``y`` at ``f`` inside [lo, hi]; those beyond at the edge (a red marker pointing out of the
    panel). Returns the words that say how many lie beyond and how far, or "" when none does."""
    out_hi, out_lo = np.isfinite(y) & (y > hi), np.isfinite(y) & (y < lo)
    inside = ~(out_hi | out_lo)
    ax.plot(f[inside], y[inside], marker, ms=3, color=color, mfc="none" if marker == "^" else color, label=label)
    if out_hi.any():
        ax.plot(f[out_hi], np.full(int(out_hi.sum()), hi), "^", ms=5, color="red", clip_on=False)
    if out_lo.any():
        ax.plot(f[out_lo], np.full(int(out_lo.sum()), lo), "v", ms=5, color="red", clip_on=False)
    n = int((out_hi | out_lo).sum())
    if not n:
        return ""
    far = y[out_hi | out_lo]
    return (f"{n} {what} beyond the panel (red, at its edge): {float(far.min()):+.3g} to {float(far.max()):+.3g} THz"
            if n > 1 else f"1 of the {what} beyond the panel (red, at its edge): {float(far[0]):+.3g} THz")


def _pick_modes(ds, n: int = 4) -> list[tuple[int, int]]:
    """A few modes worth a lineshape panel: compared ones spread over the frequency range."""
    ok = np.isfinite(ds["fwhm_ratio"].values)
    if not ok.any():
        return []
    f = np.where(ok, ds["frequency_harmonic"].values, np.nan)
    targets = np.nanquantile(f, np.linspace(0.2, 1.0, n))
    picked = []
    for t in targets:
        iq, ib = np.unravel_index(np.nanargmin(np.abs(f - t)), f.shape)
        if (iq, ib) not in picked:
            picked.append((int(iq), int(ib)))
    return picked


def plot_comparison(ds, path: str | None = None, title: str = "", *, ax=None):
    """MD against three-phonon theory (:func:`trajmodes.compare_three_phonon`): MD FWHM against the bulk
    three-phonon FWHM (or, without bulk widths, the MD-grid one), FWHM and shift against frequency, the lineshapes
    of a few modes (each scaled to its peak, on its own baseline). Modes without a three-phonon channel on the MD
    grid (``pt_no_channel``) are ringed in red; the title counts the modes drawn (a zero width has no place on the
    log axes). The finite-size conductivities stay in the dataset: they are sums over the MD cell's few q-points,
    not the crystal's conductivity.

    Parameters
    ----------
    ds : xarray.Dataset
        The mode-by-mode comparison of the MD linewidths and shifts with perturbation theory
        (:func:`trajmodes.compare_three_phonon`), in THz.
    path : str, optional
        Image file to write, format from its extension (.png, .pdf, .svg); default none: the figure is only returned.
    title : str
        Heading over the figure (the command line's: the run, its temperature, the fit); empty: none.
    ax : matplotlib.axes.Axes, optional
        Draw into this panel of a figure of your own instead of a new figure.
    """
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter
    fig, axes = axes_for(ax, 2, 2, (11.5, 9.0))
    ax = axes.ravel()
    bulk = "pt_fwhm_bulk" in ds
    ratio = ds["fwhm_ratio_bulk" if bulk else "fwhm_ratio"].values
    ok = np.isfinite(ratio)
    none = ds["pt_no_channel"].values if "pt_no_channel" in ds else np.zeros(ratio.shape, bool)
    fall = ds["frequency_harmonic"].values
    f = fall[ok]
    md, md_e = ds["md_fwhm"].values[ok], ds["md_fwhm_err"].values[ok]
    pt = ds["pt_fwhm_bulk" if bulk else "pt_fwhm"].values[ok]
    pt_e = ds["pt_fwhm_bulk_err"].values[ok] if bulk else None
    which = (f"bulk {mesh_text(ds.attrs.get('bulk_mesh'))} mesh, tetrahedron" if bulk
             else rf"MD grid, $\sigma$ = {ds.attrs.get('smearing', np.nan):.3g} THz")
    sc = ax[0].scatter(pt, md, c=f, s=9, cmap="viridis", zorder=3)
    ax[0].errorbar(pt, md, xerr=pt_e, yerr=md_e, fmt="none", ecolor="0.6", lw=0.6, zorder=2)
    if none[ok].any():
        ax[0].scatter(pt[none[ok]], md[none[ok]], s=40, facecolors="none", edgecolors="r", zorder=4,
                      label="no channel on the MD grid")
    if ok.any():
        lo, hi = min(pt[pt > 0].min(), md.min()) * 0.7, max(pt.max(), md.max()) * 1.4
        ax[0].plot([lo, hi], [lo, hi], "k--", lw=0.8, label="equal")
        ax[0].set_xscale("log")
        ax[0].set_yscale("log")
        subs = (1.0, 2.0, 5.0) if hi / lo < 300 else (1.0,)         # 1, 2, 5 x 10^k where they fit; plain numbers
        for axis in (ax[0].xaxis, ax[0].yaxis):
            axis.set_major_locator(LogLocator(10, subs=subs))
            axis.set_major_formatter(FormatStrFormatter("%g"))
            axis.set_minor_formatter(NullFormatter())
        ax[0].legend(fontsize=8, loc="upper left")
    xlabel = _frequency_label(ds.attrs.get("constants", ""))
    ax[0].set_xlabel(f"three-phonon FWHM (THz), {which}")
    ax[0].set_ylabel("MD FWHM (THz)")
    fig.colorbar(sc, ax=ax[0], label=xlabel)
    a = ds.attrs
    shown = (pt > 0) & (md > 0)                                       # what the log axes can show
    drawn = int(shown.sum())
    distinct = len({(round(float(x), 6), round(float(y), 6)) for x, y in zip(pt[shown], md[shown])})
    head = (f"{drawn} modes drawn" + (f" at {distinct} distinct points (equivalent q and degenerate branches "
                                      "coincide)" if distinct < drawn else "")
            + (f"; {int(ok.sum()) - drawn} compared with a zero width" if drawn < ok.sum() else "")
            + "\nMD / three-phonon FWHM, median (16–84 %):")
    if bulk:
        head += (f" bulk {a.get('median_fwhm_ratio_bulk', np.nan):.2f} ({a.get('fwhm_ratio_bulk_p16', np.nan):.2f}-"
                 f"{a.get('fwhm_ratio_bulk_p84', np.nan):.2f}),")
    head += (f" MD grid {a.get('median_fwhm_ratio', np.nan):.2f} ({a.get('fwhm_ratio_p16', np.nan):.2f}-"
             f"{a.get('fwhm_ratio_p84', np.nan):.2f})")
    if not ok.any():
        head = "no MD width resolved: no widths to compare"        # (not a median of nothing)
    ax[0].set_title(head, fontsize=9)
    ax[1].errorbar(f, md, yerr=md_e, fmt="o", ms=3, lw=0.6, label="MD")
    if bulk:
        ax[1].plot(f, pt, "x", ms=4, color="C1", label=f"three-phonon, {which}")
    grid_ok = np.isfinite(ds["fwhm_ratio"].values)                  # MD-grid widths above 1e-3 sigma
    ax[1].plot(fall[grid_ok], ds["pt_fwhm"].values[grid_ok], "+", ms=4, color="0.55",
               label=rf"three-phonon, MD grid ($\sigma$ = {a.get('smearing', np.nan):.3g} THz)")
    if none.any():
        ax[1].scatter(fall[none], ds["md_fwhm"].values[none], s=40, facecolors="none", edgecolors="r", zorder=4,
                      label=f"no channel on the MD grid ({int(none.sum())})")
    if "pt_fwhm_four" in ds:
        tot = (ds["pt_fwhm_bulk" if bulk else "pt_fwhm"].values + ds["pt_fwhm_four"].values)[ok]
        ax[1].plot(f, tot, "1", ms=6, color="C2", label="three- and four-phonon")
    if any((np.asarray(ln.get_ydata(), float) > 0).any() for ln in ax[1].get_lines()):
        ax[1].set_yscale("log")                                      # (a run too short for any width: linear)
    ax[1].set_xlabel(xlabel)
    ax[1].set_ylabel("FWHM (THz)")
    ax[1].legend(fontsize=7)
    # every MD peak with a position: a clean fit, or a line narrower than the resolution (its width an upper bound)
    clean = ds["md_placed"].values.astype(bool)
    fs = fall[clean]
    effective = a.get("constants", "effective") == "effective"
    base = "effective" if effective else "harmonic"
    ax[2].plot(fs, ds["md_shift"].values[clean], "o", ms=3, label=f"MD peak maximum − {base} frequency")
    centred = ds["md_centre_placed"].values.astype(bool)
    if centred.any():
        ax[2].plot(fall[centred], ds["md_centre_shift"].values[centred], "o", ms=4, mfc="none", color="C0",
                   label="MD damped-oscillator centre − " + base)
    ax[2].plot(fs, ds["pt_shift"].values[clean], "x", ms=4,
               label=r"$\Delta(\nu_0) - \Delta(0)$ (effective constants)" if effective
               else r"$\Delta(\nu_0)$ (static constants)")
    # the panel spans the shifts compared (MD and predicted); line maxima and full bubbles far beyond them are drawn
    # at its edge and counted in its title, not allowed to squash it
    lo, hi = _shift_range(ds["md_shift"].values[clean], ds["pt_shift"].values[clean],
                          ds["md_centre_shift"].values[centred] if centred.any() else np.zeros(0))
    beyond = []
    if "level_peak" in ds:
        i3 = list(ds["level"].values).index("three-phonon")
        beyond.append(_plot_within(ax[2], fs, (ds["level_peak"].values[i3] - fall)[clean], lo, hi, "^", "C1",
                                   "three-phonon line's maximum − " + base, "three-phonon line maxima"))
    if effective and "pt_shift_bubble" in ds:
        beyond.append(_plot_within(ax[2], fs, ds["pt_shift_bubble"].values[clean], lo, hi, ".", "0.6",
                                   r"full bubble $\Delta(\nu_0)$ (counts $\Delta(0)$ twice)", "full bubbles"))
    ax[2].axhline(0, color="k", lw=0.5)
    ax[2].set_ylim(lo, hi)
    ax[2].set_xlabel(xlabel)
    ax[2].set_ylabel("frequency shift (THz)")
    ax[2].set_title("frequency shifts: median |MD − prediction| = "
                    f"{a.get('median_abs_shift_residual', np.nan):.4f} THz"
                    + (f" (full bubble {a.get('median_abs_shift_residual_bubble', np.nan):.4f})" if effective else "")
                    + "".join(f"\n{b}" for b in beyond if b), fontsize=9)
    ax[2].legend(fontsize=6.5)
    picked = _pick_modes(ds) if "md_lineshape" in ds else []
    if picked:                      # no mode to draw (none compared): the panel is left off, not drawn empty
        nu, w = ds["frequency"].values, ds["pt_frequency"].values
        for k, (iq, ib) in enumerate(picked):
            c = f"C{k}"
            q = ds["qpoint"].values[iq]
            f0 = float(ds["frequency_harmonic"].values[iq, ib])
            lab = f"q = ({q[0]:.2f}, {q[1]:.2f}, {q[2]:.2f}), {f0:.2f} THz"
            mdl, ptl = ds["md_lineshape"].values[iq, ib], ds["pt_lineshape"].values[iq, ib]
            peak = max(float(np.nanmax(mdl)), float(np.nanmax(ptl)), 1e-300)
            # each mode on its own baseline, scaled to its highest peak: a narrow line no longer hides the others
            ax[3].plot(nu, mdl / peak + 1.15 * k, color=c, lw=1.0, label=lab)
            ax[3].plot(w, ptl / peak + 1.15 * k, color=c, lw=1.0, ls="--")
            if "pt_lineshape_four" in ds:
                ax[3].plot(w, ds["pt_lineshape_four"].values[iq, ib] / peak + 1.15 * k, color=c, lw=0.9, ls=":")
            ax[3].axvline(f0, ymin=0, ymax=1, color=c, lw=0.5, ls="-.", alpha=0.6)
            ax[3].axhline(1.15 * k, color=c, lw=0.4, alpha=0.5)
        ax[3].set_xlabel("frequency (THz)")
        four = ", + four-phonon dotted" if "pt_lineshape_four" in ds else ""
        ax[3].set_ylabel(f"kinetic-energy lineshape, scaled and offset\n(MD solid, three-phonon dashed{four})")
        ax[3].set_title(f"lineshapes of {len(picked)} modes; {base} frequency dash-dotted", fontsize=9)
        ax[3].set_yticks([])
        ax[3].set_xlim(*_lineshape_range(ds, picked))
        # headroom above the highest line for the legend (one row a mode), which would cover its peak otherwise
        ax[3].set_ylim(-0.1, 1.15 * (len(picked) - 1) + 1.1 + 0.2 * len(picked))
        ax[3].legend(fontsize=7, loc="upper right")
    else:
        ax[3].set_axis_off()
    head = (f"MD linewidths, shifts and lineshapes against three-phonon theory: {a.get('temperature', np.nan):.0f} K, "
            f"classical occupations, the MD cell's {a.get('n_qpoints', ds.sizes.get('q', 0))} q-points")
    fig.suptitle(f"{typeset(title)}\n{head}" if title else head, fontsize=10)
    return finish(fig, path)
