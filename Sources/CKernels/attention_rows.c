// Decode attention for the query heads that share one KV head (docs/kernels.md §7; GQA attention as in
// Attention.swift): scores s_j[t] = scale · q_j · k_t for every head j of the group and every cached key t, then,
// after the caller's softmax, out_j = Σ_t s_j[t] · v_t. AVX-512 with FMA: the scores of 16 keys are summed across
// their 16 partial vectors in one transposing tree (a dot product per key would end in a horizontal sum each), the
// keys of a 16-key block serve every head from L1, and the value rows are read once per block of up to 4 heads and
// 64 dimensions, the outputs held in registers. The cache rows of one KV head are d floats every `stride`, too
// short a run for the hardware prefetcher, so the next block's keys and this block's values are prefetched.
// Portable loops are the fallback; the Swift path (Attention.group) is the reference on CPUs without AVX-512.
#include "CKernels.h"
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512vl,fma")))

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

AVX512 static void scores_avx512(const float *q, int heads, int d, const float *k, const float *v, long stride, int n,
                                 float scale, float *scores) {
    __mmask16 tail = d % 16 ? (__mmask16)((1u << (d % 16)) - 1) : (__mmask16)0xFFFF;
    for (int t0 = 0; t0 < n; t0 += 16) {
        int count = n - t0 < 16 ? n - t0 : 16;
        for (int i = 0; i < count; i++) {
            ck_prefetch(k + (long)(t0 + 16 + i) * stride, 4 * d);
            ck_prefetch(v + (long)(t0 + i) * stride, 4 * d);
        }
        for (int j = 0; j < heads; j++) {
            const float *qj = q + (long)j * d;
            __m512 p[16];
            for (int i = 0; i < 16; i++) {
                __m512 a = _mm512_setzero_ps();
                if (i < count) {
                    const float *kr = k + (long)(t0 + i) * stride;
                    int c = 0;
                    for (; c + 16 <= d; c += 16) a = _mm512_fmadd_ps(_mm512_loadu_ps(qj + c), _mm512_loadu_ps(kr + c), a);
                    if (c < d) a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, qj + c), _mm512_maskz_loadu_ps(tail, kr + c), a);
                }
                p[i] = a;
            }
            __mmask16 m = count == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << count) - 1);
            _mm512_mask_storeu_ps(scores + (long)j * n + t0, m, _mm512_mul_ps(sum16(p), _mm512_set1_ps(scale)));
        }
    }
}

// HC heads (from j0) × NZ vectors of 16 dimensions (from c; the last one masked by `last`), over every key.
AVX512 static inline __attribute__((always_inline)) void values_tile(const float *scores, int n, const float *v, long stride,
                                                                     float *out, int d, int c, int j0, int HC, int NZ,
                                                                     __mmask16 last) {
    __m512 acc[4][4];
    for (int j = 0; j < HC; j++)
        for (int z = 0; z < NZ; z++) acc[j][z] = _mm512_setzero_ps();
    for (int t = 0; t < n; t++) {
        const float *vr = v + (long)t * stride + c;
        __m512 x[4];
        for (int z = 0; z < NZ; z++) x[z] = z == NZ - 1 ? _mm512_maskz_loadu_ps(last, vr + 16 * z) : _mm512_loadu_ps(vr + 16 * z);
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
    case (HC) * 8 + (NZ): values_tile(scores, n, v, stride, out, d, c, j0, HC, NZ, last); break;

AVX512 static void values_avx512(const float *scores, int heads, int d, const float *v, long stride, int n, float *out) {
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

void ck_attention_scores(const float *q, int heads, int d, const float *k, const float *v, long stride, int n, float scale,
                         float *scores) {
    if (ck_has_avx512()) { scores_avx512(q, heads, d, k, v, stride, n, scale, scores); return; }
    for (int j = 0; j < heads; j++)
        for (int t = 0; t < n; t++) {
            float s = 0;
            for (int c = 0; c < d; c++) s += q[(long)j * d + c] * k[(long)t * stride + c];
            scores[(long)j * n + t] = s * scale;
        }
}

void ck_attention_values(const float *scores, int heads, int d, const float *v, long stride, int n, float *out) {
    if (ck_has_avx512()) { values_avx512(scores, heads, d, v, stride, n, out); return; }
    for (int j = 0; j < heads; j++)
        for (int c = 0; c < d; c++) {
            float s = 0;
            for (int t = 0; t < n; t++) s += scores[(long)j * n + t] * v[(long)t * stride + c];
            out[(long)j * d + c] = s;
        }
}
