public import DopsyncModel
public import DopsyncStore
public import Regions

/// What a region's push did.
public struct PushReport: Sendable {
    /// Changes the region applied.
    public var applied = 0
    /// `edit_conflict`s opened because the region's record had moved on, by collection.
    public var conflictsOpened: [CollectionName: Int] = [:]
    /// Changes the region refused, with why: `programs 123: title: required`.
    public var rejected: [String] = []
    /// Records whose changes are still waiting (accepted for later, or raced too often).
    public var waiting: [String] = []

    public init() {}
}

/// Sends a region's outbox through its adapter, one record at a time, oldest
/// first. Each record's changes go out as one write; an answer that the
/// region's record had moved on is merged (as a pull would) and what is left
/// is sent again, a few times at most. The store moves every entry in a
/// transaction of its own, so a push stopped at any moment goes on where it
/// stood and never applies a change twice.
public struct Pusher: Sendable {
    let store: Store
    let adapter: any RegionAdapter
    /// Stale answers of one record in one push, at most: a region whose
    /// record keeps moving under the gateway is tried again on the next sync.
    let maxRounds = 4

    public init(store: Store, adapter: any RegionAdapter) {
        self.store = store
        self.adapter = adapter
    }

    /// Pushes everything the region's outbox holds.
    ///
    /// - Parameter unsettledOnly: send again only the changes sent before
    ///   whose outcome is not known (a lost answer, a Kemerovo package still
    ///   processing), once each, and nothing else; a refusal is left to the
    ///   push after the pull. A sync does this before
    ///   its pull, so that a change the region has applied meanwhile becomes
    ///   the last common version before the pull merges the region's record
    ///   (else a later region change of the same field would look like a
    ///   conflict with it).
    /// - Parameter skipping: records (`"programs 123"`, as `PushReport.waiting`
    ///   names them) not to send now: those whose change the region has just
    ///   said it is still processing.
    /// - Throws: `RegionError` when a write got no answer (it stays queued
    ///   and is sent again, unchanged, next time), or `StoreError`.
    public func run(unsettledOnly: Bool = false, skipping: Set<String> = []) async throws -> PushReport {
        let region = type(of: adapter).descriptor.code
        var report = PushReport()
        for (collection, sourceID) in try store.pushQueue(region: region, sendingOnly: unsettledOnly)
        where !skipping.contains("\(collection.rawValue) \(sourceID)") {
            var rounds = 0
            // Unsettled only: the entry sent before, once; what the region's
            // answer leaves to send waits for the push after the pull.
            records: while !unsettledOnly || rounds == 0,
                           let change = try store.preparePush(region: region, collection: collection, sourceID: sourceID) {
                rounds += 1
                let outcome: PushOutcome
                do {
                    outcome = try await adapter.push(change)
                } catch {
                    try store.notePushFailed(change, error: error.description)
                    // Before the pull, a failure stops this step, not the
                    // sync: what it did so far is reported, the rest is
                    // tried again by the push after the pull.
                    if unsettledOnly { return report }
                    throw error
                }
                switch outcome {
                case let .applied(answer):
                    report.applied += 1
                    report.conflictsOpened[collection, default: 0] += try store.completePush(change, answer: answer)
                case let .stale(current):
                    report.conflictsOpened[collection, default: 0] += try store.supersedePush(change, current: current)
                    if rounds >= maxRounds {
                        report.waiting.append("\(collection.rawValue) \(sourceID)")
                        break records
                    }
                case let .rejected(why):
                    // Before the pull, a refusal may only say the region
                    // deleted the record: the entry stays as sent, and the
                    // push after the pull (which stored the deletion, or
                    // not) sends it again and reports the refusal.
                    if unsettledOnly { break records }
                    try store.rejectPush(change, reason: why)
                    report.rejected.append("\(collection.rawValue) \(sourceID): \(why)")
                case .accepted:
                    report.waiting.append("\(collection.rawValue) \(sourceID)")
                    break records
                }
            }
        }
        return report
    }
}

extension PushReport {
    /// Adds what another push of the same region did.
    mutating func add(_ other: PushReport) {
        applied += other.applied
        conflictsOpened.merge(other.conflictsOpened, uniquingKeysWith: +)
        rejected += other.rejected
        waiting += other.waiting
    }

    /// Why the push counts as failed: changes the region refused. Conflicts
    /// wait for an operator and are no failure.
    public var failure: String? {
        guard !rejected.isEmpty else { return nil }
        return "push: the region refused \(rejected.count) change\(rejected.count == 1 ? "" : "s"): \(rejected.joined(separator: "; "))"
    }

    /// The region's summaries with the conflicts the push opened added.
    func counted(into summaries: [CollectionSummary]) -> [CollectionSummary] {
        summaries.map { s in
            var s = s
            s.counts.conflictsOpened += conflictsOpened[s.collection] ?? 0
            return s
        }
    }
}
