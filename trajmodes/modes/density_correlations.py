"""Per-chunk kernels of the dynamic structure factor: Fourier densities and currents of a block of frames, and their
time-correlation sums over sliding windows, exact across chunk boundaries.

Definitions (Fransson, Slabanja, Erhart and Wahnstroem, Adv. Theory Simul. 4, 2000240 (2021)), per species s, for a
Cartesian wave vector q in rad/Angstrom::

    rho_s(q, t) = sum_{j in s} exp(i q.r_j(t))                       (dimensionless)
    j_s(q, t)   = sum_{j in s} v_j(t) exp(i q.r_j(t))                (Angstrom/ps)
    j_L = j . q^,  j_T = j - j_L q^   (q^ = q / |q|; at q = 0: j_L = 0, j_T = j)

A correlation of frames t0 (the time origin) and t0 + k (the lag k, 0 <= k < window) is Re(a(t0) conj(b(t0 + k))).
Time origins are the frames t0 = 0, step, 2 step, ... of the run; every origin contributes the lags whose end frame
t0 + k lies in the run. A chunk of frames [a, b) adds the pairs whose *end* frame lies in it, so every pair is counted
once, and the chunk needs the ``window - 1`` frames before it (its carry), whatever the chunk size.
"""
from __future__ import annotations

import numpy as np

#: bytes of the phase temporaries (frames or origins x atoms x q) a kernel makes at once
BLOCK_BYTES = 1 << 24

__all__ = ["chunk_densities", "coherent_sums", "incoherent_sums", "lag_counts", "even_spectrum"]


def _phases(x: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of q.r for positions ``x`` (..., atoms, 3) Angstrom and ``q`` (nq, 3) rad/Angstrom:
    (..., atoms, nq) each."""
    arg = x @ q.T
    return np.cos(arg), np.sin(arg)


def chunk_densities(data: dict, groups: list[np.ndarray], q: np.ndarray, qhat: np.ndarray, currents: bool,
                    cell: np.ndarray | None = None, cell_tol: float = 1e-3) -> np.ndarray:
    """rho_s(q, t) and, with ``currents``, j_L and j_T of every species group for one chunk of frames.

    Parameters
    ----------
    data : dict
        A chunk's read (:meth:`trajmodes.Trajectory.map_chunks`): ``positions`` (frames, atoms, 3) Angstrom,
        ``velocities`` Angstrom/ps when ``currents``, ``cells`` (frames, 3, 3) when the source has a cell.
    groups : list of ndarray of int
        Atom indices of each species, in the order of the output.
    q : ndarray (nq, 3)
        Cartesian wave vectors, rad/Angstrom.
    qhat : ndarray (nq, 3)
        Unit vectors along ``q`` (zero rows at q = 0).
    currents : bool
        Also the longitudinal and transverse currents.
    cell : ndarray (3, 3), optional
        The cell the q-points are commensurate with; every frame's cell must equal it (within ``cell_tol``
        Angstrom), else a ValueError (a variable-cell run: q would not stay commensurate).

    Returns
    -------
    ndarray (frames, n_species, K) complex128
        K = nq (rho) or 5 nq (rho, j_L, then j_T as x, y, z blocks of nq).
    """
    x = np.asarray(data["positions"], dtype=float)
    if cell is not None and data.get("cells") is not None and len(x):
        dev = np.abs(np.asarray(data["cells"]) - cell[None]).max()
        if dev > cell_tol:
            raise ValueError(f"the cell changes during the run (by up to {dev:.3g} Angstrom from the reference "
                             "cell): q-points are commensurate with one fixed cell only; compute the structure factor "
                             "of an NVT or NVE run, or of a stretch of frames at constant cell")
    f, nq = len(x), len(q)
    out = np.empty((f, len(groups), (5 if currents else 1) * nq), dtype=np.complex128)
    v = np.asarray(data["velocities"], dtype=float) if currents else None
    per_frame = 3 * 8 * x.shape[1] * nq
    step = max(1, BLOCK_BYTES // max(per_frame, 1))
    for s, idx in enumerate(groups):
        for a in range(0, f, step):
            c, sn = _phases(x[a:a + step, idx], q)                              # (b, Ns, nq)
            out[a:a + step, s, :nq] = c.sum(axis=1) + 1j * sn.sum(axis=1)
            if currents:
                vt = np.swapaxes(v[a:a + step, idx], 1, 2)                      # (b, 3, Ns)
                j = vt @ c + 1j * (vt @ sn)                                     # (b, 3, nq)
                jl = np.einsum("bcq,qc->bq", j, qhat)
                jt = j - jl[:, None, :] * qhat.T[None]
                out[a:a + step, s, nq:2 * nq] = jl
                out[a:a + step, s, 2 * nq:] = jt.reshape(len(jt), 3 * nq)
    return out


def _origin_rows(k: int, start: int, n_prev: int, n_cur: int, step: int) -> slice | None:
    """Rows r of a block [carry | chunk] (first row = frame ``start``) that are time origins (frame ``start + r`` a
    multiple of ``step``) whose lag-``k`` partner r + k lies in the chunk (rows ``n_prev`` .. ``n_prev + n_cur - 1``);
    None when there are none."""
    lo = max(n_prev - k, 0)
    lo += (-(start + lo)) % step
    hi = n_prev + n_cur - k
    return slice(lo, hi, step) if hi > lo else None


def coherent_sums(prev: np.ndarray, cur: np.ndarray, start: int, window: int, step: int) -> np.ndarray:
    """Sums over the time origins of Re(a_s(t0) conj(a_u(t0 + k))) for every pair of species (s, u), lag k and
    column of ``cur``, for the pairs whose end frame lies in ``cur``.

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
    z = np.concatenate([prev, cur]) if len(prev) else cur
    p, ns, K = len(prev), cur.shape[1], cur.shape[2]
    out = np.zeros((window, ns, ns, K))
    g0 = start - p
    for k in range(window):
        r = _origin_rows(k, g0, p, len(cur), step)
        if r is None:
            continue
        e = slice(r.start + k, r.stop + k, step)
        a, b = z[r], z[e]                               # Re(a conj(b)) = a' b' + a'' b''
        out[k] = np.einsum("osK,ouK->suK", a.real, b.real) + np.einsum("osK,ouK->suK", a.imag, b.imag)
    return out


def incoherent_sums(prev: np.ndarray, cur: np.ndarray, start: int, window: int, step: int,
                    groups: list[np.ndarray], q: np.ndarray) -> np.ndarray:
    """Sums over time origins and atoms of cos(q.(r_j(t0 + k) - r_j(t0))) per species, for the pairs whose end frame
    lies in ``cur``.

    Evaluated as Re(e_j(t0 + k) conj(e_j(t0))) with e_j = exp(i q.r_j) computed once per frame, in blocks of atoms
    that bound the temporaries by :data:`BLOCK_BYTES`.

    Parameters
    ----------
    prev, cur : ndarray (p, atoms, 3), (c, atoms, 3)
        Positions (Angstrom) of the carry and of the chunk.
    start, window, step
        As in :func:`coherent_sums`.
    groups : list of ndarray of int
        Atom indices of each species.
    q : ndarray (nq, 3)
        rad/Angstrom.

    Returns
    -------
    ndarray (window, n_species, nq) float
    """
    x = np.concatenate([prev, cur]) if len(prev) else cur
    p, nq = len(prev), len(q)
    out = np.zeros((window, len(groups), nq))
    g0 = start - p
    rows = [_origin_rows(k, g0, p, len(cur), step) for k in range(window)]
    per_atom = 2 * 8 * len(x) * nq
    width = max(1, BLOCK_BYTES // max(per_atom, 1))
    for s, idx in enumerate(groups):
        for a in range(0, len(idx), width):
            c, sn = _phases(x[:, idx[a:a + width]], q)                          # (rows, Nb, nq)
            for k, r in enumerate(rows):
                if r is None:
                    continue
                e = slice(r.start + k, r.stop + k, step)
                out[k, s] += (np.einsum("onq,onq->q", c[e], c[r]) + np.einsum("onq,onq->q", sn[e], sn[r]))
    return out


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
