"""Figures of the quasiharmonic minimisation: lattice parameters, thermal expansion, bulk moduli, Grueneisen
parameter and heat capacities against temperature."""
from __future__ import annotations

import numpy as np

from trajmodes.plots.figures import KB, axes_for, axis_label, finish, mesh_text, typeset
from trajmodes.units import KB_EV

__all__ = ["plot_quasiharmonic"]


def _scale_to(ax, values, keep) -> None:
    """y range of the points ``keep`` (with a margin), so that points near an instability do not flatten the rest;
    a note in the panel names what falls off scale."""
    v = np.asarray(values, float).reshape(len(keep), -1)
    shown = v[keep][np.isfinite(v[keep])]
    if not keep.all() and shown.size:
        lo, hi = shown.min(), shown.max()
        pad = 0.08 * (hi - lo) if hi > lo else 0.1 * max(abs(hi), 1e-12)
        ax.set_ylim(lo - pad, hi + pad)
        off = v[~keep]
        if np.any((off < lo - pad) | (off > hi + pad)):
            ax.text(0.02, 0.97, "points near the instability off scale", transform=ax.transAxes, fontsize=7,
                    va="top", color="tab:red")


def plot_quasiharmonic(ds, path: str | None = None, title: str = "", md=None, cube_edge: float | None = None, *, ax=None):
    """Six panels over temperature from :meth:`trajmodes.QuasiHarmonic.minimize`: lattice parameters (Å), the linear
    and volumetric thermal expansion (10⁻⁶ K⁻¹), isothermal and adiabatic bulk moduli (GPa), the Grüneisen parameter,
    C_V and C_P (k_B per atom), and the volume (Å³ per atom). ``cube_edge``: for a cubic crystal given by its
    primitive cell, the cube edge in units of the primitive vectors' length
    (:data:`trajmodes.lattice.prototypes.CUBE_EDGE`): the first panel then shows the cube edge a. ``md``: optional
    ``(T, a, a_err)`` lattice parameters from MD (Å, the same quantity as the first panel), drawn with their error
    bars. Minima flagged ``near_instability`` are drawn as red crosses, and the scales are those of the others.

    Parameters
    ----------
    ds : xarray.Dataset
        The minimum per temperature (K), from :meth:`trajmodes.QuasiHarmonic.minimize`.
    path : str, optional
        Image file to write, format from its extension (.png, .pdf, .svg); default none: the figure is only returned.
    title : str
        Heading over the figure (the command line's: the run, its temperature, the fit); empty: none.
    md : tuple of array_like, optional
        ``(T, a, a_err)``: temperatures (K), lattice parameters and their error bars (Å) measured in MD.
    cube_edge : float, optional
        The cube edge in units of the primitive vectors' length (dimensionless): the first panel shows a.
    ax : matplotlib.axes.Axes, optional
        Draw into this panel of a figure of your own instead of a new figure.
    """
    T = ds["temperature"].values
    fig, ax = axes_for(ax, 2, 3, (14.0, 7.5))
    ax = ax.ravel()
    lp = ds["lattice_parameters"].values
    style = "o-" if len(T) < 25 else "-"
    near = ds["near_instability"].values.astype(bool) if "near_instability" in ds else np.zeros(len(T), bool)
    keep = ~near

    def draw(a, y, fmt, label=None, **kw):
        y = np.asarray(y, float)
        line, = a.plot(T[keep], y[keep], fmt, ms=3, label=label, **kw)
        if near.any():
            a.plot(T[near], y[near], "x", color="tab:red", ms=6)
        return line

    if cube_edge is not None:
        draw(ax[0], lp[:, 0] * cube_edge, style, label="$a$ (cube edge)")
    else:
        for k, lab in enumerate("abc"):
            if k and np.allclose(lp[:, k], lp[:, 0], rtol=1e-9):
                continue
            draw(ax[0], lp[:, k], style, label=rf"$|\mathbf{{{lab}}}|$")
    if md is not None:
        t, a, err = (np.asarray(v, float) for v in md)
        ax[0].errorbar(t, a, yerr=err, fmt="s", color="k", ms=4, capsize=2, label="MD (NPT)")
    if near.any():
        ax[0].plot([], [], "x", color="tab:red", label="near the instability ($B_T$ < 1/4 of its low-$T$ value)")
    ax[0].set_ylabel(axis_label("lattice parameter", "A"))
    ax[0].legend(fontsize=8)
    if "thermal_expansion" in ds:
        al = ds["thermal_expansion"].values * 1e6
        for k, lab in enumerate(("xx", "yy", "zz")):
            if k and np.allclose(al[:, k], al[:, 0], rtol=1e-6, atol=1e-9):
                continue
            draw(ax[1], al[:, k], style, label=rf"$\alpha_{{{lab}}}$")
        draw(ax[1], ds["volumetric_expansion"].values * 1e6, "--", color="0.3", label=r"$\alpha_V$ (volume)")
        _scale_to(ax[1], np.column_stack([al, ds["volumetric_expansion"].values * 1e6]), keep)
        ax[1].set_ylabel("thermal expansion (10$^{-6}$ K$^{-1}$)")
        ax[1].axhline(0, color="0.8", lw=0.8)
        ax[1].legend(fontsize=8)
        draw(ax[2], ds["bulk_modulus_t"].values, style, label="$B_T$ (isothermal)")
        draw(ax[2], ds["bulk_modulus_s"].values, style, label="$B_S$ (adiabatic)")
        ax[2].set_ylabel("bulk modulus (GPa)")
        ax[2].legend(fontsize=8)
        draw(ax[3], ds["gruneisen"].values, style)
        _scale_to(ax[3], ds["gruneisen"].values, keep)
        ax[3].set_ylabel(r"Grüneisen parameter $\gamma = V \alpha_V B_T / C_V$")
    n_atoms = int(ds.attrs.get("n_atoms", 1))
    per_atom = 1.0 / (KB_EV * n_atoms)                                  # eV/K per cell -> k_B per atom
    draw(ax[4], ds["heat_capacity_v"].values * per_atom, style, label="$C_V$")
    cp = [ds["heat_capacity_v"].values * per_atom]
    if "heat_capacity_p" in ds:
        draw(ax[4], ds["heat_capacity_p"].values * per_atom, style, label="$C_P$")
        cp.append(ds["heat_capacity_p"].values * per_atom)
    ax[4].axhline(3.0, color="0.8", lw=0.8, ls=":")
    _scale_to(ax[4], np.column_stack(cp), keep)
    ax[4].set_ylabel(f"heat capacity ({KB} per atom; 3: Dulong-Petit)")
    ax[4].legend(fontsize=8)
    draw(ax[5], ds["volume"].values / n_atoms, style)
    ax[5].set_ylabel("volume (Å$^3$ per atom)")
    for a in ax:
        a.set_xlabel("temperature (K)")
    m = [int(x) for x in np.atleast_1d(ds.attrs.get("mesh", []))]
    grid = f"{mesh_text(m)} mesh" if len(m) == 3 else f"the q of supercell {np.reshape(m, (3, 3)).tolist()}"
    head = (f"quasiharmonic free energy minimised at each temperature ({ds.attrs.get('occupation', '')} statistics, "
            f"{grid}, p = {ds.attrs.get('pressure_GPa', 0):g} GPa, "
            f"internal coordinates: {ds.attrs.get('internal', '')})")
    fig.suptitle(f"{typeset(title)}\n{head}" if title else head, fontsize=10)
    return finish(fig, path)
