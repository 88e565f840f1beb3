import DopsyncModel
import DopsyncStore
import DopsyncTesting
import Foundation
import Simulator
import SyncEngine
import Testing

/// Omsk end to end: the simulator over real HTTPS on loopback, libcurl, the
/// adapter, the store; the export must equal what the simulator holds.
@Suite("Omsk syncs end to end over HTTPS")
struct OmskSyncTests {
    @Test func initialThenIncremental() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["omsk"], scale: 300)
        defer { Task { await gateway.stop() } }
        let omsk = gateway.simulator.data("omsk")

        // Initial pass: every record arrives, the bad ones are quarantined.
        var report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        for c in CollectionName.allCases {
            #expect(try gateway.export(c) == omsk.expectedExport(c), "\(c)")
            let counts = report.counts("omsk", c)
            #expect(counts.created == omsk.expectedExport(c).count)
            #expect(counts.quarantined == 2, "\(c)")
        }
        #expect(try gateway.store.quarantined(region: "55").count == 8)

        // Changes in the region: the incremental pass touches only them.
        let touched = omsk.touch(.programs, count: 3)
        let added = omsk.add(.certificates, count: 2)
        let deleted = omsk.delete(.contracts, count: 1)
        report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        for c in CollectionName.allCases {
            #expect(try gateway.export(c) == omsk.expectedExport(c), "\(c)")
        }
        #expect(report.counts("omsk", .programs).updated == touched.count)
        #expect(report.counts("omsk", .certificates).created == added.count)
        #expect(report.counts("omsk", .contracts).deleted == deleted.count)
        let fetched = CollectionName.allCases.map { report.counts("omsk", $0).fetched }.reduce(0, +)
        let total = CollectionName.allCases.map { omsk.recordCount($0) }.reduce(0, +)
        // Only the changed records and the last second of the previous pass are read again.
        #expect(fetched < total / 10, "fetched \(fetched) of \(total)")
        for c in CollectionName.allCases where c != .programs {
            #expect(report.counts("omsk", c).updated == 0, "\(c)")
        }
        #expect(report.counts("omsk", .charges).created == 0)
        // The checks across records have seen every change, so that the next
        // sync's checks look only at what it changes (one region configured
        // of the four the gateway knows).
        let (checked, sequence) = try gateway.store.reading { (try $0.checkedSequence(), try $0.changeSequence()) }
        #expect(checked == sequence)
    }

    @Test func revokedTokenIsRenewedAndTheCallRepeated() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["omsk"], scale: 100)
        defer { Task { await gateway.stop() } }
        let omsk = gateway.simulator.data("omsk")
        _ = try await gateway.sync()
        omsk.revokeTokens()
        _ = omsk.touch(.programs, count: 2)
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        #expect(try gateway.export(.programs) == omsk.expectedExport(.programs))
    }

    @Test func fullPassReReadsEverythingAndChangesNothing() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["omsk"], scale: 100)
        defer { Task { await gateway.stop() } }
        let omsk = gateway.simulator.data("omsk")
        _ = try await gateway.sync()
        let report = try await gateway.sync(full: true)
        #expect(report.succeeded)
        for c in CollectionName.allCases {
            let counts = report.counts("omsk", c)
            #expect(counts.fetched == omsk.recordCount(c), "\(c)")
            #expect(counts.created == 0 && counts.updated == 0 && counts.deleted == 0, "\(c)")
            #expect(try gateway.export(c) == omsk.expectedExport(c))
        }
    }

    @Test func expiredCursorRestartsFromWhereTheWalkStood() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["omsk"], scale: 3000) { options in
            options.cursorLifetime = .zero
        }
        defer { Task { await gateway.stop() } }
        let omsk = gateway.simulator.data("omsk")
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        for c in CollectionName.allCases {
            #expect(try gateway.export(c) == omsk.expectedExport(c), "\(c)")
        }
    }

    @Test func aRegionThatIsDownFailsWithAClearMessage() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["omsk"], scale: 20)
        await gateway.simulator.stop()
        let report = try await gateway.sync()
        #expect(!report.succeeded)
        let message = try #require(report.failures["omsk"])
        #expect(message.contains("omsk"))
        #expect(message.contains("https://127.0.0.1:"))
    }
}

@Suite("Omsk under production faults")
struct OmskFaultTests {
    /// 429s, 503s with an HTML body and 200s cut short: every page is fetched
    /// again until it is whole, and the store ends as a clean run's.
    @Test func faultsAreRetriedAndNothingIsLost() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["omsk"], scale: 400) { options in
            options.faults = SimFaults(tooManyRequests: 0.05, unavailable: 0.1, cutShort: 0.2, seed: 11)
        }
        defer { Task { await gateway.stop() } }
        let omsk = gateway.simulator.data("omsk")
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        for c in CollectionName.allCases {
            #expect(try gateway.export(c) == omsk.expectedExport(c), "\(c)")
        }
    }
}
