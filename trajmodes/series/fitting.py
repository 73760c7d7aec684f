"""Fitting every run of a series with one model: :func:`fit_series`."""
from __future__ import annotations

import os
import warnings
from collections.abc import Mapping

import numpy as np

from trajmodes.forceconstants.fit import EffectiveForceConstants
from trajmodes.series.core import Series
from trajmodes.series.errorbars import error_model_inputs, fit_holding_frames
from trajmodes.series.model import formula, shared_basis

__all__ = ["fit_series", "refuse_repeated_runs", "temperature_disagreement", "TEMPERATURE_MARGIN",
           "TEMPERATURE_SIGMAS"]

#: a temperature stated for a run disagrees with the run's mean kinetic temperature when they differ by more than
#: this fraction of the kinetic one ...
TEMPERATURE_MARGIN = 0.10
#: ... and by more than this many standard errors of the kinetic one (where it has one: a bootstrapped fit)
TEMPERATURE_SIGMAS = 5.0


def temperature_disagreement(stated: float, kinetic: float, kinetic_err: float | None = None,
                             name: str = "the run") -> str | None:
    """One line saying that the temperature ``stated`` for a run (K) is not the temperature it ran at, or None.

    The run's constants are effective at its mean kinetic temperature ``kinetic`` (K, with standard error
    ``kinetic_err``, the fit's ``temperature_ensemble_err_``: for a run at constant energy it includes the canonical
    draw of its energy). A stated temperature disagrees with it when the two differ by more than
    :data:`TEMPERATURE_MARGIN` of the kinetic one and, where the error is known, by more than
    :data:`TEMPERATURE_SIGMAS` standard errors: the few per cent a thermostat's run scatters by is no disagreement,
    a run at another temperature (a file given at the wrong place, NVE that equilibrated at half its initial
    temperature) is. None where they agree or the kinetic temperature is unknown (no velocities).
    """
    stated, kinetic = float(stated), float(kinetic)
    if not (np.isfinite(kinetic) and kinetic > 0 and np.isfinite(stated)):
        return None
    diff = abs(stated - kinetic)
    err = float(kinetic_err) if kinetic_err is not None and np.isfinite(kinetic_err) and kinetic_err > 0 else None
    if diff <= TEMPERATURE_MARGIN * kinetic or (err is not None and diff <= TEMPERATURE_SIGMAS * err):
        return None
    spread = f" +- {err:.2g}" if err is not None else ""
    by = f"{diff / kinetic:.0%}" + (f", {diff / err:.0f} standard errors" if err is not None else "")
    return (f"{name}: the temperature stated for it, {stated:g} K, is not the run's mean kinetic temperature, "
            f"{kinetic:.1f}{spread} K (off by {by}): its force constants are effective at {kinetic:.0f} K but are "
            f"placed at {stated:g} K in the series; check that the run and its temperature are paired right, or "
            "leave its temperature out to use the kinetic one")


def _data_key(traj):
    """What identifies the data of a trajectory: its files (device and inode, so that another spelling of a path, a
    symbolic or a hard link is the same file; the source itself where it has no files) and the MD steps of the frames
    it takes."""
    source = traj.source
    files = []
    for p in getattr(source, "paths", None) or ():
        try:
            st = os.stat(p)
            files.append((st.st_dev, st.st_ino))
        except (OSError, TypeError, ValueError):
            files.append(os.path.realpath(str(p)))
    try:
        frames = np.asarray(traj.steps)                # the MD steps of the frames it takes: one per frame
    except (AttributeError, TypeError, IndexError):
        frames = None
    return (tuple(files) if files else id(source)), frames


#: positions (A) and forces (eV/A) that agree to this are the same numbers written twice (a copy, or the same run
#: converted)
SAME_POSITIONS = 1e-6


def _content_key(traj):
    """What a trajectory holds, cheaply: (atoms, frames, the positions of its first and last frame, and their forces
    where it has them), two frames read; None where they cannot be read (the fit says why)."""
    try:
        fr = np.asarray(traj.source_frames)
        if not len(fr):
            return None
        fields = ("positions", "forces") if "forces" in traj.source.fields else ("positions",)
        got = traj.source.read(np.unique([fr[0], fr[-1]]), fields=fields)
        return int(traj.n_atoms), len(fr), np.stack([np.asarray(got[f], dtype=float) for f in fields])
    except Exception:                                   # any reader's error: left to the fit's read to name
        return None


def _same_content(a, b) -> bool:
    return (a is not None and b is not None and a[:2] == b[:2] and a[2].shape == b[2].shape
            and bool(np.all(np.abs(a[2] - b[2]) <= SAME_POSITIONS)))


def refuse_repeated_runs(runs, names) -> None:
    """Refuse a series that holds the same data twice: the same frames of the same files (or the same trajectory)
    as two runs, or twice within a pooled run; or two files that hold the same run (a copy: the same number of atoms
    and frames, and the same positions, to :data:`SAME_POSITIONS`, in the first and the last frame). Fitted twice,
    one run would count as two independent ones (its temperature twice in the series, the shift split and the error
    bars of the series as if from two runs). Runs that share some frames of one file are kept, with a warning naming
    them."""
    members = [(i, t) for i, run in enumerate(runs) for t in (run if isinstance(run, (list, tuple)) else [run])]
    seen: dict = {}
    contents: list = []
    for i, t in members:
        files, frames = _data_key(t)
        if len(members) > 1 and files not in seen:
            key = _content_key(t)
            for j, u, other in contents:
                if _same_content(key, other):
                    what = (f"{names[i]} (run {i + 1})" if i == j else
                            f"{names[j]} (run {j + 1}) and {names[i]} (run {i + 1})")
                    paths = [", ".join(map(str, getattr(x.source, "paths", None) or [x.source.describe()]))
                             for x in (u, t)]
                    raise ValueError(f"{what}: {paths[0]} and {paths[1]} hold the same run, though they are different "
                                     f"files: {key[1]} frames of {key[0]} atoms, the first and last frames' positions "
                                     f"(and forces) the same (to {SAME_POSITIONS:g}): a copy of one run given twice; a series "
                                     "fits each run once (twice, it would count as two independent runs): give each "
                                     "run once")
            contents.append((i, t, key))
        for j, u, other in seen.get(files, ()):
            what = (f"{names[i]} (run {i + 1})" if i == j else f"{names[j]} (run {j + 1}) and {names[i]} (run {i + 1})")
            where = ", ".join(map(str, getattr(t.source, "paths", None) or [t.source.describe()]))
            if t is u or (frames is not None and other is not None and np.array_equal(frames, other)):
                raise ValueError(f"{what}: the same frames of the same data ({where}) given twice; a series fits each "
                                 "run once (twice, it would count as two independent runs): give each run once")
            if frames is not None and other is not None and len(np.intersect1d(frames, other)):
                n = len(np.intersect1d(frames, other))
                warnings.warn(f"{what} share {n} frames (MD steps) of {where}: their results are not independent "
                              "(the series treats them as two runs); give frames that do not overlap", UserWarning,
                              stacklevel=3)
        seen.setdefault(files, []).append((i, t, frames))


def _fitted_temperature(fit, name: str) -> float:
    """The mean kinetic temperature of the fitted frames of a run, K: the fit's own ``temperature_`` (summed from
    :meth:`~trajmodes.trajectory.core.Trajectory.temperature` in its pass over the frames), checked."""
    if not np.isfinite(fit.temperature_):
        raise ValueError(f"{name} has no velocities (or no masses), so its temperature is unknown: give the "
                         "temperature of every run")
    return float(fit.temperature_)


def fit_series(runs, temperatures=None, names=None, *, qpoints=None, qlabels=None, path=None, npoints: int = 31,
               mesh=(16, 16, 16), occupation: str = "quantum", n_resamples: int = 200, seed: int | None = 0,
               target_error: float | None = None, progress=None, cubic_mesh=None, error_model: str = "calibrated",
               static=None, **fit_settings) -> "Series":
    """Fit every run of a series and gather the results.

    Parameters
    ----------
    runs : sequence of Trajectory (or of lists of Trajectory, pooled), or a mapping temperature (K) -> run
        With forces, all on the same supercell (same atoms in the same order); the cell may change (volumes, NPT).
        A mapping gives the temperatures (its keys; then leave ``temperatures`` out) and the runs are fitted in
        order of temperature, named "300 K", ... unless ``names`` are given.
    temperatures : sequence of float (or None), optional
        K; default (or where an entry is None) each run's mean kinetic temperature (needs velocities); a
        path-integral run's beads (:attr:`~trajmodes.trajectory.beads.RingPolymerRun.pooled`) do not measure it:
        give its input's. A temperature that disagrees with its
        run's kinetic one beyond the run's statistics (:func:`temperature_disagreement`) is kept, with a warning.
    names : sequence of str, optional
        One per run (the dataset's ``name`` coordinate); default each run's file.
    qpoints : array_like (nq, 3), optional
        Reduced q for the frequency tables and the shift split; default the special points of the lattice.
    qlabels : sequence of str, optional
        A label per q-point of ``qpoints`` (the dataset's ``qlabel``; default empty; without ``qpoints`` the special
        points' letters).
    path : str, optional
        Band path (special-point letters, e.g. ``"GXU|KGL"``); default the standard path of the lattice.
    npoints : int
        q-points per path segment.
    mesh : (3,) int
        q mesh of the free energy.
    occupation : {"quantum", "classical"}
        Statistics of the harmonic free energy and of its third-order correction. The constants of classical MD are
        classically renormalised: ``"classical"`` compares like for like, and ``quantum_correction`` is reported
        either way (:func:`~trajmodes.phonons.thermodynamics.free_energy.tdep_free_energy`).
    n_resamples : int
        Block-bootstrap resamples per run (0: no error bars).
    seed : int or None
        Seed of the block bootstrap's resamples (default 0: the same runs give the same error bars); None draws
        fresh ones.
    target_error : float, optional
        THz: the run length each run would need for this error on every tabulated frequency.
    progress : callable, optional
        Called with a line of text before each run.
    cubic_mesh : int or (3,) int, optional
        q mesh of the third-order free energy F_3ph when the runs are fitted with ``cutoff3`` (default
        :data:`trajmodes.phonons.thermodynamics.free_energy.CUBIC_MESH`).
    error_model : {"calibrated", "bootstrap"}
        ``"calibrated"`` (default): every run is projected on its modes (at most
        :data:`~trajmodes.series.errorbars.ERROR_MODEL_FRAMES` frames) to tell whether its modes kept their energies
        and whether it conserved its energy, and where they kept them a fourth order is fitted to it
        (:func:`~trajmodes.series.errorbars.error_model_cutoff`) for the partition term: each run gets the estimate
        calibrated for it, or the dataset says that its error bar is a lower bound and why
        (:mod:`trajmodes.series.errorbars`). ``"bootstrap"``: the block bootstrap alone, marked as a lower bound.
    static : ForceConstants, optional
        The static (0 K) crystal's force constants at the runs' volume: d nu / dT of a run without neighbours in
        temperature at its volume (the classical scaling of the shift), for the temperature term of its error.
    **fit_settings
        Settings of :class:`~trajmodes.forceconstants.fit.EffectiveForceConstants` (cutoff2, cutoff3, mode, ...).

    Returns
    -------
    Series
    """
    if isinstance(runs, Mapping):
        if temperatures is not None:
            raise ValueError("the runs are given by temperature (a mapping T -> run): leave temperatures= out")
        keys = sorted(runs, key=float)
        temperatures = [float(T) for T in keys]
        if len(set(temperatures)) != len(temperatures):
            raise ValueError(f"one run per temperature, not {temperatures} K: pool the runs of one temperature as "
                             "a list")
        names = [f"{T:g} K" for T in temperatures] if names is None else names
        runs = [runs[T] for T in keys]
    runs = list(runs)
    if not runs:
        raise ValueError("no runs to fit")
    if temperatures is not None and len(temperatures) != len(runs):
        raise ValueError(f"{len(runs)} runs but {len(temperatures)} temperatures")
    if error_model not in ("calibrated", "bootstrap"):
        raise ValueError(f"error_model must be 'calibrated' or 'bootstrap', not {error_model!r}")
    fits, temps, inputs = [], [], []
    heads = [run[0] if isinstance(run, (list, tuple)) else run for run in runs]
    names = [str(names[i]) if names is not None else h.source.describe() for i, h in enumerate(heads)]
    refuse_repeated_runs(runs, names)
    for i, h in enumerate(heads[1:], 1):                 # one crystal throughout: checked before any fit
        if h.n_atoms != heads[0].n_atoms or not np.array_equal(h.species, heads[0].species):
            raise ValueError(f"{names[i]} (run {i + 1}: {h.n_atoms} atoms, {formula(h.species)}) and {names[0]} "
                             f"(run 1: {heads[0].n_atoms} atoms, {formula(heads[0].species)}) are different crystals "
                             "or cells: a series needs the same supercell, with the same atoms in the same order, in "
                             "every run")
    def given(i: int) -> bool:
        return temperatures is not None and temperatures[i] is not None

    for i, run in enumerate(runs):
        name = names[i]
        if progress:
            progress(f"run {i + 1}/{len(runs)}: {name}" + (f" at {float(temperatures[i]):g} K"
                                                           if given(i) else ""))
        est = EffectiveForceConstants(**fit_settings)
        if fits:
            est.share_kernel(fits[0])           # the first run's kernel, not a second one built beside it
        try:
            held = None
            if n_resamples and error_model == "calibrated":
                held = fit_holding_frames(est, run)     # the frames its error model projects, from the fit's pass
            else:
                est.fit(run)
        except ValueError as exc:
            if not fits:
                raise
            raise ValueError(f"{name} (run {i + 1}) against {names[0]} (run 1): {exc}") from None
        T = float(temperatures[i]) if given(i) else _fitted_temperature(est, name)
        if not fits:                        # every later run is fitted in the parameters of the first one
            fit_settings = dict(fit_settings, build_basis=shared_basis(est, fit_settings.get("build_basis")))
        if n_resamples:
            est.bootstrap(n_resamples, None if seed is None else seed + i)
            if error_model == "calibrated":
                found = error_model_inputs(est, run if held is None else held,
                                           progress=(lambda line: progress(f"  {line}")) if progress else None)
                inputs.append(found)
                if progress:
                    progress(f"  error model: {_describe(found)} ({found.seconds:.1f} s)")
            held = None                         # the frames it projected go before the next fit (0.4 GB at 10^6 atoms)
        if given(i) and np.isfinite(est.temperature_):
            line = temperature_disagreement(T, est.temperature_, getattr(est, "temperature_ensemble_err_", None),
                                            f"{name} (run {i + 1})")
            if line:
                warnings.warn(line, UserWarning, stacklevel=2)
        fits.append(est)
        temps.append(T)
    return Series(fits, temps, names, qpoints=qpoints, qlabels=qlabels, path=path, npoints=npoints, mesh=mesh,
                  occupation=occupation, target_error=target_error, cubic_mesh=cubic_mesh,
                  error_inputs=inputs if inputs else None, static=static)


def _describe(found) -> str:
    """One line on what the error model measured of a run."""
    if found.frozen is None:
        return "; ".join(found.notes) or "no projection"
    what = "NVE" if found.energy_conserved else "thermostatted" if found.energy_conserved is not None else \
        "ensemble unknown"
    text = f"{what}, frozen share of the mean-square displacement {found.share:.2f} (" + \
        ("the modes exchanged their energies)" if found.exchanging else "the modes kept their energies)")
    if found.quartic is not None:
        text += f", fourth order within {found.cutoff4:.2f} A"
    return "; ".join([text, *found.notes])
