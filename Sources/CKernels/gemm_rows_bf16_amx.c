// Decode-sized bf16 products on AMX (docs/kernels.md §7): y[M, N] (+)= x[M, K] · B for 1–64 rows of x, a batch of
// sequences decoded together, B the bf16 GEMM's packed weights (ck_bf16_pack_b of Wᵀ, panels of NR columns with
// bf16 pairs along k). The large GEMM (gemm_bf16.c) blocks k in KC steps and pads A to 32 rows, which is right for
// prefill; for a handful of rows it read the weights at 12 GB/s. Here each NR-column panel is read front to back
// over all of k as one prefetched stream, the panels of a thread's range one after another, so the weights flow
// from memory once per call like the GEMV's (§3), and the 16 × 16 tiles of x (rows padded with zeros to 16) are
// reused from L1 by every panel, each stored as one contiguous 1 KB tile (a row-major x, 1 KB or more between two
// rows, made the 16-row tile loads slower). Rows beyond 32 run a second pass over the same panel, then in cache.
// For k ≤ KC the tile products are the GEMM's, in the same order (tests compare the two bit for bit).
#include "CKernels.h"
#include "amx_tiles.h"
#include <immintrin.h>
#include <string.h>

enum { NR = CK_BF16_GEMM_NR };
_Static_assert(NR == 32, "ck_store_block32 writes blocks of 32 columns");

// How far ahead (bytes) the panel stream is prefetched: 4 steps of 16 pairs × NR columns.
#define ROWS_PREFETCH 8192

long ck_bf16_rows_x_count(int M, int K) { return (long)((M + 15) / 16 * 16) * ck_padded_pairs(K) * 2; }

// Where pair p of row i lies in the x buffer: tile (i / 16, p / 16), row i % 16 of it, pair p % 16 of that row.
static inline long x_offset(int i, int p, int KPP) {
    return (((long)(i / 16) * (KPP / 16) + p / 16) * 16 + i % 16) * 32 + (p % 16) * 2;
}

void ck_bf16_rows_pack_x(const float *x, int M, int K, uint16_t *dst) {
    int KPP = ck_padded_pairs(K), rows = (M + 15) / 16 * 16;
    for (int i = 0; i < rows; i++)
        for (int p = 0; p < KPP; p += 16) {
            uint16_t *d = dst + x_offset(i, p, KPP);
            int k0 = 2 * p, n = i < M && k0 < K ? (K - k0 < 32 ? K - k0 : 32) : 0;
            if (n > 0) ck_f32_to_bf16(x + (long)i * K + k0, d, n);
            memset(d + n, 0, (size_t)(32 - n) * sizeof(uint16_t));
        }
}

static inline float bf16_float(uint32_t h) {
    uint32_t u = h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// Without AMX: the same sums with plain loops, the pairs of each output in k order.
static void rows_portable(const uint16_t *xa, int M, int K, const uint32_t *bp, float *y, long ldy, int n0, int n1,
                          int accumulate) {
    int KPP = ck_padded_pairs(K);
    for (int i = 0; i < M; i++)
        for (int j = n0; j < n1; j++) {
            const uint32_t *col = bp + (long)(j / NR) * KPP * NR + j % NR;
            float s = 0;
            for (int p = 0; p < KPP; p++) {
                uint32_t w = col[(long)p * NR];
                const uint16_t *xp = xa + x_offset(i, p, KPP);
                s += bf16_float(xp[0]) * bf16_float(w & 0xFFFF) + bf16_float(xp[1]) * bf16_float(w >> 16);
            }
            float *dst = y + (long)i * ldy + j;
            *dst = accumulate ? *dst + s : s;
        }
}

// Tiles 0-3: C, rows 0-15 / 16-31 of the pass × columns 0-15 / 16-31 of the panel; 4-5: x, the pass's two 16-row
// blocks; 6-7: the panel's two 16-column halves, 16 pairs each.
AMXBF16 static void rows_amx(const uint16_t *xa, int M, int K, const uint32_t *bp, float *y, long ldy, int n0, int n1,
                             int accumulate) {
    int KPP = ck_padded_pairs(K), blocks = (M + 15) / 16;
    long tiles = (long)KPP / 16 * 1024;   // bytes of x per 16-row block
    const char *end = (const char *)(bp + (long)((n1 + NR - 1) / NR) * KPP * NR);
    float out[32 * NR] __attribute__((aligned(64)));
    ck_amx_configure16();
    for (int q = n0 / NR; q * NR < n1; q++) {
        const uint32_t *panel = bp + (long)q * KPP * NR;
        int cols = n1 - q * NR < NR ? n1 - q * NR : NR;
        for (int b = 0; b < blocks; b += 2) {
            int two = b + 1 < blocks;
            const char *x0 = (const char *)xa + (long)b * tiles, *x1 = x0 + tiles;
            _tile_zero(0);
            _tile_zero(1);
            if (two) { _tile_zero(2); _tile_zero(3); }
            for (int p = 0; p < KPP; p += 16) {
                const uint32_t *chunk = panel + (long)p * NR;
                if (b == 0) {
                    const char *ahead = (const char *)chunk + ROWS_PREFETCH;
                    if (ahead < end)
                        for (int l = 0; l < 16 * NR * 4 / 64; l++) _mm_prefetch(ahead + 64 * l, _MM_HINT_T0);
                }
                _tile_loadd(6, chunk, NR * 4);
                _tile_loadd(7, chunk + 16, NR * 4);
                _tile_loadd(4, x0 + (long)p * 64, 64);
                _tile_dpbf16ps(0, 4, 6);
                _tile_dpbf16ps(1, 4, 7);
                if (two) {
                    _tile_loadd(5, x1 + (long)p * 64, 64);
                    _tile_dpbf16ps(2, 5, 6);
                    _tile_dpbf16ps(3, 5, 7);
                }
            }
            _tile_stored(0, out, NR * 4);
            _tile_stored(1, out + 16, NR * 4);
            if (two) {
                _tile_stored(2, out + 16 * NR, NR * 4);
                _tile_stored(3, out + 16 * NR + 16, NR * 4);
            }
            ck_store_block32(out, y + (long)b * 16 * ldy + q * NR, ldy, M - b * 16 < 32 ? M - b * 16 : 32, cols, accumulate);
        }
    }
    _tile_release();
}

void ck_gemm_bf16_rows(const uint16_t *xa, int M, int K, const uint16_t *bpacked, float *y, long ldy, int n0, int n1,
                       int accumulate) {
    if (M <= 0 || n0 >= n1) return;
    if (ck_bf16_gemm_uses_amx()) rows_amx(xa, M, K, (const uint32_t *)bpacked, y, ldy, n0, n1, accumulate);
    else rows_portable(xa, M, K, (const uint32_t *)bpacked, y, ldy, n0, n1, accumulate);
}
