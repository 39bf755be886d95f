// Work splitting over the machine's cores. Kernels split their outer loop into `Parallel.threads`
// contiguous chunks, run on the kernels' thread pool (CKernels/thread_pool.c, docs/kernels.md §11); tiny problems
// run inline so thread hand-off never dominates.

import Dispatch
import Foundation
import CKernels
import COpenBLAS

public enum Parallel {
    /// Threads used by our kernels and by OpenBLAS (default: active processors, or RPT_THREADS). Its first use also
    /// gives OpenBLAS its AVX-512 kernels where it fell back to generic ones (`openBLASCore`).
    nonisolated(unsafe) public private(set) static var threads: Int = {
        openBLASUpgraded = rpt_openblas_upgrade_generic_core(ck_has_avx512(), ck_has_avx512bf16()) != 0
        let env = ProcessInfo.processInfo.environment["RPT_THREADS"].flatMap(Int.init) ?? 0
        let n = env > 0 ? env : ProcessInfo.processInfo.activeProcessorCount
        openblas_set_num_threads(Int32(n))
        return n
    }()

    nonisolated(unsafe) private static var openBLASUpgraded = false

    /// The kernels OpenBLAS runs ("Cooperlake", "Zen", ...), and whether swift-rpt chose them because OpenBLAS did not
    /// know this CPU and fell back to its generic SSE3 kernels.
    public static var openBLASCore: (name: String, upgraded: Bool) {
        _ = threads
        return (openblas_get_corename().map { String(cString: $0) } ?? "unknown", openBLASUpgraded)
    }

    public static func setThreads(_ n: Int) {
        threads = max(1, n)
        openblas_set_num_threads(Int32(threads))
    }

    /// Calls body(start, end) over `threads` contiguous chunks of 0..<n (inline when work is small).
    /// `minChunk` is the smallest chunk worth a thread.
    @inlinable
    public static func forRange(_ n: Int, minChunk: Int = 1, _ body: (Int, Int) -> Void) {
        let t = min(threads, max(1, n / max(minChunk, 1)))
        if t <= 1 { body(0, n); return }
        withoutActuallyEscaping(body) { body in
            // The thread pool (ck_pool_run, docs/kernels.md §11); Dispatch when it is busy or this is a nested region.
            var region = Region(n: n, t: t, body: body)
            let ran = withUnsafeMutablePointer(to: &region) { ck_pool_run(Int32(t), Int32(threads), Region.task, $0) }
            if ran != 0 { return }
            let box = UnsafeSendable(body)
            DispatchQueue.concurrentPerform(iterations: t) { i in
                box.value(n * i / t, n * (i + 1) / t)
            }
        }
    }

    /// One `forRange` region as the thread pool sees it: chunk i of t is body(n·i/t, n·(i+1)/t).
    @usableFromInline
    struct Region {
        @usableFromInline let n: Int, t: Int
        @usableFromInline let body: (Int, Int) -> Void
        @usableFromInline init(n: Int, t: Int, body: @escaping (Int, Int) -> Void) { self.n = n; self.t = t; self.body = body }
        @usableFromInline static let task: @convention(c) (UnsafeMutableRawPointer?, Int32) -> Void = { ctx, i in
            let r = ctx!.assumingMemoryBound(to: Region.self).pointee
            let i = Int(i)
            r.body(r.n * i / r.t, r.n * (i + 1) / r.t)
        }
    }

    /// `forRange` over several pieces laid end to end (counts[i] units each, e.g. the row groups of several products):
    /// each thread gets one range of the total and calls body(piece, lo, hi) for the part [lo, hi) of every piece that
    /// range covers, pieces in order.
    public static func forPieces(_ counts: [Int], minChunk: Int = 1, _ body: (Int, Int, Int) -> Void) {
        forRange(counts.reduce(0, +), minChunk: minChunk) { u0, u1 in
            var base = 0
            for (i, count) in counts.enumerated() {
                let lo = max(u0, base) - base, hi = min(u1, base + count) - base
                if lo < hi { body(i, lo, hi) }
                base += count
            }
        }
    }
}

/// Carries a non-Sendable value (a closure over raw pointers) into `concurrentPerform`, whose chunks
/// never touch the same memory.
public struct UnsafeSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}
