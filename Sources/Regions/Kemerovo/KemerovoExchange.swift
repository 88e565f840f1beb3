public import DopsyncModel
internal import Foundation

/// A business error of the exchange: an HTTP `500` whose body is
/// `<Fault code="ES2-403">Клиент не зарегистрирован</Fault>`.
///
/// `ES2-429` (more than 5 requests a second) is waited out and retried by
/// the adapter; any other code stops the region's pass with this error.
public struct KemerovoFault: Error, Sendable, Equatable, CustomStringConvertible {
    /// The fault's code, as sent (`ES2-403`).
    public let code: String
    /// The fault's text, as sent.
    public let text: String
    /// The collection being read, when there was one.
    public let collection: CollectionName?
    /// The URL asked.
    public let url: String

    /// A fault as the region sent it, and where it was asked.
    public init(code: String, text: String, collection: CollectionName?, url: String) {
        self.code = code; self.text = text; self.collection = collection; self.url = url
    }

    public var description: String {
        var s = KemerovoAdapter.descriptor.name
        if let collection { s += " \(collection.rawValue)" }
        return "\(s) (\(url)): the region answered fault \(code): \(text)"
    }
}

/// The documents of the exchange (regions/kemerovo.md): export requests in
/// UTF-8, answers in the encoding their prolog declares (windows-1251).
enum KemerovoExchange {
    static let exportPath = "/es2/exchange/export"

    /// `<ExportRequest entity=… [changedSince=…] offset=… count=…/>` in UTF-8
    /// with a UTF-8 prolog.
    static func exportRequest(entity: String, changedSince: Timestamp?, offset: Int, count: Int) -> String {
        var attributes = "entity=\"\(XMLText.escape(entity))\""
        if let changedSince {
            attributes += " changedSince=\"\(changedSince.localDotted(offsetSeconds: KemerovoMapping.offset))\""
        }
        attributes += " offset=\"\(offset)\" count=\"\(count)\""
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ExportRequest \(attributes)/>\n"
    }

    /// One record of an export page as a walk needs it.
    struct RecordKey: Equatable {
        /// The record's id, or its raw text when it has none that can be read.
        var key: String
        var modifiedAt: Timestamp?
    }

    /// An export answer, read record by record.
    struct ExportPage {
        /// `total` as the region states it: records matching the request's filter.
        var total: Int?
        var items: [PageItem] = []
        var keys: [RecordKey] = []
        /// Records quarantined without an id (not well formed, the id
        /// unreadable): a full walk cannot tell whether it saw them.
        var unidentified = 0
    }

    /// Reads an `<ExportResponse>` record by record with a pull parser: each
    /// record element is read alone, mapped, and kept as its exact text (for
    /// quarantine and a later retry); the answer is never held as a tree.
    ///
    /// - Throws: `XMLSyntaxError` when the answer is not the documented
    ///   format (a body cut short, the wrong root, another entity): the
    ///   caller fetches it again.
    static func parseExport(_ body: [UInt8], collection: CollectionName,
                            mapping: KemerovoMapping) throws(XMLSyntaxError) -> ExportPage {
        let text = try XMLText.utf8(body)
        var parser = XMLPullParser(text)
        guard case let .start(root, attributes, selfClosing, _)? = try parser.next() else {
            throw parser.fail("no root element")
        }
        guard root == "ExportResponse" else { throw parser.fail("expected <ExportResponse>, found <\(root)>") }
        let entity = KemerovoMapping.entity(collection)
        let answered = attributes.first { $0.name == "entity" }?.value
        guard answered == entity else {
            throw parser.fail("the answer is for entity \(answered ?? "(none)"), not \(entity)")
        }
        var page = ExportPage()
        if let total = attributes.first(where: { $0.name == "total" })?.value {
            guard let n = Int(total), n >= 0 else { throw parser.fail("total \"\(total)\" is not a count") }
            page.total = n
        }
        if selfClosing {
            _ = try parser.next()
        } else {
            loop: while let event = try parser.next() {
                switch event {
                case let .start(name, recordAttributes, recordSelfClosing, begin):
                    var node = XMLElementNode(name: name, attributes: recordAttributes)
                    if recordSelfClosing {
                        _ = try parser.next()
                    } else {
                        do {
                            node = try parser.readElement(name: name, attributes: recordAttributes)
                        } catch {
                            // One record that is not well formed must not stop
                            // its page, when it can be passed over alone.
                            var after = parser
                            guard after.skipBroken(name, begin: begin, depth: 1) else { throw error }
                            let raw = String(decoding: text[begin..<after.position], as: UTF8.self)
                            let id = brokenRecordID(raw, collection: collection)
                            if id == nil { page.unidentified += 1 }
                            parser = after
                            page.items.append(.quarantine(sourceID: id, raw: raw, reason: "not well-formed XML: \(error)"))
                            page.keys.append(RecordKey(key: id ?? raw, modifiedAt: nil))
                            continue
                        }
                    }
                    let raw = String(decoding: text[begin..<parser.position], as: UTF8.self)
                    page.items.append(mapping.decode(node, raw: raw, collection: collection))
                    page.keys.append(RecordKey(key: mapping.sourceID(node, collection: collection) ?? raw,
                                               modifiedAt: mapping.modifiedAt(node)))
                case let .text(t):
                    guard t.allSatisfy(\.isWhitespace) else { throw parser.fail("text between records") }
                case .end:
                    break loop
                }
            }
        }
        guard try parser.next() == nil else { throw parser.fail("content after </ExportResponse>") }
        return page
    }

    /// The id of a record that is not well formed, when its id element
    /// (`<Id>`, a certificate's `<Number>`) can still be read as plain text:
    /// its quarantine entry then carries it, and a full walk counts it as seen.
    static func brokenRecordID(_ raw: String, collection: CollectionName) -> String? {
        let element = KemerovoMapping.idElement(collection)
        guard let open = raw.range(of: "<\(element)>"),
              let close = raw.range(of: "</\(element)>", range: open.upperBound..<raw.endIndex) else { return nil }
        let id = trimmed(String(raw[open.upperBound..<close.lowerBound]))
        return id.isEmpty || id.contains(where: { "<>&".contains($0) }) ? nil : id
    }

    /// The fault in a `500` answer, or `nil` when the body is no fault.
    static func fault(_ body: [UInt8]) -> (code: String, text: String)? {
        guard let text = try? XMLText.utf8(body) else { return nil }
        var parser = XMLPullParser(text)
        guard case let .start(name, attributes, selfClosing, _)? = try? parser.next(), name == "Fault",
              let code = attributes.first(where: { $0.name == "code" })?.value else { return nil }
        if selfClosing { return (code, "") }
        guard let node = try? parser.readElement(name: name, attributes: attributes) else { return nil }
        return (code, trimmed(node.text))
    }
}
