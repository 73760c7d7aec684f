"""Segment windows (tapers) of the mode spectra and their autocorrelation."""
from __future__ import annotations

import numpy as np

__all__ = ["window_values", "window_autocorrelation"]


def window_values(name: str, n: int) -> np.ndarray:
    """The periodic window ``name`` (any of :func:`scipy.signal.get_window`: "hann", "boxcar", ...) over ``n``
    frames: the taper of every segment of :func:`trajmodes.mode_spectra`."""
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
