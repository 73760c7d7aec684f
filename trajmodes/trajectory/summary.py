"""One-pass summary statistics of a trajectory (what ``trajmodes info`` prints)."""
from __future__ import annotations

import dask
import numpy as np
import xarray as xr


def summarize(traj, *, progress: bool = False) -> xr.Dataset:
    """Frame, box, temperature and displacement statistics in one streamed pass.

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
    has_t = traj.velocities is not None and traj.masses is not None
    layer = ("positions", "velocities") if has_t else ("positions",)   # one parse per chunk for both
    u = traj.displacements(layer=layer)
    species = np.asarray(traj.species)
    kinds = sorted(set(species.tolist()))
    u2 = (u ** 2)
    onehot = (species[:, None] == np.array(kinds)[None, :]) / np.array([(species == k).sum() for k in kinds])
    jobs = {"u2_atom": u2.mean(axis=0), "umax": da_norm_max(u), "drift": u.mean(axis=1),
            "u2_time": u2.sum(axis=2) @ onehot}
    if has_t:
        jobs["temperature"] = traj.temperature(layer=layer)
    if traj.cells is not None:
        cells = traj.field("cells", layer)
        jobs["volume"] = abs(cells[:, 0, 0] * (cells[:, 1, 1] * cells[:, 2, 2] - cells[:, 1, 2] * cells[:, 2, 1])
                             - cells[:, 0, 1] * (cells[:, 1, 0] * cells[:, 2, 2] - cells[:, 1, 2] * cells[:, 2, 0])
                             + cells[:, 0, 2] * (cells[:, 1, 0] * cells[:, 2, 1] - cells[:, 1, 1] * cells[:, 2, 0]))
    for name in ("pressure", "potential_energy"):
        if name in traj.frame_fields:
            jobs[name] = traj.field(name)
    if progress:
        from dask.diagnostics import ProgressBar
        with ProgressBar(minimum=1.0):
            res = dict(zip(jobs, dask.compute(*jobs.values())))
    else:
        res = dict(zip(jobs, dask.compute(*jobs.values())))
    msd = np.array([res["u2_atom"][species == k].mean(axis=0) for k in kinds])
    ds = xr.Dataset(
        {
            "msd": (("species", "cartesian"), msd, {"units": "Angstrom^2", "long_name": "mean square displacement"}),
            "rms_displacement": (("species",), np.sqrt(msd.sum(axis=1)), {"units": "Angstrom"}),
            "max_displacement": ((), float(res["umax"]), {"units": "Angstrom"}),
            "drift": (("time", "cartesian"), res["drift"], {"units": "Angstrom",
                                                         "long_name": "mean displacement of all atoms"}),
            "rms_time": (("time", "species"), np.sqrt(res["u2_time"]), {"units": "Angstrom",
                                                                       "long_name": "rms displacement per frame"}),
        },
        coords={"species": kinds, "cartesian": ["x", "y", "z"], "time": ("time", traj.times, {"units": "ps"})},
    )
    if has_t:
        ds["temperature"] = (("time",), res["temperature"], {"units": "K",
                                                            "long_name": "kinetic temperature (3N-3 dof)"})
    for name, units, long_name in (("volume", "Angstrom^3", "volume of the cell"),
                                   ("pressure", "GPa", "pressure, positive when compressed"),
                                   ("potential_energy", "eV", "potential energy of the cell")):
        if name in res:
            ds[name] = (("time",), np.asarray(res[name], float), {"units": units, "long_name": long_name})
    return ds


def da_norm_max(u):
    """Largest |u| over frames and atoms (dask)."""
    return ((u ** 2).sum(axis=2) ** 0.5).max()
