internal import CCurl
internal import Dispatch
internal import Foundation
internal import Synchronization

/// TLS material for a client: an extra CA to trust besides the system's, and
/// a client certificate and key for mutual TLS.
public struct TLSOptions: Sendable, Hashable {
    public var caFile: String?
    public var clientCertFile: String?
    public var clientKeyFile: String?

    public init(caFile: String? = nil, clientCertFile: String? = nil, clientKeyFile: String? = nil) {
        self.caFile = caFile; self.clientCertFile = clientCertFile; self.clientKeyFile = clientKeyFile
    }
}

/// How a client connects.
public struct HTTPClientConfiguration: Sendable {
    public var tls: TLSOptions
    public var connectTimeout: Duration
    public var totalTimeout: Duration
    /// Requests that may run at once (each on its own connection).
    public var maxConnections: Int
    public var userAgent: String

    public init(tls: TLSOptions = .init(), connectTimeout: Duration = .seconds(10), totalTimeout: Duration = .seconds(120),
                maxConnections: Int = 4, userAgent: String = "dopsync/0.1") {
        self.tls = tls; self.connectTimeout = connectTimeout; self.totalTimeout = totalTimeout
        self.maxConnections = maxConnections; self.userAgent = userAgent
    }
}

/// A request.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?

    public init(method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil) {
        self.method = method; self.url = url; self.headers = headers; self.body = body
    }
}

/// A response of any status.
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names lowercased, of the final response only.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status; self.headers = headers; self.body = body
    }

    /// The first header of that name, case-insensitively.
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name == lower }?.value
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// Why a request failed before an HTTP status came back, or a status a caller
/// chose to treat as a failure.
public struct TransportError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Kind: String, Sendable {
        case resolve, connect, tls, clientCertificate, timeout, cutShort, reset, httpStatus, cancelled, other
    }

    public var kind: Kind
    public var url: String
    public var status: Int?
    public var detail: String

    public init(kind: Kind, url: String, status: Int? = nil, detail: String) {
        self.kind = kind; self.url = url; self.status = status; self.detail = detail
    }

    /// Worth retrying: the same request may well succeed later.
    public var isRetryable: Bool {
        switch kind {
        case .connect, .timeout, .cutShort, .reset: true
        case .httpStatus: status.map { $0 == 429 || $0 >= 500 } ?? false
        default: false
        }
    }

    public var description: String {
        let what: String
        switch kind {
        case .resolve: what = "cannot resolve the host"
        case .connect: what = "cannot connect"
        case .tls: what = "TLS failure"
        case .clientCertificate: what = "client certificate problem"
        case .timeout: what = "timed out"
        case .cutShort: what = "the body was cut short"
        case .reset: what = "the connection was reset"
        case .httpStatus: what = "HTTP \(status ?? 0)"
        case .cancelled: what = "cancelled"
        case .other: what = "transfer failed"
        }
        return detail.isEmpty ? "\(url): \(what)" : "\(url): \(what): \(detail)"
    }

    /// An HTTP status as an error, with a short single-line excerpt of the body.
    public static func httpStatus(_ status: Int, url: String, body: [UInt8]) -> TransportError {
        var excerpt = String(decoding: body.prefix(400), as: UTF8.self)
            .replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
        if excerpt.count > 200 { excerpt = String(excerpt.prefix(200)) + "…" }
        return TransportError(kind: .httpStatus, url: url, status: status, detail: excerpt)
    }
}

/// libcurl, initialised once for the process.
private let curlGlobal: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

/// An HTTP client over libcurl.
///
/// Each request runs `curl_easy_perform` on a thread of its own, never on
/// Swift's cooperative pool or a dispatch worker. Easy handles are pooled and reused, and with them
/// their open connections (keep-alive). TLS verification is always on.
/// Cancelling the calling task aborts the transfer through the progress callback.
public final class HTTPClient: Sendable {
    let configuration: HTTPClientConfiguration
    private let handles = Mutex<[EasyHandle]>([])
    private let slots: DispatchSemaphore

    public init(configuration: HTTPClientConfiguration) throws(TransportError) {
        _ = curlGlobal
        for (file, kind) in [(configuration.tls.caFile, TransportError.Kind.tls),
                             (configuration.tls.clientCertFile, .clientCertificate),
                             (configuration.tls.clientKeyFile, .clientCertificate)] {
            if let file, !FileManager.default.isReadableFile(atPath: file) {
                throw TransportError(kind: kind, url: "", detail: "\(file) cannot be read")
            }
        }
        self.configuration = configuration
        slots = DispatchSemaphore(value: max(1, configuration.maxConnections))
    }

    /// Sends a request and returns its response, whatever its status.
    ///
    /// - Throws: `TransportError` when no complete response came back.
    public func execute(_ request: HTTPRequest) async throws(TransportError) -> HTTPResponse {
        let cancel = CancelFlag()
        let result: Result<HTTPResponse, TransportError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                // A thread of its own, not a dispatch worker: on Linux, Swift's
                // cooperative pool runs on the same few dispatch workers, and
                // libdispatch adds one only about once a second when they all
                // block, so an in-process server (the simulator, the gateway)
                // would wait seconds to answer.
                Thread {
                    self.slots.wait()
                    defer { self.slots.signal() }
                    let handle = self.handles.withLock { $0.popLast() } ?? EasyHandle()
                    let result = handle.perform(request, configuration: self.configuration, cancel: cancel)
                    self.handles.withLock { $0.append(handle) }
                    continuation.resume(returning: result)
                }.start()
            }
        } onCancel: {
            cancel.set()
        }
        return try result.get()
    }

    /// Closes the pooled connections.
    public func shutdown() {
        handles.withLock { $0.removeAll() }
    }
}

/// Lends a client to `body` and shuts it down afterwards.
public func withHTTPClient<T>(configuration: HTTPClientConfiguration,
                              _ body: (HTTPClient) async throws -> T) async throws -> T {
    let client = try HTTPClient(configuration: configuration)
    defer { client.shutdown() }
    return try await body(client)
}

final class CancelFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .relaxed) }
    var isSet: Bool { flag.load(ordering: .relaxed) }
}

/// What a transfer collects through libcurl's callbacks.
private final class TransferState {
    var body: [UInt8] = []
    var headers: [(name: String, value: String)] = []
    let cancel: CancelFlag

    init(cancel: CancelFlag) { self.cancel = cancel }
}

/// One libcurl easy handle; its connection cache survives `curl_easy_reset`.
final class EasyHandle: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    init() {
        handle = curl_easy_init()!
    }

    deinit {
        curl_easy_cleanup(handle)
    }

    func perform(_ request: HTTPRequest, configuration: HTTPClientConfiguration,
                 cancel: CancelFlag) -> Result<HTTPResponse, TransportError> {
        curl_easy_reset(handle)
        let state = TransferState(cancel: cancel)
        let statePointer = Unmanaged.passUnretained(state).toOpaque()
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(headerList) }

        let h = handle
        func long(_ option: CURLoption, _ value: Int) { _ = dopsync_curl_setopt_long(h, option, value) }
        func text(_ option: CURLoption, _ value: String) {
            // CURLOPT string options are copied by libcurl (since 7.17).
            _ = value.withCString { dopsync_curl_setopt_ptr(h, option, $0) }
        }

        text(CURLOPT_URL, request.url)
        long(CURLOPT_NOSIGNAL, 1)
        long(CURLOPT_FOLLOWLOCATION, 0)
        long(CURLOPT_SSL_VERIFYPEER, 1)
        long(CURLOPT_SSL_VERIFYHOST, 2)
        text(CURLOPT_ACCEPT_ENCODING, "")
        text(CURLOPT_USERAGENT, configuration.userAgent)
        long(CURLOPT_CONNECTTIMEOUT_MS, Int(configuration.connectTimeout / .milliseconds(1)))
        long(CURLOPT_TIMEOUT_MS, Int(configuration.totalTimeout / .milliseconds(1)))
        if let ca = configuration.tls.caFile {
            // The extra CA joins the system's trust: CAINFO holds the extra
            // file and CAPATH the system's hashed certificate folder.
            text(CURLOPT_CAINFO, ca)
            text(CURLOPT_CAPATH, "/etc/ssl/certs")
        }
        if let cert = configuration.tls.clientCertFile {
            text(CURLOPT_SSLCERT, cert)
            text(CURLOPT_SSLCERTTYPE, "PEM")
        }
        if let key = configuration.tls.clientKeyFile {
            text(CURLOPT_SSLKEY, key)
            text(CURLOPT_SSLKEYTYPE, "PEM")
        }
        for (name, value) in request.headers {
            headerList = curl_slist_append(headerList, "\(name): \(value)")
        }
        if request.body != nil && !request.headers.contains(where: { $0.name.lowercased() == "expect" }) {
            headerList = curl_slist_append(headerList, "Expect:")
        }
        _ = dopsync_curl_setopt_ptr(h, CURLOPT_HTTPHEADER, UnsafeRawPointer(headerList))

        switch request.method {
        case "GET": long(CURLOPT_HTTPGET, 1)
        case "HEAD": long(CURLOPT_NOBODY, 1)
        case "POST": long(CURLOPT_POST, 1)
        default: text(CURLOPT_CUSTOMREQUEST, request.method)
        }
        if let body = request.body {
            _ = dopsync_curl_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            _ = body.withUnsafeBytes { dopsync_curl_setopt_ptr(h, CURLOPT_COPYPOSTFIELDS, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)) }
        }

        _ = dopsync_curl_setopt_write(h) { data, size, count, user in
            let state = Unmanaged<TransferState>.fromOpaque(user!).takeUnretainedValue()
            let n = size * count
            if let data, n > 0 {
                data.withMemoryRebound(to: UInt8.self, capacity: n) {
                    state.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: n))
                }
            }
            return n
        }
        _ = dopsync_curl_setopt_ptr(h, CURLOPT_WRITEDATA, statePointer)
        _ = dopsync_curl_setopt_header(h) { data, size, count, user in
            let state = Unmanaged<TransferState>.fromOpaque(user!).takeUnretainedValue()
            let n = size * count
            guard let data else { return n }
            let line = String(decoding: UnsafeRawBufferPointer(start: data, count: n), as: UTF8.self)
            if line.hasPrefix("HTTP/") {
                // A new response begins (after 100 Continue, say): keep only the last one's headers.
                state.headers.removeAll()
                state.body.removeAll(keepingCapacity: true)
            } else if let colon = line.firstIndex(of: ":") {
                let name = line[..<colon].lowercased()
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
                state.headers.append((name, value))
                if name == "content-length", let length = Int(value), length > 0, length < 64 << 20 {
                    state.body.reserveCapacity(length)
                }
            }
            return n
        }
        _ = dopsync_curl_setopt_ptr(h, CURLOPT_HEADERDATA, statePointer)
        long(CURLOPT_NOPROGRESS, 0)
        _ = dopsync_curl_setopt_xferinfo(h) { user, _, _, _, _ in
            let state = Unmanaged<TransferState>.fromOpaque(user!).takeUnretainedValue()
            return state.cancel.isSet ? 1 : 0
        }
        _ = dopsync_curl_setopt_ptr(h, CURLOPT_XFERINFODATA, statePointer)

        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { buffer in
            _ = dopsync_curl_setopt_ptr(h, CURLOPT_ERRORBUFFER, buffer.baseAddress)
            let code = curl_easy_perform(h)
            _ = dopsync_curl_setopt_ptr(h, CURLOPT_ERRORBUFFER, nil)
            return code
        }
        withExtendedLifetime(state) {}

        guard code == CURLE_OK else {
            var detail = String(cString: errorBuffer)
            if detail.isEmpty { detail = String(cString: curl_easy_strerror(code)) }
            return .failure(TransportError(kind: Self.kind(of: code, detail: detail), url: request.url, detail: detail))
        }
        var status = 0
        _ = dopsync_curl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPResponse(status: status, headers: state.headers, body: state.body))
    }

    static func kind(of code: CURLcode, detail: String) -> TransportError.Kind {
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: return .resolve
        case CURLE_COULDNT_CONNECT: return .connect
        case CURLE_OPERATION_TIMEDOUT: return .timeout
        case CURLE_SSL_CERTPROBLEM: return .clientCertificate
        case CURLE_PARTIAL_FILE: return .cutShort
        case CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING:
            // A server that wants a client certificate refuses during the handshake;
            // under TLS 1.3 its alert (no certificate, or one of a CA it does not
            // know: "tlsv1 alert unknown ca") arrives with the first read.
            let lower = detail.lowercased()
            if lower.contains("alert") && (lower.contains("certificate") || lower.contains("handshake") || lower.contains("unknown ca")) {
                return .clientCertificate
            }
            return .reset
        case CURLE_ABORTED_BY_CALLBACK: return .cancelled
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE,
             CURLE_SSL_CIPHER, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_CRL_BADFILE:
            let lower = detail.lowercased()
            if lower.contains("certificate required") || lower.contains("alert handshake") || lower.contains("unknown ca")
                && lower.contains("alert") {
                return .clientCertificate
            }
            return .tls
        default: return .other
        }
    }
}
