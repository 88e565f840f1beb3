public import DopsyncStore
public import Hummingbird

/// Lets a request through only with `Authorization: Bearer <token>` naming a
/// live token whose role is among `allowed` (an `admin` token passes
/// everywhere). Without a known token the answer is 401 with a
/// `WWW-Authenticate: Bearer` challenge; with a token of another role, 403.
///
/// The token is looked up in the store on every request, so a revocation
/// (from the command line or the admin API) takes effect at once.
public struct BearerAuthMiddleware: RouterMiddleware {
    public typealias Context = GatewayRequestContext

    let store: Store
    let allowed: [APIRole]

    /// - Parameter allowed: the roles this group is for, besides `admin`.
    public init(store: Store, allowed: [APIRole]) {
        self.store = store
        self.allowed = allowed
    }

    /// Checks the token, then hands the request on with `context.token` set.
    ///
    /// - Throws: `GatewayError` 401 or 403.
    public func handle(_ request: Request, context: Context,
                       next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw GatewayError.unauthenticated(invalidToken: false)
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw GatewayError.unauthenticated(invalidToken: false)
        }
        let presented = String(parts[1]).trimmingSpaces
        let store = self.store
        guard let token = try await offload({ try store.authenticate(token: presented) }) else {
            throw GatewayError.unauthenticated(invalidToken: true)
        }
        guard token.role == .admin || allowed.contains(token.role) else {
            throw GatewayError.forbidden(role: token.role.rawValue, allowed: (allowed + [.admin]).map(\.rawValue))
        }
        var context = context
        context.token = token
        return try await next(request, context)
    }
}

extension String {
    /// Without surrounding spaces and tabs (what an HTTP field value may carry).
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
