"""Phonon band structures along paths through the Brillouin zone, as xarray datasets."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from trajmodes.lattice import paths
from trajmodes.lattice.spglib_calls import SYMPREC
from trajmodes.phonons.harmonic.velocities import group_velocities

if TYPE_CHECKING:
    from trajmodes.phonons.harmonic.dynamical import DynamicalMatrix

__all__ = ["band_structure", "path_pieces"]


def path_pieces(primitive, path, symprec: float = SYMPREC):
    """Connected pieces of reduced q-points and their labels (or None) from a path specification.

    ``path``: None (the standard path of the Bravais lattice, :func:`trajmodes.lattice.paths.default_path`), a string
    of special-point labels with pieces separated by ``|`` or ``,`` (:func:`trajmodes.lattice.paths.parse_path`:
    'GXWK|GL', 'GZ1M'), one (n, 3) array, or a list of them (see :func:`band_structure`).
    """
    if path is None:
        return paths.default_path(primitive, symprec)
    if isinstance(path, str):
        return paths.parse_path(path, primitive, symprec)
    arr = np.asarray(path, dtype=object)
    if arr.ndim == 2 and arr.shape[1] == 3 and np.isscalar(arr[0, 0]):
        return [np.asarray(path, dtype=float)], None
    return [np.asarray(p, dtype=float).reshape(-1, 3) for p in path], None


def band_structure(dynamical_matrix: DynamicalMatrix, path=None, npoints: int = 51, labels=None,
                   with_group_velocities: bool = False, symprec: float = SYMPREC):
    """Frequencies along a path through the Brillouin zone of the crystal of ``dynamical_matrix`` (its
    non-analytic correction taken along each segment at Gamma): :meth:`trajmodes.Phonons.band_structure`, which
    documents the parameters and the Dataset."""
    import xarray as xr
    dm = dynamical_matrix
    cell = dm.force_constants.primitive
    pieces, lab = path_pieces(cell, path, symprec)
    if labels is not None:
        flat = [x for piece in labels for x in piece] if not isinstance(labels[0], str) else list(labels)
        if len(flat) != sum(len(p) for p in pieces):
            raise ValueError(f"{len(flat)} labels for {sum(len(p) for p in pieces)} path nodes")
        it = iter(flat)
        lab = [[next(it) for _ in p] for p in pieces]
    q, dist, seg, nodes = paths.sample_path(pieces, npoints, cell.reciprocal_cell)
    label = np.full(len(q), "", dtype=object)
    if lab is not None:
        for idx, p, i in nodes:
            label[idx] = lab[p][i]
    ticks_d, ticks_l = [], []
    for idx, p, i in nodes:
        if ticks_d and abs(dist[idx] - ticks_d[-1]) < 1e-12:
            if label[idx] != ticks_l[-1]:
                ticks_l[-1] = f"{ticks_l[-1]}|{label[idx]}"
        else:
            ticks_d.append(float(dist[idx]))
            ticks_l.append(str(label[idx]))
    coords = dict(distance=("q", dist, {"units": "1/Angstrom", "long_name": "path length (no 2 pi)"}),
                  qpoint=(("q", "reduced"), q, {"units": "reduced (primitive reciprocal, no 2 pi)"}),
                  segment=("q", seg), label=("q", label.astype(str)),
                  branch=np.arange(dm.n_branches))
    qdir = None
    if dm.nac:                    # Gamma on a segment: the limit along the segment (as phonopy)
        ends = np.flatnonzero(np.diff(np.append(seg, -1)) != 0)
        starts = np.concatenate([[0], ends[:-1] + 1])
        qdir = (q[ends] - q[starts])[np.searchsorted(ends, np.arange(len(q)))]
    data = dict(frequency=(("q", "branch"), dm.frequencies(q, qdir),
                           {"units": "THz", "long_name": "phonon frequency (imaginary negative)"}))
    if with_group_velocities:
        data["group_velocity"] = (("q", "branch", "cartesian"), group_velocities(dm, q),
                                  {"units": "THz*Angstrom", "long_name": "group velocity d nu / d q"})
        coords["cartesian"] = ["x", "y", "z"]
    return xr.Dataset(data, coords=coords, attrs=dict(tick_distance=ticks_d, tick_labels=ticks_l,
                                                        npoints=int(npoints)))
