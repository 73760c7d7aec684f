"""Self-consistent effective phonons by thermal sampling: draw canonical configurations of the current force
constants, evaluate their forces with any force engine, refit, repeat until the frequencies stop moving.

This is the stochastic self-consistent route of TDEP (N. Shulumba, O. Hellman and A. J. Minnich, Phys. Rev. B 95,
014302 (2017); O. Hellman, I. A. Abrikosov and S. I. Simak, Phys. Rev. B 84, 180301 (2011)) with the canonical
configurations of D. West and S. K. Estreicher, Phys. Rev. Lett. 96, 115504 (2006)
(:func:`trajmodes.phonons.thermodynamics.sampling.canonical_configurations`). With quantum occupations the displacements
carry the zero-point motion, so the constants are quantum-corrected effective ones at temperatures where classical MD is
wrong. With classical occupations they are the self-consistent harmonic constants of the classical crystal, which
differ from a harmonic-only fit of classical MD at the same temperature and volume by the skew the cubic terms give the
true ensemble (the Gaussian configurations have none): measured on fcc Lennard-Jones crystals at X and L, -2.6 to
-2.0 % for Ne at 5 K, -10 to -7 % at 20 K, -1.6 to -1.1 % for Ar at 10 K; a fit of both with their nearest-neighbour
cubic terms (``cutoff3``, ``mode="simultaneous"``) brings them within 0.05-0.3 % (Ne 5 K, Ar 10 K) and 0.6-1.5 %
(Ne 20 K). The path-integral runs of the same crystals agree with the quantum occupations in the same way
(docs/quantum.md).

Each iteration k draws ``n_samples * growth**k`` configurations (at most ``max_samples``) from the constants of the
previous one, fits :class:`~trajmodes.EffectiveForceConstants` to the engine's forces on them (the reference is the
engine's supercell), and mixes the new constants with the old ones (``mixing``). The change of an iteration is the
largest change of the supercell's mode frequencies (its commensurate q-points, THz); the loop stops when it is below
``tol`` or after ``max_iter`` iterations (then ``converged_`` is False and a warning says so). With ``n_average`` the
configurations of the last iterations are fitted together, and :meth:`SelfConsistentPhonons.frequencies_with_errors`
gives error bars that cover both that fit's bootstrap and the iteration-to-iteration scatter of the fixed point.

Path integrals. With ``n_beads=P`` the configurations are beads of the P-bead ring polymer of the current harmonic
constants (mode variances k_B T sum_k 1 / (omega_s^2 + omega_k^2), omega_k = (2 P k_B T / hbar) sin(pi k / P):
:mod:`trajmodes.quantum.harmonic`): the fixed point is the self-consistent harmonic approximation of the discretised
path integral (the variational Gaussian ring polymer, whose stationarity condition is the Gaussian average of the
Hessian over one bead's distribution, the same for every bead), so a PIMD run with P beads compares to it without
the Trotter error of P. A fit of forces to displacements sees only the one-bead distribution, so the beads are drawn
independently. Measured on fcc Ar (Lennard-Jones, 32 atoms) at 10 K, X and L: P = 16 sits 0.1-0.3 % below P = infinity
(the zero-point variance of a 2.2 THz mode is 5 % short at P = 16, 1.3 % at P = 32).
"""
from __future__ import annotations

import warnings

import numpy as np

from trajmodes.phonons.thermodynamics.sampling import (canonical_configurations, check_n_beads,
                                                        check_sampling_temperature, supercell_modes)

__all__ = ["SelfConsistentPhonons"]


class SelfConsistentPhonons:
    """Stochastic self-consistent effective force constants at one temperature (module docstring).

    Estimator style: settings here, :meth:`fit` does the work, results end in ``_``.

    Parameters
    ----------
    temperature : float
        K.
    cutoff2 : float or None
        Pair cutoff of the fitted constants, A (None: every pair of the supercell).
    occupation : {"quantum", "classical"}
        Mode energies of the sampling: hbar omega (n + 1/2) or k_B T.
    n_samples : int
        Configurations of the first iteration.
    growth : float
        Factor on the number of configurations from one iteration to the next (the statistical noise falls as the
        frequencies converge).
    max_samples : int
        Cap on the configurations of one iteration.
    max_iter : int
    tol : float
        THz: the largest change of a supercell mode frequency that counts as converged.
    mixing : float
        Weight of the new constants in the next ones, (0, 1].
    seed : int, optional
    fit_options : dict, optional
        Other settings of :class:`~trajmodes.EffectiveForceConstants` (``symprec``, ``cutoff3``, ...).
    n_beads : int, optional
        P: sample one bead of the P-bead ring polymer of the current constants instead of the quantum crystal
        (``occupation="quantum"``; :func:`~trajmodes.phonons.thermodynamics.sampling.canonical_configurations`): the
        self-consistent harmonic approximation of the discretised path integral, what a PIMD run with P beads and a
        fit over its beads compare to like for like (module docstring). P = 1 is the classical sampling.
    n_average : int
        Iterations whose configurations are fitted together for the reported constants: once converged (or after
        ``max_iter``), the last ``n_average`` (``n_average - 1`` more are run after the converged one). Their
        scatter enters the error bars of :meth:`frequencies_with_errors`.

    Attributes
    ----------
    force_constants_ : ForceConstants
        The last constants (with ``n_average`` > 1: the pooled fit's).
    estimator_ : EffectiveForceConstants
        The fit of the last iteration, or of the last ``n_average`` pooled (its scores and bootstrap).
    iteration_estimators_ : list of EffectiveForceConstants
        The fits of the averaged iterations, one each (the last iteration's alone with ``n_average=1``).
    history_ : xarray.Dataset
        Over ``iteration``: ``n_samples``, ``max_change`` (THz), ``frequency`` (iteration, mode) of the supercell
        modes (THz), ``mean_square_displacement`` (A^2).
    converged_ : bool
    """

    def __init__(self, temperature: float, *, cutoff2: float | None = None, occupation: str = "quantum",
                 n_samples: int = 16, growth: float = 2.0, max_samples: int = 512, max_iter: int = 12,
                 tol: float = 0.01, mixing: float = 1.0, seed: int | None = 0, fit_options: dict | None = None,
                 n_beads: int | None = None, n_average: int = 1):
        temperature = check_sampling_temperature(temperature, occupation)
        self.n_beads = check_n_beads(n_beads, temperature, occupation)
        if not 0.0 < float(mixing) <= 1.0:
            raise ValueError(f"mixing must be in (0, 1], not {mixing!r}")
        if int(n_samples) < 1 or int(max_samples) < int(n_samples) or float(growth) < 1.0:
            raise ValueError("need 1 <= n_samples <= max_samples and growth >= 1")
        if int(n_average) != n_average or int(n_average) < 1:
            raise ValueError(f"n_average must be a positive whole number of iterations, not {n_average!r}")
        self.n_average = int(n_average)
        self.temperature, self.cutoff2, self.occupation = float(temperature), cutoff2, occupation
        self.n_samples, self.growth, self.max_samples = int(n_samples), float(growth), int(max_samples)
        self.max_iter, self.tol, self.mixing, self.seed = int(max_iter), float(tol), float(mixing), seed
        self.fit_options = dict(fit_options or {})

    def fit(self, engine, initial, progress=None) -> "SelfConsistentPhonons":
        """Iterate from the ``initial`` force constants with the forces of ``engine``.

        Parameters
        ----------
        engine : trajmodes.potentials.engines.ForceEngine
            On the supercell of ``initial`` (same atoms in the same order).
        initial : ForceConstants
            Stable constants on that supercell (the potential's 0 K constants, or any guess).
        progress : callable, optional
            Called with one line per iteration (``print`` shows the convergence as it goes).
        """
        import xarray as xr
        from trajmodes.forceconstants.fit import EffectiveForceConstants
        from trajmodes.forceconstants.model import ForceConstants
        from trajmodes.potentials.engines import evaluate_checked
        sc = initial.supercell
        if engine.n_atoms != sc.n_atoms or not np.array_equal(np.asarray(engine.species), np.asarray(sc.species)):
            raise ValueError("the engine's supercell and the initial force constants' differ (atoms or their order)")
        if np.abs(np.asarray(engine.positions) - np.asarray(sc.positions)).max() > 1e-6:
            raise ValueError("the engine's reference positions are not the initial force constants' supercell")
        rng = np.random.default_rng(self.seed)
        fc = initial
        nu = supercell_modes(fc).frequencies
        rows, est, converged, tail, extra = [], None, False, [], 0
        for it in range(self.max_iter + self.n_average - 1):
            if it >= self.max_iter and not converged:
                break
            n = int(min(self.max_samples, round(self.n_samples * self.growth ** it)))
            conf = canonical_configurations(fc, self.temperature if self.temperature > 0 else 0.0, n,
                                            occupation=self.occupation, seed=rng, n_beads=self.n_beads)
            batch = evaluate_checked(engine, conf["positions"].values)
            energies, forces = batch.energies, batch.forces
            est = EffectiveForceConstants(cutoff2=self.cutoff2, **self.fit_options)
            with warnings.catch_warnings():
                # an early iteration's few configurations may under-determine the fit: expected, the next has more
                warnings.filterwarnings("ignore", message=r"(under-determined|ill-conditioned) fit",
                                        category=UserWarning)
                est.fit_arrays(sc, conf["displacements"].values, forces, energies=energies)
            tail = (tail + [(conf["displacements"].values, forces, energies, est)])[-self.n_average:]
            new = est.harmonic_force_constants_
            if self.mixing < 1.0:
                mixed = self.mixing * new.full() + (1.0 - self.mixing) * fc.full()
                new = ForceConstants(mixed, new.supercell, new.primitive, smap=new.smap, p2s=new.p2s)
            modes = supercell_modes(new, allow_imaginary=True)
            nu_new = modes.frequencies
            change = float(np.abs(nu_new - nu).max())
            msd = float((conf["displacements"].values ** 2).sum(-1).mean())
            rows.append((n, change, nu_new, msd))
            if progress is not None:
                progress(f"iteration {it + 1}: {n} configurations, largest frequency change {change:.4f} THz, "
                         f"<u^2> {msd:.5f} A^2")
            if (nu_new[~modes.translations] <= 0).any():
                raise ValueError(f"iteration {it + 1} gave imaginary modes: the sampled crystal is unstable at "
                                 f"{self.temperature:g} K with these constants (try mixing < 1, more samples, or "
                                 "a longer cutoff)")
            fc, nu = new, nu_new
            if converged:                                                  # the iterations averaged after convergence
                extra += 1
                if extra >= self.n_average - 1:
                    break
            elif change < self.tol:
                converged = True
                if self.n_average == 1:
                    break
        if not converged:
            warnings.warn(f"self-consistent phonons at {self.temperature:g} K not converged after {self.max_iter} "
                          f"iterations: the last change was {rows[-1][1]:.4f} THz (tol {self.tol:g}); raise max_iter "
                          "or max_samples", RuntimeWarning, stacklevel=2)
        self.iteration_estimators_ = [t[3] for t in tail]
        if len(tail) > 1:                                                  # one fit of the averaged iterations
            est = EffectiveForceConstants(cutoff2=self.cutoff2, **self.fit_options)
            est.fit_arrays(sc, np.concatenate([t[0] for t in tail]), np.concatenate([t[1] for t in tail]),
                           energies=np.concatenate([t[2] for t in tail]))
            fc = est.harmonic_force_constants_
        self.force_constants_, self.estimator_, self.converged_ = fc, est, converged
        self.history_ = xr.Dataset(
            dict(n_samples=("iteration", np.array([r[0] for r in rows])),
                 max_change=("iteration", np.array([r[1] for r in rows]),
                             {"units": "THz", "long_name": "largest change of a supercell mode frequency"}),
                 frequency=(("iteration", "mode"), np.array([r[2] for r in rows]),
                            {"units": "THz", "long_name": "supercell (Gamma) mode frequencies after the iteration"}),
                 mean_square_displacement=("iteration", np.array([r[3] for r in rows]),
                                           {"units": "Angstrom^2", "long_name": "<|u|^2> of the configurations"})),
            coords=dict(iteration=np.arange(1, len(rows) + 1)),
            attrs=dict(temperature=self.temperature, occupation=self.occupation, converged=int(converged),
                       n_beads=self.n_beads or 0, n_average=len(tail),
                       tol_THz=self.tol, engine=getattr(engine, "name", type(engine).__name__),
                       method="stochastic self-consistent sampling (Shulumba, Hellman and Minnich, Phys. Rev. B 95, "
                              "014302 (2017)) of canonical configurations (West and Estreicher, Phys. Rev. Lett. 96, "
                              "115504 (2006))"))
        return self

    def frequencies_with_errors(self, qpoints, n_resamples: int = 200, seed: int | None = 0):
        """Frequencies of :attr:`force_constants_` at ``qpoints`` with error bars that cover the scatter of the fixed
        point.

        The bootstrap of :attr:`estimator_` (:func:`~trajmodes.phonons.thermodynamics.uncertainty.
        frequencies_with_errors`) sees the noise of the configurations it fitted; with ``n_average`` > 1 each averaged
        iteration drew its configurations from the previous iteration's (noisy) constants, so their frequencies also
        carry that noise fed back. The error is the larger of the pooled fit's bootstrap error and the standard error
        of the mean over the averaged iterations (their sample standard deviation over sqrt(K), K iterations).

        Parameters
        ----------
        qpoints : array_like (nq, 3)
            Reduced coordinates.
        n_resamples : int
            Bootstrap resamples of the fit.
        seed : int, optional
            Of the bootstrap.

        Returns
        -------
        FrequenciesWithErrors
            ``frequency`` and ``frequency_err`` (nq, 3n) THz; ``bootstrap_err`` the pooled fit's part alone.
        """
        from dataclasses import replace
        from trajmodes.phonons.harmonic.phonons import Phonons
        from trajmodes.phonons.thermodynamics.uncertainty import frequencies_with_errors
        if not hasattr(self, "estimator_"):
            raise ValueError("call fit() first")
        res = frequencies_with_errors(self.estimator_, qpoints, n_resamples=n_resamples, seed=seed)
        fits = self.iteration_estimators_
        if len(fits) < 2:
            return res
        q = np.atleast_2d(np.asarray(qpoints, float))
        nu = np.stack([Phonons(f.harmonic_force_constants_).frequencies(q) for f in fits])
        scatter = nu.std(axis=0, ddof=1) / np.sqrt(len(fits))
        return replace(res, frequency_err=np.maximum(res.frequency_err, scatter))
