// Debian's OpenBLAS (libopenblas-dev): only the CBLAS entry points the kernels use.
#include <cblas.h>
