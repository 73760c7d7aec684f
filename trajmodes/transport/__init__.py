"""Heat transport from the MD run itself: the heat current, its Green-Kubo conductivity (cepstral analysis) and the
conductivity's split over the crystal's modes (Green-Kubo modal analysis).

:data:`__all__` holds the package's public names: those other packages of trajmodes import (from here or from their
modules). Each is imported from its module on first use (PEP 562), so that importing one module of the package does
not import the others.
"""

from trajmodes._lazy import lazy_names

#: public name -> the module of the package that defines it
_LAZY = {
    # the heat current of a run, its Green-Kubo conductivity (cepstral analysis) and the checks of that kappa
    "heat_current_of_run": "current", "cepstral_conductivity": "cepstral", "cepstral_tensor": "cepstral",
    "green_kubo_integral": "cepstral", "kappa_past_cutoff": "cepstral", "integral_still_rising": "cepstral",
    # its split over the modes and frequencies (plots draw kappa(omega) of every route in the same bins)
    "modal_conductivity": "decomposition", "spectral_conductivity": "decomposition",
    "spectral_memory": "decomposition", "frequency_spectrum": "decomposition", "heat_band": "decomposition",
}

__all__ = [*_LAZY]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
