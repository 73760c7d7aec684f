"""Error bars of phonon frequencies and harmonic thermodynamics from the bootstrap resamples of a force-constant fit.

Every resample of :meth:`trajmodes.EffectiveForceConstants.bootstrap` is a complete set of force constants; the
spread of what each gives is the error bar of what the fit gives. The dynamical matrix is linear in the order-2
parameters p, D(q) = D_0(q) + sum_k (p_k - p0_k) D_k(q) with D_k the matrix of the k-th basis tensor, so the
matrices of every resample come from the D_k built once (one lattice sum), and no resample's force constants (nor
its third order) are ever assembled:

- frequencies at a few q (:func:`frequency_samples`): every resample's D(q) diagonalised exactly;
- thermodynamics on a mesh (:func:`harmonic_samples`): the eigenvalues to first order in the resample's change,
  lambda_s + sum_k dp_k e_s^+ D_k e_s (the Hellmann-Feynman derivative; within a degenerate set the diagonal
  elements sum to the exact first-order trace, which is all a sum over the modes sees), then F, S and C_V of every
  resample exactly from those eigenvalues. The neglected terms are second order in the resamples' spread: relative
  to the error bar, of the order of the error bar over the eigenvalue gaps.

Frequencies are sorted per q, so a branch is the n-th frequency of its q (degenerate branches share their error).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trajmodes.forceconstants.uncertainty import bootstrap_std
from trajmodes.lattice.qpoints import commensurate_qpoints
from trajmodes.phonons.harmonic.dynamical import frequencies_from_eigenvalues
from trajmodes.phonons.harmonic.phonons import Phonons
from trajmodes.phonons.harmonic.thermal import harmonic_thermodynamics, zero_gamma_acoustic

__all__ = ["frequency_samples", "frequencies_with_errors", "FrequenciesWithErrors", "classical_dnu_dT",
           "partition_temperature_err", "partition_err", "eigenvalue_response", "harmonic_samples", "HarmonicSamples"]

#: bytes of complex matrices one block of q may hold (the D_k of a block, or the resampled D of a block)
BLOCK_BYTES = 32 * 2 ** 20


def _deltas(fit) -> np.ndarray:
    """The resamples' change of the order-2 parameters, (n_resamples, P2) (:meth:`bootstrap` first)."""
    if not hasattr(fit, "params_samples_"):
        raise ValueError("no bootstrap resamples: call bootstrap() first")
    return fit.params_samples_[2] - fit.params_[2][None, :]


def _blocks(nq: int, per_q: int):
    """Slices of q holding at most BLOCK_BYTES of ``per_q`` bytes each."""
    size = max(1, BLOCK_BYTES // max(1, per_q))
    return [slice(s, min(s + size, nq)) for s in range(0, nq, size)]


def _basis_matrices(tensors, phonons: Phonons, q: np.ndarray) -> np.ndarray:
    """D_k(q) of every order-2 basis tensor, (nq, P2, 3n, 3n) complex; ``tensors`` from :func:`_basis_tensors`."""
    return phonons.dm.of_constants(tensors[0], q, columns=tensors[1])


def _basis_tensors(fit) -> tuple:
    """The order-2 basis tensors on the atoms they reach ((P2, n, C, 3, 3), columns): built once for every block of
    q (at 10^6 atoms each whole compact tensor is 62 MB, and a fit has tens of them)."""
    basis = fit.bases_[2]
    return basis.compact_columns(np.eye(basis.n_params))


def frequency_samples(fit, qpoints) -> np.ndarray:
    """Frequencies (THz, ascending per q) of every bootstrap resample of ``fit``: (n_resamples, nq, 3n).

    Each resample's D(q) = D_0(q) + sum_k dp_k D_k(q) is diagonalised exactly (the same numbers as the resample's own
    force constants give, to round-off)."""
    q = np.atleast_2d(np.asarray(qpoints, float))
    dp = _deltas(fit)
    ph = Phonons(fit.harmonic_force_constants_)
    nb = ph.n_branches
    out = np.empty((len(dp), len(q), nb))
    tensors = _basis_tensors(fit)
    for b in _blocks(len(q), 16 * nb * nb * max(len(dp), fit.bases_[2].n_params)):
        Dk = _basis_matrices(tensors, ph, q[b])
        D = ph.dynamical_matrix(q[b])[None] + np.einsum("rk,qkij->rqij", dp, Dk, optimize=True)
        out[:, b] = frequencies_from_eigenvalues(np.linalg.eigvalsh(D))
    return out


@dataclass(frozen=True)
class FrequenciesWithErrors:
    """Frequencies of a fit with their error bars (:func:`frequencies_with_errors`), named as the datasets name them.

    Parameters
    ----------
    frequency : ndarray (nq, 3n)
        THz, sorted per q.
    frequency_err : ndarray (nq, 3n)
        Standard errors, THz: ``bootstrap_err`` and the terms below, combined as :func:`frequencies_with_errors` says.
    samples : ndarray (n_resamples, nq, 3n)
        The frequencies of every bootstrap resample, THz.
    bootstrap_err : ndarray (nq, 3n)
        The block bootstrap's part (scaled to its blocking plateau), THz.
    temperature_term : ndarray (nq, 3n)
        abs(d nu / dT) times the error of the run's temperature, THz (zero without ``dnu_dT``).
    partition_term : ndarray (nq, 3n)
        The quartic response to the energy each set of modes kept (:func:`partition_err`), THz (zero without
        ``partition``).
    net_slope_term : ndarray (nq, 3n)
        abs(d nu / dT) times :func:`partition_temperature_err`, THz (zero unless ``frozen_modes`` or ``partition`` with
        ``dnu_dT``).
    """

    frequency: np.ndarray
    frequency_err: np.ndarray
    samples: np.ndarray
    bootstrap_err: np.ndarray | None = None
    temperature_term: np.ndarray | None = None
    partition_term: np.ndarray | None = None
    net_slope_term: np.ndarray | None = None


def frequencies_with_errors(fit, qpoints, n_resamples: int = 200, seed: int | None = 0, dnu_dT=None,
                            frozen_modes: bool = False, partition=None, *, quartic=None,
                            temperature_err: float | None = None,
                            thermostatted: bool | None = None) -> FrequenciesWithErrors:
    """Frequencies of a fit at ``qpoints`` with their bootstrap standard errors.

    The bootstrap (with the blocking analysis of :meth:`~trajmodes.EffectiveForceConstants.bootstrap`) sees what
    varies within the run. An effective frequency also depends on the run's temperature, whose own error
    (``fit.temperature_ensemble_err_``: in NVE the canonical draw of the run's energy included) moves it by
    d nu / dT times that: given ``dnu_dT``, that term is added in quadrature.

    Parameters
    ----------
    fit : EffectiveForceConstants
        Fitted; bootstrapped here (``n_resamples``, ``seed``) unless it has been already.
    qpoints : array_like (nq, 3)
        Reduced coordinates.
    dnu_dT : array_like (nq, 3n), optional
        d nu / dT of every frequency, THz/K: from neighbouring runs of a series, or :func:`classical_dnu_dT`.
    frozen_modes : bool
        The run's modes keep their energies over the run (NVE or Nose-Hoover runs shorter than the phonon lifetimes:
        small, cool, nearly harmonic crystals): the temperature error is :func:`partition_temperature_err` instead.
        Not for runs under a stochastic thermostat, which redraws every mode's energy on its damping time.
    partition : xarray.Dataset, optional
        :func:`~trajmodes.modes.energies.frozen_energy_fraction` of the run (projected on the modes of
        ``fit.harmonic_force_constants_``; a fourth order from ``quartic`` or from ``fit`` itself, ``cutoff4``): the
        error from the energy each set of modes kept, the larger, frequency by frequency, of two lowest-order
        estimates: the quartic response resolved by mode (:func:`partition_err`) plus d nu / dT times the run's
        temperature error, and the net response spread by mean-square displacement (d nu / dT times
        :func:`partition_temperature_err`, as ``frozen_modes``).
        Where cubic softening and quartic hardening cancel (Cu at 300 K) the net slope is small while single modes
        still move the frequencies (the net-slope term alone: z-scores 1.37-1.59 for Cu); the cubic part of the
        response enters only through the net-slope term. Over independent NVE and Nose-Hoover runs of 32-atom Cu and
        64-atom Si the larger gave z-score standard deviations of 0.91-1.09 (Cu) and 0.83-0.95 (Si), 12 runs per group
        (docs/series.md). Replaces ``frozen_modes``.
    quartic : ForceConstants, optional
        With ``fc4``, on the run's supercell, its second order the run's (a fit of the same run with ``cutoff3`` and
        ``cutoff4``, sequential: the same fc2): the fourth order of the partition term; default
        ``fit.force_constants_``.
    temperature_err : float, optional
        K: the error of the run's temperature; default ``fit.temperature_ensemble_err_`` (in NVE with the canonical
        draw of its energy).
    thermostatted : bool, optional
        Whether the run exchanged energy with a thermostat (:func:`partition_temperature_err`); default unless
        ``fit.energy_conserved_``.
    n_resamples : int
        Block-bootstrap resamples.
    seed : int or None
        Seed of the resampling.

    Returns
    -------
    FrequenciesWithErrors
        ``frequency`` and ``frequency_err`` (nq, 3n) THz, ``samples`` (n_resamples, nq, 3n) THz, and the parts of the
        error.
    """
    if not hasattr(fit, "params_samples_"):
        fit.bootstrap(n_resamples, seed)
    if partition is not None and frozen_modes:
        raise ValueError("frozen_modes and partition both count the energy the run's modes kept: give one")
    q = np.atleast_2d(np.asarray(qpoints, float))
    nu = Phonons(fit.harmonic_force_constants_).frequencies(q)
    samples = frequency_samples(fit, q)
    boot = bootstrap_std(samples, fit.segments_.n_blocks)
    zero = np.zeros_like(boot)
    temp, part, net = zero, zero, zero
    if dnu_dT is not None:
        d = np.abs(np.broadcast_to(np.asarray(dnu_dT, float), boot.shape))
        if temperature_err is None:
            temperature_err = getattr(fit, "temperature_ensemble_err_", getattr(fit, "temperature_err_", np.nan))
        t_err = float(temperature_err)
        if frozen_modes or partition is not None:
            pt = partition_temperature_err(fit, thermostatted)
            net = d * pt if np.isfinite(pt) else zero
        if not frozen_modes and np.isfinite(t_err):
            temp = d * t_err
    if partition is not None:
        part = partition_err(fit.force_constants_ if quartic is None else quartic, partition, q)
    var = np.maximum(part ** 2 + temp ** 2, net ** 2)
    return FrequenciesWithErrors(frequency=nu, frequency_err=np.sqrt(boot ** 2 + var), samples=samples,
                                 bootstrap_err=boot, temperature_term=temp, partition_term=part, net_slope_term=net)


def partition_temperature_err(fit, thermostatted: bool | None = None) -> float:
    """Standard error (K) of the temperature that a run's modes carry when they do not exchange energy over the run.

    A run started from a canonical state carries one canonical draw of energy per mode, E_k with mean and standard
    deviation k_B T (classical). When its modes keep their energies for the whole run (NVE or Nose-Hoover in a small,
    nearly harmonic crystal: one global friction does not move energy between the modes, W. G. Hoover, Phys. Rev. A
    31, 1695 (1985)), the run's effective constants belong to that draw. To lowest order they shift with the mean
    square displacement, sum_k E_k / omega_k^2, whose relative standard deviation over the draws is 1 / sqrt(n_eff),
    n_eff = (sum_k omega_k^-2)^2 / sum_k omega_k^-4 over the supercell's 3N - 3 vibrating modes (of the fitted
    constants), so the run behaves as if its temperature were off by T / sqrt(n_eff). A thermostat that exchanges energy
    with the whole crystal keeps the total: then only the partition, T^2 (1 / n_eff - 1 / (3N - 3)), is frozen,
    besides the in-run error of the mean temperature.

    Parameters
    ----------
    fit : EffectiveForceConstants
        Fitted and bootstrapped (its :attr:`temperature_`, ``temperature_err_`` and ``energy_conserved_``).
    thermostatted : bool, optional
        Whether the run exchanged energy with a thermostat; default: unless its total energy is conserved
        (``fit.energy_conserved_``).

    Returns
    -------
    float
        K: sqrt(T^2 / n_eff + err^2) for an NVE run, sqrt(T^2 (1 / n_eff - 1 / (3N - 3)) + err^2) for a thermostatted
        one, err the in-run error of the mean temperature (``temperature_err_``).
    """
    T = float(fit.temperature_)
    if not np.isfinite(T):
        return float("nan")
    S = np.rint(fit.supercell_.cell @ np.linalg.inv(fit.primitive_.cell))
    nu = Phonons(fit.harmonic_force_constants_).frequencies(commensurate_qpoints(S)).ravel()
    nu = np.abs(nu[np.abs(nu) > 1e-6 * np.abs(nu).max()])
    w = nu ** -2.0
    n_eff = w.sum() ** 2 / (w ** 2).sum()
    if thermostatted is None:
        thermostatted = not bool(getattr(fit, "energy_conserved_", False))
    frozen = 1.0 / n_eff - (1.0 / len(nu) if thermostatted else 0.0)
    return float(np.sqrt(T ** 2 * max(frozen, 0.0) + float(fit.temperature_err_) ** 2))


def partition_err(force_constants, frozen, qpoints, degeneracy_tol: float = 1e-4) -> np.ndarray:
    """Standard error (THz) of a run's effective frequencies from the share of energy each of its modes kept.

    A run whose modes keep the energies they started with (NVE or one global thermostat in a small, nearly harmonic
    crystal) has effective constants that belong to that draw of energies, which its bootstrap cannot see. Each
    frequency moves with the energy E_k of every mode k of the supercell by d nu / d E_k; to lowest order the
    quartic (loop) response, :func:`~trajmodes.phonons.anharmonic.quartic.loop_shift_by_mode`. The part of that response
    common to all modes is a change of temperature (its error is d nu / dT times the run's temperature error, of
    :func:`frequencies_with_errors`), so only the rest, the partition, enters here:
    var(nu) = sum_k f_k (k_B T d nu / d E_k - mean_k)^2, with f_k the fraction of mode k's canonical energy
    fluctuation that the run kept frozen (:func:`trajmodes.modes.energies.frozen_energy_fraction`).

    Where the cubic softening and the quartic hardening of a frequency cancel (Cu at room temperature), the net
    d nu / dT is small while the response to single modes is not; this term carries the scatter of such runs,
    which :func:`partition_temperature_err`, scaled by the net d nu / dT, misses. The cubic part of the response
    (second order in the cubic constants) is not resolved by mode; :func:`frequencies_with_errors` takes the larger
    of this term and the net-slope one.

    Parameters
    ----------
    force_constants : ForceConstants
        With ``fc4`` (an :class:`~trajmodes.EffectiveForceConstants` fit with ``cutoff4``), on the run's supercell;
        its second order the run's effective one.
    frozen : xarray.Dataset
        :func:`~trajmodes.modes.energies.frozen_energy_fraction` of the run, projected on the modes of
        ``force_constants``' second order at the q-points commensurate with the supercell.
    qpoints : array_like (nq, 3)
        The q-points, reduced coordinates of the primitive reciprocal lattice (no 2 pi).
    degeneracy_tol : float
        THz: degenerate branches at ``qpoints`` share the mean of their variances.

    Returns
    -------
    ndarray (nq, 3n), THz
    """
    from trajmodes.phonons.harmonic.degeneracy import degenerate_average
    from trajmodes.phonons.anharmonic.quartic import loop_shift_by_mode
    q = np.atleast_2d(np.asarray(qpoints, dtype=float))
    f = np.asarray(frozen["frozen_fraction"].values, float).reshape(-1)
    T = float(frozen.attrs["temperature"])
    ph = Phonons(force_constants)
    qk = np.asarray(frozen["qpoint"].values, float)
    qc = commensurate_qpoints(force_constants.smap.matrix)
    d = (qk[:, None] - qc[None]) % 1.0
    if len(qk) != len(qc) or not np.all(np.minimum(d, 1.0 - d).max(axis=2).min(axis=1) < 1e-6) \
            or len(f) != len(qk) * ph.n_branches:
        raise ValueError(f"the frozen fractions hold {len(f)} modes at {len(qk)} q-points, not the "
                         f"{len(qc) * ph.n_branches} modes of the supercell ({len(qc)} q-points): project the run on "
                         "these constants' phonons at the q-points commensurate with its cell (trajmodes.project's "
                         "default)")
    S = loop_shift_by_mode(force_constants, q, T, qk, ph)
    S = S.reshape(len(f), *S.shape[2:])
    vib = np.abs(np.asarray(frozen["frequency_harmonic"].values, float).reshape(-1)) >= 1e-3
    S = np.where(vib[:, None, None], S - S[vib].mean(axis=0), 0.0)
    var = np.einsum("k,kqs->qs", f, S ** 2)
    return np.sqrt(degenerate_average(var, ph.frequencies(q), degeneracy_tol))


def classical_dnu_dT(nu, nu0, temperature: float) -> np.ndarray:
    """d nu / dT of effective frequencies ``nu`` (THz) at ``temperature`` (K) from the frequencies ``nu0`` of the static
    (0 K) crystal at the same volume, with the classical scaling of the lowest-order anharmonic shift: nu^2 - nu0^2
    linear in T (the quartic and squared-cubic renormalisations of a classical crystal are proportional to the
    mean square displacements, so to k_B T), d nu / dT = (nu^2 - nu0^2) / (2 nu T); zero where nu is zero. THz/K.
    An imaginary frequency (negative, the convention of every frequency here) enters with its eigenvalue,
    -nu^2: a static crystal unstable at 0 K (bcc Zr) has its eigenvalue, not nu0^2, moved linearly in T, and
    d nu / dT = (sign(nu) nu^2 - sign(nu0) nu0^2) / (2 abs(nu) T).

    Parameters
    ----------
    nu : array_like
        Effective frequencies, THz.
    nu0 : array_like
        The static crystal's frequencies of the same modes, THz.
    temperature : float
        The temperature of ``nu``, K.
    """
    nu, nu0 = np.asarray(nu, float), np.asarray(nu0, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = (np.sign(nu) * nu ** 2 - np.sign(nu0) * nu0 ** 2) / (2.0 * np.abs(nu) * float(temperature))
    return np.where(np.abs(nu) > 0, d, 0.0)


def eigenvalue_response(fit, qpoints, phonons: Phonons | None = None):
    """Eigenvalues of the fitted D(q) and their derivatives with respect to the order-2 parameters.

    Parameters
    ----------
    fit : EffectiveForceConstants
        Fitted: its order-2 basis gives the derivatives, its harmonic constants D(q).
    qpoints : array_like (nq, 3)
        The q-points, reduced coordinates of the primitive reciprocal lattice (no 2 pi).
    phonons : Phonons, optional
        Of ``fit.harmonic_force_constants_`` (built here when not given).

    Returns
    -------
    lam : ndarray (nq, 3n)
        Eigenvalues of D, eV/(Å² amu), ascending.
    dlam : ndarray (nq, 3n, P2)
        d lambda_s / d p_k = e_s^+ D_k e_s, eV/(Å² amu) per parameter unit (eV/Å²).
    """
    q = np.atleast_2d(np.asarray(qpoints, float))
    ph = Phonons(fit.harmonic_force_constants_) if phonons is None else phonons
    nb, P = ph.n_branches, fit.bases_[2].n_params
    lam, dlam = np.empty((len(q), nb)), np.empty((len(q), nb, P))
    tensors = _basis_tensors(fit)
    for b in _blocks(len(q), 16 * nb * nb * (P + 2)):
        lam[b], e = np.linalg.eigh(ph.dynamical_matrix(q[b]))
        Dk = _basis_matrices(tensors, ph, q[b])
        dlam[b] = np.einsum("qis,qkij,qjs->qsk", e.conj(), Dk, e, optimize=True).real
    return lam, dlam


@dataclass(frozen=True)
class HarmonicSamples:
    """The harmonic thermodynamics of every bootstrap resample, per primitive cell: ``free_energy`` (eV), ``entropy``
    and ``heat_capacity`` (eV/K), each (n_resamples,).

    Parameters
    ----------
    free_energy : ndarray (n_resamples,)
        eV per primitive cell.
    entropy, heat_capacity : ndarray (n_resamples,)
        eV/K per primitive cell.
    """

    free_energy: np.ndarray
    entropy: np.ndarray
    heat_capacity: np.ndarray


def harmonic_samples(fit, temperature: float, mesh, occupation: str = "quantum") -> HarmonicSamples:
    """Harmonic F, S and C_V per primitive cell (eV, eV/K) of every bootstrap resample of ``fit`` at one temperature,
    on a Gamma-centred mesh, from the eigenvalues to first order in each resample's change (module docstring).
    ``occupation``: "quantum" or "classical" oscillators.

    Every resample has the crystal's symmetry (the parameters are those of its symmetry basis), so the mesh sums run
    over the irreducible points weighted by their stars (:class:`trajmodes.lattice.grid.Grid`; time reversal only
    when the mesh breaks the point group).

    Parameters
    ----------
    fit : EffectiveForceConstants
        Fitted and bootstrapped.
    temperature : float
        The temperature, K.
    mesh : int or (3,) int
        Gamma-centred q-mesh.
    occupation : {"quantum", "classical"}
        Bose-Einstein or classical oscillators.

    Returns
    -------
    HarmonicSamples
    """
    from trajmodes.lattice.grid import Grid
    from trajmodes.phonons.harmonic.statistics import check_occupation
    occupation = check_occupation(occupation)
    try:
        grid = Grid(mesh, fit.primitive_.symmetry(fit.symprec_used_).rotations)
    except ValueError:                                       # a mesh with fewer divisions along equivalent axes
        grid = Grid(mesh)
    q = grid.qpoints[grid.irreducible]
    lam, dlam = eigenvalue_response(fit, q)
    dp = _deltas(fit)
    out = {k: np.empty(len(dp)) for k in ("free_energy", "entropy", "heat_capacity")}
    for r in range(len(dp)):
        nu = zero_gamma_acoustic(q, frequencies_from_eigenvalues(lam + dlam @ dp[r]))
        th = harmonic_thermodynamics(nu, [temperature], occupation, weights=grid.weights)
        for k in out:
            out[k][r] = getattr(th, k)[0]
    return HarmonicSamples(**out)
