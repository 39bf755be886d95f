// The fast kernels against plain reference loops (the readable path they must equal), and the
// blocked-sgemm attention against the row-by-row path through the whole model.

import Foundation
import Testing
import CKernels
@testable import RPT
@testable import RPTKernels

private func randomArray(_ n: Int, _ rng: inout RandomGenerator, scale: Float = 1) -> [Float] {
    (0..<n).map { _ in Float(rng.nextUnit() * 2 - 1) * scale }
}

@Suite struct KernelTests {
    @Test(arguments: [1, 2, 3, 4, 5, 8, 13, 16, 17, 40])
    func matmulMatchesReference(_ m: Int) {
        var rng = RandomGenerator(seed: UInt64(m))
        let k = 67, n = 45
        let x = randomArray(m * k, &rng), w = randomArray(n * k, &rng)
        var y = [Float](repeating: 0, count: m * n)
        var ref = y
        Matmul.nt(x, w, &y, M: m, N: n, K: k)
        for i in 0..<m { for j in 0..<n {
            var s: Float = 0
            for t in 0..<k { s += x[i * k + t] * w[j * k + t] }
            ref[i * n + j] = s
        } }
        #expect(maxAbsDiff(y, ref) < 1e-4)
        // accumulate adds onto y
        Matmul.nt(x, w, &y, M: m, N: n, K: k, accumulate: true)
        #expect(maxAbsDiff(y, ref.map { 2 * $0 }) < 2e-4)
    }

    @Test func smallGemmKernelEqualsPortableReference() {
        var rng = RandomGenerator(seed: 9)
        for (m, k, n) in [(1, 512, 33), (1, 100, 50), (1, 2100, 9), (4, 100, 8), (7, 31, 9), (16, 1408, 20), (3, 4096, 11), (32, 512, 13)] {
            let x = randomArray(m * k, &rng), w = randomArray(n * k, &rng)
            var fast = [Float](repeating: 0, count: m * n), ref = fast
            ck_gemm_nt_small(x, w, &fast, Int32(m), Int32(k), Int32(n), 0, Int32(n), 0)
            ck_gemm_nt_small_ref(x, w, &ref, Int32(m), Int32(k), Int32(n), 0, Int32(n), 0)
            #expect(maxAbsDiff(fast, ref) < 1e-3, "M \(m), K \(k), N \(n)")
            // Rows split as threads split them (the prefetches stop at each range's end), accumulating onto y.
            var split = ref
            for (n0, n1) in [(0, n / 3), (n / 3, n)] {
                ck_gemm_nt_small(x, w, &split, Int32(m), Int32(k), Int32(n), Int32(n0), Int32(n1), 1)
            }
            #expect(maxAbsDiff(split, ref.map { 2 * $0 }) < 2e-3, "M \(m), K \(k), N \(n), split")
        }
    }

    /// The prefetching read `rpt bench` times for decode's bandwidth bound sums what it reads.
    @Test func streamSumAddsEveryValue() {
        var rng = RandomGenerator(seed: 4)
        for n in [0, 1, 63, 64, 1000, 100_003] {
            let x = randomArray(n, &rng)
            let exact = x.reduce(0.0) { $0 + Double($1) }
            let magnitude = x.reduce(0.0) { $0 + abs(Double($1)) }
            let s = x.withUnsafeBufferPointer { Vector.streamSum($0.baseAddress!, count: n) }
            #expect(abs(Double(s) - exact) <= 1e-5 * magnitude + 1e-6, "n \(n): \(s) vs \(exact)")
        }
    }

    @Test func vectorExpSoftmaxAndNormMatchScalar() {
        var rng = RandomGenerator(seed: 3)
        let xs = randomArray(1000, &rng, scale: 40)
        var e = xs
        e.withUnsafeMutableBufferPointer { _ = Vector.expShifted($0.baseAddress!, shift: 0, count: $0.count) }
        for i in 0..<xs.count {
            let r = Foundation.exp(xs[i])
            #expect(abs(e[i] - r) <= 1e-6 * r + 1e-30)
        }
        var s = Array(xs.prefix(77))
        s.withUnsafeMutableBufferPointer { Vector.softmax($0.baseAddress!, count: $0.count) }
        let m = xs.prefix(77).max()!
        let z = xs.prefix(77).reduce(0) { $0 + Foundation.exp(Double($1 - m)) }
        for i in 0..<77 { #expect(abs(Double(s[i]) - Foundation.exp(Double(xs[i] - m)) / z) < 1e-6) }
        #expect(abs(xs.prefix(77).withUnsafeBufferPointer { Vector.logSumExp($0.baseAddress!, count: 77) } - Float(Double(m) + Foundation.log(z))) < 1e-4)

        let row = randomArray(70, &rng), w = randomArray(70, &rng)
        var out = [Float](repeating: 0, count: 70)
        Vector.rmsNorm(row, w, &out, count: 70, eps: 1e-5)
        let r = 1 / (row.reduce(0) { $0 + $1 * $1 } / 70 + 1e-5).squareRoot()
        #expect(maxAbsDiff(out, (0..<70).map { row[$0] * r * w[$0] }) < 1e-5)

        let g = randomArray(50, &rng, scale: 10), u = randomArray(50, &rng)
        var sw = [Float](repeating: 0, count: 50)
        Vector.swiglu(g, u, &sw, count: 50)
        #expect(maxAbsDiff(sw, (0..<50).map { g[$0] / (1 + Foundation.exp(-g[$0])) * u[$0] }) < 1e-5)
    }

    /// Decode attention (query heads of a KV head together, over blocks of keys): the portable Swift path equals, bit for
    /// bit, the per-head loop it replaced (Vector.dot, softmax, Vector.axpy per key); it and the AVX-512 kernel lie within
    /// 1e-5 of a plain double-precision softmax(q·kᵀ/√d)·v; GQA and MHA shapes, groups of 1–5 heads, head sizes with and
    /// without a d % 64 and a d % 16 tail, one row (split per head) and many.
    @Test(arguments: [(8, 2, 64), (4, 4, 32), (6, 2, 80), (4, 1, 128), (10, 2, 72)])
    func rowAttentionEqualsPerHeadLoop(heads: Int, kvHeads: Int, headDim: Int) {
        let shape = AttentionHeads(heads: heads, kvHeads: kvHeads, headDim: headDim)
        var rng = RandomGenerator(seed: UInt64(heads * 1000 + headDim))
        for rows in [1, 3, 9] {
            let counts = (0..<rows).map { 1 + ($0 * 37 + 11) % 150 }   // 11 … 150 keys, crossing key blocks
            let caches = counts.map { (randomArray($0 * shape.kvDim, &rng), randomArray($0 * shape.kvDim, &rng)) }
            let q = randomArray(rows * shape.qDim, &rng, scale: 2)
            var out = [Float](repeating: .nan, count: rows * shape.qDim), fast = out
            let stored = caches.map { kv in
                (UnsafeMutablePointer<Float>.allocate(capacity: kv.0.count), UnsafeMutablePointer<Float>.allocate(capacity: kv.1.count))
            }
            defer { for (k, v) in stored { k.deallocate(); v.deallocate() } }
            for (i, kv) in caches.enumerated() { stored[i].0.initialize(from: kv.0, count: kv.0.count); stored[i].1.initialize(from: kv.1, count: kv.1.count) }
            let views = stored.enumerated().map { r, kv in KVView(keys: kv.0, values: kv.1, count: counts[r]) }
            q.withUnsafeBufferPointer { qp in
                out.withUnsafeMutableBufferPointer { op in
                    Attention.rows(q: qp.baseAddress!, out: op.baseAddress!, rows: rows, shape: shape, portable: true) { views[$0] }
                }
                fast.withUnsafeMutableBufferPointer { op in
                    Attention.rows(q: qp.baseAddress!, out: op.baseAddress!, rows: rows, shape: shape) { views[$0] }
                }
            }
            let d = headDim
            for r in 0..<rows {
                let (k, v) = caches[r], n = counts[r]
                for h in 0..<heads {
                    let g = h / shape.group, qh = Array(q[(r * shape.qDim + h * d)..<(r * shape.qDim + (h + 1) * d)])
                    // The per-head loop with the same kernels.
                    var scores = (0..<n).map { t in
                        Vector.dot(qh, Array(k[(t * shape.kvDim + g * d)...]), count: d) * shape.scale
                    }
                    Vector.softmax(&scores, count: n)
                    var expected = [Float](repeating: 0, count: d)
                    for t in 0..<n { Vector.axpy(&expected, scores[t], Array(v[(t * shape.kvDim + g * d)...]), count: d) }
                    let got = Array(out[(r * shape.qDim + h * d)..<(r * shape.qDim + (h + 1) * d)])
                    let gotFast = Array(fast[(r * shape.qDim + h * d)..<(r * shape.qDim + (h + 1) * d)])
                    #expect(got == expected, "rows \(rows), row \(r), head \(h)")
                    // Plain double precision.
                    let logits = (0..<n).map { t in (0..<d).reduce(0.0) { $0 + Double(qh[$1]) * Double(k[t * shape.kvDim + g * d + $1]) } / Double(d).squareRoot() }
                    let m = logits.max()!, w = logits.map { Foundation.exp($0 - m) }, z = w.reduce(0, +)
                    for i in 0..<d {
                        let ref = (0..<n).reduce(0.0) { $0 + w[$1] / z * Double(v[$1 * shape.kvDim + g * d + i]) }
                        #expect(abs(Double(got[i]) - ref) < 1e-5)
                        #expect(abs(Double(gotFast[i]) - ref) < 1e-5, "AVX-512 kernel: rows \(rows), row \(r), head \(h)")
                    }
                }
            }
        }
    }

    /// Decode attention over a bf16 cache (ck_attention_scores_bf16 / ck_attention_values_bf16), the query rounded to
    /// bf16: the fast kernel (VDPBF16PS, or the fp32 kernel over widened values on AVX-512 CPUs without BF16, then
    /// bit for bit the fp32 kernel over the widened cache and rounded query), the portable loops and the fp32 kernel
    /// over the widened cache lie within 1e-5 of double-precision attention over the rounded query, keys and values.
    /// Same shapes as above, tails of d % 16 and d % 32 included (read without touching the bytes past a row).
    @Test(arguments: [(8, 2, 64), (4, 4, 32), (6, 2, 80), (4, 1, 128), (10, 2, 72)])
    func rowAttentionOverABF16Cache(heads: Int, kvHeads: Int, headDim: Int) {
        let shape = AttentionHeads(heads: heads, kvHeads: kvHeads, headDim: headDim), d = headDim
        var rng = RandomGenerator(seed: UInt64(heads * 1000 + headDim + 7))
        for rows in [1, 3, 9] {
            let counts = (0..<rows).map { 1 + ($0 * 37 + 11) % 150 }
            // Each row's cache in its own exactly-sized allocation (the kernel's tail must not read past a row).
            let stored = counts.map { n -> (UnsafeMutablePointer<UInt16>, UnsafeMutablePointer<UInt16>) in
                let k = UnsafeMutablePointer<UInt16>.allocate(capacity: n * shape.kvDim)
                let v = UnsafeMutablePointer<UInt16>.allocate(capacity: n * shape.kvDim)
                ck_f32_to_bf16_ref(randomArray(n * shape.kvDim, &rng), k, n * shape.kvDim)
                ck_f32_to_bf16_ref(randomArray(n * shape.kvDim, &rng), v, n * shape.kvDim)
                return (k, v)
            }
            defer { for (k, v) in stored { k.deallocate(); v.deallocate() } }
            let wide = zip(stored, counts).map { kv, n in
                ((0..<(n * shape.kvDim)).map { ck_bf16_value(kv.0[$0]) }, (0..<(n * shape.kvDim)).map { ck_bf16_value(kv.1[$0]) })
            }
            let wideStored = wide.map { kv in
                let k = UnsafeMutablePointer<Float>.allocate(capacity: kv.0.count), v = UnsafeMutablePointer<Float>.allocate(capacity: kv.1.count)
                k.initialize(from: kv.0, count: kv.0.count); v.initialize(from: kv.1, count: kv.1.count)
                return (k, v)
            }
            defer { for (k, v) in wideStored { k.deallocate(); v.deallocate() } }
            let q = randomArray(rows * shape.qDim, &rng, scale: 2)
            // Over a bf16 cache the query is rounded to bf16 first: every product is then exact in fp32.
            var rounded = q
            rounded.withUnsafeMutableBufferPointer { Vector.roundToBF16($0.baseAddress!, count: $0.count) }
            #expect(rounded != q && zip(rounded, q).allSatisfy { abs($0 - $1) <= abs($1) / 256 })
            var fast = [Float](repeating: .nan, count: rows * shape.qDim), widened = fast, portable = fast
            let views = stored.enumerated().map { r, kv in KVView(bf16Keys: kv.0, values: kv.1, count: counts[r]) }
            let wideViews = wideStored.enumerated().map { r, kv in KVView(keys: kv.0, values: kv.1, count: counts[r]) }
            q.withUnsafeBufferPointer { qp in
                fast.withUnsafeMutableBufferPointer { op in
                    Attention.rows(q: qp.baseAddress!, out: op.baseAddress!, rows: rows, shape: shape) { views[$0] }
                }
                portable.withUnsafeMutableBufferPointer { op in
                    Attention.rows(q: qp.baseAddress!, out: op.baseAddress!, rows: rows, shape: shape, portable: true) { views[$0] }
                }
            }
            rounded.withUnsafeBufferPointer { qp in
                widened.withUnsafeMutableBufferPointer { op in
                    Attention.rows(q: qp.baseAddress!, out: op.baseAddress!, rows: rows, shape: shape) { wideViews[$0] }
                }
            }
            // Without AVX-512 BF16 the bf16 path is the fp32 kernel over the widened values: the same bits. With it,
            // VDPBF16PS sums the same exact products in pairs: equal within fp32 rounding (the bound below).
            if ck_has_avx512() != 0 && ck_has_avx512bf16() == 0 { #expect(fast == widened, "rows \(rows)") }
            for r in 0..<rows {
                let (k, v) = wide[r], n = counts[r]
                for h in 0..<heads {
                    let g = h / shape.group, qh = Array(rounded[(r * shape.qDim + h * d)..<(r * shape.qDim + (h + 1) * d)])
                    let logits = (0..<n).map { t in (0..<d).reduce(0.0) { $0 + Double(qh[$1]) * Double(k[t * shape.kvDim + g * d + $1]) } / Double(d).squareRoot() }
                    let m = logits.max()!, w = logits.map { Foundation.exp($0 - m) }, z = w.reduce(0, +)
                    for i in 0..<d {
                        let ref = (0..<n).reduce(0.0) { $0 + w[$1] / z * Double(v[$1 * shape.kvDim + g * d + i]) }
                        #expect(abs(Double(fast[r * shape.qDim + h * d + i]) - ref) < 1e-5, "rows \(rows), row \(r), head \(h)")
                        #expect(abs(Double(portable[r * shape.qDim + h * d + i]) - ref) < 1e-5, "portable: rows \(rows), row \(r), head \(h)")
                        #expect(abs(Double(widened[r * shape.qDim + h * d + i]) - ref) < 1e-5, "widened: rows \(rows), row \(r), head \(h)")
                    }
                }
            }
        }
    }

    /// The three score paths over a bf16 cache (ck_attention_scores_bf16): the fp32 kernel over widened values (what
    /// AVX-512 CPUs without BF16 run, forced here) equals, bit for bit, ck_attention_scores over the widened keys and the
    /// rounded query; it, VDPBF16PS (where the CPU has it) and the portable loops lie within fp32 rounding of double
    /// precision over the rounded values. Key counts around the 16-key blocks, d with tails of d % 32.
    @Test func scorePathsOverABF16Cache() {
        var rng = RandomGenerator(seed: 31)
        for (heads, d) in [(1, 32), (4, 64), (5, 72), (2, 80), (3, 128)] {
            for n in [1, 15, 16, 17, 150] {
                var kb = [UInt16](repeating: 0, count: n * d)
                ck_f32_to_bf16_ref(randomArray(n * d, &rng), &kb, n * d)
                let kw = kb.map { ck_bf16_value($0) }
                let q = randomArray(heads * d, &rng, scale: 2)
                var qr = q
                qr.withUnsafeMutableBufferPointer { Vector.roundToBF16($0.baseAddress!, count: $0.count) }
                let scale = 1 / Float(d).squareRoot()
                func scores(_ mode: Int32) -> [Float] {
                    var out = [Float](repeating: .nan, count: heads * n)
                    ck_attention_scores_bf16(q, Int32(heads), Int32(d), kb, kb, d, Int32(n), scale, &out, mode)
                    return out
                }
                var fp32 = [Float](repeating: .nan, count: heads * n)
                ck_attention_scores(qr, Int32(heads), Int32(d), kw, kw, d, Int32(n), scale, &fp32)
                let widened = scores(2), fastest = scores(0), portable = scores(1)
                if ck_has_avx512() != 0 { #expect(widened == fp32, "heads \(heads), d \(d), n \(n)") }
                for j in 0..<heads {
                    for t in 0..<n {
                        var exact = 0.0, magnitude = 0.0
                        for c in 0..<d {
                            let p = Double(qr[j * d + c]) * Double(kw[t * d + c])
                            exact += p; magnitude += abs(p)
                        }
                        exact *= Double(scale); magnitude *= Double(scale)
                        for (name, x) in [("widened", widened), ("fastest", fastest), ("portable", portable)] {
                            #expect(abs(Double(x[j * n + t]) - exact) <= 1e-6 * magnitude + 1e-7, "\(name): heads \(heads), d \(d), n \(n)")
                        }
                    }
                }
            }
        }
    }

    /// A long prompt (blocked sgemm attention) gives the same logits as feeding it token by token
    /// (the row path), for every position.
    @Test func blockedAttentionEqualsRowPath() throws {
        let model = try Model.load(path: Repo.fixtureModel("qwen3_f32"))
        var rng = RandomGenerator(seed: 5)
        let tokens = (0..<150).map { _ in Int(rng.next() % UInt64(model.config.vocabSize)) }
        let blocked = try allLogits(model, tokens)
        let cache = KVCache(config: model.config, slots: 1, capacity: tokens.count)
        var stepwise: [Float] = []
        for t in tokens {
            stepwise += try model.forward(ForwardBatch(decode: [t], slots: [0]), cache: cache, logits: .all)
        }
        #expect(maxAbsDiff(blocked, stepwise) < 1e-4)
    }

    /// A bf16 KV cache (docs/kernels.md §8): a long prompt through the blocked path (which reads a widened copy) gives
    /// the logits of feeding it token by token through the bf16 row kernels, with the sequence moved to another slot
    /// by copySlot midway; both differ from the fp32 cache's logits by bf16 rounding (more than the paths differ from
    /// each other, less than 2 % of the largest logit). A backend with bf16 inference weights makes bf16 caches.
    @Test func bf16CacheMatchesItsRowPathAndStaysNearFP32() throws {
        let model = try Model.load(path: Repo.fixtureModel("qwen3_f32"))
        var rng = RandomGenerator(seed: 9)
        let tokens = (0..<150).map { _ in Int(rng.next() % UInt64(model.config.vocabSize)) }
        let fp32 = try allLogits(model, tokens)
        let blocked = try allLogits(model, tokens, cache: .bf16)
        let cache = KVCache(config: model.config, slots: 3, capacity: tokens.count, storage: .bf16)
        #expect(cache.byteCount == 2 * model.config.numLayers * 3 * tokens.count * model.config.kvDim * 2)
        var stepwise: [Float] = []
        for t in tokens.prefix(100) {
            stepwise += try model.forward(ForwardBatch(decode: [t], slots: [0]), cache: cache, logits: .all)
        }
        cache.copySlot(from: 0, to: 2)
        for t in tokens.dropFirst(100) {
            stepwise += try model.forward(ForwardBatch(decode: [t], slots: [2]), cache: cache, logits: .all)
        }
        // The two paths' fp32 differences (sgemm against the row kernel, ~1e-5) can move a later layer's key or value
        // across a bf16 rounding boundary, one step of 2^-8 relative: hence 1e-3 here where fp32 caches agree within
        // 1e-4 (blockedAttentionEqualsRowPath), still far below the cache's own rounding (position 0 attends to one
        // value, so its logits move by that value's rounding: ~0.02 here).
        let scale = fp32.map { abs($0) }.max()!
        let rounding = maxAbsDiff(blocked, fp32)
        #expect(maxAbsDiff(blocked, stepwise) < 1e-3)
        #expect(maxAbsDiff(blocked, stepwise) < rounding / 10)
        #expect(rounding > 1e-3 && rounding < 0.02 * scale)

        let backend = CPUBackend(model: model)
        #expect((try backend.makeCache(slots: 1, capacity: 4) as? KVCache)?.storage == .fp32)
        if MatmulBF16.isSupported {
            model.inferenceDType = .bf16
            defer { model.inferenceDType = .fp32 }
            #expect((try backend.makeCache(slots: 1, capacity: 4) as? KVCache)?.storage == .bf16)
        }
    }

    @Test func argmaxIsTheFirstLargestNonNaNValue() {
        // Values from a small set so ties, ±0, -inf and NaN are common, at lengths around the 16-lane blocks and a
        // vocabulary's; the answer of a plain scan written here is what the kernel, its portable loop, topK(k: 1)
        // and greedy sampling must all give.
        var rng = RandomGenerator(seed: 21)
        let pool: [Float] = [-.infinity, -0.0, 0.0, 1, 2, 3, .nan, .infinity]
        var cases: [[Float]] = []
        for n in Array(0...40) + [47, 100, 32768] {
            for round in 0..<6 {
                var x = (0..<n).map { _ in round < 3 ? pool[Int(rng.next() % UInt64(pool.count))] : Float(rng.nextUnit() * 8 - 4) }
                if round == 4 { for i in x.indices where rng.nextUnit() < 0.7 { x[i] = .nan } }
                if round == 5, n > 0 { x = x.map { _ in .nan }; x[Int(rng.next() % UInt64(n))] = -.infinity }
                cases.append(x)
            }
        }
        cases.append([Float](repeating: .nan, count: 33))
        for x in cases {
            var expected: Int? = nil
            for (i, v) in x.enumerated() where !v.isNaN && (expected == nil || v > x[expected!]) { expected = i }
            x.withUnsafeBufferPointer { b in
                let p = b.baseAddress ?? UnsafePointer(bitPattern: 64)!
                #expect(Vector.argmax(p, count: x.count) == expected, "\(x)")
                #expect(Vector.argmax(p, count: x.count, portable: true) == expected)
                if !x.isEmpty {
                    #expect(Distribution.topK(p, vocab: x.count, k: 1).first == expected)
                    var g = RandomGenerator(seed: 1)
                    #expect(Sampler.sample(p, vocab: x.count, params: .greedy, rng: &g) == expected ?? 0)
                    #expect(Distribution.argmax(p, count: x.count) == (x[0].isNaN ? 0 : expected ?? 0))
                }
            }
        }
    }

    @Test func topKEntropyMatchesDefinition() {
        var rng = RandomGenerator(seed: 11)
        let logits = randomArray(500, &rng, scale: 5)
        let h = logits.withUnsafeBufferPointer { Distribution.topKEntropy($0.baseAddress!, vocab: 500, k: 16) }
        let top = logits.sorted(by: >).prefix(16)
        let z = top.reduce(0) { $0 + Foundation.exp(Double($1)) }
        let ref = -top.reduce(0.0) { acc, l in let p = Foundation.exp(Double(l)) / z; return acc + p * Foundation.log(p) }
        #expect(abs(Double(h) - ref) < 1e-5)
        // uniform logits: ln 16
        let flat = [Float](repeating: 0.5, count: 40)
        #expect(abs(flat.withUnsafeBufferPointer { Distribution.topKEntropy($0.baseAddress!, vocab: 40, k: 16) } - Float(Foundation.log(16.0))) < 1e-6)
    }
}
