"""A crystal structure snapshot: the reference that displacements are measured from."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Structure:
    """Atomic positions in a periodic cell.

    The positions come first and the cell second (``Crystal`` takes the cell first) because a snapshot may have no
    cell at all (``cell=None``); pass both by name where the code should read the same for either class.

    Parameters
    ----------
    positions : ndarray, shape (n_atoms, 3)
        Cartesian positions in Å, atoms in id order.
    cell : ndarray, shape (3, 3) or None
        Rows are the lattice vectors a, b, c in Å; None for a non-periodic snapshot.
    species : ndarray of str, shape (n_atoms,), optional
        Element symbols, or LAMMPS type numbers as strings when elements are unknown.
    masses : ndarray, shape (n_atoms,), optional
        Atomic masses in amu.
    origin : ndarray, shape (3,)
        Cartesian origin of the cell (LAMMPS' ``xlo ylo zlo``), Å.
    types : ndarray of int, shape (n_atoms,), optional
        LAMMPS atom types (from a data file), to check a dump's types against.
    """

    positions: np.ndarray
    cell: np.ndarray | None
    species: np.ndarray | None = None
    masses: np.ndarray | None = None
    origin: np.ndarray = field(default_factory=lambda: np.zeros(3))
    types: np.ndarray | None = None

    def __post_init__(self):
        self.positions = np.asarray(self.positions, dtype=float).reshape(-1, 3)
        if self.cell is not None:
            self.cell = np.asarray(self.cell, dtype=float).reshape(3, 3)
        if self.species is not None:
            self.species = np.asarray(self.species, dtype=str)
        if self.masses is not None:
            self.masses = np.asarray(self.masses, dtype=float)
        self.origin = np.asarray(self.origin, dtype=float).reshape(3)
        if self.types is not None:
            self.types = np.asarray(self.types, dtype=np.int64).reshape(-1)

    @property
    def n_atoms(self) -> int:
        return len(self.positions)

    @property
    def volume(self) -> float | None:
        """Cell volume in Å³."""
        return None if self.cell is None else float(abs(np.linalg.det(self.cell)))

    @property
    def scaled_positions(self) -> np.ndarray:
        """Fractional coordinates relative to the cell origin (a property, as :attr:`Crystal.scaled_positions`)."""
        if self.cell is None:
            raise ValueError("a structure without a cell has no fractional coordinates")
        return (self.positions - self.origin) @ np.linalg.inv(self.cell)
