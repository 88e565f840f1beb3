public import DopsyncModel

/// Typed reads of a wire record's fields, each failure naming the field.
///
/// Used by the JSON regions: numbers come as their text, so money and ids are
/// exact.
public struct WireObject {
    public let value: JSONValue
    let path: String?

    /// Wraps a JSON value that must be an object.
    ///
    /// - Throws: `ValueError` when it is not one.
    public init(_ value: JSONValue, path: String? = nil) throws(ValueError) {
        guard case .object = value else { throw ValueError("expected an object", path: path) }
        self.value = value
        self.path = path
    }

    func fail(_ key: String, _ reason: String) -> ValueError {
        ValueError(reason, path: path.map { "\($0).\(key)" } ?? key)
    }

    /// The field, or nil when absent or null.
    public func raw(_ key: String) -> JSONValue? {
        switch value[key] {
        case nil, .null?: nil
        case let v?: v
        }
    }

    public func has(_ key: String) -> Bool { raw(key) != nil }

    public func object(_ key: String) throws(ValueError) -> WireObject {
        guard let v = raw(key) else { throw fail(key, "is missing") }
        return try WireObject(v, path: path.map { "\($0).\(key)" } ?? key)
    }

    public func optionalString(_ key: String) throws(ValueError) -> String? {
        switch raw(key) {
        case nil: return nil
        case let .string(s)?: return trimmed(s)
        default: throw fail(key, "expected a string")
        }
    }

    public func string(_ key: String) throws(ValueError) -> String {
        guard let s = try optionalString(key) else { throw fail(key, "is missing") }
        return s
    }

    /// A string or a number, as text (ids are integers in some regions).
    public func id(_ key: String) throws(ValueError) -> String {
        switch raw(key) {
        case let .string(s)?:
            guard !s.isEmpty else { throw fail(key, "is empty") }
            return s
        case let .number(n)?:
            guard Int64(n) != nil else { throw fail(key, "\"\(n)\" is not an integer id") }
            return n
        case nil: throw fail(key, "is missing")
        default: throw fail(key, "expected an id")
        }
    }

    /// An id or a version the page types as an integer, as text: a string
    /// there (`"7"`) is off the page's format.
    public func integerID(_ key: String) throws(ValueError) -> String {
        switch raw(key) {
        case let .number(n)?:
            guard Int64(n) != nil else { throw fail(key, "\"\(n)\" is not an integer") }
            return n
        case nil: throw fail(key, "is missing")
        default: throw fail(key, "expected an integer")
        }
    }

    public func optionalInt(_ key: String) throws(ValueError) -> Int? {
        switch raw(key) {
        case nil: return nil
        case let .number(n)?:
            guard let i = Int(n) else { throw fail(key, "\"\(n)\" is not an integer") }
            return i
        default: throw fail(key, "expected an integer")
        }
    }

    public func int(_ key: String) throws(ValueError) -> Int {
        guard let i = try optionalInt(key) else { throw fail(key, "is missing") }
        return i
    }

    /// An integer within `range` (a documented bound such as ages 3..18).
    public func int(_ key: String, in range: ClosedRange<Int>) throws(ValueError) -> Int {
        let i = try int(key)
        guard range.contains(i) else { throw fail(key, "\(i) is outside \(range.lowerBound)..\(range.upperBound)") }
        return i
    }

    public func bool(_ key: String) throws(ValueError) -> Bool {
        switch raw(key) {
        case let .bool(b)?: return b
        case nil: throw fail(key, "is missing")
        default: throw fail(key, "expected true or false")
        }
    }

    /// Money in roubles, as a decimal string or a JSON number.
    public func roubles(_ key: String) throws(ValueError) -> Kopecks {
        let text: String
        switch raw(key) {
        case let .string(s)?: text = s
        case let .number(n)?: text = n
        case nil: throw fail(key, "is missing")
        default: throw fail(key, "expected an amount")
        }
        return try located(key) { () throws(ValueError) in try Kopecks(roubles: text) }
    }

    /// Money as a whole number of kopecks.
    public func kopecks(_ key: String) throws(ValueError) -> Kopecks {
        guard case let .number(n)? = raw(key) else {
            throw fail(key, has(key) ? "expected a whole number of kopecks" : "is missing")
        }
        return try located(key) { () throws(ValueError) in try Kopecks(kopecksText: n) }
    }

    /// A value of `table` by its wire code.
    public func code<T>(_ key: String, _ table: [String: T]) throws(ValueError) -> T {
        let s = try string(key)
        guard let v = table[s] else {
            throw fail(key, "unknown code \"\(s)\" (expected one of \(table.keys.sorted().joined(separator: ", ")))")
        }
        return v
    }

    /// Runs a parse of a field that holds personal data (a birth date, say):
    /// its error names the field and what was expected, never the value.
    public func personal<T>(_ key: String, expected: String, _ body: () throws(ValueError) -> T) throws(ValueError) -> T {
        guard has(key) else { throw fail(key, "is missing") }
        do {
            return try body()
        } catch {
            throw fail(key, "is not \(expected)")
        }
    }

    /// Runs a parse of field `key`, naming the field in its error.
    public func located<T>(_ key: String, _ body: () throws(ValueError) -> T) throws(ValueError) -> T {
        do {
            return try body()
        } catch {
            throw ValueError(error.reason, path: [path, key, error.path].compactMap { $0 }.joined(separator: "."))
        }
    }
}

/// Checks of rules every region follows (regions/README.md).
public enum WireRules {
    /// A certificate number: ten digits starting with the region code.
    public static func certificateNumber(_ number: String, region: String) throws(ValueError) -> String {
        guard number.utf8.count == 10, number.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), number.hasPrefix(region) else {
            throw ValueError("\"\(number)\" is not a ten-digit certificate number starting with \(region)")
        }
        return number
    }

    /// A string of digits of one of the given lengths (ИНН, ОГРН, ОКТМО).
    /// The lengths are an array: a set literal would be built and hashed on
    /// every call.
    public static func digits(_ text: String, lengths: [Int], what: String) throws(ValueError) -> String {
        guard lengths.contains(text.utf8.count), text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            let l = lengths.sorted().map(String.init).joined(separator: " or ")
            throw ValueError("\"\(text)\" is not \(l) digits (\(what))")
        }
        return text
    }

    /// An amount that may not be negative.
    public static func nonNegative(_ amount: Kopecks, what: String) throws(ValueError) -> Kopecks {
        guard amount.value >= 0 else { throw ValueError("\(what) is negative") }
        return amount
    }
}
