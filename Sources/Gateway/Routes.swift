public import Hummingbird
internal import DopsyncModel
internal import DopsyncStore
internal import Logging

/// The gateway's routes, each group behind the roles it is for:
///
/// | prefix | roles |
/// |---|---|
/// | `/healthz`, `/metrics` | none (no personal data; counts only) |
/// | `/console…` | a console session (cookie) made from an `operator` or `admin` token; the login page needs none |
/// | `/federal/v1` | `federal`, `admin` |
/// | `/operator/v1` | `operator`, `admin` |
/// | `/admin/v1` | `admin` |
///
/// `contracts/gateway.openapi.yaml` describes every route; a test compares
/// it with `router(environment:requests:).routes`.
public enum GatewayRoutes {
    /// Builds the router.
    ///
    /// - Parameters:
    ///   - requests: where answered requests are counted for `/metrics`.
    ///   - secureCookies: the server speaks HTTPS: the console's cookie is marked `Secure`.
    public static func router(environment: GatewayEnvironment, requests: RequestMetrics = RequestMetrics(),
                              secureCookies: Bool = false) -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        // Middleware applies to the routes added after it: these two first,
        // so that every route is counted and no internal error escapes.
        router.add(middleware: RequestMetricsMiddleware(metrics: requests))
        router.add(middleware: ErrorMappingMiddleware())

        let sessions = ConsoleSessions()
        HealthRoutes.register(on: router, environment: environment, requests: requests)
        ConsoleRoutes.register(on: router, environment: environment, sessions: sessions, secureCookies: secureCookies)
        FederalRoutes.register(
            on: router.group("federal/v1").add(middleware: BearerAuthMiddleware(store: environment.store, allowed: [.federal])),
            environment: environment)
        OperatorRoutes.register(
            on: router.group("operator/v1").add(middleware: BearerAuthMiddleware(store: environment.store, allowed: [.operator])),
            environment: environment, sessions: sessions)
        AdminRoutes.register(
            on: router.group("admin/v1").add(middleware: BearerAuthMiddleware(store: environment.store, allowed: [])),
            environment: environment)
        return router
    }

    /// Every route of `router(environment:)` as `METHOD /path`, path
    /// parameters written `{name}` as the OpenAPI document writes them.
    public static func operations(environment: GatewayEnvironment) -> Set<String> {
        Set(router(environment: environment).routes.map { route in
            let path = "/" + route.path.description.split(separator: "/").map { segment in
                segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
            }.joined(separator: "/")
            return "\(route.method.rawValue) \(path)"
        })
    }
}

/// `/healthz` and `/metrics`, open to anyone who can reach the port: they say
/// whether the store answers and how much it holds, nothing about anyone.
enum HealthRoutes {
    static func register(on router: Router<GatewayRequestContext>, environment: GatewayEnvironment,
                         requests: RequestMetrics) {
        let store = environment.store
        router.get("healthz") { _, context in
            do {
                try await offload { try store.ping() }
            } catch {
                context.logger.error("health check failed: \(error)")
                throw GatewayError.unavailable
            }
            return Answer.json(.object([("status", .string("ok"))]))
        }
        router.get("metrics") { _, _ in
            let text = try await offload { try MetricsPage.render(environment: environment, requests: requests) }
            return Answer.text(text, contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
    }
}
