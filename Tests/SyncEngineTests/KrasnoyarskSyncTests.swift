import DopsyncConfig
import DopsyncModel
import DopsyncStore
import DopsyncTesting
import Foundation
import Regions
import Simulator
import SyncEngine
import Synchronization
import Testing

/// Krasnoyarsk end to end: the simulator over real HTTPS on loopback,
/// libcurl, the adapter, the store; the export must equal what the simulator
/// holds, record for record.
@Suite("Krasnoyarsk syncs end to end over HTTPS")
struct KrasnoyarskSyncTests {
    static let region = "krasnoyarsk"

    /// Syncs Krasnoyarsk with an adapter asking for `pageSize` records a
    /// page, so that a small world is walked in several pages.
    static func sync(_ gateway: GatewayUnderTest, pageSize: Int, full: Bool = false) async throws -> SyncReport {
        let settings = try #require(gateway.configuration.regions.first { $0.name == region })
        let adapter = try KrasnoyarskAdapter(settings: settings, pageSize: pageSize)
        let link = try LinkKey.loadOrCreate(path: gateway.configuration.keyFilePath)
        return await SyncEngine(store: gateway.store, link: link, regions: [(settings, adapter)],
                                progress: SilentProgress()).run(full: full)
    }

    static func expectExportsMatch(_ gateway: GatewayUnderTest, _ data: RegionData,
                                   sourceLocation: SourceLocation = #_sourceLocation) throws {
        for c in CollectionName.allCases {
            let got = try gateway.export(c), want = data.expectedExport(c)
            #expect(got.count == want.count, "\(c)", sourceLocation: sourceLocation)
            #expect(got == want, "\(c): first difference \(zip(got, want).first { $0 != $1 }.map { "\($0)\n  vs\n\($1)" } ?? "none")",
                    sourceLocation: sourceLocation)
        }
    }

    static func versions(_ gateway: GatewayUnderTest, _ c: CollectionName) throws -> [String: String?] {
        var out: [String: String?] = [:]
        for line in try gateway.export(c) {
            let json = try JSONParser.parse(line)
            guard case let .string(id)? = json["source_id"] else { continue }
            if case let .string(v)? = json["source_version"] { out[id] = v } else { out[id] = .some(nil) }
        }
        return out
    }

    @Test func firstRunReadsSnapshotsThenTheFeed() async throws {
        let gateway = try await GatewayUnderTest.start(regions: [Self.region], scale: 300)
        defer { Task { await gateway.stop() } }
        let data = gateway.simulator.data(Self.region)

        var report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        try Self.expectExportsMatch(gateway, data)
        for c in CollectionName.allCases {
            let counts = report.counts(Self.region, c)
            #expect(counts.created == data.expectedExport(c).count, "\(c)")
            #expect(counts.quarantined == 2, "\(c)")
        }
        // Snapshots carry no ETags.
        #expect(try Self.versions(gateway, .programs).values.allSatisfy { $0 == nil })
        // The feed goes on from where the snapshots stood.
        let position = try #require(try gateway.store.position(region: "24", stream: "feed"))
        #expect(position.contains(#""seq":\#(data.changeLogHead)"#), "\(position)")
        #expect(!position.contains("snapshot"))

        // Nothing changed: the next pass reads one empty feed page.
        let requests = data.requestCount
        report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        #expect(CollectionName.allCases.allSatisfy { report.counts(Self.region, $0).fetched == 0 })
        #expect(data.requestCount - requests <= 2)
    }

    /// A simulated region whose snapshot pages hold at most `cap` records,
    /// whatever the walk asks (request limits off: many small pages).
    static func startAnsweringShortPages(scale: Int, cap: Int) async throws -> GatewayUnderTest {
        try await GatewayUnderTest.start(regions: [region], scale: scale) { options in
            options.snapshotPageCap = cap
            options.rateLimits = false
        }
    }

    /// The page sets no bound on how many records a snapshot page holds: a
    /// region answering fewer than asked is walked to its end, and a full
    /// walk deletes nothing it did not reach.
    @Test func snapshotPagesShorterThanAskedAreNotTheEnd() async throws {
        let gateway = try await Self.startAnsweringShortPages(scale: 40, cap: 7)
        defer { Task { await gateway.stop() } }
        let data = gateway.simulator.data(Self.region)
        var report = try await Self.sync(gateway, pageSize: 20)
        #expect(report.succeeded, "\(report.failures)")
        try Self.expectExportsMatch(gateway, data)
        report = try await Self.sync(gateway, pageSize: 20, full: true)
        #expect(report.succeeded, "\(report.failures)")
        #expect(CollectionName.allCases.allSatisfy { report.counts(Self.region, $0).deleted == 0 })
        try Self.expectExportsMatch(gateway, data)
    }

    @Test func incrementalPassReadsTheFeedOnly() async throws {
        let gateway = try await GatewayUnderTest.start(regions: [Self.region], scale: 300)
        defer { Task { await gateway.stop() } }
        let data = gateway.simulator.data(Self.region)
        _ = try await gateway.sync()

        let touched = data.touch(.programs, count: 3)
        let added = data.add(.certificates, count: 2)
        let deleted = data.delete(.contracts, count: 1)
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        try Self.expectExportsMatch(gateway, data)
        #expect(report.counts(Self.region, .programs).updated == touched.count)
        #expect(report.counts(Self.region, .certificates).created == added.count)
        #expect(report.counts(Self.region, .contracts).deleted == deleted.count)
        let fetched = CollectionName.allCases.map { report.counts(Self.region, $0).fetched }.reduce(0, +)
        #expect(fetched == touched.count + added.count + deleted.count)
        // Read from the feed, the changed records carry their ETags.
        let versions = try Self.versions(gateway, .programs)
        for id in touched { #expect(versions[id] == .some("2")) }
    }

    @Test func fullPassReReadsSnapshots() async throws {
        let gateway = try await GatewayUnderTest.start(regions: [Self.region], scale: 200)
        defer { Task { await gateway.stop() } }
        let data = gateway.simulator.data(Self.region)
        _ = try await gateway.sync()
        let touched = data.touch(.programs, count: 2)
        _ = try await gateway.sync()

        let report = try await gateway.sync(full: true)
        #expect(report.succeeded, "\(report.failures)")
        try Self.expectExportsMatch(gateway, data)
        for c in CollectionName.allCases {
            let counts = report.counts(Self.region, c)
            #expect(counts.fetched == data.expectedExport(c).count + 2, "\(c): every live record, bad ones too")
            #expect(counts.created == 0 && counts.deleted == 0, "\(c)")
        }
        // Read again from a snapshot, the touched records lose their version.
        #expect(report.counts(Self.region, .programs).updated == touched.count)
        #expect(try Self.versions(gateway, .programs).values.allSatisfy { $0 == nil })
    }

    /// `410 compacted`: the feed no longer holds the changes after the saved
    /// position, so the pass reads snapshots again; a deletion then shows only
    /// as absence, and the sweep finds it.
    @Test func aCompactedFeedStartsAgainFromSnapshots() async throws {
        let gateway = try await GatewayUnderTest.start(regions: [Self.region], scale: 300)
        defer { Task { await gateway.stop() } }
        let data = gateway.simulator.data(Self.region)
        _ = try await gateway.sync()
        let touched = data.touch(.programs, count: 3)
        let added = data.add(.certificates, count: 2)
        let deleted = data.delete(.contracts, count: 2)
        _ = data.touch(.contracts, count: 2)
        data.compactChangeLog()

        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        try Self.expectExportsMatch(gateway, data)
        #expect(report.counts(Self.region, .programs).updated == touched.count)
        #expect(report.counts(Self.region, .certificates).created == added.count)
        #expect(report.counts(Self.region, .contracts).deleted == deleted.count)
        #expect(report.counts(Self.region, .certificates).fetched == data.recordCount(.certificates))

        // And the feed goes on from there.
        let more = data.touch(.certificates, count: 1)
        let next = try await gateway.sync()
        #expect(next.counts(Self.region, .certificates).updated == more.count)
        try Self.expectExportsMatch(gateway, data)
    }

    /// Records that change while the snapshots are walked (and shift the
    /// pages: a change moves a record to the end of the order) come from the
    /// feed read afterwards; no unchanged record is skipped.
    @Test func changesDuringTheWalkComeFromTheFeed() async throws {
        let gateway = try await GatewayUnderTest.start(regions: [Self.region], scale: 300)
        defer { Task { await gateway.stop() } }
        let data = gateway.simulator.data(Self.region)
        let reads = Mutex<[CollectionName: Int]>([:])
        data.onRead { collection in
            let n = reads.withLock { r in r[collection, default: 0] += 1; return r[collection]! }
            switch (collection, n) {
            case (.certificates, 2): data.touch(.certificates, count: 40)
            case (.contracts, 3): data.touch(.contracts, count: 30); data.add(.contracts, count: 3)
            case (.charges, 2): data.touch(.programs, count: 2)
            default: break
            }
        }
        let report = try await Self.sync(gateway, pageSize: 40)
        #expect(report.succeeded, "\(report.failures)")
        try Self.expectExportsMatch(gateway, data)
    }

    /// Offset pages over a set that shrinks under the walk: records deleted
    /// ahead of the offset shift unchanged ones back, past the next page's
    /// start. The overlap of pages proves none is skipped (and so wrongly
    /// swept as deleted).
    @Test func pagesThatShiftUnderTheWalkSkipNothing() async throws {
        let gateway = try await GatewayUnderTest.start(regions: [Self.region], scale: 300)
        defer { Task { await gateway.stop() } }
        let data = gateway.simulator.data(Self.region)
        _ = try await gateway.sync()
        let reads = Mutex<[CollectionName: Int]>([:])
        let deleted = Mutex<[CollectionName: Int]>([:])
        data.onRead { collection in
            let n = reads.withLock { r in r[collection, default: 0] += 1; return r[collection]! }
            let gone: [String] = switch (collection, n) {
            case (.contracts, 3): data.delete(.contracts, count: 3)   // within the overlap
            case (.contracts, 5): data.delete(.contracts, count: 30)  // beyond it: the walk steps back
            case (.charges, 5): data.delete(.charges, count: 60)
            default: []
            }
            deleted.withLock { $0[collection, default: 0] += gone.count }
        }
        let report = try await Self.sync(gateway, pageSize: 40, full: true)
        #expect(report.succeeded, "\(report.failures)")
        // A record wrongly swept would show `"deleted":true` here.
        try Self.expectExportsMatch(gateway, data)
        for c in [CollectionName.contracts, .charges] {
            #expect(report.counts(Self.region, c).deleted == deleted.withLock { $0[c] }, "\(c)")
        }
    }

    /// As above, with a region that answers fewer records a page than
    /// asked: a step back is one of its pages, not one of the walk's.
    @Test func shortPagesThatShiftUnderTheWalkSkipNothing() async throws {
        let gateway = try await Self.startAnsweringShortPages(scale: 300, cap: 10)
        defer { Task { await gateway.stop() } }
        let data = gateway.simulator.data(Self.region)
        _ = try await Self.sync(gateway, pageSize: 40)
        let contracts = data.recordCount(.contracts)
        let reads = Mutex<[CollectionName: Int]>([:])
        data.onRead { collection in
            let n = reads.withLock { r in r[collection, default: 0] += 1; return r[collection]! }
            guard collection == .contracts, n == 12 else { return }
            // Changed records move to the end: those behind the walk shift the rest back.
            _ = data.touch(.contracts, count: 60)
        }
        let report = try await Self.sync(gateway, pageSize: 40, full: true)
        #expect(report.succeeded, "\(report.failures)")
        try Self.expectExportsMatch(gateway, data)
        #expect(report.counts(Self.region, .contracts).deleted == 0)
        // One pass in pages of 10 overlapping by 4, and a few steps back of
        // one such page; not a walk thrown back to its start.
        let pass = contracts / 6 + 2
        #expect(reads.withLock { $0[.contracts] ?? 0 } <= pass + 6, "\(reads.withLock { $0 }) for \(contracts) contracts")
    }

    @Test func tokensThatExpireMidSyncAreRenewed() async throws {
        // Tokens die every few reads, as five-minute tokens do during a long
        // read: revoked by the simulator rather than timed, so that a loaded
        // machine cannot turn a fresh token into a dead one on the way.
        let gateway = try await GatewayUnderTest.start(regions: [Self.region], scale: 300)
        defer { Task { await gateway.stop() } }
        let data = gateway.simulator.data(Self.region)
        let reads = Mutex(0)
        data.onRead { _ in
            if reads.withLock({ $0 += 1; return $0 % 4 == 0 }) { data.revokeTokens() }
        }
        let report = try await Self.sync(gateway, pageSize: 50)
        #expect(report.succeeded, "\(report.failures)")
        try Self.expectExportsMatch(gateway, data)
        // The sync outlived several tokens.
        #expect(data.tokensIssued >= 3, "\(data.tokensIssued) tokens")
    }

    @Test func aSyncStaysUnderTheRateLimit() async throws {
        let gateway = try await GatewayUnderTest.start(regions: [Self.region], scale: 300)
        defer { Task { await gateway.stop() } }
        let data = gateway.simulator.data(Self.region)
        let report = try await Self.sync(gateway, pageSize: 60)
        #expect(report.succeeded, "\(report.failures)")
        #expect(data.requestCount > 15, "enough requests to cross several seconds")
        #expect(data.rateLimitedRequests == 0)
        try Self.expectExportsMatch(gateway, data)
    }

    /// One page of the feed holds the same records several times: each is
    /// stored once, in its latest state.
    @Test func repeatedChangesInTheFeedCountOnce() async throws {
        let gateway = try await GatewayUnderTest.start(regions: [Self.region], scale: 200)
        defer { Task { await gateway.stop() } }
        let data = gateway.simulator.data(Self.region)
        _ = try await gateway.sync()
        var touched = Set<String>()
        for _ in 0..<3 { touched.formUnion(data.touch(.programs, count: 1000)) }
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        #expect(report.counts(Self.region, .programs).fetched == touched.count)
        #expect(report.counts(Self.region, .programs).updated == touched.count)
        try Self.expectExportsMatch(gateway, data)
        let versions = try Self.versions(gateway, .programs)
        for id in touched { #expect(versions[id] == .some("4")) }
    }

    /// A record added and deleted between two passes is an upsert then a
    /// fieldless delete in the feed: the gateway never held it, keeps
    /// nothing of it, and still deletes the records it did hold.
    @Test func aDeleteOfARecordNeverHeldIsNotKept() async throws {
        let gateway = try await GatewayUnderTest.start(regions: [Self.region], scale: 200)
        defer { Task { await gateway.stop() } }
        let data = gateway.simulator.data(Self.region)
        _ = try await gateway.sync()
        let added = try #require(data.add(.programs, count: 1).first)
        let deleted = Set(data.delete(.programs, count: 1000))
        #expect(deleted.contains(added))
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        #expect(report.counts(Self.region, .programs).deleted == deleted.count - 1)
        let exported = try gateway.export(.programs)
        #expect(!exported.contains { $0.contains(added) })
        #expect(exported == data.expectedExport(.programs).filter { !$0.contains(added) })
    }

    /// A contract read (from its snapshot) before its certificate exists in
    /// the gateway waits with no number, and gets it when the certificate
    /// arrives (from the feed).
    @Test func aContractSeenBeforeItsCertificateWaitsForIt() async throws {
        let gateway = try await GatewayUnderTest.start(regions: [Self.region], scale: 200)
        defer { Task { await gateway.stop() } }
        let data = gateway.simulator.data(Self.region)
        struct Late { var certificate: String; var number: String; var contract: String? }
        let late = Mutex<Late?>(nil)
        let seenWithoutNumber = Mutex<Bool?>(nil)
        let store = gateway.store
        data.onRead { collection in
            if collection == .contracts, late.withLock({ $0 == nil }) {
                // Certificates are walked already: a new one and a contract on it.
                let id = data.add(.certificates, count: 1)[0]
                guard case let .certificate(c)? = data.entry(.certificates, id)?.record else { return }
                var found: String? = nil
                for _ in 0..<3000 where found == nil {
                    for contract in data.add(.contracts, count: 1) {
                        if case let .contract(k)? = data.entry(.contracts, contract)?.record, k.certificateNumber == c.number {
                            found = contract
                        }
                    }
                }
                late.withLock { $0 = Late(certificate: id, number: c.number, contract: found) }
            }
            if collection == .charges, seenWithoutNumber.withLock({ $0 == nil }),
               let contract = late.withLock({ $0?.contract }) {
                // The certificate is not stored yet. The charges' first page is
                // asked for while the contracts' last one is being written:
                // wait (a little) for that write, which needs nothing of ours.
                for _ in 0..<300 {
                    if case let .contract(k)? = try? store.record(region: "24", collection: .contracts, sourceID: contract) {
                        seenWithoutNumber.withLock { $0 = k.certificateNumber == nil }
                        break
                    }
                    usleep(10_000)
                }
            }
        }
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        let l = try #require(late.withLock { $0 })
        let contract = try #require(l.contract, "a contract on the new certificate")
        #expect(seenWithoutNumber.withLock { $0 } == true)
        guard case let .contract(k)? = try gateway.store.record(region: "24", collection: .contracts, sourceID: contract) else {
            Issue.record("the contract is not stored")
            return
        }
        #expect(k.certificateNumber == l.number)
        try Self.expectExportsMatch(gateway, data)
    }

    /// A sync stopped in the middle of its walk keeps what it committed, and
    /// the next one goes on from there: every record created exactly once.
    @Test func anInterruptedSyncResumesWithoutLossOrDuplicates() async throws {
        let gateway = try await GatewayUnderTest.start(regions: [Self.region], scale: 300)
        defer { Task { await gateway.stop() } }
        let data = gateway.simulator.data(Self.region)
        let running = Mutex<Task<SyncReport, any Error>?>(nil)
        let reads = Mutex(0)
        data.onRead { _ in
            if reads.withLock({ $0 += 1; return $0 }) == 6 { running.withLock { $0?.cancel() } }
        }
        let first = Task { try await Self.sync(gateway, pageSize: 60) }
        running.withLock { $0 = first }
        let interrupted = try await first.value
        #expect(!interrupted.succeeded)
        let position = try #require(try gateway.store.position(region: "24", stream: "feed"))
        #expect(position.contains("snapshot"), "stopped mid-walk: \(position)")

        let resumed = try await Self.sync(gateway, pageSize: 60)
        #expect(resumed.succeeded, "\(resumed.failures)")
        try Self.expectExportsMatch(gateway, data)
        for c in CollectionName.allCases {
            let created = interrupted.counts(Self.region, c).created + resumed.counts(Self.region, c).created
            #expect(created == data.expectedExport(c).count, "\(c)")
        }
        #expect(resumed.counts(Self.region, .programs).fetched == 0, "programs were walked before the stop")
    }

    /// Bad records are quarantined with the place and the field, and no
    /// personal data in the reason.
    @Test func badRecordsAreQuarantinedWithoutPersonalData() async throws {
        let gateway = try await GatewayUnderTest.start(regions: [Self.region], scale: 200)
        defer { Task { await gateway.stop() } }
        _ = try await gateway.sync()
        let entries = try gateway.store.quarantined(region: "24")
        #expect(entries.count == 8)
        for entry in entries {
            #expect(entry.reason.hasPrefix("snapshot offset 0 record "), "\(entry.reason)")
            let raw = try JSONParser.parse(entry.raw)
            for path in ["child.full_name", "child.birth_date", "child.snils"] {
                if case let .string(personal)? = raw.value(atPath: path) {
                    #expect(!entry.reason.contains(personal))
                    for word in personal.split(separator: " ") where word.count > 3 {
                        #expect(!entry.reason.contains(word))
                    }
                }
            }
        }
        let reasons = entries.map(\.reason).joined(separator: "\n")
        for field in ["price_month", "child.snils", "status: unknown code \"pending\"", "month: \""] {
            #expect(reasons.contains(field), "\(field)")
        }
    }
}

@Suite("Krasnoyarsk under production faults")
struct KrasnoyarskFaultTests {
    /// 429s, 503s with an HTML body and 200s cut short: every page is fetched
    /// again until it is whole, and the store ends as a clean run's.
    @Test func faultsAreRetriedAndNothingIsLost() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["krasnoyarsk"], scale: 200) { options in
            options.faults = SimFaults(tooManyRequests: 0.05, unavailable: 0.1, cutShort: 0.2, seed: 5)
        }
        defer { Task { await gateway.stop() } }
        let data = gateway.simulator.data("krasnoyarsk")
        _ = data.touch(.programs, count: 2)
        let report = try await KrasnoyarskSyncTests.sync(gateway, pageSize: 100)
        #expect(report.succeeded, "\(report.failures)")
        try KrasnoyarskSyncTests.expectExportsMatch(gateway, data)
    }
}
