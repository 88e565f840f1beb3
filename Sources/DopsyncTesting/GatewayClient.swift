public import DopsyncStore
public import Foundation
public import Gateway
public import Transport
internal import Dispatch
internal import Synchronization

/// A small client of the gateway's HTTP API for tests: real requests over a
/// socket, through the project's libcurl transport.
public struct GatewayClient: Sendable {
    public let baseURL: String
    let client: HTTPClient

    /// - Parameter caFile: a CA to trust for `https://` URLs.
    public init(baseURL: String, caFile: String? = nil) throws {
        self.baseURL = baseURL
        client = try HTTPClient(configuration: HTTPClientConfiguration(
            tls: TLSOptions(caFile: caFile), connectTimeout: .seconds(5), totalTimeout: .seconds(60)))
    }

    /// Sends `method path` (path with its query), with a bearer token when given.
    public func request(_ method: String = "GET", _ path: String, token: String? = nil, accept: String? = nil,
                        body: String? = nil) async throws -> HTTPResponse {
        var headers: [(name: String, value: String)] = []
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        if let accept { headers.append(("Accept", accept)) }
        if body != nil { headers.append(("Content-Type", "application/json")) }
        // A POST always carries a body, empty if need be: libcurl would
        // otherwise read one from its default source.
        return try await client.execute(HTTPRequest(method: method, url: baseURL + path, headers: headers,
                                                    body: body.map { Array($0.utf8) } ?? (method == "POST" ? [] : nil)))
    }

    /// Sends `method path` with exactly the given headers and body (a form
    /// post, a cookie); redirects are not followed.
    public func send(_ method: String, _ path: String, headers: [(name: String, value: String)],
                     body: String? = nil) async throws -> HTTPResponse {
        try await client.execute(HTTPRequest(method: method, url: baseURL + path, headers: headers,
                                             body: body.map { Array($0.utf8) }))
    }

    /// `GET path`.
    public func get(_ path: String, token: String? = nil, accept: String? = nil) async throws -> HTTPResponse {
        try await request("GET", path, token: token, accept: accept)
    }
}

/// A gateway served in-process on a free loopback port, with a client.
public struct ServedGateway: Sendable {
    public let server: GatewayServer
    public let client: GatewayClient
    public let environment: GatewayEnvironment
    public let requests: RequestMetrics

    /// Serves `store` for the configured `regions` (name, code) on port 0.
    public static func start(store: Store, regions: [GatewayRegion],
                             tls: (certificateFile: String, keyFile: String, caFile: String)? = nil) async throws -> ServedGateway {
        let environment = GatewayEnvironment(store: store, regions: regions, link: try temporaryLinkKey())
        let requests = RequestMetrics()
        var options = GatewayOptions(host: "127.0.0.1", port: 0)
        if let tls { options.tls = (tls.certificateFile, tls.keyFile) }
        let server = try await GatewayServer.start(environment: environment, options: options, requests: requests)
        return ServedGateway(server: server, client: try GatewayClient(baseURL: server.url, caFile: tls?.caFile),
                             environment: environment, requests: requests)
    }

    public func stop() async { await server.stop() }
}

/// A fresh link key in the temporary folder.
public func temporaryLinkKey() throws -> LinkKey {
    try LinkKey.loadOrCreate(path: FileManager.default.temporaryDirectory
        .appendingPathComponent("dopsync-\(UUID().uuidString).key").path)
}

extension HTTPResponse {
    /// The body parsed as JSON, or `nil`.
    public var json: JSONBody? { JSONBody(bodyText) }
}

/// A JSON body, looked into with Foundation (an independent reading from the
/// gateway's own JSON code).
public struct JSONBody: @unchecked Sendable {
    public let value: Any

    init?(_ text: String) {
        guard let v = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) else { return nil }
        value = v
    }

    init(value: Any) { self.value = value }

    public subscript(key: String) -> JSONBody? {
        (value as? [String: Any])?[key].map { JSONBody(value: $0) }
    }

    public var array: [JSONBody] { (value as? [Any])?.map { JSONBody(value: $0) } ?? [] }
    public var string: String? { value as? String }
    public var int: Int? { (value as? NSNumber).map(\.intValue) }
    public var bool: Bool? { (value as? NSNumber).map(\.boolValue) }
}

/// `dopsync serve` run as a process: its address and its output.
public final class ServeProcess: @unchecked Sendable {
    public let process: ChildProcess
    /// The address it printed (`http://127.0.0.1:PORT`).
    public let url: String
    private let output: TextBox
    private let finished: DispatchGroup

    init(process: ChildProcess, url: String, output: TextBox, finished: DispatchGroup) {
        self.process = process; self.url = url; self.output = output; self.finished = finished
    }

    /// Sends `signal` and waits for the process to end.
    ///
    /// - Returns: its exit status and all it printed on standard output.
    public func stop(signal: Int32 = SIGTERM) async -> (status: Int32, stdout: String) {
        process.kill(signal)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            finished.notify(queue: .global()) {
                self.process.waitUntilExit()
                continuation.resume()
            }
        }
        return (process.terminationStatus, output.text)
    }
}

extension DopsyncBinary {
    /// Starts `dopsync serve` with `arguments` (after `serve`) and returns once
    /// it printed the address it listens on.
    ///
    /// - Throws: when it ends before printing one (its standard error in the message).
    public static func serve(_ arguments: [String]) async throws -> ServeProcess {
        let process = try ChildProcess(url, ["serve"] + arguments, standardOutput: .pipe, standardError: .pipe)
        let out = process.standardOutput!, err = process.standardError!
        let output = TextBox()
        let errors = TextBox()
        let finished = DispatchGroup()
        let address = AsyncStream<String>.makeStream()
        // Read on threads of their own, never on the cooperative pool or a
        // dispatch worker: a server's output stays open as long as it runs.
        finished.enter()
        finished.enter()
        Thread {
            defer { finished.leave() }
            var announced = false
            while true {
                let data = out.availableData
                if data.isEmpty { break }
                let text = output.append(String(decoding: data, as: UTF8.self))
                if !announced, let line = text.split(separator: "\n").first(where: { $0.contains("listening on ") }),
                   let url = line.split(separator: " ").last {
                    announced = true
                    address.continuation.yield(String(url))
                }
            }
            address.continuation.finish()
        }.start()
        Thread {
            defer { finished.leave() }
            let data = err.readDataToEndOfFile()
            _ = errors.append(String(decoding: data, as: UTF8.self))
        }.start()
        var iterator = address.stream.makeAsyncIterator()
        guard let url = await iterator.next() else {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                finished.notify(queue: .global()) { process.waitUntilExit(); c.resume() }
            }
            throw ServeFailed(description: "dopsync serve ended (\(process.terminationStatus)) before listening: \(errors.text)")
        }
        return ServeProcess(process: process, url: url, output: output, finished: finished)
    }
}

/// `dopsync serve` did not come up.
public struct ServeFailed: Error, CustomStringConvertible {
    public let description: String
}

/// Text appended from one thread and read from another.
final class TextBox: Sendable {
    private let storage = Mutex("")

    /// Appends and returns the whole text so far.
    func append(_ more: String) -> String { storage.withLock { $0 += more; return $0 } }

    var text: String { storage.withLock { $0 } }
}
