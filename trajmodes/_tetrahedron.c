/*
 * Compiled kernel of the linear tetrahedron method (trajmodes.phonons.harmonic.tetrahedron.point_weights): the
 * weight every tetrahedron gives its central vertex in delta(w - f) at the points w inside its range, in one pass
 * that releases the GIL (the three-phonon self-energies of many q run side by side on Dask threads).
 *
 *   accumulate(values, n_rows, central, group, points, by, out)
 *
 *     For row e of values (the four vertex values of one tetrahedron), sorted ascending (stably: of equal values the
 *     first stays first) with c the sorted position of vertex central[e % len(central)], and for every point
 *     points[k] in [v0, v3) (bisection; points ascending):
 *         out[(e / group) * nw + by[k]] += I_c(points[k]) g(points[k])
 *     with phonopy's formulas (vertex_weights in tetrahedron.py), rows and points in ascending order, so that the sums
 *     are those of the numpy route to the last bit.
 *
 *     values   float64 (n_rows, 4)
 *     central  int64 (n_central), each in 0 .. 3
 *     points   float64 (nw), ascending
 *     by       int64 (nw), each in 0 .. nw - 1: the output column of points[k]
 *     out      float64, at least (n_rows / group) * nw values (n_rows a multiple of group), added to
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>

#include "_compat.h"

#define EPS 1e-10                 /* as phonopy's THM_EPSILON */

/* (x - v_m) / (v_n - v_m), zero where the two vertices coincide */
static inline double f(double x, const double *v, int n, int m)
{
    const double d = v[n] - v[m];
    return fabs(d) >= EPS ? (x - v[m]) / d : 0.0;
}

/* I_c g at x, v0 <= x < v3, for sorted v and the central vertex at sorted position c */
static inline double weight(double x, const double *v, int c)
{
    const double span = v[3] - v[0];
    if (x < v[1]) {                                                     /* v0 <= x < v1 */
        const double f10 = f(x, v, 1, 0), f20 = f(x, v, 2, 0), f30 = f(x, v, 3, 0);
        const double g = 3 * f10 * f20 / span;
        double I;
        switch (c) {
        case 0: I = (f(x, v, 0, 1) + f(x, v, 0, 2) + f(x, v, 0, 3)) / 3; break;
        case 1: I = f10 / 3; break;
        case 2: I = f20 / 3; break;
        default: I = f30 / 3;
        }
        return I * g;
    }
    if (x < v[2]) {                                                     /* v1 <= x < v2 */
        const double f12 = f(x, v, 1, 2), f20 = f(x, v, 2, 0), f21 = f(x, v, 2, 1), f13 = f(x, v, 1, 3);
        const double gd = f12 * f20 + f21 * f13;
        const int ok = gd >= EPS;
        const double gs = ok ? gd : 1.0;
        const double g = 3 / span * gd * (double)ok;
        double I;
        switch (c) {
        case 0: I = (f(x, v, 0, 3) + f(x, v, 0, 2) * f20 * f12 / gs) / 3; break;
        case 1: I = (f12 + f13 * f13 * f21 / gs) / 3; break;
        case 2: I = (f21 + f20 * f20 * f12 / gs) / 3; break;
        default: I = (f(x, v, 3, 0) + f(x, v, 3, 1) * f13 * f21 / gs) / 3;
        }
        return I * g;
    }
    {                                                                   /* v2 <= x < v3 */
        const double f13 = f(x, v, 1, 3), f23 = f(x, v, 2, 3);
        const double g = 3 * f13 * f23 / span;
        double I;
        switch (c) {
        case 0: I = f(x, v, 0, 3) / 3; break;
        case 1: I = f13 / 3; break;
        case 2: I = f23 / 3; break;
        default: I = (f(x, v, 3, 0) + f(x, v, 3, 1) + f(x, v, 3, 2)) / 3;
        }
        return I * g;
    }
}

/* first k with p[k] >= x (numpy's searchsorted, side="left") */
static inline Py_ssize_t lower_bound(const double *p, Py_ssize_t n, double x)
{
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi) {
        const Py_ssize_t mid = lo + (hi - lo) / 2;
        if (p[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void accumulate_loop(const double *TM_RESTRICT values, Py_ssize_t E, const int64_t *TM_RESTRICT central,
                            Py_ssize_t n_central, Py_ssize_t group, const double *TM_RESTRICT points,
                            const int64_t *TM_RESTRICT by, Py_ssize_t nw, double *TM_RESTRICT out)
{
    for (Py_ssize_t e = 0; e < E; e++) {
        double v[4];
        int idx[4];
        for (int i = 0; i < 4; i++) {                                   /* stable insertion sort of four values */
            const double x = values[4 * e + i];
            int j = i;
            while (j > 0 && v[j - 1] > x) {
                v[j] = v[j - 1];
                idx[j] = idx[j - 1];
                j--;
            }
            v[j] = x;
            idx[j] = i;
        }
        const int64_t cv = central[e % n_central];
        int c = 0;
        while (c < 3 && idx[c] != cv) c++;
        const Py_ssize_t lo = lower_bound(points, nw, v[0]);
        if (lo == nw || !(points[lo] < v[3])) continue;
        const Py_ssize_t hi = lower_bound(points + lo, nw - lo, v[3]) + lo;
        double *row = out + (e / group) * nw;
        for (Py_ssize_t k = lo; k < hi; k++) row[by[k]] += weight(points[k], v, c);
    }
}

static PyObject *accumulate(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer values, central, points, by, out;
    Py_ssize_t E, group;
    if (!PyArg_ParseTuple(args, "y*ny*ny*y*w*", &values, &E, &central, &group, &points, &by, &out)) return NULL;
    const char *fn = "accumulate";
    const Py_ssize_t n_central = central.len / 8, nw = points.len / 8;
    int bad = 0;
    if (E < 0 || group <= 0 || E % group || n_central <= 0) {
        PyErr_Format(PyExc_ValueError, "%s: %zd rows in groups of %zd, %zd central vertices", fn, E, group, n_central);
        bad = 1;
    }
    bad = bad || tm_need(&values, 4 * E, 8, fn, "values") || tm_need(&by, nw, 8, fn, "by") ||
          tm_need(&out, (E / group) * nw, 8, fn, "out");
    const int64_t *cv = central.buf, *b = by.buf;
    for (Py_ssize_t i = 0; !bad && i < n_central; i++)
        if (cv[i] < 0 || cv[i] > 3) {
            PyErr_Format(PyExc_ValueError, "%s: central[%zd] = %lld is not a vertex 0..3", fn, i, (long long)cv[i]);
            bad = 1;
        }
    for (Py_ssize_t k = 0; !bad && k < nw; k++)
        if (b[k] < 0 || b[k] >= nw) {
            PyErr_Format(PyExc_ValueError, "%s: by[%zd] = %lld is not a column 0..%zd", fn, k, (long long)b[k], nw - 1);
            bad = 1;
        }
    if (!bad && E && nw) {
        Py_BEGIN_ALLOW_THREADS
        accumulate_loop(values.buf, E, cv, n_central, group, points.buf, b, nw, out.buf);
        Py_END_ALLOW_THREADS
    }
    Py_buffer *all[] = {&values, &central, &points, &by, &out};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++) PyBuffer_Release(all[k]);
    if (bad) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"accumulate", accumulate, METH_VARARGS,
     "Add every tetrahedron's weight of its central vertex at the points inside its range to out."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "_tetrahedron", "Compiled linear-tetrahedron kernel.", -1,
                                    methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__tetrahedron(void) { return PyModule_Create(&moddef); }
