/*
 * Compiled kernel of the force-constant fit: the rows of the design matrix for one class of atoms and a block of
 * frames, with the gather of the displacements (and of their products) fused into the sparse product, so the
 * gathered matrix is never stored; and the normal equations of those rows.
 *
 *   rows_into(u3, n_atoms, n_frames, table, n_c, i0, n_i, col_j, col_b, col_l, col_c, col_m, col_d, colptr, rowidx,
 *             vals, outrow, spread_dst, spread_ptr, spread_src, spread_w, out)
 *   normal_into(u3, n_atoms, n_frames, table, n_c, col_j, col_b, col_l, col_c, col_m, col_d, colptr, rowidx, vals,
 *               outrow, spread_dst, spread_ptr, spread_src, spread_w, f3, atoms, n_rows, n_tile, S, dsyrk
 *               [, n_rhs=1, w3=None, G=None, dgemm=None])
 *   fold_into(S, n, G, p), mirror_lower(G, p): the results of normal_into folded into a full symmetric A'A
 *
 * u3       float64 (3, n_atoms, n_frames): displacements, frames fastest
 * table    int32 (n_tables, n_c): partner atoms (4 bytes each: 300 partners of 10^6 atoms are 1.2 GB); column c of
 *          the basis matrix M reads the displacement component col_b[c] of atom table[col_j[c], i] and, when
 *          col_l[c] >= 0, multiplies it by component col_c[c] of atom
 *          table[col_l[c], i] (third order) and, when col_m[c] >= 0 too, by component col_d[c] of atom
 *          table[col_m[c], i] (fourth order), for every atom i of the class
 * colptr, rowidx, vals: M in compressed sparse columns (int64, int64, float64)
 * outrow   int64 (rows of M): the row of ``out`` each row of M adds to
 * spread_dst, spread_ptr, spread_src, spread_w: after the columns, the rows 3 q + a (a = 0, 1, 2) of out for every
 *          q = spread_dst[d] receive the rows 3 spread_src[k] + a times spread_w[k] (k in spread_ptr[d] ..
 *          spread_ptr[d + 1], added in that order): the map from the sparser factored columns that are not
 *          parameters themselves onto the parameters, target by target, the same for the three components (int64,
 *          int64, int64, float64; may be empty). Every source lies past every target.
 *
 * rows_into: the atoms i0 .. i0 + n_i - 1 of the class; out float64 (n_out_rows, n_i, n_frames), added to:
 *          out[outrow[r], i - i0, t] += M[r, c] x_c(i, t).
 * normal_into: every atom of the class, n_tile atoms at a time. A tile's rows (outrow = 3 p + a for parameter row p
 *          and component a) sit in a small buffer that stays in cache; row p = n_rows - 2 holds the forces f3
 *          (3, n_atoms, n_frames) and row n_rows - 1 the displacements of the atoms ``atoms`` (int64, n_c), and one
 *          symmetric rank update (BLAS dsyrk, the function in the capsule ``dsyrk``, scipy.linalg.cython_blas') adds
 *          the first n_rows rows' products to S (float64 (n_rows, n_rows), upper triangle in column-major order, i.e.
 *          the lower triangle of the C-ordered array): A'A, A'f, A'u and f'f at once.
 *          n_rhs (optional, default 1): f3 holds that many force sets (n_rhs, 3, n_atoms, n_frames), put in rows
 *          n_rows - 1 - n_rhs .. n_rows - 2 (the scratch rows past the parameters are spent by then: the spread has
 *          moved them onto the parameters), so that one pass gives A'f_k and f_k'f_l of every set: the members of a
 *          committee of potentials on the same positions share A'A. w3 (optional, float64 (3, n_atoms, n_frames) or
 *          None): the weight 1/sigma of every force component; the rows of A and of f are multiplied by it and the
 *          row of u divided by it, so that S holds A'W A, A'W f, f'W f and still A'u (W = w^2: generalised least
 *          squares). Without them the loops are the unweighted ones, unchanged.
 *          G (optional, float64 (P, P), P = n_rows - 1 - n_rhs, with dgemm the capsule of BLAS dgemm): the parameters'
 *          block is updated in G itself (its lower triangle, C order; mirror_lower completes it), and S is then
 *          (n_rhs + 1, n_rows): the rows of the force sets and of u against every row (one dgemm per tile), so that
 *          no (n_rows, n_rows) matrix is zeroed and folded into A'A per call.
 *
 * Column by column for a tile of atoms: the column's values for every atom and frame of the tile gathered (and, third
 * and fourth order, multiplied) into one contiguous buffer, then one axpy per non-zero over the whole tile row, three
 * rows at a time (the buffer is read once for three updates); the spread then reads and writes the same rows, target
 * by target. A partner-table row is gathered once, all three components,
 * for the run of columns that read it (the columns of one cluster come one after the other: design.py orders them). The
 * index work of a column is paid once per tile, not once per atom: at one frame a call (10^6 atoms) the axpys run
 * over a few thousand contiguous values instead of one. Each output value receives the same products in the same
 * order as column by column for one atom at a time, so the sums are the same to the last bit.
 *
 * The GIL is released for the loops (and the rank update), so Dask threads build rows on different cores.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_compat.h"

static int need(Py_buffer *b, Py_ssize_t bytes, const char *what)
{
    if (bytes < 0) {
        PyErr_Format(PyExc_ValueError, "_design: %s: a negative size", what);
        return -1;
    }
    if (b->len < bytes) {
        PyErr_Format(PyExc_ValueError, "_design: %s holds %zd bytes, needs %zd", what, b->len, bytes);
        return -1;
    }
    return 0;
}

/* The displacements of table row J of the atoms i0 .. i0 + n_i - 1, all three components: g[(b * n_i + i) * T + t] */
static inline void gather3(const double *TM_RESTRICT u, Py_ssize_t n_atoms, Py_ssize_t T,
                           const int32_t *TM_RESTRICT tj, Py_ssize_t n_i, double *TM_RESTRICT g)
{
    const double *TM_RESTRICT u0 = u, *TM_RESTRICT u1 = u + n_atoms * T, *TM_RESTRICT u2 = u + 2 * n_atoms * T;
    double *TM_RESTRICT g0 = g, *TM_RESTRICT g1 = g + n_i * T, *TM_RESTRICT g2 = g + 2 * n_i * T;
    if (T == 1) {
        for (Py_ssize_t i = 0; i < n_i; i++) {
            const Py_ssize_t j = tj[i];
            g0[i] = u0[j], g1[i] = u1[j], g2[i] = u2[j];
        }
        return;
    }
    for (Py_ssize_t i = 0; i < n_i; i++) {
        const Py_ssize_t j = (Py_ssize_t)tj[i] * T;
        memcpy(g0 + i * T, u0 + j, sizeof(double) * T);
        memcpy(g1 + i * T, u1 + j, sizeof(double) * T);
        memcpy(g2 + i * T, u2 + j, sizeof(double) * T);
    }
}

/* The loops, compiled for AVX2 and for the baseline instruction set; the loader picks one for the processor. */
TM_TARGET_CLONES
static void add_rows(const double *TM_RESTRICT u, Py_ssize_t n_atoms, Py_ssize_t T, const int32_t *TM_RESTRICT tab,
                     Py_ssize_t n_c, Py_ssize_t i0, Py_ssize_t n_i, Py_ssize_t ncols, const int64_t *TM_RESTRICT col_j,
                     const int64_t *TM_RESTRICT col_b, const int64_t *TM_RESTRICT col_l, const int64_t *TM_RESTRICT col_c,
                     const int64_t *TM_RESTRICT col_m, const int64_t *TM_RESTRICT col_d, const int64_t *TM_RESTRICT cp,
                     const int64_t *TM_RESTRICT ri, const double *TM_RESTRICT v, const int64_t *TM_RESTRICT orow,
                     Py_ssize_t n_sp_dst, const int64_t *TM_RESTRICT sp_dst, const int64_t *TM_RESTRICT sp_ptr,
                     const int64_t *TM_RESTRICT sp_src, const double *TM_RESTRICT sp_w, double *TM_RESTRICT o,
                     double *TM_RESTRICT xs)
{
    const Py_ssize_t row = n_i * T;                           /* one output row: (atom, frame) of the atoms */
    /* the displacements of the partner-table rows the last columns read, all three components (columns of one
     * cluster follow each other: its 3, 9 or 27 components gather their atoms once, not once a column) */
    double *TM_RESTRICT gj = xs + row, *TM_RESTRICT gl = gj + 3 * row, *TM_RESTRICT gm = gl + 3 * row;
    int64_t have_j = -1, have_l = -1, have_m = -1;
    for (Py_ssize_t c = 0; c < ncols; c++) {
        /* the column's values for every atom and frame, contiguous: a gathered component (second order) or the
         * product of two (third) or three (fourth) */
        if (col_j[c] != have_j) gather3(u, n_atoms, T, tab + col_j[c] * n_c + i0, n_i, gj), have_j = col_j[c];
        const double *TM_RESTRICT x = gj + col_b[c] * row, *TM_RESTRICT col = x;
        if (col_l[c] >= 0) {
            if (col_l[c] != have_l) gather3(u, n_atoms, T, tab + col_l[c] * n_c + i0, n_i, gl), have_l = col_l[c];
            const double *TM_RESTRICT y = gl + col_c[c] * row;
            if (col_m[c] < 0) {
                for (Py_ssize_t e = 0; e < row; e++) xs[e] = x[e] * y[e];
            } else {
                if (col_m[c] != have_m)
                    gather3(u, n_atoms, T, tab + col_m[c] * n_c + i0, n_i, gm), have_m = col_m[c];
                const double *TM_RESTRICT z = gm + col_d[c] * row;
                for (Py_ssize_t e = 0; e < row; e++) xs[e] = x[e] * y[e] * z[e];
            }
            col = xs;
        }
        int64_t k = cp[c];
        for (; k + 2 < cp[c + 1]; k += 3) {          /* three rows at a time: the column read once for three updates */
            double *TM_RESTRICT d0 = o + orow[ri[k]] * row;
            double *TM_RESTRICT d1 = o + orow[ri[k + 1]] * row;
            double *TM_RESTRICT d2 = o + orow[ri[k + 2]] * row;
            const double w0 = v[k], w1 = v[k + 1], w2 = v[k + 2];
            for (Py_ssize_t e = 0; e < row; e++) {
                const double xe = col[e];
                d0[e] += w0 * xe;
                d1[e] += w1 * xe;
                d2[e] += w2 * xe;
            }
        }
        for (; k < cp[c + 1]; k++) {
            double *TM_RESTRICT dst = o + orow[ri[k]] * row;
            const double w = v[k];
            for (Py_ssize_t e = 0; e < row; e++) dst[e] += w * col[e];
        }
    }
    /* the spread target by target: a target row stays in cache while its sources are added, in the order listed
     * (each source row read whole, in step with the prefetcher: a target held in registers while its sources were
     * added a few values at a time ran at half the speed) */
    for (Py_ssize_t d = 0; d < n_sp_dst; d++) {                  /* the three components' rows at once */
        double *TM_RESTRICT dst = o + sp_dst[d] * 3 * row;
        for (int64_t k = sp_ptr[d]; k < sp_ptr[d + 1]; k++) {
            const double *TM_RESTRICT src = o + sp_src[k] * 3 * row;
            const double w = sp_w[k];
            for (Py_ssize_t e = 0; e < 3 * row; e++) dst[e] += w * src[e];
        }
    }
}

/* The buffers of a call, and the check of every index (once per call), so the loops read and write in bounds. */
typedef struct {
    Py_buffer u3, table, cj, cb, cl, cc, cm, cd, colptr, rowidx, vals, outrow, sdst, sptr, ssrc, sw;
    Py_ssize_t n_atoms, T, n_c, ncols, nnz, nrows, n_tables, n_sp_dst, n_sp;
} tables_t;

#define N_TABLE_BUFFERS 16

static Py_buffer *table_buffers(tables_t *t, Py_ssize_t k)
{
    Py_buffer *all[N_TABLE_BUFFERS] = {&t->u3, &t->table, &t->cj, &t->cb, &t->cl, &t->cc, &t->cm, &t->cd,
                                       &t->colptr, &t->rowidx, &t->vals, &t->outrow, &t->sdst, &t->sptr, &t->ssrc,
                                       &t->sw};
    return all[k];
}

static void release(tables_t *t)
{
    for (Py_ssize_t k = 0; k < N_TABLE_BUFFERS; k++) PyBuffer_Release(table_buffers(t, k));
}

/* 0 when every index is in range for an output of n_out rows; -1 with the exception set otherwise */
static int check(tables_t *t, Py_ssize_t n_out, const char *fn)
{
    t->ncols = t->cj.len / 8, t->nnz = t->rowidx.len / 8, t->nrows = t->outrow.len / 8;
    t->n_tables = t->n_c ? t->table.len / 4 / t->n_c : 0;
    t->n_sp_dst = t->sdst.len / 8, t->n_sp = t->ssrc.len / 8;
    if (t->n_atoms < 0 || t->T < 0 || t->n_c < 0 || n_out < 0) {
        PyErr_Format(PyExc_ValueError, "%s: a negative number of atoms, frames, class atoms or output rows", fn);
        return -1;
    }
    if (need(&t->u3, 8 * 3 * t->n_atoms * t->T, "u3") || need(&t->cb, 8 * t->ncols, "col_b") ||
        need(&t->cl, 8 * t->ncols, "col_l") || need(&t->cc, 8 * t->ncols, "col_c") ||
        need(&t->cm, 8 * t->ncols, "col_m") || need(&t->cd, 8 * t->ncols, "col_d") ||
        need(&t->colptr, 8 * (t->ncols + 1), "colptr") || need(&t->vals, 8 * t->nnz, "vals") ||
        need(&t->sptr, 8 * (t->n_sp_dst + 1), "spread_ptr") || need(&t->sw, 8 * t->n_sp, "spread_w"))
        return -1;
    const int32_t *tab = t->table.buf;
    const int64_t *col_j = t->cj.buf, *col_b = t->cb.buf, *col_l = t->cl.buf;
    const int64_t *col_c = t->cc.buf, *col_m = t->cm.buf, *col_d = t->cd.buf, *cp = t->colptr.buf;
    const int64_t *ri = t->rowidx.buf, *orow = t->outrow.buf;
    const int64_t *s_dst = t->sdst.buf, *s_ptr = t->sptr.buf, *s_src = t->ssrc.buf;
    int bad = 0;
    for (Py_ssize_t c = 0; !bad && c < t->ncols; c++)
        if (col_j[c] < 0 || col_j[c] >= t->n_tables || col_l[c] >= t->n_tables || col_b[c] < 0 || col_b[c] > 2 ||
            (col_l[c] >= 0 && (col_c[c] < 0 || col_c[c] > 2)) || col_m[c] >= t->n_tables ||
            (col_m[c] >= 0 && (col_l[c] < 0 || col_d[c] < 0 || col_d[c] > 2)) || cp[c] < 0 || cp[c] > cp[c + 1] ||
            cp[c + 1] > t->nnz)
            bad = 1;
    for (Py_ssize_t k = 0; !bad && k < t->nnz; k++)
        if (ri[k] < 0 || ri[k] >= t->nrows || orow[ri[k]] < 0 || orow[ri[k]] >= n_out) bad = 1;
    if (!bad && t->n_tables * t->n_c > 0) {             /* a min / max reduction (vectorised), not a test a value */
        int32_t lo = tab[0], hi = tab[0];
        const Py_ssize_t n_tab = t->n_tables * t->n_c;
        for (Py_ssize_t k = 0; k < n_tab; k++) {
            lo = tab[k] < lo ? tab[k] : lo;
            hi = tab[k] > hi ? tab[k] : hi;
        }
        if (lo < 0 || hi >= t->n_atoms) bad = 1;
    }
    for (Py_ssize_t d = 0; !bad && d < t->n_sp_dst; d++)
        if (s_dst[d] < 0 || s_dst[d] >= n_out / 3 || s_ptr[d] < 0 || s_ptr[d] > s_ptr[d + 1] || s_ptr[d + 1] > t->n_sp)
            bad = 1;
    for (Py_ssize_t k = 0; !bad && k < t->n_sp; k++)
        if (s_src[k] < 0 || s_src[k] >= n_out / 3) bad = 1;   /* rows 3 s + a */
    /* every source past every target: no row is read by the spread after it was written by it */
    if (!bad && t->n_sp_dst > 0 && t->n_sp > 0) {
        int64_t top = s_dst[0], low = s_src[0];
        for (Py_ssize_t d = 0; d < t->n_sp_dst; d++) top = s_dst[d] > top ? s_dst[d] : top;
        for (Py_ssize_t k = 0; k < t->n_sp; k++) low = s_src[k] < low ? s_src[k] : low;
        if (low <= top) {
            PyErr_Format(PyExc_ValueError, "%s: the spread reads rows %lld, at or before its target rows %lld: its "
                         "sources must be the scratch rows past every parameter", fn, (long long)low, (long long)top);
            return -1;
        }
    }
    if (bad) {
        PyErr_Format(PyExc_ValueError, "%s: an index of the basis or partner tables is out of range", fn);
        return -1;
    }
    return 0;
}

/* the scratch add_rows needs for n_i atoms of T frames: one column's values and three gathered table rows of three
 * components each, in float64 elements */
#define XS_ROWS 10

static void rows_of(tables_t *t, Py_ssize_t i0, Py_ssize_t n_i, double *out, double *xs)
{
    add_rows(t->u3.buf, t->n_atoms, t->T, t->table.buf, t->n_c, i0, n_i, t->ncols, t->cj.buf, t->cb.buf, t->cl.buf,
             t->cc.buf, t->cm.buf, t->cd.buf, t->colptr.buf, t->rowidx.buf, t->vals.buf, t->outrow.buf, t->n_sp_dst,
             t->sdst.buf, t->sptr.buf, t->ssrc.buf, t->sw.buf, out, xs);
}

static PyObject *rows_into(PyObject *self, PyObject *args)
{
    (void)self;
    tables_t t;
    Py_buffer out;
    Py_ssize_t i0, n_i;
    if (!PyArg_ParseTuple(args, "y*nny*nnny*y*y*y*y*y*y*y*y*y*y*y*y*y*w*", &t.u3, &t.n_atoms, &t.T, &t.table, &t.n_c,
                          &i0, &n_i, &t.cj, &t.cb, &t.cl, &t.cc, &t.cm, &t.cd, &t.colptr, &t.rowidx, &t.vals,
                          &t.outrow, &t.sdst, &t.sptr, &t.ssrc, &t.sw, &out))
        return NULL;
    const Py_ssize_t n_out = (n_i > 0 && t.T > 0) ? out.len / 8 / (n_i * t.T) : 0;
    int bad = check(&t, n_out, "rows_into");
    if (!bad && (i0 < 0 || n_i < 0 || i0 + n_i > t.n_c)) {
        PyErr_SetString(PyExc_ValueError, "rows_into: the atoms i0 .. i0 + n_i - 1 are not all in the class");
        bad = -1;
    }
    double *xs = bad ? NULL : malloc(sizeof(double) * XS_ROWS * (n_i * t.T > 0 ? n_i * t.T : 1));
    if (!bad && !xs) { PyErr_NoMemory(); bad = -1; }
    if (!bad) {
        Py_BEGIN_ALLOW_THREADS
        rows_of(&t, i0, n_i, out.buf, xs);
        Py_END_ALLOW_THREADS
    }
    free(xs);
    release(&t);
    PyBuffer_Release(&out);
    if (bad) return NULL;
    Py_RETURN_NONE;
}

typedef void (*dsyrk_t)(char *, char *, int *, int *, double *, double *, int *, double *, double *, int *);
typedef void (*dgemm_t)(char *, char *, int *, int *, int *, double *, double *, int *, double *, int *, double *,
                        double *, int *);

static void *capsule_pointer(PyObject *capsule)
{
    const char *name = PyCapsule_GetName(capsule);
    return name ? PyCapsule_GetPointer(capsule, name) : NULL;
}

static PyObject *normal_into(PyObject *self, PyObject *args)
{
    (void)self;
    tables_t t;
    Py_buffer f3, atoms, S, w3 = {0}, G = {0};
    Py_ssize_t n_rows, n_tile, n_rhs = 1;
    PyObject *capsule, *weights = Py_None, *gmat = Py_None, *gemm_capsule = Py_None;
    if (!PyArg_ParseTuple(args, "y*nny*ny*y*y*y*y*y*y*y*y*y*y*y*y*y*y*y*nnw*O|nOOO", &t.u3, &t.n_atoms, &t.T, &t.table,
                          &t.n_c, &t.cj, &t.cb, &t.cl, &t.cc, &t.cm, &t.cd, &t.colptr, &t.rowidx, &t.vals,
                          &t.outrow, &t.sdst, &t.sptr, &t.ssrc, &t.sw, &f3, &atoms, &n_rows, &n_tile, &S, &capsule,
                          &n_rhs, &weights, &gmat, &gemm_capsule))
        return NULL;
    int bad = 0;
    const int weighted = weights != Py_None, direct = gmat != Py_None;
    if ((weighted && PyObject_GetBuffer(weights, &w3, PyBUF_SIMPLE) < 0) ||
        (direct && PyObject_GetBuffer(gmat, &G, PyBUF_WRITABLE) < 0)) {
        if (weighted && w3.obj) PyBuffer_Release(&w3);
        release(&t);
        PyBuffer_Release(&f3);
        PyBuffer_Release(&atoms);
        PyBuffer_Release(&S);
        return NULL;
    }
    /* direct: the parameters' block goes straight into G (n_par x n_par, its lower triangle in C order), the rows of
     * the force sets and u against every row into S ((n_rhs + 1) x n_rows, C order) with a dgemm */
    const Py_ssize_t n_par = n_rows - 1 - n_rhs;
    dgemm_t dgemm = NULL;
    dsyrk_t dsyrk = NULL;
    /* the buffer's rows: every row the tables write, and the two of f and u */
    Py_ssize_t n_buf_rows = 3 * n_rows;
    const int64_t *orow = t.outrow.buf, *s_src = t.ssrc.buf;
    for (Py_ssize_t r = 0; r < t.outrow.len / 8; r++)
        if (orow[r] + 1 > n_buf_rows) n_buf_rows = orow[r] + 1;
    for (Py_ssize_t k = 0; k < t.ssrc.len / 8; k++)       /* a spread source: rows 3 s .. 3 s + 2 */
        if (s_src[k] >= 0 && s_src[k] < PY_SSIZE_T_MAX / 4 && 3 * s_src[k] + 3 > n_buf_rows)
            n_buf_rows = 3 * s_src[k] + 3;
    n_buf_rows = (n_buf_rows + 2) / 3 * 3;
    if (n_rhs < 1 || n_rows < 1 + n_rhs || n_tile < 1 || t.T < 0 || t.n_c < 0 ||
        need(&f3, 8 * n_rhs * 3 * t.n_atoms * t.T, "f3") || need(&atoms, 8 * t.n_c, "atoms") ||
        (weighted && need(&w3, 8 * 3 * t.n_atoms * t.T, "w3")) ||
        need(&S, 8 * (direct ? n_rhs + 1 : n_rows) * n_rows, "S") ||
        (direct && need(&G, 8 * n_par * n_par, "G")) || check(&t, n_buf_rows, "normal_into"))
        bad = 1;
    const int64_t *at = atoms.buf;
    for (Py_ssize_t i = 0; !bad && i < t.n_c; i++)
        if (at[i] < 0 || at[i] >= t.n_atoms) {
            PyErr_SetString(PyExc_ValueError, "normal_into: an atom of the class is out of range");
            bad = 1;
        }
    if (!bad && !PyErr_Occurred()) {
        dsyrk = (dsyrk_t)capsule_pointer(capsule);
        if (!dsyrk) bad = 1;
        if (!bad && direct) {
            dgemm = (dgemm_t)capsule_pointer(gemm_capsule);
            if (!dgemm) bad = 1;
        }
    }
    if (bad && !PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "normal_into: bad arguments");
    const Py_ssize_t tile = n_tile < t.n_c ? n_tile : (t.n_c > 0 ? t.n_c : 1);
    const size_t buf_len = (size_t)n_buf_rows * tile * (t.T > 0 ? t.T : 1);
    double *buf = bad ? NULL : malloc(sizeof(double) * buf_len);
    double *xs = bad ? NULL : malloc(sizeof(double) * XS_ROWS * tile * (t.T > 0 ? t.T : 1));
    if (!bad && (!buf || !xs)) { PyErr_NoMemory(); bad = 1; }
    if (!bad && t.T > 0 && (Py_ssize_t)3 * tile * t.T > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "normal_into: a tile is too large for BLAS");
        bad = 1;
    }
    if (!bad && t.T > 0) {
        const double *f = f3.buf, *u = t.u3.buf;
        double *Sd = S.buf;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i0 = 0; i0 < t.n_c; i0 += tile) {
            const Py_ssize_t n_i = (t.n_c - i0 < tile) ? t.n_c - i0 : tile;
            const Py_ssize_t row = n_i * t.T;                  /* one row of the tile: (atom, frame) */
            memset(buf, 0, sizeof(double) * n_buf_rows * row);
            rows_of(&t, i0, n_i, buf, xs);
            for (int a = 0; a < 3; a++)
                for (Py_ssize_t i = 0; i < n_i; i++) {
                    for (Py_ssize_t k = 0; k < n_rhs; k++)
                        memcpy(buf + (3 * (n_rows - 1 - n_rhs + k) + a) * row + i * t.T,
                               f + ((k * 3 + a) * t.n_atoms + at[i0 + i]) * t.T, sizeof(double) * t.T);
                    memcpy(buf + (3 * (n_rows - 1) + a) * row + i * t.T, u + (a * t.n_atoms + at[i0 + i]) * t.T,
                           sizeof(double) * t.T);
                }
            if (weighted) {                                   /* rows of A and f times w, the row of u over w */
                const double *w = w3.buf;
                for (int a = 0; a < 3; a++)
                    for (Py_ssize_t i = 0; i < n_i; i++) {
                        const double *TM_RESTRICT wi = w + (a * t.n_atoms + at[i0 + i]) * t.T;
                        for (Py_ssize_t r = 0; r < n_rows - 1; r++) {
                            double *TM_RESTRICT d = buf + (3 * r + a) * row + i * t.T;
                            for (Py_ssize_t e = 0; e < t.T; e++) d[e] *= wi[e];
                        }
                        double *TM_RESTRICT d = buf + (3 * (n_rows - 1) + a) * row + i * t.T;
                        for (Py_ssize_t e = 0; e < t.T; e++) d[e] /= wi[e];
                    }
            }
            char uplo = 'U', trans = 'T', no = 'N';
            int n = (int)n_rows, k = (int)(3 * row), lda = (int)(3 * row), ldc = (int)n_rows;
            double one = 1.0;
            if (direct) {
                int np = (int)n_par, nr = (int)(n_rhs + 1);
                if (np > 0) dsyrk(&uplo, &trans, &np, &k, &one, buf, &lda, &one, G.buf, &np);
                dgemm(&trans, &no, &n, &nr, &k, &one, buf, &lda, buf + (size_t)n_par * lda, &lda, &one, Sd, &ldc);
            } else {
                dsyrk(&uplo, &trans, &n, &k, &one, buf, &lda, &one, Sd, &ldc);
            }
        }
        Py_END_ALLOW_THREADS
    }
    free(buf);
    free(xs);
    release(&t);
    PyBuffer_Release(&f3);
    PyBuffer_Release(&atoms);
    PyBuffer_Release(&S);
    if (weighted) PyBuffer_Release(&w3);
    if (direct) PyBuffer_Release(&G);
    if (bad) return NULL;
    Py_RETURN_NONE;
}

/* G (p x p, C order) += the leading p x p block of the symmetric matrix whose lower triangle (C order) S (n x n) holds:
 * G[i, j] += S[max(i, j), min(i, j)], block by block so that both the rows and the columns of S are read from cache
 * (numpy's S + tril(S, -1).T, then G += S[:p, :p]: three passes and two temporaries of n^2). */
static PyObject *fold_into(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer S, G;
    Py_ssize_t n, p;
    if (!PyArg_ParseTuple(args, "y*nw*n", &S, &n, &G, &p)) return NULL;
    if (n < 0 || p < 0 || p > n || S.len < (Py_ssize_t)sizeof(double) * n * n ||
        G.len < (Py_ssize_t)sizeof(double) * p * p) {
        PyBuffer_Release(&S);
        PyBuffer_Release(&G);
        PyErr_SetString(PyExc_ValueError, "fold_into: S must hold n x n and G p x p values, p <= n");
        return NULL;
    }
    const double *TM_RESTRICT s = S.buf;
    double *TM_RESTRICT g = G.buf;
    enum { B = 64 };
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i0 = 0; i0 < p; i0 += B) {
        const Py_ssize_t i1 = i0 + B < p ? i0 + B : p;
        for (Py_ssize_t j0 = 0; j0 <= i0; j0 += B) {
            const Py_ssize_t j1 = j0 + B < p ? j0 + B : p;
            for (Py_ssize_t i = i0; i < i1; i++) {
                const Py_ssize_t jend = j1 < i + 1 ? j1 : i + 1;
                for (Py_ssize_t j = j0; j < jend; j++) {
                    const double v = s[i * n + j];
                    g[i * p + j] += v;
                    if (j != i) g[j * p + i] += v;
                }
            }
        }
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&S);
    PyBuffer_Release(&G);
    Py_RETURN_NONE;
}

/* G (p x p, C order): the upper triangle set to the lower one, block by block (after rank updates of the lower
 * triangle alone into a G that was symmetric). */
static PyObject *mirror_lower(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer G;
    Py_ssize_t p;
    if (!PyArg_ParseTuple(args, "w*n", &G, &p)) return NULL;
    if (p < 0 || G.len < (Py_ssize_t)sizeof(double) * p * p) {
        PyBuffer_Release(&G);
        PyErr_SetString(PyExc_ValueError, "mirror_lower: G must hold p x p values");
        return NULL;
    }
    double *TM_RESTRICT g = G.buf;
    enum { B = 64 };
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i0 = 0; i0 < p; i0 += B) {
        const Py_ssize_t i1 = i0 + B < p ? i0 + B : p;
        for (Py_ssize_t j0 = 0; j0 <= i0; j0 += B) {
            const Py_ssize_t j1 = j0 + B < p ? j0 + B : p;
            for (Py_ssize_t i = i0; i < i1; i++) {
                const Py_ssize_t jend = j1 < i ? j1 : i;
                for (Py_ssize_t j = j0; j < jend; j++) g[j * p + i] = g[i * p + j];
            }
        }
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&G);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"mirror_lower", mirror_lower, METH_VARARGS, "Set the upper triangle of a square matrix to its lower one."},
    {"fold_into", fold_into, METH_VARARGS, "Add the leading block of a symmetric matrix held as its lower triangle."},
    {"rows_into", rows_into, METH_VARARGS, "Add the design-matrix rows of some atoms of one class to out."},
    {"normal_into", normal_into, METH_VARARGS, "Add the normal equations of one class of atoms to S."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "_design", "Compiled design-matrix kernel.", -1,
                                    methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__design(void) { return PyModule_Create(&moddef); }
