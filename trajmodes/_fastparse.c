/*
 * Compiled text kernels for trajmodes' readers.
 *
 * Every function releases the GIL for its scanning/parsing loop, so Dask's
 * threaded scheduler parses different frame blocks on different cores.
 *
 *   scan_lammps(buf[, lo, hi])       -> (starts, timesteps, times) int64/int64/float64 bytes
 *   scan_xyz(buf)                    -> (starts, natoms, complete) as int64 bytes
 *   parse_rows(buf, offset, nrows, colmap, out, ncols_out)
 *                                    -> (end_offset, status, row, column)
 *
 * Floats are parsed with Clinger's exact fast path (mantissa <= 2^53,
 * |exponent| <= 22, so one correctly rounded multiply/divide) and fall back
 * to strtod otherwise, so every value is the correctly rounded double.
 */
#define _GNU_SOURCE
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

enum { ST_OK = 0, ST_BADTOKEN = 1, ST_FEWCOLS = 2, ST_EOF = 3, ST_NONFINITE = 4 };

static const double POW10[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static inline int is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Parse one whitespace-delimited token at [p, end) as a double.
 * Returns ST_OK / ST_BADTOKEN / ST_NONFINITE and sets *next to the token end. */
static inline int parse_double(const char *p, const char *end, const char **next, double *val)
{
    const char *s = p;
    int neg = 0;
    if (s < end && (*s == '-' || *s == '+')) { neg = (*s == '-'); s++; }
    uint64_t mant = 0;
    int ndig = 0, exp10 = 0, any = 0;
    while (s < end && (unsigned)(*s - '0') < 10) {
        any = 1;
        if (mant || *s != '0') {
            if (ndig < 19) { mant = mant * 10 + (uint64_t)(*s - '0'); ndig++; }
            else { ndig++; exp10++; }
        }
        s++;
    }
    if (s < end && *s == '.') {
        s++;
        while (s < end && (unsigned)(*s - '0') < 10) {
            any = 1;
            if (mant || *s != '0') {
                if (ndig < 19) { mant = mant * 10 + (uint64_t)(*s - '0'); ndig++; exp10--; }
                else { ndig++; }
            } else {
                exp10--;
            }
            s++;
        }
    }
    if (any && s < end && (*s == 'e' || *s == 'E')) {
        const char *e = s + 1;
        int eneg = 0, ev = 0, edig = 0;
        if (e < end && (*e == '-' || *e == '+')) { eneg = (*e == '-'); e++; }
        while (e < end && (unsigned)(*e - '0') < 10) {
            if (ev < 100000) ev = ev * 10 + (*e - '0');
            e++; edig++;
        }
        if (edig) { exp10 += eneg ? -ev : ev; s = e; }
        else { any = 0; }
    }
    int clean_end = (s >= end || is_space(*s) || *s == '\n');
    if (any && clean_end && ndig <= 19 && mant <= (1ULL << 53) && exp10 >= -22 && exp10 <= 22) {
        double d = (double)mant;
        if (exp10 < 0) d /= POW10[-exp10]; else d *= POW10[exp10];
        *val = neg ? -d : d;
        *next = s;
        return ST_OK;
    }
    /* slow path: strtod on a NUL-terminated copy of the whole token */
    const char *t = p;
    while (t < end && !is_space(*t) && *t != '\n') t++;
    size_t len = (size_t)(t - p);
    char tmp[128];
    if (len == 0 || len >= sizeof(tmp)) { *next = t; return ST_BADTOKEN; }
    memcpy(tmp, p, len);
    tmp[len] = 0;
    *next = t;
    /* strtod also reads hexadecimal ("0x1p3"); a dump never holds those, so they are bad tokens */
    if (memchr(tmp, 'x', len) || memchr(tmp, 'X', len)) return ST_BADTOKEN;
    char *stop = NULL;
    double d = strtod(tmp, &stop);
    if (stop != tmp + len) return ST_BADTOKEN;
    if (!isfinite(d)) return ST_NONFINITE;
    *val = d;
    return ST_OK;
}

static PyObject *int64_bytes(const int64_t *data, Py_ssize_t n)
{
    return PyBytes_FromStringAndSize((const char *)data, n * (Py_ssize_t)sizeof(int64_t));
}

static int grow(int64_t **arr, Py_ssize_t *cap)
{
    Py_ssize_t nc = *cap ? *cap * 2 : 1024;
    int64_t *na = (int64_t *)realloc(*arr, (size_t)nc * sizeof(int64_t));
    if (!na) return -1;
    *arr = na;
    *cap = nc;
    return 0;
}

static const char KEY_TS[] = "ITEM: TIMESTEP";
static const char KEY_TIME[] = "ITEM: TIME\n";

/* Frame starts of a LAMMPS text dump: each "ITEM: TIMESTEP" line, moved back
 * to a directly preceding "ITEM: TIME" item when present; the timestep value
 * is read from the next line (-1 when unreadable). */
static PyObject *scan_lammps(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    Py_ssize_t lo = 0, hi = -1;
    if (!PyArg_ParseTuple(args, "y*|nn", &buf, &lo, &hi)) return NULL;
    const char *base = (const char *)buf.buf, *end = base + buf.len;
    /* only "ITEM: TIMESTEP" lines starting in [lo, hi) are reported (windowed scans) */
    if (hi < 0 || hi > buf.len) hi = buf.len;
    if (lo < 0) lo = 0;
    const char *stop_at = base + hi;
    int64_t *starts = NULL, *steps = NULL;
    double *times = NULL;
    Py_ssize_t n = 0, cap = 0, cap2 = 0, cap3 = 0;
    int oom = 0;
    const size_t klen = sizeof(KEY_TS) - 1, tlen = sizeof(KEY_TIME) - 1;
    Py_BEGIN_ALLOW_THREADS
    const char *p = base + (lo < hi ? lo : hi);
    while (p < stop_at) {
        const char *hit = (const char *)memmem(p, (size_t)(end - p), KEY_TS, klen);
        if (!hit || hit >= stop_at) break;
        if (hit > base && hit[-1] != '\n') { p = hit + klen; continue; }
        int64_t start = hit - base;
        double tval = NAN;
        /* look back: "ITEM: TIME\n<value>\n" immediately before? */
        if (hit - base >= 2) {
            const char *q = hit - 2; /* last char of the previous line */
            while (q > base && q[-1] != '\n') q--;
            /* q: start of the value line; r: start of the line before it, which must be
             * "ITEM: TIME" followed only by blanks (also "\r" of CRLF files) */
            const char *r = q;
            if (q > base) { r = q - 1; while (r > base && r[-1] != '\n') r--; }
            int is_time = 0;
            if (q > base && (size_t)(q - 1 - r) >= tlen - 1 && memcmp(r, KEY_TIME, tlen - 1) == 0) {
                const char *z = r + tlen - 1;
                while (z < q - 1 && is_space(*z)) z++;
                is_time = (z == q - 1);
            }
            if (is_time) {
                start = r - base;
                char tmp[64];
                size_t len = (size_t)(hit - 1 - q);
                if (len < sizeof(tmp)) {
                    memcpy(tmp, q, len);
                    tmp[len] = 0;
                    char *stop = NULL;
                    double d = strtod(tmp, &stop);
                    if (stop != tmp) tval = d;
                }
            }
        }
        const char *v = hit + klen;
        while (v < end && *v != '\n') v++;
        v++;
        int64_t ts = -1;
        if (v < end) {
            while (v < end && is_space(*v)) v++;
            int neg = 0;
            if (v < end && *v == '-') { neg = 1; v++; }
            if (v < end && (unsigned)(*v - '0') < 10) {
                ts = 0;
                int ndig = 0;
                while (v < end && (unsigned)(*v - '0') < 10) { ts = ts * 10 + (*v - '0'); v++; ndig++; }
                if (neg) ts = -ts;
                /* only blanks may follow the number on its line (and at most 18 digits) */
                while (v < end && is_space(*v)) v++;
                if ((v < end && *v != '\n') || ndig > 18) ts = -1;
            }
        }
        if (n == cap) { if (grow(&starts, &cap)) { oom = 1; break; } }
        if (n == cap2) { if (grow(&steps, &cap2)) { oom = 1; break; } }
        if (n == cap3) { if (grow((int64_t **)&times, &cap3)) { oom = 1; break; } }
        starts[n] = start;
        steps[n] = ts;
        times[n] = tval;
        n++;
        p = hit + klen;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf);
    if (oom) { free(starts); free(steps); free(times); return PyErr_NoMemory(); }
    PyObject *a = int64_bytes(starts, n), *b = int64_bytes(steps, n);
    PyObject *c = PyBytes_FromStringAndSize((const char *)times, n * (Py_ssize_t)sizeof(double));
    free(starts); free(steps); free(times);
    if (!a || !b || !c) { Py_XDECREF(a); Py_XDECREF(b); Py_XDECREF(c); return NULL; }
    return Py_BuildValue("(NNN)", a, b, c);
}

/* Frame starts of an (extended) XYZ file: an atom count line, a comment line,
 * then that many atom lines.  Returns starts, atom counts and whether the
 * last frame is complete.  Stops (complete=0) at a count line that is not an
 * integer, reporting the frames found before it. */
static PyObject *scan_xyz(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "y*", &buf)) return NULL;
    const char *base = (const char *)buf.buf, *end = base + buf.len;
    int64_t *starts = NULL, *counts = NULL;
    Py_ssize_t n = 0, cap = 0, cap2 = 0;
    int oom = 0, complete = 1;
    int64_t bad_offset = -1;
    Py_BEGIN_ALLOW_THREADS
    const char *p = base;
    for (;;) {
        const char *s = p;
        while (s < end && (is_space(*s) || *s == '\n')) s++;
        if (s >= end) break;
        const char *line = s;
        int64_t cnt = 0;
        int dig = 0;
        while (s < end && (unsigned)(*s - '0') < 10) { cnt = cnt * 10 + (*s - '0'); s++; dig++; }
        while (s < end && is_space(*s)) s++;
        if (!dig || (s < end && *s != '\n')) { complete = 0; bad_offset = line - base; break; }
        /* skip count line, comment line and cnt atom lines */
        const char *q = s;
        int64_t need = cnt + 1, got = 0;
        if (q < end) q++; /* past the count line's newline */
        while (got < need && q < end) {
            const char *nl = (const char *)memchr(q, '\n', (size_t)(end - q));
            if (!nl) { q = end; got++; break; }
            q = nl + 1;
            got++;
        }
        if (got < need) {
            complete = 0;
            break;
        }
        if (n == cap) { if (grow(&starts, &cap)) { oom = 1; break; } }
        if (n == cap2) { if (grow(&counts, &cap2)) { oom = 1; break; } }
        starts[n] = line - base;
        counts[n] = cnt;
        n++;
        p = q;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf);
    if (oom) { free(starts); free(counts); return PyErr_NoMemory(); }
    PyObject *a = int64_bytes(starts, n), *b = int64_bytes(counts, n);
    free(starts); free(counts);
    if (!a || !b) { Py_XDECREF(a); Py_XDECREF(b); return NULL; }
    return Py_BuildValue("(NNiL)", a, b, complete, (long long)bad_offset);
}

/* Parse nrows whitespace-separated lines starting at byte offset.  colmap[i]
 * is the output column for input token i, or -1 to skip it.  out is a
 * writable float64 buffer of nrows * ncols_out values.
 * Returns (offset after the last row, status, failing row, failing token). */
static PyObject *parse_rows(PyObject *self, PyObject *args)
{
    Py_buffer buf, cmap, out;
    Py_ssize_t offset, nrows, ncols_out;
    if (!PyArg_ParseTuple(args, "y*nny*w*n", &buf, &offset, &nrows, &cmap, &out, &ncols_out))
        return NULL;
    const int32_t *colmap = (const int32_t *)cmap.buf;
    Py_ssize_t nmap = cmap.len / (Py_ssize_t)sizeof(int32_t);
    Py_ssize_t need = 0;
    for (Py_ssize_t i = 0; i < nmap; i++) if (colmap[i] >= 0) need = i + 1;
    if (out.len < nrows * ncols_out * (Py_ssize_t)sizeof(double) || offset < 0 || offset > buf.len) {
        PyBuffer_Release(&buf); PyBuffer_Release(&cmap); PyBuffer_Release(&out);
        PyErr_SetString(PyExc_ValueError, "parse_rows: output buffer too small or offset out of range");
        return NULL;
    }
    double *o = (double *)out.buf;
    const char *base = (const char *)buf.buf, *end = base + buf.len;
    const char *p = base + offset;
    int status = ST_OK;
    Py_ssize_t row = 0, col = 0;
    Py_BEGIN_ALLOW_THREADS
    for (row = 0; row < nrows; row++) {
        if (p >= end) { status = ST_EOF; col = 0; break; }
        double *orow = o + row * ncols_out;
        for (col = 0; col < need; col++) {
            while (p < end && is_space(*p)) p++;
            if (p >= end || *p == '\n') { status = ST_FEWCOLS; break; }
            int32_t dst = colmap[col];
            if (dst >= 0) {
                double v;
                int st = parse_double(p, end, &p, &v);
                if (st != ST_OK) { status = st; break; }
                orow[dst] = v;
            } else {
                while (p < end && !is_space(*p) && *p != '\n') p++;
            }
        }
        if (status != ST_OK) break;
        const char *nl = (const char *)memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf); PyBuffer_Release(&cmap); PyBuffer_Release(&out);
    if (status == ST_OK) { row = -1; col = -1; }
    return Py_BuildValue("(nini)", (Py_ssize_t)(p - base), status, row, col);
}

static PyMethodDef methods[] = {
    {"scan_lammps", scan_lammps, METH_VARARGS, "Frame starts and timesteps of a LAMMPS text dump."},
    {"scan_xyz", scan_xyz, METH_VARARGS, "Frame starts and atom counts of an XYZ file."},
    {"parse_rows", parse_rows, METH_VARARGS, "Parse whitespace-separated numeric rows into float64."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "_fastparse",
                                    "Compiled text kernels for trajmodes' readers.", -1, methods};

PyMODINIT_FUNC PyInit__fastparse(void) { return PyModule_Create(&moddef); }
