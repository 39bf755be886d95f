// Small-M GEMM, y = x · wᵀ, for the decode path (M = number of sequences decoded together, 1..16).
// The weights stream from memory once; tiles of 4 weight rows × up to 4 tokens keep 16 AVX-512
// accumulators in registers, reduced horizontally once per tile.
#include "CKernels.h"
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512vl,fma")))

int ck_has_avx512(void) { return __builtin_cpu_supports("avx512f"); }
int ck_has_avx512bf16(void) { return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw"); }

void ck_gemm_nt_small_ref(const float *x, const float *w, float *y, int M, int K, int ldy, int n0, int n1, int accumulate) {
    for (int m = 0; m < M; m++) {
        for (int n = n0; n < n1; n++) {
            float s = 0;
            const float *xr = x + (long)m * K, *wr = w + (long)n * K;
            for (int k = 0; k < K; k++) s += xr[k] * wr[k];
            y[(long)m * ldy + n] = accumulate ? y[(long)m * ldy + n] + s : s;
        }
    }
}

// How far ahead (bytes) the decode kernels prefetch the weight stream (docs/kernels.md §3).
#define CK_GEMV_PREFETCH 8192

// Prefetches `lines` cache lines from p + CK_GEMV_PREFETCH into L2, when they start before `end` (the end of the
// stream a thread reads).
AVX512 static inline __attribute__((always_inline)) void prefetch_ahead(const void *p, const char *end, int lines) {
    const char *ahead = (const char *)p + CK_GEMV_PREFETCH;
    if (ahead < end)
        for (int l = 0; l < lines; l++) _mm_prefetch(ahead + 64 * l, _MM_HINT_T1);
}

// One tile: RB weight rows (≤ 4) × MB tokens (≤ 4). Constant RB/MB after inlining keep acc in registers. With
// `ahead_end` set (the first token block of a row tile), each row's line CK_GEMV_PREFETCH bytes ahead is prefetched
// into L2 when it lies before ahead_end: rows are contiguous, so this covers the stream one tile ahead.
AVX512 static inline __attribute__((always_inline)) void tile(const float *x, const float *w, float *y, int K, int ldy,
                                                              int n, int m, int RB, int MB, int accumulate,
                                                              const char *ahead_end) {
    __m512 acc[4][4];
    for (int r = 0; r < RB; r++)
        for (int j = 0; j < MB; j++) acc[r][j] = _mm512_setzero_ps();
    const float *wr[4], *xr[4];
    for (int r = 0; r < RB; r++) wr[r] = w + (long)(n + r) * K;
    for (int j = 0; j < MB; j++) xr[j] = x + (long)(m + j) * K;
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        __m512 wv[4];
        if (ahead_end)
            for (int r = 0; r < RB; r++) prefetch_ahead(wr[r] + k, ahead_end, 1);
        for (int r = 0; r < RB; r++) wv[r] = _mm512_loadu_ps(wr[r] + k);
        for (int j = 0; j < MB; j++) {
            __m512 xv = _mm512_loadu_ps(xr[j] + k);
            for (int r = 0; r < RB; r++) acc[r][j] = _mm512_fmadd_ps(wv[r], xv, acc[r][j]);
        }
    }
    if (k < K) {
        __mmask16 mask = (__mmask16)((1u << (K - k)) - 1);
        __m512 wv[4];
        for (int r = 0; r < RB; r++) wv[r] = _mm512_maskz_loadu_ps(mask, wr[r] + k);
        for (int j = 0; j < MB; j++) {
            __m512 xv = _mm512_maskz_loadu_ps(mask, xr[j] + k);
            for (int r = 0; r < RB; r++) acc[r][j] = _mm512_fmadd_ps(wv[r], xv, acc[r][j]);
        }
    }
    for (int j = 0; j < MB; j++)
        for (int r = 0; r < RB; r++) {
            float s = _mm512_reduce_add_ps(acc[r][j]);
            float *dst = y + (long)(m + j) * ldy + n + r;
            *dst = accumulate ? *dst + s : s;
        }
}

// One token (decode at batch 1, a pure GEMV): rows in order, so each thread reads its rows [n0, n1) of w as one
// contiguous stream, with software prefetches CK_GEMV_PREFETCH bytes ahead into L2 (docs/kernels.md §3: on the
// Intel Xeon this read 25-33 GB/s on two threads where 8 interleaved row streams read 17-22).
AVX512 static void gemv_stream(const float *x, const float *w, float *y, int K, int n0, int n1, int accumulate) {
    const char *end = (const char *)(w + (long)n1 * K);
    for (int n = n0; n < n1; n++) {
        const float *wr = w + (long)n * K;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        int k = 0;
        for (; k + 64 <= K; k += 64) {
            prefetch_ahead(wr + k, end, 4);
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(wr + k), _mm512_loadu_ps(x + k), a0);
            a1 = _mm512_fmadd_ps(_mm512_loadu_ps(wr + k + 16), _mm512_loadu_ps(x + k + 16), a1);
            a2 = _mm512_fmadd_ps(_mm512_loadu_ps(wr + k + 32), _mm512_loadu_ps(x + k + 32), a2);
            a3 = _mm512_fmadd_ps(_mm512_loadu_ps(wr + k + 48), _mm512_loadu_ps(x + k + 48), a3);
        }
        for (; k < K; k += 16) {
            __mmask16 mask = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1);
            a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, wr + k), _mm512_maskz_loadu_ps(mask, x + k), a0);
        }
        float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
        y[n] = accumulate ? y[n] + s : s;
    }
}

// The sum of x[0..<n], read the way gemv_stream reads weights (one stream, prefetched into L2): the read
// bandwidth decode can reach, which `rpt bench` reports as decode's bound.
AVX512 static float stream_sum_avx512(const float *x, long n) {
    const char *end = (const char *)(x + n);
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    long i = 0;
    for (; i + 64 <= n; i += 64) {
        prefetch_ahead(x + i, end, 4);
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(x + i));
        a1 = _mm512_add_ps(a1, _mm512_loadu_ps(x + i + 16));
        a2 = _mm512_add_ps(a2, _mm512_loadu_ps(x + i + 32));
        a3 = _mm512_add_ps(a3, _mm512_loadu_ps(x + i + 48));
    }
    float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    for (; i < n; i++) s += x[i];
    return s;
}

float ck_stream_sum(const float *x, long n) {
    if (ck_has_avx512()) return stream_sum_avx512(x, n);
    float s = 0;
    for (long i = 0; i < n; i++) s += x[i];
    return s;
}

#define TILE_CASE(RB, MB) tile(x, w, y, K, ldy, n, m, RB, MB, accumulate, m == 0 ? ahead_end : 0)

AVX512 static void gemm_small_avx512(const float *x, const float *w, float *y, int M, int K, int ldy, int n0, int n1, int accumulate) {
    if (M == 1) { gemv_stream(x, w, y, K, n0, n1, accumulate); return; }
    // Weight rows outside, tokens inside: a 4-row tile of w is read from memory once and reused from L1
    // by every block of 4 tokens.
    const char *ahead_end = (const char *)(w + (long)n1 * K);
    int n = n0;
    for (; n + 4 <= n1; n += 4) {
        for (int m = 0; m < M; m += 4) {
            switch (M - m < 4 ? M - m : 4) {
            case 1: TILE_CASE(4, 1); break;
            case 2: TILE_CASE(4, 2); break;
            case 3: TILE_CASE(4, 3); break;
            default: TILE_CASE(4, 4); break;
            }
        }
    }
    for (; n < n1; n++) {
        for (int m = 0; m < M; m += 4) {
            switch (M - m < 4 ? M - m : 4) {
            case 1: TILE_CASE(1, 1); break;
            case 2: TILE_CASE(1, 2); break;
            case 3: TILE_CASE(1, 3); break;
            default: TILE_CASE(1, 4); break;
            }
        }
    }
}

void ck_gemm_nt_small(const float *x, const float *w, float *y, int M, int K, int ldy, int n0, int n1, int accumulate) {
    static int has = -1;
    if (has < 0) has = ck_has_avx512();
    if (has) gemm_small_avx512(x, w, y, M, K, ldy, n0, n1, accumulate);
    else ck_gemm_nt_small_ref(x, w, y, M, K, ldy, n0, n1, accumulate);
}
