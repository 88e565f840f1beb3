/// An amount of money in kopecks (hundredths of a rouble), exact.
///
/// Every wire form the regions use is parsed from its text, never through a
/// binary floating-point value: roubles with a point or a comma and at most two
/// decimals (`"1250.00"`, `1250,50`, `1250.5`), JSON numbers with an exponent
/// that still land on whole kopecks, and plain kopeck integers (`125000`).
public struct Kopecks: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var value: Int64

    public init(_ value: Int64) { self.value = value }

    public static func < (a: Kopecks, b: Kopecks) -> Bool { a.value < b.value }
    public static func + (a: Kopecks, b: Kopecks) -> Kopecks { Kopecks(a.value + b.value) }
    public static func - (a: Kopecks, b: Kopecks) -> Kopecks { Kopecks(a.value - b.value) }
    public static let zero = Kopecks(0)

    /// The amount as roubles with two decimals and a point: `1250.50`.
    public var description: String { roubles(separator: ".") }

    /// The amount as roubles with two decimals and the given separator.
    public func roubles(separator: Character) -> String {
        let sign = value < 0 ? "-" : ""
        let magnitude = value.magnitude
        let fraction = magnitude % 100
        return "\(sign)\(magnitude / 100)\(separator)\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// Parses roubles written as decimal text: an optional minus, digits, and
    /// optionally a point or comma followed by one or two digits, or a JSON
    /// number with an exponent whose value is a whole number of kopecks.
    ///
    /// - Throws: `ValueError` when the text is not such a number or has more
    ///   than two decimals.
    public init(roubles text: some StringProtocol) throws(ValueError) {
        try self.init(roubles: String(text))
    }

    /// Parses roubles from a `String` (see the generic form).
    public init(roubles text: String) throws(ValueError) {
        guard let v = Kopecks.parseDecimal(text, scale: 2) else {
            throw ValueError("\"\(text)\" is not an amount of roubles with at most two decimals")
        }
        self.value = v
    }

    /// Parses a whole number of kopecks (`125000`).
    ///
    /// - Throws: `ValueError` when the text is not an integer.
    public init(kopecksText text: some StringProtocol) throws(ValueError) {
        try self.init(kopecksText: String(text))
    }

    /// Parses a whole number of kopecks from a `String`.
    public init(kopecksText text: String) throws(ValueError) {
        guard let v = Kopecks.parseDecimal(text, scale: 0) else {
            throw ValueError("\"\(text)\" is not a whole number of kopecks")
        }
        self.value = v
    }

    /// Parses `text` as a decimal and returns it times 10^scale, or `nil` when
    /// it is not a decimal number or is not whole at that scale.
    static func parseDecimal(_ text: String, scale: Int) -> Int64? {
        return withUTF8Bytes(of: text) { parseDecimal($0, scale: scale) }
    }

    /// Reads the bytes in place, in one pass: every digit, of the integer
    /// part and the fraction, goes straight into the value, and every failure
    /// (a syntax error or an overflow) is `nil`, so which is found first does
    /// not matter.
    static func parseDecimal(_ utf8: UnsafeBufferPointer<UInt8>, scale: Int) -> Int64? {
        var i = 0
        var negative = false
        if i < utf8.count, utf8[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        var result: Int64 = 0
        @inline(__always) func push(_ digit: UInt8) -> Bool {
            let (m, o1) = result.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(digit))
            result = a
            return !(o1 || o2)
        }
        var fractionDigits = 0
        var sawDigit = false
        while i < utf8.count, utf8[i] >= 0x30, utf8[i] <= 0x39 {
            guard push(utf8[i] - 0x30) else { return nil }
            i += 1; sawDigit = true
        }
        guard sawDigit else { return nil }
        if i < utf8.count, utf8[i] == UInt8(ascii: ".") || utf8[i] == UInt8(ascii: ",") {
            i += 1
            var sawFraction = false
            while i < utf8.count, utf8[i] >= 0x30, utf8[i] <= 0x39 {
                guard push(utf8[i] - 0x30) else { return nil }
                i += 1; fractionDigits += 1; sawFraction = true
            }
            guard sawFraction else { return nil }
        }
        var exponent = 0
        if i < utf8.count, utf8[i] == UInt8(ascii: "e") || utf8[i] == UInt8(ascii: "E") {
            i += 1
            var expNegative = false
            if i < utf8.count, utf8[i] == UInt8(ascii: "+") || utf8[i] == UInt8(ascii: "-") {
                expNegative = utf8[i] == UInt8(ascii: "-"); i += 1
            }
            var sawExp = false
            while i < utf8.count, utf8[i] >= 0x30, utf8[i] <= 0x39 {
                exponent = exponent * 10 + Int(utf8[i] - 0x30); i += 1; sawExp = true
                if exponent > 40 { return nil }
            }
            guard sawExp else { return nil }
            if expNegative { exponent = -exponent }
        }
        guard i == utf8.count else { return nil }
        // value = digits × 10^(exponent − fractionDigits); we want it × 10^scale.
        // More decimals than the scale is invalid even when they are zeros.
        let shift = exponent - fractionDigits + scale
        guard shift >= 0 else { return nil }
        for _ in 0..<shift {
            let (m, o) = result.multipliedReportingOverflow(by: 10)
            if o { return nil }
            result = m
        }
        return negative ? -result : result
    }
}

/// A value that could not be read: what was wrong, and where when known.
///
/// `path` names the field (`provider.inn`, `child.snils`); messages never
/// carry a person's name, birth date or СНИЛС.
public struct ValueError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String?
    public var reason: String

    public init(_ reason: String, path: String? = nil) {
        self.reason = reason
        self.path = path
    }

    /// The same error with `field` prepended to its path.
    public func at(_ field: String) -> ValueError {
        ValueError(reason, path: path.map { "\(field).\($0)" } ?? field)
    }

    public var description: String { path.map { "\($0): \(reason)" } ?? reason }
}
