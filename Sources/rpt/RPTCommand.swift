// The `rpt` command: the whole Reinforcement Pre-Training workflow from one executable.

import ArgumentParser
import Foundation
import RPT
import RPTKernels

@main
struct RPTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpt",
        abstract: "Reinforcement Pre-Training (arXiv 2506.08007) for Llama / Qwen2 / Qwen3 checkpoints, in Swift.",
        version: "swift-rpt 0.6.0",
        subcommands: [GenerateCommand.self, TokenizeCommand.self, ScoreCommand.self, PretrainCommand.self, PrepareCommand.self,
                      TrainCommand.self, EvalCommand.self, CompareCommand.self, FitCommand.self, PatternsCommand.self, ReportCommand.self,
                      QuickstartCommand.self, BenchCommand.self, CorpusCommand.self, DemosCommand.self, ReproduceCommand.self, ExportCommand.self, TensorBoardCommand.self])

    static func main() {
        // Arguments are text: refuse invalid UTF-8 instead of silently replacing bytes.
        for i in 1..<Int(CommandLine.argc) {
            if let raw = CommandLine.unsafeArgv[i], String(validatingCString: raw) == nil {
                StandardError.write("Error: command-line argument \(i) is not valid UTF-8\n")
                Foundation.exit(2)
            }
        }
        do {
            var command = try parseAsRoot()
            try command.run()
            try StandardOutput.flush()   // a full device or closed pipe is an error, not exit 0 with nothing written
        } catch let stopped as InterruptedRun {
            StandardError.write("\(stopped)\n")
            exit(withError: ExitCode(128 + stopped.signal))
        } catch {
            exit(withError: readable(error))
        }
    }

    /// Foundation's file errors (a read-only or missing directory, a full disk) as "PATH: reason" rather than
    /// a raw NSCocoaErrorDomain dump; decoding errors as which field is missing or wrong.
    static func readable(_ error: Error) -> Error {
        if error is RPTError { return error }
        if error is DecodingError { return RPTError("cannot read: \(CheckpointJSON.describe(error))") }
        let e = error as NSError
        guard e.domain == NSCocoaErrorDomain || e.domain == NSPOSIXErrorDomain else { return error }
        let path = (e.userInfo[NSFilePathErrorKey] as? String) ?? (e.userInfo[NSURLErrorKey] as? URL)?.path
        return RPTError(StandardOutput.reason(error), file: path)
    }
}

/// `--model PATH [--tokenizer FILE]`, shared by every command that loads a model.
struct ModelOptions: ParsableArguments {
    @Option(help: "Hugging Face model directory, a training run's directory (its latest checkpoint), or a llama2.c .bin checkpoint (then --tokenizer).")
    var model: String

    @Option(help: "tokenizer.json or llama2.c tokenizer.bin (default: the model directory's tokenizer.json).")
    var tokenizer: String?

    @Option(help: "Threads for the compute kernels (default: all cores).")
    var threads: Int?

    @Option(name: .customLong("inference-dtype"), help: "Weights decoding reads: fp32 | bf16 (AVX-512 BF16 CPUs; prefill through the bf16 GEMM, on AMX where the CPU has it; the KV cache in bf16 too).")
    var inferenceDType: InferenceDType = .fp32

    @Option(name: .customLong("kv-cache-dtype"), help: "KV cache: auto (as --inference-dtype) | fp32 | bf16 (half the memory and the bytes attention reads; queries rounded to bf16 too).")
    var kvCacheDType: KVCacheDType = .auto

    func load() throws -> LanguageModel {
        if let t = threads { Parallel.setThreads(t) }
        try inferenceDType.requireSupported()
        var path = model
        if let latest = Checkpoint.latestIfRunDirectory(model) {
            StandardError.write("note: \(model) is a training run; using its latest checkpoint \(latest)\n")
            path = latest
        }
        let lm = try LanguageModel.load(model: path, tokenizer: tokenizer)
        lm.model.inferenceDType = inferenceDType
        lm.model.kvCacheDType = kvCacheDType
        return lm
    }
}

/// `--inference-dtype fp32|bf16`, `--kv-cache-dtype auto|fp32|bf16`.
extension InferenceDType: ExpressibleByArgument {}
extension KVCacheDType: ExpressibleByArgument {}
extension TrainingDType: ExpressibleByArgument {}
