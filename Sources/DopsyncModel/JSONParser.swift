/// An error in JSON text, with the byte offset where it was found.
public struct JSONSyntaxError: Error, Sendable, CustomStringConvertible {
    public let offset: Int
    public let reason: String
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

/// A strict JSON parser (RFC 8259) over UTF-8 bytes that keeps numbers as text.
///
/// It also hands out the exact bytes of each element of one array, so that a
/// region adapter can keep every record's raw text as it was received.
public struct JSONParser: ~Copyable {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var pos = 0
    private var depth = 0
    private static let maxDepth = 256

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// Parses one complete JSON document.
    public static func parse(_ data: some Collection<UInt8>) throws(JSONSyntaxError) -> JSONValue {
        let array = Array(data)
        do {
            return try array.withUnsafeBufferPointer { buffer in
                var parser = JSONParser(buffer)
                parser.skipSpace()
                let value = try parser.parseValue()
                parser.skipSpace()
                guard parser.pos == buffer.count else { throw parser.error("trailing data after the document") }
                return value
            }
        } catch let e as JSONSyntaxError {
            throw e
        } catch {
            throw JSONSyntaxError(offset: 0, reason: "\(error)")
        }
    }

    /// Parses a string of JSON text.
    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// Parses a document whose top level is an object holding one array of
    /// records under `arrayKey` (as `{"data":[…],"meta":{…}}`).
    ///
    /// - Returns: the object with the array member replaced by an empty array,
    ///   and each element of that array with its exact text.
    /// - Throws: `JSONSyntaxError` when the text is not JSON (a body cut short
    ///   among them), or the top level is not an object.
    public static func parsePage(
        _ data: [UInt8], arrayKey: String
    ) throws(JSONSyntaxError) -> (envelope: JSONValue, items: [(value: JSONValue, raw: String)]) {
        do {
            return try data.withUnsafeBufferPointer { buffer in
                var parser = JSONParser(buffer)
                var items: [(value: JSONValue, raw: String)] = []
                var members: [(String, JSONValue)] = []
                parser.skipSpace()
                try parser.expect(UInt8(ascii: "{"))
                parser.skipSpace()
                if parser.peek() == UInt8(ascii: "}") {
                    parser.pos += 1
                } else {
                    while true {
                        parser.skipSpace()
                        let key = try parser.parseString()
                        parser.skipSpace()
                        try parser.expect(UInt8(ascii: ":"))
                        parser.skipSpace()
                        if key == arrayKey && parser.peek() == UInt8(ascii: "[") {
                            parser.pos += 1
                            parser.skipSpace()
                            if parser.peek() == UInt8(ascii: "]") {
                                parser.pos += 1
                            } else {
                                while true {
                                    parser.skipSpace()
                                    let start = parser.pos
                                    let value = try parser.parseValue()
                                    let raw = String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<parser.pos]), as: UTF8.self)
                                    items.append((value, raw))
                                    parser.skipSpace()
                                    let c = try parser.next()
                                    if c == UInt8(ascii: "]") { break }
                                    guard c == UInt8(ascii: ",") else { throw parser.error("expected , or ] in array", back: 1) }
                                }
                            }
                            members.append((key, .array([])))
                        } else {
                            members.append((key, try parser.parseValue()))
                        }
                        parser.skipSpace()
                        let c = try parser.next()
                        if c == UInt8(ascii: "}") { break }
                        guard c == UInt8(ascii: ",") else { throw parser.error("expected , or } in object", back: 1) }
                    }
                }
                parser.skipSpace()
                guard parser.pos == buffer.count else { throw parser.error("trailing data after the document") }
                return (.object(members), items)
            }
        } catch let e as JSONSyntaxError {
            throw e
        } catch {
            throw JSONSyntaxError(offset: 0, reason: "\(error)")
        }
    }

    // MARK: Internals

    private func error(_ reason: String, back: Int = 0) -> JSONSyntaxError {
        JSONSyntaxError(offset: max(0, pos - back), reason: reason)
    }

    private func peek() -> UInt8? { pos < bytes.count ? bytes[pos] : nil }

    private mutating func next() throws(JSONSyntaxError) -> UInt8 {
        guard pos < bytes.count else { throw error("unexpected end of text") }
        defer { pos += 1 }
        return bytes[pos]
    }

    private mutating func expect(_ byte: UInt8) throws(JSONSyntaxError) {
        let c = try next()
        guard c == byte else { throw error("expected '\(Character(Unicode.Scalar(byte)))'", back: 1) }
    }

    private mutating func skipSpace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x0A, 0x0D, 0x09: pos += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        guard let c = peek() else { throw error("unexpected end of text") }
        switch c {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error("unexpected character")
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let count = word.utf8CodeUnitCount
        guard pos + count <= bytes.count else { throw error("unexpected end of text") }
        let w = word.utf8Start
        for i in 0..<count where bytes[pos + i] != w[i] {
            throw error("unexpected literal")
        }
        pos += count
    }

    private mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        if depth > JSONParser.maxDepth { throw error("nesting too deep") }
    }

    private mutating func parseObject() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        pos += 1
        var members: [(String, JSONValue)] = []
        skipSpace()
        if peek() == UInt8(ascii: "}") { pos += 1; return .object(members) }
        // Records have a dozen or two members: one allocation instead of five.
        members.reserveCapacity(16)
        while true {
            skipSpace()
            guard peek() == UInt8(ascii: "\"") else { throw error("expected a member name") }
            let key = try parseString()
            skipSpace()
            try expect(UInt8(ascii: ":"))
            skipSpace()
            members.append((key, try parseValue()))
            skipSpace()
            let c = try next()
            if c == UInt8(ascii: "}") { return .object(members) }
            guard c == UInt8(ascii: ",") else { throw error("expected , or } in object", back: 1) }
        }
    }

    private mutating func parseArray() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        pos += 1
        var items: [JSONValue] = []
        skipSpace()
        if peek() == UInt8(ascii: "]") { pos += 1; return .array(items) }
        items.reserveCapacity(8)
        while true {
            skipSpace()
            items.append(try parseValue())
            skipSpace()
            let c = try next()
            if c == UInt8(ascii: "]") { return .array(items) }
            guard c == UInt8(ascii: ",") else { throw error("expected , or ] in array", back: 1) }
        }
    }

    private mutating func parseNumber() throws(JSONSyntaxError) -> String {
        let start = pos
        if peek() == UInt8(ascii: "-") { pos += 1 }
        guard let first = peek(), isDigit(first) else { throw error("expected a digit") }
        if first == UInt8(ascii: "0") {
            pos += 1
        } else {
            while let d = peek(), isDigit(d) { pos += 1 }
        }
        if peek() == UInt8(ascii: ".") {
            pos += 1
            guard let d = peek(), isDigit(d) else { throw error("expected a digit after the decimal point") }
            while let d = peek(), isDigit(d) { pos += 1 }
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            pos += 1
            if let s = peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { pos += 1 }
            guard let d = peek(), isDigit(d) else { throw error("expected a digit in the exponent") }
            while let d = peek(), isDigit(d) { pos += 1 }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
    }

    private func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    private mutating func parseString() throws(JSONSyntaxError) -> String {
        try expect(UInt8(ascii: "\""))
        let start = pos
        // Fast path: no escapes. `high` collects the bits of every byte, so
        // ASCII text (high bit clear) needs no UTF-8 check.
        var high: UInt8 = 0
        while pos < bytes.count {
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") {
                if high >= 0x80 { try checkUTF8(start..<pos) }
                let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
                pos += 1
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw error("control character in a string") }
            high |= c
            pos += 1
        }
        // With escapes: the text is built as UTF-8 bytes.
        var out: [UInt8] = []
        out.reserveCapacity(pos - start + 16)
        if high >= 0x80 { try checkUTF8(start..<pos) }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<pos]))
        while true {
            let c = try next()
            switch c {
            case UInt8(ascii: "\""):
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                let e = try next()
                switch e {
                case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800...0xDBFF).contains(code) {
                        guard try next() == UInt8(ascii: "\\"), try next() == UInt8(ascii: "u") else {
                            throw error("unpaired surrogate")
                        }
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw error("invalid \\u escape") }
                    UTF8.encode(scalar) { out.append($0) }
                default:
                    throw error("invalid escape", back: 1)
                }
            default:
                if c < 0x20 { throw error("control character in a string", back: 1) }
                // Copy a run of plain bytes at once.
                let runStart = pos - 1
                var runHigh = c
                while pos < bytes.count, bytes[pos] != UInt8(ascii: "\""), bytes[pos] != UInt8(ascii: "\\"), bytes[pos] >= 0x20 {
                    runHigh |= bytes[pos]
                    pos += 1
                }
                if runHigh >= 0x80 { try checkUTF8(runStart..<pos) }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<pos]))
            }
        }
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = try next()
            v <<= 4
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v |= UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v |= UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v |= UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error("invalid hex digit", back: 1)
            }
        }
        return v
    }

    /// Throws unless the bytes in `range` are well-formed UTF-8.
    private func checkUTF8(_ range: Range<Int>) throws(JSONSyntaxError) {
        guard JSONParser.isValidUTF8(UnsafeBufferPointer(rebasing: bytes[range])) else {
            throw JSONSyntaxError(offset: range.lowerBound, reason: "invalid UTF-8 in a string")
        }
    }

    /// Whether `b` is well-formed UTF-8 (The Unicode Standard, table 3-7):
    /// no overlong forms, no surrogates, nothing above U+10FFFF, nothing cut
    /// short.
    static func isValidUTF8(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            if c < 0x80 {
                i += 1
            } else if c < 0xC2 {
                return false
            } else if c < 0xE0 {
                guard i + 1 < n, b[i + 1] & 0xC0 == 0x80 else { return false }
                i += 2
            } else if c < 0xF0 {
                guard i + 2 < n else { return false }
                let c1 = b[i + 1]
                let low: UInt8 = c == 0xE0 ? 0xA0 : 0x80
                let high: UInt8 = c == 0xED ? 0x9F : 0xBF
                guard c1 >= low, c1 <= high, b[i + 2] & 0xC0 == 0x80 else { return false }
                i += 3
            } else if c < 0xF5 {
                guard i + 3 < n else { return false }
                let c1 = b[i + 1]
                let low: UInt8 = c == 0xF0 ? 0x90 : 0x80
                let high: UInt8 = c == 0xF4 ? 0x8F : 0xBF
                guard c1 >= low, c1 <= high, b[i + 2] & 0xC0 == 0x80, b[i + 3] & 0xC0 == 0x80 else { return false }
                i += 4
            } else {
                return false
            }
        }
        return true
    }
}
