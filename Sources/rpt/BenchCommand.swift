// `rpt bench`: engine throughput on one model — prefill tokens/s at several prompt lengths, decode
// tokens/s at several batch sizes, and the memory-bandwidth bound of decode measured in the same run.
// scripts/bench.sh runs it next to scripts/bench_pytorch.py and writes BENCHMARKS.md.

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

    func run() throws {
        if let t = threads { Parallel.setThreads(t) }
        let m = try Model.load(path: model)
        let c = m.config
        var rng = RandomGenerator(seed: 1)
        func randomTokens(_ n: Int) -> [Int] { (0..<n).map { _ in Int(rng.next() % UInt64(c.vocabSize)) } }
        func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
        func time(_ body: () throws -> Void) rethrows -> Double {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }
        let ws = ForwardWorkspace()
        print("model: \(model) (\(c.family.rawValue), \(m.parameterCount) parameters), threads: \(Parallel.threads)")
        var prefill: [String: JSON] = [:]
        for len in prefillLens.split(separator: ",").compactMap({ Int($0) }) where len < c.maxPositions {
            let tokens = randomTokens(len)
            var times: [Double] = []
            for r in 0...repeats {
                let cache = KVCache(config: c, slots: 1, capacity: len)
                let t = try time { _ = try m.forward(ForwardBatch(tokens: tokens, segments: [.init(slot: 0, count: len)]), cache: cache, logits: .all, workspace: ws) }
                if r > 0 { times.append(t) }
            }
            let rate = Double(len) / median(times)
            prefill[String(len)] = .number(rate)
            print(String(format: "prefill %5d tokens: %10.1f tokens/s", len, rate))
        }
        var decode: [String: JSON] = [:]
        let prompt = min(promptLen, c.maxPositions - newTokens - 1)
        for b in batches.split(separator: ",").compactMap({ Int($0) }) {
            var times: [Double] = []
            for r in 0...repeats {
                let cache = KVCache(config: c, slots: b, capacity: prompt + newTokens + 1)
                var tokens = randomTokens(b * prompt)
                _ = try m.forward(ForwardBatch(tokens: tokens, segments: (0..<b).map { .init(slot: $0, count: prompt) }),
                                  cache: cache, logits: .lastOfEachSegment, workspace: ws)
                let t = try time {
                    for _ in 0..<newTokens {
                        let logits = try m.forward(ForwardBatch(decode: Array(tokens.prefix(b)), slots: Array(0..<b)), cache: cache,
                                                   logits: .lastOfEachSegment, workspace: ws)
                        tokens = (0..<b).map { i in logits.withUnsafeBufferPointer { Distribution.topK($0.baseAddress! + i * c.vocabSize, vocab: c.vocabSize, k: 1)[0] } }
                    }
                }
                if r > 0 { times.append(t) }
            }
            let rate = Double(b * newTokens) / median(times)
            decode[String(b)] = .number(rate)
            print(String(format: "decode batch %3d: %10.1f tokens/s (%.2f ms/step)", b, rate, 1000 * Double(b) / rate))
        }
        // Bandwidth bound: every decode step streams all weights except the embedding table once.
        let streamed = Double(m.parameterCount - (c.tiedEmbeddings ? 0 : c.vocabSize * c.hiddenSize)) * 4
        let bandwidth = Self.measureReadBandwidth()
        let boundMs = streamed / bandwidth * 1000
        print(String(format: "memory bandwidth %.1f GB/s; weights streamed per decode step %.1f MB; bound %.2f ms/step (%.1f tokens/s at batch 1)",
                     bandwidth / 1e9, streamed / 1e6, boundMs, 1000 / boundMs))
        if let path = json {
            let out: JSON = .object(["prefill": .object(prefill), "decode": .object(decode), "threads": .number(Double(Parallel.threads)),
                                     "bandwidth_gbs": .number(bandwidth / 1e9), "decode_bound_ms": .number(boundMs),
                                     "parameters": .number(Double(m.parameterCount))])
            try AtomicFile.write(Data(out.serialized().utf8), to: path)
        }
    }

    /// Read bandwidth over a 256 MiB buffer, all threads, best of 3.
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
                let s = Vector.dot(box.value + a, box.value + a, count: b - a)
                if s == -1 { print(s) }
            }
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            best = max(best, Double(n * 4) / dt)
        }
        return best
    }
}
