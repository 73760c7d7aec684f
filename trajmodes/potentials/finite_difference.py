"""Second-order force constants of any potential by finite displacements, and the check of analytic constants
against them.

Every atom of the primitive cell (its representative in the supercell) is displaced by +h and -h along x, y and z,
and the constants are the central differences of the forces on every atom of the supercell (the finite-displacement
method of phonopy: A. Togo and I. Tanaka, Scr. Mater. 108, 1 (2015); here without the site-symmetry reduction, six
displacements per primitive atom)::

    Phi[i, j][a, b] = -(F_j,b(u_i,a = +h) - F_j,b(u_i,a = -h)) / (2 h),

exact to O(h^2) for a smooth potential; the acoustic sum rule holds to round-off wherever the forces sum to zero.

A tabulated potential (LAMMPS EAM files) is a spline through its table: its curvature within one knot interval can
differ from knot to knot by far more than the curvature of the function it tabulates (noisy tables). Analytic
constants are the curvature at the lattice point; finite displacements and MD, whose amplitudes span many knots,
see the curvature averaged over those displacements. :func:`curvature_check` measures the difference at a few
steps: where it stays large at every step, the analytic constants are not what a simulation with that potential
sees.

Units: Å, eV, eV/Å².
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["finite_difference_force_constants", "curvature_check", "CurvatureCheck"]

#: steps of :func:`curvature_check`, A (the usual finite-displacement amplitudes, 0.01 A phonopy's default)
CHECK_STEPS = (0.005, 0.01, 0.02, 0.04)
#: largest |analytic - finite difference| / max |Phi| at the best step that counts as consistent
CHECK_TOLERANCE = 0.01


def finite_difference_force_constants(engine, primitive=None, step: float = 0.01):
    """Second-order force constants by central differences of the forces of ``engine``.

    Parameters
    ----------
    engine : trajmodes.potentials.engines.ForceEngine
        Any force engine on the (ideal) supercell: its crystal's positions are the reference.
    primitive : Crystal, optional
        The primitive cell (default: found from the supercell).
    step : float
        Displacement amplitude h, Å.

    Returns
    -------
    ForceConstants
        Compact layout (the primitive atoms' rows), eV/Å².
    """
    from trajmodes.forceconstants.model import ForceConstants
    if not step > 0:
        raise ValueError(f"the finite-displacement step must be a positive length in A, not {step!r}")
    sc = engine.crystal
    primitive = sc.primitive() if primitive is None else primitive
    smap = sc.supercell_map(primitive)
    p2s = np.array([np.flatnonzero(smap.atom == k)[0] for k in range(primitive.n_atoms)])
    ref = np.asarray(sc.positions, float)
    n_rows = len(p2s)
    conf = np.repeat(ref[None], 6 * n_rows, axis=0).reshape(n_rows, 3, 2, -1, 3)
    for r, i in enumerate(p2s):
        for a in range(3):
            conf[r, a, 0, i, a] += step
            conf[r, a, 1, i, a] -= step
    from trajmodes.potentials.engines import evaluate_checked
    forces = evaluate_checked(engine, conf.reshape(-1, sc.n_atoms, 3)).forces
    forces = forces.reshape(n_rows, 3, 2, sc.n_atoms, 3)
    fc = -(forces[:, :, 0] - forces[:, :, 1]) / (2.0 * step)            # (row, a, j, b)
    return ForceConstants(np.ascontiguousarray(fc.transpose(0, 2, 1, 3)), sc, primitive, smap=smap, p2s=p2s)


@dataclass
class CurvatureCheck:
    """Analytic force constants against finite displacements of the same potential.

    Attributes
    ----------
    steps : ndarray
        Displacement amplitudes, Å.
    deviation : ndarray
        max |Phi_analytic - Phi_fd(h)| / max |Phi_analytic| at every step.
    largest : ndarray
        The largest |difference| at every step, eV/Å².
    tolerance : float
        Relative deviation at the best step above which the analytic constants are flagged.
    """

    steps: np.ndarray
    deviation: np.ndarray
    largest: np.ndarray
    tolerance: float

    @property
    def consistent(self) -> bool:
        """Whether the analytic constants agree with finite displacements at some step."""
        return bool(np.min(self.deviation) <= self.tolerance)

    def message(self, what: str = "the potential", advice: bool = True) -> str:
        """One line: the size of the disagreement and (``advice``) what to do, or that there is none."""
        best = int(np.argmin(self.deviation))
        if self.consistent:
            return (f"analytic constants of {what} agree with finite displacements: relative difference "
                    f"{self.deviation[best]:.1e} at h = {self.steps[best]:g} A")
        span = f"{self.deviation.min() * 100:.1f}-{self.deviation.max() * 100:.1f} %"
        return (f"the analytic force constants of {what} differ from finite displacements of the same potential "
                f"by {span} of the largest constant at every step h = {', '.join(f'{h:g}' for h in self.steps)} A "
                f"(up to {self.largest.max():.3f} eV/A^2): its tabulated functions have a curvature that changes "
                "from knot to knot, and MD or finite displacements see it averaged over their amplitudes"
                + (". Use finite-difference constants of the same potential (finite_difference_force_constants; "
                   "trajmodes eam --constants finite-difference)" if advice else ""))


def curvature_check(potential, supercell, primitive=None, steps=CHECK_STEPS, tolerance: float = CHECK_TOLERANCE,
                    analytic=None) -> CurvatureCheck:
    """Compare a potential's analytic second-order constants with its finite-displacement ones at a few steps.

    For a smooth potential the difference falls as h^2 (below 1e-3 of the largest constant at 0.01 Å for the
    EAM files of Cu by Mishin et al.); for a noisy table it stays at the size of the noise at every step.

    Parameters
    ----------
    potential
        A built-in potential with ``force_constants(supercell, primitive)`` and ``energy_forces`` (:class:`EAM`,
        the short-range potentials).
    supercell, primitive : Crystal
        The ideal supercell (large enough that the displaced atom does not see its own image within the cutoff).
    steps : sequence of float
        The displacements of the central differences to compare, Å.
    tolerance : float
        Relative deviation at the best step above which :attr:`CurvatureCheck.consistent` is False.
    analytic : ForceConstants, optional
        The analytic constants, if already computed.
    """
    from trajmodes.potentials.engines import PotentialEngine
    fc = potential.force_constants(supercell, primitive) if analytic is None else analytic
    ref = fc.compact()
    engine = PotentialEngine(potential, supercell)
    scale = float(np.abs(ref).max())
    dev, largest = [], []
    for h in steps:
        fd = finite_difference_force_constants(engine, fc.primitive, h)
        diff = float(np.abs(fd.fc2 - ref).max())
        largest.append(diff)
        dev.append(diff / scale)
    return CurvatureCheck(np.asarray(steps, float), np.asarray(dev), np.asarray(largest), float(tolerance))
