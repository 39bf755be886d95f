// Small-M GEMM with bf16 weights, y = x · wᵀ, for decode and rollouts (docs/kernels.md §4).
// Weights are stored as bf16 (half the bytes of fp32, so a memory-bound decode step reads half as much);
// activations are rounded to bf16 once per call, and VDPBF16PS multiplies pairs of bf16 values and
// accumulates in fp32 (Intel SDM, "VDPBF16PS"; the same arithmetic as llama.cpp's bf16 vec_dot and as
// PyTorch's bf16 matmul with fp32 accumulation). The tiling mirrors gemm_small.c: 8 weight rows at a time
// for one token, 4 rows × 4 tokens otherwise. The packed layout (ck_pack_bf16_rows8) interleaves the 32-value
// chunks of 8 rows so that one token's GEMV reads one stream (as llama.cpp repacks weights at load): 30–34 GB/s
// on one Zen 4 core against 13 GB/s for 8 row-major streams (docs/kernels.md §4). The portable loops below are
// the reference and the fallback.
#include "CKernels.h"
#include <immintrin.h>
#include <string.h>

#define AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,fma")))


// Round to nearest even; NaN stays NaN (quiet bit set), as VCVTNEPS2BF16 does.
static inline uint16_t f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

void ck_f32_to_bf16_ref(const float *x, uint16_t *y, long n) {
    for (long i = 0; i < n; i++) y[i] = f32_to_bf16(x[i]);
}

AVX512BF16 static void f32_to_bf16_avx512(const float *x, uint16_t *y, long n) {
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256bh h = _mm512_cvtneps_pbh(_mm512_loadu_ps(x + i));
        _mm256_storeu_si256((__m256i *)(y + i), (__m256i)h);
    }
    for (; i < n; i++) y[i] = f32_to_bf16(x[i]);
}

void ck_f32_to_bf16(const float *x, uint16_t *y, long n) {
    static int has = -1;
    if (has < 0) has = ck_has_avx512bf16();
    if (has) f32_to_bf16_avx512(x, y, n);
    else ck_f32_to_bf16_ref(x, y, n);
}

void ck_bf16_to_f32(const uint16_t *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = ck_bf16_value(x[i]);
}

void ck_gemm_nt_small_bf16_ref(const uint16_t *x, const uint16_t *w, float *y, int M, int K, int ldy, int n0, int n1,
                               int accumulate) {
    for (int m = 0; m < M; m++) {
        for (int n = n0; n < n1; n++) {
            float s = 0;
            const uint16_t *xr = x + (long)m * K, *wr = w + (long)n * K;
            for (int k = 0; k < K; k++) s += ck_bf16_value(xr[k]) * ck_bf16_value(wr[k]);
            y[(long)m * ldy + n] = accumulate ? y[(long)m * ldy + n] + s : s;
        }
    }
}

// 32 bf16 values from p (the first `left` of them when left < 32, the rest zero).
AVX512BF16 static inline __m512bh load_bf16(const uint16_t *p, int left) {
    if (left >= 32) return (__m512bh)_mm512_loadu_si512((const void *)p);
    __mmask32 mask = (__mmask32)((1ull << left) - 1);
    return (__m512bh)_mm512_maskz_loadu_epi16(mask, p);
}

// Where row n of a weight matrix starts and how far apart its 32-value chunks are: row-major rows (step 32), or
// the packed layout (ck_pack_bf16_rows8: rows in groups of 8 whose chunks interleave, step 256; rows after the
// last full group stay row-major).
static inline const uint16_t *row_start(const uint16_t *w, int K, int N, int packed, int n, long *step) {
    if (packed && n < N / 8 * 8) { *step = 8 * 32; return w + (long)(n / 8) * 8 * K + (n % 8) * 32; }
    *step = 32;
    return w + (long)n * K;
}

// One tile: RB weight rows (≤ 4) × MB tokens (≤ 4), accumulators in registers.
AVX512BF16 static inline __attribute__((always_inline)) void tile_bf16(const uint16_t *x, const uint16_t *w, float *y,
                                                                       int K, int N, int packed, int ldy, int n, int m,
                                                                       int RB, int MB, int accumulate) {
    __m512 acc[4][4];
    for (int r = 0; r < RB; r++)
        for (int j = 0; j < MB; j++) acc[r][j] = _mm512_setzero_ps();
    const uint16_t *wr[4], *xr[4];
    long step[4];
    for (int r = 0; r < RB; r++) wr[r] = row_start(w, K, N, packed, n + r, &step[r]);
    for (int j = 0; j < MB; j++) xr[j] = x + (long)(m + j) * K;
    for (int k = 0, c = 0; k < K; k += 32, c++) {
        int left = K - k;
        __m512bh wv[4];
        for (int r = 0; r < RB; r++) wv[r] = load_bf16(wr[r] + c * step[r], left);
        for (int j = 0; j < MB; j++) {
            __m512bh xv = load_bf16(xr[j] + k, left);
            for (int r = 0; r < RB; r++) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], wv[r], xv);
        }
    }
    for (int j = 0; j < MB; j++)
        for (int r = 0; r < RB; r++) {
            float s = _mm512_reduce_add_ps(acc[r][j]);
            float *dst = y + (long)(m + j) * ldy + n + r;
            *dst = accumulate ? *dst + s : s;
        }
}

// One token over packed groups of 8 rows: each group is one contiguous stream of 8 × 32 values per chunk, read
// front to back (the layout's point: one stream instead of eight, which the hardware prefetcher follows), with
// each chunk's 8 lines 8 KB ahead prefetched up to the end of the range (docs/kernels.md §3: 34.5 against 31.5
// GB/s on the Intel Xeon).
AVX512BF16 static void gemv_bf16_packed8(const uint16_t *x, const uint16_t *w, float *y, int K, int g0, int g1,
                                         int accumulate) {
    const char *end = (const char *)(w + (long)g1 * 8 * K);
    for (int g = g0; g < g1; g++) {
        const uint16_t *block = w + (long)g * 8 * K;
        __m512 a[8];
        for (int r = 0; r < 8; r++) a[r] = _mm512_setzero_ps();
        for (int k = 0; k < K; k += 32) {
            __m512bh xv = (__m512bh)_mm512_loadu_si512((const void *)(x + k));
            const uint16_t *chunk = block + (long)k * 8;
            const char *ahead = (const char *)chunk + 8192;
            if (ahead < end)
                for (int l = 0; l < 8; l++) _mm_prefetch(ahead + 64 * l, _MM_HINT_T0);
            for (int r = 0; r < 8; r++) a[r] = _mm512_dpbf16_ps(a[r], (__m512bh)_mm512_loadu_si512((const void *)(chunk + r * 32)), xv);
        }
        for (int r = 0; r < 8; r++) {
            float s = _mm512_reduce_add_ps(a[r]);
            y[g * 8 + r] = accumulate ? y[g * 8 + r] + s : s;
        }
    }
}

// One token: 8 weight rows at a time, 64 values (two cache lines) per row per step, prefetching ahead.
AVX512BF16 static void gemv_bf16_rows8(const uint16_t *x, const uint16_t *w, float *y, int K, int n0, int n1,
                                       int accumulate) {
    int n = n0;
    for (; n + 8 <= n1; n += 8) {
        __m512 a0[8], a1[8];
        for (int r = 0; r < 8; r++) { a0[r] = _mm512_setzero_ps(); a1[r] = _mm512_setzero_ps(); }
        int k = 0;
        for (; k + 64 <= K; k += 64) {
            __m512bh x0 = (__m512bh)_mm512_loadu_si512((const void *)(x + k));
            __m512bh x1 = (__m512bh)_mm512_loadu_si512((const void *)(x + k + 32));
            for (int r = 0; r < 8; r++) {
                const uint16_t *wr = w + (long)(n + r) * K + k;
                _mm_prefetch((const char *)(wr + 512), _MM_HINT_T0);
                a0[r] = _mm512_dpbf16_ps(a0[r], (__m512bh)_mm512_loadu_si512((const void *)wr), x0);
                a1[r] = _mm512_dpbf16_ps(a1[r], (__m512bh)_mm512_loadu_si512((const void *)(wr + 32)), x1);
            }
        }
        for (; k < K; k += 32) {
            __m512bh xv = load_bf16(x + k, K - k);
            for (int r = 0; r < 8; r++) a0[r] = _mm512_dpbf16_ps(a0[r], load_bf16(w + (long)(n + r) * K + k, K - k), xv);
        }
        for (int r = 0; r < 8; r++) {
            float s = _mm512_reduce_add_ps(_mm512_add_ps(a0[r], a1[r]));
            y[n + r] = accumulate ? y[n + r] + s : s;
        }
    }
    for (; n < n1; n++) tile_bf16(x, w, y, K, n1, 0, 0, n, 0, 1, 1, accumulate);
}

#define TILE_BF16(RB, MB) tile_bf16(x, w, y, K, N, packed, ldy, n, m, RB, MB, accumulate)

AVX512BF16 static void gemm_small_bf16_avx512(const uint16_t *x, const uint16_t *w, float *y, int M, int K, int N,
                                              int packed, int ldy, int n0, int n1, int accumulate) {
    if (M == 1 && !packed) { gemv_bf16_rows8(x, w, y, K, n0, n1, accumulate); return; }
    int n = n0, m = 0;
    if (M == 1) {
        // Rows before the first whole group in range, the whole groups, then the rest.
        int g0 = (n0 + 7) / 8, g1 = n1 / 8 < N / 8 ? n1 / 8 : N / 8;
        if (g0 < g1) {
            for (; n < g0 * 8; n++) TILE_BF16(1, 1);
            gemv_bf16_packed8(x, w, y, K, g0, g1, accumulate);
            n = g1 * 8;
        }
        for (; n < n1; n++) TILE_BF16(1, 1);
        return;
    }
    for (; n + 4 <= n1; n += 4) {
        for (m = 0; m < M; m += 4) {
            switch (M - m < 4 ? M - m : 4) {
            case 1: TILE_BF16(4, 1); break;
            case 2: TILE_BF16(4, 2); break;
            case 3: TILE_BF16(4, 3); break;
            default: TILE_BF16(4, 4); break;
            }
        }
    }
    for (; n < n1; n++) {
        for (m = 0; m < M; m += 4) {
            switch (M - m < 4 ? M - m : 4) {
            case 1: TILE_BF16(1, 1); break;
            case 2: TILE_BF16(1, 2); break;
            case 3: TILE_BF16(1, 3); break;
            default: TILE_BF16(1, 4); break;
            }
        }
    }
}

void ck_gemm_nt_small_bf16(const uint16_t *x, const uint16_t *w, float *y, int M, int K, int ldy, int n0, int n1,
                           int accumulate) {
    static int has = -1;
    if (has < 0) has = ck_has_avx512bf16();
    if (has) gemm_small_bf16_avx512(x, w, y, M, K, n1, 0, ldy, n0, n1, accumulate);
    else ck_gemm_nt_small_bf16_ref(x, w, y, M, K, ldy, n0, n1, accumulate);
}

int ck_bf16_packs(int N, int K) { return K % 32 == 0 && N >= 8; }

void ck_pack_bf16_rows8(const uint16_t *src, uint16_t *dst, int N, int K) {
    long full = (long)(N / 8) * 8;
    for (long n = 0; n < full; n++)
        for (int c = 0; c < K / 32; c++)
            memcpy(dst + (n / 8) * 8 * K + (long)c * 256 + (n % 8) * 32, src + n * K + c * 32, 32 * sizeof(uint16_t));
    memcpy(dst + full * K, src + full * K, (size_t)(N - full) * K * sizeof(uint16_t));
}

void ck_gemm_nt_small_bf16_packed_ref(const uint16_t *x, const uint16_t *w, float *y, int M, int K, int N, int ldy,
                                      int n0, int n1, int accumulate) {
    for (int m = 0; m < M; m++) {
        for (int n = n0; n < n1; n++) {
            long step;
            const uint16_t *wr = row_start(w, K, N, 1, n, &step);
            float s = 0;
            for (int k = 0; k < K; k++) s += ck_bf16_value(x[(long)m * K + k]) * ck_bf16_value(wr[(k / 32) * step + k % 32]);
            y[(long)m * ldy + n] = accumulate ? y[(long)m * ldy + n] + s : s;
        }
    }
}

void ck_gemm_nt_small_bf16_packed(const uint16_t *x, const uint16_t *w, float *y, int M, int K, int N, int ldy,
                                  int n0, int n1, int accumulate) {
    static int has = -1;
    if (has < 0) has = ck_has_avx512bf16();
    if (has) gemm_small_bf16_avx512(x, w, y, M, K, N, 1, ldy, n0, n1, accumulate);
    else ck_gemm_nt_small_bf16_packed_ref(x, w, y, M, K, N, ldy, n0, n1, accumulate);
}
