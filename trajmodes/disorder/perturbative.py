"""The lowest-order disorder widths of a sample's phonons on its virtual crystal: mass disorder, force-constant
disorder and their cross term, from the sample's own matrices.

A sample with masses m_i and constants Phi (sparse, at the Gamma point of its supercell) has the dynamical matrix
D = M^-1/2 Phi M^-1/2; its virtual crystal has the constants Phi_v configuration-averaged on the average lattice and
the mean mass mbar of each site, D_v = Mbar^-1/2 Phi_v Mbar^-1/2, whose modes |k> = |q' nu'> (the vectors of
:func:`~trajmodes.disorder.mass_disorder.virtual_crystal_modes` at every q' commensurate with the supercell) are a
complete orthonormal basis of the supercell. The perturbation is

    Delta = D - D_v = Delta_M + Delta_Phi,
    Delta_M   = M^-1/2 Phi_v M^-1/2 - Mbar^-1/2 Phi_v Mbar^-1/2        (the masses alone),
    Delta_Phi = M^-1/2 (Phi - Phi_v) M^-1/2                              (the constants; zero for isotopes).

To second order in Delta (Fermi's golden rule on the eigenvalue lambda = omega^2 of the Hermitian D), the line of
|q nu> in lambda is a Lorentzian of half width Gamma_lambda = pi sum_{k != q nu} |<k|Delta|q nu>|^2
delta(lambda_{q nu} - lambda_k). With lambda = (nu / THZ)^2 (nu in THz; ``trajmodes.units.THZ``), d lambda / d nu =
2 nu / THZ^2, so in ordinary frequency

    Gamma_{q nu} = pi THZ^4 / (4 nu^2) sum_{k != q nu} |<k|Delta|q nu>|^2 delta(nu - nu_k)        (THz, HWHM),

the imaginary part of the self-energy, the convention of
:func:`~trajmodes.phonons.anharmonic.isotope.isotope_gamma`. For mass disorder alone, to first order in
eps_i = m_i / mbar - 1, <k|Delta_M|q nu> = -(lambda_k + lambda_q) / 2 sum_i eps_i v_k*(i) . v_q(i), which on the
shell is -lambda sum_i eps_i v_k* . v_q; averaged over random masses, |.|^2 -> g2 sum_i |v_k* . v_q|^2 and Gamma is
Tamura's (S. Tamura, Phys. Rev. B 27, 858 (1983)): Gamma = pi nu^2 / (4 N_c) sum_{q' s'} g2 |e* . e'|^2
delta(nu - nu'). Here Delta is the sample's own, so the widths are those of this configuration (with the
fluctuations of its finite cell) and every order of the mass ratio is kept in the matrix element. With the constants
disordered too, |<k|Delta|q nu>|^2 = |Delta_M|^2 + |Delta_Phi|^2 + 2 Re(Delta_M* Delta_Phi): the mass, force-constant
and cross terms, reported apart (the cross term may be negative). M. Arrigoni, J. Carrete, N. Mingo and
G. K. H. Madsen, Phys. Rev. B 98, 115205 (2018) showed, with Green's functions on special quasirandom structures, that
the force-constant disorder term is what makes the scattering of In(1-x)Ga(x)As right, while mass disorder dominates
in Si(1-x)Ge(x). The exact counterpart here (every order, this sample) is
:func:`~trajmodes.disorder.mass_disorder.exact_lineshapes` with the same ``sample_constants``.

The delta functions are normalised Gaussians of standard deviation ``sigma`` (THz) over the sample's discrete modes
k; the widths of degenerate branches at a q are averaged. The cost is two products of the sparse Delta with the
q's vectors and one dense product with all 3N virtual-crystal modes (3N x 3N complex: a few thousand atoms).
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from trajmodes.units import THZ

__all__ = ["disorder_widths"]


def disorder_widths(force_constants, masses, sample_constants=None, qpoints=None, sigma: float | None = None,
                    cutoff_frequency: float = 1e-3, degeneracy_tol: float = 1e-4) -> xr.Dataset:
    """The lowest-order widths of the virtual crystal's modes in the sample: mass, force-constant and cross terms.

    Parameters
    ----------
    force_constants : ForceConstants
        The virtual crystal's constants on the sample's supercell (Phi_v: a virtual-crystal fit, or the
        ``force_constants_`` of a species-resolved one, their configuration average).
    masses : array_like (N,)
        The sample's masses, amu, in the supercell's atom order.
    sample_constants : scipy.sparse matrix (3N, 3N), optional
        The sample's own constants, eV/Å² (a species-resolved fit's ``sample_force_constants_``); default
        ``force_constants`` repeated over the lattice (mass disorder only).
    qpoints : array_like (nq, 3), optional
        Reduced, commensurate with the supercell; default every commensurate q.
    sigma : float, optional
        Standard deviation of the Gaussian delta functions, THz; default three times the mean spacing of the 3N
        modes.
    cutoff_frequency : float
        THz: modes at or below it (the acoustic modes at Gamma) get no width and scatter into nothing.
    degeneracy_tol : float
        THz: branches of a q closer than this share their mean width.

    Returns
    -------
    xarray.Dataset
        ``frequency`` (q, branch) THz, the virtual crystal's; ``gamma`` (q, branch) THz, the half width;
        ``gamma_mass``, ``gamma_fc``, ``gamma_cross`` its three terms (they sum to ``gamma``);
        ``first_order_shift`` (q, branch) THz, the first-order shift THZ^2 <q nu|Delta|q nu> / (2 nu). Attributes
        ``sigma`` (THz), ``g2`` the mass
        variance of each primitive site.
    """
    import scipy.sparse as sp

    from trajmodes.disorder.mass_disorder import sample_dynamical_matrix, site_masses, virtual_crystal_modes
    from trajmodes.lattice.qpoints import commensurate_qpoints
    from trajmodes.resources import require_memory
    fc = force_constants
    m = np.asarray(masses, float).reshape(-1)
    mbar, g2 = site_masses(m, fc.smap)
    N = len(m)
    require_memory(3.0 * 16.0 * (3 * N) ** 2, f"the {3 * N} modes of the virtual crystal on the sample's supercell",
                   "use a smaller sample (the exact lineshapes of a large one: kpm_lineshapes)")
    q_all = commensurate_qpoints(fc.smap.matrix)
    q = q_all if qpoints is None else np.atleast_2d(np.asarray(qpoints, float))
    m_site = mbar[np.asarray(fc.smap.atom)]
    phi_v = sample_dynamical_matrix(fc, np.ones(N))                     # Phi_v on the supercell, eV/A^2
    w_s = sp.diags(np.repeat(1.0 / np.sqrt(m), 3))
    w_v = sp.diags(np.repeat(1.0 / np.sqrt(m_site), 3))
    delta_m = (w_s @ phi_v @ w_s - w_v @ phi_v @ w_v).tocsr()
    if sample_constants is None:
        delta_f = sp.csr_matrix((3 * N, 3 * N))
    else:
        phi = sp.csr_matrix(sample_constants)
        if phi.shape != (3 * N, 3 * N):
            raise ValueError(f"sample_constants has shape {phi.shape} for a supercell of {N} atoms: give the "
                             f"({3 * N}, {3 * N}) matrix of the sample in the supercell's atom order")
        dphi = 0.5 * (phi + phi.T) - phi_v
        delta_f = (w_s @ dphi @ w_s).tocsr()
    f_all, v_all = virtual_crystal_modes(fc, mbar, q_all)
    nb = f_all.shape[1]
    K = v_all.transpose(1, 0, 2).reshape(3 * N, -1)                      # every mode k a column
    nu_k = f_all.reshape(-1)
    f_q, v_q = virtual_crystal_modes(fc, mbar, q)
    Vq = v_q.transpose(1, 0, 2).reshape(3 * N, -1)                       # (3N, nq nb)
    Mm = K.conj().T @ (delta_m @ Vq)                                     # (3N modes k, nq nb)
    Mf = K.conj().T @ (delta_f @ Vq)
    nu_q = f_q.reshape(-1)
    if sigma is None:
        sigma = 3.0 * float(max(nu_k.max(), 1e-12)) / len(nu_k)
    sigma = float(sigma)
    g = np.exp(-0.5 * ((nu_k[:, None] - nu_q[None, :]) / sigma) ** 2) / (np.sqrt(2 * np.pi) * sigma)
    g[nu_k <= cutoff_frequency] = 0.0
    # k != q nu: the mode itself (its diagonal element is the first-order shift)
    key_k = _mode_keys(q_all, nb)
    key_q = _mode_keys(q, nb)
    same = key_k[:, None] == key_q[None, :]
    g[same] = 0.0
    pref = np.where(nu_q > cutoff_frequency, np.pi * THZ ** 4 / (4.0 * np.maximum(nu_q, cutoff_frequency) ** 2), 0.0)
    terms = {"gamma_mass": (np.abs(Mm) ** 2 * g).sum(axis=0) * pref,
             "gamma_fc": (np.abs(Mf) ** 2 * g).sum(axis=0) * pref,
             "gamma_cross": (2.0 * np.real(Mm.conj() * Mf) * g).sum(axis=0) * pref}
    diag = np.real(np.einsum("iq,iq->q", Vq.conj(), (delta_m + delta_f) @ Vq))
    shift = np.where(nu_q > cutoff_frequency, THZ ** 2 * diag / (2.0 * np.maximum(nu_q, cutoff_frequency)), 0.0)
    out = {k: _degenerate_mean(v.reshape(len(q), nb), f_q, degeneracy_tol) for k, v in terms.items()}
    gamma = out["gamma_mass"] + out["gamma_fc"] + out["gamma_cross"]
    return xr.Dataset(
        {"frequency": (("q", "branch"), f_q, {"units": "THz"}),
         "gamma": (("q", "branch"), gamma, {"units": "THz", "long_name": "half width (HWHM)"}),
         **{k: (("q", "branch"), v, {"units": "THz"}) for k, v in out.items()},
         "first_order_shift": (("q", "branch"), shift.reshape(len(q), nb), {"units": "THz"})},
        coords={"qpoint": (("q", "reduced"), q)},
        attrs={"sigma": sigma, "sigma_units": "THz", "g2": np.asarray(g2, float),
               "reference": "second-order (golden rule) scattering by Delta = D_sample - D_vca (Tamura, Phys. Rev. B "
                            "27, 858 (1983) for the masses)"})


def _mode_keys(q, nb: int) -> np.ndarray:
    """An integer key per (q modulo the reciprocal lattice, branch)."""
    r = np.rint(np.mod(np.asarray(q, float) + 1e-9, 1.0) * 1e6).astype(np.int64) % 1000000
    base = (r[:, 0] * 1000003 + r[:, 1]) * 1000003 + r[:, 2]
    return (base[:, None] * 64 + np.arange(nb)[None, :]).reshape(-1)


def _degenerate_mean(x: np.ndarray, f: np.ndarray, tol: float) -> np.ndarray:
    """``x`` (nq, nb) averaged over the branches of each q whose frequencies ``f`` are within ``tol`` (THz)."""
    out = x.copy()
    for i in range(len(f)):
        start = 0
        for b in range(1, f.shape[1] + 1):
            if b == f.shape[1] or f[i, b] - f[i, b - 1] > tol:
                out[i, start:b] = x[i, start:b].mean()
                start = b
    return out
