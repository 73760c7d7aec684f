"""Figures of a series of runs: frequencies against temperature with error bars, the band structure at every
temperature, the free energy, and the split of every shift into its volume and intrinsic parts."""
from __future__ import annotations

import numpy as np

from trajmodes.plots.figures import KB, axes_for, finish, path_axes, plot_path, typeset
from trajmodes.series import mode_slopes, volume_groups
from trajmodes.units import KB_EV

__all__ = ["plot_series", "plot_shift_split", "distinct_branches"]


def _point(label: str, qpoint) -> str:
    """A q-point as a panel names it: a special point's label as printed (``"G"`` -> Γ, ``"Z1"`` -> Z₁), else its
    reduced coordinates."""
    import re
    from trajmodes.lattice.paths import pretty_label
    label = str(label)
    if label.lower() == "gamma":
        return "Γ"
    if re.fullmatch(r"[A-Z]\d?", label):
        return pretty_label(label)
    return label or "(" + ", ".join(f"{x:g}" for x in np.asarray(qpoint, float) + 0.0) + ")"


def distinct_branches(nu: np.ndarray, tol: float = 1e-3, drop_zero: bool = True) -> list[int]:
    """Branches of one q that are not degenerate with the previous one kept (frequencies ``nu`` (runs, branch), THz),
    so that a degenerate set is drawn once; with ``drop_zero`` branches that stay at zero (acoustic at Gamma) are
    left out.

    Parameters
    ----------
    nu : ndarray (runs, branch)
        The frequencies of one q in every run, THz.
    tol : float
        Branches closer than this to the previous one kept in every run are degenerate with it, THz.
    drop_zero : bool
        Leave out the branches that stay at zero (acoustic at Gamma).
    """
    keep = []
    for b in range(nu.shape[-1]):
        if drop_zero and np.max(np.abs(nu[:, b])) <= tol:
            continue                                   # the acoustic modes at Gamma
        if not keep or np.max(np.abs(nu[:, b] - nu[:, keep[-1]])) > tol:
            keep.append(b)
    return keep


#: the line between the points of a curve over temperature: a guide to the eye, not a measurement
GUIDE = dict(ls="--", lw=0.8, elinewidth=1.2, capsize=2, ms=4)


def _slope_panel(a, ds, T, groups, err, lower) -> None:
    """d nu / dT of every distinct branch at every q-point against its frequency at the coldest run of the group, one
    marker a q-point (open for the runs of other volumes), in GHz/K with its error bar."""
    names = []
    for k in range(ds.sizes["q"]):
        nu = ds.frequency.values[:, k]
        branches = distinct_branches(nu)
        if not branches:
            continue
        name = _point(ds.qlabel.values[k], ds.qpoint.values[k])
        for g, runs in enumerate(groups):
            if len(np.unique(T[runs])) < 2:
                continue
            slope, slope_err = mode_slopes(T, nu[:, branches], err[:, k][:, branches], runs)
            a.errorbar(nu[runs[0], branches], slope * 1e3, yerr=None if np.isnan(slope_err).all() else slope_err * 1e3,
                       fmt="os^vD<>ph*"[len(names) % 10], color=f"C{len(names) % 10}", ms=4, capsize=2, ls="none",
                       mfc="white" if g else None, label=f"q = {name}" if g == 0 else None)
        names.append(name)
    a.axhline(0, color="0.8", lw=0.8, zorder=0)
    a.set_xlabel(r"frequency $\nu$ at the coldest run (THz)")
    a.set_ylabel(r"$\mathrm{d}\nu/\mathrm{d}T$ (GHz/K)")
    bounds = "\n(error bars: lower bounds)" if lower.any() else ""
    a.set_title(("shift per kelvin of every mode" + (", open: other volumes" if len(groups) > 1 else "")) + bounds,
                fontsize=9)
    a.legend(fontsize=7, ncols=2, loc="best")


def _free_energy_panel(a, ds, T, groups) -> None:
    """The free energy per run (and its corrected value, and the harmonic crystal of the reference run)."""
    for g, (runs, marker) in enumerate(zip(groups, "os^vD")):
        F = ds.free_energy.values[runs]
        e = ds.free_energy_err.values[runs] if "free_energy_err" in ds else None
        a.errorbar(T[runs], F, yerr=e, fmt=marker, color="k", mfc="white" if g else None, **GUIDE,
                   label=(r"$U_0 + F_\mathrm{harm}$ (a lower bound)" if ds.attrs.get("occupation") == "classical"
                          else r"$U_0 + F_\mathrm{harm}$") if g == 0 else None)
        if "free_energy_corrected" in ds:
            ec = ds.free_energy_corrected_err.values[runs] if "free_energy_corrected_err" in ds else None
            a.errorbar(T[runs], ds.free_energy_corrected.values[runs], yerr=ec, fmt=marker, color="C2",
                       mfc="white" if g else None, **GUIDE,
                       label=r"$U_0 + F_\mathrm{harm} - \langle U_3 \rangle + F_\mathrm{3ph}$" if g == 0 else None)
        if "reference_harmonic_free_energy" in ds:
            a.plot(T[runs], ds.reference_harmonic_free_energy.values[runs], marker + ":", color="C1",
                   mfc="white" if g else None, ms=3,
                   label="harmonic crystal of the reference run" if g == 0 else None)
    a.set_xlabel("temperature $T$ (K)")
    a.set_ylabel(f"free energy $F$ (eV per primitive cell, {ds.attrs.get('occupation', '')})")
    a.legend(fontsize=7, loc="lower left")            # F falls with T: the lower left is clear


def _derivative_panel(a, ds, T, groups, name, harm, what) -> None:
    """The entropy or heat capacity from F(T) of the runs, in k_B per primitive cell, beside the harmonic crystal's."""
    kb = KB_EV                                            # shown in k_B per primitive cell
    for g, (runs, marker) in enumerate(zip(groups, "os^vD")):
        e = ds[name + "_err"].values[runs] / kb if name + "_err" in ds else None
        a.errorbar(T[runs], ds[name].values[runs] / kb, yerr=e, fmt=marker, color="k", **GUIDE,
                   mfc="white" if g else None, label="from F(T) of the runs" if g == 0 else None)
        if harm in ds:
            a.plot(T[runs], ds[harm].values[runs] / kb, marker + ":", color="C1", ms=3, mfc="white" if g else None,
                   label=r"effective phonons at fixed $\Phi$" if g == 0 else None)
    a.set_xlabel("temperature $T$ (K)")
    a.set_ylabel(f"{what} ({KB} per primitive cell)")
    a.legend(fontsize=7, loc="upper left")            # S and C rise with T: the upper left is clear


def plot_series(ds, path: str | None = None, title: str = "", max_q: int = 4, *, ax=None):
    """Frequencies against temperature at the series' q-points (one panel per q, at most ``max_q``; with several
    distinct branches each drawn as its shift from the coldest run; the error bars of each run's error model at its
    temperature, carets marking lower bounds, a dashed line between the runs of one volume as a guide), the band
    structure of every run coloured by temperature, the free energy, entropy and heat capacity where the runs give
    them, and d nu / dT of every mode against its frequency in the first panel left free. A quantity the runs cannot
    give is named in the heading, not drawn as a panel of text.

    Parameters
    ----------
    ds : xarray.Dataset
        :attr:`trajmodes.series.Series.dataset`.
    path : str, optional
        Where to write the figure.
    title : str
        The heading; a default when empty.
    max_q : int
        The most q-points drawn as panels.
    ax : array of matplotlib Axes, optional
        2 x max(q-points shown, 4) Axes to draw into.
    """
    import matplotlib
    import xarray as xr
    T = ds.temperature.values
    shown = [k for k in range(ds.sizes["q"]) if distinct_branches(ds.frequency.values[:, k])][:max_q]
    nq = len(shown)                                      # q-points with a non-zero branch (not Gamma of one atom)
    ncols = max(nq, 4)
    fig, ax = axes_for(ax, 2, ncols, (3.6 * ncols, 7.2), squeeze=False)
    groups = volume_groups(ds.volume.values, T)
    err = ds.frequency_err.values if "frequency_err" in ds else np.zeros(ds.frequency.shape)
    lower = np.asarray(ds.error_is_lower_bound.values, bool) if "error_is_lower_bound" in ds else \
        np.zeros(len(T), bool)
    for col, k in enumerate(shown):
        a = ax[0, col]
        nu = ds.frequency.values[:, k]
        branches = distinct_branches(nu)
        # several branches a few THz apart would hide each one's change and error bar: each is drawn as its shift
        # from the coldest run, labelled with its frequency there
        cold = int(np.argmin(T))
        shifted = len(branches) > 1 and len(T) > 1
        for i, b in enumerate(branches):
            y = nu[:, b] - nu[cold, b] if shifted else nu[:, b]
            for g, (runs, marker) in enumerate(zip(groups, "os^vD")):
                label = None
                if i == 0 and len(groups) > 1:
                    label = (f"{ds.volume.values[runs[0]]:.3f} Å$^3$ per atom" if g == 0 else "other volumes")
                if shifted and g == 0:
                    label = (label + ", " if label else "") + f"{nu[cold, b]:.3f} THz"
                a.errorbar(T[runs], y[runs], yerr=err[runs, k, b], fmt=marker, color=f"C{b % 10}",
                           mfc="white" if g else None, label=label, **GUIDE)
                low = runs[lower[runs]]
                if len(low):                                 # a lower bound: a caret beyond each end of its bar
                    for sign, m in ((1, 6), (-1, 7)):
                        a.plot(T[low], y[low] + sign * err[low, k, b], ls="none", marker=m, ms=5,
                               color=f"C{b % 10}", label="error bar a lower bound" if (
                                   i == 0 and g == 0 and sign == 1 and col == 0) else None)
        a.set_xlabel("temperature $T$ (K)")
        a.set_ylabel(rf"$\nu - \nu$({T[cold]:.0f} K) (THz)" if shifted else r"frequency $\nu$ (THz)")
        a.set_title(f"q = {_point(ds.qlabel.values[k], ds.qpoint.values[k])}", fontsize=9)
        if shifted or (col == 0 and (len(groups) > 1 or lower.any())):
            a.legend(fontsize=7, title="volume" if len(groups) > 1 and col == 0 else None, title_fontsize=7)
    a = ax[1, 0]
    cmap = matplotlib.colormaps["coolwarm"]
    norm = matplotlib.colors.Normalize(T.min(), T.max() if T.max() > T.min() else T.min() + 1)
    pf = ds.path_frequency.values
    bands = xr.Dataset({"frequency": (("q", "branch"), pf[0])},
                       coords=dict(distance=("q", ds.path_distance.values), segment=("q", ds.path_segment.values)),
                       attrs=dict(tick_distance=np.atleast_1d(ds.attrs.get("path_tick_distance", [])),
                                  tick_labels=str(ds.attrs.get("path_tick_labels", "")).split(",")))
    for r in np.argsort(T):
        plot_path(a, bands.assign(frequency=(("q", "branch"), pf[r])), color=cmap(norm(T[r])), lw=0.8)
    path_axes(a, bands, float(np.nanmin(pf)), float(np.nanmax(pf)))
    a.tick_params(axis="x", labelsize=7)                  # a narrow panel: the special points' labels apart
    a.set_ylabel(r"frequency $\nu$ (THz)")
    fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=a, label="temperature $T$ (K)")
    a.set_title("effective dispersion of every run", fontsize=9)
    # the panels of the second row the runs give; what they cannot give is said in the heading
    top, bottom = [ax[0, c] for c in range(nq, ncols)], [ax[1, c] for c in range(1, ncols)]
    missing = []
    if "free_energy" in ds:
        _free_energy_panel(bottom.pop(0), ds, T, groups)
    else:
        missing.append("no free energy (the runs had no potential energies)")
    for name, harm, what, needs in [("entropy", "harmonic_entropy", "entropy", "two"),
                                    ("heat_capacity", "harmonic_heat_capacity", "heat capacity", "three")]:
        if name in ds and np.isfinite(ds[name].values).any():
            _derivative_panel(bottom.pop(0), ds, T, groups, name, harm, what)
        elif "free_energy" in ds:
            missing.append(f"no {what} (it needs free energies at {needs} or more temperatures of one volume)")
    free = top + bottom                                   # d nu / dT in the first panel left, if any
    if free and any(len(np.unique(T[runs])) > 1 for runs in groups):
        _slope_panel(free.pop(0), ds, T, groups, err, lower)
    for a in free:
        a.set_axis_off()
    note = ""
    if "error_model" in ds:
        models = ", ".join(dict.fromkeys(str(m) for m in ds.error_model.values))
        note = f"  (error bars: {models}" + (f"; lower bounds for {int(lower.sum())} of {len(T)} runs)" if lower.any()
                                            else ")")
    head = typeset(title) or "effective phonons of a series of runs over temperature and volume"
    fig.suptitle(head + note + ("\n" + "; ".join(missing) if missing else ""), fontsize=10)
    return finish(fig, path)


def plot_shift_split(split, path: str | None = None, title: str = "", max_q: int = 4, *, ax=None):
    """The shift of every distinct branch from the reference run (filled), its quasiharmonic (volume) part
    (dashed) and its intrinsic (fixed-volume) part (dotted) against temperature, one panel per q-point: at each
    temperature (runs within 3 %) the run of the largest volume, those without a partner at the reference volume
    left out.

    Parameters
    ----------
    split : xarray.Dataset
        The shifts (THz) against temperature (K), total and split into their volume and fixed-volume parts
        (:attr:`trajmodes.workflows.SeriesResult.split`).
    path : str, optional
        Image file to write, format from its extension (.png, .pdf, .svg); default none: the figure is only returned.
    title : str
        Heading over the figure (the command line's: the run, its temperature, the fit); empty: none.
    max_q : int
        The most q-points drawn, one panel each (those whose modes are all zero, Gamma of one atom per cell, left
        out).
    ax : matplotlib.axes.Axes, optional
        Draw into this panel of a figure of your own instead of a new figure.
    """
    T = split.temperature.values
    shown = [k for k in range(split.sizes["q"])                # not q-points whose modes are all zero (Gamma of
             if np.nanmax(np.abs(split.total.values[:, k]), initial=0.0) > 1e-6][:max_q]   # one atom per cell)
    nq = max(len(shown), 1)
    fig, ax = axes_for(ax, 1, nq, (3.8 * nq, 3.6), squeeze=False)
    ok = np.isfinite(split.quasiharmonic.values).all(axis=(1, 2))
    runs = np.flatnonzero(ok)
    runs = runs[np.argsort(T[runs], kind="stable")]
    # one curve per temperature: the run of the largest volume at each temperature (the expanded one)
    V = split.volume.values
    clusters, picked = [], []
    for r in runs:                                     # temperatures within 3 % are one (thermostat scatter)
        if clusters and T[r] <= 1.03 * T[clusters[-1][0]]:
            clusters[-1].append(r)
        else:
            clusters.append([r])
    for c in clusters:
        picked.append(max(c, key=lambda r: V[r]))
    runs = np.array(picked, dtype=int)
    for col, k in enumerate(shown):
        a = ax[0, col]
        tot = split.total.values[:, k]
        for b in distinct_branches(tot[runs], drop_zero=False):
            c = f"C{b % 10}"
            a.errorbar(T[runs], tot[runs, b], yerr=split.total_err.values[runs, k, b], fmt="o-", color=c, ms=4,
                       capsize=2, label="total" if b == 0 else None)
            a.plot(T[runs], split.quasiharmonic.values[runs, k, b], "--", color=c,
                   label="quasiharmonic (volume)" if b == 0 else None)
            a.errorbar(T[runs], split.intrinsic.values[runs, k, b], yerr=split.intrinsic_err.values[runs, k, b],
                       fmt="s:", color=c, mfc="white", ms=4, capsize=2,
                       label="intrinsic (fixed volume)" if b == 0 else None)
        a.axhline(0, color="0.8", lw=0.8)
        a.set_xlabel("temperature (K)")
        a.set_ylabel("frequency shift (THz)")
        a.set_title(f"q = {_point(split.qlabel.values[k], split.qpoint.values[k])}", fontsize=9)
        if col == 0:
            a.legend(fontsize=7)
    fig.suptitle(typeset(title) or "split of the frequency shifts into their volume and intrinsic parts", fontsize=10)
    return finish(fig, path)
