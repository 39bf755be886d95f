// Debian's OpenBLAS (libopenblas-dev): the CBLAS entry points the kernels use, and the choice of its kernels.
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

// OpenBLAS (a DYNAMIC_ARCH build, as Debian's) picks its kernels by CPU model when it loads. A build older than the
// CPU does not know the model and falls back to "Prescott", SSE3 kernels: on an Emerald Rapids Xeon (model 207),
// Debian 12's OpenBLAS 0.3.21 runs sgemm at 30 GFLOP/s on 2 cores instead of 140 (docs/kernels.md §1). When that
// happened and the CPU has AVX-512, this selects OpenBLAS's AVX-512 kernels as OPENBLAS_CORETYPE would (Cooperlake
// with AVX-512 BF16, else SkylakeX). A user's OPENBLAS_CORETYPE always wins. Returns 1 when it switched. Call it
// before the first BLAS product.
void gotoblas_dynamic_init(void) __attribute__((weak));
void gotoblas_dynamic_quit(void) __attribute__((weak));

static inline int rpt_openblas_upgrade_generic_core(int avx512, int avx512bf16) {
    if (getenv("OPENBLAS_CORETYPE") || !avx512 || !gotoblas_dynamic_init || !gotoblas_dynamic_quit) return 0;
    const char *core = openblas_get_corename();
    if (!core || strcmp(core, "Prescott") != 0) return 0;
    setenv("OPENBLAS_CORETYPE", avx512bf16 ? "Cooperlake" : "SkylakeX", 1);
    gotoblas_dynamic_quit();
    gotoblas_dynamic_init();
    return 1;
}
