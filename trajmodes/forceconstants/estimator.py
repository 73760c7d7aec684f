"""The protocol every force-constant estimator follows (as scikit-learn's estimators, and phonopy's force-constant
solvers behind one interface).

An estimator learns force constants at a temperature from data: the frames of an MD run
(:class:`~trajmodes.forceconstants.fit.EffectiveForceConstants`, TDEP's fit of forces to displacements; the Kubo
estimators of :mod:`trajmodes.quantum.kubo`, from a path-integral run's centroid covariances) or forces it asks a
force engine for (:class:`~trajmodes.phonons.thermodynamics.self_consistent.SelfConsistentPhonons`). All of them:

- take their settings in the constructor, checked there, and hold nothing else before :meth:`fit`;
- do the work in ``fit(...)``, which returns the estimator itself (``est = Estimator(...).fit(data)``);
- hold their results in attributes ending in ``_``, set by ``fit``; every estimator has ``force_constants_`` (a
  :class:`~trajmodes.forceconstants.model.ForceConstants`) and ``temperature_`` (K, the temperature the constants
  belong to), whatever else it measures (scores, error bars, iterations).

The protocol is structural (:class:`typing.Protocol`): an estimator does not inherit from it; it has its ``fit`` and,
once fitted, its ``force_constants_`` and ``temperature_``, so that ``isinstance(est, ForceConstantsEstimator)`` tells
a fitted estimator from one that is not (``tests/forceconstants/test_estimator_protocol.py`` checks every estimator
of the package against it). A new estimator follows it.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["ForceConstantsEstimator"]


@runtime_checkable
class ForceConstantsEstimator(Protocol):
    """Settings in the constructor, ``fit(...)`` returns the estimator, results end in ``_`` (module docstring).

    ``isinstance(est, ForceConstantsEstimator)`` is True once ``est`` is fitted (its results set).

    Attributes
    ----------
    force_constants_ : ForceConstants
        The fitted constants (eV/Å², and higher orders where the estimator fits them).
    temperature_ : float
        K: the temperature of the data the constants were fitted to (the run's mean kinetic temperature, the
        thermostat's, or the sampling's).
    """

    force_constants_: object
    temperature_: float

    def fit(self, *args, **kwargs) -> "ForceConstantsEstimator":
        """Fit the constants to the data; returns the estimator (its results set)."""
        ...
