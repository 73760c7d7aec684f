"""Means over the fitted frames from their summed normal equations
(:class:`~trajmodes.forceconstants.design.NormalBlocks`, per fold or per time segment): the potential, harmonic and
cubic energies of the TDEP free energy, and the statistics of the frames' cells (strain from the reference cell, its
fluctuations, the box's degrees of freedom); the run's time average settled as its reference.
"""
from __future__ import annotations

import numpy as np

from trajmodes.errors import ReferenceMismatchError
from trajmodes.lattice.geometry import minimum_image
from trajmodes.lattice.structure import Structure

__all__ = ["mean_energies", "cell_statistics", "strain_dofs", "CELL_VARIANCE", "settle_average", "SITE_TOL"]

#: variance of a Voigt strain below which the box counts as fixed along it (strain std 1e-7: the box bounds' digits)
CELL_VARIANCE = 1e-14


def mean_energies(blocks, p2, p3=None, p4=None) -> dict:
    """Means over the frames (eV per supercell) from summed blocks and the order-2 (and order-3) parameters.

    ``harmonic``: <1/2 u Phi u> = -1/2 p2 . (A'u)_2 / n_frames (the order-2 rows of A are -Phi u), plus, for a
    polar fit, ``dipole`` <1/2 u Phi_dd u> of the dipole-dipole constants taken out of its forces (so that the
    baseline is TDEP's <U_MD - U_2 - U_dd>; the key only where the blocks hold that energy);
    ``potential``: <U_MD> when every frame has a potential energy, else NaN; ``baseline``: their difference;
    with ``p3`` also ``cubic``: <1/6 Psi u u u> = -1/3 p3 . (A'u)_3 / n_frames (the order-3 rows of A are the
    cubic forces -1/2 Psi u u, and u . (-1/2 Psi u u) = -3 (1/6 Psi u u u) for a symmetric Psi: Euler's theorem on a
    form of degree three); with ``p4`` also ``quartic``: <1/24 Chi u u u u> = -1/4 p4 . (A'u)_4 / n_frames, by the same
    theorem for degree four.
    """
    n = float(np.sum(blocks.n_frames))
    bu = np.sum(blocks.bu, axis=0)
    p2 = np.asarray(p2)
    harm = -0.5 * float(p2 @ bu[:len(p2)]) / n if n else np.nan
    dipole = getattr(blocks, "dipole_energy", None)
    polar = dipole is not None and bool(np.any(dipole != 0))
    if polar:
        dipole = float(np.sum(dipole)) / n
        harm += dipole
    ne = float(np.sum(blocks.n_energy))
    pot = float(np.sum(blocks.energy)) / ne if ne and ne == n else np.nan
    out = dict(potential=pot, harmonic=harm, baseline=pot - harm)
    if polar:
        out["dipole"] = dipole
    if p3 is not None:
        p3 = np.asarray(p3)
        out["cubic"] = -float(p3 @ bu[len(p2):len(p2) + len(p3)]) / (3 * n) if n else np.nan
    if p4 is not None:
        p4, n3 = np.asarray(p4), len(p2) + len(p3)
        out["quartic"] = -float(p4 @ bu[n3:n3 + len(p4)]) / (4 * n) if n else np.nan
    return out


def cell_statistics(segments) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Mean Voigt strain of the frames' cells from the reference cell (6,), its standard error from the time segments'
    means (6,), the covariance of the strains (6, 6), and the number of independent strains that fluctuate (the
    box's degrees of freedom: 0 in a fixed cell, 1 for an isotropic barostat, 3 anisotropic, 6 triclinic)."""
    n = int(np.sum(segments.n_strain))
    if n == 0:
        return np.zeros(6), np.zeros(6), np.zeros((6, 6)), 0
    mean = np.sum(segments.strain, axis=0) / n
    cov = np.sum(segments.strain2, axis=0) / n - np.outer(mean, mean)
    means = segments.per_frame_mean("strain")
    means = means[np.isfinite(means).all(axis=1)]
    se = means.std(axis=0, ddof=1) / np.sqrt(len(means)) if len(means) > 1 else np.zeros(6)
    return mean, se, cov, strain_dofs(cov)


def strain_dofs(cov: np.ndarray) -> int:
    """The number of independent Voigt strains that fluctuate, from the covariance of the frames' strains (6, 6): the
    box's degrees of freedom (0 in a fixed cell, 1 for an isotropic barostat, 3 anisotropic, 6 triclinic); an
    eigenvalue counts above :data:`CELL_VARIANCE` and a millionth of the largest."""
    w = np.linalg.eigvalsh(0.5 * (cov + cov.T))
    return int(np.sum(w > max(CELL_VARIANCE, 1e-6 * w.max())))


#: Angstrom: the farthest an atom of the run's time average may sit from its ideal site (after the one translation
#: of the whole crystal) for the site to be its own (as :meth:`~trajmodes.lattice.crystal.Crystal.supercell_map`)
SITE_TOL = 0.5


def settle_average(traj, provisional: Structure, mean_u: np.ndarray, ideal: Structure) -> tuple:
    """The time average of ``traj`` (``provisional`` plus the mean displacement from it, ``mean_u``, Å), checked to
    put every atom on the ideal site the fit measured it from, up to one translation of the whole crystal: (the
    average, a Structure; every atom's mean displacement from that site (N, 3), A: what the free internal coordinates
    of the crystal may have moved by, :func:`~trajmodes.lattice.ideal.mean_sites`). ``traj`` is left as it was."""
    avg = traj.average_from_mean(provisional, mean_u)
    d = minimum_image((avg.positions - ideal.positions)[None], np.asarray(ideal.cell, float)[None])[0]
    off = np.linalg.norm(d - d.mean(axis=0), axis=1)
    if off.max() > SITE_TOL:
        i = int(np.argmax(off))
        raise ReferenceMismatchError(
            f"{int((off > SITE_TOL).sum())} atoms of {traj.source.describe()} sit off the lattice sites of a few of "
            f"its frames (spread over the run) in its time average (atom {i} by {off[i]:.2f} A): atoms left their "
            "sites during the run, so it is not one crystal vibrating about its average. Fit a part of the run where "
            "they stay, or give the ideal reference (--reference, reference=)")
    return avg, d
