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
(:func:`trajmodes.phonons.thermodynamics.anharmonic_free_energy.cubic_free_energy`). The perturbative terms are kept by
order (:data:`ANHARMONIC_TERMS`): with fitted fourth-order constants Chi (``cutoff4``), U_4 = 1/24 Chi u u u u is taken
out of the baseline the same way and the first-order quartic free energy F_4ph = <U_4> in the harmonic crystal of Phi
(:func:`trajmodes.phonons.anharmonic.quartic.quartic_free_energy`) added, as TDEP's ``anharmonic_free_energy
--fourthorder`` does (its documentation's Delta F^4ph).

Occupations. The constants of a classical MD run are renormalised by classical amplitudes; quantum oscillators on
them (``occupation="quantum"``) mix two statistics. The harmonic free energy is therefore reported with both:
``quantum_correction`` = F_harm(quantum) - F_harm(classical) of the same constants, always, and the attributes say
which one the free energies use.

Given constants. :func:`free_energy_from_frames` computes the same terms for constants from any source (a file of
phonopy, TDEP, ..., or a fit of another run) and the frames of a run with their potential energies, as TDEP's
``anharmonic_free_energy`` does: every mean energy summed directly on the frames (1/2 u Phi u by FFT over the
supercell's translations, 1/6 Psi u u u and 1/24 Chi u u u u over the clusters of the constants). For short-range
polar constants (the dipole-dipole part taken out, TDEP's convention) the dipole-dipole energy U_dd = 1/2 u Phi_dd u
is part of the harmonic energy taken out of U_MD, U_0 = <U_MD - U_2 - U_dd> (TDEP's ``anharmonic_free_energy``), and a
polar fit sums it over its frames the same way.

In a variable-cell (NPT) run the displacements are measured in the reference cell (a uniformly strained crystal has
none), so the box's own fluctuations are not phonons of Phi, but their elastic energy is in <U_MD>: classically
k_B T / 2 for every independent strain that fluctuates (one for an isotropic barostat, three anisotropic, six
triclinic; :attr:`EffectiveForceConstants.cell_dofs_`). It is taken out of U_0, so that the free energy of an NPT run
is that of the crystal at its mean volume, as an NVT run there gives it.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import eigh

from trajmodes.forceconstants.averages import strain_dofs
from trajmodes.forceconstants.dipole import SupercellConvolution
from trajmodes.forceconstants.uncertainty import bootstrap_std
from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.strain import cell_strains
from trajmodes.lattice.structure import Structure
from trajmodes.lattice.qpoints import parse_mesh
from trajmodes.phonons.thermodynamics.anharmonic_free_energy import cubic_free_energy
from trajmodes.phonons.harmonic.phonons import Phonons
from trajmodes.phonons.anharmonic.quartic import quartic_free_energy
from trajmodes.phonons.harmonic.statistics import check_occupation
from trajmodes.phonons.harmonic.thermal import mesh_thermodynamics
from trajmodes.phonons.thermodynamics.uncertainty import harmonic_samples
from trajmodes.resources import one_blas_thread
from trajmodes.units import KB_EV

__all__ = ["tdep_free_energy", "free_energy_from_frames", "frame_energies", "ANHARMONIC_TERMS", "CUBIC_MESH",
           "CUBIC_RESAMPLES", "ENERGY_SEGMENTS"]

#: q mesh of the cubic free energy F_3ph: on the Cu EAM run at 300 K (256 atoms, fc3 to the first neighbours),
#: 8^3, 10^3, 12^3, 16^3 and 20^3 give -0.7298, -0.7327, -0.7339, -0.7348 and -0.7351 meV per atom (0.2, 0.6, 1.6,
#: 7.3 and 72 s, the last on a busier machine); on the Si SW run (fc3 to 4 A) 8^3, 10^3, 12^3 give -0.06968,
#: -0.06975, -0.06978 meV per atom (0.7, 2.7, 7.8 s). 10^3 is within 0.003 meV per atom of 20^3 for Cu.
CUBIC_MESH = (10, 10, 10)
#: bootstrap resamples whose F_3ph is computed for its error bar, each on a mesh half as fine (:func:`_error_mesh`):
#: a resample's F_3ph converges with the mesh as F_3ph does (Cu: 6^3 is 2 % from 16^3), so its spread does too, at a
#: hundredth of the cost. On the Cu and Si runs at 300 K the error of F_3ph is a tenth of that of <U_3>.
CUBIC_RESAMPLES = 16
#: contiguous time segments whose means give the standard errors of :func:`free_energy_from_frames`'s mean energies
ENERGY_SEGMENTS = 20


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


def _harmonic(fc, T: float, mesh, classical: bool) -> tuple[float, float, float]:
    th = mesh_thermodynamics(Phonons(fc).dm, [T], mesh, occupation="classical" if classical else "quantum")
    return float(th.free_energy[0]), float(th.entropy[0]), float(th.heat_capacity[0])


def _free_energy_values(harmonic_fc, fc, orders, e: dict, box: float, T: float, mesh, cubic_mesh, occupation: str,
                        expression: str) -> tuple[dict, dict, dict, dict]:
    """The variables every TDEP free energy reports (eV per primitive cell) from the harmonic constants, the constants
    with their higher orders ``fc`` (``orders`` those present), the mean energies per primitive cell ``e``
    (``potential``, ``harmonic``, ``baseline``, ``dipole`` for polar constants, ``cubic``, ``quartic``) and the box's
    elastic energy: (values, long names, units, the perturbative terms by order)."""
    classical = occupation == "classical"
    f_harm, s_harm, c_harm = _harmonic(harmonic_fc, T, mesh, classical)
    f_other = _harmonic(harmonic_fc, T, mesh, not classical)[0]
    f_quantum, f_classical = (f_other, f_harm) if classical else (f_harm, f_other)
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
    if "dipole" in e:
        values["dipole_energy"] = e["dipole"]
        names["dipole_energy"] = "mean dipole-dipole energy U_dd = 1/2 u Phi_dd u (part of harmonic_energy)"
        names["harmonic_energy"] = "mean harmonic energy 1/2 u Phi u = U_2 + U_dd (short-range and dipole-dipole)"
        names["baseline_energy"] = "U_0 = <U_MD - U_2 - U_dd> - E_cell"
    units = dict(harmonic_entropy="eV/K", harmonic_heat_capacity="eV/K")
    terms = {o: ANHARMONIC_TERMS[o] for o in sorted(orders) if o in ANHARMONIC_TERMS}
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
    return values, names, units, terms


def _free_energy_attrs(T: float, occupation: str, mesh, cubic_mesh, expression: str, n_cells: float, cell_dofs: int,
                       terms: dict) -> dict:
    """The attributes every TDEP free energy carries."""
    attrs = dict(temperature=T, occupation=occupation, mesh=list(map(int, mesh)), per="primitive cell",
                 cubic_expression=expression,
                 n_cells=float(n_cells), cell_dofs=int(cell_dofs),
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
                     cubic_mesh=np.asarray(cubic_mesh).tolist())
    else:
        attrs["anharmonic_correction"] = ("not computed: no third-order constants (fit with cutoff3=, or read "
                                          "an fc3 with the constants); free_energy = U_0 + F_harm lacks the "
                                          "lowest-order anharmonic term")
    if occupation != "classical":
        attrs["statistics"] = ("quantum oscillators on effective constants renormalised by classical MD: "
                               "quantum_correction is the part of F_harm that the quantum statistics adds; compare "
                               "with classical MD (and thermodynamic integration on it) with occupation='classical'")
    else:
        attrs["statistics"] = "classical oscillators: the statistics of the classical MD run the constants come from"
    return attrs


def _need_energies(have: bool) -> None:
    if not have:
        raise ValueError("the free energy needs the MD potential energy of every frame, and the run has none "
                         "(or not for every frame): read it with the trajectory (a LAMMPS log: "
                         "trajmodes.read(dump, thermo='log.lammps'); a per-atom c_pe column of the dump; extended "
                         "XYZ energy=; trajmodes.from_arrays(..., potential_energy=))")


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
        q mesh of the harmonic free energy (one int n is n x n x n; :func:`trajmodes.lattice.qpoints.parse_mesh`).
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
    _need_energies(np.isfinite(fit.energies_["potential"]))
    classical = occupation == "classical"
    mesh = parse_mesh(mesh, matrix=False)
    cubic_mesh = parse_mesh(CUBIC_MESH if cubic_mesh is None else cubic_mesh, matrix=False, name="cubic_mesh")
    n_cells = fit.supercell_.n_atoms / fit.primitive_.n_atoms
    T = float(temperature)
    e = {k: v / n_cells for k, v in fit.energies_.items()}
    box = getattr(fit, "cell_dofs_", 0) * KB_EV * T / 2 / n_cells       # the box's elastic energy (variable cells)
    orders = [o for o in sorted(fit.bases_) if o in ANHARMONIC_TERMS]
    values, names, units, terms = _free_energy_values(fit.harmonic_force_constants_,
                                                      fit.force_constants_ if orders else None, orders, e, box, T,
                                                      mesh, cubic_mesh, occupation, expression)
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
        if "dipole" in es:
            samples["dipole_energy"] = es["dipole"]
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
    attrs = _free_energy_attrs(T, occupation, mesh, cubic_mesh, expression, n_cells, getattr(fit, "cell_dofs_", 0),
                               terms)
    if terms and errors:
        attrs["cubic_resamples"] = int(min(int(cubic_resamples), len(fit.params_samples_[2])))
        attrs["cubic_error_mesh"] = _error_mesh(cubic_mesh).tolist()
    return xr.Dataset(data, attrs=attrs)


def _err_attrs(name: str, units: dict, resamples: int | None = None) -> dict:
    how = "block bootstrap" if resamples is None else \
        f"block bootstrap; its F_nph part from {resamples} resamples on the cubic_error_mesh"
    return {"units": units.get(name, "eV"), "long_name": f"standard error of {name} ({how})"}


#: bytes of the partners' displacements gathered at once for the cubic and quartic energies of frames (bounded memory)
_CUBIC_BYTES = 64 * 2 ** 20


def frame_energies(force_constants, u: np.ndarray, convolutions: dict | None = None) -> dict:
    """The energies of the displacements ``u`` (T, N, 3) in Å (atoms in the order of the constants' supercell) under
    every order of ``force_constants``, per frame in eV (T,).

    Returns
    -------
    dict
        ``harmonic`` 1/2 u Phi u of ``fc2`` (by FFT over the supercell's translations,
        :class:`~trajmodes.forceconstants.dipole.SupercellConvolution`); for short-range polar constants also
        ``dipole`` 1/2 u Phi_dd u of their dipole-dipole part (:meth:`ForceConstants.dipole_constants`); with fc3
        ``cubic`` 1/6 Psi u u u; with fc4 ``quartic`` 1/24 Chi u u u u (each from the clusters of the constants,
        every atom taken as the first of its cluster's translations).
    convolutions : dict, optional
        The convolutions of ``fc2`` and Phi_dd from :func:`_convolutions` (built here when not given).
    """
    fc = force_constants
    u = np.asarray(u, dtype=float).reshape(-1, fc.n_atoms, 3)
    conv = _convolutions(fc) if convolutions is None else convolutions
    out = {name: -0.5 * np.einsum("tia,tia->t", u, c.forces(u)) for name, c in conv.items()}
    for name, clusters in (("cubic", fc.fc3_sparse), ("quartic", fc.fc4)):
        if clusters is not None:
            out[name] = _cluster_energy(fc, clusters, u)
    return out


def _convolutions(fc) -> dict:
    """The FFT convolutions of the constants' fc2 and, for short-range polar constants, of Phi_dd."""
    conv = {"harmonic": SupercellConvolution(fc.compact(), fc.smap, fc.p2s)}
    if fc.short_range:
        conv["dipole"] = SupercellConvolution(fc.dipole_constants(), fc.smap, fc.p2s)
    return conv


def _cluster_energy(fc, clusters, u: np.ndarray) -> np.ndarray:
    """1/k! sum Phi u ... u per frame (eV) of the order-k constants ``clusters``
    (:class:`~trajmodes.forceconstants.cluster_constants.ClusterConstants`, never a dense array) for displacements
    ``u`` (T, N, 3) in Å, a few frames at a time: each frame gathers the displacements of every cluster's partners on
    every atom of its class ((k - 1) x clusters x atoms x 3 numbers of the primitive atom with the most), so that
    :data:`_CUBIC_BYTES` bound the frames taken at once."""
    rows = np.bincount(clusters.sites[:, 0], minlength=fc.n_prim)
    per_frame = 24 * (clusters.order - 1) * max(int((rows * np.bincount(fc.smap.atom, minlength=fc.n_prim)).max()), 1)
    step = max(1, int(_CUBIC_BYTES // per_frame))
    return np.concatenate([clusters.energy(u[s:s + step], fc.p2s, fc.smap) for s in range(0, len(u), step)]
                          or [np.zeros(0)])


def _place_frames(fc, ref: Structure, tol: float = 0.5):
    """Where every atom of a run sits among the constants' supercell: (index (N,) of each run atom's site, M (3, 3)
    taking a run displacement (row vector) to the constants' Cartesian frame, the sites (N, 3) in the run's frame,
    the strain between the two cells); a ValueError that says what differs when the run is not on that supercell."""
    sc = fc.supercell
    if ref.cell is None:
        raise ValueError("the run has no periodic cell and neither has its reference: the free energy of a crystal "
                         "needs one (give reference= a structure with the cell)")
    if len(ref.positions) != sc.n_atoms:
        raise ValueError(f"the run has {len(ref.positions)} atoms and the constants' supercell {sc.n_atoms}: the "
                         "constants must be on the run's own supercell (fit them on it, or read them with "
                         "supercell= that supercell)")
    cell = np.asarray(ref.cell, float)
    T = cell @ np.linalg.inv(sc.cell)
    Tr = np.rint(T)
    same_frame = np.abs(T - Tr).max() < 0.05 and round(abs(np.linalg.det(Tr))) == 1
    if same_frame:
        cell_fc = Tr @ sc.cell                                  # the run's cell vectors in the constants' lattice
    else:                                                       # another Cartesian frame: the same cell vectors
        g_run, g_fc = cell @ cell.T, sc.cell @ sc.cell.T
        if np.abs(g_run - g_fc).max() > 0.1 * np.abs(g_fc).max():
            raise ValueError(f"the run's cell {np.round(cell, 4).tolist()} is not the constants' supercell "
                             f"{np.round(sc.cell, 4).tolist()} (nor a rotation or another basis of it): the constants "
                             "must be on the run's own supercell")
        cell_fc = sc.cell
    strain = float(np.abs(np.linalg.inv(cell_fc) @ cell - np.eye(3)).max()) if same_frame else float(
        np.abs(eigh(g_run, g_fc, eigvals_only=True) - 1).max() / 2)     # g_run v = s g_fc v: the metric's stretch
    frac = (ref.positions - ref.origin) @ np.linalg.inv(cell)
    run = Crystal(cell_fc, frac @ cell_fc, ref.species, ref.masses)
    if sorted(map(str, run.species)) != sorted(map(str, sc.species)):
        raise ValueError("the run's atoms are not the constants' (other species): the constants must be of the run's "
                         "crystal")
    try:
        pmap = run.supercell_map(fc.primitive, tol=tol)
        lattice = pmap.lattice + np.rint((pmap.shift - fc.smap.shift) @ np.linalg.inv(fc.primitive.cell)).astype(int)
        index = fc.smap.index(pmap.atom, lattice)
    except (ValueError, KeyError) as exc:
        raise ValueError(f"the run's reference crystal cannot be placed on the constants' supercell ({exc}): the "
                         "constants must be of the run's crystal, on its supercell, with every atom within "
                         f"{tol} A of its site") from None
    if len(np.unique(index)) != len(index) or not np.array_equal(np.asarray(sc.species)[index],
                                                                 np.asarray(run.species)):
        raise ValueError("the run's atoms do not sit one to one on the constants' sites of their species")
    d = run.positions - sc.positions[index]
    d -= np.rint(d @ np.linalg.inv(cell_fc)) @ cell_fc                      # minimum image
    if np.abs(d - d.mean(axis=0)).max() > tol * np.sqrt(3):
        raise ValueError("the run's atoms do not sit on the constants' sites")
    sites = (sc.positions[index] + d.mean(axis=0)) @ np.linalg.inv(cell_fc) @ cell + ref.origin
    M = np.linalg.inv(cell) @ cell_fc
    return index, M, sites, strain


def _frame_chunk(u, energy, cells, fc, index, M, conv, ref_cell):
    """Per frame of one chunk: U_MD, the energies of :func:`frame_energies` and the cell's Voigt strain (T, 5 + 6)."""
    T = len(u)
    v = np.empty_like(u)
    v[:, index] = u @ M
    e = frame_energies(fc, v, conv)
    cols = [np.asarray(energy, float).reshape(T)] + [e.get(k, np.zeros(T)) for k in ("harmonic", "dipole", "cubic",
                                                                                     "quartic")]
    strain = cell_strains(cells.reshape(T, 3, 3), ref_cell) if cells is not None else np.full((T, 6), np.nan)
    return np.column_stack(cols + [strain])


def _segment_std(x: np.ndarray, segments: int) -> float:
    """Standard error of the mean of ``x`` (over frames) from the means of ``segments`` contiguous segments."""
    n = len(x)
    B = min(int(segments), n)
    if B < 2:
        return float("nan")
    means = np.array([seg.mean() for seg in np.array_split(x, B)])
    return float(means.std(ddof=1) / np.sqrt(B))


def free_energy_from_frames(force_constants, trajectory, temperature: float, mesh=(20, 20, 20),
                            occupation: str = "quantum", errors: bool = True, cubic_mesh=CUBIC_MESH,
                            expression: str = "wallace", segments: int = ENERGY_SEGMENTS):
    """TDEP free energy of a run from given force constants and the run's frames with their potential energies, per
    primitive cell: what :func:`tdep_free_energy` gives from a fit, for constants from any source (TDEP's
    ``anharmonic_free_energy``).

    U_0 = <U_MD - 1/2 u Phi u> over the frames, with 1/2 u Phi u of the constants' fc2 and, for short-range polar
    constants (``short_range=True``: TDEP's files, a polar fit), their dipole-dipole energy U_dd = 1/2 u Phi_dd u;
    F_0 = U_0 + F_harm(Phi); with fc3 (and fc4) the lowest-order correction -<U_3> + F_3ph (and -<U_4> + F_4ph)
    (module docstring). On the constants of a fit of the same frames it gives that fit's numbers to round-off.

    Parameters
    ----------
    force_constants : ForceConstants
        On the run's supercell (same atoms; in any order, and in any origin: every atom of the run's reference is
        placed on the constants' site of its species within 0.5 Å). The cells may differ by a small strain (the
        displacements are measured in fractional coordinates of the run's reference cell, as a fit measures them).
    trajectory : Trajectory
        The frames, with the potential energy of every frame (:attr:`Trajectory.potential_energy`: a LAMMPS log, a
        ``c_pe`` column, extended XYZ ``energy=``, ``from_arrays(..., potential_energy=)``); displacements are
        measured from the constants' sites.
    temperature : float
        K, as in :func:`tdep_free_energy`.
    mesh, occupation, cubic_mesh, expression
        As in :func:`tdep_free_energy`.
    errors : bool
        Standard errors of the mean energies (and of the free energies through them) from the means of ``segments``
        contiguous time segments; the constants are taken as exact (no error of F_harm or F_3ph).
    segments : int
        Time segments of the errors (:data:`ENERGY_SEGMENTS`).

    Returns
    -------
    xarray.Dataset
        The variables of :func:`tdep_free_energy` (eV per primitive cell): ``free_energy``,
        ``harmonic_free_energy``, ``baseline_energy``, ``potential_energy``, ``harmonic_energy``, ``cell_energy``,
        ``quantum_correction``, ``harmonic_entropy``, ``harmonic_heat_capacity``; for short-range polar constants
        ``dipole_energy`` <U_dd> (part of ``harmonic_energy``); with fc3 ``cubic_energy``, ``cubic_free_energy``,
        ``cubic_correction``, ``anharmonic_correction``, ``free_energy_corrected`` (and the ``quartic_*`` with fc4);
        ``*_err`` with ``errors``. Attributes as :func:`tdep_free_energy`'s, with ``n_frames`` and ``strain`` (the
        largest strain between the run's reference cell and the constants' supercell).
    """
    import uuid

    import dask
    import dask.array as da
    import xarray as xr
    check_occupation(occupation)
    _need_energies("potential_energy" in tuple(getattr(trajectory, "frame_fields", ())))
    mesh = parse_mesh(mesh, matrix=False)
    cubic_mesh = parse_mesh(CUBIC_MESH if cubic_mesh is None else cubic_mesh, matrix=False, name="cubic_mesh")
    T = float(temperature)
    fc = force_constants
    ref = trajectory.reference
    index, M, sites, strain = _place_frames(fc, ref)
    if strain > 1e-3:
        import warnings
        warnings.warn(f"the run's reference cell differs from the constants' supercell by a strain of {strain:.2e}: "
                      "the displacements are measured in fractional coordinates of the run's cell, but the constants "
                      "belong to another volume", UserWarning, stacklevel=2)
    reference = Structure(sites, ref.cell, ref.species, ref.masses, ref.origin)
    with_cell = bool(getattr(trajectory.source, "has_cell", False))
    layer = ("positions", "potential_energy")
    u = trajectory.displacements(layer=layer, reference=reference, drift="removed")
    energy = trajectory.field("potential_energy", layer)
    cells = trajectory.field("cells", layer) if with_cell else None
    conv = _convolutions(fc)
    ref_cell = np.asarray(ref.cell, float)

    def chunk(u_c, e_c, cells_c=None):
        return _frame_chunk(u_c, e_c[:, 0, 0], cells_c, fc, index, M, conv, ref_cell)
    arrays = [u, energy[:, None, None]] + ([cells] if cells is not None else [])
    # named here: the constants are not hashed into the tasks' names
    per = da.map_blocks(chunk, *arrays, dtype=float, chunks=(u.chunks[0], (11,)), drop_axis=2,
                        name=f"free-energy-frames-{uuid.uuid4().hex}")
    with one_blas_thread():
        per = np.asarray(dask.compute(per)[0])
    n_frames = len(per)
    n_cells = fc.n_atoms / fc.n_prim
    cols = dict(potential=per[:, 0], harmonic=per[:, 1] + per[:, 2], dipole=per[:, 2], cubic=per[:, 3],
                quartic=per[:, 4])
    keep = ["potential", "harmonic"] + (["dipole"] if fc.short_range else []) + \
        (["cubic"] if fc.fc3_sparse is not None else []) + (["quartic"] if fc.fc4 is not None else [])
    per_cell = {k: cols[k] / n_cells for k in keep}
    per_cell["baseline"] = per_cell["potential"] - per_cell["harmonic"]
    e = {k: float(v.mean()) for k, v in per_cell.items()}
    dofs = 0
    strains = per[:, 5:]
    if with_cell and np.isfinite(strains).all() and n_frames > 1:
        dofs = strain_dofs(np.cov(strains.T))
    box = dofs * KB_EV * T / 2 / n_cells
    orders = [o for o in (3, 4) if getattr(fc, f"fc{o}") is not None]
    values, names, units, terms = _free_energy_values(fc, fc if orders else None, orders, e, box, T, mesh, cubic_mesh,
                                                      occupation, expression)
    data = {k: ((), v, {"units": units.get(k, "eV"), "long_name": names[k] + " per primitive cell"})
            for k, v in values.items()}
    if errors:
        how = {"units": "eV", "long_name": f"standard error of the mean over {min(int(segments), n_frames)} time "
                                           "segments (the constants taken as exact)"}
        series = dict(baseline_energy=per_cell["baseline"], free_energy=per_cell["baseline"],
                      potential_energy=per_cell["potential"], harmonic_energy=per_cell["harmonic"])
        if "dipole" in per_cell:
            series["dipole_energy"] = per_cell["dipole"]
        anh = np.zeros(n_frames)
        for order, (word, key, _) in terms.items():
            series[f"{word}_energy"] = series[f"{word}_correction"] = per_cell[key]
            anh = anh + per_cell[key]
        if terms:
            series["anharmonic_correction"] = anh
            series["free_energy_corrected"] = per_cell["baseline"] - anh
        for name, x in series.items():
            data[name + "_err"] = ((), _segment_std(x, segments), dict(how))
    attrs = _free_energy_attrs(T, occupation, mesh, cubic_mesh, expression, n_cells, dofs, terms)
    attrs.update(n_frames=int(n_frames), strain=float(strain),
                 constants="given (free_energy_from_frames): every mean energy summed on the frames")
    return xr.Dataset(data, attrs=attrs)
