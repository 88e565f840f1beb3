public import DopsyncConfig
public import DopsyncModel
public import Transport

/// What a region is: its name and code, its clock, what it serves and how
/// fast it may be asked. Mirrors `regions/<name>/region.yaml`.
public struct RegionDescriptor: Sendable {
    /// The name used in the configuration (`omsk`).
    public let name: String
    /// The two-digit region code used in records (`"55"`).
    public let code: String
    /// The region's name for people.
    public let title: String
    /// The fixed offset of the region's local times from UTC, in seconds.
    public let utcOffsetSeconds: Int
    /// The collections it serves, in the order a sync pulls them.
    public let collections: [CollectionName]
    /// Records asked for per page.
    public let pageSize: Int
    /// The documented request limit, per second.
    public let requestsPerSecond: Int
    /// The settings its configuration section accepts.
    public let settings: [SettingSpec]

    public init(name: String, code: String, title: String, utcOffsetSeconds: Int, collections: [CollectionName],
                pageSize: Int, requestsPerSecond: Int, settings: [SettingSpec]) {
        self.name = name; self.code = code; self.title = title; self.utcOffsetSeconds = utcOffsetSeconds
        self.collections = collections; self.pageSize = pageSize; self.requestsPerSecond = requestsPerSecond
        self.settings = settings
    }

    /// Settings every region's section accepts besides its adapter's own.
    /// `requests_per_second` replaces the documented limit the client keeps
    /// to: for a region that grants more, or a simulated one run without
    /// limits (`dopsync sim --no-rate-limits`, as `make bench` does).
    public static let commonSettings = [SettingSpec("requests_per_second", .positiveInteger, required: false)]

    /// The request rate the client keeps to with `settings`.
    public func requestsPerSecond(_ settings: RegionSettings) -> Int {
        settings["requests_per_second"].flatMap { Int($0) } ?? requestsPerSecond
    }
}

/// Where a pull keeps its state and puts what it reads.
///
/// The sync engine implements it over the store: `commit` stores a page's
/// records and moves the named position in one transaction, so a pull killed
/// at any moment resumes from the last committed page.
public protocol PullSink: Sendable {
    /// The saved position of a stream (a collection, or a feed), or `nil`.
    func position(_ stream: String) async throws -> String?
    /// Stores `items` of `collection` and sets the stream's position, atomically;
    /// `sweep` names the complete walk the page belongs to where deletions are
    /// told by absence.
    func commit(_ collection: CollectionName, items: [PageItem], stream: String, position: String?,
                sweep: SweepStep?) async throws
    /// Stores a page that carries several collections (a change feed) and
    /// sets the stream's position, all atomically: each group holds one
    /// collection's items in the order the region sent them.
    func commit(groups: [(collection: CollectionName, items: [PageItem])], stream: String,
                position: String?) async throws
    /// Tells how many records a walk of `collection` expects, when the region says.
    func expect(_ collection: CollectionName, total: Int?) async
}

extension PullSink {
    /// Stores a page and sets the stream's position, atomically.
    public func commit(_ collection: CollectionName, items: [PageItem], stream: String, position: String?) async throws {
        try await commit(collection, items: items, stream: stream, position: position, sweep: nil)
    }
}

/// A regional system's API, adapted to the normalized model.
public protocol RegionAdapter: Sendable {
    /// What the region is; one constant per adapter.
    static var descriptor: RegionDescriptor { get }

    /// Makes an adapter from its checked settings.
    ///
    /// - Throws: `RegionError` when the settings cannot be used (an unreadable
    ///   client certificate, say).
    init(settings: RegionSettings) throws(RegionError)

    /// Pulls the region's changes into `sink`: everything when `full` (or when
    /// no position is saved), else what changed since the saved positions.
    ///
    /// - Throws: `RegionError` naming the region, collection, URL and cause
    ///   when the pull cannot go on; what was committed before stays.
    func pull(into sink: any PullSink, full: Bool) async throws

    /// Decodes one wire record from its raw text, as stored: a record, a
    /// deletion, or a quarantine entry with the reason. Used for fixtures and
    /// to retry quarantined records after a fix.
    static func decode(raw: String, collection: CollectionName) -> PageItem

    /// Sends one change made at the gateway and tells how the region took
    /// it (see `PushOutcome` and `Regions/Push.swift` for the contract).
    /// Called after the region's pull, only when its outbox holds changes.
    ///
    /// - Throws: `RegionError` when no answer came (the change is sent again,
    ///   unchanged, by the next push).
    func push(_ change: OutgoingChange) async throws(RegionError) -> PushOutcome
}

/// Why a region's pull or push stopped.
public struct RegionError: Error, Sendable, CustomStringConvertible {
    public let region: String
    public let collection: CollectionName?
    /// The URL asked, without secrets.
    public let url: String?
    public let message: String

    public init(region: String, collection: CollectionName? = nil, url: String? = nil, _ message: String) {
        self.region = region; self.collection = collection; self.url = url; self.message = message
    }

    public var description: String {
        var s = region
        if let collection { s += " \(collection.rawValue)" }
        if let url { s += " (\(url))" }
        return "\(s): \(message)"
    }
}
