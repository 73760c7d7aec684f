"""Canonical configurations of a harmonic crystal: displacements and velocities drawn from the thermal distribution of
force constants on their supercell (TDEP's ``canonical_configuration``; D. West and S. K. Estreicher, Phys. Rev. Lett.
96, 115504 (2006)).

The supercell's Gamma-point dynamical matrix D = M^-1/2 Phi M^-1/2 (3N, 3N), eV/(A^2 amu), from the full layout of
the force constants, is diagonalised: eigenvalues omega_s^2, eigenvectors e_s. Its three eigenvalues smallest in
magnitude (the translations) are left out; every other mode s gets its own normal random weights xi_s, xi'_s:

    u = M^-1/2 sum_s e_s sqrt(E_s) / omega_s xi_s,     v = M^-1/2 sum_s e_s sqrt(E_s) xi'_s,

with E_s the mean energy of mode s: k_B T (classical) or hbar omega_s (n_s + 1/2) (quantum, Bose-Einstein n_s), so
that <1/2 omega_s^2 Q_s^2> = <1/2 Qdot_s^2> = E_s / 2. The mass-weighted centre of mass of every sample is then
removed from u and v. Classically the displacements are distributed as exp(-u Phi u / 2 k_B T) on the 3N - 3
non-translational coordinates: their covariance is k_B T M^-1/2 D^+ M^-1/2 (= k_B T Phi^+ for equal masses) and each
mode holds k_B T / 2 of kinetic energy.

Units: displacements and positions A, velocities A/ps, frequencies THz (ordinary, not angular).
"""
from __future__ import annotations

import numpy as np

from trajmodes.phonons.statistics import check_occupation
from trajmodes.units import AMU_A2_PS2_EV, KB_EV, THZ, THZ_EV

__all__ = ["supercell_modes", "canonical_configurations"]


def supercell_modes(force_constants, masses=None, allow_imaginary: bool = False) -> dict:
    """The supercell's own (Gamma-point) normal modes.

    Parameters
    ----------
    force_constants : ForceConstants
        Phi on its supercell (any layout; the full (3N, 3N) matrix is built: 8 (3N)^2 bytes, eigh O((3N)^3)).
    masses : array_like (N,), optional
        amu (default: the supercell's).
    allow_imaginary : bool
        Return imaginary modes (as negative frequencies) instead of refusing them.

    Returns
    -------
    dict
        ``eigenvalues`` (3N,) omega^2 in eV/(A^2 amu) (ascending), ``frequencies`` (3N,) THz (the three translations
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
    phi = force_constants.full().transpose(0, 2, 1, 3).reshape(3 * n, 3 * n)
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
    return dict(eigenvalues=lam, frequencies=freqs, eigenvectors=vec, translations=trans, masses=m)


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
                             seed=None, masses=None, max_bytes: float = 2e9):
    """Displacements and velocities of the harmonic crystal of ``force_constants`` at ``temperature`` (module
    docstring), vectorised over the samples.

    Parameters
    ----------
    force_constants : ForceConstants
        Phi on its supercell (N atoms); the positions are drawn about its supercell's positions.
    temperature : float
        K (> 0 for classical occupation).
    n_samples : int
    occupation : {"classical", "quantum"}
        Mode energy k_B T or hbar omega (n + 1/2).
    seed : int or numpy.random.Generator, optional
    masses : array_like (N,), optional
        amu (default: the supercell's).
    max_bytes : float
        Refuse results larger than this (three (n_samples, N, 3) float arrays).

    Returns
    -------
    xarray.Dataset
        ``displacements`` and ``positions`` (sample, atom, cartesian) in A, ``velocities`` in A/ps,
        ``frequency`` (mode) in THz of the supercell's modes; attributes temperature (K), occupation,
        n_modes (3N - 3), the convention and the citation.
    """
    import xarray as xr
    check_occupation(occupation)
    T = float(temperature)
    if not np.isfinite(T) or T < 0 or (T == 0 and occupation == "classical"):
        raise ValueError(f"the temperature must be positive (K), not {temperature!r}")
    n_samples = int(n_samples)
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1, not {n_samples}")
    n = force_constants.n_atoms
    size = 3 * 8 * n_samples * n * 3
    if size > max_bytes:
        raise ValueError(f"{n_samples} samples of {n} atoms need {size / 1e9:.2f} GB (limit max_bytes="
                         f"{max_bytes / 1e9:.2f} GB): draw them in batches")
    modes = supercell_modes(force_constants, masses)
    keep = ~modes["translations"]
    lam, vec, m = modes["eigenvalues"][keep], modes["eigenvectors"][:, keep], modes["masses"]
    energy = _mode_energies(modes["frequencies"][keep], T, occupation)             # eV per mode
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
             frequency=(("mode",), modes["frequencies"][keep], {"units": "THz",
                                                                 "long_name": "supercell (Gamma) mode frequency"})),
        coords=dict(cartesian=["x", "y", "z"]),
        attrs=dict(temperature=T, occupation=occupation, n_modes=int(keep.sum()), n_atoms=n,
                   convention="the three translations left out, mass-weighted centre of mass removed; mode energy "
                              + ("k_B T" if occupation == "classical" else "hbar omega (n + 1/2)"),
                   method="canonical configurations: D. West and S. K. Estreicher, Phys. Rev. Lett. 96, 115504 "
                          "(2006) (TDEP's canonical_configuration)"))
