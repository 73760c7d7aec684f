"""Anharmonic lattice dynamics from second- and third-order force constants: three-phonon linewidths and
lifetimes, frequency shifts, spectral functions (lineshapes), mode Grueneisen parameters and lattice thermal
conductivity, on a q-mesh with the crystal's symmetry.

:class:`Anharmonic` is the facade; the pieces are :mod:`trajmodes.lattice.grid` (mesh, symmetry, triplets),
:mod:`trajmodes.phonons.anharmonic.interaction` (interaction strengths), :mod:`trajmodes.phonons.anharmonic.selfenergy`
(the bubble self-energy), :mod:`trajmodes.phonons.anharmonic.gruneisen` and
:mod:`trajmodes.phonons.anharmonic.conductivity`. Conventions: frequencies, linewidths and shifts in THz (ordinary
frequency); linewidth = full width at half maximum = 2 Gamma (Gamma the imaginary part of the self-energy); lifetime tau
= 1 / (2 pi FWHM) in ps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trajmodes.forceconstants.model import ForceConstants
from trajmodes.lattice.grid import Grid
from trajmodes.lattice.qpoints import parse_mesh
from trajmodes.lattice.spglib_calls import SYMPREC
from trajmodes.lattice.symmetry import cartesian_rotations
from trajmodes.phonons.harmonic.degeneracy import degenerate_average
from trajmodes.phonons.anharmonic.interaction import Interaction, triplet_block
from trajmodes.phonons.anharmonic.isotope import ISOTOPE_OVERLAPS, isotope_gamma
from trajmodes.phonons.anharmonic.selfenergy import (ADAPTIVE, ADAPTIVE_TDEP2023, delta_weights, imaginary_part,
                                                     live_triplets, occupations, real_part, width_variables)
from trajmodes.phonons.anharmonic.tdep2023 import check_occupation_factors, frequency_occupations, isotope_eigenvectors
from trajmodes.phonons.harmonic.stability import require_stable
from trajmodes.phonons.harmonic.statistics import check_occupation
from trajmodes.phonons.anharmonic.transport import (LBTEConductivity, ModeTransport, RTAConductivity,
                                                    ThreePhononSums, TransportVelocities)
from trajmodes.units import TDEP_FREQUENCY_TOL

__all__ = ["Anharmonic", "SelfEnergy"]


@dataclass(frozen=True)
class SelfEnergy:
    """The three-phonon self-energy at one q (:meth:`Anharmonic.self_energy`): ``gamma`` (the imaginary part, half
    width) and ``delta`` (the real part, shift), THz, each (n_temperatures, 3n) at the modes' own frequencies or
    (n_temperatures, 3n, n_frequencies), or None when not asked for; ``delta_static`` the real part at zero frequency,
    Delta(0), (n_temperatures, 3n), when asked for."""

    gamma: np.ndarray | None
    delta: np.ndarray | None
    delta_static: np.ndarray | None = None


class Anharmonic:
    """Three-phonon (bubble) self-energies and what follows from them, on a Gamma-centred q-mesh.

    Parameters
    ----------
    force_constants : ForceConstants
        With ``fc3`` (compact layout, eV/Å³): fitted (:class:`trajmodes.EffectiveForceConstants` with
        ``cutoff3``) or read (:meth:`ForceConstants.read`, phono3py's files). Attribute ``force_constants``.
    mesh : int, (3,) int or (3, 3) int
        The q-mesh the sums over q' run on (and the q-points of results by default); one int n is n x n x n.
        A 3 x 3 integer matrix is a supercell matrix S (``supercell.cell = S @ primitive.cell``): the grid of
        the q-points commensurate with that supercell (:class:`trajmodes.lattice.grid.Grid`), which is the
        phase space a molecular dynamics run in that supercell samples.
    temperatures : float or array_like
        Temperatures (K) at which the linewidths, shifts and conductivity are computed (the phonon occupations).
    occupation : {"quantum", "classical"}
        Bose-Einstein occupations, or the classical k_B T / (h nu) with n' + n'' + 1 -> n' + n'' (for comparison
        with classical molecular dynamics: widths and shifts then grow linearly with T).
    smearing : float, "adaptive", "adaptive-tdep2023" or None
        Gaussian smearing of the energy-conserving delta functions, standard deviation in THz. ``"adaptive"``:
        Gaussians as wide as the modes' frequencies change across one cell of the mesh, from their group velocities
        (TDEP's default; :func:`trajmodes.phonons.anharmonic.selfenergy.adaptive_variances`). ``"adaptive-tdep2023"``:
        those of TDEP's older ``thermal_conductivity_2023``, to compare with it (clamped per band, cut at 4 sigma,
        isotopes with the partner's width alone; :mod:`trajmodes.phonons.anharmonic.tdep2023`). None: the linear
        tetrahedron method.
    phonons : Phonons, optional
        Harmonic phonons for frequencies, eigenvectors and velocities, of the same primitive cell (default
        ``Phonons(force_constants.phonon_fc2)`` when the constants carry fc2 of a larger supercell, phono3py's
        ``--dim-fc2``, else ``Phonons(force_constants)``).
    cutoff_frequency : float
        Modes at or below this (THz), the acoustic modes at Gamma and imaginary modes, take no part.
    degeneracy_tol : float
        Branches closer than this (THz) are one degenerate set: results are averaged over it.
    symprec : float
        spglib tolerance (Å) for the point group of the mesh.
    chunk : int
        Triplets of q-points whose interaction strengths are computed together (default 512): memory grows with it,
        and a block is cut smaller where its largest temporary array would exceed
        :data:`trajmodes.phonons.anharmonic.interaction.BLOCK_BYTES`. The results do not depend on it.
    scheduler : str or dask client, optional
        Passed to ``dask.compute`` for the loop over q-points (default: Dask's threads).
    isotopes : None, True, float or (n_atoms,) float
        Isotope (mass-variance) scattering added to the widths (:mod:`trajmodes.phonons.anharmonic.isotope`; Tamura,
        Phys. Rev. B 27, 858 (1983)): True takes the natural abundances of the primitive cell's elements
        (:func:`trajmodes.lattice.isotopes.mass_variances`), numbers are the mass variances g2 per atom (one for all).
    isotope_overlap : {"tamura", "tdep"}
        Tamura's overlap of two modes (default), or TDEP's to compare with it
        (:mod:`trajmodes.phonons.anharmonic.isotope`), in a fixed basis of the degenerate subspaces
        (:func:`trajmodes.phonons.anharmonic.tdep2023.isotope_eigenvectors`).
    make_r0_average : bool
        Average the Fourier transform of fc3 over the three atoms of each triplet as the origin r0 (default True,
        phono3py's ``make_r0_average`` and its default; :mod:`trajmodes.phonons.anharmonic.interaction`). False: the
        first atom, as phono3py before version 3. The two differ where fc3 reaches atoms on the Wigner-Seitz boundary of
        the supercell or is not exactly symmetric under the exchange of atoms (constants of the whole supercell from
        finite displacements: Si-PBEsol kappa +1 % on 19^3); for constants within half the supercell (fits with
        shorter cutoffs) the results are bitwise the same.
    sigma_cutoff : float, optional
        Gaussian smearing only: terms of the three-phonon sums whose delta-function arguments all lie beyond
        ``sigma_cutoff`` standard deviations are dropped and their strengths not computed (phono3py's
        ``--sigma-cutoff``, ``sigma_cutoff_width``; :class:`trajmodes.phonons.anharmonic.selfenergy.DeltaWeights`).
        Faster; drops the tails of the Gaussians (Si-PBEsol with 3: kappa +0.3 %). None (default): untruncated
        Gaussians. The real part (shifts) is not affected.
    equal_frequencies : {"keep", "drop"}
        ``"drop"``: leave out the three-phonon terms in which two phonons have the same frequency (within
        :data:`trajmodes.units.TDEP_FREQUENCY_TOL`), as TDEP's ``thermal_conductivity`` does (F. Knoop et al., J.
        Open Source Softw. 9, 6150 (2024)). Only to compare with it: the terms are physical (MgO 5^3: RTA +40 %).
    occupation_factors : {"on-shell", "off-shell"}
        ``"off-shell"``: TDEP ``thermal_conductivity_2023``'s, at the modes' own frequencies whichever the frequency
        under the Gaussian (:mod:`trajmodes.phonons.anharmonic.tdep2023`; quantum only). To compare with it: not more
        physical, the default's where the Gaussians are narrow against k_B T / h.
    allow_unstable : bool
        Harmonic constants with imaginary modes (on the mesh, the q-points of their supercell or the special points:
        :func:`trajmodes.phonons.harmonic.stability.imaginary_modes`) are refused with an
        :class:`~trajmodes.phonons.harmonic.stability.UnstableConstantsError` that says how many, the lowest and where:
        the three- and four-phonon sums of an unstable harmonic crystal are not the crystal's (the 0 K constants of bcc
        Zr, stabilised by anharmonicity, are the common case; fit effective constants at the temperature instead).
        True goes on with the imaginary modes left out of the sums. Attribute ``imaginary``: what was found.
    """

    def __init__(self, force_constants: ForceConstants, mesh, temperatures=300.0, occupation: str = "quantum",
                 smearing: float | str | None = None, phonons=None, cutoff_frequency: float = 1e-4,
                 degeneracy_tol: float = 1e-4, symprec: float = SYMPREC, chunk: int = 512, scheduler=None,
                 isotopes=None, make_r0_average: bool = True, sigma_cutoff: float | None = None,
                 equal_frequencies: str = "keep", isotope_overlap: str = "tamura",
                 occupation_factors: str = "on-shell", allow_unstable: bool = False):
        check_occupation(occupation)
        self.occupation_factors = check_occupation_factors(occupation_factors, occupation)
        mesh = parse_mesh(mesh)
        T = np.atleast_1d(np.asarray(temperatures, dtype=float))
        if not np.isfinite(T).all() or (T < 0).any():
            raise ValueError(f"temperatures must be finite and >= 0 K, not {T.tolist()}")
        self.force_constants = force_constants
        self.temperatures, self.occupation, self.smearing = T, occupation, smearing
        self.degeneracy_tol, self.symprec, self.scheduler = float(degeneracy_tol), float(symprec), scheduler
        n_points = abs(round(np.linalg.det(mesh))) if np.ndim(mesh) == 2 else int(np.prod(mesh, dtype=float))
        nb = 3 * force_constants.n_prim
        from trajmodes.resources import require_memory
        # the frequencies and eigenvectors of every point of the mesh, its tables, one q's triplets and weights
        require_memory(n_points * (16.0 * nb * nb + 8.0 * nb + 200.0) + 24.0 * n_points * nb * nb,
                       f"the phonons of the {n_points:.3g} q-points of the mesh {np.asarray(mesh).tolist()} "
                       f"({nb} branches)", "use a smaller mesh")
        self.grid = Grid(mesh, force_constants.primitive.symmetry(symprec).rotations)
        self.sigma_cutoff = None if sigma_cutoff is None else float(sigma_cutoff)
        if self.sigma_cutoff is not None and smearing is None:
            raise ValueError("sigma_cutoff truncates the Gaussian smearing: give smearing=sigma (THz) with it, or "
                             "leave it out for the tetrahedron method")
        if phonons is None and getattr(force_constants, "phonon_fc2", None) is not None:
            from trajmodes.phonons.harmonic.phonons import Phonons
            phonons = Phonons(force_constants.phonon_fc2)
        if phonons is not None:
            other = force_constants.primitive.differences(phonons.force_constants.primitive)
            if other is not None:
                raise ValueError(f"the phonons given are of another primitive cell than the third-order constants "
                                 f"({other}): reduced q-points and eigenvectors would be mixed; fit or read both on "
                                 "one unit cell (EffectiveForceConstants(fc2=...) fits fc3 on the held fc2's cell)")
        if equal_frequencies not in ("keep", "drop"):
            raise ValueError(f"equal_frequencies must be 'keep' or 'drop', not {equal_frequencies!r}")
        if isotope_overlap not in ISOTOPE_OVERLAPS:
            raise ValueError(f"isotope_overlap must be one of {ISOTOPE_OVERLAPS}, not {isotope_overlap!r}")
        self.equal_frequencies, self.isotope_overlap = equal_frequencies, isotope_overlap
        self.interaction = Interaction(force_constants, self.grid, phonons, cutoff_frequency, chunk,
                                       make_r0_average=make_r0_average,
                                       equal_frequency_tol=TDEP_FREQUENCY_TOL if equal_frequencies == "drop" else None)
        self.phonons = self.interaction.phonons
        self.allow_unstable = bool(allow_unstable)
        self.imaginary = require_stable(self.phonons, "three-phonon widths, shifts and conductivities", allow_unstable,
                                        self.grid.qpoints, self.interaction.frequencies)
        adaptive = isinstance(smearing, str) and smearing in (ADAPTIVE, ADAPTIVE_TDEP2023) and self.grid.is_regular
        velocities = self.transport_velocities(self.grid.irreducible).group_velocity if adaptive else None
        self.deltas = delta_weights(self.grid, self.interaction.frequencies, smearing, force_constants.primitive,
                                    self.degeneracy_tol, self.sigma_cutoff, self.interaction.cutoff_frequency,
                                    velocities)
        if isotopes is None or isotopes is False:
            self.mass_variances = None
        elif isotopes is True:
            from trajmodes.lattice.isotopes import mass_variances
            self.mass_variances = mass_variances(force_constants.primitive.species)
        else:
            g2 = np.broadcast_to(np.asarray(isotopes, dtype=float), (force_constants.primitive.n_atoms,)).copy()
            if not np.isfinite(g2).all() or (g2 < 0).any():
                raise ValueError(f"isotope mass variances must be finite and >= 0, not {g2.tolist()}")
            self.mass_variances = g2

    def isotope_gamma(self, gps) -> np.ndarray:
        """Isotope-scattering Gamma (THz, half width) of every branch at grid points ``gps``, (nq, 3n), or (nt, nq,
        3n) with ``occupation_factors="off-shell"``; zeros without ``isotopes``.

        Parameters
        ----------
        gps : array of int (nq,)
            Grid-point indices of the mesh (``self.grid``; as :meth:`grid_points` gives them).
        """
        if self.mass_variances is None:
            return np.zeros((len(gps), self.interaction.n_branches))
        it, off = self.interaction, self.occupation_factors == "off-shell"
        e = isotope_eigenvectors(it.frequencies, it.eigenvectors, self.isotope_overlap, self.degeneracy_tol)
        return isotope_gamma(it.frequencies, e, self.mass_variances, self.grid, np.asarray(gps), deltas=self.deltas,
                             cutoff_frequency=it.cutoff_frequency, degeneracy_tol=self.degeneracy_tol, overlap=self.isotope_overlap,
                             temperatures=self.temperatures if off else None)

    @property
    def mesh(self) -> np.ndarray:
        return self.grid.mesh

    @property
    def frequencies(self) -> np.ndarray:
        """Harmonic frequencies on every grid point, (N, 3n) THz."""
        return self.interaction.frequencies

    # -- the q-points results are given on ----------------------------------------------------------
    def grid_points(self, qpoints=None) -> np.ndarray:
        """Grid indices of ``qpoints``: None, the irreducible points of the mesh; else grid indices (int) or
        reduced q (n, 3) that must lie on the mesh.

        Parameters
        ----------
        qpoints : None, int array or (n, 3) reduced, optional
            Grid indices (int) or reduced coordinates (no 2 pi) of points of the mesh; None: its irreducible points.
        """
        if qpoints is None:
            return self.grid.irreducible.copy()
        q = np.asarray(qpoints)
        if q.dtype.kind in "iu":
            idx = q.reshape(-1)
            if ((idx < 0) | (idx >= self.grid.n_points)).any():
                raise ValueError(f"grid indices must lie in [0, {self.grid.n_points})")
            return idx
        return self.grid.index(self.grid.addresses_of(q.astype(float)))

    # -- per q-point: the self-energy ------------------------------------------------------------------
    def self_energy(self, q: int, frequencies=None, imag: bool = True, real: bool = False,
                    epsilon: float | None = None, static: bool = False) -> SelfEnergy:
        """Imaginary (and real) part of the bubble self-energy of every branch at grid point ``q``.

        Parameters
        ----------
        q : int
            Grid index of the q-point on the mesh (as :attr:`grid_points` gives them).
        frequencies : (nw,) THz, optional
            Where to evaluate; None: each branch at its own harmonic frequency.
        imag : bool
            The imaginary part, Gamma (half width, THz).
        real : bool
            The real part, the bubble shift Delta (THz).
        epsilon : float, optional
            Broadening (THz) of the principal values of the real part, 1/x -> x / (x^2 + epsilon^2); None: the
            Gaussian ``smearing``, or 0.05 THz with tetrahedra or adaptive smearing (phono3py's default).
        static : bool
            Also the real part at zero frequency, Delta(0) (:meth:`static_shift`), from the same interaction
            strengths: ``delta_static``.

        Returns
        -------
        SelfEnergy
            ``gamma`` and/or ``delta`` (None when not asked for), (nt, 3n) at own frequencies or
            (nt, 3n, nw), THz, and with ``static`` ``delta_static`` (nt, 3n). Branches of one degenerate set (harmonic
            frequencies within ``degeneracy_tol``) carry the set's mean, at every frequency, so that results do not
            depend on the eigenvector basis inside the set.

        Notes
        -----
        At the modes' own frequencies only the diagonal (branch s at its frequency nu_s) is summed, not every branch at
        every branch's frequency; the interaction strengths of a block of triplets are computed once for the width,
        the shift and Delta(0) together.
        """
        it = self.interaction
        tr = self.grid.triplets(q)
        f0 = it.frequencies[q]
        own = frequencies is None
        nu = f0 if own else np.atleast_1d(np.asarray(frequencies, dtype=float))
        nt, nb, nw = len(self.temperatures), it.n_branches, len(nu)
        shape = (nt, nb) if own else (nt, nb, nw)
        gam = np.zeros(shape) if imag else None
        dlt = np.zeros(shape) if real else None
        dst = np.zeros((nt, nb)) if static else None
        eps = epsilon if epsilon is not None else (0.05 if self.smearing is None or self.deltas.adaptive
                                                   else self.smearing)
        if (real or static) and not eps > 0:
            raise ValueError(f"epsilon, the broadening of the real part, must be a positive frequency (THz), not {eps}")
        N = self.grid.n_points
        n0 = frequency_occupations(self.occupation_factors, self.temperatures, it.cutoff_frequency, nu)   # off-shell
        cut_off = self.sigma_cutoff is not None or self.deltas.truncate is not None
        zero = np.zeros(1)
        # the strengths (T, 3n, 3n, 3n) and the delta functions and occupation factors (3 or nt, T, nw, 3n, 3n) of a
        # block stay within BLOCK_BYTES each: on many branches and frequencies, fewer triplets per block
        step = triplet_block(it.chunk, 8.0 * max(nb ** 3, max(3, nt) * nw * nb * nb))
        for s in range(0, len(tr), step):
            b = slice(s, s + step)
            sub = type(tr)(tr.q, tr.q1[b], tr.q2[b], tr.weights[b], tr.shift[b])
            # adaptive Gaussians away from the modes' own frequencies: each branch of q with its own width
            per_branch = imag and self.deltas.adaptive and not own
            # with a sigma cutoff, the triplets whose delta functions all vanish need no strengths (not for shifts):
            # the delta functions first; else after the strengths, so that the two are never made side by side
            first = imag and not per_branch and not (real or static) and cut_off
            d = self.deltas(sub, nu) if first else None
            S = it.strength(q, sub.q1, sub.q2, live_triplets(d) if first else None)
            if imag and not per_branch and not first:
                d = self.deltas(sub, nu)
            f1, f2 = it.frequencies[sub.q1], it.frequencies[sub.q2]
            n1 = occupations(f1, self.temperatures, self.occupation)
            n2 = occupations(f2, self.temperatures, self.occupation)
            if per_branch:
                for s_ in range(nb):
                    d = self.deltas(sub, nu, np.full(nw, self.deltas.variances[q, s_]))
                    gam[:, s_] += imaginary_part(S[:, s_:s_ + 1], d, n1, n2, sub.weights, N, self.occupation,
                                                 n0)[:, 0]
            elif imag:
                gam += imaginary_part(S, d, n1, n2, sub.weights, N, self.occupation, n0, diagonal=own)
            d = None                                                       # (not held while the next block is made)
            if real:
                dlt += real_part(S, f1, f2, n1, n2, sub.weights, N, nu, eps, self.occupation, diagonal=own)
            if static:
                dst += real_part(S, f1, f2, n1, n2, sub.weights, N, zero, eps, self.occupation)[..., 0]
            S = None
        out = dict(gamma=None, delta=None, delta_static=None)
        for name, arr in (("gamma", gam), ("delta", dlt), ("delta_static", dst)):
            if arr is None:
                continue
            # the diagonal of the self-energy in a degenerate subspace depends on the eigenvector basis chosen
            # there; its mean over the subspace (the trace) does not: every branch carries its set's mean
            if arr.ndim == 2:                                                            # (nt, nb)
                arr = degenerate_average(arr[:, None, :], f0[None, :], self.degeneracy_tol)[:, 0, :]
            else:                                                                        # (nt, nb, nw)
                arr = np.moveaxis(degenerate_average(np.moveaxis(arr, 1, -1)[..., None, :], f0[None, :],
                                                     self.degeneracy_tol)[..., 0, :], -1, 1)
            out[name] = arr
        return SelfEnergy(**out)

    # -- over many q-points: a Dask graph, one task per block of q -----------------------------------
    def __getstate__(self) -> dict:
        """Pickled for Dask workers without the scheduler (a client does not travel)."""
        return {k: v for k, v in self.__dict__.items() if k != "scheduler"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, scheduler=None)

    def _map(self, gps, per_task: int = 1, **kwargs) -> list:
        """:meth:`self_energy` (``kwargs``) at every grid point, as Dask tasks (threads by default; a distributed
        client runs them on its workers, with identical numbers); results in order. The calculator is one node
        of the graph; on a distributed client it is scattered to the workers once (broadcast) instead of travelling
        inside the graph."""
        import dask
        from trajmodes.resources import distributed_client, one_blas_thread
        client = self.scheduler if hasattr(self.scheduler, "scatter") else (
            distributed_client() if self.scheduler is None else None)
        me = (client.scatter(self, broadcast=True, hash=False) if client is not None
              else dask.delayed(self, traverse=False))
        tasks = [dask.delayed(_self_energies)(me, gps[s:s + per_task], kwargs)
                 for s in range(0, len(gps), per_task)]
        kw = {} if self.scheduler is None else {"scheduler": self.scheduler}
        if self.scheduler is None and client is None and dask.config.get("scheduler", None) is None:
            # Dask's threads named: Dask would import distributed (17 MB) only to find that no client is made
            import dask.threaded
            kw = {"scheduler": dask.threaded.get}
        # the tasks run side by side on the cores: BLAS inside each on one thread (threaded BLAS under threaded
        # tasks oversubscribes the cores, 7x slower on 2 cores for the small products of the lattice sum)
        with one_blas_thread():
            results = dask.compute(*tasks, **kw)
        return [r for block in results for r in block]

    def dataset_coords(self, gps) -> dict:
        """The coordinates of every result Dataset at grid points ``gps``: temperature, reduced q, grid point, star
        weight, harmonic frequency.

        Parameters
        ----------
        gps : array of int (nq,)
            Grid-point indices of the mesh (``self.grid``; as :meth:`grid_points` gives them).
        """
        q = self.grid.qpoints[gps]
        q = q - np.rint(q)                                                          # components in [-0.5, 0.5]
        q[q == 0] = 0.0
        return dict(temperature=("temperature", self.temperatures, {"units": "K"}),
                    qpoint=(("q", "reduced"), q, {"units": "reduced (primitive reciprocal basis, no 2 pi)"}),
                    grid_point=("q", np.asarray(gps)),
                    weight=("q", self.grid.weights[self.grid.irreducible_of[gps]]),
                    frequency_harmonic=(("q", "branch"), self.frequencies[gps], {"units": "THz"}))

    def dataset_attrs(self) -> dict:
        """The attributes of every result Dataset: the mesh and the settings of the sums."""
        return dict(mesh=self.mesh.tolist(), grid_matrix=self.grid.matrix.reshape(-1).tolist(), occupation=self.occupation,
                    isotope_mass_variances=[] if self.mass_variances is None else self.mass_variances.tolist(),
                    method="tetrahedron" if self.smearing is None else "gaussian" if not self.deltas.adaptive
                    else "adaptive gaussian" + (" (TDEP 2023)" if self.smearing != "adaptive" else ""),
                    occupation_factors=self.occupation_factors,
                    smearing=float("nan") if self.smearing is None or self.deltas.adaptive else float(self.smearing),
                    sigma_cutoff=float("nan") if self.sigma_cutoff is None else self.sigma_cutoff,
                    make_r0_average=int(self.interaction.make_r0_average),
                    equal_frequencies=self.equal_frequencies, isotope_overlap=self.isotope_overlap,
                    cutoff_frequency=self.interaction.cutoff_frequency, imaginary_modes=self.imaginary.count,
                    lowest_imaginary_frequency=self.imaginary.lowest if self.imaginary.unstable else float("nan"))

    def linewidths(self, qpoints=None, shifts: bool = False, four_phonon: float | str | None = None,
                   four_phonon_sample=None, four_phonon_seed: int | None = None, static_shift: bool = False,
                   epsilon: float | None = None):
        """Three-phonon linewidths and lifetimes (and optionally frequency shifts) of every branch.

        Parameters
        ----------
        qpoints : None, int array or (n, 3) reduced
            None: the irreducible points of the mesh; else grid indices or q-points on the mesh.
        shifts : bool
            Also the real part of the self-energy (the bubble shift), from the same interaction strengths.
        four_phonon : float or "adaptive", optional
            Add four-phonon scattering (:class:`trajmodes.phonons.anharmonic.fourphonon.FourPhonon`, the constants'
            ``fc4``, on this mesh, with Gaussian delta functions of this standard deviation in THz, or with
            ``"adaptive"`` the adaptive widths of ``smearing="adaptive"``, four modes' variances summed); it is reported
            apart as ``gamma_four_phonon`` and included in ``gamma`` (so in :meth:`thermal_conductivity` given these
            widths).
        four_phonon_sample : (3,) int, optional
            Monte Carlo estimate of the four-phonon sums from two stratified samples of the mesh with this many cells
            per axis, drawn anew for every q (TDEP's ``-qg4ph``;
            :meth:`trajmodes.phonons.anharmonic.fourphonon.FourPhonon.gamma`): (n_sample / N)^2 of the cost, with its
            sampling noise. None: every pair of the mesh.
        four_phonon_seed : int, optional
            Seed of the sampling (per grid point), for reproducible widths.
        static_shift : bool
            Also Delta(0), the real part at zero frequency (:meth:`static_shift`), from the same interaction
            strengths in the same pass: ``frequency_shift_static``, and with ``shifts`` ``frequency_shift_dynamic`` =
            Delta(nu0) - Delta(0), the shift of the lines of effective constants.
        epsilon : float, optional
            Broadening (THz) of the principal values of the shifts (:meth:`self_energy`; default the smearing, 0.05
            THz with tetrahedra or adaptive smearing).

        Returns
        -------
        xarray.Dataset over (temperature, q, branch): ``linewidth`` (FWHM = 2 Gamma, THz), ``gamma`` (Gamma,
        the imaginary part of the self-energy, THz), ``lifetime`` (1 / (2 pi FWHM), ps; inf where nothing
        scatters), with ``shifts`` also ``frequency_shift`` (THz) and ``frequency`` (harmonic + shift, THz), with
        ``static_shift`` the two above; coordinates ``qpoint``, ``grid_point``, ``weight`` (star size),
        ``frequency_harmonic``. Degenerate branches carry their set's average.
        """
        gps = self.grid_points(qpoints)
        res = self._map(gps, real=shifts, static=static_shift, epsilon=epsilon)
        # xarray after the sums: it imports pandas, and with Dask installed its first Dataset dask.array and through
        # it scipy.special, scipy.fft and scipy.sparse (about 50 MB in all), which then take memory the sums gave back
        # instead of adding to their peak
        import xarray as xr
        gam = np.stack([r.gamma for r in res], axis=1)                                  # (nt, nq, nb)
        dims = ("temperature", "q", "branch")
        iso = None if self.mass_variances is None else self.isotope_gamma(gps)
        four = None
        if four_phonon is not None:
            four = self.four_phonon_gamma(gps, four_phonon, four_phonon_sample, four_phonon_seed)
            gam = gam + four
        data = width_variables(gam if iso is None else gam + (iso if iso.ndim == 3 else iso[None]), iso, "", four,
                               four_phonon)
        if shifts:
            d = np.stack([r.delta for r in res], axis=1)
            data["frequency_shift"] = (dims, d, {"units": "THz", "long_name": "real part of the self-energy (bubble shift)"})
            data["frequency"] = (dims, self.frequencies[gps][None] + d, {"units": "THz"})
        if static_shift:
            d0 = np.stack([r.delta_static for r in res], axis=1)
            data["frequency_shift_static"] = (dims, d0, {"units": "THz", "long_name": "bubble real part at zero "
                                                         "frequency, Delta(0)"})
            if shifts:
                data["frequency_shift_dynamic"] = (dims, d - d0, {"units": "THz", "long_name": "Delta(nu0) - Delta(0): "
                                                                  "the shift of the lines of effective constants, "
                                                                  "which hold Delta(0)"})
        return xr.Dataset(data, coords=self.dataset_coords(gps), attrs=self.dataset_attrs())

    def static_shift(self, qpoints=None) -> np.ndarray:
        """The bubble's real part at zero frequency, Delta(0), of every branch at ``qpoints`` (as :meth:`linewidths`;
        default the irreducible points), (n_temperatures, nq, 3n) THz, principal values broadened as the shifts.

        Effective constants fitted to a run at T (TDEP) reproduce the static response of the crystal and so hold
        Delta(0) already (O. Hellman, I. A. Abrikosov and S. I. Simak, Phys. Rev. B 84, 180301 (2011); O. Hellman
        et al., Phys. Rev. B 87, 104111 (2013)): the shift of their lines is Delta(nu0) - Delta(0), not the full
        bubble Delta(nu0) of :meth:`shifts`, which counts Delta(0) twice. Delta(0) is finite (the sum terms are
        regular at nu = 0, the difference terms stay finite where nu' = nu'') and Delta is even in nu.

        Parameters
        ----------
        qpoints : None, int array or (n, 3) reduced, optional
            As :meth:`linewidths`' (default the irreducible points of the mesh).
        """
        gps = self.grid_points(qpoints)
        res = self._map(gps, imag=False, static=True)
        return np.stack([r.delta_static for r in res], axis=1)

    def triplet_count(self, qpoints=None) -> int:
        """How many triplets, reduced by symmetry (:meth:`trajmodes.lattice.grid.Grid.triplets`), the sums at
        ``qpoints`` (as :meth:`linewidths`; default the irreducible points) run over: the measure of their cost.

        Parameters
        ----------
        qpoints : None, int array or (n, 3) reduced, optional
            As :meth:`linewidths`' (default the irreducible points of the mesh).
        """
        return int(sum(len(self.grid.triplets(int(q))) for q in self.grid_points(qpoints)))

    def cost_words(self, qpoints=None, frequencies=None, real: bool = False, at_least: float = 1e8) -> str:
        """What the sums at ``qpoints`` (as :meth:`linewidths`; ``frequencies`` (nw,) THz: the self-energy on them, as
        :meth:`spectral_function`) will cost, for the line that starts them: "" when their size, triplets x (3n)^3
        (x nw (3n)^2 on ``frequencies`` where larger), is under ``at_least`` (seconds on any machine), else
        "; about 8 min on 2 cores, 64 MB per core (one q-point timed: 1,203 triplets in 4.1 s)". The time is
        measured on the point with the fewest triplets that fill one block
        (:func:`~trajmodes.phonons.anharmonic.interaction.triplet_block`), computed once more when its turn comes,
        and scaled by the triplets over the cores the tasks run on (Dask's workers, else every core).

        Parameters
        ----------
        qpoints : None, int array or (n, 3) reduced, optional
            As :meth:`linewidths`' (default the irreducible points of the mesh).
        frequencies : (nw,) THz, optional
            The frequencies the self-energy is evaluated on (as :meth:`spectral_function`); None: each branch at its
            own harmonic frequency (as :meth:`linewidths`).
        real : bool
            Whether the real part (the shift) is computed too: the q-point timed computes it.
        at_least : float
            The size, triplets x (3n)^3 (dimensionless count of terms), under which no cost is given (returns "").
        """
        import os
        import time
        import dask
        gps = self.grid_points(qpoints)
        counts = np.array([len(self.grid.triplets(int(g))) for g in gps])
        nb, nt = self.interaction.n_branches, len(self.temperatures)
        total = int(counts.sum())
        nw = nb if frequencies is None else len(np.atleast_1d(frequencies))
        if total * max(nb ** 3, nw * nb * nb) < at_least:
            return ""
        block = triplet_block(self.interaction.chunk, 8.0 * max(nb ** 3, max(3, nt) * nw * nb * nb))
        full = np.flatnonzero(counts >= block)
        i = int(full[np.argmin(counts[full])]) if len(full) else int(np.argmax(counts))
        t0 = time.perf_counter()
        self.self_energy(int(gps[i]), frequencies, real=real)
        took = time.perf_counter() - t0
        cores = int(dask.config.get("num_workers", None) or os.cpu_count() or 1) if self.scheduler is None else 1
        seconds = took * total / max(int(counts[i]), 1) / max(1, min(cores, len(gps)))
        # a block peaks at about twice its largest array (the delta functions; the strengths' products in place)
        per_core = 2 * 8.0 * min(block, int(counts.max())) * max(nb ** 3, max(3, nt) * nw * nb * nb)
        when = f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"
        where = f"on {cores} cores" if self.scheduler is None else "on one worker (fewer with more)"
        return (f"; about {when} {where}, {per_core / 1e6:.0f} MB per core (one q-point timed: {int(counts[i]):,} "
                f"triplets in {took:.2g} s)")

    def bubble_shifts(self, qpoints=None, epsilon: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The bubble's real part of every branch at ``qpoints`` (as :meth:`linewidths`) at its harmonic frequency,
        Delta(nu0), and at zero frequency, Delta(0) (:meth:`static_shift`), from one pass over the triplets without
        the widths: (n_temperatures, nq, 3n) THz each, averaged over degenerate sets, principal values broadened by
        ``epsilon`` (THz; default as :meth:`self_energy`).

        Parameters
        ----------
        qpoints : optional
            As :meth:`linewidths`' (default the irreducible points of the mesh).
        epsilon : float, optional
            Broadening of the principal values, THz; default as :meth:`self_energy`.
        """
        gps = self.grid_points(qpoints)
        res = self._map(gps, imag=False, real=True, static=True, epsilon=epsilon)
        return (np.stack([r.delta for r in res], axis=1), np.stack([r.delta_static for r in res], axis=1))

    def shifts(self, qpoints=None):
        """Bubble frequency shifts (and linewidths): :meth:`linewidths` with ``shifts=True``.

        Parameters
        ----------
        qpoints : None, int array or (n, 3) reduced, optional
            As :meth:`linewidths`' (default the irreducible points of the mesh).
        """
        return self.linewidths(qpoints, shifts=True)

    def spectral_function(self, qpoints, frequencies=None, n_points: int = 401, epsilon: float | None = None):
        """Spectral function (lineshape) of every branch at q-points on the mesh.

        A_s(nu) = (1/pi) 4 nu_s^2 Gamma_s(nu) / [(nu^2 - nu_s^2 - 2 nu_s Delta_s(nu))^2 + (2 nu_s Gamma_s(nu))^2]
        (nu_s the harmonic frequency, Gamma and Delta the self-energy at nu;
        :func:`trajmodes.phonons.anharmonic.spectral.spectral_functions`): the phonon line with its frequency-dependent
        width and shift; it integrates to one over nu > 0 (per branch) when the self-energy is small against nu_s.

        Parameters
        ----------
        qpoints : int array or (n, 3) reduced, on the mesh
            Grid indices of the q-points, or their reduced coordinates.
        frequencies : (nw,) THz, optional
            Default: ``n_points`` from 0 to 1.1 x the highest harmonic frequency.
        n_points : int
            Frequencies of the default grid.
        epsilon : float, optional
            Broadening (THz) of the principal values of the real part (:meth:`self_energy`; default the smearing,
            0.05 THz with tetrahedra or adaptive smearing).

        Returns
        -------
        xarray.Dataset: ``spectral_function`` (temperature, q, branch, frequency) 1/THz, ``gamma``, ``frequency_shift``
        (same dims, THz).
        """
        from trajmodes.phonons.anharmonic.spectral import spectral_functions
        gps = self.grid_points(qpoints)
        if frequencies is None:
            frequencies = np.linspace(0.0, 1.1 * float(self.frequencies.max()), n_points)
        nu = np.atleast_1d(np.asarray(frequencies, dtype=float))
        res = self._map(gps, frequencies=nu, real=True, epsilon=epsilon)
        import xarray as xr                                           # after the sums (as in :meth:`linewidths`)
        gam = np.stack([r.gamma for r in res], axis=1)                                  # (nt, nq, nb, nw)
        dlt = np.stack([r.delta for r in res], axis=1)
        A = spectral_functions(nu, gam, dlt, self.frequencies[gps][None], self.interaction.cutoff_frequency)
        dims = ("temperature", "q", "branch", "frequency")
        coords = self.dataset_coords(gps)
        coords["frequency"] = ("frequency", nu, {"units": "THz"})
        return xr.Dataset(dict(spectral_function=(dims, A, {"units": "1/THz"}),
                               gamma=(dims, gam, {"units": "THz"}), frequency_shift=(dims, dlt, {"units": "THz"})),
                          coords=coords, attrs=self.dataset_attrs())

    def thermal_conductivity(self, method: str = "rta", linewidths=None, *, reducible: bool = False,
                             pinv_cutoff: float = 1e-8, four_phonon: float | str | None = None,
                             four_phonon_sample=None, four_phonon_seed: int | None = None):
        """Lattice thermal conductivity tensor from three-phonon scattering on the mesh.

        Parameters
        ----------
        method : {"rta", "lbte"}
            ``"rta"``: the relaxation-time approximation (:func:`trajmodes.phonons.anharmonic.conductivity.kappa_rta`).
            ``"lbte"``: the direct solution of the linearised Boltzmann equation with the full three-phonon
            collision matrix (:mod:`trajmodes.phonons.anharmonic.lbte`; Chaput, Phys. Rev. Lett. 110, 265506 (2013);
            Togo, Chaput and Tanaka, Phys. Rev. B 91, 094306 (2015), Sec. IV), which counts the scattering back into a
            mode that the RTA leaves out; the RTA from the same widths comes alongside. Memory: one matrix of
            (3 x 3n x irreducible q-points)^2 doubles per temperature (a MemoryError says beforehand when it would
            not fit); time: the strengths of every triplet once, as :meth:`linewidths`, plus one diagonalisation
            per temperature.
        linewidths : xarray.Dataset, optional
            ``"rta"`` only: :meth:`linewidths` on the irreducible points, if already computed (``"lbte"`` computes
            the widths in the same triplet sums as the collision matrix).
        reducible : bool
            ``"lbte"`` only: solve on every point of the mesh without symmetry (N^2 triplets; small meshes) instead
            of on the irreducible points in 3 x 3 Cartesian blocks. Both give the same kappa.
        pinv_cutoff : float
            ``"lbte"`` only: eigenvalues of the collision matrix with magnitude at or below this (THz) are left out
            of its pseudo-inverse (phono3py's default).
        four_phonon : float or "adaptive", optional
            ``"lbte"`` only (for the RTA give :meth:`linewidths` ``four_phonon=``): four-phonon scattering, Gaussian
            of this width (THz) or adaptive (as :meth:`linewidths`): its widths on the diagonal of the collision
            matrix, the scattering-in of the other three phonons of each process off it (as TDEP's iterative
            solution; :func:`trajmodes.phonons.anharmonic.lbte.collision_matrix` can leave it out).
        four_phonon_sample, four_phonon_seed :
            ``"lbte"`` only: Monte Carlo sampling of the four-phonon sums, as :meth:`linewidths`.

        Returns
        -------
        xarray.Dataset: ``kappa`` (temperature, cartesian, cartesian2) W/(m K), ``mode_kappa`` (temperature, q,
        branch, cartesian, cartesian2), ``heat_capacity`` (temperature, q, branch) eV/K, ``group_velocity``
        (q, branch, cartesian) THz Å, and the linewidths (``gamma``, ``linewidth``, ``lifetime``) on the irreducible
        points. With ``"lbte"`` also ``kappa_rta`` and ``mode_kappa_rta`` (the RTA from the same widths) and
        ``collision_eigenvalues`` (temperature, mode) THz; attributes ``pinv_cutoff`` and ``n_dropped`` (per
        temperature, the eigenvalues left out); with ``isotopes``, whose scattering goes on the diagonal of the
        collision matrix (as phono3py), ``gamma_isotope`` and ``gamma_phonon`` as in :meth:`linewidths`.
        """
        from trajmodes.phonons.anharmonic.conductivity import lbte_dataset, rta_dataset
        if method not in ("rta", "lbte"):
            raise ValueError(f"method must be 'rta' or 'lbte', not {method!r}")
        if method == "lbte":
            if linewidths is not None:
                raise ValueError("method='lbte' computes the linewidths with the collision matrix: leave out "
                                 "linewidths")
            r = self.lbte_conductivity(reducible=reducible, pinv_cutoff=pinv_cutoff, four_phonon=four_phonon,
                                       four_phonon_sample=four_phonon_sample, four_phonon_seed=four_phonon_seed)
            return lbte_dataset(r, self.dataset_coords(r.grid_points), self.dataset_attrs(), four_phonon, reducible,
                                pinv_cutoff)
        if four_phonon is not None:
            raise ValueError("with method='rta', give the four-phonon scattering to the widths: "
                             "thermal_conductivity(linewidths=an.linewidths(four_phonon=sigma))")
        lw = self.linewidths() if linewidths is None else linewidths
        gps = np.asarray(lw["grid_point"].values)
        if not np.array_equal(np.sort(self.grid.star_of[gps]), self.grid.irreducible):
            raise ValueError("the conductivity needs the linewidths on one point of every star of the mesh "
                             "(its irreducible points)")
        tr = self.transport(gps)
        tau = lw["lifetime"].transpose("temperature", "q", "branch").values
        return rta_dataset(lw, tr, self.kappa_rta(tr.heat_capacity, tr.group_velocity, tau, gps))

    def three_phonon_sums(self) -> ThreePhononSums:
        """What the three-phonon sums of the conductivity and the Boltzmann solution take
        (:class:`~trajmodes.phonons.anharmonic.transport.ThreePhononSums`): the interaction, the mesh, the delta
        weights and the settings of this calculator."""
        prim = self.force_constants.primitive
        return ThreePhononSums(interaction=self.interaction, grid=self.grid, deltas=self.deltas,
                               temperatures=self.temperatures, occupation=self.occupation,
                               occupation_factors=self.occupation_factors, degeneracy_tol=self.degeneracy_tol,
                               sigma_cutoff=self.sigma_cutoff, primitive=prim, point_group=self._point_group())

    def four_phonon_gamma(self, grid_points, smearing: float | str, sample=None, seed: int | None = None) -> np.ndarray:
        """The four-phonon Gamma (half width, THz) at ``grid_points`` from the constants' ``fc4``, on this mesh,
        temperatures and occupation (:func:`trajmodes.phonons.anharmonic.fourphonon.four_phonon_gamma` given
        :meth:`three_phonon_sums`; ``smearing`` a width in THz or ``"adaptive"``, ``sample`` and ``seed`` as
        :meth:`linewidths`' ``four_phonon_sample`` and ``four_phonon_seed``), averaged over degenerate branches:
        (n_temperatures, n_points, 3n).

        Parameters
        ----------
        grid_points : array_like of int
            Grid indices of the q-points on the mesh.
        smearing : float or "adaptive"
            Gaussian width of the delta functions, THz, or adaptive widths.
        sample : (3,) int, optional
            Monte Carlo sampling of the sums (as :meth:`linewidths`' ``four_phonon_sample``); None: the whole mesh.
        seed : int, optional
            Seed of that sampling.
        """
        from trajmodes.phonons.anharmonic.fourphonon import four_phonon_gamma
        return four_phonon_gamma(self.force_constants, self.three_phonon_sums(), grid_points, smearing, sample, seed,
                                 self.allow_unstable)

    def _point_group(self) -> np.ndarray:
        """The point group of the crystal as Cartesian rotations, each once."""
        prim = self.force_constants.primitive
        W = np.unique(np.asarray(prim.symmetry(self.symprec).rotations), axis=0)    # the point group, once each
        return cartesian_rotations(W, prim.cell)

    def lbte_conductivity(self, reducible: bool = False, pinv_cutoff: float = 1e-8, scattering_in: bool = True,
                          average_degenerate: bool = True, four_phonon: float | str | None = None,
                          four_phonon_sample=None, four_phonon_seed: int | None = None,
                          four_phonon_scattering_in: bool = True) -> LBTEConductivity:
        """The direct solution of the linearised Boltzmann equation on the mesh, with the RTA from the same widths
        (:func:`trajmodes.phonons.anharmonic.lbte.lbte_conductivity`, which documents the parameters and the result),
        given this calculator's heat capacities, group velocities, isotope and four-phonon scattering:
        :meth:`thermal_conductivity` with ``method="lbte"`` is its Dataset.

        Parameters
        ----------
        reducible : bool
            False: the collision matrix on the irreducible q-points in 3 x 3 Cartesian blocks (Chaput, Phys. Rev.
            Lett. 110, 265506, 2013); True: on every point of the mesh, without symmetry (small meshes, checks).
        pinv_cutoff : float
            Eigenvalues of the collision matrix of absolute value at most this (THz) are left out of its
            pseudo-inverse (phono3py's default 1e-8).
        scattering_in : bool
            False: the diagonal only, which is the relaxation-time approximation.
        average_degenerate : bool
            Average the rows and columns of every set of degenerate branches, as phono3py does (leave it on,
            except with ``reducible`` for checks).
        four_phonon : float, "adaptive" or None
            Add four-phonon scattering from the constants' fc4: the Gaussian width of its delta functions (THz) or
            "adaptive"; None: three-phonon only.
        four_phonon_sample : (3,) int, optional
            Monte Carlo estimate of the four-phonon sums from stratified samples of the mesh with this many cells per
            axis (as :meth:`linewidths`); None: every pair of the mesh.
        four_phonon_seed : int, optional
            Seed of the sampling, for reproducible widths.
        four_phonon_scattering_in : bool
            False: the four-phonon Gamma on the diagonal only, as the isotope scattering.
        """
        from trajmodes.phonons.anharmonic.lbte import lbte_conductivity, row_points
        gps = row_points(self.grid, reducible)
        iso = None if self.mass_variances is None else self.isotope_gamma(gps)
        three, four = self.three_phonon_sums(), None
        if four_phonon is not None:
            from trajmodes.phonons.anharmonic.fourphonon import four_phonon_sums
            four = four_phonon_sums(self.force_constants, three, four_phonon, self.allow_unstable)
        return lbte_conductivity(three, self.transport(gps), reducible=reducible,
                                 pinv_cutoff=pinv_cutoff, scattering_in=scattering_in,
                                 average_degenerate=average_degenerate, gamma_isotope=iso, four_phonon=four,
                                 four_phonon_sample=four_phonon_sample, four_phonon_seed=four_phonon_seed,
                                 four_phonon_scattering_in=four_phonon_scattering_in, scheduler=self.scheduler)

    def wigner_conductivity(self, gamma, grid_points=None, **options):
        """Populations' and coherences' conductivity of the Wigner transport equation (RTA) on this mesh from the half
        widths ``gamma`` (THz, (n_temperatures, nq, 3n), e.g. ``linewidths()["gamma"].values``) at ``grid_points``
        (default: the irreducible points): :func:`trajmodes.phonons.anharmonic.coherence.wigner_conductivity` given
        :meth:`three_phonon_sums`, which documents ``options`` and the result
        (:class:`~trajmodes.phonons.anharmonic.coherence.WignerConductivity`).

        Parameters
        ----------
        gamma : array_like (n_temperatures, nq, 3n)
            Half widths Gamma, THz, at ``grid_points``, in the order of :attr:`temperatures`.
        grid_points : array_like of int (nq,), optional
            One grid point of every star of the mesh; default the irreducible points (``self.grid.irreducible``).
        **options
            Passed to :func:`~trajmodes.phonons.anharmonic.coherence.wigner_conductivity` (``velocity``,
            ``heat_capacity``, ``degenerate_pairs``, ``direction``), which documents them.
        """
        from trajmodes.phonons.anharmonic.coherence import wigner_conductivity
        return wigner_conductivity(self.three_phonon_sums(), gamma, grid_points, **options)

    def transport(self, gps) -> ModeTransport:
        """:class:`~trajmodes.phonons.anharmonic.transport.ModeTransport` at grid points ``gps``: the mode heat capacities (nt,
        n, 3n) eV/K (quantum or classical, as the occupations) and group velocities (n, 3n, 3) THz Å.

        Parameters
        ----------
        gps : array of int (nq,)
            Grid-point indices of the mesh (``self.grid``; as :meth:`grid_points` gives them).
        """
        from trajmodes.phonons.harmonic.statistics import mode_heat_capacity
        tv = self.transport_velocities(gps)
        return ModeTransport(mode_heat_capacity(self.frequencies[gps], self.temperatures, self.occupation,
                                                tv.cutoff_frequency), tv.group_velocity)

    def transport_velocities(self, gps) -> TransportVelocities:
        """:class:`~trajmodes.phonons.anharmonic.transport.TransportVelocities` at grid points ``gps``: the group velocities
        (n, 3n, 3) THz Å as the conductivity takes them, and the cutoff frequency (THz).

        Parameters
        ----------
        gps : array of int (nq,)
            Grid-point indices of the mesh (``self.grid``; as :meth:`grid_points` gives them).
        """
        from trajmodes.phonons.anharmonic.conductivity import kappa_velocities
        cut = self.interaction.cutoff_frequency
        v = kappa_velocities(self.phonons, self.grid.qpoints[gps], self.degeneracy_tol, cut, self.symprec)
        return TransportVelocities(group_velocity=v, cutoff_frequency=cut)

    def kappa_rta(self, C, v, tau, gps) -> RTAConductivity:
        """:func:`trajmodes.phonons.anharmonic.conductivity.kappa_rta` on one point of every star (``gps``), each standing for
        its star, the tensor averaged over the point group: :class:`~trajmodes.phonons.anharmonic.transport.RTAConductivity`.

        Parameters
        ----------
        C : array (n_temperatures, nq, 3n)
            Mode heat capacities, eV/K (as :meth:`transport` gives them).
        v : array (nq, 3n, 3)
            Group velocities, THz Å (as :meth:`transport_velocities` gives them).
        tau : array (n_temperatures, nq, 3n)
            Lifetimes, ps; non-finite or non-positive values contribute nothing.
        gps : array of int (nq,)
            One grid point of every star of the mesh (``self.grid``), e.g. its irreducible points.
        """
        from trajmodes.phonons.anharmonic.conductivity import irreducible_kappa_rta
        return irreducible_kappa_rta(C, v, tau, self.grid, gps, self.force_constants.primitive.volume,
                                     self._point_group())

    def gruneisen(self, qpoints=None):
        """Mode Grueneisen parameters from fc3 (:func:`trajmodes.phonons.anharmonic.gruneisen.mode_gruneisen`) at any reduced
        q-points (default: the irreducible points of the mesh): xarray Dataset ``gruneisen`` (q, branch),
        dimensionless, with ``frequency_harmonic``.

        Parameters
        ----------
        qpoints : array_like (n, 3) or (3,), optional
            Reduced q (primitive reciprocal basis, no 2 pi), on the mesh or not; default the irreducible points.
        """
        import xarray as xr
        from trajmodes.phonons.anharmonic.gruneisen import mode_gruneisen
        if qpoints is None:
            q = self.grid.qpoints[self.grid.irreducible]
        else:
            q = np.atleast_2d(np.asarray(qpoints, dtype=float))
        g = mode_gruneisen(self.phonons, self.force_constants, q, degeneracy_tol=self.degeneracy_tol,
                           cutoff_frequency=self.interaction.cutoff_frequency)
        return xr.Dataset(dict(gruneisen=(("q", "branch"), g, {"units": "1", "long_name": "mode Grueneisen parameter"}),
                               frequency_harmonic=(("q", "branch"), self.phonons.frequencies(q), {"units": "THz"})),
                          coords=dict(qpoint=(("q", "reduced"), q)))


def _self_energies(an: Anharmonic, block, kwargs: dict) -> list:
    """One Dask task: :meth:`Anharmonic.self_energy` at the grid points of ``block``."""
    return [an.self_energy(int(q), **kwargs) for q in block]
