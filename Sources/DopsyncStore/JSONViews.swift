public import DopsyncModel

// The JSON forms of what the store holds for operators, shared by the command
// line (`conflicts list --json`, `status --json`) and the operator HTTP API so
// that both always print the same objects.

extension Conflict {
    /// The object of `dopsync conflicts list --json` (interface.md, fixed):
    /// `{"id","kind","region","collection","source_id","opened_at","summary"}`.
    public var listJSON: JSONValue {
        .object([
            ("id", .int(id)), ("kind", .string(kind)), ("region", .string(region)),
            ("collection", .string(collection.rawValue)), ("source_id", .string(sourceID)),
            ("opened_at", .string(openedAt)), ("summary", .string(summary)),
        ])
    }

    /// The list object followed by `closed_at`, `close_reason` and `detail`
    /// (the facts behind the conflict, as stored; no personal data).
    public var detailJSON: JSONValue {
        guard case var .object(members) = listJSON else { return listJSON }
        members.append(("closed_at", .string(closedAt)))
        members.append(("close_reason", .string(closeReason)))
        members.append(("detail", (try? JSONParser.parse(detail)) ?? .string(detail)))
        return .object(members)
    }
}

extension QuarantineEntry {
    /// The entry without its raw text: what a list shows.
    public var listJSON: JSONValue {
        .object([
            ("id", .int(id)), ("region", .string(region)), ("collection", .string(collection.rawValue)),
            ("source_id", .string(sourceID)), ("reason", .string(reason)),
            ("first_seen_at", .string(firstSeenAt)), ("last_seen_at", .string(lastSeenAt)),
        ])
    }

    /// The entry with `raw`, the record exactly as the region sent it. It may
    /// hold personal data: only operators see it.
    public var detailJSON: JSONValue {
        guard case var .object(members) = listJSON else { return listJSON }
        members.append(("raw", .string(raw)))
        return .object(members)
    }
}

extension RegionStatus {
    /// What `dopsync status` shows of the region, as an object; `name` is the
    /// region's configuration name (`omsk`).
    public func json(name: String) -> JSONValue {
        .object([
            ("region", .string(region)), ("name", .string(name)),
            ("last_pull_started_at", .string(lastPullStartedAt)),
            ("last_pull_ok_at", .string(lastPullOKAt)), ("last_push_ok_at", .string(lastPushOKAt)),
            ("last_error", .string(lastError)), ("last_error_at", .string(lastErrorAt)),
            ("records", .object(CollectionName.allCases.map { c in
                let r = records[c] ?? (0, 0)
                return (c.rawValue, .object([("live", .int(r.live)), ("deleted", .int(r.deleted))]))
            })),
            ("open_conflicts", .int(openConflicts)), ("quarantined", .int(quarantined)),
            ("outbox_pending", .int(outboxPending)),
            ("positions", .object(positions.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
        ])
    }
}

extension APIToken {
    /// The token's name, role and dates; never the token, which is not kept.
    public var json: JSONValue {
        .object([("name", .string(name)), ("role", .string(role.rawValue)),
                 ("created_at", .string(createdAt)), ("revoked_at", .string(revokedAt))])
    }
}

extension RegionStatus {
    /// `{"regions":[…]}`: what `dopsync status --json` prints and the operator
    /// API answers; `names` are the regions' configuration names, in order.
    public static func json(_ statuses: [RegionStatus], names: [String]) -> JSONValue {
        .object([("regions", .array(zip(statuses, names).map { $0.json(name: $1) }))])
    }
}

extension AuditEntry {
    /// The object of `dopsync audit --json` and of the operator API:
    /// `{"id","at","operator","action","region","collection","source_id","conflict_id","detail","reason"}`,
    /// `detail` as JSON.
    public var json: JSONValue {
        .object([
            ("id", .int(id)), ("at", .string(at)), ("operator", .string(operatorName)),
            ("action", .string(action)), ("region", .string(region)), ("collection", .string(collection)),
            ("source_id", .string(sourceID)), ("conflict_id", .int(conflictID)),
            ("detail", (try? JSONParser.parse(detail)) ?? .string(detail)), ("reason", .string(reason)),
        ])
    }
}
