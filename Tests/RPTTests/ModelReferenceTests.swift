// The forward pass against PyTorch + transformers (Tests/Fixtures/models, made by
// scripts/make_model_fixtures.py): full logits (fp32 max abs error ≤ 1e-4), per-position log-probs,
// top-16 entropies, and greedy continuations, for tiny random Llama, Qwen2 and Qwen3 models in F32,
// BF16, F16 and sharded files, tied and untied, with and without llama3 RoPE scaling. Each runs through the
// compute seam, once per backend (`ComputeBackendKind`): logits, the LM-head reductions (log p(target), top-16
// entropy, argmax) and sampling are what a backend must get right.

import Foundation
import Testing
@testable import RPT
import RPTKernels

let referenceModels = ["llama_f32", "llama_bf16_tied", "llama_rope_llama3", "qwen2_f32", "qwen2_bf16_tied",
                       "qwen3_f32", "qwen3_f16_tied_sharded"]

struct ModelReference {
    let model: Model
    let ref: SafeTensorsFile
    let vocab: Int
    init(_ name: String) throws {
        model = try Model.load(path: Repo.fixtureModel(name))
        ref = try SafeTensorsFile(path: Repo.fixtureModel(name) + "/reference.safetensors")
        vocab = model.config.vocabSize
    }
    /// Real tokens of reference sequence b.
    func sequence(_ b: Int) throws -> [Int] {
        let ids = try ref.ints("input_ids"), lengths = try ref.ints("lengths")
        let t = ids.count / lengths.count
        return Array(ids[(b * t)..<(b * t + lengths[b])])
    }
}

@Suite struct ModelReferenceTests {
    @Test(arguments: referenceModels, ComputeBackendKind.allCases)
    func logitsMatchPyTorch(_ name: String, _ kind: ComputeBackendKind) throws {
        let r = try ModelReference(name)
        let backend = try kind.make(model: r.model)
        let all = try r.ref.floats("logits")
        let t = try r.ref.ints("input_ids").count / 2
        var worst: Float = 0
        defer { print("\(name): max abs logit error vs PyTorch \(worst)") }
        for b in 0..<2 {
            let seq = try r.sequence(b)
            let ours = try backend.sequenceLogits(seq)
            let theirs = Array(all[(b * t * r.vocab)..<((b * t + seq.count) * r.vocab)])
            let err = maxAbsDiff(ours, theirs)
            worst = max(worst, err)
            #expect(err <= 1e-4, "\(name) sequence \(b): max abs logit error \(err)")
        }
    }

    /// fp32 weights with a bf16 KV cache (`--kv-cache-dtype bf16`, as llama.cpp's 16-bit cache by default): the backend
    /// makes bf16 caches, and decoding token by token (the bf16 attention kernels, queries rounded to bf16) stays within
    /// bf16 tolerance of PyTorch's fp32 logits with the same greedy token at all but at most one position.
    @Test(arguments: referenceModels, ComputeBackendKind.allCases)
    func fp32WeightsWithABF16CacheStayNearPyTorch(_ name: String, _ kind: ComputeBackendKind) throws {
        let r = try ModelReference(name)
        r.model.kvCacheDType = .bf16
        let backend = try kind.make(model: r.model)
        let seq = try r.sequence(0)
        let cache = try backend.makeCache(slots: 1, capacity: seq.count)
        #expect((cache as? KVCache)?.storage == .bf16)
        var ours: [Float] = []
        for t in seq {
            ours += try backend.logits(backend.forward(ForwardBatch(decode: [t], slots: [0]), cache: cache, rows: .all))
        }
        let theirs = Array(try r.ref.floats("logits")[0..<(seq.count * r.vocab)])
        let scale = theirs.map { abs($0) }.max()!, err = maxAbsDiff(ours, theirs)
        print("\(name): fp32 weights, bf16 cache, max abs logit error vs PyTorch fp32 \(err) (largest logit \(scale))")
        #expect(err > 1e-5 && err <= 0.02 * scale + 1e-3, "\(name): \(err)")
        let agree = (0..<seq.count).filter { p in
            let row = { (x: [Float]) in (0..<r.vocab).max { x[p * r.vocab + $0] < x[p * r.vocab + $1] }! }
            return row(ours) == row(theirs)
        }.count
        #expect(agree >= seq.count - 1, "\(name): greedy agreement \(agree)/\(seq.count)")
        r.model.kvCacheDType = .fp32
        r.model.inferenceDType = MatmulBF16.isSupported ? .bf16 : .fp32
        #expect((try backend.makeCache(slots: 1, capacity: 4) as? KVCache)?.storage == .fp32)
    }

    /// Both sequences in one packed batch (different lengths, separate cache slots) give the same logits.
    @Test(arguments: referenceModels, ComputeBackendKind.allCases)
    func packedBatchMatchesPyTorch(_ name: String, _ kind: ComputeBackendKind) throws {
        let r = try ModelReference(name)
        let backend = try kind.make(model: r.model)
        let s0 = try r.sequence(0), s1 = try r.sequence(1)
        let cache = try backend.makeCache(slots: 2, capacity: 16)
        let batch = ForwardBatch(tokens: s0 + s1, segments: [.init(slot: 0, count: s0.count), .init(slot: 1, count: s1.count)])
        let ours = try backend.logits(backend.forward(batch, cache: cache, rows: .all))
        let all = try r.ref.floats("logits")
        let t = try r.ref.ints("input_ids").count / 2
        let theirs = Array(all[0..<(s0.count * r.vocab)]) + Array(all[(t * r.vocab)..<((t + s1.count) * r.vocab)])
        #expect(maxAbsDiff(ours, theirs) <= 1e-4)
    }

    /// Logits for some rows only (the last layer then computes just those rows after writing every row's keys and
    /// values): the rows match PyTorch, rows out of order too, and the cache left behind continues both sequences as
    /// after a prefill with every row's logits, also when no row's logits were asked for.
    @Test(arguments: referenceModels, ComputeBackendKind.allCases)
    func someRowsMatchPyTorchAndLeaveTheSameCache(_ name: String, _ kind: ComputeBackendKind) throws {
        let r = try ModelReference(name)
        let backend = try kind.make(model: r.model)
        let s0 = try r.sequence(0), s1 = try r.sequence(1)
        let all = try r.ref.floats("logits")
        let t = try r.ref.ints("input_ids").count / 2
        func reference(_ b: Int, _ i: Int) -> [Float] { Array(all[((b * t + i) * r.vocab)..<((b * t + i + 1) * r.vocab)]) }
        // Both sequences but their last tokens, packed; then their last tokens as one decode step.
        let p0 = Array(s0.dropLast()), p1 = Array(s1.dropLast())
        let prefill = ForwardBatch(tokens: p0 + p1, segments: [.init(slot: 0, count: p0.count), .init(slot: 1, count: p1.count)])
        let cases: [(LogitRows, [(Int, Int)])] = [
            (.lastOfEachSegment, [(0, p0.count - 1), (1, p1.count - 1)]),
            (.selected([0, 2, p0.count + 1]), [(0, 0), (0, 2), (1, 1)]),
            (.selected([p0.count, 1]), [(1, 0), (0, 1)]),
            (.none, []),
        ]
        for (rows, expected) in cases {
            let cache = try backend.makeCache(slots: 2, capacity: 16)
            let ours = try backend.logits(backend.forward(prefill, cache: cache, rows: rows))
            #expect(ours.count == expected.count * r.vocab, "\(name) \(rows)")
            for (i, (b, pos)) in expected.enumerated() where ours.count == expected.count * r.vocab {
                let err = maxAbsDiff(Array(ours[(i * r.vocab)..<((i + 1) * r.vocab)]), reference(b, pos))
                #expect(err <= 1e-4, "\(name) \(rows) row \(i): max abs logit error \(err)")
            }
            let next = try backend.logits(backend.forward(ForwardBatch(decode: [s0.last!, s1.last!], slots: [0, 1]),
                                                          cache: cache, rows: .all))
            let err = maxAbsDiff(next, reference(0, s0.count - 1) + reference(1, s1.count - 1))
            #expect(err <= 1e-4, "\(name) \(rows) then decode: max abs logit error \(err)")
        }
    }

    /// The LM-head reductions a backend returns instead of logits: log p(next token), top-16 entropy, argmax.
    @Test(arguments: referenceModels, ComputeBackendKind.allCases)
    func logProbsAndEntropyMatchPyTorch(_ name: String, _ kind: ComputeBackendKind) throws {
        let r = try ModelReference(name)
        let backend = try kind.make(model: r.model)
        let lp = try r.ref.floats("token_logprobs"), ent = try r.ref.floats("entropy_top16"), all = try r.ref.floats("logits")
        let t = try r.ref.ints("input_ids").count / 2
        for b in 0..<2 {
            let seq = try r.sequence(b)
            let cache = try backend.makeCache(slots: 1, capacity: seq.count)
            let rows = try backend.forward(ForwardBatch(tokens: seq, segments: [.init(slot: 0, count: seq.count)]), cache: cache, rows: .all)
            let scores = try backend.scores(rows, targets: Array(seq.dropFirst()) + [-1], topK: 16)
            for i in 0..<seq.count {
                #expect(abs(scores[i].entropy - ent[b * t + i]) <= 1e-4, "\(name) entropy b\(b) t\(i): \(scores[i].entropy) vs \(ent[b * t + i])")
                if i + 1 < seq.count {
                    #expect(abs(scores[i].logProb - lp[b * (t - 1) + i]) <= 1e-4, "\(name) logprob b\(b) t\(i)")
                } else {
                    #expect(scores[i].logProb == 0)
                }
                let row = all[((b * t + i) * r.vocab)..<((b * t + i + 1) * r.vocab)]
                let best = row.max()!
                // PyTorch's top logit, or one within fp32 noise of it.
                #expect(row[row.startIndex + scores[i].argmax] >= best - 1e-4, "\(name) argmax b\(b) t\(i)")
            }
        }
    }

    @Test(arguments: referenceModels, ComputeBackendKind.allCases)
    func greedyContinuationMatchesPyTorch(_ name: String, _ kind: ComputeBackendKind) throws {
        let r = try ModelReference(name)
        let prompt = try r.ref.ints("greedy_prompt"), expected = try r.ref.ints("greedy_ids")
        let out = try Generator(backend: kind.make(model: r.model)).generate(prompts: [prompt], options: GenerationOptions(maxTokens: expected.count))
        #expect(out[0].tokens == expected)
    }

    /// G greedy samples sharing one prefill, next to a second prompt, all equal the single-prompt result.
    @Test func samplesShareThePromptPrefill() throws {
        let r = try ModelReference("qwen2_f32")
        let prompt = try r.ref.ints("greedy_prompt"), expected = try r.ref.ints("greedy_ids")
        let other = try r.sequence(1)
        let out = try Generator(model: r.model).generate(prompts: [prompt, other], samplesPerPrompt: 3,
                                                         options: GenerationOptions(maxTokens: expected.count))
        #expect(out.count == 6)
        for s in out where s.promptIndex == 0 { #expect(s.tokens == expected) }
        let alone = try Generator(model: r.model).generate(prompts: [other], options: GenerationOptions(maxTokens: expected.count))
        for s in out where s.promptIndex == 1 { #expect(s.tokens == alone[0].tokens) }
    }
}
