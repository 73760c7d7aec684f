"""Closed forms for one-atom cubic (fcc, bcc) EAM crystals: the dynamical matrix as two lattice sums and the
Born-von-Karman shell constants split into pair and embedding parts (D. M. Riffe, J. D. Christensen and
R. B. Wilson, J. Phys.: Condens. Matter 30 (2018), eqs. 41-48 and Tables II-III)."""
from __future__ import annotations

import numpy as np

from trajmodes.lattice.cubic import cubic_lattice, shell_vectors
from trajmodes.potentials.bvk import shell_dynamical_matrix
from trajmodes.potentials.eam import EAM, pair_hessian

__all__ = ["cubic_dynamical_matrix", "shell_constant_parts"]


def cubic_dynamical_matrix(eam: EAM, lattice: str, a: float, qpoints_cart, element: str | None = None,
                           parts: bool = False):
    """Closed-form dynamical matrix of a one-atom cubic (fcc/bcc) EAM crystal, Riffe et al. eqs. 43, 44, 48::

        D(k)   = D_ep(k) + D_e3(k)
        D_ep   = 1/M sum_R [phi_bar'/R (1 - R^R^) + phi_bar'' R^R^] (1 - cos k.R),  phi_bar = phi + 2 F' f
        D_e3   = F''/M  s(k) s(k)^T,      s(k) = sum_R f'(R) R^ sin(k.R)

    with F', F'' at the crystal's host density rho = sum_R f(R): two single lattice sums, no supercell.

    ``qpoints_cart``: (nq, 3) Cartesian q in units of 1/a without 2 pi (k = 2 pi q / a), as in
    :func:`trajmodes.potentials.bvk.bvk_dynamical_matrix` (fcc X = (1, 0, 0), L = (1/2, 1/2, 1/2)).
    Returns (nq, 3, 3) real, eV/(Å² amu); with ``parts=True`` the pair (D_ep) and e3 parts too.
    """
    el = eam.elements[0] if element is None else element
    t = eam.type_indices([el])
    M = float(eam.masses[t[0]])
    R = shell_vectors(lattice, a, eam.cutoff)
    r = np.linalg.norm(R, axis=1)
    e = R / r[:, None]
    tt = np.zeros(2, np.int64) + t[0]
    z = np.zeros(len(r), np.int64)
    phi, f = eam.pair_functions(tt, z, z + 1, r)
    rho = f[0].sum()
    F = eam.embedding(t, np.array([rho]))[:, 0]
    pbar = phi + 2.0 * F[1] * f                                     # eq. 43 (value, d1, d2)
    K = pair_hessian(pbar[1], pbar[2], r, e)                                  # (nR, 3, 3)
    q = np.atleast_2d(np.asarray(qpoints_cart, float))
    kR = 2.0 * np.pi * (q @ R.T) / a                                # (nq, nR)
    D_ep = shell_dynamical_matrix(kR, K, M)                         # eq. 44
    s = np.einsum("qm,m,ma->qa", np.sin(kR), f[1], e)
    D_e3 = F[2] * s[:, :, None] * s[:, None, :] / M                 # eq. 48
    D = D_ep + D_e3
    return (D, D_ep, D_e3) if parts else D


def shell_constant_parts(eam: EAM, lattice: str, a: float, element: str | None = None, supercell: int = 5,
                         n_shells: int = 5):
    """BvK shell constants of a one-atom cubic EAM crystal and their breakdown (Riffe et al., Tables II-III).

    Parts (dimension ``part``): ``total``; the raw split of this potential file's gauge ``pair``
    (eq. 25), ``e12`` (F' d2 rho, eqs. 32-33), ``e3`` (F'' three-body, eq. 34); and the normalised split
    of the paper's tables ``effective_pair`` (phi_bar = phi + 2 F' f, eq. 41; = pair + e12) and ``e3``.
    ``total = pair + e12 + e3 = effective_pair + e3`` constant by constant.

    The constants come from the analytic force constants of an ``supercell``^3 cube supercell; e3
    couples atoms up to twice the cutoff apart, so shells are free of periodic images when
    ``supercell * a >= r_shell + 2 * cutoff`` (a warning is not raised; the default 5 suffices for Cu).

    Returns (xarray.Dataset of :func:`trajmodes.potentials.bvk.shell_constants` with a ``part`` dimension,
    :class:`ForceConstants` of the total).
    """
    import xarray as xr
    from trajmodes.potentials import bvk
    from trajmodes.forceconstants.model import ForceConstants
    el = eam.elements[0] if element is None else element
    sc, prim = cubic_lattice(lattice, a, supercell, el, masses=[eam.mass(el)])
    p = eam.force_constant_contributions(sc, prim)
    pair, e1, e2, e3 = (p[k].values for k in ("pair", "e1", "e2", "e3"))
    fc = ForceConstants(pair + e1 + e2 + e3, sc, prim)
    arrays = {"total": fc.fc2, "pair": pair, "e12": e1 + e2, "e3": e3, "effective_pair": pair + e1 + e2}
    dss = [bvk.shell_constants(ForceConstants(v, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s),
                               lattice=lattice, n_shells=n_shells) for v in arrays.values()]
    ds = xr.concat(dss, dim="part", data_vars=["value", "residual", "relative_residual"],
                   coords="minimal", compat="override").assign_coords(part=list(arrays))
    ds.attrs.update(potential=str(eam.paths[0]), element=el, supercell=supercell)
    return ds, fc
