"""Matplotlib figures of trajmodes' results, written to files.

Figures are made with :class:`matplotlib.figure.Figure` directly, never through ``pyplot``: writing one never
switches the user's matplotlib backend (a notebook keeps its own) and leaves no figure open.
"""
from __future__ import annotations

import numpy as np

from trajmodes.lattice.paths import path_coordinates
from trajmodes.units import GAS_CONSTANT


def _figure(nrows: int, ncols: int, size, **kw):
    """A new figure and its axes (``Figure.subplots`` keywords in ``kw``), constrained layout."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.subplots(nrows, ncols, **kw)


def plot_summary(summary, path: str, title: str = "") -> None:
    """Temperature and rms displacement per species versus time, and <u^2> per species and axis.

    The mean displacement of all atoms (centre-of-mass drift) is drawn only where it is visible beside the
    rms displacement (above 1% of it): in a run with the momentum removed it is round-off.

    Parameters
    ----------
    summary : xarray.Dataset
        From :func:`trajmodes.trajectory.summary.summarize`.
    path : str
        PNG or PDF file to write.
    """
    fig, axes = _figure(1, 3, (13, 3.8))
    t = summary.time.values
    if "temperature" in summary:
        T = summary.temperature.values
        axes[0].plot(t, T, lw=1)
        axes[0].axhline(T.mean(), color="k", ls="--", lw=0.8)
        axes[0].set_title(f"mean {T.mean():.1f} K (dashed)", fontsize=9)     # a legend would cover the trace
    else:
        axes[0].text(0.5, 0.5, "no velocities or masses", ha="center", transform=axes[0].transAxes)
    axes[0].set(xlabel="time (ps)", ylabel="kinetic temperature (K)")
    sp = summary.species.values
    rms = summary.rms_time.values if "rms_time" in summary else None
    if rms is not None:
        for k, name in enumerate(sp):
            axes[1].plot(t, rms[:, k], lw=1, label=f"{name} rms |u|")
    drift = np.linalg.norm(summary.drift.values, axis=1)
    scale = float(np.nanmax(rms)) if rms is not None and rms.size else float(drift.max())
    if drift.max() > 0.01 * scale:
        axes[1].plot(t, drift, lw=1, color="k", ls=":", label="|mean u| (drift)")
    axes[1].set(xlabel="time (ps)", ylabel="displacement (A)")
    axes[1].set_ylim(0, None)
    above = dict(frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=8, borderaxespad=0.2)
    axes[1].legend(ncols=min(3, len(axes[1].get_lines())), **above)      # above the panel: clear of the curves
    msd = summary.msd.values
    x = np.arange(len(sp))
    for k, lab in enumerate("xyz"):
        axes[2].bar(x + (k - 1) * 0.25, msd[:, k], width=0.25, label=lab)
    axes[2].set_xticks(x, sp)
    axes[2].set(ylabel="<u^2> (A^2)")
    axes[2].set_ylim(0, None)
    axes[2].legend(ncols=3, **above)
    if title:
        fig.suptitle(title, fontsize=9)
    _save(fig, path, dpi=120)


def _save(fig, path: str, dpi: int = 130) -> None:
    """Write ``fig`` atomically (format from the file's extension)."""
    from trajmodes.io.files import atomic_write
    fmt = str(path).rsplit(".", 1)[-1]
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format=fmt))


def _plot_path(ax, bands, **style):
    """Draw the frequencies of a band path segment by segment (no line across a jump); the first line drawn."""
    d, f, seg = bands.distance.values, bands.frequency.values, bands.segment.values
    first = None
    for s in np.unique(seg):
        sel = seg == s
        lines = ax.plot(d[sel], f[sel], **style)
        first = lines[0] if first is None else first
    return first


def _path_axes(ax, bands, lo: float, hi: float, line_color: str = "0.7") -> None:
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
    fig, axes = _figure(1, 2 if dos is not None else 1, (8.5 if dos is not None else 6.5, 4.8), sharey=True,
                        squeeze=False, gridspec_kw=dict(width_ratios=[3.2, 1] if dos is not None else [1]))
    ax = axes[0, 0]
    f = bands.frequency.values
    _plot_path(ax, bands, color="C0", lw=1.2)
    lo = min(0.0, float(np.nanmin(f)))
    hi = float(np.nanmax(f))
    _path_axes(ax, bands, lo, hi, line_color="0.6")
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
        axes[1].axhline(n_modes * GAS_CONSTANT, color="0.5", ls="--", lw=0.8, label="classical limit")
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
        lines.append((_plot_path(ax, ds, **style), lab))
    allf = np.concatenate([x.frequency.values.ravel() for x in (bands, reference) if x is not None])
    lo, hi = min(0.0, float(np.nanmin(allf))), float(np.nanmax(allf))
    _path_axes(ax, bands, lo, hi)
    if lo < 0:
        ax.axhline(0.0, color="k", lw=0.6)
    ax.set(ylabel="frequency (THz)", xlabel="wave vector")
    ax.tick_params(axis="x", length=0)
    ax.legend([h for h, _ in lines], [lab for _, lab in lines], frameon=False, loc="lower right")
    if title:
        ax.set_title(title, fontsize=9)
    _save(fig, path)


# ----------------------------------------------------------------------------- mode projection

def _peak_model(ds):
    """The peak model of a ``project`` dataset (the windowed ones from its spectra_* attributes)."""
    from trajmodes.modes.lineshapes import peak_model
    attrs = {k[len("spectra_"):]: v for k, v in ds.attrs.items() if k.startswith("spectra_")}
    return peak_model(str(ds.attrs.get("peak_model", "lorentzian")), attrs)


def plot_mode_fits(ds, modes, path: str, title: str = "") -> None:
    """Spectrum (what the fit saw: star- and degeneracy-summed psd) with the fitted peak, one panel per mode.

    ``ds`` is the dataset written by ``trajmodes project``; ``modes`` a list of (q index, branch).
    """
    n = max(1, len(modes))
    ncols = min(n, 3)
    nrows = (n + ncols - 1) // ncols
    fig, axes = _figure(nrows, ncols, (4.3 * ncols, 3.3 * nrows))
    axes = np.atleast_1d(axes).ravel()
    f = ds.frequency.values
    func = _peak_model(ds)
    for ax, (iq, ib) in zip(axes, modes):
        y = ds["psd_fitted"].values[iq, ib]
        st = str(ds["peak_status"].values[iq, ib])
        nu, fw = float(ds["peak_frequency"].values[iq, ib]), float(ds["peak_fwhm"].values[iq, ib])
        nu_h = float(ds["frequency_harmonic"].values[iq, ib])
        lo, hi = float(ds["peak_window_lo"].values[iq, ib]), float(ds["peak_window_hi"].values[iq, ib])
        centre = nu if np.isfinite(nu) else nu_h
        span = max(3 * (hi - lo) if np.isfinite(hi - lo) else 0, 2.0)
        m = (f > centre - span / 2) & (f < centre + span / 2)
        ax.step(f[m], y[m], where="mid", color="0.3", lw=1, label="spectrum")
        if np.isfinite(nu):
            xx = np.linspace(max(lo, f[1]), hi, 400)
            ax.plot(xx, func(xx, float(ds["peak_amplitude"].values[iq, ib]), nu, fw,
                             float(ds["peak_background"].values[iq, ib])), color="C3", lw=1.5,
                    label=f"fit {nu:.3f} THz, FWHM {fw:.3f}")
            ax.axvspan(lo, hi, color="C3", alpha=0.06)
        ax.axvline(nu_h, color="C0", ls="--", lw=0.9, label=f"harmonic {nu_h:.3f}")
        q = np.round(ds.qpoint.values[iq], 3).tolist()
        ax.set_title(f"q{iq} {q} branch {ib}: {st}", fontsize=8)
        ax.set(xlabel="frequency (THz)", ylabel=f"psd ({ds['psd'].attrs.get('units', 'eV/THz')})")
        ax.legend(frameon=False, fontsize=7)
    for ax in axes[len(modes):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=9)
    _save(fig, path)


def _q_order(ds) -> np.ndarray:
    """Commensurate q-points sorted by |q|, ties by the sum of |harmonic frequencies|."""
    H = ds["frequency_harmonic"].values
    return np.lexsort((np.abs(H).sum(axis=1), np.linalg.norm(ds.qpoint.values, axis=1)))


def plot_linewidth_dispersion(ds, path: str, title: str = "", bands=None, rotations=None, note: str = "") -> None:
    """Fitted peak frequencies with FWHM bars over the harmonic dispersion.

    With ``bands`` (a :meth:`trajmodes.Phonons.band_structure` path of the force constants the modes were
    projected on) and ``rotations`` (the primitive cell's, fractional): the harmonic dispersion as lines and
    every commensurate q at the path coordinates of its star (:func:`path_coordinates`); q with no image on
    the path are not drawn and counted in the title. Otherwise (files from before the path was stored):
    fitted frequency against q index (q sorted by |q|) over the harmonic frequencies, with ``note`` saying so.
    Bars are the full FWHM (peak +- FWHM/2); "ok" fits red, flagged ones orange.
    """
    H = ds["frequency_harmonic"].values
    F = ds["peak_frequency"].values
    W = ds["peak_fwhm"].values
    S = ds["peak_status"].values.astype(str)
    if bands is None or rotations is None:
        _linewidth_by_index(ds, path, title, note)
        return
    fig, ax = _figure(1, 1, (8.5, 4.8))
    f = bands.frequency.values
    _plot_path(ax, bands, color="0.45", lw=1.0).set_label("harmonic")
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
    _path_axes(ax, bands, lo, hi)
    ax.set(ylabel="frequency (THz)", xlabel="wave vector")
    ax.tick_params(axis="x", length=0)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    off = sum(1 for h in hits if h.size == 0)
    head = f"{len(hits) - off} of {len(hits)} commensurate q on the path (star images)"
    head += f"; {off} off the path, not drawn" if off else ""
    ax.set_title((title + "\n" if title else "") + head + (f"; {note}" if note else ""), fontsize=9)
    _save(fig, path)


def _linewidth_by_index(ds, path: str, title: str = "", note: str = "") -> None:
    """Fitted frequency against q index (q sorted by |q|) with FWHM bars, over the harmonic reference."""
    fig, ax = _figure(1, 1, (10, 4.2))
    H = ds["frequency_harmonic"].values
    F = ds["peak_frequency"].values
    W = ds["peak_fwhm"].values
    S = ds["peak_status"].values.astype(str)
    order = _q_order(ds)
    x = np.arange(len(order))
    for ib in range(H.shape[1]):
        ax.plot(x, H[order, ib], "_", color="0.5", ms=7, label="harmonic" if ib == 0 else None)
        ok = S[order, ib] == "ok"
        ax.errorbar(x[ok], F[order, ib][ok], yerr=0.5 * W[order, ib][ok], fmt="o", ms=2.5, lw=0.7, color="C3",
                    label="fit (bars: FWHM)" if ib == 0 else None)
        bad = ~ok & np.isfinite(F[order, ib])
        ax.errorbar(x[bad], F[order, ib][bad], yerr=0.5 * W[order, ib][bad], fmt="o", ms=2.5, lw=0.5,
                    color="C1", alpha=0.6, label="fit, flagged" if ib == 0 else None)
    ax.set(xlabel="commensurate q (sorted by |q|)", ylabel="frequency (THz)")
    ax.legend(frameon=False, fontsize=8, ncol=3)
    if title or note:
        ax.set_title(title + ("\n" + note if title and note else note), fontsize=9)
    _save(fig, path)


def sed_columns(sed: np.ndarray, hits) -> tuple[np.ndarray, np.ndarray]:
    """The SED as columns along a band path.

    Parameters
    ----------
    sed : ndarray (q, frequency)
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


def plot_sed(ds, path: str, title: str = "", bands=None, rotations=None, note: str = "") -> None:
    """Spectral energy density S(q, nu) as a heat map along the band path, log colour scale.

    With ``bands`` and ``rotations`` (as :func:`plot_linewidth_dispersion`): every commensurate q whose star
    touches the path is a column at its path coordinate(s) (q-points at the same coordinate averaged), each
    column as wide as the gaps to its neighbours, with the harmonic dispersion drawn over it, the way
    S(q, omega) is read along high-symmetry lines. Without them (files from before the path was stored): q
    sorted by |q| on the horizontal axis, harmonic frequencies as dots, with ``note`` saying so.
    """
    from matplotlib.colors import LogNorm
    sed = ds["sed"].values
    H = ds["frequency_harmonic"].values
    f = ds.frequency.values
    df = f[1] - f[0]
    fig, ax = _figure(1, 1, (10, 4.6))
    if bands is not None and rotations is not None:
        hits = path_coordinates(ds.qpoint.values, bands, rotations)
        xs, img = sed_columns(sed, hits)
        img = img.T if xs.size else np.zeros((len(f), 0))
        mid = 0.5 * (xs[1:] + xs[:-1])
        d = bands.distance.values
        edges = np.concatenate([[d[0]], mid, [d[-1]]]) if xs.size else np.array([d[0], d[-1]])
        hi_f = max(float(np.nanmax(bands.frequency.values)), float(np.nanmax(np.abs(H))))
    else:
        order = _q_order(ds)
        img = sed[order].T
        edges = np.arange(len(order) + 1) - 0.5
        hi_f = float(np.abs(H).max())
    pos = img[img > 0]
    vmin = max(float(np.percentile(pos, 5)), float(pos.max()) * 1e-6) if pos.size else 1e-12
    vmax = float(pos.max()) if pos.size else 1.0
    if img.size:
        im = ax.pcolormesh(edges, np.append(f, f[-1] + df) - 0.5 * df, np.maximum(img, vmin),
                           norm=LogNorm(vmin=vmin, vmax=vmax), shading="flat", cmap="magma")
        fig.colorbar(im, ax=ax, label=f"SED ({ds['sed'].attrs.get('units', 'eV/THz')})")
    top = min(f[-1], 1.15 * hi_f)
    if bands is not None and rotations is not None:
        _plot_path(ax, bands, color="c", lw=0.6, alpha=0.8)
        _path_axes(ax, bands, 0.0, top, line_color="0.85")
        ax.set(ylabel="frequency (THz)", xlabel="wave vector")
        ax.tick_params(axis="x", length=0)
        off = sum(1 for h in hits if h.size == 0)
        head = f"{len(hits) - off} of {len(hits)} commensurate q on the path (star images); lines: harmonic"
    else:
        for ib in range(H.shape[1]):
            ax.plot(np.arange(len(order)), np.abs(H[order, ib]), ".", color="c", ms=1.5)
        ax.set(xlabel="commensurate q (sorted by |q|)", ylabel="frequency (THz)")
        head = "dots: harmonic"
    ax.set_ylim(0, top)
    ax.set_title((title + "\n" if title else "") + head + (f"; {note}" if note else ""), fontsize=9)
    _save(fig, path)


def plot_bvk(datasets: dict, path, units: str = "N/m", title: str | None = None) -> None:
    """Bar chart comparing Born-von-Karman constants from several sources (one bar group per constant).

    Parameters
    ----------
    datasets : dict label -> xarray.Dataset
        From :func:`trajmodes.potentials.bvk.shell_constants` (same lattice); constants missing from a source are skipped.
    path : str or Path
        Image file to write (format from the suffix).
    units : {"N/m", "eV/A^2", "dyn/cm"}
    """
    from trajmodes.units import EV_A2_TO_N_M
    scale = {"N/m": 1.0, "dyn/cm": 1e3, "eV/A^2": 1.0 / EV_A2_TO_N_M}[units]
    names: list[str] = []
    for ds in datasets.values():
        names += [str(n) for n in ds["constant"].values if str(n) not in names]
    x = np.arange(len(names))
    width = 0.8 / max(1, len(datasets))
    fig, ax = _figure(1, 1, (max(6.0, 0.45 * len(names) + 2), 4))
    for i, (label, ds) in enumerate(datasets.items()):
        vals = dict(zip(map(str, ds["constant"].values), ds["value"].values * scale))
        v = np.array([vals.get(n, np.nan) for n in names])
        ax.bar(x - 0.4 + width * (i + 0.5), v, width, label=str(label))
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=60)
    ax.set_ylabel(f"BvK constant ({units})")
    if title:
        ax.set_title(title)
    ax.legend()
    _save(fig, str(path))
