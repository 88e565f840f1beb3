import DopsyncModel
import DopsyncTesting
import Simulator
import Foundation
import Testing

/// The fixed commands of interface.md, run as the binary a user runs.
@Suite("The dopsync command line")
struct CommandTests {
    @Test func syncExportStatus() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["omsk"], scale: 150)
        defer { Task { await gateway.stop() } }
        let config = gateway.simulator.configPath

        let sync = try await DopsyncBinary.run(["sync", "--config", config])
        #expect(sync.status == 0, "\(sync.stderr)")
        let lines = sync.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines[0].hasPrefix("omsk programs: fetched "))
        #expect(lines.allSatisfy { $0.contains("quarantined 2") && $0.contains("conflicts opened 0") })
        // The checks across records say what they looked at and how long
        // they took: all of a new store, then only what changed.
        #expect(sync.stderr.contains("checks across records: every record checked in "), "\(sync.stderr)")
        let again = try await DopsyncBinary.run(["sync", "--config", config])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("checks across records: what changed checked in "), "\(again.stderr)")

        let omsk = gateway.simulator.data("omsk")
        for c in CollectionName.allCases {
            let export = try await DopsyncBinary.run(["export", c.rawValue, "--config", config])
            #expect(export.status == 0)
            #expect(export.stdout.split(separator: "\n").map(String.init) == omsk.expectedExport(c), "\(c)")
        }
        let byRegion = try await DopsyncBinary.run(["export", "programs", "--region", "omsk", "--config", config])
        #expect(byRegion.stdout.split(separator: "\n").count == omsk.expectedExport(.programs).count)

        let status = try await DopsyncBinary.run(["status", "--config", config])
        #expect(status.status == 0)
        #expect(status.stdout.contains("omsk (55)"))
        #expect(status.stdout.contains("quarantined:  8"))

        let quarantine = try await DopsyncBinary.run(["quarantine", "list", "--config", config])
        #expect(quarantine.stdout.split(separator: "\n").count == 8)
    }

    @Test func configurationErrorsExitTwoNamingTheKey() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dopsync-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let config = dir.appendingPathComponent("dopsync.yaml")
        try """
            regions:
              omsk:
                base_url: https://127.0.0.1:9/navigator
                client_id: gateway
                client_secret_env: DOPSYNC_TEST_UNSET_SECRET
            """.write(to: config, atomically: true, encoding: .utf8)
        let result = try await DopsyncBinary.run(["sync", "--config", config.path], environment: [:])
        #expect(result.status == 2)
        #expect(result.stderr.contains("regions.omsk.client_secret_env: DOPSYNC_TEST_UNSET_SECRET is not set"))
        #expect(result.stdout.isEmpty)
    }

    @Test func usageErrorsExitTwo() async throws {
        let result = try await DopsyncBinary.run(["export", "pupils"])
        #expect(result.status == 2)
    }

    @Test func aRegionDownExitsOne() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["omsk"], scale: 20)
        defer { Task { await gateway.stop() } }
        await gateway.simulator.stop()
        let result = try await DopsyncBinary.run(["sync", "--config", gateway.simulator.configPath])
        #expect(result.status == 1)
        #expect(result.stdout.contains("omsk: FAILED:"))
    }
}
