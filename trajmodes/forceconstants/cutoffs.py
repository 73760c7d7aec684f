"""The cutoffs of the force-constant fit (a distance in Å, or every pair / triplet of the supercell:
``"supercell"``, ``math.inf``, ``None`` for ``cutoff2``) as the basis takes them and as the scores show them.
"""
from __future__ import annotations

import numpy as np


__all__ = ["SUPERCELL", "whole_supercell", "basis_cutoff", "cutoff_length", "check_reaches_a_pair"]

#: the cutoff that asks for every pair / triplet of the supercell (as ``None`` for ``cutoff2``, ``math.inf``)
SUPERCELL = "supercell"


def whole_supercell(cutoff) -> bool:
    """Whether a cutoff setting asks for every cluster of the supercell ("supercell" or infinity)."""
    if isinstance(cutoff, str):
        return cutoff == SUPERCELL
    try:
        return float(cutoff) == np.inf
    except (TypeError, ValueError):
        return False


def basis_cutoff(cutoff):
    """The cutoff :func:`~trajmodes.forceconstants.clusters.build_basis` takes: None for the whole supercell."""
    return None if cutoff is None or whole_supercell(cutoff) else float(cutoff)


def cutoff_length(cutoff) -> float:
    """A cutoff as the scores' attribute: Å, infinity for the whole supercell."""
    return np.inf if cutoff is None or whole_supercell(cutoff) else float(cutoff)


def check_reaches_a_pair(basis, supercell, p2s) -> None:
    """Raise ValueError, saying what to do, when the order-2 ``basis`` (on the ideal ``supercell``, ``p2s`` its
    primitive atoms) holds no pair beyond each atom with itself: its cutoff reaches no neighbour, and the acoustic
    sum rule leaves nothing to fit. Checked before the pass over the frames."""
    if basis is None:
        return
    sites = np.asarray(basis.sites)
    if len(sites) and np.any(sites[:, 1] != np.asarray(p2s)[sites[:, 0]]):
        return
    from trajmodes.lattice.geometry import shortest_lattice_vector, shortest_vectors
    x = np.asarray(supercell.positions, float)
    d = np.linalg.norm(shortest_vectors(x - x[int(p2s[0])], supercell.cell), axis=1)
    nn = float(d[d > 1e-6].min()) if np.any(d > 1e-6) else np.inf
    half = 0.5 * shortest_lattice_vector(supercell.cell)
    cut = cutoff_length(basis.cutoff)
    if nn >= half - 1e-3:
        raise ValueError(
            f"the supercell ({supercell.n_atoms} atoms) is too small for its force constants: pairs are fitted without "
            f"two images of one pair only within half its shortest lattice vector ({half:.3f} A), and the nearest "
            f"neighbours sit {nn:.3f} A apart. Run the MD in a larger supercell, every lattice vector longer than "
            f"twice the pair distance the constants should reach (above {2 * nn:.2f} A for the nearest neighbours)")
    raise ValueError(f"the pair cutoff ({cut:.3f} A) reaches no neighbour: the nearest sits {nn:.3f} A away; give "
                     f"cutoff2 of at least {nn + 0.05:.2f} A (below {half:.3f} A, half the supercell's shortest "
                     "lattice vector)")
