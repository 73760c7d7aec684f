"""The quasi-harmonic Green-Kubo (QHGK) conductivity of a disordered cell, from its modes and their linewidths.

L. Isaeva, G. Barbalinardo, D. Donadio and S. Baroni, Nat. Commun. 10, 3853 (2019), eqs. 8-10: with the modes e_i of
the cell at q = 0 (frequencies omega_i = 2 pi nu_i), the velocity matrix v^a_ij = s^a_ij / (2 sqrt(omega_i omega_j)),
s^a_ij = e_i^T S^a e_j, of :mod:`trajmodes.disorder.allen_feldman`, and the anharmonic linewidths Gamma_i of the modes
(full widths at half maximum, Gamma_i = 1 / tau_i in angular frequency)::

    kappa^ab = (1/V) sum_ij c_ij v^a_ij v^b_ij tau_ij,
    tau_ij = g_ij / ((omega_i - omega_j)^2 + g_ij^2),   g_ij = (Gamma_i + Gamma_j) / 2,

tau_ij = pi times the Lorentzian of half width g_ij (the sum of the two modes' half widths), and the two-mode heat
capacity c_ij = k_B x_i x_j (n_j - n_i) / (x_i - x_j), x = h nu / k_B T, n the Bose-Einstein occupations (k_B for
every pair classically; c_ii = C_i, :func:`trajmodes.phonons.harmonic.statistics.heat_capacity_matrix`,
``kind="ibdb19"``). These are the conventions of kALDo's ``Conductivity(method='qhgk')`` (G. Barbalinardo, Z. Chen,
N. W. Lundgren and D. Donadio, J. Appl. Phys. 128, 135104 (2020)), whose ``diffusivity_bandwidth`` b_i is Gamma_i / 2
(rad/ps): its Lorentzian has sigma = 2 (b_i + b_j) = Gamma_i + Gamma_j as full width.

The diagonal i = j (the particle-like term c_i v_ii^2 / Gamma_i) is left out: at q = 0 of a cell with real
eigenvectors v_ii = e_i^T S e_i / (2 omega_i) vanishes, S being antisymmetric. As every Gamma_i -> 0 the conductivity
becomes Allen and Feldman's with c_ij -> C_i; with every Gamma_i = w (THz) it is Allen-Feldman's with a Lorentzian of
half width w, exactly so with classical heat capacities (c_ij = k_B), and the two-mode heat capacity is what the
quantum one adds.

Linewidths here are full widths at half maximum in THz (ordinary frequency), as :func:`trajmodes.fit_peaks` fits them
to an MD run (the lifetime 1 / (2 pi FWHM) ps) and as
:meth:`trajmodes.phonons.anharmonic.anharmonic.Anharmonic.linewidths` gives the perturbative ones (``linewidth``).

Work: the velocity matrix a block of modes at a time (as :func:`~trajmodes.disorder.allen_feldman.allen_feldman`),
s^a[:, block] = E^T (S^a E[:, block]); besides the eigenvectors nothing of size n x n is held, the memory of a block
is checked before the work starts.
"""
from __future__ import annotations

import numpy as np

from trajmodes.disorder.allen_feldman import A2_PS_MM2_S, MAX_BLOCK, physical_modes, velocity_setup
from trajmodes.phonons.harmonic.statistics import check_occupation
from trajmodes.resources import available_memory, require_memory
from trajmodes.units import EV_J, KB_EV, THZ_EV

__all__ = ["qhgk_conductivity", "pair_heat_capacity", "qhgk_block_bytes", "md_linewidths",
           "perturbative_linewidths"]


def qhgk_block_bytes(n3: int, n: int, block: int) -> float:
    """Peak bytes of one block of :func:`qhgk_conductivity`: S^a E[:, block] (3N x block), the three s^a, the
    kernel, the heat capacities and one product (n x block each), 8 bytes per element."""
    return 8.0 * block * (n3 + 6 * n)


def pair_heat_capacity(rows, cols, temperature: float, occupation: str = "quantum") -> np.ndarray:
    """The two-mode heat capacity of QHGK between two sets of modes, eV/K.

    c_ij = k_B x_i x_j (n_i - n_j) / (x_j - x_i), x = h nu / k_B T (Isaeva, Barbalinardo, Donadio and Baroni, Nat.
    Commun. 10, 3853 (2019), eq. 9): the rectangular (rows x cols) block of
    :func:`trajmodes.phonons.harmonic.statistics.heat_capacity_matrix` (``kind="ibdb19"``), which builds the square
    matrix of every pair. Taken without cancellation between close frequencies as, with a = min(x_i, x_j),
    d = abs(x_i - x_j), k_B a (a + d) exprel(-d) / ((e^a - e^-d) (1 - e^-a)), exprel(z) = (e^z - 1) / z; the
    limit d = 0 is the mode's own heat capacity k_B x^2 e^x / (e^x - 1)^2.

    Parameters
    ----------
    rows, cols : array_like (n,), (m,)
        THz; modes at or below zero frequency get zero.
    temperature : float
        K, > 0.
    occupation : {"quantum", "classical"}

    Returns
    -------
    ndarray (n, m), eV/K.
    """
    from scipy.special import exprel
    a_nu = np.asarray(rows, dtype=float)[:, None]
    b_nu = np.asarray(cols, dtype=float)[None, :]
    live = (a_nu > 0) & (b_nu > 0)
    if check_occupation(occupation) == "classical":
        return np.where(live, KB_EV, 0.0)
    if not temperature > 0:
        raise ValueError(f"the two-mode heat capacity needs a temperature above 0 K, not {temperature!r}")
    kT = KB_EV * float(temperature)
    xa, xb = a_nu * THZ_EV / kT, b_nu * THZ_EV / kT
    lo, d = np.minimum(xa, xb), np.abs(xa - xb)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        c = KB_EV * lo * (lo + d) * exprel(-d) / ((np.expm1(lo) - np.expm1(-d)) * (-np.expm1(-lo)))
    return np.where(live, np.nan_to_num(c, nan=0.0, posinf=0.0), 0.0)


def _linewidths(linewidths, nu, ok) -> np.ndarray:
    """The modes' FWHM (THz) checked: finite and positive on every mode that carries heat."""
    g = np.asarray(linewidths, dtype=float)
    if g.ndim == 0:
        g = np.full(len(nu), float(g))
    if g.shape != nu.shape:
        raise ValueError(f"linewidths must be one FWHM (THz) per mode ({len(nu)} of them) or one for all, not an array "
                         f"of shape {g.shape}")
    bad = ok & ~(np.isfinite(g) & (g > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{int(bad.sum())} of the {int(ok.sum())} modes that carry heat have no positive finite "
                         f"linewidth (first: mode {i} at {nu[i]:.4g} THz, {g[i]!r}): give every such mode a FWHM in THz "
                         "(e.g. interpolate the fitted ones over frequency) or raise cutoff_frequency above them")
    return np.where(ok, g, 1.0)


def qhgk_conductivity(model, modes, linewidths, temperatures, occupation: str = "quantum",
                      cutoff_frequency: float = 0.0, memory_fraction: float = 0.25, block: int | None = None):
    """The quasi-harmonic Green-Kubo conductivity of a disordered cell (the module's formula).

    Parameters
    ----------
    model : GlassHarmonic
        The cell (its dynamical matrix and positions).
    modes : GlassModes
        Every mode of the cell with its eigenvectors (``gamma_modes(model)``); a window of modes misses the partners
        beyond it.
    linewidths : float or array_like (n,)
        THz, the full width at half maximum of every mode (from an MD run: :func:`md_linewidths` of the fits of its
        projection onto the modes, :class:`~trajmodes.disorder.glass.GlassPhonons`; or perturbative); one number
        for all. Modes that carry nothing (the three translations, those at or below ``cutoff_frequency``) may have
        any value.
    temperatures : float or array_like
        Temperatures (K) at which the modes' heat capacities, and so the conductivity, are evaluated.
    occupation : {"quantum", "classical"}
        The two-mode heat capacity (:func:`pair_heat_capacity`).
    cutoff_frequency : float
        THz; modes at or below it carry nothing (besides the three lowest, always left out).
    memory_fraction : float
        Share of the available memory the blocks may take.
    block : int, optional
        Modes per block (default: from the memory budget, at most
        :data:`~trajmodes.disorder.allen_feldman.MAX_BLOCK`).

    Returns
    -------
    xarray.Dataset
        ``conductivity`` over ``temperature`` (W/(m K), the mean of the diagonal), ``conductivity_tensor`` over
        (``temperature``, ``cartesian``, ``cartesian2``), ``mode_conductivity`` over (``temperature``, ``mode``)
        (each mode's share of ``conductivity``: (1/V) sum_j c_ij D_ij); over ``mode``: ``frequency`` (THz),
        ``linewidth`` (FWHM, THz), ``diffusivity`` (mm²/s, (1/3) sum_a sum_j D^aa_ij, D^aa_ij = pi
        abs(v^a_ij)^2 L_ij, the temperature-independent diffusivity kALDo reports; NaN for the modes that carry
        nothing), ``physical``. Attributes: volume (Å³), occupation.

    Raises
    ------
    ValueError
        Without eigenvectors; linewidths not positive and finite on a mode that carries heat; a bad occupation.
    MemoryError
        Before any work, when a block of the requested size does not fit.
    """
    import xarray as xr
    check_occupation(occupation)
    T = np.atleast_1d(np.asarray(temperatures, dtype=float))
    if not (np.all(np.isfinite(T)) and np.all(T > 0)):
        raise ValueError(f"temperatures must be positive numbers of kelvin, not {temperatures!r}")
    E, nu, nu_si, omega, ok, S = velocity_setup(model, modes, cutoff_frequency, "QHGK")
    n3, n = E.shape
    g = _linewidths(linewidths, nu, ok)
    if block is None:
        budget = memory_fraction * (available_memory() or 4e9)
        block = int(np.clip(budget / qhgk_block_bytes(n3, n, 1), 1, MAX_BLOCK))
    block = int(max(1, min(block, n)))
    require_memory(qhgk_block_bytes(n3, n, block), f"blocks of {block} modes of the QHGK velocity matrix",
                   "pass a smaller block", max(memory_fraction, 0.5))
    pair = np.zeros((len(T), 3, 3))                                           # sum_ij c_ij s^a s^b K, eV/K A^2/ps
    per_mode = np.zeros((len(T), n))
    diff = np.full((n, 3), np.nan)
    nu_c = np.where(ok, nu, 0.0)
    idx = np.flatnonzero(ok)
    for start in range(0, len(idx), block):
        b = idx[start:start + block]
        # kernel (n, |b|): pi L(omega_i - omega_j; (Gamma_i + Gamma_j) / 2) / (4 omega_i omega_j), L per rad/ps
        hw = 0.5 * (g[:, None] + g[None, b])                                  # THz
        x = nu_si[:, None] - nu_si[None, b]
        K = (hw / (2.0 * np.pi)) / (x * x + hw * hw) / (4.0 * omega[:, None] * omega[None, b])
        K[~ok] = 0.0
        K[b, np.arange(len(b))] = 0.0                                         # j != i: v_ii = 0 at q = 0
        s = [E.T @ (Sa @ E[:, b]) for Sa in S]                                # s^a_ji, (n, |b|), A/ps^2
        for a in range(3):
            diff[b, a] = np.einsum("jb,jb->b", s[a] * s[a], K)
        for t, temp in enumerate(T):
            W = pair_heat_capacity(nu_c, nu_c[b], temp, occupation) * K      # c_ji K_ji
            for a in range(3):
                Wa = W * s[a]
                for c in range(a, 3):
                    col = np.einsum("jb,jb->b", Wa, s[c])
                    pair[t, a, c] += col.sum()
                    if c == a:
                        per_mode[t, b] += col / 3.0
    iu = np.triu_indices(3, 1)
    pair[:, iu[1], iu[0]] = pair[:, iu[0], iu[1]]
    V = model.volume * 1e-30                                                  # m^3
    to_si = EV_J * A2_PS_MM2_S * 1e-6 / V                                     # eV/K A^2/ps -> W/(m K)
    kappa = pair * to_si
    diff *= A2_PS_MM2_S
    return xr.Dataset(
        {"conductivity": ("temperature", np.trace(kappa, axis1=1, axis2=2) / 3.0,
                          {"units": "W/(m K)", "long_name": "quasi-harmonic Green-Kubo conductivity (Isaeva et al. "
                                                            "2019)"}),
         "conductivity_tensor": (("temperature", "cartesian", "cartesian2"), kappa, {"units": "W/(m K)"}),
         "mode_conductivity": (("temperature", "mode"), per_mode * to_si,
                               {"units": "W/(m K)", "long_name": "each mode's share of the conductivity"}),
         "frequency": ("mode", nu, {"units": "THz"}),
         "linewidth": ("mode", np.where(ok, g, np.nan), {"units": "THz", "long_name": "FWHM"}),
         "diffusivity": ("mode", diff.mean(axis=1), {"units": "mm^2/s",
                                                     "long_name": "QHGK diffusivity (1/3) sum_a sum_j D^aa_ij"}),
         "physical": ("mode", ok, {"long_name": "carries heat (not a translation, above the cutoff frequency)"})},
        coords={"temperature": ("temperature", T, {"units": "K"}), "cartesian": ["x", "y", "z"],
                "cartesian2": ["x", "y", "z"]},
        attrs={"volume": model.volume, "volume_units": "Angstrom^3", "occupation": occupation,
               "modes": modes.method, "n_atoms": model.n_atoms})


def md_linewidths(peaks, modes, accept=("ok",)):
    """Every mode's linewidth from the peak fits of an MD run projected onto a glass's modes, for
    :func:`qhgk_conductivity`.

    The run is projected with :class:`~trajmodes.disorder.glass.GlassPhonons` (``trajmodes.project``), its lines
    fitted with :func:`trajmodes.fit_peaks` on :func:`trajmodes.mode_spectra`; the modes whose fit has a status in
    ``accept`` keep their FWHM, the others (too narrow for the run's resolution, ill-determined) get the FWHM
    interpolated linearly in frequency between the nearest accepted ones (held constant beyond the first and last).

    Parameters
    ----------
    peaks : xarray.Dataset
        :func:`trajmodes.fit_peaks` of the projection: ``fwhm``, ``fwhm_err``, ``lifetime``, ``lifetime_err``,
        ``status`` over (q, branch) with one q (Gamma), one branch per mode of ``modes``, in their order.
    modes : GlassModes
        The modes projected onto.
    accept : tuple of str
        Fit statuses whose widths are taken as measured.

    Returns
    -------
    xarray.Dataset over ``mode``: ``linewidth`` (FWHM, THz, every mode that carries heat; NaN for the three
    translations and any mode at or below zero frequency),
    ``measured`` (bool: fitted and accepted), ``fwhm``, ``fwhm_err``, ``lifetime``, ``lifetime_err`` (ps; NaN where
    not accepted) and ``frequency`` (THz, harmonic).

    Raises
    ------
    ValueError
        When the fits are not of these modes, or none is accepted.
    """
    import xarray as xr
    nu = np.asarray(modes.frequencies, dtype=float)
    if peaks.sizes.get("q") != 1 or peaks.sizes.get("branch") != len(nu):
        raise ValueError(f"the peak fits have {dict(peaks.sizes)} (q, branch); a glass's projection has one q "
                         f"(Gamma) and one branch per mode ({len(nu)}): fit the projection onto these modes")
    if "frequency_harmonic" in peaks.coords and \
            not np.allclose(peaks.frequency_harmonic.values[0], nu, rtol=1e-9, atol=1e-6):
        raise ValueError("the peak fits' harmonic frequencies are not those of these modes: fit the projection onto "
                         "them (GlassPhonons(modes, crystal))")
    fw = peaks.fwhm.values[0].astype(float)
    live = physical_modes(nu, 0.0, len(nu) == 3 * len(modes.masses))
    ok = np.isin(peaks.status.values[0].astype(str), list(accept)) & np.isfinite(fw) & (fw > 0) & live
    if not ok.any():
        raise ValueError(f"no line was fitted with a status in {tuple(accept)}: run longer, or accept other statuses")
    order = np.argsort(nu[ok])
    filled = np.interp(nu, nu[ok][order], fw[ok][order])
    keep = lambda v: np.where(ok, peaks[v].values[0].astype(float), np.nan)   # noqa: E731
    return xr.Dataset(
        {"linewidth": ("mode", np.where(live, np.where(ok, fw, filled), np.nan),
                       {"units": "THz", "long_name": "FWHM, fitted or interpolated in frequency"}),
         "measured": ("mode", ok, {"long_name": f"fitted with a status in {tuple(accept)}"}),
         "fwhm": ("mode", keep("fwhm"), {"units": "THz"}), "fwhm_err": ("mode", keep("fwhm_err"), {"units": "THz"}),
         "lifetime": ("mode", keep("lifetime"), {"units": "ps", "long_name": "1 / (2 pi FWHM)"}),
         "lifetime_err": ("mode", keep("lifetime_err"), {"units": "ps"}),
         "frequency": ("mode", nu, {"units": "THz"})})


def perturbative_linewidths(anharmonic, modes) -> np.ndarray:
    """Three-phonon linewidths of a glass's modes, for :func:`qhgk_conductivity`: the bubble self-energy at the one
    q-point of the cell (Gamma) with every partner mode of the cell, from an
    :class:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic` of the cell on a 1 x 1 x 1 mesh, its delta functions
    Gaussians that span a few level spacings (a glass's modes are discrete)::

        fc = potential.force_constants3(glass, primitive=glass)     # N^3 x 27 doubles: 56 MB at 64 atoms
        an = Anharmonic(fc, 1, temperatures=[50.0], occupation="classical", smearing=0.1, allow_unstable=True)
        widths = perturbative_linewidths(an, gamma_modes(GlassHarmonic.from_potential(potential, glass)))

    ``allow_unstable=True``: Anharmonic checks the harmonic constants for imaginary modes on a mesh of q-points as for
    a crystal, which means nothing for a glass (its cell is not the unit of a lattice); the modes at Gamma, the
    glass's own, are checked here.

    Parameters
    ----------
    anharmonic : Anharmonic
        Of the cell as its own primitive cell (constants with ``fc3``), on the mesh 1.
    modes : GlassModes
        Every mode of the same cell (``gamma_modes``), whose frequencies the result is matched against.

    Returns
    -------
    ndarray (n_temperatures, n), FWHM in THz at the Anharmonic's temperatures, in the order of ``modes`` (0 for
    the translations).

    Raises
    ------
    ValueError
        When the mesh is not the cell's Gamma point alone, the constants are not those of the modes' cell, or the
        cell has imaginary modes at Gamma.
    """
    nu = np.asarray(modes.frequencies, dtype=float)
    f = np.asarray(anharmonic.frequencies, dtype=float)
    if f.shape[0] != 1:
        raise ValueError(f"the Anharmonic's mesh holds {f.shape[0]} q-points: a glass's cell has Gamma alone, build it "
                         "with the mesh 1")
    if f.shape[1] != len(nu) or not np.allclose(f[0], nu, rtol=1e-6, atol=1e-5):
        raise ValueError(f"the Anharmonic's {f.shape[1]} frequencies at Gamma are not those of the {len(nu)} modes: "
                         "give the constants of the cell the modes were computed for")
    if nu[3] <= 0:
        raise ValueError(f"the cell has imaginary modes at Gamma (the fourth lowest at {nu[3]:.4g} THz): relax it "
                         "before three-phonon widths")
    return anharmonic.linewidths(np.zeros((1, 3))).linewidth.values[:, 0].astype(float)
