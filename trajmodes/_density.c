/*
 * Compiled kernel of the dynamic structure factor's Fourier densities (trajmodes.modes.density_correlations): the
 * phases exp(i q.r) of q that are integer multiples of the MD cell's reciprocal vectors, built per atom and frame
 * from powers of exp(i s_a) (s = 2 pi times the fractional coordinates), and their weighted sums over the atoms, in
 * one pass that keeps a frame's sums and an atom's powers in cache. One call releases the GIL, so Dask threads sum
 * different chunks on different cores.
 *
 *   densities(s, n_frames, n_atoms, m, top, w, n_rows, first, dens, phases)
 *
 *     For frame t and atom j, with P_a(k) = exp(i k s[t, j, a]) (P_a(2) = P_a(1)^2, P_a(k) = P_a(k - 2) P_a(2); a
 *     negative k takes the conjugate of P_a(|k|)):
 *         e[t, j, q] = (P_0(m[q, 0]) P_1(m[q, 1])) P_2(m[q, 2])        (P_a(0) = 1 + 0i exactly)
 *     phases[t, j, q] = e (when phases is not empty), and for t >= first:
 *         dens[t - first, r, 2 q] += sum_j w[t - first, r, j] Re e,   dens[t - first, r, 2 q + 1] += ... Im e
 *     (w empty: n_rows must be 1 and every weight 1).
 *
 *     s      float64 (n_frames, n_atoms, 3), radians
 *     m      int64 (nq, 3), |m[q, a]| <= top[a]
 *     top    int64 (3)
 *     w      float64 (n_frames - first, n_rows, n_atoms), or empty
 *     dens   float64 (n_frames - first, n_rows, 2 nq), added to
 *     phases complex128 (n_frames, n_atoms, nq), overwritten, or empty
 *
 * The products are those of numpy's complex multiply (re = ar br - ai bi, im = ar bi + ai br); the powers come by
 * another recurrence than the numpy route of trajmodes.modes.density_correlations (each an error of k eps at the power
 * k), so results equal it to round-off.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "_compat.h"

/* the powers -M .. M of exp(i s_a) for the three axes at once, re and im apart: re[a][M + k], im[a][M + k]. The
 * recurrences P(k) = P(k - 2) P(2) (P(2) = P(1) P(1)) of the three axes run side by side: six independent chains of
 * multiplications, not one chain per axis, which the latency of a multiplication would bound */
static inline void powers3(const double *s, Py_ssize_t M, double *const *re, double *const *im)
{
    double c[3], d[3], c2[3], d2[3];
    for (int a = 0; a < 3; a++) {
        re[a][M] = 1.0, im[a][M] = 0.0;
        c[a] = cos(s[a]), d[a] = sin(s[a]);
        c2[a] = c[a] * c[a] - d[a] * d[a], d2[a] = c[a] * d[a] + d[a] * c[a];
        if (M >= 1) re[a][M + 1] = c[a], im[a][M + 1] = d[a];
        if (M >= 2) re[a][M + 2] = c2[a], im[a][M + 2] = d2[a];
    }
    for (Py_ssize_t k = 3; k <= M; k++)
        for (int a = 0; a < 3; a++) {
            const double ar = re[a][M + k - 2], ai = im[a][M + k - 2];
            re[a][M + k] = ar * c2[a] - ai * d2[a];
            im[a][M + k] = ar * d2[a] + ai * c2[a];
        }
    for (int a = 0; a < 3; a++)
        for (Py_ssize_t k = 1; k <= M; k++) re[a][M - k] = re[a][M + k], im[a][M - k] = -im[a][M + k];
}

/* off: per q and axis the index of its power in the tables (top[a] + m[q, a]); the product of the three powers (a
 * zero multiple's power is 1 + 0i exactly, which leaves the product's bits as they are) */
TM_TARGET_CLONES
static void densities_loop(const double *TM_RESTRICT s, Py_ssize_t T, Py_ssize_t N, const int32_t *TM_RESTRICT off,
                           Py_ssize_t nq, const int64_t *top, const double *TM_RESTRICT w, Py_ssize_t R,
                           Py_ssize_t first, double *TM_RESTRICT dens, double *TM_RESTRICT phases,
                           double *TM_RESTRICT tab, double *TM_RESTRICT e, double *TM_RESTRICT acc)
{
    Py_ssize_t M = top[0] > top[1] ? top[0] : top[1];
    M = M > top[2] ? M : top[2];
    const Py_ssize_t L = 2 * M + 1;
    double *r0 = tab, *i0 = r0 + L, *r1 = i0 + L, *i1 = r1 + L, *r2 = i1 + L, *i2 = r2 + L;
    double *const re[3] = {r0, r1, r2}, *const im[3] = {i0, i1, i2};
    const int32_t *o0 = off, *o1 = off + nq, *o2 = off + 2 * nq;
    double *er = e, *ei = e + nq;
    for (Py_ssize_t t = 0; t < T; t++) {
        const int sums = t >= first;
        double *dt = sums ? dens + (t - first) * R * 2 * nq : NULL;
        const double *wt = (sums && w) ? w + (t - first) * R * N : NULL;
        for (Py_ssize_t j = 0; j < N; j++) {
            const double *sj = s + 3 * (t * N + j);
            powers3(sj, M, re, im);
            for (Py_ssize_t q = 0; q < nq; q++) {
                const double ar = r0[o0[q]], ai = i0[o0[q]], br = r1[o1[q]], bi = i1[o1[q]];
                const double cr = ar * br - ai * bi, ci = ar * bi + ai * br;
                const double dr = r2[o2[q]], di = i2[o2[q]];
                er[q] = cr * dr - ci * di;
                ei[q] = cr * di + ci * dr;
            }
            if (phases) {
                double *pj = phases + 2 * nq * (t * N + j);
                for (Py_ssize_t q = 0; q < nq; q++) pj[2 * q] = er[q], pj[2 * q + 1] = ei[q];
            }
            if (!sums) continue;
            for (Py_ssize_t r = 0; r < R; r++) {
                const double wr = wt ? wt[r * N + j] : 1.0;
                double *ar = acc + 2 * r * nq, *ai = ar + nq;
                for (Py_ssize_t q = 0; q < nq; q++) ar[q] += wr * er[q], ai[q] += wr * ei[q];
            }
        }
        if (!sums) continue;
        for (Py_ssize_t r = 0; r < R; r++) {                 /* the frame's sums, (re, im) pairs, into dens */
            double *d = dt + r * 2 * nq, *ar = acc + 2 * r * nq, *ai = ar + nq;
            for (Py_ssize_t q = 0; q < nq; q++) d[2 * q] += ar[q], d[2 * q + 1] += ai[q], ar[q] = 0.0, ai[q] = 0.0;
        }
    }
}

static PyObject *densities(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer s, m, top, w, dens, phases;
    Py_ssize_t T, N, R, first;
    if (!PyArg_ParseTuple(args, "y*nny*y*y*nnw*w*", &s, &T, &N, &m, &top, &w, &R, &first, &dens, &phases))
        return NULL;
    const char *fn = "densities";
    const Py_ssize_t nq = m.len / 24;
    int bad = 0;
    if (T < 0 || N < 0 || R < 1 || first < 0 || first > T || (!w.len && R != 1)) {
        PyErr_Format(PyExc_ValueError, "%s: %zd frames (sums from %zd) of %zd atoms, %zd rows of weights (%s)", fn, T,
                     first, N, R, w.len ? "given" : "none");
        bad = 1;
    }
    bad = bad || tm_need(&s, 3 * T * N, 8, fn, "s") || tm_need(&top, 3, 8, fn, "top") ||
          tm_need(&dens, (T - first) * R * 2 * nq, 8, fn, "dens") ||
          (w.len && tm_need(&w, (T - first) * R * N, 8, fn, "w")) ||
          (phases.len && tm_need(&phases, T * N * nq, 16, fn, "phases"));
    const int64_t *mq = m.buf, *tp = top.buf;
    for (int a = 0; !bad && a < 3; a++)
        if (tp[a] < 0 || tp[a] > (1 << 20)) {
            PyErr_Format(PyExc_ValueError, "%s: top[%d] = %lld is out of range", fn, a, (long long)tp[a]);
            bad = 1;
        }
    for (Py_ssize_t q = 0; !bad && q < nq; q++)
        for (int a = 0; a < 3; a++)
            if (llabs((long long)mq[3 * q + a]) > tp[a]) {
                PyErr_Format(PyExc_ValueError, "%s: m[%zd, %d] = %lld exceeds top %lld", fn, q, a,
                             (long long)mq[3 * q + a], (long long)tp[a]);
                bad = 1;
                break;
            }
    double *tab = NULL, *e = NULL, *acc = NULL;
    int64_t M = 0;
    int32_t *off = NULL;
    if (!bad) {
        M = tp[0] > tp[1] ? (tp[0] > tp[2] ? tp[0] : tp[2]) : (tp[1] > tp[2] ? tp[1] : tp[2]);
        tab = malloc(sizeof(double) * 6 * (size_t)(2 * M + 1));
        e = malloc(sizeof(double) * 2 * (size_t)(nq > 0 ? nq : 1));
        off = malloc(sizeof(int32_t) * 3 * (size_t)(nq > 0 ? nq : 1));
        acc = calloc(2 * (size_t)R * (size_t)(nq > 0 ? nq : 1), sizeof(double));   /* a frame's sums, re and im apart */
        if (!tab || !e || !off || !acc) {
            PyErr_NoMemory();
            bad = 1;
        }
    }
    for (Py_ssize_t q = 0; !bad && q < nq; q++)
        for (int a = 0; a < 3; a++) off[a * nq + q] = (int32_t)(M + mq[3 * q + a]);
    if (!bad) {
        Py_BEGIN_ALLOW_THREADS
        densities_loop(s.buf, T, N, off, nq, tp, w.len ? w.buf : NULL, R, first, dens.buf,
                       phases.len ? phases.buf : NULL, tab, e, acc);
        Py_END_ALLOW_THREADS
    }
    free(tab);
    free(e);
    free(off);
    free(acc);
    Py_buffer *all[] = {&s, &m, &top, &w, &dens, &phases};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++) PyBuffer_Release(all[k]);
    if (bad) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"densities", densities, METH_VARARGS,
     "Phases of lattice q from per-axis powers and their weighted sums over the atoms of a block of frames."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "_density", "Compiled Fourier-density kernel.", -1,
                                    methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__density(void) { return PyModule_Create(&moddef); }
