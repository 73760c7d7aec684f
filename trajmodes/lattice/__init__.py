"""The crystal: structures, symmetry, supercells, q-points and band paths."""
from trajmodes.lattice.crystal import Crystal, SupercellMap, reciprocal_rotations
from trajmodes.lattice.structure import Structure

__all__ = ["Crystal", "SupercellMap", "Structure", "reciprocal_rotations"]
