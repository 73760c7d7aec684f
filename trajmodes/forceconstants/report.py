"""What the force-constant fit tells about itself: warnings of an under-determined or ill-conditioned fit, and its
scores as a text table."""
from __future__ import annotations

import warnings

import numpy as np

__all__ = ["COND_WARN", "warn_ill_posed", "format_scores", "format_cutoff_table", "value_error"]

#: condition number (of the column-equilibrated normal matrix) above which a warning is raised
COND_WARN = 1e12


def warn_ill_posed(mode: str, n, P, sizes, info, orders, n_frames) -> None:
    """Warn of an under-determined or ill-conditioned fit: ``n`` force components for ``P`` parameters (``sizes`` per
    order of ``orders``); ``info``: the (condition number, rank) of each system solved
    (:func:`~trajmodes.forceconstants.solve.fit_params`)."""
    seq = mode == "sequential" or len(orders) == 1
    systems = [(f"order-{o}", s) for o, s in zip(orders, sizes)] if seq else [("simultaneous", P)]
    for what, size in systems:
        if n < size:
            warnings.warn(f"under-determined fit: {n} force components ({n_frames} frames) for {size} "
                          f"parameters ({what} system: "
                          f"{', '.join(f'{s} of order {o}' for s, o in zip(sizes, orders))}); use more "
                          "frames or smaller cutoffs", UserWarning, stacklevel=3)
    checks = list(zip(info, orders, sizes)) if seq else [(info[-1], orders[-1], P)]
    for (cond, rank), o, s in checks:
        if rank < s or cond > COND_WARN:
            what = f"order-{o} system" if seq else "simultaneous system"
            warnings.warn(f"ill-conditioned fit: the {what} has condition number {cond:.3g} (rank {rank} of "
                          f"{s}); the displacements do not determine all parameters (more or hotter frames, "
                          "or smaller cutoffs)", UserWarning, stacklevel=3)


def format_scores(scores, temperature: float = float("nan"), potential: float = float("nan"),
                  baseline: float = float("nan")) -> str:
    """The scores of a force-constant fit as a small text table.

    Parameters
    ----------
    scores : xarray.Dataset
        A fit's ``scores_`` (:class:`~trajmodes.forceconstants.fit.EffectiveForceConstants`): per ``order``
        ``n_params``, ``r2``, ``rmse``, ``cv_rmse`` and ``condition_number``; ``sigma_a``, ``n_frames``, ``n_rows``;
        attributes ``mode``, ``folds`` and ``cv``.
    temperature : float
        The run's mean kinetic temperature, K (NaN: not shown).
    potential, baseline : float
        eV/atom: the mean MD potential energy <U_MD> and U_0 = <U_MD - 1/2 u Phi u> (NaN: not shown).
    """
    s = scores
    lines = [f"{'order':>5} {'params':>7} {'R^2':>12} {'RMSE (eV/A)':>12} {'CV RMSE':>12} {'cond':>10}"]
    for i, o in enumerate(s.order.values):
        lines.append(f"{int(o):>5} {int(s.n_params[i]):>7} {float(s.r2[i]):>12.8f} {float(s.rmse[i]):>12.6f} "
                     f"{float(s.cv_rmse[i]):>12.6f} {float(s.condition_number[i]):>10.3g}")
    lines.append(f"sigma_A = {float(s.sigma_a):.4f} ({s.attrs['mode']}); {int(s.n_frames)} frames, "
                 f"{int(s.n_rows)} force components, {s.attrs['folds']}-fold CV ({s.attrs['cv']})")
    extra = []
    if np.isfinite(temperature):
        extra.append(f"mean kinetic temperature {temperature:.2f} K")
    if np.isfinite(potential):
        extra.append(f"<U_MD> = {potential:.6f} eV/atom, U_0 = <U_MD - 1/2 u Phi u> = {baseline:.6f} eV/atom")
    if extra:
        lines.append("; ".join(extra))
    return "\n".join(lines)


def value_error(value: float, err: float, decimals: int = 3) -> str:
    """``value`` with its standard error in units of the last digit shown: ``3.688(15)`` for 3.688 +- 0.015."""
    if not np.isfinite(err):
        return f"{value:.{decimals}f}"
    return f"{value:.{decimals}f}({int(round(err * 10 ** decimals))})"


def _agrees_by(t, i: int) -> str:
    """Which criterion row ``i`` of a cutoff table agrees with the reference by: ``s.e.`` (every frequency within the
    paired error bars), ``tol`` (within the tolerance only), ``both``, ``mixed`` (each frequency by one or the other),
    ``no``."""
    if "agrees_statistically" not in t:
        return "s.e." if bool(t.agrees[i]) else "no"
    test, tol = bool(t.agrees_statistically[i]), bool(t.agrees_within_tolerance[i])
    return "both" if test and tol else "s.e." if test else "tol" if tol else "mixed" if bool(t.agrees[i]) else "no"


def format_cutoff_table(table, given: bool = False) -> str:
    """The convergence of a fit's frequencies with its pair cutoff (the ``table`` of
    :func:`~trajmodes.phonons.harmonic.convergence.cutoff_convergence`) as text: one row per neighbour shell with its
    parameters, cross-validation RMSE, the lowest frequency at every special point (THz, standard error in the last
    digits; the points half-way to them, labelled ``X/2``, are left out), the largest difference of any frequency from
    the reference row (THz, in paired standard errors and in per cent of the frequency) and by which criterion the row
    agrees with it, then what was chosen, by which criterion, and why.

    ``given``: the cutoff was set by the user (the table then reaches only to it, and nothing is chosen)."""
    t = table
    shown = [i for i, x in enumerate(t.label.values) if "/" not in str(x)] or list(range(t.sizes["q"]))
    labels = [str(t.label.values[i]) for i in shown]
    nu, err = t.frequency.values[:, shown, 0], t.frequency_err.values[:, shown, 0]
    chosen, ref = float(t.selected_cutoff), float(t.reference_cutoff)
    reach = float(t.potential_range)
    z = float(t.attrs["z"])
    rtol, atol = float(t.attrs.get("rtol", 0.0)), float(t.attrs.get("atol", 0.0))
    tolerance = f"max({100 * rtol:g} %, {atol:g} THz)"
    w = max(10, max(len(value_error(v, e)) for v, e in zip(nu.ravel(), err.ravel())) + 1)
    head = f"  {'r2 (A)':>7} {'shell':>7} {'params':>6} {'CV RMSE':>9}" + "".join(f"{x:>{w}}" for x in labels) + \
        "  agrees  largest difference (THz)"
    lines = ["pair cutoff: second-order fits at every neighbour shell from the one pass; lowest frequency (THz) at "
             "each special point with its standard error in the last digits; largest difference of any frequency from "
             f"the {ref:.4g} A row, in paired standard errors and per cent of the frequency", head]
    cuts = t.cutoff.values
    star = len(cuts) - 1 if given else int(np.flatnonzero(cuts <= chosen + 1e-3)[-1])     # the row chosen
    rel = t["largest_relative_difference"].values if "largest_relative_difference" in t else np.full(len(cuts), np.nan)
    for i, c in enumerate(cuts):
        holds = not np.isfinite(reach) or c >= reach - 1e-3 or (i + 1 < len(t.cutoff)
                                                                and float(t.shell[i + 1]) > reach + 1e-3)
        mark = "*" if i == star else " " if holds else "<"
        sh, zz, rr = float(t.largest_difference[i]), float(t.largest_z[i]), float(rel[i])
        pct = f", {100 * rr:.1f} %" if np.isfinite(rr) else ""
        is_ref = abs(c - ref) < 1e-9
        by = "" if is_ref or c > ref + 1e-9 else _agrees_by(t, i)
        shift = "reference" if is_ref else "" if not np.isfinite(sh) else \
            f"{sh:.4f} ({zz:.1f}{pct})" if np.isfinite(zz) else f"{sh:.4f}"          # no paired error: the shift alone
        lines.append(f"{mark} {c:>7.3f} {float(t.shell[i]):>7.3f} {int(t.n_params[i]):>6d} "
                     f"{float(t.cv_rmse[i]):>9.6f}" + "".join(f"{value_error(v, e):>{w}}" for v, e in
                                                             zip(nu[i], err[i])) + f"  {by:>6}  {shift}")
    notes = []
    if np.isfinite(reach):
        notes.append(f"<: shorter than the potential's range, {reach:.4g} A")
    if given:
        notes.append(f"*: the cutoff given, {t.cutoff.values[-1]:.4g} A")
    else:
        halves = t.sizes["q"] > len(shown)
        decided = str(t.attrs.get("decided_by", ""))
        stat = float(t["statistical_cutoff"]) if "statistical_cutoff" in t else np.nan
        why = ""
        if decided.startswith("the tolerance"):
            why = (f"; decided by the tolerance (the statistical test alone would take {stat:.4g} A: the longer "
                   "rows differ by more than their error bars, but by less than a user resolves)")
        elif decided.startswith("the statistical test"):
            why = "; decided by the statistical test"
        if decided.endswith("the potential's range"):
            why += " and the potential's range"
        notes.append(f"*: chosen, r2 = {chosen:.4g} A: the shortest cutoff from which every frequency at "
                     f"{', '.join(labels)}" + (" and half-way to them" if halves else "") +
                     f" agrees with the {ref:.4g} A fit's within {z:.2g} standard errors or within {tolerance}"
                     + (", not below the potential's range" if np.isfinite(reach) else "") + why)
    lines.append("; ".join(notes))
    lines.append(f"agrees: s.e. every frequency within {z:.2g} paired standard errors (the "
                 f"{100 * float(t.attrs.get('level', 0.05)):g} % level for the "
                 f"{int(t.attrs.get('distinct_frequencies', 0))} distinct frequencies), tol within {tolerance}, both, "
                 "mixed (each frequency by one or the other), no")
    return "\n".join(lines)
