"""Interatomic potentials with analytic energies, forces, stress and force constants, and Born-von-Karman shell
constants.

- :mod:`~trajmodes.potentials.eam`: embedded-atom potentials from LAMMPS files (``EAM``).
- :mod:`~trajmodes.potentials.pair`: pair potentials as LAMMPS defines them: ``LennardJones`` (``lj/cut``),
  ``Morse`` (``morse``), ``Buckingham`` (``buck``).
- :mod:`~trajmodes.potentials.terms`: the m-body ``Terms`` of a short-ranged potential and the base class
  ``ShortRangePotential``, whose lattice sums (:mod:`~trajmodes.potentials.lattice_sums`: energy, forces, stress,
  supercell fc2 and fc3, static strain derivatives, dynamical matrices at any q with their strain derivatives) every
  pair and three-body potential shares.
- :mod:`~trajmodes.potentials.bvk`: Born-von-Karman shell constants.

:data:`__all__` holds the package's public names: those other packages of trajmodes import (from here or from their
modules), and those :mod:`trajmodes` re-exports. Each is imported from its module on first use (PEP 562), so that
importing one module of the package does not import the others.
"""

from trajmodes._lazy import lazy_names

#: public name -> the module of the package that defines it
_LAZY = {
    # the potentials
    "EAM": "eam", "LennardJones": "pair", "Morse": "pair", "Buckingham": "pair", "load_potential": "pair",
    "PAIR_STYLES": "pair",
    "StillingerWeber": "threebody", "AxilrodTellerMuto": "threebody", "HarmonicAngle": "threebody",
    "ExponentialAngle": "threebody",
    # force engines, and a batch of configurations evaluated with its checks
    "PotentialEngine": "engines", "HarmonicEngine": "engines", "AseEngine": "engines", "evaluate_checked": "engines",
    "LammpsEngine": "lammps_engine",
    # shell constants, and the closed forms of one-atom cubic crystals
    "shell_constants": "bvk", "cubic_dynamical_matrix": "eam_cubic", "shell_constant_parts": "eam_cubic",
    # force constants by finite differences of the forces, and the check of their curvature
    "finite_difference_force_constants": "finite_difference", "curvature_check": "finite_difference",
}

__all__ = [*_LAZY]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
