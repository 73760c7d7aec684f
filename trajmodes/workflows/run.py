"""``trajmodes run``'s read of a run: its netCDF cache and summary in one pass over the dump, the cache reused while
it was written from the same inputs, and the displacements from the run's time average summed in the fit's pass.

:func:`read_once` does the reading; :meth:`RunRead.summary_values` gives the summary's sums once complete (after the
fit where they were added to its pass). The command line prints and draws them.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np


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
        The displacements from the time average, still to be summed where they were added to ``cached``'s next pass
        (the fit's): :meth:`summary_values` is complete after it.
    """

    traj: object
    cached: object
    reused: bool
    note: str
    pending: object = None
    values: dict = field(default_factory=dict)

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


def read_once(traj, cache: str, write_to: str, *, fingerprint: str, attrs, chunk_frames=None,
              fit: bool = False, keep=None, reuse: bool | None = None) -> RunRead:
    """Read the run ``traj`` once: write its netCDF cache ``cache`` (at ``write_to``, the path it is staged at) and
    sum its summary in the same pass, or reuse the cache where it holds every frame and was written from the same
    inputs (its ``source_fingerprint`` is ``fingerprint``, :func:`decided` included) and sum the summary from it.
    Where the reference is the time average still to be taken, it is summed in that pass and stored in the cache, and
    the displacements from it are summed in a read of the cache: the fit's where there is one (``fit``: added to the
    cache's next pass), else one of their own.

    Parameters
    ----------
    attrs : callable
        ``attrs(values)`` -> the cache's global attributes from the summary's computed sums (the provenance with the
        run's temperature); the fingerprint is added last (a cache with it is whole).
    chunk_frames : int, optional
        Frames per task when reading the cache.
    keep : callable, optional
        Called once the cache is written whole, to move it from ``write_to`` to ``cache`` (a staged output kept
        whatever happens later); the frames are then read from ``cache``.
    reuse : bool, optional
        Whether the cache may be reused, where the caller asked :func:`reusable_cache` already (default: asked here).
    """
    import dask
    from trajmodes.trajectory.passes import Terms
    from trajmodes.trajectory.reading import read
    from trajmodes.trajectory.summary import summary_terms
    known = traj.reference_known
    t0 = time.perf_counter()
    if reusable_cache(cache, fingerprint, traj.n_frames) if reuse is None else reuse:
        cached = read(cache, format="netcdf", chunk_frames=chunk_frames)
        if not known:
            traj = traj.with_reference(cached.reference)      # the time average the cache stores
        values = dask.compute(summary_terms(cached, displacements=known))[0]
        note = f"statistics summed from the kept cache, {time.perf_counter() - t0:.2f} s"
        reused = True
    else:
        values = traj.to_netcdf(write_to, attrs=lambda v: dict(attrs(v), source_fingerprint=fingerprint),
                                statistics=lambda t, layer: summary_terms(t, layer, displacements=t.reference_known))
        note = f"statistics summed while writing the cache, {time.perf_counter() - t0:.2f} s"
        if keep is not None:
            keep()
        cached = read(cache if keep is not None else write_to, format="netcdf", chunk_frames=chunk_frames)
        reused = False
    result = RunRead(traj, cached, reused, note, values=values)
    if not known:                                     # the displacements from the average: a read of the cache
        if fit:
            result.pending = cached.next_pass.add(Terms(cached, lambda run, layer: summary_terms(run, layer,
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


__all__ = ["RunRead", "read_once", "decided", "reusable_cache"]
