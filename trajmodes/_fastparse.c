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
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "_compat.h"

enum { ST_OK = 0, ST_BADTOKEN = 1, ST_FEWCOLS = 2, ST_EOF = 3, ST_NONFINITE = 4 };

static const double POW10[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
static const uint64_t POW10U[17] = {1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
                                    100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL,
                                    1000000000000ULL, 10000000000000ULL, 100000000000000ULL,
                                    1000000000000000ULL, 10000000000000000ULL};

static inline int is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }
static inline int is_digit(char c) { return (unsigned char)(c - '0') < 10; }
/* the bytes that end a token: blank, tab, carriage return, newline */
#define DELIMITERS ((1ULL << ' ') | (1ULL << '\t') | (1ULL << '\r') | (1ULL << '\n'))
static inline int is_delimiter(char c) { return (unsigned char)c <= ' ' && ((DELIMITERS >> (unsigned char)c) & 1); }
static inline int token_end(const char *s, const char *end) { return s >= end || is_delimiter(*s); }

/* Parse one whitespace-delimited token at [p, end) as a double, the general way: one digit at a time, leading
 * zeros not counted, Clinger's exact fast path, else strtod on a copy of the token.
 * Returns ST_OK / ST_BADTOKEN / ST_NONFINITE and sets *next to the token end. */
static int parse_double_general(const char *p, const char *end, const char **next, double *val)
{
    const char *s = p;
    int neg = 0;
    if (s < end && (*s == '-' || *s == '+')) { neg = (*s == '-'); s++; }
    uint64_t mant = 0;
    int ndig = 0, exp10 = 0, any = 0;
    while (s < end && is_digit(*s)) {
        any = 1;
        if (mant || *s != '0') {
            if (ndig < 19) { mant = mant * 10 + (uint64_t)(*s - '0'); ndig++; }
            else { ndig++; exp10++; }
        }
        s++;
    }
    if (s < end && *s == '.') {
        s++;
        while (s < end && is_digit(*s)) {
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
        while (e < end && is_digit(*e)) {
            if (ev < 100000) ev = ev * 10 + (*e - '0');
            e++; edig++;
        }
        if (edig) { exp10 += eneg ? -ev : ev; s = e; }
        else { any = 0; }
    }
    if (any && token_end(s, end) && ndig <= 19 && mant <= (1ULL << 53) && exp10 >= -22 && exp10 <= 22) {
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

/* Eight digits at a time (SWAR: SIMD within a register), the technique of Lemire, "Number parsing at a gigabyte
 * per second", Software: Practice and Experience 51, 1700 (2021).  ``digit_run`` loads 8 bytes (little-endian: the
 * first character in the lowest byte) and returns how many of them, from the first, are decimal digits, with *x
 * holding each byte's digit value (byte ^ '0'); ``digits_value`` is the number those first n (0 to 8) digits
 * spell. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HAVE_SWAR 1
static inline int digit_run(const char *s, uint64_t *x)
{
    uint64_t v;
    memcpy(&v, s, 8);
    v ^= 0x3030303030303030ULL;                 /* digits become 0..9, every other byte something else */
    /* per byte, without carries between bytes: the top bit is set unless the byte is 0..9 */
    uint64_t bad = (((v & 0x7F7F7F7F7F7F7F7FULL) + 0x7676767676767676ULL) | v) & 0x8080808080808080ULL;
    *x = v;
    return bad ? (TM_CTZ64(bad) >> 3) : 8;
}

static inline uint64_t digits_value(uint64_t x, int n)
{
    const int half = 4 * (8 - n);
    x = (x << half) << half;                    /* the n digits to the top bytes, zeros below (n = 0: all zero) */
    x = x * 10 + (x >> 8);                      /* even bytes: the two-digit numbers d0d1, d2d3, d4d5, d6d7 */
    /* (d0d1 + d4d5 << 32)(100 + 10^6 << 32) + (d2d3 + d6d7 << 32)(1 + 10^4 << 32): the top half is
     * d0d1 10^6 + d2d3 10^4 + d4d5 100 + d6d7, every other product falls below bit 32 or above bit 63 */
    return ((x & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))
            + ((x >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32))) >> 32;
}
#else
#define HAVE_SWAR 0
#endif

/* x: eight bytes ^ '0'.  The top bit of the lowest byte that is no digit is set, and none below it (a byte of 10
 * or more carries into the next ones, but only those above it); 0 when all eight are digits. */
static inline uint64_t nondigit_bits(uint64_t x)
{
    return ((x + 0x7676767676767676ULL) | x) & 0x8080808080808080ULL;
}

/* Parse one token as a double, correctly rounded (the value strtod gives; strtod itself for the rare tokens
 * outside Clinger's exact case).  The common token that LAMMPS' %g formats print (an optional minus, at most 7
 * integer digits, an optional point, at most 16 digits in all, an optional exponent) is read sixteen digits at
 * a time: the digits before the point and the first ones after it are joined into one word (the point squeezed
 * out), the next eight digits are the word 9 bytes into the token, and each word is converted at once.  Any other
 * token goes through parse_double_general, which gives the same result. */
static inline int parse_double(const char *p, const char *end, const char **next, double *val)
{
#if HAVE_SWAR
    if (end - p >= 40) {                          /* every 8-byte load below stays inside the buffer */
        const char *s = p;
        const int neg = (*s == '-');
        s += neg;
        uint64_t x0, d0, d1;
        memcpy(&x0, s, 8);
        x0 ^= 0x3030303030303030ULL;
        const uint64_t bad0 = nondigit_bits(x0);
        if (!bad0) goto general;                  /* eight or more integer digits */
        const int nint = TM_CTZ64(bad0) >> 3;
        const int dot = ((x0 >> (8 * nint)) & 0xFF) == ('.' ^ '0');
        int ndig = nint;
        uint64_t mant;
        if (dot) {
            /* the integer digits, then the digits after the point: d0 holds the first eight, d1 the next */
            const uint64_t keep = (1ULL << (8 * nint)) - 1;
            memcpy(&d0, s + nint + 1, 8);
            d0 = (x0 & keep) | ((d0 ^ 0x3030303030303030ULL) << (8 * nint));
            const uint64_t bad = nondigit_bits(d0);
            if (bad) {
                ndig = TM_CTZ64(bad) >> 3;
                mant = digits_value(d0, ndig);
            } else {
                memcpy(&d1, s + 9, 8);
                d1 ^= 0x3030303030303030ULL;
                const uint64_t bad1 = nondigit_bits(d1);
                if (!bad1) goto general;          /* more than 15 digits */
                const int n1 = TM_CTZ64(bad1) >> 3;
                ndig = 8 + n1;
                mant = digits_value(d0, 8) * POW10U[n1] + digits_value(d1, n1);
            }
            s += ndig + 1;
        } else {
            mant = digits_value(x0, nint);
            s += nint;
        }
        if (ndig == 0) goto general;              /* no digits ("inf", "."); a '+' sign also goes there */
        int exp10 = nint - ndig;
        if ((*s | 0x20) == 'e') {
            const char *e = s + 1;
            int eneg = 0, ev = 0;
            if (*e == '-' || *e == '+') { eneg = (*e == '-'); e++; }
            if (!is_digit(*e)) goto general;
            while (e < end && is_digit(*e)) { if (ev < 100000) ev = ev * 10 + (*e - '0'); e++; }
            exp10 += eneg ? -ev : ev;
            s = e;
        }
        if ((s < end && !is_delimiter(*s)) || mant > (1ULL << 53) || exp10 < -22 || exp10 > 22) goto general;
        double d = (double)(int64_t)mant;
        if (exp10 < 0) d /= POW10[-exp10]; else d *= POW10[exp10];
        *val = neg ? -d : d;
        *next = s;
        return ST_OK;
    }
general:
#endif
    return parse_double_general(p, end, next, val);
}

/* A non-negative decimal integer token of at most 18 digits (atom ids and types); 0 when the token is anything
 * else (the caller then takes the general way). */
static inline int parse_uint_token(const char *p, const char *end, const char **next, int64_t *val)
{
    const char *s = p;
    int64_t v = 0;
    while (s < end && is_digit(*s)) { v = v * 10 + (*s - '0'); s++; }
    if (s == p || s - p > 18 || !token_end(s, end)) return 0;
    *val = v;
    *next = s;
    return 1;
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
        const char *hit = tm_memmem(p, (size_t)(end - p), KEY_TS, klen);
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
    int bad_map = 0;
    for (Py_ssize_t i = 0; i < nmap; i++) {
        if (colmap[i] >= 0) need = i + 1;
        if (colmap[i] >= ncols_out) bad_map = 1;          /* every destination column inside an output row */
    }
    if (nrows < 0 || ncols_out < 0 || bad_map || (ncols_out > 0 && nrows > PY_SSIZE_T_MAX / 8 / ncols_out) ||
        out.len < nrows * ncols_out * (Py_ssize_t)sizeof(double) || offset < 0 || offset > buf.len) {
        PyBuffer_Release(&buf); PyBuffer_Release(&cmap); PyBuffer_Release(&out);
        PyErr_SetString(PyExc_ValueError, "parse_rows: a negative size, a column map entry outside the output row, "
                                          "an output buffer too small or an offset out of range");
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

/* ------------------------------------------------------------------------------------------------------------
 * Whole frames of a LAMMPS text dump, many per call.
 *
 * parse_dump_frames(buf, starts, ends, first, natoms, atoms_line, colmap, outs, out0, ids, types, cells, origins)
 *   -> (k, status)
 *
 * Frames k = first, first + 1, ... occupy buf[starts[k]:ends[k]] (int64 offsets).  Each frame's header items are
 * read (NUMBER OF ATOMS must be natoms, the text after "ITEM: ATOMS" must be the bytes atoms_line, the box bounds
 * give cells[out0 + k] (rows a, b, c) and origins[out0 + k] exactly as trajmodes.io.trajectories.lammps_header.parse_box does),
 * then its natoms atom lines.  colmap holds two int32 per input column: (target, component) with target >= 0 an
 * index into the tuple outs of float64 buffers of shape (n_out, natoms, width), COL_ID the atom id, COL_TYPE the
 * LAMMPS type (checked against types[] of the atom, when types is not empty), COL_SKIP a column left unparsed.
 * Each atom line goes to the row of its id among the ascending ids[] (itself when the frame is in id order).
 *
 * This is the strict, fast way: a frame that is anything but plainly valid (an unknown item, a box or atom line
 * that does not parse, an unknown, repeated or retyped id, a NaN, stray text after the atoms) stops the call with
 * status 1 and k that frame's index; the caller reads that frame the general way (which reads it or says exactly
 * what is wrong and where), then calls again from k + 1.  status 0: every frame was read.
 * ------------------------------------------------------------------------------------------------------------ */
enum { COL_SKIP = -1, COL_ID = -2, COL_TYPE = -3 };
#define MAX_OUTS 8
#ifndef USE_MASKED
#define USE_MASKED 0
#endif

static inline const char *line_end(const char *p, const char *end)
{
    const char *nl = (const char *)memchr(p, '\n', (size_t)(end - p));
    return nl ? nl : end;
}

/* [p, e) with blanks stripped from the right */
static inline const char *rstrip(const char *p, const char *e) { while (e > p && is_space(e[-1])) e--; return e; }

static inline int is_word(const char *p, const char *e, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(e - p) == n && memcmp(p, lit, n) == 0;
}

/* the numbers of one line [p, e): exactly want of them, each finite, and their running sum finite (as Python's
 * isfinite(sum(row)) in parse_box) */
static int number_line(const char *p, const char *e, int want, double *row)
{
    double sum = 0.0;
    for (int i = 0; i < want; i++) {
        while (p < e && is_space(*p)) p++;
        if (p >= e) return 0;
        if (parse_double(p, e, &p, &row[i]) != ST_OK) return 0;
        sum += row[i];
    }
    while (p < e && is_space(*p)) p++;
    return p == e && isfinite(sum);
}

/* a line holding one integer between blanks */
static int integer_line(const char *p, const char *e, int64_t *v)
{
    while (p < e && is_space(*p)) p++;
    const char *q;
    if (!parse_uint_token(p, e, &q, v)) return 0;
    while (q < e && is_space(*q)) q++;
    return q == e;
}

/* The box of one BOX BOUNDS item (flags [f, fe), three lines from *pp): cell rows and origin as parse_box. */
static int box_item(const char *f, const char *fe, const char **pp, const char *end, double *cell, double *origin)
{
    int abc = 0, tilt = 0;
    while (f < fe) {
        while (f < fe && is_space(*f)) f++;
        const char *w = f;
        while (f < fe && !is_space(*f)) f++;
        if (is_word(w, f, "abc")) abc = 1;
        else if (is_word(w, f, "xy")) tilt = 1;
    }
    int want = abc ? 4 : tilt ? 3 : 2;
    double r[3][4];
    const char *p = *pp;
    for (int i = 0; i < 3; i++) {
        const char *le = line_end(p, end);
        if (le >= end || !number_line(p, le, want, r[i])) return 0;
        p = le + 1;
    }
    *pp = p;
    if (abc) {
        double vol = r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1]) - r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0])
                     + r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]);
        if (!(fabs(vol) > 0.0)) return 0;
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) cell[3 * i + j] = r[i][j];
            origin[i] = r[i][3];
        }
        return 1;
    }
    for (int i = 0; i < 3; i++) if (!(r[i][1] > r[i][0])) return 0;
    if (!tilt) {
        memset(cell, 0, 9 * sizeof(double));
        for (int i = 0; i < 3; i++) { cell[4 * i] = r[i][1] - r[i][0]; origin[i] = r[i][0]; }
        return 1;
    }
    /* restricted triclinic: the bounding box minus the tilts' reach (Python's min/max keep the first of equals) */
    double xy = r[0][2], xz = r[1][2], yz = r[2][2], t[3] = {xy, xz, xy + xz};
    double lo = 0.0, hi = 0.0;
    for (int i = 0; i < 3; i++) { if (t[i] < lo) lo = t[i]; if (t[i] > hi) hi = t[i]; }
    double xlo = r[0][0] - lo, xhi = r[0][1] - hi;
    double ylo = r[1][0] - (yz < 0.0 ? yz : 0.0), yhi = r[1][1] - (yz > 0.0 ? yz : 0.0);
    if (!(xhi > xlo && yhi > ylo)) return 0;
    double c[9] = {xhi - xlo, 0.0, 0.0, xy, yhi - ylo, 0.0, xz, yz, r[2][1] - r[2][0]};
    memcpy(cell, c, sizeof(c));
    origin[0] = xlo; origin[1] = ylo; origin[2] = r[2][0];
    return 1;
}

/* The header items of the frame at p, up to and including its ITEM: ATOMS line; *rows: the first atom line. */
static int frame_header(const char *p, const char *end, int64_t natoms, const char *aline, Py_ssize_t alen,
                        double *cell, double *origin, const char **rows)
{
    int have_n = 0, have_box = 0;
    while (p < end) {
        const char *le = line_end(p, end);
        if (le >= end || (size_t)(le - p) < 6 || memcmp(p, "ITEM: ", 6) != 0) return 0;
        const char *w = p + 6, *we = rstrip(w, le);
        if (we - w >= 5 && memcmp(w, "ATOMS", 5) == 0) {
            if (le - (w + 5) != alen || memcmp(w + 5, aline, (size_t)alen) != 0 || !have_n || !have_box) return 0;
            *rows = le + 1;
            return 1;
        }
        const char *v = le + 1, *ve = line_end(v, end);       /* the item's first value line */
        if (v >= end || ve >= end) return 0;
        if (we - w >= 10 && memcmp(w, "BOX BOUNDS", 10) == 0 && (we - w == 10 || w[10] == ' ')) {
            if (!box_item(w + 10, we, &v, end, cell, origin)) return 0;
            have_box = 1;
            p = v;
            continue;
        }
        if (is_word(w, we, "NUMBER OF ATOMS")) {
            int64_t n;
            if (!integer_line(v, ve, &n) || n != natoms) return 0;
            have_n = 1;
        } else if (is_word(w, we, "TIME")) {
            double t;
            if (!number_line(v, ve, 1, &t)) return 0;
        } else if (is_word(w, we, "UNITS")) {
            for (const char *q = v; q < ve; q++) if ((unsigned char)*q >= 0x80) return 0;
        } else if (!is_word(w, we, "TIMESTEP")) {   /* its value was checked when the file was indexed */
            return 0;
        }
        p = ve + 1;
    }
    return 0;
}

/* What may follow a frame's atom lines: blanks, or the next frame's ITEM: UNITS / ITEM: TIME items and values
 * (dump_modify units yes time yes); anything else is for the general way to judge. */
static int clean_tail(const char *p, const char *end)
{
    int item = 0;
    while (p < end) {
        const char *le = line_end(p, end), *s = p;
        while (s < le && is_space(*s)) s++;
        const char *e = rstrip(s, le);
        if (s < e) {
            if ((size_t)(e - s) >= 5 && memcmp(s, "ITEM:", 5) == 0) {
                if (!(is_word(s, e, "ITEM: UNITS") || is_word(s, e, "ITEM: TIME"))) return 0;
                item = 1;
            } else if (!item) {
                return 0;
            }
        }
        p = le < end ? le + 1 : end;
    }
    return 1;
}

/* The rest of a line from s: the number of tokens in it (runs of bytes other than blank, tab and carriage return)
 * in *ntok, and the end of the line (its newline, or ``end``). With SWAR (HAVE_SWAR: little-endian) eight bytes at a
 * time: a word's blank bytes, shifted by one byte, mark the bytes after a blank; the first newline ends the count. */
#ifdef HAVE_SWAR
/* 0x80 in every byte of x that equals c, 0 in the others (exact: no borrow between bytes) */
static inline uint64_t bytes_equal(uint64_t x, unsigned char c)
{
    const uint64_t lo7 = 0x7f7f7f7f7f7f7f7fULL;
    uint64_t y = x ^ (0x0101010101010101ULL * c);
    return ~(((y & lo7) + lo7) | y | lo7);
}
#endif

static inline const char *rest_of_line(const char *s, const char *end, Py_ssize_t *ntok)
{
    Py_ssize_t cnt = 0;
    int before = 1;                                          /* the byte before s is a blank */
#ifdef HAVE_SWAR
    uint64_t prev = 0x80;
    for (; end - s >= 8; s += 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        const uint64_t sp = bytes_equal(w, ' ') | bytes_equal(w, '\t') | bytes_equal(w, '\r');
        uint64_t starts = ~sp & 0x8080808080808080ULL & ((sp << 8) | prev);
        const uint64_t nl = bytes_equal(w, '\n');
        if (nl) {
            const int k = TM_CTZ64(nl) >> 3;                  /* the newline's byte */
            starts &= k ? (~0ULL >> (64 - 8 * k)) : 0;
            *ntok = cnt + TM_POPCOUNT64(starts);
            return s + k;
        }
        cnt += TM_POPCOUNT64(starts);
        prev = sp >> 56;
    }
    before = prev != 0;
#endif
    for (; s < end && *s != '\n'; s++) {
        const int blank = is_space(*s);
        cnt += before & !blank;
        before = blank;
    }
    *ntok = cnt;
    return s;
}

/* ---- atom lines ---------------------------------------------------------------------------------------------
 * Each needed column of a line goes straight to its place in the outputs (row_scalar, token after token). */
typedef struct {
    const int32_t *cm;          /* (target, component) per column */
    double **colbase;           /* per column: its output's first value of its component, or NULL */
    Py_ssize_t *colw;           /* per column: its output's width */
    Py_ssize_t need;            /* columns read: 1 + the last column parsed */
    Py_ssize_t ncols;           /* columns of the ITEM: ATOMS line: every atom line holds exactly these */
    const int64_t *ids, *types; /* ascending ids; types in id order (NULL: not checked) */
    int64_t natoms;
    int contiguous;             /* ids are ids[0] .. ids[0] + natoms - 1 */
} Rows;

/* the row of atom ``id`` (the id of line ``row`` of the frame), or -1 for an id not among ids[] */
static inline int64_t atom_row(const Rows *r, int64_t row, int64_t id)
{
    if (r->ids[row] == id) return row;
    if (r->contiguous) {
        int64_t pos = id - r->ids[0];
        return pos >= 0 && pos < r->natoms ? pos : -1;
    }
    int64_t a = 0, b = r->natoms;
    while (a < b) { int64_t m = (a + b) >> 1; if (r->ids[m] < id) a = m + 1; else b = m; }
    return a < r->natoms && r->ids[a] == id ? a : -1;
}


/* One atom line at p, token after token. */
static const char *row_scalar(const Rows *r, const char *p, const char *end, int64_t row, Py_ssize_t at_frame,
                              int64_t *pos_out)
{
    int64_t at = -1, pos_atom = -1;
    for (Py_ssize_t c = 0; c < r->need; c++) {
        while (p < end && is_space(*p)) p++;
        if (p >= end || *p == '\n') return NULL;
        const int32_t tg = r->cm[2 * c];
        if (tg >= 0) {
            if (at < 0 || parse_double(p, end, &p, r->colbase[c] + at * r->colw[c]) != ST_OK) return NULL;
        } else if (tg == COL_ID) {
            int64_t id;
            if (!parse_uint_token(p, end, &p, &id) || (pos_atom = atom_row(r, row, id)) < 0) return NULL;
            at = at_frame + pos_atom;
        } else if (tg == COL_TYPE) {
            int64_t ty;
            if (!parse_uint_token(p, end, &p, &ty) || at < 0 || (r->types && r->types[pos_atom] != ty)) return NULL;
        } else {
            while (p < end && !is_space(*p) && *p != '\n') p++;
        }
    }
    /* the line holds exactly the columns the ITEM: ATOMS line names: the tokens after the last one read are
     * counted (a token too many or too few, a row run into the next or split over two lines, is not plainly valid) */
    Py_ssize_t rest;
    const char *le = rest_of_line(p, end, &rest);
    if (rest != r->ncols - r->need) return NULL;
    *pos_out = pos_atom;
    return le < end ? le + 1 : end;
}

/* The natoms atom lines of one frame from p (``at_frame``: the frame's first row in the outputs); the end of the
 * last line, or NULL when one is not plainly valid.  seen[] marks the atoms placed: ``mark`` differs from the
 * previous frame's, so a repeated id is caught without clearing it. */
TM_NOINLINE static const char *frame_rows(const Rows *r, const char *p, const char *end,
                                                        Py_ssize_t at_frame, unsigned char *seen, unsigned char mark)
{
    for (int64_t row = 0; row < r->natoms; row++) {
        int64_t pos = -1;
        if (p >= end) return NULL;
        p = row_scalar(r, p, end, row, at_frame, &pos);
        if (!p || pos < 0 || seen[pos] == mark) return NULL;
        seen[pos] = mark;
    }
    return p;
}

static PyObject *parse_dump_frames(PyObject *self, PyObject *args)
{
    Py_buffer buf, bst, ben, cmap, bids, btypes, bcell, borig;
    Py_ssize_t first, out0, alen;
    long long natoms_ll;
    const char *aline;
    PyObject *outs;
    if (!PyArg_ParseTuple(args, "y*y*y*nLy#y*O!ny*y*w*w*", &buf, &bst, &ben, &first, &natoms_ll, &aline, &alen,
                          &cmap, &PyTuple_Type, &outs, &out0, &bids, &btypes, &bcell, &borig))
        return NULL;
    Py_buffer ob[MAX_OUTS];
    int nouts = 0;
    PyObject *result = NULL;
    double **colbase = NULL;
    Py_ssize_t *colw = NULL;
    unsigned char *seen = NULL;
    const int64_t natoms = natoms_ll;
    const Py_ssize_t nfr = bst.len / 8, ncols = cmap.len / 8, nout = bcell.len / (9 * 8);
    const int32_t *cm = (const int32_t *)cmap.buf;
    const int64_t *st = (const int64_t *)bst.buf, *en = (const int64_t *)ben.buf, *ids = (const int64_t *)bids.buf;
    const char *bad = NULL;
    if (PyTuple_GET_SIZE(outs) > MAX_OUTS) { bad = "too many outputs"; goto done; }
    for (; nouts < PyTuple_GET_SIZE(outs); nouts++) {
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(outs, nouts), &ob[nouts], PyBUF_WRITABLE) < 0) goto done;
    }
    if (natoms <= 0 || ben.len != bst.len || bids.len != natoms * 8 || (btypes.len && btypes.len != natoms * 8)
        || borig.len < nout * 3 * 8 || first < 0 || out0 < 0 || out0 + nfr > nout || cmap.len % 8 || ncols < 1) {
        bad = "inconsistent arguments"; goto done;
    }
    for (Py_ssize_t k = 0; k < nfr; k++)
        if (st[k] < 0 || en[k] < st[k] || en[k] > buf.len) { bad = "frame offsets outside the buffer"; goto done; }
    colbase = (double **)calloc((size_t)ncols, sizeof(double *));
    colw = (Py_ssize_t *)calloc((size_t)ncols, sizeof(Py_ssize_t));
    seen = (unsigned char *)calloc((size_t)natoms, 1);
    if (!colbase || !colw || !seen) { PyErr_NoMemory(); goto done; }
    Rows r = {cm, colbase, colw, 0, ncols, ids, btypes.len ? (const int64_t *)btypes.buf : NULL, natoms,
              ids[natoms - 1] - ids[0] == natoms - 1};
    int have_id = 0;
    for (Py_ssize_t c = 0; c < ncols; c++) {
        int32_t tg = cm[2 * c], comp = cm[2 * c + 1];
        if (tg == COL_SKIP) continue;
        r.need = c + 1;
        if (tg == COL_ID) { have_id = 1; continue; }
        if (tg == COL_TYPE) continue;
        if (tg < 0 || tg >= nouts) { bad = "column map names no output"; goto done; }
        Py_ssize_t w = ob[tg].len / (Py_ssize_t)(8 * natoms * nout);
        if (w * 8 * natoms * nout != ob[tg].len || comp < 0 || comp >= w) { bad = "output of the wrong size"; goto done; }
        colbase[c] = (double *)ob[tg].buf + comp;
        colw[c] = w;
    }
    if (!have_id) { bad = "no id column"; goto done; }
    const char *base = (const char *)buf.buf;
    double *cells = (double *)bcell.buf, *origins = (double *)borig.buf;
    Py_ssize_t k = first;
    int status = 0;
    Py_BEGIN_ALLOW_THREADS
    for (; k < nfr; k++) {
        const char *end = base + en[k], *p;
        const Py_ssize_t fo = out0 + k;
        if (!frame_header(base + st[k], end, natoms, aline, alen, cells + 9 * fo, origins + 3 * fo, &p)) break;
        p = frame_rows(&r, p, end, fo * natoms, seen, (unsigned char)(1 + (k & 0x7F)));
        if (!p || !clean_tail(p, end)) break;
    }
    if (k < nfr) status = 1;
    Py_END_ALLOW_THREADS
    result = Py_BuildValue("(ni)", k, status);
done:
    if (bad && !PyErr_Occurred()) PyErr_Format(PyExc_ValueError, "parse_dump_frames: %s", bad);
    free(colbase); free(colw); free(seen);
    for (int i = 0; i < nouts; i++) PyBuffer_Release(&ob[i]);
    PyBuffer_Release(&buf); PyBuffer_Release(&bst); PyBuffer_Release(&ben); PyBuffer_Release(&cmap);
    PyBuffer_Release(&bids); PyBuffer_Release(&btypes); PyBuffer_Release(&bcell); PyBuffer_Release(&borig);
    return result;
}

/* parse_float(token) -> (status, value, consumed): the row parser's reading of one token (for the tests that
 * hold it to strtod). */
static PyObject *parse_float(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "y*", &buf)) return NULL;
    const char *p = (const char *)buf.buf, *next = p;
    double v = NAN;
    int status = parse_double(p, p + buf.len, &next, &v);
    PyBuffer_Release(&buf);
    return Py_BuildValue("(idn)", status, v, (Py_ssize_t)(next - p));
}

static PyMethodDef methods[] = {
    {"scan_lammps", scan_lammps, METH_VARARGS, "Frame starts and timesteps of a LAMMPS text dump."},
    {"scan_xyz", scan_xyz, METH_VARARGS, "Frame starts and atom counts of an XYZ file."},
    {"parse_rows", parse_rows, METH_VARARGS, "Parse whitespace-separated numeric rows into float64."},
    {"parse_dump_frames", parse_dump_frames, METH_VARARGS, "Parse whole LAMMPS dump frames, atoms placed by id."},
    {"parse_float", parse_float, METH_VARARGS, "Parse one token as the row parser does: (status, value, length)."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "_fastparse",
                                    "Compiled text kernels for trajmodes' readers.", -1, methods};

PyMODINIT_FUNC PyInit__fastparse(void) { return PyModule_Create(&moddef); }
