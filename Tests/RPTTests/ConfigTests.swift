// Config files as users of other tools write them (docs/config.md): option, flag, snake-case and TRL/verl
// names set the same option; unknown keys name the closest valid one; `--help` shows the defaults; `--version`.

import Foundation
import Testing
@testable import RPT

@Suite struct ConfigTests {
    private func load(_ text: String) throws -> RPTTrainOptions {
        let dir = temporaryDirectory("config")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/c.json"))
        return try RPTTrainOptions.load(config: dir + "/c.json")
    }

    /// Assets/presets/paper-grpo.json spells out Table 5 (paper §3.3): loading it gives the defaults, so the preset
    /// and the defaults cannot drift apart; its dynamic-sampling start (step 500 of 1000) is the default's 50 %.
    @Test func thePaperPresetIsTheDefaults() throws {
        var preset = try RPTTrainOptions.load(config: Repo.path("Assets/presets/paper-grpo.json"))
        let defaults = RPTTrainOptions()
        #expect(preset.dynamicSamplingStart == defaults.dynamicSamplingStart && preset.dynamicSamplingStart == 500)
        preset.dynamicSamplingFromStep = defaults.dynamicSamplingFromStep
        #expect(preset == defaults)
    }

    @Test func everySpellingSetsTheSameOption() throws {
        let o = try load(#"{"group-size": 4, "batch_size": 3, "maxResponseTokens": 64, "learning_rate": 1e-5, "max_steps": 7,"#
                         + #" "actor_rollout_ref.rollout.temperature": 0.6, "save_steps": 3, "beta": 0.04, "epsilon_high": 0.28,"#
                         + #" "actor_rollout_ref.actor.loss_agg_mode": "seq-mean-token-mean", "algorithm.filter_groups.enable": false}"#)
        #expect(o.groupSize == 4 && o.batchSize == 3 && o.maxResponseTokens == 64 && o.lr == 1e-5 && o.steps == 7)
        #expect(o.temperature == 0.6 && o.saveEvery == 3 && o.klCoefficient == 0.04 && o.clipHigh == 0.28)
        #expect(o.aggregation == .seqMeanTokenMean && o.dynamicSampling == false)
        // Untouched options keep the paper's defaults.
        #expect(o.clipLow == 0.2 && o.gradClip == 0.2 && o.topP == 1)
    }

    @Test func unknownAndDuplicateKeysAreNamed() throws {
        do { _ = try load(#"{"grop_size": 4}"#); Issue.record("an unknown key was accepted") } catch let e as RPTError {
            #expect(e.message.contains("unknown option 'grop_size'") && e.message.contains("did you mean 'group-size'"), "\(e)")
        }
        do { _ = try load(#"{"num_generations": 4, "group_size": 8}"#); Issue.record("two keys for one option were accepted") } catch let e as RPTError {
            #expect(e.message.contains("both set groupSize"), "\(e)")
        }
        do { _ = try load(#"{"steps": "many"}"#); Issue.record("a wrong type was accepted") } catch let e as RPTError {
            #expect(e.message.contains("steps"), "\(e)")
        }
    }

    @Test func helpShowsDefaultsAndVersionIsPrinted() throws {
        let raw = try runRPT(["train", "--help"])
        let help = (stdout: raw.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " "), 0)   // unwrapped lines
        let d = RPTTrainOptions()
        for text in ["(default \(d.steps))", "(default \(d.batchSize))", "G (default \(d.groupSize))", "(default \(d.lr))",
                     "(default \(d.maxResponseTokens),", "(default \(d.temperature))"] {
            #expect(help.stdout.contains(text), "train --help lacks \(text)")
        }
        let version = try runRPT(["--version"])
        #expect(version.status == 0 && version.stdout.hasPrefix("swift-rpt "), "\(version.stdout)")
    }
}
