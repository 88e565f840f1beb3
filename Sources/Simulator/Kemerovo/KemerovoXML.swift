internal import DopsyncModel
internal import Foundation
#if canImport(FoundationXML)
internal import FoundationXML
#endif

/// An XML element as the simulated exchange reads requests: built with
/// Foundation's `XMLParser` (libxml2), which decodes the encoding the
/// prolog declares. An independent reading from the gateway's own parser.
struct ES2Node: Sendable {
    var name: String
    var attributes: [String: String]
    var children: [ES2Node] = []
    var text = ""

    /// The first child of that name.
    func child(_ name: String) -> ES2Node? { children.first { $0.name == name } }

    /// The trimmed text of the first child of that name, or nil when absent or empty.
    func string(_ name: String) -> String? {
        guard let t = child(name)?.text.trimmingCharacters(in: .whitespacesAndNewlines), !t.isEmpty else { return nil }
        return t
    }

    /// Parses a whole document (requests are small); `nil` when it is not well formed.
    static func parse(_ bytes: [UInt8]) -> ES2Node? {
        let builder = TreeBuilder()
        let parser = XMLParser(data: Data(bytes))
        parser.delegate = builder
        guard parser.parse(), builder.failed == false, let root = builder.root else { return nil }
        return root
    }

    private final class TreeBuilder: NSObject, XMLParserDelegate {
        var stack: [ES2Node] = []
        var root: ES2Node?
        var failed = false

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                    qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
            stack.append(ES2Node(name: elementName, attributes: attributeDict))
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
            guard let node = stack.popLast() else { failed = true; return }
            if stack.isEmpty { root = node } else { stack[stack.count - 1].children.append(node) }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if !stack.isEmpty { stack[stack.count - 1].text += string }
        }

        func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
            if !stack.isEmpty { stack[stack.count - 1].text += String(decoding: CDATABlock, as: UTF8.self) }
        }

        func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) { failed = true }
    }
}

/// Writing the exchange's answers: XML text encoded in windows-1251, as the
/// region's prolog says.
enum ES2Writer {
    static let prolog = "<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n"

    /// Escapes text for character data and attributes.
    static func escape(_ text: String) -> String { text.markupEscaped }

    /// An element with escaped text.
    static func element(_ name: String, _ text: String) -> String { "<\(name)>\(escape(text))</\(name)>" }

    /// The text in windows-1251; a character that code page lacks is written
    /// as a character reference, as the region's system does.
    static func windows1251(_ text: String) -> [UInt8] {
        if let data = text.data(using: .windowsCP1251) { return Array(data) }
        var out: [UInt8] = []
        for scalar in text.unicodeScalars {
            if scalar.isASCII {
                out.append(UInt8(scalar.value))
            } else if let data = String(scalar).data(using: .windowsCP1251) {
                out += data
            } else {
                out += Array("&#\(scalar.value);".utf8)
            }
        }
        return out
    }

    /// A complete answer: prolog and document, in windows-1251.
    static func answer(_ status: Int, _ document: String) -> SimResponse {
        SimResponse(status: status, headers: [("Content-Type", "application/xml; charset=windows-1251")],
                    body: windows1251(prolog + document))
    }

    /// A business error: `500` with `<Fault code="…">…</Fault>`.
    static func fault(_ code: String, _ text: String) -> SimResponse {
        answer(500, "<Fault code=\"\(escape(code))\">\(escape(text))</Fault>\n")
    }
}
