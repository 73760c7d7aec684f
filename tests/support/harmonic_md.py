"""Exact molecular dynamics of a harmonic crystal: every normal mode oscillates analytically, so positions, velocities,
forces and energies are known exactly at any time, for any masses."""
from __future__ import annotations

import numpy as np

from trajmodes.units import AMU_A2_PS2_EV, KB_EV


def harmonic_run(supercell, Phi, masses, T: float, dt: float, n: int, seed: int = 0) -> dict:
    """``n`` frames ``dt`` ps apart of the classical harmonic crystal of full force constants ``Phi`` (N, N, 3, 3)
    eV/A^2 and ``masses`` (N,) amu on ``supercell``, started from an equipartition draw at ``T`` K (every mode's
    amplitude and velocity Gaussian; the centre of mass at rest).

    Returns
    -------
    dict
        ``displacements`` (n, N, 3) A, ``velocities`` (n, N, 3) A/ps, ``forces`` (n, N, 3) eV/A, ``energies`` (n,)
        eV (1/2 u Phi u), ``kinetic`` (n,) eV (1/2 sum m v^2), ``frequencies`` (3N,) THz of the supercell's modes
        (its commensurate q-points; zero for the translations), ``times`` (n,) ps.
    """
    N = supercell.n_atoms
    K = np.asarray(Phi, float).transpose(0, 2, 1, 3).reshape(3 * N, 3 * N)
    m = np.repeat(np.asarray(masses, float), 3)
    w2, V = np.linalg.eigh(K / np.sqrt(m[:, None] * m[None, :]))      # eV / (A^2 amu)
    w2 = w2 / AMU_A2_PS2_EV                                            # -> 1/ps^2
    moving = w2 > 1e-8 * w2.max()
    w = np.sqrt(np.where(moving, w2, 1.0))
    rng = np.random.default_rng(seed)
    sigma_v = np.sqrt(KB_EV * T / AMU_A2_PS2_EV)                      # mass-weighted velocity, sqrt(amu) A/ps
    x0 = np.where(moving, rng.normal(size=3 * N) * sigma_v / w, 0.0)
    v0 = np.where(moving, rng.normal(size=3 * N) * sigma_v, 0.0)
    t = np.arange(n) * dt
    c, s = np.cos(np.outer(t, w)), np.sin(np.outer(t, w))
    x = x0 * c + v0 / w * s
    xd = -x0 * w * s + v0 * c
    u = (x @ V.T) / np.sqrt(m)
    v = (xd @ V.T) / np.sqrt(m)
    f = -u @ K
    return dict(displacements=u.reshape(n, N, 3), velocities=v.reshape(n, N, 3), forces=f.reshape(n, N, 3),
                energies=0.5 * np.einsum("ti,ti->t", u, -f), kinetic=0.5 * AMU_A2_PS2_EV * (v ** 2 * m).sum(axis=1),
                frequencies=np.where(moving, np.sqrt(np.clip(w2, 0, None)), 0.0) / (2 * np.pi), times=t)
