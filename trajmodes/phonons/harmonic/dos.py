"""Phonon density of states on a Gamma-centred mesh: linear tetrahedron method and Gaussian smearing.

The tetrahedron method is phonopy's (Togo's) form of the linear tetrahedron method (Bloechl et al.,
PRB 49, 16223 (1994), without the curvature correction; :mod:`trajmodes.phonons.harmonic.tetrahedron`). Bands are
taken in ascending order at every q (no band connection).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from trajmodes.phonons.harmonic.tetrahedron import pairs_inside, sorted_vertices, tetrahedra, vertex_weights

if TYPE_CHECKING:
    from trajmodes.phonons.harmonic.dynamical import DynamicalMatrix

__all__ = ["phonon_dos", "tetrahedra", "tetrahedron_dos", "gaussian", "gaussian_dos", "frequency_points"]


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
        v, cs = sorted_vertices(v, central[t])
        k, wi = pairs_inside(v, sp)
        wt = vertex_weights(sp[wi], v[k], cs[k])
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


def gaussian(x, sigma: float) -> np.ndarray:
    """Normalised Gaussian of standard deviation ``sigma`` (THz) at x (THz): 1/THz."""
    return np.exp(-0.5 * (x / sigma) ** 2) / (np.sqrt(2 * np.pi) * sigma)


def gaussian_dos(freqs, points, sigma, projections=None):
    """Total (and projected) DOS with normalised Gaussians of standard deviation ``sigma`` (THz)."""
    freqs = np.asarray(freqs, dtype=float)
    N = len(freqs)
    total = np.zeros(len(points))
    proj = None if projections is None else np.zeros((projections.shape[-1], len(points)))
    step = max(1, 2 ** 22 // freqs.size)
    for s in range(0, len(points), step):
        g = gaussian(freqs[:, :, None] - points[None, None, s:s + step], sigma)   # (N, nb, nw)
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


def phonon_dos(dynamical_matrix: DynamicalMatrix, mesh=(20, 20, 20), method: str = "tetrahedron",
               sigma: float | None = None, frequencies=None, projected: bool = True):
    """Total and atom-projected DOS on a Gamma-centred mesh of the crystal of ``dynamical_matrix``:
    :meth:`trajmodes.Phonons.dos`, which documents the parameters and the Dataset."""
    import xarray as xr
    if method not in ("tetrahedron", "gaussian"):
        raise ValueError(f"method must be 'tetrahedron' or 'gaussian', not {method!r}")
    from trajmodes.lattice.qpoints import parse_mesh
    mesh = parse_mesh(mesh, matrix=False)
    m = dynamical_matrix.mesh_frequencies(mesh, projections=projected)
    f, pr = m.frequencies, m.projections
    points, s = frequency_points(f, sigma)
    if frequencies is not None:
        points = np.atleast_1d(np.asarray(frequencies, dtype=float))
    if method == "tetrahedron":
        vert, central = tetrahedra(mesh, dynamical_matrix.force_constants.primitive.reciprocal_cell)
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
    primitive = dynamical_matrix.force_constants.primitive
    coords = dict(frequency=("frequency", points, {"units": "THz"}), atom=np.arange(primitive.n_atoms),
                  species=("atom", primitive.species.astype(str)))
    coords.update(orbit_coords(primitive))
    return xr.Dataset(data, coords=coords, attrs=attrs)


def orbit_coords(primitive) -> dict:
    """The coordinates over ``atom`` that group a projected DOS by orbit (symmetry-equivalent atoms,
    :func:`~trajmodes.lattice.symmetry.site_orbits`): ``orbit``, its label (``"Ga"``; ``"O (4f)"`` where a species
    has several orbits), and ``wyckoff`` (``"2b"``). ``projected.groupby("orbit").sum()`` is the DOS of each orbit, as
    phonopy's projected DOS groups it. Where spglib finds no symmetry every atom is its own orbit (``"Ga 0"``)."""
    from trajmodes.lattice.symmetry import site_orbits
    try:
        orbits = site_orbits(primitive)
    except ValueError:
        species = primitive.species.astype(str)
        return dict(orbit=("atom", np.array([f"{s} {k}" for k, s in enumerate(species)])))
    return dict(orbit=("atom", orbits.labels), wyckoff=("atom", orbits.wyckoff))
