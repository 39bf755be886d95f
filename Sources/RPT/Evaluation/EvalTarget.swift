// The models one `rpt eval` call evaluates: explicit --model paths, and/or the checkpoints of a training run
// (step-* directories, by step) with their training compute from trainer_state.json (paper §4.2: accuracy
// against compute at several checkpoints), optionally preceded by the run's initial model. A verl run
// (global_step_N directories, merged to Hugging Face format; docs/verl.md) is read too, its compute given as
// FLOPs per step.

import Foundation

public struct EvalTarget: Sendable, Equatable {
    public var path: String
    /// Tokenizer override (needed for llama2.c `.bin` models).
    public var tokenizer: String?
    public var label: String
    /// Training step and FLOPs so far, when the model is a checkpoint of an RPT run (nil otherwise).
    public var step: Int?
    public var flops: Double?

    public init(path: String, tokenizer: String? = nil, label: String? = nil, step: Int? = nil, flops: Double? = nil) {
        self.path = path
        self.tokenizer = tokenizer
        self.label = label ?? (path as NSString).lastPathComponent
        self.step = step
        self.flops = flops
    }

    /// A model path; a checkpoint directory (with trainer_state.json) contributes its step and FLOPs.
    public static func model(_ path: String, tokenizer: String? = nil) throws -> EvalTarget {
        var t = EvalTarget(path: path, tokenizer: tokenizer)
        let state = path + "/" + Checkpoint.stateFile
        if FileManager.default.fileExists(atPath: state) {
            let s = try TrainerState.load(path: state)
            t.step = s.step
            t.flops = s.payload["flops"]?.double
        }
        return t
    }

    /// The complete checkpoints of run directory `dir` by step; with `includeInitial`, first the model the
    /// run started from (from the options saved in its checkpoints) at step 0.
    public static func run(_ dir: String, includeInitial: Bool, flopsPerStep: Double? = nil) throws -> [EvalTarget] {
        let checkpoints = Checkpoint.completeCheckpoints(in: dir)
        if checkpoints.isEmpty, !verlSteps(in: dir).isEmpty {
            guard !includeInitial else {
                throw RPTError("a verl run does not record its initial model: give it as --model PATH --label initial instead of --include-initial", file: dir)
            }
            return try verlRun(dir, flopsPerStep: flopsPerStep)
        }
        guard flopsPerStep == nil else { throw RPTError("--flops-per-step is for verl runs; an rpt run records its FLOPs", file: dir) }
        guard !checkpoints.isEmpty else { throw RPTError("no complete step-* (rpt) or global_step_N (verl) checkpoints in this run directory", file: dir) }
        var out = try checkpoints.map { try model($0.path) }
        if includeInitial {
            let state = try TrainerState.load(path: checkpoints[0].path + "/" + Checkpoint.stateFile)
            guard let initial = state.options["model"]?.string, !initial.isEmpty else {
                throw RPTError("trainer_state.json does not name the run's initial model", file: checkpoints[0].path)
            }
            out.insert(EvalTarget(path: initial, tokenizer: state.options["tokenizer"]?.string, label: "initial", step: 0, flops: nil), at: 0)
        }
        return out
    }

    /// The global_step_N directories of a verl run, by step.
    static func verlSteps(in dir: String) -> [(step: Int, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.compactMap { name in
            guard name.hasPrefix("global_step_"), let step = Int(name.dropFirst("global_step_".count)), step > 0 else { return nil }
            return (step, dir + "/" + name)
        }.sorted { $0.step < $1.step }
    }

    /// Where verl's model merger is usually pointed (`--target_dir`), in the order they are tried.
    public static let verlMergedDirectories = ["", "actor/huggingface", "huggingface", "merged", "actor/merged"]

    /// A verl run's merged checkpoints, step N at N × flopsPerStep.
    static func verlRun(_ dir: String, flopsPerStep: Double?) throws -> [EvalTarget] {
        guard let flopsPerStep, flopsPerStep.isFinite, flopsPerStep > 0 else {
            throw RPTError("a verl run records no FLOPs: give --flops-per-step (a number, or the export.json of `rpt export --to verl`)", file: dir)
        }
        let fm = FileManager.default
        return try verlSteps(in: dir).map { step, path in
            let merged = verlMergedDirectories.map { $0.isEmpty ? path : path + "/" + $0 }.first { candidate in
                let files = (try? fm.contentsOfDirectory(atPath: candidate)) ?? []
                return files.contains("config.json") && files.contains { $0.hasSuffix(".safetensors") }
            }
            guard let merged else {
                throw RPTError("no merged Hugging Face model (config.json + *.safetensors) in it or in "
                               + verlMergedDirectories.dropFirst().joined(separator: ", ")
                               + "; merge it with `python -m verl.model_merger merge --backend fsdp --local_dir \(path)/actor --target_dir \(path)/actor/huggingface`",
                               file: path)
            }
            return EvalTarget(path: merged, label: "global_step_\(step)", step: step, flops: Double(step) * flopsPerStep)
        }
    }
}
