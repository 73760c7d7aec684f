"""Self-energies and spectral functions on an energy axis: Gaussians cut to windows of the axis, the Kramers-Kronig
real part from the imaginary part, the spectral function of a mode, and the share of every mode on every site.

Used by :mod:`trajmodes.phonons.anharmonic.lineshape` (TDEP's conventions, F. Knoop et al., J. Open Source Softw. 9,
6150 (2024)) and :meth:`trajmodes.phonons.anharmonic.anharmonic.Anharmonic.spectral_function`. Energies and
self-energies in THz (ordinary frequency), spectral functions in 1/THz.
"""
from __future__ import annotations

import numpy as np

from trajmodes.units import HARTREE_THZ, TDEP_FREQUENCY_TOL

__all__ = ["windowed_gaussians", "kramers_kronig", "spectral_functions", "site_weights", "tdep_band_widths"]


def windowed_gaussians(axis, centres, widths, amplitudes=None) -> np.ndarray:
    """Normalised Gaussians on an energy grid, each cut to TDEP's window.

    Parameters
    ----------
    axis : (n,) array_like
        The energy grid, evenly spaced from 0 to W_max (THz).
    centres, widths : (k,) array_like
        Centres c (may be negative) and standard deviations sigma > 0 (THz).
    amplitudes : (k,) array_like, optional
        Factors of the Gaussians (default 1).

    Returns
    -------
    ndarray (k, n), 1/THz times the amplitude: ``exp(-(W - c)^2 / 2 sigma^2) / (sqrt(2 pi) sigma)`` at the grid
    indices i (1-based) from ``max(floor((c - 4 sigma) n / W_max), 1)`` to ``min(ceil((c + 4 sigma) n / W_max), n)``
    where also ``|W - c| <= 8 sigma``, zero elsewhere.
    """
    x = np.asarray(axis, dtype=float)
    c = np.asarray(centres, dtype=float)[:, None]
    s = np.asarray(widths, dtype=float)[:, None]
    n = len(x)
    inv = n / x[-1]
    lo = np.maximum(np.floor((c - 4 * s) * inv), 1)
    hi = np.minimum(np.ceil((c + 4 * s) * inv), n)
    i = np.arange(1, n + 1)[None, :]
    d = x[None, :] - c
    keep = (i >= lo) & (i <= hi) & (np.abs(d) <= 8 * s)
    g = np.where(keep, np.exp(-0.5 * (d / s) ** 2) / (np.sqrt(2 * np.pi) * s), 0.0)
    if amplitudes is not None:
        g *= np.asarray(amplitudes, dtype=float)[:, None]
    return g


def kramers_kronig(axis, imaginary) -> np.ndarray:
    """The real part of a self-energy from its imaginary part on an evenly spaced grid from 0, as TDEP computes it.

    ``Re Sigma(W_i) = (2 / pi) d sum_j c_j W_j Im Sigma(W_j) a_ij / (a_ij^2 + eta^2)``, ``a_ij = W_i^2 - W_j^2``, d the
    step, c_j = 1/2 at the two ends and 1 elsewhere: the trapezoid rule for the principal value of
    ``(2 / pi) int W' Im Sigma(W') / (W^2 - W'^2) dW'`` (the term j = i is zero; nothing beyond the grid). TDEP works
    in Hartree with eta = 1e-8 of the step; the same regulariser of a_ij in THz² is eta = 1e-8 d
    :data:`trajmodes.units.HARTREE_THZ` (it moves the result by about 1e-9 relative).

    Parameters
    ----------
    axis : (n,) array_like
        Energies in THz, evenly spaced from 0.
    imaginary : (..., n) array_like
        Im Sigma in THz.

    Returns
    -------
    ndarray (..., n), THz.
    """
    x = np.asarray(axis, dtype=float)
    im = np.asarray(imaginary, dtype=float)
    d = x[1] - x[0]
    eta = 1e-8 * d * HARTREE_THZ
    a = x[:, None] ** 2 - x[None, :] ** 2                                    # (i, j)
    c = np.ones(len(x))
    c[[0, -1]] = 0.5
    kernel = a / (a * a + eta * eta) * (c * x)[None, :]
    return (2 / np.pi) * d * (im @ kernel.T)


def spectral_functions(axis, gamma, delta, frequencies, cutoff_frequency: float = 10 * TDEP_FREQUENCY_TOL) -> np.ndarray:
    """Spectral functions of modes from their self-energies on an energy axis.

    ``A(W) = 4 nu^2 G / pi / [(W^2 - nu^2 - 2 nu D)^2 + 4 nu^2 G^2]`` (nu the harmonic frequency, G and D the
    imaginary and real parts of the self-energy at W): the phonon line with its frequency-dependent width and shift,
    not normalised (it integrates to one over W > 0 when the self-energy is small against nu); TDEP's ``lineshape``
    writes it so.

    Parameters
    ----------
    axis : (n,) array_like
        Energies W, THz.
    gamma, delta : (..., n) array_like
        Imaginary (all processes) and real parts G and D of the self-energy, THz.
    frequencies : (...) array_like
        Harmonic frequencies nu, THz, broadcast against ``gamma[..., 0]``.
    cutoff_frequency : float
        THz; modes at or below it get zero (default 10 TDEP frequency tolerances: the acoustic modes at Gamma).

    Returns
    -------
    ndarray, the broadcast shape of ``gamma`` and ``delta``, 1/THz.
    """
    x = np.asarray(axis, dtype=float)
    g, dl = np.asarray(gamma, dtype=float), np.asarray(delta, dtype=float)
    nu = np.asarray(frequencies, dtype=float)[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        A = 4 * nu ** 2 * g / np.pi / ((x ** 2 - nu ** 2 - 2 * nu * dl) ** 2 + 4 * nu ** 2 * g ** 2)
    return np.where(nu > cutoff_frequency, np.nan_to_num(A), 0.0)


def _simple_fractions() -> np.ndarray:
    """0, +-n/m for 1 <= n <= m <= 10, +-sqrt(2)/2 and +-sqrt(3)/2: the numbers TDEP snaps values to."""
    v = {n / m for m in range(1, 11) for n in range(m + 1)} | {np.sqrt(2) / 2, np.sqrt(3) / 2}
    v = np.array(sorted(v))
    return np.concatenate([v, -v[v > 0]])


def site_weights(eigenvectors, tol: float = 1e-12) -> np.ndarray:
    """Fraction of every mode on every site, ``p_ks = sum_a |e_ka,s|^2 / sum_k' sum_a |e_k'a,s|^2``.

    Values within ``tol`` of a simple fraction (n/m with m up to 10, sqrt(2)/2, sqrt(3)/2) are set to it, as TDEP
    does.

    Parameters
    ----------
    eigenvectors : (3n, nb) array_like
        Columns are modes, rows 3k + a.

    Returns
    -------
    ndarray (n, nb).
    """
    e = np.asarray(eigenvectors)
    p = (np.abs(e) ** 2).reshape(-1, 3, e.shape[1]).sum(axis=1)
    p = p / p.sum(axis=0, keepdims=True)
    f = _simple_fractions()
    near = np.abs(p[..., None] - f) < tol
    return np.where(near.any(axis=-1), f[np.argmax(near, axis=-1)], p)


def tdep_band_widths(energies) -> np.ndarray:
    """TDEP's per-band Gaussian width of its phonon dispersions (F. Knoop et al., J. Open Source Softw. 9, 6150
    (2024)), used by its lineshape, its free energy and its conductivity, from the band energies at the irreducible
    q of the mesh (n_irr, n_bands), in their unit: per band the largest gap between its sorted energies, at least a
    fifth of the largest over the bands."""
    e = np.sort(np.asarray(energies, dtype=float), axis=0)
    gap = np.diff(e, axis=0).max(axis=0) if len(e) > 1 else np.zeros(e.shape[1])
    return np.maximum(gap, gap.max() / 5.0)
