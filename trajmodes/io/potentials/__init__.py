"""Interatomic potential files: LAMMPS EAM (:mod:`~trajmodes.io.potentials.eam`) and Stillinger-Weber
(:mod:`~trajmodes.io.potentials.sw`) files, and the ``pair_style`` / ``pair_coeff`` of a LAMMPS run's input or log
(:mod:`~trajmodes.io.potentials.pair_style`)."""
