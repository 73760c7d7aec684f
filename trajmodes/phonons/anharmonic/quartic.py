"""First-order quartic anharmonicity: the loop shift of every phonon and the quartic free energy.

The fourth-order term of the crystal's energy, V4 = 1/24 sum Chi_ijlm u_i u_j u_l u_m (Chi in eV/Å⁴, the constants
of :class:`~trajmodes.forceconstants.cluster_constants.ClusterConstants` of order 4), averaged over the harmonic crystal
at temperature T:

- **Renormalised second order.** <d2 V4 / du_i du_j> = 1/2 sum_lm Chi_ijlm C_lm, with C_lm = <u_l u_m> the
  displacement covariance of the harmonic crystal (Wick's theorem). Adding it to Phi gives the first-order
  renormalised harmonic constants; their frequencies move by the first-order quartic ("loop") self-energy,
  Delta_lambda = <e_lambda| Delta D(q) |e_lambda> / (2 omega_lambda) to first order (A. A. Maradudin and A. E. Fein,
  Phys. Rev. 128, 2589 (1962), eq. 3.22; T. Feng and X. Ruan, Phys. Rev. B 93, 045202 (2016), for the same sum in
  normal-mode form). The real-space form used here is the first step of a self-consistent phonon calculation
  (I. Errea, M. Calandra and F. Mauri, Phys. Rev. B 89, 064302 (2014)).
- **Free energy.** F_4 = <V4> = 1/8 sum Chi_ijlm C_ij C_lm, the first-order term of the perturbation series (D. C.
  Wallace, *Thermodynamics of Crystals*, Wiley (1972), sec. 19; quantum with the quantum covariance, classical with
  k_B T / omega^2).

The covariance is computed on a q-mesh: C_ab(d) = 1/N_q sum_q Re[G_ab(q) exp(-2 pi i q.d)] / sqrt(m_a m_b), with
G(q) = sum_s e_s(q) e_s(q)^dagger <|Q_s(q)|^2>, <|Q|^2> = E_s / omega_s^2 (E_s the mean energy of the mode: k_B T, or
h nu (n + 1/2)) and d the vector between the two atoms in primitive-lattice coordinates (the eigenvectors of
:class:`~trajmodes.phonons.harmonic.phonons.Phonons` carry the atoms' positions in their phases). The three translations
at Gamma carry no covariance (Chi obeys the acoustic sum rule, so they do not enter). On the q-points commensurate with
the supercell the covariance is exactly that of the periodic supercell; a finer mesh gives the bulk crystal's.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from trajmodes.lattice.geometry import shortest_vectors
from trajmodes.lattice.qpoints import parse_mesh
from trajmodes.lattice.qpoints import commensurate_qpoints, mesh_qpoints
from trajmodes.phonons.harmonic.statistics import check_occupation, mode_energy
from trajmodes.resources import require_memory
from trajmodes.units import KB_EV, THZ

__all__ = ["displacement_covariance", "quartic_renormalisation", "loop_shift", "loop_shift_by_mode",
           "quartic_free_energy", "quartic_constants"]

#: modes at or below this frequency (THz) carry no covariance: the translations at Gamma
ACOUSTIC_CUTOFF = 1e-3


def quartic_constants(force_constants):
    """The fourth order of ``force_constants`` (its ``fc4``), or a ValueError that says where to get one."""
    q = getattr(force_constants, "fc4", None)
    if q is None:
        raise ValueError("these force constants have no fourth-order part (fc4): fit them with cutoff4= "
                         "(EffectiveForceConstants) or read TDEP's infile.forceconstant_fourthorder beside them")
    return q


def _qpoints(force_constants, mesh):
    """The q-points and their weight: a Gamma-centred mesh (int, 3 ints), explicit reduced q-points (n, 3), or None for
    the q-points commensurate with the supercell."""
    if mesh is None:
        q = commensurate_qpoints(force_constants.smap.matrix)
    else:
        arr = np.asarray(mesh)
        if arr.ndim == 2 and arr.shape[1] == 3 and not np.issubdtype(arr.dtype, np.integer):
            q = arr.astype(float)
        else:
            q = mesh_qpoints(parse_mesh(mesh))
    return q


def _pair_vectors(force_constants, first, second) -> np.ndarray:
    """Vector from supercell atom ``first`` to ``second`` (shortest image), in primitive-lattice coordinates."""
    sc = force_constants.supercell
    X = sc.ideal_positions(force_constants.primitive, force_constants.smap)
    r = shortest_vectors(X[second] - X[first], sc.cell)
    return r @ np.linalg.inv(force_constants.primitive.cell)


def displacement_covariance(force_constants, temperature: float, first, second, mesh=None,
                            occupation: str = "quantum", phonons=None) -> np.ndarray:
    """<u_first u_second> of the harmonic crystal at ``temperature``, (n_pairs, 3, 3) in Å².

    Parameters
    ----------
    force_constants : ForceConstants
        Its second order makes the harmonic crystal.
    temperature : float
        Temperature of the harmonic crystal's occupations, K.
    first, second : array_like of int (n_pairs,)
        Supercell atoms; each pair is taken at its shortest image (the constants' clusters lie within half the
        supercell).
    mesh : int, 3 ints or (n, 3) reduced q-points, optional
        The q-points of the sum (module docstring); default the q-points commensurate with the supercell (the periodic
        supercell's own covariance).
    occupation : {"quantum", "classical"}
    phonons : Phonons, optional
        Of ``force_constants`` (built if not given).
    """
    from trajmodes.phonons.harmonic.phonons import Phonons
    occupation = check_occupation(occupation)
    first = np.asarray(first, dtype=np.int64).reshape(-1)
    second = np.asarray(second, dtype=np.int64).reshape(-1)
    q = _qpoints(force_constants, mesh)
    n3 = 3 * force_constants.n_prim
    require_memory(16 * len(q) * n3 * n3 * 3, f"the eigenvectors of the {len(q)} q-points of the covariance sum",
                   "use a smaller mesh")
    ph = phonons if phonons is not None else Phonons(force_constants)
    nu, e = ph.frequencies_and_eigenvectors(q)
    ok = nu > ACOUSTIC_CUTOFF
    from trajmodes.phonons.harmonic.stability import UnstableConstantsError, count_imaginary
    found = count_imaginary(q, nu, np.linalg.inv(force_constants.primitive.cell).T, ACOUSTIC_CUTOFF,
                            ACOUSTIC_CUTOFF) if np.any(nu < -ACOUSTIC_CUTOFF) else None
    if found is not None and found.unstable:                   # acoustic round-off at Gamma is not unstable
        raise UnstableConstantsError(f"the harmonic crystal is unstable: {found.summary()}; it has no thermal "
                                     "covariance, so no quartic renormalisation or loop shift. Fit effective "
                                     "constants at the temperature (trajmodes fit --cutoff3 --cutoff4 on the MD run)")
    lam = np.where(ok, (nu / THZ) ** 2, 1.0)                                        # eV/(A^2 amu)
    energy = np.asarray(mode_energy(np.where(ok, nu, 1.0), float(temperature), occupation)).reshape(nu.shape)
    amp = np.where(ok, energy / lam, 0.0)                                           # <|Q|^2>, amu A^2
    G = np.einsum("qis,qs,qjs->qij", e, amp, e.conj()).reshape(len(q), -1, 3, force_constants.n_prim, 3)
    atom = force_constants.smap.atom
    a, b = atom[first], atom[second]
    d = _pair_vectors(force_constants, first, second)                               # (n_pairs, 3)
    phase = np.exp(-2j * np.pi * q @ d.T)                                           # (nq, n_pairs)
    Gab = G[:, a, :, b, :]                                      # (n_pairs, nq, 3, 3): the pair axis first
    C = np.einsum("qp,pqxy->pxy", phase, Gab).real / len(q)
    m = force_constants.primitive.masses
    return C / np.sqrt(m[a] * m[b])[:, None, None]


def quartic_renormalisation(force_constants, temperature: float, mesh=None, occupation: str = "quantum",
                            phonons=None) -> np.ndarray:
    """Delta Phi = 1/2 sum_lm Chi_ijlm <u_l u_m>, the first-order quartic change of the second order at
    ``temperature`` (K): compact layout (n_prim, N, 3, 3), eV/Å² (``mesh``, ``occupation`` as
    :func:`displacement_covariance`)."""
    q4 = quartic_constants(force_constants)
    pairs, inv = np.unique(q4.sites[:, 2:], axis=0, return_inverse=True)
    C = displacement_covariance(force_constants, temperature, pairs[:, 0], pairs[:, 1], mesh, occupation, phonons)
    return _half_chi(force_constants, q4, inv, C)


def _half_chi(force_constants, q4, inv, C) -> np.ndarray:
    """1/2 Chi : C in compact layout, (..., n_prim, N, 3, 3) eV/Å², from covariances C (..., n_pairs, 3, 3) Å² of the
    unique pairs of atoms 3 and 4 of the quartets (``inv`` maps each quartet to its pair)."""
    contrib = 0.5 * np.einsum("eabcd,...ecd->...eab", q4.blocks, C[..., inv.reshape(-1), :, :])
    out = np.zeros(C.shape[:-3] + (force_constants.n_prim, force_constants.n_atoms, 3, 3))
    np.add.at(out, (Ellipsis, q4.sites[:, 0], q4.sites[:, 1], slice(None), slice(None)), contrib)
    return out


def loop_shift(force_constants, qpoints, temperatures, mesh=20, occupation: str = "quantum",
               degeneracy_tol: float = 1e-4) -> xr.Dataset:
    """The first-order quartic (loop) frequency shift of every phonon at ``qpoints``.

    Parameters
    ----------
    force_constants : ForceConstants
        With ``fc4``.
    qpoints : array_like (nq, 3)
        The q-points, reduced coordinates of the primitive reciprocal lattice (no 2 pi).
    temperatures : float or array_like, K
    mesh : int, 3 ints, (n, 3) q-points or None
        The q-points of the covariance sum (:func:`displacement_covariance`; None: those of the supercell).
    occupation : {"quantum", "classical"}
    degeneracy_tol : float
        THz: degenerate branches share the mean of their shifts.

    Returns
    -------
    xarray.Dataset
        ``frequency`` (q, branch) THz; ``quartic_shift`` (temperature, q, branch) THz, Delta(nu^2) / (2 nu) with
        Delta(nu^2) = <e| Delta D |e> (first order in Chi); ``renormalised`` (temperature, q, branch) THz, the
        frequencies of Phi + Delta Phi (the first-order renormalised harmonic crystal; negative where imaginary);
        coordinate ``qpoint`` (q, reduced).
    """
    from trajmodes.phonons.harmonic.degeneracy import degenerate_average
    from trajmodes.phonons.harmonic.dynamical import frequencies_from_eigenvalues
    from trajmodes.phonons.harmonic.phonons import Phonons
    quartic_constants(force_constants)
    occupation = check_occupation(occupation)
    q = np.atleast_2d(np.asarray(qpoints, dtype=float))
    temps = np.atleast_1d(np.asarray(temperatures, dtype=float))
    ph = Phonons(force_constants)
    nu, e = ph.frequencies_and_eigenvectors(q)
    D = ph.dynamical_matrix(q)
    shift = np.empty((len(temps), len(q), nu.shape[1]))
    renorm = np.empty_like(shift)
    for t, T in enumerate(temps):
        dphi = quartic_renormalisation(force_constants, T, mesh, occupation, ph)
        dD = ph.dm.of_constants(dphi[None], q)[:, 0]                                   # eV/(A^2 amu)
        d2 = np.einsum("qis,qij,qjs->qs", e.conj(), dD, e).real * THZ ** 2              # Delta(nu^2), THz^2
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(np.abs(nu) > ACOUSTIC_CUTOFF, d2 / (2 * nu), 0.0)
        shift[t] = degenerate_average(s, nu, degeneracy_tol)
        renorm[t] = frequencies_from_eigenvalues(np.linalg.eigvalsh(D + dD))
    attrs = dict(occupation=occupation, covariance_mesh="supercell" if mesh is None else str(np.asarray(mesh).tolist()
                                                                                             if np.ndim(mesh) < 2
                                                                                             else f"{len(mesh)} q"),
                 method="first-order quartic self-energy (Maradudin and Fein, Phys. Rev. 128, 2589 (1962))")
    return xr.Dataset(
        dict(frequency=(("q", "branch"), nu, {"units": "THz", "long_name": "harmonic frequency"}),
             quartic_shift=(("temperature", "q", "branch"), shift,
                            {"units": "THz", "long_name": "first-order quartic (loop) shift"}),
             renormalised=(("temperature", "q", "branch"), renorm,
                           {"units": "THz", "long_name": "frequency of Phi + 1/2 Chi:<uu>"})),
        coords=dict(temperature=("temperature", temps, {"units": "K"}),
                    qpoint=(("q", "reduced"), q, {"units": "1", "long_name": "reduced q-point"})),
        attrs=attrs)


def loop_shift_by_mode(force_constants, qpoints, temperature: float, mode_qpoints=None,
                       phonons=None) -> np.ndarray:
    """The classical first-order quartic shift of every phonon at ``qpoints`` caused by each mode of the supercell
    alone, at equipartition.

    Each vibrating mode (q', s') of the supercell, carrying k_B T, adds its share ``k_B T / omega'^2 |e'><e'|`` to
    the displacement covariance; its part of Delta Phi = 1/2 Chi : C moves nu_{q s} by ``<e|Delta D|e> / (2 nu)`` (first
    order; Maradudin and Fein, Phys. Rev. 128, 2589 (1962), eq. 3.22, resolved by mode as in T. Feng and X. Ruan,
    Phys. Rev. B 93, 045202 (2016)). These are the responses d nu_{q s} / d E_{q' s'} times k_B T of the frequencies
    to the energy each mode holds: summed over every mode of the supercell they give :func:`loop_shift` with the
    supercell's covariance (``mesh=None``, classical) before its degenerate average.

    Parameters
    ----------
    force_constants : ForceConstants
        With ``fc4``; its second order makes the modes.
    qpoints : array_like (nq, 3)
        Reduced; where the shifts are wanted.
    temperature : float
        Temperature at which each mode holds its energy (k_B T classically), K.
    mode_qpoints : array_like (nk, 3), optional
        Reduced q-points of the modes that carry the energy; default those commensurate with the supercell.
    phonons : Phonons, optional
        Of ``force_constants``.

    Returns
    -------
    ndarray (nk, nb, nq, nb), THz
        Zero for the translations at Gamma among the modes, and for the phonons at ``qpoints`` below
        ``ACOUSTIC_CUTOFF``.
    """
    from trajmodes.phonons.harmonic.phonons import Phonons
    q4 = quartic_constants(force_constants)
    ph = phonons if phonons is not None else Phonons(force_constants)
    qk = commensurate_qpoints(force_constants.smap.matrix) if mode_qpoints is None else \
        np.atleast_2d(np.asarray(mode_qpoints, dtype=float))
    q = np.atleast_2d(np.asarray(qpoints, dtype=float))
    n, nb = force_constants.n_prim, ph.n_branches
    pairs, inv = np.unique(q4.sites[:, 2:], axis=0, return_inverse=True)
    require_memory(8 * len(qk) * nb * (len(pairs) + len(q4.sites) + n * force_constants.n_atoms) * 9
                   + 16 * len(q) * len(qk) * nb * nb * nb, f"the loop shifts of {len(q)} q-points by each of the "
                   f"{len(qk) * nb} modes", "ask for fewer q-points")
    nu_k, e_k = ph.frequencies_and_eigenvectors(qk)
    if np.any(nu_k < -ACOUSTIC_CUTOFF):
        raise ValueError(f"the harmonic crystal has imaginary modes (lowest {nu_k.min():.4g} THz): they carry no "
                         "thermal covariance")
    ok = nu_k > ACOUSTIC_CUTOFF
    amp = np.where(ok, KB_EV * float(temperature) / np.where(ok, nu_k / THZ, 1.0) ** 2, 0.0)      # amu A^2
    atom = force_constants.smap.atom
    a, b = atom[pairs[:, 0]], atom[pairs[:, 1]]
    phase = np.exp(-2j * np.pi * qk @ _pair_vectors(force_constants, pairs[:, 0], pairs[:, 1]).T)   # (nk, n_pairs)
    E = e_k.reshape(len(qk), n, 3, nb)
    m = force_constants.primitive.masses
    C = np.einsum("kp,kpxs,kpys,ks->kspxy", phase, E[:, a], E[:, b].conj(), amp).real / len(qk)
    C = (C / np.sqrt(m[a] * m[b])[:, None, None]).reshape(len(qk) * nb, len(pairs), 3, 3)        # A^2
    dphi = _half_chi(force_constants, q4, inv, C)
    nu, e = ph.frequencies_and_eigenvectors(q)
    dD = ph.dm.of_constants(dphi, q)                                                # (nq, nk nb, 3n, 3n)
    d2 = np.einsum("qis,qkij,qjs->kqs", e.conj(), dD, e, optimize=True).real * THZ ** 2     # Delta(nu^2), THz^2
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(np.abs(nu) > ACOUSTIC_CUTOFF, d2 / (2 * nu), 0.0)
    return shift.reshape(len(qk), nb, len(q), nb)


def quartic_free_energy(force_constants, temperatures, mesh=20, occupation: str = "quantum") -> xr.DataArray:
    """F_4 = <V4> = 1/8 sum Chi_ijlm <u_i u_j> <u_l u_m>, the first-order quartic free energy, eV per atom.

    ``mesh`` and ``occupation`` as :func:`displacement_covariance`; ``temperatures`` in K (a float or an array).
    """
    q4 = quartic_constants(force_constants)
    from trajmodes.phonons.harmonic.phonons import Phonons
    ph = Phonons(force_constants)
    temps = np.atleast_1d(np.asarray(temperatures, dtype=float))
    p2s = force_constants.p2s
    pairs, inv = np.unique(np.concatenate([np.stack([p2s[q4.sites[:, 0]], q4.sites[:, 1]], axis=1), q4.sites[:, 2:]]),
                           axis=0, return_inverse=True)
    inv = inv.reshape(2, -1)
    out = np.empty(len(temps))
    for t, T in enumerate(temps):
        C = displacement_covariance(force_constants, T, pairs[:, 0], pairs[:, 1], mesh, occupation, ph)
        out[t] = np.einsum("eabcd,eab,ecd->", q4.blocks, C[inv[0]], C[inv[1]]) / 8.0 / force_constants.n_prim
    return xr.DataArray(out, dims=("temperature",), coords=dict(temperature=("temperature", temps, {"units": "K"})),
                        name="quartic_free_energy",
                        attrs=dict(units="eV/atom", occupation=check_occupation(occupation),
                                   long_name="first-order quartic free energy <V4>"))
