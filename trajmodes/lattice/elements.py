"""Standard atomic masses (amu) by element symbol."""
from __future__ import annotations

import numpy as np


def _table() -> dict[str, float]:
    """MDAnalysis' table of standard masses, read from its module file (``MDAnalysis/guesser/tables.py``, which
    imports nothing of MDAnalysis) without importing the package: that costs about a second of serial start-up in
    every command that reads a trajectory. Where the file is not there, the module as MDAnalysis imports it."""
    import importlib.util
    import os
    import sys
    spec = None if "MDAnalysis" in sys.modules else importlib.util.find_spec("MDAnalysis")
    path = os.path.join(spec.submodule_search_locations[0], "guesser", "tables.py") \
        if spec is not None and spec.submodule_search_locations else None
    if path is not None and os.path.isfile(path):
        file_spec = importlib.util.spec_from_file_location("trajmodes_mdanalysis_mass_table", path)
        module = importlib.util.module_from_spec(file_spec)
        file_spec.loader.exec_module(module)
        masses = module.masses
    else:
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
