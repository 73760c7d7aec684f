"""The one-phonon coherent structure factor of an MD run, branch by branch, from its projection onto phonon modes.

To first order in the displacements u_j of the atoms from their ideal sites r0_j, the density of scattering weights
b_j at a wave vector Q (Cartesian, rad/Å) is rho(Q, t) - <rho(Q)> = i sum_j b_j exp(i Q.r0_j) Q.u_j(t)
(Q not a reciprocal lattice vector). With the projection's inverse
u_j = N_c^-1/2 m_j^-1/2 sum_{q,s} exp(i 2 pi q.r0_j) e(q,s,k_j) Q(q,s) (:mod:`trajmodes.modes.projection`, the phase
convention of the dynamical matrix with atom positions), the sum over the cells keeps the one q of the projection
equivalent to -Q (or, written for u_j = u_j*, to +Q), and the linearised density is exactly a sum over branches::

    delta rho(Q, t) = sum_s A_s(Q, t),
    A_s(Q, t) = i N_c^1/2 c_s(Q) Q(q_m, s, t),    c_s = sum_k b_k m_k^-1/2 exp(i 2 pi G.p_k) Q.e(q_m, s, k)

for the mode q_m = G - Q (G integer, reduced coordinates; p_k the fractional position of primitive atom k), or
A_s = i N_c^1/2 c'_s Q(q_m, s, t)* with c'_s = sum_k b_k m_k^-1/2 exp(i 2 pi G.p_k) Q.e*(q_m, s, k) for q_m = Q - G.
(In the convention without atom positions in the phase the factor exp(i 2 pi G.p_k) reads exp(i Q.tau_k).)
With the Debye-Waller factor (``debye_waller=``) every b_k is multiplied by exp(-W_k(Q)), W_k = <(Q.u_k)^2> / 2.

Each A_s is correlated and transformed exactly as dynamic_structure_factor treats rho (dynasor's estimator, the same
window, time origins and normalisation per atom), so that on the same frames S_s(Q, omega) sums, with the cross
terms between branches, to the spectrum of the linearised density, and S_coh - sum_s S_s is what the one-phonon
picture leaves out: multiphonon scattering, anharmonicity, and those cross terms. The one-phonon cross section is the
textbook one (e.g. G. L. Squires, Introduction to the Theory of Thermal Neutron Scattering, Cambridge University
Press (1978), ch. 3; S. W. Lovesey, Theory of Neutron Scattering from Condensed Matter, vol. 1, Oxford (1984)).

Cross terms. In the harmonic crystal distinct normal modes are uncorrelated, so the cross terms vanish on average;
in a finite run they are noise, and where Q.e(q, s) = 0 for all branches but one (Q along a high-symmetry line of a
cubic crystal, inside the first zone or shifted by a G parallel to it) they vanish identically. Degenerate
branches: only the summed amplitude of a degenerate group is defined; the split between its members follows the
eigenvector basis that the projection chose (``degenerate="sum"`` shares the group's spectrum equally).
"""
from __future__ import annotations

import os

import dask
import dask.array as da
import numpy as np

from trajmodes.modes.density_correlations import coherent_sums, even_spectrum, lag_counts
from trajmodes.modes.scattering_weights import species_weights

__all__ = ["one_phonon_structure_factor", "debye_waller_msd", "projection_eigenvectors"]

CITATION = ("one-phonon coherent cross section: G. L. Squires, Introduction to the Theory of Thermal Neutron "
            "Scattering (1978), ch. 3; estimator of E. Fransson et al., Adv. Theory Simul. 4, 2000240 (2021)")


def _md_cell(modes, phonons, structure_factor, cell) -> np.ndarray:
    if cell is not None:
        return np.asarray(cell, float).reshape(3, 3)
    if structure_factor is not None and "cell" in structure_factor.attrs:
        return np.asarray(structure_factor.attrs["cell"], float).reshape(3, 3)
    S = np.asarray(modes.attrs["lattice_matrix"], float).reshape(3, 3)
    return S @ phonons.force_constants.primitive.cell


def _match(q: np.ndarray, mq: np.ndarray, tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every scattering q (reduced), the index of the projected q_m with q_m = G - q (sign -1, preferred) or
    q_m = q - G (sign +1), and the integer G."""
    idx, sign, G = np.empty(len(q), int), np.empty(len(q), int), np.empty((len(q), 3))
    for i, qi in enumerate(q):
        for s in (-1, 1):
            d = qi[None] - s * mq                                    # = G (sign -1: q + q_m; +1: q - q_m)
            hit = np.flatnonzero(np.abs(d - np.rint(d)).max(axis=1) < tol)
            if len(hit):
                idx[i], sign[i], G[i] = hit[0], s, np.rint(d[hit[0]])
                break
        else:
            raise ValueError(f"q-point {i}, {np.round(qi, 6).tolist()} (reduced), is not a q of the projection "
                             "(up to a reciprocal lattice vector and sign): project onto the q-points commensurate "
                             "with the MD cell (the default of trajmodes.project) or include it in qpoints=")
    return idx, sign, G


def debye_waller_msd(modes, phonons) -> np.ndarray:
    """<u u^T> of every primitive atom, (n_prim, 3, 3) Å², from the mode amplitudes of all the q-points
    commensurate with the MD cell: U_k = (N_c m_k)^-1 sum_q Re sum_{s,s'} e(q,s,k) e(q,s',k)^H <Q(q,s) Q(q,s')*>.

    One pass over the frames of a lazy ``modes`` (compute or persist them first to reuse the projection)."""
    n_cells = int(modes.attrs["n_cells"])
    mq = np.asarray(modes["qpoint"].values, float)
    if len(mq) != n_cells:
        raise ValueError(f"the Debye-Waller factor from the modes needs all {n_cells} q-points commensurate with the "
                         f"MD cell, the projection has {len(mq)}: project with qpoints=None, or give "
                         "debye_waller= the mean square displacements (n_prim, 3, 3) Angstrom^2")
    Q = modes["Q"].data
    cov = (da.einsum("tqs,tqr->qsr", Q, Q.conj()) if isinstance(Q, da.Array)
           else np.einsum("tqs,tqr->qsr", Q, Q.conj())) / Q.shape[0]
    cov = np.asarray(dask.compute(cov)[0])
    e = projection_eigenvectors(modes, phonons)
    prim = phonons.force_constants.primitive
    n = prim.n_atoms
    ek = e.reshape(len(mq), n, 3, -1)                                 # (q, k, a, s)
    U = np.einsum("qkas,qsr,qkbr->kab", ek, cov, ek.conj()).real
    return U / (n_cells * prim.masses[:, None, None])


def _dw_factor(debye_waller, modes, phonons, qc: np.ndarray) -> np.ndarray:
    """exp(-W_k(Q)), (nq, n_prim)."""
    n = phonons.force_constants.primitive.n_atoms
    if debye_waller is None or debye_waller is False:
        return np.ones((len(qc), n))
    if isinstance(debye_waller, str) and debye_waller != "modes":
        raise ValueError(f"debye_waller must be None, 'modes' or mean square displacements, not {debye_waller!r}")
    U = debye_waller_msd(modes, phonons) if isinstance(debye_waller, str) or debye_waller is True \
        else np.asarray(debye_waller, float)
    if U.shape == (n,):
        U = U[:, None, None] * np.eye(3)
    if U.shape != (n, 3, 3):
        raise ValueError(f"debye_waller must be None, 'modes', (n_prim,) or (n_prim, 3, 3) Angstrom^2 with "
                         f"n_prim = {n}, not of shape {U.shape}")
    return np.exp(-0.5 * np.einsum("qa,kab,qb->qk", qc, U, qc))


def projection_eigenvectors(modes, phonons) -> np.ndarray:
    """The eigenvectors (q, 3 n_prim, branch) that the modes were projected on: ``modes["eigenvectors"]`` when the
    projection stored them, else ``phonons.frequencies_and_eigenvectors`` of the same q-points (the projection's own
    call, which gives the same eigenvectors when the dynamical matrices come out bitwise the same: the phase of an
    eigenvector, and the basis of a degenerate subspace, follow the round-off of D(q), which depends on the number of
    BLAS threads at the time of the call)."""
    if "eigenvectors" in modes:
        return np.asarray(modes["eigenvectors"].transpose("q", ...).values)
    return phonons.frequencies_and_eigenvectors(np.asarray(modes["qpoint"].values, float))[1]


def _coefficients(phonons, eigvecs, idx, sign, G, qc, weights, dw) -> tuple[np.ndarray, str]:
    """c_s(Q) of the module docstring, (nq, nb) complex, in b / (amu^1/2 Å)."""
    prim = phonons.force_constants.primitive
    n = prim.n_atoms
    e = eigvecs[idx].reshape(len(idx), n, 3, -1)                     # (q, k, a, s)
    e = np.where(sign[:, None, None, None] > 0, e.conj(), e)
    names = sorted(set(np.asarray(prim.species, str).tolist()))
    coh, _, unit = species_weights(weights, names, len(idx), q_norm=np.linalg.norm(qc, axis=1))
    b = np.stack([coh[s] for s in np.asarray(prim.species, str)], axis=1)          # (q, k)
    phase = np.exp(2j * np.pi * G @ prim.scaled_positions.T)                       # (q, k)
    pre = b * dw * phase / np.sqrt(prim.masses)[None]
    return np.einsum("qk,qa,qkas->qs", pre, qc, e), unit


def _chunks(Q: da.Array, wave: int):
    """(first frame, list of blocks) per wave of ``wave`` chunks of the time axis, computed together."""
    bounds = np.concatenate([[0], np.cumsum(Q.chunks[0])]).astype(int)
    for w0 in range(0, len(bounds) - 1, wave):
        parts = [(int(bounds[c]), Q[bounds[c]:bounds[c + 1]]) for c in range(w0, min(w0 + wave, len(bounds) - 1))]
        blocks = dask.compute(*[p for _, p in parts])
        yield from zip([a for a, _ in parts], blocks)


def _group_mixing(freqs: np.ndarray, degenerate: str, tol: float) -> np.ndarray:
    """(nq, nb, nb): a_s -> sum over the members of s's degenerate group, divided by sqrt(group size) ("sum"), or
    the identity ("basis")."""
    nq, nb = freqs.shape
    mix = np.broadcast_to(np.eye(nb), (nq, nb, nb)).copy()
    if degenerate == "sum":
        from trajmodes.phonons.harmonic.degeneracy import degenerate_groups
        for i in range(nq):
            for g in degenerate_groups(freqs[i], tol):
                mix[i][np.ix_(g, g)] = 1.0 / np.sqrt(len(g))
    return mix


def _correlate(Q, uidx, pos, conj, coef, mix, window: int, step: int, wave: int) -> np.ndarray:
    """Window sums of Re a(t0) a(t0 + k)* for every branch amplitude a_s (mixed by ``mix`` (nq, nb, nb)) and for
    their sum, (window, nb + 1, nq)."""
    nq, nb = coef.shape
    if not isinstance(Q, da.Array):
        Q = da.from_array(np.asarray(Q), chunks=(1024, -1, -1))
    Q = Q[:, uidx, :]
    carry = np.zeros((0, 1, (nb + 1) * nq), complex)
    out = 0.0
    for start, block in _chunks(Q, wave):
        x = np.asarray(block)[:, pos, :]                                             # (f, nq, nb)
        x = np.where(conj[None, :, None], x.conj(), x) * coef[None]
        y = np.einsum("fqs,qsr->frq", x, mix)
        a = np.concatenate([y, x.sum(axis=2)[:, None]], axis=1)                      # (f, nb + 1, nq)
        cur = a.reshape(len(a), 1, -1)
        out = out + coherent_sums(carry, cur, start, window, step)
        carry = np.concatenate([carry, cur])[-(window - 1):] if window > 1 else carry[:0]
    return np.asarray(out)[:, 0, 0].reshape(window, nb + 1, nq)


def _check(modes, structure_factor, window, step) -> tuple[int, int, float, int]:
    t = np.asarray(modes["time"].values, float)
    if len(t) < 2:
        raise ValueError("the modes hold fewer than two frames")
    dt = float(np.median(np.diff(t)))
    if np.abs(np.diff(t) - dt).max() > 1e-3 * dt:
        raise ValueError("the frames of the modes are not evenly spaced in time: correlation windows need a constant "
                         "time step")
    if structure_factor is not None:
        a = structure_factor.attrs
        window = int(a["window"]) if window is None else window
        step = int(a["step"]) if step is None else step
        bad = {k: (v, w) for k, v, w in (("window", int(a["window"]), window), ("step", int(a["step"]), step),
                                         ("n_frames", int(a["n_frames"]), len(t)))
               if v != w}
        if bad or abs(float(a["frame_interval"]) - dt) > 1e-6 * dt:
            raise ValueError(f"the structure factor and the modes are not of the same frames, window and step "
                             f"(structure factor, here: {bad or 'frame interval'}): compute both on the same run "
                             "with the same window and step")
    if window is None:
        raise ValueError("give window= (frames per correlation window), or structure_factor= to take its own")
    step = 1 if step is None else step
    if not 2 <= window <= len(t) or step < 1:
        raise ValueError(f"window={window} must lie in 2 .. {len(t)} frames and step={step} be at least 1")
    return int(window), int(step), dt, len(t)


def one_phonon_structure_factor(modes, phonons, qpoints=None, *, window: int | None = None, step: int | None = None,
                                structure_factor=None, cell=None, weights=None, debye_waller=None,
                                degenerate: str = "basis", degeneracy_tol: float = 1e-3, wave: int | None = None):
    """S(Q, omega) of one-phonon coherent scattering per branch, from the modes of a run, beside its full S(Q, omega).

    Parameters
    ----------
    modes : xarray.Dataset
        From :func:`trajmodes.project` (lazy or computed): ``Q`` (time, q, branch) amu^1/2 Å.
    phonons : trajmodes.Phonons
        Those the run was projected on (their eigenvectors define the branches; see
        :func:`projection_eigenvectors`: A_s pairs every Q(q, s) with the eigenvector it was projected on, so the
        cross terms and the split of degenerate branches need exactly the projection's eigenvectors).
    qpoints : array_like (nq, 3), optional
        Scattering vectors in reduced coordinates of ``phonons``' primitive reciprocal lattice (no 2 pi), inside or
        outside the first zone; each must equal a projected q (or its negative) up to a reciprocal lattice vector.
        Default: those of ``structure_factor``, else the projected q.
    window, step : int, optional
        Frames per correlation window and between time origins, as in
        :func:`trajmodes.modes.structure_factor.dynamic_structure_factor` (default: ``structure_factor``'s).
    structure_factor : xarray.Dataset, optional
        dynamic_structure_factor of the same frames, window and step, at the same q, computed with
        ``primitive=phonons.force_constants.primitive`` (its ``q_cartesian`` are checked against the q here) and the
        same ``weights``: then ``Sqw_coh`` and the ``remainder`` are returned too.
    cell : array_like (3, 3), optional
        The MD cell (Å) that sets Q in rad/Å; default ``structure_factor``'s, else the force
        constants' primitive cell times the supercell matrix of the projection.
    weights : None, "neutron", "xray" or dict
        Coherent scattering weight b per species, as ``dynamic_structure_factor``'s ``weights``
        (:func:`trajmodes.modes.scattering_weights.species_weights`).
    debye_waller : None, "modes" or array_like
        None: no Debye-Waller factor (the linearised density). "modes": exp(-W_k), W_k = Q.U_k.Q / 2 with the mean
        square displacements U_k of :func:`debye_waller_msd` (one more pass over the frames; needs every
        commensurate q). An array (n_prim, 3, 3) or (n_prim,) (isotropic): U_k in Å².
    degenerate : {"basis", "sum"}
        "basis": each branch of a degenerate group as the projection's eigenvectors split it (a choice of basis);
        "sum": every member of a group (harmonic frequencies within ``degeneracy_tol`` THz) holds an equal share of
        the spectrum of the group's summed amplitude sum_{s in g} A_s, which does not depend on the basis (the sum of
        the members' spectra does, in a finite run, through their cross terms).
    degeneracy_tol : float
        Largest difference between the harmonic frequencies of two branches at the same q for them to be one
        degenerate group, THz (default 0.001).
    wave : int, optional
        Chunks of frames computed at a time (default the number of cores).

    Returns
    -------
    xarray.Dataset
        ``Fqt_branch`` (q, branch, time) and ``Sqw_branch`` (q, branch, omega); ``Fqt_one_phonon``,
        ``Sqw_one_phonon`` (q, ...): the spectrum of the summed amplitudes (with the cross terms);
        ``Sqw_interference`` = Sqw_one_phonon - sum_s Sqw_branch; ``weight`` (q, branch) ``|c_s|^2 / n_prim``
        (Å⁻² amu⁻¹ times b^2); with ``structure_factor``: ``Sqw_coh`` and ``remainder`` = Sqw_coh - sum_s
        Sqw_branch (q, omega), ``remainder_fraction`` (q) = its integral over omega over that of Sqw_coh
        (= its F(t = 0) ratio), and ``multiphonon`` = Sqw_coh - Sqw_one_phonon (the remainder without the cross terms
        between branches, which are noise in a harmonic crystal) with ``multiphonon_fraction``. Units in the
        attributes (F per atom, S in ps, as dynamic_structure_factor's).
        Coordinates ``time`` (ps), ``omega`` (rad/ps), ``frequency`` (THz), ``qpoint``, ``q_cartesian``,
        ``q_norm``, ``mode_qpoint`` (the projected q used), ``frequency_harmonic`` (q, branch) THz.
    """
    import xarray as xr
    window, step, dt, n_frames = _check(modes, structure_factor, window, step)
    if degenerate not in ("basis", "sum"):
        raise ValueError(f"degenerate must be 'basis' or 'sum', not {degenerate!r}")
    mq = np.asarray(modes["qpoint"].values, float)
    if qpoints is None:
        qpoints = structure_factor["qpoint"].values if structure_factor is not None and \
            "qpoint" in structure_factor.coords else mq
    q = np.atleast_2d(np.asarray(qpoints, float))
    cell = _md_cell(modes, phonons, structure_factor, cell)
    S = np.asarray(modes.attrs["lattice_matrix"], float).reshape(3, 3)
    qc = 2 * np.pi * q @ np.linalg.inv(np.linalg.solve(S, cell)).T
    if structure_factor is not None:
        ref = np.asarray(structure_factor["q_cartesian"].values, float)
        if ref.shape != qc.shape or np.abs(ref - qc).max() > 1e-6 * max(np.abs(ref).max(), 1.0):
            raise ValueError("the structure factor's q-points are not these (in Cartesian coordinates): compute it at "
                             "the same reduced q with primitive=phonons.force_constants.primitive, so that both refer "
                             "to the same reciprocal lattice")
    idx, sign, G = _match(q, mq)
    coef, unit = _coefficients(phonons, projection_eigenvectors(modes, phonons), idx, sign, G, qc, weights,
                               _dw_factor(debye_waller, modes, phonons, qc))
    uidx, pos = np.unique(idx, return_inverse=True)
    freqs = np.asarray(modes["frequency_harmonic"].values, float)[idx]
    sums = _correlate(modes["Q"].data, uidx, pos.ravel(), sign > 0, coef,
                      _group_mixing(freqs, degenerate, degeneracy_tol), window, step, int(wave or os.cpu_count() or 1))
    n_cells, n_atoms = int(modes.attrs["n_cells"]), int(modes.attrs["n_atoms"])
    acf = sums * (n_cells / (n_atoms * lag_counts(n_frames, window, step)))[:, None, None]   # (time, nb + 1, q)
    acf = acf.transpose(2, 1, 0)                                                            # (q, nb + 1, time)
    omega, spec = even_spectrum(acf, dt)
    wpre = "" if unit == "1" else unit + " "
    fu, su = wpre + "1 (per atom)", wpre + "ps"
    branch_sum = spec[:, :-1].sum(axis=1)
    data = {"Fqt_branch": (("q", "branch", "time"), acf[:, :-1], {"units": fu}),
            "Sqw_branch": (("q", "branch", "omega"), spec[:, :-1], {"units": su}),
            "Fqt_one_phonon": (("q", "time"), acf[:, -1], {"units": fu, "long_name": "linearised density, all branches"
                                                                                    " with their cross terms"}),
            "Sqw_one_phonon": (("q", "omega"), spec[:, -1], {"units": su}),
            "Sqw_interference": (("q", "omega"), spec[:, -1] - branch_sum,
                                 {"units": su, "long_name": "cross terms between branches"}),
            "weight": (("q", "branch"), np.abs(coef) ** 2 / phonons.force_constants.primitive.n_atoms,
                       {"units": wpre + "1/(amu Angstrom^2)", "long_name": "|c_s(Q)|^2 / n_prim"})}
    if structure_factor is not None:
        coh = np.asarray(structure_factor["Sqw_coh"].values, float)
        f0 = np.asarray(structure_factor["Fqt_coh"].values, float)[:, 0]
        data["Sqw_coh"] = (("q", "omega"), coh, {"units": su})
        data["remainder"] = (("q", "omega"), coh - branch_sum,
                             {"units": su, "long_name": "S_coh - sum over branches: multiphonon, anharmonic, "
                                                        "cross terms"})
        data["multiphonon"] = (("q", "omega"), coh - spec[:, -1],
                               {"units": su, "long_name": "S_coh - Sqw_one_phonon: beyond the linearised density "
                                                          "(multiphonon, anharmonic), without the cross terms"})
        with np.errstate(divide="ignore", invalid="ignore"):
            data["remainder_fraction"] = ("q", (f0 - acf[:, :-1, 0].sum(axis=1)) / f0,
                                          {"units": "1", "long_name": "integral of remainder / integral of S_coh"})
            data["multiphonon_fraction"] = ("q", (f0 - acf[:, -1, 0]) / f0,
                                            {"units": "1", "long_name": "integral of multiphonon / integral of "
                                                                        "S_coh"})
    coords = {"time": ("time", dt * np.arange(window), {"units": "ps"}),
              "omega": ("omega", omega, {"units": "rad/ps"}),
              "frequency": ("omega", omega / (2 * np.pi), {"units": "THz"}),
              "qpoint": (("q", "reduced"), q, {"units": "reduced (primitive reciprocal lattice, no 2 pi)"}),
              "q_cartesian": (("q", "cartesian"), qc, {"units": "rad/Angstrom", "long_name": "q, 2 pi included"}),
              "q_norm": ("q", np.linalg.norm(qc, axis=1), {"units": "rad/Angstrom"}),
              "mode_qpoint": (("q", "reduced"), mq[idx], {"units": "reduced"}),
              "frequency_harmonic": (("q", "branch"), freqs, {"units": "THz"})}
    attrs = {"window": window, "step": step, "n_frames": n_frames, "frame_interval": dt, "n_atoms": n_atoms,
             "n_cells": n_cells, "degenerate": degenerate, "cell": cell.reshape(-1),
             "debye_waller": "none" if debye_waller is None else
             ("modes" if isinstance(debye_waller, str) or debye_waller is True else "given"),
             "weights": "equal (1)" if weights is None else repr(weights), "citation": CITATION,
             "convention": "A_s(Q,t) = i N_c^1/2 sum_k b_k m_k^-1/2 exp(i 2 pi G.p_k) (Q.e(q_m,s,k)) Q(q_m,s,t), "
                           "q_m = G - Q; F_s = N^-1 <Re A_s(t0) A_s(t0+t)*>; S_s(Q,w) as dynamic_structure_factor"}
    return xr.Dataset(data, coords=coords, attrs=attrs)
