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
"""
