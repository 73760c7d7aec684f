"""The Green-Kubo conductivity of an MD run split by what carries the heat: over the modes of its crystal (Green-Kubo
modal analysis, Lv and Henry, New J. Phys. 18, 013028 (2016)) or over the frequency of the atoms' vibrations (the
spectral decomposition; Fan et al., Phys. Rev. B 99, 064308 (2019), who resolve the virial-velocity correlation by
frequency).

The heat current is linear in the velocities, J = sum_i G_i v_i, with G_i = e_i 1 - S_i each atom's energy and
stress (:func:`~trajmodes.io.trajectories.base.heat_flux_matrices`). Split the velocities into parts that add up to
them (their parts on the modes (q, s) of the supercell at every q; or the bands of their frequency spectrum), and the
current is the sum of the parts' currents J_p = sum_i G_i v_i^(p); the Green-Kubo integral, linear in its later
current, is the sum of the parts' shares

    kappa_p^ab = 1 / (V k_B T^2) int_0^tau <J_p,a(t) J_b(0)> dt       (symmetrised in a, b),

which sum to the running integral of the total at the same tau to rounding (not a fit, not a sum of lifetimes).
With the trapezoids and the unbiased estimator of the running integral
(:func:`~trajmodes.transport.cepstral.green_kubo_integral`), sum_t J_p,a(t) K_b(t) is the share of part p,
K(t) = sum_{l = 0}^{L} w_l / (N - l) J(t - l) the total current filtered by the integral's weights
(:func:`integral_filter`), so that no part's current is held beyond its chunk of frames.
"""
from __future__ import annotations

import uuid

import numpy as np

__all__ = ["modal_conductivity", "spectral_conductivity", "spectrum_bins", "frequency_spectrum", "integral_filter",
           "run_interval", "POWER_BAND", "heat_band", "spectral_memory"]


def spectrum_bins(n_modes: int) -> int:
    """Frequency bins of the modal spectrum kappa(omega) by default: about the square root of the modes (a few
    modes in each), 4 to 40.

    Parameters
    ----------
    n_modes : int
        The number of modes the spectrum bins.
    """
    return int(max(4, min(40, round(np.sqrt(n_modes)))))


def run_interval(traj, what: str) -> float:
    """The interval between the frames of ``traj`` (ps), which must be one, for ``what`` (words), with a run whose
    frames give each atom's share of the heat current; a clear error otherwise.

    Parameters
    ----------
    traj : Trajectory
        The run, frames at one interval with the per-atom heat-current terms.
    what : str
        What needs the interval, in words ("the modal conductivity"), named in the error.
    """
    if not getattr(traj.source, "has_heat_flux", False):
        from trajmodes.transport.current import heat_current_missing
        raise ValueError(heat_current_missing(traj, what=what))
    steps = np.diff(np.asarray(traj.times, float))
    if len(steps) < 3 or not np.allclose(steps, steps[0], rtol=1e-6, atol=0):
        raise ValueError(f"{traj.source.describe()}: {what} needs at least 4 frames at one interval (the frames are "
                         f"{len(steps) + 1}, at intervals {np.unique(np.round(steps, 9))[:4]} ps)")
    return float(steps[0])


def integral_filter(current, dt: float, temperature: float, volume: float, max_time: float | None = None):
    """The running Green-Kubo integral of ``current`` (frames, 3) eV Å/ps up to ``max_time`` ps (default a tenth of the
    run) and the current filtered by its weights, K(t) = sum_{l = 0}^{L} w_l / (N - l) J(t - l) (trapezoids w, L the
    lags): sum_t J_p,a(t) K_b(t) dt / (V k_B T^2) is the share of a part J_p of the current in the integral's ab
    component at L.

    Parameters
    ----------
    current : ndarray (frames, 3)
        The volume-integrated heat current, eV Å/ps.
    dt : float
        ps between frames.
    temperature : float
        The run's temperature, K.
    volume : float
        Å³.
    max_time : float, optional
        ps, the end of the running integral; default a tenth of the run.

    Returns
    -------
    (L, the integral's dataset (:func:`~trajmodes.transport.cepstral.green_kubo_integral`), K (frames, 3))
    """
    from scipy.signal import fftconvolve
    from trajmodes.transport.cepstral import green_kubo_integral, integral_lags
    current = np.asarray(current, float)
    n = len(current)
    lags, _ = integral_lags(n, dt, max_time)
    total = green_kubo_integral(current, dt, temperature, volume, max_time=lags * dt)
    weights = np.ones(lags + 1)
    weights[[0, -1]] = 0.5
    taps = weights / (n - np.arange(lags + 1))
    return lags, total, fftconvolve(current, taps[:, None], axes=0)[:n]


def heat_band(split, share: float = 0.8) -> tuple[float, float]:
    """THz, the band of frequencies that holds the middle ``share`` of the conductivity of a split over frequency
    bands (:func:`spectral_conductivity`; the mean of the diagonal): from the edge below which (1 - share) / 2 of it
    lies to the one above which as much lies.

    Parameters
    ----------
    split : xarray.Dataset
        The conductivity split over frequency bands (:func:`spectral_conductivity`).
    share : float
        The share of the conductivity inside the band (0 to 1).
    """
    mean = np.einsum("baa->b", split["kappa_band"].values) / 3
    cum = np.cumsum(mean) / (mean.sum() if mean.sum() != 0 else 1.0)
    edges = split["frequency_edge"].values
    tail = 0.5 * (1.0 - float(share))
    lo = int(np.searchsorted(cum, tail))
    hi = min(int(np.searchsorted(cum, 1.0 - tail)) + 1, len(edges) - 1)
    return float(edges[lo]), float(edges[hi])


def frequency_spectrum(frequencies, shares, edges) -> np.ndarray:
    """kappa(omega): the modes' shares of a conductivity (any shape, W/(m K)) summed in the frequency bins ``edges``
    (THz; the modes' ``frequencies``, the same shape) over each bin's width, W/(m K THz); its integral over the bins is
    the sum of the shares of the modes inside them (a mode outside the bins counts in none).

    Parameters
    ----------
    frequencies : array_like
        Frequency of every mode, THz.
    shares : array_like
        Each mode's share of the conductivity, W/(m K), the shape of ``frequencies``.
    edges : array_like (n_bins + 1,)
        Bin edges, THz, ascending.
    """
    edges = np.asarray(edges, float)
    return np.histogram(np.ravel(frequencies), bins=edges, weights=np.ravel(shares))[0] / np.diff(edges)


def modal_conductivity(traj, phonons, *, current: tuple | None = None, max_time: float | None = None,
                       bins: int | None = None, flux: tuple | None = None):
    """The Green-Kubo conductivity of a run split over the modes of its crystal at every q of its supercell.

    Parameters
    ----------
    traj : Trajectory
        A run whose frames give each atom's share of the heat current (a LAMMPS dump with per-atom potential energies,
        stresses and velocities, every frame at the same interval; the centroid stress for a many-body potential).
    phonons : Phonons
        The crystal's modes (the run's own fitted constants, or a potential's).
    current : tuple, optional
        (current (frames, 3) eV Å/ps, temperature K, volume Å³) of the run where they are known
        (:func:`~trajmodes.transport.current.heat_current_of_run`, whose pass this saves).
    max_time : float, optional
        ps, the upper limit tau of the Green-Kubo integral (default a tenth of the run, as
        :func:`~trajmodes.transport.cepstral.green_kubo_integral`).
    bins : int, optional
        Frequency bins of ``kappa_spectrum`` (default :func:`spectrum_bins`).
    flux : tuple, optional
        (velocities (frames, atoms, 3) Å/ps, heat-flux matrices (frames, atoms, 3, 3) eV) of every frame where they
        are held (:func:`~trajmodes.transport.current.heat_current_of_run` with ``hold_flux``): no frame is read.
        Without them the frames are read in a pass of their own: each mode's share needs the total current filtered
        by the integral's weights, which needs the whole current first.

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
    from trajmodes.transport.cepstral import green_kubo_scale
    from trajmodes.transport.current import heat_current_of_run
    dt = run_interval(traj, "the modal analysis")
    current, temperature, volume = heat_current_of_run(traj) if current is None else current
    lags, total, filtered = integral_filter(current, dt, temperature, volume, max_time)
    matrix, q, freqs, projector, masses = run_projector(traj, phonons)
    nq, nb = freqs.shape
    bounds = traj.chunk_bounds()
    if flux is None:
        parts = traj.map_chunks(_modal_sums, projector, masses, layer=("velocities", "heat_flux"),
                                shape=(nq * nb * 9 + 2,), dtype=np.float64, per_chunk=True,
                                chunk_args=[filtered[a:b] for a, b in zip(bounds[:-1], bounds[1:])],
                                name="trajmodes-gkma-" + uuid.uuid4().hex)
        sums = dask.compute(parts.sum(axis=0))[0]
    else:                                # the held frames, a chunk's worth of them per task
        v, g = flux
        task = dask.delayed(_modal_sums, pure=False)
        parts = [task({"velocities": v[a:b], "heat_flux": g[a:b]}, projector, masses, filtered[a:b])
                 for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        sums = np.sum(dask.compute(*parts), axis=0)[0]
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


#: the share of the velocities' power below the top of the spectral decomposition's bins (the rest in one last bin
#: up to the Nyquist frequency)
POWER_BAND = 0.999


def spectral_memory(n_frames: int, n_atoms: int) -> float:
    """Bytes :func:`spectral_conductivity` holds: every atom's velocities and heat-flux matrix over the run (96 bytes
    per atom and frame) and the velocities' Fourier transform.

    Parameters
    ----------
    n_frames, n_atoms : int
        The run's frames and atoms.
    """
    return 96.0 * n_frames * n_atoms + 48.0 * (n_frames // 2 + 1) * n_atoms


def spectral_conductivity(traj, *, current: tuple | None = None, max_time: float | None = None,
                          bins: int | None = None, flux: tuple | None = None):
    """The Green-Kubo conductivity of a run split over the frequency of its atoms' vibrations (Fan et al., Phys. Rev.
    B 99, 064308 (2019), whose spectral decomposition resolves the virial-velocity correlation by frequency): the
    velocities' time series split into frequency bands (their Fourier transform's bins, every bin in one band), each
    band's current sum_i G_i v_i^(band) and its share of the running integral. No force constants or eigenvectors:
    a liquid, a glass or an alloy as well as a crystal. The bands sum to the running integral to rounding.

    The velocities and each atom's heat-flux matrix of every frame are held (:func:`spectral_memory`, checked before
    the pass: :func:`~trajmodes.resources.may_hold`); their frequency bands need each atom's whole time series.

    Parameters
    ----------
    traj : Trajectory
        As :func:`modal_conductivity`'s.
    current : tuple, optional
        (current (frames, 3) eV Å/ps, temperature K, volume Å³) where known.
    max_time : float, optional
        ps, the upper limit of the Green-Kubo integral (default a tenth of the run).
    bins : int, optional
        Frequency bins up to the frequency below which :data:`POWER_BAND` of the velocities' power lies (default 40),
        and one more up to the Nyquist frequency.
    flux : tuple, optional
        (velocities, heat-flux matrices) of every frame, where they are held already (as :func:`modal_conductivity`'s):
        no frame is read.

    Returns
    -------
    xarray.Dataset
        ``kappa_band`` (frequency_bin, a, b) W/(m K), each band's share; ``kappa_spectrum`` (frequency_bin) W/(m K
        THz), the mean of its diagonal per unit frequency; ``velocity_power`` (frequency_bin), each band's share of
        the kinetic energy; ``kappa`` (a, b), the sum, and ``kappa_green_kubo`` (a, b), the running integral of the
        total current at tau; attributes as :func:`modal_conductivity`'s (``current_residual``: the rms of the
        bands' currents less the current over its rms).
    """
    import dask
    import xarray as xr
    from trajmodes.resources import may_hold
    from trajmodes.transport.cepstral import green_kubo_scale
    dt = run_interval(traj, "the spectral decomposition")
    n, atoms = traj.n_frames, traj.n_atoms
    need = spectral_memory(n, atoms)
    if not may_hold(need, where="here"):
        raise MemoryError(f"{traj.source.describe()}: the spectral decomposition holds every atom's velocities and "
                          f"heat-flux matrices over the run, {need / 1e9:.2f} GB here, more than may be held on this "
                          "machine: take fewer frames (a selection of the run), or the modal analysis "
                          "(--force-constants), which streams")
    layer = ("velocities", "heat_flux")
    if flux is not None:
        v, g = flux
        if current is None:
            raise ValueError("give the current with the held flux (heat_current_of_run(..., hold_flux=True))")
    elif current is None:
        v, g = traj.field("velocities", layer), traj.field("heat_flux", layer)
        v, g, temps, cells = dask.compute(v, g, traj.temperature(layer), traj.field("cells", layer))
        j = np.einsum("taxb,tab->tx", g, v)
        current = (j, float(np.mean(temps)), float(np.mean(np.abs(np.linalg.det(cells)))))
    else:
        v, g = dask.compute(traj.field("velocities", layer), traj.field("heat_flux", layer))
    j, temperature, volume = current
    lags, total, filtered = integral_filter(j, dt, temperature, volume, max_time)
    spectrum_v = np.fft.rfft(v, axis=0)                                      # (n // 2 + 1, atoms, 3)
    f = np.fft.rfftfreq(n, dt)                                              # THz
    power = np.einsum("fia,i->f", np.abs(spectrum_v) ** 2, np.asarray(traj.masses, float))
    power[1:-1] *= 2                                                        # the negative frequencies
    share = np.cumsum(power) / power.sum()
    top = float(f[min(int(np.searchsorted(share, POWER_BAND)) + 1, len(f) - 1)])
    bins = 40 if bins is None else int(bins)
    edges = np.append(np.linspace(0.0, top, bins + 1), f[-1] * (1 + 1e-9) + 1e-12)
    band = np.clip(np.digitize(f, edges) - 1, 0, len(edges) - 2)
    m = np.zeros((len(edges) - 1, 3, 3))
    summed = np.zeros_like(j)
    for b in np.unique(band):
        vb = np.fft.irfft(np.where((band == b)[:, None, None], spectrum_v, 0), n, axis=0)
        jb = np.einsum("taxb,tab->tx", g, vb)
        summed += jb
        m[b] = jb.T @ filtered
    kappa_band = green_kubo_scale(volume, temperature) * dt * 0.5 * (m + m.transpose(0, 2, 1))
    mean = np.einsum("baa->b", kappa_band) / 3.0
    residual = float(np.sqrt(((summed - j) ** 2).sum() / max((j ** 2).sum(), 1e-300)))
    bands_power = np.bincount(band, weights=power, minlength=len(edges) - 1) / power.sum()
    wmk = {"units": "W/(m K)"}
    axes = ["x", "y", "z"]
    return xr.Dataset(
        {"kappa_band": (("frequency_bin", "a", "b"), kappa_band, dict(wmk, long_name="each frequency band's share")),
         "kappa_spectrum": (("frequency_bin",), mean / np.diff(edges), {"units": "W/(m K THz)",
                                                                        "long_name": "mean of the diagonal per unit "
                                                                                     "frequency"}),
         "velocity_power": (("frequency_bin",), bands_power, {"long_name": "the band's share of the kinetic energy"}),
         "kappa": (("a", "b"), kappa_band.sum(axis=0), dict(wmk, long_name="sum of the bands")),
         "kappa_green_kubo": (("a", "b"), total["kappa"].values[-1],
                              dict(wmk, long_name="running integral of the total current at tau"))},
        coords={"a": axes, "b": axes,
                "frequency_bin": ("frequency_bin", 0.5 * (edges[1:] + edges[:-1]), {"units": "THz"}),
                "frequency_edge": ("frequency_edge", edges, {"units": "THz", "long_name": "the bins' edges"})},
        attrs={"temperature_K": float(temperature), "volume_A3": float(volume), "dt_ps": dt, "tau_ps": lags * dt,
               "current_residual": residual,
               "method": "spectral decomposition by the velocities' frequency (Fan et al., Phys. Rev. B 99, 064308 "
                         "(2019))"})
