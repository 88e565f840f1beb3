import DopsyncModel
import DopsyncStore
import DopsyncTesting
import Simulator
import SyncEngine
import Synchronization
import Testing

// Helpers shared by the push suites of every region.

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
func simCertificate(_ data: RegionData, _ number: String) throws -> Certificate {
    guard case let .certificate(c)? = data.entry(.certificates, number)?.record else { throw StoreError("no certificate \(number)") }
    return c
}

/// A gateway over one simulated region, synced once, and the id of a good program it holds.
func syncedForPush(_ region: String, scale: Int = 100) async throws -> (GatewayUnderTest, RegionData, String) {
    let gateway = try await GatewayUnderTest.start(regions: [region], scale: scale)
    let report = try await gateway.sync()
    #expect(report.succeeded, "\(report.failures)")
    let data = gateway.simulator.data(region)
    return (gateway, data, try goodIDs(data, .programs)[3])
}

/// An operator's edit of a program at the gateway.
func editProgram(_ gateway: GatewayUnderTest, region code: String, _ id: String, _ changes: [(String, JSONValue)]) throws {
    _ = try gateway.store.edit(region: code, collection: .programs, sourceID: id, set: changes.map { ($0.0, $0.1) },
                               operator: "test", reason: nil)
}

/// `true` the first time only, from any thread: a hook that plays its fault once.
final class RaceOnce: Sendable {
    private let fired = Mutex(false)
    func first() -> Bool { fired.withLock { f in defer { f = true }; return !f } }
}
