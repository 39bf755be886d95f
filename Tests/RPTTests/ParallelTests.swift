// The kernels' thread pool (CKernels/thread_pool.c) and Parallel.forRange on it: every task index runs exactly once,
// the workers' writes are visible when a region returns, a region inside a task and regions started from several
// threads at once run elsewhere (Dispatch) and still give the right result, and worker counts may change between
// regions.

import Dispatch
import Foundation
import Testing
import CKernels
@testable import RPTKernels

@Suite struct ParallelTests {
    /// Each task adds 1 to its own counter.
    private static let countTask: @convention(c) (UnsafeMutableRawPointer?, Int32) -> Void = { ctx, i in
        ctx!.assumingMemoryBound(to: Int32.self)[Int(i)] += 1
    }

    @Test func poolRunsEveryTaskOnceWithAnyWorkerCount() {
        var ranSomewhere = 0
        for threads in [2, 3, 4, 8, 2] {
            for n in [2, 3, 7, 64, 1000] {
                for _ in 0..<20 {
                    var counts = [Int32](repeating: 0, count: n)
                    let ran = counts.withUnsafeMutableBufferPointer {
                        ck_pool_run(Int32(n), Int32(threads), Self.countTask, $0.baseAddress!)
                    }
                    // 0: the pool was busy with another test's region, and nothing ran.
                    #expect(counts == [Int32](repeating: ran != 0 ? 1 : 0, count: n), "threads \(threads), n \(n)")
                    ranSomewhere += Int(ran)
                }
            }
        }
        #expect(ranSomewhere > 0)
        var one: Int32 = 0
        #expect(ck_pool_run(1, 2, Self.countTask, &one) == 0 && one == 0)
        #expect(ck_pool_run(5, 1, Self.countTask, &one) == 0 && one == 0)
    }

    /// Sum of 0..<n by Parallel.forRange chunks into per-chunk slots.
    private func chunkedSum(_ n: Int, minChunk: Int = 1) -> Int {
        let slots = UnsafeMutablePointer<Int>.allocate(capacity: n + 1)
        slots.initialize(repeating: 0, count: n + 1)
        defer { slots.deallocate() }
        let box = UnsafeSendable(slots)
        Parallel.forRange(n, minChunk: minChunk) { lo, hi in
            var s = 0
            for i in lo..<hi { s += i }
            box.value[lo] = s
        }
        return (0...n).reduce(0) { $0 + slots[$1] }
    }

    @Test func forRangeCoversTheRangeNestedAndFromManyThreads() {
        for n in [0, 1, 2, 5, 100, 4097] { #expect(chunkedSum(n) == n * (n - 1) / 2) }
        // A region inside a region's task.
        let outer = UnsafeMutablePointer<Int>.allocate(capacity: 8)
        outer.initialize(repeating: -1, count: 8)
        defer { outer.deallocate() }
        let box = UnsafeSendable(outer)
        Parallel.forRange(8) { lo, hi in
            for i in lo..<hi { box.value[i] = chunkedSum(1000 + i) }
        }
        for i in 0..<8 { #expect(outer[i] == (1000 + i) * (999 + i) / 2) }
        // Regions from several threads at once, many times each.
        let wrong = UnsafeMutablePointer<Int>.allocate(capacity: 4)
        wrong.initialize(repeating: 0, count: 4)
        defer { wrong.deallocate() }
        let wrongBox = UnsafeSendable(wrong)
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            for r in 0..<300 {
                let n = 64 + (r * 7 + t) % 500
                if chunkedSum(n) != n * (n - 1) / 2 { wrongBox.value[t] += 1 }
            }
        }
        for t in 0..<4 { #expect(wrong[t] == 0, "thread \(t)") }
    }

    /// A product after OpenBLAS ran (ck_pool_nap sent the workers to sleep) still gets the workers back.
    @Test func regionsAfterANapStillRun() {
        for _ in 0..<50 {
            ck_pool_nap()
            #expect(chunkedSum(10_000) == 10_000 * 9_999 / 2)
        }
    }
}
