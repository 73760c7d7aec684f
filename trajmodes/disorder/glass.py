"""The harmonic modes of a cell with no long-range order, at the Gamma point of the cell itself.

A glass (or any large disordered cell) is its own primitive cell: its modes are the eigenvectors of the mass-weighted
force-constant matrix D_ij = Phi_ij / sqrt(m_i m_j) of the periodic cell, every image summed (the dynamical matrix at
q = 0), 3N of them. :class:`GlassHarmonic` holds D as a sparse matrix (from the analytic constants of a potential
without any N x N array, or from fitted constants) with the positions it needs for the heat-flux operator;
:func:`gamma_modes` diagonalises it densely where 3N x 3N fits in memory and by shift-invert Lanczos
(:func:`scipy.sparse.linalg.eigsh`) for a window of frequencies otherwise; :func:`participation_ratios` measures how
many atoms a mode moves (R. J. Bell and P. Dean, Discuss. Faraday Soc. 50, 55 (1970), with the masses as in P. B. Allen,
J. L. Feldman, J. Fabian and F. Wooten, Philos. Mag. B 79, 1715 (1999)).

Units: eV, Å, amu; frequencies nu in THz (nu = THZ sqrt(lambda), lambda an eigenvalue of D in
eV/(Å² amu)).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trajmodes.lattice.geometry import shortest_vectors
from trajmodes.resources import require_memory
from trajmodes.phonons.harmonic.dynamical import frequencies_from_eigenvalues
from trajmodes.units import THZ

__all__ = ["GlassHarmonic", "GlassModes", "gamma_modes", "participation_ratios", "dense_eigh_bytes", "GlassPhonons"]


def dense_eigh_bytes(n3: int) -> float:
    """Peak bytes of the dense route of :func:`gamma_modes` for a 3N x 3N matrix: the matrix, its eigenvectors and
    LAPACK's divide-and-conquer workspace (about 1 + 2 n² doubles more), 8 bytes each.

    Parameters
    ----------
    n3 : int
        The matrix's order, 3N for N atoms.
    """
    return 8.0 * n3 * n3 * 4


@dataclass(frozen=True)
class GlassHarmonic:
    """The harmonic problem of a periodic disordered cell at q = 0.

    Parameters
    ----------
    dynamical : scipy.sparse.csr_matrix, shape (3 N, 3 N)
        D_ij = Phi_ij / sqrt(m_i m_j), eV/(Å² amu); rows and columns 3 i + a; symmetric.
    cell : ndarray, shape (3, 3)
        Rows are the lattice vectors, Å.
    positions : ndarray, shape (N, 3)
        Cartesian positions of the atoms, Å.
    masses : ndarray, shape (N,)
        Mass of each atom, amu.
    """

    dynamical: object
    cell: np.ndarray
    positions: np.ndarray
    masses: np.ndarray

    # -- construction
    @classmethod
    def from_potential(cls, potential, crystal) -> "GlassHarmonic":
        """From the analytic constants of a short-ranged potential on a cell, assembled sparse: memory linear in N.

        Parameters
        ----------
        potential : ShortRangePotential
            A :class:`~trajmodes.potentials.terms.ShortRangePotential` (pair, Stillinger-Weber, ...); its constants
            in eV/Å².
        crystal : Crystal
            The disordered cell (:class:`~trajmodes.lattice.crystal.Crystal`): cell and positions in Å, masses in
            amu.
        """
        D = potential.sparse_force_constants(crystal, masses=crystal.masses)
        return cls(D, np.asarray(crystal.cell, float), np.asarray(crystal.positions, float),
                   np.asarray(crystal.masses, float))

    @classmethod
    def from_force_constants(cls, force_constants, crystal, threshold: float = 0.0) -> "GlassHarmonic":
        """From force constants of the cell itself (fitted, or read from a file).

        Parameters
        ----------
        force_constants : ndarray (N, N, 3, 3) or (3 N, 3 N), or scipy sparse (3 N, 3 N), or ForceConstants
            Phi_ij in eV/Å², every periodic image summed; a
            :class:`~trajmodes.forceconstants.model.ForceConstants` in the full layout of ``crystal`` (its
            ``fc2``).
        crystal : Crystal
            The cell (positions, cell, masses).
        threshold : float
            eV/Å²; entries of smaller magnitude are dropped (0 keeps every non-zero).

        Raises
        ------
        ValueError
            When the shape does not match the crystal.
        """
        from scipy import sparse
        n = crystal.n_atoms
        fc = getattr(force_constants, "fc2", force_constants)
        if sparse.issparse(fc):
            phi = sparse.csr_matrix(fc, dtype=float)
        else:
            fc = np.asarray(fc, dtype=float)
            if fc.shape == (n, n, 3, 3):
                fc = fc.transpose(0, 2, 1, 3).reshape(3 * n, 3 * n)
            if fc.shape != (3 * n, 3 * n):
                raise ValueError(f"force constants of shape {fc.shape} do not fit the {n}-atom cell: give (N, N, 3, 3) "
                                 f"or (3N, 3N) = ({3 * n}, {3 * n}) for the cell itself (every image summed)")
            phi = sparse.csr_matrix(np.where(np.abs(fc) > threshold, fc, 0.0))
        if phi.shape != (3 * n, 3 * n):
            raise ValueError(f"a sparse force-constant matrix of shape {phi.shape} does not fit the {n}-atom cell "
                             f"(expected ({3 * n}, {3 * n}))")
        m = np.asarray(crystal.masses, float)
        inv = sparse.diags(np.repeat(1.0 / np.sqrt(m), 3))
        return cls(sparse.csr_matrix(inv @ phi @ inv), np.asarray(crystal.cell, float),
                   np.asarray(crystal.positions, float), m)

    # -- properties
    @property
    def n_atoms(self) -> int:
        return len(self.positions)

    @property
    def volume(self) -> float:
        """Å³."""
        return float(abs(np.linalg.det(self.cell)))

    def position_weighted(self) -> list:
        """The three sparse matrices S^a_ij = (x_j - x_i)_a D_ij (a = x, y, z), eV/(A amu), with the minimum-image
        vector between atoms i and j: the heat-flux (velocity) operator of Allen and Feldman (P. B. Allen and
        J. L. Feldman, Phys. Rev. B 48, 12581 (1993), eq. 3) before the mode basis. Exact when the constants reach less
        than half the cell (every pair of atoms then interacts through one image only); antisymmetric."""
        from scipy import sparse
        coo = self.dynamical.tocoo()
        i, j = coo.row // 3, coo.col // 3
        pair = i.astype(np.int64) * self.n_atoms + j
        upair, inverse = np.unique(pair, return_inverse=True)            # one image search per atom pair
        ui, uj = upair // self.n_atoms, upair % self.n_atoms
        d = shortest_vectors(self.positions[uj] - self.positions[ui], self.cell)[inverse.reshape(-1)]
        shape = self.dynamical.shape
        return [sparse.csr_matrix((coo.data * d[:, a], (coo.row, coo.col)), shape=shape) for a in range(3)]


@dataclass(frozen=True)
class GlassModes:
    """Modes of a :class:`GlassHarmonic` (all of them, or a window).

    Parameters
    ----------
    frequencies : ndarray, shape (n,)
        THz, ascending; imaginary modes (negative eigenvalues) as negative numbers.
    eigenvectors : ndarray, shape (3 N, n), or None
        Mass-weighted, orthonormal columns (component 3 i + a).
    method : str
        ``"dense"`` (every mode, LAPACK) or ``"shift-invert"`` (a window, ARPACK).
    masses : ndarray, shape (N,)
        Mass of each atom, amu.
    """

    frequencies: np.ndarray
    eigenvectors: np.ndarray | None
    method: str
    masses: np.ndarray

    @property
    def angular(self) -> np.ndarray:
        """omega = 2 pi nu, rad/ps."""
        return 2.0 * np.pi * self.frequencies

    def participation_ratios(self) -> np.ndarray:
        """:func:`participation_ratios` of the modes (needs the eigenvectors)."""
        if self.eigenvectors is None:
            raise ValueError("these modes were computed without eigenvectors: call gamma_modes(..., "
                             "eigenvectors=True) for participation ratios")
        return participation_ratios(self.eigenvectors, self.masses)

    def to_dataset(self):
        """xarray Dataset: ``frequency`` (THz) and, with eigenvectors, ``participation_ratio`` over ``mode``."""
        import xarray as xr
        data = {"frequency": ("mode", self.frequencies, {"units": "THz", "long_name": "Gamma-point frequency"})}
        if self.eigenvectors is not None:
            data["participation_ratio"] = ("mode", self.participation_ratios(),
                                           {"units": "1", "long_name": "participation ratio (Bell and Dean 1970)"})
        return xr.Dataset(data, attrs={"method": self.method, "n_atoms": len(self.masses)})


def participation_ratios(eigenvectors, masses) -> np.ndarray:
    """Participation ratios ``p = (sum_i u_i^2)^2 / (N sum_i u_i^4)`` of modes, u_i the length of the displacement
    e_i / sqrt(m_i) of atom i (R. J. Bell and P. Dean, Discuss. Faraday Soc. 50, 55 (1970); masses as in P. B. Allen,
    J. L. Feldman, J. Fabian and F. Wooten, Philos. Mag. B 79, 1715 (1999)): 1 for a plane wave of equal masses, about
    1/N for a mode on one atom. For equal masses it is ``1 / (N sum_i e_i^4)`` (kALDo's definition).

    Parameters
    ----------
    eigenvectors : ndarray, shape (3 N, n)
        Mass-weighted eigenvectors (columns), component 3 i + a.
    masses : array_like, shape (N,)
        Mass of each atom, amu (undoes the mass weighting of the eigenvectors).

    Returns
    -------
    ndarray, shape (n,), dimensionless in (0, 1].
    """
    e = np.asarray(eigenvectors)
    m = np.asarray(masses, dtype=float).reshape(-1)
    n = len(m)
    w = (np.abs(e.reshape(n, 3, -1)) ** 2).sum(axis=1) / m[:, None]          # |u_i|^2, (N, n)
    return w.sum(axis=0) ** 2 / (n * (w * w).sum(axis=0))



def gamma_modes(model: GlassHarmonic, window=None, n_modes: int | None = None, eigenvectors: bool = True,
                memory_fraction: float = 0.5) -> GlassModes:
    """The Gamma-point modes of a disordered cell.

    Without ``window``: every mode, by LAPACK on the dense 3N x 3N matrix, after checking that it fits
    (:func:`dense_eigh_bytes` within ``memory_fraction`` of the available memory). With ``window``: the ``n_modes``
    modes nearest the window's centre, by shift-invert Lanczos (:func:`scipy.sparse.linalg.eigsh` about the centre's
    eigenvalue, a sparse LU of D - sigma), those inside the window kept: memory linear in N times ``n_modes``.

    Parameters
    ----------
    model : GlassHarmonic
        The cell's mass-weighted dynamical matrix, eV/(Å² amu), with its cell, positions and masses.
    window : (float, float), optional
        THz, (nu_min, nu_max).
    n_modes : int, optional
        Modes Lanczos looks for around the window's centre at first (default: the window's share of the 3N modes at
        a flat density of states, times 1.5, at least 20); doubled until the modes found reach past both edges, so
        that every mode of the window is returned.
    eigenvectors : bool
        Keep the eigenvectors (needed for participation ratios and Allen-Feldman).
    memory_fraction : float
        Share of the available memory the work may take.

    Returns
    -------
    GlassModes

    Raises
    ------
    MemoryError
        Before any allocation, when the dense route does not fit (use a window, or the kernel-polynomial
        diffusivity :func:`trajmodes.disorder.kpm.kpm_diffusivity`).
    ValueError
        For a malformed window.
    """
    n3 = model.dynamical.shape[0]
    if window is None:
        import scipy.linalg
        require_memory(dense_eigh_bytes(n3), f"the dense modes of the {n3 // 3}-atom cell (3N x 3N matrices)",
                       "ask gamma_modes for a window of frequencies (window=(nu_min, nu_max)), or use kpm_diffusivity",
                       memory_fraction)
        D = model.dynamical.toarray()
        if eigenvectors:
            lam, vec = scipy.linalg.eigh(D, overwrite_a=True, check_finite=False, driver="evd")
        else:
            lam, vec = scipy.linalg.eigh(D, overwrite_a=True, check_finite=False, eigvals_only=True), None
        return GlassModes(frequencies_from_eigenvalues(lam), vec, "dense", model.masses)
    lo, hi = (float(v) for v in window)
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 <= lo < hi):
        raise ValueError(f"window must be (nu_min, nu_max) in THz with 0 <= nu_min < nu_max, not {window!r}")
    from scipy.sparse.linalg import eigsh
    if n_modes is None:
        top = float(frequencies_from_eigenvalues(eigsh(model.dynamical, k=1, which="LA", return_eigenvectors=False,
                                       tol=1e-3)[0]))
        n_modes = max(20, int(1.5 * n3 * (hi - lo) / max(top, hi)))
    sigma = (0.5 * (lo + hi) / THZ) ** 2
    from scipy.sparse import identity
    from scipy.sparse.linalg import LinearOperator, splu
    # factorised once; the matrix is symmetric: a minimum-degree ordering of A + A^T and pivots on the diagonal
    # (SuperLU's symmetric mode) finished the 10,648-atom a-Si's LU in 9 minutes where the default column ordering had
    # not in 15
    lu = splu((model.dynamical - sigma * identity(n3, format="csr")).tocsc(), permc_spec="MMD_AT_PLUS_A",
              diag_pivot_thresh=0.0, options=dict(SymmetricMode=True))
    shifted = LinearOperator((n3, n3), matvec=lu.solve, dtype=float)
    while True:                              # until the modes found reach past both edges of the window
        n_modes = int(min(n_modes, n3 - 2))
        ncv = min(n3, max(2 * n_modes + 1, 20))
        # the LU factors: 66 times the matrix's entries for the 10,648-atom a-Si (Stillinger-Weber), 12 bytes each
        require_memory(8.0 * n3 * (ncv + n_modes + 2) + 66.0 * model.dynamical.nnz * 12,
                       f"the Lanczos vectors of {n_modes} modes of the {n3 // 3}-atom cell and the LU factors",
                       "ask for a narrower window", memory_fraction)
        lam, vec = eigsh(model.dynamical, k=n_modes, sigma=sigma, which="LM", ncv=ncv, OPinv=shifted)
        order = np.argsort(lam)
        lam, vec = lam[order], vec[:, order]
        nu = frequencies_from_eigenvalues(lam)
        if (nu[0] < lo and nu[-1] > hi) or n_modes >= n3 - 2:
            break
        n_modes *= 2                         # (the factorisation is kept)
    keep = (nu >= lo) & (nu <= hi)
    return GlassModes(nu[keep], vec[:, keep] if eigenvectors else None, "shift-invert", model.masses)


@dataclass(frozen=True)
class _GammaCell:
    """What :func:`trajmodes.project` reads of the constants of :class:`GlassPhonons`: the primitive cell."""

    primitive: object

    @property
    def n_prim(self) -> int:
        return self.primitive.n_atoms


class GlassPhonons:
    """The modes of a glass as :func:`trajmodes.project` takes phonons, so that an MD run of the cell projects onto
    them (and :func:`trajmodes.mode_spectra` and :func:`trajmodes.fit_peaks` give every mode's line): the cell is its
    own primitive cell and its one q-point is Gamma.

    Parameters
    ----------
    modes : GlassModes
        With eigenvectors: every mode of the cell, or a window of them (the projection then has that many branches).
    crystal : Crystal
        The cell the modes belong to (positions of the relaxed glass, species, masses): the reference the run's
        atoms are mapped onto (a run of the same cell, its atoms near these positions; any order of atoms).

    Notes
    -----
    The projection is then Q_s(t) = sum_j sqrt(m_j) e_s(j) . u_j(t) (one cell, q = 0): the eigenvectors of
    :func:`gamma_modes` taken as they are, no diagonalisation of its own.
    """

    def __init__(self, modes: GlassModes, crystal):
        if modes.eigenvectors is None:
            raise ValueError("projecting onto glass modes needs their eigenvectors: call gamma_modes(..., "
                             "eigenvectors=True)")
        n = crystal.n_atoms
        if modes.eigenvectors.shape[0] != 3 * n or len(modes.masses) != n:
            raise ValueError(f"the modes are of a {modes.eigenvectors.shape[0] // 3}-atom cell, the crystal has {n} "
                             "atoms: give the cell the modes were computed for")
        if np.abs(np.asarray(crystal.masses, float) - modes.masses).max() > 1e-6 * modes.masses.max():
            raise ValueError("the crystal's masses are not those the modes were computed with")
        self.modes = modes
        self.force_constants = _GammaCell(crystal)

    @property
    def n_branches(self) -> int:
        return len(self.modes.frequencies)

    def frequencies_and_eigenvectors(self, qpoints):
        """Frequencies (nq, n) THz and eigenvectors (nq, 3 N, n) complex at ``qpoints``, which must all be Gamma.

        Raises
        ------
        ValueError
            For any q other than (0, 0, 0).
        """
        q = np.atleast_2d(np.asarray(qpoints, dtype=float))
        if q.shape[-1] != 3 or np.abs(q).max(initial=0.0) > 1e-12:
            raise ValueError("a glass's cell is its own primitive cell: Gamma (0, 0, 0) is its only q-point, not "
                             f"{np.round(q, 6).tolist()}")
        nq = len(q)
        f = np.broadcast_to(self.modes.frequencies, (nq, self.n_branches)).copy()
        e = np.broadcast_to(self.modes.eigenvectors.astype(complex), (nq,) + self.modes.eigenvectors.shape).copy()
        return f, e
