internal import GRDB
public import DopsyncModel

/// A conflict a check found, before it is stored.
public struct ConflictCandidate: Sendable, Hashable {
    public var kind: String
    /// What makes two findings the same conflict (the records and the rule).
    public var dedupKey: String
    public var region: String
    public var collection: CollectionName
    public var sourceID: String
    /// One line for the queue; no personal data.
    public var summary: String
    /// The facts behind it, as JSON; no personal data.
    public var detail: JSONValue

    public init(kind: String, dedupKey: String, region: String, collection: CollectionName, sourceID: String,
                summary: String, detail: JSONValue = .object([])) {
        self.kind = kind; self.dedupKey = dedupKey; self.region = region; self.collection = collection
        self.sourceID = sourceID; self.summary = summary; self.detail = detail
    }
}

/// A stored conflict.
public struct Conflict: Sendable {
    public var id: Int64
    public var kind: String
    public var region: String
    public var collection: CollectionName
    public var sourceID: String
    public var summary: String
    public var detail: String
    public var openedAt: String
    public var closedAt: String?
    public var closeReason: String?
}

extension Store {
    /// Replaces the open conflicts of `kinds` with what the checks found now,
    /// in one transaction: new findings open conflicts, findings that are gone
    /// close theirs with `closeReason`, and the rest stay open, their summary
    /// and detail brought up to date.
    ///
    /// - Parameters:
    ///   - scope: only open conflicts of these region codes are closed (a
    ///     region that was not checked keeps its conflicts).
    ///   - closeReason: why a conflict of a kind closed itself.
    /// - Returns: the conflicts opened now.
    public func reconcileConflicts(kinds: Set<String>, found: [ConflictCandidate], scope: Set<String>,
                                   closeReason: (String) -> String) throws(StoreError) -> [ConflictCandidate] {
        try reconcileConflicts(kinds: kinds, found: found, covers: { _, _, region in scope.contains(region) },
                               closeReason: closeReason)
    }

    /// As `reconcileConflicts(kinds:found:scope:closeReason:)`, for checks
    /// that looked at part of the store: `covers(kind, dedupKey, region)`
    /// tells whether the checks looked at everything a conflict depends on;
    /// only such open conflicts can close.
    public func reconcileConflicts(kinds: Set<String>, found: [ConflictCandidate],
                                   covers: (_ kind: String, _ dedupKey: String, _ region: String) -> Bool,
                                   closeReason: (String) -> String) throws(StoreError) -> [ConflictCandidate] {
        try write { db in
            let now = nowText()
            var foundByKey: [String: ConflictCandidate] = [:]
            for c in found { foundByKey[c.kind + "\u{1F}" + c.dedupKey] = c }
            var open = Set<String>()
            for row in try Row.fetchAll(db, sql: """
                SELECT id, kind, dedup_key, region, collection, source_id, summary, detail FROM conflict WHERE closed_at IS NULL
                """) {
                let kind: String = row["kind"], dedupKey: String = row["dedup_key"]
                guard kinds.contains(kind) else { continue }
                let key = kind + "\u{1F}" + dedupKey
                open.insert(key)
                guard covers(kind, dedupKey, row["region"]) else { continue }
                guard let now = foundByKey[key] else {
                    try db.execute(sql: "UPDATE conflict SET closed_at = ?, close_reason = ? WHERE id = ?",
                                   arguments: [nowText(), closeReason(kind), row["id"] as Int64])
                    continue
                }
                // Still found: the queue shows it as it stands now (the amounts,
                // the certificates of a duplicate), not as it was when opened.
                let detail = now.detail.serialized()
                if (row["summary"] as String) != now.summary || (row["detail"] as String) != detail
                    || (row["region"] as String) != now.region || (row["source_id"] as String) != now.sourceID
                    || (row["collection"] as String) != now.collection.rawValue {
                    try db.execute(sql: """
                        UPDATE conflict SET summary = ?, detail = ?, region = ?, collection = ?, source_id = ? WHERE id = ?
                        """, arguments: [now.summary, detail, now.region, now.collection.rawValue, now.sourceID,
                                         row["id"] as Int64])
                }
            }
            // A finding an operator dismissed stays dismissed.
            for row in try Row.fetchAll(db, sql: "SELECT kind, dedup_key FROM conflict WHERE resolution = 'dismiss'") {
                open.insert((row["kind"] as String) + "\u{1F}" + (row["dedup_key"] as String))
            }
            var opened: [ConflictCandidate] = []
            for c in found where !open.contains(c.kind + "\u{1F}" + c.dedupKey) {
                try db.execute(sql: """
                    INSERT INTO conflict(kind, dedup_key, region, collection, source_id, summary, detail, opened_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [c.kind, c.dedupKey, c.region, c.collection.rawValue, c.sourceID, c.summary,
                                     c.detail.serialized(), now])
                open.insert(c.kind + "\u{1F}" + c.dedupKey)
                opened.append(c)
            }
            return opened
        }
    }

    /// Conflicts, oldest first: the open ones, or all when `includeClosed`.
    public func conflicts(includeClosed: Bool = false) throws(StoreError) -> [Conflict] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM conflict \(includeClosed ? "" : "WHERE closed_at IS NULL") ORDER BY id")
                .map(Conflict.init)
        }
    }

    /// One conflict by id.
    public func conflict(id: Int64) throws(StoreError) -> Conflict? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM conflict WHERE id = ?", arguments: [id]).map(Conflict.init) }
    }
}

extension Conflict {
    init(_ row: Row) {
        id = row["id"]; kind = row["kind"]; region = row["region"]
        collection = CollectionName(rawValue: row["collection"]) ?? .programs
        sourceID = row["source_id"]; summary = row["summary"]; detail = row["detail"]
        openedAt = row["opened_at"]; closedAt = row["closed_at"]; closeReason = row["close_reason"]
    }
}
