"""Primitive cells of common crystal structures from their lattice parameters.

=============  =====  ===========================================================================
name           atoms  parameters
=============  =====  ===========================================================================
fcc, bcc, sc   1      a (cube edge)
diamond        2      a (cube edge)
zincblende     2      a; species (A, B)
rocksalt       2      a; species (A, B)
hcp            2      a, c (default ideal c/a = sqrt(8/3))
lonsdaleite    4      a, c (default ideal c/a = sqrt(8/3)), u (internal coordinate, default the ideal 3/8)
wurtzite       4      a, c, u (default 3/8); species (A, B)
=============  =====  ===========================================================================

Hexagonal cells: a1 = a (1, 0, 0), a2 = a (-1/2, sqrt(3)/2, 0), a3 = c (0, 0, 1). Lonsdaleite (hexagonal diamond) and
wurtzite share the positions (1/3, 2/3, 0), (2/3, 1/3, 1/2) for the first species and (1/3, 2/3, u), (2/3, 1/3, 1/2 + u)
for the second; the ideal tetrahedral u is 3/8. Their c/a and u are free: both relax with temperature.
"""
from __future__ import annotations

import numpy as np

from trajmodes.lattice.crystal import Crystal

__all__ = ["prototype", "PROTOTYPES", "CUBE_EDGE", "TWO_SPECIES", "default_species"]

_FCC = np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]], float) / 2
_BCC = np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]], float) / 2
PROTOTYPES = ("fcc", "bcc", "sc", "diamond", "zincblende", "rocksalt", "hcp", "lonsdaleite", "wurtzite")
#: the cube edge a of the cubic structures in units of the length of their primitive vectors
CUBE_EDGE = {"fcc": np.sqrt(2.0), "diamond": np.sqrt(2.0), "zincblende": np.sqrt(2.0), "rocksalt": np.sqrt(2.0),
             "bcc": 2.0 / np.sqrt(3.0), "sc": 1.0}


#: the structures of two species (A, B): these prototypes', and L1_2 A3B (:func:`trajmodes.lattice.cubic.cubic_lattice`)
TWO_SPECIES = ("zincblende", "rocksalt", "wurtzite", "l12")


def default_species(structure: str, elements) -> list[str]:
    """The species of a ``structure`` crystal (a name of :data:`PROTOTYPES`, or ``l12``) when a potential names the
    ``elements`` and the user none: the first two for the structures of two species (:data:`TWO_SPECIES`), else the
    first. An empty ``elements`` (a pair potential names none) or too few are refused, saying what to give."""
    elements = list(elements or [])
    n = 2 if str(structure).lower() in TWO_SPECIES else 1
    if not elements:
        raise ValueError("the potential names no element: give the element(s) of the crystal (--species)")
    if len(elements) < n:
        raise ValueError(f"{structure} needs two species (A, B); the potential names only {elements[0]}: give both")
    return elements[:n]


def _hexagonal(a: float, c: float) -> np.ndarray:
    return np.array([[a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, c]])


def prototype(name: str, species, a: float, c: float | None = None, u: float | None = None,
              masses=None) -> Crystal:
    """The primitive cell of structure ``name`` (see the module table) with lattice parameters in Å.

    Parameters
    ----------
    name : str
        One of :data:`PROTOTYPES`.
    species : str or sequence of str
        The element (one-species structures) or (A, B) for zincblende, rocksalt and wurtzite.
    a, c : float
        Lattice parameters, Å (``c`` for the hexagonal structures only).
    u : float, optional
        Internal coordinate of lonsdaleite and wurtzite (fraction of c; default the ideal 3/8).
    masses : sequence of float, optional
        amu, per species (default: the standard masses).
    """
    name = str(name).lower()
    sp = [species] if isinstance(species, str) else list(species)
    two = name in ("zincblende", "rocksalt", "wurtzite")
    if name not in PROTOTYPES:
        raise ValueError(f"unknown structure {name!r}: choose one of {', '.join(PROTOTYPES)}")
    if len(sp) != (2 if two else 1):
        raise ValueError(f"{name} needs {'two species (A, B)' if two else 'one species'}, got {sp}")
    if not a > 0 or (c is not None and not c > 0):
        raise ValueError(f"lattice parameters must be positive, got a={a}, c={c}")
    hexagonal = name in ("hcp", "lonsdaleite", "wurtzite")
    if not hexagonal and (c is not None or u is not None):
        raise ValueError(f"{name} is cubic: give a only")
    A, B = sp[0], sp[-1]
    if name == "fcc":
        cell, frac, names = _FCC * a, [[0, 0, 0]], [A]
    elif name == "bcc":
        cell, frac, names = _BCC * a, [[0, 0, 0]], [A]
    elif name == "sc":
        cell, frac, names = np.eye(3) * a, [[0, 0, 0]], [A]
    elif name in ("diamond", "zincblende"):
        cell, frac, names = _FCC * a, [[0, 0, 0], [.25, .25, .25]], [A, B]
    elif name == "rocksalt":
        cell, frac, names = _FCC * a, [[0, 0, 0], [.5, .5, .5]], [A, B]
    else:
        c = a * np.sqrt(8.0 / 3.0) if c is None else float(c)
        cell = _hexagonal(a, c)
        if name == "hcp":
            if u is not None:
                raise ValueError("hcp has no internal coordinate u")
            frac, names = [[1 / 3, 2 / 3, .25], [2 / 3, 1 / 3, .75]], [A, A]
        else:
            u = 3.0 / 8.0 if u is None else float(u)
            frac = [[1 / 3, 2 / 3, 0], [2 / 3, 1 / 3, .5], [1 / 3, 2 / 3, u], [2 / 3, 1 / 3, .5 + u]]
            names = [A, A, B, B]
    frac = np.asarray(frac, float)
    mass = None if masses is None else [dict(zip(sp, masses))[s] for s in names]
    return Crystal(cell, frac @ cell, names, mass)
