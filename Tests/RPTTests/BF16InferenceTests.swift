// bf16 inference weights (docs/kernels.md §4): the AVX-512 BF16 kernels against their portable reference loops,
// the bf16 products against exact fp32 within bf16's error bound, decode in bf16 against PyTorch's fp32 logits
// (Tests/Fixtures/models) within a bf16 tolerance (weights and KV cache in bf16, docs/kernels.md §8), prefill through the bf16 GEMM (docs/kernels.md §5) within bf16 rounding of fp32, and the
// copy following the parameters after an optimizer step.

import Foundation
import Testing
import CKernels
@testable import RPT
@testable import RPTKernels

private func bits(_ f: Float) -> UInt32 { f.bitPattern }
private func bf16ToFloat(_ h: UInt16) -> Float { Float(bitPattern: UInt32(h) << 16) }

/// One token at a time through a bf16 cache, as the backend makes for bf16 inference (every product has M = 1: the
/// bf16 GEMV path), logits of every position.
private func decodeLogits(_ model: Model, _ tokens: [Int]) throws -> [Float] {
    let cache = KVCache(config: model.config, slots: 1, capacity: tokens.count, storage: .bf16)
    let ws = ForwardWorkspace()
    var out: [Float] = []
    for t in tokens { out += try model.forward(ForwardBatch(decode: [t], slots: [0]), cache: cache, logits: .lastOfEachSegment, workspace: ws) }
    return out
}

@Suite(.enabled(if: MatmulBF16.isSupported, "needs AVX-512 BF16"))
struct BF16InferenceTests {
    @Test func conversionRoundsToNearestEvenLikeTheReference() {
        var rng = RandomGenerator(seed: 5)
        var xs: [Float] = (0..<4099).map { _ in Float(rng.nextUnit() * 2 - 1) * Float(pow(2.0, Double(Int(rng.next() % 40) - 20))) }
        // Exact ties (low half 0x8000) with even and odd kept halves, carries into the exponent, specials.
        xs += [Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000), Float(bitPattern: 0x3F7F_FFFF),
               Float(bitPattern: 0x7F7F_FFFF), 0, -0.0, .infinity, -.infinity, 1.0 / 3.0, -2.5e-3]
        var fast = [UInt16](repeating: 0, count: xs.count), ref = fast
        ck_f32_to_bf16(xs, &fast, xs.count)
        ck_f32_to_bf16_ref(xs, &ref, xs.count)
        #expect(fast == ref)
        // Against the definition: the nearest bf16, ties to even.
        #expect(fast[4099] == 0x3F80 && fast[4100] == 0x3F82 && fast[4101] == 0x3F80 && fast[4102] == 0x7F80)
        for (i, x) in xs.enumerated() where x.isFinite && abs(x) < 3e38 {
            let y = bf16ToFloat(fast[i])
            let ulp = Float(bitPattern: (bits(abs(x)) & 0x7F80_0000)) * Float(pow(2.0, -7.0))
            #expect(abs(y - x) <= ulp / 2, "element \(i): \(x) → \(y)")
        }
        var nan = [UInt16](repeating: 0, count: 1)
        ck_f32_to_bf16([Float.nan], &nan, 1)
        #expect(bf16ToFloat(nan[0]).isNaN)
    }

    @Test func gemmKernelEqualsPortableReference() {
        var rng = RandomGenerator(seed: 11)
        for (m, k, n) in [(1, 512, 33), (1, 100, 9), (1, 1408, 17), (2, 31, 9), (4, 64, 8), (7, 33, 13), (16, 1408, 20),
                          (40, 96, 11), (64, 65, 6)] {
            let x = (0..<(m * k)).map { _ in UInt16(truncatingIfNeeded: bits(Float(rng.nextUnit() * 2 - 1)) >> 16) }
            let w = (0..<(n * k)).map { _ in UInt16(truncatingIfNeeded: bits(Float(rng.nextUnit() * 2 - 1)) >> 16) }
            for accumulate: Int32 in [0, 1] {
                // Two row ranges, as threads split them.
                let start = (0..<(m * n)).map { Float($0 % 7) }
                var fast = start, ref = start
                for (n0, n1) in [(0, n / 2), (n / 2, n)] {
                    ck_gemm_nt_small_bf16(x, w, &fast, Int32(m), Int32(k), Int32(n), Int32(n0), Int32(n1), accumulate)
                    ck_gemm_nt_small_bf16_ref(x, w, &ref, Int32(m), Int32(k), Int32(n), Int32(n0), Int32(n1), accumulate)
                }
                // Same products (exact in fp32), different summation order: within fp32 rounding of the sums.
                #expect(maxAbsDiff(fast, ref) < 1e-4 * Float(k).squareRoot() + 1e-5, "M \(m) K \(k) N \(n)")
            }
        }
    }

    @Test func packedLayoutGivesTheSameProducts() {
        var rng = RandomGenerator(seed: 12)
        for (m, k, n) in [(1, 512, 33), (1, 64, 8), (1, 1408, 20), (1, 32, 71), (3, 64, 19), (4, 96, 40), (7, 160, 9), (64, 32, 17)] {
            #expect(MatmulBF16.packs(rows: n, columns: k))
            let x = (0..<(m * k)).map { _ in UInt16(truncatingIfNeeded: bits(Float(rng.nextUnit() * 2 - 1)) >> 16) }
            let w = (0..<(n * k)).map { _ in UInt16(truncatingIfNeeded: bits(Float(rng.nextUnit() * 2 - 1)) >> 16) }
            var packed = [UInt16](repeating: 0, count: n * k)
            ck_pack_bf16_rows8(w, &packed, Int32(n), Int32(k))
            // The layout: row r's chunk c of group g at g·8K + c·256 + r·32; rows after the last whole group row-major.
            for row in [0, 5, 8 * (n / 8) - 1, n - 1] where row >= 0 {
                for c in [0, k / 32 - 1] {
                    let at = row < n / 8 * 8 ? (row / 8) * 8 * k + c * 256 + (row % 8) * 32 : row * k + c * 32
                    #expect(Array(packed[at..<(at + 32)]) == Array(w[(row * k + c * 32)..<(row * k + c * 32 + 32)]), "N \(n) K \(k) row \(row)")
                }
            }
            for accumulate: Int32 in [0, 1] {
                let start = (0..<(m * n)).map { Float($0 % 5) }
                var fast = start, ref = start, plain = start
                // Row ranges that start inside a group, as a thread split could.
                for (n0, n1) in [(0, n / 3), (n / 3, n)] {
                    ck_gemm_nt_small_bf16_packed(x, packed, &fast, Int32(m), Int32(k), Int32(n), Int32(n), Int32(n0), Int32(n1), accumulate)
                    ck_gemm_nt_small_bf16_packed_ref(x, packed, &ref, Int32(m), Int32(k), Int32(n), Int32(n), Int32(n0), Int32(n1), accumulate)
                    ck_gemm_nt_small_bf16_ref(x, w, &plain, Int32(m), Int32(k), Int32(n), Int32(n0), Int32(n1), accumulate)
                }
                #expect(ref == plain, "the packed reference reads the same values in the same order: M \(m) K \(k) N \(n)")
                #expect(maxAbsDiff(fast, ref) < 1e-4 * Float(k).squareRoot() + 1e-5, "M \(m) K \(k) N \(n)")
            }
        }
        #expect(!MatmulBF16.packs(rows: 7, columns: 64) && !MatmulBF16.packs(rows: 64, columns: 48))
    }

    @Test(arguments: [1, 3, 8, 17, 64])
    func productsStayWithinBF16ErrorOfFP32(_ m: Int) {
        var rng = RandomGenerator(seed: UInt64(100 + m))
        let k = 200, n = 37
        let x = (0..<(m * k)).map { _ in Float(rng.nextUnit() * 2 - 1) }, w = (0..<(n * k)).map { _ in Float(rng.nextUnit() * 2 - 1) }
        var wb = [UInt16](repeating: 0, count: n * k)
        ck_f32_to_bf16(w, &wb, w.count)
        var y = [Float](repeating: 0, count: m * n)
        let scratch = UnsafeMutablePointer<UInt16>.allocate(capacity: m * k)
        defer { scratch.deallocate() }
        wb.withUnsafeBufferPointer { wp in MatmulBF16.nt(x, wp.baseAddress!, &y, M: m, N: n, K: k, scratch: scratch) }
        for i in 0..<m { for j in 0..<n {
            var exact = 0.0, magnitude = 0.0
            for t in 0..<k { exact += Double(x[i * k + t]) * Double(w[j * k + t]); magnitude += abs(Double(x[i * k + t] * w[j * k + t])) }
            // Each operand is off by at most 2^-9 relative, so each product by ≤ 2^-8 (+ fp32 summation).
            #expect(abs(Double(y[i * n + j]) - exact) <= magnitude * 0.0040 + 1e-5)
        } }
    }

    @Test(arguments: referenceModels)
    func decodeInBF16MatchesPyTorchWithinBF16Tolerance(_ name: String) throws {
        let r = try ModelReference(name)
        r.model.inferenceDType = .bf16
        let all = try r.ref.floats("logits")
        let seq = try r.sequence(0)
        let ours = try decodeLogits(r.model, seq)
        let theirs = Array(all[0..<(seq.count * r.vocab)])
        let scale = theirs.map { abs($0) }.max()!
        let err = maxAbsDiff(ours, theirs)
        print("\(name): bf16 decode, max abs logit error vs PyTorch fp32 \(err) (largest logit \(scale))")
        #expect(err <= 0.02 * scale + 1e-3, "\(name): \(err)")
        // The same positions' greedy tokens.
        var agree = 0
        for p in 0..<seq.count {
            let a = (0..<r.vocab).max { ours[p * r.vocab + $0] < ours[p * r.vocab + $1] }!
            let b = (0..<r.vocab).max { theirs[p * r.vocab + $0] < theirs[p * r.vocab + $1] }!
            if a == b { agree += 1 }
        }
        #expect(agree >= seq.count - 1, "\(name): greedy agreement \(agree)/\(seq.count)")
    }

    /// A decode step of several sequences (M = 8 rows per product: on AMX CPUs the AMX decode kernel, MatmulBF16.amxRows)
    /// stays within bf16 tolerance of PyTorch's fp32 logits for every sequence.
    @Test(arguments: ["qwen2_f32", "llama_f32"])
    func batchedDecodeInBF16MatchesPyTorchWithinBF16Tolerance(_ name: String) throws {
        let r = try ModelReference(name)
        r.model.inferenceDType = .bf16
        let seq = try r.sequence(0), slots = Array(0..<8)
        try #require(slots.count >= MatmulBF16.amxRows)
        let theirs = Array(try r.ref.floats("logits")[0..<(seq.count * r.vocab)])
        let scale = theirs.map { abs($0) }.max()!
        let cache = KVCache(config: r.model.config, slots: slots.count, capacity: seq.count, storage: .bf16)
        let ws = ForwardWorkspace()
        var perSlot = [[Float]](repeating: [], count: slots.count)
        for t in seq {
            let logits = try r.model.forward(ForwardBatch(decode: slots.map { _ in t }, slots: slots), cache: cache,
                                             logits: .lastOfEachSegment, workspace: ws)
            for s in slots { perSlot[s] += logits[(s * r.vocab)..<((s + 1) * r.vocab)] }
        }
        for s in slots {
            let err = maxAbsDiff(perSlot[s], theirs)
            #expect(err <= 0.02 * scale + 1e-3, "\(name), sequence \(s): \(err)")
        }
        // On AMX the batch ran other kernels than one sequence alone (same tolerance, different rounding).
        if GemmBF16.usesAMX { #expect(perSlot[0] != (try decodeLogits(r.model, seq))) }
    }

    /// Prefill-sized products (more than MatmulBF16.maxRows rows) run the bf16 GEMM on packed weights (GemmBF16): the
    /// logits are those of fp32 up to bf16 rounding, and their argmax mostly the same.
    @Test func prefillBeyondTheBF16RowLimitRunsTheBF16GEMM() throws {
        let r = try ModelReference("qwen2_f32")
        var rng = RandomGenerator(seed: 3)
        let n = MatmulBF16.maxRows + 1
        try #require(n <= r.model.config.maxPositions)
        let tokens = (0..<n).map { _ in Int(rng.next() % UInt64(r.vocab)) }
        let fp32 = try allLogits(r.model, tokens)
        r.model.inferenceDType = .bf16
        let bf16 = try allLogits(r.model, tokens)
        let err = relativeError(bf16, fp32)
        #expect(err > 0 && err <= 0.02, "bf16 prefill against fp32: relative error \(err)")
        let argmaxAgree = (0..<n).filter { i in
            let a = Array(bf16[(i * r.vocab)..<((i + 1) * r.vocab)]), b = Array(fp32[(i * r.vocab)..<((i + 1) * r.vocab)])
            return a.indices.max { a[$0] < a[$1] } == b.indices.max { b[$0] < b[$1] }
        }.count
        #expect(argmaxAgree >= n * 9 / 10, "argmax agrees at \(argmaxAgree) of \(n) positions")
        // A decode step in bf16 mode does differ (it reads the bf16 copy).
        r.model.inferenceDType = .fp32
        let d32 = try decodeLogits(r.model, Array(tokens.prefix(4)))
        r.model.inferenceDType = .bf16
        let d16 = try decodeLogits(r.model, Array(tokens.prefix(4)))
        #expect(d32 != d16)
    }

    @Test func bf16CopyFollowsAnOptimizerStep() throws {
        let model = try Model.load(path: Repo.fixtureModel("llama_f32"))
        model.inferenceDType = .bf16
        let tokens = [1, 5, 9, 2, 7]
        let before = try decodeLogits(model, tokens)
        // Change the weights in place through the optimizer.
        let grads = ParameterBuffer(specs: model.layout.specs)
        for i in 0..<grads.count { grads.base[i] = Float(i % 13) - 6 }
        let opt = try AdamW(params: model.params, grads: grads, lr: 1e-2)
        opt.step()
        let after = try decodeLogits(model, tokens)
        // A model made from the updated weights sees exactly what the stepped model sees.
        let fresh = Model(config: model.config, params: model.params.clone())
        fresh.inferenceDType = .bf16
        #expect(try decodeLogits(fresh, tokens) == after)
        #expect(after != before)
    }
}
