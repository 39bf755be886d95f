// swift-tools-version:6.0
// swift-rpt: Reinforcement Pre-Training (Dong et al., arXiv 2506.08007) in Swift.
//
// Targets, bottom to top:
//   COpenBLAS    Debian's OpenBLAS (cblas_sgemm) behind one thin module.
//   CKernels     C kernels with runtime CPU dispatch (AVX-512 / bf16 GEMV) and portable fallbacks.
//   CStdio       the status of C's stdout (a failed write must not exit 0).
//   RPTKernels   Swift SIMD kernels over unsafe buffers: the compute seam the model calls.
//   RPT          the library: I/O, model, tokenizers, generation, the RPT method.
//   rpt          the command-line tool.
import PackageDescription

// Swift SIMD only vectorises with an explicit target CPU (BENCHMARKS.md).
// haswell (AVX2 + FMA) is portable to every x86-64 machine we target; AVX-512 paths live in C with runtime dispatch.
#if arch(x86_64)
let kernelFlags: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-target-cpu", "haswell"])]
#else
let kernelFlags: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"])]
#endif

let package = Package(
    name: "swift-rpt",
    products: [
        .library(name: "RPT", targets: ["RPT"]),
        .executable(name: "rpt", targets: ["rpt"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .target(name: "CKernels", path: "Sources/CKernels",
                cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "RPTKernels", dependencies: ["COpenBLAS", "CKernels"], path: "Sources/RPTKernels",
                swiftSettings: kernelFlags),
        .target(name: "CStdio", path: "Sources/CStdio"),
        .target(name: "RPT", dependencies: ["RPTKernels", "CStdio"], path: "Sources/RPT"),
        .executableTarget(name: "rpt", dependencies: [
            "RPT", "RPTKernels", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Sources/rpt"),
        // Seeded mutation fuzzer of the loaders (scripts/fuzz.sh, docs/reliability.md).
        .executableTarget(name: "rpt-fuzz", dependencies: ["RPT"], path: "Sources/rpt-fuzz"),
        .testTarget(name: "RPTTests", dependencies: ["RPT", "RPTKernels"], path: "Tests/RPTTests",
                    exclude: [], resources: []),
    ]
)
