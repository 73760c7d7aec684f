"""The fitted runs of a series and their results: :class:`Series` (the dataset with error bars, free energies,
entropy and heat capacity, the interpolation of the irreducible parameters in (T, V), and the split of every
frequency shift into a volume (quasiharmonic) and an intrinsic (anharmonic) part, G. Lucazeau, J. Raman Spectrosc. 34,
478 (2003)) and :func:`load_series`."""
from __future__ import annotations

import numpy as np

from trajmodes.forceconstants.uncertainty import bootstrap_std
from trajmodes.forceconstants.fit import EffectiveForceConstants
from trajmodes.forceconstants.cutoffs import cutoff_length
from trajmodes.forceconstants.model import ForceConstants
from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.qpoints import parse_mesh
from trajmodes.series.model import check_same_model, in_first_basis
from trajmodes.series.thermodynamics import SAME, SAME_T_SPLIT, thermodynamics

__all__ = ["Series", "load_series"]


class Series:
    """The fitted runs of a series and their results (:attr:`dataset`); made by :func:`~trajmodes.series.fit_series`,
    whose parameters it takes besides those below.

    Attributes
    ----------
    fits : list of EffectiveForceConstants
        Empty for a series read back from a file (:func:`load_series`).
    dataset : xarray.Dataset
        Per run (dimension ``run``): ``temperature`` (K; given, or the mean kinetic one), ``kinetic_temperature``
        (K) with ``kinetic_temperature_err`` and ``temperature_blocking_ratio``, ``volume`` (Å³ per atom), ``cell``
        (Å); the irreducible parameters ``fc2`` (eV/Å²), ``fc3`` (eV/Å³) with ``*_err``; scores ``r2``, ``rmse``,
        ``cv_rmse`` (per order), ``sigma_a``, ``n_frames``, ``blocking_ratio``; ``frequency`` (run, q, branch) and
        ``path_frequency`` (run, path_q, branch) in THz with ``*_err``, the error bars of each run's error model
        (:mod:`trajmodes.series.errorbars`: ``frequency_err`` says in its attributes ``error_model`` and
        ``error_is_lower_bound`` which estimate it is and, for a lower bound, why; per run ``error_model``,
        ``error_is_lower_bound``, ``error_model_reason``, ``error_bars`` (``calibrated (...)`` or ``lower bound
        (...)``); the parts ``frequency_bootstrap_err``,
        ``frequency_temperature_err``, ``frequency_partition_err``, ``frequency_net_slope_err`` and ``dnu_dT``);
        ``required_frames`` for ``target_error``;
        and, when every run has potential energies, the variables of
        :func:`~trajmodes.phonons.thermodynamics.free_energy.tdep_free_energy` (eV per primitive cell) with errors: ``free_energy``
        U_0 + F_harm (for classical MD and classical oscillators a lower bound of the free energy),
        ``quantum_correction``, and with fc3 ``cubic_energy``, ``cubic_free_energy``, ``anharmonic_correction`` and
        ``free_energy_corrected``; ``entropy`` and ``heat_capacity`` along the runs from ``free_energy``, and
        ``entropy_corrected``, ``heat_capacity_corrected`` from ``free_energy_corrected``.

    Parameters
    ----------
    temperatures : array_like (n_runs,)
        The runs' temperatures, K (as :func:`fit_series` settles them).
    names : sequence of str
        One per run (the dataset's ``name`` coordinate).
    qpoints : array_like (nq, 3), optional
        Reduced q (no 2 pi) of the frequency tables and the shift split; default the special points of the lattice.
    qlabels : sequence of str, optional
        A label per q-point of ``qpoints``.
    path : str, optional
        Band path (special-point letters, e.g. ``"GXU|KGL"``); default the standard path of the lattice.
    mesh : (3,) int
        q mesh of the free energy.
    cubic_mesh : int or (3,) int, optional
        q mesh of the third-order free energy (as :func:`fit_series`).
    error_inputs : list of ErrorModelInputs, optional
        Per run, :func:`~trajmodes.series.errorbars.error_model_inputs` (``fit_series`` measures them); without them
        the error bars are the bootstrap's, marked as lower bounds.
    static : ForceConstants, optional
        The static crystal at the runs' volume, for d nu / dT of runs without neighbours in temperature.
    npoints : int
        q-points per path segment.
    occupation : {"quantum", "classical"}
        Statistics of the harmonic free energy and of its third-order correction (as :func:`fit_series`).
    target_error : float, optional
        THz: the run length each run would need for this error on every tabulated frequency.
    """

    def __init__(self, fits, temperatures, names, *, qpoints=None, qlabels=None, path=None, npoints: int = 31,
                 mesh=(16, 16, 16), occupation: str = "quantum", target_error: float | None = None,
                 cubic_mesh=None, dataset=None, error_inputs=None, static=None):
        fits = list(fits)
        self.fits = fits
        self._model = fits[0] if fits else None          # the basis the parameters are in (rebuilt for a file)
        if dataset is not None:
            self.dataset = dataset
            return
        self._maps = check_same_model(fits)
        self.dataset = self._build(fits, np.asarray(temperatures, float), list(names), qpoints, qlabels, path,
                                   npoints, mesh, occupation, target_error, cubic_mesh, error_inputs, static)

    @classmethod
    def from_dataset(cls, dataset) -> "Series":
        """A series of its :attr:`dataset` alone (written by :meth:`to_netcdf`): the dataset, the interpolation and
        the shift split, without the fits.

        Parameters
        ----------
        dataset : xarray.Dataset
            A series' :attr:`dataset`, as :meth:`to_netcdf` wrote it.
        """
        return cls([], None, None, dataset=dataset)

    # -- building ---------------------------------------------------------------------------------
    def _build(self, fits, T, names, qpoints, qlabels, path, npoints, mesh, occupation, target_error, cubic_mesh,
               error_inputs, static):
        import xarray as xr
        from trajmodes.lattice.qpoints import qpoints_in
        from trajmodes.phonons.harmonic.phonons import Phonons
        from trajmodes.series.errorbars import series_frequency_errors
        first = fits[0]
        prim = first.primitive_
        qpoints, qlabels = _tabulated_points(prim, qpoints, qlabels)
        bands = Phonons(first.harmonic_force_constants_).band_structure(path, npoints=npoints)
        pq = bands.qpoint.values
        orders = sorted(first.bases_)
        boot = all(hasattr(f, "params_samples_") for f in fits)
        both, nq = np.concatenate([qpoints, pq]), len(qpoints)
        # the same points of the zone in each run's own primitive basis (a run's search may choose another)
        each = np.array([qpoints_in(both, prim, f.primitive_, names=("the first run's primitive cell",
                                                                     f"that of run {names[i]}"))
                         for i, f in enumerate(fits)])
        if boot:
            errors = series_frequency_errors(fits, T, each, error_inputs, static)
            v = errors.frequency
        else:
            v = np.array([Phonons(f.harmonic_force_constants_).frequencies(q) for f, q in zip(fits, each)])
        nu, pnu = v[:, :nq], v[:, nq:]
        run = np.arange(len(fits))
        data = _run_variables(fits, T, nu, pnu)
        self._add_parameters(data, fits, orders, boot)
        if boot:
            _add_error_bars(data, fits, errors, nq, names, target_error)
        notes = []
        if all(np.isfinite(f.energies_["potential"]) for f in fits):
            fe_attrs = _add_free_energies(data, fits, T, mesh, occupation, boot, cubic_mesh)
        else:
            fe_attrs = {}
            lacking = [str(n) for n, f in zip(names, fits) if not np.isfinite(f.energies_["potential"])]
            notes.append("no free energy: not every frame has a potential energy in " + ", ".join(lacking))
        ds = xr.Dataset(data, coords=dict(
            run=run, name=("run", names), order=("order", np.array(orders)), branch=np.arange(len(nu[0][0])),
            qpoint=(("q", "reduced"), qpoints), qlabel=("q", qlabels),
            path_qpoint=(("path_q", "reduced"), pq), path_distance=("path_q", bands.distance.values),
            path_segment=("path_q", bands.segment.values),
            path_label=("path_q", bands.label.values.astype(str))))
        sc = first.supercell_
        ds["reference_fractional"] = (("atom", "reduced"), sc.positions @ np.linalg.inv(sc.cell),
                                      {"units": "1", "long_name": "reference positions of run 0, fractional"})
        ds["species"] = ("atom", np.asarray(sc.species).astype(str))
        ds["masses"] = ("atom", np.asarray(sc.masses, float), {"units": "amu"})
        ds.attrs.update(
            cutoff2=cutoff_length(first.cutoff2),
            cutoff3=np.nan if first.cutoff3 is None else cutoff_length(first.cutoff3),
            mode=first.mode, symprec=float(first.symprec_used_), occupation=occupation,
            mesh=parse_mesh(mesh, matrix=False).tolist(),
            path_tick_distance=np.asarray(bands.attrs["tick_distance"], float),
            path_tick_labels=",".join(map(str, bands.attrs["tick_labels"])),
            n_resamples=int(len(first.params_samples_[2])) if boot else 0, notes="; ".join(notes),
            title="trajmodes series: effective force constants over temperature and volume", **fe_attrs)
        return ds

    def _add_parameters(self, data: dict, fits, orders, boot: bool) -> None:
        """The runs' symmetry-irreducible parameters, in the first run's basis, into ``data`` (with their standard
        errors where the runs were bootstrapped)."""
        units = {2: "eV/Angstrom^2", 3: "eV/Angstrom^3"}
        for o in orders:
            data[f"fc{o}"] = ((("run", f"param{o}")),
                              np.array([in_first_basis(m.get(o), f.params_[o]) for f, m in zip(fits, self._maps)]),
                              {"units": units[o], "long_name": f"symmetry-irreducible order-{o} parameters"})
        if boot:
            for o in orders:
                data[f"fc{o}_err"] = ((("run", f"param{o}")), np.array([
                    f.params_err_[o] if m.get(o) is None else
                    bootstrap_std(in_first_basis(m[o], f.params_samples_[o]), f.segments_.n_blocks)
                    for f, m in zip(fits, self._maps)]),
                                      {"units": units[o], "long_name": "standard error (block bootstrap)"})

    # -- interpolation ----------------------------------------------------------------------------
    @property
    def temperatures(self) -> np.ndarray:
        return self.dataset.temperature.values

    @property
    def volumes(self) -> np.ndarray:
        return self.dataset.volume.values

    @property
    def frequencies(self):
        """The tabulated frequencies over temperature: an xarray.Dataset with ``frequency`` (temperature, q, branch)
        in THz, the runs in order of temperature, at ``qpoint`` (q, reduced) named by ``qlabel`` (q). For a series
        with one run per temperature (one volume, or NPT); :attr:`dataset` holds every run."""
        import xarray as xr
        T = self.temperatures
        if len(np.unique(T)) != len(T):
            raise ValueError(f"the series has several runs at one temperature ({sorted(T.tolist())} K): their "
                             "frequencies are dataset.frequency over run")
        ds = self.dataset.isel(run=np.argsort(T, kind="stable"))
        return xr.Dataset(
            dict(frequency=(("temperature", "q", "branch"), ds.frequency.values, dict(ds.frequency.attrs))),
            coords=dict(temperature=("temperature", ds.temperature.values, {"units": "K"}),
                        qpoint=(("q", "reduced"), ds.qpoint.values), qlabel=("q", ds.qlabel.values),
                        branch=ds.branch.values))

    def fit_at(self, temperature: float) -> EffectiveForceConstants:
        """The fitted estimator of the run at ``temperature`` (K; the one run within a relative 1e-6 of it).

        Parameters
        ----------
        temperature : float
            The run's temperature, K.
        """
        if not self.fits:
            raise ValueError("a series read back from a file holds no fits, only its dataset")
        at = np.flatnonzero(np.isclose(self.temperatures, float(temperature), rtol=1e-6, atol=0.0))
        if len(at) != 1:
            raise ValueError(f"{len(at)} runs at {float(temperature):g} K (the runs: "
                             f"{', '.join(f'{t:g}' for t in self.temperatures)} K): fit_at needs exactly one")
        return self.fits[int(at[0])]

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

    def force_constants(self, temperature: float, volume: float | None = None,
                        clamp: bool = False) -> ForceConstants:
        """Force constants at (T, V) from the irreducible parameters interpolated linearly between the runs (exact
        at the runs), on the reference supercell at the interpolated cell; fc3 too when fitted.

        Parameters
        ----------
        temperature : float
            Temperature at which the constants are wanted, K.
        volume : float, optional
            Volume per atom, Å³; needed when the series has several volumes at one temperature.
        clamp : bool
            A temperature outside the runs' takes the first or last run's (default: refused, no extrapolation).
        """
        if clamp:
            temperature = float(np.clip(temperature, self.temperatures.min(), self.temperatures.max()))
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
            serve (see :mod:`trajmodes.series`): every temperature needs a run at the reference volume.
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
            from trajmodes.phonons.harmonic.phonons import Phonons
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
        frequency_units = {"units": "THz"}
        dims = ("run", "q", "branch")
        out = xr.Dataset(dict(total=(dims, shift, dict(frequency_units, long_name="shift from the reference")),
                              quasiharmonic=(dims, qh, dict(frequency_units, long_name="volume part")),
                              intrinsic=(dims, intr, dict(frequency_units, long_name="fixed-volume part")),
                              total_err=(("run", "q", "branch"), shift_err, frequency_units),
                              quasiharmonic_err=(("run", "q", "branch"), qh_err, frequency_units),
                              intrinsic_err=(("run", "q", "branch"), intr_err, frequency_units)),
                         coords={k: ds[k] for k in ("run", "name", "temperature", "volume", "qpoint", "qlabel",
                                                    "branch")},
                         attrs=dict(reference_run=int(reference), method=method))
        return out

    # -- files ------------------------------------------------------------------------------------
    def to_netcdf(self, path, attrs=None) -> None:
        """Write :attr:`dataset` (written under a temporary name, then renamed).

        Parameters
        ----------
        path : str or os.PathLike
            The netCDF4 file to write.
        attrs : dict, optional
            Global attributes added to the file's (provenance, settings).
        """
        from trajmodes.io.filesystem import atomic_write
        ds = self.dataset.copy()
        ds.attrs.update(attrs or {})
        atomic_write(str(path), lambda tmp: ds.to_netcdf(tmp, engine="netcdf4"))


def load_series(path) -> Series:
    """A series written by :meth:`Series.to_netcdf`: its dataset, interpolation and shift split (no fits).

    Parameters
    ----------
    path : str or os.PathLike
        The netCDF4 file :meth:`Series.to_netcdf` wrote.
    """
    import xarray as xr
    with xr.open_dataset(path) as f:
        ds = f.load()
    ds["name"] = ds["name"].astype(str)
    return Series.from_dataset(ds)


def _tabulated_points(prim, qpoints, qlabels) -> tuple:
    """The reduced q-points (nq, 3) the series tabulates and their labels: default the special points of ``prim``."""
    from trajmodes.lattice import paths
    if qpoints is None:
        pts = paths.special_points(prim)
        qlabels = list(pts)
        qpoints = np.array([pts[k] for k in qlabels], float)
    qpoints = np.asarray(qpoints, float).reshape(-1, 3)
    qlabels = [""] * len(qpoints) if qlabels is None else [str(x) for x in qlabels]
    return qpoints, qlabels


def _run_variables(fits, T, nu, pnu) -> dict:
    """The variables of every run: its temperatures, volume and cell, its frequencies at the tabulated points ``nu``
    and along the path ``pnu`` (THz), and its fit's scores."""
    n_atoms = fits[0].supercell_.n_atoms
    frequency_units = {"units": "THz"}
    return dict(
        temperature=("run", T, {"units": "K"}),
        kinetic_temperature=("run", np.array([f.temperature_ for f in fits]), {
            "units": "K", "long_name": "mean kinetic temperature of the fitted frames (3N - 3 degrees of "
                                       "freedom; NaN without velocities)"}),
        volume=("run", np.array([abs(np.linalg.det(f.supercell_.cell)) / n_atoms for f in fits]),
                {"units": "Angstrom^3", "long_name": "volume per atom of the run's reference cell"}),
        cell=(("run", "cell_vector", "cartesian"), np.array([f.supercell_.cell for f in fits]),
              {"units": "Angstrom", "long_name": "reference supercell, rows a, b, c"}),
        frequency=(("run", "q", "branch"), np.array(nu),
                   dict(frequency_units, long_name="effective phonon frequency")),
        path_frequency=(("run", "path_q", "branch"), np.array(pnu),
                        dict(frequency_units, long_name="effective dispersion")),
        r2=(("run", "order"), np.array([f.scores_.r2.values for f in fits]), {"units": "1"}),
        rmse=(("run", "order"), np.array([f.scores_.rmse.values for f in fits]), {"units": "eV/Angstrom"}),
        cv_rmse=(("run", "order"), np.array([f.scores_.cv_rmse.values for f in fits]),
                 {"units": "eV/Angstrom"}),
        sigma_a=("run", np.array([float(f.scores_.sigma_a) for f in fits]), {"units": "1"}),
        n_frames=("run", np.array([int(f.scores_.n_frames) for f in fits]), {"units": "1"}),
    )


def _add_error_bars(data: dict, fits, errors, nq: int, names, target_error) -> None:
    """The bootstrapped runs' error model (``errors``, of the ``nq`` tabulated points), blocking diagnostics and, for a
    ``target_error`` (THz), the frames each run would need, into ``data``."""
    from trajmodes.series.errorbars import error_model_variables
    data.update(error_model_variables(errors, nq, [str(x) for x in names]))
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
        need = [float(f.run_length_for(target_error, e.max())) for f, e in zip(fits, errors.bootstrap_err[:, :nq])]
        data["required_frames"] = ("run", np.array(need), {
            "units": "1", "long_name": f"frames for a {target_error:g} THz bootstrap error on every tabulated "
                                       "frequency (it shrinks as 1/sqrt(run length); the terms fixed per run, "
                                       "temperature and partition, do not)"})


def _add_free_energies(data: dict, fits, T, mesh, occupation, boot: bool, cubic_mesh) -> dict:
    """The runs' TDEP free energies (:func:`~trajmodes.phonons.thermodynamics.free_energy.tdep_free_energy`), the
    harmonic reference and the entropy and heat capacity along the runs (:func:`_add_derivatives`), into ``data``;
    returns the attributes that say what the free energies are."""
    from trajmodes.phonons.thermodynamics.free_energy import CUBIC_MESH, tdep_free_energy
    fe = [tdep_free_energy(f, t, mesh=mesh, occupation=occupation, errors=boot,
                           cubic_mesh=CUBIC_MESH if cubic_mesh is None else cubic_mesh)
          for f, t in zip(fits, T)]
    for name in fe[0].data_vars:
        data[name] = ("run", np.array([float(x[name]) for x in fe]), dict(fe[0][name].attrs))
    # what the free energies are (the statistics, the correction and its mesh), as the runs' datasets say
    fe_attrs = {f"free_energy_{k}": v for k, v in fe[0].attrs.items()
                if k in ("free_energy", "anharmonic_correction", "statistics", "cubic_mesh",
                         "cubic_resamples", "cubic_error_mesh")}
    _add_derivatives(data, fits, T, mesh, occupation, boot)
    return fe_attrs


def _add_derivatives(data: dict, fits, T, mesh, occupation, boot: bool) -> None:
    """The free energy of the harmonic crystal of the lowest-temperature run, and S = -dF/dT and C = -T d2F/dT2 of the
    TDEP free energy (and of the corrected one where there is fc3) along the runs, into ``data``."""
    from trajmodes.phonons.harmonic.phonons import Phonons
    from trajmodes.phonons.harmonic.thermal import mesh_thermodynamics
    # the harmonic crystal of the lowest-temperature run (its U_0 and Phi) at every run's temperature
    harmonic = {}

    def reference(i):
        """(F, S, C) of the harmonic crystal of run i (its U_0 and Phi) at every run's temperature."""
        if i not in harmonic:
            th = mesh_thermodynamics(Phonons(fits[i].harmonic_force_constants_).dm, T, mesh, occupation)
            harmonic[i] = (data["baseline_energy"][1][i] + th.free_energy, th.entropy, th.heat_capacity)
        return harmonic[i]

    data["reference_harmonic_free_energy"] = ("run", reference(int(np.argmin(T)))[0], {
        "units": "eV", "long_name": "free energy of the harmonic crystal of the lowest-temperature run "
                                    "(its U_0 and effective constants) per primitive cell"})
    entropy_units = "eV/K"
    # S and C of the TDEP free energy, and of the corrected one where there is fc3
    for suffix, of in (("", "the TDEP free energy"), ("_corrected", "free_energy_corrected")):
        if "free_energy" + suffix not in data:
            continue
        F_err = data["free_energy" + suffix + "_err"][1] if boot else np.zeros(len(T))
        th = thermodynamics(T, data["volume"][1], data["free_energy" + suffix][1], F_err, reference)
        data["entropy" + suffix] = ("run", th.entropy, {"units": entropy_units, "long_name": f"S = -dF/dT of {of} "
                                    "along the runs of this volume group (about the harmonic crystal of "
                                    "its lowest-temperature run), per primitive cell"})
        data["heat_capacity" + suffix] = ("run", th.heat_capacity, {"units": entropy_units, "long_name": f"C = -T "
                                          f"d2F/dT2 of {of} along the runs of this volume group (Cv at "
                                          "constant volume, Cp along zero-pressure volumes), per primitive "
                                          "cell"})
        if boot:
            for name, err in (("entropy", th.entropy_err), ("heat_capacity", th.heat_capacity_err)):
                data[name + suffix + "_err"] = ("run", err, {"units": entropy_units, "long_name": "standard error"})
        if not suffix:
            data["thermodynamic_path"] = ("run", th.thermodynamic_path,
                                          {"long_name": "what the derivatives of F follow"})
