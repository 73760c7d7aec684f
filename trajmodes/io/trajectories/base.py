"""The contract every trajectory reader fulfils.

A *frame source* is a small, picklable object describing one trajectory on
disk (or in an MDAnalysis Universe).  It knows the number of frames, the
atoms, and the time of each frame without holding any coordinates, and it
reads any set of frames on demand.  :class:`trajmodes.Trajectory` turns a
source into Dask arrays whose tasks call :meth:`FrameSource.read` on blocks of
frames, so a source must be safe to call from several threads at once and
must survive pickling to a ``dask.distributed`` worker (open files inside
:meth:`read`, never in ``__init__``-held handles that cannot pickle).

A reader class also says which files it takes, for the registry
(:mod:`trajmodes.io.trajectories.registry`): the names ``format=`` takes for it (:attr:`FrameSource.format_names`,
as MDAnalysis registers a reader by its ``format``), whether it can open a file from the file's first bytes
(:meth:`FrameSource.can_open`, as xarray asks each backend ``guess_can_open``), and how it is made from the options
of :func:`trajmodes.io.open_source` (:meth:`FrameSource.from_options`).
"""
from __future__ import annotations

import numpy as np

from trajmodes.units import AMU_A2_PS2_EV, EV_J

#: per-atom vector fields a source may provide, in metal units
FIELDS = ("positions", "velocities", "forces")
#: per-frame quantities a source may provide (:attr:`FrameSource.frame_fields`):
#:
#: - ``potential_energy``: total potential energy of the cell, eV;
#: - ``pressure``: GPa, LAMMPS' sign (positive when compressed), as the source reports it: LAMMPS' thermo
#:   ``press`` includes the kinetic term, a static DFT stress does not;
#: - ``pressure_tensor``: (3, 3) GPa, the same sign (LAMMPS' pxx pyy pzz pxy pxz pyz); an ASE stress
#:   sigma (positive under tension) is its negative: P = -sigma;
#: - ``heat_current``: (3,) eV Å/ps, the volume-integrated heat current sum_i e_i v_i - sum_i S_i v_i of a dump with
#:   per-atom potential energies, stresses and velocities (as LAMMPS' ``compute heat/flux`` writes it).
FRAME_FIELDS = ("potential_energy", "pressure", "pressure_tensor", "heat_current")
#: the shape of one frame's value of each per-frame quantity
FRAME_SHAPES = {"potential_energy": (), "pressure": (), "pressure_tensor": (3, 3), "heat_current": (3,)}
FIELD_UNITS = {"positions": "Angstrom", "velocities": "Angstrom/ps", "forces": "eV/Angstrom",
               "displacements": "Angstrom", "cells": "Angstrom", "origins": "Angstrom",
               "times": "ps", "masses": "amu", "potential_energy": "eV", "pressure": "GPa",
               "pressure_tensor": "GPa", "heat_current": "eV Angstrom/ps"}
#: LAMMPS' order of the six pressure-tensor components (thermo keywords pxx pyy pzz pxy pxz pyz)
TENSOR_COMPONENTS = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))


class FrameSource:
    """Base class of the readers.

    Attributes every subclass sets
    ------------------------------
    paths : list[str]
        Files read (for messages and the cache's provenance).
    n_frames : int
        Number of frames (after dropping restart duplicates and a truncated last frame).
    n_atoms : int
    species : ndarray of str, shape (n_atoms,)
        Element symbols, or LAMMPS type numbers as strings when the file has no elements.
    masses : ndarray (n_atoms,) in amu, or None when unknown.
    ids : ndarray of int (n_atoms,)
        Atom ids in the order of the atom axis (ascending).
    steps : ndarray of int (n_frames,)
        MD step of every frame (the frame index when the format has none).
    times : ndarray of float (n_frames,)
        Time of every frame in ps.
    fields : tuple[str, ...]
        Which of ``FIELDS`` the file provides.
    frame_fields : tuple[str, ...]
        Which of ``FRAME_FIELDS`` (per-frame energy and pressure) the data provide; empty by default.
    has_cell : bool
        Whether frames carry a periodic cell.
    unwrapped : bool
        Whether ``positions`` are continuous in time (unwrapped coordinates or
        image flags applied) rather than wrapped into the box.
    units : str
        The unit style the file was written in (data are converted to metal).
    md_timestep : float or None
        The MD integration step in ps, when known (:mod:`trajmodes.io.trajectories.times`).
    time_axis : str
        Where the frame times came from, in words (starts with ``ASSUMED`` when nothing stated them).
    masses_from : str or None
        Where the masses came from when the run's own files beside the data stated them (a LAMMPS input's ``mass``
        commands, the data file its ``read_data`` reads), in words; None otherwise (elements, values given, a mass
        column).
    masses_problem : str or None
        Why the masses are unknown although the run's own files were looked at (the file that lacks them and what
        to give), or None.
    """

    paths: list
    n_frames: int
    n_atoms: int
    species: np.ndarray
    masses: np.ndarray | None
    ids: np.ndarray
    steps: np.ndarray
    times: np.ndarray
    fields: tuple
    frame_fields: tuple = ()
    has_cell: bool = True
    unwrapped: bool = False
    units: str = "metal"
    format: str = ""
    md_timestep: float | None = None
    time_axis: str = "unknown"
    masses_from: str | None = None
    masses_problem: str | None = None
    #: LAMMPS atom types in id order, where the format has them (checked against a data-file reference)
    types: np.ndarray | None = None

    def read(self, frames: np.ndarray, fields=None) -> dict:
        """Read frames by their index (0 .. n_frames-1, ascending).

        ``fields`` (names of :attr:`fields` and :attr:`frame_fields`; None for all) lets a source skip
        the work for fields nobody asked for; a source may return more than asked.

        Returns
        -------
        dict
            ``"positions"``, ``"velocities"``, ``"forces"``: float64 arrays of shape
            (len(frames), n_atoms, 3) in metal units, atoms in id order, present
            for the fields the source provides; ``"cells"``: (len(frames), 3, 3),
            rows a, b, c in Å (NaN when the format has no cell);
            ``"origins"``: (len(frames), 3) cell origins in Å. ``"cells"`` and ``"origins"`` may be
            left out when ``fields`` names per-frame quantities only. The :attr:`frame_fields` asked for:
            ``"potential_energy"`` (len(frames),) eV, ``"pressure"`` (len(frames),) GPa,
            ``"pressure_tensor"`` (len(frames), 3, 3) GPa (see :data:`FRAME_FIELDS`).
        """
        raise NotImplementedError

    def token(self) -> tuple:
        """A value that identifies the data read (paths, sizes, mtimes), for Dask task names."""
        raise NotImplementedError

    def heat_current_missing(self) -> tuple:
        """What the frames lack for the heat current (:data:`FRAME_FIELDS` ``heat_current``), each in words with what
        would give it; empty when they carry it. Only LAMMPS dumps
        (:class:`~trajmodes.io.trajectories.lammps.LammpsDumpSource`) hold per-atom energies and stresses."""
        if "heat_current" in self.frame_fields:
            return ()
        out = [f"per-atom potential energies and stresses ({self.format} data hold neither: read the LAMMPS dump "
               "of the run, with its per-atom columns)"]
        if "velocities" not in self.fields:
            out.append("velocities")
        if self.masses is None:
            out.append("the atoms' masses (--species or --masses)")
        return tuple(out)

    def describe(self) -> str:
        """One line naming the source, for messages."""
        return f"{self.format} {', '.join(map(str, self.paths))}"

    # -- the registry's questions (:mod:`trajmodes.io.trajectories.registry`)

    #: the names ``format=`` (``--format``) takes for this reader, lower case; the first is the one
    #: :func:`~trajmodes.io.trajectories.registry.identify` names
    format_names: tuple[str, ...] = ()
    #: what the registry says a path of this reader is (:attr:`~trajmodes.io.trajectories.registry.Identified.kind`)
    kind = "trajectory"
    #: whether :meth:`can_open` is asked of a folder (no reader of frames takes one)
    takes_folders = False
    #: what a file needs to be of this format, in words, for the message on a file no reader takes
    needs = ""

    @classmethod
    def takes(cls, fmt: str) -> bool:
        """Whether the format name ``fmt`` (lower case) is this reader's."""
        return fmt in cls.format_names

    @classmethod
    def can_open(cls, head: bytes, path: str) -> bool:
        """Whether this reader takes the file ``path`` whose first bytes (gzip decompressed) are ``head``; it may
        refuse the file outright (a :class:`~trajmodes.errors.TrajectoryFormatError` that says what it is)."""
        return False

    @classmethod
    def format_name(cls, head: bytes, path: str) -> str:
        """The format name :func:`~trajmodes.io.trajectories.registry.identify` gives a file this reader can open."""
        return cls.format_names[0]

    @classmethod
    def from_options(cls, paths: list[str], fmt: str, format: str | None = None, **options) -> FrameSource:
        """The source of the files ``paths`` of the format ``fmt`` (lower case; ``format`` as the caller gave it,
        None when sniffed), from the keywords of :func:`trajmodes.io.open_source` (``units``, ``lj_scales``,
        ``md_timestep``, ``frame_interval``, ``species``, ``masses``, ``topology``, ``thermo``, ``energy_column``,
        ``stress_columns``); refuses, naming them, the ones that do not apply to the format."""
        raise NotImplementedError


#: the keywords of :func:`trajmodes.io.open_source` that only LAMMPS dumps take
LAMMPS_ONLY = ("thermo", "energy_column", "stress_columns", "lammps_settings")


def refuse_lammps_options(name: str, fmt: str, options: dict) -> None:
    """Refuse the options that only LAMMPS dumps take (:data:`LAMMPS_ONLY`), given for a source of format ``fmt``."""
    given = [k for k in LAMMPS_ONLY if options.get(k) is not None]
    if given:
        raise ValueError(f"{name}: {' and '.join(k + '=' for k in given)} {'is' if len(given) == 1 else 'are'} for "
                         f"LAMMPS dumps only, not {fmt} data (an extended XYZ file's energy= and stress= are read "
                         "from its comment lines without it)")


def refuse_several_files(paths: list[str], fmt: str) -> None:
    """Refuse several files for a format whose reader takes one."""
    if len(paths) > 1:
        raise ValueError(f"several files are supported for LAMMPS dumps, the formats ASE reads (VASP, pw.x, ASE "
                         f".traj, ...) and MDAnalysis formats, not {fmt}")


def nonpositive_masses(masses) -> np.ndarray:
    """The indices of the masses that are not positive numbers (0, negative, NaN or infinite); empty when all are."""
    m = np.asarray(masses, dtype=float).reshape(-1)
    with np.errstate(invalid="ignore"):
        return np.flatnonzero(~(np.isfinite(m) & (m > 0)))


def refuse_bad_masses(source: FrameSource) -> None:
    """Refuse a source whose masses (known ones) are not all positive numbers, naming the first atom: a mass of 0
    passes into every mass-weighted quantity (temperatures, modes, the heat current) as NaN or infinity. The readers
    of the formats with a mass column or a Masses section refuse it themselves with the file's line; this is what
    every source is checked with on opening (:func:`trajmodes.io.open_source`)."""
    if source.masses is None:
        return
    bad = nonpositive_masses(source.masses)
    if len(bad):
        from trajmodes.errors import TrajectoryFormatError
        i = int(bad[0])
        ids = getattr(source, "ids", None)
        who = f"atom id {int(ids[i])}" if ids is not None and len(ids) == len(source.masses) else f"atom {i + 1}"
        raise TrajectoryFormatError(source.paths[0] if source.paths else source.describe(),
                                    f"{who} ({source.species[i]}) has mass {float(source.masses[i])!r} amu"
                                    + (f", and {len(bad) - 1} more atoms a mass that is not positive"
                                       if len(bad) > 1 else "") + ": a mass must be a positive number",
                                    fix="Correct the masses in the file, or give them (masses= in amu; --masses)")


def empty_frames(n: int, n_atoms: int, fields) -> dict:
    """Uninitialised output arrays for ``n`` frames: per-atom ``fields`` and the per-frame quantities among
    them, cells (NaN) and origins (zero)."""
    out = {f: np.empty((n,) + FRAME_SHAPES[f]) if f in FRAME_SHAPES else np.empty((n, n_atoms, 3))
           for f in fields}
    out["cells"] = np.full((n, 3, 3), np.nan)
    out["origins"] = np.zeros((n, 3))
    return out


def wanted_frame_fields(source: FrameSource, fields) -> tuple:
    """The per-frame quantities of ``source`` that a ``read(frames, fields)`` asks for (all when None)."""
    have = source.frame_fields
    return tuple(have) if fields is None else tuple(f for f in have if f in fields)


def tensor_from_components(components: np.ndarray) -> np.ndarray:
    """Symmetric (n, 3, 3) tensors from (n, 6) components in LAMMPS' order xx yy zz xy xz yz."""
    c = np.asarray(components, dtype=float)
    out = np.empty(c.shape[:-1] + (3, 3))
    for k, (i, j) in enumerate(TENSOR_COMPONENTS):
        out[..., i, j] = out[..., j, i] = c[..., k]
    return out


#: eV per GPa Å³ (a per-atom stress, pressure x volume, as an energy)
GPA_A3_EV = 1e9 * 1e-30 / EV_J


def heat_flux_matrices(energy: np.ndarray, stress: np.ndarray, velocities: np.ndarray, masses: np.ndarray,
                       stress_to_ev: float) -> np.ndarray:
    """Each atom's share of the heat current as a matrix acting on its velocity: G_i = e_i 1 - S_i, eV, so that the
    volume-integrated current of a frame is J = sum_i G_i v_i (:func:`heat_current`), e_i the atom's kinetic plus
    potential energy, S_i its stress (pressure x volume; the negative of its share of the pressure tensor times the
    volume). Six components (xx yy zz xy xz yz, ``compute stress/atom``) are taken as symmetric; nine (then yx zx zy,
    ``compute centroid/stress/atom``) are the centroid form that a many-body potential needs (Surblys, Matsubara,
    Kikugawa and Ohara, Phys. Rev. E 99, 051301 (2019)). A share of the velocities (one mode's, one frequency band's)
    carries the share G_i v_i of the current: the modal analysis of Lv and Henry, New J. Phys. 18, 013028 (2016).

    Parameters
    ----------
    energy : ndarray (frames, atoms)
        Potential energies, eV.
    stress : ndarray (frames, atoms, 6 or 9)
        In the file's pressure x volume unit; ``stress_to_ev`` converts it to eV.
    velocities : ndarray (frames, atoms, 3)
        Velocities of the atoms, Å/ps.
    masses : ndarray (atoms,)
        Mass of each atom, amu.

    Returns
    -------
    ndarray (frames, atoms, 3, 3)
        eV; row x gives the x component of the current.
    """
    v = np.asarray(velocities, dtype=float)
    e = np.asarray(energy, dtype=float) + 0.5 * AMU_A2_PS2_EV * np.asarray(masses, dtype=float) * (v ** 2).sum(-1)
    s = np.asarray(stress, dtype=float)
    rows = (0, 3, 4), ((6, 1, 5) if s.shape[-1] == 9 else (3, 1, 5)), ((7, 8, 2) if s.shape[-1] == 9 else (4, 5, 2))
    g = np.stack([s[..., list(r)] for r in rows], axis=-2) * -float(stress_to_ev)
    g[..., 0, 0] += e
    g[..., 1, 1] += e
    g[..., 2, 2] += e
    return g


def heat_current(energy: np.ndarray, stress: np.ndarray, velocities: np.ndarray, masses: np.ndarray,
                 stress_to_ev: float) -> np.ndarray:
    """The volume-integrated heat current of every frame, J = sum_i e_i v_i - sum_i S_i v_i, (frames, 3) eV Å/ps, as
    LAMMPS' ``compute heat/flux`` defines it; the arguments as :func:`heat_flux_matrices`'."""
    v = np.asarray(velocities, dtype=float)
    return np.einsum("faxb,fab->fx", heat_flux_matrices(energy, stress, v, masses, stress_to_ev), v)


def pressure_from_tensor(tensor: np.ndarray) -> np.ndarray:
    """The pressure (one third of the trace) of (n, 3, 3) pressure tensors, in their unit."""
    return np.trace(np.asarray(tensor), axis1=-2, axis2=-1) / 3.0


def take_frame_fields(stored: dict, frames: np.ndarray, fields) -> dict:
    """The per-frame quantities of ``stored`` (name -> (n_frames, ...) array held in memory) named in
    ``fields`` (None for all), for ``frames``."""
    frames = np.asarray(frames, dtype=np.int64)
    return {k: v[frames] for k, v in stored.items() if fields is None or k in fields}


def read_time_scale(source: FrameSource, frame_bytes: np.ndarray, *, consecutive: int = 128, spread: int = 8,
                    atom_lines: int = 4_000_000):
    """The time-scale check of a reader on opening (:func:`trajmodes.io.trajectories.times.time_scale`): the first
    consecutive frames (at most ``consecutive``, as many as :func:`~trajmodes.io.trajectories.times.interval_frames`
    allows for frames of ``frame_bytes`` bytes, at least 5) and ``spread`` frames spread over the run (0: the first
    frames only, for a source read sequentially), about ``atom_lines`` atoms in all, read once. Sets
    ``source.time_step_check`` and adds its note to ``source.time_axis``.

    Returns
    -------
    TimeScale or None
        None where there is nothing to check (fewer than 3 frames; neither velocities nor times) or a frame read is
        damaged (reading it says what is wrong).
    """
    from trajmodes.errors import TrajectoryFormatError
    from trajmodes.io.trajectories.times import interval_frames, time_scale
    source.time_step_check = None
    has_v = "velocities" in source.fields
    known = not source.time_axis.startswith("ASSUMED")
    n = source.n_frames
    if n < 3 or not (has_v or known):
        return None
    room = max(3, atom_lines // max(source.n_atoms, 1))
    run = np.arange(max(min(n, consecutive, room - spread, interval_frames(frame_bytes, source.n_atoms)),
                        min(n, 5, room)))
    frames = np.union1d(run, np.linspace(0, n - 1, max(0, min(spread, room - len(run)))).round().astype(np.int64))
    try:
        d = source.read(frames, fields=("positions", "velocities") if has_v else ("positions",))
    except TrajectoryFormatError:
        return None
    got = source.time_step_check = time_scale(d["positions"], d["cells"], source.times[frames] if known else None,
                                              source.masses, d.get("velocities"),
                                              consecutive=np.append(np.diff(frames) == 1, False))
    source.time_axis += got.note()
    return got
