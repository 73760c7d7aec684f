"""The pair cutoff of an effective (TDEP) fit chosen from the data: the frequencies at the special points at every
neighbour shell, with paired block-bootstrap error bars, and the smallest cutoff beyond which they stop moving.

A fit at too short a cutoff truncates the force constants: in bcc Zr at 1300 K (EAM of M. I. Mendelev and
G. J. Ackland, Philos. Mag. Lett. 87, 349 (2007), range 7.6 Å) a 6 Å cutoff gives 3.34 THz at H against the converged
3.69, and 0.59 THz for the soft TA1 mode at N against 0.74. TDEP's default (O. Hellman et al., Phys. Rev. B 87, 104111
(2013); F. Knoop et al., J. Open Source Softw. 9, 6150 (2024)) is the largest cutoff the supercell holds; hiPhive
(F. Eriksson, E. Fransson and P. Erhart, Adv. Theory Simul. 2, 1800184 (2019)) chooses by cross-validation. Here one
pass over the frames at the largest cutoff gives the fits at every shorter one
(:func:`~trajmodes.forceconstants.convergence.scan_cutoffs`); each row's frequencies at the special points are compared
with those of the largest row, resample by resample, so that the difference has its own error bar (the two fits share
their frames, and most of their noise cancels). The chosen cutoff is the smallest from which every row agrees with the
largest within those error bars or within what a user resolves (the larger of :data:`RTOL` of the frequency and
:data:`ATOL`, each frequency by either criterion), and never below the range of the potential when it is known
(``minimum``). "Within the error bars" is judged for all the frequencies of a row together: the largest of m
differences that have all converged exceeds 2 standard errors more often than not when m is large, so the threshold
is that of a family-wise level :data:`LEVEL` (Bonferroni, m the distinct frequencies: 2.9 standard errors for the 12
of bcc, 3.2 for the 40 of diamond). The tolerance is what ends the scan on long runs, whose error bars shrink until
differences of 0.01 THz are "significant": converged means converged to what can be resolved, and the table says
which criterion decided.
The cross-validation RMSE of every row is in the table too: on long runs it is flat to 1e-5 of itself over the last
shells and does not separate them, so the frequencies decide.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trajmodes.forceconstants.convergence import SHELL_TOL, scan_cutoffs
from trajmodes.forceconstants.report import COND_WARN
from trajmodes.forceconstants.uncertainty import bootstrap_std
from trajmodes.lattice.paths import special_points
from trajmodes.lattice.qpoints import is_gamma
from trajmodes.phonons.harmonic.degeneracy import degenerate_labels
from trajmodes.phonons.harmonic.dynamical import frequencies_from_eigenvalues
from trajmodes.phonons.harmonic.phonons import Phonons

__all__ = ["LEVEL", "ROUNDOFF", "RTOL", "ATOL", "CutoffConvergence", "cutoff_convergence"]

#: a row agrees with the longest when no frequency differs by more than its error bars allow at this family-wise
#: level: with m distinct frequencies compared (degenerate branches counted once), every |difference| within
#: z = Phi^-1(1 - LEVEL / (2 m)) standard errors of the difference (Bonferroni: about 2.9 for m = 12, 3.2 for m = 40)
LEVEL = 0.05
#: ... or by at most this fraction of the largest frequency (the round-off of exact, noise-free data)
ROUNDOFF = 1e-6
#: ... or by at most the larger of RTOL of the frequency and ATOL (THz): a difference no one resolves. Long runs give
#: error bars so small that the test alone keeps every shell: wurtzite GaN at 300 K (576 atoms, 20 ps) took its
#: longest rows (9.1-9.3 A, 447-479 parameters) for differences of 0.01 THz at 3.1-3.7 standard errors, where every
#: row from 4.1 A (45 parameters) is within 0.066 THz (0.85 %). 1 % and 0.03 THz (about 1 cm^-1, the resolution of a
#: Raman line) keep every measured choice within about 1 % of the longest row at the points compared; 2 % and 0.1 THz
#: took fcc Cu and GaN at 1200 K down to their first shells, 2-4 % off (docs/defaults.md)
RTOL = 0.01
ATOL = 0.03


@dataclass(frozen=True)
class CutoffConvergence:
    """The convergence of a fit's frequencies with its pair cutoff (:func:`cutoff_convergence`).

    Attributes
    ----------
    table : xarray.Dataset
        One row per cutoff (dimension ``cutoff``, Å; coordinate ``shell``, the outermost neighbour shell held, Å):
        ``n_params``, ``r2``, ``rmse`` and ``cv_rmse`` (eV/Å) of the second order, ``condition_number``; at the
        special points (dimension ``q``, coordinates ``label`` and ``qpoint``, reduced) and every ``branch``:
        ``frequency`` and ``frequency_err`` (THz), ``difference`` (the row's frequency minus the reference row's, THz)
        and ``difference_err`` (its paired bootstrap error, THz); per row ``largest_difference`` (THz), ``largest_z``
        (the largest |difference| / difference_err), ``largest_relative_difference``, ``agrees`` (every frequency by
        one criterion or the other), ``agrees_statistically`` and ``agrees_within_tolerance`` (every frequency by that
        one); 0-d ``selected_cutoff``, ``statistical_cutoff`` (the row the statistical test alone would choose),
        ``reference_cutoff`` and ``potential_range`` (A, NaN when unknown); attributes ``z``, ``rtol``, ``atol`` and
        ``decided_by`` (which criterion ended the scan: "the statistical test", "the tolerance", either with " and the
        potential's range", or "none: the longest row").
    cutoff2 : float
        The chosen cutoff, Å.
    converged : bool
        False when even the two largest rows differ beyond their error bars (or no error bar could be made).
    notes : tuple of str
        One line each about what limited the choice (the potential's range, the supercell, the data).
    """

    table: object
    cutoff2: float
    converged: bool
    notes: tuple = ()

    def report(self, given: bool = False) -> str:
        """The convergence in words: the table (:func:`~trajmodes.forceconstants.report.format_cutoff_table`;
        ``given``: the cutoff was given, not chosen) and a line per note."""
        from trajmodes.forceconstants.report import format_cutoff_table
        return "\n".join([format_cutoff_table(self.table, given=given)] + [f"note: {note}" for note in self.notes])


def _special_q(primitive, symprec):
    """The special points of the lattice but Gamma, then the points half-way from Gamma to each (labelled
    ``X/2``): a shell whose every vector is a lattice vector of a special point's own (its phases all 1 there) still
    moves the frequencies half-way."""
    pts = {k: v for k, v in special_points(primitive, symprec).items() if not is_gamma(np.atleast_2d(v))[0]}
    q = np.array(list(pts.values()), float).reshape(-1, 3)
    return np.concatenate([q, 0.5 * q]), list(pts) + [f"{k}/2" for k in pts]


def cutoff_convergence(fit, minimum: float | None = None, qpoints=None, labels=None, n_resamples: int = 100,
                       seed: int | None = 0, level: float = LEVEL, z: float | None = None, rtol: float = RTOL,
                       atol: float = ATOL) -> CutoffConvergence:
    """The frequencies of ``fit`` at every neighbour shell up to its cutoff, and the cutoff they converge at.

    Parameters
    ----------
    fit : EffectiveForceConstants
        Fitted at the largest cutoff to consider (its basis is not changed here: ``fit.refit(cutoff2=...)`` narrows
        it to the chosen one without a pass over the frames).
    minimum : float, optional
        The shortest acceptable cutoff, A: the range of the potential that made the run, when it is known. Shorter
        rows are in the table but never chosen; when the fit's cutoff is shorter than it (a supercell too small for
        the potential), the largest row is chosen and a note says so.
    qpoints : array_like (nq, 3), optional
        Reduced q at which the frequencies are compared; default the special points of the lattice but Gamma and
        the points half-way to them (``X/2``).
    labels : list of str, optional
        Names of ``qpoints``.
    n_resamples : int
        Block-bootstrap resamples (paired over the rows).
    seed : int or None
    level : float
        A row agrees with the reference (the longest well-determined row) when every frequency is within ``z``
        standard errors of the difference (or within :data:`ROUNDOFF` of the largest frequency: exact data), ``z``
        chosen so that m frequencies that have all converged pass together with probability 1 - ``level``
        (Bonferroni, m the distinct frequencies compared): a maximum over many frequencies is not one frequency.
    z : float, optional
        That threshold, given instead of ``level``.
    rtol, atol : float
        ... or the frequency agrees when it is within the larger of ``rtol`` times the reference row's frequency and
        ``atol`` (THz) of it: converged to what a user can resolve, however small the error bars (each frequency by
        either criterion). 0 and 0: the statistical test alone.

    Returns
    -------
    CutoffConvergence
    """
    if qpoints is None:
        q, labels = _special_q(fit.primitive_, fit.symprec_used_)
    else:
        q = np.atleast_2d(np.asarray(qpoints, float))
        labels = list(labels) if labels is not None else [str(np.round(x, 4).tolist()) for x in q]
    scan = scan_cutoffs(fit, n_resamples=n_resamples, seed=seed)
    nu, S = _row_frequencies(fit, q, scan)
    notes = []
    rows = _compare_rows(scan, nu, S, level, z, rtol, atol, notes)
    known = minimum is not None and np.isfinite(minimum)
    floor = _potential_floor(scan, rows.ref, float(minimum), notes) if known else 0
    chosen, chosen_test, converged, decided = _choose_row(scan, rows, floor, rtol, atol, notes)
    cut = float(np.floor(scan.cutoff[chosen] * 1000.0) / 1000.0)     # to 0.001 A, never beyond the fitted cutoff
    if known and float(minimum) <= scan.cutoff[-1] and chosen == floor:
        cut = max(cut, float(minimum))          # the same shells: the cutoff printed is the potential's
    table = _convergence_table(scan, rows, q, labels, cut, chosen_test, minimum, level, rtol, atol, converged, decided)
    return CutoffConvergence(table=table, cutoff2=cut, converged=converged, notes=tuple(notes))


def _row_frequencies(fit, q, scan) -> tuple:
    """The frequencies (THz) at ``q`` of every row of the ``scan`` (n, nq, nb), and of its bootstrap resamples (n,
    n_resamples, nq, nb; None with fewer than two). D(q) is linear in the order-2 parameters: the fit's own matrix (the
    dipole-dipole part included) plus the basis tensors' matrices times the change of the parameters."""
    ph = Phonons(fit.harmonic_force_constants_)
    basis = fit.bases_[2]
    P = basis.n_params
    tensors, columns = basis.compact_columns(np.eye(P))                   # on the atoms the basis reaches
    Dk = ph.dm.of_constants(tensors, q, columns=columns)
    D0 = ph.dynamical_matrix(q)
    p0 = fit.params_[2]

    Dflat = np.ascontiguousarray(np.moveaxis(Dk, 1, 0)).reshape(P, -1)     # (P, nq 3n 3n)

    def frequencies(p):
        dp = np.asarray(p - p0, float)
        D = D0 + (dp.reshape(-1, P) @ Dflat).reshape(dp.shape[:-1] + D0.shape)
        return frequencies_from_eigenvalues(np.linalg.eigvalsh(D))

    n = len(scan.cutoff)
    nu = frequencies(scan.params)                                        # (n, nq, nb)
    have_err = scan.samples.shape[1] >= 2
    S = np.stack([frequencies(scan.samples[r]) for r in range(n)]) if have_err else None
    return nu, S


@dataclass(frozen=True)
class _Rows:
    """Every row of the scan compared with the reference row ``ref`` (the longest well-determined one): frequencies
    ``nu``, their standard errors ``err``, the differences ``shift`` and their paired errors ``serr`` (THz, (n, nq,
    nb)); per row the largest difference in standard errors and relative to the reference's frequency, whether
    every frequency agrees by the statistical test, by the tolerance, by either; the threshold ``z`` and the number
    of ``distinct`` frequencies it was set for; ``have_err``: whether there were error bars."""
    ref: int
    nu: np.ndarray
    err: np.ndarray
    shift: np.ndarray
    serr: np.ndarray
    largest_z: np.ndarray
    largest_rel: np.ndarray
    agrees: np.ndarray
    agrees_test: np.ndarray
    agrees_tol: np.ndarray
    z: float
    distinct: int
    have_err: bool


def _compare_rows(scan, nu, S, level, z, rtol, atol, notes: list) -> _Rows:
    """Compare every row's frequencies ``nu`` (resamples ``S``) with the reference row's (:class:`_Rows`); a note when
    the longest rows are under-determined or ill-conditioned."""
    n = len(scan.cutoff)
    have_err = S is not None
    usable = (scan.rank == scan.n_params) & (scan.condition_number <= COND_WARN)
    ref = int(np.flatnonzero(usable)[-1]) if usable.any() else n - 1
    if ref < n - 1:
        notes.append(f"the fits beyond {scan.cutoff[ref]:.3g} A are under-determined or ill-conditioned: more frames "
                     "would tell them apart")
    shift = nu - nu[ref]
    distinct = int((degenerate_labels(nu[ref]).max(axis=1) + 1).sum())
    if z is None:
        from scipy.special import ndtri             # the normal quantile, as scipy.stats.norm.isf computes it,
        z = float(-ndtri(level / (2.0 * distinct)))  # without importing scipy.stats (a second of every fit)
    if have_err:
        err = bootstrap_std(S, scan.n_segments, axis=1)
        serr = bootstrap_std(S - S[ref][None], scan.n_segments, axis=1)
    else:
        err = serr = np.full_like(nu, np.nan)
    # exact data have error bars of round-off: a shift within ROUNDOFF of the largest frequency agrees as well
    roundoff = ROUNDOFF * max(float(np.abs(nu[ref]).max()), 1e-300)
    # what a user can resolve: the larger of rtol of the frequency and atol
    tol = np.maximum(float(rtol) * np.abs(nu[ref]), float(atol))[None]
    with np.errstate(divide="ignore", invalid="ignore"):
        zs = np.where(np.abs(shift) <= roundoff, 0.0, np.where(serr > 0, np.abs(shift) / serr, np.inf))
        by_test = np.abs(shift) <= z * np.nan_to_num(serr) + roundoff
        by_tol = np.abs(shift) <= np.maximum(tol, roundoff)
    largest_z = zs.reshape(n, -1).max(axis=1)
    largest_z[ref + 1:] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        largest_rel = np.where(np.abs(nu[ref]) > 0, np.abs(shift) / np.abs(nu[ref]), 0.0).reshape(n, -1).max(axis=1)

    def rows(ok):
        r = ok.reshape(n, -1).all(axis=1)
        r[ref + 1:] = False
        r[ref] = True
        return r
    return _Rows(ref=ref, nu=nu, err=err, shift=shift, serr=serr, largest_z=largest_z, largest_rel=largest_rel,
                 agrees=rows(by_test | by_tol),                   # each frequency by either criterion
                 agrees_test=rows(by_test), agrees_tol=rows(by_tol), z=z, distinct=distinct, have_err=have_err)


def _potential_floor(scan, ref: int, minimum: float, notes: list) -> int:
    """The first row that holds the potential's range ``minimum`` (Å): its cutoff reaches it or its next shell lies
    beyond it; the reference row ``ref``, with a note, when no row up to it does."""
    nxt = np.concatenate([scan.shell[1:], [-np.inf]])
    reach = np.flatnonzero((scan.cutoff >= minimum - SHELL_TOL) | (nxt > minimum + SHELL_TOL))
    if reach.size == 0 or reach[0] > ref:
        notes.append(f"the potential reaches {minimum:.4g} A but the fit holds pairs only to "
                     f"{scan.cutoff[ref]:.4g} A (half the shortest supercell vector): a larger supercell would "
                     "hold its range")
        return ref
    return int(reach[0])


def _choose_row(scan, rows: _Rows, floor: int, rtol, atol, notes: list) -> tuple:
    """The row chosen (the shortest from which every row up to the reference agrees, not below ``floor``), the row the
    statistical test alone would choose, whether the frequencies converged and what decided; notes when there are no
    error bars or the two longest rows disagree."""
    ref, agrees = rows.ref, rows.agrees

    def walk(ok):
        """The shortest row from which every row up to the reference agrees, not below the floor."""
        c = ref
        while c - 1 >= floor and ok[c - 1]:
            c -= 1
        return c
    converged = True
    chosen = chosen_test = ref
    if not rows.have_err:
        converged = False
        decided = "no error bars: the longest row"
        notes.append("too few time segments for error bars: the largest cutoff is used")
    else:
        chosen, chosen_test = walk(agrees), walk(rows.agrees_test)
        decided = "the statistical test" if chosen == chosen_test else "the tolerance"
        if ref >= 1 and not agrees[ref - 1]:
            converged = False
            decided = "none: the longest row"
            notes.append(f"the frequencies still move between the two largest cutoffs ({scan.cutoff[ref - 1]:.3g} and "
                         f"{scan.cutoff[ref]:.3g} A: up to {np.abs(rows.shift[ref - 1]).max():.3g} THz, "
                         f"{rows.largest_z[ref - 1]:.1f} standard errors, beyond max({100 * rtol:g} %, {atol:g} THz)): "
                         "a larger supercell would show whether they have converged")
        elif chosen == floor and floor > 0 and agrees[floor - 1]:
            decided += " and the potential's range"
    return chosen, chosen_test, converged, decided


def _convergence_table(scan, rows: _Rows, q, labels, cut, chosen_test, minimum, level, rtol, atol, converged,
                       decided):
    """The table of :class:`CutoffConvergence`: one row per cutoff of the ``scan``, compared in ``rows``."""
    import xarray as xr
    nu, err, shift, serr, z, ref, n = rows.nu, rows.err, rows.shift, rows.serr, rows.z, rows.ref, len(scan.cutoff)
    largest_z, largest_rel, distinct = rows.largest_z, rows.largest_rel, rows.distinct
    agrees, agrees_test, agrees_tol = rows.agrees, rows.agrees_test, rows.agrees_tol
    nb = nu.shape[-1]
    A, thz, evA = {"units": "Angstrom"}, {"units": "THz"}, {"units": "eV/Angstrom"}
    return xr.Dataset(
        dict(n_params=("cutoff", scan.n_params, {"units": "1", "long_name": "free second-order parameters"}),
             r2=("cutoff", scan.r2, {"units": "1", "long_name": "R^2 of the forces, second order"}),
             rmse=("cutoff", scan.rmse, dict(evA, long_name="RMSE per force component, second order")),
             cv_rmse=("cutoff", scan.cv_rmse, dict(evA, long_name="cross-validation RMSE, second order")),
             condition_number=("cutoff", scan.condition_number, {"units": "1"}),
             frequency=(("cutoff", "q", "branch"), nu, thz),
             frequency_err=(("cutoff", "q", "branch"), err, dict(thz, long_name="block-bootstrap standard error")),
             difference=(("cutoff", "q", "branch"), shift, dict(thz, long_name="frequency minus the reference "
                                                                                 "row's")),
             difference_err=(("cutoff", "q", "branch"), serr, dict(thz, long_name="paired bootstrap standard error of "
                                                                              "the difference")),
             largest_difference=("cutoff", np.abs(shift).reshape(n, -1).max(axis=1), thz),
             largest_z=("cutoff", largest_z, {"units": "1", "long_name": "largest |difference| / difference_err"}),
             largest_relative_difference=("cutoff", largest_rel, {"units": "1", "long_name": "largest |difference| "
                                                                  "/ the reference row's frequency"}),
             agrees=("cutoff", agrees, {"units": "1", "long_name": f"every |difference| within {z:g} difference_err "
                                                                   f"or within max({rtol:g} frequency, {atol:g} THz)"}),
             agrees_statistically=("cutoff", agrees_test, {"units": "1", "long_name": f"every |difference| within "
                                                                                      f"{z:g} difference_err"}),
             agrees_within_tolerance=("cutoff", agrees_tol, {"units": "1", "long_name": f"every |difference| within "
                                                                                       f"max({rtol:g} frequency, "
                                                                                       f"{atol:g} THz)"}),
             selected_cutoff=((), cut, dict(A, long_name="the pair cutoff chosen")),
             statistical_cutoff=((), float(scan.cutoff[chosen_test]), dict(A, long_name="the row the statistical test "
                                                                              "alone would choose")),
             reference_cutoff=((), float(scan.cutoff[ref]), dict(A, long_name="the row the others are compared with")),
             potential_range=((), np.nan if minimum is None else float(minimum),
                              dict(A, long_name="the range of the potential (the shortest cutoff allowed)"))),
        coords=dict(cutoff=("cutoff", scan.cutoff, A), shell=("cutoff", scan.shell, dict(A, long_name="outermost "
                                                                                             "neighbour shell held")),
                    label=("q", np.array(labels, dtype=str)), qpoint=(("q", "reduced"), q),
                    branch=("branch", np.arange(nb))),
        attrs=dict(z=float(z), level=float(level), rtol=float(rtol), atol=float(atol), distinct_frequencies=distinct,
                   n_resamples=int(scan.samples.shape[1]), blocking_ratio=scan.blocking_ratio,
                   converged=int(converged), decided_by=decided,
                   rule="the smallest cutoff from which every row's frequencies at the q points agree with the "
                        "reference row's, each within z paired standard errors or within max(rtol times the "
                        "frequency, atol THz), not below the potential's range"))
