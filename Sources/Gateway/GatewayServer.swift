internal import Foundation
internal import Hummingbird
internal import HummingbirdTLS
internal import HummingbirdCore
public import Logging
internal import NIOCore
internal import NIOSSL
internal import ServiceLifecycle
internal import UnixSignals

/// Where and how `dopsync serve` listens.
public struct GatewayOptions: Sendable {
    /// The address to bind; loopback unless asked otherwise.
    public var host: String
    /// The port; 0 picks a free one (the server reports which).
    public var port: Int
    /// A PEM certificate chain and its PEM private key: HTTPS when given.
    public var tls: (certificateFile: String, keyFile: String)?

    public init(host: String = "127.0.0.1", port: Int = 8080, tls: (certificateFile: String, keyFile: String)? = nil) {
        self.host = host
        self.port = port
        self.tls = tls
    }
}

/// Why the server could not start: unreadable TLS files or a port it
/// cannot bind. The message names the file or the address.
public struct GatewayStartError: Error, Sendable, CustomStringConvertible {
    /// What failed.
    public enum Kind: Sendable {
        /// `--tls-cert` or `--tls-key` cannot be read: a usage error.
        case tlsFiles
        /// The address cannot be bound (in use, not local, not permitted).
        case listen
    }

    public let kind: Kind
    public let description: String
}

/// The gateway's HTTP server, running.
///
/// Invariant: once `start` returns, the server accepts connections on `port`;
/// after `stop()` returns (or the signals given to `start` arrive and
/// `waitUntilStopped()` returns) it accepts none, and the requests it had
/// taken were answered first.
public final class GatewayServer: Sendable {
    /// The bound port (the real one when 0 was asked).
    public let port: Int
    /// `http://host:port` or `https://host:port`.
    public let url: String
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(port: Int, url: String, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.url = url
        self.group = group
        self.task = task
    }

    /// Binds and starts serving; returns once the port accepts connections.
    ///
    /// - Parameters:
    ///   - requests: the counters `/metrics` shows.
    ///   - stopOnSignals: stop gracefully on SIGINT and SIGTERM (what
    ///     `dopsync serve` wants; tests stop the server with `stop()`).
    /// - Throws: `GatewayStartError` naming the TLS file or the address that failed.
    public static func start(environment: GatewayEnvironment, options: GatewayOptions,
                             requests: RequestMetrics = RequestMetrics(),
                             stopOnSignals: Bool = false, logger: Logger? = nil) async throws -> GatewayServer {
        let logger = logger ?? {
            // Quiet by default: a line per request is for debugging (LOG_LEVEL=debug).
            var logger = Logger(label: "dopsync.serve")
            logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .notice
            return logger
        }()
        let server: HTTPServerBuilder
        if let tls = options.tls {
            server = try .tls(.http1(), tlsConfiguration: try tlsConfiguration(tls))
        } else {
            server = .http1()
        }
        let bound = AsyncStream<Int>.makeStream()
        let app = Application(
            router: GatewayRoutes.router(environment: environment, requests: requests, secureCookies: options.tls != nil),
            server: server,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "dopsync"),
            onServerRunning: { channel in
                bound.continuation.yield(channel.localAddress?.port ?? options.port)
                bound.continuation.finish()
            },
            logger: logger)
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: stopOnSignals ? [.sigint, .sigterm] : [],
                                 logger: logger)
        let task = Task {
            // Ends the wait below when the server fails before it binds.
            defer { bound.continuation.finish() }
            try await group.run()
        }
        var iterator = bound.stream.makeAsyncIterator()
        guard let port = await iterator.next() else {
            let reason: String
            do {
                try await task.value
                reason = "the server stopped before it listened"
            } catch {
                reason = "\(error)"
            }
            throw GatewayStartError(kind: .listen, description: "cannot listen on \(options.host):\(options.port): \(reason)")
        }
        let scheme = options.tls == nil ? "http" : "https"
        let host = options.host.contains(":") ? "[\(options.host)]" : options.host
        return GatewayServer(port: port, url: "\(scheme)://\(host):\(port)", group: group, task: task)
    }

    /// Stops accepting connections, lets the requests in progress finish,
    /// and returns when the server is down.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    /// Returns when the server has stopped, by `stop()` or a shutdown signal.
    ///
    /// - Throws: what stopped the server when it was not asked to stop.
    public func waitUntilStopped() async throws {
        try await task.value
    }

    static func tlsConfiguration(_ files: (certificateFile: String, keyFile: String)) throws(GatewayStartError) -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certificateFile)
        } catch {
            throw GatewayStartError(kind: .tlsFiles, description: "--tls-cert \(files.certificateFile): cannot read a PEM certificate chain: \(error)")
        }
        guard !chain.isEmpty else {
            throw GatewayStartError(kind: .tlsFiles, description: "--tls-cert \(files.certificateFile): holds no PEM certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: files.keyFile, format: .pem)
        } catch {
            throw GatewayStartError(kind: .tlsFiles, description: "--tls-key \(files.keyFile): cannot read a PEM private key: \(error)")
        }
        return TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                        privateKey: .privateKey(key))
    }
}
