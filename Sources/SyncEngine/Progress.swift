public import DopsyncModel
public import DopsyncStore
internal import Foundation
internal import Synchronization

/// Where a sync reports how far it got.
public protocol SyncProgressReporting: Sendable {
    func expect(region: String, collection: CollectionName, total: Int?) async
    func progress(region: String, collection: CollectionName, counts: ApplyCounts) async
    func finished(region: String, failure: String?) async
    /// A line about the sync as a whole (the checks across records, say).
    func note(_ line: String) async
}

extension SyncProgressReporting {
    public func note(_ line: String) async {}
}

/// Progress on standard error: one live line per region and collection that
/// is redrawn in place on a terminal, or plain log lines at most every few
/// seconds otherwise.
public final class StderrProgress: SyncProgressReporting {
    private struct Line {
        var total: Int?
        var fetched = 0
        let started = ContinuousClock.now
        var lastLogged: ContinuousClock.Instant?
    }

    private let terminal: Bool
    private let state = Mutex<(lines: [String: Line], order: [String], drawn: Int)>(([:], [], 0))

    /// - Parameter terminal: redraw lines in place (a terminal) or log plain lines.
    public init(terminal: Bool) { self.terminal = terminal }

    public func expect(region: String, collection: CollectionName, total: Int?) async {
        update(region: region, collection: collection) { $0.total = total }
    }

    public func progress(region: String, collection: CollectionName, counts: ApplyCounts) async {
        update(region: region, collection: collection) { $0.fetched = counts.fetched }
    }

    public func finished(region: String, failure: String?) async {
        if let failure { write("\(region): failed: \(failure)\n") }
    }

    public func note(_ line: String) async {
        // Below the live lines, which are then left as they stand.
        state.withLock { $0.drawn = 0 }
        write(line + "\n")
    }

    private func update(region: String, collection: CollectionName, _ change: (inout Line) -> Void) {
        let key = "\(region) \(collection.rawValue)"
        let output: String? = state.withLock { s in
            if s.lines[key] == nil { s.lines[key] = Line(); s.order.append(key) }
            change(&s.lines[key]!)
            let now = ContinuousClock.now
            if terminal {
                var out = s.drawn > 0 ? "\u{1B}[\(s.drawn)A" : ""
                for k in s.order { out += "\u{1B}[2K" + Self.describe(k, s.lines[k]!, now) + "\n" }
                s.drawn = s.order.count
                return out
            }
            let line = s.lines[key]!
            if let last = line.lastLogged, now - last < .seconds(5) { return nil }
            s.lines[key]!.lastLogged = now
            return Self.describe(key, line, now) + "\n"
        }
        if let output { write(output) }
    }

    private static func describe(_ key: String, _ line: Line, _ now: ContinuousClock.Instant) -> String {
        if line.fetched == 0 {
            return line.total.map { "\(key): starting, \($0) records to read" } ?? "\(key): starting"
        }
        let seconds = max(0.001, (now - line.started) / .seconds(1))
        let rate = Double(line.fetched) / seconds
        var text = "\(key): \(line.fetched)"
        if let total = line.total, total > 0 { text += " of \(total)" }
        text += " records, \(Int(rate)) records/s"
        if let total = line.total, rate > 0, line.fetched < total {
            text += ", about \(Int((Double(total - line.fetched) / rate).rounded(.up))) s left"
        }
        return text
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// Progress that goes nowhere (tests, quiet runs).
public struct SilentProgress: SyncProgressReporting {
    public init() {}
    public func expect(region: String, collection: CollectionName, total: Int?) async {}
    public func progress(region: String, collection: CollectionName, counts: ApplyCounts) async {}
    public func finished(region: String, failure: String?) async {}
}
