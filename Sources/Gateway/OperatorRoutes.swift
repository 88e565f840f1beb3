internal import DopsyncModel
internal import DopsyncStore
internal import Hummingbird

/// The operator API (`/operator/v1`): the conflicts queue, quarantine and the
/// regions' status, as the commands show them (the objects are the same ones:
/// `Conflict.listJSON` is what `conflicts list --json` prints).
///
/// Extension points: resolving a conflict (`POST conflicts/:id/resolve`) and
/// editing a record (`PATCH records/:collection/:source_id`) belong here,
/// each calling the same store function as its command (`conflicts resolve`,
/// `edit`) with `context.token!.name` as the operator for the audit log. A
/// route added here must also be added to `contracts/gateway.openapi.yaml`:
/// a test fails until it is.
enum OperatorRoutes {
    static func register(on group: RouterGroup<GatewayRequestContext>, environment: GatewayEnvironment) {
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
        group.get("status") { _, _ in
            let statuses = try await offload { try store.status(regions: environment.regions.map(\.code)) }
            return Answer.json(RegionStatus.json(statuses, names: environment.regions.map(\.name)))
        }
    }
}
