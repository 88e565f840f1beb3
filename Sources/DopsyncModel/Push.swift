/// One change the gateway sends to a region: the fields an operator changed
/// in one record, merged with what the region holds, ready to write.
///
/// Invariants: `fields` are normalized paths (`title`, `provider.name`) and
/// never identity or meta fields; `record` is the gateway's whole normalized
/// record (the region's last state with `fields` applied); `raw` is the last
/// raw record the region sent, so that whole-record writes keep what the model
/// drops. A retry of the same change carries the same `idempotencyKey` and
/// exactly the same content, so a region that deduplicates by key (a package
/// id, an `Idempotency-Key`) applies it at most once.
public struct OutgoingChange: Sendable, Equatable {
    /// The outbox entry this change is.
    public var entryID: Int64
    /// Made once per outbox entry, reused on every retry of it.
    public var idempotencyKey: String
    /// The region's code (`"55"`).
    public var region: String
    public var collection: CollectionName
    public var sourceID: String
    /// Normalized path → the value the gateway wants there.
    public var fields: [String: JSONValue]
    /// The gateway's whole normalized record.
    public var record: JSONValue
    /// The region's version the change is based on (`If-Match`, `version`),
    /// or `nil` where the region has none.
    public var baseVersion: String?
    /// The region's `updatedAt` the change is based on (Kemerovo's `ExpectedModifiedAt`).
    public var baseUpdatedAt: String?
    /// The raw record the region sent last.
    public var raw: String

    public init(entryID: Int64, idempotencyKey: String, region: String, collection: CollectionName, sourceID: String,
                fields: [String: JSONValue], record: JSONValue, baseVersion: String?, baseUpdatedAt: String?, raw: String) {
        self.entryID = entryID; self.idempotencyKey = idempotencyKey; self.region = region
        self.collection = collection; self.sourceID = sourceID; self.fields = fields; self.record = record
        self.baseVersion = baseVersion; self.baseUpdatedAt = baseUpdatedAt; self.raw = raw
    }

    /// The changed paths in a stable order, for messages and requests.
    public var sortedFields: [(path: String, value: JSONValue)] {
        fields.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}

/// How a region answered one `OutgoingChange`.
public enum PushOutcome: Sendable {
    /// Applied: the record as the region now stores it (its new version), as
    /// a pull would have read it.
    case applied(PageItem)
    /// Not applied because the region's record moved on since `baseVersion`
    /// (`412`, `409`, Kemerovo's `Конфликт`): its current state, which the
    /// adapter reads when the answer does not carry it (Leningrad), so that
    /// the gateway can merge again. `nil` only when it cannot be had.
    case stale(current: PageItem?)
    /// Refused as invalid (`422`, `400`, `Отклонено`, or the record is gone):
    /// why, by field. The change is dropped and the region's state kept.
    case rejected(String)
    /// Accepted for later processing (Kemerovo's packages): ask again with
    /// the same change (same key) on the next push.
    case accepted
}
