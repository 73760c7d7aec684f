"""Maximum-likelihood fit of a line-shape model to a spectral estimate (the Whittle likelihood).

The bins of a periodogram averaged over K segments are, to a good approximation, independent and Gamma
distributed about the true spectrum m with relative spread 1/sqrt(K); their negative log-likelihood is, up to
constants, sum(log m + y / m) (P. Whittle, J. R. Stat. Soc. B 19, 38 (1957); for line fits see
A. Barret and S. Vaughan, Astrophys. J. 746, 131 (2012)).
"""
from __future__ import annotations

import numpy as np

__all__ = ["model_jacobian", "least_squares_start", "whittle_fit", "whittle_covariance", "START_EVALUATIONS"]


def model_jacobian(func, jac, x, pars):
    """d func / d pars at ``x``, shape (len(x), 4): ``jac`` where given, else central differences."""
    if jac is not None:
        return jac(x, *pars)
    h = 1e-7 * np.maximum(np.abs(pars), 1e-12)
    return np.stack([(func(x, *(pars + h * (np.arange(4) == i))) - func(x, *(pars - h * (np.arange(4) == i))))
                     / (2 * h[i]) for i in range(4)], axis=1)


#: function evaluations of the least-squares start of a fit (the Whittle step refines it): lines far narrower than
#: the resolution drive the width to its bound, where trust-region least squares creeps for thousands of steps
START_EVALUATIONS = 300


def least_squares_start(func, jac, x, y, p0, bounds):
    """Least-squares parameters of ``func`` to ``y`` from ``p0`` within ``bounds``, after at most
    :data:`START_EVALUATIONS` evaluations (the start of the Whittle fit)."""
    from scipy.optimize import least_squares
    j = None if jac is None else (lambda th: jac(x, *th))
    res = least_squares(lambda th: func(x, *th) - y, np.clip(p0, bounds[0], bounds[1]),
                        jac=j if j is not None else "2-point", bounds=bounds, method="trf",
                        max_nfev=START_EVALUATIONS)
    if not np.all(np.isfinite(res.x)):
        raise RuntimeError("least squares diverged")
    return res.x


def whittle_fit(func, jac, x, y, p0, bounds, max_iter: int = 200, rtol: float = 1e-10):
    """Parameters maximising the Whittle likelihood of ``y`` under the model ``m``: minimise sum(log m + y / m).

    Fisher scoring (for Gamma-distributed bins the expected Hessian is J^T diag(1/m^2) J, the gradient
    J^T ((m - y) / m^2)), Levenberg-damped, with a backtracking line search kept inside ``bounds``: a handful of
    small linear solves per fit, where a general-purpose quasi-Newton minimiser took tens of iterations.
    """
    lo, hi = (np.asarray(b, float) for b in bounds)
    floor = 1e-12 * max(float(np.max(y)), 1e-300)

    def nll(th):
        m = np.maximum(func(x, *th), floor)
        return float(np.sum(np.log(m) + y / m))

    start = np.clip(np.asarray(p0, float), lo, hi)
    th, cur = start, nll(start)
    lam = 1e-3
    for _ in range(max_iter):
        m = np.maximum(func(x, *th), floor)
        J = model_jacobian(func, jac, x, th)
        w = 1.0 / (m * m)
        g = J.T @ ((m - y) * w)
        F = (J * w[:, None]).T @ J
        d = np.diag(F).copy()
        d[d <= 0] = 1.0
        # parameters on a bound that the gradient pushes outwards stay there (projected Newton)
        free = ~(((th <= lo) & (g > 0)) | ((th >= hi) & (g < 0)))
        if not free.any():
            break
        Ff, gf = F[np.ix_(free, free)], g[free]
        improved = False
        while lam < 1e12:
            step = np.zeros_like(th)
            try:
                step[free] = np.linalg.solve(Ff + lam * np.diag(d[free]), -gf)
            except np.linalg.LinAlgError:
                lam *= 10.0
                continue
            cand = np.clip(th + step, lo, hi)
            val = nll(cand)
            if np.isfinite(val) and val <= cur:
                improved = True
                break
            lam *= 10.0
        if not improved:
            break
        change, moved = abs(cur - val), np.abs(cand - th)
        th, cur = cand, val
        lam = max(lam / 10.0, 1e-9)
        if change <= rtol * max(abs(cur), 1.0) and np.all(moved <= 1e-7 * np.maximum(np.abs(th), 1e-12)):
            break
        if change <= 1e-14 * max(abs(cur), 1.0):
            break
    return th if np.isfinite(cur) and cur <= nll(start) else start


def whittle_covariance(func, jac, x, pars, rel):
    """Inverse Fisher information of the Whittle likelihood: bins with relative spread ``rel``
    (Gamma shape 1/rel^2) give F = sum J^T J / (rel m)^2."""
    m = func(x, *pars)
    if np.any(m <= 0):
        return None
    J = model_jacobian(func, jac, x, pars) / (rel * m)[:, None]
    try:
        return np.linalg.inv(J.T @ J)
    except np.linalg.LinAlgError:
        return None
