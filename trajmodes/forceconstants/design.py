"""Design-matrix kernels of the force-constant fit: rows of A for blocks of frames, reduced at once to the
normal equations A'A, A'f, f'f.

Model (the effective force constants of TDEP: O. Hellman, I. A. Abrikosov and S. I. Simak, Phys. Rev. B 84,
180301(R) (2011)): for every supercell atom i and frame t

    f_i = - sum_j Phi_ij u_j - 1/2 sum_jl Psi_ijl u_j u_l,

with Phi_ij = fc2[k(i), T_i(j)] (compact layout; k(i) the primitive atom of i, T_i the lattice translation
that takes i onto its representative ``p2s[k(i)]``) and the compact blocks linear in the parameters,
``fc = (E @ p).reshape(n_entries, 3, ...)`` (an :class:`IFCBasis`' sparse ``E``). The rows of A are therefore

    A2[(i,a), p] = - sum_{e: k_e = k(i)} sum_b       E2[(e,a,b), p]   u[j(e,i), b]
    A3[(i,a), p] = - 1/2 sum_{e: k_e = k(i)} sum_bc  E3[(e,a,b,c), p] u[j(e,i), b] u[l(e,i), c]

where j(e, i) is the atom that the entry's column atom j'_e becomes when translated with i:
``smap.index(atom[j'], lattice[j'] + lattice[i] - lattice[p2s[k]])``. Those partner indices are computed
once (:class:`DesignKernel`); then, per class k of atoms and per block of frames, the gathered
displacements (products) X[(b[,c], e), (i, t)] form one dense matrix and A_k = M_k @ X with M_k the
class' rows of E rearranged as a sparse (3 P, 3^(o-1) n_e) matrix (rows (a, p)). Nothing loops over
atoms or frames in Python; the per-frame cost is one gather, one sparse-dense product per order and class,
and the rank-S update of A'A.

The sum rule fills E (it writes the self terms as sums over the other clusters), so the rows are built in the
columns of the sparser factored basis E = E_raw Z (:func:`_factored`). Most of those columns are a parameter
themselves (a unit row of Z); the others are spread onto the parameters with their rows of Z while the rows of one
atom are still in cache. A block's rows are the P parameters, the force and the displacement (one symmetric rank
update of [A f u] gives A'A, A'f, A'u and f'f: the P^2 work per row that the normal equations need, plus two rows),
then the spread columns as scratch rows, each for the three components a. The compiled kernel builds and reduces
them a tile of atoms at a time (:meth:`DesignKernel.tile_atoms`: hundreds of rows per rank update, which then runs at
the large-k rate), the parameters' block of A'A updated in place.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from scipy.linalg import cython_blas

from trajmodes.forceconstants.blocks import NormalBlocks
from trajmodes.resources import one_blas_thread

try:                                     # the compiled row kernel (built with the package); numpy products otherwise
    from trajmodes import _design
except ImportError:                      # pragma: no cover - a source tree whose extensions were not built
    _design = None
# the compiled kernel's rank update: scipy's BLAS dsyrk (loaded at import, before the BLAS thread limits look up
# the libraries, so that they limit this one too)
_DSYRK = cython_blas.__pyx_capi__["dsyrk"]
_DGEMM = cython_blas.__pyx_capi__["dgemm"]

# NormalBlocks is imported from here too (its home: blocks)
__all__ = ["DesignKernel", "NormalBlocks", "partner_indices"]

#: largest matrix of one class and one block of frames (its rows of A; without the compiled kernel also the gathered
#: displacements), in float64 elements
BLOCK_ELEMENTS = 1 << 22
#: rows of one tile of atoms of the compiled kernel (built, then reduced, while in cache), in bytes
TILE_BYTES = 1 << 18
#: but at least this many rows per tile (atoms x 3 components x frames): the rank-k update of A'A reads and writes
#: its P^2 elements once per tile, so with few rows it is bound by memory, not arithmetic (at P = 5,000 a one-thread
#: dsyrk of 16 rows ran at 8 Gflop/s, of 128 rows and more at 35-39; of 258-1,536 rows at 43-46, the large-k rate).
#: With that, the rows themselves are the rest: built in one pass (a cluster's atoms gathered once for its 3, 9 or 27
#: columns from a partner table of one row per atom; the spread target by target) and A'A updated in place (no
#: (P + K + 1)^2 matrix zeroed and folded per call), one frame of 512-atom Si took 1.16-1.21x of one dsyrk of all its
#: 1,536 rows at P = 3,270-6,767 and 1.30x at 2,305 (one thread, benchmarks/bench_normal_equations.py); a perf
#: profile at P = 3,270: 84 % in the rank update (its large-k rate), 11 % building rows, 3 % the mirror of A'A.
TILE_ROWS = 768
#: and at most this many bytes of rows per tile (the buffer is (rows of the kernel) x (rows per update) float64)
TILE_MAX_BYTES = 1 << 26


#: (partner, atom) pairs :func:`partner_indices` maps at a time
PARTNER_ELEMENTS = 1 << 22


def partner_indices(smap, p2s: np.ndarray, k: int, columns: np.ndarray, atoms: np.ndarray) -> np.ndarray:
    """Supercell atom that compact column atom ``columns[e]`` of primitive atom ``k`` is for atom ``atoms[c]``.

    Returns an int32 array (len(columns), len(atoms)): ``smap.index(atom[j'], lattice[j'] + lattice[i] -
    lattice[p2s[k]])``, i.e. j' translated by the lattice vector that takes ``p2s[k]`` onto ``i`` (int32: the
    tables of a pair cutoff of 300 partners are 1.2 GB at 10^6 atoms, not 2.4).
    """
    if len(smap.atom) > np.iinfo(np.int32).max:
        raise ValueError(f"{len(smap.atom)} atoms: the partner tables of the fit hold atom indices as 32-bit "
                         "integers (up to 2,147,483,647 atoms)")
    columns = np.asarray(columns, dtype=np.int64)
    atoms = np.asarray(atoms, dtype=np.int64)
    out = np.empty((len(columns), len(atoms)), dtype=np.int32)
    step = max(1, PARTNER_ELEMENTS // max(1, len(columns)))     # atoms at a time: the (n_e, n_c, 3) lattice vectors
    for s in range(0, len(atoms), step):                         # and keys of 300 partners x 10^6 atoms are 13 GB
        shift = smap.lattice[atoms[s:s + step]] - smap.lattice[p2s[k]]        # (n_c, 3)
        lat = smap.lattice[columns][:, None, :] + shift[None, :, :]            # (n_e, n_c, 3)
        out[:, s:s + step] = smap.index(np.broadcast_to(smap.atom[columns][:, None], lat.shape[:2]), lat)
    return out


def _i64(x) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.int64)


def _i32(x) -> np.ndarray:
    """Partner tables as the compiled kernel reads them (no copy of one that already is)."""
    return np.ascontiguousarray(x, dtype=np.int32)


def _factored(basis) -> tuple:
    """(E_raw, Z) with ``basis.E = E_raw @ Z``: the symmetry basis before the acoustic sum rule and the sum rule's map
    (:class:`~trajmodes.forceconstants.clusters.IFCBasis`), when that is sparser than E itself (the sum rule writes
    the self terms as sums over the other clusters, which fills E: Si with 5 Å triplets, 5583 non-zeros in E_raw
    against 27111 in E); otherwise (E, 1)."""
    E = sp.csr_matrix(basis.E)
    raw, Z = getattr(basis, "E_raw", None), getattr(basis, "asr_map", None)
    if raw is not None and Z is not None and raw.shape == (E.shape[0], Z.shape[0]) and Z.shape[1] == E.shape[1] \
            and raw.nnz < E.nnz:
        Z = sp.csr_matrix(Z)
        diff = abs(sp.csr_matrix(raw) @ Z - E)
        if diff.nnz == 0 or diff.max() <= 1e-12 * max(abs(E).max(), 1.0):
            return sp.csr_matrix(raw), Z.toarray()
    return E, np.eye(E.shape[1])


class _Order:
    """Per-order, per-class gather indices and rearranged basis matrices.

    Third order: the products u_jb u_lc of entry (k, j, l) and u_lc u_jb of its mirror (k, l, j) are the
    same numbers, so the mirror's columns of E are folded onto the entry's (component (a, c, b) onto
    (a, b, c)) and only entries with j < l are gathered (9 products each), plus the j = l entries with
    their 6 distinct products u_jb u_jc, b <= c. That halves the work whatever the basis.
    """

    _PAIRS = np.array([(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)])

    def __init__(self, basis, smap, p2s, coef: float):
        self.order = int(basis.order)
        self.n_params = int(basis.n_params)
        E_use, self.Z = _factored(basis)
        self.n_cols = int(E_use.shape[1])
        E = sp.coo_matrix(E_use)
        o = self.order
        sites = np.asarray(basis.sites, dtype=np.int64)
        n_prim = len(p2s)
        entry, rem = np.divmod(E.row, 3 ** o)
        self.classes, self.kernels = [], []
        for k in range(n_prim):
            ents = np.flatnonzero(sites[:, 0] == k)
            atoms = np.flatnonzero(smap.atom == k)
            if len(ents) == 0:
                self.classes.append((atoms, None, None))
                self.kernels.append(None)
                continue
            if o == 2:
                local = np.full(len(sites), -1, dtype=np.int64)
                local[ents] = np.arange(len(ents))
                sel = local[entry] >= 0
                a, bcol = np.divmod(rem[sel], 3)
                cols = bcol * len(ents) + local[entry[sel]]                       # (b, e)
                shape = 3 * len(ents)
                column_atoms = [sites[ents, 1]]
                partners = [partner_indices(smap, p2s, k, sites[ents, 1], atoms)]
                data, rows = E.data[sel], a * self.n_cols + E.col[sel]
            elif o == 4:                        # every entry gathered: the 27 products u_jb u_lc u_md, columns (bcd, e)
                local = np.full(len(sites), -1, dtype=np.int64)
                local[ents] = np.arange(len(ents))
                sel = local[entry] >= 0
                a, bcd = np.divmod(rem[sel], 27)
                cols = bcd * len(ents) + local[entry[sel]]
                shape = 27 * len(ents)
                column_atoms = [sites[ents, c] for c in (1, 2, 3)]
                partners = [partner_indices(smap, p2s, k, x, atoms) for x in column_atoms]
                data, rows = E.data[sel], a * self.n_cols + E.col[sel]
            else:
                j, l = sites[ents, 1], sites[ents, 2]
                off, diag = ents[j < l], ents[j == l]
                key = {(int(x), int(y)): n for n, (x, y) in enumerate(zip(sites[off, 1], sites[off, 2]))}
                n_off, n_diag = len(off), len(diag)
                dkey = {int(x): n for n, x in enumerate(sites[diag, 1])}
                # every entry of class k -> (canonical index, swapped?) ; column of component (b, c)
                col_of = np.full((len(sites), 3, 3), -1, dtype=np.int64)
                pair6 = np.zeros((3, 3), dtype=np.int64)
                for n, (b, c) in enumerate(self._PAIRS):
                    pair6[b, c] = pair6[c, b] = n
                bb, cc = np.meshgrid(np.arange(3), np.arange(3), indexing="ij")
                for e in ents:
                    x, y = int(sites[e, 1]), int(sites[e, 2])
                    if x == y:
                        col_of[e] = 9 * n_off + pair6 * n_diag + dkey[x]
                    elif (min(x, y), max(x, y)) in key:
                        n = key[(min(x, y), max(x, y))]
                        col_of[e] = (bb * 3 + cc) * n_off + n if x < y else (cc * 3 + bb) * n_off + n
                    else:                       # mirror (k, l, j) of an entry j > l is missing: gather it itself
                        raise ValueError(f"the third-order basis lists ({k}, {x}, {y}) but not ({k}, {y}, {x})")
                a, bc = np.divmod(rem, 9)
                sel = col_of[entry, 0, 0] >= 0
                cols = col_of[entry[sel], bc[sel] // 3, bc[sel] % 3]
                rows = a[sel] * self.n_cols + E.col[sel]
                data = E.data[sel]
                shape = 9 * n_off + 6 * n_diag
                column_atoms = [sites[off, 1], sites[off, 2], sites[diag, 1]]
                partners = [partner_indices(smap, p2s, k, x, atoms) for x in column_atoms]
            M = sp.csr_matrix((coef * data, (rows, cols)), shape=(3 * self.n_cols, shape))
            M.sum_duplicates()
            M.eliminate_zeros()
            # the compiled kernel's partner table: one row per column atom (the pair entries' atoms are distinct;
            # the clusters of three and four share theirs: at r3 = 10 A in 512-atom Si 512 rows, not 17,238), so a
            # tile's rows of it stay in cache; table_row: the row of every row of the partners
            if o == 2:
                table, table_row = partners[0], np.arange(len(partners[0]))
            else:
                unique_atoms, table_row = np.unique(np.concatenate(column_atoms), return_inverse=True)
                table = partner_indices(smap, p2s, k, unique_atoms, atoms)
            self.kernels.append(self._kernel_tables(M, partners, table, table_row.reshape(-1)))
            dense = M.nnz > 0.3 * M.shape[0] * M.shape[1]
            self.classes.append((atoms, partners, M.toarray() if dense else M))

    def _kernel_tables(self, M, partners, table, table_row) -> dict:
        """What the compiled kernel needs for one class: the partner ``table``, and for every column of M the
        displacement components (and table rows) whose product it is, with M in compressed sparse columns; the rows
        of the ``partners`` are the rows ``table_row`` of ``table``."""
        col_m = col_d = None
        if self.order == 2:
            (p0,) = partners
            n_e = p0.shape[0]
            b, e = np.divmod(np.arange(3 * n_e), n_e)
            col_j, col_b, col_l, col_c = e, b, np.full(3 * n_e, -1), np.zeros(3 * n_e)
        elif self.order == 4:                                                  # columns (bcd, e), as gathered()
            n_q = partners[0].shape[0]
            bcd, e = np.divmod(np.arange(27 * n_q), n_q)
            col_j, col_l, col_m = e, n_q + e, 2 * n_q + e
            col_b, col_c, col_d = bcd // 9, bcd // 3 % 3, bcd % 3
        else:
            pj, pl, pd = partners
            n_off, n_diag = pj.shape[0], pd.shape[0]
            bc, n = np.divmod(np.arange(9 * n_off), n_off)
            m, d = np.divmod(np.arange(6 * n_diag), n_diag)
            col_j = np.concatenate([n, 2 * n_off + d])
            col_l = np.concatenate([n_off + n, 2 * n_off + d])
            col_b = np.concatenate([bc // 3, self._PAIRS[m, 0]])
            col_c = np.concatenate([bc % 3, self._PAIRS[m, 1]])
        C = sp.csc_matrix(M)
        C.sort_indices()
        # the columns of one cluster (the same partner-table rows: 3, 9 or 27 components) one after the other, so the
        # kernel gathers its atoms once; the clusters ordered by the first parameter they feed (the parameters of an
        # orbit of clusters are consecutive): consecutive columns write the same few rows, which stay in cache
        first = np.full(C.shape[1], C.shape[0], dtype=np.int64)
        nz = np.diff(C.indptr) > 0
        first[nz] = C.indices[C.indptr[:-1][nz]] % self.n_cols
        if col_m is None:
            col_m, col_d = np.full(len(col_j), -1), np.zeros(len(col_j))
        # rows of the partners -> rows of the table
        col_j, col_l, col_m = (np.where(x >= 0, table_row[np.maximum(x, 0)], -1) for x in (col_j, col_l, col_m))
        cluster = np.unique(np.stack([col_j, col_l, col_m], axis=1), axis=0, return_inverse=True)[1].reshape(-1)
        cluster_first = np.full(cluster.max(initial=-1) + 1, C.shape[0], dtype=np.int64)
        np.minimum.at(cluster_first, cluster, first)
        order = np.lexsort((col_d, col_c, col_b, first, col_m, col_l, col_j, cluster_first[cluster]))
        C = C[:, order]
        C.sort_indices()
        return dict(table=_i32(table), col_j=_i64(col_j[order]),
                    col_b=_i64(col_b[order]), col_l=_i64(col_l[order]),
                    col_c=_i64(col_c[order]), col_m=_i64(col_m[order]), col_d=_i64(col_d[order]),
                    colptr=_i64(C.indptr), rowidx=_i64(C.indices),
                    vals=np.ascontiguousarray(C.data, dtype=float), rows=np.arange(M.shape[0]))

    def parameter_columns(self) -> tuple[np.ndarray, np.ndarray]:
        """(param, spread): ``param[j]`` the parameter that factored column j is (its row of :attr:`Z` is the unit
        vector e_p, the first such column of p), else -1; ``spread`` the other columns."""
        param = np.full(self.n_cols, -1, dtype=np.int64)
        claimed = np.zeros(self.n_params, dtype=bool)
        for j, row in enumerate(self.Z):
            nz = np.flatnonzero(row)
            if len(nz) == 1 and row[nz[0]] == 1.0 and not claimed[nz[0]]:
                claimed[nz[0]] = True
                param[j] = nz[0]
        return param, np.flatnonzero(param < 0)

    def place(self, param_offset: int, scratch_offset: int) -> int:
        """Where this order's factored columns go in a block whose rows are (row, a) for component a: a column that
        is parameter p itself onto row ``param_offset + p``; every other column onto a scratch row from
        ``scratch_offset`` on, spread onto the parameters with its row of :attr:`Z`. Returns the number of scratch
        rows used."""
        param, spread = self.parameter_columns()
        self.pos = np.where(param >= 0, param_offset + param, 0)
        self.pos[spread] = scratch_offset + np.arange(len(spread))
        self.spread_cols = spread
        self.param_offset = param_offset
        # the spread in rows of the block (each for its three components a: rows 3 row + a), target by target: the
        # target rows, and per target its source rows (in the order of the columns) and weights
        src, dst, w = [], [], []
        for j in spread:
            nz = np.flatnonzero(self.Z[j])
            src.append(np.full(len(nz), self.pos[j]))
            dst.append(param_offset + nz)
            w.append(self.Z[j, nz])
        src, dst, w = (np.concatenate(x) if x else np.zeros(0) for x in (src, dst, w))
        by_target = np.argsort(dst, kind="stable")
        targets, counts = np.unique(dst[by_target], return_counts=True)
        self.spread = (_i64(targets), _i64(np.concatenate([[0], np.cumsum(counts)])), _i64(src[by_target]),
                       np.ascontiguousarray(w[by_target], dtype=float))
        for kern in self.kernels:
            if kern is not None:
                a, p = np.divmod(kern["rows"], self.n_cols)
                kern["outrow"] = _i64(3 * self.pos[p] + a)
        return len(spread)

    def add_rows(self, u3: np.ndarray, cls: int, out: np.ndarray) -> None:
        """Add the rows of A of class ``cls`` to ``out`` (n_out, 3, n_c * T), parameters at the rows :meth:`place`
        gave them, with numpy (:meth:`rows` and the map :attr:`Z`): the path without the compiled kernel, which
        takes every order of a class at once (:meth:`DesignKernel._class_rows`)."""
        atoms, partners, M = self.classes[cls]
        if partners is None:
            return
        R = self.rows(u3, partners, M).transpose(1, 0, 2)                     # (n_cols, 3, n_c * T)
        direct = np.setdiff1d(np.arange(self.n_cols), self.spread_cols)
        out[self.pos[direct]] += R[direct]
        if len(self.spread_cols):
            out[self.param_offset:self.param_offset + self.n_params] += np.einsum(
                "jq,jak->qak", self.Z[self.spread_cols], R[self.spread_cols])

    def gathered(self, u3: np.ndarray, partners) -> np.ndarray:
        """The gathered displacements (products) X, rows as the columns of M, columns (i, t)."""
        T = u3.shape[2]
        if self.order == 2:
            X = u3[:, partners[0]]                                            # (3, n_e, n_c, T)
            return X.reshape(3 * X.shape[1], -1)
        if self.order == 4:
            pj, pl, pm = partners
            X = np.empty((3, 3, 3) + pj.shape + u3.shape[2:])                 # (3, 3, 3, n_q, n_c, T), contiguous
            np.multiply((u3[:, pj][:, None] * u3[:, pl][None, :])[:, :, None], u3[:, pm][None, None, :], out=X)
            return X.reshape(27 * pj.shape[0], -1)
        pj, pl, pd = partners
        n_off, n_diag, n_c = pj.shape[0], pd.shape[0], pj.shape[1]
        X = np.empty((9 * n_off + 6 * n_diag, n_c * T))
        if n_off:
            np.multiply(u3[:, pj][:, None], u3[:, pl][None, :], out=X[:9 * n_off].reshape(3, 3, n_off, n_c, T))
        if n_diag:
            Ud = u3[:, pd]                                                    # (3, n_diag, n_c, T)
            np.multiply(Ud[self._PAIRS[:, 0]], Ud[self._PAIRS[:, 1]],
                        out=X[9 * n_off:].reshape(6, n_diag, n_c, T))
        return X

    def rows(self, u3: np.ndarray, partners, M) -> np.ndarray:
        """Rows of A for one class in the columns of the factored basis (:attr:`Z`): (3, n_cols, n_c * T) from
        displacements u3 (3, N, T)."""
        A = M @ self.gathered(u3, partners)
        return np.asarray(A).reshape(3, self.n_cols, -1)

    def gathered_per_frame(self) -> int:
        """Largest gathered matrix of one class and one frame, in elements."""
        sizes = [M.shape[1] * p[0].shape[1] for _, p, M in self.classes if p is not None]
        return max(sizes, default=1)


class DesignKernel:
    """Everything the per-chunk reduction needs: partner indices and rearranged bases of each order.

    Small and picklable (it travels to every Dask task once, by key).

    Parameters
    ----------
    bases : list of IFCBasis
        One per order (2, then 3), same primitive atoms (``p2s``).
    smap : SupercellMap
        The supercell map of the trajectory's (ideal) supercell.
    p2s : ndarray of int, optional
        Supercell representative of every primitive atom; default the first basis' ``p2s``.
    """

    def __init__(self, bases, smap, p2s=None):
        self.bases = list(bases)
        self.p2s = np.asarray(self.bases[0].p2s if p2s is None else p2s, dtype=np.int64)
        if not np.array_equal(smap.atom[self.p2s], np.arange(len(self.p2s))):
            raise ValueError("the basis' p2s does not list the primitive atoms of the supercell map in order")
        self.n_atoms = len(smap.atom)
        self.orders = [_Order(b, smap, self.p2s, -1.0 / math.factorial(b.order - 1)) for b in self.bases]
        self.sizes = [o.n_params for o in self.orders]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)
        self.n_params = int(self.offsets[-1])
        # rows are built in the columns of the factored bases (sparser); a block holds per component the parameters,
        # the force and the displacement (rows P and P + 1), then the factored columns spread onto the parameters
        self.n_cols = int(sum(o.n_cols for o in self.orders))
        scratch = self.n_params + 2
        for o, p in zip(self.orders, self.offsets):
            scratch += o.place(int(p), scratch)
        self.n_out = scratch
        self.tables = [self._class_tables(cls) for cls in range(len(self.p2s))]
        n_c = max((len(o.classes[k][0]) for o in self.orders for k in range(len(self.p2s))), default=1)
        per_frame = 3 * self.n_out * n_c
        if _design is None or any(t is None for t in self.tables):
            per_frame = max([per_frame] + [o.gathered_per_frame() for o in self.orders])
        self.block_frames = max(1, BLOCK_ELEMENTS // per_frame)

    def _class_tables(self, cls: int) -> tuple | None:
        """The compiled kernel's tables of class ``cls`` for all orders at once (partner tables stacked, columns and
        non-zeros of the orders one after the other), in :func:`_design.normal_into`'s argument order; None when no
        order has clusters there."""
        kerns = [(o, o.kernels[cls]) for o in self.orders if o.kernels[cls] is not None]
        if not kerns:
            return None                  # no order has clusters in this class (every order's are built)
        parts = {k: [] for k in ("table", "col_j", "col_b", "col_l", "col_c", "col_m", "col_d", "colptr", "rowidx",
                                 "vals", "outrow", "dst", "ptr", "src", "w")}
        n_tab = n_nz = n_rows = n_pairs = 0
        for o, k in kerns:
            parts["table"].append(k["table"])
            parts["col_j"].append(k["col_j"] + n_tab)
            parts["col_l"].append(np.where(k["col_l"] >= 0, k["col_l"] + n_tab, -1))
            parts["col_b"].append(k["col_b"])
            parts["col_c"].append(k["col_c"])
            parts["col_m"].append(np.where(k["col_m"] >= 0, k["col_m"] + n_tab, -1))
            parts["col_d"].append(k["col_d"])
            parts["colptr"].append(k["colptr"][:-1] + n_nz)
            parts["rowidx"].append(k["rowidx"] + n_rows)
            parts["vals"].append(k["vals"])
            parts["outrow"].append(k["outrow"])
            dst, ptr, src, w = o.spread                              # target by target
            parts["dst"].append(dst)
            parts["ptr"].append(ptr[:-1] + n_pairs)
            parts["src"].append(src)
            parts["w"].append(w)
            n_tab += len(k["table"])
            n_nz += len(k["rowidx"])
            n_rows += len(k["outrow"])
            n_pairs += len(src)
        parts["colptr"].append([n_nz])
        parts["ptr"].append([n_pairs])
        # one order (a second-order fit): its partner table as it is, not a copy (2 GB for 300 partners x 10^6 atoms)
        cat = {key: v[0] if len(v) == 1 else np.concatenate(v) for key, v in parts.items()}
        return (_i32(cat["table"]), len(self.orders[0].classes[cls][0])) + tuple(
            _i64(cat[key]) for key in ("col_j", "col_b", "col_l", "col_c", "col_m", "col_d", "colptr", "rowidx")) + (
            np.ascontiguousarray(cat["vals"], dtype=float), _i64(cat["outrow"]), _i64(cat["dst"]), _i64(cat["ptr"]),
            _i64(cat["src"]), np.ascontiguousarray(cat["w"], dtype=float))

    def tile_atoms(self, T: int, n_c: int | None = None, tile_rows: int | None = None) -> int:
        """Atoms per tile of the compiled kernel at ``T`` frames per block: the cache size (:data:`TILE_BYTES`), but
        at least :data:`TILE_ROWS` rows per rank update (``tile_rows`` instead), at most :data:`TILE_MAX_BYTES` of
        rows; with ``n_c``, the class' atoms split into tiles of equal size (no short last update)."""
        row_bytes = 8 * 3 * self.n_out * T
        rows = TILE_ROWS if tile_rows is None else tile_rows
        n = max(1, TILE_BYTES // row_bytes, min(-(-rows // (3 * T)), TILE_MAX_BYTES // row_bytes))
        if n_c:
            n = -(-n_c // -(-n_c // n))
        return n

    def block_rows(self) -> int:
        """Largest number of (atom, frame) columns one class holds in one block of frames (memory estimates)."""
        n_c = max((len(o.classes[k][0]) for o in self.orders for k in range(len(self.p2s))), default=1)
        return n_c * self.block_frames

    def design(self, u: np.ndarray) -> np.ndarray:
        """The whole design matrix for frames ``u`` (T, N, 3): A (T*N*3, P), rows (t, i, a).

        For tests and small problems; the fit itself never forms it (see :meth:`accumulate`).
        """
        u3 = np.ascontiguousarray(np.asarray(u, float).transpose(2, 1, 0))
        T = u3.shape[2]
        A = np.zeros((T, self.n_atoms, 3, self.n_params))
        for cls in range(len(self.p2s)):
            atoms, R = self._class_rows(u3, cls)
            R = R[:self.n_params].reshape(self.n_params, 3, len(atoms), T)
            A[:, atoms] = R.transpose(3, 2, 1, 0)
        return A.reshape(-1, self.n_params)

    def _class_rows(self, u3: np.ndarray, cls: int):
        """(atoms, block): the atoms of class ``cls`` and their rows for the frames of u3 (3, N, T), a block
        (n_out, 3, n_c * T) laid out as :meth:`_Order.place` says (rows P and P + 1, for f and u, left zero)."""
        atoms = self.orders[0].classes[cls][0]
        B = np.zeros((self.n_out, 3, len(atoms) * u3.shape[2]))
        tables = self.tables[cls]
        if _design is not None and tables is not None:                  # the tables normal_into runs on
            _design.rows_into(np.ascontiguousarray(u3, dtype=float), u3.shape[1], u3.shape[2], tables[0],
                              tables[1], 0, tables[1], *tables[2:], B)
        else:
            for o in self.orders:
                o.add_rows(u3, cls, B)
        return atoms, B

    def accumulate(self, u: np.ndarray, f: np.ndarray, out: NormalBlocks, fold: int, weights=None,
                   members=None):
        """Add frames ``u``, ``f`` (T, N, 3) (f with its mean per frame already removed) to the block at position
        ``fold`` of ``out`` (A'A, A'f, f'f, A'u and the counts). BLAS runs on one thread here: the callers run
        chunks side by side on the cores (:func:`trajmodes.resources.one_blas_thread`).

        Parameters
        ----------
        weights : ndarray (T, N, 3), optional
            1/sigma of every force component (Å/eV): the rows of A and f are scaled by it before the products, so the
            block holds A'W A, A'W f and f'W f with W = 1/sigma^2 (generalised least squares; A'u stays unweighted).
        members : ndarray (M, T, N, 3), optional
            The forces of a committee's members (each with its mean per frame removed) on the same frames: their
            right-hand sides are accumulated in the same pass, sharing A'A.

        Returns
        -------
        None, or with ``members`` ``(b, ff)``: A'f_m (M, P) and the products of the force sets (M + 1, M + 1), set 0
        ``f`` and set m + 1 member m (weighted as the block).
        """
        with one_blas_thread():
            return self._accumulate(u, f, out, fold, weights, members)

    def _accumulate(self, u: np.ndarray, f: np.ndarray, out: NormalBlocks, fold: int, weights=None, members=None):
        P = self.n_params
        F = f[None] if members is None else np.concatenate([f[None], np.asarray(members, float)])
        K = len(F)                                   # force sets: rows P .. P + K - 1, then u
        G = out.G[fold]
        # the compiled kernel updates the lower triangle of A'A in G itself and the rows of F and u against every row
        # in R (no (P + K + 1)^2 matrix zeroed and folded per call); classes it cannot take go through S as before
        direct = _design is not None and all(t is not None for t in self.tables) and G.dtype == np.float64 and \
            G.flags.c_contiguous and G.flags.writeable
        R = np.zeros((K + 1, P + K + 1)) if direct else None
        S = None if direct else np.zeros((P + K + 1, P + K + 1))     # [A F u]' [A F u]: A'A, A'f, A'u, f'f at once
        for s in range(0, len(u), self.block_frames):
            ub = u[s:s + self.block_frames]
            T = len(ub)
            u3 = np.ascontiguousarray(ub.transpose(2, 1, 0))                  # (3, N, T)
            f3 = np.ascontiguousarray(F[:, s:s + self.block_frames].transpose(0, 3, 2, 1))   # (K, 3, N, T)
            w3 = None if weights is None else np.ascontiguousarray(
                np.asarray(weights, float)[s:s + self.block_frames].transpose(2, 1, 0))
            extra = () if K == 1 and w3 is None else (K, w3)             # the unweighted call as it always was
            for cls in range(len(self.p2s)):
                atoms = self.orders[0].classes[cls][0]
                tables = self.tables[cls]
                if _design is not None and tables is not None:
                    n_tile = self.tile_atoms(T, len(atoms))
                    if direct:
                        _design.normal_into(u3, u3.shape[1], T, *tables, f3, _i64(atoms), P + K + 1, n_tile, R,
                                            _DSYRK, K, w3, G, _DGEMM)
                    else:
                        _design.normal_into(u3, u3.shape[1], T, *tables, f3, _i64(atoms), P + K + 1, n_tile, S,
                                            _DSYRK, *extra)
                    continue
                B = self._class_rows(u3, cls)[1]
                Rc = np.empty((P + K + 1,) + B.shape[1:])
                Rc[:P] = B[:P]
                Rc[P:P + K] = f3[:, :, atoms].reshape(K, 3, -1)
                Rc[P + K] = u3[:, atoms].reshape(3, -1)
                if w3 is not None:
                    w = w3[:, atoms].reshape(3, -1)
                    Rc[:P + K] *= w
                    Rc[P + K] /= w
                Rc = Rc.reshape(P + K + 1, -1)
                S += np.tril(Rc @ Rc.T)
            out.n_rows[fold] += 3 * self.n_atoms * T
            out.n_frames[fold] += T
        if direct:
            _design.mirror_lower(G, P)                # G was symmetric; its lower triangle got the updates
            tail = R                                  # rows of f, the members and u against every row
        else:
            # the lower triangle was summed (dsyrk's upper, column-major): G += its symmetric P x P block
            if _design is not None and G.flags.c_contiguous and G.dtype == np.float64:
                _design.fold_into(S, P + K + 1, G, P)     # one pass, no temporaries
            else:
                G += np.tril(S[:P, :P]) + np.tril(S[:P, :P], -1).T
            tail = S[P:]                              # the rows of f, the members and u: lower triangle below P
        out.b[fold] += tail[0, :P]
        out.bu[fold] += tail[K, :P]
        out.ff[fold] += tail[0, P]
        if members is not None:
            ff = np.tril(tail[:K, P:P + K])
            return tail[1:K, :P].copy(), ff + np.tril(ff, -1).T
        return None
