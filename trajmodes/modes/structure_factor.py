"""The dynamic structure factor and the current correlations of an MD run, streamed over its frames.

Definitions, normalisation and time-origin averaging are those of dynasor (Fransson, Slabanja, Erhart and
Wahnstroem, "dynasor - A tool for extracting dynamical structure factors and current correlation functions from
molecular dynamics simulations", Adv. Theory Simul. 4, 2000240 (2021)), so that on the same frames both give the
same numbers to round-off. With N the number of atoms, rho_s(q, t) = sum_{j in s} exp(i q.r_j(t)) and the currents
j_L, j_T of :mod:`trajmodes.modes.density_correlations`::

    F_AB(q, t)   = N^-1 < Re rho_A(q, t0) rho_B(q, t0 + t)* + Re rho_B(q, t0) rho_A(q, t0 + t)* >     (A != B)
    F_AA(q, t)   = N^-1 < Re rho_A(q, t0) rho_A(q, t0 + t)* >
    F_s,A(q, t)  = N^-1 < sum_{j in A} cos(q.(r_j(t0 + t) - r_j(t0))) >                         (incoherent)
    C_L,AB(q, t) = as F_AB with j_L in place of rho;  C_T,AB(q, t) = the same with j_T, times 1/2
    S(q, omega)  = dt sum_{k = -(W-1)}^{W-1} F(q, |k| dt) exp(-i omega k dt)      (no window function)

<.> is the mean over the time origins t0 = 0, step, 2 step, ... (frames) of the run, at each lag separately: a lag
averages over the origins whose partner frame t0 + t lies in the run. The totals are the sums of the partials.
"""
from __future__ import annotations

import os
import uuid
from itertools import combinations_with_replacement

import dask
import numpy as np

from trajmodes.modes.density_correlations import check_cell, chunk_terms, coherent_sums, even_spectrum, lag_counts
from trajmodes.modes.scattering_qpoints import cartesian_qpoints, run_primitive
from trajmodes.modes.scattering_weights import species_weights, weight_pairs
from trajmodes.lattice.spglib_calls import SYMPREC

__all__ = ["dynamic_structure_factor"]

CITATION = ("E. Fransson, M. Slabanja, P. Erhart and G. Wahnstroem, Adv. Theory Simul. 4, 2000240 (2021) "
            "(the definitions of dynasor)")


def _rows(carry, carry_end: int, blocks, block_start: int, lo: int):
    """Frames [lo, ...) of the history: ``carry`` (numpy, the frames ending at ``carry_end``) then ``blocks``
    (consecutive chunks from frame ``block_start`` on); None when there is no such field."""
    if carry is None:
        return None
    parts = ([carry[len(carry) - (carry_end - lo):]] if lo < carry_end else []) + list(blocks)
    first = min(lo, carry_end) if lo < carry_end else block_start
    z = np.concatenate(parts) if len(parts) > 1 else parts[0] if parts else carry[:0]
    return z[lo - first:]


#: fewest atoms in one of the tasks that share a span's atoms
MIN_BLOCK_ATOMS = 4096


def _plan(bounds: np.ndarray, n_atoms: int, window: int, currents: bool, cores: int, span_frames: int | None,
          wave: int | None) -> tuple[list[tuple[int, int]], int, int]:
    """How the read chunks (frame ``bounds``) are worked: spans of consecutive chunks (first and last + 1), spans
    per ``dask.compute`` (a wave) and tasks per span, each over a block of its atoms.

    A span evaluates the phases of the ``window - 1`` frames before it for its incoherent sums, so spans of about 4
    windows (or the whole run) keep that repeated work small whatever the read chunks (one frame each at 10^6
    atoms); the frames a wave holds stay within :data:`trajmodes.resources.HOLD_BYTES` (half of it on a
    ``dask.distributed`` cluster). When a wave has fewer spans than cores, a span's atoms are shared by several tasks
    (the sums are over atoms), as they are where one task's copy of them would outgrow twice
    :func:`trajmodes.resources.task_memory`.
    """
    from trajmodes import resources
    per_frame = n_atoms * 24 * (2 if currents else 1)                    # positions (and velocities), bytes
    # on a cluster a span's frames are held twice over: where they were read, and as the blocks' atoms sent on
    hold = resources.HOLD_BYTES // (1 if resources.scattering_client() is None else 2)
    if span_frames is None:
        span_frames = min(int(bounds[-1]), 4 * window, max(1, hold // per_frame))
    spans, c0, nch = [], 0, len(bounds) - 1
    while c0 < nch:
        c1 = c0 + 1
        while c1 < nch and bounds[c1 + 1] - bounds[c0] <= span_frames:
            c1 += 1
        spans.append((c0, c1))
        c0 = c1
    longest = max(int(bounds[b] - bounds[a]) for a, b in spans)
    if wave is None:
        wave = max(1, min(cores, hold // max(1, longest * per_frame)))
    wave = int(min(wave, len(spans)))
    # a task copies its atoms' positions (and velocities) over the span and the window before it: blocks enough for
    # the cores, and for copies within twice a read task's memory
    copies = (window + longest) * n_atoms * 48
    blocks = max(1 if wave >= cores else -(-2 * cores // wave), -(-copies // (2 * resources.task_memory())))
    return spans, wave, max(1, min(blocks, n_atoms // MIN_BLOCK_ATOMS))


def _atoms_of(chunk, a0: int, a1: int):
    """The atoms [a0, a1) of a chunk of frames (frames, atoms, 3): a view; on a cluster only they travel."""
    return chunk[:, a0:a1]


def _block_terms(carry_x, carry_end, prev_x, block_start, xs, vs, cells, start, window, step, groups, atoms, q,
                 qhat, cell):
    """A span's densities over a block of atoms and, with the positions before it (the carry of earlier waves and
    the chunks of this wave before it), their incoherent window sums: one read of the span's chunks, one evaluation
    of the block's phases. Without incoherent sums (no carry) each chunk's densities come from the chunk as read,
    its block's atoms by index, without copying them. ``atoms``: the block's first and last + 1 atom, where the
    arrays hold every atom; None where they hold the block's atoms only (on a cluster). ``groups``: the block's
    indices of each species."""
    from trajmodes.resources import one_blas_thread
    if cells is not None:
        check_cell(np.concatenate(cells), cell)

    def mine(c):
        return c if atoms is None or c is None else c[:, atoms[0]:atoms[1]]
    if carry_x is None:
        # no incoherent sums: each chunk's densities on their own, the block's atoms read where they lie (no copy)
        shift = 0 if atoms is None else atoms[0]
        where = [g + shift for g in groups]
        with one_blas_thread():
            parts = [chunk_terms(None, c, None if vs is None else vs[k], start, window, step, where, q, qhat,
                                 cell)[0] for k, c in enumerate(xs)]
        return (np.concatenate(parts) if len(parts) > 1 else parts[0]), None
    lo = max(0, start - window + 1)
    x = np.concatenate([mine(c) for c in xs])
    v = None if vs is None else np.concatenate([mine(c) for c in vs])
    prev = _rows(mine(carry_x), carry_end, [mine(c) for c in prev_x], block_start, lo)
    with one_blas_thread():
        return chunk_terms(prev, x, v, start, window, step, groups, q, qhat, cell)


def _add_terms(parts):
    """The densities and incoherent sums of a span from those of its atom blocks."""
    dens = parts[0][0] if len(parts) == 1 else sum(p[0] for p in parts)
    inc = None if parts[0][1] is None else sum(p[1] for p in parts)
    return dens, inc


def _chunk_coherent(carry_d, carry_end, prev, block_start, cur, start, window, step):
    """The coherent window sums of one span from the densities before it and its own (``prev`` and ``cur`` are
    results of :func:`_add_terms`)."""
    from trajmodes.resources import one_blas_thread
    lo = max(0, start - window + 1)
    with one_blas_thread():
        return coherent_sums(_rows(carry_d, carry_end, [r[0] for r in prev], block_start, lo), cur[0], start, window,
                             step)


def _tail(carry, carry_end: int, blocks, block_start: int, end: int, window: int, item: int | None = None):
    """The last ``window - 1`` frames before frame ``end``: the next wave's carry (``item`` of each block when the
    blocks are results of :func:`_add_terms`)."""
    if carry is None:
        return None
    blocks = blocks if item is None else [b[item] for b in blocks]
    return np.array(_rows(carry, carry_end, blocks, block_start, max(0, end - window + 1)))


def _before(bounds, units, k0: int, k1: int, lo: int, default: int) -> tuple[list[int], int]:
    """The units ``k0`` to before ``k1`` (chunks or spans: frame ``bounds`` of their firsts and lasts + 1) that hold
    frames from ``lo`` on, and the first frame of the first of them (``default`` when none)."""
    used = [k for k in range(k0, k1) if bounds[units[k][1]] > lo]
    return used, int(bounds[units[used[0]][0]]) if used else int(default)


def _stream(t, layer, currents: bool, incoherent: bool, window: int, step: int, groups, q, qhat, cell, shape,
            span_frames: int | None, wave: int | None):
    """Window sums over all spans, a wave of spans per ``dask.compute``; the last ``window - 1`` frames of densities
    (and positions) are carried to the next wave as numpy, so no chunk is read twice and memory is bounded by a wave
    of spans and the window, whatever the run's length. Per span and block of atoms one task makes the block's
    densities and incoherent sums from one evaluation of the phases; a second sums the span's coherent correlations
    with the densities before it. On a ``dask.distributed`` cluster each block's task gets its atoms of the chunks
    (sliced where the chunk was read) and of the carry (kept on the workers from wave to wave), not whole frames."""
    from trajmodes.resources import scattering_client
    fields = {k: t.field(k, layer) for k in ("positions", "velocities", "cells") if k == "positions" or
              (k == "velocities" and currents) or k == "cells"}
    blocks = {k: a.to_delayed(optimize_graph=False).reshape(len(a.chunks[0]), -1)[:, 0] for k, a in fields.items()}
    xb, vb, cb = blocks["positions"], blocks.get("velocities"), blocks["cells"]
    bounds = np.concatenate([[0], np.cumsum(fields["positions"].chunks[0])]).astype(int)
    spans, wave, n_blocks = _plan(bounds, t.n_atoms, window, currents, os.cpu_count() or 1, span_frames, wave)
    _check_memory(t.n_atoms, window, max(int(bounds[b] - bounds[a]) for a, b in spans), wave, n_blocks, *shape,
                  len(q), incoherent, currents)
    chunks = [(k, k + 1) for k in range(len(bounds) - 1)]
    cuts = np.linspace(0, t.n_atoms, n_blocks + 1).astype(int)
    blocks_of = [(int(cuts[b]), int(cuts[b + 1])) for b in range(n_blocks)]
    local = [[g[(g >= a0) & (g < a1)] - a0 for g in groups] for a0, a1 in blocks_of]
    client = scattering_client()
    coh, inc = 0.0, 0.0
    carry_d = np.zeros((0,) + shape, dtype=np.complex128)
    carry_x = np.zeros((0, t.n_atoms, 3)) if incoherent else None
    if incoherent and client is not None:                  # on a cluster: each block's, kept on the workers
        carry_x = [np.zeros((0, a1 - a0, 3)) for a0, a1 in blocks_of]
    tag = uuid.uuid4().hex
    for w0 in range(0, len(spans), wave):
        w1 = min(w0 + wave, len(spans))
        first = int(bounds[spans[w0][0]])
        cd = dask.delayed(carry_d, name=f"trajmodes-sqw-carry-d-{tag}-{w0}")
        wave_chunks = range(spans[w0][0], spans[w1 - 1][1])
        if client is None:
            # threads: every task reads the whole chunks and the carry in place and takes its atoms
            cx = [None if carry_x is None else dask.delayed(carry_x, name=f"trajmodes-sqw-carry-x-{tag}-{w0}")]
            xs = {(k, b): xb[k] for k in wave_chunks for b in range(n_blocks)}
            vs = None if vb is None else {(k, b): vb[k] for k in wave_chunks for b in range(n_blocks)}
            cx, atoms = cx * n_blocks, blocks_of
        else:
            # a cluster: each block's task gets its atoms of the wave's chunks (sliced where the chunk was read) and
            # of the carry (left on the workers by the wave before), not whole frames
            cx = [None] * n_blocks if carry_x is None else carry_x
            xs = {(k, b): dask.delayed(_atoms_of, pure=True)(xb[k], a0, a1)
                  for k in wave_chunks for b, (a0, a1) in enumerate(blocks_of)}
            vs = None if vb is None else {(k, b): dask.delayed(_atoms_of, pure=True)(vb[k], a0, a1)
                                          for k in wave_chunks for b, (a0, a1) in enumerate(blocks_of)}
            atoms = [None] * n_blocks
        terms, sums = [], []
        for s in range(w0, w1):
            c0, c1 = spans[s]
            a = int(bounds[c0])
            lo = max(0, a - window + 1)
            used_x, kx = _before(bounds, chunks, spans[w0][0], c0, lo, a)       # chunks of this wave it needs
            used_d, kd = _before(bounds, spans, w0, s, lo, a)                    # spans of this wave it needs
            parts = [dask.delayed(_block_terms, pure=False)(
                cx[b], first, [xs[k, b] for k in used_x] if incoherent else [], kx,
                [xs[k, b] for k in range(c0, c1)], None if vs is None else [vs[k, b] for k in range(c0, c1)],
                list(cb[c0:c1]) if b == 0 else None, a, window, step, local[b], atoms[b], q, qhat, cell)
                for b in range(n_blocks)]
            terms.append(dask.delayed(_add_terms, pure=False)(parts))
            sums.append(dask.delayed(_chunk_coherent, pure=False)(
                cd, first, [terms[k - w0] for k in used_d], kd, terms[-1], a, window, step))
        end = int(bounds[spans[w1 - 1][1]])
        lo = max(0, end - window + 1)
        used_d, kd = _before(bounds, spans, w0, w1, lo, end)
        used_x, kx = _before(bounds, chunks, spans[w0][0], spans[w1 - 1][1], lo, end)
        tail_d = dask.delayed(_tail)(cd, first, [terms[k - w0] for k in used_d], kd, end, window, 0)
        # the next carry: whole frames on threads, each block's atoms (joined here) on a cluster
        tails = [] if carry_x is None else [
            dask.delayed(_tail)(cx[b], first, [xs[k, b] for k in used_x], kx, end, window)
            for b in range(1 if client is None else n_blocks)]
        if client is None:
            *results, carry_d = dask.compute(*sums, *terms, *tails, tail_d)
            if carry_x is not None:
                carry_x = results[-1]
        else:
            # the blocks' carries stay on the workers as the next wave's inputs (gathered here and scattered again,
            # the window's positions of every atom were held here three times over: 1.2 GB at 864,000 atoms)
            futures = client.compute([*sums, *terms, tail_d, *tails])
            n = 2 * len(sums) + 1
            *results, carry_d = client.gather(futures[:n])
            carry_x = None if carry_x is None else futures[n:]
            del futures                                    # the rest leave the workers
        for r in results[:len(sums)]:
            coh = coh + r
        for _, r_inc in results[len(sums):2 * len(sums)]:
            if r_inc is not None:
                inc = inc + r_inc
    return coh, (inc if incoherent else None)


def _check_memory(n_atoms: int, window: int, span: int, wave: int, blocks: int, ns: int, K: int, nq: int,
                  incoherent: bool, currents: bool) -> None:
    """MemoryError before the pass when a wave of spans (their frames, densities and sums), the carry and the
    running tasks' copies of their atoms would not fit."""
    from trajmodes.resources import require_memory
    from trajmodes.modes.density_correlations import BLOCK_BYTES
    per_frame = n_atoms * 24 * (2 if currents else 1)
    held = wave * (span * per_frame + 2 * (window + span) * ns * K * 16 + window * ns * ns * K * 8)
    tasks = min(os.cpu_count() or 1, wave * blocks) * ((window + span) * -(-n_atoms // blocks) * 48 + 4 * BLOCK_BYTES)
    if incoherent:
        held += 2 * window * n_atoms * 24 + wave * window * ns * nq * 8
    require_memory(held + tasks, f"the structure factor of {n_atoms} atoms at {nq} q-points over windows of "
                                 f"{window} frames ({wave} spans of {span} frames at a time)",
                   "use fewer q-points at a time, a shorter window, or fewer frames per span (chunk_frames=)")


def _frame_cell(traj) -> np.ndarray:
    cell = traj.frame_structure(0).cell
    if cell is None:
        raise ValueError(f"{traj.source.describe()} has no periodic cell: a structure factor needs a periodic run")
    return np.asarray(cell, float)


def _check_times(traj) -> float:
    t = np.asarray(traj.times, float)
    dt = float(traj.frame_interval)
    if not (dt > 0) or (len(t) > 2 and np.abs(np.diff(t) - dt).max() > 1e-3 * dt):
        raise ValueError(f"the frames of {traj.source.describe()} are not evenly spaced in time (median "
                         f"{dt:g} ps between frames): correlation windows need a constant time step; select an evenly "
                         "spaced stretch of frames (traj[a:b])")
    return dt


def check_window(traj, window, step) -> tuple[int, int]:
    """The correlation window and the step between time origins (frames), checked against the run: whole numbers,
    a window of 2 frames to the run's length, a step of at least 1; ValueError naming what to give otherwise."""
    for name, v in (("window", window), ("step", step)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ValueError(f"{name} must be a whole number of frames, not {v!r}")
    traj.require_frames()
    n = traj.n_frames
    if window < 2:
        raise ValueError(f"window={window}: a correlation window needs at least 2 frames (lags 0 and 1)")
    if window > n:
        raise ValueError(f"window={window} frames is longer than the run ({n} frames): give window <= {n} (about a "
                         "tenth of the run averages over many time origins), or a longer run")
    if step < 1:
        raise ValueError(f"step={step}: time origins must be at least 1 frame apart")
    return int(window), int(step)


def _qpoints(traj, qpoints, cartesian, primitive, symprec, reading):
    """(Cartesian q rad/Å, reduced q or None, primitive cell or None, MD cell); ``reading``: the pass of ``traj``
    that holds the frames of a denser provisional reference (:func:`run_primitive`) for the read after it."""
    cell = _frame_cell(traj)
    if cartesian:
        return cartesian_qpoints(qpoints, cell, cartesian=True), None, None, cell
    if primitive is None:
        pcell = run_primitive(traj, symprec, reading).cell
    else:
        pcell = np.asarray(getattr(primitive, "cell", primitive), float).reshape(3, 3)
    qc = cartesian_qpoints(qpoints, cell, pcell)
    return qc, np.atleast_2d(np.asarray(qpoints, float)).copy(), pcell, cell


def _variables(coh, inc, names, weighting, scale, dt, nq: int) -> tuple[dict, np.ndarray]:
    """The weighted partials and totals over (q, time) and (q, omega) from the window sums: ``coh`` (window, ns, ns,
    K) with K = nq or 5 nq (with the currents) and ``inc`` (window, ns, nq) or None; ``scale`` (window,) = 1 / (N x
    origins per lag)."""
    coh_w, inc_w, wunit = weighting
    window, ns = coh.shape[0], len(names)
    out = {}

    def put(name, lagged, per_q_weight, unit_t, unit_w):
        acf = per_q_weight[:, None] * (lagged * scale[:, None]).T                   # (q, time)
        omega, spec = even_spectrum(acf, dt)
        out[name.format("qt")] = (("q", "time"), acf, {"units": unit_t})
        out[name.format("qw")] = (("q", "omega"), spec, {"units": unit_w})
        return omega, acf, spec

    wpre = "" if wunit == "1" else wunit + " "
    blocks = [("F{}_coh", slice(0, nq), 1.0, wpre + "1 (per atom)", wpre + "ps")]
    if coh.shape[-1] == 5 * nq:
        blocks += [("Cl{}", slice(nq, 2 * nq), 1.0, wpre + "Angstrom^2/ps^2", wpre + "Angstrom^2/ps"),
                   ("Ct{}", slice(2 * nq, 5 * nq), 0.5, wpre + "Angstrom^2/ps^2", wpre + "Angstrom^2/ps")]
    omega = None
    for base, cols, factor, ut, uw in blocks:
        tot_t, tot_w = 0.0, 0.0
        for a, b in combinations_with_replacement(range(ns), 2):
            m = coh[:, a, b, cols] + (coh[:, b, a, cols] if a != b else 0.0)
            if m.shape[-1] != nq:                                                   # j_T: sum the x, y, z blocks
                m = m.reshape(window, 3, nq).sum(axis=1)
            name = base + f"_{names[a]}_{names[b]}"
            omega, acf, spec = put(name, factor * m, weight_pairs(coh_w, names[a], names[b]), ut, uw)
            tot_t, tot_w = tot_t + acf, tot_w + spec
        out[base.format("qt")] = (("q", "time"), tot_t, {"units": ut})
        out[base.format("qw")] = (("q", "omega"), tot_w, {"units": uw})
    if inc is not None:
        tot_t, tot_w = 0.0, 0.0
        for a in range(ns):
            w = np.abs(inc_w[names[a]]) ** 2
            _, acf, spec = put(f"F{{}}_incoh_{names[a]}", inc[:, a, :], w, wpre + "1 (per atom)", wpre + "ps")
            tot_t, tot_w = tot_t + acf, tot_w + spec
        out["Fqt_incoh"] = (("q", "time"), tot_t, {"units": wpre + "1 (per atom)"})
        out["Sqw_incoh"] = (("q", "omega"), tot_w, {"units": wpre + "ps"})
    return {k.replace("Fqw", "Sqw"): v for k, v in out.items()}, omega


def _weights_note(weights) -> str:
    from trajmodes.modes.scattering_weights import TABLES
    if weights is None:
        return "equal (1)"
    return f"{weights}: {TABLES[weights]}" if isinstance(weights, str) and weights in TABLES else repr(weights)


def dynamic_structure_factor(traj, qpoints, *, window: int, step: int = 1, currents: bool = True,
                             incoherent: bool = True, cartesian: bool = False, weights=None, primitive=None,
                             symprec: float = SYMPREC, chunk_frames: int | None = None, wave: int | None = None,
                             reading=None):
    """Intermediate scattering function F(q, t), dynamic structure factor S(q, omega) and current correlations of a
    run, coherent and incoherent, with their partials; one streamed pass over the frames.

    Parameters
    ----------
    traj : trajmodes.Trajectory
        A periodic run at constant cell with evenly spaced frames; positions (Å), and velocities (Å/ps)
        for the currents. Positions are used as read, wrapped or not: at commensurate q nothing depends on it.
    qpoints : array_like (nq, 3)
        Reduced coordinates of the primitive reciprocal lattice without 2 pi (default), or Cartesian rad/Å
        with ``cartesian=True``; each must be commensurate with the MD cell
        (:func:`trajmodes.modes.scattering_qpoints.path_qpoints`, ``spherical_qpoints`` give such q).
    window : int
        Frames per correlation window: lags 0 .. window - 1 (dynasor's ``window_size`` is ``window - 1``).
    step : int
        Frames between consecutive time origins (dynasor's ``window_step``).
    currents : bool
        Also the longitudinal and transverse current correlations (needs velocities).
    incoherent : bool
        Also the self (incoherent) part.
    cartesian : bool
        Whether ``qpoints`` are Cartesian (rad/Å).
    weights : None, "neutron", "xray" or dict, optional
        Scattering weight of every species (:func:`trajmodes.modes.scattering_weights.species_weights`): None for
        the unweighted functions; "neutron" for the bound scattering lengths b_coh, b_inc of Sears (Neutron News 3,
        26, 1992) in fm; "xray" for the form factors :math:`f_0(|q|)` of Waasmaier and Kirfel (Acta Cryst. A51, 416,
        1995) at every q; species -> number, or species -> (coherent, incoherent). Species are looked up by name (an
        element, an isotope such as 58Ni, an ion such as Fe2+). The coherent weights also weigh the currents.
    primitive : Crystal or array_like (3, 3), optional
        The primitive cell the reduced q refer to; default spglib's primitive cell of ``traj.lattice_reference``
        (``symprec`` Å). The MD cell must be an integer supercell of it (up to a strain of 5 %).
    symprec : float
        Distance tolerance of spglib when it finds that primitive cell (``primitive`` not given), Å (default 0.001).
    chunk_frames : int, optional
        Frames per span, the frames whose phases a task evaluates together (with the ``window - 1`` frames before
        them, for the incoherent sums): read in chunks of this size. Default: the trajectory's chunks grouped into
        spans of about 4 ``window`` frames (or the whole run), no more than
        :data:`trajmodes.resources.HOLD_BYTES` of positions and velocities; when a wave holds fewer spans than
        cores, several tasks share a span's atoms (864,000 atoms, window 20: spans of 25 frames, each over 14 blocks
        of atoms). Any size gives the same numbers.
    wave : int, optional
        Spans computed at a time (default as many as cores, within :data:`trajmodes.resources.HOLD_BYTES` of
        frames): memory is bounded by ``wave`` spans and the window.
    reading : Pass, optional
        The pass of ``traj`` the caller created (:meth:`~trajmodes.trajectory.core.Trajectory.read_pass`), holding the
        frames of a provisional reference taken for the q-points (:func:`~trajmodes.modes.scattering_qpoints.
        run_primitive` given it): the read takes them and lets go of what it holds at its end. Default one of its own.

    Returns
    -------
    xarray.Dataset
        ``Fqt_coh``, ``Fqt_incoh``, ``Clqt``, ``Ctqt`` over (q, time) and ``Sqw_coh``, ``Sqw_incoh``, ``Clqw``,
        ``Ctqw`` over (q, omega), and the partials ``Fqt_coh_A_B``, ``Sqw_coh_A_B``, ``Clqt_A_B``, ... for every
        species pair (sorted names, A <= B) and ``Fqt_incoh_A``, ``Sqw_incoh_A`` per species. Units in every
        variable's attributes: F per atom (dimensionless times the weights' squared unit), S in ps, C in
        Å²/ps², C(omega) in Å²/ps. Coordinates ``time`` (ps), ``omega`` (rad/ps), ``frequency``
        (THz, on ``omega``), ``q_cartesian`` (q, cartesian; rad/Å, 2 pi included), ``q_norm`` (rad/Å)
        and ``qpoint`` (q, reduced) for reduced input.

    Raises
    ------
    ValueError
        For a q not commensurate with the MD cell (naming the nearest commensurate one), a window longer than the
        run, unevenly spaced frames, a variable cell, or currents without velocities.
    """
    import xarray as xr
    window, step = check_window(traj, window, step)
    dt = _check_times(traj)
    if currents and "velocities" not in traj.source.fields:
        raise ValueError(f"{traj.source.describe()} has no velocities: the current correlations need vx vy vz in the "
                         "dump; pass currents=False for F(q, t) and S(q, omega) alone")
    reading = traj.read_pass() if reading is None else reading       # the run given is left as it was
    traj = traj.in_pass(reading)
    qc, qred, pcell, cell = _qpoints(traj, qpoints, cartesian, primitive, symprec, reading)
    nq = len(qc)
    norm = np.linalg.norm(qc, axis=1)
    qhat = np.divide(qc, norm[:, None], out=np.zeros_like(qc), where=norm[:, None] > 0)
    species_all = np.asarray(traj.species, dtype=str)
    names = sorted(set(species_all.tolist()))
    groups = [np.flatnonzero(species_all == s) for s in names]
    coh_w, inc_w, wunit = species_weights(weights, names, nq, q_norm=norm)
    ns, K = len(names), (5 if currents else 1) * nq

    t = traj.rechunk(int(chunk_frames)) if chunk_frames is not None else traj
    layer = ("positions", "velocities") if currents else ("positions",)
    try:
        coh, inc = _stream(t, layer, currents, incoherent, window, step, groups, qc, qhat, cell, (ns, K),
                           chunk_frames, None if wave is None else int(wave))
    finally:
        reading.release()                     # the frames of a denser provisional reference (run_primitive)

    scale = 1.0 / (traj.n_atoms * lag_counts(traj.n_frames, window, step))          # (window,)
    out, omega = _variables(coh, inc, names, (coh_w, inc_w, wunit), scale, dt, nq)
    time = dt * np.arange(window)
    coords = {"time": ("time", time, {"units": "ps"}),
              "omega": ("omega", omega, {"units": "rad/ps"}),
              "frequency": ("omega", omega / (2 * np.pi), {"units": "THz"}),
              "q_cartesian": (("q", "cartesian"), qc, {"units": "rad/Angstrom", "long_name": "q, 2 pi included"}),
              "q_norm": ("q", norm, {"units": "rad/Angstrom"})}
    if qred is not None:
        coords["qpoint"] = (("q", "reduced"), qred, {"units": "reduced (primitive reciprocal lattice, no 2 pi)"})
    attrs = {"window": window, "step": step, "n_frames": int(traj.n_frames), "n_atoms": int(traj.n_atoms),
             "frame_interval": dt, "species": list(names), "particle_counts": [len(g) for g in groups],
             "cell": cell.reshape(-1), "weights": _weights_note(weights),
             "time_axis": traj.time_axis, "citation": CITATION,
             "units": "F: per atom; S: ps; C: Angstrom^2/ps^2; C(omega): Angstrom^2/ps; time: ps; omega: rad/ps; "
                      "frequency: THz; q: rad/Angstrom (2 pi included)",
             "convention": "rho_s(q,t) = sum_{j in s} exp(i q.r_j(t)); F(q,t) = N^-1 <Re rho(q,t0) rho(q,t0+t)*>; "
                           "S(q,w) = dt sum_k F(q,|k| dt) exp(-i w k dt) over lags -(W-1)..W-1, no window"}
    if pcell is not None:
        attrs["primitive_cell"] = pcell.reshape(-1)
    return xr.Dataset({k: (d, np.asarray(v), a) for k, (d, v, a) in out.items()}, coords=coords, attrs=attrs)
