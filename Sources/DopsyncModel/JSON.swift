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
        for i in members.indices where members[i].0 == key { return members[i].1 }
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
        var out: [UInt8] = []
        out.reserveCapacity(512)
        write(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the compact JSON text of this value to `out`.
    public func write(into out: inout String) {
        out += serialized()
    }

    /// Appends the compact JSON text of this value to `out`, as UTF-8 bytes.
    public func write(into out: inout [UInt8]) {
        switch self {
        case .null: JSONValue.appendLiteral("null", to: &out)
        case let .bool(b): JSONValue.appendLiteral(b ? "true" : "false", to: &out)
        case let .number(text): JSONValue.appendText(text, to: &out)
        case let .string(s): JSONValue.writeString(s, into: &out)
        case let .array(items):
            out.append(UInt8(ascii: "["))
            var first = true
            for item in items {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                item.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case let .object(members):
            out.append(UInt8(ascii: "{"))
            var first = true
            for member in members {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                JSONValue.writeString(member.0, into: &out)
                out.append(UInt8(ascii: ":"))
                member.1.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Appends `s` as a JSON string literal, escaping only what JSON requires.
    public static func writeString(_ s: String, into out: inout String) {
        var bytes: [UInt8] = []
        writeString(s, into: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `s` as a JSON string literal to `out`, escaping only what JSON
    /// requires: `"`, `\`, and the control characters below U+0020 (`\n`,
    /// `\r`, `\t`, else `\u00xx`). Everything else, non-ASCII included, is
    /// copied as its UTF-8 bytes, a run at a time.
    public static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        withUTF8Bytes(of: s) { bytes in
            var runStart = 0
            var i = 0
            let n = bytes.count
            while i < n {
                let byte = bytes[i]
                if byte >= 0x20 && byte != 0x22 && byte != 0x5C {
                    i += 1
                    continue
                }
                if runStart < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i])) }
                switch byte {
                case 0x22: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "\""))
                case 0x5C: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "\\"))
                case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
                default:
                    // `\u00xx` with lowercase hex digits.
                    out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "u"))
                    out.append(UInt8(ascii: "0")); out.append(UInt8(ascii: "0"))
                    out.append(hexDigit(byte >> 4)); out.append(hexDigit(byte & 0x0F))
                }
                i += 1
                runStart = i
            }
            if runStart < n { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<n])) }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// A lowercase hex digit of a value below 16.
    @inline(__always)
    static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? UInt8(ascii: "0") + v : UInt8(ascii: "a") - 10 + v }

    /// Appends the UTF-8 bytes of `s`.
    @inline(__always)
    static func appendLiteral(_ s: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    /// Appends the UTF-8 bytes of `s`.
    @inline(__always)
    static func appendText(_ s: String, to out: inout [UInt8]) {
        withUTF8Bytes(of: s) { out.append(contentsOf: $0) }
    }
}

// MARK: - Convenience constructors

extension JSONValue {
    /// `.string(s)`, or `.null` for `nil`.
    public static func string(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
    /// An integer as a JSON number, or `.null` for `nil`.
    public static func int<I: BinaryInteger>(_ i: I?) -> JSONValue {
        guard let i else { return .null }
        // Written in a stack buffer: String(_:) of a generic integer goes
        // through the unspecialized BinaryInteger code.
        guard let n = Int(exactly: i) else { return .number(String(i)) }
        return .number(formatASCII { $0.padded(n, 0) })
    }
}
