"""Error bars of the force-constant fit without a second pass over the frames: the block bootstrap of the time
segments' normal equations (:mod:`trajmodes.forceconstants.uncertainty`), as :class:`BlockBootstrap`, a base of
:class:`~trajmodes.forceconstants.fit.EffectiveForceConstants`.
"""
from __future__ import annotations

import warnings
from typing import TypeVar

import numpy as np

from trajmodes.forceconstants.averages import mean_energies

__all__ = ["BlockBootstrap"]

#: the estimator :meth:`BlockBootstrap.bootstrap` is called on and returns
#: (:class:`~trajmodes.forceconstants.fit.EffectiveForceConstants`): a type variable, so that this base class names
#: its subclass without importing it
EstimatorT = TypeVar("EstimatorT", bound="BlockBootstrap")


class BlockBootstrap:
    """The block bootstrap of a fitted estimator (on its ``segments_``, ``params_``, ``bases_``, ``kernel_``,
    ``energies_``, ``temperature_``, ``supercell_`` and its settings ``mode``, ``rcond``, ``fc2``)."""

    def bootstrap(self: EstimatorT, n_resamples: int = 200, seed: int | None = 0) -> EstimatorT:
        """Error bars of every parameter and of :attr:`energies_` by the block bootstrap of the time segments'
        normal equations (:mod:`trajmodes.forceconstants.uncertainty`): no pass over the frames.

        The segments are resampled with replacement and every resample solved. Segments shorter than the correlation
        time make that spread too small, so a blocking analysis (H. Flyvbjerg and H. G. Petersen, J. Chem. Phys. 91,
        461 (1989)) of the segments' linearised contributions to the order-2 parameters
        (:func:`~trajmodes.forceconstants.uncertainty.segment_influence`) measures the error as a function of block
        length, 1, 2, 4, ... segments, and takes it at its plateau; the resamples' spread about the fit is scaled by
        the ratio of that error to the segments' own (``blocking_ratio_``, at least 1), so every quantity computed
        from the resamples inherits it. The mean kinetic temperature gets the same analysis of its own.

        Sets ``params_samples_`` (dict order -> (n_resamples, P_o)), ``params_err_`` (dict order -> (P_o,),
        standard errors in the parameters' units), ``energies_samples_`` / ``energies_err_`` (eV per supercell),
        ``temperature_samples_`` / ``temperature_err_`` (K), and the diagnostics

        - ``blocking_ratio_``: error at the blocking plateau / error from the segments (the factor applied);
        - ``blocking_curve_``: (n_blocks, ratio) at every block length, the curve the plateau was read from;
        - ``blocking_converged_``: False when the error still rises at the longest blocks (at least 4 of them): the
          correlation time is then comparable with the run, and the error bars are lower bounds;
        - ``n_effective_``: the effective number of independent segments, n_segments / blocking_ratio_^2;
        - ``temperature_blocking_``: the same ratio for the mean kinetic temperature;
        - ``energy_conserved_`` and ``temperature_ensemble_err_`` (K): whether the run keeps its total energy (NVE),
          and then the error of its mean temperature as an estimate of the temperature it was prepared at, with the
          canonical draw of its energy included (otherwise equal to ``temperature_err_``);
        - ``error_bars_flagged_``: True when a warning was raised (ratio above
          :data:`~trajmodes.forceconstants.uncertainty.BLOCKING_WARN`, or no plateau).

        What a single run cannot show is a deviation that stays fixed over all of it: its temperature in NVE (set by
        the initial conditions), or its share of energy per mode in a small, nearly harmonic crystal under NVE or
        Nose-Hoover; runs that differ only in their seeds then scatter more than these error bars (docs/series.md).

        Parameters
        ----------
        n_resamples : int
            Bootstrap resamples (each one P x P solve per order).
        seed : int or None
            Seed of the resampling (None: fresh randomness).

        Returns
        -------
        self
        """
        from trajmodes.forceconstants.uncertainty import (BLOCKING_WARN, blocking_curve, blocking_plateau,
                                                          bootstrap_params, bootstrap_std, resample_counts, resampled,
                                                          scaled_samples, segment_influence)
        seg = self.segments_
        B = seg.n_blocks
        if B < 4:
            raise ValueError(f"the block bootstrap needs at least 4 time segments with frames, and this fit has {B} "
                             f"({int(seg.n_frames.sum())} frames, segments={self.segments}): fit with more segments "
                             "or more frames")
        orders = sorted(self.bases_)
        sizes, off = self.kernel_.sizes, self.kernel_.offsets         # the kernel's columns: orders side by side
        p_all = np.concatenate([self.params_[o] for o in orders])
        # blocking analysis of the segments' linearised contributions to the order-2 parameters
        nb, berr = blocking_curve(segment_influence(seg, p_all, sizes, self.mode)[:, :sizes[0]])
        factor, ratios, converged = blocking_plateau(nb, berr)
        self.blocking_ratio_ = float(factor)
        self.blocking_curve_ = np.stack([nb.astype(float), ratios], axis=1)
        self.blocking_converged_ = bool(converged)
        self.n_effective_ = float(B / factor ** 2)
        counts = resample_counts(B, n_resamples, seed)
        held = None if self.fc2 is None else (lambda G, b: self._solve_held(G, b, sizes)[0])   # fc3 only
        samples = scaled_samples(bootstrap_params(seg, counts, sizes, self.mode, self.rcond, held), factor, p_all)
        err = bootstrap_std(samples, B)
        self.params_samples_ = {o: samples[:, off[i]:off[i + 1]] for i, o in enumerate(orders)}
        self.params_err_ = {o: err[off[i]:off[i + 1]] for i, o in enumerate(orders)}
        res = resampled(seg, counts)
        p3, p4 = self.params_samples_.get(3), self.params_samples_.get(4)
        esamples = [mean_energies(res.select(r), samples[r, :sizes[0]], None if p3 is None else p3[r],
                                  None if p4 is None else p4[r]) for r in range(res.n_blocks)]
        self.energies_samples_ = {k: scaled_samples(np.array([e[k] for e in esamples]), factor, self.energies_[k])
                                  for k in self.energies_}               # the same blocking factor as the parameters
        self.energies_err_ = {k: float(bootstrap_std(v, B)) for k, v in self.energies_samples_.items()}
        # the kinetic temperature: its energy relaxes more slowly than the displacements decorrelate, and a run
        # whose mean temperature wanders shifts every effective frequency by d nu / dT times that
        tb = res.per_frame_mean("temperature")
        self.temperature_blocking_ = float("nan")
        if np.isfinite(self.temperature_):
            tseg = (seg.per_frame_mean("temperature") - self.temperature_) * seg.n_temperature \
                / float(seg.n_temperature.sum())                     # each segment's share of the mean's deviation
            tnb, terr = blocking_curve(tseg)
            self.temperature_blocking_, _, _ = blocking_plateau(tnb, terr, tolerance=2.0, rise=1.0)   # one series
            self.temperature_samples_ = scaled_samples(tb, self.temperature_blocking_, self.temperature_)
        else:
            self.temperature_samples_ = np.full(len(tb), np.nan)
        self.temperature_err_ = float(bootstrap_std(self.temperature_samples_, B))
        self.energy_conserved_, self.temperature_ensemble_err_ = self._temperature_draw(seg)
        per = int(seg.n_frames.sum()) // B
        self.error_bars_flagged_ = False
        if self.blocking_ratio_ > BLOCKING_WARN or not converged:
            self.error_bars_flagged_ = True
            what = (f"the frames are correlated over more than a segment: the error bars of the fit are "
                    f"{self.blocking_ratio_:.2f} times those of its {B} time segments ({per} frames each) at the "
                    "plateau of their blocking analysis, and have been scaled by it"
                    if converged else
                    f"the error of the fit still grows at the longest blocks of its blocking analysis (blocks of "
                    f"{int(B // nb[-1])} of its {B} time segments, ratio {self.blocking_ratio_:.2f}, applied): the "
                    "frames are correlated over more than a segment and over a time comparable with the run, so "
                    "these error bars are lower bounds")
            warnings.warn(what + f" (about {self.n_effective_:.1f} independent segments); use a longer run",
                          UserWarning, stacklevel=2)
        elif self.temperature_blocking_ > BLOCKING_WARN:
            self.error_bars_flagged_ = True
            warnings.warn(f"the error of the run's mean kinetic temperature ({self.temperature_:.1f} K) is "
                          f"{self.temperature_blocking_:.2f} times that of its {B} time segments at the plateau of "
                          f"their blocking analysis: the energy of the crystal relaxes more slowly than a segment "
                          f"({per} frames), and the run's temperature, and with it every effective frequency, wanders "
                          "more than the segments show; use a longer run", UserWarning, stacklevel=2)
        return self

    def _temperature_draw(self, seg) -> tuple[bool, float]:
        """Whether the run conserves its total energy (NVE), and the standard error of its mean kinetic temperature
        as an estimate of the temperature it was prepared at, K.

        The total energy of a segment is its mean potential energy plus (3N - 3) k_B T_s / 2 (N atoms, centre of
        mass at rest). When the segments' totals scatter by less than 5 % of the canonical energy fluctuation
        sqrt(3N - 3) k_B T the run is taken as NVE, started from a canonical state: its energy, and with it its
        temperature, is one canonical draw, with standard deviation T / sqrt(3N - 3) for a classical harmonic crystal
        (equipartition: the energy's variance is (3N - 3) (k_B T)^2 and T = E / ((3N - 3) k_B)), which no segment of
        the run sees. That draw is added in quadrature to :attr:`temperature_err_`; otherwise the two are equal."""
        from trajmodes.units import KB_EV
        T, err = float(self.temperature_), float(self.temperature_err_)
        if not np.isfinite(T) or np.any(seg.n_energy != seg.n_frames) or np.any(seg.n_temperature != seg.n_frames):
            return False, err
        dof = 3 * self.supercell_.n_atoms - 3
        e_tot = seg.per_frame_mean("energy") + 0.5 * dof * KB_EV * seg.per_frame_mean("temperature")
        conserved = bool(np.std(e_tot) < 0.05 * np.sqrt(dof) * KB_EV * T)
        return conserved, float(np.hypot(err, T / np.sqrt(dof))) if conserved else err

    def resampled_force_constants(self):
        """The :class:`ForceConstants` of every bootstrap resample (:meth:`bootstrap` first), one at a time."""
        if not hasattr(self, "params_samples_"):
            raise ValueError("no bootstrap resamples: call bootstrap() first")
        p2 = self.params_samples_[2]
        p3, p4 = self.params_samples_.get(3), self.params_samples_.get(4)
        for r in range(len(p2)):
            fc3 = None if p3 is None else self.bases_[3].to_compact(p3[r])
            fc4 = None if p4 is None else (self.bases_[4].sites, self.bases_[4].blocks(p4[r]))
            yield self._make_fc(self.bases_[2].to_compact(p2[r]), fc3, fc4)

    def run_length_for(self, error, current_error) -> np.ndarray:
        """Frames needed for a standard error ``error`` of a quantity whose error is ``current_error`` now.

        Error bars of averages over a run shrink as 1/sqrt(run length) once the run is longer than the correlation
        time, so the run must be (current_error / error)^2 times as long as the frames fitted now.
        """
        n = float(self.segments_.n_frames.sum())
        return np.ceil(n * (np.asarray(current_error, float) / float(error)) ** 2)
