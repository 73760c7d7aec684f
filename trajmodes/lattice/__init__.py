"""The crystal: structures, symmetry, supercells, geometry, q-points and band paths.

:data:`__all__` holds the package's public names: those other packages of trajmodes import (from here or from their
modules), and those :mod:`trajmodes` re-exports. The names imported below are loaded with it; the others
(:data:`_LAZY`) are imported from their modules on first use (PEP 562), so that importing one module of the package
does not import them.
"""

from trajmodes._lazy import lazy_names
from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.structure import Structure
from trajmodes.lattice.supercell import SupercellMap, smith_normal_form
from trajmodes.lattice.symmetry import reciprocal_rotations, supercell_operations

#: public name -> the module of the package that defines it, for the public names not imported above
_LAZY = {
    # the crystal's masses; the elements' and isotopes' masses (the readers' species)
    "masses_or_error": "crystal", "element_from_mass": "elements", "mass_of": "elements", "masses_of": "elements",
    "mass_variances": "isotopes",
    # symmetry: the one tolerance, rotations, site orbits and images, a supercell's operations
    "SYMPREC": "spglib_calls", "SupercellOperations": "symmetry", "cartesian_rotations": "symmetry",
    "site_images": "symmetry", "site_orbits": "symmetry",
    # geometry: the one minimum image, shortest and Wigner-Seitz images, neighbour pairs
    "minimum_image": "geometry", "shortest_vectors": "geometry", "shortest_lattice_vector": "geometry",
    "wigner_seitz_pairs": "geometry", "pairs_within": "geometry", "neighbours": "geometry",
    "nearest_neighbour_distance": "geometry", "comes_after": "geometry",
    # q-points: meshes, commensurate q, the first zone, the irreducible grid and its triplets
    "parse_mesh": "qpoints", "mesh_qpoints": "qpoints", "mesh_addresses": "qpoints", "mesh_index": "qpoints",
    "commensurate_qpoints": "qpoints", "commensurate_mask": "qpoints", "first_zone": "qpoints", "is_gamma": "qpoints",
    "qpoints_in": "qpoints", "STRAIN_TOL": "qpoints", "Grid": "grid", "Triplets": "grid",
    # band paths
    "special_points": "paths", "default_path": "paths", "parse_path": "paths", "sample_path": "paths",
    "path_coordinates": "paths", "bravais_lattice": "paths", "brillouin_zone_path": "paths", "pretty_label": "paths",
    # strain (the Voigt convention), the ideal crystal behind a snapshot, cubic crystals and prototypes
    "VOIGT": "strain", "STRAIN_BASIS": "strain", "voigt_tensor": "strain", "tensor_voigt": "strain",
    "strain_matrix": "strain", "cell_strains": "strain", "deformed": "strain", "ideal_crystal": "ideal",
    "mean_sites": "ideal", "run_crystal": "ideal", "cubic_lattice": "cubic", "shell_vectors": "cubic", "ATOMS_PER_CUBE": "cubic",
    "PRIMITIVE_VECTORS": "cubic", "prototype": "prototypes", "default_species": "prototypes",
    "PROTOTYPES": "prototypes", "CUBE_EDGE": "prototypes",
}

__all__ = ["Crystal", "Structure", "SupercellMap", "smith_normal_form", "reciprocal_rotations",
           "supercell_operations", *_LAZY]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
