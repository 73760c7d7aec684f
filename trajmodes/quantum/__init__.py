"""Path-integral (quantum) runs: the Kubo-correlator estimators of the effective harmonic constants from a run's
centroid, the exact quantum and discretised path-integral statistics of a harmonic crystal (and exact samples of its
ring polymer), and the free energy of a run fitted over its beads.

- :mod:`~trajmodes.quantum.kubo`: ``KuboDisplacementConstants`` (Phi = k_B T <du_c du_c^T>^+) and ``KuboForceConstants``
  (Phi = <dF_c dF_c^T> / k_B T), streamed in one pass over the centroid (``CentroidSums``), with jackknife error bars
  over blocks of time (M. Morresi, L. Paulatto, R. Vuilleumier and M. Casula, J. Chem. Phys. 154, 224108 (2021)).
- :mod:`~trajmodes.quantum.harmonic`: <u u> and the mean-square displacements of the quantum, P-bead and classical
  harmonic crystal on its supercell; ``ring_polymer_configurations``, exact P-bead samples with their forces.
- :mod:`~trajmodes.quantum.free_energy`: F_0 = U_0 + F_h(Phi) of a fit over the beads, quantum or for P beads.

The fit over the beads of a run is :class:`~trajmodes.EffectiveForceConstants` itself: ``fit(run.pooled)`` (the
beads as frames x beads samples, whose velocities do not enter the temperature: they sample P T).

:data:`__all__` holds the package's public names. Each is imported from its module on first use (PEP 562), so that
importing one module of the package does not import the others.
"""

from trajmodes._lazy import lazy_names

#: public name -> the module of the package that defines it
_LAZY = {
    # the Kubo-correlator estimators and the centroid's sums of their one pass
    "KuboDisplacementConstants": "kubo", "KuboForceConstants": "kubo", "CentroidSums": "kubo", "BlockSums": "kubo",
    # the blocking analysis that widens their jackknife errors for the centroid's correlation time
    "BlockingAnalysis": "kubo", "MIN_INDEPENDENT": "kubo",
    # exact statistics of a harmonic crystal: quantum, P beads, classical; exact ring-polymer samples
    "mode_variances": "harmonic", "displacement_covariance": "harmonic", "mean_square_displacements": "harmonic",
    "ring_polymer_frequencies": "harmonic", "ring_polymer_configurations": "harmonic",
    # the free energy of a run fitted over its beads
    "ring_polymer_mode_free_energy": "free_energy", "path_integral_free_energy": "free_energy",
}

__all__ = [*_LAZY]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
