"""Phonon density of states on a Gamma-centred mesh: linear tetrahedron method and Gaussian smearing.

The tetrahedron method is phonopy's (Togo's) form of the linear tetrahedron method (Bloechl et al.,
PRB 49, 16223 (1994), without the curvature correction): every mesh cell is cut into six tetrahedra
along its shortest main diagonal, each mesh point sits in 24 of them, and the weight of the point
at frequency w is sum over its 24 tetrahedra of I_c(w) g(w) / 6, g the tetrahedron's linear DOS and
I_c the share of the vertex c.  Bands are taken in ascending order at every q (no band connection).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from trajmodes.lattice.qpoints import mesh_qpoints

if TYPE_CHECKING:
    from trajmodes.phonons.harmonic import Phonons

__all__ = ["phonon_dos", "tetrahedra", "tetrahedron_dos", "gaussian_dos", "frequency_points"]

_EPS = 1e-10                     # as phonopy's THM_EPSILON
_CUBE = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1]])
_DIAGONALS = {0: (0, 7, ((1, 3), (1, 5), (2, 3), (2, 6), (4, 5), (4, 6))),
              1: (1, 6, ((0, 2), (0, 4), (2, 3), (3, 7), (4, 5), (5, 7))),
              2: (2, 5, ((0, 1), (0, 4), (1, 3), (3, 7), (4, 6), (6, 7))),
              3: (3, 4, ((0, 1), (0, 2), (1, 5), (2, 6), (5, 7), (6, 7)))}


def tetrahedra(mesh, reciprocal_cell) -> np.ndarray:
    """Vertex mesh indices of the 24 tetrahedra around every mesh point (phonopy's construction).

    Parameters
    ----------
    mesh : (3,) int
    reciprocal_cell : (3, 3)
        Rows b1, b2, b3 (1/A); fixes the shortest main diagonal of the mesh cell.

    Returns
    -------
    vertices : ndarray of int, (N, 24, 4)
    central : ndarray of int, (24,)
        Index (0..3) of the central mesh point among each tetrahedron's vertices.
    """
    n = np.asarray(mesh, dtype=int).reshape(3)
    a, b, c = np.asarray(reciprocal_cell, dtype=float) / n[:, None]
    diag = np.array([a + b + c, -a + b + c, a - b + c, a + b - c])
    d0, d1, pairs = _DIAGONALS[int(np.argmin((diag ** 2).sum(axis=1)))]
    six = np.sort([[d0, d1, *p] for p in pairs], axis=1)
    rel, central = [], []
    for i in range(8):
        for t in six:
            if i in t:
                rel.append(_CUBE[t] - _CUBE[i])
                central.append(int(np.flatnonzero(t == i)[0]))
    rel = np.array(rel)                                              # (24, 4, 3)
    g = np.rint(mesh_qpoints(n) * n).astype(int)                     # (N, 3) addresses
    addr = (g[:, None, None, :] + rel[None]) % n
    return addr[..., 0] + n[0] * (addr[..., 1] + n[1] * addr[..., 2]), np.array(central)


def _f(w, v, n, m):
    """(w - v_m) / (v_n - v_m), zero where the two vertices coincide."""
    d = v[:, n] - v[:, m]
    ok = np.abs(d) >= _EPS
    return np.where(ok, (w - v[:, m]) / np.where(ok, d, 1.0), 0.0)


def _vertex_weights(w, v, cs):
    """I_c g for sorted vertex values v (E, 4), central vertex's sorted position cs (E,), points w (E,)
    with v0 <= w < v3 (phonopy's formulas; a point equal to a vertex goes to the case above it)."""
    out = np.zeros(len(w))
    case = (w >= v[:, 1]).astype(int) + (w >= v[:, 2])
    for k in range(3):
        sel = np.flatnonzero(case == k)
        if not len(sel):
            continue
        x, u, c = w[sel], v[sel], cs[sel]
        span = u[:, 3] - u[:, 0]
        f = lambda n, m: _f(x, u, n, m)                                 # noqa: E731
        if k == 0:                                                     # v0 <= w < v1
            f10, f20, f30 = f(1, 0), f(2, 0), f(3, 0)
            g = 3 * f10 * f20 / span
            I = np.stack([(f(0, 1) + f(0, 2) + f(0, 3)) / 3, f10 / 3, f20 / 3, f30 / 3], axis=-1)
        elif k == 1:                                                   # v1 <= w < v2
            f12, f20, f21, f13 = f(1, 2), f(2, 0), f(2, 1), f(1, 3)
            gd = f12 * f20 + f21 * f13
            ok = gd >= _EPS
            gs = np.where(ok, gd, 1.0)
            g = 3 / span * gd * ok
            I = np.stack([(f(0, 3) + f(0, 2) * f20 * f12 / gs) / 3, (f12 + f13 ** 2 * f21 / gs) / 3,
                          (f21 + f20 ** 2 * f12 / gs) / 3, (f(3, 0) + f(3, 1) * f13 * f21 / gs) / 3], axis=-1)
        else:                                                          # v2 <= w < v3
            f13, f23 = f(1, 3), f(2, 3)
            g = 3 * f13 * f23 / span
            I = np.stack([f(0, 3) / 3, f13 / 3, f23 / 3, (f(3, 0) + f(3, 1) + f(3, 2)) / 3], axis=-1)
        out[sel] = I[np.arange(len(c)), c] * g
    return out


def tetrahedron_dos(freqs, vertices, central, points, projections=None):
    """Total (and projected) DOS by the linear tetrahedron method.

    Only the (tetrahedron, band, frequency point) triples with the point inside the tetrahedron's
    frequency span [v0, v3) are evaluated (the weight vanishes elsewhere).

    Parameters
    ----------
    freqs : (N, nb) THz on the mesh, ascending per point.
    vertices, central : from :func:`tetrahedra`.
    points : (nw,) THz, where to evaluate.
    projections : (N, nb, m), optional
        Weights of every mode (e.g. |e|^2 per atom).

    Returns
    -------
    total : (nw,) states/THz per cell, integrating to nb.
    projected : (m, nw) or None
    """
    freqs = np.asarray(freqs, dtype=float)
    N, nb = freqs.shape
    points = np.asarray(points, dtype=float)
    nw = len(points)
    order_w = np.argsort(points, kind="stable")
    sp = points[order_w]
    total = np.zeros(nw)
    proj = None if projections is None else np.zeros((projections.shape[-1], nw))
    pflat = None if projections is None else projections.reshape(N * nb, -1)
    for t in range(vertices.shape[1]):                                # the 24 tetrahedra of a point
        v = freqs[vertices[:, t]].transpose(0, 2, 1).reshape(N * nb, 4)   # (N nb, 4)
        order = np.argsort(v, axis=-1, kind="stable")
        v = np.take_along_axis(v, order, axis=-1)
        cs = np.argmax(order == central[t], axis=-1)
        lo = np.searchsorted(sp, v[:, 0], side="left")                   # first point >= v0
        hi = np.searchsorted(sp, v[:, 3], side="left")                   # points < v3
        cnt = hi - lo
        k = np.repeat(np.arange(len(v)), cnt)
        wi = lo[k] + np.arange(len(k)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        wt = _vertex_weights(sp[wi], v[k], cs[k])
        total += np.bincount(wi, weights=wt, minlength=nw)
        if proj is not None:
            for m in range(proj.shape[0]):
                proj[m] += np.bincount(wi, weights=wt * pflat[k, m], minlength=nw)
    norm = 6.0 * N
    out_t = np.empty(nw)
    out_t[order_w] = total / norm
    if proj is None:
        return out_t, None
    out_p = np.empty_like(proj)
    out_p[:, order_w] = proj / norm
    return out_t, out_p


def gaussian_dos(freqs, points, sigma, projections=None):
    """Total (and projected) DOS with normalised Gaussians of standard deviation ``sigma`` (THz)."""
    freqs = np.asarray(freqs, dtype=float)
    N = len(freqs)
    total = np.zeros(len(points))
    proj = None if projections is None else np.zeros((projections.shape[-1], len(points)))
    step = max(1, 2 ** 22 // freqs.size)
    for s in range(0, len(points), step):
        x = (freqs[:, :, None] - points[None, None, s:s + step]) / sigma
        g = np.exp(-0.5 * x * x) / (np.sqrt(2 * np.pi) * sigma)          # (N, nb, nw)
        total[s:s + step] = g.sum(axis=(0, 1)) / N
        if proj is not None:
            proj[:, s:s + step] = np.einsum("knw,knm->mw", g, projections) / N
    return total, proj


def frequency_points(freqs, sigma=None) -> tuple[np.ndarray, float]:
    """phonopy's default sampling: [min - 10 s, max + 10 s] in 200 steps, s = sigma or range/100."""
    fmin, fmax = float(np.min(freqs)), float(np.max(freqs))
    s = (fmax - fmin) / 100.0 if sigma is None else float(sigma)
    lo, hi = fmin - 10 * s, fmax + 10 * s
    d = (hi - lo) / 200.0
    return np.arange(lo, hi + d * 0.1, d), s


def phonon_dos(phonons: Phonons, mesh=(20, 20, 20), method: str = "tetrahedron", sigma: float | None = None,
               frequencies=None, projected: bool = True):
    """Total and atom-projected DOS on a Gamma-centred mesh: :meth:`trajmodes.Phonons.dos`."""
    import xarray as xr
    if method not in ("tetrahedron", "gaussian"):
        raise ValueError(f"method must be 'tetrahedron' or 'gaussian', not {method!r}")
    mesh = np.asarray(mesh, dtype=int).reshape(3)
    _, f, pr = phonons.mesh(mesh, projections=projected)
    points, s = frequency_points(f, sigma)
    if frequencies is not None:
        points = np.atleast_1d(np.asarray(frequencies, dtype=float))
    if method == "tetrahedron":
        vert, central = tetrahedra(mesh, phonons.fc.primitive.reciprocal_cell)
        total, proj = tetrahedron_dos(f, vert, central, points, pr)
    else:
        total, proj = gaussian_dos(f, points, s, pr)
    unit = {"units": "1/THz", "long_name": "states per THz per primitive cell"}
    data = dict(total=("frequency", total, unit))
    if projected:
        data["projected"] = (("atom", "frequency"), proj, unit)
    attrs = dict(method=method, mesh=mesh.tolist())
    if method == "gaussian":
        attrs["sigma"] = s
    return xr.Dataset(data, coords=dict(frequency=("frequency", points, {"units": "THz"}),
                                        atom=np.arange(phonons.fc.n_prim),
                                        species=("atom", phonons.fc.primitive.species.astype(str))),
                      attrs=attrs)
