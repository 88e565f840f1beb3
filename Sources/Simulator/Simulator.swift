internal import DopsyncModel
internal import Foundation
internal import HTTPTypes
internal import Hummingbird
internal import HummingbirdTLS
internal import Logging
internal import NIOCore
internal import NIOSSL
internal import Synchronization

/// What to simulate and how.
public struct SimulatorOptions: Sendable {
    /// The regions the simulator can serve, in code order of the configuration.
    static let regionAPIs: [any RegionAPI.Type] = [
        OmskAPI.self,
        LeningradAPI.self,
        KemerovoAPI.self,
        KrasnoyarskAPI.self,
    ]

    /// Names of every region the simulator can serve.
    public static var availableRegions: [String] { regionAPIs.map { $0.name } }

    /// Region names to serve.
    public var regions: [String]
    /// Certificates per region; programs, contracts and charges in proportion.
    public var scale: Int
    public var seed: UInt64
    public var host: String
    /// Port per region; absent or 0 picks a free one.
    public var ports: [String: Int]
    /// Where the CA, certificates, secrets and dopsync.yaml are written.
    public var directory: String
    /// How long an issued token lives.
    public var tokenLifetime: Duration
    /// How long an Omsk cursor stays valid.
    public var cursorLifetime: Duration
    /// Deliberately bad records per collection, which the gateway must quarantine.
    public var invalidRecords: Int
    /// Faults played on every region's answers.
    public var faults: SimFaults = .none
    /// The page size the written configuration asks the gateway for, where a
    /// region lets the client choose it (Leningrad's `per_page`); `nil` leaves
    /// the adapter's default. Tests use small pages to walk many of them at a
    /// small scale.
    public var clientPageSize: Int? = nil
    /// The most records a Krasnoyarsk snapshot page holds, whatever its
    /// `limit` asks (the page documents no bound, so a region may answer
    /// fewer than asked before the end); `nil` answers `limit`.
    public var snapshotPageCap: Int? = nil
    /// Whether the regions refuse requests over their documented rate
    /// (`false` for benchmarks: the written configuration then lets the
    /// gateway's client go as fast as it can, `requests_per_second: 1000`).
    public var rateLimits = true

    public init(directory: String, regions: [String] = SimulatorOptions.availableRegions, scale: Int = 2000,
                seed: UInt64 = 1, host: String = "127.0.0.1", ports: [String: Int] = [:],
                tokenLifetime: Duration = .seconds(3600), cursorLifetime: Duration = .seconds(86400),
                invalidRecords: Int = 2) {
        self.directory = directory; self.regions = regions; self.scale = scale; self.seed = seed; self.host = host
        self.ports = ports; self.tokenLifetime = tokenLifetime; self.cursorLifetime = cursorLifetime
        self.invalidRecords = invalidRecords
    }
}

/// Why the simulator could not start.
public struct SimulatorError: Error, CustomStringConvertible {
    public let description: String
}

/// The simulated regional systems, each on its own loopback port over HTTPS
/// with a CA made at start, and a gateway configuration that points at them.
public final class Simulator: Sendable {
    struct Served: Sendable {
        let name: String
        let port: Int
        let basePath: String
        let data: RegionData
    }

    private let served: [Served]
    private let tasks: Mutex<[Task<Void, any Error>]>
    private let stopped = Mutex<[CheckedContinuation<Void, Never>]?>([])
    /// The gateway configuration written into the options' directory.
    public let configPath: String
    /// The CA that signed the servers' and the client's certificates.
    public let caPath: String

    private init(served: [Served], tasks: [Task<Void, any Error>], configPath: String, caPath: String) {
        self.served = served
        self.tasks = Mutex(tasks)
        self.configPath = configPath
        self.caPath = caPath
    }

    /// Generates the data, starts every region's server, and writes the
    /// certificates and the gateway's configuration.
    ///
    /// - Throws: `SimulatorError` for an unknown region; errors of binding a port.
    public static func start(_ options: SimulatorOptions) async throws -> Simulator {
        for name in options.regions where !SimulatorOptions.availableRegions.contains(name) {
            throw SimulatorError(description: "unknown region \(name) (known: \(SimulatorOptions.availableRegions.joined(separator: ", ")))")
        }
        let directory = URL(fileURLWithPath: options.directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let tls = try TLSMaterial.generate()
        func write(_ name: String, _ text: String, private: Bool = false) throws {
            let url = directory.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            if `private` { try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path) }
        }
        try write("ca.pem", tls.caPEM)
        try write("client.pem", tls.clientCertificatePEM)
        try write("client.key", tls.clientKeyPEM, private: true)

        var served: [Served] = []
        var tasks: [Task<Void, any Error>] = []
        var yaml = ["# Written by `dopsync sim`: the simulated regions on loopback.", "store: ./dopsync.sqlite",
                    "key_file: ./dopsync.key", "regions:"]
        for api in SimulatorOptions.regionAPIs where options.regions.contains(api.name) {
            let data = RegionData(code: api.code, scheme: api.ids, scale: options.scale, seed: options.seed,
                                  invalidRecords: options.invalidRecords, reportsDeletions: api.reportsDeletions,
                                  expectation: api.expectedRecord)
            data.setFaults(options.faults)
            let handler = api.init(data: data, options: options)
            let (task, port) = try await serve(handler, data: data, tls: tls, requireClientCertificate: api.requiresClientCertificate,
                                               host: options.host, port: options.ports[api.name] ?? 0)
            tasks.append(task)
            served.append(Served(name: api.name, port: port, basePath: api.basePath, data: data))
            let section = handler.configuration(baseURL: "https://\(options.host):\(port)\(api.basePath)")
            yaml.append("  \(api.name):")
            yaml += section.yaml.map { "    " + $0 }
            if !options.rateLimits { yaml.append("    requests_per_second: 1000") }
            for (name, text) in section.files { try write(name, text, private: true) }
        }
        let configPath = directory.appendingPathComponent("dopsync.yaml").path
        try write("dopsync.yaml", yaml.joined(separator: "\n") + "\n")
        return Simulator(served: served, tasks: tasks, configPath: configPath,
                         caPath: directory.appendingPathComponent("ca.pem").path)
    }

    /// Runs one region's HTTPS server; returns its task and bound port.
    ///
    /// Each request other than a token request draws its faults (see
    /// `FaultPlayer`): a revocation is played before the region answers, a
    /// page shift while it computes its page, and a fault of the answer on
    /// what it answered.
    private static func serve(_ api: any RegionAPI, data: RegionData, tls: TLSMaterial, requireClientCertificate: Bool,
                              host: String, port: Int) async throws -> (Task<Void, any Error>, Int) {
        let responder = CallbackResponder<SimRequestContext> { request, context in
            data.countRequest()
            let body = try await request.body.collect(upTo: 64 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let sim = SimRequest(method: request.method.rawValue, target: request.uri.string, headers: headers,
                                 body: Array(buffer: body))
            let spared = api.isTokenRequest(sim)
            let before = spared ? (shift: false, revoke: false) : data.faults.drawBeforeAnswer()
            if before.revoke { data.playRevocation() }
            let scope = RegionData.RequestScope(shift: before.shift)
            var answer = await RegionData.$scope.withValue(scope) { await api.respond(to: sim) }
            var played: SimFault? = nil
            if !spared, let fault = data.faults.drawOnAnswer(), FaultPlayer.applies(fault, to: answer) {
                // A reset is played below, while the body is written.
                if fault != .reset { answer = FaultPlayer.play(fault, on: answer) }
                played = fault
            }
            if let played { data.faults.count(played) } else if !spared { data.answered(answer.status, scope: scope) }
            var fields = HTTPFields()
            for (name, value) in answer.headers {
                if let n = HTTPField.Name(name) { fields.append(HTTPField(name: n, value: value)) }
            }
            if played == .reset {
                return Response(status: .init(code: answer.status), headers: fields,
                                body: resetBody(answer.body, channel: context.channel))
            }
            return Response(status: .init(code: answer.status), headers: fields,
                            body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        }
        let bound = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "dopsync.sim")
        // Critical only: stopping a server logs a harmless "already closed".
        logger.logLevel = .critical
        let app = Application(
            responder: responder,
            server: try .tls(.http1(), tlsConfiguration: try tls.serverConfiguration(requireClientCertificate: requireClientCertificate)),
            configuration: .init(address: .hostname(host, port: port), serverName: "dopsync-sim"),
            onServerRunning: { channel in
                bound.continuation.yield(channel.localAddress?.port ?? 0)
                bound.continuation.finish()
            },
            logger: logger)
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = bound.stream.makeAsyncIterator()
        guard let actual = await iterator.next() else {
            task.cancel()
            _ = try await task.value
            throw SimulatorError(description: "the server for port \(port) did not start")
        }
        return (task, actual)
    }

    /// The body of a `reset` fault: the head has announced the whole
    /// length; half of the bytes go out, then the TCP connection is aborted
    /// under TLS (`SO_LINGER` 0 and a close below the TLS handler: a RST,
    /// no `close_notify`), as a connection reset in the middle of a body is.
    /// libcurl reports a receive error ("Connection reset by peer").
    static func resetBody(_ bytes: [UInt8], channel: any Channel) -> ResponseBody {
        ResponseBody(contentLength: bytes.count) { writer in
            try await writer.write(ByteBuffer(bytes: bytes.prefix(bytes.count / 2)))
            // The write above is queued on the event loop before this.
            try await channel.eventLoop.submit {
                _ = (channel as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
                if let tls = try? channel.pipeline.syncOperations.context(handlerType: NIOSSLServerHandler.self) {
                    tls.close(promise: nil)
                } else {
                    channel.close(promise: nil)
                }
            }.get()
            throw SimulatorError(description: "the connection was reset (a reset fault)")
        }
    }

    /// The names of the served regions.
    public var regions: [String] { served.map(\.name) }

    /// The port a region is served on.
    public func port(_ region: String) -> Int { served.first { $0.name == region }!.port }

    /// The base URL of a region's API.
    public func baseURL(_ region: String) -> String {
        let s = served.first { $0.name == region }!
        return "https://127.0.0.1:\(s.port)\(s.basePath)"
    }

    /// A region's live data, for tests to inspect and change.
    public func data(_ region: String) -> RegionData { served.first { $0.name == region }!.data }

    /// Changes about `percent` per cent of every region's records, as a day
    /// of the regions' own work would: programs, certificates and contracts
    /// are updated, and new charges are published (charges never change).
    /// `dopsync sim` does this on `SIGUSR1`, for benchmarks of incremental syncs.
    public func change(percent: Double) {
        for s in served {
            for collection in CollectionName.allCases {
                let count = max(1, Int(Double(s.data.recordCount(collection)) * percent / 100))
                if collection == .charges { s.data.add(collection, count: count) } else { s.data.touch(collection, count: count) }
            }
        }
    }

    /// Stops every server; returns when they are down.
    public func stop() async {
        let running = tasks.withLock { t -> [Task<Void, any Error>] in defer { t = [] }; return t }
        for task in running { task.cancel() }
        for task in running { _ = try? await task.value }
        let waiters = stopped.withLock { w -> [CheckedContinuation<Void, Never>] in defer { w = nil }; return w ?? [] }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once `stop()` has run.
    public func waitUntilStopped() async {
        await withCheckedContinuation { continuation in
            let resumeNow = stopped.withLock { w -> Bool in
                if w == nil { return true }
                w!.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}

/// The request context of the simulated servers: it keeps the connection's
/// channel, which a `reset` fault aborts.
struct SimRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
