"""What ``trajmodes fit`` adds for a path-integral run: beside the fit over its beads, the two Kubo-correlator
estimators of the effective constants from its centroid (Morresi, Paulatto, Vuilleumier and Casula, J. Chem. Phys.
154, 224108 (2021)), both summed in one pass over the centroid, and the frequencies of the three at the special
points with their error bars: the jackknife over blocks of the centroid's frames, widened for its correlation time by
a blocking analysis (:mod:`trajmodes.quantum.kubo`), or marked as lower bounds where the run is too short."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["KuboComparison", "kubo_beside_fit", "kubo_frames_problem"]


@dataclass
class KuboComparison:
    """The frequencies (THz) of the fit over the beads and of the two Kubo estimators at the special points.

    Parameters
    ----------
    qlabels : list of str
        The names of the special points compared (``"G"``, ``"X"``, ...).
    qpoints : ndarray (nq, 3)
        Reduced, of the fit's primitive cell.
    beads : ndarray (nq, 3n)
        The fit over the beads (THz, ascending per q).
    displacement, force : ndarray (nq, 3n)
        The displacement-displacement and force-force estimators (THz), bias-corrected by the jackknife.
    displacement_err, force_err : ndarray (nq, 3n)
        Their standard errors (THz): the jackknife's over ``blocks`` contiguous blocks of frames, times ``inflation``.
    blocks : int
        B: the errors have B - 1 degrees of freedom (a 95 % interval is +- t_{0.975, B-1} of them).
    n_frames : int
        Frames of the centroid summed.
    inflation : tuple of float
        The blocking analysis' factors of the two estimators' jackknife errors (1: none).
    inefficiency : tuple of float
        Frames per independent sample of the centroid's mode variances (displacement, force covariance).
    correlation_time : float
        The fitted correlation time of the modes' energies, ps (nan where unknown).
    lower_bound : bool
        True where the error bars are lower bounds (the run is too short for the blocking analysis).
    frame_interval : float or None
        ps between the centroid's frames.
    min_independent : float
        The independent samples the blocking analysis needs for calibrated bars.
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
    inflation: tuple = (1.0, 1.0)
    inefficiency: tuple = (float("nan"), float("nan"))
    correlation_time: float = float("nan")
    lower_bound: bool = True
    frame_interval: float | None = None
    min_independent: float = float("nan")

    def error_line(self) -> str:
        """What the Kubo error bars are: calibrated for the centroid's correlation time, or a LOWER BOUND, and why (in
        the words of the fit's error lines)."""
        from scipy.stats import t as student
        dof = self.blocks - 1
        model = (f"jackknife over {self.blocks} blocks, {dof} degrees of freedom: +-{student.ppf(0.975, dof):.2f} "
                 "of them is the 95 % interval")
        finite = [float(x) for x in self.inefficiency if np.isfinite(x)]
        g = max(finite) if finite else float("nan")
        dt = self.frame_interval
        per = f"{g:.1f} frames" + (f" = {1e3 * g * dt:.0f} fs" if dt else "")
        widened = f"widened x{self.inflation[0]:.2f} (<u u>) and x{self.inflation[1]:.2f} (<F F>)"
        if self.lower_bound:
            why = (f"the run holds {self.n_frames / g:.1f} independent samples of the centroid's mode variances (one "
                   f"per {per}), under the {self.min_independent:.0f} the blocking analysis needs to see their "
                   "correlation; "
                   f"{widened} for what it saw; a longer run gives calibrated bars") if np.isfinite(g) else \
                  (f"the centroid's {self.n_frames} frames are too few for a blocking analysis of its correlation "
                   "time (the jackknife's blocks may be correlated); a longer run gives calibrated bars")
            return f"Kubo error bars: LOWER BOUND ({model}): {why}"
        tau = f"; correlation time {1e3 * self.correlation_time:.0f} fs" if np.isfinite(self.correlation_time) else ""
        return (f"Kubo error bars: {model}, calibrated: {widened} for the centroid's correlation (blocking analysis: "
                f"one independent sample per {per}{tau})")

    def table(self) -> str:
        """Lines: a header, then one row per distinct frequency at each special point: the fit over the beads and
        the two Kubo estimates (THz +- standard error), then what the error bars are (:meth:`error_line`)."""
        rows = [f"frequencies at the special points (THz; Kubo estimators +- standard error from {self.blocks} blocks "
                f"of the centroid's {self.n_frames} frames; Morresi et al., J. Chem. Phys. 2021)",
                f"  {'q':<4} {'fit over beads':>14} {'Kubo <u u>':>18} {'Kubo <F F>':>18}"]
        for label, b, d, de, f, fe in zip(self.qlabels, self.beads, self.displacement, self.displacement_err,
                                          self.force, self.force_err):
            keep = np.r_[True, np.diff(b) > 1e-4 * max(1.0, float(np.abs(b).max()))] & (np.abs(b) > 1e-6)
            name = "Γ" if label in ("G", "Gamma") else label
            for k in np.flatnonzero(keep):
                rows.append(f"  {name:<4} {b[k]:14.4f} {d[k]:10.4f}+-{de[k]:<6.4f} {f[k]:10.4f}+-{fe[k]:<6.4f}")
                name = ""
        rows.append(self.error_line())
        return "\n".join(rows)


def kubo_frames_problem(run, estimator) -> str | None:
    """Why the Kubo estimators of ``run`` beside ``estimator`` (its fit over the beads) are not computed, in one line,
    or None: a centroid of no more frames than p + 2, p = 3 per atom of the fit's primitive cell, whose displacement
    covariance has no bounded inverse (:class:`~trajmodes.quantum.KuboDisplacementConstants` refuses it)."""
    p = 3 * int(estimator.primitive_.n_atoms)
    n = int(run.centroid.n_frames)
    if n > p + 2 and n >= 4:
        return None
    return (f"Kubo estimators: not computed: the centroid's {n} frames are too few for the {p} directions per q-point "
            f"of the displacement covariance's inverse (at least {max(p + 3, 4)} frames; a longer run gives them)")


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
        Contiguous blocks of frames of the jackknife (default 16, fewer for a short run: at least 4 frames a block);
        the pass keeps finer blocks for the blocking analysis that widens the errors for the centroid's correlation
        time (:mod:`trajmodes.quantum.kubo`).

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
    sums = acc.finish(centroid.read_pass().compute(acc.start(acc.layer), acc.layer))
    try:
        dt = float(centroid.frame_interval)                     # ps; the modes' oscillation in the blocking model
    except (AttributeError, TypeError, ValueError):
        dt = None
    pts = special_points(estimator.primitive_)
    labels, q = list(pts), np.array(list(pts.values()), float)

    def frequencies(fc):
        return Phonons(fc).frequencies(q)

    out, fitted = {}, []
    for name, kind in (("displacement", KuboDisplacementConstants), ("force", KuboForceConstants)):
        k = kind(temperature=T, blocks=B, symprec=float(estimator.symprec)).fit_sums(sums, estimator.supercell_,
                                                                                    frame_interval=dt)
        value, err, bias = k.jackknife(frequencies)
        out[name], out[name + "_err"] = value - bias, err
        fitted.append(k)
    taus = [k.blocking_.correlation_frames for k in fitted]
    dt = fitted[0].frame_interval_
    tau = float(np.nanmax(taus)) * dt if dt and np.isfinite(taus).any() else float("nan")
    return KuboComparison(labels, q, frequencies(estimator.harmonic_force_constants_), out["displacement"],
                          out["displacement_err"], out["force"], out["force_err"], B, int(sums.counts.sum()),
                          tuple(float(k.error_inflation_) for k in fitted),
                          tuple(float(k.blocking_.statistical_inefficiency) if k.blocking_.fitted else float("nan")
                                for k in fitted), tau,
                          any(k.lower_bound_ for k in fitted), dt, float(fitted[0].blocking_.min_independent))
