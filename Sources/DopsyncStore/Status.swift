internal import GRDB
public import DopsyncModel

/// What `dopsync status` shows of one region.
public struct RegionStatus: Sendable {
    public var region: String
    public var lastPullStartedAt: String?
    public var lastPullOKAt: String?
    public var lastPushOKAt: String?
    public var lastError: String?
    public var lastErrorAt: String?
    /// Positions by stream (a collection's name, or a feed's).
    public var positions: [String: String]
    /// Records held by collection: live and deleted.
    public var records: [CollectionName: (live: Int, deleted: Int)]
    public var openConflicts: Int
    public var quarantined: Int
    public var outboxPending: Int
}

/// A quarantined record: what came, and why it was not taken.
public struct QuarantineEntry: Sendable {
    public var id: Int64
    public var region: String
    public var collection: CollectionName
    public var sourceID: String?
    public var raw: String
    public var reason: String
    public var firstSeenAt: String
    public var lastSeenAt: String
}

extension Store {
    /// Notes that a pull of `region` started.
    public func notePullStarted(region: String) throws(StoreError) {
        try write { db in
            try db.execute(sql: """
                INSERT INTO region_state(region, last_pull_started_at) VALUES (?, ?)
                ON CONFLICT(region) DO UPDATE SET last_pull_started_at = excluded.last_pull_started_at
                """, arguments: [region, nowText()])
        }
    }

    /// Notes how a pull (or push) of `region` ended: `error` nil for success.
    public func notePullEnded(region: String, error: String?, push: Bool = false) throws(StoreError) {
        try write { db in
            let now = nowText()
            if let error {
                try db.execute(sql: """
                    INSERT INTO region_state(region, last_error, last_error_at) VALUES (?, ?, ?)
                    ON CONFLICT(region) DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at
                    """, arguments: [region, error, now])
            } else {
                let column = push ? "last_push_ok_at" : "last_pull_ok_at"
                try db.execute(sql: """
                    INSERT INTO region_state(region, \(column)) VALUES (?, ?)
                    ON CONFLICT(region) DO UPDATE SET \(column) = excluded.\(column)
                    """, arguments: [region, now])
            }
        }
    }

    /// The status of each region code given, in that order.
    public func status(regions: [String]) throws(StoreError) -> [RegionStatus] {
        try read { db in
            try regions.map { region in
                let state = try Row.fetchOne(db, sql: "SELECT * FROM region_state WHERE region = ?", arguments: [region])
                var positions: [String: String] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT collection, position FROM position WHERE region = ?", arguments: [region]) {
                    positions[row["collection"]] = row["position"]
                }
                var records: [CollectionName: (live: Int, deleted: Int)] = [:]
                for c in CollectionName.allCases {
                    let row = try Row.fetchOne(db, sql: """
                        SELECT COUNT(*) FILTER (WHERE deleted = 0) AS live, COUNT(*) FILTER (WHERE deleted = 1) AS gone
                        FROM record WHERE collection = ? AND region = ?
                        """, arguments: [c.rawValue, region])!
                    records[c] = (row["live"], row["gone"])
                }
                return RegionStatus(
                    region: region,
                    lastPullStartedAt: state?["last_pull_started_at"], lastPullOKAt: state?["last_pull_ok_at"],
                    lastPushOKAt: state?["last_push_ok_at"], lastError: state?["last_error"],
                    lastErrorAt: state?["last_error_at"], positions: positions, records: records,
                    openConflicts: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM conflict WHERE region = ? AND closed_at IS NULL", arguments: [region]) ?? 0,
                    quarantined: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM quarantine WHERE region = ? AND resolved_at IS NULL", arguments: [region]) ?? 0,
                    outboxPending: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE region = ? AND state IN ('pending', 'sending')", arguments: [region]) ?? 0)
            }
        }
    }

    /// Open quarantine entries, oldest first; of one region code when given.
    public func quarantined(region: String? = nil) throws(StoreError) -> [QuarantineEntry] {
        try read { db in
            var sql = "SELECT * FROM quarantine WHERE resolved_at IS NULL"
            var arguments: StatementArguments = []
            if let region { sql += " AND region = ?"; arguments += [region] }
            sql += " ORDER BY id"
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(QuarantineEntry.init)
        }
    }

    /// The held records of `collection` whose latest version from the region
    /// sits in quarantine (an open entry under the record's id), as
    /// `region/source_id`.
    public func quarantinedRecords(_ collection: CollectionName) throws(StoreError) -> Set<String> {
        try read { db in
            try String.fetchSet(db, sql: """
                SELECT q.region || '/' || q.source_id FROM quarantine q
                WHERE q.collection = ? AND q.resolved_at IS NULL AND q.source_id IS NOT NULL
                  AND EXISTS (SELECT 1 FROM record r WHERE r.collection = q.collection AND r.region = q.region
                                                       AND r.source_id = q.source_id)
                """, arguments: [collection.rawValue])
        }
    }

    /// One quarantine entry by id, resolved or not.
    public func quarantineEntry(id: Int64) throws(StoreError) -> QuarantineEntry? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM quarantine WHERE id = ?", arguments: [id]).map(QuarantineEntry.init)
        }
    }
}

extension QuarantineEntry {
    init(_ row: Row) {
        id = row["id"]; region = row["region"]
        collection = CollectionName(rawValue: row["collection"]) ?? .programs
        sourceID = row["source_id"]; raw = row["raw"]; reason = row["reason"]
        firstSeenAt = row["first_seen_at"]; lastSeenAt = row["last_seen_at"]
    }
}

extension Store {
    /// Marks a quarantine entry resolved (its record was taken after a retry).
    public func resolveQuarantine(id: Int64, resolution: String) throws(StoreError) {
        try write { db in
            try db.execute(sql: "UPDATE quarantine SET resolved_at = ?, resolution = ? WHERE id = ?",
                           arguments: [nowText(), resolution, id])
        }
    }

    /// Notes a retry that still failed, with the new reason.
    public func requarantine(id: Int64, reason: String) throws(StoreError) {
        try write { db in
            try db.execute(sql: "UPDATE quarantine SET reason = ?, last_seen_at = ? WHERE id = ?",
                           arguments: [reason, nowText(), id])
        }
    }
}
