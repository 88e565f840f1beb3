internal import DopsyncModel

/// A simulated regional system: its identity, how it names records, and its
/// HTTP API as a pure function of a request. One folder per region
/// (`Omsk/`…) and one line in `SimulatorOptions.regionAPIs`.
protocol RegionAPI: Sendable {
    /// The region's name as in the configuration (`omsk`).
    static var name: String { get }
    /// The region's code (`"55"`).
    static var code: String { get }
    /// How its records are named.
    static var ids: IDScheme { get }
    /// The path its base URL ends with (`/navigator`), or "".
    static var basePath: String { get }
    /// Whether clients must present a certificate (mutual TLS).
    static var requiresClientCertificate: Bool { get }
    /// Whether its reads tell of deletions (Kemerovo's do not).
    static var reportsDeletions: Bool { get }

    /// The meta the gateway's export must show for an entry.
    static func expectedMeta(_ entry: SimEntry) -> SourceMeta

    /// The whole record the gateway's export must show for an entry: by
    /// default the entry's record with `expectedMeta`. A region whose wire
    /// cannot carry some of the model's fields (Leningrad sends no
    /// description and no municipality name) gives what its wire can say.
    static func expectedRecord(_ entry: SimEntry) -> Record

    init(data: RegionData, options: SimulatorOptions)

    /// Answers one request.
    func respond(to request: SimRequest) async -> SimResponse

    /// Whether a request asks for a token (spared by the faults).
    func isTokenRequest(_ request: SimRequest) -> Bool

    /// The region's section of the gateway's configuration, and the files
    /// (name → content) it names, written beside it.
    func configuration(baseURL: String) -> (yaml: [String], files: [String: String])
}

extension RegionAPI {
    static var requiresClientCertificate: Bool { false }
    static var reportsDeletions: Bool { true }

    func isTokenRequest(_ request: SimRequest) -> Bool { request.path.hasSuffix("/oauth/token") }

    /// Region, id, updatedAt, version and deletion of the entry as they stand.
    static func expectedMeta(_ entry: SimEntry) -> SourceMeta {
        SourceMeta(region: code, sourceID: entry.sourceID, updatedAt: entry.updatedAt,
                   version: entry.record.collection == .charges ? nil : String(entry.version), deleted: entry.deleted)
    }

    /// The entry's record with `expectedMeta`.
    static func expectedRecord(_ entry: SimEntry) -> Record {
        var record = entry.record
        record.meta = expectedMeta(entry)
        return record
    }
}
