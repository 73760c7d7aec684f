"""Canonical configurations of a harmonic crystal: displacements and velocities drawn from the thermal distribution of
force constants on their supercell (TDEP's ``canonical_configuration``; D. West and S. K. Estreicher, Phys. Rev. Lett.
96, 115504 (2006)).

The supercell's Gamma-point dynamical matrix D = M^-1/2 Phi M^-1/2 (3N, 3N), eV/(Å² amu), from the full layout of
the force constants, is diagonalised: eigenvalues omega_s^2, eigenvectors e_s. Its three eigenvalues smallest in
magnitude (the translations) are left out; every other mode s gets its own normal random weights xi_s, xi'_s:

    u = M^-1/2 sum_s e_s sqrt(E_s) / omega_s xi_s,     v = M^-1/2 sum_s e_s sqrt(E_s) xi'_s,

with E_s the mean energy of mode s: k_B T (classical) or hbar omega_s (n_s + 1/2) (quantum, Bose-Einstein n_s), so
that <1/2 omega_s^2 Q_s^2> = <1/2 Qdot_s^2> = E_s / 2. The mass-weighted centre of mass of every sample is then
removed from u and v. Classically the displacements are distributed as exp(-u Phi u / 2 k_B T) on the 3N - 3
non-translational coordinates: their covariance is k_B T M^-1/2 D^+ M^-1/2 (= k_B T Phi^+ for equal masses) and each
mode holds k_B T / 2 of kinetic energy.

Polar crystals. Short-range constants (TDEP's convention, docs/polar.md) are made full first (the dipole-dipole part
Phi_dd of the supercell added back: :meth:`~trajmodes.ForceConstants.with_convention`), so the modes are those of the
whole supercell Gamma matrix. With ``q_direction`` the non-analytic term of the supercell's Gamma point is added too,

    (4 pi / V_ss) k_e (qhat . Z_i)(qhat . Z_j)^T / (qhat . eps . qhat),

for every pair of supercell atoms (V_ss the supercell volume, k_e = e^2 / 4 pi eps0 of the constants), which splits
the LO modes of the supercell off the TO modes along qhat; TDEP's ``canonical_configuration`` adds it along (1, 0, 0).
The potential energy 1/2 u Phi u of such configurations is that of the full constants without the term (a uniform
polarisation of a periodic supercell makes no macroscopic field), so an LO mode holds less than k_B T / 2 of it.

Path integrals. With ``n_beads=P`` (quantum occupation) every sample is one bead of the P-bead ring polymer of the
harmonic crystal (M. Parrinello and A. Rahman, J. Chem. Phys. 80, 860 (1984)): E_s = omega_s^2 <x_s^2>_P with
<x_s^2>_P = k_B T sum_{k=0}^{P-1} 1 / (omega_s^2 + omega_k^2), omega_k = (2 P k_B T / hbar) sin(pi k / P), exactly
:func:`trajmodes.quantum.harmonic.mode_variances` with ``n_beads``: k_B T at P = 1, hbar omega (n + 1/2) as P grows.
The velocities are drawn with the same E_s. The samples are independent beads (of independent ring polymers).

:func:`mode_configurations` is TDEP's ``canonical_configuration --modes``: one configuration per sign and mode, the
mode alone at its thermal amplitude, deterministic.

Units: displacements and positions Å, velocities Å/ps, frequencies THz (ordinary, not angular).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trajmodes.phonons.harmonic.statistics import check_occupation
from trajmodes.units import AMU_A2_PS2_EV, H_EV_PS, KB_EV, THZ, THZ_EV

__all__ = ["supercell_modes", "SupercellModes", "canonical_configurations", "mode_configurations",
           "nonanalytic_supercell_term", "check_sampling_temperature", "check_n_beads"]


@dataclass(frozen=True)
class SupercellModes:
    """The supercell's own (Gamma-point) normal modes (:func:`supercell_modes`).

    Attributes
    ----------
    eigenvalues : ndarray (3N,)
        omega^2 of the mass-weighted dynamical matrix, eV/(Å² amu), ascending.
    frequencies : ndarray (3N,)
        THz (ordinary); the three translations exactly 0, imaginary modes negative.
    eigenvectors : ndarray (3N, 3N)
        Mass-weighted, orthonormal, one mode per column (rows 3 i + a: supercell atom i, Cartesian a).
    translations : ndarray of bool (3N,)
        The three modes taken for the translations (the eigenvalues smallest in magnitude).
    masses : ndarray (N,)
        Mass of each atom of the supercell, amu.
    """

    eigenvalues: np.ndarray
    frequencies: np.ndarray
    eigenvectors: np.ndarray
    translations: np.ndarray
    masses: np.ndarray


def nonanalytic_supercell_term(force_constants, q_direction) -> np.ndarray:
    """The non-analytic term of the supercell's Gamma point along ``q_direction`` (module docstring), (3N, 3N) in
    eV/Å², for constants with Born charges (the charges of each primitive atom on its supercell images)."""
    from trajmodes.units import NAC_FACTOR
    if force_constants.born is None:
        raise ValueError("q_direction needs Born charges and a dielectric tensor (these constants have none)")
    d = np.asarray(q_direction, dtype=float).reshape(3)
    if not np.linalg.norm(d) > 0:
        raise ValueError(f"q_direction must be a non-zero vector, not {q_direction!r}")
    d = d / np.linalg.norm(d)
    born = force_constants.born[force_constants.smap.atom]                        # (N, E, u)
    qz = np.einsum("e,neu->nu", d, born).reshape(-1)                              # (3N,)
    k_e = NAC_FACTOR if force_constants.nac_factor is None else force_constants.nac_factor
    scale = 4 * np.pi / force_constants.supercell.volume * k_e / float(d @ force_constants.epsilon @ d)
    return scale * np.outer(qz, qz)


def supercell_modes(force_constants, masses=None, allow_imaginary: bool = False,
                    q_direction=None) -> SupercellModes:
    """The supercell's own (Gamma-point) normal modes.

    Parameters
    ----------
    force_constants : ForceConstants
        Phi on its supercell (any layout; the full (3N, 3N) matrix is built: 8 (3N)^2 bytes, eigh O((3N)^3)).
        Short-range (polar) constants are made full first (module docstring).
    masses : array_like (N,), optional
        amu (default: the supercell's).
    allow_imaginary : bool
        Return imaginary modes (as negative frequencies) instead of refusing them.
    q_direction : array_like (3,), optional
        Cartesian; with Born charges, add the non-analytic term of the supercell along it
        (:func:`nonanalytic_supercell_term`; TDEP's ``canonical_configuration``: (1, 0, 0)).

    Returns
    -------
    SupercellModes
        ``eigenvalues`` (3N,) omega^2 in eV/(Å² amu) (ascending), ``frequencies`` (3N,) THz (the three translations
        exactly 0, imaginary modes negative), ``eigenvectors`` (3N, 3N) mass-weighted, columns; ``translations`` (3N,)
        bool; ``masses`` (N,) amu.
    """
    n = force_constants.n_atoms
    m = np.asarray(force_constants.supercell.masses if masses is None else masses, dtype=float).reshape(-1)
    if m.shape != (n,) or not (m > 0).all():
        raise ValueError(f"give {n} positive masses (amu), one per supercell atom")
    if n > 4000:
        raise ValueError(f"a {n}-atom supercell has a ({3 * n}, {3 * n}) dynamical matrix "
                         f"({8 * 9 * n * n / 1e9:.1f} GB, O(N^3) to diagonalise): use a smaller supercell")
    phi = force_constants.with_convention("full").full().transpose(0, 2, 1, 3).reshape(3 * n, 3 * n)
    if q_direction is not None:
        phi = phi + nonanalytic_supercell_term(force_constants, q_direction)
    w = 1.0 / np.sqrt(np.repeat(m, 3))
    d = phi * w[:, None] * w[None, :]
    lam, vec = np.linalg.eigh(0.5 * (d + d.T))
    trans = np.zeros(3 * n, dtype=bool)
    trans[np.argsort(np.abs(lam), kind="stable")[:3]] = True
    freqs = THZ * np.sign(lam) * np.sqrt(np.abs(lam))
    freqs[trans] = 0.0
    bad = ~trans & (lam <= 0)
    if bad.any() and not allow_imaginary:
        raise ValueError(f"{int(bad.sum())} modes of the supercell besides the three translations are imaginary or "
                         f"zero (lowest {freqs[bad].min():.4g} THz): a harmonic crystal with these force constants is "
                         "unstable, so it has no canonical distribution (check the fit's cutoff, or the acoustic sum "
                         "rule)")
    return SupercellModes(eigenvalues=lam, frequencies=freqs, eigenvectors=vec, translations=trans, masses=m)


def check_sampling_temperature(temperature, occupation: str = "classical") -> float:
    """The temperature of a thermal sampling as a float, K: finite and positive, or 0 with quantum occupations (the
    zero-point motion alone); a ValueError that says so otherwise."""
    check_occupation(occupation)
    try:
        T = float(temperature)
    except (TypeError, ValueError):
        T = float("nan")
    if not np.isfinite(T) or T < 0 or (T == 0 and occupation == "classical"):
        zero = " (0 K only with quantum occupations: the zero-point motion)" if occupation == "classical" else ""
        raise ValueError(f"the temperature of the sampling must be a {'positive' if zero else 'non-negative'}, finite "
                         f"number of K{zero}, not {temperature!r}")
    return T


def check_n_beads(n_beads, temperature, occupation: str) -> int | None:
    """``n_beads`` of a sampling as an int (None stays None): a whole number >= 1, with quantum occupations and a
    positive temperature (the ring polymer's); a ValueError that says so otherwise."""
    if n_beads is None:
        return None
    try:
        whole = not isinstance(n_beads, (bool, np.bool_)) and float(n_beads).is_integer()
    except (TypeError, ValueError, OverflowError):
        whole = False                                     # a string, nan or inf: no bead count
    P = int(n_beads) if whole else 0
    if P < 1:
        raise ValueError(f"n_beads must be a positive whole number (the beads of the ring polymer), not {n_beads!r}")
    if occupation != "quantum":
        raise ValueError("n_beads is the quantum crystal's discretised path integral: occupation must be 'quantum' "
                         "with it (n_beads=1 is the classical crystal)")
    if not float(temperature) > 0:
        raise ValueError(f"a ring polymer of {P} beads needs a positive temperature, not {temperature!r} K")
    return P


def _bead_energies(eigenvalues, temperature, n_beads):
    """lambda_s <x_s^2>_P of one bead of the P-bead ring polymer (eV; module docstring): k_B T sum_k lambda_s /
    (lambda_s + lambda_k), lambda_k = omega_k^2 in eV/(Å² amu), omega_k = (2 P k_B T / hbar) sin(pi k / P)."""
    T = float(temperature)
    omega_k = 2 * n_beads * KB_EV * T / (H_EV_PS / (2 * np.pi)) * np.sin(np.pi * np.arange(n_beads) / n_beads)
    lam = np.asarray(eigenvalues, dtype=float)[:, None]
    return KB_EV * T * (lam / (lam + AMU_A2_PS2_EV * omega_k ** 2)).sum(axis=1)


def _mode_energies(freqs, temperature, occupation):
    """Mean energy of every mode (eV): k_B T (classical) or h nu (n + 1/2) (quantum)."""
    T = float(temperature)
    if occupation == "classical":
        return np.full(len(freqs), KB_EV * T)
    e = freqs * THZ_EV
    if T <= 0:
        return 0.5 * e
    return 0.5 * e / np.tanh(e / (2 * KB_EV * T))


def canonical_configurations(force_constants, temperature: float, n_samples: int, occupation: str = "classical",
                             seed=None, masses=None, max_bytes: float = 2e9, q_direction=None,
                             n_beads: int | None = None):
    """Displacements and velocities of the harmonic crystal of ``force_constants`` at ``temperature`` (module
    docstring), vectorised over the samples.

    Parameters
    ----------
    force_constants : ForceConstants
        Phi on its supercell (N atoms); the positions are drawn about its supercell's positions.
    temperature : float
        K (> 0 for classical occupation).
    n_samples : int
        Independent configurations to draw.
    occupation : {"classical", "quantum"}
        Mode energy k_B T or hbar omega (n + 1/2).
    seed : int or numpy.random.Generator, optional
        Seed (or generator) of the draws; the same seed gives the same configurations.
    masses : array_like (N,), optional
        amu (default: the supercell's).
    max_bytes : float
        Refuse results larger than this (three (n_samples, N, 3) float arrays).
    q_direction : array_like (3,), optional
        Polar constants: the modes with the supercell's non-analytic term along it (:func:`supercell_modes`).
    n_beads : int, optional
        P: every sample is one bead of the P-bead ring polymer of the harmonic crystal (quantum occupation only; the
        module docstring): mode variances k_B T sum_k 1 / (omega_s^2 + omega_k^2), classical at P = 1, the quantum
        coth as P grows. The samples are independent beads (of independent ring polymers): a fit of forces to
        displacements sees only the one-bead distribution.

    Returns
    -------
    xarray.Dataset
        ``displacements`` and ``positions`` (sample, atom, cartesian) in Å, ``velocities`` in Å/ps,
        ``frequency`` (mode) in THz of the supercell's modes; attributes temperature (K), occupation,
        n_modes (3N - 3), n_beads (0: none), the convention and the citation.
    """
    import xarray as xr
    T = check_sampling_temperature(temperature, occupation)
    n_beads = check_n_beads(n_beads, T, occupation)
    n_samples = int(n_samples)
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1, not {n_samples}")
    n = force_constants.n_atoms
    size = 3 * 8 * n_samples * n * 3
    if size > max_bytes:
        raise ValueError(f"{n_samples} samples of {n} atoms need {size / 1e9:.2f} GB (limit max_bytes="
                         f"{max_bytes / 1e9:.2f} GB): draw them in batches")
    modes = supercell_modes(force_constants, masses, q_direction=q_direction)
    keep = ~modes.translations
    lam, vec, m = modes.eigenvalues[keep], modes.eigenvectors[:, keep], modes.masses
    energy = (_mode_energies(modes.frequencies[keep], T, occupation) if n_beads is None
              else _bead_energies(lam, T, n_beads))                       # eV per mode
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    xi = rng.standard_normal((2, n_samples, len(lam)))
    q = xi[0] * np.sqrt(energy / lam)                                     # A sqrt(amu)
    qdot = xi[1] * np.sqrt(energy / AMU_A2_PS2_EV)                        # A sqrt(amu) / ps
    w = 1.0 / np.sqrt(np.repeat(m, 3))
    u = ((q @ vec.T) * w).reshape(n_samples, n, 3)
    v = ((qdot @ vec.T) * w).reshape(n_samples, n, 3)
    mm = m[None, :, None]
    u -= (mm * u).sum(axis=1, keepdims=True) / m.sum()
    v -= (mm * v).sum(axis=1, keepdims=True) / m.sum()
    dims = ("sample", "atom", "cartesian")
    x0 = np.asarray(force_constants.supercell.positions, dtype=float)
    return xr.Dataset(
        dict(displacements=(dims, u, {"units": "Angstrom", "long_name": "displacement from the reference"}),
             positions=(dims, x0 + u, {"units": "Angstrom", "long_name": "reference positions plus displacements"}),
             velocities=(dims, v, {"units": "Angstrom/ps"}),
             frequency=(("mode",), modes.frequencies[keep], {"units": "THz",
                                                                 "long_name": "supercell (Gamma) mode frequency"})),
        coords=dict(cartesian=["x", "y", "z"]),
        attrs=dict(temperature=T, occupation=occupation, n_modes=int(keep.sum()), n_atoms=n, n_beads=n_beads or 0,
                   convention="the three translations left out, mass-weighted centre of mass removed; mode energy "
                              + ("k_B T" if occupation == "classical" else "hbar omega (n + 1/2)" if n_beads is None
                                 else f"omega^2 <x^2> of one bead of the {n_beads}-bead ring polymer"),
                   method="canonical configurations: D. West and S. K. Estreicher, Phys. Rev. Lett. 96, 115504 "
                          "(2006) (TDEP's canonical_configuration)"))


def mode_configurations(force_constants, temperature: float, occupation: str = "classical", masses=None,
                        q_direction=None):
    """One configuration per supercell mode and sign, each mode alone at its thermal amplitude (TDEP's
    ``canonical_configuration --modes``; deterministic).

    For every non-translational mode s and sign p = +1, -1: u = p A_s M^-1/2 e_s, v = -p A_s omega_s M^-1/2 e_s,
    A_s = sqrt(E_s) / omega_s with E_s the mode's mean energy (k_B T, or hbar omega (n + 1/2)), then the mass-weighted
    centre of mass removed. Each configuration holds E_s / 2 of kinetic energy and, with the constants the modes
    come from, E_s / 2 of potential energy. The arguments are those of :func:`canonical_configurations`.

    Returns
    -------
    xarray.Dataset
        ``displacements``, ``positions`` (mode, sign, atom, cartesian) in Å, ``velocities`` in Å/ps, ``frequency``
        (mode) in THz (ascending, the translations left out), ``amplitude`` (mode) A_s in Å sqrt(amu); attributes
        as :func:`canonical_configurations`.
    """
    import xarray as xr
    T = check_sampling_temperature(temperature, occupation)
    n = force_constants.n_atoms
    modes = supercell_modes(force_constants, masses, q_direction=q_direction)
    keep = ~modes.translations
    lam, vec, m = modes.eigenvalues[keep], modes.eigenvectors[:, keep], modes.masses
    amp = np.sqrt(_mode_energies(modes.frequencies[keep], T, occupation) / lam)        # A sqrt(amu)
    w = 1.0 / np.sqrt(np.repeat(m, 3))
    shape = (len(lam), 1, n, 3)
    u = ((vec * amp).T * w).reshape(shape) * np.array([1.0, -1.0])[None, :, None, None]
    omega = np.sqrt(lam / AMU_A2_PS2_EV)                                                  # rad/ps
    v = -u * omega[:, None, None, None]
    mm = m[None, None, :, None]
    u = u - (mm * u).sum(axis=2, keepdims=True) / m.sum()
    v = v - (mm * v).sum(axis=2, keepdims=True) / m.sum()
    dims = ("mode", "sign", "atom", "cartesian")
    x0 = np.asarray(force_constants.supercell.positions, dtype=float)
    return xr.Dataset(
        dict(displacements=(dims, u, {"units": "Angstrom"}),
             positions=(dims, x0 + u, {"units": "Angstrom"}),
             velocities=(dims, v, {"units": "Angstrom/ps"}),
             frequency=(("mode",), modes.frequencies[keep], {"units": "THz"}),
             amplitude=(("mode",), amp, {"units": "Angstrom amu^1/2"})),
        coords=dict(sign=[1, -1], cartesian=["x", "y", "z"]),
        attrs=dict(temperature=T, occupation=occupation, n_modes=int(keep.sum()), n_atoms=n,
                   convention="one mode at a time, u = sign A e / sqrt(m), v = -sign A omega e / sqrt(m); the three "
                              "translations left out, mass-weighted centre of mass removed",
                   method="TDEP's canonical_configuration --modes (D. West and S. K. Estreicher, Phys. Rev. Lett. "
                          "96, 115504 (2006))"))
