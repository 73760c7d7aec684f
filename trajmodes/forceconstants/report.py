"""What the force-constant fit tells about itself: warnings of an under-determined or ill-conditioned fit, and its
scores as a text table."""
from __future__ import annotations

import warnings

import numpy as np

__all__ = ["COND_WARN", "warn_ill_posed", "format_scores"]

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


def format_scores(fit) -> str:
    """The scores of a fitted :class:`~trajmodes.forceconstants.fit.EffectiveForceConstants` as a small text table."""
    s = fit.scores_
    lines = [f"{'order':>5} {'params':>7} {'R^2':>12} {'RMSE (eV/A)':>12} {'CV RMSE':>12} {'cond':>10}"]
    for i, o in enumerate(s.order.values):
        lines.append(f"{int(o):>5} {int(s.n_params[i]):>7} {float(s.r2[i]):>12.8f} {float(s.rmse[i]):>12.6f} "
                     f"{float(s.cv_rmse[i]):>12.6f} {float(s.condition_number[i]):>10.3g}")
    lines.append(f"sigma_A = {float(s.sigma_a):.4f} ({s.attrs['mode']}); {int(s.n_frames)} frames, "
                 f"{int(s.n_rows)} force components, {s.attrs['folds']}-fold CV ({s.attrs['cv']})")
    extra = []
    if np.isfinite(getattr(fit, "temperature_", np.nan)):
        extra.append(f"mean kinetic temperature {fit.temperature_:.2f} K")
    if np.isfinite(fit.energies_["potential"]):
        n = fit.supercell_.n_atoms
        extra.append(f"<U_MD> = {fit.energies_['potential'] / n:.6f} eV/atom, U_0 = <U_MD - 1/2 u Phi u> = "
                     f"{fit.energies_['baseline'] / n:.6f} eV/atom")
    if extra:
        lines.append("; ".join(extra))
    return "\n".join(lines)
