"""Lattice thermal conductivity from phonon lifetimes: the relaxation-time approximation (RTA) of the
linearised Boltzmann equation, kappa = 1/(N V) sum_lambda C_lambda v_lambda (x) v_lambda tau_lambda
(Peierls 1929; e.g. Togo, Chaput and Tanaka, Phys. Rev. B 91, 094306 (2015), Eq. (27)), fed with
three-phonon lifetimes (:class:`trajmodes.phonons.anharmonic.anharmonic.Anharmonic`) or with lifetimes measured in a
molecular-dynamics run (:func:`trajmodes.modes.peaks.fit_peaks`).

The mode heat capacities C_lambda are those of :func:`trajmodes.phonons.harmonic.statistics.mode_heat_capacity`.

Units: C_lambda in eV/K per mode, v in THz A (= 100 m/s), tau in ps, V the primitive-cell volume in A^3;
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
    from trajmodes.phonons.anharmonic.anharmonic_protocol import AnharmonicCalculator

__all__ = ["kappa_rta", "kappa_velocities", "star_average", "conductivity_dataset", "KAPPA_UNIT"]


def kappa_rta(heat_capacity, velocities, lifetimes, weights, volume: float, rotations=None) -> RTAConductivity:
    """Thermal conductivity tensor in the relaxation-time approximation, and each mode's share.

    Parameters
    ----------
    heat_capacity : (nt, nq, nb) eV/K
    velocities : (nq, nb, 3) THz A
    lifetimes : (nt, nq, nb) ps; non-finite or non-positive values contribute nothing
    weights : (nq,)
        How many q-points of the full sum every q stands for (the star sizes of irreducible points, or ones);
        the sum is divided by their total N.
    volume : float
        Primitive-cell volume, A^3.
    rotations : (nr, 3, 3), optional
        Cartesian point-group rotations (:func:`trajmodes.lattice.symmetry.cartesian_rotations`): when the q are irreducible points the tensor of each is averaged
        over them (R kappa R^T), which is the sum over the star.

    Returns
    -------
    RTAConductivity
        :class:`~trajmodes.phonons.anharmonic.transport.RTAConductivity`: ``kappa`` (nt, 3, 3) W/(m K) and ``mode_kappa``
        (nt, nq, nb, 3, 3) W/(m K), each q's share (its weight included); kappa is their sum.
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


def star_average(tensors, rotations) -> np.ndarray:
    """Cartesian tensors (..., 3, 3) averaged over the point group, (1/n) sum_R R T R^T: the mean over the star of
    a q of the tensor of one of its points (``rotations`` (n, 3, 3) Cartesian,
    :func:`trajmodes.lattice.symmetry.cartesian_rotations`)."""
    R = np.asarray(rotations, dtype=float)
    return np.einsum("oab,...bc,odc->...ad", R, tensors, R, optimize=True) / len(R)


def kappa_velocities(phonons, qpoints, degeneracy_tol: float = 1e-4, cutoff_frequency: float = 1e-4,
                     symprec: float = SYMPREC) -> np.ndarray:
    """Group velocities (nq, 3n, 3) in THz A as the conductivity takes them: at the first-zone image of each
    reduced q, averaged over its little group (phonopy's convention; :meth:`Phonons.group_velocities` with
    ``symmetrize``)."""
    q = first_zone(np.atleast_2d(np.asarray(qpoints, dtype=float)), phonons.force_constants.primitive.reciprocal_cell)
    return phonons.group_velocities(q, degeneracy_tol=degeneracy_tol, cutoff_frequency=cutoff_frequency,
                                    symmetrize=True, symprec=symprec)


def conductivity_dataset(an: "AnharmonicCalculator", method: str = "rta", linewidths=None, reducible: bool = False,
                         pinv_cutoff: float = 1e-8, four_phonon=None, four_phonon_sample=None,
                         four_phonon_seed: int | None = None):
    """:meth:`trajmodes.phonons.anharmonic.anharmonic.Anharmonic.thermal_conductivity` (the parameters and the Dataset it
    returns are documented there): the RTA from the widths on the irreducible points, or the LBTE
    (:func:`trajmodes.phonons.anharmonic.lbte.lbte_conductivity`)."""
    if method not in ("rta", "lbte"):
        raise ValueError(f"method must be 'rta' or 'lbte', not {method!r}")
    cart = ("cartesian", "cartesian2")
    if method == "lbte":
        import xarray as xr
        from trajmodes.phonons.anharmonic.lbte import lbte_conductivity
        from trajmodes.phonons.anharmonic.selfenergy import width_variables
        if linewidths is not None:
            raise ValueError("method='lbte' computes the linewidths with the collision matrix: leave out "
                             "linewidths")
        r = lbte_conductivity(an, reducible=reducible, pinv_cutoff=pinv_cutoff, four_phonon=four_phonon,
                              four_phonon_sample=four_phonon_sample, four_phonon_seed=four_phonon_seed)
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
            coords=an.dataset_coords(r.grid_points), attrs=an.dataset_attrs())
        out = out.assign_coords(cartesian=["x", "y", "z"], cartesian2=["x", "y", "z"])
        out.attrs.update(kappa_method=method, collision_matrix="reducible" if reducible else "irreducible",
                         pinv_cutoff=float(pinv_cutoff), n_dropped=r.n_dropped.tolist())
        return out
    if four_phonon is not None:
        raise ValueError("with method='rta', give the four-phonon scattering to the widths: "
                         "thermal_conductivity(linewidths=an.linewidths(four_phonon=sigma))")
    lw = an.linewidths() if linewidths is None else linewidths
    gps = np.asarray(lw["grid_point"].values)
    if not np.array_equal(np.sort(an.grid.star_of[gps]), an.grid.irreducible):
        raise ValueError("the conductivity needs the linewidths on one point of every star of the mesh "
                         "(its irreducible points)")
    tr = an.transport(gps)
    tau = lw["lifetime"].transpose("temperature", "q", "branch").values
    rta = an.kappa_rta(tr.heat_capacity, tr.group_velocity, tau, gps)
    out = lw.copy()
    out["kappa"] = (("temperature",) + cart, rta.kappa, {"units": "W/(m K)"})
    out["mode_kappa"] = (("temperature", "q", "branch") + cart, rta.mode_kappa, {"units": "W/(m K)"})
    out["heat_capacity"] = (("temperature", "q", "branch"), tr.heat_capacity, {"units": "eV/K"})
    out["group_velocity"] = (("q", "branch", "cartesian"), tr.group_velocity, {
        "units": "THz*Angstrom", "long_name": "group velocity (1 THz*Angstrom = 100 m/s)"})
    out = out.assign_coords(cartesian=["x", "y", "z"], cartesian2=["x", "y", "z"])
    out.attrs["kappa_method"] = method
    return out
