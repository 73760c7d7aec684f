"""Per-mode energies from projected mode amplitudes (:func:`trajmodes.project`), streamed.

E(q,s) = 1/2 |Q'|^2 + 1/2 w^2 |Q|^2, w = 2 pi nu_harmonic (1/ps), Q in amu^1/2 Å, Q' in amu^1/2 Å/ps;
energies in eV (factor :data:`trajmodes.units.AMU_A2_PS2_EV`).  Classically <KE> = <PE> = k_B T / 2 and
<E> = k_B T per mode (classical equipartition).  For an imaginary harmonic frequency (reported negative) w^2 < 0.
"""
from __future__ import annotations

import dask
import dask.array as da
import numpy as np

from trajmodes.units import AMU_A2_PS2_EV, KB_EV

__all__ = ["mode_energies", "energy_series", "frozen_energy_fraction"]

#: harmonic frequency (THz) below which a mode counts as a Gamma-point translation (excluded from T)
ACOUSTIC_TOL = 1e-3


def _energy_series(modes):
    """Harmonic frequencies (q, branch) THz and the lazy kinetic and potential energies (time, q, branch) eV of every
    mode, the formulas of the module docstring."""
    nu = np.asarray(modes["frequency_harmonic"].values, float)
    w2 = np.sign(nu) * (2 * np.pi * nu) ** 2                       # 1/ps^2
    Q, Qd = modes["Q"].data, modes["Qdot"].data
    ke_t = 0.5 * AMU_A2_PS2_EV * (Qd.real ** 2 + Qd.imag ** 2)     # lazy (time, q, branch)
    pe_t = 0.5 * AMU_A2_PS2_EV * w2[None] * (Q.real ** 2 + Q.imag ** 2)
    return nu, ke_t, pe_t


def _temperature(ke, translation, temperature) -> tuple[float, str]:
    """The temperature given, or 2 <KE> / k_B over the modes that are not translations: (K, its source)."""
    if temperature is not None:
        return float(temperature), "given"
    sel = ~translation
    return (float(2 * ke[sel].mean() / KB_EV) if sel.any() else float("nan")), "kinetic"


def energy_series(modes):
    """The lazy kinetic and potential energies (time, q, branch) eV of every mode, as a dict for
    :func:`trajmodes.mode_spectra`'s ``time_means`` (their means in the spectra's pass, then given to
    :func:`mode_energies` as ``means``)."""
    _, ke_t, pe_t = _energy_series(modes)
    return {"kinetic": ke_t, "potential": pe_t}


def mode_energies(modes, temperature: float | None = None, time_series: bool = False, decimate: int = 10,
                  means: tuple | None = None):
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
    means : (kinetic, potential), optional
        The time means (q, branch) eV, already computed in another pass over the run (the ``mean_kinetic`` and
        ``mean_potential`` of :func:`trajmodes.mode_spectra` given :func:`energy_series`): the run is not read again
        for them (only for ``time_series``, when asked).

    Returns
    -------
    xarray.Dataset (computed; one pass over the trajectory)
        ``kinetic``, ``potential``, ``total`` (q, branch) eV; ``equipartition`` = <E>/(k_B T);
        ``mode_temperature`` = 2 <KE>/k_B (K); ``translation`` (q, branch) bool; attrs
        ``temperature`` (K) and ``temperature_source`` ("given" or "kinetic").
    """
    import xarray as xr
    nu, ke_t, pe_t = _energy_series(modes)
    parts = [ke_t.mean(axis=0), pe_t.mean(axis=0)]
    nt = ke_t.shape[0]
    d = max(1, int(decimate))
    nb = nt // d
    if time_series:
        if nb == 0:
            raise ValueError(f"decimate={d} exceeds the {nt} frames")
        parts += [ke_t[:nb * d].reshape(nb, d, *ke_t.shape[1:]).mean(axis=1),
                  pe_t[:nb * d].reshape(nb, d, *pe_t.shape[1:]).mean(axis=1)]
    if means is not None:                   # the means are known: only the time series (if asked) is computed
        res = [np.asarray(means[0], float), np.asarray(means[1], float), *dask.compute(*parts[2:])]
    else:
        res = dask.compute(*parts)
    ke, pe = res[0], res[1]
    translation = np.abs(nu) < ACOUSTIC_TOL
    T, source = _temperature(ke, translation, temperature)
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


def _set_sums(series, labels: np.ndarray, n_sets: int):
    """Sums of the columns of ``series`` (time, mode) over the sets ``labels`` (mode,) gives them: (time, set), lazy
    where ``series`` is; a sparse membership matrix (a dense one of modes x sets is 8.6 GB for the 324,000 modes of a
    108,000-atom cell)."""
    from scipy import sparse
    members = sparse.csr_matrix((np.ones(labels.size), (np.arange(labels.size), labels)), shape=(labels.size, n_sets))
    if not isinstance(series, da.Array):
        return np.asarray(members.T @ np.asarray(series).T).T
    series = series.rechunk({1: -1})
    return series.map_blocks(lambda b: np.asarray(members.T @ b.T).T, chunks=(series.chunks[0], (n_sets,)),
                             dtype=series.dtype)


def frozen_energy_fraction(modes, temperature: float | None = None, degeneracy_tol: float = 1e-4):
    """How much of its canonical energy fluctuation each set of degenerate modes kept frozen over the run.

    In a canonical ensemble of classical harmonic crystals the energy of a set of g degenerate modes fluctuates with
    variance g (k_B T)^2 (each mode's energy is exponentially distributed). A run samples part of that fluctuation in
    time (the variance of the set's energy over the run's frames) and keeps the rest as its own offset, fixed when
    the run started: a nearly harmonic crystal under NVE or one global thermostat hardly moves energy between its
    modes (W. G. Hoover, Phys. Rev. A 31, 1695 (1985)). By the law of total variance the frozen part is
    f = 1 - var_t(E_set) / (g (k_B T)^2), clipped to [0, 1]: 0 for sets whose energy the run exchanged fully, 1 for
    sets that kept theirs. A set is every mode of every q-point whose harmonic frequency lies within
    ``degeneracy_tol`` of another's (a star of q and its degenerate branches: energy moves freely within one).

    Parameters
    ----------
    modes : xarray.Dataset
        From :func:`trajmodes.project` at the q-points commensurate with the MD supercell (every normal mode of the
        run's cell).
    temperature : float, optional
        K; default from the modes' kinetic energies (as :func:`mode_energies`).
    degeneracy_tol : float
        Branches at the same q whose harmonic frequencies differ by less than this are taken as degenerate, THz.

    Returns
    -------
    xarray.Dataset (computed; one pass over the trajectory)
        ``frozen_fraction`` (q, branch) in [0, 1], 0 for the translations; ``energy`` (q, branch) eV, the run's mean
        energy of the mode; ``set_variance`` (q, branch) eV², var_t of the energy of the mode's set; ``set_size``
        (q, branch) g; attrs ``temperature`` (K), ``temperature_source`` and ``kinetic_variance_ratio``: the variance
        over the run of the vibrating modes' kinetic energy over its canonical value, n (k_B T)^2 / 2 for n modes
        (classical). About 1 under a thermostat; about 1/2 for a run at constant energy (NVE): there the kinetic
        energy fluctuates by 1 - 3 N k_B / (2 C_V) of its canonical variance, 1/2 for a harmonic crystal
        (J. L. Lebowitz, J. K. Percus and L. Verlet, Phys. Rev. 153, 250 (1967)), which tells an NVE run from its
        velocities alone.
    """
    import xarray as xr

    from trajmodes.phonons.harmonic.degeneracy import degenerate_labels
    nu, ke_t, pe_t = _energy_series(modes)
    translation = np.abs(nu) < ACOUSTIC_TOL
    labels = degenerate_labels(np.where(translation, -1.0, nu).reshape(1, -1), degeneracy_tol)[0]
    n_sets = int(labels.max()) + 1
    e_t = ke_t + pe_t
    sets_t = _set_sums(e_t.reshape(e_t.shape[0], -1), labels, n_sets)   # (time, set)
    k_t = ke_t.reshape(ke_t.shape[0], -1) @ (~translation).reshape(-1).astype(float)   # (time,) kinetic energy
    ke, e, m1, m2, k1, k2 = dask.compute(ke_t.mean(axis=0), e_t.mean(axis=0), sets_t.mean(axis=0),
                                         (sets_t ** 2).mean(axis=0), k_t.mean(), (k_t ** 2).mean())
    T, source = _temperature(ke, translation, temperature)
    size = np.bincount(labels, minlength=n_sets).astype(float)
    n_t = int(e_t.shape[0])
    unbiased = n_t / (n_t - 1) if n_t > 1 else np.nan              # variances over the run's n frames: n / (n - 1)
    var = np.maximum(m2 - m1 ** 2, 0.0) * unbiased
    frozen = np.clip(1.0 - var / (size * (KB_EV * T) ** 2), 0.0, 1.0)
    shape = nu.shape
    frozen = np.where(translation, 0.0, frozen[labels].reshape(shape))
    n_vib = int((~translation).sum())
    kinetic_ratio = float(max(float(k2) - float(k1) ** 2, 0.0) * unbiased / (0.5 * n_vib * (KB_EV * T) ** 2)) \
        if n_vib else np.nan
    dims = ("q", "branch")
    return xr.Dataset(
        {"frozen_fraction": (dims, frozen, {"units": "1", "long_name": "1 - var_t(E_set) / (g (k_B T)^2)"}),
         "energy": (dims, e, {"units": "eV", "long_name": "mean energy of the mode"}),
         "set_variance": (dims, var[labels].reshape(shape), {"units": "eV^2",
                                                            "long_name": "variance over the run of the set's energy"}),
         "set_size": (dims, size[labels].reshape(shape), {"units": "1"})},
        coords={"qpoint": modes["qpoint"], "frequency_harmonic": modes["frequency_harmonic"]},
        attrs={"temperature": T, "temperature_source": source, "degeneracy_tol": float(degeneracy_tol),
               "degeneracy_tol_units": "THz", "kinetic_variance_ratio": kinetic_ratio})
