public import DopsyncConfig
public import DopsyncModel
public import DopsyncStore
internal import Foundation
public import Regions
internal import Synchronization

/// What a sync did to one collection of one region.
public struct CollectionSummary: Sendable {
    public let region: String
    public let collection: CollectionName
    public var counts: ApplyCounts
}

/// What a whole sync did: per region and collection, and which regions failed.
public struct SyncReport: Sendable {
    /// Region names in configuration order, with their collections' counts.
    public var summaries: [CollectionSummary]
    /// Region name → why its pass failed.
    public var failures: [String: String]

    /// `true` when every region was pulled and pushed.
    public var succeeded: Bool { failures.isEmpty }
}

/// Pulls the configured regions into the store, concurrently and in isolation:
/// one region failing never stops or rolls back another.
public struct SyncEngine: Sendable {
    let store: Store
    let link: LinkKey
    let regions: [(settings: RegionSettings, adapter: any RegionAdapter)]
    let progress: any SyncProgressReporting
    let bulkLoadMinimum: Int

    /// - Parameters:
    ///   - link: the key that links children across regions by СНИЛС.
    ///   - regions: the regions to sync, each with its adapter.
    ///   - progress: where live progress goes.
    ///   - bulkLoadMinimum: how many records a sync creates, at least,
    ///     before the checks' indexes wait for its end (see `BulkLoad`).
    public init(store: Store, link: LinkKey, regions: [(settings: RegionSettings, adapter: any RegionAdapter)],
                progress: any SyncProgressReporting, bulkLoadMinimum: Int = 100_000) {
        self.store = store
        self.link = link
        self.regions = regions
        self.progress = progress
        self.bulkLoadMinimum = bulkLoadMinimum
    }

    /// Runs one sync: pulls every region (all records when `full`), then
    /// pushes what the gateway has to send.
    public func run(full: Bool) async -> SyncReport {
        let held = (try? store.reading { try $0.approximateRecordCount() }) ?? 0
        let bulk = BulkLoad(store: store, threshold: max(bulkLoadMinimum, Int(held) / 4))
        let results = await withTaskGroup(of: (Int, [CollectionSummary], String?).self) { group in
            for (index, entry) in regions.enumerated() {
                group.addTask {
                    let (summaries, failure) = await syncRegion(entry.adapter, full: full, bulk: bulk)
                    return (index, summaries, failure)
                }
            }
            var results: [(Int, [CollectionSummary], String?)] = []
            for await r in group { results.append(r) }
            return results.sorted { $0.0 < $1.0 }
        }
        var report = SyncReport(summaries: [], failures: [:])
        var complete = Set<String>()
        for (index, summaries, failure) in results {
            report.summaries += summaries
            let adapter = regions[index].adapter
            if let failure {
                report.failures[regions[index].settings.name] = failure
            } else {
                complete.insert(type(of: adapter).descriptor.code)
            }
        }
        // The checks across records run once the pulls are in, and count
        // the conflicts they open against the record's region and collection.
        do {
            let held = Set(regionAdaptersCodes)
            let synced = Set(regions.map { type(of: $0.adapter).descriptor.code })
            // A sync that created many records (or was killed while it did)
            // left the indexes the checks read by to be built now.
            var started = ContinuousClock.now
            if try store.ensureCheckIndexes() {
                await progress.note("checks across records: indexes built again in \(seconds(since: started)) s")
                started = ContinuousClock.now
            }
            await progress.note("checks across records: running")
            let (opened, scoped) = try DomainChecks.runReporting(store: store, link: link, complete: complete, held: held,
                                                                 synced: synced, full: full)
            await progress.note("checks across records: \(scoped ? "what changed" : "every record") checked in \(seconds(since: started)) s, \(opened.count) conflicts opened")
            for conflict in opened {
                guard let name = regionAdapters.first(where: { $0.descriptor.code == conflict.region })?.descriptor.name,
                      let i = report.summaries.firstIndex(where: { $0.region == name && $0.collection == conflict.collection })
                else { continue }
                report.summaries[i].counts.conflictsOpened += 1
            }
        } catch {
            report.failures["checks"] = "the checks across records failed: \(error)"
        }
        return report
    }

    /// Seconds since `start`, to a tenth.
    private func seconds(since start: ContinuousClock.Instant) -> String {
        String(format: "%.1f", (ContinuousClock.now - start) / .seconds(1))
    }

    private func syncRegion(_ adapter: any RegionAdapter, full: Bool, bulk: BulkLoad) async -> ([CollectionSummary], String?) {
        let descriptor = type(of: adapter).descriptor
        let sink = StoreSink(store: store, descriptor: descriptor, progress: progress, bulk: bulk)
        var failure: String? = nil
        var pushed = PushReport()
        do {
            try store.notePullStarted(region: descriptor.code)
            // Changes sent before whose outcome is not known are settled
            // first (see `Pusher.run(unsettledOnly:)`). A failure here is
            // left to the push after the pull, which tries again and tells.
            let pusher = Pusher(store: store, adapter: adapter)
            if let settled = try? await pusher.run(unsettledOnly: true) { pushed = settled }
            try await adapter.pull(into: sink, full: full)
            try store.notePullEnded(region: descriptor.code, error: nil)
            // The push follows the region's own pull, so that it writes on
            // the region's newest versions, merged with the local edits.
            pushed.add(try await pusher.run(skipping: Set(pushed.waiting)))
            failure = pushed.failure
            try store.notePullEnded(region: descriptor.code, error: failure, push: true)
        } catch {
            failure = "\(error)"
            try? store.notePullEnded(region: descriptor.code, error: failure)
        }
        await progress.finished(region: descriptor.name, failure: failure)
        return (pushed.counted(into: sink.summaries()), failure)
    }
}

/// A sync that creates many records, an initial one say, lets the indexes
/// only the checks read by wait for its end: past `threshold` records
/// created (a quarter of the store it started with, at least a minimum),
/// they are dropped, and the checks build them again in one pass (see
/// `Store.dropCheckIndexes`).
final class BulkLoad: Sendable {
    let store: Store
    let threshold: Int
    private let state = Mutex<(created: Int, dropped: Bool)>((0, false))

    init(store: Store, threshold: Int) {
        self.store = store
        self.threshold = threshold
    }

    /// Counts records a page created; drops the indexes once past the
    /// threshold. A drop that fails leaves them, which costs only speed.
    func noteCreated(_ count: Int) {
        let drop = state.withLock { s in
            s.created += count
            guard !s.dropped, s.created > threshold else { return false }
            s.dropped = true
            return true
        }
        if drop { try? store.dropCheckIndexes() }
    }
}

/// Every known region code.
var regionAdaptersCodes: [String] { regionAdapters.map { $0.descriptor.code } }

/// The store seen through the adapters' `PullSink`: positions by stream, and
/// pages committed together with their position.
final class StoreSink: PullSink {
    let store: Store
    let descriptor: RegionDescriptor
    let progress: any SyncProgressReporting
    let bulk: BulkLoad
    private let counts = Mutex<[CollectionName: ApplyCounts]>([:])

    init(store: Store, descriptor: RegionDescriptor, progress: any SyncProgressReporting, bulk: BulkLoad) {
        self.store = store
        self.descriptor = descriptor
        self.progress = progress
        self.bulk = bulk
    }

    func position(_ stream: String) async throws -> String? {
        try store.position(region: descriptor.code, stream: stream)
    }

    func commit(_ collection: CollectionName, items: [PageItem], stream: String, position: String?,
                sweep: SweepStep?) async throws {
        let applied = try await store.commit(region: descriptor.code, collection: collection, items: items,
                                             stream: stream, position: position, sweep: sweep)
        await count([collection: applied])
    }

    func commit(groups: [(collection: CollectionName, items: [PageItem])], stream: String,
                position: String?) async throws {
        let applied = try await store.commit(region: descriptor.code, groups: groups, stream: stream, position: position)
        await count(applied)
    }

    /// Adds a page's counts to the collections' totals and shows them.
    private func count(_ applied: [CollectionName: ApplyCounts]) async {
        bulk.noteCreated(applied.values.reduce(0) { $0 + $1.created })
        let totals = counts.withLock { c in
            applied.keys.sorted().map { collection -> (CollectionName, ApplyCounts) in
                c[collection, default: ApplyCounts()] += applied[collection]!
                return (collection, c[collection]!)
            }
        }
        for (collection, total) in totals {
            await progress.progress(region: descriptor.name, collection: collection, counts: total)
        }
    }

    func expect(_ collection: CollectionName, total: Int?) async {
        await progress.expect(region: descriptor.name, collection: collection, total: total)
    }

    /// The counts of every collection of the region, in the descriptor's order.
    func summaries() -> [CollectionSummary] {
        let c = counts.withLock { $0 }
        return descriptor.collections.map {
            CollectionSummary(region: descriptor.name, collection: $0, counts: c[$0] ?? ApplyCounts())
        }
    }
}
