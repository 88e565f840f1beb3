internal import Foundation
internal import GRDB
public import DopsyncModel

// The write side of the store: operators' edits become the record's local
// state (`normalized`) plus one outbox entry; a push moves each entry through
// its states in transactions of its own:
//
//     pending ──prepare──▶ sending ──answer──▶ done | superseded | rejected
//
// `sending` means "may have reached the region": it is left only by an answer
// or by a region state that shows the change. A retry of a `sending` entry
// sends the stored request again, byte for byte, with the same idempotency
// key, so a kill or a lost answer at any moment never applies a change twice.
// What a record still has to send is always `changes(base → normalized)`.

/// What an edit did.
public struct EditOutcome: Sendable {
    /// The fields whose value changed, in the order given.
    public var changed: [String]
    /// The outbox entry that carries the record's changes, or `nil` when
    /// nothing is left to send.
    public var outboxEntry: Int64?
}

/// One outbox entry, as `status` and tests see it.
public struct OutboxEntry: Sendable {
    public var id: Int64
    public var region: String
    public var collection: CollectionName
    public var sourceID: String
    /// `pending`, `sending`, `done`, `superseded` or `rejected`.
    public var state: String
    /// The changed fields as a JSON object (path → value).
    public var fields: String
    public var idempotencyKey: String
    public var attempts: Int
    public var lastError: String?
    public var result: String?
}

/// A record's two states while it has local edits.
struct LocalState {
    /// What the region sent last: the common base of a merge.
    var base: JSONValue
    /// The gateway's state: base with the local edits.
    var normalized: JSONValue

    static func fetch(_ db: Database, region: String, collection: CollectionName, sourceID: String) throws -> LocalState? {
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT coalesce(base, normalized) AS base, normalized FROM record WHERE collection = ? AND region = ? AND source_id = ?"),
            arguments: [collection.rawValue, region, sourceID]) else { return nil }
        return LocalState(base: try JSONParser.parse(row["base"] as String),
                          normalized: try JSONParser.parse(row["normalized"] as String))
    }
}

/// Names a record in messages: `55 programs 123`.
func place(_ region: String, _ collection: CollectionName, _ sourceID: String) -> String {
    "\(region) \(collection.rawValue) \(sourceID)"
}

/// Open outbox states: the entry still has to reach the region, or may have.
let openStates = "('pending', 'sending')"

extension Store {
    // MARK: Edits

    /// Changes fields of a record at the gateway: the record's local state,
    /// one outbox entry (made or brought up to date) and an audit row, in one
    /// transaction. The export shows the new values at once; the next sync
    /// pushes them.
    ///
    /// - Parameters:
    ///   - changes: normalized paths and values, as `EditableFields` reads them.
    ///   - operatorName: who, for the audit log.
    ///   - reason: why, when given.
    /// - Throws: `StoreError` naming the record and field when a field cannot
    ///   be edited, the record is not held or is deleted, or the result is not
    ///   a valid record.
    public func edit(region: String, collection: CollectionName, sourceID: String,
                     set changes: [(path: String, value: JSONValue)], operator operatorName: String,
                     reason: String?) throws(StoreError) -> EditOutcome {
        try write { db in
            let now = nowText()
            let change = try changeLocally(db, region: region, collection: collection, sourceID: sourceID,
                                           changes: changes, now: now)
            if !change.changed.isEmpty {
                try audit(db, operator: operatorName, action: "edit", region: region, collection: collection,
                          sourceID: sourceID, detail: change.detail, reason: reason, now: now)
            }
            return EditOutcome(changed: change.changed.map(\.path), outboxEntry: change.entry)
        }
    }

    /// What a local change did: the fields with old and new values, and the entry.
    struct LocalChange {
        var changed: [(path: String, from: JSONValue, to: JSONValue)]
        var entry: Int64?

        /// For the audit log: `{"fields":{"title":{"from":…,"to":…}},"outbox_entry":N}`.
        var detail: JSONValue {
            .object([("fields", .object(changed.map { ($0.path, .object([("from", $0.from), ("to", $0.to)])) })),
                     ("outbox_entry", .int(entry))])
        }
    }

    /// Sets fields of the record's local state and queues what it then has to send.
    func changeLocally(_ db: Database, region: String, collection: CollectionName, sourceID: String,
                       changes: [(path: String, value: JSONValue)], now: String) throws -> LocalChange {
        let name = place(region, collection, sourceID)
        for (path, _) in changes {
            do { _ = try EditableFields.kind(of: path, in: collection) } catch {
                throw StoreError("\(name): \(error)", kind: .invalid, field: "set.\(path)")
            }
        }
        guard let row = try Row.fetchOne(
            db, sql: "SELECT normalized, deleted FROM record WHERE collection = ? AND region = ? AND source_id = ?",
            arguments: [collection.rawValue, region, sourceID]) else {
            throw StoreError("\(name): the store holds no such record", kind: .notFound)
        }
        guard !(row["deleted"] as Bool) else { throw StoreError("\(name): the region has deleted this record", kind: .conflict) }
        let old = try JSONParser.parse(row["normalized"] as String)
        var new = old
        for (path, value) in changes {
            guard let next = new.replacing(path: path, with: value) else { throw StoreError("\(name): \(path): no such field", kind: .invalid, field: "set.\(path)") }
            new = next
        }
        do {
            _ = try DopsyncModel.Record(json: new, collection: collection)
        } catch {
            throw StoreError("\(name): \(error)", kind: .invalid, field: "set")
        }
        var changed: [(path: String, from: JSONValue, to: JSONValue)] = []
        for (path, _) in changes where !changed.contains(where: { $0.path == path }) {
            let from = old.value(atPath: path) ?? .null, to = new.value(atPath: path) ?? .null
            if from != to { changed.append((path, from, to)) }
        }
        guard !changed.isEmpty else { return LocalChange(changed: [], entry: nil) }
        try db.execute(sql: "UPDATE record SET base = coalesce(base, normalized), normalized = ?, edited_at = ? WHERE collection = ? AND region = ? AND source_id = ?",
                       arguments: [new.serialized(), now, collection.rawValue, region, sourceID])
        let entry = try queueChanges(db, region: region, collection: collection, sourceID: sourceID,
                                     afterRegionState: false, now: now)
        return LocalChange(changed: changed, entry: entry)
    }

    /// Brings a record's open outbox entries in line with what it still has
    /// to send (`changes(base → normalized)`): the pending entry carries
    /// exactly that (one is made when needed), and when nothing is left the
    /// entries are done and the record no longer counts as edited.
    ///
    /// - Parameter afterRegionState: the region's state was just taken in (a
    ///   pull, an answer): a `sending` entry whose change the region now
    ///   holds is done too, and no entry is made beside a `sending` one (its
    ///   answer will queue what is left). An operator's edit instead never
    ///   settles a `sending` entry and always gets a pending one.
    /// - Returns: the pending entry, if any.
    @discardableResult
    func queueChanges(_ db: Database, region: String, collection: CollectionName, sourceID: String,
                      afterRegionState: Bool, now: String) throws -> Int64? {
        guard let state = try LocalState.fetch(db, region: region, collection: collection, sourceID: sourceID) else { return nil }
        let diff = ThreeWayMerge.changes(from: state.base, to: state.normalized)
        let open = try Row.fetchAll(db, sql: """
            SELECT id, state FROM outbox WHERE region = ? AND collection = ? AND source_id = ? AND state IN \(openStates) ORDER BY id
            """, arguments: [region, collection.rawValue, sourceID])
        let pending: Int64? = open.first { ($0["state"] as String) == "pending" }?["id"]
        let sending = open.contains { ($0["state"] as String) == "sending" }
        let key: StatementArguments = [collection.rawValue, region, sourceID]
        if diff.isEmpty {
            try db.execute(sql: """
                UPDATE outbox SET state = 'done', done_at = ?, result = 'nothing left to send: the region holds these values'
                WHERE collection = ? AND region = ? AND source_id = ? AND state IN \(afterRegionState ? openStates : "('pending')")
                """, arguments: [now] + key)
            if afterRegionState || !sending {
                try db.execute(sql: "UPDATE record SET edited_at = NULL WHERE collection = ? AND region = ? AND source_id = ?",
                               arguments: key)
            }
            return nil
        }
        try db.execute(sql: "UPDATE record SET edited_at = coalesce(edited_at, ?) WHERE collection = ? AND region = ? AND source_id = ?",
                       arguments: [now] + key)
        let fields = JSONValue.object(diff.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }).serialized()
        if let pending {
            try db.execute(sql: "UPDATE outbox SET fields = ? WHERE id = ?", arguments: [fields, pending])
            return pending
        }
        if sending && afterRegionState { return nil }
        try db.execute(sql: """
            INSERT INTO outbox(region, collection, source_id, operation, fields, base_version, idempotency_key, created_at)
            VALUES (?, ?, ?, 'update', ?, (SELECT source_version FROM record WHERE collection = ? AND region = ? AND source_id = ?), ?, ?)
            """, arguments: [region, collection.rawValue, sourceID, fields] + key + [UUID().uuidString.lowercased(), now])
        return db.lastInsertedRowID
    }

    /// Keeps the gateway's edits over a new region state: `normalized`
    /// becomes the three-way merge of `local` (against its base) with
    /// `incoming`; fields changed differently on both sides open (or join)
    /// the record's `edit_conflict`; the outbox is brought up to date.
    ///
    /// - Returns: the conflicts opened (0 or 1).
    func reapplyLocalEdits(_ db: Database, region: String, collection: CollectionName, sourceID: String,
                           local: LocalState, incoming: JSONValue, now: String) throws -> Int {
        if incoming["deleted"] == .bool(true) {
            // Stored as the region sent it (the caller did): nothing can be written to it any more.
            try dropLocalEdits(db, region: region, collection: collection, sourceID: sourceID,
                               reason: "the region has deleted the record", now: now)
            try settleEditConflict(db, region: region, collection: collection, sourceID: sourceID, incoming: incoming, now: now)
            return 0
        }
        let (merged, conflicts) = ThreeWayMerge.merge(base: local.base, gateway: local.normalized, region: incoming)
        try db.execute(sql: "UPDATE record SET base = coalesce(base, normalized), normalized = ? WHERE collection = ? AND region = ? AND source_id = ?",
                       arguments: [merged.serialized(), collection.rawValue, region, sourceID])
        try settleEditConflict(db, region: region, collection: collection, sourceID: sourceID, incoming: incoming, now: now)
        var opened = 0
        if !conflicts.isEmpty,
           try openEditConflict(db, region: region, collection: collection, sourceID: sourceID, ancestor: local.base,
                                fields: conflicts, now: now) {
            opened = 1
        }
        try queueChanges(db, region: region, collection: collection, sourceID: sourceID, afterRegionState: true, now: now)
        return opened
    }

    /// Drops a record's open entries when the region deleted it: nothing can be written to it.
    func dropLocalEdits(_ db: Database, region: String, collection: CollectionName, sourceID: String, reason: String,
                        now: String) throws {
        let key: StatementArguments = [collection.rawValue, region, sourceID]
        let ids = try Int64.fetchAll(db, sql: "SELECT id FROM outbox WHERE collection = ? AND region = ? AND source_id = ? AND state IN \(openStates)",
                                     arguments: key)
        guard !ids.isEmpty else { return }
        try db.execute(sql: """
            UPDATE outbox SET state = 'rejected', done_at = ?, last_error = ?
            WHERE collection = ? AND region = ? AND source_id = ? AND state IN \(openStates)
            """, arguments: [now, reason] + key)
        try db.execute(sql: "UPDATE record SET edited_at = NULL WHERE collection = ? AND region = ? AND source_id = ?", arguments: key)
        try audit(db, operator: syncActor, action: "edit_dropped", region: region, collection: collection, sourceID: sourceID,
                  detail: .object([("outbox_entries", .array(ids.map { .int($0) }))]), reason: reason, now: now)
    }

    // MARK: Pushing

    /// The records of a region with open outbox entries, oldest entry first;
    /// with `sendingOnly`, those with an entry sent whose outcome is not
    /// known yet (a lost answer, a package still processing).
    public func pushQueue(region: String, sendingOnly: Bool = false) throws(StoreError) -> [(collection: CollectionName, sourceID: String)] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT collection, source_id, MIN(id) AS first FROM outbox
                WHERE region = ? AND state IN \(sendingOnly ? "('sending')" : openStates)
                GROUP BY collection, source_id ORDER BY first
                """, arguments: [region]).compactMap { row in
                CollectionName(rawValue: row["collection"]).map { ($0, row["source_id"] as String) }
            }
        }
    }

    /// The next write of a record, and its entry marked `sending` (sent
    /// once more), in one transaction: a `sending` entry's stored request
    /// again, else the record's pending changes as a new request. `nil` when
    /// nothing is left to send.
    public func preparePush(region: String, collection: CollectionName, sourceID: String) throws(StoreError) -> OutgoingChange? {
        try write { db in
            let now = nowText()
            let open = try Row.fetchAll(db, sql: """
                SELECT id, state, idempotency_key, sent FROM outbox
                WHERE region = ? AND collection = ? AND source_id = ? AND state IN \(openStates) ORDER BY id
                """, arguments: [region, collection.rawValue, sourceID])
            if let sending = open.first(where: { ($0["state"] as String) == "sending" }) {
                try db.execute(sql: "UPDATE outbox SET attempts = attempts + 1 WHERE id = ?", arguments: [sending["id"] as Int64])
                return try OutgoingChange(stored: sending["sent"], entryID: sending["id"], key: sending["idempotency_key"],
                                          region: region, collection: collection, sourceID: sourceID)
            }
            guard let row = try Row.fetchOne(db, sql: """
                SELECT normalized, coalesce(base, normalized) AS base, raw, deleted, source_version, source_updated_at FROM record
                WHERE collection = ? AND region = ? AND source_id = ?
                """, arguments: [collection.rawValue, region, sourceID]) else { return nil }
            if row["deleted"] as Bool {
                try dropLocalEdits(db, region: region, collection: collection, sourceID: sourceID,
                                   reason: "the region has deleted the record", now: now)
                return nil
            }
            guard let entryID = try queueChanges(db, region: region, collection: collection, sourceID: sourceID,
                                                 afterRegionState: false, now: now),
                  let key = try String.fetchOne(db, sql: "SELECT idempotency_key FROM outbox WHERE id = ?", arguments: [entryID])
            else { return nil }
            let normalized = try JSONParser.parse(row["normalized"] as String)
            let base = try JSONParser.parse(row["base"] as String)
            let change = OutgoingChange(
                entryID: entryID, idempotencyKey: key, region: region, collection: collection, sourceID: sourceID,
                fields: ThreeWayMerge.changes(from: base, to: normalized), record: normalized,
                baseVersion: row["source_version"], baseUpdatedAt: row["source_updated_at"], raw: row["raw"])
            try db.execute(sql: """
                UPDATE outbox SET state = 'sending', fields = ?, sent = ?, base_version = ?, attempts = attempts + 1, sent_at = ?
                WHERE id = ?
                """, arguments: [JSONValue.object(change.sortedFields).serialized(), change.storedText,
                                 change.baseVersion, now, entryID])
            return change
        }
    }

    /// Takes the region's answer that `change` was applied: the entry is
    /// done, the record's base is the stored record the region returned, and
    /// local edits made while the change was on its way are kept over it.
    ///
    /// - Returns: the conflicts opened (0 or 1).
    public func completePush(_ change: OutgoingChange, answer: PageItem) throws(StoreError) -> Int {
        try write { db in
            let now = nowText()
            guard try settle(db, change, state: "done", now: now) else { return 0 }
            var version: String? = nil
            if case let .upsert(record, _, _) = answer { version = record.meta.version }
            try db.execute(sql: "UPDATE outbox SET result = ? WHERE id = ?",
                           arguments: [version.map { "applied as version \($0)" } ?? "applied", change.entryID])
            try audit(db, operator: syncActor, action: "push", region: change.region, collection: change.collection,
                      sourceID: change.sourceID,
                      detail: .object([("outbox_entry", .int(change.entryID)), ("fields", .array(change.sortedFields.map { .string($0.path) })),
                                       ("version", .string(version))]),
                      reason: nil, now: now)
            // What was sent is now the region's state as far as the gateway
            // knows: the answer is merged against it, so that an edit made
            // while the change was on its way survives.
            try db.execute(sql: "UPDATE record SET base = ?, edited_at = ? WHERE collection = ? AND region = ? AND source_id = ?",
                           arguments: [change.record.serialized(), now, change.collection.rawValue, change.region, change.sourceID])
            return try takeRegionState(db, change, answer, now: now)
        }
    }

    /// Takes the region's answer that `change` met a newer version: the
    /// entry is superseded, the current record is merged in as a pull would
    /// do, and what is left to send is queued as a new entry (a new request,
    /// so a new key).
    ///
    /// - Returns: the conflicts opened (0 or 1).
    public func supersedePush(_ change: OutgoingChange, current: PageItem?) throws(StoreError) -> Int {
        try write { db in
            let now = nowText()
            guard try settle(db, change, state: "superseded", now: now) else { return 0 }
            try db.execute(sql: "UPDATE outbox SET result = 'the region''s record had moved on: merged with it and queued again' WHERE id = ?",
                           arguments: [change.entryID])
            let opened = try takeRegionState(db, change, current, now: now)
            let key: StatementArguments = [change.collection.rawValue, change.region, change.sourceID]
            if try Bool.fetchOne(db, sql: "SELECT deleted FROM record WHERE collection = ? AND region = ? AND source_id = ?",
                                 arguments: key) == true {
                try db.execute(sql: "UPDATE outbox SET state = 'rejected', last_error = 'the region has deleted the record' WHERE id = ?",
                               arguments: [change.entryID])
                return opened
            }
            // Nothing left to send: the region's record holds the change
            // (applied by an earlier send whose answer was lost) or the
            // conflicting fields wait for an operator.
            if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE collection = ? AND region = ? AND source_id = ? AND state IN \(openStates)",
                                arguments: [change.collection.rawValue, change.region, change.sourceID]) == 0 {
                try db.execute(sql: "UPDATE outbox SET state = 'done', result = 'nothing left to send after merging the region''s current version' WHERE id = ?",
                               arguments: [change.entryID])
            }
            return opened
        }
    }

    /// Takes the region's refusal of `change`: the entry is rejected with the
    /// region's reason and the record goes back to the region's values for
    /// the refused fields (the audit log keeps what was tried).
    public func rejectPush(_ change: OutgoingChange, reason: String) throws(StoreError) {
        try write { db in
            let now = nowText()
            guard try settle(db, change, state: "rejected", now: now) else { return }
            try db.execute(sql: "UPDATE outbox SET last_error = ? WHERE id = ?", arguments: [reason, change.entryID])
            if let local = try LocalState.fetch(db, region: change.region, collection: change.collection, sourceID: change.sourceID) {
                var normalized = local.normalized
                for (path, sent) in change.fields where normalized.value(atPath: path) == sent {
                    normalized = normalized.replacing(path: path, with: local.base.value(atPath: path) ?? .null) ?? normalized
                }
                try db.execute(sql: "UPDATE record SET base = coalesce(base, normalized), normalized = ? WHERE collection = ? AND region = ? AND source_id = ?",
                               arguments: [normalized.serialized(), change.collection.rawValue, change.region, change.sourceID])
            }
            try queueChanges(db, region: change.region, collection: change.collection, sourceID: change.sourceID,
                             afterRegionState: true, now: now)
            try audit(db, operator: syncActor, action: "push_rejected", region: change.region, collection: change.collection,
                      sourceID: change.sourceID,
                      detail: .object([("outbox_entry", .int(change.entryID)), ("fields", .array(change.sortedFields.map { .string($0.path) }))]),
                      reason: reason, now: now)
        }
    }

    /// Notes why a send failed without an answer; the entry stays `sending`
    /// and is sent again, unchanged, by the next push.
    public func notePushFailed(_ change: OutgoingChange, error: String) throws(StoreError) {
        try write { db in
            try db.execute(sql: "UPDATE outbox SET last_error = ? WHERE id = ?", arguments: [error, change.entryID])
        }
    }

    /// Moves a `sending` entry to a final state; `false` when it was settled
    /// already (a pull saw the change land first).
    private func settle(_ db: Database, _ change: OutgoingChange, state: String, now: String) throws -> Bool {
        try db.execute(sql: "UPDATE outbox SET state = ?, done_at = ? WHERE id = ? AND state = 'sending'",
                       arguments: [state, now, change.entryID])
        return db.changesCount > 0
    }

    /// Stores a record the region sent in an answer exactly as a pull would
    /// (local edits merged over it), then queues what is left to send.
    private func takeRegionState(_ db: Database, _ change: OutgoingChange, _ item: PageItem?, now: String) throws -> Int {
        var counts = ApplyCounts()
        switch item {
        case let .upsert(record, raw, _)? where record.meta.sourceID == change.sourceID:
            var page = try PageWrite.single(db, region: change.region, collection: change.collection)
            try upsert(db, region: change.region, collection: change.collection, record: record, raw: raw,
                       certificateRef: nil, now: now, counts: &counts, page: &page)
        case let .delete(sourceID, updatedAt, version, raw)? where sourceID == change.sourceID:
            // Deleted in the region meanwhile (an Omsk tombstone as the
            // current record): stored as a pull stores it, which drops the
            // record's edits; nothing is sent again.
            var page = try PageWrite.single(db, region: change.region, collection: change.collection)
            try markDeleted(db, region: change.region, collection: change.collection, sourceID: sourceID,
                            updatedAt: updatedAt, version: version, raw: raw, now: now, counts: &counts, page: &page)
        default:
            break
        }
        try queueChanges(db, region: change.region, collection: change.collection, sourceID: change.sourceID,
                         afterRegionState: true, now: now)
        return counts.conflictsOpened
    }

    /// The outbox, oldest first; of one region code when given.
    public func outbox(region: String? = nil) throws(StoreError) -> [OutboxEntry] {
        try read { db in
            var sql = "SELECT * FROM outbox"
            var arguments: StatementArguments = []
            if let region { sql += " WHERE region = ?"; arguments += [region] }
            return try Row.fetchAll(db, sql: sql + " ORDER BY id", arguments: arguments).map { row in
                OutboxEntry(id: row["id"], region: row["region"],
                            collection: CollectionName(rawValue: row["collection"]) ?? .programs,
                            sourceID: row["source_id"], state: row["state"], fields: row["fields"],
                            idempotencyKey: row["idempotency_key"], attempts: row["attempts"],
                            lastError: row["last_error"], result: row["result"])
            }
        }
    }
}

extension OutgoingChange {
    /// The request as stored with its entry, to be sent again unchanged.
    var storedText: String {
        JSONValue.object([
            ("fields", .object(sortedFields)), ("record", record), ("base_version", .string(baseVersion)),
            ("base_updated_at", .string(baseUpdatedAt)), ("raw", .string(raw)),
        ]).serialized()
    }

    init(stored text: String?, entryID: Int64, key: String, region: String, collection: CollectionName,
         sourceID: String) throws {
        let json = try JSONParser.parse(text ?? "")
        guard case let .object(fields)? = json["fields"], let record = json["record"], case let .string(raw)? = json["raw"] else {
            throw StoreError("outbox entry \(entryID): the stored request does not read back")
        }
        func string(_ key: String) -> String? {
            if case let .string(s)? = json[key] { return s }
            return nil
        }
        self.init(entryID: entryID, idempotencyKey: key, region: region, collection: collection, sourceID: sourceID,
                  fields: Dictionary(fields, uniquingKeysWith: { a, _ in a }), record: record,
                  baseVersion: string("base_version"), baseUpdatedAt: string("base_updated_at"), raw: raw)
    }
}
