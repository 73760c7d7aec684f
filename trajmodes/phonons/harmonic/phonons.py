"""Harmonic lattice dynamics from force constants: dynamical matrix (:mod:`trajmodes.phonons.harmonic.dynamical`),
frequencies, eigenvectors, group velocities (:mod:`trajmodes.phonons.harmonic.velocities`), band structures
(:mod:`trajmodes.phonons.harmonic.bands`), DOS (:mod:`trajmodes.phonons.harmonic.dos`) and thermodynamics
(:mod:`trajmodes.phonons.harmonic.thermal`)."""
from __future__ import annotations

import numpy as np

from trajmodes.forceconstants.model import ForceConstants
from trajmodes.phonons.harmonic import bands, dos, thermal, velocities
from trajmodes.phonons.harmonic.dynamical import DynamicalMatrix, FrequenciesAndEigenvectors, MeshFrequencies
from trajmodes.phonons.harmonic.nac import nac_strategy
from trajmodes.units import NAC_FACTOR
from trajmodes.lattice.spglib_calls import SYMPREC

__all__ = ["Phonons"]


class Phonons:
    """Harmonic phonons of the crystal described by force constants.

    Parameters
    ----------
    force_constants : ForceConstants
        Carries the supercell, the primitive cell and the supercell map (attribute ``force_constants``).
    tol : float
        Length tolerance in Å for equally short supercell images (Wigner-Seitz treatment).
    chunk : int
        Largest number of q-points per block (bounds memory: about ``chunk * (nR + 2 (3 n)^2) * 16``
        bytes per thread, nR the lattice vectors in use).
    n_threads : int, optional
        Threads over which blocks of q are spread (dynamical matrices and ``eigh`` release the GIL);
        default ``os.cpu_count()``, never more than the number of blocks. Blocks are made small
        enough for at least two per thread (multiples of 256 q); results come back in order and do
        not depend on the number of threads (bitwise).
    nac : None, bool or {"gonze", "wang"}
        Non-analytic correction for polar crystals from ``force_constants.born`` and ``.epsilon`` (see
        :mod:`trajmodes.phonons.harmonic.nac`): True or "gonze" is Gonze-Lee (phonopy's default), "wang" Wang et al.
        None (default): on ("gonze") when the constants carry Born charges, else off. False: off.
        Short-range constants (``force_constants.short_range``: TDEP's convention, the dipole-dipole part taken out
        of them) get the dipole-dipole dynamical matrix added back at every q with their own Ewald parameter
        ("gonze"); for "wang" or False they are first made full (:meth:`ForceConstants.with_convention`), so every
        setting means what it means for phonopy's full constants (attribute ``force_constants`` keeps the constants
        given).
    nac_factor : float, optional
        e^2 / (4 pi eps0) in eV Å (default ``force_constants.nac_factor``, else
        :data:`trajmodes.phonons.harmonic.nac.NAC_FACTOR`, = phonopy's). Short-range constants take the one their dipole
        part was made with, and refuse another.

    Notes
    -----
    The dynamical matrix is :class:`trajmodes.phonons.harmonic.dynamical.DynamicalMatrix` (attribute ``dm``); the
    non-analytic correction a strategy of :mod:`trajmodes.phonons.harmonic.nac`; band structures, DOS, thermodynamics
    and velocities live in :mod:`~trajmodes.phonons.harmonic.bands`, :mod:`~trajmodes.phonons.harmonic.dos`,
    :mod:`~trajmodes.phonons.harmonic.thermal` and :mod:`~trajmodes.phonons.harmonic.velocities`.
    """

    def __init__(self, force_constants: ForceConstants, tol: float = 1e-5, chunk: int = 4096, nac=None,
                 nac_factor: float | None = None, n_threads: int | None = None):
        self.force_constants = fc = force_constants
        if nac is None:
            nac = fc.born is not None
        if nac is True:
            nac = "gonze"
        if nac not in (False, "gonze", "wang"):
            raise ValueError(f"nac must be None, True, False, 'gonze' or 'wang', not {nac!r}")
        if nac and (fc.born is None or fc.epsilon is None):
            raise ValueError("nac needs Born effective charges and the dielectric tensor: "
                             "ForceConstants(..., born=, epsilon=)")
        self.nac = nac or None
        own = getattr(fc, "nac_factor", None)
        model = fc
        if getattr(fc, "short_range", False):
            own = NAC_FACTOR if own is None else own
            if nac_factor is not None and abs(float(nac_factor) - own) > 1e-12 * own:
                raise ValueError(f"these short-range constants had their dipole-dipole part taken out with "
                                 f"e^2 / (4 pi eps0) = {own} eV*A, so it is added back with the same: leave nac_factor "
                                 f"out (given: {nac_factor})")
            if self.nac != "gonze":          # "wang" and no correction work on full constants
                model = fc.with_convention("full")
        if nac_factor is None:
            nac_factor = own
        self.nac_factor = float(NAC_FACTOR if nac_factor is None else nac_factor)
        self.dm = DynamicalMatrix(model, tol=tol, chunk=chunk, n_threads=n_threads,
                                  nac=nac_strategy(self.nac, model, self.nac_factor))
        self.tol, self.chunk, self.n_threads = self.dm.tol, self.dm.chunk, self.dm.n_threads

    @property
    def multiplicities(self) -> np.ndarray:
        """:attr:`DynamicalMatrix.multiplicities`: the number of equally short images of every pair (n, N)."""
        return self.dm.multiplicities

    @property
    def n_branches(self) -> int:
        return 3 * self.force_constants.n_prim

    def image_pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The atom pairs the dynamical matrix sums over: :meth:`DynamicalMatrix.image_pairs
        <trajmodes.phonons.harmonic.dynamical.DynamicalMatrix.image_pairs>`."""
        return self.dm.image_pairs()

    def dynamical_matrix(self, qpoints, q_direction=None) -> np.ndarray:
        """Dynamical matrices, shape (nq, 3n, 3n) complex, in eV/(Å² amu); Hermitian.

        Parameters
        ----------
        qpoints : array_like, shape (nq, 3) or (3,)
            Reduced coordinates of the primitive reciprocal lattice (no 2 pi).
        q_direction : array_like, shape (3,) or (nq, 3), optional
            With the non-analytic correction: the direction (reduced, primitive reciprocal basis)
            along which q -> 0 is approached, used only at q = 0 (phonopy's ``q_direction``): gives
            the LO-TO split limit. Without it q = 0 has the analytic (TO) matrix.
        """
        return self.dm(qpoints, q_direction)

    def dynamical_matrix_derivative(self, qpoints) -> np.ndarray:
        """Gradient of the dynamical matrix with respect to Cartesian q, shape (nq, 3, 3n, 3n) complex.

        Parameters
        ----------
        qpoints : array_like, shape (nq, 3) or (3,)
            Reduced coordinates of the primitive reciprocal lattice (no 2 pi).

        Returns
        -------
        ndarray
            dD/dq_cart in eV/(Å² amu) * Å, q_cart in 1/Å without 2 pi (phonopy's convention);
            axis 1 is the Cartesian direction x, y, z.
        """
        return self.dm.derivative(qpoints)

    def group_velocities(self, qpoints, degeneracy_tol: float = 1e-4, cutoff_frequency: float = 1e-4,
                         direction=(1.0, 2.0, 3.0), symmetrize: bool = False, symprec: float = SYMPREC) -> np.ndarray:
        """Group velocities v = d nu / d q_cart (= d omega / d k), shape (nq, 3n, 3), in THz * Å.

        Analytic: :math:`v_s = \\langle e_s | \\partial D / \\partial q | e_s \\rangle / (2 \\nu_s)` (D in THz²), from
        the exact gradient of the same Wigner-Seitz-weighted sum as :meth:`dynamical_matrix`. 1 THz*A = 100 m/s. With
        the non-analytic correction its part of dD/dq is a central difference (step 1e-5 1/Å); at q = 0
        the correction is left out (the analytic limit).

        Parameters
        ----------
        qpoints : array_like, shape (nq, 3) or (3,)
            Reduced coordinates of the primitive reciprocal lattice (no 2 pi).
        degeneracy_tol : float
            Branches closer than this (THz, chained) form one degenerate subspace.  Within it the
            modes are those that diagonalise dD/dq along ``direction`` (the one-sided limit along
            that direction), then each Cartesian component is the diagonal element: phonopy's
            ``GroupVelocity`` without symmetrisation.
        cutoff_frequency : float
            Modes with nu <= this (THz), imaginary ones included, get zero velocity (as phonopy).
        direction : array_like, shape (3,)
            Cartesian direction that lifts degeneracies (phonopy's default (1, 2, 3)).
        symmetrize : bool
            Average every q's velocities over its little group (time reversal included), as phonopy does
            when given the crystal's symmetry (:func:`trajmodes.phonons.harmonic.velocities.symmetrize_velocities`):
            degenerate modes then respect the symmetry of q.
        symprec : float
            spglib's tolerance, Å.

        Returns
        -------
        ndarray, shape (nq, 3n, 3)
            Cartesian components, branches in the order of :meth:`frequencies`.
        """
        ops = None
        if symmetrize:
            from trajmodes.lattice.symmetry import reciprocal_rotations
            ops = reciprocal_rotations(self.force_constants.primitive.symmetry(symprec).rotations, time_reversal=True)
        return velocities.group_velocities(self.dm, qpoints, degeneracy_tol, cutoff_frequency, direction, ops)

    def sound_velocities(self, directions, dq: float = 2e-3) -> np.ndarray:
        """Sound velocities: slopes of the three acoustic branches at q -> 0 along each direction.

        :math:`v = \\nu(q) / |q|` (q without 2 pi, so nu/q = omega/k) at :math:`|q|` = dq and 2 dq (Cartesian, 1/Å),
        then Richardson-extrapolated to q = 0 (v(q) = v0 + a q^2 + ...): error O(dq^4).

        Parameters
        ----------
        directions : array_like, (ndir, 3) or (3,)
            Cartesian propagation directions (need not be normalised).
        dq : float
            Step in 1/Å (no 2 pi); small against the zone (~0.3 1/Å) but well above round-off.

        Returns
        -------
        ndarray, (ndir, 3)
            m/s (divide by 1000 for km/s), ascending per direction (two transverse, then longitudinal
            in isotropic cases); imaginary slopes negative. With the non-analytic correction the
            branches are those of the full D(q) (the three lowest at small q).
        """
        return velocities.sound_velocities(self.frequencies, self.force_constants.primitive.cell, directions, dq)

    def frequencies(self, qpoints, q_direction=None) -> np.ndarray:
        """Phonon frequencies nu in THz, shape (nq, 3n), ascending; imaginary modes as negative numbers.

        Parameters
        ----------
        qpoints : array_like, shape (nq, 3) or (3,)
            Reduced coordinates of the primitive reciprocal lattice (no 2 pi).
        q_direction : array_like, shape (3,) or (nq, 3), optional
            With the non-analytic correction: the direction (reduced) along which q -> 0 is approached, used only
            at q = 0; see :meth:`dynamical_matrix`.
        """
        return self.dm.frequencies(qpoints, q_direction)

    def eigenvectors(self, qpoints, q_direction=None) -> np.ndarray:
        """Mode eigenvectors, shape (nq, 3n, 3n) complex; column s is mode s (phonopy convention),
        row 3k + a is atom k, direction a; in the order of :meth:`frequencies`.

        Parameters
        ----------
        qpoints : array_like, shape (nq, 3) or (3,)
            Reduced coordinates of the primitive reciprocal lattice (no 2 pi).
        q_direction : array_like, shape (3,) or (nq, 3), optional
            With the non-analytic correction: the direction (reduced) along which q -> 0 is approached, used only
            at q = 0; see :meth:`dynamical_matrix`.
        """
        return self.frequencies_and_eigenvectors(qpoints, q_direction).eigenvectors

    def frequencies_and_eigenvectors(self, qpoints, q_direction=None) -> FrequenciesAndEigenvectors:
        """Both at once: a :class:`FrequenciesAndEigenvectors` named tuple, ``frequencies`` (nq, 3n) THz and
        ``eigenvectors`` (nq, 3n, 3n) complex (``f, e = ...`` unpacks it).

        Parameters
        ----------
        qpoints : array_like, shape (nq, 3) or (3,)
            Reduced coordinates of the primitive reciprocal lattice (no 2 pi).
        q_direction : array_like, shape (3,) or (nq, 3), optional
            With the non-analytic correction: the direction (reduced) along which q -> 0 is approached, used only
            at q = 0; see :meth:`dynamical_matrix`.
        """
        return self.dm.frequencies_and_eigenvectors(qpoints, q_direction)

    def band_structure(self, path=None, npoints: int = 51, labels=None, with_group_velocities: bool = False,
                       symprec: float = SYMPREC):
        """Frequencies along a path through the Brillouin zone.

        Parameters
        ----------
        path : None, str, array_like (n, 3) or list of array_like
            None: the standard path of the crystal's Bravais lattice (W. Setyawan and S. Curtarolo, Comput.
            Mater. Sci. 49, 299 (2010), all 14 lattices and their variants; :mod:`trajmodes.lattice.paths`).
            A string of their special-point labels, pieces separated by ``|`` (``"GXU|KGL"``, ``"GZ1M"``; Γ,
            Σ and subscript digits are read too).
            Otherwise connected pieces of reduced q-points (primitive reciprocal basis, no 2 pi);
            a single (n, 3) array is one piece.
        npoints : int
            Points per segment including both ends (joints repeated, as phonopy).
        labels : list of str or list of list of str, optional
            Labels of the path's nodes (flat, or one list per piece); default the special points', else none.
        with_group_velocities : bool
            Add ``group_velocity`` (q, branch, cartesian) in THz*Å.
        symprec : float
            spglib tolerance (Å) for finding the lattice.

        Returns
        -------
        xarray.Dataset
            ``frequency`` (q, branch) in THz (imaginary negative); coordinates ``distance`` (q), the
            cumulative path length in 1/Å without 2 pi (phonopy's), ``qpoint`` (q, reduced),
            ``segment`` (q) and ``label`` (q: '' except at segment ends); attrs ``tick_distance`` and
            ``tick_labels`` (labels at the same distance merged as "U|K").
        """
        return bands.band_structure(self.dm, path, npoints, labels, with_group_velocities, symprec)

    def mesh_frequencies(self, mesh, projections: bool = False) -> MeshFrequencies:
        """Frequencies on a Gamma-centred mesh (phonopy's order, first index fastest), as
        :class:`~trajmodes.phonons.harmonic.dynamical.MeshFrequencies` (``qpoints``, ``frequencies`` THz,
        ``projections``, the weight :math:`|e|^2` of every primitive atom in every mode with ``projections=True``).

        ``mesh``: one positive integer n (n x n x n) or three (:func:`trajmodes.lattice.qpoints.parse_mesh`; a diagonal
        3 x 3 matrix is its diagonal, any other supercell matrix a ValueError).

        Parameters
        ----------
        mesh : int or (3,) int
            Gamma-centred mesh: n (n x n x n) or three integers.
        projections : bool
            Also the weight of every primitive atom in every mode.
        """
        return self.dm.mesh_frequencies(mesh, projections)

    def dos(self, mesh=(20, 20, 20), method: str = "tetrahedron", sigma: float | None = None,
            frequencies=None, projected: bool = True):
        """Phonon density of states, total and projected on the primitive atoms.

        Parameters
        ----------
        mesh : int or (3,) int
            Gamma-centred mesh of the primitive reciprocal cell (no symmetry reduction); one int n is n x n x n.
        method : {"tetrahedron", "gaussian"}
            Linear tetrahedron method (phonopy's) or Gaussian smearing.
        sigma : float, optional
            Gaussian standard deviation in THz; default (max - min) / 100 of the mesh frequencies
            (phonopy's). Also sets the default frequency range.
        frequencies : array_like, optional
            Where to evaluate (THz); default phonopy's: min - 10 sigma .. max + 10 sigma, 201 points.
        projected : bool
            Also the DOS projected on every primitive atom (:math:`|e|^2` weights); they sum to the total.

        Returns
        -------
        xarray.Dataset
            ``total`` (frequency) and ``projected`` (atom, frequency), states per THz per primitive cell
            (the total integrates to 3n); over ``atom`` the coordinates ``species``, ``orbit`` (the label of its set
            of symmetry-equivalent atoms: ``"Ga"``, or ``"O (4f)"`` where a species has several) and ``wyckoff``
            (``"2b"``): ``projected.groupby("orbit").sum()`` is the DOS by orbit, as phonopy groups it; attrs
            ``method``, ``mesh``, ``sigma`` (THz, gaussian).
        """
        return dos.phonon_dos(self.dm, mesh, method, sigma, frequencies, projected)

    def thermal_properties(self, temperatures, mesh=(20, 20, 20), occupation: str = "quantum",
                           cutoff_frequency: float = 0.0):
        """Harmonic thermodynamics per primitive cell over temperatures, from a Gamma-centred mesh.

        Parameters
        ----------
        temperatures : array_like
            The temperatures, K.
        mesh : int or (3,) int
            Gamma-centred mesh (no symmetry reduction); one int n is n x n x n
            (:func:`trajmodes.lattice.qpoints.parse_mesh`; a supercell matrix is refused).
        occupation : {"quantum", "classical"}
            Bose-Einstein oscillators, or classical ones (equipartition: Cv = k_B per mode, no zero-point
            energy); :mod:`trajmodes.phonons.harmonic.statistics`.
        cutoff_frequency : float
            Modes with nu <= this (THz), imaginary ones included, are left out. The three acoustic
            modes at Gamma are always left out (phonopy's ``exclude_gamma_acoustic=True``).

        Returns
        -------
        xarray.Dataset over ``temperature`` (K): ``free_energy``, ``internal_energy`` (kJ/mol of
        primitive cells, phonopy's unit); ``entropy``, ``heat_capacity`` (Cv) in J/(K mol); ``zero_point_energy``
        (kJ/mol, scalar; attr ``eV``); attribute ``occupation``. CODATA 2018 constants (see
        :mod:`trajmodes.phonons.harmonic.thermal`). The same numbers in eV and eV/K per primitive cell:
        :func:`trajmodes.phonons.harmonic.thermal.mesh_thermodynamics`.
        """
        from trajmodes.lattice.qpoints import parse_mesh
        return thermal.thermal_properties(self.dm, temperatures, parse_mesh(mesh, matrix=False), occupation,
                                          cutoff_frequency)

