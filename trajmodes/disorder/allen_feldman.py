"""Allen-Feldman heat transport in a disordered cell: the diffusivity of every mode and the conductivity.

With the modes e_i (frequencies omega_i = 2 pi nu_i) of a :class:`~trajmodes.disorder.glass.GlassHarmonic` and its
position-weighted matrices S^a_kl = (x_l - x_k)_a D_kl (minimum image), the velocity matrix between two modes is
v^a_ij = s^a_ij / (2 sqrt(omega_i omega_j)), s^a_ij = e_i^T S^a e_j, and the diffusivity of mode i is::

    D_i = (pi / 3) sum_a sum_{j != i} abs(v^a_ij)^2 delta(omega_i - omega_j)

(P. B. Allen and J. L. Feldman, Phys. Rev. B 48, 12581 (1993), eqs. 3, 7-10, with the heat-flux matrix
(omega_i + omega_j) v_ij / 2 taken at omega_i = omega_j as the delta function sets it; the form kALDo computes,
G. Barbalinardo, Z. Chen, N. W. Lundgren and D. Donadio, J. Appl. Phys. 128, 135104 (2020)), the delta function
broadened to a Lorentzian (half width at half maximum ``width``) or a Gaussian (standard deviation ``width``),
optionally cut where abs(nu_i - nu_j) >= ``truncate``. The conductivity is kappa = (1/V) sum_i C_i D_i with the heat
capacity of each mode (quantum or classical, :mod:`trajmodes.phonons.harmonic.statistics`).

The three lowest modes (the translations of the periodic cell, zero frequency) and any mode at or below
``cutoff_frequency`` carry nothing: they get no diffusivity (NaN) and are no partner j of the others.

Work: the velocity matrix is built a block of modes at a time, s^a[:, block] = E^T (S^a E[:, block]) (a sparse then a
dense product), the block sized to a memory budget: besides the eigenvectors (3N x n) nothing of size n x n is held.
"""
from __future__ import annotations

import numpy as np

from trajmodes.resources import available_memory, require_memory
from trajmodes.units import AMU_A2_PS2_EV, EV_J, KB_EV, THZ

__all__ = ["SHAPES", "broadening_kernel", "kaldo_broadening", "allen_feldman", "allen_feldman_conductivity",
           "A2_PS_MM2_S", "EV_A2_AMU_PS2"]

#: the shapes of the broadened delta function
SHAPES = ("lorentzian", "gaussian")
#: one A^2/ps in mm^2/s
A2_PS_MM2_S = 1e-20 / 1e-12 / 1e-6
#: one eV/(A^2 amu) in 1/ps^2 (so that omega = sqrt(lambda) in rad/ps)
EV_A2_AMU_PS2 = 1.0 / AMU_A2_PS2_EV
#: modes per block of the velocity matrix at most
MAX_BLOCK = 2048


def broadening_kernel(delta, width: float, shape: str = "lorentzian", truncate: float | None = None) -> np.ndarray:
    """The broadened delta function of a frequency difference.

    Parameters
    ----------
    delta : array_like
        nu_i - nu_j, THz.
    width : float
        THz: the half width at half maximum of the Lorentzian, the standard deviation of the Gaussian.
    shape : {"lorentzian", "gaussian"}
        The line shape.
    truncate : float, optional
        THz: zero where abs(delta) >= truncate.

    Returns
    -------
    ndarray, 1/THz, integrating to 1 over delta (untruncated).
    """
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {', '.join(SHAPES)}, not {shape!r}")
    if not (np.isfinite(width) and width > 0):
        raise ValueError(f"the broadening width must be a positive frequency in THz, not {width!r}")
    x = np.asarray(delta, dtype=float)
    if shape == "lorentzian":
        k = (width / np.pi) / (x * x + width * width)
    else:
        k = np.exp(-0.5 * (x / width) ** 2) / (np.sqrt(2.0 * np.pi) * width)
    if truncate is not None:
        k = np.where(np.abs(x) < truncate, k, 0.0)
    return k


def kaldo_broadening(diffusivity_bandwidth: float, diffusivity_shape: str = "lorentz",
                     diffusivity_threshold: float | None = None) -> dict:
    """The ``width``, ``shape`` and ``truncate`` of :func:`allen_feldman` that reproduce kALDo's Allen-Feldman
    diffusivity (``kaldo.conductivity.Conductivity(method='qhgk', diffusivity_bandwidth=b, diffusivity_shape=...,
    diffusivity_threshold=t)`` on an amorphous cell; kALDo 2.3, ``kaldo/conductivity.py`` and
    ``kaldo/controllers/dirac_kernel.py``).

    kALDo takes b in rad/ps and broadens with sigma = 2 (b_i + b_j) = 4 b: the Lorentzian (1/pi) (sigma/2) /
    (d omega^2 + sigma^2/4), half width 2 b rad/ps = b / pi THz; the Gaussian
    exp(-d omega^2/sigma^2) / sqrt(pi sigma^2),
    standard deviation sigma / sqrt(2) = 2 sqrt(2) b rad/ps = sqrt(2) b / pi THz; the threshold keeps
    abs(d omega) < t 2 pi b, i.e. abs(d nu) < t b THz. kALDo's ``'triangle'`` has no counterpart here.

    Parameters
    ----------
    diffusivity_bandwidth : float
        kALDo's b, rad/ps.
    diffusivity_shape : {"lorentz", "gauss"}
        kALDo's shape of the broadening.
    diffusivity_threshold : float, optional
        kALDo's t: only pairs of modes with abs(d nu) < t b THz are coupled; None: all.

    Returns
    -------
    dict with ``width`` (THz), ``shape`` and ``truncate`` (THz or None).
    """
    b = float(diffusivity_bandwidth)
    shapes = {"lorentz": ("lorentzian", b / np.pi), "gauss": ("gaussian", np.sqrt(2.0) * b / np.pi)}
    if diffusivity_shape not in shapes:
        raise ValueError(f"kALDo's diffusivity_shape {diffusivity_shape!r} has no counterpart: use 'lorentz' or "
                         "'gauss'")
    shape, width = shapes[diffusivity_shape]
    truncate = None if diffusivity_threshold is None else float(diffusivity_threshold) * b
    return {"width": width, "shape": shape, "truncate": truncate}


def physical_modes(frequencies, cutoff_frequency: float, every_mode: bool) -> np.ndarray:
    """Modes that carry heat: above ``cutoff_frequency`` and, when ``every_mode`` of the cell is there, not among the
    three lowest (the translations; a window of modes above zero holds none of them)."""
    nu = np.asarray(frequencies, dtype=float)
    ok = nu > cutoff_frequency
    if every_mode:
        ok[np.argsort(nu, kind="stable")[:3]] = False
    return ok


def velocity_setup(model, modes, cutoff_frequency: float, what: str):
    """What the velocity matrix s^a_ij = e_i^T S^a e_j of a cell's modes is built from, shared by
    :func:`allen_feldman` and :func:`trajmodes.disorder.qhgk.qhgk_conductivity`.

    Returns
    -------
    E : ndarray (3 N, n)
        The eigenvectors (C-contiguous).
    nu : ndarray (n,)
        THz, as the modes give them.
    nu_si : ndarray (n,)
        THz, sqrt(lambda) with the CODATA 2018 conversion (the package's THZ is phonopy's, 1.3e-7 relative lower):
        the velocity matrix and the frequencies in one system of units.
    omega : ndarray (n,)
        2 pi nu_si in rad/ps, 1 for the modes that carry nothing (so that nothing divides by zero).
    ok : ndarray (n,) of bool
        The modes that carry heat (:func:`physical_modes`).
    S : list of three scipy.sparse matrices
        S^a in Å/ps² (:meth:`~trajmodes.disorder.glass.GlassHarmonic.position_weighted` in time units).
    """
    if modes.eigenvectors is None:
        raise ValueError(f"{what} needs the eigenvectors: call gamma_modes(..., eigenvectors=True)")
    E = np.ascontiguousarray(modes.eigenvectors)
    n3, n = E.shape
    nu = np.asarray(modes.frequencies, dtype=float)
    ok = physical_modes(nu, cutoff_frequency, n == n3)
    nu_si = nu * (np.sqrt(EV_A2_AMU_PS2) / (2.0 * np.pi * THZ))
    omega = 2.0 * np.pi * np.where(ok, nu_si, 1.0)                            # rad/ps
    S = [s * EV_A2_AMU_PS2 for s in model.position_weighted()]               # A/ps^2
    return E, nu, nu_si, omega, ok, S


def allen_feldman(model, modes, width: float, shape: str = "lorentzian", truncate: float | None = None,
                  cutoff_frequency: float = 0.0, memory_fraction: float = 0.25, block: int | None = None):
    """Allen-Feldman diffusivities of the modes of a disordered cell.

    Parameters
    ----------
    model : GlassHarmonic
        The cell (its dynamical matrix and positions).
    modes : GlassModes
        Its modes with eigenvectors: every mode (``gamma_modes(model)``), or a window, in which case modes within a few
        widths of the window's edges miss partners beyond it.
    width : float
        THz, the broadening (see :func:`broadening_kernel`; :func:`kaldo_broadening` converts kALDo's).
    shape : {"lorentzian", "gaussian"}
        The line shape of the broadening.
    truncate : float, optional
        THz; pairs with abs(nu_i - nu_j) >= truncate are left out.
    cutoff_frequency : float
        THz; modes at or below it carry nothing (besides the three lowest, always left out).
    memory_fraction : float
        Share of the available memory the blocks of the velocity matrix may take.
    block : int, optional
        Modes per block (default: from the memory budget, at most :data:`MAX_BLOCK`).

    Returns
    -------
    xarray.Dataset
        Over ``mode``: ``frequency`` (THz), ``diffusivity`` (mm²/s; NaN for modes that carry nothing),
        ``participation_ratio``, ``physical`` (bool); over (``mode``, ``cartesian``): ``diffusivity_components``
        D_i^aa (mm²/s). Attributes: the volume (Å³), width, shape, truncate.
    """
    import xarray as xr
    broadening_kernel(0.0, width, shape)                                      # checks width and shape
    E, nu, nu_si, omega, ok, S = velocity_setup(model, modes, cutoff_frequency, "Allen-Feldman")
    n3, n = E.shape
    if block is None:
        budget = memory_fraction * (available_memory() or 4e9)
        block = int(np.clip(budget / (8.0 * 3 * (n3 + 2 * n)), 1, MAX_BLOCK))
    block = int(max(1, min(block, n)))
    require_memory(8.0 * block * (n3 + 2 * n) * 3, f"blocks of {block} modes of the velocity matrix",
                   "pass a smaller block", max(memory_fraction, 0.5))
    comps = np.full((n, 3), np.nan)
    idx = np.flatnonzero(ok)
    for start in range(0, len(idx), block):
        b = idx[start:start + block]
        # kernel (n, |b|): pi L(omega_i - omega_j) / (4 omega_i omega_j), zero for partners that carry nothing
        L = broadening_kernel(nu_si[:, None] - nu_si[None, b], width, shape, truncate) / (2.0 * np.pi)   # per rad/ps
        K = np.pi * L / (4.0 * omega[:, None] * omega[None, b])
        K[~ok] = 0.0
        K[b, np.arange(len(b))] = 0.0                                         # j != i
        for a in range(3):
            s = E.T @ (S[a] @ E[:, b])                                        # s^a_ji, (n, |b|), A/ps^2
            comps[b, a] = np.einsum("jb,jb->b", s * s, K)
    comps *= A2_PS_MM2_S
    D = comps.mean(axis=1)
    ds = xr.Dataset(
        {"frequency": ("mode", nu, {"units": "THz"}),
         "diffusivity": ("mode", D, {"units": "mm^2/s", "long_name": "Allen-Feldman diffusivity (Allen and Feldman "
                                     "1993)"}),
         "diffusivity_components": (("mode", "cartesian"), comps, {"units": "mm^2/s", "long_name": "D_i^aa"}),
         "participation_ratio": ("mode", modes.participation_ratios(), {"units": "1"}),
         "physical": ("mode", ok, {"long_name": "carries heat (not a translation, above the cutoff frequency)"})},
        coords={"cartesian": ["x", "y", "z"]},
        attrs={"volume": model.volume, "volume_units": "Angstrom^3", "width": float(width), "width_units": "THz",
               "shape": shape, "truncate": float("nan") if truncate is None else float(truncate),
               "modes": modes.method, "n_atoms": model.n_atoms})
    return ds


def allen_feldman_conductivity(diffusivities, temperatures, occupation: str = "quantum"):
    """The Allen-Feldman conductivity kappa(T) = (1/V) sum_i C_i(T) D_i of a cell's modes.

    Parameters
    ----------
    diffusivities : xarray.Dataset
        The output of :func:`allen_feldman` (every mode of the cell).
    temperatures : float or array_like
        Temperatures (K) at which the modes' heat capacities, and so the conductivity, are evaluated.
    occupation : {"quantum", "classical"}
        The heat capacity of each mode (:func:`trajmodes.phonons.harmonic.statistics.mode_heat_capacity`).

    Returns
    -------
    xarray.Dataset
        ``conductivity`` over ``temperature`` (W/(m K), the mean of the three diagonal components),
        ``conductivity_components`` over (``temperature``, ``cartesian``), and ``heat_capacity`` (J/(K m³)).
    """
    import xarray as xr
    from trajmodes.phonons.harmonic.statistics import mode_heat_capacity
    T = np.atleast_1d(np.asarray(temperatures, dtype=float))
    ok = diffusivities["physical"].values
    nu = diffusivities["frequency"].values
    C = mode_heat_capacity(np.where(ok, nu, 0.0), T, occupation) * EV_J                # J/K, (nT, n)
    V = float(diffusivities.attrs["volume"]) * 1e-30                                   # m^3
    comps = np.where(ok[:, None], diffusivities["diffusivity_components"].values, 0.0) * 1e-6   # m^2/s
    kappa = C @ comps / V                                                              # (nT, 3)
    return xr.Dataset(
        {"conductivity": ("temperature", kappa.mean(axis=1), {"units": "W/(m K)",
                                                              "long_name": "Allen-Feldman conductivity"}),
         "conductivity_components": (("temperature", "cartesian"), kappa, {"units": "W/(m K)"}),
         "heat_capacity": ("temperature", C.sum(axis=1) / V, {"units": "J/(K m^3)"})},
        coords={"temperature": ("temperature", T, {"units": "K"}), "cartesian": ["x", "y", "z"]},
        attrs={"occupation": occupation, "k_B": KB_EV})
