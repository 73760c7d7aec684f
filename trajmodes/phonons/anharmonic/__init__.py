"""Anharmonic lattice dynamics on top of :mod:`trajmodes.phonons.harmonic`: three-phonon interaction strengths,
self-energies (linewidths, shifts), spectral functions and TDEP's lineshapes, four-phonon and quartic terms, isotope
scattering, mode Grueneisen parameters and the lattice thermal conductivity (RTA, the Boltzmann solution, the
coherences) (:class:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic`, the facade). Imports nothing of
:mod:`trajmodes.phonons.thermodynamics`.

:data:`__all__` holds the package's public names: those other packages of trajmodes import (from here or from their
modules), and those :mod:`trajmodes` re-exports. Each is imported from its module on first use (PEP 562), so that
importing one module of the package does not import the others.
"""

from trajmodes._lazy import lazy_names

#: public name -> the module of the package that defines it
_LAZY = {
    "Anharmonic": "anharmonic", "Interaction": "interaction",
    # the RTA conductivity of given lifetimes (modes.conductivity); isotope scattering
    "kappa_rta": "conductivity", "kappa_velocities": "conductivity", "isotope_gamma": "isotope",
    # the quartic loop's shift and free energy; spectral functions and TDEP's band widths
    "loop_shift": "quartic", "loop_shift_by_mode": "quartic", "quartic_free_energy": "quartic",
    "spectral_functions": "spectral", "tdep_band_widths": "spectral",
}

__all__ = [*_LAZY]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
