// Running `rpt` subcommands in-process from the workflow commands (`rpt quickstart`, `rpt reproduce`): each
// stage is printed as the command line a user can copy and replay, then parsed and run exactly as typed.

import ArgumentParser
import Foundation

enum InProcess {
    /// Prints `$ rpt ARGS` (shell-quoted) and runs the subcommand `type` with them.
    static func run<C: ParsableCommand>(_ type: C.Type, _ args: [String]) throws {
        print("$ rpt " + args.map(quoted).joined(separator: " "))
        fflush(nil)   // stdout is block-buffered when redirected; keep the log in order with direct writes
        defer { fflush(nil) }
        var command = try type.parse(Array(args.dropFirst()))
        try command.run()
    }

    /// A shell word: quoted when it holds anything but safe characters.
    static func quoted(_ s: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,%+@")
        if !s.isEmpty && s.allSatisfy({ safe.contains($0) }) { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
