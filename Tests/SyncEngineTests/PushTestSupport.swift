import DopsyncModel
import DopsyncStore
import DopsyncTesting
import Simulator
import SyncEngine
import Synchronization
import Testing

// Helpers the push tests of every region share.

/// Source ids of good (never quarantined) records of a simulated collection.
func goodIDs(_ data: RegionData, _ collection: CollectionName) throws -> [String] {
    try data.expectedExport(collection).map { line in
        guard case let .string(id)? = try JSONParser.parse(line)["source_id"] else { throw StoreError("no source_id") }
        return id
    }
}

/// The simulator's program as a normalized record.
func simProgram(_ data: RegionData, _ id: String) throws -> Program {
    guard case let .program(p)? = data.entry(.programs, id)?.record else { throw StoreError("no program \(id)") }
    return p
}

/// The simulator's certificate as a normalized record.
func simCertificate(_ data: RegionData, _ id: String) throws -> Certificate {
    guard case let .certificate(c)? = data.entry(.certificates, id)?.record else { throw StoreError("no certificate \(id)") }
    return c
}

/// The source id of the first good certificate of the simulator with `status`.
func certificateID(_ data: RegionData, status: CertificateStatus) throws -> String? {
    try goodIDs(data, .certificates).first { (try? simCertificate(data, $0).status) == status }
}

/// `true` the first time only, from any thread: a hook that plays its fault once.
final class RaceOnce: Sendable {
    private let fired = Mutex(false)
    func first() -> Bool { fired.withLock { f in defer { f = true }; return !f } }
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
