// C kernels with runtime CPU dispatch: small-M matrix products (decode, M ≤ 16) where BLAS sgemm is
// slow because it packs the whole weight matrix on every call. Each AVX-512 function is compiled with a
// function-level target attribute and chosen at run time; a portable C loop is the fallback and the
// reference the fast path is tested against. No compiler flags are needed.
#ifndef CKERNELS_H
#define CKERNELS_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Asks for the `bytes` from p (whole cache lines) to be brought into the caches; never faults. Inlined into Swift.
static inline void ck_prefetch(const void *p, int bytes) {
    for (int i = 0; i < bytes; i += 64) __builtin_prefetch((const char *)p + i, 0, 3);
}

/// 1 when the CPU has AVX-512F (the fast fp32 kernels), 0 otherwise.
int ck_has_avx512(void);
/// 1 when the CPU has AVX-512 BF16 (VDPBF16PS) and AVX-512 BW (the bf16 kernels need both).
int ck_has_avx512bf16(void);

/// y[m, n] (+)= sum_k x[m, k] * w[n, k] for rows n in [n0, n1) and all m < M (weights row-major [N, K]).
/// ldy is the row stride of y. When accumulate is 0, y is overwritten.
void ck_gemm_nt_small(const float *x, const float *w, float *y, int M, int K, int ldy, int n0, int n1, int accumulate);
/// The portable reference version of ck_gemm_nt_small.
void ck_gemm_nt_small_ref(const float *x, const float *w, float *y, int M, int K, int ldy, int n0, int n1, int accumulate);

/// The sum of x[0..<n], read as the decode kernels read weights (one stream with software prefetch): `rpt bench`
/// times it for the read bandwidth decode can reach.
float ck_stream_sum(const float *x, long n);

// The kernels' thread pool (thread_pool.c): runs fn(ctx, i) for i in 0..<n on the calling thread and threads - 1
// workers, and returns 1 when done; returns 0 without running anything when called from inside a task, while
// another thread's region runs, or with n or threads below 2.
typedef void (*ck_pool_task)(void *ctx, int i);
int ck_pool_run(int n, int threads, ck_pool_task fn, void *ctx);
// Idle workers stop spinning and sleep until the next region (called before OpenBLAS's threaded products).
void ck_pool_nap(void);

/// Decode attention of `heads` query heads q [heads, d] over the n cached rows of their KV head (key t at
/// k + t·stride, value t at v + t·stride): scores[j·n + t] = scale · q_j · k_t (AVX-512 where the CPU has it).
void ck_attention_scores(const float *q, int heads, int d, const float *k, const float *v, long stride, int n, float scale,
                         float *scores);
/// out[j·d + c] = Σ_t scores[j·n + t] · v[t·stride + c], the second half of ck_attention_scores after a softmax.
void ck_attention_values(const float *scores, int heads, int d, const float *v, long stride, int n, float *out);
/// ck_attention_scores over a bf16 cache (keys and values bf16, the same strides in elements), with q rounded to bf16
/// (nearest even) first, so every product is exact: VDPBF16PS on AVX-512 BF16 CPUs, the fp32 kernel over widened
/// values on other AVX-512 CPUs; `portable` 1 runs the portable loops even there, 2 the fp32 kernel over widened
/// values even on AVX-512 BF16 CPUs (tests compare them).
void ck_attention_scores_bf16(const float *q, int heads, int d, const uint16_t *k, const uint16_t *v, long stride, int n,
                              float scale, float *scores, int portable);
/// ck_attention_values over a bf16 cache.
void ck_attention_values_bf16(const float *scores, int heads, int d, const uint16_t *v, long stride, int n, float *out,
                              int portable);

/// The first index of the largest non-NaN value of x[0..<n] (greedy decoding's argmax), -1 when every value is NaN or
/// n is 0; `portable` runs the scalar scan even on AVX-512 CPUs (tests compare the two).
long ck_argmax(const float *x, long n, int portable);

/// bf16 (the upper 16 bits of an IEEE float, rounded to nearest even) from fp32: n values.
void ck_f32_to_bf16(const float *x, uint16_t *y, long n);
/// fp32 from bf16 (exact): n values.
void ck_bf16_to_f32(const uint16_t *x, float *y, long n);
/// One bf16 value as fp32 (exact).
static inline float ck_bf16_value(uint16_t h) {
    union { uint32_t u; float f; } b = { (uint32_t)h << 16 };
    return b.f;
}
/// The portable reference version of ck_f32_to_bf16.
void ck_f32_to_bf16_ref(const float *x, uint16_t *y, long n);
/// ck_gemm_nt_small with bf16 activations x [M, K] and bf16 weights w [N, K], accumulated in fp32 (VDPBF16PS when
/// the CPU has AVX-512 BF16, the reference loop otherwise).
void ck_gemm_nt_small_bf16(const uint16_t *x, const uint16_t *w, float *y, int M, int K, int ldy, int n0, int n1, int accumulate);
/// The portable reference version of ck_gemm_nt_small_bf16: fp32 sum of the bf16 products in k order.
void ck_gemm_nt_small_bf16_ref(const uint16_t *x, const uint16_t *w, float *y, int M, int K, int ldy, int n0, int n1, int accumulate);
/// 1 when a bf16 weight matrix [N, K] is stored packed (K a multiple of 32, at least one group of 8 rows).
int ck_bf16_packs(int N, int K);
/// The packed layout of a row-major bf16 matrix [N, K] (K a multiple of 32): rows in groups of 8, each group's
/// 32-value chunks interleaved (group g, chunk c, row r at g·8K + c·256 + r·32); rows after the last whole group
/// stay row-major. Same size and start as the row-major matrix; src and dst must not overlap.
void ck_pack_bf16_rows8(const uint16_t *src, uint16_t *dst, int N, int K);
/// ck_gemm_nt_small_bf16 over a packed weight matrix w [N, K]: rows n0..<n1 of y.
void ck_gemm_nt_small_bf16_packed(const uint16_t *x, const uint16_t *w, float *y, int M, int K, int N, int ldy, int n0, int n1, int accumulate);
/// The portable reference version of ck_gemm_nt_small_bf16_packed.
void ck_gemm_nt_small_bf16_packed_ref(const uint16_t *x, const uint16_t *w, float *y, int M, int K, int N, int ldy, int n0, int n1, int accumulate);

/// Register tile and cache blocks of ck_gemm_bf16 (rows × columns of C per tile; values of k per block; rows of A
/// per block).
#define CK_BF16_GEMM_MR 12
#define CK_BF16_GEMM_NR 32
#define CK_BF16_GEMM_KC 256
#define CK_BF16_GEMM_MC 480
/// 1 when ck_gemm_bf16 runs on AMX tiles (AMX-BF16 CPU, and Linux granted the process the tile state).
int ck_bf16_gemm_uses_amx(void);
/// Turns the AMX kernel off (1) or back on where available (0); tests compare the two kernels.
void ck_bf16_gemm_disable_amx(int disable);
/// Values (uint16) of a packed B [K, N] (ck_bf16_pack_b): panels of NR columns, ceil(K/2) pairs padded to 16 each.
long ck_bf16_packed_b_count(int K, int N);
/// Packs panels q0..<q1 of B [K, N] (element (k, j) at b[k·b_rs + j·b_cs]) as bf16 pairs along k for ck_gemm_bf16.
void ck_bf16_pack_b(const float *b, long b_rs, long b_cs, int K, int N, int q0, int q1, uint16_t *dst);
/// Values (uint16) of the scratch one ck_gemm_bf16 call needs for its blocks of A.
long ck_bf16_gemm_scratch_count(void);
/// C[i, j] (+)= Σ_k bf16(A[i, k]) · bf16(B[k, j]) in fp32 for i in [m0, m1), j in [n0, n1) (n0 a multiple of NR);
/// A [M, K] at a[i·a_rs + k·a_cs], B packed by ck_bf16_pack_b, C row-major with row stride ldc. scratch: 64-byte
/// aligned, ck_bf16_gemm_scratch_count values, or NULL for a buffer the calling thread keeps.
void ck_gemm_bf16(int M, int N, int K, const float *a, long a_rs, long a_cs, const uint16_t *bpacked, float *c, long ldc,
                  int m0, int m1, int n0, int n1, int accumulate, uint16_t *scratch);
/// Values (uint16) of the x buffer ck_gemm_bf16_rows reads for M rows of K values: rows padded with zeros to a
/// multiple of 16, K to a multiple of 32, stored as AMX A tiles (16 rows × 32 values, 1 KB each, one after another:
/// the tiles of rows 0–15 along k, then those of rows 16–31, ...).
long ck_bf16_rows_x_count(int M, int K);
/// x [M, K] (fp32, row-major) as that buffer: bf16 (round to nearest even), padding zero.
void ck_bf16_rows_pack_x(const float *x, int M, int K, uint16_t *dst);
/// y[i, j] (+)= Σ_k x[i, k] · B[k, j] in fp32 for all i < M, j in [n0, n1) (n0 a multiple of NR): x from
/// ck_bf16_rows_pack_x, B packed by ck_bf16_pack_b, y row-major with row stride ldy. For a few rows (decode): AMX
/// tiles streaming each panel of B once where ck_bf16_gemm_uses_amx, plain loops otherwise.
void ck_gemm_bf16_rows(const uint16_t *xa, int M, int K, const uint16_t *bpacked, float *y, long ldy, int n0, int n1,
                       int accumulate);
/// The reference: the same sum with plain loops over unpacked fp32 operands (B's (k, j) at b[k·b_rs + j·b_cs]).
void ck_gemm_bf16_ref(int M, int N, int K, const float *a, long a_rs, long a_cs, const float *b, long b_rs, long b_cs,
                      float *c, long ldc, int accumulate);

#ifdef __cplusplus
}
#endif
#endif
