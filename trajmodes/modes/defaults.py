"""Defaults of the mode analysis that the command line states too (a module without imports: ``--help`` stays
instant)."""

#: THz: the default Welch bin of the mode spectra (segments of 20 ps; a 100 ps run gives 9 half-overlapping ones),
#: shared by ``mode_spectra``, ``workflows.modes_dataset`` and ``trajmodes project``. Long runs resolve narrower lines
#: with a finer bin (0.01 THz for the 200 ps runs of docs/validation.md).
DEFAULT_RESOLUTION = 0.05

#: the peak model of fit_peaks, workflows.modes_dataset and ``trajmodes project``: the Lorentzian and the damped
#: oscillator fitted to every spectrum, the more likely kept (on broad lines at low frequency, bcc Zr at 1300 K, the
#: Lorentzian's centre sits ~0.2 THz high on the damped oscillator's asymmetric line)
DEFAULT_PEAK_MODEL = "auto"

#: the peak models ``trajmodes project --model`` offers (trajmodes.modes.lineshapes; "auto": the Lorentzian and the
#: damped oscillator both fitted, the one of higher likelihood kept per spectrum)
PEAK_MODELS = ("lorentzian", "dho", "lorentzian_windowed", "dho_windowed", "auto")
