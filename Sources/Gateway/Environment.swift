public import DopsyncStore
public import Hummingbird
internal import NIOPosix

/// A configured region as the gateway names it.
public struct GatewayRegion: Sendable, Equatable {
    /// The configuration name (`omsk`).
    public let name: String
    /// The two-digit code used in records (`"55"`).
    public let code: String

    public init(name: String, code: String) {
        self.name = name
        self.code = code
    }
}

/// What the routes answer from: the store, the configured regions and the
/// key that links children across regions (for the national figures).
public struct GatewayEnvironment: Sendable {
    /// The store every route reads.
    public let store: Store
    /// The configured regions, in configuration order; reports and status
    /// show each of them, even with nothing in it.
    public let regions: [GatewayRegion]
    /// The key of the СНИЛС links, for the national figures of the coverage report.
    public let link: LinkKey

    public init(store: Store, regions: [GatewayRegion], link: LinkKey) {
        self.store = store
        self.regions = regions
        self.link = link
    }

    /// A region's configuration name by its code, or the code itself.
    func name(ofCode code: String) -> String {
        regions.first { $0.code == code }?.name ?? code
    }
}

/// The request context of the gateway's routes: Hummingbird's own values and
/// the token the request was authenticated with, once a route's
/// `BearerAuthMiddleware` has checked it.
public struct GatewayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The caller's token; `nil` on routes without authentication.
    public var token: APIToken?

    public init(source: Source) {
        coreContext = .init(source: source)
        token = nil
    }
}

/// Runs blocking store work (SQLite reads of whole collections) on NIO's
/// thread pool, so that it never holds one of the cooperative pool's few
/// threads that the server's connections need.
func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await NIOThreadPool.singleton.runIfActive(body)
}
