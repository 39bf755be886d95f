// AMX tile state shared by the kernels that use it (Intel SDM vol. 1, "Intel Advanced Matrix Extensions"): the
// 64-byte tile configuration LDTILECFG reads, and the packed-B geometry of the bf16 GEMM (ck_bf16_pack_b).
#ifndef CK_AMX_TILES_H
#define CK_AMX_TILES_H
#include <stdint.h>

#define AMXBF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,fma,amx-tile,amx-bf16")))

typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} ck_tile_config;

// Pairs along k of a packed operand: ceil(K / 2), padded to a multiple of 16 (one AMX tile's rows).
static inline int ck_padded_pairs(int K) { return ((K + 1) / 2 + 15) / 16 * 16; }

#endif
