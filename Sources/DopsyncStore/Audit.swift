internal import GRDB
internal import DopsyncModel

/// One line of the append-only audit log: who did what, when and why.
///
/// `detail` never holds personal data: edits touch program fields and
/// certificate status only, and pushes name fields, not values of a child.
public struct AuditEntry: Sendable {
    public var id: Int64
    /// UTC, seconds precision.
    public var at: String
    /// The operator, or `dopsync sync` for what a sync did on its own.
    public var operatorName: String
    /// `edit`, `resolve`, `push`, `push_rejected`, `push_superseded`, `edit_dropped`.
    public var action: String
    public var region: String?
    public var collection: String?
    public var sourceID: String?
    public var conflictID: Int64?
    /// What changed, as JSON.
    public var detail: String
    public var reason: String?
}

/// The name a sync writes in the audit log for what it does on its own.
public let syncActor = "dopsync sync"

extension Store {
    /// The audit log, oldest first (newest last).
    public func auditLog() throws(StoreError) -> [AuditEntry] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY id").map { row in
                AuditEntry(id: row["id"], at: row["at"], operatorName: row["operator"], action: row["action"],
                           region: row["region"], collection: row["collection"], sourceID: row["source_id"],
                           conflictID: row["conflict_id"], detail: row["detail"], reason: row["reason"])
            }
        }
    }

    /// Appends one audit row in the caller's transaction.
    func audit(_ db: Database, operator name: String, action: String, region: String?, collection: CollectionName?,
               sourceID: String?, conflictID: Int64? = nil, detail: JSONValue, reason: String?, now: String) throws {
        try db.execute(sql: """
            INSERT INTO audit(at, operator, action, region, collection, source_id, conflict_id, detail, reason)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [now, name, action, region, collection?.rawValue, sourceID, conflictID,
                             detail.serialized(), reason])
    }
}
