"""Green-Kubo modal analysis: the conductivity of an MD run split over the modes of its crystal (Lv and Henry, New J.
Phys. 18, 013028 (2016)).

The heat current is linear in the velocities, J = sum_i G_i v_i, with G_i = e_i 1 - S_i each atom's energy and
stress (:func:`~trajmodes.io.trajectories.base.heat_flux_matrices`). The velocities are the sum of their parts on
the modes (q, s) of the supercell, so the current is the sum of the modal currents J_qs = sum_i G_i v_i^(qs), and
the Green-Kubo integral, linear in its later current, is the sum of the modes' shares

    kappa_qs^ab = 1 / (V k_B T^2) int_0^tau <J_qs,a(t) J_b(0)> dt       (symmetrised in a, b),

which sum to the running integral of the total at the same tau to rounding (not a fit, not a sum of lifetimes).
In one pass over the frames: with the trapezoids and the unbiased estimator of the running integral
(:func:`~trajmodes.transport.cepstral.green_kubo_integral`), sum_t J_qs,a(t) K_b(t) is the share of mode (q, s),
K(t) = sum_{l = 0}^{L} w_l / (N - l) J(t - l) the total current filtered by the integral's weights, so that no
modal current is held beyond its chunk of frames.
"""
from __future__ import annotations

import uuid

import numpy as np

__all__ = ["modal_conductivity", "spectrum_bins", "frequency_spectrum"]


def spectrum_bins(n_modes: int) -> int:
    """Frequency bins of the modal spectrum kappa(omega) by default: about the square root of the modes (a few
    modes in each), 4 to 40."""
    return int(max(4, min(40, round(np.sqrt(n_modes)))))


def frequency_spectrum(frequencies, shares, edges) -> np.ndarray:
    """kappa(omega): the modes' shares of a conductivity (any shape, W/(m K)) summed in the frequency bins ``edges``
    (THz; the modes' ``frequencies``, the same shape) over each bin's width, W/(m K THz); its integral over the bins is
    the sum of the shares of the modes inside them (a mode outside the bins counts in none)."""
    edges = np.asarray(edges, float)
    return np.histogram(np.ravel(frequencies), bins=edges, weights=np.ravel(shares))[0] / np.diff(edges)


def modal_conductivity(traj, phonons, *, current: tuple | None = None, max_time: float | None = None,
                       bins: int | None = None):
    """The Green-Kubo conductivity of a run split over the modes of its crystal at every q of its supercell.

    Parameters
    ----------
    traj : Trajectory
        A run whose frames give each atom's share of the heat current (a LAMMPS dump with per-atom potential energies,
        stresses and velocities, every frame at the same interval; the centroid stress for a many-body potential).
    phonons : Phonons
        The crystal's modes (the run's own fitted constants, or a potential's).
    current : tuple, optional
        (current (frames, 3) eV A/ps, temperature K, volume A^3) of the run where they are known
        (:func:`~trajmodes.transport.current.heat_current_of_run`, whose pass this saves).
    max_time : float, optional
        ps, the upper limit tau of the Green-Kubo integral (default a tenth of the run, as
        :func:`~trajmodes.transport.cepstral.green_kubo_integral`).
    bins : int, optional
        Frequency bins of ``kappa_spectrum`` (default :func:`spectrum_bins`).

    Returns
    -------
    xarray.Dataset
        ``kappa_mode`` (qpoint, branch, a, b) W/(m K), each mode's share; ``frequency`` (qpoint, branch) THz;
        ``kappa_branch`` (branch, a, b) W/(m K); ``kappa_spectrum`` (frequency_bin) W/(m K THz), the mean of the
        diagonal per unit frequency (its integral over the bins is the total's); ``kappa`` (a, b) W/(m K), the sum of
        the modes, and ``kappa_green_kubo`` (a, b), the running integral of the total current at ``max_time``; the
        attributes give the temperature, volume, frame interval, tau, and ``current_residual``, the rms of
        sum_qs J_qs - J over the rms of J (rounding).
    """
    import dask
    import xarray as xr
    from trajmodes.modes.projection import run_projector
    from trajmodes.transport.cepstral import green_kubo_integral, green_kubo_scale
    from trajmodes.transport.current import heat_current_of_run
    if not getattr(traj.source, "has_heat_flux", False):
        raise ValueError(f"{traj.source.describe()}: the modal analysis needs each atom's share of the heat current: "
                         "a LAMMPS dump with per-atom potential energies (c_pe), stresses (c_ID[1..9] of compute "
                         "centroid/stress/atom) and velocities, and the atoms' masses (--species)")
    steps = np.diff(np.asarray(traj.times, float))
    if len(steps) < 3 or not np.allclose(steps, steps[0], rtol=1e-6, atol=0):
        raise ValueError(f"{traj.source.describe()}: the modal analysis needs at least 4 frames at one interval "
                         f"(the frames are {len(steps) + 1}, at intervals {np.unique(np.round(steps, 9))[:4]} ps)")
    dt = float(steps[0])
    current, temperature, volume = heat_current_of_run(traj) if current is None else current
    n = len(current)
    lags = n // 10 if max_time is None else int(round(float(max_time) / dt))
    lags = max(2, min(lags, n - 1))
    total = green_kubo_integral(current, dt, temperature, volume, max_time=lags * dt)
    weights = np.ones(lags + 1)
    weights[[0, -1]] = 0.5
    taps = weights / (n - np.arange(lags + 1))
    from scipy.signal import fftconvolve
    filtered = fftconvolve(current, taps[:, None], axes=0)[:n]          # K(t) = sum_l taps[l] J(t - l)
    matrix, q, freqs, projector, masses = run_projector(traj, phonons)
    nq, nb = freqs.shape
    bounds = traj.chunk_bounds()
    parts = traj.map_chunks(_modal_sums, projector, masses, layer=("velocities", "heat_flux"),
                            shape=(nq * nb * 9 + 2,), dtype=np.float64, per_chunk=True,
                            chunk_args=[filtered[a:b] for a, b in zip(bounds[:-1], bounds[1:])],
                            name="trajmodes-gkma-" + uuid.uuid4().hex)
    sums = dask.compute(parts.sum(axis=0))[0]
    m = sums[:-2].reshape(nq, nb, 3, 3)
    kappa_mode = green_kubo_scale(volume, temperature) * dt * 0.5 * (m + m.transpose(0, 1, 3, 2))
    residual = float(np.sqrt(sums[-2] / max(sums[-1], 1e-300)))
    mean = np.einsum("qsaa->qs", kappa_mode) / 3.0
    top = float(freqs.max()) if freqs.size else 1.0
    bins = spectrum_bins(freqs.size) if bins is None else int(bins)
    edges = np.linspace(min(0.0, float(freqs.min())), top * (1 + 1e-9), bins + 1)
    spectrum = frequency_spectrum(freqs, mean, edges)
    wmk = {"units": "W/(m K)"}
    axes = ["x", "y", "z"]
    return xr.Dataset(
        {"kappa_mode": (("qpoint", "branch", "a", "b"), kappa_mode, dict(wmk, long_name="each mode's share")),
         "frequency": (("qpoint", "branch"), freqs, {"units": "THz"}),
         "kappa_branch": (("branch", "a", "b"), kappa_mode.sum(axis=0), wmk),
         "kappa_spectrum": (("frequency_bin",), spectrum, {"units": "W/(m K THz)",
                                                           "long_name": "mean of the diagonal per unit frequency"}),
         "kappa": (("a", "b"), kappa_mode.sum(axis=(0, 1)), dict(wmk, long_name="sum of the modes")),
         "kappa_green_kubo": (("a", "b"), total["kappa"].values[-1],
                              dict(wmk, long_name="running integral of the total current at tau"))},
        coords={"q": (("qpoint", "reduced"), q), "a": axes, "b": axes,
                "frequency_bin": ("frequency_bin", 0.5 * (edges[1:] + edges[:-1]), {"units": "THz"}),
                "frequency_edge": ("frequency_edge", edges, {"units": "THz", "long_name": "the bins' edges"})},
        attrs={"temperature_K": float(temperature), "volume_A3": float(volume), "dt_ps": dt, "tau_ps": lags * dt,
               "supercell_matrix": np.asarray(matrix, dtype=np.int64).ravel().tolist(),
               "current_residual": residual,
               "method": "Green-Kubo modal analysis (Lv and Henry, New J. Phys. 18, 013028 (2016))"})


def _modal_sums(data: dict, projector, masses: np.ndarray, filtered: np.ndarray) -> np.ndarray:
    """One chunk's sums: sum_t J_qs,a(t) K_b(t) for every mode and pair of components, then sum_t |sum_qs J_qs - J|^2
    and sum_t |J|^2 (the check that the modal currents add up to the current).

    The modal current is Re(Qdot_qs conj(H_qs,a)), Qdot the velocities' projection and H_a that of G_i,a / m_i (row a
    of each atom's heat-flux matrix over its mass): the back projection of the mode's velocity dotted with G_i,a,
    written as a projection."""
    v, g = data["velocities"], data["heat_flux"]
    qdot = projector(v)                                                    # (f, nq, 3n)
    f, nq, nb = qdot.shape
    modal = np.empty((f, nq, nb, 3))
    for a in range(3):
        h = projector(np.ascontiguousarray(g[:, :, a, :] / masses[None, :, None]))
        modal[..., a] = (qdot * np.conj(h)).real
    out = np.empty(nq * nb * 9 + 2)
    out[:-2] = np.einsum("tqsa,tb->qsab", modal, filtered).ravel()
    current = np.einsum("taxb,tab->tx", g, v)
    out[-2] = float(((modal.sum(axis=(1, 2)) - current) ** 2).sum())
    out[-1] = float((current ** 2).sum())
    return out[None]
