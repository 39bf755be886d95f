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

// One tile: RB weight rows (≤ 4) × MB tokens (≤ 4). Constant RB/MB after inlining keep acc in registers.
AVX512 static inline __attribute__((always_inline)) void tile(const float *x, const float *w, float *y, int K, int ldy,
                                                              int n, int m, int RB, int MB, int accumulate) {
    __m512 acc[4][4];
    for (int r = 0; r < RB; r++)
        for (int j = 0; j < MB; j++) acc[r][j] = _mm512_setzero_ps();
    const float *wr[4], *xr[4];
    for (int r = 0; r < RB; r++) wr[r] = w + (long)(n + r) * K;
    for (int j = 0; j < MB; j++) xr[j] = x + (long)(m + j) * K;
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        __m512 wv[4];
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

// One token (decode at batch 1, a pure GEMV): 8 weight rows at a time, two accumulators per row and
// prefetches ahead, so more cache lines are in flight and the stream runs closer to DRAM bandwidth.
AVX512 static void gemv_rows8(const float *x, const float *w, float *y, int K, int n0, int n1, int accumulate) {
    int n = n0;
    for (; n + 8 <= n1; n += 8) {
        __m512 a0[8], a1[8];
        for (int r = 0; r < 8; r++) { a0[r] = _mm512_setzero_ps(); a1[r] = _mm512_setzero_ps(); }
        int k = 0;
        for (; k + 32 <= K; k += 32) {
            __m512 x0 = _mm512_loadu_ps(x + k), x1 = _mm512_loadu_ps(x + k + 16);
            for (int r = 0; r < 8; r++) {
                const float *wr = w + (long)(n + r) * K + k;
                _mm_prefetch((const char *)(wr + 256), _MM_HINT_T0);
                a0[r] = _mm512_fmadd_ps(_mm512_loadu_ps(wr), x0, a0[r]);
                a1[r] = _mm512_fmadd_ps(_mm512_loadu_ps(wr + 16), x1, a1[r]);
            }
        }
        for (; k < K; k += 16) {
            __mmask16 mask = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1);
            __m512 xv = _mm512_maskz_loadu_ps(mask, x + k);
            for (int r = 0; r < 8; r++)
                a0[r] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, w + (long)(n + r) * K + k), xv, a0[r]);
        }
        for (int r = 0; r < 8; r++) {
            float s = _mm512_reduce_add_ps(_mm512_add_ps(a0[r], a1[r]));
            y[n + r] = accumulate ? y[n + r] + s : s;
        }
    }
    for (; n < n1; n++) tile(x, w, y, K, 0, n, 0, 1, 1, accumulate);
}

#define TILE_CASE(RB, MB) tile(x, w, y, K, ldy, n, m, RB, MB, accumulate)

AVX512 static void gemm_small_avx512(const float *x, const float *w, float *y, int M, int K, int ldy, int n0, int n1, int accumulate) {
    if (M == 1) { gemv_rows8(x, w, y, K, n0, n1, accumulate); return; }
    // Weight rows outside, tokens inside: a 4-row tile of w is read from memory once and reused from L1
    // by every block of 4 tokens.
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
