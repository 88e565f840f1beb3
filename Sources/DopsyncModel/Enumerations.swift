/// The four collections every regional system holds, named as in `export`.
public enum CollectionName: String, Sendable, CaseIterable, Hashable, Comparable {
    case programs, certificates, contracts, charges

    public static func < (a: CollectionName, b: CollectionName) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// A provider's kind of organisation.
public enum ProviderKind: String, Sendable, CaseIterable { case state, municipal, `private`, individual }

/// The six directions (направленности) fixed by federal order.
public enum Direction: String, Sendable, CaseIterable {
    case technical, natural_science, sport, art, tourism, social
}

/// The registry a program is in, which says who pays for it.
public enum Registry: String, Sendable, CaseIterable { case certified, significant, municipal, paid }

/// How a program is taught.
public enum ProgramFormat: String, Sendable, CaseIterable { case offline, online, mixed }

/// Where a program stands in the catalogue.
public enum ProgramStatus: String, Sendable, CaseIterable { case draft, published, archived }

/// Financing certificates carry money; accounting ones only record attendance.
public enum CertificateType: String, Sendable, CaseIterable { case financing, accounting }

/// Whether a certificate can be used.
public enum CertificateStatus: String, Sendable, CaseIterable { case active, suspended, closed }

/// Where an enrollment stands.
public enum ContractStatus: String, Sendable, CaseIterable { case application, active, terminated, completed }

extension RawRepresentable where RawValue == String, Self: CaseIterable {
    /// Reads a normalized value, naming the allowed ones when it is none of them.
    public init(normalized text: String) throws(ValueError) {
        guard let v = Self(rawValue: text) else {
            throw ValueError("\"\(text)\" is not one of \(Self.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = v
    }
}

/// Splits a full name by the model's rule: first word the last name, second
/// the first name, the rest (possibly several words, as `Гасан оглы`) the
/// middle name or `nil`.
///
/// - Throws: `ValueError` when there are fewer than two words (the value is
///   not quoted: it is personal data).
public func splitFullName(_ text: String) throws(ValueError) -> (last: String, first: String, middle: String?) {
    if let words = NameText.words(text) {
        guard words.count >= 2 else { throw ValueError("full name has fewer than two words") }
        return (words[0], words[1], words.count > 2 ? words[2...].joined(separator: " ") : nil)
    }
    let words = text.split(whereSeparator: isNameSeparator)
    guard words.count >= 2 else { throw ValueError("full name has fewer than two words") }
    let middle = words.count > 2 ? words[2...].joined(separator: " ") : nil
    return (String(words[0]), String(words[1]), middle)
}

/// Trims a name and folds runs of white space into single spaces.
public func normalizeName(_ text: String) -> String {
    switch NameText.normalized(text) {
    case .unchanged: return text
    case let .changed(s): return s
    case .other: return text.split(whereSeparator: isNameSeparator).joined(separator: " ")
    }
}

/// Text as sent, trimmed of surrounding white space.
public func trimmed(_ text: String) -> String {
    switch NameText.trimmedASCII(text) {
    case .unchanged: return text
    case let .changed(s): return s
    case .other: break
    }
    var s = Substring(text)
    while let f = s.first, f.isWhitespace { s.removeFirst() }
    while let l = s.last, l.isWhitespace { s.removeLast() }
    return String(s)
}

/// What separates the words of a name: a space, a tab, a line feed or a
/// no-break space, each a character of its own.
@inline(__always)
private func isNameSeparator(_ c: Character) -> Bool {
    c == " " || c == "\t" || c == "\n" || c == "\u{00A0}"
}

/// Byte-level versions of the name functions above, for the text the regions
/// send nearly always: ASCII, Latin-1 letters and Cyrillic.
///
/// The functions above work on `Character`s (grapheme clusters). On such text
/// a separator or a white-space character is always a cluster of its own, so
/// the same work can be done on the UTF-8 bytes; any other text is left to the
/// `Character` code (`.other`). What makes a separator part of a larger
/// cluster is a combining mark after it, a prepended mark before it, or CR
/// before a line feed; none of those passes `scalarLength`.
enum NameText {
    enum Result {
        /// The text is its own result.
        case unchanged
        case changed(String)
        /// The text has characters the byte-level code does not handle.
        case other
    }

    /// The length in bytes of the character at `i` when it is one the
    /// byte-level code handles, else 0: ASCII but CR, U+00A0, U+00C0–U+00FF,
    /// and U+0400–U+04FF but the combining marks U+0483–U+0489.
    @inline(__always)
    static func scalarLength(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        let c = b[i]
        if c < 0x80 { return c == 0x0D ? 0 : 1 }
        // A lead byte of a two-byte sequence is always followed by its
        // continuation byte: the text is valid UTF-8.
        switch c {
        case 0xC2: return b[i + 1] == 0xA0 ? 2 : 0
        case 0xC3, 0xD0, 0xD1, 0xD3: return 2
        case 0xD2: return (0x83...0x89).contains(b[i + 1]) ? 0 : 2
        default: return 0
        }
    }

    /// Whether the handled character at `i`, `length` bytes long, separates
    /// the words of a name.
    @inline(__always)
    static func isSeparator(_ b: UnsafeBufferPointer<UInt8>, _ i: Int, _ length: Int) -> Bool {
        length == 1 ? (b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A) : (b[i] == 0xC2 && b[i + 1] == 0xA0)
    }

    static func normalized(_ text: String) -> Result {
        return withUTF8Bytes(of: text) { b -> Result in
            // First pass: is the text handled, and is it already one word after
            // another with single spaces between?
            var i = 0
            var normal = true
            var afterSeparator = true
            while i < b.count {
                let length = scalarLength(b, i)
                if length == 0 { return .other }
                if isSeparator(b, i, length) {
                    if afterSeparator || length != 1 || b[i] != 0x20 { normal = false }
                    afterSeparator = true
                } else {
                    afterSeparator = false
                }
                i += length
            }
            if afterSeparator && !b.isEmpty { normal = false }
            if normal { return .unchanged }
            var out: [UInt8] = []
            out.reserveCapacity(b.count)
            forEachWord(b) { word in
                if !out.isEmpty { out.append(0x20) }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: b[word]))
            }
            return .changed(String(decoding: out, as: UTF8.self))
        }
    }

    /// The words of `text` split at separators, or nil when the text has
    /// characters the byte-level code does not handle.
    static func words(_ text: String) -> [String]? {
        return withUTF8Bytes(of: text) { b -> [String]? in
            var i = 0
            while i < b.count {
                let length = scalarLength(b, i)
                if length == 0 { return nil }
                i += length
            }
            var words: [String] = []
            forEachWord(b) { words.append(String(decoding: UnsafeBufferPointer(rebasing: b[$0]), as: UTF8.self)) }
            return words
        }
    }

    /// Calls `body` with the byte range of each word of handled text.
    @inline(__always)
    static func forEachWord(_ b: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void) {
        var i = 0
        var start: Int? = nil
        while i < b.count {
            let length = scalarLength(b, i)
            if isSeparator(b, i, length) {
                if let s = start { body(s..<i); start = nil }
            } else if start == nil {
                start = i
            }
            i += length
        }
        if let s = start { body(s..<b.count) }
    }

    /// `trimmed` for text whose ends, once the ASCII white space around it
    /// (tab, LF, VT, FF, CR, space) is cut, are handled non-space characters.
    /// Such a character is never joined to the white space next to it, so
    /// cutting bytes cuts the same characters `trimmed` does.
    static func trimmedASCII(_ text: String) -> Result {
        return withUTF8Bytes(of: text) { b -> Result in
            @inline(__always) func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }
            var start = 0
            var end = b.count
            while start < end, isSpace(b[start]) { start += 1 }
            while end > start, isSpace(b[end - 1]) { end -= 1 }
            if start == end { return b.isEmpty ? .unchanged : .changed("") }
            // The first character: a visible ASCII one or a handled letter.
            let first = b[start]
            guard (0x21...0x7E).contains(first) || (first >= 0x80 && scalarLength(b, start) == 2 && first != 0xC2) else {
                return .other
            }
            // The last character likewise; a byte of C3, D0–D3 is never a
            // continuation byte, so before a continuation byte it is the lead
            // byte of the last character.
            let last = b[end - 1]
            if last >= 0x80 {
                guard end - start >= 2, scalarLength(b, end - 2) == 2, b[end - 2] != 0xC2 else { return .other }
            } else if !(0x21...0x7E).contains(last) {
                return .other
            }
            if start == 0 && end == b.count { return .unchanged }
            return .changed(String(decoding: UnsafeBufferPointer(rebasing: b[start..<end]), as: UTF8.self))
        }
    }
}
