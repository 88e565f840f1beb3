internal import Crypto
internal import Foundation
internal import GRDB
internal import Synchronization
public import DopsyncModel

/// What applying a batch of records did, counted by outcome.
public struct ApplyCounts: Sendable, Equatable {
    public var fetched = 0
    public var created = 0
    public var updated = 0
    public var deleted = 0
    public var unchanged = 0
    public var quarantined = 0
    public var conflictsOpened = 0

    public init() {}

    public static func += (a: inout ApplyCounts, b: ApplyCounts) {
        a.fetched += b.fetched; a.created += b.created; a.updated += b.updated; a.deleted += b.deleted
        a.unchanged += b.unchanged; a.quarantined += b.quarantined; a.conflictsOpened += b.conflictsOpened
    }
}

extension Store {
    /// Applies one page of records of `collection` in `region` and moves the
    /// position to `position`, in one transaction.
    ///
    /// - Parameters:
    ///   - region: the region's code (`"55"`).
    ///   - stream: the position's name (the collection's name by default; a
    ///     feed that carries several collections has its own).
    ///   - position: the adapter's position after this page, or `nil` to leave it.
    ///   - sweep: the complete walk this page belongs to, when deletions are
    ///     told by absence.
    /// - Returns: what the page did.
    public func apply(region: String, collection: CollectionName, items: [PageItem],
                      stream: String? = nil, position: String?,
                      sweep: SweepStep? = nil) throws(StoreError) -> ApplyCounts {
        let page = PreparedPage(items)
        return try write { db in
            try applyPage(db, region: region, collection: collection, page: page, stream: stream, position: position,
                          sweep: sweep)
        }
    }

    /// `apply`, for a task: it waits for the writer without holding its
    /// thread, which stays free to decode the next pages.
    public func commit(region: String, collection: CollectionName, items: [PageItem],
                       stream: String? = nil, position: String?,
                       sweep: SweepStep? = nil) async throws(StoreError) -> ApplyCounts {
        // Prepared here, on the caller's thread: the writer is the one that waits.
        let page = PreparedPage(items)
        return try await write { db in
            try self.applyPage(db, region: region, collection: collection, page: page, stream: stream,
                               position: position, sweep: sweep)
        }
    }

    private func applyPage(_ db: Database, region: String, collection: CollectionName, page: PreparedPage,
                           stream: String?, position: String?, sweep: SweepStep?) throws -> ApplyCounts {
        let now = nowText()
        var counts = try applyItems(db, region: region, collection: collection, page: page, now: now)
        if let sweep {
            try self.sweep(db, region: region, collection: collection, items: page.items, step: sweep,
                           now: now, counts: &counts)
        }
        try setPosition(db, region: region, stream: stream ?? collection.rawValue, position: position, now: now)
        return counts
    }

    /// Applies one page that carries records of several collections (a change
    /// feed, as Krasnoyarsk's) and moves the stream's position, all in one
    /// transaction: a process killed at any moment leaves either the whole
    /// page with its position or none of it.
    ///
    /// - Parameters:
    ///   - groups: each collection's items in the order the region sent them;
    ///     the groups are applied in the order given (certificates before
    ///     contracts resolve a contract's certificate at once; either order
    ///     ends the same).
    ///   - stream: the position's name (`feed`).
    ///   - position: the adapter's position after this page, or `nil` to leave it.
    /// - Returns: what the page did, per collection.
    public func apply(region: String, groups: [(collection: CollectionName, items: [PageItem])],
                      stream: String, position: String?) throws(StoreError) -> [CollectionName: ApplyCounts] {
        let pages = groups.map { ($0.collection, PreparedPage($0.items)) }
        return try write { db in try applyGroups(db, region: region, groups: pages, stream: stream, position: position) }
    }

    /// `apply(region:groups:stream:position:)`, for a task (see `commit`).
    public func commit(region: String, groups: [(collection: CollectionName, items: [PageItem])],
                       stream: String, position: String?) async throws(StoreError) -> [CollectionName: ApplyCounts] {
        let pages = groups.map { ($0.collection, PreparedPage($0.items)) }
        return try await write { db in try self.applyGroups(db, region: region, groups: pages, stream: stream, position: position) }
    }

    private func applyGroups(_ db: Database, region: String, groups: [(CollectionName, PreparedPage)],
                             stream: String, position: String?) throws -> [CollectionName: ApplyCounts] {
        let now = nowText()
        var counts: [CollectionName: ApplyCounts] = [:]
        for (collection, page) in groups {
            counts[collection, default: ApplyCounts()] +=
                try applyItems(db, region: region, collection: collection, page: page, now: now)
        }
        try setPosition(db, region: region, stream: stream, position: position, now: now)
        return counts
    }

    /// Stores each item of one collection; the caller owns the transaction.
    private func applyItems(_ db: Database, region: String, collection: CollectionName, page prepared: PreparedPage,
                            now: String) throws -> ApplyCounts {
        let items = prepared.items
        var counts = ApplyCounts()
        counts.fetched = items.count
        var page = try PageWrite(db, region: region, collection: collection, size: items.count)
        let stream = "\(region)/\(collection.rawValue)"
        page.expectNew = mostlyNew.withLock { $0.contains(stream) }
        defer {
            let isNew = counts.created * 2 > items.count
            mostlyNew.withLock { if isNew { $0.insert(stream) } else { $0.remove(stream) } }
        }
        for (item, line) in zip(items, prepared.lines) {
            switch item {
            case let .upsert(record, raw, certificateRef):
                try upsert(db, region: region, collection: collection, record: record, raw: raw,
                           certificateRef: certificateRef, line: line, now: now, counts: &counts, page: &page)
            case let .delete(sourceID, updatedAt, version, raw):
                try markDeleted(db, region: region, collection: collection, sourceID: sourceID,
                                updatedAt: updatedAt, version: version, raw: raw, now: now, counts: &counts, page: &page)
            case let .quarantine(sourceID, raw, reason):
                try quarantine(db, region: region, collection: collection, sourceID: sourceID,
                               raw: raw, reason: reason, now: now)
                page.quarantineOpen = true
                counts.quarantined += 1
            }
        }
        return counts
    }

    private func setPosition(_ db: Database, region: String, stream: String, position: String?, now: String) throws {
        guard let position else { return }
        try db.execute(sql: """
            INSERT INTO position(region, collection, position, updated_at) VALUES (?, ?, ?, ?)
            ON CONFLICT(region, collection) DO UPDATE SET position = excluded.position,
                updated_at = excluded.updated_at
            """, arguments: [region, stream, position, now])
    }

    /// Stores one record the region sent (a pull, or a write's answer),
    /// merging local edits over it when the record has some.
    ///
    /// - Parameter line: the record's export line and content hash when
    ///   prepared beforehand (`PreparedPage`); not used for a contract whose
    ///   certificate is named by the region's id, which is resolved here.
    func upsert(_ db: Database, region: String, collection: CollectionName, record: DopsyncModel.Record, raw: String,
                certificateRef: String?, line: PreparedPage.Line? = nil, now: String, counts: inout ApplyCounts,
                page: inout PageWrite) throws {
        var record = record
        var pendingRef: String? = nil
        var line = line
        if let certificateRef, case var .contract(contract) = record {
            contract.certificateNumber = try certificateNumber(db, region: region, sourceID: certificateRef)
            if contract.certificateNumber == nil { pendingRef = certificateRef }
            record = .contract(contract)
            line = nil
        }
        let (text, hash) = line.map { ($0.text, $0.hash) } ?? PreparedPage.line(record)
        let references = record.references
        let meta = record.meta
        /// Inserts the record; `givingWay`: only if no row has its key. Whether it did.
        func insert(givingWay: Bool) throws -> Bool {
            try db.cachedStatement(sql: """
                INSERT INTO record(collection, region, source_id, normalized, raw, content_hash, deleted,
                    source_updated_at, source_version, first_seen_at, pulled_at, pending_ref, change_seq, changed_at,
                    ref_a, ref_b)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """ + (givingWay ? " ON CONFLICT(collection, region, source_id) DO NOTHING" : ""))
                .execute(arguments: [collection.rawValue, region, meta.sourceID, text, raw, hash,
                                     meta.deleted, meta.updatedAt?.description, meta.version, now, now, pendingRef,
                                     try page.nextChange(db), now, references.a, references.b])
            return db.changesCount > 0
        }
        // When most of the collection's last page was new (an initial pull),
        // an insert that gives way to a row already held looks the key up
        // once, where a lookup and then an insert looked it up twice.
        let inserted = try page.expectNew && insert(givingWay: true)
        let existing = inserted ? nil : try Row.fetchOne(
            db.cachedStatement(sql: """
                SELECT id, content_hash, deleted, edited_at, pending_ref, ref_a, ref_b FROM record
                WHERE collection = ? AND region = ? AND source_id = ?
                """),
            arguments: [collection.rawValue, region, meta.sourceID])
        if inserted {
            if meta.deleted { counts.deleted += 1 } else { counts.created += 1 }
        } else if let existing {
            let oldHash: Data = existing["content_hash"]
            if oldHash == hash {
                counts.unchanged += 1
                return
            }
            let wasDeleted: Bool = existing["deleted"]
            // Local edits wait to be pushed: they are merged over the region's new state below.
            let local = (existing["edited_at"] as String?) == nil ? nil
                : try LocalState.fetch(db, region: region, collection: collection, sourceID: meta.sourceID)
            // `base` NULL: the same as `normalized` until local edits are merged over it below.
            var sql = """
                UPDATE record SET normalized = ?, base = NULL, raw = ?, content_hash = ?,
                    source_updated_at = ?, source_version = ?, pulled_at = ?, change_seq = ?, changed_at = ?
                """
            var arguments: StatementArguments = [text, raw, hash, meta.updatedAt?.description,
                                                 meta.version, now, try page.nextChange(db), now]
            // Only the indexed columns whose value changes: setting one
            // rewrites its index entries, pages written for nothing.
            let indexed: [(String, DatabaseValue)] = [("deleted", meta.deleted.databaseValue),
                                                      ("pending_ref", pendingRef.databaseValue),
                                                      ("ref_a", references.a.databaseValue),
                                                      ("ref_b", references.b.databaseValue)]
            for (column, value) in indexed where (existing[column] as DatabaseValue) != value {
                sql += ", \(column) = ?"
                arguments += [value]
            }
            sql += " WHERE id = ?"
            arguments += [existing["id"] as Int64]
            try db.cachedStatement(sql: sql).execute(arguments: arguments)
            if let local {
                counts.conflictsOpened += try reapplyLocalEdits(db, region: region, collection: collection, sourceID: meta.sourceID,
                                                                local: local, incoming: record.json, now: now)
            } else if page.editConflictsOpen {
                // An edit conflict outlives the edits it came from (the region's values were kept).
                try settleEditConflict(db, region: region, collection: collection, sourceID: meta.sourceID,
                                       incoming: record.json, now: now)
            }
            if meta.deleted && !wasDeleted { counts.deleted += 1 } else { counts.updated += 1 }
        } else {
            _ = try insert(givingWay: false)
            if meta.deleted { counts.deleted += 1 } else { counts.created += 1 }
        }
        if case let .certificate(certificate) = record {
            try resolvePendingContracts(db, region: region, certificateSourceID: meta.sourceID,
                                        number: certificate.number)
        }
        // A good version of a record clears its quarantine entry. An entry of a
        // record with a known id has that id as its key, so the lookup goes by
        // the unique index rather than through every quarantined row.
        guard page.quarantineOpen else { return }
        try db.cachedStatement(sql: """
            UPDATE quarantine SET resolved_at = ?, resolution = 'a valid version arrived'
            WHERE region = ? AND collection = ? AND qkey = ? AND resolved_at IS NULL
            """).execute(arguments: [now, region, collection.rawValue, meta.sourceID])
    }

    /// The number of the certificate with `sourceID` in `region`, if held.
    private func certificateNumber(_ db: Database, region: String, sourceID: String) throws -> String? {
        // A certificate's `ref_a` is its number (see the "v4 check references" migration).
        try String.fetchOne(
            db.cachedStatement(sql: "SELECT ref_a FROM record WHERE collection = 'certificates' AND region = ? AND source_id = ?"),
            arguments: [region, sourceID])
    }

    /// Fills `certificate_number` of the contracts that waited for this certificate.
    /// Runs for every certificate stored, so it goes by the small index of
    /// waiting contracts (the planner would otherwise walk every contract of
    /// the region through the key: a quadratic incremental sync).
    private func resolvePendingContracts(_ db: Database, region: String, certificateSourceID: String,
                                         number: String) throws {
        let rows = try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT id, normalized, base FROM record INDEXED BY record_pending_ref
                WHERE region = ? AND pending_ref = ? AND collection = 'contracts'
                """),
            arguments: [region, certificateSourceID])
        for row in rows {
            func fill(_ text: String) throws -> String {
                let json = try JSONParser.parse(text)
                return (json.replacing(path: "certificate_number", with: .string(number)) ?? json).serialized()
            }
            let normalized = try fill(row["normalized"]), base = try (row["base"] as String?).map(fill)
            try db.cachedStatement(sql: """
                UPDATE record SET normalized = ?, base = ?, content_hash = ?, pending_ref = NULL WHERE id = ?
                """).execute(arguments: [normalized, base, PreparedPage.contentHash(base ?? normalized), row["id"] as Int64])
        }
    }

    /// Marks the page's records as seen by the walk and, on its last page,
    /// deletes the live records the walk did not list.
    private func sweep(_ db: Database, region: String, collection: CollectionName, items: [PageItem],
                       step: SweepStep, now: String, counts: inout ApplyCounts) throws {
        let walk: String
        switch step {
        case let .mark(w), let .finish(w): walk = w
        }
        let stamp = try db.cachedStatement(sql: "UPDATE record SET seen_walk = ? WHERE collection = ? AND region = ? AND source_id = ?")
        for item in items {
            let id: String?
            switch item {
            case let .upsert(record, _, _): id = record.meta.sourceID
            case let .delete(sourceID, _, _, _): id = sourceID
            case let .quarantine(sourceID, _, _): id = sourceID
            }
            if let id { try stamp.execute(arguments: [walk, collection.rawValue, region, id]) }
        }
        guard case .finish = step else { return }
        let absent = try String.fetchAll(db, sql: """
            SELECT source_id FROM record WHERE collection = ? AND region = ? AND deleted = 0
                AND (seen_walk IS NULL OR seen_walk <> ?)
            """, arguments: [collection.rawValue, region, walk])
        var page = try PageWrite(db, region: region, collection: collection, size: absent.count)
        for id in absent {
            try markDeleted(db, region: region, collection: collection, sourceID: id, updatedAt: nil, version: nil,
                            raw: nil, now: now, counts: &counts, page: &page)
        }
    }

    func markDeleted(_ db: Database, region: String, collection: CollectionName, sourceID: String,
                             updatedAt: Timestamp?, version: String?, raw: String?, now: String,
                             counts: inout ApplyCounts, page: inout PageWrite) throws {
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT id, coalesce(base, normalized) AS base, deleted, source_updated_at, source_version FROM record WHERE collection = ? AND region = ? AND source_id = ?"),
            arguments: [collection.rawValue, region, sourceID]) else {
            // Nothing was known of it: nothing to export.
            counts.unchanged += 1
            return
        }
        let wasDeleted: Bool = row["deleted"]
        let oldUpdated: String? = row["source_updated_at"]
        let oldVersion: String? = row["source_version"]
        let newUpdated = updatedAt?.description ?? oldUpdated
        let newVersion = version ?? oldVersion
        if wasDeleted && newUpdated == oldUpdated && newVersion == oldVersion {
            counts.unchanged += 1
            return
        }
        // Built from the region's last state: local edits cannot be written to a deleted record.
        try dropLocalEdits(db, region: region, collection: collection, sourceID: sourceID,
                           reason: "the region has deleted the record", now: now)
        var json = try JSONParser.parse(row["base"] as String)
        json = json.replacing(path: "deleted", with: .bool(true)) ?? json
        json = json.replacing(path: "source_updated_at", with: .string(newUpdated)) ?? json
        json = json.replacing(path: "source_version", with: .string(newVersion)) ?? json
        let text = json.serialized()
        if page.editConflictsOpen {
            try settleEditConflict(db, region: region, collection: collection, sourceID: sourceID, incoming: json, now: now)
        }
        try db.cachedStatement(sql: """
            UPDATE record SET normalized = ?, base = NULL, raw = coalesce(?, raw), content_hash = ?, deleted = 1,
                source_updated_at = ?, source_version = ?, pulled_at = ?, change_seq = ?, changed_at = ?
            WHERE id = ?
            """).execute(arguments: [text, raw, PreparedPage.contentHash(text), newUpdated, newVersion, now,
                                     try page.nextChange(db), now, row["id"] as Int64])
        if wasDeleted { counts.updated += 1 } else { counts.deleted += 1 }
    }

    private func quarantine(_ db: Database, region: String, collection: CollectionName, sourceID: String?,
                            raw: String, reason: String, now: String) throws {
        let qkey = sourceID ?? "sha256:" + SHA256.hash(data: Data(raw.utf8)).hexString
        try db.cachedStatement(sql: """
            INSERT INTO quarantine(region, collection, source_id, qkey, raw, reason, first_seen_at, last_seen_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(region, collection, qkey) DO UPDATE SET raw = excluded.raw, reason = excluded.reason,
                last_seen_at = excluded.last_seen_at, resolved_at = NULL, resolution = NULL
            """).execute(arguments: [region, collection.rawValue, sourceID, qkey, raw, reason, now, now])
    }


    /// The adapter's saved position of a stream (a collection's name, or a
    /// feed's) in a region, or `nil` before the first page.
    public func position(region: String, stream: String) throws(StoreError) -> String? {
        try read { db in
            try String.fetchOne(db, sql: "SELECT position FROM position WHERE region = ? AND collection = ?",
                                arguments: [region, stream])
        }
    }

    /// Calls `body` with each export line of `collection`, ordered by region
    /// then source id as a string; only `region` (a code) when given.
    public func export(_ collection: CollectionName, region: String? = nil,
                       _ body: (String) throws -> Void) throws(StoreError) {
        try read { db in
            var sql = "SELECT normalized FROM record WHERE collection = ?"
            var arguments: StatementArguments = [collection.rawValue]
            if let region {
                sql += " AND region = ?"
                arguments += [region]
            }
            sql += " ORDER BY region, source_id"
            let cursor = try String.fetchCursor(db, sql: sql, arguments: arguments)
            while let line = try cursor.next() { try body(line) }
        }
    }

    /// The normalized record, or `nil` when the store has none.
    public func record(region: String, collection: CollectionName, sourceID: String) throws(StoreError) -> DopsyncModel.Record? {
        let text: String? = try read { db in
            try String.fetchOne(db, sql: "SELECT normalized FROM record WHERE collection = ? AND region = ? AND source_id = ?",
                                arguments: [collection.rawValue, region, sourceID])
        }
        guard let text else { return nil }
        do {
            return try DopsyncModel.Record(json: try JSONParser.parse(text), collection: collection)
        } catch {
            throw StoreError("\(region) \(collection.rawValue) \(sourceID): stored record does not read back: \(error)")
        }
    }
}

/// A page's items with what can be computed before the writer takes them:
/// each record's export line and content hash. The store has one writer, so
/// work moved off it is time the whole sync gains.
struct PreparedPage: Sendable {
    struct Line: Sendable {
        var text: String
        var hash: Data
    }

    let items: [PageItem]
    /// Each item's line: `nil` for a deletion, a quarantine entry, or a
    /// record the writer completes.
    let lines: [Line?]

    init(_ items: [PageItem]) {
        self.items = items
        lines = items.map { item in
            // A contract naming its certificate by the region's id gets its number in the writer.
            guard case let .upsert(record, _, certificateRef) = item, certificateRef == nil else { return nil }
            let (text, hash) = Self.line(record)
            return Line(text: text, hash: hash)
        }
    }

    /// The record's export line and its content hash.
    static func line(_ record: DopsyncModel.Record) -> (text: String, hash: Data) {
        let text = record.json.serialized()
        return (text, contentHash(text))
    }

    /// The hash that tells a real change from a re-read.
    static func contentHash(_ text: String) -> Data {
        Data(SHA256.hash(data: Data(text.utf8)).prefix(16))
    }
}

/// What the writes of one page share: the change numbers reserved for it and
/// whether the collection has open quarantine entries a good record may clear.
struct PageWrite {
    private var next: Int64 = 1
    private var end: Int64 = 0
    /// Whether the region's collection has an open quarantine entry (when it
    /// has none, a good record has nothing to clear and skips the lookup).
    var quarantineOpen: Bool
    /// Whether the region's collection has an open `edit_conflict` (when it
    /// has none, a record's new state has none to settle).
    var editConflictsOpen: Bool
    /// Whether most records of the collection's last page were new: the
    /// page's records are then inserted first and looked up only if held.
    var expectNew = false

    /// Reserves `size` numbers of the change sequence (see
    /// `registerChangeSequence`) for the page's writes, which set
    /// `change_seq` themselves rather than leave it to the triggers. The
    /// numbers unused are never given: the sequence has gaps, never repeats.
    /// Numbers given by triggers later in the same transaction are higher,
    /// and the transaction commits as a whole, so a reader of the change
    /// feed still never skips a change.
    init(_ db: Database, region: String, collection: CollectionName, size: Int) throws {
        quarantineOpen = try Bool.fetchOne(db.cachedStatement(sql: """
            SELECT EXISTS (SELECT 1 FROM quarantine WHERE region = ? AND collection = ? AND resolved_at IS NULL)
            """), arguments: [region, collection.rawValue]) ?? true
        editConflictsOpen = try Bool.fetchOne(db.cachedStatement(sql: """
            SELECT EXISTS (SELECT 1 FROM conflict WHERE kind = ? AND region = ? AND collection = ? AND closed_at IS NULL)
            """), arguments: [editConflictKind, region, collection.rawValue]) ?? true
        if size > 0 { try reserve(db, size) }
    }

    /// One page-less write (a write's answer): numbers are reserved as needed.
    static func single(_ db: Database, region: String, collection: CollectionName) throws -> PageWrite {
        try PageWrite(db, region: region, collection: collection, size: 1)
    }

    private mutating func reserve(_ db: Database, _ count: Int) throws {
        end = try Int64.fetchOne(db.cachedStatement(sql: "UPDATE change_counter SET seq = seq + ? WHERE id = 1 RETURNING seq"),
                                 arguments: [count])!
        next = end - Int64(count) + 1
    }

    /// The next reserved number of the change sequence.
    mutating func nextChange(_ db: Database) throws -> Int64 {
        if next > end { try reserve(db, 64) }
        defer { next += 1 }
        return next
    }
}

extension DopsyncModel.Record {
    /// The references the checks look records up by, as the export line
    /// writes them (`ref_a` and `ref_b`: see the "v4 check references"
    /// migration, whose trigger derives the same values from the JSON).
    var references: (a: String?, b: String?) {
        switch self {
        case let .certificate(c): (c.number, c.child.snils?.formatted)
        case let .contract(c): (c.certificateNumber, c.programSourceID)
        case let .charge(c): (c.contractSourceID, nil)
        case .program: (nil, nil)
        }
    }
}
