"""Segment windows (tapers) of the mode spectra and their autocorrelation."""
from __future__ import annotations

import numpy as np

__all__ = ["window_values", "window_autocorrelation"]


def window_values(name: str, n: int) -> np.ndarray:
    """The periodic window ``name`` (any of :func:`scipy.signal.get_window`: "hann", "boxcar", ...) over ``n``
    frames: the taper of every segment of :func:`trajmodes.mode_spectra`.

    "hann" (the default of every spectrum) and "boxcar" are computed here as :mod:`scipy.signal.windows` computes them
    (the same numbers, bit for bit), without importing :mod:`scipy.signal` (0.65 s of one core, in every
    ``trajmodes project`` before its spectra); every other name goes to :func:`scipy.signal.get_window`.

    Parameters
    ----------
    name : str
        The window's name, as :func:`scipy.signal.get_window` takes it.
    n : int
        Its length in frames.

    Returns
    -------
    ndarray (n,)
        The window, periodic (``fftbins=True``: the symmetric window of ``n + 1`` points without its last).
    """
    if name in ("hann", "boxcar") and isinstance(n, (int, np.integer)) and n >= 1:
        n = int(n)
        if name == "boxcar" or n <= 1:
            return np.ones(n)
        # scipy.signal.windows.general_cosine(n + 1, [0.5, 0.5]) without its last point, term by term as it sums
        fac = np.linspace(-np.pi, np.pi, n + 1)
        w = np.zeros(n + 1)
        for k, a in enumerate((0.5, 0.5)):
            w += a * np.cos(k * fac)
        return w[:-1]
    import scipy.signal
    return scipy.signal.get_window(name, n, fftbins=True).astype(float)


def window_autocorrelation(w: np.ndarray) -> np.ndarray:
    """rho(s) = sum_n w_n w_(n+s) / sum_n w_n^2 for the lags s = 0 .. len(w) - 1 (rho(0) = 1).

    It sets how far apart two overlapping segments, or two bins of one tapered segment, are correlated
    (P. D. Welch, IEEE Trans. Audio Electroacoust. 15, 70 (1967)), and weights the lags of a
    line's autocorrelation in its expected windowed periodogram.
    """
    w = np.asarray(w, float)
    full = np.correlate(w, w, mode="full")[w.size - 1:]
    return full / full[0]
