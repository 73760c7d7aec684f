"""TDEP's ``lineshape`` at Gamma: the self-energy of the modes on an energy axis and their spectral functions,
computed as that program computes them with its default settings.

TDEP (F. Knoop et al., J. Open Source Softw. 9, 6150 (2024)) writes, for one q-point, the imaginary parts of the
three-phonon (bubble) and isotope self-energies on a grid of energies, the real part of the bubble by a
Kramers-Kronig transform on the same grid, and the spectral functions of the modes, per mode, per site and per
symmetry class of atoms. :func:`tdep_lineshape` reproduces that calculation setting for setting (a single q-point,
integration type 2: adaptive Gaussians; isotopes on; no fourth order), so that its
``outfile.phonon_self_energy.hdf5`` can be compared number for number. Ordinary frequency throughout: self-energies
in THz, spectral functions in 1/THz. The physics is the bubble of Maradudin and Fein, Phys. Rev. 128, 2589 (1962),
the isotope scattering of Tamura, Phys. Rev. B 27, 858 (1983), and adaptive widths in the spirit of Li, Carrete,
Katcho and Mingo, Comput. Phys. Commun. 185, 1747 (2014).

With the target at Gamma and a mesh of N points, the three-phonon part is::

    Im Sigma_s(W) = C sum_q' w_q' sum_{s' s''} |X(s, s', s'')|^2 / (nu_s nu_s' nu_s'')
                    { (1 + n' + n'') [g(W - nu' - nu'') - g(W + nu' + nu'')]
                      + (n'' - n') [g(W - nu' + nu'') - g(W + nu' - nu'')] },

    X(s, s', s'') = sum F(0, q', -q') e_s(Gamma) e_s'(q') e_s''(q')*,

F the mass-weighted third-order constants in reciprocal space
(:meth:`trajmodes.phonons.anharmonic.interaction.Interaction.reciprocal_fc3`, eV/(Å³ amu^3/2), the first atom as the
origin of the lattice sums, as TDEP's), n the Bose-Einstein occupations, g normalised Gaussians and C = hbar / (32 (2
pi)^4) in these units (TDEP's pi / 16 in Hartree atomic units; the normalisation of
:mod:`trajmodes.phonons.anharmonic.selfenergy`). The isotope part is::

    Im Sigma_s^iso(W) = (pi / 4) sum_q' w_q' sum_s' nu_s nu_s' sum_k g2_k [sum_a |e*_ka(Gamma s) e_ka(q' s')|]^2
                        g(W - nu_s'),

g2_k the mass variances (:func:`trajmodes.lattice.isotopes.mass_variances`). What makes the numbers TDEP's:

* q' runs over the irreducible points of the Gamma-centred mesh only, with weights w_q' = (star size) / N and *no*
  rotation of the modes at Gamma: a star stands for itself through its point of smallest linear index
  ``i1 n2 n3 + i2 n3 + i3`` (third index fastest; :func:`tdep_irreducible_points`). This is exact for fully
  symmetric modes; with the LO-TO direction at Gamma the per-mode widths depend on that choice, sums over the optical
  modes do not.
* Each Gaussian is cut to a window of the energy grid, 1-based indices from ``floor((c - 4 sigma) n / W_max)``, at
  least 1, to ``ceil((c + 4 sigma) n / W_max)``, at most n (n, not n - 1, over W_max: the cut is near, not at, 4
  sigma; :func:`~trajmodes.phonons.anharmonic.spectral.windowed_gaussians`). The mirrored terms at negative energies act
  near W = 0.
* Widths, per mode of a mesh point: three-phonon ``sigma = r |v| / sqrt(2)`` with r = (3 / (4 pi V N))^(1/3) (1/Å, no
  2 pi: the radius of a sphere of one mesh cell's volume) and v the group velocity (A THz); a pair of modes takes
  ``sqrt(sigma'^2 + sigma''^2)``. Isotopes: ``sigma = sqrt(0.083333333333 sum_i (sum_x |v_x| m_ix)^2)``, m_i the edges
  of the mesh cell (:meth:`~trajmodes.lattice.grid.Grid.microzone`). Both are clamped to [s_b / 4, 4 s_b], s_b the
  default smearing of the band *index* b (:func:`trajmodes.phonons.anharmonic.spectral.tdep_band_widths`: the
  largest gap between the band's sorted frequencies over the irreducible points, at least a fifth of the largest
  such gap), and scaled by ``smearing_scale`` (TDEP's ``--sigma``). Velocities are the means over degenerate modes
  of the diagonal elements of dD/dq (the mean first-order splitting, independent of the basis), dD/dq from
  :meth:`~trajmodes.phonons.harmonic.phonons.Phonons.dynamical_matrix_derivative`, whose non-analytic part is a central
  difference (off by up to 4e-5 relative at the mesh points next to Gamma of MgO, where TDEP differentiates its Ewald
  sum; through the widths that moves the self-energies by 3e-9 of the peak).
* The energy axis: ``n_energies`` points from 0 to W_max = 2 (1.1 nu_max + 3 max_b s_b), nu_max the highest
  frequency over the irreducible points (TDEP's ``--max_energy`` does not enter).
* Modes at or below :data:`FREQUENCY_TOL` (1e-9 Hartree) take no part; at Gamma the three frequencies closest to zero
  are set to zero first. The mesh's own Gamma point is the LO-TO limit along Cartesian (1, 0, 0), the target along
  ``q_direction``; in the three-phonon sum the mesh's Gamma takes the target's modes, in the isotope sum its own (the
  same ones when the two directions agree).
* After the sums both imaginary parts are averaged over the modes at Gamma within :data:`FREQUENCY_TOL` of each
  other, negative values are set to 0, and so are the first and last energies.
* The real part is the Kramers-Kronig transform of the three-phonon imaginary part on the same grid
  (:func:`~trajmodes.phonons.anharmonic.spectral.kramers_kronig`; the isotope part does not enter it). The spectral
  function of a mode is ``A(W) = 4 nu^2 G / pi / [(W^2 - nu^2 - 2 nu D)^2 + 4 nu^2 G^2]``, G the sum of both imaginary
  parts and D the real part, not normalised (:func:`~trajmodes.phonons.anharmonic.spectral.spectral_functions`); per
  site each mode is weighted by the fraction of its eigenvector on the site
  (:func:`~trajmodes.phonons.anharmonic.spectral.site_weights`), per unique atom the sites of each symmetry class are
  summed.

Two of these choices depend on the eigenvectors chosen inside degenerate subspaces, which the eigensolver fixes
arbitrarily. The clamp of the three-phonon width goes by band index, so a degenerate pair of bands with different s_b
(in MgO the TO pair in bands 3 and 4 at three points of the Gamma-L line) splits its weight between two widths
according to the basis; and the isotope overlap sums absolute values per Cartesian component, which no unitary
rotation leaves unchanged (at Gamma of MgO a rotation of the TO pair moves the isotope part of the TO modes by 10 %).
Here every degenerate subspace gets a fixed basis (:func:`~trajmodes.phonons.harmonic.degeneracy.cartesian_basis`: modes
polarised along the Cartesian axes where the subspace allows it), so the results do not depend on the LAPACK build; at
Gamma of rock salt it is the basis of TDEP's reference output. ``eigenvectors`` imposes another basis at the target
point. On the mesh the reference holds one LAPACK's arbitrary bases: TDEP rebuilt today reproduces its own 2023
reference of MgO to 1.7e-3 of the peak pointwise (the integrals to 6e-8), and this module the same reference to 1e-3
(docs/tdep.md). Given the eigenvectors, velocities and constants of a TDEP run, the sums here reproduce its
self-energies to 2e-13 of the peak.

Constants are trajmodes' (:mod:`trajmodes.units`: CODATA 2018 and phonopy's THz factor). TDEP's differ by up to 3.4e-7
relative (its THz factor 15.6333043036, 1.3e-7 above phonopy's; k_B 8.6173303e-5 eV/K), which moves the integrals of
the self-energies by 8e-7; its masses are its own table (give the force constants those masses to compare).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from trajmodes.lattice.grid import Grid
from trajmodes.lattice.qpoints import parse_mesh
from trajmodes.lattice.isotopes import mass_variances as natural_mass_variances
from trajmodes.lattice.spglib_calls import SYMPREC
from trajmodes.phonons.harmonic.degeneracy import cartesian_basis, degenerate_average
from trajmodes.phonons.anharmonic.spectral import (kramers_kronig, site_weights, spectral_functions, tdep_band_widths,
                                                 windowed_gaussians)
from trajmodes.phonons.harmonic.statistics import occupations
from trajmodes.units import AMU_A2_PS2_EV, H_EV_PS, KB_EV, THZ, THZ_EV
from trajmodes.units import TDEP_FREQUENCY_TOL as FREQUENCY_TOL

if TYPE_CHECKING:
    import xarray as xr

    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.phonons.harmonic.phonons import Phonons

__all__ = ["tdep_lineshape", "tdep_irreducible_points", "FREQUENCY_TOL"]

#: hbar / (32 (2 pi)^4), hbar in eV ps, with eV / (A^2 amu) made ps^-2: Im Sigma in THz from |X|^2 in
#: eV^2 / (A^6 amu^3), frequencies in THz and Gaussians in 1/THz (module docstring)
THREE_PHONON_FACTOR = H_EV_PS / (2 * np.pi) / (32 * (2 * np.pi) ** 4 * AMU_A2_PS2_EV ** 3)
#: the direction of the LO-TO limit at the mesh's own Gamma point (Cartesian), TDEP's
MESH_GAMMA_DIRECTION = np.array([1.0, 0.0, 0.0])
#: TDEP writes the 1.1 of the top of its energy axis as a default-real (single-precision) Fortran literal: it is
#: 1.100000023841858 once promoted to double. A double 1.1 would move the whole axis by 1.9e-8 relative.
AXIS_MARGIN = float(np.float32(1.1))
#: TDEP's 1/12 in the isotope width as it writes it (0.083333333333: 4e-12 relative below 1/12)
ISOTOPE_WIDTH_FACTOR = 0.083333333333


def tdep_irreducible_points(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """The irreducible points of a regular mesh as TDEP lists them: each star by its member of smallest linear index
    ``i1 n2 n3 + i2 n3 + i3`` (addresses in [0, n), third index fastest), in increasing linear index.

    Parameters
    ----------
    grid : Grid
        A regular mesh with its point group (:class:`trajmodes.lattice.grid.Grid`; the stars are its own).

    Returns
    -------
    points : ndarray of int (n_irr,)
        Grid indices of the representatives.
    weights : ndarray (n_irr,)
        Star sizes over the number of points (they sum to 1).
    """
    if not grid.is_regular:
        raise ValueError("TDEP's irreducible points are those of a regular mesh n1 x n2 x n3")
    n = grid.mesh
    a = np.mod(grid.addresses, n)
    linear = (a[:, 0] * n[1] + a[:, 1]) * n[2] + a[:, 2]
    rep = linear[grid.rotated].min(axis=0)                       # the star's smallest linear index, at every point
    reps, counts = np.unique(rep, return_counts=True)
    where = np.empty(grid.n_points, dtype=np.int64)
    where[linear] = np.arange(grid.n_points)
    return where[reps], counts / grid.n_points


def _zero_acoustic(f, e) -> tuple[np.ndarray, np.ndarray]:
    """At Gamma: the three frequencies closest to zero set to zero, the modes sorted again (TDEP)."""
    f = f.copy()
    f[np.argsort(np.abs(f), kind="stable")[:3]] = 0.0
    order = np.argsort(f, kind="stable")
    return f[order], e[:, order]


def _clamp(width, s, scale) -> np.ndarray:
    """TDEP's clamp of a Gaussian width to [s / 4, 4 s], everything times the smearing factor."""
    return np.minimum(np.maximum(scale * width, scale * s / 4), scale * 4 * s)


def _mesh_modes(phonons: Phonons, q: np.ndarray, gamma_rows: np.ndarray) -> tuple:
    """Frequencies (nq, nb), eigenvectors (nq, nb, nb) in :func:`~trajmodes.phonons.harmonic.degeneracy.cartesian_basis` and group velocities (nq, nb, 3),
    A THz, at the irreducible points; Gamma in the LO-TO limit along :data:`MESH_GAMMA_DIRECTION`."""
    pr = phonons.force_constants.primitive
    nu, e = phonons.frequencies_and_eigenvectors(q, q_direction=MESH_GAMMA_DIRECTION @ pr.cell.T)
    for r in gamma_rows:
        nu[r], e[r] = _zero_acoustic(nu[r], e[r])
    e = cartesian_basis(e, nu, tol=FREQUENCY_TOL)
    dD = phonons.dynamical_matrix_derivative(q)                          # (nq, 3, nb, nb), eV/(A^2 amu) A
    diag = np.einsum("qas,qxab,qbs->xqs", e.conj(), dD, e, optimize=True).real   # <e_s| dD/dq_x |e_s>
    diag = degenerate_average(diag, nu, tol=FREQUENCY_TOL)               # subspace means
    live = nu > FREQUENCY_TOL
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(live[None], diag * THZ ** 2 / (2 * nu[None]), 0.0)
    return nu, e, v.transpose(1, 2, 0)


def _inverse(f) -> np.ndarray:
    """1 / f where f > :data:`FREQUENCY_TOL`, 0 elsewhere."""
    on = f > FREQUENCY_TOL
    return np.where(on, 1.0 / np.where(on, f, 1.0), 0.0)


def _three_phonon(axis, F, weights, nu0, e0, nu_e, e, nu, occ, sigma, chunk: int) -> np.ndarray:
    """Im Sigma_3ph (nb, n_e) in THz before the degenerate average (module docstring). ``F`` (nq, A, B, C) the
    reciprocal fc3 for (Gamma, q', -q'); ``nu0``, ``e0`` the modes at the target; ``e`` (nq, nb, nb) and ``nu_e``
    (nq, nb) the eigenvectors at q' and their frequencies (those of the target at the mesh's Gamma, TDEP's choice);
    ``nu``, ``occ`` and ``sigma`` (nq, nb) the mesh's frequencies, occupations and widths, for the Gaussians."""
    nb = nu.shape[1]
    n_e, top = len(axis), axis[-1]
    X = np.einsum("tabc,as,tbu,tcv->tsuv", F, e0, e, e.conj(), optimize=True)
    inv0, inv = _inverse(nu0), _inverse(nu_e)
    W = (X.real ** 2 + X.imag ** 2) * (inv0[None, :, None, None] * inv[:, None, :, None] * inv[:, None, None, :])
    b2, b3 = np.triu_indices(nb)                                            # pairs s' <= s''
    Wp = W[:, :, b2, b3] + np.where(b2 != b3, W[:, :, b3, b2], 0.0)        # (nq, nb, n_pairs)
    Wp *= (THREE_PHONON_FACTOR * weights)[:, None, None]
    coupling = Wp.transpose(1, 0, 2).reshape(nb, -1)                        # (nb, nq n_pairs)
    f2, f3 = nu[:, b2].ravel(), nu[:, b3].ravel()
    n2, n3 = occ[:, b2].ravel(), occ[:, b3].ravel()
    sig = np.sqrt(sigma[:, b2] ** 2 + sigma[:, b3] ** 2).ravel()
    # TDEP skips modes below the tolerance, and a pair whose windows together span a single point
    top_index = np.minimum(np.ceil((f2 + f3 + 4 * sig) * n_e / top), n_e)
    use = (f2 >= FREQUENCY_TOL) & (f3 >= FREQUENCY_TOL) & (top_index > 1)
    out = np.zeros((nb, n_e))
    for s in range(0, len(f2), chunk):
        b = np.arange(s, min(s + chunk, len(f2)))
        b = b[use[b]]
        p1, p2 = 1 + n2[b] + n3[b], n3[b] - n2[b]
        buf = windowed_gaussians(axis, f2[b] + f3[b], sig[b], p1)
        buf -= windowed_gaussians(axis, -f2[b] - f3[b], sig[b], p1)
        buf += windowed_gaussians(axis, f2[b] - f3[b], sig[b], p2)
        buf -= windowed_gaussians(axis, f3[b] - f2[b], sig[b], p2)
        out += coupling[:, b] @ buf
    return out


def _isotopes(axis, weights, g2, nu0, e0, nu, e, sigma) -> np.ndarray:
    """Im Sigma_iso (nb, n_e) in THz before the degenerate average (module docstring)."""
    nq, nb = nu.shape
    n = len(g2)
    # sum over the Cartesian components of |e*_ka(Gamma s) e_ka(q' s')| per atom k: (nq, k, s, s')
    ov = np.einsum("kas,tkau->tksu", np.abs(e0).reshape(n, 3, nb), np.abs(e).reshape(nq, n, 3, nb))
    lam = np.einsum("k,tksu->tsu", g2, ov ** 2) * nu0[None, :, None] * nu[:, None, :]
    lam *= (np.pi / 4 * weights)[:, None, None]
    g = windowed_gaussians(axis, nu.ravel(), sigma.ravel())                            # (nq nb, n_e)
    return lam.transpose(1, 0, 2).reshape(nb, -1) @ g


def tdep_lineshape(force_constants: ForceConstants, qpoint=(0.0, 0.0, 0.0), q_direction=(1.0, 0.0, 0.0),
                   mesh=26, temperature: float = 300.0, n_energies: int = 1200, isotopes: bool = True,
                   mass_variances=None, smearing_scale: float = 1.0, eigenvectors=None,
                   symprec: float = SYMPREC, chunk: int = 2048) -> xr.Dataset:
    """Self-energies and spectral functions of the modes at Gamma as TDEP's ``lineshape`` computes them by default
    (a single q-point, adaptive Gaussians, isotopes, third order; the module docstring has every choice).

    Parameters
    ----------
    force_constants : ForceConstants
        With third-order constants ``fc3``; polar constants (Born charges) give the LO-TO split at Gamma. The
        phonons are those of ``phonon_fc2`` when it is set (as
        :class:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic`).
    qpoint : (3,) array_like
        Reduced q; only Gamma is implemented (TDEP's default ``--qpoint 0 0 0``).
    q_direction : (3,) array_like
        *Cartesian* direction along which Gamma is approached, for the non-analytic term (TDEP's ``--qdirin``, the
        ``incident_wavevector`` of its output; default (1, 0, 0)); normalised here.
    mesh : int or (3,) int
        The Gamma-centred q-mesh of the sums (TDEP's ``--qpoint_grid``, default 26).
    temperature : float
        K (Bose-Einstein occupations).
    n_energies : int
        Points of the energy axis (TDEP's ``--n_energies``).
    isotopes : bool
        Include the isotope self-energy (TDEP's default; ``--no_isotope_scattering`` leaves it out).
    mass_variances : (n_prim,) array_like, optional
        g2 of every primitive atom; default the natural compositions of their elements
        (:func:`trajmodes.lattice.isotopes.mass_variances`).
    smearing_scale : float
        Factor on every Gaussian width (TDEP's ``--sigma``).
    eigenvectors : (3n, 3n) complex array_like, optional
        Eigenvectors at the target point (columns are modes, in ascending frequency) in place of
        :func:`~trajmodes.phonons.harmonic.degeneracy.cartesian_basis`: they fix the basis inside its degenerate
        subspaces, on which the isotope part depends (another code's, e.g. the transposed ``harmonic/eigenvectors`` TDEP
        writes). They must diagonalise the dynamical matrix there. When ``q_direction`` is (1, 0, 0) the mesh's Gamma
        takes them too (TDEP diagonalises the same matrix twice).
    symprec : float
        spglib tolerance (Å) for the point group of the mesh and the classes of atoms.
    chunk : int
        Pairs of modes put on the energy axis at once (memory about ``chunk * n_energies * 48`` bytes).

    Returns
    -------
    xarray.Dataset
        Dimensions ``branch`` (the 3n modes at Gamma, ascending), ``frequency`` (the energy axis, THz), ``site``,
        ``unique_atom`` (the symmetry classes, in order of first appearance), ``component`` (3k + a). The variables of
        TDEP's output under its names: ``imaginary_threephonon_selfenergy``, ``imaginary_isotope_selfenergy`` and
        ``real_threephonon_selfenergy`` (branch, frequency; THz), ``spectralfunction_per_mode`` (branch, frequency),
        ``spectralfunction_per_site`` (site, frequency) and ``spectralfunction_per_unique_atom`` (unique_atom,
        frequency) in 1/THz, ``harmonic_frequencies`` (branch; THz), ``eigenvectors_re`` and ``eigenvectors_im``
        (component, branch), ``dynamical_matrix_re`` and ``dynamical_matrix_im`` (D times THZ^2 with the LO-TO limit,
        THz²), ``q_point`` (reduced) and ``incident_wavevector`` (Cartesian, unit); and ``default_smearing``
        (branch; s_b, THz). Attributes: ``temperature`` (K), ``mesh``, ``n_irreducible``, ``smearing_scale``,
        ``isotopes``.

    Raises
    ------
    ValueError
        Without fc3, for a q-point other than Gamma, a zero direction, a mesh of one point, or eigenvectors that do not
        diagonalise the dynamical matrix.
    """
    from trajmodes.phonons.harmonic.phonons import Phonons

    fc = force_constants
    q0, qdir, T, n_e, scale, m = _lineshape_settings(fc, qpoint, q_direction, temperature, n_energies,
                                                     smearing_scale, mesh)
    pr = fc.primitive
    g2 = None
    if isotopes:
        g2 = natural_mass_variances(pr.species) if mass_variances is None else \
            np.asarray(mass_variances, dtype=float).reshape(pr.n_atoms)

    ph = Phonons(fc if fc.phonon_fc2 is None else fc.phonon_fc2)
    grid = Grid(m, pr.symmetry(symprec).rotations)
    points, weights = tdep_irreducible_points(grid)
    q = grid.qpoints[points]
    gamma_rows = np.flatnonzero(np.abs(q).max(axis=1) == 0)
    nu, e, v = _mesh_modes(ph, q, gamma_rows)
    nu0, e0, D0 = _target_modes(ph, pr, qdir, eigenvectors)
    same_direction = abs(qdir @ MESH_GAMMA_DIRECTION - 1.0) < 1e-12
    s_b, axis, sigma3, sigma_iso, occ = _axis_and_widths(nu, v, grid, pr, m, n_e, scale, T)
    im3, im_iso, re3 = _self_energies(fc, ph, q, weights, gamma_rows, nu, e, occ, nu0, e0, axis, sigma3,
                                      sigma_iso, g2 if isotopes else None, same_direction, int(chunk))
    return _lineshape_dataset(pr, symprec, axis, im3, im_iso, re3, nu0, e0, D0, s_b, q0, qdir,
                              dict(temperature=T, mesh=m.tolist(), n_irreducible=len(points), smearing_scale=scale,
                                   isotopes=int(bool(isotopes))))


def _lineshape_settings(fc, qpoint, q_direction, temperature, n_energies, smearing_scale, mesh) -> tuple:
    """The settings of :func:`tdep_lineshape` checked: (q0, the unit direction, T in K, the number of energies, the
    smearing scale, the mesh (3,))."""
    if fc.fc3_sparse is None:
        raise ValueError("the lineshape needs third-order constants: these force constants have no fc3")
    q0 = np.asarray(qpoint, dtype=float).reshape(3)
    if np.abs(q0).max() > 1e-10:
        raise ValueError(f"only the lineshape at Gamma is implemented (TDEP's sum over the irreducible points), not "
                         f"at q = {q0.tolist()}")
    qdir = np.asarray(q_direction, dtype=float).reshape(3)
    if not np.linalg.norm(qdir) > 1e-10:
        raise ValueError("q_direction must be a non-zero Cartesian vector: the direction along which Gamma is "
                         "approached")
    qdir = qdir / np.linalg.norm(qdir)
    T = float(temperature)
    if not (np.isfinite(T) and T >= 0):
        raise ValueError(f"temperature must be finite and >= 0 K, not {temperature!r}")
    n_e = int(n_energies)
    if n_e < 3:
        raise ValueError(f"n_energies must be at least 3, not {n_energies!r}")
    scale = float(smearing_scale)
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"smearing_scale must be a positive number, not {smearing_scale!r}")
    m = parse_mesh(mesh)
    if m.shape != (3,):
        raise ValueError("TDEP's lineshape sums over a regular mesh: give n or (n1, n2, n3), not a supercell matrix")
    return q0, qdir, T, n_e, scale, m


def _target_modes(ph, pr, qdir, eigenvectors) -> tuple:
    """The modes at Gamma approached along the Cartesian ``qdir``: frequencies (3n,) THz, eigenvectors (3n, 3n) in
    the Cartesian basis of their degenerate subspaces or the ones given (checked), and the dynamical matrix there."""
    d0 = qdir @ pr.cell.T                                                   # reduced direction
    f0, v0 = ph.frequencies_and_eigenvectors(np.zeros((1, 3)), q_direction=d0)
    nu0, e0 = _zero_acoustic(f0[0], v0[0])
    D0 = ph.dynamical_matrix(np.zeros(3), d0)[0]
    e0 = cartesian_basis(e0, nu0, tol=FREQUENCY_TOL) if eigenvectors is None else _checked_eigenvectors(eigenvectors, D0, nu0)
    return nu0, e0, D0


def _axis_and_widths(nu, v, grid, pr, m, n_e: int, scale: float, T: float) -> tuple:
    """TDEP's default widths s_b (THz) from the mesh's frequencies ``nu`` (group velocities ``v``), the energy axis
    (THz), the Gaussian widths of the three-phonon and isotope sums on the mesh (THz) and the occupations at ``T``."""
    s_b = tdep_band_widths(nu)
    if not s_b.max() > 0:
        raise ValueError(f"the mesh {m.tolist()} is too coarse: TDEP's widths come from the gaps between the "
                         "frequencies of its irreducible points, and there are none")
    top = 2 * (nu.max() * AXIS_MARGIN + 3 * s_b.max())
    axis = np.arange(n_e) / (n_e - 1) * top
    axis[0], axis[-1] = 0.0, top
    radius = (3.0 / (4 * np.pi * pr.volume * grid.n_points)) ** (1.0 / 3.0)           # 1/A, no 2 pi
    sigma3 = _clamp(radius * np.linalg.norm(v, axis=2) / np.sqrt(2.0), s_b, scale)
    edges = grid.microzone(pr.reciprocal_cell)                                         # rows b_i / n_i, 1/A
    sigma_iso = _clamp(np.sqrt(ISOTOPE_WIDTH_FACTOR * ((np.abs(v) @ edges.T) ** 2).sum(axis=2)), s_b, scale)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        x = nu * THZ_EV / (KB_EV * T)
    occ = np.where((nu > FREQUENCY_TOL) & (x <= 100), occupations(nu, T)[0], 0.0)
    return s_b, axis, sigma3, sigma_iso, occ


def _self_energies(fc, ph, q, weights, gamma_rows, nu, e, occ, nu0, e0, axis, sigma3, sigma_iso, g2, same_direction,
                   chunk: int) -> tuple:
    """The imaginary three-phonon and isotope self-energies (``g2`` None: no isotopes) and the real three-phonon one
    of the modes at Gamma on the energy ``axis`` (3n, n_e), THz: averaged over degenerate modes, no negative values,
    zero at the ends of the axis."""
    from trajmodes.phonons.anharmonic.interaction import Interaction
    nb = len(nu0)
    # three phonons: the reciprocal fc3 of (Gamma, q', -q') with the first atom as the origin (TDEP's transform);
    # Interaction is used for that transform only, so it gets the one-point mesh
    F = Interaction(fc, Grid([1, 1, 1]), ph, make_r0_average=False).reciprocal_fc3(np.zeros(3), q, -q)
    e3 = e.copy()
    e3[gamma_rows] = e0
    nu3 = nu.copy()
    nu3[gamma_rows] = nu0
    im3 = _three_phonon(axis, F, weights, nu0, e0, nu3, e3, nu, occ, sigma3, chunk)
    im_iso = np.zeros((nb, len(axis)))
    if g2 is not None:
        e_iso = e.copy()
        if same_direction:
            e_iso[gamma_rows] = e0
        im_iso = _isotopes(axis, weights, g2, nu0, e0, nu, e_iso, sigma_iso)

    # degenerate average at Gamma (pairwise), no negative values, zero ends
    same = (np.abs(nu0[:, None] - nu0[None, :]) < FREQUENCY_TOL).astype(float)
    avg = same / same.sum(axis=1, keepdims=True)
    im3, im_iso = (np.maximum(avg @ a, 0.0) for a in (im3, im_iso))
    for a in (im3, im_iso):
        a[:, [0, -1]] = 0.0
    re3 = kramers_kronig(axis, im3)
    return im3, im_iso, re3


def _lineshape_dataset(pr, symprec, axis, im3, im_iso, re3, nu0, e0, D0, s_b, q0, qdir, attrs) -> xr.Dataset:
    """The spectral functions (per mode, per site, per class of atoms) of the self-energies at Gamma, and the
    dataset of :func:`tdep_lineshape` with its ``attrs``."""
    import xarray as xr
    nb = len(nu0)
    A = spectral_functions(axis, im3 + im_iso, re3, nu0)
    per_site = site_weights(e0) @ A
    classes = np.asarray(pr.symmetry(symprec).equivalent_atoms)
    labels = np.array(list(dict.fromkeys(classes.tolist())))                    # in order of first appearance
    per_unique = np.stack([per_site[classes == c].sum(axis=0) for c in labels])

    D0 = D0 * THZ ** 2
    thz, inv_thz, one = {"units": "THz"}, {"units": "1/THz"}, {"units": "1"}
    species = np.asarray(pr.species)
    return xr.Dataset(
        dict(imaginary_threephonon_selfenergy=(("branch", "frequency"), im3, thz),
             imaginary_isotope_selfenergy=(("branch", "frequency"), im_iso, thz),
             real_threephonon_selfenergy=(("branch", "frequency"), re3, thz),
             spectralfunction_per_mode=(("branch", "frequency"), A, inv_thz),
             spectralfunction_per_site=(("site", "frequency"), per_site, inv_thz),
             spectralfunction_per_unique_atom=(("unique_atom", "frequency"), per_unique, inv_thz),
             harmonic_frequencies=(("branch",), nu0, thz),
             eigenvectors_re=(("component", "branch"), e0.real, one),
             eigenvectors_im=(("component", "branch"), e0.imag, one),
             dynamical_matrix_re=(("component", "component_"), D0.real, {"units": "THz^2"}),
             dynamical_matrix_im=(("component", "component_"), D0.imag, {"units": "THz^2"}),
             default_smearing=(("branch",), s_b, thz),
             q_point=(("vector",), q0, {"units": "reduced"}),
             incident_wavevector=(("vector",), qdir, {"units": "Cartesian, unit"})),
        coords=dict(frequency=("frequency", axis, thz), branch=np.arange(nb), site=np.arange(pr.n_atoms),
                    site_species=("site", species), unique_atom=np.arange(len(labels)),
                    unique_atom_species=("unique_atom", species[labels])),
        attrs=dict(**attrs,
                   method="TDEP lineshape at Gamma: irreducible-point sum, adaptive Gaussians (integration type 2)"))


def _checked_eigenvectors(eigenvectors, D, nu0) -> np.ndarray:
    """``eigenvectors`` as a complex (nb, nb) array, if they are orthonormal and diagonalise D (eV/(Å² amu)) with the
    eigenvalues of the frequencies ``nu0`` (THz), in their order."""
    e = np.asarray(eigenvectors, dtype=complex)
    nb = len(nu0)
    if e.shape != (nb, nb):
        raise ValueError(f"eigenvectors must be ({nb}, {nb}), columns the modes, not {e.shape}")
    lam = np.sign(nu0) * (nu0 / THZ) ** 2
    scale = max(float(np.abs(lam).max()), 1e-300)
    if np.abs(e.conj().T @ e - np.eye(nb)).max() > 1e-8 or np.abs(D @ e - e * lam[None, :]).max() > 1e-6 * scale:
        raise ValueError("the eigenvectors given are not orthonormal eigenvectors of the dynamical matrix at Gamma "
                         "(columns are the modes, in ascending frequency; TDEP writes (mode, component): transpose)")
    return e
