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

extension GatewayUnderTest {
    /// The configured Kemerovo section.
    var kemerovoSettings: RegionSettings { configuration.regions.first { $0.name == "kemerovo" }! }

    /// One sync of Kemerovo through an adapter made here: small pages make a
    /// walk of many pages out of a small world.
    func syncKemerovo(full: Bool = false, settings: RegionSettings? = nil, pageSize: Int = 1000,
                      retryPolicy: RetryPolicy = .default) async throws -> SyncReport {
        let settings = settings ?? kemerovoSettings
        let adapter = try KemerovoAdapter(settings: settings, pageSize: pageSize, retryPolicy: retryPolicy)
        let link = try LinkKey.loadOrCreate(path: configuration.keyFilePath)
        return await SyncEngine(store: store, link: link, regions: [(settings, adapter)], progress: SilentProgress())
            .run(full: full)
    }
}

/// What an incremental pass must leave: Kemerovo reports no deletions, so a
/// record deleted in the region is still live at the gateway, as last read.
func withoutDeletions(_ lines: [String]) -> [String] {
    lines.map { $0.replacingOccurrences(of: "\"deleted\":true}", with: "\"deleted\":false}") }
}

/// Counts calls, for hooks that must act on the n-th read of a collection.
final class ReadCounter: Sendable {
    private let counts = Mutex<[CollectionName: Int]>([:])
    /// Counts a read of `collection` and returns its number, from 1.
    func next(_ collection: CollectionName) -> Int { counts.withLock { $0[collection, default: 0] += 1; return $0[collection]! } }
    func count(_ collection: CollectionName) -> Int { counts.withLock { $0[collection, default: 0] } }
    var total: Int { counts.withLock { $0.values.reduce(0, +) } }
}

/// Kemerovo end to end: the simulator over real HTTPS with a client
/// certificate, libcurl, the adapter, the store.
@Suite("Kemerovo syncs end to end over mutual TLS")
struct KemerovoSyncTests {
    @Test func initialIncrementalAndFullPasses() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["kemerovo"], scale: 300)
        defer { Task { await gateway.stop() } }
        let kemerovo = gateway.simulator.data("kemerovo")

        // Initial pass: every record arrives (Cyrillic text decoded from
        // windows-1251), the bad ones are quarantined.
        var report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        for c in CollectionName.allCases {
            #expect(try gateway.export(c) == kemerovo.expectedExport(c), "\(c)")
            let counts = report.counts("kemerovo", c)
            #expect(counts.created == kemerovo.expectedExport(c).count, "\(c)")
            #expect(counts.quarantined == 2, "\(c)")
            // Consistent data raises no conflict: balances, charge splits and references add up.
            #expect(counts.conflictsOpened == 0, "\(c)")
        }
        #expect(try gateway.store.quarantined(region: "42").count == 8)

        // Changes in the region: the incremental pass reads only them (and
        // the last second of the previous pass again), and deletes nothing.
        let touched = kemerovo.touch(.programs, count: 3)
        let added = kemerovo.add(.certificates, count: 2)
        let deleted = kemerovo.delete(.contracts, count: 2)
        #expect(deleted.count == 2)
        report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        for c in CollectionName.allCases {
            #expect(try gateway.export(c) == withoutDeletions(kemerovo.expectedExport(c)), "\(c)")
            #expect(report.counts("kemerovo", c).deleted == 0, "\(c)")
        }
        #expect(report.counts("kemerovo", .programs).updated == touched.count)
        #expect(report.counts("kemerovo", .certificates).created == added.count)
        let fetched = CollectionName.allCases.map { report.counts("kemerovo", $0).fetched }.reduce(0, +)
        let total = CollectionName.allCases.map { kemerovo.recordCount($0) }.reduce(0, +)
        #expect(fetched < total / 10, "fetched \(fetched) of \(total)")

        // A full pass reads everything and marks deleted what it did not list.
        report = try await gateway.sync(full: true)
        #expect(report.succeeded, "\(report.failures)")
        for c in CollectionName.allCases {
            #expect(try gateway.export(c) == kemerovo.expectedExport(c), "\(c)")
            let counts = report.counts("kemerovo", c)
            #expect(counts.created == 0 && counts.updated == 0, "\(c)")
            #expect(counts.deleted == (c == .contracts ? deleted.count : 0), "\(c)")
        }
        let exported = try gateway.export(.contracts)
        for id in deleted {
            #expect(exported.contains { $0.contains("\"source_id\":\"\(id)\"") && $0.hasSuffix("\"deleted\":true}") })
        }

        // Another full pass finds nothing new.
        report = try await gateway.sync(full: true)
        #expect(report.succeeded, "\(report.failures)")
        for c in CollectionName.allCases {
            let counts = report.counts("kemerovo", c)
            #expect(counts.created == 0 && counts.updated == 0 && counts.deleted == 0, "\(c)")
        }
    }

    @Test func quarantineNamesPageRecordAndFieldButNoPersonalData() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["kemerovo"], scale: 100)
        defer { Task { await gateway.stop() } }
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        let entries = try gateway.store.quarantined(region: "42")
        #expect(entries.count == 8)
        let fields: [CollectionName: String] = [.programs: "MonthPrice: ", .certificates: "Child.Snils: ",
                                                .contracts: "Status: ", .charges: "Month: "]
        let elements: [CollectionName: String] = [.programs: "Program", .certificates: "Certificate",
                                                  .contracts: "Contract", .charges: "Charge"]
        for entry in entries {
            #expect(entry.reason.hasPrefix("page 1 record "), "\(entry.reason)")
            #expect(entry.reason.contains(fields[entry.collection]!), "\(entry.reason)")
            #expect(entry.sourceID != nil)
            #expect(entry.raw.hasPrefix("<\(elements[entry.collection]!)>"))
            // The raw text, as stored, decodes again to the same reason (what `quarantine retry` does).
            guard case let .quarantine(id, _, reason) = KemerovoAdapter.decode(raw: entry.raw, collection: entry.collection) else {
                Issue.record("\(entry.collection) \(entry.sourceID ?? "?") decodes now")
                continue
            }
            #expect(id == entry.sourceID)
            #expect(entry.reason.hasSuffix(reason))
            if entry.collection == .certificates {
                for element in ["LastName", "FirstName", "MiddleName", "BirthDate", "Snils"] {
                    guard let start = entry.raw.range(of: "<\(element)>"), let end = entry.raw.range(of: "</\(element)>") else { continue }
                    let value = String(entry.raw[start.upperBound..<end.lowerBound])
                    #expect(!entry.reason.contains(value), "the reason quotes \(element)")
                }
            }
        }
    }

    // MARK: Walks that race with changes

    /// Records change while an incremental walk is under way (they move to
    /// the end of the order): the keyset walk still reads every record once
    /// at least, where an offset walk would skip the ones that moved up.
    @Test func anIncrementalWalkMissesNothingWhileRecordsChange() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["kemerovo"], scale: 100)
        defer { Task { await gateway.stop() } }
        let kemerovo = gateway.simulator.data("kemerovo")
        let reads = ReadCounter()
        kemerovo.onRead { collection in
            if collection == .certificates, reads.next(collection) == 3 { kemerovo.touch(.certificates, count: 30) }
            if collection == .contracts, reads.next(collection) == 3 { kemerovo.touch(.contracts, count: 30) }
        }
        let report = try await gateway.syncKemerovo(pageSize: 20)
        #expect(report.succeeded, "\(report.failures)")
        #expect(reads.count(.certificates) > 3)
        for c in CollectionName.allCases {
            #expect(try gateway.export(c) == kemerovo.expectedExport(c), "\(c)")
        }
    }

    /// A full walk while records change and others were deleted: nothing
    /// live is missed (it would be wrongly marked deleted), the deleted are.
    @Test func aFullWalkDeletesOnlyWhatIsGoneWhileRecordsChange() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["kemerovo"], scale: 100)
        defer { Task { await gateway.stop() } }
        let kemerovo = gateway.simulator.data("kemerovo")
        var report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        let deleted = kemerovo.delete(.certificates, count: 5)
        let reads = ReadCounter()
        kemerovo.onRead { collection in
            if collection == .certificates, reads.next(collection) == 3 { kemerovo.touch(.certificates, count: 40) }
        }
        report = try await gateway.syncKemerovo(full: true, pageSize: 20)
        #expect(report.succeeded, "\(report.failures)")
        #expect(report.counts("kemerovo", .certificates).deleted == deleted.count)
        for c in CollectionName.allCases {
            #expect(try gateway.export(c) == kemerovo.expectedExport(c), "\(c)")
        }
    }

    /// More records than a page share one second: the walk steps through
    /// that second with an overlap, and when records of it move away under
    /// the offset it reads the second again instead of skipping records.
    @Test func aSecondLargerThanAPageIsSteppedThroughAndGuarded() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["kemerovo"], scale: 20)
        defer { Task { await gateway.stop() } }
        let kemerovo = gateway.simulator.data("kemerovo")
        kemerovo.add(.programs, count: 90)       // ninety programs changed in one second
        let reads = ReadCounter()
        kemerovo.onRead { collection in
            // The fourth page is the third within that second: it must begin where the second ended.
            if collection == .programs, reads.next(collection) == 4 { kemerovo.touch(.programs, count: 50) }
        }
        var report = try await gateway.syncKemerovo(pageSize: 30)
        #expect(report.succeeded, "\(report.failures)")
        #expect(try gateway.export(.programs) == kemerovo.expectedExport(.programs))

        // The same in a full walk, with programs deleted meanwhile.
        let deleted = kemerovo.delete(.programs, count: 4)
        let fullReads = ReadCounter()
        kemerovo.onRead { collection in
            if collection == .programs, fullReads.next(collection) == 4 { kemerovo.touch(.programs, count: 50) }
        }
        report = try await gateway.syncKemerovo(full: true, pageSize: 30)
        #expect(report.succeeded, "\(report.failures)")
        #expect(report.counts("kemerovo", .programs).deleted == deleted.count)
        for c in CollectionName.allCases {
            #expect(try gateway.export(c) == kemerovo.expectedExport(c), "\(c)")
        }
    }

    // MARK: Failures

    /// A full walk that fails midway deletes nothing; the next full sync
    /// resumes it from its last committed page and then deletes.
    @Test func aFullWalkThatFailsMidwayDeletesNothingAndResumes() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["kemerovo"], scale: 100)
        defer { Task { await gateway.stop() } }
        let kemerovo = gateway.simulator.data("kemerovo")
        var report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        let deleted = kemerovo.delete(.certificates, count: 5)
        let reads = ReadCounter()
        kemerovo.onRead { collection in
            // From the third page of certificates on, the front proxy answers 503.
            if collection == .certificates, reads.next(collection) == 3 { kemerovo.setFaults(SimFaults(unavailable: 1)) }
        }
        let impatient = RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(10), maxDelay: .milliseconds(20),
                                    maxTotalWait: .seconds(1))
        report = try await gateway.syncKemerovo(full: true, pageSize: 20, retryPolicy: impatient)
        #expect(!report.succeeded)
        #expect(report.failures["kemerovo"]?.contains("503") == true, "\(report.failures)")
        #expect(report.counts("kemerovo", .certificates).deleted == 0)
        #expect(try gateway.export(.certificates) == withoutDeletions(kemerovo.expectedExport(.certificates)))

        kemerovo.setFaults(.none)
        report = try await gateway.syncKemerovo(full: true, pageSize: 20)
        #expect(report.succeeded, "\(report.failures)")
        #expect(report.counts("kemerovo", .certificates).deleted == deleted.count)
        // It went on from the third page rather than starting over.
        #expect(report.counts("kemerovo", .certificates).fetched < kemerovo.recordCount(.certificates) - 30)
        for c in CollectionName.allCases {
            #expect(try gateway.export(c) == kemerovo.expectedExport(c), "\(c)")
        }
    }

    /// 429s, 503s with an HTML body and answers cut short in the middle of
    /// their windows-1251 bytes are all fetched again.
    @Test func productionFaultsAreRetriedAndNothingIsLost() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["kemerovo"], scale: 300) { options in
            options.faults = SimFaults(tooManyRequests: 0.05, unavailable: 0.1, cutShort: 0.25, seed: 5)
        }
        defer { Task { await gateway.stop() } }
        let kemerovo = gateway.simulator.data("kemerovo")
        let report = try await gateway.syncKemerovo(pageSize: 200)
        #expect(report.succeeded, "\(report.failures)")
        for c in CollectionName.allCases {
            #expect(try gateway.export(c) == kemerovo.expectedExport(c), "\(c)")
        }
    }

    /// Beyond 5 requests a second the exchange answers fault `ES2-429`; the
    /// limit is the client's, so eight gateways sharing one client id exceed
    /// it together whatever the machine's speed (their first requests alone
    /// are more than five). Each waits a second and asks
    /// again, and each ends with every record.
    @Test func es2TooManyRequestsIsWaitedOut() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["kemerovo"], scale: 60)
        defer { Task { await gateway.stop() } }
        let kemerovo = gateway.simulator.data("kemerovo")
        let reads = ReadCounter()
        kemerovo.onRead { _ = reads.next($0) }
        let settings = gateway.kemerovoSettings
        let link = try LinkKey.loadOrCreate(path: gateway.configuration.keyFilePath)
        let stores = try (0..<8).map { _ in try Store.inMemory() }
        let reports = try await withThrowingTaskGroup(of: SyncReport.self) { group in
            for store in stores {
                let adapter = try KemerovoAdapter(settings: settings)
                group.addTask {
                    await SyncEngine(store: store, link: link, regions: [(settings, adapter)], progress: SilentProgress()).run(full: false)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for report in reports { #expect(report.succeeded, "\(report.failures)") }
        let refused = kemerovo.requestCount - reads.total
        #expect(refused > 0, "no request was refused with ES2-429")
        for store in stores {
            for c in CollectionName.allCases {
                var lines: [String] = []
                try store.export(c) { lines.append($0) }
                #expect(lines == kemerovo.expectedExport(c), "\(c)")
            }
        }
    }

    /// Any other fault stops the pass at once, with its code and text.
    @Test func aFaultStopsThePassWithItsCodeAndText() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["kemerovo"], scale: 20)
        defer { Task { await gateway.stop() } }
        let kemerovo = gateway.simulator.data("kemerovo")
        let settings = gateway.kemerovoSettings
        let stranger = RegionSettings.direct(name: "kemerovo", [
            "base_url": settings["base_url"]!, "client_id": "stranger", "client_cert_file": settings["client_cert_file"]!,
            "client_key_file": settings["client_key_file"]!, "ca_file": settings["ca_file"]!,
        ])
        let report = try await gateway.syncKemerovo(settings: stranger)
        let failure = try #require(report.failures["kemerovo"])
        #expect(failure.contains("ES2-403") && failure.contains("Клиент не зарегистрирован"), "\(failure)")
        // The collections are walked at once: each walk asks once, and none asks again.
        #expect(KemerovoAdapter.descriptor.collections.contains { failure.hasPrefix("kemerovo \($0.rawValue) (") }, "\(failure)")
        #expect(kemerovo.requestCount == KemerovoAdapter.descriptor.collections.count, "a fault is not retried")
    }

    // MARK: Mutual TLS

    @Test func aConfigurationWithoutTheClientCertificateNamesTheKey() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dopsync-kem-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("dopsync.yaml").path
        try "regions:\n  kemerovo:\n    base_url: https://127.0.0.1:8445\n    client_id: gateway\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try Configuration.load(path: path, regionSpecs: regionSettingSpecs)
            Issue.record("a configuration without the client certificate was accepted")
        } catch {
            #expect(error.errors.map(\.description) == [
                "regions.kemerovo.client_cert_file: missing (set client_cert_file)",
                "regions.kemerovo.client_key_file: missing (set client_key_file)",
            ])
        }
    }

    /// A certificate from another CA is refused during the handshake: the
    /// pass fails at once with a message that says it is the client certificate.
    @Test func aClientCertificateTheRegionDoesNotTrustFailsThePass() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["kemerovo"], scale: 20)
        let other = try await GatewayUnderTest.start(regions: ["kemerovo"], scale: 20)
        defer { Task { await gateway.stop(); await other.stop() } }
        let settings = gateway.kemerovoSettings, foreign = other.kemerovoSettings
        let untrusted = RegionSettings.direct(name: "kemerovo", [
            "base_url": settings["base_url"]!, "client_id": "gateway", "client_cert_file": foreign["client_cert_file"]!,
            "client_key_file": foreign["client_key_file"]!, "ca_file": settings["ca_file"]!,
        ])
        let report = try await gateway.syncKemerovo(settings: untrusted)
        let failure = try #require(report.failures["kemerovo"])
        #expect(failure.contains("client certificate"), "\(failure)")
        // A refused certificate is not retried: retries end "gave up after N attempts".
        #expect(!failure.contains("gave up"), "\(failure)")
        #expect(try gateway.export(.programs).isEmpty)
    }
}
