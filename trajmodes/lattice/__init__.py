"""The crystal: structures, symmetry, supercells, geometry, q-points and band paths."""
from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.structure import Structure
from trajmodes.lattice.supercell import SupercellMap, smith_normal_form
from trajmodes.lattice.symmetry import reciprocal_rotations, supercell_operations

__all__ = ["Crystal", "Structure", "SupercellMap", "smith_normal_form", "reciprocal_rotations", "supercell_operations"]
