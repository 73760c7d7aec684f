"""Born charges of a rigid-ion run, from its own LAMMPS files (``trajmodes fit`` and ``run``, ``--charges auto``).

A rigid-ion model (fixed point charges q_k with long-range Coulomb: ``pair_style buck/coul/long`` or ``coul/msm`` or
any ``kspace_style``) has Born effective charges Z_k = q_k I and a high-frequency dielectric tensor eps_inf = I: no
electron responds to a field but the ions' own charges. Its dipole-dipole force constants reach through the whole
crystal, so a fit within half the supercell cuts them off (rutile TiO2, Matsui-Akaogi: one optical mode 10 % low);
with these charges the fit takes the dipole-dipole forces out first and fits only the short-range rest
(:class:`~trajmodes.forceconstants.fit.EffectiveForceConstants` ``born=``, ``epsilon=``).

The decision (:func:`rigid_ion_charges`), from the files LAMMPS itself read:

- the charges: the ``Atoms`` section of a data file with a charge column (atom styles ``charge`` and ``full``), the
  ``--reference`` where it is one, else the data file the input's ``read_data`` reads; then the input's
  ``set type T charge Q`` commands before the run, as LAMMPS applies them. No charges, or all zero: nothing is done
  and nothing said.
- long-range Coulomb: the input (or log) that writes the dump sets a ``kspace_style`` other than ``none``, or its
  ``pair_style`` is a ``coul/long`` or ``coul/msm`` one. Charges with a short-ranged Coulomb (``coul/cut``,
  ``coul/wolf``, ``coul/dsf``, ...) have no long-range tail in their forces: no correction, one line says why; so
  does a run whose input is not found (the range of its Coulomb is then unknown).
- the charges must be neutral (to 1 % of the largest, as the polar fit's own check,
  :data:`~trajmodes.forceconstants.dipole.CHARGE_SUM_FIT`) and equal within each LAMMPS type (a rigid-ion model's
  are; charge equilibration's are not): otherwise no correction, one line says why.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np

__all__ = ["RigidIonCharges", "rigid_ion_charges", "CHARGE_CHOICES"]

#: the values of ``--charges``
CHARGE_CHOICES = ("auto", "none")
#: pair styles whose Coulomb interaction is long-ranged (their k-space part is the kspace_style's)
_LONG_COULOMB = re.compile(r"coul/(long|msm)")
#: charges below this (e) count as zero
_ZERO = 1e-8


@dataclass(frozen=True)
class RigidIonCharges:
    """What :func:`rigid_ion_charges` decided.

    Parameters
    ----------
    born : ndarray (N, 3, 3) or None
        q_k I for every atom of the run (its order), e; None: fit without the dipole-dipole correction.
    epsilon : ndarray (3, 3) or None
        The identity with ``born``.
    line : str
        The one line to print ("" for nothing to say).
    """

    born: np.ndarray | None
    epsilon: np.ndarray | None
    line: str

    @property
    def polar(self) -> bool:
        return self.born is not None


def _none(line: str = "") -> RigidIonCharges:
    return RigidIonCharges(None, None, line)


def _settings_of(traj, logs=()):
    from trajmodes.io.trajectories.lammps_input import lammps_settings_beside, lammps_settings_in
    if not str(getattr(traj.source, "format", "")).startswith("lammps"):
        return None
    settings = getattr(traj.source, "lammps_settings", None)            # found once by the reader
    if settings is not None:
        return settings
    for dump in traj.source.paths:
        for log in logs or ():
            found = lammps_settings_in(str(log), str(dump))
            if found is not None:
                return found
        found = lammps_settings_beside(str(dump))
        if found is not None:
            return found
    return None


def _charges_file(reference, settings, units):
    """(DataCharges, how it was found) of the first data file with a charge column: ``reference``, then the input's
    read_data files; (None, "") when none has one."""
    from trajmodes.io.trajectories.lammps_data import data_file_charges
    candidates = []
    if reference and os.path.isfile(str(reference)):
        candidates.append((str(reference), "--reference"))
    if settings is not None:
        candidates += [(p, f"read_data in {os.path.basename(settings.path)}") for name, p in
                       zip(settings.data_files, settings.data_paths()) if "$" not in name and os.path.isfile(p)]
    for path, how in candidates:
        try:
            found = data_file_charges(path, units)
        except (OSError, ValueError):                  # unreadable, or not a data file (TrajectoryFormatError)
            continue
        if found is not None:
            return found, how
    return None, ""


def _set_commands(settings):
    """The input's ``set type T charge Q`` commands before the run (variables substituted as LAMMPS did):
    [(lo, hi or None, q)]; and whether it sets charges otherwise (by atom, group, region: not read here) or through a
    value that cannot be known."""
    out = []
    for c in settings.before_run("set"):
        a = c.args
        if "charge" not in a:
            continue
        if c.unknown is not None or len(a) < 4 or a[0] != "type" or a[2] != "charge":
            return out, True
        lo, star, hi = a[1].partition("*")
        try:
            value = float(a[3])
            lo_i = int(lo) if lo else 1
            hi_i = (int(hi) if hi else None) if star else lo_i
        except ValueError:
            return out, True                              # a value only LAMMPS evaluates (v_q)
        out.append((lo_i, hi_i, value))
    return out, False


def _atom_charges(traj, table):
    """(charges, LAMMPS types) of the run's atoms (its order) from the data file's ``table``, by atom id where the
    reader knows them, else in id order when the numbers of atoms agree; None when neither applies."""
    ids = getattr(traj.source, "ids", None)
    if ids is not None and len(ids) == traj.n_atoms:
        at = np.searchsorted(table.ids, ids).clip(0, len(table.ids) - 1)
        if np.array_equal(table.ids[at], ids):
            return table.charges[at], table.types[at]
    if len(table.ids) == traj.n_atoms:
        return table.charges, table.types
    return None


def rigid_ion_charges(traj, reference=None, potential_range=None, logs=(), units=None) -> RigidIonCharges:
    """Born charges Z_k = q_k I and eps_inf = I for a rigid-ion run (the module docstring says when), else None with
    the reason in one line where there is something to say.

    Parameters
    ----------
    traj : Trajectory
        The run (a LAMMPS dump; others have no LAMMPS files to read and get no charges).
    reference : str, optional
        The reference structure file given (``--reference``).
    potential_range : PotentialRange, optional
        The run's potential as its input states it (:func:`~trajmodes.io.potentials.pair_style.potential_range_of`).
    logs : sequence of str
        The run's thermo logs (``--thermo``), read first for its input.
    units : str, optional
        The LAMMPS unit style (default: the input's, else metal).
    """
    settings = _settings_of(traj, logs)
    units = units or (settings.units if settings is not None else None) or "metal"
    table, how = _charges_file(reference, settings, units)
    if table is None:
        return _none()
    found = _atom_charges(traj, table)
    name = os.path.basename(table.path)
    if found is None:
        return _none(f"charges: {name} holds {len(table.ids)} atoms, the run {traj.n_atoms}: its charges are not "
                     "the run's; fitted without the dipole-dipole correction")
    q, types = found
    q = np.array(q, float)
    where = f"the Atoms section of {name} ({how}, atom_style {table.style})"
    if settings is not None:
        sets, other = _set_commands(settings)
        for lo, hi, value in sets:
            q[(types >= lo) & (types <= (types.max() if hi is None else hi))] = value
        if sets:
            where += f" and the set type ... charge commands of {os.path.basename(settings.path)}"
        if other:
            return _none(f"charges: {os.path.basename(settings.path)} sets charges by atom, group or region (or "
                         "through a variable), which are not read here; fitted without the dipole-dipole correction")
    if np.all(np.abs(q) < _ZERO):
        return _none()
    species = np.asarray(traj.species).astype(str)
    values = ", ".join(f"{s} {'/'.join(f'{v:+.4g}' for v in np.unique(np.round(q[species == s], 6)))}"
                       for s in dict.fromkeys(species.tolist()))
    reach = potential_range
    if reach is None:
        return _none(f"charges {values} e in {where}, but no LAMMPS input names the dump: whether their Coulomb "
                     "interaction is long-ranged is unknown; fitted without the dipole-dipole correction")
    style = f"pair_style {reach.style}" + (" with a kspace_style" if reach.kspace else "")
    if not (reach.kspace or _LONG_COULOMB.search(reach.style)):
        return _none(f"charges {values} e in {where}; {style} (in {os.path.basename(reach.source)}) has no "
                     "long-range Coulomb tail: fitted without the dipole-dipole correction")
    uneven = [int(t) for t in np.unique(types) if np.ptp(q[types == t]) > 1e-6 * max(np.abs(q).max(), 1.0)]
    if uneven:
        return _none(f"charges in {where} differ within LAMMPS type{'s' if len(uneven) > 1 else ''} "
                     f"{', '.join(map(str, uneven))} (not a rigid-ion model's): fitted without the dipole-dipole "
                     "correction")
    from trajmodes.forceconstants.dipole import CHARGE_SUM_FIT
    mean = float(q.mean())
    if abs(mean) > CHARGE_SUM_FIT * max(np.abs(q).max(), 1.0):
        return _none(f"charges {values} e in {where} are not neutral ({q.sum():+.4g} e in the {len(q)} atoms of the "
                     "run): fitted without the dipole-dipole correction")
    line = (f"charges {values} e from {where}, {style} (in {os.path.basename(reach.source)}): rigid-ion: Born "
            "charges = ionic charges, eps_inf = 1; the dipole-dipole forces are taken out before the fit "
            "(--charges none fits without)")
    return RigidIonCharges(q[:, None, None] * np.eye(3), np.eye(3), line)
