internal import DopsyncModel
internal import DopsyncStore
internal import Hummingbird
internal import NIOCore
internal import SyncEngine

/// The operator API (`/operator/v1`): the conflicts queue, quarantine and the
/// regions' status, as the commands show them (the objects are the same ones:
/// `Conflict.listJSON` is what `conflicts list --json` prints).
///
/// The writes (`POST conflicts/{id}/resolve`, `POST edits`,
/// `POST quarantine/{id}/retry`) read their request with `OperatorInput`, as
/// the commands do, and call the same store functions; the operator in the
/// audit log is the token's name. A route added here must also be added to
/// `contracts/gateway.openapi.yaml`: a test fails until it is.
enum OperatorRoutes {
    static func register(on group: RouterGroup<GatewayRequestContext>, environment: GatewayEnvironment,
                         sessions: ConsoleSessions) {
        let store = environment.store
        group.get("conflicts") { _, _ in
            let conflicts = try await offload { try store.conflicts() }
            return Answer.items(conflicts.map(\.listJSON))
        }
        group.get("conflicts/:id") { _, context in
            let id = try context.id()
            guard let conflict = try await offload({ try store.conflict(id: id) }) else {
                throw GatewayError.notFound("conflict \(id)")
            }
            return Answer.json(conflict.detailJSON)
        }
        group.get("quarantine") { request, _ in
            var code: String? = nil
            if let region = request.query("region") {
                guard let r = environment.regions.first(where: { $0.name == region || $0.code == region }) else {
                    throw GatewayError.badParameter(
                        "region", "not a configured region (configured: \(environment.regions.map(\.name).joined(separator: ", ")))")
                }
                code = r.code
            }
            let entries = try await offload { [code] in try store.quarantined(region: code) }
            return Answer.items(entries.map(\.listJSON))
        }
        group.get("quarantine/:id") { _, context in
            let id = try context.id()
            guard let entry = try await offload({ try store.quarantineEntry(id: id) }) else {
                throw GatewayError.notFound("quarantine entry \(id)")
            }
            return Answer.json(entry.detailJSON)
        }
        group.post("conflicts/:id/resolve") { request, context in
            let id = try context.id()
            let body = try await OperatorRoutes.body(request)
            let reason = try body.optionalString("reason")
            let set: [(path: String, text: String)]
            switch body["set"] {
            case nil, .null?: set = []
            case let .object(members)?: set = try OperatorRoutes.texts(members)
            default: throw GatewayError.badParameter("set", #"expected an object {"field": value}"#)
            }
            let dismiss: Bool
            switch body["dismiss"] {
            case nil, .null?: dismiss = false
            case let .bool(b)?: dismiss = b
            default: throw GatewayError.badParameter("dismiss", "expected true or false")
            }
            let take = try body.optionalString("take"), close = try body.optionalString("close")
            let operatorName = context.operatorName
            let outcome = try await offload { () throws -> ResolutionOutcome in
                var collection: CollectionName? = nil
                if !set.isEmpty {
                    guard let conflict = try store.conflict(id: id) else { throw StoreError("conflict \(id) does not exist", kind: .notFound) }
                    collection = conflict.collection
                }
                let resolution = try OperatorInput.resolution(take: take, set: set, close: close, dismiss: dismiss,
                                                              reason: reason, collection: collection)
                return try store.resolveConflict(id: id, resolution, operator: operatorName, reason: reason)
            }
            return Answer.json(.object([("id", .int(id)), ("result", .string(outcome.description)),
                                        ("outbox_entry", .int(outcome.outboxEntry))]))
        }
        group.post("edits") { request, context in
            let body = try await OperatorRoutes.body(request)
            guard let collectionText = try body.optionalString("collection"),
                  let collection = CollectionName(rawValue: collectionText) else {
                throw GatewayError.badParameter("collection", "is required: programs or certificates")
            }
            guard let regionText = try body.optionalString("region"), let code = environment.code(of: regionText) else {
                throw GatewayError.badParameter(
                    "region", "is required: a configured region (\(environment.regions.map(\.name).joined(separator: ", ")))")
            }
            guard let sourceID = try body.optionalString("source_id"), !sourceID.isEmpty else {
                throw GatewayError.badParameter("source_id", "is required: the record's id in its region")
            }
            guard case let .object(members)? = body["set"], !members.isEmpty else {
                throw GatewayError.badParameter("set", #"is required: an object {"field": value} with at least one field"#)
            }
            let reason = try body.optionalString("reason")
            let pairs = try OperatorRoutes.texts(members)
            let operatorName = context.operatorName
            let outcome = try await offload { () throws -> EditOutcome in
                let values = try OperatorInput.assignments(pairs, in: collection)
                return try store.edit(region: code, collection: collection, sourceID: sourceID, set: values,
                                      operator: operatorName, reason: reason)
            }
            return Answer.json(.object([
                ("region", .string(code)), ("collection", .string(collection.rawValue)), ("source_id", .string(sourceID)),
                ("changed", .array(outcome.changed.map { .string($0) })), ("outbox_entry", .int(outcome.outboxEntry)),
            ]))
        }
        group.post("quarantine/:id/retry") { _, context in
            let id = try context.id()
            let outcome = try await offload { () throws -> OperatorInput.RetryOutcome? in
                guard let entry = try store.quarantineEntry(id: id) else { throw StoreError("quarantine entry \(id) does not exist", kind: .notFound) }
                guard try store.quarantined(region: entry.region).contains(where: { $0.id == id }) else {
                    throw StoreError("quarantine entry \(id) was already taken", kind: .conflict)
                }
                return try OperatorInput.retryQuarantined([entry], store: store).first
            }
            guard let outcome else { throw GatewayError.conflict("quarantine entry \(id): its region has no adapter to decode it") }
            return Answer.json(.object([("id", .int(id)), ("taken", .bool(outcome.taken)), ("reason", .string(outcome.reason))]))
        }
        group.get("audit") { _, _ in
            let entries = try await offload { try store.auditLog() }
            return Answer.items(entries.map(\.json))
        }
        // A single-use link that logs a browser into the console with this
        // request's token, for a minute: how a script or a test opens the
        // console without typing the token.
        group.post("console/tickets") { request, _ in
            // The bearer middleware let the request through: the header holds a live token.
            guard let header = request.headers[.authorization],
                  let presented = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true).last
            else { throw GatewayError.internal }
            let ticket = sessions.ticket(token: String(presented).trimmingSpaces)
            return Answer.json(.object([("ticket", .string(ticket)), ("path", .string("/console/login?ticket=\(ticket)")),
                                        ("expires_in", .int(Int(sessions.ticketLifetime.components.seconds)))]),
                               status: .created)
        }
        group.get("status") { _, _ in
            let statuses = try await offload { try store.status(regions: environment.regions.map(\.code)) }
            return Answer.json(RegionStatus.json(statuses, names: environment.regions.map(\.name)))
        }
    }
}

extension OperatorRoutes {
    /// The request's body as a JSON object, or a 400 naming `body`.
    static func body(_ request: Request) async throws -> JSONValue {
        let buffer = try await request.body.collect(upTo: 256 << 10)
        guard let json = try? JSONParser.parse(buffer.readableBytesView), case .object = json else {
            throw GatewayError.badParameter("body", "expected a JSON object")
        }
        return json
    }

    /// The members of a `set` object as the texts `OperatorInput` reads.
    static func texts(_ members: [(String, JSONValue)]) throws(GatewayError) -> [(path: String, text: String)] {
        try members.map { (name, value) throws(GatewayError) in
            guard let text = OperatorInput.text(of: value) else {
                throw GatewayError.badParameter("set.\(name)", "expected a string, a number or null")
            }
            return (name, text)
        }
    }
}

extension JSONValue {
    /// Member `name` as a string, `nil` when absent or null; a 400 naming it otherwise.
    func optionalString(_ name: String) throws(GatewayError) -> String? {
        switch self[name] {
        case nil, .null?: return nil
        case let .string(s)?: return s
        default: throw GatewayError.badParameter(name, "expected a string")
        }
    }
}

extension GatewayRequestContext {
    /// Who acts, for the audit log: the name of the request's token.
    var operatorName: String { token?.name ?? "unknown" }
}

extension GatewayEnvironment {
    /// A configured region by name or code, as its code.
    func code(of nameOrCode: String) -> String? {
        regions.first { $0.name == nameOrCode || $0.code == nameOrCode }?.code
    }
}
