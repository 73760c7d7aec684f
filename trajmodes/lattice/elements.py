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


def element_from_mass(mass: float, tol: float = 0.01) -> str | None:
    """The element whose standard mass (amu) is within ``tol`` of ``mass``, or None."""
    sym, m = min(_masses().items(), key=lambda kv: abs(kv[1] - mass))
    return sym if abs(m - mass) < tol else None


def masses_of(species) -> np.ndarray | None:
    """Masses (amu) for an array of element symbols; None if any is not an element (each distinct symbol looked up
    once: 10^6 atoms of a few species)."""
    names, where = np.unique(np.asarray(species, dtype=str), return_inverse=True)
    table = [mass_of(s) for s in names]
    if any(m is None for m in table):
        return None
    return np.asarray(table, dtype=float)[where.reshape(-1)] if len(names) else np.empty(0)
