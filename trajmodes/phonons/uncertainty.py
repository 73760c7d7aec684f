"""Error bars of phonon frequencies from the bootstrap resamples of a force-constant fit.

Every resample of :meth:`trajmodes.EffectiveForceConstants.bootstrap` is a complete set of force constants; the
spread of what each gives is the error bar of what the fit gives. Frequencies are sorted per q, so a branch is
the n-th frequency of its q (degenerate branches share their error).
"""
from __future__ import annotations

import numpy as np

from trajmodes.forceconstants.uncertainty import bootstrap_std
from trajmodes.phonons.harmonic import Phonons

__all__ = ["frequency_samples", "frequencies_with_errors"]


def frequency_samples(force_constants, qpoints) -> np.ndarray:
    """Frequencies (THz, ascending per q) of every set in ``force_constants`` (an iterable of ForceConstants):
    (n_sets, nq, 3n)."""
    q = np.atleast_2d(np.asarray(qpoints, float))
    return np.array([Phonons(fc).frequencies(q) for fc in force_constants])


def frequencies_with_errors(fit, qpoints, n_resamples: int = 200, seed: int | None = 0):
    """Frequencies of a fit at ``qpoints`` with their bootstrap standard errors.

    Parameters
    ----------
    fit : EffectiveForceConstants
        Fitted; bootstrapped here (``n_resamples``, ``seed``) unless it has been already.
    qpoints : array_like (nq, 3)
        Reduced coordinates.

    Returns
    -------
    nu : ndarray (nq, 3n), THz
    err : ndarray (nq, 3n), THz
    samples : ndarray (n_resamples, nq, 3n), THz
    """
    if not hasattr(fit, "params_samples_"):
        fit.bootstrap(n_resamples, seed)
    q = np.atleast_2d(np.asarray(qpoints, float))
    nu = Phonons(fit.force_constants_).frequencies(q)
    samples = frequency_samples(fit.resampled_force_constants(), q)
    return nu, bootstrap_std(samples, fit.segments_.n_blocks), samples
