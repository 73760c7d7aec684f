"""Figures of harmonic lattice dynamics: dispersion with DOS, thermodynamics, dispersion comparisons, and the
force constants of Born-von Karman shells."""
from __future__ import annotations

import numpy as np

from trajmodes.plots.figures import (axes_for, axis_label, finish, heading, legend_below, mesh_text, path_axes,
                                     plot_path, typeset)
from trajmodes.units import GAS_CONSTANT

__all__ = ["plot_bands_dos", "plot_thermal", "plot_dispersion_comparison", "plot_bvk", "orbit_dos"]


def plot_bands_dos(bands, dos, path: str | None = None, title: str = "", *, ax=None):
    """Phonon band structure with the DOS beside it on the same frequency axis.

    Parameters
    ----------
    bands : xarray.Dataset
        From :meth:`trajmodes.Phonons.band_structure` (``frequency`` (q, branch), THz; ``distance``,
        ``segment``; attrs ``tick_distance``, ``tick_labels``).
    dos : xarray.Dataset or None
        From :meth:`trajmodes.Phonons.dos` (``total``, optional ``projected`` per atom), 1/THz; the projected DOS is
        drawn summed over each orbit of symmetry-equivalent atoms (:func:`orbit_dos`), labelled ``"Ga"`` or, where a
        species has several orbits, ``"O (4f)"``.
    path : str
        PNG or PDF file to write.
    title : str
        The run and its settings (the command line's: species, temperature, fit), added to the figure's heading after
        what it shows; empty: the heading alone.
    ax : matplotlib.axes.Axes, optional
        Draw into this panel of a figure of your own instead of a new figure.
    """
    new = ax is None                                  # a figure of its own: it gets a heading
    fig, axes = axes_for(ax, 1, 2 if dos is not None else 1, (8.5 if dos is not None else 6.5, 4.8), sharey=True,
                        squeeze=False, gridspec_kw=dict(width_ratios=[3.2, 1] if dos is not None else [1]))
    ax = axes[0, 0]
    f = bands.frequency.values
    plot_path(ax, bands, color="C0", lw=1.2)
    lo = min(0.0, float(np.nanmin(f)))
    hi = float(np.nanmax(f))
    path_axes(ax, bands, lo, hi, line_color="0.6")
    if lo < 0:
        ax.axhline(0.0, color="k", lw=0.6)
    ax.set(ylabel="frequency (THz)", xlabel="wave vector")
    ax.tick_params(axis="x", length=0)
    if dos is not None:
        ax2 = axes[0, 1]
        nu = dos.frequency.values
        ax2.plot(dos.total.values, nu, color="k", lw=1.2, label="total")
        groups = orbit_dos(dos)
        for k, (label, values) in enumerate(groups):
            ax2.plot(values, nu, lw=0.9, color=f"C{k + 1}", label=label)
        ax2.legend(frameon=False, fontsize=8, loc="best")
        ax2.set_xlim(0, None)
        ax2.set(xlabel="DOS (states THz$^{-1}$ per cell)")
        mesh = mesh_text(dos.attrs.get("mesh"))
        ax2.set_title(", ".join(x for x in (str(dos.attrs.get("method", "")), f"{mesh} mesh" if mesh else "") if x),
                      fontsize=8)
    head = "phonon dispersion" + (" and density of states" if dos is not None else "")
    if title or new:
        fig.suptitle(heading(head, title, fig, 9), fontsize=9)
    return finish(fig, path)


def orbit_dos(dos) -> list:
    """The projected DOS of ``dos`` (:meth:`trajmodes.Phonons.dos`) summed over each orbit of symmetry-equivalent
    atoms: (label, values (frequency,) 1/THz) in the order of the orbits' first atoms, grouped by the ``orbit``
    coordinate (``"Ga"``, ``"O (4f)"``), else by atom (``"Ga (0)"``: a dataset without it); empty for one atom or
    without a projected DOS. The groups sum to the total."""
    if "projected" not in dos or dos.sizes.get("atom", 1) < 2:
        return []
    proj = dos.projected.values
    if "orbit" in dos.coords:
        labels = dos.orbit.values.astype(str)
    else:
        species = dos.species.values if "species" in dos.coords else dos.atom.values
        labels = np.array([f"{s} ({k})" for k, s in enumerate(species)])
    if len(set(labels.tolist())) < 2:
        return []                                  # one orbit: its DOS is the total
    return [(label, proj[labels == label].sum(axis=0)) for label in dict.fromkeys(labels.tolist())]


def plot_thermal(thermal, path: str | None = None, title: str = "", n_modes: int | None = None, *, ax=None):
    """Harmonic thermodynamics versus temperature: F and U (kJ mol⁻¹), S and C_V (J K⁻¹ mol⁻¹).

    Parameters
    ----------
    thermal : xarray.Dataset
        From :meth:`trajmodes.Phonons.thermal_properties`.
    path : str
        PNG or PDF file to write.
    n_modes : int, optional
        3 n_prim: draws the classical (Dulong-Petit) limit of C_V, 3 n_prim R.
    title : str
        The run and its settings (the command line's: species, temperature, fit), added to the figure's heading after
        what it shows; empty: the heading alone.
    ax : matplotlib.axes.Axes, optional
        Draw into this panel of a figure of your own instead of a new figure.
    """
    new = ax is None                                  # a figure of its own: it gets a heading
    fig, axes = axes_for(ax, 1, 2, (9.5, 3.8))
    T = np.atleast_1d(thermal.temperature.values)
    one = dict(marker="o") if T.size == 1 else {}       # a single temperature: points, not (invisible) lines
    axes[0].plot(T, thermal.free_energy.values, label="free energy $F$", **one)
    axes[0].plot(T, thermal.internal_energy.values, label="internal energy $U$", **one)
    axes[0].set(xlabel="temperature (K)", ylabel=axis_label("energy", "kJ/mol"))
    axes[0].axhline(0.0, color="0.6", lw=0.6)
    axes[0].legend(frameon=False)
    axes[1].plot(T, thermal.entropy.values, label="entropy $S$", **one)
    axes[1].plot(T, thermal.heat_capacity.values, label="heat capacity $C_V$", **one)
    if n_modes:
        axes[1].axhline(n_modes * GAS_CONSTANT, color="0.5", ls="--", lw=0.8, label=f"classical limit, {n_modes}$R$")
    axes[1].set(xlabel="temperature (K)", ylabel=axis_label("$S$, $C_V$", "J/(K mol)"))
    axes[1].legend(frameon=False)
    # the temperatures computed, or 10 % either side of a single one (identical limits are a singular axis)
    lo, hi = (T.min(), T.max()) if T.max() > T.min() else (0.9 * T.min(), 1.1 * T.max() + 1.0)
    for ax in axes:
        ax.set_xlim(lo, hi)
    head = "harmonic thermodynamics, per mole of primitive cells"
    if title or new:
        fig.suptitle(heading(head, title, fig, 9), fontsize=9)
    return finish(fig, path)


def plot_dispersion_comparison(bands, path: str | None = None, reference=None, title: str = "", label: str = "fit",
                               reference_label: str = "0 K", *, ax=None):
    """Effective phonon dispersion, optionally over a reference one (for example the 0 K constants).

    Parameters
    ----------
    bands : xarray.Dataset
        From :meth:`trajmodes.Phonons.band_structure`.
    reference : xarray.Dataset, optional
        The same path for other force constants; drawn dashed underneath.
    path : str
        PNG or PDF file to write.
    title : str
        Heading over the figure (the command line's: the run, its temperature, the fit); empty: none.
    label, reference_label : str
        The legend's names of ``bands`` (default "fit") and of ``reference`` (default "0 K").
    ax : matplotlib.axes.Axes, optional
        Draw into this panel of a figure of your own instead of a new figure.
    """
    fig, axes = axes_for(ax, 1, 1, (6.8, 4.6))
    ax = axes
    lines = []
    for ds, style, lab in ((reference, dict(color="0.45", ls="--", lw=1.0), reference_label),
                           (bands, dict(color="C3", lw=1.3), label)):
        if ds is None:
            continue
        lines.append((plot_path(ax, ds, **style), lab))
    allf = np.concatenate([x.frequency.values.ravel() for x in (bands, reference) if x is not None])
    lo, hi = min(0.0, float(np.nanmin(allf))), float(np.nanmax(allf))
    path_axes(ax, bands, lo, hi)
    if lo < 0:
        ax.axhline(0.0, color="k", lw=0.6)
    ax.set(ylabel="frequency (THz)", xlabel="wave vector")
    ax.tick_params(axis="x", length=0)
    # below the panel, outside the bands (inside, "best" still lay over the branches of a many-atom cell)
    legend_below(fig, ax, [h for h, _ in lines], [lab for _, lab in lines], ncols=2, fontsize=8.5)
    if title:
        ax.set_title(typeset(title), fontsize=9)
    return finish(fig, path)


def plot_bvk(datasets: dict, path=None, units: str = "N/m", title: str | None = None, *, ax=None):
    """Bar chart comparing Born-von-Karman constants from several sources (one bar group per constant).

    Parameters
    ----------
    datasets : dict label -> xarray.Dataset
        From :func:`trajmodes.potentials.bvk.shell_constants` (same lattice); constants missing from a source are skipped.
    path : str or Path
        Image file to write (format from the suffix).
    units : {"N/m", "eV/Angstrom^2", "dyn/cm"}
        ("eV/A^2" is taken for "eV/Angstrom^2"); the axis writes them typeset (N m⁻¹, eV Å⁻², dyn cm⁻¹).
    title : str, optional
        The run and its settings (the command line's: species, temperature, fit), added to the figure's heading after
        what it shows; None or empty: the heading alone.
    ax : matplotlib.axes.Axes, optional
        Draw into this panel of a figure of your own instead of a new figure.
    """
    from trajmodes.units import EV_A2_TO_N_M
    scale = {"N/m": 1.0, "dyn/cm": 1e3, "eV/Angstrom^2": 1.0 / EV_A2_TO_N_M, "eV/A^2": 1.0 / EV_A2_TO_N_M}[units]
    names: list[str] = []
    for ds in datasets.values():
        names += [str(n) for n in ds["constant"].values if str(n) not in names]
    x = np.arange(len(names))
    width = 0.8 / max(1, len(datasets))
    fig, ax = axes_for(ax, 1, 1, (max(6.0, 0.45 * len(names) + 2), 4))
    for i, (label, ds) in enumerate(datasets.items()):
        vals = dict(zip(map(str, ds["constant"].values), ds["value"].values * scale))
        v = np.array([vals.get(n, np.nan) for n in names])
        ax.bar(x - 0.4 + width * (i + 0.5), v, width, label=str(label))
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=60)
    ax.set_xlabel("neighbour shell and Cartesian component")
    ax.set_ylabel(axis_label("Born-von Kármán constant", units))
    head = "Born-von Kármán force constants by shell"
    ax.set_title(heading(head, title, fig), fontsize=9)
    ax.legend(loc="best")
    return finish(fig, path)
