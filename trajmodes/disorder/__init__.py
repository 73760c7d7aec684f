"""Disordered solids.

Mass and substitutional disorder on the sites of one lattice: the virtual crystal, the sample's mass variances, its
exact harmonic lineshapes and unfolded spectral weights (:mod:`trajmodes.disorder.mass_disorder`). Glasses: the
harmonic modes of cells without long-range order (Gamma point only, the whole cell is the
cell of the lattice), their participation ratios, and Allen-Feldman heat transport, dense where the cell's 3N x 3N
matrices fit in memory and by sparse products (shift-invert Lanczos for a window of modes, kernel polynomials for the
diffusivity) beyond.

* :mod:`trajmodes.disorder.glass`: the sparse dynamical matrix of a cell (:class:`GlassHarmonic`), its modes
  (:func:`gamma_modes`) and participation ratios;
* :mod:`trajmodes.disorder.allen_feldman`: Allen-Feldman diffusivities and conductivity from the modes;
* :mod:`trajmodes.disorder.kpm`: the diffusivity D(nu) by the kernel polynomial method;
* :mod:`trajmodes.disorder.mass_disorder`: the virtual crystal of a mass-disordered sample and its lineshapes.
"""
from trajmodes.disorder.allen_feldman import (allen_feldman, allen_feldman_conductivity, broadening_kernel,
                                              kaldo_broadening)
from trajmodes.disorder.glass import GlassHarmonic, GlassModes, gamma_modes, participation_ratios
from trajmodes.disorder.kpm import kpm_diffusivity
from trajmodes.disorder.mass_disorder import (exact_lineshapes, expected_spectra, kpm_lineshapes,
                                              sample_dynamical_matrix, site_masses, virtual_crystal_modes)

__all__ = ["GlassHarmonic", "GlassModes", "gamma_modes", "participation_ratios", "allen_feldman",
           "allen_feldman_conductivity", "broadening_kernel", "kaldo_broadening", "kpm_diffusivity", "site_masses",
           "sample_dynamical_matrix", "virtual_crystal_modes", "exact_lineshapes", "kpm_lineshapes", "expected_spectra"]
# the quasi-harmonic Green-Kubo conductivity (Isaeva, Barbalinardo, Donadio and Baroni 2019)
from trajmodes.disorder.qhgk import (md_linewidths, pair_heat_capacity, perturbative_linewidths,  # noqa: E402
                                     qhgk_conductivity)
from trajmodes.disorder.glass import GlassPhonons  # noqa: E402

__all__ += ["qhgk_conductivity", "pair_heat_capacity", "md_linewidths", "perturbative_linewidths", "GlassPhonons"]
