import DopsyncConfig
import DopsyncModel
import DopsyncStore
import DopsyncTesting
import Foundation
import Regions
import Simulator
import Synchronization
import SyncEngine
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Leningrad end to end: the simulator over real HTTPS on loopback, libcurl,
/// the adapter, the store; the export must equal what the simulator holds.
@Suite("Leningrad syncs end to end over HTTPS")
struct LeningradSyncTests {
    static func start(scale: Int, pageSize: Int? = nil,
                      configure: (inout SimulatorOptions) -> Void = { _ in }) async throws -> (GatewayUnderTest, RegionData) {
        let gateway = try await GatewayUnderTest.start(regions: ["leningrad"], scale: scale) { options in
            options.clientPageSize = pageSize
            configure(&options)
        }
        return (gateway, gateway.simulator.data("leningrad"))
    }

    /// Every collection's export equals what the simulator holds.
    static func expectInSync(_ gateway: GatewayUnderTest, _ data: RegionData,
                             sourceLocation: SourceLocation = #_sourceLocation) throws {
        for c in CollectionName.allCases {
            #expect(try gateway.export(c) == data.expectedExport(c), "\(c)", sourceLocation: sourceLocation)
        }
    }

    /// The ids of the first `count` records of a collection in the region's
    /// order (`updated_at`, `id`), as its export says: the first page of a walk.
    static func firstInOrder(_ data: RegionData, _ collection: CollectionName, _ count: Int) throws -> [String] {
        let records = try data.expectedExport(collection).map { line -> (String, String) in
            let json = try JSONParser.parse(line)
            guard case let .string(id)? = json["source_id"], case let .string(t)? = json["source_updated_at"] else {
                throw ValueError("no source_id or source_updated_at")
            }
            return (t, id)
        }
        return records.sorted { ($0.0, $0.1.count, $0.1) < ($1.0, $1.1.count, $1.1) }.prefix(count).map(\.1)
    }

    @Test func initialThenIncrementalThenFull() async throws {
        let (gateway, lo) = try await Self.start(scale: 300)
        defer { Task { await gateway.stop() } }

        // Initial pass: every record arrives, the bad ones are quarantined.
        var report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        try Self.expectInSync(gateway, lo)
        for c in CollectionName.allCases {
            let counts = report.counts("leningrad", c)
            #expect(counts.created == lo.expectedExport(c).count, "\(c)")
            #expect(counts.quarantined == 2, "\(c)")
        }
        let reasons = try gateway.store.quarantined(region: "47").map(\.reason)
        #expect(reasons.count == 8)
        #expect(reasons.allSatisfy { $0.contains(" page 1 record ") }, "\(reasons)")

        // Changes in the region: the incremental pass reads only them (and the last second again).
        let touched = lo.touch(.programs, count: 3) + lo.touch(.certificates, count: 2)
        let added = lo.add(.certificates, count: 2)
        let deleted = lo.delete(.contracts, count: 1) + lo.delete(.certificates, count: 1)
        #expect(touched.count == 5 && added.count == 2 && deleted.count == 2)
        report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        try Self.expectInSync(gateway, lo)
        #expect(report.counts("leningrad", .programs).updated == 3)
        #expect(report.counts("leningrad", .certificates).updated == 2)
        #expect(report.counts("leningrad", .certificates).created == 2)
        #expect(report.counts("leningrad", .certificates).deleted == 1)
        #expect(report.counts("leningrad", .contracts).deleted == 1)
        #expect(report.counts("leningrad", .charges).created == 0)
        let fetched = CollectionName.allCases.map { report.counts("leningrad", $0).fetched }.reduce(0, +)
        let total = CollectionName.allCases.map { lo.recordCount($0) }.reduce(0, +)
        #expect(fetched < total / 10, "fetched \(fetched) of \(total)")

        // A deleted record keeps its fields, with the deletion's time and version.
        let gone = try #require(try gateway.export(.contracts).first { $0.contains("\"deleted\":true") })
        #expect(gone.contains("\"status\":") && gone.contains("\"source_version\":\"2\""))

        // --full reads everything again and changes nothing.
        report = try await gateway.sync(full: true)
        #expect(report.succeeded, "\(report.failures)")
        try Self.expectInSync(gateway, lo)
        for c in CollectionName.allCases {
            let counts = report.counts("leningrad", c)
            #expect(counts.fetched >= lo.recordCount(c), "\(c)")
            #expect(counts.created == 0 && counts.updated == 0 && counts.deleted == 0, "\(c)")
        }
    }

    /// Records change while the walk is under way: on the second request a
    /// quarter of the certificates move to the end, some of them from the
    /// page already read, so the pages behind shift back. The walk misses
    /// no record that stayed put.
    @Test func pageShiftsDuringAWalkLoseNothing() async throws {
        let (gateway, lo) = try await Self.start(scale: 150, pageSize: 20)
        defer { Task { await gateway.stop() } }
        let firstPage = try Self.firstInOrder(lo, .certificates, 20)
        let reads = Mutex(0)
        let touched = Mutex<[String]>([])
        lo.onRead { collection in
            guard collection == .certificates else { return }
            let n = reads.withLock { $0 += 1; return $0 }
            if n == 2 { touched.withLock { $0 += lo.touch(.certificates, count: 40) } }
            if n == 4 || n == 6 { touched.withLock { $0 += lo.touch(.certificates, count: 3) } }
        }
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        // The walk raced with changes that a page-number walk would have suffered from.
        #expect(!Set(firstPage).isDisjoint(with: touched.withLock { $0 }))
        try Self.expectInSync(gateway, lo)
        #expect(report.counts("leningrad", .certificates).created == lo.expectedExport(.certificates).count)
    }

    /// A bulk change stamps more records with one second than a page holds:
    /// the walk steps through that second by page numbers, and records of it
    /// that change meanwhile (shifting the rest back) make it read the second
    /// again until two reads agree.
    @Test func aSecondFullerThanAPageIsReadUntilTwoReadsAgree() async throws {
        let (gateway, lo) = try await Self.start(scale: 100, pageSize: 20)
        defer { Task { await gateway.stop() } }
        var report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")

        let crowd = lo.add(.certificates, count: 120)
        #expect(crowd.count == 120)
        let reads = Mutex(0)
        let touched = Mutex<[String]>([])
        lo.onRead { collection in
            guard collection == .certificates else { return }
            let n = reads.withLock { $0 += 1; return $0 }
            // The third request asks for page 2 of the crowded second.
            if n == 3 { touched.withLock { $0 += lo.touch(.certificates, count: 30) } }
        }
        report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        #expect(!Set(crowd.prefix(20)).isDisjoint(with: touched.withLock { $0 }), "a record of the page read left the second")
        try Self.expectInSync(gateway, lo)
        let counts = report.counts("leningrad", .certificates)
        #expect(counts.created == 120)
        // Old records that changed, and those of the second's first page that changed after it was read.
        let changed = Set(touched.withLock { $0 })
        #expect(counts.updated == changed.subtracting(crowd).count + changed.intersection(crowd.prefix(20)).count)
    }

    /// A contract whose certificate the gateway has not read yet is kept
    /// without its number, and gets it when the certificate arrives.
    @Test func aContractReadBeforeItsCertificateWaitsForIt() async throws {
        let (gateway, lo) = try await Self.start(scale: 100)
        defer { Task { await gateway.stop() } }
        var report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")

        // While the next sync reads contracts, a new certificate and a
        // contract on it appear. The collections are walked at once, so the
        // certificate is read in the same sync (the contract then gets its
        // number when the certificate arrives) or in the next one (the
        // contract waits without it until then).
        let added = Mutex<(certificate: String, contract: String)?>(nil)
        lo.onRead { collection in
            guard collection == .contracts, added.withLock({ $0 == nil }) else { return }
            let certificate = lo.add(.certificates, count: 1)[0]
            let contract = lo.addContract(onCertificate: certificate)!
            added.withLock { $0 = (certificate, contract) }
        }
        report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        let (certificate, contract) = try #require(added.withLock { $0 })
        let read = try #require(try gateway.export(.contracts).first { $0.contains("\"source_id\":\"\(contract)\"") })
        let certificateHeld = try gateway.export(.certificates).contains { $0.contains("\"source_id\":\"\(certificate)\"") }
        #expect(read.contains("\"certificate_number\":null") == !certificateHeld, "\(read)")

        report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        try Self.expectInSync(gateway, lo)
        let resolved = try #require(try gateway.export(.contracts).first { $0.contains("\"source_id\":\"\(contract)\"") })
        #expect(!resolved.contains("\"certificate_number\":null"))
    }

    /// A `200` whose JSON the front proxy cut short is fetched again.
    @Test func pagesCutShortAreFetchedAgain() async throws {
        let (gateway, lo) = try await Self.start(scale: 150, pageSize: 50) { options in
            options.faults = SimFaults(cutShort: 0.4, seed: 5)
        }
        defer { Task { await gateway.stop() } }
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        try Self.expectInSync(gateway, lo)
        // Every page but a walk's last holds 50 records, so a walk without
        // retries asks at most fetched / 50 + 1 times.
        let pages = CollectionName.allCases.map { report.counts("leningrad", $0).fetched / 50 + 1 }.reduce(0, +)
        #expect(lo.requestCount > pages, "no page was cut short")
    }

    /// A wrong key answers 403: the error says to check the key, never quoting it.
    @Test func aWrongKeyFailsSayingToCheckTheKey() async throws {
        let (gateway, _) = try await Self.start(scale: 20)
        defer { Task { await gateway.stop() } }
        let settings = RegionSettings.direct(name: "leningrad", [
            "base_url": gateway.simulator.baseURL("leningrad"), "api_key": "not-the-key", "ca_file": gateway.simulator.caPath,
        ])
        let adapter = try LeningradAdapter(settings: settings)
        let link = try LinkKey.loadOrCreate(path: gateway.configuration.keyFilePath)
        let report = await SyncEngine(store: gateway.store, link: link, regions: [(settings, adapter)],
                                      progress: SilentProgress()).run(full: false)
        let message = try #require(report.failures["leningrad"])
        #expect(message.contains("the API key was refused (HTTP 403"), "\(message)")
        #expect(message.contains("regions.leningrad.api_key_env or api_key_file"))
        #expect(!message.contains("not-the-key"))
    }

    /// `dopsync sync` killed with SIGKILL in the middle of a walk: the next
    /// sync goes on from the last committed page and ends as a clean run would.
    @Test func aSyncKilledMidWalkResumesWithNothingLostOrTwice() async throws {
        let (gateway, lo) = try await Self.start(scale: 150, pageSize: 20)
        defer { Task { await gateway.stop() } }
        let pid = Mutex<Int32>(0)
        let reads = Mutex(0)
        lo.onRead { collection in
            guard collection == .certificates, reads.withLock({ $0 += 1; return $0 }) == 3 else { return }
            // Dies while it waits for the third page: two were committed.
            kill(pid.withLock { $0 }, SIGKILL)
        }
        let process = try DopsyncBinary.launch(["sync", "--config", gateway.simulator.configPath])
        pid.withLock { $0 = process.processIdentifier }
        let ended = await withCheckedContinuation { (done: CheckedContinuation<ChildProcess.Termination, Never>) in
            Thread { done.resume(returning: process.waitUntilExit()) }.start()
        }
        #expect(ended == .signal(SIGKILL))
        let held = try gateway.export(.certificates).count
        #expect(held >= 20 && held < lo.expectedExport(.certificates).count, "\(held)")
        let heldPrograms = try gateway.export(.programs).count

        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        try Self.expectInSync(gateway, lo)
        let certificates = report.counts("leningrad", .certificates)
        #expect(held + certificates.created == lo.expectedExport(.certificates).count)
        #expect(certificates.updated == 0)
        #expect(certificates.fetched < lo.recordCount(.certificates))
        // The collections are walked at once: the programs' walk too goes on
        // from where it stood, creating only what it had not stored.
        let programs = report.counts("leningrad", .programs)
        #expect(heldPrograms + programs.created == lo.expectedExport(.programs).count)
        #expect(programs.updated == 0)
    }
}
