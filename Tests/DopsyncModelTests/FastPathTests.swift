import DopsyncModel
import Testing

// The byte-level fast paths of the decode path must give what the earlier,
// Character-based code gave. The earlier code is kept below, verbatim as far
// as it goes, as the reference the new code is compared with.

/// The writer as it was: `String` appends and a scalar loop for escapes.
enum ReferenceJSON {
    static func serialized(_ v: JSONValue) -> String {
        var out = ""
        write(v, into: &out)
        return out
    }

    static func write(_ v: JSONValue, into out: inout String) {
        switch v {
        case .null: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .number(text): out += text
        case let .string(s): writeString(s, into: &out)
        case let .array(items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                write(item, into: &out)
            }
            out += "]"
        case let .object(members):
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += "," }
                writeString(key, into: &out)
                out += ":"
                write(value, into: &out)
            }
            out += "}"
        }
    }

    static func writeString(_ s: String, into out: inout String) {
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

/// A small deterministic generator, so a failure can be reproduced.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Scalars that exercise the edges: ASCII controls, quotes and backslashes,
/// white space of every kind, Cyrillic (with its combining marks), Latin-1,
/// combining accents, CJK, emoji beyond the BMP, and prepended marks.
let awkwardScalars: [Unicode.Scalar] = {
    var s: [Unicode.Scalar] = (0x00...0x7F).map { Unicode.Scalar(UInt8($0)) }
    let others: [UInt32] = [
        0x85, 0xA0, 0xAD, 0xC0, 0xE9, 0xFF, 0x1680, 0x2000, 0x2007, 0x200A, 0x200B, 0x200D, 0x2028, 0x2029,
        0x202F, 0x205F, 0x3000, 0xFEFF, 0x0301, 0x0308, 0x0410, 0x0430, 0x0401, 0x0451, 0x044F, 0x0483,
        0x0489, 0x04FF, 0x0500, 0x0600, 0x06DD, 0x0903, 0x4E2D, 0x1F600, 0x1F1F7, 0x1F1FA, 0xFFFD, 0x10FFFF,
    ]
    s += others.map { Unicode.Scalar($0)! }
    return s
}()

func randomText(_ rng: inout SplitMix, maxLength: Int = 12) -> String {
    var s = String.UnicodeScalarView()
    for _ in 0..<Int.random(in: 0...maxLength, using: &rng) {
        s.append(awkwardScalars.randomElement(using: &rng)!)
    }
    return String(s)
}

@Suite("The byte writer gives the text the String writer gave")
struct SerializerFastPathTests {
    @Test(arguments: [
        "", "plain", "Робототехника", "\"", "\\", "a\"b\\c", "\n\r\t", "\u{08}\u{0C}", "\u{00}\u{01}\u{1F}\u{7F}",
        "x\u{1F}y", "emoji 😀 and flags 🇷🇺", "e\u{301}", "\u{2028}\u{2029}", "/", "</script>",
        "a long string that is over fifteen bytes, with \"quotes\" at the end\"",
    ])
    func strings(text: String) {
        let v = JSONValue.string(text)
        #expect(v.serialized() == ReferenceJSON.serialized(v))
        var s = "prefix"
        JSONValue.writeString(text, into: &s)
        #expect(s == "prefix" + ReferenceJSON.serialized(v))
    }

    @Test func controlCharactersAreEscapedInLowercaseHex() {
        #expect(JSONValue.string("\u{1F}\u{0B}\u{00}").serialized() == #""\u001f\u000b\u0000""#)
        for byte in UInt8(0)..<0x80 {
            let v = JSONValue.string(String(decoding: [UInt8(ascii: "a"), byte, UInt8(ascii: "b")], as: UTF8.self))
            #expect(v.serialized() == ReferenceJSON.serialized(v), "byte \(byte)")
        }
    }

    @Test func nestedValues() throws {
        let v = JSONValue.object([
            ("a", .array([.null, .bool(true), .bool(false), .number("-1.5e3"), .string("x\ny"), .array([]), .object([])])),
            ("ключ \"в кавычках\"", .object([("", .string("")), ("n", .number("0"))])),
            ("a", .string("дубликат")),
        ])
        #expect(v.serialized() == ReferenceJSON.serialized(v))
        var s = "["
        v.write(into: &s)
        #expect(s == "[" + ReferenceJSON.serialized(v))
        #expect(try JSONParser.parse(v.serialized()) == v)
    }

    @Test func randomStrings() {
        var rng = SplitMix(seed: 1)
        for _ in 0..<20_000 {
            let v = JSONValue.object([(randomText(&rng), .string(randomText(&rng, maxLength: 40)))])
            #expect(v.serialized() == ReferenceJSON.serialized(v))
        }
    }
}

@Suite("Strings are read from the bytes as before")
struct ParserFastPathTests {
    /// Parses one JSON string literal made of `body` between quotes.
    func parseString(_ body: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        try JSONParser.parse([UInt8(ascii: "\"")] + body + [UInt8(ascii: "\"")])
    }

    @Test func escapes() throws {
        let text = #""a\"b\\c\/d\b\f\n\r\t\u0041\u00e9\u0416\u4e2d\ud83d\ude00\u0000z""#
        #expect(try JSONParser.parse(text) == .string("a\"b\\c/d\u{08}\u{0C}\n\r\tAéЖ中😀\u{0}z"))
        #expect(try JSONParser.parse(#""Робо\nтехника""#) == .string("Робо\nтехника"))
        #expect(try JSONParser.parse(#""\u0420\u043e\u0431\u043e""#) == .string("Робо"))
        #expect(try JSONParser.parse(#""\uD83D\uDE00 and \uD834\uDD1E""#) == .string("😀 and 𝄞"))
    }

    @Test(arguments: [
        (#""\ud83d""#, "unpaired surrogate"), (#""\ud83dx""#, "unpaired surrogate"),
        (#""\ud83d\u0041""#, "unpaired surrogate"), (#""\ude00""#, "invalid \\u escape"),
        (#""\u12g4""#, "invalid hex digit"), (#""\q""#, "invalid escape"), ("\"a\nb\"", "control character in a string"),
        ("\"a\\n\u{1}b\"", "control character in a string"), (#""abc"#, "unexpected end of text"),
        (#""\u00"#, "unexpected end of text"),
    ])
    func brokenStrings(text: String, reason: String) {
        let error = #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
        #expect(error?.reason == reason)
    }

    @Test func errorOffsets() {
        func offset(_ bytes: [UInt8]) -> Int? {
            do { _ = try JSONParser.parse(bytes); return nil } catch { return error.offset }
        }
        // Invalid UTF-8 is reported where its run of plain bytes starts.
        #expect(offset(Array(#"{"a":"xy"#.utf8) + [0xFF] + Array(#""}"#.utf8)) == 6)
        #expect(offset(Array(#"{"a":"x\ny"#.utf8) + [0xC3] + Array(#""}"#.utf8)) == 9)
        #expect(offset(Array(#"{"a":"x"#.utf8) + [0xED, 0xA0, 0x80] + Array(#"\n"}"#.utf8)) == 6)
        // A control character is reported where it is.
        #expect(offset(Array(#"{"a":"xy"#.utf8) + [0x01] + Array(#""}"#.utf8)) == 8)
        #expect(offset(Array(#"{"a":"\nxy"#.utf8) + [0x1F] + Array(#""}"#.utf8)) == 10)
    }

    /// Every byte sequence of up to two bytes, and three- and four-byte
    /// sequences over the bytes at the edges of the UTF-8 ranges, are accepted
    /// exactly when the standard library finds them valid, and read the same.
    @Test func utf8AsTheStandardLibrary() {
        let edges: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
                              0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
        var cases: [[UInt8]] = (0...255).map { [UInt8($0)] }
        for a in 0...255 { for b in 0...255 { cases.append([UInt8(a), UInt8(b)]) } }
        for a in edges { for b in edges { for c in edges { cases.append([a, b, c]) } } }
        for a in edges where a >= 0xF0 { for b in edges { for c in edges { for d in edges { cases.append([a, b, c, d]) } } } }
        var rng = SplitMix(seed: 7)
        for _ in 0..<20_000 {
            cases.append((0..<Int.random(in: 1...8, using: &rng)).map { _ in
                Bool.random(using: &rng) ? edges.randomElement(using: &rng)! : UInt8.random(in: 0x80...0xFF, using: &rng)
            })
        }
        var mismatches: [[UInt8]] = []
        for bytes in cases {
            // Quotes, backslashes and control characters are not at issue here.
            let body = bytes.map { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C ? UInt8(ascii: "x") : $0 }
            let expected = String(validating: body, as: UTF8.self)
            let plain = try? parseString(body)
            // The same bytes after an escape take the other path.
            let escaped = try? parseString(Array(#"\t"#.utf8) + body)
            if plain != expected.map(JSONValue.string) || escaped != expected.map({ .string("\t" + $0) }) {
                mismatches.append(body)
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }

    /// Text written by the writer (escapes and all), with some characters
    /// written as `\u` escapes, reads back as the text.
    @Test func roundTrips() throws {
        var rng = SplitMix(seed: 3)
        for _ in 0..<10_000 {
            let text = randomText(&rng, maxLength: 30)
            #expect(try JSONParser.parse(JSONValue.string(text).serialized()) == .string(text))
            var escaped = "\""
            for scalar in text.unicodeScalars {
                if Bool.random(using: &rng) {
                    for unit in String(scalar).utf16 {
                        let hex = String(unit, radix: 16, uppercase: Bool.random(using: &rng))
                        escaped += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                    }
                } else {
                    var one = ""
                    JSONValue.writeString(String(scalar), into: &one)
                    escaped += String(one.unicodeScalars.dropFirst().dropLast())
                }
            }
            escaped += "\""
            #expect(try JSONParser.parse(escaped) == .string(text), "\(escaped)")
        }
    }

    @Test func pagesKeepRawText() throws {
        let text = #"{"data":[{"a":"Ж\n","b":[1,2,{}]} , [] ,"s\u0041"],"meta":{"x":"é"}}"#
        let page = try JSONParser.parsePage(Array(text.utf8), arrayKey: "data")
        #expect(page.items.map(\.raw) == [#"{"a":"Ж\n","b":[1,2,{}]}"#, "[]", #""s\u0041""#])
        #expect(page.items.map(\.value) == [.object([("a", .string("Ж\n")), ("b", .array([.number("1"), .number("2"), .object([])]))]),
                                             .array([]), .string("sA")])
        #expect(page.envelope == .object([("data", .array([])), ("meta", .object([("x", .string("é"))]))]))
    }
}

/// Dates and times as the interpolation and `pad` wrote them.
enum ReferenceTime {
    static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
    static func date(_ d: LocalDate) -> String { "\(pad(d.year, 4))-\(pad(d.month, 2))-\(pad(d.day, 2))" }
    static func dotted(_ d: LocalDate) -> String { "\(pad(d.day, 2)).\(pad(d.month, 2)).\(pad(d.year, 4))" }
    static func month(_ m: YearMonth) -> String { "\(pad(m.year, 4))-\(pad(m.month, 2))" }
    static func dottedMonth(_ m: YearMonth) -> String { "\(pad(m.month, 2)).\(pad(m.year, 4))" }

    static func iso(_ t: Timestamp, offsetSeconds: Int) -> String {
        let l = t.local(offsetSeconds: offsetSeconds)
        let zone: String
        if offsetSeconds == 0 {
            zone = "Z"
        } else {
            let m = abs(offsetSeconds) / 60
            zone = "\(offsetSeconds < 0 ? "-" : "+")\(pad(m / 60, 2)):\(pad(m % 60, 2))"
        }
        return "\(date(l.date))T\(pad(l.hour, 2)):\(pad(l.minute, 2)):\(pad(l.second, 2))\(zone)"
    }

    static func localISO(_ t: Timestamp, offsetSeconds: Int) -> String {
        let l = t.local(offsetSeconds: offsetSeconds)
        return "\(date(l.date)) \(pad(l.hour, 2)):\(pad(l.minute, 2)):\(pad(l.second, 2))"
    }

    static func localDotted(_ t: Timestamp, offsetSeconds: Int) -> String {
        let l = t.local(offsetSeconds: offsetSeconds)
        return "\(dotted(l.date)) \(pad(l.hour, 2)):\(pad(l.minute, 2)):\(pad(l.second, 2))"
    }
}

@Suite("Dates and times are written as before")
struct TimeFormatFastPathTests {
    static let offsets = [0, 1, 59, 60, 3600, 6 * 3600, -6 * 3600, 5 * 3600 + 1800, -(3 * 3600 + 1800), -1800, -59,
                          14 * 3600, -12 * 3600, 99 * 3600 + 59 * 60, 100 * 3600, -123 * 3600 - 7 * 60]

    func check(_ t: Timestamp) {
        for offset in Self.offsets {
            #expect(t.iso(offsetSeconds: offset) == ReferenceTime.iso(t, offsetSeconds: offset), "\(t.seconds) \(offset)")
            #expect(t.localISO(offsetSeconds: offset) == ReferenceTime.localISO(t, offsetSeconds: offset))
            #expect(t.localDotted(offsetSeconds: offset) == ReferenceTime.localDotted(t, offsetSeconds: offset))
        }
        #expect(t.description == ReferenceTime.iso(t, offsetSeconds: 0))
        let d = t.local(offsetSeconds: 0).date
        #expect(d.description == ReferenceTime.date(d))
        #expect(d.dotted == ReferenceTime.dotted(d))
    }

    @Test func knownTexts() throws {
        #expect(try Timestamp(iso: "0001-01-01T00:00:00Z").iso(offsetSeconds: -3600) == "0000-12-31T23:00:00-01:00")
        #expect(try Timestamp(iso: "0999-03-04T05:06:07Z").iso(offsetSeconds: 5 * 3600 + 1800) == "0999-03-04T10:36:07+05:30")
        #expect(try Timestamp(iso: "0042-01-01T00:00:00Z").localDotted(offsetSeconds: 0) == "01.01.0042 00:00:00")
        #expect(try Timestamp(iso: "9999-12-31T23:59:59Z").iso(offsetSeconds: 3600) == "10000-01-01T00:59:59+01:00")
        #expect(Timestamp(seconds: 0).iso(offsetSeconds: -59) == "1969-12-31T23:59:01-00:00")
        #expect(Timestamp(seconds: 0).iso(offsetSeconds: 100 * 3600) == "1970-01-05T04:00:00+100:00")
        // Before year 0 the year is negative and `pad` put the zeros before the sign.
        #expect(Timestamp(seconds: -62_198_755_200).description == "00-1-01-01T00:00:00Z")
        #expect(LocalDate(daysSinceEpoch: -719_529).description == "00-1-12-31")
        #expect(LocalDate(daysSinceEpoch: -1_000_000).dotted == "04.02.-768")
        #expect(try YearMonth(year: 7, month: 3).description == "0007-03")
        #expect(try YearMonth(year: 7, month: 3).dotted == "03.0007")
    }

    @Test func edges() {
        for seconds: Int64 in [0, -1, 1, 86_399, 86_400, -86_400, -86_401, 951_782_400, 4_102_444_800, 253_402_300_799,
                               253_402_300_800, -62_135_596_800, -62_135_596_801, -62_198_755_200, -1_000_000_000_000,
                               1_000_000_000_000, 100_000_000_000_000, -100_000_000_000_000] {
            check(Timestamp(seconds: seconds))
        }
    }

    @Test func randomTimes() {
        var rng = SplitMix(seed: 11)
        for _ in 0..<5_000 {
            check(Timestamp(seconds: Int64.random(in: -70_000_000_000...260_000_000_000, using: &rng)))
        }
    }

    @Test func months() throws {
        for year in [1, 9, 10, 99, 100, 999, 1000, 2026, 9999] {
            for month in 1...12 {
                let m = try YearMonth(year: year, month: month)
                #expect(m.description == ReferenceTime.month(m))
                #expect(m.dotted == ReferenceTime.dottedMonth(m))
            }
        }
    }
}

/// The name functions as they were: `Character` by `Character`.
enum ReferenceNames {
    static func isSeparator(_ c: Character) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\u{00A0}" }

    static func splitFullName(_ text: String) throws(ValueError) -> (last: String, first: String, middle: String?) {
        let words = text.split(whereSeparator: isSeparator)
        guard words.count >= 2 else { throw ValueError("full name has fewer than two words") }
        let middle = words.count > 2 ? words[2...].joined(separator: " ") : nil
        return (String(words[0]), String(words[1]), middle)
    }

    static func normalizeName(_ text: String) -> String {
        text.split(whereSeparator: isSeparator).joined(separator: " ")
    }

    static func trimmed(_ text: String) -> String {
        var s = Substring(text)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}

@Suite("Names and trimmed text come out as before")
struct NameFastPathTests {
    /// Compares by UTF-8 bytes: `==` on strings would let canonically
    /// equivalent texts pass.
    func check(_ text: String) {
        #expect(Array(normalizeName(text).utf8) == Array(ReferenceNames.normalizeName(text).utf8), "\(text.unicodeScalars.map(\.value))")
        #expect(Array(trimmed(text).utf8) == Array(ReferenceNames.trimmed(text).utf8), "\(text.unicodeScalars.map(\.value))")
        let split = try? splitFullName(text), expected = try? ReferenceNames.splitFullName(text)
        #expect(split?.last == expected?.last && split?.first == expected?.first && split?.middle == expected?.middle)
        #expect((split == nil) == (expected == nil))
    }

    @Test(arguments: [
        "", " ", "  ", "\t\n", "Иванов", "Иванов Иван", " Иванов  Иван\tИванович\n", "Мамедов Али Гасан\u{00A0}оглы",
        "\u{00A0}Ёлкина\u{00A0}", "Smith-Jones  Anne", "O'Brien", "Иванов\r\nИван", "a\r\n", "\r\na", "\r", "a\rb",
        " \u{301}abc", "abc \u{301}", "a \u{301}b", "\u{600} abc", "abc\u{600} ", "a\u{600} b", "x\u{0483} y", "x \u{0483}y",
        "\u{2003}Иван\u{3000}", "\u{85}x\u{85}", "\u{1C}x\u{1F}", "\u{0B}\u{0C}x\u{0B}\u{0C}", " \u{200D}x", "x \u{200D}",
        "Zoë  Ångström ", "Ж", " ж ", "a\u{0903} b", "a \u{0903}b", "\u{1F1F7}\u{1F1FA} 😀", "e\u{301} e\u{301}",
        "\u{7F}x\u{7F}", "\u{0}x\u{0}", "x\u{A0}\u{301}y", "\u{A0}\u{301}", "Иванов \u{00AD}Иван",
    ])
    func cases(text: String) {
        check(text)
    }

    @Test func knownResults() throws {
        #expect(normalizeName("  Иванов \t Иван\u{00A0}\u{00A0}Иванович\n") == "Иванов Иван Иванович")
        #expect(normalizeName("a\r\nb c") == "a\r\nb c")
        #expect(normalizeName("a \u{301}b") == "a \u{301}b")
        #expect(trimmed("\r\n\t Иван \u{3000}") == "Иван")
        #expect(trimmed(" \u{301}abc") == "abc")
        #expect(trimmed("abc\u{600} ") == "abc\u{600} ")
        let name = try splitFullName("Мамедов\u{00A0} Али\tГасан  оглы ")
        #expect(name.last == "Мамедов" && name.first == "Али" && name.middle == "Гасан оглы")
    }

    @Test func randomTexts() {
        var rng = SplitMix(seed: 5)
        let common: [Unicode.Scalar] = [" ", " ", "\t", "\n", "\u{A0}", "\r", "Ж", "а", "я", "Ё", "é", "x", "-", "\u{301}", "\u{3000}"]
        for _ in 0..<20_000 {
            var s = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...10, using: &rng) {
                s.append(Bool.random(using: &rng) ? common.randomElement(using: &rng)! : awkwardScalars.randomElement(using: &rng)!)
            }
            check(String(s))
        }
    }
}

/// Money and СНИЛС as they were read: through arrays of digits.
enum ReferenceValues {
    static func parseDecimal(_ text: Substring, scale: Int) -> Int64? {
        let utf8 = Array(text.utf8)
        var i = 0
        var negative = false
        if i < utf8.count, utf8[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        var digits: [UInt8] = []
        var fractionDigits = 0
        var sawDigit = false
        while i < utf8.count, utf8[i] >= 0x30, utf8[i] <= 0x39 {
            digits.append(utf8[i] - 0x30); i += 1; sawDigit = true
        }
        guard sawDigit else { return nil }
        if i < utf8.count, utf8[i] == UInt8(ascii: ".") || utf8[i] == UInt8(ascii: ",") {
            i += 1
            var sawFraction = false
            while i < utf8.count, utf8[i] >= 0x30, utf8[i] <= 0x39 {
                digits.append(utf8[i] - 0x30); i += 1; fractionDigits += 1; sawFraction = true
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
        let shift = exponent - fractionDigits + scale
        guard shift >= 0 else { return nil }
        var result: Int64 = 0
        for d in digits {
            let (m, o1) = result.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(d))
            if o1 || o2 { return nil }
            result = a
        }
        for _ in 0..<shift {
            let (m, o) = result.multipliedReportingOverflow(by: 10)
            if o { return nil }
            result = m
        }
        return negative ? -result : result
    }

    /// The СНИЛС reading as it was; the error's reason or the two forms.
    static func snils(_ text: String) -> Result<(digits: String, formatted: String), ValueError> {
        let bytes = Array(text.utf8)
        var d: [UInt8] = []
        if bytes.count == 11 {
            guard bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                return .failure(ValueError("СНИЛС is not eleven digits"))
            }
            d = bytes.map { $0 - 0x30 }
        } else if bytes.count == 14 {
            for (i, b) in bytes.enumerated() {
                switch i {
                case 3, 7: guard b == UInt8(ascii: "-") else { return .failure(ValueError("СНИЛС is not in the form NNN-NNN-NNN CC")) }
                case 11: guard b == UInt8(ascii: " ") else { return .failure(ValueError("СНИЛС is not in the form NNN-NNN-NNN CC")) }
                default:
                    guard b >= 0x30, b <= 0x39 else { return .failure(ValueError("СНИЛС is not in the form NNN-NNN-NNN CC")) }
                    d.append(b - 0x30)
                }
            }
        } else {
            return .failure(ValueError("СНИЛС is neither eleven digits nor NNN-NNN-NNN CC"))
        }
        let body = d[0..<9].reduce(0) { $0 * 10 + Int($1) }
        let check = Int(d[9]) * 10 + Int(d[10])
        if body > 1_001_998 {
            guard Snils.checksum(d[0..<9]) == check else { return .failure(ValueError("СНИЛС checksum does not match")) }
        }
        let s = d.map { Character(Unicode.Scalar($0 + 0x30)) }
        return .success((String(s), "\(String(s[0..<3]))-\(String(s[3..<6]))-\(String(s[6..<9])) \(String(s[9..<11]))"))
    }
}

@Suite("Money, СНИЛС and integers are read and written as before")
struct ValueFastPathTests {
    func checkMoney(_ text: String) {
        for scale in [0, 2] {
            let expected = ReferenceValues.parseDecimal(Substring(text), scale: scale)
            let got = scale == 2 ? try? Kopecks(roubles: text).value : try? Kopecks(kopecksText: text).value
            #expect(got == expected, "\(text) at scale \(scale)")
        }
        #expect((try? Kopecks(roubles: text[...]))?.value == ReferenceValues.parseDecimal(Substring(text), scale: 2))
    }

    @Test(arguments: [
        "", "-", "0", "-0", "00012.30", "1250.00", "1250,5", "1.2505e3", "1e2", "1E+2", "1e-2", "5e-3", "1e41", "1e40",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "92233720368547758.07", "92233720368547758.08",
        "922337203685477580.7e1", "0.0000000000000000000001e22", "00000000000000000000000000001", "1.", ".5", "1e", "1e+",
        "--1", "+1", "1 ", " 1", "1,2,3", "12,5o", "١٢", "1.5e-1", "0e0", "0.00e-5",
    ])
    func money(text: String) {
        checkMoney(text)
    }

    @Test func randomMoney() {
        var rng = SplitMix(seed: 13)
        let pieces = ["0", "1", "9", "12", "99999", "922337203685477", "-", ".", ",", "e", "E", "+", "-", "5", "00", "x"]
        for _ in 0..<20_000 {
            checkMoney((0..<Int.random(in: 1...6, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined())
        }
    }

    func checkSnils(_ text: String) {
        let got: Result<(digits: String, formatted: String), ValueError>
        do {
            let s = try Snils(text)
            got = .success((s.digits, s.formatted))
        } catch {
            got = .failure(error)
        }
        switch (got, ReferenceValues.snils(text)) {
        case let (.success(a), .success(b)):
            #expect(a.digits == b.digits && a.formatted == b.formatted, "\(text)")
        case let (.failure(a), .failure(b)):
            #expect(a == b, "\(text)")
        default:
            Issue.record("\(text): \(got) against \(ReferenceValues.snils(text))")
        }
        // The generic form reads a substring the same way.
        #expect((try? Snils(text[...]))?.formatted == (try? Snils(text))?.formatted)
    }

    @Test(arguments: [
        "11223344595", "112-233-445 95", "112-233-445 96", "001-001-998 77", "00100199877", "001-001-999 77",
        "1122334459", "112-233-44595", "112 233 445 95", "11223344a95", "112-233-445-95", "", "٠١٢٣٤٥٦٧٨٩٠",
        "112–233–445 95", "00000000000", "000-000-000 00", "99999999999",
    ])
    func snils(text: String) {
        checkSnils(text)
    }

    @Test func randomSnils() {
        var rng = SplitMix(seed: 17)
        for _ in 0..<20_000 {
            var digits = (0..<11).map { _ in Character(Unicode.Scalar(UInt8.random(in: 0x30...0x39, using: &rng))) }
            if Int.random(in: 0..<4, using: &rng) == 0 { digits[Int.random(in: 0..<11, using: &rng)] = "x" }
            let plain = String(digits)
            // A valid checksum about half of the time.
            let nine = plain.utf8.prefix(9).map { $0 &- 48 }
            let sum = Snils.checksum(nine)
            let fixed = Bool.random(using: &rng) && !plain.contains("x")
                ? String(plain.prefix(9)) + (sum < 10 ? "0" : "") + String(sum) : plain
            checkSnils(fixed)
            let f = Array(fixed)
            checkSnils("\(String(f[0..<3]))-\(String(f[3..<6]))-\(String(f[6..<9])) \(String(f[9..<11]))")
        }
    }

    @Test func integers() {
        for i in [0, 1, -1, 9, 10, -10, 99, 100, 12_345, Int.max, Int.min, Int(Int32.max), -9_999_999_999] {
            #expect(JSONValue.int(i) == .number(String(i)))
        }
        #expect(JSONValue.int(Int64.min) == .number("-9223372036854775808"))
        #expect(JSONValue.int(UInt64.max) == .number("18446744073709551615"))
        #expect(JSONValue.int(UInt8(7)) == .number("7"))
        #expect(JSONValue.int(Int?.none) == .null)
        var rng = SplitMix(seed: 19)
        for _ in 0..<10_000 {
            let i = Int64(bitPattern: rng.next()) >> Int64.random(in: 0...63, using: &rng)
            #expect(JSONValue.int(i) == .number(String(i)))
        }
    }
}

@Suite("Hexadecimal is written as before")
struct HexFastPathTests {
    static func reference(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func everyByte() {
        let all = (0...255).map { UInt8($0) }
        #expect(all.hexString == Self.reference(all))
        #expect(all.hexString.hasPrefix("000102030405060708090a0b0c0d0e0f10"))
        #expect(all.hexString.hasSuffix("f9fafbfcfdfeff"))
        #expect([UInt8]().hexString == "")
        #expect(all[250...].hexString == "fafbfcfdfeff")
        // A sequence that is not a collection, without contiguous storage.
        #expect(all.lazy.map { $0 ^ 0x5A }.hexString == Self.reference(all.map { $0 ^ 0x5A }))
        #expect(sequence(first: UInt8(1), next: { $0 < 200 ? $0 &* 3 : nil }).hexString == "0103091b51f3")
    }
}
