"""Degenerate phonon branches: groups of modes at one q whose frequencies lie within a tolerance (chained), averages
over them, and operators diagonalised within them. A quantity of one mode inside a degenerate subspace depends on the
arbitrary basis of eigenvectors chosen there; its average over the subspace does not, nor do the eigenvalues of an
operator restricted to the subspace.

The grouping is one: :func:`degenerate_labels` (the frequencies at every q sorted, a new group wherever the gap to
the next is ``tol`` or more); :func:`degenerate_groups`, :func:`degenerate_subspaces` and :func:`degenerate_averager`
are derived from it, and :func:`diagonalize_degenerate`, :func:`degenerate_basis` and :func:`cartesian_basis` work
on :func:`degenerate_subspaces`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["degenerate_labels", "degenerate_groups", "degenerate_subspaces", "degenerate_averager",
           "degenerate_average", "diagonalize_degenerate", "degenerate_basis", "cartesian_basis"]


def _sorted_labels(freqs, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """(order, labels in that order): the stable ascending order of the branches at every q, (nq, nb), and the
    label of the branch at every sorted position, non-decreasing along each row."""
    f = np.atleast_2d(np.asarray(freqs, dtype=float))
    order = np.argsort(f, axis=1, kind="stable")
    start = np.ones(f.shape, dtype=bool)
    start[:, 1:] = np.diff(np.take_along_axis(f, order, axis=1), axis=1) >= tol
    return order, np.cumsum(start, axis=1) - 1


def degenerate_labels(freqs, tol: float = 1e-4) -> np.ndarray:
    """Label of each branch's degenerate group, (nq, nb) int, for frequencies (nq, nb) in THz, in any order.

    Branches whose frequencies, sorted at one q, are chained by gaps below ``tol`` (THz) share a label; labels count
    the groups from 0 in ascending frequency at every q.
    """
    order, lab = _sorted_labels(freqs, tol)
    out = np.empty_like(lab)
    np.put_along_axis(out, order, lab, axis=1)
    return out


def degenerate_groups(nu, tol: float) -> list[list[int]]:
    """Groups of branch indices with chained |nu_i - nu_j| < ``tol`` (THz) at one q (``nu`` (nb,) sorted or not):
    the groups in ascending frequency, the branches of each in ascending frequency (ties in index order)."""
    order, lab = _sorted_labels(np.asarray(nu, dtype=float)[None], tol)
    return [g.tolist() for g in np.split(order[0], np.flatnonzero(np.diff(lab[0])) + 1)]


def degenerate_subspaces(freqs, tol: float = 1e-4) -> list[tuple[np.ndarray, np.ndarray]]:
    """The degenerate subspaces of more than one branch, batched by their size.

    Parameters
    ----------
    freqs : (nq, nb) THz, in any order at every q (ascending: every subspace is a run of adjacent branches).
    tol : float
        THz, of :func:`degenerate_labels`.

    Returns
    -------
    list of (q, branches), one for every size g > 1 that occurs, in ascending g: q (m,) int the q index of each of
    the m subspaces of g branches, branches (m, g) int their branch indices (ascending frequency).
    """
    order, lab = _sorted_labels(freqs, tol)
    nq, nb = lab.shape
    start = np.ones((nq, nb), dtype=bool)
    start[:, 1:] = np.diff(lab, axis=1) != 0
    qi, p0 = np.nonzero(start)
    size = np.diff(np.append(np.flatnonzero(start.reshape(-1)), nq * nb))
    out = []
    for g in np.unique(size[size > 1]):
        sel = size == g
        q = qi[sel]
        out.append((q, order[q[:, None], p0[sel][:, None] + np.arange(g)]))
    return out


def degenerate_averager(freqs, tol: float = 1e-4) -> np.ndarray:
    """Matrices M (nq, nb, nb) with (M v)_i the mean of v over the degenerate group of branch i, for frequencies
    (nq, nb) in THz."""
    lab = degenerate_labels(freqs, tol)
    same = (lab[:, :, None] == lab[:, None, :]).astype(float)
    return same / same.sum(axis=2, keepdims=True)


def degenerate_average(values, freqs, tol: float = 1e-4) -> np.ndarray:
    """``values`` (..., nq, nb) averaged over the degenerate groups of ``freqs`` (nq, nb, THz)."""
    return np.einsum("qij,...qj->...qi", degenerate_averager(freqs, tol), np.asarray(values, dtype=float))


def diagonalize_degenerate(operator, freqs, tol: float = 1e-4, direction=None, descending: bool = False) -> np.ndarray:
    """The diagonal elements <e_s|A|e_s> of Hermitian operators in the basis of the phonon eigenvectors e_s, with the
    basis inside every degenerate subspace chosen to diagonalise them there (degenerate perturbation theory: the
    first-order changes of the eigenvalues, independent of the eigenvectors chosen inside the subspace).

    Parameters
    ----------
    operator : (nq, nb, nb) or (nq, k, nb, nb) array_like
        <e_s|A|e_t> at every q: one operator, or k of them (the Cartesian components of a gradient; then
        ``direction`` is needed). Units are kept.
    freqs : (nq, nb) THz
        The frequencies of the eigenvectors, whose degenerate subspaces (:func:`degenerate_subspaces`, ``tol`` in THz)
        are diagonalised.
    direction : (k,) array_like, optional
        With k operators: inside every subspace the basis diagonalises sum_x direction_x A_x, and the diagonal
        elements of every A_x in that basis are returned.
    descending : bool
        One operator: inside every subspace its eigenvalues in descending order along the branches (ascending by
        default).

    Returns
    -------
    ndarray (nq, nb) real, or (nq, nb, k) with k operators.
    """
    M = np.asarray(operator)
    if direction is None:
        out = np.einsum("qss->qs", M).real.copy()
        for q, b in degenerate_subspaces(freqs, tol):                  # one batched eigvalsh per subspace size
            sub = M[q[:, None, None], b[:, :, None], b[:, None, :]]                  # (m, g, g)
            out[q[:, None], b] = -np.linalg.eigvalsh(-sub) if descending else np.linalg.eigvalsh(sub)
        return out
    d = np.asarray(direction, dtype=float)
    out = np.einsum("qxss->qsx", M).real.copy()
    for q, b in degenerate_subspaces(freqs, tol):                      # one batched eigh per subspace size
        sub = M[q[:, None, None], :, b[:, :, None], b[:, None, :]]                   # (m, g, g, k)
        _, U = np.linalg.eigh(sub @ d)
        out[q[:, None], b] = np.einsum("mis,mijx,mjs->msx", U.conj(), sub, U).real
    return out


def degenerate_basis(operator, freqs, tol: float = 1e-4, direction=None) -> np.ndarray:
    """The unitary change of basis inside every degenerate subspace that diagonalises Hermitian operators there (the
    basis of :func:`diagonalize_degenerate`, as a matrix): with it, ``U^H A U`` is the operator's full matrix in that
    basis, off-diagonal elements included (the velocity operator,
    :func:`trajmodes.phonons.harmonic.velocities.velocity_operator`).

    Parameters
    ----------
    operator : (nq, nb, nb) or (nq, k, nb, nb) array_like
        <e_s|A|e_t> at every q, one operator or k of them (then ``direction`` is needed).
    freqs : (nq, nb) THz
        The frequencies of the eigenvectors; their degenerate subspaces (:func:`degenerate_subspaces`, ``tol`` THz).
    direction : (k,) array_like, optional
        With k operators: the basis diagonalises sum_x direction_x A_x inside every subspace.

    Returns
    -------
    ndarray (nq, nb, nb) complex: block-diagonal over the subspaces, the identity on non-degenerate branches; inside
    a subspace the columns are the eigenvectors of the restricted operator, in ascending order of its eigenvalues
    (phonopy's choice). The basis is unique up to a phase per column where those eigenvalues are distinct; where they
    coincide (the restricted operator a multiple of the identity) it is as arbitrary as the input.
    """
    M = np.asarray(operator)
    nq, nb = M.shape[0], M.shape[-1]
    U = np.broadcast_to(np.eye(nb, dtype=complex), (nq, nb, nb)).copy()
    for q, b in degenerate_subspaces(freqs, tol):
        if direction is None:
            sub = M[q[:, None, None], b[:, :, None], b[:, None, :]]                 # (m, g, g)
        else:
            sub = M[q[:, None, None], :, b[:, :, None], b[:, None, :]] @ np.asarray(direction, dtype=float)
        U[q[:, None, None], b[:, :, None], b[:, None, :]] = np.linalg.eigh(sub)[1]
    return U


def cartesian_basis(eigenvectors, frequencies, weights=(1.0, 2.0, 3.0), tol: float = 1e-4) -> np.ndarray:
    """Eigenvectors with a fixed basis inside every degenerate subspace: the one that diagonalises the Cartesian
    operator diag(w_x, w_y, w_z) on every atom there (modes polarised along the axes where the subspace allows it), in
    ascending order of its eigenvalues; each mode's largest component is made real and positive.

    Quantities that depend on the basis (TDEP's isotope overlap and per-band widths,
    :mod:`trajmodes.phonons.anharmonic.lineshape`) then depend on the subspaces alone, not on the eigensolver. At Gamma
    of rock salt it puts the TO modes along y and z.

    Parameters
    ----------
    eigenvectors : (..., 3n, nb) array_like
        Columns are modes, rows 3k + a.
    frequencies : (..., nb) array_like
        THz; modes within ``tol`` THz (chained) form a subspace (:func:`degenerate_subspaces`).
    weights : (3,) array_like
        w_x, w_y, w_z, distinct.

    Returns
    -------
    ndarray (..., 3n, nb) complex.
    """
    e = np.array(eigenvectors, dtype=complex)
    shape = e.shape
    e = e.reshape((-1,) + shape[-2:])
    nu = np.asarray(frequencies, dtype=float).reshape(len(e), -1)
    w = np.tile(np.asarray(weights, dtype=float), shape[-2] // 3)
    for qi, b in degenerate_subspaces(nu, tol):                # one batched eigh per subspace size
        sub = np.take_along_axis(e[qi], b[:, None, :], axis=2)                  # (m, 3n, g)
        _, U = np.linalg.eigh(np.einsum("mas,a,mat->mst", sub.conj(), w, sub))
        e[qi[:, None], :, b] = np.swapaxes(sub @ U, 1, 2)
    mag = np.abs(e)
    big = np.argmax(mag > mag.max(axis=1, keepdims=True) * (1 - 1e-8), axis=1)       # first largest component
    phase = np.take_along_axis(e, big[:, None, :], axis=1)
    e *= np.abs(phase) / np.where(phase == 0, 1, phase)
    return e.reshape(shape)
