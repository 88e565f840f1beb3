internal import DopsyncModel
internal import HTTPTypes
internal import Hummingbird
internal import NIOCore

/// Answers built from text the gateway already has: JSON values or lines
/// serialized by the model, CSV, Prometheus text.
enum Answer {
    static let jsonType = "application/json; charset=utf-8"

    /// A JSON value, compact, with a final newline (as the commands print it).
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        text(value.serialized() + "\n", contentType: jsonType, status: status)
    }

    static func text(_ body: String, contentType: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        // Federal and operator answers come from a store that changes with
        // every sync: no cache may keep them.
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// A list wrapped as `{"items":[…]}`.
    static func items(_ values: [JSONValue]) -> Response {
        json(.object([("items", .array(values))]))
    }
}

/// Reading a request's parameters into typed values, or a 400 naming the one
/// that was wrong.
extension Request {
    /// The first value of query parameter `name`, or `nil` when absent or empty.
    func query(_ name: String) -> String? {
        guard let value = uri.queryParameters[name[...]], !value.isEmpty else { return nil }
        return String(value)
    }
}

extension GatewayRequestContext {
    /// The path parameter `name` as a positive integer id.
    func id(_ name: String = "id") throws(GatewayError) -> Int64 {
        guard let text = parameters.get(name), let id = Int64(text), id > 0 else {
            throw GatewayError.badParameter(name, "expected a positive integer")
        }
        return id
    }
}
