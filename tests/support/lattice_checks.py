"""Finite-difference and cross-code checks shared by the tests of short-ranged potentials
(:class:`trajmodes.potentials.terms.ShortRangePotential`: pair, three-body, ...).

Every check returns the largest error relative to the largest reference value, so the tests can state one
tolerance and print what they measured.
"""
from __future__ import annotations

import numpy as np

from trajmodes import Crystal, ForceConstants, Phonons
from trajmodes.lattice.strain import deformed


def rel(a, b) -> float:
    """max |a - b| / max |b| (max |a - b| when b is all zero, as dD/du of a one-atom cell)."""
    a, b = np.asarray(a), np.asarray(b)
    scale = np.abs(b).max()
    return float(np.abs(a - b).max() / (scale if scale > 0 else 1.0))


def strained(crystal: Crystal, e=None, u=None) -> Crystal:
    """The crystal under Voigt strain ``e`` (6,) and internal displacements ``u`` (n, 3): x = F (X + u)."""
    return deformed(crystal, e, u)


def displaced(crystal: Crystal, amplitude: float, seed: int = 0) -> Crystal:
    """Copy with every atom moved by a uniform random vector in [-amplitude, amplitude]^3 (A)."""
    dx = np.random.default_rng(seed).uniform(-amplitude, amplitude, crystal.positions.shape)
    return Crystal(crystal.cell, crystal.positions + dx, crystal.species, crystal.masses)


def _moved(crystal: Crystal, atom: int, c: int, h: float) -> Crystal:
    u = np.zeros((crystal.n_atoms, 3))
    u[atom, c] = h
    return strained(crystal, u=u)


def forces_error(pot, crystal: Crystal, h: float = 1e-5) -> float:
    """Analytic forces against -dE/dx by central differences of the energy."""
    f = pot.energy_forces(crystal).forces
    fd = np.array([[-(pot.energy(_moved(crystal, k, c, h)) - pot.energy(_moved(crystal, k, c, -h))) / (2 * h)
                    for c in range(3)] for k in range(crystal.n_atoms)])
    return rel(f, fd)


def stress_error(pot, crystal: Crystal, h: float = 1e-6) -> float:
    """Analytic stress against (1/V) dE/de by central differences (Voigt strains, engineering shears)."""
    s = pot.stress(crystal)
    fd = np.zeros(6)
    for I in range(6):
        e = np.zeros(6)
        e[I] = h
        fd[I] = (pot.energy(strained(crystal, e)) - pot.energy(strained(crystal, -e))) / (2 * h) / crystal.volume
    voigt = np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
    return rel(voigt, fd)


def fc2_error(pot, crystal: Crystal, atoms=None, h: float = 1e-4) -> float:
    """Full analytic fc2 rows ``atoms`` against -dF/du by central differences of the analytic forces."""
    fc = pot.force_constants(crystal, primitive=crystal).fc2
    atoms = range(crystal.n_atoms) if atoms is None else atoms
    err = 0.0
    for i in atoms:
        fd = np.stack([-(pot.energy_forces(_moved(crystal, i, a, h)).forces
                         - pot.energy_forces(_moved(crystal, i, a, -h)).forces) / (2 * h) for a in range(3)])
        err = max(err, np.abs(fc[i] - fd.transpose(1, 0, 2)).max())           # fd[a, j, b] -> [j, a, b]
    return float(err / np.abs(fc).max())


def fc3_error(pot, crystal: Crystal, atoms=None, h: float = 1e-4) -> float:
    """Analytic fc3 (rows ``atoms``; primitive = the crystal itself, so compact = full) against central differences
    of the analytic fc2: Psi[i, j, k] = d Phi[j, k] / du_i."""
    fc = pot.force_constants3(crystal, primitive=crystal)
    atoms = range(crystal.n_atoms) if atoms is None else atoms
    err = 0.0
    for i in atoms:
        fd = np.stack([(pot.force_constants(_moved(crystal, i, a, h), primitive=crystal).fc2
                        - pot.force_constants(_moved(crystal, i, a, -h), primitive=crystal).fc2) / (2 * h)
                       for a in range(3)])                                  # (a, j, k, b, c)
        err = max(err, np.abs(fc.fc3[i] - fd.transpose(1, 2, 0, 3, 4)).max())
    return float(err / np.abs(fc.fc3).max())


def static_errors(pot, crystal: Crystal, h1: float = 1e-4, h2: float = 1e-4) -> tuple[float, float]:
    """(gradient, Hessian) of ``static_derivatives`` against central differences of the energy over (e, u): five
    points for the gradient, four for each Hessian entry."""
    n = crystal.n_atoms
    sd = pot.static_derivatives(crystal, order=2)
    E0, g, H = sd.energy, sd.gradient, sd.hessian

    def energy(x):
        return pot.energy(strained(crystal, x[:6], x[6:].reshape(n, 3)))

    dim = 6 + 3 * n
    eye = np.eye(dim)
    gfd = np.array([(8 * (energy(h1 * eye[k]) - energy(-h1 * eye[k])) - energy(2 * h1 * eye[k])
                     + energy(-2 * h1 * eye[k])) / (12 * h1) for k in range(dim)])     # error O(h^4)
    Hfd = np.empty((dim, dim))
    for k in range(dim):
        for m in range(k, dim):
            a, b = h2 * eye[k], h2 * eye[m]
            Hfd[k, m] = Hfd[m, k] = (energy(a + b) - energy(a - b) - energy(b - a) + energy(-a - b)) / (4 * h2 * h2)
    assert abs(E0 - pot.energy(crystal)) <= 1e-12 * abs(E0)
    return rel(g, gfd), rel(H, Hfd)


def dynamical_errors(pot, crystal: Crystal, q, h: float = 1e-5) -> tuple[float, float]:
    """(dD/de, dD/du) of ``dynamical_matrices(derivatives=True)`` against central differences of D(q) on strained
    and displaced copies of the crystal, at the same reduced q."""
    n = crystal.n_atoms
    dm = pot.dynamical_matrices(crystal, q, derivatives=True)
    De, Du = dm.strain_derivatives, dm.internal_derivatives
    fe = np.empty_like(De)
    for I in range(6):
        e = np.zeros(6)
        e[I] = h
        fe[I] = (pot.dynamical_matrices(strained(crystal, e), q) - pot.dynamical_matrices(strained(crystal, -e), q)) \
            / (2 * h)
    fu = np.empty_like(Du)
    for k in range(n):
        for c in range(3):
            fu[3 * k + c] = (pot.dynamical_matrices(_moved(crystal, k, c, h), q)
                             - pot.dynamical_matrices(_moved(crystal, k, c, -h), q)) / (2 * h)
    return rel(De, fe), rel(Du, fu)


def phonons_error(pot, prim: Crystal, supercell: Crystal, q) -> tuple[float, float]:
    """D(q) of the exact lattice sum against :class:`trajmodes.Phonons` of ``force_constants(supercell)``:
    (matrix, after the phase change to atom positions; eigenvalues), relative to the largest entry / eigenvalue."""
    fc = pot.force_constants(supercell, primitive=prim)
    assert isinstance(fc, ForceConstants)
    q = np.asarray(q, float).reshape(-1, 3)
    D = pot.dynamical_matrices(prim, q)
    Dp = Phonons(fc, nac=False).dynamical_matrix(q)
    U = np.repeat(np.exp(2j * np.pi * q @ prim.scaled_positions.T), 3, axis=1)      # (nq, 3 n)
    Dpos = U.conj()[:, :, None] * D * U[:, None, :]
    w, wp = np.linalg.eigvalsh(D), np.linalg.eigvalsh(Dp)
    return rel(Dpos, Dp), rel(w, wp)
