"""Figures of the quasiharmonic minimisation: lattice parameters, thermal expansion, bulk moduli, Grueneisen
parameter and heat capacities against temperature."""
from __future__ import annotations

import numpy as np

from trajmodes.plots.figures import figure, save
from trajmodes.units import EV_J, AVOGADRO

__all__ = ["plot_quasiharmonic"]


def plot_quasiharmonic(ds, path: str, title: str = "", md=None, cube_edge: float | None = None) -> None:
    """Six panels over temperature from :meth:`trajmodes.QuasiHarmonic.minimize`: lattice parameters (A), the linear
    and volumetric thermal expansion (1e-6/K), isothermal and adiabatic bulk moduli (GPa), the Grueneisen parameter,
    C_V and C_P (J/(K mol) of cells), and the volume. ``cube_edge``: for a cubic crystal given by its primitive cell,
    the cube edge in units of the primitive vectors' length (:data:`trajmodes.lattice.prototypes.CUBE_EDGE`): the
    first panel then shows the cube edge a. ``md``: optional ``(T, a, a_err)`` lattice parameters from MD (A, the same
    quantity as the first panel), drawn with their error bars."""
    T = ds["temperature"].values
    fig, ax = figure(2, 3, (14.0, 7.5))
    ax = ax.ravel()
    lp = ds["lattice_parameters"].values
    style = "o-" if len(T) < 25 else "-"
    if cube_edge is not None:
        ax[0].plot(T, lp[:, 0] * cube_edge, style, ms=3, label="a (cube edge)")
    else:
        for k, lab in enumerate("abc"):
            if k and np.allclose(lp[:, k], lp[:, 0], rtol=1e-9):
                continue
            ax[0].plot(T, lp[:, k], style, ms=3, label=f"|{lab}|")
    if md is not None:
        t, a, err = (np.asarray(v, float) for v in md)
        ax[0].errorbar(t, a, yerr=err, fmt="s", color="k", ms=4, capsize=2, label="MD (NPT)")
    ax[0].set_ylabel("lattice parameter (A)")
    ax[0].legend(fontsize=8)
    if "thermal_expansion" in ds:
        al = ds["thermal_expansion"].values * 1e6
        for k, lab in enumerate(("xx", "yy", "zz")):
            if k and np.allclose(al[:, k], al[:, 0], rtol=1e-6, atol=1e-9):
                continue
            ax[1].plot(T, al[:, k], style, ms=3, label=f"alpha_{lab}")
        ax[1].plot(T, ds["volumetric_expansion"].values * 1e6, "--", color="0.3", label="alpha_V")
        ax[1].set_ylabel("thermal expansion (1e-6 / K)")
        ax[1].axhline(0, color="0.8", lw=0.8)
        ax[1].legend(fontsize=8)
        ax[2].plot(T, ds["bulk_modulus_t"].values, style, ms=3, label="B_T (isothermal)")
        ax[2].plot(T, ds["bulk_modulus_s"].values, style, ms=3, label="B_S (adiabatic)")
        ax[2].set_ylabel("bulk modulus (GPa)")
        ax[2].legend(fontsize=8)
        ax[3].plot(T, ds["gruneisen"].values, style, ms=3)
        ax[3].set_ylabel("Grueneisen parameter V alpha_V B_T / C_V")
    per_mol = EV_J * AVOGADRO                                          # eV/K per cell -> J/(K mol of cells)
    ax[4].plot(T, ds["heat_capacity_v"].values * per_mol, style, ms=3, label="C_V")
    if "heat_capacity_p" in ds:
        ax[4].plot(T, ds["heat_capacity_p"].values * per_mol, style, ms=3, label="C_P")
    ax[4].set_ylabel("heat capacity (J / (K mol of cells))")
    ax[4].legend(fontsize=8)
    ax[5].plot(T, ds["volume"].values, style, ms=3)
    ax[5].set_ylabel("volume (A^3 per cell)")
    for a in ax:
        a.set_xlabel("temperature (K)")
    m = [int(x) for x in np.atleast_1d(ds.attrs.get("mesh", []))]
    grid = f"mesh {'x'.join(map(str, m))}" if len(m) == 3 else f"the q of supercell {np.reshape(m, (3, 3)).tolist()}"
    head = (f"quasiharmonic ({ds.attrs.get('occupation', '')} statistics, {grid}, "
            f"p = {ds.attrs.get('pressure_GPa', 0):g} GPa, "
            f"internal coordinates: {ds.attrs.get('internal', '')})")
    fig.suptitle(f"{title}\n{head}" if title else head, fontsize=10)
    save(fig, path)
