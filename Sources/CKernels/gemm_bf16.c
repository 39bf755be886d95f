// Large GEMM with bf16 operands and fp32 accumulation, C (+)= A · B, for bf16 training (docs/kernels.md §5).
// Both operands are rounded to bf16 (round to nearest even) while they are packed, and VDPBF16PS multiplies pairs
// of bf16 values along k and accumulates in fp32 (Intel SDM, "VDPBF16PS"): the arithmetic of PyTorch's bf16
// matmul under autocast, at twice the fp32 FMA rate. The blocking is Goto's (Goto & van de Geijn, "Anatomy of
// High-Performance Matrix Multiplication", 2008): a KC × NR panel of B stays in L1, an MC × KC block of A in L2,
// and a tile of C is computed from them by one of two kernels, chosen at run time: AMX (Intel's tile unit,
// TDPBF16PS on 16 × 16 fp32 tiles; a 32 × 32 block of C in four tiles) where the CPU and the kernel offer it, else
// AVX-512 BF16 (VDPBF16PS; 12 × 32 accumulators in 24 zmm registers, one broadcast pair of A and two vectors of B
// pairs per step along k). Both read the same packed operands.
//
// Packed B (ck_bf16_pack_b): panels of NR columns; in panel q, pair p (k = 2p, 2p + 1) holds NR 32-bit words,
// word j = bf16(B[2p, j]) | bf16(B[2p + 1, j]) << 16 (zero past K or N; pairs padded to a multiple of 16). This
// is AMX's "VNNI" layout for B tiles. Weights are packed once per optimizer step and reused by every product that
// reads them. A is packed per block inside ck_gemm_bf16, from either layout of its source (rows contiguous along
// k, or along i: then 16 × 16 blocks of pair words are transposed), into rows of pairs: word (i, p) at i·KCP + p,
// the layout of AMX's A tiles. The portable reference is ck_gemm_bf16_ref.
#include "CKernels.h"
#include "amx_tiles.h"
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#define AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,fma")))

enum { MR = CK_BF16_GEMM_MR, NR = CK_BF16_GEMM_NR, KC = CK_BF16_GEMM_KC, KCP = KC / 2, MC = CK_BF16_GEMM_MC };
_Static_assert(NR == 32, "ck_store_block32 writes blocks of 32 columns");

static inline float bf16_value(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) u |= 0x00400000u;
    else u += 0x7FFFu + ((u >> 16) & 1u);
    u &= 0xFFFF0000u;
    memcpy(&f, &u, 4);
    return f;
}

void ck_gemm_bf16_ref(int M, int N, int K, const float *a, long a_rs, long a_cs, const float *b, long b_rs, long b_cs,
                      float *c, long ldc, int accumulate) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float s = 0;
            for (int k = 0; k < K; k++) s += bf16_value(a[i * a_rs + k * a_cs]) * bf16_value(b[k * b_rs + j * b_cs]);
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + s : s;
        }
}

long ck_bf16_packed_b_count(int K, int N) { return (long)((N + NR - 1) / NR) * NR * ck_padded_pairs(K) * 2; }

// Words of 16 columns j..j+15 (the first `cols`) of rows k and k+1 (row k+1 zero when has1 is 0), row stride ldk,
// columns contiguous.
AVX512BF16 static inline __m512i pair_words_rows(const float *r0, const float *r1, int cols, int has1) {
    __mmask16 m = cols >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
    __m512 v0 = _mm512_maskz_loadu_ps(m, r0);
    __m512 v1 = has1 ? _mm512_maskz_loadu_ps(m, r1) : _mm512_setzero_ps();
    __m512i lo = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(v0));
    __m512i hi = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(v1));
    return _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
}

// 32 values along k from p (the first `left`, rest zero) as 16 pair words.
AVX512BF16 static inline __m512i pair_words_run(const float *p, int left) {
    __mmask16 m0 = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)(left > 0 ? (1u << left) - 1 : 0);
    __mmask16 m1 = left >= 32 ? (__mmask16)0xFFFF : (__mmask16)(left > 16 ? (1u << (left - 16)) - 1 : 0);
    __m512 lo = _mm512_maskz_loadu_ps(m0, p), hi = _mm512_maskz_loadu_ps(m1, p + 16);
    return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

// 16 × 16 32-bit words: r[i] lane j becomes r[j] lane i.
AVX512BF16 static inline void transpose16(__m512i r[16]) {
    __m512i t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        r[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++) {
            t[8 * i + j] = _mm512_shuffle_i32x4(r[8 * i + j], r[8 * i + j + 4], 0x88);
            t[8 * i + j + 4] = _mm512_shuffle_i32x4(r[8 * i + j], r[8 * i + j + 4], 0xdd);
        }
    for (int j = 0; j < 8; j++) {
        r[j] = _mm512_shuffle_i32x4(t[j], t[j + 8], 0x88);
        r[j + 8] = _mm512_shuffle_i32x4(t[j], t[j + 8], 0xdd);
    }
}

AVX512BF16 static void pack_b_avx512(const float *b, long b_rs, long b_cs, int K, int N, int q0, int q1, uint32_t *dst) {
    int KP = (K + 1) / 2, KPP = ck_padded_pairs(K);
    for (int q = q0; q < q1; q++) {
        uint32_t *panel = dst + (long)q * KPP * NR;
        memset(panel + (long)KP * NR, 0, (size_t)(KPP - KP) * NR * 4);
        int j0 = q * NR, cols = N - j0 < NR ? N - j0 : NR;
        if (b_cs == 1) {
            for (int p = 0; p < KP; p++) {
                const float *r0 = b + (long)(2 * p) * b_rs + j0;
                int has1 = 2 * p + 1 < K;
                for (int h = 0; h < NR; h += 16) {
                    int left = cols - h;
                    __m512i w = left > 0 ? pair_words_rows(r0 + h, r0 + b_rs + h, left, has1) : _mm512_setzero_si512();
                    _mm512_storeu_si512((void *)(panel + (long)p * NR + h), w);
                }
            }
        } else {
            // Columns contiguous along k (b_rs == 1): 16 pairs of 16 columns are 16 runs of 32 values, one per
            // column; transposing that 16 × 16 block of words gives each pair's 16 columns.
            __m512i w[16];
            for (int h = 0; h < NR; h += 16)
                for (int p = 0; p < KPP; p += 16) {
                    for (int t = 0; t < 16; t++)
                        w[t] = h + t < cols ? pair_words_run(b + (long)(j0 + h + t) * b_cs + 2 * p, K - 2 * p)
                                            : _mm512_setzero_si512();
                    transpose16(w);
                    for (int t = 0; t < 16; t++) _mm512_storeu_si512((void *)(panel + (long)(p + t) * NR + h), w[t]);
                }
        }
    }
}

static inline uint32_t pair_word(float x0, float x1) {
    uint32_t u0, u1;
    float r0 = bf16_value(x0), r1 = bf16_value(x1);
    memcpy(&u0, &r0, 4);
    memcpy(&u1, &r1, 4);
    return (u0 >> 16) | (u1 & 0xFFFF0000u);
}

static void pack_b_ref(const float *b, long b_rs, long b_cs, int K, int N, int q0, int q1, uint32_t *dst) {
    int KPP = ck_padded_pairs(K);
    for (int q = q0; q < q1; q++)
        for (int p = 0; p < KPP; p++)
            for (int j = 0; j < NR; j++) {
                int col = q * NR + j;
                float x0 = col < N && 2 * p < K ? b[(long)(2 * p) * b_rs + (long)col * b_cs] : 0;
                float x1 = col < N && 2 * p + 1 < K ? b[(long)(2 * p + 1) * b_rs + (long)col * b_cs] : 0;
                dst[((long)q * KPP + p) * NR + j] = pair_word(x0, x1);
            }
}

void ck_bf16_pack_b(const float *b, long b_rs, long b_cs, int K, int N, int q0, int q1, uint16_t *dst) {
    static int has = -1;
    if (has < 0) has = ck_has_avx512bf16();
    if (has && (b_cs == 1 || b_rs == 1)) pack_b_avx512(b, b_rs, b_cs, K, N, q0, q1, (uint32_t *)dst);
    else pack_b_ref(b, b_rs, b_cs, K, N, q0, q1, (uint32_t *)dst);
}

// A block of mc rows × kc values (from row i0, column k0) as rows of pair words, word (i, p) at i·KCP + p; rows
// padded with zeros to a multiple of `row_pad`, pairs to a multiple of 16.
AVX512BF16 static void pack_a_block(const float *a, long a_rs, long a_cs, int i0, int mc, int k0, int kc, int row_pad,
                                    uint32_t *ap) {
    int kpp = ck_padded_pairs(kc), rows = (mc + row_pad - 1) / row_pad * row_pad;
    if (a_cs == 1) {
        for (int i = 0; i < rows; i++) {
            uint32_t *dst = ap + (long)i * KCP;
            if (i >= mc) { memset(dst, 0, (size_t)kpp * 4); continue; }
            const float *src = a + (long)(i0 + i) * a_rs + k0;
            for (int k = 0; k < 2 * kpp; k += 32) _mm512_storeu_si512((void *)(dst + k / 2), pair_words_run(src + k, kc - k));
        }
    } else {
        // a_rs == 1: rows are contiguous along i. Sixteen pairs of 16 rows come from two runs of 16 values each;
        // transposing that 16 × 16 block of words gives the rows' runs of 16 pairs.
        __m512i w[16];
        for (int i = 0; i < rows; i += 16)
            for (int p = 0; p < kpp; p += 16) {
                for (int t = 0; t < 16; t++) {
                    int k = 2 * (p + t), left = mc - i;
                    w[t] = k < kc && left > 0
                               ? pair_words_rows(a + (long)(k0 + k) * a_cs + i0 + i, a + (long)(k0 + k + 1) * a_cs + i0 + i,
                                                 left, k + 1 < kc)
                               : _mm512_setzero_si512();
                }
                transpose16(w);
                for (int t = 0; t < 16; t++) _mm512_storeu_si512((void *)(ap + (long)(i + t) * KCP + p), w[t]);
            }
    }
}

// The AVX-512 register tile: MR rows × NR columns of C from kp pairs, A as rows of pairs (word (i, p) at i·KCP + p).
AVX512BF16 static void tile_avx512(const uint32_t *a, const uint32_t *b, float *c, long ldc, int kp, int mr, int nr,
                                   int accumulate) {
    __m512 acc[MR][2];
    for (int i = 0; i < MR; i++) { acc[i][0] = _mm512_setzero_ps(); acc[i][1] = _mm512_setzero_ps(); }
    for (int p = 0; p < kp; p++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512((const void *)(b + (long)p * NR));
        __m512bh b1 = (__m512bh)_mm512_loadu_si512((const void *)(b + (long)p * NR + 16));
        for (int i = 0; i < MR; i++) {
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)a[i * KCP + p]);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], av, b0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], av, b1);
        }
    }
    __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);
    __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF : (__mmask16)(nr > 16 ? (1u << (nr - 16)) - 1 : 0);
    for (int i = 0; i < mr; i++) {
        float *row = c + (long)i * ldc;
        __m512 v0 = acc[i][0], v1 = acc[i][1];
        if (accumulate) {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, row));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, row + 16));
        }
        _mm512_mask_storeu_ps(row, m0, v0);
        _mm512_mask_storeu_ps(row + 16, m1, v1);
    }
}

// AMX: tiles 0-3 hold a 32 × 32 block of C (rows 0-15 / 16-31 × columns 0-15 / 16-31), tiles 4-5 two 16-row
// slices of A and tiles 6-7 two 16-column slices of B, each 16 rows of 64 bytes (16 pairs along k).
enum { AMX_MR = 32 };

// Linux gives a process AMX's tile state only after it asks (arch_prctl ARCH_REQ_XCOMP_PERM for XTILEDATA).
static int amx_available(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    if (!(edx & (1u << 22)) || !(edx & (1u << 24))) return 0; // AMX-BF16, AMX-TILE
    return syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) == 0;
}

static int amx_enabled = -1;

// RPT_NO_AMX=1 in the environment keeps the AVX-512 kernel (to compare the two, or to rule AMX out).
int ck_bf16_gemm_uses_amx(void) {
    if (amx_enabled < 0) {
        const char *off = getenv("RPT_NO_AMX");
        amx_enabled = !(off && *off && strcmp(off, "0") != 0) && ck_has_avx512bf16() && amx_available();
    }
    return amx_enabled;
}

void ck_bf16_gemm_disable_amx(int disable) {
    if (disable) amx_enabled = 0;
    else { amx_enabled = -1; (void)ck_bf16_gemm_uses_amx(); }
}

AMXBF16 static void tile_amx(const uint32_t *a, const uint32_t *b, float *c, long ldc, int kpp, int mr, int nr,
                             int accumulate) {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    for (int p = 0; p < kpp; p += 16) {
        _tile_loadd(4, a + p, KCP * 4);
        _tile_loadd(5, a + 16 * KCP + p, KCP * 4);
        _tile_loadd(6, b + (long)p * NR, NR * 4);
        _tile_loadd(7, b + (long)p * NR + 16, NR * 4);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    float out[AMX_MR * NR] __attribute__((aligned(64)));
    _tile_stored(0, out, NR * 4);
    _tile_stored(1, out + 16, NR * 4);
    _tile_stored(2, out + 16 * NR, NR * 4);
    _tile_stored(3, out + 16 * NR + 16, NR * 4);
    ck_store_block32(out, c, ldc, mr, nr, accumulate);
}

long ck_bf16_gemm_scratch_count(void) { return (long)MC * KC; }

AMXBF16 static void gemm_blocks(int K, const float *a, long a_rs, long a_cs, const uint32_t *bp, float *c, long ldc,
                                int m0, int m1, int n0, int n1, int accumulate, uint32_t *ap, int amx) {
    int KPP = ck_padded_pairs(K), mr_tile = amx ? AMX_MR : MR;
    if (amx) ck_amx_configure16();
    for (int pc = 0; pc < K; pc += KC) {
        int kc = K - pc < KC ? K - pc : KC;
        for (int ic = m0; ic < m1; ic += MC) {
            int mc = m1 - ic < MC ? m1 - ic : MC;
            pack_a_block(a, a_rs, a_cs, ic, mc, pc, kc, mr_tile, ap);
            for (int jc = n0; jc < n1; jc += NR) {
                const uint32_t *b = bp + ((long)(jc / NR) * KPP + pc / 2) * NR;
                int nr = n1 - jc < NR ? n1 - jc : NR;
                for (int ir = 0; ir < mc; ir += mr_tile) {
                    int mr = mc - ir < mr_tile ? mc - ir : mr_tile;
                    float *ct = c + (long)(ic + ir) * ldc + jc;
                    if (amx) tile_amx(ap + (long)ir * KCP, b, ct, ldc, ck_padded_pairs(kc), mr, nr, accumulate || pc > 0);
                    else tile_avx512(ap + (long)ir * KCP, b, ct, ldc, (kc + 1) / 2, mr, nr, accumulate || pc > 0);
                }
            }
        }
    }
    if (amx) _tile_release();
}

// The same blocks with plain loops (CPUs without AVX-512 BF16): per KC block, the pairs' products summed in order.
static void gemm_portable(int K, const float *a, long a_rs, long a_cs, const uint32_t *bp, float *c, long ldc,
                          int m0, int m1, int n0, int n1, int accumulate) {
    int KPP = ck_padded_pairs(K);
    for (int i = m0; i < m1; i++)
        for (int j = n0; j < n1; j++) {
            float total = accumulate ? c[(long)i * ldc + j] : 0;
            for (int pc = 0; pc < K; pc += KC) {
                float s = 0;
                int pend = ((pc + KC < K ? pc + KC : K) + 1) / 2;
                for (int p = pc / 2; p < pend; p++) {
                    uint32_t w = bp[((long)(j / NR) * KPP + p) * NR + j % NR], lo = w << 16, hi = w & 0xFFFF0000u;
                    float b0, b1, x1 = 2 * p + 1 < K ? a[(long)i * a_rs + (long)(2 * p + 1) * a_cs] : 0;
                    memcpy(&b0, &lo, 4);
                    memcpy(&b1, &hi, 4);
                    s += bf16_value(a[(long)i * a_rs + (long)(2 * p) * a_cs]) * b0 + bf16_value(x1) * b1;
                }
                total += s;
            }
            c[(long)i * ldc + j] = total;
        }
}

void ck_gemm_bf16(int M, int N, int K, const float *a, long a_rs, long a_cs, const uint16_t *bpacked, float *c, long ldc,
                  int m0, int m1, int n0, int n1, int accumulate, uint16_t *scratch) {
    (void)M;
    (void)N;
    if (m0 >= m1 || n0 >= n1) return;
    if (K == 0) {
        if (!accumulate)
            for (int i = m0; i < m1; i++) memset(c + (long)i * ldc + n0, 0, (size_t)(n1 - n0) * sizeof(float));
        return;
    }
    if (ck_has_avx512bf16() && (a_cs == 1 || a_rs == 1)) {
        // Each thread keeps its own block buffer (MC × KC values, 64-byte aligned) for the life of the thread.
        static __thread uint16_t *own;
        if (!scratch) {
            if (!own && posix_memalign((void **)&own, 64, (size_t)MC * KC * sizeof(uint16_t)) != 0) own = NULL;
            scratch = own;
        }
        if (scratch) {
            gemm_blocks(K, a, a_rs, a_cs, (const uint32_t *)bpacked, c, ldc, m0, m1, n0, n1, accumulate, (uint32_t *)scratch,
                        ck_bf16_gemm_uses_amx());
            return;
        }
    }
    gemm_portable(K, a, a_rs, a_cs, (const uint32_t *)bpacked, c, ldc, m0, m1, n0, n1, accumulate);
}
