"""The exact classical free energy of a crystal and its harmonic bounds, with any force engine.

Reference Hamiltonian on the supercell (N atoms, fixed cell):

    U_h(u) = E_ref + 1/2 u Phi u,

u the minimum-image displacement from the reference positions (:func:`trajmodes.lattice.geometry.minimum_image`),
E_ref the engine's energy of the undisplaced reference, Phi any stable force constants on the same supercell (the
TDEP fit of a run, or the 0 K constants of the potential). Its classical free energy is that of the supercell's own
modes (:func:`trajmodes.phonons.thermodynamics.sampling.supercell_modes`),

    F_h = k_B T sum_s ln(h nu_s / k_B T),

summed over the 3N - 3 non-translational modes: the **convention** of every free energy here is a crystal whose
centre of mass is at rest (the three translations carry neither kinetic nor configurational free energy; the MD keeps
the momentum at zero, and U and U_h do not depend on a uniform translation). Every F compared must use the same
convention, which the attributes state. All free energies are classical (no zero-point energy, no quantum
correction) and per atom in eV.

With U the engine's potential (Gibbs-Bogoliubov inequality, R. P. Feynman, *Statistical Mechanics* (1972), sec. 3.4;
Å. Isihara, J. Phys. A 1, 539 (1968)), applied once with each ensemble as the reference:

    F_h + <U - U_h>_U  <=  F  <=  F_h + <U - U_h>_h

(E_ref is inside U_h): the **upper bound** is the mean over canonical configurations of the harmonic crystal
(:func:`trajmodes.phonons.thermodynamics.sampling.canonical_configurations`, exact independent samples), the **lower
bound** the mean over MD frames of the real potential, which, with the TDEP constants of that MD, is the TDEP free
energy U_0 + F_h (O. Hellman et al., Phys. Rev. B 87, 104111 (2013); here with the supercell's own F_h).

The **exact** F follows from thermodynamic integration (J. G. Kirkwood, J. Chem. Phys. 3, 300 (1935); from a harmonic
reference: D. Frenkel and A. J. C. Ladd, J. Chem. Phys. 81, 3188 (1984)) along U_lambda = (1 - lambda) U_h + lambda U:

    F = F_h + int_0^1 <U - U_h>_lambda d lambda  ~=  F_h + sum_i w_i <U - U_h>_{lambda_i},

Gauss-Legendre points lambda_i and weights w_i on [0, 1], each average from Langevin NVT of U_lambda
(:meth:`trajmodes.potentials.engines.ForceEngine.sample_langevin`; LAMMPS runs it itself with the reference through
``fix external``), error bars from block averaging (H. Flyvbjerg and H. G. Petersen, J. Chem. Phys. 91, 461 (1989)).
"""
from __future__ import annotations

import time

import numpy as np

from trajmodes.phonons.thermodynamics.sampling import canonical_configurations, check_sampling_temperature, supercell_modes
from trajmodes.phonons.harmonic.thermal import harmonic_thermodynamics

__all__ = ["harmonic_supercell_free_energy", "block_average", "upper_bound", "lower_bound",
           "thermodynamic_integration", "gauss_legendre", "COM_CONVENTION", "CITATIONS"]

#: the convention every free energy of this module uses
COM_CONVENTION = ("classical, centre of mass at rest: the 3N - 3 non-translational modes of the supercell "
                  "(F_h = k_B T sum_s ln(h nu_s / k_B T)); no zero-point energy or quantum correction")
#: the methods' papers
CITATIONS = ("thermodynamic integration: J. G. Kirkwood, J. Chem. Phys. 3, 300 (1935); from a harmonic reference: "
             "D. Frenkel and A. J. C. Ladd, J. Chem. Phys. 81, 3188 (1984); Gibbs-Bogoliubov bounds: R. P. Feynman, "
             "Statistical Mechanics (1972), A. Isihara, J. Phys. A 1, 539 (1968); canonical configurations: D. West "
             "and S. K. Estreicher, Phys. Rev. Lett. 96, 115504 (2006); block averages: H. Flyvbjerg and "
             "H. G. Petersen, J. Chem. Phys. 91, 461 (1989); TDEP: O. Hellman et al., Phys. Rev. B 87, 104111 (2013)")


def harmonic_supercell_free_energy(force_constants, temperature: float, masses=None) -> float:
    """Classical harmonic free energy of the supercell's own 3N - 3 modes, k_B T sum_s ln(h nu_s / k_B T), eV per
    supercell (the convention of :data:`COM_CONVENTION`)."""
    T = check_sampling_temperature(temperature)
    nu = supercell_modes(force_constants, masses).frequencies
    return float(harmonic_thermodynamics(nu[None, :], [T], occupation="classical", cutoff_frequency=0.0).free_energy[0])


def block_average(x, min_blocks: int = 32) -> tuple[float, float, int]:
    """Mean of a correlated series and its standard error by blocking (H. Flyvbjerg and H. G. Petersen, J. Chem.
    Phys. 91, 461 (1989)).

    The series is halved repeatedly (means of neighbouring pairs) while at least ``min_blocks`` blocks remain; the
    error of the mean at each level is sqrt(var / (n_b - 1)) with its own error e / sqrt(2 (n_b - 1)). The plateau
    starts at the first level whose error no later level exceeds by more than that later level's own uncertainty;
    the error returned is the largest from there on (conservative: a slow tail of the correlation shows only at the
    longest blocks), and without a plateau that of the last level.

    Returns
    -------
    (mean, standard error, block length in samples)
    """
    y = np.asarray(x, dtype=float).ravel()
    if len(y) < 2:
        raise ValueError(f"a block average needs at least 2 samples, not {len(y)}")
    mean = float(y.mean())
    levels = []
    b = 1
    while len(y) >= max(2, int(min_blocks)) or not levels:
        k = len(y)
        err = float(np.sqrt(y.var() / (k - 1)))
        levels.append((b, err, err / np.sqrt(2.0 * (k - 1))))
        if k < 4:
            break
        y = y[: k - k % 2]
        y = 0.5 * (y[0::2] + y[1::2])
        b *= 2
    for i, (_, err, _) in enumerate(levels):
        if all(e2 <= err + d2 for _, e2, d2 in levels[i + 1:]):
            b, err, _ = max(levels[i:], key=lambda level: level[1])
            return mean, err, b
    return mean, levels[-1][1], levels[-1][0]


# ------------------------------------------------------------------------------------------ checks
def _reference(engine, force_constants, reference_energy=None):
    """(HarmonicEngine U_h, E_ref) after checking that the engine and the force constants share one supercell."""
    from trajmodes.potentials.engines import HarmonicEngine
    n = force_constants.n_atoms
    if engine.n_atoms != n:
        raise ValueError(f"the engine holds {engine.n_atoms} atoms and the force constants' supercell {n}: give an "
                         "engine on the force constants' supercell (same atoms, same order)")
    sc = force_constants.supercell
    if not np.allclose(engine.cell, sc.cell, rtol=0, atol=1e-6):
        raise ValueError("the engine's cell differs from the force constants' supercell cell (by up to "
                         f"{np.abs(engine.cell - sc.cell).max():.3g} A): both must be the same cell")
    from trajmodes.lattice.geometry import minimum_image
    dev = np.abs(minimum_image((engine.positions - sc.positions)[None], np.asarray(sc.cell)[None])).max()
    if dev > 1e-3:
        raise ValueError(f"the engine's reference positions differ from the force constants' supercell by up to "
                         f"{dev:.3g} A: give the engine the force constants' supercell (atoms in the same order)")
    e_ref = engine.reference_energy() if reference_energy is None else float(reference_energy)
    return HarmonicEngine(force_constants, e_ref), e_ref


def _scalar(value, units, long_name):
    return ((), float(value), {"units": units, "long_name": long_name})


# ------------------------------------------------------------------------------------------ bounds
def upper_bound(engine, force_constants, temperature: float, n_samples: int = 400, seed=None,
                reference_energy: float | None = None, batch: int = 64):
    """Gibbs-Bogoliubov upper bound F <= F_h + <U - U_h>_h over canonical configurations of the harmonic crystal.

    Parameters
    ----------
    engine : ForceEngine
        U, on the force constants' supercell.
    force_constants : ForceConstants
        Phi (stable).
    temperature : float
        Temperature (K) of the harmonic crystal's canonical ensemble and of the bound.
    n_samples : int
        Independent classical canonical configurations
        (:func:`~trajmodes.phonons.thermodynamics.sampling.canonical_configurations`).
    seed : int, optional
    reference_energy : float, optional
        E_ref, eV (default: the engine's energy of the reference positions).
    batch : int
        Configurations per engine call.

    Returns
    -------
    xarray.Dataset
        Per atom, eV: ``upper_bound`` and ``upper_bound_err`` (standard error of the mean), ``harmonic_free_energy``
        F_h, ``reference_energy`` E_ref, ``anharmonic_energy`` <U - U_h>_h with ``_err``; attributes as
        :func:`thermodynamic_integration`.
    """
    import xarray as xr
    from trajmodes.potentials.engines import evaluate_checked
    ref, e_ref = _reference(engine, force_constants, reference_energy)
    T = check_sampling_temperature(temperature)
    n = force_constants.n_atoms
    f_h = harmonic_supercell_free_energy(force_constants, T)
    rng = np.random.default_rng(seed)
    du = []
    for start in range(0, int(n_samples), int(batch)):
        k = min(int(batch), int(n_samples) - start)
        x = canonical_configurations(force_constants, T, k, seed=rng)["positions"].values
        where = (f"the batch of configurations {start}-{start + k - 1} (of {int(n_samples)}) of the Gibbs-Bogoliubov "
                 f"upper bound at {T:g} K")
        du.append(evaluate_checked(engine, x, where=where).energies - ref.evaluate(x).energies)
    du = np.concatenate(du)
    mean, err = du.mean(), du.std(ddof=1) / np.sqrt(len(du))
    data = dict(upper_bound=_scalar((f_h + e_ref + mean) / n, "eV", "Gibbs-Bogoliubov upper bound F_h + <U - U_h>_h "
                                    "per atom"),
                upper_bound_err=_scalar(err / n, "eV", "standard error of the upper bound per atom"),
                anharmonic_energy=_scalar(mean / n, "eV", "<U - U_h> over the harmonic ensemble per atom"),
                anharmonic_energy_err=_scalar(err / n, "eV", "its standard error"),
                harmonic_free_energy=_scalar(f_h / n, "eV", "classical F_h of the supercell's 3N - 3 modes per atom"),
                reference_energy=_scalar(e_ref / n, "eV", "E_ref, the engine's energy of the reference per atom"))
    return xr.Dataset(data, attrs=dict(temperature=T, n_atoms=n, n_samples=int(n_samples),
                                       convention=COM_CONVENTION, citations=CITATIONS))


def lower_bound(force_constants, temperature: float, positions, energies, reference_energy: float, cell=None,
                min_blocks: int = 32):
    """Gibbs-Bogoliubov lower bound F >= F_h + <U - U_h>_U over frames of the real potential (an MD run in the
    cell of the force constants); with the TDEP constants of that run this is the TDEP free energy U_0 + F_h with the
    supercell's own F_h.

    Parameters
    ----------
    force_constants : ForceConstants
        Phi on the run's supercell (stable).
    temperature : float
        K (of the run).
    positions : array_like (n_frames, N, 3)
        A, in time order (the error bar is a block average).
    energies : array_like (n_frames,)
        Potential energy U of every frame, eV per supercell.
    reference_energy : float
        E_ref, eV per supercell (the potential's energy of the reference positions).
    cell : array_like (3, 3), optional
        A (default: the force constants' supercell).

    Returns
    -------
    xarray.Dataset
        Per atom, eV: ``lower_bound``, ``lower_bound_err``, ``anharmonic_energy`` <U - U_h>_U (with ``_err``),
        ``harmonic_free_energy``, ``reference_energy``.
    """
    import xarray as xr
    from trajmodes.potentials.engines import HarmonicEngine
    T = check_sampling_temperature(temperature)
    n = force_constants.n_atoms
    e = np.asarray(energies, dtype=float).reshape(-1)
    x = np.asarray(positions, dtype=float)
    if x.shape != (len(e), n, 3):
        raise ValueError(f"positions of shape {x.shape} and {len(e)} energies: give (n_frames, {n}, 3) positions "
                         "and one energy per frame")
    ref = HarmonicEngine(force_constants, reference_energy)
    du = e - ref.evaluate(x, cell).energies
    mean, err, block = block_average(du, min_blocks)
    f_h = harmonic_supercell_free_energy(force_constants, T)
    data = dict(lower_bound=_scalar((f_h + float(reference_energy) + mean) / n, "eV",
                                    "Gibbs-Bogoliubov lower bound F_h + <U - U_h>_U per atom"),
                lower_bound_err=_scalar(err / n, "eV", "standard error of the lower bound per atom (block average)"),
                anharmonic_energy=_scalar(mean / n, "eV", "<U - U_h> over the frames per atom"),
                anharmonic_energy_err=_scalar(err / n, "eV", "its standard error"),
                harmonic_free_energy=_scalar(f_h / n, "eV", "classical F_h of the supercell's 3N - 3 modes per atom"),
                reference_energy=_scalar(float(reference_energy) / n, "eV", "E_ref per atom"))
    return xr.Dataset(data, attrs=dict(temperature=T, n_atoms=n, n_frames=len(e), block_length=int(block),
                                       convention=COM_CONVENTION, citations=CITATIONS))


# ------------------------------------------------------------------------------- thermodynamic integration
def gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre points and weights on [0, 1]."""
    x, w = np.polynomial.legendre.leggauss(int(n))
    return 0.5 * (x + 1.0), 0.5 * w


def thermodynamic_integration(engine, force_constants, temperature: float, n_lambda: int = 8, *,
                              equilibration_time: float = 2.0, sampling_time: float = 10.0, dt: float = 0.002,
                              damp: float = 0.1, every: int = 10, replicas: int = 1, seed: int = 20240101,
                              upper_samples: int = 400, lower: bool = True, reference_energy: float | None = None,
                              min_blocks: int = 32, progress=None):
    """The exact classical free energy by thermodynamic integration from the harmonic crystal of ``force_constants``
    to the engine's potential (module docstring), with both Gibbs-Bogoliubov bounds.

    Parameters
    ----------
    engine : ForceEngine
        U on the force constants' supercell (:class:`~trajmodes.potentials.lammps_engine.LammpsEngine` runs the MD in
        LAMMPS; any other engine in numpy, ``replicas`` copies at once).
    force_constants : ForceConstants
        Phi of the reference U_h (stable: no imaginary mode but the translations).
    temperature : float
        Temperature (K) of the canonical ensembles sampled along the integration and of the free energy.
    n_lambda : int
        Gauss-Legendre points on [0, 1].
    equilibration_time, sampling_time : float
        Per lambda point: unsampled, then sampled time (ps). Each point starts from a canonical configuration of the
        harmonic reference (positions and velocities).
    dt, damp : float
        Time step and Langevin damping time, ps.
    every : int
        Steps between samples of U - U_h.
    replicas : int
        Independent copies per point (numpy engines only).
    seed : int
        Seed of the random numbers (the starting configurations, the Langevin forces, the upper bound's samples):
        the same seed gives the same free energy.
    upper_samples : int
        Canonical configurations for the upper bound (0: leave it out).
    lower : bool
        Also run lambda = 1 (the real potential alone) for the lower bound (1/n_lambda more time).
    reference_energy : float, optional
        E_ref, eV per supercell (default: the engine's energy of the reference positions).
    min_blocks : int
        Fewest blocks of the block average.
    progress : callable, optional
        Called with one line of text before the run (the time estimate) and after every lambda point.

    Returns
    -------
    xarray.Dataset
        Per atom, eV: ``free_energy`` and ``free_energy_err``, ``upper_bound`` (with ``_err``), ``lower_bound``
        (with ``_err``; from lambda = 1), ``harmonic_free_energy`` F_h, ``reference_energy`` E_ref; over ``lambda``:
        ``integrand`` <U - U_h>_lambda with ``integrand_err``, ``weight``, ``kinetic_temperature`` (K) and
        ``block_length`` (samples); attributes: temperature, n_atoms, lambda points, steps, the convention
        (:data:`COM_CONVENTION`), ``occupation`` ("classical"), citations.
    """
    import xarray as xr
    T = check_sampling_temperature(temperature)
    if int(n_lambda) < 1:
        raise ValueError(f"n_lambda must be at least 1, not {n_lambda}")
    for name, val in (("dt", dt), ("damp", damp), ("sampling_time", sampling_time)):
        if not float(val) > 0:
            raise ValueError(f"{name} must be positive (ps), not {val!r}")
    n = force_constants.n_atoms
    ref, e_ref = _reference(engine, force_constants, reference_energy)
    f_h = harmonic_supercell_free_energy(force_constants, T)
    lams, weights = gauss_legendre(n_lambda)
    runs = list(lams) + ([1.0] if lower else [])
    n_eq = int(round(float(equilibration_time) / dt))
    n_samp = int(round(float(sampling_time) / dt)) // int(every) * int(every)
    if n_samp // int(every) < 2 * int(min_blocks):
        raise ValueError(f"{n_samp // int(every)} samples per lambda point are too few for a block average over at "
                         f"least {min_blocks} blocks: sample longer (sampling_time) or more often (every)")
    say = progress or (lambda line: None)
    say(f"thermodynamic integration: {len(runs)} runs of {n_eq} + {n_samp} steps ({n} atoms, {engine.name}), "
        f"reference matrix {8 * 9 * n * n / 1e6:.1f} MB")
    rng = np.random.default_rng(seed)
    starts = canonical_configurations(force_constants, T, len(runs) * int(replicas), seed=rng)
    x0 = starts["positions"].values.reshape(len(runs), int(replicas), n, 3)
    v0 = starts["velocities"].values.reshape(len(runs), int(replicas), n, 3)
    rows = []
    t_start = time.perf_counter()
    for i, lam in enumerate(runs):
        t0 = time.perf_counter()
        kw = dict(positions=x0[i, 0], velocities=v0[i, 0]) if int(replicas) == 1 else dict(positions=x0[i],
                                                                                             velocities=v0[i])
        s = engine.sample_langevin(T, n_samp, every=int(every), lam=float(lam), reference=ref, dt=float(dt),
                                   damp=float(damp), equilibration_steps=n_eq, seed=int(seed) + 7919 * (i + 1),
                                   replicas=int(replicas), **kw)
        du = (s.potential - s.reference).mean(axis=1)
        mean, err, block = block_average(du, min_blocks)
        rows.append((mean, err, block, float(np.mean(s.temperature))))
        took = time.perf_counter() - t0
        left = (len(runs) - i - 1) * (time.perf_counter() - t_start) / (i + 1)
        say(f"lambda {i + 1}/{len(runs)} = {lam:.4f}: <U - U_h> = {1e3 * mean / n:+.4f} +- {1e3 * err / n:.4f} "
            f"meV/atom, T_kin {rows[-1][3]:.1f} K ({took:.1f} s, about {left:.0f} s left)")
    res = np.array(rows[:len(lams)])
    integral = float(weights @ res[:, 0])
    integral_err = float(np.sqrt((weights ** 2) @ res[:, 1] ** 2))
    data = dict(
        free_energy=_scalar((e_ref + f_h + integral) / n, "eV", "exact classical free energy per atom "
                            "(thermodynamic integration)"),
        free_energy_err=_scalar(integral_err / n, "eV", "its standard error (block averages)"),
        harmonic_free_energy=_scalar(f_h / n, "eV", "classical F_h of the reference's 3N - 3 supercell modes per atom"),
        reference_energy=_scalar(e_ref / n, "eV", "E_ref, the engine's energy of the reference positions per atom"),
        anharmonic_free_energy=_scalar(integral / n, "eV", "F - E_ref - F_h per atom"),
        integrand=(("lambda",), res[:, 0] / n, {"units": "eV", "long_name": "<U - U_h>_lambda per atom"}),
        integrand_err=(("lambda",), res[:, 1] / n, {"units": "eV", "long_name": "standard error (block average)"}),
        weight=(("lambda",), weights, {"long_name": "Gauss-Legendre weight on [0, 1]"}),
        kinetic_temperature=(("lambda",), res[:, 3], {"units": "K"}),
        block_length=(("lambda",), res[:, 2].astype(int), {"long_name": "block length of the error bar, samples"}))
    if lower:
        m1, e1, b1, t1 = rows[-1]
        data.update(lower_bound=_scalar((e_ref + f_h + m1) / n, "eV", "Gibbs-Bogoliubov lower bound F_h + "
                                        "<U - U_h>_U per atom (lambda = 1: MD of the real potential)"),
                    lower_bound_err=_scalar(e1 / n, "eV", "its standard error (block average)"))
    if upper_samples:
        up = upper_bound(engine, force_constants, T, int(upper_samples), seed=rng, reference_energy=e_ref)
        data.update(upper_bound=up["upper_bound"], upper_bound_err=up["upper_bound_err"])
    return xr.Dataset(data, coords={"lambda": lams}, attrs=dict(
        temperature=T, n_atoms=n, lambda_points=list(map(float, lams)), n_lambda=int(n_lambda),
        equilibration_steps=n_eq, sampling_steps=n_samp, sample_every=int(every), timestep_ps=float(dt),
        damping_ps=float(damp), replicas=int(replicas), engine=engine.name, occupation="classical",
        convention=COM_CONVENTION, citations=CITATIONS, seconds=time.perf_counter() - t_start,
        note="classical free energies: no quantum correction is mixed in"))
