"""The heat current of an MD run's frames: the per-frame quantity a dump's per-atom columns give, with the run's mean
temperature and volume, in one pass."""
from __future__ import annotations

import os

import numpy as np

__all__ = ["heat_current_of_run"]


def heat_current_of_run(traj, potential=None) -> tuple[np.ndarray, float, float]:
    """The heat current of a trajectory whose frames carry it (a LAMMPS dump with per-atom potential energies,
    stresses and velocities: the per-frame quantity ``heat_current``), with the run's mean temperature and volume, in
    one pass over the frames.

    Parameters
    ----------
    traj : Trajectory
    potential : PotentialRange, optional
        The run's potential as its LAMMPS input names it
        (:func:`trajmodes.io.potentials.pair_style.potential_range`): a six-column stress (``compute stress/atom``)
        is refused for one whose forces are not pairwise (:attr:`PotentialRange.pairwise_forces`), which needs the
        centroid stress (Surblys, Matsubara, Kikugawa and Ohara, Phys. Rev. E 99, 051301 (2019)).

    Returns
    -------
    current : ndarray (frames, 3)
        eV A/ps.
    temperature : float
        K, the mean kinetic temperature (3N - 3 degrees of freedom).
    volume : float
        A^3, the mean volume of the frames' cells.
    """
    import dask
    if "heat_current" not in traj.frame_fields:
        raise ValueError(f"{traj.source.describe()}: the frames carry no heat current: it needs per-atom potential "
                         "energies (c_pe), per-atom stresses (c_ID[1..9] of compute centroid/stress/atom; six of "
                         "compute stress/atom for pair potentials and EAM only), velocities and the atoms' masses "
                         "(--species); or pass the heat current LAMMPS wrote (compute heat/flux in the log)")
    stress = getattr(traj.source, "stress_columns", None) or ()
    if len(stress) == 6 and potential is not None and not potential.pairwise_forces:
        raise ValueError(f"{traj.source.describe()}: the per-atom stress has six columns (compute stress/atom), "
                         f"which gives a wrong heat current for the many-body potential of the run (pair_style "
                         f"{potential.style}, in {os.path.basename(potential.source)}): dump the nine columns of "
                         "compute centroid/stress/atom (Surblys et al., Phys. Rev. E 99, 051301 (2019))")
    layer = ("velocities", "heat_current")
    j, temperature, cells = dask.compute(traj.field("heat_current", layer), traj.temperature(layer),
                                         traj.field("cells", layer), optimize_graph=False)
    return j, float(np.mean(temperature)), float(np.mean(np.abs(np.linalg.det(cells))))
