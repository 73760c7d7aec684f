"""Per-mode energies from projected mode amplitudes (:func:`trajmodes.project`), streamed.

E(q,s) = 1/2 |Q'|^2 + 1/2 w^2 |Q|^2, w = 2 pi nu_harmonic (1/ps), Q in amu^1/2 A, Q' in amu^1/2 A/ps;
energies in eV (factor :data:`trajmodes.units.AMU_A2_PS2_EV`).  Classically <KE> = <PE> = k_B T / 2 and
<E> = k_B T per mode (classical equipartition).  For an imaginary harmonic frequency (reported negative) w^2 < 0.
"""
from __future__ import annotations

import dask
import numpy as np

from trajmodes.units import AMU_A2_PS2_EV, KB_EV

__all__ = ["mode_energies"]

#: harmonic frequency (THz) below which a mode counts as a Gamma-point translation (excluded from T)
ACOUSTIC_TOL = 1e-3


def mode_energies(modes, temperature: float | None = None, time_series: bool = False, decimate: int = 10):
    """Mean kinetic, potential and total energy of every mode, equipartition ratio and mode temperature.

    Parameters
    ----------
    modes : xarray.Dataset
        From :func:`trajmodes.project` (``Q``, ``Qdot``, ``frequency_harmonic``).
    temperature : float, optional
        K. Default: from the kinetic energies, T = 2 <KE> / k_B averaged over all modes except the
        translations (``|nu_harmonic| < ACOUSTIC_TOL`` THz).
    time_series : bool
        Also return ``kinetic_t``, ``potential_t`` (time_d, q, branch): energies averaged over
        consecutive blocks of ``decimate`` frames (coordinate ``time_d``, the block mid-times).
    decimate : int
        Frames per block of the time series.

    Returns
    -------
    xarray.Dataset (computed; one pass over the trajectory)
        ``kinetic``, ``potential``, ``total`` (q, branch) eV; ``equipartition`` = <E>/(k_B T);
        ``mode_temperature`` = 2 <KE>/k_B (K); ``translation`` (q, branch) bool; attrs
        ``temperature`` (K) and ``temperature_source`` ("given" or "kinetic").
    """
    import xarray as xr
    nu = np.asarray(modes["frequency_harmonic"].values, float)
    w2 = np.sign(nu) * (2 * np.pi * nu) ** 2                       # 1/ps^2
    Q, Qd = modes["Q"].data, modes["Qdot"].data
    ke_t = 0.5 * AMU_A2_PS2_EV * (Qd.real ** 2 + Qd.imag ** 2)     # lazy (time, q, branch)
    pe_t = 0.5 * AMU_A2_PS2_EV * w2[None] * (Q.real ** 2 + Q.imag ** 2)
    parts = [ke_t.mean(axis=0), pe_t.mean(axis=0)]
    nt = ke_t.shape[0]
    d = max(1, int(decimate))
    nb = nt // d
    if time_series:
        if nb == 0:
            raise ValueError(f"decimate={d} exceeds the {nt} frames")
        parts += [ke_t[:nb * d].reshape(nb, d, *ke_t.shape[1:]).mean(axis=1),
                  pe_t[:nb * d].reshape(nb, d, *pe_t.shape[1:]).mean(axis=1)]
    res = dask.compute(*parts)
    ke, pe = res[0], res[1]
    translation = np.abs(nu) < ACOUSTIC_TOL
    if temperature is None:
        sel = ~translation
        T = float(2 * ke[sel].mean() / KB_EV) if sel.any() else float("nan")
        source = "kinetic"
    else:
        T, source = float(temperature), "given"
    dims = ("q", "branch")
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = (ke + pe) / (KB_EV * T)
    data = {"kinetic": (dims, ke, {"units": "eV", "long_name": "<1/2 |Qdot|^2>"}),
            "potential": (dims, pe, {"units": "eV", "long_name": "<1/2 w^2 |Q|^2>, w = 2 pi nu_harmonic"}),
            "total": (dims, ke + pe, {"units": "eV"}),
            "equipartition": (dims, ratio, {"units": "1", "long_name": "<E> / (k_B T)"}),
            "mode_temperature": (dims, 2 * ke / KB_EV, {"units": "K", "long_name": "2 <KE> / k_B"}),
            "translation": (dims, translation, {"long_name": "rigid translation (Gamma acoustic)"})}
    coords = {"qpoint": modes["qpoint"], "frequency_harmonic": modes["frequency_harmonic"]}
    if time_series:
        t = np.asarray(modes["time"].values, float)[:nb * d].reshape(nb, d).mean(axis=1)
        coords["time_d"] = ("time_d", t, {"units": "ps"})
        data["kinetic_t"] = (("time_d",) + dims, res[2], {"units": "eV"})
        data["potential_t"] = (("time_d",) + dims, res[3], {"units": "eV"})
    return xr.Dataset(data, coords=coords,
                      attrs={"temperature": T, "temperature_source": source, "decimate": d,
                             "units": "energies eV, temperature K"})
