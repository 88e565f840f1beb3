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
