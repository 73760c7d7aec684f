"""Lattice thermal conductivity from phonon lifetimes: the relaxation-time approximation (RTA) of the
linearised Boltzmann equation, kappa = 1/(N V) sum_lambda C_lambda v_lambda (x) v_lambda tau_lambda
(Peierls 1929; e.g. Togo, Chaput and Tanaka, Phys. Rev. B 91, 094306 (2015), Eq. (27)), fed with
three-phonon lifetimes (:class:`trajmodes.phonons.anharmonic.anharmonic.Anharmonic`) or with lifetimes measured in a
molecular-dynamics run (:func:`trajmodes.modes.peaks.fit_peaks`).

The mode heat capacities C_lambda are those of :func:`trajmodes.phonons.harmonic.statistics.mode_heat_capacity`.

Units: C_lambda in eV/K per mode, v in THz Å (= 100 m/s), tau in ps, V the primitive-cell volume in Å³;
kappa in W/(m K).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from trajmodes.lattice.qpoints import first_zone
from trajmodes.lattice.spglib_calls import SYMPREC
from trajmodes.phonons.anharmonic.transport import RTAConductivity
from trajmodes.units import KAPPA_UNIT

if TYPE_CHECKING:
    from trajmodes.lattice.grid import Grid
    from trajmodes.phonons.anharmonic.transport import LBTEConductivity, ModeTransport

__all__ = ["kappa_rta", "irreducible_kappa_rta", "kappa_velocities", "star_average", "rta_dataset", "lbte_dataset",
           "KAPPA_UNIT"]


def kappa_rta(heat_capacity, velocities, lifetimes, weights, volume: float, rotations=None) -> RTAConductivity:
    """Thermal conductivity tensor in the relaxation-time approximation, and each mode's share.

    Parameters
    ----------
    heat_capacity : (nt, nq, nb) eV/K
    velocities : (nq, nb, 3) THz Å
    lifetimes : (nt, nq, nb) ps; non-finite or non-positive values contribute nothing
    weights : (nq,)
        How many q-points of the full sum every q stands for (the star sizes of irreducible points, or ones);
        the sum is divided by their total N.
    volume : float
        Primitive-cell volume, Å³.
    rotations : (nr, 3, 3), optional
        Cartesian point-group rotations (:func:`trajmodes.lattice.symmetry.cartesian_rotations`): when the q are
        irreducible points the tensor of each is averaged over them (R kappa R^T), which is the sum over the star.

    Returns
    -------
    RTAConductivity
        :class:`~trajmodes.phonons.anharmonic.transport.RTAConductivity`: ``kappa`` (nt, 3, 3) W/(m K) and
        ``mode_kappa`` (nt, nq, nb, 3, 3) W/(m K), each q's share (its weight included); kappa is their sum.
    """
    C = np.asarray(heat_capacity, dtype=float)
    v = np.asarray(velocities, dtype=float)
    tau = np.asarray(lifetimes, dtype=float)
    w = np.asarray(weights, dtype=float)
    tau = np.where(np.isfinite(tau) & (tau > 0), tau, 0.0)
    vv = v[:, :, :, None] * v[:, :, None, :]                                  # (nq, nb, 3, 3)
    if rotations is not None:
        vv = star_average(vv, rotations)
    scale = KAPPA_UNIT / (w.sum() * volume)
    mode = (C * tau)[..., None, None] * vv[None] * (w[None, :, None, None, None] * scale)
    return RTAConductivity(kappa=mode.sum(axis=(1, 2)), mode_kappa=mode)


def irreducible_kappa_rta(heat_capacity, velocities, lifetimes, grid: Grid, grid_points, volume: float,
                          point_group) -> RTAConductivity:
    """:func:`kappa_rta` on one point of every star of ``grid`` (``grid_points``), each standing for its star (the
    star's size its weight), the tensor averaged over ``point_group`` (n_ops, 3, 3) Cartesian rotations;
    ``volume`` the primitive cell's, Å³."""
    w = grid.weights[grid.irreducible_of[np.asarray(grid_points)]]                  # the star of each point
    return kappa_rta(heat_capacity, velocities, lifetimes, w, volume, point_group)


def star_average(tensors, rotations) -> np.ndarray:
    """Cartesian tensors (..., 3, 3) averaged over the point group, (1/n) sum_R R T R^T: the mean over the star of
    a q of the tensor of one of its points (``rotations`` (n, 3, 3) Cartesian,
    :func:`trajmodes.lattice.symmetry.cartesian_rotations`)."""
    R = np.asarray(rotations, dtype=float)
    return np.einsum("oab,...bc,odc->...ad", R, tensors, R, optimize=True) / len(R)


def kappa_velocities(phonons, qpoints, degeneracy_tol: float = 1e-4, cutoff_frequency: float = 1e-4,
                     symprec: float = SYMPREC) -> np.ndarray:
    """Group velocities (nq, 3n, 3) in THz Å as the conductivity takes them: at the first-zone image of each
    reduced q, averaged over its little group (phonopy's convention; :meth:`Phonons.group_velocities` with
    ``symmetrize``)."""
    q = first_zone(np.atleast_2d(np.asarray(qpoints, dtype=float)), phonons.force_constants.primitive.reciprocal_cell)
    return phonons.group_velocities(q, degeneracy_tol=degeneracy_tol, cutoff_frequency=cutoff_frequency,
                                    symmetrize=True, symprec=symprec)


def lbte_dataset(result: LBTEConductivity, coords: dict, attrs: dict, four_phonon=None, reducible: bool = False,
                 pinv_cutoff: float = 1e-8):
    """The Dataset of :meth:`Anharmonic.thermal_conductivity
    <trajmodes.phonons.anharmonic.anharmonic.Anharmonic.thermal_conductivity>` with ``method="lbte"`` (documented
    there) from the Boltzmann solution (:func:`trajmodes.phonons.anharmonic.lbte.lbte_conductivity`), the coordinates
    of its grid points and the attributes of the calculator."""
    import xarray as xr
    from trajmodes.phonons.anharmonic.selfenergy import width_variables
    r = result
    cart = ("cartesian", "cartesian2")
    dims = ("temperature", "q", "branch")
    out = xr.Dataset(dict(**width_variables(r.gamma, r.gamma_isotope, " (on the diagonal of the "
                                             "collision matrix)", r.gamma_four_phonon, four_phonon),
        kappa=(("temperature",) + cart, r.kappa, {"units": "W/(m K)"}),
        mode_kappa=(dims + cart, r.mode_kappa, {"units": "W/(m K)"}),
        kappa_rta=(("temperature",) + cart, r.kappa_rta, {"units": "W/(m K)"}),
        mode_kappa_rta=(dims + cart, r.mode_kappa_rta, {"units": "W/(m K)"}),
        heat_capacity=(dims, r.heat_capacity, {"units": "eV/K"}),
        group_velocity=(("q", "branch", "cartesian"), r.group_velocity, {
            "units": "THz*Angstrom", "long_name": "group velocity (1 THz*Angstrom = 100 m/s)"}),
        collision_eigenvalues=(("temperature", "mode"), r.eigenvalues, {"units": "THz"})),
        coords=coords, attrs=attrs)
    out = out.assign_coords(cartesian=["x", "y", "z"], cartesian2=["x", "y", "z"])
    out.attrs.update(kappa_method="lbte", collision_matrix="reducible" if reducible else "irreducible",
                     pinv_cutoff=float(pinv_cutoff), n_dropped=r.n_dropped.tolist())
    return out


def rta_dataset(linewidths, transport: ModeTransport, rta: RTAConductivity):
    """The Dataset of :meth:`Anharmonic.thermal_conductivity
    <trajmodes.phonons.anharmonic.anharmonic.Anharmonic.thermal_conductivity>` with ``method="rta"`` (documented
    there): the ``linewidths`` Dataset with the conductivity, the heat capacities and the group velocities added."""
    cart = ("cartesian", "cartesian2")
    out = linewidths.copy()
    out["kappa"] = (("temperature",) + cart, rta.kappa, {"units": "W/(m K)"})
    out["mode_kappa"] = (("temperature", "q", "branch") + cart, rta.mode_kappa, {"units": "W/(m K)"})
    out["heat_capacity"] = (("temperature", "q", "branch"), transport.heat_capacity, {"units": "eV/K"})
    out["group_velocity"] = (("q", "branch", "cartesian"), transport.group_velocity, {
        "units": "THz*Angstrom", "long_name": "group velocity (1 THz*Angstrom = 100 m/s)"})
    out = out.assign_coords(cartesian=["x", "y", "z"], cartesian2=["x", "y", "z"])
    out.attrs["kappa_method"] = "rta"
    return out
