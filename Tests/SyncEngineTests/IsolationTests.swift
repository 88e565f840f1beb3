import DopsyncModel
import DopsyncTesting
import Simulator
import SyncEngine
import Testing

/// "One region down does not hold up the others": regions are pulled
/// concurrently, and a region whose pass fails leaves the others complete.
@Suite("One region down never holds up the others")
struct IsolationTests {
    @Test func aRegionAnsweringOnly503FailsAloneAndTheOthersComplete() async throws {
        let gateway = try await GatewayUnderTest.start(regions: SimulatorOptions.availableRegions, scale: 150)
        defer { Task { await gateway.stop() } }
        let down = "leningrad"
        gateway.simulator.data(down).setFaults(SimFaults(unavailable: 1))
        let report = try await gateway.sync()

        #expect(Set(report.failures.keys) == [down], "\(report.failures)")
        let message = try #require(report.failures[down])
        #expect(message.contains(down) && message.contains("503"), "\(message)")
        for region in gateway.simulator.regions where region != down {
            let data = gateway.simulator.data(region)
            for c in CollectionName.allCases {
                #expect(try gateway.export(c, region: data.code) == data.expectedExport(c), "\(region) \(c)")
            }
        }
        #expect(try gateway.export(.programs, region: gateway.simulator.data(down).code).isEmpty)
    }
}
