// Decode attention for the query heads that share one KV head (docs/kernels.md §7; GQA attention as in
// Attention.swift): scores s_j[t] = scale · q_j · k_t for every head j of the group and every cached key t, then,
// after the caller's softmax, out_j = Σ_t s_j[t] · v_t. AVX-512 with FMA: the scores of 16 keys are summed across
// their 16 partial vectors in one transposing tree (a dot product per key would end in a horizontal sum each), the
// keys of a 16-key block serve every head from L1, and the value rows are read once per block of up to 4 heads and
// 64 dimensions, the outputs held in registers. The cache rows of one KV head are d values every `stride`, too
// short a run for the hardware prefetcher, so the next block's keys and this block's values are prefetched.
// The cache holds fp32 or bf16 (docs/kernels.md §8: half the bytes). Over a bf16 cache the query is rounded to bf16
// too, as llama.cpp rounds it to its cache type, so each product q·k is a product of two bf16 values, exact in fp32:
// with AVX-512 BF16, VDPBF16PS takes 32 of them per instruction from the cache as stored (no widening); without it
// the widened values run through the fp32 kernel. Portable loops are the fallback; for fp32 the Swift path
// (Attention.group) is the reference on CPUs without AVX-512.
#include "CKernels.h"
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512vl,fma")))
#define AVX512BF16 __attribute__((target("avx512f,avx512vl,avx512bw,avx512bf16,fma")))

// Query values rounded per pass over a group's heads (on the stack: heads × d rounded up to 32 at most this many).
enum { Q_ROUNDED = 4096 };

// Lane i of the result: the sum of the 16 lanes of p[i].
AVX512 static inline __m512 sum16(const __m512 p[16]) {
    __m512 u[8], t[4], s[2];
    for (int i = 0; i < 8; i++)
        u[i] = _mm512_add_ps(_mm512_shuffle_f32x4(p[2 * i], p[2 * i + 1], 0x44), _mm512_shuffle_f32x4(p[2 * i], p[2 * i + 1], 0xEE));
    for (int i = 0; i < 4; i++)
        t[i] = _mm512_add_ps(_mm512_shuffle_f32x4(u[2 * i], u[2 * i + 1], 0x88), _mm512_shuffle_f32x4(u[2 * i], u[2 * i + 1], 0xDD));
    for (int i = 0; i < 2; i++) s[i] = _mm512_add_ps(_mm512_unpacklo_ps(t[2 * i], t[2 * i + 1]), _mm512_unpackhi_ps(t[2 * i], t[2 * i + 1]));
    __m512d a = _mm512_castps_pd(s[0]), b = _mm512_castps_pd(s[1]);
    __m512 f = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
    // The tree leaves the sum of p[4r + c] in lane 4c + r.
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), f);
}

// 16 cache values from element i of p (fp32, or bf16 widened to fp32); lanes cleared in `m` read 0 and no memory.
AVX512 static inline __attribute__((always_inline)) __m512 load16(const void *p, long i, __mmask16 m, int bf16) {
    if (!bf16) return m == 0xFFFF ? _mm512_loadu_ps((const float *)p + i) : _mm512_maskz_loadu_ps(m, (const float *)p + i);
    const uint16_t *h = (const uint16_t *)p + i;
    __m256i raw;
    if (m == 0xFFFF) raw = _mm256_loadu_si256((const __m256i *)h);
    else {   // a row's last d % 16 values (masked 16-bit loads need AVX-512 BW)
        uint16_t part[16] = {0};
        for (int l = 0; l < 16; l++)
            if (m >> l & 1) part[l] = h[l];
        raw = _mm256_loadu_si256((const __m256i *)part);
    }
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(raw), 16));
}

AVX512 static inline __attribute__((always_inline)) void scores_avx512(const float *q, int heads, int d, const void *k,
                                                                       const void *v, long stride, int n, float scale,
                                                                       float *scores, int bf16) {
    int size = bf16 ? 2 : 4;
    __mmask16 tail = d % 16 ? (__mmask16)((1u << (d % 16)) - 1) : (__mmask16)0xFFFF;
    for (int t0 = 0; t0 < n; t0 += 16) {
        int count = n - t0 < 16 ? n - t0 : 16;
        for (int i = 0; i < count; i++) {
            ck_prefetch((const char *)k + ((long)(t0 + 16 + i) * stride) * size, size * d);
            ck_prefetch((const char *)v + ((long)(t0 + i) * stride) * size, size * d);
        }
        for (int j = 0; j < heads; j++) {
            const float *qj = q + (long)j * d;
            __m512 p[16];
            for (int i = 0; i < 16; i++) {
                __m512 a = _mm512_setzero_ps();
                if (i < count) {
                    long row = (long)(t0 + i) * stride;
                    int c = 0;
                    for (; c + 16 <= d; c += 16) a = _mm512_fmadd_ps(_mm512_loadu_ps(qj + c), load16(k, row + c, 0xFFFF, bf16), a);
                    if (c < d) a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, qj + c), load16(k, row + c, tail, bf16), a);
                }
                p[i] = a;
            }
            __mmask16 m = count == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << count) - 1);
            _mm512_mask_storeu_ps(scores + (long)j * n + t0, m, _mm512_mul_ps(sum16(p), _mm512_set1_ps(scale)));
        }
    }
}

// HC heads (from j0) × NZ vectors of 16 dimensions (from c; the last one masked by `last`), over every key.
AVX512 static inline __attribute__((always_inline)) void values_tile(const float *scores, int n, const void *v, long stride,
                                                                     float *out, int d, int c, int j0, int HC, int NZ,
                                                                     __mmask16 last, int bf16) {
    __m512 acc[4][4];
    for (int j = 0; j < HC; j++)
        for (int z = 0; z < NZ; z++) acc[j][z] = _mm512_setzero_ps();
    for (int t = 0; t < n; t++) {
        long row = (long)t * stride + c;
        __m512 x[4];
        for (int z = 0; z < NZ; z++) x[z] = load16(v, row + 16 * z, z == NZ - 1 ? last : (__mmask16)0xFFFF, bf16);
        for (int j = 0; j < HC; j++) {
            __m512 a = _mm512_set1_ps(scores[(long)(j0 + j) * n + t]);
            for (int z = 0; z < NZ; z++) acc[j][z] = _mm512_fmadd_ps(a, x[z], acc[j][z]);
        }
    }
    for (int j = 0; j < HC; j++)
        for (int z = 0; z < NZ; z++)
            _mm512_mask_storeu_ps(out + (long)(j0 + j) * d + c + 16 * z, z == NZ - 1 ? last : (__mmask16)0xFFFF, acc[j][z]);
}

#define VALUES_CASE(HC, NZ) \
    case (HC) * 8 + (NZ): values_tile(scores, n, v, stride, out, d, c, j0, HC, NZ, last, bf16); break;

AVX512 static inline __attribute__((always_inline)) void values_avx512(const float *scores, int heads, int d, const void *v,
                                                                       long stride, int n, float *out, int bf16) {
    for (int c = 0; c < d; c += 64) {
        int w = d - c < 64 ? d - c : 64, nz = (w + 15) / 16;
        __mmask16 last = w % 16 ? (__mmask16)((1u << (w % 16)) - 1) : (__mmask16)0xFFFF;
        for (int j0 = 0; j0 < heads; j0 += 4) {
            int hc = heads - j0 < 4 ? heads - j0 : 4;
            switch (hc * 8 + nz) {
                VALUES_CASE(1, 1) VALUES_CASE(1, 2) VALUES_CASE(1, 3) VALUES_CASE(1, 4)
                VALUES_CASE(2, 1) VALUES_CASE(2, 2) VALUES_CASE(2, 3) VALUES_CASE(2, 4)
                VALUES_CASE(3, 1) VALUES_CASE(3, 2) VALUES_CASE(3, 3) VALUES_CASE(3, 4)
                VALUES_CASE(4, 1) VALUES_CASE(4, 2) VALUES_CASE(4, 3) VALUES_CASE(4, 4)
            }
        }
    }
}

// One specialisation per cache type, so each keeps its loads in registers.
AVX512 static void scores_f32(const float *q, int heads, int d, const void *k, const void *v, long stride, int n, float scale,
                              float *scores) { scores_avx512(q, heads, d, k, v, stride, n, scale, scores, 0); }
AVX512 static void scores_bf16(const float *q, int heads, int d, const void *k, const void *v, long stride, int n, float scale,
                               float *scores) { scores_avx512(q, heads, d, k, v, stride, n, scale, scores, 1); }
AVX512 static void values_f32(const float *scores, int heads, int d, const void *v, long stride, int n, float *out) {
    values_avx512(scores, heads, d, v, stride, n, out, 0);
}
AVX512 static void values_bf16(const float *scores, int heads, int d, const void *v, long stride, int n, float *out) {
    values_avx512(scores, heads, d, v, stride, n, out, 1);
}

// Scores over a bf16 cache with VDPBF16PS: qb holds the heads' queries as bf16, each padded with zeros to dp (a
// multiple of 32) values; a key row's last d % 32 values come through a masked load (no read past the row). Each
// instruction adds 16 pairs of exact products to 16 lanes, then 16 keys' lanes are summed in the tree of sum16.
// CH: dp / 32, a constant in the common cases so the query stays in registers.
AVX512BF16 static inline __attribute__((always_inline)) void scores_dp_bf16(const uint16_t *qb, int dp, int CH, int heads, int d,
                                                                           const uint16_t *k, const uint16_t *v, long stride,
                                                                           int n, float scale, float *scores) {
    __mmask32 tail = d % 32 ? (__mmask32)((1u << (d % 32)) - 1) : (__mmask32)0xFFFFFFFF;
    for (int t0 = 0; t0 < n; t0 += 16) {
        int count = n - t0 < 16 ? n - t0 : 16;
        for (int i = 0; i < count; i++) {
            ck_prefetch(k + (long)(t0 + 16 + i) * stride, 2 * d);
            ck_prefetch(v + (long)(t0 + i) * stride, 2 * d);
        }
        for (int j = 0; j < heads; j++) {
            const uint16_t *qj = qb + (long)j * dp;
            __m512 p[16];
            for (int i = 0; i < 16; i++) {
                __m512 a = _mm512_setzero_ps();
                if (i < count) {
                    const uint16_t *row = k + (long)(t0 + i) * stride;
                    for (int c = 0; c < CH; c++) {
                        __m512i kv = c < CH - 1 || d % 32 == 0 ? _mm512_loadu_si512(row + 32 * c)
                                                              : _mm512_maskz_loadu_epi16(tail, row + 32 * c);
                        a = _mm512_dpbf16_ps(a, (__m512bh)_mm512_loadu_si512(qj + 32 * c), (__m512bh)kv);
                    }
                }
                p[i] = a;
            }
            __mmask16 m = count == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << count) - 1);
            _mm512_mask_storeu_ps(scores + (long)j * n + t0, m, _mm512_mul_ps(sum16(p), _mm512_set1_ps(scale)));
        }
    }
}

AVX512BF16 static void scores_dp_bf16_any(const uint16_t *qb, int dp, int heads, int d, const uint16_t *k, const uint16_t *v,
                                          long stride, int n, float scale, float *scores) {
    switch (dp / 32) {
    case 2: scores_dp_bf16(qb, dp, 2, heads, d, k, v, stride, n, scale, scores); break;
    case 4: scores_dp_bf16(qb, dp, 4, heads, d, k, v, stride, n, scale, scores); break;
    default: scores_dp_bf16(qb, dp, dp / 32, heads, d, k, v, stride, n, scale, scores); break;
    }
}

// Element i of a cache (fp32 or bf16), as fp32.
static inline float element(const void *p, long i, int bf16) {
    return bf16 ? ck_bf16_value(((const uint16_t *)p)[i]) : ((const float *)p)[i];
}

// x rounded to bf16 (nearest even), as fp32.
static inline float rounded_bf16(float x) {
    uint16_t h;
    ck_f32_to_bf16_ref(&x, &h, 1);
    return ck_bf16_value(h);
}

// Over a bf16 cache (bf16 = 1) the query is rounded to bf16 first.
static void scores_portable(const float *q, int heads, int d, const void *k, long stride, int n, float scale, float *scores,
                            int bf16) {
    for (int j = 0; j < heads; j++)
        for (int t = 0; t < n; t++) {
            float s = 0;
            for (int c = 0; c < d; c++) {
                float qc = q[(long)j * d + c];
                s += (bf16 ? rounded_bf16(qc) : qc) * element(k, (long)t * stride + c, bf16);
            }
            scores[(long)j * n + t] = s * scale;
        }
}

static void values_portable(const float *scores, int heads, int d, const void *v, long stride, int n, float *out, int bf16) {
    for (int j = 0; j < heads; j++)
        for (int c = 0; c < d; c++) {
            float s = 0;
            for (int t = 0; t < n; t++) s += scores[(long)j * n + t] * element(v, (long)t * stride + c, bf16);
            out[(long)j * d + c] = s;
        }
}

void ck_attention_scores(const float *q, int heads, int d, const float *k, const float *v, long stride, int n, float scale,
                         float *scores) {
    if (ck_has_avx512()) scores_f32(q, heads, d, k, v, stride, n, scale, scores);
    else scores_portable(q, heads, d, k, stride, n, scale, scores, 0);
}

void ck_attention_values(const float *scores, int heads, int d, const float *v, long stride, int n, float *out) {
    if (ck_has_avx512()) values_f32(scores, heads, d, v, stride, n, out);
    else values_portable(scores, heads, d, v, stride, n, out, 0);
}

void ck_attention_scores_bf16(const float *q, int heads, int d, const uint16_t *k, const uint16_t *v, long stride, int n,
                              float scale, float *scores, int portable) {
    // portable: 0 the fastest path this CPU has, 1 the portable loops, 2 the fp32 kernel over widened values (what
    // AVX-512 CPUs without BF16 run; tests run it everywhere).
    int dp = (d + 31) / 32 * 32, avx512 = ck_has_avx512();
    int kernel = portable == 1 || dp > Q_ROUNDED || !avx512 ? 0 : portable == 2 ? 1 : ck_has_avx512bf16() ? 2 : 1;
    if (kernel == 0) { scores_portable(q, heads, d, k, stride, n, scale, scores, 1); return; }
    // The query rounded once per call: as bf16 for VDPBF16PS, widened back to fp32 for the fp32 kernel.
    uint16_t qb[Q_ROUNDED] __attribute__((aligned(64)));
    float qf[Q_ROUNDED] __attribute__((aligned(64)));
    int per = Q_ROUNDED / dp;
    for (int j0 = 0; j0 < heads; j0 += per) {
        int hc = heads - j0 < per ? heads - j0 : per;
        for (int j = 0; j < hc; j++) {
            uint16_t *dst = qb + (long)j * dp;
            ck_f32_to_bf16(q + (long)(j0 + j) * d, dst, d);
            for (int c = d; c < dp; c++) dst[c] = 0;
        }
        if (kernel == 2) {
            scores_dp_bf16_any(qb, dp, hc, d, k, v, stride, n, scale, scores + (long)j0 * n);
        } else {
            for (int j = 0; j < hc; j++) ck_bf16_to_f32(qb + (long)j * dp, qf + (long)j * d, d);
            scores_bf16(qf, hc, d, k, v, stride, n, scale, scores + (long)j0 * n);
        }
    }
}

void ck_attention_values_bf16(const float *scores, int heads, int d, const uint16_t *v, long stride, int n, float *out,
                              int portable) {
    if (!portable && ck_has_avx512()) values_bf16(scores, heads, d, v, stride, n, out);
    else values_portable(scores, heads, d, v, stride, n, out, 1);
}
