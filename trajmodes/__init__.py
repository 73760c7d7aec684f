"""trajmodes: phonons at the simulated temperature from molecular-dynamics trajectories of crystals."""
from .errors import ReferenceMismatchError, TrajectoryFormatError, TruncatedFrameWarning, UnitsWarning
from .reader import read
from .structure import Structure
from .trajectory import Trajectory
from .crystal import Crystal
from .force_constants import ForceConstants
from .phonons import Phonons
from .fitting import EffectiveForceConstants, fit_temperatures

__version__ = "0.1.0"

__all__ = ["read", "Trajectory", "Structure", "TrajectoryFormatError", "ReferenceMismatchError",
           "TruncatedFrameWarning", "UnitsWarning", "__version__", "Crystal", "ForceConstants", "Phonons",
           "EffectiveForceConstants", "fit_temperatures"]
