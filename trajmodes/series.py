"""Series of MD runs over temperature and volume: effective force constants, frequencies and free energies with error
bars, their interpolation in (T, V), and the split of every frequency shift into a volume and an intrinsic part.

Each run is fitted on its own (:class:`~trajmodes.forceconstants.fit.EffectiveForceConstants`, one streamed pass);
error bars come from the block bootstrap of its time segments (:mod:`trajmodes.forceconstants.uncertainty`), so the
series costs the sum of the single fits and its memory does not grow with the number of runs or frames (only the
small per-run results are kept).

The frequency shift of a mode from the lowest temperature at the reference volume V_0,
nu(T, V_T) - nu(T_0, V_0), splits exactly into

- a quasiharmonic (volume) part nu(T, V_T) - nu(T, V_0): what the thermal expansion alone does, at the temperature;
- an intrinsic part nu(T, V_0) - nu(T_0, V_0): the anharmonic renormalisation at fixed volume,

when the series holds runs at V_0 and at V_T for every temperature (NVT at the 0 K volume and at the thermally expanded
one, or NPT). With harmonic force constants of the volume from elsewhere (a potential's analytic constants, or the
lowest-temperature fits at several volumes) the split is instead nu_h(V_T) - nu_h(V_0) (quasiharmonic) plus
nu(T, V_T) - nu_h(V_T) (intrinsic) (:meth:`Series.shift_split`). Both follow the separation of explicit (volume) and
implicit (anharmonic) temperature effects of G. Lucazeau, J. Raman Spectrosc. 34, 478 (2003).

The TDEP free energy per run is :func:`trajmodes.phonons.free_energy.tdep_free_energy` (O. Hellman, P. Steneteg,
I. A. Abrikosov and S. I. Simak, Phys. Rev. B 87, 104111 (2013)).
"""
from __future__ import annotations

import warnings

import numpy as np

from trajmodes.forceconstants.uncertainty import bootstrap_std
from trajmodes.forceconstants.fit import EffectiveForceConstants
from trajmodes.forceconstants.settings import cutoff_length
from trajmodes.forceconstants.model import ForceConstants
from trajmodes.lattice.crystal import Crystal

__all__ = ["fit_series", "Series", "load_series"]

#: relative tolerance within which two runs have the same volume or temperature
SAME = 1e-4
#: relative tolerance within which two runs count as one temperature in the split of the shifts (mean kinetic
#: temperatures of runs made at one thermostat temperature differ by their statistical scatter)
SAME_T_SPLIT = 0.03


def _mean_temperature(fit, name: str) -> float:
    """The mean kinetic temperature of a fitted run (summed in the fit's own pass over the frames), K."""
    if not np.isfinite(fit.temperature_):
        raise ValueError(f"{name} has no velocities (or no masses), so its temperature is unknown: give the "
                         "temperature of every run")
    return float(fit.temperature_)


def fit_series(runs, temperatures=None, labels=None, *, qpoints=None, qlabels=None, path=None, npoints: int = 31,
               mesh=(16, 16, 16), occupation: str = "quantum", n_resamples: int = 200, seed: int | None = 0,
               target_error: float | None = None, progress=None, cubic_mesh=None, **fit_settings) -> "Series":
    """Fit every run of a series and gather the results.

    Parameters
    ----------
    runs : sequence of Trajectory (or of lists of Trajectory, pooled)
        With forces, all on the same supercell (same atoms in the same order); the cell may change (volumes, NPT).
    temperatures : sequence of float, optional
        K; default each run's mean kinetic temperature (needs velocities).
    labels : sequence of str, optional
    qpoints : array_like (nq, 3), optional
        Reduced q for the frequency tables and the shift split; default the special points of the lattice.
    qlabels : sequence of str, optional
    path : str, optional
        Band path (special-point letters, e.g. ``"GXU|KGL"``); default the standard path of the lattice.
    npoints : int
        q-points per path segment.
    mesh : (3,) int
        q mesh of the free energy.
    occupation : {"quantum", "classical"}
        Statistics of the harmonic free energy and of its third-order correction. The constants of classical MD are
        classically renormalised: ``"classical"`` compares like for like, and ``quantum_correction`` is reported
        either way (:func:`~trajmodes.phonons.free_energy.tdep_free_energy`).
    n_resamples : int
        Block-bootstrap resamples per run (0: no error bars).
    seed : int or None
    target_error : float, optional
        THz: the run length each run would need for this error on every tabulated frequency.
    progress : callable, optional
        Called with a line of text before each run.
    cubic_mesh : int or (3,) int, optional
        q mesh of the third-order free energy F_3ph when the runs are fitted with ``cutoff3`` (default
        :data:`trajmodes.phonons.free_energy.CUBIC_MESH`).
    **fit_settings
        Settings of :class:`~trajmodes.forceconstants.fit.EffectiveForceConstants` (cutoff2, cutoff3, mode, ...).

    Returns
    -------
    Series
    """
    runs = list(runs)
    if not runs:
        raise ValueError("no runs to fit")
    if temperatures is not None and len(temperatures) != len(runs):
        raise ValueError(f"{len(runs)} runs but {len(temperatures)} temperatures")
    fits, temps = [], []
    heads = [run[0] if isinstance(run, (list, tuple)) else run for run in runs]
    names = [str(labels[i]) if labels is not None else h.source.describe() for i, h in enumerate(heads)]
    for i, h in enumerate(heads[1:], 1):                 # one crystal throughout: checked before any fit
        if h.n_atoms != heads[0].n_atoms or not np.array_equal(h.species, heads[0].species):
            raise ValueError(f"{names[i]} (run {i + 1}: {h.n_atoms} atoms, {_formula(h.species)}) and {names[0]} "
                             f"(run 1: {heads[0].n_atoms} atoms, {_formula(heads[0].species)}) are different crystals "
                             "or cells: a series needs the same supercell, with the same atoms in the same order, in "
                             "every run")
    for i, run in enumerate(runs):
        name = names[i]
        if progress:
            progress(f"run {i + 1}/{len(runs)}: {name}" + (f" at {float(temperatures[i]):g} K"
                                                           if temperatures is not None else ""))
        try:
            est = EffectiveForceConstants(**fit_settings).fit(run)
        except ValueError as exc:
            if not fits:
                raise
            raise ValueError(f"{name} (run {i + 1}) against {names[0]} (run 1): {exc}") from None
        T = float(temperatures[i]) if temperatures is not None else _mean_temperature(est, name)
        if not fits:                        # every later run is fitted in the parameters of the first one
            fit_settings = dict(fit_settings, build_basis=_shared_basis(est, fit_settings.get("build_basis")))
        if n_resamples:
            est.bootstrap(n_resamples, None if seed is None else seed + i)
        if fits:
            _share_kernel(est, fits[0])
        fits.append(est)
        temps.append(T)
    return Series(fits, temps, names, qpoints=qpoints, qlabels=qlabels, path=path, npoints=npoints, mesh=mesh,
                  occupation=occupation, target_error=target_error, cubic_mesh=cubic_mesh)


def _formula(species) -> str:
    """Species counts, e.g. 'Cu32' or 'Ga4As4'."""
    names, counts = np.unique(np.asarray(species).astype(str), return_counts=True)
    return "".join(f"{n}{c}" for n, c in zip(names, counts))


def _share_kernel(fit: EffectiveForceConstants, first: EffectiveForceConstants) -> None:
    """Let ``fit`` keep ``first``'s design kernel when it is the same (the same basis objects on the same supercell
    map, as in a series fitted in the first run's parameters): the kept fits then hold one kernel, not one per run."""
    same = (all(fit.bases_.get(o) is b for o, b in first.bases_.items()) and len(fit.bases_) == len(first.bases_)
            and np.array_equal(fit.p2s_, first.p2s_) and np.array_equal(fit.smap_.atom, first.smap_.atom)
            and np.array_equal(fit.smap_.lattice, first.smap_.lattice)
            and np.array_equal(fit.smap_.matrix, first.smap_.matrix))
    if same:
        fit.kernel_ = first.kernel_


def _shared_basis(first: EffectiveForceConstants, build=None):
    """A ``build_basis`` that returns the bases of the fit ``first`` after checking that the run at hand has the same
    clusters (the same atoms within the cutoffs): the parameters of every run then mean the same force constants and
    can be compared and interpolated. (A basis built anew for each run may span the same space with other basis
    vectors: the null space of the symmetry conditions has no unique basis.)"""
    from trajmodes.forceconstants.fit import default_build_basis
    build = build or default_build_basis

    def shared(fc, order, cutoff, primitive=None, symprec=1e-3):
        mine = build(fc, order, cutoff, primitive=primitive, symprec=symprec)
        ref = first.bases_[order]
        if mine.n_params != ref.n_params or not np.array_equal(np.asarray(mine.sites), np.asarray(ref.sites)):
            raise ValueError(f"its order-{order} clusters within the {cutoff:g} A cutoff are not those of the first "
                             f"run ({mine.n_params} vs {ref.n_params} parameters"
                             + (", on other sites" if mine.n_params == ref.n_params else "") + "): either the runs "
                             "are of different crystals, or the cutoff falls on a neighbour shell that moves across it "
                             "with the volume (choose a cutoff between shells)")
        return ref
    return shared


def _check_same_model(fits) -> list[dict]:
    """Check that the fits share run 0's supercell and model, and return per fit and order the matrix ``M`` that
    takes its parameters into run 0's basis (``E_0 M = E_k``; None where the bases are the same). Independent fits
    of one crystal span the same force constants, but where an orbit has several free parameters the basis vectors
    chosen for it may differ between runs (they depend on the reference's round-off)."""
    ref = fits[0]
    maps = [{} for _ in fits]
    for k, f in enumerate(fits[1:], 1):
        if f.supercell_.n_atoms != ref.supercell_.n_atoms or not np.array_equal(f.supercell_.species,
                                                                                  ref.supercell_.species):
            raise ValueError(f"run {k} has other atoms than run 0: a series needs the same supercell throughout")
        for o in ref.bases_:
            if o not in f.bases_ or f.bases_[o].n_params != ref.bases_[o].n_params:
                raise ValueError(f"run {k} has another order-{o} model than run 0 ("
                                 f"{f.bases_.get(o) and f.bases_[o].n_params} vs {ref.bases_[o].n_params} "
                                 "parameters): the same cutoffs must hold the same neighbour shells at every "
                                 "volume; choose cutoffs between shells")
            E0, E = ref.bases_[o].E, f.bases_[o].E
            d = abs(E - E0)
            if not d.nnz or d.max() <= 1e-8:
                maps[k][o] = None
                continue
            E0d, Ed = E0.toarray(), E.toarray()
            M = np.linalg.lstsq(E0d, Ed, rcond=None)[0]
            if np.abs(E0d @ M - Ed).max() > 1e-8 * max(1.0, np.abs(Ed).max()):
                raise ValueError(f"run {k}'s order-{o} parameters mean other force constants than run 0's (their "
                                 "symmetry bases span different spaces): a series needs the same crystal symmetry "
                                 "throughout")
            maps[k][o] = M
    return maps


def _in_first_basis(M, values):
    """Parameters (..., P) of a run expressed in run 0's basis through its map ``M`` (None: the same basis)."""
    return values if M is None else values @ M.T


def volume_groups(volume, temperature) -> list[np.ndarray]:
    """Runs grouped for curves over temperature, each group sorted by temperature: those at the most common volume
    (within 1e-4; the reference volume of an NVT series) and all others (thermally expanded volumes, NPT); one group
    when every run has its own volume or all share one."""
    V, T = np.asarray(volume, float), np.asarray(temperature, float)
    keys = np.round(V / V.mean() / 1e-4).astype(int)
    vals, counts = np.unique(keys, return_counts=True)
    common = keys == vals[np.argmax(counts)]
    if counts.max() == 1 or common.all():
        groups = [np.arange(len(V))]
    else:
        groups = [np.flatnonzero(common), np.flatnonzero(~common)]
    return [g[np.argsort(T[g], kind="stable")] for g in groups]


def derivative_weights(x, order: int) -> np.ndarray:
    """W (n, n) with W @ y the ``order``-th derivative (1 or 2) of samples y(x) at every x (ascending, distinct):
    the Lagrange parabola through each point and its two nearest neighbours (a line through two points, when there
    are only two, for the first derivative). Errors of independent samples propagate as sqrt(W**2 @ err**2)."""
    x = np.asarray(x, float)
    n = len(x)
    W = np.full((n, n), np.nan)
    if n < order + 1:
        return W
    W[:] = 0.0
    for i in range(n):
        if n == 2:
            j = np.array([0, 1])
        else:
            lo = min(max(i - 1, 0), n - 3)
            j = np.arange(lo, lo + 3)
        xs = x[j]
        for k in range(len(j)):
            others = np.delete(xs, k)
            den = np.prod(xs[k] - others)
            if order == 1:     # d/dx of prod (x - o) at x_i
                W[i, j[k]] = sum(np.prod(x[i] - np.delete(others, m)) for m in range(len(others))) / den
            else:
                W[i, j[k]] = 2.0 / den
    return W


def _temperature_slopes(T, V, nu) -> np.ndarray:
    """d nu / dT (THz/K) of every run's frequencies ``nu`` (run, ...) from the runs at the same volume (within 1e-3
    relative): the gradient over their distinct temperatures (runs within 3 % in temperature count as one); zero for
    a run with no neighbour in temperature."""
    T, V, nu = np.asarray(T, float), np.asarray(V, float), np.asarray(nu, float)
    out = np.zeros_like(nu)
    for i in range(len(T)):
        same = np.flatnonzero(np.abs(V / V[i] - 1) < 1e-3)
        Ts = np.unique(np.round(T[same], 6))
        groups = [same[np.abs(T[same] / t - 1) < 0.03] for t in Ts]
        centres = np.array([T[g].mean() for g in groups])
        keep = np.concatenate([[True], np.diff(centres) > 0.03 * centres[1:]])
        groups, centres = [g for g, k in zip(groups, keep) if k], centres[keep]
        if len(groups) < 2:
            continue
        means = np.array([nu[g].mean(axis=0) for g in groups])
        k = int(np.argmin(np.abs(centres - T[i])))
        out[i] = np.gradient(means, centres, axis=0)[k]
    return out


def _thermodynamics(T, V, F, F_err, reference) -> dict:
    """S = -dF/dT and C = -T d2F/dT2 along each group of :func:`volume_groups` (per primitive cell, eV/K).

    The strongly curved part of F(T) is that of the oscillators; differentiated by a parabola through three runs it
    would give C proportional to T. So F is split into the harmonic crystal of the group's lowest-temperature run,
    whose S and C are exact at every T, and the anharmonic rest F - F_ref, smooth and small, which alone is
    differentiated by :func:`derivative_weights` (as thermodynamic integration starts from a harmonic reference,
    D. Frenkel and A. J. C. Ladd, J. Chem. Phys. 81, 3188 (1984)). ``reference(i)`` gives (F, S, C) of the harmonic
    crystal of run i (its U_0 and effective constants) at every run's temperature.
    """
    S, C, Se, Ce = (np.full(len(T), np.nan) for _ in range(4))
    kind = np.full(len(T), "", dtype=object)
    for g in volume_groups(V, T):
        t = T[g]
        if len(g) < 2 or np.any(np.diff(t) <= 0):
            continue
        one_volume = np.ptp(V[g]) <= SAME * V[g].mean()
        kind[g] = "constant volume" if one_volume else "along the runs' volumes"
        f_ref, s_ref, c_ref = (x[g] for x in reference(g[0]))
        rest = F[g] - f_ref
        W1, W2 = derivative_weights(t, 1), derivative_weights(t, 2)
        S[g], Se[g] = s_ref - W1 @ rest, np.sqrt(W1 ** 2 @ F_err[g] ** 2)
        C[g], Ce[g] = c_ref - t * (W2 @ rest), t * np.sqrt(W2 ** 2 @ F_err[g] ** 2)
    return dict(S=S, S_err=Se, C=C, C_err=Ce, kind=kind.astype(str))


class Series:
    """The fitted runs of a series and their results (:attr:`dataset`).

    Attributes
    ----------
    fits : list of EffectiveForceConstants
        Empty for a series read back from a file (:func:`load_series`).
    dataset : xarray.Dataset
        Per run (dimension ``run``): ``temperature`` (K; given, or the mean kinetic one), ``kinetic_temperature``
        (K) with ``kinetic_temperature_err`` and ``temperature_blocking_ratio``, ``volume`` (A^3 per atom), ``cell``
        (A); the irreducible parameters ``fc2`` (eV/A^2), ``fc3`` (eV/A^3) with ``*_err``; scores ``r2``, ``rmse``,
        ``cv_rmse`` (per order), ``sigma_a``, ``n_frames``, ``blocking_ratio``; ``frequency`` (run, q, branch) and
        ``path_frequency`` (run, path_q, branch) in THz with ``*_err``; ``required_frames`` for ``target_error``;
        and, when every run has potential energies, the variables of
        :func:`~trajmodes.phonons.free_energy.tdep_free_energy` (eV per primitive cell) with errors: ``free_energy``
        U_0 + F_harm (for classical MD and classical oscillators a lower bound of the free energy),
        ``quantum_correction``, and with fc3 ``cubic_energy``, ``cubic_free_energy``, ``anharmonic_correction`` and
        ``free_energy_corrected``; ``entropy`` and ``heat_capacity`` along the runs from ``free_energy``, and
        ``entropy_corrected``, ``heat_capacity_corrected`` from ``free_energy_corrected``.
    """

    def __init__(self, fits, temperatures, labels, *, qpoints=None, qlabels=None, path=None, npoints: int = 31,
                 mesh=(16, 16, 16), occupation: str = "quantum", target_error: float | None = None,
                 cubic_mesh=None):
        fits = list(fits)
        self._maps = _check_same_model(fits)
        self.fits = fits
        self._model = fits[0]
        self.dataset = self._build(fits, np.asarray(temperatures, float), list(labels), qpoints, qlabels, path,
                                   npoints, mesh, occupation, target_error, cubic_mesh)

    # -- building ---------------------------------------------------------------------------------
    def _build(self, fits, T, labels, qpoints, qlabels, path, npoints, mesh, occupation, target_error, cubic_mesh):
        import xarray as xr
        from trajmodes.lattice import paths
        from trajmodes.phonons.harmonic import Phonons
        from trajmodes.phonons.uncertainty import frequencies_with_errors
        first = fits[0]
        prim = first.primitive_
        if qpoints is None:
            pts = paths.special_points(prim)
            qlabels = list(pts)
            qpoints = np.array([pts[k] for k in qlabels], float)
        qpoints = np.asarray(qpoints, float).reshape(-1, 3)
        qlabels = [""] * len(qpoints) if qlabels is None else [str(x) for x in qlabels]
        bands = Phonons(first.harmonic_force_constants_).band_structure(path, npoints=npoints)
        pq = bands.qpoint.values
        orders = sorted(first.bases_)
        n_atoms = first.supercell_.n_atoms
        nu, nu_err, pnu, pnu_err, need = [], [], [], [], []
        boot = all(hasattr(f, "params_samples_") for f in fits)
        both, nq = np.concatenate([qpoints, pq]), len(qpoints)
        for f in fits:
            if boot:
                v, e, _ = frequencies_with_errors(f, both)
                nu_err.append(e[:nq])
                pnu_err.append(e[nq:])
                if target_error:
                    need.append(float(f.run_length_for(target_error, e[:nq].max())))
            else:
                v = Phonons(f.harmonic_force_constants_).frequencies(both)
            nu.append(v[:nq])
            pnu.append(v[nq:])
        run = np.arange(len(fits))
        thz = {"units": "THz"}
        data = dict(
            temperature=("run", T, {"units": "K"}),
            kinetic_temperature=("run", np.array([f.temperature_ for f in fits]), {
                "units": "K", "long_name": "mean kinetic temperature of the fitted frames (3N - 3 degrees of "
                                           "freedom; NaN without velocities)"}),
            volume=("run", np.array([abs(np.linalg.det(f.supercell_.cell)) / n_atoms for f in fits]),
                    {"units": "Angstrom^3", "long_name": "volume per atom of the run's reference cell"}),
            cell=(("run", "row", "xyz"), np.array([f.supercell_.cell for f in fits]),
                  {"units": "Angstrom", "long_name": "reference supercell, rows a, b, c"}),
            frequency=(("run", "q", "branch"), np.array(nu), dict(thz, long_name="effective phonon frequency")),
            path_frequency=(("run", "path_q", "branch"), np.array(pnu), dict(thz, long_name="effective dispersion")),
            r2=(("run", "order"), np.array([f.scores_.r2.values for f in fits]), {"units": "1"}),
            rmse=(("run", "order"), np.array([f.scores_.rmse.values for f in fits]), {"units": "eV/Angstrom"}),
            cv_rmse=(("run", "order"), np.array([f.scores_.cv_rmse.values for f in fits]),
                     {"units": "eV/Angstrom"}),
            sigma_a=("run", np.array([float(f.scores_.sigma_a) for f in fits]), {"units": "1"}),
            n_frames=("run", np.array([int(f.scores_.n_frames) for f in fits]), {"units": "1"}),
        )
        units = {2: "eV/Angstrom^2", 3: "eV/Angstrom^3"}
        for o in orders:
            data[f"fc{o}"] = ((("run", f"param{o}")),
                              np.array([_in_first_basis(m.get(o), f.params_[o]) for f, m in zip(fits, self._maps)]),
                              {"units": units[o], "long_name": f"symmetry-irreducible order-{o} parameters"})
        if boot:
            for o in orders:
                data[f"fc{o}_err"] = ((("run", f"param{o}")), np.array([
                    f.params_err_[o] if m.get(o) is None else
                    bootstrap_std(_in_first_basis(m[o], f.params_samples_[o]), f.segments_.n_blocks)
                    for f, m in zip(fits, self._maps)]),
                                      {"units": units[o], "long_name": "standard error (block bootstrap)"})
            vol = np.array([abs(np.linalg.det(f.supercell_.cell)) / n_atoms for f in fits])
            t_err = np.array([getattr(f, "temperature_ensemble_err_", f.temperature_err_) for f in fits])
            dT = _temperature_slopes(T, vol, np.array(nu))
            nu_t = np.abs(dT) * np.where(np.isfinite(t_err), t_err, 0.0)[:, None, None]
            nu_err = np.hypot(np.array(nu_err), nu_t)
            data["frequency_temperature_err"] = (("run", "q", "branch"), nu_t, dict(thz, long_name=(
                "|d nu / dT| (from the runs at the same volume) times the error of the run's mean kinetic temperature "
                "(in NVE with the canonical draw of its energy); included in frequency_err")))
            data["frequency_err"] = (("run", "q", "branch"), nu_err, dict(thz, long_name=(
                "standard error: block bootstrap scaled to its blocking plateau, and the temperature term")))
            data["path_frequency_err"] = (("run", "path_q", "branch"), np.array(pnu_err),
                                          dict(thz, long_name="standard error"))
            data["blocking_ratio"] = ("run", np.array([f.blocking_ratio_ for f in fits]), {
                "units": "1", "long_name": "error at the plateau of the blocking analysis / error of the segments "
                                           "(applied to every error bar)"})
            data["n_effective"] = ("run", np.array([f.n_effective_ for f in fits]), {
                "units": "1", "long_name": "effective number of independent time segments"})
            data["error_bars_flagged"] = ("run", np.array([bool(f.error_bars_flagged_) for f in fits]), {
                "long_name": "the blocking analysis found no plateau, or correlations longer than a segment"})
            data["kinetic_temperature_err"] = ("run", np.array([f.temperature_err_ for f in fits]), {
                "units": "K", "long_name": "standard error of the mean kinetic temperature (block bootstrap)"})
            data["temperature_blocking_ratio"] = ("run", np.array([f.temperature_blocking_ for f in fits]), {
                "units": "1", "long_name": "error of the mean kinetic temperature at its blocking plateau / from "
                                           "the segments"})
            if target_error:
                data["required_frames"] = ("run", np.array(need), {
                    "units": "1", "long_name": f"frames for a {target_error:g} THz error on every tabulated "
                                               "frequency (errors shrink as 1/sqrt(run length))"})
        notes = []
        if all(np.isfinite(f.energies_["potential"]) for f in fits):
            from trajmodes.phonons.free_energy import CUBIC_MESH, tdep_free_energy
            fe = [tdep_free_energy(f, t, mesh=mesh, occupation=occupation, errors=boot,
                                   cubic_mesh=CUBIC_MESH if cubic_mesh is None else cubic_mesh)
                  for f, t in zip(fits, T)]
            for name in fe[0].data_vars:
                data[name] = ("run", np.array([float(x[name]) for x in fe]), dict(fe[0][name].attrs))
            # what the free energies are (the statistics, the correction and its mesh), as the runs' datasets say
            fe_attrs = {f"free_energy_{k}": v for k, v in fe[0].attrs.items()
                        if k in ("free_energy", "anharmonic_correction", "statistics", "cubic_mesh",
                                 "cubic_resamples", "cubic_error_mesh")}
            # the harmonic crystal of the lowest-temperature run (its U_0 and Phi) at every run's temperature
            harmonic = {}

            def reference(i):
                """(F, S, C) of the harmonic crystal of run i (its U_0 and Phi) at every run's temperature."""
                if i not in harmonic:
                    th = Phonons(fits[i].harmonic_force_constants_).thermal_properties(T, mesh,
                                                                                       occupation=occupation)
                    harmonic[i] = (data["baseline_energy"][1][i] + th["free_energy_eV"].values,
                                   th["entropy_eV"].values, th["heat_capacity_eV"].values)
                return harmonic[i]

            data["reference_harmonic_free_energy"] = ("run", reference(int(np.argmin(T)))[0], {
                "units": "eV", "long_name": "free energy of the harmonic crystal of the lowest-temperature run "
                                            "(its U_0 and effective constants) per primitive cell"})
            ev_k = "eV/K"
            # S and C of the TDEP free energy, and of the corrected one where there is fc3
            for suffix, of in (("", "the TDEP free energy"), ("_corrected", "free_energy_corrected")):
                if "free_energy" + suffix not in data:
                    continue
                F_err = data["free_energy" + suffix + "_err"][1] if boot else np.zeros(len(T))
                th = _thermodynamics(T, data["volume"][1], data["free_energy" + suffix][1], F_err, reference)
                data["entropy" + suffix] = ("run", th["S"], {"units": ev_k, "long_name": f"S = -dF/dT of {of} "
                                            "along the runs of this volume group (about the harmonic crystal of "
                                            "its lowest-temperature run), per primitive cell"})
                data["heat_capacity" + suffix] = ("run", th["C"], {"units": ev_k, "long_name": f"C = -T d2F/dT2 of "
                                                  f"{of} along the runs of this volume group (Cv at constant "
                                                  "volume, Cp along zero-pressure volumes), per primitive cell"})
                if boot:
                    for name, key in (("entropy", "S_err"), ("heat_capacity", "C_err")):
                        data[name + suffix + "_err"] = ("run", th[key], {"units": ev_k,
                                                                         "long_name": "standard error"})
                if not suffix:
                    data["thermodynamic_path"] = ("run", th["kind"], {"long_name": "what the derivatives of F "
                                                                                   "follow"})
        else:
            fe_attrs = {}
            notes.append("no free energy: not every frame of every run has a potential energy")
        ds = xr.Dataset(data, coords=dict(
            run=run, label=("run", labels), order=("order", np.array(orders)), branch=np.arange(len(nu[0][0])),
            qpoint=(("q", "reduced"), qpoints), qlabel=("q", qlabels),
            path_qpoint=(("path_q", "reduced"), pq), path_distance=("path_q", bands.distance.values),
            path_segment=("path_q", bands.segment.values),
            path_label=("path_q", bands.label.values.astype(str))))
        sc = first.supercell_
        ds["reference_fractional"] = (("atom", "xyz"), sc.positions @ np.linalg.inv(sc.cell),
                                      {"units": "1", "long_name": "reference positions of run 0, fractional"})
        ds["species"] = ("atom", np.asarray(sc.species).astype(str))
        ds["masses"] = ("atom", np.asarray(sc.masses, float), {"units": "amu"})
        ds.attrs.update(
            cutoff2=cutoff_length(first.cutoff2),
            cutoff3=np.nan if first.cutoff3 is None else cutoff_length(first.cutoff3),
            mode=first.mode, symprec=float(first.symprec_used_), occupation=occupation,
            mesh=list(map(int, mesh)), path_tick_distance=np.asarray(bands.attrs["tick_distance"], float),
            path_tick_labels=",".join(map(str, bands.attrs["tick_labels"])),
            n_resamples=int(len(first.params_samples_[2])) if boot else 0, notes="; ".join(notes),
            title="trajmodes series: effective force constants over temperature and volume", **fe_attrs)
        return ds

    # -- interpolation ----------------------------------------------------------------------------
    @property
    def temperatures(self) -> np.ndarray:
        return self.dataset.temperature.values

    @property
    def volumes(self) -> np.ndarray:
        return self.dataset.volume.values

    def _weights(self, temperature: float, volume: float | None) -> np.ndarray:
        """Linear-interpolation weights of the runs at (T, V): piecewise linear along a line of runs (all at one
        volume, all at one temperature, or one volume per temperature as in NPT), barycentric on a triangulation
        of (T, V) otherwise. Refuses points outside the runs (no extrapolation)."""
        T, V = self.temperatures, self.volumes
        n = len(T)
        w = np.zeros(n)
        one_v = np.ptp(V) <= SAME * V.mean()
        one_t = np.ptp(T) <= SAME * max(T.mean(), 1.0)
        distinct_t = len(np.unique(np.round(T / max(T.max(), 1.0) / SAME))) == n
        if n == 1 or one_t and one_v:
            w[0] = 1.0
            return w
        if one_v or (volume is None and distinct_t) or one_t:
            x, xq, what = (V, volume, "volume") if one_t else (T, temperature, "temperature")
            if xq is None:
                raise ValueError("give the volume: the runs are at one temperature and several volumes")
            order = np.argsort(x)
            xs = x[order]
            if not xs[0] - SAME * abs(xs[0]) <= xq <= xs[-1] + SAME * abs(xs[-1]):
                raise ValueError(f"{what} {xq:g} lies outside the runs ({xs[0]:g} .. {xs[-1]:g}): no extrapolation")
            i = int(np.clip(np.searchsorted(xs, xq) - 1, 0, n - 2))
            t = (xq - xs[i]) / (xs[i + 1] - xs[i])
            w[order[i]], w[order[i + 1]] = 1 - t, t
            return w
        if volume is None:
            raise ValueError("the series has several volumes at one temperature: give the volume (A^3 per atom)")
        from scipy.spatial import Delaunay
        pts = np.column_stack([T / np.ptp(T), V / np.ptp(V)])
        tri = Delaunay(pts)
        x = np.array([temperature / np.ptp(T), volume / np.ptp(V)])
        s = int(tri.find_simplex(x))
        if s < 0:
            raise ValueError(f"(T, V) = ({temperature:g} K, {volume:g} A^3/atom) lies outside the runs: no "
                             "extrapolation")
        b = tri.transform[s, :2] @ (x - tri.transform[s, 2])
        w[tri.simplices[s]] = np.append(b, 1 - b.sum())
        return w

    def force_constants(self, temperature: float, volume: float | None = None) -> ForceConstants:
        """Force constants at (T, V) from the irreducible parameters interpolated linearly between the runs (exact
        at the runs), on the reference supercell at the interpolated cell; fc3 too when fitted.

        Parameters
        ----------
        temperature : float
            K.
        volume : float, optional
            A^3 per atom; needed when the series has several volumes at one temperature.
        """
        w = self._weights(float(temperature), None if volume is None else float(volume))
        ds = self.dataset
        model = self._basis_model()
        params = {o: w @ ds[f"fc{o}"].values for o in model.bases_}
        cell = np.einsum("r,rij->ij", w, ds.cell.values)
        strain = np.linalg.solve(model.supercell_.cell, cell)            # new rows = old rows @ strain
        sc = model.supercell_
        supercell = Crystal(cell, sc.positions @ strain, sc.species, sc.masses)
        pr = model.primitive_
        primitive = Crystal(pr.cell @ strain, pr.positions @ strain, pr.species, pr.masses)
        fc2 = model.bases_[2].to_compact(params[2])
        fc3 = model.bases_[3].to_compact(params[3]) if 3 in model.bases_ else None
        kw = dict(smap=model.smap_, p2s=model.p2s_)
        return ForceConstants(fc2, supercell, primitive, fc3=fc3, **kw) if fc3 is not None else \
            ForceConstants(fc2, supercell, primitive, **kw)

    def _basis_model(self) -> EffectiveForceConstants:
        """An estimator holding the bases, supercell map and crystals of run 0 (rebuilt for a series read back)."""
        if self._model is None:
            ds = self.dataset
            cell = ds.cell.values[0]
            sc = Crystal(cell, ds.reference_fractional.values @ cell, ds.species.values.astype(str),
                         ds.masses.values)
            c3 = float(ds.attrs["cutoff3"])
            est = EffectiveForceConstants(cutoff2=float(ds.attrs["cutoff2"]), cutoff3=None if np.isnan(c3) else c3,
                                          symprec=float(ds.attrs["symprec"]))
            est.prepare(sc, float(ds.attrs["symprec"]))
            for o in est.bases_:
                if est.bases_[o].n_params != ds.sizes[f"param{o}"]:
                    raise ValueError(f"the rebuilt order-{o} model has {est.bases_[o].n_params} parameters but the "
                                     f"file stores {ds.sizes[f'param{o}']}: written by another version of trajmodes?")
            self._model = est
        return self._model

    # -- the split of the shifts ------------------------------------------------------------------
    def shift_split(self, harmonic=None, reference: int | None = None, t_tolerance: float = SAME_T_SPLIT):
        """Split every tabulated frequency's shift into its quasiharmonic (volume) and intrinsic parts.

        Parameters
        ----------
        harmonic : callable, optional
            ``harmonic(crystal) -> ForceConstants``: the harmonic (0 K) constants of the supercell ``crystal`` at a
            run's cell, e.g. ``potential.force_constants``. Without it the series' own runs at the reference volume
            serve (see the module docstring): every temperature needs a run at the reference volume.
        reference : int, optional
            The run whose temperature and volume are the origin (T_0, V_0); default the lowest-temperature run of the
            smallest volume.
        t_tolerance : float
            Relative difference within which two runs count as one temperature (runs at one thermostat setting
            differ in their mean kinetic temperature by its scatter).

        Returns
        -------
        xarray.Dataset over (run, q, branch), THz: ``total`` = ``quasiharmonic`` + ``intrinsic``, with ``*_err``
        from the runs' error bars (independent runs, added in quadrature); NaN where a run has no partner at the
        reference volume.
        """
        import xarray as xr
        ds = self.dataset
        T, V = self.temperatures, self.volumes
        nu = ds.frequency.values
        err = ds.frequency_err.values if "frequency_err" in ds else np.zeros_like(nu)
        if reference is None:
            low = np.flatnonzero(np.isclose(T, T.min(), rtol=t_tolerance))
            reference = int(low[np.argmin(V[low])])
        nu0, e0 = nu[reference], err[reference]
        shift = nu - nu0
        shift_err = np.sqrt(err ** 2 + e0 ** 2)
        shift_err[reference] = 0.0
        if harmonic is None:
            V0 = V[reference]
            qh, qh_err = np.full_like(nu, np.nan), np.full_like(nu, np.nan)
            intr_err = np.full_like(nu, np.nan)
            for i in range(len(T)):
                same = np.flatnonzero(np.isclose(T, T[i], rtol=t_tolerance) & np.isclose(V, V0, rtol=SAME))
                if len(same):                  # j: the run at this temperature and the reference volume
                    j = same[0]
                    qh[i] = nu[i] - nu[j]
                    qh_err[i] = 0.0 if i == j else np.sqrt(err[i] ** 2 + err[j] ** 2)
                    intr_err[i] = 0.0 if j == reference else np.sqrt(err[j] ** 2 + e0 ** 2)
            intr = shift - qh
            method = ("runs at the reference volume: quasiharmonic nu(T, V_T) - nu(T, V_0), intrinsic "
                      "nu(T, V_0) - nu(T_0, V_0)")
        else:
            from trajmodes.phonons.harmonic import Phonons
            q = ds.qpoint.values
            model = self._basis_model()
            sc = model.supercell_
            nh = []
            for cell in ds.cell.values:
                strain = np.linalg.solve(sc.cell, cell)
                nh.append(Phonons(harmonic(Crystal(cell, sc.positions @ strain, sc.species, sc.masses))
                                  ).frequencies(q))
            nh = np.array(nh)
            shift = nu - nh[reference]
            shift_err = err
            qh, qh_err = nh - nh[reference], np.zeros_like(nu)
            intr, intr_err = nu - nh, err
            method = "harmonic constants of each volume: quasiharmonic nu_h(V_T) - nu_h(V_0), intrinsic nu - nu_h(V_T)"
        thz = {"units": "THz"}
        out = xr.Dataset(dict(total=(("run", "q", "branch"), shift, dict(thz, long_name="shift from the reference")),
                              quasiharmonic=(("run", "q", "branch"), qh, dict(thz, long_name="volume part")),
                              intrinsic=(("run", "q", "branch"), intr, dict(thz, long_name="fixed-volume part")),
                              total_err=(("run", "q", "branch"), shift_err, thz),
                              quasiharmonic_err=(("run", "q", "branch"), qh_err, thz),
                              intrinsic_err=(("run", "q", "branch"), intr_err, thz)),
                         coords={k: ds[k] for k in ("run", "label", "temperature", "volume", "qpoint", "qlabel",
                                                    "branch")},
                         attrs=dict(reference_run=int(reference), method=method))
        return out

    # -- files ------------------------------------------------------------------------------------
    def to_netcdf(self, path, attrs=None) -> None:
        """Write :attr:`dataset` (written under a temporary name, then renamed)."""
        from trajmodes.io.files import atomic_write
        ds = self.dataset.copy()
        ds.attrs.update(attrs or {})
        atomic_write(str(path), lambda tmp: ds.to_netcdf(tmp, engine="netcdf4"))


def load_series(path) -> Series:
    """A series written by :meth:`Series.to_netcdf`: its dataset, interpolation and shift split (no fits)."""
    import xarray as xr
    with xr.open_dataset(path) as f:
        ds = f.load()
    s = Series.__new__(Series)
    s.fits, s._model, s.dataset = [], None, ds
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds["label"] = ds["label"].astype(str)
    return s
