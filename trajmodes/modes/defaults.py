"""Defaults of the mode analysis that the command line states too (a module without imports: ``--help`` stays
instant)."""

#: THz: the default Welch bin of the mode spectra (segments of 20 ps; a 100 ps run gives 9 half-overlapping ones),
#: shared by ``mode_spectra``, ``workflows.modes_dataset`` and ``trajmodes project``. Long runs resolve narrower lines
#: with a finer bin (0.01 THz for the 200 ps runs of docs/validation.md).
DEFAULT_RESOLUTION = 0.05
