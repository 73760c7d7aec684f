"""Temperature-dependent effective force constants (TDEP) fitted to MD forces, streamed over frame chunks.

Model (TDEP: O. Hellman, I. A. Abrikosov and S. I. Simak, Phys. Rev. B 84, 180301(R) (2011); O. Hellman,
P. Steneteg, I. A. Abrikosov and S. I. Simak, Phys. Rev. B 87, 104111 (2013))::

    f_i = - sum_j Phi_ij u_j - 1/2 sum_jl Psi_ijl u_j u_l

for every atom i of the MD supercell and every sampled frame; u the minimum-image displacement from the
reference crystal, f the MD force with the mean force of the frame (over the atoms) removed. Phi and Psi
are expressed in the symmetry-irreducible parameters of an :class:`IFCBasis` (``trajmodes.forceconstants.clusters``), so
the rows of the design matrix are linear in the parameters (:mod:`trajmodes.forceconstants.design`).

Streaming: each Dask task parses one frame chunk (positions and forces in one pass), builds its rows and
returns only the normal equations A'A, A'f, f'f and the row and frame counts, separately per
cross-validation fold; the tasks are summed as a tree. Memory is O(folds * P^2) whatever the number of
frames, and a ``dask.distributed`` Client runs the same graph.

Sequential and simultaneous fits (both from the same blocks, no second pass):

- ``"sequential"`` (TDEP's definition, the default): Phi is the least-squares fit of the forces by a
  harmonic model alone, Phi = argmin <|f + Phi u|^2>; then Psi is fitted to the residual f - f_harm.
  Phi is the *effective* harmonic force constant of the temperature: it absorbs, on average, what the
  cubic (and higher) terms do to the forces at the sampled amplitudes.
- ``"simultaneous"`` (hiPhive, symfc): Phi and Psi minimise the same residual together. The cubic
  terms then take over the part of the forces that correlates with u u, and whatever of that correlates
  with u too is no longer in Phi: the two Phi differ unless the cubic design columns are orthogonal to
  the harmonic ones (exactly so only for symmetric displacement statistics and infinitely many frames);
  the sequential Phi is the one whose harmonic forces best match the MD forces.

Polar crystals (``born=``, ``epsilon=``): as TDEP's ``extract_forceconstants --polar`` (F. Knoop et al., J. Open
Source Softw. 9, 6150 (2024)), the long-range dipole-dipole forces F_dd = -Phi_dd u of every frame are taken out of the
forces before anything is fitted (Phi_dd: the reciprocal-space Ewald sum of X. Gonze and C. Lee, Phys. Rev. B 55,
10355 (1997), on the supercell; :mod:`trajmodes.forceconstants.dipole`), by FFT over the supercell's translations. The
fitted fc2 and fc3 are then short-ranged, and the :class:`ForceConstants` returned carry the Born charges, the
dielectric tensor, ``short_range=True`` and the Ewald parameter, so :class:`trajmodes.Phonons` adds the dipole-dipole
dynamical matrix back at every q. Scores are those of the short-range model on the short-range forces.

Scores (per order: the model truncated after that order, with the parameters of the chosen mode):
R^2 = 1 - |f - f_model|^2 / |f|^2 (f mean-free per frame), RMSE per force component (eV/Å), k-fold
cross-validation RMSE (each fold fitted from the other folds' summed blocks, its residual evaluated
with its own blocks, r'r = f'f - 2 p'A'f + p'A'A p), and sigma_A = sqrt(<(f - f_harm)^2> / <f^2>)
with the estimator's Phi. Computed from the blocks, a residual sum of squares is a difference of numbers
of the size of f'f, so RMSEs resolve down to about sqrt(eps) ~ 1.5e-8 of the force scale (R^2 to ~eps):
an exact fit shows RMSE ~ 1e-8 rms(f), not 1e-16.

The estimator's functions live beside it: :mod:`~trajmodes.forceconstants.cutoffs` (the cutoff settings),
:mod:`~trajmodes.forceconstants.uncertainty` (the block bootstrap of its error bars),
:mod:`~trajmodes.forceconstants.averages` (the energies and cells of the run),
:mod:`~trajmodes.forceconstants.report` (its warnings and scores table), :mod:`~trajmodes.forceconstants.settings`
(the checks of its settings), :mod:`~trajmodes.forceconstants.held` (a held fc2) and
:mod:`~trajmodes.forceconstants.dipole` (the polar kernel).
"""
from __future__ import annotations

import contextlib
import warnings

import numpy as np

from trajmodes.forceconstants.averages import cell_statistics, mean_energies, settle_average
from trajmodes.forceconstants.committee import arrays_committee, fit_fields, solve_committee, split_committee
from trajmodes.forceconstants.cutoffs import basis_cutoff, check_reaches_a_pair, cutoff_length
from trajmodes.forceconstants.design import DesignKernel
from trajmodes.forceconstants.dipole import DipoleSubtracted, polar_kernel
from trajmodes.forceconstants.held import held_cv_rmse, held_params, solve_held
from trajmodes.forceconstants.model import ForceConstants
from trajmodes.forceconstants.phase import refit_on_run_crystal
from trajmodes.forceconstants.normal import block_ids, block_layout, chunk_blocks, fit_layer, normal_equations
from trajmodes.forceconstants.report import format_scores, warn_ill_posed
from trajmodes.forceconstants.settings import check_memory, check_settings
from trajmodes.forceconstants.solve import fit_params, scores
from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.ideal import ideal_crystal
from trajmodes.lattice.structure import Structure
from trajmodes.lattice.spglib_calls import SYMPREC

__all__ = ["EffectiveForceConstants", "default_build_basis", "CELL_MISMATCH", "cell_mismatch"]

#: mean strain of the frames' cells from the reference cell above which the reference is flagged (when it also
#: exceeds 4 standard errors)
CELL_MISMATCH = 1e-4


def cell_mismatch(strain, se) -> str | None:
    """What to say where the run's mean cell is not the reference cell (:func:`~trajmodes.forceconstants.averages.
    cell_statistics`: the mean Voigt ``strain`` (6,) of the frames' cells from the reference cell and its standard
    error ``se`` (6,)): a strain beyond :data:`CELL_MISMATCH` and four standard errors; None where it is not. The fit
    and ``trajmodes watch`` warn with it."""
    strain, se = np.asarray(strain, float), np.asarray(se, float)
    worst = int(np.argmax(np.abs(strain)))
    off = abs(strain[worst])
    if not (off > CELL_MISMATCH and off > 4 * se[worst]):
        return None
    return (f"the run's mean cell is not the reference cell: they differ by a strain of {strain[worst]:+.2e} (Voigt "
            f"component {worst + 1}; standard error {se[worst]:.1e}). Displacements are mapped onto the reference "
            "cell, so the fitted constants belong to its volume, not the run's: use the run's mean cell as the reference "
            "(reference=\"average\"), or the data file at the mean volume")


def default_build_basis(fc, order, cutoff, primitive=None, symprec=SYMPREC):
    """The symmetry-reduced basis the estimator fits in (:func:`trajmodes.forceconstants.clusters.build_basis` with
    the acoustic sum rule), unless it is given another ``build_basis``."""
    from trajmodes.forceconstants.clusters import build_basis
    return build_basis(fc, order, cutoff, primitive=primitive, symprec=symprec, asr=True)


class EffectiveForceConstants:
    """Effective (temperature-dependent) 2nd- and 3rd-order force constants fitted to MD forces (TDEP).

    scikit-learn style (:class:`~trajmodes.forceconstants.estimator.ForceConstantsEstimator`): settings here,
    :meth:`fit` returns the estimator, results end in ``_`` (the attributes below, set by :meth:`fit`).

    Parameters
    ----------
    cutoff2 : float, "supercell" or None
        Pair cutoff in Å for the second-order constants; below half the shortest supercell vector. Default
        6 Å here; :func:`trajmodes.workflows.fit_effective` and the command line choose it from the data (one fit at
        the longest cutoff, :meth:`refit` ``(cutoff2=)`` to the shortest at which the frequencies have converged:
        :mod:`trajmodes.phonons.harmonic.convergence`).
        ``None``, ``"supercell"`` or ``math.inf``: every pair of the supercell, the supercell constants that
        phonopy, phono3py and symfc fit to finite- and random-displacement data (each shared over its
        equally short periodic images with weight 1/multiplicity, as those codes do).
    cutoff3 : float or "supercell", optional
        Triplet cutoff in Å (every pair of a triplet within it); ``"supercell"`` or ``math.inf``: every
        triplet of the supercell (phono3py's model); None: second order only.
    cutoff4 : float, optional
        Quartet cutoff in Å (every pair of a quartet within it): fit the fourth order too (with ``cutoff3``).
        Sequentially (TDEP's ``extract_forceconstants -rc4``) it is fitted to what the second and third orders leave
        of the forces. None (default): no fourth order.
    mode : {"sequential", "simultaneous"}
        Sequential (TDEP, default): Phi from the forces alone, then Psi from the residual. Simultaneous
        (hiPhive, symfc): both at once. See the module docstring for why they differ.
    folds : int
        Cross-validation folds (contiguous blocks of each run's selected frames; ``cv="interleaved"``
        for frame ``% folds``). 1: no cross-validation (cv_rmse is NaN).
    stride : int
        Use every ``stride``-th frame.
    n_frames : int, optional
        Use this many frames of each trajectory, evenly spaced (after ``stride``).
    symprec : float
        spglib tolerance (Å) for the primitive cell and the symmetry basis.
    cv : {"blocks", "interleaved"}
        How frames are split into the cross-validation folds: "blocks" (default), ``folds`` contiguous blocks of
        each run (held-out frames are not the time neighbours of training frames: the honest choice for correlated
        MD frames); "interleaved", frame ``position % folds``.
    segments : int
        Contiguous time segments per run (rounded up to a multiple of ``folds``) whose normal equations are kept
        apart: the resampling units of the block bootstrap (:meth:`bootstrap`), which gives every parameter,
        and everything computed from them, an error bar without a second pass over the frames. A segment must
        be longer than the correlation time of the forces and displacements; :meth:`bootstrap` checks that.
    rcond : float, optional
        Relative eigenvalue cutoff of the solve (default ``P * 4 eps``).
    build_basis : callable, optional
        ``build_basis(fc, order, cutoff, primitive=, symprec=)`` -> IFCBasis; default
        :func:`trajmodes.forceconstants.clusters.build_basis`.
    constraints : str or tuple of {"rotational", "huang"}
        Extra exact linear conditions on the second order (:mod:`trajmodes.forceconstants.constraints`):
        rotational invariance and the Huang conditions; default none.
    allow_p1 : bool
        Fit a reference in which no lattice translations are found (every atom its own primitive atom).
        Off by default: such a reference is nearly always a noisy snapshot, and the model would be huge.
    keep_reference : bool
        Fit the given reference's crystal even where the run left it (by default the run's own crystal is fitted,
        with a warning: :mod:`~trajmodes.forceconstants.phase`, :attr:`run_crystal_`, :attr:`run_reference_`).
    fc2 : ForceConstants, optional
        Second-order constants to hold fixed (phono3py's fc2 from a separate, often larger, supercell:
        ``--dim-fc2``): their forces -Phi u are taken from the data and only the third order is fitted
        (``cutoff3`` is then required). ``fc2`` may live on the fitted supercell or on a multiple of it (it is
        folded onto the fitted one, :meth:`ForceConstants.folded_fc2`: exact for periodic supercells); the second-order basis is
        then every pair of the fitted supercell, whatever ``cutoff2``. The results keep the given fc2
        (:attr:`force_constants_` on the fitted supercell holds it folded; :attr:`fixed_fc2_` is the one given).
    born : array_like, optional
        Born effective charges (e, ``Z[k, E, u]``: field E, displacement u, phonopy's BORN convention) of a polar
        crystal, shape (n_prim, 3, 3) in the atom order of the primitive cell the fit finds (:attr:`primitive_`), or
        (N, 3, 3), one per atom of the supercell (equal on equivalent atoms). With ``epsilon`` the dipole-dipole
        forces are taken out of the forces before the fit (the module docstring). They must obey the charge sum rule
        (sum_k Z_k = 0): a small violation is corrected with a warning, a large one refused
        (:func:`~trajmodes.forceconstants.dipole.check_born`).
    epsilon : array_like (3, 3), optional
        High-frequency dielectric tensor, with ``born``.
    ewald_lambda : float, optional
        Ewald parameter of the dipole-dipole sum, 1/Å with 2 pi (TDEP's lambda in 1/bohr divided by the bohr radius in
        Å); default TDEP's own choice for the crystal (:func:`~trajmodes.forceconstants.dipole.tdep_ewald_lambda`).
        The short-range constants depend on it; it is stored with them.
    nac_factor : float, optional
        e^2 / (4 pi eps0) in eV Å for the dipole-dipole sum (default :data:`trajmodes.units.NAC_FACTOR`; TDEP's own
        is :data:`trajmodes.io.forceconstants.tdep_polar.TDEP_NAC_FACTOR`).
    species_resolved : bool
        A chemically disordered crystal (species or masses placed at random on the sites of a lattice, which the fit
        finds and fits as its virtual crystal by default, with a warning: :func:`~trajmodes.forceconstants.alloy.
        virtual_sites`): fit instead second-order constants per species pair on each pair orbit of the average
        lattice, with the acoustic sum rule atom by atom (:mod:`trajmodes.forceconstants.alloy`). Second order only
        (no ``cutoff3``, ``fc2``, ``born``, ``constraints``), ``cutoff2`` in Å. :attr:`fc2_` is then their average with
        the sample's pair probabilities on each orbit (the sample's virtual crystal); :attr:`sample_force_constants_`
        the sample's own matrix; :attr:`species_constants_` the table per orbit and species pair with error bars.
    weights : None, "uncertainty" or array_like
        None (default): unweighted least squares, TDEP's effective constants, whose residual is mostly the model's
        (anharmonic forces), not noise. ``"uncertainty"``: generalised least squares, every force row weighted by
        1/sigma^2, sigma the data's ``force_std`` (per atom or per component) or else their committee's spread; an
        array: sigma in eV/Å per atom (N,) or per component (N, 3). Why unweighted is the default, and the scores of
        a weighted fit: :mod:`~trajmodes.forceconstants.committee`.
    committee : {"auto", True, False}
        Fit every member of a committee of learned potentials whose forces the data carry, in the same pass (they
        share A'A): :attr:`committee_params_`, :attr:`committee_force_constants_`. "auto" (default): where every run
        carries one, in plain fits (not polar, species-resolved or with a held fc2).

    Attributes
    ----------
    force_constants_ : ForceConstants
        Compact fc2 (n_prim, N, 3, 3) eV/Å² on the reference supercell; with ``cutoff3`` its ``fc3_sparse``
        holds the third order as its triplets
        (:class:`~trajmodes.forceconstants.cluster_constants.ClusterConstants`, built from the basis without the dense
        array).
    fc2_ : ndarray (n_prim, N, 3, 3)
        The fitted second-order constants, compact layout on the reference supercell, eV/Å².
    fc3_ : ndarray (n_prim, N, N, 3, 3, 3) or None
        The fitted third-order constants, dense compact layout, eV/Å³ (216 n_prim N^2 bytes); None without
        ``cutoff3``.
    fc4_ : ClusterConstants or None
        With ``cutoff4``: the fourth order, as its quartets and their blocks (eV/Å⁴).
    dipole_fc2_ : ndarray (n_prim, N, 3, 3), eV/Å², or None
        With ``born``: the dipole-dipole constants Phi_dd taken out (full constants = ``fc2_`` + this).
    ewald_lambda_ : float or None
        With ``born``: the Ewald parameter used, 1/Å with 2 pi.
    sites_reference_ : Structure or None
        The sites of the second pass where the free internal coordinates moved (:attr:`mean_sites_`), else None.
    time_average_ : Structure or None
        The time average (Å) of the one run fitted where the fit took it in its pass, else None (``run.with_average``).
    params_ : dict
        Order (2, 3, ...) -> ndarray of the fitted irreducible parameters of that order's basis (eV/Å^order).
    bases_ : dict
        Order -> IFCBasis, the symmetry-irreducible basis the parameters multiply.
    scores_ : xarray.Dataset
        Per order (dimension ``order``): ``r2``, ``rmse`` (eV/Å), ``cv_rmse`` (eV/Å), ``n_params``,
        ``condition_number``; scalars ``sigma_a``, ``n_frames``, ``n_rows``.
    blocks_ : NormalBlocks
        The summed normal equations per fold (refit in another mode with :meth:`refit`).
    segments_ : NormalBlocks
        The normal equations per time segment (summed over the runs), with the sums of A'u and of the MD
        potential energy that :attr:`energies_` needs.
    energies_ : dict
        Means over the frames, eV per supercell: ``potential`` <U_MD> (NaN unless every frame has one),
        ``harmonic`` <1/2 u Phi u> with the fitted Phi, and ``baseline`` U_0 = <U_MD - 1/2 u Phi u>, the
        energy that the TDEP free energy adds to the harmonic one (Hellman et al. 2013, eq. 9); with ``cutoff3``
        also ``cubic`` <1/6 Psi u u u> with the fitted Psi, which the third-order correction of the free energy
        takes out of U_0 (:func:`trajmodes.phonons.thermodynamics.free_energy.tdep_free_energy`); with ``cutoff4`` also ``quartic``
        <1/24 Chi u u u u>.
    temperature_ : float
        Mean kinetic temperature of the fitted frames, K (3N - 3 degrees of freedom; NaN when not every frame has
        velocities and masses).
    cell_strain_ : ndarray (6,)
        Mean Voigt strain of the frames' cells from the reference cell (zero in a fixed cell that is the
        reference's); a mean strain beyond 1e-4 and 4 standard errors is warned about (a variable-cell run measured
        from a reference that is not its mean cell).
    cell_strain_cov_ : ndarray (6, 6)
        Covariance of the frames' strains.
    virtual_sites_ : VirtualSites or None
        The virtual crystal of a disordered sample (:func:`~trajmodes.forceconstants.alloy.virtual_sites`), or None.
    sample_species_, sample_masses_ : ndarray (N,)
        The sample's own species and masses (amu) of every atom of :attr:`supercell_` (whose are the virtual
        crystal's for a disordered sample).
    committee_params_ : dict or None
        Every committee member's parameters, order -> (M, P_o), solved with the fit's A'A (the fit itself is that of
        the ``forces``, the members' mean where the file has no other); None without a committee. Their spread is the
        committee's error bar beside the bootstrap's: :func:`~trajmodes.forceconstants.committee.committee_view`.
    cell_dofs_ : int
        How many independent strains of the box fluctuate (0 in a fixed cell, 1 for an isotropic barostat, 3 for
        an anisotropic one, 6 triclinic): each holds k_B T / 2 of elastic energy in <U_MD>, which the TDEP free
        energy takes out (:func:`trajmodes.phonons.thermodynamics.free_energy.tdep_free_energy`).
    """

    def __init__(self, cutoff2: float = 6.0, cutoff3: float | None = None, mode: str = "sequential",
                 folds: int = 5, stride: int = 1, n_frames: int | None = None, symprec: float = SYMPREC,
                 cv: str = "blocks", rcond: float | None = None, build_basis=None, constraints=(),
                 allow_p1: bool = False, segments: int = 20, fc2: ForceConstants | None = None, born=None,
                 epsilon=None, ewald_lambda: float | None = None, nac_factor: float | None = None,
                 cutoff4: float | None = None, species_resolved: bool = False, weights=None, committee="auto",
                 keep_reference: bool = False):
        self.keep_reference = bool(keep_reference)
        self.weights = weights
        self.committee = committee
        self.fc2 = fc2
        self.species_resolved = species_resolved
        self.cutoff4 = cutoff4
        self.born = born
        self.epsilon = epsilon
        self.ewald_lambda = ewald_lambda
        self.nac_factor = nac_factor
        self.cutoff2 = cutoff2
        self.cutoff3 = cutoff3
        self.mode = mode
        self.folds = folds
        self.stride = stride
        self.n_frames = n_frames
        self.symprec = symprec
        self.cv = cv
        self.rcond = rcond
        self.build_basis = build_basis
        self.constraints = tuple([constraints] if isinstance(constraints, str) else constraints)
        self.allow_p1 = bool(allow_p1)
        self.segments = segments

    # -- setup ---------------------------------------------------------------------------------
    def _select(self, traj):
        t = traj[::int(self.stride)] if int(self.stride) > 1 else traj
        if self.n_frames is not None and self.n_frames < t.n_frames:
            if self.n_frames < 1:
                raise ValueError(f"n_frames must be >= 1, not {self.n_frames}")
            idx = np.unique(np.rint(np.linspace(0, t.n_frames - 1, int(self.n_frames))).astype(np.int64))
            t = t[idx]
        return t

    def _setup(self, supercell: Crystal, symprec: float | None = None):
        symprec = float(self.symprec if symprec is None else symprec)
        # a held fc2 names the primitive cell: the orders then share it (its q-points, its eigenvectors)
        known = self.__dict__.pop("_primitive_of", None)
        if self.fc2 is not None:
            primitive = self.fc2.primitive
        elif known is not None and known[0] is supercell:
            primitive = known[1]
        else:
            primitive = supercell.primitive(symprec)
        smap = supercell.supercell_map(primitive)
        skeleton = ForceConstants(np.zeros((primitive.n_atoms, supercell.n_atoms, 3, 3)), supercell, primitive,
                                  smap=smap)
        build = self.build_basis or default_build_basis
        if self.species_resolved:
            from trajmodes.forceconstants.alloy import species_pair_basis
            p2s = np.array([np.flatnonzero(smap.atom == k)[0] for k in range(primitive.n_atoms)], dtype=np.int64)
            basis = species_pair_basis(supercell, primitive, smap, p2s, basis_cutoff(self.cutoff2),
                                       self.sample_species_, symprec)
            return supercell, primitive, smap, p2s, {2: basis}
        bases = {2: self._basis2(skeleton, primitive, symprec)}
        if self.cutoff3 is not None:
            bases[3] = build(skeleton, 3, basis_cutoff(self.cutoff3), primitive=primitive, symprec=symprec)
        if self.cutoff4 is not None:
            bases[4] = build(skeleton, 4, float(self.cutoff4), primitive=primitive, symprec=symprec)
        p2s = np.asarray(bases[2].p2s, dtype=np.int64)
        for o, b in bases.items():
            if not np.array_equal(np.asarray(b.p2s), p2s):
                raise ValueError(f"the order-{o} basis has other primitive representatives (p2s) than order 2")
        return supercell, primitive, smap, p2s, bases

    def _basis2(self, skeleton, primitive, symprec):
        """The order-2 basis of the settings (``cutoff2``, ``constraints``; every pair with a held fc2) on the
        ``skeleton`` force constants of the supercell."""
        build = self.build_basis or default_build_basis
        c2 = None if self.fc2 is not None else basis_cutoff(self.cutoff2)    # a held fc2: every pair
        basis = build(skeleton, 2, c2, primitive=primitive, symprec=symprec)
        if self.constraints:
            from trajmodes.forceconstants.constraints import constrain
            basis = constrain(basis, skeleton.supercell, self.constraints)
        return basis

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, data, reading=None) -> "EffectiveForceConstants":
        """Fit to a trajectory or a list of trajectories at one temperature (pooled).

        The frames are read once, with the work the caller added to ``reading`` (``handle = reading.add(acc)``,
        read through :func:`~trajmodes.forceconstants.normal.fit_layer`; ``handle.value`` after). The runs given are
        left as they were: a time average the fit takes in its pass is :attr:`time_average_`.

        Parameters
        ----------
        data : Trajectory or list of Trajectory
            With forces, on the same supercell (same atoms in the same order).
        reading : Pass, optional
            The first run's pass (:meth:`~trajmodes.trajectory.core.Trajectory.read_pass`); default one of its own.

        Returns
        -------
        self
        """
        check_settings(self)
        if not (self.__dict__.get("_crystal_checked") or self.__dict__.get("_sites_settled")):
            self.run_crystal_ = self.run_reference_ = self.sites_reference_ = self.time_average_ = None
        trajs = [data] if not isinstance(data, (list, tuple)) else list(data)
        if not trajs:
            raise ValueError("no trajectories to fit")
        trajs = [self._select(t) for t in trajs]
        reading = trajs[0].read_pass() if reading is None else reading
        trajs[0] = first = trajs[0].in_pass(reading)          # read in the pass: the run given is left as it was
        for t in trajs[1:]:
            if t.n_atoms != first.n_atoms or not np.array_equal(t.species, first.species):
                raise ValueError("pooled trajectories must have the same atoms in the same order")
        # the run's time average still to be taken: summed in the fit's own pass, the displacements measured from
        # the ideal sites of a provisional reference (the same sites, up to one translation of the whole crystal,
        # which the constants do not see: they obey the acoustic sum rules)
        # (on a dask.distributed cluster too: the mean displacement is a result of the pass, gathered here)
        plain = self.fc2 is None and self.born is None and not self.species_resolved
        extra = fit_fields(trajs, self.weights, self.committee, plain)
        layer = fit_layer(first, extra=extra)
        prov = reading.provisional_reference(layer=layer) if len(trajs) == 1 and not first.reference_known else None
        ref = first.reference if prov is None else prov
        spec = first.reference_spec
        averaged = first.reference_is_average
        if isinstance(spec, str) and spec == "first" and first.n_frames > 1 and not first.reference_given:
            # a thermal snapshot is a poor reference (0.1-0.2 A of noise hides the lattice from the symmetry
            # search); the run's own time average is close to the ideal crystal
            warnings.warn(f"{first.source.describe()}: no reference crystal was given, so displacements are measured "
                          "from the time average of the run (not its first frame, a thermal snapshot); pass the "
                          "ideal reference (the LAMMPS data file of the run) to avoid the extra pass",
                          UserWarning, stacklevel=2)
            ref, averaged = first.average_structure(), True
        # the serial work before the pass (symmetry, bases, kernel) while a thread parses the pass's first frames
        with reading.reading_ahead(layer) if prov is not None else contextlib.nullcontext():
            if ref.cell is None:
                raise ValueError(f"{first.source.describe()}: neither the frames nor the reference hold a cell "
                                 "(box), and force constants of a crystal need its periodic cell: give reference= a "
                                 "structure with the cell (a LAMMPS data file, a POSCAR), or write the run in a format "
                                 "that stores the box (extended XYZ Lattice=, a LAMMPS dump)")

            def crystal(r):
                return Crystal.from_structure(r, masses=r.masses if r.masses is not None else first.masses)
            try:
                supercell, tol = self._ideal(crystal(ref), averaged)
            except ValueError:
                if prov is None:
                    raise
                # the few frames of the provisional reference too noisy for the symmetry search: an average of
                # more frames, then the average of the run, in a pass of its own
                try:
                    prov = ref = reading.provisional_reference(denser=True, layer=layer)
                    supercell, tol = self._ideal(crystal(ref), averaged)
                except ValueError:
                    prov, ref = None, first.reference
                    supercell, tol = self._ideal(crystal(ref), averaged)
            self.prepare(supercell, tol)
            check_memory(self)
            settled = self.__dict__.get("_sites_settled", False)        # the second pass of a fit whose sites moved
            ideal = Structure(supercell.positions + ref.origin, ref.cell, ref.species, ref.masses, ref.origin)
            if prov is None and not (averaged or settled or getattr(first.source, "displacement_set", False)):
                # a given reference: the crystal the run holds, from a few of its frames, before the fit's pass
                if (again := refit_on_run_crystal(self, data, first, ideal, tol, reading)) is not None:
                    return again
            sites = None
            if prov is not None:
                sites = prov
            elif not (averaged or settled or getattr(first.source, "displacement_set", False)):
                # a given reference (a 0 K data file): the run's mean sites against it, in the same pass
                sites = ideal
            if sites is not None:
                mean_displacement = reading.add(first.mean_displacement(sites))
        normal, members = split_committee(normal_equations(
            trajs, self.kernel_, folds=int(self.folds), cv=self.cv, reference=ideal, segments=int(self.segments),
            weights=self.weights, extra=extra, members=plain and "committee_forces" in extra and
            self.committee is not False, reading=reading))
        moved = None
        if sites is not None:
            mean_u = mean_displacement.value
            if prov is not None:
                self.time_average_, d = settle_average(first, prov, mean_u, ideal)
                if not settled:
                    moved = self._mean_sites(first, d, ideal, "the average of a few of its frames", given=False)
            else:
                moved = self._mean_sites(first, mean_u, ideal, "the reference")
        reading.release()                     # frames held for the pass (read ahead, a denser provisional reference)
        if moved is not None:
            # the fit again, from the run's own mean sites: one more pass, only where the sites moved
            self._sites_settled = True
            try:
                again = [t.with_reference(moved) for t in ([data] if not isinstance(data, (list, tuple)) else data)]
                self.sites_reference_ = moved        # later fits of the run measure from them (the offset said once)
                return self.fit(again if isinstance(data, (list, tuple)) else again[0])     # keeps time_average_
            finally:
                del self._sites_settled
        self._store(normal, members)
        return self._solve()

    def _mean_sites(self, traj, mean_u, ideal: Structure, source: str, given: bool = True) -> Structure | None:
        """The run's mean sites against the ideal sites of ``source`` the fit measured from
        (:func:`~trajmodes.lattice.ideal.mean_sites`, kept as :attr:`mean_sites_`; what they show is warned about
        where the sites were ``given``):
        those sites with the free internal coordinates at the run's where they moved beyond the noise, else None."""
        from trajmodes.lattice.ideal import mean_sites
        self.mean_sites_ = sites = mean_sites(self.supercell_, self.primitive_, self.smap_.atom,
                                              np.asarray(mean_u, float), float(self.symprec))
        for message in sites.messages(self.primitive_, traj.source.describe(), source) if given else ():
            warnings.warn(message, UserWarning, stacklevel=3)
        return sites.reference(ideal) if sites.moved else None

    def _store(self, normal, members=None) -> None:
        """Keep the normal equations per fold (``blocks_``) and per time segment (``segments_``), a committee's
        right-hand sides per segment (``committee_blocks_``, None without), and the statistics of the frames' cells."""
        fold, segment = block_layout(normal.ids, int(self.segments), int(self.folds), self.cv)
        self.committee_blocks_ = None if members is None else members.grouped(segment)
        self.blocks_ = normal.grouped(fold)
        self.segments_ = normal.grouped(segment)
        self.cell_strain_, se, self.cell_strain_cov_, self.cell_dofs_ = cell_statistics(self.segments_)
        said = cell_mismatch(self.cell_strain_, se)
        if said is not None:
            warnings.warn(said, UserWarning, stacklevel=3)

    def _ideal(self, supercell: Crystal, averaged: bool = False) -> tuple[Crystal, float]:
        """:func:`~trajmodes.lattice.ideal.ideal_crystal` of the reference with this estimator's settings
        (``averaged``: the reference is the run's time average); for a reference whose species are disordered on
        the sites of a lattice, the ideal sites of its virtual crystal (:func:`~trajmodes.forceconstants.alloy.
        virtual_sites`), which :meth:`prepare` then takes."""
        from trajmodes.forceconstants.alloy import virtual_sites
        try:
            return ideal_crystal(supercell, float(self.symprec), self.allow_p1, stacklevel=3, averaged=averaged)
        except ValueError:
            found = {}

            def find(c):
                ideal, tol = ideal_crystal(c, float(self.symprec), False, stacklevel=4, averaged=True)
                found["tol"] = tol
                return ideal, ideal.primitive(tol)
            vs = virtual_sites(supercell, float(self.symprec), find=find, ordered=False)
            if vs is None:
                raise
            self._virtual_pending = vs
            return vs.supercell, found["tol"]

    def _virtual(self, supercell: Crystal, symprec: float):
        """The virtual crystal of ``supercell`` when its species are disordered on the sites of a lattice (found by
        :meth:`_ideal`, or here for an ideal supercell without lattice translations), else None; warns in one line."""
        from trajmodes.forceconstants.alloy import virtual_sites
        vs = self.__dict__.pop("_virtual_pending", None)
        if vs is not None and vs.supercell is not supercell:
            vs = None
        if vs is None and not self.allow_p1 and self.fc2 is None and len(np.unique(supercell.types)) > 1:
            primitive = supercell.primitive(symprec)
            self._primitive_of = (supercell, primitive)               # for _setup: not searched twice
            if primitive.n_atoms == supercell.n_atoms:
                vs = virtual_sites(supercell, symprec, ordered=False)
        if vs is not None and not self.species_resolved:   # (constants per species pair: asked for)
            warnings.warn(vs.message, UserWarning, stacklevel=4)
        return vs

    def fit_arrays(self, reference, displacements, forces, energies=None, temperatures=None,
                   cells=None, committee_forces=None, force_std=None) -> "EffectiveForceConstants":
        """Fit to frames held in memory (for small data and comparisons with other codes).

        Parameters
        ----------
        reference : Crystal or Structure
            The ideal supercell the displacements are measured from (atoms in the arrays' order).
        displacements : array_like (n_frames, N, 3)
            u in Å.
        forces : array_like (n_frames, N, 3)
            eV/Å (the mean force of each frame is removed here).
        energies : array_like (n_frames,), optional
            Potential energy of every frame in eV (for :attr:`energies_` and the free energy).
        temperatures : array_like (n_frames,), optional
            Kinetic temperature of every frame in K (for :attr:`temperature_` and its error).
        cells : array_like (n_frames, 3, 3), optional
            The cell of every frame (Å, rows a, b, c) of a variable-cell run, for :attr:`cell_strain_` and
            :attr:`cell_dofs_` (the displacements are already measured in the reference cell).
        committee_forces : array_like (n_frames, M, N, 3), optional
            A committee's forces, eV/Å: every member fitted too (:attr:`committee_params_`; ``committee`` not False).
        force_std : array_like, optional
            The force uncertainty sigma (eV/Å) per frame, (n_frames, N) or (n_frames, N, 3), for
            ``weights="uncertainty"`` (else the committee's spread; an array ``weights`` is used as it is).

        Returns
        -------
        self
        """
        check_settings(self)
        supercell = reference if isinstance(reference, Crystal) else Crystal.from_structure(reference)
        u = np.asarray(displacements, float).reshape(-1, supercell.n_atoms, 3)
        f = np.asarray(forces, float).reshape(u.shape)
        sel = np.arange(len(u))[::int(self.stride)]
        if self.n_frames is not None and self.n_frames < len(sel):
            sel = sel[np.unique(np.rint(np.linspace(0, len(sel) - 1, int(self.n_frames))).astype(np.int64))]
        u, f = u[sel], f[sel]
        self.prepare(supercell)
        bid = block_ids(len(u), int(self.segments), int(self.folds), self.cv)
        members, sigma = arrays_committee(self, committee_forces, force_std, sel, u.shape)
        e, t = (None if x is None else np.asarray(x, float).reshape(-1)[sel] for x in (energies, temperatures))
        c = None if cells is None else np.asarray(cells, float).reshape(-1, 3, 3)[sel]
        blk, members = split_committee(chunk_blocks(self.kernel_, u, f, bid, e, t, c, supercell.cell if c is not None
                                                    else None, members, sigma))
        self._store(blk, members)
        return self._solve()

    def prepare(self, supercell: Crystal, symprec: float | None = None) -> "EffectiveForceConstants":
        """Set the estimator up on the ideal ``supercell`` without fitting: the primitive cell, the supercell map, the
        parameter bases and the design kernel, as :meth:`fit` does first. For code that fills the normal equations
        itself (a series sharing one basis across its runs).

        Parameters
        ----------
        supercell : Crystal
            The ideal supercell of the runs to be fitted.
        symprec : float, optional
            spglib tolerance for its symmetry, Å (default the estimator's ``symprec``).
        """
        self.symprec_used_ = float(self.symprec if symprec is None else symprec)
        self.virtual_sites_ = vs = self._virtual(supercell, self.symprec_used_)
        self.sample_species_ = np.asarray(supercell.species if vs is None else vs.species)
        self.sample_masses_ = np.asarray(supercell.masses if vs is None else vs.masses, float)
        if vs is not None:
            supercell = vs.supercell
        self.supercell_, self.primitive_, self.smap_, self.p2s_, self.bases_ = self._setup(supercell, symprec)
        check_reaches_a_pair(self.bases_.get(2), self.supercell_, self.p2s_)       # before a pass, not after it
        self._make_kernel()
        return self

    def share_kernel(self, first: "EffectiveForceConstants") -> None:
        """Take the fitted ``first``'s design kernel at the next :meth:`prepare` where it is the same (the same basis
        objects and supercell map, as in a series; not polar or species-resolved) instead of building another.

        Parameters
        ----------
        first : EffectiveForceConstants
            A fit already prepared on the same supercell (its ``kernel_`` is read, never changed).
        """
        self._kernel_of = first

    def _shared_kernel(self):
        """The kernel :meth:`share_kernel` offered, where it is this fit's own; else None."""
        first = self.__dict__.pop("_kernel_of", None)
        if first is None or getattr(first, "kernel_", None) is None or self.born is not None or first.born is not None \
                or self.species_resolved or getattr(first, "species_resolved", False):
            return None
        same = (len(self.bases_) == len(first.bases_) and all(self.bases_.get(o) is b for o, b in first.bases_.items())
                and np.array_equal(self.p2s_, first.p2s_) and np.array_equal(self.smap_.atom, first.smap_.atom)
                and np.array_equal(self.smap_.lattice, first.smap_.lattice)
                and np.array_equal(self.smap_.matrix, first.smap_.matrix))
        return first.kernel_ if same else None

    def _make_kernel(self) -> None:
        """The design kernel of :attr:`bases_` (with the dipole-dipole forces taken out in a polar fit), or the one
        :meth:`share_kernel` offered where it is the same."""
        self.kernel_ = None            # a refit's old tables (1.1 GB at 864,000 atoms) go before the new ones are built
        shared = self._shared_kernel()
        if shared is not None:
            self.kernel_ = shared
            self.dipole_fc2_ = self.ewald_lambda_ = self.born_ = self.epsilon_ = None
            return
        if self.species_resolved:
            from trajmodes.forceconstants.alloy import SpeciesPairKernel
            self.kernel_ = SpeciesPairKernel(self.bases_[2])
            self.dipole_fc2_ = self.ewald_lambda_ = self.born_ = self.epsilon_ = None
            return
        self.kernel_ = DesignKernel([self.bases_[o] for o in sorted(self.bases_)], self.smap_, p2s=self.p2s_)
        self.dipole_fc2_ = self.ewald_lambda_ = self.born_ = self.epsilon_ = None
        if self.born is not None:
            self.born_, self.epsilon_, self.ewald_lambda_, self.dipole_fc2_, self.kernel_ = polar_kernel(
                self.kernel_, self.primitive_, self.supercell_, self.smap_, self.p2s_, self.born, self.epsilon,
                self.ewald_lambda, self.nac_factor)


    def refit(self, mode: str | None = None, cutoff2: float | None = None) -> "EffectiveForceConstants":
        """Solve again from the stored normal equations, in another ``mode`` and/or with a shorter pair cutoff
        ``cutoff2`` (Å): no pass over the frames.

        The constants within a shorter cutoff are those of the fitted model whose pairs beyond it vanish
        (:mod:`~trajmodes.forceconstants.convergence`), so the normal equations of the fitted basis, projected
        onto the order-2 basis of ``cutoff2``, are those a fit at ``cutoff2`` would have accumulated: the result is
        that fit, to round-off. The third and fourth orders keep their bases.

        Parameters
        ----------
        mode : {"sequential", "simultaneous"}, optional
            The fit's mode (default the one fitted).
        cutoff2 : float, optional
            A pair cutoff no longer than the fitted one, Å (default the fitted one).
        """
        if mode is not None and mode not in ("sequential", "simultaneous"):
            raise ValueError(f"mode must be 'sequential' or 'simultaneous', not {mode!r}")
        if cutoff2 is not None:
            self._narrow_cutoff2(cutoff2)              # checked before anything changes: a refused cutoff keeps all
        if mode is not None:
            self.mode = mode
        return self._solve()

    def _narrow_cutoff2(self, cutoff2) -> None:
        """Project the stored normal equations onto the order-2 basis of the shorter ``cutoff2`` (Å)."""
        from trajmodes.forceconstants.convergence import embedding, project_blocks
        if not hasattr(self, "blocks_"):
            raise ValueError("refit(cutoff2=) needs a fitted estimator: call fit() first")
        if self.fc2 is not None:
            raise ValueError("the second order is held (fc2=): there is no pair cutoff to change")
        if self.species_resolved:
            raise ValueError("refit(cutoff2=) narrows the virtual crystal's basis; fit the species-resolved constants "
                             "again with the shorter cutoff2")
        old, new = cutoff_length(self.cutoff2), cutoff_length(cutoff2)
        if new > old + 1e-9:
            raise ValueError(f"cutoff2={cutoff2} A is longer than the fitted {self.cutoff2} A: the normal equations "
                             "hold no pairs beyond it; fit again with the longer cutoff")
        previous = self.cutoff2
        skeleton = ForceConstants(np.zeros((self.primitive_.n_atoms, self.supercell_.n_atoms, 3, 3)),
                                  self.supercell_, self.primitive_, smap=self.smap_)
        try:
            self.cutoff2 = cutoff2
            check_settings(self)
            small = self._basis2(skeleton, self.primitive_, self.symprec_used_)
            T2 = embedding(self.bases_[2], small)
        except (ValueError, TypeError):
            self.cutoff2 = previous
            raise
        sizes = self.kernel_.sizes
        T = np.zeros((int(np.sum(sizes)), small.n_params + int(np.sum(sizes[1:]))))
        T[:sizes[0], :small.n_params] = T2
        T[sizes[0]:, small.n_params:] = np.eye(int(np.sum(sizes[1:])))
        self.blocks_ = project_blocks(self.blocks_, T)
        self.segments_ = project_blocks(self.segments_, T)
        if getattr(self, "committee_blocks_", None) is not None:
            self.committee_blocks_ = self.committee_blocks_.projected(T)
        self.bases_ = {**self.bases_, 2: small}
        self._make_kernel()

    def _solve(self) -> "EffectiveForceConstants":
        blk = self.blocks_
        orders = sorted(self.bases_)
        sizes = np.array([self.bases_[o].n_params for o in orders])
        P = int(sizes.sum())
        G, b, ff, n = blk.total()
        n_frames = int(blk.n_frames.sum())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)      # 0 / 0 of a singular system
            if self.fc2 is not None:
                p, info = self._solve_held(G, b)
            else:
                p, info = fit_params(G, b, sizes, self.mode, self.rcond)
        off = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.params_ = {o: p[off[i]:off[i + 1]].copy() for i, o in enumerate(orders)}
        self.committee_params_ = solve_committee(self, G, sizes)
        warn_ill_posed(self.mode, n, P, sizes, info, orders, n_frames)
        c2, c3 = cutoff_length(self.cutoff2), None if self.cutoff3 is None else cutoff_length(self.cutoff3)
        self.scores_ = scores(blk, p, sizes, orders, info, self.mode, self.rcond, self.cv, c2, c3, self.cutoff4)
        cv = None if self.fc2 is None else held_cv_rmse(blk, p, int(sizes[0]), self.rcond)
        if cv is not None:
            self.scores_["cv_rmse"].values[:] = cv
        self.fc2_ = self.bases_[2].to_compact(self.params_[2])
        self.energies_ = mean_energies(blk, self.params_[2], self.params_.get(3),     # the same from folds or segments
                                       self.params_.get(4))
        nt = float(np.sum(blk.n_temperature))
        self.temperature_ = float(np.sum(blk.temperature)) / nt if nt and nt == n_frames else float("nan")
        for name in ("params_err_", "params_samples_", "energies_err_", "energies_samples_", "blocking_ratio_",
                     "temperature_err_", "temperature_samples_", "temperature_blocking_", "blocking_curve_",
                     "blocking_converged_", "n_effective_", "error_bars_flagged_", "energy_conserved_",
                     "temperature_ensemble_err_"):
            self.__dict__.pop(name, None)                    # a new solution: the bootstrap is out of date
        return self

    @property
    def fc3_(self) -> np.ndarray | None:
        """Compact third order (n_prim, N, N, 3, 3, 3) eV/Å³, built from :attr:`params_` on each access and not
        kept: a series of many runs holds only their parameters (216 atoms: 20 MB per run otherwise)."""
        return self.bases_[3].to_compact(self.params_[3]) if 3 in self.bases_ else None

    @property
    def fc4_(self):
        """The fourth order as :class:`~trajmodes.forceconstants.cluster_constants.ClusterConstants` (its quartets
        and blocks, eV/Å⁴), or None without ``cutoff4``."""
        if 4 not in self.bases_:
            return None
        from trajmodes.forceconstants.cluster_constants import ClusterConstants
        return ClusterConstants.from_basis(self.bases_[4], self.params_[4])

    @property
    def force_constants_(self):
        """The fitted :class:`ForceConstants` (with ``fc3`` and ``fc4`` when fitted), built on each access."""
        return self._make_fc(self.fc2_, self._cubic(self.params_.get(3)), self.fc4_)

    def _cubic(self, params):
        """The third order of the parameters ``params`` as its triplets (ClusterConstants), or None without them."""
        if params is None or 3 not in self.bases_:
            return None
        from trajmodes.forceconstants.cluster_constants import ClusterConstants
        return ClusterConstants.from_basis(self.bases_[3], params)

    @property
    def sample_force_constants_(self):
        """With ``species_resolved``: the sample's own second-order constants at the Gamma point of its supercell,
        scipy.sparse.csr_matrix (3N, 3N) eV/Å² in the atom order of :attr:`supercell_` (every bond's block for the
        species on its ends, the self terms from the sum rule atom by atom), for
        :func:`trajmodes.disorder.mass_disorder.exact_lineshapes` (``sample_constants=``) with
        :attr:`sample_masses_`."""
        self._species_only("sample_force_constants_")
        return self.bases_[2].sample_matrix(self.params_[2])

    @property
    def species_constants_(self):
        """With ``species_resolved``: the constants of every orbit's representative bond per species pair, an
        xarray Dataset (:func:`trajmodes.forceconstants.alloy.species_pair_table`: ``block``, ``radial`` eV/Å²,
        ``n_bonds``; ``block_err`` and ``radial_err`` after :meth:`bootstrap`)."""
        from trajmodes.forceconstants.alloy import species_pair_table
        self._species_only("species_constants_")
        samples = getattr(self, "params_samples_", {}).get(2)
        return species_pair_table(self.bases_[2], self.params_[2], samples, self.segments_.n_blocks)

    def _species_only(self, name: str) -> None:
        if not self.species_resolved or not hasattr(self, "params_"):
            raise ValueError(f"{name} needs a species-resolved fit: EffectiveForceConstants(species_resolved=True, "
                             "cutoff2=...).fit(...)")

    @property
    def committee_force_constants_(self) -> list | None:
        """Every committee member's :class:`ForceConstants` (with ``fc3`` where fitted), or None without a
        committee."""
        p = getattr(self, "committee_params_", None)
        return None if p is None else [self._make_fc(
            self.bases_[2].to_compact(p[2][m]), None if 3 not in p else self._cubic(p[3][m]),
            None if 4 not in p else (self.bases_[4].sites, self.bases_[4].blocks(p[4][m]))) for m in range(len(p[2]))]

    @property
    def harmonic_force_constants_(self):
        """The fitted second order alone as :class:`ForceConstants` (for harmonic phonons: no third order built)."""
        return self._make_fc(self.fc2_, None)

    def _make_fc(self, fc2, fc3, fc4=None):
        kw = dict(smap=self.smap_, p2s=self.p2s_)
        if self.fc2 is not None and fc3 is not None and self.fc2.supercell.n_atoms != self.supercell_.n_atoms:
            kw["phonon_fc2"] = self.fc2               # held on a larger supercell: the phonons the third order scatters
        if fc4 is not None:
            kw["fc4"] = fc4
        if getattr(self, "born_", None) is not None:
            kw.update(born=self.born_, epsilon=self.epsilon_, nac_factor=self.nac_factor, short_range=True,
                      ewald_lambda=self.ewald_lambda_)
        return ForceConstants(fc2, self.supercell_, self.primitive_, fc3=fc3, **kw)

    # -- a held fc2 (phono3py's --dim-fc2) ------------------------------------------------------
    def _held_params(self) -> np.ndarray:
        """Order-2 parameters of the held :attr:`fc2` on the fitted supercell, kept for its basis."""
        if getattr(self, "_held_p2", None) is None or self._held_p2[0] is not self.bases_[2]:
            self._held_p2 = (self.bases_[2], held_params(self.fc2, self.bases_[2], self.supercell_, self.p2s_))
        return self._held_p2[1]

    def _solve_held(self, G, b):
        """Parameters with order 2 held at the given fc2, and the conditioning of each order."""
        return solve_held(G, b, self._held_params(), self.rcond)

    @property
    def fixed_fc2_(self) -> ForceConstants | None:
        """The fc2 held fixed (as given, on its own supercell), or None."""
        return self.fc2

    # -- error bars: the block bootstrap --------------------------------------------------------
    def bootstrap(self, n_resamples: int = 200, seed: int | None = 0) -> "EffectiveForceConstants":
        """Error bars of every parameter and of :attr:`energies_` by the block bootstrap of the time segments'
        normal equations (:mod:`trajmodes.forceconstants.uncertainty`): no pass over the frames.

        The segments are resampled with replacement and every resample solved. Segments shorter than the correlation
        time make that spread too small, so a blocking analysis (H. Flyvbjerg and H. G. Petersen, J. Chem. Phys. 91,
        461 (1989)) of the segments' linearised contributions to the order-2 parameters
        (:func:`~trajmodes.forceconstants.uncertainty.segment_influence`) measures the error as a function of block
        length, 1, 2, 4, ... segments, and takes it at its plateau; the resamples' spread about the fit is scaled by
        the ratio of that error to the segments' own (``blocking_ratio_``, at least 1), so every quantity computed
        from the resamples inherits it. The mean kinetic temperature gets the same analysis of its own.

        Sets ``params_samples_`` (dict order -> (n_resamples, P_o)), ``params_err_`` (dict order -> (P_o,),
        standard errors in the parameters' units), ``energies_samples_`` / ``energies_err_`` (eV per supercell),
        ``temperature_samples_`` / ``temperature_err_`` (K), and the diagnostics

        - ``blocking_ratio_``: error at the blocking plateau / error from the segments (the factor applied);
        - ``blocking_curve_``: (n_blocks, ratio) at every block length, the curve the plateau was read from;
        - ``blocking_converged_``: False when the error still rises at the longest blocks (at least 4 of them): the
          correlation time is then comparable with the run, and the error bars are lower bounds;
        - ``n_effective_``: the effective number of independent segments, n_segments / blocking_ratio_^2;
        - ``temperature_blocking_``: the same ratio for the mean kinetic temperature;
        - ``energy_conserved_`` and ``temperature_ensemble_err_`` (K): whether the run keeps its total energy (NVE),
          and then the error of its mean temperature as an estimate of the temperature it was prepared at, with the
          canonical draw of its energy included (otherwise equal to ``temperature_err_``);
        - ``error_bars_flagged_``: True when a warning was raised (ratio above
          :data:`~trajmodes.forceconstants.uncertainty.BLOCKING_WARN`, or no plateau).

        What a single run cannot show is a deviation that stays fixed over all of it: its temperature in NVE (set by
        the initial conditions), or its share of energy per mode in a small, nearly harmonic crystal under NVE or
        Nose-Hoover; runs that differ only in their seeds then scatter more than these error bars (docs/series.md).

        Parameters
        ----------
        n_resamples : int
            Bootstrap resamples (each one P x P solve per order).
        seed : int or None
            Seed of the resampling (None: fresh randomness).

        Returns
        -------
        self
        """
        from trajmodes.forceconstants.uncertainty import block_bootstrap
        held = None if self.fc2 is None else (lambda G, b: self._solve_held(G, b)[0])  # fc3 only
        result = block_bootstrap(self.segments_, self.params_, self.kernel_, self.mode, self.rcond, self.energies_,
                                 self.temperature_, self.supercell_.n_atoms, n_resamples, seed, held=held,
                                 segments=self.segments)
        for name, value in vars(result).items():
            if name != "warning":
                setattr(self, name + "_", value)
        self.error_bars_flagged_ = result.warning is not None
        if result.warning is not None:
            warnings.warn(result.warning, UserWarning, stacklevel=2)
        return self

    def resampled_force_constants(self):
        """The :class:`ForceConstants` of every bootstrap resample (:meth:`bootstrap` first), one at a time."""
        if not hasattr(self, "params_samples_"):
            raise ValueError("no bootstrap resamples: call bootstrap() first")
        p2 = self.params_samples_[2]
        p3, p4 = self.params_samples_.get(3), self.params_samples_.get(4)
        for r in range(len(p2)):
            fc3 = None if p3 is None else self._cubic(p3[r])
            fc4 = None if p4 is None else (self.bases_[4].sites, self.bases_[4].blocks(p4[r]))
            yield self._make_fc(self.bases_[2].to_compact(p2[r]), fc3, fc4)

    def run_length_for(self, error, current_error) -> np.ndarray:
        """Frames needed for a standard error ``error`` of a quantity whose error is ``current_error`` now: error bars
        of averages over a run shrink as 1/sqrt(run length) once it is longer than the correlation time, so the run
        must be (current_error / error)² times as long as the frames fitted now.

        Parameters
        ----------
        error : float
            The standard error wanted, in the quantity's unit (THz for a frequency).
        current_error : float or array_like
            The quantity's standard error from the frames fitted now, same unit.
        """
        n = float(self.segments_.n_frames.sum())
        return np.ceil(n * (np.asarray(current_error, float) / float(error)) ** 2)

    # -- convenience ---------------------------------------------------------------------------
    def predict_forces(self, u: np.ndarray) -> np.ndarray:
        """Model forces (T, N, 3) in eV/Å for displacements ``u`` (T, N, 3) in Å (with ``born``: the short-range model's
        plus the dipole-dipole forces).

        Parameters
        ----------
        u : ndarray (T, N, 3)
            Displacements of T frames from the reference, Å.
        """
        p = np.concatenate([self.params_[o] for o in sorted(self.params_)])
        u = np.asarray(u, float).reshape(-1, self.smap_.atom.size, 3)
        f = (self.kernel_.design(u) @ p).reshape(u.shape)
        if isinstance(self.kernel_, DipoleSubtracted):
            f = f + self.kernel_.dipole_forces(u)
        return f

    def scores_table(self) -> str:
        """The scores as a small text table."""
        n = self.supercell_.n_atoms
        return format_scores(self.scores_, getattr(self, "temperature_", np.nan), self.energies_["potential"] / n,
                             self.energies_["baseline"] / n)

    def __repr__(self) -> str:
        c4 = "" if self.cutoff4 is None else f", cutoff4={self.cutoff4}"
        return (f"EffectiveForceConstants(cutoff2={self.cutoff2}, cutoff3={self.cutoff3}{c4}, mode={self.mode!r}, "
                f"folds={self.folds})")
