"""Force-constant file formats, read and written: trajmodes' own netCDF, phonopy yaml, phono3py, TDEP, ShengBTE,
hiPhive, GPUMD, ABINIT DDB dynamical matrices, and phonopy's displacement datasets; the text plumbing the text
formats share (:mod:`~trajmodes.io.forceconstants.text`). Each format of force constants declares itself
(:class:`~trajmodes.io.forceconstants.base.FCFormat`), :mod:`trajmodes.io.forceconstants.registry` lists them for the
package's entry point, and the registry of the force-constant model (:mod:`trajmodes.forceconstants.formats`) finds
them through it: which format a path holds, the format of a name, ``ForceConstants.read`` and ``write``."""
