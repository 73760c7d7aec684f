"""Line shapes of a phonon mode's peak in its kinetic-energy spectral density, with their Jacobians.

Models (nu in THz, B a constant background):

``lorentzian``  ``A (g/2)^2 / ((nu - nu0)^2 + (g/2)^2) + B``; FWHM = g.

``dho``  ``A (g nu)^2 / ((nu0^2 - nu^2)^2 + (g nu)^2) + B``: the velocity spectrum of a damped harmonic
oscillator x'' = -w0^2 x - Gamma x' + noise with w0 = 2 pi nu0 and g = Gamma / (2 pi). Its half-maximum
points satisfy nu0^2 - nu^2 = +-g nu, whose positive roots differ by exactly g: FWHM = g = Gamma / (2 pi)
exactly (not only for weak damping), and the peak sits at nu0 exactly. tau = 1/(2 pi FWHM) = 1/Gamma, the
energy relaxation time.

In both models ``A`` is the peak height above the background (eV/THz).

``lorentzian_windowed``, ``dho_windowed``  the same lines seen through the spectrum's window: the expected
windowed (Welch or full) periodogram, computed from the line's autocorrelation times the window's
autocorrelation with one FFT (:class:`WindowedLorentzian`, :class:`WindowedDHO`). A segment of length T
broadens a line by ~1/T; these models do not count that as linewidth.
"""
from __future__ import annotations

import numpy as np

from trajmodes.modes.windows import window_autocorrelation, window_values

__all__ = ["lorentzian", "dho", "lorentzian_jacobian", "dho_jacobian", "WindowedLorentzian", "WindowedDHO",
           "MODELS", "JACOBIANS", "peak_model", "is_dho"]


def lorentzian(nu, amplitude, nu0, fwhm, background):
    """Lorentzian of peak height ``amplitude`` above ``background`` at ``nu0`` with full width ``fwhm`` (THz)."""
    h = 0.5 * fwhm
    return amplitude * h * h / ((nu - nu0) ** 2 + h * h) + background


def dho(nu, amplitude, nu0, fwhm, background):
    """Velocity spectrum of a damped harmonic oscillator, height ``amplitude`` at ``nu0``; FWHM = ``fwhm`` exactly."""
    gn = fwhm * nu
    return amplitude * gn * gn / ((nu0 * nu0 - nu * nu) ** 2 + gn * gn) + background


def lorentzian_jacobian(nu, amplitude, nu0, fwhm, background):
    """d lorentzian / d (amplitude, nu0, fwhm, background), shape (len(nu), 4)."""
    h = 0.5 * fwhm
    dx = nu - nu0
    inv = 1.0 / (dx * dx + h * h)
    shape = h * h * inv
    out = np.empty((np.size(nu), 4))
    out[:, 0] = shape
    out[:, 1] = 2.0 * amplitude * shape * dx * inv
    out[:, 2] = amplitude * h * dx * dx * inv * inv
    out[:, 3] = 1.0
    return out


def dho_jacobian(nu, amplitude, nu0, fwhm, background):
    """d dho / d (amplitude, nu0, fwhm, background), shape (len(nu), 4)."""
    gn2 = (fwhm * nu) ** 2
    c = nu0 * nu0 - nu * nu
    inv = 1.0 / (c * c + gn2)
    out = np.empty((np.size(nu), 4))
    out[:, 0] = gn2 * inv
    out[:, 1] = -4.0 * amplitude * gn2 * nu0 * c * inv * inv
    out[:, 2] = 2.0 * amplitude * fwhm * nu * nu * c * c * inv * inv
    out[:, 3] = 1.0
    return out


class WindowedLorentzian:
    """Expected windowed periodogram of a Lorentzian line: the ``lorentzian_windowed`` model.

    A line of FWHM G at nu0 has the (real, even part of the) autocorrelation
    C(tau) = (pi G / 2) exp(-pi G |tau|) cos(2 pi nu0 tau), whose Fourier transform is a Lorentzian of height
    1/2 at +nu0 and at -nu0 (height 1 once folded). A segment of N samples (step dt) with window w has the
    expected two-sided periodogram
    E S(nu) = dt sum_{|k| < N} C(k dt) w2(k) exp(-2 pi i nu k dt), w2(k) = sum_n w_n w_{n+k} / sum_n w_n^2
    (the normalisation of :func:`trajmodes.mode_spectra`); the model is ``amplitude`` x that spectrum folded
    onto nu >= 0 as ``mode_spectra`` folds, + ``background``. On the bins m / (N dt) it is one FFT of
    length N.
    For T_seg >> 1/G it tends to :func:`lorentzian` (plus the negligible mirror line at -nu0); for G of the
    order of 1/T_seg it is the line broadened by the window, which the plain Lorentzian mistakes for width.

    Parameters
    ----------
    n : int
        Segment length in frames (``segment_frames`` of the spectra).
    dt : float
        Time step in ps.
    window : str
        Window name (:func:`scipy.signal.get_window`, periodic as ``mode_spectra`` uses it).
    """

    def __init__(self, n: int, dt: float, window: str = "hann"):
        self.n, self.dt, self.window = int(n), float(dt), str(window)
        self.w2 = window_autocorrelation(window_values(self.window, self.n))     # lags 0 .. n-1
        self.tau = np.arange(self.n) * self.dt
        nf = self.n // 2 + 1
        self.fold = np.ones(nf)
        self.fold[1:(self.n - 1) // 2 + 1] = 2.0                           # bins with a negative partner

    def __repr__(self) -> str:
        return f"WindowedLorentzian(n={self.n}, dt={self.dt}, window={self.window!r})"

    def _spectra(self, lags: np.ndarray, nu) -> np.ndarray:
        """Folded dt (c0 + 2 sum_k c_k cos(2 pi nu k dt)) for every row of ``lags`` (r, n) at ``nu``."""
        nu = np.asarray(nu, float)
        m = nu * self.n * self.dt
        mi = np.rint(m).astype(int)
        if np.all(np.abs(m - mi) < 1e-6) and mi.min() >= 0 and mi.max() < self.fold.size:
            two = 2.0 * np.fft.rfft(lags, axis=-1).real[:, mi] - lags[:, :1]
            return self.dt * two * self.fold[mi]
        arg = 2 * np.pi * np.outer(self.tau, nu)                           # off the bins (plots): direct sum
        two = 2.0 * (lags @ np.cos(arg)) - lags[:, :1]
        fold = np.where((mi >= 1) & (2 * mi < self.n), 2.0, 1.0) + 0 * nu
        return self.dt * two * fold

    def _parts(self, nu0, fwhm):
        a = np.pi * fwhm
        e = np.exp(-a * self.tau) * self.w2
        ph = 2 * np.pi * self.tau
        return a, e, np.cos(ph * nu0), np.sin(ph * nu0), ph

    def __call__(self, nu, amplitude, nu0, fwhm, background):
        a, e, c, _, _ = self._parts(nu0, fwhm)
        return amplitude * self._spectra((0.5 * a * e * c)[None], nu)[0] + background

    def jac(self, nu, amplitude, nu0, fwhm, background):
        """d model / d (amplitude, nu0, fwhm, background), shape (len(nu), 4)."""
        a, e, c, s, ph = self._parts(nu0, fwhm)
        lags = 0.5 * np.stack([a * e * c, -a * e * s * ph, np.pi * e * c * (1.0 - a * self.tau)])
        sp = self._spectra(lags, nu)
        out = np.empty((np.size(nu), 4))
        out[:, 0] = sp[0]
        out[:, 1] = amplitude * sp[1]
        out[:, 2] = amplitude * sp[2]
        out[:, 3] = 1.0
        return out


class WindowedDHO(WindowedLorentzian):
    """Expected windowed periodogram of a damped-oscillator line: the ``dho_windowed`` model.

    As :class:`WindowedLorentzian` with the exact velocity autocorrelation of x'' = -w0^2 x - Gamma x' +
    noise, Gamma = 2 pi G: C(tau) = (pi G / 2) exp(-pi G |tau|) [cos(2 pi nu1 tau) - G / (2 nu1)
    sin(2 pi nu1 |tau|)], nu1 = sqrt(nu0^2 - G^2 / 4) (underdamped, G < 2 nu0), whose transform is
    :func:`dho` (height 1 at nu0 once folded, FWHM = G exactly). Numerical Jacobian."""

    jac = None

    def __call__(self, nu, amplitude, nu0, fwhm, background):
        nu1 = np.sqrt(max(nu0 * nu0 - 0.25 * fwhm * fwhm, 1e-300))
        a = np.pi * fwhm
        ph = 2 * np.pi * nu1 * self.tau
        lags = 0.5 * a * np.exp(-a * self.tau) * self.w2 * (np.cos(ph) - fwhm / (2 * nu1) * np.sin(ph))
        return amplitude * self._spectra(lags[None], nu)[0] + background


MODELS = {"lorentzian": lorentzian, "dho": dho, "lorentzian_windowed": WindowedLorentzian,
          "dho_windowed": WindowedDHO}
JACOBIANS = {lorentzian: lorentzian_jacobian, dho: dho_jacobian}


def peak_model(name: str, attrs=None):
    """The model function ``f(nu, amplitude, nu0, fwhm, background)`` of ``name``; the ``*_windowed`` ones
    are built from the spectra attributes ``segment_frames``, ``frame_interval_ps`` and ``window`` (``attrs``)."""
    if name not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {name!r}")
    if not name.endswith("_windowed"):
        return MODELS[name]
    attrs = attrs or {}
    attrs = dict(attrs)
    missing = [k for k in ("segment_frames", "frame_interval_ps", "window") if attrs.get(k) is None]
    if missing:
        raise ValueError(f"model {name!r} needs the spectra attributes {missing} (spectra from "
                         "trajmodes.mode_spectra)")
    return MODELS[name](int(attrs["segment_frames"]), float(attrs["frame_interval_ps"]), str(attrs["window"]))


def is_dho(func) -> bool:
    """Whether ``func`` is a damped-oscillator line (plain or windowed), whose tails reach further."""
    return func is dho or isinstance(func, WindowedDHO)
