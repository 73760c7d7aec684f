"""trajmodes: phonons at the simulated temperature from molecular-dynamics trajectories of crystals."""
from . import bvk
from .crystal import Crystal
from .eam import EAM
from .energies import mode_energies
from .errors import ReferenceMismatchError, TrajectoryFormatError, TruncatedFrameWarning, UnitsWarning
from .fitting import EffectiveForceConstants, fit_temperatures
from .force_constants import ForceConstants
from .peaks import fit_peaks
from .phonons import Phonons
from .projection import project
from .reader import from_arrays, read
from .spectra import mode_spectra
from .structure import Structure
from .trajectory import Trajectory

__version__ = "0.1.0"

__all__ = ["read", "from_arrays", "Trajectory", "Structure", "TrajectoryFormatError", "ReferenceMismatchError",
           "TruncatedFrameWarning", "UnitsWarning", "__version__", "Crystal", "ForceConstants", "Phonons",
           "EffectiveForceConstants", "fit_temperatures", "project", "mode_energies", "EAM", "bvk", "mode_spectra", "fit_peaks"]
