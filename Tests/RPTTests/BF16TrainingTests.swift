// bf16 training (`--train-dtype bf16`): the bf16 GEMM against its plain-loop reference (both kernels, AMX where the
// CPU has it and AVX-512 BF16; both layouts of each operand; ragged shapes; accumulation) and independent of how
// threads split it; the loss and every gradient of a bf16 step against PyTorch's bf16 autocast
// (Tests/Fixtures/models/*/autocast_bf16.safetensors, scripts/make_autocast_fixtures.py) within bf16 tolerances;
// the kept logits against recomputed ones; and pretrain / RPT train resumes bit for bit with the option stored.

import CKernels
import Foundation
import Testing
@testable import RPT
@testable import RPTKernels

private func randomMatrix(_ count: Int, _ rng: inout RandomGenerator) -> [Float] {
    (0..<count).map { _ in Float(rng.nextUnit() * 2 - 1) }
}

/// Trains with bf16 products on every model of the PyTorch autocast fixtures.
private let autocastModels = ["qwen3_f32", "llama_rope_llama3", "qwen2_bf16_tied"]

@Suite(.serialized, .enabled(if: GemmBF16.isSupported)) struct BF16TrainingTests {
    /// Shapes (M, N, K) with ragged edges against every tile size, K odd and K past one cache block.
    static let shapes = [(1, 1, 1), (5, 33, 7), (37, 45, 67), (13, 70, 300), (97, 31, 64), (200, 96, 513), (480, 64, 32)]

    @Test(arguments: [true, false]) func gemmMatchesTheReference(_ amx: Bool) throws {
        if amx && !GemmBF16.usesAMX { return }   // AMX-less CPU: the AVX-512 case below covers it
        GemmBF16.setAMX(enabled: amx)
        defer { GemmBF16.setAMX(enabled: true) }
        var rng = RandomGenerator(seed: 11)
        for (M, N, K) in Self.shapes {
            let a = randomMatrix(M * K, &rng), b = randomMatrix(K * N, &rng), c0 = randomMatrix(M * N, &rng)
            for (aRowMajor, bRowMajor, accumulate) in [(true, true, false), (false, false, true), (true, false, true), (false, true, false)] {
                // A [M, K] stored row-major or transposed; B [K, N] likewise.
                let (ars, acs) = aRowMajor ? (K, 1) : (1, M), (brs, bcs) = bRowMajor ? (N, 1) : (1, K)
                var ours = c0, ref = c0
                let packed = b.withUnsafeBufferPointer {
                    PackedBF16Matrix($0.baseAddress!, rows: K, columns: N, rowStride: brs, columnStride: bcs)
                }
                a.withUnsafeBufferPointer { ap in
                    ours.withUnsafeMutableBufferPointer {
                        GemmBF16.multiply(ap.baseAddress!, rowStride: ars, columnStride: acs, packed, $0.baseAddress!, ldc: N,
                                          M: M, accumulate: accumulate)
                    }
                    b.withUnsafeBufferPointer { bp in
                        ck_gemm_bf16_ref(Int32(M), Int32(N), Int32(K), ap.baseAddress!, ars, acs, bp.baseAddress!, brs, bcs,
                                         &ref, N, accumulate ? 1 : 0)
                    }
                }
                // The sums differ only in order: within fp32 rounding of Σ|a·b| ≤ K (all |x| ≤ 1).
                let tol = Float(K) * 4e-7 + 1e-6
                #expect(maxAbsDiff(ours, ref) <= tol, "M \(M) N \(N) K \(K) A rows \(aRowMajor) B rows \(bRowMajor): \(maxAbsDiff(ours, ref))")
                // Really bf16: the operands' rounding shows against the fp32 product.
                if M == 37 {
                    var exact = c0
                    for i in 0..<M { for j in 0..<N {
                        var s: Float = 0
                        for k in 0..<K { s += a[i * ars + k * acs] * b[k * brs + j * bcs] }
                        exact[i * N + j] = (accumulate ? exact[i * N + j] : 0) + s
                    } }
                    #expect(maxAbsDiff(ours, exact) > 1e-4)
                }
            }
        }
    }

    /// Every element of C is summed in one order whatever the split: rows or column panels in any pieces give the
    /// same bits as one call (so the thread count never changes a training run).
    @Test func splitsGiveTheSameBits() throws {
        var rng = RandomGenerator(seed: 3)
        let (M, N, K) = (200, 100, 300)
        let a = randomMatrix(M * K, &rng), b = randomMatrix(K * N, &rng)
        let packed = b.withUnsafeBufferPointer { PackedBF16Matrix($0.baseAddress!, rows: K, columns: N, rowStride: N, columnStride: 1) }
        func run(_ pieces: [(Int, Int, Int, Int)]) -> [Float] {
            var c = [Float](repeating: 0, count: M * N)
            a.withUnsafeBufferPointer { ap in
                c.withUnsafeMutableBufferPointer { cp in
                    for (m0, m1, n0, n1) in pieces {
                        ck_gemm_bf16(Int32(M), Int32(N), Int32(K), ap.baseAddress!, K, 1, packed.values, cp.baseAddress!, N,
                                     Int32(m0), Int32(m1), Int32(n0), Int32(n1), 0, nil)
                    }
                }
            }
            return c
        }
        let whole = run([(0, M, 0, N)])
        #expect(run([(0, 96, 0, N), (96, M, 0, N)]) == whole)
        #expect(run([(0, M, 0, 64), (0, M, 64, N)]) == whole)
    }

    /// The decode-sized kernel (ck_gemm_bf16_rows, `GemmBF16.multiplyRows`) against the plain-loop reference on fp32
    /// operands, AMX and the portable path, rows 1–64 with ragged row blocks, columns with panel tails, K odd and past
    /// one GEMM block, accumulating or not; on AMX with K ≤ the GEMM's block, the same bits as the GEMM (the same tile
    /// products in the same order); and several products fused in one call equal to separate calls.
    @Test(arguments: [true, false]) func decodeRowsKernelMatchesTheReference(_ amx: Bool) throws {
        if amx && !GemmBF16.usesAMX { return }
        GemmBF16.setAMX(enabled: amx)
        defer { GemmBF16.setAMX(enabled: true) }
        var rng = RandomGenerator(seed: 21)
        for (M, N, K) in [(1, 40, 64), (3, 33, 7), (8, 96, 512), (16, 128, 96), (17, 70, 300), (40, 45, 256), (64, 64, 513)] {
            let x = randomMatrix(M * K, &rng), w = randomMatrix(N * K, &rng), y0 = randomMatrix(M * N, &rng)
            // W [N, K] as a linear layer stores it; the packs hold Wᵀ [K, N].
            let packed = w.withUnsafeBufferPointer {
                PackedBF16Matrix($0.baseAddress!, rows: K, columns: N, rowStride: 1, columnStride: K)
            }
            var scratch = [UInt16](repeating: 0xFFFF, count: GemmBF16.rowsScratchCount(rows: M, columns: K))
            for accumulate in [false, true] {
                var ours = y0, ref = y0, gemm = y0
                x.withUnsafeBufferPointer { xp in
                    ours.withUnsafeMutableBufferPointer { yp in
                        scratch.withUnsafeMutableBufferPointer {
                            GemmBF16.multiplyRows(xp.baseAddress!, [(packed, yp.baseAddress!)], M: M, K: K, accumulate: accumulate,
                                                  scratch: $0.baseAddress!)
                        }
                    }
                    w.withUnsafeBufferPointer { wp in
                        ck_gemm_bf16_ref(Int32(M), Int32(N), Int32(K), xp.baseAddress!, K, 1, wp.baseAddress!, 1, K, &ref, N,
                                         accumulate ? 1 : 0)
                    }
                    gemm.withUnsafeMutableBufferPointer {
                        GemmBF16.multiply(xp.baseAddress!, rowStride: K, columnStride: 1, packed, $0.baseAddress!, ldc: N, M: M,
                                          accumulate: accumulate, threaded: false)
                    }
                }
                let tol = Float(K) * 4e-7 + 1e-6
                #expect(maxAbsDiff(ours, ref) <= tol, "M \(M) N \(N) K \(K) amx \(amx): \(maxAbsDiff(ours, ref))")
                if amx && K <= Int(CK_BF16_GEMM_KC) {
                    #expect(ours == gemm, "M \(M) N \(N) K \(K): not the GEMM's bits")
                }
            }
            // Fused: this product and a second one of the same x (another width) in one call, split across threads.
            let n2 = N / 2 + 5, w2 = randomMatrix(n2 * K, &rng)
            let packed2 = w2.withUnsafeBufferPointer {
                PackedBF16Matrix($0.baseAddress!, rows: K, columns: n2, rowStride: 1, columnStride: K)
            }
            var a = [Float](repeating: 0, count: M * N), b = [Float](repeating: 0, count: M * n2)
            var a1 = a, b1 = b
            x.withUnsafeBufferPointer { xp in
                scratch.withUnsafeMutableBufferPointer { sp in
                    a.withUnsafeMutableBufferPointer { ap in
                        b.withUnsafeMutableBufferPointer { bp in
                            GemmBF16.multiplyRows(xp.baseAddress!, [(packed, ap.baseAddress!), (packed2, bp.baseAddress!)], M: M, K: K,
                                                  scratch: sp.baseAddress!)
                        }
                    }
                    a1.withUnsafeMutableBufferPointer {
                        GemmBF16.multiplyRows(xp.baseAddress!, [(packed, $0.baseAddress!)], M: M, K: K, scratch: sp.baseAddress!)
                    }
                    b1.withUnsafeMutableBufferPointer {
                        GemmBF16.multiplyRows(xp.baseAddress!, [(packed2, $0.baseAddress!)], M: M, K: K, scratch: sp.baseAddress!)
                    }
                }
            }
            #expect(a == a1 && b == b1, "M \(M) N \(N) K \(K): fused products differ from separate ones")
        }
    }

    @Test(arguments: autocastModels) func lossAndGradientsMatchPyTorchAutocast(_ name: String) throws {
        let g = try GradientCase(name)
        let autocast = try SafeTensorsFile(path: Repo.fixtureModel(name) + "/autocast_bf16.safetensors")
        g.model.trainingDType = .bf16
        let backend = try g.model.backend()
        try backend.zeroGradients()
        let tape = try backend.trainForward(g.batch)
        let loss = zip(tape.logProbs, g.weights).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        let refLoss = try autocast.floats("loss")[0], fp32Loss = try g.ref.floats("loss")[0]
        // PyTorch's autocast loss is itself 1e-4..1.5e-3 from fp32 on these models.
        #expect(abs(loss - refLoss) / abs(refLoss) <= 3e-3, "\(name): loss \(loss) vs autocast \(refLoss) (fp32 \(fp32Loss))")
        #expect(loss != fp32Loss)
        try backend.backward(tape, gradLogProbs: g.weights)
        let grads = try backend.downloadGradients()
        var worst: (Float, String) = (0, ""), worstAutocastVsFP32: Float = 0
        for spec in g.model.layout.specs {
            let ours = grads.values(spec.name), theirs = try autocast.floats("grad." + spec.name)
            let fp32 = try g.ref.floats("grad." + spec.name)
            let err = relativeError(ours, theirs)
            worstAutocastVsFP32 = max(worstAutocastVsFP32, relativeError(theirs, fp32))
            if err > worst.0 { worst = (err, spec.name) }
            // bf16 keeps 8 bits of mantissa (relative rounding 2^-9); gradients pass through many rounded products.
            #expect(err <= 0.06, "\(name) \(spec.name): relative gradient error \(err) against autocast")
            #expect(relativeError(ours, fp32) <= 0.06, "\(name) \(spec.name): relative gradient error against fp32")
        }
        print("\(name): bf16 loss \(loss) (autocast \(refLoss), fp32 \(fp32Loss)); worst gradient error against autocast "
              + "\(worst.0) in \(worst.1); autocast against fp32 \(worstAutocastVsFP32)")
    }

    /// The backward pass reads the logits the forward pass kept (in place when nearly every row has a weight, copying
    /// the rows that have one otherwise); recomputing them (the path for batches whose logits do not fit) gives the
    /// same gradients.
    @Test(arguments: [false, true]) func keptLogitsGiveTheGradientsOfRecomputedOnes(_ sparse: Bool) throws {
        let g = try GradientCase("qwen2_f32")
        g.model.trainingDType = .bf16
        // Every position with a target weighted (in place), or every other one (copied rows).
        let weights = g.batch.targets.indices.map { i in sparse && i % 2 == 1 ? 0 : g.weights[i] == 0 ? -0.01 : g.weights[i] }
        func gradients(keep: Bool) throws -> [Float] {
            g.model.keptLogitsValues = keep ? 1 << 24 : 0
            let backend = try g.model.backend()
            try backend.zeroGradients()
            let tape = try backend.trainForward(g.batch, temperature: 0.8)
            #expect(((tape as? ForwardTape)?.keptLogits != nil) == keep)
            try backend.backward(tape, gradLogProbs: weights)
            return Array(try backend.downloadGradients().buffer)
        }
        #expect(relativeError(try gradients(keep: true), try gradients(keep: false)) <= 1e-5)
    }

    @Test func pretrainResumesBitExactWithTheOptionStored() throws {
        let straight = temporaryDirectory("pt-bf16-straight"), resumed = temporaryDirectory("pt-bf16-resumed")
        func options(_ out: String) -> PretrainOptions {
            var o = pretrainOptions(out, steps: 6)
            o.trainDType = .bf16
            return o
        }
        let quiet: (Pretrainer) -> Pretrainer = { $0.log = { _ in }; return $0 }
        try quiet(Pretrainer(options: options(straight), resume: false)).run()
        try quiet(Pretrainer(options: options(resumed), resume: false)).run(stopAfter: 3)
        try quiet(Pretrainer(options: options(resumed), resume: true)).run()
        for f in ["model.safetensors", "optimizer.safetensors"] {
            let a = FileManager.default.contents(atPath: straight + "/step-000006/" + f)
            let b = FileManager.default.contents(atPath: resumed + "/step-000006/" + f)
            #expect(a != nil && a == b, "\(f) differs after resume")
        }
        let fp32 = temporaryDirectory("pt-fp32")
        try quiet(Pretrainer(options: pretrainOptions(fp32, steps: 6), resume: false)).run()
        #expect(FileManager.default.contents(atPath: fp32 + "/step-000006/model.safetensors")
                != FileManager.default.contents(atPath: straight + "/step-000006/model.safetensors"))
        let stored = try PretrainOptions.stored(TrainerState.load(path: straight + "/step-000006/" + Checkpoint.stateFile).options)
        #expect(stored.trainDType == .bf16)
        // Training still learns in bf16: the loss falls as in fp32.
        let losses = try String(decoding: FileManager.default.contents(atPath: straight + "/metrics.jsonl") ?? Data(), as: UTF8.self)
            .split(separator: "\n").map { try JSON.parse(Data($0.utf8), file: "m")["loss"]?.double ?? .nan }
        #expect(losses.count == 6 && losses.suffix(2).reduce(0, +) < losses.prefix(2).reduce(0, +), "losses \(losses)")
    }
}
