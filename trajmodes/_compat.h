/* Portability of the compiled kernels (_fastparse.c, _design.c, _density.c, _projection.c, _tetrahedron.c): the few
 * compiler and C-library extensions they use, each with a plain fallback, so that the extensions build with GCC,
 * Clang and MSVC alike. */
#ifndef TRAJMODES_COMPAT_H
#define TRAJMODES_COMPAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* restrict: C99; MSVC spells it __restrict */
#if defined(_MSC_VER) && !defined(__clang__)
#define TM_RESTRICT __restrict
#else
#define TM_RESTRICT restrict
#endif

/* a function kept out of line (its caller's loop stays small) */
#if defined(__GNUC__) || defined(__clang__)
#define TM_NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define TM_NOINLINE __declspec(noinline)
#else
#define TM_NOINLINE
#endif

/* one function compiled for AVX2 and for the baseline, the loader picking one (GCC's function multi-versioning on
 * x86-64 Linux); elsewhere the baseline build alone */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define TM_TARGET_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define TM_TARGET_CLONES
#endif

/* number of trailing zero bits of a non-zero 64-bit word */
#if defined(__GNUC__) || defined(__clang__)
#define TM_CTZ64(x) __builtin_ctzll(x)
#else
static inline int TM_CTZ64(uint64_t x)
{
    int n = 0;
    while (!(x & 1u)) { x >>= 1; n++; }
    return n;
}
#endif

/* number of set bits of a 64-bit word */
#if defined(__GNUC__) || defined(__clang__)
#define TM_POPCOUNT64(x) __builtin_popcountll(x)
#else
static inline int TM_POPCOUNT64(uint64_t x)
{
    int n = 0;
    while (x) { x &= x - 1; n++; }
    return n;
}
#endif

/* the first occurrence of a byte string in a buffer (memmem is GNU and BSD, not ISO C) */
static inline const char *tm_memmem(const char *hay, size_t n, const char *needle, size_t k)
{
    if (k == 0) return hay;
    while (n >= k) {
        const char *p = (const char *)memchr(hay, needle[0], n - k + 1);
        if (!p) return NULL;
        if (memcmp(p, needle, k) == 0) return p;
        n -= (size_t)(p - hay) + 1;
        hay = p + 1;
    }
    return NULL;
}

/* a buffer that must hold n items of `item` bytes: 0, or -1 with a ValueError naming the function and the argument
 * (for the kernels that include Python.h first) */
#ifdef Py_PYTHON_H
static inline int tm_need(Py_buffer *b, Py_ssize_t n, Py_ssize_t item, const char *fn, const char *what)
{
    if (n < 0 || b->len < n * item) {
        PyErr_Format(PyExc_ValueError, "%s: %s holds %zd bytes, needs %zd", fn, what, b->len, n * item);
        return -1;
    }
    return 0;
}
#endif

#endif
