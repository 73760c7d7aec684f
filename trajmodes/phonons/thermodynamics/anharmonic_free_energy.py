"""The lowest-order anharmonic free energy of the cubic constants: the second-order (bubble) term of Psi.

With H = H_2(Phi) + H_3, H_3 = (1/3!) sum Psi u u u = sum_{lambda lambda' lambda''} Phi(lambda, lambda', lambda'')
A A' A'' in the normal coordinates of Phi (the strengths of
:class:`trajmodes.phonons.anharmonic.interaction.Interaction`, Togo, Chaput and Tanaka, Phys. Rev. B 91, 094306 (2015),
Eq. (11)), the free energy to second order in H_3 is

    F_3ph = -6 sum_{lambda lambda' lambda''} |Phi(lambda, lambda', lambda'')|^2 B(lambda, lambda', lambda''),

    B = [(n + 1)(n' + n'' + 1) + n' n''] / (E + E' + E'')
        + sum over the three choices of the mode taken away, e.g. for lambda'':
          [n''(n + n' + 1) - n n'] / (E + E' - E''),

E = h nu the mode energies and n the Bose-Einstein occupations (A. A. Maradudin, E. W. Montroll, G. H. Weiss and
I. P. Ipatova; R. A. Cowley, Adv. Phys. 12, 421 (1963); D. C. Wallace, Thermodynamics of Crystals (Wiley, 1972),
the three-phonon term of its anharmonic free energy; the expression in the documentation of TDEP's
``anharmonic_free_energy``, which cites G. Leibfried and W. Ludwig, Solid State Phys. 12, 275 (1961), Cowley (1963)
and Wallace). It is the imaginary-time integral -1/2 int_0^beta <H_3(tau) H_3(0)> d tau with the three phonon
lines of the bubble: the first term creates or destroys three phonons, the others turn two into one. The numerator
of a difference term vanishes with its denominator (n n' = n''(1 + n + n') when E'' = E + E'), so B has no poles
and needs no broadening; it is evaluated as (n + 1)(n' + 1) n'' (1 - e^{-x}) / (x k_B T), x = (E + E' - E'') / k_B T,
where x is small.

Classical oscillators (``occupation="classical"``): the classical limit of the same expression,
B = 4 (k_B T)^2 / (E E' E''), for which F_3ph = -(beta / 2) <U_3^2> in the classical harmonic ensemble of Phi
exactly (the second cumulant of U_3: the bubble is every pairing of two U_3 with one another). Plugging n = k_B T / E
into the quantum B instead, as TDEP's program does for its classical option, keeps terms of lower order in k_B T / E
that are not classical. TDEP's program also evaluates the difference term with the numerator n n' + n n'' - n' n'' + 1
in place of the one above (which is its documentation's, and Wallace's); that numerator does not vanish at T = 0,
where only the first term may remain. The expression here is checked in both limits: against the ground-state energy
of second-order perturbation theory at T = 0, and against the classical cumulant -(beta / 2) <U_3^2>_h.

TDEP's program, setting for setting (``expression="tdep"``). Its active code (``anharmonic_free_energy``, F. Knoop et
al., J. Open Source Softw. 9, 6150 (2024)) differs from the expression above in three ways, all kept here to reproduce
its numbers; the default stays Wallace's, the expression its documentation states and the one checked in both limits:

1. the difference terms have the numerator n_a n_b + 1 over E_a + E_b - E_c (its n n' + n n'' - n' n'' + 1 over
   E + E' - E'', three times, summed over every ordering of the three modes: symmetrised over the two added modes
   it is n_a n_b + 1), which does not vanish with the denominator, so
2. every denominator is broadened, 1/x -> Re 1/(x + i sigma) = x / (x^2 + sigma^2), with sigma = (s_1^2 + s_2^2 +
   s_3^2)^1/2 from the per-band widths s_b of its phonon dispersions: the largest gap between the band's sorted
   energies over the irreducible q of the mesh, raised to a fifth of the largest such gap of all bands;
3. its classical option puts n = k_B T / E into this quantum expression, and it takes the temperature as given, any
   sign (its regression test runs at the placeholder -314.16 K of its infile.meta; its quantum n is 0 below 1e-3 K).

   Since the widths belong to band indices, not to modes, two degenerate modes of one q get different sigma, and the
   sum depends on the eigenvectors the eigensolver returns inside degenerate subspaces (as TDEP's does): on TDEP's
   MgO test, fixing that basis three ways (:func:`trajmodes.phonons.harmonic.degeneracy.cartesian_basis`) moves F_3ph by
   +-3e-4 of itself (-7.9252e-4 to -7.9308e-4 eV/atom).

With ``q_direction`` the phonons at Gamma of the mesh are those of the LO-TO limit along it (TDEP's dispersions use
(1, 0, 0)); without, the analytic part only.

Left out: the term of two U_3 each closed on itself (a loop on a phonon at q = 0, the tadpole). It is the energy of
the static relaxation of the atoms' mean positions under the thermal force <-dU_3/du>, and it vanishes when no
atom has a free internal coordinate (every site of a point group that leaves no vector invariant: fcc, bcc,
diamond, rock salt, fluorite, perovskite).

All q-sums are over the triplets q + q' + q'' = G of a Gamma-centred mesh (:class:`trajmodes.lattice.grid.Grid`),
the irreducible q with their stars and the triplets at each reduced by its little group; modes at or below the
cutoff frequency (the acoustic modes at Gamma, imaginary ones) take no part.
"""
from __future__ import annotations

import warnings

import numpy as np

from trajmodes.lattice.grid import Grid
from trajmodes.lattice.qpoints import parse_mesh
from trajmodes.lattice.symmetry import site_images
from trajmodes.phonons.anharmonic.interaction import Interaction
from trajmodes.phonons.anharmonic.spectral import tdep_band_widths
from trajmodes.phonons.harmonic.statistics import check_occupation, occupations
from trajmodes.units import KB_EV, THZ_EV
from trajmodes.lattice.spglib_calls import SYMPREC

__all__ = ["cubic_free_energy", "classical_bracket", "quantum_bracket", "tdep_bracket",
           "free_internal_coordinates", "EXPRESSIONS"]

#: the expressions of F_3ph: Wallace's (the default) and the one TDEP's program evaluates (module docstring)
EXPRESSIONS = ("wallace", "tdep")
#: TDEP's temperature below which its Bose-Einstein occupations are zero, K
TDEP_TEMPERATURE_TOL = 1e-3

#: |x| below which a difference term is evaluated through expm1 (where its numerator and denominator vanish together)
_SMALL = 1.0


def quantum_bracket(e1, e2, e3, n1, n2, n3, kT) -> np.ndarray:
    """B of the module docstring with Bose-Einstein occupations, 1/eV.

    Parameters
    ----------
    e1, e2, e3 : array_like
        Mode energies h nu, eV (> 0), broadcast together.
    n1, n2, n3 : array_like
        Their occupations.
    kT : float
        k_B T, eV (0: the ground state, where only the first term is left).
    """
    out = ((n1 + 1) * (n2 + n3 + 1) + n2 * n3) / (e1 + e2 + e3)
    if kT <= 0:
        return out
    for (ea, na), (eb, nb), (ec, nc) in (((e1, n1), (e2, n2), (e3, n3)), ((e1, n1), (e3, n3), (e2, n2)),
                                         ((e2, n2), (e3, n3), (e1, n1))):
        d = ea + eb - ec
        x = d / kT
        small = np.abs(x) < _SMALL
        xs = np.where(small, x, 1.0)
        near = np.where(xs == 0, 1.0, -np.expm1(-xs) / np.where(xs == 0, 1.0, xs))       # (1 - e^-x) / x
        with np.errstate(divide="ignore", invalid="ignore"):
            far = (nc * (na + nb + 1) - na * nb) / np.where(small, 1.0, d)
        out = out + np.where(small, (na + 1) * (nb + 1) * nc * near / kT, far)
    return out


def tdep_bracket(e1, e2, e3, n1, n2, n3, sigma) -> np.ndarray:
    """B as TDEP's program evaluates it (module docstring, points 1 and 2), 1/eV: energies and ``sigma`` in eV,
    broadcast together; the three difference terms with the numerator n_a n_b + 1, every denominator x taken as
    x / (x^2 + sigma^2)."""
    def re(x):
        return x / (x * x + sigma * sigma)
    out = ((n1 + 1) * (n2 + n3 + 1) + n2 * n3) * re(e1 + e2 + e3)
    for (ea, na), (eb, nb), ec in (((e1, n1), (e2, n2), e3), ((e1, n1), (e3, n3), e2), ((e2, n2), (e3, n3), e1)):
        out = out + (na * nb + 1) * re(ea + eb - ec)
    return out




class _LimitAtGamma:
    """Phonons whose frequencies and eigenvectors at q = 0 are those of the LO-TO limit along a direction."""

    def __init__(self, phonons, direction):
        self._phonons, self._direction = phonons, np.asarray(direction, dtype=float)

    def __getattr__(self, name):
        return getattr(self._phonons, name)

    def frequencies_and_eigenvectors(self, qpoints, q_direction=None):
        return self._phonons.frequencies_and_eigenvectors(
            qpoints, self._direction if q_direction is None else q_direction)


def classical_bracket(e1, e2, e3, kT) -> np.ndarray:
    """B of the module docstring for classical oscillators, 4 (k_B T)^2 / (E E' E''), 1/eV (energies in eV)."""
    return 4.0 * kT ** 2 / (e1 * e2 * e3)


def free_internal_coordinates(crystal, symprec: float = SYMPREC) -> np.ndarray:
    """Primitive atoms whose site symmetry leaves a displacement invariant (a free internal coordinate, where the
    q = 0 loop that :func:`cubic_free_energy` leaves out need not vanish): indices into ``crystal``'s atoms."""
    ds = crystal.symmetry(symprec)
    W = np.asarray(ds.rotations, dtype=float)
    kp, _, _ = site_images(crystal, ds.rotations, ds.translations)
    stays = (kp == np.arange(crystal.n_atoms)[None, :]).astype(float)              # (n_ops, n): ops fixing site k
    mean = np.einsum("ok,oab->kab", stays, W) / stays.sum(axis=0)[:, None, None]   # projector on invariant vectors
    return np.flatnonzero(np.abs(mean).max(axis=(1, 2)) > 1e-8)


def cubic_free_energy(force_constants, temperatures, mesh, occupation: str = "quantum", phonons=None,
                      symprec: float = SYMPREC, cutoff_frequency: float = 1e-4, chunk: int = 512,
                      expression: str = "wallace", q_direction=None):
    """Second-order free energy of the cubic constants (the bubble), per primitive cell.

    Parameters
    ----------
    force_constants : ForceConstants
        With ``fc3`` (eV/Å³); its ``fc2`` gives the phonons unless ``phonons`` is given.
    temperatures : float or array_like
        K (>= 0).
    mesh : int, (3,) int or (3, 3) int
        Gamma-centred q mesh (n: n x n x n), or a supercell matrix: the q-points commensurate with it.
    occupation : {"quantum", "classical"}
        Bose-Einstein oscillators, or the classical limit (the one that matches classical molecular dynamics).
    phonons : Phonons, optional
        Harmonic phonons of the second-order constants to use (default ``Phonons(force_constants)``).
    symprec : float
        Tolerance (Å) of the point group that reduces the mesh.
    cutoff_frequency : float
        THz; modes at or below it (and imaginary ones) take no part.
    chunk : int
        Triplets per block of the interaction strengths.
    expression : {"wallace", "tdep"}
        Wallace's expression (default), or the one TDEP's program evaluates, with its broadening, its classical
        occupations and any temperature (module docstring).
    q_direction : array_like (3,), optional
        Polar crystals: the phonons at Gamma in the LO-TO limit along this Cartesian direction (TDEP: (1, 0, 0)).

    Returns
    -------
    xarray.DataArray
        F_3ph over ``temperature`` (K), eV per primitive cell (attrs ``units``, ``occupation``, ``mesh``,
        ``n_imaginary``: modes of the mesh below zero frequency, left out).
    """
    import xarray as xr
    check_occupation(occupation)
    if getattr(force_constants, "fc3_sparse", None) is None:
        raise ValueError("the cubic free energy needs third-order constants (fc3): fit them with cutoff3= "
                         "(EffectiveForceConstants) or read phono3py's fc3.hdf5 "
                         "(ForceConstants.read(folder, 'phono3py'))")
    if expression not in EXPRESSIONS:
        raise ValueError(f"expression must be one of {EXPRESSIONS}, not {expression!r}")
    tdep = expression == "tdep"
    T = np.atleast_1d(np.asarray(temperatures, dtype=float))
    if T.ndim != 1 or not np.isfinite(T).all() or (not tdep and (T < 0).any()):
        raise ValueError(f"temperatures must be finite and >= 0 K, not {np.asarray(temperatures).tolist()}")
    m = parse_mesh(mesh)
    free = free_internal_coordinates(force_constants.primitive, symprec)
    if len(free):
        warnings.warn(f"atoms {free.tolist()} of the primitive cell have a free internal coordinate: the q = 0 loop "
                      "of the cubic free energy (the relaxation of their mean positions), left out here, need not "
                      "vanish", UserWarning, stacklevel=2)
    grid = Grid(m, force_constants.primitive.symmetry(symprec).rotations)
    if q_direction is not None:
        from trajmodes.phonons.harmonic.phonons import Phonons
        phonons = _LimitAtGamma(Phonons(force_constants) if phonons is None else phonons, q_direction)
    it = Interaction(force_constants, grid, phonons, cutoff_frequency, chunk)
    nu = it.frequencies                                                             # (N, nb) THz
    ok = nu > it.cutoff_frequency
    energy = np.where(ok, nu, 1.0) * THZ_EV                                         # eV, placeholders where off
    kT = KB_EV * T
    if tdep:
        warm = T >= TDEP_TEMPERATURE_TOL
        n = np.zeros((len(T),) + nu.shape)
        if occupation == "classical":
            n = kT[:, None, None] / energy[None]
        elif warm.any():
            n[warm] = occupations(np.where(ok, nu, 1.0), T[warm], "quantum")
        width = tdep_band_widths(nu[grid.irreducible] * THZ_EV)                    # eV per band
        sigma = np.sqrt(width[:, None, None] ** 2 + width[None, :, None] ** 2 + width[None, None, :] ** 2)
    else:
        n = occupations(np.where(ok, nu, 1.0), T, "quantum")                        # (nT, N, nb)
    N = grid.n_points
    total = np.zeros(len(T))
    for q, wq in zip(grid.irreducible, grid.weights):
        tr = grid.triplets(int(q))
        for s in range(0, len(tr), it.chunk):
            b = slice(s, s + it.chunk)
            q1, q2, w = tr.q1[b], tr.q2[b], tr.weights[b]
            S = it.strength(int(q), q1, q2)                                         # (t, s, s', s'') eV^2
            e1 = energy[q][None, :, None, None]
            e2 = energy[q1][:, None, :, None]
            e3 = energy[q2][:, None, None, :]
            valid = ok[q][None, :, None, None] & ok[q1][:, None, :, None] & ok[q2][:, None, None, :]
            SW = np.where(valid, S, 0.0) * w[:, None, None, None]
            for i, t in enumerate(kT):
                if tdep:
                    B = tdep_bracket(e1, e2, e3, n[i, q][None, :, None, None], n[i, q1][:, None, :, None],
                                     n[i, q2][:, None, None, :], sigma[None])
                elif occupation == "classical":
                    if t == 0:
                        continue
                    B = classical_bracket(e1, e2, e3, t)
                else:
                    B = quantum_bracket(e1, e2, e3, n[i, q][None, :, None, None], n[i, q1][:, None, :, None],
                                        n[i, q2][:, None, None, :], t)
                total[i] += wq * float(np.sum(SW * np.where(valid, B, 0.0)))
    F = -6.0 * total / N ** 2
    mesh_attr = m.tolist()
    return xr.DataArray(F, dims=("temperature",), coords=dict(temperature=("temperature", T, {"units": "K"})),
                        name="cubic_free_energy",
                        attrs=dict(units="eV", per="primitive cell", occupation=occupation, mesh=str(mesh_attr),
                                   expression=expression,
                                   n_imaginary=int(np.sum(nu < 0)),
                                   long_name="second-order free energy of the cubic constants (three-phonon bubble)"))
