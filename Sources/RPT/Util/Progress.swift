// Progress for long work: on a terminal, one self-overwriting line on stderr with rate and ETA; when
// stderr is not a terminal (CI, logs), a plain line every `plainEvery` seconds when asked (commands without
// periodic lines of their own, e.g. eval), else nothing here — the caller prints its own plain lines.

import Foundation

public final class ProgressLine {
    let total: Int
    let label: String
    let start = Date()
    let isTTY = isatty(STDERR_FILENO) == 1
    /// Without a terminal: seconds between plain progress lines (nil: none).
    let plainEvery: Double?
    private var lastDraw = Date.distantPast
    private var lastPlain = Date()

    public init(total: Int, label: String, plainEvery: Double? = nil) {
        self.total = total
        self.label = label
        self.plainEvery = plainEvery
    }

    /// `done` units finished out of `total`; `detail` is appended (e.g. the current loss).
    public func update(_ done: Int, unit: String = "it", detail: String = "", force: Bool = false) {
        guard isTTY else {
            if let every = plainEvery, done < total, Date().timeIntervalSince(lastPlain) >= every {
                lastPlain = Date()
                let elapsed = lastPlain.timeIntervalSince(start)
                let rate = elapsed > 0 ? Double(done) / elapsed : 0
                StandardError.write(String(format: "%@: %d/%d %@, %.2f/s, ETA %@\n", label, done, total, unit, rate,
                                           ProgressLine.clock(rate > 0 ? Double(total - done) / rate : 0)))
            }
            return
        }
        let now = Date()
        guard force || now.timeIntervalSince(lastDraw) > 0.2 || done >= total else { return }
        lastDraw = now
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let pct = total > 0 ? 100 * Double(done) / Double(total) : 100
        let line = String(format: "\r%@ %d/%d (%.0f%%) %.2f %@/s ETA %@ %@", label, done, total, pct, rate, unit,
                          ProgressLine.clock(eta), detail)
        StandardError.write(line + "\u{1B}[K")
        if done >= total { StandardError.write("\n") }
    }

    public func finish() {
        guard isTTY else { return }
        StandardError.write("\n")
    }

    /// Seconds between plain progress lines: RPT_PROGRESS_EVERY, else 30.
    public static var plainInterval: Double {
        ProcessInfo.processInfo.environment["RPT_PROGRESS_EVERY"].flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil } ?? 30
    }

    static func clock(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }
}
