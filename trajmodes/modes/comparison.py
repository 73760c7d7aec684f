"""Mode by mode: the linewidths, line positions, lineshapes and conductivity measured in a molecular dynamics run
beside those of perturbation theory from the force constants fitted to the same run, level by level: the effective
frequency, the three-phonon line, and with fourth-order constants the four-phonon widths.

Like for like: classical occupations (the MD is classical: widths and shifts grow linearly with T), and the
three-phonon sums taken over the q-points commensurate with the MD supercell
(:class:`trajmodes.lattice.grid.Grid` of its supercell matrix), so both see the same phase space of decays. Widths
and shifts are also computed on a converged bulk mesh that contains every q of the MD cell (the crystal's at the MD
q-points): the MD-grid widths depend strongly on the Gaussian smearing, the bulk ones do not. The smearing and the
broadening of the principal values follow the theory's own widths (the final states of a decay are broadened by
theirs), not the MD spectra, whose widths depend on how they were resolved.

Shifts. Effective (temperature-dependent) second-order constants fitted to the forces of the run, as in TDEP
(O. Hellman, I. A. Abrikosov and S. I. Simak, Phys. Rev. B 84, 180301 (2011); O. Hellman et al., Phys. Rev. B 87,
104111 (2013); O. Hellman and I. A. Abrikosov, Phys. Rev. B 88, 144301 (2013)), reproduce the static
(zero-frequency) response of the anharmonic crystal: they already hold the bubble self-energy at zero frequency,
Delta(0), and the frequency-independent quartic loop (L. Monacelli, arXiv:2407.03090 (2024): TDEP's static
susceptibility is exact, and adding the full bubble on top of it counts anharmonicity twice). The line of effective
constants is therefore that of Delta(nu) - Delta(0), which keeps their static susceptibility; from 0 K (static, bare)
constants it is Delta(nu) (with fc4, plus the loop).

Where a line is: its peak maximum and its damped-oscillator centre, measured alike on the MD spectra and on the
kinetic-energy lineshapes nu A(nu) of theory (:mod:`trajmodes.modes.comparison_levels`).

What remains between MD and theory is what perturbation theory leaves out: higher orders (Maradudin and Fein, Phys.
Rev. 128, 2589 (1962)), the lines' own widths in the final states (the Gaussian smearing stands in for them on the MD
grid), and the statistics of the MD fit.
"""
from __future__ import annotations

import contextlib
import time

import numpy as np
import xarray as xr
from scipy.integrate import trapezoid

from trajmodes.modes.conductivity import conductivity_from_lifetimes, peak_variable

__all__ = ["compare_three_phonon", "decay_channels", "bulk_mesh"]

#: what the second-order constants are: fitted to the run (effective, TDEP) or bare (0 K, static lattice)
CONSTANTS = ("effective", "static")
#: MD fit statuses whose peak position is kept: a clean fit, or a line narrower than the resolution (its width is an
#: upper bound, its position is good)
PLACED = ("ok", "width below resolution")


def _median_half_width(fwhm: np.ndarray, live: np.ndarray) -> float:
    """Half the median FWHM of the live modes (the typical half width Gamma of a final state), THz; NaN if none."""
    x = np.asarray(fwhm, float)[live]
    x = x[np.isfinite(x) & (x > 0)]
    return float(np.median(x)) / 2 if x.size else float("nan")


def _self_consistent_smearing(fc, S, T, phonons, scheduler, allow_unstable, start: float = 0.1, rtol: float = 0.05,
                              max_iterations: int = 8) -> float:
    """The Gaussian sigma (THz) on the MD grid equal to the median three-phonon half width it gives there: the fixed
    point of sigma -> median Gamma(sigma) over the modes of the grid (star sizes as weights), from ``start``, to
    ``rtol``. The final states of a decay are broadened by their own widths; the theory supplies them."""
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    sigma = float(start)
    for _ in range(max_iterations):
        an = Anharmonic(fc, S, [T], occupation="classical", smearing=sigma, phonons=phonons, scheduler=scheduler,
                        allow_unstable=allow_unstable)
        reps = an.grid.irreducible
        g = an.linewidths(reps)["gamma"].values[0]
        live = an.frequencies[reps] > an.interaction.cutoff_frequency
        w = np.broadcast_to(an.grid.weights[an.grid.irreducible_of[reps]][:, None], g.shape)
        order = np.argsort(g[live])
        cum = np.cumsum(w[live][order])
        new = float(g[live][order][np.searchsorted(cum, cum[-1] / 2)]) if cum.size else sigma
        new = max(new, 1e-3)
        if abs(new - sigma) <= rtol * sigma:
            return new
        sigma = new
    return sigma


def _optional(modes: xr.Dataset, *names: str) -> np.ndarray | None:
    """The first of ``names`` the peak fits have (``peak_`` prefix or not), as a (q, branch) float array; None."""
    for n in names:
        try:
            return np.asarray(peak_variable(modes, n).values, float)
        except ValueError:
            continue
    return None


def _spread(x: np.ndarray) -> tuple[float, float, float]:
    """Median, 16th and 84th percentile of the finite entries of ``x`` (NaN if none)."""
    x = x[np.isfinite(x)]
    if not x.size:
        return (float("nan"),) * 3
    return float(np.median(x)), float(np.quantile(x, 0.16)), float(np.quantile(x, 0.84))


def decay_channels(grid, frequencies: np.ndarray, gps, window: float, cutoff_frequency: float = 1e-4) -> np.ndarray:
    """The number of three-phonon channels of every branch at grid points ``gps`` within ``window`` of energy
    conservation.

    A channel of mode (q, s), of harmonic frequency nu, is one term (q', s', s'') of the three-phonon sum over
    every q' of the grid (q'' = -q - q' modulo the grid, branches s' and s'' of q' and q'' above
    ``cutoff_frequency``) with

    - |nu - nu' - nu''| <= window (decay into q's' and q''s''; each final pair counted once per order, twice in
      all, as in the sum), or
    - |nu + nu' - nu''| <= window (absorption of q's' into q''s'').

    (The third term of the sum, delta(nu - nu' + nu''), is the absorption with q' and q'' exchanged: the same
    channels, not counted again.) Kinematics only: a channel whose interaction strength vanishes by symmetry is
    counted.

    Parameters
    ----------
    grid : Grid
        The q-grid the sums run over (:class:`trajmodes.lattice.grid.Grid`).
    frequencies : (N, 3n) THz on every grid point.
    gps : (m,) int
        Grid points of the modes to count for.
    window : float
        THz (:func:`compare_three_phonon` uses 2 sigma of its Gaussian smearing).
    cutoff_frequency : float
        THz: modes at or below it (the acoustic modes at Gamma, imaginary modes) take no part.

    Returns
    -------
    (m, 3n) int; zero for the modes at or below the cutoff.
    """
    f = np.asarray(frequencies, dtype=float)
    gps = np.atleast_1d(np.asarray(gps, dtype=np.int64))
    if not float(window) >= 0:
        raise ValueError(f"the energy window must be a frequency >= 0 (THz), not {window}")
    live = np.where(f > cutoff_frequency, f, np.nan)                         # NaN compares False: no channel
    out = np.zeros((len(gps), f.shape[1]), dtype=np.int64)
    for i, q in enumerate(gps):
        tr = grid.triplets(int(q), reduce=False)
        a = live[tr.q1][:, :, None]                                           # (N, s', 1)
        b = live[tr.q2][:, None, :]                                           # (N, 1, s'')
        nu = live[q][:, None, None, None]                                     # (s, 1, 1, 1)
        with np.errstate(invalid="ignore"):
            decay = np.abs(nu - (a + b)[None]) <= window
            absorb = np.abs(nu + (a - b)[None]) <= window
        out[i] = decay.sum(axis=(1, 2, 3)) + absorb.sum(axis=(1, 2, 3))
    return out


def bulk_mesh(supercell, bulk_points: int) -> tuple[int, int]:
    """The regular n x n x n mesh for bulk widths at the q-points of an MD supercell, and its convergence partner.

    Every q commensurate with the supercell S lies on the Gamma-centred m x m x m mesh with m the exponent of the
    group of those q (the least common multiple of the Smith invariants of S: m S^-1 is integral; 8 for the
    conventional 4 x 4 x 4 fcc cell). n is the multiple k m of m nearest to ``bulk_points`` ** (1/3) (k >= 1); the
    partner mesh, whose difference from n is the numerical uncertainty, is (k - 1) m, or (k + 1) m for k = 1.
    A regular mesh allows the linear tetrahedron method, which the generalised grid of a non-diagonal supercell
    does not.

    Returns
    -------
    (n, n_partner) int.
    """
    from trajmodes.lattice.grid import Grid
    if not int(bulk_points) >= 1:
        raise ValueError(f"bulk_points must be a positive number of q-points (None: no bulk widths), not {bulk_points}")
    m = int(np.lcm.reduce(Grid(np.asarray(supercell)).mesh))
    k = max(1, int(round(float(bulk_points) ** (1 / 3) / m)))
    return k * m, (k - 1) * m if k > 1 else (k + 1) * m


def _bulk_calculators(fc, phonons, T, q, n_pair, scheduler, allow_unstable) -> dict:
    """Tetrahedron, classical :class:`Anharmonic` on each n x n x n mesh of ``n_pair``, with one grid point per star
    of the reduced ``q`` (``reps``) and the map of every q onto them (``back``): {n: (an, reps, back)}."""
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    out = {}
    for n in n_pair:
        an = Anharmonic(fc, n, [T], occupation="classical", smearing=None, phonons=phonons, scheduler=scheduler,
                        allow_unstable=allow_unstable)
        gps = an.grid_points(q)
        reps, back = np.unique(an.grid.star_of[gps], return_inverse=True)       # one q per star
        out[n] = (an, reps, back.reshape(-1))
    return out


def _bulk_sums(an, reps, back, widths: bool = True, epsilon: float | None = None) -> dict:
    """One pass of :class:`Anharmonic` ``an`` over the triplets of the stars ``reps`` of the MD q-points (``back``
    maps every q onto them): with ``widths`` the three-phonon FWHM (``fwhm``), with ``epsilon`` (THz) also Delta(nu0)
    and Delta(0) (``bubble``, ``static``) from the same interaction strengths; (nq, 3n) THz each."""
    if widths:
        lw = an.linewidths(reps, shifts=epsilon is not None, static_shift=epsilon is not None, epsilon=epsilon)
        out = dict(fwhm=lw["linewidth"].values[0][back])
        if epsilon is not None:
            out.update(bubble=lw["frequency_shift"].values[0][back], static=lw["frequency_shift_static"].values[0][back])
        return out
    bubble, static = _real_parts(an, reps, epsilon)
    return dict(bubble=bubble[back], static=static[back])


def _bulk_words(an, reps, what: str) -> str:
    """What a pass over a bulk mesh computes, for the progress line: 'three-phonon widths at the 21 stars of the MD
    q-points on the bulk 36x36x36 mesh (46656 q-points, tetrahedra)'."""
    return (f"three-phonon {what} at the {len(reps)} stars of the MD q-points on the bulk "
            f"{'x'.join(map(str, an.grid.mesh))} mesh ({an.grid.n_points} q-points, tetrahedra"
            f"{an.cost_words(reps, real=True)})")


def _real_parts(an, gps, epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    """The bubble's real part of every branch at grid points ``gps`` of ``an`` (:class:`Anharmonic`, one
    temperature) at the branch's harmonic frequency, Delta(nu0), and at zero frequency, Delta(0): (nq, 3n) THz
    each, both averaged over degenerate sets, principal values broadened by ``epsilon`` (THz); one pass over the
    triplets, a Dask task per q (:meth:`Anharmonic.bubble_shifts`).

    Delta(0) is finite: the sum terms 1/(nu -+ (nu' + nu'')) are regular at nu = 0 and the difference terms
    (n' - n'') / (nu' - nu'') stay finite where nu' = nu''. Delta is even in nu."""
    own, zero = an.bubble_shifts(gps, epsilon)
    return own[0], zero[0]


def _in_basis_of(q: np.ndarray, modes: xr.Dataset, fc) -> np.ndarray:
    """The MD modes' reduced q-points (of the primitive cell they were projected on, which the dataset records) in
    the basis of the primitive cell of ``fc``: the same points of the zone where the two cells are two choices of
    primitive vectors of one crystal (:func:`~trajmodes.lattice.qpoints.qpoints_in`); another crystal is refused."""
    from trajmodes.lattice.crystal import Crystal
    from trajmodes.lattice.qpoints import qpoints_in
    if "primitive_cell" not in modes.attrs:
        return q
    cell = np.reshape(np.asarray(modes.attrs["primitive_cell"], float), (3, 3))
    species = str(modes.attrs["primitive_species"]).split()
    pos = np.reshape(np.asarray(modes.attrs["primitive_positions"], float), (len(species), 3))
    return qpoints_in(q, Crystal(cell, pos, species), fc.primitive,
                      names=("the primitive cell the MD modes were projected on", "that of the force constants"))


def _check_same_crystal(modes: xr.Dataset, fc, phonons, S: np.ndarray, q: np.ndarray, given: bool) -> None:
    """Refuse force constants of another crystal than the MD modes', saying so (not through the q-grid or the
    branch count that would fail later): the branches per q, the q-points of the MD cell on the constants' supercell
    grid, and the harmonic frequencies of the projection against those of the constants."""
    from trajmodes.lattice.qpoints import commensurate_mask
    nb = modes.sizes.get("branch")
    md_cell = (f"an MD cell of {modes.attrs['n_atoms']} atoms" if "n_atoms" in modes.attrs else "the MD cell")
    if nb is not None and nb != 3 * fc.n_prim:
        raise ValueError(f"these are different crystals: the MD modes have {nb} branches per q, the force constants "
                         f"{3 * fc.n_prim} ({fc.n_prim} atoms per primitive cell); give the constants fitted to the "
                         "run the modes were projected from")
    off = ~commensurate_mask(q, S)
    if off.any():
        where = ("given" if given else f"of the force constants ({fc.n_atoms} atoms, {fc.n_prim} per primitive "
                                         "cell)")
        raise ValueError(f"the q-points of {md_cell} are not on the grid of the supercell {where}: "
                         f"{int(off.sum())} of {len(q)}, e.g. {np.round(q[np.argmax(off)], 4).tolist()}. The force "
                         "constants are of another crystal or another cell: give the constants fitted to this run, or "
                         "supercell= (the MD cell's matrix on the constants' primitive cell) if they are of this "
                         "crystal")
    if "frequency_harmonic" in modes.coords:
        mine = np.asarray(modes["frequency_harmonic"].transpose("q", "branch").values, float)
        theirs = phonons.frequencies(q)
        top_m, top_t = float(np.nanmax(mine)), float(np.nanmax(theirs))
        if top_m > 0 and top_t > 0 and max(top_m / top_t, top_t / top_m) > 1.5:
            raise ValueError(f"these look like different crystals: the highest harmonic frequency of the MD "
                             f"projection is {top_m:.3g} THz, that of the force constants at the same q "
                             f"{top_t:.3g} THz; give the constants fitted to the run the modes were projected from")


def _md_lines(modes: xr.Dataset, phonons, q: np.ndarray, step) -> dict:
    """The MD side, step 1 of :func:`compare_three_phonon`: the peak fits' widths and statuses at the MD q-points
    ``q`` (the constants' basis), the harmonic frequencies of the constants there, and the MD lines' peak maxima
    and damped-oscillator centres with their shifts; ``ok`` (widths compared) and ``placed`` (shifts compared)."""
    from trajmodes.modes.comparison_levels import md_line_positions
    fwhm = np.asarray(peak_variable(modes, "fwhm").values, float)
    fwhm_err = np.asarray(peak_variable(modes, "fwhm_err").values, float)
    status = np.asarray(peak_variable(modes, "status").values).astype(str)
    freq = np.asarray(peak_variable(modes, "frequency").values, float)
    f0 = phonons.frequencies(q)
    live = f0 > 1e-4
    # the MD shifts from the frequencies of these constants: the fits' own when the modes were projected onto them,
    # as they should be, else the peaks less these constants' frequencies
    projected = np.asarray(modes["frequency_harmonic"].transpose("q", "branch").values, float) \
        if "frequency_harmonic" in modes.coords else f0
    other_projection = bool(np.nanmax(np.abs(projected - f0)) > 1e-3)
    fit_err = _optional(modes, "shift_err", "frequency_err")
    # the peak maxima and damped-oscillator centres of the MD lines, whichever shape the project fitted (its fits give
    # one, the other is fitted to the same spectra)
    with step(f"the MD lines' peak maxima and damped-oscillator centres (the other line shape fitted to the "
              f"{modes.sizes['q']} x {modes.sizes['branch']} spectra)" if "psd" in modes else
              "the MD lines' peak maxima and damped-oscillator centres"):
        md = md_line_positions(modes, freq, np.full(freq.shape, np.nan) if fit_err is None else fit_err, status)
    shift = md["peak"] - (f0 if other_projection else projected)
    shift_err = np.asarray(md["peak_err"], float)
    shift_err = shift_err if np.isfinite(shift_err).any() else None
    ok = (status == "ok") & np.isfinite(fwhm)
    placed = np.isin(md["peak_status"], PLACED) & np.isfinite(shift) & live
    return dict(fwhm=fwhm, fwhm_err=fwhm_err, status=status, live=live, other_projection=other_projection, md=md,
                shift=shift, shift_err=shift_err, ok=ok, placed=placed)


def _bulk_and_smearing(fc, phonons, S: np.ndarray, T: float, q: np.ndarray, meshes, smearing, epsilon,
                       live: np.ndarray, scheduler, allow_unstable: bool, step) -> dict:
    """Step 2 of :func:`compare_three_phonon`: the bulk meshes' widths and shifts (with ``meshes``, the pair of
    :func:`bulk_mesh`) and the smearing ``sigma`` (with its ``rule``) and principal-value broadening ``eps`` of the
    MD grid they set."""
    fine = coarse = None
    # the bulk mesh first: its converged widths set the broadening of the MD grid. Each mesh's widths, Delta(nu0) and
    # Delta(0) come from one pass over its triplets where the broadening of the shifts is known beforehand; by
    # default it follows from the finer mesh's widths, whose shifts then take a second pass
    bulk = bulk_err = None
    attrs: dict = {}
    calculators = sums = None
    known_eps = float(epsilon) if epsilon is not None else 2 * float(smearing) if smearing is not None else None
    if meshes is not None:
        with step(f"phonons on the bulk meshes {meshes[0]}^3 and {meshes[1]}^3 (tetrahedra) and their stability"):
            calculators = _bulk_calculators(fc, phonons, T, q, meshes, scheduler, allow_unstable)
        t0 = time.perf_counter()
        fine, coarse = max(calculators), min(calculators)
        sums = {}
        for n in (fine, coarse) if known_eps is not None else (fine,):
            a_, r_, b_ = calculators[n]
            with step(_bulk_words(a_, r_, "widths" + (" and shifts" if known_eps is not None else ""))):
                sums[n] = _bulk_sums(a_, r_, b_, epsilon=known_eps)
        bulk, bulk_err = sums[fine]["fwhm"], None
    if smearing is not None:
        sigma, rule = float(smearing), "given"
    elif bulk is not None and np.isfinite(_median_half_width(bulk, live)):
        sigma, rule = _median_half_width(bulk, live), "the median three-phonon half width of the bulk mesh"
    else:
        with step("the self-consistent smearing on the MD grid (the median three-phonon half width it gives)"):
            sigma = _self_consistent_smearing(fc, S, T, phonons, scheduler, allow_unstable)
        rule = "the self-consistent median three-phonon half width on the MD grid"
    sigma = max(sigma, 1e-3)
    eps = 2 * sigma if epsilon is None else float(epsilon)
    if sums is not None:
        if known_eps is None:
            a_, r_, b_ = calculators[coarse]
            with step(_bulk_words(a_, r_, f"widths and shifts (principal values broadened by {eps:.4g} THz)")):
                sums[coarse] = _bulk_sums(a_, r_, b_, epsilon=eps)
            a_, r_, b_ = calculators[fine]
            with step(_bulk_words(a_, r_, f"shifts (principal values broadened by {eps:.4g} THz)")):
                sums[fine].update(_bulk_sums(a_, r_, b_, widths=False, epsilon=eps))
        bulk_err = np.abs(sums[fine]["fwhm"] - sums[coarse]["fwhm"])
        attrs = dict(bulk_mesh=[fine] * 3, bulk_mesh_partner=[coarse] * 3, bulk_method="tetrahedron",
                     bulk_seconds=time.perf_counter() - t0)
    return dict(bulk=bulk, bulk_err=bulk_err, attrs=attrs, calculators=calculators, sums=sums, fine=fine,
                coarse=coarse, sigma=sigma, rule=rule, eps=eps)


def _levels_of_theory(an, reps, back, f_pt, alive, fwhm, ok, shift, placed, md: dict, live, bulk, pt_fwhm, four,
                      loop_added, predicted_grid, effective: bool, eps: float, lineshape_points: int, step) -> dict:
    """Step 4 of :func:`compare_three_phonon`: the kinetic-energy lineshapes of the levels of theory on the MD grid
    (the three-phonon spectral function on ``lineshape_points`` frequencies, and with ``four`` the four-phonon
    widths), their peak maxima and damped-oscillator centres measured as the MD lines are, and the share of the MD
    each level explains: the level variables, and the lines, levels and axis for the rest."""
    from trajmodes.modes.comparison_levels import explained_fraction, kinetic_lineshape, line_positions
    from trajmodes.phonons.anharmonic.spectral import spectral_functions
    dims = ("q", "branch")
    # the lineshapes of the levels on the MD grid, measured as the MD lines are
    w = np.linspace(0.0, 1.5 * float(np.nanmax(f_pt)), int(lineshape_points))
    with step(f"three-phonon lineshapes on the MD grid ({len(reps)} stars, {len(w)} frequencies"
              f"{an.cost_words(reps, w, real=True)})"):
        sf = an.spectral_function(reps, w, epsilon=eps)
    gam_w = sf["gamma"].values[0][back]                                            # (nq, nb, nw)
    dlt_w = sf["frequency_shift"].values[0][back]
    if effective:
        dlt_w = dlt_w - dlt_w[..., :1]                                             # Delta(nu) - Delta(0)
    levels = ["effective" if effective else "static", "three-phonon"]
    lines = [kinetic_lineshape(w, spectral_functions(w, gam_w, dlt_w, f_pt))]
    width3 = bulk if bulk is not None else pt_fwhm
    widths = [np.zeros(f_pt.shape), width3]
    if four is not None:
        levels.append("three- and four-phonon")
        lines.append(kinetic_lineshape(w, spectral_functions(w, gam_w + four[..., None] / 2,
                                                             dlt_w + loop_added[..., None], f_pt)))
        widths.append(width3 + four)
    # a line narrower than one step of the axis is not resolved there (its samples miss it, the fits chase the
    # background): it is placed at its narrow-line limit nu0 + Delta(nu0) (- Delta(0)), where the peak maximum and
    # the damped-oscillator centre of a narrow line meet, and not fitted
    step_w = float(w[1] - w[0]) if len(w) > 1 else np.inf
    grid_widths = [pt_fwhm] + ([pt_fwhm + four] if four is not None else [])
    limits = [f_pt + predicted_grid] + ([f_pt + predicted_grid + loop_added] if four is not None else [])
    peaks, centres = [f_pt], [f_pt]
    n_unresolved = []
    with step(f"peak maxima and damped-oscillator centres of the {sum(np.prod(x.shape[:-1]) for x in lines)} "
              "lines of theory"):
        for line, gw, limit in zip(lines, grid_widths, limits):
            narrow = alive & (gw < step_w)
            p_, c_, _ = line_positions(w, line, measure=~narrow)
            peaks.append(np.where(narrow, limit, p_))
            centres.append(np.where(narrow, limit, c_))
            n_unresolved.append(int(narrow.sum()))
    peaks, centres, widths = np.stack(peaks), np.stack(centres), np.stack(widths)
    centre_ok = np.isin(md["centre_status"], PLACED) & np.isfinite(md["centre"]) & live
    explained = {k: [] for k in ("peak", "centre", "fwhm")}
    for i in range(len(levels)):
        explained["peak"].append(explained_fraction(peaks[i] - f_pt, shift, placed & alive))
        explained["centre"].append(explained_fraction(centres[i] - f_pt, md["centre"] - f_pt, centre_ok & alive))
        explained["fwhm"].append(explained_fraction(widths[i], fwhm, ok & alive))
    ldims = ("level",) + dims
    variables = dict(
        level_peak=(ldims, peaks, {"units": "THz", "long_name": "peak maximum of the level's kinetic-energy "
                                                                "lineshape nu A(nu)"}),
        level_centre=(ldims, centres, {"units": "THz", "long_name": "damped-oscillator centre fitted to the level's "
                                                                    "kinetic-energy lineshape"}),
        level_fwhm=(ldims, widths, {"units": "THz", "long_name": "FWHM 2 Gamma(nu0) of the level (three-phonon: "
                                                                 + ("bulk mesh" if bulk is not None else "MD grid")
                                                                 + "; four-phonon: MD grid)"}),
        explained_peak_shift=(("level",), explained["peak"], {"units": "1", "long_name": "fraction of the MD peak "
                              "shifts the level explains: sum(level md) / sum(md^2) over the placed MD peaks"}),
        explained_centre_shift=(("level",), explained["centre"], {"units": "1", "long_name": "fraction of the MD "
                                "damped-oscillator centre shifts the level explains"}),
        explained_fwhm=(("level",), explained["fwhm"], {"units": "1", "long_name": "fraction of the MD FWHM the level "
                        "explains: sum(level md) / sum(md^2) over the clean MD fits"}),
        md_centre_placed=(dims, centre_ok, {"long_name": "MD damped-oscillator centre compared: its fit ok or narrower "
                                                         "than the resolution"}))
    return dict(variables=variables, levels=levels, lines=lines, w=w, step_w=step_w, n_unresolved=n_unresolved)


def _conductivities(phonons, modes: xr.Dataset, T: float, an, reps, pt, sigma: float) -> tuple[dict, dict, float]:
    """Step 5 of :func:`compare_three_phonon`: the RTA conductivities of the MD cell's q-points from the MD lifetimes
    and from the three-phonon ones (``pt`` on the stars ``reps``; modes with no decay within ``sigma`` left out):
    their variables, the MD conductivity and the share of the heat capacity x velocity^2 the theory leaves out."""
    kmd = conductivity_from_lifetimes(phonons, modes, temperature=T, occupation="classical")
    # three-phonon lifetimes of modes with no decay within the smearing are not finite: they are left out as the
    # MD's modes without a clean fit are, and their share reported; the widths at one point of every star of the
    # grid are those already computed when the MD q-points cover the grid
    if not np.array_equal(reps, an.grid.irreducible):
        lw = an.linewidths()
    else:
        lw = pt[["gamma", "linewidth", "lifetime"]]
    dead = lw["linewidth"].values <= 1e-3 * sigma
    lw["gamma"] = lw["gamma"].where(~dead, 0.0)
    lw["linewidth"] = lw["linewidth"].where(~dead, 0.0)
    lw["lifetime"] = lw["lifetime"].where(~dead, np.inf)
    kpt = an.thermal_conductivity(linewidths=lw)
    cv2 = kpt["heat_capacity"].values * (kpt["group_velocity"].values ** 2).sum(-1)[None] \
        * kpt["weight"].values[None, :, None]
    pt_missing = float(cv2[dead].sum() / cv2.sum()) if cv2.sum() > 0 else 0.0
    cart = ("cartesian", "cartesian2")
    variables = {}
    variables["kappa_md"] = (cart, kmd["kappa"].values, {"units": "W/(m K)", "long_name": "RTA with the MD lifetimes, "
                                                     "on the MD cell's q-points (finite-size)"})
    variables["kappa_md_err"] = (cart, kmd["kappa_err"].values, {"units": "W/(m K)", "long_name": "1 sigma"})
    variables["kappa_pt"] = (cart, kpt["kappa"].values[0], {"units": "W/(m K)", "long_name": "RTA with the "
                                                             "three-phonon lifetimes of the MD grid (finite-size)"})
    return variables, kmd, pt_missing


def compare_three_phonon(modes: xr.Dataset, force_constants, temperature: float | None = None,
                         smearing: float | None = None, supercell=None, lineshape_points: int = 401,
                         scheduler=None, constants: str = "effective", epsilon: float | None = None,
                         bulk_points: int | None = 30000, four_phonon: bool = True, four_phonon_sample=(4, 4, 4),
                         four_phonon_seed: int = 0, allow_unstable: bool = False, progress=None) -> xr.Dataset:
    """Compare the MD linewidths, shifts, lineshapes and RTA conductivity with perturbation theory, level by level.

    Parameters
    ----------
    modes : xarray.Dataset
        The MD mode analysis: :func:`trajmodes.workflows.modes_dataset` (``trajmodes project``; spectra and
        ``peak_*`` fits) or :func:`trajmodes.fit_peaks` (fits only: no lineshapes, no second line position), over
        every q of the MD cell. The MD shifts are the peak frequencies minus the harmonic frequencies of
        ``force_constants`` (project onto them; modes projected onto other constants, e.g. effective ones compared
        with 0 K constants, are compared all the same and flagged: ``md_projected_on_other_constants``).
    force_constants : ForceConstants
        fc2 and fc3 fitted to the same run (:class:`trajmodes.EffectiveForceConstants` with ``cutoff3``); with
        ``fc4`` (``cutoff4``) a further level, with four-phonon widths.
    temperature : float, optional
        K; default the dataset's ``temperature`` attribute (the run's kinetic temperature).
    smearing : float, optional
        Gaussian standard deviation of the energy conservation on the MD grid (THz). Default: from the theory's own
        widths, not from the MD spectra (whose widths depend on how the spectra were resolved): the median
        three-phonon half width Gamma of the modes on the bulk mesh (tetrahedron, converged; the final states of a
        decay are broadened by their own widths), or without ``bulk_points`` the self-consistent median half width
        on the MD grid (:func:`_self_consistent_smearing`).
    supercell : (3, 3) int, optional
        The MD supercell matrix on the primitive cell (``supercell.cell = S @ primitive.cell``); default the one
        of ``force_constants`` (the cell they were fitted in).
    epsilon : float, optional
        Broadening of the principal values of the shifts, 1/x -> x / (x^2 + epsilon^2), THz; default 2
        ``smearing``: the Lorentzian half width Gamma' + Gamma'' of a two-phonon final state whose members have the
        typical half width (the real part of 1/(x + i (Gamma' + Gamma''))).
    lineshape_points : int
        Frequencies of the perturbative lineshapes (from 0 to 1.5 x the highest harmonic frequency: the lines of
        strongly anharmonic crystals sit well above their harmonic frequency).
    scheduler : optional
        Dask scheduler or client for the three-phonon q-loops.
    constants : {"effective", "static"}
        What fc2 is. ``"effective"`` (default; constants fitted to the run): they hold the static bubble
        Delta(0) and the quartic loop (frequency-independent), and the predicted shift is Delta(nu) - Delta(0).
        ``"static"`` (0 K constants of the potential at the same lattice): Delta(nu), plus the quartic loop with fc4.
    bulk_points : int or None
        About how many q-points the bulk mesh has (:func:`bulk_mesh`; 30000: 32 x 32 x 32 for the 256-atom fcc
        cell); None: no bulk widths and shifts.
    four_phonon : bool
        With the constants' ``fc4``: the level with four-phonon widths (and, for static constants, the loop).
    four_phonon_sample : (3,) int or None
        The four-phonon sums on the MD grid by Monte Carlo over two stratified samples of this many cells per axis
        (:meth:`trajmodes.phonons.anharmonic.fourphonon.FourPhonon.gamma`; unbiased, (n_sample / N)^2 of the cost); None: every
        pair of the grid (432-atom cell: about a minute per q).
    four_phonon_seed : int
        Seed of that sampling.
    allow_unstable : bool
        Constants with imaginary modes are refused (:mod:`trajmodes.phonons.harmonic.stability`); True goes on without them.
    progress : callable, optional
        Turns the label of each step (the bulk meshes' widths and shifts, the MD grid's, the lineshapes) into a context
        manager around it (the command line's step lines); default: silent.

    Returns
    -------
    xarray.Dataset
        Over (q, branch), THz unless said:

        - MD: ``md_fwhm``, ``md_fwhm_err``, ``md_frequency`` (the peak maximum: a Lorentzian's centre), ``md_shift``
          (= md_frequency - harmonic frequency), ``md_shift_err``, ``md_peak_status``, ``md_placed`` (the peak maxima
          compared); ``md_centre``, ``md_centre_err``, ``md_centre_shift``, ``md_centre_status``, ``md_centre_placed``
          (the damped-oscillator centre); one of the two is the project's fit, the other fitted to the same
          star-averaged spectra (:func:`trajmodes.modes.comparison_levels.md_line_positions`); ``md_status`` the status of
          the project's fit, which gives ``md_fwhm``.
        - Levels of theory (coordinate ``level``: ``"effective"``, ``"three-phonon"``, with fc4 ``"three- and
          four-phonon"``): ``level_peak`` and ``level_centre`` (level, q, branch), the peak maximum and DHO centre of the
          level's kinetic-energy lineshape nu A(nu) (measured as the MD's), ``level_fwhm`` (2 Gamma(nu0): bulk when
          computed, else on the MD grid, plus the four-phonon FWHM), and ``explained_peak_shift``,
          ``explained_centre_shift``, ``explained_fwhm`` (level): the fraction of the MD's peak shift, centre shift and
          FWHM the level explains (:func:`~trajmodes.modes.comparison_levels.explained_fraction`).
        - Widths on the MD grid (Gaussian ``smearing``): ``pt_fwhm``, ``fwhm_ratio`` (MD / ``pt_fwhm``; NaN where the MD
          fit is not clean or where ``pt_fwhm`` <= 1e-3 sigma, counted in ``n_modes_without_decay``), ``pt_channels``,
          ``pt_no_channel``; with fc4 ``pt_fwhm_four`` (the four-phonon FWHM on the MD grid).
        - Bulk widths (with ``bulk_points``): ``pt_fwhm_bulk``, ``pt_fwhm_bulk_err``, ``fwhm_ratio_bulk``,
          ``fwhm_z_bulk``.
        - Shifts: ``pt_shift`` (the prediction at the harmonic frequency: Delta(nu0) - Delta(0) for effective constants,
          Delta(nu0) for static; on the bulk mesh when computed, else on the MD grid), ``pt_shift_bubble`` (Delta(nu0)),
          ``pt_shift_static`` (Delta(0)), ``pt_shift_err`` (bulk only: abs(difference) to the partner mesh), ``shift_z``;
          the same on the MD grid: ``pt_shift_grid``, ``pt_shift_bubble_grid``, ``pt_shift_static_grid``; with fc4
          ``pt_shift_loop`` (the first-order quartic loop; in effective constants already, so not added to their
          levels).
        - With spectra: ``md_lineshape`` (q, branch, frequency) and ``pt_lineshape`` (q, branch, pt_frequency): the MD
          spectrum and the three-phonon kinetic-energy lineshape nu A(nu), both of unit area (1/THz); with fc4
          ``pt_lineshape_four``.
        - ``kappa_md``, ``kappa_md_err`` and ``kappa_pt`` (cartesian, cartesian2) W/(m K), both RTA with classical
          heat capacities on the MD cell's q-points only: finite-size numbers of this cell, not the crystal's.

        Attributes: temperature, smearing, epsilon, smearing_rule, constants, supercell; where the mode dataset says,
        ``md_frames``, ``md_duration_ps`` and ``md_resolution_thz`` of the MD spectra; ``median_fwhm_ratio`` and the
        16-84 % range (and ``_bulk``); ``median_shift_md``, ``median_pt_shift``, ``median_abs_shift_residual`` and
        ``..._bubble`` over the modes whose MD peak is placed (fit status "ok" or "width below resolution": a line
        narrower than the resolution still has its position), ``n_modes_shift_compared``; the MD peak and centre models;
        ``imaginary_modes``; the bulk mesh, its partner and the seconds they took; ``lineshape_step`` (THz, the step of the
        lineshapes' axis) and ``n_lines_narrow`` (per level of theory after the first: the lines on the MD grid narrower than
        one step of that axis, which are placed at their narrow-line limit nu0 + Delta(nu0) (- Delta(0)), not fitted).
    """
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    from trajmodes.phonons.harmonic.phonons import Phonons
    from trajmodes.phonons.harmonic.stability import require_stable
    fc = force_constants
    step = progress if progress is not None else (lambda label: contextlib.nullcontext())
    T = _checked_inputs(modes, fc, temperature, constants)
    S = np.asarray(fc.smap.matrix if supercell is None else supercell)
    own_q = np.asarray(modes["qpoint"].transpose("q", ...).values, dtype=float)
    q = _in_basis_of(own_q, modes, fc)                    # the same points of the zone in the constants' basis
    phonons = Phonons(fc)
    _check_same_crystal(modes, fc, phonons, S, q, supercell is not None)
    # unstable constants are refused before any work (the sums below check again, on their own meshes)
    require_stable(phonons, "three-phonon widths, shifts and lineshapes", allow_unstable)
    meshes = None if bulk_points is None else bulk_mesh(S, bulk_points)         # checked before the work
    m = _md_lines(modes, phonons, q, step)
    fwhm, fwhm_err, status, live, md = m["fwhm"], m["fwhm_err"], m["status"], m["live"], m["md"]
    other_projection, shift, shift_err, ok, placed = (m["other_projection"], m["shift"], m["shift_err"], m["ok"],
                                                      m["placed"])
    b = _bulk_and_smearing(fc, phonons, S, T, q, meshes, smearing, epsilon, live, scheduler, allow_unstable, step)
    bulk, bulk_err, attrs, calculators, sums = b["bulk"], b["bulk_err"], b["attrs"], b["calculators"], b["sums"]
    fine, coarse, sigma, rule, eps = b["fine"], b["coarse"], b["sigma"], b["rule"], b["eps"]
    an = Anharmonic(fc, S, [T], occupation="classical", smearing=sigma, phonons=phonons, scheduler=scheduler,
                    allow_unstable=allow_unstable)
    gps = an.grid_points(q)                                  # raises if a q is not on the MD cell's grid
    f_pt = an.frequencies[gps]
    if f_pt.shape != fwhm.shape:
        raise ValueError(f"the MD modes have {fwhm.shape[1]} branches per q, the force constants {f_pt.shape[1]}")
    # one q per star of the MD q-points: the members of a star have the same widths and shifts
    reps, back = np.unique(an.grid.star_of[gps], return_inverse=True)
    back = back.reshape(-1)
    with step(f"three-phonon widths and shifts on the MD grid ({len(reps)} stars of its {an.grid.n_points} q-points, "
              f"Gaussian {sigma:.4g} THz{an.cost_words(reps, real=True)})"):
        pt = an.linewidths(reps, shifts=True, static_shift=True, epsilon=eps)
    pt_fwhm = pt["linewidth"].values[0][back]
    effective = constants == "effective"
    shifts, predicted_err = _predicted_shifts(pt, back, sums, fine, coarse, effective)
    predicted, predicted_grid = shifts["predicted"], shifts["predicted_grid"]
    channels = decay_channels(an.grid, an.frequencies, reps, 2 * sigma, an.interaction.cutoff_frequency)[back]
    alive = f_pt > an.interaction.cutoff_frequency
    no_channel = alive & (channels == 0)
    # a mode with no decay within the smearing on this grid (finite phase space) has no finite ratio
    stranded = ok & (pt_fwhm <= 1e-3 * sigma)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(ok & ~stranded, fwhm / pt_fwhm, np.nan)
        shift_z = (shift - predicted) / shift_err if shift_err is not None else None
    dims = ("q", "branch")
    where = "the bulk mesh" if calculators is not None else "the MD grid"
    data = _md_variables(md, fwhm, fwhm_err, shift, status, placed, f_pt)
    data.update(_grid_variables(pt_fwhm, channels, no_channel, ratio, where, effective, shifts))
    if shift_err is not None:
        data["md_shift_err"] = (dims, shift_err, {"units": "THz", "long_name": "1 sigma (of the peak frequency)"})
        data["shift_z"] = (dims, np.where(shift_err > 0, shift_z, np.nan),
                           {"units": "1", "long_name": "(md_shift - pt_shift) / md_shift_err"})
    if bulk is not None:
        variables, bulk_attrs = _bulk_variables(fwhm, fwhm_err, ok, bulk, bulk_err, predicted_err)
        data.update(variables)
        attrs.update(bulk_attrs)
    # four-phonon widths and the quartic loop
    four = fc4_note = None
    loop_added = np.zeros(f_pt.shape)
    if four_phonon and getattr(fc, "fc4", None) is not None:
        four, loop, fc4_note = _quartic_level(an, fc, reps, back, q, T, sigma, four_phonon_sample, four_phonon_seed,
                                              effective, allow_unstable)
        data.update(_quartic_variables(four, loop, fc4_note, effective))
        if not effective:
            loop_added = np.nan_to_num(loop)
    lv = _levels_of_theory(an, reps, back, f_pt, alive, fwhm, ok, shift, placed, md, live, bulk, pt_fwhm, four,
                           loop_added, predicted_grid, effective, eps, lineshape_points, step)
    data.update(lv["variables"])
    levels, lines, w, step_w, n_unresolved = lv["levels"], lv["lines"], lv["w"], lv["step_w"], lv["n_unresolved"]
    coords = dict(qpoint=(("q", "reduced"), own_q), frequency_harmonic=(dims, f_pt, {"units": "THz"}),
                  grid_point=("q", gps), level=("level", levels))
    if "psd_fitted" in modes or "psd" in modes:
        variables, axes = _lineshape_variables(modes, lines, w, four is not None, effective)
        data.update(variables)
        coords.update(axes)
    variables, kmd, pt_missing = _conductivities(phonons, modes, T, an, reps, pt, sigma)
    data.update(variables)
    coords.update(cartesian=["x", "y", "z"], cartesian2=["x", "y", "z"])
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(temperature=T, smearing=sigma, epsilon=eps, occupation="classical", constants=constants,
                    supercell=S.reshape(-1).tolist(), n_qpoints=len(q), n_modes_without_decay=int(stranded.sum()),
                    n_modes_no_channel=int(no_channel.sum()),
                    **_ratio_and_shift_summary(ratio, placed, alive, shift, shifts),
                    shift_source=where, md_peak_model=md["peak_model"], md_centre_model=md["centre_model"],
                    kappa_md_missing_share=float(kmd["missing_share"]), kappa_pt_missing_share=pt_missing,
                    smearing_rule=rule, imaginary_modes=an.imaginary.count,
                    md_projected_on_other_constants=int(other_projection),
                    lowest_imaginary_frequency=an.imaginary.lowest if an.imaginary.unstable else float("nan"),
                    four_phonon=fc4_note or "", lineshape_step=step_w,
                    n_lines_narrow=n_unresolved, **_md_run(modes), **attrs)
    return ds


def _checked_inputs(modes: xr.Dataset, fc, temperature, constants: str) -> float:
    """Refuse what the comparison cannot do; the temperature (K) compared at."""
    if constants not in CONSTANTS:
        raise ValueError(f"constants must be 'effective' (fc2 fitted to the run: the static bubble is in them) or "
                         f"'static' (0 K constants), not {constants!r}")
    if getattr(fc, "fc3_sparse", None) is None:
        raise ValueError("the comparison needs cubic force constants: fit them with cutoff3 on the same run")
    T = modes.attrs.get("temperature") if temperature is None else temperature
    if T is None or not float(T) > 0:
        raise ValueError("give the temperature (K) of the run: the dataset has no 'temperature' attribute")
    return float(T)


def _predicted_shifts(pt: xr.Dataset, back, sums, fine, coarse, effective: bool) -> tuple[dict, np.ndarray | None]:
    """The shifts predicted for the MD lines (THz) and, with the bulk meshes, their numerical uncertainty.

    Returns ``predicted``, ``bubble`` and ``static`` (on the bulk mesh ``fine`` when ``sums`` holds the meshes' sums,
    else on the MD grid) and the same on the MD grid with ``_grid``; the predicted shift is Delta(nu0) - Delta(0) for
    effective constants, Delta(nu0) for static ones. The uncertainty is |fine - coarse| of the predicted shift.
    """
    bubble_grid = pt["frequency_shift"].values[0][back]
    static_grid = pt["frequency_shift_static"].values[0][back]
    predicted_grid = bubble_grid - static_grid if effective else bubble_grid
    shifts = dict(predicted=predicted_grid, bubble=bubble_grid, static=static_grid, predicted_grid=predicted_grid,
                  bubble_grid=bubble_grid, static_grid=static_grid)
    if sums is None:
        return shifts, None
    pred = {n: (p["bubble"] - p["static"] if effective else p["bubble"]) for n, p in sums.items()}
    shifts.update(predicted=pred[fine], bubble=sums[fine]["bubble"], static=sums[fine]["static"])
    return shifts, np.abs(pred[fine] - pred[coarse])


def _quartic_variables(four, loop, note: str, effective: bool) -> dict:
    """The four-phonon widths and the quartic loop shift on the MD grid, as variables (THz)."""
    dims = ("q", "branch")
    return dict(
        pt_fwhm_four=(dims, four, {"units": "THz", "long_name": f"four-phonon FWHM on the MD grid (Gaussian sigma, "
                                                                f"{note})"}),
        pt_shift_loop=(dims, loop, {"units": "THz", "long_name": "first-order quartic (loop) shift, classical, "
                                    "covariance of the MD cell" + (": frequency-independent, in the effective "
                                                                   "constants already (not added)" if effective
                                                                   else "")}))


def _md_variables(md: dict, fwhm, fwhm_err, shift, status, placed, f_pt) -> dict:
    """The MD's widths, line positions and fit statuses over (q, branch), as variables of the comparison (THz)."""
    dims = ("q", "branch")
    return dict(
        md_fwhm=(dims, fwhm, {"units": "THz", "long_name": "MD linewidth (FWHM of the fitted peak)"}),
        md_fwhm_err=(dims, fwhm_err, {"units": "THz", "long_name": "1 sigma"}),
        md_frequency=(dims, md["peak"], {"units": "THz", "long_name": f"MD peak maximum ({md['peak_model']} fit)"}),
        md_shift=(dims, shift, {"units": "THz",
                                "long_name": "MD peak maximum - harmonic frequency of the constants compared"}),
        md_status=(dims, status, {"long_name": "status of the MD fit that gives md_fwhm"}),
        md_peak_status=(dims, md["peak_status"], {"long_name": "status of the MD fit that gives md_frequency"}),
        md_placed=(dims, placed, {"long_name": "MD peak maximum compared: its fit ok or narrower than the resolution"}),
        md_centre=(dims, md["centre"], {"units": "THz", "long_name": f"MD damped-oscillator centre "
                                                                     f"({md['centre_model']} fit)"}),
        md_centre_err=(dims, md["centre_err"], {"units": "THz", "long_name": "1 sigma"}),
        md_centre_shift=(dims, md["centre"] - f_pt, {"units": "THz", "long_name": "MD damped-oscillator centre - "
                                                                                  "harmonic frequency"}),
        md_centre_status=(dims, md["centre_status"]),
    )


def _grid_variables(pt_fwhm, channels, no_channel, ratio, where: str, effective: bool, shifts: dict) -> dict:
    """The three-phonon widths, channels and shifts on the MD grid (and the shifts on ``where``), as variables.

    ``shifts``: ``predicted``, ``bubble`` and ``static`` on ``where``, the same with ``_grid`` on the MD grid (THz).
    """
    dims = ("q", "branch")
    return dict(
        pt_fwhm=(dims, pt_fwhm, {"units": "THz", "long_name": "three-phonon FWHM (2 Gamma) on the MD grid, "
                                                               "classical occupations, Gaussian smearing"}),
        pt_channels=(dims, channels, {"units": "1", "long_name": "three-phonon channels (q', s', s'') on the MD grid "
                                      "within 2 sigma of energy conservation: |nu - nu' - nu''| or |nu + nu' - nu''|"}),
        pt_no_channel=(dims, no_channel, {"long_name": "no three-phonon channel within 2 sigma on the MD grid"}),
        pt_shift=(dims, shifts["predicted"], {"units": "THz", "long_name": "predicted shift of the MD line from the "
                                              "harmonic frequency, on " + where + ": " +
                                              ("Delta(nu0) - Delta(0) (effective constants)" if effective else
                                               "Delta(nu0) (static constants)")}),
        pt_shift_bubble=(dims, shifts["bubble"], {"units": "THz", "long_name": "bubble shift Delta(nu0) at the "
                                                                               "harmonic frequency, on " + where}),
        pt_shift_static=(dims, shifts["static"], {"units": "THz", "long_name": "bubble real part at zero frequency, "
                                                                               "Delta(0), on " + where}),
        pt_shift_grid=(dims, shifts["predicted_grid"], {"units": "THz", "long_name": "predicted shift on the MD grid"}),
        pt_shift_bubble_grid=(dims, shifts["bubble_grid"], {"units": "THz", "long_name": "Delta(nu0) on the MD grid"}),
        pt_shift_static_grid=(dims, shifts["static_grid"], {"units": "THz", "long_name": "Delta(0) on the MD grid"}),
        fwhm_ratio=(dims, ratio, {"units": "1", "long_name": "MD FWHM / three-phonon FWHM on the MD grid "
                                                             "(fits with status ok)"}),
    )


def _bulk_variables(fwhm, fwhm_err, ok, bulk, bulk_err, predicted_err) -> tuple[dict, dict]:
    """The bulk mesh's widths beside the MD's (variables) and the summary of their ratio (attributes)."""
    dims = ("q", "branch")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio_bulk = np.where(ok & (bulk > 0), fwhm / bulk, np.nan)
        z = np.where(ok, (fwhm - bulk) / np.sqrt(fwhm_err ** 2 + bulk_err ** 2), np.nan)
    variables = dict(
        pt_fwhm_bulk=(dims, bulk, {"units": "THz", "long_name": "three-phonon FWHM on the bulk mesh (tetrahedron, "
                                                                "classical occupations)"}),
        pt_fwhm_bulk_err=(dims, bulk_err, {"units": "THz", "long_name": "|bulk mesh - partner mesh|: numerical "
                                                                        "uncertainty"}),
        fwhm_ratio_bulk=(dims, ratio_bulk, {"units": "1", "long_name": "MD FWHM / bulk three-phonon FWHM "
                                                                      "(fits with status ok)"}),
        fwhm_z_bulk=(dims, z, {"units": "1", "long_name": "(md_fwhm - pt_fwhm_bulk) / sqrt(md_fwhm_err^2 + "
                                                          "pt_fwhm_bulk_err^2)"}),
        pt_shift_err=(dims, predicted_err, {"units": "THz", "long_name": "|bulk mesh - partner mesh| of pt_shift: "
                                                                         "numerical uncertainty"}))
    m, lo, hi = _spread(ratio_bulk)
    return variables, dict(median_fwhm_ratio_bulk=m, fwhm_ratio_bulk_p16=lo, fwhm_ratio_bulk_p84=hi,
                           n_modes_compared_bulk=int(np.isfinite(ratio_bulk).sum()))


def _lineshape_variables(modes: xr.Dataset, lines, w, with_four: bool, effective: bool) -> tuple[dict, dict]:
    """The MD spectra and the perturbative lineshapes, each of unit area (1/THz), and their frequency axes."""
    dims = ("q", "branch")
    psd = (modes["psd_fitted"] if "psd_fitted" in modes else modes["psd"]).transpose("q", "branch", "frequency")
    nu = np.asarray(modes["frequency"].values, float)
    p = np.clip(np.asarray(psd.values, float), 0.0, None)
    area = trapezoid(p, nu, axis=-1)[..., None]
    variables = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        variables["md_lineshape"] = (dims + ("frequency",), np.where(area > 0, p / area, 0.0),
                                     {"units": "1/THz", "long_name": "MD kinetic-energy spectrum of the mode, unit "
                                                                     "area"})
    variables["pt_lineshape"] = (dims + ("pt_frequency",), lines[0],
                                 {"units": "1/THz", "long_name": "three-phonon kinetic-energy lineshape nu A(nu), unit "
                                  "area" + (", Delta(nu) - Delta(0)" if effective else "")})
    if with_four:
        variables["pt_lineshape_four"] = (dims + ("pt_frequency",), lines[-1],
                                          {"units": "1/THz", "long_name": "the same with the four-phonon widths"})
    return variables, {"frequency": ("frequency", nu, {"units": "THz"}),
                       "pt_frequency": ("pt_frequency", w, {"units": "THz"})}


def _ratio_and_shift_summary(ratio, placed, alive, shift, shifts: dict) -> dict:
    """Medians of the width ratio and of the shifts over the modes whose MD peak is placed (attributes)."""
    m, lo, hi = _spread(ratio)

    def median(x):
        return _spread(np.where(placed, x, np.nan))[0]
    return dict(n_modes_compared=int(np.isfinite(ratio).sum()), median_fwhm_ratio=m, fwhm_ratio_p16=lo,
                fwhm_ratio_p84=hi, n_modes_shift_compared=int((placed & alive).sum()),
                median_shift_md=median(shift), median_pt_shift=median(shifts["predicted"]),
                median_abs_shift_residual=median(np.abs(shift - shifts["predicted"])),
                median_abs_shift_residual_bubble=median(np.abs(shift - shifts["bubble"])),
                median_abs_shift_residual_grid=median(np.abs(shift - shifts["predicted_grid"])))


def _md_run(modes: xr.Dataset) -> dict:
    """What the MD spectra were made of, where the mode dataset says: ``md_frames`` (frames of the run),
    ``md_duration_ps`` and ``md_resolution_thz`` (the spectral resolution), for the words that say why no line was
    resolved."""
    a = modes.attrs
    dt = a.get("frame_interval_ps", a.get("spectra_frame_interval_ps"))
    res = a.get("resolution_thz", a.get("spectra_resolution_thz"))
    frames = a.get("setting_frames")
    if frames is None and dt and all(k in a for k in ("segment_frames", "n_segments", "hop_ps")):
        frames = int(a["segment_frames"]) + (int(a["n_segments"]) - 1) * int(round(float(a["hop_ps"]) / float(dt)))
    out = {}
    if frames is not None:
        out["md_frames"] = int(frames)
        if dt:
            out["md_duration_ps"] = float(frames) * float(dt)
    if res is not None and np.isfinite(float(res)):
        out["md_resolution_thz"] = float(res)
    return out


def _quartic_level(an, fc, reps, back, q, T, sigma, sample, seed, effective, allow_unstable):
    """The four-phonon FWHM on the MD grid (Gaussian ``sigma``; Monte Carlo over ``sample`` cells per axis, or every
    pair) and the first-order quartic loop shift (classical, the MD cell's covariance) at every q: (nq, 3n) THz each,
    and a note of how the sums were made."""
    from trajmodes.phonons.anharmonic.quartic import loop_shift
    from trajmodes.phonons.harmonic.stability import UnstableConstantsError
    g4 = an.four_phonon_gamma(reps, sigma, sample=sample, seed=seed)[0][back]
    note = ("every pair of the MD grid" if sample is None else
            f"Monte Carlo, {'x'.join(map(str, np.asarray(sample).tolist()))} sample, seed {seed}")
    try:
        loop = loop_shift(fc, q, [T], mesh=None, occupation="classical")["quartic_shift"].values[0]
    except UnstableConstantsError:
        if not allow_unstable:
            raise
        loop = np.full(g4.shape, np.nan)                     # no thermal covariance of an unstable crystal
    return 2 * g4, loop, note
