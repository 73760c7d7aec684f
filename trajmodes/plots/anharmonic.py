"""Figures of three-phonon results: linewidths and lifetimes against frequency, conductivity against
temperature."""
from __future__ import annotations

import numpy as np

from trajmodes.plots.figures import figure, save

__all__ = ["plot_three_phonon"]


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
            ax.plot(T, k[:, a, a], "o-" if len(T) < 30 else "-", ms=4, label=f"kappa_{lab}")
        ax.set_xlabel("temperature (K)")
        ax.set_ylabel(f"kappa ({ds.attrs.get('kappa_method', 'rta').upper()}), W/(m K)")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    save(fig, path)
