"""Mass disorder on the sites of one lattice: the virtual crystal, the mass variances of a sample, and the exact
harmonic lineshapes of the sample on the virtual crystal's modes.

A crystal whose sites hold atoms of different masses (an isotope mixture; a substitutional alloy with the force
constants of its average) has no Bloch modes. Its *virtual crystal* puts on every primitive site k the mean mass
mbar_k of the atoms that occupy it, with the same force constants; its modes (q, nu) are the reference a
measurement is projected on, and the sample's disorder on each site is its mass variance
g2_k = < (1 - m / mbar_k)^2 > (:func:`site_masses`), the quantity of Tamura's lowest-order scattering rate
(Tamura, Phys. Rev. B 27, 858 (1983); :func:`trajmodes.phonons.anharmonic.isotope.isotope_gamma`).

**Exact harmonic lineshapes of the sample.** The sample's own dynamical matrix at the Gamma point of its supercell,
D_ij = Phi_ij / sqrt(m_i m_j) with the constants on the supercell and the masses of its atoms
(:func:`sample_dynamical_matrix`), has real orthonormal eigenvectors eps_s and frequencies nu_s. A mode (q, nu) of the
virtual crystal at a q commensurate with the supercell is the unit vector

    v_{q nu}(i a) = e_{k(i) a}(q nu) exp(2 pi i q . x_i) / sqrt(N_c),

x_i the ideal site of atom i (primitive reduced coordinates), N_c the number of primitive cells, and its weight in
the sample's mode s is W_s(q nu) = abs(v^dagger eps_s)^2, summing to one over s. In a classical harmonic run every mode
of the sample holds k_B T, so the spectrum of the velocities projected onto v with the atoms' own masses
(Q'_{q nu} = sum_i sqrt(m_i) v*(i) . u'_i) is k_B T sum_s W_s(q nu) delta(nu - nu_s): what MD measures at low
temperature, to every order in the mass differences (:func:`exact_lineshapes`, by diagonalisation). Its moments are
exact identities of D: sum_s W_s lambda_s = v^dagger D v and sum_s W_s lambda_s^2 = (D v)^dagger (D v) (lambda = (nu / THZ)^2),
which the tests check. Summed over the branches at q, W is the unfolded spectral weight of the supercell's modes on
the virtual crystal's zone (P. B. Allen, T. Berlijn, D. A. Casavant and J. M. Soler, Phys. Rev. B 87, 085322
(2013)): ``unfolded``.

:func:`expected_spectra` draws these lines as :func:`trajmodes.mode_spectra` estimates a run's spectra (its window,
segments and frequency axis), so that :func:`trajmodes.fit_peaks` measures the exact lineshapes and the run's
spectra with the same estimator.

For a sample too large to diagonalise, the same spectral densities follow from Chebyshev moments of the sparse D on
the vectors v, mu_n = v^dagger T_n(D~) v (D~ scaled into [-1, 1]), and the kernel polynomial method with the Jackson
kernel (A. Weisse, G. Wellein, A. Alvermann and H. Fehske, Rev. Mod. Phys. 78, 275 (2006)):
:func:`kpm_lineshapes`, in sparse matrix-vector products only (memory linear in the atoms).
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from trajmodes.phonons.harmonic.dynamical import DynamicalMatrix, frequencies_from_eigenvalues
from trajmodes.units import THZ

__all__ = ["site_masses", "sample_dynamical_matrix", "virtual_crystal_modes", "exact_lineshapes", "kpm_lineshapes",
           "lorentzian_spectrum", "expected_spectra"]


def site_masses(masses, smap) -> tuple[np.ndarray, np.ndarray]:
    """The virtual crystal's masses and the sample's mass variance on every primitive site.

    Parameters
    ----------
    masses : array_like (N,)
        The mass of every atom of the sample, amu, in the order of the supercell map.
    smap : SupercellMap
        Where each atom sits on the primitive lattice (``smap.atom``).

    Returns
    -------
    mbar : ndarray (n,)
        Mean mass of the atoms on each primitive site, amu.
    g2 : ndarray (n,)
        Mass variance of each site, < (1 - m / mbar)^2 > over its atoms (dimensionless; Tamura 1983's g2 for the
        masses of this sample rather than a natural abundance).
    """
    m = np.asarray(masses, dtype=float).reshape(-1)
    atom = np.asarray(smap.atom)
    if len(m) != len(atom):
        raise ValueError(f"{len(m)} masses for a supercell of {len(atom)} atoms: give one mass per atom")
    if np.any(~np.isfinite(m)) or np.any(m <= 0):
        raise ValueError("every mass must be a positive number of amu")
    n = int(atom.max()) + 1
    count = np.bincount(atom, minlength=n)
    mbar = np.bincount(atom, weights=m, minlength=n) / count
    g2 = np.bincount(atom, weights=(1.0 - m / mbar[atom]) ** 2, minlength=n) / count
    return mbar, g2


def sample_dynamical_matrix(force_constants, masses, sample_constants=None):
    """The dynamical matrix of the sample at the Gamma point of its supercell, sparse.

    Parameters
    ----------
    force_constants : ForceConstants
        Harmonic constants on the sample's supercell (compact layout: each primitive atom's row, repeated over the
        lattice translations; those of the virtual crystal or of the average lattice).
    masses : array_like (N,)
        The mass of every atom, amu.
    sample_constants : scipy.sparse matrix (3N, 3N), optional
        The sample's own constants, eV/Å², rows and columns 3 i + a in the supercell's atom order (a species-resolved
        fit's :attr:`~trajmodes.forceconstants.fit.EffectiveForceConstants.sample_force_constants_`: force-constant
        disorder); used instead of ``force_constants`` repeated over the lattice.

    Returns
    -------
    scipy.sparse.csr_matrix (3N, 3N)
        D_ij = Phi_ij / sqrt(m_i m_j), eV/(Å² amu), rows and columns 3 i + a; as many 3 x 3 blocks as the constants
        reach (no array over pairs of atoms).
    """
    import scipy.sparse as sp
    fc = force_constants
    smap, p2s = fc.smap, np.asarray(fc.p2s)
    m = np.asarray(masses, dtype=float).reshape(-1)
    N = len(smap.atom)
    if len(m) != N:
        raise ValueError(f"{len(m)} masses for a supercell of {N} atoms: give one mass per atom")
    if sample_constants is not None:
        phi = sp.csr_matrix(sample_constants)
        if phi.shape != (3 * N, 3 * N):
            raise ValueError(f"sample_constants has shape {phi.shape} for a supercell of {N} atoms: give the "
                             f"({3 * N}, {3 * N}) matrix of the sample in the supercell's atom order")
        w = sp.diags(np.repeat(1.0 / np.sqrt(m), 3))
        D = (w @ phi @ w).tocsr()
        return 0.5 * (D + D.T)
    compact = fc.compact()
    rows, cols, vals = [], [], []
    for k in range(len(p2s)):
        reach = np.flatnonzero(np.any(compact[k] != 0, axis=(1, 2)))
        atoms = np.flatnonzero(smap.atom == k)
        shift = smap.lattice[atoms] - smap.lattice[p2s[k]]                      # (A, 3): translation of each atom
        j = smap.index(smap.atom[reach][None, :], smap.lattice[reach][None, :, :] + shift[:, None, :])   # (A, R)
        rows.append(np.repeat(atoms, len(reach)))
        cols.append(j.reshape(-1))
        vals.append(np.broadcast_to(compact[k, reach], (len(atoms), len(reach), 3, 3)).reshape(-1, 3, 3))
    i, j = np.concatenate(rows), np.concatenate(cols)
    blocks = np.concatenate(vals) / np.sqrt(m[i] * m[j])[:, None, None]
    ii = (3 * i[:, None, None] + np.arange(3)[None, :, None]).repeat(3, axis=2).reshape(-1)
    jj = (3 * j[:, None, None] + np.arange(3)[None, None, :]).repeat(3, axis=1).reshape(-1)
    D = sp.csr_matrix((blocks.reshape(-1), (ii, jj)), shape=(3 * N, 3 * N))
    return 0.5 * (D + D.T)


def virtual_crystal_modes(force_constants, mbar, qpoints) -> tuple[np.ndarray, np.ndarray]:
    """The modes of the virtual crystal (the constants with the mean mass ``mbar`` on each site) at ``qpoints``,
    as vectors on the supercell's atoms.

    Parameters
    ----------
    force_constants : ForceConstants
        Constants (eV/Å²) on the sample's supercell.
    mbar : array_like (n,)
        Mean mass of each primitive site, amu (:func:`site_masses`).
    qpoints : array_like (nq, 3)
        Reduced (no 2 pi), commensurate with the supercell.

    Returns
    -------
    frequencies : ndarray (nq, 3n)
        Frequencies of the virtual crystal's modes at each q, THz.
    vectors : ndarray (nq, 3N, 3n) complex
        v_{q nu}(3 i + a) = e_{k(i) a}(q nu) exp(2 pi i q . x_i) / sqrt(N_c): unit columns.
    """
    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.lattice.crystal import Crystal
    fc = force_constants
    prim = Crystal(fc.primitive.cell, fc.primitive.positions, fc.primitive.species, np.asarray(mbar, dtype=float))
    vca = ForceConstants(fc.compact(), fc.supercell, prim, smap=fc.smap, p2s=fc.p2s)
    q = np.atleast_2d(np.asarray(qpoints, dtype=float))
    S = np.asarray(fc.smap.matrix, dtype=float)
    if np.abs(q @ S.T - np.rint(q @ S.T)).max() > 1e-8:
        raise ValueError("the q-points must be commensurate with the sample's supercell (S q integer): the sample has "
                         "modes at those q only (trajmodes.lattice.qpoints.commensurate_qpoints)")
    f, e = DynamicalMatrix(vca).frequencies_and_eigenvectors(q)
    smap = fc.smap
    x = prim.scaled_positions[smap.atom] + smap.lattice                          # (N, 3) primitive reduced
    phase = np.exp(2j * np.pi * q @ x.T) / np.sqrt(smap.n_cells)                 # (nq, N)
    n = len(prim.masses)
    e = e.reshape(len(q), n, 3, 3 * n)
    v = e[:, smap.atom] * phase[:, :, None, None]                                # (nq, N, 3, 3n)
    return f, v.reshape(len(q), 3 * len(smap.atom), 3 * n)


def _sample_modes(D) -> tuple[np.ndarray, np.ndarray]:
    from trajmodes.resources import require_memory
    n = D.shape[0]
    require_memory(3.5 * 8.0 * n * n, f"the eigenvectors of the sample's {n} x {n} dynamical matrix",
                   "use kpm_lineshapes (sparse products only) for a sample this large")
    lam, eps = np.linalg.eigh(D.toarray())
    return lam, eps


def exact_lineshapes(force_constants, masses, qpoints=None, frequencies=None, sigma: float | None = None,
                     sample_constants=None) -> xr.Dataset:
    """The exact harmonic spectral functions of a mass-disordered sample on the modes of its virtual crystal, by
    diagonalisation of the sample's dynamical matrix (3N x 3N dense: a few thousand atoms).

    Parameters
    ----------
    force_constants : ForceConstants
        Constants on the sample's supercell.
    masses : array_like (N,)
        The sample's masses, amu, in the supercell's atom order.
    qpoints : array_like (nq, 3), optional
        Reduced, commensurate with the supercell; default every commensurate q.
    frequencies : array_like, optional
        The frequency axis of the broadened spectra, THz; default 0 to 1.1 times the highest mode, 600 points.
    sigma : float, optional
        Half width at half maximum of the Lorentzian each mode is drawn with, THz; default three times the mean
        spacing of the sample's modes (a smooth curve from discrete modes).
    sample_constants : scipy.sparse matrix (3N, 3N), optional
        The sample's own constants (eV/Å², :func:`sample_dynamical_matrix`): the lineshapes then hold the
        force-constant disorder too; ``force_constants`` (the virtual crystal's) give the modes projected on.

    Returns
    -------
    xarray.Dataset
        ``frequency_vca`` (q, branch) THz, the virtual crystal's; ``mean_frequency`` (q, branch) THz, sum_s W_s nu_s;
        ``frequency_shift`` its difference from the virtual crystal's; ``rms_width`` (q, branch) THz, the spread
        sqrt(sum_s W_s (nu_s - mean)^2); ``spectral_function`` (q, branch, frequency) 1/THz, sum_s W_s L(nu - nu_s)
        (each integrates to one); ``unfolded`` (q, frequency) 1/THz, its sum over the branches (Allen et al. 2013);
        ``mode_frequency`` (mode) THz and ``weight`` (q, branch, mode), the sample's modes and W_s(q nu). Attributes:
        ``sigma`` THz, ``g2`` the mass variance of each primitive site.
    """
    from trajmodes.lattice.qpoints import commensurate_qpoints
    fc = force_constants
    mbar, g2 = site_masses(masses, fc.smap)
    q = commensurate_qpoints(fc.smap.matrix) if qpoints is None else np.atleast_2d(np.asarray(qpoints, float))
    D = sample_dynamical_matrix(fc, masses, sample_constants)
    lam, eps = _sample_modes(D)
    nu_s = frequencies_from_eigenvalues(lam)
    f_vca, v = virtual_crystal_modes(fc, mbar, q)
    nq, dim, nb = v.shape
    W = np.empty((nq, nb, len(lam)))
    step = max(1, dim // (2 * nb))                                 # blocks of q: two real products of eps' size
    for lo in range(0, nq, step):
        V = v[lo:lo + step].transpose(0, 2, 1).reshape(-1, dim)   # (q b, 3N), rows v^dagger up to conjugation
        re, im = V.real @ eps, V.imag @ eps
        W[lo:lo + step] = (re * re + im * im).reshape(-1, nb, len(lam))
    return _dataset(q, f_vca, W, nu_s, frequencies, sigma, g2, method="diagonalisation")


def lorentzian_spectrum(centres, weights, axis, sigma: float) -> np.ndarray:
    """sum_s weights[..., s] L(axis - centres[s]) with L the unit Lorentzian of half width ``sigma``: (..., len(axis)),
    in the inverse unit of ``axis``.

    Parameters
    ----------
    centres : array_like (S,)
        Centre of each line, in the unit of ``axis`` (THz for the lineshapes).
    weights : array_like (..., S)
        Weight of each line (dimensionless: each line integrates to its weight).
    axis : array_like (F,)
        Where the spectrum is evaluated, e.g. frequencies in THz.
    sigma : float
        Half width at half maximum of every line, in the unit of ``axis``.
    """
    from trajmodes.disorder.allen_feldman import broadening_kernel
    d = np.asarray(axis, float)[None, :] - np.asarray(centres, float)[:, None]          # (S, F)
    L = broadening_kernel(d, sigma, "lorentzian")
    w = np.asarray(weights, float)
    return (w.reshape(-1, w.shape[-1]) @ L).reshape(w.shape[:-1] + (len(axis),))


def _dataset(q, f_vca, W, nu_s, frequencies, sigma, g2, method: str) -> xr.Dataset:
    top = float(max(nu_s.max(), f_vca.max()))
    axis = np.linspace(0.0, 1.1 * top, 600) if frequencies is None else np.asarray(frequencies, float)
    if sigma is None:
        sigma = 3.0 * top / len(nu_s)
    mean = W @ nu_s
    rms = np.sqrt(np.maximum(W @ nu_s ** 2 - mean ** 2, 0.0))
    A = lorentzian_spectrum(nu_s, W, axis, sigma)
    return _lines(q, axis, f_vca, mean, rms, A,
                  {"mode_frequency": (("mode",), nu_s, {"units": "THz"}), "weight": (("q", "branch", "mode"), W)},
                  {"sigma": float(sigma), "sigma_units": "THz", "g2": np.asarray(g2, float), "method": method,
                   "reference": "W_s(q nu) = abs(v_{q nu}^dagger eps_s)^2 (Allen, Berlijn, Casavant and Soler, "
                                "Phys. Rev. B 87, 085322 (2013))"})


def _lines(q, axis, f_vca, mean, rms, A, extra: dict, attrs: dict) -> xr.Dataset:
    """The Dataset of :func:`exact_lineshapes` and :func:`kpm_lineshapes` (``extra``: their own variables)."""
    return xr.Dataset(
        {"frequency_vca": (("q", "branch"), f_vca, {"units": "THz"}),
         "mean_frequency": (("q", "branch"), mean, {"units": "THz"}),
         "frequency_shift": (("q", "branch"), mean - f_vca, {"units": "THz"}),
         "rms_width": (("q", "branch"), rms, {"units": "THz"}),
         "spectral_function": (("q", "branch", "frequency"), A, {"units": "1/THz"}),
         "unfolded": (("q", "frequency"), A.sum(axis=1), {"units": "1/THz"}), **extra},
        coords={"qpoint": (("q", "reduced"), q), "frequency": ("frequency", axis, {"units": "THz"})}, attrs=attrs)


def kpm_lineshapes(force_constants, masses, qpoints=None, frequencies=None, n_moments: int = 512,
                   sample_constants=None) -> xr.Dataset:
    """The spectral functions of :func:`exact_lineshapes` by the kernel polynomial method: Chebyshev moments of the
    sample's sparse dynamical matrix on each virtual-crystal mode vector, resummed with the Jackson kernel (Weisse et
    al., Rev. Mod. Phys. 78, 275 (2006)); sparse products only, memory linear in the atoms.

    The resolution is that of ``n_moments``: the Jackson kernel is about a Gaussian of standard deviation
    pi / n_moments in the scaled eigenvalue, i.e. about pi a / n_moments in lambda = (nu / THZ)^2 (a the half width
    of the spectrum), so nu's resolution is finest at the band top and coarser towards nu = 0. The moments sum_s W_s lambda_s and
    sum_s W_s lambda_s^2 are exact; ``mean_frequency`` and ``rms_width`` come from the resummed density on the
    frequency axis, NaN for a line with more than 5 % of its weight at lambda < 0 (the acoustic modes at Gamma,
    imaginary modes: a warning says when the sample has them).

    Parameters
    ----------
    force_constants : ForceConstants
        Constants on the sample's supercell (eV/Å²), the virtual crystal's when ``sample_constants`` is given.
    masses : array_like (N,)
        The sample's masses, amu, in the supercell's atom order.
    qpoints : array_like (nq, 3), optional
        Reduced, commensurate with the supercell; default every commensurate q.
    frequencies : array_like, optional
        The frequency axis of the spectra, THz; default 0 to 1.1 times the highest mode, 600 points.
    n_moments : int
        Chebyshev moments per mode vector: the resolution (above); the cost is linear in it.
    sample_constants : scipy.sparse matrix (3N, 3N), optional
        The sample's own constants, eV/Å², as in :func:`exact_lineshapes`.

    Returns
    -------
    xarray.Dataset
        As :func:`exact_lineshapes` without the sample's modes (``mode_frequency``, ``weight``): ``frequency_vca``,
        ``mean_frequency``, ``frequency_shift``, ``rms_width``, ``spectral_function``, ``unfolded``; and
        ``chebyshev_moments`` (q, branch, moment), mu_n = v^dagger T_n(D~) v with D~ = (D - b) / a, ``b`` and ``a``
        (eV/(Å² amu)) attributes (:func:`trajmodes.disorder.kpm.spectral_bounds`); attribute ``n_moments``.
    """
    import scipy.sparse as sp

    from trajmodes.disorder.kpm import column_moments, jackson_kernel, kpm_density, spectral_bounds
    from trajmodes.lattice.qpoints import commensurate_qpoints
    fc = force_constants
    mbar, g2 = site_masses(masses, fc.smap)
    q = commensurate_qpoints(fc.smap.matrix) if qpoints is None else np.atleast_2d(np.asarray(qpoints, float))
    D = sample_dynamical_matrix(fc, masses, sample_constants)
    f_vca, v = virtual_crystal_modes(fc, mbar, q)
    b, a = spectral_bounds(D)                                   # D~ = (D - b) / a: spectrum in [-1, 1]
    nq, dim, nb = v.shape
    V = v.transpose(1, 0, 2).reshape(dim, nq * nb)              # every mode vector a column
    H = ((D - b * sp.identity(D.shape[0], format="csr")) / a).tocsr()
    mu = column_moments(H, V, n_moments)                        # (M, modes): two blocks of vectors held
    top_nu = float(frequencies_from_eigenvalues(np.array([b + a]))[0])
    axis = np.linspace(0.0, 1.1 * max(top_nu, f_vca.max()), 600) if frequencies is None else \
        np.asarray(frequencies, float)
    # density in nu: rho(nu) = rho(lambda) dlambda/dnu, lambda = (nu / THZ)^2
    A = kpm_density(mu, b, a, (axis / THZ) ** 2) * (2.0 * axis / THZ ** 2)[None, :]
    A = A.reshape(nq, nb, len(axis))
    dnu = np.gradient(axis)
    norm = np.maximum((A * dnu).sum(axis=-1), 1e-300)
    mean = (A * axis * dnu).sum(axis=-1) / norm
    rms = np.sqrt(np.maximum((A * axis ** 2 * dnu).sum(axis=-1) / norm - mean ** 2, 0.0))
    # a line with weight at lambda < 0 (imaginary modes, which nu >= 0 does not reach) has no mean drawn here: its
    # resummed weight there, int_{-1}^{x0} rho(x) dx with x = cos(theta), is exact in the moments (no quadrature)
    theta0 = np.arccos(np.clip(-b / a, -1.0, 1.0))
    n = np.arange(1, n_moments)
    g = jackson_kernel(n_moments)
    below = g[0] * mu[0] * (np.pi - theta0) / np.pi - 2.0 / np.pi * ((g[1:] * np.sin(n * theta0) / n) @ mu[1:])
    off = (below > 0.05 * mu[0]).reshape(nq, nb)
    mean[off], rms[off] = np.nan, np.nan
    imaginary = off & (f_vca < -1e-3)
    if imaginary.any():
        import warnings
        warnings.warn(f"{int(imaginary.sum())} of the virtual crystal's modes are imaginary (down to "
                      f"{f_vca.min():.3g} THz): the kernel polynomial lines cover nu >= 0 only, so their mean_frequency "
                      "and rms_width are NaN; exact_lineshapes draws them", UserWarning, stacklevel=2)
    return _lines(q, axis, f_vca, mean, rms, A,
                  {"chebyshev_moments": (("q", "branch", "moment"), mu.T.reshape(nq, nb, n_moments))},
                  {"n_moments": int(n_moments), "b": b, "a": a, "g2": np.asarray(g2, float),
                   "method": "kernel polynomial", "kernel": "Jackson (Weisse et al., Rev. Mod. Phys. 78, 275 (2006))"})


def expected_spectra(lineshapes: xr.Dataset, spectra: xr.Dataset, temperature: float) -> xr.Dataset:
    """The spectra a classical harmonic run of the sample gives on average, drawn as ``spectra`` were estimated.

    Every mode s of the harmonic sample holds k_B T, half of it kinetic, so the kinetic-energy spectral density of
    Q'_{q nu} is (k_B T / 2) sum_s W_s(q nu) K(nu - nu_s), with K the expected periodogram of one line through the
    segments' window (abs(sum_t w_t exp(-2 pi i nu t))^2, normalised to unit area on nu >= 0): what
    :func:`trajmodes.mode_spectra` estimates from a run of infinite length, segment for segment.

    Parameters
    ----------
    lineshapes : xarray.Dataset
        From :func:`exact_lineshapes` (``weight``, ``mode_frequency``, ``qpoint``), at every q of ``spectra``
        (q the same modulo a reciprocal lattice vector).
    spectra : xarray.Dataset
        From :func:`trajmodes.mode_spectra` of the run projected on the virtual crystal's modes (``psd`` of Q').
    temperature : float
        Temperature of the run (K): the classical equipartition weight k_B T / 2 of every line.

    Returns
    -------
    xarray.Dataset
        A copy of ``spectra`` with ``psd`` (eV/THz) the expected spectra and ``psd_err`` / ``psd_segments_std`` those
        of a Welch estimate with the same segments (psd / sqrt(n_segments), psd), ready for
        :func:`trajmodes.fit_peaks`; attribute ``expected_from`` says what it is.
    """
    from trajmodes.modes.windows import window_values
    from trajmodes.units import KB_EV
    if spectra.attrs.get("variable", "Qdot") != "Qdot":
        raise ValueError("expected_spectra draws the spectra of Q' (mode_spectra(variable='Qdot'))")
    key = lambda x: tuple(np.round(np.mod(np.asarray(x, float) + 1e-9, 1.0), 6))     # noqa: E731
    where = {key(x): i for i, x in enumerate(lineshapes.qpoint.values)}
    missing = [i for i, x in enumerate(spectra.qpoint.values) if key(x) not in where]
    if missing:
        raise ValueError(f"{len(missing)} q of the spectra are not among the lineshapes' (the first "
                         f"{spectra.qpoint.values[missing[0]].tolist()}): give exact_lineshapes those q")
    idx = np.array([where[key(x)] for x in spectra.qpoint.values])
    W = lineshapes.weight.values[idx]                                      # (q, branch, mode)
    nu_s = lineshapes.mode_frequency.values
    axis = spectra.frequency.values
    L = int(spectra.attrs["segment_frames"])
    dt = float(spectra.attrs["segment_length_ps"]) / L
    w = window_values(str(spectra.attrs.get("window", "hann")), L)
    # |FT of the window|^2 on a fine grid of frequency offsets (zero padding), then interpolated for every line
    pad = 1 << int(np.ceil(np.log2(64 * L)))
    k = np.abs(np.fft.rfft(w, pad)) ** 2
    offs = np.arange(len(k)) / (pad * dt)                                  # THz
    K = np.interp(np.abs(axis[None, :] - nu_s[:, None]), offs, k, right=0.0)          # (mode, F)
    dnu = np.gradient(axis)
    K /= np.maximum((K * dnu).sum(axis=1, keepdims=True), 1e-300)
    psd = 0.5 * KB_EV * float(temperature) * np.einsum("qbs,sf->qbf", W, K)
    out = spectra.copy(deep=True)
    n_seg = max(1, int(spectra.attrs.get("n_segments", 1)))
    dims = ("q", "branch", "frequency")
    out["psd"] = (dims, psd, dict(spectra.psd.attrs))
    if "psd_segments_std" in spectra:
        out["psd_segments_std"] = (dims, psd, dict(spectra.psd_segments_std.attrs))
    if "psd_err" in spectra:
        out["psd_err"] = (dims, psd / np.sqrt(n_seg), dict(spectra.psd_err.attrs))
    out.attrs["expected_from"] = (f"the exact harmonic lineshapes of the sample at {float(temperature):g} K, "
                                  "every mode with k_B T, through the spectra's window and segments")
    return out
