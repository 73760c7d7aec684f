"""Figures of three-phonon results: linewidths and lifetimes against frequency, conductivity against
temperature."""
from __future__ import annotations

import numpy as np

from trajmodes.plots.figures import figure, save

__all__ = ["plot_three_phonon", "plot_comparison"]


def plot_three_phonon(ds, path: str, title: str = "") -> None:
    """Linewidth (FWHM) and lifetime of every mode of the irreducible q against its harmonic frequency, one
    colour per temperature, and, with ``kappa`` in ``ds``, the conductivity (diagonal) against temperature."""
    has_kappa = "kappa" in ds
    fig, axes = figure(1, 3 if has_kappa else 2, (13.5 if has_kappa else 9.5, 4.0))
    f = ds["frequency_harmonic"].values.ravel()
    T = ds["temperature"].values
    colors = [f"C{i % 10}" for i in range(len(T))]
    for i, t in enumerate(T):
        lw = ds["linewidth"].values[i].ravel()
        tau = ds["lifetime"].values[i].ravel()
        ok = (lw > 0) & (f > 1e-3)
        axes[0].scatter(f[ok], lw[ok], s=7, color=colors[i], label=f"{t:g} K")
        axes[1].scatter(f[ok], tau[ok], s=7, color=colors[i], label=f"{t:g} K")
    for ax, name in ((axes[0], "linewidth (FWHM), THz"), (axes[1], "lifetime 1/(2 pi FWHM), ps")):
        ax.set_yscale("log")
        ax.set_xlabel("harmonic frequency (THz)")
        ax.set_ylabel(name)
        ax.legend(fontsize=8, loc="best")
    mesh = "x".join(str(int(m)) for m in np.atleast_1d(ds.attrs.get("mesh", [])))
    axes[0].set_title(f"three-phonon ({ds.attrs.get('method', '')}, {ds.attrs.get('occupation', '')}, mesh {mesh})",
                      fontsize=9)
    if has_kappa:
        k = ds["kappa"].values
        ax = axes[2]
        for a, lab in enumerate(("xx", "yy", "zz")):
            ax.plot(T, k[:, a, a], "o-" if len(T) < 30 else "-", ms=4, color=f"C{a}", label=f"kappa_{lab}")
            if "kappa_rta" in ds:
                ax.plot(T, ds["kappa_rta"].values[:, a, a], "s--" if len(T) < 30 else "--", ms=3, color=f"C{a}",
                        alpha=0.6, label=f"kappa_{lab} (RTA)")
        ax.set_xlabel("temperature (K)")
        ax.set_ylabel(f"kappa ({ds.attrs.get('kappa_method', 'rta').upper()}), W/(m K)")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    save(fig, path)


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


def plot_comparison(ds, path: str, title: str = "") -> None:
    """MD against three-phonon theory (:func:`trajmodes.compare_three_phonon`): FWHM against FWHM, FWHM and
    shift against frequency, the lineshapes of a few modes, and the two conductivities in the title."""
    fig, axes = figure(2, 2, (11.0, 8.6))
    ax = axes.ravel()
    ok = np.isfinite(ds["fwhm_ratio"].values)
    f = ds["frequency_harmonic"].values[ok]
    md, md_e, pt = ds["md_fwhm"].values[ok], ds["md_fwhm_err"].values[ok], ds["pt_fwhm"].values[ok]
    sc = ax[0].scatter(pt, md, c=f, s=9, cmap="viridis", zorder=3)
    ax[0].errorbar(pt, md, yerr=md_e, fmt="none", ecolor="0.6", lw=0.6, zorder=2)
    if ok.any():
        lo, hi = min(pt.min(), md.min()) * 0.7, max(pt.max(), md.max()) * 1.4
        ax[0].plot([lo, hi], [lo, hi], "k--", lw=0.8, label="equal")
        ax[0].set_xscale("log")
        ax[0].set_yscale("log")
        ax[0].legend(fontsize=8, loc="upper left")
    ax[0].set_xlabel("three-phonon FWHM (THz)")
    ax[0].set_ylabel("MD FWHM (THz)")
    fig.colorbar(sc, ax=ax[0], label="harmonic frequency (THz)")
    stranded = int(ds.attrs.get("n_modes_without_decay", 0))
    ax[0].set_title(f"{int(ok.sum())} modes; median MD / three-phonon = {ds.attrs.get('median_fwhm_ratio', np.nan):.2f}"
                    + (f"\n({stranded} modes have no three-phonon decay on this grid: not shown)" if stranded else ""),
                    fontsize=9)
    ax[1].errorbar(f, md, yerr=md_e, fmt="o", ms=3, lw=0.6, label="MD")
    ax[1].plot(f, pt, "x", ms=4, label=f"three-phonon (sigma {ds.attrs.get('smearing', np.nan):.3g} THz)")
    ax[1].set_yscale("log")
    ax[1].set_xlabel("harmonic frequency (THz)")
    ax[1].set_ylabel("FWHM (THz)")
    ax[1].legend(fontsize=8)
    ax[2].plot(f, ds["md_shift"].values[ok], "o", ms=3, label="MD peak - harmonic")
    ax[2].plot(f, ds["pt_shift"].values[ok], "x", ms=4, label="bubble shift")
    ax[2].axhline(0, color="k", lw=0.5)
    ax[2].set_xlabel("harmonic frequency (THz)")
    ax[2].set_ylabel("frequency shift (THz)")
    ax[2].legend(fontsize=8)
    if "md_lineshape" in ds:
        nu, w = ds["frequency"].values, ds["pt_frequency"].values
        for k, (iq, ib) in enumerate(_pick_modes(ds)):
            c = f"C{k}"
            q = ds["qpoint"].values[iq]
            f0 = float(ds["frequency_harmonic"].values[iq, ib])
            lab = f"q = ({q[0]:.2f}, {q[1]:.2f}, {q[2]:.2f}), {f0:.2f} THz"
            ax[3].plot(nu, ds["md_lineshape"].values[iq, ib], color=c, lw=1.0, label=lab)
            ax[3].plot(w, ds["pt_lineshape"].values[iq, ib], color=c, lw=1.0, ls="--")
        ax[3].set_xlabel("frequency (THz)")
        ax[3].set_ylabel("lineshape (1/THz): MD solid, three-phonon dashed")
        ax[3].set_xlim(0, float(w.max()))
        ax[3].legend(fontsize=7)
    else:
        ax[3].set_axis_off()
    kmd, kerr, kpt = (np.trace(ds[v].values) / 3 for v in ("kappa_md", "kappa_md_err", "kappa_pt"))
    head = (f"{ds.attrs.get('temperature', np.nan):.0f} K, classical; RTA kappa (MD cell's q): MD lifetimes "
            f"{kmd:.1f} +- {kerr:.1f}, three-phonon {kpt:.1f} W/(m K)")
    fig.suptitle(f"{title}\n{head}" if title else head, fontsize=10)
    save(fig, path)
