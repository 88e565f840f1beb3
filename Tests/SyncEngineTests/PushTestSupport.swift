import DopsyncModel
import DopsyncStore
import DopsyncTesting
import Simulator
import SyncEngine
import Testing

// Helpers the push tests of every region share, beside those of
// DopsyncTesting/PushTesting.swift.

/// The source id of the first good certificate of the simulator with `status`.
func certificateID(_ data: RegionData, status: CertificateStatus) throws -> String? {
    try goodIDs(data, .certificates).first { (try? simCertificate(data, $0).status) == status }
}

/// A gateway configured for `region` only, synced once (and successfully).
func syncedGateway(_ region: String, scale: Int = 100) async throws -> (GatewayUnderTest, RegionData) {
    let gateway = try await GatewayUnderTest.start(regions: [region], scale: scale)
    let report = try await gateway.sync()
    #expect(report.succeeded, "\(report.failures)")
    return (gateway, gateway.simulator.data(region))
}

extension GatewayUnderTest {
    /// An operator's edit of one record, as `dopsync edit` makes it.
    func edit(_ code: String, _ collection: CollectionName, _ sourceID: String, _ changes: [(String, JSONValue)]) throws {
        _ = try store.edit(region: code, collection: collection, sourceID: sourceID, set: changes.map { ($0.0, $0.1) },
                           operator: "test", reason: nil)
    }
}

/// A gateway over one simulated region, synced once, and the id of a good program it holds.
func syncedForPush(_ region: String, scale: Int = 100) async throws -> (GatewayUnderTest, RegionData, String) {
    let (gateway, data) = try await syncedGateway(region, scale: scale)
    return (gateway, data, try goodIDs(data, .programs)[3])
}

/// An operator's edit of a program at the gateway.
func editProgram(_ gateway: GatewayUnderTest, region code: String, _ id: String, _ changes: [(String, JSONValue)]) throws {
    try gateway.edit(code, .programs, id, changes)
}
