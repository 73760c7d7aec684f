"""One-pass summary statistics of a trajectory (what ``trajmodes info`` prints).

:func:`summary_terms` gives the lazy per-frame quantities, read through one layer of the trajectory so that another
computation over the same frames (the netCDF cache :meth:`~trajmodes.trajectory.core.Trajectory.to_netcdf` writes, a
fit) parses each chunk once for both; :func:`summary_dataset` reduces their values; :func:`summarize` does both.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import warnings

import dask
import numpy as np
import xarray as xr

__all__ = ["summarize", "summary_terms", "summary_dataset", "summary_layer", "FRAME_TERMS", "DISPLACEMENT_TERMS"]

#: the per-frame quantities that need no reference crystal
FRAME_TERMS = ("temperature", "volume", "pressure", "potential_energy")
#: the per-frame quantities of the displacements from the reference
DISPLACEMENT_TERMS = ("drift", "u2_time", "msd_time", "umax_time")


def summary_layer(traj) -> tuple:
    """The fields :func:`summarize` reads in its one pass: positions, the velocities where the temperature can be
    had, and the per-frame quantities the data have."""
    has_t = traj.velocities is not None and traj.masses is not None
    return ("positions",) + (("velocities",) if has_t else ()) + tuple(traj.frame_fields)


def summary_terms(traj, layer: tuple | None = None, *, frame: bool = True, displacements: bool = True) -> dict:
    """The lazy per-frame quantities :func:`summary_dataset` reduces, read through ``layer`` (default
    :func:`summary_layer`; arrays of other work read through the same layer share each chunk's parse).

    Parameters
    ----------
    traj : Trajectory
    layer : tuple of str, optional
        Must hold ``positions`` (for the displacements) and the fields of the quantities asked for: ``velocities``
        for the temperature, the per-frame quantities for themselves (those not in it are left out).
    frame : bool
        The quantities that need no reference (:data:`FRAME_TERMS`): ``temperature`` (K) where velocities and masses
        are known, ``volume`` (A^3) with a cell, ``pressure`` (GPa) and ``potential_energy`` (eV).
    displacements : bool
        The displacements from ``traj.reference`` (:data:`DISPLACEMENT_TERMS`): ``drift`` (frames, 3) A, ``u2_time``
        (frames, species) and ``msd_time`` (frames, 3, species) A^2, means over each species' atoms, ``umax_time``
        (frames,) the largest |u| in A.

    Returns
    -------
    dict name -> dask array, frames first (chunked as the trajectory)
    """
    layer = summary_layer(traj) if layer is None else tuple(layer)
    terms = {}
    if frame:
        if "velocities" in layer and traj.velocities is not None and traj.masses is not None:
            terms["temperature"] = traj.temperature(layer=layer)
        if traj.cells is not None:
            c = traj.field("cells", layer)
            terms["volume"] = abs(c[:, 0, 0] * (c[:, 1, 1] * c[:, 2, 2] - c[:, 1, 2] * c[:, 2, 1])
                                  - c[:, 0, 1] * (c[:, 1, 0] * c[:, 2, 2] - c[:, 1, 2] * c[:, 2, 0])
                                  + c[:, 0, 2] * (c[:, 1, 0] * c[:, 2, 1] - c[:, 1, 1] * c[:, 2, 0]))
        for name in ("pressure", "potential_energy"):
            if name in traj.frame_fields and name in layer:
                terms[name] = traj.field(name, layer)
    if displacements:
        u = traj.displacements(layer=layer)
        onehot = _onehot(traj.species)[1]
        ns = onehot.shape[1]
        # one task per chunk makes every quantity from the chunk's displacements, which are then freed: separate
        # reductions of u each hold it until the last has run, and Dask may run them late (memory grew with frames)
        packed = u.rechunk({1: -1, 2: -1}).map_blocks(_displacement_terms, onehot, drop_axis=2,
                                                      chunks=(u.chunks[0], (4 + 4 * ns,)), dtype=np.float64)
        terms["drift"] = packed[:, 0:3]
        terms["u2_time"] = packed[:, 3:3 + ns]
        terms["msd_time"] = packed[:, 3 + ns:3 + 4 * ns].reshape(len(traj.times), 3, ns)
        terms["umax_time"] = packed[:, 3 + 4 * ns]
    return terms


def _displacement_terms(u: np.ndarray, onehot: np.ndarray) -> np.ndarray:
    """The per-frame displacement quantities of one chunk, side by side: (frames, 4 + 4 species): the drift (3) A,
    the species' mean u^2 (species) and mean u_a^2 (3 x species, x first) A^2, and the largest |u| A.

    ``u`` (frames, atoms, 3) A; ``onehot`` (atoms, species) the species' averaging matrix (:func:`_onehot`).
    """
    u2 = u ** 2
    r2 = u2.sum(axis=2)
    msd = np.einsum("fia,is->fas", u2, onehot).reshape(len(u), -1)
    return np.concatenate([u.mean(axis=1), r2 @ onehot, msd, np.sqrt(r2.max(axis=1, initial=0.0))[:, None]], axis=1)


def _onehot(species):
    """The species (sorted) and the (atoms, species) matrix that averages over each species' atoms."""
    species = np.asarray(species)
    kinds = sorted(set(species.tolist()))
    onehot = (species[:, None] == np.array(kinds)[None, :]) / np.array([(species == k).sum() for k in kinds])
    return kinds, onehot


def summary_dataset(traj, values: dict) -> xr.Dataset:
    """The summary (as :func:`summarize`) from the computed :func:`summary_terms` of ``traj`` (both kinds)."""
    kinds = _onehot(traj.species)[0]
    msd = np.asarray(values["msd_time"]).mean(axis=0).T
    ds = xr.Dataset(
        {
            "msd": (("species", "cartesian"), msd, {"units": "Angstrom^2", "long_name": "mean square displacement"}),
            "rms_displacement": (("species",), np.sqrt(msd.sum(axis=1)), {"units": "Angstrom"}),
            "max_displacement": ((), float(np.max(values["umax_time"])), {"units": "Angstrom"}),
            "drift": (("time", "cartesian"), values["drift"], {"units": "Angstrom",
                                                            "long_name": "mean displacement of all atoms"}),
            "rms_time": (("time", "species"), np.sqrt(values["u2_time"]), {"units": "Angstrom",
                                                                          "long_name": "rms displacement per frame"}),
        },
        coords={"species": kinds, "cartesian": ["x", "y", "z"], "time": ("time", traj.times, {"units": "ps"})},
    )
    if "temperature" in values:
        ds["temperature"] = (("time",), values["temperature"], {"units": "K",
                                                               "long_name": "kinetic temperature (3N-3 dof)"})
    for name, units, long_name in (("volume", "Angstrom^3", "volume of the cell"),
                                   ("pressure", "GPa", "pressure, positive when compressed"),
                                   ("potential_energy", "eV", "potential energy of the cell")):
        if name in values:
            ds[name] = (("time",), np.asarray(values[name], float), {"units": units, "long_name": long_name})
    return ds


def summarize(traj, *, progress: bool = False, scratch: str | None = None) -> xr.Dataset:
    """Frame, box, temperature and displacement statistics, each chunk of frames parsed once.

    Where the reference is the run's time average, not yet known, the displacements from it need the average first.
    From a text trajectory (a dump) the one parse then also writes the positions to a scratch netCDF cache (24 bytes
    per atom and frame, in ``scratch``, default the system's temporary folder, deleted at the end) while it sums the
    average and the per-frame quantities; the displacements are measured in a read of that cache. A netCDF cache
    stores its average, so it is read once. Without room for the scratch cache, the trajectory is read twice (a
    warning says so), and so it is on a ``dask.distributed`` cluster (whose workers may not see this machine's
    temporary folder).

    Returns
    -------
    xarray.Dataset
        ``temperature`` (time) in K when velocities and masses are known;
        ``msd`` (species, cartesian): mean square displacement <u_a^2> in A^2;
        ``rms_displacement`` (species) in A; ``max_displacement`` in A;
        ``rms_time`` (time, species): rms |u| of each species in every frame, A;
        ``drift`` (time, cartesian): mean displacement of all atoms (centre-of-mass drift
        for one species) in A;
        ``volume`` (time) in A^3 per cell when the frames hold a box; ``pressure`` (time) in GPa and
        ``potential_energy`` (time) in eV per cell when the data have them (a LAMMPS log, energy or stress columns).
    """
    from trajmodes.resources import distributed_client
    # a cluster's workers may not see this machine's temporary folder: two passes there
    if (not traj.reference_known and traj.source.format != "netcdf" and traj.n_frames > 1
            and getattr(traj, "_parent", None) is None and distributed_client() is None):
        folder = _scratch_folder(traj, scratch)
        if folder is not None:
            try:
                return _summarize_through_cache(traj, progress, folder)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
    terms = summary_terms(traj)
    return summary_dataset(traj, _compute(terms, progress))


def _compute(terms: dict, progress: bool) -> dict:
    if progress:
        from dask.diagnostics import ProgressBar
        with ProgressBar(minimum=1.0):
            return dask.compute(terms)[0]
    return dask.compute(terms)[0]


def _scratch_folder(traj, scratch: str | None) -> str | None:
    """A new folder for the scratch cache of the positions, or None (and a warning) where it would not fit."""
    base = tempfile.gettempdir() if scratch is None else scratch
    need = 24.0 * traj.n_atoms * traj.n_frames + (8 << 20)
    try:
        free = shutil.disk_usage(base).free
    except OSError:
        free = 0
    if free < 1.2 * need:
        warnings.warn(f"no room for the scratch cache of the positions ({need / 1e9:.2f} GB; {free / 1e9:.2f} GB free "
                      f"in {base}): the trajectory is read twice, once for the time average and once for the "
                      "displacements from it (set TMPDIR to a folder with room)", ResourceWarning, stacklevel=3)
        return None
    return tempfile.mkdtemp(prefix="trajmodes-summary-", dir=base)


def _summarize_through_cache(traj, progress: bool, folder: str) -> xr.Dataset:
    """The summary in one parse of ``traj`` (reference: its time average): the per-frame quantities and the average
    summed while the positions are written to a cache in ``folder``; the displacements from that cache."""
    from trajmodes.trajectory.reading import read
    path = os.path.join(folder, "positions.nc")
    values = traj.to_netcdf(path, fields=("positions",), progress=progress,
                            statistics=lambda t, layer: summary_terms(t, layer, displacements=False))
    cached = read(path, format="netcdf")
    values.update(_compute(summary_terms(cached, ("positions",), frame=False), progress))
    return summary_dataset(traj, values)
