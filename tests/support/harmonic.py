"""Exact samples of a harmonic crystal: displacements drawn from the classical Boltzmann distribution of known
force constants, with their exact forces and potential energies (independent frames)."""
from __future__ import annotations

import numpy as np

from trajmodes.units import KB_EV


class HarmonicSampler:
    """Classical harmonic crystal of full force constants ``Phi`` (N, N, 3, 3) eV/A^2 on ``supercell``.

    ``frames(n, T)`` -> (u (n, N, 3) A, forces (n, N, 3) eV/A, energies (n,) eV) with energy
    ``e0 + 1/2 u Phi u``; the three translations are not excited (centre of mass fixed)."""

    def __init__(self, supercell, Phi, e0: float = 0.0, seed: int = 0):
        N = supercell.n_atoms
        self.N, self.e0 = N, float(e0)
        self.K = np.asarray(Phi, float).transpose(0, 2, 1, 3).reshape(3 * N, 3 * N)
        self.m = np.repeat(np.asarray(supercell.masses, float), 3)
        w2, self.V = np.linalg.eigh(self.K / np.sqrt(self.m[:, None] * self.m[None, :]))
        self.w2 = w2
        self.rng = np.random.default_rng(seed)

    def frames(self, n: int, T: float):
        amp = np.where(self.w2 > 1e-8 * self.w2.max(), np.sqrt(KB_EV * T / np.clip(self.w2, 1e-300, None)), 0.0)
        u = ((self.rng.normal(size=(n, 3 * self.N)) * amp) @ self.V.T) / np.sqrt(self.m)
        f = -u @ self.K
        e = self.e0 + 0.5 * np.einsum("ti,ti->t", u, -f)
        return u.reshape(n, self.N, 3), f.reshape(n, self.N, 3), e
