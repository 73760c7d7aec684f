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
    _save(fig, path, dpi=120)


def _save(fig, path: str, dpi: int = 130) -> None:
    """Write ``fig`` atomically (format from the file's extension) and close it."""
    import matplotlib.pyplot as plt
    from .io._files import atomic_write
    fmt = str(path).rsplit(".", 1)[-1]
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format=fmt))
    plt.close(fig)


def plot_bands_dos(bands, dos, path: str, title: str = "") -> None:
    """Phonon band structure with the DOS beside it on the same frequency axis.

    Parameters
    ----------
    bands : xarray.Dataset
        From :meth:`trajmodes.Phonons.band_structure` (``frequency`` (q, branch), THz; ``distance``,
        ``segment``; attrs ``tick_distance``, ``tick_labels``).
    dos : xarray.Dataset or None
        From :meth:`trajmodes.Phonons.dos` (``total``, optional ``projected`` per atom), 1/THz.
    path : str
        PNG or PDF file to write.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2 if dos is not None else 1, figsize=(8.5 if dos is not None else 6.5, 4.8),
                             sharey=True, squeeze=False, constrained_layout=True,
                             gridspec_kw=dict(width_ratios=[3.2, 1] if dos is not None else [1]))
    ax = axes[0, 0]
    d = bands.distance.values
    f = bands.frequency.values
    seg = bands.segment.values
    for s in np.unique(seg):
        sel = seg == s
        ax.plot(d[sel], f[sel], color="C0", lw=1.2)
    ticks = [float(x) for x in np.atleast_1d(bands.attrs.get("tick_distance", []))]
    labels = [str(x) for x in np.atleast_1d(bands.attrs.get("tick_labels", []))]
    for x in ticks:
        ax.axvline(x, color="0.6", lw=0.6)
    ax.set_xticks(ticks, labels)
    ax.set_xlim(d[0], d[-1])
    lo = min(0.0, float(np.nanmin(f)))
    hi = float(np.nanmax(f))
    ax.set_ylim(lo - 0.03 * (hi - lo), hi + 0.05 * (hi - lo))
    if lo < 0:
        ax.axhline(0.0, color="k", lw=0.6)
    ax.set(ylabel="frequency (THz)", xlabel="wave vector")
    ax.tick_params(axis="x", length=0)
    if dos is not None:
        ax2 = axes[0, 1]
        nu = dos.frequency.values
        ax2.plot(dos.total.values, nu, color="k", lw=1.2, label="total")
        if "projected" in dos and dos.sizes.get("atom", 1) > 1:
            species = dos.species.values if "species" in dos.coords else dos.atom.values
            for k in range(dos.sizes["atom"]):
                ax2.plot(dos.projected.values[k], nu, lw=0.9, label=f"{species[k]} ({k})")
        ax2.legend(frameon=False, fontsize=8, loc="lower right")
        ax2.set_xlim(0, None)
        ax2.set(xlabel="DOS (states/THz/cell)")
        ax2.set_title(f"{dos.attrs.get('method', '')} {'x'.join(map(str, np.atleast_1d(dos.attrs.get('mesh', []))))}",
                      fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    _save(fig, path)


def plot_thermal(thermal, path: str, title: str = "", n_modes: int | None = None) -> None:
    """Harmonic thermodynamics versus temperature: F and U (kJ/mol), S and Cv (J/K/mol).

    Parameters
    ----------
    thermal : xarray.Dataset
        From :meth:`trajmodes.Phonons.thermal_properties`.
    path : str
        PNG or PDF file to write.
    n_modes : int, optional
        3 n_prim: draws the classical (Dulong-Petit) limit of C_V, 3 n_prim R.
    """
    fig, axes = _figure(1, 2, (9.5, 3.8))
    T = thermal.temperature.values
    axes[0].plot(T, thermal.free_energy.values, label="free energy F")
    axes[0].plot(T, thermal.internal_energy.values, label="internal energy U")
    axes[0].set(xlabel="temperature (K)", ylabel="energy (kJ/mol)")
    axes[0].axhline(0.0, color="0.6", lw=0.6)
    axes[0].legend(frameon=False)
    axes[1].plot(T, thermal.entropy.values, label="entropy S")
    axes[1].plot(T, thermal.heat_capacity.values, label="heat capacity $C_V$")
    if n_modes:
        axes[1].axhline(n_modes * 8.314462618, color="0.5", ls="--", lw=0.8, label="classical limit")
    axes[1].set(xlabel="temperature (K)", ylabel="S, $C_V$ (J/(K mol))")
    axes[1].legend(frameon=False)
    for ax in axes:
        ax.set_xlim(T.min(), T.max())
    fig.suptitle((title + "\n" if title else "") + "harmonic, per mole of primitive cells", fontsize=9)
    _save(fig, path)


def plot_dispersion_comparison(bands, path: str, reference=None, title: str = "", label: str = "fit",
                               reference_label: str = "0 K") -> None:
    """Effective phonon dispersion, optionally over a reference one (for example the 0 K constants).

    Parameters
    ----------
    bands : xarray.Dataset
        From :meth:`trajmodes.Phonons.band_structure`.
    reference : xarray.Dataset, optional
        The same path for other force constants; drawn dashed underneath.
    path : str
        PNG or PDF file to write.
    """
    fig, axes = _figure(1, 1, (6.8, 4.6))
    ax = axes
    lines = []
    for ds, style, lab in ((reference, dict(color="0.45", ls="--", lw=1.0), reference_label),
                           (bands, dict(color="C3", lw=1.3), label)):
        if ds is None:
            continue
        d, f, seg = ds.distance.values, ds.frequency.values, ds.segment.values
        for n, s in enumerate(np.unique(seg)):
            sel = seg == s
            h = ax.plot(d[sel], f[sel], **style)
            if n == 0:
                lines.append((h[0], lab))
    ticks = [float(x) for x in np.atleast_1d(bands.attrs.get("tick_distance", []))]
    labels = [str(x) for x in np.atleast_1d(bands.attrs.get("tick_labels", []))]
    for x in ticks:
        ax.axvline(x, color="0.7", lw=0.6)
    ax.set_xticks(ticks, labels)
    d = bands.distance.values
    ax.set_xlim(d[0], d[-1])
    allf = np.concatenate([x.frequency.values.ravel() for x in (bands, reference) if x is not None])
    lo, hi = min(0.0, float(np.nanmin(allf))), float(np.nanmax(allf))
    ax.set_ylim(lo - 0.03 * (hi - lo), hi + 0.05 * (hi - lo))
    if lo < 0:
        ax.axhline(0.0, color="k", lw=0.6)
    ax.set(ylabel="frequency (THz)", xlabel="wave vector")
    ax.tick_params(axis="x", length=0)
    ax.legend([h for h, _ in lines], [lab for _, lab in lines], frameon=False, loc="lower right")
    if title:
        ax.set_title(title, fontsize=9)
    _save(fig, path)
