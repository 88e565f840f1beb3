internal import DopsyncModel
internal import Foundation

/// Why an XML text could not be read: what, and at which byte.
struct XMLSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    let reason: String
    /// The byte offset in the (UTF-8) text where the problem was seen.
    let offset: Int

    init(_ reason: String, offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    var description: String { "XML at byte \(offset): \(reason)" }
}

/// One XML element read whole: name, attributes, child elements and its own
/// text. Made only for one record (or a small answer) at a time, never for a
/// whole page.
struct XMLElementNode: Sendable {
    var name: String
    var attributes: [(name: String, value: String)] = []
    var children: [XMLElementNode] = []
    /// The element's own character data (entities resolved), untrimmed.
    var text = ""

    func attribute(_ name: String) -> String? { attributes.first { $0.name == name }?.value }
}

/// A small pull parser over UTF-8 bytes: start tags, end tags and text, one
/// event at a time, with the byte offsets that let a caller keep an element's
/// exact text.
///
/// It reads the XML the exchange uses: elements, attributes in either quote,
/// the five predefined entities and character references, comments, CDATA,
/// and processing instructions (skipped). A DOCTYPE is refused, so no entity
/// is ever expanded from the document itself.
struct XMLPullParser {
    enum Event {
        /// A start tag; `begin` is the offset of its `<`.
        case start(name: String, attributes: [(name: String, value: String)], selfClosing: Bool, begin: Int)
        /// An end tag (also sent after a self-closing start); `end` is the offset just past its `>`.
        case end(name: String, end: Int)
        /// Character data between tags, entities resolved.
        case text(String)
    }

    let bytes: [UInt8]
    private(set) var position = 0
    private var open: [String] = []
    private var pendingEnd: (name: String, end: Int)?
    private var sawRoot = false

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        // A byte-order mark is not part of the document.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
    }

    /// How deep the parser stands: the number of elements open.
    var depth: Int { open.count }

    func fail(_ reason: String, at offset: Int? = nil) -> XMLSyntaxError {
        XMLSyntaxError(reason, offset: offset ?? position)
    }

    /// The next event, or `nil` at the end of a well-formed document.
    ///
    /// - Throws: `XMLSyntaxError` for anything not well formed, including a
    ///   document that ends with elements still open (a body cut short).
    mutating func next() throws(XMLSyntaxError) -> Event? {
        if let pending = pendingEnd {
            pendingEnd = nil
            return .end(name: pending.name, end: pending.end)
        }
        while position < bytes.count {
            if bytes[position] != UInt8(ascii: "<") {
                let start = position
                let text = try readText()
                if open.isEmpty {
                    guard text.allSatisfy(\.isWhitespace) else { throw fail("text outside the root element", at: start) }
                    continue
                }
                return .text(text)
            }
            if matches("<?") {
                try skip(past: "?>")
            } else if matches("<!--") {
                try skip(past: "-->")
            } else if matches("<![CDATA[") {
                guard !open.isEmpty else { throw fail("CDATA outside the root element") }
                position += 9
                let start = position
                try skip(past: "]]>")
                return .text(String(decoding: bytes[start..<(position - 3)], as: UTF8.self))
            } else if matches("<!") {
                throw fail("a DOCTYPE or other declaration is not accepted")
            } else if matches("</") {
                position += 2
                let name = try readName()
                skipSpace()
                try expect(">")
                guard let top = open.popLast() else { throw fail("end tag </\(name)> without a start tag") }
                guard top == name else { throw fail("end tag </\(name)> closes <\(top)>") }
                return .end(name: name, end: position)
            } else {
                let begin = position
                position += 1
                let name = try readName()
                if open.isEmpty {
                    guard !sawRoot else { throw fail("a second root element <\(name)>", at: begin) }
                    sawRoot = true
                }
                var attributes: [(name: String, value: String)] = []
                while true {
                    let hadSpace = skipSpace()
                    guard position < bytes.count else { throw fail("the document ends inside <\(name)>") }
                    if matches("/>") {
                        position += 2
                        pendingEnd = (name, position)
                        return .start(name: name, attributes: attributes, selfClosing: true, begin: begin)
                    }
                    if bytes[position] == UInt8(ascii: ">") {
                        position += 1
                        open.append(name)
                        return .start(name: name, attributes: attributes, selfClosing: false, begin: begin)
                    }
                    guard hadSpace else { throw fail("expected white space, > or /> in <\(name)>") }
                    let attribute = try readName()
                    skipSpace()
                    try expect("=")
                    skipSpace()
                    let value = try readQuoted()
                    guard !attributes.contains(where: { $0.name == attribute }) else {
                        throw fail("attribute \(attribute) given twice in <\(name)>")
                    }
                    attributes.append((attribute, value))
                }
            }
        }
        if let top = open.last { throw fail("the document ends inside <\(top)> (cut short?)") }
        guard sawRoot else { throw fail("no root element") }
        return nil
    }

    /// Moves past an element whose reading failed: to just after the first
    /// `</name>` from `begin` (its start tag), back at `depth` (its parent's),
    /// when the document has one and no other `<name` starts before it;
    /// whether it could. A record broken inside (a stray `&`, a child's tag
    /// that does not match) is then passed over whole. A record whose own end
    /// tag is broken would take the next record's with it, and a document cut
    /// short has no end tag left: neither is passed over.
    mutating func skipBroken(_ name: String, begin: Int, depth: Int) -> Bool {
        // `</name>`, white space allowed before the `>`.
        let closeName = Array("</\(name)".utf8)
        var search = begin
        var found: Range<Int>? = nil
        while found == nil, let candidate = bytes[search...].firstRange(of: closeName) {
            var end = candidate.upperBound
            while end < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[end]) { end += 1 }
            if end < bytes.count, bytes[end] == UInt8(ascii: ">") { found = candidate.lowerBound..<(end + 1) }
            search = candidate.upperBound
        }
        guard let found else { return false }
        let startTag = Array("<\(name)".utf8)
        var from = begin + 1
        while let next = bytes[from..<found.lowerBound].firstRange(of: startTag) {
            // `<name>`, `<name …>` or `<name/>` is another record; `<nameX` is not.
            let after = next.upperBound < bytes.count ? bytes[next.upperBound] : 0
            if after == UInt8(ascii: ">") || after == UInt8(ascii: "/") || after == 0x20 || after == 0x09
                || after == 0x0A || after == 0x0D { return false }
            from = next.upperBound
        }
        position = found.upperBound
        open.removeLast(max(0, open.count - depth))
        pendingEnd = nil
        return true
    }

    /// Reads the element whose start tag was just returned, through its end
    /// tag, into a node.
    mutating func readElement(name: String, attributes: [(name: String, value: String)]) throws(XMLSyntaxError) -> XMLElementNode {
        var node = XMLElementNode(name: name, attributes: attributes)
        while let event = try next() {
            switch event {
            case let .start(child, childAttributes, _, _):
                node.children.append(try readElement(name: child, attributes: childAttributes))
            case let .text(t):
                node.text += t
            case .end:
                return node
            }
        }
        throw fail("the document ends inside <\(name)>")
    }

    // MARK: Lexing

    private func matches(_ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard position + n <= bytes.count else { return false }
        return literal.withUTF8Buffer { lit in
            for k in 0..<n where bytes[position + k] != lit[k] { return false }
            return true
        }
    }

    private mutating func skip(past literal: StaticString) throws(XMLSyntaxError) {
        let start = position
        while position < bytes.count {
            if matches(literal) {
                position += literal.utf8CodeUnitCount
                return
            }
            position += 1
        }
        throw fail("unterminated construct (expected \(literal))", at: start)
    }

    private mutating func expect(_ c: Unicode.Scalar) throws(XMLSyntaxError) {
        guard position < bytes.count, bytes[position] == UInt8(c.value) else { throw fail("expected \(c)") }
        position += 1
    }

    @discardableResult
    private mutating func skipSpace() -> Bool {
        let start = position
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return position > start
            }
        }
        return position > start
    }

    private static func isNameByte(_ b: UInt8, first: Bool) -> Bool {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "_"), UInt8(ascii: ":"):
            return true
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."):
            return !first
        default:
            return b >= 0x80
        }
    }

    private mutating func readName() throws(XMLSyntaxError) -> String {
        let start = position
        while position < bytes.count, Self.isNameByte(bytes[position], first: position == start) { position += 1 }
        guard position > start else { throw fail("expected a name") }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    private mutating func readQuoted() throws(XMLSyntaxError) -> String {
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") || bytes[position] == UInt8(ascii: "'") else {
            throw fail("expected a quoted attribute value")
        }
        let quote = bytes[position]
        position += 1
        var out: [UInt8] = []
        while position < bytes.count, bytes[position] != quote {
            let b = bytes[position]
            if b == UInt8(ascii: "<") { throw fail("< inside an attribute value") }
            if b == UInt8(ascii: "&") {
                out += try readReference()
            } else {
                // Attribute values normalize white space characters to spaces.
                out.append(b == 0x09 || b == 0x0A || b == 0x0D ? 0x20 : b)
                position += 1
            }
        }
        guard position < bytes.count else { throw fail("unterminated attribute value") }
        position += 1
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func readText() throws(XMLSyntaxError) -> String {
        var out: [UInt8] = []
        while position < bytes.count, bytes[position] != UInt8(ascii: "<") {
            if bytes[position] == UInt8(ascii: "&") {
                out += try readReference()
            } else {
                out.append(bytes[position])
                position += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `&name;` or `&#N;` / `&#xH;` at the position, as UTF-8.
    private mutating func readReference() throws(XMLSyntaxError) -> [UInt8] {
        let start = position
        position += 1
        while position < bytes.count, bytes[position] != UInt8(ascii: ";"), position - start < 12 { position += 1 }
        guard position < bytes.count, bytes[position] == UInt8(ascii: ";") else {
            throw fail("an unterminated entity reference", at: start)
        }
        let name = String(decoding: bytes[(start + 1)..<position], as: UTF8.self)
        position += 1
        switch name {
        case "lt": return [UInt8(ascii: "<")]
        case "gt": return [UInt8(ascii: ">")]
        case "amp": return [UInt8(ascii: "&")]
        case "quot": return [UInt8(ascii: "\"")]
        case "apos": return [UInt8(ascii: "'")]
        default:
            var code: UInt32?
            if name.hasPrefix("#x") || name.hasPrefix("#X") {
                code = UInt32(name.dropFirst(2), radix: 16)
            } else if name.hasPrefix("#") {
                code = UInt32(name.dropFirst(), radix: 10)
            }
            guard let code, let scalar = Unicode.Scalar(code), code != 0 else {
                throw fail("unknown entity &\(name);", at: start)
            }
            return Array(String(Character(scalar)).utf8)
        }
    }
}

/// XML text as the exchange sends it: bytes in the encoding its prolog
/// declares, turned into UTF-8 for reading.
enum XMLText {
    /// The encoding named in the prolog (`<?xml … encoding="windows-1251"?>`),
    /// or `nil` when there is no prolog or it names none.
    static func declaredEncoding(_ bytes: [UInt8]) -> String? {
        var head = bytes.prefix(200)
        if head.starts(with: [0xEF, 0xBB, 0xBF]) { head = head.dropFirst(3) }
        guard head.starts(with: Array("<?xml".utf8)), let close = head.firstIndex(of: UInt8(ascii: ">")) else { return nil }
        let prolog = String(decoding: head[..<close], as: UTF8.self)
        guard let range = prolog.range(of: "encoding") else { return nil }
        var rest = prolog[range.upperBound...].drop { $0 == " " || $0 == "=" }
        guard let quote = rest.first, quote == "\"" || quote == "'" else { return nil }
        rest = rest.dropFirst()
        return String(rest.prefix { $0 != quote })
    }

    /// The document as UTF-8 bytes, decoded by the encoding its prolog
    /// declares (UTF-8 when it declares none, as XML says).
    ///
    /// - Throws: `XMLSyntaxError` for an encoding the exchange does not use,
    ///   or bytes that are not valid in the declared one.
    static func utf8(_ bytes: [UInt8]) throws(XMLSyntaxError) -> [UInt8] {
        let declared = declaredEncoding(bytes)
        switch declared?.lowercased() {
        case nil, "utf-8", "utf8":
            guard String(validating: bytes, as: UTF8.self) != nil else {
                throw XMLSyntaxError("the bytes are not valid UTF-8 (as the prolog says, or by default)", offset: 0)
            }
            return bytes
        case "windows-1251", "cp1251", "cp-1251", "x-cp1251":
            guard let text = String(bytes: bytes, encoding: .windowsCP1251) else {
                throw XMLSyntaxError("the bytes are not valid windows-1251", offset: 0)
            }
            return Array(text.utf8)
        case let other?:
            throw XMLSyntaxError("encoding \(other) is not one the exchange uses (windows-1251, UTF-8)", offset: 0)
        }
    }

    /// Escapes text for character data or a double-quoted attribute value.
    static func escape(_ text: String) -> String { text.markupEscaped }
}

/// Typed reads of an XML record's fields, each failure naming the field by
/// its path of element names (`Child.BirthDate`, `Organization@inn`).
///
/// The XML counterpart of `WireObject`: child elements and attributes are
/// looked up by name; text is trimmed; an empty element counts as absent.
struct WireElement {
    let node: XMLElementNode
    let path: String?

    init(_ node: XMLElementNode, path: String? = nil) {
        self.node = node
        self.path = path
    }

    func childPath(_ name: String) -> String { path.map { "\($0).\(name)" } ?? name }

    func fail(_ name: String, _ reason: String) -> ValueError { ValueError(reason, path: childPath(name)) }

    /// The child element `name`, or `nil` when absent.
    ///
    /// - Throws: `ValueError` when it appears more than once.
    func optionalChild(_ name: String) throws(ValueError) -> WireElement? {
        let found = node.children.filter { $0.name == name }
        guard found.count <= 1 else { throw fail(name, "appears \(found.count) times") }
        return found.first.map { WireElement($0, path: childPath(name)) }
    }

    func child(_ name: String) throws(ValueError) -> WireElement {
        guard let c = try optionalChild(name) else { throw fail(name, "is missing") }
        return c
    }

    /// This element's own text, trimmed.
    var text: String { trimmed(node.text) }

    /// The trimmed text of child `name`, or `nil` when absent or empty.
    func optionalString(_ name: String) throws(ValueError) -> String? {
        guard let c = try optionalChild(name) else { return nil }
        guard c.node.children.isEmpty else { throw fail(name, "expected text, found elements") }
        let t = c.text
        return t.isEmpty ? nil : t
    }

    func string(_ name: String) throws(ValueError) -> String {
        guard let s = try optionalString(name) else {
            throw fail(name, try optionalChild(name) == nil ? "is missing" : "is empty")
        }
        return s
    }

    /// The trimmed value of attribute `name`, or `nil` when absent or empty.
    func optionalAttribute(_ name: String) -> String? {
        guard let v = node.attribute(name) else { return nil }
        let t = trimmed(v)
        return t.isEmpty ? nil : t
    }

    func attribute(_ name: String) throws(ValueError) -> String {
        guard let v = optionalAttribute(name) else {
            throw ValueError(node.attribute(name) == nil ? "is missing" : "is empty", path: attributePath(name))
        }
        return v
    }

    func attributePath(_ name: String) -> String { "\(path ?? node.name)@\(name)" }

    /// An integer from text: optional sign and digits.
    static func integer(_ text: String) throws(ValueError) -> Int {
        guard let i = Int(text) else { throw ValueError("\"\(text)\" is not an integer") }
        return i
    }

    func int(_ name: String) throws(ValueError) -> Int {
        let s = try string(name)
        return try located(childPath(name)) { () throws(ValueError) in try Self.integer(s) }
    }

    func intAttribute(_ name: String) throws(ValueError) -> Int {
        let s = try attribute(name)
        return try located(attributePath(name)) { () throws(ValueError) in try Self.integer(s) }
    }

    /// A value of `table` by its wire text.
    func code<T>(_ name: String, _ table: [String: T]) throws(ValueError) -> T {
        let s = try string(name)
        guard let v = table[s] else {
            throw fail(name, "unknown value \"\(s)\" (expected one of \(table.keys.sorted().joined(separator: ", ")))")
        }
        return v
    }

    /// A value of `table` by an attribute's text.
    func codeAttribute<T>(_ name: String, _ table: [String: T]) throws(ValueError) -> T {
        let s = try attribute(name)
        guard let v = table[s] else {
            throw ValueError("unknown value \"\(s)\" (expected one of \(table.keys.sorted().joined(separator: ", ")))",
                             path: attributePath(name))
        }
        return v
    }

    /// Runs a parse of the field at `path`, naming it in the error.
    func located<T>(_ path: String, _ body: () throws(ValueError) -> T) throws(ValueError) -> T {
        do {
            return try body()
        } catch {
            throw ValueError(error.reason, path: [path, error.path].compactMap { $0 }.joined(separator: "."))
        }
    }
}
