// Where the bundled Assets/ directory is, so that `rpt quickstart` works from any working directory: the
// RPT_ASSETS environment variable, else the first Assets/ found walking up from the executable (a build
// lives in REPO/.build/…), else walking up from the current directory.

import Foundation
import RPT

enum AssetLocator {
    static let marker = "quickstart/models/cold-start/config.json"

    static func directory() throws -> String {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["RPT_ASSETS"], !env.isEmpty {
            guard fm.fileExists(atPath: env + "/" + marker) else { throw RPTError("RPT_ASSETS does not hold \(marker)", file: env) }
            return env
        }
        // The executable's real location (not argv[0], which is relative to the directory it was started from).
        let executable = (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])).resolvingSymlinksInPath().deletingLastPathComponent()
        for start in [executable, URL(fileURLWithPath: fm.currentDirectoryPath)] {
            var dir = start.standardizedFileURL
            while true {
                let candidate = dir.appendingPathComponent("Assets").path
                if fm.fileExists(atPath: candidate + "/" + marker) { return candidate }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        throw RPTError("cannot find the bundled Assets directory (with \(marker)) above the rpt executable or the current directory; set RPT_ASSETS",
                       file: "rpt quickstart")
    }
}
