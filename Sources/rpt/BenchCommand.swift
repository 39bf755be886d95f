// `rpt bench`: engine throughput on one model — decode tokens/s at several batch sizes, prefill tokens/s at several
// prompt lengths (logits at every position and/or the last one), the memory-bandwidth bound of decode measured in the
// same run, every repeat's rate (the spread) and each measure's peak resident memory. `--train` measures optimizer steps.
// scripts/bench.sh runs it next to PyTorch (scripts/bench_pytorch*.py) and llama.cpp (scripts/bench_llamacpp.py).

import ArgumentParser
import Foundation
import RPT
import RPTKernels

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Measure prefill and decode throughput.")

    @Option(help: "Hugging Face model directory or llama2.c .bin (no tokenizer needed).")
    var model: String

    @Option(help: "Threads (default: all cores).")
    var threads: Int?

    @Option(name: .customLong("inference-dtype"), help: "Weights decode reads: fp32 or bf16 (AVX-512 BF16 CPUs; the KV cache in bf16 too).")
    var inferenceDType: InferenceDType = .fp32
    @Option(name: .customLong("kv-cache-dtype"), help: "KV cache: auto (as --inference-dtype) | fp32 | bf16.")
    var kvCacheDType: KVCacheDType = .auto

    @Option(name: .customLong("prefill-lens"), help: "Comma-separated prompt lengths for prefill.")
    var prefillLens: String = "128,512"

    @Option(help: "Comma-separated decode batch sizes.")
    var batches: String = "1,8"

    @Option(name: .customLong("prompt-len"), help: "Prompt length before decoding.")
    var promptLen: Int = 128

    @Option(name: .customLong("new-tokens"), help: "Decode steps timed.")
    var newTokens: Int = 64

    @Option(help: "Repetitions (the median is reported).")
    var repeats: Int = 3

    @Option(help: "Write results as JSON to this file.")
    var json: String?

    @Flag(help: "Measure training steps (forward + backward + AdamW) instead of inference.")
    var train = false

    @Option(name: .customLong("train-dtype"), help: "Precision of the training products (--train): fp32 or bf16 (AVX-512 BF16 CPUs).")
    var trainDType: TrainingDType = .fp32

    @Option(name: .customLong("seq-len"), help: "Training sequence length (--train).")
    var seqLen: Int = 512

    @Option(name: .customLong("batch-size"), help: "Training sequences per step (--train).")
    var batchSize: Int = 1

    @Option(name: .customLong("peak-gflops"), help: "Measured fp32 peak of this machine, for the matmul efficiency figure.")
    var peakGFLOPs: Double = 220

    @Option(name: .customLong("prefill-logits"),
            help: "Prefill logits: all (every position, the work of scoring a sequence), last (the last position only, what a prompt needs), or all,last.")
    var prefillLogits: String = "all"

    func run() throws {
        if let t = threads { Parallel.setThreads(t) }
        let m = try Model.load(path: model)
        try inferenceDType.requireSupported()
        m.inferenceDType = inferenceDType
        m.kvCacheDType = kvCacheDType
        let c = m.config
        var rng = RandomGenerator(seed: 1)
        func randomTokens(_ n: Int) -> [Int] { (0..<n).map { _ in Int(rng.next() % UInt64(c.vocabSize)) } }
        func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
        func time(_ body: () throws -> Void) rethrows -> Double {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }
        func numbers(_ xs: [Double]) -> JSON { .array(xs.map { .number($0) }) }
        func spread(_ rates: [Double]) -> String { String(format: "[%.1f..%.1f]", rates.min() ?? 0, rates.max() ?? 0) }
        if train { try benchTraining(m, randomTokens: randomTokens, median: median, time: time); return }
        let logitModes = prefillLogits.split(separator: ",").map { String($0) }
        guard !logitModes.isEmpty, logitModes.allSatisfy({ $0 == "all" || $0 == "last" }) else {
            throw ValidationError("--prefill-logits: all, last or all,last")
        }
        let backend = try m.backend()
        print("model: \(model) (\(c.family.rawValue), \(m.parameterCount) parameters), threads: \(Parallel.threads), "
              + "inference weights: \(inferenceDType.rawValue), KV cache: \(kvCacheDType.storage(weights: inferenceDType))")
        let weightBytes = Double(inferenceDType == .bf16 ? 2 : 4)
        // Peak RSS of each measure: the peak mark is reset before it (see PeakRSS), so decode batch 1, measured first,
        // shows what a process needs to decode one sequence.
        let rssExact = PeakRSS.reset()
        var peakByMeasure: [String: JSON] = [:]
        var decode: [String: JSON] = [:], decodeRuns: [String: JSON] = [:], decodeSeconds: [String: JSON] = [:]
        let prompt = min(promptLen, c.maxPositions - newTokens - 1)
        for b in batches.split(separator: ",").compactMap({ Int($0) }) {
            _ = PeakRSS.reset()
            var times: [Double] = []
            for r in 0...repeats {
                let cache = try backend.makeCache(slots: b, capacity: prompt + newTokens + 1)
                var tokens = randomTokens(b * prompt)
                _ = try backend.forward(ForwardBatch(tokens: tokens, segments: (0..<b).map { .init(slot: $0, count: prompt) }),
                                        cache: cache, rows: .none)
                let profile = MatmulProfile()
                if r == repeats { Matmul.profile = profile }
                let t = try time {
                    for _ in 0..<newTokens {
                        // Greedy decoding: the LM head's argmax per sequence.
                        let rows = try backend.forward(ForwardBatch(decode: Array(tokens.prefix(b)), slots: Array(0..<b)), cache: cache,
                                                       rows: .lastOfEachSegment)
                        tokens = try backend.scores(rows, targets: Array(repeating: -1, count: b), topK: 0).map(\.argmax)
                    }
                }
                Matmul.profile = nil
                if r > 0 { times.append(t) }
                if r == repeats {
                    // Weight bytes streamed by the products (M = b rows each): flops / (2b) floats.
                    let gbs = profile.flops / Double(2 * b) * weightBytes / profile.seconds / 1e9
                    print(String(format: "  decode batch %d: matmuls take %.0f%% of the time, streaming weights at %.1f GB/s",
                                 b, 100 * profile.seconds / t, gbs))
                }
            }
            let rates = times.map { Double(b * newTokens) / $0 }
            let rate = median(rates)
            decode[String(b)] = .number(rate)
            decodeRuns[String(b)] = numbers(rates)
            decodeSeconds[String(b)] = numbers(times)
            let peak = PeakRSS.current()
            peakByMeasure["decode \(b)"] = .number(peak)
            print(String(format: "decode batch %3d: %10.1f tokens/s ", b, rate) + spread(rates)
                  + String(format: " (%.2f ms/step), peak RSS %.0f MiB", 1000 * Double(b) / rate, peak / 1048576))
        }
        var prefill: [String: [String: JSON]] = [:], prefillRuns: [String: [String: JSON]] = [:], prefillSeconds: [String: [String: JSON]] = [:]
        for len in prefillLens.split(separator: ",").compactMap({ Int($0) }) where len <= c.maxPositions {
            let tokens = randomTokens(len)
            for mode in logitModes {
                let key = mode == "all" ? "prefill" : "prefill_last_logits"
                _ = PeakRSS.reset()
                var times: [Double] = []
                for r in 0...repeats {
                    let cache = try backend.makeCache(slots: 1, capacity: len)
                    let t = try time {
                        let rows = try backend.forward(ForwardBatch(tokens: tokens, segments: [.init(slot: 0, count: len)]), cache: cache,
                                                       rows: mode == "all" ? .all : .lastOfEachSegment)
                        _ = try backend.logits(rows)
                    }
                    if r > 0 { times.append(t) }
                }
                let rates = times.map { Double(len) / $0 }
                prefill[key, default: [:]][String(len)] = .number(median(rates))
                prefillRuns[key, default: [:]][String(len)] = numbers(rates)
                prefillSeconds[key, default: [:]][String(len)] = numbers(times)
                let peak = PeakRSS.current()
                peakByMeasure["\(key) \(len)"] = .number(peak)
                print(String(format: "prefill %5d tokens (", len) + mode + String(format: " logits): %10.1f tokens/s ", median(rates))
                      + spread(rates) + String(format: ", peak RSS %.0f MiB", peak / 1048576))
            }
        }
        // Bandwidth bound: every decode step streams all weights except the embedding table once.
        let streamed = Double(m.parameterCount - (c.tiedEmbeddings ? 0 : c.vocabSize * c.hiddenSize)) * weightBytes
        let bandwidth = Self.measureReadBandwidth()
        let boundMs = streamed / bandwidth * 1000
        print(String(format: "memory bandwidth %.1f GB/s; weights streamed per decode step %.1f MB; bound %.2f ms/step (%.1f tokens/s at batch 1)",
                     bandwidth / 1e9, streamed / 1e6, boundMs, 1000 / boundMs))
        print(String(format: "process peak RSS %.0f MiB", PeakRSS.process() / 1048576))
        if let path = json {
            var out: [String: JSON] = [
                "engine": .string("swift-rpt"), "version": .string(RPTCommand.configuration.version),
                "decode": .object(decode), "decode_runs": .object(decodeRuns), "decode_s": .object(decodeSeconds),
                "threads": .number(Double(Parallel.threads)),
                "bandwidth_gbs": .number(bandwidth / 1e9), "decode_bound_ms": .number(boundMs),
                "parameters": .number(Double(m.parameterCount)),
                "inference_dtype": .string(inferenceDType.rawValue),
                "kv_cache_dtype": .string("\(kvCacheDType.storage(weights: inferenceDType))"),
                "repeats": .number(Double(repeats)), "prompt_len": .number(Double(prompt)), "new_tokens": .number(Double(newTokens)),
                "peak_rss_by_measure": .object(peakByMeasure), "peak_rss_per_measure_exact": .bool(rssExact),
                "peak_rss_bytes": .number(PeakRSS.process()),
                "decode_rate_definition": .string("B*N / time of N decode steps (prompt untimed); greedy argmax per row"),
                "prefill_rate_definition": .string("L / time of one forward over L random tokens (prefill: logits at all positions; prefill_last_logits: last position only)"),
            ]
            for (key, v) in prefill {
                out[key] = .object(v)
                out[key + "_runs"] = .object(prefillRuns[key] ?? [:])
                out[key + "_s"] = .object(prefillSeconds[key] ?? [:])
            }
            try AtomicFile.write(Data(JSON.object(out).serialized().utf8), to: path)
        }
    }

    /// Training throughput: forward + backward + gradient clipping + AdamW on random sequences, the
    /// fraction of fp32 peak reached inside the large matmuls, and the peak resident memory.
    func benchTraining(_ m: Model, randomTokens: (Int) -> [Int], median: ([Double]) -> Double,
                       time: (() throws -> Void) throws -> Double) throws {
        try trainDType.requireSupported()
        m.trainingDType = trainDType
        let backend = try m.backend(optimizer: AdamWSettings(beta1: 0.9, beta2: 0.95, weightDecay: 0.1))
        let sequences = (0..<batchSize).map { _ in randomTokens(seqLen + 1) }
        let batch = TrainingBatch(sequences: sequences)
        let weights = batch.packed(sequences.map { [Float](repeating: 1, count: $0.count - 1) }).map { -$0 / Float(batchSize * seqLen) }
        print("model: \(model) (\(m.config.family.rawValue), \(m.parameterCount) parameters), threads: \(Parallel.threads), "
              + "training products: \(trainDType.rawValue)\(trainDType == .bf16 && GemmBF16.usesAMX ? " (AMX)" : ""), "
              + "OpenBLAS kernels: \(Parallel.openBLASCore.name)\(Parallel.openBLASCore.upgraded ? " (chosen by swift-rpt: OpenBLAS fell back to Prescott)" : "")")
        var times: [Double] = []
        let profile = MatmulProfile()
        let rssExact = PeakRSS.reset()
        for r in 0...repeats {
            if r == repeats { Matmul.profile = profile }
            let t = try time {
                try backend.zeroGradients()
                let tape = try backend.trainForward(batch)
                try backend.backward(tape, gradLogProbs: weights)
                _ = try backend.clipGradients(maxNorm: 1)
                try backend.optimizerStep(lr: 1e-4)
            }
            Matmul.profile = nil
            if r > 0 { times.append(t) }
        }
        let tokens = Double(batchSize * (seqLen + 1))
        let rate = tokens / median(times)
        let peakStep = PeakRSS.current()
        let peakRSS = PeakRSS.process()
        let large = profile.largeFlops / profile.largeSeconds / 1e9
        print(String(format: "train %d × %d tokens: %.1f ms/step, %.1f tokens/s", batchSize, seqLen + 1, 1000 * median(times), rate))
        print(String(format: "matmuls: %.1f%% of the step; large matmuls %.1f GFLOP/s = %.0f%% of %.0f GFLOP/s peak; all matmuls %.1f GFLOP/s",
                     100 * profile.seconds / times.last!, large, 100 * large / peakGFLOPs, peakGFLOPs, profile.flops / profile.seconds / 1e9))
        print(String(format: "peak resident memory %.2f GiB (during the steps %.2f GiB); steps %.1f..%.1f ms", peakRSS / 1073741824,
                     peakStep / 1073741824, 1000 * times.min()!, 1000 * times.max()!))
        if let path = json {
            let out: JSON = .object(["engine": .string("swift-rpt"), "version": .string(RPTCommand.configuration.version),
                                     "dtype": .string(trainDType.rawValue), "amx": .bool(trainDType == .bf16 && GemmBF16.usesAMX), "repeats": .number(Double(repeats)),
                                     "train_tokens_per_s": .number(rate), "step_s": .array(times.map { .number($0) }),
                                     "train_runs": .array(times.map { .number(tokens / $0) }),
                                     "peak_rss_step_bytes": .number(peakStep), "peak_rss_per_measure_exact": .bool(rssExact),
                                     "large_matmul_gflops": .number(large), "matmul_fraction_of_step": .number(profile.seconds / times.last!),
                                     "peak_rss_bytes": .number(peakRSS), "seq_len": .number(Double(seqLen)),
                                     "batch_size": .number(Double(batchSize)), "threads": .number(Double(Parallel.threads))])
            try AtomicFile.write(Data(out.serialized().utf8), to: path)
        }
    }

    /// Read bandwidth over a 256 MiB buffer, all threads, best of 3, read the way the decode kernels read weights
    /// (`Vector.streamSum`: one stream per thread, prefetched).
    static func measureReadBandwidth() -> Double {
        let n = 64 << 20
        let buf = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { buf.deallocate() }
        buf.initialize(repeating: 1, count: n)
        var best = 0.0
        for _ in 0..<3 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let box = UnsafeSendable(buf)
            Parallel.forRange(n, minChunk: 1 << 20) { a, b in
                let s = Vector.streamSum(box.value + a, count: b - a)
                if s == -1 { print(s) }
            }
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            best = max(best, Double(n * 4) / dt)
        }
        return best
    }
}

/// Peak resident memory. Linux keeps a resettable peak mark (VmHWM): writing 5 to /proc/self/clear_refs sets it to
/// the current RSS, so a reset before a measure and `current()` after it give that measure's peak (including what the
/// process already held). Elsewhere, or where /proc is not writable, both give the process peak (getrusage).
enum PeakRSS {
    /// Resets the peak mark; false where that is not possible (then `current()` is the process peak).
    @discardableResult
    static func reset() -> Bool {
        guard let f = fopen("/proc/self/clear_refs", "w") else { return false }
        let ok = fputs("5", f) >= 0
        return fclose(f) == 0 && ok
    }

    /// Bytes: VmHWM from /proc/self/status, or the process peak.
    static func current() -> Double {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
           let kb = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap({ Double($0) }) {
            return kb * 1024
        }
        return process()
    }

    /// Bytes: the process's peak RSS since it started (getrusage).
    static func process() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #if os(macOS)
        return Double(usage.ru_maxrss)
        #else
        return Double(usage.ru_maxrss) * 1024
        #endif
    }
}
