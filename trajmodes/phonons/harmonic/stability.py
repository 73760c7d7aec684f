"""Dynamical stability of force constants: their imaginary modes, counted, the lowest, and where.

A crystal whose harmonic constants have an imaginary mode (a negative eigenvalue of D(q)) has no harmonic ground
state to expand about: perturbation theory on it (the three-phonon bubble, four-phonon scattering, the quartic loop)
sums over occupations and lifetimes of modes that do not exist, and its results are not numbers of that crystal.
The 0 K constants of crystals stabilised by anharmonicity are the common case: bcc Zr, Ti and Hf, whose N-point
transverse phonon is imaginary at 0 K and real at high temperature (Y.-Y. Ye et al., Phys. Rev. Lett. 58, 1769
(1987); P. Souvatzis et al., Phys. Rev. Lett. 100, 095901 (2008)). Their phonons at temperature T are those of
effective constants fitted at T (O. Hellman, I. A. Abrikosov and S. I. Simak, Phys. Rev. B 84, 180301 (2011)).

:func:`imaginary_modes` looks for them on the q-points commensurate with the constants' supercell (where the
constants are exactly what was measured or computed), a Gamma-centred mesh at least as fine, and the special points
of the lattice; frequencies are THz with imaginary ones negative (the convention of :mod:`trajmodes.phonons`).
:func:`require_stable` is the check the perturbation theories of :mod:`trajmodes.phonons` make before their sums.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ImaginaryModes", "UnstableConstantsError", "imaginary_modes", "count_imaginary", "require_stable",
           "IMAGINARY_TOL", "ACOUSTIC_TOL", "GAMMA_RADIUS", "MIN_MESH"]

#: THz: a mode below -IMAGINARY_TOL is imaginary
IMAGINARY_TOL = 1e-2
#: THz: the three acoustic branches within GAMMA_RADIUS of Gamma count as imaginary only below -ACOUSTIC_TOL (their
#: frequencies there are v |q|, small against the round-off of an imperfect acoustic sum rule, sqrt of its violation)
ACOUSTIC_TOL = 0.1
#: the radius around Gamma (a fraction of the shortest primitive reciprocal vector) of the acoustic tolerance
GAMMA_RADIUS = 0.1
#: the Gamma-centred mesh checked besides the supercell's q-points has at least this many points per axis
MIN_MESH = 8
#: q-points of the default check diagonalised together (one block of the dynamical matrix, whose blocks are multiples
#: of 256 q: the frequencies are bitwise those of one call over all of them)
CHECK_BLOCK = 256


class UnstableConstantsError(ValueError):
    """Force constants with imaginary modes given to a calculation that needs a stable harmonic crystal."""


@dataclass(frozen=True)
class ImaginaryModes:
    """The imaginary modes of a set of force constants on the q-points checked (:func:`imaginary_modes`,
    :meth:`trajmodes.workflows.PhononProperties.imaginary`).

    Attributes
    ----------
    count : int
        Modes below -``tolerance`` THz on the q-points checked (the acoustic modes at Gamma never; those near
        Gamma only below -``acoustic_tolerance``).
    lowest : float
        The lowest frequency, THz (negative: imaginary), the acoustic modes at Gamma left out.
    qpoint : ndarray, shape (3,)
        Its q-point, reduced coordinates (primitive reciprocal basis, no 2 pi).
    branch : int
        Its branch (0: the lowest).
    label : str
        The special point the lowest mode is at (``"N"``, ``"Gamma"``, ...; a point-group image counts), or ``""``.
    n_qpoints : int
        q-points with at least one imaginary mode.
    n_checked : int
        q-points checked.
    tolerance, acoustic_tolerance : float
        THz, as above.
    """

    count: int
    lowest: float
    qpoint: np.ndarray
    branch: int = 0
    label: str = ""
    n_qpoints: int = 0
    n_checked: int = 0
    tolerance: float = IMAGINARY_TOL
    acoustic_tolerance: float = ACOUSTIC_TOL

    @property
    def unstable(self) -> bool:
        """True when there is at least one imaginary mode."""
        return self.count > 0

    def where(self) -> str:
        """Where the lowest mode is: ``"N, q = [0.5, 0.0, 0.0]"`` or ``"q = [0.25, 0.0, 0.0]"``."""
        q = [float(x) + 0.0 for x in np.round(self.qpoint, 4)]
        return (f"{self.label}, " if self.label else "") + f"q = {q}"

    def summary(self) -> str:
        """One line: ``"12 imaginary modes (at 6 of 440 q-points checked), lowest -2.522 THz at N, q = [...]"``."""
        if not self.unstable:
            return (f"no imaginary modes (none below -{self.tolerance:g} THz at the {self.n_checked} q-points "
                    "checked)")
        return (f"{self.count} imaginary mode{'s' if self.count != 1 else ''} (at {self.n_qpoints} of the "
                f"{self.n_checked} q-points checked), lowest {self.lowest:.3f} THz at {self.where()} "
                f"(branch {self.branch})")

    def refusal(self, what: str) -> str:
        """The one-line message of a calculation ``what`` refused on these constants, and what to do."""
        return (f"force constants dynamically unstable: {self.summary()}; {what} of an unstable harmonic crystal are "
                "not the crystal's. Fit effective constants at the run's temperature (trajmodes fit --cutoff3 on the "
                "MD run), or allow_unstable=True (--allow-unstable) to leave the imaginary modes out")


def count_imaginary(qpoints, frequencies, reciprocal_cell=None, tol: float = IMAGINARY_TOL,
                    acoustic_tol: float = ACOUSTIC_TOL, gamma_radius: float = GAMMA_RADIUS,
                    labels: dict | None = None, rotations=None) -> ImaginaryModes:
    """The imaginary modes among given ``frequencies`` (nq, 3n) THz at reduced ``qpoints`` (nq, 3).

    The three acoustic modes at Gamma are never counted; the three lowest branches within ``gamma_radius`` x the
    shortest primitive reciprocal vector of Gamma (cartesian, from ``reciprocal_cell``, rows the primitive
    reciprocal vectors without 2 pi; without it, in reduced coordinates) only below -``acoustic_tol``; every other
    mode below -``tol``. ``labels`` (name -> reduced q) and ``rotations`` (the primitive cell's point group in its
    fractional coordinates, x' = R x) name the special point the lowest mode is at.
    """
    from trajmodes.lattice.qpoints import is_gamma
    q = np.atleast_2d(np.asarray(qpoints, dtype=float))
    f = np.array(frequencies, dtype=float, copy=True).reshape(len(q), -1)
    if not (np.isfinite(tol) and tol >= 0 and np.isfinite(acoustic_tol) and acoustic_tol >= 0):
        raise ValueError(f"the tolerances must be frequencies >= 0 THz, not {tol!r} and {acoustic_tol!r}")
    red = q - np.rint(q)
    if reciprocal_cell is not None:
        B = np.asarray(reciprocal_cell, dtype=float)
        # the shortest image of q (first zone) by the 27 neighbouring lattice vectors: enough for a reduced cell
        G = np.stack(np.meshgrid(*[np.arange(-1, 2)] * 3, indexing="ij"), -1).reshape(-1, 3)
        length = np.linalg.norm((red[:, None, :] + G[None]) @ B, axis=-1).min(axis=1)
        scale = float(np.linalg.norm(B, axis=1).min())
    else:
        length, scale = np.linalg.norm(red, axis=1), 1.0
    gamma = is_gamma(red, 1e-9)
    near = length <= gamma_radius * scale
    # the acoustic branches: the three frequencies closest to zero (not the three lowest: a soft optical mode at or
    # near Gamma, a ferroelectric's, lies below them and must count)
    n_ac = min(3, f.shape[1])
    acoustic = np.zeros(f.shape, dtype=bool)
    np.put_along_axis(acoustic, np.argsort(np.abs(f), axis=1)[:, :n_ac], True, axis=1)
    f = np.where(gamma[:, None] & acoustic, np.abs(f), f)        # the translations: zero up to round-off
    thresh = np.full(f.shape, -float(tol))
    thresh[near[:, None] & acoustic] = -float(acoustic_tol)
    bad = f < thresh
    if f.size == 0:
        return ImaginaryModes(0, 0.0, np.zeros(3), n_checked=len(q), tolerance=tol, acoustic_tolerance=acoustic_tol)
    g = np.where(bad, f, np.inf)
    if bad.any():
        i, b = np.unravel_index(np.argmin(g), f.shape)
    else:
        i, b = np.unravel_index(np.argmin(f), f.shape)
    label, where = _label(q[i], labels, rotations) if bad.any() else ("", q[i])
    return ImaginaryModes(count=int(bad.sum()), lowest=float(f[i, b]), qpoint=np.array(where, float), branch=int(b),
                          label=label,
                          n_qpoints=int(bad.any(axis=1).sum()), n_checked=len(q), tolerance=float(tol),
                          acoustic_tolerance=float(acoustic_tol))


def _label(q, labels, rotations) -> tuple[str, np.ndarray]:
    """The name and coordinates of the special point ``q`` is (or a point-group image of, up to a reciprocal lattice
    vector), or ("", q)."""
    if not labels:
        return "", q
    mats = [np.eye(3)] if rotations is None else [np.linalg.inv(np.asarray(r, float)).T for r in rotations]
    images = np.array([s * (m @ q) for m in mats for s in (1, -1)])
    for name, p in labels.items():
        d = images - np.asarray(p, float)[None]
        if np.any(np.abs(d - np.rint(d)).max(axis=1) < 1e-6):
            return ("Gamma" if name in ("G", "Γ") else name), np.asarray(p, float)
    return "", q


def _special_points(primitive) -> dict | None:
    """The special points of ``primitive``'s lattice, or None for a lattice spglib cannot classify."""
    from trajmodes.lattice.paths import special_points
    try:
        return special_points(primitive)
    except (ValueError, RuntimeError, KeyError):
        return None


def check_qpoints(force_constants, mesh=None, special=None) -> np.ndarray:
    """The q-points :func:`imaginary_modes` checks by default: those commensurate with the supercell of
    ``force_constants``, a Gamma-centred mesh (``mesh``, default :data:`MIN_MESH` points per axis) and the
    special points of the lattice (``special``, when already found); (n, 3) reduced, each once."""
    from trajmodes.lattice.qpoints import commensurate_qpoints, mesh_qpoints, parse_mesh
    parts = [commensurate_qpoints(force_constants.smap.matrix),
             mesh_qpoints(parse_mesh(MIN_MESH if mesh is None else mesh, matrix=False))]
    special = _special_points(force_constants.primitive) if special is None else special
    if special:                                         # a lattice spglib cannot classify: the meshes alone
        parts.append(np.array(list(special.values()), float).reshape(-1, 3))
    q = np.concatenate(parts)
    q = q - np.rint(q)
    return np.unique(np.round(q, 10) + 0.0, axis=0)


def imaginary_modes(phonons, qpoints=None, frequencies=None, tol: float = IMAGINARY_TOL,
                    acoustic_tol: float = ACOUSTIC_TOL, mesh=None) -> ImaginaryModes:
    """The imaginary modes of harmonic force constants: how many, the lowest, and where.

    Parameters
    ----------
    phonons : Phonons or ForceConstants
    qpoints : (n, 3) reduced, optional
        Further q-points to check besides the default ones (:func:`check_qpoints`: the q-points commensurate with
        the constants' supercell, a Gamma-centred mesh of ``mesh`` (default 8 x 8 x 8) and the special points);
        with ``frequencies`` (n, 3n) THz at them when already computed (e.g. the mesh of a three-phonon sum).
    tol, acoustic_tol : float
        THz: a mode is imaginary below -``tol``; the three acoustic branches near Gamma below -``acoustic_tol``
        (:func:`count_imaginary`).

    Returns
    -------
    ImaginaryModes
    """
    if not hasattr(phonons, "frequencies"):
        from trajmodes.phonons.harmonic.phonons import Phonons
        phonons = Phonons(phonons)
    fc = phonons.force_constants
    prim = fc.primitive
    labels = _special_points(prim)                     # found once: the points checked and their names
    q = check_qpoints(fc, mesh, labels)
    # a few hundred q-points: one block of the dynamical matrix at a time, on this thread (in threads, each block's
    # matrices and LAPACK workspace stayed in the threads' memory pools: 19 MB more resident for alpha-quartz)
    step = CHECK_BLOCK
    f = np.concatenate([phonons.frequencies(q[s:s + step]) for s in range(0, len(q), step)])
    if qpoints is not None:
        extra = np.atleast_2d(np.asarray(qpoints, dtype=float))
        fe = phonons.frequencies(extra) if frequencies is None else np.asarray(frequencies, float).reshape(len(extra), -1)
        q, f = np.concatenate([q, extra]), np.concatenate([f, fe])
    red = np.round(q - np.rint(q), 10) + 0.0
    _, first = np.unique(red, axis=0, return_index=True)             # the extra points may repeat the default ones
    rotations = np.asarray(prim.symmetry().rotations) if labels is not None else None
    return count_imaginary(q[np.sort(first)], f[np.sort(first)], np.linalg.inv(prim.cell).T, tol, acoustic_tol,
                           labels=labels, rotations=rotations)


def require_stable(phonons, what: str, allow_unstable: bool = False, qpoints=None, frequencies=None,
                   tol: float = IMAGINARY_TOL) -> ImaginaryModes:
    """:func:`imaginary_modes` of ``phonons`` (with the further ``qpoints`` and ``frequencies``), and an
    :class:`UnstableConstantsError` that says how many, the lowest, where and what to do when there are any and not
    ``allow_unstable``. ``what`` names the calculation (``"three-phonon widths and shifts"``)."""
    found = imaginary_modes(phonons, qpoints, frequencies, tol=tol)
    if found.unstable and not allow_unstable:
        raise UnstableConstantsError(found.refusal(what))
    return found
