"""trajmodes: phonons at the simulated temperature from molecular-dynamics trajectories of crystals."""
from .errors import ReferenceMismatchError, TrajectoryFormatError, TruncatedFrameWarning, UnitsWarning
from .reader import read
from .structure import Structure
from .trajectory import Trajectory

__version__ = "0.1.0"

__all__ = ["read", "Trajectory", "Structure", "TrajectoryFormatError", "ReferenceMismatchError",
           "TruncatedFrameWarning", "UnitsWarning", "__version__"]
