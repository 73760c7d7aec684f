"""``trajmodes fit`` (and the fit of ``trajmodes run``): effective (TDEP) force constants of one temperature, their
dispersion beside other constants, the cutoff chosen from the data, and the frequencies at the special points with
the error bars calibrated for the run.

A light module at import (numpy and the force-constant model): the command line's parser takes the fit's defaults,
:data:`FIT_DEFAULTS`, from here.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from trajmodes.lattice.spglib_calls import SYMPREC

if TYPE_CHECKING:
    from trajmodes.phonons.harmonic.stability import ImaginaryModes

__all__ = ["FIT_DEFAULTS", "WEIGHT_WORDS", "COMMITTEE_WORDS", "SPHERE_ATOMS", "default_cutoff2", "warn_truncation",
           "FitResult", "LargestDifference", "stability_line",
           "fit_effective", "frequency_error_bars", "frequencies_on", "potential_range_of_runs",
           "fitted_temperature", "committee_size", "load_committee", "FitSettings", "FitOutputs",
           "fit_runs", "compare_label"]

#: the defaults of the fit's settings (the keywords of :func:`fit_effective` besides the cutoffs): ``trajmodes fit``'s
#: parser offers them, ``trajmodes run`` fits with them; ``symprec`` is the one symmetry tolerance,
#: :data:`~trajmodes.lattice.spglib_calls.SYMPREC`
FIT_DEFAULTS = dict(mode="sequential", folds=5, cv="blocks", stride=1, n_frames=None, symprec=SYMPREC,
                    constraints=None, weights="none", committee="auto", keep_reference=False)
#: the words of the command line for the estimator's ``weights=`` and ``committee=`` (:func:`fit_effective` takes
#: either)
WEIGHT_WORDS = {"none": None, "uncertainty": "uncertainty"}
COMMITTEE_WORDS = {"auto": "auto", "yes": True, "no": False}
#: the default pair cutoff's sphere holds at most about this many atoms (unless the potential reaches further): it
#: bounds the cost of the fit in large supercells (the sphere of the longest cutoff of a 6x6x6 bcc supercell holds
#: 226 atoms, of a 4x4x4 fcc one 134)
SPHERE_ATOMS = 300


def default_cutoff2(cell, n_atoms: int | None = None, potential_range=None) -> float:
    """The pair cutoff (Å) of the fit the default cutoff is chosen from: the longest the supercell ``cell`` allows
    without two images of a pair (just below half its shortest lattice vector: TDEP's default), at most the radius of
    a sphere holding :data:`SPHERE_ATOMS` atoms of the crystal (of ``n_atoms`` atoms in the cell), unless the
    potential's range (``potential_range``, Å) is longer.

    Parameters
    ----------
    cell : (3, 3) array_like
        The supercell's lattice vectors (rows), Å.
    n_atoms : int, optional
        Atoms in the cell.
    potential_range : float or PotentialRange, optional
        The range of the potential that made the run, Å.
    """
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
    ``bands``' q-points; ``compared_qpoint`` holds them in the basis of ``phonons``.

    Parameters
    ----------
    phonons : Phonons
        The constants whose frequencies (THz) are added.
    bands : xarray.Dataset
        A band structure (:meth:`~trajmodes.Phonons.band_structure`), q reduced in the cell ``primitive``.
    primitive : Crystal, optional
        The cell of ``bands``' reduced coordinates; default that of ``phonons``.
    names : (str, str)
        What the two sets of constants are called in an error.
    """
    from trajmodes.lattice.qpoints import qpoints_in
    q = bands.qpoint.values
    if primitive is not None:
        try:
            q = qpoints_in(q, primitive, phonons.force_constants.primitive, names=names)
        except ValueError as refused:
            folded = _folded_comparison(phonons, bands, primitive, names)
            if folded is None:
                raise refused
            return folded
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


def _supercell_relation(cell, other, strain_tol: float):
    """The integer matrix N with ``cell = N @ other`` (rows, Å) within ``strain_tol`` and |det N| > 1, or None."""
    mf = np.asarray(cell, float) @ np.linalg.inv(np.asarray(other, float))
    n = np.rint(mf)
    det = round(abs(float(np.linalg.det(n))))
    if det > 1 and np.linalg.norm(cell - n @ other) <= strain_tol * np.linalg.norm(cell):
        return n.astype(np.int64)
    return None


def _folded_comparison(phonons, bands, primitive, names):
    """Where one primitive cell is a supercell of the other (N of its cells), the two crystals' spectra at the same
    Cartesian q: the larger cell's frequencies at q, and the smaller cell's at q + every one of the N reciprocal
    vectors of the larger cell that the smaller does not have (the larger cell's zone folds them onto q), sorted. Both
    hold the same 3 n N frequencies per q, a comparison of the same crystal; None where the cells are not so related
    (or their atoms are not N times as many)."""
    from trajmodes.lattice.qpoints import STRAIN_TOL, commensurate_qpoints
    mine, theirs = primitive, phonons.force_constants.primitive
    q = np.asarray(bands.qpoint.values, float)
    big_is_theirs = _supercell_relation(theirs.cell, mine.cell, STRAIN_TOL)
    big_is_mine = None if big_is_theirs is not None else _supercell_relation(mine.cell, theirs.cell, STRAIN_TOL)
    N = big_is_theirs if big_is_theirs is not None else big_is_mine
    if N is None:
        return None
    d = round(abs(float(np.linalg.det(N))))
    small, big = (mine, theirs) if big_is_theirs is not None else (theirs, mine)
    if big.n_atoms != d * small.n_atoms:
        return None
    shifts = commensurate_qpoints(N)                                   # in the smaller cell's reduced coordinates
    if big_is_theirs is not None:
        q_theirs = q @ N.T                                            # the same Cartesian q, the larger cell's basis
        theirs_nu = phonons.frequencies(q_theirs)
        # the fitted constants are not at hand here: the folded fit is made by the caller from q_small
        q_small = q
    else:
        q_theirs = q @ np.linalg.inv(N).T
        theirs_nu = phonons.frequencies(q_theirs)
        q_small = q_theirs
    out = bands.copy()
    out["frequency"] = (("q", "branch_compared"), theirs_nu, bands.frequency.attrs)
    out["compared_qpoint"] = (("q", "reduced"), q_theirs,
                              {"units": "reduced", "long_name": "the same Cartesian q-points in the compared "
                                                                "constants' basis"})
    out["fold_shift"] = (("shift", "reduced"), shifts, {"long_name": "reciprocal vectors of the larger cell, in the "
                                                                     "smaller cell's reduced coordinates"})
    out["small_qpoint"] = (("q", "reduced"), q_small)
    out.attrs.update(folded=int(d), folded_larger="compared" if big_is_theirs is not None else "fitted",
                     folded_matrix=N.ravel().tolist(),
                     folded_note=(f"{names[1] if big_is_theirs is not None else names[0]} is a cell of {d} primitive "
                                  f"cells of {names[0] if big_is_theirs is not None else names[1]} (lattice vectors "
                                  f"{N.tolist()} in its basis): compared at the same Cartesian q, the smaller cell's "
                                  f"frequencies folded into the larger cell's zone ({d} x its branches, sorted)"))
    return out


def fold_spectrum(phonons, qpoints, shifts) -> np.ndarray:
    """The frequencies of ``phonons`` at every ``qpoints`` + each of ``shifts`` (reduced), sorted per q: the spectrum of
    a supercell at the same Cartesian q, (nq, 3 n len(shifts)) THz."""
    q = np.asarray(qpoints, float)
    nu = np.concatenate([phonons.frequencies(q + g) for g in np.asarray(shifts, float)], axis=1)
    return np.sort(nu, axis=1)


@dataclass(frozen=True)
class LargestDifference:
    """The largest ``|effective - reference|`` of a fit (:meth:`FitResult.largest_difference`).

    Parameters
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

    Parameters
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
    imaginary : ImaginaryModes or None
        The imaginary modes of the fitted constants themselves
        (:func:`~trajmodes.phonons.harmonic.stability.imaginary_modes`: the q-points commensurate with the supercell,
        an 8^3 mesh, the special points and the band path): :func:`stability_line` says them.
    compare_refused : str or None
        Why the ``compare`` constants could not be compared (another crystal, for example); the fit is kept. None
        where they were compared or none were given.
    """

    estimator: object
    bands: object
    reference_bands: object | None
    temperature: float | None
    convergence: object | None = None
    reference_imaginary: ImaginaryModes | None = None
    held: object | None = None
    imaginary: ImaginaryModes | None = None
    compare_refused: str | None = None

    @property
    def force_constants(self):
        return self.estimator.force_constants_

    def largest_difference(self) -> LargestDifference | None:
        """The largest ``|effective - reference|`` on the band path (:class:`LargestDifference`: difference THz,
        branch, q reduced, mean difference THz), or None without reference bands."""
        if self.reference_bands is None:
            return None
        ref = self.reference_bands
        if "folded_fitted" in ref:                 # cells of one crystal, one a supercell: the folded spectra
            diff = ref.folded_fitted.values - ref.folded_compared.values
            i = np.unravel_index(np.argmax(np.abs(diff)), diff.shape)
            return LargestDifference(difference=float(diff[i]), branch=int(i[1]),
                                     qpoint=self.bands.qpoint.values[i[0]], mean=float(diff.mean()))
        diff = self.bands.frequency.values - ref.frequency.values
        i = np.unravel_index(np.argmax(np.abs(diff)), diff.shape)
        return LargestDifference(difference=float(diff[i]), branch=int(i[1]), qpoint=self.bands.qpoint.values[i[0]],
                                 mean=float(diff.mean()))


def _range(potential_range) -> float | None:
    """A potential's range in Å (a number or a PotentialRange), None when unknown."""
    reach = None if potential_range is None else float(potential_range)
    return reach if reach is not None and np.isfinite(reach) else None


def warn_truncation(cutoff2, potential_range, stacklevel: int = 2) -> bool:
    """Warn (one line, UserWarning) when the pair cutoff ``cutoff2`` is shorter than the range of the potential;
    returns whether it is.

    Parameters
    ----------
    cutoff2 : float or str
        The fit's pair cutoff, Å (or a cutoff as :class:`~trajmodes.EffectiveForceConstants` takes it).
    potential_range : float or PotentialRange or None
        The potential's range, Å, or the PotentialRange of
        :func:`trajmodes.io.potentials.pair_style.potential_range`, which the warning names; None: no warning.
    stacklevel : int
        As :func:`warnings.warn`'s: 2 names the caller's line.
    """
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
                  born=None, epsilon=None, weights=None, committee="auto", keep_reference: bool = False,
                  reading=None) -> FitResult:
    """Effective (TDEP) force constants of one temperature and their band structure (``trajmodes fit``).

    The frames are read once; work the caller added to ``reading`` (a pass of the first run it created,
    :class:`~trajmodes.trajectory.passes.Pass`) is computed in the fit's pass.

    Parameters
    ----------
    trajectories : Trajectory or list of Trajectory
        Runs at one temperature, with forces, on the same supercell.
    cutoff2 : float, optional
        Pair cutoff in Å. Default: chosen from the data. The run is fitted once at the longest cutoff
        (:func:`default_cutoff2`), and the fits at every shorter neighbour shell follow from the same normal
        equations; the smallest cutoff from which the frequencies at the special points agree with the longest's
        within their error bars is kept (:func:`~trajmodes.phonons.harmonic.convergence.cutoff_convergence`), never shorter
        than ``potential_range``. Given, the table is made up to it and the fit stays at it.
    cutoff3, cutoff4, mode, folds, cv, stride, n_frames, symprec, constraints, keep_reference
        Settings of :class:`~trajmodes.EffectiveForceConstants` (``keep_reference``: fit the given reference's
        crystal even where the run left it).
    path : str, optional
        Band path as special-point letters (``"GXU|KGL"``); default the lattice's standard path.
    npoints : int
        q-points per path segment.
    compare : ForceConstants or path, optional
        Force constants (e.g. the 0 K ones of the potential) to evaluate on the same q-points.
    potential_range : float or PotentialRange, optional
        The range of the potential that made the run, Å (:func:`trajmodes.io.potentials.pair_style.potential_range`
        reads it from the run's LAMMPS input): the chosen cutoff is never shorter, and a ``cutoff2`` shorter than it is
        warned about.
    temperature : float, optional
        The runs' mean kinetic temperature in K where it is known (``trajmodes run`` has it from the run's summary);
        default the mean over the fitted frames, from the fit's own pass (:attr:`FitResult.temperature`).
    born, epsilon : array_like, optional
        Born charges and dielectric tensor of a polar crystal (:class:`~trajmodes.EffectiveForceConstants`): the
        dipole-dipole forces are taken out before the fit (a rigid-ion run's: :func:`rigid_ion_charges`).
    weights : None, "none", "uncertainty" or array_like
        The fit's weights (:class:`~trajmodes.EffectiveForceConstants`): unweighted (None or "none", default), or
        1/sigma^2 from the runs' force uncertainty or committee ("uncertainty"), or sigma given (eV/Å).
    committee : {"auto", "yes", "no", True, False}
        Fit every member of a committee of learned potentials whose forces the runs carry ("auto": where they do):
        :func:`frequency_error_bars` then gives the committee's error bar beside the sampling one.
    reading : Pass, optional
        The pass of the first run the fit computes, with the work the caller added to it; default one of its own.
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
    if isinstance(weights, str):
        weights = WEIGHT_WORDS.get(weights, weights)
    if isinstance(committee, str):
        committee = COMMITTEE_WORDS.get(committee, committee)
    est = EffectiveForceConstants(cutoff2=cutoff2, cutoff3=cutoff3, cutoff4=cutoff4, mode=mode, folds=folds,
                                  stride=stride, n_frames=n_frames, symprec=symprec, cv=cv, constraints=constraints,
                                  born=born, epsilon=epsilon, weights=weights, committee=committee,
                                  keep_reference=keep_reference)
    # the frames the error model projects, read in the fit's pass where they may be held (the run is then read once)
    held = fit_holding_frames(est, trajs if len(trajs) > 1 else trajs[0], reading)
    convergence = cutoff_convergence(est, minimum=reach)
    if auto and convergence.cutoff2 < cutoff_length(est.cutoff2) - 1e-9:
        est.refit(cutoff2=convergence.cutoff2)
    from trajmodes.phonons.harmonic.stability import imaginary_modes
    ph = Phonons(est.harmonic_force_constants_)
    bands = ph.band_structure(path, npoints=npoints)
    # the fitted constants' own imaginary modes: the supercell's q-points, a mesh, the special points, the path
    own = imaginary_modes(ph, bands.qpoint.values, bands.frequency.values)
    reference = imaginary = refused = None
    if compare is not None:
        # the fit is kept whatever the comparison says: a reference that is not comparable is said, not raised
        try:
            reference, imaginary = _compare_with(compare, ph, bands, est.primitive_)
        except ValueError as e:
            refused = str(e)
    if temperature is None and np.isfinite(est.temperature_):
        temperature = float(est.temperature_)
    return FitResult(est, bands, reference, temperature, convergence, imaginary, held, own, refused)


def _compare_with(compare, ph, bands, primitive):
    """The ``compare`` constants' dispersion on the fit's band path (:func:`frequencies_on`; folded where one primitive
    cell is a supercell of the other) and their imaginary modes; a ValueError that says why where they are not
    constants of the fitted crystal."""
    from trajmodes.phonons.harmonic.phonons import Phonons
    from trajmodes.phonons.harmonic.stability import imaginary_modes
    from trajmodes.workflows.reading import load_force_constants
    fc0 = compare if hasattr(compare, "fc2") else load_force_constants(compare)
    ph0 = Phonons(fc0)
    # the same points of the zone in the reference's own basis (its primitive cell may be another choice)
    reference = frequencies_on(ph0, bands, primitive, names=("the fitted constants", "the constants to "
                                                             "compare with (--compare)"))
    if "fold_shift" in reference:
        if reference.attrs["folded_larger"] == "compared":
            fitted = fold_spectrum(ph, reference.small_qpoint.values, reference.fold_shift.values)
            compared = np.sort(reference.frequency.values, axis=1)
        else:
            fitted = np.sort(bands.frequency.values, axis=1)
            compared = fold_spectrum(ph0, reference.small_qpoint.values, reference.fold_shift.values)
        reference["folded_fitted"] = (("q", "folded_branch"), fitted, {"units": "THz"})
        reference["folded_compared"] = (("q", "folded_branch"), compared, {"units": "THz"})
    # the reference's own q-points (its supercell, a mesh, the special points) and the path it is drawn on
    imaginary = imaginary_modes(ph0, reference.compared_qpoint.values, reference.frequency.values)
    return reference, imaginary


def stability_line(result: FitResult) -> str | None:
    """One line on the fitted constants' own dynamical stability (:attr:`FitResult.imaginary`): where they have
    imaginary modes, how many, the lowest (THz, negative), its q-point and branch, and what it means; that they have
    none on the q-points checked otherwise. None where it was not checked."""
    im = result.imaginary
    if im is None:
        return None
    where = "the supercell's commensurate q-points, an 8x8x8 mesh, the special points and the band path"
    if not im.unstable:
        return f"fitted constants stable: no imaginary modes at the {im.n_checked} q-points checked ({where})"
    return (f"fitted constants UNSTABLE: {im.summary()} ({where}; negative: imaginary). The effective crystal has no "
            "harmonic ground state there: a soft mode of a transition the run is near or went through (see whether "
            "the run left the reference's crystal), or too few frames or too short a cutoff for that mode; its "
            "frequencies, free energy and error bars are not those of a stable crystal")


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
        Reduced (no 2 pi); default the special points of the lattice.
    qlabels : sequence of str, optional
        A name per q-point of ``qpoints``; default the special points' letters.
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
        ``frozen_share``, ``energy_conserved`` (1, 0, -1 unknown), ``error_model_seconds``. Where the fit has a
        committee of learned potentials (:attr:`~trajmodes.EffectiveForceConstants.committee_params_`), the committee's
        error bar beside the sampling one: ``frequency_committee_err`` (q, branch) THz, the members' standard deviation
        (ddof 1) of each frequency, ``frequency_members`` (member, q, branch) THz, the members' own frequencies
        (:func:`~trajmodes.forceconstants.committee.committee_view`), and the attribute ``committee_members`` (M; 0
        without a committee).
    """
    import xarray as xr
    from trajmodes.lattice.paths import special_points
    from trajmodes.series.errorbars import (MODELS, error_bar_label, error_model_inputs, run_frequency_errors,
                                            static_slope)
    est = result.estimator
    if qpoints is None:
        pts = special_points(est.primitive_)
        qlabels, qpoints = list(pts), np.array(list(pts.values()), float)
    q = np.atleast_2d(np.asarray(qpoints, float))
    qlabels = [""] * len(q) if qlabels is None else [str(x) for x in qlabels]
    if not hasattr(est, "params_samples_"):
        est.bootstrap(n_resamples, seed)
    found = error_model_inputs(est, trajectories if result.held is None else result.held, progress=progress)
    dnu, why = static_slope(est, static, q) if static is not None else (None, "")
    source = ""
    if dnu is not None:
        # the static crystal's sites against the fit's (its mean sites): how far apart, and the tolerance they met
        _, offset, tol = static.fold_sites(est.supercell_)
        source = ("from the static crystal (classical scaling of the shift; its sites within "
                  f"{offset:.2g} A of the fit's mean sites, {tol:.2g} A allowed: a quarter of the nearest-neighbour "
                  "distance)")
    r = run_frequency_errors(est, q, found, dnu_dT=dnu, dnu_dT_source=source)
    reason = f"{r.reason}; {why}" if why and r.lower_bound else r.reason
    thz, dims, e = {"units": "THz"}, ("q", "branch"), r.result
    label = error_bar_label(r.lower_bound, reason)
    ds = xr.Dataset(
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
    return _with_committee(ds, est, q)


def _with_committee(ds, est, q):
    """``ds`` (:func:`frequency_error_bars`) with the committee's error bar of the frequencies at ``q`` where the fit
    ``est`` has members: their frequencies by the bootstrap's route (:func:`committee_view`), their spread."""
    if getattr(est, "committee_params_", None) is None:
        ds.attrs["committee_members"] = 0
        return ds
    from trajmodes.forceconstants.committee import committee_view
    from trajmodes.phonons.thermodynamics import frequency_samples
    nu = frequency_samples(committee_view(est), q)                       # (M, nq, branches) THz
    M = len(nu)
    ds["frequency_committee_err"] = (("q", "branch"), nu.std(axis=0, ddof=1), {
        "units": "THz", "long_name": f"committee error bar: standard deviation (ddof 1) of the frequency over the {M} "
        "members' fits to the same frames (the learned potential's uncertainty; more MD does not shrink it)",
        "error_bars": f"committee ({M} members)"})
    ds["frequency_members"] = (("member", "q", "branch"), nu, {
        "units": "THz", "long_name": "the frequency of each committee member's force constants"})
    ds["frequency_err"].attrs["long_name"] = "sampling error bar: standard error (error_model)"
    ds.attrs["committee_members"] = M
    return ds


def potential_range_of_runs(trajectories, logs=()):
    """The range of the potential of the runs ``trajectories`` (a
    :class:`~trajmodes.io.potentials.pair_style.PotentialRange`, Å, and where it was read), from the LAMMPS input or
    log that names their dumps (the runs' thermo ``logs`` first), for :func:`fit_effective`'s ``potential_range``;
    None when no input names them (:func:`~trajmodes.io.potentials.pair_style.potential_range_of`)."""
    from trajmodes.io.potentials.pair_style import potential_range_of
    return potential_range_of(trajectories, logs=logs or ())


def fitted_temperature(path) -> float | None:
    """The temperature (K) effective constants were fitted at, from the provenance ``trajmodes fit`` writes into
    its netCDF file; None for other files (0 K constants, phono3py's, constants of unknown origin)."""
    import xarray as xr
    if not str(path).endswith(".nc") or not os.path.isfile(path):
        return None
    try:
        with xr.open_dataset(path) as f:
            attrs = dict(f.attrs)
    except (OSError, ValueError):
        return None
    T = attrs.get("temperature_K")
    fitted = any(k.startswith("setting_cutoff") for k in attrs)
    return float(T) if fitted and T is not None and float(T) > 0 else None


def committee_size(path) -> int:
    """How many committee members' constants the netCDF file ``path`` holds beside its own (``trajmodes fit`` of a
    run with a committee of learned potentials writes them: ``ForceConstants.write(..., members=)``); 0 for other
    files and formats."""
    import xarray as xr
    if not str(path).endswith(".nc") or not os.path.isfile(path):
        return 0
    try:
        with xr.open_dataset(path) as f:
            return int(f.attrs.get("committee_members", 0))
    except (OSError, ValueError):
        return 0


def load_committee(path) -> list:
    """The constants of every committee member the netCDF file ``path`` holds (:func:`committee_size`), each a
    :class:`~trajmodes.ForceConstants` with the member's fc2, fc3 and fc4 on the file's crystal
    (``ForceConstants.read(path, member=m)``); an empty list where it holds none."""
    from trajmodes.forceconstants.model import ForceConstants
    return [ForceConstants.read(path, "netcdf", member=m) for m in range(committee_size(path))]


@dataclass(frozen=True)
class FitSettings:
    """The settings of ``trajmodes fit`` (and of the fit of ``trajmodes run``), built once from the command's options
    (or in Python) and taken by :func:`fit_runs`; every default is the command's.

    Parameters
    ----------
    cutoff2, cutoff3, cutoff4 : float or None
        Pair, triplet and quartet cutoffs in Å (``cutoff2`` None: chosen from the data; ``cutoff3`` None: second
        order only; ``cutoff4`` with ``cutoff3``: the fourth order too).
    mode, folds, cv, stride, n_frames, symprec, constraints, weights, committee, keep_reference
        The estimator's settings (:func:`fit_effective`; :data:`FIT_DEFAULTS` their defaults): ``symprec`` in Å,
        ``constraints`` a tuple of "rotational", "huang"; ``weights`` and ``committee`` the command line's words
        (:data:`WEIGHT_WORDS`, :data:`COMMITTEE_WORDS`).
    compare : str or None
        Force constants (a phonopy folder or file, a trajmodes .nc) to draw the effective dispersion against.
    path : str or None
        Band path as special-point letters (default the lattice's standard path).
    npoints : int
        q-points per segment of the band path.
    charges : {"auto", "none"}
        Born charges of a rigid-ion run (:func:`~trajmodes.workflows.charges.rigid_ion_charges`) with "auto".
    reference, thermo, units
        The runs' reference structure file, LAMMPS logs and units: where their charges and their potential's range
        are read (and, with the reference, an input file of the provenance).
    read : mapping
        The options the runs were read with (reference, units, time step, species, masses), for the provenance.
    plot_format : {"png", "pdf", "svg"}
        The format of the dispersion figure.
    """

    cutoff2: float | None = None
    cutoff3: float | None = None
    cutoff4: float | None = None
    mode: str = FIT_DEFAULTS["mode"]
    folds: int = FIT_DEFAULTS["folds"]
    cv: str = FIT_DEFAULTS["cv"]
    stride: int = FIT_DEFAULTS["stride"]
    n_frames: int | None = FIT_DEFAULTS["n_frames"]
    symprec: float = FIT_DEFAULTS["symprec"]
    constraints: tuple = ()
    weights: str = FIT_DEFAULTS["weights"]
    committee: str = FIT_DEFAULTS["committee"]
    keep_reference: bool = FIT_DEFAULTS["keep_reference"]
    compare: str | None = None
    path: str | None = None
    npoints: int = 51
    charges: str = "auto"
    reference: str | None = None
    thermo: tuple = ()
    units: str | None = None
    read: Mapping = field(default_factory=dict)
    plot_format: str = "png"

    def __post_init__(self):
        if self.cutoff4 is not None and self.cutoff3 is None:
            raise ValueError("--cutoff4 fits the fourth order after the third: give --cutoff3 with it")

    def estimator(self) -> dict:
        """The keywords of :func:`fit_effective` these settings give (the cutoffs and :data:`FIT_DEFAULTS`' names),
        as the provenance states them."""
        return dict(cutoff2=self.cutoff2, cutoff3=self.cutoff3, cutoff4=self.cutoff4,
                    **{k: getattr(self, k) for k in FIT_DEFAULTS})

    def inputs(self, trajectories) -> list:
        """The files a fit of ``trajectories`` is computed from: each run's, the reference structure file and the
        thermo logs (the provenance's ``inputs``).

        Parameters
        ----------
        trajectories : list of Trajectory
            The runs opened from these settings.
        """
        ref = [self.reference] if self.reference and os.path.isfile(self.reference) else []
        return [p for t in trajectories for p in [*t.source.paths, *ref, *self.thermo]]


@dataclass(frozen=True)
class FitOutputs:
    """What :func:`fit_runs` found, and the files it writes (:meth:`write`).

    Parameters
    ----------
    result : FitResult
        The fit (:func:`fit_effective`).
    settings : FitSettings
        As given.
    runs : list of Trajectory
        The runs fitted (a path-integral run's pooled beads).
    fitted : list of Trajectory
        What the fit read (the runs, or their caches): the error model of :meth:`frequency_error_bars` reads it.
    potential_range : PotentialRange or None
        The range of the runs' potential, from the LAMMPS input or log that names their dumps.
    charges : RigidIonCharges
        The Born charges the fit took out the dipole-dipole forces with, and what was decided (``charges.line``).
    inputs : list of str
        The input files (the provenance's).
    compare_constants : ForceConstants or None
        The constants of ``settings.compare``.
    """

    result: FitResult
    settings: FitSettings
    runs: list
    fitted: list
    potential_range: object
    charges: object
    inputs: list
    compare_constants: object = None

    @property
    def notes(self) -> list:
        """The lines that say what was read beside the runs: the potential's range and the charges decided."""
        reach = self.potential_range
        return ([f"potential range: {reach.describe()}"] if reach is not None else []) + (
            [self.charges.line] if self.charges.line else [])

    def resolved(self) -> dict:
        """The settings the fit ran with (the cutoff chosen, where it came from, the potential's range, the
        charges), as the provenance states them."""
        est = self.result.estimator
        settings = dict(self.settings.estimator(), cutoff2=float(est.cutoff2),
                        cutoff2_from="data" if self.settings.cutoff2 is None else "given")
        reach = self.potential_range
        if reach is not None and reach.cutoff is not None:
            settings["potential_range"] = float(reach.cutoff)
        born = getattr(est, "born_", None)
        settings["charges"] = self.settings.charges + (
            "" if born is None else " (rigid-ion: Born charges " + " ".join(f"{z:+.4g}" for z in born[:, 0, 0]) + ")")
        return settings

    def provenance(self) -> dict:
        """The attributes of every file :meth:`write` writes (:func:`~trajmodes.workflows.outputs.provenance`)."""
        from trajmodes.workflows.outputs import provenance
        return provenance(self.inputs, dict(self.settings.read, **self.resolved(),
                                            frames=int(self.result.estimator.scores_.n_frames),
                                            compare=self.settings.compare),
                          temperature=self.result.temperature)

    @property
    def quantum(self) -> bool:
        """Whether the constants are a path-integral run's (fitted over its beads: the quantum ensemble's)."""
        beads = getattr(self.runs[0].source, "n_beads", None)
        return beads is not None and beads > 1

    def write(self, folder, out=None, stem: str = "fc") -> list:
        """Write STEM.nc (the constants, with a committee's members), STEM.scores.nc, STEM.cutoffs.nc (where the pair
        cutoff's convergence was tabulated) and the dispersion figure STEM.png into ``folder``, each with
        :meth:`provenance`; ``out``: the outputs a command stages (default: written in place). Returns their paths.

        Parameters
        ----------
        folder : str or path
            Where the files go.
        out : Outputs, optional
            The outputs a command stages; default written in place.
        stem : str
            The files' names before their suffixes.
        """
        from trajmodes.plots import fit_title, plot_dispersion_comparison
        from trajmodes.workflows.outputs import direct_outputs, write_dataset
        out = direct_outputs(out)
        res, settings, prov = self.result, self.resolved(), self.provenance()
        est, fc = res.estimator, res.force_constants
        base = os.path.join(os.fspath(folder), stem)
        written = [base + ".nc"]
        fc.write(out(written[0]), format="netcdf", attrs=prov, members=est.committee_force_constants_)
        written.append(write_dataset(est.scores_, base + ".scores.nc", out, prov))
        if res.convergence is not None:
            written.append(write_dataset(res.convergence.table, base + ".cutoffs.nc", out, prov))
        beads = getattr(self.runs[0].source, "n_beads", None)
        label = ("quantum effective" if self.quantum else "effective") + (
            "" if res.temperature is None else f" ({res.temperature:.0f} K)")
        folded = None if res.reference_bands is None else res.reference_bands.attrs.get("folded_note")
        fig = f"{base}.{self.settings.plot_format}"
        plot_dispersion_comparison(res.bands, out(fig), res.reference_bands,
                                   title=fit_title(fc.primitive.species, res.temperature, settings["mode"],
                                                   settings["cutoff2"], settings.get("cutoff3"), n_beads=beads),
                                   label=label,
                                   reference_label=compare_label(self.settings.compare, res.reference_imaginary)
                                   + (f" ({res.reference_bands.attrs['folded']} cells of the other: folded)"
                                      if folded else ""))
        written.append(fig)
        return written

    def frequency_error_bars(self, progress=None):
        """The frequencies at the special points with the error bars calibrated for the runs
        (:func:`frequency_error_bars` on :attr:`fitted`, the ``compare`` constants as the static crystal).

        Parameters
        ----------
        progress : callable, optional
            Called with one line before each step that can take seconds.
        """
        return frequency_error_bars(self.result, self.fitted, static=self.compare_constants, progress=progress)


def compare_label(compare, imaginary) -> str:
    """The legend of the ``compare`` curve: its file with the folder above it (``eam0/fc.nc``, not ``fc.nc``), and
    whether it is unstable (``imaginary``: its :class:`ImaginaryModes`)."""
    if not compare:
        return "0 K"
    parts = os.path.normpath(str(compare)).split(os.sep)
    name = os.path.join(*parts[-2:]) if len(parts) > 1 else parts[-1]
    if imaginary is not None and imaginary.unstable:
        where = imaginary.label or f"q = {np.round(imaginary.qpoint, 3).tolist()}"
        name += f" (unstable: lowest {imaginary.lowest:.2f} THz at {where})"
    return name


def fit_runs(trajectories, settings: FitSettings | None = None, *, temperature: float | None = None, fitted=None,
             compare_constants=None, inputs=None, reading=None) -> FitOutputs:
    """``trajmodes fit``: the runs' potential range (from their LAMMPS input), their Born charges where they are a
    rigid-ion run's, and their effective force constants (:func:`fit_effective`) with ``settings``; the result writes
    its files (:meth:`FitOutputs.write`).

    Parameters
    ----------
    trajectories : Trajectory or list of Trajectory
        Runs of one temperature with forces (a path-integral run's pooled beads).
    settings : FitSettings, optional
        Default: the command's defaults.
    temperature : float, optional
        The runs' mean temperature in K where known (default: the fitted frames').
    fitted : list of Trajectory, optional
        What the fit reads instead of ``trajectories`` (their caches).
    compare_constants : ForceConstants, optional
        The constants of ``settings.compare``, where read already (default: read here).
    inputs : list of str, optional
        The input files for the provenance (default :meth:`FitSettings.inputs`).
    reading : Pass, optional
        The pass of the first run read, with work of the caller's added to it (:func:`fit_effective`).
    """
    from trajmodes.workflows.charges import RigidIonCharges, rigid_ion_charges
    settings = FitSettings() if settings is None else settings
    runs = list(trajectories) if isinstance(trajectories, (list, tuple)) else [trajectories]
    for t in runs:
        t.require_masses()
    if compare_constants is None and settings.compare is not None:
        from trajmodes.workflows.reading import load_force_constants
        compare_constants = load_force_constants(settings.compare)
    reach = potential_range_of_runs(runs, logs=settings.thermo)
    charges = (RigidIonCharges(None, None, "") if settings.charges == "none" else
               rigid_ion_charges(runs[0], reference=settings.reference, potential_range=reach, logs=settings.thermo,
                                 units=settings.units))
    result = fit_effective(fitted or runs, compare=compare_constants, path=settings.path, npoints=settings.npoints,
                           potential_range=reach, temperature=temperature, born=charges.born,
                           epsilon=charges.epsilon, reading=reading, **settings.estimator())
    return FitOutputs(result, settings, runs, list(fitted or runs), reach, charges,
                      settings.inputs(runs) if inputs is None else list(inputs), compare_constants)
