"""Per-chunk kernels of the dynamic structure factor: Fourier densities and currents of a block of frames, and their
time-correlation sums over sliding windows, exact across chunk boundaries.

Definitions (Fransson, Slabanja, Erhart and Wahnstroem, Adv. Theory Simul. 4, 2000240 (2021)), per species s, for a
Cartesian wave vector q in rad/Å::

    rho_s(q, t) = sum_{j in s} exp(i q.r_j(t))                       (dimensionless)
    j_s(q, t)   = sum_{j in s} v_j(t) exp(i q.r_j(t))                (Å/ps)
    j_L = j . q^,  j_T = j - j_L q^   (q^ = q / |q|; at q = 0: j_L = 0, j_T = j)

A correlation of frames t0 (the time origin) and t0 + k (the lag k, 0 <= k < window) is Re(a(t0) conj(b(t0 + k))).
Time origins are the frames t0 = 0, step, 2 step, ... of the run; every origin contributes the lags whose end frame
t0 + k lies in the run. A chunk of frames [a, b) adds the pairs whose *end* frame lies in it, so every pair is counted
once, and the chunk needs the ``window - 1`` frames before it (its carry), whatever the chunk size.
"""
from __future__ import annotations

import numpy as np

try:                                     # the compiled density kernel (built with the package); numpy otherwise
    from trajmodes import _density
except ImportError:                      # pragma: no cover - a source tree whose extensions were not built
    _density = None

#: bytes of the phase temporaries (frames or origins x atoms x q) a kernel makes at once
BLOCK_BYTES = 1 << 24

__all__ = ["check_cell", "chunk_terms", "coherent_sums", "lag_counts", "even_spectrum"]


class _Lattice:
    """The q-points as integer multiples of the MD cell's reciprocal vectors, q = 2 pi m @ inv(cell).T, for phases
    from powers of exp(2 pi i s_a) (s the fractional coordinates): three complex exponentials per atom and frame
    instead of one per q, the rest products (exact to round-off, k eps for the power k); None where a q is not such a
    multiple to round-off or the powers would outgrow the phases."""

    def __init__(self, inv_cell: np.ndarray, m: np.ndarray):
        self.inv_cell, self.m = inv_cell, m
        self.top = np.abs(m).max(axis=0)                                    # largest |m_a| per axis

    @classmethod
    def of(cls, q: np.ndarray, cell: np.ndarray | None):
        if cell is None or len(q) == 0:
            return None
        cell = np.asarray(cell, float)
        h = q @ cell.T / (2 * np.pi)
        m = np.rint(h).astype(np.int64)
        scale = max(1.0, float(np.abs(h).max()))
        if np.abs(h - m).max() > 1e-12 * scale:
            return None
        lat = cls(np.linalg.inv(cell), m)
        if (lat.top + 1).sum() > 2 * len(q) + 6:                            # tables larger than the phases
            return None
        return lat

    def phases(self, x: np.ndarray) -> np.ndarray:
        s = 2 * np.pi * (x @ self.inv_cell)                                  # (..., atoms, 3), radians
        tables = []
        for a in range(3):
            top = int(self.top[a])
            if top == 0:
                tables.append(None)
                continue
            table = np.empty((top + 1,) + s.shape[:-1], dtype=np.complex128)  # powers 0 .. top, contiguous each
            table[0] = 1.0
            table[1] = np.exp(1j * s[..., a])
            for k in range(2, top + 1):
                np.multiply(table[k - 1], table[1], out=table[k])
            tables.append(table)
        shape = s.shape[:-1]
        cols = np.empty((len(self.m),) + shape, dtype=np.complex128)         # per q, contiguous: fast writes
        for j, mj in enumerate(self.m):
            ks = [(a, int(k)) for a, k in enumerate(mj) if k != 0]
            if not ks:
                cols[j] = 1.0
                continue
            a, k = ks[0]
            np.copyto(cols[j], tables[a][abs(k)])
            if k < 0:
                np.conjugate(cols[j], out=cols[j])
            for a, k in ks[1:]:
                f = tables[a][abs(k)]
                np.multiply(cols[j], f if k > 0 else f.conj(), out=cols[j])
        return np.ascontiguousarray(np.moveaxis(cols, 0, -1))


def _phases(x: np.ndarray, q: np.ndarray, lattice: _Lattice | None = None) -> np.ndarray:
    """exp(i q.r) for positions ``x`` (..., atoms, 3) Å and ``q`` (nq, 3) rad/Å: (..., atoms, nq)
    complex; from powers of the per-axis phases with ``lattice`` (:class:`_Lattice`), else one complex exponential
    per q (half the time of a cos and a sin)."""
    if lattice is not None:
        return lattice.phases(x)
    return np.exp(1j * (x @ q.T))


def _masks(start: int, n_prev: int, n_cur: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of a block [carry | chunk] (first row = frame ``start``) that are time origins (frame a multiple of
    ``step``), and rows that are ends of pairs (the chunk's)."""
    r = np.arange(n_prev + n_cur)
    return (start + r) % step == 0, r >= n_prev


def _fft_length(rows: int, window: int) -> int:
    """A fast FFT length with no wrap-around for lags 0 .. window - 1 of ``rows`` frames."""
    from scipy.fft import next_fast_len
    return next_fast_len(rows + window - 1)


def coherent_sums(prev: np.ndarray, cur: np.ndarray, start: int, window: int, step: int) -> np.ndarray:
    """Sums over the time origins of Re(a_s(t0) conj(a_u(t0 + k))) for every pair of species (s, u), lag k and
    column of ``cur``, for the pairs whose end frame lies in ``cur``.

    Evaluated as cross-correlations by FFT over the frames (origins masked to the origin frames, ends to the chunk;
    zero-padded, so no lag wraps round): O(frames log frames) per column instead of O(frames x window), in blocks of
    columns that bound the transforms by :data:`BLOCK_BYTES`.

    Parameters
    ----------
    prev : ndarray (p, n_species, K) complex
        The ``p = min(window - 1, start)`` frames before the chunk (the carry).
    cur : ndarray (c, n_species, K) complex
        The chunk, from :func:`chunk_densities`; its first frame is frame ``start`` of the run.
    start : int
        Index of the chunk's first frame in the run.
    window, step : int
        Frames per correlation window (lags 0 .. window - 1) and frames between time origins.

    Returns
    -------
    ndarray (window, n_species, n_species, K) float
    """
    from scipy.fft import fft, ifft
    z = np.concatenate([prev, cur]) if len(prev) else cur
    p, ns, K = len(prev), cur.shape[1], cur.shape[2]
    origin, end = _masks(start - p, p, len(cur), step)
    n = _fft_length(len(z), window)
    out = np.empty((window, ns, ns, K))
    width = max(1, BLOCK_BYTES // (16 * n * (2 * ns + ns * ns)))
    for c in range(0, K, width):
        cols = slice(c, c + width)
        X = fft(z[:, :, cols] * origin[:, None, None], n, axis=0)
        Y = fft(z[:, :, cols] * end[:, None, None], n, axis=0)
        out[:, :, :, cols] = ifft(X.conj()[:, :, None] * Y[:, None], axis=0)[:window].real
    return out


def check_cell(cells, cell: np.ndarray | None, tol: float = 1e-3) -> None:
    """ValueError when a frame's cell (``cells`` (frames, 3, 3) Å, or None) differs from ``cell`` by more
    than ``tol`` Å (a variable-cell run: q would not stay commensurate)."""
    if cell is None or cells is None or not len(cells):
        return
    dev = np.abs(np.asarray(cells) - cell[None]).max()
    if dev > tol:
        raise ValueError(f"the cell changes during the run (by up to {dev:.3g} Angstrom from the reference "
                         "cell): q-points are commensurate with one fixed cell only; compute the structure factor "
                         "of an NVT or NVE run, or of a stretch of frames at constant cell")


def chunk_terms(prev_x: np.ndarray | None, x: np.ndarray, v: np.ndarray | None, start: int, window: int, step: int,
                groups: list[np.ndarray], q: np.ndarray, qhat: np.ndarray, cell: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray | None]:
    """The densities of one chunk of frames and, given the frames before it, its incoherent window sums, from one
    evaluation of the phases exp(i q.r) per atom and frame.

    rho_s(q, t) and, with velocities, the three components of j_s come out of one batched matrix product of
    [1, vx, vy, vz] per atom with the phases (real and imaginary parts as columns), or, for q commensurate with the
    cell, of the compiled kernel ``trajmodes._density`` that makes the phases and adds them up in one pass; j_L and
    j_T follow. The
    incoherent sums over time origins and atoms of cos(q.(r_j(t0 + k) - r_j(t0))) = Re(e_j(t0) conj(e_j(t0 + k)))
    are cross-correlations over the frames by FFT (as in :func:`coherent_sums`), summed over the atoms before the
    inverse transform, for the pairs whose end frame lies in the chunk. Atoms go in blocks that bound the phases and
    their transforms by :data:`BLOCK_BYTES`.

    Parameters
    ----------
    prev_x : ndarray (p, atoms, 3) or None
        Positions (Å) of the ``p = min(window - 1, start)`` frames before the chunk; None for no incoherent
        sums.
    x : ndarray (c, atoms, 3)
        Positions of the chunk, Å; its first frame is frame ``start`` of the run.
    v : ndarray (c, atoms, 3) or None
        Velocities, Å/ps, for the currents; None for rho alone.
    start, window, step : int
        As in :func:`coherent_sums`.
    groups : list of ndarray of int
        Atom indices of each species, in the order of the output.
    q : ndarray (nq, 3)
        Cartesian wave vectors, rad/Å.
    qhat : ndarray (nq, 3)
        Unit vectors along ``q`` (zero rows at q = 0).
    cell : ndarray (3, 3), optional
        The MD cell (rows, Å): q that are integer multiples of its reciprocal vectors get their phases from
        powers of three per atom (faster, equal to round-off).

    Returns
    -------
    densities : ndarray (c, n_species, K) complex128
        K = nq (rho) or 5 nq (rho, j_L, then j_T as x, y, z blocks of nq).
    incoherent : ndarray (window, n_species, nq) float, or None without ``prev_x``
    """
    from scipy.fft import fft, ifft
    x = np.asarray(x, dtype=float)
    currents = v is not None
    f, nq = len(x), len(q)
    lattice = _Lattice.of(q, cell)
    compiled = lattice is not None and _density is not None
    rows = 4 if currents else 1
    dens = np.zeros((f, len(groups), rows, 2 * nq))
    inc = None
    if prev_x is not None:
        z = np.concatenate([np.asarray(prev_x, dtype=float), x]) if len(prev_x) else x
        p = len(z) - f
        origin, end = _masks(start - p, p, f, step)
        n = _fft_length(len(z), window)
        inc = np.empty((window, len(groups), nq))
        width = max(1, BLOCK_BYTES // (3 * 16 * n * nq))
    else:
        z, p = x, 0
        # the compiled kernel sums the phases as it makes them (none are held); numpy: atoms in blocks
        width = max(1, BLOCK_BYTES // (16 * max(f, 1) * nq))
    if compiled:                               # the kernel reads the positions (and velocities) where they lie
        zc = np.ascontiguousarray(z, dtype=float)
        vc = np.ascontiguousarray(v, dtype=float) if currents else np.empty(0)
        inv = np.ascontiguousarray(lattice.inv_cell)
    for s, idx in enumerate(groups):
        acc = None if inc is None else np.zeros((n, nq), dtype=np.complex128)
        idx = np.asarray(idx, dtype=np.int64)
        sums = np.zeros((f, rows, 2 * nq)) if compiled else None
        if compiled and acc is None:                                              # no phases held: one call
            _density.densities(zc, len(zc), zc.shape[1], idx, inv, vc, lattice.m, 0, sums, np.empty(0))
            dens[:, s] = sums
            continue
        for a in range(0, len(idx), width):
            cols = idx[a:a + width]
            if compiled:                                                          # phases and sums in one pass
                e = np.empty((len(zc), len(cols), nq), dtype=np.complex128)
                _density.densities(zc, len(zc), zc.shape[1], cols, inv, vc, lattice.m, p, sums, e)
            else:
                w = np.ones((f, rows, len(cols)))
                if currents:
                    w[:, 1:] = np.swapaxes(v[:, cols], 1, 2)                      # [1, vx, vy, vz] per atom
                e = _phases(z[:, cols], q, lattice)                             # (p + c, Nb, nq)
                dens[:, s] += w @ e[p:].view(float)                               # (c, rows, 2 nq)
            if acc is not None:
                X = fft(e * origin[:, None, None], n, axis=0)
                e[:p] = 0.0
                Y = fft(e, n, axis=0)
                acc += np.einsum("tjq,tjq->tq", X.conj(), Y)
        if sums is not None:
            dens[:, s] = sums
        if acc is not None:
            inc[:, s] = ifft(acc, axis=0)[:window].real
    r = dens.view(np.complex128)                                                  # (c, ns, rows, nq)
    out = np.empty((f, len(groups), (5 if currents else 1) * nq), dtype=np.complex128)
    out[:, :, :nq] = r[:, :, 0]
    if currents:
        j = r[:, :, 1:]                                                           # (c, ns, 3, nq)
        jl = np.einsum("bscq,qc->bsq", j, qhat)
        out[:, :, nq:2 * nq] = jl
        out[:, :, 2 * nq:] = (j - jl[:, :, None, :] * qhat.T[None, None]).reshape(f, len(groups), 3 * nq)
    return out, inc


def lag_counts(n_frames: int, window: int, step: int) -> np.ndarray:
    """Number of time origins (frames 0, step, 2 step, ...) whose lag-k partner lies in a run of ``n_frames``
    frames, k = 0 .. window - 1: floor((n_frames - 1 - k) / step) + 1."""
    k = np.arange(window)
    return (n_frames - 1 - k) // step + 1


def even_spectrum(acf: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """The Fourier transform of a real correlation function even in time, from its lags 0 .. W - 1.

    The function is mirrored to the 2 W - 1 lags -(W - 1) .. W - 1 and transformed without a window:
    S(omega_m) = dt sum_k C(|k|) exp(-i omega_m k dt), real, at omega_m = 2 pi m / ((2 W - 1) dt), m = 0 .. W - 1.

    Parameters
    ----------
    acf : ndarray (..., W)
        Lags along the last axis.
    dt : float
        Time between lags, ps.

    Returns
    -------
    omega : ndarray (W,)
        rad/ps.
    spectrum : ndarray (..., W)
        ``acf``'s unit times ps.
    """
    full = np.concatenate([acf, acf[..., :0:-1]], axis=-1)
    spec = dt * np.fft.rfft(full, axis=-1).real
    omega = 2 * np.pi * np.fft.rfftfreq(full.shape[-1], dt)
    return omega, spec
