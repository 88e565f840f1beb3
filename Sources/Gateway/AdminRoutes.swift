internal import DopsyncModel
internal import DopsyncStore
internal import Hummingbird
internal import NIOCore

/// The admin API (`/admin/v1`): tokens, as `dopsync token` manages them and
/// through the same store functions. Every change is in the audit log under
/// `api:<name of the admin token>`.
enum AdminRoutes {
    static func register(on group: RouterGroup<GatewayRequestContext>, environment: GatewayEnvironment) {
        let store = environment.store
        group.get("tokens") { _, _ in
            let tokens = try await offload { try store.tokens() }
            return Answer.items(tokens.map(\.json))
        }
        group.post("tokens") { request, context in
            let body = try await request.body.collect(upTo: 64 << 10)
            guard let json = try? JSONParser.parse(body.readableBytesView) else {
                throw GatewayError.badParameter("body", #"expected a JSON object {"name":"…","role":"federal|operator|admin"}"#)
            }
            guard case let .string(name)? = json["name"] else {
                throw GatewayError.badParameter("name", "is required: a string")
            }
            if let problem = APIToken.problem(withName: name) { throw GatewayError.badParameter("name", problem) }
            guard case let .string(roleText)? = json["role"], let role = APIRole(rawValue: roleText) else {
                throw GatewayError.badParameter("role", "expected one of \(APIRole.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let actor = "api:" + (context.token?.name ?? "unknown")
            guard let issued = try await offload({ try store.createToken(name: name, role: role, by: actor) }) else {
                throw GatewayError.conflict("a live token is already called \(name); revoke it first or choose another name")
            }
            guard case var .object(members) = issued.info.json else { throw GatewayError.internal }
            members.append(("token", .string(issued.token)))
            return Answer.json(.object(members), status: .created)
        }
        group.delete("tokens/:name") { _, context in
            guard let name = context.parameters.get("name") else { throw GatewayError.badParameter("name", "is required") }
            let actor = "api:" + (context.token?.name ?? "unknown")
            guard try await offload({ try store.revokeToken(name: name, by: actor) }) else {
                throw GatewayError.notFound("a live token called \(name)")
            }
            return Response(status: .noContent)
        }
    }
}
