"""The Allen-Feldman diffusivity D(nu) of a large disordered cell by the kernel polynomial method: sparse
matrix-vector products only, no eigenvectors.

The diffusivity as a function of frequency, D(omega) = sum_i D_i delta(omega - omega_i) / g(omega) with
g(omega) = sum_i delta(omega - omega_i) and D_i of :mod:`trajmodes.disorder.allen_feldman`, is, with lambda = omega^2
the eigenvalues of the dynamical matrix D and delta(omega - omega_i) = 2 omega delta(lambda - lambda_i)::

    D(omega) = (pi / 3) sum_a F_a(lambda, lambda) / (2 omega g_lambda(lambda)),
    F_a(lambda, lambda') = sum_ij abs(s^a_ij)^2 delta(lambda - lambda_i) delta(lambda' - lambda_j)
                         = Tr[delta(lambda - D) S^a delta(lambda' - D) S^a^T]

(S^a the position-weighted matrices). Both spectral functions are expanded in Chebyshev polynomials of the scaled
matrix H = (D - b) / a, spectrum in [-1, 1], with the Jackson kernel (A. Weisse, G. Wellein, A. Alvermann and
H. Fehske, Rev. Mod. Phys. 78, 275 (2006), sections II and IV.B: the two-dimensional expansion of their eq. 121, the
same structure as the Kubo conductivity there and the diffusivity of Y. M. Beltukov, V. I. Kozub and D. A. Parshin,
Phys. Rev. B 87, 134203 (2013)); the moments::

    mu_nm^a = Tr[T_n(H) S^a T_m(H) S^a^T],   mu_n = Tr[T_n(H)]

are estimated stochastically with R random vectors r (E[r^T A r] = Tr A for Rademacher r):
``mu_nm ~ (1/R) sum_r (T_n(H) r) . (S^a T_m(H) S^a^T r)``, from the two sequences T_n(H) r and T_m(H) (S^a^T r),
n, m < M (M (1 + 3) R (sparse) matrix-vector products and 3 R products of M x 3N by 3N x M). Their resolution is
that of the Jackson kernel, about pi a / M in lambda (a: half the spectral range), so a frequency resolution of
pi a / (2 M omega): coarse at low frequency; the statistical error falls as 1/sqrt(R N).
"""
from __future__ import annotations

import numpy as np

from trajmodes.resources import require_memory
from trajmodes.units import THZ

__all__ = ["jackson_kernel", "kpm_moments", "column_moments", "kpm_density", "kpm_diffusivity", "kpm_partial_dos", "spectral_bounds", "spectrum_top"]


def jackson_kernel(n_moments: int) -> np.ndarray:
    """The Jackson damping factors g_n, n < M (Weisse et al. 2006, eq. 71).

    Parameters
    ----------
    n_moments : int
        M, the number of Chebyshev moments the factors damp.
    """
    M = int(n_moments)
    n = np.arange(M)
    q = np.pi / (M + 1)
    return ((M - n + 1) * np.cos(q * n) + np.sin(q * n) / np.tan(q)) / (M + 1)


def column_moments(H, V: np.ndarray, n_moments: int) -> np.ndarray:
    """mu_n = v^dagger T_n(H) v for every column v of ``V`` (K, r), real or complex, H scaled into [-1, 1]: (M, r),
    by the three-term recursion holding two blocks of vectors (not the M of :func:`_chebyshev`)."""
    mu = np.empty((int(n_moments), V.shape[1]))
    t0, t1 = V, H @ V
    mu[0] = np.einsum("ij,ij->j", V.conj(), t0).real
    if n_moments > 1:
        mu[1] = np.einsum("ij,ij->j", V.conj(), t1).real
    for n in range(2, int(n_moments)):
        t0, t1 = t1, 2.0 * (H @ t1) - t0
        mu[n] = np.einsum("ij,ij->j", V.conj(), t1).real
    return mu


def kpm_density(moments, b: float, a: float, lam) -> np.ndarray:
    """The spectral densities of Chebyshev moments, resummed with the Jackson kernel (Weisse et al. 2006, eqs. 71 and
    81): rho(lambda) = [g_0 mu_0 + 2 sum_n g_n mu_n T_n(x)] / (pi a sqrt(1 - x^2)), x = (lambda - b) / a, zero
    outside the scaled interval.

    Parameters
    ----------
    moments : array_like (M,) or (M, K)
        mu_n = v . T_n(H) v of K vectors (or their sums), H = (D - b) / a.
    b, a : float
        The centre and half width of the interval (:func:`spectral_bounds`), in the units of ``lam``.
    lam : array_like (F,)
        Where to evaluate.

    Returns
    -------
    ndarray (K, F) (or (F,) for one set of moments): density per unit of ``lam``, integrating to mu_0.
    """
    mu = np.asarray(moments, dtype=float)
    one = mu.ndim == 1
    mu = mu.reshape(len(mu), -1)
    M = len(mu)
    x = (np.asarray(lam, dtype=float) - b) / a
    inside = np.abs(x) < 1.0
    xs = np.where(inside, x, 0.0)
    T = np.cos(np.outer(np.arange(M), np.arccos(xs)))                        # (M, F)
    g = jackson_kernel(M) * np.where(np.arange(M) == 0, 1.0, 2.0)
    rho = ((g[:, None] * mu).T @ T) * (inside / (np.pi * a * np.sqrt(1.0 - xs * xs)))[None, :]
    return rho[0] if one else rho


def _extreme_eigenvalue(dynamical, which: str) -> float:
    """The largest (``"LA"``) or smallest (``"SA"``) eigenvalue of ``dynamical`` by Lanczos, from a fixed start
    vector (ARPACK's default is random: the bounds, and every kernel polynomial result, would change by ~1e-7 from
    run to run)."""
    from scipy.sparse.linalg import eigsh
    v0 = np.random.default_rng(0).standard_normal(dynamical.shape[0])
    return float(eigsh(dynamical, k=1, which=which, return_eigenvectors=False, tol=1e-8, v0=v0)[0])


def spectrum_top(dynamical) -> float:
    """The highest frequency (THz) of a sparse dynamical matrix (eV/(Å² amu)), by Lanczos: where the kernel
    polynomial densities are drawn up to by default (the Chebyshev interval of :func:`spectral_bounds` reaches a
    little beyond it, and at its ends the kernel's 1/sqrt(1 - x^2) is singular)."""
    return float(THZ * np.sqrt(max(_extreme_eigenvalue(dynamical, "LA"), 0.0)))


def spectral_bounds(dynamical, margin: float = 0.01) -> tuple[float, float]:
    """(b, a): the centre and half width of an interval holding the spectrum of ``dynamical`` (Lanczos for the
    extreme eigenvalues, widened by ``margin`` of the range), in its units.

    Parameters
    ----------
    dynamical : scipy.sparse matrix (3N, 3N)
        Symmetric, typically the mass-weighted dynamical matrix in eV/(Å² amu).
    margin : float
        Share of the spectrum's range added on each side (dimensionless), so that rounding never puts an
        eigenvalue outside [-1, 1] once scaled.
    """
    hi = _extreme_eigenvalue(dynamical, "LA")
    lo = min(_extreme_eigenvalue(dynamical, "SA"), 0.0)
    pad = margin * (hi - lo)
    lo, hi = lo - pad, hi + pad
    return 0.5 * (hi + lo), 0.5 * (hi - lo)


def _chebyshev(H, V: np.ndarray, n_moments: int) -> np.ndarray:
    """T_n(H) V for n < M, a block of vectors (columns of V) at once: (M, K, r) (the three-term recursion)."""
    out = np.empty((n_moments,) + V.shape)
    out[0] = V
    if n_moments > 1:
        out[1] = H @ V
    for k in range(2, n_moments):
        np.subtract(2.0 * (H @ out[k - 1]), out[k - 2], out=out[k])
    return out


def kpm_moments(H, S, vectors: np.ndarray, n_moments: int):
    """Chebyshev moments ``mu_n = r . T_n(H) r`` and ``mu_nm^a = (T_n(H) r) . (S^a T_m(H) S^a^T r)``, summed over the
    columns r of ``vectors`` (with an orthonormal basis of columns they are the exact traces), all columns at once.

    Parameters
    ----------
    H : sparse or dense (K, K)
        Scaled so that its spectrum lies in [-1, 1].
    S : list of sparse (K, K)
        The position-weighted matrices.
    vectors : ndarray, shape (K, r)
        The vectors r, one per column: random (Rademacher) vectors of a stochastic trace, or unit vectors.
    n_moments : int
        Chebyshev moments M to compute.

    Returns
    -------
    mu : ndarray (M,), mu2 : ndarray (len(S), M, M)
    """
    M = int(n_moments)
    V = np.asarray(vectors, dtype=float)
    A = _chebyshev(H, V, M)                                          # T_n V, (M, K, r)
    mu = np.einsum("nkr,kr->n", A, V)
    A = A.reshape(M, -1)
    mu2 = np.empty((len(S), M, M))
    for a, Sa in enumerate(S):
        B = _chebyshev(H, np.asarray(Sa.T @ V), M)                   # T_m S^T V
        for m in range(M):
            B[m] = Sa @ B[m]                                         # S T_m S^T V
        mu2[a] = A @ B.reshape(M, -1).T                              # <T_n r | S T_m S^T r>, summed over r
    return mu, mu2


#: random vectors handled together (sparse products on blocks of vectors)
VECTOR_BLOCK = 32


def kpm_diffusivity(model, frequencies=None, n_moments: int = 256, n_vectors: int = 8, seed: int = 0,
                    exact_trace: bool = False, memory_fraction: float = 0.5):
    """Allen-Feldman diffusivity D(nu) and density of states g(nu) of a disordered cell by the kernel polynomial
    method (see the module's text), from sparse products only.

    Parameters
    ----------
    model : GlassHarmonic
        The disordered cell's sparse dynamical matrix and positions (:class:`~trajmodes.disorder.glass.GlassHarmonic`).
    frequencies : array_like, optional
        THz, where to evaluate (default: 200 points over the spectrum).
    n_moments : int
        Chebyshev moments M (resolution about pi a / M in lambda).
    n_vectors : int
        Random (Rademacher) vectors R of the stochastic trace.
    seed : int
        Of the random vectors.
    exact_trace : bool
        Use the 3N unit vectors instead (the exact traces; for checks on small cells).
    memory_fraction : float
        Share of the available memory the Chebyshev sequences may take (default 0.5); more is refused with what to
        change.

    Returns
    -------
    xarray.Dataset
        Over ``frequency`` (THz): ``diffusivity`` (mm²/s), ``diffusivity_components`` (``frequency``, ``cartesian``),
        ``dos`` (states per THz, integrating to 3N). Attributes: moments, vectors, the spectral interval.
    """
    import xarray as xr
    from scipy import sparse
    from trajmodes.disorder.allen_feldman import A2_PS_MM2_S, EV_A2_AMU_PS2
    D = model.dynamical * EV_A2_AMU_PS2                                      # 1/ps^2
    K = D.shape[0]
    M = int(n_moments)
    R = K if exact_trace else int(n_vectors)
    require_memory(8.0 * (2 * M * K * min(R, VECTOR_BLOCK) + 3 * M * M) + 4 * 12.0 * D.nnz,
                   f"the Chebyshev sequences of {M} moments of the {K // 3}-atom cell", "use fewer moments",
                   memory_fraction)
    b, a = spectral_bounds(D)
    H = ((D - b * sparse.identity(K, format="csr")) / a).tocsr()
    S = [s * EV_A2_AMU_PS2 for s in model.position_weighted()]              # A/ps^2
    rng = np.random.default_rng(seed)
    mu = np.zeros(M)
    mu2 = np.zeros((3, M, M))
    for start in range(0, R, VECTOR_BLOCK):
        r = min(VECTOR_BLOCK, R - start)
        if exact_trace:
            V = np.zeros((K, r))
            V[np.arange(start, start + r), np.arange(r)] = 1.0
        else:
            V = rng.choice([-1.0, 1.0], size=(K, r))
        m1, m2 = kpm_moments(H, S, V, M)
        mu += m1
        mu2 += m2
    if not exact_trace:
        mu /= R
        mu2 /= R
    g = jackson_kernel(M) * np.where(np.arange(M) == 0, 1.0, 2.0)
    if frequencies is None:
        top = spectrum_top(model.dynamical)                                  # THz (D here is in 1/ps^2)
        frequencies = np.linspace(top / 200, top, 200)
    nu = np.asarray(frequencies, dtype=float)
    omega = 2.0 * np.pi * nu
    x = (omega ** 2 - b) / a
    inside = np.abs(x) < 1
    xs = np.where(inside, x, 0.0)
    T = np.cos(np.outer(np.arange(M), np.arccos(xs)))                        # T_n(x), (M, nf)
    w = 1.0 / (np.pi * np.sqrt(1.0 - xs * xs))
    dos_lam = kpm_density(mu, b, a, omega ** 2)                             # states per 1/ps^2
    F = np.einsum("nf,anm,mf->fa", g[:, None] * T, mu2, g[:, None] * T) * (w / a)[:, None] ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        comps = np.pi * F / (2.0 * omega[:, None] * dos_lam[:, None]) * A2_PS_MM2_S
    comps = np.where(inside[:, None] & (dos_lam[:, None] > 0), comps, np.nan)
    dos = np.where(inside, dos_lam * 2.0 * omega * 2.0 * np.pi, 0.0)       # per THz: g_nu = 2 pi g_omega
    return xr.Dataset(
        {"diffusivity": ("frequency", comps.mean(axis=1), {"units": "mm^2/s",
                                                          "long_name": "Allen-Feldman diffusivity D(nu), KPM"}),
         "diffusivity_components": (("frequency", "cartesian"), comps, {"units": "mm^2/s"}),
         "dos": ("frequency", dos, {"units": "1/THz", "long_name": "density of states (integral 3N)"})},
        coords={"frequency": ("frequency", nu, {"units": "THz"}), "cartesian": ["x", "y", "z"]},
        attrs={"moments": M, "vectors": R, "exact_trace": int(bool(exact_trace)),
               "lambda_centre": b, "lambda_half_width": a, "lambda_units": "1/ps^2",
               "resolution_thz_at_top": float(np.pi * a / M / (2 * np.sqrt(max(b + a, 1e-30))) / (2 * np.pi)),
               "n_atoms": model.n_atoms, "thz": THZ})


def kpm_partial_dos(dynamical, groups: dict, frequencies=None, n_moments: int = 512, n_vectors: int = 16,
                    seed: int = 0, exact_below: int = 64):
    """The density of states projected on groups of atoms (species, sites, any selection) of a large cell, by the
    kernel polynomial method: g_G(nu) = (1 / N_G) sum_{i in G, a} sum_s abs(eps_s(i a))^2 delta(nu - nu_s), the
    modes' weight on the group's atoms, from sparse products only (one run for every group, where a site-projected
    density of states otherwise takes one calculation per site).

    The moments of a group are the exact traces over its 3 N_G unit vectors where ``3 N_G <= exact_below``, else
    stochastic traces over ``n_vectors`` random vectors of +-1 on the group's coordinates (zero elsewhere), whose
    error falls as 1/sqrt(n_vectors N_G).

    Parameters
    ----------
    dynamical : sparse (3N, 3N)
        The mass-weighted dynamical matrix, eV/(Å² amu) (:attr:`GlassHarmonic.dynamical`,
        :func:`~trajmodes.disorder.mass_disorder.sample_dynamical_matrix`).
    groups : dict
        Name -> atom indices.
    frequencies : array_like, optional
        THz; default 400 points up to the top of the spectrum.
    n_moments : int
        Chebyshev moments (resolution about pi a / n_moments in lambda = (nu / THZ)^2).
    n_vectors : int
        Random vectors of the stochastic traces.
    seed : int
        Seed of those vectors.
    exact_below : int
        Exact traces for a group of at most this many coordinates (3 N_G).

    Returns
    -------
    xarray.Dataset
        ``partial_dos`` (group, frequency) 1/THz per atom of the group, integrating to 3; ``atoms`` (group) their
        number; ``exact`` (group) whether the traces are exact.
    """
    import xarray as xr
    from scipy import sparse
    D = sparse.csr_matrix(dynamical)
    K = D.shape[0]
    M = int(n_moments)
    b, a = spectral_bounds(D)
    H = ((D - b * sparse.identity(K, format="csr")) / a).tocsr()
    if frequencies is None:
        frequencies = np.linspace(0.0, spectrum_top(D), 400)
    nu = np.asarray(frequencies, dtype=float)
    rng = np.random.default_rng(seed)
    names, rows, counts, exact = [], [], [], []
    for name, atoms in groups.items():
        atoms = np.unique(np.asarray(atoms, dtype=np.int64).reshape(-1))
        if len(atoms) == 0 or atoms.min() < 0 or atoms.max() >= K // 3:
            raise ValueError(f"group {name!r}: atom indices must lie in 0 .. {K // 3 - 1} (and not be empty)")
        coords = (3 * atoms[:, None] + np.arange(3)[None, :]).reshape(-1)
        full = len(coords) <= exact_below
        V = np.zeros((K, len(coords) if full else int(n_vectors)))
        if full:
            V[coords, np.arange(len(coords))] = 1.0
        else:
            V[coords] = rng.choice([-1.0, 1.0], size=(len(coords), V.shape[1]))
        mu = column_moments(H, V, M).sum(axis=1)
        mu /= (1.0 if full else V.shape[1]) * len(atoms)            # per atom: mu_0 = 3
        lam = (nu / THZ) ** 2
        rows.append(kpm_density(mu, b, a, lam) * 2.0 * nu / THZ ** 2)  # per THz: dlambda / dnu = 2 nu / THZ^2
        names.append(str(name))
        counts.append(len(atoms))
        exact.append(full)
    return xr.Dataset(
        {"partial_dos": (("group", "frequency"), np.array(rows), {"units": "1/THz", "long_name":
                                                                  "density of states per atom of the group"}),
         "atoms": ("group", np.array(counts)), "exact": ("group", np.array(exact))},
        coords={"group": names, "frequency": ("frequency", nu, {"units": "THz"})},
        attrs={"n_moments": M, "n_vectors": int(n_vectors), "lambda_centre": b, "lambda_half_width": a,
               "lambda_units": "eV/(A^2 amu)", "kernel": "Jackson (Weisse et al., Rev. Mod. Phys. 78, 275 (2006))"})
