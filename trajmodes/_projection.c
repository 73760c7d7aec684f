/*
 * Compiled kernels of the mode projection (trajmodes.modes.projection) and of the minimum-image displacements
 * (trajmodes.trajectory.core.chunk_displacements): each pass over a block of frames is one call that releases the
 * GIL, so Dask threads project different chunks on different cores.
 *
 *   scatter(x, n_frames, n_atoms, A, o, p, s0, H0, dest, astride, fstride, weight, out)
 *
 *     For frame t and atom j, u = x[t, j] (A empty), or the minimum-image displacement through fractional
 *     coordinates (A given):
 *         s = (x[t, j] - p[j] - o[t]) A[t] - s0[j];   s -= rint(s);   u = s H0
 *     and out[t * fstride + dest[j] + a * astride] = weight[j] u[a] (weight empty: 1).
 *
 *     x      float64 (n_frames, n_atoms, 3)
 *     A      float64 (9) one matrix for every frame, or (n_frames, 3, 3), or empty
 *     o      float64 (3) or (n_frames, 3)             (with A)
 *     p, s0  float64 (n_atoms, 3), or empty for zero  (with A)
 *     H0     float64 (3, 3)                           (with A)
 *     dest   int64 (n_atoms): every dest[j] + 2 astride in 0 .. fstride - 1
 *     weight float64 (n_atoms) or empty
 *     out    float64, at least n_frames * fstride values
 *
 *   drift(x, n_frames, n_atoms, A, o, p, s0, weight, out)
 *
 *     The rigid translation of the crystal in each frame, in the fractional coordinates of scatter's map (same x, A,
 *     o, p, s0): with s_j the fractional displacement of atom j before its wrap, c = s_0 - rint(s_0) (atom 0's
 *     minimum image, a first guess) and
 *         out[t] = c + sum_j weight[j] wrap(s_j - c) / sum_j weight[j]        (weight empty: 1)
 *     the (mass-weighted) mean of the minimum images about c: the centre of mass's displacement, exact while every
 *     atom stays within half a cell width of its site less the drift. scatter with o[t] + out[t] A[t]^-1 in place of
 *     o[t] then writes displacements with the drift taken out, wrapped about the crystal's own position.
 *
 *     out    float64 (n_frames, 3), overwritten
 *
 *   contract(F, n_frames, n_rows, n_grid, g, conj, ec, out)
 *
 *     out[t, q, s] = sum_r F~[t, r, g[q]] ec[q, r, s], F~ = F, or its complex conjugate where conj[q]
 *
 *     F      complex128 (n_frames, n_rows, n_grid)   e.g. a real-input FFT of every row
 *     g      int64 (nq), each in 0 .. n_grid - 1
 *     conj   uint8 (nq)
 *     ec     complex128 (nq, n_rows, n_rows)
 *     out    complex128 (n_frames, nq, n_rows), overwritten
 *
 * contract runs over tiles of q whose eigenvectors stay in cache, frames outermost within a tile.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "_compat.h"

/* rint for |f| < 2^51 without a library call (round half to even, as numpy's round): the addition of 1.5 x 2^52
 * drops the fraction under the default rounding mode; larger |f| are integers already or go to nearbyint. */
static inline double wrap(double f)
{
    const double big = 6755399441055744.0;
    return fabs(f) < 2251799813685248.0 ? f - ((f + big) - big) : f - nearbyint(f);
}

static void scatter_loop(const double *TM_RESTRICT x, Py_ssize_t T, Py_ssize_t N, const double *TM_RESTRICT A,
                         Py_ssize_t a_step, const double *TM_RESTRICT o, Py_ssize_t o_step, const double *TM_RESTRICT p,
                         const double *TM_RESTRICT s0, const double *TM_RESTRICT H, const int64_t *TM_RESTRICT dest,
                         Py_ssize_t astride, Py_ssize_t fstride, const double *TM_RESTRICT w, double *TM_RESTRICT out)
{
    static const double zero[3] = {0.0, 0.0, 0.0};
    for (Py_ssize_t t = 0; t < T; t++) {
        const double *xt = x + 3 * N * t;
        double *ot = out + fstride * t;
        if (!A) {
            for (Py_ssize_t j = 0; j < N; j++) {
                const double wj = w ? w[j] : 1.0;
                double *d = ot + dest[j];
                d[0] = wj * xt[3 * j];
                d[astride] = wj * xt[3 * j + 1];
                d[2 * astride] = wj * xt[3 * j + 2];
            }
            continue;
        }
        const double *At = A + a_step * t, *ov = o + o_step * t;
        for (Py_ssize_t j = 0; j < N; j++) {
            const double *pj = p ? p + 3 * j : zero;       /* x - 0 is x: the same bits as no subtraction */
            const double r0 = xt[3 * j] - pj[0] - ov[0], r1 = xt[3 * j + 1] - pj[1] - ov[1],
                         r2 = xt[3 * j + 2] - pj[2] - ov[2];
            double f0 = r0 * At[0] + r1 * At[3] + r2 * At[6];
            double f1 = r0 * At[1] + r1 * At[4] + r2 * At[7];
            double f2 = r0 * At[2] + r1 * At[5] + r2 * At[8];
            if (s0) f0 -= s0[3 * j], f1 -= s0[3 * j + 1], f2 -= s0[3 * j + 2];
            f0 = wrap(f0), f1 = wrap(f1), f2 = wrap(f2);
            const double wj = w ? w[j] : 1.0;
            double *d = ot + dest[j];
            d[0] = wj * (f0 * H[0] + f1 * H[3] + f2 * H[6]);
            d[astride] = wj * (f0 * H[1] + f1 * H[4] + f2 * H[7]);
            d[2 * astride] = wj * (f0 * H[2] + f1 * H[5] + f2 * H[8]);
        }
    }
}

static void drift_loop(const double *TM_RESTRICT x, Py_ssize_t T, Py_ssize_t N, const double *TM_RESTRICT A,
                       Py_ssize_t a_step, const double *TM_RESTRICT o, Py_ssize_t o_step, const double *TM_RESTRICT p,
                       const double *TM_RESTRICT s0, const double *TM_RESTRICT w, double *TM_RESTRICT out)
{
    static const double zero[3] = {0.0, 0.0, 0.0};
    double wsum = 0.0;
    for (Py_ssize_t j = 0; j < N; j++) wsum += w ? w[j] : 1.0;
    for (Py_ssize_t t = 0; t < T; t++) {
        const double *xt = x + 3 * N * t, *At = A + a_step * t, *ov = o + o_step * t;
        double c[3] = {0.0, 0.0, 0.0}, m[3] = {0.0, 0.0, 0.0};
        for (Py_ssize_t j = 0; j < N; j++) {
            const double *pj = p ? p + 3 * j : zero;
            const double r0 = xt[3 * j] - pj[0] - ov[0], r1 = xt[3 * j + 1] - pj[1] - ov[1],
                         r2 = xt[3 * j + 2] - pj[2] - ov[2];
            double f0 = r0 * At[0] + r1 * At[3] + r2 * At[6];
            double f1 = r0 * At[1] + r1 * At[4] + r2 * At[7];
            double f2 = r0 * At[2] + r1 * At[5] + r2 * At[8];
            if (s0) f0 -= s0[3 * j], f1 -= s0[3 * j + 1], f2 -= s0[3 * j + 2];
            if (j == 0) c[0] = wrap(f0), c[1] = wrap(f1), c[2] = wrap(f2);
            const double wj = w ? w[j] : 1.0;
            m[0] += wj * wrap(f0 - c[0]), m[1] += wj * wrap(f1 - c[1]), m[2] += wj * wrap(f2 - c[2]);
        }
        for (int a = 0; a < 3; a++) out[3 * t + a] = c[a] + m[a] / wsum;
    }
}

static PyObject *drift(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer x, A, o, p, s0, w, out;
    Py_ssize_t T, N;
    if (!PyArg_ParseTuple(args, "y*nny*y*y*y*y*w*", &x, &T, &N, &A, &o, &p, &s0, &w, &out)) return NULL;
    const char *fn = "drift";
    const Py_ssize_t a_step = A.len == 9 * 8 ? 0 : 9, o_step = o.len == 3 * 8 ? 0 : 3;
    int bad = 0;
    if (N <= 0 || T < 0) {
        PyErr_Format(PyExc_ValueError, "%s: %zd frames of %zd atoms (at least one atom)", fn, T, N);
        bad = 1;
    }
    bad = bad || tm_need(&x, 3 * N * T, 8, fn, "x") || tm_need(&out, 3 * T, 8, fn, "out") ||
          (w.len && tm_need(&w, N, 8, fn, "weight")) || tm_need(&A, a_step ? 9 * T : 9, 8, fn, "A") ||
          tm_need(&o, o_step ? 3 * T : 3, 8, fn, "o") || (p.len && tm_need(&p, 3 * N, 8, fn, "p")) ||
          (s0.len && tm_need(&s0, 3 * N, 8, fn, "s0"));
    if (!bad) {
        Py_BEGIN_ALLOW_THREADS
        drift_loop(x.buf, T, N, A.buf, a_step, o.buf, o_step, p.len ? p.buf : NULL, s0.len ? s0.buf : NULL,
                   w.len ? w.buf : NULL, out.buf);
        Py_END_ALLOW_THREADS
    }
    Py_buffer *all[] = {&x, &A, &o, &p, &s0, &w, &out};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++) PyBuffer_Release(all[k]);
    if (bad) return NULL;
    Py_RETURN_NONE;
}

static PyObject *scatter(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer x, A, o, p, s0, H, dest, w, out;
    Py_ssize_t T, N, astride, fstride;
    if (!PyArg_ParseTuple(args, "y*nny*y*y*y*y*y*nny*w*", &x, &T, &N, &A, &o, &p, &s0, &H, &dest, &astride,
                          &fstride, &w, &out))
        return NULL;
    const char *fn = "scatter";
    const int disp = A.len > 0;
    const Py_ssize_t a_step = disp && A.len == 9 * 8 ? 0 : 9, o_step = disp && o.len == 3 * 8 ? 0 : 3;
    int bad = tm_need(&x, 3 * N * T, 8, fn, "x") || tm_need(&dest, N, 8, fn, "dest") ||
              tm_need(&out, fstride * T, 8, fn, "out") || (w.len && tm_need(&w, N, 8, fn, "weight"));
    if (!bad && disp)
        bad = tm_need(&A, a_step ? 9 * T : 9, 8, fn, "A") || tm_need(&o, o_step ? 3 * T : 3, 8, fn, "o") ||
              (p.len && tm_need(&p, 3 * N, 8, fn, "p")) || (s0.len && tm_need(&s0, 3 * N, 8, fn, "s0")) ||
              tm_need(&H, 9, 8, fn, "H0");
    const int64_t *d = dest.buf;
    for (Py_ssize_t j = 0; !bad && j < N; j++)
        if (astride < 0 || d[j] < 0 || d[j] + 2 * astride >= fstride) {
            PyErr_Format(PyExc_ValueError, "%s: dest[%zd] = %lld is out of range for a frame of %zd values", fn, j,
                         (long long)d[j], fstride);
            bad = 1;
        }
    if (!bad) {
        Py_BEGIN_ALLOW_THREADS
        scatter_loop(x.buf, T, N, disp ? A.buf : NULL, a_step, disp ? o.buf : NULL, o_step,
                     disp && p.len ? p.buf : NULL, disp && s0.len ? s0.buf : NULL, disp ? H.buf : NULL, d, astride,
                     fstride, w.len ? w.buf : NULL, out.buf);
        Py_END_ALLOW_THREADS
    }
    Py_buffer *all[] = {&x, &A, &o, &p, &s0, &H, &dest, &w, &out};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++) PyBuffer_Release(all[k]);
    if (bad) return NULL;
    Py_RETURN_NONE;
}

/* One (frame, q): out = F~ ec[q] over the R rows. Inlined with R = 3 (one atom per primitive cell) as a constant, so
 * the small loops unroll. */
static inline void contract_one(const double *TM_RESTRICT Ft, Py_ssize_t R, Py_ssize_t G, double sign,
                                const double *TM_RESTRICT E, double *TM_RESTRICT o)
{
    for (Py_ssize_t s = 0; s < 2 * R; s++) o[s] = 0.0;
    for (Py_ssize_t r = 0; r < R; r++) {
        const double vr = Ft[2 * G * r], vi = sign * Ft[2 * G * r + 1];
        const double *Er = E + 2 * R * r;
        for (Py_ssize_t s = 0; s < R; s++) {
            o[2 * s] += vr * Er[2 * s] - vi * Er[2 * s + 1];
            o[2 * s + 1] += vr * Er[2 * s + 1] + vi * Er[2 * s];
        }
    }
}

/* q in tiles whose eigenvectors fit in about 128 kB; within a tile the frames outermost, so a frame of F stays in
 * cache over the tile's q and the tile's eigenvectors over the frames. */
static void contract_loop(const double *TM_RESTRICT F, Py_ssize_t T, Py_ssize_t R, Py_ssize_t G,
                          const int64_t *TM_RESTRICT g, const uint8_t *TM_RESTRICT conj, const double *TM_RESTRICT ec,
                          Py_ssize_t nq, double *TM_RESTRICT out)
{
    const Py_ssize_t per_q = 16 * R * R;
    const Py_ssize_t tile = per_q < (128 << 10) ? (128 << 10) / per_q : 1;
    for (Py_ssize_t q0 = 0; q0 < nq; q0 += tile) {
        const Py_ssize_t q1 = q0 + tile < nq ? q0 + tile : nq;
        for (Py_ssize_t t = 0; t < T; t++) {
            const double *Ft = F + 2 * R * G * t;
            double *ot = out + 2 * R * nq * t;
            for (Py_ssize_t q = q0; q < q1; q++) {
                const double sign = conj[q] ? -1.0 : 1.0;
                if (R == 3)
                    contract_one(Ft + 2 * g[q], 3, G, sign, ec + 2 * R * R * q, ot + 2 * R * q);
                else
                    contract_one(Ft + 2 * g[q], R, G, sign, ec + 2 * R * R * q, ot + 2 * R * q);
            }
        }
    }
}

static PyObject *contract(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer F, g, conj, ec, out;
    Py_ssize_t T, R, G;
    if (!PyArg_ParseTuple(args, "y*nnny*y*y*w*", &F, &T, &R, &G, &g, &conj, &ec, &out)) return NULL;
    const char *fn = "contract";
    const Py_ssize_t nq = g.len / 8;
    int bad = 0;
    if (R <= 0 || G <= 0 || T < 0) {
        PyErr_Format(PyExc_ValueError, "%s: %zd rows over a grid of %zd", fn, R, G);
        bad = 1;
    }
    bad = bad || tm_need(&F, R * G * T, 16, fn, "F") || tm_need(&conj, nq, 1, fn, "conj") || tm_need(&ec, nq * R * R, 16, fn, "ec") ||
          tm_need(&out, T * nq * R, 16, fn, "out");
    const int64_t *gq = g.buf;
    for (Py_ssize_t q = 0; !bad && q < nq; q++)
        if (gq[q] < 0 || gq[q] >= G) {
            PyErr_Format(PyExc_ValueError, "%s: g[%zd] = %lld is not on the grid of %zd", fn, q, (long long)gq[q], G);
            bad = 1;
        }
    if (!bad) {
        Py_BEGIN_ALLOW_THREADS
        contract_loop(F.buf, T, R, G, gq, conj.buf, ec.buf, nq, out.buf);
        Py_END_ALLOW_THREADS
    }
    Py_buffer *all[] = {&F, &g, &conj, &ec, &out};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++) PyBuffer_Release(all[k]);
    if (bad) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"scatter", scatter, METH_VARARGS, "Write (weighted, minimum-image) displacements of a block of frames to out."},
    {"drift", drift, METH_VARARGS, "The rigid translation of the crystal in each frame of a block (fractional)."},
    {"contract", contract, METH_VARARGS, "Mode amplitudes from the lattice Fourier transform of a block of frames."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "_projection", "Compiled mode-projection kernels.", -1,
                                    methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__projection(void) { return PyModule_Create(&moddef); }
