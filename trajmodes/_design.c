/*
 * Compiled kernel of the force-constant fit: the rows of the design matrix for one class of atoms and a block of
 * frames, with the gather of the displacements (and of their products) fused into the sparse product, so the
 * gathered matrix is never stored.
 *
 *   rows_into(u3, n_atoms, n_frames, table, n_c, col_j, col_b, col_l, col_c, colptr, rowidx, vals, outrow, out)
 *
 * u3       float64 (3, n_atoms, n_frames): displacements, frames fastest
 * table    int64 (n_tables, n_c): partner atoms; column c of the basis matrix M reads the displacement component
 *          col_b[c] of atom table[col_j[c], i] and, when col_l[c] >= 0, multiplies it by component col_c[c] of atom
 *          table[col_l[c], i] (third order), for every atom i of the class
 * colptr, rowidx, vals: M in compressed sparse columns (int64, int64, float64)
 * outrow   int64 (rows of M): the row of ``out`` each row of M adds to
 * out      float64 (n_out_rows, n_c, n_frames), added to: out[outrow[r], i, t] += M[r, c] x_c(i, t)
 *
 * For one atom, column by column: the column's product over the frames (in cache), then one axpy per non-zero
 * into the output rows of that atom, three rows at a time (the product is read once for three updates). The caller
 * orders the columns so that consecutive ones touch the same few rows (those of one orbit of clusters), which keeps
 * the rows of the atom in cache.
 *
 * The GIL is released for the loops, so Dask threads build rows on different cores.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int need(Py_buffer *b, Py_ssize_t bytes, const char *what)
{
    if (b->len < bytes) {
        PyErr_Format(PyExc_ValueError, "rows_into: %s holds %zd bytes, needs %zd", what, b->len, bytes);
        return -1;
    }
    return 0;
}

/* The loops, compiled for AVX2 and for the baseline instruction set; the loader picks one for the processor. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
__attribute__((target_clones("avx2", "default")))
#endif
static void add_rows(const double *restrict u, Py_ssize_t n_atoms, Py_ssize_t T, const int64_t *restrict tab,
                     Py_ssize_t n_c, Py_ssize_t ncols, const int64_t *restrict col_j, const int64_t *restrict col_b,
                     const int64_t *restrict col_l, const int64_t *restrict col_c, const int64_t *restrict cp,
                     const int64_t *restrict ri, const double *restrict v, const int64_t *restrict orow,
                     double *restrict o, double *restrict prod)
{
    for (Py_ssize_t i = 0; i < n_c; i++) {
        for (Py_ssize_t c = 0; c < ncols; c++) {
            const double *restrict x = u + (col_b[c] * n_atoms + tab[col_j[c] * n_c + i]) * T;
            if (col_l[c] >= 0) {
                const double *restrict y = u + (col_c[c] * n_atoms + tab[col_l[c] * n_c + i]) * T;
                for (Py_ssize_t t = 0; t < T; t++) prod[t] = x[t] * y[t];
                x = prod;
            }
            int64_t k = cp[c];
            for (; k + 2 < cp[c + 1]; k += 3) {      /* three rows at a time: x read once for three updates */
                double *restrict d0 = o + (orow[ri[k]] * n_c + i) * T;
                double *restrict d1 = o + (orow[ri[k + 1]] * n_c + i) * T;
                double *restrict d2 = o + (orow[ri[k + 2]] * n_c + i) * T;
                const double w0 = v[k], w1 = v[k + 1], w2 = v[k + 2];
                for (Py_ssize_t t = 0; t < T; t++) {
                    const double xt = x[t];
                    d0[t] += w0 * xt;
                    d1[t] += w1 * xt;
                    d2[t] += w2 * xt;
                }
            }
            for (; k < cp[c + 1]; k++) {
                double *restrict dst = o + (orow[ri[k]] * n_c + i) * T;
                const double w = v[k];
                for (Py_ssize_t t = 0; t < T; t++) dst[t] += w * x[t];
            }
        }
    }
}

static PyObject *rows_into(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer u3, table, cj, cb, cl, cc, colptr, rowidx, vals, outrow, out;
    Py_ssize_t n_atoms, T, n_c;
    if (!PyArg_ParseTuple(args, "y*nny*ny*y*y*y*y*y*y*y*w*", &u3, &n_atoms, &T, &table, &n_c, &cj, &cb, &cl, &cc,
                          &colptr, &rowidx, &vals, &outrow, &out))
        return NULL;
    Py_buffer *all[] = {&u3, &table, &cj, &cb, &cl, &cc, &colptr, &rowidx, &vals, &outrow, &out};
    const Py_ssize_t ncols = cj.len / 8, nnz = rowidx.len / 8, nrows = outrow.len / 8;
    const Py_ssize_t n_tables = n_c ? table.len / 8 / n_c : 0;
    int bad = need(&u3, 8 * 3 * n_atoms * T, "u3") || need(&cb, 8 * ncols, "col_b") ||
              need(&cl, 8 * ncols, "col_l") || need(&cc, 8 * ncols, "col_c") ||
              need(&colptr, 8 * (ncols + 1), "colptr") || need(&vals, 8 * nnz, "vals");
    const int64_t *tab = table.buf, *col_j = cj.buf, *col_b = cb.buf, *col_l = cl.buf, *col_c = cc.buf;
    const int64_t *cp = colptr.buf, *ri = rowidx.buf, *orow = outrow.buf;
    const double *u = u3.buf, *v = vals.buf;
    double *o = out.buf;
    const Py_ssize_t n_out = (n_c && T) ? out.len / 8 / (n_c * T) : 0;
    /* every index is checked once here, so the loops below read and write in bounds */
    for (Py_ssize_t c = 0; !bad && c < ncols; c++)
        if (col_j[c] < 0 || col_j[c] >= n_tables || col_l[c] >= n_tables || col_b[c] < 0 || col_b[c] > 2 ||
            (col_l[c] >= 0 && (col_c[c] < 0 || col_c[c] > 2)) || cp[c] < 0 || cp[c] > cp[c + 1] || cp[c + 1] > nnz)
            bad = 1;
    for (Py_ssize_t k = 0; !bad && k < nnz; k++)
        if (ri[k] < 0 || ri[k] >= nrows || orow[ri[k]] < 0 || orow[ri[k]] >= n_out) bad = 1;
    for (Py_ssize_t k = 0; !bad && k < n_tables * n_c; k++)
        if (tab[k] < 0 || tab[k] >= n_atoms) bad = 1;
    double *prod = bad ? NULL : malloc(sizeof(double) * (T > 0 ? T : 1));
    if (!bad && !prod) { PyErr_NoMemory(); bad = 2; }
    if (!bad) {
        Py_BEGIN_ALLOW_THREADS
        add_rows(u, n_atoms, T, tab, n_c, ncols, col_j, col_b, col_l, col_c, cp, ri, v, orow, o, prod);
        Py_END_ALLOW_THREADS
    }
    free(prod);
    for (size_t b = 0; b < sizeof(all) / sizeof(all[0]); b++) PyBuffer_Release(all[b]);
    if (bad == 1) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "rows_into: an index of the basis or partner tables is out of range");
        return NULL;
    }
    if (bad) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"rows_into", rows_into, METH_VARARGS, "Add the design-matrix rows of one class of atoms to out."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "_design", "Compiled design-matrix kernel.", -1,
                                    methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__design(void) { return PyModule_Create(&moddef); }
