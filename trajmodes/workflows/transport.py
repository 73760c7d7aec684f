"""The Green-Kubo conductivity of a run's heat current, as ``trajmodes conductivity`` computes it: the current read
from a file the run wrote or computed from its frames, its cepstral analysis, running integral and tensor, its split
over the velocities' frequency and over the crystal's modes, and the Boltzmann equation of the same constants beside
it."""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import numpy as np

__all__ = ["HeatCurrentConductivity", "heat_current_conductivity", "is_current_file", "BoltzmannBeside",
           "boltzmann_beside", "BTE_MESHES", "BTE_CONVERGED", "BTE_ERROR_MESH", "BTE_RESAMPLES", "RUN_LIFETIMES",
           "REACH_LIFETIMES", "lifetime_checks", "lifetime_resolution", "FOUR_PHONON_SAMPLE", "fstar_note",
           "OwnConstants", "fit_own_constants", "mode_lifetime_conductivity", "ConductivitySettings",
           "ConductivityResult", "conductivity"]


@dataclass(frozen=True)
class HeatCurrentConductivity:
    """The Green-Kubo conductivity of a run's heat current (``trajmodes conductivity``).

    Parameters
    ----------
    current : ndarray (steps, 3)
        The volume-integrated heat current, eV Å/ps.
    source : str
        Where it came from, in words: the file and its kind, or the dump's per-atom columns it was computed from.
    cepstral : xarray.Dataset
        :func:`~trajmodes.transport.cepstral.cepstral_conductivity`: kappa with its error, the periodogram and its fit.
    integral : xarray.Dataset
        :func:`~trajmodes.transport.cepstral.green_kubo_integral`: the running integral.
    tensor : xarray.Dataset or None
        :func:`~trajmodes.transport.cepstral.cepstral_tensor` (asked for, one current).
    temperature : float
        K, as used (``notes``: where it came from, and the volume).
    volume : float
        Volume of the simulation cell the current was summed over, Å³.
    dt : float
        ps between rows.
    notes : tuple of str
        Every value the workflow decided (temperature, volume, time step, the integral's reach), each with where it
        came from, in words.
    modal : xarray.Dataset or None
        :func:`~trajmodes.transport.decomposition.modal_conductivity`: the modes' shares (a trajectory and force constants).
    spectral : xarray.Dataset or None
        :func:`~trajmodes.transport.decomposition.spectral_conductivity`: the shares of the velocities' frequency bands
        (a trajectory whose velocities and heat-flux matrices may be held).
    boltzmann : BoltzmannBeside or None
        :func:`boltzmann_beside`: the Boltzmann equation of the same constants (with a third order) at the run's
        temperature, on the MD grid and converged.
    """

    current: np.ndarray
    source: str
    cepstral: object
    integral: object
    tensor: object | None
    temperature: float
    volume: float
    dt: float
    notes: tuple
    modal: object | None = None
    boltzmann: object | None = None
    spectral: object | None = None

    def past_cutoff(self):
        """kappa with twice the cepstral coefficients of :attr:`cepstral`, its error, and whether it keeps rising past
        them (the current's zero-frequency peak sharper than the Akaike choice resolves):
        :func:`~trajmodes.transport.cepstral.kappa_past_cutoff`, (kappa W/(m K), error, bool)."""
        from trajmodes.transport.cepstral import kappa_past_cutoff
        return kappa_past_cutoff(self.cepstral)

    def integral_still_rising(self) -> bool:
        """Whether the running integral rose by more than 10 % over the second half of its window: the correlation
        has not decayed by then, or the integral's noise is that large
        (:func:`~trajmodes.transport.cepstral.integral_still_rising`)."""
        from trajmodes.transport.cepstral import integral_still_rising
        return bool(integral_still_rising(self.integral))

    def heat_band(self, share: float = 0.8):
        """The band of the velocities' frequency (lowest, highest, THz) that carries the middle ``share`` of the
        spectral split's conductivity (:attr:`spectral`, :func:`~trajmodes.transport.decomposition.heat_band`).

        Parameters
        ----------
        share : float
            The share of the conductivity inside the band (0 to 1).
        """
        from trajmodes.transport.decomposition import heat_band
        return heat_band(self.spectral, share)


def heat_current_conductivity(source, *, current: str | None = None, others=(), temperature: float | None = None,
                              volume: float | None = None, md_timestep: float | None = None,
                              frame_interval: float | None = None, units: str | None = None,
                              fstar: float | None = None, cutoff: int | None = None, tensor: bool = False,
                              max_time: float | None = None, force_constants=None,
                              spectral: bool | None = None, resamples=None, members=None, run=None,
                              lj_scales: dict | None = None) -> HeatCurrentConductivity:
    """The Green-Kubo thermal conductivity of a run's heat current (``trajmodes conductivity``): cepstral analysis
    with its error bar, the running integral, and the tensor if asked.

    Every value decided (the runs and rows read, the units, the time between rows, the temperature, volume, f* and
    the integral's reach) is said in :attr:`HeatCurrentConductivity.notes` with where it came from.

    Parameters
    ----------
    source : str or Trajectory
        A file the run wrote its heat current to (a LAMMPS log, ``fix ave/time`` or ``fix print`` file, a table of
        columns: :mod:`trajmodes.io.heat_current`), or a trajectory whose frames carry it
        (:func:`~trajmodes.transport.current.heat_current_of_run`: a LAMMPS dump with per-atom energies, stresses
        and velocities).
    current, others, units, lj_scales
        Of a file: as :func:`~trajmodes.io.heat_current.read_heat_current` (a trajectory was read with its own).
    temperature : float, optional
        K; default the run's (the file's temperature column, the trajectory's kinetic temperature).
    volume : float, optional
        Å³; default the run's (the file's volume or box; the trajectory's mean cell).
    md_timestep : float, optional
        ps, the MD time step of a file without a ``timestep`` command.
    frame_interval : float, optional
        ps between rows of a file without a step column.
    fstar, cutoff
        Of :func:`~trajmodes.transport.cepstral.cepstral_conductivity` (default f*: the band of 90 % of the power;
        the cutoff: the Akaike choice).
    tensor : bool
        The 3x3 tensor too (:func:`~trajmodes.transport.cepstral.cepstral_tensor`).
    max_time : float, optional
        ps of the running integral (default a tenth of the run).
    force_constants : ForceConstants or str, optional
        Of a trajectory: split the integral over the crystal's modes (a second pass; Lv and Henry, New J. Phys. 18,
        013028 (2016): :func:`~trajmodes.transport.decomposition.modal_conductivity`), and with a third order the
        Boltzmann equation's conductivity beside it (:func:`boltzmann_beside`).
    resamples : iterable of ForceConstants, optional
        The bootstrap resamples of ``force_constants``' fit: the Boltzmann equation's error bar
        (:func:`boltzmann_beside`).
    members : iterable of ForceConstants, optional
        The constants of every member of a committee of learned potentials fitted to the same frames: the Boltzmann
        equation's committee error bar (:func:`boltzmann_beside`; one three-phonon calculation per member).
    run : int or sequence of int, optional
        Of a file: the run(s) to read (:func:`~trajmodes.io.heat_current.read_heat_current`), where the log holds
        several that do not continue each other.
    spectral : bool, optional
        Of a trajectory: split the integral over the frequency of the velocities
        (:func:`~trajmodes.transport.decomposition.spectral_conductivity`, a second pass); default: where its frames
        may be held (a note says when not).

    Raises
    ------
    ValueError
        Where the temperature, volume or time between rows is neither in the run nor given (one line that says
        which option gives it); a value given that is not a positive number, an f* above the Nyquist frequency; a
        series the analysis cannot take (all zero, too short), naming the file and its rows.
    """
    from trajmodes.transport.cepstral import cepstral_conductivity, cepstral_tensor, green_kubo_integral
    _check_numbers(temperature=temperature, volume=volume, md_timestep=md_timestep, frame_interval=frame_interval,
                   fstar=fstar, max_time=max_time)
    if cutoff is not None and not (isinstance(cutoff, (int, np.integer)) and cutoff >= 0):
        raise ValueError(f"cutoff={cutoff!r}: the last cepstral coefficient kept, a whole number >= 0 (--coefficients "
                         "P* = cutoff + 1)")
    if tensor and others:
        raise ValueError("the tensor takes the heat current alone: one Cartesian component has too few degrees of "
                         "freedom to take other currents out (a fluid is isotropic: leave out the tensor)")
    if hasattr(source, "frame_fields"):                       # a trajectory whose frames carry the current
        c = _current_of_trajectory(source, others, run, spectral, force_constants)
    else:
        c = _current_of_file(source, current, others, units, md_timestep, frame_interval, run, lj_scales,
                             temperature)
    source, j, dt, where, notes = c.source, c.j, c.dt, c.where, c.notes
    temperature, volume = _temperature_and_volume(c, temperature, volume)
    current_all = j if c.others is None else np.concatenate([j[None], c.others])
    try:
        ceps = cepstral_conductivity(current_all, dt, temperature, volume, fstar=fstar, cutoff=cutoff)
        integral = green_kubo_integral(j, dt, temperature, volume, max_time=max_time)
        tens = cepstral_tensor(j, dt, temperature, volume, fstar=ceps.attrs["fstar_asked_THz"]) if tensor else None
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    notes.append(fstar_note(ceps))
    notes.append(f"running integral to {float(integral.time.values[-1]):g} ps: {integral.attrs['max_time_note']}")
    split = modal = bte = None
    if c.trajectory and spectral is not False:
        from trajmodes.transport.decomposition import spectral_conductivity
        if c.split_wanted:
            split = spectral_conductivity(source, current=(j, temperature, volume), max_time=max_time, flux=c.flux)
        else:
            notes.append(f"no split over the velocities' frequency: it holds the run's velocities and heat-flux "
                         f"matrices, {c.need / 1e9:.2g} GB, more than may be held here")
    if force_constants is not None:
        modal, bte = _modal_split(c, force_constants, temperature, volume, max_time, resamples, members)
    return HeatCurrentConductivity(np.asarray(j), c.what, ceps, integral, tens, float(temperature), float(volume),
                                   float(dt), tuple(notes), modal, bte, split)


def _check_numbers(**values) -> None:
    """Refuse a value given that is not a positive finite number, naming its option."""
    for name, value in values.items():
        if value is not None and not (isinstance(value, (int, float, np.integer, np.floating))
                                      and np.isfinite(value) and value > 0):
            raise ValueError(f"{name}={value!r}: must be a positive number (--{name.replace('_', '-')})")


@dataclass
class _Current:
    """A run's heat current as read, with what the run says of its temperature and volume and where each came from.

    ``j`` (n, 3) the current, ``others`` (m, n, 3) the other currents or None, ``dt`` ps between rows, ``t_run`` K and
    ``v_run`` Å³ the run's own (None where it has none), ``t_note``/``v_note`` where they came from, ``notes`` the
    decisions made in reading, ``what`` and ``where`` the current and its file for messages. Of a trajectory:
    ``source`` the run the pass read, ``flux`` the velocities and heat-flux matrices held for the splits (or None),
    ``need`` bytes they take, ``split_wanted`` whether the split over the velocities' frequency is made.
    """
    source: object
    j: np.ndarray
    others: np.ndarray | None
    dt: float
    t_run: float | None
    v_run: float | None
    t_note: str
    v_note: str
    notes: list
    what: str
    where: str
    trajectory: bool = False
    flux: object = None
    need: float = 0.0
    split_wanted: bool = False


def _current_of_trajectory(source, others, run, spectral, force_constants) -> _Current:
    """The heat current of a trajectory whose frames carry per-atom energies, stresses and velocities (one pass)."""
    from trajmodes.io.potentials.pair_style import potential_range_of     # the run's pair_style, where named
    from trajmodes.resources import may_hold
    from trajmodes.transport.current import heat_current_of_run
    from trajmodes.transport.decomposition import spectral_memory
    if others:
        raise ValueError("other currents are read from a table or log, not from a trajectory's frames")
    if run is not None:
        raise ValueError("run= picks a run of a log or table of the current, not of a trajectory's frames")
    need = spectral_memory(source.n_frames, source.n_atoms)
    split_wanted = spectral is not False and (spectral or may_hold(need, where="here"))
    # the velocities and heat-flux matrices held from the current's pass where a split will need them and they
    # may be held: the splits over the velocities' frequency and over the modes then read no frame again
    hold = (split_wanted or force_constants is not None) and may_hold(need, where="here")
    reading = source.read_pass()      # the current's read: its provisional reference serves the modes after it
    got = heat_current_of_run(source, potential_range_of([source]), hold_flux=hold,
                              lattice=force_constants is not None, reading=reading)
    source = reading.run
    (j, t_run, v_run), flux = got[:3], (got[3] if hold else None)
    stress = len(getattr(source.source, "stress_columns", None) or ())
    what = (f"{source.source.describe()}: sum_i e_i v_i - sum_i S_i v_i from its per-atom energies, "
            + ("centroid stresses (nine columns)" if stress == 9 else "stresses (six columns: right for pair "
               "potentials and EAM only)") + " and velocities")
    dt = source.frame_interval
    return _Current(source, j, None, dt, t_run, v_run, "the run's mean kinetic temperature",
                    "the mean of the frames' cells", [f"{len(j)} frames, {dt:g} ps apart: {source.time_axis}"], what,
                    source.source.describe(), trajectory=True, flux=flux, need=need, split_wanted=split_wanted)


def _current_of_file(source, current, others, units, md_timestep, frame_interval, run, lj_scales,
                     temperature) -> _Current:
    """The heat current of a file the run wrote it to (a log, a ``fix ave/time`` or ``fix print`` file, a table)."""
    from trajmodes.io.heat_current import read_heat_current
    s = read_heat_current(source, current=current, others=others, units=units, md_timestep=md_timestep, run=run,
                          lj_scales=lj_scales)
    j = s.current
    t_run = float(np.mean(s.temperature)) if s.temperature is not None else None
    what = f"{', '.join(s.columns)} of {source} ({s.source}; units {s.units or 'metal (assumed)'})"
    where = s.where()
    said = {n.split(" ", 1)[0]: n for n in s.notes if n.startswith(("temperature: ", "volume "))}
    notes = [n for n in s.notes if n not in said.values()]
    dt = frame_interval if frame_interval is not None else s.dt
    if frame_interval is not None:
        notes.append(f"{frame_interval:g} ps between rows: given (frame_interval)" + (
            f"; the file's steps and time step say {s.dt:g} ps" if s.dt is not None and
            abs(s.dt - frame_interval) > 1e-9 * frame_interval else ""))
    if dt is None:
        raise ValueError(f"{where}: the time between rows is unknown (no step column, or no timestep command): "
                         "give --md-timestep (ps) or --frame-interval (ps between rows)")
    if t_run is not None and temperature is None and np.any(s.temperature <= 0):
        k = int(np.flatnonzero(s.temperature <= 0)[0])
        row = f", line {int(s.lines[k])}" if s.lines is not None else f", row {k + 1}"
        raise ValueError(f"{s.path}{row}: the temperature column is {s.temperature[k]:g} K in this row (its mean "
                         f"{t_run:g} K): repair or remove the line, or give the run's temperature (--temperature "
                         "K)")
    t_note = "the mean of the file's column" + (f" ({said['temperature:'].split(': ', 1)[1]})"
                                                 if "temperature:" in said else "")
    v_note = said["volume"].split(": ", 1)[1] if "volume" in said else "from the file"
    if not np.any(j):
        raise ValueError(f"{where}: the current ({', '.join(s.columns)}) is zero in every row: the run wrote no "
                         "heat current there (check the compute and the columns named)")
    if len(j) > 1 and not np.any(np.ptp(j, axis=0)):
        raise ValueError(f"{where}: the current ({', '.join(s.columns)}) is {', '.join(f'{v:g}' for v in j[0])} "
                         "in every row: a constant has no fluctuations to correlate (check the columns named: a "
                         "compute evaluated once, or a value that is not the current)")
    return _Current(source, j, s.others, dt, t_run, s.volume, t_note, v_note, notes, what, where)


def _temperature_and_volume(c: _Current, temperature, volume) -> tuple[float, float]:
    """The temperature (K) and volume (Å³) of the analysis: given, or the run's; each said in ``c.notes``."""
    if temperature is None:
        if c.t_run is None:
            raise ValueError(f"{c.source}: the file has no temperature column: give the run's mean temperature "
                             "(--temperature K)")
        temperature = c.t_run
        c.notes.append(f"temperature {c.t_run:.6g} K: {c.t_note}")
    else:
        c.notes.append(f"temperature {temperature:.6g} K: given")
    if volume is None:
        if c.v_run is None:
            raise ValueError(f"{c.source}: the file states no volume: give the cell's volume (--volume A^3)")
        volume = c.v_run
        c.notes.append(f"volume {c.v_run:.8g} A^3: {c.v_note}")
    else:
        c.notes.append(f"volume {volume:.8g} A^3: given")
    return temperature, volume


def _modal_split(c: _Current, force_constants, temperature, volume, max_time, resamples, members):
    """The integral split over the crystal's modes and, with a third order, the Boltzmann equation's beside it."""
    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.phonons.harmonic.phonons import Phonons
    from trajmodes.transport.decomposition import modal_conductivity
    if not c.trajectory:
        raise ValueError("the modal analysis needs the run's frames (a dump with per-atom energies, stresses and "
                         "velocities), not a file of its total current")
    fc = force_constants if isinstance(force_constants, ForceConstants) else ForceConstants.read(force_constants)
    modal = modal_conductivity(c.source, Phonons(fc), current=(c.j, temperature, volume), max_time=max_time,
                               flux=c.flux)
    if c.flux is None:
        c.notes.append(f"the modes' shares in a second pass over the frames: their velocities and heat-flux "
                       f"matrices, {c.need / 1e9:.2g} GB, are more than may be held here")
    bte = None
    if fc.fc3_sparse is not None:
        matrix = np.reshape(modal.attrs["supercell_matrix"], (3, 3))
        bte = boltzmann_beside(fc, matrix, temperature, resamples=resamples, members=members)
    return modal, bte

def is_current_file(files) -> bool:
    """Whether ``files`` are one file of a run's heat current (a LAMMPS log, a ``fix ave/time`` or ``fix print`` file,
    a table: :func:`heat_current_conductivity` reads the current from it) rather than a trajectory whose frames it
    is computed from (a LAMMPS dump, a netCDF cache: :func:`~trajmodes.io.trajectories.registry.identify`)."""
    from trajmodes.io import identify
    files = list(files)
    return len(files) == 1 and identify(files[0], kinds=("trajectory",)).format not in ("lammps", "netcdf")


def fstar_note(cepstral) -> str:
    """Where a cepstral analysis' f* came from, in words: the default band of the current's power, or the value given
    and, where the sampling rounded it, the f* it gave."""
    a = cepstral.attrs
    tskip, got, asked = int(a["tskip"]), float(a["fstar_THz"]), float(a["fstar_asked_THz"])
    kept = "every row" if tskip == 1 else f"one row in {tskip} kept after a running mean of {a['window']}"
    if a["fstar_chosen"]:
        return (f"f* {got:.4g} THz: the band of 90 % of the current's power (default; --fstar to set it), {kept}")
    if abs(got - asked) <= 1e-6 * asked:
        return f"f* {got:.4g} THz: given, {kept}"
    return (f"f* {got:.4g} THz: {asked:g} THz given, {kept} (f* is the Nyquist frequency of the rows kept, "
            f"{a['dt_ps'] * tskip:g} ps apart)")


#: a Green-Kubo run of a crystal is trusted when it is this many lifetimes of its heat-carrying modes long
#: (:attr:`BoltzmannBeside.heat_lifetime`), and its running integral reaches this many (LAMMPS argon at 30 K, 7.5 ps:
#: 16 ps gave 0.21 +- 0.06 W/(m K), 80 ps 1.01 +- 0.34, the Boltzmann equation 0.97)
RUN_LIFETIMES = 10
REACH_LIFETIMES = 3


def lifetime_checks(heat_lifetime: float, run: float, reach: float) -> list:
    """What a run of ``run`` ps, its running integral reaching ``reach`` ps, lacks for a Green-Kubo conductivity of a
    crystal whose heat-carrying modes live ``heat_lifetime`` ps (:data:`RUN_LIFETIMES`, :data:`REACH_LIFETIMES`):
    one line for each, none where it is long enough.

    Parameters
    ----------
    heat_lifetime : float
        The lifetime of the heat-carrying modes, ps.
    run : float
        The run's length, ps.
    reach : float
        How far the running integral reaches, ps.
    """
    tau, out = float(heat_lifetime), []
    if run < RUN_LIFETIMES * tau:
        out.append(f"a Green-Kubo conductivity needs a run of at least {RUN_LIFETIMES} such lifetimes "
                   f"({RUN_LIFETIMES * tau:.3g} ps): shorter, the cepstral kappa resolves too little of the current's "
                   "zero-frequency peak and reads low")
    if reach < REACH_LIFETIMES * tau:
        out.append(f"the running integral stops at {reach:.3g} ps, before the correlation has decayed "
                   f"({REACH_LIFETIMES} lifetimes: --max-time {REACH_LIFETIMES * tau:.3g}, in a run long enough)")
    return out


def lifetime_resolution(run: float, heat_lifetime: float) -> float:
    """THz, the resolution of the spectra whose peak widths give a run's mode lifetimes (normal-mode analysis): as
    fine as two segments of the ``run`` (ps) allow, no finer than a third of the width of modes that live
    ``heat_lifetime`` ps (FWHM = 1 / (2 pi tau)).

    Parameters
    ----------
    run : float
        The run's length, ps.
    heat_lifetime : float
        The lifetime of the heat-carrying modes, ps.
    """
    return max(2.0 / float(run), 1.0 / (6 * np.pi * float(heat_lifetime)))


#: the regular meshes (n x n x n) of the converged Boltzmann-equation conductivity, tried in turn until two in a row
#: agree to :data:`BTE_CONVERGED` (relative, the mean of the diagonal)
BTE_MESHES = (6, 10, 14, 18)
BTE_CONVERGED = 0.03
#: the mesh of the resampled constants' conductivities that give the converged one its error bar, and how many
#: resamples of the constants' fit ``trajmodes conductivity --cutoff3`` takes
BTE_ERROR_MESH = 10
BTE_RESAMPLES = 20
#: cells per axis of the sampled four-phonon sums (their cost is (sample / mesh)^6 of the full sums')
FOUR_PHONON_SAMPLE = (4, 4, 4)


@dataclass(frozen=True)
class BoltzmannBeside:
    """The Boltzmann-equation conductivity of a run's constants beside its Green-Kubo one
    (:func:`boltzmann_beside`).

    Parameters
    ----------
    converged : xarray.Dataset
        Three-phonon RTA with classical occupations on the converged mesh, with the Wigner coherences' term
        (:meth:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic.thermal_conductivity`,
        :func:`~trajmodes.phonons.anharmonic.coherence.wigner_conductivity`).
    md_grid : xarray.Dataset
        The same on the q-points of the MD supercell, its deltas Gaussians of width ``sigma``.
    md_grid_range : tuple of (float, float)
        (sigma THz, kappa W/(m K), the mean of the diagonal) on the MD grid at half, once and twice ``sigma``: on a
        coarse grid energy is conserved only within the broadening, and kappa rests on it.
    meshes : tuple of (int, float)
        Each mesh tried and its kappa (mean of the diagonal, W/(m K)).
    converged_at : int or None
        The mesh at which two in a row agreed; None where the largest did not (``converged`` is then the largest).
    sigma : float
        THz, the Gaussian width on the MD grid: three phonons' energy conservation broadened by their widths, a
        Gaussian as wide (FWHM) as three times the mean linewidth (FWHM) of the converged mesh's modes.
    heat_lifetime : float
        ps, the lifetime of the modes that carry the heat: the mean of the converged mesh's lifetimes weighted by each
        mode's share of kappa. A Green-Kubo run must be many times longer, its integral reach several of them.
    four_phonon : xarray.Dataset or None
        Where the constants have a fourth order: the converged mesh's RTA with four-phonon scattering added to the
        widths (Monte Carlo sums over :data:`FOUR_PHONON_SAMPLE` cells per axis, TDEP's ``-qg4ph``; Gaussian deltas as
        wide as the three-phonon mean linewidth); None without.
    kappa_err : float or None
        W/(m K), the standard error of the converged kappa (the mean of the diagonal) from the constants' own
        statistical error: the spread of kappa over the bootstrap resamples of their fit, on the mesh
        :data:`BTE_ERROR_MESH`, relative to that mesh's kappa; None without resamples.
    kappa_committee_err : float or None
        W/(m K), the committee's error bar of the converged kappa beside the bootstrap's: the standard deviation
        (ddof 1) of kappa over the members of a committee of learned potentials (each member's constants fitted to the
        same frames), on ``error_mesh``, relative to that mesh's kappa; None without members.
    kappa_members : tuple of float
        W/(m K), each member's kappa (mean of the diagonal) on ``error_mesh``; empty without members.
    error_mesh : int
        The mesh (n x n x n) of the resamples' and the members' conductivities.
    """

    converged: object
    md_grid: object
    md_grid_range: tuple
    meshes: tuple
    converged_at: int | None
    sigma: float
    heat_lifetime: float
    kappa_err: float | None = None
    four_phonon: object | None = None
    kappa_committee_err: float | None = None
    kappa_members: tuple = ()
    error_mesh: int = BTE_ERROR_MESH

    @property
    def committee_members(self) -> int:
        """The committee's size (0 without one)."""
        return len(self.kappa_members)


def boltzmann_beside(force_constants, supercell_matrix, temperature: float, meshes=None,
                     resamples=None, members=None, error_mesh: int | None = None) -> BoltzmannBeside:
    """The three-phonon Boltzmann-equation conductivity (RTA) of ``force_constants`` (with fc3) at ``temperature``
    (K) with classical occupations, as a classical MD run holds them: on regular meshes until converged (tetrahedra;
    ``meshes``, default :data:`BTE_MESHES`),
    and on the q-points of the MD supercell (``supercell_matrix``, 3 x 3 in primitive cells), what a run of that size
    can hold, with Gaussian deltas whose FWHM is three times the converged mesh's mean linewidth (each of the three
    modes of a process is broadened by its width in the run), and at half and twice that; the coherences' term of the Wigner transport equation (Simoncelli, Marzari and Mauri, Nat. Phys.
    15, 809 (2019)) on the converged mesh. ``resamples``: the bootstrap resamples of the constants' fit
    (:meth:`~trajmodes.forceconstants.fit.EffectiveForceConstants.resampled_force_constants`), whose conductivities
    on ``error_mesh`` (default :data:`BTE_ERROR_MESH`) give the converged one its statistical error. ``members``: the
    constants of every member of a committee of learned potentials fitted to the same frames
    (``committee_view(fit).resampled_force_constants()``,
    :func:`~trajmodes.forceconstants.committee.committee_view`), whose conductivities on the same mesh give the
    committee's error bar beside it (one three-phonon calculation per member). Constants with a fourth order add
    four-phonon scattering on the converged mesh (:attr:`BoltzmannBeside.four_phonon`).

    Parameters
    ----------
    force_constants : ForceConstants
        With fc3 (and fc4 for four-phonon scattering).
    supercell_matrix : (3, 3) int
        The MD supercell in primitive cells.
    temperature : float
        The run's temperature, K.
    meshes : sequence of int, optional
        The regular meshes tried until converged; default :data:`BTE_MESHES`.
    resamples : list of ForceConstants, optional
        The bootstrap resamples of the constants' fit: the statistical error.
    members : list of ForceConstants, optional
        The committee members' constants: the committee's error bar.
    error_mesh : int, optional
        The mesh of the resamples' conductivities; default :data:`BTE_ERROR_MESH`.
    """
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    if getattr(force_constants, "fc3_sparse", None) is None:
        raise ValueError("the Boltzmann equation needs third-order constants: fit them to the run with --cutoff3 "
                         "(trajmodes fit)")
    error_mesh = BTE_ERROR_MESH if error_mesh is None else int(error_mesh)
    tried, ds, at = [], None, None
    for n in BTE_MESHES if meshes is None else meshes:
        an = Anharmonic(force_constants, int(n), [float(temperature)], occupation="classical", smearing=None)
        ds = an.thermal_conductivity(method="rta")
        tried.append((int(n), float(np.trace(ds["kappa"].values[0]) / 3)))
        if len(tried) > 1 and abs(tried[-1][1] - tried[-2][1]) <= BTE_CONVERGED * abs(tried[-1][1]):
            at = int(n)
            break
    from trajmodes.workflows.anharmonic import add_wigner_terms
    add_wigner_terms(an, ds, populations=False)
    widths = ds["linewidth"].values[0]
    sigma = 3.0 * float(np.mean(widths[np.isfinite(widths) & (widths > 0)])) / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    grids = {}
    for factor in (0.5, 1.0, 2.0):
        grids[factor] = Anharmonic(force_constants, np.asarray(supercell_matrix), [float(temperature)],
                                   occupation="classical", smearing=factor * sigma).thermal_conductivity(method="rta")
    spread_md = tuple((f * sigma, float(np.trace(g["kappa"].values[0]) / 3)) for f, g in grids.items())
    share = np.einsum("qsaa->qs", ds["mode_kappa"].values[0])
    tau = ds["lifetime"].values[0]
    kept = np.isfinite(tau) & (share > 0)
    heat_lifetime = float((share[kept] * tau[kept]).sum() / share[kept].sum()) if kept.any() else float("nan")
    def mean_kappa(fc):
        k = Anharmonic(fc, int(error_mesh), [float(temperature)], occupation="classical",
                       smearing=None).thermal_conductivity(method="rta")["kappa"].values[0]
        return float(np.trace(k) / 3)
    own = []                                     # the constants' own kappa on the error mesh, computed once

    def spread(constants):
        """kappa of each of ``constants`` on the error mesh, and their standard deviation scaled to the converged
        mesh's kappa (None for fewer than two)."""
        ks = np.array([mean_kappa(fc) for fc in constants])
        if len(ks) < 2:
            return ks, None
        if not own:
            own.append(mean_kappa(force_constants))
        return ks, float(np.std(ks, ddof=1) / own[0] * np.trace(ds["kappa"].values[0]) / 3)
    err = None if resamples is None else spread(resamples)[1]
    kms, cerr = ((), None) if members is None else spread(members)
    four = None
    if getattr(force_constants, "fc4", None) is not None:
        width = float(np.mean(widths[np.isfinite(widths) & (widths > 0)]))
        lw = an.linewidths(four_phonon=width, four_phonon_sample=FOUR_PHONON_SAMPLE, four_phonon_seed=0)
        four = an.thermal_conductivity(method="rta", linewidths=lw)
        four.attrs.update(four_phonon_width_THz=width, four_phonon_sample=list(FOUR_PHONON_SAMPLE))
    return BoltzmannBeside(ds, grids[1.0], spread_md, tuple(tried), at, sigma, heat_lifetime, err, four, cerr,
                           tuple(float(k) for k in kms), int(error_mesh))


@dataclass(frozen=True)
class OwnConstants:
    """A run's own effective constants for its Boltzmann equation (:func:`fit_own_constants`).

    Parameters
    ----------
    fit : FitResult
        The fit (:func:`~trajmodes.workflows.fit.fit_effective`): second order with the cutoff from the data, third
        (and fourth) to the cutoffs given; ``fit.force_constants`` are the constants.
    resamples : list of ForceConstants
        The constants of the fit's block bootstrap resamples: the Boltzmann equation's error bar.
    members : list of ForceConstants or None
        Where the run carries a committee of learned potentials: every member's constants (with their third order),
        fitted to the same frames: the Boltzmann equation's committee error bar. None without.
    """

    fit: object
    resamples: list
    members: list | None = None

    @property
    def force_constants(self):
        return self.fit.force_constants


def fit_own_constants(trajectory, cutoff3: float, cutoff4: float | None = None,
                      n_resamples: int | None = None) -> OwnConstants:
    """The run's own effective constants (``trajmodes conductivity --cutoff3``): fitted to the forces of
    ``trajectory`` in one pass, the pair cutoff chosen from the data (never shorter than the range of the potential
    the run's LAMMPS input states), the third order to ``cutoff3`` and the fourth to ``cutoff4`` (Å), with
    ``n_resamples`` (default :data:`BTE_RESAMPLES`) block bootstrap resamples of the fit; where the run carries a
    committee of learned potentials, every member's constants too (:attr:`OwnConstants.members`).

    Parameters
    ----------
    trajectory : Trajectory
        The run, with forces.
    cutoff3 : float
        Triplet cutoff, Å.
    cutoff4 : float, optional
        Quartet cutoff, Å: the fourth order too.
    n_resamples : int, optional
        Block bootstrap resamples of the fit, for the conductivity's error bar; default :data:`BTE_RESAMPLES`.
    """
    from trajmodes.forceconstants.committee import committee_view
    from trajmodes.workflows.fit import fit_effective, potential_range_of_runs
    fit = fit_effective(trajectory, cutoff3=cutoff3, cutoff4=cutoff4,
                        potential_range=potential_range_of_runs([trajectory]))
    est = fit.estimator
    est.bootstrap(n_resamples=BTE_RESAMPLES if n_resamples is None else n_resamples)
    members = None
    if 3 in (getattr(est, "committee_params_", None) or {}):
        members = list(committee_view(est).resampled_force_constants())
    return OwnConstants(fit, list(est.resampled_force_constants()), members)


def mode_lifetime_conductivity(trajectory, force_constants, temperature: float | None = None,
                               resolution: float | None = None):
    """The conductivity of a run's own mode lifetimes (normal-mode analysis; McGaughey and Kaviany, Phys. Rev. B 69,
    094303 (2004)): the run projected on the modes of ``force_constants`` at every q of its supercell
    (:func:`~trajmodes.workflows.modes.project_modes`), the peaks of their spectra fitted
    (:func:`~trajmodes.workflows.modes.modes_dataset`, ``resolution`` THz), and kappa = sum C v^2 tau / V with classical
    heat capacities (:func:`~trajmodes.modes.conductivity.conductivity_from_lifetimes`; ``missing_share``: the share of
    sum C v^2 whose widths the run did not resolve).

    Parameters
    ----------
    trajectory : Trajectory
        The run, with velocities.
    force_constants : ForceConstants
        The constants whose modes the run is projected on.
    temperature : float, optional
        K; default the run's kinetic temperature.
    resolution : float, optional
        The frequency resolution of the spectra, THz (:func:`lifetime_resolution`).
    """
    from trajmodes.modes.conductivity import conductivity_from_lifetimes
    from trajmodes.workflows.modes import modes_dataset, project_modes
    ph, modes = project_modes(trajectory, force_constants)
    peaks = modes_dataset(modes, phonons=ph, resolution=resolution)
    return conductivity_from_lifetimes(ph, peaks, temperature=temperature, occupation="classical")


@dataclass(frozen=True)
class ConductivitySettings:
    """The settings of ``trajmodes conductivity``, built once from the command's options (or in Python) and taken by
    :func:`conductivity`; every default is the command's.

    Parameters
    ----------
    files : tuple of str
        The run's files (the provenance's inputs; the first names the figures).
    current, others, run, units, lj_scales, md_timestep, frame_interval
        How the current is read (:func:`heat_current_conductivity`): its columns, the other currents taken out, the
        runs of a log, the units and times of a file (``md_timestep`` and ``frame_interval`` in ps).
    temperature, volume : float, optional
        K and Å³ (default the run's).
    fstar : float, optional
        Cut-off frequency f* in THz (default the band of 90 % of the current's power).
    coefficients : int, optional
        Cepstral coefficients P* kept (default the Akaike choice).
    tensor : bool
        The 3x3 tensor too.
    max_time : float, optional
        ps of the running integral (default a tenth of the run).
    force_constants : str, optional
        Force constants (a phonopy folder or file, a trajmodes .nc) to split the integral over their modes.
    cutoff3, cutoff4 : float, optional
        Fit the run's own constants (second order from the data, third to ``cutoff3``, fourth to ``cutoff4``, Å) and
        split over their modes, with the Boltzmann equation and the run's own lifetimes beside.
    plot_format : {"png", "pdf", "svg"}
        The figures' format.
    """

    files: tuple = ()
    current: str | None = None
    others: tuple = ()
    run: tuple | None = None
    temperature: float | None = None
    volume: float | None = None
    fstar: float | None = None
    coefficients: int | None = None
    tensor: bool = False
    max_time: float | None = None
    force_constants: str | None = None
    cutoff3: float | None = None
    cutoff4: float | None = None
    md_timestep: float | None = None
    frame_interval: float | None = None
    units: str | None = None
    lj_scales: dict | None = None
    plot_format: str = "png"

    def __post_init__(self):
        if self.cutoff3 is not None and self.force_constants:
            raise ValueError("give --force-constants or --cutoff3 (the run's own constants, fitted here), not both")
        if self.cutoff4 is not None and self.cutoff3 is None:
            raise ValueError("--cutoff4 adds a fourth order to the run's own constants: give --cutoff3 too")


@dataclass(frozen=True)
class ConductivityResult:
    """What :func:`conductivity` found, and the files it writes (:meth:`write`).

    Parameters
    ----------
    settings : ConductivitySettings
        The settings the conductivity was computed with.
    heat : HeatCurrentConductivity
        The Green-Kubo conductivity, its splits and the Boltzmann equation beside it.
    own : OwnConstants or None
        The run's own constants (``settings.cutoff3``).
    lifetimes : xarray.Dataset or None
        The conductivity of the run's own mode lifetimes (:func:`mode_lifetime_conductivity`), beside the Boltzmann
        equation.
    resolution : float or None
        THz, the frequency resolution of those lifetimes' peak fits (:func:`lifetime_resolution`).
    """

    settings: ConductivitySettings
    heat: HeatCurrentConductivity
    own: OwnConstants | None = None
    lifetimes: object | None = None
    resolution: float | None = None

    def provenance(self) -> dict:
        """The attributes of the conductivity's files (:func:`~trajmodes.workflows.outputs.provenance`)."""
        from trajmodes.workflows.outputs import provenance
        s, res = self.settings, self.heat
        settings = dict(current=s.current, others=list(s.others) or None, fstar=s.fstar, coefficients=s.coefficients,
                        temperature=res.temperature, volume=res.volume, frame_interval=res.dt)
        return provenance(list(s.files) + ([s.force_constants] if s.force_constants else []), settings)

    def own_constants_provenance(self) -> dict:
        """The attributes of fc.nc, the run's own constants."""
        from trajmodes.workflows.outputs import provenance
        fit = self.own.fit
        return provenance(list(self.settings.files), {"cutoff2": float(fit.estimator.cutoff2),
                                                      "cutoff3": float(self.settings.cutoff3),
                                                      "cutoff4": self.settings.cutoff4}, temperature=fit.temperature)

    @property
    def title(self) -> str:
        """The figures' title: the run's first file, its rows, temperature and volume."""
        res, rows = self.heat, len(self.heat.current)
        name = os.path.basename(self.settings.files[0]) if self.settings.files else res.source
        return (f"{name}: {rows} rows every {res.dt:g} ps ({rows * res.dt:g} ps), {res.temperature:.6g} K, "
                f"{res.volume:.6g} A^3")

    def write(self, folder, out=None, steps=None) -> list:
        """Write into ``folder``: fc.nc (the run's own constants, with a committee's members), cepstral.nc,
        green_kubo.nc, tensor.nc, the figure conductivity.PLOT_FORMAT, modal.nc and modes.PLOT_FORMAT, spectral.nc,
        boltzmann.nc, boltzmann_four_phonon.nc, boltzmann_md_grid.nc, mode_lifetimes.nc and routes.PLOT_FORMAT, each
        where it was computed, with :meth:`provenance`. Returns the paths, in that order.

        Parameters
        ----------
        folder : str or os.PathLike
            Where the files go.
        out : callable, optional
            The outputs a command stages (a path -> the path to write); default in place.
        steps : callable, optional
            ``steps(label)``: a context manager around each figure drawn (the command line's progress lines).
        """
        from trajmodes.plots import plot_conductivity_routes, plot_green_kubo, plot_modal_conductivity
        from trajmodes.workflows.outputs import direct_outputs, write_dataset
        out, steps = direct_outputs(out), steps or (lambda label: contextlib.nullcontext())
        folder, fmt, res, prov = os.fspath(folder), self.settings.plot_format, self.heat, self.provenance()
        c, bte, nma = res.cepstral, res.boltzmann, self.lifetimes
        written = []
        if self.own is not None:
            written.append(os.path.join(folder, "fc.nc"))
            self.own.force_constants.write(out(written[-1]), "netcdf", attrs=self.own_constants_provenance(),
                                           members=self.own.members)
        written += [write_dataset(c, os.path.join(folder, "cepstral.nc"), out, prov),
                    write_dataset(res.integral, os.path.join(folder, "green_kubo.nc"), out, prov)]
        if res.tensor is not None:
            written.append(write_dataset(res.tensor, os.path.join(folder, "tensor.nc"), out, prov))
        fig = os.path.join(folder, f"conductivity.{fmt}")
        with steps("drawing the figure"):
            plot_green_kubo(c, res.integral, out(fig), title=self.title)
        written.append(fig)
        if res.modal is not None:
            written.append(write_dataset(res.modal, os.path.join(folder, "modal.nc"), out, prov))
            modes_fig = os.path.join(folder, f"modes.{fmt}")
            with steps("drawing the modes' figure"):
                plot_modal_conductivity(res.modal, out(modes_fig), title=self.title)
            written.append(modes_fig)
        if res.spectral is not None:
            written.append(write_dataset(res.spectral, os.path.join(folder, "spectral.nc"), out, prov))
        if bte is not None:
            written.append(write_dataset(bte.converged, os.path.join(folder, "boltzmann.nc"), out, prov))
            if bte.four_phonon is not None:
                written.append(write_dataset(bte.four_phonon, os.path.join(folder, "boltzmann_four_phonon.nc"), out,
                                             prov))
            written.append(write_dataset(bte.md_grid, os.path.join(folder, "boltzmann_md_grid.nc"), out, prov))
            written.append(write_dataset(nma, os.path.join(folder, "mode_lifetimes.nc"), out, prov))
        if res.spectral is not None or res.modal is not None:
            routes_fig = os.path.join(folder, f"routes.{fmt}")
            with steps("drawing the routes' figure"):
                plot_conductivity_routes(res.modal, None if bte is None else bte.converged,
                                         None if bte is None else bte.md_grid, float(c.kappa), float(c.kappa_err),
                                         out(routes_fig), title=self.title, lifetimes=nma, spectral=res.spectral,
                                         four_phonon=None if bte is None else bte.four_phonon)
            written.append(routes_fig)
        return written


def conductivity(source, settings: ConductivitySettings | None = None, *, steps=None) -> ConductivityResult:
    """``trajmodes conductivity``: the Green-Kubo conductivity of a run's heat current (:func:`heat_current_conductivity`)
    with ``settings``; with ``settings.cutoff3`` the run's own constants fitted first (:func:`fit_own_constants`), and
    with a third order the run's own mode lifetimes beside the Boltzmann equation (:func:`mode_lifetime_conductivity`);
    the result writes its files (:meth:`ConductivityResult.write`).

    Parameters
    ----------
    source : str or Trajectory
        A file of the run's heat current (:func:`is_current_file`), or the run's frames.
    settings : ConductivitySettings, optional
        Default: the command's defaults.
    steps : callable, optional
        ``steps(label)``: a context manager around each stage that takes time (the command line's progress lines);
        default none.
    """
    settings = ConductivitySettings() if settings is None else settings
    steps = steps or (lambda label: contextlib.nullcontext())
    fc, resamples, members, own = settings.force_constants, None, None, None
    if isinstance(source, (str, os.PathLike)):
        if settings.cutoff3 is not None:
            raise ValueError("--cutoff3 fits the run's own constants to its frames: give the dump, not a file of its "
                             "current")
        what = f"reading the heat current of {source} and its cepstral analysis"
    else:
        what = f"the heat current of every frame of {', '.join(settings.files)} (one pass) and its cepstral analysis" + (
            ", its split over the velocities' frequency" + (
                ", over the modes and the Boltzmann equation of a third order"
                if settings.force_constants or settings.cutoff3 else ""))
    if settings.cutoff3 is not None:
        fourth = "" if settings.cutoff4 is None else f", fourth to {settings.cutoff4:g} A"
        with steps(f"fitting the run's own constants (second order from the data, third to {settings.cutoff3:g} "
                   f"A{fourth}; a pass over its frames) and {BTE_RESAMPLES} bootstrap resamples"):
            own = fit_own_constants(source, settings.cutoff3, settings.cutoff4)
        fc, resamples, members = own.force_constants, own.resamples, own.members
    with steps(what):
        res = heat_current_conductivity(source, current=settings.current, others=tuple(settings.others),
                                        temperature=settings.temperature, volume=settings.volume,
                                        md_timestep=settings.md_timestep, frame_interval=settings.frame_interval,
                                        units=settings.units, lj_scales=settings.lj_scales, fstar=settings.fstar,
                                        cutoff=None if settings.coefficients is None else settings.coefficients - 1,
                                        tensor=settings.tensor, max_time=settings.max_time, force_constants=fc,
                                        resamples=resamples, members=members,
                                        run=None if settings.run is None else list(settings.run))
    nma = resolution = None
    if res.boltzmann is not None:
        resolution = lifetime_resolution(len(res.current) * res.dt, res.boltzmann.heat_lifetime)
        with steps(f"the modes' lifetimes from the run (projection and peak fits at {resolution:.2g} THz, a third "
                   "pass)"):
            nma = mode_lifetime_conductivity(source, fc, temperature=res.temperature, resolution=resolution)
    return ConductivityResult(settings, res, own, nma, resolution)
