"""Force constants: the model (layouts, sum rules, symmetry) and their fit to MD forces (TDEP).

:data:`__all__` holds the package's public names: those other packages of trajmodes import (from here or from their
modules). Each is imported from its module on first use (PEP 562), so that importing one module of the package does
not import the others.
"""

from trajmodes._lazy import lazy_names

#: public name -> the module of the package that defines it
_LAZY = {
    # the constants and their fit: the basis a fit (and a series' model) fits in, the fields its pass reads, the
    # tolerance of a shell at the cutoff
    "ForceConstants": "model", "EffectiveForceConstants": "fit", "default_build_basis": "fit", "fit_layer": "normal",
    "CUT_TOL": "clusters",
    # the anharmonic constants of any order (fc3, fc4) held as their clusters
    "ClusterConstants": "cluster_constants",
    # the protocol every estimator of force constants follows (this package's fit, self-consistent phonons, the
    # Kubo estimators of a path-integral run)
    "ForceConstantsEstimator": "estimator",
    # the registry of file formats
    "detect_fc_format": "formats", "fc_format": "formats", "format_names": "formats",
    # cutoffs, and the scan of every pair cutoff whose frequencies phonons.harmonic.convergence converges
    "cutoff_length": "cutoffs", "largest_cutoff": "convergence", "scan_cutoffs": "convergence",
    "SHELL_TOL": "convergence", "COND_WARN": "report", "format_cutoff_table": "report",
    # error bars: the block bootstrap's standard error and the blocking ratio above which its segments are too short; a
    # committee's members standing for the resamples
    "bootstrap_std": "uncertainty", "BLOCKING_WARN": "uncertainty", "committee_view": "committee",
    # the normal equations of a run that is still growing (trajmodes watch)
    "GrowingNormal": "streaming",
    # the statistics of the frames' cells against the reference cell, and what the fit says where they differ
    "cell_statistics": "averages", "cell_mismatch": "fit",
    # what the free energy of a run's frames shares with the fit: the box's fluctuating strains, the supercell
    # partners of a cluster's atoms, constants applied by FFT over the supercell
    "strain_dofs": "averages", "partner_indices": "design", "SupercellConvolution": "dipole",
    # the dipole-dipole constants: the Ewald sum the non-analytic correction adds back in D(q), the |q| of Gamma, the
    # tolerance of the charge sum of fitted charges
    "DipoleEwald": "dipole", "Q_ZERO": "dipole", "CHARGE_SUM_FIT": "dipole",
}

__all__ = [*_LAZY]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
