public import DopsyncModel
internal import Foundation
internal import Yams

/// A region's published API (`contracts/regions/<name>.openapi.yaml`), read
/// to check the simulator's answers against what the page documents.
///
/// The schemas are checked with the part of JSON Schema (2020-12, as OpenAPI
/// 3.1 uses it) that the contracts use: `$ref`, `type`, `enum`, `const`,
/// `required`, `properties`, `additionalProperties`, `items`, `minItems`,
/// `minimum`, `maximum`, `multipleOf` (exact on the number's text),
/// `pattern`, `oneOf`, `anyOf`, `allOf` and `not`. Anything else is ignored.
public struct OpenAPIContract: Sendable {
    /// The document as JSON; numbers keep their text.
    public let document: JSONValue
    /// Whether a member that a `type: object` schema with `properties` does
    /// not list is a problem even without `additionalProperties: false`: a
    /// simulator must send only what the page documents.
    public var undocumentedMembersAreProblems = false

    /// Reads a contract from the repository.
    ///
    /// - Throws: when the file cannot be read or is not YAML.
    public init(repositoryPath relative: String) throws {
        let text = try String(contentsOfFile: repositoryPath(relative), encoding: .utf8)
        guard let node = try Yams.compose(yaml: text) else {
            throw SchemaError("\(relative) is empty")
        }
        document = Self.json(node)
    }

    /// Why a contract could not be used.
    public struct SchemaError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    static func json(_ node: Node) -> JSONValue {
        switch node {
        case let .mapping(mapping):
            return .object(mapping.map { (($0.key.string ?? ""), json($0.value)) })
        case let .sequence(sequence):
            return .array(sequence.map(json))
        case let .scalar(scalar):
            guard scalar.style == .plain || scalar.style == .any else { return .string(scalar.string) }
            if node.null != nil { return .null }
            if let b = node.bool { return .bool(b) }
            if node.int != nil || node.float != nil { return .number(scalar.string) }
            return .string(scalar.string)
        case .alias:
            return .null
        }
    }

    /// The schema a JSON pointer (`#/components/schemas/Program`) names.
    public func resolve(_ pointer: String) -> JSONValue? {
        guard pointer.hasPrefix("#/") else { return nil }
        var current: JSONValue? = document
        for part in pointer.dropFirst(2).split(separator: "/") {
            let key = part.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            current = current?[key]
        }
        return current
    }

    /// The JSON schema of a response body: `path` as written in the contract
    /// (`/v3/{collection}`), `method` lowercased.
    ///
    /// - Throws: `SchemaError` when the contract documents no such answer.
    public func responseSchema(path: String, method: String, status: Int) throws -> JSONValue {
        guard var response = document["paths"]?[path]?[method]?["responses"]?[String(status)] else {
            throw SchemaError("the contract documents no \(status) answer to \(method.uppercased()) \(path)")
        }
        if case let .string(ref)? = response["$ref"], let target = resolve(ref) { response = target }
        guard let schema = response["content"]?["application/json"]?["schema"] else {
            throw SchemaError("the \(status) answer to \(method.uppercased()) \(path) has no JSON schema")
        }
        return schema
    }

    /// The problems of an answer's body against the contract: none when it
    /// conforms.
    public func problems(body: String, path: String, method: String, status: Int) throws -> [String] {
        let schema = try responseSchema(path: path, method: method, status: status)
        guard let value = try? JSONParser.parse(body) else { return ["$: the body is not JSON"] }
        return problems(value, schema)
    }

    /// The problems of `value` against the schema `#/components/schemas/<name>`.
    public func problems(_ value: JSONValue, schema name: String) -> [String] {
        problems(value, .object([("$ref", .string("#/components/schemas/\(name)"))]))
    }

    /// The problems of `value` against a schema given inline.
    public func problems(_ value: JSONValue, against schema: JSONValue) -> [String] {
        problems(value, schema)
    }

    /// The problems of `value` against `schema`, each naming where (`$.items[3].price_month`).
    public func problems(_ value: JSONValue, _ schema: JSONValue, at place: String = "$") -> [String] {
        var out: [String] = []
        check(value, schema, place, &out)
        return out
    }

    private func check(_ value: JSONValue, _ schema: JSONValue, _ place: String, _ out: inout [String]) {
        if case let .string(ref)? = schema["$ref"] {
            guard let target = resolve(ref) else { return out.append("\(place): unresolved \(ref)") }
            check(value, target, place, &out)
        }
        if let type = schema["type"] {
            let allowed: [String] = switch type {
            case let .string(t): [t]
            case let .array(ts): ts.compactMap { if case let .string(t) = $0 { t } else { nil } }
            default: []
            }
            guard allowed.contains(where: { Self.isA(value, $0) }) else {
                return out.append("\(place): expected \(allowed.joined(separator: " or ")), got \(value.serialized().prefix(60))")
            }
        }
        if case let .array(options)? = schema["enum"], !options.contains(value) {
            out.append("\(place): \(value.serialized().prefix(60)) is not one of \(JSONValue.array(options).serialized())")
        }
        if let constant = schema["const"], constant != value {
            out.append("\(place): expected \(constant.serialized()), got \(value.serialized().prefix(60))")
        }
        if case let .object(members) = value {
            let names = Set(members.map(\.0))
            if case let .array(required)? = schema["required"] {
                for case let .string(key) in required where !names.contains(key) {
                    out.append("\(place).\(key): is missing")
                }
            }
            let properties = schema["properties"]
            for (key, member) in members {
                if let sub = properties?[key] {
                    check(member, sub, "\(place).\(key)", &out)
                } else if let extra = schema["additionalProperties"] {
                    if extra == .bool(false) { out.append("\(place).\(key): is not documented") }
                    else if case .object = extra { check(member, extra, "\(place).\(key)", &out) }
                } else if undocumentedMembersAreProblems, properties != nil, schema["type"] == .string("object") {
                    out.append("\(place).\(key): is not documented")
                }
            }
        }
        if case let .array(items) = value {
            if case let .number(n)? = schema["minItems"], let min = Int(n), items.count < min {
                out.append("\(place): fewer than \(min) items")
            }
            if let sub = schema["items"] {
                for (i, item) in items.enumerated() { check(item, sub, "\(place)[\(i)]", &out) }
            }
        }
        if case let .number(text) = value, let v = Double(text) {
            if case let .number(m)? = schema["minimum"], let min = Double(m), v < min { out.append("\(place): \(text) < \(m)") }
            if case let .number(m)? = schema["maximum"], let max = Double(m), v > max { out.append("\(place): \(text) > \(m)") }
            if case let .number(m)? = schema["multipleOf"], !Self.isMultiple(text, of: m) {
                out.append("\(place): \(text) is not a multiple of \(m)")
            }
        }
        if case let .string(s) = value, case let .string(pattern)? = schema["pattern"],
           s.range(of: pattern, options: .regularExpression) == nil {
            out.append("\(place): does not match \(pattern)")
        }
        if case let .array(options)? = schema["oneOf"] {
            let passing = options.filter { problems(value, $0, at: place).isEmpty }.count
            if passing != 1 { out.append("\(place): matches \(passing) of the oneOf schemas, not exactly one") }
        }
        if case let .array(options)? = schema["anyOf"], !options.contains(where: { problems(value, $0, at: place).isEmpty }) {
            out.append("\(place): matches none of the anyOf schemas")
        }
        if case let .array(all)? = schema["allOf"] {
            for sub in all { check(value, sub, place, &out) }
        }
        if let not = schema["not"], problems(value, not, at: place).isEmpty {
            out.append("\(place): matches a schema it must not")
        }
    }

    static func isA(_ value: JSONValue, _ type: String) -> Bool {
        switch (value, type) {
        case (.object, "object"), (.array, "array"), (.string, "string"), (.bool, "boolean"), (.null, "null"),
             (.number, "number"):
            return true
        case let (.number(n), "integer"):
            return Int64(n) != nil
        default:
            return false
        }
    }

    /// Whether a number's text is a multiple of `step`, exactly: a power of
    /// ten such as `0.01` is compared by decimal places.
    static func isMultiple(_ text: String, of step: String) -> Bool {
        func places(_ t: String) -> Int? {
            let lower = t.lowercased()
            let mantissa = lower.split(separator: "e").first.map(String.init) ?? lower
            let exponent = lower.split(separator: "e").dropFirst().first.flatMap { Int($0) } ?? 0
            var fraction = mantissa.split(separator: ".").dropFirst().first.map(String.init) ?? ""
            while fraction.hasSuffix("0") { fraction.removeLast() }
            return max(0, fraction.count - exponent)
        }
        if step.range(of: "^(1|0\\.0*1)$", options: .regularExpression) != nil, let allowed = places(step), let have = places(text) { return have <= allowed }
        guard let v = Double(text), let s = Double(step), s > 0 else { return false }
        return (v / s).rounded() * s == v
    }
}
