"""``trajmodes series``: many MD runs (temperatures, volumes, NPT) fitted on one basis into one dataset, with error
bars, the free energy and the split of every frequency shift into its volume and intrinsic parts
(:mod:`trajmodes.series`); with ``sampling``, beside every run the self-consistent sampling of a potential at its
temperature (:class:`~trajmodes.phonons.thermodynamics.self_consistent.SelfConsistentPhonons`), like for like: classical
occupations for classical MD, the P-bead ring polymer for a path-integral run of P beads."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SeriesResult", "series_of_runs", "SAMPLING_FORMS", "sampling_potential"]

#: the variables of the split of the shifts (:meth:`~trajmodes.series.core.Series.shift_split`) the dataset of
#: ``trajmodes series`` holds, each as ``shift_<name>``
SHIFT_SPLIT = ("total", "quasiharmonic", "intrinsic", "total_err", "quasiharmonic_err", "intrinsic_err")


@dataclass(frozen=True)
class SeriesResult:
    """What :func:`series_of_runs` computes.

    Parameters
    ----------
    series : Series
        The fitted runs (:class:`~trajmodes.series.core.Series`).
    dataset : xarray.Dataset
        ``series.dataset``, with the split of the shifts (``shift_total``, ``shift_quasiharmonic``,
        ``shift_intrinsic`` and their ``_err``; attrs ``shift_reference_run``, ``shift_method``) where it is known.
    split : xarray.Dataset
        The split of every shift from the lowest temperature into its volume (quasiharmonic) and intrinsic parts.
    has_split : bool
        Whether the split is known (its quasiharmonic part finite at every q-point and branch of at least two runs).
    samplings : tuple of SelfConsistentPhonons
        With ``sampling``: the fitted sampling of each run (its ``history_``, ``converged_``), else empty. The dataset
        then holds ``sampling_frequency`` and ``sampling_frequency_err`` (run, q, branch; THz), ``sampling_converged``,
        ``sampling_n_beads`` (0: classical), ``sampling_configurations`` (run) and the attrs ``sampling_potential``,
        ``sampling_method``.
    """

    series: object
    dataset: object
    split: object
    has_split: bool
    samplings: tuple = ()


#: settings of the self-consistent sampling beside the runs (:func:`series_of_runs`' ``sampling_options``): the
#: configurations of the first iteration (doubled each iteration up to ``max_samples``, default 4 x ``n_samples``),
#: iterations, tolerance (THz), iterations pooled for the reported constants and their error bars, seed, bootstrap
#: resamples of the error bars
SAMPLING_DEFAULTS = dict(n_samples=256, max_samples=None, max_iter=8, tol=0.01, n_average=3, seed=0, n_resamples=200)

#: the paper of the method, in the dataset's attrs
SAMPLING_METHOD = ("stochastic self-consistent sampling of canonical configurations of the current constants, refitted "
                   "until converged: N. Shulumba, O. Hellman and A. J. Minnich, Phys. Rev. B 95, 014302 (2017)")

#: what the sampling's frequencies beside the runs' mean (the CLI prints it under the table)
SAMPLING_MEANING = (
    "the same potential sampled self-consistently beside each run, like for like: classical MD against the classical "
    "sampling, a P-bead path-integral run against the sampling of the P-bead ring polymer; the residual is the "
    "difference of the methods (the self-consistent harmonic ensemble against the least-squares fit over the true, "
    "anharmonic ensemble of the run; smaller with cubic terms fitted, --cutoff3 with --mode simultaneous) plus the "
    "statistics of both")


#: what ``trajmodes series --sampling`` takes: the one text its ``--help`` and its refusals print (the pair styles are
#: those of :data:`trajmodes.potentials.pair.PAIR_STYLES`, with their ``pair_coeff`` parameters, checked by the tests)
SAMPLING_FORMS = ("a LAMMPS Stillinger-Weber file (*.sw), an EAM file (*.eam funcfl, *.eam.alloy setfl, *.eam.fs "
                  "Finnis-Sinclair), or a one-species pair potential lj/cut:epsilon,sigma,cutoff, "
                  "morse:D0,alpha,r0,cutoff, buck:A,rho,C,cutoff (metal units)")

#: what :func:`series_of_runs` takes beyond :data:`SAMPLING_FORMS` from Python
SAMPLING_OBJECTS = "a loaded potential of trajmodes.potentials, or an ASE calculator (ase.calculators)"


def is_ase_calculator(obj) -> bool:
    """Whether ``obj`` is an ASE calculator (ASE's calculator protocol: ``get_forces`` and
    ``get_potential_energy`` of an ``Atoms``), without importing ASE."""
    return (not isinstance(obj, str) and callable(getattr(obj, "get_forces", None))
            and callable(getattr(obj, "get_potential_energy", None)) and hasattr(obj, "calculate"))


def sampling_engine(potential, supercell):
    """The force engine of ``potential`` on ``supercell``: :class:`~trajmodes.potentials.engines.AseEngine` for an
    ASE calculator, :class:`~trajmodes.potentials.engines.PotentialEngine` for a potential of trajmodes."""
    from trajmodes.potentials.engines import AseEngine, PotentialEngine
    return AseEngine(supercell, potential) if is_ase_calculator(potential) else PotentialEngine(potential, supercell)


def sampling_potential(spec, species):
    """The potential ``spec`` of ``trajmodes series --sampling`` for runs of ``species``, checked before any work.

    Parameters
    ----------
    spec : str
        A LAMMPS Stillinger-Weber file (``*.sw``), EAM file (``*.eam``, ``*.eam.alloy``, ``*.eam.fs``) or a pair
        potential of :func:`~trajmodes.potentials.pair.load_potential` (``lj/cut:epsilon,sigma,cutoff``, ...: one
        species, any name).
    species : sequence of str
        Every species of the runs.

    Returns
    -------
    potential
        Usable by :class:`~trajmodes.potentials.engines.PotentialEngine`.

    Raises
    ------
    FileNotFoundError
        A potential file that does not exist.
    ValueError
        A potential whose elements do not cover the runs' species (naming both).
    """
    import os
    from trajmodes.potentials.pair import load_potential
    spec = str(spec)
    runs = sorted(set(map(str, species)))
    name = os.path.basename(spec)
    if ".eam" in name and os.path.isfile(spec):
        from trajmodes.potentials.eam import EAM
        pot = EAM(spec)
        have = [str(e) for e in pot.elements]
    elif name.endswith(".sw") and os.path.isfile(spec):
        from trajmodes.potentials.threebody import StillingerWeber
        pot, have = None, [str(e) for e in StillingerWeber.from_lammps(spec).elements]
    else:
        # a one-species pair potential STYLE:p1,...,cutoff; a missing or unknown file is refused with what it takes
        style = spec.partition(":")[0]
        if ":" in spec and not os.path.exists(spec) and style not in _pair_styles():
            raise ValueError(f"{spec}: the pair style {style!r} is none of {', '.join(_pair_styles())}; --sampling "
                             f"takes {SAMPLING_FORMS}")
        try:
            pot = load_potential(spec, option="--sampling")
        except FileNotFoundError:
            raise FileNotFoundError(f"{spec}: no such potential file; --sampling takes {SAMPLING_FORMS}") from None
        except ValueError as e:
            if ":" in spec and style in _pair_styles():
                raise                                            # a known style with wrong parameters: says which
            raise ValueError(f"{spec}: not a potential --sampling can evaluate; it takes {SAMPLING_FORMS}") from e
        if len(runs) > 1:
            raise ValueError(f"{spec}: a one-species pair potential, the runs have the species {', '.join(runs)}: "
                             "give a file that names every species (.sw, EAM)")
        return pot
    missing = [s for s in runs if s not in have]
    if missing:
        raise ValueError(f"{spec} is a potential of {', '.join(have)}; the runs' species are {', '.join(runs)} "
                         f"({', '.join(missing)} not in it): give the potential the runs ran with")
    # a Stillinger-Weber file read again for the runs' elements, in their order
    return pot if pot is not None else load_potential(spec, elements=[e for e in have if e in runs])


def _pair_styles() -> tuple:
    from trajmodes.potentials.pair import PAIR_STYLES
    return tuple(PAIR_STYLES)


def _sample_runs(series, potential, name, beads, cutoff2, fit_options, settings, progress):
    """Per run of ``series``: :class:`SelfConsistentPhonons` of ``potential`` at its temperature on its reference
    supercell from its fitted constants (classical occupations, or the ring polymer of its bead count); returns the
    samplings and (frequency, error, converged, configurations) arrays at the dataset's q-points."""
    import warnings
    from trajmodes.lattice.qpoints import qpoints_in
    from trajmodes.phonons.thermodynamics.self_consistent import SelfConsistentPhonons
    ds, fits = series.dataset, series.fits
    q = ds.qpoint.values
    o = dict(SAMPLING_DEFAULTS, **(settings or {}))
    n, cap = int(o["n_samples"]), o["max_samples"]
    cap = 4 * n if cap is None else int(cap)
    scps, nu, err, conv, count = [], [], [], [], []
    for r, fit in enumerate(fits):
        T = float(ds.temperature.values[r])
        label = str(ds["name"].values[r])
        if not np.isfinite(T) or T <= 0:
            raise ValueError(f"{label}: its temperature is unknown ({T}): give it (--run-temperatures) to sample "
                             f"{name} beside it")
        P = int(beads[r]) if beads and beads[r] else None
        occupation = "quantum" if P else "classical"
        if progress is not None:
            progress(f"{label}: self-consistent sampling of {name} at {T:.1f} K, "
                     + (f"quantum, {P} beads (like for like)" if P else "classical (like for like)")
                     + f": {n} configurations doubling to at most {cap}, at most {o['max_iter']} iterations "
                     f"(+{o['n_average'] - 1} averaged), up to {_most_configurations(n, cap, o)} engine evaluations")
        scp = SelfConsistentPhonons(T, cutoff2=cutoff2, occupation=occupation, n_beads=P, n_samples=n,
                                    max_samples=cap, max_iter=o["max_iter"], tol=o["tol"], n_average=o["n_average"],
                                    seed=o["seed"], fit_options=fit_options)
        with warnings.catch_warnings(record=True) as caught:
            # not converged is said in the table and stored (sampling_converged), not raised: the pooled iterations'
            # error bars cover their scatter either way
            warnings.filterwarnings("always", message="self-consistent phonons .* not converged",
                                    category=RuntimeWarning)
            scp.fit(sampling_engine(potential, fit.supercell_), fit.harmonic_force_constants_)
        for w in caught:
            if not str(w.message).startswith("self-consistent phonons"):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        mine = qpoints_in(q, fits[0].primitive_, scp.estimator_.primitive_,
                          names=("the first run's primitive cell", f"that of the sampling of run {label}"))
        res = scp.frequencies_with_errors(mine, n_resamples=o["n_resamples"], seed=o["seed"])
        h = scp.history_
        if progress is not None:
            progress(f"  {'converged (' + scp.stopped_by_ + ')' if scp.converged_ else 'NOT converged'} after "
                     f"{h.sizes['iteration']} "
                     f"iterations ({int(h.n_samples.values.sum())} configurations; last change "
                     f"{float(h.max_change.values[-1]):.4f} THz, tol {o['tol']:g})")
        scps.append(scp)
        nu.append(res.frequency)
        err.append(res.frequency_err)
        conv.append(bool(scp.converged_))
        count.append(int(h.n_samples.values.sum()))
    return scps, np.array(nu), np.array(err), np.array(conv), np.array(count)


def _most_configurations(n, cap, o) -> int:
    """The configurations a sampling evaluates at most: ``max_iter`` iterations doubling from ``n`` up to ``cap``,
    and ``n_average - 1`` more."""
    return sum(min(cap, n * 2 ** k) for k in range(o["max_iter"] + o["n_average"] - 1))


def series_of_runs(trajectories, *, sampling=None, sampling_label=None, n_beads=None, sampling_options=None,
                   **options) -> SeriesResult:
    """The runs ``trajectories`` fitted into one series (``trajmodes series``;
    :func:`~trajmodes.series.fitting.fit_series` with ``options``: the cutoffs and fit settings, their temperatures
    and names, q-points and path, meshes and occupation of the free energy, the error model and its resamples,
    ``progress``), and the split of their shifts (:class:`SeriesResult`).

    Parameters
    ----------
    trajectories : sequence of Trajectory
        The runs, one per temperature (or volume).
    sampling : str, potential or ASE calculator, optional
        A potential: its spec (:data:`SAMPLING_FORMS`, :func:`sampling_potential`, checked against the runs' species
        before the fit), the potential that function returned (a caller that checked it before its own work), any
        loaded potential of :mod:`trajmodes.potentials`, or an ASE calculator (evaluated through
        :class:`~trajmodes.potentials.engines.AseEngine` on every run's reference supercell; its species are the
        calculator's to know): beside every
        run its self-consistent sampling (Shulumba, Hellman and Minnich, Phys. Rev. B 95, 014302 (2017)) at the
        run's temperature, on the run's reference supercell, from the run's fitted constants, with the series'
        cutoffs and fit mode; classical occupations for a classical run, the ring polymer of P beads for a
        path-integral run of P beads (``n_beads``). Its frequencies at the tabulated q-points (THz) with error
        bars that cover the scatter of the last ``n_average`` iterations go into the dataset (:class:`SeriesResult`).
    sampling_label : str, optional
        The potential's name in the output (default: ``sampling`` as text; give the spec with a loaded potential).
    n_beads : sequence of int or None, optional
        Per run, its bead count (None or 0: classical).
    sampling_options : dict, optional
        Overrides of :data:`SAMPLING_DEFAULTS`.
    **options
        Passed to :func:`~trajmodes.series.fitting.fit_series` (cutoffs in Å, temperatures in K, ...).
    """
    from trajmodes.series.fitting import fit_series
    runs = list(trajectories)
    potential = sampling
    label = str(sampling_label if sampling_label is not None else
                f"ASE {type(sampling).__name__} calculator" if is_ase_calculator(sampling) else sampling)
    if sampling is not None and not isinstance(sampling, str) and not is_ase_calculator(sampling) \
            and not hasattr(sampling, "energy_forces"):
        raise TypeError(f"sampling={type(sampling).__name__}: give {SAMPLING_FORMS}; or {SAMPLING_OBJECTS}")
    if isinstance(sampling, str):
        potential = sampling_potential(sampling, sorted({str(x) for t in runs for x in np.asarray(t.species)}))
    s = fit_series(runs, **options)
    ds = s.dataset
    if "free_energy" not in ds:
        # why a run has no potential energies where its reader knows (an i-PI properties file without the steps of
        # the bead files, a column missing): beside the series' note that names the runs
        why = [f"{n}: {p}" for n, p in zip(ds["name"].values, (getattr(t.source, "energy_problem", None)
                                                               for t in runs)) if p]
        if why:
            ds.attrs["notes"] = "; ".join(n for n in [ds.attrs.get("notes", "")] + why if n)
    split = s.shift_split()
    has_split = int(np.isfinite(split.quasiharmonic.values).all(axis=(1, 2)).sum()) >= 2
    if has_split:
        for name in SHIFT_SPLIT:
            v = split[name]
            ds[f"shift_{name}"] = (v.dims, v.values, dict(v.attrs))
        ds.attrs["shift_reference_run"] = split.attrs["reference_run"]
        ds.attrs["shift_method"] = split.attrs["method"]
    if potential is None:
        return SeriesResult(s, ds, split, has_split)
    beads = list(n_beads) if n_beads is not None else [None] * len(runs)
    fit_options = dict(cutoff3=options.get("cutoff3"), mode=options.get("mode", "sequential"))
    if options.get("symprec") is not None:
        fit_options["symprec"] = options["symprec"]
    scps, nu, err, conv, count = _sample_runs(s, potential, label, beads, s.fits[0].cutoff2, fit_options,
                                              sampling_options, options.get("progress"))
    kinds = " | ".join(sorted({f"quantum, {int(b)} beads" if b else "classical" for b in beads}))
    units = dict(units="THz", method=SAMPLING_METHOD)
    dims = ("run", "q", "branch")
    ds["sampling_frequency"] = (dims, nu, dict(units, long_name=f"self-consistent sampling of {label} ({kinds}) "
                                                                 "at the run's temperature"))
    ds["sampling_frequency_err"] = (dims, err, dict(units, long_name=(
        f"standard error of the self-consistent sampling of {label} ({kinds}): the larger of the pooled "
        "iterations' bootstrap and their scatter")))
    ds["sampling_converged"] = ("run", conv.astype(np.int8), dict(units="1", long_name="1: the sampling converged"))
    ds["sampling_n_beads"] = ("run", np.array([int(b or 0) for b in beads]),
                              dict(units="1", long_name="beads of the sampled ring polymer (0: classical)"))
    ds["sampling_configurations"] = ("run", count, dict(units="1", long_name="configurations the engine evaluated"))
    ds.attrs["sampling_potential"] = label
    ds.attrs["sampling_method"] = SAMPLING_METHOD
    return SeriesResult(s, ds, split, has_split, tuple(scps))
