// Ctrl-C (SIGINT) and a scheduler's SIGTERM during `rpt pretrain` / `rpt train`: the step under way finishes,
// a checkpoint is written, and the command exits with 128 + the signal number saying where it stopped, so
// `--resume` loses nothing. A second signal exits at once (the last checkpoint stays intact: checkpoints are
// written atomically).

import Foundation

public enum Interruption {
    /// The signal received, 0 when none (written only by the handler).
    nonisolated(unsafe) static var received: Int32 = 0

    /// Routes SIGINT and SIGTERM to the flag checked between steps. A parent may have started the process with
    /// them blocked (the mask is inherited across exec: test runners, some launchers do this), which would leave
    /// a signal pending and the run going; this thread unblocks them.
    public static func install() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        for s in [SIGINT, SIGTERM] {
            signal(s) { sig in
                if Interruption.received != 0 { _exit(128 + sig) }
                Interruption.received = sig
            }
        }
    }

    /// The pending signal, if any.
    public static var pending: Int32? { received != 0 ? received : nil }
}

/// A training run stopped by a signal after checkpointing `step`.
public struct InterruptedRun: Error, CustomStringConvertible {
    public var signal: Int32
    public var step: Int
    public var checkpoint: String

    public var description: String {
        "\(signal == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)") after step \(step): checkpoint \(checkpoint) written; --resume continues from it"
    }
}
