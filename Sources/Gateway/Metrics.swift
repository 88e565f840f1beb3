internal import Hummingbird
internal import DopsyncModel
internal import DopsyncStore
internal import Foundation
internal import Logging
internal import SyncEngine
internal import Synchronization

/// HTTP requests answered since the server started, by method, route and
/// status. Routes are the router's patterns (`/operator/v1/conflicts/{id}`),
/// and every unknown path counts as `unmatched`, so the number of series stays
/// bounded whatever clients ask for.
public final class RequestMetrics: Sendable {
    struct Key: Hashable, Comparable {
        let method: String
        let route: String
        let status: Int

        static func < (a: Key, b: Key) -> Bool { (a.route, a.method, a.status) < (b.route, b.method, b.status) }
    }

    private let counts = Mutex<[Key: Int]>([:])

    public init() {}

    func count(method: String, route: String, status: Int) {
        counts.withLock { $0[Key(method: method, route: route, status: status), default: 0] += 1 }
    }

    var snapshot: [(key: Key, value: Int)] { counts.withLock { $0 }.sorted { $0.key < $1.key } }
}

/// Counts every answer into `RequestMetrics`, errors included (with the
/// status they are answered with).
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let metrics: RequestMetrics

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        func route() -> String {
            guard let path = context.endpointPath, path != "NotFound" else { return "unmatched" }
            return path
        }
        do {
            let response = try await next(request, context)
            metrics.count(method: request.method.rawValue, route: route(), status: response.status.code)
            return response
        } catch let error as any HTTPResponseError {
            metrics.count(method: request.method.rawValue, route: route(), status: error.status.code)
            throw error
        } catch {
            metrics.count(method: request.method.rawValue, route: route(), status: 500)
            throw error
        }
    }
}

/// Turns whatever a route throws into a `GatewayError`: Hummingbird's own
/// 404 into ours, and any other error into a 500 whose cause is logged and
/// never sent (it may name a file or hold a record's text).
struct ErrorMappingMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as GatewayError {
            throw error
        } catch let error as OperatorInputError {
            throw GatewayError.badParameter(error.field, error.reason)
        } catch let error as StoreError where error.kind != .failure {
            throw GatewayError(storeError: error)
        } catch let error as HTTPError where error.status == .notFound {
            throw GatewayError.notFound("route \(request.method.rawValue) \(request.uri.path)")
        } catch {
            context.logger.error("\(request.method.rawValue) \(context.endpointPath ?? request.uri.path) failed: \(error)")
            throw GatewayError.internal
        }
    }
}

/// The Prometheus text exposition (format 0.0.4) of the gateway: figures read
/// from the store at each scrape, and the request counters.
struct MetricsPage {
    var lines: [String] = []

    private mutating func family(_ name: String, _ type: String, _ help: String) {
        lines.append("# HELP \(name) \(help)")
        lines.append("# TYPE \(name) \(type)")
    }

    private mutating func sample(_ name: String, _ labels: [(String, String)], _ value: some CustomStringConvertible) {
        let text = labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",")
        lines.append(labels.isEmpty ? "\(name) \(value)" : "\(name){\(text)} \(value)")
    }

    /// Label values escape `\`, `"` and newlines, as the format requires.
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Every conflict kind of normalized-model.md: each gets a series, zero
    /// when none is open, so that alerts see a value rather than no data.
    static let conflictKinds = ["edit_conflict", DomainChecks.duplicateCertificate, DomainChecks.invalidCharge,
                                DomainChecks.balanceMismatch, DomainChecks.brokenReference]

    static func render(environment: GatewayEnvironment, requests: RequestMetrics) throws(StoreError) -> String {
        let store = environment.store
        let statuses = try store.status(regions: environment.regions.map(\.code))
        let conflicts = try store.openConflictCounts()
        var page = MetricsPage()

        func seconds(_ text: String?) -> Int64? { text.flatMap { try? Timestamp(iso: $0) }?.seconds }

        page.family("dopsync_region_last_pull_success_timestamp_seconds", "gauge",
                    "When the last pull of the region succeeded (Unix time); absent before the first.")
        for (s, region) in zip(statuses, environment.regions) {
            if let t = seconds(s.lastPullOKAt) { page.sample("dopsync_region_last_pull_success_timestamp_seconds", [("region", region.code), ("name", region.name)], t) }
        }
        page.family("dopsync_region_last_push_success_timestamp_seconds", "gauge",
                    "When the last push to the region succeeded (Unix time); absent before the first.")
        for (s, region) in zip(statuses, environment.regions) {
            if let t = seconds(s.lastPushOKAt) { page.sample("dopsync_region_last_push_success_timestamp_seconds", [("region", region.code), ("name", region.name)], t) }
        }
        page.family("dopsync_region_last_pull_duration_seconds", "gauge",
                    "How long the last successful pull of the region took; absent before the first.")
        for (s, region) in zip(statuses, environment.regions) {
            if let started = seconds(s.lastPullStartedAt), let ended = seconds(s.lastPullOKAt), ended >= started {
                page.sample("dopsync_region_last_pull_duration_seconds", [("region", region.code), ("name", region.name)], ended - started)
            }
        }
        page.family("dopsync_records", "gauge", "Records held, by region, collection and state (live or deleted).")
        for (s, region) in zip(statuses, environment.regions) {
            for c in CollectionName.allCases {
                let r = s.records[c] ?? (0, 0)
                page.sample("dopsync_records", [("region", region.code), ("collection", c.rawValue), ("state", "live")], r.live)
                page.sample("dopsync_records", [("region", region.code), ("collection", c.rawValue), ("state", "deleted")], r.deleted)
            }
        }
        page.family("dopsync_conflicts_open", "gauge", "Open conflicts, by region and kind.")
        for region in environment.regions {
            let here = conflicts.filter { $0.region == region.code }
            let kinds = Self.conflictKinds + here.map(\.kind).filter { !Self.conflictKinds.contains($0) }.sorted()
            for kind in kinds {
                page.sample("dopsync_conflicts_open", [("region", region.code), ("kind", kind)],
                            here.first { $0.kind == kind }?.count ?? 0)
            }
        }
        page.family("dopsync_quarantined_records", "gauge", "Records waiting in quarantine, by region.")
        for (s, region) in zip(statuses, environment.regions) {
            page.sample("dopsync_quarantined_records", [("region", region.code)], s.quarantined)
        }
        page.family("dopsync_outbox_pending", "gauge", "Changes waiting to be pushed, by region.")
        for (s, region) in zip(statuses, environment.regions) {
            page.sample("dopsync_outbox_pending", [("region", region.code)], s.outboxPending)
        }
        page.family("dopsync_http_requests_total", "counter", "HTTP requests answered, by method, route and status.")
        for (key, value) in requests.snapshot {
            page.sample("dopsync_http_requests_total", [("method", key.method), ("route", key.route), ("status", String(key.status))], value)
        }
        return page.lines.joined(separator: "\n") + "\n"
    }
}
