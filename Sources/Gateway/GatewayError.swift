public import HTTPTypes
public import Hummingbird
internal import DopsyncModel
public import DopsyncStore
internal import NIOCore

/// An error the gateway answers with: a status and a JSON body
/// `{"error":{"code":"…","message":"…"}}`.
///
/// `code` is short and has no values in it (fit for a client's `switch` and
/// a metric label); `message` says what was wrong and where. Neither ever
/// holds personal data, a token or the text of an internal error: those go
/// to the log only.
public struct GatewayError: HTTPResponseError, CustomStringConvertible, Sendable {
    private enum Kind: Sendable {
        case unauthenticated(invalidToken: Bool)
        case forbidden(role: String, allowed: [String])
        case badParameter(name: String, reason: String)
        case notFound(what: String)
        case missing(message: String)
        case notAcceptable(offered: [String])
        case conflict(String)
        case cursorReset
        case unavailable
        case `internal`
    }

    private let kind: Kind

    private init(_ kind: Kind) { self.kind = kind }

    /// No bearer token, or one the gateway does not know (or has revoked).
    public static func unauthenticated(invalidToken: Bool) -> GatewayError {
        GatewayError(.unauthenticated(invalidToken: invalidToken))
    }

    /// A valid token whose role may not use the route.
    public static func forbidden(role: String, allowed: [String]) -> GatewayError {
        GatewayError(.forbidden(role: role, allowed: allowed))
    }

    /// A query parameter, path segment or body field that is missing or wrong.
    public static func badParameter(_ name: String, _ reason: String) -> GatewayError {
        GatewayError(.badParameter(name: name, reason: reason))
    }

    /// No such route or object (`conflict 12`).
    public static func notFound(_ what: String) -> GatewayError { GatewayError(.notFound(what: what)) }

    /// A store error the operator can act on: what was not found (404), what
    /// clashes with the object's state (409), the request field that does not
    /// fit (400, naming it). Store messages name records by region, collection
    /// and id, never by a child's data.
    public init(storeError error: StoreError) {
        switch error.kind {
        case .notFound: self.init(.missing(message: error.message))
        case .conflict: self.init(.conflict(error.message))
        case .invalid: self.init(.badParameter(name: error.field ?? "body", reason: error.message))
        case .failure: self.init(.internal)
        }
    }

    /// The `Accept` header allows none of the media types offered.
    public static func notAcceptable(offered: [String]) -> GatewayError {
        GatewayError(.notAcceptable(offered: offered))
    }

    /// The request clashes with what the store holds (a token name in use).
    public static func conflict(_ message: String) -> GatewayError { GatewayError(.conflict(message)) }

    /// A feed cursor of another store: the gateway's store was built afresh
    /// and the reader must start again from the beginning.
    public static var cursorReset: GatewayError { GatewayError(.cursorReset) }

    /// The store cannot be read.
    public static var unavailable: GatewayError { GatewayError(.unavailable) }

    /// Anything else; the cause is logged, never sent.
    public static var `internal`: GatewayError { GatewayError(.internal) }

    /// The HTTP status answered.
    public var status: HTTPResponse.Status {
        switch kind {
        case .unauthenticated: .unauthorized
        case .forbidden: .forbidden
        case .badParameter: .badRequest
        case .notFound, .missing: .notFound
        case .notAcceptable: .notAcceptable
        case .conflict: .conflict
        case .cursorReset: .gone
        case .unavailable: .serviceUnavailable
        case .internal: .internalServerError
        }
    }

    /// A short, value-free name of the error.
    public var code: String {
        switch kind {
        case .unauthenticated(let invalid): invalid ? "invalid_token" : "unauthorized"
        case .forbidden: "forbidden"
        case .badParameter: "bad_request"
        case .notFound, .missing: "not_found"
        case .notAcceptable: "not_acceptable"
        case .conflict: "conflict"
        case .cursorReset: "cursor_reset"
        case .unavailable: "unavailable"
        case .internal: "internal"
        }
    }

    /// What was wrong, for people.
    public var message: String {
        switch kind {
        case .unauthenticated(let invalid):
            invalid ? "the bearer token is not known or was revoked"
                : "this route needs a bearer token: Authorization: Bearer <token>"
        case let .forbidden(role, allowed):
            "a \(role) token may not use this route (it needs \(allowed.joined(separator: " or ")))"
        case let .badParameter(name, reason): "\(name): \(reason)"
        case let .notFound(what): "\(what) does not exist"
        case let .missing(message): message
        case let .notAcceptable(offered): "the Accept header allows none of \(offered.joined(separator: ", "))"
        case let .conflict(message): message
        case .cursorReset: "cursor: it belongs to an earlier store of this gateway; start again without one"
        case .unavailable: "the store cannot be read; see the gateway's log"
        case .internal: "the gateway could not answer; see its log"
        }
    }

    /// `status code: message`, for logs.
    public var description: String { "\(status.code) \(code): \(message)" }

    /// The JSON body of the error.
    var json: JSONValue {
        .object([("error", .object([("code", .string(code)), ("message", .string(message))]))])
    }

    /// The JSON answer, with the `WWW-Authenticate` challenge on 401 and 403.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        // RFC 6750: a challenge on 401, and the reason on 403.
        switch kind {
        case .unauthenticated(let invalid):
            headers[.wwwAuthenticate] = invalid ? #"Bearer realm="dopsync", error="invalid_token""# : #"Bearer realm="dopsync""#
        case .forbidden:
            headers[.wwwAuthenticate] = #"Bearer realm="dopsync", error="insufficient_scope""#
        default:
            break
        }
        return Response(status: status, headers: headers,
                        body: .init(byteBuffer: ByteBuffer(string: json.serialized() + "\n")))
    }
}
