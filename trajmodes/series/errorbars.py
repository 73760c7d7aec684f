"""The default error model of a run's effective frequencies: which estimate is calibrated for the run, what it needs,
and, where it cannot be had, the statement that the error bar is a lower bound and why.

The block bootstrap of a fit's time segments (with its blocking analysis) sees what varies within a run. Two
deviations stay fixed over a whole run and are invisible to it (docs/series.md, "What one run cannot see"):

- the run's temperature: in NVE its energy is one canonical draw, T / sqrt(3N - 3), which moves every frequency by
  d nu / dT times that;
- the energy each set of modes kept: a small, nearly harmonic crystal under NVE or Nose-Hoover (one global friction,
  W. G. Hoover, Phys. Rev. A 31, 1695 (1985)) keeps the energies its modes started with, and its effective constants
  belong to that draw.

Which estimate is calibrated depends on the run, and the run itself says which applies (over independent runs that
differ only in their seeds, z-score standard deviations of the frequencies: docs/series.md):

- **the modes exchanged their energies** (a stochastic thermostat, or a hot, anharmonic crystal): the frozen
  fraction of the modes' mean-square displacement (:func:`frozen_share`, from the run projected on its modes) is
  below :data:`EXCHANGE_SHARE`. The blocking bootstrap is calibrated (Langevin, damping 0.5 ps: 1.06-1.21), with
  d nu / dT times the temperature error added where d nu / dT is known; an NVE run without d nu / dT misses its
  energy draw and is a lower bound, and so is a crystal more anharmonic than those it was calibrated on (sigma_A
  above :data:`SIGMA_A_LIMIT`; :func:`strongly_anharmonic`);
- **the modes kept their energies** (NVE or Nose-Hoover in a small, nearly harmonic crystal): the partition estimate
  of :func:`~trajmodes.phonons.thermodynamics.uncertainty.frequencies_with_errors` (``partition=``): the quartic response to the
  energy each set of modes kept, from a fourth order fitted for it, with d nu / dT times the temperature error, or the
  net slope spread by the frozen mean-square displacement, whichever is larger (0.83-1.09 over NVE and Nose-Hoover
  runs of 32-atom Cu and 64-atom Si). Without d nu / dT, or without the fourth order, it is a lower bound, and so
  is the bootstrap given instead where the crystal is too anharmonic for this lowest-order estimate (sigma_A above
  :data:`SIGMA_A_LIMIT`);
- **the run has no velocities**: whether its modes kept their energies cannot be measured; the bootstrap is a lower
  bound.

Every error bar is labelled by what it is (:func:`error_bar_label`): calibrated only where the run lies within what its
model was calibrated on, a lower bound with the reason otherwise.

Whether a run kept its energy (NVE) is ``fit.energy_conserved_`` when every frame has its potential energy, and
otherwise the variance of its kinetic energy over the run: about half the canonical one at constant energy
(J. L. Lebowitz, J. K. Percus and L. Verlet, Phys. Rev. 153, 250 (1967)), the canonical one under a thermostat.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import dask
import numpy as np

from trajmodes.forceconstants.model import ForceConstants

__all__ = ["ErrorModelInputs", "RunFrequencyErrors", "error_model_frames", "frames_to_hold", "fit_holding_frames",
           "error_model_inputs", "error_model_cutoff",
           "run_frequency_errors", "frozen_share", "SIGMA_A_LIMIT", "static_frequencies", "static_slope",
           "STATIC_SHIFT_LIMIT", "SeriesFrequencyErrors", "series_frequency_errors", "error_model_variables",
           "EXCHANGE_SHARE", "NVE_KINETIC_RATIO", "ERROR_MODEL_FRAMES", "ERROR_MODEL_ATOM_FRAMES", "quartic_frames",
           "MIN_FRAMES", "MODELS", "error_bar_label", "strongly_anharmonic"]

#: below this frozen share of the mean-square displacement (:func:`frozen_share`) the run's modes exchanged their
#: energies (measured on 32-atom Cu at 300 K: 0.03-0.08 under Langevin, 0.3-0.6 under NVE and Nose-Hoover, 5-50 ps;
#: 0.11 for 432-atom bcc Zr at 1300 K, NVE and Nose-Hoover)
EXCHANGE_SHARE = 0.2
#: a kinetic-energy variance below this fraction of the canonical one marks a run at constant energy (NVE: about 1/2)
NVE_KINETIC_RATIO = 0.75
#: every error model was calibrated on crystals of sigma_A 0.08 (Si, 300 K) to 0.21 (Cu, 300 K); above this the run's
#: error bar is marked as a lower bound, whichever model gives it: the partition estimate is lowest order in the
#: anharmonicity (bcc Zr at 1300 K, sigma_A 0.60: its quartic response by mode gave three times the scatter of
#: independent runs at the soft TA mode at N), and the blocking bootstrap of the same Zr runs was 1.28 times too small
#: under Nose-Hoover
SIGMA_A_LIMIT = 0.3
#: frames of a run projected on its modes, and at most this many fitted for the fourth order of the error model
#: (evenly spaced)
ERROR_MODEL_FRAMES = 500
#: the fourth order of the error model is fitted to at most this many atom-frames (atoms times frames; at least
#: :data:`MIN_FRAMES` frames): the most of the runs it was calibrated on (64-atom Si, 500 frames), so that their fits are
#: unchanged, while a big supercell fits the same number of force components from fewer frames (576-atom GaN: 55
#: frames, 95,000 force components for 1088 parameters of orders 2 to 4; its partition term 1.03 times that of all
#: 201 frames, median, and every error bar within 0.8 %: docs/series.md)
ERROR_MODEL_ATOM_FRAMES = 32_000
#: fewer frames than this cannot tell a variance over the run from its canonical value (the relative error of a
#: variance over n frames is at least sqrt(2 / n): 0.2 at 50): whether the modes kept their energies is not judged
MIN_FRAMES = 50
#: the error models, as the datasets name them
MODELS = {
    "partition": "block bootstrap (blocking), and the energy the run's modes kept: the larger of the quartic response "
                 "by mode plus d nu / dT times the temperature error, and d nu / dT times the frozen mean-square "
                 "displacement's temperature",
    "bootstrap+temperature": "block bootstrap (blocking) and d nu / dT times the error of the run's temperature",
    "bootstrap": "block bootstrap of the run's time segments, scaled to its blocking plateau",
    "frozen modes": "block bootstrap (blocking) and d nu / dT times the frozen mean-square displacement's "
                    "temperature",
}


@dataclass(frozen=True)
class ErrorModelInputs:
    """What the error model of one run measured beyond its fit (:func:`error_model_inputs`).

    Parameters
    ----------
    frozen : xarray.Dataset or None
        ``frozen_fraction`` of :func:`~trajmodes.modes.energies.frozen_energy_fraction` of the run on the modes of its
        fitted fc2, with its coordinates and attributes (None without velocities, or where the projection failed).
    quartic : ForceConstants or None
        The run's fc2 with a fourth order fitted to the same run (``cutoff4``), for the partition term; None where it
        was not needed (the modes exchanged their energies) or could not be fitted.
    cutoff4 : float or None
        Å, the third- and fourth-order cutoff of that fit.
    energy_conserved : bool or None
        Whether the run kept its total energy (NVE); None when neither its potential energies nor its velocities
        tell.
    share : float
        :func:`frozen_share` of the run (NaN without ``frozen``).
    sigma_a : float
        The fit's anharmonicity sigma_A (F. Knoop, T. A. R. Purcell, M. Scheffler and C. Carbogno, Phys. Rev.
        Materials 4, 083809 (2020)): the partition estimate holds to lowest order, up to :data:`SIGMA_A_LIMIT`.
    notes : tuple of str
        Why a piece is missing.
    seconds : float
        Wall time of the projection and the fourth-order fit.
    fourth_order_frames : int
        Frames of each run the fourth order was fitted to (:func:`quartic_frames`; 0 without it).
    ensemble_from : str
        Where ``energy_conserved`` was read, in words (the MD program's input that states the ensemble); empty where
        it was measured.
    """

    frozen: object | None
    quartic: ForceConstants | None
    cutoff4: float | None
    energy_conserved: bool | None
    share: float
    sigma_a: float
    notes: tuple
    seconds: float
    fourth_order_frames: int = 0
    ensemble_from: str = ""

    @property
    def exchanging(self) -> bool | None:
        """Whether the run's modes exchanged their energies over it (None without the projection)."""
        return None if self.frozen is None else bool(self.share < EXCHANGE_SHARE)


@dataclass(frozen=True)
class RunFrequencyErrors:
    """A run's frequencies with the error bars of its error model (:func:`run_frequency_errors`).

    Parameters
    ----------
    result : FrequenciesWithErrors
        ``frequency``, ``frequency_err`` (nq, 3n) THz and the parts of the error.
    model : str
        A key of :data:`MODELS`.
    lower_bound : bool
        True where no calibrated estimate applies: the error bar is a lower bound.
    reason : str
        Why the model applies, and for a lower bound what is missing.
    """

    result: object
    model: str
    lower_bound: bool
    reason: str


def quartic_frames(n_atoms: int, max_frames: int = ERROR_MODEL_FRAMES) -> int:
    """How many frames (evenly spaced) the error model's fourth order is fitted to in a run of ``n_atoms`` atoms: at
    most ``max_frames`` and :data:`ERROR_MODEL_ATOM_FRAMES` atom-frames, at least :data:`MIN_FRAMES`.

    Parameters
    ----------
    n_atoms : int
        Atoms of the run.
    max_frames : int
        The most frames.
    """
    return int(min(int(max_frames), max(MIN_FRAMES, ERROR_MODEL_ATOM_FRAMES // max(int(n_atoms), 1))))


def strongly_anharmonic(sigma_a: float) -> str:
    """Why a run of anharmonicity ``sigma_a`` above :data:`SIGMA_A_LIMIT` has error bars that are lower bounds."""
    return (f"sigma_A = {sigma_a:.2f} > {SIGMA_A_LIMIT:g}: strongly anharmonic, beyond the crystals the error model was "
            "calibrated on (sigma_A 0.08-0.21; at sigma_A 0.60, bcc Zr at 1300 K, the partition estimate was three "
            "times the scatter of independent runs and the bootstrap 1.28 times too small under Nose-Hoover)")


def error_bar_label(lower_bound: bool, reason: str) -> str:
    """What an error bar is, in words for a dataset's attributes: ``calibrated (reason)`` or ``lower bound
    (reason)``.

    Parameters
    ----------
    lower_bound : bool
        Whether the error bar is a lower bound.
    reason : str
        Why, in words.
    """
    return f"{'lower bound' if lower_bound else 'calibrated'} ({reason})"


def frozen_share(frozen) -> float:
    """The frozen share of a run's mean-square displacement: sum_k f_k / omega_k^4 over sum_k 1 / omega_k^4 over the
    vibrating modes, f_k their frozen fractions (:func:`~trajmodes.modes.energies.frozen_energy_fraction`). Mode k
    adds E_k / omega_k^2 to the mean-square displacement, with variance (k_B T)^2 / omega_k^4 over canonical draws:
    1 when every mode kept its energy over the run, 0 when every one exchanged it.

    Parameters
    ----------
    frozen : xarray.Dataset
        :func:`~trajmodes.modes.energies.frozen_energy_fraction`'s: ``frozen_fraction`` (dimensionless) and
        ``frequency_harmonic`` (THz; modes under 1e-3 THz, the acoustic ones at Gamma, are left out).
    """
    f = np.asarray(frozen["frozen_fraction"].values, float).ravel()
    nu = np.abs(np.asarray(frozen["frequency_harmonic"].values, float)).ravel()
    vib = nu >= 1e-3
    if not vib.any():
        return float("nan")
    w = nu[vib] ** -4.0
    return float(np.sum(f[vib] * w) / np.sum(w))


def error_model_cutoff(fit) -> float:
    """The third- and fourth-order cutoff of the error model's fit, Å: midway between the second and third
    neighbour shells of the crystal (its first two shells, as the calibration's 3 Å for fcc Cu and 4.5 Å for diamond
    Si), at most the fit's pair cutoff and below half the supercell.

    Parameters
    ----------
    fit : EffectiveForceConstants
        The run's fit (prepared or fitted): its supercell (Å) and pair cutoff ``cutoff2`` are read.
    """
    from trajmodes.forceconstants.cutoffs import cutoff_length
    from trajmodes.lattice.geometry import shortest_lattice_vector, shortest_vectors
    sc = fit.supercell_
    x = np.asarray(sc.positions, float)
    r = np.linalg.norm(shortest_vectors(x[None, :, :] - x[np.asarray(fit.p2s_)][:, None, :], sc.cell), axis=-1)
    r = np.sort(r[r > 1e-6])
    shells = r[np.concatenate([[True], np.diff(r) > 0.05])]
    limit = min(cutoff_length(fit.cutoff2), 0.49 * shortest_lattice_vector(sc.cell))
    rc = 0.5 * (shells[1] + shells[2]) if len(shells) > 2 else limit
    return float(min(rc, limit))


def _as_fitted(traj, fit=None):
    """``traj`` measured from the reference its fit used: a run given without a reference is fitted from its time
    average (not its first frame, a thermal snapshot), and so is projected from it; a run that left the crystal of
    its reference from the sites of its own crystal (``fit.run_reference_``); a run whose time average the fit took
    in its pass from that average (``fit.time_average_``: no pass takes it again)."""
    moved = _left_sites(fit)
    if moved is not None and traj.n_atoms == len(moved.positions) and traj.reference is not moved:
        return traj.with_reference(moved)
    if (measured := _from_fit_average(traj, fit)) is not traj:
        return measured
    spec = traj.reference_spec
    if isinstance(spec, str) and spec == "first" and traj.n_frames > 1 and not traj.reference_given:
        return traj.with_reference("average")
    return traj


def _from_fit_average(traj, fit):
    """``traj`` measured from the time average its fit took in its pass (``fit.time_average_``) where its reference
    is that average, still to be taken (no pass takes it again), else ``traj``."""
    average = getattr(fit, "time_average_", None)
    if average is not None and not traj.reference_known and traj.reference_is_average and \
            traj.n_atoms == len(average.positions):
        return traj.with_average(average)
    return traj


def _has_velocities(traj) -> bool:
    return "velocities" in getattr(traj.source, "fields", ()) and traj.masses is not None


def error_model_frames(run, max_frames: int = ERROR_MODEL_FRAMES) -> np.ndarray:
    """The frames of ``run`` (indices) :func:`error_model_inputs` projects on its modes: at most ``max_frames``,
    evenly spaced.

    Parameters
    ----------
    run : Trajectory
        The run.
    max_frames : int
        The most frames projected.
    """
    return np.arange(0, run.n_frames, max(1, -(-run.n_frames // int(max_frames))))


def frames_to_hold(run, max_frames: int = ERROR_MODEL_FRAMES) -> np.ndarray | None:
    """The frames of ``run`` its error model will project (:func:`error_model_frames`), where their positions,
    velocities and forces may be held through the fit's pass over the run (:func:`~trajmodes.resources.may_hold`),
    so that the error model reads no frame again; None where it projects none (no velocities, fewer than
    :data:`MIN_FRAMES` frames, no cell) or they are too big to hold.

    Parameters
    ----------
    run : Trajectory
        The run.
    max_frames : int
        The most frames projected.
    """
    from trajmodes.resources import may_hold
    if not _has_velocities(run) or run.n_frames < MIN_FRAMES or not run.source.has_cell:
        return None
    frames = error_model_frames(run, max_frames)
    return frames if may_hold(3 * 3 * 8.0 * len(frames) * run.n_atoms, where="here") else None


def fit_holding_frames(fit, data, reading=None):
    """``fit.fit(data)``, with the frames the error model will project read in the same pass and held
    (:func:`frames_to_hold`: one run, every frame fitted, small enough; added to the fit's pass as
    :meth:`~trajmodes.trajectory.core.Trajectory.holding`), so that :func:`error_model_inputs` reads no frame again.

    Parameters
    ----------
    fit : EffectiveForceConstants
        The fit to run (not yet fitted).
    data : Trajectory or list of Trajectory
        The run (or runs) ``fit.fit`` takes; frames are held for one run only.
    reading : Pass, optional
        The pass of the first run the fit computes, created by the caller with work of its own added
        (:class:`~trajmodes.trajectory.passes.Pass`); default one created here.

    Returns
    -------
    Trajectory or None
        The held frames, to give :func:`error_model_inputs` as the run; None where none are held (read them from
        the run).
    """
    one = not isinstance(data, (list, tuple)) or len(data) == 1
    run = data[0] if isinstance(data, (list, tuple)) else data
    every = int(fit.stride) == 1 and fit.n_frames is None
    hold = frames_to_hold(run) if one and every else None
    reading = run.read_pass() if reading is None else reading
    frames = reading.add(run.holding(hold)) if hold is not None else None
    fit.fit(data, reading=reading)
    if frames is None:
        return None
    average = getattr(fit, "time_average_", None)        # the average the fit took in its pass: the run's reference
    held = (run if average is None else run.with_average(average)).held(hold, frames.value)
    # a run that left its reference's crystal is fitted from its own sites: projected from them too
    moved = _left_sites(fit)
    return held if moved is None else held.with_reference(moved)


def _left_sites(fit):
    """The sites ``fit`` measured a run from where the run left the crystal of its reference (its own crystal's,
    settled where its free coordinates moved too), else None."""
    if getattr(fit, "run_reference_", None) is None:
        return None
    settled = getattr(fit, "sites_reference_", None)
    return fit.run_reference_ if settled is None else settled


def error_model_inputs(fit, run, *, cutoff4: float | None = None, max_frames: int = ERROR_MODEL_FRAMES,
                       fourth_order: bool = True, progress=None) -> ErrorModelInputs:
    """Measure what the error model of a fitted run needs: the run projected on the modes of its fitted fc2 (the
    frozen fractions, whether its energy was conserved), and, where its modes kept their energies, a fourth order
    fitted to it for the partition term.

    Parameters
    ----------
    fit : EffectiveForceConstants
        Fitted to ``run``.
    run : Trajectory or list of Trajectory
        The frames it was fitted to (pooled runs: each is projected, and the frozen fractions of their mean are the
        mean of theirs over the number of runs, the runs' draws being independent).
    cutoff4 : float, optional
        Å; default :func:`error_model_cutoff`.
    max_frames : int
        At most this many frames of each run, evenly spaced, are projected (the variance of a mode's energy over the
        run needs no more) and fitted for the fourth order, there also at most :data:`ERROR_MODEL_ATOM_FRAMES`
        atom-frames (:func:`quartic_frames`: a fourth order for an error of the error bar needs no more force
        components in a big supercell than in the small ones it was calibrated on).
    fourth_order : bool
        Fit the fourth order where the modes kept their energies (False: the projection alone).
    progress : callable, optional
        Called with one line before each step that can take seconds (the projection, the fourth order's basis and
        its pass over the frames).

    Returns
    -------
    ErrorModelInputs
    """
    runs = list(run) if isinstance(run, (list, tuple)) else [run]
    if all(t.source.format == "memory" for t in runs):
        # frames held in this process (:func:`fit_holding_frames`, on a cluster too): projected and fitted on its own
        # threads, not sent to a cluster's workers inside the graph
        with dask.config.set(scheduler="threads"):
            return _error_model_inputs(fit, runs, cutoff4, max_frames, fourth_order, progress)
    return _error_model_inputs(fit, runs, cutoff4, max_frames, fourth_order, progress)


def _error_model_inputs(fit, runs: list, cutoff4, max_frames: int, fourth_order: bool,
                        progress=None) -> ErrorModelInputs:
    """:func:`error_model_inputs` of the runs ``runs``."""
    from trajmodes.forceconstants.fit import EffectiveForceConstants
    from trajmodes.lattice.qpoints import commensurate_qpoints
    from trajmodes.modes.energies import frozen_energy_fraction
    from trajmodes.modes.projection import project
    from trajmodes.phonons.harmonic.phonons import Phonons
    t0 = time.perf_counter()
    say = progress or (lambda line: None)
    notes = []
    has_energy = bool(np.isfinite(fit.energies_.get("potential", np.nan)))
    conserved = bool(getattr(fit, "energy_conserved_", False)) if has_energy and hasattr(fit, "energy_conserved_") \
        else None
    stated = {getattr(t.source, "ensemble", None) for t in runs}       # what the MD input says (an i-PI input's)
    ensemble_from = ""
    if conserved is None and len(stated) == 1 and None not in stated:
        conserved, ensemble_from = next(iter(stated))
    ph = Phonons(fit.harmonic_force_constants_)
    frozen = None
    if not all(getattr(t.source, "kinetic_temperature", True) for t in runs):
        notes.append("the beads of a path-integral run are samples of the quantum ensemble, not one trajectory whose "
                     "modes' energies can be followed; the bootstrap resamples blocks of time with every bead of a "
                     "block together")
    elif not all(_has_velocities(t) for t in runs):
        hint = next((t.source.write_velocities for t in runs if getattr(t.source, "write_velocities", None)),
                    "write vx vy vz")
        notes.append("the run has no velocities, so whether its modes kept their energies over it cannot be measured "
                     f"({hint})")
    elif sum(t.n_frames for t in runs) < MIN_FRAMES:
        notes.append(f"the run has {sum(t.n_frames for t in runs)} frames, too few to tell whether its modes kept "
                     f"their energies (at least {MIN_FRAMES})")
    # every mode of the supercell (1.2 s at 10^6 atoms): only for a run that can be projected
    elif (lowest := float(ph.frequencies(commensurate_qpoints(fit.smap_.matrix)).min())) < -1e-2:
        notes.append(f"the fitted crystal has imaginary modes (lowest {lowest:.3g} THz), which carry no "
                     "canonical energy to measure")
    else:
        parts = []
        say(f"error model: the run projected on its modes ({sum(len(error_model_frames(t, max_frames)) for t in runs)} "
            "frames), to measure whether they kept their energies")
        for t in runs:
            step = int(np.diff(error_model_frames(t, max_frames)[:2]).sum()) or 1
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*alias.*")      # energies, not spectra
                parts.append(frozen_energy_fraction(project(_as_fitted(t[::step] if step > 1 else t, fit), ph),
                                                    temperature=fit.temperature_
                                                    if np.isfinite(fit.temperature_) else None))
        frozen = parts[0]
        if len(parts) > 1:
            f = np.mean([p["frozen_fraction"].values for p in parts], axis=0) / len(parts)
            frozen = frozen.assign(frozen_fraction=(frozen["frozen_fraction"].dims, f,
                                                    frozen["frozen_fraction"].attrs))
        if conserved is None:
            ratio = float(np.mean([p.attrs["kinetic_variance_ratio"] for p in parts]))
            conserved = bool(ratio < NVE_KINETIC_RATIO) if np.isfinite(ratio) else None
        # kept beside the later runs' fits: only what the error bars read (frozen_fraction with the modes' q-points
        # and harmonic frequencies), not the energies and variances by mode (3 more arrays of 3N values)
        frozen = frozen.drop_vars(["energy", "set_variance", "set_size"])
    share = frozen_share(frozen) if frozen is not None else float("nan")
    sigma_a = float(fit.scores_.sigma_a)
    quartic, c4, used = None, None, 0
    if frozen is not None and share >= EXCHANGE_SHARE and fourth_order and sigma_a <= SIGMA_A_LIMIT:
        if 4 in fit.bases_:
            quartic, c4 = fit.force_constants_, float(fit.cutoff4)
        else:
            c4 = float(cutoff4) if cutoff4 is not None else error_model_cutoff(fit)
            frames = quartic_frames(fit.supercell_.n_atoms, max_frames)
            say(f"error model: the modes kept their energies (frozen share {share:.2f}): a fourth order within "
                f"{c4:.2f} A fitted to {min(frames, min(t.n_frames for t in runs))} frames"
                + (" of each run" if len(runs) > 1 else "") + " for the partition estimate (its basis, then one pass)")
            try:
                with warnings.catch_warnings():
                    # a fourth order fitted to the few frames of the error model: its fit's own statistics warnings,
                    # and what the run's own fit said already of its reference (the time average, not ideal sites)
                    warnings.filterwarnings("ignore", message=r"(under-determined|ill-conditioned) fit|the reference "
                                            r"is not an ideal crystal|.*sublattice \(primitive atom \d+\) sits",
                                            category=UserWarning)
                    # measured from the sites the run's fit settled at, where its mean sites had moved: the offset
                    # is the fit's (measured over every frame and said once), not measured again from these few
                    # frames (it was said twice, 0.0088 A at 30 standard errors, then 0.0080 A at 7)
                    settled = getattr(fit, "sites_reference_", None)
                    if settled is None:              # the run's own crystal, where it left its reference's
                        settled = getattr(fit, "run_reference_", None)
                    em_runs = [_from_fit_average(t, fit) if settled is None else t.with_reference(settled)
                               for t in runs]
                    # the crystal decided by the run's own fit: not looked for again (keep_reference)
                    em = EffectiveForceConstants(cutoff2=fit.cutoff2, cutoff3=c4, cutoff4=c4, mode="sequential",
                                                 symprec=fit.symprec, n_frames=frames, allow_p1=fit.allow_p1,
                                                 keep_reference=True).fit(em_runs if len(em_runs) > 1 else em_runs[0])
                quartic = ForceConstants(fit.fc2_, fit.supercell_, fit.primitive_, smap=fit.smap_, p2s=fit.p2s_,
                                         fc4=em.fc4_)
                used = int(em.scores_.n_frames) // len(runs)
            except (ValueError, MemoryError) as exc:
                notes.append(f"the fourth order of the error model (cutoff {c4:g} A) could not be fitted: {exc}")
    return ErrorModelInputs(frozen=frozen, quartic=quartic, cutoff4=c4, energy_conserved=conserved, share=share,
                            sigma_a=sigma_a, notes=tuple(notes), seconds=time.perf_counter() - t0,
                            fourth_order_frames=used, ensemble_from=ensemble_from)


def run_frequency_errors(fit, qpoints, inputs: ErrorModelInputs | None = None, dnu_dT=None,
                         dnu_dT_source: str = "") -> RunFrequencyErrors:
    """A run's frequencies at ``qpoints`` with the error bars of the estimate calibrated for it (module docstring),
    or, where none can be had, the bootstrap's with the statement that they are a lower bound.

    Parameters
    ----------
    fit : EffectiveForceConstants
        Fitted and bootstrapped.
    qpoints : array_like (nq, 3)
        The q-points, reduced coordinates of the primitive reciprocal lattice (no 2 pi).
    inputs : ErrorModelInputs, optional
        :func:`error_model_inputs` of the run; None: not measured, and the bootstrap (with the temperature term given
        ``dnu_dT``) is marked as a lower bound.
    dnu_dT : array_like (nq, 3n), optional
        THz/K: from the runs of a series at the same volume, or :func:`~trajmodes.phonons.thermodynamics.uncertainty.classical_dnu_dT`
        with :func:`static_frequencies`.
    dnu_dT_source : str
        Where ``dnu_dT`` came from, for the reason.

    Returns
    -------
    RunFrequencyErrors
    """
    from trajmodes.phonons.thermodynamics.uncertainty import frequencies_with_errors
    q = np.atleast_2d(np.asarray(qpoints, float))
    notes = list(inputs.notes) if inputs is not None else ["the run was not projected on its modes "
                                                           "(error_model=\"bootstrap\", or a series built from fits "
                                                           "alone)"]
    conserved = inputs.energy_conserved if inputs is not None else (
        bool(fit.energy_conserved_) if np.isfinite(fit.energies_.get("potential", np.nan)) else None)
    T = float(fit.temperature_)
    t_err = float(getattr(fit, "temperature_ensemble_err_", fit.temperature_err_))
    if conserved and not getattr(fit, "energy_conserved_", False) and np.isfinite(T):
        t_err = float(np.hypot(fit.temperature_err_, T / np.sqrt(3 * fit.supercell_.n_atoms - 3)))
    kw = dict(temperature_err=t_err, thermostatted=None if conserved is None else not conserved)
    slope = f"d nu / dT {dnu_dT_source}".rstrip() if dnu_dT is not None else ""
    nve = "NVE (as " + (f"{inputs.ensemble_from} says)" if inputs is not None and inputs.ensemble_from else
                        "its total energy shows)" if np.isfinite(fit.energies_.get("potential", np.nan)) else
                        "the variance of its kinetic energy shows)")
    no_slope = ("no d nu / dT (a single temperature at this volume: give runs at neighbouring temperatures of the "
                "same volume, or the static crystal's force constants: `--static` of trajmodes series, `--compare` "
                "of fit and run)")
    if inputs is None or inputs.frozen is None:
        res = frequencies_with_errors(fit, q, dnu_dT=dnu_dT, **kw)
        model = "bootstrap+temperature" if dnu_dT is not None else "bootstrap"
        return RunFrequencyErrors(res, model, True, "; ".join(notes + [
            "the bootstrap is calibrated only for runs whose modes exchange their energies (a stochastic thermostat)"]))
    share = f"frozen share of the mean-square displacement {inputs.share:.2f}"
    if inputs.exchanging:
        res = frequencies_with_errors(fit, q, dnu_dT=dnu_dT, **kw)
        model = "bootstrap+temperature" if dnu_dT is not None else "bootstrap"
        if inputs.sigma_a > SIGMA_A_LIMIT:
            return RunFrequencyErrors(res, model, True, f"{strongly_anharmonic(inputs.sigma_a)}; the modes exchanged "
                                      f"their energies over the run ({share}), but the blocking bootstrap"
                                      + (f" with {slope}" if slope else "") + " was not calibrated on crystals this "
                                      "anharmonic")
        if conserved and dnu_dT is None:
            return RunFrequencyErrors(res, model, True, f"the modes exchanged their energies ({share}), but the run "
                                      f"is {nve}: its energy is one canonical draw, T / sqrt(3N - 3) = "
                                      f"{T / np.sqrt(3 * fit.supercell_.n_atoms - 3):.1f} K, and {no_slope}")
        return RunFrequencyErrors(res, model, False, f"the modes exchanged their energies over the run ({share}): the "
                                  "blocking bootstrap is calibrated" + (f", with {slope}" if slope else ""))
    kept = f"the modes kept their energies over the run ({share})"
    if inputs.sigma_a > SIGMA_A_LIMIT:
        res = frequencies_with_errors(fit, q, dnu_dT=dnu_dT, **kw)
        return RunFrequencyErrors(res, "bootstrap+temperature" if dnu_dT is not None else "bootstrap", True, (
            f"{strongly_anharmonic(inputs.sigma_a)}; {kept}, but the partition estimate is lowest order in the "
            "anharmonicity, so the bootstrap"
            + (f" with {slope}" if slope else "") + " is given"))
    if inputs.quartic is not None:
        res = frequencies_with_errors(fit, q, dnu_dT=dnu_dT, partition=inputs.frozen, quartic=inputs.quartic, **kw)
        if dnu_dT is None:
            return RunFrequencyErrors(res, "partition", True, f"{kept}: the quartic response by mode (fc4 within "
                                      f"{inputs.cutoff4:.2f} A) is included, but {no_slope}, so the temperature and "
                                      "net-slope terms are not")
        return RunFrequencyErrors(res, "partition", False, f"{kept}: the partition estimate, fc4 within "
                                  f"{inputs.cutoff4:.2f} A, {slope}")
    if dnu_dT is not None:
        res = frequencies_with_errors(fit, q, dnu_dT=dnu_dT, frozen_modes=True, **kw)
        return RunFrequencyErrors(res, "frozen modes", True, "; ".join(
            notes + [f"{kept}, but without their quartic response by mode the net slope alone is used (1.3-1.6 "
                     "times too small for Cu at 300 K)"]))
    res = frequencies_with_errors(fit, q, **kw)
    return RunFrequencyErrors(res, "bootstrap", True, "; ".join(notes + [f"{kept}, which the bootstrap cannot see",
                                                                          no_slope]))


#: the classical scaling of the shift from the static crystal holds while the shift of the eigenvalue is small beside
#: the eigenvalue: abs(nu^2 - nu0^2) / nu^2 below this at every frequency (a mode stabilised by anharmonicity, as the TA
#: of bcc Zr at N, fails it, and its slope from the static crystal is many times the one between runs)
STATIC_SHIFT_LIMIT = 0.5


def static_slope(fit, static, qpoints, nu=None):
    """d nu / dT (THz/K) of a run's frequencies at ``qpoints`` from the static crystal ``static`` by the classical
    scaling of the shift (:func:`~trajmodes.phonons.thermodynamics.uncertainty.classical_dnu_dT` with :func:`static_frequencies`)
    and an empty string; or None and why it does not apply: a run without a temperature, a static crystal of another
    volume or supercell, or a shift of the eigenvalue beyond :data:`STATIC_SHIFT_LIMIT` of it (lowest order no
    longer holds).

    Parameters
    ----------
    fit : EffectiveForceConstants
        The run's fit, with its kinetic temperature (K) and supercell.
    static : ForceConstants
        The static (0 K) crystal's constants, eV/Å², at the run's volume.
    qpoints : array_like (nq, 3)
        Reduced q (no 2 pi).
    nu : array_like (nq, 3n), optional
        The run's frequencies at ``qpoints``, THz; default those of its fitted harmonic constants.
    """
    from trajmodes.phonons.harmonic.phonons import Phonons
    from trajmodes.phonons.thermodynamics.uncertainty import classical_dnu_dT
    q = np.atleast_2d(np.asarray(qpoints, float))
    if not np.isfinite(float(fit.temperature_)):
        return None, "the run has no kinetic temperature (no velocities) to scale the static crystal's shift with"
    v0 = abs(np.linalg.det(static.supercell.cell)) / static.supercell.n_atoms
    v = abs(np.linalg.det(fit.supercell_.cell)) / fit.supercell_.n_atoms
    if abs(v0 / v - 1) >= 1e-3:
        return None, (f"the static crystal's volume ({v0:.4f} A^3/atom) is not the run's ({v:.4f}): its d nu / dT "
                      "does not apply")
    nu = Phonons(fit.harmonic_force_constants_).frequencies(q) if nu is None else np.asarray(nu, float)
    try:
        nu0 = static_frequencies(fit, static, q)
    except ValueError as exc:                       # another crystal, or a supercell that does not fold onto the run's
        return None, f"the static crystal does not fit the run's supercell ({exc})"
    big = np.abs(nu) > 0.1
    shift = np.abs(np.sign(nu) * nu ** 2 - np.sign(nu0) * nu0 ** 2)[big] / nu[big] ** 2
    if shift.size and shift.max() > STATIC_SHIFT_LIMIT:
        k = np.argmax(np.where(big, np.abs(np.sign(nu) * nu ** 2 - np.sign(nu0) * nu0 ** 2) / np.maximum(nu ** 2,
                                                                                                    1e-30), 0))
        i, b = np.unravel_index(k, nu.shape)
        return None, (f"the shift from the static crystal is not small ({nu0[i, b]:.3g} -> {nu[i, b]:.3g} THz at q "
                      f"{np.round(q[i], 4).tolist()}: the eigenvalue moves by {shift.max():.3g} of itself), so its "
                      "classical scaling, and the d nu / dT from it, do not hold")
    return classical_dnu_dT(nu, nu0, float(fit.temperature_)), ""


def static_frequencies(fit, static, qpoints) -> np.ndarray:
    """Frequencies (THz) of the static crystal's force constants ``static`` in the model of ``fit``: its order-2
    basis and cutoff fitted to the exact harmonic forces -Phi u of random displacements u on the fit's supercell, so
    that nu^2 - nu0^2 holds the shift and not the truncation of the model (the frequencies of
    :func:`~trajmodes.phonons.thermodynamics.uncertainty.classical_dnu_dT`).

    Parameters
    ----------
    fit : EffectiveForceConstants
        The run's fit, whose order-2 basis, cutoff and supercell are used.
    static : ForceConstants
        The static crystal's constants, eV/Å², on the fit's supercell or on a multiple of it (folded onto it); it
        may be dynamically unstable (imaginary frequencies negative).
    qpoints : array_like (nq, 3)
        Reduced q (no 2 pi).
    """
    from trajmodes.forceconstants.fit import EffectiveForceConstants
    from trajmodes.phonons.harmonic.phonons import Phonons
    compact = static.folded_fc2(fit.supercell_, fit.p2s_)
    full = ForceConstants(compact, fit.supercell_, fit.primitive_, smap=fit.smap_, p2s=fit.p2s_).full()
    N = fit.supercell_.n_atoms
    rng = np.random.default_rng(0)
    frames = max(8, -(-4 * fit.bases_[2].n_params // (3 * N)))
    u = rng.normal(0.0, 0.01, (frames, N, 3))
    f = -np.einsum("ijab,tjb->tia", full, u)
    basis = fit.bases_[2]
    model = EffectiveForceConstants(cutoff2=fit.cutoff2, symprec=fit.symprec, segments=4, folds=1,
                                    build_basis=lambda *a, **k: basis).fit_arrays(fit.supercell_, u, f)
    return Phonons(model.harmonic_force_constants_).frequencies(np.atleast_2d(np.asarray(qpoints, float)))


@dataclass(frozen=True)
class SeriesFrequencyErrors:
    """The frequencies of every run of a series with the error bars of each run's error model
    (:func:`series_frequency_errors`); arrays (run, q, branch) in THz unless said.

    Parameters
    ----------
    frequency, frequency_err, bootstrap_err, temperature_term, partition_term, net_slope_term : ndarray
        As :class:`~trajmodes.phonons.thermodynamics.uncertainty.FrequenciesWithErrors`.
    dnu_dT, dnu_dT_err : ndarray
        THz/K: the d nu / dT used (NaN where none) and its standard error (from the runs' errors; zero from the
        static crystal).
    model, reason : list of str
        Per run: its error model (a key of :data:`MODELS`) and why.
    lower_bound : ndarray of bool (run,)
        True for a run whose error bars are lower bounds (no calibrated error model applies to it).
    share : ndarray (run,)
        :func:`frozen_share` (NaN without the projection).
    energy_conserved : ndarray of int (run,)
        1 NVE, 0 thermostatted, -1 unknown.
    """

    frequency: np.ndarray
    frequency_err: np.ndarray
    bootstrap_err: np.ndarray
    temperature_term: np.ndarray
    partition_term: np.ndarray
    net_slope_term: np.ndarray
    dnu_dT: np.ndarray
    dnu_dT_err: np.ndarray
    model: list
    reason: list
    lower_bound: np.ndarray
    share: np.ndarray
    energy_conserved: np.ndarray


def series_frequency_errors(fits, temperatures, qpoints, error_inputs=None, static=None) -> SeriesFrequencyErrors:
    """Every run's frequencies at ``qpoints`` with the error bars of :func:`run_frequency_errors`, d nu / dT from the
    runs at the same volume (:func:`~trajmodes.series.thermodynamics.temperature_slopes`) or, for a run without
    neighbours in temperature, from the static crystal ``static`` (:func:`static_frequencies` and
    :func:`~trajmodes.phonons.thermodynamics.uncertainty.classical_dnu_dT`).

    A slope between runs close in temperature is dominated by their errors, and its square would add their noise to
    the temperature term: the square used is the slope's squared minus its variance (its unbiased estimate, clipped
    at zero), the variance from each run's error without the temperature term.

    Parameters
    ----------
    fits : list of EffectiveForceConstants
        Fitted and bootstrapped.
    temperatures : array_like (run,)
        Temperature of each run, K (the runs' order).
    qpoints : array_like (nq, 3) or (run, nq, 3)
        Reduced; one set per run where the runs' primitive cells are different bases of the crystal (the same points
        of the zone in each run's basis, :func:`~trajmodes.lattice.qpoints.qpoints_in`).
    error_inputs : list of ErrorModelInputs or None, optional
        Per run (:func:`error_model_inputs`); None: not measured.
    static : ForceConstants, optional
        The static (0 K) crystal's force constants at the runs' volume.

    Returns
    -------
    SeriesFrequencyErrors
    """
    from trajmodes.series.thermodynamics import temperature_slope_errors, temperature_slopes
    T = np.asarray(temperatures, float)
    n = len(fits)
    qs = np.asarray(qpoints, float)
    qs = qs if qs.ndim == 3 else np.broadcast_to(np.atleast_2d(qs), (n,) + np.atleast_2d(qs).shape)
    inputs = list(error_inputs) if error_inputs is not None else [None] * n
    first = [run_frequency_errors(f, q, x) for f, q, x in zip(fits, qs, inputs)]
    nu = np.array([r.result.frequency for r in first])
    e0 = np.array([r.result.frequency_err for r in first])
    vol = np.array([abs(np.linalg.det(f.supercell_.cell)) / f.supercell_.n_atoms for f in fits])
    d, de = temperature_slopes(T, vol, nu), temperature_slope_errors(T, vol, e0)
    used, used_err, source, why = np.full_like(nu, np.nan), np.full_like(nu, np.nan), [""] * n, [""] * n
    for i, f in enumerate(fits):
        if np.isfinite(de[i]).all():
            used[i] = np.sign(d[i]) * np.sqrt(np.maximum(d[i] ** 2 - de[i] ** 2, 0.0))
            used_err[i] = de[i]
            source[i] = "from the runs at the same volume"
        elif static is not None:
            d_static, why[i] = static_slope(f, static, qs[i], nu[i])
            if d_static is not None:
                used[i], used_err[i] = d_static, 0.0
                source[i] = "from the static crystal (classical scaling of the shift)"
    out = [run_frequency_errors(f, qs[i], x, dnu_dT=used[i] if source[i] else None, dnu_dT_source=source[i])
           if source[i] else first[i] for i, (f, x) in enumerate(zip(fits, inputs))]
    out = [r if not why[i] or not r.lower_bound else
           RunFrequencyErrors(r.result, r.model, True, f"{r.reason}; {why[i]}") for i, r in enumerate(out)]
    res = [r.result for r in out]
    stack = {k: np.array([getattr(r, k) for r in res]) for k in ("frequency", "frequency_err", "bootstrap_err",
                                                                  "temperature_term", "partition_term",
                                                                  "net_slope_term")}
    conserved = [(-1 if x is None or x.energy_conserved is None else int(x.energy_conserved)) if x is not None else
                 (int(bool(f.energy_conserved_)) if np.isfinite(f.energies_.get("potential", np.nan)) else -1)
                 for f, x in zip(fits, inputs)]
    return SeriesFrequencyErrors(**stack, dnu_dT=used, dnu_dT_err=used_err, model=[r.model for r in out],
                                 reason=[r.reason for r in out], lower_bound=np.array([r.lower_bound for r in out]),
                                 share=np.array([np.nan if x is None else x.share for x in inputs]),
                                 energy_conserved=np.array(conserved, dtype=np.int8))


def error_model_variables(errors: SeriesFrequencyErrors, nq: int, names) -> dict:
    """The dataset variables of a series' error bars (:func:`series_frequency_errors` at the ``nq`` tabulated q-points
    followed by the band path): ``frequency_err`` and ``path_frequency_err`` with the attributes ``error_model``,
    ``error_is_lower_bound`` and ``error_lower_bound_reason``, the parts of the error, d nu / dT, and per run
    ``error_model``, ``error_is_lower_bound``, ``error_model_reason``, ``error_bars`` (:func:`error_bar_label`),
    ``frozen_share`` and ``energy_conserved``.

    Parameters
    ----------
    errors : SeriesFrequencyErrors
        The series' error bars (:func:`series_frequency_errors`).
    nq : int
        The tabulated q-points; the band path's follow them.
    names : sequence of str
        The runs' names.
    """
    frequency_units, dims, path = {"units": "THz"}, ("run", "q", "branch"), ("run", "path_q", "branch")
    models = list(dict.fromkeys(errors.model))
    lower = np.asarray(errors.lower_bound, bool)
    attrs = dict(frequency_units, error_model=models[0] if len(models) == 1 else
                 "per run: " + ", ".join(f"{n}: {m}" for n, m in zip(names, errors.model)),
                 error_model_description="; ".join(f"{m}: {MODELS[m]}" for m in models),
                 error_is_lower_bound=int(lower.any()),
                 error_lower_bound_reason="; ".join(f"{n}: {r}" for n, r, b in zip(names, errors.reason, lower) if b))
    e = errors
    part = dict(frequency_units, long_name="part of frequency_err")
    return {
        "frequency_err": (dims, e.frequency_err[:, :nq], dict(attrs, long_name="standard error of the effective "
                                                              "frequency (the run's error model, error_model)")),
        "path_frequency_err": (path, e.frequency_err[:, nq:], dict(attrs, long_name="standard error (the run's error "
                                                                   "model, error_model)")),
        "frequency_bootstrap_err": (dims, e.bootstrap_err[:, :nq], dict(part, long_name=(
            "block bootstrap of the run's time segments scaled to its blocking plateau (part of frequency_err)"))),
        "frequency_temperature_err": (dims, e.temperature_term[:, :nq], dict(part, long_name=(
            "|d nu / dT| times the error of the run's temperature (in NVE with the canonical draw of its energy)"))),
        "frequency_partition_err": (dims, e.partition_term[:, :nq], dict(part, long_name=(
            "quartic response to the energy each set of modes kept over the run (partition model)"))),
        "frequency_net_slope_err": (dims, e.net_slope_term[:, :nq], dict(part, long_name=(
            "|d nu / dT| times the temperature of the frozen mean-square displacement (partition model: "
            "frequency_err^2 = bootstrap^2 + max(partition^2 + temperature^2, net_slope^2))"))),
        "dnu_dT": (dims, e.dnu_dT[:, :nq], {"units": "THz/K", "long_name": "d nu / dT used by the error model (NaN: "
                                                                          "none)"}),
        "dnu_dT_err": (dims, e.dnu_dT_err[:, :nq], {"units": "THz/K", "long_name": "standard error of d nu / dT"}),
        "error_model": ("run", np.array(e.model, dtype=str), {"long_name": "which estimate frequency_err is",
                                                               "models": "; ".join(f"{k}: {v}"
                                                                                   for k, v in MODELS.items())}),
        "error_is_lower_bound": ("run", lower, {"long_name": "no calibrated estimate applies: frequency_err is a "
                                                             "lower bound (error_model_reason says why)"}),
        "error_model_reason": ("run", np.array(e.reason, dtype=str), {"long_name": "why the error model applies"}),
        "error_bars": ("run", np.array([error_bar_label(b, r) for b, r in zip(lower, e.reason)], dtype=str),
                       {"long_name": "what frequency_err is: calibrated (why) or lower bound (why)"}),
        "frozen_share": ("run", e.share, {"units": "1", "long_name": "frozen share of the mean-square displacement "
                                                                    "(0: the modes exchanged their energies over the "
                                                                    "run; 1: they kept them)"}),
        "energy_conserved": ("run", e.energy_conserved, {"units": "1", "long_name": "1: constant energy (NVE), 0: "
                                                                                   "thermostatted, -1: unknown"}),
    }
