import DopsyncModel
import DopsyncTesting
import Foundation
import Simulator
import Testing

/// "Stopped at any moment (a crash, `kill -9`, a network cut), the next
/// `sync` goes on from where it stood and ends with the same store as one
/// uninterrupted run": a real `dopsync sync` process is killed with SIGKILL
/// at seeded random moments, then synced to the end.
@Suite("A sync killed at any moment resumes without loss or duplicates")
struct CrashTests {
    @Test func killedSyncsEndAsAnUninterruptedRun() async throws {
        let gateway = try await GatewayUnderTest.start(regions: SimulatorOptions.availableRegions, scale: 4000, seed: 21)
        defer { Task { await gateway.stop() } }
        let config = gateway.simulator.configPath
        var random = SystemRandomNumberGenerator()
        let seed = UInt64.random(in: 0...UInt64.max, using: &random)
        var rng = SeededRandom(seed: seed)
        func killedSyncs(_ rounds: Int, changing: Bool) async throws {
            for round in 0..<rounds {
                let process = try DopsyncBinary.launch(["sync", "--config", config])
                try await Task.sleep(for: .milliseconds(Int(rng.next() % 500) + 20))
                await DopsyncBinary.kill9(process)
                // Regions change between the crashes, as they do in production:
                // only records the gateway already held are deleted, so that
                // what an uninterrupted run would hold is well defined, and
                // only where the region reports deletions (an incremental
                // sync cannot learn of Kemerovo's).
                if changing && round % 2 == 0 {
                    for region in gateway.simulator.regions {
                        let data = gateway.simulator.data(region)
                        data.touch(.programs, count: 3)
                        data.add(.certificates, count: 2)
                        if data.reportsDeletions { data.delete(.contracts, count: 1) }
                    }
                }
            }
            let last = try await DopsyncBinary.run(["sync", "--config", config])
            #expect(last.status == 0, "seed \(seed): \(last.stdout) \(last.stderr)")
        }
        // Killed during the first pass, then during incremental ones.
        try await killedSyncs(4, changing: false)
        try await expectExportsMatch(gateway, config: config, seed: seed)
        try await killedSyncs(4, changing: true)
        try await expectExportsMatch(gateway, config: config, seed: seed)
    }

    func expectExportsMatch(_ gateway: GatewayUnderTest, config: String, seed: UInt64) async throws {
        for region in gateway.simulator.regions {
            let data = gateway.simulator.data(region)
            for c in CollectionName.allCases {
                let export = try await DopsyncBinary.run(["export", c.rawValue, "--region", region, "--config", config])
                let lines = export.stdout.split(separator: "\n").map(String.init)
                let expected = data.expectedExport(c)
                let missing = Set(expected).subtracting(lines), extra = Set(lines).subtracting(expected)
                #expect(missing.isEmpty && extra.isEmpty && lines.count == expected.count,
                        "seed \(seed): \(region) \(c): \(missing.count) missing, \(extra.count) unexpected; first missing \(missing.sorted().prefix(2)); first unexpected \(extra.sorted().prefix(2))")
            }
        }
    }
}

