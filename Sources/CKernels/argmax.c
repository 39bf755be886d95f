// The index of the largest of n floats (greedy decoding's argmax over a vocabulary of logits): the first index of
// the largest non-NaN value, as a scalar scan with `>` finds it, or -1 when every value is NaN (or n is 0).
// AVX-512: one pass keeps 16 running maxima (a NaN never compares greater, so never enters them), a second finds the
// first index holding their maximum. The portable scan is the reference the tests compare it with.
#include "CKernels.h"
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))

static long argmax_portable(const float *x, long n) {
    long best = -1;
    float value = 0;
    for (long i = 0; i < n; i++)
        if (x[i] == x[i] && (best < 0 || x[i] > value)) { best = i; value = x[i]; }
    return best;
}

AVX512 static long argmax_avx512(const float *x, long n) {
    __m512 mv = _mm512_set1_ps(-__builtin_inff());
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        mv = _mm512_mask_mov_ps(mv, _mm512_cmp_ps_mask(v, mv, _CMP_GT_OQ), v);
    }
    float m = _mm512_reduce_max_ps(mv);
    for (; i < n; i++)
        if (x[i] > m) m = x[i];
    // m is the largest non-NaN value, or -inf when there is none larger: its first occurrence is the answer.
    __m512 target = _mm512_set1_ps(m);
    for (i = 0; i + 16 <= n; i += 16) {
        __mmask16 hit = _mm512_cmp_ps_mask(_mm512_loadu_ps(x + i), target, _CMP_EQ_OQ);
        if (hit) return i + __builtin_ctz((unsigned)hit);
    }
    for (; i < n; i++)
        if (x[i] == m) return i;
    return -1;   // every value NaN
}

long ck_argmax(const float *x, long n, int portable) {
    if (n <= 0) return -1;
    if (!portable && ck_has_avx512()) return argmax_avx512(x, n);
    return argmax_portable(x, n);
}
