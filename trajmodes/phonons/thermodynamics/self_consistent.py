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
largest change of the supercell's mode frequencies (its commensurate q-points, THz). Its own sampling noise is measured
every iteration: the bootstrap of the iteration's fit over its configurations gives every supercell mode frequency a
standard error, and the change of a mode between two iterations has the error of both. The loop stops when every mode
moved by less than ``tol``, or, once the iterations have reached ``max_samples`` configurations (before, more of them
still shrink the noise), by less than ``noise_factor`` times that error or ``tol``, whichever is larger
(``stopped_by_``: "tol" when every change was below ``tol`` itself, "sampling noise" when the noise allowed it), or after ``max_iter`` iterations (then
``converged_`` is False and a warning says so). A fixed ``tol`` alone is not enough: with a few hundred configurations
the frequencies of one iteration scatter by more than 0.01 THz, and a loop at its fixed point would run to ``max_iter``
without ever getting below it. The default ``noise_factor`` is the two-sided 5 % family-wise threshold (Bonferroni)
over the moving modes (about 4 for a few thousand modes): at the fixed point every mode is within it in 95 % of the
iterations.

The default occupation is classical (k_B T per mode): what classical MD, which the results are compared with, samples;
``occupation="quantum"`` adds the zero-point motion. With ``n_average`` the
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

#: resamples of the bootstrap that measures each iteration's sampling noise
NOISE_RESAMPLES = 64


def noise_threshold(n_modes: int, level: float = 0.05) -> float:
    """The number of standard errors within which ``n_modes`` independent Gaussian changes all lie with probability
    1 - ``level`` (two-sided, Bonferroni), at least 3: the default ``noise_factor`` of :class:`SelfConsistentPhonons`."""
    from scipy.stats import norm
    return max(3.0, float(norm.isf(level / (2.0 * max(1, int(n_modes))))))


class SelfConsistentPhonons:
    """Stochastic self-consistent effective force constants at one temperature (module docstring).

    Estimator style (:class:`~trajmodes.forceconstants.ForceConstantsEstimator`): settings here, :meth:`fit` does the
    work and returns the estimator, results end in ``_``.

    Parameters
    ----------
    temperature : float
        Temperature (K) of the canonical ensemble the configurations are drawn from and of the constants.
    cutoff2 : float or None
        Pair cutoff of the fitted constants, Å (None: every pair of the supercell).
    occupation : {"classical", "quantum"}, optional
        Mode energies of the sampling: k_B T (classical, the default: what classical MD samples) or hbar omega
        (n + 1/2) (quantum: the zero-point motion; the default with ``n_beads``).
    n_samples : int
        Configurations of the first iteration.
    growth : float
        Factor on the number of configurations from one iteration to the next (the statistical noise falls as the
        frequencies converge).
    max_samples : int
        Cap on the configurations of one iteration.
    max_iter : int
        Most iterations (sample, fit, mix) before the loop stops unconverged (``stopped_by_`` "max_iter").
    tol : float
        THz: a change of a supercell mode frequency that counts as converged whatever the sampling noise (the floor of
        the criterion; module docstring).
    noise_factor : float, optional
        A mode has converged when its change is within this many standard errors of the change (the sampling noise of
        both iterations, measured by the bootstrap of their fits) or ``tol``, whichever is larger, once an iteration
        draws ``max_samples`` configurations. Default: the
        two-sided 5 % family-wise threshold over the moving modes (:func:`noise_threshold`). ``0``: ``tol`` alone.
    mixing : float
        Weight of the new constants in the next ones, (0, 1].
    seed : int, optional
        Seed of the random configurations (default 0: the same run gives the same constants); None draws a fresh
        one.
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
        modes (THz), ``frequency_err`` (iteration, mode) their standard error from the iteration's sampling (THz),
        ``threshold`` (iteration, mode) the change that counted as converged, max(tol, noise_factor x the change's
        error) (THz), ``max_change_z`` the largest change in units of its error, ``mean_square_displacement`` (Å²);
        attrs ``occupation``, ``stopped_by``, ``noise_factor``.
    temperature_ : float
        K, the sampling temperature (``temperature``).
    converged_ : bool
        Whether the loop converged (by ``tol`` or by the sampling noise) before ``max_iter``.
    stopped_by_ : str
        What ended the loop: "tol", "sampling noise" or "max_iter" (not converged).
    """

    def __init__(self, temperature: float, *, cutoff2: float | None = None, occupation: str | None = None,
                 n_samples: int = 16, growth: float = 2.0, max_samples: int = 512, max_iter: int = 12,
                 tol: float = 0.01, mixing: float = 1.0, seed: int | None = 0, fit_options: dict | None = None,
                 n_beads: int | None = None, n_average: int = 1, noise_factor: float | None = None):
        if occupation is None:
            occupation = "classical" if n_beads is None else "quantum"
        if noise_factor is not None and not float(noise_factor) >= 0:
            raise ValueError(f"noise_factor must be a non-negative number of standard errors, not {noise_factor!r}")
        self.noise_factor = None if noise_factor is None else float(noise_factor)
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

    def describe(self) -> str:
        """One line of what is sampled: the occupation (classical or quantum, the ring polymer's beads), temperature."""
        what = (f"quantum, one bead of the {self.n_beads}-bead ring polymer" if self.n_beads else
                "quantum (zero-point motion)" if self.occupation == "quantum" else "classical (k_B T per mode)")
        return f"{what} occupation at {self.temperature:g} K"

    def __repr__(self) -> str:
        nf = "auto" if self.noise_factor is None else f"{self.noise_factor:g}"
        state = ("" if not hasattr(self, "converged_") else
                 f", {'converged' if self.converged_ else 'NOT converged'} ({self.stopped_by_}) after "
                 f"{self.history_.sizes['iteration']} iterations")
        return (f"SelfConsistentPhonons({self.describe()}, tol {self.tol:g} THz or {nf} x the sampling noise"
                f"{state})")

    def _noise(self, est, modes) -> np.ndarray:
        """Standard error (THz) of every supercell mode frequency of the fit ``est`` from its own configurations: the
        spread of the sorted supercell spectra of its bootstrap resamples (at the commensurate q-points); zeros where
        the fit has no spread (exact forces), NaN where it cannot be measured."""
        from trajmodes.lattice.qpoints import commensurate_qpoints
        from trajmodes.phonons.thermodynamics.uncertainty import frequency_samples
        fc = est.harmonic_force_constants_
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.bootstrap(n_resamples=NOISE_RESAMPLES, seed=0)
                S = np.rint(np.asarray(fc.supercell.cell) @ np.linalg.inv(np.asarray(fc.primitive.cell)))
                nu = frequency_samples(est, commensurate_qpoints(S))
        except (ValueError, np.linalg.LinAlgError):
            return np.full(len(modes.frequencies), np.nan)
        nu = np.sort(nu.reshape(len(nu), -1), axis=1)
        if nu.shape[1] != len(modes.frequencies):
            return np.full(len(modes.frequencies), np.nan)
        err = nu.std(axis=0, ddof=1) * self.mixing
        err[modes.translations] = 0.0
        return err

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
        err = np.zeros_like(nu)                                            # the initial constants carry no noise
        z = noise_threshold(int(np.count_nonzero(nu))) if self.noise_factor is None else self.noise_factor
        stopped_by = "max_iter"
        for it in range(self.max_iter + self.n_average - 1):
            if it >= self.max_iter and not converged:
                break
            n = int(min(self.max_samples, round(self.n_samples * self.growth ** it)))
            conf = canonical_configurations(fc, self.temperature if self.temperature > 0 else 0.0, n,
                                            occupation=self.occupation, seed=rng, n_beads=self.n_beads)
            batch = evaluate_checked(engine, conf["positions"].values,
                                     where=f"iteration {it + 1} of the self-consistent phonons ({n} configurations "
                                           f"sampled at {self.temperature:g} K)")
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
            delta = np.abs(nu_new - nu)
            change = float(delta.max())
            err_new = self._noise(est, modes) if z > 0 else np.zeros_like(nu_new)
            sigma = np.sqrt(err_new ** 2 + err ** 2)
            threshold = np.maximum(self.tol, z * np.nan_to_num(sigma, nan=0.0))
            with np.errstate(divide="ignore", invalid="ignore"):
                zmax = float(np.nanmax(np.where(sigma > 0, delta / sigma, np.nan))) if (sigma > 0).any() else np.nan
            msd = float((conf["displacements"].values ** 2).sum(-1).mean())
            rows.append((n, change, nu_new, msd, err_new, threshold, zmax))
            # the noise counts once the iterations stopped growing: before, more configurations still shrink it
            now = not converged and ((delta < self.tol).all() or (n >= self.max_samples and (delta < threshold).all()))
            if now:
                converged, stopped_by = True, ("tol" if change < self.tol else "sampling noise")
            if progress is not None:
                noise = f" ({zmax:.1f} x its sampling error)" if np.isfinite(zmax) else ""
                done = ("" if not now else f"; converged: every change below tol {self.tol:g} THz" if stopped_by == "tol"
                        else f"; converged: every change within {z:.1f} x its sampling error (tol {self.tol:g} THz)")
                progress(f"iteration {it + 1}: {n} configurations, {self.describe()}, largest frequency change "
                         f"{change:.4f} THz{noise}, <u^2> {msd:.5f} A^2{done}")
            if (nu_new[~modes.translations] <= 0).any():
                raise ValueError(f"iteration {it + 1} gave imaginary modes: the sampled crystal is unstable at "
                                 f"{self.temperature:g} K with these constants (try mixing < 1, more samples, or "
                                 "a longer cutoff)")
            fc, nu, err = new, nu_new, np.nan_to_num(err_new, nan=0.0)
            if converged and not now:                                      # the iterations averaged after convergence
                extra += 1
                if extra >= self.n_average - 1:
                    break
            elif now and self.n_average == 1:
                break
        if not converged:
            last = rows[-1]
            warnings.warn(f"self-consistent phonons ({self.describe()}) not converged after "
                          f"{self.max_iter} iterations: the last change was {last[1]:.4f} THz"
                          + (f" ({last[6]:.1f} x its sampling error)" if np.isfinite(last[6]) and z > 0 else "")
                          + f"; converged is every change within max(tol {self.tol:g} THz, {z:.1f} x its error) at "
                          f"{self.max_samples} configurations; raise max_iter or "
                          "max_samples, or damp an oscillating loop with mixing < 1", RuntimeWarning, stacklevel=2)
        self.iteration_estimators_ = [t[3] for t in tail]
        if len(tail) > 1:                                                  # one fit of the averaged iterations
            est = EffectiveForceConstants(cutoff2=self.cutoff2, **self.fit_options)
            est.fit_arrays(sc, np.concatenate([t[0] for t in tail]), np.concatenate([t[1] for t in tail]),
                           energies=np.concatenate([t[2] for t in tail]))
            fc = est.harmonic_force_constants_
        self.force_constants_, self.estimator_, self.converged_ = fc, est, converged
        self.stopped_by_, self.temperature_ = stopped_by, self.temperature
        self.history_ = xr.Dataset(
            dict(n_samples=("iteration", np.array([r[0] for r in rows])),
                 max_change=("iteration", np.array([r[1] for r in rows]),
                             {"units": "THz", "long_name": "largest change of a supercell mode frequency"}),
                 frequency=(("iteration", "mode"), np.array([r[2] for r in rows]),
                            {"units": "THz", "long_name": "supercell (Gamma) mode frequencies after the iteration"}),
                 mean_square_displacement=("iteration", np.array([r[3] for r in rows]),
                                           {"units": "Angstrom^2", "long_name": "<|u|^2> of the configurations"}),
                 frequency_err=(("iteration", "mode"), np.array([r[4] for r in rows]),
                                {"units": "THz", "long_name": "standard error of the iteration's frequencies from its "
                                                              "sampling (bootstrap of its fit)"}),
                 threshold=(("iteration", "mode"), np.array([r[5] for r in rows]),
                            {"units": "THz", "long_name": "change that counts as converged: max(tol, noise_factor x "
                                                          "the change's standard error)"}),
                 max_change_z=("iteration", np.array([r[6] for r in rows]),
                               {"long_name": "largest change of a mode in units of its standard error"})),
            coords=dict(iteration=np.arange(1, len(rows) + 1)),
            attrs=dict(temperature=self.temperature, occupation=self.occupation, converged=int(converged),
                       stopped_by=stopped_by, noise_factor=float(z),
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
