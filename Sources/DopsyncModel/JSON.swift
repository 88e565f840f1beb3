/// A JSON value that keeps what the wire said.
///
/// Numbers are kept as their text, exactly as sent, so that money and
/// identifiers are never rounded through a binary floating-point value.
/// Objects keep their members in order, so a record written back out has its
/// keys in the order it was built with (the export order of the model).
public enum JSONValue: Sendable, Equatable, Hashable {
    case null
    case bool(Bool)
    /// The number's text as it appeared on the wire (`1250.5`, `-3`, `1e2`).
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in order. Duplicate keys are kept; lookups take the first.
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.number(a), .number(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(serialized())
    }

    /// The member `key` of an object, or `nil` when absent or not an object.
    public subscript(key: String) -> JSONValue? {
        guard case let .object(members) = self else { return nil }
        for (k, v) in members where k == key { return v }
        return nil
    }

    /// Whether this value is JSON `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// A member path such as `provider.name` looked up through nested objects.
    public func value(atPath path: String) -> JSONValue? {
        var current: JSONValue? = self
        for part in path.split(separator: ".") {
            current = current?[String(part)]
        }
        return current
    }

    /// A copy with the member at a dotted path replaced (the path must exist).
    public func replacing(path: String, with newValue: JSONValue) -> JSONValue? {
        let parts = path.split(separator: ".", maxSplits: 1).map(String.init)
        guard case var .object(members) = self,
              let index = members.firstIndex(where: { $0.0 == parts[0] }) else { return nil }
        if parts.count == 1 {
            members[index].1 = newValue
        } else {
            guard let inner = members[index].1.replacing(path: parts[1], with: newValue) else { return nil }
            members[index].1 = inner
        }
        return .object(members)
    }
}

// MARK: - Writing

extension JSONValue {
    /// Compact JSON text: no spaces, keys in member order, non-ASCII kept as UTF-8.
    public func serialized() -> String {
        var out = ""
        out.reserveCapacity(256)
        write(into: &out)
        return out
    }

    /// Appends the compact JSON text of this value to `out`.
    public func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .number(text): out += text
        case let .string(s): JSONValue.writeString(s, into: &out)
        case let .array(items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(into: &out)
            }
            out += "]"
        case let .object(members):
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeString(key, into: &out)
                out += ":"
                value.write(into: &out)
            }
            out += "}"
        }
    }

    /// Appends `s` as a JSON string literal, escaping only what JSON requires.
    public static func writeString(_ s: String, into out: inout String) {
        out += "\""
        var needsEscape = false
        for byte in s.utf8 where byte < 0x20 || byte == 0x22 || byte == 0x5C {
            needsEscape = true
            break
        }
        if !needsEscape {
            out += s
        } else {
            for scalar in s.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                default: out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

// MARK: - Convenience constructors

extension JSONValue {
    /// `.string(s)`, or `.null` for `nil`.
    public static func string(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
    /// An integer as a JSON number, or `.null` for `nil`.
    public static func int<I: BinaryInteger>(_ i: I?) -> JSONValue { i.map { .number(String($0)) } ?? .null }
}
