"""``trajmodes run``: a run's netCDF cache and summary in one pass over the dump, the cache reused while it was
written from the same inputs, the displacements from the run's time average summed in the fit's pass, and its
effective force constants.

Settings in, a result out: :class:`RunSettings` -> :func:`run` -> :class:`RunResult`, whose ``write(folder)`` writes
the command's files with their provenance. The command line takes the same steps one by one, so that the summary's
files are in place before the fit starts: :func:`read_once` (the cache), :func:`summary_of_run` (its
:class:`RunSummary`), :func:`~trajmodes.workflows.fit.fit_runs`; it prints what they found.
"""
from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from trajmodes.workflows.fit import FitSettings


@dataclass
class RunRead:
    """The run read once (:func:`read_once`).

    Attributes
    ----------
    traj : Trajectory
        The run as read (its reference the time average stored in the cache where that was to be taken).
    cached : Trajectory
        The run read from its cache: every later pass reads this.
    reused : bool
        Whether a cache written from the same inputs was reused (nothing parsed from the dump).
    note : str
        How the summary's sums were had, with their time (for the summary's last line).
    pending : PassResult or None
        The displacements from the time average, still to be summed where they were added to :attr:`reading` (the
        fit's): :meth:`summary_values` is complete after it.
    reading : Pass or None
        The pass of ``cached`` that :attr:`pending` was added to, for the fit to compute
        (:func:`~trajmodes.workflows.fit.fit_runs` ``reading=``); None where nothing waits on a pass.
    """

    traj: object
    cached: object
    reused: bool
    note: str
    pending: object = None
    values: dict = field(default_factory=dict)
    reading: object = None

    @property
    def temperature(self) -> float | None:
        """The run's mean kinetic temperature, K (None without velocities)."""
        return float(np.mean(self.values["temperature"])) if "temperature" in self.values else None

    def summary_values(self) -> dict:
        """The summary's sums (:func:`~trajmodes.trajectory.summary.summary_dataset`), with those of the pass they
        were added to (after it)."""
        if self.pending is not None:
            self.values.update(self.pending.value)
            self.pending = None
        return self.values


def read_once(traj, settings: "RunSettings", out=None, *, fit: bool = False, reuse: bool | None = None) -> RunRead:
    """Read the run ``traj`` once: write its netCDF cache (:attr:`RunSettings.cache`, through the outputs ``out`` a
    command stages, kept in place once whole whatever happens later; default written in place) and sum its summary in
    the same pass, or reuse the cache where it holds every frame and was written from the same inputs
    (:meth:`RunSettings.fingerprint`) and sum the summary from it. Where the reference is the time average still to
    be taken, it is summed in that pass and stored in the cache, and the displacements from it are summed in a read of
    the cache: the fit's where there is one (``fit``: added to the cache's next pass), else one of their own.

    Parameters
    ----------
    settings : RunSettings
        The cache's place, the reading options (its fingerprint and provenance) and the frames per task of its read.
    out : StagedOutputs, optional
        The outputs of a command (:func:`~trajmodes.workflows.outputs.staged_outputs`).
    reuse : bool, optional
        Whether the cache may be reused, where the caller asked :meth:`RunSettings.reusable` already (default: asked
        here).
    """
    import dask
    from trajmodes.trajectory.passes import Terms
    from trajmodes.trajectory.reading import read
    from trajmodes.trajectory.summary import summary_terms
    from trajmodes.workflows.outputs import direct_outputs, provenance
    from trajmodes.trajectory.summary import check_temperatures
    out = direct_outputs(out)
    cache, chunk_frames = settings.cache, settings.chunk_frames
    fingerprint = settings.fingerprint(traj)
    inputs = settings.inputs(traj)
    known = traj.reference_known
    t0 = time.perf_counter()
    if settings.reusable(traj) if reuse is None else reuse:
        cached = read(cache, format="netcdf", chunk_frames=chunk_frames)
        if not known:
            traj = traj.with_reference(cached.reference)      # the time average the cache stores
        values = dask.compute(summary_terms(cached, displacements=known))[0]
        note = f"statistics summed from the kept cache, {time.perf_counter() - t0:.2f} s"
        reused = True
    else:
        def attrs(v):                    # the provenance with the run's temperature; the fingerprint last: whole
            T = float(v["temperature"].mean()) if "temperature" in v else None
            return dict(provenance(inputs, settings.read, temperature=T), source_fingerprint=fingerprint)
        values = traj.to_netcdf(out(cache), attrs=attrs,
                                statistics=lambda t, layer: summary_terms(t, layer, displacements=t.reference_known))
        note = f"statistics summed while writing the cache, {time.perf_counter() - t0:.2f} s"
        out.keep(cache)
        cached = read(cache, format="netcdf", chunk_frames=chunk_frames)
        if not known:
            traj = traj.with_average(cached.reference)        # the time average the pass took, stored in the cache
        reused = False
    result = RunRead(traj, cached, reused, note, values=values)
    check_temperatures(traj, values)                  # the velocities' unit, before any fit
    if not known:                                     # the displacements from the average: a read of the cache
        if fit:
            result.reading = cached.read_pass()
            result.pending = result.reading.add(Terms(cached, lambda run, layer: summary_terms(run, layer,
                                                                                            frame=False)))
            result.note += "; the displacements from the time average in the fit's read of the cache"
        else:
            t1 = time.perf_counter()
            values.update(dask.compute(summary_terms(cached, ("positions",), frame=False))[0])
            result.note += (f"; the displacements from the time average in a read of the cache, "
                            f"{time.perf_counter() - t1:.2f} s")
    return result


def decided(traj) -> str:
    """What the reader decided from files other than the trajectory's own (a LAMMPS input or log beside the dump,
    the data file its ``read_data`` names): the frame times, the MD time step, the masses and species, as one
    string of digests. A cache is reused only while these are what a read of the inputs gives now, so an edited
    ``timestep`` or ``mass`` beside the dump writes the cache again."""
    import hashlib

    def digest(x) -> str:
        return "none" if x is None else hashlib.sha1(np.ascontiguousarray(np.asarray(x)).tobytes()).hexdigest()[:16]
    return (f"times {digest(np.asarray(traj.times, float))}, md_timestep {traj.md_timestep!r}, "
            f"masses {digest(None if traj.masses is None else np.asarray(traj.masses, float))}, "
            f"species {digest(np.asarray(traj.species, str))}, units {getattr(traj.source, 'units', '')}")


def reusable_cache(cache: str, fingerprint: str, n_frames: int) -> bool:
    """Whether ``cache`` is a complete netCDF cache of ``trajmodes run`` written from the same inputs with the same
    reading options (its ``source_fingerprint``, :func:`~trajmodes.io.filesystem.source_fingerprint`) holding
    ``n_frames`` frames. Caches are written under a temporary name and renamed when complete, and the fingerprint is
    the last attribute written, so a cache with it is whole."""
    if not os.path.isfile(cache):
        return False
    try:
        import netCDF4
        with netCDF4.Dataset(cache) as ds:
            return (str(getattr(ds, "source_fingerprint", "")) == fingerprint and "time" in ds.dimensions
                    and len(ds.dimensions["time"]) == n_frames)
    except OSError:
        return False


@dataclass(frozen=True)
class RunSettings:
    """The settings of ``trajmodes run``, built once from the command's options (or in Python) and taken by
    :func:`run` (and its steps, :func:`read_once`, :meth:`RunRead.summary`).

    Parameters
    ----------
    output : str
        The folder of the run's netCDF cache, trajectory.nc (reused by the next run from the same inputs).
    fit : FitSettings or None
        The effective force constants' settings (:class:`~trajmodes.workflows.fit.FitSettings`, default the fit's
        defaults); None: no fit (``--no-fit``).
    read : mapping
        The options the run was read with (reference, units, time step, species, masses): the cache's fingerprint
        and every file's provenance.
    reference, thermo
        The reference structure file and the LAMMPS logs read beside the run (input files of the provenance).
    chunk_frames : int, optional
        Frames per task when reading the cache.
    plot_format : {"png", "pdf", "svg"}
        The format of the summary's figure (the fit's is ``fit.plot_format``).
    """

    output: str = "trajmodes-out"
    fit: FitSettings | None = field(default_factory=FitSettings)
    read: Mapping = field(default_factory=dict)
    reference: str | None = None
    thermo: tuple = ()
    chunk_frames: int | None = None
    plot_format: str = "png"

    @property
    def cache(self) -> str:
        """The run's netCDF cache, ``output/trajectory.nc``."""
        return os.path.join(os.fspath(self.output), "trajectory.nc")

    def inputs(self, traj) -> list:
        """The files a result from ``traj`` is computed from: the run's, the reference structure file and the thermo
        logs (the provenance's ``inputs``).

        Parameters
        ----------
        traj : Trajectory
            The run opened from these settings.
        """
        ref = [self.reference] if self.reference and os.path.isfile(self.reference) else []
        return [*traj.source.paths, *ref, *self.thermo]

    def fingerprint(self, traj) -> str:
        """What identifies the cache of ``traj``: its input files as they are now, the reading options and what the
        reader decided from other files (:func:`decided`).

        Parameters
        ----------
        traj : Trajectory
            The run opened from these settings.
        """
        from trajmodes.io.filesystem import source_fingerprint
        return source_fingerprint(self.inputs(traj), settings=repr(sorted((k, str(v)) for k, v in self.read.items()))
                                  + "; " + decided(traj))

    def reusable(self, traj) -> bool:
        """Whether :attr:`cache` is a complete cache of ``traj`` written from the same inputs (:func:`reusable_cache`).

        Parameters
        ----------
        traj : Trajectory
            The run opened from these settings.
        """
        return reusable_cache(self.cache, self.fingerprint(traj), traj.n_frames)


@dataclass(frozen=True)
class RunSummary:
    """A run's summary (:func:`~trajmodes.trajectory.summary.summary_dataset`) and the files it writes.

    Parameters
    ----------
    dataset : xarray.Dataset
        Temperature, volume, pressure, energies per frame; mean-square displacements by species, drift.
    title : str
        What the run is (the figure's title).
    attrs : dict
        The provenance of summary.nc.
    plot_format : str
        The figure's format.
    """

    dataset: object
    title: str
    attrs: dict
    plot_format: str = "png"

    def write(self, folder, out=None) -> list:
        """Write summary.nc and its figure summary.PLOT_FORMAT into ``folder``; returns their paths.

        Parameters
        ----------
        folder : str or os.PathLike
            Where the files go.
        out : callable, optional
            The outputs a command stages (a path -> the path to write); default in place.
        """
        from trajmodes.plots import plot_summary
        from trajmodes.workflows.outputs import direct_outputs, write_dataset
        out = direct_outputs(out)
        summary = write_dataset(self.dataset, os.path.join(os.fspath(folder), "summary.nc"), out, self.attrs)
        png = os.path.join(os.fspath(folder), f"summary.{self.plot_format}")
        plot_summary(self.dataset, out(png), title=self.title)
        return [summary, png]


def summary_of_run(run: RunRead, settings: RunSettings) -> RunSummary:
    """The summary of the run read once (its sums complete: after the fit's pass where they joined it), with the
    provenance of its file."""
    from trajmodes.workflows.outputs import provenance
    from trajmodes.trajectory.summary import summary_dataset
    attrs = provenance(settings.inputs(run.traj), settings.read, temperature=run.temperature)
    return RunSummary(summary_dataset(run.traj, run.summary_values()), run.traj.source.describe(), attrs,
                      settings.plot_format)


@dataclass(frozen=True)
class RunResult:
    """What :func:`run` found: the run read once (its cache written), its summary and, with forces, its effective
    force constants (:class:`~trajmodes.workflows.fit.FitOutputs`, None without a fit).

    Parameters
    ----------
    read : RunRead
        The run read once: its trajectory and the cache every later pass reads.
    summary : RunSummary
        Temperature, volume, pressure and energies per frame and the mean-square displacements, with the figure's
        title.
    fit : FitOutputs or None
        The effective force constants and their dispersion where the run has forces, else None.
    """

    read: RunRead
    summary: RunSummary
    fit: object = None

    def write(self, folder, out=None) -> list:
        """Write summary.nc, the summary's figure and, with a fit, fc.nc, fc.scores.nc, fc.cutoffs.nc and the
        dispersion figure into ``folder`` (the cache is written by the read, in :attr:`RunSettings.output`); returns
        their paths.

        Parameters
        ----------
        folder : str or os.PathLike
            Where the files go.
        out : callable, optional
            The outputs a command stages (a path -> the path to write); default in place.
        """
        written = self.summary.write(folder, out)
        return written + ([] if self.fit is None else self.fit.write(folder, out))


def run(traj, settings: RunSettings | None = None, *, beads=None, out=None) -> RunResult:
    """``trajmodes run``: the run ``traj`` read once (its cache written and its summary summed, :func:`read_once`),
    and with forces and ``settings.fit`` its effective force constants
    (:func:`~trajmodes.workflows.fit.fit_runs`); :meth:`RunResult.write` writes the files.

    Parameters
    ----------
    traj : Trajectory
        The run (a path-integral run's centroid, with ``beads`` the run).
    settings : RunSettings, optional
        Default: the command's defaults (the cache in ``trajmodes-out``, the fit's defaults).
    beads : PathIntegralRun, optional
        A path-integral run: its constants are fitted over its beads (the quantum ensemble), a read of its own.
    out : StagedOutputs, optional
        The outputs of a command: the cache is written through them.
    """
    from trajmodes.workflows.fit import fit_runs
    settings = RunSettings() if settings is None else settings
    fit = settings.fit is not None and traj.forces is not None
    read = read_once(traj, settings, out, fit=fit and beads is None)
    fitted = None
    if fit and beads is not None:
        fitted = fit_runs([beads.pooled], settings.fit, inputs=settings.inputs(read.traj),
                          temperature=beads.require_temperature("the fit of a path-integral run"))
    elif fit:
        fitted = fit_runs([read.traj], settings.fit, fitted=[read.cached], temperature=read.temperature,
                          inputs=settings.inputs(read.traj), reading=read.reading)
    return RunResult(read, summary_of_run(read, settings), fitted)


__all__ = ["RunRead", "RunSettings", "RunSummary", "RunResult", "run", "read_once", "summary_of_run", "decided",
           "reusable_cache"]
