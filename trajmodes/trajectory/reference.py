"""The reference crystal of a trajectory: what a user passes (a file, a structure, "first", "average"), checked
against the trajectory's own atoms before any displacement is computed."""
from __future__ import annotations

import dataclasses

import numpy as np

from trajmodes.errors import ReferenceMismatchError
from trajmodes.io import read_structure
from trajmodes.lattice.geometry import minimum_image
from trajmodes.lattice.structure import Structure
from trajmodes.trajectory.displacements import remove_drift

__all__ = ["reference_structure", "check_reference"]


def reference_structure(traj, spec) -> Structure:
    """The reference crystal ``spec`` of the trajectory ``traj``, checked against it (:func:`check_reference`).

    ``spec``: "first" (frame 0), "average" (the time average, one streamed pass), a Structure, an (N, 3)
    array of positions in Å (with frame 0's cell), an ASE Atoms or any object with ``positions`` and ``cell``,
    or a file :func:`trajmodes.io.read_structure` reads (a LAMMPS data file, ...).
    """
    if isinstance(spec, str) and spec == "first":
        return traj.frame_structure(0)
    if isinstance(spec, str) and spec == "average":
        return traj.average_structure()
    if isinstance(spec, Structure):
        ref = spec
        if ref is getattr(traj.source, "reference", None):
            return ref
    elif isinstance(spec, np.ndarray) or isinstance(spec, (list, tuple)):
        first = traj.frame_structure(0)
        ref = Structure(np.asarray(spec, float), first.cell, traj.species, traj.masses, first.origin)
    elif hasattr(spec, "get_positions") and hasattr(spec, "get_cell"):  # ASE Atoms
        ref = Structure(spec.get_positions(), np.asarray(spec.get_cell()), spec.get_chemical_symbols(),
                        spec.get_masses())
    elif hasattr(spec, "positions") and hasattr(spec, "cell"):
        ref = Structure(spec.positions, spec.cell, getattr(spec, "species", None),
                        getattr(spec, "masses", None))
    else:
        ref = _read_reference(traj, spec)
    return check_reference(traj, ref)


def _read_reference(traj, spec) -> Structure:
    """The reference file ``spec`` read in the run's LAMMPS unit style where lengths or masses are not metal's (a data
    file of a run in units lj, si or electron holds its positions and masses in them; real's are Å and amu)."""
    style = getattr(traj.source, "units", None)
    if style in (None, "metal", "real"):
        return read_structure(spec)
    return read_structure(spec, units=style, lj_scales=getattr(traj.source, "lj_scales", None))


def check_reference(traj, ref: Structure) -> Structure:
    """``ref`` after checking it against frame 0 of ``traj``: the same number of atoms, species and LAMMPS types
    in the same order, a cell within 2% and positions within 1 Å rms (minimum image). Species and masses the
    trajectory lacks are taken from the reference (and the reference's missing species and cell from the
    trajectory).

    Raises
    ------
    ReferenceMismatchError
        Saying what differs, where, and which reference to pass instead.
    """
    name = traj.source.describe()
    if ref.n_atoms != traj.n_atoms:
        raise ReferenceMismatchError(
            f"the reference has {ref.n_atoms} atoms but {name} has {traj.n_atoms}; pass the reference "
            "structure of this simulation (for example the data file it started from)")
    known = ref.species is not None and not all(s.isdigit() for s in ref.species)
    mine_known = not all(s.isdigit() for s in traj.species)
    if known and mine_known and not np.array_equal(ref.species, traj.species):
        i = int(np.flatnonzero(ref.species != traj.species)[0])
        raise ReferenceMismatchError(
            f"atom {i} (id {traj.source.ids[i]}) is {traj.species[i]} in {name} but {ref.species[i]} in the "
            "reference; the reference must list the same atoms in id order")
    if ref.species is None:
        ref = dataclasses.replace(ref, species=traj.species)
    mine = getattr(traj.source, "types", None)
    if mine is not None and ref.types is not None and len(ref.types) == len(mine) and \
            not np.array_equal(mine, ref.types):
        i = int(np.flatnonzero(mine != ref.types)[0])
        beyond = int(mine.max()) > int(ref.types.max())
        raise ReferenceMismatchError(
            f"atom {i} (id {int(traj.source.ids[i])}) is of LAMMPS type {int(mine[i])} in {name} but of type "
            f"{int(ref.types[i])} in the reference"
            + (f" (the dump has types up to {int(mine.max())}, the reference only up to {int(ref.types.max())})"
               if beyond else "") + ": the reference must be the data file of this run, atoms in the same order")
    if known and not mine_known:
        traj.species = ref.species
        if ref.masses is not None:
            traj.masses = ref.masses
    elif traj.masses is None and ref.masses is not None:
        traj.masses = ref.masses
    first = traj.frame_structure(0)
    if first.cell is not None and ref.cell is not None:
        dev = np.abs(first.cell - ref.cell).max() / np.abs(ref.cell).max()
        if dev > 0.02:
            raise ReferenceMismatchError(
                f"the reference cell differs from the first frame's cell of {name} by {100 * dev:.1f}% "
                f"(reference rows {np.round(ref.cell, 4).tolist()}, frame 0 {np.round(first.cell, 4).tolist()}); "
                "use the reference of this simulation or the same supercell")
    if ref.cell is None and first.cell is not None:
        ref.cell = first.cell
    cell = ref.cell if ref.cell is not None else None
    if cell is not None:
        # a crystal moved as a whole (a thermostat without a fixed centre of mass lets it drift) is the same crystal:
        # the rigid translation is taken out, as the displacements' drift="removed" takes it out
        u = remove_drift(minimum_image((first.positions - ref.positions)[None], cell[None]), cell)[0]
        rms = float(np.sqrt((u ** 2).sum(axis=1).mean()))
        if rms > 1.0:
            raise ReferenceMismatchError(
                f"frame 0 of {name} is {rms:.2f} A (rms) away from the reference, its rigid translation taken out: "
                "the atoms are not in the same order or not the same crystal; pass the reference this simulation "
                "started from")
    return ref
