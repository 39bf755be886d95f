// Tokenizing many documents on all cores: an order-preserving parallel map over an index range.

import RPTKernels

enum DataParallel {
    /// [body(0), body(1), ..., body(count - 1)], computed in contiguous chunks on `Parallel.threads` threads.
    static func map<T>(_ count: Int, _ body: (Int) -> T) -> [T] {
        guard count > 0 else { return [] }
        let out = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
        out.initialize(repeating: nil)
        defer { out.deinitialize(); out.deallocate() }
        Parallel.forRange(count) { start, end in
            for i in start..<end { out[i] = body(i) }
        }
        return out.map { $0! }
    }
}
