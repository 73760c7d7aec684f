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
``tol`` or after ``max_iter`` iterations (then ``converged_`` is False and a warning says so).
"""
from __future__ import annotations

import warnings

import numpy as np

from trajmodes.phonons.thermodynamics.sampling import canonical_configurations, check_sampling_temperature, supercell_modes

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

    Attributes
    ----------
    force_constants_ : ForceConstants
        The last constants.
    estimator_ : EffectiveForceConstants
        The fit of the last iteration (its scores and error bars).
    history_ : xarray.Dataset
        Over ``iteration``: ``n_samples``, ``max_change`` (THz), ``frequency`` (iteration, mode) of the supercell
        modes (THz), ``mean_square_displacement`` (A^2).
    converged_ : bool
    """

    def __init__(self, temperature: float, *, cutoff2: float | None = None, occupation: str = "quantum",
                 n_samples: int = 16, growth: float = 2.0, max_samples: int = 512, max_iter: int = 12,
                 tol: float = 0.01, mixing: float = 1.0, seed: int | None = 0, fit_options: dict | None = None):
        temperature = check_sampling_temperature(temperature, occupation)
        if not 0.0 < float(mixing) <= 1.0:
            raise ValueError(f"mixing must be in (0, 1], not {mixing!r}")
        if int(n_samples) < 1 or int(max_samples) < int(n_samples) or float(growth) < 1.0:
            raise ValueError("need 1 <= n_samples <= max_samples and growth >= 1")
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
        rows, est, converged = [], None, False
        for it in range(self.max_iter):
            n = int(min(self.max_samples, round(self.n_samples * self.growth ** it)))
            conf = canonical_configurations(fc, self.temperature if self.temperature > 0 else 0.0, n,
                                            occupation=self.occupation, seed=rng)
            batch = evaluate_checked(engine, conf["positions"].values)
            energies, forces = batch.energies, batch.forces
            est = EffectiveForceConstants(cutoff2=self.cutoff2, **self.fit_options)
            with warnings.catch_warnings():
                # an early iteration's few configurations may under-determine the fit: expected, the next has more
                warnings.filterwarnings("ignore", message=r"(under-determined|ill-conditioned) fit",
                                        category=UserWarning)
                est.fit_arrays(sc, conf["displacements"].values, forces, energies=energies)
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
            if change < self.tol:
                converged = True
                break
        if not converged:
            warnings.warn(f"self-consistent phonons at {self.temperature:g} K not converged after {self.max_iter} "
                          f"iterations: the last change was {rows[-1][1]:.4f} THz (tol {self.tol:g}); raise max_iter "
                          "or max_samples", RuntimeWarning, stacklevel=2)
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
                       tol_THz=self.tol, engine=getattr(engine, "name", type(engine).__name__),
                       method="stochastic self-consistent sampling (Shulumba, Hellman and Minnich, Phys. Rev. B 95, "
                              "014302 (2017)) of canonical configurations (West and Estreicher, Phys. Rev. Lett. 96, "
                              "115504 (2006))"))
        return self
