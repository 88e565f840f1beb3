public import DopsyncModel
internal import DopsyncStore
public import Simulator
internal import Synchronization

// Helpers of the push tests of every region: which records to edit, what the
// simulator holds, and faults that fire once.

/// Source ids of good (never quarantined) records of a simulated collection.
///
/// - Throws: `StoreError` when an expected line has no `source_id`.
public func goodIDs(_ data: RegionData, _ collection: CollectionName) throws -> [String] {
    try data.expectedExport(collection).map { line in
        guard case let .string(id)? = try JSONParser.parse(line)["source_id"] else { throw StoreError("no source_id") }
        return id
    }
}

/// The simulator's program as a normalized record.
///
/// - Throws: `StoreError` when the simulator has no such program.
public func simProgram(_ data: RegionData, _ id: String) throws -> Program {
    guard case let .program(p)? = data.entry(.programs, id)?.record else { throw StoreError("no program \(id)") }
    return p
}

/// The simulator's certificate as a normalized record.
///
/// - Throws: `StoreError` when the simulator has no such certificate.
public func simCertificate(_ data: RegionData, _ id: String) throws -> Certificate {
    guard case let .certificate(c)? = data.entry(.certificates, id)?.record else { throw StoreError("no certificate \(id)") }
    return c
}

/// `true` the first time only, from any thread: a hook that plays its fault once.
public final class RaceOnce: Sendable {
    private let fired = Mutex(false)
    public init() {}
    public func first() -> Bool { fired.withLock { f in defer { f = true }; return !f } }
}
