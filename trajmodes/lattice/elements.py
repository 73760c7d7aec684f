"""Standard atomic masses (amu) by element symbol."""
from __future__ import annotations

import numpy as np


def _table() -> dict[str, float]:
    from MDAnalysis.guesser.tables import masses  # type: ignore
    return {k.capitalize(): float(v) for k, v in masses.items() if v > 0}


_MASSES: dict[str, float] | None = None


def _masses() -> dict[str, float]:
    global _MASSES
    if _MASSES is None:
        try:
            _MASSES = _table()
        except ImportError:  # older MDAnalysis
            from MDAnalysis.topology.tables import masses  # type: ignore
            _MASSES = {k.capitalize(): float(v) for k, v in masses.items() if v > 0}
    return _MASSES


def mass_of(symbol: str) -> float | None:
    """Standard atomic mass of an element symbol in amu, or None if unknown."""
    return _masses().get(str(symbol).strip().capitalize())


def element_from_mass(mass: float, tol: float = 0.05) -> str | None:
    """The element whose standard mass (amu) is within ``tol`` of ``mass``, or None.

    The table holds older standard atomic weights for some elements (Ti 47.88, Ge 72.61, Os 190.2) than those users
    copy today (IUPAC/CIAAW: 47.867, 72.630, 190.23): 0.05 amu takes both, and is less than half the distance between
    any two elements but Bi and Po (0.02 apart), which are named only within 0.01 of one of them."""
    near = sorted(_masses().items(), key=lambda kv: abs(kv[1] - mass))[:2]
    (sym, m), (_, m2) = near[0], near[1]
    if abs(m - mass) >= tol:
        return None
    if abs(m2 - mass) < tol and abs(m - mass) >= 0.01:
        return None                                     # two elements this close: only a near-exact mass names one
    return sym


def masses_of(species) -> np.ndarray | None:
    """Masses (amu) for an array of element symbols; None if any is not an element (each distinct symbol looked up
    once: 10^6 atoms of a few species)."""
    names, where = np.unique(np.asarray(species, dtype=str), return_inverse=True)
    table = [mass_of(s) for s in names]
    if any(m is None for m in table):
        return None
    return np.asarray(table, dtype=float)[where.reshape(-1)] if len(names) else np.empty(0)
