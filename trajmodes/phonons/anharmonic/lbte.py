"""Lattice thermal conductivity from the direct solution of the linearised Boltzmann transport equation (LBTE):
the collision matrix of three-phonon scattering on a q-mesh, symmetrised, and its pseudo-inverse.

With the deviation from equilibrium written n_lambda = n0_lambda + sqrt(n0 (n0 + 1)) phi_lambda, the linearised
Boltzmann equation for a temperature gradient is a linear system with a real symmetric matrix (Chaput, Phys. Rev.
Lett. 110, 265506 (2013); Togo, Chaput and Tanaka, Phys. Rev. B 91, 094306 (2015), Sec. IV). Here it is written
in half widths (THz), the units of Gamma:

    Omega_{lambda lambda'} = delta_{lambda lambda'} Gamma_lambda
        + 9 / (2 pi hbar^2 N) sum_{s''} |Phi(q s, q' s', q'' s'')|^2 2 sqrt(n''(n'' + 1))
                              [delta(nu - nu' - nu'') + delta(nu + nu' - nu'') + delta(nu - nu' + nu'')]

with q'' = -q - q' (mod G), Gamma the imaginary part of the self-energy (:mod:`trajmodes.phonons.anharmonic.selfenergy`,
the same triplet sums) and |Phi|^2 the strengths of :class:`trajmodes.phonons.anharmonic.interaction.Interaction` (N
|Phi|^2, eV², as in :mod:`trajmodes.phonons.anharmonic.selfenergy`). The second term couples mode (q s) to (q' s')
through the third phonon (q'' s'') of every process that changes both (the scattering-in the RTA leaves out). With
b_lambda = sqrt(C_lambda) v_lambda (C the mode heat capacity, v the group velocity) the conductivity is

    kappa = 1 / (4 pi N V) sum_{lambda lambda'} b_lambda (x) (Omega^+)_{lambda lambda'} b_lambda'

(symmetrised in its Cartesian indices): 4 pi Omega is the matrix of scattering rates (1/tau = 4 pi Gamma) and
Omega^+ its pseudo-inverse from the eigendecomposition, eigenvalues of magnitude below a cutoff (the null space:
modes that do not scatter, the acoustic modes at Gamma) dropped. Keeping only the diagonal gives back the
relaxation-time approximation (:func:`trajmodes.phonons.anharmonic.conductivity.kappa_rta`).

Irreducible form (the default): a solution of a crystal with point group G satisfies phi(R q) = R phi(q) for the
Cartesian rotation R of every operation, so the unknowns are the 3-vectors phi on the irreducible q-points only,
and the matrix is made of 3 x 3 blocks (Chaput 2013)

    Omega_{i s, j s'} = w_i w_j [ delta_ij delta_ss' Gamma_{i s} sum_{R q_i = q_i} R
                                  + sum_{R in G} (scattering-in of (q_i s) from (R q_j s')) R ],

with w_i = sqrt(g_i / |G|) (g_i the size of the star of q_i), and b_{i s} = w_i sqrt(C) v. The reducible form keeps
every point of the mesh (scalar entries; no symmetry used: every q' of every row on its own, velocities computed at
every point): for small meshes, and to check the irreducible one.

Degenerate branches: where the little group of q exchanges the branches of a degenerate set (the sticking bands at
X of diamond, on even meshes), their velocities are not each symmetric under it, and the irreducible form keeps
only the part of the solution that is (as phono3py); with the degenerate averaging (the default) the reducible form
does the same, and the two agree to round-off.

The numerical procedure is the standard one (phono3py's defaults, so that the numbers agree): the matrix is
built on the rows of irreducible points from the symmetry-reduced triplets (q' and q'' exchanged where the
triplet that stands for q' has it in the other place), its rows and columns are averaged over each set of
degenerate branches at every q (an entry of one branch of a degenerate set depends on the arbitrary basis
chosen inside the set; the set's average does not), it is symmetrised as (Omega + Omega^T) / 2, diagonalised,
and inverted on the eigenvalues with |omega| > 1e-8 THz.

Isotope scattering (``Anharmonic(..., isotopes=...)``) is added to the diagonal only, as phono3py does. Four-phonon
scattering (``four_phonon=``) adds its Gamma to the diagonal and, off it, the scattering-in of the three other phonons
of every process (:meth:`trajmodes.phonons.anharmonic.fourphonon.FourPhonon.collision`), as TDEP's iterative solution
does.

Classical occupations (``occupation="classical"``): n = k_B T / (h nu) everywhere, sqrt(n (n + 1)) -> n, Gamma
with n' + n'' and C = k_B; the classical limit of every term, in which kappa is proportional to 1 / T. The
occupations, sqrt(n (n + 1)) (``pair_occupations``, also importable from here) and the heat capacities are those of
:mod:`trajmodes.phonons.harmonic.statistics`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from trajmodes.lattice.grid import Grid, Triplets
from trajmodes.phonons.harmonic.degeneracy import degenerate_average, degenerate_averager
from trajmodes.phonons.anharmonic.selfenergy import GAMMA_FACTOR, imaginary_part, lifetimes, live_triplets
from trajmodes.phonons.harmonic.statistics import occupations, pair_occupations
from trajmodes.phonons.anharmonic.conductivity import irreducible_kappa_rta
from trajmodes.phonons.anharmonic.transport import (CollisionRow, LBTEConductivity, LBTESolution, ModeTransport,
                                                    ThreePhononSums, TripletMap)
from trajmodes.units import KAPPA_UNIT

if TYPE_CHECKING:
    from trajmodes.phonons.anharmonic.fourphonon import FourPhononSums

__all__ = ["CollisionMatrix", "collision_matrix", "collision_row", "solve_lbte", "lbte_conductivity",
           "pair_occupations", "triplet_map", "cartesian_operations", "collision_matrix_bytes", "row_points",
           "PINV_CUTOFF"]

#: phono3py's default pseudo-inverse cutoff on the eigenvalues of the collision matrix (THz)
PINV_CUTOFF = 1e-8


# -- small pieces ------------------------------------------------------------------------------------
def triplet_map(grid: Grid, triplets: Triplets) -> TripletMap:
    """For every q' of the mesh, the triplet of ``triplets`` (reduced at q) that stands for (q, q', -q - q'):
    a :class:`~trajmodes.phonons.anharmonic.transport.TripletMap`, ``index`` (N,) int, the position in ``triplets`` of
    the triplet whose q' (``swapped`` False) or q'' (``swapped`` True) is the image of this q' under an operation of the
    little group of q, and ``swapped`` (N,) bool.
    """
    q = int(triplets.q)
    a = grid.addresses
    N = grid.n_points
    if len(triplets) == N and np.array_equal(triplets.q1, np.arange(N)):
        return TripletMap(index=np.arange(N), swapped=np.zeros(N, dtype=bool))
    q2 = grid.index(-a[q][None, :] - a)                                               # (N,)
    im = grid.index(np.einsum("oab,nb->ona", grid.little_group(q), a))               # (m, N) images of each q'
    pos = np.full(N, -1)
    pos[triplets.q1] = np.arange(len(triplets))
    direct = pos[im]                                                                  # (m, N)
    swap = pos[q2[im]]
    has_d = (direct >= 0).any(axis=0)
    index = np.where(has_d, direct.max(axis=0), swap.max(axis=0))
    if (index < 0).any():
        raise RuntimeError("a q' of the mesh has no triplet standing for it: the triplets are not those of this grid")
    return TripletMap(index=index, swapped=~has_d)


def cartesian_operations(grid: Grid, reciprocal_cell) -> np.ndarray:
    """The operations of ``grid`` (time reversal included) as Cartesian matrices acting on q and on vectors such as
    velocities, (n_ops, 3, 3): R_cart = B W B^-1 with W the operation on reduced q and B the reciprocal basis
    (columns); time reversal is -1."""
    B = np.asarray(reciprocal_cell, dtype=float).T
    W = grid.basis[None] @ grid.operations @ np.linalg.inv(grid.basis)[None]        # on reduced q
    return B[None] @ W @ np.linalg.inv(B)[None]


def collision_matrix_bytes(n_qpoints: int, n_branches: int, n_temperatures: int, reducible: bool = False) -> int:
    """Bytes a collision matrix and its solution need at their peak: the rows as computed and the assembled matrix
    (2 x ``n_temperatures`` matrices of (n_q n_b c)^2 doubles, c = 3 Cartesian components for the irreducible form,
    1 for the reducible one), and two more for the eigendecomposition."""
    size = n_qpoints * n_branches * (1 if reducible else 3)
    return int((2 * n_temperatures + 2) * size * size * 8)


def _check_memory(nbytes: int, size: int, nt: int) -> None:
    from trajmodes.resources import available_memory
    avail = available_memory()
    if avail is not None and nbytes > avail / 2:
        raise MemoryError(
            f"the collision matrix ({nt} temperature(s) x {size} x {size} doubles, with the working copies of its "
            f"solution) needs about {nbytes / 1e9:.1f} GB, more than half of the {avail / 1e9:.1f} GB available: use "
            "a smaller mesh, fewer temperatures per call (the matrix is stored for every temperature), the "
            "irreducible form rather than the reducible one, or a machine with more memory")


# -- one row of the collision matrix -------------------------------------------------------------------
def collision_row(sums: ThreePhononSums, q: int, reduce: bool = True, scattering_in: bool = True) -> CollisionRow:
    """Gamma and the scattering-in part of the collision matrix for the modes at one grid point.

    Parameters
    ----------
    sums : ThreePhononSums
        The mesh, its phonons and strengths, the delta weights and the settings
        (:meth:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic.three_phonon_sums`).
    q : int
        Grid index.
    reduce : bool
        Sum over the triplets reduced by the little group of q and the exchange q' <-> q'' (each q' of the mesh
        then takes the strengths of the triplet that stands for it); False: every q' of the mesh on its own.
    scattering_in : bool
        False: only Gamma (the row is zero).

    Returns
    -------
    CollisionRow: ``gamma`` (nt, 3n) THz, averaged over degenerate branches as :meth:`Anharmonic.self_energy` gives
    it; ``row`` (nt, 3n, N, 3n) THz, the scattering-in term of (q s) from (q' s') for every q' of the mesh (without the
    diagonal Gamma).
    """
    it, grid = sums.interaction, sums.grid
    q = int(q)
    tr = grid.triplets(q, reduce=reduce)
    f = it.frequencies
    f0 = f[q]
    T = sums.temperatures
    nt, nb, N = len(T), it.n_branches, grid.n_points
    cut = it.cutoff_frequency
    from trajmodes.phonons.anharmonic.tdep2023 import frequency_occupations, off_shell_scattering_in
    n0 = frequency_occupations(sums.occupation_factors, T, cut, f0)     # TDEP 2023's off-shell factors; None: on-shell
    cut_off = sums.sigma_cutoff is not None or getattr(sums.deltas, "truncate", None) is not None
    gam = np.zeros((nt, nb, nb))
    A = np.zeros((nt, len(tr), nb, nb))                 # q' in the triplet's q' place: sum over s'' at q''
    B = np.zeros((nt, len(tr), nb, nb)) if reduce else None    # q' in the triplet's q'' place: sum over s' at q'
    for s in range(0, len(tr), it.chunk):
        b = slice(s, s + it.chunk)
        sub = Triplets(tr.q, tr.q1[b], tr.q2[b], tr.weights[b], tr.shift[b])
        d = sums.deltas(sub, f0)                                                         # (3, T, s, s', s'')
        live = live_triplets(d) if cut_off else None                  # phono3py's g_zero (or Gaussians cut)
        S = it.strength(q, sub.q1, sub.q2, live)                                       # (T, s, s', s'')
        n1 = occupations(f[sub.q1], T, sums.occupation)
        n2 = occupations(f[sub.q2], T, sums.occupation)
        gam += imaginary_part(S, d, n1, n2, sub.weights, N, sums.occupation, n0)
        if scattering_in and n0 is not None:                              # TDEP 2023's off-shell factors
            A[:, b], Bb = off_shell_scattering_in(S, d, f0, f[sub.q1], f[sub.q2], T, cut)
            if reduce:
                B[:, b] = Bb
        elif scattering_in:
            g = S * d.sum(axis=0)                        # the frequency points are the branches of q: (T, s, s', s'')
            A[:, b] = np.einsum("tabc,ktc->ktab", g, pair_occupations(f[sub.q2], T, sums.occupation, cut),
                                optimize=True)
            if reduce:
                B[:, b] = np.einsum("tacb,ktc->ktab", g, pair_occupations(f[sub.q1], T, sums.occupation, cut),
                                    optimize=True)
    gamma = np.diagonal(gam, axis1=1, axis2=2)
    gamma = degenerate_average(gamma[:, None, :], f0[None, :], sums.degeneracy_tol)[:, 0]
    row = np.zeros((nt, nb, N, nb))
    if scattering_in:
        tm = triplet_map(grid, tr)
        index, swapped = tm.index, tm.swapped
        row = A[:, index]                                                              # (nt, N, s, s')
        if reduce and swapped.any():
            row[:, swapped] = B[:, index[swapped]]
        row = row.transpose(0, 2, 1, 3) * (2.0 * GAMMA_FACTOR / N)                     # 2 sqrt(n(n+1)) = 1/sinh
    return CollisionRow(gamma=gamma, row=row)


def _matrix_rows(sums: ThreePhononSums, q: int, columns: np.ndarray, rotations, weights, i_row: int,
                 scattering_in: bool, average: bool, diagonal,
                 four=None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The rows of the (irreducible or reducible) collision matrix for the modes at grid point ``q``, weighted and
    averaged over degenerate branches (before the symmetrisation).

    ``columns`` are the grid points of the columns (the irreducible points, or the whole mesh); ``rotations``
    (n_ops, 3, 3) the Cartesian operations (irreducible form) or None (reducible); ``weights`` the w_j of the
    columns; ``i_row`` the position of q among the columns; ``diagonal`` None or the Gamma (nt, nc, nb) of the
    columns added to the diagonal (isotope scattering); ``four`` None or the four-phonon scattering: a dict of the
    :class:`~trajmodes.phonons.anharmonic.fourphonon.FourPhonon` ``calculator``, the keywords of its ``sums``, and
    ``scattering_in`` (False: its Gamma on the diagonal only).
    Returns gamma (nt, nb), that scattering included, the rows, (nt, nb, 3, nc, nb, 3) or (nt, nb, nc, nb), and the
    four-phonon part of gamma (nt, nb) or None.
    """
    grid = sums.grid
    res = collision_row(sums, q, reduce=rotations is not None, scattering_in=scattering_in)
    gamma, c = res.gamma, res.row
    if diagonal is not None:
        gamma = gamma + diagonal[:, i_row]
    gamma4 = None
    if four is not None:
        fp, kw = four["calculator"], four["sums"]
        if scattering_in and four["scattering_in"]:
            four_row = fp.collision(q, **kw)
            gamma4, row4 = four_row.gamma, four_row.row
            if kw["sample"] is not None:       # a sampled row, made invariant under the little group of q as the
                im = grid.rotated[grid.rotated[:, q] == q]                  # exact one is (m, N): images of each q'
                row4 = row4[:, :, im].mean(axis=2)
            c = c + row4
        else:
            gamma4 = fp.gamma(q, **kw)[:, 0]
        gamma4 = degenerate_average(gamma4[:, None], sums.interaction.frequencies[[q]], sums.degeneracy_tol)[:, 0]
        gamma = gamma + gamma4
    nt, nb = gamma.shape
    f = sums.interaction.frequencies
    if rotations is None:
        rows = c[:, :, columns]                                                        # (nt, s, nc, s')
        rows[:, np.arange(nb), i_row, np.arange(nb)] += gamma
    else:
        cols = grid.rotated[:, columns]                                                # (n_ops, nc)
        g = c[:, :, cols, :]                                                           # (nt, s, o, j, s')
        rows = np.tensordot(g, rotations, axes=([2], [0]))                             # (nt, s, j, s', a, b)
        rows = rows.transpose(0, 1, 4, 2, 3, 5)                                        # (nt, s, a, j, s', b)
        little = rotations[grid.rotated[:, q] == q].sum(axis=0)                        # sum of R with R q = q
        rows[:, np.arange(nb), :, i_row, np.arange(nb), :] += gamma.T[:, :, None, None] * little
        rows = np.ascontiguousarray(rows)
    w = weights[i_row] * weights
    rows *= w.reshape((1, 1, 1, -1, 1, 1) if rotations is not None else (1, 1, -1, 1))
    if average:
        tol = sums.degeneracy_tol
        m_row = degenerate_averager(f[q][None], tol)[0]                                # (s, s)
        m_col = degenerate_averager(f[columns], tol)                                   # (nc, s', s')
        if rotations is None:
            rows = np.einsum("st,ktju->ksju", m_row, rows, optimize=True)
            rows = np.einsum("juv,ksjv->ksju", m_col, rows, optimize=True)
        else:
            rows = np.einsum("st,ktajub->ksajub", m_row, rows, optimize=True)
            rows = np.einsum("juv,ksajvb->ksajub", m_col, rows, optimize=True)
    return gamma, rows, gamma4


def _rows_task(sums: ThreePhononSums, block, options: dict) -> list:
    """One Dask task: :func:`_matrix_rows` at the grid points of ``block`` (pairs of grid index, row position)."""
    return [_matrix_rows(sums, int(q), i_row=int(i), **options) for q, i in block]


# -- the whole matrix --------------------------------------------------------------------------------
@dataclass(frozen=True)
class CollisionMatrix:
    """The symmetric collision matrix of the LBTE on a q-mesh.

    Attributes
    ----------
    matrix : (nt, M, M) float, THz
        Per temperature; M = n_q 3n 3 (irreducible form: index (i, s, Cartesian a)) or N 3n (reducible: (q, s)).
        Weighted, averaged over degenerate sets and symmetrised; :func:`solve_lbte` leaves it as it is.
    gamma : (nt, n_q, 3n) THz
        The diagonal: the imaginary part of the self-energy (half width) of every mode, from the same triplet sums,
        plus the isotope scattering where the calculator has ``isotopes``.
    grid_points : (n_q,) int
        The grid points of the rows (the irreducible points, or every point of the mesh).
    weights : (n_q,) float
        w_i = sqrt(g_i / |G|) (irreducible) or ones (reducible).
    rotations : (n_ops, 3, 3) float or None
        The Cartesian operations of the point group (time reversal included) for the irreducible form; None for the
        reducible one.
    gamma_isotope : (n_q, 3n) THz, (nt, n_q, 3n) with off-shell factors, or None
        The isotope part of ``gamma`` (:meth:`Anharmonic.isotope_gamma`; on the diagonal only, as phono3py), None
        without isotopes.
    gamma_four_phonon : (nt, n_q, 3n) THz or None
        The four-phonon part of ``gamma``, None without it.
    """

    matrix: np.ndarray
    gamma: np.ndarray
    grid_points: np.ndarray
    weights: np.ndarray
    rotations: np.ndarray | None
    gamma_isotope: np.ndarray | None = None
    gamma_four_phonon: np.ndarray | None = None

    @property
    def reducible(self) -> bool:
        return self.rotations is None


def row_points(grid: Grid, reducible: bool = False) -> np.ndarray:
    """The grid points of the rows of the collision matrix: the irreducible points of ``grid``, or with
    ``reducible`` every point of the mesh."""
    return np.arange(grid.n_points) if reducible else grid.irreducible.copy()


def collision_matrix(sums: ThreePhononSums, reducible: bool = False, scattering_in: bool = True,
                     average_degenerate: bool = True, gamma_isotope=None, four_phonon: FourPhononSums | None = None,
                     four_phonon_sample=None, four_phonon_seed: int | None = None,
                     four_phonon_scattering_in: bool = True, scheduler=None) -> CollisionMatrix:
    """The collision matrix of the mesh, temperatures, occupations and delta functions of ``sums``.

    Parameters
    ----------
    sums : ThreePhononSums
        The mesh, its phonons and strengths, the delta weights and the settings
        (:meth:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic.three_phonon_sums`).
    reducible : bool
        False: on the irreducible q-points in 3 x 3 Cartesian blocks (Chaput 2013); True: on every point of the mesh,
        without symmetry (the triplets of every q' unreduced): N^2 triplets, for small meshes.
    scattering_in : bool
        False: the diagonal Gamma only (then the solution is the relaxation-time approximation).
    average_degenerate : bool
        Average the rows and the columns of every set of degenerate branches (phono3py does). Without it the entries
        inside a degenerate set depend on the eigenvectors chosen there, and the irreducible form, which gives every
        q' the strengths of the triplet that stands for it, on the little-group images used: leave it on, except
        with ``reducible`` for checks.
    gamma_isotope : ndarray (n_rows, 3n) or (nt, n_rows, 3n), optional
        Isotope scattering, THz, on the rows' grid points (:func:`row_points`;
        :meth:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic.isotope_gamma`): added to the diagonal only, as
        phono3py does. None: none.
    four_phonon : FourPhononSums, optional
        Four-phonon scattering (:func:`trajmodes.phonons.anharmonic.fourphonon.four_phonon_sums`;
        :meth:`trajmodes.phonons.anharmonic.fourphonon.FourPhonon.collision`): its Gamma on the diagonal and its
        scattering-in off it.
    four_phonon_sample, four_phonon_seed :
        Monte Carlo sampling of the four-phonon sums (``sample`` and ``seed`` of
        :meth:`trajmodes.phonons.anharmonic.fourphonon.FourPhonon.gamma`).
    four_phonon_scattering_in : bool
        False: the four-phonon Gamma on the diagonal only, as the isotope scattering (the scattering-in of the three
        other phonons of each process left out).
    scheduler : str or dask client, optional
        Passed to ``dask.compute`` for the rows (default: Dask's threads).

    Returns
    -------
    CollisionMatrix

    Raises
    ------
    MemoryError
        Before anything is computed, when the matrix would take more than half of the memory available.
    """
    import dask
    from trajmodes.resources import one_blas_thread
    grid = sums.grid
    nb, nt = sums.interaction.n_branches, len(sums.temperatures)
    gps = row_points(grid, reducible)
    if reducible:
        weights = np.ones(len(gps))
        rotations = None
    else:
        n_ops = len(grid.operations)
        weights = np.sqrt(grid.weights[grid.irreducible_of[gps]] / n_ops)
        rotations = cartesian_operations(grid, sums.primitive.reciprocal_cell)
    size = len(gps) * nb * (1 if reducible else 3)
    _check_memory(collision_matrix_bytes(len(gps), nb, nt, reducible), size, nt)
    iso = None if gamma_isotope is None else np.asarray(gamma_isotope, dtype=float)
    if iso is not None and iso.shape[-2:] != (len(gps), nb):
        raise ValueError(f"gamma_isotope has the shape {iso.shape}: it must be (n_rows, 3n) = ({len(gps)}, {nb}) "
                         "(or with the temperatures first), on the grid points of row_points(grid, reducible)")
    diagonal = None if iso is None else np.broadcast_to(iso if iso.ndim == 3 else iso[None], (nt,) + iso.shape[-2:])
    four = None
    if four_phonon is not None:
        four = dict(calculator=four_phonon.calculator, sums=dict(four_phonon.keywords, sample=four_phonon_sample,
                                                                  seed=four_phonon_seed),
                    scattering_in=bool(four_phonon_scattering_in))
    options = dict(columns=gps, rotations=rotations, weights=weights, scattering_in=scattering_in,
                   average=average_degenerate, diagonal=diagonal, four=four)
    me = dask.delayed(sums, traverse=False)
    opts = dask.delayed(options, traverse=False)
    pairs = list(zip(gps.tolist(), range(len(gps))))
    tasks = [dask.delayed(_rows_task)(me, [p], opts) for p in pairs]
    kw = {} if scheduler is None else {"scheduler": scheduler}
    with one_blas_thread():                                               # tasks side by side
        results = dask.compute(*tasks, **kw)
    gamma = np.stack([r[0][0] for r in results], axis=1)                                 # (nt, n_q, nb)
    four = None if four is None else np.stack([r[0][2] for r in results], axis=1)
    per_q = size // len(gps)                                              # rows of one q: 3n (x 3)
    matrix = np.empty((nt, size, size))
    for i, r in enumerate(results):
        matrix[:, i * per_q:(i + 1) * per_q] = r[0][1].reshape(nt, per_q, size)
    del results
    for k in range(nt):                                                   # (Omega + Omega^T) / 2, in place
        m = matrix[k]
        m += m.T
        m *= 0.5
    return CollisionMatrix(matrix, gamma, gps, weights, rotations, iso, four)


# -- the solution ------------------------------------------------------------------------------------
def solve_lbte(cm: CollisionMatrix, velocities, heat_capacities, volume: float, n_points: int,
               pinv_cutoff: float = PINV_CUTOFF) -> LBTESolution:
    """kappa from the collision matrix: b = w sqrt(C) v, phi = Omega^+ b, kappa = sum b (x) phi / (4 pi N V).

    Parameters
    ----------
    cm : CollisionMatrix
    velocities : (n_q, 3n, 3) THz Å, on ``cm.grid_points``
    heat_capacities : (nt, n_q, 3n) eV/K (zero for modes that take no part)
    volume : float
        Primitive-cell volume, Å³.
    n_points : int
        N, the number of points of the mesh.
    pinv_cutoff : float
        Eigenvalues omega of the matrix with |omega| <= this (THz) are left out of the pseudo-inverse (phono3py's
        default 1e-8 with its default solver).

    Returns
    -------
    LBTESolution: ``kappa`` (nt, 3, 3) W/(m K); ``mode_kappa`` (nt, n_q, 3n, 3, 3) W/(m K), each mode's share (the
    star of an irreducible point included; the sum is kappa); ``eigenvalues`` (nt, M) THz, ascending; ``n_dropped``
    (nt,) the number of eigenvalues left out.
    """
    import scipy.linalg
    v = np.asarray(velocities, dtype=float)
    C = np.asarray(heat_capacities, dtype=float)
    nt = len(C)
    nq, nb = v.shape[:2]
    size = cm.matrix.shape[-1]
    R = np.eye(3)[None] if cm.rotations is None else cm.rotations
    mode = np.zeros((nt, nq, nb, 3, 3))
    eig = np.zeros((nt, size))
    dropped = np.zeros(nt, dtype=int)
    for k in range(nt):
        b = np.sqrt(np.maximum(C[k], 0.0))[:, :, None] * v * cm.weights[:, None, None]       # (nq, nb, 3)
        if not np.any(b):
            continue
        w, V = scipy.linalg.eigh(cm.matrix[k], check_finite=False)
        keep = np.abs(w) > pinv_cutoff
        eig[k], dropped[k] = w, int((~keep).sum())
        inv = np.where(keep, 1.0 / np.where(keep, w, 1.0), 0.0)
        rhs = b.reshape(-1, 1) if cm.rotations is not None else b.reshape(-1, 3)               # (M, 1) or (M, 3)
        phi = (V @ (inv[:, None] * (V.T @ rhs))).reshape(nq, nb, 3)
        del V
        # sum over the operations of R b (x) R phi: the contribution of the whole star
        t = np.einsum("oab,qsb,qsc,odc->qsad", R, b, phi, R, optimize=True)
        mode[k] = 0.5 * (t + t.swapaxes(-1, -2))
    mode *= KAPPA_UNIT / (4 * np.pi * n_points * volume)
    return LBTESolution(kappa=mode.sum(axis=(1, 2)), mode_kappa=mode, eigenvalues=eig, n_dropped=dropped)


def lbte_conductivity(sums: ThreePhononSums, transport: ModeTransport, reducible: bool = False,
                      pinv_cutoff: float = PINV_CUTOFF, scattering_in: bool = True, average_degenerate: bool = True,
                      gamma_isotope=None, four_phonon: FourPhononSums | None = None, four_phonon_sample=None,
                      four_phonon_seed: int | None = None, four_phonon_scattering_in: bool = True,
                      scheduler=None) -> LBTEConductivity:
    """The LBTE thermal conductivity of the mesh and temperatures of ``sums``, with the RTA alongside
    (:meth:`Anharmonic.lbte_conductivity <trajmodes.phonons.anharmonic.anharmonic.Anharmonic.lbte_conductivity>`
    gives it the calculator's arrays).

    Parameters
    ----------
    sums : ThreePhononSums
    transport : ModeTransport
        The mode heat capacities (nt, n_rows, 3n) eV/K and group velocities (n_rows, 3n, 3) THz Å on the rows' grid
        points (:func:`row_points`).
    reducible, pinv_cutoff, scattering_in, average_degenerate, gamma_isotope, four_phonon, four_phonon_sample,
    four_phonon_seed, four_phonon_scattering_in, scheduler :
        Those of :func:`collision_matrix` and :func:`solve_lbte`.

    Returns
    -------
    LBTEConductivity on the irreducible points (the reducible form's modes summed over each star onto its irreducible
    point):
    ``kappa`` (nt, 3, 3) and ``mode_kappa`` (nt, n_irr, 3n, 3, 3) W/(m K); ``kappa_rta``, ``mode_kappa_rta`` the same
    in the relaxation-time approximation from the same Gamma; ``gamma`` (nt, n_irr, 3n) THz (isotope and
    four-phonon scattering included), ``gamma_isotope`` (n_irr, 3n) THz or None and ``gamma_four_phonon``
    (nt, n_irr, 3n) THz or None; ``heat_capacity``
    (nt, n_irr, 3n) eV/K; ``group_velocity`` (n_irr, 3n, 3) THz Å; ``grid_points`` (n_irr,); ``eigenvalues``
    (nt, M) and ``n_dropped`` (nt,) of the collision matrix.
    """
    grid = sums.grid
    cm = collision_matrix(sums, reducible=reducible, scattering_in=scattering_in,
                          average_degenerate=average_degenerate, gamma_isotope=gamma_isotope, four_phonon=four_phonon,
                          four_phonon_sample=four_phonon_sample, four_phonon_seed=four_phonon_seed,
                          four_phonon_scattering_in=four_phonon_scattering_in, scheduler=scheduler)
    gps = cm.grid_points
    C, v = transport.heat_capacity, transport.group_velocity
    if v.shape[0] != len(gps):
        raise ValueError(f"transport is given on {v.shape[0]} grid points, the collision matrix has {len(gps)} rows: "
                         "give the heat capacities and velocities on row_points(grid, reducible)")
    sol = solve_lbte(cm, v, C, sums.primitive.volume, grid.n_points, pinv_cutoff)
    irr = grid.irreducible
    pos = np.searchsorted(gps, irr)                                       # the irreducible points among the rows
    mode = sol.mode_kappa
    if reducible:                                                         # every point's share onto its star's
        mode = np.zeros((len(sums.temperatures), len(irr)) + sol.mode_kappa.shape[2:])
        np.add.at(mode, (slice(None), grid.irreducible_of[gps]), sol.mode_kappa)
    gamma = cm.gamma[:, pos]
    iso = None if cm.gamma_isotope is None else cm.gamma_isotope[..., pos, :]
    four = None if cm.gamma_four_phonon is None else cm.gamma_four_phonon[:, pos]
    v, C = v[pos], C[:, pos]
    rta = irreducible_kappa_rta(C, v, lifetimes(gamma), grid, irr, sums.primitive.volume, sums.point_group)
    return LBTEConductivity(kappa=sol.kappa, mode_kappa=mode, kappa_rta=rta.kappa, mode_kappa_rta=rta.mode_kappa,
                            gamma=gamma, gamma_isotope=iso, gamma_four_phonon=four, heat_capacity=C, group_velocity=v,
                            grid_points=irr, eigenvalues=sol.eigenvalues, n_dropped=sol.n_dropped)
