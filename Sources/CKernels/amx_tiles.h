// AMX tile state shared by the kernels that use it (Intel SDM vol. 1, "Intel Advanced Matrix Extensions"): the
// 64-byte tile configuration LDTILECFG reads, and the packed-B geometry of the bf16 GEMM (ck_bf16_pack_b).
#ifndef CK_AMX_TILES_H
#define CK_AMX_TILES_H
#include <immintrin.h>
#include <stdint.h>

#define AMXBF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,fma,amx-tile,amx-bf16")))

typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} ck_tile_config;

// Every tile 16 rows of 64 bytes (16 × 16 fp32, 16 × 32 bf16), the shape both AMX kernels use.
AMXBF16 static inline void ck_amx_configure16(void) {
    ck_tile_config cfg;
    __builtin_memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) { cfg.rows[t] = 16; cfg.colsb[t] = 64; }
    _tile_loadconfig(&cfg);
}

// Pairs along k of a packed operand: ceil(K / 2), padded to a multiple of 16 (one AMX tile's rows).
static inline int ck_padded_pairs(int K) { return ((K + 1) / 2 + 15) / 16 * 16; }

// Rows 0..<rows of a block of C computed 32 columns wide (row stride 32, as the tiles were stored) into c (row stride
// ldc): its first `cols` columns, added to what c holds when `accumulate`.
AMXBF16 static inline void ck_store_block32(const float *block, float *c, long ldc, int rows, int cols, int accumulate) {
    __mmask16 m0 = cols >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
    __mmask16 m1 = cols >= 32 ? (__mmask16)0xFFFF : (__mmask16)(cols > 16 ? (1u << (cols - 16)) - 1 : 0);
    for (int i = 0; i < rows; i++) {
        float *row = c + (long)i * ldc;
        __m512 v0 = _mm512_load_ps(block + i * 32), v1 = _mm512_load_ps(block + i * 32 + 16);
        if (accumulate) {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, row));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, row + 16));
        }
        _mm512_mask_storeu_ps(row, m0, v0);
        _mm512_mask_storeu_ps(row + 16, m1, v1);
    }
}

#endif
