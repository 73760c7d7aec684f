"""The disordered solids of ``trajmodes lineshapes`` and ``trajmodes glass``: a mass-disordered crystal's lines from its
run beside its exact harmonic lineshapes and Tamura's lowest order, and a glass's modes and Allen-Feldman transport
(:mod:`trajmodes.disorder`).

Each function takes ``progress``, a callable that turns a label into a context manager (the command line's
``step``: a line when a step starts and its time when it ends), called around every step that can take seconds and
before any of them with the memory estimate that chose its route; without it nothing is printed.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from trajmodes.resources import available_memory

__all__ = ["MassDisorderLineshapes", "mass_disorder_lineshapes", "own_harmonic_constants", "GlassTransport",
           "glass_transport", "DISORDER_ROUTES", "LINESHAPE_DENSE_DOUBLES", "TAMURA_MESH", "tamura_mesh",
           "memory_words", "memory_budget"]

#: the routes of both commands: ``auto`` (dense where it fits in memory, else the kernel polynomial method), ``dense``
#: (the diagonalisation, refused beforehand where it does not fit) or ``kpm`` (sparse products only)
DISORDER_ROUTES = ("auto", "dense", "kpm")
#: doubles per (3N)^2 that the exact lineshapes hold at their peak: the dense matrix, its eigenvectors and LAPACK's
#: workspace (3.5, :func:`trajmodes.disorder.mass_disorder.exact_lineshapes`) and the weights W (q, branch, mode), one
LINESHAPE_DENSE_DOUBLES = 4.5
#: the least divisions per axis of the mesh Tamura's widths are integrated on (a multiple of the run's q)
TAMURA_MESH = 24


def _steps(progress):
    return progress if progress is not None else (lambda label: contextlib.nullcontext())


def memory_words(nbytes: float) -> str:
    """A byte count for people: '3.2 GB'.

    Parameters
    ----------
    nbytes : float
        Bytes.
    """
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if nbytes < 1000 or unit == "TB":
            return f"{nbytes:.3g} {unit}"
        nbytes /= 1000.0
    return f"{nbytes:.3g} TB"


def memory_budget(fraction: float) -> tuple[float, str]:
    """(bytes a route may take, those words): ``fraction`` of the available memory
    (:func:`~trajmodes.resources.available_memory`; infinite where unknown)."""
    have = available_memory()
    if have is None:
        return float("inf"), "unknown available memory"
    return fraction * have, f"{fraction:.0%} of the {memory_words(have)} available"


def dense_route(route: str, dense_bytes: float, budget: float, words: str, what: str) -> bool:
    """Whether ``route`` (auto, dense or kpm) takes the dense diagonalisation of ``dense_bytes`` within ``budget``
    (:func:`memory_budget`, said as ``words``): auto where it fits. A dense route asked for that does not fit is
    refused, naming ``what`` needs it."""
    if route == "dense" and dense_bytes > budget:
        raise ValueError(f"route dense: {what} about {memory_words(dense_bytes)}, more than {words}: use the kernel "
                         "polynomial route (route auto or kpm)")
    return route == "dense" or (route == "auto" and dense_bytes <= budget)


# ----------------------------------------------------------------------------- mass disorder from a run
@dataclass(frozen=True)
class MassDisorderLineshapes:
    """What :func:`mass_disorder_lineshapes` computes.

    Parameters
    ----------
    dataset : xarray.Dataset
        Over (``q``, ``branch``), the virtual crystal's modes at the run's q: ``frequency_vca`` (THz); the run's lines
        fitted (``md_frequency``, ``md_frequency_err``, ``md_shift``, ``md_fwhm``, ``md_fwhm_err``, ``md_status``);
        the sample's exact harmonic lines drawn through the run's window and fitted the same way (``exact_fwhm``,
        ``exact_fwhm_err``, ``exact_shift``; NaN on the kernel polynomial route, which has no sample modes to draw);
        the lines' own moments (``lineshape_shift``, ``lineshape_rms_width``, THz: the mean frequency's difference
        from the virtual crystal's and the spread sqrt(sum_s W_s (nu_s - mean)^2)); Tamura's lowest order
        ``tamura_fwhm`` (THz, twice Gamma_iso); ``unfolded`` (q, ``lineshape_frequency``) 1/THz. Over ``site``:
        ``site_mass`` (amu, the virtual crystal's) and ``site_g2``. Over (``group``, ``dos_frequency``):
        ``partial_dos`` (1/THz per atom of the group, the kernel polynomial method) and ``group_atoms``. Attributes:
        the temperature (K) and its source, the route, resolution, the Tamura mesh, the atoms.
    route : str
        ``"dense"`` (diagonalisation) or ``"kpm"``.
    notes : tuple of str
        What was chosen and why, one line each (the route and its memory estimate first).
    force_constants : ForceConstants
        Those used.
    """

    dataset: object
    route: str
    notes: tuple
    force_constants: object


def tamura_mesh(qpoints, mesh=None) -> np.ndarray:
    """The divisions (3,) of the mesh for Tamura's widths at ``qpoints`` (reduced, on a common grid): ``mesh`` (N or
    (N1, N2, N3)) checked to hold them, or the smallest multiple of their grid with at least :data:`TAMURA_MESH`
    divisions per axis.

    Raises
    ------
    ValueError
        When the given mesh does not hold every q.
    """
    q = np.asarray(qpoints, float).reshape(-1, 3)
    den = np.ones(3, dtype=int)
    for a in range(3):
        for d in range(1, 10001):
            if np.abs(q[:, a] * d - np.rint(q[:, a] * d)).max() < 1e-6:
                den[a] = d
                break
    if mesh is None:
        return den * np.ceil(TAMURA_MESH / den).astype(int)
    m = np.broadcast_to(np.asarray(mesh, dtype=int).reshape(-1), (3,)).copy()
    if np.any(m % den):
        raise ValueError(f"the mesh {'x'.join(map(str, m))} does not hold the run's q-points (their grid is "
                         f"{'x'.join(map(str, den))}): give a multiple of it, e.g. "
                         f"{'x'.join(map(str, den * np.ceil(TAMURA_MESH / den).astype(int)))}")
    return m


@contextlib.contextmanager
def _expected_mass_warning():
    """The projection's warning that the run's masses are not the constants' is the point here (the virtual crystal's
    modes are not the sample's): silenced."""
    import warnings
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="the trajectory's masses differ", category=UserWarning)
        yield


def _sample_masses(trajectory, fc):
    """The run's masses and species on the atoms of the constants' supercell (the same lattice of sites)."""
    from trajmodes.modes.projection import trajectory_map
    from trajmodes.phonons.harmonic.phonons import Phonons
    with _expected_mass_warning():
        smap, _, masses = trajectory_map(trajectory, Phonons(fc))
    S_run = np.asarray(smap.matrix, float)
    S_fc = np.asarray(fc.smap.matrix, float)
    m = S_run @ np.linalg.inv(S_fc)
    if np.abs(m - np.rint(m)).max() > 1e-6 or abs(abs(np.linalg.det(m)) - 1) > 1e-6:
        raise ValueError(f"the run's supercell ({len(masses)} atoms, {np.rint(S_run).astype(int).tolist()} primitive "
                         f"cells) is not the force constants' ({fc.n_atoms} atoms, "
                         f"{np.rint(S_fc).astype(int).tolist()}): the sample's exact lineshapes need constants on "
                         "the run's own supercell; give those, or leave out --force-constants to fit them to the run")
    idx = fc.smap.index(smap.atom, smap.lattice)
    m_fc = np.empty(len(masses))
    m_fc[idx] = masses
    species = np.asarray(trajectory.lattice_reference.species, dtype=str).reshape(-1)
    s_fc = np.empty(len(masses), dtype=object)
    s_fc[idx] = species if len(species) == len(masses) else "atom"
    return m_fc, s_fc.astype(str)


def _groups(species, masses) -> dict:
    """Atoms (constants' supercell order) of each species, and of each mass of a species with several."""
    groups = {}
    for s in dict.fromkeys(species):
        atoms = np.flatnonzero(species == s)
        groups[str(s)] = atoms
        values = np.unique(np.round(masses[atoms], 6))
        if len(values) > 1:
            for v in values:
                groups[f"{s} {v:.6g} amu"] = atoms[np.round(masses[atoms], 6) == v]
    return groups


def check_time_axis_resolves(trajectory, top: float, what: str = "the run's lines") -> None:
    """Refuse a run whose frames are too far apart for lines up to ``top`` THz: its spectra end at the Nyquist
    frequency 1 / (2 dt), and a line above it has no width to fit, from the run or from the exact lines drawn through
    its window. A time axis nothing stated (``ASSUMED``: an XYZ file without times, 1 ps between frames) is named,
    with the options that state it."""
    import math
    dt = float(getattr(trajectory, "frame_interval", math.nan))
    axis = str(getattr(trajectory, "time_axis", "unknown"))
    nyquist = 0.5 / dt if dt > 0 else math.nan
    if math.isfinite(nyquist) and nyquist >= top:
        return
    source = getattr(trajectory, "source", None)
    name = source.describe() if callable(getattr(source, "describe", None)) else getattr(source, "name", "the run")
    stated = ("its time axis was ASSUMED (" + axis.removeprefix("ASSUMED").strip(" :") + ")"
              if axis.startswith("ASSUMED") else f"its time axis: {axis}")
    raise ValueError(f"{name}: {what} need the frames' times, and {dt:g} ps between frames ({stated}) resolves "
                     f"frequencies up to {nyquist:.3g} THz, below the virtual crystal's highest mode ({top:.3g} THz): "
                     "every width would be NaN. Give the time between frames (--frame-interval PS or --md-timestep "
                     "PS; frame_interval= / md_timestep= from Python), or a run written with its times")


def own_harmonic_constants(trajectory):
    """The run's own harmonic constants for its lineshapes (``trajmodes lineshapes`` without ``--force-constants``):
    fitted to the forces of ``trajectory`` (:func:`~trajmodes.workflows.fit.fit_effective`, the pair cutoff from the
    data, never shorter than the range of the potential its LAMMPS input states). The masses disordered on the sites,
    the fit finds the lattice of sites and fits its virtual crystal.

    Parameters
    ----------
    trajectory : Trajectory
        The mass-disordered run, with forces (eV/Å).
    """
    from trajmodes.workflows.fit import fit_effective, potential_range_of_runs
    return fit_effective(trajectory, potential_range=potential_range_of_runs([trajectory])).force_constants


def mass_disorder_lineshapes(trajectory, force_constants, *, resolution: float | None = None,
                             temperature: float | None = None, model: str | None = None, route: str = "auto",
                             mesh=None, n_moments: int = 512, memory_fraction: float = 0.5,
                             progress=None) -> MassDisorderLineshapes:
    """The lines of a run of a mass-disordered crystal on its virtual crystal's modes, beside the sample's exact
    harmonic lineshapes and Tamura's lowest order (``trajmodes lineshapes``).

    The run's atoms sit on one lattice with different masses (isotopes; an alloy with the constants of its average);
    its virtual crystal puts the mean mass on every primitive site
    (:func:`~trajmodes.disorder.mass_disorder.site_masses`). Steps: the run projected on the virtual crystal's
    modes at every q of its supercell with each atom's own mass (:func:`~trajmodes.modes.projection.project`), Welch
    spectra of Q' (:func:`~trajmodes.modes.spectra.mode_spectra`) and peak fits
    (:func:`~trajmodes.modes.peaks.fit_peaks`); the sample's exact harmonic lineshapes
    (:func:`~trajmodes.disorder.mass_disorder.exact_lineshapes`, by diagonalisation where its
    :data:`LINESHAPE_DENSE_DOUBLES` x (3N)^2 doubles fit in ``memory_fraction`` of the available memory) drawn
    through the run's window and segments (:func:`~trajmodes.disorder.mass_disorder.expected_spectra`) and fitted the
    same way; else the kernel polynomial lines (:func:`~trajmodes.disorder.mass_disorder.kpm_lineshapes`, in blocks
    of q under the same budget); Tamura's lowest-order widths with the sample's g2 (Tamura, Phys. Rev. B 27, 858
    (1983): :func:`~trajmodes.phonons.anharmonic.isotope.isotope_gamma`, tetrahedra on :func:`tamura_mesh`); and the
    partial densities of states of every species and, where a species has several, every mass
    (:func:`~trajmodes.disorder.kpm.kpm_partial_dos`).

    Parameters
    ----------
    trajectory : Trajectory
        The run, with velocities (or positions at short intervals) and its atoms' masses.
    force_constants : ForceConstants or path
        Harmonic constants on the run's supercell (the potential's, or the run's own:
        :func:`own_harmonic_constants`, as ``trajmodes lineshapes`` does without ``--force-constants``).
    resolution : float, optional
        THz, of the spectra (default :data:`~trajmodes.modes.defaults.DEFAULT_RESOLUTION`).
    temperature : float, optional
        K; default the run's kinetic temperature (the exact lines hold k_B T per mode).
    model : str, optional
        Peak model of :func:`~trajmodes.modes.peaks.fit_peaks` (default its own).
    route : {"auto", "dense", "kpm"}
        The exact lineshapes' route (:data:`DISORDER_ROUTES`).
    mesh : int or (3,) int, optional
        Of Tamura's widths (default :func:`tamura_mesh`).
    n_moments : int
        Chebyshev moments of the kernel polynomial routes.
    memory_fraction : float
        Share of the available memory the dense route may take.
    progress : callable, optional
        Label -> context manager around each step (see the module).

    Returns
    -------
    MassDisorderLineshapes

    Raises
    ------
    ValueError
        When the run has no mass disorder (every site holds atoms of one mass), its supercell is not the constants',
        or the route or mesh is not one there is.
    """
    from trajmodes.disorder.kpm import kpm_partial_dos, spectrum_top
    from trajmodes.disorder.mass_disorder import sample_dynamical_matrix, site_masses
    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.lattice.crystal import Crystal
    from trajmodes.lattice.qpoints import commensurate_qpoints
    from trajmodes.modes.defaults import DEFAULT_PEAK_MODEL, DEFAULT_RESOLUTION
    from trajmodes.phonons.harmonic.phonons import Phonons
    if route not in DISORDER_ROUTES:
        raise ValueError(f"route must be one of {', '.join(DISORDER_ROUTES)}, not {route!r}")
    step = _steps(progress)
    resolution = DEFAULT_RESOLUTION if resolution is None else float(resolution)
    model = DEFAULT_PEAK_MODEL if model is None else model
    fc = force_constants
    if not isinstance(fc, ForceConstants):
        fc = ForceConstants.read(fc)
    with step("the run's masses on the constants' supercell (its reference)"):
        m_fc, species = _sample_masses(trajectory, fc)
    mbar, g2 = site_masses(m_fc, fc.smap)
    mesh = tamura_mesh(commensurate_qpoints(fc.smap.matrix), mesh)       # checked before the run is read
    if g2.max() < 1e-12:
        raise ValueError(f"no mass disorder in the run: every primitive site holds atoms of one mass "
                         f"({', '.join(f'{m:.6g}' for m in mbar)} amu), so its modes are those of an ordered crystal: "
                         "trajmodes project RUN --force-constants FC measures their lines")
    prim = fc.primitive
    vca = ForceConstants(fc.compact(), fc.supercell, Crystal(prim.cell, prim.positions, prim.species, mbar),
                         smap=fc.smap, p2s=fc.p2s)
    ph = Phonons(vca)
    # the run's spectra and the exact lines drawn through its window need times that resolve the modes: before the pass
    check_time_axis_resolves(trajectory, float(np.nanmax(ph.frequencies(commensurate_qpoints(fc.smap.matrix)))))
    spectra, energies, md = _run_lines(trajectory, ph, g2, resolution, temperature, model, step)
    T = float(energies.attrs["temperature"])
    dense, lines, exact, notes = _exact_lines(fc, m_fc, spectra, T, model, route, n_moments, memory_fraction, step)
    with step(f"Tamura's lowest-order widths on the {'x'.join(map(str, mesh))} mesh (tetrahedra)"):
        tamura = _tamura_fwhm(ph, g2, spectra.qpoint.values, mesh)
    groups = _groups(species, m_fc)
    with step(f"partial densities of states of {len(groups)} groups of atoms (kernel polynomial method, "
              f"{n_moments} moments)"):
        D = sample_dynamical_matrix(fc, m_fc)
        pdos = kpm_partial_dos(D, groups, frequencies=np.linspace(0.0, spectrum_top(D), 400), n_moments=n_moments)
    ds = _disorder_dataset(md, exact, lines, tamura, mbar, g2, pdos, spectra)
    ds.attrs.update({"temperature": T, "temperature_units": "K",
                     "temperature_source": str(energies.attrs.get("temperature_source", "given")),
                     "route": "dense" if dense else "kpm", "lineshape_method": str(lines.attrs.get("method", "")),
                     "resolution": resolution, "resolution_units": "THz", "peak_model": model,
                     "tamura_mesh": np.asarray(mesh, int), "n_atoms": int(fc.n_atoms), "n_moments": int(n_moments),
                     "spectra_segment_length_ps": float(spectra.attrs["segment_length_ps"]),
                     "spectra_n_segments": int(spectra.attrs.get("n_segments", 1))})
    return MassDisorderLineshapes(ds, "dense" if dense else "kpm", tuple(notes), fc)


def _run_lines(trajectory, ph, g2, resolution: float, temperature, model: str, step):
    """The run projected on the virtual crystal's modes (each atom with its own mass), its spectra at ``resolution``
    THz in one pass, its mode energies at ``temperature`` K (default the run's) and its fitted lines."""
    from trajmodes.modes.energies import energy_series, mode_energies
    from trajmodes.modes.peaks import fit_peaks
    from trajmodes.modes.projection import project
    from trajmodes.modes.spectra import mode_spectra
    with step(f"projecting the run on the virtual crystal's modes (each atom with its own mass; g2 = "
              f"{', '.join(f'{g:.4g}' for g in g2)}), their spectra at {resolution:g} THz (one pass)"):
        with _expected_mass_warning():
            modes = project(trajectory, ph)
        spectra = mode_spectra(modes, resolution=resolution, time_means=energy_series(modes))
        energies = mode_energies(modes, temperature=temperature,
                                 means=(spectra["mean_kinetic"].values, spectra["mean_potential"].values))
        spectra = spectra.drop_vars(["mean_kinetic", "mean_potential"])
    with step(f"fitting the run's {spectra.sizes['q'] * spectra.sizes['branch']} lines ({model})"):
        md = fit_peaks(spectra, model=model)
    return spectra, energies, md


def _exact_lines(fc, m_fc, spectra, T: float, model: str, route: str, n_moments: int, memory_fraction: float,
                 step):
    """The sample's exact harmonic lineshapes at the run's q: by diagonalisation where it fits the memory budget
    (then drawn through the run's window and fitted as the run's lines), else by the kernel polynomial method.

    Returns whether the route is dense, the lines (:func:`~trajmodes.disorder.mass_disorder.exact_lineshapes` or
    :func:`~trajmodes.disorder.mass_disorder.kpm_lineshapes`), the fitted ``fwhm``, ``fwhm_err`` and ``shift`` (THz;
    NaN on the kernel polynomial route) and the notes of what was done.
    """
    import xarray as xr
    from trajmodes.disorder.mass_disorder import exact_lineshapes, expected_spectra, kpm_lineshapes
    from trajmodes.modes.peaks import fit_peaks
    q = spectra.qpoint.values
    n3 = 3 * fc.n_atoms
    budget, words = memory_budget(memory_fraction)
    dense_bytes = LINESHAPE_DENSE_DOUBLES * 8.0 * n3 * n3
    dense = dense_route(route, dense_bytes, budget, words, f"the sample's {n3} x {n3} diagonalisation needs")
    if dense:
        what = (f"the sample's exact lineshapes: its {n3} x {n3} dynamical matrix diagonalised (about "
                f"{memory_words(dense_bytes)}, within {words})")
    else:
        why = ("asked for" if route == "kpm" else
               f"the diagonalisation would take about {memory_words(dense_bytes)}, more than {words}")
        what = f"the sample's lineshapes by the kernel polynomial method ({n_moments} moments; {why})"
    notes = [what]
    nq, nb = spectra.sizes["q"], spectra.sizes["branch"]
    nan = np.full((nq, nb), np.nan)
    with step(what):
        if dense:
            lines = exact_lineshapes(fc, m_fc, qpoints=q)
            fitted = fit_peaks(expected_spectra(lines, spectra, T), model=model)
            exact = dict(fwhm=fitted.fwhm.values, fwhm_err=fitted.fwhm_err.values, shift=fitted["shift"].values)
        else:
            top = 1.25 * float(np.nanmax(spectra.frequency_harmonic.values))
            axis = np.linspace(0.0, top, 600)
            block = int(max(1, min(nq, budget / (3 * 16.0 * n3 * nb))))       # the mode vectors and two Chebyshev terms
            lines = xr.concat([kpm_lineshapes(fc, m_fc, qpoints=q[i:i + block], frequencies=axis, n_moments=n_moments)
                               for i in range(0, nq, block)], dim="q", data_vars="minimal", coords="minimal",
                              compat="override")
            exact = dict(fwhm=nan, fwhm_err=nan, shift=nan)
            notes.append("the kernel polynomial route has no sample modes to draw through the run's window: the exact "
                         "widths are NaN, the lines' rms widths and mean shifts are given")
    return dense, lines, exact, notes


def _tamura_fwhm(ph, g2, q, mesh) -> np.ndarray:
    """Tamura's lowest-order FWHM (THz) of the virtual crystal's modes at ``q``, tetrahedra on ``mesh`` (Tamura,
    Phys. Rev. B 27, 858 (1983))."""
    from trajmodes.lattice.grid import Grid
    from trajmodes.phonons.anharmonic.isotope import isotope_gamma
    grid = Grid(tuple(int(x) for x in mesh))
    f, e = ph.dm.frequencies_and_eigenvectors(grid.qpoints)
    gps = grid.index(np.rint(q * mesh).astype(int))
    return 2.0 * isotope_gamma(f, e, g2, grid, gps, smearing=None, reciprocal_cell=ph.force_constants.primitive.reciprocal_cell)


def _disorder_dataset(md, exact: dict, lines, tamura, mbar, g2, pdos, spectra):
    """The run's lines beside the sample's exact ones and Tamura's, with the virtual crystal's sites and the partial
    densities of states, as one dataset (THz)."""
    import xarray as xr
    thz = {"units": "THz"}
    dims = ("q", "branch")
    return xr.Dataset(
        {"md_frequency": (dims, md.frequency.values, dict(thz, long_name="the run's line: peak frequency")),
         "md_frequency_err": (dims, md.frequency_err.values, thz),
         "md_shift": (dims, md["shift"].values, dict(thz, long_name="the run's line: shift from the virtual crystal")),
         "md_fwhm": (dims, md.fwhm.values, dict(thz, long_name="the run's line: FWHM")),
         "md_fwhm_err": (dims, md.fwhm_err.values, thz),
         "md_status": (dims, md.status.values.astype(str)),
         "exact_fwhm": (dims, exact["fwhm"], dict(thz, long_name="the sample's exact harmonic line through the run's "
                                                                 "window, fitted as the run's: FWHM")),
         "exact_fwhm_err": (dims, exact["fwhm_err"], thz),
         "exact_shift": (dims, exact["shift"], dict(thz, long_name="the sample's exact harmonic line: shift")),
         "lineshape_shift": (dims, lines.frequency_shift.values,
                             dict(thz, long_name="mean frequency of the exact line minus the virtual crystal's")),
         "lineshape_rms_width": (dims, lines.rms_width.values, dict(thz, long_name="rms width of the exact line")),
         "tamura_fwhm": (dims, tamura, dict(thz, long_name="Tamura's lowest-order FWHM (2 Gamma_iso), the sample's "
                                                            "g2 (Phys. Rev. B 27, 858 (1983))")),
         "unfolded": (("q", "lineshape_frequency"), lines.unfolded.values,
                      {"units": "1/THz", "long_name": "unfolded spectral function (Allen, Berlijn, Casavant and "
                                                      "Soler, Phys. Rev. B 87, 085322 (2013))"}),
         "site_mass": (("site",), mbar, {"units": "amu", "long_name": "virtual crystal's mass"}),
         "site_g2": (("site",), g2, {"units": "1", "long_name": "mass variance <(1 - m / mbar)^2>"}),
         "partial_dos": (("group", "dos_frequency"), pdos.partial_dos.values, dict(pdos.partial_dos.attrs)),
         "group_atoms": (("group",), pdos.atoms.values)},
        coords={"qpoint": (("q", "reduced"), spectra.qpoint.values),
                "frequency_vca": (dims, spectra.frequency_harmonic.values, thz),
                "lineshape_frequency": ("lineshape_frequency", lines.frequency.values, thz),
                "group": pdos.group.values, "dos_frequency": ("dos_frequency", pdos.frequency.values, thz)})


# ----------------------------------------------------------------------------- glass
@dataclass(frozen=True)
class GlassTransport:
    """What :func:`glass_transport` computes.

    Parameters
    ----------
    dataset : xarray.Dataset
        Over ``mode`` (dense route, or a window of frequencies): ``frequency`` (THz), ``participation_ratio``,
        ``diffusivity`` and ``diffusivity_components`` (mm²/s, Allen-Feldman), ``physical``; over ``temperature``
        (dense route: every mode): ``conductivity`` and ``conductivity_components`` (W/(m K)) and
        ``heat_capacity``; over ``kpm_frequency`` (kernel polynomial route): ``kpm_diffusivity`` (mm²/s) and
        ``kpm_dos`` (1/THz). Attributes: the route, the width (THz) and shape, the volume, the estimate.
    route : str
        ``"dense"``, ``"kpm"`` or ``"kpm+window"``.
    notes : tuple of str
        The route and its memory estimate first.
    """

    dataset: object
    route: str
    notes: tuple


def _glass_model(structure, potential, force_constants, species, units, lj_scales=None):
    """The cell (a Crystal) and its GlassHarmonic, from a structure file or Crystal and a potential or constants."""
    from trajmodes.disorder.glass import GlassHarmonic
    from trajmodes.lattice.crystal import Crystal, masses_or_error
    if (potential is None) == (force_constants is None):
        raise ValueError("give the glass's potential (--potential: a LAMMPS .sw file, or lj/cut:..., morse:..., "
                         "buck:...) or its force constants (--force-constants), one of them")
    if isinstance(structure, Crystal):
        crystal, name = structure, "the cell"
    else:
        from trajmodes.io import read_structure
        _refuse_stated_lj(structure, units)
        s = read_structure(structure, units=units, species=species, lj_scales=lj_scales)
        if s.cell is None:
            raise ValueError(f"{structure}: the structure has no periodic cell (an XYZ file without Lattice=, or "
                             "with pbc=\"F F F\": a cluster); a glass is its own periodic cell: give a LAMMPS data "
                             "file, or an extended XYZ with its Lattice and pbc=\"T T T\"")
        crystal = Crystal(s.cell, s.positions, list(s.species), masses_or_error(s.species, s.masses))
        name = str(structure)
    _refuse_close_atoms(crystal, name)
    _refuse_density(crystal, name, units)
    if potential is not None:
        pot = potential
        if isinstance(potential, str):
            from trajmodes.potentials.pair import load_potential
            pot = load_potential(potential, elements=list(dict.fromkeys(map(str, crystal.species))))
        if not hasattr(pot, "sparse_force_constants"):
            raise ValueError(f"{potential}: this potential has no sparse analytic constants (pair and three-body "
                             "potentials do): give the glass's force constants instead")
        _refuse_reach(pot, crystal, name)
        return crystal, GlassHarmonic.from_potential(pot, crystal)
    fc = force_constants
    if isinstance(fc, str):
        from trajmodes.forceconstants.model import ForceConstants
        fc = ForceConstants.read(fc)
    if hasattr(fc, "full"):
        if fc.n_atoms != crystal.n_atoms:
            raise ValueError(f"the force constants are of a {fc.n_atoms}-atom supercell, {name} has "
                             f"{crystal.n_atoms} atoms: give the constants of the cell itself (every image summed)")
        fc = fc.full()
    return crystal, GlassHarmonic.from_force_constants(fc, crystal)


#: LAMMPS units lj: what a command line and a Python call give to read a file in them
LJ_OPTIONS = ("--units lj with --lj-scales SIGMA,EPSILON,MASS (A, eV, amu; from Python units=\"lj\" and "
              "lj_scales={\"sigma\": ..., \"epsilon\": ..., \"mass\": ...})")
#: atoms per Å³ that no solid reaches (diamond, the densest in atoms, has 0.176): a cell this dense is a file in
#: other units than those read (reduced units lj, about one atom per sigma^3, read as A)
MAX_ATOM_DENSITY = 0.3


def _refuse_stated_lj(path, units) -> None:
    """Refuse a LAMMPS data file whose first line says ``units = lj`` (LAMMPS' ``write_data`` writes it) read in other
    units, naming the options that read it in its own, before it is read."""
    import gzip
    import os
    import re
    if units == "lj" or not os.path.isfile(str(path)):
        return
    try:
        with open(str(path), "rb") as f:
            packed = f.read(2) == b"\x1f\x8b"
        with (gzip.open if packed else open)(str(path), "rt", errors="replace") as f:
            first = f.readline(4096)
    except OSError:
        return
    m = re.search(r"\bunits\s*=\s*(\w+)", first) if first.startswith("LAMMPS data file") else None
    if m and m.group(1) == "lj":
        raise ValueError(f"{path}, line 1: LAMMPS wrote this data file in units lj (reduced units: lengths in sigma, "
                         f"energies in epsilon, masses in m), but it is read in units {units or 'metal'}: give "
                         f"{LJ_OPTIONS}")


def _refuse_density(crystal, name: str, units) -> None:
    """Refuse a cell denser than any solid (:data:`MAX_ATOM_DENSITY`): a file in LAMMPS units lj read as metal (its
    reduced lengths taken for Å) or in other units than its own; the options that read it in units lj named."""
    rho = crystal.n_atoms / abs(float(np.linalg.det(np.asarray(crystal.cell, float))))
    if rho > MAX_ATOM_DENSITY:
        raise ValueError(f"{name}: {crystal.n_atoms} atoms in {abs(np.linalg.det(crystal.cell)):.4g} A^3, "
                         f"{rho:.3g} atoms per A^3: denser than any solid (diamond has 0.176), so its lengths are not "
                         f"A (read in units {units or 'metal'}). A LAMMPS data file in units lj (reduced units) needs "
                         f"{LJ_OPTIONS}; a file in other units, their --units")


#: Å: two atoms of a cell closer than this are a damaged structure (no bond is that short; H2's is 0.74 Å), or one in
#: other units than those read (units lj read as metal)
MIN_ATOM_DISTANCE = 0.5


def _refuse_close_atoms(crystal, name: str) -> None:
    """Refuse a cell with two atoms on one site, or closer than :data:`MIN_ATOM_DISTANCE` (periodic images included):
    the pair constants of one site with itself are left out and those of a pair 0.3 Å apart are 10^7 times too large,
    each a wrong answer without a word (one atom written twice, a line of a data file repeated)."""
    from trajmodes.lattice.geometry import pairs_within
    x = np.asarray(crystal.positions, float)
    cell = np.asarray(crystal.cell, float)
    frac = np.round((x @ np.linalg.inv(cell)) % 1.0, 8) % 1.0
    _, first, inverse, counts = np.unique(frac, axis=0, return_index=True, return_inverse=True, return_counts=True)
    if (counts > 1).any():
        k = int(np.flatnonzero(counts > 1)[0])
        i, j = np.flatnonzero(inverse.ravel() == k)[:2]
        raise ValueError(f"{name}: atoms {i + 1} and {j + 1} (in the order of their ids) sit on one site "
                         f"({', '.join(f'{v:.6g}' for v in x[i])} A, or a lattice vector from it): an atom written "
                         "twice. Remove the duplicate from the file")
    i, j, d = pairs_within(cell, x, MIN_ATOM_DISTANCE)
    if len(i):
        r = np.linalg.norm(d, axis=1)
        k = int(np.argmin(r))
        raise ValueError(f"{name}: atoms {i[k] + 1} and {j[k] + 1} (in the order of their ids) are {r[k]:.3g} A apart, "
                         f"closer than any bond ({MIN_ATOM_DISTANCE:g} A): a damaged structure, or one in other units "
                         f"than those read (a LAMMPS data file in units lj needs {LJ_OPTIONS})")


def _refuse_reach(potential, crystal, name: str) -> None:
    """Refuse a potential whose cutoff reaches half the cell's shortest lattice vector: a pair of atoms then interacts
    through several images, and the Allen-Feldman heat-flux operator needs one (the fit refuses such a cutoff for
    the same reason: :func:`~trajmodes.forceconstants.clusters.build_basis`)."""
    from trajmodes.forceconstants.clusters import CUT_TOL
    from trajmodes.lattice.geometry import shortest_lattice_vector
    cutoff = float(getattr(potential, "cutoff", np.nan))
    half = 0.5 * shortest_lattice_vector(crystal.cell)
    if np.isfinite(cutoff) and cutoff + CUT_TOL >= half:
        raise ValueError(f"{name}: the potential's cutoff ({cutoff:g} A) is not below half the cell's shortest lattice "
                         f"vector ({half:.4g} A): a pair of atoms then interacts through several periodic images, and "
                         "the Allen-Feldman heat-flux operator (x_j - x_i) D_ij needs each pair through one (the fit "
                         "of force constants refuses such a cutoff for the same reason). Use a larger cell (the sample "
                         f"replicated: every lattice vector longer than {2 * cutoff:.3g} A) or a shorter cutoff")


def glass_transport(structure, *, potential=None, force_constants=None, species=None, units: str | None = None,
                    lj_scales: dict | None = None, width: float | None = None, shape: str = "lorentzian", temperatures=None,
                    occupation: str = "quantum", window=None, route: str = "auto", n_moments: int = 256,
                    n_vectors: int = 8, seed: int = 0, memory_fraction: float = 0.5,
                    progress=None) -> GlassTransport:
    """A glass's Gamma-point modes, participation ratios and Allen-Feldman heat transport (``trajmodes glass``).

    The route follows the memory: where the dense 3N x 3N modes fit (:func:`~trajmodes.disorder.glass.dense_eigh_bytes`
    within ``memory_fraction`` of the available memory) every mode (:func:`~trajmodes.disorder.glass.gamma_modes`),
    its participation ratio and Allen-Feldman diffusivity (:func:`~trajmodes.disorder.allen_feldman.allen_feldman`;
    P. B. Allen and J. L. Feldman, Phys. Rev. B 48, 12581 (1993)) and the conductivity kappa(T)
    (:func:`~trajmodes.disorder.allen_feldman.allen_feldman_conductivity`); beyond, the diffusivity D(nu) by the
    kernel polynomial method (:func:`~trajmodes.disorder.kpm.kpm_diffusivity`; sparse products only) and, with
    ``window``, the modes of that window by shift-invert Lanczos with their participation ratios and diffusivities.

    Parameters
    ----------
    structure : str or Crystal
        The periodic cell: a LAMMPS data file (any structure :func:`trajmodes.io.read_structure` reads) or a Crystal.
    potential : str or ShortRangePotential, optional
        Its analytic constants (:meth:`~trajmodes.potentials.terms.ShortRangePotential.sparse_force_constants`): a
        LAMMPS .sw file or a pair potential of :func:`~trajmodes.potentials.pair.load_potential`.
    force_constants : ForceConstants, path or array, optional
        Instead: the constants of the cell itself (every image summed).
    species : list of str, optional
        Elements of the LAMMPS types of a data file without them.
    units : str, optional
        LAMMPS unit style of the data file.
    lj_scales : dict, optional
        ``{"sigma": A, "epsilon": eV, "mass": amu}`` of a data file in ``units="lj"``.
    width : float, optional
        THz, the broadening of Allen-Feldman's delta function; default three times the mean spacing of the modes
        (of the window's modes with ``window``).
    shape : {"lorentzian", "gaussian"}
        The line shape of that broadening.
    temperatures : array_like, optional
        K, of kappa(T) (default 0 to 1000 K in steps of 10).
    occupation : {"quantum", "classical"}
        The modes' heat capacities.
    window : (float, float), optional
        THz: the modes of this window too, on the kernel polynomial route.
    route : {"auto", "dense", "kpm"}
        Every mode by dense diagonalisation, or the kernel polynomial method; "auto": dense where it fits in
        ``memory_fraction`` of the memory.
    n_moments, n_vectors, seed
        Of the kernel polynomial method: its Chebyshev moments, random vectors and their seed.
    memory_fraction : float
        The share of the available memory the dense route may take.
    progress : callable, optional
        Label -> context manager around each step.

    Returns
    -------
    GlassTransport

    Raises
    ------
    ValueError
        For a missing or doubled source of constants, constants of another cell, a route not there is, or a cell too
        big for the dense route and for the kernel polynomial method in the memory available (one line each).
    """
    import xarray as xr
    from trajmodes.disorder.allen_feldman import allen_feldman, allen_feldman_conductivity
    from trajmodes.disorder.glass import dense_eigh_bytes, gamma_modes
    from trajmodes.disorder.kpm import VECTOR_BLOCK, kpm_diffusivity, spectrum_top
    if route not in DISORDER_ROUTES:
        raise ValueError(f"route must be one of {', '.join(DISORDER_ROUTES)}, not {route!r}")
    step = _steps(progress)
    with step("the glass's sparse dynamical matrix"):
        crystal, model = _glass_model(structure, potential, force_constants, species, units, lj_scales)
    n3 = model.dynamical.shape[0]
    budget, words = memory_budget(memory_fraction)
    dense_bytes = dense_eigh_bytes(n3)
    M = int(n_moments)
    kpm_bytes = 8.0 * (2 * M * n3 * min(int(n_vectors), VECTOR_BLOCK) + 3 * M * M) + 4 * 12.0 * model.dynamical.nnz
    dense = dense_route(route, dense_bytes, budget, words, f"the dense modes of the {n3 // 3}-atom cell need")
    if not dense and kpm_bytes > budget:
        raise ValueError(f"the {n3 // 3}-atom cell is too big for the dense modes (about {memory_words(dense_bytes)}) "
                         f"and for the kernel polynomial method with {M} moments (about {memory_words(kpm_bytes)}) "
                         f"within {words}: give fewer moments (--moments), or run where more memory is free")
    T = np.arange(0.0, 1001.0, 10.0) if temperatures is None else np.atleast_1d(np.asarray(temperatures, float))
    if dense:
        what = (f"every mode of the {n3 // 3}-atom cell: its {n3} x {n3} dynamical matrix diagonalised (about "
                f"{memory_words(dense_bytes)}, within {words})")
    else:
        why = ("asked for" if route == "kpm" else
               f"the dense modes would take about {memory_words(dense_bytes)}, more than {words}")
        what = (f"the kernel polynomial diffusivity D(nu) of the {n3 // 3}-atom cell ({M} moments, {n_vectors} random "
                f"vectors, about {memory_words(kpm_bytes)}; {why})")
    notes = [what]
    parts = []
    attrs = {"route": "dense" if dense else ("kpm+window" if window is not None else "kpm"),
             "n_atoms": int(n3 // 3), "volume": model.volume, "volume_units": "Angstrom^3",
             "dense_estimate_bytes": float(dense_bytes), "kpm_estimate_bytes": float(kpm_bytes)}
    if dense:
        with step(what):
            modes = gamma_modes(model, memory_fraction=max(memory_fraction, 0.5))
        w = _default_width(modes.frequencies, n3) if width is None else float(width)
        with step(f"Allen-Feldman diffusivities of {len(modes.frequencies)} modes ({shape}, {w:.3g} THz)"):
            af = allen_feldman(model, modes, width=w, shape=shape)
        kappa = allen_feldman_conductivity(af, T, occupation)
        parts += [af, kappa]
        attrs.update(width=w, width_units="THz", shape=shape, occupation=occupation)
    else:
        with step(what):
            top = spectrum_top(model.dynamical)
            kd = kpm_diffusivity(model, frequencies=np.linspace(top / 200, top, 200), n_moments=M,
                                 n_vectors=n_vectors, seed=seed)
        parts.append(xr.Dataset(
            {"kpm_diffusivity": ("kpm_frequency", kd.diffusivity.values, dict(kd.diffusivity.attrs)),
             "kpm_dos": ("kpm_frequency", kd.dos.values, dict(kd.dos.attrs))},
            coords={"kpm_frequency": ("kpm_frequency", kd.frequency.values, {"units": "THz"})}))
        attrs.update({f"kpm_{k}": v for k, v in kd.attrs.items() if k not in ("n_atoms",)})
        if window is not None:
            lo, hi = (float(v) for v in window)
            with step(f"the modes between {lo:g} and {hi:g} THz (shift-invert Lanczos)"):
                modes = gamma_modes(model, window=(lo, hi), memory_fraction=max(memory_fraction, 0.5))
            if len(modes.frequencies) < 2:
                raise ValueError(f"the window {lo:g}-{hi:g} THz holds {len(modes.frequencies)} mode(s) of the cell: "
                                 "widen it (Allen-Feldman pairs modes)")
            w = _default_width(modes.frequencies, None) if width is None else float(width)
            with step(f"Allen-Feldman diffusivities of the window's {len(modes.frequencies)} modes ({shape}, "
                      f"{w:.3g} THz)"):
                af = allen_feldman(model, modes, width=w, shape=shape)
            parts.append(af)
            attrs.update(width=w, width_units="THz", shape=shape, window=np.array([lo, hi]), window_units="THz")
            notes.append(f"window {lo:g}-{hi:g} THz: {len(modes.frequencies)} modes; those within a few widths of "
                         "its edges miss partners beyond it; no conductivity (it needs every mode)")
        else:
            notes.append("no participation ratios or conductivity on the kernel polynomial route: give a frequency "
                         "window for the modes of a band")
    ds = xr.merge(parts, combine_attrs="drop_conflicts")
    ds.attrs = attrs
    return GlassTransport(ds, attrs["route"], tuple(notes))


def _default_width(frequencies, n3) -> float:
    """Three times the mean spacing of the modes (THz): over the whole spectrum (``n3`` modes up to the highest) or,
    for a window (``n3`` None), over the modes found."""
    nu = np.sort(np.asarray(frequencies, float))
    if n3 is not None:
        return 3.0 * float(nu.max()) / n3
    return 3.0 * float(nu[-1] - nu[0]) / max(len(nu) - 1, 1)
