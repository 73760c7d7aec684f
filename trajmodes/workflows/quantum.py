"""What ``trajmodes fit`` adds for a path-integral run: beside the fit over its beads, the two Kubo-correlator
estimators of the effective constants from its centroid (Morresi, Paulatto, Vuilleumier and Casula, J. Chem. Phys.
154, 224108 (2021)), both summed in one pass over the centroid, and the frequencies of the three at the special
points with their error bars."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["KuboComparison", "kubo_beside_fit"]


@dataclass
class KuboComparison:
    """The frequencies (THz) of the fit over the beads and of the two Kubo estimators at the special points.

    Attributes
    ----------
    qlabels : list of str
    qpoints : ndarray (nq, 3)
        Reduced, of the fit's primitive cell.
    beads : ndarray (nq, 3n)
        The fit over the beads (THz, ascending per q).
    displacement, force : ndarray (nq, 3n)
        The displacement-displacement and force-force estimators (THz), bias-corrected by the jackknife.
    displacement_err, force_err : ndarray (nq, 3n)
        Their jackknife standard errors (THz) over ``blocks`` contiguous blocks of frames.
    blocks : int
    n_frames : int
        Frames of the centroid summed.
    """

    qlabels: list
    qpoints: np.ndarray
    beads: np.ndarray
    displacement: np.ndarray
    displacement_err: np.ndarray
    force: np.ndarray
    force_err: np.ndarray
    blocks: int
    n_frames: int

    def table(self) -> str:
        """Lines: a header, then one row per distinct frequency at each special point: the fit over the beads and
        the two Kubo estimates (THz +- jackknife standard error)."""
        rows = [f"frequencies at the special points (THz; Kubo estimators +- jackknife standard error over "
                f"{self.blocks} blocks of the centroid's {self.n_frames} frames; Morresi et al., J. Chem. Phys. 2021)",
                f"  {'q':<4} {'fit over beads':>14} {'Kubo <u u>':>18} {'Kubo <F F>':>18}"]
        for label, b, d, de, f, fe in zip(self.qlabels, self.beads, self.displacement, self.displacement_err,
                                          self.force, self.force_err):
            keep = np.r_[True, np.diff(b) > 1e-4 * max(1.0, float(np.abs(b).max()))] & (np.abs(b) > 1e-6)
            name = "Γ" if label in ("G", "Gamma") else label
            for k in np.flatnonzero(keep):
                rows.append(f"  {name:<4} {b[k]:14.4f} {d[k]:10.4f}+-{de[k]:<6.4f} {f[k]:10.4f}+-{fe[k]:<6.4f}")
                name = ""
        return "\n".join(rows)


def kubo_beside_fit(run, estimator, *, blocks: int | None = None) -> KuboComparison:
    """The Kubo estimators of the path-integral ``run`` beside ``estimator``, its fit over the beads, at the special
    points of the fit's primitive cell (one pass over the centroid for both estimators).

    Parameters
    ----------
    run : RingPolymerRun
        With forces and its temperature (K).
    estimator : EffectiveForceConstants
        Fitted to ``run.pooled``; its supercell gives the estimators their symmetry.
    blocks : int, optional
        Contiguous blocks of frames of the jackknife (default 16, fewer for a short run: at least 4 frames a block).

    Returns
    -------
    KuboComparison
    """
    from trajmodes.lattice.paths import special_points
    from trajmodes.phonons.harmonic import Phonons
    from trajmodes.quantum import CentroidSums, KuboDisplacementConstants, KuboForceConstants
    T = run.require_temperature("the Kubo estimators")
    centroid = run.centroid
    B = int(blocks) if blocks is not None else int(min(16, max(2, centroid.n_frames // 4)))
    acc = CentroidSums(centroid, blocks=B, forces=True)
    sums = acc.finish(centroid.next_pass.compute(acc.start(acc.layer), acc.layer))
    pts = special_points(estimator.primitive_)
    labels, q = list(pts), np.array(list(pts.values()), float)

    def frequencies(fc):
        return Phonons(fc).frequencies(q)

    out = {}
    for name, kind in (("displacement", KuboDisplacementConstants), ("force", KuboForceConstants)):
        k = kind(temperature=T, blocks=B, symprec=float(estimator.symprec)).fit_sums(sums, estimator.supercell_)
        value, err, bias = k.jackknife(frequencies)
        out[name], out[name + "_err"] = value - bias, err
    return KuboComparison(labels, q, frequencies(estimator.harmonic_force_constants_), out["displacement"],
                          out["displacement_err"], out["force"], out["force_err"], B, int(sums.counts.sum()))
