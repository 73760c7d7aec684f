"""From a classical S(q, omega) to what an instrument measures: detailed balance, energy (and ``|Q|``) resolution, and the
powder average over spherical ``|Q|`` shells.

Conventions: omega in rad/ps (as :func:`trajmodes.modes.structure_factor.dynamic_structure_factor`), hbar omega in eV;
omega > 0 is energy given to the sample (neutron energy loss, the Stokes side), so the quantum S(Q, omega) obeys
detailed balance S(Q, -omega) = exp(-beta hbar omega) S(Q, omega). A classical MD spectrum is even in omega.

Detailed balance ("quantum corrections"), S_q(omega) = D(omega) S_cl(omega) with x = beta hbar omega:

``harmonic`` (default)  D = x / (1 - exp(-x)). Exact for a harmonic crystal, where the classical one-phonon
    intensity of a mode, k_B T / (hbar omega_s) times that of the classical ground, becomes n + 1 (Stokes) and n
    (anti-Stokes); its odd part is x / 2, so it restores the first-moment (f-) sum rule
    integral omega S_q = hbar Q^2 / (2 M) from the classical second moment k_B T Q^2 / M. The default, because the
    spectra here are those of crystals, dominated by one-phonon scattering.
``schofield``  D = exp(x / 2) (P. Schofield, Phys. Rev. Lett. 4, 239 (1960)): exact in the limit of a free
    diffusive (Gaussian) line; it breaks the f-sum rule and overweights the high-omega tail (exp(x / 2) grows
    without bound), so it suits liquids and quasielastic lines, not phonons at hbar omega >> k_B T.
``standard``  D = 2 / (1 + exp(-x)): preserves the zeroth moment (integral over omega).

The three are compared by J. S. Bader and B. J. Berne, J. Chem. Phys. 100, 8359 (1994); the harmonic factor is that
of P. H. Berens, D. H. J. Mackay, G. M. White and K. R. Wilson, J. Chem. Phys. 79, 2375 (1983); see also
P. A. Egelstaff, An Introduction to the Liquid State, 2nd ed., Oxford (1992).

Resolution: a Gaussian in energy transfer of FWHM constant or a function of the energy transfer (the instrument's
resolution at the nominal energy transfer E of each output point), I(E) = int G(E - E'; FWHM(E)) S(E') dE'; and
optionally a Gaussian in ``|Q|`` over a powder average. Apply detailed balance first, then the resolution.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from trajmodes.units import H_EV_PS, KB_EV

__all__ = ["detailed_balance", "detailed_balance_factor", "gaussian_resolution", "instrument_resolution",
           "powder_structure_factor", "HBAR_EV_PS", "DETAILED_BALANCE"]

#: hbar in eV ps: hbar omega [eV] for omega in rad/ps
HBAR_EV_PS = H_EV_PS / (2 * np.pi)
DETAILED_BALANCE = ("harmonic", "schofield", "standard")
SIGMA_PER_FWHM = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))
#: energy-transfer unit -> its value for 1 rad/ps
ENERGY_UNITS = {"meV": 1e3 * HBAR_EV_PS, "eV": HBAR_EV_PS, "THz": 1 / (2 * np.pi), "rad/ps": 1.0}


def detailed_balance_factor(omega, temperature: float, method: str = "harmonic") -> np.ndarray:
    """D(omega) with S_quantum = D S_classical (module docstring); ``omega`` rad/ps (either sign), ``temperature`` K.

    Satisfies D(-omega) / D(omega) = exp(-beta hbar omega) for every method, and D(0) = 1."""
    if method not in DETAILED_BALANCE:
        raise ValueError(f"method must be one of {DETAILED_BALANCE}, not {method!r}")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive (K), not {temperature!r}")
    x = HBAR_EV_PS * np.asarray(omega, float) / (KB_EV * float(temperature))
    if method == "schofield":
        return np.exp(0.5 * x)
    if method == "standard":
        return 2.0 / (1.0 + np.exp(-x))
    small = np.abs(x) < 1e-8
    with np.errstate(divide="ignore", invalid="ignore"):
        d = x / -np.expm1(-np.where(small, 1.0, x))
    return np.where(small, 1.0 + 0.5 * x, d)


def _two_sided(obj, dim: str):
    """The even spectrum on omega >= 0 mirrored onto omega < 0 (omega = 0 once); a two-sided one unchanged."""
    import xarray as xr
    w = np.asarray(obj[dim].values, float)
    if w.min() < 0:
        return obj
    if w[0] != 0 or np.any(np.diff(w) <= 0):
        raise ValueError(f"{dim} must be ascending from 0 (an even spectrum on omega >= 0) or two-sided")
    neg = obj.isel({dim: slice(None, 0, -1)})
    neg = neg.assign_coords({dim: -neg[dim].values})
    for c in obj.coords:
        if c != dim and dim in obj[c].dims:                               # e.g. frequency on omega
            neg = neg.assign_coords({c: (obj[c].dims, -neg[c].values, obj[c].attrs)})
    if isinstance(obj, xr.Dataset):
        return xr.concat([neg, obj], dim=dim, data_vars="minimal", coords="minimal", compat="override")
    return xr.concat([neg, obj], dim=dim, coords="minimal", compat="override")


def detailed_balance(spectrum, temperature: float, method: str = "harmonic", dim: str = "omega"):
    """A classical S(q, omega) made to obey detailed balance at ``temperature`` (K).

    Parameters
    ----------
    spectrum : xarray.DataArray or Dataset
        Over ``dim`` in rad/ps: an even classical spectrum on omega >= 0 (as dynamic_structure_factor gives; it is
        mirrored onto omega < 0 first) or two-sided. Every variable with ``dim`` is multiplied (S(q, omega),
        C_L, C_T, partials), others are kept.
    temperature : float
        Temperature of the run the classical spectrum comes from, K.
    method : {"harmonic", "schofield", "standard"}
        The factor D(omega) (module docstring; "harmonic" is the default for crystals).
    dim : str
        Name of the angular-frequency axis of ``spectrum``, rad/ps (default "omega").

    Returns
    -------
    The same type over the two-sided ``dim`` (-omega_max .. omega_max), attribute ``detailed_balance``.
    """
    out = _two_sided(spectrum, dim)
    d = detailed_balance_factor(out[dim].values, temperature, method)
    import xarray as xr
    fac = xr.DataArray(d, dims=(dim,))
    note = f"{method} detailed-balance factor at {float(temperature):g} K (omega > 0: energy given to the sample)"
    if isinstance(out, xr.Dataset):
        out = out.copy()
        for name in out.data_vars:
            if dim in out[name].dims:
                out[name] = (out[name] * fac).assign_attrs(out[name].attrs)
        out.attrs["detailed_balance"] = note
        return out
    return (out * fac).assign_attrs(dict(spectrum.attrs, detailed_balance=note))


#: elements of the kernel rows built at once (the kernel is n x n: built and applied in blocks of rows)
KERNEL_BLOCK = 1 << 22


def _convolve(values: np.ndarray, x: np.ndarray, fwhm_at) -> np.ndarray:
    """sum_j G(x_i - x_j; fwhm(x_i)) dx_j values[..., j] on a (non-uniform) grid ``x`` (a zero FWHM: the value
    itself), in blocks of rows."""
    fw = np.broadcast_to(np.asarray(fwhm_at(x) if callable(fwhm_at) else fwhm_at, float), x.shape)
    if np.any(~np.isfinite(fw)) or np.any(fw < 0):
        raise ValueError("the resolution FWHM must be finite and non-negative")
    dx = np.gradient(x) if len(x) > 1 else np.ones(1)
    sig = np.maximum(fw * SIGMA_PER_FWHM, 1e-300)
    out = np.empty(values.shape, dtype=np.result_type(values, float))
    rows = max(1, KERNEL_BLOCK // max(len(x), 1))
    for a in range(0, len(x), rows):
        s = sig[a:a + rows, None]
        k = np.exp(-0.5 * ((x[a:a + rows, None] - x[None, :]) / s) ** 2) / (np.sqrt(2 * np.pi) * s) * dx[None, :]
        out[..., a:a + rows] = values @ k.T
    zero = fw == 0
    out[..., zero] = values[..., zero]
    return out


def gaussian_resolution(data, dim: str, fwhm: float | Callable[[np.ndarray], np.ndarray],
                        unit: str | None = None):
    """Convolve every variable of ``data`` along ``dim`` with a Gaussian of full width ``fwhm``.

    Parameters
    ----------
    data : xarray.DataArray or Dataset
    dim : str
        The axis (its coordinate may be non-uniform). An even spectrum given on omega >= 0 only is mirrored for the
        convolution and returned on the same half axis.
    fwhm : float or callable
        In ``unit``: constant, or a function of the axis value (in ``unit``) giving the FWHM there (the resolution
        at the nominal value of each output point).
    unit : str, optional
        For an energy axis in rad/ps: one of "meV", "eV", "THz", "rad/ps" (default "meV"); other axes: the axis'
        own unit (leave None).

    Returns
    -------
    Same type; integrals over ``dim`` are preserved for a constant FWHM (up to the spectrum's tails past the
    axis' ends).
    """
    import xarray as xr
    if dim == "omega" and (unit or "meV") not in ENERGY_UNITS:
        raise ValueError(f"unit must be one of {sorted(ENERGY_UNITS)}, not {unit!r}")
    half = dim == "omega" and float(data[dim].min()) == 0.0
    full = _two_sided(data, dim) if half else data
    scale = ENERGY_UNITS[unit or "meV"] if dim == "omega" else 1.0
    x = np.asarray(full[dim].values, float) * scale

    def conv(da):
        moved = np.moveaxis(np.asarray(da.values), da.get_axis_num(dim), -1)
        return da.copy(data=np.moveaxis(_convolve(moved, x, fwhm), -1, da.get_axis_num(dim)))

    if isinstance(full, xr.Dataset):
        out = full.copy()
        for name in full.data_vars:
            if dim in full[name].dims:
                out[name] = conv(full[name])
    else:
        out = conv(full)
    if half:
        out = out.isel({dim: slice(int(np.flatnonzero(full[dim].values == 0)[0]), None)})
    return out


def instrument_resolution(data, energy_fwhm: float | Callable[[np.ndarray], np.ndarray], *, unit: str = "meV",
                          q_fwhm=None, dim: str = "omega"):
    """Energy resolution (and with ``q_fwhm`` a ``|Q|`` resolution over ``q_norm``) of S(Q, omega).

    Parameters
    ----------
    data : xarray.DataArray or Dataset
        Over ``dim`` (rad/ps): a spectrum after :func:`detailed_balance`, or an even classical one on omega >= 0.
    energy_fwhm : float or callable
        FWHM in ``unit`` ("meV" default, "eV", "THz", "rad/ps"), constant or a function of the energy transfer in
        that unit (e.g. a triple-axis or chopper resolution curve).
    unit : {"meV", "eV", "THz", "rad/ps"}
        The unit of ``energy_fwhm`` and of the energy transfer a callable ``energy_fwhm`` receives (default "meV";
        "THz" is ordinary frequency, not angular).
    q_fwhm : float or callable, optional
        FWHM in rad/Å along ``q_norm`` (a powder average, :func:`powder_structure_factor`).
    dim : str
        Name of the angular-frequency axis of ``data``, rad/ps (default "omega").

    Returns
    -------
    Same type, attributes ``energy_resolution`` (and ``q_resolution``).
    """
    out = gaussian_resolution(data, dim, energy_fwhm, unit)
    out.attrs["energy_resolution"] = f"Gaussian, FWHM {'E-dependent' if callable(energy_fwhm) else energy_fwhm} {unit}"
    if q_fwhm is not None:
        if "q_norm" not in out.dims:
            raise ValueError("a ``|Q|`` resolution needs a powder average over q_norm (powder_structure_factor)")
        out = gaussian_resolution(out, "q_norm", q_fwhm)
        out.attrs["q_resolution"] = f"Gaussian, FWHM {'Q-dependent' if callable(q_fwhm) else q_fwhm} rad/Angstrom"
    return out


def powder_structure_factor(traj, q_max: float, *, window: int, n_shells: int = 20,
                            max_per_shell: int | None = None, seed: int = 0, **kwargs):
    """The powder (orientation-averaged) S(``|Q|``, omega) of a run: dynamic_structure_factor at every commensurate q
    up to ``q_max`` (rad/Å), averaged over ``n_shells`` spherical ``|Q|`` shells.

    The q-points and shells are those of :func:`trajmodes.modes.scattering_qpoints.spherical_qpoints`
    (``max_per_shell`` of them drawn at random with ``seed`` where a shell has more), the average that of
    :func:`~trajmodes.modes.scattering_qpoints.shell_average`; ``kwargs`` go to
    :func:`~trajmodes.modes.structure_factor.dynamic_structure_factor` (step, currents, incoherent, weights, ...).

    Parameters
    ----------
    traj : trajmodes.Trajectory
        A periodic run at constant cell with evenly spaced frames, as for
        :func:`~trajmodes.modes.structure_factor.dynamic_structure_factor`.
    q_max : float
        Largest ``|Q|``, rad/Å: the outer edge of the last shell (at most
        :func:`~trajmodes.modes.scattering_qpoints.max_wavevector` of the MD cell).
    window : int
        Frames per correlation window: lags 0 .. window - 1.
    n_shells : int
        Shells of equal width in ``|Q|`` between 0 and ``q_max`` (default 20).
    max_per_shell : int, optional
        Keep at most this many q of a shell, drawn at random; default all (required for a range with more than two
        million commensurate q).
    seed : int
        Seed of that random choice (default 0): the same seed gives the same q.
    **kwargs
        Passed to :func:`~trajmodes.modes.structure_factor.dynamic_structure_factor`.

    Returns
    -------
    xarray.Dataset
        Every variable over (q_norm, ...) with ``q_norm`` the shell centres (rad/Å), ``n_qpoints`` per shell.
    """
    from trajmodes.modes.scattering_qpoints import shell_average, spherical_qpoints
    from trajmodes.modes.structure_factor import dynamic_structure_factor
    cell = traj.frame_structure(0).cell
    q, shell, edges = spherical_qpoints(cell, q_max, n_shells=n_shells, max_per_shell=max_per_shell, seed=seed)
    ds = dynamic_structure_factor(traj, q, window=window, cartesian=True, **kwargs)
    return shell_average(ds, shell, edges)

