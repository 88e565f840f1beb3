internal import GRDB
public import DopsyncModel

/// The kind of conflict a three-way merge opens (normalized-model.md).
public let editConflictKind = "edit_conflict"

/// An `edit_conflict` as `conflicts show` prints it: the record's three
/// states side by side. A certificate's child is left out of all three
/// (personal data).
public struct EditConflictView: Sendable {
    /// The fields changed differently on both sides.
    public var fields: [FieldConflict]
    /// The last common version, as far as the conflict knows it.
    public var base: JSONValue
    /// The region's state now.
    public var region: JSONValue
    /// The gateway's state: its record with its values of the conflicting fields.
    public var gateway: JSONValue
}

/// How an operator resolves a conflict.
public enum ConflictResolution: Sendable {
    /// Keep the region's values of the conflicting fields (an `edit_conflict`).
    case takeRegion
    /// Send the gateway's values of the conflicting fields (an `edit_conflict`).
    case takeGateway
    /// Set fields of the conflict's record (an `edit_conflict`), as `edit` does.
    case set([(path: String, value: JSONValue)])
    /// Close a certificate (region code, source id) of a `duplicate_certificate`.
    case closeCertificate(region: String, sourceID: String)
    /// Close the conflict without changing anything; it is not raised again.
    case dismiss
}

/// What a resolution did.
public struct ResolutionOutcome: Sendable {
    /// The outbox entry the next sync pushes, when the resolution changed a record.
    public var outboxEntry: Int64?
    /// One line on what was done.
    public var description: String
}

/// The stored detail of an edit conflict: the ancestor and the fields.
struct EditConflictDetail {
    var base: JSONValue
    var fields: [FieldConflict]

    var json: JSONValue {
        .object([("base", base), ("fields", .array(fields.map { f in
            .object([("field", .string(f.path)), ("base", f.base), ("gateway", f.gateway), ("region", f.region)])
        }))])
    }

    init(base: JSONValue, fields: [FieldConflict]) { self.base = base; self.fields = fields }

    init(_ text: String) throws {
        let json = try JSONParser.parse(text)
        base = json["base"] ?? .object([])
        var fields: [FieldConflict] = []
        if case let .array(items)? = json["fields"] {
            for item in items {
                guard case let .string(path)? = item["field"] else { continue }
                fields.append(FieldConflict(path: path, base: item["base"] ?? .null, gateway: item["gateway"] ?? .null,
                                            region: item["region"] ?? .null))
            }
        }
        self.fields = fields
    }

    var summary: String {
        let names = fields.map(\.path).joined(separator: ", ")
        var version = ""
        if case let .string(v)? = base["source_version"] { version = " since version \(v)" }
        return "\(names) changed differently at the gateway and in the region\(version)"
    }
}

/// A record without the personal data it carries (a certificate's child).
func withoutPersonalData(_ record: JSONValue) -> JSONValue {
    guard case let .object(members) = record else { return record }
    return .object(members.filter { $0.0 != "child" })
}

extension Store {
    /// Opens the record's `edit_conflict`, or adds the fields to the one open.
    ///
    /// - Returns: whether a conflict was opened.
    func openEditConflict(_ db: Database, region: String, collection: CollectionName, sourceID: String,
                          ancestor: JSONValue, fields: [FieldConflict], now: String) throws -> Bool {
        let key = "\(region)/\(collection.rawValue)/\(sourceID)"
        if let row = try Row.fetchOne(db, sql: "SELECT id, detail FROM conflict WHERE kind = ? AND dedup_key = ? AND closed_at IS NULL",
                                      arguments: [editConflictKind, key]) {
            var detail = try EditConflictDetail(row["detail"] as String)
            for f in fields {
                if let i = detail.fields.firstIndex(where: { $0.path == f.path }) { detail.fields[i] = f } else { detail.fields.append(f) }
            }
            try db.execute(sql: "UPDATE conflict SET detail = ?, summary = ? WHERE id = ?",
                           arguments: [detail.json.serialized(), detail.summary, row["id"] as Int64])
            return false
        }
        let detail = EditConflictDetail(base: withoutPersonalData(ancestor), fields: fields)
        try db.execute(sql: """
            INSERT INTO conflict(kind, dedup_key, region, collection, source_id, summary, detail, opened_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [editConflictKind, key, region, collection.rawValue, sourceID, detail.summary,
                             detail.json.serialized(), now])
        return true
    }

    /// Drops from the record's open `edit_conflict` the fields where the
    /// region now holds the gateway's value, closing it when none is left,
    /// or when the region deleted the record (nothing can be written to it).
    /// Runs for every new state the region sends of a record, with local
    /// edits or not: the gateway's side of a conflict lives in the conflict.
    func settleEditConflict(_ db: Database, region: String, collection: CollectionName, sourceID: String,
                            incoming: JSONValue, now: String) throws {
        guard let row = try Row.fetchOne(db, sql: "SELECT id, detail FROM conflict WHERE kind = ? AND dedup_key = ? AND closed_at IS NULL",
                                         arguments: [editConflictKind, "\(region)/\(collection.rawValue)/\(sourceID)"]) else { return }
        if incoming["deleted"] == .bool(true) {
            try db.execute(sql: "UPDATE conflict SET closed_at = ?, close_reason = ? WHERE id = ?",
                           arguments: [now, "resolved by newer data: the region has deleted the record", row["id"] as Int64])
            return
        }
        var detail = try EditConflictDetail(row["detail"] as String)
        let before = detail.fields.count
        detail.fields.removeAll { incoming.value(atPath: $0.path) == $0.gateway }
        guard detail.fields.count < before else { return }
        let id: Int64 = row["id"]
        if detail.fields.isEmpty {
            try db.execute(sql: "UPDATE conflict SET closed_at = ?, close_reason = ? WHERE id = ?",
                           arguments: [now, "resolved by newer data: the region now holds the gateway's values", id])
        } else {
            try db.execute(sql: "UPDATE conflict SET detail = ?, summary = ? WHERE id = ?",
                           arguments: [detail.json.serialized(), detail.summary, id])
        }
    }

    /// The three states of an `edit_conflict`, or `nil` for another kind.
    ///
    /// - Throws: `StoreError` when the conflict does not exist.
    public func editConflictView(id: Int64) throws(StoreError) -> EditConflictView? {
        try read { db in
            guard let c = try Row.fetchOne(db, sql: "SELECT * FROM conflict WHERE id = ?", arguments: [id]) else {
                throw StoreError("conflict \(id) does not exist")
            }
            guard (c["kind"] as String) == editConflictKind else { return nil }
            let detail = try EditConflictDetail(c["detail"] as String)
            guard let record = try Row.fetchOne(db, sql: "SELECT coalesce(base, normalized) AS base, normalized FROM record WHERE collection = ? AND region = ? AND source_id = ?",
                                                arguments: [c["collection"] as String, c["region"] as String, c["source_id"] as String])
            else { throw StoreError("conflict \(id): its record is no longer held") }
            var base = detail.base, gateway = withoutPersonalData(try JSONParser.parse(record["normalized"] as String))
            for f in detail.fields {
                base = base.setting(path: f.path, to: f.base) ?? base
                gateway = gateway.setting(path: f.path, to: f.gateway) ?? gateway
            }
            return EditConflictView(fields: detail.fields, base: base,
                                    region: withoutPersonalData(try JSONParser.parse(record["base"] as String)), gateway: gateway)
        }
    }

    /// Resolves an open conflict and closes it, with an audit row, in one
    /// transaction; a resolution that changes a record queues it for the
    /// next sync's push, exactly as `edit` does.
    ///
    /// - Throws: `StoreError` when the conflict does not exist or is closed,
    ///   the resolution does not fit its kind, or a change is not valid.
    public func resolveConflict(id: Int64, _ resolution: ConflictResolution, operator operatorName: String,
                                reason: String?) throws(StoreError) -> ResolutionOutcome {
        try write { db in
            let now = nowText()
            guard let c = try Row.fetchOne(db, sql: "SELECT * FROM conflict WHERE id = ?", arguments: [id]).map(Conflict.init) else {
                throw StoreError("conflict \(id) does not exist", kind: .notFound)
            }
            if let closed = c.closedAt { throw StoreError("conflict \(id) is already closed (\(closed): \(c.closeReason ?? ""))", kind: .conflict) }
            func requireKind(_ kind: String, _ option: String) throws {
                guard c.kind == kind else {
                    throw StoreError("conflict \(id) is \(c.kind): \(option) applies to \(kind) only", kind: .invalid,
                                     field: String(option.dropFirst(2).prefix { $0 != " " }))
                }
            }
            var change = LocalChange(changed: [], entry: nil)
            var target = (region: c.region, collection: c.collection, sourceID: c.sourceID)
            let name: String, done: String
            switch resolution {
            case .takeRegion:
                try requireKind(editConflictKind, "--take region")
                // The record already holds the region's values of the conflicting fields.
                (name, done) = ("take_region", "kept the region's values")
            case .takeGateway:
                try requireKind(editConflictKind, "--take gateway")
                let fields = try EditConflictDetail(c.detail).fields
                change = try changeLocally(db, region: c.region, collection: c.collection, sourceID: c.sourceID,
                                           changes: fields.map { ($0.path, $0.gateway) }, now: now)
                (name, done) = ("take_gateway", "the gateway's values will be sent")
            case let .set(values):
                try requireKind(editConflictKind, "--set")
                change = try changeLocally(db, region: c.region, collection: c.collection, sourceID: c.sourceID,
                                           changes: values, now: now)
                (name, done) = ("set", "set \(values.map(\.path).joined(separator: ", "))")
            case let .closeCertificate(region, sourceID):
                try requireKind("duplicate_certificate", "--close")
                let listed = try JSONParser.parse(c.detail)["certificates"]
                var places: [String] = []
                if case let .array(items)? = listed {
                    for item in items {
                        if case let .string(r)? = item["region"], case let .string(s)? = item["source_id"] { places.append("\(r):\(s)") }
                    }
                }
                guard places.contains("\(region):\(sourceID)") else {
                    throw StoreError("conflict \(id): \(region):\(sourceID) is not one of its certificates (\(places.joined(separator: ", ")))",
                                     kind: .invalid, field: "close")
                }
                target = (region, .certificates, sourceID)
                change = try changeLocally(db, region: region, collection: .certificates, sourceID: sourceID,
                                           changes: [("status", .string(CertificateStatus.closed.rawValue))], now: now)
                (name, done) = ("close", "certificate \(region):\(sourceID) will be closed in its region")
            case .dismiss:
                guard let reason, !reason.isEmpty else { throw StoreError("conflict \(id): dismissing needs a reason", kind: .invalid, field: "reason") }
                (name, done) = ("dismiss", "dismissed")
            }
            try db.execute(sql: "UPDATE conflict SET closed_at = ?, close_reason = ?, resolution = ? WHERE id = ?",
                           arguments: [now, "resolved by \(operatorName): \(done)", name, id])
            var detail = change.detail
            if case var .object(members) = detail { members.insert(("resolution", .string(name)), at: 0); detail = .object(members) }
            try audit(db, operator: operatorName, action: "resolve", region: target.region, collection: target.collection,
                      sourceID: target.sourceID, conflictID: id, detail: detail, reason: reason, now: now)
            return ResolutionOutcome(outboxEntry: change.entry, description: "conflict \(id): \(done)")
        }
    }
}
