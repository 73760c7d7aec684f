"""What the command-line tools compute, callable from Python.

Each function puts the library's parts together the way one ``trajmodes`` command does and returns the results
(objects and xarray datasets); none writes a file or draws a figure (the command line does that with
:mod:`trajmodes.plots`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

# The names below are the library's, imported here for the command line, which reaches the library through this module
# only; each lives where the comment says. They are light modules (no scipy, xarray or dask), so that the parser
# and --help stay fast; the names of heavier modules are in :func:`__getattr__`, imported on first use.
from trajmodes.forceconstants.model import ForceConstants       # the constants a command reads, builds and writes
from trajmodes.forceconstants.formats import detect_fc_format, fc_format, format_names  # forceconstants.formats
from trajmodes.forceconstants.report import format_cutoff_table  # forceconstants.report: the cutoff table in words
from trajmodes.io.filesystem import (StagedOutputs, atomic_write,  # io.filesystem: staged and atomic outputs,
                                     source_fingerprint)            # what identifies the inputs of a kept output
from trajmodes.io.potentials.pair_style import potential_range_of  # io.potentials.pair_style: a run's potential
from trajmodes.io.provenance import clean_attrs, provenance     # io.provenance: the attributes of every output
from trajmodes.io.trajectories.registry import sniff            # io.trajectories.registry: a file's format
from trajmodes.lattice.crystal import masses_or_error           # lattice.crystal: masses known, or a clear error
from trajmodes.lattice.paths import bravais_lattice, brillouin_zone_path, pretty_label  # lattice.paths
from trajmodes.lattice.prototypes import CUBE_EDGE, PROTOTYPES  # lattice.prototypes: the crystals of `qha`
from trajmodes.lattice.qpoints import parse_mesh                # lattice.qpoints: a q mesh from N or N1,N2,N3
from trajmodes.lattice.spglib_calls import SYMPREC              # lattice.spglib_calls: the symmetry tolerance
from trajmodes.lattice.symmetry import reciprocal_rotations     # lattice.symmetry: the point group on reduced q
from trajmodes.modes.defaults import DEFAULT_PEAK_MODEL, DEFAULT_RESOLUTION, PEAK_MODELS  # modes.defaults
from trajmodes.resources import (return_freed_memory, return_freed_memory_on_workers,  # resources: the program's
                                 trim_freed_memory_on_workers)                      # allocator settings

if TYPE_CHECKING:
    from trajmodes.phonons.harmonic.stability import ImaginaryModes

__all__ = ["return_freed_memory", "return_freed_memory_on_workers", "trim_freed_memory_on_workers",
           "load_force_constants", "default_cutoff2",
           "SPHERE_ATOMS", "warn_truncation",
           "FitResult", "LargestDifference", "fit_effective", "frequency_error_bars", "frequencies_on",
           "PhononProperties",
           "phonon_properties", "EAMCrystal", "eam_crystal", "modes_dataset", "add_path_variables", "path_bands",
           "PathBands", "three_phonon", "ThreePhonon", "potential_range_of", "QuasiHarmonicResult", "quasiharmonic",
           "harmonic_bands", "shell_constants_of", "project_modes", "ScatteringQpoints", "scattering_qpoints",
           "structure_factor", "check_correlation_window", "path_dispersion", "HeatCurrentConductivity",
           "heat_current_conductivity", "BoltzmannBeside", "boltzmann_beside", "mode_lifetime_conductivity",
           "BTE_RESAMPLES", "lifetime_checks", "lifetime_resolution", "MassDisorderLineshapes",
           "mass_disorder_lineshapes", "GlassTransport", "glass_transport", "DISORDER_ROUTES", "memory_words",
           "RigidIonCharges", "rigid_ion_charges", "CHARGE_CHOICES",

           # re-exported (see above)
           "ForceConstants", "format_cutoff_table", "StagedOutputs", "atomic_write", "source_fingerprint", "fc_format",
           "format_names", "detect_fc_format", "clean_attrs", "provenance", "sniff", "masses_or_error",
           "bravais_lattice",
           "brillouin_zone_path", "pretty_label", "CUBE_EDGE", "PROTOTYPES", "parse_mesh", "SYMPREC",
           "reciprocal_rotations", "DEFAULT_PEAK_MODEL", "DEFAULT_RESOLUTION", "PEAK_MODELS"]

#: the names :func:`__getattr__` imports on first use (modules that import scipy, xarray or dask)
LAZY_NAMES = ("fit_layer", "COLLAPSED", "UNCONSTRAINED", "UNSTABLE", "degenerate_groups", "read",
              "summarize", "summary_terms", "summary_dataset", "fit_series", "compare_three_phonon",
              "kappa_past_cutoff", "integral_still_rising", "heat_band")


def __getattr__(name: str):
    """The library's names of heavier modules, for the command line, imported on first use (PEP 562)."""
    if name == "fit_layer":                   # forceconstants.normal: the fields the fit reads (one shared pass)
        from trajmodes.forceconstants import normal
        return normal.fit_layer
    if name in ("COLLAPSED", "UNCONSTRAINED", "UNSTABLE"):   # modes.peaks: the fit status of a mode
        from trajmodes.modes import peaks
        return getattr(peaks, name)
    if name == "degenerate_groups":           # phonons.degeneracy: the degenerate sets of a q-point's frequencies
        from trajmodes.phonons.harmonic import degeneracy
        return degeneracy.degenerate_groups
    if name == "read":                        # trajectory.reading: a trajectory from its files
        from trajmodes.trajectory import reading
        return reading.read
    if name in ("summarize", "summary_terms", "summary_dataset"):   # trajectory.summary: a run's statistics
        from trajmodes.trajectory import summary
        return getattr(summary, name)
    if name == "fit_series":                  # series: the study over runs (trajmodes series)
        from trajmodes.series import fitting
        return fitting.fit_series
    if name in ("kappa_past_cutoff", "integral_still_rising"):   # transport.cepstral: checks of a Green-Kubo kappa
        from trajmodes.transport import cepstral
        return getattr(cepstral, name)
    if name == "heat_band":                   # transport.decomposition: the frequencies that carry most of the heat
        from trajmodes.transport import decomposition
        return decomposition.heat_band
    if name == "compare_three_phonon":        # modes.comparison: MD lines beside perturbation theory
        from trajmodes.modes import comparison
        return comparison.compare_three_phonon
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_force_constants(path: str | os.PathLike):
    """:class:`~trajmodes.ForceConstants` of any format, from the file names: :meth:`ForceConstants.read`."""
    return ForceConstants.read(path)


#: the default pair cutoff's sphere holds at most about this many atoms (unless the potential reaches further): it
#: bounds the cost of the fit in large supercells (the sphere of the longest cutoff of a 6x6x6 bcc supercell holds
#: 226 atoms, of a 4x4x4 fcc one 134)
SPHERE_ATOMS = 300


def default_cutoff2(cell, n_atoms: int | None = None, potential_range=None) -> float:
    """The pair cutoff (A) of the fit the default cutoff is chosen from: the longest the supercell ``cell`` allows
    without two images of a pair (just below half its shortest lattice vector: TDEP's default), at most the radius of
    a sphere holding :data:`SPHERE_ATOMS` atoms of the crystal (of ``n_atoms`` atoms in the cell), unless the
    potential's range (``potential_range``, A) is longer."""
    from trajmodes.forceconstants.convergence import largest_cutoff
    cell = np.asarray(cell, float)
    limit = largest_cutoff(cell)
    if n_atoms is None:
        return float(limit)
    cap = (3.0 * abs(np.linalg.det(cell)) / int(n_atoms) * SPHERE_ATOMS / (4.0 * np.pi)) ** (1.0 / 3.0)
    if potential_range is not None and np.isfinite(float(potential_range)):
        cap = max(cap, float(potential_range))
    return float(min(limit, cap))


def frequencies_on(phonons, bands, primitive=None, names=("the fitted constants", "the constants compared")):
    """``bands`` (a band-structure dataset) with the frequencies of ``phonons`` at its q-points: the same points of the
    zone where ``primitive`` (the cell whose reduced coordinates ``bands`` holds) is another basis of the crystal of
    ``phonons`` (:func:`~trajmodes.lattice.qpoints.qpoints_in`; another crystal is refused). The dataset keeps
    ``bands``' q-points; ``compared_qpoint`` holds them in the basis of ``phonons``."""
    from trajmodes.lattice.qpoints import qpoints_in
    q = bands.qpoint.values
    if primitive is not None:
        q = qpoints_in(q, primitive, phonons.force_constants.primitive, names=names)
    out = bands.copy()
    qdir = None
    if "segment" in bands.coords and len(q):     # Gamma on a segment: the limit along it, as the bands' own (LO-TO)
        seg = bands.segment.values
        ends = np.flatnonzero(np.diff(np.append(seg, -1)) != 0)
        starts = np.concatenate([[0], ends[:-1] + 1])
        qdir = (q[ends] - q[starts])[np.searchsorted(ends, np.arange(len(q)))]
    out["frequency"] = (("q", "branch"), phonons.frequencies(q, qdir), bands.frequency.attrs)
    out["compared_qpoint"] = (("q", "reduced"), np.asarray(q, float),
                              {"units": "reduced", "long_name": "the same q-points in the compared constants' basis"})
    return out


@dataclass(frozen=True)
class LargestDifference:
    """The largest ``|effective - reference|`` of a fit (:meth:`FitResult.largest_difference`).

    Attributes
    ----------
    difference : float
        effective - reference at the mode where it is largest in magnitude (signed), THz.
    branch : int
        That mode's branch.
    qpoint : ndarray, shape (3,)
        That mode's q-point on the band path, reduced coordinates.
    mean : float
        effective - reference averaged over every q-point and branch of the path, THz.
    """

    difference: float
    branch: int
    qpoint: np.ndarray
    mean: float


@dataclass(frozen=True)
class FitResult:
    """The effective force constants of one temperature and their dispersion.

    Attributes
    ----------
    estimator : EffectiveForceConstants
        Fitted (``force_constants_``, ``scores_``, ``fc3_``, ...).
    bands : xarray.Dataset
        The effective dispersion along the band path (THz).
    reference_bands : xarray.Dataset or None
        The dispersion of the ``compare`` force constants on the same q-points.
    temperature : float or None
        Mean kinetic temperature of the runs (K): as given to :func:`fit_effective`, else that of the fitted frames
        (:attr:`EffectiveForceConstants.temperature_`, from the fit's own pass).
    convergence : CutoffConvergence or None
        The frequencies at the special points at every pair cutoff up to the one fitted, with error bars, and the
        cutoff they converge at (:func:`~trajmodes.phonons.harmonic.convergence.cutoff_convergence`); None with a held fc2.
    reference_imaginary : ImaginaryModes or None
        The imaginary modes of the ``compare`` force constants
        (:func:`~trajmodes.phonons.harmonic.stability.imaginary_modes`: on their supercell's q-points, an 8^3 mesh, the
        special points and the band path); None without them.
    held : Trajectory or None
        The frames the error model projects (:func:`~trajmodes.series.errorbars.frames_to_hold`), read in the fit's
        pass and held in memory, for :func:`frequency_error_bars`; None where they are read again.
    """

    estimator: object
    bands: object
    reference_bands: object | None
    temperature: float | None
    convergence: object | None = None
    reference_imaginary: ImaginaryModes | None = None
    held: object | None = None

    @property
    def force_constants(self):
        return self.estimator.force_constants_

    def largest_difference(self) -> LargestDifference | None:
        """The largest ``|effective - reference|`` on the band path (:class:`LargestDifference`: difference THz,
        branch, q reduced, mean difference THz), or None without reference bands."""
        if self.reference_bands is None:
            return None
        diff = self.bands.frequency.values - self.reference_bands.frequency.values
        i = np.unravel_index(np.argmax(np.abs(diff)), diff.shape)
        return LargestDifference(difference=float(diff[i]), branch=int(i[1]), qpoint=self.bands.qpoint.values[i[0]],
                                 mean=float(diff.mean()))


def _range(potential_range) -> float | None:
    """A potential's range in A (a number or a PotentialRange), None when unknown."""
    reach = None if potential_range is None else float(potential_range)
    return reach if reach is not None and np.isfinite(reach) else None


def warn_truncation(cutoff2, potential_range, stacklevel: int = 2) -> bool:
    """Warn (one line, UserWarning) when the pair cutoff ``cutoff2`` (A) is shorter than the range of the potential
    (``potential_range``: A, or the PotentialRange of :func:`trajmodes.io.potentials.pair_style.potential_range`, which
    the warning names); returns whether it is."""
    import warnings
    from trajmodes.forceconstants.cutoffs import cutoff_length
    reach = _range(potential_range)
    if reach is None or cutoff_length(cutoff2) >= reach - 1e-6:
        return False
    where = potential_range.describe() if hasattr(potential_range, "describe") else f"{reach:g} A"
    warnings.warn(f"cutoff2 = {float(cutoff2):g} A is shorter than the range of the potential, {where}: the fit "
                  "truncates the force constants (leave cutoff2 out to choose it from the data)", UserWarning,
                  stacklevel=stacklevel + 1)
    return True


def fit_effective(trajectories, *, cutoff2: float | None = None, cutoff3: float | None = None,
                  cutoff4: float | None = None, mode: str = "sequential",
                  folds: int = 5, cv: str = "blocks", stride: int = 1, n_frames: int | None = None,
                  symprec: float = SYMPREC, constraints=(), path: str | None = None, npoints: int = 51,
                  compare=None, potential_range=None, temperature: float | None = None,
                  born=None, epsilon=None) -> FitResult:
    """Effective (TDEP) force constants of one temperature and their band structure (``trajmodes fit``).

    The frames are read once; work joined to the first run's next pass before
    (:class:`~trajmodes.trajectory.passes.Pass`) is computed in the fit's pass.

    Parameters
    ----------
    trajectories : Trajectory or list of Trajectory
        Runs at one temperature, with forces, on the same supercell.
    cutoff2 : float, optional
        Pair cutoff in A. Default: chosen from the data. The run is fitted once at the longest cutoff
        (:func:`default_cutoff2`), and the fits at every shorter neighbour shell follow from the same normal
        equations; the smallest cutoff from which the frequencies at the special points agree with the longest's
        within their error bars is kept (:func:`~trajmodes.phonons.harmonic.convergence.cutoff_convergence`), never shorter
        than ``potential_range``. Given, the table is made up to it and the fit stays at it.
    cutoff3, cutoff4, mode, folds, cv, stride, n_frames, symprec, constraints
        Settings of :class:`~trajmodes.EffectiveForceConstants`.
    path : str, optional
        Band path as special-point letters (``"GXU|KGL"``); default the lattice's standard path.
    npoints : int
        q-points per path segment.
    compare : ForceConstants or path, optional
        Force constants (e.g. the 0 K ones of the potential) to evaluate on the same q-points.
    potential_range : float or PotentialRange, optional
        The range of the potential that made the run, A (:func:`trajmodes.io.potentials.pair_style.potential_range`
        reads it from the run's LAMMPS input): the chosen cutoff is never shorter, and a ``cutoff2`` shorter than it is
        warned about.
    temperature : float, optional
        The runs' mean kinetic temperature in K where it is known (``trajmodes run`` has it from the run's summary);
        default the mean over the fitted frames, from the fit's own pass (:attr:`FitResult.temperature`).
    born, epsilon : array_like, optional
        Born charges and dielectric tensor of a polar crystal (:class:`~trajmodes.EffectiveForceConstants`): the
        dipole-dipole forces are taken out before the fit (a rigid-ion run's: :func:`rigid_ion_charges`).
    """
    from trajmodes.forceconstants.fit import EffectiveForceConstants
    from trajmodes.forceconstants.cutoffs import cutoff_length
    from trajmodes.phonons.harmonic.convergence import cutoff_convergence
    from trajmodes.series.errorbars import fit_holding_frames
    from trajmodes.phonons.harmonic.phonons import Phonons
    trajs = list(trajectories) if isinstance(trajectories, (list, tuple)) else [trajectories]
    reach = _range(potential_range)
    auto = cutoff2 is None
    if auto:
        cell = trajs[0].lattice_cell                     # from the frames' headers where the average is pending
        cutoff2 = 6.0 if cell is None else default_cutoff2(cell, trajs[0].n_atoms, reach)
    else:
        warn_truncation(cutoff2, potential_range, stacklevel=3)
    est = EffectiveForceConstants(cutoff2=cutoff2, cutoff3=cutoff3, cutoff4=cutoff4, mode=mode, folds=folds,
                                  stride=stride, n_frames=n_frames, symprec=symprec, cv=cv, constraints=constraints,
                                  born=born, epsilon=epsilon)
    # the frames the error model projects, read in the fit's pass where they may be held (the run is then read once)
    held = fit_holding_frames(est, trajs if len(trajs) > 1 else trajs[0])
    convergence = cutoff_convergence(est, minimum=reach)
    if auto and convergence.cutoff2 < cutoff_length(est.cutoff2) - 1e-9:
        est.refit(cutoff2=convergence.cutoff2)
    bands = Phonons(est.harmonic_force_constants_).band_structure(path, npoints=npoints)
    reference = imaginary = None
    if compare is not None:
        from trajmodes.phonons.harmonic.stability import imaginary_modes
        fc0 = compare if hasattr(compare, "fc2") else load_force_constants(compare)
        ph0 = Phonons(fc0)
        # the same points of the zone in the reference's own basis (its primitive cell may be another choice)
        reference = frequencies_on(ph0, bands, est.primitive_, names=("the fitted constants", "the constants to "
                                                                      "compare with (--compare)"))
        # the reference's own q-points (its supercell, a mesh, the special points) and the path it is drawn on
        imaginary = imaginary_modes(ph0, reference.compared_qpoint.values, reference.frequency.values)
    if temperature is None and np.isfinite(est.temperature_):
        temperature = float(est.temperature_)
    return FitResult(est, bands, reference, temperature, convergence, imaginary, held)


def frequency_error_bars(result: FitResult, trajectories, *, qpoints=None, qlabels=None, n_resamples: int = 200,
                         seed: int | None = 0, static=None, progress=None):
    """The effective frequencies of a fit (``trajmodes fit`` and ``run``) at the special points with the error bars
    calibrated for the run (:mod:`trajmodes.series.errorbars`): the fit bootstrapped (no pass over the frames), the
    run projected on its modes (at most :data:`~trajmodes.series.errorbars.ERROR_MODEL_FRAMES` frames) and, where its
    modes kept their energies, a fourth order fitted to it; where no calibrated estimate applies the dataset says that
    the error bars are lower bounds, and why.

    Parameters
    ----------
    result : FitResult
        Of :func:`fit_effective`.
    trajectories : Trajectory or list of Trajectory
        The runs it was fitted to.
    qpoints : array_like (nq, 3), optional
        Reduced; default the special points of the lattice (``qlabels`` their names).
    n_resamples, seed
        Of the block bootstrap (unless the fit has one).
    static : ForceConstants, optional
        The static (0 K) crystal at the run's volume: d nu / dT by the classical scaling of the shift, for the
        temperature term (a single run has no other).
    progress : callable, optional
        Called with one line before each step of the error model that can take seconds
        (:func:`~trajmodes.series.errorbars.error_model_inputs`).

    Returns
    -------
    xarray.Dataset
        ``frequency``, ``frequency_err`` and its parts ``frequency_bootstrap_err``, ``frequency_temperature_err``,
        ``frequency_partition_err``, ``frequency_net_slope_err`` (q, branch) THz; coordinates ``qpoint``, ``qlabel``;
        attrs ``error_model``, ``error_is_lower_bound``, ``error_model_reason``, ``error_bars`` (``calibrated (...)``
        or ``lower bound (...)``: :func:`~trajmodes.series.errorbars.error_bar_label`, also on ``frequency_err``),
        ``frozen_share``, ``energy_conserved`` (1, 0, -1 unknown), ``error_model_seconds``.
    """
    import xarray as xr
    from trajmodes.lattice import paths
    from trajmodes.series.errorbars import (MODELS, error_bar_label, error_model_inputs, run_frequency_errors,
                                            static_slope)
    est = result.estimator
    if qpoints is None:
        pts = paths.special_points(est.primitive_)
        qlabels, qpoints = list(pts), np.array(list(pts.values()), float)
    q = np.atleast_2d(np.asarray(qpoints, float))
    qlabels = [""] * len(q) if qlabels is None else [str(x) for x in qlabels]
    if not hasattr(est, "params_samples_"):
        est.bootstrap(n_resamples, seed)
    found = error_model_inputs(est, trajectories if result.held is None else result.held, progress=progress)
    dnu, why = static_slope(est, static, q) if static is not None else (None, "")
    r = run_frequency_errors(est, q, found, dnu_dT=dnu, dnu_dT_source="from the static crystal (classical scaling of "
                             "the shift)" if dnu is not None else "")
    reason = f"{r.reason}; {why}" if why and r.lower_bound else r.reason
    thz, dims, e = {"units": "THz"}, ("q", "branch"), r.result
    label = error_bar_label(r.lower_bound, reason)
    return xr.Dataset(
        {"frequency": (dims, e.frequency, dict(thz, long_name="effective phonon frequency")),
         "frequency_err": (dims, e.frequency_err, dict(thz, long_name="standard error (error_model)",
                                                       error_bars=label)),
         "frequency_bootstrap_err": (dims, e.bootstrap_err, dict(thz, long_name="block bootstrap part")),
         "frequency_temperature_err": (dims, e.temperature_term, dict(thz, long_name="temperature term")),
         "frequency_partition_err": (dims, e.partition_term, dict(thz, long_name="partition term")),
         "frequency_net_slope_err": (dims, e.net_slope_term, dict(thz, long_name="net-slope term"))},
        coords={"qpoint": (("q", "reduced"), q), "qlabel": ("q", qlabels)},
        attrs={"error_model": r.model, "error_model_description": MODELS[r.model],
               "error_is_lower_bound": int(r.lower_bound), "error_model_reason": reason, "error_bars": label,
               "frozen_share": found.share, "error_model_seconds": found.seconds,
               "energy_conserved": -1 if found.energy_conserved is None else int(found.energy_conserved)})


@dataclass(frozen=True)
class PhononProperties:
    """Band structure, DOS and thermodynamics of one set of force constants (``trajmodes phonons``).

    Attributes
    ----------
    phonons : Phonons
    bands, dos, thermal : xarray.Dataset
    mesh_q : ndarray (nq, 3)
        The mesh's q-points (reduced).
    mesh_frequencies : ndarray (nq, n_branches)
        THz; imaginary modes negative.
    """

    phonons: object
    bands: object
    dos: object
    thermal: object
    mesh_q: np.ndarray
    mesh_frequencies: np.ndarray

    def imaginary(self, tol: float = 1e-2) -> ImaginaryModes:
        """The modes below -``tol`` THz on the mesh (:class:`~trajmodes.phonons.harmonic.stability.ImaginaryModes`: their
        count, the lowest frequency, its q and the special point it is at).

        The three acoustic modes at Gamma are zero up to round-off and are never counted; near Gamma (a tenth of the
        shortest reciprocal vector) they count below -0.1 THz (:func:`~trajmodes.phonons.harmonic.stability.count_imaginary`)."""
        from trajmodes.lattice.paths import special_points
        from trajmodes.phonons.harmonic.stability import count_imaginary
        prim = self.phonons.force_constants.primitive
        return count_imaginary(self.mesh_q, self.mesh_frequencies, np.linalg.inv(prim.cell).T, tol,
                               labels=special_points(prim), rotations=prim.symmetry().rotations)


def phonon_properties(force_constants, *, path: str | None = None, npoints: int = 51, mesh=(20, 20, 20),
                      dos: str = "tetrahedron", temperatures=None) -> PhononProperties:
    """Bands along ``path``, the DOS (``dos`` method) and the thermodynamics at ``temperatures`` (K, default
    0 to 1000 in steps of 10) on a ``mesh``."""
    from trajmodes.phonons.harmonic.phonons import Phonons
    fc = force_constants if hasattr(force_constants, "fc2") else load_force_constants(force_constants)
    ph = Phonons(fc)
    temperatures = np.arange(0.0, 1001.0, 10.0) if temperatures is None else np.asarray(temperatures, float)
    bands = ph.band_structure(path, npoints=npoints)
    dos_ds = ph.dos(mesh, method=dos)
    thermal = ph.thermal_properties(temperatures, mesh=mesh)
    m = ph.mesh_frequencies(mesh)
    q, f = m.qpoints, m.frequencies
    return PhononProperties(ph, bands, dos_ds, thermal, q, f)


@dataclass(frozen=True)
class EAMCrystal:
    """Force constants of an EAM potential on a cubic crystal (``trajmodes eam``).

    Attributes
    ----------
    force_constants : ForceConstants
        Analytic, or by finite displacements (``method="finite-difference"``).
    shells : xarray.Dataset or None
        Born-von-Karman shell constants with their pair / embedding breakdown of the analytic constants (fcc and
        bcc); with finite displacements also their part ``finite_difference``.
    closed_form_deviation : float or None
        Largest ``|D|`` difference (eV/(A^2 amu)) between the closed-form one-atom dynamical matrix and the supercell
        route at commensurate q (fcc and bcc).
    curvature : CurvatureCheck or None
        The analytic constants against finite displacements of the same potential at a few steps
        (:func:`trajmodes.potentials.finite_difference.curvature_check`).
    method : str
        ``"analytic"`` or ``"finite-difference"``.
    species : tuple of str
        The crystal's element (fcc, bcc) or (A, B) of L1_2 A3B.
    potential : EAM or None
        The potential the constants are of.
    """

    force_constants: object
    shells: object | None
    closed_form_deviation: float | None
    curvature: object | None = None
    method: str = "analytic"
    species: tuple = ()
    potential: object = None


def eam_crystal(potential, structure: str, a: float, species=None, supercell: int = 5, *,
                method: str = "analytic", step: float = 0.01, check: bool = True) -> EAMCrystal:
    """Force constants of ``potential`` (an :class:`~trajmodes.EAM` or its file) for an fcc, bcc or L1_2 crystal of
    lattice constant ``a`` (A) in a cube of ``supercell**3`` conventional cells.

    ``species``: the element (fcc/bcc; default the potential's first) or the pair (A, B) of L1_2 A3B.
    For fcc and bcc also the BvK shell constants split into pair and embedding parts (Riffe et al.) and the
    check of the closed-form one-atom dynamical matrix against the supercell route.

    ``method``: ``"analytic"`` (the curvature of the splines at the lattice point) or ``"finite-difference"``
    (central differences of the forces, displacement ``step`` in A: what finite-displacement codes and MD see).
    With ``check`` the analytic constants are compared with finite displacements at a few steps; where they differ at
    every step (a table whose curvature changes from knot to knot) a warning says by how much.
    """
    import warnings
    from trajmodes.lattice.cubic import cubic_lattice
    from trajmodes.potentials.eam import EAM
    from trajmodes.potentials.eam_cubic import cubic_dynamical_matrix, shell_constant_parts
    from trajmodes.potentials.engines import PotentialEngine
    from trajmodes.potentials.finite_difference import curvature_check, finite_difference_force_constants
    from trajmodes.phonons.harmonic.phonons import Phonons
    if method not in ("analytic", "finite-difference"):
        raise ValueError(f"method must be 'analytic' or 'finite-difference', not {method!r}")
    pot = potential if isinstance(potential, EAM) else EAM(potential)
    structure = structure.lower()
    if species is None:
        from trajmodes.lattice.prototypes import default_species
        if structure == "l12" and len(pot.elements) != 2:
            raise ValueError("l12 needs the two elements A, B (A3B) of a potential with two elements")
        species = default_species(structure, pot.elements)
    species = [species] if isinstance(species, str) else list(species)
    shells = dev = None
    if structure in ("fcc", "bcc"):
        shells, fc = shell_constant_parts(pot, structure, a, element=species[0], supercell=supercell)
        n = supercell
        qc = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [1 / n, 0, 0], [2 / n, 1 / n, 0]])
        qr = (qc / a) @ fc.primitive.cell.T
        dev = float(np.abs(cubic_dynamical_matrix(pot, structure, a, qc, element=species[0])
                           - Phonons(fc).dynamical_matrix(qr)).max())
    else:
        sc, prim = cubic_lattice(structure, a, supercell, species, masses=[pot.mass(s) for s in species])
        fc = pot.force_constants(sc, prim)
    curvature = curvature_check(pot, fc.supercell, fc.primitive, analytic=fc) if check else None
    if method == "finite-difference":
        fc = finite_difference_force_constants(PotentialEngine(pot, fc.supercell), fc.primitive, step)
        if shells is not None:
            import xarray as xr
            from trajmodes.potentials import bvk
            fd = bvk.shell_constants(fc, lattice=structure)
            fd = fd[["value", "residual", "relative_residual"]]
            shells = xr.concat([shells, fd.expand_dims(part=["finite_difference"])], dim="part",
                               data_vars=["value", "residual", "relative_residual"], coords="minimal",
                               compat="override", join="override")
    elif curvature is not None and not curvature.consistent:
        warnings.warn(curvature.message(os.path.basename(str(pot.paths[0]))), UserWarning, stacklevel=2)
    return EAMCrystal(fc, shells, dev, curvature, method, tuple(species), pot)


# ----------------------------------------------------------------------------- modes of an MD run
def modes_dataset(modes, resolution: float | None = None, full: bool = False, model: str = "auto", star: bool = True,
                  temperature: float | None = None, keep_q: bool = False, window: str = "hann",
                  overlap: float = 0.5, phonons=None):
    """Energies, spectra and peak fits of projected modes merged into one dataset (``trajmodes project``).

    Parameters
    ----------
    modes : xarray.Dataset
        From :func:`trajmodes.project`.
    resolution, full, window, overlap
        Spectra settings (:func:`trajmodes.mode_spectra`).
    model : str
        Peak model (:func:`trajmodes.fit_peaks`; "auto": Lorentzian or damped oscillator, the more likely per
        spectrum, named in ``peak_line_model``).
    star : bool
        Average the spectra over the star of each q before fitting.
    temperature : float, optional
        K, for the equipartition ratio (default: the kinetic temperature).
    keep_q : bool
        Also keep the Q and Qdot time series (real and imaginary parts).
    phonons : Phonons, optional
        Those the modes were projected on: the dataset then also holds the harmonic dispersion along the
        band path and the point-group rotations (:func:`add_path_variables`), so that every q can be placed on
        the path.
    """
    from trajmodes.modes.energies import energy_series, mode_energies
    from trajmodes.modes.averaging import degenerate_sum, star_average
    from trajmodes.modes.peaks import fit_peaks
    from trajmodes.modes.spectra import mode_spectra, require_result_memory, result_bins
    if resolution is None and modes.sizes["time"] > 1:
        # the default bin, or the run's own 1/T where it is shorter than one default segment (no warning: chosen)
        from trajmodes.modes.defaults import DEFAULT_RESOLUTION
        t = np.asarray(modes["time"].values, float)
        resolution = max(DEFAULT_RESOLUTION, 1.0 / (len(t) * float(t[1] - t[0])))
    elif resolution is None:
        from trajmodes.modes.defaults import DEFAULT_RESOLUTION
        resolution = DEFAULT_RESOLUTION
    if modes.sizes["time"] > 1:                     # the result must fit: said before the first pass over the run
        t = np.asarray(modes["time"].values, float)
        require_result_memory(modes.sizes["q"] * modes.sizes["branch"],
                              result_bins(len(t), float(t[1] - t[0]), resolution, full), full)
    # one pass over the run: the energies' means summed in the spectra's pass
    spectra = mode_spectra(modes, resolution=resolution, full=full, window=window, overlap=overlap,
                           time_means=energy_series(modes))
    energies = mode_energies(modes, temperature=temperature,
                             means=(spectra["mean_kinetic"].values, spectra["mean_potential"].values))
    spectra = spectra.drop_vars(["mean_kinetic", "mean_potential"])
    fitted = star_average(spectra) if star else spectra
    peaks = fit_peaks(fitted, model=model, star=False)      # averaged above when asked
    H = np.asarray(spectra["frequency_harmonic"].values, float)
    ds = spectra.copy()
    if star:
        ds = ds.assign_coords(star=fitted["star"], n_star=fitted["n_star"])
    ds["psd_fitted"] = (("q", "branch", "frequency"), degenerate_sum(fitted["psd"].values, H),
                        dict(fitted["psd"].attrs, long_name="the spectrum the peak fit saw: psd "
                             + ("averaged over the star of q, " if star else "") + "summed over degenerate branches"))
    for n in ("kinetic", "potential", "total", "equipartition", "mode_temperature", "translation"):
        ds[n] = energies[n]
    for n, v in peaks.data_vars.items():
        ds[f"peak_{n}"] = v
    # imaginary harmonic frequencies (unstable constants): 1/2 w^2 |Q|^2 with w^2 < 0 is no energy of the mode
    from trajmodes.modes.peaks import UNSTABLE
    unstable = np.asarray(peaks["status"].values).astype(str) == UNSTABLE
    ds["unstable"] = (("q", "branch"), unstable, {"long_name": "imaginary harmonic frequency: the force constants "
                                                               "are unstable at this q (potential, total energy, "
                                                               "equipartition and shift NaN)"})
    for n in ("potential", "total", "equipartition"):
        ds[n] = ds[n].where(~ds["unstable"])
    ds.attrs.update({f"spectra_{k}": v for k, v in spectra.attrs.items()})
    ds.attrs.update(temperature=energies.attrs["temperature"], temperature_source=energies.attrs["temperature_source"],
                    peak_model=peaks.attrs["model"], peak_convention=peaks.attrs["convention"],
                    star_averaged=int(bool(star)))
    if keep_q:
        for n in ("Q", "Qdot"):
            a = modes[n]
            ds[f"{n}_real"] = (a.dims, np.asarray(a.values.real), dict(a.attrs))
            ds[f"{n}_imag"] = (a.dims, np.asarray(a.values.imag), dict(a.attrs))
        ds = ds.assign_coords(time=modes["time"])
    if phonons is not None:
        ds = add_path_variables(ds, phonons)
    for k, v in list(ds.attrs.items()):
        if isinstance(v, (bool, np.bool_)):
            ds.attrs[k] = int(v)
    return ds


def add_path_variables(ds, phonons, npoints: int = 51):
    """``ds`` with the harmonic band path of ``phonons`` and the rotations of their primitive cell.

    Variables: ``path_frequency`` (path_q, branch) THz, coordinates ``path_distance``, ``path_qpoint``
    (path_q, reduced), ``path_segment``, ``path_label``; ``rotations`` (operation, row, column), the
    primitive cell's point-group rotations in its fractional coordinates (spglib's, x' = R x). Attrs
    ``path_tick_distance`` and ``path_tick_labels`` (comma separated)."""
    bands = phonons.band_structure(npoints=npoints)
    rot = np.unique(np.asarray(phonons.force_constants.primitive.rotations, int), axis=0)
    out = ds.assign(path_frequency=(("path_q", "branch"), bands.frequency.values,
                                    {"units": "THz", "long_name": "harmonic frequency along the band path"}),
                    rotations=(("operation", "row", "column"), rot,
                               {"units": "1", "long_name": "point-group rotations of the primitive cell, "
                                                          "fractional coordinates (x' = R x); q' = R^-T q"}))
    out = out.assign_coords(path_distance=("path_q", bands.distance.values, dict(bands.distance.attrs)),
                            path_qpoint=(("path_q", "reduced"), bands.qpoint.values, dict(bands.qpoint.attrs)),
                            path_segment=("path_q", bands.segment.values),
                            path_label=("path_q", bands.label.values.astype(str)))
    out.attrs.update(path_tick_distance=np.asarray(bands.attrs["tick_distance"], float),
                     path_tick_labels=",".join(map(str, bands.attrs["tick_labels"])))
    return out


@dataclass(frozen=True)
class PathBands:
    """The band path that places the q-points of a ``trajmodes project`` dataset (:func:`path_bands`).

    Attributes
    ----------
    bands : xarray.Dataset or None
        Harmonic ``frequency`` (q, branch) THz along the path, coordinates ``distance``, ``qpoint`` (q, reduced),
        ``segment``, ``label``, attrs ``tick_distance``, ``tick_labels``; None when no path was found.
    rotations : ndarray of int, shape (operation, 3, 3), or None
        The primitive cell's point-group rotations, fractional coordinates (x' = R x); None without ``bands``.
    note : str
        "" when the path is the dataset's own, else where it came from or why there is none.
    """

    bands: object | None
    rotations: np.ndarray | None
    note: str


def path_bands(ds, force_constants=None) -> PathBands:
    """The band path (:class:`PathBands`: bands, rotations, note) to place the q-points of a ``trajmodes project``
    dataset on.

    The path stored in the dataset; for files written without it, recomputed from ``force_constants`` (default:
    the dataset's ``force_constants`` attribute) when those can be read; else no bands, with a note why."""
    import xarray as xr
    if "path_frequency" in ds and "rotations" in ds:
        bands = xr.Dataset({"frequency": (("q", "branch"), ds["path_frequency"].values)},
                           coords=dict(distance=("q", ds["path_distance"].values),
                                       qpoint=(("q", "reduced"), ds["path_qpoint"].values),
                                       segment=("q", ds["path_segment"].values),
                                       label=("q", ds["path_label"].values.astype(str))),
                           attrs=dict(tick_distance=[float(x) for x in np.atleast_1d(ds.attrs["path_tick_distance"])],
                                      tick_labels=str(ds.attrs["path_tick_labels"]).split(",")))
        return PathBands(bands=bands, rotations=ds["rotations"].values, note="")
    fc = force_constants or ds.attrs.get("force_constants")
    if fc and os.path.exists(str(fc)):
        from trajmodes.phonons.harmonic.phonons import Phonons
        ref = add_path_variables(ds[["peak_frequency"]], Phonons(load_force_constants(str(fc))))
        stored = path_bands(ref)
        return PathBands(bands=stored.bands, rotations=stored.rotations, note=f"path from {fc}")
    return PathBands(bands=None, rotations=None, note=("no band path in this file (modes_dataset without phonons) "
                                                       f"and its force constants {fc!r} not found: q by index"))


@dataclass(frozen=True)
class ThreePhonon:
    """What :func:`three_phonon` computes: the calculator (``anharmonic``, an
    :class:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic`) and its ``dataset`` (widths, shifts, conductivity)."""

    anharmonic: object
    dataset: object


def three_phonon(force_constants, mesh, temperatures, occupation: str = "quantum", smearing: float | str | None = None,
                 kappa: bool = True, method: str = "rta", isotopes=None, four_phonon: float | str | None = None,
                 four_phonon_sample=None, four_phonon_seed: int | None = None, coherences: bool = False,
                 static_shift: bool = False, progress=None, **options):
    """Three-phonon linewidths, lifetimes and shifts of every irreducible q of ``mesh``, with the conductivity
    (``kappa``; ``method`` "rta" or "lbte", the latter without shifts): what ``trajmodes anharmonic`` computes.
    ``force_constants`` carry fc3; ``mesh`` is n, (n1, n2, n3) or a
    3 x 3 supercell matrix (:func:`trajmodes.lattice.qpoints.parse_mesh`).
    ``smearing`` (THz, "adaptive" or None for tetrahedra), ``isotopes`` and ``options`` (``make_r0_average``,
    ``sigma_cutoff``) as :class:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic`; ``four_phonon`` (THz, the Gaussian of its
    delta functions, or "adaptive") adds four-phonon scattering from the constants' ``fc4`` to the widths (with
    "lbte", on the diagonal of the collision matrix: :meth:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic.thermal_conductivity`),
    summed over the whole mesh or, with ``four_phonon_sample``, sampled (:meth:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic.linewidths`).
    ``coherences`` adds the Wigner transport equation's two terms from the same widths
    (:func:`~trajmodes.phonons.anharmonic.coherence.wigner_conductivity`, Simoncelli's defaults): ``kappa_populations`` and
    ``kappa_coherences`` (temperature, cartesian, cartesian2) in W/(m K); kappa_coherences is what the coherences
    add to ``kappa`` (RTA or LBTE), kappa_populations its RTA counterpart.
    ``static_shift`` (with the shifts, method "rta") adds ``frequency_shift_static``, the bubble at zero frequency
    Delta(0), and ``frequency_shift_dynamic`` = Delta(nu0) - Delta(0), the shift of the lines of effective constants
    (fitted at T: they hold Delta(0) already; :meth:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic.static_shift`).
    ``options`` also take ``allow_unstable`` (constants with imaginary modes are refused without it).
    ``progress``: a callable that turns the label of each step (the phonons of the mesh, the sums over its triplets,
    the conductivity) into a context manager around it (the command line's step lines); default silent.
    Returns :class:`ThreePhonon`: the calculator and its dataset."""
    import contextlib
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    from trajmodes.lattice.qpoints import parse_mesh
    if coherences and not kappa:
        raise ValueError("coherences=True is a part of the conductivity: leave kappa=True")
    step = progress if progress is not None else (lambda label: contextlib.nullcontext())
    m = parse_mesh(mesh)
    words = "x".join(map(str, m.tolist())) + " mesh" if m.ndim == 1 else f"grid of the supercell {m.tolist()}"
    with step(f"phonons, symmetry, stability and delta-function weights on the {words}"):
        an = Anharmonic(force_constants, mesh, temperatures, occupation=occupation, smearing=smearing,
                        isotopes=isotopes, **options)
    four = dict(four_phonon=four_phonon, four_phonon_sample=four_phonon_sample, four_phonon_seed=four_phonon_seed)
    sums = (f"at the {len(an.grid.irreducible)} irreducible of its {an.grid.n_points} q-points "
            f"({an.triplet_count():,} triplets)")
    if kappa and method == "lbte":
        with step(f"three-phonon collision matrix {sums} and the LBTE conductivity"):
            ds = an.thermal_conductivity(method="lbte", **four)
    else:
        # Delta(0) from the same interaction strengths as the widths and Delta(nu0): one pass over the triplets
        with step(f"three-phonon widths and shifts{', Delta(0)' if static_shift else ''} {sums}"
                  + (", four-phonon widths" if four_phonon is not None else "")):
            lw = an.linewidths(shifts=True, static_shift=static_shift, **four)
        if kappa:
            with step("group velocities, heat capacities and the RTA conductivity"):
                ds = an.thermal_conductivity(method=method, linewidths=lw)
        else:
            ds = lw
    if coherences:
        w = an.wigner_conductivity(ds["gamma"].transpose("temperature", "q", "branch").values,
                                   ds["grid_point"].values)
        dims = ("temperature", "cartesian", "cartesian2")
        ds["kappa_populations"] = (dims, w.kappa_p, {"units": "W/(m K)", "long_name": "populations' conductivity "
                                                     "(Wigner transport equation, RTA)"})
        ds["kappa_coherences"] = (dims, w.kappa_c, {"units": "W/(m K)", "long_name": "coherences' conductivity "
                                                    "(Wigner transport equation; Simoncelli, Marzari and Mauri, "
                                                    "Nat. Phys. 15, 809 (2019))"})
    return ThreePhonon(an, ds)


# ----------------------------------------------------------------------------- pieces of the other commands
@dataclass(frozen=True)
class QuasiHarmonicResult:
    """The crystal of ``trajmodes qha`` and its calculator.

    Attributes
    ----------
    calculator : QuasiHarmonic
        :class:`~trajmodes.phonons.thermodynamics.quasiharmonic.QuasiHarmonic` of the potential and crystal (``minimize``).
    crystal : Crystal
        The primitive cell of the prototype, lattice parameters in Angstrom.
    species : list of str
        Its species (given, or the potential's: :func:`trajmodes.lattice.prototypes.default_species`).
    """

    calculator: object
    crystal: object
    species: list


def quasiharmonic(potential, structure: str, a: float, *, species=None, c: float | None = None,
                  u: float | None = None, mesh=16, occupation: str = "quantum") -> QuasiHarmonicResult:
    """The quasiharmonic calculator of ``trajmodes qha``: the potential ``potential`` (a file or a name of
    :func:`trajmodes.potentials.pair.load_potential`) for the prototype ``structure`` (lattice parameters ``a``, ``c``
    in Angstrom, internal coordinate ``u``) of ``species`` (default: the elements the potential names), on a q
    ``mesh`` with ``occupation`` ("quantum" or "classical")."""
    from trajmodes.lattice.prototypes import default_species, prototype
    from trajmodes.phonons.thermodynamics.quasiharmonic import QuasiHarmonic
    from trajmodes.potentials.pair import load_potential
    species = list(species) if species else None
    pot = load_potential(potential, elements=species)
    if species is None:
        elements = list(getattr(pot, "elements", None) or [])
        if not elements:
            raise ValueError("give --species for a pair potential (the element(s) of the crystal)")
        species = default_species(structure, elements)
    crystal = prototype(structure, species if len(species) > 1 else species[0], a, c=c, u=u)
    return QuasiHarmonicResult(QuasiHarmonic(pot, crystal, mesh=mesh, occupation=occupation), crystal, species)


def harmonic_bands(force_constants, path: str | None = None, npoints: int = 51, mesh=(20, 20, 20)):
    """The harmonic phonons of ``force_constants``, their band structure along ``path`` (``npoints`` per segment) and
    their DOS on ``mesh``: (:class:`~trajmodes.phonons.harmonic.Phonons`, bands, dos), frequencies in THz."""
    from trajmodes.phonons.harmonic.phonons import Phonons
    ph = Phonons(force_constants)
    return ph, ph.band_structure(path, npoints=npoints), ph.dos(mesh)


def shell_constants_of(force_constants, lattice: str | None = None):
    """The Born-von Karman shell constants (N/m) of ``force_constants`` (or the file or folder that holds them):
    :func:`trajmodes.potentials.bvk.shell_constants`."""
    from trajmodes.potentials import bvk
    if not isinstance(force_constants, ForceConstants):
        force_constants = load_force_constants(force_constants)
    return bvk.shell_constants(force_constants, lattice=lattice)


def project_modes(trajectory, force_constants, *, path: str | None = None, qpoints=None, q_max: float | None = None,
                  count: int | None = None):
    """The harmonic phonons of ``force_constants`` (or the file or folder that holds them) and the projection of
    ``trajectory`` onto their modes (lazy: :func:`trajmodes.modes.projection.project`): (:class:`~trajmodes.phonons.
    harmonic.Phonons`, modes), for :func:`modes_dataset`. The q-points: every one commensurate with the run's cell,
    or those chosen by at most one of ``path``, ``qpoints``, ``q_max`` (rad/Angstrom, 2 pi included) and ``count``
    (:func:`trajmodes.modes.projection.mode_qpoints`; checked before the run is read)."""
    from trajmodes.modes.projection import mode_qpoints, project
    from trajmodes.phonons.harmonic.phonons import Phonons
    if not isinstance(force_constants, ForceConstants):
        force_constants = load_force_constants(force_constants)
    ph = Phonons(force_constants)
    chosen = dict(path=path, qpoints=qpoints, q_max=q_max, count=count)
    q = mode_qpoints(trajectory, ph, **chosen) if any(v is not None for v in chosen.values()) else None
    return ph, project(trajectory, ph, qpoints=q)


def mode_lifetime_conductivity(trajectory, force_constants, temperature: float | None = None,
                               resolution: float | None = None):
    """The conductivity of a run's own mode lifetimes (normal-mode analysis; McGaughey and Kaviany, Phys. Rev. B 69,
    094303 (2004)): the run projected on the modes of ``force_constants`` at every q of its supercell
    (:func:`project_modes`), the peaks of their spectra fitted (:func:`modes_dataset`, ``resolution`` THz), and
    kappa = sum C v^2 tau / V with classical heat capacities
    (:func:`~trajmodes.modes.conductivity.conductivity_from_lifetimes`; ``missing_share``: the share of sum C v^2
    whose widths the run did not resolve)."""
    from trajmodes.modes.conductivity import conductivity_from_lifetimes
    ph, modes = project_modes(trajectory, force_constants)
    peaks = modes_dataset(modes, phonons=ph, resolution=resolution)
    return conductivity_from_lifetimes(ph, peaks, temperature=temperature, occupation="classical")


@dataclass(frozen=True)
class ScatteringQpoints:
    """The q-points of ``trajmodes sqw``: along a band path, given, or in ``|q|`` shells (powder).

    Attributes
    ----------
    qpoints : ndarray (n, 3)
        Reduced q of the primitive cell (no 2 pi), or Cartesian rad/Angstrom for a powder (``cartesian``).
    cartesian : bool
        Whether ``qpoints`` are Cartesian (a powder).
    primitive : Crystal or None
        The primitive cell of the run's reference (None for a powder).
    shell, edges : ndarray or None
        A powder's shell of every q and the shell edges (rad/Angstrom).
    path : str or None
        The band path; ``distance`` (1/Angstrom, no 2 pi) of every q along it and its ``ticks`` (distance, label).
    """

    qpoints: np.ndarray
    cartesian: bool = False
    primitive: object = None
    shell: np.ndarray | None = None
    edges: np.ndarray | None = None
    path: str | None = None
    distance: np.ndarray | None = None
    ticks: list | None = None


def scattering_qpoints(trajectory, *, powder=None, per_shell: int | None = 20, qpoints=None, path: str | None = None,
                       seed: int = 0) -> ScatteringQpoints:
    """The q-points commensurate with the MD cell of ``trajectory`` (its reference cell) at which ``trajmodes sqw``
    computes S(q, omega): one of ``powder`` = (q_min, q_max, n_shells) in rad/Angstrom (at most ``per_shell`` q of
    each shell, drawn at random, ``seed``: :func:`trajmodes.modes.scattering_qpoints.powder_qpoints`), ``qpoints``
    (reduced q of the primitive cell, checked commensurate and resolvable) or ``path`` (special-point letters: every
    commensurate q on it, :func:`trajmodes.modes.scattering_qpoints.path_qpoints`)."""
    from trajmodes.modes.scattering_qpoints import cartesian_qpoints, path_qpoints, powder_qpoints, run_primitive
    cell = np.asarray(trajectory.lattice_cell, float)     # no frame parsed for the cell
    if powder is not None:
        q_min, q_max, n_shells = powder
        q, shell, edges = powder_qpoints(cell, q_min, q_max, n_shells, per_shell, seed=seed)
        return ScatteringQpoints(q, cartesian=True, shell=shell, edges=edges)
    prim = run_primitive(trajectory)
    if qpoints is not None:
        q = np.asarray(qpoints, float)
        cartesian_qpoints(q, cell, prim.cell)         # commensurate and resolvable, before the run is read
        return ScatteringQpoints(q, primitive=prim)
    from trajmodes.phonons.harmonic.bands import path_pieces
    pieces, labels = path_pieces(prim, path)
    q, dist, ticks = path_qpoints(prim, cell, pieces, labels)
    return ScatteringQpoints(q, primitive=prim, path=path, distance=dist, ticks=ticks)


def check_correlation_window(trajectory, window: int, step: int = 1) -> None:
    """Refuse, before the run is read, a correlation window or step of time origins that the run cannot give
    (:func:`trajmodes.modes.structure_factor.check_window`)."""
    from trajmodes.modes.structure_factor import check_window
    check_window(trajectory, window, step)


def structure_factor(trajectory, qpoints: ScatteringQpoints, **options):
    """S(q, omega), F(q, t) and the current correlations of ``trajectory`` at ``qpoints`` (:func:`scattering_qpoints`):
    :func:`trajmodes.modes.structure_factor.dynamic_structure_factor` with ``options`` (window, step, currents,
    incoherent, weights), averaged over each ``|q|`` shell for a powder, with the band-path distance for a path."""
    from trajmodes.modes.structure_factor import dynamic_structure_factor
    ds = dynamic_structure_factor(trajectory, qpoints.qpoints, cartesian=qpoints.cartesian,
                                  primitive=qpoints.primitive, **options)
    if qpoints.shell is not None:
        from trajmodes.modes.scattering_qpoints import shell_average
        return shell_average(ds, qpoints.shell, qpoints.edges)
    if qpoints.distance is not None:
        ds = ds.assign_coords(path_distance=("q", qpoints.distance, {"units": "1/Angstrom (no 2 pi)",
                                                                     "long_name": "band path"}))
        ds.attrs.update(path=qpoints.path, path_tick_distance=np.array([t[0] for t in qpoints.ticks]),
                        path_tick_labels=",".join(t[1] for t in qpoints.ticks))
    return ds


def path_dispersion(force_constants, path: str, primitive=None):
    """The harmonic band structure of ``force_constants`` (or the file or folder that holds them) along ``path`` and
    the point group of their primitive cell (unique integer rotations, reduced), to draw over a map along the path:
    (bands, rotations). ``primitive``, the run's primitive cell the map is drawn for: constants of another crystal
    are refused (:func:`~trajmodes.lattice.qpoints.qpoints_in`; another choice of primitive vectors is the same
    crystal, and its path's special points are the same points of the zone)."""
    from trajmodes.lattice.qpoints import qpoints_in
    from trajmodes.phonons.harmonic.phonons import Phonons
    name = str(force_constants)
    if not isinstance(force_constants, ForceConstants):
        force_constants = load_force_constants(force_constants)
    if primitive is not None:
        qpoints_in(np.zeros((1, 3)), primitive, force_constants.primitive,
                   names=("the run's primitive cell", f"that of the force constants {name}"))
    ph = Phonons(force_constants)
    return ph.band_structure(path), np.unique(np.asarray(ph.force_constants.primitive.rotations, int), axis=0)


from trajmodes.workflows.transport import (BTE_RESAMPLES, BoltzmannBeside, HeatCurrentConductivity,  # noqa: E402
                                           boltzmann_beside, heat_current_conductivity, lifetime_checks,
                                           lifetime_resolution)
from trajmodes.workflows.disorder import (DISORDER_ROUTES, GlassTransport, MassDisorderLineshapes,  # noqa: E402
                                          glass_transport, mass_disorder_lineshapes, memory_words)
from trajmodes.workflows.charges import CHARGE_CHOICES, RigidIonCharges, rigid_ion_charges  # noqa: E402
