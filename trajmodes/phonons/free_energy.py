"""The free energy of an MD run from its effective force constants (TDEP), with its lowest-order anharmonic correction.

O. Hellman, P. Steneteg, I. A. Abrikosov and S. I. Simak, Phys. Rev. B 87, 104111 (2013), eqs. 8-9: with the
effective harmonic constants Phi fitted to the run,

    F_0 = U_0 + F_harm(Phi),      U_0 = < U_MD - 1/2 u Phi u >,

the mean over the frames of the MD potential energy less the harmonic energy of the same displacements, plus the
free energy of the harmonic crystal with Phi. For a harmonic crystal U_0 is the static energy and F_0 the harmonic
free energy exactly. For classical MD, F_0 (with classical oscillators) is a lower bound of the free energy: the
Gibbs-Bogoliubov inequality F_h <= F + <U_h - U> with the averages in the MD ensemble gives F >= F_h + <U - U_h>
= U_0 + F_harm, equal only for a harmonic crystal. The gap is of second order in the anharmonicity.

Its lowest-order part is TDEP's third-order correction (the program ``anharmonic_free_energy``; D. C. Wallace,
Thermodynamics of Crystals (Wiley, 1972); R. A. Cowley, Adv. Phys. 12, 421 (1963)): with the fitted cubic constants
Psi and U_3 = 1/6 Psi u u u,

    F_3 = < U_MD - 1/2 u Phi u - U_3 > + F_harm(Phi) + F_3ph = F_0 - <U_3> + F_3ph,

where <U_3> is the mean cubic energy of the frames (:attr:`EffectiveForceConstants.energies_` ``cubic``, from the
fit's own pass) and F_3ph the second-order free energy of Psi in the harmonic crystal of Phi
(:func:`trajmodes.phonons.anharmonic_free_energy.cubic_free_energy`). The perturbative terms are kept by order
(:data:`ANHARMONIC_TERMS`): with fitted fourth-order constants Chi (``cutoff4``), U_4 = 1/24 Chi u u u u is taken out of
the baseline the same way and the first-order quartic free energy F_4ph = <U_4> in the harmonic crystal of Phi
(:func:`trajmodes.phonons.quartic.quartic_free_energy`) added, as TDEP's ``anharmonic_free_energy --fourthorder``
does (its documentation's Delta F^4ph).

Occupations. The constants of a classical MD run are renormalised by classical amplitudes; quantum oscillators on
them (``occupation="quantum"``) mix two statistics. The harmonic free energy is therefore reported with both:
``quantum_correction`` = F_harm(quantum) - F_harm(classical) of the same constants, always, and the attributes say
which one the free energies use.

In a variable-cell (NPT) run the displacements are measured in the reference cell (a uniformly strained crystal has
none), so the box's own fluctuations are not phonons of Phi, but their elastic energy is in <U_MD>: classically
k_B T / 2 for every independent strain that fluctuates (one for an isotropic barostat, three anisotropic, six
triclinic; :attr:`EffectiveForceConstants.cell_dofs_`). It is taken out of U_0, so that the free energy of an NPT run
is that of the crystal at its mean volume, as an NVT run there gives it.
"""
from __future__ import annotations

import numpy as np

from trajmodes.forceconstants.uncertainty import bootstrap_std
from trajmodes.lattice.grid import parse_mesh
from trajmodes.phonons.anharmonic_free_energy import cubic_free_energy
from trajmodes.phonons.harmonic import Phonons
from trajmodes.phonons.quartic import quartic_free_energy
from trajmodes.phonons.statistics import check_occupation
from trajmodes.phonons.thermal import mesh_thermodynamics
from trajmodes.phonons.uncertainty import harmonic_samples
from trajmodes.units import KB_EV

__all__ = ["tdep_free_energy", "ANHARMONIC_TERMS", "CUBIC_MESH", "CUBIC_RESAMPLES"]

#: q mesh of the cubic free energy F_3ph: on the Cu EAM run at 300 K (256 atoms, fc3 to the first neighbours),
#: 8^3, 10^3, 12^3, 16^3 and 20^3 give -0.7298, -0.7327, -0.7339, -0.7348 and -0.7351 meV per atom (0.2, 0.6, 1.6,
#: 7.3 and 72 s, the last on a busier machine); on the Si SW run (fc3 to 4 A) 8^3, 10^3, 12^3 give -0.06968,
#: -0.06975, -0.06978 meV per atom (0.7, 2.7, 7.8 s). 10^3 is within 0.003 meV per atom of 20^3 for Cu.
CUBIC_MESH = (10, 10, 10)
#: bootstrap resamples whose F_3ph is computed for its error bar, each on a mesh half as fine (:func:`_error_mesh`):
#: a resample's F_3ph converges with the mesh as F_3ph does (Cu: 6^3 is 2 % from 16^3), so its spread does too, at a
#: hundredth of the cost. On the Cu and Si runs at 300 K the error of F_3ph is a tenth of that of <U_3>.
CUBIC_RESAMPLES = 16


def _error_mesh(mesh) -> np.ndarray:
    """The mesh of the resamples' F_3ph: half as many divisions as ``mesh`` (n or (n1, n2, n3)), rounded up, at least 4
    (or ``mesh``)."""
    m = parse_mesh(mesh, matrix=False, name="cubic_mesh")
    return np.minimum(m, np.maximum(4, -(-m // 2)))


def _cubic(fc, T: float, mesh, occupation: str, expression: str = "wallace") -> float:
    """F_3ph of ``fc`` at one temperature, eV per primitive cell (``expression``: :func:`cubic_free_energy`'s)."""
    return float(cubic_free_energy(fc, [T], mesh, occupation, expression=expression)[0])


def _quartic(fc, T: float, mesh, occupation: str, expression: str = "wallace") -> float:
    """F_4ph of ``fc`` at one temperature, eV per primitive cell (``expression`` concerns the cubic term only)."""
    return float(quartic_free_energy(fc, [T], mesh, occupation).values[0]) * fc.n_prim


#: the perturbative terms beyond the effective harmonic crystal, by order of the force constants: the name of the
#: variables, the key of the mean energy <U_n> in the fit's ``energies_``, and the free energy F_nph(fc, T, mesh,
#: occupation, expression="wallace") -> eV per primitive cell.
ANHARMONIC_TERMS = {3: ("cubic", "cubic", _cubic), 4: ("quartic", "quartic", _quartic)}


def _harmonic(fit, T: float, mesh, classical: bool) -> tuple[float, float, float]:
    th = mesh_thermodynamics(Phonons(fit.harmonic_force_constants_), [T], mesh,
                             occupation="classical" if classical else "quantum")
    return float(th.free_energy[0]), float(th.entropy[0]), float(th.heat_capacity[0])


def _std_with_fewer(full: np.ndarray, few: np.ndarray, n_units: int) -> float:
    """Bootstrap standard error of ``full + few``, where ``full`` has every resample and ``few`` only the first
    len(few): var(full) from all, var(few) and the covariance from the shared resamples. Where the two nearly cancel
    (a mean energy and the free energy of the same order) and that estimate is not positive, the variance of the sum
    over the shared resamples alone."""
    k = len(few)
    if k < 2:
        return float("nan")
    var = np.var(full, ddof=1) + np.var(few, ddof=1) + 2 * np.cov(full[:k], few, ddof=1)[0, 1]
    if var <= 0:
        var = np.var(full[:k] + few, ddof=1)
    return float(np.sqrt(max(var, 0.0) * n_units / (n_units - 1)))


def tdep_free_energy(fit, temperature: float, mesh=(20, 20, 20), occupation: str = "quantum",
                     errors: bool = True, cubic_mesh=CUBIC_MESH, cubic_resamples: int = CUBIC_RESAMPLES,
                     expression: str = "wallace"):
    """TDEP free energy of one fitted run, per primitive cell, with its third-order correction when the fit has fc3.

    Parameters
    ----------
    fit : EffectiveForceConstants
        Fitted to a run whose every frame has its potential energy (``fit.energies_["potential"]`` finite).
    temperature : float
        K (the run's temperature).
    mesh : int or (3,) int
        q mesh of the harmonic free energy (one int n is n x n x n; :func:`trajmodes.lattice.grid.parse_mesh`).
    occupation : {"quantum", "classical"}
        Oscillators of F_harm and F_3ph. A classical MD run is compared like for like with ``"classical"``;
        ``quantum_correction`` says how much the quantum oscillators add (module docstring).
    errors : bool
        Bootstrap error bars (the fit's resamples: :meth:`~trajmodes.EffectiveForceConstants.bootstrap` is called
        unless it has been).
    cubic_mesh : int or (3,) int, optional
        q mesh of the cubic free energy F_3ph (None: :data:`CUBIC_MESH`). Neither mesh takes a supercell matrix (the
        resamples' F_3ph are on a coarser regular mesh): a ValueError.
    cubic_resamples : int
        How many of the bootstrap resamples get their own F_3ph for its error bar, on a mesh half as fine as
        ``cubic_mesh`` (:data:`CUBIC_RESAMPLES`; the other errors use every resample).

    Returns
    -------
    xarray.Dataset
        Scalars, eV per primitive cell: ``free_energy`` F_0 = U_0 + F_harm (a lower bound of the classical free
        energy, module docstring), ``harmonic_free_energy`` F_harm(Phi), ``baseline_energy`` U_0,
        ``potential_energy`` <U_MD>, ``harmonic_energy`` <1/2 u Phi u>, ``cell_energy`` (the box's elastic energy
        taken out of U_0; module docstring), ``quantum_correction`` F_harm(quantum) - F_harm(classical); in eV/K per
        primitive cell ``harmonic_entropy`` and ``harmonic_heat_capacity`` (Cv) of the effective phonons at fixed
        Phi (the entropy and heat capacity of the run itself are derivatives of F along a series,
        :class:`trajmodes.series.Series`). With fc3 also ``cubic_energy`` <U_3>, ``cubic_free_energy`` F_3ph,
        ``cubic_correction`` -<U_3> + F_3ph (the term of each order), ``anharmonic_correction`` (their sum) and
        ``free_energy_corrected`` F_0 - <U_3> + F_3ph (TDEP's F_3); without, the attribute
        ``anharmonic_correction`` says why they are absent. With ``*_err`` standard errors when ``errors``.
    """
    import xarray as xr
    check_occupation(occupation)
    if not np.isfinite(fit.energies_["potential"]):
        raise ValueError("the free energy needs the MD potential energy of every frame, and the fitted run has none "
                         "(or not for every frame): read it with the trajectory (a LAMMPS log: "
                         "trajmodes.read(dump, thermo='log.lammps'); a per-atom c_pe column of the dump; extended "
                         "XYZ energy=)")
    classical = occupation == "classical"
    mesh = parse_mesh(mesh, matrix=False)
    cubic_mesh = parse_mesh(CUBIC_MESH if cubic_mesh is None else cubic_mesh, matrix=False, name="cubic_mesh")
    n_cells = fit.supercell_.n_atoms / fit.primitive_.n_atoms
    T = float(temperature)

    f_harm, s_harm, c_harm = _harmonic(fit, T, mesh, classical)
    f_other = _harmonic(fit, T, mesh, not classical)[0]
    f_quantum, f_classical = (f_other, f_harm) if classical else (f_harm, f_other)
    e = {k: v / n_cells for k, v in fit.energies_.items()}
    box = getattr(fit, "cell_dofs_", 0) * KB_EV * T / 2 / n_cells       # the box's elastic energy (variable cells)
    u_0 = e["baseline"] - box
    values = dict(free_energy=u_0 + f_harm, harmonic_free_energy=f_harm, baseline_energy=u_0,
                  potential_energy=e["potential"], harmonic_energy=e["harmonic"], harmonic_entropy=s_harm,
                  harmonic_heat_capacity=c_harm, cell_energy=box, quantum_correction=f_quantum - f_classical)
    names = dict(free_energy="TDEP free energy U_0 + F_harm; with classical oscillators a lower bound of the classical "
                 "free energy (Gibbs-Bogoliubov with the MD ensemble); leaves out the lowest-order anharmonic term "
                 "(free_energy_corrected)", harmonic_free_energy="harmonic free energy of the "
                 "effective constants", baseline_energy="U_0 = <U_MD - 1/2 u Phi u> - E_cell",
                 cell_energy="E_cell = k_B T / 2 per fluctuating strain of the box (zero in a fixed cell)",
                 potential_energy="mean MD potential energy", harmonic_energy="mean harmonic energy 1/2 u Phi u",
                 harmonic_entropy="entropy of the effective phonons", harmonic_heat_capacity="heat capacity (Cv) "
                 "of the effective phonons", quantum_correction="F_harm(quantum) - F_harm(classical) of the same "
                 "constants")
    units = dict(harmonic_entropy="eV/K", harmonic_heat_capacity="eV/K")
    terms = {o: ANHARMONIC_TERMS[o] for o in sorted(fit.bases_) if o in ANHARMONIC_TERMS}
    fc = fit.force_constants_ if terms else None
    for order, (word, key, free_energy) in terms.items():
        values[f"{word}_energy"] = e[key]
        values[f"{word}_free_energy"] = free_energy(fc, T, cubic_mesh, occupation, expression=expression)
        values[f"{word}_correction"] = values[f"{word}_free_energy"] - e[key]
        names[f"{word}_energy"] = f"mean order-{order} energy of the frames, <1/{'6' if order == 3 else '24'} " \
                                  f"fc{order} u^{order}>"
        names[f"{word}_free_energy"] = f"free energy of the order-{order} constants in the harmonic crystal of Phi"
        names[f"{word}_correction"] = f"-<U_{order}> + F_{order}ph"
    if terms:
        words = [w for w, _, _ in terms.values()]
        values["anharmonic_correction"] = sum(values[f"{w}_correction"] for w in words)
        values["free_energy_corrected"] = values["free_energy"] + values["anharmonic_correction"]
        names["anharmonic_correction"] = "lowest-order anharmonic correction " + " + ".join(
            f"(-<U_{o}> + F_{o}ph)" for o in terms)
        names["free_energy_corrected"] = "TDEP free energy with the lowest-order anharmonic correction, U_0 + F_harm" \
                                         + "".join(f" - <U_{o}> + F_{o}ph" for o in terms)
    data = {k: ((), v, {"units": units.get(k, "eV"), "long_name": names[k] + " per primitive cell"})
            for k, v in values.items()}
    if errors:
        if not hasattr(fit, "params_samples_"):
            fit.bootstrap()
        B = fit.segments_.n_blocks
        h = harmonic_samples(fit, T, mesh, occupation)
        fh, sh, ch = h.free_energy, h.entropy, h.heat_capacity
        fo = harmonic_samples(fit, T, mesh, "quantum" if classical else "classical").free_energy
        es = {k: v / n_cells for k, v in fit.energies_samples_.items()}
        u0 = es["baseline"] - box
        samples = dict(free_energy=u0 + fh, harmonic_free_energy=fh, baseline_energy=u0,
                       potential_energy=es["potential"], harmonic_energy=es["harmonic"], harmonic_entropy=sh,
                       harmonic_heat_capacity=ch, quantum_correction=(fo - fh) if classical else (fh - fo))
        for name, v in samples.items():
            data[name + "_err"] = ((), float(bootstrap_std(v, B)), _err_attrs(name, units))
        if terms:
            # F_nph of the first resamples only (each costs a three-phonon sum); the energies on every resample
            k = max(0, min(int(cubic_resamples), len(fh)))
            coarse = _error_mesh(cubic_mesh)
            f_n = {word: np.empty(k) for word, _, _ in terms.values()}
            for r, f in zip(range(k), fit.resampled_force_constants()):         # one resample's constants at a time
                for word, _, free_energy in terms.values():
                    f_n[word][r] = free_energy(f, T, coarse, occupation, expression=expression)
            u_sum, f_sum = np.zeros(len(fh)), np.zeros(k)
            for word, key, _ in terms.values():
                u_sum, f_sum = u_sum + es[key], f_sum + f_n[word]
                data[f"{word}_energy_err"] = ((), float(bootstrap_std(es[key], B)), _err_attrs(f"{word}_energy", units))
                data[f"{word}_free_energy_err"] = ((), float(bootstrap_std(f_n[word], B)),
                                                   _err_attrs(f"{word}_free_energy", units, k))
                data[f"{word}_correction_err"] = ((), _std_with_fewer(-es[key], f_n[word], B),
                                                  _err_attrs(f"{word}_correction", units, k))
            data["anharmonic_correction_err"] = ((), _std_with_fewer(-u_sum, f_sum, B),
                                                 _err_attrs("anharmonic_correction", units, k))
            data["free_energy_corrected_err"] = ((), _std_with_fewer(u0 + fh - u_sum, f_sum, B),
                                                 _err_attrs("free_energy_corrected", units, k))
    attrs = dict(temperature=T, occupation=occupation, mesh=list(map(int, mesh)), per="primitive cell",
                 cubic_expression=expression,
                 n_cells=float(n_cells), cell_dofs=int(getattr(fit, "cell_dofs_", 0)),
                 method="O. Hellman et al., Phys. Rev. B 87, 104111 (2013), eqs. 8-9",
                 free_energy="U_0 + F_harm: for classical MD and classical oscillators a lower bound of the free "
                             "energy (Gibbs-Bogoliubov with the MD ensemble); it leaves out the lowest-order "
                             "anharmonic term")
    if terms:
        attrs.update(anharmonic_correction="-<U_3> + F_3ph, the third-order free energy of TDEP's "
                     "anharmonic_free_energy (D. C. Wallace, Thermodynamics of Crystals (1972); R. A. Cowley, Adv. "
                     "Phys. 12, 421 (1963)); F_3ph without the q = 0 loop (zero when no atom has a free internal "
                     "coordinate)" + ("; with fc4 also -<U_4> + F_4ph, F_4ph the first-order quartic free energy "
                                      "1/8 Chi <uu><uu>" if 4 in terms else ""),
                     cubic_mesh=cubic_mesh.tolist())
        if errors:
            attrs["cubic_resamples"] = int(min(int(cubic_resamples), len(fit.params_samples_[2])))
            attrs["cubic_error_mesh"] = _error_mesh(cubic_mesh).tolist()
    else:
        attrs["anharmonic_correction"] = ("not computed: the fit has no third-order constants (fit with cutoff3=); "
                                          "free_energy = U_0 + F_harm lacks the lowest-order anharmonic term")
    if not classical:
        attrs["statistics"] = ("quantum oscillators on effective constants renormalised by classical MD: "
                               "quantum_correction is the part of F_harm that the quantum statistics adds; compare "
                               "with classical MD (and thermodynamic integration on it) with occupation='classical'")
    else:
        attrs["statistics"] = "classical oscillators: the statistics of the classical MD run the constants come from"
    return xr.Dataset(data, attrs=attrs)


def _err_attrs(name: str, units: dict, resamples: int | None = None) -> dict:
    how = "block bootstrap" if resamples is None else \
        f"block bootstrap; its F_nph part from {resamples} resamples on the cubic_error_mesh"
    return {"units": units.get(name, "eV"), "long_name": f"standard error of {name} ({how})"}
