"""Scattering weights of the species in a structure factor: equal weights, tabulated neutron scattering lengths and
X-ray form factors, or numbers the user gives.

With weights f_s the density becomes rho(q) = sum_j f_{s(j)} exp(i q.r_j), so a partial correlation of the species pair
(A, B) is multiplied by Re(conj(f_A) f_B) and the self (incoherent) part of species A by |f_A|^2; the totals are the
sums of the weighted partials. Weights may depend on |q| (arrays over the q-points), as X-ray form factors do.

Tables shipped in ``trajmodes/data/`` (provenance in its README.md):

- neutrons: bound coherent and incoherent scattering lengths in fm of V. F. Sears, Neutron News 3 (3), 26 (1992),
  the NIST table, for elements (``Ni``) and isotopes (``58Ni``; ``D``, ``T`` for 2H, 3H); complex lengths of
  absorbing nuclei are kept complex;
- X-rays: the atomic form factor f0 of D. Waasmaier and A. Kirfel, Acta Cryst. A51, 416 (1995), five Gaussians and a
  constant in s = sin(theta)/lambda = |q| / (4 pi) (q in rad/Å, 2 pi included), for atoms and ions (``Fe2+``).
"""
from __future__ import annotations

import csv
from functools import lru_cache
from importlib.resources import files

import numpy as np

__all__ = ["species_weights", "weight_pairs", "neutron_lengths", "xray_form_factor", "TABLES"]

#: the tables ``weights=`` takes by name, with what they hold
TABLES = {"neutron": "neutron scattering lengths b_coh, b_inc (fm) of V. F. Sears, Neutron News 3, 26 (1992)",
          "xray": "X-ray form factors f0(|q|) (electrons) of D. Waasmaier and A. Kirfel, Acta Cryst. A51, 416 (1995)"}
#: largest s = |q| / (4 pi) (1/Angstrom) of the Waasmaier-Kirfel fit
XRAY_S_MAX = 6.0
_ALIASES = {"D": "2H", "T": "3H"}


def _rows(name: str) -> list[dict]:
    with files("trajmodes").joinpath("data", name).open("r") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


@lru_cache(maxsize=None)
def _neutron_table() -> dict:
    num = lambda x: float(x) if x else 0.0                                  # noqa: E731
    return {r["species"]: (complex(num(r["b_coh_re"]), num(r["b_coh_im"])),
                           complex(num(r["b_inc_re"]), num(r["b_inc_im"])) if r["b_inc_re"] else None)
            for r in _rows("neutron_sears1992.csv")}


@lru_cache(maxsize=None)
def _xray_table() -> dict:
    return {r["species"]: np.array([float(r[k]) for k in ("a1", "a2", "a3", "a4", "a5", "b1", "b2", "b3", "b4", "b5",
                                                          "c")]) for r in _rows("xray_waasmaier_kirfel1995.csv")}


def _isotope_key(name: str) -> str:
    """``58Ni``, ``Ni58``, ``Ni-58`` and ``58-Ni`` as the table's ``58Ni``; D and T as 2H and 3H."""
    import re
    name = _ALIASES.get(name, name)
    m = re.fullmatch(r"(\d+)-?([A-Za-z]{1,2})|([A-Za-z]{1,2})-?(\d+)", name)
    if m:
        mass, sym = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        return f"{mass}{sym.capitalize()}"
    return name


def _unknown(what: str, species: str, table: str, known) -> ValueError:
    import difflib
    near = difflib.get_close_matches(species, list(known), n=3, cutoff=0.6)
    hint = f" (close: {', '.join(near)})" if near else ""
    return ValueError(f"species {species!r} is not in the {what} table ({table}){hint}: name the species by element "
                      f"or isotope (species= / --species, e.g. Ni or 58Ni), or give its weight yourself, "
                      f"weights={{{species!r}: value, ...}}")


def neutron_lengths(species: str) -> tuple[complex, complex]:
    """Bound coherent and incoherent neutron scattering lengths of an element or isotope, fm.

    Parameters
    ----------
    species : str
        Element (``"Ni"``: natural isotope mixture) or isotope (``"58Ni"``, ``"Ni58"``, ``"D"``).

    Returns
    -------
    b_coh, b_inc : complex
        fm, as tabulated by V. F. Sears, Neutron News 3, 26 (1992). For an element of several isotopes b_inc is
        sqrt(sigma_inc / 4 pi) (spin and isotope incoherence; its sign is not defined, only |b_inc|^2 enters).

    Raises
    ------
    ValueError
        For a species not in the table, or with no incoherent length or cross section there.
    """
    table = _neutron_table()
    key = _isotope_key(str(species))
    if key not in table:
        raise _unknown("neutron", str(species), "Sears 1992", table)
    coh, inc = table[key]
    if inc is None:
        raise ValueError(f"the neutron table (Sears 1992) gives no incoherent scattering length or cross section for "
                         f"{species!r}: give weights={{{str(species)!r}: (b_coh, b_inc), ...}} yourself")
    return coh, inc


def xray_form_factor(species: str, q_norm) -> np.ndarray:
    """X-ray atomic form factor f0 (electrons) of an atom or ion at wave-vector lengths ``q_norm`` (rad/Å).

    f0(s) = sum_i a_i exp(-b_i s^2) + c with s = sin(theta)/lambda = |q| / (4 pi) (1/Å), the parametrisation
    of D. Waasmaier and A. Kirfel, Acta Cryst. A51, 416 (1995), valid up to s = 6 / Å (|q| = 75.4 rad/Å).

    Parameters
    ----------
    species : str
        Atom (``"Fe"``) or ion (``"Fe2+"``, ``"O1-"``) of the table.
    q_norm : float or array_like
        |q|, rad/Å (2 pi included).

    Raises
    ------
    ValueError
        For a species not in the table, or |q| beyond the fit's range.
    """
    table = _xray_table()
    if species not in table:
        raise _unknown("X-ray form factor", str(species), "Waasmaier and Kirfel 1995", table)
    s = np.asarray(q_norm, float) / (4 * np.pi)
    if np.any(np.abs(s) > XRAY_S_MAX):
        raise ValueError(f"|q| up to {4 * np.pi * np.abs(s).max():.4g} rad/Angstrom is beyond the Waasmaier-Kirfel "
                         f"form factors' range (|q| <= {4 * np.pi * XRAY_S_MAX:.4g} rad/Angstrom, s = |q|/4pi <= 6/A)")
    p = table[species]
    return np.exp(-np.multiply.outer(s * s, p[5:10])) @ p[:5] + p[10]


def _tabulated(name: str, species: list[str], q_norm) -> dict:
    """weights= "neutron" / "xray" as a dict species -> (coherent, incoherent)."""
    if name == "neutron":
        return {s: neutron_lengths(s) for s in species}
    if q_norm is None:
        raise ValueError("X-ray form factors need the |q| of every q-point")
    return {s: (f, f) for s in species for f in [xray_form_factor(s, q_norm)]}


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


def species_weights(weights, species: list[str], nq: int, q_norm=None) -> tuple[dict, dict, str]:
    """Coherent and incoherent weight of every species at every q.

    Parameters
    ----------
    weights : None, "neutron", "xray" or dict
        None: every species weighs 1 (the unweighted functions, as dynasor computes them). "neutron": the bound
        scattering lengths b_coh (coherent and currents) and b_inc (incoherent) of Sears 1992 in fm
        (:func:`neutron_lengths`). "xray": the form factor f0(|q|) of Waasmaier and Kirfel 1995 in electrons, for
        the coherent, current and self (incoherent) parts alike (:func:`xray_form_factor`). A dict species -> number
        (or array over the q-points) weighs the coherent, current and incoherent parts alike; species -> (coherent,
        incoherent) weighs them apart.
    species : list of str
        The species of the run.
    nq : int
        Number of q-points.
    q_norm : array_like (nq,), optional
        |q| of the q-points, rad/Å; needed for "xray".

    Returns
    -------
    coherent, incoherent : dict species -> ndarray (nq,) complex
    unit : str
        "1" for equal weights, "fm^2" for neutrons, "electrons^2" for X-rays, else "weight^2" (the square of the
        weights' unit).

    Raises
    ------
    ValueError
        When a species of the run has no weight or is not in the table, or a weight is not a number.
    """
    if weights is None:
        one = np.ones(nq, dtype=complex)
        return {s: one for s in species}, {s: one for s in species}, "1"
    unit = "weight^2"
    if isinstance(weights, str):
        if weights not in TABLES:
            raise ValueError(f"weights={weights!r}: give None, one of {', '.join(map(repr, TABLES))} or a dict "
                             "species -> weight")
        unit = "fm^2" if weights == "neutron" else "electrons^2"
        weights = _tabulated(weights, species, q_norm)
    if not isinstance(weights, dict):
        raise ValueError(f"weights must be None, 'neutron', 'xray' or a dict species -> weight, not "
                         f"{type(weights).__name__}")
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
    return coh, inc, unit


def weight_pairs(coherent: dict, a: str, b: str) -> np.ndarray:
    """Re(conj(f_a) f_b) at every q: the factor of the partial (a, b)."""
    return np.real(np.conj(coherent[a]) * coherent[b])
