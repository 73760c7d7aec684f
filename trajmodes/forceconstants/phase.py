"""Whether a run left the crystal of the reference it was given, before the fit's pass over it.

A run can change phase: a transition of the potential (alpha-quartz goes over to a beta-like crystal at 300 K under
the Tersoff potential of Munetoh et al., Comput. Mater. Sci. 39, 334 (2007)), a learned potential with another ground
state, a perovskite whose tilts vanish. Displacements measured from the reference's sites then average sites the run
holds apart into one, and read the static differences as softness: the effective frequencies come out below the run's
own spectral peaks, with imaginary modes. A free internal coordinate that moves with temperature (the u of wurtzite)
keeps the crystal: :func:`~trajmodes.lattice.ideal.mean_sites` settles it in the fit's pass.

:func:`left_crystal` reads :data:`PHASE_FRAMES` frames spread over the run, takes their mean displacement from the
reference's sites (the crystal's drift as a whole taken out of every frame, however far a net momentum carries it; a run
whose atoms left their sites, a liquid, refused) and its standard error from :data:`PHASE_BLOCKS` blocks of them
(consecutive in time: their scatter holds the run's time correlation up to a block's span), and compares the crystal of
the mean sites with the reference's at one tolerance set by that noise (:func:`~trajmodes.lattice.ideal.run_crystal`).
"""
from __future__ import annotations

import warnings

import numpy as np

from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.structure import Structure

__all__ = ["left_crystal", "refit_on_run_crystal", "phase_frames", "PHASE_FRAMES", "PHASE_BLOCKS",
           "PHASE_ATOM_FRAMES", "LEFT_SITES_SHARE"]

#: frames spread evenly over a run whose mean sites show, before the fit's pass, the crystal it holds (a read of 0.2 s
#: for 162 atoms of quartz, 0.07 s for 256 of Cu)
PHASE_FRAMES = 64
#: the blocks of those frames whose scatter gives the mean sites' standard errors
PHASE_BLOCKS = 8
#: fewer frames (at least 2 x :data:`PHASE_BLOCKS`) in big runs: at most about this many atom-frames are read (64 frames
#: up to 10^5 atoms; 16 of 10^6 atoms, about 0.8 GB of text)
PHASE_ATOM_FRAMES = 6_400_000


def phase_frames(n_frames: int, n_atoms: int) -> int:
    """How many frames of a run of ``n_frames`` frames of ``n_atoms`` atoms :func:`left_crystal` reads (0: none, too few
    frames to tell): :data:`PHASE_FRAMES`, fewer in big runs (:data:`PHASE_ATOM_FRAMES`), at most the run's."""
    if n_frames < 2 * PHASE_BLOCKS:
        return 0
    return int(min(PHASE_FRAMES, n_frames, max(2 * PHASE_BLOCKS, PHASE_ATOM_FRAMES // max(int(n_atoms), 1))))


def left_crystal(traj, supercell: Crystal, primitive: Crystal, atom, ideal: Structure, tol: float, symprec: float,
                 reading=None):
    """The crystal the run ``traj`` holds against the given reference (``supercell``, the ideal crystal of the reference,
    ``primitive`` its primitive cell found at ``tol`` A, ``atom`` the primitive atom of each of its atoms; ``ideal`` its
    sites as a Structure in the run's frame). ``reading``: the pass of the fit after it
    (:class:`~trajmodes.trajectory.passes.Pass`), which holds the frames looked at where memory allows.

    Returns
    -------
    None where the check does not apply (fewer than 2 x :data:`PHASE_BLOCKS` frames in time, a reference of one cell),
    else ``(found, sites)``: the :class:`~trajmodes.lattice.ideal.RunCrystal`, and where the run left the reference's
    crystal the reference's atoms on the sites of the run's crystal (a Structure to fit from; warned about in one
    line), else None.

    Raises
    ------
    ValueError
        Where the run's mean sites show no lattice translation while the reference's do (not one crystal in this cell),
        or its atoms left their sites (:data:`LEFT_SITES_SHARE`: melted).
    """
    from trajmodes.lattice.ideal import run_crystal
    # a ring polymer's pooled samples are P beads per time frame, as correlated as their frame: the frames in time count
    beads = max(int(getattr(traj.source, "n_beads", 1) or 1), 1)
    k = phase_frames(traj.n_frames // beads, traj.n_atoms)
    if k == 0 or primitive.n_atoms == supercell.n_atoms:
        return None                                      # too few frames; one cell: no sites of cells to compare
    idx = np.unique(np.rint(np.linspace(0, traj.n_frames - 1, k)).astype(np.int64))
    # parsed once: held for the fit's pass where memory allows
    frames = traj.source_frames[idx]
    reading = traj.read_pass() if reading is None else reading
    # the crystal's rigid translation in each frame taken out, as in the fit's pass: a run whose centre of mass drifts
    # (a Langevin thermostat without fix momentum) holds the same crystal however far it goes, and its drift is no
    # spread of the mean sites
    u = traj.displacements_of_chunks(ideal, drift="removed")(reading.hold(frames))
    _refuse_left_sites(traj, u, ideal, idx, reading)
    parts = np.array_split(np.arange(len(idx)), PHASE_BLOCKS)
    means = np.stack([u[p].mean(axis=0) for p in parts])                                  # (blocks, atoms, 3)
    error = np.sqrt((means.var(axis=0, ddof=1) / len(parts)).mean(axis=1))               # one component, A
    found = run_crystal(supercell, primitive, atom, means.mean(axis=0), error, len(idx), max(tol, symprec))
    sites = None
    if found.left:
        line = found.line(traj.source.describe())
        if found.supercell is None:
            reading.release()                            # the frames held for a pass that will not run
            raise ValueError(line)
        warnings.warn(line, UserWarning, stacklevel=5)                # at the fit's caller
        c = found.supercell
        sites = Structure(c.positions + ideal.origin, ideal.cell, ideal.species, ideal.masses, ideal.origin)
    return found, sites


#: share of the atoms farther than half the nearest-neighbour distance from their sites (the crystal's drift taken out)
#: in a frame beyond which a run is refused as no longer a crystal (as the watch's MELTED_SHARE)
LEFT_SITES_SHARE = 0.1


def _refuse_left_sites(traj, u: np.ndarray, ideal: Structure, frames, reading) -> None:
    """Refuse a run whose atoms left their sites: in one of the ``frames`` looked at, more than
    :data:`LEFT_SITES_SHARE` of them farther than half the nearest-neighbour distance of ``ideal`` from their mean
    position over those frames, ``u`` (frames, atoms, 3) Å their displacements with the crystal's drift taken out.
    A liquid, or a cluster that turns as a whole, has no sites to measure displacements from, nor a rigid drift to
    take out of them. Measured from each atom's own mean, not from the reference's site: a run that went over to
    another crystal (new sites, which the fit then finds) still vibrates about sites."""
    if ideal.cell is None or u.shape[1] < 2:
        return
    from trajmodes.lattice.geometry import nearest_neighbour_distance
    radius = 0.5 * nearest_neighbour_distance(np.asarray(ideal.cell, float), ideal.positions)
    far = np.linalg.norm(u - u.mean(axis=0), axis=2) > radius                          # (frames, atoms)
    if far.mean(axis=1).max() <= LEFT_SITES_SHARE:
        return
    # from when: measured from the sites of the first frames, where the atoms left them after
    start = np.linalg.norm(u - u[: max(1, len(u) // PHASE_BLOCKS)].mean(axis=0), axis=2) > radius
    if (start.mean(axis=1) > LEFT_SITES_SHARE).any():
        far = start
    share = far.mean(axis=1)
    k = int(np.argmax(share > LEFT_SITES_SHARE))
    if reading is not None:
        reading.release()                                # the frames held for a pass that will not run
    raise ValueError(
        f"{traj.source.describe()}: by frame {int(frames[k])}, {int(far[k].sum())} of {u.shape[1]} atoms are farther "
        f"than half the nearest-neighbour distance ({radius:.3g} A) from their sites, the crystal's drift as a whole "
        "taken out: the crystal melted (or its atoms diffuse, or it turns as a whole), and effective constants of "
        "atoms that left their sites mean nothing. Fit the frames before it (trajmodes convert RUN --stop N, then fit "
        "its trajectory.nc), or run the crystal below its melting point")


def refit_on_run_crystal(fit, data, traj, ideal: Structure, tol: float, reading=None):
    """``fit`` (an :class:`~trajmodes.forceconstants.fit.EffectiveForceConstants` prepared on the reference's ideal
    supercell at ``tol`` A, its sites ``ideal``, before its pass) fitted again on the
    run's own crystal where the run ``traj`` (the first of the runs ``data``) left the crystal of the reference
    (:func:`left_crystal`; its result kept as ``fit.run_crystal_``, the sites fitted from as ``fit.run_reference_``),
    read in the pass ``reading`` (:class:`~trajmodes.trajectory.passes.Pass`, which the work added to it waits for);
    None where the run holds the reference's crystal or the
    check does not apply (``keep_reference``, a held fc2, the constants per species pair, a disordered crystal, the fit
    of the run's crystal itself)."""
    state = fit.__dict__
    if (state.get("_crystal_checked") or fit.keep_reference or fit.fc2 is not None
            or getattr(fit, "species_resolved", False) or getattr(fit, "virtual_sites_", None) is not None
            or (found := left_crystal(traj, fit.supercell_, fit.primitive_, fit.smap_.atom, ideal, tol,
                                      float(fit.symprec), reading)) is None):
        return None
    fit.run_crystal_, fit.run_reference_ = found
    if fit.run_reference_ is None:
        return None
    state["_crystal_checked"] = True
    try:
        again = [t.with_reference(fit.run_reference_) for t in (data if isinstance(data, (list, tuple)) else [data])]
        return fit.fit(again if isinstance(data, (list, tuple)) else again[0], reading=reading)
    finally:
        state.pop("_crystal_checked", None)
