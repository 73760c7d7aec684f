"""The heat current of an MD run's frames: the per-frame quantity a dump's per-atom columns give, with the run's mean
temperature and volume, in one pass."""
from __future__ import annotations

import os

import numpy as np

__all__ = ["heat_current_of_run", "heat_current_missing", "stress_advice"]


def heat_current_of_run(traj, potential=None, *, hold_flux: bool = False, lattice: bool = False, reading=None):
    """The heat current of a trajectory whose frames carry it (a LAMMPS dump with per-atom potential energies,
    stresses and velocities: the per-frame quantity ``heat_current``), with the run's mean temperature and volume, in
    one pass over the frames.

    Parameters
    ----------
    traj : Trajectory
        The run: per-atom potential energies (eV), stresses (LAMMPS' ``compute stress/atom``: pressure times
        volume) and velocities (Å/ps) in every frame.
    potential : PotentialRange, optional
        The run's potential as its LAMMPS input names it
        (:func:`trajmodes.io.potentials.pair_style.potential_range`): a six-column stress (``compute stress/atom``)
        is refused for one whose forces are not pairwise (:attr:`PotentialRange.pairwise_forces`), which needs the
        centroid stress (Surblys, Matsubara, Kikugawa and Ohara, Phys. Rev. E 99, 051301 (2019)) where LAMMPS computes
        it, and another route where it does not (:func:`stress_advice`). Frames without the heat current are refused
        naming what they lack (:func:`heat_current_missing`).
    hold_flux : bool
        Also hold every frame's velocities and each atom's heat-flux matrix, read in the same pass: the splits of the
        conductivity over the velocities' frequency and over the modes
        (:mod:`~trajmodes.transport.decomposition`'s ``flux=``) then read no frame again.
    lattice : bool
        Where the run's time average is still to be taken, also its provisional reference (the lattice sites the
        modes are mapped onto, :attr:`~trajmodes.trajectory.core.Trajectory.lattice_reference`), its few frames
        parsed first and taken by the pass; kept by ``reading`` for the work after it.
    reading : Pass, optional
        The pass the current is read in, created by the caller (:class:`~trajmodes.trajectory.passes.Pass` of
        ``traj``): work that reads through ``reading.run`` after it finds the provisional reference there. Default: a
        pass of its own.

    Returns
    -------
    current : ndarray (frames, 3)
        eV Å/ps.
    temperature : float
        K, the mean kinetic temperature (3N - 3 degrees of freedom).
    volume : float
        Å³, the mean volume of the frames' cells.
    flux : tuple (velocities (frames, atoms, 3) Å/ps, heat-flux matrices (frames, atoms, 3, 3) eV)
        With ``hold_flux`` only.
    """
    if "heat_current" not in traj.frame_fields:
        raise ValueError(heat_current_missing(traj, potential))
    stress = getattr(traj.source, "stress_columns", None) or ()
    if len(stress) == 6 and potential is not None and not potential.pairwise_forces:
        raise ValueError(f"{traj.source.describe()}: the per-atom stress has six columns (compute stress/atom), "
                         f"which gives a wrong heat current for the many-body potential of the run (pair_style "
                         f"{potential.style}, in {os.path.basename(potential.source)}; Fan et al., Phys. Rev. B 92, "
                         f"094301 (2015)): " + stress_advice(potential, six_given=True))
    reading = traj.read_pass() if reading is None else reading
    traj = traj.in_pass(reading)
    layer = ("velocities", "heat_current") + (("heat_flux",) if hold_flux else ())
    arrays = [traj.field("heat_current", layer), traj.temperature(layer), traj.field("cells", layer)]
    if hold_flux:
        arrays += [traj.field("velocities", layer), traj.field("heat_flux", layer)]
    if lattice and not traj.reference_known:
        reading.provisional_reference(layer=layer)
    values = reading.compute(tuple(arrays), layer)
    j, temperature, cells = values[:3]
    out = (j, float(np.mean(temperature)), float(np.mean(np.abs(np.linalg.det(cells)))))
    return out + (tuple(values[3:]),) if hold_flux else out


#: what gives a conductivity where no LAMMPS dump of the run can give its heat current
OTHER_ROUTES = ("the Boltzmann equation of the run's own anharmonic constants (trajmodes fit DUMP --cutoff3 R, then "
                "trajmodes anharmonic on its fc.nc), the heat current of a GPUMD run (its compute.out, which "
                "trajmodes conductivity reads; GPUMD's heat current is right for many-body potentials), or a LAMMPS "
                "run with a potential whose centroid stress LAMMPS computes (pair potentials, EAM)")


def stress_advice(potential=None, six_given: bool = False) -> str:
    """Which per-atom stress to dump for the heat current of a run of ``potential`` (its
    :class:`~trajmodes.io.potentials.pair_style.PotentialRange`, or None when its input was not found), in words.

    ``compute centroid/stress/atom`` gives the right current for any potential (Surblys, Matsubara, Kikugawa and
    Ohara, Phys. Rev. E 99, 051301 (2019)), but LAMMPS computes it for pair potentials and EAM only (its documentation
    of compute stress/atom, Restrictions: not for many-body pair styles nor with a kspace_style); ``compute
    stress/atom`` is right where the forces are pairwise (its contributions equal the centroid ones) and wrong for
    many-body potentials (Fan et al., Phys. Rev. B 92, 094301 (2015)), in a dump as in ``compute heat/flux``. Where
    neither is right, the sentence says so and names :data:`OTHER_ROUTES`.
    """
    nine = "the nine columns of compute ID all centroid/stress/atom NULL (dumped as c_ID[*])"
    six = "the six of compute ID all stress/atom NULL"
    if potential is None:
        return (f"dump {nine}; for pair potentials and EAM {six} give the same current. LAMMPS refuses the "
                "centroid form for many-body potentials (Tersoff, Stillinger-Weber, MEAM, machine-learned ones) and "
                "with a kspace_style, and the six columns give a many-body potential a wrong current (Fan et al., "
                "Phys. Rev. B 92, 094301 (2015)): for such a run use " + OTHER_ROUTES)
    style = f"pair_style {potential.style} (in {os.path.basename(potential.source)})"
    centroid, pairwise = potential.centroid_stress, potential.pairwise_forces
    if centroid and pairwise:
        return f"for {style}, whose forces are pairwise, dump {nine}, or {six}: they give the same current"
    if centroid:
        return f"for {style} dump {nine}"
    if pairwise:                         # pair forces with long-range electrostatics: no centroid form in LAMMPS
        return (f"for {style} LAMMPS refuses compute centroid/stress/atom (long-range electrostatics, a kspace_style)"
                f"; its forces are pairwise: dump {six}")
    many = ", ".join(potential.many_body)
    if centroid is False:
        return (f"for {style} LAMMPS refuses compute centroid/stress/atom (its documentation: many-body pair styles, "
                f"{many} here, are not supported, EAM excepted), and "
                + ("the six columns of compute stress/atom, in a dump or in compute heat/flux, give" if six_given
                   else "compute stress/atom, in a dump or in compute heat/flux, gives")
                + " a many-body potential a wrong heat current (Fan et al., "
                "Phys. Rev. B 92, 094301 (2015)): no LAMMPS output of this run gives its heat current. What works: "
                + OTHER_ROUTES)
    return (f"{style} is not a style known here: if LAMMPS computes compute centroid/stress/atom for it, dump {nine}; "
            f"LAMMPS refuses that form for its many-body styles, and the six columns of compute stress/atom give a "
            f"many-body potential a wrong current (Fan et al., Phys. Rev. B 92, 094301 (2015)): then use "
            + OTHER_ROUTES)


def heat_current_missing(traj, potential=None, what: str | None = None) -> str:
    """Why the frames of ``traj`` carry no heat current, in one message: each of the per-atom potential energies,
    per-atom stresses, velocities and masses that is missing, with the columns (or options) that would give it
    (:meth:`~trajmodes.io.trajectories.base.FrameSource.heat_current_missing`), the dump's columns as read, and for
    missing stresses which to dump for the run's ``potential`` (:func:`stress_advice`). ``what``: the analysis that
    needs each atom's share of the current (words), named at the start."""
    src = traj.source
    missing = src.heat_current_missing() if hasattr(src, "heat_current_missing") else ()
    columns = getattr(src, "columns", None)
    head = (f"{what} needs each atom's share of the heat current, which the frames do not carry" if what else
            "the frames carry no heat current sum_i e_i v_i - sum_i S_i v_i")
    text = (f"{src.describe()}: {head}: "
            + (f"{'the dump lacks' if columns else 'the data lack'} {'; '.join(missing)}" if missing else
               "they lack per-atom potential energies, per-atom stresses, velocities or the atoms' masses")
            + (f" (the dump's columns: {' '.join(columns)})" if columns else ""))
    stress = getattr(src, "stress_columns", None) or ()
    six = len(stress) == 6 and potential is not None and not potential.pairwise_forces
    if not missing or six or any(m.startswith("per-atom stresses") for m in missing):
        text += (". Its six stress columns (compute stress/atom) give the many-body potential a wrong current; "
                 if six else ". Per-atom stresses: ") + stress_advice(potential, six_given=six)
    if potential is None or potential.pairwise_forces or potential.centroid_stress:
        text += "; or pass the heat current LAMMPS wrote (compute heat/flux in the log)"
    return text
