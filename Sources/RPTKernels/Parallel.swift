// Work splitting over the machine's cores. Kernels split their outer loop into `Parallel.threads`
// contiguous chunks; tiny problems run inline so thread hand-off never dominates.

import Dispatch
import Foundation
import COpenBLAS

public enum Parallel {
    /// Threads used by our kernels and by OpenBLAS (default: active processors, or RPT_THREADS).
    nonisolated(unsafe) public private(set) static var threads: Int = {
        let env = ProcessInfo.processInfo.environment["RPT_THREADS"].flatMap(Int.init) ?? 0
        let n = env > 0 ? env : ProcessInfo.processInfo.activeProcessorCount
        openblas_set_num_threads(Int32(n))
        return n
    }()

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
            let box = UnsafeSendable(body)
            DispatchQueue.concurrentPerform(iterations: t) { i in
                box.value(n * i / t, n * (i + 1) / t)
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
