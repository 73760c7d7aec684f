"""Scattering weights of the species in a structure factor: equal weights, or numbers the user gives.

With weights f_s the density becomes rho(q) = sum_j f_{s(j)} exp(i q.r_j), so a partial correlation of the species pair
(A, B) is multiplied by Re(conj(f_A) f_B) and the self (incoherent) part of species A by |f_A|^2; the totals are the
sums of the weighted partials. Weights may depend on |q| (arrays over the q-points), as X-ray form factors do.
"""
from __future__ import annotations

import numpy as np

__all__ = ["species_weights", "weight_pairs"]


def _as_array(value, nq: int, what: str) -> np.ndarray:
    try:
        a = np.asarray(value, dtype=complex)
    except (TypeError, ValueError):
        raise ValueError(f"the weight of {what} must be a number or an array over the q-points, not {value!r}") \
            from None
    if a.ndim == 0:
        a = np.full(nq, complex(a))
    if a.shape != (nq,) or not np.isfinite(a).all():
        raise ValueError(f"the weight of {what} must be a finite number or an array of one value per q-point "
                         f"({nq}), not of shape {a.shape}")
    return a


def species_weights(weights, species: list[str], nq: int) -> tuple[dict, dict, str]:
    """Coherent and incoherent weight of every species at every q.

    Parameters
    ----------
    weights : None or dict
        None: every species weighs 1 (the unweighted functions, as dynasor computes them). A dict species -> number
        (or array over the q-points) weighs the coherent, current and incoherent parts alike; species -> (coherent,
        incoherent) weighs them apart (e.g. neutron scattering lengths b_coh, b_inc in fm).
    species : list of str
        The species of the run.
    nq : int
        Number of q-points.

    Returns
    -------
    coherent, incoherent : dict species -> ndarray (nq,) complex
    unit : str
        "1" for equal weights, else "weight^2" (the square of the weights' unit).

    Raises
    ------
    ValueError
        When a species of the run has no weight, or a weight is not a number.
    """
    if weights is None:
        one = np.ones(nq, dtype=complex)
        return {s: one for s in species}, {s: one for s in species}, "1"
    if not isinstance(weights, dict):
        raise ValueError(f"weights must be None or a dict species -> weight, not {type(weights).__name__}")
    missing = [s for s in species if s not in weights]
    if missing:
        raise ValueError(f"weights= has no weight for species {', '.join(missing)} (the run's species are "
                         f"{', '.join(species)}): give one for every species")
    coh, inc = {}, {}
    for s in species:
        w = weights[s]
        if isinstance(w, tuple) and len(w) == 2:          # (coherent, incoherent); an array over q is a list or ndarray
            c, i = w
        else:
            c = i = w
        coh[s] = _as_array(c, nq, f"species {s}")
        inc[s] = _as_array(i, nq, f"species {s} (incoherent)")
    return coh, inc, "weight^2"


def weight_pairs(coherent: dict, a: str, b: str) -> np.ndarray:
    """Re(conj(f_a) f_b) at every q: the factor of the partial (a, b)."""
    return np.real(np.conj(coherent[a]) * coherent[b])
