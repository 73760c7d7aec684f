"""``trajmodes.read``: one entry point for every trajectory format."""
from __future__ import annotations

from trajmodes.io import open_source
from trajmodes.trajectory.core import Trajectory


def read(source, *, format: str | None = None, reference=None, units: str | None = None,
         md_timestep: float | None = None, frame_interval: float | None = None, chunk_frames: int | None = None,
         species=None, masses=None, lj_scales: dict | None = None, topology=None, thermo=None,
         energy_column: str | None = None, stress_columns=None, timestep=None) -> Trajectory:
    """Open a trajectory lazily.

    Parameters
    ----------
    source : str, path, list of paths, glob, or MDAnalysis.Universe
        LAMMPS text dump(s) (plain or gzip; several files form one trajectory, restart
        duplicates dropped by timestep), extended or plain XYZ, a trajmodes netCDF cache,
        any format ASE reads (VASP, pw.x, .traj, ...; several files of a restarted run form one
        trajectory, :mod:`trajmodes.io.trajectories.restarts`), or anything MDAnalysis reads.
    format : str, optional
        ``"lammps"``, ``"xyz"``, ``"netcdf"``, or an MDAnalysis format name; guessed from the
        file's content when omitted.
    reference : None, "first", "average", path, Structure or array, optional
        The reference crystal for displacements: the first frame (default), the streamed
        time average, a LAMMPS data file or any structure file, or (n_atoms, 3) positions in Å.
    units : str, optional
        LAMMPS unit style of the data (metal, real, si, electron, lj); converted to metal. Default: the
        dump's ``ITEM: UNITS``, or the ``units`` of the LAMMPS input or log beside it, else metal.
    md_timestep : float, optional
        The MD integration step in ps (LAMMPS' ``timestep``): frame times are MD step x md_timestep. For
        files with MD step numbers and without times (LAMMPS dumps without ``ITEM: TIME``).
    frame_interval : float, optional
        The time between two frames in ps, for files without times.
        Without either, times come from the file, else from the LAMMPS input or log beside a dump, else they
        are assumed with a warning; ``Trajectory.time_axis`` says which (:mod:`trajmodes.io.trajectories.times`).
    chunk_frames : int, optional
        Frames per Dask chunk; default about 32 MB of float data per chunk, and for short runs at
        least one chunk per core (not below 32 frames).
    species, masses : dict or sequence, optional
        Element and mass (amu) of each LAMMPS type, for dumps without them; ``species`` may also be one string
        naming the types' elements in order, as ``--species`` does (``"Cu"``, ``"Si,O"``).
    lj_scales : dict, optional
        ``{"sigma": A, "epsilon": eV, "mass": amu}`` for ``units="lj"``.
    topology : str, optional
        Topology file for MDAnalysis formats without atom information (DCD, XTC, ...).
    thermo : str, path or list of them, optional
        LAMMPS dumps only: the log file(s) of the run (several for a restarted run). Their thermo rows
        (``thermo_style custom step pe press pxx pyy pzz pxy pxz pyz``, or ``one``) give each frame's
        ``potential_energy``, ``pressure`` and ``pressure_tensor``, matched by MD step: ``thermo N`` must divide
        the dump interval. The log's ``units`` command sets the unit style when the dump has no ``ITEM: UNITS``.
    energy_column : str, optional
        LAMMPS dumps only: the per-atom potential-energy column (``compute ID all pe/atom``) when it is not named
        ``c_pe``, ``c_peatom``, ``c_pe_atom``, ``c_epot`` or ``pe``; its sum over atoms is the frame's potential
        energy (the log's, when ``thermo=`` is given, takes precedence).
    stress_columns : str or sequence of 6 str, optional
        LAMMPS dumps only: the per-atom stress (``compute ID all stress/atom NULL``, pressure x volume), as
        ``"c_ID"`` or six column names in the order xx yy zz xy xz yz, when it is not found by its name
        (``c_stress[1..6]``, ``c_s[1..6]``, ...); the frame's pressure tensor is -sum_i S_i / V (in GPa; the log's,
        when ``thermo=`` is given, takes precedence).
    timestep
        No longer accepted (it meant either of the two above): a TypeError says which to use.

    Returns
    -------
    Trajectory
    """
    from trajmodes.io.trajectories.times import reject_timestep
    reject_timestep(timestep)
    src = open_source(source, format=format, units=units, lj_scales=lj_scales, md_timestep=md_timestep,
                      frame_interval=frame_interval, species=species, masses=masses, topology=topology,
                      thermo=thermo, energy_column=energy_column, stress_columns=stress_columns)
    traj = Trajectory(src, reference=reference, chunk_frames=chunk_frames)
    if reference is not None and not (isinstance(reference, str) and reference in ("first", "average")):
        traj.reference  # validate an explicit reference now, so a mismatch is reported at read time
    return traj


def from_arrays(positions, cell, species, *, frame_interval: float | None = None, masses=None, velocities=None,
                forces=None, potential_energy=None, reference=None, chunk_frames: int | None = None,
                unwrapped: bool = True, timestep=None, origins=None) -> Trajectory:
    """A :class:`Trajectory` over frames already in memory (numpy arrays or memory maps).

    Parameters
    ----------
    positions : array_like (n_frames, n_atoms, 3)
        Å.
    cell : array_like (3, 3) or (n_frames, 3, 3)
        Rows a, b, c in Å.
    species : sequence of str (n_atoms,)
        Element symbols.
    frame_interval : float
        Time between frames in ps (required). ``timestep=`` is refused as ambiguous.
    masses : array_like (n_atoms,), optional
        amu (default: standard atomic weights of ``species``).
    velocities, forces : array_like (n_frames, n_atoms, 3), optional
        Å/ps and eV/Å.
    potential_energy : array_like (n_frames,), optional
        Potential energy of every frame in eV (the whole cell's: what LAMMPS' ``pe`` reports in units metal); one
        finite value per frame, or a ValueError. The fit's mean energies and the TDEP free energy need it
        (:attr:`Trajectory.potential_energy`; :func:`trajmodes.phonons.thermodynamics.free_energy.tdep_free_energy`,
        :func:`trajmodes.phonons.thermodynamics.free_energy.free_energy_from_frames`).
    reference, chunk_frames
        As in :func:`read`.
    unwrapped : bool
        Whether positions are continuous in time.
    timestep
        No longer accepted (it was ambiguous): a TypeError says what to pass instead (here ``frame_interval``).
    origins : array_like (3,) or (n_frames, 3), optional
        The cell's origin (LAMMPS' xlo ylo zlo), Å; default zero.

    Returns
    -------
    Trajectory
        Lazy like any other: each Dask chunk copies its frames when computed.
    """
    from trajmodes.io.trajectories.memory import ArraySource
    from trajmodes.io.trajectories.times import reject_timestep
    reject_timestep(timestep)
    if frame_interval is None:
        raise TypeError("from_arrays needs frame_interval=<ps between frames>")
    src = ArraySource(positions, cell, species, masses=masses, velocities=velocities, forces=forces,
                      frame_interval=frame_interval, unwrapped=unwrapped, potential_energy=potential_energy,
                      origins=origins)
    traj = Trajectory(src, reference=reference, chunk_frames=chunk_frames)
    if reference is not None and not (isinstance(reference, str) and reference in ("first", "average")):
        traj.reference
    return traj


def read_displacement_dataset(path, forces=None, *, harmonic: bool = False, supercell_matrix=None,
                              chunk_frames: int | None = None):
    """A phonopy or phono3py displacement dataset as a :class:`~trajmodes.Trajectory` of displaced supercells.

    Every displaced supercell is a frame (positions = ideal supercell + displacement, forces, no velocities;
    frames 1 ps apart, a nominal axis); the reference is the ideal supercell, so
    ``EffectiveForceConstants(...).fit(traj)`` fits the dataset as phonopy / phono3py / symfc do (with
    ``cutoff2=None`` / ``cutoff3=None`` every pair / triplet of the supercell).

    Parameters
    ----------
    path, forces, harmonic, supercell_matrix
        As :func:`trajmodes.io.forceconstants.displacement_sets.parse_displacement_dataset`.
    chunk_frames : int, optional
        Frames per Dask chunk.

    Returns
    -------
    Trajectory
    """
    from trajmodes.io.forceconstants.displacement_sets import parse_displacement_dataset
    from trajmodes.io.trajectories.memory import displacement_source
    data = parse_displacement_dataset(path, forces, harmonic=harmonic, supercell_matrix=supercell_matrix)
    src, reference = displacement_source(data.supercell, data.displacements, data.forces, paths=data.paths)
    traj = Trajectory(src, reference=reference, chunk_frames=chunk_frames)
    traj.reference
    return traj
