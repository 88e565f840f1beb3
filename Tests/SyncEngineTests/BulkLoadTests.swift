import DopsyncModel
import DopsyncStore
import DopsyncTesting
import Foundation
import Simulator
import SyncEngine
import Synchronization
import Testing

/// The lines a sync tells about itself as a whole.
final class Notes: SyncProgressReporting {
    let lines = Mutex<[String]>([])
    func expect(region: String, collection: CollectionName, total: Int?) async {}
    func progress(region: String, collection: CollectionName, counts: ApplyCounts) async {}
    func finished(region: String, failure: String?) async {}
    func note(_ line: String) async { lines.withLock { $0.append(line) } }
}

/// A sync that creates many records lets the indexes only the checks read
/// by wait for its end, and ends with the same store as any other sync.
@Suite("A sync that creates many records builds the checks' indexes once, at its end")
struct BulkLoadTests {
    func conflicts(_ store: Store) throws -> [String] {
        try store.conflicts().map { "\($0.kind) \($0.region) \($0.collection.rawValue) \($0.sourceID): \($0.summary) \($0.detail)" }.sorted()
    }

    @Test func aBulkLoadEndsAsAnyOtherSync() async throws {
        let regions = ["omsk", "leningrad", "krasnoyarsk", "kemerovo"]
        let bulk = try await GatewayUnderTest.start(regions: regions, scale: 300)
        let plain = try await GatewayUnderTest.start(regions: regions, scale: 300)
        defer { Task { await bulk.stop(); await plain.stop() } }

        let notes = Notes(), quiet = Notes()
        let report = try await bulk.sync(progress: notes, bulkLoadMinimum: 50)
        let plainReport = try await plain.sync(progress: quiet)
        #expect(report.succeeded && plainReport.succeeded, "\(report.failures) \(plainReport.failures)")
        // Past 50 records created the indexes went, and the checks built them again.
        #expect(notes.lines.withLock { $0.contains { $0.hasPrefix("checks across records: indexes built again in ") } })
        #expect(quiet.lines.withLock { !$0.contains { $0.contains("indexes built") } })
        #expect(try bulk.store.ensureCheckIndexes() == false, "the indexes are there after the sync")

        for region in regions {
            let data = bulk.simulator.data(region)
            for c in CollectionName.allCases {
                #expect(try bulk.export(c, region: data.code) == data.expectedExport(c), "\(region) \(c)")
            }
        }
        #expect(try conflicts(bulk.store) == conflicts(plain.store))
    }

    /// A sync killed after the indexes went leaves them to the next checks.
    @Test func missingIndexesAreBuiltByTheNextChecks() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["omsk"], scale: 100)
        defer { Task { await gateway.stop() } }
        _ = try await gateway.sync()
        let before = try conflicts(gateway.store)
        try gateway.store.dropCheckIndexes()
        let notes = Notes()
        let report = try await gateway.sync(progress: notes)
        #expect(report.succeeded)
        #expect(notes.lines.withLock { $0.contains { $0.hasPrefix("checks across records: indexes built again in ") } })
        #expect(try gateway.store.ensureCheckIndexes() == false)
        #expect(try conflicts(gateway.store) == before)
    }
}
