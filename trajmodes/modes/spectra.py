"""Per-mode power spectra of projected phonon-mode amplitudes (Welch averaging, streamed with Dask).

Input is the dataset of :func:`trajmodes.project`: ``Q`` and ``Qdot`` over ``(time, q, branch)``
(complex, amu^1/2 Å and amu^1/2 Å/ps), coordinate ``time`` in ps (uniform step).

Normalisation
-------------
For a segment ``x_n`` (n = 0..N-1, step dt, window w_n) the finite Fourier transform is
``X(nu) = dt sum_n w_n x_n exp(-2 pi i nu n dt)`` and the two-sided density is
``S(nu) = |X(nu)|^2 / (N dt <w^2>)`` so that ``sum_nu S(nu) dnu = <|x|^2>`` (Parseval; exact for the
boxcar window, in expectation for any other). The reported ``psd`` is folded onto nu >= 0,
``S(nu) + S(-nu)`` (a complex running-wave amplitude keeps its power at one sign of nu, a real one at
both), and multiplied by 1/2 and the conversion amu Å²/ps² -> eV, so that
``integral psd dnu = <1/2 |Qdot|^2>`` in eV: the kinetic-energy spectral density in eV/THz.

Memory
------
Segments of ``n_seg`` frames start every ``hop`` frames. The time axis is rechunked to a multiple of
the hop; one task per chunk computes the periodograms of the segments *starting* in its chunk (reading
at most ``n_seg - hop`` frames of the next chunk) and returns only their sum and sum of squares over
``(q, branch, frequency)``. Memory per task is bounded by the chunk, independent of the trajectory
length; results do not depend on the chunking.

A lazy input (the projection of :func:`trajmodes.project`) is taken in blocks of q-points: the frames a block
holds at a time (a wave of chunks, or the whole run for ``full=True``) times the block's modes stay under
``memory`` (default ``MEMORY_FRACTION`` of the memory available), whatever the number of atoms and frames; each
block is one pass over the run (read and projection again, only that block's modes kept). Nothing is written to
disk. Only the result itself, (q, branch, frequency), grows with the modes and the frequency bins; it is
estimated before the first pass and refused with what to choose instead when it would not fit.
"""
from __future__ import annotations

import math
import operator
import os
import warnings

import dask
import dask.array as da
import numpy as np
import xarray as xr

from trajmodes.modes.defaults import DEFAULT_RESOLUTION

from trajmodes.modes.windows import window_values
from trajmodes.units import AMU_A2_PS2_EV

__all__ = ["mode_spectra", "aliased_modes", "ALIAS_FRACTION", "require_result_memory", "result_bins"]

#: a mode is "above Nyquist: aliased" when its harmonic frequency reaches this fraction of the Nyquist frequency
#: 1 / (2 x frame interval): its line (centre, width and the renormalisation shift, which can stiffen it) then
#: reaches the Nyquist frequency, where the spectrum folds back onto lower frequencies
ALIAS_FRACTION = 0.9

#: the periodograms of a segment go through the FFT in groups of q-points whose temporaries (the windowed segment,
#: its transform, its power) stay under this many bytes
SEGMENT_BYTES = 1 << 25

#: default share of the available memory (:func:`trajmodes.resources.available_memory`) the frames of one block of
#: q-points may hold: the rest is for the result, the chunks being read and projected, and the peak fits
MEMORY_FRACTION = 0.25

#: bytes per (mode, frequency bin) of the result and of what is built from it: psd, its spread and error, the sums
#: of squares, and the star-averaged and degenerate-summed copies the peak fits see (float64 each)
RESULT_BYTES_PER_BIN = 8 * 8


def aliased_modes(harmonic, frame_interval: float) -> tuple[np.ndarray, float, str]:
    """Which modes the frames sample too coarsely to resolve, the Nyquist frequency, and a warning about them.

    Parameters
    ----------
    harmonic : array_like (q, branch)
        Harmonic frequencies in THz.
    frame_interval : float
        Time between frames in ps.

    Returns
    -------
    mask : ndarray of bool (q, branch)
        |harmonic| >= ALIAS_FRACTION x the Nyquist frequency.
    nyquist : float
        1 / (2 frame_interval), THz.
    message : str
        Empty when no mode is aliased; else how many, the frequencies, and the frame interval that would be
        needed (the highest frequency below 0.8 x Nyquist).
    """
    h = np.abs(np.asarray(harmonic, float))
    nyquist = 0.5 / float(frame_interval)
    mask = h >= ALIAS_FRACTION * nyquist
    if not mask.any():
        return mask, nyquist, ""
    need = 0.8 / (2.0 * float(np.nanmax(h)))
    branches = sorted({int(b) for b in np.nonzero(mask)[-1]})
    return mask, nyquist, (
        f"{int(mask.sum())} of {mask.size} modes (branches {', '.join(map(str, branches))}; harmonic frequencies up "
        f"to {np.nanmax(h):.2f} THz) lie at or above {ALIAS_FRACTION:g} x the Nyquist frequency {nyquist:.2f} THz of "
        f"frames {frame_interval:g} ps apart: their spectra fold back (alias) onto lower frequencies, so their "
        f"peaks are not fitted (status 'above Nyquist: aliased'). Write frames at least every {need:.3g} ps to "
        "resolve every mode")


def require_result_memory(n_modes: int, n_bins: int, full: bool) -> None:
    """Refuse, before the run is read, spectra whose result (``n_modes`` x ``n_bins`` frequency bins, the arrays
    ``RESULT_BYTES_PER_BIN`` counts) would not fit in memory, saying what to choose instead.

    Raises
    ------
    MemoryError
        One line: the size, the memory available, and fewer q-points (with the options that choose them) or fewer
        frequency bins."""
    from trajmodes.resources import require_memory
    require_memory(RESULT_BYTES_PER_BIN * float(n_modes) * n_bins,
                   f"the spectra of {n_modes} modes x {n_bins} frequency bins",
                   "choose fewer q-points (project(qpoints=...); trajmodes project --path, --qpoints, --q-max or "
                   "--q-count)" + (" or Welch segments (no full=True / --full: fewer bins)" if full else
                                   " or a coarser resolution (fewer bins)"))


def result_bins(n_frames: int, frame_interval: float, resolution: float, full: bool) -> int:
    """Frequency bins of the spectra of ``mode_spectra(resolution=, full=)`` over ``n_frames`` frames
    ``frame_interval`` ps apart (the segment, at most the run, as :func:`mode_spectra` chooses it)."""
    if full:
        return n_frames // 2 + 1
    n_seg = int(math.ceil(1.0 / (resolution * frame_interval) * (1 - 1e-9))) if resolution > 0 else n_frames
    return max(min(n_seg, n_frames), 2) // 2 + 1


def _timestep(time) -> float:
    t = np.asarray(time, dtype=float)
    if t.size < 2:
        raise ValueError("need at least two frames for a spectrum")
    steps = np.diff(t)
    dt = float(np.median(steps))
    if dt <= 0 or np.max(np.abs(steps - dt)) > 1e-6 * dt + 1e-12:
        raise ValueError("the time axis must be uniform and increasing for a spectrum")
    return dt


def _fold(spec: np.ndarray, n: int) -> np.ndarray:
    """Fold a two-sided spectrum (last axis in numpy fft order, length n) onto nu >= 0."""
    nf = n // 2 + 1
    out = spec[..., :nf].copy()
    # negative frequency -k sits at index n-k; k = 1 .. (n-1)//2 have a distinct partner
    k = np.arange(1, (n - 1) // 2 + 1)
    out[..., k] += spec[..., n - k]
    return out


def _block_sums(x, n_seg, hop, n_starts, win, scale, first=0):
    """Sum and sum of squares of folded periodograms of the segments starting at first, first+hop, ..
    (``n_starts`` of them).

    ``x`` is (time, q, branch); returns two float arrays (q, branch, n_seg//2+1) and the count. The q-points go
    through the FFT in groups whose temporaries stay under ``SEGMENT_BYTES`` (the same numbers: every mode's
    transform is its own).
    """
    nf = n_seg // 2 + 1
    s = np.zeros(x.shape[1:] + (nf,))
    s2 = np.zeros_like(s)
    per_q = 16 * n_seg * max(1, int(np.prod(x.shape[2:])))
    step = max(1, SEGMENT_BYTES // per_q)
    for j in range(n_starts):
        a = first + j * hop
        for q0 in range(0, x.shape[1], step):
            seg = np.asarray(x[a: a + n_seg, q0:q0 + step])
            seg = np.moveaxis(seg, 0, -1) * win
            p = _fold(np.abs(np.fft.fft(seg, axis=-1)) ** 2, n_seg) * scale
            s[q0:q0 + step] += p
            s2[q0:q0 + step] += p * p
    return s, s2, n_starts


def _chunk_sums(carry, x, a, n_seg, hop, n_segments, win, scale):
    """Periodogram sums of the segments that end inside the chunk ``x`` = frames [a, a + len(x)).

    ``carry`` holds the frames just before ``a`` (up to n_seg - 1 of them), so segments that straddle
    the chunk boundary are counted once, by the chunk they end in.
    """
    b = a + x.shape[0]
    a0 = a - carry.shape[0]
    j0 = max(0, (a - n_seg) // hop + 1)                                 # first j with j hop + n_seg > a
    j1 = min(n_segments, (b - n_seg) // hop + 1) if b >= n_seg else 0   # last j with j hop + n_seg <= b
    if j1 <= j0:
        return None
    block = np.concatenate([carry, x], axis=0) if carry.shape[0] else x
    return _block_sums(block, n_seg, hop, j1 - j0, win, scale, first=j0 * hop - a0)


def _welch_streamed(data, n_seg, hop, n_segments, win, scale, wave: int, extra=()):
    """Welch sums over a dask (time, q, branch) array in waves of ``wave`` chunks, and the sums over time of the
    arrays ``extra`` (the same shape, from the same read) in the same pass.

    Each wave is one ``dask.compute``; its partial sums are added here and the last n_seg - 1 frames
    are carried to the next wave as numpy, so no chunk is computed twice and memory is bounded by a
    wave of chunks whatever the trajectory length (the threaded scheduler, left to itself, runs the
    cheap reads ahead of the reductions).
    """
    nf = n_seg // 2 + 1
    s = np.zeros(data.shape[1:] + (nf,))
    s2 = np.zeros_like(s)
    count = 0
    sizes = data.chunks[0]
    bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    # the blocks as Delayed over the array's own keys, so that a wave's tasks share each chunk's computation (a dask
    # array given to dask.delayed is optimised on its own, its keys renamed: the chunks under the slices of the
    # previous chunk and of the tail were computed, and the trajectory read, twice); chunks are >= n_seg frames, so
    # the n_seg - 1 frames before a chunk lie in the chunk before it
    blocks = data.to_delayed(optimize_graph=False).reshape(-1)
    extra_blocks = [x.rechunk({0: data.chunks[0], 1: -1, 2: -1}).to_delayed(optimize_graph=False).reshape(-1)
                    for x in extra]
    totals = [np.zeros(x.shape[1:]) for x in extra]
    last = dask.delayed(operator.getitem, pure=True)
    total = dask.delayed(np.sum, pure=True)
    carry = np.zeros((0,) + data.shape[1:], dtype=data.dtype)
    for w0 in range(0, len(bounds) - 1, wave):
        tasks, parts = [], []
        for c in range(w0, min(w0 + wave, len(bounds) - 1)):
            a = int(bounds[c])
            prev = carry if c == w0 else last(blocks[c - 1], slice(max(0, sizes[c - 1] - n_seg + 1), None))
            tasks.append(dask.delayed(_chunk_sums)(prev, blocks[c], a, n_seg, hop, n_segments, win, scale))
            parts.append([total(b[c], axis=0) for b in extra_blocks])
        tail = last(blocks[c], slice(max(0, sizes[c] - n_seg + 1), None))
        *results, carry, parts = dask.compute(*tasks, tail, parts)
        for r in results:
            if r is not None:
                s += r[0]
                s2 += r[1]
                count += r[2]
        for part in parts:
            for t, v in zip(totals, part):
                t += v
    return s, s2, count, totals


def mode_spectra(modes: xr.Dataset, resolution: float = DEFAULT_RESOLUTION, segment: float | None = None,
                 window: str = "hann", overlap: float = 0.5, variable: str = "Qdot",
                 full: bool = False, memory: float | None = None, time_means: dict | None = None) -> xr.Dataset:
    """Per-mode power spectra of the projected mode velocities, Welch-averaged and streamed.

    Parameters
    ----------
    modes : xarray.Dataset
        From :func:`trajmodes.project`: ``variable`` over ``(time, q, branch)`` (numpy or dask),
        coordinate ``time`` in ps with a uniform step.
    resolution : float
        Frequency bin width in THz; sets the segment length ``n_seg = ceil(1 / (resolution dt))``.
    segment : float, optional
        Segment length in ps (overrides ``resolution``).
    window : str
        Any window name of :func:`scipy.signal.get_window` ("hann", "boxcar", "blackman", ...).
    overlap : float
        Fraction of a segment shared by consecutive segments, 0 <= overlap < 1.
    variable : str
        "Qdot" (kinetic-energy density, eV/THz) or "Q" (then ``psd`` is 1/2 ``|Q|^2`` per THz in amu Å²/THz).
    full : bool
        One periodogram over the whole series (full resolution 1/T); no segment spread is available
        (``psd_segments_std`` is then the periodogram's own statistical spread, equal to ``psd``).
        A lazy (dask) input is computed a block of q-points at a time (the whole run of the block's modes),
        nothing written to disk.
    memory : float, optional
        Bytes the frames of one block of q-points of a lazy input may hold (default ``MEMORY_FRACTION`` of the
        memory available): more q per block, fewer passes over the run. Results do not depend on it.
    time_means : dict name -> array (time, q, branch), optional
        Arrays made from the same projection (the modes' energies, :func:`trajmodes.mode_energies`) whose means over
        time are computed in the same pass over the run: returned as ``mean_<name>`` (q, branch).

    Raises
    ------
    MemoryError
        Before anything is computed, when the result (q, branch, frequency) would not fit: choose fewer q-points
        (``project(qpoints=...)``) or, for ``full=True``, Welch segments instead (fewer frequency bins).

    Returns
    -------
    xarray.Dataset
        ``psd`` (q, branch, frequency) in eV/THz, with ``integral psd dnu = <1/2 |Qdot|^2>``;
        ``psd_segments_std`` (spread of one segment's spectrum across segments) and ``psd_err``
        (= std / sqrt(n_segments), the standard error of ``psd``); ``sed`` (q, frequency) the sum over
        branches; ``vdos`` (frequency) the sum over q and branches normalised to unit integral (1/THz).
        Coordinate ``frequency`` in THz (>= 0); the non-time coordinates of ``modes`` are kept.
        Attributes ``n_segments``, ``segment_length_ps``, ``hop_ps``, ``window``, ``overlap``,
        ``resolution_thz``, ``enbw_thz`` (equivalent noise bandwidth of the window), ``variable``.
    """
    if variable not in modes:
        raise KeyError(f"modes has no variable {variable!r}")
    arr = modes[variable]
    if arr.dims[0] != "time":
        arr = arr.transpose("time", ...)
    if arr.ndim != 3:
        raise ValueError(f"{variable} must have dims (time, q, branch), got {arr.dims}")
    dt = _timestep(modes["time"].values)
    n_total = arr.shape[0]
    n_seg, hop, n_segments = _segments(n_total, dt, full, segment, resolution, overlap)

    win = window_values(window, n_seg)
    u = float(np.mean(win ** 2))
    unit_scale = 0.5 * (AMU_A2_PS2_EV if variable == "Qdot" else 1.0)
    scale = unit_scale * dt / (n_seg * u)        # |FFT|^2 dt^2 / (N dt U)
    enbw = float(n_seg * np.sum(win ** 2) / np.sum(win) ** 2) / (n_seg * dt)

    data = arr.data
    nf = n_seg // 2 + 1
    nq, nb = arr.shape[1], arr.shape[2]
    require_result_memory(nq * nb, nf, full)
    rechunked = None
    means_of = dict(time_means or {})
    if isinstance(data, da.Array):
        s, s2, count, means, n_blocks, rechunked = _lazy_sums(data, n_seg, hop, n_segments, win, scale, full,
                                                              memory, means_of)
    else:
        s, s2, count = _block_sums(np.asarray(data), n_seg, hop, n_segments, win, scale)
        n_blocks = 1
        means = {name: np.empty((nq, nb)) for name in means_of}
        for name, x in means_of.items():
            means[name][:] = np.asarray(x).mean(axis=0)
    assert count == n_segments
    mean, std, err = _mean_and_spread(s, s2, count)
    ds = _spectra_dataset(modes, variable, mean, std, err, means, n_seg, dt)
    ds.attrs.update(n_segments=int(n_segments), segment_length_ps=n_seg * dt, segment_frames=int(n_seg),
                    hop_ps=hop * dt, window=str(window), overlap=float(overlap) if not full else 0.0,
                    resolution_thz=1.0 / (n_seg * dt), enbw_thz=enbw, frame_interval_ps=dt, variable=variable,
                    full=int(bool(full)), units=ds["psd"].attrs["units"],
                    time_axis=str(modes.attrs.get("time_axis", "unknown")))
    if rechunked is not None:
        ds.attrs["time_chunk_frames"] = int(rechunked)
    ds.attrs["q_blocks"] = int(n_blocks)
    ds.attrs["nyquist_thz"] = 0.5 / dt
    if "frequency_harmonic" in ds.coords or "frequency_harmonic" in ds:
        mask, _, message = aliased_modes(ds["frequency_harmonic"].transpose("q", "branch").values, dt)
        ds["aliased"] = (("q", "branch"), mask, {"units": "1", "long_name": f"harmonic frequency >= {ALIAS_FRACTION:g}"
                                                                           " x the Nyquist frequency"})
        if message and not modes.attrs.get("aliasing_warned"):
            warnings.warn(message, UserWarning, stacklevel=2)
    return ds


def _segments(n_total: int, dt: float, full: bool, segment: float | None, resolution: float,
              overlap: float) -> tuple[int, int, int]:
    """(frames per segment, frames between segment starts, segments) of :func:`mode_spectra`'s settings; ``dt`` the
    frame interval in ps."""
    if full:
        n_seg, hop = n_total, n_total
    else:
        if segment is not None:
            n_seg = int(round(segment / dt))
        else:
            if resolution <= 0:
                raise ValueError("resolution must be positive (THz)")
            n_seg = int(math.ceil(1.0 / (resolution * dt) * (1 - 1e-9)))
        if not 0 <= overlap < 1:
            raise ValueError("overlap must be in [0, 1)")
        if n_seg > n_total:
            warnings.warn(f"segment of {n_seg} frames is longer than the trajectory ({n_total}); "
                          "using one segment over the whole series", stacklevel=3)
            n_seg = n_total
        n_seg = max(n_seg, 2)
        hop = max(1, int(round(n_seg * (1.0 - overlap))))
    return n_seg, hop, (n_total - n_seg) // hop + 1


def _lazy_sums(data: da.Array, n_seg: int, hop: int, n_segments: int, win: np.ndarray, scale: float, full: bool,
               memory: float | None, means_of: dict):
    """The segment sums of a lazy (time, q, branch) array, a block of q-points at a time under ``memory`` bytes
    (:func:`mode_spectra`): (sum, sum of squares, segments, time means of ``means_of``, q blocks, the time chunk of
    the Welch pass or None)."""
    from trajmodes.resources import available_memory
    n_total, nq, nb = data.shape
    nf = n_seg // 2 + 1
    rechunked = None
    data = data.rechunk({1: -1, 2: -1}) if len(data.chunks[1]) > 1 or len(data.chunks[2]) > 1 else data
    if full:
        chunk, wave = n_total, 1
    else:
        chunk = max(max(data.chunks[0]), n_seg)        # chunks at least one segment long
        workers = dask.config.get("num_workers", None) or os.cpu_count() or 1
        wave = 2 * workers
        rechunked = chunk
    if memory is None:
        have = available_memory()
        memory = MEMORY_FRACTION * have if have is not None else float(1 << 30)
    n_chunks = -(-n_total // chunk)
    wave = min(wave, n_chunks)
    # the wave's chunks and the carry (full: parts + whole); the arrays of time_means add half as much each
    grow = 1.0 + 0.5 * len(means_of)
    per_q = 16.0 * nb * chunk * (wave + 1) * grow
    if per_q > memory and wave > 1:                      # a block of one q would not fit: one chunk at a time
        wave = 1
        per_q = 16.0 * nb * chunk * 2 * grow
    block = int(max(1, min(nq, memory // per_q)))
    s = np.empty((nq, nb, nf))
    s2 = np.empty_like(s)
    means = {name: np.empty((nq, nb)) for name in means_of}
    count = 1 if full else 0
    extra = [da.asarray(x) for x in means_of.values()]
    for q0 in range(0, nq, block):
        part = data[:, q0:q0 + block]
        if full:
            whole, *sums = dask.compute(part, *[x[:, q0:q0 + block].sum(axis=0) for x in extra])
            a, b, _ = _block_sums(np.asarray(whole), n_seg, n_seg, 1, win, scale)
        else:
            a, b, count, sums = _welch_streamed(part.rechunk({0: chunk}), n_seg, hop, n_segments, win, scale,
                                                wave, [x[:, q0:q0 + block] for x in extra])
        s[q0:q0 + block] = a
        s2[q0:q0 + block] = b
        for m, v in zip(means.values(), sums):
            m[q0:q0 + block] = np.asarray(v) / n_total
    if full:
        s2 = s * s
    return s, s2, count, means, -(-nq // block), rechunked


def _mean_and_spread(s: np.ndarray, s2: np.ndarray, count: int):
    """(mean, spread of one segment, standard error of the mean) of the segment sums ``s`` and sums of squares
    ``s2`` of ``count`` segments, computed in place (arrays of the result's size, no more of them than needed)."""
    mean = s
    mean /= count
    if count > 1:
        std = s2
        std /= count
        std -= mean ** 2
        np.maximum(std, 0.0, out=std)
        std *= count
        std /= count - 1
        np.sqrt(std, out=std)
    else:
        del s2
        std = mean.copy()       # a single periodogram bin: exponential statistics, std = mean
    return mean, std, std / np.sqrt(count)


def _spectra_dataset(modes: xr.Dataset, variable: str, mean, std, err, means: dict, n_seg: int,
                     dt: float) -> xr.Dataset:
    """The result of :func:`mode_spectra` without its attributes: ``psd``, its spread and error, the time means,
    ``sed`` and ``vdos``, on the non-time coordinates of ``modes``."""
    nf = n_seg // 2 + 1
    freq = np.arange(nf) / (n_seg * dt)
    units = "eV/THz" if variable == "Qdot" else "amu*Angstrom^2/THz"
    coords = {"frequency": ("frequency", freq, {"units": "THz"})}
    for name, c in modes.coords.items():
        if "time" not in c.dims:
            coords[name] = c
    dims = ("q", "branch", "frequency")
    what = ("kinetic-energy spectral density of Qdot, folded onto nu >= 0: integral over frequency = "
            "<1/2 |Qdot|^2>") if variable == "Qdot" else "spectral density of 1/2 |Q|^2, folded onto nu >= 0"
    ds = xr.Dataset(
        {
            "psd": (dims, mean, {"units": units, "long_name": what}),
            "psd_segments_std": (dims, std, {"units": units,
                                             "long_name": "standard deviation of one segment's spectrum "
                                                          "across segments"}),
            "psd_err": (dims, err, {"units": units,
                                    "long_name": "standard error of psd (segments std / sqrt(n_segments))"}),
        },
        coords=coords,
    )
    for name, m in means.items():
        ds[f"mean_{name}"] = (("q", "branch"), m, {"long_name": f"time mean of {name}, over all frames"})
    ds["sed"] = ds["psd"].sum("branch").assign_attrs(units=units, long_name="spectral energy density: "
                                                                          "psd summed over branches")
    tot = ds["psd"].sum(("q", "branch"))
    df = 1.0 / (n_seg * dt)
    norm = float(tot.sum()) * df
    ds["vdos"] = (tot / norm if norm > 0 else tot).assign_attrs(
        units="1/THz", long_name="vibrational DOS from all projected modes, unit integral")
    return ds
