/*
 * Compiled kernel of the dynamic structure factor's Fourier densities (trajmodes.modes.density_correlations): the
 * phases exp(i q.r) of q that are integer multiples of the MD cell's reciprocal vectors, built per atom and frame
 * from powers of exp(2 pi i u_a) (u_a the fractional coordinates), and their sums
 * over the atoms weighted by 1 and the velocity components, in one pass over the positions and velocities as read
 * (no copies of the atoms, no array of phases unless asked for). One call releases the GIL, so Dask threads sum
 * different spans or blocks of atoms on different cores.
 *
 *   densities(x, n_frames, n_atoms, idx, inv, v, m, first, dens, phases)
 *
 *     For frame t and atom j = idx[i], with u_a = sum_b x[t, j, b] inv[b, a] (fractional coordinates) and
 *     P_a(k) = exp(2 pi i k u_a)
 *     (P_a(2) = P_a(1)^2, P_a(k) = P_a(k - 2) P_a(2); a negative k takes the conjugate of P_a(|k|)):
 *         e[t, i, q] = (P_0(m[q, 0]) P_1(m[q, 1])) P_2(m[q, 2])        (P_a(0) = 1 + 0i exactly)
 *     phases[t, i, q] = e (when phases is not empty), and for t >= first, with the weights w = [1] (v empty) or
 *     [1, vx, vy, vz] of v[t - first, j]:
 *         dens[t - first, r, 2 q] += sum_i w_r Re e,   dens[t - first, r, 2 q + 1] += sum_i w_r Im e
 *
 *     x      float64 (n_frames, n_atoms, 3), Angstrom
 *     idx    int64 (n), the atoms summed, each in [0, n_atoms)
 *     inv    float64 (3, 3): the inverse of the cell (rows: the cell vectors), 1/Angstrom
 *     v      float64 (n_frames - first, n_atoms, 3), Angstrom/ps, or empty
 *     m      int64 (nq, 3), |m[q, a]| <= MAX_MULTIPLE
 *     dens   float64 (n_frames - first, 1 or 4 (with v), 2 nq), added to
 *     phases complex128 (n_frames, n, nq), overwritten, or empty
 *
 * Layout: the atoms go in blocks of BLK; a block's powers are tables over its atoms (axis, power, re / im, atom), so
 * that every q is a pass over contiguous rows of BLK atoms that the compiler vectorises across the atoms (no
 * gathers), into LANES partial sums per q and weight kept from block to block; a frame's partial sums are added up
 * in a fixed order at its end. Per atom, frame and q: two complex products and eight multiply-adds.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_compat.h"

/* with fused multiply-adds where the machine has them (AVX2 and FMA: x86-64-v3), else the baseline build: GCC's
 * function multi-versioning on x86-64 Linux, as TM_TARGET_CLONES */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define TM_DENSITY_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define TM_DENSITY_CLONES
#endif

/* atoms per block: a block's power tables (3 (top + 1) rows of 2 BLK doubles, 141 kB at top 45) stay in the
 * second-level cache; at 160 q of a path and a powder (10,976 atoms) 64 took 0.98 ns per atom, q and frame, 32 1.06
 * and 16 1.17 (each q's pass over a block has a fixed cost: its partial sums loaded and stored), 128 0.97 but
 * 282 kB of tables, beyond the second-level cache of older cores */
#define BLK 64
/* partial sums per q and weight row: independent chains of additions across the atoms of a block */
#define LANES 4

/* cos and sin of 2 pi u for the BLK fractional coordinates u, vectorised across them: u - rint(u) (exact) and its
 * nearest quarter turn k / 4 leave t in [-1/8, 1/8] (exact), whose cos and sin of 2 pi t come from their Taylor
 * series to the 18th and 17th power (the first term left out is below 5e-17), then the quarter turns rotate them:
 * within 1.5e-16 of cos and sin in extended precision (200,000 u in [-3, 3]), and no loss of phase for positions
 * far outside the cell (libm's cos(2 pi u) loses the bits of u's whole turns: 2.5e-15 on the same u). Vectorised
 * where libm's calls are not: 3 per atom and frame were a sixth of the kernel's time at 160 q. */
static inline void cis_turns(const double *TM_RESTRICT u, double *TM_RESTRICT c, double *TM_RESTRICT s)
{
    const double two_pi = 6.283185307179586476925286766559;
    for (int j = 0; j < BLK; j++) {
        const double r = u[j] - nearbyint(u[j]);
        const double k = nearbyint(4.0 * r);
        const double x = two_pi * (r - 0.25 * k), x2 = x * x;
        double cs = 1.0 / 6402373705728000.0, sn = 1.0 / 355687428096000.0;        /* 1/18!, 1/17! */
        cs = 1.0 / 20922789888000.0 - x2 * cs, sn = 1.0 / 1307674368000.0 - x2 * sn;   /* 1/16!, 1/15! */
        cs = 1.0 / 87178291200.0 - x2 * cs, sn = 1.0 / 6227020800.0 - x2 * sn;         /* 1/14!, 1/13! */
        cs = 1.0 / 479001600.0 - x2 * cs, sn = 1.0 / 39916800.0 - x2 * sn;             /* 1/12!, 1/11! */
        cs = 1.0 / 3628800.0 - x2 * cs, sn = 1.0 / 362880.0 - x2 * sn;                 /* 1/10!, 1/9! */
        cs = 1.0 / 40320.0 - x2 * cs, sn = 1.0 / 5040.0 - x2 * sn;                     /* 1/8!, 1/7! */
        cs = 1.0 / 720.0 - x2 * cs, sn = 1.0 / 120.0 - x2 * sn;                        /* 1/6!, 1/5! */
        cs = 1.0 / 24.0 - x2 * cs, sn = 1.0 / 6.0 - x2 * sn;                           /* 1/4!, 1/3! */
        cs = 0.5 - x2 * cs;
        cs = 1.0 - x2 * cs, sn = x - x * x2 * sn;
        /* quarter turns k = -2 .. 2: exp(i pi k / 2) (cs + i sn) */
        const double c1 = k == 0.0 ? cs : k == 1.0 ? -sn : k == -1.0 ? sn : -cs;
        const double s1 = k == 0.0 ? sn : k == 1.0 ? cs : k == -1.0 ? -cs : -sn;
        c[j] = c1, s[j] = s1;
    }
}

/* the powers 0 .. top[a] of exp(2 pi i u_a) of a block's atoms (u: 3 x BLK fractional coordinates): tab + 2 BLK
 * (row[a] + k) holds re, then im, of P_a(k) for the BLK atoms; the recurrences P(k) = P(k - 2) P(2) run across
 * the atoms (vectorised) */
static inline void block_powers(const double *TM_RESTRICT u, const int64_t *top, const Py_ssize_t *row,
                                double *TM_RESTRICT tab)
{
    for (int a = 0; a < 3; a++) {
        double *base = tab + 2 * BLK * row[a];
        const double *sa = u + a * BLK;
        double *r0 = base, *i0 = base + BLK;
        for (int j = 0; j < BLK; j++) r0[j] = 1.0, i0[j] = 0.0;
        if (top[a] < 1) continue;
        double *r1 = base + 2 * BLK, *i1 = r1 + BLK;
        cis_turns(sa, r1, i1);
        if (top[a] < 2) continue;
        double *r2 = base + 4 * BLK, *i2 = r2 + BLK;
        for (int j = 0; j < BLK; j++)
            r2[j] = r1[j] * r1[j] - i1[j] * i1[j], i2[j] = r1[j] * i1[j] + i1[j] * r1[j];
        for (int64_t k = 3; k <= top[a]; k++) {
            const double *pr = base + 2 * BLK * (k - 2), *pi = pr + BLK;
            double *kr = base + 2 * BLK * k, *ki = kr + BLK;
            for (int j = 0; j < BLK; j++) {
                kr[j] = pr[j] * r2[j] - pi[j] * i2[j];
                ki[j] = pr[j] * i2[j] + pi[j] * r2[j];
            }
        }
    }
}

/* one q over a block: the phases of its BLK atoms from the three power rows (p*: re, then im, BLK apart; g*: +1 or
 * -1, the sign of the multiple: a conjugate), added with the weights w (R rows of BLK) into acc (R x 2 x LANES), and
 * written to e (re then im, BLK apart) when e is given. R is a constant where this is inlined. */
static inline void block_q(const double *TM_RESTRICT p0, double g0, const double *TM_RESTRICT p1, double g1,
                           const double *TM_RESTRICT p2, double g2, const double *TM_RESTRICT w, int R,
                           double *TM_RESTRICT acc, double *TM_RESTRICT e)
{
    double sum[4][2][LANES];
    for (int r = 0; r < R; r++)
        for (int l = 0; l < LANES; l++)
            sum[r][0][l] = acc[(2 * r) * LANES + l], sum[r][1][l] = acc[(2 * r + 1) * LANES + l];
    for (int j0 = 0; j0 < BLK; j0 += LANES) {
        double er[LANES], ei[LANES];
        for (int l = 0; l < LANES; l++) {
            const int j = j0 + l;
            const double ar = p0[j], ai = g0 * p0[BLK + j], br = p1[j], bi = g1 * p1[BLK + j];
            const double cr = ar * br - ai * bi, ci = ar * bi + ai * br;
            const double dr = p2[j], di = g2 * p2[BLK + j];
            er[l] = cr * dr - ci * di;
            ei[l] = cr * di + ci * dr;
        }
        for (int r = 0; r < R; r++)
            for (int l = 0; l < LANES; l++) {
                const double wr = w[r * BLK + j0 + l];
                sum[r][0][l] += wr * er[l];
                sum[r][1][l] += wr * ei[l];
            }
        if (e)
            for (int l = 0; l < LANES; l++) e[j0 + l] = er[l], e[BLK + j0 + l] = ei[l];
    }
    for (int r = 0; r < R; r++)
        for (int l = 0; l < LANES; l++)
            acc[(2 * r) * LANES + l] = sum[r][0][l], acc[(2 * r + 1) * LANES + l] = sum[r][1][l];
}

/* the largest |multiple| of each axis among the q: the highest power its table needs */
static void multiples(const int64_t *m, Py_ssize_t nq, int64_t *top)
{
    for (int a = 0; a < 3; a++) top[a] = 0;
    for (Py_ssize_t q = 0; q < nq; q++)
        for (int a = 0; a < 3; a++) {
            const int64_t k = m[3 * q + a] < 0 ? -m[3 * q + a] : m[3 * q + a];
            if (k > top[a]) top[a] = k;
        }
}

TM_DENSITY_CLONES
static void densities_loop(const double *TM_RESTRICT x, Py_ssize_t T, Py_ssize_t N, const int64_t *TM_RESTRICT idx,
                           Py_ssize_t n, const double *inv, const double *TM_RESTRICT v, const int64_t *m,
                           Py_ssize_t nq, Py_ssize_t first, double *TM_RESTRICT dens, double *TM_RESTRICT phases,
                           double *TM_RESTRICT work)
{
    const int R = v ? 4 : 1;
    int64_t top[3];
    multiples(m, nq, top);
    const Py_ssize_t row[3] = {0, top[0] + 1, top[0] + top[1] + 2};  /* each axis' power 0 */
    const Py_ssize_t rows = top[0] + top[1] + top[2] + 3;
    double *tab = work;                                             /* rows x 2 x BLK */
    double *s = tab + 2 * BLK * rows;                               /* 3 x BLK */
    double *w = s + 3 * BLK;                                        /* 4 x BLK */
    double *e = w + 4 * BLK;                                        /* 2 x BLK */
    double *acc = e + 2 * BLK;                                      /* nq x R x 2 x LANES */
    for (Py_ssize_t t = 0; t < T; t++) {
        const int sums = t >= first;
        if (sums) memset(acc, 0, sizeof(double) * (size_t)nq * R * 2 * LANES);
        for (Py_ssize_t b0 = 0; b0 < n; b0 += BLK) {
            const Py_ssize_t nb = n - b0 < BLK ? n - b0 : BLK;
            for (int j = 0; j < BLK; j++) {                         /* the block's phases s_a and weights */
                if (j < nb) {
                    const double *xj = x + 3 * (t * N + idx[b0 + j]);
                    for (int a = 0; a < 3; a++)
                        s[a * BLK + j] = xj[0] * inv[a] + xj[1] * inv[3 + a] + xj[2] * inv[6 + a];
                    w[j] = 1.0;
                    if (v && sums) {
                        const double *vj = v + 3 * ((t - first) * N + idx[b0 + j]);
                        w[BLK + j] = vj[0], w[2 * BLK + j] = vj[1], w[3 * BLK + j] = vj[2];
                    }
                } else {                                            /* padding: phase 1, weight 0 */
                    for (int a = 0; a < 3; a++) s[a * BLK + j] = 0.0;
                    for (int r = 0; r < 4; r++) w[r * BLK + j] = 0.0;
                }
            }
            block_powers(s, top, row, tab);
            for (Py_ssize_t q = 0; q < nq; q++) {
                const double *p[3];
                double g[3];                                        /* a negative multiple: the conjugate */
                for (int a = 0; a < 3; a++) {
                    const int64_t k = m[3 * q + a];
                    p[a] = tab + 2 * BLK * (row[a] + (k < 0 ? -k : k));
                    g[a] = k < 0 ? -1.0 : 1.0;
                }
                double *aq = acc + (size_t)q * R * 2 * LANES;
                double *eq = phases ? e : NULL;
                if (!sums) {
                    if (!eq) continue;
                    double scratch[2 * LANES] = {0.0};
                    block_q(p[0], g[0], p[1], g[1], p[2], g[2], w, 1, scratch, eq);
                } else if (R == 4) {
                    block_q(p[0], g[0], p[1], g[1], p[2], g[2], w, 4, aq, eq);
                } else {
                    block_q(p[0], g[0], p[1], g[1], p[2], g[2], w, 1, aq, eq);
                }
                if (eq) {                                           /* phases[t, b0 + j, q] */
                    double *ph = phases + 2 * ((t * n + b0) * nq + q);
                    for (Py_ssize_t j = 0; j < nb; j++) ph[2 * j * nq] = e[j], ph[2 * j * nq + 1] = e[BLK + j];
                }
            }
        }
        if (!sums) continue;
        double *dt = dens + (t - first) * R * 2 * nq;               /* the frame's partial sums, in a fixed order */
        for (Py_ssize_t q = 0; q < nq; q++)
            for (int r = 0; r < R; r++)
                for (int c = 0; c < 2; c++) {
                    const double *p = acc + ((q * R + r) * 2 + c) * LANES;
                    double total = 0.0;
                    for (int l = 0; l < LANES; l++) total += p[l];
                    dt[r * 2 * nq + 2 * q + c] += total;
                }
    }
}

/* the largest multiple the power tables take: 2^20 (tables of 2^21 + 1 rows per axis, a q far beyond any crystal's
 * Brillouin zones at any cell) */
#define MAX_MULTIPLE (1 << 20)

static PyObject *densities(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer x, idx, inv, v, m, dens, phases;
    Py_ssize_t T, N, first;
    if (!PyArg_ParseTuple(args, "y*nny*y*y*y*nw*w*", &x, &T, &N, &idx, &inv, &v, &m, &first, &dens, &phases))
        return NULL;
    const char *fn = "densities";
    const Py_ssize_t nq = m.len / 24, n = idx.len / 8, R = v.len ? 4 : 1;
    int bad = 0;
    if (T < 0 || N < 0 || first < 0 || first > T) {
        PyErr_Format(PyExc_ValueError, "%s: %zd frames (sums from frame %zd) of %zd atoms", fn, T, first, N);
        bad = 1;
    }
    bad = bad || tm_need(&x, 3 * T * N, 8, fn, "x") || tm_need(&idx, n, 8, fn, "idx") ||
          tm_need(&inv, 9, 8, fn, "inv") || tm_need(&m, 3 * nq, 8, fn, "m") ||
          tm_need(&dens, (T - first) * R * 2 * nq, 8, fn, "dens") ||
          (v.len && tm_need(&v, (T - first) * N * 3, 8, fn, "v")) ||
          (phases.len && tm_need(&phases, T * n * nq, 16, fn, "phases"));
    const int64_t *mq = m.buf, *ix = idx.buf;
    for (Py_ssize_t q = 0; !bad && q < nq; q++)
        for (int a = 0; a < 3; a++)
            if (llabs((long long)mq[3 * q + a]) > MAX_MULTIPLE) {
                PyErr_Format(PyExc_ValueError, "%s: m[%zd, %d] = %lld is beyond the largest multiple, %d", fn, q, a,
                             (long long)mq[3 * q + a], MAX_MULTIPLE);
                bad = 1;
                break;
            }
    for (Py_ssize_t i = 0; !bad && i < n; i++)
        if (ix[i] < 0 || ix[i] >= N) {
            PyErr_Format(PyExc_ValueError, "%s: idx[%zd] = %lld is not an atom of %zd", fn, i, (long long)ix[i], N);
            bad = 1;
        }
    double *work = NULL, *aligned = NULL;
    if (!bad) {
        int64_t top[3];
        multiples(mq, nq, top);
        const size_t rows = (size_t)(top[0] + top[1] + top[2] + 3);
        /* on a 64-byte boundary (one more cache line), so that no vector load of the tables straddles two lines:
         * malloc's 16-byte alignment left it to chance, and a block's loads straddling lines took 1.5 ns per atom, q
         * and frame instead of 1.06 (BLK 32) */
        work = malloc(sizeof(double) * (2 * BLK * rows + 9 * BLK + (size_t)(nq > 0 ? nq : 1) * R * 2 * LANES) + 64);
        if (!work) {
            PyErr_NoMemory();
            bad = 1;
        } else {
            aligned = (double *)(((uintptr_t)work + 63) & ~(uintptr_t)63);
        }
    }
    if (!bad) {
        Py_BEGIN_ALLOW_THREADS
        densities_loop(x.buf, T, N, ix, n, inv.buf, v.len ? v.buf : NULL, mq, nq, first, dens.buf,
                       phases.len ? phases.buf : NULL, aligned);
        Py_END_ALLOW_THREADS
    }
    free(work);
    Py_buffer *all[] = {&x, &idx, &inv, &v, &m, &dens, &phases};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++) PyBuffer_Release(all[k]);
    if (bad) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"densities", densities, METH_VARARGS,
     "Phases of lattice q from per-axis powers and their sums over the atoms, weighted by 1 and the velocities."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "_density", "Compiled Fourier-density kernel.", -1,
                                    methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__density(void) { return PyModule_Create(&moddef); }
