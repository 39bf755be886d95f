// The models one `rpt eval` call evaluates: explicit --model paths, and/or the checkpoints of a training run
// (step-* directories, by step) with their training compute from trainer_state.json (paper §4.2: accuracy
// against compute at several checkpoints), optionally preceded by the run's initial model.

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
    public static func run(_ dir: String, includeInitial: Bool) throws -> [EvalTarget] {
        let checkpoints = Checkpoint.completeCheckpoints(in: dir)
        guard !checkpoints.isEmpty else { throw RPTError("no complete step-* checkpoints in this run directory", file: dir) }
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
}
