"""The Morse pair potential V(d) = D0 (1 - e^{-alpha (d - r0)})^2 - D0, shared by the analytic test oracles."""
import itertools

import numpy as np


def morse_derivatives(d, D0, alpha, r0):
    """V'(d), V''(d), V'''(d) in eV/A, eV/A^2, eV/A^3."""
    e = np.exp(-alpha * (d - r0))
    return (2 * D0 * alpha * (e - e * e),
            2 * D0 * alpha ** 2 * (2 * e * e - e),
            2 * D0 * alpha ** 3 * (e - 4 * e * e))


def lattice_images(cell, nimg):
    """Cartesian lattice vectors n . cell for n in [-nimg, nimg]^3, shape ((2 nimg + 1)^3, 3)."""
    return np.array(list(itertools.product(range(-nimg, nimg + 1), repeat=3))) @ cell


def pair_terms(r, cutoff, D0, alpha, r0):
    """The pieces every Morse oracle needs from separation vectors ``r`` (..., 3) in A: the mask of pairs
    within (0, cutoff), their lengths (1 where masked, so divisions stay finite), unit vectors, and the
    first three derivatives of V at those lengths."""
    d = np.linalg.norm(r, axis=-1)
    ok = (d > 1e-8) & (d < cutoff)
    dd = np.where(ok, d, 1.0)
    return ok, dd, r / dd[..., None], morse_derivatives(dd, D0, alpha, r0)
