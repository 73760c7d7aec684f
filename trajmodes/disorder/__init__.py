"""Disordered solids.

Mass and substitutional disorder on the sites of one lattice: the virtual crystal, the sample's mass variances, its
exact harmonic lineshapes and unfolded spectral weights (:mod:`trajmodes.disorder.mass_disorder`), and the lowest-order
widths of mass and force-constant disorder (:mod:`trajmodes.disorder.perturbative`). Glasses: the harmonic modes of
cells without long-range order (Gamma point only, the whole cell is the cell of the lattice), their participation
ratios, Allen-Feldman and quasi-harmonic Green-Kubo heat transport, dense where the cell's 3N x 3N matrices fit in
memory and by sparse products (shift-invert Lanczos for a window of modes, kernel polynomials for the diffusivity)
beyond.

* :mod:`trajmodes.disorder.glass`: the sparse dynamical matrix of a cell (:class:`GlassHarmonic`), its modes
  (:func:`gamma_modes`), participation ratios, and the modes as phonons that a run is projected on
  (:class:`GlassPhonons`);
* :mod:`trajmodes.disorder.allen_feldman`: Allen-Feldman diffusivities and conductivity from the modes;
* :mod:`trajmodes.disorder.qhgk`: the quasi-harmonic Green-Kubo conductivity with per-mode widths (from MD or three
  phonons);
* :mod:`trajmodes.disorder.kpm`: the diffusivity D(nu) by the kernel polynomial method;
* :mod:`trajmodes.disorder.mass_disorder`: the virtual crystal of a mass-disordered sample and its lineshapes;
* :mod:`trajmodes.disorder.perturbative`: the golden-rule widths of the sample's disorder on its virtual crystal.

:data:`__all__` holds the package's public names: those other packages of trajmodes import (from here or from their
modules). The names imported below are loaded with it; the others (:data:`_LAZY`) are imported from their modules
on first use (PEP 562), so that importing one module of the package does not import them.
"""

from trajmodes._lazy import lazy_names
from trajmodes.disorder.allen_feldman import (allen_feldman, allen_feldman_conductivity, broadening_kernel,
                                              kaldo_broadening)
from trajmodes.disorder.glass import GlassHarmonic, GlassModes, GlassPhonons, gamma_modes, participation_ratios
from trajmodes.disorder.kpm import kpm_diffusivity
from trajmodes.disorder.mass_disorder import (exact_lineshapes, expected_spectra, kpm_lineshapes,
                                              sample_dynamical_matrix, site_masses, virtual_crystal_modes)
from trajmodes.disorder.perturbative import disorder_widths
from trajmodes.disorder.qhgk import md_linewidths, pair_heat_capacity, perturbative_linewidths, qhgk_conductivity

#: public name -> the module of the package that defines it, for the public names not imported above
_LAZY = {
    # the memory of the dense modes, the kernel polynomials' blocks of vectors and spectral bound
    "dense_eigh_bytes": "glass", "kpm_partial_dos": "kpm", "spectrum_top": "kpm", "VECTOR_BLOCK": "kpm",
}

__all__ = ["GlassHarmonic", "GlassModes", "GlassPhonons", "gamma_modes", "participation_ratios", "allen_feldman",
           "allen_feldman_conductivity", "broadening_kernel", "kaldo_broadening", "qhgk_conductivity",
           "pair_heat_capacity", "md_linewidths", "perturbative_linewidths", "kpm_diffusivity", "site_masses",
           "sample_dynamical_matrix", "virtual_crystal_modes", "exact_lineshapes", "kpm_lineshapes",
           "expected_spectra", "disorder_widths", *_LAZY]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
