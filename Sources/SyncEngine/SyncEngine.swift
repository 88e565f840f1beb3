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
    let progress: any ProgressReporting

    /// - Parameters:
    ///   - link: the key that links children across regions by СНИЛС.
    ///   - regions: the regions to sync, each with its adapter.
    ///   - progress: where live progress goes.
    public init(store: Store, link: LinkKey, regions: [(settings: RegionSettings, adapter: any RegionAdapter)],
                progress: any ProgressReporting) {
        self.store = store
        self.link = link
        self.regions = regions
        self.progress = progress
    }

    /// Runs one sync: pulls every region (all records when `full`), then
    /// pushes what the gateway has to send.
    public func run(full: Bool) async -> SyncReport {
        let results = await withTaskGroup(of: (Int, [CollectionSummary], String?).self) { group in
            for (index, entry) in regions.enumerated() {
                group.addTask {
                    let (summaries, failure) = await syncRegion(entry.adapter, full: full)
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
            await progress.note("checks across records: running")
            let started = ContinuousClock.now
            let (opened, scoped) = try DomainChecks.runReporting(store: store, link: link, complete: complete, held: held,
                                                                 synced: synced, full: full)
            let seconds = (ContinuousClock.now - started) / .seconds(1)
            await progress.note("checks across records: \(scoped ? "what changed" : "every record") checked in \(String(format: "%.1f", seconds)) s, \(opened.count) conflicts opened")
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

    private func syncRegion(_ adapter: any RegionAdapter, full: Bool) async -> ([CollectionSummary], String?) {
        let descriptor = type(of: adapter).descriptor
        let sink = StoreSink(store: store, descriptor: descriptor, progress: progress)
        var failure: String? = nil
        var pushed = PushReport()
        do {
            try store.notePullStarted(region: descriptor.code)
            try await adapter.pull(into: sink, full: full)
            try store.notePullEnded(region: descriptor.code, error: nil)
            // The push follows the region's own pull, so that it writes on
            // the region's newest versions, merged with the local edits.
            pushed = try await Pusher(store: store, adapter: adapter).run()
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

/// Every known region code.
var regionAdaptersCodes: [String] { regionAdapters.map { $0.descriptor.code } }

/// The store seen through the adapters' `PullSink`: positions by stream, and
/// pages committed together with their position.
final class StoreSink: PullSink {
    let store: Store
    let descriptor: RegionDescriptor
    let progress: any ProgressReporting
    private let counts = Mutex<[CollectionName: ApplyCounts]>([:])

    init(store: Store, descriptor: RegionDescriptor, progress: any ProgressReporting) {
        self.store = store
        self.descriptor = descriptor
        self.progress = progress
    }

    func position(_ stream: String) async throws -> String? {
        try store.position(region: descriptor.code, stream: stream)
    }

    func commit(_ collection: CollectionName, items: [PageItem], stream: String, position: String?,
                sweep: SweepStep?) async throws {
        let applied = try store.apply(region: descriptor.code, collection: collection, items: items,
                                      stream: stream, position: position, sweep: sweep)
        await count([collection: applied])
    }

    func commit(groups: [(collection: CollectionName, items: [PageItem])], stream: String,
                position: String?) async throws {
        let applied = try store.apply(region: descriptor.code, groups: groups, stream: stream, position: position)
        await count(applied)
    }

    /// Adds a page's counts to the collections' totals and shows them.
    private func count(_ applied: [CollectionName: ApplyCounts]) async {
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
