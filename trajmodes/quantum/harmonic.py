"""Exact quantum statistics of a harmonic crystal on its supercell: the displacement covariance and mean-square
displacements of the quantum crystal, of its discretised P-bead ring polymer and of the classical crystal, and exact
independent samples of that ring polymer with their forces (the exact data a path-integral analysis is tested on).

The supercell's own modes (its commensurate q-points, exactly the 3N - 3 non-translational modes of the supercell)
come from the mass-weighted Gamma-point dynamical matrix D = M^-1/2 Phi M^-1/2 (eigenvalues lambda_s = omega_s^2 in
eV/(Å² amu), mass-weighted eigenvectors e_s; :func:`~trajmodes.phonons.thermodynamics.sampling.supercell_modes`). The
mass-weighted mode coordinate x_s (A amu^1/2) has the variance

    quantum          <x_s^2> = hbar / (2 omega_s) coth(hbar omega_s / 2 k_B T)       (E_s / lambda_s, E_s the mode's
                                                                                     mean energy h nu (n + 1/2))
    classical        <x_s^2> = k_B T / omega_s^2                                      (k_B T / lambda_s)
    P beads          <x_s^2>_P = k_B T sum_{k=0}^{P-1} 1 / (omega_s^2 + omega_k^2),
                     omega_k = (2 P k_B T / hbar) sin(pi k / P)

(in the energy units of lambda: omega^2 stands for lambda = omega^2 amu Å² / ps² in eV/(Å² amu)). The last is the
exact second moment of one bead of the discretised path integral (the primitive Trotter factorisation, the
ring polymer of M. Parrinello and A. Rahman, J. Chem. Phys. 80, 860 (1984)): the ring polymer's normal modes k have
the spring frequencies omega_k and each is a Gaussian of variance P k_B T / (omega_s^2 + omega_k^2) at the bead
temperature P T. It is classical at P = 1 and tends to the quantum value as P grows: the sum over k becomes the
Matsubara sum sum_n 1 / (omega^2 + nu_n^2) = (beta hbar / 2 omega) coth(beta hbar omega / 2), nu_n = 2 pi n / beta hbar,
with a relative error of order (beta hbar omega)^2 / P^2. The centroid (1/P) sum_j x_j has the classical variance k_B T
/ omega_s^2 for every P: the effective potential of a harmonic centroid is the classical one.

Cartesian displacements are u_ia = m_i^-1/2 sum_s e_{ia,s} x_s, so

    <u_ia u_jb> = (m_i m_j)^-1/2 sum_s e_{ia,s} e_{jb,s} <x_s^2>,

the three translations left out (the centre of mass fixed). The mean-square displacement per atom and direction is its
diagonal, <u_ia^2> = (1/N_q) sum_qs hbar / (2 m_i omega_qs) coth(hbar omega_qs / 2 k_B T) |e_ia,qs|^2 on the
commensurate q-points with eigenvectors normalised per primitive cell.

Units: temperatures K, displacements Å, forces eV/Å, energies eV, frequencies THz (ordinary); omega in rad/ps.
"""
from __future__ import annotations

import numpy as np

from trajmodes.phonons.harmonic import check_occupation, mode_energy
from trajmodes.phonons.thermodynamics.sampling import supercell_modes
from trajmodes.units import AMU_A2_PS2_EV, H_EV_PS, KB_EV

__all__ = ["HBAR_EV_PS", "ring_polymer_frequencies", "mode_variances", "displacement_covariance",
           "mean_square_displacements", "ring_polymer_configurations"]

#: the reduced Planck constant hbar in eV ps
HBAR_EV_PS = H_EV_PS / (2 * np.pi)


def _positive_temperature(temperature, what: str) -> float:
    T = float(temperature)
    if not (np.isfinite(T) and T > 0):
        raise ValueError(f"{what} needs a positive, finite temperature in K, not {temperature!r}")
    return T


def _beads(n_beads) -> int:
    P = int(n_beads)
    if P != n_beads or P < 1:
        raise ValueError(f"n_beads must be a positive whole number (the beads of the ring polymer), not {n_beads!r}")
    return P


def ring_polymer_frequencies(n_beads: int, temperature: float) -> np.ndarray:
    """The free ring polymer's normal-mode frequencies omega_k = (2 P k_B T / hbar) sin(pi k / P), k = 0 ... P - 1.

    Parameters
    ----------
    n_beads : int
        The number of beads, P.
    temperature : float
        K (the physical temperature; the beads are at P T).

    Returns
    -------
    ndarray (P,), rad/ps; omega_0 = 0 (the centroid).
    """
    P = _beads(n_beads)
    T = _positive_temperature(temperature, "a ring polymer")
    return 2 * P * KB_EV * T / HBAR_EV_PS * np.sin(np.pi * np.arange(P) / P)


def mode_variances(eigenvalues, temperature: float, n_beads: int | None = None,
                   occupation: str = "quantum") -> np.ndarray:
    """<x_s^2> of mass-weighted mode coordinates (module docstring): quantum, classical or of one bead of a P-bead
    ring polymer.

    Parameters
    ----------
    eigenvalues : array_like
        lambda_s = omega_s^2 of the mass-weighted dynamical matrix, eV/(Å² amu); all positive.
    temperature : float
        K (> 0; 0 only for the quantum crystal: the zero-point motion).
    n_beads : int, optional
        P: the discretised path integral's value, k_B T sum_k 1 / (lambda_s + lambda_k). None: the exact quantum
        (``occupation="quantum"``: hbar / 2 omega coth(hbar omega / 2 k_B T)) or classical (k_B T / omega^2) value.
    occupation : {"quantum", "classical"}
        Without ``n_beads``; with ``n_beads`` it must be "quantum" (P = 1 is the classical crystal).

    Returns
    -------
    ndarray like ``eigenvalues``, Å² amu.
    """
    lam = np.asarray(eigenvalues, dtype=float)
    if not (lam > 0).all():
        raise ValueError("mode_variances needs positive eigenvalues (stable modes, the translations left out)")
    check_occupation(occupation)
    if n_beads is not None:
        if occupation != "quantum":
            raise ValueError("n_beads is the quantum crystal's discretised path integral: occupation must be "
                             "'quantum' with it (n_beads=1 is the classical crystal)")
        T = _positive_temperature(temperature, "a ring polymer")
        lam_k = AMU_A2_PS2_EV * ring_polymer_frequencies(n_beads, T) ** 2
        return KB_EV * T * (1.0 / (lam[..., None] + lam_k)).sum(axis=-1)
    T = float(temperature)
    if occupation == "classical":
        T = _positive_temperature(temperature, "the classical crystal")
    freqs = np.sqrt(lam / AMU_A2_PS2_EV) / (2 * np.pi)                    # THz
    return mode_energy(freqs, T, occupation)[0] / lam


def _modes(force_constants):
    m = supercell_modes(force_constants)
    keep = ~m.translations
    return m.eigenvalues[keep], m.eigenvectors[:, keep], m.masses


def displacement_covariance(force_constants, temperature: float, n_beads: int | None = None,
                            occupation: str = "quantum") -> np.ndarray:
    """<u_ia u_jb> of the harmonic crystal of ``force_constants`` on its supercell (module docstring).

    Parameters
    ----------
    force_constants : ForceConstants
        Stable constants on their supercell (N atoms; a (3N, 3N) matrix is diagonalised).
    temperature : float
        Temperature of the crystal, K.
    n_beads : int, optional
        One bead of the P-bead ring polymer (:func:`mode_variances`); None: the exact quantum or classical crystal.
    occupation : {"quantum", "classical"}
        "quantum": each mode's variance from Bose-Einstein statistics (coth); "classical": equipartition, k_B T per
        mode.

    Returns
    -------
    ndarray (3N, 3N), Å² (rows 3 i + a), the translations left out.
    """
    lam, vec, m = _modes(force_constants)
    x2 = mode_variances(lam, temperature, n_beads, occupation)
    w = vec / np.sqrt(np.repeat(m, 3))[:, None]
    return (w * x2) @ w.T


def mean_square_displacements(force_constants, temperature: float, n_beads: int | None = None,
                              occupation: str = "quantum") -> np.ndarray:
    """<u_ia^2> per atom and Cartesian direction of the harmonic crystal of ``force_constants``: the diagonal of
    :func:`displacement_covariance`, sum_s ``|e_ia,s|^2`` <x_s^2> / m_i (module docstring).

    Parameters
    ----------
    force_constants : ForceConstants
        Stable constants on their supercell (N atoms; a (3N, 3N) matrix is diagonalised).
    temperature : float
        Temperature of the crystal, K.
    n_beads : int, optional
        One bead of the P-bead ring polymer; None: the exact quantum (coth) or classical crystal.
    occupation : {"quantum", "classical"}
        "quantum": each mode's variance from Bose-Einstein statistics (coth); "classical": equipartition, k_B T per
        mode.

    Returns
    -------
    ndarray (N, 3), Å².
    """
    lam, vec, m = _modes(force_constants)
    x2 = mode_variances(lam, temperature, n_beads, occupation)
    return ((vec ** 2 * x2).sum(axis=1) / np.repeat(m, 3)).reshape(-1, 3)


def ring_polymer_configurations(force_constants, temperature: float, n_beads: int, n_samples: int, seed=None,
                                max_bytes: float = 2e9):
    """Exact independent configurations of the discretised P-bead ring polymer of the harmonic crystal of
    ``force_constants``, with the exact forces -Phi u of every bead.

    Each supercell mode s and ring-polymer normal mode k is an independent Gaussian of variance P k_B T / (lambda_s +
    lambda_k) (mass-weighted, module docstring); the beads are its real orthonormal transform, the Cartesian
    displacements M^-1/2 sum_s e_s x_s. Every bead then has the second moments of :func:`mode_variances` with
    ``n_beads``, the centroid the classical ones; the three translations are left out (the mass-weighted centre of
    mass of every bead at rest).

    Parameters
    ----------
    force_constants : ForceConstants
        Stable constants on their supercell (N atoms).
    temperature : float
        K (> 0).
    n_beads : int
        The number of beads, P.
    n_samples : int
        Independent ring polymers.
    seed : int or numpy.random.Generator, optional
        Seed (or generator) of the random draws; the same seed gives the same configurations.
    max_bytes : float
        Refuse results larger than this (three (n_samples, P, N, 3) float arrays).

    Returns
    -------
    xarray.Dataset
        ``displacements``, ``positions`` (Å) and ``forces`` (eV/Å) over (sample, bead, atom, cartesian);
        ``potential_energy`` (sample, bead) 1/2 u Phi u in eV (zero at the reference); ``frequency`` (mode) of the
        supercell modes in THz; attributes temperature, n_beads, the method.
    """
    import xarray as xr
    T = _positive_temperature(temperature, "ring-polymer sampling")
    P, n_samples = _beads(n_beads), int(n_samples)
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1, not {n_samples}")
    N = force_constants.n_atoms
    size = 3 * 8 * n_samples * P * N * 3
    if size > max_bytes:
        raise ValueError(f"{n_samples} ring polymers of {P} beads and {N} atoms need {size / 1e9:.2f} GB (limit "
                         f"max_bytes={max_bytes / 1e9:.2f} GB): draw them in batches")
    lam, vec, m = _modes(force_constants)
    # the free ring polymer's real orthonormal normal modes: eigenvectors of its circulant spring matrix
    ring = 2 * np.eye(P) - np.roll(np.eye(P), 1, axis=1) - np.roll(np.eye(P), -1, axis=1)
    springs, C = np.linalg.eigh(ring)                                      # 4 sin^2(pi k / P), ascending
    omega_p = P * KB_EV * T / HBAR_EV_PS                                   # rad/ps
    lam_k = AMU_A2_PS2_EV * omega_p ** 2 * np.clip(springs, 0.0, None)     # eV/(A^2 amu)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    sd = np.sqrt(P * KB_EV * T / (lam[None, :] + lam_k[:, None]))          # (P, modes), A amu^1/2
    xi = rng.standard_normal((n_samples, P, len(lam))) * sd
    x = np.einsum("jk,nks->njs", C, xi)                                    # beads (sample, bead, mode)
    u = ((x @ vec.T) / np.sqrt(np.repeat(m, 3))).reshape(n_samples, P, N, 3)
    phi = force_constants.with_convention("full").full().transpose(0, 2, 1, 3).reshape(3 * N, 3 * N)
    f = -(u.reshape(-1, 3 * N) @ phi).reshape(u.shape)
    energy = -0.5 * np.einsum("nbia,nbia->nb", u, f)
    dims = ("sample", "bead", "atom", "cartesian")
    x0 = np.asarray(force_constants.supercell.positions, dtype=float)
    return xr.Dataset(
        dict(displacements=(dims, u, {"units": "Angstrom", "long_name": "bead displacement from the reference"}),
             positions=(dims, x0 + u, {"units": "Angstrom"}),
             forces=(dims, f, {"units": "eV/Angstrom", "long_name": "physical force -Phi u on the bead"}),
             potential_energy=(("sample", "bead"), energy, {"units": "eV", "long_name": "1/2 u Phi u of the bead"}),
             frequency=(("mode",), np.sqrt(lam / AMU_A2_PS2_EV) / (2 * np.pi), {"units": "THz"})),
        coords=dict(cartesian=["x", "y", "z"]),
        attrs=dict(temperature=T, n_beads=P, n_atoms=N,
                   method="exact samples of the discretised path integral of a harmonic crystal (Gaussian in the "
                          "supercell's modes and the ring polymer's normal modes)"))
