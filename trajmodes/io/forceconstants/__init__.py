"""Force-constant file formats, read and written: trajmodes' own netCDF, phonopy yaml, phono3py, TDEP, ShengBTE,
hiPhive, GPUMD, ABINIT DDB dynamical matrices, and phonopy's displacement datasets; the text plumbing the text
formats share (:mod:`~trajmodes.io.forceconstants.text`). Which format a path holds:
:func:`trajmodes.io.forceconstants.phonopy.detect_fc_format`."""
