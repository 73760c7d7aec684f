"""trajmodes: phonons at the simulated temperature from molecular-dynamics trajectories of crystals.

The public names below are imported on first use (PEP 562), so ``import trajmodes`` and the command line's
``--help`` do not pay for numpy, dask, scipy, xarray or matplotlib until a computation needs them.
"""
from __future__ import annotations

import importlib
import importlib.util

__version__ = "0.1.0"

#: public name -> module that defines it
_LAZY = {
    "read": ".reader", "from_arrays": ".reader", "Trajectory": ".trajectory", "Structure": ".structure",
    "TrajectoryFormatError": ".errors", "ReferenceMismatchError": ".errors", "TruncatedFrameWarning": ".errors",
    "UnitsWarning": ".errors", "Crystal": ".crystal", "ForceConstants": ".force_constants", "Phonons": ".phonons",
    "EffectiveForceConstants": ".fitting", "fit_temperatures": ".fitting", "project": ".projection",
    "mode_energies": ".energies", "mode_spectra": ".spectra", "fit_peaks": ".peaks", "EAM": ".eam",
}
#: public submodules
_MODULES = ("bvk", "workflows", "plots", "units", "provenance")

__all__ = ["__version__", *_LAZY, *_MODULES]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    elif name in _MODULES or (not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}")):
        value = importlib.import_module(f".{name}", __name__)      # any submodule, as after an import
    else:
        raise AttributeError(f"module 'trajmodes' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
