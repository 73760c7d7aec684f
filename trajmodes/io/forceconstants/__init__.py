"""Force-constant file formats, read and written: trajmodes' own netCDF, phonopy yaml, phono3py, TDEP, ShengBTE,
hiPhive, GPUMD, ABINIT DDB dynamical matrices, and phonopy's displacement datasets; the text plumbing the text
formats share (:mod:`~trajmodes.io.forceconstants.text`). Each format of force constants declares itself
(:class:`~trajmodes.io.forceconstants.base.FCFormat`); which format a path holds, and the format of a name:
:mod:`trajmodes.io.forceconstants.registry`."""
