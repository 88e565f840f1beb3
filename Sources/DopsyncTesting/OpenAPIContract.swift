public import DopsyncModel
internal import Foundation
internal import Yams

/// An OpenAPI 3.1 document of `contracts/`, for checking what a simulated
/// region answers against what the contract says.
///
/// It checks the part of JSON Schema that the contracts use: `$ref` to
/// `#/components/...`, `type` (one or a list, `"null"` included), `const`,
/// `enum`, `required`, `properties`, `additionalProperties: false`, `items`,
/// `oneOf`, `anyOf`, `pattern`, `minimum` and `maximum`. Other keywords
/// (`description`, `format`, `default`) are not checked.
public struct OpenAPIContract: Sendable {
    /// The whole document, as JSON.
    public let document: JSONValue

    /// Reads a contract, by its path in the repository (`contracts/regions/leningrad.openapi.yaml`).
    ///
    /// - Throws: when the file cannot be read or is not YAML.
    public init(repositoryPath relative: String) throws {
        let text = try String(contentsOfFile: repositoryPath(relative), encoding: .utf8)
        guard let node = try Yams.compose(yaml: text) else { throw ValueError("\(relative) is empty") }
        document = Self.json(node)
    }

    static func json(_ node: Node) -> JSONValue {
        if let mapping = node.mapping {
            return .object(mapping.map { key, value in (key.string ?? "", json(value)) })
        }
        if let sequence = node.sequence { return .array(sequence.map(json)) }
        guard let scalar = node.scalar else { return .null }
        switch node.tag.rawValue {
        case Tag.Name.null.rawValue: return .null
        case Tag.Name.bool.rawValue: return .bool(node.bool ?? false)
        case Tag.Name.int.rawValue, Tag.Name.float.rawValue: return .number(scalar.string)
        default: return .string(scalar.string)
        }
    }

    /// The problems of `value` against the schema `#/components/schemas/<name>`,
    /// each naming where (`items[3].snils: …`); none when it conforms.
    public func problems(_ value: JSONValue, schema name: String) -> [String] {
        problems(value, against: .object([("$ref", .string("#/components/schemas/\(name)"))]))
    }

    /// The problems of `value` against a schema given inline.
    public func problems(_ value: JSONValue, against schema: JSONValue, at path: String = "$") -> [String] {
        var found: [String] = []
        check(value, schema, path, &found)
        return found
    }

    func resolve(_ reference: String) -> JSONValue? {
        guard reference.hasPrefix("#/") else { return nil }
        return document.value(atPath: reference.dropFirst(2).replacingOccurrences(of: "/", with: "."))
    }

    static func typeName(_ value: JSONValue) -> [String] {
        switch value {
        case .null: return ["null"]
        case .bool: return ["boolean"]
        case let .number(n): return Int64(n) != nil ? ["integer", "number"] : ["number"]
        case .string: return ["string"]
        case .array: return ["array"]
        case .object: return ["object"]
        }
    }

    static func decimal(_ value: JSONValue?) -> Decimal? {
        guard case let .number(n)? = value else { return nil }
        return Decimal(string: n)
    }

    func check(_ value: JSONValue, _ schema: JSONValue, _ path: String, _ found: inout [String]) {
        if case let .string(reference)? = schema["$ref"] {
            guard let target = resolve(reference) else {
                found.append("\(path): unresolved \(reference)")
                return
            }
            check(value, target, path, &found)
        }
        switch schema["type"] {
        case let .string(t)?:
            if !Self.typeName(value).contains(t) { found.append("\(path): expected \(t), got \(value.serialized())") }
        case let .array(ts)?:
            let allowed = ts.compactMap { if case let .string(s) = $0 { s } else { nil } }
            if Set(allowed).isDisjoint(with: Self.typeName(value)) {
                found.append("\(path): expected \(allowed.joined(separator: " or ")), got \(value.serialized())")
            }
        default: break
        }
        if let constant = schema["const"], constant != value {
            found.append("\(path): expected \(constant.serialized()), got \(value.serialized())")
        }
        if case let .array(options)? = schema["enum"], !options.contains(value) {
            found.append("\(path): \(value.serialized()) is not one of \(JSONValue.array(options).serialized())")
        }
        if case let .string(pattern)? = schema["pattern"], case let .string(s) = value {
            if s.range(of: pattern, options: .regularExpression) == nil {
                found.append("\(path): \"\(s)\" does not match \(pattern)")
            }
        }
        if let n = Self.decimal(value) {
            if let min = Self.decimal(schema["minimum"]), n < min { found.append("\(path): \(n) is below \(min)") }
            if let max = Self.decimal(schema["maximum"]), n > max { found.append("\(path): \(n) is above \(max)") }
        }
        if case let .object(members) = value {
            if case let .array(required)? = schema["required"] {
                for case let .string(key) in required where value[key] == nil {
                    found.append("\(path).\(key): is missing")
                }
            }
            let properties = schema["properties"]
            for (key, member) in members {
                if let property = properties?[key] {
                    check(member, property, "\(path).\(key)", &found)
                } else if schema["additionalProperties"] == .bool(false) {
                    found.append("\(path).\(key): is not documented")
                }
            }
        }
        if case let .array(items) = value, let itemSchema = schema["items"] {
            for (i, item) in items.enumerated() { check(item, itemSchema, "\(path)[\(i)]", &found) }
        }
        if case let .array(options)? = schema["oneOf"] {
            let results = options.map { problems(value, against: $0, at: path) }
            let matching = results.filter(\.isEmpty).count
            if matching == 0, let closest = results.min(by: { $0.count < $1.count }) {
                // The option it came closest to says best what is wrong.
                found += closest
            } else if matching > 1 {
                found.append("\(path): matches \(matching) of the oneOf schemas, not exactly one")
            }
        }
        if case let .array(options)? = schema["anyOf"], !options.contains(where: { problems(value, against: $0, at: path).isEmpty }) {
            found.append("\(path): matches none of the anyOf schemas")
        }
    }
}
